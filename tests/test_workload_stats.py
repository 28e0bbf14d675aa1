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
    assert t["activation_bytes"] == int((frame["input_words"] + frame["output_words"]).sum())


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
    assert lines[-1] == "tiny: 3 layers, 2,808 MACs, 648 weights (648 bytes at int8), 323 activation bytes"


def test_unknown_precision_is_a_user_error():
    with pytest.raises(AccelsimError, match=r"precision must be one of .*\(did you mean 'int8'\?\)"):
        stats(TINY, "int9")


def test_unknown_format_is_a_user_error():
    frame = stats(TINY)
    with pytest.raises(AccelsimError, match=r"format must be one of table, csv, json .*did you mean 'json'"):
        render(frame, totals(frame), "jsn")
