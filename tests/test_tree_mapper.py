"""The mapper on architecture trees (accelsim/loopnest/tree_mapper.py): its optimum equals a brute
force over the same mapspace (every perfect factorisation, every loop order, every unrolling within
the fan-outs, evaluated one by one by accelsim.loopnest.tree.evaluate_tree), pinned levels, capacity,
the Pareto set, and `accelsim run` on a tree without --mapping."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from accelsim import spec
from accelsim.cli import main
from accelsim.errors import SpecError
from accelsim.loopnest.tree import TreeMapping, evaluate_tree, tree_mapping_from_dict
from accelsim.loopnest.tree_mapper import map_layer, order_signatures
from accelsim.spec.arch import arch_from_dict, load_arch
from accelsim.spec.workload import workload_from_dict

DIMS = ("N", "M", "C", "E", "F", "R", "S")


def small_tree(glb_words=16, rf_words=4, double_buffered=False, interconnect="multicast"):
    return arch_from_dict(small_tree_dict(glb_words, rf_words, double_buffered, interconnect), "small.yaml")


def small_tree_dict(glb_words=16, rf_words=4, double_buffered=False, interconnect="multicast"):
    return {
        "name": "small", "precision": "int8", "clock_mhz": 1000, "energy_table": "accelergy_65nm",
        "levels": [
            {"name": "DRAM", "kind": "storage", "operands": ["ifmap", "filter", "ofmap"],
             "bandwidth_words_per_cycle": 2},
            {"name": "GLB", "kind": "storage", "operands": ["ifmap", "ofmap"], "size_words": glb_words,
             "double_buffered": double_buffered},
            {"name": "PEs", "kind": "spatial", "fanout_x": 2, "fanout_y": 2, "interconnect": interconnect,
             "unroll_x": ["M"], "unroll_y": ["C", "M"]},
            {"name": "RF", "kind": "storage", "operands": ["ifmap", "filter", "ofmap"], "size_words": rf_words},
            {"name": "MAC", "kind": "compute", "precision": "int8"}]}


def conv(**kw):
    base = {"name": "c", "type": "conv", "C": 2, "H": 2, "W": 3, "M": 4, "R": 1, "S": 2}
    return workload_from_dict({"name": "w", "layers": [{**base, **kw}]}, "w.yaml").layers[0]


def factorisations(n, parts):
    if parts == 1:
        return [(n,)]
    return [(d,) + rest for d in range(1, n + 1) if n % d == 0 for rest in factorisations(n // d, parts - 1)]


def imperfect_factorisations(n, parts):
    """Every tuple of ``parts`` factors from 1 to n whose inner ones multiply to at most n and
    whose outermost is the ceiling of n over them (tried one by one, not built from divisors)."""
    return [f for f in itertools.product(range(1, n + 1), repeat=parts)
            if math.prod(f[1:]) <= n and f[0] == -(-n // math.prod(f[1:]))]


def brute_force(tree, layer, table, pin=None, keep=None, imperfect=False):
    """Every mapping of the documented mapspace, one TreeMapping at a time: every dimension's
    factors over the storage levels and the spatial axes that may unroll it (``imperfect``: the
    imperfect ones too), every permutation of each level's loops; those that do not fit are
    dropped, and those ``keep(mapping)`` rejects. Returns [(cycles, energy), ...]."""
    pin = pin or {}
    pinned = tree_mapping_from_dict(pin, tree, "pin") if pin else TreeMapping()
    g = layer.groups
    bounds = {"N": layer.N, "M": layer.M // g, "C": layer.C // g, "E": layer.E, "F": layer.F, "R": layer.R,
              "S": layer.S, "G": g}
    dims = DIMS + ("G",) if g > 1 else DIMS
    for _, loops in pinned.temporal:
        for d, t in loops:
            bounds[d] //= t
    for _, x, y in pinned.spatial:
        for d, f in x + y:
            bounds[d] //= f
    slots = []
    for lv in tree.levels:
        if lv.name in pin:
            continue
        if lv.kind == "storage":
            slots.append((lv.name, "t", dims, 0))
        elif lv.kind == "spatial":
            slots.append((lv.name, "x", lv.unroll_x, lv.fanout_x))
            slots.append((lv.name, "y", lv.unroll_y, lv.fanout_y))
    per_dim = []
    for d in dims:
        holders = [k for k, s in enumerate(slots) if d in s[2]]
        split = imperfect_factorisations if imperfect else factorisations
        per_dim.append([dict(zip(holders, f)) for f in split(bounds[d], len(holders))])
    out = []
    bypass_choices = [[(lv.name, ops) for k in range(len(lv.may_bypass) + 1)
                       for ops in itertools.combinations(lv.may_bypass, k)]
                      for lv in tree.levels if lv.kind == "storage" and lv.may_bypass]
    for choice, bypass in itertools.product(itertools.product(*per_dim), itertools.product(*bypass_choices)):
        bypass = tuple((name, ops) for name, ops in bypass if ops)
        trips = [{d: choice[j].get(k, 1) for j, d in enumerate(dims)} for k in range(len(slots))]
        if any(s[3] and math.prod(trips[k].values()) > s[3] for k, s in enumerate(slots)):
            continue
        storage = [k for k, s in enumerate(slots) if s[1] == "t"]
        perms = [list(itertools.permutations([d for d in dims if trips[k][d] > 1])) for k in storage]
        for orders in itertools.product(*perms):
            temporal = [(slots[k][0], tuple((d, trips[k][d]) for d in order))
                        for k, order in zip(storage, orders)] + list(pinned.temporal)
            spatial = list(pinned.spatial)
            for k, s in enumerate(slots):
                if s[1] == "x":
                    spatial.append((s[0], tuple((d, f) for d, f in trips[k].items() if f > 1),
                                    tuple((d, f) for d, f in trips[k + 1].items() if f > 1)))
            mapping = TreeMapping(tuple(temporal), tuple(spatial), bypass)
            if keep is not None and not keep(mapping):
                continue
            try:
                cost = evaluate_tree(tree, layer, mapping, table)
            except SpecError:
                continue
            out.append((cost.total_cycles, cost.total_energy_pj))
    return out


def best_of(points, objective):
    key = {"cycles": lambda p: (p[0], p[1]), "energy": lambda p: (p[1], p[0]),
           "edp": lambda p: (p[0] * p[1], p[0], p[1])}[objective]
    return min(points, key=key)


def pareto_of(points):
    front, lowest = [], math.inf
    for c, e in sorted(set(points)):
        if e < lowest:
            front.append((c, e))
            lowest = e
    return front


TABLE = spec.energy_table_for(small_tree(), None)
def bypassing_tree():
    data = small_tree_dict(glb_words=12, rf_words=3)
    data["levels"][1]["may_bypass"] = ["ofmap"]
    data["levels"][3]["may_bypass"] = ["ifmap", "ofmap"]
    return arch_from_dict(data, "bypass.yaml")


CASES = [(small_tree(), conv()), (small_tree(glb_words=8, rf_words=3, double_buffered=True), conv()),
         (small_tree(interconnect="unicast"), conv(H=3, W=2, R=2, S=1, M=2)),
         (small_tree(glb_words=32), conv(stride=2, H=3, W=3, C=1, R=1, S=1)),
         (bypassing_tree(), conv(M=2, W=2, S=1))]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("objective", ["cycles", "energy"])
def test_optimum_equals_brute_force(case, objective):
    tree, layer = CASES[case]
    points = brute_force(tree, layer, TABLE)
    result = map_layer(tree, layer, TABLE, objective)
    assert result.exhaustive
    got = (result.cost.total_cycles, result.cost.total_energy_pj)
    want = best_of(points, objective)
    assert got[0] == want[0] and got[1] == pytest.approx(want[1], rel=1e-12)
    assert [c for _, c, _ in result.pareto] == [c for c, _ in pareto_of(points)]
    assert [e for _, _, e in result.pareto] == pytest.approx([e for _, e in pareto_of(points)], rel=1e-12)
    assert result.valid == len(points) or result.valid < len(points)   # orders merged by signature
    for mapping, cycles, energy in result.pareto:
        cost = evaluate_tree(tree, layer, mapping, TABLE)
        assert (cost.total_cycles, cost.total_energy_pj) == (cycles, pytest.approx(energy, rel=1e-12))


def test_pinned_levels_are_kept_and_the_rest_is_optimal():
    tree, layer = CASES[0]
    pin = {"PEs": {"x": {"M": 2}, "y": {"C": 2}}, "DRAM": {"temporal": [["E", 2]]}}
    points = brute_force(tree, layer, TABLE, pin)
    result = map_layer(tree, layer, TABLE, "energy", pin=pin)
    assert result.exhaustive
    assert result.mapping.unrolling_of("PEs") == ((("M", 2),), (("C", 2),))
    assert result.mapping.loops_of("DRAM") == (("E", 2),)
    want = best_of(points, "energy")
    assert result.cost.total_cycles == want[0] and result.cost.total_energy_pj == pytest.approx(want[1], rel=1e-12)


def test_a_pinned_per_operand_tile_is_refused_not_ignored():
    tree, layer = CASES[0]
    storage = [lv for lv in tree.levels if lv.kind == "storage"][1]
    pin = {storage.name: {"temporal": [], "tile_loops": {storage.operands[0]: 0}}}
    with pytest.raises(SpecError, match=rf"pin.yaml: {storage.name}.tile_loops.{storage.operands[0]}: the mapper "
                                        "searches one tile per level"):
        map_layer(tree, layer, TABLE, "energy", pin=pin, pin_file="pin.yaml")


def test_over_capacity_mappings_are_never_returned():
    """An RF of one word: every returned mapping (best and Pareto) fits, the RF tiles included."""
    tree = small_tree(glb_words=4, rf_words=3)
    layer = conv()
    result = map_layer(tree, layer, TABLE, "cycles")
    for mapping, _, _ in result.pareto + ((result.mapping, 0, 0),):
        cost = evaluate_tree(tree, layer, mapping, TABLE)    # raises SpecError when a tile does not fit
        assert sum(c["footprint_words"] for c in cost.counts["RF"].values()) <= 3
        assert sum(c["footprint_words"] for c in cost.counts["GLB"].values()) <= 4
    assert result.valid < result.evaluated


def test_order_signatures_cover_every_order():
    """Every permutation of the seven dims has the counts of one representative: at most 15 per level."""
    assert len(order_signatures(127)) == 15
    assert len(order_signatures(0b0000110)) == 2    # M, C: C inside (ofmap tail) or M inside (ifmap tail)


def test_local_search_on_simba_like_uses_every_mac():
    tree = load_arch(spec.ROOT / "hw" / "trees" / "simba_like.yaml")
    layer = conv(C=16, M=16, H=10, W=10, R=3, S=3)
    result = map_layer(tree, layer, TABLE, "cycles", exhaustive_limit=1000)
    assert not result.exhaustive
    assert result.cost.total_cycles >= result.cost.macs // tree.num_macs
    assert result.cost == evaluate_tree(tree, layer, result.mapping, TABLE)


def test_run_maps_a_tree_without_mapping(tmp_path):
    workload = tmp_path / "two.yaml"
    workload.write_text(yaml.safe_dump({"name": "two", "layers": [
        {"name": "conv1", "type": "conv", "C": 8, "H": 10, "W": 10, "M": 16, "R": 3, "S": 3},
        {"name": "pool", "type": "maxpool", "R": 2, "S": 2, "stride": 2},
        {"name": "fc", "type": "gemm", "M": 4, "N": 32, "K": 64}]}))
    runner = CliRunner()
    out = tmp_path / "out"
    hw = str(spec.ROOT / "hw" / "trees" / "simba_like.yaml")
    result = runner.invoke(main, ["run", "--hw", hw, "--workload", str(workload), "--objective", "cycles",
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "mapped" in result.output
    assert (out / "accesses.csv").exists()
    mappings = yaml.safe_load((out / "mappings.yaml").read_text())
    again = runner.invoke(main, ["run", "--hw", hw, "--workload", str(workload),
                                 "--mapping", str(out / "mappings.yaml"), "--out", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    import pandas as pd
    first = pd.read_csv(out / "layers.csv")
    second = pd.read_csv(tmp_path / "again" / "layers.csv")
    assert first["total_cycles"].tolist() == second["total_cycles"].tolist()
    assert set(mappings["layers"]) == set(first.loc[first["macs"] > 0, "layer"])


@pytest.mark.parametrize("case", [1, 2, 3])
def test_local_search_reaches_the_exhaustive_optimum_on_small_cases(case):
    """A regression guard for the heuristic (seeded, so deterministic): on these trees the local
    search ends at the exhaustive optimum (docs/architecture.md states where it does not)."""
    tree, layer = CASES[case]
    for objective in ("cycles", "energy"):
        exhaustive = map_layer(tree, layer, TABLE, objective)
        local = map_layer(tree, layer, TABLE, objective, exhaustive_limit=0)
        assert not local.exhaustive and local.mapspace_size is None
        assert local.cost.total_cycles == exhaustive.cost.total_cycles
        assert local.cost.total_energy_pj == pytest.approx(exhaustive.cost.total_energy_pj, rel=1e-12)


def test_run_pin_fixes_part_of_a_layers_mapping(tmp_path):
    workload = tmp_path / "one.yaml"
    workload.write_text(yaml.safe_dump({"name": "one", "layers": [
        {"name": "conv1", "type": "conv", "C": 8, "H": 6, "W": 6, "M": 16, "R": 3, "S": 3}]}))
    pin = tmp_path / "pin.yaml"
    pin.write_text(yaml.safe_dump({"layers": {"conv1": {"PEs": {"x": {"M": 4}, "y": {"C": 2}},
                                                        "DRAM": {"temporal": [["E", 2]]}}}}))
    hw = str(spec.ROOT / "hw" / "trees" / "simba_like.yaml")
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(main, ["run", "--hw", hw, "--workload", str(workload), "--pin", str(pin), "--out", str(out)])
    assert result.exit_code == 0, result.output
    chosen = yaml.safe_load((out / "mappings.yaml").read_text())["layers"]["conv1"]
    assert chosen["PEs"] == {"x": [["M", 4]], "y": [["C", 2]]}
    assert chosen["DRAM"]["temporal"] == [["E", 2]]
    pin.write_text(yaml.safe_dump({"layers": {"conv2": {}}}))
    bad = runner.invoke(main, ["run", "--hw", hw, "--workload", str(workload), "--pin", str(pin)])
    assert bad.exit_code == 1 and "layers.conv2: no layer with MACs named 'conv2'" in bad.output
    assert "Traceback" not in bad.output
    pin.write_text(yaml.safe_dump({"PEs": {"x": {"M": 3}}}))
    bad = runner.invoke(main, ["run", "--hw", hw, "--workload", str(workload), "--pin", str(pin)])
    assert bad.exit_code == 1 and "M: the pinned trips and factors of M multiply to 3" in bad.output
    both = runner.invoke(main, ["run", "--hw", hw, "--workload", str(workload), "--pin", str(pin),
                                "--mapping", str(pin)])
    assert both.exit_code == 2


def test_run_maps_bypass_choices_and_reads_them_back(tmp_path):
    data = small_tree_dict()
    data["levels"][3]["may_bypass"] = ["ifmap"]
    hw = tmp_path / "small.yaml"
    hw.write_text(yaml.safe_dump(data))
    workload = tmp_path / "one.yaml"
    workload.write_text(yaml.safe_dump({"name": "one", "layers": [
        {"name": "c", "type": "conv", "C": 2, "H": 2, "W": 3, "M": 4, "R": 1, "S": 2}]}))
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--objective", "energy",
                                  "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    again = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--mapping",
                                 str(tmp_path / "o" / "mappings.yaml"), "--out", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    import pandas as pd
    first, second = pd.read_csv(tmp_path / "o" / "layers.csv"), pd.read_csv(tmp_path / "again" / "layers.csv")
    assert first["energy_pj"].tolist() == pytest.approx(second["energy_pj"].tolist(), rel=1e-12)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"RF": {"bypass": ["filter"]}}))
    failed = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--mapping", str(bad)])
    assert failed.exit_code == 1 and "RF.bypass: must list operands of RF's may_bypass (ifmap)" in failed.output


def test_groups_across_the_array_equal_brute_force():
    """A grouped layer on a tree whose array may unroll G: the mapper takes G as a dimension (its
    factors over the levels and the array too) and its optimum equals the brute force's."""
    data = small_tree_dict()
    data["levels"][2]["unroll_x"] = ["M", "G"]
    data["levels"][2]["unroll_y"] = ["C", "G"]
    tree = arch_from_dict(data, "grouped.yaml")
    layer = conv(C=4, M=4, W=2, S=1, groups=4)       # depthwise: one group uses one PE of four
    for objective in ("cycles", "energy"):
        points = brute_force(tree, layer, TABLE)
        result = map_layer(tree, layer, TABLE, objective)
        assert result.exhaustive
        want = best_of(points, objective)
        assert result.cost.total_cycles == want[0]
        assert result.cost.total_energy_pj == pytest.approx(want[1], rel=1e-12)
        assert result.mapping.uses_groups()
    best = map_layer(tree, layer, TABLE, "cycles")
    x, y = best.mapping.unrolling_of("PEs")
    assert "G" in dict(x + y)          # the groups fill the array a single group cannot


