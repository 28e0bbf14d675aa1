"""Access counts of one mapping on an architecture tree of any depth (numba): N storage levels, M
spatial levels, per-operand paths with bypass.

The mapping is one list of *rows*, outermost first, built level by level down the tree
(accelsim/loopnest/tree.py): a storage level contributes its temporal loops, a spatial level its
unrolling factors (``rows[i] = (dim, trip, is_spatial, tree_level)``, rows sorted by tree level).
A storage level's tile holds every row of that level and the deeper ones (its *cut*: the first row
whose level is at or below it): as in Timeloop, a level's loops iterate within the tile it holds,
delivering the tiles of the levels below. Rows of one trip count nothing and are dropped first, so
a batch may pad every mapping to one fixed layout (the tree mapper does). Every operand moves along
its *path*, the storage levels that keep it, outermost (the backing store) first, then the MACs.

For each pair (parent, child) of an operand's path, the words that cross are counted by Timeloop's
reuse rule ([timeloop] section V): the child's tile is moved again whenever a temporal loop above it
that is relevant to the operand advances, and for every iteration of the irrelevant temporal loops
outside the innermost relevant one; irrelevant loops inside it re-use the tile. A spatial row above
the child is a set of instances, each with its own copy (replicas of an irrelevant dimension are
each filled; a relevant dimension's instances hold different data). Between parent and child, a
multicast or systolic network delivers one parent read to every instance that needs the word
(its rows count as inside the tile for the parent's reads), and a network with spatial reduction
adds the instances' partial sums before they reach the parent; a unicast network does neither.
The MACs keep nothing: the innermost level is read once per MAC (per multicast group).

So one crossing is (the words of every tile of the operand, summed over its relevant dimensions) x
(the product of the counted irrelevant trips), and both factors come from one backward pass over
the rows outside the child's tile (:func:`_crossing`). The relevant words are the operand's size,
except for the ifmap, whose tile is a sliding window: ``(e - 1) * stride + r`` input rows, ``e * r``
when the stride skips rows (Sze et al. 2020 [sze2020] chapter 2; the window of [timeloop] section
IV's projection), and only the positions inside the unpadded input are in memory. The sum of the
in-input positions over every (E tile, R tile) is the windows' total less the overhangs of the few
tiles that reach into the padding at either border (:func:`_window_sum`, O(padding^2) instead of
O(tiles)).

Imperfect factorisations (a dimension's trips multiply to more than its bound: the last tile is
partial, iterations past the bound are not part of the problem) and dilated windows take the
general count (:func:`_crossing_general`): a step moves the tile only when a live iteration lies
under it, an irrelevant dimension's moves are its live combinations of the counted rows
(:func:`_live`), a relevant dimension's tiles sum to its bound, and the ifmap's windows are counted
position by position. tests/naive_tree.py executes the nest and checks every count, perfect and
imperfect. Column layouts are the ``R_*``, ``LV_*`` and ``C_*`` constants below.

Throughput (benchmarks/bench_tree.py, one core, ResNet-18's 3x3 layer, padded fixed-layout rows
as the mapper sends them): see docs/architecture.md's engine section for the measured figures.
"""
from __future__ import annotations

import numpy as np

from .jit import njit
from .loopnest import (D_C, D_E, D_F, D_N, D_R, D_S, OP_IFMAP, OP_OFMAP, P_DIL_H, P_DIL_W, P_IN_H, P_IN_W, P_PAD_H,
                       P_PAD_W, P_STRIDE_H, P_STRIDE_W, RELEVANCE)

# rows: one per loop or spatial factor, outermost first, sorted by tree level
R_DIM, R_TRIP, R_SPATIAL, R_LEVEL = range(4)
# levels: one per tree level, outermost first
(LV_KIND, LV_KEEP_MASK, LV_COLLAPSE_READS, LV_COLLAPSE_UPDATES) = range(4)
LEVEL_COLS = 4
KIND_STORAGE, KIND_SPATIAL, KIND_COMPUTE = 0, 1, 2
# counts per (storage level, operand)
C_READS, C_FILLS, C_UPDATES, C_FOOTPRINT = range(4)
COUNT_COLS = 4
#: RELEVANT_MASK[op]: bit d set when operand op is indexed by dimension d (RELEVANCE as bits)
RELEVANT_MASK = np.array([sum(int(RELEVANCE[op, d]) << d for d in range(7)) for op in range(3)], dtype=np.int64)


