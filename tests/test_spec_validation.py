"""Negative tests for every validation rule in accelsim/spec (hw, workload, dataflow files).

Every bad input must raise :class:`SpecError` (an :class:`AccelsimError`) whose message names the
file and the key path of the problem (``x.yaml: sram.ifmap.size_kib: ...``), and all problems of
one file must be reported together. Valid inputs start from copies of the presets and are mutated
one key at a time.
"""
from __future__ import annotations

import copy
import math

import pytest
import yaml

from accelsim.errors import AccelsimError, SpecError
from accelsim.spec import (dataflow_from_dict, hardware_from_dict, load_any, load_dataflow,
                           load_hardware, load_workload, workload_from_dict)

FILE = "x.yaml"

# A copy of hw/scalesim_default.yaml (comments dropped).
HW = {
    "name": "scalesim_default",
    "description": "SCALE-Sim v3 default config",
    "source": "Samajdar et al., ISPASS 2020",
    "array": {"rows": 32, "cols": 32, "interconnect": "systolic"},
    "precision": "int8",
    "clock_mhz": 1000,
    "sram": {
        "double_buffered": True,
        "ifmap": {"size_kib": 64},
        "filter": {"size_kib": 64},
        "ofmap": {"size_kib": 64},
    },
    "dram": {"bandwidth_bytes_per_cycle": 10},
    "timing": "scalesim",
}

# A copy of dataflows/ws.yaml.
WS = {
    "name": "ws",
    "long_name": "weight stationary",
    "description": "Filter weights stay in the PEs",
    "source": "Samajdar et al., ISPASS 2020",
    "rows": ["C", "R", "S"],
    "cols": ["M"],
    "time": ["N", "E", "F"],
    "stationary": "filter",
}

# A small workload: one conv layer and one GEMM layer.
WL = {
    "name": "tiny",
    "description": "two layers",
    "source": "made up for tests",
    "batch": 1,
    "layers": [
        {"name": "conv", "type": "conv", "C": 4, "H": 8, "W": 8, "M": 6, "R": 3, "S": 3,
         "stride": 1, "padding": 1, "groups": 2},
        {"name": "fc", "type": "gemm", "M": 2, "N": 10, "K": 16},
    ],
}


def mutate(base: dict, path: str, value) -> dict:
    """A deep copy of ``base`` with the key at ``path`` (``sram.ifmap.size_kib``, ``layers.0.C``) set."""
    data = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def remove(base: dict, path: str) -> dict:
    data = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    del node[last]
    return data


def spec_error(build, data) -> SpecError:
    with pytest.raises(SpecError) as info:
        build(data, file=FILE)
    assert isinstance(info.value, AccelsimError)
    return info.value


def assert_problem(build, data, key_path: str, *fragments: str, count: int | None = 1) -> SpecError:
    """``build(data)`` fails with a problem at ``key_path`` whose message holds every fragment."""
    err = spec_error(build, data)
    text = str(err)
    at_path = [p for p in err.problems if p.key_path == key_path]
    assert at_path, f"no problem reported at {key_path!r}; got:\n{text}"
    assert f"{FILE}: {key_path}: " in text
    for fragment in fragments:
        assert any(fragment in p.message for p in at_path), f"{fragment!r} not in:\n{text}"
    if count is not None:
        assert len(err.problems) == count, text
    return err


def test_valid_inputs_build():
    hw = hardware_from_dict(HW, file=FILE)
    assert (hw.array_rows, hw.array_cols, hw.sram_ifmap.size_bytes) == (32, 32, 64 * 1024)
    assert hw.dram_bandwidth_bytes_per_cycle == 10.0 and hw.file == FILE
    df = dataflow_from_dict(WS, file=FILE)
    assert (df.rows_axis, df.cols_axis, df.time_axis) == ("K", "M", "P")
    wl = workload_from_dict(WL, file=FILE)
    assert [layer.name for layer in wl.layers] == ["conv", "fc"]


