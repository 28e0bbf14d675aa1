"""`accelsim import timeloop`: Timeloop's own files (tests/data/timeloop, copied from the public
timeloop-accelergy-exercises and timeloop-python repositories) read into accelsim's architecture tree,
workload and pinned mapping; unsupported constructs named in one error."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from accelsim.errors import AccelsimError
from accelsim.importers.timeloop import import_timeloop

DATA = Path(__file__).parent / "data" / "timeloop"
EYERISS = DATA / "eyeriss_like" / "ref_outputs" / "default_problem"


def _eyeriss():
    return import_timeloop([EYERISS / "parsed-processed-input.yaml"],
                           mapping_files=[EYERISS / "timeloop-mapper.map.yaml"],
                           ert_files=[EYERISS / "timeloop-mapper.ERT.yaml"],
                           art_files=[EYERISS / "timeloop-mapper.ART.yaml"], name="eyeriss_like")


def test_eyeriss_like_tree_matches_timeloop_dump():
    result = _eyeriss()
    levels = result.hw["levels"]
    assert [lv["name"] for lv in levels] == ["DRAM", "shared_glb", "inter_PE_column_spatial", "inter_PE_spatial",
                                            "ifmap_spad", "weights_spad", "psum_spad", "mac"]
    glb = levels[1]
    # smartbuffer_SRAM depth 16384 x width 64 / datawidth 8 = 131072 words in blocks of 8; keeps Inputs, Outputs
    assert glb["size_words"] == 131072 and glb["block_words"] == 8 and glb["operands"] == ["ifmap", "ofmap"]
    # ERT: DRAM read 512 pJ per 64-bit block = 64 pJ per 8-bit word (Timeloop's per-scalar energy)
    assert levels[0]["read_energy_pj"] == 64.0
    assert levels[2]["fanout_x"] * levels[2]["fanout_y"] == 14
    assert levels[3]["fanout_x"] * levels[3]["fanout_y"] == 12
    assert levels[6]["word_bits"] == 16 and levels[6]["size_words"] == 16
    assert levels[-1] == {"name": "mac", "kind": "compute", "precision": "int8", "energy_pj": 0.207692,
                          "area_mm2": pytest.approx(0.00019182)}


def test_eyeriss_like_mapping_is_timeloops_loop_nest():
    """timeloop-mapper.map.txt: DRAM P8 Q2 M4 (outer to inner), shared_glb P14 Q4, Q14 across X, C3 S3
    across Y, weights_spad R3, psum_spad M8 (P, Q, R, S -> E, F, R, S)."""
    mapping = _eyeriss().mapping
    assert mapping == {"DRAM": {"temporal": [["E", 8], ["F", 2], ["M", 4]]},
                       "shared_glb": {"temporal": [["E", 14], ["F", 4]]},
                       "inter_PE_column_spatial": {"x": {"F": 14}, "y": {}},
                       "inter_PE_spatial": {"x": {}, "y": {"S": 3, "C": 3}},
                       "ifmap_spad": {"temporal": []}, "weights_spad": {"temporal": [["R", 3]]},
                       "psum_spad": {"temporal": [["M", 8]]}}


def test_eyeriss_like_problem_is_the_padded_window():
    """Timeloop counts the full input window (P-1)*stride + R = 225 (padding included): the layer is
    imported with that input and no padding, so both count the same words."""
    layer = _eyeriss().workload["layers"][0]
    assert layer == {"name": "conv2D", "type": "conv", "N": 1, "C": 3, "M": 32, "R": 3, "S": 3, "H": 225,
                     "W": 225, "stride": [2, 2]}


def test_conv1d_with_output_channels_maps_k_to_m():
    case = DATA / "ispass2020_04-model-conv1d+oc-3levelspatial" / "ref-output" / "kp"
    result = import_timeloop([case / "parsed-processed-input.yaml"])
    assert result.problem.dim_map == {"P": "E", "R": "R", "C": "C", "K": "M"}
    layer = result.workload["layers"][0]
    assert (layer["M"], layer["C"], layer["R"], layer["H"]) == (32, 32, 3, 18)


def test_v03_matmul_problem():
    case = DATA / "pytimeloop_test_two_level_mm"
    result = import_timeloop([case / "two_level.arch.yaml"], [case / "mm.workload.yaml"], [case / "mapping.yaml"])
    # C[M,N] = A[M,K] B[K,N]: A is the activation (ifmap), B the weights, K the reduction (C), N the filters (M)
    assert result.problem.roles == {"A": "ifmap", "B": "filter", "C": "ofmap"}
    layer = result.workload["layers"][0]
    assert (layer["N"], layer["C"], layer["M"]) == (4, 4, 4)
    assert [lv["name"] for lv in result.hw["levels"]] == ["Offchip", "Glb", "Mac"]


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


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
    attributes: {depth: 64, width: 8, datawidth: 8, frobnicate: 3}
  - !Component
    name: MAC
    class: intmac
    attributes: {width: 8}
"""
PROB = """\
problem:
  version: 0.4
  shape:
    name: Conv1D
    dimensions: [R, P]
    data_spaces:
    - {name: Weights, projection: [[[R]]]}
    - {name: Inputs, projection: [[[R], [P]]]}
    - {name: Outputs, projection: [[[P]]], read_write: true}
  instance: {R: 3, P: 16}
"""


