"""Access counts of one mapping on an architecture tree of any depth (numba): N storage levels, M
spatial levels, per-operand paths with bypass.

The mapping is one list of *rows*, outermost first, built level by level down the tree
(accelsim/loopnest/tree.py): a storage level contributes its temporal loops, a spatial level its
unrolling factors (``rows[i] = (dim, trip, is_spatial, tree_level)``, rows sorted by tree level).
A storage level's tile holds every row of that level and the deeper ones (its *cut*: the first row
whose level is at or below it): as in Timeloop, a level's loops iterate within the tile it holds,
delivering the tiles of the levels below. Rows of one trip count nothing, so a batch may pad every
mapping to one fixed layout (the tree mapper does). Every operand moves along
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
(the product of the counted irrelevant trips and replicas). One pass over a mapping's rows
(:func:`_summarise`) reduces them to per-level products (each level's trips per dimension, each
operand's irrelevant trips outside a level's last relevant loop, prefix products down the tree),
and every crossing is then a product over the levels above its child (:func:`_crossing`): no
crossing walks the rows again, and trip-1 rows (a batch's padding) only multiply by one. The
relevant words are the operand's size,
except for the ifmap, whose tile is a sliding window: ``(e - 1) * stride + r`` input rows, ``e * r``
when the stride skips rows (Sze et al. 2020 [sze2020] chapter 2; the window of [timeloop] section
IV's projection), and only the positions inside the unpadded input are in memory. The sum of the
in-input positions over every (E tile, R tile) is the windows' total less the overhangs of the few
tiles that reach into the padding at either border (:func:`_window_sum`, O(padding^2) instead of
O(tiles)).

Imperfect factorisations (a dimension's trips multiply to more than its bound: the last tile is
partial, iterations past the bound are not part of the problem), dilated windows and rows over the
groups G (an eighth dimension, ``D_G``, that every operand depends on; its bound is ``P_GROUPS``)
take the general count (:func:`_count_general`): a step moves the tile only when a live iteration lies
under it, an irrelevant dimension's moves are its live combinations of the counted rows
(:func:`_live`), a relevant dimension's tiles sum to its bound, and the ifmap's windows are counted
by the fast count's closed forms where the windows are undilated and each tile's values are
consecutive, a partial last tile included (:func:`_window_words`), else position by position.
tests/naive_tree.py executes the nest and checks every count, perfect and imperfect. Column layouts are the ``R_*``, ``LV_*`` and ``C_*`` constants below.

Per-operand tile boundaries (:func:`evaluate_tiles`; a mapping's ``tile_loops``): ZigZag allocates
the temporal loops to each operand's memories on their own, so one loop can lie inside one operand's
tile at a level and above another's. There an operand's tile at a level is its temporal rows from
a row of its own on, plus the spatial rows below the level (the instances under it), and the same
rule counts every crossing, by the general count.

It counts `--mapping` runs on trees (accelsim/loopnest/tree.py), every candidate of the tree mapper
(accelsim/loopnest/tree_mapper.py) and the mappings of the loop-nest dataflows on the shorthand's
tree (accelsim/loopnest/nest_counts.py). Throughput (benchmarks/bench_tree.py, one core, ResNet-18's
3x3 layer, padded fixed-layout rows as the mapper sends them): about 1.05 M evaluations per CPU
second on hw/trees/simba_like.yaml and 1.2 M on the eyeriss and tpu_v1 preset trees
(docs/architecture.md's engine section).
"""
from __future__ import annotations

import numpy as np

from .jit import njit
from .loopnest import (D_C, D_E, D_F, D_N, D_R, D_S, OP_IFMAP, OP_OFMAP, P_DIL_H, P_DIL_W, P_GROUPS, P_IN_H, P_IN_W,
                       P_PAD_H, P_PAD_W, P_STRIDE_H, P_STRIDE_W, RELEVANCE)

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
#: the groups dimension G (index 7, after the conv's seven): every operand depends on it; only the
#: general count (:func:`_count_general`) takes rows of it
D_G = 7
NDIMS = 8
RELEVANCE8 = np.concatenate((RELEVANCE, np.ones((3, 1), dtype=np.int64)), axis=1)
RELEVANT_MASK8 = RELEVANT_MASK | (1 << D_G)
#: the ifmap's window dimensions (E, F, R, S) as bits
WINDOW_MASK = (1 << D_E) | (1 << D_F) | (1 << D_R) | (1 << D_S)


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


