"""The design space of a sweep: its axes, how they are given (flags or a sweep YAML), and its points.

A point is one (workload, base hw, dataflow, SRAM sizes, DRAM bandwidth, array size) combination;
it expands to one result row per layer of its workload. Points are numbered in a fixed order, the
axes nested in that order (workload outermost, array size innermost), so a point's index, and so
every chunk of indices, depends only on the space, never on how it is run. The axes that fix the
energy per access and the action counts (base, dataflow, SRAM) are outer ones, so a chunk of
consecutive points spans few batched groups.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import spec
from ..errors import AccelsimError, Problem, SpecError, shown
from ..spec.common import MAX_ARRAY_DIM, MAX_BANDWIDTH, MAX_BUFFER_KIB, MIN_BANDWIDTH, Reader, load_yaml
from ..spec.hw import SramBuffer
from ..version import __version__

#: Keys of a sweep YAML (the command-line flags, with ``-`` written ``_``).
YAML_KEYS = ("name", "hw", "workload", "dataflow", "array", "sram_kb", "dram_bw", "timing", "energy",
             "objective", "time_limit_s", "chunk_size")
#: The axes, outermost first; a point's index is the mixed-radix number of its axis indices.
AXES = ("workload", "hw", "dataflow", "sram_kb", "dram_bw", "array")
#: Rows per chunk the default chunk size aims at (a chunk is one batched engine call per group).
TARGET_ROWS_PER_CHUNK = 16384
#: Points per chunk by default when the space has loop-nest dataflows (each point runs the mapper).
LOOPNEST_CHUNK_POINTS = 2


@dataclass(frozen=True)
class Space:
    """A validated design space. ``arrays``/``sram_kib``/``dram_bw`` entries of None mean "the
    base hw's own value" ("base" in :meth:`describe`). ``sram_kib`` entries are (ifmap, filter, ofmap) sizes in KiB.
    ``files`` maps a role (``hw:tpu_v1``) to the input file, for the manifest and the space hash."""

    name: str
    workloads: tuple
    bases: tuple
    arrays: tuple
    sram_kib: tuple
    dram_bw: tuple
    dataflows: tuple
    energy_tables: tuple        # one per base
    timing: str | None
    objective: str
    time_limit_s: float | None
    chunk_size: int
    files: tuple                # ((role, path), ...)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.workloads), len(self.bases), len(self.dataflows), len(self.sram_kib),
                len(self.dram_bw), len(self.arrays))

    @property
    def num_points(self) -> int:
        return int(np.prod(self.shape))

    @property
    def num_chunks(self) -> int:
        return -(-self.num_points // self.chunk_size)

    def chunk_range(self, chunk: int) -> tuple[int, int]:
        """Point indices [lo, hi) of one chunk."""
        lo = chunk * self.chunk_size
        return lo, min(lo + self.chunk_size, self.num_points)

    def axis_indices(self, points: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per-axis indices (AXES order) of the given point indices."""
        return np.unravel_index(points, self.shape)

    def point_hardware(self, point: int):
        """The Hardware of point number ``point``."""
        w, b, f, s, d, a = (int(i) for i in np.unravel_index(point, self.shape))
        return self.hardware(b, a, s, d)

    def hardware(self, base: int, array: int, sram: int, bw: int):
        """The Hardware of one point: the base with the swept fields replaced."""
        return _with_fields(self.bases[base], self.arrays[array], self.sram_kib[sram], self.dram_bw[bw])

    def describe(self) -> dict:
        """The space as JSON-able data (for the manifest): names, values and counts per axis."""
        return {
            "name": self.name,
            "axes": list(AXES),
            "workload": [w.name for w in self.workloads],
            "hw": [h.name for h in self.bases],
            "array": ["base" if a is None else f"{a[0]}x{a[1]}" for a in self.arrays],
            "sram_kb": ["base" if s is None else "/".join(f"{v:g}" for v in s) for s in self.sram_kib],
            "dram_bw": ["base" if b is None else ("unlimited" if math.isinf(b) else b) for b in self.dram_bw],
            "dataflow": [d.name for d in self.dataflows],
            "energy": [t.name for t in self.energy_tables],
            "timing": self.timing, "objective": self.objective, "time_limit_s": self.time_limit_s,
            "chunk_size": self.chunk_size, "points": self.num_points, "chunks": self.num_chunks,
        }

    def digest(self) -> str:
        """SHA-256 of everything the result tables depend on: the space, the inputs' bytes and the
        accelsim version. ``--resume`` refuses a folder whose sweep has another digest."""
        h = hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode())
        h.update(__version__.encode())
        for role, path in self.files:
            h.update(role.encode() + b"\0" + Path(path).read_bytes() + b"\0")
        return h.hexdigest()


