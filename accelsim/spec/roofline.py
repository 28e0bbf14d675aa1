"""Ideal-roofline devices (``hw/ideal_*.yaml``): peak FLOP/s and memory bandwidth only.

A file with a top-level ``roofline:`` section describes a device with no PE array, buffers or
clock: each op takes ``max(flops / peak, bytes / bandwidth)`` seconds (Williams, Waterman and
Patterson, "Roofline", CACM 2009; docs/llm.md, "Conventions"). Such devices
serve the analytical LLM model (:mod:`accelsim.llm.roofline`); the array simulator refuses them
with a message that says so.

Units are in the key names: ``peak_tflops`` (10^12 FLOP/s at the file's precision),
``dram_bandwidth_gb_per_s`` (10^9 B/s), ``link_bandwidth_gb_per_s`` (device-to-device, for ring
attention across devices), ``onchip_mib`` (on-chip memory that may hold a KV cache; 0 = none),
``memory_gb`` (device memory capacity, 10^9 B) or ``memory_gib`` (the same in 2^30 B, as the
driver reports it: [gpu-memory-total]), ``peak_tflops_8bit`` (int8/fp8 dense peak),
``link_latency_us`` (per-message latency of device-to-device collectives).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .common import Reader, load_yaml
from .hw import DEFAULT_ENERGY_TABLE, PRECISION_BITS

_TOP_KEYS = ("name", "description", "source", "precision", "roofline", "energy_table")
_ROOFLINE_KEYS = ("peak_tflops", "dram_bandwidth_gb_per_s", "vector_tflops", "link_bandwidth_gb_per_s",
                  "onchip_mib", "memory_gb", "memory_gib", "peak_tflops_8bit", "link_latency_us")


@dataclass(frozen=True)
class RooflineHardware:
    """A device described by its roofline: ``peak_flops_per_s`` and ``dram_bandwidth_bytes_per_s``.

    ``vector_flops_per_s``: element-wise throughput (softmax, norms, activations); defaults to the
    peak, the ideal device's assumption. ``link_bandwidth_bytes_per_s``: per-device ring link
    (0: not given; needed only across several devices). ``onchip_bytes``: memory that can hold
    a KV cache instead of DRAM (0: none, the presets' ideal device). ``memory_bytes``: device
    memory capacity (HBM; 0: not given, no capacity check). ``peak_8bit_flops_per_s``: dense
    int8/fp8 peak for w8a8/fp8 GEMMs (0: the file precision's peak). ``link_latency_s``: the
    alpha of the collectives' alpha-beta model (per message). ``energy_table`` prices MACs,
    vector ops and DRAM bytes (hw/energy/).
    """

    name: str
    precision: str
    peak_flops_per_s: float
    dram_bandwidth_bytes_per_s: float
    vector_flops_per_s: float
    link_bandwidth_bytes_per_s: float = 0.0
    onchip_bytes: int = 0
    memory_bytes: int = 0
    peak_8bit_flops_per_s: float = 0.0
    link_latency_s: float = 0.0
    energy_table: str = DEFAULT_ENERGY_TABLE
    description: str = ""
    source: str = ""
    file: str = ""

    #: Not a PE array: the array simulator and the systolic/multicast checks skip these devices.
    interconnect = "roofline"

    @property
    def word_bytes(self) -> float:
        return PRECISION_BITS[self.precision] / 8

    @property
    def ridge_flops_per_byte(self) -> float:
        """Arithmetic intensity where the roofline turns from memory- to compute-bound."""
        return self.peak_flops_per_s / self.dram_bandwidth_bytes_per_s


def is_roofline(data) -> bool:
    """Whether a parsed hw mapping describes an ideal-roofline device (a ``roofline:`` section)."""
    return isinstance(data, dict) and "roofline" in data


def roofline_from_dict(data, file: str = "<hw>") -> RooflineHardware:
    """Validate a parsed ideal-roofline hw mapping; all problems raised together."""
    top = Reader(data, file)
    name = top.string("name")
    description = top.string("description", "")
    source = top.string("source", "")
    precision = top.choice("precision", tuple(PRECISION_BITS))
    energy_table = top.string("energy_table", DEFAULT_ENERGY_TABLE)
    roof = top.child("roofline")
    peak = roof.number("peak_tflops")
    bandwidth = roof.number("dram_bandwidth_gb_per_s")
    vector = roof.number("vector_tflops", None)
    link = roof.number("link_bandwidth_gb_per_s", None)
    onchip = roof.number("onchip_mib", 0, positive=False)
    memory = roof.number("memory_gb", None)
    memory_gib = roof.number("memory_gib", None)
    if memory is not None and memory_gib is not None:
        roof.error("memory_gib", "give memory_gb (10^9 B) or memory_gib (2^30 B), not both")
    memory_bytes = int(memory_gib * 2 ** 30) if memory_gib is not None else int(round(float(memory or 0) * 1e9))
    peak8 = roof.number("peak_tflops_8bit", None)
    latency = roof.number("link_latency_us", 0, positive=False)
    if latency is not None and latency < 0:
        roof.error("link_latency_us", f"must be >= 0 (got {latency})")
    if onchip is not None and onchip < 0:
        roof.error("onchip_mib", f"must be >= 0 (got {onchip})")
    roof.reject_unknown(_ROOFLINE_KEYS)
    top.reject_unknown(_TOP_KEYS)
    top.raise_if_problems()
    return RooflineHardware(
        name=name, precision=precision, peak_flops_per_s=float(peak) * 1e12,
        dram_bandwidth_bytes_per_s=float(bandwidth) * 1e9,
        vector_flops_per_s=float(vector if vector is not None else peak) * 1e12,
        link_bandwidth_bytes_per_s=float(link or 0) * 1e9, onchip_bytes=int(onchip * 2 ** 20),
        memory_bytes=memory_bytes, peak_8bit_flops_per_s=float(peak8 or 0) * 1e12,
        link_latency_s=float(latency or 0) * 1e-6,
        energy_table=energy_table, description=description or "", source=source or "", file=str(file))


def load_roofline(path) -> RooflineHardware:
    """Load and validate one ideal-roofline ``hw/*.yaml`` file."""
    return roofline_from_dict(load_yaml(Path(path)), str(path))
