"""The loop-nest dataflows counted by the N-level engine (accelsim/loopnest/nest_counts.py): every
OUTPUTS column equals the two-level kernel's (accelsim/kernels/loopnest.py, itself checked against
the brute force tests/naive_loopnest.py) on random perfect mappings of random padded layers and on
the mapper's chosen and Pareto mappings of the eyeriss preset's runs; the mappings nest.py does not
count yet go to the two-level kernel."""
from __future__ import annotations

import random

import numpy as np
import pytest
from test_tree_engine import factorise

from accelsim import spec
from accelsim.encoding import at_precision, layer_precision
from accelsim.kernels import loopnest as ln
from accelsim.loopnest.mapper import hw_array, problem_array, search
from accelsim.loopnest.nest_counts import counted_by_nest, nest_outputs

DIMS = ln.DIMS


def random_case(seed):
    """A padded, strided layer (one group), a keep mask and a perfect mapping: DRAM, GLB, rows,
    cols and (when every operand is kept) RF factors per dimension, loops in random order."""
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


@pytest.mark.parametrize("seed", range(200))
def test_every_column_equals_the_two_level_kernel(seed):
    problem, loops, n, spatial, cuts, hw = random_case(seed)
    assert counted_by_nest(problem, loops, n, spatial, cuts, int(hw[ln.HWL_KEEP_MASK]))
    got, want = nest_outputs(problem, loops, n, spatial, cuts, hw), two_level(problem, loops, n, spatial, cuts, hw)
    assert dict(zip(ln.OUTPUTS, got.tolist())) == dict(zip(ln.OUTPUTS, want.tolist()))


def test_what_nest_does_not_count_yet_goes_to_the_two_level_kernel():
    """An imperfect factor (the array's rows take 3 of a bound of 4: two tiles, the last partial)
    and register-file loops over an operand the PEs do not keep."""
    problem, loops, n, spatial, cuts, hw = random_case(0)
    problem = problem.copy()
    problem[ln.D_M] = 4
    loops[:] = (0, 1)
    loops[0] = (ln.D_M, 2)
    spatial = np.ones((2, 7), dtype=np.int64)
    spatial[0, ln.D_M] = 3
    for d in (ln.D_N, ln.D_C, ln.D_E, ln.D_F, ln.D_R, ln.D_S):
        spatial[1, d] = problem[d] if d in (ln.D_N, ln.D_C) else 1
    rest = [(d, int(problem[d])) for d in (ln.D_E, ln.D_F, ln.D_R, ln.D_S) if problem[d] > 1]
    for i, (d, trip) in enumerate(rest):
        loops[1 + i] = (d, trip)
    n = 1 + len(rest)
    cuts = np.array([[1] * 3, [n] * 3], dtype=np.int64)
    hw = hw.copy()
    hw[ln.HWL_ROWS], hw[ln.HWL_COLS] = 3, int(spatial[1].prod())
    assert not counted_by_nest(problem, loops, n, spatial, cuts, 7)
    assert (nest_outputs(problem, loops, n, spatial, cuts, hw) == two_level(problem, loops, n, spatial, cuts, hw)).all()
    spatial[0, ln.D_M] = 2                                # perfect now; RF loops over E, F, R, S
    cuts = np.array([[1] * 3, [1] * 3], dtype=np.int64)
    hw[ln.HWL_ROWS], hw[ln.HWL_KEEP_MASK] = 2, 0
    assert counted_by_nest(problem, loops, n, spatial, cuts, 7) and not counted_by_nest(problem, loops, n, spatial,
                                                                                         cuts, 0)
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
