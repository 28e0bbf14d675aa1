"""Brute-force oracle for accelsim/kernels/nest.py: execute a loop nest on an architecture tree and
watch every operand's tiles cross every boundary of its path.

Nothing is closed-form and accelsim is not imported (STYLE.md: slow, obviously correct versions).
Small problems only.

Inputs (the kernel's, spelled out):

* ``problem``: ``{"N": .., "M": .., "C": .., "E": .., "F": .., "R": .., "S": .., "stride_h", "stride_w"}``,
  optionally ``"G"`` (groups: every operand's element carries its group; default 1)
  and optionally ``pad_h``, ``pad_w``, ``H``, ``W``, ``dil_h``, ``dil_w``: ifmap element ``(n, c,
  e * stride_h + r * dil_h - pad_h, f * stride_w + s * dil_w - pad_w)``; positions outside ``H`` x
  ``W`` are padding and are not counted.
* ``rows``: ``[(dim, trip, spatial, level), ...]`` outermost first; a dim's value is the mixed-radix
  number of its rows' indices (outermost most significant); trips multiply to the bounds or more (an
  imperfect factorisation): an iteration with some dim's value at or past its bound is *dead* (not
  part of the problem: no MAC, no word).
* ``levels``: ``[{"kind": "storage"|"spatial"|"compute", "keeps": {ops}, "multicast": bool,
  "reduction": bool}, ...]``, outermost first; a storage level's tile is every row of that level and the
  deeper ones (Timeloop's convention: a level's own loops iterate within the tile it holds).
* ``tiles`` (optional): ``{(level, op): row}``, per-operand tile boundaries (ZigZag allocates loops
  to memories operand by operand): op's tile at that level holds the temporal rows from ``row`` on
  and, as always, the spatial rows of the levels below it.

For each operand and each (parent, child) pair of its path (storage levels that keep it, then the
MACs): a *child instance* is one combination of the spatial rows outside the child's tile, a *time
step* one combination of the temporal rows outside it, in nest order. The child's tile at a step is
the set of the operand's coordinates over the live iterations of the rows inside it. A step is
*live* when some live iteration lies under it; dead steps are skipped. The child is (re)filled at a
live step when a *counted* temporal row has a different index than at the previous live step:
counted are the rows relevant to the operand and the irrelevant rows outside the innermost relevant
one (the rule of [timeloop] section V; every temporal row, for the MACs, which keep nothing). A fill
of the child moves the tile's words. The parent's reads (ifmap, filter) and updates (ofmap) count the same steps but with
the spatial rows of multicast (reads) or reducing (updates) levels between parent and child taken
inside the tile: one word serves every instance that needs it. Ofmap read-backs are the words of
an update the parent (or, for fills, the child instance) held before.
"""
from __future__ import annotations

import itertools

DIMS = ("N", "M", "C", "E", "F", "R", "S", "G")
OPS = ("ifmap", "filter", "ofmap")
#: every operand depends on the group G (a group's channels, filters and outputs are its own)
RELEVANT = {"ifmap": set("NCEFRSG"), "filter": set("MCRSG"), "ofmap": set("NMEFG")}


def coords(op, v, problem):
    """The element the MAC at ``v`` touches; None for a dead iteration or an ifmap position in the
    padding (not in memory)."""
    if any(v[d] >= problem.get(d, 1) for d in DIMS):
        return None
    if op == "ifmap":
        h = v["E"] * problem["stride_h"] + v["R"] * problem.get("dil_h", 1) - problem.get("pad_h", 0)
        w = v["F"] * problem["stride_w"] + v["S"] * problem.get("dil_w", 1) - problem.get("pad_w", 0)
        if not (0 <= h < problem.get("H", h + 1) and 0 <= w < problem.get("W", w + 1)):
            return None
        return (v["G"], v["N"], v["C"], h, w)
    if op == "filter":
        return (v["G"], v["M"], v["C"], v["R"], v["S"])
    return (v["G"], v["N"], v["M"], v["E"], v["F"])


def values(rows, index):
    """Each dim's value for one full index vector (mixed radix over the dim's rows)."""
    v = dict.fromkeys(DIMS, 0)
    for (dim, trip, _, _), i in zip(rows, index):
        v[dim] = v[dim] * trip + i
    return v


def cut_of(rows, level):
    return next((i for i, r in enumerate(rows) if r[3] >= level), len(rows))


def tile_rows(rows, level, op, tiles):
    """Whether each row is in op's tile at ``level`` (``len(levels)``: the MACs, no rows)."""
    cut = tiles.get((level, op), cut_of(rows, level))
    return [r[3] > level if r[2] == 1 else i >= cut for i, r in enumerate(rows)]


