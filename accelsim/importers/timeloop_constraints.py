"""Timeloop's mapspace constraints as the tree mapper's constraints (``accelsim run --pin FILE``).

A Timeloop v0.4 constraints file (``constraints:``, ``architecture_constraints:`` or
``mapspace_constraints:``, each ``{targets: [...]}`` or a list), or a Timeloop mapping file
(``mapping:``, e.g. a ``timeloop-mapper.map.yaml``: the same directives; a complete one pins the whole
mapping, one that leaves levels or dims out pins part of it; the directives of
accelsim/importers/timeloop_files.py's :func:`read_mapping`) becomes the pin form of
accelsim/loopnest/tree_constraints.py, on a tree whose level names are Timeloop's (as ``accelsim
import timeloop`` writes them, or a tree of the user's with those names):

============================================  ==================================================
Timeloop directive ([timeloop-v4] mapspace    accelsim constraint
constraints)
============================================  ==================================================
``type: temporal`` on a storage level          ``factors`` (``0``: the whole bound, Timeloop's
                                               reading since v0.4); ``permutation`` (innermost
                                               first) -> ``order_inner`` (outermost first), the
                                               dims after ``_`` -> ``order_outer``
``type: spatial`` on a storage level (its      ``x_factors`` for the dims of ``permutation``
fan-out below) or a container                  before ``split``, ``y_factors`` after it,
                                               ``factors`` for the others; ``x_dims`` /
                                               ``y_dims``: the dims on each side of ``split``
``type: bypass`` (``keep`` / ``bypass``)       ``keep`` / ``bypass`` (data spaces as operands)
``DIM<=N`` / ``DIM>=N`` in ``factors``,        ``max_factors`` / ``min_factors`` on the same
``default_max_factor`` / ``default_min_factor`` level (spatial: the fan-out below a storage level)
``type: utilization`` (or ``parallelism``),    ``min_utilization`` (the file's key): Timeloop
``min: F``, on the innermost storage level     accepts it only there ([timeloop-v4] src/mapping/
                                               constraints.cpp ``FindTargetTilingLevel``)
============================================  ==================================================

Dimension names are the file's ``problem`` (when it has one) read as a conv
(accelsim/importers/timeloop_problem.py), else Timeloop's CNN names: N, C, M (or K) output
channels, P, Q output rows and columns, R, S filter rows and columns. A temporal or bypass directive
on a container (which holds nothing) is accepted only when it asks nothing (all factors 1, nothing
kept). Unknown levels, dims and directive types are errors naming the file and key path.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import Problem, SpecError
from . import timeloop_files as tf
from .timeloop_problem import import_problem

KEYS = ("constraints", "architecture_constraints", "mapspace_constraints", "mapping")
#: Timeloop's CNN-layer dimension names (its cnn-layer problem shape) -> accelsim's dims.
CNN_DIMS = {"N": "N", "C": "C", "M": "M", "K": "M", "P": "E", "Q": "F", "R": "R", "S": "S"}
ROLES = {"Inputs": "ifmap", "Weights": "filter", "Outputs": "ofmap"}


def is_timeloop(data) -> bool:
    """Whether a pin file's content is a Timeloop constraints or mapping file (a ``mapping:`` key
    holding Timeloop directives, not a level of accelsim's form named ``mapping``)."""
    if not isinstance(data, dict):
        return False
    if any(key in data for key in KEYS[:3]):
        return True
    value = data.get("mapping")
    value = value.get("targets", value.get("mapping")) if isinstance(value, dict) else value
    return isinstance(value, list) and all(isinstance(d, dict) and "target" in d for d in value)


