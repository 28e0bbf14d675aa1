"""Constraints on the tree mapper's mapspace (``accelsim run --pin FILE``, ``map_layer(pin=...)``).

A pin file names levels of the tree. A level given in the mapping form (``temporal:`` for a storage
level, ``x:`` / ``y:`` for a spatial one; accelsim/loopnest/tree.py) is pinned whole. A level given
with any of the keys below is only constrained, the rest of it searched (Timeloop's mapspace
constraints, [timeloop] section IV; its ``factors`` / ``permutation`` / ``split`` / ``keep`` /
``bypass`` directives read into these keys by accelsim/importers/timeloop_constraints.py):

* storage level: ``factors: {M: 4, C: 0}`` fixes these dims' trips at the level (0: the dim's whole
  bound, as in Timeloop); ``order_inner: [C, M]``: these dims are the level's innermost loops, in
  this order (outermost first); ``order_outer: [N]``: its outermost loops; ``keep`` / ``bypass``:
  operands the level must keep / must bypass (the others of its ``may_bypass`` stay a choice);
* spatial level: ``factors: {M: 4}`` fixes a dim's unrolling at the level (across X and Y
  together), ``x_factors`` / ``y_factors`` on one axis; ``x_dims`` / ``y_dims``: dims that may
  unroll only across X / only across Y;
* either kind: ``max_factors: {M: 8}`` / ``min_factors: {C: 2}``: the dim's trip at a storage
  level (its unrolling across X and Y together at a spatial level) is at most / at least this
  (Timeloop's ``M<=8`` / ``C>=2``, [timeloop-v4] src/mapping/constraints.cpp ParseMaxFactors /
  ParseMinFactors; its mapspace keeps a factorisation only within them, src/mapspaces/ruby.cpp);
* the file (not a level): ``min_utilization: 0.5``: the product over spatial levels of the
  instances used / the instances there (X x Y) is at least this (Timeloop's ``utilization`` /
  ``parallelism`` directive's ``min``: the cumulative fan-out utilization of
  src/mapspaces/ruby.cpp ``AssignSpatialTilingDirections_Level_Expand``).

Dims not named stay free. Every problem of a file is reported at once (file, key path, fix); a
constraint the layer cannot satisfy (a factor that does not divide what is left of its bound,
factors that exceed a fan-out, an operand the level cannot bypass) is an error naming it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import Problem, SpecError, did_you_mean
from ..spec.arch import OPERANDS, ArchTree
from .tree import MAPPING_DIMS

DIMS = MAPPING_DIMS
WHOLE_KEYS = ("temporal", "x", "y")
STORAGE_KEYS = ("factors", "max_factors", "min_factors", "order_inner", "order_outer", "keep", "bypass")
SPATIAL_KEYS = ("factors", "max_factors", "min_factors", "x_factors", "y_factors", "x_dims", "y_dims")
#: a pin file's key (not a level) for the minimum product of the spatial levels' utilizations
UTILIZATION_KEY = "min_utilization"


@dataclass(frozen=True)
class LevelLimits:
    """One level's constraints (module docstring); factor tuples are ((dim, trip), ...)."""

    factors: tuple = ()
    max_factors: tuple = ()
    min_factors: tuple = ()
    x_factors: tuple = ()
    y_factors: tuple = ()
    x_dims: tuple = ()
    y_dims: tuple = ()
    order_inner: tuple = ()
    order_outer: tuple = ()
    keep: tuple = ()
    bypass: tuple = ()


def is_constraint(entry) -> bool:
    """Whether a pin file's level entry constrains the level (rather than pinning it whole)."""
    return isinstance(entry, dict) and bool(entry) and not any(k in entry for k in WHOLE_KEYS)


