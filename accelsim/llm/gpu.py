"""LLM ops on a GPU-class device: each op of :mod:`accelsim.llm.ops` as the kernels a PyTorch
implementation runs, costed by :mod:`accelsim.gpu.kernels` (docs/silicon.md).

:func:`op_costs` is the per-op cost function (``accelsim llm`` and ``accelsim serve`` both use it):
one :class:`~accelsim.gpu.kernels.KernelCost` per op and call, arrays over the steps of a phase.

Kernels per op (``kernels="unfused"``: plain PyTorch, as ``benchmarks/gpu/measure.py`` runs it; the
counts were read with the PyTorch profiler on an H200): a norm is one kernel (``F.rms_norm``); q, k, v,
o, gate, up and down are one GEMM each (cuBLAS adds a split-K reduction kernel when it splits K);
rotate-half RoPE is 10 strided kernels moving 10 x the rotated elements (per q and k: x*cos, the
negated half, the concatenation, *sin, the sum); the KV-cache append is two strided copies (K and V);
attention is one flash kernel (decode: flash decoding, split over the context and reduced); SwiGLU's
SiLU and product are two kernels moving 5 x the inner elements; a residual add is one kernel; the
lm_head is a GEMM and argmax one reduction; a collective across GPUs (``--tp``, ``--pp``, ``--ep``)
is one NCCL kernel (:mod:`accelsim.llm.nccl`: its base latency in ``overhead_s``, its latency steps and
bytes over the link in ``link_s``; its energy, as on the roofline devices, the sent bytes read on one
device and written on another). ``kernels="fused"`` is what serving stacks run (vLLM's
fused kernels): q/k/v one GEMM, gate/up one GEMM, RoPE one in-place kernel over q and k, SiLU-and-mul
one kernel, the KV append one kernel, each residual add fused into the norm that follows it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..gpu.kernels import (PARTS, KernelCost, apply_launch, decode_attention_cost, elementwise_cost, gemm_cost,
                           prefill_attention_cost)
from .nccl import nccl_collective_cost
from .ops import Op
from .parallel import moved_bytes
from .roofline import OP_COLUMNS, dram_bytes

KERNEL_MODES = ("unfused", "fused")
ATTENTION_PARTS = ("attn.scores", "attn.softcap", "attn.softmax", "attn.context")
#: Extra per-op columns of a GPU table: the time split (they add up to time_s), kernels per call and
#: how the op ran (tile, split-K, waves; kernel class).
GPU_COLUMNS = list(PARTS) + ["kernels", "detail"]

_FUSED_GEMMS = {"attn.q_proj": "attn.qkv_proj", "attn.k_proj": "attn.qkv_proj", "attn.v_proj": "attn.qkv_proj",
                "mlp.gate_proj": "mlp.gate_up_proj", "mlp.up_proj": "mlp.gate_up_proj"}


def _merge_fused_gemms(ops: list[Op]) -> list[Op]:
    """q/k/v and gate/up as one GEMM each: the same rows and K, the columns summed."""
    merged: dict[str, Op] = {}
    out = []
    for op in ops:
        target = _FUSED_GEMMS.get(op.name)
        if target is None or op.shape is None:
            out.append(op)
            continue
        if target in merged:
            first = merged[target]
            rows, k, cols, groups = first.shape
            first.shape = (rows, k, cols + op.shape[2], groups)
            first.macs = first.macs + op.macs
            first.weight_bytes = first.weight_bytes + op.weight_bytes
            # the input is read once: add only the output part of the act bytes (rows*cols of rows*(k+cols))
            first.act_bytes = first.act_bytes + op.act_bytes * op.shape[2] / (op.shape[1] + op.shape[2])
            continue
        copy = Op(target, op.kind, op.layers, op.macs.copy(), op.vector_ops.copy(), op.weight_bytes.copy(),
                  op.act_bytes.copy(), op.kv_bytes.copy(), op.score_bytes.copy(), op.state_bytes.copy(),
                  op.link_bytes.copy(), shape=op.shape)
        merged[target] = copy
        out.append(copy)
    return out


def _at(value, steps: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (steps,))


def _gemm(dev, op: Op, steps: int, e: float) -> KernelCost:
    rows, k, cols, groups = (_at(x, steps) for x in op.shape)
    if op.name.startswith("moe.experts"):   # rows split evenly over the experts touched
        touched = np.maximum(1.0, np.round(op.weight_bytes / (k * cols * e)))
        rows, groups = rows / touched, touched
    weights = _at(op.weight_bytes, steps)
    nbytes = weights + _at(op.act_bytes, steps)   # quantized weights move their own bytes
    inputs = rows * k * groups * e   # A: the activations, at the width act_bytes counts them
    costs = {}
    for key in sorted(set(zip(rows, k, cols, groups, nbytes, inputs, weights))):
        costs[key] = gemm_cost(dev, key[0], key[2], key[1], key[3], e, nbytes=key[4], operand_bytes=key[5:])
    keys = list(zip(rows, k, cols, groups, nbytes, inputs, weights))
    first = costs[keys[0]]
    return KernelCost(**{p: np.array([float(getattr(costs[key], p)) for key in keys]) for p in PARTS},
                      kernels=first.kernels, detail=first.detail)


def _attention(dev, parts: list[Op], decode: bool, causal: bool, steps: int, materialised: bool, e: float, cfg=None):
    macs = sum(_at(op.macs, steps) for op in parts)
    kv = sum(_at(op.kv_bytes, steps) for op in parts)
    act = sum(_at(op.act_bytes, steps) for op in parts)
    if materialised:   # scores and probabilities through HBM: two batched GEMMs and a softmax kernel
        gemms = [_gemm(dev, op, steps, e) for op in parts if op.shape is not None]
        scores = sum(_at(op.score_bytes, steps) for op in parts)
        soft = elementwise_cost(dev, "elementwise", scores, 1, "softmax")
        total = gemms + [soft]
        return KernelCost(**{p: sum(getattr(c, p) for c in total) for p in PARTS},
                          kernels=sum(c.kernels for c in total), detail="materialised attention")
    if decode:
        blocks, context = _decode_blocks(parts, cfg, steps) if cfg is not None else (None, None)
        return decode_attention_cost(dev, kv, act, 2 * macs, blocks, context)
    return prefill_attention_cost(dev, 2 * macs, causal, kv + act)


def _decode_blocks(parts: list[Op], cfg, steps: int):
    """(thread blocks, attended positions) of a decode attention for FlashAttention-2's split heuristic:
    batch x heads, or batch x KV heads when query heads share them (its query-group swap); the scores
    op's shape is (queries per sequence, head dim, positions, batch x heads)."""
    scores = next((op for op in parts if op.shape is not None), None)
    if scores is None:
        return None, None
    heads = max(1, cfg.num_heads)
    sequences = _at(scores.shape[3], steps) / heads
    grouped = cfg.num_kv_heads if 0 < cfg.num_kv_heads < heads else heads
    return sequences * grouped, _at(scores.shape[2], steps)


