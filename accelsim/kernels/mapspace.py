"""Mapper kernels (numba): enumerate the loop-nest mapspace of accelsim/loopnest/mapper.py and
bound its costs for the branch and bound of accelsim/kernels/mapsearch.py. Every mapping the search
costs is counted by the one counting engine, nest.py on the shorthand's tree
(accelsim/kernels/shorthand.py); the closed forms here only bound those counts from below.

Inputs (built by the mapper): per dimension d, ``opt[d, k] = (rf, rows, cols, q)``, its k-th
*inner* option (register-file trip, row and column unrolling, and the quotient q left for the
global buffer and DRAM), and ``split[d, k, j] = (glb, dram)``, the j-th way of sharing q between
the two (ascending glb). An *inner choice* picks one inner option per dimension; a *leaf* adds one
split per dimension. Enumeration order: inner choices lexicographically over (N, M, C, E, F, R, S)
and option index, then splits likewise, then the DRAM and GLB permutations of the three
operand-relevance groups (``PERMS``).

Why the loop order reduces to nine classes. Groups: {M} is irrelevant to the ifmap, {N, E, F} to
the filter, {C, R, S} to the ofmap (``GROUP_OF_DIM``; group g is irrelevant to operand g). In the
kernel's reuse rule (accelsim/kernels/loopnest.py, ``volume``), an operand re-fetches its tile for
the irrelevant loops that sit above its innermost relevant loop. Within one level every group but
the operand's own is relevant to it, so its irrelevant loops are re-used only when its group is
the innermost non-empty group of that level; swapping the other two changes nothing. The same
holds for the systolic fold (the trailing run of loops irrelevant to one operand). So every cost
depends on the order only through the innermost non-empty group of the DRAM level and of the GLB
level: at most 3 x 3 classes, each evaluated once, at its first permutation pair in enumeration
order (``REP``).

Bounds (multicast arrays). With rf trip r, PEs s = rows x cols, GLB trip g and DRAM trip D of
an irrelevant dimension of bound B, the words an operand re-fetches above its register-file tile
depend on which of its loops above that tile the order counts ([timeloop] section V's reuse rule,
as nest.py applies it; the "state"): none, 1 (per PE: the replicas min(s, ceil(B / r)));
the DRAM loop only, ceil(B / (g r s)) (per PE: times the replicas when the GLB loop iterates,
else ceil(B / r)); both, ceil(B / (r s)) (per PE: ceil(B / r)); its DRAM words re-fetch
ceil(B / (g r s)) times when the DRAM loop counts. Relevant dimensions contribute the operand's
size, the ifmap's as the summed windows of its tiles. So an inner choice's volumes are tables over
each dimension's splits (``_split_tables``). They bound three ways: a whole inner choice and a node
of the split search (``_node_bound``: in any order at most one operand is spared each of the two
re-fetches; the least over the nine pairs, the ifmap's windows at their least over fitting
splits), and one loop-order class of a leaf (``class_bound``). Every bound sums its terms as a
mapping's energy is summed from its counts (``leaf_energy``), so a bound equal to a mapping's
energy is equal in floating point too and no tie is cut. The search counts a mapping with nest.py
only when its class bound could still come first in its inner choice, and checks every bound
against the counts of every mapping it counts (a bound above them is an internal error);
tests/test_mapper.py checks the inner choices' bounds against every mapping of small mapspaces.

Branch and bound (multicast; the search kernels are in accelsim/kernels/mapsearch.py). Inner
choices are searched best lower bound first; one is skipped when its bound (cycles: its exact step
count; energy: ``_node_bound``) cannot come before the incumbent and is dominated in (cycles,
energy) by the Pareto archive. Within a choice, whose mappings all take the same cycles, the
splits are searched largest GLB trip first and a subtree is cut when its ``_node_bound`` exceeds
the least energy found in the choice or is beaten as above. Every test is exact, ties included
(lower energy, then earlier enumeration key, come first), so pruning never changes the result.
With an array-side bandwidth limit the cycles of a choice's mappings differ, so each choice is
searched exhaustively (its step count stays an exact lower bound for the choice-level skip).
"""
from __future__ import annotations

