"""Counts never overflow int64: the kernels' intermediate products at the largest sizes validation
admits (hw/README.md, "Bounds"), checked against Python's unbounded integers.

numba's int64 arithmetic wraps silently; every product in accelsim/kernels either is a partial
product of a count that validation bounds below 2^63 (products of factors >= 1 never exceed the
final count), or goes through accelsim/kernels/intmath.py. These tests hold the second kind.
"""
from __future__ import annotations

import random

import numpy as np
import pytest

import accelsim
from accelsim import spec
from accelsim.kernels.intmath import SATURATED, mul_div_floor, saturating_mul
from accelsim.kernels.timing import transfer_cycles
from accelsim.spec.workload import Layer, Workload

INT64_MAX = 2**63 - 1


def test_mul_div_floor_equals_python_integers():
    rng = random.Random(15)
    cases = [(2**56 - 1, 2**56 - 3, 2**56 + 7), (1_073_741_824, 9_663_676_416, 9_663_676_416),
             (2**62, 2**62, 2**62 + 1), (INT64_MAX, INT64_MAX, INT64_MAX), (3, 5, 7), (0, 2**60, 3), (2**40, 0, 1)]
    for _ in range(2000):
        c = rng.randrange(1, 2**rng.randrange(1, 63))
        a = rng.randrange(0, 2**rng.randrange(1, 63))
        # keep the quotient inside int64, as every share of a count is
        b = rng.randrange(0, max(1, min(INT64_MAX, (INT64_MAX * c) // max(a, 1))))
        cases.append((a, b, c))
    for a, b, c in cases:
        assert mul_div_floor(np.int64(a), np.int64(b), np.int64(c)) == (a * b) // c, (a, b, c)


def test_saturating_mul():
    assert saturating_mul(np.int64(2**31), np.int64(2**31)) == 2**62
    assert saturating_mul(np.int64(2**40), np.int64(2**40)) == SATURATED
    assert saturating_mul(np.int64(3), np.int64(0)) == 0
    assert saturating_mul(np.int64(12345), np.int64(678)) == 12345 * 678


def test_transfer_cycles_of_the_largest_traffic():
    # 2^58 words of 32 bits (the access-count bound) over 2^40 bytes per cycle: 2^20 cycles
    assert transfer_cycles(np.int64(2**58), np.int64(32), 2.0**40) == 2**20
    assert transfer_cycles(np.int64(2**58 + 2**40), np.int64(32), 2.0**40) > 2**20


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_cycle_fidelity_dram_sharing_on_a_large_input(dataflow):
    """3x3 conv 64 -> 64 on a 1024x2048 input, batch 8, on tpu_v1: the DRAM sharing arithmetic
    multiplies two counts of ~2^30 and ~2^33 (the cycle level once gave -835,132,530 ifmap reads)."""
    layer = Layer(name="big", kind="conv", N=8, C=64, H=1024, W=2048, M=64, R=3, S=3, stride_h=1, stride_w=1,
                  pad_h=1, pad_w=1)
    hw = spec.load("hw", "tpu_v1")
    workload = Workload(name="big", layers=(layer,))
    cycle = accelsim.simulate(hw, workload, dataflow, fidelity="cycle").iloc[0]
    analytical = accelsim.simulate(hw, workload, dataflow).iloc[0]
    if dataflow == "ws":
        assert analytical["dram_ifmap_reads"] == 8 * 64 * 1024 * 2048 == 1_073_741_824
    for col in ("dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "dram_ofmap_reads",
                "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "compute_cycles", "macs"):
        assert cycle[col] == analytical[col] >= 0, col


def test_cycle_fidelity_share_beyond_2_to_the_69():
    """unique ifmap words (2^33) times im2col words (~2^36): far beyond int64 in the product."""
    layer = Layer(name="bigger", kind="conv", N=1, C=512, H=4096, W=4096, M=64, R=3, S=3, stride_h=1,
                  stride_w=1, pad_h=1, pad_w=1)
    hw = spec.load("hw", "tpu_v1")
    workload = Workload(name="bigger", layers=(layer,))
    cycle = accelsim.simulate(hw, workload, "ws", fidelity="cycle").iloc[0]
    analytical = accelsim.simulate(hw, workload, "ws").iloc[0]
    assert analytical["dram_ifmap_reads"] == 512 * 4096 * 4096
    for col in ("dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "dram_ofmap_reads", "compute_cycles"):
        assert cycle[col] == analytical[col] >= 0, col


def test_analytical_engine_at_the_volume_bound():
    """A 1x1 conv whose loop-nest volume is 2^54 (validation admits < 2^56): exact Python-int
    counts for weight stationary on tpu_v1 (K = C on the rows, M on the columns, P in time)."""
    n, c, h, w, m = 1, 2**20, 2**7, 2**7, 2**20
    layer = Layer(name="huge", kind="conv", N=n, C=c, H=h, W=w, M=m, R=1, S=1, stride_h=1, stride_w=1)
    hw = spec.load("hw", "tpu_v1")
    row = accelsim.simulate(hw, Workload(name="huge", layers=(layer,)), "ws").iloc[0]
    p, k = n * h * w, c
    row_folds, col_folds = -(-k // hw.array_rows), -(-m // hw.array_cols)
    cycles_per_fold = 2 * hw.array_rows + hw.array_cols + p - 2
    assert row["macs"] == p * k * m == 2**54
    assert row["folds"] == row_folds * col_folds
    assert row["compute_cycles"] == row_folds * col_folds * cycles_per_fold
    assert row["sram_ifmap_reads"] == p * k * col_folds
    assert row["sram_filter_reads"] == k * m
    assert row["sram_ofmap_writes"] == p * m * row_folds
    assert row["dram_filter_reads"] == k * m
    assert row["dram_ifmap_reads"] == n * c * h * w * col_folds     # 2^34 words never fit: re-read per column fold
    ints = row[[col for col in row.index if isinstance(row[col], (int, np.integer))]]
    assert (ints >= 0).all()


def test_scalesim_padding_cannot_overflow_the_padded_input():
    """SCALE-Sim timing reads the padded input, (H + 2 pad) x (W + 2 pad): with paddings near
    2^31 that size alone exceeds int64, while the input words the windows touch stay tiny (the
    cycle level once read 15,032,385,540 ifmap words here)."""
    # 4 x (2^31 + 1) x (1.5 x 2^31 + 1) wraps to a negative int64
    layer = Layer(name="padded", kind="conv", N=1, C=4, H=1, W=1, M=8, R=1, S=1, stride_h=2**31 - 1,
                  stride_w=2**31 - 1, pad_h=2**30, pad_w=2**30 - 2**28)
    hw = spec.load("hw", "scalesim_default")
    for fidelity in ("analytical", "cycle"):
        row = accelsim.simulate(hw, Workload(name="padded", layers=(layer,)), "ws", timing="scalesim",
                                fidelity=fidelity).iloc[0]
        # SCALE-Sim rounds the output size up: E = ceil((H' - R + U) / U) = 3, F = 2
        assert row["gemm_p"] == 6 and row["gemm_k"] == 4
        # the padded input pixels some window touches: rows 0 and U of H' = 2^31 + 1, column 0
        assert row["dram_ifmap_reads"] == 4 * 2 * 1, fidelity
