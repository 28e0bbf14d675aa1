"""The memory-system RTL (double-buffered SRAM, DMA engine, DRAM port) against the cycle-level
simulator: every fold's start and end cycle, every DRAM transfer, the stall cycles and the DRAM
bytes agree exactly, for ws, os and is, with bandwidths where stalls appear and vanish."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import AccelsimError
from accelsim.rtl import memplan
from accelsim.rtl.memsys import bandwidth_fraction, cosim_layer
from accelsim.spec.hw import Hardware, SramBuffer


def make_hw(rows, cols, bandwidth, sram_bytes=256, double_buffered=True, precision="int8", latency=0):
    buffer = SramBuffer(size_bytes=sram_bytes)
    return Hardware(name=f"array_{rows}x{cols}", array_rows=rows, array_cols=cols, interconnect="systolic",
                    precision=precision, clock_mhz=1000.0, sram_ifmap=buffer, sram_filter=buffer,
                    sram_ofmap=buffer, double_buffered=double_buffered,
                    dram_bandwidth_bytes_per_cycle=bandwidth, dram_latency_cycles=latency)


def _agree(res):
    assert res.ok, res.summary()
    assert res.bit_exact
    assert res.rtl.fold_starts == res.cycle_fold_starts and res.rtl.fold_ends == res.cycle_fold_ends
    return res


# 64 B/cycle: every transfer hides behind a fold (no bandwidth stall); 2 and 0.7: stalls between folds
@pytest.mark.parametrize("bandwidth,stalls_between", [(64, False), (2, True), (0.7, True)])
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_stall_timeline_equals_the_cycle_simulator(dataflow, bandwidth, stalls_between):
    res = _agree(cosim_layer(make_hw(4, 4, bandwidth), dataflow, 10, 9, 7))
    assert res.folds >= 6
    assert (res.rtl_stalls["stall_bandwidth_cycles"] > 0) == stalls_between
    assert res.rtl_stalls["stall_load_cycles"] > 0 and res.rtl_stalls["stall_writeback_cycles"] > 0
    # DRAM bytes: the GEMM's operands once each here (the 128-byte halves keep a reused slice)
    assert res.rtl.dram_bytes_read >= 10 * 9 + 9 * 7 and res.rtl.dram_bytes_written == 10 * 7


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize("case", ["single_buffered", "spill_int16", "reuse_large_sram"])
def test_buffering_and_reuse_variants(dataflow, case):
    kw = {"single_buffered": dict(bandwidth=1, double_buffered=False),
          "spill_int16": dict(bandwidth=3, sram_bytes=24, precision="int16"),
          "reuse_large_sram": dict(bandwidth=0.25, sram_bytes=1 << 20)}[case]
    res = _agree(cosim_layer(make_hw(3, 5, **kw), dataflow, 17, 4, 9))
    if case == "spill_int16" and dataflow != "os":
        # partial sums spill: read back by every fold of a column but the first
        assert any(x.kind == "psum" for x in cosim_plan(dataflow, 3, 5, 17, 9, 4, 12))
        assert res.cycle_sim["dram_ofmap_reads"] > 0


def cosim_plan(dataflow, rows, cols, p, m, k, cap):
    return memplan.plan(dataflow, rows, cols, p, m, k, {"ifmap": cap, "filter": cap, "ofmap": cap}).transfers


def test_plan_hand_computed_ws():
    # WS 2x2, P=3, K=3, M=2: rows K (2 row folds: 2, 1), cols M (1 column fold), t = P = 3.
    # Filter: 2x2 then 1x2 tile; ifmap: 2x3 then 1x3 slice; outputs: 2 x 3 after the last row fold.
    plan = memplan.plan("ws", 2, 2, 3, 2, 3, {"ifmap": 100, "filter": 100, "ofmap": 100})
    assert plan.folds == ((0, 0, 2, 2), (1, 0, 1, 2))
    assert [(x.kind, x.fold, x.words, x.after, x.event_fold) for x in plan.transfers] == [
        ("load", 0, 6 + 4, memplan.AFTER_NOTHING, 0),
        ("load", 1, 3 + 2, memplan.AFTER_START, 0),
        ("write", 1, 6, memplan.AFTER_END, 1)]
    assert plan.need_reads == (1, 2) and plan.need_writes == (0, 0)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize("latency", [5, 40])
def test_dram_latency_equals_the_cycle_simulator(dataflow, latency):
    res = _agree(cosim_layer(make_hw(4, 4, 2, latency=latency), dataflow, 10, 9, 7))
    base = cosim_layer(make_hw(4, 4, 2), dataflow, 10, 9, 7)
    # the first load is exposed: every read's latency delays fold 0 by exactly that much
    assert res.rtl.fold_starts[0] == base.rtl.fold_starts[0] + latency
    assert res.rtl_stalls["total_cycles"] > base.rtl_stalls["total_cycles"]


def test_latency_other_than_the_hw_is_reported():
    # the cycle-level simulator uses the hw's latency (0): an RTL read latency of 5 differs, and says where
    res = cosim_layer(make_hw(4, 4, 2), "ws", 10, 9, 7, latency=5)
    assert not res.ok and res.bit_exact
    assert res.rtl.fold_starts[0] == res.cycle_fold_starts[0] + 5
    assert res.mismatches[0] == (f"fold 0: RTL cycles {res.cycle_fold_starts[0] + 5}..{res.cycle_fold_ends[0] + 5}, "
                                 f"cycle sim {res.cycle_fold_starts[0]}..{res.cycle_fold_ends[0]}")


def test_bad_input():
    with pytest.raises(AccelsimError, match="finite bandwidth"):
        cosim_layer(make_hw(2, 2, math.inf), "ws", 2, 2, 2)
    with pytest.raises(AccelsimError, match="no RTL array"):
        cosim_layer(make_hw(2, 2, 1), "rs", 2, 2, 2)
    with pytest.raises(AccelsimError, match="latency"):
        cosim_layer(make_hw(2, 2, 1), "ws", 2, 2, 2, latency=-1)
    assert bandwidth_fraction(0.7).denominator == 10
    with pytest.raises(AccelsimError, match="ratio"):
        bandwidth_fraction(math.pi)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(dataflow=st.sampled_from(["ws", "os", "is"]), rows=st.integers(1, 4), cols=st.integers(1, 4),
       p=st.integers(1, 9), k=st.integers(1, 9), m=st.integers(1, 9),
       bandwidth=st.sampled_from([0.25, 0.7, 1, 3, 16]), sram_bytes=st.sampled_from([8, 24, 64, 4096]),
       double_buffered=st.booleans(), precision=st.sampled_from(["int8", "int16"]),
       latency=st.sampled_from([0, 0, 3, 17]))
def test_property_any_small_layer(dataflow, rows, cols, p, k, m, bandwidth, sram_bytes, double_buffered,
                                  precision, latency):
    hw = make_hw(rows, cols, bandwidth, sram_bytes, double_buffered, precision, latency)
    _agree(cosim_layer(hw, dataflow, p, k, m, seed=p * 81 + k * 9 + m))


def test_dram_latency_key_is_validated():
    import yaml

    from accelsim import spec
    from accelsim.errors import SpecError
    from accelsim.spec.hw import hardware_from_dict

    data = yaml.safe_load((spec.ROOT / "hw" / "edge_16x16.yaml").read_text())
    assert hardware_from_dict(data, "edge.yaml").dram_latency_cycles == 0
    data["dram"]["latency_cycles"] = 120
    assert hardware_from_dict(data, "edge.yaml").dram_latency_cycles == 120
    for bad, message in ((-1, "must be >= 0"), (1.5, "must be an integer"), (1 << 21, "must be <= 1048576")):
        data["dram"]["latency_cycles"] = bad
        with pytest.raises(SpecError, match=rf"edge.yaml: dram.latency_cycles: {message}"):
            hardware_from_dict(data, "edge.yaml")
