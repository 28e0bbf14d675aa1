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
HARDWARE = ("tpu_like", "eyeriss_like", "edge_tpu_like", "ascend_like", "meta_prototype", "tesla_npu_like")


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
    # bandwidth_min 64 bits: 8-bit words move in blocks of 8, 16-bit partial sums of 4; registers word by word
    assert levels["sram_2MB"]["block_words"] == {"ifmap": 8, "ofmap": 4}
    assert levels["dram"]["block_words"] == {"ifmap": 8, "filter": 8, "ofmap": 4}
    assert "block_words" not in levels["rf_2B"] and result.hw["counting"] == "zigzag"


def test_memory_shared_below_a_fanout_is_noted():
    """edge_tpu_like's weight register rf_1B is shared across D3, D4 while the output register rf_2B
    (outer in the tree) is not: no tree order exists, and the import says how it resolves it."""
    result = _import("edge_tpu_like")
    notes = result.notes
    assert len(notes) == 1 and notes[0].startswith("rf_1B: ZigZag shares it across ['D3', 'D4']")
    # one copy per MAC of D3 x D4 (4 x 4), each charged 1/16 of the register's 0.01 pJ access
    rf = next(lv for lv in result.hw["levels"] if lv["name"] == "rf_1B")
    assert rf["read_energy_pj"] == {"filter": pytest.approx(0.01 / 16)}
    assert rf["shared_across"] == ["array_D3", "array_D4"]      # counted as one memory (counting: zigzag)


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

#: The stride-2 runs (benchmarks/zigzag_runner.py --strided): their records keep the stride, their
#: workloads (tests/data/zigzag/workload/<layer>.yaml) the dimension relations ZigZag ran.
STRIDED = sorted(p.name for p in DATA.glob("*__*.json") if "stride" in json.loads(p.read_text())["layer"])
RUNS = sorted(p.name for p in DATA.glob("*__*.json") if p.name not in STRIDED)


def _pinned(run, tmp_path):
    from accelsim.loopnest.tree import evaluate_tree, tree_mapping_from_dict

    name = run.split("__")[0]
    workload = DATA / "workload" / f"{run[:-5].split('__')[1]}.yaml" if run in STRIDED else None
    result = import_zigzag(DATA / "hardware" / f"{name}.yaml", DATA / "mapping" / f"{MAPPING.get(name, name)}.yaml",
                           workload=workload, result=DATA / run)
    (tmp_path / "hw.yaml").write_text(yaml.safe_dump(result.hw))
    (tmp_path / "workload.yaml").write_text(yaml.safe_dump(result.workload))
    tree = spec.load("hw", tmp_path / "hw.yaml")
    layer = spec.load("workloads", tmp_path / "workload.yaml").layers[0]
    mapping = tree_mapping_from_dict(result.mapping, tree)
    return result, evaluate_tree(tree, layer, mapping, spec.energy_table_for(tree))


#: ZigZag's transfer directions and its port allocation's names for them (zigzag/parser/accelerator_factory.py)
DIRECTION = {"rd_out_to_low": "tl", "rd_out_to_high": "th", "wr_in_by_high": "fh", "wr_in_by_low": "fl"}


