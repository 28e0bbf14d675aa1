"""Cycle-level simulation of one layer on a systolic array (the second fidelity level's kernel).

Arrays and scalars in, arrays out; accelsim/sim/cycle.py converts specs and documents the model
(what one cycle does, the DRAM prefetch model, every output). In short:

* Per fold (column folds outer, row folds inner, groups outermost, as the analytical engine and
  SCALE-Sim order them: [scalesim-v3] compute/systolic_compute_{os,ws,is}.py) the array reads and writes its
  SRAM edges cycle by cycle in the skewed pattern of SCALE-Sim's demand matrices ([scalesim-v3] compute/systolic_compute_{os,ws,is}.py):
  :func:`cycle_counts` gives the words each edge stream moves in cycle ``x`` of a fold. Folds of
  the same tile shape have identical per-cycle demand, so each distinct shape (at most four per
  layer: full or partial rows x full or partial columns) is walked cycle by cycle once.
* Fold by fold, a single DRAM interface serves the loads that fill the double-buffered SRAM
  (the next fold's tiles are prefetched while the current fold computes) and the ofmap
  write-backs, first come first served, each transfer taking whole cycles; a fold starts when
  its tiles are resident and its ofmap half is free. The waits are the stall cycles.
"""
from __future__ import annotations

import math

import numpy as np

from .intmath import mul_div_floor
from .jit import njit
from .timing import fold_cycles, transfer_cycles

AXIS_P, AXIS_M, AXIS_K = 0, 1, 2
OP_IFMAP, OP_FILTER, OP_OFMAP = 0, 1, 2

# geometry inputs (int64)
(G_ROWS, G_COLS, G_P, G_M, G_K, G_RA, G_CA, G_TA, G_GROUPS, G_SCALESIM, G_DOUBLE, G_WORD_BITS,
 G_IFMAP_UNIQUE, G_CAP_IFMAP, G_CAP_FILTER, G_CAP_OFMAP, G_LATENCY) = range(17)
GEOM_COLS = 17

# integer outputs
STATS = (
    "folds", "cycles_per_fold", "compute_cycles", "fill_drain_cycles", "stall_load_cycles",
    "stall_bandwidth_cycles", "stall_writeback_cycles", "stall_cycles", "total_cycles", "macs",
    "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "sram_ofmap_reads",
    "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "dram_ofmap_reads",
    "peak_ifmap_reads", "peak_filter_reads", "peak_ofmap_writes", "peak_ofmap_reads", "peak_sram_all",
    "phantom_ofmap_writes", "row_folds", "col_folds",
)
(S_FOLDS, S_CYC, S_COMPUTE, S_FILL_DRAIN, S_STALL_LOAD, S_STALL_BW, S_STALL_WB, S_STALL, S_TOTAL,
 S_MACS, S_SRAM_IFMAP_R, S_SRAM_FILTER_R, S_SRAM_OFMAP_W, S_SRAM_OFMAP_R, S_DRAM_IFMAP_R,
 S_DRAM_FILTER_R, S_DRAM_OFMAP_W, S_DRAM_OFMAP_R, S_PEAK_IFMAP_R, S_PEAK_FILTER_R, S_PEAK_OFMAP_W,
 S_PEAK_OFMAP_R, S_PEAK_ALL, S_PHANTOM, S_ROW_FOLDS, S_COL_FOLDS) = range(len(STATS))
# float outputs: the highest DRAM read / write rate over the fold windows (bytes per cycle)
RATES = ("dram_read_bw_peak_bytes_per_cycle", "dram_write_bw_peak_bytes_per_cycle")
R_DRAM_READ_PEAK, R_DRAM_WRITE_PEAK = range(len(RATES))

