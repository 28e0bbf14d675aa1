"""Architecture trees (accelsim/spec/arch.py): the format, its validation rules (one negative test
each), the shorthand's expansion and contraction, and identical numbers for a preset and its tree."""
from __future__ import annotations

import copy
import math

import pytest
import yaml
from click.testing import CliRunner

import accelsim
from accelsim import spec
from accelsim.cli import main
from accelsim.errors import AccelsimError, SpecError
from accelsim.spec.arch import PerOperand, arch_from_dict, load_arch, unrolling_problems
from accelsim.spec.arch_shorthand import arch_to_dict, contract, expand, shape_problems

TREES = spec.ROOT / "hw" / "trees"
ARRAY_PRESETS = [n for n in spec.builtin_names("hw") if isinstance(spec.load("hw", n), spec.Hardware)]

#: A small tree using every level kind: bypass, a shared buffer, wider partial sums, two spatial levels.
TREE = {
    "name": "t", "precision": "int8", "clock_mhz": 1000,
    "levels": [
        {"name": "DRAM", "kind": "storage", "operands": ["ifmap", "filter", "ofmap"], "bandwidth_bytes_per_cycle": 16},
        {"name": "GLB", "kind": "storage", "operands": ["ifmap", "ofmap"], "size_kib": 64, "double_buffered": True},
        {"name": "PEs", "kind": "spatial", "fanout_x": 4, "fanout_y": 2, "unroll_x": ["M"], "unroll_y": ["C", "G"]},
        {"name": "PEBuf", "kind": "storage", "operands": ["ifmap", "filter", "ofmap"],
         "size_words": {"ifmap": 16, "filter": 64, "ofmap": 8}, "word_bits": {"ofmap": 24}},
        {"name": "MAC", "kind": "compute", "accumulator_bits": 24},
    ],
}


def problems_of(data):
    with pytest.raises(SpecError) as info:
        arch_from_dict(data, "mine.yaml")
    return [str(p) for p in info.value.problems]


def edited(**changes):
    """TREE with level edits: ``changes[i] = {key: value}`` (value None deletes the key)."""
    data = copy.deepcopy(TREE)
    for key, edit in changes.items():
        level = data["levels"][int(key[1:])]
        for k, v in edit.items():
            level.pop(k, None) if v is None else level.__setitem__(k, v)
    return data


def test_tree_fields_counts_and_units():
    tree = arch_from_dict(TREE, "t.yaml")
    dram, glb, pes, buf, mac = tree.levels
    assert [lv.instances for lv in tree.levels] == [1, 1, 1, 8, 8]
    assert tree.num_macs == 8 and tree.path("filter") == (dram, buf)
    assert glb.size_bits == 64 * 1024 * 8 and glb.size_bits_by_operand is None and glb.may_bypass == ()
    assert glb.capacity_words("ifmap") == 65536 and glb.capacity_words("filter") == 0
    assert buf.word_bits == PerOperand(8, 8, 24) and buf.size_bits_by_operand == PerOperand(128, 512, 192)
    assert buf.capacity_words("ofmap") == 8 and buf.energy_class == "rf" and glb.energy_class == "sram"
    assert dram.energy_class == "dram" and math.isinf(dram.capacity_words("ofmap"))
    assert dram.bandwidth_bytes_per_cycle == 16 and math.isinf(dram.read_bandwidth_words_per_cycle)
    assert (pes.fanout, pes.unroll_x, pes.unroll_y, pes.interconnect) == (8, ("M",), ("C", "G"), "multicast")
    assert (mac.precision, mac.ifmap_bits, mac.accumulator_bits) == ("int8", 8, 24)


def test_tree_round_trips_through_yaml():
    tree = arch_from_dict(TREE, "t.yaml")
    assert arch_from_dict(yaml.safe_load(yaml.safe_dump(arch_to_dict(tree))), "t.yaml") == tree


