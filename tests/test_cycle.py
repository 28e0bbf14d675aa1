"""The cycle-level simulator (fidelity ``cycle``): against the analytical engine, the per-cycle
oracle (tests/naive_cycle.py), SCALE-Sim 3.0.0's reports and hand-computed cases."""
from __future__ import annotations

import gzip
import math
from collections import Counter

import pandas as pd
import pytest
from click.testing import CliRunner

import accelsim
from accelsim import AccelsimError, model, spec
from accelsim.cli import main
from accelsim.importers import scalesim
from accelsim.sim.cycle import run_layer, simulate_cycle
from accelsim.spec import load_hardware, load_workload
from accelsim.spec.hw import Hardware, SramBuffer
from accelsim.spec.workload import Layer, Workload

import naive_cycle
from test_scalesim_agreement import CASES, DATA, read_report


def conv(name, n, c, h, w, m, r, s, stride=(1, 1), pad=(0, 0), groups=1):
    return Layer(name=name, kind="conv", N=n, C=c, H=h, W=w, M=m, R=r, S=s, stride_h=stride[0],
                 stride_w=stride[1], pad_h=pad[0], pad_w=pad[1], groups=groups)


def gemm(name, m, n, k):
    return Layer(name=name, kind="gemm", N=m, C=k, H=1, W=1, M=n, R=1, S=1)


def make_hw(rows, cols, *, precision="int8", bandwidth=math.inf, sram_bytes=8 << 20, double_buffered=True,
            timing="physical"):
    buffer = SramBuffer(size_bytes=sram_bytes)
    return Hardware(name=f"array_{rows}x{cols}", array_rows=rows, array_cols=cols, interconnect="systolic",
                    precision=precision, clock_mhz=1000.0, sram_ifmap=buffer, sram_filter=buffer,
                    sram_ofmap=buffer, double_buffered=double_buffered,
                    dram_bandwidth_bytes_per_cycle=bandwidth, timing=timing)


GRID_SHAPES = (
    gemm("gemm_partial_37x19x53", 37, 19, 53),
    gemm("gemv_1x64x300", 1, 64, 300),
    gemm("gemm_1x1x1", 1, 1, 1),
    conv("conv3x3_pad1", 1, 3, 7, 7, 5, 3, 3, pad=(1, 1)),
    conv("conv3x3_stride2_pad1", 1, 4, 9, 8, 6, 3, 3, stride=(2, 2), pad=(1, 1)),
    conv("conv_rect_stride2x1", 1, 3, 10, 6, 4, 3, 2, stride=(2, 1), pad=(0, 1)),
    conv("conv1x1_stride2", 1, 8, 7, 7, 8, 1, 1, stride=(2, 2)),
    conv("conv_grouped_g4", 1, 8, 6, 6, 12, 3, 3, pad=(1, 1), groups=4),
    conv("depthwise_3x3", 1, 6, 8, 8, 6, 3, 3, pad=(1, 1), groups=6),
    conv("depthwise_stride2", 1, 4, 9, 9, 4, 3, 3, stride=(2, 2), pad=(1, 1), groups=4),
    conv("batch3_conv3x3", 3, 2, 5, 5, 3, 3, 3),
    conv("alexnet_conv1_like", 1, 3, 31, 31, 16, 11, 11, stride=(4, 4)),
)
EXACT = ("folds", "row_folds", "col_folds", "cycles_per_fold", "compute_cycles", "fill_drain_cycles", "macs",
         "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "sram_ofmap_reads",
         "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "dram_ofmap_reads", "dram_bytes",
         "mapping_efficiency", "compute_utilization")
WORKLOAD = Workload(name="grid", layers=GRID_SHAPES)


# -- totals equal the analytical engine wherever it is exact -----------------------------------------

