"""Dataflows (``dataflows/*.yaml``) as data: which conv loop dimensions the PE array unrolls on
its rows and columns, which it streams over time, and which operand stays in the PEs.

A dataflow names the seven loop dimensions of a convolution (N, M, C, E, F, R, S; groups are
always an outer loop). The GEMM view of a systolic array (SCALE-Sim, Samajdar et al. ISPASS 2020,
section III; DESIGN.md) groups them into three axes: P = N*E*F output pixels, M filters and
K = (C/G)*R*S reduction. The systolic engine needs each of rows, cols and time to be exactly one
of these axes; finer splits (row-stationary, user loop nests) are described in the same format and
need the loop-nest engine.

The operand held in the PEs is the one that does not depend on the time axis: the filter (K x M)
when time is P, the ifmap (P x K) when time is M, the ofmap (P x M) when time is K.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import did_you_mean, shown
from .common import Reader, check_kind, load_yaml

LOOP_DIMS = ("N", "M", "C", "E", "F", "R", "S")
#: GEMM axes in kernel order (index 0, 1, 2) and the conv loop dimensions each one collects.
AXES = {"P": ("N", "E", "F"), "M": ("M",), "K": ("C", "R", "S")}
AXIS_INDEX = {"P": 0, "M": 1, "K": 2}
#: The two GEMM axes each operand depends on.
OPERAND_AXES = {"ifmap": ("P", "K"), "filter": ("K", "M"), "ofmap": ("P", "M")}
OPERANDS = tuple(OPERAND_AXES)


@dataclass(frozen=True)
class Dataflow:
    """A systolic dataflow: the GEMM axis on array rows, on array columns and over time."""

    name: str
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    time: tuple[str, ...]
    stationary: str
    long_name: str = ""
    description: str = ""
    source: str = ""
    file: str = ""
    engine: str = "systolic"

    @staticmethod
    def axis_of(dims) -> str | None:
        for axis, members in AXES.items():
            if set(dims) == set(members):
                return axis
        return None

    @property
    def rows_axis(self) -> str:
        return self.axis_of(self.rows)

    @property
    def cols_axis(self) -> str:
        return self.axis_of(self.cols)

    @property
    def time_axis(self) -> str:
        return self.axis_of(self.time)

    @property
    def axis_codes(self) -> tuple[int, int, int]:
        """(rows, cols, time) as kernel axis indices: P=0, M=1, K=2."""
        return (AXIS_INDEX[self.rows_axis], AXIS_INDEX[self.cols_axis], AXIS_INDEX[self.time_axis])


def unknown_dim(dim) -> str:
    """The error for a name that is not one of the seven loop dimensions."""
    return f"unknown loop dimension {shown(dim)}{did_you_mean(dim, LOOP_DIMS)}; use one of {', '.join(LOOP_DIMS)}"


def stationary_operand(time_axis: str) -> str:
    """The operand that does not depend on the time axis stays in the PEs."""
    return next(op for op, axes in OPERAND_AXES.items() if time_axis not in axes)


#: Levels a loop-nest dataflow may pin factors at (``fixed``): register file, array rows and
#: columns, global buffer, DRAM.
LEVELS = ("rf", "rows", "cols", "glb", "dram")


@dataclass(frozen=True)
class LoopNestDataflow:
    """A general loop-nest dataflow: constraints on the mappings the mapper may choose.

    ``spatial_rows`` / ``spatial_cols``: the loop dimensions that may be unrolled over the PE rows
    (columns); ``rf_dims``: the dimensions whose innermost loops may run inside a PE, out of its
    register file; ``fixed``: ((dim, level, factor), ...) pinned factors, factor 0 meaning the whole
    dimension; ``keep``: the operands each PE must hold in its register file across its loops
    (documentation of the dataflow's stationarity; the mapper enforces it through ``rf_dims``).
    """

    name: str
    spatial_rows: tuple[str, ...]
    spatial_cols: tuple[str, ...]
    rf_dims: tuple[str, ...]
    fixed: tuple[tuple[str, str, int], ...] = ()
    keep: tuple[str, ...] = ()
    long_name: str = ""
    description: str = ""
    source: str = ""
    file: str = ""
    engine: str = "loopnest"


#: JSON Schema of a list of loop dimensions (one name alone is a one-element list).
DIMS_SCHEMA = {"oneOf": [{"enum": list(LOOP_DIMS)}, {"type": "array", "items": {"enum": list(LOOP_DIMS)}}]}


def _dims_list(r: Reader, key: str, default=()) -> tuple[str, ...]:
    value = r.raw(key, list(default), DIMS_SCHEMA)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        r.error(key, f"must be a list of loop dimensions from {', '.join(LOOP_DIMS)}")
        return ()
    good = []
    for i, dim in enumerate(value):
        if dim not in LOOP_DIMS:
            r.error(f"{key}[{i}]", unknown_dim(dim))
        elif dim in good:
            r.error(f"{key}[{i}]", f"dimension {dim} is listed twice")
        else:
            good.append(dim)
    return tuple(good)


def loopnest_dataflow_from_dict(top: Reader) -> LoopNestDataflow:
    name = top.string("name")
    long_name = top.string("long_name", "")
    description = top.string("description", "")
    source = top.string("source", "")
    top.raw("engine", schema={"enum": ["systolic", "loopnest"]})
    spatial = top.child("spatial", required=False)
    rows = _dims_list(spatial, "rows")
    cols = _dims_list(spatial, "cols")
    spatial.reject_unknown({"rows", "cols"})
    rf_dims = _dims_list(top, "rf")
    keep_raw = top.raw("keep", [], {"type": "array", "items": {"enum": list(OPERANDS)}})
    keep = []
    if isinstance(keep_raw, list):
        for i, op in enumerate(keep_raw):
            if op not in OPERANDS:
                top.error(f"keep[{i}]", f"must be one of {', '.join(OPERANDS)} (got {shown(op)}){did_you_mean(op, OPERANDS)}")
            else:
                keep.append(op)
    else:
        top.error("keep", f"must be a list of operands from {', '.join(OPERANDS)}")
    fixed_r = top.child("fixed", required=False)
    fixed = []
    for dim in list(fixed_r.data):
        if dim not in LOOP_DIMS:
            fixed_r.error(str(dim), f"unknown loop dimension{did_you_mean(dim, LOOP_DIMS)}; use one of {', '.join(LOOP_DIMS)}")
            continue
        levels = fixed_r.child(dim)
        for level in list(levels.data):
            if level not in LEVELS:
                levels.error(str(level), f"unknown level{did_you_mean(level, LEVELS)}; use one of {', '.join(LEVELS)}")
                continue
            value = levels.raw(level, None, {"oneOf": [{"const": "all"}, {"type": "integer", "minimum": 1}]})
            if value is None:  # present but empty: reported by raw
                continue
            if value == "all":
                fixed.append((dim, level, 0))
            else:
                factor = levels.check_integer(level, value, 1)
                if factor is not None:
                    fixed.append((dim, level, factor))
        placed = {"rows": rows, "cols": cols, "rf": rf_dims}
        for d, level, _ in fixed:
            if d == dim and level in placed and dim not in placed[level]:
                levels.error(level, f"{dim} is pinned at {level} but not allowed there; add it to "
                                    f"{'spatial.' + level if level in ('rows', 'cols') else 'rf'}")
    top.reject_unknown(("name", "long_name", "description", "source", "engine", "spatial", "rf", "keep", "fixed"))
    top.raise_if_problems()
    return LoopNestDataflow(name=name, spatial_rows=rows, spatial_cols=cols, rf_dims=rf_dims,
                            fixed=tuple(fixed), keep=tuple(keep), long_name=long_name or "",
                            description=description or "", source=source or "", file=top.file)


def dataflow_from_dict(data, file: str = "<dataflow>"):
    """Validate a parsed dataflow file: the systolic form (rows/cols/time/stationary) gives a
    :class:`Dataflow`, ``engine: loopnest`` a :class:`LoopNestDataflow`; all problems at once."""
    check_kind(data, file, "dataflows")
    top = Reader(data, file)
    engine = top.data.get("engine", "systolic")
    top.variant = ("engine", engine, engine == "systolic")
    if engine == "loopnest":
        return loopnest_dataflow_from_dict(top)
    if engine != "systolic":
        top.error("engine", f"must be systolic or loopnest (got {shown(engine)}){did_you_mean(engine, ('systolic', 'loopnest'))}")
        top.raise_if_problems()
    top.raw("engine", "systolic", {"enum": ["systolic", "loopnest"]})
    name = top.string("name")
    long_name = top.string("long_name", "")
    description = top.string("description", "")
    source = top.string("source", "")
    stationary = top.choice("stationary", OPERANDS)
    placed: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    before = len(top.problems)
    for key in ("rows", "cols", "time"):
        value = top.raw(key, schema=DIMS_SCHEMA)
        if value is None:
            continue
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            top.error(key, f"must be a non-empty list of loop dimensions from {', '.join(LOOP_DIMS)}")
            continue
        good = []
        for i, dim in enumerate(value):
            if dim not in LOOP_DIMS:
                top.error(f"{key}[{i}]", unknown_dim(dim))
            elif dim in owner:
                top.error(f"{key}[{i}]", f"dimension {dim} is already placed on {owner[dim]}; "
                                         "each loop dimension goes to exactly one of rows, cols, time")
            else:
                owner[dim] = key
                good.append(dim)
        placed[key] = tuple(good)
    placement_ok = len(placed) == 3 and len(top.problems) == before
    top.reject_unknown(("name", "long_name", "description", "source", "engine", "rows", "cols", "time", "stationary"))
    if placement_ok:
        missing = [d for d in LOOP_DIMS if d not in owner]
        if missing:
            top.error("", f"loop dimension(s) {', '.join(missing)} are not placed; add each to rows, cols or time")
        else:
            axes = {key: Dataflow.axis_of(dims) for key, dims in placed.items()}
            for key, axis in axes.items():
                if axis is None:
                    groups = "; ".join(f"{a} = [{', '.join(d)}]" for a, d in AXES.items())
                    top.error(key, f"the systolic engine needs {key} to hold exactly one GEMM axis "
                                   f"({groups}); got [{', '.join(placed[key])}]")
            if None not in axes.values() and stationary is not None:
                expected = stationary_operand(axes["time"])
                if stationary != expected:
                    top.error("stationary", f"with time = [{', '.join(placed['time'])}] the operand that "
                                            f"stays in the PEs is {expected}, not {stationary}; set stationary: {expected}")
    top.raise_if_problems()
    return Dataflow(name=name, rows=placed["rows"], cols=placed["cols"], time=placed["time"],
                    stationary=stationary, long_name=long_name or "", description=description or "",
                    source=source or "", file=str(file))


def load_dataflow(path) -> Dataflow:
    """Load and validate one ``dataflows/*.yaml`` file."""
    return dataflow_from_dict(load_yaml(Path(path)), str(path))
