"""Simulate a workload under a loop-nest dataflow: the mapper picks each layer's mapping, the
loop-nest analysis counts it, and the rows come out in the results table's columns."""
from __future__ import annotations

import numpy as np

from ..encoding import at_precision, layer_precision
from ..errors import AccelsimError
from ..spec import EnergyTable, Hardware, Workload
from ..spec.dataflow import LoopNestDataflow
from ..table import Table
from ..kernels import loopnest as ln
from . import engine
from .mapper import hw_array, problem_array, search

OBJECTIVES = ("cycles", "energy", "edp")


def pipeline_steps(mapping, outputs: np.ndarray) -> np.ndarray:
    """Kernel outputs with ``folds`` / ``cycles_per_fold`` set to the global-buffer pipeline of a
    multicast array: one step per iteration of the loops above the GLB tiles (the DRAM-level
    loops), the MAC steps split evenly among them. With a double-buffered GLB, the next step's
    tiles load while the current one computes (accelsim/model.py's stall model)."""
    out = outputs.copy()
    outer = min(mapping.glb_cut)
    steps_dram = int(np.prod([trip for _, trip in mapping.loops[:outer]] or [1]))
    out[ln.X_FOLDS] = steps_dram
    out[ln.X_CYC_FOLD] = out[ln.X_STEPS] // steps_dram
    return out


def spatial_folds(mapping, layer) -> dict:
    """``row_folds`` / ``col_folds`` of a loop-nest mapping: how many array tiles its row (column)
    dimensions take, ceil(bound / (spatial factor x in-PE extent)) multiplied over those dims (a
    dim unrolled on both axes counts on the rows)."""
    bounds = dict(zip(ln.DIMS, problem_array(layer)[:7].tolist()))
    loops, n_loops, spatial, cuts = mapping.arrays()
    rf_cut = int(cuts[1].min())
    folds = {}
    seen = set()
    for axis, name in ((0, "row_folds"), (1, "col_folds")):
        count = 1
        for d, dim in enumerate(bounds):
            if spatial[axis, d] > 1 and dim not in seen:
                seen.add(dim)
                inner = int(np.prod([loops[i, 1] for i in range(rf_cut, n_loops) if loops[i, 0] == d] or [1]))
                count *= -(-bounds[dim] // (int(spatial[0, d] * spatial[1, d]) * inner))
        folds[name] = count
    return folds


def simulate_loopnest(hw: Hardware, workload: Workload, dataflow: LoopNestDataflow, energy_table: EnergyTable,
                      objective: str = "edp", time_limit_s: float | None = None, progress=None) -> Table:
    """One row per layer (an accelsim.table.Table): the best mapping for ``objective`` ('cycles', 'energy', 'edp') within
    the dataflow's constraints, its counts, cycles, stalls and mapper statistics (``mapping``,
    ``mapper_evaluated``, ``mapper_valid``, ``mapper_seconds``, ``mapper_complete``).
    ``progress(index, count, layer_name, seconds)`` is called after each layer is mapped."""
    if objective not in OBJECTIVES:
        raise AccelsimError(f"objective must be one of {', '.join(OBJECTIVES)} (got {objective!r})")
    if hw.interconnect != "multicast":
        raise AccelsimError(
            f"{hw.file or hw.name}: dataflow {dataflow.name} is a loop-nest dataflow for a multicast PE array, "
            f"but array.interconnect is {hw.interconnect}; use a multicast hw (e.g. eyeriss) or a systolic "
            "dataflow (ws, os, is)")
    rows = []
    keep = int(hw_array(hw, dataflow)[-1])
    for layer in workload.layers:
        hw_layer = at_precision(hw, layer_precision(layer, hw))
        result = search(layer, hw_layer, dataflow, energy_table, objective=objective, time_limit_s=time_limit_s)
        out = pipeline_steps(result.best, result.best_outputs)
        row = {"workload": workload.name, "layer": layer.name,
               "layer_type": "depthwise" if layer.is_depthwise else layer.kind,
               "hw": hw.name, "dataflow": dataflow.name, "timing": "physical",
               "N": layer.N, "C": layer.C, "H": layer.H, "W": layer.W, "M": layer.M, "R": layer.R,
               "S": layer.S, "stride_h": layer.stride_h, "stride_w": layer.stride_w, "pad_h": layer.pad_h,
               "pad_w": layer.pad_w, "groups": layer.groups, "E": layer.E, "F": layer.F,
               "gemm_p": layer.N * layer.E * layer.F, "gemm_m": layer.M // layer.groups,
               "gemm_k": (layer.C // layer.groups) * layer.R * layer.S}
        row.update(spatial_folds(result.best, layer))
        row.update(engine.layer_columns(out, layer.groups, hw.array_rows, hw.array_cols, -1,
                                        hw.double_buffered, hw_layer.word_bits, hw.dram_bandwidth_bytes_per_cycle))
        row["compute_utilization"] = row["macs"] / (row["compute_cycles"] * hw.num_pes)
        row.update(engine.action_counts(out, layer.groups, False, keep))
        row.update({"mapping": result.best.describe(), "mapper_objective": objective,
                    "mapper_evaluated": result.evaluated, "mapper_valid": result.valid,
                    "mapper_seconds": result.seconds, "mapper_complete": result.complete})
        rows.append(row)
        if progress is not None:
            progress(len(rows), len(workload.layers), layer.name, result.seconds)
    return Table.from_records(rows)