import numpy as np

from . import loopnest as ln
from .jit import njit

#: GROUP_OF_DIM[d]: the operand that dimension d is irrelevant to (= its relevance group).
GROUP_OF_DIM = np.array([int(np.flatnonzero(ln.RELEVANCE[:, d] == 0)[0]) for d in range(7)], dtype=np.int64)
#: GROUP_DIMS[g]: the dimensions of group g, padded with -1.
GROUP_DIMS = np.array([[d for d in range(7) if GROUP_OF_DIM[d] == g] + [-1] * (3 - int(np.sum(GROUP_OF_DIM == g)))
                       for g in range(3)], dtype=np.int64)
#: The six orders of the three groups, outermost first, in itertools.permutations order.
PERMS = np.array([[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]], dtype=np.int64)
N_PERMS = 6
#: Loops a mapping of this mapspace can have: one per dimension and level (DRAM, GLB, RF).
MAX_MAPPING_LOOPS = 21
OBJ_CYCLES, OBJ_ENERGY, OBJ_EDP = 0, 1, 2
#: counters: leaves costed, cost evaluations (loop-order classes), inner choices skipped by the
#: bounds, leaves ruled out by the bounds (theirs included), costed mappings below their bounds
#: (an internal error: the search would not be exact)
CNT_LEAVES, CNT_COSTED, CNT_SKIPPED, CNT_PRUNED_LEAVES, CNT_BOUND_BROKEN = 0, 1, 2, 3, 4
N_COUNTERS = 5
# re-fetch states of an operand above its RF tile (see the module docstring)
ST_NONE, ST_DRAM, ST_ALL = 0, 1, 2


def _class_tables() -> tuple[np.ndarray, np.ndarray]:
    """(REP, CLASSES). REP[mask, x]: the first permutation whose innermost group present in
    ``mask`` (bit g: group g has a loop at the level) is x, -1 if none; a level without loops
    has the one class x = -1, stored at REP[0, 0] = 0. CLASSES[mask]: the classes x of ``mask``
    by ascending representative, padded with -2."""
    rep = np.full((8, 3), -1, dtype=np.int64)
    classes = np.full((8, 3), -2, dtype=np.int64)
    for mask in range(8):
        found = []
        for p in range(N_PERMS):
            inner = -1
            for g in PERMS[p]:
                if (mask >> g) & 1:
                    inner = g
            if inner not in found:
                found.append(inner)
                rep[mask, max(inner, 0)] = p
        classes[mask, :len(found)] = found
    return rep, classes


REP, CLASSES = _class_tables()


@njit(cache=True)
def _cdiv(a, b):
    return (a + b - 1) // b


@njit(cache=True)
def _footprint(op, ext, problem):
    """Words of operand op in a tile of extents ``ext``, as the mapper's capacity check counts
    them: the ifmap's full window, at most the unpadded input. That is the largest tile's
    (loopnest.footprint) whenever some tile lies wholly inside the input, and never less; it
    grows with every extent, which the search's pruning needs (the largest tile less the padding
    does not: two tiles that each reach into the padding can hold fewer words than three)."""
    if op == ln.OP_IFMAP:
        rows = ln._window(ext[ln.D_E], ext[ln.D_R], problem[ln.P_STRIDE_H], problem[ln.P_IN_H])
        cols = ln._window(ext[ln.D_F], ext[ln.D_S], problem[ln.P_STRIDE_W], problem[ln.P_IN_W])
        return ext[ln.D_N] * ext[ln.D_C] * rows * cols
    words = 1
    for d in range(7):
        if ln.RELEVANCE[op, d]:
            words *= ext[d]
    return words


