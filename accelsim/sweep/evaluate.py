"""Evaluate one chunk of a sweep: the rows of its points as an Arrow table with a fixed schema.

Systolic points are evaluated batched: all points of a chunk that share (workload, base hw, SRAM
sizes, dataflow) go through the numba kernel in one call, with the array size and DRAM bandwidth
varying per row; the per-row columns then come from the same functions ``accelsim run`` uses
(accelsim/model.py, accelsim/energy.py), given per-row array sizes and bandwidths. Loop-nest points
(rs, nlr, ...) run the mapper one point at a time through :func:`accelsim.model.simulate`.
A point whose inputs are invalid (an :class:`AccelsimError`) gets one row carrying its ``error``
and no numbers; any other exception is a bug in accelsim and stops the sweep.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import energy, model
from ..errors import AccelsimError
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
    + [("psum_spatial_reductions", INT), ("effective_macs", INT), ("unit", STR), ("precision", STR),
       ("word_bits", INT), ("dilation_h", INT), ("dilation_w", INT), ("folded_into", STR), ("vector_ops", INT)]
    + [("stall_sram_bandwidth_cycles", INT), ("stall_noc_bandwidth_cycles", INT), ("stall_rf_bandwidth_cycles", INT),
       ("dram_bytes", INT), ("latency_us", FLOAT),
       ("arithmetic_intensity_macs_per_byte", FLOAT), ("attainable_macs_per_cycle", FLOAT),
       ("achieved_macs_per_cycle", FLOAT)]
    + [(f"{kind}_{op}_{what}", INT) for op in energy.OPERANDS
       for kind, what in (("rf", "reads"), ("rf", "writes"), ("noc", "transfers"))]
    + [(c, FLOAT) for c in energy.energy_columns()]
    + [("mapping", STR), ("mapper_objective", STR), ("mapper_evaluated", INT), ("mapper_valid", INT),
       ("mapper_complete", BOOL), ("fidelity", STR)]
)
SCHEMA = pa.schema(POINT_FIELDS + LAYER_FIELDS + [("error", STR)])
COLUMNS = SCHEMA.names


def _point_columns(space: Space, points: np.ndarray) -> dict:
    """The POINT_FIELDS of each point as arrays (one entry per point), plus the axis indices
    (``_workload``, ``_hw``, ``_dataflow``, ``_sram``, ``_bw``, ``_array``), by table look-up."""
    w, b, f, s, d, a = space.axis_indices(points)
    variants = [[space.hardware(bi, ai, 0, 0) for ai in range(len(space.arrays))] for bi in range(len(space.bases))]
    rows = np.array([[hw.array_rows for hw in per] for per in variants], dtype=np.int64)[b, a]
    cols = np.array([[hw.array_cols for hw in per] for per in variants], dtype=np.int64)[b, a]
    kib = np.array([[[buf.size_bytes / 1024 for buf in (hw.sram_ifmap, hw.sram_filter, hw.sram_ofmap)]
                     for hw in (space.hardware(bi, 0, si, 0) for si in range(len(space.sram_kib)))]
                    for bi in range(len(space.bases))], dtype=np.float64)[b, s]
    bws = np.array([[space.hardware(bi, 0, 0, di).dram_bandwidth_bytes_per_cycle for di in range(len(space.dram_bw))]
                    for bi in range(len(space.bases))], dtype=np.float64)[b, d]
    names = lambda items: np.array(items, dtype=object)  # noqa: E731
    return {
        "point": points.astype(np.int64),
        "workload": names([x.name for x in space.workloads])[w],
        "hw": names([x.name for x in space.bases])[b],
        "array_rows": rows, "array_cols": cols, "num_pes": rows * cols,
        "sram_ifmap_kib": kib[:, 0], "sram_filter_kib": kib[:, 1], "sram_ofmap_kib": kib[:, 2],
        "dram_bandwidth_bytes_per_cycle": bws,
        "dataflow": names([x.name for x in space.dataflows])[f],
        "timing": names([space.timing or x.timing for x in space.bases])[b],
        "energy_table": names([t.name for t in space.energy_tables])[b],
        "_workload": w, "_hw": b, "_dataflow": f, "_sram": s, "_bw": d, "_array": a,
    }


def _systolic_group(space: Space, ids: dict, w: int, b: int, f: int, s: int) -> pd.DataFrame:
    """All points of one (workload, base, dataflow, SRAM) group in one kernel call
    (accelsim.model.simulate_points: the rows ``accelsim run`` gives each point)."""
    workload, dataflow = space.workloads[w], space.dataflows[f]
    buffers = space.hardware(b, 0, s, 0)    # the base with the group's SRAM sizes
    timing = space.timing or buffers.timing
    frame = model.simulate_points(buffers, workload, dataflow, timing, space.energy_tables[b],
                                  ids["array_rows"], ids["array_cols"], ids["dram_bandwidth_bytes_per_cycle"])
    frame["fidelity"] = "analytical"
    rep = frame.pop("point").to_numpy()
    n_layers = len(workload.layers)
    frame = frame.drop(columns=["workload", "hw", "dataflow", "timing"])
    frame.insert(0, "layer_index", np.tile(np.arange(n_layers, dtype=np.int64), len(ids["point"])))
    for name, values in reversed([(n, v) for n, v in ids.items() if not n.startswith("_")]):
        frame.insert(0, name, values[rep])
    return frame


def _one_point(space: Space, ids: dict, i: int) -> pd.DataFrame:
    """Point ``i`` of ``ids`` through accelsim.model.simulate (loop-nest dataflows, and any point
    whose group failed); a user error (:class:`AccelsimError`: a dataflow the array cannot run, no
    mapping fits) becomes the point's ``error``; any other exception is a bug and propagates."""
    ident = {name: values[i] for name, values in ids.items() if not name.startswith("_")}
    hw = space.hardware(ids["_hw"][i], ids["_array"][i], ids["_sram"][i], ids["_bw"][i])
    try:
        frame = model.simulate(hw, space.workloads[ids["_workload"][i]], space.dataflows[ids["_dataflow"][i]],
                               timing=space.timing, energy_table=space.energy_tables[ids["_hw"][i]],
                               objective=space.objective, time_limit_s=space.time_limit_s)
    except AccelsimError as exc:   # the point's inputs cannot be evaluated: recorded, the sweep goes on
        ident["error"] = str(exc)
        return pd.DataFrame([ident])
    frame = frame.drop(columns=["workload", "hw", "dataflow", "timing", "mapper_seconds"], errors="ignore")
    frame.insert(0, "layer_index", np.arange(len(frame), dtype=np.int64))
    for name, value in reversed(ident.items()):
        frame.insert(0, name, value)
    return frame


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    """The frame's columns in SCHEMA order and types (absent columns all null), sorted by
    (point, layer_index) with a failed point's single row first."""
    arrays = []
    for field in SCHEMA:
        col = frame.get(field.name)
        if col is None or col.isna().all():
            arrays.append(pa.nulls(len(frame), field.type))
        elif field.type == INT and col.isna().any():
            arrays.append(pa.array(col.astype("Int64"), type=INT))
        else:
            arrays.append(pa.array(col.to_numpy(dtype=object) if field.type in (STR, BOOL) else col, type=field.type,
                                   from_pandas=True))
    table = pa.Table.from_arrays(arrays, schema=SCHEMA)
    return table.sort_by([("point", "ascending"), ("layer_index", "ascending")])   # a failed point has one row


def evaluate_chunk(space: Space, chunk: int) -> pa.Table:
    """The rows of every point of ``chunk``, sorted by (point, layer_index), schema SCHEMA."""
    lo, hi = space.chunk_range(chunk)
    ids = _point_columns(space, np.arange(lo, hi, dtype=np.int64))
    w_n, b_n, f_n, s_n = space.shape[:4]
    keys = ((ids["_workload"] * b_n + ids["_hw"]) * f_n + ids["_dataflow"]) * s_n + ids["_sram"]
    frames = []
    for key in np.unique(keys):
        w, b, f, s = (int(i) for i in np.unravel_index(key, (w_n, b_n, f_n, s_n)))
        members = np.flatnonzero(keys == key)
        sub = {name: values[members] for name, values in ids.items()}
        if space.dataflows[f].engine == "systolic" and space.bases[b].interconnect == "systolic":
            try:
                frames.append(_systolic_group(space, sub, w, b, f, s))
                continue
            except AccelsimError:   # some point of the group is invalid: find which, one by one below
                pass
        frames.extend(_one_point(space, sub, i) for i in range(len(members)))
    return pa.concat_tables([_to_arrow(frame) for frame in frames]) if len(frames) > 1 else _to_arrow(frames[0])
