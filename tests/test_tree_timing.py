"""Cycles of tree mappings (accelsim/loopnest/tree_timing.py), hand-computed: systolic fill and
drain per fold, exposed transfers of single- and double-buffered levels, network bandwidth, and
Timeloop's throughput convention."""
from __future__ import annotations

import pytest

from accelsim.kernels.timing import fold_cycles
from accelsim.loopnest.tree import evaluate_tree, tree_mapping_from_dict
from accelsim.spec.arch import arch_from_dict
from accelsim.spec.workload import workload_from_dict

ALL = ["ifmap", "filter", "ofmap"]


def layer(**kw):
    base = {"name": "c", "type": "conv", "C": 4, "H": 4, "W": 4, "M": 4, "R": 1, "S": 1}
    return workload_from_dict({"name": "w", "layers": [{**base, **kw}]}, "w.yaml").layers[0]


def systolic_tree(timing="physical", hop=1, kept=("filter",)):
    """DRAM -> Buffer (ifmap, ofmap) -> 4 x 4 systolic array -> per-PE registers -> MAC."""
    return arch_from_dict({"name": "s", "precision": "int8", "clock_mhz": 1000, "timing": timing, "levels": [
        {"name": "DRAM", "kind": "storage", "operands": ALL},
        {"name": "Buffer", "kind": "storage", "operands": ALL, "size_kib": 64},
        {"name": "Array", "kind": "spatial", "fanout_x": 4, "fanout_y": 4, "interconnect": "systolic",
         "hop_cycles": hop},
        {"name": "Registers", "kind": "storage", "operands": list(kept), "size_words": 1},
        {"name": "MAC", "kind": "compute"}]}, "s.yaml")


def test_weight_stationary_fold_is_the_systolic_formula():
    """C = M = 4 on the array (K on the rows, M on the columns), the 16 output pixels streamed: one
    fold of t = 16 waves, 2*4 + 4 + 16 - 2 = 26 cycles ([samajdar2020] Eq. 1), 10 of them fill and
    drain."""
    tree = systolic_tree()
    mapping = tree_mapping_from_dict({"Array": {"x": {"M": 4}, "y": {"C": 4}},
                                      "Buffer": {"temporal": [["E", 4], ["F", 4]]}}, tree)
    cost = evaluate_tree(tree, layer(), mapping)
    assert cost.fill_drain_cycles == 10 and cost.compute_cycles == 26 == fold_cycles(4, 4, 16, False, False)
    assert cost.total_cycles == 26 and cost.stall_cycles == 0 and cost.binding_level == "compute"


def test_a_relevant_loop_above_the_array_starts_a_new_fold():
    """M = 8: an outer M loop of 2 changes the stationary weights: 2 folds of 16 waves, each with
    10 cycles of fill and drain; hop_cycles 2 doubles the fill and drain; a weight-irrelevant loop
    outside the streamed run (N) would not add folds."""
    tree = systolic_tree()
    mapping = tree_mapping_from_dict({"DRAM": {"temporal": [["M", 2]]}, "Array": {"x": {"M": 4}, "y": {"C": 4}},
                                      "Buffer": {"temporal": [["E", 4], ["F", 4]]}}, tree)
    cost = evaluate_tree(tree, layer(M=8), mapping)
    assert (cost.fill_drain_cycles, cost.compute_cycles) == (20, 2 * fold_cycles(4, 4, 16, False, False))
    slow = systolic_tree(hop=2)
    assert evaluate_tree(slow, layer(M=8), tree_mapping_from_dict(mapping.as_dict(), slow)).fill_drain_cycles == 40
    batch = tree_mapping_from_dict({"DRAM": {"temporal": [["N", 2]]}, "Array": {"x": {"M": 4}, "y": {"C": 4}},
                                    "Buffer": {"temporal": [["E", 4], ["F", 4]]}}, tree)
    assert evaluate_tree(tree, layer(N=2), batch).fill_drain_cycles == 10


