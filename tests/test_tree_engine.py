"""The N-level engine (accelsim/kernels/nest.py, accelsim/loopnest/tree.py): every count against the
brute-force oracle tests/naive_tree.py on random trees and mappings; hand-computed cases; the
shorthand's shape against the two-level loop-nest kernel; validation of mappings."""
from __future__ import annotations

import random

import numpy as np
import pytest
from tree_cases import simba_pinned_case
from naive_tree import factorise, simulate

from accelsim import spec
from accelsim.errors import SpecError
from accelsim.kernels import loopnest as ln
from accelsim.kernels import nest
from accelsim.loopnest.tree import (TreeMapping, _arrays, accesses_frame, evaluate_tree,
                                    tree_mapping_from_dict)
from accelsim.spec.arch import arch_from_dict, load_arch
from accelsim.spec.arch_shorthand import expand
from accelsim.spec.workload import workload_from_dict

DIMS = ln.DIMS
OPS = ("ifmap", "filter", "ofmap")


def imperfect(n, rng):
    """n as two trips whose product is n or more: an inner trip and ceil(n / inner) (a partial last
    tile), now and then one more outer trip than needed (a tile of nothing but dead iterations)."""
    inner = rng.randint(1, n)
    return [-(-n // inner) + (1 if rng.random() < 0.15 else 0), inner]


def random_case(seed, odd=None):
    """A random tree (2-4 storage levels, 0-2 spatial levels, random bypass and networks), a small
    problem and a random mapping, as kernel arrays and oracle inputs. ``odd`` (by default half the
    seeds, drawn from a second generator so that the other seeds keep their cases): a problem with
    dilated windows and some dimensions imperfectly factorised."""
    rng = random.Random(seed)
    extra = random.Random(-1 - seed)
    odd = extra.random() < 0.5 if odd is None else odd
    problem = {"N": rng.choice([1, 2]), "M": rng.choice([1, 2, 4]), "C": rng.choice([1, 2, 3]),
               "E": rng.choice([1, 2, 4]), "F": rng.choice([1, 2]), "R": rng.choice([1, 2, 3]),
               "S": rng.choice([1, 2]), "stride_h": rng.choice([1, 2]), "stride_w": rng.choice([1, 3])}
    if odd:
        problem.update(E=extra.choice([3, 5]), M=extra.choice([3, 4, 5]), dil_h=extra.choice([1, 2]),
                       dil_w=extra.choice([1, 2]), G=extra.choice([1, 2, 3]))
    # padding: the input is what the padded windows span, less the padding (some seeds pad, and
    # some leave rows no window reads)
    for axis, e, r in (("h", "E", "R"), ("w", "F", "S")):
        pad = rng.choice([0, 0, 1, 2])
        span = (problem[e] - 1) * problem[f"stride_{axis}"] + (problem[r] - 1) * problem.get(f"dil_{axis}", 1) + 1
        problem[f"pad_{axis}"] = pad
        problem["H" if axis == "h" else "W"] = max(1, span - 2 * pad + rng.choice([0, 0, 1]))
    kinds = ["storage"]
    for _ in range(rng.randint(2, 4)):
        kinds.append(rng.choice(["storage", "storage", "spatial"]))
    kinds.append("compute")
    levels = []
    for k, kind in enumerate(kinds):
        keeps = set(OPS) if k == 0 else {op for op in OPS if rng.random() < 0.7} or {rng.choice(OPS)}
        levels.append({"kind": kind, "keeps": keeps if kind == "storage" else set(),
                       "multicast": rng.random() < 0.6, "reduction": rng.random() < 0.6})
    # assign each dim's factors to random storage / spatial levels
    slots = [i for i, kind in enumerate(kinds) if kind in ("storage", "spatial")]
    per_level = {i: [] for i in slots}
    for dim in DIMS + ("G",) * ("G" in problem):
        factors = imperfect(problem[dim], extra) if odd and extra.random() < 0.5 else factorise(problem[dim], 2, rng)
        for factor in factors:
            if factor > 1:
                per_level[rng.choice(slots)].append((dim, factor))
    rows = []
    for i in slots:
        entries = per_level[i]
        rng.shuffle(entries)
        rows += [(d, t, int(kinds[i] == "spatial"), i) for d, t in entries]
    return problem, rows, levels


def kernel_counts(problem, rows, levels, tiles=None):
    p = np.zeros(ln.PROBLEM_COLS, dtype=np.int64)
    p[:7] = [problem[d] for d in DIMS]
    p[ln.P_STRIDE_H], p[ln.P_STRIDE_W], p[ln.P_IFMAP_UNIQUE] = problem["stride_h"], problem["stride_w"], -1
    p[ln.P_IN_H], p[ln.P_IN_W], p[ln.P_PAD_H], p[ln.P_PAD_W] = problem["H"], problem["W"], problem["pad_h"], problem["pad_w"]
    p[ln.P_DIL_H], p[ln.P_DIL_W] = problem.get("dil_h", 1), problem.get("dil_w", 1)
    p[ln.P_GROUPS] = problem.get("G", 1)
    r = np.array([((DIMS + ("G",)).index(d), t, s, lv) for d, t, s, lv in rows] or [(0, 1, 0, 0)],
                 dtype=np.int64).reshape(-1, 4)
    lv = np.zeros((len(levels), nest.LEVEL_COLS), dtype=np.int64)
    for i, level in enumerate(levels):
        lv[i, nest.LV_KIND] = {"storage": 0, "spatial": 1, "compute": 2}[level["kind"]]
        lv[i, nest.LV_KEEP_MASK] = sum(1 << k for k, op in enumerate(OPS) if op in level["keeps"])
        lv[i, nest.LV_COLLAPSE_READS] = level["multicast"]
        lv[i, nest.LV_COLLAPSE_UPDATES] = level["reduction"]
    counts = np.zeros((len(levels), 3, nest.COUNT_COLS), dtype=np.int64)
    if tiles is None:
        macs = nest.evaluate_tree(p, r, len(rows), lv, len(levels), counts)
    else:
        cuts = np.full((len(levels), 3), -1, dtype=np.int64)
        for (level, op), cut in tiles.items():
            cuts[level, OPS.index(op)] = cut
        macs = nest.evaluate_tiles(p, r, len(rows), lv, len(levels), cuts, counts)
    return macs, counts


def random_tiles(seed, rows, levels):
    """Per-operand tile boundaries for a random case: down each operand's path, each storage level
    below the backing store cuts the operand's temporal rows anywhere from its parent's cut on
    (its own cut, when that is allowed, in about a third of the draws)."""
    rng = random.Random(10_000 + seed)
    tiles = {}
    for op in OPS:
        previous = 0
        for level, lv in enumerate(levels):
            if level == 0 or lv["kind"] != "storage" or op not in lv["keeps"]:
                continue
            own = next((i for i, r in enumerate(rows) if r[3] >= level), len(rows))
            cut = own if own >= previous and rng.random() < 0.35 else rng.randint(previous, len(rows))
            tiles[(level, op)] = previous = cut
    return tiles


#: seeds past the first 150 whose multicast groups span non-consecutive outputs or filter rows (the
#: kernel's position-by-position window, nest._strided_window)
STRIDED_SEEDS = (506, 855, 931, 1430)


@pytest.mark.parametrize("seed", [*range(200), *STRIDED_SEEDS])
def test_every_count_equals_the_brute_force(seed):
    problem, rows, levels = random_case(seed, False if seed in STRIDED_SEEDS else None)
    macs, counts = kernel_counts(problem, rows, levels)
    assert macs == np.prod([problem[d] for d in DIMS]) * problem.get("G", 1)
    expected = simulate(problem, rows, levels)
    for (level, op), c in expected.items():
        k = OPS.index(op)
        got = {"reads": counts[level, k, nest.C_READS], "fills": counts[level, k, nest.C_FILLS],
               "updates": counts[level, k, nest.C_UPDATES], "footprint": counts[level, k, nest.C_FOOTPRINT]}
        assert got == c, (seed, level, op, rows, levels)


@pytest.mark.parametrize("seed", [*range(200), *STRIDED_SEEDS])
def test_per_operand_tiles_equal_the_brute_force(seed):
    """Per-operand tile boundaries (a loop inside one operand's tile at a level and above another's,
    as ZigZag allocates loops): every count and footprint against the oracle, on the random cases
    above (half of them imperfect, dilated or grouped; the strided multicast groups too)."""
    problem, rows, levels = random_case(seed, False if seed in STRIDED_SEEDS else None)
    tiles = random_tiles(seed, rows, levels)
    macs, counts = kernel_counts(problem, rows, levels, tiles)
    assert macs == np.prod([problem[d] for d in DIMS]) * problem.get("G", 1)
    for (level, op), c in simulate(problem, rows, levels, tiles).items():
        k = OPS.index(op)
        got = {"reads": counts[level, k, nest.C_READS], "fills": counts[level, k, nest.C_FILLS],
               "updates": counts[level, k, nest.C_UPDATES], "footprint": counts[level, k, nest.C_FOOTPRINT]}
        assert got == c, (seed, level, op, rows, levels, tiles)


def test_own_cuts_as_tiles_count_as_without():
    """Tile boundaries at every level's own cut give the shared-cut counts exactly (fast path and
    general count agree), on the perfect random cases."""
    checked = 0
    for seed in range(60):
        problem, rows, levels = random_case(seed, False)
        own = {(level, op): next((i for i, r in enumerate(rows) if r[3] >= level), len(rows))
               for level, lv in enumerate(levels) if lv["kind"] == "storage" for op in lv["keeps"]}
        _, shared = kernel_counts(problem, rows, levels)
        _, tiled = kernel_counts(problem, rows, levels, own)
        assert (shared == tiled).all(), seed
        checked += 1
    assert checked == 60


SIMBA = load_arch(spec.ROOT / "hw" / "trees" / "simba_like.yaml")


def layer(**kw):
    base = {"name": "c", "type": "conv", "C": 8, "H": 6, "W": 6, "M": 8, "R": 3, "S": 3}
    return workload_from_dict({"name": "w", "layers": [{**base, **kw}]}, "w.yaml").layers[0]


def test_hand_counted_simba_like_layer():
    """C = M = 8, 6x6 input, 3x3 filter: E = F = 4, 8*8*9*16 = 9216 MACs. Mapping: DRAM keeps all;
    the PEs split M 2 x C 2; each PE's lanes take M 4 (x) and C 4 (y); the PE buffers iterate
    E 4, F 4, R 3, S 3 (inner)."""
    mapping = tree_mapping_from_dict({"PEs": {"x": {"M": 2}, "y": {"C": 2}},
                                      "VectorMACs": {"x": {"M": 4}, "y": {"C": 4}},
                                      "PEBuffers": {"temporal": [["E", 4], ["F", 4], ["R", 3], ["S", 3]]}}, SIMBA)
    cost = evaluate_tree(SIMBA, layer(), mapping)
    assert cost.macs == 9216 and cost.compute_cycles == 144 and cost.total_cycles >= 144
    c = cost.counts
    # every weight once from DRAM (8*8*9 = 576); weights bypass the global buffer
    assert c["DRAM"]["filter"]["reads"] == 576 and "filter" not in c["GlobalBuffer"]
    # ifmap: DRAM -> global buffer once (8*36 = 288); the global buffer multicasts each C half to the
    # 2 PEs that share it: 288 reads; the PE buffers are filled per PE: 2 copies of everything
    assert c["DRAM"]["ifmap"]["reads"] == 288 and c["GlobalBuffer"]["ifmap"]["fills"] == 288
    assert c["GlobalBuffer"]["ifmap"]["reads"] == 288 and c["PEBuffers"]["ifmap"]["fills"] == 576
    # outputs: 8*16 = 128, reduced over C in the network: 128 updates to the global buffer, no read-back
    assert c["GlobalBuffer"]["ofmap"]["updates"] == 128 and c["GlobalBuffer"]["ofmap"]["reads"] == 128
    assert c["DRAM"]["ofmap"]["updates"] == 128 and c["DRAM"]["ofmap"]["reads"] == 0
    # weight registers: R and S are the innermost loops, so every step loads each of the 1024
    # registers a new weight, and E, F outside them repeat that: 576 weights x 16 (E, F) = 9216
    assert c["WeightRegisters"]["filter"]["fills"] == 1024 * 9
    frame = accesses_frame("c", cost)
    assert list(frame.columns)[:4] == ["layer", "level", "operand", "reads"] and len(frame) == 9


def test_mapping_rules_are_reported_together():
    bad = tree_mapping_from_dict({"PEs": {"x": {"R": 2}}, "PEBuffers": {"temporal": [["E", 4], ["F", 3]]}}, SIMBA)
    with pytest.raises(SpecError) as info:
        evaluate_tree(SIMBA, layer(), bad, file="m.yaml")
    text = str(info.value)
    assert "m.yaml: PEs.x.R: PEs may not unroll R across X" in text
    assert "m.yaml: F: the trips and factors of F multiply to 3, less than its bound 4" in text
    with pytest.raises(SpecError, match=r"PEBufers: no storage or spatial level named 'PEBufers' \(did you mean 'PEBuffers'\?\)"):
        tree_mapping_from_dict({"PEBufers": {"temporal": []}}, SIMBA)


def test_capacity_is_checked_per_partition():
    whole = tree_mapping_from_dict({"VectorMACs": {"x": {"M": 8}, "y": {"C": 8}},
                                    "PEBuffers": {"temporal": [["E", 4], ["F", 4], ["R", 3], ["S", 3]]}}, SIMBA)
    big = layer(C=8, H=130, W=130, M=8, R=3, S=3)
    mapping = tree_mapping_from_dict({"VectorMACs": {"x": {"M": 8}, "y": {"C": 8}},
                                      "PEBuffers": {"temporal": [["E", 128], ["F", 128], ["R", 3], ["S", 3]]}}, SIMBA)
    with pytest.raises(SpecError, match=r"PEBuffers.ifmap: layer c: the ifmap tile needs \d+ bits but PEBuffers holds 65536"):
        evaluate_tree(SIMBA, big, mapping)
    assert evaluate_tree(SIMBA, layer(), whole).macs == 9216


def test_bandwidth_binds_and_names_the_level():
    data = {"name": "t", "precision": "int8", "clock_mhz": 1000, "levels": [
        {"name": "DRAM", "kind": "storage", "operands": ["ifmap", "filter", "ofmap"], "bandwidth_words_per_cycle": 1},
        {"name": "MAC", "kind": "compute"}]}
    tree = arch_from_dict(data, "t.yaml")
    cost = evaluate_tree(tree, layer(M=2, C=2), TreeMapping(temporal=(("DRAM", (("M", 2), ("C", 2), ("E", 4),
                                                                                  ("F", 4), ("R", 3), ("S", 3))),)))
    # every MAC reads an ifmap and a weight word from DRAM and updates an output: 3 x 576 - first reads
    c = cost.counts["DRAM"]
    assert c["ifmap"]["reads"] == 576 and c["filter"]["reads"] == 576 and c["ofmap"]["updates"] == 576
    words = 576 * 2 + 576 + (576 - 32)
    assert cost.compute_cycles == 576 and cost.total_cycles == words and cost.binding_level == "DRAM"


BUFFERED = {"name": "t", "precision": "int8", "clock_mhz": 1000, "levels": [
    {"name": "DRAM", "kind": "storage", "operands": ["ifmap", "filter", "ofmap"]},
    {"name": "Buffer", "kind": "storage", "operands": ["ifmap", "filter", "ofmap"], "size_words": 64},
    {"name": "MAC", "kind": "compute"}]}


def test_per_operand_tile_hand_counted():
    """1x1 layer, C = 2, M = 4, one pixel (8 MACs). DRAM loops M 2; Buffer loops C 2, M 2 (inner).
    Shared cut: the Buffer's ifmap tile holds C 2 x M 2, both input words, loaded once (DRAM's M 2
    does not index the ifmap and has no relevant loop inside it): 2 reads. ``tile_loops: {ifmap: 1}``:
    the ifmap tile holds only the inner M 2 (1 word); C 2 is above it and relevant, so DRAM's M 2
    outside it counts: 2 x 2 moves of 1 word = 4 reads, footprint 1. Filter and ofmap unchanged."""
    tree = arch_from_dict(BUFFERED, "t.yaml")
    lay = layer(C=2, M=4, H=1, W=1, R=1, S=1)
    base = {"DRAM": {"temporal": [["M", 2]]}, "Buffer": {"temporal": [["C", 2], ["M", 2]]}}
    shared = evaluate_tree(tree, lay, tree_mapping_from_dict(base, tree)).counts
    tiled_map = tree_mapping_from_dict({**base, "Buffer": {**base["Buffer"], "tile_loops": {"ifmap": 1}}}, tree)
    tiled = evaluate_tree(tree, lay, tiled_map).counts
    assert shared["DRAM"]["ifmap"]["reads"] == 2 and shared["Buffer"]["ifmap"]["footprint_words"] == 2
    assert tiled["DRAM"]["ifmap"]["reads"] == 4 and tiled["Buffer"]["ifmap"]["fills"] == 4
    assert tiled["Buffer"]["ifmap"]["footprint_words"] == 1 and tiled["Buffer"]["ifmap"]["reads"] == 8
    for op in ("filter", "ofmap"):
        assert tiled["DRAM"][op] == shared["DRAM"][op] and tiled["Buffer"][op] == shared["Buffer"][op]
    # the YAML form round-trips, the importers' list form reads the same, and the loop nest says
    # where the tile starts
    assert tree_mapping_from_dict(tiled_map.as_dict(), tree) == tiled_map
    listed = [{"level": "DRAM", "temporal": [["M", 2]]},
              {"level": "Buffer", "temporal": [["C", 2], ["M", 2]], "tile_loops": {"ifmap": 1}}]
    assert tree_mapping_from_dict(listed, tree) == tiled_map
    assert "ifmap tile 1 loops" in tiled_map.describe(tree)


def test_capacity_is_checked_per_operand_tile():
    """A 5-word buffer: the shared cut's tiles (ifmap 2, filter C 2 x M 2 = 4, ofmap 2 words) overflow
    it; giving the filter tile only the inner M 2 (2 words) and the ifmap tile no loop (1 word) fits."""
    data = {**BUFFERED, "levels": [BUFFERED["levels"][0], {**BUFFERED["levels"][1], "size_words": 5},
                                   BUFFERED["levels"][2]]}
    tree = arch_from_dict(data, "t.yaml")
    lay = layer(C=2, M=4, H=1, W=1, R=1, S=1)
    base = {"DRAM": {"temporal": [["M", 2]]}, "Buffer": {"temporal": [["C", 2], ["M", 2]]}}
    with pytest.raises(SpecError, match=r"Buffer: layer c: the tiles need 64 bits but Buffer holds 40"):
        evaluate_tree(tree, lay, tree_mapping_from_dict(base, tree))
    narrow = {**base, "Buffer": {**base["Buffer"], "tile_loops": {"ifmap": 0, "filter": 1}}}
    cost = evaluate_tree(tree, lay, tree_mapping_from_dict(narrow, tree))
    assert {op: c["footprint_words"] for op, c in cost.counts["Buffer"].items()} == {"ifmap": 1, "filter": 2,
                                                                                    "ofmap": 2}


def test_per_operand_tile_rules_are_reported_together():
    tree = arch_from_dict(BUFFERED, "t.yaml")
    lay = layer(C=2, M=4, H=1, W=1, R=1, S=1)
    with pytest.raises(SpecError) as info:
        tree_mapping_from_dict({"Buffer": {"temporal": [["C", 2]], "tile_loops": {"ifmpa": 1, "filter": -1}}}, tree,
                               "m.yaml")
    text = str(info.value)
    assert "m.yaml: Buffer.tile_loops.ifmpa: Buffer keeps ifmap, filter, ofmap (did you mean 'ifmap'?)" in text
    assert "m.yaml: Buffer.tile_loops.filter: must be a number of loops >= 0 (got -1)" in text
    bad = tree_mapping_from_dict({"DRAM": {"temporal": [["M", 4]], "tile_loops": {"ofmap": 0}},
                                  "Buffer": {"temporal": [["C", 2]], "tile_loops": {"filter": 3}}}, tree)
    with pytest.raises(SpecError) as info:
        evaluate_tree(tree, lay, bad, file="m.yaml")
    text = str(info.value)
    assert "m.yaml: DRAM.tile_loops.ofmap: DRAM is the backing store" in text
    assert "m.yaml: Buffer.tile_loops.filter: 3 loops, but the mapping has 2 temporal loops" in text
    # an operand the mapping bypasses has no tile there
    skip = arch_from_dict({**BUFFERED, "levels": [BUFFERED["levels"][0], {**BUFFERED["levels"][1],
                                                                          "may_bypass": ["ifmap"]},
                                                  BUFFERED["levels"][2]]}, "t.yaml")
    bypassed = tree_mapping_from_dict({"Buffer": {"temporal": [["C", 2], ["M", 4]], "bypass": ["ifmap"],
                                                  "tile_loops": {"ifmap": 0}}}, skip)
    with pytest.raises(SpecError, match=r"Buffer.tile_loops.ifmap: Buffer does not keep ifmap under this mapping"):
        evaluate_tree(skip, lay, bypassed)
    # a tile larger than the one above it on the operand's path
    two = {"name": "t", "precision": "int8", "clock_mhz": 1000, "levels": [
        *BUFFERED["levels"][:2], {"name": "Reg", "kind": "storage", "operands": ["filter"], "size_words": 8},
        {"name": "MAC", "kind": "compute"}]}
    deep = arch_from_dict(two, "t.yaml")
    grows = tree_mapping_from_dict({"DRAM": {"temporal": [["M", 4]]}, "Buffer": {"temporal": [["C", 2]],
                                                                                 "tile_loops": {"filter": 0}},
                                    "Reg": {"tile_loops": {"filter": 1}}}, deep)
    with pytest.raises(SpecError, match=r"Reg.tile_loops.filter: the filter tile at Reg holds the innermost 1 "
                                        r"temporal loops, more than at Buffer above it \(0\)"):
        evaluate_tree(deep, lay, grows)


def test_shorthand_shape_agrees_with_the_two_level_kernel():
    """On the shorthand's tree (eyeriss), a mapping with DRAM / GLB / array / RF loops gives the same
    DRAM, GLB and RF counts as accelsim/kernels/loopnest.py (multicast array, every operand kept)."""
    hw = spec.load("hw", "eyeriss")
    tree = expand(hw)
    lay = layer(C=4, H=6, W=6, M=4, R=3, S=3)
    mapping = tree_mapping_from_dict({"DRAM": {"temporal": [["M", 2]]},
                                      "GlobalBuffer": {"temporal": [["C", 2], ["E", 4], ["F", 2], ["C", 2]]},
                                      "PEArray": {"x": {"M": 2}, "y": {"R": 3}},
                                      "RegisterFile": {"temporal": [["F", 2], ["S", 3]]}}, tree)
    cost = evaluate_tree(tree, lay, mapping)
    from accelsim.loopnest.mapper import hw_array, problem_array
    from accelsim.loopnest.mapping import Mapping
    old = Mapping(loops=(("M", 2), ("C", 2), ("E", 4), ("F", 2), ("C", 2), ("F", 2), ("S", 3)), rows=(("R", 3),),
                  cols=(("M", 2),), glb_cut=(1, 1, 1), rf_cut=(5, 5, 5))
    loops, n, spatial, cuts = old.arrays()
    out = np.zeros(len(ln.OUTPUTS), dtype=np.int64)
    rs = spec.load("dataflows", "nlr")
    row = hw_array(hw, rs)
    row[ln.HWL_KEEP_MASK] = 7
    ln.evaluate_one(problem_array(lay), loops, n, spatial, cuts, row, out)
    o = dict(zip(ln.OUTPUTS, out))
    c = cost.counts
    assert c["DRAM"]["ifmap"]["reads"] == o["dram_ifmap_reads"]
    assert c["DRAM"]["filter"]["reads"] == o["dram_filter_reads"]
    assert c["DRAM"]["ofmap"]["updates"] == o["dram_ofmap_writes"] and c["DRAM"]["ofmap"]["reads"] == o["dram_ofmap_reads"]
    assert c["GlobalBuffer"]["ifmap"]["reads"] == o["glb_ifmap_reads"]
    assert c["GlobalBuffer"]["filter"]["reads"] == o["glb_filter_reads"]
    assert c["GlobalBuffer"]["ofmap"]["updates"] == o["glb_ofmap_writes"]
    assert c["RegisterFile"]["ifmap"]["fills"] == o["rf_ifmap_fills"]
    assert c["RegisterFile"]["filter"]["fills"] == o["rf_filter_fills"]
    assert cost.compute_cycles == o["compute_cycles"]


def test_arrays_list_rows_by_level():
    mapping = tree_mapping_from_dict({"DRAM": {"temporal": [["M", 2]]}, "PEs": {"x": {"M": 4}},
                                      "PEBuffers": {"temporal": [["E", 4]]}}, SIMBA)
    rows, n, levels = _arrays(SIMBA, mapping)
    assert n == 3 and rows.tolist() == [[1, 2, 0, 0], [1, 4, 1, 2], [3, 4, 0, 3]]
    assert list(levels[:, nest.LV_KIND]) == [0, 0, 1, 0, 1, 0, 2]


def test_importers_list_form_is_the_same_mapping():
    by_name = tree_mapping_from_dict({"DRAM": {"temporal": [["M", 2]]}, "PEs": {"x": {"M": 4}, "y": {"C": 2}},
                                      "PEBuffers": {"temporal": [["E", 4]]}}, SIMBA)
    listed = tree_mapping_from_dict([{"level": "DRAM", "temporal": [["M", 2]], "spatial_x": [], "spatial_y": []},
                                     {"level": "PEs", "temporal": [], "spatial_x": [["M", 4]], "spatial_y": [["C", 2]]},
                                     {"level": "PEBuffers", "temporal": [["E", 4]]}], SIMBA)
    assert listed == by_name


def test_cli_runs_a_tree_with_pinned_mappings_and_reads_its_mappings_back(tmp_path):
    import pandas as pd
    import yaml
    from click.testing import CliRunner

    from accelsim.cli import main
    workload, mapping = simba_pinned_case(tmp_path)
    hw = str(spec.ROOT / "hw" / "trees" / "simba_like.yaml")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", "--hw", hw, "--workload", str(workload), "--mapping", str(mapping),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    layers = pd.read_csv(out / "layers.csv")
    accesses = pd.read_csv(out / "accesses.csv")
    assert list(layers["layer"]) == ["c", "p"] and int(layers["macs"].iloc[0]) == 9216
    assert int(layers["DRAM_filter_reads"].iloc[0]) == 576
    assert list(accesses.columns) == ["layer", "level", "operand", "reads", "writes", "fills", "updates", "energy_pj",
                                      "bandwidth_cycles"]
    assert (accesses["energy_pj"] > 0).all()
    again = CliRunner().invoke(main, ["run", "--hw", hw, "--workload", str(workload), "--mapping",
                                      str(out / "mappings.yaml"), "--out", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert pd.read_csv(tmp_path / "again" / "accesses.csv").equals(accesses)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"layers": {"cc": {}}}))
    failed = CliRunner().invoke(main, ["run", "--hw", hw, "--workload", str(workload), "--mapping", str(bad)])
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    assert "layers.cc: no layer with MACs named 'cc' (did you mean 'c'?)" in failed.output
    assert "no mapping for layer 'c'" in failed.output
    # without --mapping the tree mapper maps each layer (tests/test_tree_mapper.py)
    mapped = CliRunner().invoke(main, ["run", "--hw", hw, "--workload", str(workload), "--out", str(tmp_path / "m")])
    assert mapped.exit_code == 0 and "mapped c (1/1)" in mapped.output


def test_area_per_level_from_the_accelergy_table():
    """Eyeriss's tree with the 65 nm table: the 108 KiB global buffer at 0.2073 um^2/bit, 168 PEs'
    scratchpads (12 + 224 + 24 words of 16 bits) at 0.3651 um^2/bit, 168 MACs of 191.82 um^2."""
    from accelsim.loopnest.tree import area_mm2
    tree = expand(spec.load("hw", "eyeriss"))
    area = area_mm2(tree)
    assert area["DRAM"] == 0 and area["PEArray"] == 0
    assert area["GlobalBuffer"] == pytest.approx(108 * 8192 * 0.2073 / 1e6)
    assert area["RegisterFile"] == pytest.approx(168 * (12 + 224 + 24) * 16 * 0.3651 / 1e6)
    assert area["MAC"] == pytest.approx(168 * 191.82 / 1e6)
    assert area["total"] == pytest.approx(sum(v for k, v in area.items() if k != "total"))
    # the example design's own 128 KiB global buffer: 0.217 mm^2 in Accelergy's ART
    from accelsim.spec.arch import StorageLevel
    from accelsim.spec.area import level_area_um2, load_area_table
    glb = StorageLevel(name="shared_glb", operands=("ifmap", "ofmap"), size_bits=128 * 8192)
    assert level_area_um2(glb, load_area_table("accelergy_65nm")) == pytest.approx(217363.36892, rel=1e-3)


def test_batched_kernel_with_placeholder_rows_equals_one_by_one():
    """benchmarks/bench_tree.py's fixed layout (trip-1 rows pad every level) counts like the mapping's
    own rows."""
    import importlib.util
    import random as rnd
    spec_ = importlib.util.spec_from_file_location("bench_tree", spec.ROOT / "benchmarks" / "bench_tree.py")
    bench = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(bench)
    from accelsim.loopnest.mapper import problem_array
    lay = layer(C=8, H=6, W=6, M=8)
    problem = problem_array(lay)
    rng = rnd.Random(1)
    for _ in range(20):
        mapping = bench.random_mapping(SIMBA, problem, rng)
        rows = bench.fixed_rows(SIMBA, mapping)
        levels = _arrays(SIMBA, TreeMapping())[2]
        counts = np.zeros((1, len(SIMBA.levels), 3, nest.COUNT_COLS), dtype=np.int64)
        nest.evaluate_batch(problem, rows[None], np.array([len(rows)]), levels, len(SIMBA.levels), counts,
                            np.zeros(1, dtype=np.int64))
        r, n, own = _arrays(SIMBA, mapping)
        alone = np.zeros((len(SIMBA.levels), 3, nest.COUNT_COLS), dtype=np.int64)
        nest.evaluate_tree(problem, r, n, own, len(SIMBA.levels), alone)
        assert (counts[0] == alone).all()
