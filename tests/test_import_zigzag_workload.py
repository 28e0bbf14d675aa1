"""`accelsim import zigzag --workload`: ZigZag workload layers in any loop-dim names (its GEMM layer
``O[d0][d1]+=I[d0][d2]*W[d2][d1]``, its ONNX parser's ``C, D, K, B``, its conv with groups) read by
the role each dim plays in the equation; ZigZag's GEMM accelerators (gemm_l1, gemm_l1_l3, copied
from ZigZag 3.9.1 into tests/data/zigzag) imported and run against ZigZag's own numbers."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from accelsim import spec
from accelsim.cli import main
from accelsim.errors import SpecError
from accelsim.importers import zigzag_files as zf
from accelsim.importers.zigzag import import_zigzag

DATA = Path(__file__).parent / "data" / "zigzag"
GEMM = DATA / "workload" / "gemm_layer.yaml"


def _layers(tmp_path, text):
    path = tmp_path / "w.yaml"
    path.write_text(text)
    return zf.read_workload_layers(path)


def test_zigzag_gemm_layer_reads_as_a_gemm():
    """ZigZag's gemm_layer.yaml: D0 indexes outputs and inputs (rows), D1 outputs and weights
    (columns), D2 inputs and weights (the reduction)."""
    (w,) = zf.read_workload_layers(GEMM)
    assert w.layer == {"name": "Layer0", "type": "gemm", "M": 128, "N": 128, "K": 128}
    assert w.dims == {"D0": "B", "D1": "K", "D2": "C"}
    assert (w.bits, w.final_bits) == ({"ifmap": 8, "filter": 8, "ofmap": 32}, 8)


def test_onnx_parser_batched_matmul_and_grouped_conv(tmp_path):
    """The equations ZigZag's ONNX parser writes (zigzag/parser/onnx/gemm_parser.py, conv_parser.py):
    a 3-D MatMul's second batch-like dim takes the output rows (1 x 1 window); a conv's G groups."""
    matmul, conv = _layers(tmp_path, """
- id: 0
  operator_type: MatMul
  equation: O[b][d][k]+=I[b][d][c]*W[c][k]
  dimension_relations: []
  loop_dims: [C, D, K, B]
  loop_sizes: [64, 10, 32, 2]
  operand_precision: {W: 8, I: 8, O: 16, O_final: 8}
- id: 1
  name: dw
  operator_type: Conv
  equation: O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]
  dimension_relations: [ix=2*ox+1*fx, iy=2*oy+1*fy]
  loop_dims: [B, G, K, C, OY, OX, FY, FX]
  loop_sizes: [1, 32, 1, 1, 7, 7, 3, 3]
  operand_precision: {W: 8, I: 8, O: 16, O_final: 8}
""")
    assert matmul.layer == {"name": "Layer0", "type": "conv", "N": 2, "C": 64, "M": 32, "R": 1, "S": 1, "H": 10, "W": 1}
    assert matmul.dims == {"B": "B", "D": "OY", "K": "K", "C": "C"}
    assert conv.layer == {"name": "dw", "type": "conv", "N": 1, "C": 32, "M": 32, "R": 3, "S": 3, "H": 15, "W": 15,
                          "groups": 32, "stride": [2, 2]}
    path = tmp_path / "acc.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "layers": [matmul.layer, conv.layer]}))
    loaded = spec.load("workloads", path).layers
    assert [lay.macs for lay in loaded] == [2 * 10 * 64 * 32, 32 * 7 * 7 * 9]


def test_zigzag_padding_becomes_accelsim_padding(tmp_path):
    """ZigZag's padding ([before, after] per pr_loop_dims entry) shrinks the input
    (zigzag/workload/layer_node.py); accelsim's conv pads both sides alike: 56 outputs of a 3x3
    window over a 56-wide input padded by 1."""
    (w,) = _layers(tmp_path, """
- id: 0
  operator_type: Conv
  equation: O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]
  dimension_relations: [ix=1*ox+1*fx, iy=1*oy+1*fy]
  loop_dims: [B, K, C, OY, OX, FY, FX]
  loop_sizes: [1, 64, 64, 56, 56, 3, 3]
  operand_precision: {W: 8, I: 8, O: 16, O_final: 8}
  pr_loop_dims: [IY, IX]
  padding: [[1, 1], [1, 1]]
