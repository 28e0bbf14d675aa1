"""The tree mapper's opt-in search of per-operand tile boundaries (``accelsim run --operand-tiles``,
``map_layer(operand_tiles=True)``).

A storage level may give an operand a tile of its own (``tile_loops: {ifmap: 2}``: that operand's
tile at the level holds the nest's innermost 2 temporal loops plus the unrolling below the level;
accelsim/loopnest/tree.py, counted exactly by accelsim/kernels/nest.py ``evaluate_tiles``), as
ZigZag allocates loops to each operand's memories on their own ([zigzag] ``MemoryAllocator``,
``zigzag/opt/loma/memory_allocator.py``). With the shared cut (one tile per level) a small buffer
holds every operand's tile over the same loops; with its own cut, the operand that gains most from
reuse may take more of the level's capacity and another less.

**The mapspace searched** is the loop nest the shared-cut search chose (its factors, orders,
unrolling and bypass kept), with every assignment of per-operand cuts: for each operand and each
level of its path below the backing store, a number of innermost temporal loops from 0 to the
nest's count, not growing down the path (tree.py ``tile_cuts``' rule); the shared cut is one of
them, so the result is never worse than the shared-cut mapping. Each candidate is counted by
:func:`accelsim.loopnest.tree.evaluate_tree` (capacity per operand tile checked there; candidates
that do not fit are dropped). Up to ``limit`` candidates are all evaluated (the optimum of this
mapspace); beyond, the search goes operand by operand, each operand's every assignment with the
others fixed, until a pass over the three improves nothing (a local optimum). Searching tiles and
loop nests together is left out: each per-operand-tile candidate takes the kernel's general count
(about 1 ms), against ~1 µs per shared-cut candidate in the batched search.
"""
from __future__ import annotations

import itertools
import math

from ..errors import AccelsimError, SpecError
from ..spec.arch import OPERANDS, ArchTree
from ..spec.energy import EnergyTable
from ..spec.workload import Layer
from .tree import TreeMapping, effective_tree, evaluate_tree

#: up to this many cut assignments, every one is evaluated
LIMIT = 4096


def _key(objective: str, cycles: int, energy: float):
    if objective == "cycles":
        return (cycles, energy)
    if objective == "energy":
        return (energy, cycles)
    return (cycles * energy, cycles, energy)


def operand_paths(tree: ArchTree, mapping: TreeMapping) -> tuple[int, list]:
    """(the nest's temporal loops, per operand [(level name, its own cut: the loops at the level and
    below), ...] over its path below the backing store)."""
    eff = effective_tree(tree, mapping)
    index = {lv.name: i for i, lv in enumerate(eff.levels)}
    per_level = {name: len(loops) for name, loops in mapping.temporal}
    total = sum(per_level.values())
    paths = []
    for op in OPERANDS:
        levels = [lv.name for lv in eff.path(op)][1:]
        paths.append([(name, sum(n for other, n in per_level.items() if index[other] >= index[name]))
                      for name in levels])
    return total, paths


def assignments(total: int, path: list) -> list:
    """Every cut assignment of one operand over its ``path`` [(level, own cut)]: tuples of loop counts
    from 0 to ``total``, not growing down the path, the own cuts first."""
    own = tuple(cut for _, cut in path)
    every = [c for c in itertools.combinations_with_replacement(range(total, -1, -1), len(path))]
    return [own] + [c for c in every if c != own]


def with_tiles(tree: ArchTree, mapping: TreeMapping, paths: list, cuts: tuple) -> TreeMapping:
    """``mapping`` with the per-operand cuts ``cuts[op]`` where they differ from the level's own,
    levels in ``tree``'s order."""
    by_level = {}
    for op, (path, chosen) in enumerate(zip(paths, cuts)):
        for (name, own), k in zip(path, chosen):
            if k != own:
                by_level.setdefault(name, []).append((OPERANDS[op], k))
    order = {lv.name: i for i, lv in enumerate(tree.levels)}
    tiles = tuple((name, tuple(pairs)) for name, pairs in sorted(by_level.items(), key=lambda p: order[p[0]]))
    return TreeMapping(temporal=mapping.temporal, spatial=mapping.spatial, bypass=mapping.bypass, tiles=tiles)


def search_tiles(tree: ArchTree, layer: Layer, mapping: TreeMapping, table: EnergyTable | None, objective: str,
                 limit: int = LIMIT):
    """(the best mapping, its cost, candidates evaluated, whether every assignment was evaluated)
    over ``mapping``'s per-operand cut assignments (module docstring); ``mapping`` itself (the shared
    cut) wins ties."""
    if tree.counting == "timeloop":
        raise AccelsimError(f"{tree.file or tree.name}: counts as Timeloop does (counting: timeloop), one tile "
                            "per level; per-operand tiles need counting accelsim or zigzag (drop --operand-tiles)")
    total, paths = operand_paths(tree, mapping)
    options = [assignments(total, path) for path in paths]
    seen = {}

    def cost(cuts):
        if cuts not in seen:
            try:
                c = evaluate_tree(tree, layer, with_tiles(tree, mapping, paths, cuts), table)
                seen[cuts] = (_key(objective, c.total_cycles, c.total_energy_pj), c)
            except SpecError:       # a tile that does not fit its level
                seen[cuts] = None
        return seen[cuts]

    best = tuple(o[0] for o in options)
    if cost(best) is None:
        raise AccelsimError(f"{layer.name}: internal error: the shared-cut mapping does not fit; please report it")
    exhaustive = math.prod(len(o) for o in options) <= limit
    if exhaustive:
        for cuts in itertools.product(*options):
            found = cost(cuts)
            if found is not None and found[0] < seen[best][0]:
                best = cuts
    else:
        improved = True
        while improved:
            improved = False
            for op in range(3):
                for mine in options[op]:
                    cuts = best[:op] + (mine,) + best[op + 1:]
                    found = cost(cuts)
                    if found is not None and found[0] < seen[best][0]:
                        best, improved = cuts, True
    return with_tiles(tree, mapping, paths, best), seen[best][1], len(seen), exhaustive