# --- hardware ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "name", "array", "array.rows", "array.cols", "precision", "clock_mhz", "sram", "sram.ifmap",
    "sram.ifmap.size_kib", "sram.filter", "sram.filter.size_kib", "sram.ofmap",
    "sram.ofmap.size_kib", "dram", "dram.bandwidth_bytes_per_cycle",
])
def test_hw_missing_required_key(path):
    err = spec_error(hardware_from_dict, remove(HW, path))
    assert f"{FILE}: {path}" in str(err)
    assert "required key is missing" in str(err)


@pytest.mark.parametrize("path", ["description", "source", "array.interconnect",
                                  "sram.double_buffered", "timing"])
def test_hw_optional_keys_have_defaults(path):
    hw = hardware_from_dict(remove(HW, path), file=FILE)
    assert hw.interconnect == "systolic" and hw.double_buffered is True


@pytest.mark.parametrize("parent,bad,hint", [
    ("", "timming", "timing"),
    ("", "clock_mhzz", "clock_mhz"),
    ("array", "colls", "cols"),
    ("array", "rowz", "rows"),
    ("sram", "ifmapp", "ifmap"),
    ("sram", "double_bufered", "double_buffered"),
    ("sram.ifmap", "size_kb", "size_kib"),
    ("dram", "bandwith_bytes_per_cycle", "bandwidth_bytes_per_cycle"),
])
def test_hw_unknown_key_with_did_you_mean(parent, bad, hint):
    path = f"{parent}.{bad}" if parent else bad
    data = mutate(HW, path, 1)
    assert_problem(hardware_from_dict, data, path, "unknown key", f"did you mean '{hint}'?", "allowed keys")


@pytest.mark.parametrize("path,value,fragment", [
    ("array.rows", "32", "must be an integer"),
    ("array.rows", True, "must be an integer"),
    ("array.rows", 32.5, "must be an integer"),
    ("array.rows", [32], "must be an integer"),
    ("array.rows", 0, "must be >= 1 (got 0)"),
    ("array.cols", -4, "must be >= 1 (got -4)"),
    ("array.cols", float("nan"), "must be an integer"),
    ("clock_mhz", "fast", "must be a number"),
    ("clock_mhz", True, "must be a number"),
    ("clock_mhz", float("inf"), "must be a number"),
    ("clock_mhz", 0, "must be > 0"),
    ("clock_mhz", -100, "must be > 0"),
    ("sram.ifmap.size_kib", "64", "must be a number"),
    ("sram.ifmap.size_kib", False, "must be a number"),
    ("sram.ifmap.size_kib", 0, "must be > 0 (got 0)"),
    ("sram.ifmap.size_kib", -4, "must be > 0 (got -4)"),
    ("sram.filter.size_kib", 0.0001, "whole number of bytes"),
    ("sram.ofmap.size_kib", [64], "must be a number"),
    ("sram.double_buffered", "yes", "must be true or false"),
    ("sram.double_buffered", 1, "must be true or false"),
    ("name", 5, "non-empty string"),
    ("name", "  ", "non-empty string"),
    ("description", ["a"], "non-empty string"),
    ("vector.lanes", 0, "must be >= 1 (got 0)"),
    ("vector.lanes", 2.5, "must be an integer"),
])
def test_hw_bad_value(path, value, fragment):
    assert_problem(hardware_from_dict, mutate(HW, path, value), path, fragment)


def test_hw_buffer_must_hold_one_word():
    # 1 byte (1/1024 KiB) cannot hold one 32-bit word
    data = mutate(mutate(HW, "precision", "fp32"), "sram.ofmap.size_kib", 1 / 1024)
    assert_problem(hardware_from_dict, data, "sram.ofmap.size_kib", "at least one word")
    # ... but holds one int8 word
    assert hardware_from_dict(mutate(HW, "sram.ofmap.size_kib", 1 / 1024), file=FILE).sram_ofmap.size_bytes == 1


def test_hw_integral_float_is_accepted():
    hw = hardware_from_dict(mutate(HW, "array.rows", 16.0), file=FILE)
    assert hw.array_rows == 16 and isinstance(hw.array_rows, int)