@njit(cache=True, inline="always")
def _part(part, ne, nr, et, rt, bound_e, bound_r):
    """One of the four grids that tiles of ``et`` x ``rt`` make of ``bound_e`` x ``bound_r`` (``ne``,
    ``nr``: the whole tiles along each): part 0 the whole tiles, 1 the partial last E tile beside
    each whole R tile, 2 the partial last R tile beside each whole E tile, 3 the partial corner.
    Returns (tiles along E, along R, the first tile's indices t0, u0, its shape et, rt); a part
    that does not exist has 0 tiles along some axis."""
    if part & 1:
        nt, t0, e_len = 1, ne, bound_e - ne * et
        if e_len == 0:
            nt = 0
    else:
        nt, t0, e_len = ne, 0, et
    if part & 2:
        nu, u0, r_len = 1, nr, bound_r - nr * rt
        if r_len == 0:
            nu = 0
    else:
        nu, u0, r_len = nr, 0, rt
    return nt, nu, t0, u0, e_len, r_len


@njit(cache=True)
def _window_sum(et, rt, stride, pad, size, bound_e, bound_r):
    """Input positions inside [0, size) summed over every tile of ``et`` outputs x ``rt`` taps (the
    tiles partition ``bound_e`` x ``bound_r``, tile (t, u) starting at t * et * stride + u * rt -
    pad; where ``et`` or ``rt`` does not divide its bound, the last tile along it is partial, as the
    last array tile of an imperfect spatial unrolling): per grid of one tile shape (:func:`_part`),
    all the tiles' positions, less the overhang past the left border (positions < 0) and past the
    right one (>= size). Past the right border, a block's distance from the grid's last block's end
    counts as y (the grid mirrored)."""
    ne, nr = bound_e // et, bound_r // rt
    tile_step = et * stride
    total = 0
    for part in range(4):
        nt, nu, t0, u0, e_len, r_len = _part(part, ne, nr, et, rt, bound_e, bound_r)
        if nt == 0 or nu == 0:
            continue
        count, length, gap = _window_shape(e_len, r_len, stride)
        offset = t0 * tile_step + u0 * rt
        total += nt * nu * count * length
        total -= _overhang(nt, nu, count, tile_step, rt, gap, length, pad - offset)
        last_end = offset + (nt - 1) * tile_step + (nu - 1) * rt + (count - 1) * gap + length - pad
        total -= _overhang(nt, nu, count, tile_step, rt, gap, length, last_end - size)
    return total


