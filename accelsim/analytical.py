"""The analytical fidelity: one tidy row per layer from the loop-nest analysis.

Systolic dataflows (ws, os, is) go through the batched systolic kernel
(:func:`simulate_points`, many array-size and bandwidth variants per call; the formulas are
stated in accelsim/model.py's docstring); loop-nest dataflows (rs, nlr, ...) through the mapper
(:func:`loopnest_frame`). Layers without MACs take the vector unit's rows
(accelsim/vector_layers.py). :func:`accelsim.model.simulate` dispatches here.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import energy
from .columns import (LAYER_FIELDS, RESULT_COLUMNS, RowHardware, add_derived_columns, apply_bandwidth_limits,
                      layer_identity)
from .encoding import TIMINGS, Batch, at_precision, evaluate_batch, hw_row, layer_precision, layer_row
from .errors import AccelsimError
from .kernels import systolic as k
from .spec import Dataflow, EnergyTable, Hardware, Layer, Workload
from .table import Table, concat
from .vector_layers import vector_frame


def simulate_analytical(hw: Hardware, workload: Workload, dataflow: Dataflow, timing: str | None = None,
                        energy_table: EnergyTable | None = None, objective: str = "edp",
                        time_limit_s: float | None = None, progress=None):
    """:func:`accelsim.model.simulate` at fidelity 'analytical' (same arguments): a DataFrame."""
    rows = analytical_rows(hw, workload, dataflow, timing, energy_table, objective, time_limit_s, progress)
    return rows.to_pandas() if isinstance(rows, Table) else rows


def analytical_rows(hw: Hardware, workload: Workload, dataflow: Dataflow, timing: str | None = None,
                    energy_table: EnergyTable | None = None, objective: str = "edp",
                    time_limit_s: float | None = None, progress=None):
    """:func:`simulate_analytical`'s rows as the engine builds them: an accelsim.table.Table (no
    pandas: the command line's fast path)."""
    loopnest = dataflow.engine == "loopnest"
    if loopnest:
        if energy_table is None:
            raise AccelsimError("a loop-nest dataflow needs an energy table (its mapper optimises energy)")
        if timing == "scalesim":
            raise AccelsimError(f"timing scalesim applies to the systolic dataflows only, not {dataflow.name}")
        timing = "physical"
    else:
        if hw.interconnect != "systolic":
            raise AccelsimError(
                f"{hw.file or hw.name}: dataflow {dataflow.name} is a systolic dataflow but array.interconnect is "
                f"{hw.interconnect}; use a loop-nest dataflow (rs, nlr, ws_multicast, os_multicast) or a systolic hw")
        timing = timing or hw.timing
        if timing not in TIMINGS:
            raise AccelsimError(f"timing must be one of {', '.join(TIMINGS)} (got {timing!r})")
    if energy_table is not None:
        energy.check_precisions(energy_table, hw, {layer_precision(layer, hw) for layer in workload.layers})
    if loopnest:
        frame = loopnest_frame(hw, workload, dataflow, timing, energy_table, objective, time_limit_s, progress)
    else:
        frame = points_table(hw, workload, dataflow, timing, energy_table).drop(columns="point")
    frame["fidelity"] = "analytical"
    return frame


def simulate_points(hw: Hardware, workload: Workload, dataflow: Dataflow, timing: str,
                    energy_table: EnergyTable | None = None, array_rows=None, array_cols=None,
                    dram_bandwidths=None):
    """:func:`accelsim.model.simulate` of a systolic dataflow at many points at once: variants of ``hw`` with
    ``array_rows[i]`` x ``array_cols[i]`` PEs and ``dram_bandwidths[i]`` bytes per cycle (default:
    the hw's own, one point). One kernel call covers every (point, MAC layer); the result is a
    DataFrame with a ``point`` column and the rows of point 0, then point 1, ... (``accelsim
    sweep`` uses it)."""
    return points_table(hw, workload, dataflow, timing, energy_table, array_rows, array_cols,
                        dram_bandwidths).to_pandas()