@pytest.mark.parametrize("objective", ["cycles", "energy", "edp"])
def test_dilated_layer_is_mapped_and_equals_brute_force(objective):
    """A dilated conv (taps 2 apart: input position e + 2r - pad) is mapped without --mapping, in
    its conv view (the engine counts the windows' touched positions), and the optimum equals the
    brute force over the same mapspace."""
    tree = small_tree(glb_words=24, rf_words=4)
    layer = conv(H=5, W=3, R=2, S=1, M=2, C=2, dilation=2)
    assert (layer.E, layer.F, layer.dilation_h) == (3, 3, 2)
    points = brute_force(tree, layer, TABLE)
    result = map_layer(tree, layer, TABLE, objective)
    assert result.exhaustive
    want = best_of(points, objective)
    assert result.cost.total_cycles == want[0]
    assert result.cost.total_energy_pj == pytest.approx(want[1], rel=1e-12)
    again = evaluate_tree(tree, layer, result.mapping, TABLE)
    assert again.total_cycles == result.cost.total_cycles


IMPERFECT = [(small_tree(), conv(C=3, M=3, H=2, W=3, S=2)),
             (small_tree(interconnect="unicast", glb_words=12), conv(C=1, M=3, H=3, W=2, R=2, S=1)),
             (small_tree(glb_words=8, rf_words=3, double_buffered=True), conv(C=3, M=2, H=2, W=2, S=1))]