# a fold's plan (_plan): group, column fold, row fold, rows and columns used, K-fold index, DRAM
# words to read (ifmap, filter, spilled partial sums) with their first word addresses, words to
# write back with its first address
(PL_G, PL_CF, PL_RF, PL_R, PL_C, PL_KF, PL_IFMAP, PL_FILTER, PL_PSUM, PL_WRITE, PL_IFMAP_FIRST,
 PL_FILTER_FIRST, PL_PSUM_FIRST, PL_WRITE_FIRST) = range(14)
PLAN_COLS = 14
# DRAM rate bookkeeping: the peaks, the unlimited-bandwidth rule's held-back last write-back
# rate and whether the first load was seen
W_READ_PEAK, W_WRITE_PEAK, W_LAST_WRITE, W_SEEN_LOAD = range(4)
WIN_COLS = 4
PENDING = 16   # transfers not yet attributed to a closed window (at most 4 are: see _close_window)
# fold log columns (trace): group, column fold, row fold, rows used, cols used, start, end cycle
FOLD_LOG_COLS = 7
# transfer log columns (trace): fold, operand, is_write, start, end, first word, words
XFER_LOG_COLS = 7


@njit(cache=True, inline="always")
def _cdiv(a, b):
    return (a + b - 1) // b


@njit(cache=True, inline="always")
def _overlap(a0, a1, b0, b1):
    """Integers in [a0, a1] and [b0, b1]."""
    lo = a0 if a0 > b0 else b0
    hi = a1 if a1 < b1 else b1
    return hi - lo + 1 if hi >= lo else 0


@njit(cache=True)
def cycle_counts(x, rows, cols, r, c, t, output_stationary, scalesim):
    """Words moved in cycle ``x`` (0-based, within one fold) by the fold's three edge streams of a
    ``rows`` x ``cols`` array whose fold uses ``r`` rows, ``c`` columns and ``t`` operand waves.

    Returns (stationary, row edge, column edge). Weight / input stationary ([scalesim-v3] compute/systolic_compute_{ws,is}.py
    demand matrices): the stationary tile is shifted in bottom row first, one array row (c words)
    per cycle for ``rows`` cycles; then array row k reads wave tau at cycle rows + tau + k (the
    skew); column j writes the finished partial sum of wave tau at cycle 2*rows - 1 + tau + j,
    after it has crossed all ``rows`` PEs (partial folds pad the unused rows with zeros). Output
    stationary: row k reads wave tau at cycle tau + k and column j at tau + j; the finished
    outputs then leave column j bottom row first at cycle D + j + i (i = 0 .. rows - 1, row
    rows - 1 - i), D = t + rows - 1 physically (after the last MAC) and t - 1 in SCALE-Sim's
    demand matrix (its T + rows + cols - 2 fold). The last access of a fold is in its last cycle,
    2*rows + cols + t - 3 (t + rows + cols - 3 for SCALE-Sim's output stationary)."""
    if output_stationary:
        row = _overlap(0, r - 1, x - t + 1, x)
        col = _overlap(0, c - 1, x - t + 1, x)
        d = t - 1 if scalesim else t + rows - 1
        stat = _overlap(0, c - 1, x - d - rows + 1, x - d - rows + r)
        return stat, row, col
    stat = c if (x < rows and rows - 1 - x < r) else 0
    row = _overlap(0, r - 1, x - rows - t + 1, x - rows)
    col = _overlap(0, c - 1, x - 2 * rows - t + 2, x - 2 * rows + 1)
    return stat, row, col


@njit(cache=True)
def _fold_profile(rows, cols, r, c, t, cyc, output_stationary, scalesim, out):
    """Walk one fold cycle by cycle: out = [total stat, row, col, peak stat, row, col,
    peak of all streams, peak of all streams + partial-sum reads (= column stream again)]."""
    for i in range(8):
        out[i] = 0
    for x in range(cyc):
        stat, row, col = cycle_counts(x, rows, cols, r, c, t, output_stationary, scalesim)
        out[0] += stat
        out[1] += row
        out[2] += col
        if stat > out[3]:
            out[3] = stat
        if row > out[4]:
            out[4] = row
        if col > out[5]:
            out[5] = col
        if stat + row + col > out[6]:
            out[6] = stat + row + col
        if stat + row + 2 * col > out[7]:
            out[7] = stat + row + 2 * col