@njit(cache=True)
def _glb_fits(ext, problem, hw):
    """Whether GLB tiles of extents ``ext`` fit every operand's buffer (evaluate_one's test)."""
    unique = problem[ln.P_IFMAP_UNIQUE]
    for op in range(3):
        fp = _footprint(op, ext, problem)
        if op == ln.OP_IFMAP and unique >= 0:
            fp = min(fp, unique)
        if fp > hw[ln.HWL_GLB_IFMAP + op]:
            return False
    return True


@njit(cache=True)
def _windows(problem, pair, et, rt):
    """Input rows (pair 0: E with R) or columns (pair 1: F with S) read by all the tiles of
    extents et x rt, padding left out: loopnest.window_sum, as loopnest.volume counts them."""
    de = ln.D_E if pair == 0 else ln.D_F
    dr = ln.D_R if pair == 0 else ln.D_S
    return ln.window_sum(problem[de], problem[dr], et, rt, problem[ln.P_STRIDE_H + pair], problem[ln.P_PAD_H + pair],
                         problem[ln.P_IN_H + pair])


@njit(cache=True)
def _size(op, problem):
    """Words of the filter or the ofmap: the product of its dimensions' bounds."""
    words = 1
    for d in range(7):
        if ln.RELEVANCE[op, d]:
            words *= problem[d]
    return words


@njit(cache=True)
def _relevant_volume(op, ext, problem):
    """The relevant factor of loopnest.volume for tiles of extents ``ext``: the operand's size;
    for the ifmap N * C times the windows of the (E, R) and (F, S) tiles."""
    if op == ln.OP_IFMAP:
        # np.int64: a literal argument would compile _windows once more per value
        return (problem[ln.D_N] * problem[ln.D_C] * _windows(problem, np.int64(0), ext[ln.D_E], ext[ln.D_R])
                * _windows(problem, np.int64(1), ext[ln.D_F], ext[ln.D_S]))
    return _size(op, problem)


@njit(cache=True)
def _dram_ifmap(volume, mult, problem):
    """DRAM ifmap words: the GEMM view caps each pass at the unique words (evaluate_one)."""
    unique = problem[ln.P_IFMAP_UNIQUE]
    return min(volume, unique * mult) if unique >= 0 else volume


@njit(cache=True)
def energy(row, w, noc_systolic):
    """Energy of one OUTPUTS row: sum over columns k ascending of w[k] * row[k], then the systolic
    PE-to-PE terms noc_systolic[op] * max(0, macs - edge accesses of op) (the mapper's
    energy_per_mapping does the same arithmetic in the same order)."""
    e = 0.0
    for k in range(row.shape[0]):
        if w[k] != 0.0:
            e += w[k] * row[k]
    for op in range(3):
        if noc_systolic[op] != 0.0:
            edge = row[ln.X_GLB_IFMAP_R] if op == 0 else (row[ln.X_GLB_FILTER_R] if op == 1 else row[ln.X_GLB_OFMAP_W])
            e += noc_systolic[op] * max(0, row[ln.X_MACS] - edge)
    return e


@njit(cache=True)
def _op_weights(w):
    """Per operand (w_arr, w_arr_minus_out, w_pe, w_dram, w_dram_minus_out): the energy weights of
    its GLB->array volume, of that volume less the ofmap size (partial-sum reads), of its PE
    deliveries, of its DRAM volume and of that less the ofmap size."""
    wop = np.zeros((3, 5))
    wop[0, 0] = w[ln.X_GLB_IFMAP_R]
    wop[1, 0] = w[ln.X_GLB_FILTER_R]
    wop[2, 0] = w[ln.X_GLB_OFMAP_W]
    wop[2, 1] = w[ln.X_GLB_OFMAP_R]
    for op in range(3):
        wop[op, 2] = w[ln.X_RF_IFMAP + op]
    wop[0, 3] = w[ln.X_DRAM_IFMAP_R]
    wop[1, 3] = w[ln.X_DRAM_FILTER_R]
    wop[2, 3] = w[ln.X_DRAM_OFMAP_W]
    wop[2, 4] = w[ln.X_DRAM_OFMAP_R]
    return wop


