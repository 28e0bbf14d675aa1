"""ZigZag's counting conventions (accelsim/loopnest/conventions_zigzag.py, a tree's ``counting:
zigzag``), each against a hand computation on a tiny 1-D convolution; the ZigZag runs themselves
are compared level by level in test_import_zigzag.py."""
from __future__ import annotations

import pytest

from accelsim.errors import SpecError
from accelsim.loopnest.conventions_zigzag import ZIGZAG_CONVENTIONS, apply_zigzag, energy_by_port
from accelsim.loopnest.mapper import problem_array
from accelsim.loopnest.tree import evaluate_tree, tree_mapping_from_dict
from accelsim.spec.arch import arch_from_dict
from accelsim.spec.arch_shorthand import arch_to_dict
from accelsim.spec.workload import workload_from_dict


def _tree(counting="accelsim", ofmap_rf_bits=8, block=3):
    """DRAM -> buf (block_words 3) -> 2 instances (X) -> rf -> MAC, every operand at every level."""
    store = {"kind": "storage", "operands": ["ifmap", "filter", "ofmap"], "read_energy_pj": 1, "write_energy_pj": 1}
    return {"name": "hand", "precision": "int8", "clock_mhz": 1000, "counting": counting, "levels": [
        {"name": "DRAM", **store},
        {"name": "buf", **store, "size_words": 1024, "block_words": {"ifmap": block, "filter": block, "ofmap": block}},
        {"name": "X", "kind": "spatial", "fanout_x": 2},
        {"name": "rf", **store, "size_kib": 1, "word_bits": {"ifmap": 8, "filter": 8, "ofmap": ofmap_rf_bits}},
        {"name": "mac", "kind": "compute", "precision": "int8", "energy_pj": 0}]}


def _counts(conventions=(), counting="accelsim", **kw):
    """C = M = 2, a 4-wide row (F = 4), 1 x 1 filter: 16 MACs in 8 steps on 2 instances. buf loops
    over F (2), X unrolls F (2), rf loops over C then M (M innermost: irrelevant to the ifmap).
    ``conventions``: applied to accelsim's counts (ofmap: M x F = 8 words)."""
    tree = arch_from_dict(_tree(counting, **kw))
    layer = workload_from_dict({"name": "w", "layers": [{"name": "l", "type": "conv", "C": 2, "M": 2, "H": 1, "W": 4,
                                                         "R": 1, "S": 1}]}).layers[0]
    mapping = tree_mapping_from_dict({"buf": {"temporal": [["F", 2]]}, "X": {"x": {"F": 2}},
                                      "rf": {"temporal": [["C", 2], ["M", 2]]}}, tree)
    counts = evaluate_tree(tree, layer, mapping).counts
    if conventions:
        counts = apply_zigzag(tree, mapping, counts, 8, 1, conventions)
    return {(lv, op): (c["reads"], c["fills"], c["updates"]) for lv, ops in counts.items() for op, c in ops.items()}


def test_accelsim_counts_without_conventions():
    """The base the conventions start from. rf: every MAC reads its ifmap and filter word (16); the
    ofmap gets 16 updates, 8 of them read back (the first of each of the 8 output words needs no
    read) plus 8 drains to buf (2 words per instance, moved for each of buf's 2 F trips)."""
    c = _counts()
    assert c[("rf", "ifmap")] == (16, 8, 0) and c[("rf", "filter")] == (16, 8, 0)
    assert c[("rf", "ofmap")] == (16, 0, 16)
    assert c[("buf", "ifmap")] == (8, 8, 0) and c[("buf", "filter")] == (4, 4, 0)
    assert c[("buf", "ofmap")] == (8, 0, 8)


def test_stationary_reads():
    """The innermost loop, M (2), does not index the ifmap: ZigZag reads each ifmap word from rf once
    for both M iterations, 16 / 2 = 8 reads; the filter (indexed by M) keeps 16; nothing else moves."""
    base, c = _counts(), _counts(["zigzag_stationary_reads"])
    assert c[("rf", "ifmap")] == (8, 8, 0) and c[("rf", "filter")] == (16, 8, 0)
    assert {k: v for k, v in c.items() if k != ("rf", "ifmap")} == {k: v for k, v in base.items() if k != ("rf", "ifmap")}