#: Norms that follow a residual add (accelsim.llm.ops): with ``kernels="fused"`` the add runs in their kernel.
_AFTER_RESIDUAL = ("attn_norm", "mlp_norm", "final_norm", "ssm_norm")


def _vector(dev, op: Op, steps: int, cfg, fused: bool) -> KernelCost:
    """Element-wise ops as the kernels they run (module docstring)."""
    name = op.name
    base = _at(op.act_bytes, steps) + _at(op.score_bytes, steps) + _at(op.state_bytes, steps)
    if name.endswith("residual"):
        if fused:   # folded into the next norm's kernel (x + m, then its norm): no kernel of its own; of its
            # three tensors only m's read and x's write are its own (the norm reads x anyway): 2/3 of the
            # bytes, in a kernel moving 4 tensors (its 2, the norm's 2)
            return elementwise_cost(dev, "norm", base * 2 / 3, 0, "fused into the next norm", kernel_bytes=base * 4 / 3)
        return elementwise_cost(dev, "residual", base, 1, "residual add")
    if name.endswith("norm"):
        if fused and name in _AFTER_RESIDUAL:   # the fused add + norm kernel moves twice the norm's bytes
            return elementwise_cost(dev, "norm", base, 1, "residual add + norm, one kernel", kernel_bytes=2 * base)
        return elementwise_cost(dev, "norm", base, 1, "norm")
    if name.endswith("rope"):
        if fused:
            return elementwise_cost(dev, "rope", base, 1, "rotary embedding, one in-place kernel")
        return elementwise_cost(dev, "rope", 5 * base, 10, "rotate-half RoPE, 10 kernels")
    if name.endswith("act_fn") and cfg.activation == "swiglu":
        if fused:
            return elementwise_cost(dev, "activation", base, 1, "SiLU-and-mul, one kernel")
        return elementwise_cost(dev, "activation", base * 5 / 3, 2, "SiLU, then the product")
    if name.endswith("act_fn"):
        return elementwise_cost(dev, "activation", base, 1, "activation")
    if name.startswith("sampling"):
        return elementwise_cost(dev, "argmax", base, 1, "argmax reduction")
    return elementwise_cost(dev, "residual", base, 1, "element-wise")