@pytest.mark.parametrize("path,value,hint", [
    ("precision", "int7", "int8"),
    ("precision", "fp64", "fp16"),
    ("precision", "INT8", None),
    ("precision", 8, None),
    ("timing", "scalsim", "scalesim"),
    ("timing", "physics", "physical"),
    ("array.interconnect", "systolc", "systolic"),
    ("array.interconnect", "mesh", None),
])
def test_hw_bad_choice(path, value, hint):
    err = assert_problem(hardware_from_dict, mutate(HW, path, value), path, "must be one of", repr(value))
    if hint:
        assert f"did you mean '{hint}'?" in str(err)


@pytest.mark.parametrize("value", ["fast", "Unlimited", "inf", "10 GB/s", 0, -10, True,
                                   float("inf"), float("nan"), [10]])
def test_hw_bad_bandwidth(value):
    assert_problem(hardware_from_dict, mutate(HW, "dram.bandwidth_bytes_per_cycle", value),
                   "dram.bandwidth_bytes_per_cycle", "number > 0 or the string unlimited")


@pytest.mark.parametrize("value,expected", [("unlimited", math.inf), (10, 10.0), (2.5, 2.5)])
def test_hw_good_bandwidth(value, expected):
    hw = hardware_from_dict(mutate(HW, "dram.bandwidth_bytes_per_cycle", value), file=FILE)
    assert hw.dram_bandwidth_bytes_per_cycle == expected


@pytest.mark.parametrize("path", ["array", "sram", "sram.ifmap", "dram"])
def test_hw_section_must_be_a_mapping(path):
    err = spec_error(hardware_from_dict, mutate(HW, path, 32))
    assert f"{FILE}: {path}: must be a mapping" in str(err)


def test_hw_all_problems_reported_together():
    data = mutate(remove(HW, "array.cols"), "array.colls", 32)   # misspelt: unknown, cols missing
    data = mutate(data, "sram.ifmap.size_kib", -4)          # non-positive
    data = mutate(data, "precision", "int7")                # bad choice
    data = mutate(data, "dram.bandwidth_bytes_per_cycle", "lots")
    data = mutate(data, "array.rows", "32")                 # string for int
    err = spec_error(hardware_from_dict, data)
    text = str(err)
    assert text.startswith(f"{len(err.problems)} problem(s) found")
    for path in ("array.colls", "array.cols", "sram.ifmap.size_kib", "precision",
                 "dram.bandwidth_bytes_per_cycle", "array.rows"):
        assert f"{FILE}: {path}: " in text, path
    assert len(err.problems) == 6
    assert "did you mean 'cols'?" in text


# --- workloads -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["name", "layers", "layers.0.name", "layers.0.type", "layers.0.C",
                                  "layers.0.H", "layers.0.W", "layers.0.M", "layers.0.R",
                                  "layers.0.S", "layers.1.M", "layers.1.N", "layers.1.K"])
def test_workload_missing_required_key(path):
    key_path = path.replace("layers.0.", "layers[0].").replace("layers.1.", "layers[1].")
    err = spec_error(workload_from_dict, remove(WL, path))
    assert f"{FILE}: {key_path}: required key is missing" in str(err)


def test_workload_optional_keys_have_defaults():
    data = WL
    for key in ("stride", "padding", "groups"):
        data = remove(data, f"layers.0.{key}")
    data = remove(remove(data, "batch"), "description")
    data = mutate(data, "layers.0.H", 3)
    layer = workload_from_dict(data, file=FILE).layers[0]
    assert (layer.N, layer.stride_h, layer.stride_w, layer.pad_h, layer.pad_w, layer.groups) == (1, 1, 1, 0, 0, 1)
    assert layer.E == 1


