"""Mapper search kernels (numba): the branch and bound over the mapspace of
accelsim/kernels/mapspace.py (its docstring states the mapspace and the bounds), with the
incumbent, the cycles/energy Pareto archive and the exhaustive per-choice search used on systolic
arrays and under array-side bandwidth limits. Every mapping costed is counted by
accelsim/kernels/shorthand.py: nest.py on the shorthand's tree on multicast arrays (the two-level
kernel, loopnest.evaluate_one, on systolic arrays and for the few mappings nest.py does not count,
as everywhere else in accelsim).
"""
from __future__ import annotations

import numpy as np

from . import loopnest as ln
from . import shorthand as sh
from .jit import njit
from .mapspace import (CLASSES, CNT_BOUND_BROKEN, CNT_COSTED, CNT_LEAVES, CNT_PRUNED_LEAVES, CNT_SKIPPED,
    GROUP_OF_DIM, MAX_MAPPING_LOOPS, OBJ_CYCLES, OBJ_ENERGY, REP, _glb_fits, _inner_values, _node_bound,
    _op_weights, _prepare, _rf_energy, _size, _steps, _dram_state, build, class_bound, energy, leaf_energy,
    ST_ALL, ST_DRAM, ST_NONE)
from .nest import COUNT_COLS

@njit(cache=True)
def _scratch(keep, n_rows):
    """Level arrays and scratch of shorthand.outputs_into for mappings of up to ``n_rows`` loops."""
    return (sh.shorthand_levels(keep), np.zeros((1, n_rows + sh.SPATIAL_ROWS, 4), dtype=np.int64),
            np.zeros(1, dtype=np.int64), np.zeros((3, 1, sh.LEVELS, 3, COUNT_COLS), dtype=np.int64),
            np.zeros(1, dtype=np.int64))


@njit(cache=True)
def _copy(dst, src):
    """dst[:] = src for 1-D arrays of one length, element by element: an array slice assignment
    compiles numba's shape-mismatch error message (seconds of first-run compile)."""
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@njit(cache=True)
def _objective(objective, cycles, e):
    if objective == OBJ_CYCLES:
        return cycles
    if objective == OBJ_ENERGY:
        return e
    return cycles * e


@njit(cache=True)
def _key_less(a, b):
    """Key a < key b, lexicographically (keys: [choice, split index, DRAM perm, GLB perm])."""
    for i in range(4):
        if a[i] != b[i]:
            return a[i] < b[i]
    return False


@njit(cache=True)
def _archive_dominated(c, e, i_index, ar_c, ar_e, ar_key, n_ar):
    """Whether an archived point beats every mapping of inner choice ``i_index`` whose cycles and
    energy are at least (c, e): no worse in both, and better in one or earlier."""
    for a in range(n_ar):
        if ar_c[a] <= c and ar_e[a] <= e and (ar_c[a] < c or ar_e[a] < e or ar_key[a, 0] < i_index):
            return True
    return False


@njit(cache=True)
def _archive_insert(c, e, key, sel, ar_c, ar_e, ar_key, ar_sel, n_ar):
    """Insert (c, e, key) into the Pareto archive unless an archived point is no worse in both
    and better in one or not later; drop the points it beats. Returns the new size, -1 if full."""
    for a in range(n_ar):
        if ar_c[a] <= c and ar_e[a] <= e and (ar_c[a] < c or ar_e[a] < e or not _key_less(key, ar_key[a])):
            return n_ar
    m = 0
    for a in range(n_ar):
        if c <= ar_c[a] and e <= ar_e[a]:
            continue
        if m != a:
            ar_c[m] = ar_c[a]
            ar_e[m] = ar_e[a]
            _copy(ar_key[m], ar_key[a])
            _copy(ar_sel[m], ar_sel[a])
        m += 1
    if m == ar_c.shape[0]:
        return -1
    ar_c[m] = c
    ar_e[m] = e
    _copy(ar_key[m], key)
    _copy(ar_sel[m], sel)
    return m + 1


