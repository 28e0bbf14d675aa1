"""Slow, obviously-correct reimplementation of the analytical engine (the oracle for the kernel).

Written from the formulas in accelsim/model.py's module docstring, by explicit enumeration: loop
over groups, column folds (outer) and row folds (inner); for each fold take the tile sizes and
count what crosses the array edges; sum. Nothing here is vectorised or closed-form where a loop
will do, and accelsim.kernels is not imported (as stumpy's tests/naive.py, STYLE.md).

Which operand enters on which edge, per fold (rows_tile x cols_tile PEs, T time steps):

* the stationary operand depends on the row and column axes: its rows_tile x cols_tile tile is
  shifted into the PEs (or, for the ofmap in output stationary, out of them) once per fold;
* the operand that depends on the row axis and time enters on the row edge: rows_tile ports,
  one word per port per time step, so rows_tile x T words;
* the operand that depends on the column axis and time crosses the column edge: cols_tile x T.

So an operand's words in one fold are the product of its two axes' extents in that fold (row
axis -> rows_tile, column axis -> cols_tile, time axis -> T), for all three operands.
"""
from __future__ import annotations

import math
from fractions import Fraction

#: The two GEMM axes each operand depends on (P = N*E*F pixels, M filters, K reduction).
OPERAND_AXES = {"ifmap": ("P", "K"), "filter": ("K", "M"), "ofmap": ("P", "M")}


def output_size(size: int, filt: int, stride: int, pad: int, scalesim: bool) -> int:
    """E (or F). Physical: floor((H + 2*pad - R)/U) + 1. SCALE-Sim: ceil((Hp - R + U)/U) on the
    padded input Hp = H + 2*pad (SCALE-Sim has no padding, so it is given padded inputs)."""
    if scalesim:
        padded = size + 2 * pad
        return math.ceil(Fraction(padded - filt + stride, stride))
    return (size + 2 * pad - filt) // stride + 1


def tiles(extent: int, array_size: int) -> list[int]:
    """Sizes of the folds covering ``extent`` with an array edge of ``array_size``: full tiles,
    then one partial tile if the extent does not divide evenly."""
    sizes = []
    start = 0
    while start < extent:
        sizes.append(min(array_size, extent - start))
        start += array_size
    return sizes


def transfer_cycles(words: int, word_bits: int, bandwidth_bytes_per_cycle: float) -> int:
    """Whole cycles to move ``words`` over DRAM, in exact arithmetic (the bandwidth as the user
    wrote it in decimal); 0 for nothing to move or an unlimited interface."""
    if words <= 0 or math.isinf(bandwidth_bytes_per_cycle):
        return 0
    return math.ceil(Fraction(words * word_bits, 8) / Fraction(repr(float(bandwidth_bytes_per_cycle))))


def product(values) -> int:
    result = 1
    for value in values:
        result *= value
    return result


