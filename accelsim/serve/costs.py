"""Per-step costs of a continuously batched step, from the llm layer's ops, tabulated once.

A serving step runs one forward pass over a mixed batch: prefill chunks of some requests and one
decode token (or a speculative verification) of others. Following Vidur's split of the operators
(Agrawal et al., MLSys 2024, Sec. 4 [vidur]), the step's ops are:

- **token-level** (embedding, norms, projections, MLP/MoE, residuals, KV-cache append): their cost
  depends only on ``tokens``, the new tokens in the step; tabulated for every ``tokens`` from 0
  to the step's token budget in one vectorised call of :func:`accelsim.llm.ops.pass_ops`;
- **sequence-level** attention (scores, softmax, context): linear in ``pairs`` (query, key pairs
  per head summed over the batch), ``kv_read`` (cached positions read, summed) and ``tokens``;
  each op costs ``max(compute, memory)`` on the roofline (Williams et al., CACM 2009 [roofline])
  with both sides linear, so it is exact from three unit evaluations (coefficients below);
- **head** (lm_head and argmax sampling): ``seqs`` rows, one per sequence that samples a token
  (``k + 1`` for a speculative verification); tabulated for every ``seqs``; 0 when none samples.

So a step costs ``token_s[tokens] + head_s[seqs] + sum_op max(C_op . x, M_op . x)`` with
``x = (tokens, pairs, kv_read)``: exactly what :func:`accelsim.llm.roofline.roofline_op_times` gives
for the same ops evaluated at that step (tests/naive_serve.py does the latter, step by step), but
computed once per model, device and budget, not per step or per request.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AccelsimError
from ..spec.hw import PRECISION_BITS
from ..llm.counts import kv_cache_bytes_per_token, param_counts
from ..llm.ops import pass_ops
from ..llm.roofline import dram_bytes, roofline_op_times
from ..llm.variants import LLMOptions

#: The sequence-level ops (their cost depends on pairs and cached positions, not only on tokens).
ATTENTION = ("attn.scores", "attn.softmax", "attn.context")
#: The ops that run once per sampled token.
HEAD = ("lm_head", "sampling.argmax")
#: Coefficient columns of the attention ops.
X_TOKENS, X_PAIRS, X_KV = 0, 1, 2


@dataclass(frozen=True)
class StepCostTable:
    """One model's step costs on one device (seconds), ready for the scheduler kernel.

    ``token_s[t]``: the token-level ops of a step computing ``t`` new tokens; ``head_s[s]``: the
    lm_head and sampling over ``s`` rows; ``attn_compute_s`` and ``attn_memory_s`` (ops x 3): the
    compute and memory seconds of each attention op per token, per pair and per cached position
    read (all layers). ``weight_bytes``: the parameters at the device precision;
    ``kv_bytes_per_token``: the KV cache per token at the KV precision.
    """

    model: str
    token_s: np.ndarray
    head_s: np.ndarray
    attn_compute_s: np.ndarray
    attn_memory_s: np.ndarray
    weight_bytes: int
    kv_bytes_per_token: float
    window: int

    def step_seconds(self, tokens: int, seqs: int, pairs: float, kv_read: float) -> float:
        """One step's seconds (the kernel's formula, in Python)."""
        x = np.array([tokens, pairs, kv_read], dtype=np.float64)
        attention = np.maximum(self.attn_compute_s @ x, self.attn_memory_s @ x).sum()
        return float(self.token_s[tokens] + self.head_s[seqs] + attention)


def serving_device(hw):
    """The device as a spec object; serving steps need a roofline device (a ``roofline:`` section)."""
    from .. import spec
    device = hw if isinstance(hw, (spec.Hardware, spec.RooflineHardware)) else spec.load("hw", hw)
    if not isinstance(device, spec.RooflineHardware):
        raise AccelsimError(f"{device.file or device.name}: accelsim serve costs steps on devices described by "
                            "their roofline (a `roofline:` section, e.g. hw/ideal_h100.yaml); a PE-array "
                            "hw file is simulated layer by layer, too slow per step: use an ideal_* device")
    return device


def step_ops(cfg, opts: LLMOptions, tokens, seqs, pairs, kv_read, e: float, kv_e: float):
    """The ops of serving steps (arrays over steps): ``tokens`` new tokens in all, ``seqs`` sampled
    rows, ``pairs`` attention pairs per head and ``kv_read`` cached positions read, summed over the
    batch; ``tokens`` positions are appended to the cache. One call of the llm layer's
    :func:`~accelsim.llm.ops.pass_ops` with the batch folded into one sequence (every op's counts
    are sums over the batch's sequences; MoE experts touched follow the step's tokens)."""
    return pass_ops(cfg, opts, 1, tokens, pairs, kv_read, tokens, e, kv_e, decode=True, head_rows=seqs)


def build_step_costs(cfg, device, opts: LLMOptions, max_tokens: int) -> StepCostTable:
    """Tabulate :class:`StepCostTable` for steps of up to ``max_tokens`` tokens (and sampled rows)."""
    e = PRECISION_BITS[device.precision] / 8
    kv_e = opts.kv_bits / 8 if opts.kv_bits else e
    if opts.mixer != "softmax" or not kv_cache_bytes_per_token(cfg, kv_e):
        raise AccelsimError(f"{cfg.name}: accelsim serve pages a KV cache; this model keeps none (mixer "
                            f"{opts.mixer}); serve an attention model")
    span = np.arange(max_tokens + 1, dtype=np.float64)
    zero = np.zeros_like(span)
    ops = step_ops(cfg, opts, span, span, zero, zero, e, kv_e)
    times = roofline_op_times(ops, device, kv_on_chip=False)
    token_s, head_s = np.zeros_like(span), np.zeros_like(span)
    for op in ops:
        if op.name in HEAD:
            head_s += times[op.name] * op.layers
        elif op.name not in ATTENTION:
            token_s += times[op.name] * op.layers
    token_s[0] = head_s[0] = 0.0   # no tokens, no pass; no sampled row, no lm_head
    unit = np.eye(3)
    ops = step_ops(cfg, opts, unit[:, X_TOKENS], np.zeros(3), unit[:, X_PAIRS], unit[:, X_KV], e, kv_e)
    compute, memory = [], []
    for op in ops:
        if op.name in ATTENTION:
            compute.append((2 * op.macs / device.peak_flops_per_s + op.vector_ops / device.vector_flops_per_s)
                           * op.layers)
            memory.append(dram_bytes(op, kv_on_chip=False) / device.dram_bandwidth_bytes_per_s * op.layers)
    window = opts.effective_window(cfg) or 0
    return StepCostTable(model=cfg.name, token_s=token_s, head_s=head_s,
                         attn_compute_s=np.array(compute).reshape(-1, 3),
                         attn_memory_s=np.array(memory).reshape(-1, 3),
                         weight_bytes=int(param_counts(cfg).total * e),
                         kv_bytes_per_token=float(kv_cache_bytes_per_token(cfg, kv_e)), window=int(window))
