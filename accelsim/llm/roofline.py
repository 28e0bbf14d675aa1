"""Time, traffic and energy of LLM ops on an ideal-roofline device, and the per-op roofline table.

Each op takes ``max(compute, memory)`` seconds (Williams, Waterman and Patterson, "Roofline: an
insightful visual performance model", CACM 2009; docs/llm.md, "Conventions"):
compute = ``2 * MACs / peak + vector ops / vector peak``, memory = ``DRAM bytes / bandwidth``.
DRAM bytes are every op's weights, activations, scores (materialised attention only), recurrent
state and KV-cache traffic, the last unless the whole cache fits on chip (``onchip_bytes``).
Ring attention's K/V transfer takes ``link bytes / link bandwidth`` and overlaps the layer's
attention compute (Liu et al. 2023, Sec. 3.1: blockwise compute hides the transfer), so only the
excess is exposed. Energy = MACs x ``mac_pj`` + vector ops x ``vector_op_pj`` + DRAM bytes x the
table's DRAM read energy per byte (reads and writes priced alike, as the built-in tables list them).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import AccelsimError
from .ops import Op

ATTENTION_OPS = tuple(name + suffix for suffix in ("", ".full")
                      for name in ("attn.scores", "attn.softcap", "attn.softmax", "attn.context"))

#: Columns of the per-op table (both device kinds).
OP_COLUMNS = ["phase", "op", "kind", "layers", "macs", "vector_ops", "flops", "dram_bytes", "kv_bytes",
              "arithmetic_intensity_flop_per_byte", "attainable_flops_per_s", "achieved_flops_per_s",
              "time_s", "bound", "energy_j"]


def dram_bytes(op: Op, kv_on_chip: bool) -> np.ndarray:
    """Bytes an op moves to or from DRAM (per run, per step)."""
    traffic = op.weight_bytes + op.act_bytes + op.score_bytes + op.state_bytes
    return traffic if kv_on_chip else traffic + op.kv_bytes


def mac_energy_pj(table, precision: str, default: float) -> float:
    """MAC energy at a quantized compute precision: the table's entry, fp8 priced as int8 (8-bit
    multiplier, Horowitz 2014 lists no 8-bit float), else the device precision's ``default``."""
    macs = table.mac_pj
    return macs.get(precision, macs.get("int8", default) if precision == "fp8" else default)


def collective_op_seconds(op: Op, device) -> np.ndarray:
    """Seconds of a collective op (alpha-beta over the device's link, :mod:`accelsim.llm.parallel`)."""
    from .parallel import collective_seconds
    bandwidth = getattr(device, "link_bandwidth_bytes_per_s", 0.0)
    if not bandwidth:
        raise AccelsimError(f"{device.file or device.name}: roofline.link_bandwidth_gb_per_s: needed for "
                            f"--tp/--pp/--ep collectives across devices; add it (and link_latency_us) to the hw file")
    kind, participants, algorithm = op.comm
    return collective_seconds(kind, participants, op.link_bytes, bandwidth, getattr(device, "link_latency_s", 0.0),
                              algorithm)


def op_peak_flops_per_s(op: Op, device) -> float:
    """The tensor peak an op's MACs run at: the 8-bit peak for int8/fp8 GEMMs when the device gives one."""
    if op.precision in ("int8", "fp8") and getattr(device, "peak_8bit_flops_per_s", 0.0):
        return device.peak_8bit_flops_per_s
    return device.peak_flops_per_s


def energy_per_action_pj(hw, table) -> tuple[float, float, float]:
    """(MAC, vector op, DRAM byte) energies in pJ at ``hw.precision`` from an energy table."""
    if hw.precision not in table.mac_pj:
        raise AccelsimError(f"{table.file or table.name}: mac_pj.{hw.precision}: no MAC energy for "
                            f"{hw.precision}; add it or choose another energy table")
    mac = table.mac_pj[hw.precision]
    vector = (table.vector_op_pj or {}).get(hw.precision, mac)
    return mac, vector, table.dram.read_pj / (table.dram_bits / 8)


