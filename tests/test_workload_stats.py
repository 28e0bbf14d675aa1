"""accelsim.workload_stats: per-layer counts, bytes at a precision, and the three output formats."""
import io
import json

import pandas as pd
import pytest

from accelsim import spec
from accelsim.errors import AccelsimError
from accelsim.spec.workload import workload_from_dict
from accelsim.workload_stats import COLUMNS, render, stats, totals

TINY = workload_from_dict({"name": "tiny", "layers": [
    # 3x3 conv, 4 -> 6 channels, 5x5 input, stride 2, pad 1: E = F = 3
    {"name": "c", "type": "conv", "C": 4, "H": 5, "W": 5, "M": 6, "R": 3, "S": 3, "stride": 2, "padding": 1},
    # depthwise 3x3 on 3x3x6, pad 1
    {"name": "dw", "type": "conv", "C": 6, "H": 3, "W": 3, "M": 6, "R": 3, "S": 3, "padding": 1, "groups": 6},
    {"name": "fc", "type": "gemm", "M": 1, "N": 7, "K": 54},
]})


def test_tiny_rows_by_hand():
    frame = stats(TINY)
    assert tuple(frame.columns) == COLUMNS
    c, dw, fc = (frame.iloc[i].to_dict() for i in range(3))
    assert (c["type"], c["input_shape"], c["output_shape"]) == ("conv", "1x4x5x5", "1x6x3x3")
    assert (c["macs"], c["weights"], c["input_words"], c["output_words"]) == (9 * 6 * 4 * 9, 6 * 4 * 9, 100, 54)
    assert (dw["type"], dw["macs"], dw["weights"]) == ("depthwise", 9 * 6 * 9, 6 * 9)
    assert (fc["type"], fc["input_shape"], fc["output_shape"], fc["macs"], fc["weights"]) == ("gemm", "1x54", "1x7", 378, 378)
    # int8: one byte per element
    assert (c["weight_bytes"], c["input_bytes"], c["output_bytes"], c["activation_bytes"]) == (216, 100, 54, 154)


@pytest.mark.parametrize("precision,weight_bytes,fc_bytes", [
    ("int4", 108, 189), ("int8", 216, 378), ("int16", 432, 756), ("fp16", 432, 756), ("bf16", 432, 756),
    ("fp32", 864, 1512)])
