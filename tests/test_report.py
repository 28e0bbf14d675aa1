"""Dashboard figures against independent numbers: the stacks sum to the table's totals, the roofs
are the hw's peak and bandwidth, the Pareto front equals a brute-force O(n^2) check; accelsim report
on run and sweep folders and its errors."""
import itertools

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import accelsim
from accelsim.cli import main
from accelsim.report import figures
from accelsim.report.html import check_embedded_json


@pytest.fixture(scope="module")
def layers():
    return accelsim.simulate("edge_16x16", "resnet18", "os")


def _naive_front(values):
    """Brute force: a row is optimal if no other row is <= everywhere and < somewhere."""
    n = len(values)
    return np.array([not any(all(values[j] <= values[i]) and any(values[j] < values[i]) for j in range(n) if j != i)
                     for i in range(n)])


@pytest.mark.parametrize("seed", range(6))
def test_pareto_mask_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 6 if seed % 2 else 1000, size=(200, 3)).astype(float)   # ties when few values
    np.testing.assert_array_equal(figures.pareto_mask(values), _naive_front(values))


def test_pareto_hand_case():
    values = np.array([[1, 5, 4], [2, 2, 4], [3, 3, 4], [1, 5, 4], [5, 1, 1], [5, 1, 2]], dtype=float)
    # [3,3,4] is beaten by [2,2,4]; [5,1,2] by [5,1,1]; the duplicate [1,5,4] pair both stay
    assert list(figures.pareto_mask(values)) == [True, True, False, True, True, False]


def test_stacks_sum_to_the_table(layers):
    energy = figures.energy_by_level(layers)
    factor = energy.layout.meta["energy_factor_pj"]                   # total 1.4e9 pJ: shown in mJ
    assert energy.layout.meta["energy_unit"] == "mJ" and factor == 1e9 and 1e9 <= layers["energy_pj"].sum() < 1e12
    assert energy.layout.yaxis.title.text == "energy (mJ)"
    shown = [t for t in energy.data if t.visible is not False]
    per_layer = sum(np.asarray(t.y, dtype=float) for t in shown if t.x[0] != "total")
    np.testing.assert_allclose(per_layer * factor, layers["energy_pj"].to_numpy(), rtol=1e-12)
    total = sum(t.y[0] for t in shown if tuple(t.x) == ("total",))
    assert total * factor == pytest.approx(layers["energy_pj"].sum(), rel=1e-12)
    # the "per level" view: each level's total stacked by operand, same network total
    per_level = [t for t in energy.data if t.visible is False]
    assert list(per_level[0].x) == ["mac", "rf", "noc", "sram", "dram", "vector"]
    dram = sum(t.y[4] for t in per_level) * factor
    assert dram == pytest.approx(layers.filter(like="energy_pj_dram_").to_numpy().sum(), rel=1e-12)
    assert sum(sum(t.y) for t in per_level) * factor == pytest.approx(layers["energy_pj"].sum(), rel=1e-12)
    operands = figures.energy_by_operand(layers)
    assert sum(t.y[0] for t in operands.data if tuple(t.x) == ("total",)) * factor == \
        pytest.approx(layers["energy_pj"].sum(), rel=1e-12)
    latency = figures.latency_breakdown(layers)
    stacked = sum(np.asarray(t.y, dtype=np.int64) for t in latency.data if t.x[0] != "total")
    np.testing.assert_array_equal(stacked, layers["total_cycles"].to_numpy())       # exact integers
    assert sum(t.y[0] for t in latency.data if tuple(t.x) == ("total",)) == layers["total_cycles"].sum()


def test_roofline_roofs_and_regions(layers):
    fig = figures.roofline(layers, 256, 8.0)
    roof = fig.data[0]
    x, y = np.asarray(roof.x), np.asarray(roof.y)
    assert y.max() == 256 and np.allclose(y[x < 32], 8 * x[x < 32])           # ridge at 256 / 8 = 32 MACs/B
    memory, compute = fig.layout.shapes
    assert memory.x1 == compute.x0 == 32
    markers = sum(len(t.x) for t in fig.data[1:])
    # one marker per MAC layer (ResNet-18: 17 convs, 3 projections, the FC); pooling, adds and
    # folded batch norms do no MACs and have no place on a roofline in MACs
    assert markers == (layers["macs"] > 0).sum() == 21
    first = next(t for t in fig.data[1:])
    assert any(c[5] in ("memory", "compute") for c in first.customdata)
    unlimited = figures.roofline(layers, 256, float("inf"))
    assert len(unlimited.layout.shapes) == 1 and set(unlimited.data[0].y) == {256}