@pytest.mark.parametrize("path", sorted(TREES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_trees_load_and_round_trip(path):
    tree = load_arch(path)
    assert tree.name == path.stem and tree.description and tree.source
    assert arch_from_dict(yaml.safe_load(yaml.safe_dump(arch_to_dict(tree))), str(path)) == tree


@pytest.mark.parametrize("name", ARRAY_PRESETS)
def test_shorthand_expands_and_contracts_back(name):
    hw = spec.load("hw", name)
    tree = expand(hw)
    assert [lv.kind for lv in tree.levels][:3] == ["storage", "storage", "spatial"]
    assert tree.levels[2].fanout_y == hw.array_rows and tree.levels[2].fanout_x == hw.array_cols
    assert tree.num_macs == hw.num_pes
    for op, buf in zip(("ifmap", "filter", "ofmap"), (hw.sram_ifmap, hw.sram_filter, hw.sram_ofmap)):
        assert tree.levels[1].capacity_words(op) == hw.buffer_words(buf)
    assert shape_problems(tree) == []
    written = yaml.safe_load(yaml.safe_dump(arch_to_dict(tree), sort_keys=False))
    again = arch_from_dict(written, hw.file)
    assert again == tree and contract(again) == hw


def test_register_file_operands_with_no_words_bypass_it():
    hw = spec.load("hw", "edge_16x16")
    from dataclasses import replace
    tree = expand(replace(hw, rf_words=(0, 4, 0)))
    assert tree.levels[3].operands == ("filter",) and contract(tree).rf_words == (0, 4, 0)
    bare = expand(replace(hw, rf_words=(0, 0, 0)))
    assert [lv.kind for lv in bare.levels] == ["storage", "storage", "spatial", "compute"]
    assert contract(bare).rf_words == (0, 0, 0)


def _same_but_text(a, b):
    from dataclasses import replace
    return replace(a, description="", source="", file="") == replace(b, description="", source="", file="")


TREE_FORMS = [p for p in sorted(TREES.glob("*.yaml")) if (spec.ROOT / "hw" / p.name).is_file()]


@pytest.mark.parametrize("path", TREE_FORMS, ids=lambda p: p.name)
def test_tree_form_of_a_preset_is_the_same_machine(path):
    """hw/trees/<preset>.yaml contracts to hw/<preset>.yaml's Hardware (all but the text), so the
    engine gives identical numbers; test_every_preset_through_its_tree... runs the tables."""
    assert len(TREE_FORMS) >= 5
    assert _same_but_text(spec.load("hw", path), spec.load("hw", path.stem))


@pytest.mark.parametrize("name,layer,mapping", [
    ("gemmini", {"C": 16, "H": 8, "W": 8, "M": 16, "R": 3, "S": 3, "padding": 1},
     {"DRAM": {"temporal": [["E", 8]]}, "Scratchpad": {"temporal": [["F", 8]]},
      "PEArray": {"x": {"M": 16}, "y": {"C": 16}}, "Accumulator": {"temporal": [["R", 3], ["S", 3]]}}),
    ("tpu_v4_like", {"C": 128, "H": 16, "W": 16, "M": 512, "R": 1, "S": 1},
     {"HBM": {"temporal": [["E", 16]]}, "VMEM": {"temporal": [["F", 16]]}, "MXUs": {"x": {"M": 4}},
      "MXU": {"x": {"M": 128}, "y": {"C": 128}}}),
])
def test_new_tree_presets_run_a_pinned_mapping(name, layer, mapping):
    from accelsim.loopnest.tree import evaluate_tree, tree_mapping_from_dict
    from accelsim.spec.workload import workload_from_dict
    tree = load_arch(TREES / f"{name}.yaml")
    lay = workload_from_dict({"name": "w", "layers": [{"name": "c", "type": "conv", **layer}]}, "w.yaml").layers[0]
    cost = evaluate_tree(tree, lay, tree_mapping_from_dict(mapping, tree), spec.energy_table_for(tree))
    assert cost.macs == lay.macs and cost.compute_cycles * tree.num_macs >= lay.macs
    # every weight comes from DRAM exactly once under these weight-reusing mappings
    first = tree.levels[0].name
    assert cost.counts[first]["filter"]["reads"] == lay.M * lay.C * lay.R * lay.S
    assert cost.total_energy_pj > 0


def same_numbers(a, b) -> bool:
    """Tables equal in every column but the mapper's wall-clock seconds."""
    timing = [c for c in a.columns if c.endswith("_seconds")]
    return a.drop(columns=timing).equals(b.drop(columns=timing))


@pytest.mark.parametrize("dataflow", ["rs", "ws_multicast", "nlr"])
def test_tree_form_gives_identical_numbers(dataflow):
    """The eyeriss preset and hw/trees/eyeriss.yaml (mapped to the exact optimum, no time limit)."""
    a = accelsim.simulate("eyeriss", "alexnet", dataflow)
    b = accelsim.simulate(str(TREES / "eyeriss.yaml"), "alexnet", dataflow)
    assert same_numbers(a, b)


@pytest.mark.parametrize("name", ARRAY_PRESETS)
def test_every_preset_through_its_tree_gives_identical_numbers(name, tmp_path):
    """Every preset written as a tree file (the expansion) and read back: identical tables for every
    zoo workload under every systolic dataflow (loop-nest dataflows: tested above and below)."""
    hw = spec.load("hw", name)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(arch_to_dict(expand(hw)), sort_keys=False))
    tree_hw = spec.load("hw", path)
    dataflows = ["ws", "os", "is"] if hw.interconnect == "systolic" else ["nlr"]
    workloads = spec.builtin_names("workloads") if hw.interconnect == "systolic" else ["alexnet"]
    for dataflow in dataflows:
        for workload in workloads:
            a = accelsim.simulate(hw, workload, dataflow)
            b = accelsim.simulate(tree_hw, workload, dataflow)
            assert same_numbers(a, b), (workload, dataflow)


# -- validation: every rule, all problems at once, file + key path + fix ------------------------------

@pytest.mark.parametrize("data,expected", [
    (edited(l1={"operands": []}), "mine.yaml: levels[1].operands: a storage level must hold at least one operand"),
    (edited(l1={"size_kib": 1 / 2048}), "mine.yaml: levels[1].size_kib: must hold at least one ifmap word (8 bits; got 4 bits)"),
    (edited(l3={"size_words": {"ifmap": 16, "filter": 64, "ofmap": 0}}), "levels[3].size_words.ofmap: must be >= 1"),
    (edited(l2={"fanout_x": 0}), "mine.yaml: levels[2].fanout_x: must be >= 1 (got 0)"),
    (edited(l3={"operands": ["ifmap", "ofmap"], "size_words": {"ifmap": 16, "ofmap": 8}},
            l0={"operands": ["ifmap", "ofmap"]}),
     "mine.yaml: levels: no storage level holds filter"),
    (edited(l0={"operands": ["ifmap", "filter"]}),
     "mine.yaml: levels[0].operands: the backing store must hold every operand; ofmap would have no path to DRAM"),
    (edited(l0={"may_bypass": ["ofmap"]}), "levels[0].may_bypass: the backing store cannot bypass ofmap"),
    (edited(l1={"may_bypass": ["filter"]}), "levels[1].may_bypass: filter is not kept here"),
    (edited(l1={"szie_kib": 4}), "levels[1].szie_kib: unknown key (did you mean 'size_kib'?)"),
    (edited(l1={"kind": "storag"}), "levels[1].kind: must be one of storage, spatial, compute (got 'storag') (did you mean 'storage'?)"),
    (edited(l1={"operands": ["ifmap", "ofmp"]}), "levels[1].operands: unknown operand 'ofmp' (did you mean 'ofmap'?)"),
    (edited(l2={"unroll_x": ["Q"]}), "levels[2].unroll_x: unknown loop dimension 'Q'"),
    (edited(l2={"unroll_x": []}), "levels[2].unroll_x: names no loop dimension, but fanout_x is 4"),
    (edited(l2={"interconnect": "mesh"}), "levels[2].interconnect: must be one of systolic, multicast, unicast"),
    (edited(l3={"size_words": 8}), "levels[3].size_words: the operands kept here have different word_bits"),
    (edited(l1={"size_kib": {"ifmap": 32, "filter": 8, "ofmap": 32}}),
     "levels[1].size_kib.filter: filter bypasses this level"),
    (edited(l1={"size_kib": {"ifmap": 32}}), "levels[1].size_kib: gives a capacity per operand but none for ofmap"),
    (edited(l1={"size_kib": None}), "levels[1].size_kib: required key is missing: give size_kib or size_words"),
    (edited(l1={"size_words": 4}), "levels[1].size_words: give the capacity once"),
    (edited(l3={"name": "GLB"}), "levels[3].name: duplicate level name 'GLB'"),
    (edited(l4={"accumulator_bits": 4}), "levels[4].accumulator_bits: must be >= the operands' 8 bits"),
    (edited(l0={"bandwidth_bytes_per_cycle": -1}), "levels[0].bandwidth_bytes_per_cycle: must be a number > 0 or"),
    (edited(l4={"kind": "storage", "operands": ["ifmap"], "size_words": 1}),
     "levels[4].kind: the last level must be the compute level"),
    (edited(l0={"kind": "spatial", "fanout_x": 2}), "levels[0].kind: the first level is the backing store"),
    (edited(l1={"ports": 0}), "mine.yaml: levels[1].ports: must be >= 1 (got 0)"),
    (edited(l1={"block_words": 0}), "mine.yaml: levels[1].block_words: must be >= 1 (got 0)"),
    (edited(l1={"read_bandwidth_words_per_cycle": 0}), "levels[1].read_bandwidth_words_per_cycle: must be a number > 0"),
    (edited(l1={"double_buffered": "yes"}), "mine.yaml: levels[1].double_buffered: must be true or false (got 'yes')"),
    (edited(l1={"area_mm2": -1}), "mine.yaml: levels[1].area_mm2: must be a number >= 0 (got -1)"),
    (edited(l2={"area_mm2": -0.5}), "mine.yaml: levels[2].area_mm2: must be a number >= 0 (got -0.5)"),
    (edited(l4={"area_mm2": "big"}), "mine.yaml: levels[4].area_mm2: must be a number >= 0 (got 'big')"),
    (edited(l4={"energy_pj": -0.2}), "mine.yaml: levels[4].energy_pj: must be a number >= 0 (got -0.2)"),
    (edited(l4={"precision": "int7"}), "levels[4].precision: must be one of int4, int8, int16, fp16, bf16, fp32 (got 'int7') (did you mean 'int8'?)"),
    (edited(l1={"read_energy_pj": -1}), "mine.yaml: levels[1].read_energy_pj: must be a number >= 0 (got -1)"),
    (edited(l1={"write_energy_pj": {"filter": 2.0}}),
     "mine.yaml: levels[1].write_energy_pj.filter: filter bypasses this level (operands: ifmap, ofmap); remove it or add filter to operands"),
    (edited(l1={"word_bits": {"filter": 16}}), "mine.yaml: levels[1].word_bits.filter: filter bypasses this level"),
    (edited(l1={"block_words": {"filter": 4}}), "mine.yaml: levels[1].block_words.filter: filter bypasses this level"),
    (edited(l2={"hop_cycles": 0}), "mine.yaml: levels[2].hop_cycles: must be >= 1 (got 0)"),
    (edited(l2={"spatial_reduction": "no"}), "mine.yaml: levels[2].spatial_reduction: must be true or false"),
    ({**TREE, "timing": "fast"}, "mine.yaml: timing: must be one of"),
    ({**TREE, "counting": "zigzg"}, "mine.yaml: counting: must be one of accelsim, timeloop, zigzag (got 'zigzg') (did you mean 'zigzag'?)"),
    ({**TREE, "levles": []}, "mine.yaml: levles: unknown key (did you mean 'levels'?)"),
    ({**TREE, "levels": [TREE["levels"][0]]}, "mine.yaml: levels: must be a list of at least two levels"),
])
def test_each_rule_is_reported_with_file_key_path_and_fix(data, expected):
    assert any(expected in p for p in problems_of(data)), problems_of(data)


def test_all_problems_reported_at_once():
    data = edited(l1={"operands": []}, l2={"fanout_x": 0}, l3={"word_bits": 0})
    found = problems_of(data)
    assert len(found) >= 3
    assert any("levels[1].operands" in p for p in found) and any("levels[2].fanout_x" in p for p in found)
    assert any("levels[3].word_bits" in p for p in found)


def test_paths_are_checked_beside_the_levels_own_problems():
    """A backing store without ofmap is reported in the same report as a bad level below it (the
    paths are read from the file's operand lists, not from the validated levels)."""
    found = problems_of(edited(l0={"operands": ["ifmap", "filter"]}, l1={"operands": ["ifmap"], "area_mm2": -1},
                               l3={"operands": ["ifmap", "filter"], "size_words": {"ifmap": 16, "filter": 64},
                                   "word_bits": 0}))
    assert any("levels[1].area_mm2" in p for p in found) and any("levels[3].word_bits" in p for p in found)
    assert any("levels[0].operands: the backing store must hold every operand; ofmap" in p for p in found)
    assert any("levels: no storage level holds ofmap" in p for p in found)
    # a level whose operand list cannot be read does not count as holding nothing
    found = problems_of(edited(l0={"operands": ["ifmap", "filter"]}, l1={"operands": "ofmap"}))
    assert not any("no storage level holds" in p for p in found)


def test_a_bad_per_operand_capacity_is_reported_once():
    found = problems_of(edited(l1={"size_kib": {"ifmap": -2, "ofmap": 32}}))
    assert any("levels[1].size_kib.ifmap: must be a number > 0" in p for p in found)
    assert not any("none for ifmap" in p for p in found), found


def test_unrolling_where_the_level_forbids_it():
    tree = arch_from_dict(TREE, "t.yaml")
    assert unrolling_problems(tree, {"PEs": {"x": {"M": 4}, "y": {"G": 2}}}, "m.yaml") == []
    found = [str(p) for p in unrolling_problems(tree, {"PEs": {"x": {"C": 2}, "y": {"C": 4}}, "PE": {}}, "m.yaml")]
    assert any("m.yaml: spatial.PEs.x.C: PEs may not unroll C across X (unroll_x: M)" in p for p in found)
    assert any("m.yaml: spatial.PEs.y: unrolls 4 instances but PEs has fanout_y 2" in p for p in found)
    assert any("spatial.PE: no spatial level named 'PE' (did you mean 'PEs'?)" in p for p in found)


def test_deeper_tree_says_what_the_engine_lacks():
    tree = load_arch(TREES / "simba_like.yaml")
    assert isinstance(spec.load("hw", TREES / "simba_like.yaml"), spec.ArchTree)
    with pytest.raises(AccelsimError, match=r"simba_like.yaml: this architecture tree is valid, but the engine so "
                                            r"far simulates trees of the shorthand's shape"):
        contract(tree)
    assert len(tree.storage_levels) == 4 and tree.num_macs == 1024
    assert tree.level("PEBuffers").capacity_words("ofmap") == 1024       # 3 KiB of 24-bit partial sums


def test_cli_validates_and_runs_trees():
    runner = CliRunner()
    ok = runner.invoke(main, ["validate", str(TREES / "simba_like.yaml"), str(TREES / "eyeriss.yaml")])
    assert ok.exit_code == 0, ok.output
    deep = runner.invoke(main, ["run", "--hw", str(TREES / "simba_like.yaml"), "--workload", "alexnet",
                                "--dataflow", "rs"])
    assert deep.exit_code == 1 and deep.output.startswith("Error: ") and "Traceback" not in deep.output
    assert "shorthand's shape" in deep.output


def test_cli_reports_every_tree_problem(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(edited(l1={"operands": []}, l2={"fanout_x": 0})))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "levels[1].operands" in result.output and "levels[2].fanout_x" in result.output


def test_cli_run_reports_every_tree_problem_without_writing(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(edited(l0={"operands": ["ifmap", "filter"]}, l1={"operands": []},
                                          l2={"fanout_x": 0}, l4={"area_mm2": -1})))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", "--hw", str(path), "--workload", "alexnet", "--out", str(out)])
    assert result.exit_code == 1 and result.output.startswith("Error: 4 problem(s) found:"), result.output
    assert "Traceback" not in result.output and not out.exists()
    for where in ("levels[1].operands", "levels[2].fanout_x", "levels[4].area_mm2", "levels[0].operands"):
        assert f"{path}: {where}" in result.output


def _one_layer_and_mapping(tmp_path, mapping):
    work = tmp_path / "w.yaml"
    work.write_text(yaml.safe_dump({"name": "w", "layers": [
        {"name": "a", "type": "conv", "C": 8, "H": 4, "W": 4, "M": 8, "R": 1, "S": 1},
        {"name": "b", "type": "conv", "C": 8, "H": 4, "W": 4, "M": 8, "R": 1, "S": 1}]}))
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(mapping))
    return work, path


