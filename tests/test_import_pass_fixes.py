"""Defects a user's pass over every published Timeloop exercise and ZigZag input found
(benchmarks/import_pass.py), each with its test: timeloop-mapper's map.yaml naming a container's
fan-out ``inter_<C>_spatial`` on the v0.4 architecture it was made for; a level Timeloop's mapper may
bypass (no keep constraint) noted, or imported as a bypass choice (--free-bypass); a mapping that keeps nothing at a level;
an ONNX model whose weights sit in an external file; nothing written when an import fails."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from accelsim import spec
from accelsim.cli import main
from accelsim.importers.timeloop import import_timeloop

DATA = Path(__file__).parent / "data"
EX05 = DATA / "timeloop" / "ispass2020_05-mapper-conv1d+oc-3level" / "ref-output"

ARCH = """\
architecture:
  version: 0.4
  nodes:
  - !Container
    name: System
    attributes: {technology: "40nm", global_cycle_seconds: 1e-9}
  - !Component
    name: DRAM
    class: DRAM
    attributes: {width: 64, datawidth: 8}
  - !Component
    name: Buffer
    class: regfile
    attributes: {depth: 256, width: 8, datawidth: 8}
  - !Container
    name: PE
    spatial: {meshX: 4}
  - !Component
    name: Reg
    class: regfile
    attributes: {depth: 8, width: 8, datawidth: 8}
    constraints:
      dataspace: {keep: [Weights]}
  - !Component
    name: MAC
    class: intmac
    attributes: {width: 8}
"""
PROB = """\
problem:
  version: 0.4
  shape:
    name: Conv1D_OC
    dimensions: [K, R, P]
    data_spaces:
    - {name: Weights, projection: [[[K]], [[R]]]}
    - {name: Inputs, projection: [[[R], [P]]]}
    - {name: Outputs, projection: [[[K]], [[P]]], read_write: true}
  instance: {K: 4, R: 3, P: 16}
"""
#: as timeloop-mapper writes it for a v0.4 architecture: the fan-out of container PE targeted as
#: inter_PE_spatial (the name Timeloop's front end gives it in parsed-processed-input.yaml)
MAPPING = """\
mapping:
- {target: Reg, type: datatype, keep: [Weights], bypass: [Inputs, Outputs]}
- {target: inter_PE_spatial, type: datatype, keep: [], bypass: [Weights, Inputs, Outputs]}
- {target: Buffer, type: datatype, keep: [Inputs, Outputs], bypass: [Weights]}
- {target: DRAM, type: datatype, keep: [Weights, Inputs, Outputs], bypass: []}
- {target: Reg, type: temporal, factors: K=1 R=3 P=1, permutation: RKP}
- {target: inter_PE_spatial, type: spatial, factors: K=4 R=1 P=1, permutation: KRP, split: 1}
- {target: inter_PE_spatial, type: temporal, factors: K=1 R=1 P=1, permutation: KRP}
- {target: Buffer, type: temporal, factors: K=1 R=1 P=16, permutation: PKR}
- {target: DRAM, type: temporal, factors: K=1 R=1 P=1, permutation: KRP}
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_mapper_output_names_container_fanout_inter_c_spatial(tmp_path):
    """timeloop-mapper's map.yaml on the v0.4 architecture it was made for: inter_PE_spatial is
    container PE's fan-out; its 4-way K unrolling lands on the PE level, the datatype directives on
    the storage levels."""
    arch, prob, mapping = (_write(tmp_path, n, t) for n, t in (("a.yaml", ARCH), ("p.yaml", PROB), ("m.yaml", MAPPING)))
    result = import_timeloop([arch], [prob], [mapping])
    assert result.mapping["PE"] == {"x": {"M": 4}, "y": {}}
    levels = {lv["name"]: lv for lv in result.hw["levels"]}
    assert levels["Buffer"]["operands"] == ["ifmap", "ofmap"] and "may_bypass" not in levels["Buffer"]
    # and as --pin of a tree imported without it (Buffer's bypass of the weights a mapper's choice)
    result = import_timeloop([arch], [prob], free_bypass=True)
    (tmp_path / "hw.yaml").write_text(yaml.safe_dump(result.hw))
    (tmp_path / "w.yaml").write_text(yaml.safe_dump(result.workload))
    done = CliRunner().invoke(main, ["run", "--hw", str(tmp_path / "hw.yaml"), "--workload", str(tmp_path / "w.yaml"),
                                     "--pin", str(mapping), "--out", str(tmp_path / "run")])
    assert done.exit_code == 0, done.output
    chosen = yaml.safe_load((tmp_path / "run" / "mappings.yaml").read_text())["layers"]["Conv1D_OC"]
    assert chosen["PE"]["x"] == [["M", 4]] and chosen["Buffer"]["bypass"] == ["filter"]
    assert chosen["Buffer"]["temporal"] == [["E", 16]] and chosen["Reg"]["temporal"] == [["R", 3]]