@njit(cache=True)
def _largest_window(et, rt, stride, pad, size, bound_e, bound_r):
    """Input positions inside [0, size) of the tile that has the most: the whole window when some
    whole tile lies inside the input (for each tap tile u, the first output tile t past the left
    padding is the candidate; no partial tile has more, its window is a whole tile's shortened),
    else the best tile, whole or partial (:func:`_part`), counted block by block."""
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
    for part in range(4):
        nt, nu, t0, u0, e_len, r_len = _part(part, ne, nr, et, rt, bound_e, bound_r)
        count, length, gap = _window_shape(e_len, r_len, stride)
        for t in range(t0, t0 + nt):
            for u in range(u0, u0 + nu):
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
    not consecutive (a multicast group above an inner split of the same dimension) and dilated
    windows: each tile's values are its origin (the rows outside it) plus the values at the origin
    tile (the rows inside), marked one by one; values at or past a dimension's bound (the partial
    last tile of an imperfect factorisation) are not part of the problem. Rare
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
def _window_words(rows, n_rows, inside, pair, problem, largest):
    """The ifmap's input positions along one axis (pair 0: E with R; 1: F with S) inside the input,
    summed over every tile the ``inside`` rows make (with ``largest``: of the tile with the most).
    Where the window is not dilated and each tile's values are consecutive (no row of the dimension
    outside the tile lies inside one that is in it, in the rows' mixed radix), the tiles are
    ``ext`` consecutive values from each multiple of ``ext`` below the bound, the last one partial
    where the rows' trips multiply past the bound (an imperfect factorisation, e.g. the partial
    last array tile of an output-stationary unrolling), and the fast count's closed forms count
    them (:func:`_window_sum`, :func:`_largest_window`); else position by position
    (:func:`_strided_window`). The general count of such a mapping thus costs what the fast count
    does for its windows."""
    de = D_E if pair == 0 else D_F
    dr = D_R if pair == 0 else D_S
    stride, pad, size = problem[P_STRIDE_H + pair], problem[P_PAD_H + pair], problem[P_IN_H + pair]
    dil = max(problem[P_DIL_H + pair], 1)
    closed = dil == 1
    ext_e, ext_r, all_e, all_r = np.int64(1), np.int64(1), np.int64(1), np.int64(1)   # typed: one compile of the callees
    seen_e, seen_r = False, False
    for i in range(n_rows):
        d = rows[i, R_DIM]
        trip = rows[i, R_TRIP]
        if trip == 1 or (d != de and d != dr):
            continue
        if d == de:
            all_e *= trip
            if inside[i]:
                ext_e *= trip
                seen_e = True
            elif seen_e:
                closed = False
        else:
            all_r *= trip
            if inside[i]:
                ext_r *= trip
                seen_r = True
            elif seen_r:
                closed = False
    if closed and all_e >= problem[de] and all_r >= problem[dr]:
        if largest:
            return _largest_window(ext_e, ext_r, stride, pad, size, problem[de], problem[dr])
        return _window_sum(ext_e, ext_r, stride, pad, size, problem[de], problem[dr])
    return _strided_window(rows, n_rows, inside, de, dr, stride, pad, size, dil, problem[de], problem[dr], largest)


@njit(cache=True, inline="always")
def _ifmap_words(rows, n_rows, inside, ext, gapped, problem):
    """The ifmap words of every tile with extents ``ext``, over N, C and both window axes
    (``inside``: the tile's rows, read only when ``gapped`` marks a dimension whose tile values are
    not consecutive)."""
    total = problem[D_N] * problem[D_C]
    for pair in range(2):
        de = D_E if pair == 0 else D_F
        dr = D_R if pair == 0 else D_S
        stride = problem[P_STRIDE_H] if pair == 0 else problem[P_STRIDE_W]
        pad = problem[P_PAD_H] if pair == 0 else problem[P_PAD_W]
        size = problem[P_IN_H] if pair == 0 else problem[P_IN_W]
        if (gapped >> de) & 1 == 0 and (gapped >> dr) & 1 == 0:
            total *= _window_sum(ext[de], ext[dr], stride, pad, size, problem[de], problem[dr])
        else:
            total *= _strided_window(rows, n_rows, inside, de, dr, stride, pad, size, np.int64(1), problem[de],
                                     problem[dr], np.bool_(False))
    return total


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
def _bound(problem, d):
    """Dimension d's bound: the problem's first seven columns, G's from ``P_GROUPS`` (1 if unset)."""
    return problem[d] if d < D_G else max(problem[P_GROUPS], 1)


@njit(cache=True)
def _general(problem, extents):
    """Whether a mapping needs the general count: a dimension whose trips (``extents``: their
    products) multiply to more than its bound (an imperfect factorisation: partial last tiles) or a
    dilated window."""
    for d in range(7):
        if extents[d] != problem[d]:
            return True
    return problem[P_DIL_H] > 1 or problem[P_DIL_W] > 1 or problem[P_GROUPS] > 1


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


@njit(cache=True, inline="always")
def _in_tile(rows, i, level, tcut):
    """Whether row i is in the tile of a storage level ``level`` whose temporal rows start at row
    ``tcut`` (its operand's cut, :func:`default_cuts` or a per-operand tile boundary): a temporal row
    at or after ``tcut``, a spatial row of a level below ``level`` (its instances are inside)."""
    if rows[i, R_SPATIAL] == 1:
        return rows[i, R_LEVEL] > level
    return i >= tcut


