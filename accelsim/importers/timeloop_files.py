"""Read Timeloop's own input files (architecture, problem, mapping, Accelergy ERT/ART) as published.

Formats read (Timeloop v0.3 and v0.4 front end, NVlabs/timeloop and
Accelergy-Project/timeloop-accelergy-exercises; key ``timeloop-v4``, ``timeloop-exercises`` in
docs/references.md):

* architecture, v0.4: ``architecture: {version, nodes: [...]}`` with the YAML tags ``!Container``
  (optionally ``spatial: {meshX, meshY}``), ``!Component`` and ``!Parallel`` (components side by
  side, e.g. Eyeriss's three scratchpads, which Timeloop orders as consecutive levels);
* architecture, v0.3 and Timeloop's own dump (``parsed-processed-input.yaml``,
  ``*.flattened_architecture.yaml``): ``subtree`` / ``local`` with instance ranges ``name[0..N]``
  or ``name[1..N]`` and ``meshX`` / ``meshY`` attributes;
* problem: ``problem: {shape: {dimensions, data_spaces, coefficients}, instance: {...}}``;
* mapping: ``mapping:`` (a list, or ``{targets: [...]}``) and ``mapspace_constraints`` /
  ``architecture_constraints`` lists whose factors pin every loop: directives ``temporal``,
  ``spatial`` (``split``), ``dataspace`` / ``bypass`` / ``datatype`` (``keep`` / ``bypass``);
  factors as ``"R=1 P=16"``, ``"C1 M8"`` or ``[R=1, P=16]``; permutations list loops innermost
  first;
* energy and area: Accelergy's ``ERT`` (energy per action, pJ, per *block*) and ``ART`` (area per
  instance, um^2).

Everything here is parsing and checking; turning the result into accelsim's architecture tree,
workload and mapping is :mod:`accelsim.importers.timeloop`. Problems are collected and raised
together, each naming the file and key path; a construct accelsim does not model is listed, never
dropped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import AccelsimError, Problem, SpecError
from ..spec.common import read_text

#: Component classes that store data (Accelergy primitive and compound classes seen in Timeloop's
#: exercises). Anything whose class names a MAC is compute; ``dummy_storage`` is the placeholder
#: Timeloop inserts for a container's spatial fan-out.
STORAGE_CLASSES = ("DRAM", "SRAM", "regfile", "storage", "smartbuffer_SRAM", "smartbuffer_RF",
                   "smartbuffer_metadata", "regfile_metadata", "aladdin_register", "reg_storage",
                   "SRAM_metadata", "dummy_storage")
COMPUTE_CLASSES = ("intmac", "fpmac", "mac", "compute", "intmac_8bit", "mac_compute")
#: Component attributes with a cost effect that accelsim models.
MODELLED_ATTRIBUTES = ("depth", "width", "datawidth", "word-bits", "word_bits", "data_width",
                       "block-size", "block_size", "read_bandwidth", "write_bandwidth",
                       "shared_bandwidth", "multiple_buffering", "meshX", "meshY", "technology",
                       "global_cycle_seconds", "cycle_seconds", "n_instances", "memory_width",
                       "memory_depth", "real_depth")
#: Attributes with no effect on Timeloop's counts or cycles (energy/area come from the ERT/ART, which
#: already reflect them), or Timeloop front-end bookkeeping.
NO_COST_ATTRIBUTES = ("type", "n_banks", "n_rd_ports", "n_wr_ports", "n_rdwr_ports", "n_rd_wr_ports",
                      "has_power_gating", "power_gated_at", "cluster_size", "reduction_supported",
                      "min_utilization", "allow_overbooking", "version", "action_latency_cycles",
                      "widthscale", "depthscale", "update_fifo_depth", "multiplier_width",
                      "adder_width", "latency", "num_pipeline_stages", "datawidth_metadata",
                      "metadata_storage_width", "metadata_datawidth", "metadata_storage_depth",
                      "counter_width", "energy_scale", "area_scale", "leak_scale", "vdd")
#: Problem instance keys that are coefficients or padding, not loop bounds.
PAD_KEYS = ("Hpad", "Wpad")


class _Tagged(dict):
    """A mapping read from a ``!Container`` / ``!Component`` / ``!Parallel`` node."""

    tag = ""


def _tag_constructor(tag):
    def construct(loader, node):
        if isinstance(node, yaml.SequenceNode):   # ``!Parallel`` written as a bare list
            out = _Tagged(nodes=loader.construct_sequence(node, deep=True))
        else:
            out = _Tagged(loader.construct_mapping(node, deep=True))
        out.tag = tag
        return out
    return construct


class _TimeloopLoader(yaml.SafeLoader):
    """yaml.SafeLoader plus Timeloop's node tags (``!Container`` ...): a tag only labels a mapping or list;
    it never constructs a Python object."""


# every ``!Tag`` is read as a tagged node; the architecture reader reports tags it does not model
_TimeloopLoader.add_multi_constructor("!", lambda loader, suffix, node: _tag_constructor(suffix)(loader, node))


def load_files(paths) -> tuple[dict, dict]:
    """Merge the top-level keys of Timeloop input files, as Timeloop's front end does. Returns the
    merged dict and, per top-level key, the file it came from."""
    merged: dict = {}
    origin: dict = {}
    for path in paths:
        path = Path(path)
        text = read_text(path)     # refuses FIFOs, devices and huge files before reading
        if "{{" in text or "{%" in text:
            raise AccelsimError(f"{path}: a Jinja2 template; render it first (Timeloop's front end "
                                "writes the rendered input as parsed-processed-input.yaml) and "
                                "import that file")
        try:
            data = yaml.load(text, Loader=_TimeloopLoader)   # noqa: S506 -- a SafeLoader subclass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise AccelsimError(f"{path}: not valid YAML{where}: "
                                f"{getattr(exc, 'problem', None) or str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise AccelsimError(f"{path}: expected a mapping of Timeloop keys (architecture, problem, "
                                f"mapping, ...), got {type(data).__name__}")
        for key, value in data.items():
            if merged.get(key) and value and key not in ("compound_components", "components"):
                raise AccelsimError(f"{path}: {key}: also given in {origin[key]}; pass one of them")
            merged[key] = value
            origin[key] = str(path)
    return merged, origin


# ---------------------------------------------------------------------------------------- arch

@dataclass(frozen=True)
class Level:
    """One component of the architecture, outermost first. ``instances`` counts copies in the
    whole chip (``mesh_x * mesh_y`` of them on a 2-D mesh); sizes are in words of ``word_bits``."""

    name: str
    kind: str                       # "storage" | "compute" | "spatial" (Timeloop's dummy_storage)
    cls: str
    instances: int
    mesh_x: int
    mesh_y: int
    size_words: int | None = None   # None: unbounded (DRAM)
    word_bits: int = 8
    block_size: int = 1
    read_bandwidth: float | None = None    # words per cycle per instance; None: unlimited
    write_bandwidth: float | None = None
    shared_bandwidth: float | None = None
    multiple_buffering: float = 1.0
    technology: str | None = None
    keep: tuple[str, ...] | None = None    # architecture constraints, when given
    bypass: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Arch:
    levels: tuple[Level, ...]
    cycle_seconds: float
    file: str


_RANGE = re.compile(r"^(?P<name>.*?)\[(?P<lo>\d+)\.\.(?P<hi>\d+)\]$")


def _split_range(name: str) -> tuple[str, int]:
    m = _RANGE.match(str(name))
    if not m:
        return str(name), 1
    lo, hi = int(m["lo"]), int(m["hi"])
    return m["name"], hi - lo + 1


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return None
    return None


class _ArchReader:
    def __init__(self, arch: Any, file: str, constraints: list | None):
        self.file = file
        self.problems: list[Problem] = []
        self.levels: list[Level] = []
        self.cycle_seconds = 1e-9
        self.constraints = constraints or []
        self.arch = arch

    def err(self, path: str, message: str):
        self.problems.append(Problem(self.file, path, message))

    def read(self) -> Arch:
        arch = self.arch
        if not isinstance(arch, dict):
            self.err("architecture", "expected a mapping with `nodes` (v0.4) or `subtree` (v0.3)")
        elif "nodes" in arch:
            self._nodes(arch["nodes"], "architecture.nodes", {}, 1, 1)
        elif "subtree" in arch or "local" in arch:
            self._subtree(arch, "architecture", {}, 1, 1)
        else:
            self.err("architecture", "no `nodes` (v0.4) or `subtree`/`local` (v0.3) list")
        if self.problems:
            raise SpecError(self.problems)
        self._apply_constraints()
        self._check()
        if self.problems:
            raise SpecError(self.problems)
        return Arch(tuple(self.levels), float(self.cycle_seconds), self.file)

    # v0.4 --------------------------------------------------------------------------------
    def _nodes(self, nodes, path, inherited, mx, my):
        if not isinstance(nodes, list):
            self.err(path, "expected a list of !Container / !Component / !Parallel nodes")
            return mx, my
        for i, node in enumerate(nodes):
            where = f"{path}[{i}]"
            tag = getattr(node, "tag", "")
            if not isinstance(node, dict):
                self.err(where, "expected a node (mapping)")
                continue
            if tag == "Parallel":
                # side-by-side components: Timeloop orders them as consecutive levels, outermost first
                self._nodes(node.get("nodes", []), where + ".nodes", dict(inherited), mx, my)
                continue
            attrs = dict(inherited)
            attrs.update(node.get("attributes") or {})
            spatial = node.get("spatial") or {}
            if not isinstance(spatial, dict):
                self.err(where + ".spatial", "expected {meshX: N, meshY: M}")
                spatial = {}
            sx = int(_number(spatial.get("meshX", 1)) or 1)
            sy = int(_number(spatial.get("meshY", 1)) or 1)
            unknown = sorted(set(spatial) - {"meshX", "meshY"})
            if unknown:
                self.err(where + ".spatial", f"unsupported keys {unknown}; accelsim reads meshX and meshY")
            if tag == "Container" or (not tag and "class" not in node):
                mx, my = mx * sx, my * sy
                if sx * sy > 1:
                    self.levels.append(Level(name=str(node.get("name", f"container{i}")), kind="spatial",
                                             cls="container", instances=mx * my, mesh_x=mx, mesh_y=my))
                    self._node_constraints(node, where, self.levels[-1].name)
                for key in ("technology", "global_cycle_seconds"):
                    if key in (node.get("attributes") or {}):
                        inherited[key] = node["attributes"][key]
                continue
            if tag not in ("Component", ""):
                self.err(where, f"unsupported node !{tag}; accelsim reads !Container, !Component and !Parallel")
                continue
            name, _ = _split_range(node.get("name", f"component{i}"))
            self._component(name, node, attrs, where, mx * sx, my * sy)
            self._node_constraints(node, where, name)

    def _node_constraints(self, node, where, name):
        cons = node.get("constraints")
        if not cons:
            return
        if not isinstance(cons, dict):
            self.err(where + ".constraints", "expected a mapping")
            return
        for kind, value in cons.items():
            if kind in ("dataspace", "temporal", "spatial"):
                entry = dict(value or {})
                entry["type"] = "bypass" if kind == "dataspace" else kind
                entry["target"] = name
                self.constraints.append(entry)
            else:
                self.err(where + f".constraints.{kind}", "unsupported constraint kind; accelsim reads "
                         "dataspace, temporal and spatial")

    # v0.3 / Timeloop dump -------------------------------------------------------------------
    def _subtree(self, node, path, inherited, mx, my):
        if isinstance(node, list):
            for i, child in enumerate(node):
                self._subtree(child, f"{path}[{i}]", dict(inherited), mx, my)
            return
        if not isinstance(node, dict):
            self.err(path, "expected a mapping")
            return
        attrs = dict(inherited)
        attrs.update(node.get("attributes") or {})
        name, n = _split_range(node.get("name", ""))
        if n > 1:                               # a container replicated n times
            ax = int(_number(attrs.get("meshX", n)) or n)
            mx, my = mx * ax, my * max(1, n // ax)
            self.levels.append(Level(name=name, kind="spatial", cls="container", instances=mx * my,
                                     mesh_x=mx, mesh_y=my))
        for key in ("technology", "global_cycle_seconds"):
            if key in (node.get("attributes") or {}):
                inherited[key] = node["attributes"][key]
        for i, comp in enumerate(node.get("local") or []):
            where = f"{path}.local[{i}]"
            if not isinstance(comp, dict):
                self.err(where, "expected a component (mapping)")
                continue
            cname, cn = _split_range(comp.get("name", f"component{i}"))
            cattrs = dict(inherited)
            cattrs.update(comp.get("attributes") or {})
            total = cn if cn > 1 else mx * my
            cx = int(_number(cattrs.get("meshX", mx if cn == 1 else cn)) or 1)
            if total % max(cx, 1):
                self.err(where + ".attributes.meshX", f"meshX {cx} does not divide the {total} instances")
                continue
            self._component(cname, comp, cattrs, where, cx, total // max(cx, 1))
        sub = node.get("subtree")
        if sub:
            self._subtree(sub, path + ".subtree", inherited, mx, my)

    # one component -------------------------------------------------------------------------
    def _component(self, name, node, attrs, where, mx, my):
        cls = str(node.get("class", ""))
        subclass = str(node.get("subclass", ""))
        if "global_cycle_seconds" in attrs:
            self.cycle_seconds = float(_number(attrs["global_cycle_seconds"]) or 1e-9)
        known = (*MODELLED_ATTRIBUTES, *NO_COST_ATTRIBUTES)
        for key in (node.get("attributes") or {}):
            if key not in known:
                self.err(f"{where}.attributes.{key}", "attribute accelsim does not model; remove it or "
                         "model it, then re-import (energy and area come from the ERT/ART when given)")
        kinds = {c.lower() for c in (cls, subclass)}
        if kinds & {c.lower() for c in COMPUTE_CLASSES} or "mac" in cls.lower():
            word = _number(attrs.get("datawidth", attrs.get("multiplier_width", attrs.get("width", 8))))
            self.levels.append(Level(name=name, kind="compute", cls=cls, instances=mx * my, mesh_x=mx,
                                     mesh_y=my, word_bits=int(word or 8)))
            return
        if not kinds & {c.lower() for c in STORAGE_CLASSES}:
            self.err(f"{where}.class", f"unknown component class '{cls}'; accelsim reads storage classes "
                     f"{', '.join(STORAGE_CLASSES[:6])}, ... and MAC classes {', '.join(COMPUTE_CLASSES[:3])}")
            return
        if cls == "dummy_storage":
            self.levels.append(Level(name=name, kind="spatial", cls=cls, instances=mx * my, mesh_x=mx,
                                     mesh_y=my))
            return
        word = _number(attrs.get("datawidth", attrs.get("word-bits", attrs.get("word_bits",
                       attrs.get("data_width", 8)))))
        width = _number(attrs.get("width", attrs.get("memory_width", word)))
        block = _number(attrs.get("block-size", attrs.get("block_size", 0))) or (
            int(width) // int(word) if width and word else 1)
        depth = _number(attrs.get("depth", attrs.get("memory_depth")))
        if not word or word <= 0:
            self.err(f"{where}.attributes.datawidth", f"must be a positive number of bits (got {word!r})")
            return
        if block < 1:
            self.err(f"{where}.attributes.width", f"width {width} is narrower than one word of {word} bits")
            return
        size = None if depth is None or cls == "DRAM" else int(depth) * int(block)
        if size is not None and size < 1:
            self.err(f"{where}.attributes.depth", f"must hold at least one word (got depth {depth})")
            return

        def bw(key):
            value = attrs.get(key)
            return None if value in (None, "-", "inf") else float(_number(value) or 0) or None

        self.levels.append(Level(
            name=name, kind="storage", cls=cls, instances=mx * my, mesh_x=mx, mesh_y=my,
            size_words=size, word_bits=int(word), block_size=int(block),
            read_bandwidth=bw("read_bandwidth"), write_bandwidth=bw("write_bandwidth"),
            shared_bandwidth=bw("shared_bandwidth"),
            multiple_buffering=float(_number(attrs.get("multiple_buffering", 1)) or 1),
            technology=str(attrs["technology"]) if attrs.get("technology") not in (None, -1) else None))

    def _apply_constraints(self):
        by_name = {lvl.name: i for i, lvl in enumerate(self.levels)}
        for c in self.constraints:
            if c.get("type") not in ("bypass", "dataspace", "datatype"):
                continue
            i = by_name.get(str(c.get("target")))
            if i is None:
                continue
            lvl = self.levels[i]
            keep = tuple(c.get("keep") or ()) or lvl.keep
            bypass = tuple(c.get("bypass") or ()) or lvl.bypass
            self.levels[i] = Level(**{**lvl.__dict__, "keep": keep, "bypass": bypass})

    def _check(self):
        storage = [lvl for lvl in self.levels if lvl.kind == "storage"]
        compute = [lvl for lvl in self.levels if lvl.kind == "compute"]
        if not storage:
            self.err("architecture", "no storage component (DRAM, SRAM, regfile, ...)")
        if len(compute) != 1:
            self.err("architecture", f"expected exactly one compute component (MAC), found {len(compute)}")
        elif self.levels[-1].kind != "compute":
            self.err("architecture", f"the compute component '{compute[0].name}' must be the innermost node")
        names = [lvl.name for lvl in self.levels]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            self.err("architecture", f"component names repeat: {dups}")


def read_arch(data: dict, origin: dict, constraints: list | None = None) -> Arch:
    if "architecture" not in data:
        raise AccelsimError("no `architecture:` key in the given files; pass the architecture YAML with --arch")
    return _ArchReader(data["architecture"], origin.get("architecture", "architecture"), constraints).read()


# ------------------------------------------------------------------------------------- problem

@dataclass(frozen=True)
class DataSpace:
    name: str
    projection: tuple[tuple[tuple[str, str | None], ...], ...]   # per rank: ((dim, coefficient), ...)
    read_write: bool


@dataclass(frozen=True)
class ProblemSpec:
    name: str
    dimensions: tuple[str, ...]
    bounds: dict
    coefficients: dict
    data_spaces: tuple[DataSpace, ...]
    densities: dict = field(default_factory=dict)
    file: str = ""


def read_problem(data: dict, origin: dict) -> ProblemSpec:
    file = origin.get("problem", "problem")
    problems: list[Problem] = []
    prob = data.get("problem")
    if not isinstance(prob, dict):
        raise AccelsimError("no `problem:` mapping in the given files; pass the problem YAML with --problem")
    shape = prob.get("shape")
    instance = prob.get("instance")
    if not isinstance(shape, dict) or not isinstance(instance, dict):
        raise SpecError([Problem(file, "problem", "expected `shape` and `instance` mappings")])
    dims = tuple(str(d) for d in shape.get("dimensions") or ())
    if not dims:
        problems.append(Problem(file, "problem.shape.dimensions", "expected a list of dimension names"))
    coefficients = {str(c["name"]): c.get("default", 1) for c in shape.get("coefficients") or []
                    if isinstance(c, dict) and "name" in c}
    bounds = {}
    for d in dims:
        value = instance.get(d, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(Problem(file, f"problem.instance.{d}", f"must be an integer >= 1 (got {value!r})"))
        else:
            bounds[d] = value
    densities = instance.get("densities") or {}
    if densities:
        problems.append(Problem(file, "problem.instance.densities", "sparse densities (Sparseloop) are not "
                                "modelled by accelsim's dense engine; remove them to import the dense problem"))
    for key, value in instance.items():
        if key in dims or key == "densities":
            continue
        if key in coefficients or key in PAD_KEYS or key in ("H", "W"):
            if key in coefficients:
                coefficients[key] = value
            continue
        problems.append(Problem(file, f"problem.instance.{key}", "not a dimension or coefficient of the shape"))
    spaces = []
    for i, ds in enumerate(shape.get("data_spaces") or []):
        where = f"problem.shape.data_spaces[{i}]"
        if not isinstance(ds, dict) or "name" not in ds:
            problems.append(Problem(file, where, "expected {name, projection}"))
            continue
        ranks = []
        for rank in ds.get("projection") or []:
            terms = []
            for term in rank if isinstance(rank, list) else [rank]:
                term = term if isinstance(term, list) else [term]
                dim = str(term[0])
                coef = str(term[1]) if len(term) > 1 else None
                if dim not in dims:
                    problems.append(Problem(file, where + ".projection", f"'{dim}' is not a dimension of the shape"))
                if coef is not None and coef not in coefficients:
                    problems.append(Problem(file, where + ".projection", f"coefficient '{coef}' is not declared"))
                terms.append((dim, coef))
            ranks.append(tuple(terms))
        spaces.append(DataSpace(str(ds["name"]), tuple(ranks), bool(ds.get("read_write", False))))
    if len(spaces) != 3:
        problems.append(Problem(file, "problem.shape.data_spaces", f"accelsim imports problems with two "
                                f"inputs and one output (a conv or matmul), got {len(spaces)} data spaces"))
    elif sum(ds.read_write for ds in spaces) != 1:
        problems.append(Problem(file, "problem.shape.data_spaces", "exactly one data space must be "
                                "read_write (the output)"))
    if problems:
        raise SpecError(problems)
    return ProblemSpec(str(shape.get("name", "problem")), dims, bounds, coefficients, tuple(spaces),
                       dict(densities), file)


# ------------------------------------------------------------------------------------- mapping

@dataclass(frozen=True)
class Directive:
    target: str
    type: str                                   # temporal | spatial | bypass
    factors: dict = field(default_factory=dict)
    permutation: tuple[str, ...] = ()           # innermost first, as Timeloop writes it
    split: int | None = None
    suffix: tuple[str, ...] = ()                # a constraint's dims after ``_``: the outermost, innermost first
    keep: tuple[str, ...] | None = None
    bypass: tuple[str, ...] | None = None
    max_factors: dict = field(default_factory=dict)   # ``DIM<=N``: the dim's factor here is at most N
    min_factors: dict = field(default_factory=dict)   # ``DIM>=N``: at least N


_FACTOR = re.compile(r"([A-Za-z_][A-Za-z_0-9]*?)(<=|>=|=)?(\d+)$")


def _factors(value, dims, file, where, problems) -> tuple[dict, dict, dict]:
    """(exact factors ``DIM=N``, max factors ``DIM<=N``, min factors ``DIM>=N``), as Timeloop's
    constraint parser reads a ``factors`` string or list ([timeloop-v4] src/mapping/constraints.cpp,
    ParseFactors / ParseMaxFactors / ParseMinFactors)."""
    items = value if isinstance(value, list) else re.split(r"[\s,]+", str(value or "").strip())
    out: tuple[dict, dict, dict] = ({}, {}, {})
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        m = _FACTOR.match(item.replace(" ", ""))
        if not m or m.group(1) not in dims:
            problems.append(Problem(file, where, f"cannot read factor '{item}' (expected DIM=N, DIM<=N or "
                                    f"DIM>=N with DIM one of {', '.join(dims)})"))
            continue
        if m.group(2) in ("<=", ">=") and int(m.group(3)) <= 0:
            problems.append(Problem(file, where, f"'{item}': a max or min factor must be >= 1"))
            continue
        out[{"<=": 1, ">=": 2}.get(m.group(2), 0)][m.group(1)] = int(m.group(3))
    return out


def _default_factor(d: dict, key: str, dims, file, where, problems) -> dict:
    """``default_max_factor`` / ``default_min_factor``: that bound on every dim not named otherwise."""
    if key not in d:
        return {}
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.append(Problem(file, f"{where}.{key}", f"must be an integer >= 1 (got {value!r})"))
        return {}
    return dict.fromkeys(dims, value)


def _permutation(value, dims, file, where, problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        perm = [str(v) for v in value]
    else:
        text = str(value).replace(" ", "").replace(",", "")
        perm, i = [], 0
        names = sorted(dims, key=len, reverse=True)
        while i < len(text):
            for n in names:
                if text.startswith(n, i):
                    perm.append(n)
                    i += len(n)
                    break
            else:
                problems.append(Problem(file, where, f"cannot read permutation '{value}'"))
                return ()
    bad = [p for p in perm if p not in dims]
    if bad:
        problems.append(Problem(file, where, f"unknown dimensions {bad} in permutation"))
    return tuple(perm)


def level_of_target(target: str, names) -> str | None:
    """The architecture level a mapping directive's ``target`` names: the level itself, or, for
    ``inter_<C>_spatial``, the container ``C``: Timeloop's v0.4 front end names a container's
    fan-out so in the files it writes for Timeloop (the exercises' parsed-processed-input.yaml lists
    ``inter_PE_spatial[1..14]`` under container ``PE``), and timeloop-mapper's map.yaml targets
    it by that name. None if neither is a level."""
    if target in names:
        return target
    m = re.match(r"^inter_(.+)_spatial$", target)
    return m.group(1) if m and m.group(1) in names else None


def target_hint(target: str) -> str:
    """What to add to an unknown-target error when ``target`` is a container fan-out's name."""
    m = re.match(r"^inter_(.+)_spatial$", target)
    if not m:
        return ""
    return (f"; it names container {m.group(1)}'s fan-out, which this architecture lacks: the mapping was "
            "written for another version of it (import the parsed-processed-input.yaml Timeloop wrote beside it)")