@njit(cache=True, inline="always")
def _share(unique, before, after, total):
    """DRAM words of a slice [before, after) of an operand whose one pass reads ``unique`` words
    for ``total`` im2col words: the slice's proportional share, rounded so shares add up (exact
    when every im2col word is unique: filters, GEMMs). ``unique * after`` can exceed int64 (two
    counts of up to 2^56), hence :func:`mul_div_floor`."""
    if unique == total:
        return after - before, before
    first = mul_div_floor(unique, before, total)
    return mul_div_floor(unique, after, total) - first, first


@njit(cache=True)
def simulate_layer(geom, bandwidth, want_trace):
    """Simulate one layer: ``geom`` (int64, the ``G_*`` layout), DRAM ``bandwidth`` in bytes per
    cycle (inf = unlimited), ``want_trace`` -> (stats int64[len(STATS)], rates float64[2],
    fold log int64[folds or 0, 7], transfer log int64[n, 7])."""
    rows = geom[G_ROWS]
    cols = geom[G_COLS]
    ra = geom[G_RA]
    ca = geom[G_CA]
    ta = geom[G_TA]
    groups = geom[G_GROUPS]
    scalesim = geom[G_SCALESIM] == 1
    double = geom[G_DOUBLE] == 1
    word_bits = geom[G_WORD_BITS]
    latency = geom[G_LATENCY]
    dims = np.empty(3, dtype=np.int64)
    dims[AXIS_P] = geom[G_P]
    dims[AXIS_M] = geom[G_M]
    dims[AXIS_K] = geom[G_K]
    sr = dims[ra]
    sc = dims[ca]
    t = dims[ta]
    row_folds = _cdiv(sr, rows)
    col_folds = _cdiv(sc, cols)
    folds = groups * row_folds * col_folds
    os_like = ta == AXIS_K
    cyc = fold_cycles(rows, cols, t, os_like, scalesim)

    # which buffer each edge stream reads or writes
    if os_like:
        buf_stat = OP_OFMAP
        buf_row = OP_IFMAP if ra == AXIS_P else OP_FILTER
        buf_col = OP_FILTER if buf_row == OP_IFMAP else OP_IFMAP
    else:
        buf_stat = OP_IFMAP if ta == AXIS_M else OP_FILTER
        buf_row = OP_FILTER if buf_stat == OP_IFMAP else OP_IFMAP
        buf_col = OP_OFMAP
    k_folds = row_folds if ra == AXIS_K else 1

    # per-cycle demand of each distinct fold shape, walked once
    last_r = sr - (row_folds - 1) * rows
    last_c = sc - (col_folds - 1) * cols
    profiles = np.zeros((2, 2, 8), dtype=np.int64)
    for ri in range(2):
        for ci in range(2):
            if (ri == 1 and row_folds == 1) or (ci == 1 and col_folds == 1):
                continue
            r = min(rows, sr) if ri == 0 else last_r
            c = min(cols, sc) if ci == 0 else last_c
            _fold_profile(rows, cols, r, c, t, cyc, os_like, scalesim, profiles[ri, ci])

    # DRAM plan (accelsim/model.py's reuse rules): per input operand, which slice each fold needs
    cap = np.empty(3, dtype=np.int64)
    cap[OP_IFMAP] = geom[G_CAP_IFMAP]
    cap[OP_FILTER] = geom[G_CAP_FILTER]
    cap[OP_OFMAP] = geom[G_CAP_OFMAP]
    unique = np.empty(2, dtype=np.int64)
    unique[OP_IFMAP] = geom[G_IFMAP_UNIQUE]
    unique[OP_FILTER] = dims[AXIS_K] * dims[AXIS_M]
    missing = np.empty(2, dtype=np.int64)
    missing[OP_IFMAP] = AXIS_M
    missing[OP_FILTER] = AXIS_P
    reuse = np.zeros(2, dtype=np.bool_)   # the pass is kept across folds (not re-fetched)
    cols_tile0 = min(cols, sc)
    for op in range(2):
        if missing[op] == ca:
            reuse[op] = unique[op] <= cap[op]
        elif missing[op] == ra:
            reuse[op] = min(cols_tile0 * t, unique[op]) <= cap[op]
    spill = ra == AXIS_K and cols_tile0 * t > cap[OP_OFMAP]
    op_base = np.zeros(3, dtype=np.int64)   # DRAM word address of each operand's region
    op_base[OP_FILTER] = groups * unique[OP_IFMAP]
    op_base[OP_OFMAP] = op_base[OP_FILTER] + groups * unique[OP_FILTER]
    ofmap_words = dims[AXIS_P] * dims[AXIS_M]

    # fold by fold, in one pass: the fold's tile and DRAM plan (computed one fold ahead, since its
    # load is issued while the previous fold computes), SRAM counts, and the timeline: one DRAM
    # interface, first come first served, whole-cycle transfers. Double buffered: the input tiles
    # of fold f+1 are loaded from when fold f starts (into the half fold f-1 used); fold f's
    # outputs are written back from when it ends, and partial sums it spilled are read back for
    # fold f+1 after that; fold f starts when it has its tiles and the write-back of fold f-2 (the
    # ofmap half it reuses) is done. Single buffered: fold f+1's tiles are loaded when fold f
    # ends, and fold f+1 also waits for fold f's write-back. Memory: a few scalars per fold in
    # flight (plus the logs when tracing), never per cycle.
    n_log = folds if want_trace else 0
    fold_log = np.zeros((n_log, FOLD_LOG_COLS), dtype=np.int64)
    xfer_log = np.zeros((4 * n_log, XFER_LOG_COLS), dtype=np.int64)
    counts = np.zeros(1, dtype=np.int64)          # trace rows
    cur = np.zeros(PLAN_COLS, dtype=np.int64)     # plan of fold f
    nxt = np.zeros(PLAN_COLS, dtype=np.int64)     # plan of fold f + 1
    win = np.zeros(WIN_COLS, dtype=np.float64)    # DRAM rate bookkeeping (see _Window)
    pending = np.zeros((PENDING, 4), dtype=np.int64)
    n_pending = np.zeros(1, dtype=np.int64)
    unlimited = math.isinf(bandwidth)
    bytes_per_word = word_bits / 8.0
    sram = np.zeros(4, dtype=np.int64)    # ifmap r, filter r, ofmap w, ofmap r (array side)
    peak = np.zeros(4, dtype=np.int64)
    slot = np.array([0, 1, 2], dtype=np.int64)   # buffer -> slot in sram/peak (ofmap: writes)
    dram = np.zeros(4, dtype=np.int64)    # ifmap r, filter r, ofmap w, ofmap r
    peak_all = 0
    macs = 0

    _plan(np.int64(0), rows, cols, sr, sc, t, ra, ca, ta, row_folds, col_folds, k_folds, os_like, spill, unique,
          missing, reuse, op_base, ofmap_words, cur)
    free = np.int64(0)          # the DRAM interface is idle from this cycle on
    load_done, free = _issue(0, 0, 2, 0, np.int64(0), free, cur, word_bits, bandwidth, unlimited,
                             bytes_per_word, cyc, pending, n_pending, win, xfer_log, counts, want_trace, latency)
    psum_done = np.int64(0)
    wb1 = np.int64(0)           # write-back of fold f-1 done
    wb2 = np.int64(0)           # write-back of fold f-2 done
    end_prev = np.int64(0)
    stall_load = np.int64(0)
    stall_bw = np.int64(0)
    bound = np.int64(0)         # start of the open DRAM rate window
    for f in range(folds):
        r = cur[PL_R]
        c = cur[PL_C]
        start = max(end_prev, load_done, psum_done)
        if double:
            start = max(start, wb2)
        else:
            start = max(start, wb1)
        if f == 0:
            stall_load = start
        else:
            stall_bw += start - end_prev
            if not unlimited:
                _close_window(bound, start, pending, n_pending, bytes_per_word, win)
                bound = start
        end = start + cyc
        if f + 1 < folds:
            _plan(f + 1, rows, cols, sr, sc, t, ra, ca, ta, row_folds, col_folds, k_folds, os_like, spill,
                  unique, missing, reuse, op_base, ofmap_words, nxt)
        if double and f + 1 < folds:
            load_done, free = _issue(f + 1, 0, 2, 0, start, free, nxt, word_bits, bandwidth, unlimited,
                                     bytes_per_word, cyc, pending, n_pending, win, xfer_log, counts, want_trace, latency)
        if not double and f + 1 < folds:
            load_done, free = _issue(f + 1, 0, 2, 0, end, free, nxt, word_bits, bandwidth, unlimited,
                                     bytes_per_word, cyc, pending, n_pending, win, xfer_log, counts, want_trace, latency)
        wb_done, free = _issue(f, 3, 4, 1, end, free, cur, word_bits, bandwidth, unlimited, bytes_per_word,
                               cyc, pending, n_pending, win, xfer_log, counts, want_trace, latency)
        psum_done = np.int64(0)
        if f + 1 < folds and nxt[PL_PSUM] > 0:
            # spilled partial sums come back only after this fold has written them
            psum_done, free = _issue(f + 1, 2, 3, 0, wb_done, free, nxt, word_bits, bandwidth, unlimited,
                                     bytes_per_word, cyc, pending, n_pending, win, xfer_log, counts, want_trace, latency)
        wb2 = wb1
        wb1 = wb_done

        prof = profiles[0 if r == min(rows, sr) else 1, 0 if c == min(cols, sc) else 1]
        sram[slot[buf_stat]] += prof[0]
        sram[slot[buf_row]] += prof[1]
        sram[slot[buf_col]] += prof[2]
        peak[slot[buf_stat]] = max(peak[slot[buf_stat]], prof[3])
        peak[slot[buf_row]] = max(peak[slot[buf_row]], prof[4])
        peak[slot[buf_col]] = max(peak[slot[buf_col]], prof[5])
        if (not scalesim) and (not os_like) and cur[PL_KF] > 0:
            # partial sums read back at the output edge in the cycle they are written
            sram[3] += prof[2]
            peak[3] = max(peak[3], prof[5])
            peak_all = max(peak_all, prof[7])
        else:
            peak_all = max(peak_all, prof[6])
        dram[0] += cur[PL_IFMAP]
        dram[1] += cur[PL_FILTER]
        dram[2] += cur[PL_WRITE]
        dram[3] += cur[PL_PSUM]
        macs += r * c * t
        if want_trace:
            fold_log[f, 0] = cur[PL_G]
            fold_log[f, 1] = cur[PL_CF]
            fold_log[f, 2] = cur[PL_RF]
            fold_log[f, 3] = r
            fold_log[f, 4] = c
            fold_log[f, 5] = start
            fold_log[f, 6] = end
        end_prev = end
        for j in range(PLAN_COLS):   # not cur[:] = nxt: a slice assignment compiles numba's shape-error message
            cur[j] = nxt[j]
    layer_end = max(end_prev, free)
    if not unlimited:
        _close_window(bound, layer_end, pending, n_pending, bytes_per_word, win)

    stats = np.zeros(len(STATS), dtype=np.int64)
    compute = folds * cyc - (groups if scalesim else 0)
    stall_wb = layer_end - end_prev
    stall = stall_load + stall_bw + stall_wb
    phantom = folds * (rows + cols) if (scalesim and os_like) else 0
    stats[S_FOLDS] = folds
    stats[S_CYC] = cyc
    stats[S_COMPUTE] = compute
    stats[S_FILL_DRAIN] = folds * (cyc - t)
    stats[S_STALL_LOAD] = stall_load
    stats[S_STALL_BW] = stall_bw
    stats[S_STALL_WB] = stall_wb
    stats[S_STALL] = stall
    stats[S_TOTAL] = compute + stall
    stats[S_MACS] = macs
    stats[S_SRAM_IFMAP_R] = sram[0]
    stats[S_SRAM_FILTER_R] = sram[1]
    stats[S_SRAM_OFMAP_W] = sram[2] + phantom
    stats[S_SRAM_OFMAP_R] = sram[3]
    stats[S_DRAM_IFMAP_R] = dram[0]
    stats[S_DRAM_FILTER_R] = dram[1]
    stats[S_DRAM_OFMAP_W] = dram[2]
    stats[S_DRAM_OFMAP_R] = dram[3]
    stats[S_PEAK_IFMAP_R] = peak[0]
    stats[S_PEAK_FILTER_R] = peak[1]
    stats[S_PEAK_OFMAP_W] = peak[2]
    stats[S_PEAK_OFMAP_R] = peak[3]
    stats[S_PEAK_ALL] = peak_all
    stats[S_PHANTOM] = phantom
    stats[S_ROW_FOLDS] = row_folds
    stats[S_COL_FOLDS] = col_folds
    rates = np.zeros(len(RATES), dtype=np.float64)
    rates[R_DRAM_READ_PEAK] = win[W_READ_PEAK]
    rates[R_DRAM_WRITE_PEAK] = win[W_WRITE_PEAK]
    return stats, rates, fold_log, xfer_log[:counts[0]]