def test_psum_reads():
    """rf holds partial sums (C is its loop): ZigZag reads the old value for all 16 updates, the first
    included, plus the 8 drains: 24. buf holds only final outputs: no read-back, no refill."""
    c = _counts(["zigzag_psum_reads"])
    assert c[("rf", "ofmap")] == (24, 0, 16)
    assert c[("buf", "ofmap")] == (8, 0, 8)


def test_psum_drains_at_the_final_width():
    """rf keeps 16-bit partial sums, buf 8-bit outputs: each drain transfer (2 words per instance, 2
    instances x 2 F trips = 4 transfers) moves 2 x 8 / 16 = 1 rf word: 4, plus the 16 read-backs."""
    assert _counts(["zigzag_psum_reads"], ofmap_rf_bits=16)[("rf", "ofmap")] == (20, 0, 16)


def test_transfer_rounding():
    """buf moves blocks of 3 words. ifmap to rf: 2 transfers (buf's F trips) of 4 words (C 2 x the two
    instances' F) -> 2 blocks each, 12; from DRAM: 1 transfer of 8 -> 9. filter to rf: 1 transfer of
    4 (F does not index it: one multicast tile) -> 6; fill 4 -> 6. ofmap from rf: 2 transfers of 4
    -> 12 updates; drained to DRAM: 1 transfer of 8 -> 9. rf and DRAM move single words: unchanged."""
    base, c = _counts(), _counts(["zigzag_transfer_rounding"])
    assert c[("buf", "ifmap")] == (12, 9, 0)
    assert c[("buf", "filter")] == (6, 6, 0)
    assert c[("buf", "ofmap")] == (9, 0, 12)
    assert all(c[k] == base[k] for k in base if k[0] != "buf")
    assert _counts(["zigzag_transfer_rounding"], block=4) == base      # every transfer whole blocks of 4


def test_counting_zigzag_applies_all_four():
    """The four together, as a tree's ``counting: zigzag`` applies them; writes = fills + updates."""
    c = _counts(counting="zigzag")
    assert c == _counts(ZIGZAG_CONVENTIONS)
    assert c[("rf", "ifmap")] == (8, 8, 0) and c[("rf", "ofmap")] == (24, 0, 16) and c[("buf", "ifmap")] == (12, 9, 0)


def test_counting_validated_and_written_back():
    with pytest.raises(SpecError) as err:
        arch_from_dict(_tree("zigzg"), "t.yaml")
    assert "counting" in str(err.value) and "zigzag" in str(err.value)
    again = arch_from_dict(arch_to_dict(arch_from_dict(_tree("zigzag"))))
    assert again.counting == "zigzag"
    assert again.level("buf").block("ifmap") == 3 and again.level("rf").block("ofmap") == 1


def test_groups_as_a_loop_count_as_groups_run_one_by_one():
    """A grouped layer (2 groups of C = M = 2) mapped with its groups as DRAM's outermost loop counts
    as the same nest run once per group, under every ZigZag convention (the partial-sum partition
    covers both groups)."""
    tree = arch_from_dict(_tree("zigzag"))
    layer = workload_from_dict({"name": "w", "layers": [{"name": "l", "type": "conv", "C": 4, "M": 4, "H": 1, "W": 4,
                                                         "R": 1, "S": 1, "groups": 2}]}).layers[0]
    loops = {"buf": {"temporal": [["F", 2]]}, "X": {"x": {"F": 2}}, "rf": {"temporal": [["C", 2], ["M", 2]]}}
    def counts(mapping):
        cost = evaluate_tree(tree, layer, tree_mapping_from_dict(mapping, tree))
        return {(lv, op): (c["reads"], c["fills"], c["updates"]) for lv, ops in cost.counts.items() for op, c in ops.items()}

    each = counts(loops)
    assert counts({**loops, "DRAM": {"temporal": [["G", 2]]}}) == each
    assert each[("rf", "ofmap")] == (2 * 24, 0, 2 * 16) and each[("buf", "ifmap")] == (2 * 12, 2 * 9, 0)


