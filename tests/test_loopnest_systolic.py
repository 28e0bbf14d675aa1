"""Weight-, output- and input-stationary through the general loop-nest engine give the numbers of
the closed-form systolic model the core shipped first.

accelsim's engine evaluates the systolic dataflows as loop-nest mappings
(accelsim.kernels.systolic.build_instance -> accelsim.kernels.loopnest.evaluate_one). The closed
form (tests/systolic_closed_form.py: operand-by-operand fold and re-fetch formulas, no loop-nest
analysis) is an independent formulation; every integer column and the utilisations must agree
point for point over the oracle grid of shapes, arrays, timings, buffering, bandwidths and SRAM
sizes (19,440 points), and over the three axis assignments ws, os, is do not use.
"""
import itertools

import numpy as np
import pytest

from accelsim import model, spec
from accelsim.kernels import systolic as k
from accelsim.loopnest import engine, systolic
from accelsim.spec.workload import Workload
from test_engine_oracle import ARRAYS, MEMORIES, PERMUTATIONS, SHAPES, SRAM_BYTES, make_hw, permuted_dataflow

import systolic_closed_form as closed  # tests/ is on sys.path


def closed_form(batch):
    n = batch.layers.shape[0]
    out_int = np.zeros((n, len(k.INT_OUTPUTS)), dtype=np.int64)
    out_float = np.zeros((n, len(k.FLOAT_OUTPUTS)), dtype=np.float64)
    closed.evaluate(batch.layers, batch.hws, batch.bandwidths, batch.dataflows, out_int, out_float)
    return out_int, out_float


def grid_batch(rows, cols, dataflows, timing):
    layers, hws, bws, dfs = [], [], [], []
    for dataflow in dataflows:
        for double_buffered, (precision, bandwidth), sram in itertools.product([True, False], MEMORIES, SRAM_BYTES):
            hw = make_hw(rows, cols, precision, bandwidth, sram, double_buffered, timing)
            for layer in SHAPES:
                layers.append(model.layer_row(layer))
                hws.append(model.hw_row(hw, timing))
                bws.append(bandwidth)
                dfs.append(dataflow.axis_codes)
    return model.Batch(np.array(layers, dtype=np.int64), np.array(hws, dtype=np.int64),
                       np.array(bws, dtype=np.float64), np.array(dfs, dtype=np.int64))


def assert_same(batch):
    got_int, got_float = model.evaluate_batch(batch)
    want_int, want_float = closed_form(batch)
    bad = np.argwhere(got_int != want_int)
    problems = [f"point {i}: {k.INT_OUTPUTS[j]}: engine {got_int[i, j]}, closed form {want_int[i, j]}"
                for i, j in bad[:30]]
    assert not problems, "\n".join(problems)
    np.testing.assert_allclose(got_float, want_float, rtol=1e-12)


@pytest.mark.parametrize("timing", ["physical", "scalesim"])
@pytest.mark.parametrize("rows,cols", ARRAYS, ids=str)
def test_systolic_dataflows_equal_the_closed_form(rows, cols, timing):
    assert_same(grid_batch(rows, cols, [spec.load("dataflows", name) for name in ("ws", "os", "is")], timing))


@pytest.mark.parametrize("rows,cols", [(3, 5), (8, 8)], ids=str)
def test_every_axis_assignment_equals_the_closed_form(rows, cols):
    assert_same(grid_batch(rows, cols, [permuted_dataflow(*axes) for axes in PERMUTATIONS], "physical"))


@pytest.mark.parametrize("dataflow_name", ["ws", "os", "is"])
def test_instance_is_the_mapping_the_engine_evaluates(dataflow_name):
    # the Python-side instance (used by the mapper tests and docs) runs through run_kernel and
    # layer_columns to the engine's row
    dataflow = spec.load("dataflows", dataflow_name)
    hw = make_hw(8, 8, "int8", 4.0, 512, True, "physical")
    table = model.simulate(hw, Workload(name="s", layers=tuple(SHAPES)), dataflow)
    for layer, (_, row) in zip(SHAPES, table.iterrows()):
        inst = systolic.instance(layer, hw, dataflow, "physical")
        out = engine.run_kernel(inst.problem, inst.loops, inst.n_loops, inst.spatial, inst.cuts, inst.hw)
        got = engine.layer_columns(out, layer.groups, 8, 8, int(inst.hw[10]), True, hw.word_bits, 4.0)
        for col in ("folds", "compute_cycles", "stall_cycles", "total_cycles", "sram_ifmap_reads",
                    "dram_ifmap_reads", "dram_ofmap_writes"):
            assert got[col] == row[col], (layer.name, col)