@pytest.mark.parametrize("sram_bytes", [24, 1536, 8 << 20], ids=lambda b: f"sram{b}B")
@pytest.mark.parametrize("bandwidth", [math.inf, 0.7], ids=["unlimited", "bw0.7"])
@pytest.mark.parametrize("double_buffered", [True, False], ids=["db", "single"])
@pytest.mark.parametrize("timing", ["physical", "scalesim"])
@pytest.mark.parametrize("dataflow_name", ["ws", "os", "is"])
@pytest.mark.parametrize("rows,cols", [(1, 1), (3, 5), (8, 8), (7, 32)], ids=lambda v: str(v))
def test_totals_equal_the_analytical_engine(rows, cols, dataflow_name, timing, double_buffered, bandwidth,
                                            sram_bytes):
    hw = make_hw(rows, cols, bandwidth=bandwidth, sram_bytes=sram_bytes, double_buffered=double_buffered,
                 timing=timing)
    dataflow = spec.load("dataflows", dataflow_name)
    cycle = simulate_cycle(hw, WORKLOAD, dataflow)
    analytical = model.simulate(hw, WORKLOAD, dataflow)
    assert list(cycle["fidelity"].unique()) == ["cycle"]
    assert list(analytical["fidelity"].unique()) == ["analytical"]
    pd.testing.assert_frame_equal(cycle[list(EXACT)], analytical[list(EXACT)], check_dtype=False)
    if math.isinf(bandwidth):
        # no DRAM limit: nothing stalls, in either model
        assert (cycle["stall_cycles"] == 0).all()
        assert (cycle["total_cycles"] == analytical["total_cycles"]).all()
    else:
        assert (cycle["total_cycles"] == cycle["compute_cycles"] + cycle["stall_cycles"]).all()


# -- the per-cycle oracle ---------------------------------------------------------------------------

ORACLE_SHAPES = (
    gemm("gemm_5x7x6", 5, 7, 6),
    gemm("gemm_1x3x9", 1, 3, 9),
    conv("conv3x3_pad1", 1, 2, 5, 5, 3, 3, 3, pad=(1, 1)),
    conv("conv_stride2", 1, 2, 7, 6, 3, 3, 3, stride=(2, 2)),
    conv("depthwise", 1, 3, 5, 5, 3, 3, 3, pad=(1, 1), groups=3),
    conv("grouped_batch2", 2, 4, 4, 4, 4, 2, 2, groups=2),
)
ORACLE_MEMORIES = [(math.inf, 1 << 20), (1.0, 16), (0.7, 64), (3.0, 1 << 20), (2.5, 8)]
COMPARED = ("folds", "cycles_per_fold", "compute_cycles", "stall_load_cycles", "stall_bandwidth_cycles",
            "stall_writeback_cycles", "stall_cycles", "total_cycles", "sram_ifmap_reads", "sram_filter_reads",
            "sram_ofmap_writes", "sram_ofmap_reads", "dram_ifmap_reads", "dram_filter_reads",
            "dram_ofmap_writes", "dram_ofmap_reads", "peak_ifmap_reads", "peak_filter_reads",
            "peak_ofmap_writes", "peak_ofmap_reads", "peak_sram_all")


@pytest.mark.parametrize("bandwidth,sram_bytes", ORACLE_MEMORIES, ids=lambda v: str(v))
@pytest.mark.parametrize("double_buffered", [True, False], ids=["db", "single"])
@pytest.mark.parametrize("timing", ["physical", "scalesim"])
@pytest.mark.parametrize("dataflow_name", ["ws", "os", "is"])
@pytest.mark.parametrize("rows,cols", [(2, 2), (3, 4)], ids=lambda v: str(v))
def test_kernel_equals_per_cycle_oracle(rows, cols, dataflow_name, timing, double_buffered, bandwidth,
                                        sram_bytes):
    hw = make_hw(rows, cols, bandwidth=bandwidth, sram_bytes=sram_bytes, double_buffered=double_buffered,
                 timing=timing)
    dataflow = spec.load("dataflows", dataflow_name)
    problems = []
    for layer in ORACLE_SHAPES:
        stats, _, _, _ = run_layer(layer, hw, dataflow, timing)
        expected = naive_cycle.simulate(layer, hw, dataflow, timing)
        for column in COMPARED:
            if stats[column] != expected[column]:
                problems.append(f"{layer.name}: {column}: kernel {stats[column]}, oracle {expected[column]}")
    assert not problems, "\n".join(problems[:40])