def test_fractional_unrolling():
    """F = 3 unrolled 2-way on X and run ceil(3 / 2) = 2 times by buf: ZigZag unrolls it 3 / 2 = 1.5-fold
    (2 instances, rounded) for 8 steps (F 2 x C 2 x M 2) where 12 MACs are live. rf: 1 word a step per
    instance, 8 x 2 = 16 reads of each input and 16 output updates (accelsim: the 12 live MACs'); ifmap
    fills, one 2-channel column per buf trip per instance, 2 x 2 x 2 = 8 (accelsim: 6, the 3 columns').
    buf reads 2 ifmap words a trip: the 1.5 columns below span int(1.5) = 1 input column (x 2 channels),
    4 in all; its fill is the whole 3-column row, 6. Outputs: 1.5 columns (rounded, 2) x 2 filters a
    trip into buf, 8 updates; rf's 16 read-backs (it holds partial sums) and 8 drains, 24 reads."""
    tree = arch_from_dict(_tree())
    layer = workload_from_dict({"name": "w", "layers": [{"name": "l", "type": "conv", "C": 2, "M": 2, "H": 1, "W": 3,
                                                         "R": 1, "S": 1}]}).layers[0]
    mapping = tree_mapping_from_dict({"buf": {"temporal": [["F", 2]]}, "X": {"x": {"F": 2}},
                                      "rf": {"temporal": [["C", 2], ["M", 2]]}}, tree)
    counts = evaluate_tree(tree, layer, mapping).counts

    def table(options, problem=problem_array(layer, dilated_windows=True)):
        out = apply_zigzag(tree, mapping, counts, 6, 1, options, problem)
        return {(lv, op): (c["reads"], c["fills"], c["updates"]) for lv, ops in out.items() for op, c in ops.items()}

    base, c = table(["zigzag_psum_reads"]), table(["zigzag_psum_reads", "zigzag_fractional_unrolling"])
    assert base[("rf", "ifmap")] == (12, 6, 0) and base[("rf", "ofmap")] == (12 + 6, 0, 12)
    changed = {("rf", "ifmap"): (16, 8, 0), ("rf", "filter"): (16, 8, 0), ("buf", "ifmap"): (4, 6, 0),
               ("rf", "ofmap"): (24, 0, 16), ("buf", "ofmap"): (6, 0, 8)}
    assert {k: v for k, v in c.items() if v != base[k]} == changed
    # without the layer's sizes (or with an unrolling that divides them) nothing is fractional
    assert table(["zigzag_psum_reads", "zigzag_fractional_unrolling"], None) == base


def test_shared_register_counts_once_for_its_copies():
    """F = 6 unrolled 4-way on X, run twice by buf: ZigZag's unrolling is 6 / 2 = 3.0, 3 instances of
    rf (rounded) whose 8 steps read 24 filter words, the live MACs'. Marked ``shared_across: [X]``, rf
    is one ZigZag memory above X copied 4 times: each step reads it once for all 4 copies, 8 x 4 = 32
    filter words (as copies' words), the fills 4 filter words (C 2 x M 2) to all 4 copies, 16 (not 12);
    the ifmap, which X's F indexes, 3 columns a step for the copies: 8 x 3 x 4 = 96 copy words, each
    charged 1/4 of an access by the import, ZigZag's 24 accesses."""
    layer = workload_from_dict({"name": "w", "layers": [{"name": "l", "type": "conv", "C": 2, "M": 2, "H": 1, "W": 6,
                                                         "R": 1, "S": 1}]}).layers[0]

    def table(shared):
        data = _tree()
        data["levels"][2]["fanout_x"] = 4
        if shared:
            data["levels"][3]["shared_across"] = ["X"]
        tree = arch_from_dict(data)
        mapping = tree_mapping_from_dict({"buf": {"temporal": [["F", 2]]}, "X": {"x": {"F": 4}},
                                          "rf": {"temporal": [["C", 2], ["M", 2]]}}, tree)
        counts = apply_zigzag(tree, mapping, evaluate_tree(tree, layer, mapping).counts, 12, 1,
                              ["zigzag_fractional_unrolling"], problem_array(layer, dilated_windows=True))
        return {op: (c["reads"], c["fills"]) for op, c in counts["rf"].items()}

    assert table(False)["filter"] == (24, 12) and table(True)["filter"] == (32, 16)
    assert table(False)["ifmap"][0] == 24 and table(True)["ifmap"][0] == 96


