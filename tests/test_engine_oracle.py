"""The numba kernel against the naive oracle (tests/naive.py), exactly, over many shapes and settings.

Shapes cover partial folds, stride 2, asymmetric stride and padding, groups, depthwise
(groups = C = M), GEMMs, batch > 1 and 1x1 convolutions; the hardware axes cover array shapes,
both timings, double buffering, unlimited and finite bandwidth at several word sizes, and SRAM
sizes from a few words (every operand re-fetched, partial sums spilled) to megabytes.

The end of the file holds regression tests for deviations the oracle once found in the kernel
(overlap window under SCALE-Sim timing, zero-cycle layers, floating-point rounding of transfer
cycles).
"""
from __future__ import annotations

import math

import pytest

from accelsim import model, spec
from accelsim.spec.hw import Hardware, SramBuffer
from accelsim.spec.workload import Layer, Workload

import naive  # tests/naive.py (pytest puts tests/ on sys.path)


def conv(name, n, c, h, w, m, r, s, stride=(1, 1), pad=(0, 0), groups=1):
    return Layer(name=name, kind="conv", N=n, C=c, H=h, W=w, M=m, R=r, S=s, stride_h=stride[0],
                 stride_w=stride[1], pad_h=pad[0], pad_w=pad[1], groups=groups)


def gemm(name, m, n, k):
    # out[M x N] = A[M x K] @ B[K x N] as a 1x1 conv on a 1x1 input (accelsim/spec/workload.py)
    return Layer(name=name, kind="gemm", N=m, C=k, H=1, W=1, M=n, R=1, S=1)


SHAPES = (
    gemm("gemm_4x4x4", 4, 4, 4),
    gemm("gemm_partial_37x19x53", 37, 19, 53),
    gemm("gemv_1x64x300", 1, 64, 300),
    gemm("gemm_1x1x1", 1, 1, 1),
    conv("conv3x3_pad1", 1, 3, 7, 7, 5, 3, 3, pad=(1, 1)),
    conv("conv3x3_stride2_pad1", 1, 4, 9, 8, 6, 3, 3, stride=(2, 2), pad=(1, 1)),
    conv("conv_rect_stride2x1_pad0x1", 1, 3, 10, 6, 4, 3, 2, stride=(2, 1), pad=(0, 1)),
    conv("conv_stride2_no_pad_rounds", 1, 2, 8, 8, 3, 3, 3, stride=(2, 2)),  # SCALE-Sim rounds E up
    conv("conv1x1", 1, 16, 5, 5, 24, 1, 1),
    conv("conv1x1_stride2", 1, 8, 7, 7, 8, 1, 1, stride=(2, 2)),
    conv("conv_grouped_g4", 1, 8, 6, 6, 12, 3, 3, pad=(1, 1), groups=4),
    conv("depthwise_3x3", 1, 6, 8, 8, 6, 3, 3, pad=(1, 1), groups=6),
    conv("depthwise_3x3_stride2", 1, 4, 9, 9, 4, 3, 3, stride=(2, 2), pad=(1, 1), groups=4),
    conv("batch3_conv3x3", 3, 2, 5, 5, 3, 3, 3),
    conv("filter_equals_input", 2, 3, 5, 5, 7, 5, 5),
    conv("alexnet_conv1_like", 1, 3, 31, 31, 16, 11, 11, stride=(4, 4)),
    conv("wide_3x3", 1, 16, 8, 8, 16, 3, 3, pad=(1, 1)),
    conv("grouped_batch2_g2", 2, 4, 6, 5, 6, 2, 3, stride=(1, 2), pad=(1, 0), groups=2),
)

ARRAYS = [(1, 1), (3, 5), (8, 8), (32, 32), (7, 128)]
DATAFLOWS = ["ws", "os", "is"]
TIMINGS = ["physical", "scalesim"]
# (precision, DRAM bytes per cycle): unlimited, then finite at several word sizes; 0.3 and 1.1 are
# not exact in binary floating point
MEMORIES = [("int8", math.inf), ("int8", 10.0), ("fp16", 0.3), ("int4", 2.5), ("fp32", 1.1),
            ("int8", 0.7)]
# bytes per buffer: a few words (everything refetched / spilled), mid-size (mixed), ample
SRAM_BYTES = [24, 1536, 8 << 20]

INT_COLUMNS = (
    "E", "F", "gemm_p", "gemm_m", "gemm_k", "groups", "row_folds", "col_folds", "folds",
    "cycles_per_fold", "compute_cycles", "fill_drain_cycles", "stall_load_cycles",
    "stall_bandwidth_cycles", "stall_writeback_cycles", "stall_cycles", "total_cycles", "macs",
    "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "sram_ofmap_reads",
    "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "dram_ofmap_reads",
)
FLOAT_COLUMNS = ("mapping_efficiency", "pe_utilization", "compute_utilization")