def test_oracle_grid_reaches_every_stall_and_traffic_path():
    """The oracle grid really exercises stalls of each kind, spills and re-fetches."""
    seen = set()
    for dataflow_name in ("ws", "os", "is"):
        for bandwidth, sram_bytes in ORACLE_MEMORIES:
            hw = make_hw(2, 2, bandwidth=bandwidth, sram_bytes=sram_bytes)
            for layer in ORACLE_SHAPES:
                stats, _, _, _ = run_layer(layer, hw, spec.load("dataflows", dataflow_name), "physical")
                seen.update(name for name in ("stall_load_cycles", "stall_bandwidth_cycles",
                                              "stall_writeback_cycles", "dram_ofmap_reads") if stats[name] > 0)
                if stats["dram_filter_reads"] > layer.weights:
                    seen.add("filter refetched")
                if stats["dram_ifmap_reads"] > layer.N * layer.C * layer.H * layer.W:
                    seen.add("ifmap refetched")
    assert seen == {"stall_load_cycles", "stall_bandwidth_cycles", "stall_writeback_cycles", "dram_ofmap_reads",
                    "filter refetched", "ifmap refetched"}


# -- hand-computed cases ------------------------------------------------------------------------------

def test_hand_gemm_4x4x4_on_2x2_ws_one_word_per_cycle():
    """GEMM 4x4x4 (P = M = K = 4) on 2x2, ws, int8, 1 byte/cycle, double buffered, ample SRAM.

    Folds (column folds outer): f0 (cf0, rf0), f1 (cf0, rf1), f2 (cf1, rf0), f3 (cf1, rf1); each
    2*2 + 2 + 4 - 2 = 8 cycles. Loads: the ifmap (P x K, 16 words) is a row-fold slice of
    2 x 4 = 8 words, kept across column folds (it fits): f0 8, f1 8, f2 0, f3 0; filters: a 2x2
    tile, 4 words every fold. Outputs stay in the buffer: written after the last row fold, 2
    columns x 4 = 8 words after f1 and after f3.
    Timeline (1 word per cycle): load f0 = 12 words [0, 12) -> f0 runs [12, 20);
    load f1 = 12 words issued at 12 -> [12, 24) -> f1 runs [24, 32) (stall 4);
    load f2 = 4 words issued at 24 -> [24, 28); f1's write-back issued at 32 -> [32, 40);
    f2 runs [32, 40) (no stall; it needs the write-back of f0, which wrote nothing);
    load f3 = 4 words issued at 32, after the write-back: [40, 44) -> f3 runs [44, 52) (stall 4);
    f3's write-back [52, 60): 8 cycles after the last fold.
    Stalls: load 12, bandwidth 4 + 0 + 4 = 8, write-back 8; total 32 + 28 = 60."""
    hw = make_hw(2, 2, bandwidth=1.0)
    stats, rates, _, _ = run_layer(gemm("g", 4, 4, 4), hw, spec.load("dataflows", "ws"), "physical")
    assert (stats["compute_cycles"], stats["stall_load_cycles"], stats["stall_bandwidth_cycles"],
            stats["stall_writeback_cycles"], stats["total_cycles"]) == (32, 12, 8, 8, 60)
    assert (stats["dram_ifmap_reads"], stats["dram_filter_reads"], stats["dram_ofmap_writes"]) == (16, 16, 16)
    # per-cycle peaks: 2 weights per cycle while shifting in, 2 ifmap rows, 2 output columns
    assert (stats["peak_filter_reads"], stats["peak_ifmap_reads"], stats["peak_ofmap_writes"]) == (2, 2, 2)
    # the SRAM of f1 and f3 also reads back partial sums (2 per cycle at most); in the busiest
    # cycle 2 ifmap reads + 2 ofmap writes + 2 partial-sum reads meet
    assert stats["peak_ofmap_reads"] == 2 and stats["peak_sram_all"] == 6
    # DRAM rate per fold window (windows [0, 24), [24, 32), [32, 44), [44, 60)): reads fill
    # window 0 (24 words in 24 cycles) -> 1.0; the write-back [32, 40) moves 8 words in the
    # 12-cycle window [32, 44) -> 2/3 (the last one: 8 in 16)
    assert rates == {"dram_read_bw_peak_bytes_per_cycle": 1.0, "dram_write_bw_peak_bytes_per_cycle": 8 / 12}


