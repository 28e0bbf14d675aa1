"""Parallelism across devices: tensor (``tp``), pipeline (``pp``), expert (``ep``) and data (``dp``).

- Tensor parallel (Megatron-LM, Shoeybi et al. 2019, Sec. 3): attention heads and the MLP's inner
  width split over ``tp`` devices (column-parallel Q/K/V and up/gate, row-parallel O and down), so
  each device holds ``1/tp`` of those weights and of the KV heads (KV heads are replicated when
  ``tp`` exceeds them, as vLLM does), the vocabulary split for the embedding and lm_head; two
  all-reduces of the ``tokens x d`` activations per layer (after attention, after the MLP), one
  with parallel attention (GPT-J/NeoX/Falcon: attention and MLP outputs summed before one
  all-reduce). MLA's latent KV cache is replicated on every TP rank.
- Expert parallel (GShard, Lepikhin et al. 2021, Sec. 2.2; DeepSpeed-MoE, Rajbhandari et al. 2022):
  each MoE layer's routed experts spread over ``ep`` devices. With ``tp = 1`` attention runs data
  parallel (each device its ``batch/ep`` sequences and their KV cache) and two all-to-alls per MoE
  layer move the routed tokens (dispatch, combine). With ``tp = ep`` the experts are spread over the
  TP group: tokens are already on every device, the MLP's all-reduce combines (no all-to-all).
- Pipeline parallel (GPipe, Huang et al., NeurIPS 2019, Sec. 2.2): layers split over ``pp`` stages;
  a prefill of ``m`` micro-batches takes ``(m + pp - 1)`` stage times (bubble ``(pp-1)/(m+pp-1)``);
  decode keeps ``min(batch, pp)`` micro-batches in flight, so a token's step is one pass of its
  micro-batch through every stage. Stages hand ``tokens x d`` activations to the next (point to point).
- Data parallel (``dp``): replicas, each with the whole configuration; system throughput x ``dp``.

Collectives use the alpha-beta model (Hockney 1994) with the hw file's link latency alpha and
bandwidth ``B`` (``beta = 1/B``), for ``p`` devices and ``n`` bytes per device (Thakur, Rabenseifner
and Gropp, "Optimization of collective communication operations in MPICH", IJHPCA 2005, Sec. 4):

- ring all-reduce (reduce-scatter + all-gather; bandwidth-optimal, Patarasuk and Yuan, JPDC 2009):
  ``2(p-1) alpha + 2 (p-1)/p n / B``;
- tree all-reduce (binomial-tree reduce + broadcast): ``2 ceil(log2 p) (alpha + n / B)``;
- all-to-all (pairwise exchange, Thakur et al. Sec. 4.5): ``(p-1) alpha + (p-1)/p n / B``;
- all-gather (ring): ``(p-1) alpha + (p-1)/p n / B``; point to point: ``alpha + n / B``.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .config import LLMConfig

KINDS = ("all_reduce", "all_to_all", "all_gather", "p2p")


def parallel_problems(cfg: LLMConfig, opts) -> list[str]:
    """Every problem of the parallel options for this model, each naming the flag and the key."""
    problems = []
    where = cfg.file or cfg.name
    for key in ("tp", "pp", "ep", "dp"):
        if getattr(opts, key) < 1:
            problems.append(f"--{key} must be >= 1 (got {getattr(opts, key)})")
    if opts.micro_batches is not None and opts.micro_batches < 1:
        problems.append(f"--micro-batches must be >= 1 (got {opts.micro_batches})")
    if opts.collective not in ("ring", "tree"):
        problems.append(f"--collective must be ring or tree (got {opts.collective!r})")
    if problems:
        return problems
    tp, pp, ep = opts.tp, opts.pp, opts.ep
    if (tp > 1 or pp > 1 or ep > 1) and opts.devices > 1:
        problems.append("--devices (ring attention) cannot be combined with --tp/--pp/--ep; use one of them")
    if tp > 1:
        if cfg.is_ssm:
            problems.append(f"--tp {tp}: splitting a state-space model (mixer {cfg.mixer}) is not modelled; "
                            f"use --pp or --dp")
        if cfg.num_heads % tp:
            problems.append(f"--tp {tp} must divide the attention heads ({where}: num_heads = {cfg.num_heads}; "
                            f"HF num_attention_heads)")
        kv = cfg.num_kv_heads
        if not cfg.is_mla and kv % tp and tp % kv:
            problems.append(f"--tp {tp} must divide the KV heads or be a multiple of them "
                            f"({where}: num_kv_heads = {kv}; HF num_key_value_heads)")
        if cfg.num_layers - cfg.num_moe_layers and cfg.intermediate_size % tp:
            problems.append(f"--tp {tp} must divide the MLP width ({where}: intermediate_size = "
                            f"{cfg.intermediate_size})")
        if cfg.is_moe and ep == 1 and cfg.expert_intermediate_size % tp:
            problems.append(f"--tp {tp} must divide the expert width ({where}: moe_intermediate_size = "
                            f"{cfg.expert_intermediate_size}) or use --ep {tp}")
        if cfg.num_shared_experts and cfg.shared_intermediate_size % tp:
            problems.append(f"--tp {tp} must divide the shared experts' width ({where}: "
                            f"{cfg.shared_intermediate_size})")
    if ep > 1:
        if not cfg.is_moe:
            problems.append(f"--ep {ep} needs a mixture-of-experts model ({where} has no experts)")
        elif cfg.num_experts % ep:
            problems.append(f"--ep {ep} must divide the routed experts ({where}: num_experts = {cfg.num_experts})")
        if tp > 1 and tp != ep:
            problems.append(f"--ep {ep} with --tp {tp}: experts are spread over the tensor-parallel group, "
                            f"so --ep must equal --tp (or --tp 1 for data-parallel attention)")
    if pp > cfg.num_layers:
        problems.append(f"--pp {pp} must be <= the layers ({where}: num_layers = {cfg.num_layers})")
    return problems


def devices_per_replica(opts) -> int:
    return opts.pp * max(opts.tp, opts.ep)


def attention_dp(opts) -> int:
    """Ways attention runs data parallel inside a replica (expert parallel without tensor parallel)."""
    return opts.ep if opts.tp == 1 else 1


def sharded_config(cfg: LLMConfig, opts) -> LLMConfig:
    """One tensor-parallel rank's share of the model (every layer; pipeline stages split it further)."""
    tp = opts.tp
    if tp == 1:
        return cfg
    changes = dict(num_heads=cfg.num_heads // tp, head_dim=cfg.head_dim,
                   vocab_size=-(-cfg.vocab_size // tp) if cfg.vocab_size else 0)
    if not cfg.is_mla:
        changes["num_kv_heads"] = max(cfg.num_kv_heads // tp, 1)
    if cfg.num_layers - cfg.num_moe_layers:
        changes["intermediate_size"] = cfg.intermediate_size // tp
    if cfg.is_moe:
        if opts.ep == 1:
            changes["moe_intermediate_size"] = cfg.expert_intermediate_size // tp
        if cfg.num_shared_experts:
            changes.update(num_shared_experts=1, shared_expert_intermediate_size=cfg.shared_intermediate_size // tp)
    return replace(cfg, **changes)


def stage_layers(cfg: LLMConfig, pp: int) -> int:
    """Layers of the largest pipeline stage: ``ceil(layers / pp)``."""
    return -(-cfg.num_layers // pp)


def collective_seconds(kind: str, participants: int, message_bytes, bandwidth_bytes_per_s: float,
                       latency_s: float, algorithm: str = "ring"):
    """Seconds of one collective over ``participants`` devices, ``message_bytes`` per device."""
    n = np.asarray(message_bytes, dtype=np.float64)
    p = participants
    if p <= 1 and kind != "p2p":
        return np.zeros_like(n)
    beta = 1.0 / bandwidth_bytes_per_s
    if kind == "all_reduce":
        if algorithm == "tree":
            return 2 * math.ceil(math.log2(p)) * (latency_s + n * beta)
        return 2 * (p - 1) * latency_s + 2 * (p - 1) / p * n * beta
    if kind in ("all_to_all", "all_gather"):
        return (p - 1) * latency_s + (p - 1) / p * n * beta
    return latency_s + n * beta


def moved_bytes(kind: str, participants: int, message_bytes, algorithm: str = "ring"):
    """Bytes one device sends in the collective (for link energy)."""
    n = np.asarray(message_bytes, dtype=np.float64)
    p = participants
    if kind == "all_reduce":
        return (2 * math.ceil(math.log2(p)) * n) if algorithm == "tree" else 2 * (p - 1) / p * n
    if kind in ("all_to_all", "all_gather"):
        return (p - 1) / p * n
    return n


def describe(opts, gpu: bool = False) -> str:
    """The parallel plan in words; ``gpu``: collectives run as NCCL kernels (:mod:`accelsim.llm.nccl`)."""
    parts = []
    if opts.tp > 1:
        parts.append(f"tensor parallel {opts.tp}")
    if opts.ep > 1:
        parts.append(f"expert parallel {opts.ep}" + (" (attention data parallel)" if opts.tp == 1 else ""))
    if opts.pp > 1:
        parts.append(f"pipeline {opts.pp} stages")
    if opts.dp > 1:
        parts.append(f"{opts.dp} data-parallel replicas")
    if not parts:
        return "one device"
    how = "NCCL kernels over NVLink" if gpu else "alpha-beta"
    return ", ".join(parts) + f"; {opts.collective} collectives ({how})"