def test_output_stationary_fold_and_scalesim_convention():
    """Outputs stay in the PEs (registers keep the ofmap): C streams (t = 4 per fold), each of the
    16 pixels / 4 = 4 pixel groups x ... folds. SCALE-Sim 3.0.0 counts t + rows + cols - 2 for it
    ([scalesim-v3] compute/systolic_compute_os.py); physical timing 2*rows + cols + t - 2."""
    layout = {"Array": {"x": {"M": 4}, "y": {"F": 4}}, "Buffer": {"temporal": [["E", 4], ["C", 4]]}}
    for timing, per_fold in (("physical", fold_cycles(4, 4, 4, True, False)), ("scalesim", fold_cycles(4, 4, 4, True, True))):
        tree = systolic_tree(timing, kept=("ofmap",))
        cost = evaluate_tree(tree, layer(), tree_mapping_from_dict(layout, tree))
        # E is relevant to the outputs: 4 folds of C 4 waves
        assert cost.compute_cycles == 4 * per_fold
    assert fold_cycles(4, 4, 4, True, False) == 14 and fold_cycles(4, 4, 4, True, True) == 10


def buffered_tree(double: bool, timing="physical"):
    return arch_from_dict({"name": "b", "precision": "int8", "clock_mhz": 1000, "timing": timing, "levels": [
        {"name": "DRAM", "kind": "storage", "operands": ALL, "bandwidth_words_per_cycle": 1},
        {"name": "Buf", "kind": "storage", "operands": ALL, "size_words": 1024, "double_buffered": double},
        {"name": "MAC", "kind": "compute"}]}, "b.yaml")


def small():
    """C = M = 2, 2 x 2 outputs, 1 x 1 filter: 16 MACs."""
    return layer(C=2, M=2, H=2, W=2)


MAPPING = {"DRAM": {"temporal": [["M", 2]]}, "Buf": {"temporal": [["C", 2], ["E", 2], ["F", 2]]}}


def test_single_buffered_level_exposes_every_transfer():
    """Buf holds one M slice: the 8 ifmap words once, 2 weights per slice (4), 4 outputs drained per
    slice (8 updates at DRAM, no read-back): 20 DRAM words at 1 word per cycle, all exposed:
    16 steps + 20 = 36."""
    tree = buffered_tree(False)
    cost = evaluate_tree(tree, small(), tree_mapping_from_dict(MAPPING, tree))
    dram = cost.counts["DRAM"]
    assert (dram["ifmap"]["reads"], dram["filter"]["reads"], dram["ofmap"]["updates"], dram["ofmap"]["reads"]) == (8, 4, 8, 0)
    assert cost.compute_cycles == 16 and cost.exposed_cycles == {"Buf": 20}
    assert cost.total_cycles == 36 and cost.stall_by_level == {"Buf": 20} and cost.binding_level == "Buf"


def test_double_buffered_level_exposes_the_first_load_and_last_drain():
    """Double-buffered: only the first tile (8 ifmap + 2 weights = 10 words) and the last output tile
    (4 words) are exposed: 16 + 14 = 30; the other 6 words move while it computes (DRAM's bound,
    20 cycles, does not bind)."""
    tree = buffered_tree(True)
    cost = evaluate_tree(tree, small(), tree_mapping_from_dict(MAPPING, tree))
    assert cost.exposed_cycles == {"Buf": 14} and cost.bandwidth_cycles["DRAM"] == 20
    assert cost.total_cycles == 30 and cost.stall_cycles == 14


def test_throughput_timing_is_timelooops_bandwidth_bound():
    """timing: throughput: no exposure; cycles = max(16 steps, DRAM's 20 accesses) = 20, the stall in
    DRAM's column."""
    tree = buffered_tree(False, "throughput")
    cost = evaluate_tree(tree, small(), tree_mapping_from_dict(MAPPING, tree))
    assert cost.exposed_cycles == {} and cost.total_cycles == 20
    assert cost.stall_by_level == {"DRAM": 4} and cost.binding_level == "DRAM"