def split_pins(pin: dict, tree: ArchTree, file: str) -> tuple[dict, dict, float]:
    """(the levels pinned whole, in the mapping form; {level name: LevelLimits}; the minimum
    utilization, 0.0 when not given); all problems at once."""
    whole, limits, problems = {}, {}, []
    levels = {lv.name: lv for lv in tree.levels if lv.kind != "compute"}
    utilization = 0.0
    for name, entry in pin.items():
        if name == UTILIZATION_KEY and name not in levels:
            if isinstance(entry, bool) or not isinstance(entry, (int, float)) or not 0 <= entry <= 1:
                problems.append(Problem(file, name, f"must be a number from 0 to 1: the least fraction of the "
                                                    f"spatial levels' instances a mapping uses (got {entry!r})"))
            else:
                utilization = float(entry)
            continue
        if not is_constraint(entry):
            whole[name] = entry
            continue
        level = levels.get(name)
        if level is None:
            problems.append(Problem(file, str(name), f"no storage or spatial level named {name!r}"
                                                     f"{did_you_mean(name, levels)}; levels: {', '.join(levels)}"))
            continue
        limits[name] = _read_level(level, entry, file, problems)
    if problems:
        raise SpecError(problems)
    return whole, limits, utilization


def _read_level(level, entry: dict, file: str, problems: list) -> LevelLimits:
    allowed = STORAGE_KEYS if level.kind == "storage" else SPATIAL_KEYS
    for key in entry:
        if key not in allowed:
            problems.append(Problem(file, f"{level.name}.{key}", f"unknown key{did_you_mean(key, allowed)}; a "
                                                                 f"{level.kind} level's constraints are "
                                                                 f"{', '.join(allowed)} (or pin it whole with "
                                                                 f"{'temporal' if level.kind == 'storage' else 'x, y'})"))
    out = {}
    for key in allowed:
        if key not in entry:
            continue
        path, value = f"{level.name}.{key}", entry[key]
        if key.endswith("factors"):
            out[key] = _factors(value, path, file, problems, least=key in ("max_factors", "min_factors"))
            if level.kind == "spatial":
                both = tuple(level.unroll_x) + tuple(level.unroll_y)
                axes = {"x_factors": level.unroll_x, "y_factors": level.unroll_y}.get(key, both)
                for dim, f in out[key]:
                    if f != 1 and dim not in axes and key != "max_factors":
                        problems.append(Problem(file, f"{path}.{dim}", f"{level.name} may not unroll {dim} "
                                                                       f"{'there' if key == 'factors' else 'on that axis'}"
                                                                       f" (unroll_x: {', '.join(level.unroll_x)}; "
                                                                       f"unroll_y: {', '.join(level.unroll_y)})"))
        elif key in ("keep", "bypass"):
            if not isinstance(value, list) or any(op not in OPERANDS for op in value):
                problems.append(Problem(file, path, f"must be a list of operands ({', '.join(OPERANDS)}) (got {value!r})"))
                continue
            out[key] = tuple(value)
            if key == "keep":
                problems.extend(Problem(file, path, f"{level.name} does not keep {op} (it keeps "
                                                    f"{', '.join(level.operands)}); remove it")
                                for op in value if op not in level.operands)
            else:
                problems.extend(Problem(file, path, f"{level.name} cannot bypass {op}: add {op} to its may_bypass in "
                                                    "the hw file, or remove it here")
                                for op in value if op in level.operands and op not in level.may_bypass)
        else:
            if not isinstance(value, list) or any(d not in DIMS for d in value) or len(set(value)) != len(value):
                bad = [d for d in value if d not in DIMS] if isinstance(value, list) else []
                problems.append(Problem(file, path, f"must be a list of distinct loop dimensions ({', '.join(DIMS)})"
                                                    + (f"; unknown: {', '.join(map(str, bad))}"
                                                       f"{did_you_mean(bad[0], DIMS)}" if bad else f" (got {value!r})")))
                continue
            out[key] = tuple(value)
    if set(out.get("keep", ())) & set(out.get("bypass", ())):
        problems.append(Problem(file, f"{level.name}.keep", "an operand both kept and bypassed; name it once"))
    if set(out.get("x_dims", ())) & set(out.get("y_dims", ())):
        problems.append(Problem(file, f"{level.name}.x_dims", "a dim only across X and only across Y; name it once"))
    if set(out.get("order_inner", ())) & set(out.get("order_outer", ())):
        problems.append(Problem(file, f"{level.name}.order_inner", "a dim both innermost and outermost; name it once"))
    return LevelLimits(**out)