def test_cli_mapping_problems_name_the_file_and_every_layer(tmp_path):
    """Unrolling where the level forbids it, in two layers' mappings: one report naming the mapping
    file and each layer's key path, exit 1, nothing written."""
    good = {"DRAM": {"temporal": [["M", 2], ["C", 8], ["E", 4], ["F", 4]]}, "PEs": {"x": {"M": 4}}}
    bad = {"DRAM": {"temporal": [["M", 8], ["E", 4], ["F", 4]]}, "PEs": {"x": {"C": 4}, "y": {"C": 2}}}
    tree = tmp_path / "t.yaml"
    tree.write_text(yaml.safe_dump(TREE))
    work, path = _one_layer_and_mapping(tmp_path, {"layers": {"a": bad, "b": {**bad, "GLB": {"temporal": [["Q", 2]]}}}})
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", "--hw", str(tree), "--workload", str(work), "--mapping", str(path),
                                       "--out", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output and not out.exists()
    assert f"{path}: layers.b: GLB.temporal: unknown loop dimension 'Q'" in result.output
    work, path = _one_layer_and_mapping(tmp_path, {"layers": {"a": bad, "b": bad}})
    result = CliRunner().invoke(main, ["run", "--hw", str(tree), "--workload", str(work), "--mapping", str(path),
                                       "--out", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output and not out.exists()
    for layer in ("a", "b"):
        assert (f"{path}: layers.{layer}: PEs.x.C: PEs may not unroll C across X (unroll_x: M); move C to a "
                "temporal loop or another level") in result.output
        assert f"{path}: layers.{layer}: PEs.y: unrolls 2 instances but PEs has fanout_y 2" not in result.output
    work, path = _one_layer_and_mapping(tmp_path, {"layers": {"a": good, "b": good}})
    result = CliRunner().invoke(main, ["run", "--hw", str(tree), "--workload", str(work), "--mapping", str(path),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output


def test_cli_pinned_unrolling_the_level_forbids_is_refused_before_the_search(tmp_path):
    """--pin with a level pinned whole: an unrolling the level forbids names the pin file and the
    layer's key path, every problem at once, before any mapping is searched."""
    tree = tmp_path / "t.yaml"
    tree.write_text(yaml.safe_dump(TREE))
    work, pin = _one_layer_and_mapping(tmp_path, {"layers": {"b": {"PEs": {"x": {"C": 2}, "y": {"M": 4}}}}})
    result = CliRunner().invoke(main, ["run", "--hw", str(tree), "--workload", str(work), "--pin", str(pin),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "mapped" not in result.output and not (tmp_path / "out").exists()
    assert f"{pin}: layers.b: PEs.x.C: PEs may not unroll C across X (unroll_x: M)" in result.output
    assert f"{pin}: layers.b: PEs.y: unrolls 4 instances but PEs has fanout_y 2" in result.output
    assert "PEs.y.M: PEs may not unroll M across Y" in result.output


def test_tree_presets_are_found_by_name_and_listed():
    """``--hw simba_like`` finds hw/trees/simba_like.yaml (no preset in hw/ has that name), ``--hw
    trees/eyeriss`` the tree form of a preset whose name hw/ has too; `list hw` shows them all and an
    unknown name lists them."""
    assert spec.resolve("hw", "simba_like") == TREES / "simba_like.yaml"
    assert spec.resolve("hw", "trees/eyeriss") == TREES / "eyeriss.yaml"
    assert spec.resolve("hw", "eyeriss") == spec.ROOT / "hw" / "eyeriss.yaml"
    assert spec.tree_preset_names() == sorted(p.stem for p in TREES.glob("*.yaml"))
    listed = CliRunner().invoke(main, ["list", "hw"])
    assert listed.exit_code == 0, listed.output
    for name in spec.tree_preset_names():
        assert f"  trees/{name} " in listed.output
    assert "DRAM [ifmap, filter, ofmap] -> GlobalBuffer 64 KiB [ifmap, ofmap] -> 4x4 PEs (multicast)" in listed.output
    with pytest.raises(AccelsimError, match=r"simba_lik: no such file and no built-in hw preset of that name "
                                            r"\(did you mean 'simba_like'\?\);.*architecture trees \(hw/trees/\): "
                                            r"edge_16x16, .*simba_like"):
        spec.resolve("hw", "simba_lik")


def test_readme_example_is_a_valid_tree():
    text = (spec.ROOT / "hw" / "README.md").read_text()
    block = text.split("## Architecture trees", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    tree = arch_from_dict(yaml.safe_load(block), "hw/README.md")
    assert tree.path("filter")[1].name == "RF" and tree.num_macs == 256


@pytest.mark.parametrize("bad", [
    edited(l1={"szie_kib": 4}),                        # unknown key in a storage level
    edited(l2={"interconnect": "mesh"}),               # unknown interconnect
    edited(l1={"operands": ["ifmap", "ofmp"]}),        # unknown operand
])
def test_schema_rejects_what_the_reader_rejects(bad):
    import json

    import jsonschema
    validator = jsonschema.Draft202012Validator(json.loads((spec.ROOT / "schemas" / "hw.json").read_text()))
    validator.validate(TREE)
    assert not validator.is_valid(bad)


def test_shorthand_run_writes_accesses_consistent_with_layers(tmp_path):
    """accelsim run --out writes accesses.csv for shorthand runs too: per level and operand, the
    layers table's counts (DRAM reads = dram_*_reads, GlobalBuffer fills = DRAM reads, ...), energy
    summing to the level columns, and the DRAM bandwidth-bound cycles."""
    import math

    import pandas as pd
    result = CliRunner().invoke(main, ["run", "--hw", "edge_16x16", "--workload", "alexnet", "--dataflow", "ws",
                                       "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    layers = pd.read_csv(tmp_path / "layers.csv")
    acc = pd.read_csv(tmp_path / "accesses.csv")
    assert list(acc.columns) == ["layer", "level", "operand", "reads", "writes", "fills", "updates", "energy_pj",
                                 "bandwidth_cycles"]
    assert set(acc["level"]) == {"DRAM", "GlobalBuffer", "PEArray", "RegisterFile"}
    first = layers.iloc[0]
    row = acc[(acc["layer"] == first["layer"])].set_index(["level", "operand"])
    assert row.loc[("DRAM", "ifmap"), "reads"] == first["dram_ifmap_reads"]
    assert row.loc[("GlobalBuffer", "filter"), "fills"] == first["dram_filter_reads"]
    assert row.loc[("GlobalBuffer", "ofmap"), "updates"] == first["sram_ofmap_writes"]
    assert row.loc[("DRAM", "ofmap"), "updates"] == first["dram_ofmap_writes"]
    assert row.loc[("RegisterFile", "ofmap"), "reads"] == first["rf_ofmap_reads"]
    level_energy = acc.groupby("layer")["energy_pj"].sum()
    assert level_energy[first["layer"]] == pytest.approx(
        first["energy_pj"] - first["energy_pj_mac"] - first["energy_pj_vector"])
    hw = spec.load("hw", "edge_16x16")
    words = sum(row.loc[("DRAM", op), "reads"] + row.loc[("DRAM", op), "writes"] for op in ("ifmap", "filter", "ofmap"))
    assert row.loc[("DRAM", "ifmap"), "bandwidth_cycles"] == math.ceil(words / (hw.dram_bandwidth_bytes_per_cycle * 8 / 8))