def touched_input_words(layer, e: int, f: int, scalesim: bool) -> int:
    """Distinct input words some window reads, by enumerating every (output, tap) position:
    N * C/G * |rows touched| * |columns touched|. Physical: positions o*U + k*D - pad inside the
    unpadded input; SCALE-Sim: o*U + k*D inside the padded input it is given."""
    def positions(out, taps, stride, dilation, pad, size):
        offset = 0 if scalesim else pad
        extent = size + 2 * pad if scalesim else size
        return {o * stride + k * dilation - offset for o in range(out) for k in range(taps)} & set(range(extent))
    rows = positions(e, layer.R, layer.stride_h, layer.dilation_h, layer.pad_h, layer.H)
    cols = positions(f, layer.S, layer.stride_w, layer.dilation_w, layer.pad_w, layer.W)
    return layer.N * (layer.C // layer.groups) * len(rows) * len(cols)


def evaluate(layer, hw, dataflow, timing: str | None = None) -> dict:
    """One layer on one array under one dataflow -> every output of the engine, by name.

    ``layer``, ``hw`` and ``dataflow`` are accelsim.spec objects (Layer, Hardware, Dataflow).
    """
    timing = timing or hw.timing
    scalesim = timing == "scalesim"
    groups = layer.groups
    rows, cols = hw.array_rows, hw.array_cols
    pes = rows * cols
    word_bits = hw.word_bits

    # lowering, one group: P = N*E*F, M/G filters, K = (C/G)*R*S
    e = output_size(layer.H, layer.R, layer.stride_h, layer.pad_h, scalesim)
    f = output_size(layer.W, layer.S, layer.stride_w, layer.pad_w, scalesim)
    dims = {"P": layer.N * e * f, "M": layer.M // groups, "K": (layer.C // groups) * layer.R * layer.S}
    row_axis, col_axis, time_axis = dataflow.rows_axis, dataflow.cols_axis, dataflow.time_axis
    t = dims[time_axis]
    row_tiles = tiles(dims[row_axis], rows)
    col_tiles = tiles(dims[col_axis], cols)

    if scalesim and time_axis == "K":
        cycles_per_fold = t + rows + cols - 2          # SCALE-Sim's output stationary fold
    else:
        cycles_per_fold = 2 * rows + cols + t - 2      # shift in, skew, cross the columns, T waves

    # enumerate every fold
    compute = fill_drain = macs = used_pe_slots = folds = 0
    sram = {"ifmap": 0, "filter": 0, "ofmap_w": 0, "ofmap_r": 0}
    first_fold = last_fold = None
    for _group in range(groups):
        group_cycles = 0
        for col_index, cols_tile in enumerate(col_tiles):        # column folds outer
            for row_index, rows_tile in enumerate(row_tiles):    # row folds inner
                extent = {row_axis: rows_tile, col_axis: cols_tile, time_axis: t}
                words = {op: product(extent[a] for a in axes) for op, axes in OPERAND_AXES.items()}
                sram["ifmap"] += words["ifmap"]
                sram["filter"] += words["filter"]
                sram["ofmap_w"] += words["ofmap"]
                # partial sums are read back by every fold but the first along K
                k_index = {row_axis: row_index, col_axis: col_index, time_axis: 0}["K"]
                if k_index > 0 and not scalesim:
                    sram["ofmap_r"] += words["ofmap"]
                if scalesim and time_axis == "K":
                    sram["ofmap_w"] += rows + cols              # SCALE-Sim's phantom OS writes
                macs += rows_tile * cols_tile * t
                used_pe_slots += rows_tile * cols_tile
                group_cycles += cycles_per_fold
                fill_drain += cycles_per_fold - t
                folds += 1
                if first_fold is None:
                    first_fold = dict(words)
                last_fold = dict(words)
        if scalesim:
            group_cycles -= 1       # SCALE-Sim: sum over folds - 1 (fill_drain is per fold)
        compute += group_cycles

    # DRAM traffic of one group (every group has the same shape)
    halves = 2 if hw.double_buffered else 1
    capacity = {
        "ifmap": hw.buffer_words(hw.sram_ifmap) // halves,
        "filter": hw.buffer_words(hw.sram_filter) // halves,
        "ofmap": hw.buffer_words(hw.sram_ofmap) // halves,
    }
    # words needed: the distinct input pixels the windows touch
    unique = {"ifmap": min(touched_input_words(layer, e, f, scalesim), dims["P"] * dims["K"]),
              "filter": dims["M"] * dims["K"]}
    dram = {}
    for op in ("ifmap", "filter"):
        missing = next(a for a in ("P", "M", "K") if a not in OPERAND_AXES[op])
        if missing == time_axis:
            # stationary: each fold's tile is read once
            dram[op] = unique[op]
        elif missing == col_axis:
            # the whole operand serves every column fold: kept if it fits, else fetched again
            dram[op] = unique[op] if unique[op] <= capacity[op] else unique[op] * len(col_tiles)
        else:
            # one column tile's slice (that tile x the time axis) serves every row fold
            slice_words = min(col_tiles[0] * t, unique[op])
            dram[op] = unique[op] if slice_words <= capacity[op] else unique[op] * len(row_tiles)
    ofmap_words = dims["P"] * dims["M"]
    visits = 1
    if row_axis == "K" and col_tiles[0] * t > capacity["ofmap"]:
        visits = len(row_tiles)      # one column tile of partial sums does not fit: spill per row fold
    elif col_axis == "K" and ofmap_words > capacity["ofmap"]:
        visits = len(col_tiles)      # K across the columns: all partial sums live across column folds
    dram["ofmap_w"] = ofmap_words * visits
    dram["ofmap_r"] = ofmap_words * (visits - 1)

    # stalls: exposed first load, steady-state bandwidth shortfall, exposed last drain
    first_words = min(first_fold["ifmap"], unique["ifmap"]) + min(first_fold["filter"], unique["filter"])
    last_words = last_fold["ofmap"]
    total_words = groups * (dram["ifmap"] + dram["filter"] + dram["ofmap_w"] + dram["ofmap_r"])
    steady_words = total_words - first_words - last_words
    bandwidth = hw.dram_bandwidth_bytes_per_cycle
    stall_load = transfer_cycles(first_words, word_bits, bandwidth)
    stall_writeback = transfer_cycles(last_words, word_bits, bandwidth)
    steady = transfer_cycles(steady_words, word_bits, bandwidth)
    overlap = (folds - 1) * cycles_per_fold if hw.double_buffered else 0   # all folds but one
    stall_bandwidth = max(0, steady - overlap)
    stall = stall_load + stall_bandwidth + stall_writeback
    total = compute + stall

    mapping_efficiency = used_pe_slots / (folds * pes)
    if scalesim:
        if time_axis == "K":
            compute_utilization = mapping_efficiency * t / (t + rows + cols - 2)
        else:
            compute_utilization = mapping_efficiency * t / (2 * rows + 2 * cols + t - 3)
    else:
        compute_utilization = macs / (compute * pes)

    return {
        "E": e, "F": f, "gemm_p": dims["P"], "gemm_m": dims["M"], "gemm_k": dims["K"],
        "groups": groups, "row_folds": len(row_tiles), "col_folds": len(col_tiles), "folds": folds,
        "cycles_per_fold": cycles_per_fold, "compute_cycles": compute, "fill_drain_cycles": fill_drain,
        "stall_load_cycles": stall_load, "stall_bandwidth_cycles": stall_bandwidth,
        "stall_writeback_cycles": stall_writeback, "stall_cycles": stall, "total_cycles": total,
        "macs": macs,
        "sram_ifmap_reads": sram["ifmap"], "sram_filter_reads": sram["filter"],
        "sram_ofmap_writes": sram["ofmap_w"], "sram_ofmap_reads": sram["ofmap_r"],
        "dram_ifmap_reads": groups * dram["ifmap"], "dram_filter_reads": groups * dram["filter"],
        "dram_ofmap_writes": groups * dram["ofmap_w"], "dram_ofmap_reads": groups * dram["ofmap_r"],
        "mapping_efficiency": mapping_efficiency,
        # SCALE-Sim timing gives a one-cycle fold 0 cycles ("sum over folds - 1"): no utilisation
        "pe_utilization": macs / (total * pes) if total else 0.0,
        "compute_utilization": compute_utilization,
    }