def _memory(dev, op: Op, steps: int, fused: bool) -> KernelCost:
    nbytes = _at(op.act_bytes, steps) + _at(op.kv_bytes, steps)
    if op.name.startswith("kv_cache.write"):
        kernels = 1 if fused else 2
        return elementwise_cost(dev, "copy", nbytes, kernels, f"K/V cache append, {kernels} copy kernel(s)")
    return elementwise_cost(dev, "copy", nbytes, 1, "gather / copy")


def op_costs(ops: list[Op], dev, cfg, opts, decode: bool, e: float, kernels: str = "unfused",
             launch: str = "graph") -> list[tuple[str, str, int, KernelCost, list[Op]]]:
    """``(name, kind, layers, cost per call, source ops)`` per op of a pass on ``dev``; the attention
    parts (scores, softmax, context) are one flash-attention op named ``attention``. ``launch``:
    ``graph``, ``eager`` or ``none`` launch gaps over the whole pass (:func:`accelsim.gpu.kernels.apply_launch`)."""
    if kernels not in KERNEL_MODES:
        raise ValueError(f"kernels must be one of {KERNEL_MODES} (got {kernels!r})")
    fused = kernels == "fused"
    steps = max(max(np.size(op.macs), np.size(op.act_bytes), np.size(op.kv_bytes)) for op in ops)
    if fused:
        ops = _merge_fused_gemms(ops)
    out = []
    groups: dict[str, list[Op]] = {}
    for op in ops:
        base, dot, suffix = op.name.partition(".full")
        if base in ATTENTION_PARTS:
            key = "attention" + (".full" if dot else "")
            if key not in groups:
                groups[key] = []
                out.append((key, "attention", op.layers, None, groups[key]))
            groups[key].append(op)
            continue
        if op.kind == "link":
            bandwidth = dev.link_bandwidth_bytes_per_s or dev.dram_bandwidth_bytes_per_s
            memory = _at(op.link_bytes, steps) / bandwidth
            zero = np.zeros(steps)
            cost = KernelCost(zero, zero, zero, zero, zero, 0, "device link", link_s=memory)
        elif op.kind == "collective":   # an NCCL kernel over the link (accelsim/llm/nccl.py)
            kind, participants, algorithm = op.comm
            cost = nccl_collective_cost(dev, kind, participants, _at(op.link_bytes, steps), algorithm)
        elif op.shape is not None and op.kind in ("gemm",):
            cost = _gemm(dev, op, steps, e)
        elif op.kind == "memory":
            cost = _memory(dev, op, steps, fused)
        else:
            cost = _vector(dev, op, steps, cfg, fused)
        out.append((op.name, op.kind, op.layers, cost, [op]))
    per_call = []
    for name, kind, layers, cost, sources in out:
        if cost is None:
            cost = _attention(dev, sources, decode, opts.causal, steps, opts.attention == "materialised", e, cfg)
        per_call.append(cost)
    totals = [KernelCost(**{p: getattr(c, p) * entry[2] for p in PARTS}, kernels=c.kernels * entry[2],
                         detail=c.detail) for c, entry in zip(per_call, out)]
    launched = apply_launch(dev, totals, launch)
    return [(name, kind, layers, KernelCost(**{p: getattr(t, p) / layers for p in PARTS}, kernels=c.kernels,
                                            detail=c.detail), sources)
            for (name, kind, layers, _, sources), c, t in zip(out, per_call, launched)]