@pytest.mark.parametrize("path,key_path,hint", [
    ("batchh", "batchh", "batch"),
    ("layer", "layer", "layers"),
    ("layers.0.stide", "layers[0].stide", "stride"),
    ("layers.0.pading", "layers[0].pading", "padding"),
    ("layers.0.group", "layers[0].group", "groups"),
    ("layers.1.typ", "layers[1].typ", "type"),
])
def test_workload_unknown_key_with_did_you_mean(path, key_path, hint):
    assert_problem(workload_from_dict, mutate(WL, path, 1), key_path, "unknown key", f"did you mean '{hint}'?")


def test_workload_gemm_rejects_conv_keys():
    err = assert_problem(workload_from_dict, mutate(WL, "layers.1.stride", 2), "layers[1].stride", "unknown key")
    assert ("allowed keys: K, M, N, activation_density, bias, name, nm, precision, type, weight_density"
            in str(err))


@pytest.mark.parametrize("path,value,fragment", [
    ("layers.0.C", "4", "must be an integer"),
    ("layers.0.C", True, "must be an integer"),
    ("layers.0.H", 8.5, "must be an integer"),
    ("layers.0.W", 0, "must be >= 1 (got 0)"),
    ("layers.0.M", -6, "must be >= 1 (got -6)"),
    ("layers.0.R", [3], "must be an integer"),
    ("layers.0.groups", 0, "must be >= 1"),
    ("layers.0.N", 0, "must be >= 1"),
    ("layers.0.stride", 0, "must be >= 1 (got 0)"),
    ("layers.0.stride", "2", "must be an integer"),
    ("layers.0.padding", -1, "must be >= 0 (got -1)"),
    ("layers.0.padding", [1, -1], "must be >= 0 (got -1)"),
    ("layers.1.K", 0, "must be >= 1"),
    ("layers.1.N", False, "must be an integer"),
    ("layers.0.name", 7, "non-empty string"),
    ("layers.0.name", "", "non-empty string"),
])
def test_workload_bad_value(path, value, fragment):
    key_path = path.replace("layers.0.", "layers[0].").replace("layers.1.", "layers[1].")
    assert_problem(workload_from_dict, mutate(WL, path, value), key_path, fragment)


@pytest.mark.parametrize("value,fragment", [(0, "must be >= 1 (got 0)"), ("2", "must be an integer"),
                                            (True, "must be an integer"), (1.5, "must be an integer")])
def test_workload_bad_batch(value, fragment):
    assert_problem(workload_from_dict, mutate(WL, "batch", value), "batch", fragment)


@pytest.mark.parametrize("value,hint", [("Conv", "conv"), ("gem", "gemm"), ("fc", None), ("pool", None)])
def test_workload_bad_layer_type(value, hint):
    err = assert_problem(workload_from_dict, mutate(WL, "layers.1.type", value), "layers[1].type",
                         "must be one of conv, gemm", repr(value))
    if hint:
        assert f"did you mean '{hint}'?" in str(err)


@pytest.mark.parametrize("c,m,groups,bad", [
    (6, 4, 4, ["C=6"]),          # 4 divides M only
    (4, 6, 4, ["M=6"]),          # 4 divides C only
    (6, 9, 4, ["C=6", "M=9"]),   # neither
])
def test_workload_groups_must_divide_c_and_m(c, m, groups, bad):
    data = mutate(mutate(mutate(WL, "layers.0.C", c), "layers.0.M", m), "layers.0.groups", groups)
    err = assert_problem(workload_from_dict, data, "layers[0].groups", "must divide", count=len(bad))
    for fragment in bad:
        assert f"must divide {fragment} (got {groups})" in str(err)


def test_workload_depthwise_groups_accepted():
    data = mutate(mutate(mutate(WL, "layers.0.C", 8), "layers.0.M", 8), "layers.0.groups", 8)
    assert workload_from_dict(data, file=FILE).layers[0].is_depthwise


