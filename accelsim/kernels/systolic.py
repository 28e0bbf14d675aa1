"""Batched evaluation of layers on systolic arrays under ws / os / is (the analytical engine's hot
loop), through the general loop-nest analysis.

One row of the input arrays is one (layer, hardware, dataflow) point. For each point the kernel
builds the loop-nest mapping that realises the systolic dataflow (:func:`build_instance`, the rules
of accelsim/loopnest/systolic.py's docstring), counts it with accelsim/kernels/loopnest.py's
``evaluate_into`` (the same analysis the mapper's mappings go through: there is one engine), scales
it to the layer's groups and adds the stall model of accelsim/kernels/timing.py. Column layouts
are the ``L_*``, ``H_*``, ``O_*`` and ``Q_*`` constants below; accelsim/model.py documents the
meaning and sources of every formula.
"""
from __future__ import annotations

import numpy as np

from . import loopnest as ln
from .jit import njit
from .loopnest import touched
from .timing import stall_cycles

# layer columns (int64)
# L_K_NUM / L_K_DEN: the fraction of the reduction K the array performs (sparse timing, model.py)
(L_N, L_C, L_H, L_W, L_M, L_R, L_S, L_STRIDE_H, L_STRIDE_W, L_PAD_H, L_PAD_W, L_GROUPS, L_DIL_H,
 L_DIL_W, L_K_NUM, L_K_DEN) = range(16)
LAYER_COLS = 16
# hardware columns (int64); bandwidth travels separately as float64
(H_ROWS, H_COLS, H_IFMAP_WORDS, H_FILTER_WORDS, H_OFMAP_WORDS, H_DOUBLE_BUFFERED,
 H_WORD_BITS, H_TIMING) = range(8)
HW_COLS = 8
TIMING_PHYSICAL, TIMING_SCALESIM = ln.TIMING_PHYSICAL, ln.TIMING_SCALESIM
# integer outputs
INT_OUTPUTS = (
    "E", "F", "gemm_p", "gemm_m", "gemm_k", "groups", "row_folds", "col_folds", "folds",
    "cycles_per_fold", "compute_cycles", "fill_drain_cycles", "stall_load_cycles",
    "stall_bandwidth_cycles", "stall_writeback_cycles", "stall_cycles", "total_cycles", "macs",
    "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "sram_ofmap_reads",
    "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "dram_ofmap_reads",
)
FLOAT_OUTPUTS = ("mapping_efficiency", "pe_utilization", "compute_utilization")
(O_E, O_F, O_P, O_M, O_K, O_G, O_ROW_FOLDS, O_COL_FOLDS, O_FOLDS, O_CYC_FOLD, O_COMPUTE,
 O_FILL_DRAIN, O_STALL_LOAD, O_STALL_BW, O_STALL_WB, O_STALL, O_TOTAL, O_MACS, O_SRAM_IFMAP_R,
 O_SRAM_FILTER_R, O_SRAM_OFMAP_W, O_SRAM_OFMAP_R, O_DRAM_IFMAP_R, O_DRAM_FILTER_R,
 O_DRAM_OFMAP_W, O_DRAM_OFMAP_R) = range(len(INT_OUTPUTS))
Q_MAPPING_EFF, Q_PE_UTIL, Q_COMPUTE_UTIL = range(len(FLOAT_OUTPUTS))

#: GEMM axes of the dataflow codes (rows, cols, time) and the loop-nest dims that carry them.
AXIS_P, AXIS_M, AXIS_K = 0, 1, 2
AXIS_DIM = np.array([ln.D_N, ln.D_M, ln.D_C], dtype=np.int64)
#: OPERAND_AXES[op] = the two GEMM axes operand op is indexed by (ifmap P x K, filter K x M,
#: ofmap P x M); the third axis is the one it is re-used across.
OPERAND_AXES = np.array([[AXIS_P, AXIS_K], [AXIS_K, AXIS_M], [AXIS_P, AXIS_M]], dtype=np.int64)
#: Capacity of a register file / buffer level the systolic model does not bound.
UNBOUNDED = np.int64(2**62)


@njit(cache=True, inline="always")
def _cdiv(a, b):
    return (a + b - 1) // b