@njit(cache=True)
def _inner_values(choice, opt, r, s, q):
    """Fill r (rf trips), s (PEs per dimension) and q (quotients) of one inner choice."""
    for d in range(7):
        k = choice[d]
        r[d] = opt[d, k, 0]
        s[d] = opt[d, k, 1] * opt[d, k, 2]
        q[d] = opt[d, k, 3]


@njit(cache=True)
def _steps(problem, r, s):
    """loopnest.temporal_steps for every dimension, multiplied."""
    steps = 1
    for d in range(7):
        if s[d] == 1:
            steps *= problem[d]
        else:
            steps *= _cdiv(problem[d], s[d] * r[d]) * r[d]
    return steps


@njit(cache=True)
def _inner_tables(problem, r, s, q, rep, cb_r, rel, pe_st, arr_st):
    """Per-dimension helpers (rep: PE replicas, cb_r: ceil(B / r)) and, per operand, the relevant
    factor of its PE and array volumes (rel[op] = (pe, array)) and those volumes in the states
    that do not depend on the GLB/DRAM split: ST_NONE and ST_ALL."""
    ext_pe = np.empty(7, dtype=np.int64)
    ext_arr = np.empty(7, dtype=np.int64)
    for d in range(7):
        ext_pe[d] = min(r[d], problem[d])
        ext_arr[d] = min(r[d] * s[d], problem[d])
        cb_r[d] = _cdiv(problem[d], r[d])
        rep[d] = min(s[d], cb_r[d])
    for op in range(3):
        pe = _relevant_volume(op, ext_pe, problem)
        arr = _relevant_volume(op, ext_arr, problem)
        rel[op, 0] = pe
        rel[op, 1] = arr
        pe_st[op, ST_NONE] = pe
        arr_st[op, ST_NONE] = arr
        for d in range(7):
            if GROUP_OF_DIM[d] != op:
                continue
            pe_st[op, ST_NONE] *= rep[d]
            if q[d] > 1:
                pe *= cb_r[d]
                arr *= _cdiv(problem[d], r[d] * s[d])
            else:
                pe *= rep[d]
        pe_st[op, ST_ALL] = pe
        arr_st[op, ST_ALL] = arr


@njit(cache=True)
def _split_tables(problem, choice, r, s, split, n_split, rep, cb_r, tab, ifm):
    """Per dimension d and split j of one inner choice: tab[d, j] = (its DRAM loop's re-fetch
    count when counted, its GLB tile extent, its per-PE count in ST_DRAM); ifm[0, jE, jR] and
    ifm[1, jF, jS]: the summed ifmap windows of the GLB tiles of each (E, R) and (F, S) split."""
    for d in range(7):
        for j in range(n_split[d, choice[d]]):
            g = split[d, choice[d], j, 0]
            dram = split[d, choice[d], j, 1]
            t = _cdiv(problem[d], g * r[d] * s[d]) if dram > 1 else 1
            tab[d, j, 0] = t
            tab[d, j, 1] = min(g * r[d] * s[d], problem[d])
            if dram == 1:
                tab[d, j, 2] = rep[d]           # no counted loop
            elif g > 1:
                tab[d, j, 2] = t * rep[d]       # DRAM counted, GLB loop re-used (a gap)
            else:
                tab[d, j, 2] = cb_r[d]
    for pair in range(2):
        de = ln.D_E if pair == 0 else ln.D_F
        dr = ln.D_R if pair == 0 else ln.D_S
        for je in range(n_split[de, choice[de]]):
            for jr in range(n_split[dr, choice[dr]]):
                ifm[pair, je, jr] = _windows(problem, pair, tab[de, je, 1], tab[dr, jr, 1])


@njit(cache=True)
def _rf_energy(wop, op, pe, arr, arr_back):
    """Energy of an operand's GLB->array volume ``arr`` (the partial sums read back: ``arr_back``)
    and PE deliveries ``pe``."""
    return wop[op, 0] * arr + wop[op, 1] * arr_back + wop[op, 2] * pe