@njit(cache=True)
def _plan(f, rows, cols, sr, sc, t, ra, ca, ta, row_folds, col_folds, k_folds, os_like, spill, unique,
          missing, reuse, op_base, ofmap_words, out):
    """Fill ``out`` (the ``PL_*`` layout) for fold ``f`` (groups outermost, column folds outer,
    row folds inner) by accelsim/model.py's reuse rules; an input's words are its share of the
    operand's unique words (:func:`_share`)."""
    per_group = row_folds * col_folds
    g = f // per_group
    cf = (f - g * per_group) // row_folds
    rf = (f - g * per_group) % row_folds
    c = min(cols, sc - cf * cols)
    r = min(rows, sr - rf * rows)
    out[PL_G] = g
    out[PL_CF] = cf
    out[PL_RF] = rf
    out[PL_R] = r
    out[PL_C] = c
    for op in range(2):
        if missing[op] == ta:        # stationary: one pass over the folds
            before = cf * cols * sr + c * rf * rows
            words, first = _share(unique[op], before, before + r * c, sr * sc)
        elif missing[op] == ca:      # a row-fold slice, re-used by the column folds
            words, first = _share(unique[op], rf * rows * t, (rf * rows + r) * t, sr * t)
            if reuse[op] and cf > 0:
                words = 0
        else:                        # a column-fold slice, re-used by the row folds
            words, first = _share(unique[op], cf * cols * t, (cf * cols + c) * t, sc * t)
            if reuse[op] and rf > 0:
                words = 0
        out[PL_IFMAP + op] = words
        out[PL_IFMAP_FIRST + op] = op_base[op] + g * unique[op] + first
    kf = rf if ra == AXIS_K else 0
    out[PL_KF] = kf
    if os_like:
        out_words = r * c
        out_first = cf * cols * sr + c * rf * rows
    else:
        out_words = c * t
        out_first = cf * cols * t
    out[PL_PSUM] = out_words if (spill and kf > 0) else 0
    out[PL_WRITE] = out_words if (spill or kf == k_folds - 1) else 0
    out[PL_PSUM_FIRST] = op_base[OP_OFMAP] + g * ofmap_words + out_first
    out[PL_WRITE_FIRST] = out[PL_PSUM_FIRST]