def test_hand_required_bandwidth_without_limit():
    """Same GEMM, unlimited DRAM: no stalls; the rate that hides each transfer behind one 8-cycle
    fold: the biggest load after the first (f1: 12 words) -> 1.5 bytes/cycle; the only write-back
    with a fold after it (after f1, 8 words) -> 1.0."""
    stats, rates, _, _ = run_layer(gemm("g", 4, 4, 4), make_hw(2, 2), spec.load("dataflows", "ws"), "physical")
    assert stats["stall_cycles"] == 0 and stats["total_cycles"] == 32
    assert rates == {"dram_read_bw_peak_bytes_per_cycle": 1.5, "dram_write_bw_peak_bytes_per_cycle": 1.0}


def test_hand_output_stationary_drain_cycles():
    """GEMM P=2, M=2, K=3 on 2x2, os: one fold; physical 2*2 + 2 + 3 - 2 = 7 cycles, the outputs
    leave column j at cycles T + rows - 1 + j + i = 4 + j + i: 2 words in cycle 5 (peak), and
    SCALE-Sim's T + rows + cols - 2 = 5-cycle fold (reported as 4) drains from cycle T - 1 = 2."""
    dataflow = spec.load("dataflows", "os")
    stats, _, _, _ = run_layer(gemm("g", 2, 2, 3), make_hw(2, 2), dataflow, "physical")
    assert (stats["compute_cycles"], stats["peak_ofmap_writes"], stats["sram_ofmap_writes"]) == (7, 2, 4)
    stats, _, _, _ = run_layer(gemm("g", 2, 2, 3), make_hw(2, 2), dataflow, "scalesim")
    # SCALE-Sim also counts rows + cols = 4 phantom ofmap writes per fold ([scalesim-v3] compute/systolic_compute_{os,ws,is}.py)
    assert (stats["compute_cycles"], stats["sram_ofmap_writes"]) == (4, 8)


# -- SCALE-Sim 3.0.0 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_scalesim_cycle_counts_identical(case, tmp_path):
    """SCALE-Sim-compatible timing at cycle fidelity: compute cycles identical to SCALE-Sim's in
    every case, and total cycles too when SCALE-Sim has no bandwidth limit (CALC mode)."""
    folder = DATA / "cases" / case
    hw_path, workload_path, dataflow = scalesim.import_files(folder / "cfg.cfg", folder / "topo.csv", tmp_path)
    hw = load_hardware(hw_path)
    table = accelsim.simulate(hw, load_workload(workload_path), dataflow, fidelity="cycle")
    compute = read_report(folder / "COMPUTE_REPORT.csv")
    access = read_report(folder / "DETAILED_ACCESS_REPORT.csv")
    for (_, ours), theirs, counts in zip(table.iterrows(), compute, access):
        stalls = int(theirs["Stall Cycles"])
        assert ours.compute_cycles == int(theirs["Total Cycles"]) - stalls
        assert (ours.sram_ifmap_reads, ours.sram_filter_reads, ours.sram_ofmap_writes) == (
            int(counts["SRAM IFMAP Reads"]), int(counts["SRAM Filter Reads"]), int(counts["SRAM OFMAP Writes"]))
        if case.startswith("calc"):
            assert math.isinf(hw.dram_bandwidth_bytes_per_cycle)
            assert ours.total_cycles == int(theirs["Total Cycles"])


# -- errors, the API, the CLI and the trace -----------------------------------------------------------

def test_loop_nest_dataflow_is_a_clear_error():
    with pytest.raises(AccelsimError, match="fidelity cycle covers the ws, os and is dataflows on systolic arrays"):
        accelsim.simulate("eyeriss", "alexnet", "rs", fidelity="cycle")


def test_unknown_fidelity_is_an_error():
    with pytest.raises(AccelsimError, match="fidelity must be one of analytical, cycle"):
        accelsim.simulate("edge_16x16", "alexnet", "ws", fidelity="rtl")