def roofline_op_times(ops: list[Op], device, kv_on_chip: bool) -> dict[str, np.ndarray]:
    """Seconds per run of each op, per step: ``{op name: array}`` (link ops: the exposed part)."""
    times = {}
    for op in ops:
        if op.kind == "collective":
            times[op.name] = collective_op_seconds(op, device)
            continue
        compute = 2 * op.macs / op_peak_flops_per_s(op, device) + op.vector_ops / device.vector_flops_per_s
        times[op.name] = np.maximum(compute, dram_bytes(op, kv_on_chip) / device.dram_bandwidth_bytes_per_s)
    for op in ops:
        if op.kind == "link":
            if not device.link_bandwidth_bytes_per_s:
                raise AccelsimError(f"{device.file or device.name}: roofline.link_bandwidth_gb_per_s: needed for "
                                    "ring attention across devices; add it to the hw file")
            attention = sum(times[name] for name in ATTENTION_OPS if name in times)
            times[op.name] = np.maximum(op.link_bytes / device.link_bandwidth_bytes_per_s - attention, 0.0)
    return times


def op_energy_j(op: Op, kv_on_chip: bool, energies: tuple[float, float, float], table=None) -> np.ndarray:
    """Energy of one run of an op, per step (array): MACs at their precision's energy, vector ops,
    DRAM bytes, and a collective's sent bytes read from one device's memory and written to another's."""
    from .parallel import moved_bytes
    mac_pj, vector_pj, byte_pj = energies
    op_mac_pj = mac_energy_pj(table, op.precision, mac_pj) if (op.precision and table is not None) else mac_pj
    link = 0.0
    if op.kind == "collective":
        kind, participants, algorithm = op.comm
        link = moved_bytes(kind, participants, op.link_bytes, algorithm)
    return (op.macs * op_mac_pj + op.vector_ops * vector_pj + (dram_bytes(op, kv_on_chip) + 2 * link) * byte_pj) * 1e-12


def op_table(phase: str, ops: list[Op], times: dict[str, np.ndarray], kv_on_chip: bool, device,
             energies: tuple[float, float, float], table=None) -> pd.DataFrame:
    """Per-op rows for one phase: totals over the model's layers, mean per step over the phase's
    steps (a prefill has one step), with roofline coordinates: arithmetic intensity = FLOPs / DRAM
    bytes, attainable = ``min(peak, intensity * bandwidth)`` (vector ops: the vector peak),
    achieved = FLOPs / time."""
    rows = []
    bandwidth_bytes_per_s = device.dram_bandwidth_bytes_per_s
    for op in ops:
        peak_flops_per_s = device.vector_flops_per_s if op.kind == "vector" else op_peak_flops_per_s(op, device)
        steps = max(op.macs.size, 1)
        mean = lambda a: float(np.sum(a)) * op.layers / steps   # noqa: E731
        flops, traffic, time = mean(op.flops), mean(dram_bytes(op, kv_on_chip)), mean(times[op.name])
        intensity = flops / traffic if traffic else float("inf")
        attainable = min(peak_flops_per_s, intensity * bandwidth_bytes_per_s)
        rows.append({
            "phase": phase, "op": op.name, "kind": op.kind, "layers": op.layers, "macs": mean(op.macs),
            "vector_ops": mean(op.vector_ops), "flops": flops, "dram_bytes": traffic,
            "kv_bytes": mean(op.kv_bytes), "arithmetic_intensity_flop_per_byte": intensity,
            "attainable_flops_per_s": attainable if flops else 0.0,
            "achieved_flops_per_s": flops / time if time else 0.0, "time_s": time,
            "bound": ("link" if op.kind in ("link", "collective") else "memory"
                      if intensity < peak_flops_per_s / bandwidth_bytes_per_s else "compute"),
            "energy_j": mean(op_energy_j(op, kv_on_chip, energies, table)),
        })
    return pd.DataFrame(rows, columns=OP_COLUMNS)


def step_seconds(ops: list[Op], times: dict[str, np.ndarray]) -> np.ndarray:
    """Seconds of each step of a phase: the sum over ops of time x layers (ops run one after another)."""
    return sum(times[op.name] * op.layers for op in ops)
