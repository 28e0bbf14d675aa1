"""Tiny cases computed by hand from accelsim/model.py's docstring, asserting exact integers.

Notation: per group P = N*E*F pixels, M/G filters, K = (C/G)*R*S; a fold takes
2*rows + cols + T - 2 cycles (physical timing). The arithmetic is in the comments.
"""
from __future__ import annotations

import math

import pytest

from accelsim import model, spec
from accelsim.spec.hw import Hardware, SramBuffer
from accelsim.spec.workload import Layer, Workload


def make_hw(rows, cols, *, bandwidth=math.inf, sram_bytes=1 << 20, double_buffered=True,
            timing="physical", ifmap_bytes=None, ofmap_bytes=None):
    return Hardware(
        name=f"{rows}x{cols}", array_rows=rows, array_cols=cols, interconnect="systolic",
        precision="int8", clock_mhz=1000.0,
        sram_ifmap=SramBuffer(ifmap_bytes or sram_bytes), sram_filter=SramBuffer(sram_bytes),
        sram_ofmap=SramBuffer(ofmap_bytes or sram_bytes), double_buffered=double_buffered,
        dram_bandwidth_bytes_per_cycle=bandwidth, timing=timing)


def gemm(m, n, k):
    return Layer(name=f"gemm_{m}x{n}x{k}", kind="gemm", N=m, C=k, H=1, W=1, M=n, R=1, S=1)


def run(hw, layer, dataflow, timing=None) -> dict:
    table = model.simulate(hw, Workload(name="w", layers=(layer,)), spec.load("dataflows", dataflow),
                           timing=timing)
    return table.iloc[0].to_dict()


def pick(row, *columns):
    return tuple(int(row[c]) for c in columns)