def test_trace_needs_cycle_fidelity(tmp_path):
    with pytest.raises(AccelsimError, match="fidelity='cycle'"):
        accelsim.simulate("edge_16x16", "alexnet", "ws", trace=tmp_path / "t.csv.gz")


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv", ".parquet"])
@pytest.mark.parametrize("dataflow_name", ["ws", "os", "is"])
def test_trace_adds_up_to_the_table(tmp_path, dataflow_name, suffix):
    hw = make_hw(4, 4, bandwidth=2.0, sram_bytes=256)
    workload = Workload(name="w", layers=(GRID_SHAPES[3], GRID_SHAPES[8], GRID_SHAPES[0]))
    path = tmp_path / f"trace{suffix}"
    table = accelsim.simulate(hw, workload, spec.load("dataflows", dataflow_name), fidelity="cycle", trace=path)
    trace = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    if suffix == ".csv.gz":
        with gzip.open(path, "rt") as handle:
            assert handle.readline().startswith("layer_index,layer,fold,group")
    words = trace.groupby(["layer_index", "level", "buffer", "access"])["words"].sum()
    for index, row in table.iterrows():
        for level in ("sram", "dram"):
            for column, buffer, access in (("ifmap_reads", "ifmap", "read"), ("filter_reads", "filter", "read"),
                                           ("ofmap_writes", "ofmap", "write"), ("ofmap_reads", "ofmap", "read")):
                assert words.get((index, level, buffer, access), 0) == row[f"{level}_{column}"], (level, column)
        layer = trace[trace.layer_index == index]
        # every stream and transfer lies within the layer's cycles, in time order
        assert layer.cycle_start.min() >= 0 and layer.cycle_end.max() <= row.total_cycles
        assert layer.cycle_start.is_monotonic_increasing
        # DRAM transfers never overlap: one interface
        dram = layer[layer.level == "dram"].sort_values("cycle_start")
        assert (dram.cycle_start.to_numpy()[1:] >= dram.cycle_end.to_numpy()[:-1]).all()


def test_trace_rejects_an_unknown_suffix(tmp_path):
    with pytest.raises(AccelsimError, match="must end in .csv.gz, .csv, .parquet"):
        accelsim.simulate("edge_16x16", "alexnet", "ws", fidelity="cycle", trace=tmp_path / "t.txt")


