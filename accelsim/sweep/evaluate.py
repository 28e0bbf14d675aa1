"""Evaluate one chunk of a sweep: the rows of its points as an Arrow table with a fixed schema.

Systolic points are evaluated batched: all points of a chunk that share (workload, base hw, SRAM
sizes, dataflow) go through the numba kernel in one call, with the array size and DRAM bandwidth
varying per row; the per-row columns then come from the same functions ``accelsim run`` uses
(accelsim/model.py, accelsim/energy.py), given per-row array sizes and bandwidths. Loop-nest points
(rs, nlr, ...) run the mapper one point at a time through :func:`accelsim.model.simulate`.
A point whose evaluation raises gets one row carrying its ``error`` and no numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import energy, model
from ..kernels import systolic as k
from .space import Space

INT, FLOAT, STR, BOOL = pa.int64(), pa.float64(), pa.string(), pa.bool_()

#: Columns naming the point (they precede the layer's own columns).
POINT_FIELDS = [
    ("point", INT), ("workload", STR), ("hw", STR), ("array_rows", INT), ("array_cols", INT), ("num_pes", INT),
    ("sram_ifmap_kib", FLOAT), ("sram_filter_kib", FLOAT), ("sram_ofmap_kib", FLOAT),
    ("dram_bandwidth_bytes_per_cycle", FLOAT), ("dataflow", STR), ("timing", STR), ("energy_table", STR),
]
#: The result columns of ``accelsim run`` (README "Output columns"), mapper_seconds left out: it is
#: wall-clock time, so a table holding it could not be byte-identical between runs.
LAYER_FIELDS = (
    [("layer_index", INT), ("layer", STR), ("layer_type", STR)]
    + [(c, INT) for c in ("N", "C", "H", "W", "M", "R", "S", "stride_h", "stride_w", "pad_h", "pad_w")]
    + [(c, INT) for c in k.INT_OUTPUTS] + [(c, FLOAT) for c in k.FLOAT_OUTPUTS]
    + [("stall_sram_bandwidth_cycles", INT), ("dram_bytes", INT), ("latency_us", FLOAT),
       ("arithmetic_intensity_macs_per_byte", FLOAT), ("attainable_macs_per_cycle", FLOAT),
       ("achieved_macs_per_cycle", FLOAT)]
    + [(f"{kind}_{op}_{what}", INT) for op in energy.OPERANDS
       for kind, what in (("rf", "reads"), ("rf", "writes"), ("noc", "transfers"))]
    + [(c, FLOAT) for c in energy.energy_columns()]
    + [("mapping", STR), ("mapper_objective", STR), ("mapper_evaluated", INT), ("mapper_valid", INT),
       ("mapper_complete", BOOL)]
)
SCHEMA = pa.schema(POINT_FIELDS + LAYER_FIELDS + [("error", STR)])
COLUMNS = SCHEMA.names


@dataclass(frozen=True)
class _RowHardware:
    """A base Hardware seen with per-row array sizes and DRAM bandwidths (numpy arrays aligned
    with the rows of a frame); every other attribute is the base's. Lets model.py's and
    energy.py's column functions compute many hw variants at once with their own formulas."""

    base: object
    array_rows: np.ndarray
    array_cols: np.ndarray
    dram_bandwidth_bytes_per_cycle: np.ndarray
    sram_ifmap: object
    sram_filter: object
    sram_ofmap: object

    @property
    def num_pes(self) -> np.ndarray:
        return self.array_rows * self.array_cols

    def __getattr__(self, name):
        return getattr(self.base, name)


def _point_columns(space: Space, points: np.ndarray) -> pd.DataFrame:
    """The POINT_FIELDS of each point (one row per point)."""
    w, b, a, s, d, f = space.axis_indices(points)
    rows, cols, kib, bws = [], [], [], []
    for bi, ai, si, di in zip(b, a, s, d):
        hw = space.hardware(bi, ai, si, di)
        rows.append(hw.array_rows)
        cols.append(hw.array_cols)
        kib.append((hw.sram_ifmap.size_bytes / 1024, hw.sram_filter.size_bytes / 1024, hw.sram_ofmap.size_bytes / 1024))
        bws.append(hw.dram_bandwidth_bytes_per_cycle)
    kib = np.array(kib, dtype=np.float64).reshape(len(points), 3)
    rows, cols = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
    return pd.DataFrame({
        "point": points.astype(np.int64),
        "workload": [space.workloads[i].name for i in w],
        "hw": [space.bases[i].name for i in b],
        "array_rows": rows, "array_cols": cols, "num_pes": rows * cols,
        "sram_ifmap_kib": kib[:, 0], "sram_filter_kib": kib[:, 1], "sram_ofmap_kib": kib[:, 2],
        "dram_bandwidth_bytes_per_cycle": np.array(bws, dtype=np.float64),
        "dataflow": [space.dataflows[i].name for i in f],
        "timing": [space.timing or space.bases[i].timing for i in b],
        "energy_table": [space.energy_tables[i].name for i in b],
    })