@njit(cache=True, inline="always")
def _window_shape(et, rt, stride):
    """One tile's input positions along one axis as ``count`` blocks of ``length`` consecutive
    positions, ``gap`` apart: one block of ``(et - 1) * stride + rt`` when the windows overlap or
    touch (rt >= stride, or one output), else ``et`` blocks of ``rt`` (the stride skips rows)."""
    if rt >= stride or et == 1:
        return 1, (et - 1) * stride + rt, 0
    return et, rt, stride


@njit(cache=True, inline="always")
def _overhang(ne, nr, count, tile_step, tap_step, gap, length, depth):
    """Sum over tiles t < ne, u < nr and blocks o < count at distance y = t * tile_step + u * tap_step
    + o * gap from a border, of the positions of the block (``length`` long) that lie beyond a
    border ``depth`` away: min(length, depth - y) where y < depth. Every step is >= 1 (the gap when
    count > 1), so at most depth^3 terms."""
    total = 0
    for t in range(ne):
        yt = t * tile_step
        if yt >= depth:
            break
        for u in range(nr):
            yu = yt + u * tap_step
            if yu >= depth:
                break
            for o in range(count):
                y = yu + o * gap
                if y >= depth:
                    break
                total += min(length, depth - y)
    return total


@njit(cache=True)
def _window_sum(et, rt, stride, pad, size, bound_e, bound_r):
    """Input positions inside [0, size) summed over every tile of ``et`` outputs x ``rt`` taps (the
    tiles partition ``bound_e`` x ``bound_r``; tile (t, u) starts at t * et * stride + u * rt - pad):
    all the tiles' positions, less the overhang past the left border (positions < 0) and past the
    right one (>= size). Past the right border, a block's distance from the last block's end counts
    as y (the tiles mirrored)."""
    ne, nr = bound_e // et, bound_r // rt
    count, length, gap = _window_shape(et, rt, stride)
    tile_step = et * stride
    total = ne * nr * count * length
    total -= _overhang(ne, nr, count, tile_step, rt, gap, length, pad)
    last_end = (ne - 1) * tile_step + (nr - 1) * rt + (count - 1) * gap + length - pad
    total -= _overhang(ne, nr, count, tile_step, rt, gap, length, last_end - size)
    return total


@njit(cache=True)
def _largest_window(et, rt, stride, pad, size, bound_e, bound_r):
    """Input positions inside [0, size) of the tile that has the most: the whole window when some
    tile lies inside the input (for each tap tile u, the first output tile t past the left padding
    is the candidate), else the best tile counted block by block."""
    ne, nr = bound_e // et, bound_r // rt
    count, length, gap = _window_shape(et, rt, stride)
    tile_step = et * stride
    room = size + pad - ((count - 1) * gap + length)     # a tile starting at s - pad fits when pad <= s <= room
    if room >= pad:
        for u in range(nr):
            base = u * rt
            t = 0 if base >= pad else (pad - base + tile_step - 1) // tile_step
            if t < ne and t * tile_step + base <= room:
                return count * length
    best = 0
    for t in range(ne):
        for u in range(nr):
            words = 0
            for o in range(count):
                lo = t * tile_step + u * rt + o * gap - pad
                words += max(0, min(size, lo + length) - max(0, lo))
            best = max(best, words)
    return best


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
def _strided_window(rows, n_rows, inside, de, dr, stride, pad, size, dil, bound_e, bound_r, largest):
    """Input positions ``e * stride + r * dil - pad`` inside the input, summed over every tile (or,
    with ``largest``, of the tile that has the most), for tiles whose output or filter values are
    not consecutive (a multicast group above an inner split of the same dimension), dilated windows,
    and imperfect factorisations: each tile's values are its origin (the rows outside it) plus the
    values at the origin tile (the rows inside), marked one by one; values at or past a dimension's
    bound (the partial last tile of an imperfect factorisation) are not part of the problem. Rare
    (no shipped tree's mappings need it), so it may allocate."""
    es = _values(rows, n_rows, inside, de)
    rs = _values(rows, n_rows, inside, dr)
    outside = np.empty(n_rows, dtype=np.bool_)
    for i in range(n_rows):
        outside[i] = not inside[i]
    e0 = _values(rows, n_rows, outside, de)
    r0 = _values(rows, n_rows, outside, dr)
    span = es.max() * stride + rs.max() * dil + 1
    hit = np.zeros(span, dtype=np.bool_)
    words = 0
    for a in e0:
        if a >= bound_e:
            continue
        for b in r0:
            if b >= bound_r:
                continue
            hit[:] = False
            base = a * stride + b * dil - pad
            for e in es:
                if a + e >= bound_e:
                    continue
                for r in rs:
                    if b + r < bound_r:
                        hit[e * stride + r * dil] = True
            here = 0
            for x in range(span):
                if hit[x] and 0 <= base + x < size:
                    here += 1
            words = max(words, here) if largest else words + here
    return words


