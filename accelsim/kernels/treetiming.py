"""Batch kernels of the tree timing model (accelsim/loopnest/tree_timing.py): arrays in, arrays out,
one candidate mapping per leading index, its rows as accelsim/kernels/nest.py lays them out.

:func:`live_batch` is the number of compute steps (or systolic folds) of each candidate: per
dimension, the combinations of the counted rows that hold a live iteration (nest.py ``_live``),
multiplied over the eight dimensions. :func:`spatial_products` is, per candidate and tree level,
the product of the spatial factors above that level (the instances in use there, or, over the
reduction dimensions only, the copies of each output word whose first update needs no read-back).
"""
from __future__ import annotations

import numpy as np

from .jit import njit
from .nest import NDIMS, R_DIM, R_LEVEL, R_SPATIAL, R_TRIP, _live


@njit(cache=True)
def live_batch(rows, counted, bounds):
    """``rows[b]`` (n, rows, 4) with ``counted[b]`` (n, rows) booleans and ``bounds`` (the eight
    dimensions' bounds) -> per candidate, the product over dimensions of ``_live``."""
    n = rows.shape[0]
    out = np.ones(n, dtype=np.int64)
    for b in range(n):
        value = 1
        for d in range(NDIMS):
            value *= _live(rows[b], counted[b], d, bounds[d])
        out[b] = value
    return out


@njit(cache=True)
def spatial_products(rows, n_levels, dim_mask):
    """``out[b, i]`` (i = 0..n_levels): the product of the trips of candidate b's spatial rows at
    levels above level i (level < i) whose dimension's bit is set in ``dim_mask``."""
    n = rows.shape[0]
    out = np.ones((n, n_levels + 1), dtype=np.int64)
    for b in range(n):
        for r in range(rows.shape[1]):
            if rows[b, r, R_SPATIAL] == 1 and (dim_mask >> rows[b, r, R_DIM]) & 1 == 1:
                trip = rows[b, r, R_TRIP]
                for i in range(rows[b, r, R_LEVEL] + 1, n_levels + 1):
                    out[b, i] *= trip
    return out


@njit(cache=True)
def window_union(period, allowed, count):
    """Cycles of the layer in which at least one of a port's transfers may update its memory: each
    transfer i may use the first ``allowed[i]`` cycles of every ``period[i]`` (``count[i]`` periods);
    the union over one longest period, times that transfer's periods (ZigZag 3.9.1
    ``CostModelEvaluation.__calc_mem_updating_window_union``, zigzag/cost_model/cost_model.py 396-439:
    a transfer whose window is its whole period makes the union the whole run)."""
    n = period.shape[0]
    for i in range(n):
        if period[i] == allowed[i]:
            return period[i] * count[i]
    first = 0
    for i in range(n):
        if period[i] > period[first]:
            first = i
    longest = period[first]
    used = np.zeros(longest, dtype=np.bool_)
    for i in range(n):
        for start in range(0, longest, period[i]):
            for c in range(start, min(start + allowed[i], longest)):
                used[c] = True
    return used.sum() * count[first]


# ----------------------------------------------------------------------------- timing: zigzag
# The model and its citations: accelsim/loopnest/timing_zigzag.py. Directions of a transfer at a memory:
# to the level below, from the level above, to the level above, from the level below (ZigZag's tl, fh,
# th, fl). Kinds of a dimension for an operand: relevant, irrelevant, partially relevant (the ifmap's
# window dims).
ZZ_TL, ZZ_FH, ZZ_TH, ZZ_FL = 0, 1, 2, 3
ZZ_R, ZZ_IR, ZZ_PR = 0, 1, 2
#: out columns of :func:`zigzag_batch`
(ZZ_IDEAL, ZZ_STALL, ZZ_ONLOAD, ZZ_OFFLOAD, ZZ_DRAIN, ZZ_STALL_LEVEL, ZZ_ONLOAD_LEVEL,
 ZZ_OFFLOAD_LEVEL) = range(8)


