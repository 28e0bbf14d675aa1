"""The dashboard pages against independent numbers: display units, the label rules on every
figure of every page kind, the sweep explorer's reproduce command (rerun, it gives the sweep
point's totals exactly), accelsim compare (per-layer deltas equal the two tables' difference), the
LLM page (KV cache by hand), and the mapping view (tile footprints by hand)."""
import json
import shlex

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from tree_cases import simba_pinned_case

from accelsim import spec
from accelsim.cli import main
from accelsim.report import units
from accelsim.report.build import run_report, sweep_report
from accelsim.report.compare import compare_page
from accelsim.report.explorer import embed_json, explorer_data, run_commands
from accelsim.report.mapping_view import layer_nests, parse_mapping

TINY = ("name: tiny\nlayers:\n"
        "  - {name: c1, type: conv, N: 1, C: 8, H: 16, W: 16, M: 16, R: 3, S: 3, padding: 1}\n"
        "  - {name: c2, type: conv, N: 1, C: 16, H: 16, W: 16, M: 32, R: 3, S: 3, stride: 2, padding: 1}\n"
        "  - {name: fc, type: gemm, M: 10, N: 1, K: 2048}\n")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pages")
    (tmp / "tiny.yaml").write_text(TINY)
    runner = CliRunner()
    w = str(tmp / "tiny.yaml")
    for args in (["run", "--hw", "edge_16x16", "--workload", w, "--dataflow", "ws", "--out", str(tmp / "ws"), "--quiet"],
                 ["run", "--hw", "edge_16x16", "--workload", w, "--dataflow", "os", "--array", "8x8", "--out",
                  str(tmp / "os"), "--quiet"],
                 ["sweep", "--hw", "edge_16x16", "--workload", w, "--dataflow", "ws,os", "--array", "8x8,16x16",
                  "--sram-kb", "4,64/32/16", "--dram-bw", "4,unlimited", "--out", str(tmp / "sweep"), "--quiet",
                  "--workers", "1"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    return tmp


def test_units_pick_the_unit_that_reads():
    assert units.pick("energy_pj", [3.2e9]).name == "mJ" and units.pick("energy_pj", [999.0]).name == "pJ"
    assert units.pick("time_us", [2500.0]).name == "ms" and units.pick("time_us", [0.5]).name == "ns"
    assert units.pick("bytes", [3 * 1024 ** 3]) == units.Unit("GiB", 1024.0 ** 3)
    assert units.pick("bytes", [1023.0]).name == "B" and units.pick("bytes", [1024.0]).name == "KiB"
    assert units.fmt(1.5e6, units.pick("energy_pj", [1.5e6])) == "1.5 uJ"
    assert units.fmt_auto(2.5e-3, "time_s") == "2.5 ms"


def test_label_rule_catches_si_letters_and_missing_units():
    import plotly.graph_objects as go
    fig = go.Figure(go.Scatter(x=[1, 2], y=[1e9, 2e9]))
    fig.update_layout(title="t", xaxis_title="context (tokens)", yaxis_title="energy")
    problems = units.check_figure(fig)
    assert any("exponentformat" in p for p in problems) and any("names no unit" in p for p in problems)
    fig.update_layout(yaxis_title="energy (mJ)")
    assert units.check_figure(units.style(fig)) == []


def _all_figures(sections):
    return [fig for section in sections for fig in section.figures]


def test_every_page_keeps_the_label_rules(folders, tmp_path):
    figures = _all_figures(run_report(folders / "ws")[1]) + _all_figures(sweep_report(folders / "sweep")[1])
    figures += _all_figures(compare_page([str(folders / "ws"), str(folders / "os"), f"{folders / 'sweep'}:3"])[1])
    from accelsim.report.llm_page import llm_page, grid
    from accelsim.llm.infer import llm_inference
    summary, ops = llm_inference("gpt2_small", "ideal_a100", 64, 4, 2)
    table = grid("gpt2_small", spec.load("hw", "ideal_a100"), None, None, [1, 2], [32, 64])
    figures += _all_figures(llm_page(summary, ops, spec.load("hw", "ideal_a100"), table)[1])
    # the serving page (accelsim serve) is held to the same rules
    out = tmp_path / "serve"
    result = CliRunner().invoke(main, ["serve", "--model", "gpt2_small", "--hw", "ideal_a100", "--kv-capacity-gib",
                                       "0.05", "--rate", "50", "--requests", "60", "--out", str(out)])
    assert result.exit_code == 0, result.output
    from accelsim.serve.figures import page_from_folder
    serving = _all_figures(page_from_folder(out)[1])
    assert len(serving) >= 3
    figures += serving
    assert len(figures) >= 25
    problems = {fig.layout.title.text: units.check_figure(fig) for fig in figures}
    assert {title: p for title, p in problems.items() if p} == {}
    for fig in figures:       # no axis left to plotly's SI letters ("2B" for 2e9 pJ)
        for name in fig.layout:
            if name.startswith(("xaxis", "yaxis")) and fig.layout[name] is not None:
                assert fig.layout[name].exponentformat == "power", (fig.layout.title.text, name)


def test_explorer_command_reproduces_the_sweep_point(folders):
    points = pd.read_parquet(folders / "sweep" / "points.parquet")
    manifest = json.loads((folders / "sweep" / "manifest.json").read_text())
    commands = run_commands(points, manifest)
    assert len(commands) == len(points) == 16
    for k in (5, 14):            # os 8x8 4 KiB bw 4 ; ws/os with 64/32/16 KiB, unlimited
        args = shlex.split(commands[k])
        assert args[:2] == ["accelsim", "run"] and "--array" in args and "--dram-bw" in args
        out = folders / f"again{k}"
        result = CliRunner().invoke(main, args[1:] + ["--out", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
        again = pd.read_csv(out / "layers.csv")
        row = points.iloc[k]
        assert int(again["total_cycles"].sum()) == int(row["total_cycles"])          # exact integers
        assert again["energy_pj"].sum() == pytest.approx(row["energy_pj"], rel=1e-12)
        assert int(again["dram_bytes"].sum()) == int(row["dram_bytes"])


def test_explorer_data_and_embedding(folders):
    points = pd.read_parquet(folders / "sweep" / "points.parquet")
    data = explorer_data(points, json.loads((folders / "sweep" / "manifest.json").read_text()))
    axes = {a["key"]: a for a in data["axes"]}
    assert axes["array"]["values"] == ["8x8", "16x16"] and axes["dram_bw"]["values"] == ["4", "unlimited"]
    assert axes["sram"]["values"] == ["4/4/4", "64/32/16"]
    metric = {m["key"]: m for m in data["metrics"]}
    unit = units.pick("energy_pj", points["energy_pj"])
    assert metric["energy"]["label"] == f"energy ({unit.name})"
    np.testing.assert_allclose(metric["energy"]["values"], points["energy_pj"] / unit.factor, rtol=1e-5)
    np.testing.assert_allclose(metric["utilization"]["values"], 100 * points["pe_utilization"], rtol=1e-5)
    text = embed_json({"name": "</script><script>alert(1)</script> & <!--"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"name": "</script><script>alert(1)</script> & <!--"}


def test_explorer_offers_area_where_the_table_has_it(folders):
    points = pd.read_parquet(folders / "sweep" / "points.parquet")
    assert "area" not in {m["key"] for m in explorer_data(points)["metrics"]}
    with_area = points.assign(area_mm2=points["num_pes"] * 0.01)
    metric = {m["key"]: m for m in explorer_data(with_area)["metrics"]}["area_mm2"]
    assert metric["label"] == "area (mm^2)" and metric["best"] == "min"
    np.testing.assert_allclose(metric["values"], with_area["area_mm2"])


def test_compare_deltas_match_the_tables(folders, tmp_path):
    ws, os_ = folders / "ws", folders / "os"
    csv = tmp_path / "d.csv"
    result = CliRunner().invoke(main, ["compare", str(ws), str(os_), f"{folders / 'sweep'}:5", "-o",
                                       str(tmp_path / "c.html"), "--csv", str(csv)])
    assert result.exit_code == 0, result.output
    deltas = pd.read_csv(csv)
    a, b = pd.read_csv(ws / "layers.csv").set_index("layer"), pd.read_csv(os_ / "layers.csv").set_index("layer")
    cycles = deltas[(deltas["run"] == "os") & (deltas["metric"] == "total_cycles")].set_index("layer")
    for layer in ("c1", "c2", "fc"):
        assert cycles.loc[layer, "delta"] == b.loc[layer, "total_cycles"] - a.loc[layer, "total_cycles"]
        assert cycles.loc[layer, "delta_pct"] == pytest.approx(
            100 * (b.loc[layer, "total_cycles"] / a.loc[layer, "total_cycles"] - 1))
    dram = deltas[(deltas["run"] == "os") & (deltas["metric"] == "energy_pj_dram")].set_index("layer")
    assert dram.loc["c2", "value"] == pytest.approx(b.loc["c2"].filter(like="energy_pj_dram_").sum())
    # the sweep point that `run --array 8x8 ... --dataflow os` reproduces: no per-layer difference
    point = deltas[deltas["run"] == "sweep:5"]
    assert set(point["layer"]) == {"c1", "c2", "fc"}
    page = (tmp_path / "c.html").read_text()
    assert "Inputs that differ" in page and "option dataflow" in page and "option array" in page
    for bad, message in ((["compare", str(ws)], "at least two"), (["compare", str(ws), f"{folders / 'sweep'}:99"],
                                                                   "no point 99"),
                         (["compare", str(ws), str(tmp_path)], "not a run folder")):
        r = CliRunner().invoke(main, bad + ["-o", str(tmp_path / "x.html")])
        assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output
    again = CliRunner().invoke(main, ["compare", str(ws), str(os_), "-o", str(tmp_path / "c.html")])
    assert again.exit_code == 1 and "--force" in again.output


def test_llm_report_page(tmp_path):
    page = tmp_path / "llm.html"
    result = CliRunner().invoke(main, ["llm", "--model", "gpt2_small", "--hw", "ideal_a100", "--prompt", "64",
                                       "--generate", "8", "--batch", "2", "--report", str(page), "--format", "json"])
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert text.count('class="figure"') == 6 and "Per-op roofline" in text and "sliders" in text
    from accelsim.report.llm_page import default_axes, grid
    batches, contexts = default_axes(2, 67)
    assert batches == [1, 2, 4, 8, 16] and 67 in contexts and min(contexts) == 4
    table = grid("gpt2_small", spec.load("hw", "ideal_a100"), None, None, [2], [64, 128])
    # GPT-2 small, fp16 on the ideal A100: 12 layers x (K + V) x 768 x 2 bytes = 36,864 B per token;
    # one decode step at context c leaves c + 1 cached tokens per sequence
    assert table["kv_cache_bytes"].tolist() == [2 * 65 * 36864, 2 * 129 * 36864]


def test_mapping_view_footprints_by_hand():
    """conv1 of AlexNet (C3 227x227 -> M96 55x55, 11x11 stride 4) on the Eyeriss preset under the
    row-stationary mapping DRAM[M3 E4 C3] GLB[E2 F55] rows[R11] cols[M2 E7] RF[M16 S11]:
    a PE's RF holds S11 ifmap words (one filter row), M16 x S11 = 176 filter words and M16 psums;
    the GLB ifmap tile spans E 2x7 = 14 output rows ((14-1)*4 + 11 = 63 input rows) x F55
    ((55-1)*4 + 11 = 227 columns) of one channel: 14,301 words."""
    text = "DRAM[M3 E4 C3] GLB[E2 F55] rows[R11] cols[M2 E7] RF[M16 S11]"
    mapping = parse_mapping(text)
    assert mapping.describe() == text and parse_mapping(mapping.describe()) == mapping
    from accelsim.loopnest.mapping import Mapping
    split = Mapping(mapping.loops, mapping.rows, mapping.cols, (2, 3, 3), (5, 6, 6))
    assert split.describe().startswith("loops[") and parse_mapping(split.describe()) == split
    hw, workload, dataflow = spec.load("hw", "eyeriss"), spec.load("workloads", "alexnet"), spec.load("dataflows", "rs")
    layers = pd.DataFrame({"layer": ["conv1"], "macs": [105415200], "mapping": [text], "unit": ["array"]})
    workload = type(workload)(name=workload.name, layers=workload.layers[:1], source="test")
    (nest,) = layer_nests(workload, hw, dataflow, hw.timing, layers)
    assert nest["rf_footprint"] == [11, 176, 16]
    assert nest["glb_footprint"][0] == 63 * 227
    assert nest["rf_capacity"] == list(hw.rf_words)


def test_mapping_view_on_an_architecture_tree():
    """The Simba-like tree (hw/trees/simba_like.yaml) with the hand-counted mapping of
    tests/test_tree_engine.py: C = M = 8, 6x6 input, 3x3 filter; PEs split M 2 x C 2, lanes M 4 x C 4,
    PE buffers iterate E4 F4 R3 S3. Shares by hand (8-bit words): the double-buffered 64 KiB global
    buffer holds the whole ifmap (8 x 36 = 288 words: 288 x 8 / 262,144 bits = 0.8789%); a PE buffer's
    filter part (32 KiB) one PE's 4 x 4 x 9 = 144 weights (1,152 / 262,144 bits = 0.4395%); one
    8-bit weight register is full."""
    from accelsim.loopnest.tree import evaluate_tree, tree_mapping_from_dict
    from accelsim.report.mapping_view import tree_sections
    from accelsim.spec.arch import load_arch
    from accelsim.spec.workload import workload_from_dict
    tree = load_arch(spec.ROOT / "hw" / "trees" / "simba_like.yaml")
    layer = workload_from_dict({"name": "w", "layers": [{"name": "c", "type": "conv", "C": 8, "H": 6, "W": 6, "M": 8,
                                                         "R": 3, "S": 3}]}, "w.yaml").layers[0]
    mapping = tree_mapping_from_dict({"PEs": {"x": {"M": 2}, "y": {"C": 2}}, "VectorMACs": {"x": {"M": 4}, "y": {"C": 4}},
                                      "PEBuffers": {"temporal": [["E", 4], ["F", 4], ["R", 3], ["S", 3]]}}, tree)
    cost = evaluate_tree(tree, layer, mapping)
    nests, figures = tree_sections(tree, [("c", mapping, cost)], "c on simba_like")
    row = dict(zip(*nests.table))
    assert row["PEs (spatial)"] == "x M2 | y C2" and row["PEBuffers (temporal)"] == "E4 F4 R3 S3"
    assert row["cycles"] == f"{cost.total_cycles:,}"
    occupancy, traffic = figures.figures
    share = {(t.meta, t.name): t.y[0] for t in occupancy.data}
    assert share[("GlobalBuffer", "ifmap")] == pytest.approx(100 * 288 * 8 / 262144)
    assert share[("PEBuffers", "filter")] == pytest.approx(100 * 144 * 8 / 262144)
    assert share[("WeightRegisters", "filter")] == 100
    dram = [t for t in traffic.data if t.name == "DRAM" and t.visible is not False][0]
    assert dram.y[0] == 288 + 576 + 128     # ifmap and weights read once, 128 outputs written, none read back
    assert units.check_figure(occupancy) == [] and units.check_figure(traffic) == []


def test_report_on_tree_and_gpu_runs(tmp_path):
    """accelsim report on the other run kinds: an architecture tree under pinned mappings (its
    mappings.yaml re-costed: the mapping view's DRAM words equal accesses.csv), a tree of the
    shorthand's shape, and a GPU device (the time stacks add up to time_s)."""
    from accelsim.report.build import build_report, gpu_run_report, tree_run_report
    workload, mapping = simba_pinned_case(tmp_path)
    runner = CliRunner()
    for args in (["run", "--hw", str(spec.ROOT / "hw" / "trees" / "simba_like.yaml"), "--workload", str(workload),
                  "--mapping", str(mapping), "--out", str(tmp_path / "tree"), "--quiet"],
                 ["run", "--hw", str(spec.ROOT / "hw" / "trees" / "edge_16x16.yaml"), "--workload", str(workload),
                  "--dataflow", "ws", "--out", str(tmp_path / "shape"), "--quiet"],
                 ["run", "--hw", "h200", "--workload", str(workload), "--out", str(tmp_path / "gpu"), "--quiet"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    title, sections = tree_run_report(tmp_path / "tree")
    assert "simba_like" in title and [s.title for s in sections][-2:] == ["Mapping: loop nests",
                                                                          "Mapping: occupancy and traffic"]
    accesses = pd.read_csv(tmp_path / "tree" / "accesses.csv")
    traffic = sections[-1].figures[1]
    dram = [t for t in traffic.data if t.name == "DRAM" and t.visible is not False][0]
    assert dram.y[0] == accesses[accesses["level"] == "DRAM"][["reads", "writes"]].to_numpy().sum()
    assert "Mapping: loop nests" in build_report(tmp_path / "shape")        # contracted to the PE-array engine
    manifest = json.loads((tmp_path / "gpu" / "manifest.json").read_text())
    layers = pd.read_csv(tmp_path / "gpu" / "layers.csv")
    (fig,) = [f for s in gpu_run_report(tmp_path / "gpu", manifest)[1] for f in s.figures]
    unit = units.pick("time_s", [layers["time_s"].sum()])
    stacked = sum(np.asarray(t.y, dtype=float) for t in fig.data if list(t.x) != ["total"])
    np.testing.assert_allclose(stacked * unit.factor, layers["time_s"], rtol=1e-9)
    for f in [fig] + _all_figures(sections):
        assert units.check_figure(f) == []
    assert "GPU kernels" in build_report(tmp_path / "gpu")
    _compare_trees_and_gpu(tmp_path, runner)


def _compare_trees_and_gpu(tmp_path, runner):
    """accelsim compare on two architecture trees and a GPU: the printed totals are each run's own
    layers.csv totals (a tree's latency = cycles / its clock, its DRAM bytes = the DRAM level's words
    x word_bits / 8, its energy = its levels' summed); what a GPU run lacks (cycles, energy) is empty,
    never 0; per-level energy is compared where both trees name the level."""
    from accelsim.spec.arch import arch_from_dict
    r = runner.invoke(main, ["run", "--hw", str(spec.ROOT / "hw" / "trees" / "eyeriss.yaml"), "--workload",
                             str(tmp_path / "w.yaml"), "--out", str(tmp_path / "tree2"), "--quiet"])
    assert r.exit_code == 0, r.output
    runs = [tmp_path / "tree", tmp_path / "tree2", tmp_path / "gpu"]
    r = runner.invoke(main, ["compare", *map(str, runs), "-o", str(tmp_path / "c.html"), "--csv", str(tmp_path / "d.csv")])
    assert r.exit_code == 0, r.output
    sections = compare_page([str(p) for p in runs])[1]
    head, *rows = sections[0].table
    assert head == ["run", "layers", "MACs", "total cycles", "latency (us)", "energy (nJ)", "DRAM (KiB)",
                    "PE utilization"], head
    cell = {(row[0], name): str(value).split(" (")[0] for row in rows for name, value in zip(head, row)}
    for run in runs[:2]:
        layers, accesses = pd.read_csv(run / "layers.csv"), pd.read_csv(run / "accesses.csv")
        manifest = json.loads((run / "manifest.json").read_text())
        tree = arch_from_dict(yaml.safe_load(manifest["inputs"]["hw"]["content"]), "hw")
        dram = accesses[accesses["level"] == "DRAM"]
        dram_bytes = sum((rw.reads + rw.writes) * tree.level("DRAM").word_bits[rw.operand] for rw in dram.itertuples()) / 8
        assert cell[(run.name, "total cycles")] == f"{layers['total_cycles'].sum():,}"
        assert cell[(run.name, "latency (us)")] == f"{layers['total_cycles'].sum() / tree.clock_mhz:.4g}"
        assert cell[(run.name, "energy (nJ)")] == f"{layers['energy_pj'].sum() / 1e3:.4g}"
        assert layers["energy_pj"].sum() == pytest.approx(accesses["energy_pj"].sum() + layers["energy_pj_mac"].sum())
        assert cell[(run.name, "DRAM (KiB)")] == f"{dram_bytes / 1024:.4g}"
        mac = layers[layers["macs"] > 0]
        assert cell[(run.name, "PE utilization")] == f"{100 * mac['macs'].sum() / (tree.num_macs * mac['total_cycles'].sum()):.2f}%"
    gpu = pd.read_csv(tmp_path / "gpu" / "layers.csv")
    assert cell[("gpu", "latency (us)")] == f"{gpu['time_s'].sum() * 1e6:.4g}"
    assert cell[("gpu", "DRAM (KiB)")] == f"{gpu['dram_bytes'].sum() / 1024:.4g}"
    assert [cell[("gpu", c)] for c in ("total cycles", "energy (nJ)", "PE utilization")] == ["", "", ""]
    assert "gpu has no cycles" in sections[0].note and "energy" in sections[0].note
    # the trees' maxpool row is zero (no vector unit), the GPU's is not: the note says the totals differ so
    assert gpu.set_index("layer").loc["p", "dram_bytes"] > 0
    assert "tree: 1 layer without MACs is zero (an architecture tree has no vector unit" in sections[0].note, sections[0].note
    deltas = pd.read_csv(tmp_path / "d.csv")
    a, b = pd.read_csv(runs[0] / "layers.csv").set_index("layer"), pd.read_csv(runs[1] / "layers.csv").set_index("layer")
    one = deltas[(deltas["run"] == "tree2") & (deltas["layer"] == "c")].set_index("metric")
    assert one.loc["total_cycles", "delta"] == b.loc["c", "total_cycles"] - a.loc["c", "total_cycles"]
    acc2 = pd.read_csv(runs[1] / "accesses.csv")
    assert one.loc["energy_pj_DRAM", "value"] == pytest.approx(acc2[acc2["level"] == "DRAM"]["energy_pj"].sum())
    assert {"energy_pj_DRAM", "energy_pj_mac"} <= set(one.index)       # levels both trees name
    assert one.loc["pe_utilization", "value"] == b.loc["c", "pe_utilization"]
    g = deltas[deltas["run"] == "gpu"].set_index(["layer", "metric"])
    assert np.isnan(g.loc[("c", "total_cycles"), "value"]) and np.isnan(g.loc[("c", "energy_pj"), "value"])
    assert g.loc[("c", "dram_bytes"), "value"] == gpu.set_index("layer").loc["c", "dram_bytes"]
    assert not any(m.startswith("energy_pj_") for _, m in g.index)     # no level both a tree and the GPU name
    for f in _all_figures(sections):
        assert units.check_figure(f) == []
