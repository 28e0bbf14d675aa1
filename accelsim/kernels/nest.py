"""Access counts of one mapping on an architecture tree of any depth (numba): N storage levels, M
spatial levels, per-operand paths with bypass.

The mapping is one list of *rows*, outermost first, built level by level down the tree
(accelsim/loopnest/tree.py): a storage level contributes its temporal loops, a spatial level its
unrolling factors (``rows[i] = (dim, trip, is_spatial, tree_level)``). A storage level's tile holds
every row at or after its ``cut`` (its own first row): as in Timeloop, a level's loops iterate
within the tile it holds, delivering the tiles of the levels below. Every operand moves along its *path*, the storage levels that keep it,
outermost (the backing store) first, then the MACs.

For each pair (parent, child) of an operand's path, the words that cross are counted by Timeloop's
reuse rule ([timeloop] section V): the child's tile is moved again whenever a temporal loop above it
that is relevant to the operand advances, and for every iteration of the irrelevant temporal loops
outside the innermost relevant one; irrelevant loops inside it re-use the tile. A spatial row above
the child is a set of instances, each with its own copy (replicas of an irrelevant dimension are
each filled; a relevant dimension's instances hold different data). Between parent and child, a
multicast or systolic network delivers one parent read to every instance that needs the word
(its rows count as inside the tile for the parent's reads), and a network with spatial reduction
adds the instances' partial sums before they reach the parent; a unicast network does neither.
The MACs keep nothing: the innermost level is read once per MAC (per multicast group). The ifmap's
tile extent is the sliding window ``(e - 1) * stride + r`` (``e * r`` when the stride skips rows).

Exact for perfect factorisations (every dimension's trips multiply to its bound), which
accelsim/loopnest/tree.py requires, as Timeloop does by default; tests/naive_tree.py executes the
nest and checks every count. Column layouts are the ``R_*``, ``LV_*`` and ``C_*`` constants below.
"""
from __future__ import annotations

import numpy as np

from .jit import njit
from .loopnest import (D_C, D_E, D_F, D_N, D_R, D_S, OP_IFMAP, OP_OFMAP, P_IN_H, P_IN_W, P_PAD_H, P_PAD_W,
                       P_STRIDE_H, P_STRIDE_W, RELEVANCE)
from .systolic import touched

# rows: one per loop or spatial factor, outermost first
R_DIM, R_TRIP, R_SPATIAL, R_LEVEL = range(4)
# levels: one per tree level, outermost first
(LV_KIND, LV_CUT, LV_KEEP_MASK, LV_COLLAPSE_READS, LV_COLLAPSE_UPDATES) = range(5)
LEVEL_COLS = 5
KIND_STORAGE, KIND_SPATIAL, KIND_COMPUTE = 0, 1, 2
# counts per (storage level, operand)
C_READS, C_FILLS, C_UPDATES, C_FOOTPRINT = range(4)
COUNT_COLS = 4


@njit(cache=True, inline="always")
def _window(e, r, stride):
    return min((e - 1) * stride + r, e * r)


@njit(cache=True)
def tile_extents(rows, n_rows, inside, problem, ext):
    """``ext[d]``: the product of the trips of dimension d's rows flagged ``inside``."""
    for d in range(7):
        ext[d] = 1
    for i in range(n_rows):
        if inside[i]:
            ext[rows[i, R_DIM]] *= rows[i, R_TRIP]


@njit(cache=True)
def tile_words(op, ext, problem):
    """Words of operand ``op`` in a tile with extents ``ext`` (the ifmap: its window)."""
    if op == OP_IFMAP:
        return (ext[D_N] * ext[D_C] * _window(ext[D_E], ext[D_R], problem[P_STRIDE_H])
                * _window(ext[D_F], ext[D_S], problem[P_STRIDE_W]))
    words = 1
    for d in range(7):
        if RELEVANCE[op, d]:
            words *= ext[d]
    return words