def points_table(hw: Hardware, workload: Workload, dataflow: Dataflow, timing: str,
                 energy_table: EnergyTable | None = None, array_rows=None, array_cols=None,
                 dram_bandwidths=None) -> Table:
    """:func:`simulate_points` as an accelsim.table.Table."""
    rows_pt = np.atleast_1d(np.asarray(hw.array_rows if array_rows is None else array_rows, dtype=np.int64))
    cols_pt = np.atleast_1d(np.asarray(hw.array_cols if array_cols is None else array_cols, dtype=np.int64))
    bw_pt = np.atleast_1d(np.asarray(hw.dram_bandwidth_bytes_per_cycle if dram_bandwidths is None
                                     else dram_bandwidths, dtype=np.float64))
    n_points, layers = len(rows_pt), workload.layers
    n_layers = len(layers)
    array_layers = [layer for layer in layers if layer.is_mac]
    other_layers = [layer for layer in layers if not layer.is_mac]
    mac_index = np.array([i for i, layer in enumerate(layers) if layer.is_mac], dtype=np.int64)
    other_index = np.array([i for i, layer in enumerate(layers) if not layer.is_mac], dtype=np.int64)
    parts, positions = [], []
    if array_layers:
        part = _simulate_systolic(hw, array_layers, dataflow, timing, rows_pt, cols_pt, bw_pt)
        part = energy.add_action_counts(part, dataflow)
        # the kernel counts the MACs the array performs; macs stays the dense count
        part["effective_macs"] = part["macs"].copy()
        dense_k = np.tile(np.array([(l.C // l.groups) * l.R * l.S for l in array_layers], dtype=np.int64), n_points)
        part["macs"] = part["groups"] * part["gemm_p"] * part["gemm_m"] * dense_k
        positions.append(np.repeat(np.arange(n_points), len(array_layers)) * n_layers
                         + np.tile(mac_index, n_points))
        parts.append(part)
    if other_layers:
        bits = [at_precision(hw, layer_precision(l, hw)).word_bits for l in other_layers]
        for p in range(n_points):
            variant = replace(hw, array_rows=int(rows_pt[p]), array_cols=int(cols_pt[p]),
                              dram_bandwidth_bytes_per_cycle=float(bw_pt[p]))
            part = vector_frame(other_layers, variant, bits)
            part["effective_macs"] = 0
            part["layer_type"] = [layer.kind for layer in other_layers]
            for col in LAYER_FIELDS:
                part[col] = [getattr(layer, col) for layer in other_layers]
            positions.append(p * n_layers + other_index)
            parts.append(part)
    frame = concat(parts).take(np.argsort(np.concatenate(positions), kind="stable")) if len(parts) > 1 else parts[0]
    frame.insert(0, "point", np.repeat(np.arange(n_points, dtype=np.int64), n_layers))
    frame.insert(1, "workload", workload.name)
    frame.insert(2, "layer", np.tile(np.array([layer.name for layer in layers], dtype=object), n_points))
    for col, value in (("hw", hw.name), ("dataflow", dataflow.name), ("timing", timing)):
        frame[col] = value
    layer_identity(frame, hw, layers, n_points)
    order = ["point"] + list(RESULT_COLUMNS) + [c for c in frame.columns if c not in RESULT_COLUMNS and c != "point"]
    frame = frame[order]
    rows_hw = hw if n_points == 1 and array_rows is None else RowHardware(
        hw, np.repeat(rows_pt, n_layers), np.repeat(cols_pt, n_layers), np.repeat(bw_pt, n_layers))
    frame = add_derived_columns(apply_bandwidth_limits(frame, rows_hw), rows_hw)
    if energy_table is not None:
        frame = energy.add_energy_columns(frame, rows_hw, energy_table)
    return frame


def loopnest_frame(hw, workload, dataflow, timing, energy_table, objective, time_limit_s, progress) -> Table:
    """:func:`simulate` of a loop-nest dataflow: the mapper's rows for the MAC layers, the vector
    unit's for the others, in layer order (an accelsim.table.Table: ``pd.concat`` of the two parts,
    a column one part lacks missing in its rows)."""
    array_layers = [layer for layer in workload.layers if layer.is_mac]
    other_layers = [layer for layer in workload.layers if not layer.is_mac]
    parts, positions = [], []
    if array_layers:
        from .loopnest.run import simulate_loopnest
        part = simulate_loopnest(hw, replace(workload, layers=tuple(array_layers)), dataflow, energy_table,
                                 objective, time_limit_s, progress)
        part = part.drop(["workload", "layer", "hw", "dataflow", "timing"])
        if "effective_macs" not in part:  # the mapper models dense layers
            part["effective_macs"] = part["macs"]
        positions.append([i for i, layer in enumerate(workload.layers) if layer.is_mac])
        parts.append(part)
    if other_layers:
        part = vector_frame(other_layers, hw, [at_precision(hw, layer_precision(l, hw)).word_bits
                                               for l in other_layers])
        part["effective_macs"] = 0
        for col, values in (("layer_type", [layer.kind for layer in other_layers]),
                            *((col, [getattr(layer, col) for layer in other_layers]) for col in LAYER_FIELDS)):
            part[col] = values
        positions.append([i for i, layer in enumerate(workload.layers) if not layer.is_mac])
        parts.append(part)
    frame = concat(parts).take(np.argsort(np.concatenate(positions), kind="stable")) if len(parts) > 1 else parts[0]
    frame.insert(0, "workload", workload.name)
    frame.insert(1, "layer", np.array([layer.name for layer in workload.layers], dtype=object))
    if "mapping" in frame:     # the layers without MACs have none
        frame["mapping"] = np.array(["" if _missing(v) else v for v in frame["mapping"].tolist()], dtype=object)
    for col, value in (("hw", hw.name), ("dataflow", dataflow.name), ("timing", timing)):
        frame[col] = value
    layer_identity(frame, hw, workload.layers, 1)
    order = list(RESULT_COLUMNS) + [c for c in frame.columns if c not in RESULT_COLUMNS]
    frame = frame[order]
    frame = add_derived_columns(apply_bandwidth_limits(frame, hw), hw)
    if energy_table is not None:
        frame = energy.add_energy_columns(frame, hw, energy_table)
    return frame


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _simulate_systolic(hw: Hardware, layers: list[Layer], dataflow: Dataflow, timing: str, rows_pt, cols_pt,
                       bw_pt) -> Table:
    """The kernel's columns for the MAC layers on a systolic array, each at its own precision, at
    every point (array ``rows_pt[i]`` x ``cols_pt[i]``, DRAM ``bw_pt[i]`` bytes per cycle): rows
    point-major."""
    n, n_points = len(layers), len(rows_pt)
    layer_rows = np.array([layer_row(layer, hw) for layer in layers], dtype=np.int64).reshape(n, k.LAYER_COLS)
    hw_rows = np.array([hw_row(at_precision(hw, layer_precision(layer, hw)), timing) for layer in layers],
                       dtype=np.int64).reshape(n, k.HW_COLS)
    hws = np.tile(hw_rows, (n_points, 1))
    hws[:, k.H_ROWS] = np.repeat(rows_pt, n)
    hws[:, k.H_COLS] = np.repeat(cols_pt, n)
    batch = Batch(layers=np.tile(layer_rows, (n_points, 1)), hws=hws, bandwidths=np.repeat(bw_pt, n),
                  dataflows=np.tile(np.array(dataflow.axis_codes, dtype=np.int64), (n * n_points, 1)))
    out_int, out_float = evaluate_batch(batch)
    frame = Table({"layer_type": np.tile(np.array([("depthwise" if layer.is_depthwise else layer.kind)
                                                   for layer in layers], dtype=object), n_points)})
    for j, col in enumerate(LAYER_FIELDS):
        frame[col] = batch.layers[:, j]
    for j, col in enumerate(k.INT_OUTPUTS):
        frame[col] = out_int[:, j]
    for j, col in enumerate(k.FLOAT_OUTPUTS):
        frame[col] = out_float[:, j]
    return frame