@njit(cache=True)
def _crossing_general(op, rows, cut, child, parent, collapse, levels, every_iteration, problem, sizes, inside):
    """:func:`_crossing` for imperfect factorisations and dilated windows. A step of the rows
    outside the tile moves the tile when some live iteration (every dimension's value below its
    bound) lies under it; the counted rows are those of Timeloop's rule (spatial replicas, and the
    temporal rows at or outside the innermost relevant one), so the moves are, per irrelevant
    dimension, its live combinations of counted rows (:func:`_live`), and the words of a relevant
    dimension's tiles sum to its bound (the tiles partition it, the last one partial). The ifmap's
    windows are counted by :func:`_window_words`. The child's tile: its
    temporal rows from row ``cut`` on and the spatial rows below it (:func:`_in_tile`)."""
    n = rows.shape[0]
    relevant = RELEVANT_MASK8[op]
    last = -1
    for i in range(n):
        level = rows[i, R_LEVEL]
        inside[i] = _in_tile(rows, i, child, cut) or (collapse >= 0 and rows[i, R_SPATIAL] == 1 and level > parent
                                 and levels[level, collapse] == 1)
        if (not inside[i] and rows[i, R_SPATIAL] == 0 and rows[i, R_TRIP] > 1
                and (every_iteration or (relevant >> rows[i, R_DIM]) & 1 == 1)):
            last = i
    counted = np.empty(n, dtype=np.bool_)
    for i in range(n):
        counted[i] = not inside[i] and (rows[i, R_SPATIAL] == 1 or i <= last)
    moves = 1
    for d in range(NDIMS):
        if (relevant >> d) & 1 == 0:
            moves *= _live(rows, counted, d, _bound(problem, d))
    if op != OP_IFMAP:
        return sizes[op] * moves
    total = problem[D_N] * problem[D_C] * _bound(problem, D_G) * moves
    for pair in range(2):
        total *= _window_words(rows, n, inside, np.int64(pair), problem, np.bool_(False))
    return total


@njit(cache=True)
def _footprint_general(op, rows, cut, level, problem, inside):
    """:func:`_footprint` for imperfect factorisations, dilated windows and per-operand tiles: the
    origin tile's extents (the tile of ``level`` from temporal row ``cut``, :func:`_in_tile`),
    clipped to the bounds (it is the largest), the ifmap's largest window counted."""
    for i in range(rows.shape[0]):
        inside[i] = _in_tile(rows, i, level, cut)
    if op != OP_IFMAP:
        words = 1
        for d in range(NDIMS):
            if RELEVANCE8[op, d]:
                ext = 1
                for i in range(rows.shape[0]):
                    if inside[i] and rows[i, R_DIM] == d:
                        ext *= rows[i, R_TRIP]
                words *= min(ext, _bound(problem, d))
        return words
    words = 1
    for d in (D_N, D_C, D_G):
        ext = 1
        for i in range(rows.shape[0]):
            if inside[i] and rows[i, R_DIM] == d:
                ext *= rows[i, R_TRIP]
        words *= min(ext, _bound(problem, d))
    for pair in range(2):
        words *= _window_words(rows, rows.shape[0], inside, np.int64(pair), problem, np.bool_(True))
    return words


@njit(cache=True)
def _replicas_general(op, rows, level, problem):
    """The copies of ``op`` over the instances of ``level``: per dimension ``op`` does not depend on,
    the combinations of the spatial rows above the level that hold part of the problem (:func:`_live`)."""
    counted = np.empty(rows.shape[0], dtype=np.bool_)
    for i in range(rows.shape[0]):
        counted[i] = rows[i, R_SPATIAL] == 1 and rows[i, R_LEVEL] < level
    copies = 1
    for d in range(NDIMS):
        if (RELEVANT_MASK8[op] >> d) & 1 == 0:
            copies *= _live(rows, counted, d, _bound(problem, d))
    return copies


