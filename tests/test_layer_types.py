"""Layer types without MACs (pooling, batch norm, residual add, concat) and dilation: shapes, counts,
folding and validation by hand; the engine's rows for them (vector unit) by hand."""
import math

import pytest

import accelsim
from accelsim import model, spec
from accelsim.errors import SpecError
from accelsim.spec.workload import conv_output_size, workload_from_dict

BLOCK = {"name": "block", "layers": [
    {"name": "conv1", "type": "conv", "C": 3, "H": 32, "W": 32, "M": 16, "R": 3, "S": 3, "padding": 1},
    {"name": "bn1", "type": "batchnorm"},                                   # folded into conv1
    {"name": "pool1", "type": "maxpool", "R": 3, "S": 3, "stride": 2, "padding": 1},   # 32 -> 16
    {"name": "conv2", "type": "conv", "C": 16, "H": 16, "W": 16, "M": 16, "R": 3, "S": 3, "padding": 2,
     "dilation": 2},                                                         # 16 -> 16, dilated
    {"name": "add1", "type": "add", "inputs": ["conv2", "pool1"]},
    {"name": "bn2", "type": "batchnorm"},                                   # after an add: not foldable
    {"name": "cat", "type": "concat", "inputs": ["bn2", "pool1", "conv2"]},
    {"name": "gap", "type": "avgpool"},                                     # global: 16x16 -> 1x1
    {"name": "fc", "type": "gemm", "M": 1, "N": 10, "K": 48},
]}


def block():
    return workload_from_dict(BLOCK, "block.yaml")


def test_shapes_by_hand():
    layers = {l.name: l for l in block().layers}
    assert (layers["bn1"].C, layers["bn1"].H, layers["bn1"].E) == (16, 32, 32)
    assert (layers["pool1"].E, layers["pool1"].F) == (16, 16)         # floor((32 + 2 - 3) / 2) + 1
    assert layers["conv2"].E == 16                                     # (16 + 4 - (2*2 + 1)) + 1
    assert layers["conv2"].macs == 16 * 16 * 16 * 16 * 9               # dilation leaves K = C*R*S
    assert layers["add1"].ifmap_words == 2 * 16 * 16 * 16 and layers["add1"].ofmap_words == 16 * 16 * 16
    assert (layers["cat"].C, layers["cat"].M, layers["cat"].ofmap_words) == (48, 48, 48 * 16 * 16)
    assert (layers["gap"].R, layers["gap"].E, layers["gap"].ofmap_words) == (16, 1, 48)


def test_macs_weights_params_and_units():
    wl = block()
    layers = {l.name: l for l in wl.layers}
    assert wl.macs == 32 * 32 * 16 * 27 + 16 * 16 * 16 * 16 * 9 + 480
    assert wl.weights == 16 * 27 + 16 * 16 * 9 + 480
    # conv1 has no bias (bn1 folds into it); conv2 and fc have biases; BN: alpha, beta, mu, sigma per channel
    assert [layers[n].biases for n in ("conv1", "conv2", "fc")] == [0, 16, 10]
    assert layers["bn1"].bn_params == 64 and layers["bn2"].bn_params == 64
    assert wl.params == wl.weights + 26 + 128
    assert {n: l.unit for n, l in layers.items()} == {
        "conv1": "array", "bn1": "none", "pool1": "vector", "conv2": "array", "add1": "vector",
        "bn2": "vector", "cat": "none", "gap": "vector", "fc": "array"}
    assert layers["bn1"].folded_into == "conv1" and layers["bn2"].folded_into == ""


def test_vector_ops_conventions():
    layers = {l.name: l for l in block().layers}
    assert layers["pool1"].vector_ops == 16 * 16 * 16 * 8      # R*S - 1 compares per output
    assert layers["add1"].vector_ops == 16 * 16 * 16           # one add per output for two inputs
    assert layers["bn2"].vector_ops == 2 * 16 * 16 * 16        # scale and shift
    assert layers["gap"].vector_ops == 48 * 256                # R*S - 1 adds + 1 multiply
    assert layers["bn1"].vector_ops == layers["cat"].vector_ops == 0


