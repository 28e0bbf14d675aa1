"""Lower bounds of a bypass choice's cycles and energy over every mapping, so that the tree mapper
(accelsim/loopnest/tree_mapper.py) skips the choices that cannot beat what it has found.

A tree whose storage levels have ``may_bypass`` operands offers one mapspace per *bypass choice*
(which of those operands each level bypasses): ``2^(free operand-levels)`` of them (2^15 on the 2020
ISPASS timeloop+accelergy Eyeriss imported with ``--free-bypass``). The mapper searches the choices
best bound first and skips a choice whose bound is worse than the best mapping found (for the
objective) *and* dominated by a found (cycles, energy) point: no mapping of it could be chosen or
enter the Pareto set, so the result is the one the full enumeration gives.

**The bound** follows how accelsim/kernels/nest.py counts (its module docstring; every figure
per group, times the G groups the nest runs when it does not map them). For each operand, along its
path (the storage levels that keep it, outermost first, then the MACs):

* every crossing between two storage levels moves each word of the operand at least once: the
  parent reads (ifmap, filter) or takes updates of (ofmap) at least ``W`` words and the child fills
  (ifmap, filter) or drains (ofmap) at least ``W``, ``W`` being the operand's words in one tile
  holding the whole layer (the ifmap's touched input positions; :func:`floors`): tiles partition
  the layer, so the words over all tiles are at least the words of their union;
* the crossing into the MACs is read (ifmap, filter) or updated (ofmap) once per MAC whose operand
  lies inside the unpadded tensor, ``N_mac``, except that one access serves every instance of a
  spatial level below the path's last level whose network collapses the operand (multicast or
  systolic reads, spatial reduction of updates: accelsim/loopnest/tree.py ``_arrays``): at least
  ``ceil(N_mac / F)``, ``F`` the product of those levels' fan-outs (X x Y); the ofmap's read-backs
  there are its updates less the first update of each word per instance,
  at least ``ceil(N_mac / F) - W x instances``.

Energy >= G x (MACs x MAC energy + the sum of those accesses x each level's per-word read / write
energy), which is how the mapper prices a candidate (``_Space.costs``). Cycles >= G x ceil(MACs /
the product of every spatial level's fan-out) (the compute steps: one per temporal iteration, at
most every instance busy), and, except under ``timing: zigzag`` (whose bandwidth bounds are reported,
not applied), >= each storage level's bandwidth bound on those accesses
(accelsim/loopnest/tree_timing.py ``bandwidth_cycles``, which only grows with the accesses).
A mapping below its choice's bound would be an engine or bound defect: the mapper checks every
searched choice's Pareto points against it and raises an internal error.
"""
from __future__ import annotations

import math

import numpy as np

from ..kernels import nest
from ..spec.arch import OPERANDS, ArchTree
from .tree import _access_pj
from .tree_timing import bandwidth_cycles

OFMAP = OPERANDS.index("ofmap")
#: a bound is lowered by this relative margin so that float summation order never makes it
#: exceed an equal mapping's energy
MARGIN = 1e-9


def floors(problem: np.ndarray) -> tuple[list, list]:
    """(W, N_mac) per operand (module docstring), counted by the kernel itself on two small trees:
    every loop in one tile below the backing store (W: the backing store's reads of the ifmap and
    filter, its updates of the ofmap), and every loop at a backing store that feeds the MACs
    directly (N_mac)."""
    rows = [(d, int(problem[d]), 0, 1) for d in range(7) if problem[d] > 1]
    groups = max(int(problem[nest.P_GROUPS]), 1)
    if groups > 1:
        rows.append((nest.D_G, groups, 0, 1))
    rows = np.array(rows or [(0, 1, 0, 1)], dtype=np.int64)
    out = []
    for inner in (True, False):
        storage = 2 if inner else 1
        levels = np.zeros((storage + 1, nest.LEVEL_COLS), dtype=np.int64)
        levels[:storage, nest.LV_KIND] = nest.KIND_STORAGE
        levels[:storage, nest.LV_KEEP_MASK] = 7
        levels[storage, nest.LV_KIND] = nest.KIND_COMPUTE
        r = rows.copy()
        r[:, nest.R_LEVEL] = 1 if inner else 0
        counts = np.zeros((1, storage + 1, 3, nest.COUNT_COLS), dtype=np.int64)
        macs = np.zeros(1, dtype=np.int64)
        nest.evaluate_batch(problem, r[None], np.array([len(r)], dtype=np.int64), levels, storage + 1, counts, macs)
        out.append([int(counts[0, 0, k, nest.C_UPDATES if k == OFMAP else nest.C_READS]) for k in range(3)])
    return out[0], out[1]