@njit(cache=True)
def default_cuts(rows, n_rows, n_levels, cuts):
    """``cuts[level, op]``: the first row of each level's tile, the same for every operand (the
    first row at or below the level; ``n_rows`` for the MACs): the cut of a mapping without
    per-operand tile boundaries."""
    for level in range(n_levels + 1):
        cut = n_rows
        for i in range(n_rows - 1, -1, -1):
            if rows[i, R_LEVEL] >= level:
                cut = i
        for op in range(3):
            cuts[level, op] = cut


@njit(cache=True)
def _count_general(problem, all_rows, n_rows, levels, n_levels, paths, path_len, sizes, counts, inside, cuts):
    """:func:`_count` for imperfect factorisations, dilated windows, rows over G and per-operand
    tile boundaries: each crossing walks the rows (:func:`_crossing_general`); the child's tile for
    ``op`` is its temporal rows from ``cuts[child, op]`` on and the spatial rows below it
    (:func:`_in_tile`). Every operand depends on G, so its words are G times one group's (``sizes``)."""
    rows = all_rows[:n_rows]
    words = sizes * _bound(problem, D_G)
    # typed, not literal, arguments: numba compiles _crossing_general once, not once per constant
    reads, updates, every_row = np.int64(LV_COLLAPSE_READS), np.int64(LV_COLLAPSE_UPDATES), np.int64(-1)
    counts[:] = 0
    for op in range(3):
        for p in range(path_len[op] - 1):
            parent = paths[op, p]
            child = paths[op, p + 1]
            is_mac = child == n_levels
            cut = n_rows if is_mac else cuts[child, op]
            counts[parent, op, C_FOOTPRINT] = _footprint_general(op, rows, cuts[parent, op], parent, problem, inside)
            # fills and drains are counted only when is_mac is False: passing it rather than the literal False
            # keeps one signature
            if op != OP_OFMAP:
                counts[parent, op, C_READS] += _crossing_general(op, rows, cut, child, parent, reads, levels,
                                                                 is_mac, problem, words, inside)
                if not is_mac:
                    counts[child, op, C_FILLS] += _crossing_general(op, rows, cut, child, parent, every_row, levels,
                                                                    is_mac, problem, words, inside)
            else:
                up = _crossing_general(op, rows, cut, child, parent, updates, levels, is_mac, problem, words,
                                       inside)
                counts[parent, op, C_UPDATES] += up
                # the first update of each word the parent holds needs no read-back
                counts[parent, op, C_READS] += up - words[op] * _replicas_general(op, rows, parent, problem)
                if not is_mac:
                    drained = _crossing_general(op, rows, cut, child, parent, every_row, levels, is_mac, problem,
                                                words, inside)
                    counts[child, op, C_READS] += drained
                    counts[child, op, C_FILLS] += drained - words[op] * _replicas_general(op, rows, child, problem)


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
def _operand_sizes(problem, sizes):
    """``sizes[op]``: the words of each operand without windows (the product of its relevant
    bounds; the ifmap's is not used); returns the MACs."""
    macs = 1
    for d in range(7):
        macs *= problem[d]
    for op in range(3):
        sizes[op] = 1
        for d in range(7):
            if RELEVANCE[op, d]:
                sizes[op] *= problem[d]
    return macs


# per-level summaries of one mapping (:func:`_summarise`), scratch of (n_levels + 1) columns
(S_ALL, S_OUTER, S_HAS_RELEVANT, S_PREFIX, S_UNTIL_RELEVANT, S_SPATIAL) = range(6)
SUMMARY_ROWS = 6


