"""The loop-nest dataflows counted by the N-level engine (accelsim/loopnest/nest_counts.py): every
OUTPUTS column equals the two-level kernel's (accelsim/kernels/loopnest.py, itself checked against
the brute force tests/naive_loopnest.py) on random perfect mappings of random padded layers and on
the mapper's chosen and Pareto mappings of the eyeriss preset's runs; the mappings nest.py does not
count yet go to the two-level kernel."""
from __future__ import annotations

import random

import numpy as np
import pytest
from naive_tree import simulate
from test_tree_engine import factorise
from test_tree_engine import kernel_counts as tree_kernel_counts
from test_tree_engine import random_case as random_case_tree

from accelsim import spec
from accelsim.encoding import at_precision, layer_precision
from accelsim.kernels import loopnest as ln
from accelsim.loopnest.mapper import hw_array, problem_array, search
from accelsim.kernels import nest
from accelsim.loopnest.nest_counts import (GLB, _counts, counted_by_nest, nest_outputs, shorthand_levels,
                                             tree_rows)

DIMS = ln.DIMS


def random_case(seed, imperfect=False):
    """A padded, strided layer (one group), a keep mask and a perfect mapping: DRAM, GLB, rows,
    cols and (when every operand is kept) RF factors per dimension, loops in random order. With
    ``imperfect``, split as the mapper splits (accelsim/loopnest/mapper.py): an RF divisor r, any
    rows s and cols t, and a divisor split of ceil(bound / (r s t)) between GLB and DRAM."""
    rng = random.Random(seed)
    bounds = {"N": rng.choice([1, 2]), "M": rng.choice([1, 2, 4, 6]), "C": rng.choice([1, 2, 3, 4]),
              "E": rng.choice([1, 2, 4, 6]), "F": rng.choice([1, 2, 3]), "R": rng.choice([1, 2, 3]),
              "S": rng.choice([1, 3])}
    stride, pad = rng.choice([1, 2]), rng.choice([0, 0, 1, 2])
    problem = np.zeros(ln.PROBLEM_COLS, dtype=np.int64)
    problem[:7] = [bounds[d] for d in DIMS]
    problem[ln.P_STRIDE_H] = problem[ln.P_STRIDE_W] = stride
    problem[ln.P_IFMAP_UNIQUE] = -1
    problem[ln.P_IN_H] = max(1, (bounds["E"] - 1) * stride + bounds["R"] - 2 * pad + rng.choice([0, 1]))
    problem[ln.P_IN_W] = max(1, (bounds["F"] - 1) * stride + bounds["S"] - 2 * pad + rng.choice([0, 1]))
    problem[ln.P_PAD_H] = problem[ln.P_PAD_W] = pad
    keep = rng.choice([7, 7, 0, 1, 2, 4, 5])
    levels = {"dram": [], "glb": [], "rf": []}
    spatial = np.ones((2, 7), dtype=np.int64)
    for d, dim in enumerate(DIMS):
        dram, glb, rows, cols, rf = factorise(bounds[dim], 5, rng)
        if imperfect:
            rf = rng.choice([k for k in range(1, bounds[dim] + 1) if bounds[dim] % k == 0]) if keep == 7 else 1
            rows = rng.randint(1, bounds[dim] // rf)
            cols = rng.randint(1, -(-bounds[dim] // (rf * rows)))
            left = -(-bounds[dim] // (rf * rows * cols))
            glb = rng.choice([k for k in range(1, left + 1) if left % k == 0])
            dram = left // glb
        if keep != 7:
            glb, rf = glb * rf, 1
        spatial[0, d], spatial[1, d] = rows, cols
        for level, trip in (("dram", dram), ("glb", glb), ("rf", rf)):
            if trip > 1:
                levels[level].append((d, trip))
    for loops in levels.values():
        rng.shuffle(loops)
    order = levels["dram"] + levels["glb"] + levels["rf"]
    loops = np.zeros((ln.MAX_LOOPS, 2), dtype=np.int64)
    loops[:, 1] = 1
    for i, (d, trip) in enumerate(order):
        loops[i] = (d, trip)
    cuts = np.array([[len(levels["dram"])] * 3, [len(levels["dram"]) + len(levels["glb"])] * 3], dtype=np.int64)
    hw = np.zeros(ln.HWL_COLS_N, dtype=np.int64)
    hw[ln.HWL_ROWS], hw[ln.HWL_COLS] = int(spatial[0].prod()), int(spatial[1].prod())
    hw[ln.HWL_GLB_IFMAP:ln.HWL_RF_OFMAP + 1] = 1 << 40
    hw[ln.HWL_STATIONARY] = -1
    hw[ln.HWL_WORD_BITS] = 16
    hw[ln.HWL_KEEP_MASK] = keep
    return problem, loops, len(order), spatial, cuts, hw


def two_level(problem, loops, n, spatial, cuts, hw):
    out = np.zeros(len(ln.OUTPUTS), dtype=np.int64)
    ln.evaluate_one(problem, loops, n, spatial, cuts, hw, out)
    return out


@pytest.mark.parametrize("imperfect", [False, True])
@pytest.mark.parametrize("seed", range(150))
def test_every_column_equals_the_two_level_kernel(seed, imperfect):
    problem, loops, n, spatial, cuts, hw = random_case(seed, imperfect)
    assert counted_by_nest(problem, loops, n, spatial, cuts, int(hw[ln.HWL_KEEP_MASK]))
    got, want = nest_outputs(problem, loops, n, spatial, cuts, hw), two_level(problem, loops, n, spatial, cuts, hw)
    assert dict(zip(ln.OUTPUTS, got.tolist())) == dict(zip(ln.OUTPUTS, want.tolist()))


def test_what_nest_does_not_count_goes_to_the_two_level_kernel():
    """A pinned DRAM split that does not divide (M = 7 over 3 PE rows leaves 3 array tiles, the
    DRAM and GLB loops take 2 x 2): the two-level kernel counts the idle PEs of the last array tile
    as re-filled for every iteration (its documented over-count), nest.py only the live ones; the
    mapping stays on the two-level kernel. And register-file loops over an operand the PEs do not
    keep (the two-level kernel holds it for the PE's own loops)."""
    problem = np.zeros(ln.PROBLEM_COLS, dtype=np.int64)
    problem[:7] = (2, 7, 5, 7, 3, 2, 1)
    problem[ln.P_STRIDE_H] = problem[ln.P_STRIDE_W] = 1
    problem[ln.P_IFMAP_UNIQUE] = -1
    problem[ln.P_IN_H], problem[ln.P_IN_W] = 8, 3
    loops = np.zeros((ln.MAX_LOOPS, 2), dtype=np.int64)
    loops[:, 1] = 1
    order = [(ln.D_C, 2), (ln.D_M, 2), (ln.D_R, 2), (ln.D_E, 7), (ln.D_F, 3), (ln.D_M, 2)]
    for i, loop in enumerate(order):
        loops[i] = loop
    spatial = np.ones((2, 7), dtype=np.int64)
    spatial[0, ln.D_M], spatial[0, ln.D_C], spatial[1, ln.D_N] = 3, 3, 2
    cuts = np.array([[5] * 3, [6] * 3], dtype=np.int64)
    hw = random_case(0)[5].copy()
    hw[ln.HWL_ROWS], hw[ln.HWL_COLS], hw[ln.HWL_KEEP_MASK] = 9, 2, 1
    assert not counted_by_nest(problem, loops, len(order), spatial, cuts, 1)
    want = two_level(problem, loops, len(order), spatial, cuts, hw)
    assert (nest_outputs(problem, loops, len(order), spatial, cuts, hw) == want).all()
    rows = tree_rows(loops, len(order), spatial, cuts)
    live = _counts(problem, rows, shorthand_levels(1, network=False))[GLB, ln.OP_IFMAP, nest.C_READS]
    assert live < want[ln.X_RF_IFMAP]
    problem, loops, n, spatial, cuts, hw = random_case(3)           # it has register-file loops
    hw[ln.HWL_KEEP_MASK] = 0
    assert n > cuts[1, 0] and not counted_by_nest(problem, loops, n, spatial, cuts, 0)
    assert (nest_outputs(problem, loops, n, spatial, cuts, hw) == two_level(problem, loops, n, spatial, cuts, hw)).all()


def test_the_mappers_mappings_on_eyeriss_are_counted_by_nest():
    """The chosen and Pareto mappings of ResNet-18's first layers on the eyeriss preset under rs,
    nlr and ws_multicast: the outputs the mapper returns are nest.py's where it counts them, and
    equal the two-level kernel's."""
    hw = spec.load("hw", "eyeriss")
    table = spec.energy_table_for(hw)
    by_nest = {}
    for dataflow in ("rs", "nlr", "ws_multicast"):
        df = spec.load("dataflows", dataflow)
        for layer in [layer for layer in spec.load("workloads", "resnet18").layers if layer.is_mac][:6]:
            hw_layer = at_precision(hw, layer_precision(layer, hw))
            result = search(layer, hw_layer, df, table, time_limit_s=0.5)
            problem, row = problem_array(layer), hw_array(hw_layer, df)
            for mapping, out, _ in [(result.best, result.best_outputs, 0.0), *result.pareto]:
                loops, n, spatial, cuts = mapping.arrays()
                assert (out == two_level(problem, loops, n, spatial, cuts, row)).all(), mapping.describe()
                counted = counted_by_nest(problem, loops, n, spatial, cuts, int(row[ln.HWL_KEEP_MASK]))
                by_nest[dataflow] = by_nest.get(dataflow, 0) + counted
    assert by_nest["rs"] > 0, by_nest


@pytest.mark.parametrize("seed", range(60))
def test_general_count_with_imperfect_channels_keeps_exact_windows(seed):
    """A mapping whose only imperfect dimensions are N, M or C (the loop-nest mapper's imperfect
    array tiles, e.g. C = 32 as 11 rows x 3) takes nest.py's general count, whose windows then come
    from the fast count's closed forms (nest._window_words): every count still equals the brute
    force of tests/naive_tree.py, padded and strided windows included."""
    problem, rows, levels = random_case_tree(seed, False)
    shrunk = [d for d in ("N", "M", "C") if problem[d] > 1]
    if not shrunk:
        problem["M"] += 1                              # rows cover M = 1 only: one dead iteration row
        rows = rows + [("M", 2, 0, max(r[3] for r in rows) if rows else 0)]
        rows.sort(key=lambda r: r[3])
    else:
        problem[shrunk[seed % len(shrunk)]] -= 1       # the rows now multiply past the bound
    macs, counts = tree_kernel_counts(problem, rows, levels)
    expected = simulate(problem, rows, levels)
    for (level, op), c in expected.items():
        k = ("ifmap", "filter", "ofmap").index(op)
        got = {"reads": counts[level, k, nest.C_READS], "fills": counts[level, k, nest.C_FILLS],
               "updates": counts[level, k, nest.C_UPDATES], "footprint": counts[level, k, nest.C_FOOTPRINT]}
        assert got == c, (seed, level, op, rows, levels)