@njit(cache=True, inline="always")
def gemm_view(layers, i, scalesim, view):
    """Fill ``view`` with (E, F, P, M/G, K, ifmap words needed) of one group of ``layers[i]``.

    The GEMM (im2col) view of a conv layer per group (Samajdar et al., ISPASS 2020, section III):
    P = N*E*F output pixels, M/G filters, K = (C/G)*R*S. Physical timing uses the floor output size
    on the padded input; SCALE-Sim timing rounds the output size up on the padded input it is given.
    The ifmap words needed are the distinct input pixels some window touches (:func:`touched`, rows
    times columns, per image and channel): the unpadded input in physical timing; the padded one in
    SCALE-Sim's, whose operand matrix addresses it and whose DRAM reads count each address once
    ([scalesim-v3] compute/operand_matrix.py)."""
    n, c, g = layers[i, L_N], layers[i, L_C], layers[i, L_GROUPS]
    r, s, sh, sw = layers[i, L_R], layers[i, L_S], layers[i, L_STRIDE_H], layers[i, L_STRIDE_W]
    dh, dw = layers[i, L_DIL_H], layers[i, L_DIL_W]
    # dilated filter extent D(R-1)+1 (Dumoulin & Visin 2016, relationship 15)
    r_ext = dh * (r - 1) + 1
    s_ext = dw * (s - 1) + 1
    hp = layers[i, L_H] + 2 * layers[i, L_PAD_H]
    wp = layers[i, L_W] + 2 * layers[i, L_PAD_W]
    if scalesim:
        e = _cdiv(hp - r_ext + sh, sh)
        f = _cdiv(wp - s_ext + sw, sw)
        rows = touched(e, r, sh, dh, np.int64(0), hp)   # np.int64: a literal 0 compiles touched once more
        cols = touched(f, s, sw, dw, np.int64(0), wp)
    else:
        e = (hp - r_ext) // sh + 1
        f = (wp - s_ext) // sw + 1
        rows = touched(e, r, sh, dh, layers[i, L_PAD_H], layers[i, L_H])
        cols = touched(f, s, sw, dw, layers[i, L_PAD_W], layers[i, L_W])
    p = n * e * f
    # the fraction L_K_NUM / L_K_DEN of the reduction the array performs (sparse timing, model.py)
    k = _cdiv((c // g) * r * s * layers[i, L_K_NUM], layers[i, L_K_DEN])
    view[0], view[1], view[2], view[3], view[4] = e, f, p, layers[i, L_M] // g, k
    # a sparse layer's shorter reduction still reads at most its im2col words
    view[5] = min(n * (c // g) * rows * cols, p * k)


@njit(cache=True, inline="always")
def build_instance(layers, hws, dataflows, i, view, problem, loops, spatial, cuts, hwl):
    """Write the loop-nest mapping of dataflow ``dataflows[i]`` (rows, cols, time axis codes) on
    the systolic ``hws[i]`` for one group of ``layers[i]`` into ``problem``, ``loops``, ``spatial``, ``cuts``, ``hwl``
    (accelsim/kernels/loopnest.py's layouts; ``view`` receives :func:`gemm_view`); returns the
    number of loops.

    The temporal loops are [column folds, row folds, time] (SCALE-Sim's fold order, [scalesim-v3] compute/systolic_compute_{os,ws,is}.py);
    each operand's global-buffer cut (0: above the column folds, 1: above the row folds, 2: inside
    the folds, 3: inside a split of the time loop) keeps what fits in one half of its buffer, by
    the rules of accelsim/loopnest/systolic.py's docstring."""
    scalesim = hws[i, H_TIMING] == TIMING_SCALESIM
    gemm_view(layers, i, scalesim, view)
    size_p, size_m, size_k, unique = view[2], view[3], view[4], view[5]
    ra, ca, ta = dataflows[i, 0], dataflows[i, 1], dataflows[i, 2]
    rows, cols = hws[i, H_ROWS], hws[i, H_COLS]
    sizes = view[2:5]
    row_folds = _cdiv(sizes[ra], rows)
    col_folds = _cdiv(sizes[ca], cols)
    t = sizes[ta]
    halves = 2 if hws[i, H_DOUBLE_BUFFERED] else 1
    cols_tile = min(cols, sizes[ca])
    split = False
    stationary = 0
    for op in range(3):
        a0, a1 = OPERAND_AXES[op, 0], OPERAND_AXES[op, 1]
        missing = 3 - a0 - a1
        cap = hws[i, H_IFMAP_WORDS + op] // halves
        if op == 0:
            whole = unique
        else:
            whole = sizes[a0] * sizes[a1]
        if missing == ta:                       # the stationary operand keeps one fold's tile
            cut = 2
            stationary = op
        elif missing == ca:                     # re-used by every column fold if it all fits
            if whole <= cap:
                cut = 0
            elif row_folds > 1:
                cut = 2
            else:
                cut = 3
                split = True
        else:                                   # re-used by every row fold if a slice fits
            other = a1 if a0 == ca else a0
            if min(cols_tile * sizes[other], whole) <= cap:
                cut = 1
            else:
                cut = 3
                split = True
        cuts[0, op] = cut
    loops[0, 0], loops[0, 1] = AXIS_DIM[ca], col_folds
    loops[1, 0], loops[1, 1] = AXIS_DIM[ra], row_folds
    loops[2, 0] = AXIS_DIM[ta]
    if split:
        loops[2, 1] = 2
        loops[3, 0], loops[3, 1] = AXIS_DIM[ta], _cdiv(t, 2)
        n_loops = 4
    else:
        loops[2, 1] = t
        n_loops = 3
    for op in range(3):
        cuts[0, op] = min(cuts[0, op], n_loops)
        cuts[1, op] = n_loops
    for d in range(7):
        spatial[0, d] = 1
        spatial[1, d] = 1
        problem[d] = 1
    spatial[0, AXIS_DIM[ra]] = rows
    spatial[1, AXIS_DIM[ca]] = cols
    problem[ln.D_N], problem[ln.D_M], problem[ln.D_C] = size_p, size_m, size_k
    problem[ln.P_STRIDE_H] = 1
    problem[ln.P_STRIDE_W] = 1
    problem[ln.P_IFMAP_UNIQUE] = unique
    problem[ln.P_IN_H] = 1
    problem[ln.P_IN_W] = 1
    problem[ln.P_PAD_H] = 0
    problem[ln.P_PAD_W] = 0
    hwl[ln.HWL_ROWS], hwl[ln.HWL_COLS] = rows, cols
    for j in range(ln.HWL_GLB_IFMAP, ln.HWL_RF_OFMAP + 1):
        hwl[j] = UNBOUNDED
    hwl[ln.HWL_SYSTOLIC] = 1
    hwl[ln.HWL_TIMING] = hws[i, H_TIMING]
    hwl[ln.HWL_STATIONARY] = stationary
    hwl[ln.HWL_DOUBLE_BUFFERED] = hws[i, H_DOUBLE_BUFFERED]
    hwl[ln.HWL_WORD_BITS] = hws[i, H_WORD_BITS]
    hwl[ln.HWL_KEEP_MASK] = 1 << stationary
    return n_loops


@njit(cache=True)
def evaluate(layers, hws, bandwidths, dataflows, out_int, out_float):
    """Evaluate every point: ``layers[i]``, ``hws[i]``, ``bandwidths[i]``, ``dataflows[i]``
    (rows, cols, time axis codes) -> ``out_int[i]``, ``out_float[i]``.

    Per point: the loop-nest counts of one group times the groups; SCALE-Sim timing subtracts one
    cycle per group and adds its phantom output-stationary ofmap writes ([scalesim-v3] compute/systolic_compute_os.py);
    stalls from :func:`accelsim.kernels.timing.stall_cycles`."""
    view = np.empty(6, dtype=np.int64)
    problem = np.empty(ln.PROBLEM_COLS, dtype=np.int64)
    loops = np.empty((ln.MAX_LOOPS, 2), dtype=np.int64)
    spatial = np.empty((2, 7), dtype=np.int64)
    cuts = np.empty((2, 3), dtype=np.int64)
    hwl = np.empty(ln.HWL_COLS_N, dtype=np.int64)
    o = np.empty(len(ln.OUTPUTS), dtype=np.int64)
    inner = np.empty((ln.MAX_LOOPS + 1, 7), dtype=np.int64)
    ext = np.empty(7, dtype=np.int64)
    for i in range(layers.shape[0]):
        n_loops = build_instance(layers, hws, dataflows, i, view, problem, loops, spatial, cuts, hwl)
        ln.evaluate_into(problem, loops, n_loops, spatial, cuts, hwl, o, inner, ext)
        g = layers[i, L_GROUPS]
        rows, cols = hws[i, H_ROWS], hws[i, H_COLS]
        scalesim = hws[i, H_TIMING] == TIMING_SCALESIM
        output_stationary = hwl[ln.HWL_STATIONARY] == ln.OP_OFMAP
        folds = g * o[ln.X_FOLDS]
        cyc = o[ln.X_CYC_FOLD]
        compute = g * (o[ln.X_COMPUTE] - 1) if scalesim else g * o[ln.X_COMPUTE]
        sram_ofmap_w = g * o[ln.X_GLB_OFMAP_W]
        sram_ofmap_r = g * o[ln.X_GLB_OFMAP_R]
        if scalesim:
            sram_ofmap_r = 0
            if output_stationary:
                sram_ofmap_w += folds * (rows + cols)
        dram_words = g * (o[ln.X_DRAM_IFMAP_R] + o[ln.X_DRAM_FILTER_R] + o[ln.X_DRAM_OFMAP_W]
                          + o[ln.X_DRAM_OFMAP_R])
        stall_load, stall_bw, stall_wb = stall_cycles(
            o[ln.X_FIRST_LOAD], o[ln.X_LAST_DRAIN], dram_words, folds, cyc, hws[i, H_DOUBLE_BUFFERED] == 1,
            hws[i, H_WORD_BITS], bandwidths[i])
        stall = stall_load + stall_bw + stall_wb
        total = compute + stall
        macs = g * o[ln.X_MACS]
        steps = g * o[ln.X_STEPS]

        out_int[i, O_E] = view[0]
        out_int[i, O_F] = view[1]
        out_int[i, O_P] = view[2]
        out_int[i, O_M] = view[3]
        out_int[i, O_K] = view[4]
        out_int[i, O_G] = g
        out_int[i, O_ROW_FOLDS] = loops[1, 1]
        out_int[i, O_COL_FOLDS] = loops[0, 1]
        out_int[i, O_FOLDS] = folds
        out_int[i, O_CYC_FOLD] = cyc
        out_int[i, O_COMPUTE] = compute
        out_int[i, O_FILL_DRAIN] = folds * cyc - steps
        out_int[i, O_STALL_LOAD] = stall_load
        out_int[i, O_STALL_BW] = stall_bw
        out_int[i, O_STALL_WB] = stall_wb
        out_int[i, O_STALL] = stall
        out_int[i, O_TOTAL] = total
        out_int[i, O_MACS] = macs
        out_int[i, O_SRAM_IFMAP_R] = g * o[ln.X_GLB_IFMAP_R]
        out_int[i, O_SRAM_FILTER_R] = g * o[ln.X_GLB_FILTER_R]
        out_int[i, O_SRAM_OFMAP_W] = sram_ofmap_w
        out_int[i, O_SRAM_OFMAP_R] = sram_ofmap_r
        out_int[i, O_DRAM_IFMAP_R] = g * o[ln.X_DRAM_IFMAP_R]
        out_int[i, O_DRAM_FILTER_R] = g * o[ln.X_DRAM_FILTER_R]
        out_int[i, O_DRAM_OFMAP_W] = g * o[ln.X_DRAM_OFMAP_W]
        out_int[i, O_DRAM_OFMAP_R] = g * o[ln.X_DRAM_OFMAP_R]

        pes = rows * cols
        mapping_eff = macs / (steps * pes)
        out_float[i, Q_MAPPING_EFF] = mapping_eff
        out_float[i, Q_PE_UTIL] = macs / (total * pes) if total > 0 else 0.0
        if scalesim:
            # SCALE-Sim's reported compute utilisation ([scalesim-v3] single_layer_sim.py)
            t = o[ln.X_STEPS] // o[ln.X_FOLDS]
            if output_stationary:
                out_float[i, Q_COMPUTE_UTIL] = mapping_eff * t / (t + rows + cols - 2)
            else:
                out_float[i, Q_COMPUTE_UTIL] = mapping_eff * t / (2 * rows + 2 * cols + t - 3)
        else:
            out_float[i, Q_COMPUTE_UTIL] = macs / (compute * pes) if compute > 0 else 0.0