@njit(cache=True, inline="always")
def _summarise(rows, n_rows, levels, n_levels, level_ext, dims, tile_ext, summary):
    """One pass over a mapping's rows (trip-1 rows included: they multiply by 1) into per-level
    summaries, from which every crossing is a product over levels:

    * ``level_ext[L, d]``: the product of dimension d's trips at level L; ``dims[L]``: bit d set when
      one of them exceeds 1; ``tile_ext[L, d]``: the extents of level L's tile (levels >= L);
    * per operand op and storage level L, ``summary[op, S_ALL, L]``: the product of L's trips
      irrelevant to op; ``S_OUTER``: of those before (outside) L's last relevant loop;
      ``S_HAS_RELEVANT``: whether L has a relevant loop of more than one trip;
      ``S_PREFIX[L]``: S_ALL over the levels above L (every irrelevant temporal trip outside L's
      tile); ``S_UNTIL_RELEVANT[L]``: the irrelevant temporal trips outside the innermost relevant
      loop above L's tile (S_PREFIX of that loop's level times its S_OUTER; 1 when there is none);
    * per operand and spatial level L, ``S_SPATIAL``: the product of L's factors irrelevant to op
      (its replicas).

    Returns whether a row is over G (the caller then counts with :func:`_count_general`)."""
    for level in range(n_levels + 1):
        dims[level] = 0
        for d in range(7):
            level_ext[level, d] = 1
        for op in range(3):
            summary[op, S_ALL, level] = 1
            summary[op, S_OUTER, level] = 1
            summary[op, S_HAS_RELEVANT, level] = 0
    groups = False
    for i in range(n_rows):
        d = rows[i, R_DIM]
        trip = rows[i, R_TRIP]
        if d == D_G:            # a row over the groups: the general count takes the mapping
            groups = True
            continue
        level = rows[i, R_LEVEL]
        level_ext[level, d] *= trip
        more = 1 if trip > 1 else 0
        dims[level] |= more << d
        if rows[i, R_SPATIAL] == 0:
            for op in range(3):
                relevant = (RELEVANT_MASK[op] >> d) & 1
                hit = relevant & more
                if hit:
                    summary[op, S_OUTER, level] = summary[op, S_ALL, level]
                summary[op, S_HAS_RELEVANT, level] |= hit
                summary[op, S_ALL, level] *= 1 + (1 - relevant) * (trip - 1)
    for d in range(7):
        tile_ext[n_levels, d] = 1
    for level in range(n_levels - 1, -1, -1):
        for d in range(7):
            tile_ext[level, d] = tile_ext[level + 1, d] * level_ext[level, d]
    for op in range(3):
        irrelevant = 127 ^ RELEVANT_MASK[op]
        prefix = 1
        until = 1
        for level in range(n_levels + 1):
            summary[op, S_PREFIX, level] = prefix
            summary[op, S_UNTIL_RELEVANT, level] = until
            spatial = 1
            if level < n_levels and levels[level, LV_KIND] == KIND_SPATIAL:
                for d in range(7):
                    if (irrelevant >> d) & 1:
                        spatial *= level_ext[level, d]
            summary[op, S_SPATIAL, level] = spatial
            if summary[op, S_HAS_RELEVANT, level]:
                until = prefix * summary[op, S_OUTER, level]
            prefix *= summary[op, S_ALL, level]
    return groups