@njit(cache=True)
def _zz_footprint(k, dims, trips, n, kinds, bounds, stride, dilation):
    """Words of operand k the loops (dims[:n], trips[:n]) cover; timing_zigzag.py ``_footprint``."""
    size = np.ones(8, dtype=np.int64)
    for j in range(n):
        size[dims[j]] *= trips[j]
    for d in range(8):
        if size[d] > bounds[d]:
            size[d] = bounds[d]
    words = 1
    for d in range(8):
        if kinds[k, d] == ZZ_R:
            words *= size[d]
    if k == 0:
        for axis in range(2):
            a = size[3 + axis]          # E, F
            b = size[5 + axis]          # R, S
            s, dl = stride[axis], dilation[axis]
            g = s
            h = dl
            while h:
                g, h = h, g % h
            extra = b - s // g
            if extra < 0:
                extra = 0
            words *= a * b - extra * (a - dl // g)
    return words


@njit(cache=True)
def _zz_top(kinds, dims, trips, n, kind):
    """Product of the outermost loops of (dims[:n], trips[:n]) (innermost first) of ``kind``, up to
    the first other one (ZigZag's ``top_r_loop_size`` / ``top_ir_loop_size``)."""
    p = 1
    for j in range(n - 1, -1, -1):
        if kinds[dims[j]] != kind:
            break
        p *= trips[j]
    return p


@njit(cache=True)
def _zz_reduce_ordered(need, least, surplus, n):
    """timing_zigzag.py ``_reduce_ordered`` (ZigZag's ``reduce_ordered``), in place on need[:n]."""
    order = np.argsort(-need[:n], kind="mergesort")
    for j in range(n):
        if surplus <= 0:
            break
        i = order[j]
        cut = need[i] - least[i]
        if cut < 0:
            cut = 0.0
        if cut > surplus:
            cut = surplus
        need[i] -= cut
        surplus -= cut


@njit(cache=True)
def zigzag_batch(rows, n_rows, cuts, keeps, storage, systolic, size_bits, shared, port_level, port_bits,
                 port_width, serve_op, serve_dir, n_serve, kinds, precision, bounds, stride, dilation):
    """ZigZag's latency of each candidate ``rows[b, :n_rows[b]]`` (accelsim/kernels/nest.py rows):
    ``out[b]`` = ideal steps, port stall, on-loading, off-loading, systolic drain, and the tree levels
    charged with the stall, the on-loading and the off-loading (-1: none). The tree: ``keeps[L, 3]``,
    ``storage[L]``, ``systolic[L]``, ``size_bits[L, 3]`` (each operand's capacity, inf unbounded),
    ``shared[L]`` (one capacity for the operands kept); ports p: ``port_level``, ``port_bits[p, 3]``,
    ``port_width``, the transfers served in order ``serve_op[p, :n_serve[p]]``, ``serve_dir``;
    ``cuts[L, 3]`` per-operand tile cuts (-1: the level's own); ``kinds[3, 8]`` (ZZ_R / ZZ_IR /
    ZZ_PR); ``precision`` = ifmap, filter, partial-sum, final-output bits; the layer's ``bounds[8]``,
    ``stride[2]``, ``dilation[2]``. accelsim/loopnest/timing_zigzag.py documents every step."""
    n_cand = rows.shape[0]
    L = keeps.shape[0]
    R = rows.shape[1] + 1
    out = np.zeros((n_cand, 8), dtype=np.int64)
    for b in range(n_cand):
        nr = n_rows[b]
        trip = np.empty(nr, dtype=np.int64)
        for r in range(nr):
            trip[r] = rows[b, r, R_TRIP]
        # ZigZag's integer unrolling (timing_zigzag.py _integer_unrolling)
        for d in range(8):
            top = -1
            others = 1
            for r in range(nr):
                if rows[b, r, R_SPATIAL] == 1 and rows[b, r, R_DIM] == d and rows[b, r, R_TRIP] > 1:
                    if top < 0 or rows[b, r, R_TRIP] > rows[b, top, R_TRIP]:
                        top = r
            if top < 0:
                continue
            for r in range(nr):
                if r != top and rows[b, r, R_SPATIAL] == 1 and rows[b, r, R_DIM] == d and rows[b, r, R_TRIP] > 1:
                    others *= rows[b, r, R_TRIP]
            u = rows[b, top, R_TRIP]
            steps = -(-bounds[d] // (u * others))
            v = int(bounds[d] / steps / others)
            trip[top] = v if v > 1 else 1
        nm = np.zeros(3, dtype=np.int64)
        mems = np.zeros((3, L), dtype=np.int64)
        total = 1
        # per operand, memory m: stationary loops, periods, transfers
        cabl = np.ones((3, L), dtype=np.int64)
        top_ir = np.ones((3, L + 1), dtype=np.int64)
        top_r = np.ones((3, L + 1), dtype=np.int64)
        prec = np.zeros((3, L + 1), dtype=np.int64)
        data = np.zeros((3, L + 1), dtype=np.int64)
        bits = np.zeros((3, L + 1), dtype=np.int64)
        psum = np.zeros((3, L + 1), dtype=np.bool_)
        boost = np.ones((3, L + 1), dtype=np.int64)
        # moves[k, m, dir]: exists, bw, period, count, amount, prec, window, real, allowed
        mv = np.zeros((3, L, 4, 9), dtype=np.float64)
        for k in range(3):
            n = 0
            for i in range(L - 1, -1, -1):
                if storage[i] and keeps[i, k]:
                    mems[k, n] = i
                    n += 1
            nm[k] = n
            cut = np.empty(n, dtype=np.int64)
            for m in range(n):
                i = mems[k, m]
                c = nr
                for r in range(nr):
                    if rows[b, r, R_LEVEL] >= i:
                        c = r
                        break
                cut[m] = cuts[i, k] if cuts[i, k] >= 0 else c
            tm_d = np.zeros((n, R), dtype=np.int64)
            tm_t = np.zeros((n, R), dtype=np.int64)
            tm_n = np.zeros(n, dtype=np.int64)
            su_d = np.zeros((n + 1, R), dtype=np.int64)
            su_t = np.zeros((n + 1, R), dtype=np.int64)
            su_n = np.zeros(n + 1, dtype=np.int64)
            for r in range(nr - 1, -1, -1):
                t = trip[r]
                if t <= 1:
                    continue
                d = rows[b, r, R_DIM]
                if rows[b, r, R_SPATIAL] == 1:
                    a = 0
                    for m in range(n):
                        if mems[k, m] > rows[b, r, R_LEVEL]:
                            a += 1
                    su_d[a, su_n[a]] = d
                    su_t[a, su_n[a]] = t
                    su_n[a] += 1
                else:
                    for m in range(n):
                        if r >= cut[m]:
                            tm_d[m, tm_n[m]] = d
                            tm_t[m, tm_n[m]] = t
                            tm_n[m] += 1
                            break
            # stationarity: merge the bottom irrelevant loops down until nothing moves
            mac_st = 1
            while True:
                st_d = np.zeros((n, R), dtype=np.int64)
                st_t = np.zeros((n, R), dtype=np.int64)
                st_n = np.zeros(n, dtype=np.int64)
                mac_st = 1
                for m in range(n):
                    for j in range(tm_n[m]):
                        d, t = tm_d[m, j], tm_t[m, j]
                        if kinds[k, d] == ZZ_IR:
                            target = 0 if m == 0 else m - 1
                            if m == 0:
                                mac_st *= t
                            st_d[target, st_n[target]] = d
                            st_t[target, st_n[target]] = t
                            st_n[target] += 1
                        else:
                            for jj in range(j, tm_n[m]):
                                st_d[m, st_n[m]] = tm_d[m, jj]
                                st_t[m, st_n[m]] = tm_t[m, jj]
                                st_n[m] += 1
                            break
                same = True
                for m in range(n):
                    if st_n[m] != tm_n[m]:
                        same = False
                    else:
                        for j in range(st_n[m]):
                            if st_d[m, j] != tm_d[m, j] or st_t[m, j] != tm_t[m, j]:
                                same = False
                tm_d, tm_t, tm_n = st_d, st_t, st_n
                if same:
                    break
            c = 1
            for m in range(n):
                for j in range(tm_n[m]):
                    c *= tm_t[m, j]
                cabl[k, m] = c
                top_r[k, m + 1] = _zz_top(kinds[k], tm_d[m], tm_t[m], tm_n[m], np.int64(ZZ_R))   # typed kinds: _zz_top compiles once
                top_ir[k, m + 1] = _zz_top(kinds[k], tm_d[m], tm_t[m], tm_n[m], np.int64(ZZ_IR))
            if n:
                total = cabl[k, n - 1]
            ir_at = np.zeros(n + 1, dtype=np.bool_)
            for a in range(n + 1):
                if a:
                    for j in range(tm_n[a - 1]):
                        if kinds[k, tm_d[a - 1, j]] == ZZ_IR:
                            ir_at[a] = True
                for j in range(su_n[a]):
                    if kinds[k, su_d[a, j]] == ZZ_IR:
                        ir_at[a] = True
            for m in range(n):
                for a in range(m + 1, n + 1):
                    if ir_at[a]:
                        psum[k, m] = True
            for a in range(n + 1):
                prec[k, a] = precision[k] if k != 2 else (precision[2] if psum[k, a] else precision[3])
            # data per instance at arch level a; unique tiles the unrolling at a serves
            ld = np.zeros(2 * n * R + 1, dtype=np.int64)
            lt = np.zeros(2 * n * R + 1, dtype=np.int64)
            cnt = np.int64(0)   # typed, not Literal[int](0): _zz_footprint compiles once
            for a in range(n + 1):
                data[k, a] = _zz_footprint(k, ld, lt, cnt, kinds, bounds, stride, dilation)
                bits[k, a] = data[k, a] * prec[k, a]
                if a < n:
                    for j in range(tm_n[a]):
                        ld[cnt] = tm_d[a, j]
                        lt[cnt] = tm_t[a, j]
                        cnt += 1
                    for j in range(su_n[a]):
                        ld[cnt] = su_d[a, j]
                        lt[cnt] = su_t[a, j]
                        cnt += 1
            unique = np.zeros(n + 1, dtype=np.float64)
            sd = np.zeros(n * R + R + 1, dtype=np.int64)
            stt = np.zeros(n * R + R + 1, dtype=np.int64)
            if k == 0:
                cnt = np.int64(0)
                for a in range(n + 1):
                    for j in range(su_n[a]):
                        sd[cnt] = su_d[a, j]
                        stt[cnt] = su_t[a, j]
                        cnt += 1
                every = _zz_footprint(k, sd, stt, cnt, kinds, bounds, stride, dilation)
                cnt = np.int64(0)
                for a in range(n + 1):
                    unique[a] = every / _zz_footprint(k, sd, stt, cnt, kinds, bounds, stride, dilation)
                    for j in range(su_n[a]):
                        sd[cnt] = su_d[a, j]
                        stt[cnt] = su_t[a, j]
                        cnt += 1
            else:
                for a in range(n + 1):
                    cnt = np.int64(0)
                    for a2 in range(a, n + 1):
                        for j in range(su_n[a2]):
                            sd[cnt] = su_d[a2, j]
                            stt[cnt] = su_t[a2, j]
                            cnt += 1
                    unique[a] = _zz_footprint(k, sd, stt, cnt, kinds, bounds, stride, dilation)
            for a in range(n):
                boost[k, a] = round(unique[a] / unique[a + 1])
            cycle = np.ones(n + 1, dtype=np.int64)
            cycle[0] = mac_st if k != 2 else 1
            for m in range(n):
                cycle[m + 1] = cabl[k, m]
            for m in range(n):
                low = data[k, m] * prec[k, m] / cycle[m]
                high = data[k, m + 1] * prec[k, m + 1] / cycle[m + 1]
                down_bw = int(low * boost[k, m])
                down_amount = data[k, m] * boost[k, m]
                for dr in range(4):
                    up = dr == ZZ_FH or dr == ZZ_TH
                    if k != 2:
                        exists = dr == ZZ_TL or dr == ZZ_FH
                        p = prec[k, m]
                    else:
                        exists = dr == ZZ_FL or dr == ZZ_TH or (dr == ZZ_TL and psum[k, m]) or \
                            (dr == ZZ_FH and psum[k, m + 1])
                        if up:
                            p = precision[2] if psum[k, m + 1] else precision[3]
                        else:
                            p = precision[2] if psum[k, m] else precision[3]
                    if up and m == n - 1:
                        exists = False
                    if not exists:
                        continue
                    mv[k, m, dr, 0] = 1
                    if up:
                        mv[k, m, dr, 1] = int(high)
                        mv[k, m, dr, 2] = cycle[m + 1]
                        mv[k, m, dr, 4] = data[k, m + 1]
                    else:
                        mv[k, m, dr, 1] = down_bw
                        mv[k, m, dr, 2] = cycle[m]
                        mv[k, m, dr, 4] = down_amount
                    mv[k, m, dr, 5] = p
                    scale = top_ir[k, m] if not up else top_ir[k, m + 1]
                    mv[k, m, dr, 6] = int(mv[k, m, dr, 2] / scale)
        # periods per layer (every operand's total is the same: the product of the temporal loops)
        for k in range(3):
            for m in range(nm[k]):
                for dr in range(4):
                    if mv[k, m, dr, 0]:
                        mv[k, m, dr, 3] = total // int(mv[k, m, dr, 2])
        # double buffering (cost_model.py 441-485, 635-667), operands in ZigZag's order O, W, I
        indiv = np.zeros((3, L), dtype=np.float64)
        shared_util = np.zeros((3, L), dtype=np.float64)
        for k in range(3):
            for m in range(nm[k]):
                i = mems[k, m]
                indiv[k, m] = (bits[k, m + 1] // top_r[k, m + 1]) / size_bits[i, k]
        mem_of = -np.ones((3, L), dtype=np.int64)
        for k in range(3):
            for m in range(nm[k]):
                mem_of[k, mems[k, m]] = m
        for k in range(3):
            for m in range(nm[k]):
                i = mems[k, m]
                if shared[i]:
                    for k2 in range(3):
                        if mem_of[k2, i] >= 0:
                            shared_util[k, m] += indiv[k2, mem_of[k2, i]]
                else:
                    shared_util[k, m] = indiv[k, m]
        double = np.zeros((3, L + 1), dtype=np.bool_)
        for k in (2, 1, 0):
            for m in range(nm[k]):
                i = mems[k, m]
                if shared_util[k, m] <= 0.5:
                    double[k, m + 1] = True
                elif indiv[k, m] <= 1 - shared_util[k, m]:
                    double[k, m + 1] = True
                    for k2 in range(3):
                        if (shared[i] or k2 == k) and mem_of[k2, i] >= 0:
                            shared_util[k2, mem_of[k2, i]] += indiv[k, m]
        # real and allowed cycles per transfer
        bw_of = np.full((3, L, 4), np.inf)
        for p in range(port_level.shape[0]):
            i = port_level[p]
            for j in range(n_serve[p]):
                k, dr = serve_op[p, j], serve_dir[p, j]
                if mem_of[k, i] >= 0:
                    bw_of[k, mem_of[k, i], dr] = port_bits[p, k]
        for k in range(3):
            for m in range(nm[k]):
                for dr in range(4):
                    if mv[k, m, dr, 0]:
                        bw = bw_of[k, m, dr]
                        mv[k, m, dr, 7] = 0 if np.isinf(bw) else np.ceil(mv[k, m, dr, 4] * mv[k, m, dr, 5] / bw)
                        up = dr == ZZ_FH or dr == ZZ_TH
                        mv[k, m, dr, 8] = mv[k, m, dr, 2] if double[k, m + 1 if up else m] else mv[k, m, dr, 6]
        # stall per port (cost_model.py 731-807)
        stall = 0
        stall_level = -1
        for p in range(port_level.shape[0]):
            i = port_level[p]
            na = 0
            per = np.zeros(n_serve[p], dtype=np.int64)
            alw = np.zeros(n_serve[p], dtype=np.int64)
            cnt_ = np.zeros(n_serve[p], dtype=np.int64)
            rea = np.zeros(n_serve[p], dtype=np.int64)
            for j in range(n_serve[p]):
                k, dr = serve_op[p, j], serve_dir[p, j]
                m = mem_of[k, i]
                if m < 0 or not mv[k, m, dr, 0] or mv[k, m, dr, 3] == 0:
                    continue
                per[na], alw[na], cnt_[na], rea[na] = mv[k, m, dr, 2], mv[k, m, dr, 8], mv[k, m, dr, 3], mv[k, m, dr, 7]
                na += 1
            if na == 0:
                continue
            if na == 1:
                comb = (rea[0] - alw[0]) * (cnt_[0] - 1)
            else:
                union = window_union(per[:na], alw[:na], cnt_[:na])
                pos = 0
                neg = 0
                windows = 0
                for j in range(na):
                    x = (rea[j] - alw[j]) * (cnt_[j] - 1)
                    if x > 0:
                        pos += x
                    else:
                        neg += x
                    windows += alw[j] * (cnt_[j] - 1)
                rest = neg + windows - union
                comb = pos + (rest if rest > 0 else 0)
            if comb > stall:
                stall = comb
                stall_level = i
        # on-loading and off-loading per port (cost_model.py 809-967)
        load = np.zeros((3, L, 4), dtype=np.float64)
        load_shared = np.zeros((3, L, 4), dtype=np.bool_)
        computation = total + stall
        for p in range(port_level.shape[0]):
            i = port_level[p]
            has_i = False
            has_w = False
            for j in range(n_serve[p]):
                if mem_of[serve_op[p, j], i] >= 0:
                    has_i = has_i or serve_op[p, j] == 0
                    has_w = has_w or serve_op[p, j] == 1
            both = has_i and has_w
            width = port_width[p]
            busy = 0.0
            n_once = np.int64(0)   # typed: _zz_reduce_ordered compiles once
            once_k = np.zeros(n_serve[p], dtype=np.int64)
            once_m = np.zeros(n_serve[p], dtype=np.int64)
            once_d = np.zeros(n_serve[p], dtype=np.int64)
            for j in range(n_serve[p]):
                k, dr = serve_op[p, j], serve_dir[p, j]
                m = mem_of[k, i]
                if m < 0 or (k == 2 and (dr == ZZ_TL or dr == ZZ_FH)) or not mv[k, m, dr, 0] or mv[k, m, dr, 3] == 0:
                    continue
                if mv[k, m, dr, 3] == 1:
                    once_k[n_once], once_m[n_once], once_d[n_once] = k, m, dr
                    n_once += 1
                else:
                    busy += np.ceil(mv[k, m, dr, 1])
                    load[k, m, dr] = mv[k, m, dr, 7]
                    load_shared[k, m, dr] = both
            surplus = 0.0
            if not np.isinf(width):
                surplus = (width - busy) / width * computation
                if surplus < 0:
                    surplus = 0.0
            need = np.zeros(n_once, dtype=np.float64)
            least = np.zeros(n_once, dtype=np.float64)
            for j in range(n_once):
                need[j] = mv[once_k[j], once_m[j], once_d[j], 7]
                least[j] = 0.0 if np.isinf(width) else np.ceil(bits[once_k[j], 1] / width)
            _zz_reduce_ordered(need, least, surplus, n_once)
            for j in range(n_once):
                load[once_k[j], once_m[j], once_d[j]] = need[j]
                load_shared[once_k[j], once_m[j], once_d[j]] = both
        parts = np.zeros((3, 3), dtype=np.float64)      # per input: individual, half shared, shared
        best = 0.0
        on_level = -1
        for k in (1, 0):
            for m in range(nm[k] - 1):
                c1, s1 = load[k, m, ZZ_FH], load_shared[k, m, ZZ_FH]
                c2, s2 = load[k, m + 1, ZZ_TL], load_shared[k, m + 1, ZZ_TL]
                longest = c1 if c1 > c2 else c2
                if longest > best:
                    best = longest
                    on_level = mems[k, m]
                if not s1 and not s2:
                    parts[k, 0] += longest
                elif s1 and s2:
                    parts[k, 2] += longest
                else:
                    parts[k, 1] = longest
        f, x = parts[1], parts[0]
        one = f[2] + max(x[2] + x[1] + x[0], f[1] + f[0])
        two = x[2] + max(f[2] + f[1] + f[0], x[1] + x[0])
        onload = one if one < two else two
        offload = 0.0
        best = 0.0
        off_level = -1
        for m in range(nm[2] - 1):
            c1, c2 = load[2, m, ZZ_TH], load[2, m + 1, ZZ_FL]
            longest = c1 if c1 > c2 else c2
            offload += longest
            if longest > best:
                best = longest
                off_level = mems[2, m]
        drain = 0
        for at in range(L):
            if systolic[at]:
                used = 1
                for r in range(nr):
                    if rows[b, r, R_SPATIAL] == 1 and rows[b, r, R_LEVEL] == at:
                        used *= rows[b, r, R_TRIP]
                drain += used - 1 if used > 1 else 0
        out[b, ZZ_IDEAL] = total
        out[b, ZZ_STALL] = stall
        out[b, ZZ_ONLOAD] = int(np.ceil(onload))
        out[b, ZZ_OFFLOAD] = int(np.ceil(offload))
        out[b, ZZ_DRAIN] = drain
        out[b, ZZ_STALL_LEVEL] = stall_level if stall > 0 else -1
        out[b, ZZ_ONLOAD_LEVEL] = on_level
        out[b, ZZ_OFFLOAD_LEVEL] = off_level
    return out