def _systolic_group(space: Space, ids: pd.DataFrame, w: int, b: int, f: int) -> pd.DataFrame:
    """All points of one (workload, base, SRAM, dataflow) group in one kernel call."""
    workload, base, dataflow = space.workloads[w], space.bases[b], space.dataflows[f]
    if base.interconnect != "systolic":
        raise ValueError("not systolic")       # caller falls back to the per-point path
    timing = space.timing or base.timing
    layers = np.array([model.layer_row(layer) for layer in workload.layers], dtype=np.int64).reshape(-1, k.LAYER_COLS)
    n_layers, n_points = layers.shape[0], len(ids)
    rep = np.repeat(np.arange(n_points), n_layers)
    buffers = space.hardware(b, 0, int(ids["_sram"].iloc[0]), 0)    # the group's SRAM sizes
    template = np.array(model.hw_row(buffers, timing), dtype=np.int64)
    hws = np.tile(template, (n_points * n_layers, 1))
    hws[:, k.H_ROWS] = ids["array_rows"].to_numpy()[rep]
    hws[:, k.H_COLS] = ids["array_cols"].to_numpy()[rep]
    bandwidths = ids["dram_bandwidth_bytes_per_cycle"].to_numpy()[rep]
    batch = model.Batch(layers=np.tile(layers, (n_points, 1)), hws=hws, bandwidths=bandwidths,
                        dataflows=np.tile(np.array(dataflow.axis_codes, dtype=np.int64), (n_points * n_layers, 1)))
    out_int, out_float = model.evaluate_batch(batch)
    frame = ids.iloc[rep].reset_index(drop=True)
    frame["layer_index"] = np.tile(np.arange(n_layers, dtype=np.int64), n_points)
    frame["layer"] = np.tile(np.array([layer.name for layer in workload.layers], dtype=object), n_points)
    frame["layer_type"] = np.tile(np.array([("depthwise" if layer.is_depthwise else layer.kind)
                                            for layer in workload.layers], dtype=object), n_points)
    for j, col in enumerate(("N", "C", "H", "W", "M", "R", "S", "stride_h", "stride_w", "pad_h", "pad_w")):
        frame[col] = batch.layers[:, j]
    for j, col in enumerate(k.INT_OUTPUTS):
        frame[col] = out_int[:, j]
    for j, col in enumerate(k.FLOAT_OUTPUTS):
        frame[col] = out_float[:, j]
    rows_hw = _RowHardware(buffers, hws[:, k.H_ROWS], hws[:, k.H_COLS], bandwidths,
                           buffers.sram_ifmap, buffers.sram_filter, buffers.sram_ofmap)
    frame = model.add_derived_columns(model.apply_sram_bandwidth(frame, rows_hw), rows_hw)
    frame = energy.add_action_counts(frame, dataflow)
    return energy.add_energy_columns(frame, rows_hw, space.energy_tables[b])


def _one_point(space: Space, ids: pd.Series) -> pd.DataFrame:
    """One point through accelsim.model.simulate (loop-nest dataflows, and any point whose group
    failed); an exception becomes the point's ``error``."""
    hw = space.hardware(int(ids["_hw"]), int(ids["_array"]), int(ids["_sram"]), int(ids["_bw"]))
    try:
        frame = model.simulate(hw, space.workloads[int(ids["_workload"])], space.dataflows[int(ids["_dataflow"])],
                               timing=space.timing, energy_table=space.energy_tables[int(ids["_hw"])],
                               objective=space.objective, time_limit_s=space.time_limit_s)
    except Exception as exc:  # noqa: BLE001 -- a failing point is recorded, the sweep goes on
        error = pd.DataFrame([ids.to_dict()])
        error["error"] = str(exc) if type(exc).__name__ in ("AccelsimError", "SpecError") else f"{type(exc).__name__}: {exc}"
        return error
    frame = frame.drop(columns=["workload", "hw", "dataflow", "timing", "mapper_seconds"], errors="ignore")
    frame.insert(0, "layer_index", np.arange(len(frame), dtype=np.int64))
    ident = pd.DataFrame([ids.to_dict()] * len(frame))
    return pd.concat([ident.reset_index(drop=True), frame.reset_index(drop=True)], axis=1)


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    frame = frame.reindex(columns=COLUMNS)
    arrays = []
    for field in SCHEMA:
        col = frame[field.name]
        if col.isna().all():
            arrays.append(pa.nulls(len(frame), field.type))
        elif field.type == INT and col.isna().any():
            arrays.append(pa.array(col.astype("Int64"), type=INT))
        else:
            arrays.append(pa.array(col.to_numpy(dtype=object) if field.type in (STR, BOOL) else col, type=field.type,
                                   from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def evaluate_chunk(space: Space, chunk: int) -> pa.Table:
    """The rows of every point of ``chunk``, sorted by (point, layer_index), schema SCHEMA."""
    lo, hi = space.chunk_range(chunk)
    points = np.arange(lo, hi, dtype=np.int64)
    ids = _point_columns(space, points)
    for name, idx in zip(("_workload", "_hw", "_array", "_sram", "_bw", "_dataflow"), space.axis_indices(points)):
        ids[name] = idx
    frames = []
    for (w, b, s, f), group in ids.groupby(["_workload", "_hw", "_sram", "_dataflow"], sort=True):
        if space.dataflows[f].engine == "systolic" and space.bases[b].interconnect == "systolic":
            try:
                frames.append(_systolic_group(space, group, w, b, f))
                continue
            except Exception:  # noqa: BLE001 -- isolate the failing points one by one below
                pass
        frames.extend(_one_point(space, row) for _, row in group.iterrows())
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.reindex(columns=COLUMNS).sort_values(["point", "layer_index"], kind="stable", na_position="first")
    return _to_arrow(frame)