def test_cli_run_fidelity_cycle_writes_table_and_trace(tmp_path):
    out = tmp_path / "out"
    trace = tmp_path / "trace.csv.gz"
    result = CliRunner().invoke(main, ["run", "--hw", "edge_16x16", "--workload", "alexnet", "--dataflow", "os",
                                       "--fidelity", "cycle", "--trace", str(trace), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "layers.csv")
    assert set(table["fidelity"]) == {"cycle"}
    assert "dram_read_bw_peak_bytes_per_cycle" in table and "sram_ifmap_read_bw_avg_bytes_per_cycle" in table
    assert "cycle fidelity" in result.output
    assert trace.exists() and len(pd.read_csv(trace)) > 0


def test_cli_cycle_fidelity_on_a_loop_nest_dataflow_exits_1(tmp_path):
    result = CliRunner().invoke(main, ["run", "--hw", "eyeriss", "--workload", "alexnet", "--dataflow", "rs",
                                       "--fidelity", "cycle", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: fidelity cycle covers the ws, os and is dataflows")
    assert "Traceback" not in result.output


def test_cli_trace_without_cycle_fidelity_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["run", "--hw", "edge_16x16", "--workload", "alexnet", "--dataflow", "ws",
                                       "--trace", str(tmp_path / "t.csv.gz"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--trace needs --fidelity cycle" in result.output


def test_resnet50_on_a_256x256_array_matches_the_analytical_totals():
    """Every ResNet-50 layer on a 256x256 array (memory and speed: benchmarks/bench_cycle.py)."""
    hw = spec.load("hw", "tpu_v1")
    workload = spec.load("workloads", "resnet50")
    table = accelsim.simulate(hw, workload, "ws", fidelity="cycle")
    analytical = accelsim.simulate(hw, workload, "ws")
    assert (table["compute_cycles"] == analytical["compute_cycles"]).all()
    assert (table["dram_bytes"] == analytical["dram_bytes"]).all()


def expand_sram_row(row, dataflow_name) -> Counter:
    """Words per cycle of one SRAM trace row, by docs/cycle.md's expansion formulas."""
    count = {"P": row.p_count, "M": row.m_count, "K": row.k_count}
    rows_axis, cols_axis, time_axis = {"ws": "KMP", "is": "KPM", "os": "PMK"}[dataflow_name]
    r, c, t = count[rows_axis], count[cols_axis], count[time_axis]
    hist = Counter()
    start = row.cycle_start
    if row.pattern == "stationary_load":
        for a in range(r):
            hist[start + r - 1 - a] += c
    elif row.pattern == "row_stream":
        for k in range(r):
            for tau in range(t):
                hist[start + tau + k] += 1
    elif row.pattern == "column_stream":
        for j in range(c):
            for tau in range(t):
                hist[start + tau + j] += 1
    else:
        assert row.pattern == "drain"
        for a in range(r):
            for j in range(c):
                hist[start + r - 1 - a + j] += 1
    return hist


@pytest.mark.parametrize("timing", ["physical", "scalesim"])
@pytest.mark.parametrize("dataflow_name", ["ws", "os", "is"])
def test_trace_expands_to_the_oracle_per_cycle_demand(tmp_path, dataflow_name, timing):
    """Expanding every SRAM row of the trace gives, cycle by cycle, the words the per-cycle oracle
    enumerates for each fold (placed at the fold's start)."""
    hw = make_hw(3, 4, bandwidth=1.5, sram_bytes=48, timing=timing)
    dataflow = spec.load("dataflows", dataflow_name)
    layer = ORACLE_SHAPES[2]
    path = tmp_path / "t.csv"
    accelsim.simulate(hw, Workload(name="w", layers=(layer,)), dataflow, fidelity="cycle", trace=path)
    trace = pd.read_csv(path)
    got = {}
    for row in trace[trace.level == "sram"].itertuples():
        got.setdefault((row.buffer, row.access), Counter()).update(expand_sram_row(row, dataflow_name))
    _, _, fold_log, _ = run_layer(layer, hw, dataflow, timing, trace=True)
    dims, _ = naive_cycle.gemm_dims(layer, timing == "scalesim")
    t = dims[dataflow.time_axis]
    os_like = dataflow.time_axis == "K"
    roles = ({"stat": ("ofmap", "write"), "row": ("ifmap", "read"), "col": ("filter", "read")} if os_like else
             {"stat": (dataflow.stationary, "read"), "row": ("filter" if dataflow.stationary == "ifmap" else "ifmap", "read"),
              "col": ("ofmap", "write")})
    expected = {}
    for _, _, row_fold, r, c, start, _ in fold_log:
        demand = naive_cycle.fold_demand(3, 4, r, c, t, os_like, timing == "scalesim")
        for role, hist in demand.items():
            keys = [roles[role]]
            if role == "col" and not os_like and timing == "physical" and row_fold > 0:
                keys.append(("ofmap", "read"))
            for key in keys:
                expected.setdefault(key, Counter()).update({start + x: n for x, n in hist.items()})
    assert got == expected


def test_vector_rows_keep_their_analytical_values_and_no_pe_actions():
    # pooling, adds and batch norms run on the vector unit: the cycle simulator leaves their rows
    # as the analytical engine computes them, register-file and PE-to-PE actions zero
    hw = spec.load("hw", "edge_16x16")
    workload = spec.load("workloads", "resnet18")
    table = accelsim.simulate(hw, workload, "ws", fidelity="cycle")
    analytical = accelsim.simulate(hw, workload, "ws")
    vector = table["unit"] != "array"
    assert vector.sum() > 0
    for col in ("total_cycles", "sram_ifmap_reads", "dram_ofmap_writes", "rf_filter_writes", "noc_ifmap_transfers"):
        assert list(table.loc[vector, col]) == list(analytical.loc[vector, col]), col
    assert (table.loc[vector, ["rf_filter_writes", "rf_filter_reads", "psum_spatial_reductions"]] == 0).all().all()