@njit(cache=True)
def _compare(obj, e, best_obj):
    """-1, 0 or 1 as (objective, energy) is lower than, equal to or higher than the incumbent's
    (best_obj = [objective, energy]): ties on the objective go to the lower energy."""
    if obj != best_obj[0]:
        return -1 if obj < best_obj[0] else 1
    if e != best_obj[1]:
        return -1 if e < best_obj[1] else 1
    return 0


@njit(cache=True)
def _offer(objective, c, e, key, sel, best_obj, best_key, best_sel):
    """Make (c, e, key) the incumbent if it comes first: lower objective, then lower energy,
    then earlier key."""
    obj = _objective(objective, c, e)
    order = _compare(obj, e, best_obj)
    if best_key[0] < 0 or order < 0 or (order == 0 and _key_less(key, best_key)):
        best_obj[0] = obj
        best_obj[1] = e
        _copy(best_key, key)
        _copy(best_sel, sel)


@njit(cache=True)
def _beaten(objective, c, e, i, best_obj, best_key, ar_c, ar_e, ar_key, n_ar):
    """Whether no mapping of inner choice i with cycles and energy at least (c, e) can become the
    incumbent or enter the Pareto archive."""
    if best_key[0] < 0:
        return False
    order = _compare(_objective(objective, c, e), e, best_obj)
    if order < 0 or (order == 0 and i <= best_key[0]):
        return False
    return _archive_dominated(c, e, i, ar_c, ar_e, ar_key, n_ar)


@njit(cache=True)
def _masks(choice, sel, split):
    """Bit g of (DRAM mask, GLB mask): group g has a loop at that level."""
    mask_d = 0
    mask_g = 0
    for d in range(7):
        if split[d, choice[d], sel[d], 1] > 1:
            mask_d |= 1 << GROUP_OF_DIM[d]
        if split[d, choice[d], sel[d], 0] > 1:
            mask_g |= 1 << GROUP_OF_DIM[d]
    return mask_d, mask_g