def _with_fields(hw, array, sram_kib, dram_bw):
    changes = {}
    if array is not None:
        changes.update(array_rows=array[0], array_cols=array[1])
    if sram_kib is not None:
        ifmap, filt, ofmap = (SramBuffer(size_bytes=int(kib * 1024)) for kib in sram_kib)
        changes.update(sram_ifmap=ifmap, sram_filter=filt, sram_ofmap=ofmap)
    if dram_bw is not None:
        changes.update(dram_bandwidth_bytes_per_cycle=dram_bw)
    return replace(hw, **changes) if changes else hw


def hw_variant(hw, array: str | None = None, sram_kb: str | None = None, dram_bw: str | None = None):
    """``hw`` with a sweep point's fields replaced, from the sweep's flag syntax (``16x16``,
    ``64`` or ``64/64/32`` KiB, bytes per cycle or ``unlimited``): what ``accelsim run --array
    --sram-kb --dram-bw`` simulates, the same Hardware the sweep evaluates at that point."""
    problems = []

    def parse(flag, value, parser):
        if value is None:
            return None
        return parser(value, lambda message: problems.append(f"--{flag}: {message}"))

    fields = (parse("array", array, _parse_array), parse("sram-kb", sram_kb, _parse_sram),
              parse("dram-bw", dram_bw, _parse_bw))
    if problems:
        raise AccelsimError("; ".join(problems))
    return _with_fields(hw, *fields)


# -- parsing -------------------------------------------------------------------------------------

_ARRAY = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def _split(value) -> list:
    """A list from a YAML list, or a comma-separated string / number. Empty items are kept (as
    None) for :func:`build_space` to report: ``8x8,,16x16`` is a typo, not two values."""
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            out.extend(_split(item) if isinstance(item, str) and "," in item else [item])
        return out
    if isinstance(value, str):
        return [v.strip() or None for v in value.split(",")]
    return [value]


def _parse_array(value, err) -> tuple[int, int] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        rows, cols = value
    else:
        m = _ARRAY.match(str(value))
        if not m:
            err(f"must be ROWSxCOLS such as 16x16 (got {shown(value)})")
            return None
        rows, cols = int(m.group(1)), int(m.group(2))
    if not (1 <= rows <= MAX_ARRAY_DIM and 1 <= cols <= MAX_ARRAY_DIM):
        err(f"rows and cols must be from 1 to {MAX_ARRAY_DIM} (got {shown(value)})")
        return None
    return rows, cols


def _parse_sram(value, err) -> tuple[float, float, float] | None:
    parts = str(value).split("/")
    if len(parts) not in (1, 3):
        err(f"must be KiB for all three buffers (64) or IFMAP/FILTER/OFMAP KiB (64/64/32) (got {shown(value)})")
        return None
    try:
        sizes = [float(p) for p in parts]
    except ValueError:
        err(f"must be a number of KiB, or IFMAP/FILTER/OFMAP KiB such as 64/64/32 (got {shown(value)})")
        return None
    if any(not math.isfinite(s) or s <= 0 or s > MAX_BUFFER_KIB or not float(s * 1024).is_integer() for s in sizes):
        err(f"sizes must be > 0, at most {MAX_BUFFER_KIB} KiB and a whole number of bytes (got {shown(value)})")
        return None
    return tuple(sizes * 3) if len(sizes) == 1 else tuple(sizes)


def _parse_bw(value, err) -> float | None:
    if str(value).strip() == "unlimited":
        return math.inf
    try:
        bw = float(value)
    except (TypeError, ValueError):
        bw = float("nan")
    if not MIN_BANDWIDTH <= bw <= MAX_BANDWIDTH or isinstance(value, bool):
        err(f"must be bytes per cycle > 0 or unlimited (numbers from {MIN_BANDWIDTH:g} to 2^40; got {shown(value)})")
        return None
    return bw