def read_mapping(data: dict, origin: dict, dims, key: str | None = None) -> list[Directive]:
    """The mapping directives of ``mapping`` (or, when absent, of the constraint lists)."""
    for k in ([key] if key else ["mapping", "mapspace_constraints", "mapspace", "architecture_constraints"]):
        if k in data:
            key = k
            break
    else:
        return []
    file = origin.get(key, key)
    value = data[key]
    if isinstance(value, dict):
        value = value.get("targets", value.get("mapping", []))
    if not isinstance(value, list):
        raise SpecError([Problem(file, key, "expected a list of directives {target, type, ...}")])
    problems: list[Problem] = []
    out = []
    for i, d in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(d, dict) or "target" not in d or "type" not in d:
            problems.append(Problem(file, where, "expected {target, type, ...}"))
            continue
        kind = str(d["type"])
        if kind in ("dataspace", "datatype", "bypass"):
            out.append(Directive(str(d["target"]), "bypass",
                                 keep=tuple(str(x) for x in d.get("keep") or ()),
                                 bypass=tuple(str(x) for x in d.get("bypass") or ())))
        elif kind in ("temporal", "spatial"):
            unknown = sorted(set(d) - {"target", "type", "factors", "permutation", "split", "default_max_factor",
                                       "default_min_factor"})
            if unknown:
                problems.append(Problem(file, where, f"unsupported keys {unknown}"))
            prefix, _, suffix = str(d.get("permutation") or "").partition("_") \
                if not isinstance(d.get("permutation"), list) else (d["permutation"], "", None)
            exact, most, least = _factors(d.get("factors"), dims, file, where + ".factors", problems)
            most = {**_default_factor(d, "default_max_factor", dims, file, where, problems), **most}
            least = {**_default_factor(d, "default_min_factor", dims, file, where, problems), **least}
            out.append(Directive(str(d["target"]), kind, factors=exact, max_factors=most, min_factors=least,
                                 permutation=_permutation(prefix or None, dims, file, where + ".permutation", problems),
                                 split=int(d["split"]) if "split" in d else None,
                                 suffix=_permutation(suffix or None, dims, file, where + ".permutation", problems)))
        elif kind in ("max_overall_utilization", "utilization"):
            continue   # mapper search constraints: no effect on a pinned mapping
        else:
            problems.append(Problem(file, where + ".type", f"unsupported directive type '{kind}'"))
    if problems:
        raise SpecError(problems)
    return out


