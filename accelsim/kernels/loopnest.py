"""Loop-nest reuse analysis of one mapping (numba): per-operand, per-level access counts.

A mapping of a conv loop nest (dims N, M, C, E, F, R, S; index order ``DIMS``) onto
DRAM -> global buffer (GLB) -> PE array (rows x cols) -> PE register file (RF) is given by:

* ``loops[i] = (dim, trip)`` for i = 0..n_loops-1: the temporal loops, outermost first, shared by
  all operands (ZigZag's single temporal mapping; Mei et al., IEEE TC 2021, section III);
* ``spatial[0, d]``, ``spatial[1, d]``: how many PEs dimension d is unrolled over on the rows and
  on the columns;
* ``cut_glb[op]``, ``cut_rf[op]`` (op: 0 ifmap, 1 filter, 2 ofmap): loops at positions >= cut lie
  inside that operand's GLB tile (resp. RF tile). ``cut_rf >= cut_glb``. The RF tile is per PE;
  the GLB tile covers the whole array. Letting each operand choose its own level for each loop is
  ZigZag's per-operand memory assignment; it is what lets a buffer keep an operand that fits while
  another operand streams.

Reuse (Timeloop's rule, Parashar et al., ISPASS 2019, section V): a child tile is re-filled from
its parent whenever a loop above it that is *relevant* to the operand advances, and also for every
iteration of *irrelevant* loops that sit outside such a relevant loop; irrelevant loops inside the
innermost relevant loop (and loops of trip 1) re-use the tile. Spatial unrolling replicates the
RF tile into every PE (a word needed by several PEs is read from the GLB once and multicast).

Volumes are integers, exact for perfect factorisations: the tiles of a relevant dimension
partition it, so their extents sum to the bound (partial last tiles included); the tiles of an
irrelevant dimension are counted as ceil(bound / inner extent). Two documented over-counts remain
for imperfect factorisations (checked against the brute-force oracle tests/naive_loopnest.py,
which implements them as rules): a loop of trip > 1 at or outside the innermost relevant loop
counts a re-fill even when the relevant loops inside it have a single live index (e.g. a loop
whose trip exceeds its bound), and PEs left idle in a partial spatial tile of an irrelevant
dimension count as re-filled when that dimension also has a loop inside the innermost relevant
one. The ifmap's extent is the sliding window
``(E_t - 1) * stride + R_t`` (Eyeriss's diagonal ifmap reuse falls out of it), ``E_t * R_t`` when
the stride skips rows, clipped to the unpadded input. A tile is re-filled whenever a relevant loop
above it advances, even when the new window happens to cover the same rows.
"""
from __future__ import annotations

import numpy as np

from .jit import njit
from .timing import fold_cycles

DIMS = ("N", "M", "C", "E", "F", "R", "S")
D_N, D_M, D_C, D_E, D_F, D_R, D_S = range(7)
OP_IFMAP, OP_FILTER, OP_OFMAP = range(3)
#: RELEVANCE[op, d] = 1 when operand op is indexed by dimension d.
RELEVANCE = np.array([
    [1, 0, 1, 1, 1, 1, 1],   # ifmap: N, C, and the window dims E, F, R, S (H = f(E, R), W = f(F, S))
    [0, 1, 1, 0, 0, 1, 1],   # filter: M, C, R, S
    [1, 1, 0, 1, 1, 0, 0],   # ofmap: N, M, E, F
], dtype=np.int64)
MAX_LOOPS = 21   # three temporal levels x seven dims
#: typed constants for kernel call sites: numba compiles a callee once per Python literal argument
#: (touched(..., 1, ...) and touched(..., d, ...) were two machine codes), once for a numpy scalar
ONE, YES, NO = np.int64(1), np.bool_(True), np.bool_(False)

