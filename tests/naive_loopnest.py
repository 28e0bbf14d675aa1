"""Brute-force oracle for accelsim/kernels/loopnest.py: execute the loop nest and watch the tiles.

Nothing here is closed-form and accelsim is not imported (as stumpy's tests/naive.py, STYLE.md).
Small problems only: every boundary is simulated by enumerating the whole nest.

The mapping, as in the kernel's module docstring:

* ``problem``: bounds ``N M C E F R S``, ``stride_h``, ``stride_w`` and optionally ``pad_h``,
  ``pad_w``, ``H``, ``W``: ifmap element ``(n, c, h, w)`` with ``h = e * stride_h + r - pad_h``,
  ``w = f * stride_w + s - pad_w``; a position outside ``0 <= h < H``, ``0 <= w < W`` is padding,
  which is not in memory: no tile holds it and no fill moves it.
* ``loops``: ``[(dim, trip), ...]``, outermost first, shared by all operands.
* ``spatial``: ``{"rows": {dim: factor}, "cols": {dim: factor}}``; a PE is one (row, col) pair.
* ``cuts``: ``{"glb": {op: pos}, "rf": {op: pos}}`` for op in ifmap, filter, ofmap; loops at
  positions >= cut lie inside the operand's tile at that level.
* ``keep``: the operands the PEs hold between iterations of the loops above their RF tile (the
  kernel's ``HWL_KEEP_MASK``); default all three.

Values of a dimension (mixed radix). The components of dimension d, outermost first, are: its
temporal loops at positions < min(RF cuts), then its row unrolling, then its column unrolling,
then its temporal loops at positions >= min(RF cuts). Its value is the sum over components of
index x (product of the sizes of the components after it). A point with any value >= its bound
is skipped (partial last tiles of an imperfect factorisation). Every loop of a spatially
unrolled dim must lie above all RF cuts or below all of them (asserted), so that the spatial
position is the same for every operand.

Tiles. For operand op and a boundary with cut position ``cut``, one *iteration* is one
combination of the indices of the loops at positions < cut (in nest order). Its child tile is the
set of op coordinates touched by the in-bound MACs of that iteration: all index values of the
loops at positions >= cut, combined with every PE (whole-array boundaries) or with one PE (the RF
boundary: one tile per PE). Coordinates: ifmap (n, c, h, w), filter (m, c, r, s),
ofmap (n, m, e, f). An iteration that executes no MAC is skipped: it neither fills nor disturbs
the previous tile. (An ifmap tile wholly in the padding is empty but not skipped.)

Fills. Every non-empty iteration is a fill if the child does not keep the operand. Otherwise
whether the tile changed since the previous non-empty iteration at that boundary (per PE at the
RF boundary) is decided by ``refill``:

* ``"relevant"``: a loop above the cut that is relevant to op (the operand's coordinates depend
  on its dim) has a different index. This is the kernel's documented rule (Timeloop's): a tile is
  re-filled whenever a relevant loop above it advances, even when the new window happens to
  cover the same rows (stride 1, E and R advancing together onto the same input rows).
* ``"kernel"`` (default): ``"relevant"`` plus the two over-counts the kernel's docstring
  documents. (1) "An irrelevant loop that wraps while an inner partial tile of a relevant
  dimension leaves the tile unchanged still counts a re-fill": a fill happens when any loop at
  or outside the innermost iterating (trip > 1) relevant loop above the cut has a different
  index, the irrelevant ones included. (2) "PEs idle in a partial spatial tile count as
  re-filled": at the RF boundary, along a dim d that op does not depend on, that is spatially
  unrolled and that has iterating loops above the cut both outside and inside (re-used) that
  innermost relevant loop, a PE counts as in bounds when its own offset along d is (it is in
  the array's first spatial tile) and the rest of the value is, so a PE that has d-values at
  all is filled in every iteration in which PE 0 is.
* ``"content"``: the tile's set of coordinates differs from the previous non-empty tile (what
  an ideal buffer would re-use; it differs from ``"relevant"`` only when a window lands on the
  same rows).

``"content"`` <= ``"relevant"`` <= ``"kernel"`` for every count: each one's fills include the
previous one's and a fill moves the same tile.

A fill moves the tile's number of distinct coordinates. Boundaries: DRAM -> GLB (cut
``cuts["glb"][op]``, whole array; the GLB always keeps), GLB -> array (cut ``cuts["rf"][op]``,
whole array: a word needed by several PEs moves once) and array -> RF (cut ``cuts["rf"][op]``,
per PE, summed over PEs). For the ofmap a fill is a visit of the tile: its words are written back
(``*_ofmap_writes``) and every word visited before at that boundary is read back first
(``*_ofmap_reads``; the first visit of an output needs no read). Footprints are the largest tile
at the boundary (the GLB's: DRAM -> GLB; the RF's: per PE). ``first_load_words`` is the first
ifmap plus the first filter GLB tile, ``last_drain_words`` the last ofmap GLB tile visited.

Time. ``steps`` counts temporal iterations (one combination of all loop indices), decided per
dim; an iteration is a step when every dim passes. With ``lockstep`` (default; the kernel's
documented rule) a dim that is not spatially unrolled passes when its value (PE offset 0) is in
bounds, and a spatially unrolled dim passes when its value with the PE offset and its RF loops
(positions >= min(RF cuts)) at 0 is: the array runs every RF step of a spatial tile in lock-step,
also those in which no PE has an in-bound value (so ceil(bound / (factor x RF extent)) x RF
extent steps). Without ``lockstep`` a step is an iteration in which at least one PE has an
in-bound MAC. With no systolic timing, ``folds`` = 1 and ``cycles_per_fold`` =
``compute_cycles`` = ``steps``.
"""
from __future__ import annotations

