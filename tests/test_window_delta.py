"""Timeloop's sliding-window deltas (accelsim/loopnest/window_delta.py) against the brute-force oracle
tests/naive_delta.py (explicit sets of words) on random trees and mappings, and by hand. Timeloop's
own reference outputs check the same counts in tests/test_timeloop_agreement.py."""
from __future__ import annotations

import random

import numpy as np
import pytest
from naive_delta import simulate
from naive_tree import factorise

from accelsim.errors import SpecError
from accelsim.kernels import loopnest as ln
from accelsim.kernels import nest
from accelsim.loopnest import window_delta

DIMS = ln.DIMS


def arrays(problem, rows, levels):
    p = np.zeros(ln.PROBLEM_COLS, dtype=np.int64)
    p[:7] = [problem[d] for d in DIMS]
    p[ln.P_STRIDE_H], p[ln.P_STRIDE_W], p[ln.P_IFMAP_UNIQUE] = problem["stride_h"], problem["stride_w"], -1
    p[ln.P_IN_H] = (problem["E"] - 1) * problem["stride_h"] + problem["R"]
    p[ln.P_IN_W] = (problem["F"] - 1) * problem["stride_w"] + problem["S"]
    r = np.array([(DIMS.index(d), t, s, lv) for d, t, s, lv in rows] or [(0, 1, 0, 0)], dtype=np.int64).reshape(-1, 4)
    lv = np.zeros((len(levels), nest.LEVEL_COLS), dtype=np.int64)
    for i, level in enumerate(levels):
        lv[i, nest.LV_KIND] = {"storage": nest.KIND_STORAGE, "spatial": nest.KIND_SPATIAL,
                               "compute": nest.KIND_COMPUTE}[level["kind"]]
        lv[i, nest.LV_KEEP_MASK] = sum(1 << k for k, op in enumerate(("ifmap", "filter", "ofmap"))
                                       if op in level["keeps"])
        lv[i, nest.LV_COLLAPSE_READS] = level["multicast"]
    return p, r, lv


def crossings(problem, rows, levels):
    p, r, lv = arrays(problem, rows, levels)
    return window_delta.ifmap_crossings(r, len(rows), lv, len(levels), p)


def storage(keeps=("ifmap", "filter", "ofmap")):
    return {"kind": "storage", "keeps": set(keeps), "multicast": False}


def test_one_dimensional_window_slides_in_time():
    """Timeloop's conv1d tutorial (ispass2020_01, output stationary): DRAM iterates E 16 over a buffer
    tile of R 3. The first window moves whole (3 words), each of the next 15 moves one new word:
    18 DRAM reads (Timeloop's reference output), not 16 x 3 = 48."""
    problem = {"N": 1, "M": 1, "C": 1, "E": 16, "F": 1, "R": 3, "S": 1, "stride_h": 1, "stride_w": 1}
    rows = [("E", 16, 0, 0), ("R", 3, 0, 1)]
    levels = [storage(), storage(), {"kind": "compute", "keeps": set(), "multicast": False}]
    assert crossings(problem, rows, levels) == {(0, 1): (18, 18)}


def test_wrapping_loop_resets_and_extrapolation_compares_with_iteration_one():
    """DRAM loops M 2 (outer, the ifmap does not depend on it) and E 4 over a tile of R 3: per M, the
    first window whole and three one-word deltas (6 words); when M advances E wraps back, a new
    direction, so the window moves whole again: 12. DRAM loops E 2 over E 3 (E = 6) over a tile of
    R 3: executed one by one, every step would slide by one row (3 + 5 = 8 words); Timeloop runs
    iterations 0 and 1 of each loop, so after the outer E advances the tile is compared with the
    inner loop's iteration 1, two rows back: a new stride, a whole window: 3 + 2 + 3 + 2 = 10."""
    problem = {"N": 1, "M": 2, "C": 1, "E": 4, "F": 1, "R": 3, "S": 1, "stride_h": 1, "stride_w": 1}
    rows = [("M", 2, 0, 0), ("E", 4, 0, 0), ("R", 3, 0, 1)]
    levels = [storage(), storage(), {"kind": "compute", "keeps": set(), "multicast": False}]
    assert crossings(problem, rows, levels) == {(0, 1): (12, 12)}
    problem = {"N": 1, "M": 1, "C": 1, "E": 6, "F": 1, "R": 3, "S": 1, "stride_h": 1, "stride_w": 1}
    rows = [("E", 2, 0, 0), ("E", 3, 0, 0), ("R", 3, 0, 1)]
    assert crossings(problem, rows, levels) == simulate(problem, rows, levels) == {(0, 1): (10, 10)}


