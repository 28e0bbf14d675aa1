"""Smoke test over every built-in preset in hw/, dataflows/ and workloads/."""
from __future__ import annotations

import numpy as np
import pytest

import accelsim
from accelsim import spec
from accelsim.errors import AccelsimError

KINDS = ("hw", "dataflows", "workloads")
PRESET_FILES = sorted(path for kind in KINDS for path in (spec.ROOT / kind).glob("*.yaml"))
#: PE arrays the simulator runs; hw/ideal_*.yaml are roofline-only devices (accelsim llm); deeper
#: architecture trees are tests/test_arch.py's.
HW_NAMES = [name for name in spec.builtin_names("hw") if isinstance(spec.load("hw", name), spec.Hardware)]
ROOFLINE_NAMES = [name for name in spec.builtin_names("hw")
                  if isinstance(spec.load("hw", name), spec.RooflineHardware)]
DATAFLOW_NAMES = spec.builtin_names("dataflows")
WORKLOAD_NAMES = spec.builtin_names("workloads")


def test_preset_folders_are_not_empty():
    assert len(HW_NAMES) >= 4 and len(DATAFLOW_NAMES) >= 3 and len(WORKLOAD_NAMES) >= 5
    assert {"ws", "os", "is"} <= set(DATAFLOW_NAMES)


@pytest.mark.parametrize("path", PRESET_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_preset_loads(path):
    kind, obj = spec.load_any(path)
    assert kind == path.parent.name
    assert obj.name == path.stem, "a preset's name matches its file name"
    assert obj.file == str(path)
    assert obj.description and obj.source


@pytest.mark.parametrize("kind", KINDS)
def test_load_by_name_equals_load_by_path(kind):
    for name in spec.builtin_names(kind):
        assert spec.load(kind, name) == spec.load(kind, spec.ROOT / kind / f"{name}.yaml")


def compatible(hw, dataflow):
    """Systolic dataflows run on systolic arrays, loop-nest dataflows on multicast arrays."""
    systolic_hw = spec.load("hw", hw).interconnect == "systolic"
    return systolic_hw == (spec.load("dataflows", dataflow).engine == "systolic")


PAIRS = [(hw, df) for hw in HW_NAMES for df in DATAFLOW_NAMES if compatible(hw, df)]
MISMATCHED = [(hw, df) for hw in HW_NAMES for df in DATAFLOW_NAMES if not compatible(hw, df)]


@pytest.mark.parametrize("workload", WORKLOAD_NAMES)
@pytest.mark.parametrize("hw,dataflow", PAIRS)
def test_every_preset_combination_simulates(hw, dataflow, workload):
    table = accelsim.simulate(hw, workload, dataflow, time_limit_s=0.5)
    wl = spec.load("workloads", workload)
    assert list(table["layer"]) == [layer.name for layer in wl.layers]
    assert set(accelsim.RESULT_COLUMNS) <= set(table.columns)
    array, vector, none = (table[table["unit"] == unit] for unit in ("array", "vector", "none"))
    assert len(array) + len(vector) + len(none) == len(table)
    for column in ("compute_cycles", "total_cycles", "macs", "folds"):
        assert table[column].dtype == np.int64
        assert (array[column] > 0).all(), column
        assert (none[column] == 0).all(), column
    assert (vector["compute_cycles"] > 0).all() and (vector["macs"] == 0).all()
    assert (table["total_cycles"] >= table["compute_cycles"]).all()
    assert int(table["macs"].sum()) == wl.macs or spec.load("hw", hw).timing == "scalesim"


@pytest.mark.parametrize("hw,dataflow", MISMATCHED)
def test_mismatched_dataflow_and_array_is_a_clear_error(hw, dataflow):
    with pytest.raises(AccelsimError, match="interconnect"):
        accelsim.simulate(hw, "gemm_example", dataflow)


@pytest.mark.parametrize("hw", ROOFLINE_NAMES)
def test_roofline_device_is_refused_by_the_array_simulator(hw):
    with pytest.raises(AccelsimError, match="ideal-roofline device .*accelsim llm"):
        accelsim.simulate(hw, "gemm_example", "ws")
    with pytest.raises(AccelsimError, match="no PE array"):
        spec.load_hardware(spec.resolve("hw", hw))


@pytest.mark.parametrize("timing", ["physical", "scalesim"])
def test_small_workload_under_both_timings(timing):
    for hw, dataflow in PAIRS:
        if spec.load("dataflows", dataflow).engine == "systolic":
            table = accelsim.simulate(hw, "gemm_example", dataflow, timing=timing)
            assert (table["timing"] == timing).all()
            assert (table["total_cycles"] > 0).all()
            assert int(table["macs"].sum()) == spec.load("workloads", "gemm_example").macs


@pytest.mark.parametrize("kind,typo,hint", [
    ("hw", "tpu_v2", "tpu_v1"),
    ("hw", "edge16x16", "edge_16x16"),
    ("dataflows", "wss", "ws"),
    ("workloads", "mobilnet_v1", "mobilenet_v1"),
    ("workloads", "alexnett", "alexnet"),
    ("hw", "TPU_v1", "tpu_v1"),          # only the case differs: difflib alone finds nothing
    ("dataflows", "WS", "ws"),
    ("workloads", "ResNet50", "resnet50"),
])
def test_misspelt_preset_name_has_did_you_mean(kind, typo, hint):
    with pytest.raises(AccelsimError) as info:
        spec.resolve(kind, typo)
    text = str(info.value)
    assert text.startswith(f"{typo}: no such file and no built-in {kind} preset")
    assert f"did you mean '{hint}'?" in text
    assert "built-in: " in text


def test_misspelt_preset_in_simulate():
    with pytest.raises(AccelsimError, match="did you mean 'tpu_v1'"):
        accelsim.simulate("tpu_v2", "alexnet", "ws")


def test_unknown_timing_override():
    with pytest.raises(AccelsimError, match="timing must be one of"):
        accelsim.simulate("tpu_v1", "gemm_example", "ws", timing="rtl")