@njit(cache=True)
def crossing(op, rows, n_rows, inside, every_iteration, problem, ext):
    """Words of ``op`` that cross one boundary: the tile (rows flagged ``inside``) times the times it
    is moved (the module docstring's rule; ``every_iteration``: the child keeps nothing, so every
    iteration of a temporal loop above it moves the tile)."""
    tile_extents(rows, n_rows, inside, problem, ext)
    # innermost temporal row outside the tile that is relevant (or any, if the child keeps nothing)
    j = -1
    for i in range(n_rows):
        if (not inside[i] and rows[i, R_SPATIAL] == 0 and rows[i, R_TRIP] > 1
                and (every_iteration or RELEVANCE[op, rows[i, R_DIM]] == 1)):
            j = i
    total = 1
    if op == OP_IFMAP:
        for pair in range(2):
            de = D_E if pair == 0 else D_F
            dr = D_R if pair == 0 else D_S
            stride = problem[P_STRIDE_H] if pair == 0 else problem[P_STRIDE_W]
            pad = problem[P_PAD_H] if pair == 0 else problem[P_PAD_W]
            size = problem[P_IN_H] if pair == 0 else problem[P_IN_W]
            ne, nr = problem[de] // ext[de], problem[dr] // ext[dr]
            contiguous = _contiguous(rows, n_rows, inside, de) and _contiguous(rows, n_rows, inside, dr)
            if contiguous and pad == 0 and (problem[de] - 1) * stride + problem[dr] <= size:
                total *= ne * nr * _window(ext[de], ext[dr], stride)
            elif contiguous:
                # tiles at the border read padding, which is not in memory: count each tile's
                # positions inside the input
                words = 0
                for t in range(ne):
                    for u in range(nr):
                        words += touched(ext[de], ext[dr], stride, 1, pad - t * ext[de] * stride - u * ext[dr], size)
                total *= words
            else:
                total *= _strided_window(rows, n_rows, inside, de, dr, stride, pad, size)
        total *= problem[D_N] * problem[D_C]
    else:
        for d in range(7):
            if RELEVANCE[op, d]:
                total *= problem[d]
    for i in range(n_rows):
        if inside[i] or rows[i, R_TRIP] == 1 or RELEVANCE[op, rows[i, R_DIM]] == 1:
            continue
        if rows[i, R_SPATIAL] == 1 or i < j or every_iteration:
            total *= rows[i, R_TRIP]
    return total


