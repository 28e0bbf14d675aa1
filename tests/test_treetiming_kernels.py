"""The tree timing kernels (accelsim/kernels/treetiming.py) against brute force: every combination
of a candidate's counted rows enumerated (live steps and folds, perfect and imperfect
factorisations), and the spatial factors above each level multiplied one row at a time."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from accelsim.kernels import nest, treetiming

N_LEVELS = 4


def random_rows(rng, n_rows):
    """(dim, trip, spatial, level) rows outermost first, sorted by level, dims among 0..7."""
    levels = np.sort(rng.integers(0, N_LEVELS, n_rows))
    rows = np.zeros((n_rows, 4), dtype=np.int64)
    rows[:, nest.R_DIM] = rng.integers(0, nest.NDIMS, n_rows)
    rows[:, nest.R_TRIP] = rng.integers(1, 4, n_rows)
    rows[:, nest.R_SPATIAL] = rng.integers(0, 2, n_rows)
    rows[:, nest.R_LEVEL] = levels
    return rows


def naive_live(rows, counted, bounds):
    """Combinations of the counted rows' indices (the others at 0) whose every dimension's value,
    the mixed-radix number over its rows (outermost most significant), is below its bound."""
    ranges = [range(int(t)) if c else range(1) for t, c in zip(rows[:, nest.R_TRIP], counted)]
    live = 0
    for index in itertools.product(*ranges):
        value = [0] * nest.NDIMS
        for (d, t, _s, _l), i in zip(rows, index):
            value[d] = value[d] * t + i
        live += all(value[d] < bounds[d] for d in range(nest.NDIMS))
    return live


def naive_spatial(rows, n_levels, dims):
    out = []
    for i in range(n_levels + 1):
        product = 1
        for d, t, s, level in rows:
            if s == 1 and level < i and d in dims:
                product *= int(t)
        out.append(product)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_live_batch_is_the_brute_force_count(seed):
    rng = np.random.default_rng(seed)
    n, n_rows = 6, 7
    rows = np.stack([random_rows(rng, n_rows) for _ in range(n)])
    counted = rng.random((n, n_rows)) < 0.6
    extents = np.ones(nest.NDIMS, dtype=np.int64)
    for d in range(nest.NDIMS):      # bounds at, below (imperfect: partial last tiles) or above the trips
        extents[d] = max(int(np.prod(np.where(rows[0, :, nest.R_DIM] == d, rows[0, :, nest.R_TRIP], 1))), 1)
    bounds = np.maximum(extents - rng.integers(0, 3, nest.NDIMS), 1)
    got = treetiming.live_batch(rows, counted, bounds)
    want = [naive_live(rows[b], counted[b], bounds) for b in range(n)]
    assert got.tolist() == want
    assert any(w < np.prod(np.where(counted[b], rows[b, :, nest.R_TRIP], 1)) for b, w in enumerate(want))


@pytest.mark.parametrize("seed", range(6))
def test_spatial_products_multiply_the_factors_above_each_level(seed):
    rng = np.random.default_rng(100 + seed)
    rows = np.stack([random_rows(rng, 9) for _ in range(5)])
    for dims in ([0, 1, 2, 3, 4, 5, 6, 7], [1, 5, 6]):
        mask = sum(1 << d for d in dims)
        got = treetiming.spatial_products(rows, N_LEVELS, mask)
        assert got.tolist() == [naive_spatial(r, N_LEVELS, dims) for r in rows]
