"""Device memory: weights, KV cache and activations per device, the largest batch that fits.

Per device (one tensor/expert-parallel rank of the largest pipeline stage, :mod:`accelsim.llm.parallel`):

- weights: the stage's share of the per-layer parameters (``ceil(layers / pp) / layers``), of which
  the GEMM weights are stored in the run's weight format (:mod:`accelsim.llm.quant`: scales and zero
  points included) and split ``1/tp`` (routed experts ``1/ep``), norms replicated; plus the
  vocabulary-parallel embedding and lm_head (``1/tp``; with several stages the first holds the
  embedding and the last the lm_head, or a copy of the tied table: the larger counts);
- KV cache: the stage's layers, the rank's KV heads (MLA's latent whole), the sequences the device
  attends for (``batch / ep`` with data-parallel attention), at the last context;
- activations: the largest working set of one op in the prefill or a decode step (its inputs,
  outputs, and materialised scores), plus the residual stream ``tokens x d``, at the micro-batch
  (activations are freed between ops, as vLLM's profiling run measures the peak of one forward pass);
- state: a linear-attention or SSM state per sequence.

The largest batch that fits at the requested context solves
``weights + B x (KV + state + activations per sequence) <= capacity`` (all three linear in B).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AccelsimError
from .config import LLMConfig
from .counts import param_counts
from .quant import WeightQuant


@dataclass(frozen=True)
class MemoryUse:
    """Bytes per device; ``capacity_bytes`` 0 when the hw file gives no capacity."""

    weight_bytes: float
    kv_cache_bytes: float
    activation_bytes: float
    state_bytes: float
    capacity_bytes: int
    per_sequence_bytes: float

    @property
    def used_bytes(self) -> float:
        return self.weight_bytes + self.kv_cache_bytes + self.activation_bytes + self.state_bytes

    @property
    def fits(self) -> bool | None:
        return None if not self.capacity_bytes else self.used_bytes <= self.capacity_bytes

    def max_batch(self, sequences_per_device_batch: float) -> int | None:
        """Largest batch (in the run's batch units) that fits; ``sequences_per_device_batch``: the
        device's sequences per unit of batch (1/ep with data-parallel attention)."""
        if not self.capacity_bytes:
            return None
        free = self.capacity_bytes - self.weight_bytes
        if free <= 0:
            return 0
        per = self.per_sequence_bytes * sequences_per_device_batch
        return int(free // per) if per > 0 else None


def weight_bytes_per_device(cfg_dev: LLMConfig, opts, quant: WeightQuant, e: float) -> float:
    """Stored weight bytes of one device (see the module docstring)."""
    from .parallel import stage_layers
    p = param_counts(cfg_dev)
    matrices = layer_matrices(cfg_dev, opts)
    gemm_params = sum(k * n * count for k, n, count in matrices)
    gemm_bytes = sum(float(quant.weight_bytes(k, n, e)) * count for k, n, count in matrices)
    final_norm = (cfg_dev.hidden_size * (2 if cfg_dev.norm_bias else 1)
                  if cfg_dev.final_norm and cfg_dev.norm_weights else 0)
    layer_params = p.total - p.embeddings - p.head - final_norm - p.experts * (1 - 1 / opts.ep)
    other = layer_params - gemm_params          # norms, biases, conv and SSM vectors: activation precision
    share = stage_layers(cfg_dev, opts.pp) / cfg_dev.num_layers
    layers = (gemm_bytes + other * e) * share
    embed, head = p.embeddings * e, p.head * e
    if opts.pp == 1:
        model_level = embed + head
    else:
        tied_copy = embed if cfg_dev.tied_embeddings and cfg_dev.lm_head else 0.0
        model_level = max(embed, head + tied_copy)
    return layers + model_level + final_norm * e


def layer_matrices(cfg: LLMConfig, opts) -> list[tuple[int, int, int]]:
    """``(K, N, count)`` of every per-layer weight matrix of one device, over all layers."""
    d, L = cfg.hidden_size, cfg.num_layers
    out: list[tuple[int, int, int]] = []
    if cfg.is_ssm:
        di, n = cfg.ssm_d_inner, cfg.ssm_state_size
        if cfg.mixer == "mamba":
            out += [(d, 2 * di, L), (di, cfg.ssm_dt_rank + 2 * n, L), (cfg.ssm_dt_rank, di, L), (di, d, L)]
        else:
            out += [(d, 2 * di + 2 * cfg.ssm_groups * n + cfg.ssm_heads, L), (di, d, L)]
        return out
    h = cfg.num_heads
    if cfg.is_mla:
        q_out = h * cfg.qk_head_dim
        out += [(d, q_out, L)] if cfg.q_lora_rank is None else [(d, cfg.q_lora_rank, L), (cfg.q_lora_rank, q_out, L)]
        out += [(d, cfg.kv_lora_rank + cfg.qk_rope_head_dim, L),
                (cfg.kv_lora_rank, h * (cfg.qk_nope_head_dim + cfg.v_head_dim), L)]
    else:
        out += [(d, h * cfg.head_dim, L), (d, cfg.num_kv_heads * cfg.head_dim, 2 * L)]
    out.append((h * cfg.value_head_dim, d, L))

    def mlp(ff, count):
        return [(d, ff, count * (2 if cfg.gated else 1)), (ff, d, count)]

    dense = L - cfg.num_moe_layers
    if dense:
        out += mlp(cfg.intermediate_size, dense)
    moe = cfg.num_moe_layers
    if moe:
        out.append((d, cfg.num_experts, moe))
        if cfg.num_shared_experts:
            out += mlp(cfg.shared_intermediate_size, moe)
            if cfg.shared_expert_gate:
                out.append((d, 1, moe))
        local = cfg.num_experts // opts.ep if opts.ep > 1 else cfg.num_experts
        out += mlp(cfg.expert_intermediate_size, moe * local)
    return out


def activation_bytes(ops) -> float:
    """The largest working set of one op run (inputs, outputs, materialised scores) over the ops."""
    best = 0.0
    for op in ops:
        best = max(best, float(np.max(op.act_bytes + op.score_bytes)))
    return best


def memory_use(cfg_dev: LLMConfig, opts, quant: WeightQuant, e: float, kv_bytes: float, state_bytes: float,
               activation: float, sequences: float, capacity: int) -> MemoryUse:
    """Assemble :class:`MemoryUse`; ``kv_bytes``/``state_bytes``/``activation`` are the device's at
    its ``sequences`` sequences (activation at the micro-batch, scaled to per sequence)."""
    weights = weight_bytes_per_device(cfg_dev, opts, quant, e)
    per_seq = (kv_bytes + state_bytes + activation) / sequences if sequences else 0.0
    return MemoryUse(weight_bytes=weights, kv_cache_bytes=kv_bytes, activation_bytes=activation,
                     state_bytes=state_bytes, capacity_bytes=capacity, per_sequence_bytes=per_seq)


def refuse_message(use: MemoryUse, device_name: str, max_batch: int | None, batch: int, context: int) -> str:
    gb = lambda b: f"{b / 1e9:,.2f} GB"   # noqa: E731
    fix = (f"the largest batch that fits at context {context:,} (positions cached) is {max_batch}" if max_batch
           else "the weights alone do not fit: add devices (--tp/--pp/--ep) or quantize (--weights)")
    return (f"does not fit in {device_name}'s memory: weights {gb(use.weight_bytes)} + KV cache "
            f"{gb(use.kv_cache_bytes)} + activations {gb(use.activation_bytes)}"
            + (f" + state {gb(use.state_bytes)}" if use.state_bytes else "")
            + f" = {gb(use.used_bytes)} per device > capacity {gb(use.capacity_bytes)} (batch {batch}); {fix}; "
              f"or pass --allow-oversubscribe to cost it anyway")


def check_fits(use: MemoryUse, device_name: str, max_batch, batch: int, context: int, allow: bool) -> None:
    if use.fits is False and not allow:
        raise AccelsimError(refuse_message(use, device_name, max_batch, batch, context))