@njit(cache=True)
def _dram_energy(wop, op, vol, vol_back):
    """Energy of an operand's DRAM volume ``vol`` (the partial sums read back: ``vol_back``)."""
    return wop[op, 3] * vol + wop[op, 4] * vol_back


@njit(cache=True)
def _dram_state(sel, tab, rel, pe_st, arr_st):
    """Per operand, its PE and array volumes in ST_DRAM (only the DRAM loops above the PEs counted)
    for the leaf of splits ``sel``: the relevant factor times each irrelevant dimension's count."""
    for op in range(3):
        arr = 1
        pe = 1
        for i in range(3):
            d = GROUP_DIMS[op, i]
            if d >= 0:
                arr *= tab[d, sel[d], 0]
                pe *= tab[d, sel[d], 2]
        pe_st[op, ST_DRAM] = pe * rel[op, 0]
        arr_st[op, ST_DRAM] = arr * rel[op, 1]


@njit(cache=True)
def _state(op, keep, mask_d, mask_g, xd, xg):
    """The re-fetch state of operand op above its RF tile for the order class (xd, xg)."""
    if (keep >> op) & 1 == 0:
        return ST_ALL                   # not kept: every loop above the PE re-sends
    if mask_g & ~(1 << op) != 0:        # its innermost relevant loop is in the GLB level
        return ST_ALL if xg != op else ST_DRAM
    if mask_d & ~(1 << op) != 0:        # ... in the DRAM level
        return ST_DRAM if xd != op else ST_NONE
    return ST_NONE


@njit(cache=True)
def class_bound(keep, mask_d, mask_g, xd, xg, rf_e, dram_b, e_macs):
    """A lower bound on the energy of the order class (xd, xg: innermost non-empty group of the DRAM
    and GLB levels) of a leaf: per operand, its array-side energy ``rf_e[op, state]`` in the
    re-fetch state the class gives it (:func:`_state`: none, only the DRAM loops or every loop
    above the PEs counted, [timeloop] section V's rule as nest.py applies it) and its DRAM energy
    (``dram_b`` as :func:`_node_bound` fills it with every split chosen) with its irrelevant DRAM
    loops re-used when its group is innermost in the DRAM level, else counted. Summed as
    :func:`_node_bound` sums, so where it is exact (so far, on every mapping counted) it equals the
    mapping's :func:`leaf_energy` in floating point too: the search then counts only the classes
    that can come first in their inner choice."""
    e = e_macs
    for op in range(3):
        e += rf_e[op, _state(op, keep, mask_d, mask_g, xd, xg)]
        e += dram_b[op, 0 if xd == op else 1]
    return e


@njit(cache=True)
def leaf_energy(row, wop, e_macs):
    """Energy of one counted OUTPUTS row on a multicast array, term by term in the order
    ``_node_bound`` sums a bound (MACs, then per operand its array-side and its DRAM energy), so
    that a bound equal to a mapping's energy is equal to it in floating point too, and ties are
    neither cut nor broken by rounding. The same weights as :func:`energy` (``_op_weights``)."""
    e = e_macs
    for op in range(3):
        if op == ln.OP_IFMAP:
            arr, arr_back, vol, vol_back = row[ln.X_GLB_IFMAP_R], 0, row[ln.X_DRAM_IFMAP_R], 0
        elif op == ln.OP_FILTER:
            arr, arr_back, vol, vol_back = row[ln.X_GLB_FILTER_R], 0, row[ln.X_DRAM_FILTER_R], 0
        else:
            arr, arr_back = row[ln.X_GLB_OFMAP_W], row[ln.X_GLB_OFMAP_R]
            vol, vol_back = row[ln.X_DRAM_OFMAP_W], row[ln.X_DRAM_OFMAP_R]
        e += _rf_energy(wop, op, row[ln.X_RF_IFMAP + op], arr, arr_back)
        e += _dram_energy(wop, op, vol, vol_back)
    return e


