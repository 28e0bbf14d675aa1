"""Bypass choices' bounds and their pruning in the tree mapper (accelsim/loopnest/tree_bypass.py):
every mapping of every choice, counted one by one, lies at or above its choice's bound; the mapper
with pruning gives the same chosen mapping and Pareto set as without it, and as a brute force over
every choice; exercise 05's free bypass skips choices."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from accelsim import spec
from accelsim.importers.timeloop import import_timeloop
from accelsim.loopnest.tree import TreeMapping, effective_tree, evaluate_tree
from accelsim.loopnest.tree_bypass import floors, most_in_use
from accelsim.loopnest.tree_mapper import _choice_bounds, _subsets, map_layer
from accelsim.loopnest.mapper import problem_array
from accelsim.spec.arch import arch_from_dict
from accelsim.spec.workload import workload_from_dict
from test_tree_mapper import TABLE, best_of, brute_force, conv, pareto_of, small_tree_dict

EX05 = Path(__file__).parent / "data" / "timeloop" / "ispass2020_05-mapper-conv1d+oc-3level" / "ref-output"


def free_tree(timing=None, interconnect="multicast", glb_words=12, rf_words=3):
    """The small tree with every operand of GLB and RF a bypass choice (2^5 choices)."""
    data = small_tree_dict(glb_words=glb_words, rf_words=rf_words, interconnect=interconnect)
    data["levels"][1]["may_bypass"] = ["ifmap", "ofmap"]
    data["levels"][3]["may_bypass"] = ["ifmap", "filter", "ofmap"]
    if timing:
        data["timing"] = timing
    return arch_from_dict(data, "free.yaml")


def choices(tree):
    per_level = [[(lv.name, ops) for ops in _subsets(lv.may_bypass)] for lv in tree.storage_levels if lv.may_bypass]
    return [tuple((n, o) for n, o in c if o) for c in itertools.product(*per_level)]


def fixed(tree, bypass):
    """The choice's effective tree, its may_bypass cleared: a tree whose mapspace is that choice's."""
    from dataclasses import replace
    eff = effective_tree(tree, TreeMapping(bypass=bypass))
    return replace(eff, levels=tuple(replace(lv, may_bypass=()) if lv.kind == "storage" else lv for lv in eff.levels))


LAYERS = [conv(M=2, W=2, S=1), conv(H=3, W=3, R=2, S=2, C=1, M=2, padding=1), conv(stride=2, H=3, W=3, C=1, R=1, S=1)]


@pytest.mark.parametrize("timing, index", [(None, 0), ("throughput", 0), ("zigzag", 0), (None, 2)])
def test_every_mapping_of_every_choice_is_at_or_above_its_bound(timing, index):
    tree, layer = free_tree(timing), LAYERS[index]
    combos = choices(tree)
    bounds = _choice_bounds([effective_tree(tree, TreeMapping(bypass=b)) for b in combos], layer, TABLE, False)
    lowest = []
    for bypass, (cycles, energy) in zip(combos, bounds):
        points = brute_force(fixed(tree, bypass), layer, TABLE)
        assert points, bypass
        assert min(c for c, _ in points) >= cycles and min(e for _, e in points) >= energy, bypass
        lowest.append(min(e for _, e in points))
    # not vacuous: the bounds alone show that some choices cannot reach the least energy
    assert sum(energy > min(lowest) for _, energy in bounds) >= (8 if index == 0 else 1)


def test_floors_hand_counted():
    """W and N_mac for a 3x3 padded conv: 1 x 2 x 3 x 3 input (pad 1), 2 filters of 2 x 2 x 2 ..."""
    layer = conv(H=3, W=3, R=2, S=2, C=1, M=2, padding=1)        # E = F = 4, padding 1
    words, mac_words = floors(problem_array(layer, dilated_windows=True))
    assert words == [9, 8, 32]          # ifmap: the 3 x 3 input (padding not in memory); filter 2*1*2*2; ofmap 2*4*4
    # MACs 2*4*4*1*2*2 = 128; those reading a padded input position do not read the ifmap: per filter,
    # every (e, r) pair with e + r - 1 in 0..2: 6 of 8 per axis -> 36 per channel and filter, 72 in all
    assert mac_words == [72, 128, 128]


def test_most_in_use():
    tree = free_tree()                  # PEs 2 x 2: x unrolls M, y unrolls C, M
    assert most_in_use(tree, [1, 3, 1, 1, 1, 1, 1, 1]) == 1             # M = 3 fits neither 2-wide axis
    assert most_in_use(tree, [1, 3, 1, 1, 1, 1, 1, 1], imperfect=True) == 4
    assert most_in_use(tree, [1, 4, 2, 1, 1, 1, 1, 1]) == 4


CASES = [(free_tree(), LAYERS[0], {}), (free_tree("throughput", "unicast"), LAYERS[0], {}),
         (free_tree(glb_words=32, rf_words=4), conv(M=4, C=2, H=4, W=4, R=3, S=3, padding=1), {"exhaustive_limit": 100}),
         (free_tree(), conv(M=3, C=3, W=2, S=1), {"imperfect": True}),
         (free_tree(), conv(M=4, C=4, W=2, S=1, groups=2), {})]


@pytest.mark.parametrize("case, objective", [(0, "cycles"), (0, "energy"), (0, "edp"), (1, "energy"), (2, "edp"),
                                             (3, "edp"), (4, "energy")])
def test_pruning_keeps_the_optimum_and_the_pareto_set(case, objective):
    """Pruned and unpruned: the same chosen mapping, cost and Pareto set, exhaustive (cases 0, 1:
    also the brute force's), by local search (2), over imperfect factorisations (3), and for a
    grouped layer, one group's nest run twice (4)."""
    tree, layer, options = CASES[case]
    pruned = map_layer(tree, layer, TABLE, objective, **options)
    full = map_layer(tree, layer, TABLE, objective, prune_bypass=False, **options)
    assert pruned.bypass_choices == full.bypass_choices == 32 and full.bypass_skipped == 0
    assert pruned.bypass_skipped > 0 or case == 3         # the pruning this test checks does happen
    assert pruned.mapping == full.mapping and pruned.pareto == full.pareto
    assert pruned.cost == full.cost
    if case < 2:
        points = brute_force(tree, layer, TABLE)
        want = best_of(points, objective)
        assert pruned.exhaustive
        assert pruned.cost.total_cycles == want[0] and pruned.cost.total_energy_pj == pytest.approx(want[1], rel=1e-12)
        assert [(c, pytest.approx(e, rel=1e-12)) for _, c, e in pruned.pareto] == pareto_of(points)


def test_pruning_skips_choices_on_exercise_05_and_keeps_its_result():
    """Exercise 05 (freebypass constraints, imported with --free-bypass: 6 free operand-levels, 64
    choices): the first choice searched reaches its bound, so every other is skipped; the chosen
    mapping, its energy and the Pareto set are those of the search over all 64."""
    ref = EX05 / "freebypass"
    result = import_timeloop([ref / "parsed-processed-input.yaml"], ert_files=[ref / "timeloop-mapper.ERT.yaml"],
                             free_bypass=True)
    tree = arch_from_dict(result.hw, "hw.yaml")
    layer = workload_from_dict(result.workload, "w.yaml").layers[0]
    table = spec.energy_table_for(tree, None)
    pruned = map_layer(tree, layer, table, "energy")
    full = map_layer(tree, layer, table, "energy", prune_bypass=False)
    assert (pruned.bypass_choices, pruned.bypass_skipped) == (64, 63)
    assert pruned.mapping == full.mapping and pruned.pareto == full.pareto
    assert pruned.cost.total_energy_pj == full.cost.total_energy_pj and any(ops for _, ops in pruned.mapping.bypass)


def test_a_level_bypassed_by_every_operand_moves_nothing():
    """A choice that bypasses every operand of a level counts no stall there (the timing model took
    no crossing for it)."""
    tree, layer = free_tree(), LAYERS[0]
    mapping = TreeMapping(temporal=(("DRAM", (("M", 2), ("C", 2), ("E", 2), ("F", 2))),),
                          bypass=(("GLB", ("ifmap", "ofmap")),))
    cost = evaluate_tree(tree, layer, mapping, TABLE)
    assert cost.exposed_cycles["GLB"] == 0 and cost.total_cycles > 0