@pytest.mark.parametrize("case", range(len(IMPERFECT)))
@pytest.mark.parametrize("objective", ["cycles", "energy", "edp"])
def test_imperfect_optimum_equals_brute_force(case, objective):
    """``imperfect=True``: the optimum and the Pareto set equal a brute force over every tuple of
    factors whose inner ones multiply to at most the bound and whose outermost is the ceiling of
    the rest, and the optimum is never worse than the perfect-only one; the local search reaches
    the same optimum."""
    tree, layer = IMPERFECT[case]
    points = brute_force(tree, layer, TABLE, imperfect=True)
    result = map_layer(tree, layer, TABLE, objective, imperfect=True)
    assert result.exhaustive
    want = best_of(points, objective)
    assert result.cost.total_cycles == want[0]
    assert result.cost.total_energy_pj == pytest.approx(want[1], rel=1e-12)
    assert [c for _, c, _ in result.pareto] == [c for c, _ in pareto_of(points)]
    for mapping, cycles, energy in result.pareto:
        cost = evaluate_tree(tree, layer, mapping, TABLE)
        assert (cost.total_cycles, cost.total_energy_pj) == (cycles, pytest.approx(energy, rel=1e-12))
    perfect = best_of(brute_force(tree, layer, TABLE), objective)
    assert best_of([want, perfect], objective) == want
    local = map_layer(tree, layer, TABLE, objective, imperfect=True, exhaustive_limit=0)
    assert not local.exhaustive
    assert (local.cost.total_cycles, local.cost.total_energy_pj) == (want[0], pytest.approx(want[1], rel=1e-12))


