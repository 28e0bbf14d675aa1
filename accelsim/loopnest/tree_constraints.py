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
  unroll only across X / only across Y.

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
STORAGE_KEYS = ("factors", "order_inner", "order_outer", "keep", "bypass")
SPATIAL_KEYS = ("factors", "x_factors", "y_factors", "x_dims", "y_dims")


@dataclass(frozen=True)
class LevelLimits:
    """One level's constraints (module docstring); factor tuples are ((dim, trip), ...)."""

    factors: tuple = ()
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


def split_pins(pin: dict, tree: ArchTree, file: str) -> tuple[dict, dict]:
    """(the levels pinned whole, in the mapping form; {level name: LevelLimits}); all problems at once."""
    whole, limits, problems = {}, {}, []
    levels = {lv.name: lv for lv in tree.levels if lv.kind != "compute"}
    for name, entry in pin.items():
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
    return whole, limits


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
            out[key] = _factors(value, path, file, problems)
            if level.kind == "spatial":
                axes = {"x_factors": level.unroll_x, "y_factors": level.unroll_y,
                        "factors": tuple(level.unroll_x) + tuple(level.unroll_y)}[key]
                for dim, f in out[key]:
                    if f != 1 and dim not in axes:
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


def _factors(value, path: str, file: str, problems: list) -> tuple:
    if not isinstance(value, dict):
        problems.append(Problem(file, path, f"must be a mapping dim: factor (got {value!r})"))
        return ()
    out = []
    for dim, f in value.items():
        if dim not in DIMS:
            problems.append(Problem(file, f"{path}.{dim}", f"unknown loop dimension {dim!r}{did_you_mean(dim, DIMS)}"))
        elif isinstance(f, bool) or not isinstance(f, int) or f < 0:
            problems.append(Problem(file, f"{path}.{dim}", f"must be an integer >= 0 (0: the dim's whole bound) "
                                                           f"(got {f!r})"))
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
    applied) and the (slot indices, product) each fixed factor asks for; and the order limits per
    storage slot {storage slot index: (inner dims, outer dims)} as dim indices. A fixed factor
    that does not divide what is left of its bound is an error."""
    problems = []
    by_level = {}
    for k, slot in enumerate(space.slots):
        by_level.setdefault(space.tree.levels[slot.level].name, {})[slot.axis] = k
    out = []
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
        out.append((holders, groups))
    if problems:
        raise SpecError(problems)
    orders = {}
    for j, k in enumerate(space.storage_slots):
        lim = limits.get(space.tree.levels[space.slots[k].level].name)
        if lim is not None and (lim.order_inner or lim.order_outer):
            orders[j] = (tuple(DIMS.index(d) for d in lim.order_inner), tuple(DIMS.index(d) for d in lim.order_outer))
    return out, orders


def satisfying(facts: list, groups: list) -> list:
    """The factorisations (one factor per holder) in which every group's factors multiply to its product."""
    return [f for f in facts if all(math.prod(f[i] for i in idx) == p for idx, p in groups)]