def _factors(value, path: str, file: str, problems: list, least: bool = False) -> tuple:
    """((dim, factor), ...); ``least``: a max / min factor, at least 1 (else 0 is the whole bound)."""
    if not isinstance(value, dict):
        problems.append(Problem(file, path, f"must be a mapping dim: factor (got {value!r})"))
        return ()
    out = []
    for dim, f in value.items():
        if dim not in DIMS:
            problems.append(Problem(file, f"{path}.{dim}", f"unknown loop dimension {dim!r}{did_you_mean(dim, DIMS)}"))
        elif isinstance(f, bool) or not isinstance(f, int) or f < int(least):
            problems.append(Problem(file, f"{path}.{dim}", ("must be an integer >= 1" if least else
                                    "must be an integer >= 0 (0: the dim's whole bound)") + f" (got {f!r})"))
        else:
            out.append((dim, f))
    return tuple(out)


def bypass_choices(level, limits: LevelLimits | None, subsets: list) -> list:
    """The subsets of ``level``'s may_bypass its constraints allow."""
    if limits is None:
        return subsets
    must = set(limits.bypass) & set(level.may_bypass)
    never = set(limits.keep)
    return [s for s in subsets if must <= set(s) and not never & set(s)]


def dim_limits(space, limits: dict, bounds, left, layer_name: str, file: str):
    """Per dim: (holders, groups): the slots of ``space`` that may take the dim (axis limits
    applied) and the (slot indices, product) each fixed factor asks for; the order limits per
    storage slot {storage slot index: (inner dims, outer dims)} as dim indices; and the factor
    ranges [(dim index, slot indices, least, most)] of ``max_factors`` / ``min_factors``. A fixed
    factor that does not divide what is left of its bound is an error."""
    problems = []
    by_level = {}
    for k, slot in enumerate(space.slots):
        by_level.setdefault(space.tree.levels[slot.level].name, {})[slot.axis] = k
    out, ranges = [], []
    for d, dim in enumerate(DIMS):
        holders = [k for k, s in enumerate(space.slots) if d in s.dims]
        for name, lim in limits.items():
            slots = by_level.get(name, {})
            if dim in lim.x_dims and "y" in slots:
                holders = [k for k in holders if k != slots["y"]]
            if dim in lim.y_dims and "x" in slots:
                holders = [k for k in holders if k != slots["x"]]
        groups = []
        for name, lim in limits.items():
            slots = by_level.get(name, {})
            for key, axes in (("factors", ("t", "x", "y")), ("x_factors", ("x",)), ("y_factors", ("y",))):
                f = dict(getattr(lim, key)).get(dim)
                if f is None:
                    continue
                f = int(bounds[d]) if f == 0 else f
                idx = tuple(holders.index(slots[a]) for a in axes if a in slots and slots[a] in holders)
                if left[d] % f or (not idx and f > 1):
                    problems.append(Problem(file, f"{name}.{key}.{dim}", f"layer {layer_name}: a factor {f} of {dim} "
                                                                         f"does not divide what the other pins leave of "
                                                                         f"its bound ({left[d]}); give a divisor"))
                    continue
                if idx:
                    groups.append((idx, f))
            most, least = dict(lim.max_factors).get(dim), dict(lim.min_factors).get(dim)
            if most is not None or least is not None:
                ranges.append((d, tuple(slots[a] for a in ("t", "x", "y") if a in slots), least or 1,
                               most or int(bounds[d])))
        out.append((holders, groups))
    if problems:
        raise SpecError(problems)
    orders = {}
    for j, k in enumerate(space.storage_slots):
        lim = limits.get(space.tree.levels[space.slots[k].level].name)
        if lim is not None and (lim.order_inner or lim.order_outer):
            orders[j] = (tuple(DIMS.index(d) for d in lim.order_inner), tuple(DIMS.index(d) for d in lim.order_outer))
    return out, orders, ranges


def in_ranges(facts: list, holders: list, ranges: list, d: int) -> list:
    """The factorisations of dim ``d`` (one factor per holder) that meet its factor ranges."""
    mine = [([holders.index(k) for k in slots if k in holders], lo, hi) for dim, slots, lo, hi in ranges if dim == d]
    if not mine:
        return facts
    return [f for f in facts if all(lo <= math.prod(f[i] for i in idx) <= hi for idx, lo, hi in mine)]


def satisfying(facts: list, groups: list) -> list:
    """The factorisations (one factor per holder) in which every group's factors multiply to its product."""
    if not groups:
        return facts
    return [f for f in facts if all(math.prod(f[i] for i in idx) == p for idx, p in groups)]