# problem columns: bounds[0:7], strides, the GEMM-view ifmap cap, the unpadded input size
P_STRIDE_H, P_STRIDE_W, P_IFMAP_UNIQUE, P_IN_H, P_IN_W, P_PAD_H, P_PAD_W, P_DIL_H, P_DIL_W, P_GROUPS = range(7, 17)
PROBLEM_COLS = 17
#: P_DIL_H, P_DIL_W: the dilation of a conv-view problem, read by the N-level engine only (input
#: position ``e * stride + r * dilation - pad``); 0 or 1: none. P_GROUPS: the bound of the groups
#: dimension G when a tree mapping has loops over it (the N-level engine only); 0 or 1: none (the
#: problem is one group's).
#: P_PAD_H, P_PAD_W: the padding, read by the N-level engine (accelsim/kernels/nest.py), which counts
#: only the input positions inside the unpadded input.
#: P_IFMAP_UNIQUE >= 0 marks the GEMM (im2col) view: E = F = R = S = 1, and the ifmap words a pass
#: over the whole im2col matrix fetches from DRAM are capped at this many unique words (per
#: re-fetch). -1 marks the conv view, where windows are explicit and tiles are clipped to the
#: unpadded input (P_IN_H x P_IN_W).

# counts (per operand; ofmap rows are partial sums / outputs)
(C_DRAM_READS, C_DRAM_WRITES, C_GLB_READS, C_GLB_WRITES, C_RF_FILLS, C_GLB_FOOTPRINT,
 C_RF_FOOTPRINT) = range(7)
COUNT_COLS = 7


@njit(cache=True, inline="always")
def _cdiv(a, b):
    return (a + b - 1) // b


@njit(cache=True, inline="always")
def _touched_below(y, out, stride, width):
    """Positions p in [0, y) with p = o * stride + j for some o < out, 0 <= j < width: windows of
    ``width`` consecutive positions every ``stride`` (stride > width: disjoint blocks)."""
    if y <= 0:
        return 0
    if stride <= width:
        return min(y, (out - 1) * stride + width)
    q = y // stride
    if q >= out:
        return out * width
    return q * width + min(y - q * stride, width)


@njit(cache=True)
def touched(out, taps, stride, dilation, offset, size):
    """Distinct input positions x in [0, size) that some window reads: x = o * stride + k * dilation
    - offset for an output o < ``out`` and a filter tap k < ``taps``. ``offset`` is the padding
    (the physical input) or 0 (SCALE-Sim's padded input). A window of consecutive taps (dilation 1,
    or one tap) has a closed form: a stride above the filter extent skips positions (a 7x1 filter
    at stride 2 reads every other column, a strided 1x1 conv one pixel in ``stride``), a smaller one
    covers the span. Dilated filters with several taps are counted position by position."""
    if dilation == 1 or taps == 1:
        width = taps if dilation == 1 else 1
        return _touched_below(size + offset, out, stride, width) - _touched_below(offset, out, stride, width)
    count = 0
    for x in range(size):
        for k in range(taps):
            y = x + offset - k * dilation
            if y >= 0 and y % stride == 0 and y // stride < out:
                count += 1
                break
    return count


@njit(cache=True, inline="always")
def inner_trips(loops, n_loops, inner):
    """Fill ``inner[pos, d]`` (pos = 0..n_loops) with the product of the trips of dim d's loops at
    positions >= pos: the extent of d inside a tile whose loops start at ``pos``, before spatial
    unrolling. Every tile extent below is a lookup in this table."""
    for d in range(7):
        inner[n_loops, d] = 1
    for i in range(n_loops - 1, -1, -1):
        for d in range(7):
            inner[i, d] = inner[i + 1, d]
        inner[i, loops[i, 0]] *= loops[i, 1]


@njit(cache=True, inline="always")
def _tile_extent(d, cut, inner, spatial, include_spatial):
    """Extent of dim d inside a tile whose loops start at position ``cut``, times d's spatial
    unrolling if requested."""
    if include_spatial:
        return inner[cut, d] * spatial[0, d] * spatial[1, d]
    return inner[cut, d]


