"""The ifmap windows of partial tiles (accelsim/kernels/nest.py): where a dimension's rows multiply
past its bound (an imperfect factorisation: the last tile partial, as the last array tile of an
output-stationary E/F unrolling on a 12 x 14 array), nest._window_words counts the windows by the
closed forms (nest._window_sum, nest._largest_window). Each must equal the position-by-position
count (nest._strided_window, which marks every input position of every tile and is itself checked
against the brute force tests/naive_tree.py in test_tree_engine.py) exactly, on random partial
tilings of padded, strided windows."""
from __future__ import annotations

import random

import numpy as np
import pytest

from accelsim.kernels import loopnest as ln
from accelsim.kernels import nest


def split(bound, rng):
    """1-3 trips for one dimension: inner trips drawn freely, the outermost ceil(bound / inner)
    (a partial last tile when inner does not divide), now and then one trip more (a dead tile)."""
    inner = [rng.randint(1, max(1, bound)) for _ in range(rng.randint(0, 2))]
    product = int(np.prod(inner)) if inner else 1
    outer = -(-bound // product) + (1 if rng.random() < 0.1 else 0)
    return [outer, *inner]


def partial_case(seed):
    """A padded, strided axis (E with R, or F with S), its rows in random order over levels, and a
    tile: the innermost ``k`` rows of each dimension (consecutive values)."""
    rng = random.Random(seed)
    pair = seed % 2
    de, dr = (ln.D_E, ln.D_R) if pair == 0 else (ln.D_F, ln.D_S)
    bound_e, bound_r, stride = rng.randint(1, 40), rng.randint(1, 7), rng.randint(1, 4)
    pad = rng.randint(0, 3)
    span = (bound_e - 1) * stride + bound_r
    size = max(1, span - 2 * pad + rng.randint(-2, 2))
    problem = np.zeros(ln.PROBLEM_COLS, dtype=np.int64)
    problem[:7] = 1
    problem[de], problem[dr] = bound_e, bound_r
    problem[ln.P_STRIDE_H + pair], problem[ln.P_PAD_H + pair], problem[ln.P_IN_H + pair] = stride, pad, size
    problem[ln.P_DIL_H] = problem[ln.P_DIL_W] = 1
    per_dim = {de: split(bound_e, rng), dr: split(bound_r, rng)}
    # each dimension's rows outermost first; merge them in a random interleaving
    queues = {d: list(trips) for d, trips in per_dim.items()}
    order = []
    while any(queues.values()):
        d = rng.choice([d for d, q in queues.items() if q])
        order.append((d, queues[d].pop(0)))
    inner_count = {d: rng.randint(0, len(trips)) for d, trips in per_dim.items()}
    rows = np.zeros((len(order), 4), dtype=np.int64)
    inside = np.zeros(len(order), dtype=np.bool_)
    seen = {d: 0 for d in per_dim}
    for i, (d, trip) in enumerate(order):
        rows[i] = (d, trip, 0, i)
        inside[i] = seen[d] >= len(per_dim[d]) - inner_count[d]
        seen[d] += 1
    return problem, rows, inside, pair, (de, dr, stride, pad, size, bound_e, bound_r)


@pytest.mark.parametrize("seed", range(400))
def test_partial_tile_windows_equal_the_position_by_position_count(seed):
    problem, rows, inside, pair, (de, dr, stride, pad, size, bound_e, bound_r) = partial_case(seed)
    for largest in (False, True):
        closed = nest._window_words(rows, len(rows), inside, np.int64(pair), problem, np.bool_(largest))
        marked = nest._strided_window(rows, len(rows), inside, de, dr, stride, pad, size, np.int64(1), bound_e,
                                      bound_r, np.bool_(largest))
        assert closed == marked, (seed, largest, rows.tolist(), inside.tolist(), (stride, pad, size))


def test_the_cases_have_partial_tiles():
    """The cases above are what the test is for: most leave a partial tile (a tile extent that does
    not divide its bound) and some a dead tile (trips past the last partial one)."""
    partial = dead = 0
    for seed in range(400):
        problem, rows, inside, pair, (de, dr, *_, bound_e, bound_r) = partial_case(seed)
        ext_e = int(np.prod(rows[inside & (rows[:, 0] == de), 1]))
        ext_r = int(np.prod(rows[inside & (rows[:, 0] == dr), 1]))
        partial += bound_e % ext_e != 0 or bound_r % ext_r != 0
        all_e = int(np.prod(rows[rows[:, 0] == de, 1]))
        dead += all_e >= bound_e + ext_e
    assert partial > 150 and dead > 10, (partial, dead)