def most_in_use(tree: ArchTree, bounds, imperfect: bool = False) -> int:
    """At most how many MACs work in one step: the product over the spatial levels' axes of the
    largest product, at most the axis's fan-out, of one factor per dimension the axis may unroll
    (a divisor of the dimension's bound; with ``imperfect``, any factor up to it). Each axis is
    taken on its own (a dimension's factors over several axes need not divide its bound together
    here), so this is at least the mapspace's largest, and the compute steps are at least MACs /
    this."""
    from .tree import MAPPING_DIMS

    out = 1
    for lv in tree.levels:
        if lv.kind != "spatial":
            continue
        for dims, fanout in ((lv.unroll_x, lv.fanout_x), (lv.unroll_y, lv.fanout_y)):
            products = {1}
            for dim in dict.fromkeys(dims):
                if dim not in MAPPING_DIMS:
                    continue
                bound = int(bounds[MAPPING_DIMS.index(dim)])
                factors = range(1, min(bound, fanout) + 1) if imperfect else \
                    [f for f in range(1, min(bound, fanout) + 1) if bound % f == 0]
                products = {p * f for p in products for f in factors if p * f <= fanout}
            out *= max(products)
    return out


def choice_bound(tree: ArchTree, words: list, mac_words: list, macs: int, g: int, table, mac_pj: float,
                 in_use: int | None = None):
    """(cycles, energy_pj) no mapping on ``tree`` (one bypass choice's effective tree) goes below
    (module docstring); ``words`` / ``mac_words``: :func:`floors`; ``macs``: per group; ``in_use``:
    :func:`most_in_use` (default: every instance); energy is 0 without an energy ``table``."""
    levels = tree.levels
    reads, writes = {}, {}
    for k, op in enumerate(OPERANDS):
        path = [i for i, lv in enumerate(levels) if lv.kind == "storage" and lv.keeps(op)]
        for parent, child in zip(path, path[1:]):
            outward, inward = (writes, reads) if k == OFMAP else (reads, writes)
            outward[parent, k] = outward.get((parent, k), 0) + words[k]
            inward[child, k] = inward.get((child, k), 0) + words[k]
        last = path[-1]
        fan = 1
        for lv in levels[last + 1:]:
            if lv.kind != "spatial":
                continue
            collapses = (lv.spatial_reduction and lv.interconnect != "unicast") if k == OFMAP else \
                lv.interconnect in ("multicast", "systolic")
            fan *= lv.fanout_x * lv.fanout_y if collapses else 1
        sent = -(-mac_words[k] // fan)
        if k == OFMAP:
            writes[last, k] = writes.get((last, k), 0) + sent
            reads[last, k] = reads.get((last, k), 0) + max(0, sent - words[k] * levels[last].instances)
        else:
            reads[last, k] = reads.get((last, k), 0) + sent
    pes = math.prod(lv.fanout_x * lv.fanout_y for lv in levels if lv.kind == "spatial") if in_use is None else in_use
    cycles = g * -(-macs // pes)
    energy = g * macs * mac_pj if table is not None else 0.0
    for i, lv in enumerate(levels):
        if lv.kind != "storage":
            continue
        kept = [k for k, op in enumerate(OPERANDS) if lv.keeps(op)]
        if table is not None:
            for k in kept:
                read, write = _access_pj(lv, OPERANDS[k], table)
                energy += g * (reads.get((i, k), 0) * read + writes.get((i, k), 0) * write)
        if kept and tree.timing != "zigzag":
            need = bandwidth_cycles(lv, {OPERANDS[k]: np.array([g * reads.get((i, k), 0)]) for k in kept},
                                    {OPERANDS[k]: np.array([g * writes.get((i, k), 0)]) for k in kept})
            cycles = max(cycles, int(need[0]))
    return cycles, energy * (1 - MARGIN)
