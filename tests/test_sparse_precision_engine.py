"""The engine under per-layer precision and sparsity: each checked against the dense / whole-hw
equivalent run through the same engine (an N:M layer on N:M hardware maps like the dense layer with
K * n/m; an fp16 layer on an int8 array like the layer on an fp16 array)."""
import pytest

from accelsim import model, spec
from accelsim.errors import SpecError
from accelsim.spec import hardware_from_dict
from accelsim.spec.common import load_yaml
from accelsim.spec.workload import workload_from_dict

EDGE = load_yaml(spec.resolve("hw", "edge_16x16"))


def hw_with(**changes):
    return hardware_from_dict({**EDGE, **changes}, "edge.yaml")


def gemm(name="g", k=256, **notes):
    return {"name": name, "type": "gemm", "M": 40, "N": 48, "K": k, **notes}


def row(hw, layer, dataflow="ws"):
    wl = workload_from_dict({"name": "w", "layers": [layer]})
    return model.simulate(hw, wl, spec.load("dataflows", dataflow), energy_table=spec.energy_table_for(hw)).iloc[0]


TIMING = ("compute_cycles", "folds", "total_cycles", "sram_filter_reads", "sram_ifmap_reads", "gemm_k")


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_two_four_layer_on_two_four_hardware_maps_like_half_k(dataflow):
    hw = hw_with(sparsity={"nm": [2, 4]})
    sparse, half = row(hw, gemm(nm=[2, 4]), dataflow), row(hw, gemm(k=128), dataflow)
    for col in TIMING:
        assert sparse[col] == half[col], col
    assert sparse["macs"] == 40 * 48 * 256 and sparse["effective_macs"] == 40 * 48 * 128
    assert sparse["energy_pj_mac"] == pytest.approx(half["energy_pj_mac"])
    # a 1:4 layer runs as 2:4 (the hardware's pattern); a 2:8 layer does not match m = 4: dense
    assert row(hw, gemm(nm=[1, 4]), dataflow)["compute_cycles"] == half["compute_cycles"]
    assert row(hw, gemm(nm=[2, 8]), dataflow)["compute_cycles"] == row(hw, gemm(), dataflow)["compute_cycles"]


def test_sparsity_annotations_do_not_change_dense_hardware():
    hw = hw_with()
    dense, annotated = row(hw, gemm()), row(hw, gemm(nm="2:4", activation_density=0.4))
    for col in TIMING + ("macs", "effective_macs", "energy_pj"):
        assert dense[col] == annotated[col], col


def test_zero_skipping_performs_the_independent_zeros_bound():
    hw = hw_with(sparsity={"zero_skipping": True})
    sparse = row(hw, gemm(weight_density=0.5, activation_density=0.5))
    quarter = row(hw, gemm(k=64))   # K (1-p)(1-q) = 256 / 4
    for col in TIMING:
        assert sparse[col] == quarter[col], col
    assert sparse["effective_macs"] == 40 * 48 * 256 // 4 and sparse["macs"] == 40 * 48 * 256
    assert sparse["pe_utilization"] == quarter["pe_utilization"]


def test_layer_precision_moves_bytes_like_an_array_of_that_precision():
    conv = {"name": "c", "type": "conv", "C": 32, "H": 20, "W": 20, "M": 64, "R": 3, "S": 3, "padding": 1}
    mixed = row(hw_with(), {**conv, "precision": "fp16"})
    wide = row(hw_with(precision="fp16"), conv)
    assert (mixed["precision"], mixed["word_bits"]) == ("fp16", 16)
    for col in ("compute_cycles", "stall_cycles", "total_cycles", "dram_ifmap_reads", "dram_filter_reads",
                "dram_bytes"):
        assert mixed[col] == wide[col], col
    assert mixed["dram_bytes"] == 2 * (mixed["dram_ifmap_reads"] + mixed["dram_filter_reads"]
                                       + mixed["dram_ofmap_writes"] + mixed["dram_ofmap_reads"])
    assert mixed["energy_pj_mac"] == pytest.approx(wide["energy_pj_mac"])


def test_hw_sparsity_keys_are_validated():
    with pytest.raises(SpecError, match=r"edge.yaml: sparsity.nm: must be \[n, m\]"):
        hw_with(sparsity={"nm": [4, 4]})
    with pytest.raises(SpecError, match=r"sparsity.zero_skiping: unknown key.*did you mean 'zero_skipping'"):
        hw_with(sparsity={"zero_skiping": True})
    assert hw_with(sparsity={"nm": "2:4", "zero_skipping": True}).sparsity_nm == (2, 4)