@pytest.mark.parametrize("changes,key_path,padded", [
    ({"H": 2, "padding": 0}, "layers[0].R", "H+2*padding=2"),
    ({"W": 1, "padding": 0}, "layers[0].S", "W+2*padding=1"),
    ({"H": 1, "W": 1, "padding": 0}, None, None),
])
def test_workload_filter_larger_than_padded_input(changes, key_path, padded):
    data = WL
    for key, value in changes.items():
        data = mutate(data, f"layers.0.{key}", value)
    err = spec_error(workload_from_dict, data)
    if key_path is None:  # both dims too small: both reported
        assert {p.key_path for p in err.problems} == {"layers[0].R", "layers[0].S"}
        return
    assert_problem(workload_from_dict, data, key_path, "larger than the padded input", padded)


def test_workload_filter_fits_once_padded():
    # H=1 with R=3 has no output unpadded but one row with padding 1
    layer = workload_from_dict(mutate(mutate(WL, "layers.0.H", 1), "layers.0.padding", 1), file=FILE).layers[0]
    assert layer.E == 1


def test_workload_duplicate_layer_names():
    data = mutate(WL, "layers.1.name", "conv")
    assert_problem(workload_from_dict, data, "layers[1].name", "duplicate layer name 'conv'", "layers[0]")


@pytest.mark.parametrize("value", [[], {}, "conv", 3])
def test_workload_layers_must_be_a_non_empty_list(value):
    assert_problem(workload_from_dict, mutate(WL, "layers", value), "layers", "non-empty list")


def test_workload_layer_must_be_a_mapping():
    data = mutate(WL, "layers.1", 5)
    err = spec_error(workload_from_dict, data)
    assert f"{FILE}: layers[1]: must be a mapping" in str(err)


@pytest.mark.parametrize("key,value,expected", [
    ("stride", [2, 1], (2, 1)),
    ("stride", 2, (2, 2)),
    ("padding", [1, 0], (1, 0)),
    ("padding", 0, (0, 0)),
])
def test_workload_pair_forms_accepted(key, value, expected):
    layer = workload_from_dict(mutate(WL, f"layers.0.{key}", value), file=FILE).layers[0]
    got = (layer.stride_h, layer.stride_w) if key == "stride" else (layer.pad_h, layer.pad_w)
    assert got == expected


@pytest.mark.parametrize("key,value,fragment", [
    ("stride", [1, 2, 3], "list [h, w] of two integers"),
    ("stride", [], "list [h, w] of two integers"),
    ("stride", [2], "list [h, w] of two integers"),
    ("stride", [2, "1"], "must be an integer"),
    ("stride", [2, 0], "must be >= 1"),
    ("padding", [0, 0, 0], "list [h, w] of two integers"),
    ("padding", [1.5, 1], "must be an integer"),
])
def test_workload_bad_pair_forms(key, value, fragment):
    assert_problem(workload_from_dict, mutate(WL, f"layers.0.{key}", value), f"layers[0].{key}", fragment)


def test_workload_all_problems_reported_together():
    data = mutate(WL, "layers.0.groups", 4)           # divides C=4, not M=6
    data = mutate(data, "layers.0.stride", [1, 2, 3])
    data = mutate(data, "layers.1.type", "gem")
    data = mutate(data, "layers.1.name", "conv")      # duplicate
    data = mutate(data, "batch", 0)
    data["layers"].append({"name": "big", "type": "conv", "C": 1, "H": 2, "W": 2, "M": 1, "R": 5, "S": 1})
    err = spec_error(workload_from_dict, data)
    text = str(err)
    for path in ("batch", "layers[0].stride", "layers[0].groups", "layers[1].name", "layers[1].type",
                 "layers[2].R"):
        assert f"{FILE}: {path}: " in text, path
    # every check whose own inputs are valid runs, whatever else is wrong in the layer
    assert len(err.problems) == 6
    assert "did you mean 'gemm'?" in text


def test_workload_groups_problem_reported_with_others():
    data = mutate(WL, "layers.0.groups", 3)
    data = mutate(data, "layers.1.K", -1)
    data = mutate(data, "name", "")
    err = spec_error(workload_from_dict, data)
    assert {p.key_path for p in err.problems} == {"name", "layers[0].groups", "layers[1].K"}


