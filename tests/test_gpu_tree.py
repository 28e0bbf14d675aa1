"""The GPU's GEMM kernels on its architecture tree (accelsim/gpu/tree.py): the kernel model's
configuration (tile BM x BN, split-K slices) as a mapping of hw/h200.yaml's levels, counted by the
N-level engine; the counts against the kernel model's own traffic formulas and hand counts."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from accelsim import spec
from accelsim.cli import main
from accelsim.gpu.kernels import gemm_choice, gemm_hbm_bytes, gemm_raster
from accelsim.gpu.layers import COLUMNS, gemm_shape, layer_costs
from accelsim.gpu.tree import KernelConfig, count_kernel, kernel_config, pixel_tile, tree_problem, tree_run
from accelsim.spec.area import area_rows, area_table_for
from accelsim.spec.workload import Layer, workload_from_dict

DATA = Path(__file__).parent / "data" / "silicon"
H200 = spec.load("hw", "h200")
L2_BYTES = 50 * 2 ** 20     # hw/h200.yaml: L2 size_kib 51200


def gemm(m, n, k) -> Layer:
    return Layer(name="g", kind="gemm", N=m, C=k, H=1, W=1, M=n, R=1, S=1)


def counts(layer, config):
    mapping, cost = count_kernel(H200.tree, layer, config, H200.sms)
    return mapping, cost.counts


def test_a_small_gemm_by_hand():
    """64 x 64 x 64 in one 128 x 128 tile on one SM: every word of A, B and C crosses HBM and L2 once;
    the tile's 64 rows x 64 columns are 4 tensor cores x 16 lanes, K 64 two steps of 32."""
    mapping, c = counts(gemm(64, 64, 64), KernelConfig(128, 128, 1))
    assert mapping.loops_of("L2") == (("C", 2),) and mapping.loops_of("RegisterFile") == (("N", 64),)
    assert mapping.unrolling_of("TensorCoreMACs") == ((("M", 16),), (("C", 32),))
    for op in ("ifmap", "filter"):
        assert c["HBM"][op]["reads"] == c["L2"][op]["reads"] == c["SharedMemory"][op]["fills"] == 64 * 64
    assert c["HBM"]["ofmap"]["writes"] == c["L2"]["ofmap"]["updates"] == 64 * 64
    assert c["L2"]["ofmap"]["reads"] == 64 * 64          # drained once, never read back for accumulation


def test_tiles_and_split_k_by_hand():
    """300 x 200 x 1024 in 128 x 128 tiles: 3 x 2 = 6 tiles; each of the 2 column tiles reads all of A
    (2 x 300 x 1024), each of the 3 row tiles all of B (3 x 200 x 1024): the edge tiles read only the
    rows and columns that exist. Split 4 ways (C over the SMs, unicast: no reduction in the network),
    every output word gets 4 partial sums in L2, and the K traffic is the same."""
    layer = gemm(300, 200, 1024)
    for slices in (1, 4):
        mapping, c = counts(layer, KernelConfig(128, 128, slices))
        assert c["L2"]["ifmap"]["reads"] == 2 * 300 * 1024
        assert c["L2"]["filter"]["reads"] == 3 * 200 * 1024
        assert c["L2"]["ofmap"]["updates"] == slices * 300 * 200
        assert c["L2"]["ofmap"]["reads"] == (slices - 1) * 300 * 200 + 300 * 200   # accumulate, then drain
        assert c["HBM"]["ofmap"]["writes"] == 300 * 200
        assert dict(mapping.unrolling_of("SMs")[0]).get("C", 1) == slices


def test_split_k_partials_are_the_kernel_models_workspace():
    """128 x 1024 x 4096 (docs/silicon.md: split 8 ways, 4 MB of partials through L2): the model's
    partial-sum bytes, ``2 * slices * m * n * 4`` (written, then read), are the engine's L2 partial
    sums written and read, 4 bytes each."""
    m, n, k = 128, 1024, 4096
    config = kernel_config(H200, gemm(m, n, k))
    assert (config.rows, config.cols, config.slices) == (128, 128, 8)
    _, c = counts(gemm(m, n, k), config)
    partial_bytes = 2.0 * config.slices * m * n * 4
    assert (c["L2"]["ofmap"]["updates"] + c["L2"]["ofmap"]["reads"]) * 4 == partial_bytes