def test_ceil_mode_and_dilation_output_sizes():
    assert conv_output_size(109, 3, 2, 0, ceil=True) == 54 and conv_output_size(54, 3, 2, 0) == 26
    assert conv_output_size(54, 3, 2, 0, ceil=True) == 27
    assert conv_output_size(5, 2, 2, 1, ceil=True) == 3   # last window would start in the padding: dropped
    assert conv_output_size(14, 3, 1, 0, dilation=3) == 8


@pytest.mark.parametrize("index,key,value,fragment,extra", [
    (4, "inputs", ["conv2", "conv1"], "must agree in N x C x H x W", {}),
    (4, "inputs", ["conv2"], "at least two layer names", {}),
    (4, "inputs", ["conv2", "nope"], "no earlier layer is named 'nope'", {}),
    (2, "input", "later", "no earlier layer is named 'later'", {}),
    (1, "C", 8, "outputs C=16", {"input": "conv1"}),
    (1, "W", None, "required: this batchnorm has no earlier layer", {"C": 16, "H": 8}),  # explicit: C, H and W
    (2, "R", 40, "larger than the padded input", {}),
    (3, "R", 10, "dilated extent 19", {"padding": 1}),   # dilation 2: 2*(10-1)+1 = 19 > 16 + 2*1
    (8, "nm", [4, 2], "1 <= n < m", {}),
    (8, "weight_density", 1.5, "in (0, 1]", {}),
    (8, "precision", "int3", "must be one of int4", {}),
])
def test_validation(index, key, value, fragment, extra):
    data = {"name": "block", "layers": [dict(layer) for layer in BLOCK["layers"]]}
    if value is not None:
        data["layers"][index][key] = value
    data["layers"][index].update(extra)
    with pytest.raises(SpecError) as err:
        workload_from_dict(data, "block.yaml")
    assert len(err.value.problems) == 1  # a layer that fails is not reported again by the layers reading it
    assert f"block.yaml: layers[{index}].{key}" in str(err.value) and fragment in str(err.value)


def test_first_layer_pool_needs_a_shape():
    with pytest.raises(SpecError, match=r"layers\[0\]\.C: required"):
        workload_from_dict({"name": "p", "layers": [{"name": "p", "type": "maxpool", "R": 2, "S": 2}]})
    wl = workload_from_dict({"name": "p", "layers": [{"name": "p", "type": "maxpool", "C": 4, "H": 8, "W": 8,
                                                      "R": 2, "S": 2, "stride": 2}]})
    assert wl.layers[0].ofmap_words == 4 * 16


# --- the engine --------------------------------------------------------------------------------

def run(dataflow="ws", hw="edge_16x16"):
    hw = spec.load("hw", hw)
    return hw, model.simulate(hw, block(), spec.load("dataflows", dataflow), energy_table=spec.energy_table_for(hw))


def test_engine_vector_rows_by_hand():
    hw, frame = run()
    rows = frame.set_index("layer")
    assert hw.vector_lanes == 16
    assert rows.loc["pool1", "compute_cycles"] == math.ceil(16 * 16 * 16 * 8 / 16) == 2048
    assert rows.loc["add1", "compute_cycles"] == 256 and rows.loc["gap", "compute_cycles"] == 768
    # add1: reads two 16x16x16 tensors, writes one; 8 bytes/cycle DRAM at int8: 12,288 / 8 = 1,536 > 256
    assert (rows.loc["add1", "dram_ifmap_reads"], rows.loc["add1", "dram_ofmap_writes"]) == (8192, 4096)
    assert rows.loc["add1", "total_cycles"] == 1536 and rows.loc["add1", "stall_bandwidth_cycles"] == 1280
    # bn2 unfolded: + 2*C constants through the filter buffer
    assert rows.loc["bn2", "dram_filter_reads"] == 32 and rows.loc["bn2", "compute_cycles"] == 512
    for name in ("bn1", "cat"):
        assert rows.loc[name, ["total_cycles", "dram_bytes", "energy_pj", "sram_ifmap_reads"]].sum() == 0
    table = spec.energy_table_for(hw)
    assert rows.loc["pool1", "energy_pj_vector"] == pytest.approx(16 * 16 * 16 * 8 * table.vector_op_pj["int8"])
    assert rows.loc["pool1", "energy_pj_mac"] == 0 and rows.loc["pool1", "macs"] == 0
    assert list(frame["unit"]) == [l.unit for l in block().layers]
    assert list(frame["layer_type"]) == ["conv", "batchnorm", "maxpool", "conv", "add", "batchnorm", "concat",
                                         "avgpool", "gemm"]


