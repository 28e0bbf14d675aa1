"""Constraints on the tree mapper's mapspace (accelsim/loopnest/tree_constraints.py) in accelsim's
own form and read from Timeloop constraint files (accelsim/importers/timeloop_constraints.py): the
optimum under constraints equals a brute force over the mappings that meet them, the local search
keeps them, a Timeloop exercise's own constraints pin the mapper on its imported architecture, and
bad constraints are reported with the file, the key path and the fix."""
from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from accelsim import spec
from accelsim.cli import main
from accelsim.errors import SpecError
from accelsim.importers.timeloop import import_timeloop
from accelsim.importers import timeloop_constraints
from accelsim.loopnest.tree_mapper import map_layer
from accelsim.spec.arch import arch_from_dict
from accelsim.spec.workload import workload_from_dict
from test_tree_mapper import TABLE, best_of, brute_force, bypassing_tree, conv, small_tree

EYERISS = spec.ROOT / "tests" / "data" / "timeloop" / "ispass2020_06-mapper-convlayer-eyeriss" / "ref-output" / \
    "parsed-processed-input.yaml"

PIN = {"GLB": {"factors": {"M": 2, "S": 0}, "order_inner": ["C"]},
       "PEs": {"x_factors": {"M": 2}, "y_dims": ["C"]}}


def meets(mapping) -> bool:
    """PIN, checked on a finished mapping."""
    glb = mapping.loops_of("GLB")
    x, y = mapping.unrolling_of("PEs")
    active = [d for d, t in glb if t > 1]
    return (dict(glb).get("M", 1) == 2 and (not active or "C" not in active or active[-1] == "C")
            and dict(x).get("M", 1) == 2 and "M" not in dict(y) and dict(glb).get("S", 1) == 2)


@pytest.mark.parametrize("objective", ["cycles", "energy"])
def test_constrained_optimum_equals_the_constrained_brute_force(objective):
    tree, layer = small_tree(), conv()
    points = brute_force(tree, layer, TABLE, keep=meets)
    result = map_layer(tree, layer, TABLE, objective, pin=PIN)
    assert result.exhaustive and meets(result.mapping)
    want = best_of(points, objective)
    assert result.cost.total_cycles == want[0]
    assert result.cost.total_energy_pj == pytest.approx(want[1], rel=1e-12)
    assert all(meets(mapping) for mapping, _, _ in result.pareto)
    free = map_layer(tree, layer, TABLE, objective)
    assert best_of([(free.cost.total_cycles, free.cost.total_energy_pj), want], objective) == \
        (free.cost.total_cycles, free.cost.total_energy_pj)


def test_local_search_keeps_the_constraints():
    tree, layer = small_tree(), conv()
    for objective in ("cycles", "energy", "edp"):
        result = map_layer(tree, layer, TABLE, objective, pin=PIN, exhaustive_limit=0)
        assert not result.exhaustive and meets(result.mapping)
        assert all(meets(mapping) for mapping, _, _ in result.pareto)


def test_bypass_constraints_fix_the_choice():
    tree, layer = bypassing_tree(), conv(M=2, W=2, S=1)
    result = map_layer(tree, layer, TABLE, "energy", pin={"RF": {"bypass": ["ifmap"], "keep": ["ofmap"]}})
    assert result.mapping.bypassed("RF") == ("ifmap",)
    assert all(m.bypassed("RF") == ("ifmap",) for m, _, _ in result.pareto)


def test_bad_constraints_are_reported_together():
    tree, layer = small_tree(), conv()
    with pytest.raises(SpecError) as err:
        map_layer(tree, layer, TABLE, "energy", pin_file="pin.yaml", pin={
            "GLB": {"factor": {"M": 2}, "order_inner": ["Q"], "bypass": ["filter"]},
            "PEs": {"x_factors": {"C": 2}}, "RFF": {"factors": {"M": 2}}})
    text = str(err.value)
    assert "pin.yaml: GLB.factor: unknown key (did you mean 'factors'?)" in text
    assert "GLB.order_inner: must be a list of distinct loop dimensions" in text
    assert "GLB.bypass: GLB does not keep" not in text     # filter is not kept by GLB: already bypassed
    assert "PEs.x_factors.C: PEs may not unroll C on that axis" in text
    assert "RFF: no storage or spatial level named 'RFF'" in text
    with pytest.raises(SpecError, match=r"pin.yaml: GLB.factors.M: layer c: a factor 3 of M does not divide"):
        map_layer(tree, layer, TABLE, "energy", pin_file="pin.yaml", pin={"GLB": {"factors": {"M": 3}}})
    with pytest.raises(SpecError, match=r"RF.bypass: RF cannot bypass ifmap: add ifmap to its may_bypass"):
        map_layer(tree, layer, TABLE, "energy", pin={"RF": {"bypass": ["ifmap"]}})