def test_the_configuration_is_the_kernel_models():
    """kernel_config reads gemm_choice as layer_costs calls it: the tile and split in layers.csv's
    detail column."""
    workload = spec.load("workloads", "resnet18")
    frame = layer_costs(H200, workload).set_index("layer")
    for layer in workload.layers:
        if layer.unit != "array":
            continue
        c = kernel_config(H200, layer)
        assert frame.loc[layer.name, "detail"].startswith(f"tile {c.rows}x{c.cols}, split-K {c.slices},")


def _kernel_grid():
    shapes = set()
    for folder in ("h200", "h200_heldout", "h200_repeat"):
        with open(DATA / folder / "kernels.csv") as fh:
            for row in csv.DictReader(fh):
                if row["kind"] == "gemm":
                    shapes.add((int(row["m"]), int(row["n"]), int(row["k"]), int(row["batch"] or 1)))
    return sorted(shapes)


def test_engine_equals_the_kernel_models_traffic_on_the_kernel_grid():
    """Every GEMM shape of the shipped H200 measurements (119), in the configuration the model picks:
    the engine's L2 operand reads equal the model's ``(ceil(n/BN) * m + ceil(m/BM) * n) * k``; its HBM
    words equal the model's (``gemm_hbm_bytes`` / 2) wherever the model's raster reads its shared
    operand once (112 shapes: A, B and C once each, bands keeping the shared operand in L2 where the
    others do not fit). Where the shared operand exceeds the L2 (7 shapes), the tree maps the raster's
    waves (K streamed from HBM per wave): the shared operand crosses HBM once per wave, a wave being
    whole rows (or columns) of tiles, ``ceil(col_tiles / (132 // row_tiles))`` of them along M, where
    the model's waves are 132 tiles, ``tiles / 132`` (fractional): 2-5% more HBM words."""
    grid = _kernel_grid()
    assert len(grid) == 119
    waves = 0
    for m, n, k, batch in grid:
        assert batch == 1
        layer = gemm(m, n, k)
        config = kernel_config(H200, layer)
        assert (config.shared, config.reads) == gemm_raster(H200, m, n, k, config.rows, config.cols)
        mapping, c = counts(layer, config)
        assert c["L2"]["ifmap"]["reads"] + c["L2"]["filter"]["reads"] == \
            (math.ceil(n / config.cols) * m + math.ceil(m / config.rows) * n) * k, (m, n, k)
        a, b, out = m * k, k * n, m * n
        hbm = c["HBM"]["ifmap"]["reads"] + c["HBM"]["filter"]["reads"] + c["HBM"]["ofmap"]["writes"]
        model = gemm_hbm_bytes(H200, m, n, k, config.rows, config.cols) / 2
        assert c["HBM"]["ofmap"]["writes"] == out
        if config.reads == 1:
            assert hbm == model == a + b + out, (m, n, k, mapping.loops_of("HBM"))
            continue
        waves += 1
        rows, cols = math.ceil(m / config.rows), math.ceil(n / config.cols)
        if config.shared == "A":
            bands = math.ceil(cols / (132 // rows))
            assert (c["HBM"]["ifmap"]["reads"], c["HBM"]["filter"]["reads"]) == (bands * a, b)
        else:
            bands = math.ceil(rows / (132 // cols))
            assert (c["HBM"]["ifmap"]["reads"], c["HBM"]["filter"]["reads"]) == (a, bands * b)
        assert bands >= config.reads and 1.0 < hbm / model < 1.05, (m, n, k)
    assert waves == 7


def _inside(size, out, stride, pad, taps, dilation=1):
    """(output, tap) pairs of one axis whose input position lies inside the input (not in padding),
    and the input positions they touch: counted one by one."""
    pairs = [(o, t) for o in range(out) for t in range(taps) if 0 <= o * stride + t * dilation - pad < size]
    return len(pairs), len({o * stride + t * dilation - pad for o, t in pairs})


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_conv_counts_by_hand(name):
    """Every conv of a zoo CNN, in its kernel's configuration, against counts by hand:
    - L2 -> shared memory A (the implicit GEMM's im2col reads, once per column tile): every (output
      pixel, filter tap) pair whose input lies inside the image, x C/G channels; the model's
      ``ceil(n/BN) * m * k`` also counts the taps in the padding, which the kernel does not load
      (a predicated-off load fills zeros);
    - L2 -> shared memory B, once per pixel tile: the tree tiles whole output rows (F, then E, then
      N), so ``ceil(N/n) * ceil(E/e) * ceil(F/f)`` tiles of at most BM pixels, where the model's
      linear tiles number ``ceil(m/BM)``;
    - HBM: every weight and output once; of the input, the positions some tap touches (a 1 x 1
      stride-2 conv reads a quarter of them: the model counts all)."""
    workload = spec.load("workloads", name)
    run = tree_run(H200, workload)
    acc = run.accesses.set_index(["layer", "level", "operand"])
    checked = 0
    for layer in workload.layers:
        if layer.kind != "conv":
            continue
        m, n, k, g, _ = gemm_shape(H200, layer)
        config = kernel_config(H200, layer)
        pairs_h, rows_touched = _inside(layer.H, layer.E, layer.stride_h, layer.pad_h, layer.R, layer.dilation_h)
        pairs_w, cols_touched = _inside(layer.W, layer.F, layer.stride_w, layer.pad_w, layer.S, layer.dilation_w)
        column_tiles = math.ceil(n / config.cols)
        cg = layer.C // g
        assert acc.loc[(layer.name, "L2", "ifmap"), "reads"] == column_tiles * g * layer.N * pairs_h * pairs_w * cg
        tile = pixel_tile(layer, config.rows)
        assert tile["N"] * tile["E"] * tile["F"] <= config.rows
        pixel_tiles = math.prod(math.ceil(getattr(layer, d) / tile[d]) for d in ("N", "E", "F"))
        assert acc.loc[(layer.name, "L2", "filter"), "reads"] == pixel_tiles * n * k * g
        assert pixel_tiles >= math.ceil(m / config.rows)
        assert acc.loc[(layer.name, "HBM", "filter"), "reads"] == layer.weights
        assert acc.loc[(layer.name, "HBM", "ofmap"), "writes"] == layer.ofmap_words
        assert acc.loc[(layer.name, "HBM", "ifmap"), "reads"] == layer.N * layer.C * rows_touched * cols_touched
        checked += 1
    assert checked >= 20


def _workload(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump({"name": "w", "layers": [
        {"name": "conv", "type": "conv", "C": 16, "H": 20, "W": 20, "M": 96, "R": 3, "S": 3, "padding": 1},
        {"name": "pool", "type": "maxpool", "C": 96, "H": 20, "W": 20, "R": 2, "S": 2, "stride": 2},
        {"name": "fc", "type": "gemm", "M": 8, "N": 1000, "K": 9600}]}))
    return path


def test_run_writes_the_trees_tables_beside_the_kernel_models(tmp_path):
    """`accelsim run --hw h200` (no --mapping): layers.csv keeps the kernel model's columns and numbers
    and adds the tree's; accesses.csv, area.csv and mappings.yaml as a tree run writes them; energy
    empty with the reason; mappings.yaml read back by --mapping gives the same counts."""
    workload = _workload(tmp_path)
    result = CliRunner().invoke(main, ["run", "--hw", "h200", "--workload", str(workload), "--out",
                                       str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "accesses.csv" in result.output and "area.csv" in result.output and "mappings.yaml" in result.output
    hbm = f"HBM {16 * 20 * 20 + 96 * 16 * 9 + 8 * 9600 + 9600 * 1000:,} / {96 * 20 * 20 + 8 * 1000:,}"
    assert f"traffic on the tree (N-level engine, words read / written, MAC layers; accesses.csv): {hbm};" \
        in result.output
    layers = pd.read_csv(tmp_path / "o" / "layers.csv")
    model = layer_costs(H200, workload_from_dict(yaml.safe_load(workload.read_text()), str(workload)))
    assert list(layers.columns[:len(COLUMNS)]) == COLUMNS
    pd.testing.assert_frame_equal(layers[COLUMNS], model, check_dtype=False)
    assert layers.loc[0, "HBM_filter_reads"] == 96 * 16 * 9 and layers.loc[2, "HBM_filter_reads"] == 9600 * 1000
    assert pd.isna(layers.loc[1, "HBM_ifmap_reads"]) and pd.isna(layers.loc[1, "mapping"])   # pooling: not in the tree
    accesses = pd.read_csv(tmp_path / "o" / "accesses.csv")
    assert set(accesses["layer"]) == {"conv", "fc"}
    assert sorted(set(zip(accesses["level"], accesses["operand"]))) == sorted(
        [("HBM", "ifmap"), ("HBM", "filter"), ("HBM", "ofmap"), ("L2", "ifmap"), ("L2", "filter"), ("L2", "ofmap"),
         ("SharedMemory", "ifmap"), ("SharedMemory", "filter"), ("RegisterFile", "ofmap")])
    assert accesses["energy_pj"].isna().all()
    assert accesses["energy_source"].str.startswith("unknown: no published per-access energy").all()
    import json
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["inputs"]["area_table"]["path"].endswith("accelergy_65nm.yaml")
    area = pd.read_csv(tmp_path / "o" / "area.csv")
    expected = pd.DataFrame(area_rows(H200.tree, area_table_for(H200.tree)))
    pd.testing.assert_frame_equal(area, expected, check_dtype=False)
    from accelsim.report.build import build_report
    page = build_report(tmp_path / "o")      # still the GPU run's page, now with the traffic per level
    assert "GPU kernels" in page and "Traffic per level" in page
    again = CliRunner().invoke(main, ["run", "--hw", "h200", "--workload", str(workload), "--mapping",
                                      str(tmp_path / "o" / "mappings.yaml"), "--out", str(tmp_path / "m")])
    assert again.exit_code == 0, again.output
    pinned = pd.read_csv(tmp_path / "m" / "accesses.csv")
    columns = ["layer", "level", "operand", "reads", "writes", "fills", "updates", "bandwidth_cycles"]
    pd.testing.assert_frame_equal(accesses[columns], pinned[columns])


@pytest.mark.parametrize("hw, workload", [("h200", None), ("h200", "resnet18"), ("h200", "mobilenet_v2"),
                                          ("h100", "resnet18")])
def test_run_writes_what_pandas_writes(tmp_path, hw, workload):
    """`accelsim run --hw h200` builds Tables (no pandas on its path, accelsim/table.py): its files,
    manifest totals and stdout are byte for byte what the pandas path wrote: layer_costs' and
    tree_run's DataFrames side by side, DataFrame.to_csv, to_string(float_format=...), groupby."""
    workload = str(_workload(tmp_path)) if workload is None else workload
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["run", "--hw", hw, "--workload", workload, "--out", str(out)])
    assert done.exit_code == 0, done.output
    dev = spec.load_hw(spec.resolve("hw", hw))
    wl = spec.load_workload(spec.resolve("workloads", workload))
    frame = layer_costs(dev, wl)
    tree = tree_run(dev, wl) if dev.tree is not None else None
    if tree is not None:
        frame = pd.concat([frame, tree.columns], axis=1)
        written = {"accesses": tree.accesses, "area": tree.area}
    else:
        written = {}
    for name, table in {"layers": frame, **written}.items():
        table.to_csv(tmp_path / f"{name}.csv", index=False)
        assert (out / f"{name}.csv").read_bytes() == (tmp_path / f"{name}.csv").read_bytes(), name
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["layers.csv", "manifest.json"] + (["accesses.csv", "area.csv", "mappings.yaml"] if tree is not None else []))
    total = pd.DataFrame([{"layers": len(frame), "kernels": int(frame["kernels"].sum()), "macs": int(frame["macs"].sum()),
                           "time_s": float(frame["time_s"].sum()),
                           **{key: float(frame[key].sum()) for key in ("compute_s", "quantization_s", "memory_s",
                                                                       "overhead_s", "launch_s")}}])
    import json
    manifest = json.loads((out / "manifest.json").read_text())
    assert json.dumps(manifest["totals"]) == json.dumps(json.loads(total.to_json(orient="records"))[0])
    view = frame[["layer", "kind", "gemm_m", "gemm_n", "gemm_k", "groups", "compute_s", "quantization_s", "memory_s",
                  "overhead_s", "launch_s", "time_s", "bound", "detail"]]
    stdout = done.stdout.split("\n", 1)[1] if done.stdout.startswith("compiling") else done.stdout
    assert stdout.startswith(view.to_string(index=False, float_format=lambda v: f"{v:.4g}") + "\n")
    if tree is not None:
        words = tree.accesses.groupby("level", sort=False)[["reads", "writes"]].sum()
        assert ("traffic on the tree (N-level engine, words read / written, MAC layers; accesses.csv): "
                + "; ".join(f"{level} {int(r.reads):,} / {int(r.writes):,}" for level, r in words.iterrows())
                + "\n") in stdout


def test_devices_without_the_trees_levels(tmp_path):
    """h100 has no levels: (layers.csv and manifest.json only, as before); a tree without the levels
    the kernel mappings name gets layers.csv and a line saying why nothing else."""
    workload = _workload(tmp_path)
    result = CliRunner().invoke(main, ["run", "--hw", "h100", "--workload", str(workload), "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["layers.csv", "manifest.json"]
    text = (spec.ROOT / "hw" / "h200.yaml").read_text().replace("name: SharedMemory", "name: SMEM")
    hw = tmp_path / "renamed.yaml"
    hw.write_text(text)
    assert "missing or of another kind: SharedMemory (storage)" in tree_problem(spec.load_hw(hw).tree)
    result = CliRunner().invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert "no accesses.csv, area.csv or mappings.yaml" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "b" / "accesses.csv").exists()


def test_a_level_with_its_own_energies_is_priced(tmp_path):
    """A GPU tree whose level states read_energy_pj / write_energy_pj gets that level's energy
    (reads x read + writes x write); the others stay empty with their reason."""
    text = (spec.ROOT / "hw" / "h200.yaml").read_text().replace(
        "    bandwidth_bytes_per_cycle: 2623", "    bandwidth_bytes_per_cycle: 2623\n    read_energy_pj: 10\n"
        "    write_energy_pj: 12")
    hw = tmp_path / "priced.yaml"
    hw.write_text(text)
    dev = spec.load_hw(hw)
    run = tree_run(dev, workload_from_dict({"name": "g", "layers": [{"name": "g", "type": "gemm", "M": 64, "N": 64,
                                                                      "K": 64}]}))
    acc = run.accesses.set_index(["level", "operand"])
    assert acc.loc[("HBM", "ifmap"), "energy_pj"] == 10 * 64 * 64
    assert acc.loc[("HBM", "ofmap"), "energy_pj"] == 12 * 64 * 64
    assert math.isnan(acc.loc[("L2", "ifmap"), "energy_pj"])


def _priced_h200(tmp_path, levels, mac_pj=None):
    """hw/h200.yaml with read_energy_pj / write_energy_pj on ``levels`` ({name: (read, write)}) and,
    given ``mac_pj``, the MAC's energy_pj."""
    text = (spec.ROOT / "hw" / "h200.yaml").read_text()
    for name, (read, write) in levels.items():
        text = text.replace(f"  - name: {name}\n    kind: storage\n",
                            f"  - name: {name}\n    kind: storage\n    read_energy_pj: {read}\n"
                            f"    write_energy_pj: {write}\n")
    if mac_pj is not None:
        text = text.replace("    precision: bf16\n", f"    precision: bf16\n    energy_pj: {mac_pj}\n")
    hw = tmp_path / "priced.yaml"
    hw.write_text(text)
    assert all(spec.load_hw(hw).tree.level(name).read_energy_pj is not None for name in levels)
    return hw


def _kernel_and_mapping_runs(tmp_path, hw, *extra):
    workload = _workload(tmp_path)
    out = tmp_path / "k"
    result = CliRunner().invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--out", str(out)])
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--mapping",
                                      str(out / "mappings.yaml"), "--out", str(tmp_path / "m"), *extra])
    assert again.exit_code == 0, again.output
    return again.output, pd.read_csv(out / "accesses.csv"), tmp_path / "m"


@pytest.mark.parametrize("priced", [{}, {"HBM": (10, 12)}])
def test_mapping_runs_price_energy_as_the_kernel_run(tmp_path, priced):
    """`--mapping` on a GPU's tree prices the levels as the kernel run does (only a level's own
    read_energy_pj / write_energy_pj; the others empty with the same reason), not from the 45 nm
    table; a layer's energy is empty while a part of it is, and so is the run's total."""
    hw = _priced_h200(tmp_path, priced) if priced else "h200"
    output, kernel, out = _kernel_and_mapping_runs(tmp_path, hw)
    pinned = pd.read_csv(out / "accesses.csv")
    pd.testing.assert_frame_equal(kernel, pinned)
    assert pinned["energy_pj"].isna().sum() == len(pinned) - 3 * len(priced) * 2      # HBM: 3 operands, 2 layers
    assert (pinned["energy_source"].str.startswith("unknown: no published per-access energy")
            == pinned["energy_pj"].isna()).all()
    layers = pd.read_csv(out / "layers.csv")
    assert layers.loc[layers["macs"] > 0, ["energy_pj", "energy_pj_mac"]].isna().all().all()
    assert "energy unknown (no published per-access energies of this GPU's memories" in output
    import json
    assert json.loads((out / "manifest.json").read_text())["totals"]["energy_pj"] is None
    from accelsim.report.build import tree_run_report
    title, sections = tree_run_report(out)      # the page reads the GPU file's tree; no energy total
    assert title == "accelsim run: w on h200, pinned mappings"
    assert sections[0].table[1][-1] == "-" and sections[0].table[0][-1].startswith("energy")
    deltas = tmp_path / "d.csv"
    done = CliRunner().invoke(main, ["compare", str(tmp_path / "k"), str(out), "-o", str(tmp_path / "c.html"),
                                     "--csv", str(deltas)])      # compare reads the GPU file's tree too
    assert done.exit_code == 0, done.output
    d = pd.read_csv(deltas)
    assert d.loc[d["metric"] == "energy_pj", "value"].isna().all()
    assert (d.loc[(d["metric"] == "total_cycles") & (d["layer"] == "fc"), "value"] > 0).all()
    from accelsim.report.compare import compare_page
    note = compare_page([str(tmp_path / "k"), str(out)])[1][0].note
    assert "m has no energy" in note          # the pinned run's empty energy cell is named, as the kernel run's


def test_mapping_runs_on_a_fully_priced_gpu_tree_or_under_energy(tmp_path):
    """Every level and the MAC priced by the hw file: a layer's energy is the sum of its levels'
    (reads x read + writes x write) and its MACs x energy_pj, by hand; an explicit --energy TABLE
    prices the levels from that table, as every tree run does."""
    levels = {"HBM": (10, 12), "L2": (2, 3), "SharedMemory": (1, 1.5), "RegisterFile": (0.25, 0.5)}
    hw = _priced_h200(tmp_path, levels, mac_pj=0.125)
    output, kernel, out = _kernel_and_mapping_runs(tmp_path, hw)
    pinned = pd.read_csv(out / "accesses.csv")
    pd.testing.assert_frame_equal(kernel, pinned)
    layers = pd.read_csv(out / "layers.csv").set_index("layer")
    for name in ("conv", "fc"):
        rows = pinned[pinned["layer"] == name]
        by_hand = sum(r.reads * levels[r.level][0] + r.writes * levels[r.level][1] for r in rows.itertuples())
        assert layers.loc[name, "energy_pj_mac"] == 0.125 * layers.loc[name, "macs"]
        assert layers.loc[name, "energy_pj"] == pytest.approx(by_hand + 0.125 * layers.loc[name, "macs"], rel=1e-12)
    assert "energy unknown" not in output
    (tmp_path / "t").mkdir()
    output, _, out = _kernel_and_mapping_runs(tmp_path / "t", "h200", "--energy", "horowitz_45nm")
    tabled = pd.read_csv(out / "accesses.csv")
    assert "energy_source" not in tabled and tabled["energy_pj"].notna().all() and "energy unknown" not in output


def test_layers_that_need_hbm_bands_fit_the_l2():
    """A decode GEMV whose weights (90 MB) exceed the L2: the columns stream in bands at HBM, A (one
    token) stays in L2, every word crosses HBM once; the chosen configuration's gemm_choice time is
    unchanged (the tree adds counts, not time)."""
    m, n, k = 1, 11008, 4096
    config = kernel_config(H200, gemm(m, n, k))
    mapping, c = counts(gemm(m, n, k), config)
    (dim, bands), = mapping.loops_of("HBM")
    assert dim == "M" and bands > 1
    assert c["HBM"]["ifmap"]["reads"] == m * k and c["HBM"]["filter"]["reads"] == k * n
    assert gemm_choice(H200, m, n, k)[3:6] == (config.rows, config.cols, config.slices)


def test_random_shapes_count_as_the_kernel_would():
    """300 random GEMMs and convs (seeded; batch up to 64, K from 2 to 70000, grouped and strided
    convs, operands up to 140 GB; K = 1, an outer product, is the one shape whose tiles the tree lets
    share an operand in shared memory: no loop over K separates them): every one maps and fits the
    tree (bands at HBM where it must); the
    L2 operand reads equal the model's formula for GEMMs and the hand counts for convs (a tile's
    operands are loaded by that tile, also when K takes one step); HBM reads every word at least once
    and, for GEMMs, never fewer words than the model's gemm_hbm_bytes."""
    import random
    rng = random.Random(7)
    for _ in range(300):
        if rng.random() < 0.5:
            m, n, k = rng.choice([1, 3, 64, 100, 4096, 20000, 70000]), rng.choice([1, 17, 256, 8192, 70000]), \
                rng.choice([2, 17, 100, 4096, 70000])
            layer = gemm(m, n, k)
        else:
            g = rng.choice([1, 2, 4])
            r, h = rng.choice([1, 3, 7]), rng.choice([7, 56, 224])
            layer = Layer(name="c", kind="conv", N=rng.choice([1, 8, 64]), C=g * rng.choice([3, 16, 256]), H=h, W=h,
                          M=g * rng.choice([1, 64, 512]), R=r, S=r, stride_h=rng.choice([1, 2]),
                          stride_w=rng.choice([1, 2]), pad_h=r // 2, pad_w=r // 2, groups=g)
        m, n, k, g, _ = gemm_shape(H200, layer)
        config = kernel_config(H200, layer)
        mapping, c = counts(layer, config)
        if layer.kind == "gemm":
            assert c["L2"]["ifmap"]["reads"] + c["L2"]["filter"]["reads"] == \
                (math.ceil(n / config.cols) * m + math.ceil(m / config.rows) * n) * k, (layer, config)
            hbm = c["HBM"]["ifmap"]["reads"] + c["HBM"]["filter"]["reads"] + c["HBM"]["ofmap"]["writes"]
            assert hbm >= gemm_hbm_bytes(H200, m, n, k, config.rows, config.cols) / 2 - 0.5
        else:
            pairs_h, _ = _inside(layer.H, layer.E, layer.stride_h, layer.pad_h, layer.R)
            pairs_w, _ = _inside(layer.W, layer.F, layer.stride_w, layer.pad_w, layer.S)
            tile = pixel_tile(layer, config.rows)
            pixel_tiles = math.prod(math.ceil(getattr(layer, d) / tile[d]) for d in ("N", "E", "F"))
            assert c["L2"]["ifmap"]["reads"] == \
                math.ceil(n / config.cols) * g * layer.N * pairs_h * pairs_w * (layer.C // g), (layer, config)
            assert c["L2"]["filter"]["reads"] == pixel_tiles * n * k * g, (layer, config)
        assert c["HBM"]["filter"]["reads"] >= layer.weights and c["HBM"]["ofmap"]["writes"] == layer.ofmap_words