def make_hw(rows, cols, precision, bandwidth, sram_bytes, double_buffered, timing) -> Hardware:
    buffer = SramBuffer(size_bytes=sram_bytes)
    return Hardware(name=f"array_{rows}x{cols}", array_rows=rows, array_cols=cols,
                    interconnect="systolic", precision=precision, clock_mhz=1000.0,
                    sram_ifmap=buffer, sram_filter=buffer, sram_ofmap=buffer,
                    double_buffered=double_buffered, dram_bandwidth_bytes_per_cycle=bandwidth,
                    timing=timing)


def mismatches(hw, dataflow, timing, layers=SHAPES) -> list[str]:
    """Every (layer, column) where the kernel and the oracle differ, as readable lines."""
    expected_rows = [naive.evaluate(layer, hw, dataflow, timing) for layer in layers]
    kept = list(zip(layers, expected_rows))
    table = model.simulate(hw, Workload(name="shapes", layers=tuple(l for l, _ in kept)), dataflow, timing=timing)
    problems = []
    for (layer, expected), (_, row) in zip(kept, table.iterrows()):
        for column in INT_COLUMNS:
            got = row[column]
            if int(got) != expected[column]:
                problems.append(f"{layer.name}: {column}: kernel {int(got)}, oracle {expected[column]}")
        for column in FLOAT_COLUMNS:
            if row[column] != pytest.approx(expected[column], rel=1e-12):
                problems.append(f"{layer.name}: {column}: kernel {row[column]!r}, oracle {expected[column]!r}")
    return problems


@pytest.mark.parametrize("sram_bytes", SRAM_BYTES, ids=lambda b: f"sram{b}B")
@pytest.mark.parametrize("precision,bandwidth", MEMORIES, ids=lambda v: str(v))
@pytest.mark.parametrize("double_buffered", [True, False], ids=["db", "single"])
@pytest.mark.parametrize("timing", TIMINGS)
@pytest.mark.parametrize("dataflow_name", DATAFLOWS)
@pytest.mark.parametrize("rows,cols", ARRAYS, ids=lambda v: str(v))
def test_kernel_equals_oracle(rows, cols, dataflow_name, timing, double_buffered, precision, bandwidth,
                              sram_bytes):
    hw = make_hw(rows, cols, precision, bandwidth, sram_bytes, double_buffered, timing)
    dataflow = spec.load("dataflows", dataflow_name)
    problems = mismatches(hw, dataflow, timing)
    assert not problems, "\n".join(problems[:40])


# Dataflows beyond the presets: every assignment of the three GEMM axes to rows/cols/time is a
# valid spec (the stationary operand follows from the time axis).
_AXIS_DIMS = {"P": ["N", "E", "F"], "M": ["M"], "K": ["C", "R", "S"]}
_STATIONARY = {"P": "filter", "M": "ifmap", "K": "ofmap"}
PERMUTATIONS = [("P", "K", "M"), ("M", "K", "P"), ("M", "P", "K")]


def permuted_dataflow(rows_axis, cols_axis, time_axis):
    data = {"name": f"{rows_axis}{cols_axis}{time_axis}", "rows": _AXIS_DIMS[rows_axis],
            "cols": _AXIS_DIMS[cols_axis], "time": _AXIS_DIMS[time_axis],
            "stationary": _STATIONARY[time_axis]}
    return spec.dataflow_from_dict(data, file="permuted.yaml")


@pytest.mark.parametrize("sram_bytes", SRAM_BYTES, ids=lambda b: f"sram{b}B")
@pytest.mark.parametrize("double_buffered", [True, False], ids=["db", "single"])
@pytest.mark.parametrize("rows,cols", [(3, 5), (8, 8)], ids=lambda v: str(v))
@pytest.mark.parametrize("axes", PERMUTATIONS, ids=lambda a: "rows{}_cols{}_time{}".format(*a))
def test_kernel_equals_oracle_other_dataflows(axes, rows, cols, double_buffered, sram_bytes):
    hw = make_hw(rows, cols, "int8", 10.0, sram_bytes, double_buffered, "physical")
    problems = mismatches(hw, permuted_dataflow(*axes), "physical")
    assert not problems, "\n".join(problems[:40])


