"""Slow, obviously-correct cycle-level simulation: the oracle for accelsim/kernels/cycle.py.

Written from accelsim/sim/cycle.py's module docstring by brute force, without importing
accelsim.kernels:

* every word each array-edge port moves in a fold is enumerated (port by port, wave by wave) and
  dropped into a per-cycle histogram per buffer, from which totals and per-cycle peaks are read;
* the DRAM words of every fold come from explicit per-fold slices of each operand's pass
  (cumulative sums built by adding up the earlier folds' slices);
* the timeline is simulated one cycle at a time: a fold starts in the first cycle in which its
  tiles are resident and its ofmap half is free; the DRAM interface serves one ready request at
  a time (oldest ready first), moving ``bandwidth`` bytes per cycle, and a request that completes
  in cycle x is done from cycle x + 1.
"""
from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction

from naive import OPERAND_AXES, output_size, tiles, touched_input_words

AXES = ("P", "M", "K")


def gemm_dims(layer, scalesim):
    e = output_size(layer.H, layer.R, layer.stride_h, layer.pad_h, scalesim)
    f = output_size(layer.W, layer.S, layer.stride_w, layer.pad_w, scalesim)
    g = layer.groups
    dims = {"P": layer.N * e * f, "M": layer.M // g, "K": (layer.C // g) * layer.R * layer.S}
    unique = {"ifmap": min(touched_input_words(layer, e, f, scalesim), dims["P"] * dims["K"]),
              "filter": dims["M"] * dims["K"]}
    return dims, unique


def fold_demand(rows, cols, r, c, t, output_stationary, scalesim):
    """{buffer: Counter(cycle -> words)} for one fold, word by word."""
    demand = {"stat": Counter(), "row": Counter(), "col": Counter()}
    if output_stationary:
        for k in range(r):
            for tau in range(t):
                demand["row"][tau + k] += 1
        for j in range(c):
            for tau in range(t):
                demand["col"][tau + j] += 1
        d = t - 1 if scalesim else t + rows - 1
        for j in range(c):
            for i in range(rows):
                if rows - 1 - i < r:             # array row rows-1-i leaves at step i
                    demand["stat"][d + j + i] += 1
    else:
        for i in range(rows):                    # shift the stationary tile in, bottom row first
            if rows - 1 - i < r:
                demand["stat"][i] += c
        for k in range(r):
            for tau in range(t):
                demand["row"][rows + tau + k] += 1
        for j in range(c):
            for tau in range(t):
                demand["col"][2 * rows - 1 + tau + j] += 1
    return demand


def transfer_time(words, word_bits, bandwidth):
    """Cycles the interface is busy for ``words`` (bandwidth as the decimal the user wrote)."""
    if words == 0 or math.isinf(bandwidth):
        return 0
    bits = Fraction(words * word_bits)
    per_cycle = Fraction(repr(float(bandwidth))) * 8
    cycles = 0
    while bits > 0:                              # one cycle at a time
        bits -= per_cycle
        cycles += 1
    return cycles


def simulate(layer, hw, dataflow, timing=None) -> dict:
    timing = timing or hw.timing
    scalesim = timing == "scalesim"
    rows, cols = hw.array_rows, hw.array_cols
    ra, ca, ta = dataflow.rows_axis, dataflow.cols_axis, dataflow.time_axis
    assert ca != "K"
    dims, unique = gemm_dims(layer, scalesim)
    t = dims[ta]
    output_stationary = ta == "K"
    cyc = (t + rows + cols - 2) if (scalesim and output_stationary) else (2 * rows + cols + t - 2)
    row_tiles, col_tiles = tiles(dims[ra], rows), tiles(dims[ca], cols)
    halves = 2 if hw.double_buffered else 1
    cap = {"ifmap": hw.buffer_words(hw.sram_ifmap) // halves,
           "filter": hw.buffer_words(hw.sram_filter) // halves,
           "ofmap": hw.buffer_words(hw.sram_ofmap) // halves}

    if output_stationary:
        row_op = "ifmap" if ra == "P" else "filter"
        role = {"stat": "ofmap_w", "row": row_op, "col": "filter" if row_op == "ifmap" else "ifmap"}
    else:
        stat = next(op for op in ("ifmap", "filter") if ta not in OPERAND_AXES[op])
        role = {"stat": stat, "row": "filter" if stat == "ifmap" else "ifmap", "col": "ofmap_w"}

    # per fold: SRAM histogram, DRAM words
    totals = Counter()
    peaks = Counter()
    folds = []
    for _ in range(layer.groups):
        stationary_before = {"ifmap": 0, "filter": 0}     # im2col words of the earlier folds
        for cf, c in enumerate(col_tiles):
            for rf, r in enumerate(row_tiles):
                demand = fold_demand(rows, cols, r, c, t, output_stationary, scalesim)
                k_index = rf if ra == "K" else 0
                per_buffer = {role[s]: demand[s] for s in demand}
                if not scalesim and not output_stationary and k_index > 0:
                    per_buffer["ofmap_r"] = demand["col"]   # read-modify-write at the output edge
                every_cycle = Counter()
                for buffer, hist in per_buffer.items():
                    totals[buffer] += sum(hist.values())
                    peaks[buffer] = max([peaks[buffer], *hist.values()])
                    every_cycle.update(hist)
                peaks["all"] = max([peaks["all"], *every_cycle.values()])

                dram = {}
                extent = {ra: r, ca: c, ta: t}
                for op in ("ifmap", "filter"):
                    missing = next(a for a in AXES if a not in OPERAND_AXES[op])
                    slice_words = math.prod(extent[a] for a in OPERAND_AXES[op])
                    if missing == ta:          # stationary: one pass over all folds of the group
                        before, total, fetch = stationary_before[op], dims[ra] * dims[ca], True
                        stationary_before[op] += slice_words
                    elif missing == ca:        # the row fold's slice; again per column fold unless kept
                        before, total = sum(tile * t for tile in row_tiles[:rf]), dims[ra] * t
                        fetch = cf == 0 or unique[op] > cap[op]
                    else:                      # the column fold's slice; again per row fold unless kept
                        before, total = sum(tile * t for tile in col_tiles[:cf]), dims[ca] * t
                        fetch = rf == 0 or min(col_tiles[0] * t, unique[op]) > cap[op]
                    share = (unique[op] * (before + slice_words)) // total - (unique[op] * before) // total
                    dram[op] = share if fetch else 0
                out = r * c if output_stationary else c * t
                spill = ra == "K" and col_tiles[0] * t > cap["ofmap"]
                dram["psum"] = out if (spill and k_index > 0) else 0
                dram["write"] = out if (spill or ra != "K" or k_index == len(row_tiles) - 1) else 0
                folds.append(dram)

    # the timeline, one cycle at a time
    n = len(folds)
    double = hw.double_buffered
    requests = []      # [ready, seq, kind, fold, cycles left]
    done = {}          # (kind, fold) -> the cycle from which it is done
    counter = [0]

    def request(kind, fold, words, ready):
        left = transfer_time(words, hw.word_bits, hw.dram_bandwidth_bytes_per_cycle)
        if left == 0:
            done[(kind, fold)] = ready
        else:
            requests.append([ready, counter[0], kind, fold, left])
            counter[0] += 1

    request("load", 0, folds[0]["ifmap"] + folds[0]["filter"], 0)
    request("psum", 0, 0, 0)
    start, end = [None] * n, [None] * n
    wrote, psum_asked = [False] * n, [False] * n
    current, busy, x = None, None, 0
    while True:
        # (a) the running fold ended with cycle x - 1: its write-back (single buffered: the next load first)
        if current is not None and end[current] == x and not wrote[current]:
            if not double and current + 1 < n:
                request("load", current + 1, folds[current + 1]["ifmap"] + folds[current + 1]["filter"], x)
            request("write", current, folds[current]["write"], x)
            wrote[current] = True
        # (b) spilled partial sums come back once the previous fold has written them
        for f in range(n - 1):
            if folds[f + 1]["psum"] == 0:
                done[("psum", f + 1)] = 0            # nothing spilled: nothing to wait for
            elif wrote[f] and not psum_asked[f + 1] and done.get(("write", f), x + 1) <= x:
                request("psum", f + 1, folds[f + 1]["psum"], done[("write", f)])
                psum_asked[f + 1] = True
        # (c) the next fold starts once its tiles are in and its ofmap half is drained
        f = 0 if current is None else current + 1
        if f < n and (current is None or end[current] <= x):
            needs = [("load", f), ("psum", f)]
            if double and f >= 2:
                needs.append(("write", f - 2))
            if not double and f >= 1:
                needs.append(("write", f - 1))
            if all(done.get(key, x + 1) <= x for key in needs):
                start[f], end[f], current = x, x + cyc, f
                if double and f + 1 < n:
                    request("load", f + 1, folds[f + 1]["ifmap"] + folds[f + 1]["filter"], x)
        # (d) the DRAM interface serves the oldest ready request for this cycle
        if busy is None:
            waiting = [q for q in requests if q[0] <= x]
            if waiting:
                busy = min(waiting, key=lambda q: (q[0], q[1]))
                requests.remove(busy)
        if busy is not None:
            busy[4] -= 1
            if busy[4] == 0:
                done[(busy[2], busy[3])] = x + 1
                busy = None
        x += 1
        if current == n - 1 and end[n - 1] <= x and all(wrote) and busy is None and not requests:
            break
        if x > 10**7:
            raise RuntimeError("the oracle did not finish")
    layer_end = max([end[-1]] + list(done.values()))
    compute = n * cyc - (layer.groups if scalesim else 0)
    stall_load = start[0]
    stall_bw = sum(start[f] - end[f - 1] for f in range(1, n))
    stall_wb = layer_end - end[-1]
    stall = stall_load + stall_bw + stall_wb
    phantom = n * (rows + cols) if (scalesim and output_stationary) else 0
    return {
        "folds": n, "cycles_per_fold": cyc, "compute_cycles": compute,
        "stall_load_cycles": stall_load, "stall_bandwidth_cycles": stall_bw, "stall_writeback_cycles": stall_wb,
        "stall_cycles": stall, "total_cycles": compute + stall,
        "sram_ifmap_reads": totals["ifmap"], "sram_filter_reads": totals["filter"],
        "sram_ofmap_writes": totals["ofmap_w"] + phantom, "sram_ofmap_reads": totals["ofmap_r"],
        "dram_ifmap_reads": sum(f["ifmap"] for f in folds), "dram_filter_reads": sum(f["filter"] for f in folds),
        "dram_ofmap_writes": sum(f["write"] for f in folds), "dram_ofmap_reads": sum(f["psum"] for f in folds),
        "peak_ifmap_reads": peaks["ifmap"], "peak_filter_reads": peaks["filter"],
        "peak_ofmap_writes": peaks["ofmap_w"], "peak_ofmap_reads": peaks["ofmap_r"], "peak_sram_all": peaks["all"],
    }
