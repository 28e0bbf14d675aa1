"""The tree mapper on systolic arrays (accelsim/loopnest/systolic.py's tree_mapping and
dataflow_tree, ``accelsim run --map-tiles``): a systolic dataflow's fixed tiling, written as a
mapping of the preset's tree, has the systolic engine's counts (exactly, or by the documented
conventions: padding positions are not read, and an input re-fetched per tile counts each tile's
window), and the mapper's tiling under the same unrolling is never worse than it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from accelsim import model, spec
from accelsim.cli import main
from accelsim.loopnest.systolic import dataflow_tree, tree_mapping
from accelsim.loopnest.tree import evaluate_tree
from accelsim.loopnest.tree_mapper import map_layer
from accelsim.spec.arch_shorthand import expand
from accelsim.spec.workload import workload_from_dict

HW = spec.load("hw", "edge_16x16")
TREE = expand(HW)
TABLE = spec.energy_table_for(TREE, None)
LAYERS = {
    "gemm": {"type": "gemm", "M": 64, "N": 96, "K": 32},
    "conv": {"type": "conv", "C": 32, "H": 10, "W": 10, "M": 32, "R": 3, "S": 3},
    "strided": {"type": "conv", "C": 16, "H": 18, "W": 18, "M": 48, "R": 3, "S": 3, "stride": 2},
    "depthwise": {"type": "conv", "C": 32, "H": 16, "W": 16, "M": 32, "R": 3, "S": 3, "groups": 32},
    "small": {"type": "gemm", "M": 8, "N": 12, "K": 4},
    "ragged": {"type": "gemm", "M": 64, "N": 100, "K": 40},      # partial last folds: 100 = 7 x 16 - 12
}
#: (layer, dataflow) pairs whose fixed tiling is a tree mapping with exactly the engine's counts
EXACT = [(name, df) for name in LAYERS for df in ("ws", "os", "is")
         if (name, df) not in {("conv", "is"), ("strided", "is"), ("depthwise", "os"), ("depthwise", "is")}]


def one(name, **extra):
    data = {"name": name, **LAYERS.get(name, {}), **extra}
    workload = workload_from_dict({"name": "w", "layers": [data]}, "w.yaml")
    return workload, workload.layers[0]


def counts(cost):
    """The systolic engine's columns from a tree cost (its GlobalBuffer ofmap reads include the
    words drained to DRAM, which the systolic engine's sram_ofmap_reads leave out)."""
    glb, dram = cost.counts["GlobalBuffer"], cost.counts["DRAM"]
    return {"sram_ifmap_reads": glb["ifmap"]["reads"], "sram_filter_reads": glb["filter"]["reads"],
            "sram_ofmap_writes": glb["ofmap"]["updates"],
            "sram_ofmap_reads": glb["ofmap"]["reads"] - dram["ofmap"]["updates"],
            "dram_ifmap_reads": dram["ifmap"]["reads"], "dram_filter_reads": dram["filter"]["reads"],
            "dram_ofmap_writes": dram["ofmap"]["updates"], "dram_ofmap_reads": dram["ofmap"]["reads"]}


def systolic_row(workload, dataflow):
    return model.simulate(HW, workload, spec.load("dataflows", dataflow)).iloc[0]


@pytest.mark.parametrize("name,dataflow", EXACT)
def test_dataflow_tiling_on_the_tree_has_the_systolic_engines_counts(name, dataflow):
    workload, layer = one(name)
    mapping = tree_mapping(layer, HW, spec.load("dataflows", dataflow), TREE)
    assert mapping is not None
    cost = evaluate_tree(TREE, layer, mapping, TABLE)
    row = systolic_row(workload, dataflow)
    assert counts(cost) == {key: int(row[key]) for key in counts(cost)}
    # the same folds (the stationary operand's tile per fold) and fill and drain per fold
    assert (cost.compute_cycles, cost.fill_drain_cycles) == (row.compute_cycles, row.fill_drain_cycles)
    assert cost.macs == row.macs


def test_padding_positions_are_the_only_difference_in_ifmap_reads():
    """A padded conv: the systolic engine streams im2col words, zero padding included; the tree
    reads only positions inside the input. The difference is the padded (e, f, r, s) positions x
    C x column folds, counted here by hand."""
    workload, layer = one("conv", padding=1)
    mapping = tree_mapping(layer, HW, spec.load("dataflows", "ws"), TREE)
    got = counts(evaluate_tree(TREE, layer, mapping, TABLE))
    row = systolic_row(workload, "ws")
    e = np.arange(layer.E)[:, None, None, None] + np.arange(layer.R)[None, None, :, None] - 1
    f = np.arange(layer.F)[None, :, None, None] + np.arange(layer.S)[None, None, None, :] - 1
    padded = int(((e < 0) | (e >= layer.H) | (f < 0) | (f >= layer.W)).sum())
    col_folds = layer.M // HW.array_cols
    assert got["sram_ifmap_reads"] + padded * layer.C * col_folds == row.sram_ifmap_reads
    assert {k: v for k, v in got.items() if k != "sram_ifmap_reads"} == \
        {k: int(row[k]) for k in got if k != "sram_ifmap_reads"}