def test_network_bandwidth_of_a_spatial_level():
    """4 MACs across M on a multicast network of 2 words per cycle, 4 steps (E 2 x F 2): the network
    delivers an ifmap word, a weight and a partial sum per MAC per step, 3 x 16 = 48 words, 24
    cycles; without a bandwidth it does not bound."""
    def tree(bw):
        pes = {"name": "PEs", "kind": "spatial", "fanout_x": 4}
        if bw:
            pes["bandwidth_words_per_cycle"] = bw
        return arch_from_dict({"name": "n", "precision": "int8", "clock_mhz": 1000, "levels": [
            {"name": "DRAM", "kind": "storage", "operands": ALL}, pes, {"name": "MAC", "kind": "compute"}]}, "n.yaml")
    mapping = {"PEs": {"x": {"M": 4}}, "DRAM": {"temporal": [["E", 2], ["F", 2]]}}
    limited = tree(2)
    cost = evaluate_tree(limited, layer(C=1, H=2, W=2), tree_mapping_from_dict(mapping, limited))
    assert cost.network_words == {"PEs": 48} and cost.bandwidth_cycles["PEs"] == 24
    assert cost.total_cycles == 24 and cost.binding_level == "PEs"
    free = tree(None)
    cost = evaluate_tree(free, layer(C=1, H=2, W=2), tree_mapping_from_dict(mapping, free))
    assert cost.total_cycles == 4 and "PEs" not in cost.bandwidth_cycles


def test_throughput_trees_do_not_contract_to_the_shorthand():
    from accelsim.spec.arch_shorthand import shape_problems
    tree = systolic_tree("throughput")
    assert any("timing: throughput" in p for p in shape_problems(tree))


@pytest.mark.parametrize("bad", [{"timing": "fast"}])
def test_unknown_timing_is_an_error(bad):
    from accelsim.errors import SpecError
    data = {"name": "b", "precision": "int8", "clock_mhz": 1000, "levels": [
        {"name": "DRAM", "kind": "storage", "operands": ALL}, {"name": "MAC", "kind": "compute"}], **bad}
    with pytest.raises(SpecError, match="timing"):
        arch_from_dict(data, "b.yaml")


def line_tree(spatial=False):
    """DRAM -> Buf -> [4 PEs across X ->] MAC, every operand kept, no bandwidth limits."""
    levels = [{"name": "DRAM", "kind": "storage", "operands": ALL},
              {"name": "Buf", "kind": "storage", "operands": ALL, "size_words": 64}]
    if spatial:
        levels.append({"name": "PEs", "kind": "spatial", "fanout_x": 4})
    return arch_from_dict({"name": "l", "precision": "int8", "clock_mhz": 1000,
                           "levels": levels + [{"name": "MAC", "kind": "compute"}]}, "l.yaml")


def column(**kw):
    """One channel, one filter, a 1 x 1 filter over a 5 x 1 input: E = 5 outputs."""
    return layer(C=1, M=1, H=5, W=1, **kw)


def test_imperfect_temporal_factorisation_counts_the_partial_tile():
    """E = 5 as DRAM E2 x Buf E3 (6 >= 5): the second tile holds 2 outputs, the sixth iteration is
    not part of the problem: 5 steps, 5 input words and 5 outputs moved once; a tile holds 3."""
    tree = line_tree()
    cost = evaluate_tree(tree, column(), tree_mapping_from_dict({"DRAM": {"temporal": [["E", 2]]},
                                                                 "Buf": {"temporal": [["E", 3]]}}, tree))
    assert cost.macs == 5 and cost.compute_cycles == 5
    buf = cost.counts["Buf"]
    assert buf["ifmap"]["fills"] == 5 and buf["ifmap"]["footprint_words"] == 3
    assert cost.counts["DRAM"]["ofmap"]["updates"] == 5 and buf["ifmap"]["reads"] == 5


