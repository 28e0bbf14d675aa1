"""Request-level serving simulation: continuous batching over a paged KV cache (docs/serving.md).

:func:`simulate_serving` runs requests (:mod:`accelsim.serve.requests`) through a vLLM-style
scheduler (:mod:`accelsim.serve.kernel`) whose steps cost what :mod:`accelsim.serve.costs`
tabulates from the llm layer, and returns per-request latencies, a per-step timeline and a
summary (percentiles, throughput, goodput).

- **Paged KV cache** (Kwon et al., SOSP 2023, Sec. 4.1-4.3 [vllm_paged]): the cache is
  ``kv_blocks`` blocks of ``block_size`` tokens; a request holds ``ceil(cached tokens /
  block_size)`` blocks (``ceil((cached + new) / block_size)`` while a step computes ``new``).
  Capacity per device: ``--kv-capacity-gib``, else ``memory x memory_utilization - weights -
  activations`` (vLLM's ``gpu_memory_utilization``, default 0.9; :func:`kv_capacity_bytes`),
  divided by ``block_size x KV bytes per token``.
- **Chunked prefill** (Agrawal et al., Sarathi-Serve, OSDI 2024 [sarathi]): each step has a budget
  of ``chunk_tokens`` tokens shared by decodes and prefill chunks (vLLM's
  ``max_num_batched_tokens``) and at most ``max_batch`` running sequences (``max_num_seqs``).
- **Preemption**: recompute (vLLM's default) or swap to host memory over a link of
  ``swap_gb_per_s`` (``swap_gib`` of host space; a victim that does not fit is recomputed).
- **Speculative decoding** (Leviathan et al., ICML 2023 [leviathan]): a decoding request's draft
  model proposes ``k`` tokens in ``k`` draft passes, the target verifies ``k + 1`` positions in
  one pass; each draft token is accepted with probability ``acceptance`` independently (the
  paper's i.i.d. assumption, Sec. 3.1), so the tokens per verification follow a truncated
  geometric law with mean ``(1 - a^(k+1)) / (1 - a)`` (Eq. 1). The draws are a hash of
  (seed, request, position): reproducible and independent of the batch order.
- **Parallelism**: ``--tp`` (and ``--ep`` equal to it) inside every step through the llm layer's
  per-rank ops and collectives; ``--dp`` replicas, each its own engine; ``--pp`` stages as vLLM
  V0 runs them: ``pp`` virtual engines per replica, each with its scheduler and ``1/pp`` of the
  KV blocks, whose steps pass through every stage (the pass over all layers plus ``pp - 1``
  activation sends), so ``pp`` batches are in flight; contention between the engines for a stage
  is not modelled (none when their steps take equal time). Requests are dispatched round-robin
  in arrival order over all engines (Vidur's round-robin global scheduler [vidur]).

Latencies (vLLM's benchmark definitions [vllm_bench]): TTFT = first token - arrival; TPOT =
``(e2e - TTFT) / (output tokens - 1)`` (undefined for one output token); e2e = last token -
arrival. Goodput = requests per second that meet both SLOs (Zhong et al., DistServe, OSDI 2024,
Sec. 2 [distserve]).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..errors import AccelsimError
from . import kernel
from .costs import ATTENTION_FORMS, StepCostTable, build_step_costs, is_gpu, serving_device
from ..llm.parallel import describe as describe_parallel, parallel_problems
from ..llm.quant import resolve as resolve_quant
from .requests import Requests

PREEMPTION_MODES = ("recompute", "swap")
PERCENTILES = (50, 90, 99)
GIB = 1024 ** 3
#: Steps per kernel call between progress reports.
STEPS_PER_CALL = 20_000

CONVENTIONS = ("vLLM-style continuous batching: running requests first (admission order), then swapped, then "
               "waiting (FCFS); token budget per step shared by decodes and prefill chunks; last-admitted request "
               "preempted when blocks run out; TTFT = first token - arrival, TPOT = (e2e - TTFT)/(output - 1); "
               "step time from the llm layer's ops on the device roofline (causal chunked prefill, decode at "
               "context t attends t positions)")


@dataclass(frozen=True)
class ServeOptions:
    """Scheduler and cache settings (defaults: vLLM's, where it has one)."""

    block_size: int = 16            # vLLM's default block size (tokens per KV block)
    chunk_tokens: int = 2048        # token budget per step (max_num_batched_tokens)
    max_batch: int = 256            # running sequences at most (vLLM's max_num_seqs default)
    preemption: str = "recompute"
    swap_gib: float = 4.0           # host swap space (vLLM's swap_space default, GiB)
    swap_gb_per_s: float = 64.0     # host link per direction: PCIe Gen5 x16, 128 GB/s both ways [h100]
    kv_capacity_gib: float | None = None
    memory_gib: float | None = None
    memory_utilization: float = 0.9  # vLLM's gpu_memory_utilization default
    spec_k: int = 0
    acceptance: float = 0.0
    slo_ttft_s: float | None = None
    slo_tpot_s: float | None = None
    seed: int = 0
    step_costs: str = "auto"        # attention costs: exact (roofline), bucketed, auto (exact on a roofline)

    def validate(self, speculative: bool) -> None:
        problems = []
        for key in ("block_size", "chunk_tokens", "max_batch"):
            if getattr(self, key) < 1:
                problems.append(f"--{key.replace('_', '-')} must be >= 1 (got {getattr(self, key)})")
        if self.preemption not in PREEMPTION_MODES:
            problems.append(f"--preemption must be one of {', '.join(PREEMPTION_MODES)} (got {self.preemption!r})")
        if not 0 < self.memory_utilization <= 1:
            problems.append(f"--memory-utilization must be in (0, 1] (got {self.memory_utilization})")
        for key in ("kv_capacity_gib", "memory_gib", "slo_ttft_s", "slo_tpot_s"):
            value = getattr(self, key)
            if value is not None and not (value > 0 and math.isfinite(value)):
                problems.append(f"--{key.replace('_s', '').replace('_', '-')} must be > 0 (got {value})")
        if self.swap_gib < 0 or not self.swap_gb_per_s > 0:
            problems.append("--swap-gib must be >= 0 and --swap-gb-per-s > 0")
        if speculative and self.spec_k < 1:
            problems.append("--draft-model needs --spec-k >= 1 (draft tokens per verification)")
        if not speculative and (self.spec_k or self.acceptance):
            problems.append("--spec-k and --spec-acceptance need --draft-model")
        if self.seed < 0:
            problems.append(f"--seed must be >= 0 (got {self.seed})")
        if self.step_costs not in ("auto",) + ATTENTION_FORMS:
            problems.append(f"--step-costs must be one of auto, {', '.join(ATTENTION_FORMS)} (got {self.step_costs!r})")
        if not 0 <= self.acceptance < 1:
            problems.append(f"--spec-acceptance must be in [0, 1) (got {self.acceptance})")
        if problems:
            raise AccelsimError("; ".join(problems))


@dataclass(frozen=True)
class ServeResult:
    """``requests`` (one row per request), ``timeline`` (one row per step) and ``summary``."""

    requests: pd.DataFrame
    timeline: pd.DataFrame
    summary: dict


def expected_tokens_per_verification(k: int, acceptance: float) -> float:
    """``(1 - a^(k+1)) / (1 - a)``: tokens one target pass yields (Leviathan et al. 2023, Eq. 1)."""
    return float(k + 1) if acceptance == 1 else (1 - acceptance ** (k + 1)) / (1 - acceptance)


def kv_capacity_bytes(device, options: ServeOptions, weight_bytes: int, activation_bytes: int = 0) -> tuple[int, str]:
    """KV-cache bytes per device and how they were found: ``--kv-capacity-gib``, else the device
    memory (``--memory-gib`` or the hw file's) x utilisation - weights - the activations of a
    step of the whole token budget (vLLM sizes its cache after such a profiling run)."""
    if options.kv_capacity_gib is not None:
        return int(options.kv_capacity_gib * GIB), f"--kv-capacity-gib {options.kv_capacity_gib:g}"
    memory = (options.memory_gib * GIB if options.memory_gib is not None
              else getattr(device, "memory_bytes", 0) or getattr(device, "hbm_bytes", 0))
    if not memory:
        raise AccelsimError(f"{device.file or device.name}: no device memory capacity; give --kv-capacity-gib "
                            "(KV cache) or --memory-gib (device memory; the weights are taken off)")
    free = int(memory * options.memory_utilization) - weight_bytes - activation_bytes
    if free <= 0:
        raise AccelsimError(f"{device.file or device.name}: the weights ({weight_bytes / GIB:.2f} GiB per device) and "
                            f"activations ({activation_bytes / GIB:.2f} GiB) do not fit in "
                            f"{options.memory_utilization:g} x {memory / GIB:.2f} GiB of device memory; give a "
                            "larger --memory-gib or --memory-utilization, --tp, quantized --weights, or "
                            "--kv-capacity-gib")
    return free, (f"{options.memory_utilization:g} x {memory / GIB:.2f} GiB memory - "
                  f"{weight_bytes / GIB:.2f} GiB weights - {activation_bytes / GIB:.2f} GiB activations")


def _percentiles(values: np.ndarray) -> dict:
    values = values[np.isfinite(values)]
    if not values.size:
        return {"mean": None, **{f"p{p}": None for p in PERCENTILES}}
    return {"mean": float(values.mean()), **{f"p{p}": float(np.percentile(values, p)) for p in PERCENTILES}}


def _check_positions(cfg, requests: Requests, role: str) -> None:
    """Refuse requests that feed ``cfg`` (the target model, or with ``role`` "the draft model " the
    draft) more tokens than its learned position table has rows (HF ``max_position_embeddings``;
    :func:`accelsim.llm.infer.check_positions`): the prompt and all but the last output token. The
    draft keeps a cache of the same tokens as the target and proposes up to the last, so it is
    held to the same count."""
    fed = requests.prompt_tokens + requests.output_tokens - 1
    if cfg.position_embedding == "learned" and cfg.max_position and not cfg.patch_size \
            and int(fed.max()) > cfg.max_position:
        worst = int(np.argmax(fed))
        raise AccelsimError(f"request {requests.request_id[worst]} ({requests.prompt_tokens[worst]} prompt + "
                            f"{requests.output_tokens[worst]} output tokens) feeds {int(fed[worst]):,} tokens, but "
                            f"{role}{cfg.name} has {cfg.max_position:,} learned positions ({cfg.file or cfg.name}: "
                            "max_position, HF max_position_embeddings); shorten the requests"
                            + (" or choose a draft model with more positions" if role else ""))


def simulate_serving(cfg, hw, requests: Requests, options: ServeOptions | None = None, draft_cfg=None,
                     llm_options=None, progress=None) -> ServeResult:
    """Serve ``requests`` of model ``cfg`` on device ``hw``; see the module docstring.

    ``draft_cfg``: the draft model for speculative decoding (``options.spec_k`` tokens,
    ``options.acceptance``). ``llm_options``: :class:`~accelsim.llm.LLMOptions` (attention, KV
    bits; the rest is fixed by serving). ``progress(finished, total)`` is called between batches
    of steps.
    """
    from ..llm import LLMOptions
    from ..llm.lower import resolve_llm_config
    options = options or ServeOptions()
    options.validate(draft_cfg is not None)
    cfg = resolve_llm_config(cfg)
    opts = replace(llm_options or LLMOptions(), causal=True)
    opts.validate(cfg)
    _check_parallel(cfg, opts)
    device = serving_device(hw)
    if is_gpu(device):
        from ..llm.nccl import link_domain_problems
        problems = link_domain_problems(device, opts)
        if problems:
            raise AccelsimError("; ".join(problems))
    form = options.step_costs if options.step_costs != "auto" else "bucketed" if is_gpu(device) else "exact"
    longest_context = int((requests.prompt_tokens + requests.output_tokens).max())
    _check_positions(cfg, requests, "")
    if draft_cfg is not None:
        draft_cfg = resolve_llm_config(draft_cfg)
        _check_positions(draft_cfg, requests, "the draft model ")
    costs = build_step_costs(cfg, device, opts, options.chunk_tokens, options.max_batch, longest_context, form)
    draft = None
    if draft_cfg is not None:
        opts.validate(draft_cfg)
        draft = build_step_costs(draft_cfg, device, opts, options.chunk_tokens, options.max_batch, longest_context,
                                 form)
    weights = costs.weight_bytes + (draft.weight_bytes if draft else 0)
    per_token = costs.kv_bytes_per_token + (draft.kv_bytes_per_token if draft else 0.0)
    activations = max(costs.activation_bytes, draft.activation_bytes if draft else 0)
    capacity, capacity_from = kv_capacity_bytes(device, options, weights, activations)
    block_bytes = options.block_size * per_token
    blocks = int(capacity // block_bytes) // opts.pp   # vLLM V0 splits the blocks over its virtual engines
    n = len(requests)
    longest = requests.prompt_tokens + requests.output_tokens - 1
    needed = -(-longest // options.block_size)
    if int(needed.max()) > blocks:
        worst = int(np.argmax(needed))
        per_engine = f" ({opts.pp} pipeline engines share them)" if opts.pp > 1 else ""
        raise AccelsimError(f"request {requests.request_id[worst]} ({requests.prompt_tokens[worst]} prompt + "
                            f"{requests.output_tokens[worst]} output tokens) needs {int(needed[worst])} KV blocks of "
                            f"{options.block_size} tokens; the cache has {blocks}{per_engine} ({capacity / GIB:.3f} "
                            f"GiB from {capacity_from}); shorten the request or give more capacity")

    replicas = opts.dp * opts.pp   # engines: replicas x pipeline virtual engines
    swap_blocks = int(options.swap_gib * GIB // block_bytes) // opts.pp   # host blocks split alike
    first_s, finish_s = np.full(n, -1.0), np.full(n, -1.0)
    preempts = np.zeros(n, dtype=np.int64)
    parts_f, parts_i, parts_replica = [], [], []
    finished = np.zeros(replicas, dtype=np.int64)
    for replica in range(replicas):
        # round-robin dispatch in arrival order (Vidur's round-robin global scheduler [vidur]) over the
        # replicas and, within one, over its pipeline's virtual engines
        index = np.arange(replica, n, replicas)
        share = Requests(requests.request_id[index], requests.arrival_s[index], requests.prompt_tokens[index],
                         requests.output_tokens[index], requests.source)

        def report(done, total, replica=replica):
            finished[replica] = done
            if progress is not None:
                progress(int(finished.sum()), n)

        first, finish, preempted, tl_f, tl_i = _run_replica(share, options, costs, draft, blocks, swap_blocks,
                                                            block_bytes, options.seed + replica * 0x9E3779B9, report)
        first_s[index], finish_s[index], preempts[index] = first, finish, preempted
        parts_f.append(tl_f)
        parts_i.append(tl_i)
        parts_replica.append(np.full(len(tl_f), replica, dtype=np.int64))
    return _result(cfg, device, requests, options, costs, draft, blocks, capacity, capacity_from,
                   first_s, finish_s, preempts, np.concatenate(parts_f), np.concatenate(parts_i),
                   np.concatenate(parts_replica), opts)


def _tables(table):
    """A cost table's arrays in the kernel's order (empty ones for no draft model)."""
    if table is None:
        empty, none = np.zeros(0), np.zeros(0, dtype=np.int64)
        return (empty, empty, np.zeros((0, 3)), np.zeros((0, 3)), none, none, np.zeros((0, 0)), np.zeros((0, 0)),
                empty, empty, empty)
    return (table.token_s, table.head_s, table.attn_compute_s, table.attn_memory_s, table.attn_group,
            table.windows, table.decode_attn_s, table.chunk_attn_s, table.context_grid, table.chunk_grid,
            table.batch_grid)


def _run_replica(requests: Requests, options: ServeOptions, costs, draft, blocks: int, swap_blocks: int,
                 block_bytes: float, seed: int, progress):
    """One engine (scheduler, cache, device group) serving ``requests``: the kernel run in batches
    of steps; returns (first token s, finish s, preemptions, timeline floats, timeline ints)."""
    n = len(requests)
    ip = np.zeros(kernel.N_P, dtype=np.int64)
    ip[kernel.P_BLOCK], ip[kernel.P_BLOCKS], ip[kernel.P_BUDGET] = options.block_size, blocks, options.chunk_tokens
    ip[kernel.P_MAX_SEQS] = options.max_batch
    ip[kernel.P_SWAP] = options.preemption == "swap"
    ip[kernel.P_SWAP_BLOCKS] = swap_blocks
    ip[kernel.P_SPEC_K], ip[kernel.P_SEED] = options.spec_k, seed
    fp = np.array([options.acceptance, block_bytes / (options.swap_gb_per_s * 1e9), costs.chunk_fixed_s,
                   draft.chunk_fixed_s if draft is not None else 0.0], dtype=np.float64)
    state = np.zeros(n, dtype=np.int64)
    computed, emitted, alloc, preempts = (np.zeros(n, dtype=np.int64) for _ in range(4))
    prefilling = np.ones(n, dtype=np.int64)
    target = requests.prompt_tokens.copy()
    first_s, finish_s = np.full(n, -1.0), np.full(n, -1.0)
    running, front, swapped = (np.zeros(n, dtype=np.int64) for _ in range(3))
    istate = np.zeros(10, dtype=np.int64)
    istate[kernel.S_FREE], istate[kernel.S_SWAP_FREE] = blocks, ip[kernel.P_SWAP_BLOCKS]
    clock = np.zeros(1)
    chunks_f, chunks_i = [], []
    while istate[kernel.S_FINISHED] < n:
        tl_f = np.empty((STEPS_PER_CALL, kernel.N_TF))
        tl_i = np.empty((STEPS_PER_CALL, kernel.N_TI), dtype=np.int64)
        steps = kernel.run_steps(requests.arrival_s, requests.prompt_tokens, requests.output_tokens,
                                 *_tables(costs), *_tables(draft),
                                 ip, fp, state, computed, emitted, alloc, prefilling, target, preempts, first_s,
                                 finish_s, running, front, swapped, istate, clock, tl_f, tl_i, STEPS_PER_CALL)
        chunks_f.append(tl_f[:steps])
        chunks_i.append(tl_i[:steps])
        progress(int(istate[kernel.S_FINISHED]), n)
    return first_s, finish_s, preempts, np.concatenate(chunks_f), np.concatenate(chunks_i)


def _check_parallel(cfg, opts) -> None:
    """Tensor parallelism (with experts over the same group) runs inside the step, replicas and
    pipeline virtual engines each have their scheduler; data-parallel attention needs one per rank:
    refused, named."""
    problems = parallel_problems(cfg, opts)
    if opts.ep > 1 and opts.tp == 1:
        problems.append(f"--ep {opts.ep} without --tp: data-parallel attention (an engine per rank) is not "
                        f"modelled; use --tp {opts.ep} --ep {opts.ep}")
    if opts.devices > 1:
        problems.append("--devices (ring attention) is not modelled for serving; use --tp")
    if problems:
        raise AccelsimError("; ".join(problems))


def _result(cfg, device, requests, options, costs: StepCostTable, draft, blocks, capacity, capacity_from,
            first_s, finish_s, preempts, tl_f, tl_i, replica, opts) -> ServeResult:
    arrival, output = requests.arrival_s, requests.output_tokens
    ttft = first_s - arrival
    e2e = finish_s - arrival
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(output > 1, (finish_s - first_s) / (output - 1), np.nan)
    meets = np.ones(len(requests), dtype=bool)
    if options.slo_ttft_s is not None:
        meets &= ttft <= options.slo_ttft_s
    if options.slo_tpot_s is not None:
        meets &= ~(tpot > options.slo_tpot_s)   # one-token requests have no TPOT: they meet it
    table = pd.DataFrame({"request_id": requests.request_id, "arrival_s": arrival,
                          "prompt_tokens": requests.prompt_tokens, "output_tokens": output,
                          "first_token_s": first_s, "finish_s": finish_s, "ttft_s": ttft, "tpot_s": tpot,
                          "e2e_s": e2e, "preemptions": preempts, "meets_slo": meets})
    start, duration = tl_f[:, kernel.TF_START], tl_f[:, kernel.TF_DURATION]
    step = np.zeros(len(start), dtype=np.int64)
    for r in np.unique(replica):
        step[replica == r] = np.arange(int((replica == r).sum()))
    timeline = pd.DataFrame({
        "replica": replica, "step": step, "start_s": start, "end_s": start + duration,
        "duration_s": duration, "batch_size": tl_i[:, kernel.TI_BATCH],
        "prefill_tokens": tl_i[:, kernel.TI_PREFILL_TOKENS], "decode_seqs": tl_i[:, kernel.TI_DECODE_SEQS],
        "tokens": tl_i[:, kernel.TI_TOKENS], "emitted_tokens": tl_i[:, kernel.TI_EMITTED],
        "kv_blocks_used": tl_i[:, kernel.TI_KV_BLOCKS], "kv_occupancy": tl_i[:, kernel.TI_KV_BLOCKS] / blocks,
        "running": tl_i[:, kernel.TI_RUNNING], "waiting": tl_i[:, kernel.TI_WAITING],
        "swapped": tl_i[:, kernel.TI_SWAPPED], "preempted": tl_i[:, kernel.TI_PREEMPTED]})
    if opts.dp * opts.pp > 1:   # the engines' steps interleaved in time
        timeline = timeline.sort_values(["start_s", "replica"], kind="stable").reset_index(drop=True)
    duration = timeline["duration_s"].to_numpy()
    span = float(finish_s.max() - arrival.min())
    busy = float(duration.sum())
    weighted = (lambda column: float((timeline[column] * duration).sum() / busy) if busy else 0.0)  # noqa: E731
    summary = {
        "model": cfg.name, "hw": device.name, "requests_from": requests.source, "requests": len(requests),
        "prompt_tokens": int(requests.prompt_tokens.sum()), "output_tokens": int(output.sum()),
        "duration_s": span, "busy_s": busy, "steps": int(len(timeline)), "replicas": opts.dp,
        "engines": opts.dp * opts.pp,
        "request_throughput_per_s": len(requests) / span if span else None,
        "output_tokens_per_s": float(output.sum()) / span if span else None,
        "total_tokens_per_s": float(output.sum() + requests.prompt_tokens.sum()) / span if span else None,
        "ttft_s": _percentiles(ttft), "tpot_s": _percentiles(tpot), "e2e_s": _percentiles(e2e),
        "slo_ttft_s": options.slo_ttft_s, "slo_tpot_s": options.slo_tpot_s,
        "slo_attainment": float(meets.mean()), "goodput_requests_per_s": float(meets.sum()) / span if span else None,
        "preemptions": int(preempts.sum()), "preemption": options.preemption,
        "block_size": options.block_size, "kv_blocks": blocks, "kv_capacity_bytes": int(capacity),
        "kv_capacity_from": capacity_from, "kv_bytes_per_token": costs.kv_bytes_per_token,
        "weight_bytes": costs.weight_bytes, "peak_kv_blocks": int(timeline["kv_blocks_used"].max()),
        "peak_kv_occupancy": float(timeline["kv_occupancy"].max()),
        "mean_kv_occupancy": weighted("kv_occupancy"), "mean_batch_size": weighted("batch_size"),
        "max_batch_size": int(timeline["batch_size"].max()), "token_budget": options.chunk_tokens,
        "max_batch": options.max_batch, "step_costs": costs.form,
        "parallelism": describe_parallel(opts, is_gpu(device)), "weights": resolve_quant(cfg, opts.weights, opts.group_size).describe(),
    }
    if draft is not None:
        summary.update(draft_model=draft.model, spec_k=options.spec_k, spec_acceptance=options.acceptance,
                       expected_tokens_per_verification=expected_tokens_per_verification(options.spec_k,
                                                                                         options.acceptance),
                       draft_weight_bytes=draft.weight_bytes)
    summary["conventions"] = CONVENTIONS
    return ServeResult(table, timeline, summary)