def test_unknown_inter_spatial_target_still_named(tmp_path):
    arch, prob = _write(tmp_path, "a.yaml", ARCH), _write(tmp_path, "p.yaml", PROB)
    mapping = _write(tmp_path, "m.yaml", MAPPING.replace("inter_PE_spatial", "inter_PE_column_spatial"))
    with pytest.raises(Exception, match="'inter_PE_column_spatial' is not a level of the architecture") as err:
        import_timeloop([arch], [prob], [mapping])
    assert "container PE_column's fan-out, which this architecture lacks" in str(err.value)


def test_unconstrained_levels_are_bypass_choices(tmp_path):
    """Without a pinned mapping, with --free-bypass, a level Timeloop's constraints do not make keep
    an operand may bypass it (Timeloop's mapspace): Buffer all three, Reg nothing (keep: [Weights]),
    DRAM never. Without the flag they are kept, and a note names them."""
    arch, prob = _write(tmp_path, "a.yaml", ARCH), _write(tmp_path, "p.yaml", PROB)
    result = import_timeloop([arch], [prob], free_bypass=True)
    levels = {lv["name"]: lv for lv in result.hw["levels"]}
    assert levels["Buffer"]["may_bypass"] == ["ifmap", "filter", "ofmap"]
    assert "may_bypass" not in levels["Reg"] and "may_bypass" not in levels["DRAM"]
    result = import_timeloop([arch], [prob])
    assert not any(lv.get("may_bypass") for lv in result.hw["levels"])
    assert any(n.startswith("no keep constraint at Buffer (ifmap, filter, ofmap): Timeloop's mapper may bypass")
               for n in result.notes)


def test_freebypass_exercise_searches_bypass(tmp_path):
    """The 2020 ISPASS exercise 05 (timeloop-accelergy-exercises): its 'baked' constraints keep every
    operand everywhere, its 'freebypass' ones leave bypass to the mapper. Imported from Timeloop's
    own parsed-processed-input.yaml with --free-bypass: freebypass's levels are bypass choices, and accelsim's mapper
    (energy) finds a mapping that bypasses, below the baked mapspace's best, and at or below the
    energy of Timeloop's own freebypass choice (46,485 pJ with leakage; tests/data/timeloop)."""
    energy = {}
    for variant in ("baked", "freebypass"):
        ref = EX05 / variant
        result = import_timeloop([ref / "parsed-processed-input.yaml"], ert_files=[ref / "timeloop-mapper.ERT.yaml"],
                                 free_bypass=True)
        out = tmp_path / variant
        out.mkdir()
        (out / "hw.yaml").write_text(yaml.safe_dump(result.hw))
        (out / "w.yaml").write_text(yaml.safe_dump(result.workload))
        bypassing = [lv["name"] for lv in result.hw["levels"] if lv.get("may_bypass")]
        assert bypassing == ([] if variant == "baked" else ["GlobalBuffer", "RegisterFile"])
        done = CliRunner().invoke(main, ["run", "--hw", str(out / "hw.yaml"), "--workload", str(out / "w.yaml"),
                                         "--objective", "energy", "--out", str(out / "run")])
        assert done.exit_code == 0, done.output
        energy[variant] = pd.read_csv(out / "run" / "layers.csv").iloc[0]["energy_pj"]
        chosen = next(iter(yaml.safe_load((out / "run" / "mappings.yaml").read_text())["layers"].values()))
        assert any(entry.get("bypass") for entry in chosen.values()) == (variant == "freebypass")
    assert energy["freebypass"] < energy["baked"] and energy["freebypass"] <= 46485