def test_unknown_attribute_named_with_file_and_key(tmp_path):
    arch = _write(tmp_path, "arch.yaml", ARCH)
    prob = _write(tmp_path, "prob.yaml", PROB)
    with pytest.raises(AccelsimError) as err:
        import_timeloop([arch], [prob])
    assert "arch.yaml: architecture.nodes[2].attributes.frobnicate: attribute accelsim does not model" in str(err.value)


def test_incomplete_mapping_is_refused(tmp_path):
    arch = _write(tmp_path, "arch.yaml", ARCH.replace(", frobnicate: 3", ""))
    prob = _write(tmp_path, "prob.yaml", PROB)
    mapping = _write(tmp_path, "map.yaml", """\
        mapping:
        - {target: DRAM, type: temporal, factors: R=1 P=4, permutation: RP}
        - {target: Buffer, type: temporal, factors: R=3 P=2, permutation: RP}
        """)
    with pytest.raises(AccelsimError) as err:
        import_timeloop([arch], [prob], [mapping])
    assert "P: factors multiply to 8, bound is 16" in str(err.value)


def test_unsupported_constructs_listed_together(tmp_path):
    arch = _write(tmp_path, "arch.yaml", ARCH.replace("class: regfile", "class: quantum_cache").replace(
        "  - !Component\n    name: DRAM", "  - !Network\n    name: noc\n  - !Component\n    name: DRAM"))
    prob = _write(tmp_path, "prob.yaml", PROB)
    with pytest.raises(AccelsimError) as err:
        import_timeloop([arch], [prob])
    text = str(err.value)
    assert "problem(s) found" in text
    assert "architecture.nodes[1]: unsupported node !Network" in text
    assert "architecture.nodes[3].class: unknown component class 'quantum_cache'" in text


def test_jinja_template_refused_with_the_fix(tmp_path):
    arch = _write(tmp_path, "arch.yaml", "architecture: {{include('x')}}\n")
    with pytest.raises(AccelsimError, match="Jinja2 template; render it first"):
        import_timeloop([arch])


def test_sparse_densities_refused(tmp_path):
    arch = _write(tmp_path, "arch.yaml", ARCH.replace(", frobnicate: 3", ""))
    prob = _write(tmp_path, "prob.yaml", PROB.replace("instance: {R: 3, P: 16}",
                                                      "instance: {R: 3, P: 16, densities: {Inputs: 0.5}}"))
    with pytest.raises(AccelsimError, match="sparse densities"):
        import_timeloop([arch], [prob])


def test_cli_import_writes_valid_files_and_refuses_to_overwrite(tmp_path):
    from click.testing import CliRunner

    from accelsim import spec
    from accelsim.cli import main

    out = tmp_path / "eyeriss"
    args = ["import", "timeloop", "--arch", str(EYERISS / "parsed-processed-input.yaml"),
            "--mapping", str(EYERISS / "timeloop-mapper.map.yaml"), "--ert", str(EYERISS / "timeloop-mapper.ERT.yaml"),
            "--out", str(out)]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == ["hw.yaml", "mapping.yaml", "workload.yaml"]
    tree = spec.load("hw", out / "hw.yaml")
    assert tree.name == "eyeriss_like" and tree.num_macs == 168
    assert spec.load("workloads", out / "workload.yaml").layers[0].macs == 10838016   # Timeloop's "Computes"
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1 and "folder is not empty; pass --force" in again.output
    assert CliRunner().invoke(main, args + ["--force"]).exit_code == 0


def test_cli_bad_file_is_one_error_line(tmp_path):
    from click.testing import CliRunner

    from accelsim.cli import main

    bad = _write(tmp_path, "arch.yaml", "architecture: [1, 2\n")
    done = CliRunner().invoke(main, ["import", "timeloop", "--arch", str(bad), "--out", str(tmp_path / "o")])
    assert done.exit_code == 1 and done.output.startswith("Error: ") and "not valid YAML" in done.output
    assert "Traceback" not in done.output


def test_components_without_ert_are_noted(tmp_path):
    arch = _write(tmp_path, "arch.yaml", ARCH.replace(", frobnicate: 3", ""))
    prob = _write(tmp_path, "prob.yaml", PROB)
    comps = _write(tmp_path, "components.yaml", "compound_components:\n  version: 0.4\n  classes: []\n")
    notes = import_timeloop([arch, comps], [prob]).notes
    assert any("compound components are not evaluated" in n for n in notes)
    assert not any("compound components" in n for n in import_timeloop([arch], [prob]).notes)


def test_run_refuses_options_a_tree_run_does_not_use(tmp_path):
    from click.testing import CliRunner

    from accelsim.cli import main

    out = tmp_path / "eyeriss"
    CliRunner().invoke(main, ["import", "timeloop", "--arch", str(EYERISS / "parsed-processed-input.yaml"),
                              "--mapping", str(EYERISS / "timeloop-mapper.map.yaml"), "--out", str(out)])
    base = ["run", "--hw", str(out / "hw.yaml"), "--workload", str(out / "workload.yaml")]
    pinned = CliRunner().invoke(main, base + ["--mapping", str(out / "mapping.yaml"), "--time-limit", "5",
                                              "--fidelity", "cycle", "--out", str(tmp_path / "r")])
    assert pinned.exit_code == 2 and "--time-limit, --fidelity: not used by a run under pinned --mapping" in pinned.output
    mapped = CliRunner().invoke(main, base + ["--dram-bw", "8", "--out", str(tmp_path / "r")])
    assert mapped.exit_code == 2 and "--dram-bw: not used by the tree mapper" in mapped.output