import itertools

DIMS = ("N", "M", "C", "E", "F", "R", "S")
OPS = ("ifmap", "filter", "ofmap")
#: The dims each operand's coordinates depend on.
RELEVANT = {"ifmap": set("NCEFRS"), "filter": set("MCRS"), "ofmap": set("NMEF")}
REFILL_RULES = ("kernel", "relevant", "content")


def coords(op, p, problem):
    """The element of operand ``op`` touched by the MAC at point ``p`` (a dict dim -> value); None
    for an ifmap position in the padding."""
    if op == "ifmap":
        h = p["E"] * problem.get("stride_h", 1) + p["R"] - problem.get("pad_h", 0)
        w = p["F"] * problem.get("stride_w", 1) + p["S"] - problem.get("pad_w", 0)
        if not (0 <= h < problem.get("H", h + 1) and 0 <= w < problem.get("W", w + 1)):
            return None
        return (p["N"], p["C"], h, w)
    if op == "filter":
        return (p["M"], p["C"], p["R"], p["S"])
    return (p["N"], p["M"], p["E"], p["F"])


class _Nest:
    """The mapping with every loop's and every PE's contribution to each dimension's value."""

    def __init__(self, problem, loops, spatial, cuts):
        self.bounds = {d: int(problem[d]) for d in DIMS}
        self.problem = problem
        self.loops = [(d, int(t)) for d, t in loops]
        rows = dict(spatial.get("rows", {}))
        cols = dict(spatial.get("cols", {}))
        self.cuts = {level: {op: int(cuts[level][op]) for op in OPS} for level in ("glb", "rf")}
        n = len(self.loops)
        for d, t in self.loops:
            assert d in DIMS and t >= 1, (d, t)
        for op in OPS:
            assert 0 <= self.cuts["glb"][op] <= self.cuts["rf"][op] <= n, (op, self.cuts)
        self.rf_min = min(self.cuts["rf"].values())
        rf_max = max(self.cuts["rf"].values())
        self.spatial_dims = {d for d in DIMS if rows.get(d, 1) * cols.get(d, 1) > 1}
        for d in self.spatial_dims:
            for i, (ld, _) in enumerate(self.loops):
                assert ld != d or i < self.rf_min or i >= rf_max, (
                    f"loop {i} of spatial dim {d} lies between the RF cuts {self.cuts['rf']}")

        # components of each dim, outermost first, and the weight of each in the dim's value
        self.loop_weight = [0] * n
        row_weight = {}
        col_weight = {}
        for d in DIMS:
            comps = [("loop", i, t) for i, (ld, t) in enumerate(self.loops) if ld == d and i < self.rf_min]
            comps += [("row", d, rows.get(d, 1)), ("col", d, cols.get(d, 1))]
            comps += [("loop", i, t) for i, (ld, t) in enumerate(self.loops) if ld == d and i >= self.rf_min]
            weight = 1
            for kind, key, size in reversed(comps):
                if kind == "loop":
                    self.loop_weight[key] = weight
                elif kind == "row":
                    row_weight[d] = weight
                else:
                    col_weight[d] = weight
                weight *= size
            assert weight >= self.bounds[d], f"dim {d}: loops and unrolling cover {weight} < {self.bounds[d]}"

        # PEs: every combination of the per-dim row parts and column parts
        row_dims = [d for d in DIMS if rows.get(d, 1) > 1]
        col_dims = [d for d in DIMS if cols.get(d, 1) > 1]
        self.pes = []
        for row_parts in itertools.product(*(range(rows[d]) for d in row_dims)):
            for col_parts in itertools.product(*(range(cols[d]) for d in col_dims)):
                offset = {d: 0 for d in DIMS}
                for d, k in zip(row_dims, row_parts):
                    offset[d] += k * row_weight[d]
                for d, k in zip(col_dims, col_parts):
                    offset[d] += k * col_weight[d]
                self.pes.append(offset)

    def trips(self, lo, hi):
        return [range(t) for _, t in self.loops[lo:hi]]

    def values(self, indices, pe):
        """dim -> value for the loop indices (positions 0, 1, ...) and a PE."""
        p = dict(pe)
        for i, k in enumerate(indices):
            p[self.loops[i][0]] += k * self.loop_weight[i]
        return p

    def point(self, indices, pe, relaxed=()):
        """The MAC's values, or None when some value is out of bounds. Along a ``relaxed`` dim
        the PE offset and the rest of the value are checked separately (the kernel's over-count
        (2), see the module docstring)."""
        p = self.values(indices, pe)
        for d in DIMS:
            if d in relaxed:
                if pe[d] >= self.bounds[d] or p[d] - pe[d] >= self.bounds[d]:
                    return None
            elif p[d] >= self.bounds[d]:
                return None
        return p

    def tile(self, op, cut, outer, pes, relaxed=()):
        """(the coordinates the iteration's MACs touch, whether it executes a MAC)."""
        touched = set()
        executes = False
        for pe in pes:
            for inner in itertools.product(*self.trips(cut, len(self.loops))):
                p = self.point(outer + inner, pe, relaxed)
                if p is not None:
                    executes = True
                    element = coords(op, p, self.problem)
                    if element is not None:
                        touched.add(element)
        return frozenset(touched), executes

    def boundary(self, op, cut, per_pe, keeps, refill):
        """Walk the iterations above ``cut``, per PE or once for the whole array; ``keeps``: the
        child holds its tile between iterations; ``refill``: how a changed tile is recognised
        (REFILL_RULES). Returns the words filled, the words read back (visited before), and the
        largest, first and last filled tiles."""
        assert refill in REFILL_RULES, refill
        relevant = [i for i in range(cut) if self.loops[i][0] in RELEVANT[op]]
        relaxed = ()
        if refill == "kernel":
            # the innermost iterating loop above the cut that re-fills: relevant, or any if the
            # child does not keep the operand; every loop at or outside it re-fills
            iterating = [i for i in range(cut) if self.loops[i][1] > 1
                         and (self.loops[i][0] in RELEVANT[op] or not keeps)]
            j = max(iterating, default=-1)
            key_positions = list(range(j + 1))
            if per_pe:
                # over-count (2): irrelevant unrolled dims with iterating loops on both sides of j
                def iterates(d, lo, hi):
                    return any(self.loops[i][0] == d and self.loops[i][1] > 1 for i in range(lo, hi))

                relaxed = {d for d in self.spatial_dims - RELEVANT[op]
                           if iterates(d, 0, j + 1) and iterates(d, j + 1, cut)}
        else:
            key_positions = relevant

        groups = [[pe] for pe in self.pes] if per_pe else [self.pes]
        words = reread = largest = 0
        first = last = None
        for pes in groups:
            previous = previous_key = None
            seen = set()
            for outer in itertools.product(*self.trips(0, cut)):
                tile, executes = self.tile(op, cut, outer, pes, relaxed)
                if not executes:
                    continue
                largest = max(largest, len(tile))
                if first is None:
                    first = tile
                key = tile if refill == "content" else tuple(outer[i] for i in key_positions)
                if not keeps or previous is None or key != previous_key:
                    words += len(tile)
                    reread += len(tile & seen)
                    seen |= tile
                    last = tile
                previous, previous_key = tile, key
        return {"words": words, "reread": reread, "largest": largest,
                "first": first or frozenset(), "last": last or frozenset()}

    def steps(self, lockstep):
        """The temporal iterations counted as steps (module docstring, Time)."""
        n = len(self.loops)
        steps = 0
        for indices in itertools.product(*self.trips(0, n)):
            if lockstep:
                zero_pe = {d: 0 for d in DIMS}
                # a spatially unrolled dim's RF loops run in lock-step over its spatial tile
                array_step = tuple(k if i < self.rf_min or self.loops[i][0] not in self.spatial_dims
                                   else 0 for i, k in enumerate(indices))
                p = self.values(array_step, zero_pe)
                steps += all(p[d] < self.bounds[d] for d in DIMS)
            else:
                steps += any(self.point(indices, pe) is not None for pe in self.pes)
        return steps