@njit(cache=True)
def _prepare(problem, hw, choice, opt, split, n_split, wop, out_size, r, s, q, rep, cb_r, rel, pe_st,
             arr_st, tab, ifm, jmax, tmin, ifm_all, ifm_given, rf_b, ext):
    """The tables of one inner choice (multicast): ``_inner_tables``, ``_split_tables``; jmax[d],
    the largest split of d whose GLB tiles fit with every other dimension at its least (splits
    above it never fit) and tmin[d], its DRAM re-fetch count, the least of any fitting split;
    ifm_given[p, ja] / ifm_all[p], the least summed ifmap windows of pair p = (E, R), (F, S) over
    fitting splits with the first dimension's split ja given / free; rf_b[op] = (energy above
    the PEs when spared (ST_NONE if kept), when not (ST_ALL)). False if no leaf fits."""
    _inner_values(choice, opt, r, s, q)
    _inner_tables(problem, r, s, q, rep, cb_r, rel, pe_st, arr_st)
    _split_tables(problem, choice, r, s, split, n_split, rep, cb_r, tab, ifm)
    for d in range(7):
        jmax[d] = -1
        for j in range(n_split[d, choice[d]] - 1, -1, -1):
            for dd in range(7):
                ext[dd] = tab[dd, j if dd == d else 0, 1]
            if _glb_fits(ext, problem, hw):
                jmax[d] = j
                break
        if jmax[d] < 0:
            return False
        tmin[d] = tab[d, jmax[d], 0]
    for pair in range(2):
        da = ln.D_E if pair == 0 else ln.D_F
        db = ln.D_R if pair == 0 else ln.D_S
        ifm_all[pair] = np.int64(2) ** 62
        for ja in range(jmax[da] + 1):
            least = ifm[pair, ja, 0]
            for jb in range(1, jmax[db] + 1):
                least = min(least, ifm[pair, ja, jb])
            ifm_given[pair, ja] = least
            ifm_all[pair] = min(ifm_all[pair], least)
    keep = hw[ln.HWL_KEEP_MASK]
    for op in range(3):
        spared = ST_NONE if (keep >> op) & 1 == 1 else ST_ALL
        rf_b[op, 0] = _rf_energy(wop, op, pe_st[op, spared], arr_st[op, spared], arr_st[op, spared] - out_size)
        rf_b[op, 1] = _rf_energy(wop, op, pe_st[op, ST_ALL], arr_st[op, ST_ALL], arr_st[op, ST_ALL] - out_size)
    return True


@njit(cache=True)
def _node_bound(problem, depth, sel, tab, tmin, ifm, ifm_all, ifm_given, wop, out_size, rf_b, e_macs, dram_b):
    """A lower bound on the energy of every leaf below a node of the split search (splits
    ``sel[:depth + 1]`` chosen; depth -1: the whole inner choice) on a multicast array.

    In any loop order at most one operand is spared re-fetching across its own group's loops
    above the PEs (the one whose group is innermost in the GLB level, or in the DRAM level if the
    GLB level has no loop); every other one moves exactly its ST_ALL volume, which does not depend
    on the split. Likewise at most one operand is spared its irrelevant DRAM loops; the others pay
    their DRAM re-fetch counts, exact for chosen dimensions and at least ``tmin`` for the others.
    The bound is the least over the nine (spared above the PEs, spared at DRAM) pairs, with the
    spared operand in ST_NONE and the ifmap's windows at their least over fitting splits."""
    for op in range(3):
        mult = np.int64(1)   # not the literal 1: numba would compile _dram_ifmap for it too
        for i in range(3):
            d = GROUP_DIMS[op, i]
            if d >= 0:
                mult *= tab[d, sel[d], 0] if d <= depth else tmin[d]
        if op == ln.OP_IFMAP:
            if depth >= ln.D_R:
                p0 = ifm[0, sel[ln.D_E], sel[ln.D_R]]
            elif depth >= ln.D_E:
                p0 = ifm_given[0, sel[ln.D_E]]
            else:
                p0 = ifm_all[0]
            if depth >= ln.D_S:
                p1 = ifm[1, sel[ln.D_F], sel[ln.D_S]]
            elif depth >= ln.D_F:
                p1 = ifm_given[1, sel[ln.D_F]]
            else:
                p1 = ifm_all[1]
            size = problem[ln.D_N] * problem[ln.D_C] * p0 * p1
            once, every = _dram_ifmap(size, np.int64(1), problem), _dram_ifmap(size * mult, mult, problem)
            dram_b[op, 0] = _dram_energy(wop, op, once, once - out_size)
            dram_b[op, 1] = _dram_energy(wop, op, every, every - out_size)
        else:
            size = _size(op, problem)
            dram_b[op, 0] = _dram_energy(wop, op, size, size - out_size)
            dram_b[op, 1] = _dram_energy(wop, op, size * mult, size * mult - out_size)
    best = np.inf
    for spared in range(3):
        for spared_dram in range(3):
            e = e_macs
            for op in range(3):
                e += rf_b[op, 0 if op == spared else 1]
                e += dram_b[op, 0 if op == spared_dram else 1]
            best = min(best, e)
    return best