@pytest.mark.parametrize("name", ["conv", "strided"])
def test_input_stationary_tiles_refetch_their_windows(name):
    """Input stationary splits the output pixels over the columns: each column fold fetches its own
    ifmap window, halo included (the tree's count), where the systolic engine caps a pass at the
    unique input words; every other count agrees."""
    workload, layer = one(name)
    mapping = tree_mapping(layer, HW, spec.load("dataflows", "is"), TREE)
    got = counts(evaluate_tree(TREE, layer, mapping, TABLE))
    row = systolic_row(workload, "is")
    assert got["dram_ifmap_reads"] > row.dram_ifmap_reads
    assert {k: v for k, v in got.items() if k != "dram_ifmap_reads"} == \
        {k: int(row[k]) for k in got if k != "dram_ifmap_reads"}


def test_tilings_outside_the_mapspace_are_none():
    _, layer = one("conv", padding=1)
    # output stationary: 100 output pixels on 16 rows leave a partial fold
    assert tree_mapping(layer, HW, spec.load("dataflows", "os"), TREE) is None
    # weight stationary on a layer whose inputs stay whole while partial sums spill per row fold
    _, big = one("big", type="conv", C=64, H=56, W=56, M=64, R=3, S=3, padding=1)
    assert tree_mapping(big, HW, spec.load("dataflows", "ws"), TREE) is None


@pytest.mark.parametrize("name,dataflow", [("conv", "ws"), ("conv", "is"), ("strided", "os"), ("gemm", "ws")])
@pytest.mark.parametrize("objective", ["cycles", "energy"])
def test_mapped_tiling_is_never_worse_than_the_dataflows(name, dataflow, objective):
    _, layer = one(name)
    df = spec.load("dataflows", dataflow)
    tree = dataflow_tree(TREE, df)
    fixed_mapping = tree_mapping(layer, HW, df, tree)
    fixed = evaluate_tree(tree, layer, fixed_mapping, TABLE)
    for limit in (200_000, 0):
        result = map_layer(tree, layer, TABLE, objective, starts=(fixed_mapping,), exhaustive_limit=limit)
        got, want = (result.cost.total_cycles, result.cost.total_energy_pj), (fixed.total_cycles,
                                                                              fixed.total_energy_pj)
        if objective == "energy":
            got, want = got[::-1], want[::-1]
        assert got <= want
        x, y = result.mapping.unrolling_of("PEArray")
        assert {d for d, _ in x} <= set(df.cols) and {d for d, _ in y} <= set(df.rows)


def test_run_map_tiles_on_a_preset_and_its_tree_form(tmp_path):
    workload = tmp_path / "w.yaml"
    workload.write_text(yaml.safe_dump({"name": "w", "layers": [
        {"name": "conv1", **LAYERS["conv"]}, {"name": "fc", **LAYERS["gemm"]}, {"name": "fc2", **LAYERS["ragged"]}]}))
    runner = CliRunner()
    tables = []
    for hw in ("edge_16x16", str(spec.ROOT / "hw" / "trees" / "edge_16x16.yaml")):
        out = tmp_path / f"out{len(tables)}"
        result = runner.invoke(main, ["run", "--hw", hw, "--workload", str(workload), "--dataflow", "ws",
                                      "--map-tiles", "--objective", "energy", "--out", str(out)])
        assert result.exit_code == 0, result.output
        layers = pd.read_csv(out / "layers.csv")
        assert (layers["dataflow"] == "mapper (ws unrolling)").all()
        assert layers["dataflow_tiling_in_mapspace"].tolist() == [True, True, False]
        inside = layers[layers["dataflow_tiling_in_mapspace"]]
        assert (inside["energy_pj"] <= inside["dataflow_tiling_energy_pj"] * (1 + 1e-12)).all()
        assert layers["dataflow_tiling_energy_pj"].notna().all()
        chosen = yaml.safe_load((out / "mappings.yaml").read_text())["layers"]
        for mapping in chosen.values():
            assert {d for d, _ in mapping["PEArray"]["x"]} <= {"M"}
            assert {d for d, _ in mapping["PEArray"]["y"]} <= {"C", "R", "S"}
        tables.append(layers)
    assert tables[0]["energy_pj"].tolist() == tables[1]["energy_pj"].tolist()
    free = runner.invoke(main, ["run", "--hw", "edge_16x16", "--workload", str(workload), "--map-tiles",
                                "--objective", "energy", "--out", str(tmp_path / "free")])
    assert free.exit_code == 0, free.output
    bad = runner.invoke(main, ["run", "--hw", "eyeriss", "--workload", str(workload), "--dataflow", "rs",
                               "--map-tiles"])
    assert bad.exit_code == 1 and "--map-tiles keeps a systolic dataflow's unrolling" in bad.output
    assert "Traceback" not in bad.output
    unused = runner.invoke(main, ["run", "--hw", "edge_16x16", "--workload", str(workload), "--dataflow", "ws",
                                  "--map-tiles", "--timing", "scalesim"])
    assert unused.exit_code == 2 and "--timing" in unused.output
    gpu = runner.invoke(main, ["run", "--hw", "h200", "--workload", str(workload), "--map-tiles"])
    assert gpu.exit_code == 2 and "--map-tiles: not used by a GPU device run" in gpu.output