def test_grid_reaches_every_traffic_path():
    """The SRAM sizes above really exercise re-fetch, spill and fit (else the grid proves little)."""
    seen = set()
    for rows, cols in ARRAYS:
        for name in DATAFLOWS:
            dataflow = spec.load("dataflows", name)
            for sram_bytes in SRAM_BYTES:
                hw = make_hw(rows, cols, "int8", 10.0, sram_bytes, True, "physical")
                for layer in SHAPES:
                    out = naive.evaluate(layer, hw, dataflow)
                    ifmap_unique = layer.N * layer.C * layer.H * layer.W
                    seen.add((name, "ifmap refetched", out["dram_ifmap_reads"] > ifmap_unique))
                    seen.add((name, "filter refetched", out["dram_filter_reads"] > layer.weights))
                    seen.add((name, "psums spilled", out["dram_ofmap_reads"] > 0))
                    seen.add((name, "bandwidth stall", out["stall_bandwidth_cycles"] > 0))
    expected = {("ws", "ifmap refetched"), ("ws", "psums spilled"), ("os", "ifmap refetched"),
                ("os", "filter refetched"), ("is", "filter refetched"), ("is", "psums spilled")}
    for name, path in expected:
        assert (name, path, True) in seen and (name, path, False) in seen, (name, path)
    for name in DATAFLOWS:
        assert (name, "bandwidth stall", True) in seen and (name, "bandwidth stall", False) in seen


# --- regression tests for deviations the oracle found -------------------------------------------

def one_row(hw, layer, dataflow_name, timing=None):
    table = model.simulate(hw, Workload(name="w", layers=(layer,)), spec.load("dataflows", dataflow_name),
                           timing=timing)
    return table.iloc[0]


def test_scalesim_single_fold_has_no_stall_at_unlimited_bandwidth():
    # GEMM 4x4x4 on 32x32, ws: one fold of 2*32 + 32 + 4 - 2 = 98 cycles, reported as 98 - 1 = 97.
    # Double buffered, unlimited DRAM: nothing can stall. The kernel's overlap window is
    # compute - cycles_per_fold = 97 - 98 = -1, so stall_bandwidth = 0 - (-1) = 1.
    hw = make_hw(32, 32, "int8", math.inf, 8 << 20, True, "scalesim")
    row = one_row(hw, gemm("g", 4, 4, 4), "ws")
    assert (row["compute_cycles"], row["stall_cycles"], row["total_cycles"]) == (97, 0, 97)


@pytest.mark.parametrize("rows,cols", [(3, 5), (8, 8)])
@pytest.mark.parametrize("dataflow_name", DATAFLOWS)
def test_scalesim_overlap_window_is_all_folds_but_one(dataflow_name, rows, cols):
    hw = make_hw(rows, cols, "int8", 1.1, 1536, True, "scalesim")
    problems = mismatches(hw, spec.load("dataflows", dataflow_name), "scalesim")
    assert not problems, "\n".join(problems[:40])


def test_zero_cycle_layer_does_not_crash():
    # SCALE-Sim timing, output stationary, 1x1 array, GEMM 1x1x1: one fold of T + rows + cols - 2
    # = 1 + 1 + 1 - 2 = 1 cycle, reported as 1 - 1 = 0; no stalls at unlimited bandwidth.
    hw = make_hw(1, 1, "int8", math.inf, 8 << 20, False, "scalesim")
    row = one_row(hw, gemm("g", 1, 1, 1), "os")
    assert row["total_cycles"] == 0
    assert not math.isinf(row["pe_utilization"])


def test_transfer_cycles_are_exact_for_decimal_bandwidth():
    # GEMM M=3, N=4, K=3 on 4x4 under ws, int8, 0.7 bytes/cycle, single-buffered, ample SRAM.
    # One fold: rows take K=3, columns the 4 filters, T = P = 3; 2*4 + 4 + 3 - 2 = 13 cycles.
    # First load: ifmap 3x3 = 9 words + filter 3x4 = 12 words = 21 bytes / 0.7 = 30 cycles exactly;
    # in floating point 21*8 / (8.0*0.7) = 30.000000000000004 -> 31.
    # Last drain: 4 x 3 = 12 bytes / 0.7 = 17.14 -> 18. Steady: 33 - 21 - 12 = 0 words.
    hw = make_hw(4, 4, "int8", 0.7, 8 << 20, False, "physical")
    row = one_row(hw, gemm("g", 3, 4, 3), "ws")
    assert (row["compute_cycles"], row["stall_load_cycles"], row["stall_writeback_cycles"],
            row["stall_bandwidth_cycles"], row["total_cycles"]) == (13, 30, 18, 0, 61)