@njit(cache=True)
def _explore_exhaustive(i, choice, cyc_bound, e_bound, problem, hw, opt, split, n_split, w, noc_systolic, bandwidths,
                        objective, best_obj, best_key, best_sel, ar_c, ar_e, ar_key, ar_sel, ar_n, counters):
    """Every fitting leaf and order class of inner choice i counted by shorthand.outputs_into,
    costed at its cycles under the array-side bandwidth limits (loopnest.bandwidth_cycles) and
    checked against the choice's bounds (cyc_bound, e_bound). Used on systolic arrays (the fold
    timing depends on the order) and wherever a bandwidth limit makes the cycles of a choice's
    mappings differ. False if the archive filled up (the choice's counts are then left out: it is
    searched again)."""
    leaves = 0
    costed = 0
    r, s, q = np.ones(7, dtype=np.int64), np.ones(7, dtype=np.int64), np.ones(7, dtype=np.int64)
    _inner_values(choice, opt, r, s, q)
    sel = np.zeros(7, dtype=np.int64)
    ext = np.empty(7, dtype=np.int64)
    ext0 = np.empty(7, dtype=np.int64)
    radix = np.ones(7, dtype=np.int64)
    key = np.zeros(4, dtype=np.int64)
    row = np.zeros(len(ln.OUTPUTS), dtype=np.int64)
    actions = np.zeros(9, dtype=np.int64)
    systolic = hw[ln.HWL_SYSTOLIC] == 1
    loops = np.zeros((MAX_MAPPING_LOOPS, 2), dtype=np.int64)
    spatial = np.ones((2, 7), dtype=np.int64)
    cuts = np.zeros((2, 3), dtype=np.int64)
    levels, rows, n_rows, counts, macs = _scratch(hw[ln.HWL_KEEP_MASK], MAX_MAPPING_LOOPS)
    for d in range(6, -1, -1):
        radix[d] = 1 if d == 6 else radix[d + 1] * n_split[d + 1, choice[d + 1]]
    for d in range(7):
        ext0[d] = min(r[d] * s[d] * split[d, choice[d], 0, 0], problem[d])
        ext[d] = ext0[d]
    d = 0
    while d >= 0:
        if sel[d] >= n_split[d, choice[d]]:
            sel[d] = 0
            ext[d] = ext0[d]
            d -= 1
            if d >= 0:
                sel[d] += 1
            continue
        ext[d] = min(r[d] * s[d] * split[d, choice[d], sel[d], 0], problem[d])
        if not _glb_fits(ext, problem, hw):        # splits ascend: the larger ones do not fit either
            sel[d] = n_split[d, choice[d]]
            continue
        if d < 6:
            d += 1
            continue
        leaves += 1
        key[0] = i
        key[1] = 0
        for dd in range(7):
            key[1] += sel[dd] * radix[dd]
        mask_d, mask_g = _masks(choice, sel, split)
        for a in range(3):
            if CLASSES[mask_d, a] == -2:
                break
            key[2] = REP[mask_d, max(CLASSES[mask_d, a], 0)]
            for b in range(3):
                if CLASSES[mask_g, b] == -2:
                    break
                key[3] = REP[mask_g, max(CLASSES[mask_g, b], 0)]
                costed += 1
                n_loops = build(choice, sel, key[2], key[3], opt, split, loops, spatial, cuts)
                sh.outputs_into(problem, loops, n_loops, spatial, cuts, hw, levels, np.bool_(False), rows, n_rows, counts, macs,
                                row)
                e = energy(row, w, noc_systolic)
                c = float(ln.bandwidth_cycles(row, bandwidths, hw[ln.HWL_KEEP_MASK], systolic, actions))
                if c < cyc_bound or e < e_bound:
                    counters[CNT_BOUND_BROKEN] += 1
                _offer(objective, c, e, key, sel, best_obj, best_key, best_sel)
                n_ar = _archive_insert(c, e, key, sel, ar_c, ar_e, ar_key, ar_sel, ar_n[0])
                if n_ar < 0:
                    return False
                ar_n[0] = n_ar
        sel[d] += 1
    counters[CNT_LEAVES] += leaves
    counters[CNT_COSTED] += costed
    return True


@njit(cache=True)
def explore_exhaustive(order, choices, cyc_lb, e_lb, problem, hw, opt, split, n_split, w, noc_systolic, bandwidths,
                       objective, best_obj, best_key, best_sel, ar_c, ar_e, ar_key, ar_sel, ar_n, counters):
    """:func:`explore` on a systolic array or under a finite bandwidth (``bandwidths``: the global
    buffer's, the array network's and all register files' words per cycle, ``math.inf``:
    unlimited), where the cycles of a choice's mappings differ: every fitting leaf and order class
    of each inner choice not yet beaten (:func:`_explore_exhaustive`; the choice bounds stay exact
    lower bounds, cycles never falling below the step count). Returns how many entries of
    ``order`` were done: fewer than all only when the archive fills up (grow it and call again
    from there). A kernel of its own, so that a multicast search never compiles it."""
    for t in range(order.shape[0]):
        i = order[t]
        choice = choices[i]
        leaves = 1
        for d in range(7):
            leaves *= n_split[d, choice[d]]
        if _beaten(objective, cyc_lb[i], e_lb[i], i, best_obj, best_key, ar_c, ar_e, ar_key, ar_n[0]):
            counters[CNT_SKIPPED] += 1
            counters[CNT_PRUNED_LEAVES] += leaves
            continue
        if not _explore_exhaustive(i, choice, cyc_lb[i], e_lb[i], problem, hw, opt, split, n_split, w, noc_systolic,
                                   bandwidths, objective, best_obj, best_key, best_sel, ar_c, ar_e, ar_key, ar_sel,
                                   ar_n, counters):
            return t
    return order.shape[0]