# --- dataflows -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["name", "rows", "cols", "time", "stationary"])
def test_dataflow_missing_required_key(path):
    err = spec_error(dataflow_from_dict, remove(WS, path))
    assert f"{FILE}: {path}: required key is missing" in str(err)


@pytest.mark.parametrize("bad,hint", [("colls", "cols"), ("stationery", "stationary"), ("tme", "time"),
                                      ("longname", "long_name")])
def test_dataflow_unknown_key_with_did_you_mean(bad, hint):
    assert_problem(dataflow_from_dict, mutate(WS, bad, 1), bad, "unknown key", f"did you mean '{hint}'?")


@pytest.mark.parametrize("key,value,key_path,hint", [
    ("rows", ["C", "R", "SS"], "rows[2]", "S"),
    ("cols", ["MM"], "cols[0]", "M"),
    ("time", ["N", "E", "FF"], "time[2]", "F"),
    ("rows", ["C", "R", "Q"], "rows[2]", None),
])
def test_dataflow_unknown_dim(key, value, key_path, hint):
    err = assert_problem(dataflow_from_dict, mutate(WS, key, value), key_path, "unknown loop dimension",
                         "use one of N, M, C, E, F, R, S")
    if hint:
        assert f"did you mean '{hint}'?" in str(err)


@pytest.mark.parametrize("key,value,key_path,owner", [
    ("cols", ["M", "C"], "cols[1]", "rows"),
    ("time", ["N", "E", "F", "M"], "time[3]", "cols"),
    ("rows", ["C", "R", "S", "C"], "rows[3]", "rows"),
])
def test_dataflow_dim_placed_twice(key, value, key_path, owner):
    assert_problem(dataflow_from_dict, mutate(WS, key, value), key_path,
                   f"is already placed on {owner}", "exactly one of rows, cols, time")


@pytest.mark.parametrize("key,value,missing", [
    ("rows", ["C", "R"], "S"),
    ("time", ["N"], "E, F"),
])
def test_dataflow_dim_missing(key, value, missing):
    err = spec_error(dataflow_from_dict, mutate(WS, key, value))
    assert f"{FILE}: loop dimension(s) {missing} are not placed" in str(err)
    assert len(err.problems) == 1


def test_dataflow_rows_must_hold_one_gemm_axis():
    data = mutate(mutate(WS, "rows", ["C", "M"]), "cols", ["R", "S"])
    err = spec_error(dataflow_from_dict, data)
    text = str(err)
    assert f"{FILE}: rows: the systolic engine needs rows to hold exactly one GEMM axis" in text
    assert "got [C, M]" in text
    assert f"{FILE}: cols: the systolic engine needs cols to hold exactly one GEMM axis" in text
    assert "K = [C, R, S]" in text
    assert len(err.problems) == 2


def test_dataflow_partial_axis_is_a_mixture():
    # [C, R] on rows and S on time: both are pieces of K
    data = mutate(mutate(WS, "rows", ["C", "R"]), "time", ["N", "E", "F", "S"])
    err = spec_error(dataflow_from_dict, data)
    assert {p.key_path for p in err.problems} == {"rows", "time"}


@pytest.mark.parametrize("rows,cols,time,wrong,right", [
    (["C", "R", "S"], ["M"], ["N", "E", "F"], "ofmap", "filter"),    # ws
    (["N", "E", "F"], ["M"], ["C", "R", "S"], "filter", "ofmap"),    # os
    (["C", "R", "S"], ["N", "E", "F"], ["M"], "filter", "ifmap"),    # is
    (["M"], ["C", "R", "S"], ["N", "E", "F"], "ifmap", "filter"),    # transposed ws
])
def test_dataflow_wrong_stationary_operand(rows, cols, time, wrong, right):
    data = dict(WS, rows=rows, cols=cols, time=time, stationary=wrong)
    assert_problem(dataflow_from_dict, data, "stationary", f"is {right}, not {wrong}", f"set stationary: {right}")
    assert dataflow_from_dict(dict(data, stationary=right), file=FILE).stationary == right