def test_reads_are_shared_only_across_dimensions_the_ifmap_does_not_depend_on():
    """A multicast array of 2 (M) x 3 (S) PEs below a buffer whose loop F 4 moves each PE's one-word
    register-file tile by one column (no overlap): every PE receives 4 words, 24 fills; the buffer
    reads once per S position, the two PEs of each M pair sharing the read: 12."""
    problem = {"N": 1, "M": 2, "C": 1, "E": 1, "F": 4, "R": 1, "S": 3, "stride_h": 1, "stride_w": 1}
    rows = [("F", 4, 0, 1), ("M", 2, 1, 2), ("S", 3, 1, 2)]
    levels = [storage(), storage(), {"kind": "spatial", "keeps": set(), "multicast": True}, storage(),
              {"kind": "compute", "keeps": set(), "multicast": False}]
    result = crossings(problem, rows, levels)
    assert result[(1, 3)] == (12, 24)
    assert result == simulate(problem, rows, levels)


def random_case(seed):
    """A small tree (2-4 storage levels, 0-2 spatial levels, random bypass and multicast) and a
    random perfect factorisation, loops shuffled per level."""
    rng = random.Random(seed)
    problem = {"N": rng.choice([1, 2]), "M": rng.choice([1, 2, 3]), "C": rng.choice([1, 2]),
               "E": rng.choice([1, 2, 4, 6]), "F": rng.choice([1, 2, 3]), "R": rng.choice([1, 2, 3]),
               "S": rng.choice([1, 2]), "stride_h": rng.choice([1, 2]), "stride_w": rng.choice([1, 2])}
    kinds = ["storage"] + [rng.choice(["storage", "storage", "spatial"]) for _ in range(rng.randint(2, 4))]
    kinds.append("compute")
    levels = []
    for k, kind in enumerate(kinds):
        keeps = {"ifmap", "filter", "ofmap"} if k == 0 or rng.random() < 0.7 else {"filter", "ofmap"}
        levels.append({"kind": kind, "keeps": keeps if kind == "storage" else set(), "multicast": rng.random() < 0.6})
    slots = [i for i, kind in enumerate(kinds) if kind in ("storage", "spatial")]
    per_level = {i: [] for i in slots}
    for dim in DIMS:
        for factor in factorise(problem[dim], 3, rng, primes=(2, 3, 5)):
            if factor > 1:
                per_level[rng.choice(slots)].append((dim, factor))
    rows = []
    for i in slots:
        rng.shuffle(per_level[i])
        rows += [(d, t, int(kinds[i] == "spatial"), i) for d, t in per_level[i]]
    return problem, rows, levels


@pytest.mark.parametrize("seed", range(150))
def test_every_crossing_equals_the_brute_force(seed):
    problem, rows, levels = random_case(seed)
    assert crossings(problem, rows, levels) == simulate(problem, rows, levels), (seed, rows, levels)


def test_random_cases_exercise_partial_deltas():
    """The random cases include crossings where a moved window keeps some of its words (the
    count falls below whole tiles at every non-zero translation)."""
    partial = 0
    for seed in range(150):
        problem, rows, levels = random_case(seed)
        p, r, lv = arrays(problem, rows, levels)
        path = [i for i, level in enumerate(levels) if level["kind"] == "storage" and "ifmap" in level["keeps"]]
        for child in path[1:]:
            cut = next((i for i, row in enumerate(rows) if row[3] >= child), len(rows))
            partial += window_delta.temporal_words(r, len(rows), cut, p) < window_delta.temporal_words(
                r, len(rows), cut, p, whole_tiles=True)
    assert partial >= 10


def test_deep_nest_equals_the_brute_force():
    """Twelve loops of trip 2 above the child, dimensions interleaved so the window slides, wraps
    back and resets at many depths: the memoised recursion counts what the oracle's 4,096 steps
    count."""
    outer = ["E", "F", "C", "M", "E", "N", "F", "R", "E", "C", "F", "S"]
    problem = {"N": 2, "M": 2, "C": 4, "E": 8, "F": 16, "R": 6, "S": 2, "stride_h": 1, "stride_w": 2}
    rows = [(d, 2, 0, 0) for d in outer] + [("R", 3, 0, 1), ("F", 2, 0, 1), ("C", 1, 0, 1)]
    levels = [storage(), storage(), {"kind": "compute", "keeps": set(), "multicast": False}]
    result = crossings(problem, rows, levels)
    assert result == simulate(problem, rows, levels)
    assert result[(0, 1)][1] < 2 ** 12 * 3 * 3        # tiles of 3 x 3 words: some slide, not moved whole


def test_counting_key_is_validated():
    from accelsim.spec.arch import arch_from_dict
    tree = {"name": "t", "precision": "int8", "clock_mhz": 100, "counting": "timeloops",
            "levels": [{"name": "DRAM", "kind": "storage", "operands": ["ifmap", "filter", "ofmap"]},
                       {"name": "mac", "kind": "compute"}]}
    with pytest.raises(SpecError, match="counting"):
        arch_from_dict(tree, "t.yaml")
    assert arch_from_dict({**tree, "counting": "timeloop"}, "t.yaml").counting == "timeloop"
    assert arch_from_dict({k: v for k, v in tree.items() if k != "counting"}, "t.yaml").counting == "accelsim"