FOLDING = ("row_folds", "col_folds", "folds", "cycles_per_fold", "compute_cycles", "fill_drain_cycles", "macs")
SRAM = ("sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "sram_ofmap_reads")
DRAM = ("dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "dram_ofmap_reads")
STALLS = ("stall_load_cycles", "stall_bandwidth_cycles", "stall_writeback_cycles", "stall_cycles", "total_cycles")


# --- GEMM M=4, N=4, K=4 on a 2x2 array: P = 4, 4 filters, K = 4 --------------------------------

def test_gemm_4x4x4_on_2x2_weight_stationary():
    row = run(make_hw(2, 2), gemm(4, 4, 4), "ws")
    # ws: rows take K=4 -> 2 row folds, columns the 4 filters -> 2 column folds, T = P = 4.
    # 4 folds of 2*2 + 2 + 4 - 2 = 8 cycles = 32; streaming 4 x 4 = 16, so fill/drain 16.
    assert pick(row, *FOLDING) == (2, 2, 4, 8, 32, 16, 64)
    # Per fold: ifmap enters the 2 row ports for T=4 cycles: 2*4 = 8 words, x 4 folds = 32
    # (= P*K x 2 column folds); filter tile 2x2 = 4, x 4 = 16 (= K*M, read once);
    # outputs leave the 2 columns for 4 cycles: 8, x 4 = 32 (= P*M x 2 row folds);
    # the 2 folds of the second row fold read their 8 partial sums back: 16.
    assert pick(row, *SRAM) == (32, 16, 32, 16)
    # 1 MiB buffers hold everything: each word crosses DRAM once; 16 ifmap, 16 weights, 16 outputs.
    assert pick(row, *DRAM) == (16, 16, 16, 0)
    assert pick(row, *STALLS) == (0, 0, 0, 0, 32)
    assert row["mapping_efficiency"] == 1.0
    assert row["pe_utilization"] == 64 / (32 * 4)


def test_gemm_4x4x4_on_2x2_bandwidth_stalls():
    # 1 byte/cycle of int8: 1 word per cycle.
    # first fold's tiles: ifmap 2 rows x T=4 = 8 + filter 2x2 = 4 -> 12 cycles.
    # last output tile: 2 columns x T=4 = 8 -> 8 cycles.
    # remaining: 16 + 16 + 16 - 12 - 8 = 28 cycles of traffic.
    # double-buffered: overlaps all folds but one, 32 - 8 = 24 cycles -> 28 - 24 = 4 stall.
    row = run(make_hw(2, 2, bandwidth=1.0), gemm(4, 4, 4), "ws")
    assert pick(row, *STALLS) == (12, 4, 8, 24, 56)
    # single-buffered: nothing overlaps -> all 28.
    row = run(make_hw(2, 2, bandwidth=1.0, double_buffered=False), gemm(4, 4, 4), "ws")
    assert pick(row, *STALLS) == (12, 28, 8, 48, 80)
    # 4 bytes/cycle: 3 + ceil(28/4)=7 - 24 -> 0 + 2
    row = run(make_hw(2, 2, bandwidth=4.0), gemm(4, 4, 4), "ws")
    assert pick(row, *STALLS) == (3, 0, 2, 5, 37)


def test_gemm_4x4x4_on_2x2_output_stationary():
    row = run(make_hw(2, 2), gemm(4, 4, 4), "os")
    # os: rows take P=4 -> 2, columns the filters -> 2, T = K = 4: again 4 folds of 8 cycles.
    assert pick(row, *FOLDING) == (2, 2, 4, 8, 32, 16, 64)
    # ifmap 2 rows x 4 = 8 per fold -> 32; filter 2 columns x 4 = 8 per fold -> 32;
    # the 2x2 outputs are shifted out once per fold -> 16; no partial sums leave the array.
    assert pick(row, *SRAM) == (32, 32, 16, 0)


def test_gemm_4x4x4_on_2x2_input_stationary():
    row = run(make_hw(2, 2), gemm(4, 4, 4), "is")
    # is: rows take K=4 -> 2, columns P=4 -> 2, T = 4 filters.
    assert pick(row, *FOLDING) == (2, 2, 4, 8, 32, 16, 64)
    # ifmap 2x2 tile held: 4 per fold -> 16; filters 2 rows x 4 -> 32;
    # outputs 2 columns x 4 -> 32; second row fold reads 2 x 8 = 16 partial sums.
    assert pick(row, *SRAM) == (16, 32, 32, 16)


def test_gemm_4x4x4_on_2x2_scalesim_timing():
    # ws: SCALE-Sim reports 4 folds x 8 - 1 = 31
    assert run(make_hw(2, 2), gemm(4, 4, 4), "ws", timing="scalesim")["compute_cycles"] == 31
    # os: T + rows + cols - 2 = 4 + 2 + 2 - 2 = 6 per fold, 4 x 6 - 1 = 23;
    # ofmap writes 16 + (2 + 2) phantom writes per fold x 4 = 32
    row = run(make_hw(2, 2), gemm(4, 4, 4), "os", timing="scalesim")
    assert pick(row, "cycles_per_fold", "compute_cycles", "sram_ofmap_writes", "sram_ofmap_reads") == (6, 23, 32, 0)
    # SCALE-Sim compute utilisation: mapping 1.0 x T / (T + rows + cols - 2) = 4/6
    assert row["compute_utilization"] == pytest.approx(4 / 6)


# --- a 1x1 array: GEMM M=2, N=3, K=5 under ws --------------------------------------------------

def test_gemm_on_1x1_array():
    row = run(make_hw(1, 1), gemm(2, 3, 5), "ws")
    # K=5 rows -> 5 row folds, 3 filters -> 3 column folds, T = P = 2: 15 folds of
    # 2*1 + 1 + 2 - 2 = 3 cycles = 45; streaming 15 x 2 = 30, fill/drain 15.
    assert pick(row, *FOLDING) == (5, 3, 15, 3, 45, 15, 30)
    # ifmap P*K = 10 x 3 column folds = 30; filter 15 once; outputs P*M = 6 x 5 row folds = 30;
    # partial sums read back by the 4 later row folds: 6 x 4 = 24.
    assert pick(row, *SRAM) == (30, 15, 30, 24)
    assert row["mapping_efficiency"] == 1.0


def test_gemm_on_1x1_array_tiny_buffers():
    # Double-buffered ifmap of 4 bytes -> 2 words per half; ofmap of 1 byte -> 0 words per half.
    hw = make_hw(1, 1, bandwidth=1.0, ifmap_bytes=4, ofmap_bytes=1)
    row = run(hw, gemm(2, 3, 5), "ws")
    # ifmap: 10 unique words do not fit 2 -> fetched again for each of the 3 column folds: 30.
    # filter: stationary, each 1x1 tile once: 15.
    # ofmap: one column tile of outputs (1 x T=2) does not fit 0 -> every one of the 5 row folds
    # spills its partial sums: 6 x 5 = 30 written, 6 x 4 = 24 read back.
    assert pick(row, *DRAM) == (30, 15, 30, 24)
    # first tiles: ifmap 1 x 2 + filter 1 = 3 cycles; last output tile 1 x 2 = 2 cycles;
    # remaining 99 - 3 - 2 = 94 cycles vs overlap 45 - 3 = 42 -> 52 stall.
    assert pick(row, *STALLS) == (3, 52, 2, 57, 102)


# --- depthwise 3x3, C = M = G = 2, 4x4 input, padding 1, on a 4x4 array --------------------------

def depthwise():
    return Layer(name="dw", kind="conv", N=1, C=2, H=4, W=4, M=2, R=3, S=3, pad_h=1, pad_w=1, groups=2)


def test_depthwise_weight_stationary():
    layer = depthwise()
    row = run(make_hw(4, 4), layer, "ws")
    # E = F = (4 + 2 - 3)/1 + 1 = 4; per group P = 16, 1 filter, K = 1*3*3 = 9.
    assert pick(row, "E", "F", "gemm_p", "gemm_m", "gemm_k", "groups") == (4, 4, 16, 1, 9, 2)
    # ws: K=9 on 4 rows -> 3 row folds (4, 4, 1), 1 filter -> 1 column fold, T = 16.
    # 2 groups x 3 folds = 6 folds of 2*4 + 4 + 16 - 2 = 26 cycles = 156; fill/drain 156 - 6*16 = 60.
    # MACs 2 x 16 x 1 x 9 = 288 = Layer.macs.
    assert pick(row, *FOLDING) == (3, 1, 6, 26, 156, 60, 288)
    assert layer.macs == 288
    # ifmap P*K = 144 per group, once (filters on the columns: 1 fold) -> 288;
    # filter 9 per group -> 18; outputs 16 x 3 row folds x 2 groups = 96; psums 16 x 2 x 2 = 64.
    assert pick(row, *SRAM) == (288, 18, 96, 64)
    # DRAM: unique ifmap 4x4 per channel -> 32, 18 weights, 32 outputs.
    assert pick(row, *DRAM) == (32, 18, 32, 0)
    # 9 useful PEs of 3 folds x 16: 9/48; 288 MACs in 156 cycles on 16 PEs.
    assert row["mapping_efficiency"] == 9 / 48
    assert row["pe_utilization"] == 288 / (156 * 16)


def test_depthwise_output_stationary():
    row = run(make_hw(4, 4), depthwise(), "os")
    # os: P=16 on 4 rows -> 4 row folds, 1 filter column, T = K = 9: 2 groups x 4 = 8 folds of
    # 2*4 + 4 + 9 - 2 = 19 cycles = 152. Only one of 4 columns is used: mapping 16/64.
    assert pick(row, *FOLDING) == (4, 1, 8, 19, 152, 80, 288)
    assert row["mapping_efficiency"] == 0.25
    # ifmap 16 x 9 per group once = 288; filter 9 x 4 row folds x 2 = 72; outputs 16 x 2 = 32.
    assert pick(row, *SRAM) == (288, 72, 32, 0)


# --- output size: floor (physical) vs SCALE-Sim's ceiling --------------------------------------

def test_output_size_rounding():
    layer = Layer(name="c", kind="conv", N=1, C=1, H=6, W=6, M=1, R=3, S=3, stride_h=2, stride_w=2)
    # physical: (6 - 3)//2 + 1 = 2; SCALE-Sim: ceil((6 - 3 + 2)/2) = ceil(2.5) = 3
    assert pick(run(make_hw(4, 4), layer, "ws"), "E", "F", "gemm_p") == (2, 2, 4)
    assert pick(run(make_hw(4, 4), layer, "ws", timing="scalesim"), "E", "F", "gemm_p") == (3, 3, 9)
    padded = Layer(name="p", kind="conv", N=1, C=1, H=5, W=5, M=1, R=3, S=3, stride_h=2, stride_w=2,
                   pad_h=1, pad_w=1)
    # padded to 7: physical (5 + 2 - 3)//2 + 1 = 3; SCALE-Sim ceil((7 - 3 + 2)/2) = 3
    for timing in ("physical", "scalesim"):
        assert pick(run(make_hw(4, 4), padded, "ws", timing=timing), "E", "F") == (3, 3)


def test_sram_bandwidth_limit_stalls_the_array():
    # GEMM M=4 (pixels), N=4, K=4 on a 2x2 WS array, unlimited DRAM: compute 4 folds x
    # (2*2 + 2 + 4 - 2) = 32 cycles; array-side SRAM accesses: ifmap 32 + filter 16 + ofmap
    # writes 32 + psum reads 16 = 96 words. At 2 words/cycle they need 48 cycles: 16 stall cycles.
    import dataclasses
    import math

    import accelsim
    from accelsim.spec.hw import Hardware, SramBuffer
    from accelsim.spec.workload import Layer, Workload
    buf = SramBuffer(1 << 20)
    hw = Hardware(name="t", array_rows=2, array_cols=2, interconnect="systolic", precision="int8",
                  clock_mhz=1000.0, sram_ifmap=buf, sram_filter=buf, sram_ofmap=buf, double_buffered=True,
                  dram_bandwidth_bytes_per_cycle=math.inf)
    wl = Workload(name="g", layers=(Layer(name="g", kind="gemm", N=4, C=4, H=1, W=1, M=4, R=1, S=1),))
    free = accelsim.simulate(hw, wl, "ws").iloc[0]
    assert (free["compute_cycles"], free["stall_sram_bandwidth_cycles"], free["total_cycles"]) == (32, 0, 32)
    limited = accelsim.simulate(dataclasses.replace(hw, sram_bandwidth_words_per_cycle=2.0), wl, "ws").iloc[0]
    assert (limited["stall_sram_bandwidth_cycles"], limited["stall_cycles"], limited["total_cycles"]) == (16, 16, 48)
    wide = accelsim.simulate(dataclasses.replace(hw, sram_bandwidth_words_per_cycle=4.0), wl, "ws").iloc[0]
    assert wide["stall_sram_bandwidth_cycles"] == 0      # 96 / 4 = 24 <= 32


def test_noc_and_rf_bandwidth_limits_bound_the_cycles():
    # The GEMM above (64 MACs, 32 compute cycles) under WS: PE-to-PE hops of the moving operands
    # = MACs - edge accesses: ifmap 64 - 32 = 32, ofmap 64 - 32 = 32, filter 0 (stationary) -> 64
    # transfers; at 1 word/cycle they need 64 cycles: 32 stall cycles. RF: the stationary filter
    # is written 16 times (its SRAM reads) and read by all 64 MACs -> 80 accesses over 4 PEs; at
    # 5 per PE per cycle (20 per cycle) 4 cycles, no stall; at 0.25 (1 per cycle) 80 cycles, 48
    # stall cycles, and it binds rather than the NoC's 64.
    import dataclasses
    import math

    import accelsim
    from accelsim.spec.hw import Hardware, SramBuffer
    from accelsim.spec.workload import Layer, Workload
    buf = SramBuffer(1 << 20)
    hw = Hardware(name="t", array_rows=2, array_cols=2, interconnect="systolic", precision="int8",
                  clock_mhz=1000.0, sram_ifmap=buf, sram_filter=buf, sram_ofmap=buf, double_buffered=True,
                  dram_bandwidth_bytes_per_cycle=math.inf)
    wl = Workload(name="g", layers=(Layer(name="g", kind="gemm", N=4, C=4, H=1, W=1, M=4, R=1, S=1),))
    noc = accelsim.simulate(dataclasses.replace(hw, noc_bandwidth_words_per_cycle=1.0), wl, "ws").iloc[0]
    assert (noc["noc_ifmap_transfers"], noc["noc_filter_transfers"], noc["noc_ofmap_transfers"]) == (32, 0, 32)
    assert (noc["stall_noc_bandwidth_cycles"], noc["stall_rf_bandwidth_cycles"], noc["total_cycles"]) == (32, 0, 64)
    rf_ok = accelsim.simulate(dataclasses.replace(hw, rf_bandwidth_words_per_cycle=5.0), wl, "ws").iloc[0]
    assert (rf_ok["rf_filter_writes"], rf_ok["rf_filter_reads"], rf_ok["total_cycles"]) == (16, 64, 32)
    both = accelsim.simulate(dataclasses.replace(hw, rf_bandwidth_words_per_cycle=0.25, noc_bandwidth_words_per_cycle=1.0),
                             wl, "ws").iloc[0]
    assert (both["stall_rf_bandwidth_cycles"], both["stall_noc_bandwidth_cycles"], both["stall_sram_bandwidth_cycles"],
            both["stall_cycles"], both["total_cycles"]) == (48, 0, 0, 48, 80)
    # partial sums handed down the columns: one reduction per ofmap hop
    assert both["psum_spatial_reductions"] == 32


def test_psum_spatial_reductions_on_a_multicast_array():
    # Eyeriss row stationary, AlexNet CONV1 (R = 11): each output's 11 filter-row partial sums
    # accumulate up a column of 11 PEs, so 10 of every 11 words leaving a PE's psum registers are
    # reduced in the array and 1 reaches the global buffer.
    import accelsim
    from accelsim import spec
    layer = spec.load("workloads", "alexnet").layers[0]
    row = accelsim.simulate("eyeriss", spec.Workload(name="c1", layers=(layer,)), "rs").iloc[0]
    assert row["psum_spatial_reductions"] == row["noc_ofmap_transfers"] - row["sram_ofmap_writes"]
    assert row["noc_ofmap_transfers"] == 11 * row["sram_ofmap_writes"]