def test_imperfect_factors_beat_the_perfect_mapspace():
    """M = C = 3 on a 2 x 2 array: no perfect factor of 3 fits an axis of 2, so one PE of four
    works; an imperfect split puts M 2 x C 2 on the array (the second M and C tiles partial):
    99 -> 71 cycles, each the brute force's optimum of its mapspace."""
    tree, layer = IMPERFECT[0]
    perfect = best_of(brute_force(tree, layer, TABLE), "cycles")
    imperfect = best_of(brute_force(tree, layer, TABLE, imperfect=True), "cycles")
    assert (perfect[0], imperfect[0]) == (99, 71)
    result = map_layer(tree, layer, TABLE, "cycles", imperfect=True)
    assert result.cost.total_cycles == 71
    x, y = result.mapping.unrolling_of("PEs")
    assert dict(x) == {"M": 2} and dict(y) == {"C": 2}


def test_run_imperfect_writes_partial_tiles_that_read_back(tmp_path):
    """`accelsim run --imperfect`: the chosen mapping of IMPERFECT[0]'s layer has a dimension whose
    factors multiply past its bound (a partial last tile), 71 cycles as map_layer finds; its
    mappings.yaml runs back under --mapping to the same cycles; --imperfect with --mapping is refused."""
    hw, workload = tmp_path / "small.yaml", tmp_path / "w.yaml"
    hw.write_text(yaml.safe_dump(small_tree_dict()))
    workload.write_text(yaml.safe_dump({"name": "w", "layers": [
        {"name": "c", "type": "conv", "C": 3, "H": 2, "W": 3, "M": 3, "R": 1, "S": 2}]}))
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--objective", "cycles",
                                  "--imperfect", "--out", str(out)])
    assert result.exit_code == 0, result.output
    import pandas as pd
    table = pd.read_csv(out / "layers.csv")
    assert table["total_cycles"].tolist() == [71] and table["mapspace"].tolist() == ["imperfect"]
    chosen = yaml.safe_load((out / "mappings.yaml").read_text())["layers"]["c"]
    mapping = tree_mapping_from_dict(chosen, small_tree())
    assert mapping.extents()["M"] == 4 and mapping.extents()["C"] == 4       # 3 each, last tiles partial
    again = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload),
                                 "--mapping", str(out / "mappings.yaml"), "--out", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert pd.read_csv(tmp_path / "again" / "layers.csv")["total_cycles"].tolist() == [71]
    refused = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--imperfect",
                                   "--mapping", str(out / "mappings.yaml")])
    assert refused.exit_code == 2 and "--imperfect: not used by a run under pinned --mapping" in refused.output