def simulate(problem, loops, spatial, cuts, keep=OPS, refill="kernel", lockstep=True) -> dict:
    """Execute the mapping; return the counts named as the kernel's OUTPUTS (see the module
    docstring for what each one means here, and for ``refill`` and ``lockstep``)."""
    nest = _Nest(problem, loops, spatial, cuts)

    macs = 0
    for indices in itertools.product(*nest.trips(0, len(nest.loops))):
        macs += sum(nest.point(indices, pe) is not None for pe in nest.pes)
    steps = nest.steps(lockstep)
    out = {"macs": macs, "steps": steps, "folds": 1, "cycles_per_fold": steps, "compute_cycles": steps}

    first_load = 0
    for op in OPS:
        walks = {
            "dram": nest.boundary(op, nest.cuts["glb"][op], False, True, refill),
            "glb": nest.boundary(op, nest.cuts["rf"][op], False, op in keep, refill),
            "rf": nest.boundary(op, nest.cuts["rf"][op], True, op in keep, refill),
        }
        if op == "ofmap":
            for level in ("dram", "glb"):
                out[f"{level}_ofmap_writes"] = walks[level]["words"]
                out[f"{level}_ofmap_reads"] = walks[level]["reread"]
            out["rf_ofmap_drains"] = walks["rf"]["words"]
            out["last_drain_words"] = len(walks["dram"]["last"])
        else:
            for level in ("dram", "glb"):
                out[f"{level}_{op}_reads"] = walks[level]["words"]
            out[f"rf_{op}_fills"] = walks["rf"]["words"]
            first_load += len(walks["dram"]["first"])
        out[f"glb_{op}_footprint"] = walks["dram"]["largest"]
        out[f"rf_{op}_footprint"] = walks["rf"]["largest"]
    out["first_load_words"] = first_load
    return out
