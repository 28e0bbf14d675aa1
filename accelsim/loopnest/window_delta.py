"""Timeloop's sliding-window deltas: the ifmap words each storage level of a tree mapping receives
when, as in Timeloop, a child fetches only the words of its new tile that its previous tile did not
hold, and a parent's read serves only the children whose new words are identical.

accelsim's own rule (accelsim/kernels/nest.py) moves a child's whole ifmap tile whenever a loop above
it that indexes the ifmap advances: a window that slides by one row is fetched again whole, and
a multicast delivers each word of the overlapping windows of neighbouring instances once. Timeloop
v3/v4 ([timeloop-v4] ``src/loop-analysis/nest-analysis.cpp``, ``ComputeDeltas`` and
``ComputeTemporalWorkingSet``; ``src/workload/shape-models/operation-space.cpp``,
``SaveAndSubtractIfSameStride``; ``src/loop-analysis/point-set-aahr.cpp``, ``Subtract``) counts
instead, for each child instance and each iteration of the loops above its tile, in execution order:

* the tile is an axis-aligned box of the ifmap's coordinates (n, c, h, w) with
  h = e * stride + r (Timeloop's problem has no padding: an imported layer's input is the padded
  one); its origin moves by a *translation* from one iteration to the next;
* the first tile is moved whole; a zero translation (only loops that do not index the ifmap
  advanced) moves nothing;
* a non-zero translation equal to the last one (or the first after a reset) moves the difference
  of the two boxes: the new slab when they overlap and differ along one coordinate, the whole tile
  otherwise; a translation that differs from the last one (a loop inside wrapped back) discards
  what the child holds ("reset on stride change") and moves the whole tile;
* loops are not executed one iteration at a time: for a loop of trip t Timeloop runs iteration 0,
  then iteration 1 once and counts its accesses t - 1 times ("temporal extrapolation", its
  default), so the tile that follows a loop's last iteration is compared with the tile of its
  iteration 1. This module runs that same recursion (two calls per loop), memoising each call on
  the state it finds (:func:`temporal_words`): at most O(k^3) calls for k loops of trip > 1 above
  the child instead of 2^k tile evaluations.

Spatial instances are translations of instance 0 (perfect factorisations): each fills as many
words as instance 0. A parent's read serves, across a multicast network, the instances below it
that differ only along dimensions that do not index the ifmap (M): their tiles are the same
words; instances along N, C, E/F or R/S are served one read each, also where two of their windows
happen to coincide (Timeloop multicasts the copies a loop over an operand-irrelevant dimension
makes; ``ComputeAccurateMulticastedAccesses``). Across a unicast network every instance is served
alone.

One case is not derived from the source but from Timeloop's reference outputs: where the child's
tile spans a spatial fan-out (a global buffer above a PE array: eyeriss_like,
simple_output_stationary and the ISPASS 2020 Eyeriss VGG layer), Timeloop moves the whole tile at
every non-zero translation; this module does the same there (``whole_tiles``).

Cross-checked against tests/naive_delta.py, which executes every iteration of the nest and applies
the same rules to explicit sets of words, and against Timeloop's reference outputs
(tests/test_timeloop_agreement.py).
"""
from __future__ import annotations

import numpy as np

from ..kernels import loopnest as ln
from ..kernels import nest

#: The ifmap's box coordinates: (n, c, h, w); each dimension's contribution to them.
_COORD = {ln.D_N: 0, ln.D_C: 1, ln.D_E: 2, ln.D_R: 2, ln.D_F: 3, ln.D_S: 3}


def _weights(rows, n_rows):
    """Each row's place value in its dimension (mixed radix, the outermost row most significant)."""
    weight = np.ones(n_rows, dtype=np.int64)
    running = np.ones(7, dtype=np.int64)
    for i in range(n_rows - 1, -1, -1):
        d = rows[i, nest.R_DIM]
        weight[i] = running[d]
        running[d] *= rows[i, nest.R_TRIP]
    return weight


def _steps(rows, n_rows, problem):
    """Per row, the translation of the ifmap box when its index grows by one: (n, c, h, w)."""
    weight = _weights(rows, n_rows)
    step = np.zeros((n_rows, 4), dtype=np.int64)
    for i in range(n_rows):
        d = int(rows[i, nest.R_DIM])
        if d not in _COORD:
            continue
        scale = problem[ln.P_STRIDE_H] if d == ln.D_E else problem[ln.P_STRIDE_W] if d == ln.D_F else 1
        step[i, _COORD[d]] = weight[i] * scale
    return step