def test_run_maps_a_dilated_layer_without_mapping(tmp_path):
    """`accelsim run` on a tree maps a dilated layer itself (no --mapping), as map_layer does."""
    hw, workload = tmp_path / "small.yaml", tmp_path / "w.yaml"
    hw.write_text(yaml.safe_dump(small_tree_dict(glb_words=24)))
    workload.write_text(yaml.safe_dump({"name": "w", "layers": [
        {"name": "d", "type": "conv", "C": 2, "H": 5, "W": 3, "M": 2, "R": 2, "S": 1, "dilation": 2}]}))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--objective", "cycles",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    import pandas as pd
    layer = conv(H=5, W=3, R=2, S=1, M=2, C=2, dilation=2)
    want = map_layer(small_tree(glb_words=24), layer, TABLE, "cycles").cost.total_cycles
    assert pd.read_csv(out / "layers.csv")["total_cycles"].tolist() == [want]


def test_imperfect_groups_equal_brute_force():
    """Three groups on an array that may unroll G two ways: G splits imperfectly (2 across the
    array, 2 at DRAM, the second partial) and the optimum equals the imperfect brute force."""
    data = small_tree_dict()
    data["levels"][2]["unroll_x"] = ["M", "G"]
    data["levels"][2]["unroll_y"] = ["C", "G"]
    tree = arch_from_dict(data, "grouped.yaml")
    layer = conv(C=3, M=3, W=2, S=1, groups=3)
    for objective in ("cycles", "energy"):
        want = best_of(brute_force(tree, layer, TABLE, imperfect=True), objective)
        result = map_layer(tree, layer, TABLE, objective, imperfect=True)
        assert result.exhaustive and result.cost.total_cycles == want[0]
        assert result.cost.total_energy_pj == pytest.approx(want[1], rel=1e-12)
    assert result.mapping.extents()["G"] == 4


