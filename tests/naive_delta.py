"""Brute-force oracle for accelsim/loopnest/window_delta.py: Timeloop's sliding-window deltas, executed
with explicit sets of ifmap words.

Nothing is closed-form and accelsim is not imported (STYLE.md). Inputs as tests/naive_tree.py's:
``problem`` (bounds, ``stride_h``, ``stride_w``; no padding), ``rows`` = [(dim, trip, spatial,
level), ...] outermost first, sorted by level, and ``levels`` (kind, keeps, multicast).

For each pair (parent, child) of the ifmap's path and each child instance (one combination of the
spatial rows above the child), the loops above the child are executed in Timeloop's order: for a
temporal row of trip t, iteration 0, then iteration 1 standing for iterations 1 .. t - 1 (its words
counted t - 1 times). At each step the child's tile is the set of (n, c, h, w) words of the box
spanned by the ifmap coordinates of the rows inside it (Timeloop's tiles are boxes). Against the
previous tile: the translation is the difference of their lowest corners; the first tile moves
whole; a zero translation moves nothing; a translation equal to the last non-zero one since a
reset (or the first after a reset) moves the words of the new set not in the old one; any other
moves the whole tile and resets. Where the child's tile contains a spatial row, every non-zero
translation moves the whole tile. The child's fills are the sum over instances; the parent's reads
count one instance per distinct combination of the spatial rows between parent and child along
dimensions the ifmap depends on or across a unicast level (instances along M under a multicast
level share the read), times every spatial row above the parent.
"""
from __future__ import annotations

import itertools

DIMS = ("N", "M", "C", "E", "F", "R", "S")
IFMAP_DIMS = set("NCEFRS")


def _values(rows, index):
    v = dict.fromkeys(DIMS, 0)
    for (dim, trip, _, _), i in zip(rows, index):
        v[dim] = v[dim] * trip + i
    return v


def _tile(rows, problem, fixed, cut):
    """The box of ifmap words over every index of the rows at ``cut`` onwards, the others at ``fixed``."""
    points = []
    for inner in itertools.product(*(range(t) for _, t, _, _ in rows[cut:])):
        v = _values(rows, tuple(fixed[:cut]) + inner)
        points.append((v["N"], v["C"], v["E"] * problem["stride_h"] + v["R"], v["F"] * problem["stride_w"] + v["S"]))
    low = [min(p[k] for p in points) for k in range(4)]
    high = [max(p[k] for p in points) for k in range(4)]
    box = frozenset(itertools.product(*(range(lo, hi + 1) for lo, hi in zip(low, high))))
    return box, tuple(low)


def child_words(problem, rows, cut, instance):
    """Words one child instance (``instance``: index per spatial row above ``cut``) receives."""
    whole_tiles = any(rows[i][2] for i in range(cut, len(rows)))
    loops = [i for i in range(cut) if not rows[i][2] and rows[i][1] > 1]
    index = [0] * len(rows)
    for i, k in instance.items():
        index[i] = k
    state = {"tile": None, "corner": None, "translation": None}

    def arrive(weight):
        tile, corner = _tile(rows, problem, index, cut)
        previous, last_corner = state["tile"], state["corner"]
        state["tile"], state["corner"] = tile, corner
        if previous is None:
            return weight * len(tile)
        translation = tuple(a - b for a, b in zip(corner, last_corner))
        if not any(translation):
            return 0
        if not whole_tiles and state["translation"] in (None, translation):
            state["translation"] = translation
            return weight * len(tile - previous)
        state["translation"] = None
        return weight * len(tile)

    def run(k, weight):
        if k == len(loops):
            return arrive(weight)
        i = loops[k]
        words = run(k + 1, weight)
        index[i] = 1
        words += run(k + 1, weight * (rows[i][1] - 1))
        index[i] = 0
        return words

    return run(0, 1)


def simulate(problem, rows, levels):
    """``{(parent, child): (parent reads, child fills)}`` of the ifmap (module docstring)."""
    path = [i for i, lv in enumerate(levels) if lv["kind"] == "storage" and "ifmap" in lv["keeps"]]
    out = {}
    for parent, child in zip(path, path[1:]):
        cut = next((i for i, r in enumerate(rows) if r[3] >= child), len(rows))
        above = [i for i in range(cut) if rows[i][2]]
        fills = 0
        served = {}
        for combo in itertools.product(*(range(rows[i][1]) for i in above)):
            instance = dict(zip(above, combo))
            words = child_words(problem, rows, cut, instance)
            fills += words
            # the read is shared by instances that differ only along M under multicast levels
            key = tuple(k for i, k in instance.items()
                        if rows[i][3] < parent or rows[i][0] in IFMAP_DIMS or not levels[rows[i][3]]["multicast"])
            served[key] = words
        out[(parent, child)] = (sum(served.values()), fills)
    return out