@njit(cache=True)
def _general(problem, suffix):
    """Whether a mapping needs the general count: a dimension whose trips multiply to more than its
    bound (an imperfect factorisation: partial last tiles) or a dilated window."""
    for d in range(7):
        if suffix[0, d] != problem[d]:
            return True
    return problem[P_DIL_H] > 1 or problem[P_DIL_W] > 1


@njit(cache=True)
def _live(rows, counted, d, bound):
    """Combinations of the ``counted`` rows of dimension d (its other rows at index 0) whose value,
    the mixed-radix number over all of d's rows, is below ``bound``: the tiles or instances of d
    that hold part of the problem. A digit-by-digit count, outermost row first (each row's weight
    is the product of the trips of d's rows inside it)."""
    weight, free = 1, 1
    for i in range(rows.shape[0]):
        if rows[i, R_DIM] == d:
            weight *= rows[i, R_TRIP]
            if counted[i]:
                free *= rows[i, R_TRIP]
    if weight <= bound:
        return free
    total, prefix = 0, 0
    for i in range(rows.shape[0]):
        if rows[i, R_DIM] != d:
            continue
        trip = rows[i, R_TRIP]
        weight //= trip
        if counted[i]:
            free //= trip
            full = min(trip, (bound - prefix) // weight)
            total += full * free
            if full == trip:
                return total
            prefix += full * weight
            if prefix >= bound:
                return total
    return total + 1


@njit(cache=True)
def _crossing_general(op, rows, cut, parent, collapse, levels, every_iteration, problem, sizes, inside):
    """:func:`_crossing` for imperfect factorisations and dilated windows. A step of the rows
    outside the tile moves the tile when some live iteration (every dimension's value below its
    bound) lies under it; the counted rows are those of Timeloop's rule (spatial replicas, and the
    temporal rows at or outside the innermost relevant one), so the moves are, per irrelevant
    dimension, its live combinations of counted rows (:func:`_live`), and the words of a relevant
    dimension's tiles sum to its bound (the tiles partition it, the last one partial). The ifmap's
    windows are counted position by position (:func:`_strided_window`)."""
    n = rows.shape[0]
    relevant = RELEVANT_MASK[op]
    last = -1
    for i in range(n):
        level = rows[i, R_LEVEL]
        inside[i] = i >= cut or (collapse >= 0 and rows[i, R_SPATIAL] == 1 and level > parent
                                 and levels[level, collapse] == 1)
        if not inside[i] and rows[i, R_SPATIAL] == 0 and (every_iteration or (relevant >> rows[i, R_DIM]) & 1 == 1):
            last = i
    counted = np.empty(n, dtype=np.bool_)
    for i in range(n):
        counted[i] = not inside[i] and (rows[i, R_SPATIAL] == 1 or i <= last)
    moves = 1
    for d in range(7):
        if (relevant >> d) & 1 == 0:
            moves *= _live(rows, counted, d, problem[d])
    if op != OP_IFMAP:
        return sizes[op] * moves
    total = problem[D_N] * problem[D_C] * moves
    for pair in range(2):
        de = D_E if pair == 0 else D_F
        dr = D_R if pair == 0 else D_S
        total *= _strided_window(rows, n, inside, de, dr, problem[P_STRIDE_H + pair], problem[P_PAD_H + pair],
                                 problem[P_IN_H + pair], max(problem[P_DIL_H + pair], 1), problem[de], problem[dr],
                                 False)
    return total


@njit(cache=True)
def _footprint_general(op, rows, cut, problem, inside):
    """:func:`_footprint` for imperfect factorisations and dilated windows: the origin tile's
    extents, clipped to the bounds (it is the largest), the ifmap's largest window counted."""
    for i in range(rows.shape[0]):
        inside[i] = i >= cut
    if op != OP_IFMAP:
        words = 1
        for d in range(7):
            if RELEVANCE[op, d]:
                ext = 1
                for i in range(cut, rows.shape[0]):
                    if rows[i, R_DIM] == d:
                        ext *= rows[i, R_TRIP]
                words *= min(ext, problem[d])
        return words
    words = 1
    for d in (D_N, D_C):
        ext = 1
        for i in range(cut, rows.shape[0]):
            if rows[i, R_DIM] == d:
                ext *= rows[i, R_TRIP]
        words *= min(ext, problem[d])
    for pair in range(2):
        de = D_E if pair == 0 else D_F
        dr = D_R if pair == 0 else D_S
        words *= _strided_window(rows, rows.shape[0], inside, de, dr, problem[P_STRIDE_H + pair],
                                 problem[P_PAD_H + pair], problem[P_IN_H + pair], max(problem[P_DIL_H + pair], 1),
                                 problem[de], problem[dr], True)
    return words


@njit(cache=True)
def _replicas_general(op, rows, cut, problem):
    """:func:`_replicas` for imperfect factorisations: per dimension ``op`` does not depend on, the
    instances above the level (rows ``..cut``) that hold part of the problem (:func:`_live`)."""
    counted = np.empty(rows.shape[0], dtype=np.bool_)
    for i in range(rows.shape[0]):
        counted[i] = i < cut and rows[i, R_SPATIAL] == 1
    copies = 1
    for d in range(7):
        if (RELEVANT_MASK[op] >> d) & 1 == 0:
            copies *= _live(rows, counted, d, problem[d])
    return copies


@njit(cache=True)
def _crossing(op, rows, cut, parent, collapse, levels, every_iteration, problem, suffix, sizes, ext, inside):
    """Words of ``op`` that cross one boundary: the words of all its tiles times the times each is
    moved (the module docstring's rule). The child's tile is rows ``cut..`` (``suffix[cut]``: their
    extents per dimension) plus, when ``collapse`` >= 0, the spatial rows of levels below ``parent``
    whose network collapses them (``levels[level, collapse]``); ``every_iteration``: the child keeps
    nothing, so every iteration of a temporal loop above it moves the tile. One backward pass over
    the rows outside: an irrelevant row counts when it is spatial (replicas) or lies outside the
    innermost relevant temporal row; a collapsed row widens the tile."""
    if _general(problem, suffix):
        return _crossing_general(op, rows, cut, parent, collapse, levels, every_iteration, problem, sizes, inside)
    relevant = RELEVANT_MASK[op]
    for d in range(7):
        ext[d] = suffix[cut, d]
    moves = 1
    past_relevant = every_iteration
    outside_seen = 0          # dims with a row outside the tile deeper than the current row
    gapped = 0                # dims whose tile values are not consecutive
    for i in range(cut - 1, -1, -1):
        d = rows[i, R_DIM]
        trip = rows[i, R_TRIP]
        if rows[i, R_SPATIAL] == 1:
            level = rows[i, R_LEVEL]
            if collapse >= 0 and level > parent and levels[level, collapse] == 1:
                ext[d] *= trip
                gapped |= outside_seen & (1 << d)
                continue
            if (relevant >> d) & 1 == 0:
                moves *= trip
        elif (relevant >> d) & 1 == 1:
            past_relevant = True
        elif past_relevant:
            moves *= trip
        outside_seen |= 1 << d
    if op != OP_IFMAP:
        return sizes[op] * moves
    total = problem[D_N] * problem[D_C] * moves
    for pair in range(2):
        de = D_E if pair == 0 else D_F
        dr = D_R if pair == 0 else D_S
        stride = problem[P_STRIDE_H] if pair == 0 else problem[P_STRIDE_W]
        pad = problem[P_PAD_H] if pair == 0 else problem[P_PAD_W]
        size = problem[P_IN_H] if pair == 0 else problem[P_IN_W]
        if (gapped >> de) & 1 == 0 and (gapped >> dr) & 1 == 0:
            total *= _window_sum(ext[de], ext[dr], stride, pad, size, problem[de], problem[dr])
        else:
            for i in range(rows.shape[0]):
                level = rows[i, R_LEVEL]
                inside[i] = i >= cut or (collapse >= 0 and rows[i, R_SPATIAL] == 1 and level > parent
                                         and levels[level, collapse] == 1)
            total *= _strided_window(rows, rows.shape[0], inside, de, dr, stride, pad, size, 1, problem[de],
                                     problem[dr], False)
    return total


@njit(cache=True)
def _replicas(op, rows, cut):
    """Instances of a level (rows ``..cut`` above it) that hold the same words of ``op``: the
    spatial factors above it along dimensions ``op`` does not depend on."""
    copies = 1
    relevant = RELEVANT_MASK[op]
    for i in range(cut):
        if rows[i, R_SPATIAL] == 1 and (relevant >> rows[i, R_DIM]) & 1 == 0:
            copies *= rows[i, R_TRIP]
    return copies


@njit(cache=True)
def _footprint(op, ext, problem):
    """Words of ``op`` in the largest tile with extents ``ext`` (the ifmap: its largest window)."""
    if op == OP_IFMAP:
        return (ext[D_N] * ext[D_C]
                * _largest_window(ext[D_E], ext[D_R], problem[P_STRIDE_H], problem[P_PAD_H], problem[P_IN_H],
                                  problem[D_E], problem[D_R])
                * _largest_window(ext[D_F], ext[D_S], problem[P_STRIDE_W], problem[P_PAD_W], problem[P_IN_W],
                                  problem[D_F], problem[D_S]))
    words = 1
    for d in range(7):
        if RELEVANCE[op, d]:
            words *= ext[d]
    return words


@njit(cache=True)
def tree_paths(levels, n_levels, paths, path_len):
    """Each operand's path: ``paths[op, :path_len[op]]`` the storage levels that keep it,
    outermost first, then ``n_levels`` (the MACs). Once per tree."""
    for op in range(3):
        k = 0
        for level in range(n_levels):
            if levels[level, LV_KIND] == KIND_STORAGE and (levels[level, LV_KEEP_MASK] >> op) & 1 == 1:
                paths[op, k] = level
                k += 1
        paths[op, k] = n_levels
        path_len[op] = k + 1


@njit(cache=True)
def _compact(rows, n_rows, n_levels, compact, cuts, suffix):
    """Copy the rows of more than one trip into ``compact``; ``cuts[level]``: its first row at or
    below ``level`` (``cuts[n_levels]``: the MACs, past every row); ``suffix[i, d]``: the product of
    dimension d's trips at rows >= i. Returns the number of rows kept."""
    k = 0
    for i in range(n_rows):
        if rows[i, R_TRIP] > 1:
            for c in range(4):
                compact[k, c] = rows[i, c]
            k += 1
    r = 0
    for level in range(n_levels + 1):
        while r < k and compact[r, R_LEVEL] < level:
            r += 1
        cuts[level] = r
    for d in range(7):
        suffix[k, d] = 1
    for i in range(k - 1, -1, -1):
        for d in range(7):
            suffix[i, d] = suffix[i + 1, d]
        suffix[i, compact[i, R_DIM]] *= compact[i, R_TRIP]
    return k


@njit(cache=True)
def _count(problem, rows, k, cuts, suffix, levels, n_levels, paths, path_len, sizes, counts, ext, inside):
    """Fill ``counts[level, op, C_*]`` from compacted rows (:func:`_compact`); see
    :func:`evaluate_tree`."""
    counts[:] = 0
    general = _general(problem, suffix)
    for op in range(3):
        for p in range(path_len[op] - 1):
            level = paths[op, p]
            for d in range(7):
                ext[d] = suffix[cuts[level], d]
            if general:
                counts[level, op, C_FOOTPRINT] = _footprint_general(op, rows, cuts[level], problem, inside)
            else:
                counts[level, op, C_FOOTPRINT] = _footprint(op, ext, problem)
        for p in range(path_len[op] - 1):
            parent = paths[op, p]
            child = paths[op, p + 1]
            is_mac = child == n_levels
            cut = cuts[child]
            if op != OP_OFMAP:
                counts[parent, op, C_READS] += _crossing(op, rows, cut, parent, LV_COLLAPSE_READS, levels, is_mac,
                                                         problem, suffix, sizes, ext, inside)
                if not is_mac:
                    counts[child, op, C_FILLS] += _crossing(op, rows, cut, parent, -1, levels, False, problem,
                                                            suffix, sizes, ext, inside)
            else:
                up = _crossing(op, rows, cut, parent, LV_COLLAPSE_UPDATES, levels, is_mac, problem, suffix, sizes,
                               ext, inside)
                counts[parent, op, C_UPDATES] += up
                # the first update of each word the parent holds needs no read-back
                first = (_replicas_general(op, rows, cuts[parent], problem) if general
                         else _replicas(op, rows, cuts[parent]))
                counts[parent, op, C_READS] += up - sizes[op] * first
                if not is_mac:
                    drained = _crossing(op, rows, cut, parent, -1, levels, False, problem, suffix, sizes, ext, inside)
                    counts[child, op, C_READS] += drained
                    first = _replicas_general(op, rows, cut, problem) if general else _replicas(op, rows, cut)
                    counts[child, op, C_FILLS] += drained - sizes[op] * first


@njit(cache=True)
def _operand_sizes(problem, sizes):
    """``sizes[op]``: the words of filter and ofmap (the product of their relevant bounds); returns
    the MACs."""
    macs = 1
    for d in range(7):
        macs *= problem[d]
    for op in range(3):
        sizes[op] = 1
        for d in range(7):
            if RELEVANCE[op, d]:
                sizes[op] *= problem[d]
    return macs


@njit(cache=True)
def evaluate_tree(problem, rows, n_rows, levels, n_levels, counts):
    """Fill ``counts[level, op, C_*]`` for every storage level and operand; returns the MACs.

    For each operand, walk its path (storage levels with the operand's bit in ``LV_KEEP_MASK``, then
    the MACs) and count each crossing: the parent's reads (``LV_COLLAPSE_READS`` networks between
    collapse) and the child's fills (per instance) for ifmap and filter; for the ofmap the parent's
    updates (``LV_COLLAPSE_UPDATES``: spatial reduction) and the child's drains (read from the child),
    and the partial sums read back for accumulation (every update but the first of each word:
    reads at the parent, fills at the child). ``C_FOOTPRINT``: the words of one instance's largest
    tile."""
    macs = np.zeros(1, dtype=np.int64)
    evaluate_batch(problem, rows.reshape(1, rows.shape[0], rows.shape[1]), np.full(1, n_rows, dtype=np.int64),
                   levels, n_levels, counts.reshape(1, counts.shape[0], counts.shape[1], counts.shape[2]), macs)
    return macs[0]


@njit(cache=True)
def evaluate_batch(problem, rows, n_rows, levels, n_levels, counts, macs):
    """:func:`evaluate_tree` for mappings b = 0..n-1 of one problem on one tree: ``rows[b]``
    (the first ``n_rows[b]``; rows of one trip anywhere, as padding) -> ``counts[b]``, ``macs[b]``.
    The tree's paths and the scratch are set up once per batch."""
    width = max(rows.shape[1], 1)
    paths = np.zeros((3, n_levels + 1), dtype=np.int64)
    path_len = np.zeros(3, dtype=np.int64)
    tree_paths(levels, n_levels, paths, path_len)
    sizes = np.zeros(3, dtype=np.int64)
    total = _operand_sizes(problem, sizes)
    compact = np.zeros((width, 4), dtype=np.int64)
    cuts = np.zeros(n_levels + 1, dtype=np.int64)
    suffix = np.zeros((width + 1, 7), dtype=np.int64)
    ext = np.zeros(7, dtype=np.int64)
    inside = np.zeros(width, dtype=np.bool_)
    for b in range(rows.shape[0]):
        k = _compact(rows[b], n_rows[b], n_levels, compact, cuts, suffix)
        _count(problem, compact[:k], k, cuts, suffix, levels, n_levels, paths, path_len, sizes, counts[b], ext,
               inside)
        macs[b] = total


@njit(cache=True)
def temporal_steps(rows, n_rows):
    """Cycles of compute: one per iteration of the temporal loops (all MACs run in lock-step)."""
    steps = 1
    for i in range(n_rows):
        if rows[i, R_SPATIAL] == 0:
            steps *= rows[i, R_TRIP]
    return steps