def test_padded_spatial_unrolling_runs_the_partial_step():
    """E = 5 across 4 PEs, two temporal steps (8 >= 5, ZigZag's padded unrolling): the second step
    uses one PE: 2 cycles for 5 MACs."""
    tree = line_tree(spatial=True)
    cost = evaluate_tree(tree, column(), tree_mapping_from_dict({"DRAM": {"temporal": [["E", 2]]},
                                                                 "PEs": {"x": {"E": 4}}}, tree))
    assert cost.macs == 5 and cost.compute_cycles == 2
    assert cost.counts["Buf"]["ifmap"]["fills"] == 5 and cost.counts["Buf"]["ifmap"]["reads"] == 5


def test_dilated_window_counts_the_positions_it_touches():
    """R = 2 taps at dilation 2 over a 5-pixel input: E = 3 outputs reading e + 2r: the tile of
    all 3 x 2 MACs touches positions 0..4 once each, 5 words (not the 6 im2col words)."""
    tree = line_tree()
    lay = layer(C=1, M=1, H=5, W=1, R=2, S=1, dilation=2)
    assert lay.E == 3
    cost = evaluate_tree(tree, lay, tree_mapping_from_dict({"Buf": {"temporal": [["E", 3], ["R", 2]]}}, tree))
    assert cost.counts["Buf"]["ifmap"]["fills"] == 5 and cost.counts["Buf"]["ifmap"]["reads"] == 6
    assert cost.counts["Buf"]["ifmap"]["footprint_words"] == 5


def test_factorisations_that_do_not_cover_or_overshoot_are_refused():
    from accelsim.errors import SpecError
    tree = line_tree()
    bad = tree_mapping_from_dict({"DRAM": {"temporal": [["E", 2]]}, "Buf": {"temporal": [["E", 2], ["F", 2]]}}, tree)
    with pytest.raises(SpecError) as info:
        evaluate_tree(tree, column(), bad, file="m.yaml")
    text = str(info.value)
    assert "m.yaml: E: the trips and factors of E multiply to 4, less than its bound 5" in text
    assert "m.yaml: Buf.F: 2 exceeds F's bound 1 in layer c; lower it" in text


def test_groups_unrolled_in_space():
    """A depthwise layer (C = M = G = 4, 4 x 4 input, 3 x 3 filter: 36 MACs per group): mapped per
    group it runs 4 x 36 = 144 steps; with G across the 4 PEs, 36, and every count the same (144
    MACs, 16 input words and 9 weights per group from DRAM); the buffer's tile holds all groups."""
    tree = arch_from_dict({"name": "d", "precision": "int8", "clock_mhz": 1000, "levels": [
        {"name": "DRAM", "kind": "storage", "operands": ALL},
        {"name": "Buf", "kind": "storage", "operands": ALL, "size_words": 1024},
        {"name": "PEs", "kind": "spatial", "fanout_x": 4, "unroll_x": ["G", "M"]},
        {"name": "MAC", "kind": "compute"}]}, "d.yaml")
    dw = layer(C=4, M=4, H=4, W=4, R=3, S=3, groups=4)
    loops = {"Buf": {"temporal": [["E", 2], ["F", 2], ["R", 3], ["S", 3]]}}
    per_group = evaluate_tree(tree, dw, tree_mapping_from_dict(loops, tree))
    spread = evaluate_tree(tree, dw, tree_mapping_from_dict({**loops, "PEs": {"x": {"G": 4}}}, tree))
    assert per_group.macs == spread.macs == 144
    assert (per_group.compute_cycles, spread.compute_cycles) == (144, 36)
    moves = ("reads", "fills", "updates", "writes")
    for level, ops in per_group.counts.items():
        for op, c in ops.items():
            assert {k: spread.counts[level][op][k] for k in moves} == {k: c[k] for k in moves}
            # the buffer's tile now holds all four groups' words
            if level == "Buf":
                assert spread.counts[level][op]["footprint_words"] == 4 * c["footprint_words"]
    assert spread.counts["DRAM"]["ifmap"]["reads"] == 64 and spread.counts["DRAM"]["filter"]["reads"] == 36
    from accelsim.errors import SpecError
    with pytest.raises(SpecError, match=r"PEs.x.G: 4 exceeds G's bound 1 in layer c; map G only for a grouped layer"):
        evaluate_tree(tree, layer(), tree_mapping_from_dict({**loops, "PEs": {"x": {"G": 4}}}, tree), file="m.yaml")


