"""What `accelsim run` writes for an architecture tree, on every tree preset as a user runs it:
layers.csv, accesses.csv (consistent with layers.csv's per-level columns), area.csv (every level's
area with its source, the total equal to layers.csv's), mappings.yaml read back by --mapping to
identical numbers, and the manifest naming the area table."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from accelsim import spec
from accelsim.cli import main
from accelsim.spec.arch import load_arch

TREE_PRESETS = spec.tree_preset_names()
#: Columns only the mapper's run has (how it searched), or that name the run's kind.
SEARCH_COLUMNS = {"dataflow", "objective", "search", "mapspace", "mappings_evaluated", "mapper_seconds"}


def small_workload(tmp_path):
    """A 3x3 conv with padding, a depthwise conv and a GEMM: small enough to map in a second."""
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump({"name": "small", "layers": [
        {"name": "conv", "type": "conv", "C": 8, "H": 8, "W": 8, "M": 16, "R": 3, "S": 3, "padding": 1},
        {"name": "pool", "type": "maxpool", "R": 2, "S": 2, "stride": 2},
        {"name": "dw", "type": "conv", "C": 16, "H": 4, "W": 4, "M": 16, "R": 3, "S": 3, "padding": 1, "groups": 16},
        {"name": "fc", "type": "gemm", "M": 4, "N": 16, "K": 32}]}))
    return path


def run(*args):
    result = CliRunner().invoke(main, ["run", *map(str, args), "--quiet"])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("name", TREE_PRESETS)
def test_every_tree_preset_writes_consistent_outputs_and_its_mappings_read_back(name, tmp_path):
    workload = small_workload(tmp_path)
    first, again = tmp_path / "mapped", tmp_path / "pinned"
    run("--hw", f"trees/{name}", "--workload", workload, "--out", first)
    text = (first / "mappings.yaml").read_text()
    assert text.startswith("# accelsim run --mapping reads this back")
    assert set(yaml.safe_load(text)["layers"]) == {"conv", "dw", "fc"}
    run("--hw", f"trees/{name}", "--workload", workload, "--mapping", first / "mappings.yaml", "--out", again)
    mapped, pinned = pd.read_csv(first / "layers.csv"), pd.read_csv(again / "layers.csv")
    shared = [c for c in mapped.columns if c not in SEARCH_COLUMNS]
    assert set(shared) <= set(pinned.columns)
    pd.testing.assert_frame_equal(mapped[shared], pinned[shared])
    accesses = pd.read_csv(first / "accesses.csv")
    pd.testing.assert_frame_equal(accesses, pd.read_csv(again / "accesses.csv"))
    assert (first / "mappings.yaml").read_text() == (again / "mappings.yaml").read_text()

    # accesses.csv against layers.csv's per-level columns, and energy adding up
    assert list(accesses.columns) == ["layer", "level", "operand", "reads", "writes", "fills", "updates",
                                      "energy_pj", "bandwidth_cycles"]
    assert set(accesses["layer"]) == {"conv", "dw", "fc"}
    assert (accesses["writes"] == accesses["fills"] + accesses["updates"]).all()
    rows = mapped.set_index("layer")
    for r in accesses.itertuples():
        assert rows.loc[r.layer, f"{r.level}_{r.operand}_reads"] == r.reads
        assert rows.loc[r.layer, f"{r.level}_{r.operand}_writes"] == r.writes
    energy = accesses.groupby("layer")["energy_pj"].sum()
    for layer in ("conv", "dw", "fc"):
        assert energy[layer] + rows.loc[layer, "energy_pj_mac"] == pytest.approx(rows.loc[layer, "energy_pj"])
        assert rows.loc[layer, "total_cycles"] >= rows.loc[layer, "compute_cycles"] >= math.ceil(
            rows.loc[layer, "macs"] / load_arch(spec.resolve("hw", f"trees/{name}")).num_macs)
    assert rows.loc["pool", "macs"] == 0

    # the shorthand table's columns that mean the same on a tree
    tree = load_arch(spec.resolve("hw", f"trees/{name}"))
    store = tree.levels[0].name
    assert (mapped["timing"] == tree.timing).all()
    assert rows.loc["dw", "layer_type"] == "depthwise" and rows.loc["conv", "layer_type"] == "conv"
    assert rows.loc["conv", ["C", "M", "H", "W", "R", "S", "pad_h", "E", "F", "groups"]].tolist() == [
        8, 16, 8, 8, 3, 3, 1, 8, 8, 1]
    assert rows.loc["conv", ["gemm_p", "gemm_m", "gemm_k"]].tolist() == [64, 16, 72]
    assert rows.loc["dw", ["groups", "gemm_m", "gemm_k"]].tolist() == [16, 1, 9]
    for op, what in (("ifmap", "reads"), ("filter", "reads"), ("ofmap", "writes"), ("ofmap", "reads")):
        assert (mapped[f"dram_{op}_{what}"] == mapped[f"{store}_{op}_{what}"]).all()
    assert rows.loc["conv", "compute_utilization"] == pytest.approx(
        rows.loc["conv", "macs"] / (rows.loc["conv", "compute_cycles"] * tree.num_macs))

    # area.csv: every level with a source; the total is layers.csv's and the sum of the known levels
    area = pd.read_csv(first / "area.csv")
    levels = [lv for lv in yaml.safe_load(spec.resolve("hw", f"trees/{name}").read_text())["levels"]]
    assert list(area["level"]) == [lv["name"] for lv in levels] + ["total"]
    assert area["source"].notna().all() and (area["source"].str.len() > 10).all()
    known = area[(area["level"] != "total") & area["area_mm2"].notna()]
    total = area.set_index("level").loc["total", "area_mm2"]
    assert total == pytest.approx(known["area_mm2"].sum()) and total > 0
    assert mapped["area_mm2"].iloc[0] == pytest.approx(total)
    for lv in known.itertuples():
        assert mapped[f"area_mm2_{lv.level}"].iloc[0] == pytest.approx(lv.area_mm2)
        assert lv.area_mm2 == pytest.approx(lv.area_mm2_each * lv.instances)
    assert "area_table" in yaml.safe_load((first / "manifest.json").read_text())["inputs"]


def test_area_sources_and_an_unknown_mac_area(tmp_path):
    """simba_like's areas by hand from hw/area/accelergy_65nm.yaml: the 64 KiB global buffer at
    0.2073 um^2/bit, 16 PE buffers of 43 KiB at 0.3651 (below a spatial level: register-file
    class), 1024 weight registers of 8 bits, 1024 int8 MACs of 191.82 um^2. tpu_v4_like's bf16 MAC
    has no entry in that table: its area is empty, said so, and left out of the total."""
    workload = tmp_path / "one.yaml"
    workload.write_text(yaml.safe_dump({"name": "one", "layers": [
        {"name": "fc", "type": "gemm", "M": 4, "N": 16, "K": 32}]}))
    run("--hw", "simba_like", "--workload", workload, "--out", tmp_path / "s")
    area = pd.read_csv(tmp_path / "s" / "area.csv").set_index("level")
    assert area.loc["GlobalBuffer", "area_mm2"] == pytest.approx(64 * 8192 * 0.2073 / 1e6)
    assert area.loc["PEBuffers", "area_mm2"] == pytest.approx(16 * 43 * 8192 * 0.3651 / 1e6)
    assert area.loc["WeightRegisters", "area_mm2"] == pytest.approx(1024 * 8 * 0.3651 / 1e6)
    assert area.loc["MAC", "area_mm2"] == pytest.approx(1024 * 191.82 / 1e6)
    assert area.loc["total", "area_mm2"] == pytest.approx(
        (64 * 8192 * 0.2073 + (16 * 43 * 8192 + 1024 * 8) * 0.3651 + 1024 * 191.82) / 1e6)
    assert area.loc["PEBuffers", "source"] == ("accelergy_65nm ([accelergy] timeloop-accelergy-exercises eyeriss_like "
                                               "ART summary (65 nm)) rf_um2_per_bit = 0.3651 um2 x 352,256 bits")
    run("--hw", "tpu_v4_like", "--workload", workload, "--out", tmp_path / "t")
    area = pd.read_csv(tmp_path / "t" / "area.csv").set_index("level")
    assert math.isnan(area.loc["MAC", "area_mm2"])
    assert area.loc["MAC", "source"].startswith("unknown: accelergy_65nm has no bf16 MAC")
    assert area.loc["total", "source"] == "sum of the levels except MAC (area unknown)"
    assert area.loc["total", "area_mm2"] == pytest.approx(area.loc[["CMEM", "VMEM"], "area_mm2"].sum())
    layers = pd.read_csv(tmp_path / "t" / "layers.csv")
    assert math.isnan(layers["area_mm2_MAC"].iloc[0])


def test_a_gpu_tree_runs_under_a_pinned_mapping(tmp_path):
    """hw/h200.yaml's levels: run with --mapping on the N-level engine (without --mapping the GPU
    device runs its layers as kernels). A 64 x 64 x 64 GEMM on 4 SMs (N across them), 2 tensor cores
    each (M), each 16 x 32 MACs (M x C): 64^3 / (4 x 2 x 512) = 64 compute steps, the shared
    memory's N 16 x M 2 x C 2 loops; HBM has no loops, so it sends every weight once."""
    workload = tmp_path / "g.yaml"
    workload.write_text(yaml.safe_dump({"name": "g", "layers": [{"name": "g", "type": "gemm", "M": 64, "N": 64,
                                                                 "K": 64}]}))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(yaml.safe_dump({
        "SMs": {"x": {"N": 4}},
        "SharedMemory": {"temporal": [["N", 16], ["M", 2], ["C", 2]]},
        "TensorCores": {"x": {"M": 2}},
        "TensorCoreMACs": {"x": {"M": 16}, "y": {"C": 32}}}))
    run("--hw", "h200", "--workload", workload, "--mapping", mapping, "--out", tmp_path / "o")
    layers = pd.read_csv(tmp_path / "o" / "layers.csv")
    assert int(layers["macs"].iloc[0]) == 64 ** 3
    assert int(layers["compute_cycles"].iloc[0]) == 64 ** 3 // (4 * 2 * 512) == 64
    assert int(layers["HBM_filter_reads"].iloc[0]) == 64 * 64
    treeless = CliRunner().invoke(main, ["run", "--hw", "h100", "--workload", str(workload), "--mapping", str(mapping),
                                         "--out", str(tmp_path / "h100")])
    assert treeless.exit_code == 1 and "Traceback" not in treeless.output
    assert "h100.yaml: this GPU device has no architecture tree (levels:)" in treeless.output


