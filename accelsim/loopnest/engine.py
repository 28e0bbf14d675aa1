"""Evaluate loop-nest mappings and report them in the results table's columns."""
from __future__ import annotations

import math

import numpy as np

from ..kernels import loopnest as ln


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


def transfer_cycles(words: int, word_bits: int, bandwidth: float) -> int:
    """ceil(words x bits / (8 x bytes per cycle)), exact for decimal bandwidths (see
    accelsim/kernels/systolic.py)."""
    if words <= 0 or math.isinf(bandwidth):
        return 0
    q = words * word_bits / (8.0 * bandwidth)
    nearest = math.floor(q + 0.5)
    return int(nearest) if abs(q - nearest) <= 1e-9 * max(1.0, q) else int(math.ceil(q))


def layer_columns(out: np.ndarray, groups: int, rows: int, cols: int, scalesim: bool, stationary: int,
                  double_buffered: bool, word_bits: int, bandwidth: float) -> dict:
    """One mapping's kernel outputs, scaled to ``groups`` identical groups, as result columns.

    Conventions and the stall model are those of accelsim/model.py: SCALE-Sim timing subtracts
    one cycle per group and adds its phantom output-stationary ofmap writes; stalls are the
    exposed first load, the steady-state bandwidth shortfall against (folds - 1) folds of compute
    when double-buffered, and the exposed last drain."""
    o = {name: int(v) for name, v in zip(ln.OUTPUTS, out)}
    folds = groups * o["folds"]
    compute = groups * (o["compute_cycles"] - (1 if scalesim else 0))
    sram_ofmap_w = groups * o["glb_ofmap_writes"]
    sram_ofmap_r = groups * o["glb_ofmap_reads"]
    if scalesim:
        sram_ofmap_r = 0
        if stationary == ln.OP_OFMAP:
            sram_ofmap_w += folds * (rows + cols)
    dram = {k: groups * o[k] for k in ("dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
                                        "dram_ofmap_reads")}
    total_words = sum(dram.values())
    first, last = o["first_load_words"], o["last_drain_words"]
    stall_load = transfer_cycles(first, word_bits, bandwidth)
    stall_wb = transfer_cycles(last, word_bits, bandwidth)
    steady = transfer_cycles(total_words - first - last, word_bits, bandwidth)
    window = (folds - 1) * o["cycles_per_fold"] if double_buffered else 0
    stall_bw = max(0, steady - window)
    stall = stall_load + stall_bw + stall_wb
    macs = groups * o["macs"]
    steps = groups * o["steps"]
    pes = rows * cols
    total = compute + stall
    return {
        "folds": folds, "cycles_per_fold": o["cycles_per_fold"], "compute_cycles": compute,
        "fill_drain_cycles": folds * o["cycles_per_fold"] - steps,
        "stall_load_cycles": stall_load, "stall_bandwidth_cycles": stall_bw,
        "stall_writeback_cycles": stall_wb, "stall_cycles": stall, "total_cycles": total,
        "macs": macs,
        "sram_ifmap_reads": groups * o["glb_ifmap_reads"], "sram_filter_reads": groups * o["glb_filter_reads"],
        "sram_ofmap_writes": sram_ofmap_w, "sram_ofmap_reads": sram_ofmap_r, **dram,
        "mapping_efficiency": macs / (steps * pes),
        "pe_utilization": macs / (total * pes) if total > 0 else 0.0,
    }