@njit(cache=True, inline="always")
def _crossing(op, parent, child, collapse, every_iteration, rows, n_rows, levels, level_ext, dims, tile_ext, summary,
              problem, sizes, ext, inside):
    """Words of ``op`` that cross from ``parent`` to ``child`` (``n_levels``: the MACs), as (the
    parent's view, the child's view, the copies of one word over the child's instances): the words
    of all the child's tiles times the times each is moved (the module docstring's rule), from
    :func:`_summarise`'s per-level products.

    Moves: the irrelevant temporal trips outside the innermost relevant loop above the child's tile
    (all of them when ``every_iteration``: the child keeps nothing), times the replicas of every
    spatial level above the child. In the parent's view, a spatial level between parent and child
    whose network collapses (``levels[L, collapse]``) is served by one access: its replicas do not
    count and its relevant factors widen the tile (the ifmap's window)."""
    moves = summary[op, S_PREFIX, child] if every_iteration else summary[op, S_UNTIL_RELEVANT, child]
    child_copies = 1
    parent_copies = 1
    widened = False
    gapped = 0
    outside_seen = 0
    for d in range(7):
        ext[d] = tile_ext[child, d]
    for level in range(child - 1, -1, -1):
        if levels[level, LV_KIND] != KIND_SPATIAL:
            outside_seen |= dims[level]
            continue
        copies = summary[op, S_SPATIAL, level]
        child_copies *= copies
        if level > parent and levels[level, collapse] == 1:
            if op == OP_IFMAP and dims[level] & WINDOW_MASK:
                widened = True
                gapped |= outside_seen & dims[level]
                for d in range(7):
                    ext[d] *= level_ext[level, d]
        else:
            parent_copies *= copies
            outside_seen |= dims[level]
    if op != OP_IFMAP:
        return sizes[op] * moves * parent_copies, sizes[op] * moves * child_copies, child_copies
    if gapped:
        for i in range(n_rows):
            level = rows[i, R_LEVEL]
            inside[i] = level >= child or (parent < level and levels[level, LV_KIND] == KIND_SPATIAL
                                           and levels[level, collapse] == 1)
    parent_words = _ifmap_words(rows, n_rows, inside, ext, gapped, problem)
    child_words = parent_words
    if widened and not every_iteration:
        for d in range(7):
            ext[d] = tile_ext[child, d]
        child_words = _ifmap_words(rows, n_rows, inside, ext, 0, problem)
    return parent_words * moves * parent_copies, child_words * moves * child_copies, child_copies


@njit(cache=True, inline="always")
def _count(problem, rows, n_rows, levels, n_levels, paths, path_len, sizes, counts, level_ext, dims, tile_ext,
           summary, ext, inside, cuts):
    """Fill ``counts[level, op, C_*]`` for one mapping; see :func:`evaluate_tree`."""
    if _summarise(rows, n_rows, levels, n_levels, level_ext, dims, tile_ext, summary) or _general(problem, tile_ext[0]):
        default_cuts(rows, n_rows, n_levels, cuts)
        _count_general(problem, rows, n_rows, levels, n_levels, paths, path_len, sizes, counts, inside, cuts)
        return
    counts[:] = 0
    for op in range(3):
        collapse = LV_COLLAPSE_UPDATES if op == OP_OFMAP else LV_COLLAPSE_READS
        parent_copies = 1           # replicas of the path's first level (the backing store: none)
        for level in range(paths[op, 0]):
            parent_copies *= summary[op, S_SPATIAL, level]
        for p in range(path_len[op] - 1):
            parent = paths[op, p]
            child = paths[op, p + 1]
            is_mac = child == n_levels
            counts[parent, op, C_FOOTPRINT] = _footprint(op, tile_ext[parent], problem)
            sent, arrived, copies = _crossing(op, parent, child, collapse, is_mac, rows, n_rows, levels, level_ext,
                                              dims, tile_ext, summary, problem, sizes, ext, inside)
            if op != OP_OFMAP:
                counts[parent, op, C_READS] += sent
                if not is_mac:
                    counts[child, op, C_FILLS] += arrived
            else:
                counts[parent, op, C_UPDATES] += sent
                # the first update of each word the parent holds needs no read-back
                counts[parent, op, C_READS] += sent - sizes[op] * parent_copies
                if not is_mac:
                    counts[child, op, C_READS] += arrived
                    counts[child, op, C_FILLS] += arrived - sizes[op] * copies
            parent_copies = copies


def evaluate_tree(problem, rows, n_rows, levels, n_levels, counts):
    """Fill ``counts[level, op, C_*]`` for every storage level and operand; returns the MACs.

    For each operand, walk its path (storage levels with the operand's bit in ``LV_KEEP_MASK``, then
    the MACs) and count each crossing: the parent's reads (``LV_COLLAPSE_READS`` networks between
    collapse) and the child's fills (per instance) for ifmap and filter; for the ofmap the parent's
    updates (``LV_COLLAPSE_UPDATES``: spatial reduction) and the child's drains (read from the child),
    and the partial sums read back for accumulation (every update but the first of each word:
    reads at the parent, fills at the child). ``C_FOOTPRINT``: the words of one instance's largest
    tile.

    A batch of one, from Python (no numba function of its own: compiling one cost ~1.3 s of the
    first run for what is a view and a call; ``[np.newaxis]`` views write through whatever the
    layout)."""
    macs = np.zeros(1, dtype=np.int64)
    evaluate_batch(problem, rows[np.newaxis], np.full(1, n_rows, dtype=np.int64), levels, n_levels,
                   counts[np.newaxis], macs)
    return int(macs[0])