""")
    assert (w.layer["H"], w.layer["W"], w.layer["padding"]) == (56, 56, [1, 1])


def test_every_unsupported_layer_construct_is_listed_at_once(tmp_path):
    """ZigZag's ResNet-18 file has pooling and Add layers; a dim of no conv role, an asymmetric pad
    and an unknown key: one error, every problem with its key path."""
    with pytest.raises(SpecError) as err:
        _layers(tmp_path, """
- id: 0
  operator_type: Pooling
  equation: O[b][g][oy][ox]+=W[fx][fy]*I[b][g][iy][ix]
  dimension_relations: [ix=2*ox+1*fx, iy=2*oy+1*fy]
  loop_dims: [B, G, OY, OX, FX, FY]
  loop_sizes: [1, 64, 56, 56, 3, 3]
  operand_precision: {I: 8, W: 0, O: 16, O_final: 8}
- id: 1
  operator_type: Add
  equation: O[b][g][oy][ox]=W[b][g][oy][ox]+I[b][g][oy][ox]
  loop_dims: [B, G, OY, OX]
  loop_sizes: [1, 64, 56, 56]
  operand_precision: {W: 8, I: 8, O: 16, O_final: 8}
- id: 2
  operator_type: Gemm
  equation: O[b][k][x]+=I[b][c]*W[c][k]
  loop_dims: [B, C, K, X]
  loop_sizes: [4, 8, 8, 2]
  operand_precision: {W: 8, I: 8, O: 16, O_final: 8}
  sparsity: 0.5
- id: 3
  operator_type: Conv
  equation: O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]
  dimension_relations: [ix=1*ox+1*fx, iy=1*oy+1*fy]
  loop_dims: [B, K, C, OY, OX, FY, FX]
  loop_sizes: [1, 8, 8, 8, 8, 3, 3]
  operand_precision: {W: 8, I: 8, O: 16, O_final: 8}
  pr_loop_dims: [IY, IX]
  padding: [[0, 1], [1, 1]]
