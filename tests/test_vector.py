"""The vector unit's cost: ceil(element ops / lanes) cycles, ops x vector_op_pj energy."""
import numpy as np
import pytest

from accelsim import spec
from accelsim.spec import energy_table_from_dict
from accelsim.vector import vector_cycles, vector_energy_pj


def test_cycles_hand_computed():
    # 56x56x64 residual add on 256 lanes: 200,704 adds -> 784 cycles exactly
    assert vector_cycles(56 * 56 * 64, 256) == 784
    assert vector_cycles(257, 256) == 2
    assert vector_cycles(0, 4) == 0
    assert vector_cycles(np.array([1, 4, 5, 8]), 4).tolist() == [1, 1, 2, 2]


def test_cycles_reject_bad_arguments():
    with pytest.raises(ValueError):
        vector_cycles(4, 0)
    with pytest.raises(ValueError):
        vector_cycles(-1, 4)


def test_energy_uses_the_tables_vector_op_and_falls_back_to_the_mac():
    hw = spec.load("hw", "tpu_v1")                      # int8, horowitz_45nm: 8b add 0.03 pJ
    table = spec.energy_table_for(hw, None)
    assert vector_energy_pj(1000, hw, table) == pytest.approx(30.0)
    data = {"name": "t", "mac_pj": {"int8": 2.0}, "rf": {"bits": 16, **{op: {"read_pj": 1, "write_pj": 1}
            for op in ("ifmap", "filter", "ofmap")}}, "noc": {"bits": 16, "transfer_pj": 1},
            "sram": {"bits": 16, "points": [{"size_kib": 8, "read_pj": 1, "write_pj": 1}]},
            "dram": {"bits": 16, "read_pj": 1, "write_pj": 1}}
    assert energy_table_from_dict(data).vector_op_pj == {"int8": 2.0}
    data["vector_op_pj"] = {"int8": 0.5}
    data["scale_pj"] = 2.0
    assert energy_table_from_dict(data).vector_op_pj == {"int8": 1.0}


def test_energy_at_a_layer_precision():
    from accelsim.vector import vector_energy_pj_at
    hw = spec.load("hw", "tpu_v1")
    table = spec.energy_table_for(hw, None)
    assert vector_energy_pj_at(1000, "int8", table) == pytest.approx(vector_energy_pj(1000, hw, table))
    assert vector_energy_pj_at(10, "fp32", table) == pytest.approx(10 * table.vector_op_pj["fp32"])