@njit(cache=True, inline="always")
def _window(e, r, stride, size):
    """Input rows one tile of e output rows and r filter rows reads: the sliding window
    (e - 1) * stride + r, or e * r when the stride skips rows (stride >= r), at most the
    (unpadded) input size."""
    return min(min((e - 1) * stride + r, e * r), size)


@njit(cache=True, inline="always")
def _inside(bound_e, bound_r, stride, pad, size):
    """Whether every window of the layer lies inside the unpadded input (no padding read)."""
    return pad == 0 and (bound_e - 1) * stride + bound_r <= size


@njit(cache=True)
def _tile_row(ne, et, le, r0, r_len, stride, pad, size):
    """Input positions inside the input, summed over the ``ne`` tiles of ``et`` output rows (the
    last one ``le``) that start at output rows 0, et, 2 et, ... with filter rows r0 .. r0 + r_len - 1:
    tile t reads x = (t et + o) stride + r0 + k - pad (:func:`touched`). The tiles wholly inside
    the input (an interval of t) read their whole window; only those at the borders are counted
    one by one."""
    shift = et * stride
    offset = pad - r0                      # tile t's offset into the input: offset - t * shift
    total = touched(le, r_len, stride, ONE, offset - (ne - 1) * shift, size)
    full_tiles = ne - 1
    if full_tiles == 0:
        return total
    span = (et - 1) * stride + r_len       # first to last position read, plus one
    lo = 0 if offset <= 0 else min(_cdiv(offset, shift), full_tiles)
    top = size + offset - span
    hi = -1 if top < 0 else min(top // shift, full_tiles - 1)
    if hi < lo:
        hi = lo - 1
    total += (hi - lo + 1) * min(span, et * r_len)
    for t in range(lo):
        total += touched(et, r_len, stride, ONE, offset - t * shift, size)
    for t in range(hi + 1, full_tiles):
        total += touched(et, r_len, stride, ONE, offset - t * shift, size)
    return total


@njit(cache=True)
def window_sum(bound_e, bound_r, et, rt, stride, pad, size):
    """Input rows (or columns) read by every tile of ``et`` output rows x ``rt`` filter rows, summed
    over the tiles: the distinct positions each tile's windows touch inside the unpadded input
    (padding is not in memory and is never read). Tiles partition E and R (the last ones partial).
    Without padding the window is the same for every full tile: a closed form."""
    ne = _cdiv(bound_e, et)
    nr = _cdiv(bound_r, rt)
    le = bound_e - (ne - 1) * et
    lr = bound_r - (nr - 1) * rt
    if _inside(bound_e, bound_r, stride, pad, size):
        return ((ne - 1) * (nr - 1) * _window(et, rt, stride, size) + (ne - 1) * _window(et, lr, stride, size)
                + (nr - 1) * _window(le, rt, stride, size) + _window(le, lr, stride, size))
    total = 0
    for u in range(nr):
        total += _tile_row(ne, et, le, u * rt, rt if u < nr - 1 else lr, stride, pad, size)
    return total


@njit(cache=True)
def largest_window(bound_e, bound_r, et, rt, stride, pad, size):
    """Input rows (or columns) of the largest tile of :func:`window_sum`'s tiles: the window of a
    full tile, less the padding when every tile reaches into it."""
    full = _window(et, rt, stride, size)
    if _inside(bound_e, bound_r, stride, pad, size):
        return full
    best = 0
    for u in range(_cdiv(bound_r, rt)):
        r_len = min(rt, bound_r - u * rt)
        for t in range(_cdiv(bound_e, et)):
            best = max(best, touched(min(et, bound_e - t * et), r_len, stride, ONE, pad - t * et * stride - u * rt,
                                     size))
            if best >= full:
                return best
    return best


@njit(cache=True)
def _tile_words(op, ext, problem, first):
    """Words of operand op in a tile with per-dimension extents ``ext``: the largest such tile, or
    with ``first`` the first one (at the origin). The ifmap's tiles differ only in how much of
    their window falls in the padding (:func:`largest_window`; the first tile starts in it)."""
    if op == OP_IFMAP:
        if first:
            rows = touched(ext[D_E], ext[D_R], problem[P_STRIDE_H], ONE, problem[P_PAD_H], problem[P_IN_H])
            cols = touched(ext[D_F], ext[D_S], problem[P_STRIDE_W], ONE, problem[P_PAD_W], problem[P_IN_W])
        else:
            rows = largest_window(problem[D_E], problem[D_R], ext[D_E], ext[D_R], problem[P_STRIDE_H],
                                  problem[P_PAD_H], problem[P_IN_H])
            cols = largest_window(problem[D_F], problem[D_S], ext[D_F], ext[D_S], problem[P_STRIDE_W],
                                  problem[P_PAD_W], problem[P_IN_W])
        return ext[D_N] * ext[D_C] * rows * cols
    words = 1
    for d in range(7):
        if RELEVANCE[op, d]:
            words *= ext[d]
    return words


# footprint, _tile_words, _last_footprint, irrelevant_product and fold_steps have several call
# sites: compiled once and called (LLVM inlines them where it pays) rather than numba-inlined,
# whose IR copies are typed again at every site (-0.6 to -0.8 s of the engine's first-run compile,
# no measurable change in benchmarks/bench_engine.py or bench_mapper.py).
@njit(cache=True)
def footprint(op, cut, inner, spatial, include_spatial, problem, ext, first=False):
    """Words of operand ``op`` in its largest tile (loops at positions >= cut, plus spatial if
    included; with ``first``, its first tile), clipped to the bounds; the ifmap uses the sliding
    window, less the padding. ``ext``: scratch of 7 words."""
    for d in range(7):
        ext[d] = min(_tile_extent(d, cut, inner, spatial, include_spatial), problem[d])
    return _tile_words(op, ext, problem, first)


@njit(cache=True, inline="always")
def volume(op, cut, loops, inner, spatial, per_pe, problem, retains=True):
    """Words moved into all child tiles of operand ``op`` whose tile starts at loop ``cut``.

    ``per_pe``: the child is the per-PE RF tile (spatial replicas each filled); otherwise the child
    spans the array (spatial inside the tile: one read per word, multicast to the PEs).
    ``retains=False``: the child cannot hold the tile across iterations (an operand streaming
    through a systolic array leaves it at the far edge), so every iteration of a loop above the
    tile moves it again."""
    # innermost loop above the cut that is relevant to op (or any loop, if the child does not
    # retain data) and actually iterates
    j = -1
    for i in range(cut):
        if loops[i, 1] > 1 and (RELEVANCE[op, loops[i, 0]] or not retains):
            j = i
    include_spatial = not per_pe
    total = 1
    # relevant dims: their tiles partition the bound
    if op == OP_IFMAP:
        for pair in range(2):
            de = D_E if pair == 0 else D_F
            dr = D_R if pair == 0 else D_S
            et = min(_tile_extent(de, cut, inner, spatial, include_spatial), problem[de])
            rt = min(_tile_extent(dr, cut, inner, spatial, include_spatial), problem[dr])
            total *= window_sum(problem[de], problem[dr], et, rt, problem[P_STRIDE_H + pair],
                                problem[P_PAD_H + pair], problem[P_IN_H + pair])
        total *= problem[D_N] * problem[D_C]
    else:
        for d in range(7):
            if RELEVANCE[op, d]:
                total *= problem[d]
    # irrelevant dims: how many times the (unchanged) data is fetched again
    for d in range(7):
        if not RELEVANCE[op, d]:
            total *= _irrelevant_count(d, cut, j, loops, inner, spatial, per_pe, problem[d])
    return total


@njit(cache=True, inline="always")
def _irrelevant_count(d, cut, j, loops, inner, spatial, per_pe, bound):
    """Iterations of an irrelevant dimension's loops that re-fetch a tile: temporal loops of d at
    or outside position j, and (per PE) its spatial replicas.

    Spatial unrolling nests inside every temporal loop above the RF cut. When the counted loops are
    the outermost ones of d, the count is exact: ceil(bound / extent inside the innermost counted
    loop). Otherwise (per PE: spatial replicas under a re-used temporal loop) it is the tiles of the
    outer counted loops times the replicas."""
    s_d = spatial[0, d] * spatial[1, d]
    innermost = -1
    gap = False          # an uncounted (re-using) loop of d sits between counted ones
    for i in range(cut):
        if loops[i, 0] != d or loops[i, 1] == 1:
            continue
        if i <= j:
            innermost = i
        else:
            gap = True
    rf_extent = inner[cut, d]
    replicas = min(s_d, _cdiv(bound, rf_extent)) if per_pe else 1
    if innermost < 0:
        return replicas
    if per_pe and not gap:
        # every loop of d above the tile counts, and the replicas sit directly inside them
        return _cdiv(bound, rf_extent)
    outer_tiles = _cdiv(bound, _tile_extent(d, innermost + 1, inner, spatial, True))
    return outer_tiles * replicas


@njit(cache=True)
def irrelevant_product(op, cut, loops, inner, spatial, per_pe, problem):
    """The re-fetch multiplier alone: the product of :func:`_irrelevant_count` over op's
    irrelevant dimensions."""
    j = -1
    for i in range(cut):
        if loops[i, 1] > 1 and RELEVANCE[op, loops[i, 0]]:
            j = i
    total = 1
    for d in range(7):
        if not RELEVANCE[op, d]:
            total *= _irrelevant_count(d, cut, j, loops, inner, spatial, per_pe, problem[d])
    return total


@njit(cache=True, inline="always")
def temporal_steps(d, inner, spatial, rf_cut, bound):
    """Time steps spent along dimension d: every value of d is a step unless d is unrolled over
    PEs; then one step per spatial tile per RF iteration (loops at positions >= rf_cut)."""
    s_d = spatial[0, d] * spatial[1, d]
    if s_d == 1:
        return bound
    rf_extent = inner[rf_cut, d]
    return _cdiv(bound, s_d * rf_extent) * rf_extent


@njit(cache=True)
def fold_steps(stationary, loops, n_loops, inner, spatial, rf_cut, problem):
    """Steps of one systolic fold: the innermost run of loops irrelevant to the stationary operand
    (the stationary tile stays in the PEs while they iterate). Dimensions all of whose loops are in
    the run contribute all their steps; a dimension split across the run's edge contributes the
    trips of its loops inside the run."""
    start = n_loops
    for i in range(n_loops - 1, -1, -1):
        if loops[i, 1] > 1 and RELEVANCE[stationary, loops[i, 0]]:
            break
        start = i
    steps = 1
    for d in range(7):
        inside = False
        outside = False
        trips = 1
        for i in range(n_loops):
            if loops[i, 0] != d or loops[i, 1] == 1:
                continue
            if i >= start:
                inside = True
                trips *= loops[i, 1]
            else:
                outside = True
        if inside and not outside:
            steps *= temporal_steps(d, inner, spatial, rf_cut, problem[d])
        elif inside:
            steps *= trips
    return steps


# hardware columns (int64)
(HWL_ROWS, HWL_COLS, HWL_GLB_IFMAP, HWL_GLB_FILTER, HWL_GLB_OFMAP, HWL_RF_IFMAP, HWL_RF_FILTER,
 HWL_RF_OFMAP, HWL_SYSTOLIC, HWL_TIMING, HWL_STATIONARY, HWL_DOUBLE_BUFFERED, HWL_WORD_BITS,
 HWL_KEEP_MASK) = range(14)
HWL_COLS_N = 14
#: HWL_KEEP_MASK bit op set: the PEs hold operand op between iterations of the loops above their
#: register-file tile (systolic: only the stationary operand; NLR: none).
TIMING_PHYSICAL, TIMING_SCALESIM = 0, 1

OUTPUTS = (
    "valid", "macs", "steps", "folds", "cycles_per_fold", "compute_cycles",
    "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "dram_ofmap_reads",
    "glb_ifmap_reads", "glb_filter_reads", "glb_ofmap_writes", "glb_ofmap_reads",
    "rf_ifmap_fills", "rf_filter_fills", "rf_ofmap_drains",
    "glb_ifmap_footprint", "glb_filter_footprint", "glb_ofmap_footprint",
    "rf_ifmap_footprint", "rf_filter_footprint", "rf_ofmap_footprint",
    "first_load_words", "last_drain_words",
)
(X_VALID, X_MACS, X_STEPS, X_FOLDS, X_CYC_FOLD, X_COMPUTE, X_DRAM_IFMAP_R, X_DRAM_FILTER_R,
 X_DRAM_OFMAP_W, X_DRAM_OFMAP_R, X_GLB_IFMAP_R, X_GLB_FILTER_R, X_GLB_OFMAP_W, X_GLB_OFMAP_R,
 X_RF_IFMAP, X_RF_FILTER, X_RF_OFMAP, X_GLB_FP_IFMAP, X_GLB_FP_FILTER, X_GLB_FP_OFMAP,
 X_RF_FP_IFMAP, X_RF_FP_FILTER, X_RF_FP_OFMAP, X_FIRST_LOAD, X_LAST_DRAIN) = range(len(OUTPUTS))
#: OUTPUTS slot of volume job 3 * level + op (levels: DRAM->GLB, GLB->array, array->PE RF)
_VOLUME_SLOT = np.array([X_DRAM_IFMAP_R, X_DRAM_FILTER_R, X_DRAM_OFMAP_W, X_GLB_IFMAP_R, X_GLB_FILTER_R,
                         X_GLB_OFMAP_W, X_RF_IFMAP, X_RF_FILTER, X_RF_OFMAP], dtype=np.int64)
# validity codes
VALID, BAD_COVERAGE, BAD_SPATIAL, BAD_RF, BAD_GLB = 1, -1, -2, -3, -4


@njit(cache=True)
def _last_footprint(op, cut, inner, spatial, problem, ext):
    """Words of operand op in the last (possibly partial) tile starting at loop ``cut`` (spatial
    included): per dimension, the bound minus the full tiles before the last one."""
    for d in range(7):
        e = min(_tile_extent(d, cut, inner, spatial, True), problem[d])
        ext[d] = problem[d] - (_cdiv(problem[d], e) - 1) * e
    return _tile_words(op, ext, problem, NO)


@njit(cache=True)
def evaluate_one(problem, loops, n_loops, spatial, cuts, hw, out):
    """Evaluate one mapping of one (per-group) problem on one array; fills ``out`` (OUTPUTS)."""
    evaluate_into(problem, loops, n_loops, spatial, cuts, hw, out,
                  np.empty((MAX_LOOPS + 1, 7), dtype=np.int64), np.empty(7, dtype=np.int64))


@njit(cache=True)
def evaluate_into(problem, loops, n_loops, spatial, cuts, hw, out, inner, ext):
    """:func:`evaluate_one` with caller-owned scratch: ``inner`` (MAX_LOOPS + 1 x 7) and ``ext``
    (7 words), so a batch allocates nothing per point."""
    out[:] = 0
    inner_trips(loops, n_loops, inner)
    # coverage: the loops and spatial unrolling of each dim must reach its bound
    for d in range(7):
        if _tile_extent(d, 0, inner, spatial, True) < problem[d]:
            out[X_VALID] = BAD_COVERAGE
            return
    used_rows = 1
    used_cols = 1
    for d in range(7):
        used_rows *= spatial[0, d]
        used_cols *= spatial[1, d]
    if used_rows > hw[HWL_ROWS] or used_cols > hw[HWL_COLS]:
        out[X_VALID] = BAD_SPATIAL
        return
    unique = problem[P_IFMAP_UNIQUE]
    for op in range(3):
        rf_fp = footprint(op, cuts[1, op], inner, spatial, NO, problem, ext, NO)
        glb_fp = footprint(op, cuts[0, op], inner, spatial, YES, problem, ext, NO)
        if op == OP_IFMAP and unique >= 0:
            glb_fp = min(glb_fp, unique)
        out[X_RF_FP_IFMAP + op] = rf_fp
        out[X_GLB_FP_IFMAP + op] = glb_fp
        if rf_fp > hw[HWL_RF_IFMAP + op]:
            out[X_VALID] = BAD_RF
        if glb_fp > hw[HWL_GLB_IFMAP + op] and out[X_VALID] == 0:
            out[X_VALID] = BAD_GLB
    if out[X_VALID] != 0:
        return
    out[X_VALID] = VALID

    macs = 1
    out_size = 1
    for d in range(7):
        macs *= problem[d]
        if RELEVANCE[OP_OFMAP, d]:
            out_size *= problem[d]
    out[X_MACS] = macs
    # DRAM <-> GLB (level 0), GLB <-> array (level 1: multicast, one read per word per array
    # tile; only the operands the PEs keep stay in the array between iterations, systolic: the
    # stationary one), array -> PE register files (level 2: every PE's own copy). One call site in
    # a loop, so the inlined volume analysis is compiled once.
    systolic = hw[HWL_SYSTOLIC] == 1
    stationary = hw[HWL_STATIONARY]
    keep = hw[HWL_KEEP_MASK]
    for job in range(9):
        level = job // 3
        op = job % 3
        kept = True if level == 0 else (keep >> op) & 1 == 1
        out[_VOLUME_SLOT[job]] = volume(op, cuts[min(level, 1), op], loops, inner, spatial, level == 2, problem,
                                        kept)
    if unique >= 0:
        out[X_DRAM_IFMAP_R] = min(out[X_DRAM_IFMAP_R], unique * irrelevant_product(
            OP_IFMAP, cuts[0, OP_IFMAP], loops, inner, spatial, False, problem))
    out[X_DRAM_OFMAP_R] = out[X_DRAM_OFMAP_W] - out_size
    out[X_GLB_OFMAP_R] = out[X_GLB_OFMAP_W] - out_size

    # time
    rf_cut = min(cuts[1, 0], min(cuts[1, 1], cuts[1, 2]))
    steps = 1
    for d in range(7):
        steps *= temporal_steps(d, inner, spatial, rf_cut, problem[d])
    out[X_STEPS] = steps
    rows = hw[HWL_ROWS]
    cols = hw[HWL_COLS]
    if systolic:
        t = fold_steps(stationary, loops, n_loops, inner, spatial, rf_cut, problem)
        folds = steps // t
        out[X_FOLDS] = folds
        cyc = fold_cycles(rows, cols, t, stationary == OP_OFMAP, hw[HWL_TIMING] == TIMING_SCALESIM)
        out[X_CYC_FOLD] = cyc
        out[X_COMPUTE] = folds * cyc
        # the first fold's inputs and the last fold's outputs are exposed
        start = n_loops
        for i in range(n_loops - 1, -1, -1):
            if loops[i, 1] > 1 and RELEVANCE[stationary, loops[i, 0]]:
                break
            start = i
        first = footprint(np.int64(OP_IFMAP), start, inner, spatial, YES, problem, ext, YES)
        if unique >= 0:
            first = min(first, unique)
        first += footprint(np.int64(OP_FILTER), start, inner, spatial, YES, problem, ext, NO)
        out[X_FIRST_LOAD] = first
        out[X_LAST_DRAIN] = _last_footprint(np.int64(OP_OFMAP), start, inner, spatial, problem, ext)
    else:
        out[X_FOLDS] = 1
        out[X_CYC_FOLD] = steps
        out[X_COMPUTE] = steps
        first = footprint(np.int64(OP_IFMAP), cuts[0, OP_IFMAP], inner, spatial, YES, problem, ext, YES)
        if unique >= 0:
            first = min(first, unique)
        out[X_FIRST_LOAD] = first + out[X_GLB_FP_FILTER]
        out[X_LAST_DRAIN] = _last_footprint(np.int64(OP_OFMAP), cuts[0, OP_OFMAP], inner, spatial, problem, ext)


@njit(cache=True)
def evaluate_batch(problem, loops, n_loops, spatial, cuts, hw, out):
    """Evaluate mappings i = 0..n-1 of one problem on one array: ``out[i]`` per OUTPUTS."""
    inner = np.empty((MAX_LOOPS + 1, 7), dtype=np.int64)
    ext = np.empty(7, dtype=np.int64)
    for i in range(loops.shape[0]):
        evaluate_into(problem, loops[i], n_loops[i], spatial[i], cuts[i], hw, out[i], inner, ext)


#: action_counts_row layout: RF reads, RF writes, NoC transfers, each per operand (ifmap, filter, ofmap).
A_RF_READS, A_RF_WRITES, A_NOC = 0, 3, 6


@njit(cache=True)
def action_counts_row(out, keep, systolic, counts):
    """Register-file reads and writes and array-network transfers per operand of one mapping's
    OUTPUTS ``out`` into ``counts`` (A_* layout); the rules of accelsim/loopnest/engine.py's
    ``action_counts``: a kept operand is read from the PE register file by every MAC (the ofmap
    read and written: accumulate) and written once per word delivered; a multicast array
    delivers every word over its network, a systolic one hops a word from PE to PE after its
    edge injection (transfers = MACs - edge accesses) unless the PEs keep it."""
    macs = out[X_MACS]
    for op in range(3):
        edge = out[X_GLB_IFMAP_R + op]            # glb ifmap reads, filter reads, ofmap writes
        delivered = out[X_RF_IFMAP + op]
        kept = (keep >> op) & 1 == 1
        counts[A_RF_READS + op] = macs if kept else 0
        if kept:
            counts[A_RF_WRITES + op] = macs if op == OP_OFMAP else (edge if systolic else delivered)
        else:
            counts[A_RF_WRITES + op] = 0
        if systolic:
            counts[A_NOC + op] = 0 if kept else max(0, macs - edge)
        else:
            counts[A_NOC + op] = delivered


@njit(cache=True)
def action_counts_batch(outs, keep, systolic, counts):
    """:func:`action_counts_row` for every row of ``outs`` into ``counts`` (n x 9)."""
    for i in range(outs.shape[0]):
        action_counts_row(outs[i], keep, systolic, counts[i])


@njit(cache=True)
def bandwidth_cycles(out, bandwidths, keep, systolic, counts):
    """Cycles of one mapping under the array-side bandwidth limits (accelsim/model.py's
    ``apply_bandwidth_limits``): max(compute cycles, ceil(GLB accesses / bandwidths[0]),
    ceil(network transfers / bandwidths[1]), ceil(register-file accesses / bandwidths[2])), with
    bandwidths[2] the register files' total over all PEs; ``math.inf`` leaves a level unbounded.
    ``counts``: scratch of 9 words."""
    cycles = out[X_COMPUTE]
    action_counts_row(out, keep, systolic, counts)
    glb = out[X_GLB_IFMAP_R] + out[X_GLB_FILTER_R] + out[X_GLB_OFMAP_W] + out[X_GLB_OFMAP_R]
    noc = counts[A_NOC] + counts[A_NOC + 1] + counts[A_NOC + 2]
    rf = 0
    for j in range(6):
        rf += counts[j]
    for level in range(3):
        words = glb if level == 0 else (noc if level == 1 else rf)
        if words > 0 and not np.isinf(bandwidths[level]):
            need = np.int64(np.ceil(words / bandwidths[level]))
            if need > cycles:
                cycles = need
    return cycles