""")
    where = [p.key_path for p in err.value.problems]
    assert where == ["[0].operator_type", "[1].operator_type", "[2].sparsity", "[2].loop_dims", "[3].padding[0]"]
    text = str(err.value)
    assert "Pooling: accelsim imports ZigZag's MAC layers" in text and "X indexes O of the equation" in text


def test_workload_precision_sets_the_word_widths():
    """Without a ZigZag result, the workload's operand_precision sets the hardware's word widths:
    gemm_layer.yaml's 32-bit partial sums in gemm_l1's output register (one 32-bit word)."""
    result = import_zigzag(DATA / "hardware" / "gemm_l1.yaml", DATA / "mapping" / "gemm_l1.yaml", GEMM)
    levels = {lv["name"]: lv for lv in result.hw["levels"]}
    assert levels["reg_O"]["word_bits"] == 32 and levels["reg_O"]["size_words"] == 1
    assert levels["l1"]["word_bits"] == {"ifmap": 8, "filter": 8, "ofmap": 32}
    # each operand at its own port (allocation): I1 and I2 on 512-bit ports, O on a 2,048-bit one
    assert levels["l1"]["read_energy_pj"] == pytest.approx({"ifmap": 22.9 * 8 / 512, "filter": 22.9 * 8 / 512,
                                                            "ofmap": 22.9 * 32 / 2048})
    assert result.spatial == {"array_D1": (("N", 8),), "array_D2": (("C", 8),), "array_D3": (("M", 8),)}


@pytest.mark.parametrize("hardware", ["gemm_l1", "gemm_l1_l3"])
def test_cli_gemm_accelerators_import_and_run(hardware, tmp_path):
    """`accelsim import zigzag` with the workload and ZigZag's result, then `accelsim run`: ZigZag
    3.9.1's energy for its GEMM layer on its GEMM accelerators (gemm_l1 528,936.96 pJ; gemm_l1_l3
    19.860 uJ, its final outputs leaving l1 through a narrower port priced at it, counting: zigzag's
    energy_by_port)."""
    run = DATA / f"{hardware}__Layer0.json"
    imported, out = tmp_path / "imp", tmp_path / "run"
    done = CliRunner().invoke(main, ["import", "zigzag", "--hardware", str(DATA / "hardware" / f"{hardware}.yaml"),
                                     "--mapping", str(DATA / "mapping" / f"{hardware}.yaml"), "--workload", str(GEMM),
                                     "--result", str(run), "--out", str(imported)])
    assert done.exit_code == 0, done.output
    assert ("force_double_buffering" in done.output) == (hardware == "gemm_l1_l3")
    done = CliRunner().invoke(main, ["run", "--hw", str(imported / "hw.yaml"), "--workload", str(imported / "workload.yaml"),
                                     "--mapping", str(imported / "mapping.yaml"), "--out", str(out)])
    assert done.exit_code == 0, done.output
    row = pd.read_csv(out / "layers.csv").iloc[0]
    reference = json.loads(run.read_text())
    assert row["energy_pj"] == pytest.approx(reference["energy"]["energy_total"], rel=1e-6)
    assert row["macs"] == 128 ** 3 and row["compute_cycles"] == 128 ** 3 // 512


def test_bad_port_allocation_is_named(tmp_path):
    text = (DATA / "hardware" / "gemm_l1.yaml").read_text().replace("- O, fh", "- O, sideways")
    path = tmp_path / "hw.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=r"memories.reg_O.ports\[0\].allocation\[0\]: expected 'OPERAND, DIRECTION'"):
        zf.read_hardware(path)


def test_partial_sums_wider_than_a_register_are_refused_at_import(tmp_path):
    """ZigZag's GEMM layer keeps 32-bit partial sums; tpu_like's output register rf_2B holds 16 bits:
    the import says so (the ZigZag memory and the fix), exit 1, nothing written (it used to write a
    hw.yaml that `accelsim run` refused with size_words 0)."""
    out = tmp_path / "o"
    done = CliRunner().invoke(main, ["import", "zigzag", "--hardware", str(DATA / "hardware" / "tpu_like.yaml"),
                                     "--mapping", str(DATA / "mapping" / "tpu_like.yaml"), "--workload", str(GEMM),
                                     "--out", str(out)])
    assert done.exit_code == 1 and done.output.startswith("Error:")
    assert "memories.rf_2B.size: 16 bits hold no 32-bit ofmap word" in done.output
    assert not out.exists()


def test_mapping_keys_not_used_are_noted():
    """ZigZag's shipped tpu_like_mixed.yaml: a spatial_mapping_hint (its search's hint) is named in a
    note, not dropped silently; its spatial mapping of three dims on one array dimension is read."""
    result = import_zigzag(DATA / "hardware" / "tpu_like.yaml", DATA / "mapping" / "tpu_like_mixed.yaml")
    assert any("default.spatial_mapping_hint: ZigZag's hint for its spatial-mapping search; not used" in n
               for n in result.notes)
    assert result.spatial["array_D2"] == (("C", 2), ("S", 3), ("R", 3))


@pytest.mark.parametrize("model", ["resnet18", "mobilenetv2"])
def test_zigzags_onnx_models_give_zigzags_layers(model, tmp_path):
    """ZigZag's shipped ONNX models (tests/data/zigzag/workload; resnet18.onnx without the external
    weight file it names) through `accelsim import zigzag --workload`: every MAC layer's MACs equal
    those ZigZag's own ONNX parser reads (benchmarks/zigzag_runner.py onnx_macs: ResNet-18 21 layers,
    1,814,073,344 MACs; MobileNet-v2 53 layers, 300,774,272)."""
    import re

    out = tmp_path / "o"
    done = CliRunner().invoke(main, ["import", "zigzag", "--hardware", str(DATA / "hardware" / "tpu_like.yaml"),
                                     "--workload", str(DATA / "workload" / f"{model}.onnx"), "--out", str(out)])
    assert done.exit_code == 0, done.output
    ours = {lay.name: lay.macs for lay in spec.load("workloads", out / "workload.yaml").layers if lay.is_mac}
    theirs = {re.sub(r"[^A-Za-z0-9_.-]", "_", x["name"]): x["macs"]
              for x in json.loads((DATA / "onnx_layer_macs.json").read_text())[model]}
    assert ours == theirs