def test_engine_totals_include_vector_layers_and_array_rows_are_unchanged():
    hw, frame = run()
    macs_only = workload_from_dict({"name": "block", "layers": [l for l in BLOCK["layers"]
                                                                if l["type"] in ("conv", "gemm")]})
    alone = model.simulate(hw, macs_only, spec.load("dataflows", "ws"), energy_table=spec.energy_table_for(hw))
    array = frame[frame["unit"] == "array"].reset_index(drop=True)
    for col in ("total_cycles", "dram_bytes", "energy_pj", "sram_ifmap_reads"):
        assert list(array[col]) == list(alone[col])
    assert frame["total_cycles"].sum() == alone["total_cycles"].sum() + frame.loc[frame["unit"] == "vector",
                                                                                 "total_cycles"].sum()
    assert frame["macs"].sum() == block().macs


def test_dilated_conv_maps_like_the_undilated_conv_with_the_same_gemm():
    hw = spec.load("hw", "edge_16x16")
    dilated = workload_from_dict({"name": "d", "layers": [
        {"name": "d", "type": "conv", "C": 8, "H": 12, "W": 12, "M": 20, "R": 3, "S": 3, "dilation": 2}]})
    plain = workload_from_dict({"name": "p", "layers": [
        {"name": "p", "type": "conv", "C": 8, "H": 10, "W": 10, "M": 20, "R": 3, "S": 3}]})
    a, b = (model.simulate(hw, wl, spec.load("dataflows", "os")).iloc[0] for wl in (dilated, plain))
    assert a["E"] == b["E"] == 8
    for col in ("gemm_p", "gemm_k", "compute_cycles", "sram_ifmap_reads", "sram_filter_reads", "macs"):
        assert a[col] == b[col]


def test_loopnest_path_accepts_non_mac_layers():
    small = {"name": "s", "layers": [
        {"name": "c", "type": "conv", "C": 4, "H": 8, "W": 8, "M": 8, "R": 3, "S": 3, "padding": 1},
        {"name": "bn", "type": "batchnorm"},
        {"name": "p", "type": "maxpool", "R": 2, "S": 2, "stride": 2},
        {"name": "d", "type": "conv", "C": 8, "H": 4, "W": 4, "M": 8, "R": 3, "S": 3, "padding": 2, "dilation": 2},
        {"name": "a", "type": "add", "inputs": ["d", "p"]},
    ]}
    wl = workload_from_dict(small)
    frame = accelsim.simulate("eyeriss", wl, "rs")
    rows = frame.set_index("layer")
    assert list(frame["unit"]) == ["array", "none", "vector", "array", "vector"]
    assert rows.loc["p", "compute_cycles"] == math.ceil(8 * 4 * 4 * 3 / spec.load("hw", "eyeriss").vector_lanes)
    assert rows.loc["d", "macs"] == 8 * 16 * 8 * 9 and rows.loc["c", "macs"] == 8 * 64 * 4 * 9
    assert frame["total_cycles"].sum() == rows["total_cycles"].sum() > 0
    assert rows.loc["bn", "mapping"] == ""