def test_cli_runs_a_mapping_with_groups_and_partial_tiles(tmp_path):
    """accelsim run --mapping: a depthwise layer with G across the PEs and E = 5 as 2 x 3 (a partial
    last tile), a dilated layer; mappings.yaml reads back to the same accesses; a mapping of G on a
    level that may not unroll it is a clear error."""
    import pandas as pd
    import yaml
    from click.testing import CliRunner

    from accelsim.cli import main
    hw = tmp_path / "hw.yaml"
    hw.write_text(yaml.safe_dump({"name": "d", "precision": "int8", "clock_mhz": 1000, "levels": [
        {"name": "DRAM", "kind": "storage", "operands": ALL},
        {"name": "Buf", "kind": "storage", "operands": ALL, "size_kib": 4},
        {"name": "PEs", "kind": "spatial", "fanout_x": 4, "unroll_x": ["G", "M"]},
        {"name": "MAC", "kind": "compute"}]}))
    workload = tmp_path / "w.yaml"
    workload.write_text(yaml.safe_dump({"name": "w", "layers": [
        {"name": "dw", "type": "conv", "C": 4, "M": 4, "H": 7, "W": 7, "R": 3, "S": 3, "groups": 4},
        {"name": "dil", "type": "conv", "C": 2, "M": 2, "H": 9, "W": 9, "R": 3, "S": 3, "dilation": 2}]}))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(yaml.safe_dump({"layers": {
        "dw": {"PEs": {"x": {"G": 4}}, "DRAM": {"temporal": [["E", 2]]},
               "Buf": {"temporal": [["E", 3], ["F", 5], ["R", 3], ["S", 3]]}},
        "dil": {"DRAM": {"temporal": [["M", 2]]}, "Buf": {"temporal": [["C", 2], ["E", 5], ["F", 5], ["R", 3], ["S", 3]]}}}}))
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--mapping", str(mapping),
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    layers = pd.read_csv(out / "layers.csv").set_index("layer")
    # dw: 4 groups x 5 x 5 outputs x 9 taps; 5 x 5 x 9 steps (E's second tile holds 2 of the 3 rows)
    assert layers.loc["dw", "macs"] == 900 and layers.loc["dw", "compute_cycles"] == 225
    assert layers.loc["dil", "macs"] == 2 * 2 * 25 * 9
    again = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--mapping",
                                 str(out / "mappings.yaml"), "--out", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert pd.read_csv(tmp_path / "again" / "accesses.csv").equals(pd.read_csv(out / "accesses.csv"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"layers": {"dw": {"Buf": {"temporal": [["G", 4], ["E", 5], ["F", 5], ["R", 3],
                                                                          ["S", 3]]}},
                                              "dil": {"PEs": {"x": {"C": 2}}, "Buf": {"temporal": [
                                                  ["M", 2], ["E", 5], ["F", 5], ["R", 3], ["S", 3]]}}}}))
    failed = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--mapping", str(bad)])
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    assert "PEs.x.C: PEs may not unroll C across X" in failed.output