def boundary(op, problem, rows, levels, parent, child, collapse, tiles):
    """(words moved, read-back words) at one boundary; ``collapse``: None (per child instance),
    'multicast' or 'reduction' (the parent's view)."""
    tile = tile_rows(rows, child, op, tiles)
    inside = [tile[i] or (collapse is not None and r[2] == 1 and parent < r[3] < child and levels[r[3]][collapse])
              for i, r in enumerate(rows)]
    spatial_out = [i for i, r in enumerate(rows) if not inside[i] and r[2] == 1]
    temporal_out = [i for i, r in enumerate(rows) if not inside[i] and r[2] == 0]
    inner = [i for i in range(len(rows)) if inside[i]]
    every = child == len(levels)
    innermost = max([i for i in temporal_out if rows[i][0] in RELEVANT[op]], default=-1)
    counted_out = [i for i in temporal_out if every or i <= innermost]
    moved = readback = 0
    # the parent's instance: spatial rows above the parent; what it held before
    held = {}
    for inst in itertools.product(*(range(rows[i][1]) for i in spatial_out)):
        previous = None
        owner = tuple(x for i, x in zip(spatial_out, inst) if rows[i][3] < (parent if collapse else child))
        seen = held.setdefault(owner, set())
        for step in itertools.product(*(range(rows[i][1]) for i in temporal_out)):
            index = [0] * len(rows)
            for i, x in zip(spatial_out, inst):
                index[i] = x
            for i, x in zip(temporal_out, step):
                index[i] = x
            base = values(rows, index)
            if any(base[d] >= problem.get(d, 1) for d in DIMS):
                continue        # dead: no live iteration under this step
            key = tuple(x for i, x in zip(temporal_out, step) if i in counted_out)
            if not every and key == previous:
                continue
            previous = key
            tile = set()
            for combo in itertools.product(*(range(rows[i][1]) for i in inner)):
                for i, x in zip(inner, combo):
                    index[i] = x
                tile.add(coords(op, values(rows, index), problem))
            tile.discard(None)
            moved += len(tile)
            readback += len(tile & seen)
            seen |= tile
    return moved, readback


def simulate(problem, rows, levels, tiles=None) -> dict:
    """``{(level index, op): {"reads", "fills", "updates", "footprint"}}`` for every storage level
    that keeps op."""
    tiles = tiles or {}
    out = {}
    for op in OPS:
        path = [i for i, lv in enumerate(levels) if lv["kind"] == "storage" and op in lv["keeps"]] + [len(levels)]
        for level in path[:-1]:
            in_tile = tile_rows(rows, level, op, tiles)
            inner = [i for i in range(len(rows)) if in_tile[i]]
            outside = [i for i in range(len(rows)) if not in_tile[i]]
            largest = 0
            for outer in itertools.product(*(range(rows[i][1]) for i in outside)):
                tile = set()
                for combo in itertools.product(*(range(rows[i][1]) for i in inner)):
                    index = [0] * len(rows)
                    for i, x in zip(outside, outer):
                        index[i] = x
                    for i, x in zip(inner, combo):
                        index[i] = x
                    tile.add(coords(op, values(rows, index), problem))
                tile.discard(None)
                largest = max(largest, len(tile))
            out[(level, op)] = {"reads": 0, "fills": 0, "updates": 0, "footprint": largest}
        for parent, child in zip(path, path[1:]):
            mac = child == len(levels)
            if op != "ofmap":
                out[(parent, op)]["reads"] += boundary(op, problem, rows, levels, parent, child, "multicast", tiles)[0]
                if not mac:
                    out[(child, op)]["fills"] += boundary(op, problem, rows, levels, parent, child, None, tiles)[0]
            else:
                up, back = boundary(op, problem, rows, levels, parent, child, "reduction", tiles)
                out[(parent, op)]["updates"] += up
                out[(parent, op)]["reads"] += back
                if not mac:
                    drained, refill = boundary(op, problem, rows, levels, parent, child, None, tiles)
                    out[(child, op)]["reads"] += drained
                    out[(child, op)]["fills"] += refill
    return out


def factorise(n, parts, rng, primes=(2, 3, 5, 7)):
    """n as a product of ``parts`` factors (a random perfect factorisation for the random tests:
    each prime factor of n in ``primes`` dealt to a random part, the rest of n to one more)."""
    out = [1] * parts
    for prime in primes:
        while n % prime == 0:
            n //= prime
            out[rng.randrange(parts)] *= prime
    out[rng.randrange(parts)] *= n
    return out
