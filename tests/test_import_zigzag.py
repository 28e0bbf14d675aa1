"""`accelsim import zigzag`: ZigZag 3.9.1's shipped hardware files (tests/data/zigzag, copied from
KULeuven-MICAS/zigzag) read into accelsim's architecture tree."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from accelsim import spec
from accelsim.cli import main
from accelsim.errors import AccelsimError
from accelsim.importers.zigzag import import_zigzag

DATA = Path(__file__).parent / "data" / "zigzag"
MAPPING = {"eyeriss_like": "default", "meta_prototype": "meta_prototype_like"}
HARDWARE = ("tpu_like", "eyeriss_like", "edge_tpu_like", "ascend_like", "meta_prototype")


def _import(name):
    return import_zigzag(DATA / "hardware" / f"{name}.yaml", DATA / "mapping" / f"{MAPPING.get(name, name)}.yaml")


@pytest.mark.parametrize("name", HARDWARE)
def test_every_shipped_hardware_imports_as_a_valid_tree(name, tmp_path):
    result = _import(name)
    path = tmp_path / "hw.yaml"
    path.write_text(yaml.safe_dump(result.hw))
    tree = spec.load("hw", path)
    source = yaml.safe_load((DATA / "hardware" / f"{name}.yaml").read_text())
    sizes = source["operational_array"]["sizes"]
    macs = 1
    for s in sizes:
        macs *= s
    assert tree.num_macs == macs
    # one storage level per ZigZag memory, outermost (listed last in ZigZag) first
    assert [lv.name for lv in tree.storage_levels] == list(reversed(source["memories"]))


def test_tpu_like_levels_and_energies():
    """tpu_like: DRAM r_cost 700 pJ per 64-bit access -> 87.5 pJ per 8-bit word; the 2 MB SRAM's read
    port is 2048 bits wide -> 416.16 * 8 / 2048 pJ per ifmap word; per-MAC registers below a 32 x 32
    systolic array (K on D1, C on D2 in the shipped mapping)."""
    result = _import("tpu_like")
    levels = {lv["name"]: lv for lv in result.hw["levels"]}
    assert levels["dram"]["read_energy_pj"] == {"ifmap": 87.5, "filter": 87.5, "ofmap": 175.0}
    assert levels["sram_2MB"]["read_energy_pj"]["ifmap"] == pytest.approx(416.16 * 8 / 2048)
    assert levels["sram_2MB"]["operands"] == ["ifmap", "ofmap"]
    assert [lv["name"] for lv in result.hw["levels"]] == ["dram", "sram_2MB", "array_D1", "array_D2", "rf_2B",
                                                          "rf_128B", "mac"]
    assert levels["array_D1"]["interconnect"] == "systolic"
    assert result.spatial == {"array_D1": (("M", 32),), "array_D2": (("C", 32),)}
    assert result.notes == ()


def test_memory_shared_below_a_fanout_is_noted():
    """edge_tpu_like's weight register rf_1B is shared across D3, D4 while the output register rf_2B
    (outer in the tree) is not: no tree order exists, and the import says how it resolves it."""
    notes = _import("edge_tpu_like").notes
    assert len(notes) == 1 and notes[0].startswith("rf_1B: ZigZag shares it across ['D3', 'D4']")


def test_bad_hardware_problems_listed_together(tmp_path):
    source = yaml.safe_load((DATA / "hardware" / "tpu_like.yaml").read_text())
    source["memories"]["rf_128B"]["size"] = -1
    source["memories"]["dram"]["operands"] = ["I1", "X9"]
    source["memories"]["dram"]["auto_cost_extraction"] = True
    path = tmp_path / "hw.yaml"
    path.write_text(yaml.safe_dump(source))
    with pytest.raises(AccelsimError) as err:
        import_zigzag(path)
    text = str(err.value)
    assert "3 problem(s) found" in text
    assert "memories.rf_128B.size: must be an integer number of bits >= 1 (got -1)" in text
    assert "memories.dram.operands" in text and "memories.dram.auto_cost_extraction: CACTI" in text


def test_cli(tmp_path):
    out = tmp_path / "o"
    done = CliRunner().invoke(main, ["import", "zigzag", "--hardware", str(DATA / "hardware" / "edge_tpu_like.yaml"),
                                     "--mapping", str(DATA / "mapping" / "edge_tpu_like.yaml"), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "note: rf_1B" in done.output
    assert spec.load("hw", out / "hw.yaml").num_macs == 8 * 8 * 4 * 4


# ------------------------------------------------------------------------------- agreement

RUNS = sorted(p.name for p in DATA.glob("*__*.json"))
#: ZigZag runs accelsim cannot pin, and why (docs/import.md): ZigZag pads a spatial unrolling that does
#: not divide its dimension (accelsim requires perfect factorisations, as Timeloop does by default);
#: ZigZag's per-operand memory allocation can cut one operand's tiles where no single order of the
#: tree's levels does.
UNPINNABLE = {
    "ascend_like__resnet18_conv3_3x3.json": "no single level order holds this mapping",
    "eyeriss_like__resnet18_conv3_3x3.json": "no single level order holds this mapping",
    "eyeriss_like__resnet18_conv4_1x1.json": "unrolls 32 instances but array_D1 has fanout_x 14",
    "meta_prototype__resnet18_conv4_1x1.json": "no single level order holds this mapping",
}


def _pinned(run, tmp_path):
    from accelsim.loopnest.tree import evaluate_tree, tree_mapping_from_dict

    name = run.split("__")[0]
    result = import_zigzag(DATA / "hardware" / f"{name}.yaml", DATA / "mapping" / f"{MAPPING.get(name, name)}.yaml",
                           result=DATA / run)
    (tmp_path / "hw.yaml").write_text(yaml.safe_dump(result.hw))
    (tmp_path / "workload.yaml").write_text(yaml.safe_dump(result.workload))
    tree = spec.load("hw", tmp_path / "hw.yaml")
    layer = spec.load("workloads", tmp_path / "workload.yaml").layers[0]
    mapping = tree_mapping_from_dict(result.mapping, tree)
    return result, evaluate_tree(tree, layer, mapping, spec.energy_table_for(tree))


@pytest.mark.parametrize("run", [r for r in RUNS if r not in UNPINNABLE])
def test_zigzag_mapping_pinned_cycles_and_energy(run, tmp_path):
    """ZigZag's own choice of mapping, pinned: its computation cycles exactly (ZigZag counts no
    systolic fill and drain: accelsim's compute cycles less its fill and drain; the transfers ZigZag
    adds, its on-loading and off-loading, are a convention of their own, not compared), MAC energy
    exactly, DRAM energy per operand within 0.1% (ZigZag rounds transfers to its 64-bit port), total
    energy within 5%."""
    reference = json.loads((DATA / run).read_text())
    result, cost = _pinned(run, tmp_path)
    assert cost.compute_cycles - cost.fill_drain_cycles == reference["latency"]["computation"]
    assert cost.mac_energy_pj == pytest.approx(reference["energy"]["operational_energy"], rel=1e-9)
    dram = next(lv["name"] for lv in result.hw["levels"] if lv["kind"] == "storage")
    for layer_op, op in (("I", "ifmap"), ("W", "filter"), ("O", "ofmap")):
        theirs = reference["energy"]["memory_energy_breakdown_per_level"][layer_op][-1]
        assert cost.energy_pj[dram][op] == pytest.approx(theirs, rel=1e-3)
    assert cost.total_energy_pj == pytest.approx(reference["energy"]["energy_total"], rel=0.05)


@pytest.mark.parametrize("run", sorted(UNPINNABLE))
def test_unpinnable_zigzag_mappings_say_why(run, tmp_path):
    with pytest.raises(AccelsimError, match=UNPINNABLE[run]):
        _pinned(run, tmp_path)


def test_cli_pins_zigzag_result(tmp_path):
    out = tmp_path / "o"
    done = CliRunner().invoke(main, ["import", "zigzag", "--hardware", str(DATA / "hardware" / "tpu_like.yaml"),
                                     "--mapping", str(DATA / "mapping" / "tpu_like.yaml"),
                                     "--result", str(DATA / "tpu_like__resnet18_conv4_1x1.json"), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == ["hw.yaml", "mapping.yaml", "workload.yaml"]
    mapping = yaml.safe_load((out / "mapping.yaml").read_text())
    assert mapping["array_D1"] == {"x": {"M": 32}, "y": {}} and mapping["array_D2"] == {"x": {"C": 32}, "y": {}}


def test_cli_onnx_workload(tmp_path):
    import onnx
    from test_onnx_import import Net

    net = Net((1, 3, 8, 8))
    onnx.save(net.model(net.conv("conv1", "x", 3, 16, 3, pad=1)), str(tmp_path / "tiny.onnx"))
    out = tmp_path / "o"
    done = CliRunner().invoke(main, ["import", "zigzag", "--hardware", str(DATA / "hardware" / "tpu_like.yaml"),
                                     "--workload", str(tmp_path / "tiny.onnx"), "--out", str(out)])
    assert done.exit_code == 0, done.output
    layer = spec.load("workloads", out / "workload.yaml").layers[0]
    assert (layer.C, layer.M, layer.R, layer.E) == (3, 16, 3, 8)