def weight_register_tree(latched: bool, double=False, words=1):
    """DRAM -> Buffer -> a 1-word weight register (filled 1 word a cycle) -> MAC."""
    reg = {"name": "WReg", "kind": "storage", "operands": ["filter"], "size_words": words,
           "write_bandwidth_words_per_cycle": 1, "latched": latched}
    if double:
        reg["double_buffered"] = True
    return {"name": "w", "precision": "int8", "clock_mhz": 1000, "levels": [
        {"name": "DRAM", "kind": "storage", "operands": ALL},
        {"name": "Buffer", "kind": "storage", "operands": ALL, "size_kib": 1},
        reg, {"name": "MAC", "kind": "compute"}]}


@pytest.mark.parametrize("latched, total, stall", [(False, 16, 8), (True, 9, 1)])
def test_latched_register_refills_without_stalling(latched, total, stall):
    """8 filters (M = 8) on one input word: the weight register takes a new word every step, 8 fills
    at 1 word a cycle. Single-buffered, each fill waits for the register to free: 8 steps + 8 = 16.
    Latched (the next word written at the clock edge that retires the current one), only the first
    word's load is exposed: 8 + 1 = 9; the register's bandwidth bound, 8 fills at 1 a cycle, stays
    below. (ZigZag's model agrees: a 1-cycle refill fits the register's 1-cycle window.)"""
    tree = arch_from_dict(weight_register_tree(latched), "w.yaml")
    mapping = tree_mapping_from_dict({"Buffer": {"temporal": [["M", 8]]}}, tree)
    cost = evaluate_tree(tree, layer(C=1, H=1, W=1, M=8), mapping)
    assert (cost.total_cycles, cost.stall_by_level.get("WReg", 0)) == (total, stall)
    assert cost.bandwidth_cycles["WReg"] == 8 and cost.compute_cycles == 8


def test_latched_is_validated_and_written_back():
    from accelsim.errors import SpecError
    from accelsim.spec.arch_shorthand import arch_to_dict

    for bad, message in ((weight_register_tree(True, double=True), "remove double_buffered or latched"),
                         (weight_register_tree(True, words=2), "holds one word of each operand")):
        with pytest.raises(SpecError, match=message):
            arch_from_dict(bad, "w.yaml")
    again = arch_from_dict(arch_to_dict(arch_from_dict(weight_register_tree(True), "w.yaml")))
    assert again.level("WReg").latched and not again.level("Buffer").latched


def test_port_map_is_validated_and_written_back():
    from accelsim.errors import SpecError
    from accelsim.spec.arch_shorthand import arch_to_dict

    data = weight_register_tree(False)
    data["levels"][1]["port_map"] = [{"bits_per_cycle": 64, "serves": ["ifmap.to_below", "filter.to_below"]},
                                     {"bits_per_cycle": 32, "serves": ["ofmap.from_below", "ofmap.to_above"]}]
    tree = arch_from_dict(data, "w.yaml")
    assert tree.level("Buffer").port_map == ((64.0, (("ifmap", "to_below"), ("filter", "to_below"))),
                                             (32.0, (("ofmap", "from_below"), ("ofmap", "to_above"))))
    assert arch_from_dict(arch_to_dict(tree)).level("Buffer").port_map == tree.level("Buffer").port_map
    data["levels"][2]["port_map"] = [{"bits_per_cycle": 0, "serves": ["filter.to_below"]},
                                     {"bits_per_cycle": 8, "serves": ["ifmap.to_below", "filter.to_belw"]},
                                     {"bits_per_cycle": 8, "serves": ["filter.from_above", "filter.from_above"]},
                                     {"bits_per_cycle": 8}]
    with pytest.raises(SpecError) as err:
        arch_from_dict(data, "w.yaml")
    text = str(err.value)
    assert "port_map[0].bits_per_cycle: must be a number > 0 (got 0)" in text
    assert "ifmap.to_below: ifmap is not kept here" in text and "'filter.to_belw'" in text
    assert "filter.from_above is served by another port already" in text
    assert "port_map[3]: must be a mapping with exactly bits_per_cycle and serves" in text
