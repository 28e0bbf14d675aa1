"""The cost of one model step for ``(phase, batch, context)``: the per-step API serving builds on.

:func:`step_cost` costs a prefill of ``context`` prompt tokens, or one decode step at each of an
array of contexts, for ``batch`` sequences on a device, with every option of ``accelsim llm``
(attention variants, quantized weights, tensor/pipeline/expert parallelism, through the same
:class:`~accelsim.llm.infer.Plan` and ops as :func:`~accelsim.llm.infer.llm_inference`). Decode
contexts are evaluated as one numpy array (no loop per context).

Devices are pluggable: an ideal-roofline device is timed by :func:`accelsim.llm.roofline.roofline_op_times`;
a GPU device (a ``gpu:`` section, hw/h200.yaml) by its kernel model, :func:`accelsim.llm.gpu.op_costs`, as
``accelsim llm --hw h200`` times it (``kernels`` and ``launch`` are that command's ``--kernels`` and
``--launch``; the prefill is launched eagerly); any other device object that has a method ``op_seconds(ops, kv_on_chip) -> {op name: seconds per run}``
is timed by it. PE arrays (simulated layer by layer) are costed by ``llm_inference``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AccelsimError
from .phases import _check
from .roofline import collective_op_seconds, dram_bytes, op_energy_j, roofline_op_times
from .variants import LLMOptions, attended_keys, cached_kv_bytes, layer_groups, prefill_pairs

PHASES = ("prefill", "decode")


@dataclass(frozen=True)
class StepCost:
    """Arrays over the contexts asked for (one entry for a prefill).

    ``seconds``: wall time of the step (prefill: time to first token with pipeline bubbles; decode:
    one token for every sequence); ``energy_j``: the replica's energy for the step; ``flops`` and
    ``dram_bytes``: one device's; ``collective_s``: the part of ``seconds`` spent in collectives
    (one micro-batch's pass); ``kv_cache_bytes``: one device's KV cache after the step.
    """

    phase: str
    batch: int
    contexts: np.ndarray
    seconds: np.ndarray
    energy_j: np.ndarray
    flops: np.ndarray
    dram_bytes: np.ndarray
    collective_s: np.ndarray
    kv_cache_bytes: np.ndarray


def _times(ops, device, kv_on_chip: bool) -> dict:
    from .. import spec
    if isinstance(device, spec.RooflineHardware):
        return roofline_op_times(ops, device, kv_on_chip)
    custom = getattr(device, "op_seconds", None)
    if callable(custom):
        times = dict(custom(ops, kv_on_chip))
        for op in ops:   # collectives are priced over the link by the alpha-beta model on any device
            if op.kind == "collective" and op.name not in times:
                times[op.name] = collective_op_seconds(op, device)
        return times
    raise AccelsimError(f"{device.file or device.name}: step costs need a device with a per-op time model "
                        f"(an ideal-roofline or GPU hw file); a PE array is simulated by accelsim llm")


def _gpu_times(ops, device, plan, opts, phase: str, kernels: str, launch: str):
    """Seconds of the step and of its collectives on a GPU device, and the ops as the kernels run
    them (fused GEMMs merged: their bytes and energy are the fused kernel's): the kernels ``accelsim
    llm`` costs (:func:`accelsim.llm.gpu.op_costs`, launch gaps included; the prefill launched eagerly)."""
    from .gpu import op_costs
    decode = phase == "decode"
    costs = op_costs(ops, device, plan.cfg_dev, opts, decode, plan.e, kernels, launch if decode else "eager")
    seconds = sum(cost.time_s * layers for _, _, layers, cost, _ in costs)
    collective = sum(cost.time_s * layers for _, kind, layers, cost, _ in costs if kind == "collective")
    run = [op for *_, sources in costs for op in sources]
    return np.asarray(seconds, dtype=np.float64), np.asarray(collective, dtype=np.float64), run


def _kernel_modes(device, kernels, launch) -> tuple[str, str]:
    from .. import spec
    if not isinstance(device, spec.GpuHardware):
        if kernels is not None or launch is not None:
            raise AccelsimError(f"kernels and launch apply to GPU devices (h200, h100, a100), not "
                                f"{device.file or device.name}")
        return "unfused", "graph"
    kernels, launch = kernels or "unfused", launch or "graph"   # accelsim llm's defaults
    if kernels not in ("unfused", "fused"):
        raise AccelsimError(f"kernels must be unfused or fused (got {kernels!r})")
    if launch not in ("graph", "eager"):
        raise AccelsimError(f"launch must be graph or eager (got {launch!r})")
    return kernels, launch


def step_cost(model, hw, phase: str, batch: int, context, options: LLMOptions | None = None,
              kernels: str | None = None, launch: str | None = None) -> StepCost:
    """Cost of one step: ``phase`` ``prefill`` (``context`` = prompt tokens, an int) or ``decode``
    (``context``: an int or an array of contexts, each a step attending to that many positions).
    ``kernels`` (``unfused``, the default, or ``fused``) and ``launch`` (``graph``, the default, or
    ``eager``): how a GPU device runs the step, as ``accelsim llm --kernels/--launch``."""
    from .. import spec
    from .infer import Plan
    from .lower import resolve_llm_config
    from .ops import pass_ops
    if phase not in PHASES:
        raise AccelsimError(f"phase must be prefill or decode (got {phase!r})")
    cfg = resolve_llm_config(model)
    opts = options or LLMOptions()
    opts.validate(cfg)
    _check("batch", batch)
    device = hw if not isinstance(hw, str) else spec.load("hw", hw)
    gpu = isinstance(device, spec.GpuHardware)
    kernels, launch = _kernel_modes(device, kernels, launch)
    plan = Plan.make(cfg, device, opts, batch)
    t = np.atleast_1d(np.asarray(context, dtype=np.int64))
    if t.size == 0 or int(t.min()) < 1:
        raise AccelsimError(f"context must be >= 1 token (got {context!r})")
    cfg_dev = plan.cfg_dev
    if phase == "prefill":
        if t.size != 1:
            raise AccelsimError("a prefill step takes one prompt length (context is an int)")
        rows = plan.prefill_micro_batch
        groups = [(n, prefill_pairs(cfg_dev, opts, t, w), t, t) for n, w in layer_groups(cfg_dev, opts)]
        head_rows = rows * int(t[0]) / opts.devices if opts.lm_head_all_tokens else rows
        ops = pass_ops(cfg_dev, opts, rows, t, prefill_pairs(cfg_dev, opts, t), t, t, plan.e, plan.kv_e,
                       decode=False, head_rows=head_rows, groups=groups or None)
        copies, micro = plan.replica_copies_prefill, plan.prefill_micro_batches
        final = t
    else:
        rows = plan.decode_micro_batch
        keys = attended_keys(cfg_dev, opts, t)
        groups = [(n, attended_keys(cfg_dev, opts, t, w), attended_keys(cfg_dev, opts, t, w), np.ones_like(t))
                  for n, w in layer_groups(cfg_dev, opts)]
        ops = pass_ops(cfg_dev, opts, rows, np.ones_like(t), keys, keys, np.ones_like(t), plan.e, plan.kv_e,
                       decode=True, groups=groups or None)
        copies, micro = plan.replica_copies_decode, 1
        final = t + 1
    kv = (plan.local_batch * cached_kv_bytes(cfg_dev, opts, final, plan.kv_e) * plan.stage_share
          / opts.devices)   # one device's cache after the step (Plan.kv_placement, for every context)
    kv_on_chip = bool(np.all((kv > 0) & (kv <= getattr(device, "onchip_bytes", 0))))
    if gpu:
        seconds, collective, ops = _gpu_times(ops, device, plan, opts, phase, kernels, launch)
        collective = np.broadcast_to(collective, t.shape)
    else:
        times = _times(ops, device, kv_on_chip)
        seconds = sum(times[op.name] * op.layers for op in ops)
        collective = sum((times[op.name] * op.layers for op in ops if op.kind == "collective"),
                         np.zeros(t.shape))
    if phase == "prefill":
        seconds = np.asarray(plan.prefill_seconds(seconds))
    table = None if gpu else plan.table   # a GPU's per-op energies price MACs at the file's precision (gpu_phase)
    energy = sum(op_energy_j(op, kv_on_chip, plan.energies, table) * op.layers for op in ops) * copies
    flops = sum(op.flops * op.layers for op in ops)
    dram = sum(dram_bytes(op, kv_on_chip) * op.layers for op in ops)
    return StepCost(phase=phase, batch=batch, contexts=t, seconds=np.broadcast_to(seconds, t.shape).astype(float),
                    energy_j=np.broadcast_to(energy, t.shape).astype(float),
                    flops=np.broadcast_to(flops, t.shape).astype(float),
                    dram_bytes=np.broadcast_to(dram, t.shape).astype(float), collective_s=collective * micro,
                    kv_cache_bytes=kv)
