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