def eyeriss_import():
    imported = import_timeloop([EYERISS])
    tree = arch_from_dict(imported.hw, "hw.yaml")
    layer = workload_from_dict(imported.workload, "workload.yaml").layers[0]
    return imported, tree, layer


def test_a_timeloop_exercises_constraints_pin_the_mapper():
    """ispass2020_06 (Eyeriss-like): its architecture and mapspace constraints, read from Timeloop's
    own file, hold in the mapping the mapper returns."""
    _, tree, layer = eyeriss_import()
    pins = timeloop_constraints.read(EYERISS, tree)
    result = map_layer(tree, layer, TABLE, "edp", pin=pins)
    m = result.mapping
    assert m.loops_of("ifmap_spad") == ()
    assert {d for d, _ in m.loops_of("weights_spad")} <= {"C", "R"}
    order = [d for d, _ in m.loops_of("weights_spad")]
    assert order in ([], ["C"], ["R"], ["R", "C"])              # permutation NMPQSCR: C inside R
    assert {d for d, _ in m.loops_of("psum_spad")} <= {"M"}
    columns, rows = m.unrolling_of("inter_PE_column_spatial"), m.unrolling_of("inter_PE_spatial")
    assert {d for d, _ in columns[0]} <= {"M", "F"} and columns[1] == ()
    assert rows[0] == () and {d for d, _ in rows[1]} <= {"C", "M", "S"}
    assert "filter" not in [op for lv in tree.levels if lv.name == "shared_glb" for op in lv.operands]


def test_a_timeloop_mapping_file_pins_the_whole_mapping():
    """eyeriss_like's timeloop-mapper.map.yaml as a pin: every factor and permutation given, so the
    mapper's space is that one mapping, the one `accelsim import timeloop --mapping` pins."""
    from accelsim.loopnest.tree import evaluate_tree, tree_mapping_from_dict
    case = spec.ROOT / "tests" / "data" / "timeloop" / "eyeriss_like" / "ref_outputs" / "default_problem"
    imported = import_timeloop([case / "parsed-processed-input.yaml"], mapping_files=[case / "timeloop-mapper.map.yaml"])
    tree = arch_from_dict(imported.hw, "hw.yaml")
    layer = workload_from_dict(imported.workload, "workload.yaml").layers[0]
    pins = timeloop_constraints.read(case / "timeloop-mapper.map.yaml", tree)
    assert timeloop_constraints.is_timeloop(yaml.safe_load((case / "timeloop-mapper.map.yaml").read_text()))
    result = map_layer(tree, layer, TABLE, "energy", pin=pins)
    want = evaluate_tree(tree, layer, tree_mapping_from_dict(imported.mapping, tree), TABLE)
    assert result.exhaustive and result.mapspace_size == 1
    assert (result.cost.total_cycles, result.cost.total_energy_pj) == (want.total_cycles,
                                                                       pytest.approx(want.total_energy_pj, rel=1e-12))
    assert result.cost.counts == want.counts


def test_run_pin_reads_timeloop_constraints_and_reports_bad_ones(tmp_path):
    imported, tree, _ = eyeriss_import()
    hw, workload = tmp_path / "hw.yaml", tmp_path / "w.yaml"
    hw.write_text(yaml.safe_dump(imported.hw))
    workload.write_text(yaml.safe_dump(imported.workload))
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--pin", str(EYERISS),
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    chosen = yaml.safe_load((out / "mappings.yaml").read_text())["layers"]["CNN_Layer"]
    assert "ifmap_spad" not in chosen
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"architecture_constraints": {"targets": [
        {"target": "GLB", "type": "temporal", "factors": "M=2"},
        {"target": "shared_glb", "type": "temporal", "factors": "Z=2"},
        {"target": "psum_spad", "type": "temporal", "factors": "M=3"}]}}))
    failed = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--pin", str(bad)])
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    assert f"{bad}: architecture_constraints[1].factors: cannot read factor 'Z=2'" in failed.output
    bad.write_text(yaml.safe_dump({"architecture_constraints": {"targets": [
        {"target": "GLB", "type": "temporal", "factors": "M=2"}]}}))
    failed = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--pin", str(bad)])
    assert failed.exit_code == 1
    assert "architecture_constraints.targets[0].target: 'GLB' is not a level of" in failed.output
    bad.write_text(yaml.safe_dump({"mapspace_constraints": {"targets": [
        {"target": "shared_glb", "type": "utilization", "min": 0.5},
        {"target": "shared_glb", "type": "temporal", "factors": "M<=0"}]}}))
    failed = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--pin", str(bad)])
    assert failed.exit_code == 1
    assert "mapspace_constraints.targets[0].target: a utilization constraint targets the innermost storage " \
           "level" in failed.output
    assert "mapspace_constraints[1].factors: 'M<=0': a max or min factor must be >= 1" in failed.output
    bad.write_text(yaml.safe_dump({"constraints": {"targets": [
        {"target": "psum_spad", "type": "temporal", "factors": "M=3"}]}}))
    failed = runner.invoke(main, ["run", "--hw", str(hw), "--workload", str(workload), "--pin", str(bad)])
    assert failed.exit_code == 1
    assert "psum_spad.factors.M: layer CNN_Layer: a factor 3 of M does not divide" in failed.output