@njit(cache=True)
def inner_choices(problem, hw, opt, n_opt, split, n_split, w):
    """Every inner choice within the array (rows, cols) and the register files, in enumeration
    order. Returns (choices [n, 7], cycles lower bounds [n], energy lower bounds [n], mapspace
    size, diagnostics): the mapspace size counts every leaf within the array times the 36 loop
    orders; diagnostics = [least RF footprint per operand over choices within the array (3), least
    GLB footprint per operand over choices within the register files (3), choices within the
    array]. Bounds: the step count and ``_node_bound`` of the whole choice (inf if no leaf fits
    the GLB); 0 on systolic arrays (fold timing depends on the order)."""
    systolic = hw[ln.HWL_SYSTOLIC] == 1
    j_max = split.shape[2]
    cap = 1024
    choices = np.empty((cap, 7), dtype=np.int64)
    cyc_lb = np.empty(cap, dtype=np.float64)
    e_lb = np.empty(cap, dtype=np.float64)
    n = 0
    size = 0
    big = np.int64(2) ** 62
    diag = np.array([big, big, big, big, big, big, 0], dtype=np.int64)
    if np.any(n_opt == 0):
        return choices[:0], cyc_lb[:0], e_lb[:0], size, diag
    wop = _op_weights(w)
    macs = 1
    for d in range(7):
        macs *= problem[d]
    e_macs = w[ln.X_MACS] * macs
    choice = np.zeros(7, dtype=np.int64)
    r, s, q = np.ones(7, dtype=np.int64), np.ones(7, dtype=np.int64), np.ones(7, dtype=np.int64)
    rep, cb_r = np.empty(7, dtype=np.int64), np.empty(7, dtype=np.int64)
    rel = np.empty((3, 2), dtype=np.int64)
    pe_st, arr_st = np.empty((3, 3), dtype=np.int64), np.empty((3, 3), dtype=np.int64)
    tab, ifm = np.empty((7, j_max, 3), dtype=np.int64), np.empty((2, j_max, j_max), dtype=np.int64)
    jmax, tmin = np.empty(7, dtype=np.int64), np.empty(7, dtype=np.int64)
    ifm_all, ifm_given = np.empty(2, dtype=np.int64), np.empty((2, j_max), dtype=np.int64)
    rf_b, dram_b = np.empty((3, 2)), np.empty((3, 2))
    sel = np.zeros(7, dtype=np.int64)
    ext = np.empty(7, dtype=np.int64)
    out_size = _size(ln.OP_OFMAP, problem)
    rows_used = np.ones(8, dtype=np.int64)   # rows_used[d]: product over the dims before d
    cols_used = np.ones(8, dtype=np.int64)
    d = 0
    while d >= 0:
        if choice[d] >= n_opt[d]:
            choice[d] = 0
            d -= 1
            if d >= 0:
                choice[d] += 1
            continue
        k = choice[d]
        rows_used[d + 1] = rows_used[d] * opt[d, k, 1]
        cols_used[d + 1] = cols_used[d] * opt[d, k, 2]
        if rows_used[d + 1] > hw[ln.HWL_ROWS] or cols_used[d + 1] > hw[ln.HWL_COLS]:
            choice[d] += 1
            continue
        if d < 6:
            d += 1
            choice[d] = 0
            continue
        # a leaf within the array
        diag[6] += 1
        leaves = 1
        for dd in range(7):
            leaves *= n_split[dd, choice[dd]]
        size += leaves * N_PERMS * N_PERMS
        _inner_values(choice, opt, r, s, q)
        fits = True
        for op in range(3):
            fp = _footprint(op, r, problem)
            diag[op] = min(diag[op], fp)
            if fp > hw[ln.HWL_RF_IFMAP + op]:
                fits = False
        if fits:
            for dd in range(7):
                ext[dd] = min(r[dd] * s[dd] * split[dd, choice[dd], 0, 0], problem[dd])
            for op in range(3):
                fp = _footprint(op, ext, problem)
                if op == ln.OP_IFMAP and problem[ln.P_IFMAP_UNIQUE] >= 0:
                    fp = min(fp, problem[ln.P_IFMAP_UNIQUE])
                diag[3 + op] = min(diag[3 + op], fp)
            if n == cap:
                cap *= 2
                grown = np.empty((cap, 7), dtype=np.int64)
                grown_c = np.empty(cap, dtype=np.float64)
                grown_e = np.empty(cap, dtype=np.float64)
                for i in range(n):      # element loops: an array slice assignment compiles
                    for d in range(7):  # numba's shape-mismatch message (~4 s of first-run compile)
                        grown[i, d] = choices[i, d]
                    grown_c[i] = cyc_lb[i]
                    grown_e[i] = e_lb[i]
                choices, cyc_lb, e_lb = grown, grown_c, grown_e
            for d in range(7):
                choices[n, d] = choice[d]
            if systolic:
                cyc_lb[n] = 0.0
                e_lb[n] = 0.0
            else:
                cyc_lb[n] = _steps(problem, r, s)
                if _prepare(problem, hw, choice, opt, split, n_split, wop, out_size, r, s, q, rep, cb_r, rel,
                            pe_st, arr_st, tab, ifm, jmax, tmin, ifm_all, ifm_given, rf_b, ext):
                    e_lb[n] = _node_bound(problem, np.int64(-1), sel, tab, tmin, ifm, ifm_all, ifm_given, wop, out_size,
                                          rf_b, e_macs, dram_b)
                else:
                    e_lb[n] = np.inf
            n += 1
        choice[d] += 1
    return choices[:n], cyc_lb[:n], e_lb[:n], size, diag