def read(path, tree) -> dict:
    """The pin form (accelsim/loopnest/tree_constraints.py) of the Timeloop constraints in ``path``
    on ``tree``; all problems at once."""
    data, origin = tf.load_files([Path(path)])
    file = str(path)
    dim_map, roles = dict(CNN_DIMS), dict(ROLES)
    if isinstance(data.get("problem"), dict):
        problem = import_problem(tf.read_problem(data, origin))
        dim_map, roles = dict(problem.dim_map), dict(problem.roles)
    directives, problems, out = [], [], {}
    for key in KEYS:
        raw = data.get(key)
        raw = raw.get("targets", []) if isinstance(raw, dict) else raw
        label = f"{key}.targets" if isinstance(data.get(key), dict) else key
        for i, d in enumerate(raw if isinstance(raw, list) else []):
            if isinstance(d, dict) and d.get("type") == "max_overall_utilization":
                problems.append(Problem(file, f"{label}[{i}].type", f"{d['type']} constraints are not supported by "
                                                                    "accelsim's mapper; remove the directive"))
            elif isinstance(d, dict) and d.get("type") in ("utilization", "parallelism"):
                utilization = _utilization(d, tree, file, f"{label}[{i}]", problems)
                if utilization is not None:
                    out["min_utilization"] = max(out.get("min_utilization", 0.0), utilization)
    for key in KEYS:
        if data.get(key):
            label = f"{key}.targets" if isinstance(data[key], dict) else key
            try:
                directives.extend((label, i, d) for i, d in enumerate(tf.read_mapping(data, origin, tuple(dim_map), key)))
            except SpecError as err:
                problems.extend(err.problems)
    levels = [lv for lv in tree.levels if lv.kind != "compute"]
    names = {lv.name: i for i, lv in enumerate(levels)}
    for key, i, d in directives:
        where = f"{key}[{i}]"
        target = tf.level_of_target(d.target, names)
        if target is None:
            problems.append(Problem(file, f"{where}.target", f"'{d.target}' is not a level of {tree.file or tree.name} "
                                                             f"(levels: {', '.join(names)}); name one of them"
                                                             f"{tf.target_hint(d.target)}"))
            continue
        d = replace(d, target=target)
        level = levels[names[d.target]]
        factors, unused = {}, []
        for dim, f in d.factors.items():
            if dim in dim_map:
                factors[dim_map[dim]] = f
            elif f > 1:
                unused.append(dim)
        if unused:
            problems.append(Problem(file, f"{where}.factors", f"factors on {', '.join(unused)}, which the problem does "
                                                              f"not have (its dims: {', '.join(dim_map)})"))
        bounds = {key_: {dim_map[x]: f for x, f in getattr(d, key_).items() if x in dim_map}
                  for key_ in ("max_factors", "min_factors")}
        bounds = {key_: v for key_, v in bounds.items() if v}
        mapped = lambda dims: [dim_map[x] for x in dims if x in dim_map]   # noqa: E731
        if d.type == "bypass":
            keep = [roles.get(x) for x in d.keep or ()]
            bypass = [roles.get(x) for x in d.bypass or ()]
            if None in keep + bypass:
                problems.append(Problem(file, where, f"unknown data spaces; use {', '.join(roles)}"))
                continue
            if level.kind == "spatial":
                if keep:
                    problems.append(Problem(file, f"{where}.keep", f"{d.target} is a fan-out (a container), which "
                                                                   "keeps nothing; remove keep"))
                continue
            entry = out.setdefault(d.target, {})
            entry["keep"] = sorted(set(entry.get("keep", [])) | set(keep))
            entry["bypass"] = sorted(set(entry.get("bypass", [])) | set(bypass))
            for k in ("keep", "bypass"):
                if not entry[k]:
                    del entry[k]
        elif d.type == "temporal":
            if level.kind == "spatial":
                if any(f != 1 for f in factors.values()) or bounds.get("min_factors"):
                    problems.append(Problem(file, f"{where}.factors", f"{d.target} is a fan-out (a container), which "
                                                                      "has no temporal loops; put them on a storage level"))
                continue
            entry = out.setdefault(d.target, {})
            if factors:
                entry.setdefault("factors", {}).update(factors)
            for key_, v in bounds.items():
                entry.setdefault(key_, {}).update(v)
            if d.permutation:
                entry["order_inner"] = list(reversed(_distinct(mapped(d.permutation))))
            if d.suffix:
                entry["order_outer"] = list(reversed(_distinct(mapped(d.suffix))))
        else:
            target = level if level.kind == "spatial" else _fanout_below(tree, level)
            if target is None:
                problems.append(Problem(file, f"{where}.target", f"{d.target} has no fan-out below it in "
                                                                 f"{tree.file or tree.name}; a spatial directive "
                                                                 "targets a level with instances below it"))
                continue
            entry = out.setdefault(target.name, {})
            order = list(d.permutation) + list(d.suffix)
            if d.split is not None:
                x_side, y_side = set(mapped(order[:d.split])), set(mapped(order[d.split:]))
                entry["x_dims"] = sorted(x_side - y_side, key=list(CNN_DIMS.values()).index)
                entry["y_dims"] = sorted(y_side - x_side, key=list(CNN_DIMS.values()).index)
            else:
                x_side = y_side = set()
            for dim, f in factors.items():
                key_ = "x_factors" if dim in x_side else "y_factors" if dim in y_side else "factors"
                entry.setdefault(key_, {})[dim] = f
            for key_, v in bounds.items():
                entry.setdefault(key_, {}).update(v)
    if problems:
        raise SpecError(problems)
    return out


def _utilization(d: dict, tree, file: str, where: str, problems: list):
    """A ``utilization`` / ``parallelism`` directive's ``min``, or None (a problem added): Timeloop
    takes it on the innermost storage level only, as the product over the spatial levels of the
    instances used / available ([timeloop-v4] src/mapspaces/ruby.cpp)."""
    innermost = [lv.name for lv in tree.levels if lv.kind == "storage"][-1]
    value = d.get("min")
    if d.get("target") != innermost:
        problems.append(Problem(file, f"{where}.target", f"a {d.get('type')} constraint targets the innermost "
                                                         f"storage level ({innermost}), as in Timeloop "
                                                         f"(got {d.get('target')!r})"))
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        problems.append(Problem(file, f"{where}.min", f"must be a number from 0 to 1 (got {value!r})"))
    else:
        return float(value)
    return None


def _distinct(dims: list) -> list:
    seen, out = set(), []
    for d in dims:
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out


def _fanout_below(tree, level):
    """The spatial level right below storage ``level`` (Timeloop's spatial directive on a storage
    level describes the fan-out under it; ``accelsim import timeloop`` names it ``<level>_fanout``)."""
    index = tree.levels.index(level)
    below = tree.levels[index + 1] if index + 1 < len(tree.levels) else None
    return below if below is not None and below.kind == "spatial" else None