@njit(cache=True)
def _issue(f, col_lo, col_hi, is_write, ready, free, plan, word_bits, bandwidth, unlimited, bytes_per_word,
           cyc, pending, n_pending, win, xfer_log, counts, want_trace, latency):
    """Queue one transfer of fold ``f``: plan columns ``PL_IFMAP + col_lo .. col_hi - 1`` (reads:
    0-2 ifmap, filter, partial sums, back to back; the write-back: 3), ready at cycle ``ready``
    -> (done cycle, interface free from). A read is done ``latency`` cycles after its last byte
    (pipelined: the interface is free at once). Feeds the DRAM rate bookkeeping and the trace."""
    words = np.int64(0)
    for col in range(col_lo, col_hi):
        words += plan[PL_IFMAP + col]
    if words == 0:
        return ready, free
    s = max(ready, free)
    e = s + transfer_cycles(words, word_bits, bandwidth)
    if unlimited:
        # the rate that hides this transfer behind one fold: every load but the first, every
        # write-back but the last (held back until the next one arrives)
        rate = words * bytes_per_word / cyc
        if is_write == 1:
            if win[W_LAST_WRITE] > win[W_WRITE_PEAK]:
                win[W_WRITE_PEAK] = win[W_LAST_WRITE]
            win[W_LAST_WRITE] = rate
        elif win[W_SEEN_LOAD] > 0:
            win[W_READ_PEAK] = max(win[W_READ_PEAK], rate)
        else:
            win[W_SEEN_LOAD] = 1.0
    else:
        n = n_pending[0]
        pending[n, 0] = s
        pending[n, 1] = e
        pending[n, 2] = words
        pending[n, 3] = is_write
        n_pending[0] = n + 1
    if want_trace:
        done = np.int64(0)
        for col in range(col_lo, col_hi):
            if plan[PL_IFMAP + col] > 0:
                m = counts[0]
                xfer_log[m, 0] = f
                xfer_log[m, 1] = min(col, OP_OFMAP)
                xfer_log[m, 2] = is_write
                xfer_log[m, 3] = s + transfer_cycles(done, word_bits, bandwidth)
                done += plan[PL_IFMAP + col]
                xfer_log[m, 4] = s + transfer_cycles(done, word_bits, bandwidth)
                xfer_log[m, 5] = plan[PL_IFMAP_FIRST + col]
                xfer_log[m, 6] = plan[PL_IFMAP + col]
                counts[0] = m + 1
    return (e if is_write == 1 else e + latency), e


@njit(cache=True)
def _close_window(lo, hi, pending, n_pending, bytes_per_word, win):
    """Close the DRAM rate window [lo, hi) (fold windows: [start(f), start(f+1)), the first from
    cycle 0, the last to the layer's end): add each pending transfer's bytes inside it (moved
    evenly over the transfer's cycles), update the peaks, keep the transfers that go on past
    ``hi``. A fold waits for its own loads and for the write-back two folds back, so at most the
    write-back of the previous fold and the current fold's transfers are pending."""
    read = 0.0
    write = 0.0
    kept = 0
    for i in range(n_pending[0]):
        s = pending[i, 0]
        e = pending[i, 1]
        a = max(s, lo)
        b = min(e, hi)
        if b > a:
            moved = pending[i, 2] * bytes_per_word * (b - a) / (e - s)
            if pending[i, 3] == 1:
                write += moved
            else:
                read += moved
        if e > hi:
            for j in range(4):
                pending[kept, j] = pending[i, j]
            kept += 1
    n_pending[0] = kept
    if hi > lo:
        win[W_READ_PEAK] = max(win[W_READ_PEAK], read / (hi - lo))
        win[W_WRITE_PEAK] = max(win[W_WRITE_PEAK], write / (hi - lo))
