"""The tree mapper's batch evaluator (accelsim/loopnest/tree_mapper.py): candidates in a fixed,
padded row layout (every free level has a row per dimension, trip 1 where unused) counted by
accelsim/kernels/nest.py's :func:`~accelsim.kernels.nest.evaluate_tree` after dropping their
trip-1 rows, which count nothing (the counts of a mapping do not change when a loop of one trip is
added or removed: such rows are skipped by every rule of nest.py), so each candidate is counted on
exactly the rows ``accelsim run --mapping`` builds for it."""
from __future__ import annotations

import numpy as np

from .jit import njit
from .nest import LV_CUT, R_LEVEL, R_TRIP, evaluate_tree


@njit(cache=True)
def evaluate_padded(problem, rows, levels, n_levels, counts, macs):
    """``rows[b]`` (padded, outermost first) -> ``counts[b]``, ``macs[b]`` for b = 0..n-1; ``levels``
    as nest.py's, its ``LV_CUT`` recomputed per candidate on the compacted rows."""
    width = rows.shape[1]
    compact = np.zeros((max(width, 1), 4), dtype=np.int64)
    compact[:, R_TRIP] = 1
    lv = levels.copy()
    inside = np.zeros(max(width, 1), dtype=np.bool_)
    ext = np.zeros(7, dtype=np.int64)
    for b in range(rows.shape[0]):
        k = 0
        for r in range(width):
            if rows[b, r, R_TRIP] > 1:
                for c in range(4):
                    compact[k, c] = rows[b, r, c]
                k += 1
        for i in range(n_levels):
            cut = k
            for r in range(k):
                if compact[r, R_LEVEL] >= i:
                    cut = r
                    break
            lv[i, LV_CUT] = cut
        macs[b] = evaluate_tree(problem, compact, k, lv, n_levels, counts[b], inside, ext)