@njit(cache=True)
def explore(order, choices, cyc_lb, e_lb, problem, hw, opt, split, n_split, w, noc_systolic, objective, best_obj,
            best_key, best_sel, ar_c, ar_e, ar_key, ar_sel, ar_n, counters):
    """Search the leaves of the inner choices ``order`` (indices into ``choices``), updating the
    incumbent (best_obj = [objective, energy]; best_key = [choice, split index, DRAM perm, GLB
    perm], best_key[0] = -1 while there is none; best_sel = split index per dimension), the
    Pareto archive (ar_*, ar_n[0] points) and ``counters``; returns the number of entries of
    ``order`` (all done). On a multicast array without bandwidth limits (else
    :func:`explore_exhaustive`).

    On a multicast array an inner choice has one cycle count, so only its least-energy mapping
    (of equal ones, the first) can be its best for any objective and its Pareto candidate. Its
    splits are searched largest GLB trip first, cutting every subtree whose ``_node_bound``
    exceeds the least energy found in the choice or is ``_beaten``. Each order class of a leaf
    reached whose ``class_bound`` could still come first in the choice is counted by
    shorthand.outputs_into (nest.py) and checked against that bound and the choice's step count
    (``counters[CNT_BOUND_BROKEN]`` counts the misses)."""
    keep = hw[ln.HWL_KEEP_MASK]
    j_max = split.shape[2]
    wop = _op_weights(w)
    macs = 1
    for d in range(7):
        macs *= problem[d]
    e_macs = w[ln.X_MACS] * macs
    r, s, q = np.ones(7, dtype=np.int64), np.ones(7, dtype=np.int64), np.ones(7, dtype=np.int64)
    rep, cb_r = np.empty(7, dtype=np.int64), np.empty(7, dtype=np.int64)
    rel = np.empty((3, 2), dtype=np.int64)
    pe_st, arr_st = np.empty((3, 3), dtype=np.int64), np.empty((3, 3), dtype=np.int64)
    tab, ifm = np.empty((7, j_max, 3), dtype=np.int64), np.empty((2, j_max, j_max), dtype=np.int64)
    rf_e = np.empty((3, 3))
    jmax, tmin = np.empty(7, dtype=np.int64), np.empty(7, dtype=np.int64)
    ifm_all, ifm_given = np.empty(2, dtype=np.int64), np.empty((2, j_max), dtype=np.int64)
    rf_b, dram_b = np.empty((3, 2)), np.empty((3, 2))
    row = np.zeros(len(ln.OUTPUTS), dtype=np.int64)
    loops = np.zeros((MAX_MAPPING_LOOPS, 2), dtype=np.int64)
    spatial = np.ones((2, 7), dtype=np.int64)
    cuts = np.zeros((2, 3), dtype=np.int64)
    levels, rows, n_rows, counts, n_macs = _scratch(hw[ln.HWL_KEEP_MASK], MAX_MAPPING_LOOPS)
    sel = np.zeros(7, dtype=np.int64)
    fitted = np.zeros(7, dtype=np.bool_)
    ext = np.empty(7, dtype=np.int64)
    radix = np.ones(7, dtype=np.int64)
    key = np.zeros(4, dtype=np.int64)
    i_key = np.zeros(4, dtype=np.int64)       # the inner choice's least-energy mapping (cycles i_c)
    i_sel = np.zeros(7, dtype=np.int64)
    out_size = _size(ln.OP_OFMAP, problem)
    for t in range(order.shape[0]):
        i = order[t]
        choice = choices[i]
        for d in range(6, -1, -1):
            radix[d] = 1 if d == 6 else radix[d + 1] * n_split[d + 1, choice[d + 1]]
        if _beaten(objective, cyc_lb[i], e_lb[i], i, best_obj, best_key, ar_c, ar_e, ar_key, ar_n[0]):
            counters[CNT_SKIPPED] += 1
            counters[CNT_PRUNED_LEAVES] += radix[0] * n_split[0, choice[0]]
            continue
        if not _prepare(problem, hw, choice, opt, split, n_split, wop, out_size, r, s, q, rep, cb_r, rel, pe_st,
                        arr_st, tab, ifm, jmax, tmin, ifm_all, ifm_given, rf_b, ext):
            continue
        steps = float(_steps(problem, r, s))
        for op in range(3):
            for st in (ST_NONE, ST_ALL):
                rf_e[op, st] = _rf_energy(wop, op, pe_st[op, st], arr_st[op, st], arr_st[op, st] - out_size)
        i_e = np.inf
        i_c = steps
        i_key[0] = -1
        for d in range(7):
            ext[d] = tab[d, 0, 1]
        d = 0
        sel[0] = jmax[0]
        fitted[0] = False
        while d >= 0:
            if sel[d] < 0:
                ext[d] = tab[d, 0, 1]
                d -= 1
                if d >= 0:
                    sel[d] -= 1
                continue
            ext[d] = tab[d, sel[d], 1]
            if not fitted[d]:                      # (with the dims after d at their least)
                if not _glb_fits(ext, problem, hw):
                    sel[d] -= 1
                    continue
                fitted[d] = True                   # so do all smaller splits of d
            lb = _node_bound(problem, np.int64(d), sel, tab, tmin, ifm, ifm_all, ifm_given, wop, out_size, rf_b, e_macs,
                             dram_b)
            useless = _beaten(objective, steps, lb, i, best_obj, best_key, ar_c, ar_e, ar_key, ar_n[0])
            if lb > i_e or useless:
                counters[CNT_PRUNED_LEAVES] += radix[d]
                sel[d] -= 1
                continue
            if d < 6:
                d += 1
                sel[d] = jmax[d]
                fitted[d] = False
                continue
            counters[CNT_LEAVES] += 1
            key[0] = i
            key[1] = 0
            for dd in range(7):
                key[1] += sel[dd] * radix[dd]
            mask_d, mask_g = _masks(choice, sel, split)
            _dram_state(sel, tab, rel, pe_st, arr_st)
            for op in range(3):
                rf_e[op, ST_DRAM] = _rf_energy(wop, op, pe_st[op, ST_DRAM], arr_st[op, ST_DRAM],
                                               arr_st[op, ST_DRAM] - out_size)
            for a in range(3):
                xd = CLASSES[mask_d, a]
                if xd == -2:
                    break
                key[2] = REP[mask_d, max(xd, 0)]
                for b in range(3):
                    xg = CLASSES[mask_g, b]
                    if xg == -2:
                        break
                    key[3] = REP[mask_g, max(xg, 0)]
                    bound = class_bound(keep, mask_d, mask_g, xd, xg, rf_e, dram_b, e_macs)
                    if bound > i_e or (bound == i_e and not _key_less(key, i_key)):
                        continue                   # cannot be the choice's least: not counted
                    counters[CNT_COSTED] += 1
                    n_loops = build(choice, sel, key[2], key[3], opt, split, loops, spatial, cuts)
                    sh.outputs_into(problem, loops, n_loops, spatial, cuts, hw, levels, np.bool_(False), rows, n_rows, counts,
                                    n_macs, row)
                    e = leaf_energy(row, wop, e_macs)
                    if e < bound or row[ln.X_COMPUTE] != steps:
                        counters[CNT_BOUND_BROKEN] += 1
                    if e < i_e or (e == i_e and _key_less(key, i_key)):
                        i_e = e
                        i_c = float(row[ln.X_COMPUTE])
                        _copy(i_key, key)
                        _copy(i_sel, sel)
            sel[d] -= 1
        if i_key[0] >= 0:
            _offer(objective, i_c, i_e, i_key, i_sel, best_obj, best_key, best_sel)
            ar_n[0] = _archive_insert(i_c, i_e, i_key, i_sel, ar_c, ar_e, ar_key, ar_sel, ar_n[0])
    return order.shape[0]
