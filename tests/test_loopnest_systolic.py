"""Weight-, output- and input-stationary as loop-nest mappings give the systolic engine's numbers.

Every integer column and the utilisations of accelsim.model (the systolic closed form, itself
checked against tests/naive.py and SCALE-Sim) must come out identical from the general loop-nest
analysis (accelsim/kernels/loopnest.py) applied to the mapping accelsim/loopnest/systolic.py builds,
over the oracle grid of shapes, arrays, timings, buffering, bandwidths and SRAM sizes.
"""
import itertools

import pytest

from accelsim import model, spec
from accelsim.loopnest import engine, systolic
from accelsim.spec.workload import Workload
from test_engine_oracle import ARRAYS, MEMORIES, SHAPES, SRAM_BYTES, make_hw

COLUMNS = ("folds", "cycles_per_fold", "compute_cycles", "fill_drain_cycles", "stall_load_cycles",
           "stall_bandwidth_cycles", "stall_writeback_cycles", "stall_cycles", "total_cycles", "macs",
           "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "sram_ofmap_reads",
           "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "dram_ofmap_reads")


@pytest.mark.parametrize("timing", ["physical", "scalesim"])
@pytest.mark.parametrize("dataflow_name", ["ws", "os", "is"])
@pytest.mark.parametrize("rows,cols", ARRAYS, ids=str)
def test_systolic_dataflows_through_the_loop_nest_engine(rows, cols, dataflow_name, timing):
    dataflow = spec.load("dataflows", dataflow_name)
    problems = []
    for double_buffered, (precision, bandwidth), sram in itertools.product(
            [True, False], MEMORIES, SRAM_BYTES):
        hw = make_hw(rows, cols, precision, bandwidth, sram, double_buffered, timing)
        table = model.simulate(hw, Workload(name="s", layers=tuple(SHAPES)), dataflow, timing=timing)
        for layer, (_, row) in zip(SHAPES, table.iterrows()):
            inst = systolic.instance(layer, hw, dataflow, timing)
            out = engine.run_kernel(inst.problem, inst.loops, inst.n_loops, inst.spatial, inst.cuts, inst.hw)
            got = engine.layer_columns(out, layer.groups, rows, cols, timing == "scalesim",
                                       int(inst.hw[10]), double_buffered, hw.word_bits, bandwidth)
            for col in COLUMNS:
                if got[col] != row[col]:
                    problems.append(f"{layer.name} db={double_buffered} {precision} bw={bandwidth} "
                                    f"sram={sram}: {col}: loop nest {got[col]}, systolic {row[col]}")
            for col in ("mapping_efficiency", "pe_utilization"):
                if got[col] != pytest.approx(row[col], rel=1e-12):
                    problems.append(f"{layer.name}: {col}: loop nest {got[col]}, systolic {row[col]}")
    assert not problems, "\n".join(problems[:30])