# ------------------------------------------------------------------------------ energy and area

def _table_name(table: dict) -> str:
    """``system_top_level.shared_glb[1..1]`` -> ``shared_glb``."""
    name, _ = _split_range(str(table.get("name", "")))
    return name.split(".")[-1]


def read_ert(data: dict, origin: dict) -> dict:
    """{component name: {action: pJ per block access}} from an Accelergy ERT (``ERT.tables``)."""
    ert = data.get("ERT")
    if ert is None:
        return {}
    out: dict = {}
    for table in ert.get("tables", []) if isinstance(ert, dict) else []:
        name = _table_name(table)
        actions = {}
        for action in table.get("actions", []):
            energy = action.get("energy")
            if energy is None:   # older ERTs: a list of argument variants
                variants = action.get("arguments") or []
                energy = variants[0].get("energy") if isinstance(variants, list) and variants else 0.0
            actions[str(action.get("name"))] = float(energy)
        out[name] = actions
    return out


def read_art(data: dict, origin: dict) -> dict:
    """{component name: area um^2 per instance} from an Accelergy ART (``ART.tables``)."""
    art = data.get("ART")
    if art is None:
        return {}
    out = {}
    for table in art.get("tables", []) if isinstance(art, dict) else []:
        out[_table_name(table)] = float(table.get("area", 0.0))
    return out