@pytest.mark.parametrize("value", ["weights", "Filter", 1])
def test_dataflow_bad_stationary_choice(value):
    assert_problem(dataflow_from_dict, mutate(WS, "stationary", value), "stationary",
                   "must be one of ifmap, filter, ofmap")


@pytest.mark.parametrize("value", [[], 5, {"C": 1}])
def test_dataflow_axis_must_be_a_non_empty_list(value):
    assert_problem(dataflow_from_dict, mutate(WS, "cols", value), "cols", "non-empty list of loop dimensions")


def test_dataflow_single_dim_may_be_a_string():
    assert dataflow_from_dict(mutate(WS, "cols", "M"), file=FILE).cols == ("M",)


def test_dataflow_all_problems_reported_together():
    data = mutate(WS, "rows", ["C", "R", "SS"])   # unknown dim, with hint
    data = mutate(data, "cols", ["M", "C"])        # C placed twice
    data = mutate(data, "stationary", "weights")   # bad choice
    data = mutate(data, "name", 3)                 # not a string
    data = mutate(data, "colour", "red")           # unknown key
    err = spec_error(dataflow_from_dict, data)
    assert {p.key_path for p in err.problems} == {"rows[2]", "cols[1]", "stationary", "name", "colour"}
    text = str(err)
    assert text.startswith("5 problem(s) found")
    assert "did you mean 'S'?" in text


# --- files ---------------------------------------------------------------------------------------

LOADERS = [load_hardware, load_workload, load_dataflow, load_any]


@pytest.mark.parametrize("load", LOADERS)
def test_invalid_yaml_reports_line(tmp_path, load):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\narray:\n  rows: [1, 2\n  cols: 3\nprecision: int8\n", encoding="utf-8")
    with pytest.raises(AccelsimError) as info:
        load(path)
    text = str(info.value)
    # PyYAML notices the unclosed list at the ':' of line 4
    assert text.startswith(f"{path}: not valid YAML at line 4, column 7: ")


def test_invalid_yaml_tab_indent(tmp_path):
    path = tmp_path / "tabs.yaml"
    path.write_text("name: x\narray:\n\trows: 3\n", encoding="utf-8")
    with pytest.raises(AccelsimError, match=r"not valid YAML at line 3"):
        load_hardware(path)


@pytest.mark.parametrize("load", LOADERS)
def test_missing_file(tmp_path, load):
    path = tmp_path / "nope.yaml"
    with pytest.raises(AccelsimError, match="file not found") as info:
        load(path)
    assert str(path) in str(info.value)


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(AccelsimError, match="cannot read file"):
        load_hardware(tmp_path)


@pytest.mark.parametrize("load", [load_hardware, load_workload, load_dataflow])
@pytest.mark.parametrize("content", ["- a\n- b\n", "just a string\n", "42\n"])
def test_top_level_must_be_a_mapping(tmp_path, load, content):
    path = tmp_path / "list.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load(path)
    assert f"{path}: must be a mapping of keys to values" in str(info.value)


@pytest.mark.parametrize("load", [load_hardware, load_workload, load_dataflow])
def test_empty_file_reports_missing_keys(tmp_path, load):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load(path)
    assert f"{path}: name: required key is missing" in str(info.value)
    assert len(info.value.problems) >= 2


def test_file_name_in_messages_from_disk(tmp_path):
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(mutate(HW, "sram.ifmap.size_kib", -4)), encoding="utf-8")
    with pytest.raises(SpecError, match=r"edge\.yaml: sram\.ifmap\.size_kib: must be > 0 \(got -4\)"):
        load_hardware(path)


def test_load_any_detects_kind_by_keys_and_validates(tmp_path):
    path = tmp_path / "df.yaml"
    path.write_text(yaml.safe_dump(mutate(WS, "stationary", "ofmap")), encoding="utf-8")
    with pytest.raises(SpecError, match="set stationary: filter"):
        load_any(path)


def test_load_any_unknown_kind(tmp_path):
    path = tmp_path / "what.yaml"
    path.write_text("foo: 1\n", encoding="utf-8")
    with pytest.raises(AccelsimError, match="cannot tell whether this is a hw, workload or dataflow file"):
        load_any(path)


