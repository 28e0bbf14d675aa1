"""Ideal-roofline hw files (accelsim/spec/roofline.py): loading, units and every validation rule."""
from __future__ import annotations

import pytest
import yaml

from accelsim import spec
from accelsim.errors import SpecError
from accelsim.spec.roofline import RooflineHardware, roofline_from_dict

GOOD = {"name": "dev", "description": "d", "source": "s", "precision": "bf16",
        "roofline": {"peak_tflops": 100, "dram_bandwidth_gb_per_s": 1500}}


def test_presets_and_units():
    a100 = spec.load("hw", "ideal_a100")
    assert isinstance(a100, RooflineHardware)
    assert (a100.peak_flops_per_s, a100.dram_bandwidth_bytes_per_s) == (312e12, 2.0e12)
    assert a100.vector_flops_per_s == 312e12 and a100.onchip_bytes == 0
    assert a100.link_bandwidth_bytes_per_s == 600e9 and a100.precision == "fp16"
    h100 = spec.load("hw", "ideal_h100")
    assert (h100.peak_flops_per_s, h100.dram_bandwidth_bytes_per_s) == (989e12, 3.35e12)
    assert h100.ridge_flops_per_byte == pytest.approx(989 / 3.35)


def test_ideal_presets_memory_is_what_the_driver_reports():
    """The ideal presets hold the memory total nvidia-smi shows for the GPU they are like
    ([gpu-memory-total]: H100 80GB 81,559 MiB, A100-SXM4-80GB 81,920 MiB), as hw/h100.yaml and
    hw/a100.yaml do; the datasheets' 80 GB read as 10^9 B would be 74.5 GiB, 7% less."""
    for ideal, gpu, mib in (("ideal_h100", "h100", 81_559), ("ideal_a100", "a100", 81_920)):
        dev = spec.load("hw", ideal)
        assert abs(dev.memory_bytes - mib * 2 ** 20) < 0.05 * 2 ** 30, (ideal, dev.memory_bytes / 2 ** 30)
        assert dev.memory_bytes == spec.load("hw", gpu).hbm_bytes


def test_memory_in_gb_or_gib():
    """roofline.memory_gb is 10^9 B (old files keep it); roofline.memory_gib is 2^30 B; not both."""
    def memory(**keys):
        return roofline_from_dict({**GOOD, "roofline": {**GOOD["roofline"], **keys}}, "x.yaml").memory_bytes
    assert memory(memory_gb=80) == 80 * 10 ** 9
    assert memory(memory_gib=79.6) == int(79.6 * 2 ** 30)
    assert memory() == 0
    with pytest.raises(SpecError, match="x.yaml: roofline.memory_gib: give memory_gb .* or memory_gib"):
        memory(memory_gb=80, memory_gib=80)


def test_optional_keys():
    dev = roofline_from_dict({**GOOD, "roofline": {**GOOD["roofline"], "vector_tflops": 20, "onchip_mib": 40,
                                                   "link_bandwidth_gb_per_s": 900}}, "dev.yaml")
    assert (dev.vector_flops_per_s, dev.onchip_bytes, dev.link_bandwidth_bytes_per_s) == (20e12, 40 * 2 ** 20, 900e9)
    assert dev.energy_table == "horowitz_45nm" and dev.file == "dev.yaml"


@pytest.mark.parametrize("change,expected", [
    ({"roofline": {"dram_bandwidth_gb_per_s": 1}}, "x.yaml: roofline.peak_tflops: required key is missing"),
    ({"roofline": {"peak_tflops": -1, "dram_bandwidth_gb_per_s": 1}}, "x.yaml: roofline.peak_tflops: must be"),
    ({"roofline": {"peak_tflops": 1, "dram_bandwidth_gb_per_s": 1, "onchip_mib": -2}}, "roofline.onchip_mib: must be >= 0"),
    ({"roofline": {"peak_tflops": 1, "dram_bandwidth_gb_per_s": 1, "peak_tflop": 2}}, "did you mean 'peak_tflops'"),
    ({"precision": "fp8"}, "x.yaml: precision:"),
    ({"array": {"rows": 4}}, "x.yaml: array: unknown key"),
])
def test_bad_roofline_files_name_file_and_key(change, expected):
    with pytest.raises(SpecError, match=expected):
        roofline_from_dict({**GOOD, **change}, "x.yaml")


def test_all_problems_at_once_and_validate(tmp_path):
    with pytest.raises(SpecError) as err:
        roofline_from_dict({"roofline": {"peak_tflops": 0}}, "x.yaml")
    text = str(err.value)
    for key in ("name", "precision", "roofline.peak_tflops", "roofline.dram_bandwidth_gb_per_s"):
        assert f"x.yaml: {key}:" in text, key
    path = tmp_path / "hw" / "dev.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(GOOD))
    kind, obj = spec.load_any(path)
    assert kind == "hw" and isinstance(obj, RooflineHardware) and obj.name == "dev"