@njit(cache=True)
def _setup(problem, levels, n_levels):
    """Once per tree and problem: each operand's path (:func:`tree_paths`), its words
    (:func:`_operand_sizes`) and the MACs, groups included."""
    paths = np.zeros((3, n_levels + 1), dtype=np.int64)
    path_len = np.zeros(3, dtype=np.int64)
    tree_paths(levels, n_levels, paths, path_len)
    sizes = np.zeros(3, dtype=np.int64)
    total = _operand_sizes(problem, sizes) * _bound(problem, D_G)
    return paths, path_len, sizes, total


@njit(cache=True)
def evaluate_batch(problem, rows, n_rows, levels, n_levels, counts, macs):
    """:func:`evaluate_tree` for mappings b = 0..n-1 of one problem on one tree: ``rows[b]``
    (the first ``n_rows[b]``; rows of one trip anywhere, as padding) -> ``counts[b]``, ``macs[b]``.
    The tree's paths and the scratch are set up once per batch."""
    width = max(rows.shape[1], 1)
    paths, path_len, sizes, total = _setup(problem, levels, n_levels)
    level_ext = np.zeros((n_levels + 1, 7), dtype=np.int64)
    tile_ext = np.zeros((n_levels + 1, 7), dtype=np.int64)
    dims = np.zeros(n_levels + 1, dtype=np.int64)
    summary = np.zeros((3, SUMMARY_ROWS, n_levels + 1), dtype=np.int64)
    ext = np.zeros(7, dtype=np.int64)
    inside = np.zeros(width, dtype=np.bool_)
    cuts = np.zeros((n_levels + 1, 3), dtype=np.int64)
    for b in range(rows.shape[0]):
        _count(problem, rows[b], n_rows[b], levels, n_levels, paths, path_len, sizes, counts[b], level_ext, dims,
               tile_ext, summary, ext, inside, cuts)
        macs[b] = total


@njit(cache=True)
def evaluate_tiles(problem, rows, n_rows, levels, n_levels, tile_cuts, counts):
    """:func:`evaluate_tree` for a mapping with per-operand tile boundaries: ``tile_cuts[level, op]``
    is the row where the temporal rows of ``op``'s tile at storage level ``level`` begin (the tile
    also holds the spatial rows below the level), or -1 for the level's own cut (its first row, as
    :func:`default_cuts`). As ZigZag allocates loops to memories operand by operand ([zigzag]:
    ``MemoryAllocator.allocate_node``, ``zigzag/opt/loma/memory_allocator.py`` line 99 in 3.9.1, one
    loop index per memory operand), one loop may lie inside one operand's tile at a level and above
    another's. Each operand's cuts must not decrease down its path (the caller checks). Counted by
    the general count (:func:`_count_general`); returns the MACs."""
    paths, path_len, sizes, total = _setup(problem, levels, n_levels)
    cuts = np.zeros((n_levels + 1, 3), dtype=np.int64)
    default_cuts(rows, n_rows, n_levels, cuts)
    for level in range(n_levels):
        for op in range(3):
            if tile_cuts[level, op] >= 0:
                cuts[level, op] = tile_cuts[level, op]
    inside = np.zeros(max(rows.shape[0], 1), dtype=np.bool_)
    _count_general(problem, rows, n_rows, levels, n_levels, paths, path_len, sizes, counts, inside, cuts)
    return total


@njit(cache=True)
def temporal_steps(rows, n_rows):
    """Cycles of compute: one per iteration of the temporal loops (all MACs run in lock-step)."""
    steps = 1
    for i in range(n_rows):
        if rows[i, R_SPATIAL] == 0:
            steps *= rows[i, R_TRIP]
    return steps