def test_bytes_scale_with_precision(precision, weight_bytes, fc_bytes):
    frame = stats(TINY, precision)
    assert frame["weight_bytes"].tolist() == [weight_bytes, weight_bytes // 4, fc_bytes]


def test_int4_rounds_odd_counts_up_to_whole_bytes():
    wl = workload_from_dict({"name": "odd", "layers": [{"name": "g", "type": "gemm", "M": 1, "N": 3, "K": 1}]})
    row = stats(wl, "int4").iloc[0]
    assert (row["weights"], row["weight_bytes"], row["input_bytes"], row["output_bytes"]) == (3, 2, 1, 2)


def test_mobilenet_v1_totals():
    t = totals(stats(spec.load("workloads", "mobilenet_v1")))
    assert (t["macs"], t["weights"], t["weight_bytes"], t["layers"]) == (568_740_352, 4_209_088, 4_209_088, 56)
    assert (t["workload"], t["precision"]) == ("mobilenet_v1", "int8")


def test_mobilenet_v1_fp16_weight_bytes():
    assert totals(stats(spec.load("workloads", "mobilenet_v1"), "fp16"))["weight_bytes"] == 2 * 4_209_088


@pytest.mark.parametrize("name", spec.builtin_names("workloads"))
def test_totals_agree_with_the_workload_for_every_preset(name):
    wl = spec.load("workloads", name)
    frame = stats(wl)
    t = totals(frame)
    assert (t["macs"], t["weights"], t["layers"]) == (wl.macs, wl.weights, len(wl.layers))
    moving = frame[frame["unit"] != "none"]
    assert t["activation_bytes"] == int((moving["input_words"] + moving["output_words"]).sum())


def test_json_has_totals_and_layers():
    frame = stats(spec.load("workloads", "mobilenet_v1"))
    data = json.loads(render(frame, totals(frame), "json"))
    assert data["totals"]["macs"] == 568_740_352 and data["totals"]["weights"] == 4_209_088
    assert len(data["layers"]) == 56 and data["layers"][0]["layer"] == "conv1"
    assert data["layers"][-1] == {**data["layers"][-1], "type": "gemm", "macs": 1_024_000}


def test_csv_round_trips():
    frame = stats(TINY)
    back = pd.read_csv(io.StringIO(render(frame, totals(frame), "csv")))
    assert back["macs"].tolist() == frame["macs"].tolist()
    assert tuple(back.columns) == COLUMNS


def test_table_has_every_layer_and_a_totals_line():
    frame = stats(TINY)
    text = render(frame, totals(frame), "table")
    lines = text.splitlines()
    assert len(lines) == 1 + 3 + 1  # 1944 + 486 + 378 MACs; (100+54) + (54+54) + (54+7) bytes
    assert lines[-1] == ("tiny: 3 layers, 2,808 MACs, 648 weights (648 bytes), 667 params with biases and BN, "
                         "323 activation bytes; default precision int8")  # biases: 6 + 6 + 7


def test_unknown_precision_is_a_user_error():
    with pytest.raises(AccelsimError, match=r"precision must be one of .*\(did you mean 'int8'\?\)"):
        stats(TINY, "int9")


def test_unknown_format_is_a_user_error():
    frame = stats(TINY)
    with pytest.raises(AccelsimError, match=r"format must be one of table, csv, json .*did you mean 'json'"):
        render(frame, totals(frame), "jsn")


# --- parameters, tensor storage, precision and sparsity annotations ----------------------------

SEED = workload_from_dict({"name": "seed", "layers": [
    # storage of weights + input + output ([sze2020] ch. 2) with B = 2, C = 4, H = W = 6, M = 8, K = 3, pad 1
    {"name": "std", "type": "conv", "N": 2, "C": 4, "H": 6, "W": 6, "M": 8, "R": 3, "S": 3, "padding": 1,
     "precision": "fp32"},
    {"name": "std_bn", "type": "batchnorm"},
    # depthwise separable ([howard2017] section 3.1): depthwise K x K on C, then pointwise M x C
    {"name": "dw", "type": "conv", "C": 4, "H": 6, "W": 6, "M": 4, "R": 3, "S": 3, "padding": 1, "groups": 4,
     "precision": "fp32", "bias": False},
    {"name": "pw", "type": "conv", "C": 4, "H": 6, "W": 6, "M": 8, "R": 1, "S": 1, "precision": "fp32", "bias": False},
    {"name": "sparse", "type": "gemm", "M": 1, "N": 40, "K": 100, "weight_density": 0.3, "activation_density": 0.5},
    {"name": "nm", "type": "gemm", "M": 2, "N": 8, "K": 16, "nm": "2:4", "precision": "int4"},
]})


def test_params_biases_and_bn():
    rows = stats(SEED).set_index("layer")
    assert (rows.loc["std", "biases"], rows.loc["std", "bn_params"]) == (0, 0)   # BN folds in: no own bias
    assert rows.loc["std_bn", "bn_params"] == 4 * 8 and rows.loc["std_bn", "unit"] == "none"
    assert rows.loc["std_bn", "folded_into"] == "std"
    assert rows.loc["sparse", "biases"] == 40 and rows.loc["sparse", "params"] == 4000 + 40
    assert rows.loc["std", "param_bytes"] == 4 * 288 and rows.loc["std_bn", "param_bytes"] == 32  # fp32 / int8


def test_storage_formulas():
    rows = stats(SEED).set_index("layer")
    b, c, h, w, m, k, e, f = 2, 4, 6, 6, 8, 3, 6, 6
    # standard convolution: 32 x (M*C*K*K + B*C*H*W + B*M*E*F) bits
    assert rows.loc["std", "storage_bytes"] * 8 == 32 * (m * c * k * k + b * c * h * w + b * m * e * f)
    # depthwise separable (B = 1): 32 x (CHW + CKK + CEF + MC + MEF), the shared CEF counted once
    pair = rows.loc["dw", "storage_bytes"] + rows.loc["pw", "storage_bytes"] - 4 * c * e * f
    assert pair * 8 == 32 * (c * h * w + c * k * k + c * e * f + m * c + m * e * f)


def test_precision_annotation_overrides_the_default():
    rows = stats(SEED, "int16").set_index("layer")
    assert list(rows["precision"]) == ["fp32", "int16", "fp32", "fp32", "int16", "int4"]
    assert rows.loc["nm", "weight_bytes"] == 128 // 2 and rows.loc["sparse", "weight_bytes"] == 8000


def test_sparsity_columns_by_hand():
    rows = stats(SEED).set_index("layer")
    s = rows.loc["sparse"]
    assert s["effective_macs"] == 600                       # 4000 x 0.3 x 0.5 ([sze2020] ch. 8 bound)
    # 4000 weights, 1200 non-zeros at 8 bits
    assert s["weight_bytes_bitmap"] == (4000 + 1200 * 8) // 8 == 1700
    assert s["weight_bytes_rle"] == 1200 * (5 + 8) // 8 == 1950   # 2800 zeros need only 91 entries
    assert s["weight_bytes_coo"] == 1200 * (8 + 6 + 7) // 8 == 3150   # K=100: 7 bits, N=40: 6 bits
    # input: 1 x 100 activations at density 0.5: 50 non-zeros; COO indexes the 100 channels (7 bits)
    assert (s["input_bytes_bitmap"], s["input_bytes_rle"], s["input_bytes_coo"]) == (
        -(-(100 + 50 * 8) // 8), -(-50 * 13 // 8), -(-50 * (8 + 7) // 8))
    n = rows.loc["nm"]
    # 2:4 on 128 int4 weights: 64 kept, 4 bits + 2-bit index each; density 1/2 by default
    assert (n["weight_density"], n["nm"], n["weight_bytes_nm"]) == (0.5, "2:4", 64 * 6 // 8)
    assert n["effective_macs"] == 2 * 8 * 16 // 2
    assert rows.loc["std", "weight_bytes_nm"] == rows.loc["std", "weight_bytes"]  # dense without nm


def test_rle_counts_extra_entries_for_long_runs():
    from accelsim import sparsity
    # 1000 elements, 2 non-zeros: 998 zeros need ceil(998 / 31) = 33 entries of 5 + 8 bits
    assert sparsity.rle_bytes(1000, 2, 8) == -(-33 * 13 // 8)
    assert sparsity.effective_macs(10, 0.3, 1.0) == 3 and sparsity.effective_macs(10, 0.35) == 4  # ceil(3.5)
    assert sparsity.nm_kept(10, 2, 4) == 2 + 2 + 2


def test_json_types_and_totals():
    frame = stats(SEED)
    data = json.loads(render(frame, totals(frame), "json"))
    assert data["totals"]["macs"] == SEED.macs and data["totals"]["weights"] == SEED.weights
    assert data["totals"]["params"] == SEED.params
    assert data["layers"][4]["weight_density"] == 0.3 and data["layers"][5]["nm"] == "2:4"
