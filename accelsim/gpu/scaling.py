"""Unmeasured GPU presets (hw/h100.yaml, hw/a100.yaml) derived from a measured device's fit by datasheet ratios.

A preset that nobody has measured takes the measured device's ``gpu.fitted`` values scaled by the ratio
of the two parts' datasheet numbers, one rule per kind of parameter (docs/silicon.md, "What is scaled"):

=====================  ===================================================  ====================================
kind                   parameters                                           ratio
=====================  ===================================================  ====================================
HBM bandwidths         ``*_bandwidth_gb_per_s`` but the L2 and power ones   ``hbm_bandwidth_gb_per_s``
tensor-core rates      ``sustained_tflops``, ``*_attention_tflops``         ``peak_tflops`` (dense BF16)
power-limited rates    ``power_limited_tflops``,                            ``peak_tflops`` (dense BF16), both
                       ``power_limited_hbm_gb_per_s``                       keys by the same ratio
L2 rates               ``gemm_l2_bandwidth_gb_per_s``, ``l2_bandwidth_...``  ``sms x clock_mhz`` (L2 slices run at
                                                                            the SM clock; no datasheet figure)
per-kernel costs       ``*_us``                                             1 (same software stack assumed)
=====================  ===================================================  ====================================

The datasheet numbers each ratio reads are the presets' own ``gpu:`` keys, each with its source in the file.
``python -m accelsim.gpu.scaling`` rewrites the presets' ``gpu.fitted`` lines from ``hw/h200.yaml``
(after ``accelsim calibrate`` refits it); tests/test_gpu.py checks that the shipped presets equal it.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

#: The presets derived from the H200 measurements.
PRESETS = ("h100", "a100")
_L2_KEYS = ("gemm_l2_bandwidth_gb_per_s", "l2_bandwidth_gb_per_s")


def rule(key: str) -> str:
    """The kind of a ``gpu.fitted`` key: ``hbm``, ``tensor``, ``power``, ``l2`` or ``fixed``.

    The two power-limited rates are each the board's power budget over an energy (per FLOP, per HBM
    byte; docs/silicon.md), so they scale together, by one ratio: on the same die and board (H100 SXM:
    GH100, 700 W) they stay as measured; scaling the HBM one by the HBM bandwidth ratio would claim the
    H100's HBM3 costs 1.43x the energy per byte of the H200's HBM3e, which nothing says."""
    if key in _L2_KEYS:
        return "l2"
    if key.startswith("power_limited_"):
        return "power"
    if key.endswith("_bandwidth_gb_per_s") or key == "power_limited_hbm_gb_per_s":
        return "hbm"
    if key.endswith("_tflops"):
        return "tensor"
    if key.endswith("_us"):
        return "fixed"
    raise ValueError(f"no scaling rule for gpu.fitted.{key}")


def ratios(measured, target) -> dict:
    """Target / measured datasheet ratio of each rule (two :class:`~accelsim.spec.gpu.GpuHardware`)."""
    return {"hbm": target.dram_bandwidth_bytes_per_s / measured.dram_bandwidth_bytes_per_s,
            "tensor": target.peak_flops_per_s / measured.peak_flops_per_s,
            "power": target.peak_flops_per_s / measured.peak_flops_per_s,
            "l2": target.sms * target.clock_mhz / (measured.sms * measured.clock_mhz),
            "fixed": 1.0}


def scaled_fitted(measured, target) -> dict:
    """``{key: value}``: the measured device's fitted values scaled to ``target`` (4 significant digits,
    as calibrate writes them)."""
    r = ratios(measured, target)
    return {key: float(f"{value * r[rule(key)]:.4g}") for key, value in measured.fitted.as_dict().items()}


_WHY = {"hbm": "HBM datasheet ratio", "tensor": "dense BF16 peak ratio",
        "power": "dense BF16 peak ratio, both power-limited rates alike", "l2": "SMs x clock ratio",
        "fixed": "same per-kernel cost assumed"}


def rewrite(text: str, measured, target, measured_name: str = "H200") -> str:
    """``text`` (a preset's hw file) with every ``gpu.fitted`` line replaced by its scaled value."""
    r = ratios(measured, target)
    for key, value in scaled_fitted(measured, target).items():
        kind = rule(key)
        note = f"{measured_name} fit x {r[kind]:.4g} ({_WHY[kind]}; not measured)"
        pattern = re.compile(rf"^(\s+){re.escape(key)}:[^\n]*$", re.MULTILINE)
        if not pattern.search(text):
            raise ValueError(f"{target.file}: gpu.fitted.{key} not found as one line")
        text = pattern.sub(lambda m, value=value, note=note: f"{m.group(1)}{key}: {value:g}   # {note}", text, count=1)
    return text


def main(argv=None) -> int:
    from .. import spec
    measured = spec.load("hw", "h200")
    for name in PRESETS:
        path = spec.ROOT / "hw" / f"{name}.yaml"
        target = spec.load("hw", name)
        Path(path).write_text(rewrite(Path(path).read_text(), measured, target))
        print(f"rewrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