def test_shared_across_names_spatial_levels_above():
    data = _tree()
    data["levels"][1]["shared_across"] = ["X"]         # buf sits above X
    data["levels"][3]["shared_across"] = ["Y"]
    with pytest.raises(SpecError) as err:
        arch_from_dict(data, "t.yaml")
    text = str(err.value)
    assert "levels[1].shared_across: 'X' is not a spatial level above buf" in text
    assert "levels[3].shared_across: 'Y' is not a spatial level above rf" in text and "spatial levels above it: X" in text
    data["levels"][1].pop("shared_across")
    data["levels"][3]["shared_across"] = ["X"]
    assert arch_from_dict(arch_to_dict(arch_from_dict(data))).level("rf").shared_across == ("X",)


def test_transfer_rounding_keeps_whole_port_accesses():
    """With buf's writes from DRAM through a 32-bit port (4 8-bit words an access), the ifmap fill
    rounded to 3 blocks of 3 words (9 words) is 2.25 port accesses, which ZigZag truncates to 2: 8
    words (``_calc_memory_access``'s ``int()`` of the total); the reads to rf, 12 words through a
    64-bit port, 1.5 accesses, likewise 8."""
    data = _tree()
    data["levels"][1]["port_map"] = [{"bits_per_cycle": 32, "serves": ["ifmap.from_above"]},
                                     {"bits_per_cycle": 64, "serves": ["ifmap.to_below"]}]
    tree = arch_from_dict(data)
    layer = workload_from_dict({"name": "w", "layers": [{"name": "l", "type": "conv", "C": 2, "M": 2, "H": 1, "W": 4,
                                                         "R": 1, "S": 1}]}).layers[0]
    mapping = tree_mapping_from_dict({"buf": {"temporal": [["F", 2]]}, "X": {"x": {"F": 2}},
                                      "rf": {"temporal": [["C", 2], ["M", 2]]}}, tree)
    counts = evaluate_tree(tree, layer, mapping).counts
    out = apply_zigzag(tree, mapping, counts, 8, 1, ["zigzag_transfer_rounding"])["buf"]["ifmap"]
    assert (out["reads"], out["fills"]) == (8, 8)


def test_energy_by_port_prices_each_direction_at_its_port():
    """buf reads partial sums back and drains outputs through different ports (64 and 16 bits): a
    drained word costs 64 / 16 = 4 times the read energy, which is priced at the port toward the level
    below; fills through a 32-bit port where updates use the 64-bit one cost 2 times the write energy.
    buf's outputs: 8 drains (reads to above) and 8 updates (the hand case of test_accelsim_counts_
    without_conventions): 8 x 4 x 1 + 8 x 1 = 40 pJ, where one read energy would give 16."""
    data = _tree()
    data["levels"][1]["port_map"] = [{"bits_per_cycle": 64, "serves": ["ofmap.to_below", "ofmap.from_below"]},
                                     {"bits_per_cycle": 16, "serves": ["ofmap.to_above"]},
                                     {"bits_per_cycle": 32, "serves": ["ofmap.from_above"]}]
    tree = arch_from_dict(data)
    layer = workload_from_dict({"name": "w", "layers": [{"name": "l", "type": "conv", "C": 2, "M": 2, "H": 1, "W": 4,
                                                         "R": 1, "S": 1}]}).layers[0]
    mapping = tree_mapping_from_dict({"buf": {"temporal": [["F", 2]]}, "X": {"x": {"F": 2}},
                                      "rf": {"temporal": [["C", 2], ["M", 2]]}}, tree)
    drained = {}
    counts = apply_zigzag(tree, mapping, evaluate_tree(tree, layer, mapping).counts, 8, 1, ["zigzag_psum_reads"],
                          drained=drained)
    assert drained[("buf", "ofmap")] == 8 and counts["buf"]["ofmap"]["reads"] == 8
    energy = energy_by_port(tree, counts, drained, lambda lv, op: (1.0, 1.0))
    assert energy["buf"]["ofmap"] == 8 * 4 + 8
    counts["buf"]["ofmap"]["fills"] = 3          # a refill from DRAM, through the 32-bit port
    assert energy_by_port(tree, counts, drained, lambda lv, op: (1.0, 1.0))["buf"]["ofmap"] == 8 * 4 + 3 * 2 + 8
    assert energy["rf"]["ofmap"] == sum(counts["rf"]["ofmap"][k] for k in ("reads", "fills", "updates"))