RANGED = {"GLB": {"max_factors": {"F": 1}, "min_factors": {"M": 2}}, "PEs": {"max_factors": {"M": 2}},
          "min_utilization": 0.5}


def meets_ranges(mapping) -> bool:
    """RANGED, checked on a finished mapping: GLB's F trip at most 1 and its M trip at least 2, M
    unrolled at most 2 across PEs' X and Y together, at least 2 of the 4 PEs in use."""
    glb = dict(mapping.loops_of("GLB"))
    x, y = mapping.unrolling_of("PEs")
    m_unrolled = dict(x).get("M", 1) * dict(y).get("M", 1)
    used = 1
    for _, f in x + y:
        used *= f
    return glb.get("F", 1) <= 1 and glb.get("M", 1) >= 2 and m_unrolled <= 2 and used / 4 >= 0.5


@pytest.mark.parametrize("objective", ["cycles", "energy", "edp"])
def test_max_min_factors_and_utilization_equal_the_filtered_brute_force(objective):
    """Timeloop's max / min factors and minimum utilization as pins: the optimum equals the best of
    the brute force over the mappings that meet them, the local search keeps them, and they bind
    (the unconstrained optimum of some objective breaks them)."""
    tree, layer = small_tree(), conv()
    points = brute_force(tree, layer, TABLE, keep=meets_ranges)
    result = map_layer(tree, layer, TABLE, objective, pin=RANGED)
    assert result.exhaustive and meets_ranges(result.mapping)
    want = best_of(points, objective)
    assert result.cost.total_cycles == want[0]
    assert result.cost.total_energy_pj == pytest.approx(want[1], rel=1e-12)
    assert all(meets_ranges(mapping) for mapping, _, _ in result.pareto)
    local = map_layer(tree, layer, TABLE, objective, pin=RANGED, exhaustive_limit=0)
    assert not local.exhaustive and meets_ranges(local.mapping)
    assert all(meets_ranges(mapping) for mapping, _, _ in local.pareto)


def test_the_ranges_bind():
    tree, layer = small_tree(), conv()
    free = [map_layer(tree, layer, TABLE, objective).mapping for objective in ("cycles", "energy", "edp")]
    assert not all(meets_ranges(m) for m in free)
    everything = brute_force(tree, layer, TABLE)
    assert len(brute_force(tree, layer, TABLE, keep=meets_ranges)) < len(everything)


def test_timeloop_max_min_factors_and_utilization_read_as_pins(tmp_path):
    """A Timeloop constraints file with ``DIM<=N``, ``DIM>=N``, ``default_max_factor`` and a
    ``utilization`` directive on the innermost storage level reads into RANGED's form."""
    file = tmp_path / "constraints.yaml"
    file.write_text(yaml.safe_dump({"constraints": {"targets": [
        {"target": "GLB", "type": "temporal", "factors": "Q<=1 M>=2"},
        {"target": "GLB", "type": "spatial", "factors": ["M<=2"]},
        {"target": "RF", "type": "temporal", "default_max_factor": 4, "factors": "C<=1"},
        {"target": "RF", "type": "utilization", "min": 0.5}]}}))
    pins = timeloop_constraints.read(file, small_tree())
    assert pins == {"GLB": {"max_factors": {"F": 1}, "min_factors": {"M": 2}},
                    "PEs": {"max_factors": {"M": 2}},
                    "RF": {"max_factors": {"N": 4, "C": 1, "M": 4, "E": 4, "F": 4, "R": 4, "S": 4}},
                    "min_utilization": 0.5}


def test_bad_ranges_are_reported_together():
    tree, layer = small_tree(), conv()
    with pytest.raises(SpecError) as err:
        map_layer(tree, layer, TABLE, "energy", pin_file="pin.yaml", pin={
            "GLB": {"max_factors": {"M": 0}}, "PEs": {"min_factors": {"C": 2}, "max_factors": {"Q": 2}},
            "min_utilization": 1.5})
    text = str(err.value)
    assert "pin.yaml: GLB.max_factors.M: must be an integer >= 1 (got 0)" in text
    assert "PEs.min_factors.C: PEs may not unroll C there" not in text      # C unrolls on Y
    assert "PEs.max_factors.Q: unknown loop dimension 'Q'" in text
    assert "pin.yaml: min_utilization: must be a number from 0 to 1" in text
    with pytest.raises(SpecError, match="no split of M's 4 over the levels that may hold it meets"):
        map_layer(tree, layer, TABLE, "energy", pin={"GLB": {"min_factors": {"M": 8}}})