@njit(cache=True)
def _largest_window(ext, problem, pair):
    """Input rows (pair 0) or columns (pair 1) of the largest tile: the window, less the padding
    where every tile reaches it (tile positions t * e * stride + u * r - pad)."""
    de = D_E if pair == 0 else D_F
    dr = D_R if pair == 0 else D_S
    stride = problem[P_STRIDE_H] if pair == 0 else problem[P_STRIDE_W]
    pad = problem[P_PAD_H] if pair == 0 else problem[P_PAD_W]
    size = problem[P_IN_H] if pair == 0 else problem[P_IN_W]
    if pad == 0 and (problem[de] - 1) * stride + problem[dr] <= size:
        return _window(ext[de], ext[dr], stride)
    best = 0
    for t in range(problem[de] // ext[de]):
        for u in range(problem[dr] // ext[dr]):
            best = max(best, touched(ext[de], ext[dr], stride, 1, pad - t * ext[de] * stride - u * ext[dr], size))
    return best


@njit(cache=True)
def _contiguous(rows, n_rows, inside, d):
    """Whether a tile's values of dimension d are consecutive: no row of d outside the tile comes
    after (is less significant than) one inside it."""
    seen_inside = False
    for i in range(n_rows):
        if rows[i, R_DIM] != d or rows[i, R_TRIP] == 1:
            continue
        if inside[i]:
            seen_inside = True
        elif seen_inside:
            return False
    return True


@njit(cache=True)
def _values(rows, n_rows, inside, d):
    """The values of dimension d in the tile at the origin: its inside rows vary, the others are 0
    (mixed radix, the outermost row most significant)."""
    count = 1
    for i in range(n_rows):
        if rows[i, R_DIM] == d and inside[i]:
            count *= rows[i, R_TRIP]
    out = np.zeros(count, dtype=np.int64)
    for k in range(count):
        rest = k
        value = 0
        weight = 1
        for i in range(n_rows - 1, -1, -1):
            if rows[i, R_DIM] != d:
                continue
            if inside[i]:
                value += (rest % rows[i, R_TRIP]) * weight
                rest //= rows[i, R_TRIP]
            weight *= rows[i, R_TRIP]
        out[k] = value
    return out


@njit(cache=True)
def _strided_window(rows, n_rows, inside, de, dr, stride, pad, size):
    """Input positions ``e * stride + r - pad`` inside the input, summed over every tile, for tiles
    whose output or filter values are not consecutive (a multicast group above an inner split of the
    same dimension): each tile's values are its origin (the rows outside it) plus the values at the
    origin tile (the rows inside), marked one by one."""
    es = _values(rows, n_rows, inside, de)
    rs = _values(rows, n_rows, inside, dr)
    outside = np.empty(n_rows, dtype=np.bool_)
    for i in range(n_rows):
        outside[i] = not inside[i]
    e0 = _values(rows, n_rows, outside, de)
    r0 = _values(rows, n_rows, outside, dr)
    span = es.max() * stride + rs.max() + 1
    hit = np.zeros(span, dtype=np.bool_)
    words = 0
    for a in e0:
        for b in r0:
            hit[:] = False
            base = a * stride + b - pad
            for e in es:
                for r in rs:
                    hit[e * stride + r] = True
            for x in range(span):
                if hit[x] and 0 <= base + x < size:
                    words += 1
    return words


@njit(cache=True)
def _flag_inside(rows, n_rows, cut, parent, child, collapse, levels, inside):
    """Rows inside the child's tile (at or after ``cut``), plus, when ``collapse``, the spatial rows
    of levels between parent and child whose network collapses them (``levels[l, collapse]``)."""
    for i in range(n_rows):
        inside[i] = i >= cut
        lv = rows[i, R_LEVEL]
        if collapse >= 0 and rows[i, R_SPATIAL] == 1 and parent < lv < child and levels[lv, collapse] == 1:
            inside[i] = True


@njit(cache=True)
def evaluate_tree(problem, rows, n_rows, levels, n_levels, counts, inside, ext):
    """Fill ``counts[level, op, C_*]`` for every storage level and operand; returns the MACs.

    For each operand, walk its path (storage levels with the operand's bit in ``LV_KEEP_MASK``, then
    the MACs) and count each crossing: the parent's reads (``LV_COLLAPSE_READS`` networks between
    collapse) and the child's fills (per instance) for ifmap and filter; for the ofmap the parent's
    updates (``LV_COLLAPSE_UPDATES``: spatial reduction) and the child's drains (read from the child),
    and the partial sums read back for accumulation (every update but the first of each word:
    reads at the parent, fills at the child)."""
    counts[:] = 0
    macs = 1
    out_size = 1
    for d in range(7):
        macs *= problem[d]
        if RELEVANCE[OP_OFMAP, d]:
            out_size *= problem[d]
    for op in range(3):
        parent = -1
        for child in range(n_levels + 1):
            is_mac = child == n_levels
            if not is_mac and (levels[child, LV_KIND] != KIND_STORAGE or (levels[child, LV_KEEP_MASK] >> op) & 1 == 0):
                continue
            cut = n_rows if is_mac else levels[child, LV_CUT]
            if not is_mac:
                # footprint of one instance: the rows inside the tile
                for i in range(n_rows):
                    inside[i] = i >= cut
                tile_extents(rows, n_rows, inside, problem, ext)
                counts[child, op, C_FOOTPRINT] = tile_words(op, ext, problem)
                if op == OP_IFMAP:
                    counts[child, op, C_FOOTPRINT] = (ext[D_N] * ext[D_C] * _largest_window(ext, problem, 0)
                                                      * _largest_window(ext, problem, 1))
            if parent < 0:
                parent = child
                continue
            limit = n_levels if is_mac else child
            if op != OP_OFMAP:
                _flag_inside(rows, n_rows, cut, parent, limit, LV_COLLAPSE_READS, levels, inside)
                counts[parent, op, C_READS] += crossing(op, rows, n_rows, inside, is_mac, problem, ext)
                if not is_mac:
                    _flag_inside(rows, n_rows, cut, parent, limit, -1, levels, inside)
                    counts[child, op, C_FILLS] += crossing(op, rows, n_rows, inside, False, problem, ext)
            else:
                _flag_inside(rows, n_rows, cut, parent, limit, LV_COLLAPSE_UPDATES, levels, inside)
                up = crossing(op, rows, n_rows, inside, is_mac, problem, ext)
                counts[parent, op, C_UPDATES] += up
                # the first update of each word the parent holds needs no read-back
                first = out_size * _replicas(op, rows, n_rows, parent)
                counts[parent, op, C_READS] += up - first
                if not is_mac:
                    _flag_inside(rows, n_rows, cut, parent, limit, -1, levels, inside)
                    drained = crossing(op, rows, n_rows, inside, False, problem, ext)
                    counts[child, op, C_READS] += drained
                    counts[child, op, C_FILLS] += drained - out_size * _replicas(op, rows, n_rows, child)
            parent = child
    return macs


@njit(cache=True)
def _replicas(op, rows, n_rows, level):
    """Instances of ``level`` that hold the same words of ``op``: the spatial factors above it along
    dimensions ``op`` does not depend on."""
    copies = 1
    for i in range(n_rows):
        if rows[i, R_SPATIAL] == 1 and rows[i, R_LEVEL] < level and RELEVANCE[op, rows[i, R_DIM]] == 0:
            copies *= rows[i, R_TRIP]
    return copies


@njit(cache=True)
def temporal_steps(rows, n_rows):
    """Cycles of compute: one per iteration of the temporal loops (all MACs run in lock-step)."""
    steps = 1
    for i in range(n_rows):
        if rows[i, R_SPATIAL] == 0:
            steps *= rows[i, R_TRIP]
    return steps


@njit(cache=True)
def evaluate_batch(problem, rows, n_rows, levels, n_levels, counts, macs):
    """:func:`evaluate_tree` for mappings b = 0..n-1 of one problem on one tree: ``rows[b]``,
    ``n_rows[b]`` -> ``counts[b]``, ``macs[b]`` (scratch allocated once)."""
    inside = np.zeros(rows.shape[1], dtype=np.bool_)
    ext = np.zeros(7, dtype=np.int64)
    for b in range(rows.shape[0]):
        macs[b] = evaluate_tree(problem, rows[b], n_rows[b], levels, n_levels, counts[b], inside, ext)
