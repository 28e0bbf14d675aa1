"""Mappings on architecture trees of any depth, and their costs: counts per level and operand,
cycles under every level's bandwidth, energy per level (accelsim/kernels/nest.py does the counting).

A :class:`TreeMapping` gives each storage level its temporal loops (outermost first) and each
spatial level its unrolling across X and Y, by level name, e.g. in YAML::

    DRAM:         {temporal: [[M, 2], [C, 2]]}
    GlobalBuffer: {temporal: [[E, 14], [F, 14]]}
    PEs:          {x: {M: 4}, y: {C: 4}}
    PEBuffers:    {temporal: [[E, 4], [F, 4], [R, 3], [S, 3]]}

Levels left out have no loops (trip 1). Dimensions: N, M, C, E, F, R, S and the groups G (a mapping
with loops over G maps every group in one nest; one without is one group's nest, run G times). A storage level may also list ``bypass: [ifmap]``: operands
of its ``may_bypass`` that skip it under this mapping, and ``tile_loops: {ifmap: 2}``: per-operand tile
boundaries, as ZigZag allocates loops to memories operand by operand (the ifmap's tile at this level
holds the innermost 2 temporal loops of the whole nest, counted over every level's ``temporal`` list
in order, trip-1 loops included, plus the spatial unrolling below the level; the other operands' tiles
start at the level's own loops). An operand's tiles may not grow down its path. The importers' list form, one entry per level
(``[{level: DRAM, temporal: [[M, 2]]}, {level: PEs, spatial_x: [[M, 4]], spatial_y: []}, ...]``),
is read too. Every dimension's trips and factors multiply to its bound, or to more (an imperfect
factorisation, as Timeloop's and ZigZag's mappers allow: the last tile of the dimension is partial,
and the iterations past the bound are not part of the problem; accelsim/kernels/nest.py counts
them exactly), none larger than the bound; the unrolling respects each
spatial level's ``unroll_x`` / ``unroll_y`` and fan-out; every storage level's tile fits its
capacity (half of it when double-buffered). Cycles (accelsim/loopnest/tree_timing.py) = max(compute
steps + systolic fill and drain + the transfers each storage level does not hide (all of them when
single-buffered, the first load and last drain when double-buffered), each storage level's
accesses / (its bandwidth x ports x instances) ([timeloop] section V-C) and each network's words /
its bandwidth); ``timing: throughput`` (Timeloop's model) keeps only the bandwidth bounds.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import AccelsimError, Problem, SpecError, did_you_mean
from ..kernels import loopnest as ln
from ..kernels import nest
from ..spec.arch import OPERANDS, ArchTree, unrolling_problems
from ..spec.energy import EnergyTable
from ..spec.workload import Layer
from ..table import Table, concat
from .conventions import energy_pj, timeloop_counts
from .conventions_zigzag import apply_zigzag, energy_by_port
from .mapper import problem_array
from .tree_timing import bounds_of, timing_batch

#: loop dimensions of a tree mapping: the conv's seven and the groups G (accelsim/kernels/nest.py)
MAPPING_DIMS = ln.DIMS + ("G",)
DIM_INDEX = {d: i for i, d in enumerate(MAPPING_DIMS)}
ACCESS_COLUMNS = ("layer", "level", "operand", "reads", "writes", "fills", "updates", "energy_pj",
                  "bandwidth_cycles")


@dataclass(frozen=True)
class TreeMapping:
    """``temporal``: ((level name, ((dim, trip), ...)), ...); ``spatial``: ((level name, x, y), ...)
    with x and y ((dim, factor), ...)."""

    temporal: tuple = ()
    spatial: tuple = ()
    bypass: tuple = ()
    tiles: tuple = ()           # ((level name, ((operand, innermost temporal loops), ...)), ...)

    def bypassed(self, name: str) -> tuple:
        """Operands that storage level ``name`` bypasses under this mapping (from its ``may_bypass``)."""
        return next((ops for level, ops in self.bypass if level == name), ())

    def uses_groups(self) -> bool:
        """Whether the mapping has loops or unrolling over the groups G (then G is a dimension of
        the nest; otherwise a grouped layer is one group's nest, run G times)."""
        return any(d == "G" for _, loops in self.temporal for d, _ in loops) or \
            any(d == "G" for _, x, y in self.spatial for d, _ in x + y)

    def tile_loops_of(self, name: str) -> dict:
        """Operand -> the innermost temporal loops of the nest in its tile at storage level ``name``,
        for the operands with a tile boundary of their own there (``tile_loops``)."""
        return dict(next((pairs for level, pairs in self.tiles if level == name), ()))

    def loops_of(self, name: str) -> tuple:
        return next((loops for level, loops in self.temporal if level == name), ())

    def extents(self) -> dict:
        """Each dimension's (MAPPING_DIMS) product of trips and spatial factors over the whole nest."""
        product = dict.fromkeys(MAPPING_DIMS, 1)
        for _, loops in self.temporal:
            for dim, trip in loops:
                product[dim] *= trip
        for _, x, y in self.spatial:
            for dim, factor in x + y:
                product[dim] *= factor
        return product

    def unrolling_of(self, name: str) -> tuple:
        return next(((x, y) for level, x, y in self.spatial if level == name), ((), ()))

    def as_dict(self) -> dict:
        """The YAML form (module docstring), readable back by :func:`tree_mapping_from_dict`."""
        out = {}
        for name, loops in self.temporal:
            out[name] = {"temporal": [[d, t] for d, t in loops]}
        for name, x, y in self.spatial:
            out[name] = {"x": [[d, f] for d, f in x], "y": [[d, f] for d, f in y]}
        for name, ops in self.bypass:
            if ops:
                out.setdefault(name, {})["bypass"] = list(ops)
        for name, pairs in self.tiles:
            out.setdefault(name, {})["tile_loops"] = dict(pairs)
        return out

    def describe(self, tree: ArchTree) -> str:
        parts = []
        for lv in tree.levels:
            if lv.kind == "storage":
                skip = f" | bypass {' '.join(self.bypassed(lv.name))}" if self.bypassed(lv.name) else ""
                skip += "".join(f" | {op} tile {k} loops" for op, k in self.tile_loops_of(lv.name).items())
                parts.append(f"{lv.name}[{' '.join(f'{d}{t}' for d, t in self.loops_of(lv.name)) or '-'}{skip}]")
            elif lv.kind == "spatial":
                x, y = self.unrolling_of(lv.name)
                parts.append(f"{lv.name}[x {' '.join(f'{d}{f}' for d, f in x) or '-'} | "
                             f"y {' '.join(f'{d}{f}' for d, f in y) or '-'}]")
        return " ".join(parts)


def tree_mapping_from_dict(data, tree: ArchTree, file: str = "<mapping>") -> TreeMapping:
    """Read a mapping's YAML form; unknown levels, dims and keys are reported together."""
    problems: list[Problem] = []
    if isinstance(data, list):
        data = _from_level_list(data, file)
    if not isinstance(data, dict):
        raise SpecError([Problem(file, "", "must be a mapping of level names to loops")])
    names = {lv.name: lv for lv in tree.levels if lv.kind != "compute"}
    temporal, spatial, bypass, tiles = [], [], [], []

    def dims(path, pairs):
        out = []
        for dim, trip in pairs:
            if dim not in DIM_INDEX:
                problems.append(Problem(file, path, f"unknown loop dimension {dim!r}{did_you_mean(dim, MAPPING_DIMS)}"))
            elif isinstance(trip, bool) or not isinstance(trip, int) or trip < 1:
                problems.append(Problem(file, f"{path}.{dim}", f"must be an integer >= 1 (got {trip!r})"))
            else:
                out.append((dim, trip))
        return tuple(out)

    for name, entry in data.items():
        level = names.get(name)
        if level is None:
            problems.append(Problem(file, str(name), f"no storage or spatial level named {name!r}"
                                                     f"{did_you_mean(name, names)}; levels: {', '.join(names)}"))
            continue
        entry = entry or {}
        allowed = ("temporal", "bypass", "tile_loops") if level.kind == "storage" else ("x", "y")
        for key in entry:
            if key not in allowed:
                problems.append(Problem(file, f"{name}.{key}", f"unknown key{did_you_mean(key, allowed)}; a "
                                                               f"{level.kind} level takes {', '.join(allowed)}"))
        if level.kind == "storage":
            skip = entry.get("bypass", []) or []
            if not isinstance(skip, list) or any(op not in level.may_bypass for op in skip):
                problems.append(Problem(file, f"{name}.bypass", f"must list operands of {name}'s may_bypass "
                                                                f"({', '.join(level.may_bypass) or 'none'}) (got {skip!r})"))
            elif skip:
                bypass.append((name, tuple(op for op in OPERANDS if op in skip)))
            own = entry.get("tile_loops", {}) or {}
            if not isinstance(own, dict):
                problems.append(Problem(file, f"{name}.tile_loops", "must map operands to a number of loops "
                                                                    f"(e.g. {{ifmap: 2}}) (got {own!r})"))
                own = {}
            pairs = []
            for op, k in own.items():
                if op not in level.operands:
                    problems.append(Problem(file, f"{name}.tile_loops.{op}", f"{name} keeps "
                                            f"{', '.join(level.operands)}{did_you_mean(str(op), level.operands)}"))
                elif isinstance(k, bool) or not isinstance(k, int) or k < 0:
                    problems.append(Problem(file, f"{name}.tile_loops.{op}", f"must be a number of loops >= 0 (got {k!r})"))
                else:
                    pairs.append((op, k))
            if pairs:
                tiles.append((name, tuple(sorted(pairs, key=lambda pair: OPERANDS.index(pair[0])))))
            raw = entry.get("temporal", [])
            if not isinstance(raw, list) or not all(isinstance(p, list) and len(p) == 2 for p in raw):
                problems.append(Problem(file, f"{name}.temporal", "must be a list of [dim, trip] pairs"))
                continue
            temporal.append((name, dims(f"{name}.temporal", raw)))
        else:
            axes = []
            for axis in ("x", "y"):
                raw = entry.get(axis, {}) or {}
                if isinstance(raw, list) and all(isinstance(p, list) and len(p) == 2 for p in raw):
                    raw = [tuple(p) for p in raw]
                elif isinstance(raw, dict):
                    raw = list(raw.items())
                else:
                    problems.append(Problem(file, f"{name}.{axis}", "must be a mapping dim: factor"))
                    raw = []
                axes.append(dims(f"{name}.{axis}", raw))
            spatial.append((name, axes[0], axes[1]))
    if problems:
        raise SpecError(problems)
    return TreeMapping(temporal=tuple(temporal), spatial=tuple(spatial), bypass=tuple(bypass), tiles=tuple(tiles))


def effective_tree(tree: ArchTree, mapping: TreeMapping) -> ArchTree:
    """``tree`` with the operands ``mapping`` bypasses (``bypass:``, from ``may_bypass``) removed
    from their levels: the tree the mapping's counts are taken on."""
    if not any(ops for _, ops in mapping.bypass):
        return tree
    levels = tuple(replace(lv, operands=tuple(op for op in lv.operands if op not in mapping.bypassed(lv.name)))
                   if lv.kind == "storage" and mapping.bypassed(lv.name) else lv for lv in tree.levels)
    return replace(tree, levels=levels)


def _from_level_list(entries: list, file: str) -> dict:
    """The importers' list form, one entry per tree level: ``{level, temporal, spatial_x, spatial_y}``
    (accelsim/importers/timeloop.py), as the by-name form."""
    out = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or "level" not in entry:
            raise SpecError([Problem(file, f"[{index}]", "must be a mapping with a level name and its loops")])
        loops = {}
        if entry.get("temporal"):
            loops["temporal"] = entry["temporal"]
        if entry.get("spatial_x") or entry.get("spatial_y"):
            loops["x"] = entry.get("spatial_x") or []
            loops["y"] = entry.get("spatial_y") or []
        if entry.get("tile_loops"):
            loops["tile_loops"] = entry["tile_loops"]
        out[entry["level"]] = loops
    return out


@dataclass(frozen=True)
class TreeCost:
    """One layer's mapping on a tree: ``counts[level name][operand]`` = dict(reads, fills, updates,
    writes, footprint_words) over all instances and groups; cycles (accelsim/loopnest/tree_timing.py:
    ``compute_cycles`` includes ``fill_drain_cycles``; ``bandwidth_cycles[level]`` every storage
    level's and bounded network's bandwidth bound; ``exposed_cycles[level]`` the transfers a storage
    level does not hide; ``stall_by_level`` the stall per level, summing to ``stall_cycles``;
    ``network_words[level]`` the words each spatial level's network moves; ``latency_parts``, under
    ``timing: zigzag``, ZigZag's parts: ``ideal``, ``stall`` (its ports'), ``onloading``, ``offloading``,
    ``systolic_drain``, accelsim/loopnest/timing_zigzag.py) and energy."""

    macs: int
    compute_cycles: int
    total_cycles: int
    stall_cycles: int
    binding_level: str
    bandwidth_cycles: dict
    counts: dict
    energy_pj: dict
    mac_energy_pj: float
    fill_drain_cycles: int = 0
    exposed_cycles: dict = field(default_factory=dict)
    stall_by_level: dict = field(default_factory=dict)
    network_words: dict = field(default_factory=dict)
    latency_parts: dict = field(default_factory=dict)

    @property
    def total_energy_pj(self) -> float:
        return self.mac_energy_pj + sum(sum(ops.values()) for ops in self.energy_pj.values())


def _arrays(tree: ArchTree, mapping: TreeMapping):
    rows, levels = [], np.zeros((len(tree.levels), nest.LEVEL_COLS), dtype=np.int64)
    for index, lv in enumerate(tree.levels):
        if lv.kind == "storage":
            levels[index, nest.LV_KIND] = nest.KIND_STORAGE
            levels[index, nest.LV_KEEP_MASK] = sum(1 << k for k, op in enumerate(OPERANDS) if lv.keeps(op))
            for dim, trip in mapping.loops_of(lv.name):
                rows.append((DIM_INDEX[dim], trip, 0, index))
        elif lv.kind == "spatial":
            levels[index, nest.LV_KIND] = nest.KIND_SPATIAL
            levels[index, nest.LV_COLLAPSE_READS] = lv.interconnect in ("multicast", "systolic")
            levels[index, nest.LV_COLLAPSE_UPDATES] = lv.spatial_reduction and lv.interconnect != "unicast"
            for axis in mapping.unrolling_of(lv.name):
                for dim, factor in axis:
                    rows.append((DIM_INDEX[dim], factor, 1, index))
        else:
            levels[index, nest.LV_KIND] = nest.KIND_COMPUTE
    row_array = np.array(rows or [(0, 1, 0, 0)], dtype=np.int64).reshape(-1, 4)
    return row_array, len(rows), levels


def tile_cuts(tree: ArchTree, mapping: TreeMapping, rows: np.ndarray, n_rows: int, file: str = "<mapping>"):
    """The kernel's per-operand tile boundaries (accelsim/kernels/nest.py ``evaluate_tiles``):
    ``cuts[level, op]`` the first of the temporal rows in op's tile at that level, -1 where the level's
    own cut holds; None for a mapping without ``tile_loops``. ``tree`` is the effective tree (after
    bypass). Checks each ``tile_loops`` (at most the nest's temporal loops, never on the backing
    store, kept by the level, no larger than the operand's tile at the level above nor smaller than
    at the level below); all problems together."""
    if not mapping.tiles:
        return None
    temporal = [i for i in range(n_rows) if rows[i, nest.R_SPATIAL] == 0]
    index = {lv.name: i for i, lv in enumerate(tree.levels)}
    cuts = np.full((len(tree.levels), 3), -1, dtype=np.int64)
    problems = []

    def loops(level: int, op: str) -> int:      # the innermost temporal loops in op's tile at the level
        own = mapping.tile_loops_of(tree.levels[level].name)
        return own[op] if op in own else sum(1 for i in temporal if rows[i, nest.R_LEVEL] >= level)

    for name, pairs in mapping.tiles:
        level = index[name]
        for op, k in pairs:
            where = f"{name}.tile_loops.{op}"
            if level == 0:
                problems.append(Problem(file, where, f"{name} is the backing store: its tiles hold the whole nest; "
                                                     "remove tile_loops there"))
            elif not tree.levels[level].keeps(op):
                problems.append(Problem(file, where, f"{name} does not keep {op} under this mapping (bypassed); "
                                                     "remove it"))
            elif k > len(temporal):
                problems.append(Problem(file, where, f"{k} loops, but the mapping has {len(temporal)} temporal "
                                                     "loops; give at most that"))
            else:
                cuts[level, OPERANDS.index(op)] = temporal[len(temporal) - k] if k else n_rows
    if problems:
        raise SpecError(problems)
    for k, op in enumerate(OPERANDS):
        path = [index[lv.name] for lv in tree.path(op)]
        for parent, child in zip(path, path[1:]):
            if loops(child, op) > loops(parent, op):
                problems.append(Problem(file, f"{tree.levels[child].name}.tile_loops.{op}",
                                        f"the {op} tile at {tree.levels[child].name} holds the innermost "
                                        f"{loops(child, op)} temporal loops, more than at {tree.levels[parent].name} "
                                        f"above it ({loops(parent, op)}); an operand's tiles may not grow down "
                                        "its path"))
    if problems:
        raise SpecError(problems)
    return cuts


def check_mapping(tree: ArchTree, layer: Layer, mapping: TreeMapping, problem, file: str = "<mapping>") -> None:
    """Each dimension's trips and factors cover its bound (their product at least the bound, none
    larger than it) and the unrolling rules; all problems together."""
    problems = unrolling_problems(tree, {name: {"x": dict(x), "y": dict(y)} for name, x, y in mapping.spatial},
                                  file, path="")
    problems = [Problem(p.file, p.key_path.lstrip("."), p.message) for p in problems]
    bounds = dict(zip(MAPPING_DIMS, bounds_of(problem)))
    product = mapping.extents()
    for dim in MAPPING_DIMS:
        if product[dim] < bounds[dim]:
            problems.append(Problem(file, dim, f"the trips and factors of {dim} multiply to {product[dim]}, less "
                                               f"than its bound {bounds[dim]} in layer {layer.name}; give "
                                               "factors whose product is at least the bound"))
    for where, pairs in ([(name, loops) for name, loops in mapping.temporal]
                         + [(f"{name}.{axis}", pairs) for name, x, y in mapping.spatial
                            for axis, pairs in (("x", x), ("y", y))]):
        for dim, trip in pairs:
            if trip > bounds[dim]:
                fix = ("map G only for a grouped layer" if dim == "G" and layer.groups == 1 else "lower it")
                problems.append(Problem(file, f"{where}.{dim}", f"{trip} exceeds {dim}'s bound {bounds[dim]} in "
                                                                f"layer {layer.name}; {fix}"))
    if problems:
        raise SpecError(problems)


def _capacity_problems(tree: ArchTree, counts, file: str, layer: Layer) -> list:
    problems = []
    for index, lv in enumerate(tree.levels):
        if lv.kind != "storage" or index == 0:
            continue
        usable = 0.5 if lv.double_buffered else 1.0
        bits = {op: int(counts[index, k, nest.C_FOOTPRINT]) * lv.word_bits[op]
                for k, op in enumerate(OPERANDS) if lv.keeps(op)}
        if lv.size_bits_by_operand is None:
            if sum(bits.values()) > lv.size_bits * usable:
                problems.append(Problem(file, lv.name, f"layer {layer.name}: the tiles need {sum(bits.values())} "
                                                       f"bits but {lv.name} holds {int(lv.size_bits * usable)}"
                                                       f"{' (half, double-buffered)' if lv.double_buffered else ''}; "
                                                       "move loops of this level outwards"))
        else:
            for op, need in bits.items():
                have = lv.size_bits_by_operand[op] * usable
                if need > have:
                    problems.append(Problem(file, f"{lv.name}.{op}", f"layer {layer.name}: the {op} tile needs "
                                                                     f"{need} bits but {lv.name} holds {int(have)} "
                                                                     "for it; move loops of this level outwards"))
    return problems


def _access_pj(lv, op: str, table: EnergyTable) -> tuple[float, float]:
    """(read, write) pJ of one word of ``op`` at storage level ``lv``."""
    from ..energy import sram_access_pj
    bits = lv.word_bits[op]
    if lv.energy_class == "dram":
        read, write, per = table.dram.read_pj, table.dram.write_pj, table.dram_bits
    elif lv.energy_class == "rf":
        read, write, per = table.rf[op].read_pj, table.rf[op].write_pj, table.rf_bits
    else:
        total = lv.size_bits if lv.size_bits_by_operand is None else lv.size_bits_by_operand[op]
        read, write = sram_access_pj(table, total / 8192)
        per = table.sram_bits
    read, write = read * bits / per, write * bits / per
    if lv.read_energy_pj is not None and lv.read_energy_pj[op] is not None:
        read = lv.read_energy_pj[op]
    if lv.write_energy_pj is not None and lv.write_energy_pj[op] is not None:
        write = lv.write_energy_pj[op]
    return read, write


def evaluate_tree(tree: ArchTree, layer: Layer, mapping: TreeMapping, table: EnergyTable | None = None,
                  file: str = "<mapping>") -> TreeCost:
    """Counts, cycles and energy of ``mapping`` for ``layer`` on ``tree`` (module docstring)."""
    problem = problem_array(layer, dilated_windows=True)
    # a mapping with loops over G maps every group (G is its eighth dimension); else one group's
    # nest, run G times
    g = layer.groups
    if mapping.uses_groups():
        problem[ln.P_GROUPS], g = layer.groups, 1
    check_mapping(tree, layer, mapping, problem, file)
    tree = effective_tree(tree, mapping)
    rows, n_rows, levels = _arrays(tree, mapping)
    counts = np.zeros((len(tree.levels), 3, nest.COUNT_COLS), dtype=np.int64)
    cuts = tile_cuts(tree, mapping, rows, n_rows, file)
    if cuts is not None and tree.counting == "timeloop":
        raise SpecError([Problem(file, "tile_loops", f"{tree.file or tree.name} counts as Timeloop does, which "
                                                     "has one tile per level; per-operand tiles need counting "
                                                     "accelsim or zigzag")])
    if cuts is None:
        macs = nest.evaluate_tree(problem, rows, n_rows, levels, len(tree.levels), counts)
    else:
        macs = int(nest.evaluate_tiles(problem, rows, n_rows, levels, len(tree.levels), cuts, counts))
    problems = _capacity_problems(tree, counts, file, layer)
    if problems:
        raise SpecError(problems)
    timing = timing_batch(tree, problem, rows[None, :n_rows] if n_rows else rows[None, :0], counts[None],
                          np.array([macs], dtype=np.int64), g, cuts)
    out, energy = {}, {}
    for index, lv in enumerate(tree.levels):
        if lv.kind != "storage":
            continue
        ops = {}
        for k, op in enumerate(OPERANDS):
            if lv.keeps(op):
                c = {"reads": g * int(counts[index, k, nest.C_READS]), "fills": g * int(counts[index, k, nest.C_FILLS]),
                     "updates": g * int(counts[index, k, nest.C_UPDATES]),
                     "footprint_words": int(counts[index, k, nest.C_FOOTPRINT])}
                c["writes"] = c["fills"] + c["updates"]
                ops[op] = c
        out[lv.name] = ops
    if tree.counting == "timeloop":
        out = timeloop_counts(tree, mapping, out, layer.N * layer.M * layer.E * layer.F, (rows, n_rows, levels), problem, g)
    elif tree.counting == "zigzag":
        group_words = int(problem[ln.D_N] * problem[ln.D_M] * problem[ln.D_E] * problem[ln.D_F])
        drained = {}
        out = apply_zigzag(tree, mapping, out, group_words * layer.groups // g, g, problem=problem, drained=drained)
    if table is not None and tree.counting == "zigzag":
        energy = energy_by_port(tree, out, drained, lambda lv, op: _access_pj(lv, op, table))
    elif table is not None:
        energy = energy_pj(tree, out, lambda lv, op: _access_pj(lv, op, table),
                           mapping if tree.counting == "timeloop" else None)
    mac = tree.compute
    mac_pj = 0.0
    if table is not None:
        per_mac = mac.energy_pj if mac.energy_pj is not None else table.mac_pj.get(mac.precision)
        if per_mac is None:
            raise AccelsimError(f"{table.file or table.name}: mac_pj.{mac.precision}: no MAC energy for "
                                f"{mac.precision} (needed by {tree.file or tree.name}); add it or set energy_pj")
        mac_pj = g * macs * per_mac
    compute, total = int(timing.compute[0]), int(timing.total[0])
    return TreeCost(macs=g * int(macs), compute_cycles=compute, total_cycles=total, stall_cycles=total - compute,
                    binding_level=timing.binding(0),
                    bandwidth_cycles={name: int(v[0]) for name, v in timing.bound.items()}, counts=out,
                    energy_pj=energy, mac_energy_pj=mac_pj, fill_drain_cycles=int(timing.fill_drain[0]),
                    exposed_cycles={name: int(v[0]) for name, v in timing.exposed.items()},
                    stall_by_level={name: int(v[0]) for name, v in timing.stall.items() if v[0]},
                    network_words={name: int(v[0]) for name, v in timing.network_words.items()},
                    latency_parts={name: int(v[0]) for name, v in timing.parts.items()})


def accesses_frame(layer_name: str, cost: TreeCost) -> Table:
    """The tidy per-level table: one row per (level, operand) with ``ACCESS_COLUMNS`` (an
    accelsim.table.Table; ``.to_pandas()`` for a DataFrame)."""
    rows = []
    for level, ops in cost.counts.items():
        for op, c in ops.items():
            rows.append(dict(zip(ACCESS_COLUMNS, (layer_name, level, op, c["reads"], c["writes"], c["fills"],
                                                  c["updates"], cost.energy_pj.get(level, {}).get(op, 0.0),
                                                  cost.bandwidth_cycles[level]))))
    return Table.from_records(rows, columns=ACCESS_COLUMNS)


def load_tree_mappings(data, tree: ArchTree, layers, file: str = "<mapping>") -> dict:
    """Per-layer mappings from a mapping file: ``{layers: {layer name: mapping}}`` (the form
    ``mappings.yaml`` is written in), or one mapping (by name or the importers' list form) for a
    workload with one MAC layer. Returns {layer name: TreeMapping}."""
    mac_layers = [layer for layer in layers if layer.is_mac]
    if isinstance(data, dict) and set(data) == {"layers"}:
        entries = data["layers"] or {}
        problems = []
        names = {layer.name for layer in mac_layers}
        for name in entries:
            if name not in names:
                problems.append(Problem(file, f"layers.{name}", f"no layer with MACs named {name!r}"
                                                                f"{did_you_mean(name, sorted(names))}"))
        for name in sorted(names - set(entries)):
            problems.append(Problem(file, "layers", f"no mapping for layer {name!r}; add layers.{name}"))
        if problems:
            raise SpecError(problems)
        out = {}
        for name, entry in entries.items():     # every layer's problems in one report
            try:
                out[name] = tree_mapping_from_dict(entry, tree, f"{file}: layers.{name}")
            except SpecError as exc:
                problems.extend(exc.problems)
        if problems:
            raise SpecError(problems)
        return out
    if len(mac_layers) != 1:
        raise AccelsimError(f"{file}: one mapping for a workload of {len(mac_layers)} layers with MACs; give "
                            "`layers: {name: mapping, ...}`, one per layer")
    return {mac_layers[0].name: tree_mapping_from_dict(data, tree, file)}


def mapping_sources(data, layers, file: str) -> dict:
    """Layer name -> where :func:`load_tree_mappings` read its mapping (``FILE: layers.NAME``, or
    the file itself for a one-mapping file), for error messages."""
    if isinstance(data, dict) and set(data) == {"layers"}:
        return {name: f"{file}: layers.{name}" for name in data["layers"] or {}}
    return {layer.name: file for layer in layers if layer.is_mac}


def simulate_tree(tree: ArchTree, workload, mappings: dict, table: EnergyTable | None = None,
                  files: dict | None = None):
    """Every MAC layer of ``workload`` under its pinned mapping on ``tree``: (layers, accesses).
    ``layers``: one row per layer (layers without MACs get zeros and ``unit`` vector / none: the
    vector unit is not part of a tree yet) with the totals and per-level columns
    ``<level>_<operand>_<reads|writes>``, ``stall_<level>_cycles`` (under ``timing: zigzag`` also
    ``port_stall_cycles``, ``onloading_cycles``, ``offloading_cycles``), ``area_mm2_<level>`` and
    ``area_mm2`` (the machine's, :func:`area_mm2`; a level whose area is unknown is empty there and
    left out of the total); ``accesses``: the tidy per-level table
    (:data:`ACCESS_COLUMNS`); both accelsim.table.Tables (no pandas on ``accelsim run``'s path; the
    Python API converts them to DataFrames). ``files``: layer name -> where its mapping came from (a file and key
    path: :func:`mapping_sources`), named in errors; every layer's problems are reported together."""
    rows, frames, problems = [], [], []
    for layer in workload.layers:
        row = {"workload": workload.name, "layer": layer.name, "layer_type": layer.kind, "hw": tree.name,
               "dataflow": "pinned", "unit": layer.unit}
        if not layer.is_mac:
            rows.append({**row, "macs": 0, "compute_cycles": 0, "stall_cycles": 0, "total_cycles": 0})
            continue
        try:
            cost = evaluate_tree(tree, layer, mappings[layer.name], table,
                                 file=(files or {}).get(layer.name, f"mapping of {layer.name}"))
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        row.update(macs=cost.macs, compute_cycles=cost.compute_cycles, stall_cycles=cost.stall_cycles,
                   total_cycles=cost.total_cycles, binding_level=cost.binding_level,
                   pe_utilization=cost.macs / (cost.total_cycles * tree.num_macs),
                   mapping=mappings[layer.name].describe(tree))
        if table is not None:
            row["energy_pj"] = cost.total_energy_pj
            row["energy_pj_mac"] = cost.mac_energy_pj
        row["fill_drain_cycles"] = cost.fill_drain_cycles
        if cost.latency_parts:          # timing: zigzag: ZigZag's parts of the stall
            row.update(port_stall_cycles=cost.latency_parts["stall"], onloading_cycles=cost.latency_parts["onloading"],
                       offloading_cycles=cost.latency_parts["offloading"])
        stalled = cost.bandwidth_cycles.keys() | cost.stall_by_level.keys()
        for level in [lv.name for lv in tree.levels if lv.name in stalled]:   # the tree's order, every run
            row[f"stall_{level}_cycles"] = cost.stall_by_level.get(level, 0)
        for level, ops in cost.counts.items():
            for op, c in ops.items():
                row[f"{level}_{op}_reads"] = c["reads"]
                row[f"{level}_{op}_writes"] = c["writes"]
        rows.append(row)
        frames.append(accesses_frame(layer.name, cost))
    if problems:
        raise SpecError(problems)
    layers = Table.from_records(rows)
    areas = area_mm2(tree)
    layers["area_mm2"] = areas["total"]
    for level, value in areas.items():
        if level != "total":
            layers[f"area_mm2_{level}"] = value
    for col in layers.columns:
        if col.endswith(("_reads", "_writes", "_cycles")) or col == "macs":    # a layer without MACs: 0
            values = layers[col]
            layers[col] = np.where(np.isnan(values), 0, values).astype(np.int64) if values.dtype.kind == "f" \
                else values.astype(np.int64)
    accesses = concat(frames) if frames else Table.from_records([], columns=ACCESS_COLUMNS)
    return layers, accesses


def mappings_document(tree: ArchTree, mappings: dict) -> dict:
    """``mappings.yaml``'s content: ``{layers: {name: mapping}}``, readable back by
    :func:`load_tree_mappings`."""
    return {"layers": {name: mapping.as_dict() for name, mapping in mappings.items()}}


def area_mm2(tree: ArchTree, table=None) -> dict:
    """Area per level (all instances) in mm², and ``total``: accelsim/spec/area.py's rules with
    ``table`` (default: the tree's ``area_table``, accelergy_65nm unless it names another)."""
    from ..spec.area import area_rows, area_table_for
    table = table or area_table_for(tree)
    return {row["level"]: row["area_mm2"] for row in area_rows(tree, table)}