def _box(rows, n_rows, cut, problem):
    """The extents (n, c, h, w) of the ifmap box of a tile holding rows ``cut`` onwards."""
    ext = np.ones(7, dtype=np.int64)
    for i in range(cut, n_rows):
        ext[rows[i, nest.R_DIM]] *= rows[i, nest.R_TRIP]
    return np.array([ext[ln.D_N], ext[ln.D_C], (ext[ln.D_E] - 1) * problem[ln.P_STRIDE_H] + ext[ln.D_R],
                     (ext[ln.D_F] - 1) * problem[ln.P_STRIDE_W] + ext[ln.D_S]], dtype=np.int64)


def _new_words(box, translation):
    """Words of a box moved by ``translation`` that the box before did not hold: the box less its
    overlap with the one before (Timeloop's point sets are unions of boxes, ``MultiAAHR``, whose
    difference is exact)."""
    overlap = 1
    for k in range(4):
        overlap *= max(0, int(box[k]) - abs(int(translation[k])))
    return int(np.prod(box)) - overlap


def temporal_words(rows, n_rows, cut, problem, whole_tiles=False) -> int:
    """Ifmap words one instance of a child (tile: rows ``cut`` onwards) receives over the run, by the
    rules of the module docstring: Timeloop's recursion over the temporal rows above the tile, two
    calls per loop (iteration 0, then iteration 1 counted trip - 1 times). ``whole_tiles``: every
    non-zero translation moves the whole tile.

    A call's words and the translation it leaves depend only on its loop, the place of the last
    tile relative to the call's origin and the translation the call finds, and the words of a call
    counted ``epochs`` times are ``epochs`` times those of one; so each call is evaluated once per
    such state (memoised) and scaled, instead of 2^k times for k loops: the same integers. The
    last tile's place is one of the k + 1 tails (``tail``) less a loop's step, the translation kept
    one of those or none, so there are O(k^2) states per loop."""
    box = _box(rows, n_rows, cut, problem)
    tile_words = int(np.prod(box))
    step = _steps(rows, n_rows, problem)
    loops = [i for i in range(cut) if rows[i, nest.R_SPATIAL] == 0 and rows[i, nest.R_TRIP] > 1]
    # where the last tile of a call over loops k.. lies relative to the call's origin: every loop
    # of it at iteration 1
    tail = [(0, 0, 0, 0)] * (len(loops) + 1)
    for k in range(len(loops) - 1, -1, -1):
        tail[k] = tuple(int(a) + int(b) for a, b in zip(tail[k + 1], step[loops[k]]))
    memo = {}

    def arrive(last, previous):
        """(words, translation kept) of a tile arriving at the origin, the last one at ``last``."""
        if last is None:
            return tile_words, previous
        translation = tuple(-x for x in last)
        if not any(translation):
            return 0, previous
        if not whole_tiles and (previous is None or previous == translation):
            return _new_words(box, translation), translation
        return tile_words, None

    def run(k, last, previous):
        """(words, translation kept) of the loops k.. from the origin; ``last``: the last tile's
        place relative to the origin (None before the first), ``previous``: the translation kept."""
        if k == len(loops):
            return arrive(last, previous)
        key = (k, last, previous)
        if key not in memo:
            i = loops[k]
            first, kept = run(k + 1, last, previous)
            moved = tuple(a - int(b) for a, b in zip(tail[k + 1], step[i]))
            rest, kept = run(k + 1, moved, kept)
            memo[key] = (first + (int(rows[i, nest.R_TRIP]) - 1) * rest, kept)
        return memo[key]

    return run(0, None, None)[0]


def ifmap_crossings(rows, n_rows, levels, n_levels, problem) -> dict:
    """``{(parent, child): (parent reads, child fills)}`` of the ifmap for every crossing between
    storage levels of its path (the MACs' reads, one per MAC, are not a sliding window), totals over
    all instances, by the module docstring's rules."""
    path = [lv for lv in range(n_levels) if levels[lv, nest.LV_KIND] == nest.KIND_STORAGE
            and (levels[lv, nest.LV_KEEP_MASK] >> ln.OP_IFMAP) & 1]
    spatial = [i for i in range(n_rows) if rows[i, nest.R_SPATIAL] == 1 and rows[i, nest.R_TRIP] > 1]
    out = {}
    for parent, child in zip(path, path[1:]):
        cut = next((i for i in range(n_rows) if rows[i, nest.R_LEVEL] >= child), n_rows)
        whole_tiles = any(i >= cut for i in spatial)
        per_instance = temporal_words(rows, n_rows, cut, problem, whole_tiles)
        fills, reads = per_instance, per_instance
        for i in spatial:
            level, trip = int(rows[i, nest.R_LEVEL]), int(rows[i, nest.R_TRIP])
            if level < parent:
                fills, reads = fills * trip, reads * trip
            elif level < child:
                fills *= trip
                shared = levels[level, nest.LV_COLLAPSE_READS] == 1 and not ln.RELEVANCE[ln.OP_IFMAP, rows[i, nest.R_DIM]]
                reads *= 1 if shared else trip
        out[(parent, child)] = (reads, fills)
    return out
