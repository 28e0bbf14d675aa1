"""Evaluate loop-nest mappings and report them in the results table's columns."""
from __future__ import annotations

import numpy as np

from ..kernels import loopnest as ln
from ..kernels.timing import stall_cycles


def run_kernel(problem, loops, n_loops, spatial, cuts, hw) -> np.ndarray:
    """Kernel outputs (OUTPUTS) for a batch of mappings of one problem: arrays with a leading
    batch axis, or a single mapping (returns one row)."""
    single = loops.ndim == 2
    if single:
        loops, spatial, cuts = loops[None], spatial[None], cuts[None]
        n_loops = np.array([n_loops], dtype=np.int64)
    out = np.zeros((loops.shape[0], len(ln.OUTPUTS)), dtype=np.int64)
    ln.evaluate_batch(problem, loops, np.asarray(n_loops, dtype=np.int64), spatial, cuts, hw, out)
    return out[0] if single else out


def layer_columns(out: np.ndarray, groups: int, rows: int, cols: int, stationary: int,
                  double_buffered: bool, word_bits: int, bandwidth: float) -> dict:
    """One mapping's kernel outputs, scaled to ``groups`` identical groups, as result columns, in
    physical timing (SCALE-Sim's conventions apply to the systolic engine only and live in one
    place, accelsim/kernels/systolic.py). ``stationary`` is the operand a systolic array keeps in
    its PEs (-1 for a multicast array: no fill and drain per fold).

    The stall model is accelsim/model.py's: stalls are the exposed first load, the steady-state
    bandwidth shortfall against (folds - 1) folds of compute when double-buffered, and the
    exposed last drain."""
    o = {name: int(v) for name, v in zip(ln.OUTPUTS, out)}
    folds = groups * o["folds"]
    compute = groups * o["compute_cycles"]
    sram_ofmap_w = groups * o["glb_ofmap_writes"]
    sram_ofmap_r = groups * o["glb_ofmap_reads"]
    dram = {k: groups * o[k] for k in ("dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
                                        "dram_ofmap_reads")}
    total_words = sum(dram.values())
    stall_load, stall_bw, stall_wb = (int(x) for x in stall_cycles(
        o["first_load_words"], o["last_drain_words"], total_words, folds, o["cycles_per_fold"],
        bool(double_buffered), word_bits, float(bandwidth)))
    stall = stall_load + stall_bw + stall_wb
    macs = groups * o["macs"]
    steps = groups * o["steps"]
    pes = rows * cols
    total = compute + stall
    return {
        "folds": folds, "cycles_per_fold": o["cycles_per_fold"], "compute_cycles": compute,
        "fill_drain_cycles": folds * o["cycles_per_fold"] - steps if stationary >= 0 else 0,
        "stall_load_cycles": stall_load, "stall_bandwidth_cycles": stall_bw,
        "stall_writeback_cycles": stall_wb, "stall_cycles": stall, "total_cycles": total,
        "macs": macs,
        "sram_ifmap_reads": groups * o["glb_ifmap_reads"], "sram_filter_reads": groups * o["glb_filter_reads"],
        "sram_ofmap_writes": sram_ofmap_w, "sram_ofmap_reads": sram_ofmap_r, **dram,
        "mapping_efficiency": macs / (steps * pes),
        "pe_utilization": macs / (total * pes) if total > 0 else 0.0,
    }


def action_counts(out: np.ndarray, groups: int, systolic: bool, keep_mask: int) -> dict:
    """Register-file and PE-to-PE counts per operand from one mapping's kernel outputs, in the
    columns of accelsim/energy.py (``rf_<op>_reads/writes``, ``noc_<op>_transfers``), scaled to
    ``groups`` groups, plus ``psum_spatial_reductions``.

    The rules are accelsim.kernels.loopnest.action_counts_row's: kept operands (``keep_mask`` bit
    op) are read from the PE register file by every MAC (the ofmap read and written: accumulate)
    and written once per word delivered to the PE. Multicast arrays deliver every word over the
    network (transfers = deliveries; partial sums: every word leaving a PE); systolic arrays hop a
    word from PE to PE after its edge injection (transfers = deliveries - edge accesses), as
    accelsim/energy.py counts for the systolic engine. Partial sums reduced across PEs on the way
    to the buffer (Eyeriss's vertical psum accumulation, Chen et al. ISCA 2016 section V-B): every
    systolic psum hop; on a multicast array the words leaving the PEs minus the words arriving."""
    row = np.zeros(9, dtype=np.int64)
    ln.action_counts_row(np.asarray(out, dtype=np.int64), keep_mask, systolic, row)
    counts = {}
    for index, op in enumerate(("ifmap", "filter", "ofmap")):
        counts[f"rf_{op}_reads"] = groups * int(row[ln.A_RF_READS + index])
        counts[f"rf_{op}_writes"] = groups * int(row[ln.A_RF_WRITES + index])
        counts[f"noc_{op}_transfers"] = groups * int(row[ln.A_NOC + index])
    drained, arrived = int(out[ln.X_RF_OFMAP]), int(out[ln.X_GLB_OFMAP_W])
    counts["psum_spatial_reductions"] = (counts["noc_ofmap_transfers"] if systolic
                                         else groups * max(0, drained - arrived))
    return counts
