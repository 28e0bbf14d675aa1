"""`accelsim import zigzag`: ZigZag 3.9.1's shipped hardware files (tests/data/zigzag, copied from
KULeuven-MICAS/zigzag) read into accelsim's architecture tree."""
from __future__ import annotations

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