# --- regression tests for validation gaps found while writing these tests ----------------------
# An explicit YAML null (``rows:`` with nothing after it, a common slip) is a problem of its own.


@pytest.mark.parametrize("path", ["name", "array.rows", "clock_mhz", "precision", "sram.double_buffered",
                                  "sram.ifmap.size_kib", "dram.bandwidth_bytes_per_cycle", "timing",
                                  "array.interconnect"])
def test_gap_hw_null_value(path):
    assert_problem(hardware_from_dict, mutate(HW, path, None), path, "")


@pytest.mark.parametrize("path", ["layers.0.name", "layers.0.type", "layers.0.C", "layers.0.groups",
                                  "layers.1.K", "name"])
def test_gap_workload_null_value(path):
    key_path = path.replace("layers.0.", "layers[0].").replace("layers.1.", "layers[1].")
    assert_problem(workload_from_dict, mutate(WL, path, None), key_path, "")


@pytest.mark.parametrize("path", ["rows", "cols", "time", "stationary", "name"])
def test_gap_dataflow_null_value(path):
    assert_problem(dataflow_from_dict, mutate(WS, path, None), path, "")


def test_gap_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(AccelsimError):
        load_hardware(path)


def test_gap_dataflow_stationary_reported_with_unrelated_problem():
    data = mutate(mutate(WS, "stationary", "ofmap"), "colour", "red")
    err = spec_error(dataflow_from_dict, data)
    assert {p.key_path for p in err.problems} == {"stationary", "colour"}


def test_gap_workload_sizes_overflowing_int64():
    data = mutate(mutate(mutate(WL, "layers.0.C", 2 ** 40), "layers.0.H", 2 ** 20), "layers.0.W", 2 ** 20)
    data = mutate(mutate(data, "layers.0.groups", 1), "layers.0.M", 2)
    with pytest.raises(SpecError):
        workload_from_dict(data, file=FILE)


@pytest.mark.parametrize("build,base,key", [
    (hardware_from_dict, HW, "description"), (hardware_from_dict, HW, "source"),
    (workload_from_dict, WL, "description"), (workload_from_dict, WL, "source"),
    (dataflow_from_dict, WS, "long_name"), (dataflow_from_dict, WS, "description"),
    (dataflow_from_dict, WS, "source"),
])
def test_descriptive_keys_are_optional(build, base, key):
    # the READMEs document description, source and long_name as optional (default "")
    assert getattr(build(remove(base, key), file=FILE), key) == ""


@pytest.mark.parametrize("path,attribute", [
    ("sram.bandwidth_words_per_cycle", "sram_bandwidth_words_per_cycle"),
    ("array.noc_bandwidth_words_per_cycle", "noc_bandwidth_words_per_cycle"),
    ("pe.rf_bandwidth_words_per_cycle", "rf_bandwidth_words_per_cycle"),
])
@pytest.mark.parametrize("value", ["fast", 0, -1, True, float("inf")])
def test_array_side_bandwidths_must_be_positive_or_unlimited(path, attribute, value):
    data = mutate(HW, path, value)
    with pytest.raises(SpecError, match=rf"{path}: must be a number > 0 or the string unlimited"):
        hardware_from_dict(data, file=FILE)
    assert getattr(hardware_from_dict(mutate(HW, path, 64), file=FILE), attribute) == 64
    assert math.isinf(getattr(hardware_from_dict(mutate(HW, path, "unlimited"), file=FILE), attribute))
    assert math.isinf(getattr(hardware_from_dict(HW, file=FILE), attribute))


def test_hw_vector_lanes_default_to_array_cols_and_can_be_set():
    assert hardware_from_dict(HW, FILE).vector_lanes == 32
    assert hardware_from_dict(mutate(HW, "vector.lanes", 8), FILE).vector_lanes == 8
    assert_problem(hardware_from_dict, mutate(HW, "vector.lane", 8), "vector.lane", "did you mean 'lanes'")
