"""Test oracle: the closed-form systolic model the core engine shipped first.

An independent formulation of weight-, output- and input-stationary on a systolic array: per-group
GEMM folding with operand-by-operand SRAM and DRAM formulas (accelsim/model.py's docstring states
them), written without the loop-nest analysis. accelsim's engine now evaluates the systolic
dataflows through the general loop-nest analysis (accelsim/kernels/loopnest.py); this module
checks it point for point (tests/test_loopnest_systolic.py), beside the fold-by-fold enumeration
of tests/naive.py. Same input and output layout as accelsim.kernels.systolic.evaluate.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from accelsim.kernels.systolic import (AXIS_K, AXIS_M, AXIS_P, H_COLS, H_DOUBLE_BUFFERED,
    H_FILTER_WORDS, H_IFMAP_WORDS, H_OFMAP_WORDS, H_ROWS, H_TIMING, H_WORD_BITS, L_C, L_GROUPS, L_H,
    L_M, L_N, L_PAD_H, L_PAD_W, L_R, L_S, L_STRIDE_H, L_STRIDE_W, L_W, TIMING_SCALESIM, L_DIL_H, L_DIL_W,
    L_K_NUM, L_K_DEN)
from accelsim.kernels.timing import fold_cycles
from accelsim.kernels.timing import transfer_cycles as _transfer_cycles

(O_E, O_F, O_P, O_M, O_K, O_G, O_ROW_FOLDS, O_COL_FOLDS, O_FOLDS, O_CYC_FOLD, O_COMPUTE,
 O_FILL_DRAIN, O_STALL_LOAD, O_STALL_BW, O_STALL_WB, O_STALL, O_TOTAL, O_MACS, O_SRAM_IFMAP_R,
 O_SRAM_FILTER_R, O_SRAM_OFMAP_W, O_SRAM_OFMAP_R, O_DRAM_IFMAP_R, O_DRAM_FILTER_R,
 O_DRAM_OFMAP_W, O_DRAM_OFMAP_R) = range(26)
Q_MAPPING_EFF, Q_PE_UTIL, Q_COMPUTE_UTIL = range(3)


@njit(cache=False, inline="always")
def _cdiv(a, b):
    return (a + b - 1) // b


@njit(cache=False)
def _touched(out, taps, stride, dilation, offset, size):
    """Input positions in [0, size) some window reads, marked one by one."""
    hit = np.zeros(size, dtype=np.bool_)
    for o in range(out):
        for k in range(taps):
            x = o * stride + k * dilation - offset
            if 0 <= x < size:
                hit[x] = True
    return hit.sum()


@njit(cache=False)
def _input_traffic(unique, axis_a, axis_b, rows_axis, cols_axis, dims, cols_tile, capacity,
                   row_folds, col_folds):
    """DRAM words read for one input operand of one group (see model.dram_traffic)."""
    missing = 3 - axis_a - axis_b
    if missing == rows_axis:
        # the same slice (one column tile x the time axis) serves every row fold
        other = axis_a if axis_a != cols_axis else axis_b
        slice_words = min(cols_tile * dims[other], unique)
        return unique if slice_words <= capacity else unique * row_folds
    if missing == cols_axis:
        # the whole operand serves every column fold
        return unique if unique <= capacity else unique * col_folds
    return unique  # stationary operand: each fold's tile is read exactly once


@njit(cache=False)
def evaluate(layers, hws, bandwidths, dataflows, out_int, out_float):
    """Evaluate every point: ``layers[i]``, ``hws[i]``, ``bandwidths[i]``, ``dataflows[i]``
    (rows, cols, time axis codes) -> ``out_int[i]``, ``out_float[i]``."""
    dims = np.empty(3, dtype=np.int64)
    for i in range(layers.shape[0]):
        n = layers[i, L_N]
        c = layers[i, L_C]
        m = layers[i, L_M]
        r = layers[i, L_R]
        s = layers[i, L_S]
        sh = layers[i, L_STRIDE_H]
        sw = layers[i, L_STRIDE_W]
        g = layers[i, L_GROUPS]
        r_ext = layers[i, L_DIL_H] * (r - 1) + 1
        s_ext = layers[i, L_DIL_W] * (s - 1) + 1
        rows = hws[i, H_ROWS]
        cols = hws[i, H_COLS]
        scalesim = hws[i, H_TIMING] == TIMING_SCALESIM
        word_bits = hws[i, H_WORD_BITS]
        bw = bandwidths[i]
        ra = dataflows[i, 0]
        ca = dataflows[i, 1]
        ta = dataflows[i, 2]

        if scalesim:
            # SCALE-Sim has no padding (it is given padded inputs) and rounds the output up
            hp = layers[i, L_H] + 2 * layers[i, L_PAD_H]
            wp = layers[i, L_W] + 2 * layers[i, L_PAD_W]
            e = _cdiv(hp - r_ext + sh, sh)
            f = _cdiv(wp - s_ext + sw, sw)
            ifmap_unique = n * (c // g) * _touched(e, r, sh, layers[i, L_DIL_H], 0, hp) * _touched(
                f, s, sw, layers[i, L_DIL_W], 0, wp)
        else:
            e = (layers[i, L_H] + 2 * layers[i, L_PAD_H] - r_ext) // sh + 1
            f = (layers[i, L_W] + 2 * layers[i, L_PAD_W] - s_ext) // sw + 1
            ifmap_unique = n * (c // g) * _touched(e, r, sh, layers[i, L_DIL_H], layers[i, L_PAD_H], layers[i, L_H]) \
                * _touched(f, s, sw, layers[i, L_DIL_W], layers[i, L_PAD_W], layers[i, L_W])
        dims[AXIS_P] = n * e * f
        dims[AXIS_M] = m // g
        dims[AXIS_K] = _cdiv((c // g) * r * s * layers[i, L_K_NUM], layers[i, L_K_DEN])
        # a sparse layer's shorter reduction reads at most its im2col words
        ifmap_unique = min(ifmap_unique, dims[AXIS_P] * dims[AXIS_K])
        sr = dims[ra]
        sc = dims[ca]
        t = dims[ta]
        row_folds = _cdiv(sr, rows)
        col_folds = _cdiv(sc, cols)
        folds_g = row_folds * col_folds

        cyc = fold_cycles(rows, cols, t, ta == AXIS_K, scalesim)
        if scalesim:
            compute = g * (folds_g * cyc - 1)
        else:
            compute = g * folds_g * cyc
        macs = g * dims[AXIS_P] * dims[AXIS_M] * dims[AXIS_K]

        # SRAM accesses: operand size x folds of the axis it does not depend on
        fold_count_p = row_folds if ra == AXIS_P else (col_folds if ca == AXIS_P else 1)
        fold_count_m = row_folds if ra == AXIS_M else (col_folds if ca == AXIS_M else 1)
        fold_count_k = row_folds if ra == AXIS_K else (col_folds if ca == AXIS_K else 1)
        size_ifmap = dims[AXIS_P] * dims[AXIS_K]
        size_filter = dims[AXIS_K] * dims[AXIS_M]
        size_ofmap = dims[AXIS_P] * dims[AXIS_M]
        sram_ifmap = g * size_ifmap * fold_count_m
        sram_filter = g * size_filter * fold_count_p
        sram_ofmap_w = g * size_ofmap * fold_count_k
        sram_ofmap_r = g * size_ofmap * (fold_count_k - 1)
        if scalesim:
            sram_ofmap_r = 0
            if ta == AXIS_K:
                sram_ofmap_w += g * folds_g * (rows + cols)

        # DRAM traffic per group (unique data, refetch when an operand does not fit)
        halves = 2 if hws[i, H_DOUBLE_BUFFERED] else 1
        cap_ifmap = hws[i, H_IFMAP_WORDS] // halves
        cap_filter = hws[i, H_FILTER_WORDS] // halves
        cap_ofmap = hws[i, H_OFMAP_WORDS] // halves
        filter_unique = size_filter
        rows_tile0 = min(rows, sr)
        cols_tile0 = min(cols, sc)
        dram_ifmap = _input_traffic(ifmap_unique, AXIS_P, AXIS_K, ra, ca, dims, cols_tile0,
                                    cap_ifmap, row_folds, col_folds)
        dram_filter = _input_traffic(filter_unique, AXIS_K, AXIS_M, ra, ca, dims, cols_tile0,
                                     cap_filter, row_folds, col_folds)
        revisits = 1
        if ra == AXIS_K:
            if cols_tile0 * t > cap_ofmap:
                revisits = row_folds
        elif ca == AXIS_K:
            if size_ofmap > cap_ofmap:
                revisits = col_folds
        dram_ofmap_w = size_ofmap * revisits
        dram_ofmap_r = size_ofmap * (revisits - 1)

        # stalls: exposed first load, bandwidth shortfall in steady state, exposed last drain
        first = 0
        for axis_a, axis_b, unique in ((AXIS_P, AXIS_K, ifmap_unique), (AXIS_K, AXIS_M, filter_unique)):
            words = 1
            for ax in (axis_a, axis_b):
                words *= rows_tile0 if ax == ra else (cols_tile0 if ax == ca else dims[ax])
            first += min(words, unique)
        last_rows = sr - (row_folds - 1) * rows
        last_cols = sc - (col_folds - 1) * cols
        if ta == AXIS_K:
            last_out = last_rows * last_cols
        elif ra == AXIS_K:
            last_out = last_cols * t
        else:
            last_out = last_rows * t
        total_words = g * (dram_ifmap + dram_filter + dram_ofmap_w + dram_ofmap_r)
        steady_words = total_words - first - last_out
        stall_load = _transfer_cycles(first, word_bits, bw)
        stall_wb = _transfer_cycles(last_out, word_bits, bw)
        steady = _transfer_cycles(steady_words, word_bits, bw)
        window = (g * folds_g - 1) * cyc if halves == 2 else 0
        stall_bw = steady - window if steady > window else 0
        stall = stall_load + stall_bw + stall_wb
        total = compute + stall

        out_int[i, O_E] = e
        out_int[i, O_F] = f
        out_int[i, O_P] = dims[AXIS_P]
        out_int[i, O_M] = dims[AXIS_M]
        out_int[i, O_K] = dims[AXIS_K]
        out_int[i, O_G] = g
        out_int[i, O_ROW_FOLDS] = row_folds
        out_int[i, O_COL_FOLDS] = col_folds
        out_int[i, O_FOLDS] = g * folds_g
        out_int[i, O_CYC_FOLD] = cyc
        out_int[i, O_COMPUTE] = compute
        out_int[i, O_FILL_DRAIN] = g * folds_g * (cyc - t)
        out_int[i, O_STALL_LOAD] = stall_load
        out_int[i, O_STALL_BW] = stall_bw
        out_int[i, O_STALL_WB] = stall_wb
        out_int[i, O_STALL] = stall
        out_int[i, O_TOTAL] = total
        out_int[i, O_MACS] = macs
        out_int[i, O_SRAM_IFMAP_R] = sram_ifmap
        out_int[i, O_SRAM_FILTER_R] = sram_filter
        out_int[i, O_SRAM_OFMAP_W] = sram_ofmap_w
        out_int[i, O_SRAM_OFMAP_R] = sram_ofmap_r
        out_int[i, O_DRAM_IFMAP_R] = g * dram_ifmap
        out_int[i, O_DRAM_FILTER_R] = g * dram_filter
        out_int[i, O_DRAM_OFMAP_W] = g * dram_ofmap_w
        out_int[i, O_DRAM_OFMAP_R] = g * dram_ofmap_r

        pes = rows * cols
        mapping_eff = (sr * sc) / (folds_g * pes)
        out_float[i, Q_MAPPING_EFF] = mapping_eff
        out_float[i, Q_PE_UTIL] = macs / (total * pes) if total > 0 else 0.0
        if scalesim:
            if ta == AXIS_K:
                out_float[i, Q_COMPUTE_UTIL] = mapping_eff * t / (t + rows + cols - 2)
            else:
                out_float[i, Q_COMPUTE_UTIL] = mapping_eff * t / (2 * rows + 2 * cols + t - 3)
        else:
            out_float[i, Q_COMPUTE_UTIL] = macs / (compute * pes) if compute > 0 else 0.0