def _zigzag_words(result, reference):
    """ZigZag's word accesses per (memory, operand) as words of the imported level: accesses x the
    port's bandwidth_max / the level's word bits (drains to a final-output parent at its bits), per
    copy of a memory imported once per MAC; reads (to below and above), fills (from above), updates
    (from below)."""
    from accelsim.importers import zigzag_files as zf
    from accelsim.importers.zigzag import _copies

    name = reference["hardware_file"].split("/")[-1]
    hw = zf.read_hardware(DATA / "hardware" / name)
    levels = {lv["name"]: lv for lv in result.hw["levels"]}
    out = {}
    for layer_op, op in (("I", "ifmap"), ("W", "filter"), ("O", "ofmap")):
        mems = [m for m in hw.memories if reference["memory_operand_links"][layer_op] in m.operands]
        for m, acc in zip(mems, reference["word_accesses"][layer_op]):
            lv = levels[m.name]
            bits = lv["word_bits"][op] if isinstance(lv["word_bits"], dict) else lv["word_bits"]
            if m.size_bits <= m.read_port_bits:          # a register: one access per word
                words = {k: v for k, v in acc.items()}
            elif m.min_port_bits % bits and bits % m.min_port_bits:     # words that do not tile an access
                words = {k: v // -(-bits // m.min_port_bits) for k, v in acc.items()}
            else:       # each direction at the port its allocation names (gemm_l1_l3's l1: 512 and 2,048 bits)
                mem_op = reference["memory_operand_links"][layer_op]
                wide = {k: (m.port(mem_op, DIRECTION[k]) or (0, m.read_port_bits if k.startswith("rd")
                                                               else m.write_port_bits))[1] for k in acc}
                words = {k: v * wide[k] // bits for k, v in acc.items()}
            pinned = {name: tuple(e["x"].items()) for name, e in result.mapping.items() if "x" in e}
            words = {k: v * _copies(hw, m, pinned) for k, v in words.items()}
            out[(m.name, op)] = {"reads": words["rd_out_to_low"] + words["rd_out_to_high"],
                                 "fills": words["wr_in_by_high"], "updates": words["wr_in_by_low"]}
    return out


@pytest.mark.parametrize("run", RUNS + STRIDED)
def test_zigzag_mapping_pinned_cycles_and_energy(run, tmp_path):
    """ZigZag's own choice of mapping, pinned: its computation steps exactly (accelsim's compute
    cycles less the systolic drain; the rest of ZigZag's latency is compared in
    test_zigzag_latency_parts), MAC energy exactly, energy per memory and operand and in total to
    1e-6 with the tree's ZigZag conventions (the import writes them)."""
    reference = json.loads((DATA / run).read_text())
    result, cost = _pinned(run, tmp_path)
    assert result.hw["counting"] == "zigzag"
    assert cost.compute_cycles - cost.fill_drain_cycles == reference["latency_parts"]["ideal_temporal_cycle"]
    assert cost.mac_energy_pj == pytest.approx(reference["energy"]["operational_energy"], rel=1e-9)
    from accelsim.importers import zigzag_files as zf
    hw = zf.read_hardware(DATA / "hardware" / reference["hardware_file"].split("/")[-1])
    for layer_op, op in (("I", "ifmap"), ("W", "filter"), ("O", "ofmap")):
        mems = [m for m in hw.memories if reference["memory_operand_links"][layer_op] in m.operands]
        for m, theirs in zip(mems, reference["energy"]["memory_energy_breakdown_per_level"][layer_op]):
            assert cost.energy_pj[m.name][op] == pytest.approx(theirs, rel=1e-6, abs=1e-6), (m.name, op)
    assert cost.total_energy_pj == pytest.approx(reference["energy"]["energy_total"], rel=1e-6)


#: ZigZag's parts as benchmarks/zigzag_runner.py records them (``latency_parts``)
ZIGZAG_PARTS = {"ideal": "ideal_temporal_cycle", "stall": "stall_slack_comb", "onloading": "data_onloading_cycle",
                "offloading": "data_offloading_cycle", "systolic_drain": "systolic_drain_cycle"}


@pytest.mark.parametrize("run", RUNS + STRIDED)
def test_zigzag_latency_parts(run, tmp_path):
    """``timing: zigzag`` (the import writes it) against ZigZag's latency, part by part, every part
    equal: the ideal steps, the port stall (``stall_slack_comb``: with K innermost, tpu_like's sram_2MB
    read port serves the input reads, the partial sums read back into the output registers every cycle
    and their drains, 782 cycles; eyeriss_like's 1,592 and 23,518; the GEMM accelerators' 4,094), the
    on-loading, the off-loading and the systolic drain (tpu_like's 31 + 31). Runs whose unrolling does
    not divide the layer (edge_tpu_like, meta_prototype and tesla_npu_like 1x1, eyeriss_like, tesla_npu_like
    3x3) are timed on ZigZag's integer unrolling (edge_tpu_like 1x1: OX, OY 3 per 4-wide dimension, 12 x
    12 of the 14 x 14 inputs loaded before the first step). The stride-2 layers on every hardware too
    (a 1x1 stride-2 filter touches 28 of the 55 input columns it spans: tpu_like on-loads 64 x 28 x 28
    8-bit words over its 64-bit DRAM port, 6,272 cycles; meta_prototype's port stall 10,969)."""
    reference = json.loads((DATA / run).read_text())
    theirs = {part: reference["latency_parts"][key] for part, key in ZIGZAG_PARTS.items()}
    result, cost = _pinned(run, tmp_path)
    assert result.hw["timing"] == "zigzag"
    assert cost.latency_parts == theirs
    assert cost.total_cycles == sum(theirs.values()) == reference["latency_parts"]["latency_total2"] \
        == sum(reference["latency"].values())
    assert cost.compute_cycles + cost.stall_cycles == cost.total_cycles


@pytest.mark.parametrize("run", RUNS + STRIDED)
def test_zigzag_per_level_accesses(run, tmp_path):
    """Level by level, operand by operand: accelsim's reads, fills and updates equal ZigZag's word
    accesses (as words of the level) under the ZigZag conventions, in every run: the padded ones
    (ZigZag's fractional unrolling: edge_tpu_like, meta_prototype and tesla_npu_like 1x1, OX and OY
    4-way over 14; tesla_npu_like 3x3, OX 28 over 8 x 4; eyeriss_like, 32 x 32 limited to its 14 x 12
    array, 256 / 19 filters and 128 / 11 channels a step) and their shared weight registers included."""
    reference = json.loads((DATA / run).read_text())
    result, cost = _pinned(run, tmp_path)
    theirs = _zigzag_words(result, reference)
    ours = {(level, op): tuple(c[k] for k in ("reads", "fills", "updates"))
            for level, ops in cost.counts.items() for op, c in ops.items()}
    theirs = {key: tuple(c[k] for k in ("reads", "fills", "updates")) for key, c in theirs.items()}
    assert ours == theirs


@pytest.mark.parametrize("run, tiles, order", [
    # ZigZag's allocation (innermost loop first) I: sram_32KB [C 64, K 8], sram_1MB_A [], dram [OY, OY, OX,
    # OX]; O: rf_2B [C 64], sram_1MB_A [K 8, OY, OY, OX, OX]: sram_1MB_A holds 2 loops for the inputs, 6
    # for the outputs; W's sram_1MB_W sits above its sram_64KB whatever loops either holds
    ("meta_prototype__resnet18_conv4_1x1.json", {"sram_1MB_A": {"ifmap": 2}, "sram_32KB": {"ifmap": 2}},
     ["dram", "sram_1MB_A", "sram_32KB", "sram_1MB_W", "sram_64KB"]),
    # I: sram_1KB_I [], sram_1MB_A [all 6]; W: rf_1B [OY 2], sram_1KB_W [C 8]; O: rf_4B [OY 2, C 8, C 16]:
    # the input buffer holds none of the loops the output registers below it hold
    ("tesla_npu_like__resnet18_conv4_1x1.json", {"sram_1KB_I": {"ifmap": 0}, "sram_1KB_W": {"filter": 2}},
     ["dram", "sram_1MB_W", "sram_1MB_A", "sram_1KB_W", "sram_1KB_I"]),
])
def test_per_operand_allocation_pinned_as_tile_loops(run, tiles, order, tmp_path):
    """Where ZigZag cuts operands' loops at one memory differently than any single order of the
    tree's levels can, the import gives the narrower operand its own tile (``tile_loops``, ZigZag's
    cut, counted from the innermost loop), and the mapping it writes reads back."""
    result, cost = _pinned(run, tmp_path)
    assert {name: e["tile_loops"] for name, e in result.mapping.items() if "tile_loops" in e} == tiles
    assert [lv["name"] for lv in result.hw["levels"] if lv["kind"] == "storage"][:5] == order
    assert cost.compute_cycles - cost.fill_drain_cycles == 8192


def test_cli_pins_zigzag_result(tmp_path):
    out = tmp_path / "o"
    done = CliRunner().invoke(main, ["import", "zigzag", "--hardware", str(DATA / "hardware" / "tpu_like.yaml"),
                                     "--mapping", str(DATA / "mapping" / "tpu_like.yaml"),
                                     "--result", str(DATA / "tpu_like__resnet18_conv4_1x1.json"), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == ["hw.yaml", "mapping.yaml", "workload.yaml"]
    mapping = yaml.safe_load((out / "mapping.yaml").read_text())
    assert mapping["array_D1"] == {"x": {"M": 32}, "y": {}} and mapping["array_D2"] == {"x": {"C": 32}, "y": {}}


@pytest.mark.parametrize("run", ["edge_tpu_like__resnet18_conv3_3x3.json", "meta_prototype__resnet18_conv4_1x1.json"])
def test_cli_import_then_run_gives_zigzags_energy(run, tmp_path):
    """``accelsim import zigzag --result`` then ``accelsim run`` on what it wrote: ZigZag's total energy
    (edge_tpu_like 3x3, 64.417 uJ; meta_prototype 1x1, pinned with per-operand tiles, its fractional
    unrolling and shared weight registers counted, 10.219 uJ), its computation cycles and
    its total latency (``timing: zigzag``); the run's ``mappings.yaml`` keeps the tiles."""
    import pandas as pd

    name = run.split("__")[0]
    imported, out = tmp_path / "imp", tmp_path / "run"
    done = CliRunner().invoke(main, ["import", "zigzag", "--hardware", str(DATA / "hardware" / f"{name}.yaml"),
                                     "--mapping", str(DATA / "mapping" / f"{MAPPING.get(name, name)}.yaml"),
                                     "--result", str(DATA / run), "--out", str(imported)])
    assert done.exit_code == 0, done.output
    done = CliRunner().invoke(main, ["run", "--hw", str(imported / "hw.yaml"), "--workload", str(imported / "workload.yaml"),
                                     "--mapping", str(imported / "mapping.yaml"), "--out", str(out)])
    assert done.exit_code == 0, done.output
    row = pd.read_csv(out / "layers.csv").iloc[0]
    reference = json.loads((DATA / run).read_text())
    assert row["energy_pj"] / reference["energy"]["energy_total"] - 1 == pytest.approx(0.0, abs=1e-6)
    assert row["compute_cycles"] - row["fill_drain_cycles"] == reference["latency"]["computation"]
    assert row["total_cycles"] == sum(reference["latency"].values())     # timing: zigzag, e.g. 112,896 + 14,400 + 2
    parts = reference["latency_parts"]
    assert (row["port_stall_cycles"], row["onloading_cycles"], row["offloading_cycles"]) == \
        (parts["stall_slack_comb"], parts["data_onloading_cycle"], parts["data_offloading_cycle"])
    written = yaml.safe_load((imported / "mapping.yaml").read_text())
    kept = yaml.safe_load((out / "mappings.yaml").read_text())["layers"][row["layer"]]
    assert {k: v["tile_loops"] for k, v in kept.items() if "tile_loops" in v} == \
        {k: v["tile_loops"] for k, v in written.items() if "tile_loops" in v}


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


@pytest.mark.parametrize("run, option, level, op, without, zigzag", [
    # K innermost: each input stays at sram_2MB's pins for the 8 K iterations
    ("tpu_like__resnet18_conv4_1x1_k_inner.json", "zigzag_stationary_reads", "sram_2MB", "ifmap", 200704, 25088),
    # 3 input words (24 bits) a cycle, each transfer rounded up to a 64-bit block of 8 words
    ("tpu_like__resnet_cifar_conv1.json", "zigzag_transfer_rounding", "sram_2MB", "ifmap", 27648, 73728),
    # every update of an output register reads it back, the first included, plus the drains
    ("tpu_like__resnet18_conv3_3x3.json", "zigzag_psum_reads", "rf_2B", "ofmap", 115605504, 118816768),
    # OX, OY 4-way over 14 run 4 times each: 3.5 each on average, whose input tile ZigZag sizes 3 x 3
    # (int(3.5)): 16 tiles of 3 x 3 pixels x 128 channels, 12 x 12 of the 14 x 14 input pixels
    ("meta_prototype__resnet18_conv4_1x1.json", "zigzag_fractional_unrolling", "dram", "ifmap", 25088, 18432),
])
def test_each_convention_is_what_a_zigzag_run_needs(run, option, level, op, without, zigzag, tmp_path):
    """Each convention, left out of the others, leaves one level's reads off ZigZag's; with it they
    equal ZigZag's word accesses (as words)."""
    from accelsim.loopnest.conventions_zigzag import ZIGZAG_CONVENTIONS, apply_zigzag
    from accelsim.loopnest.mapper import problem_array
    from accelsim.loopnest.tree import evaluate_tree, tree_mapping_from_dict

    reference = json.loads((DATA / run).read_text())
    result, _ = _pinned(run, tmp_path)
    assert _zigzag_words(result, reference)[(level, op)]["reads"] == zigzag
    hw = dict(result.hw, counting="accelsim")
    (tmp_path / "hw.yaml").write_text(yaml.safe_dump(hw))
    tree = spec.load("hw", tmp_path / "hw.yaml")
    layer = spec.load("workloads", tmp_path / "workload.yaml").layers[0]
    mapping = tree_mapping_from_dict(result.mapping, tree)
    counts = evaluate_tree(tree, layer, mapping).counts
    words = layer.N * layer.M * layer.E * layer.F
    others = [o for o in ZIGZAG_CONVENTIONS if o != option]
    problem = problem_array(layer, dilated_windows=True)
    assert apply_zigzag(tree, mapping, counts, words, 1, others, problem)[level][op]["reads"] == without
    assert apply_zigzag(tree, mapping, counts, words, 1, ZIGZAG_CONVENTIONS, problem)[level][op]["reads"] == zigzag
