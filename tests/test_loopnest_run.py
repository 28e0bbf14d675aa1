"""Loop-nest runs: the global-buffer pipeline (folds) and its stall model, spatial folds."""
import math

import numpy as np

from accelsim.kernels import loopnest as ln
from accelsim.loopnest import engine
from accelsim.loopnest.mapping import Mapping
from accelsim.loopnest.run import pipeline_steps, spatial_folds
from accelsim.spec.workload import Layer

LAYER = Layer(name="l", kind="conv", N=1, C=8, H=6, W=6, M=8, R=3, S=3)   # E = F = 4
# DRAM: M2 C2 | GLB: E4 F4 | rows C4, cols M4 | RF: R3 S3
MAPPING = Mapping(loops=(("M", 2), ("C", 2), ("E", 4), ("F", 4), ("R", 3), ("S", 3)),
                  rows=(("C", 4),), cols=(("M", 4),), glb_cut=(2, 2, 2), rf_cut=(4, 4, 4))


def kernel_row():
    problem = np.zeros(ln.PROBLEM_COLS, dtype=np.int64)
    problem[:7] = (1, 8, 8, 4, 4, 3, 3)
    problem[ln.P_STRIDE_H] = problem[ln.P_STRIDE_W] = 1
    problem[ln.P_IFMAP_UNIQUE] = -1
    problem[ln.P_IN_H] = problem[ln.P_IN_W] = 6
    hw = np.array([4, 4, 10**9, 10**9, 10**9, 10**9, 10**9, 10**9, 0, 0, -1, 0, 16, 7], dtype=np.int64)
    return engine.run_kernel(problem, *MAPPING.arrays(), hw)


def test_pipeline_steps_are_the_dram_level_iterations():
    out = pipeline_steps(MAPPING, kernel_row())
    # steps: M 8/4 = 2, C 8/4 = 2, E 4, F 4, R 3, S 3 -> 2*2*4*4*3*3 = 576 MAC steps of 16 PEs
    assert out[ln.X_STEPS] == 576 and out[ln.X_COMPUTE] == 576
    assert out[ln.X_MACS] == 8 * 8 * 4 * 4 * 3 * 3 == 576 * 16
    # the DRAM-level loops M2 C2 make 4 global-buffer steps of 144 cycles
    assert (out[ln.X_FOLDS], out[ln.X_CYC_FOLD]) == (4, 144)


def test_double_buffering_hides_transfers_behind_all_steps_but_one():
    out = pipeline_steps(MAPPING, kernel_row())
    args = dict(groups=1, rows=4, cols=4, stationary=-1, word_bits=16, bandwidth=0.5)
    single = engine.layer_columns(out, double_buffered=False, **args)
    double = engine.layer_columns(out, double_buffered=True, **args)
    dram_words = sum(single[k] for k in ("dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
                                         "dram_ofmap_reads"))
    first, last = int(out[ln.X_FIRST_LOAD]), int(out[ln.X_LAST_DRAIN])
    steady = math.ceil((dram_words - first - last) * 2 / 0.5)      # 16-bit words at 0.5 B/cycle
    assert single["stall_bandwidth_cycles"] == steady
    assert double["stall_bandwidth_cycles"] == max(0, steady - 3 * 144)
    assert double["stall_cycles"] < single["stall_cycles"]
    assert single["fill_drain_cycles"] == double["fill_drain_cycles"] == 0


def test_spatial_folds():
    # C: 8 over 4 rows -> 2 row folds; M: 8 over 4 columns -> 2 column folds
    assert spatial_folds(MAPPING, LAYER) == {"row_folds": 2, "col_folds": 2}