@pytest.mark.parametrize("n, parts", [(1, 0), (2, 0), (1, 3), (7, 1), (12, 3), (360, 4), (960, 3), (1000, 4)])
def test_splits_unranked_equal_listed(n, parts):
    """The mapper's lazy split sequence (length counted, splits unranked from their index) holds
    exactly the ordered factorisations of n, in lexicographic order, listed here by brute force."""
    from accelsim.loopnest.tree_mapper import _Splits
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    naive = sorted(t for t in itertools.product(divisors, repeat=parts) if math.prod(t) == n)
    splits = _Splits(n, parts)
    assert len(splits) == len(naive)
    assert list(splits) == naive
    assert [splits[i] for i in range(len(splits))] == naive
    if naive:
        assert splits.rows(np.arange(len(naive))[::-1]).tolist() == [list(t) for t in naive[::-1]]


def test_splits_of_a_deep_tree_dim_counted_not_listed():
    """960 = 2^6 * 3 * 5 over 12 holders: C(6 + 11, 11) * 12 * 12 = 1,782,144 ordered splits; drawn
    ones multiply to 960 and are distinct where their indices are."""
    from accelsim.loopnest.tree_mapper import _Splits
    splits = _Splits(960, 12)
    assert len(splits) == math.comb(17, 11) * 12 * 12 == 1_782_144
    rows = splits.rows(np.array([0, 1, 500_000, 1_782_143]))
    assert (np.prod(rows, axis=1) == 960).all()
    assert rows[0].tolist() == [1] * 11 + [960] and rows[-1].tolist() == [960] + [1] * 11
    assert len({tuple(r) for r in rows.tolist()}) == 4