def _chunk_size(workloads, dataflows) -> int:
    if any(d.engine == "loopnest" for d in dataflows):
        return LOOPNEST_CHUNK_POINTS
    return max(1, TARGET_ROWS_PER_CHUNK // max(len(w.layers) for w in workloads))


def build_space(values: dict, file: str = "command line", base_dir: Path | None = None) -> Space:
    """Validate the sweep settings in ``values`` (YAML keys; flags use the same names) and load
    every input. All problems are collected and raised together, each naming ``file`` and the key.
    Files named in a sweep YAML are looked up next to it (``base_dir``) before the presets."""
    problems: list[Problem] = []
    top = Reader(values, file, problems=problems)

    def listed(key, required=False):
        raw = top.raw(key, None)
        items = _split(raw) if raw is not None else []
        if any(item is None or (isinstance(item, str) and not item.strip()) for item in items) or (
                raw is not None and not items):
            top.error(key, f"has an empty item (got {shown(raw)}); give values separated by single commas, "
                           "or leave the option out for the base's value")
            items = [item for item in items if item is not None and not (isinstance(item, str) and not item.strip())]
        if required and not items:
            top.error(key, f"required: give at least one value (--{key.replace('_', '-')} or `{key}:` in a sweep YAML)")
        return items

    def load_all(key, kind, loader):
        out, paths = [], []
        for i, item in enumerate(listed(key, required=True)):
            where = key if len(_split(values.get(key))) == 1 else f"{key}[{i}]"
            text = str(item)
            try:
                local = base_dir / text if base_dir is not None else None
                path = local if local is not None and local.is_file() else spec.resolve(kind, text)
                out.append(loader(path))
                paths.append(path)
            except SpecError as exc:
                problems.extend(exc.problems)
            except AccelsimError as exc:
                top.error(where, str(exc))
        return out, paths

    name = top.string("name", None)
    workloads, workload_paths = load_all("workload", "workloads", spec.load_workload)
    bases, base_paths = load_all("hw", "hw", spec.load_hardware)
    dataflows, dataflow_paths = load_all("dataflow", "dataflows", spec.load_dataflow)

    def axis(key, parser):
        items = listed(key)
        parsed = []
        for i, item in enumerate(items):
            where = key if len(items) == 1 else f"{key}[{i}]"
            parsed.append(parser(item, lambda message, where=where: top.error(where, message)))
        return tuple(parsed) if items else (None,)

    arrays = axis("array", _parse_array)
    sram = axis("sram_kb", _parse_sram)
    bws = axis("dram_bw", _parse_bw)
    for key, values_ in (("array", arrays), ("sram_kb", sram), ("dram_bw", bws), ("workload", [w.name for w in workloads]),
                         ("dataflow", [d.name for d in dataflows])):
        seen = [v for v in values_ if v is not None]
        if len(set(seen)) != len(seen):
            top.error(key, "lists the same value twice; give each value once")
    timing = top.choice("timing", ("physical", "scalesim"), None)
    objective = top.choice("objective", ("cycles", "energy", "edp"), "edp")
    time_limit = top.number("time_limit_s", None)
    chunk = top.integer("chunk_size", None)
    energy = top.string("energy", None)
    top.reject_unknown(YAML_KEYS)
    tables, table_paths = [], []
    for hw in bases:
        try:
            table = spec.energy_table_for(hw, energy)
            tables.append(table)
            table_paths.append(Path(table.file))
        except SpecError as exc:
            problems.extend(exc.problems)
        except AccelsimError as exc:
            top.error("energy" if energy else "hw", str(exc))
    if problems:
        raise SpecError(problems)
    files = tuple([(f"workload:{w.name}", str(p)) for w, p in zip(workloads, workload_paths)]
                  + [(f"hw:{h.name}", str(p)) for h, p in zip(bases, base_paths)]
                  + [(f"dataflow:{d.name}", str(p)) for d, p in zip(dataflows, dataflow_paths)]
                  + sorted({(f"energy:{t.name}", str(p)) for t, p in zip(tables, table_paths)}))
    space = Space(name=name or "", workloads=tuple(workloads), bases=tuple(bases), arrays=arrays, sram_kib=sram,
                  dram_bw=bws, dataflows=tuple(dataflows), energy_tables=tuple(tables), timing=timing,
                  objective=objective, time_limit_s=time_limit,
                  chunk_size=chunk or _chunk_size(workloads, dataflows), files=files)
    return space if name else replace(space, name=f"sweep_{space.digest()[:10]}")


def load_sweep_yaml(path) -> dict:
    """The settings of a sweep YAML file (validated later by :func:`build_space`)."""
    data = load_yaml(Path(path))
    if not isinstance(data, dict):
        raise AccelsimError(f"{path}: a sweep file must be a mapping of keys ({', '.join(YAML_KEYS)}) to values")
    return data