def test_onnx_with_external_data_imports_its_shapes(tmp_path):
    """ZigZag ships resnet18.onnx without the resnet18.external file its weights point to: the
    importer reads shapes only (onnx.load(load_external_data=False))."""
    import onnx
    from onnx.external_data_helper import convert_model_to_external_data
    from test_onnx_import import Net

    net = Net((1, 3, 8, 8))
    model = net.model(net.conv("conv1", "x", 3, 16, 3, pad=1))
    convert_model_to_external_data(model, all_tensors_to_one_file=True, location="weights.external", size_threshold=0)
    onnx.save(model, str(tmp_path / "m.onnx"))
    (tmp_path / "weights.external").unlink()
    done = CliRunner().invoke(main, ["import", "onnx", str(tmp_path / "m.onnx"), "--out", str(tmp_path / "w.yaml")])
    assert done.exit_code == 0, done.output
    assert spec.load("workloads", tmp_path / "w.yaml").layers[0].M == 16


def test_failed_onnx_workload_leaves_nothing_written(tmp_path):
    """`accelsim import zigzag --workload bad.onnx`: one error, and no hw.yaml left behind."""
    (tmp_path / "bad.onnx").write_bytes(b"not a protobuf")
    out = tmp_path / "o"
    done = CliRunner().invoke(main, ["import", "zigzag", "--hardware", str(DATA / "zigzag" / "hardware" / "tpu_like.yaml"),
                                     "--workload", str(tmp_path / "bad.onnx"), "--out", str(out)])
    assert done.exit_code == 1 and done.output.startswith("Error:") and "not a readable ONNX model" in done.output
    assert not out.exists() or not any(out.iterdir())


def test_dot_product_with_a_size_one_dimension_imports_from_its_own_files(tmp_path):
    """Sparseloop's dense dot product (timeloop-accelergy-exercises, example_designs/sparseloop/
    01.2.1-DUDU-dot-product; tests/data/timeloop): Z[m] += A[k] * B[k] with M = 1, a dimension that
    indexes only the output and iterates once. Imported from the exercise's own arch, problem and
    mapping files and run: Timeloop's 16 cycles and its energy, the sum of its per-dataspace and
    MAC totals (127.25 pJ)."""
    folder = DATA / "timeloop" / "sparseloop_01.2.1-DUDU-dot-product"
    out, run = tmp_path / "imp", tmp_path / "run"
    done = CliRunner().invoke(main, ["import", "timeloop", "--arch", str(folder / "arch.yaml"), "--problem",
                                     str(folder / "problem.yaml"), "--mapping", str(folder / "mapping.yaml"), "--ert",
                                     str(folder / "ref_outputs" / "default_problem" / "timeloop-mapper.ERT.yaml"),
                                     "--out", str(out)])
    assert done.exit_code == 0, done.output
    done = CliRunner().invoke(main, ["run", "--hw", str(out / "hw.yaml"), "--workload", str(out / "workload.yaml"),
                                     "--mapping", str(out / "mapping.yaml"), "--out", str(run)])
    assert done.exit_code == 0, done.output
    row = pd.read_csv(run / "layers.csv").iloc[0]
    assert (row["macs"], row["total_cycles"]) == (16, 16)
    assert row["energy_pj"] == pytest.approx(5.04 + 31.33 + 31.33 + 59.55, abs=0.01)