def test_run_keeps_the_mapped_layers_when_one_layer_cannot_be_mapped(tmp_path):
    """A layer nothing fits stops the run with exit 1, after the other layers are mapped: their
    mappings are kept in mappings.partial.yaml, and pinning them reproduces an unhindered run."""
    workload = tmp_path / "three.yaml"
    workload.write_text(yaml.safe_dump({"name": "three", "layers": [
        {"name": "c1", "type": "conv", "C": 8, "H": 6, "W": 6, "M": 16, "R": 3, "S": 3},
        {"name": "c2", "type": "conv", "C": 256, "H": 6, "W": 6, "M": 256, "R": 3, "S": 3},
        {"name": "c3", "type": "conv", "C": 8, "H": 6, "W": 6, "M": 8, "R": 1, "S": 1}]}))
    pin = tmp_path / "pin.yaml"     # c2's filter tile, 256 x 256 words, cannot fit a 32 KiB PE buffer
    pin.write_text(yaml.safe_dump({"layers": {"c2": {"PEBuffers": {"temporal": [["C", 256], ["M", 256]]}}}}))
    hw = str(spec.ROOT / "hw" / "trees" / "simba_like.yaml")
    runner = CliRunner()
    out = tmp_path / "out"
    failed = runner.invoke(main, ["run", "--hw", hw, "--workload", str(workload), "--pin", str(pin),
                                  "--out", str(out), "--objective", "energy"])
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    assert "1 of 3 layer(s) could not be mapped" in failed.output and "c2: no mapping fits" in failed.output
    kept = yaml.safe_load((out / "mappings.partial.yaml").read_text())["layers"]
    assert sorted(kept) == ["c1", "c3"] and not (out / "layers.csv").exists()
    free = runner.invoke(main, ["run", "--hw", hw, "--workload", str(workload), "--objective", "energy",
                                "--out", str(tmp_path / "free")])
    assert free.exit_code == 0, free.output
    again = runner.invoke(main, ["run", "--hw", hw, "--workload", str(workload), "--objective", "energy",
                                 "--pin", str(out / "mappings.partial.yaml"), "--out", str(out), "--force"])
    assert again.exit_code == 0, again.output
    import pandas as pd
    first, second = pd.read_csv(tmp_path / "free" / "layers.csv"), pd.read_csv(out / "layers.csv")
    assert first["total_cycles"].tolist() == second["total_cycles"].tolist()
    assert first["energy_pj"].tolist() == pytest.approx(second["energy_pj"].tolist(), rel=1e-12)