def test_heatmap_takes_best_over_other_axes():
    points = pd.DataFrame({
        "point": range(8), "hw": "x", "array_rows": [8, 8, 16, 16] * 2, "array_cols": [8, 8, 16, 16] * 2,
        "num_pes": [64, 64, 256, 256] * 2, "dataflow": ["ws", "os"] * 4, "sram_ifmap_kib": [16.0] * 4 + [64.0] * 4,
        "sram_filter_kib": 16.0, "sram_ofmap_kib": 16.0, "dram_bandwidth_bytes_per_cycle": 8.0,
        "latency_us": [5.0, 6.0, 3.0, 4.0, 4.5, 7.0, 3.5, 1.0], "error": None})
    fig = figures.sweep_heatmap(points, "latency_us", "t")
    assert list(fig.data[0].y) == ["8x8", "16x16"] and list(fig.data[0].x) == ["ws", "os"]
    assert fig.data[0].z.tolist() == [[4.5, 6.0], [3.0, 1.0]]
    assert "best over sram_ifmap_kib" in fig.layout.title.text


def test_embedded_json_guard():
    assert check_embedded_json("<script>var a = '\\u003c/script\\u003e';</script>")
    with pytest.raises(ValueError):
        check_embedded_json("<script>var a = '</scr" + "ipt><script>alert(1)</script>';</script>")


def test_report_cli_on_run_and_errors(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["run", "--hw", "tpu_v1", "--workload", "alexnet", "--dataflow", "ws", "--out",
                                str(tmp_path / "r"), "--quiet"]).exit_code == 0
    result = runner.invoke(main, ["report", str(tmp_path / "r"), "-o", str(tmp_path / "a.html")])
    assert result.exit_code == 0 and "self-contained" in result.output
    page = (tmp_path / "a.html").read_text()
    assert page.count('class="figure"') == 7 and "Roofline" in page and "conv5" in page   # 5 + occupancy, traffic
    assert "Mapping: loop nests" in page
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = runner.invoke(main, ["report", str(empty)])
    assert bad.exit_code == 1 and "not a run, sweep or serving folder" in bad.output and "Traceback" not in bad.output


def test_figures_are_notebook_objects(layers):
    import plotly.graph_objects as go
    for make in (figures.energy_by_level, figures.energy_by_operand, figures.latency_breakdown, figures.utilization):
        assert isinstance(make(layers), go.Figure)
    assert list(itertools.islice(figures._layer_labels(pd.DataFrame({"layer": ["a", "a", "<b>"]})), 3)) == \
        ["a #1", "a #2", "&lt;b&gt;"]


@pytest.mark.parametrize("n", [1, 2])
def test_pareto_without_dominated_points(n):
    """A 1-point sweep, and two points that trade latency for energy: every point is optimal, the
    grey trace is empty and the figure still builds (it used to raise on the empty trace)."""
    points = pd.DataFrame({
        "point": range(n), "hw": "x", "array_rows": [8, 16][:n], "array_cols": [8, 16][:n], "num_pes": [64, 256][:n],
        "dataflow": "ws", "sram_ifmap_kib": 16.0, "sram_filter_kib": 16.0, "sram_ofmap_kib": 16.0,
        "dram_bandwidth_bytes_per_cycle": 8.0, "latency_us": [5.0, 3.0][:n], "energy_pj": [1.0, 2.0][:n],
        "error": None})
    fig = figures.pareto(points)
    assert len(fig.data[0].x) == 0 and len(fig.data[1].x) == n
    assert sorted(c[1].split(" ")[1] for c in fig.data[1].customdata) == sorted(["8x8", "16x16"][:n])   # "x 8x8 (64 PEs), ..."
    assert f"{n} of {n} points optimal" in fig.layout.title.text


def test_damaged_tables_are_named(tmp_path):
    """A sweep table damaged after the sweep: `accelsim report` names the file and how to rebuild it,
    and the sweep with --resume rebuilds it from its checked parts."""
    from accelsim.sweep.runner import run_sweep
    from accelsim.sweep.space import build_space
    space = build_space({"hw": "edge_16x16", "workload": "gemm_example", "dataflow": "ws", "array": "8x8,16x16"})
    out = tmp_path / "s"
    run_sweep(space, out, workers=1, progress=False)
    good = (out / "points.parquet").read_bytes()
    damaged = bytearray(good)
    damaged[50:120] = bytes(70)
    (out / "points.parquet").write_bytes(bytes(damaged))
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"{out / 'points.parquet'}: unreadable table" in result.output and "--resume" in result.output
    run_sweep(space, out, workers=1, progress=False, resume=True)
    assert (out / "points.parquet").read_bytes() == good
    assert CliRunner().invoke(main, ["report", str(out)]).exit_code == 0