def gpu_phase(phase: str, ops: list[Op], dev, cfg, opts, e: float, kernels: str, launch: str, energies,
              kv_on_chip: bool = False) -> tuple[np.ndarray, pd.DataFrame]:
    """Seconds of each step of a phase and its per-op table (decode rows: means per step), with the
    roofline columns at the datasheet peak and bandwidth and the time split of :data:`GPU_COLUMNS`."""
    decode = phase == "decode"
    costs = op_costs(ops, dev, cfg, opts, decode, e, kernels, launch)
    mac_pj, vector_pj, byte_pj = energies
    rows = []
    per_step = 0.0
    peak, bandwidth = dev.peak_flops_per_s, dev.dram_bandwidth_bytes_per_s
    for name, kind, layers, cost, sources in costs:
        steps = max(np.size(cost.time_s), 1)
        mean = lambda a: float(np.sum(np.broadcast_to(a, (steps,)))) * layers / steps   # noqa: E731
        per_step = per_step + cost.time_s * layers
        flops = sum(mean(op.flops) for op in sources)
        traffic = sum(mean(dram_bytes(op, kv_on_chip)) for op in sources)
        time = mean(cost.time_s)
        intensity = flops / traffic if traffic else float("inf")
        parts = {p: mean(getattr(cost, p)) for p in PARTS}
        bound = max((("compute", parts["compute_s"] + parts["quantization_s"]), ("memory", parts["memory_s"]),
                     ("overhead", parts["overhead_s"]), ("launch", parts["launch_s"]), ("link", parts["link_s"])),
                    key=lambda kv: kv[1])[0]
        link = sum(mean(moved_bytes(op.comm[0], op.comm[1], op.link_bytes, op.comm[2]))
                   for op in sources if op.kind == "collective")
        rows.append({
            "phase": phase, "op": name, "kind": kind, "layers": layers,
            "macs": sum(mean(op.macs) for op in sources), "vector_ops": sum(mean(op.vector_ops) for op in sources),
            "flops": flops, "dram_bytes": traffic, "kv_bytes": sum(mean(op.kv_bytes) for op in sources),
            "arithmetic_intensity_flop_per_byte": intensity,
            "attainable_flops_per_s": min(peak, intensity * bandwidth) if flops else 0.0,
            "achieved_flops_per_s": flops / time if time else 0.0, "time_s": time,
            "bound": "link" if kind == "link" else bound,
            "energy_j": sum((mean(op.macs) * mac_pj + mean(op.vector_ops) * vector_pj) for op in sources) * 1e-12
            + (traffic + 2 * link) * byte_pj * 1e-12,
            **parts, "kernels": cost.kernels * layers, "detail": cost.detail})
    return np.asarray(per_step, dtype=np.float64), pd.DataFrame(rows, columns=OP_COLUMNS + GPU_COLUMNS)