@njit(cache=True)
def build(choice, sel, pd, pg, opt, split, loops, spatial, cuts):
    """The kernel arrays of one mapping (inner choice, split indices, DRAM and GLB permutation):
    loops DRAM, then GLB, then RF, groups in permutation order, dims in DIMS order inside a
    group, trip-1 loops left out; one GLB and one RF cut for all operands. Returns n_loops."""
    n = 0
    for level in range(2):
        perm = pd if level == 0 else pg
        for gi in range(3):
            group = PERMS[perm, gi]
            for d in range(7):
                if GROUP_OF_DIM[d] != group:
                    continue
                trip = split[d, choice[d], sel[d], 1 - level]
                if trip > 1:
                    loops[n, 0] = d
                    loops[n, 1] = trip
                    n += 1
        if level == 0:
            cuts[0, :] = n
    cuts[1, :] = n
    for d in range(7):
        trip = opt[d, choice[d], 0]
        if trip > 1:
            loops[n, 0] = d
            loops[n, 1] = trip
            n += 1
    for i in range(n, loops.shape[0]):
        loops[i, 0] = 0
        loops[i, 1] = 1
    for d in range(7):
        spatial[0, d] = opt[d, choice[d], 1]
        spatial[1, d] = opt[d, choice[d], 2]
    return n