def test_every_tree_key_the_reader_takes_is_documented():
    """hw/README.md's key table and docs/architecture.md name every key the tree reader accepts (a key
    added to the reader without its documentation fails here); the schema is generated from the same
    reader (tests/test_schema.py)."""
    from accelsim.spec import arch
    readme = (spec.ROOT / "hw" / "README.md").read_text().split("## Architecture trees", 1)[1]
    guide = (spec.ROOT / "docs" / "architecture.md").read_text()
    keys = set(arch._TOP_KEYS + arch._STORAGE_KEYS + arch._SPATIAL_KEYS + arch._COMPUTE_KEYS)
    for key in sorted(keys):
        short = key.replace("_words_per_cycle", "_*").replace("_bytes_per_cycle", "_*")
        assert f"`{key}`" in readme or f"`{short}`" in readme, f"hw/README.md does not document {key}"
        assert f"`{key}`" in guide or key in ("kind", "vector", "sparsity"), f"docs/architecture.md: {key}"


def test_the_worked_example_of_docs_architecture_md(tmp_path):
    """docs/architecture.md's worked example, run from the mapping as the page prints it: every
    number the page derives by hand."""
    text = (spec.ROOT / "docs" / "architecture.md").read_text()
    block = text.split("A mapping gives each storage level", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    mapping = tmp_path / "m.yaml"
    mapping.write_text(block)
    workload = tmp_path / "w.yaml"
    workload.write_text(yaml.safe_dump({"name": "w", "layers": [
        {"name": "conv2_1a", "type": "conv", "C": 64, "H": 56, "W": 56, "M": 64, "R": 3, "S": 3, "padding": 1}]}))
    run("--hw", "simba_like", "--workload", workload, "--mapping", mapping, "--out", tmp_path / "o")
    layer = pd.read_csv(tmp_path / "o" / "layers.csv").iloc[0]
    acc = pd.read_csv(tmp_path / "o" / "accesses.csv").set_index(["level", "operand"])
    assert layer["macs"] == 64 * 64 * 56 * 56 * 9 == 115_605_504
    assert layer["compute_cycles"] == 2 * 14 * 14 * 2 * 3 * 3 * 4 * 4 == 115_605_504 // 1024 == 112_896
    assert acc.loc[("DRAM", "filter"), "reads"] == acc.loc[("PEBuffers", "filter"), "fills"] == 36_864
    assert acc.loc[("DRAM", "ifmap"), "reads"] == 2 * 82 * 82 * 64 == 860_672
    assert acc.loc[("GlobalBuffer", "ifmap"), "reads"] == 860_672
    assert acc.loc[("PEBuffers", "ifmap"), "fills"] == 4 * 860_672 == 3_442_688
    assert acc.loc[("PEBuffers", "ifmap"), "reads"] == (56 + 55 + 55) ** 2 * 64 * 8 == 14_108_672
    assert acc.loc[("WeightRegisters", "filter"), "fills"] == 115_605_504 // 16 == 7_225_344
    assert acc.loc[("WeightRegisters", "filter"), "reads"] == 115_605_504
    assert acc.loc[("DRAM", "ofmap"), "writes"] == 64 * 56 * 56 == 200_704
    assert acc.loc[("PEBuffers", "ofmap"), "updates"] == 112_896 * 8 * 16 == 14_450_688
    assert acc.loc[("DRAM", "ifmap"), "bandwidth_cycles"] == (860_672 + 36_864 + 200_704) // 32 == 34_320
    assert layer["total_cycles"] == 114_136 and layer["stall_cycles"] == 1_240
    assert layer["stall_PEBuffers_cycles"] == 1_152 and layer["stall_GlobalBuffer_cycles"] == 88
    # the page's reading of the tree: its paths, capacities and summary line
    tree = load_arch(spec.resolve("hw", "simba_like"))
    assert [lv.name for lv in tree.path("filter")] == ["DRAM", "PEBuffers", "WeightRegisters"]
    assert [lv.name for lv in tree.path("ifmap")] == ["DRAM", "GlobalBuffer", "PEBuffers"]
    assert tree.level("PEBuffers").capacity_words("ofmap") == 1024
    assert tree.level("PEBuffers").capacity_words("ifmap") == 8192
    assert tree.level("PEBuffers").instances == 16 and tree.level("WeightRegisters").instances == 1024
    assert f"`{tree.summary().removeprefix('architecture tree: ')}`" in text


def test_layers_csv_columns_do_not_depend_on_the_hash_seed(tmp_path):
    """layers.csv's stall_<level>_cycles columns come in the tree's level order in every process
    (they once followed a set's order, which Python's string hashing changes from run to run)."""
    mapping = tmp_path / "m.yaml"
    text = (spec.ROOT / "docs" / "architecture.md").read_text()   # its worked example's mapping
    mapping.write_text(text.split("A mapping gives each storage level", 1)[1].split("```yaml", 1)[1].split("```", 1)[0])
    workload = tmp_path / "w.yaml"
    workload.write_text(yaml.safe_dump({"name": "w", "layers": [
        {"name": "conv", "type": "conv", "C": 64, "H": 56, "W": 56, "M": 64, "R": 3, "S": 3, "padding": 1}]}))
    headers = []
    for seed in range(4):
        out = tmp_path / f"o{seed}"
        subprocess.run([sys.executable, "-c", "from accelsim.cli import main; main()", "run", "--hw", "simba_like",
                        "--workload", str(workload), "--mapping", str(mapping), "--out", str(out), "--quiet"],
                       env={**os.environ, "PYTHONHASHSEED": str(seed)}, cwd=spec.ROOT, check=True, capture_output=True)
        headers.append((out / "layers.csv").read_text().splitlines()[0].split(","))
    assert all(header == headers[0] for header in headers)
    stalls = [c for c in headers[0] if c.startswith("stall_") and c != "stall_cycles"]
    levels = [lv.name for lv in load_arch(spec.resolve("hw", "simba_like")).levels]
    assert len(stalls) >= 3 and stalls == [f"stall_{n}_cycles" for n in levels if f"stall_{n}_cycles" in stalls]


def test_python_api_gives_the_tables_the_cli_writes(tmp_path):
    """accelsim.simulate_tree: the same layers (per-level columns), accesses and area as `accelsim
    run` writes, pinned (a path or the parsed YAML) and mapped (with a pin as a dict)."""
    import accelsim
    workload = small_workload(tmp_path)
    run("--hw", "simba_like", "--workload", workload, "--objective", "cycles", "--out", tmp_path / "m")
    mapped = accelsim.simulate_tree("simba_like", workload, objective="cycles")
    written = pd.read_csv(tmp_path / "m" / "layers.csv")
    shared = [c for c in written.columns if c not in SEARCH_COLUMNS]
    pd.testing.assert_frame_equal(mapped.layers[shared].reset_index(drop=True), written[shared], check_dtype=False)
    pd.testing.assert_frame_equal(mapped.accesses, pd.read_csv(tmp_path / "m" / "accesses.csv"), check_dtype=False)
    pd.testing.assert_frame_equal(mapped.area, pd.read_csv(tmp_path / "m" / "area.csv"), check_dtype=False)
    assert set(mapped.mappings) == {"conv", "dw", "fc"} and set(mapped.pareto["layer"]) == {"conv", "dw", "fc"}
    assert "PEBuffers_ifmap_reads" in mapped.layers and "stall_PEBuffers_cycles" in mapped.layers
    pinned = accelsim.simulate_tree("simba_like", workload, mapping=tmp_path / "m" / "mappings.yaml")
    assert pinned.pareto is None
    assert pinned.layers["total_cycles"].tolist() == written["total_cycles"].tolist()
    parsed = yaml.safe_load((tmp_path / "m" / "mappings.yaml").read_text())
    again = accelsim.simulate_tree("trees/simba_like", workload, mapping=parsed)
    pd.testing.assert_frame_equal(again.accesses, pinned.accesses)
    kept = accelsim.simulate_tree("simba_like", workload, objective="cycles", pin={"layers": {"conv": {"PEs": {"x": {"M": 4}}}}})
    assert kept.mappings["conv"].unrolling_of("PEs")[0] == (("M", 4),)


def test_a_tree_chooses_its_area_table(tmp_path):
    """``area_table``: a table beside the hw file (here one with a bf16 MAC, so tpu_v4_like's MAC area
    is known and in the total); a missing one is refused naming the file and key, nothing run."""
    data = yaml.safe_load(spec.resolve("hw", "tpu_v4_like").read_text())
    table = yaml.safe_load((spec.ROOT / "hw" / "area" / "accelergy_65nm.yaml").read_text())
    table.update(name="mine", mac_um2={**table["mac_um2"], "bf16": 1000.0})
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(table))
    hw = tmp_path / "tpu.yaml"
    hw.write_text(yaml.safe_dump({**data, "area_table": "mine"}, sort_keys=False))
    workload = tmp_path / "one.yaml"
    workload.write_text(yaml.safe_dump({"name": "one", "layers": [{"name": "fc", "type": "gemm", "M": 4, "N": 16,
                                                                   "K": 32}]}))
    run("--hw", hw, "--workload", workload, "--out", tmp_path / "o")
    area = pd.read_csv(tmp_path / "o" / "area.csv").set_index("level")
    assert area.loc["MAC", "area_mm2"] == pytest.approx(65536 * 1000.0 / 1e6)
    assert area.loc["MAC", "source"].startswith("mine (") and "mac_um2.bf16 = 1000 um2" in area.loc["MAC", "source"]
    assert area.loc["total", "source"] == "sum of the levels"
    assert area.loc["total", "area_mm2"] == pytest.approx(area.loc[["CMEM", "VMEM", "MAC"], "area_mm2"].sum())
    manifest = yaml.safe_load((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["inputs"]["area_table"]["path"] == str(tmp_path / "mine.yaml")
    hw.write_text(yaml.safe_dump({**data, "area_table": "nowhere"}, sort_keys=False))
    result = CliRunner().invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--out",
                                       str(tmp_path / "bad")])
    assert result.exit_code == 1 and "Traceback" not in result.output and not (tmp_path / "bad").exists()
    assert f"{hw}: area_table: no area table 'nowhere' beside the file or in hw/area/ (built-in: accelergy_65nm)" \
        in result.output
