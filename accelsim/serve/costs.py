"""Per-step costs of a continuously batched step, from the llm layer's ops, tabulated once.

A serving step runs one forward pass over a mixed batch: prefill chunks of some requests and one
decode token (or a speculative verification) of others. Following Vidur's split of the operators
(Agrawal et al., MLSys 2024, Sec. 4 [vidur]), the step's ops are:

- **token-level** (embedding, norms, projections, MLP/MoE, residuals, KV-cache append): their cost
  depends only on ``tokens``, the new tokens in the step; tabulated for every ``tokens`` from 0
  to the step's token budget in one vectorised call of :func:`accelsim.llm.ops.pass_ops`;
- **head** (lm_head and argmax sampling): ``seqs`` rows, one per sequence that samples a token
  (``k + 1`` for a speculative verification); tabulated for every ``seqs``; 0 when none samples;
- **sequence-level** attention (scores, softmax, context), in one of two forms:

  * ``exact`` (the default on a roofline device): each op costs ``max(compute, memory)``
    (Williams et al., CACM 2009 [roofline]) with both sides linear in ``x = (tokens, pairs,
    kv_read)`` (query-key pairs per head and cached positions read, summed over the batch), so
    three unit evaluations give coefficients ``C``, ``M`` and a step's attention is
    ``sum_op max(C_op . x, M_op . x)``: exactly what
    :func:`accelsim.llm.roofline.roofline_op_times` gives for the same ops at that step;
  * ``bucketed`` (any per-op cost function): decode attention tabulated per (decoding
    sequences, mean context) on a geometric context grid, a prefill chunk's attention per (chunk
    tokens, cached tokens) on geometric grids, both interpolated linearly; a step adds the
    decode entry for its decoders and its chunks' entries, less all but one chunk kernel's fixed
    cost (the chunks run as one variable-length kernel).

Either way the costs are computed once per model, device and budget, never per step or request.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AccelsimError
from ..spec.hw import PRECISION_BITS
from ..llm.counts import kv_cache_bytes_per_token
from ..llm.memory import activation_bytes, weight_bytes_per_device
from ..llm.ops import pass_ops
from ..llm.parallel import sharded_config, stage_layers
from ..llm.quant import resolve as resolve_quant
from ..llm.roofline import dram_bytes, op_peak_flops_per_s, roofline_op_times
from ..llm.variants import LLMOptions, layer_groups

#: The sequence-level ops (their cost depends on pairs and cached positions, not only on tokens);
#: a second layer group's (Gemma's global layers) carry the suffix ``.full``.
ATTENTION = ("attn.scores", "attn.softcap", "attn.softmax", "attn.context")
#: The ops that run once per sampled row.
HEAD = ("lm_head", "lm_head.bias", "lm_head.softcap", "tp.logits_gather", "sampling.argmax")
FULL = ".full"
#: Coefficient columns of the attention ops.
X_TOKENS, X_PAIRS, X_KV = 0, 1, 2
ATTENTION_FORMS = ("exact", "bucketed")
#: Grid points per axis of the bucketed attention tables (geometric, both ends included): contexts
#: and chunk tokens, decoding sequences.
GRID_POINTS = 48
BATCH_POINTS = 24


@dataclass(frozen=True)
class StepCostTable:
    """One model's step costs on one device (seconds), ready for the scheduler kernel.

    ``token_s[t]``: the token-level ops of a step computing ``t`` new tokens; ``head_s[s]``: the
    lm_head and sampling over ``s`` rows. Exact attention: ``attn_compute_s`` and
    ``attn_memory_s`` (ops x 3), the compute and memory seconds of each attention op per token, per
    pair and per cached position read (all layers). Bucketed attention: ``decode_attn_s[k, i]``
    for ``batch_grid[k]`` decoding sequences at mean context ``context_grid[i]`` and ``chunk_attn_s[j, i]``
    for a chunk of ``chunk_grid[j]`` tokens after ``context_grid[i]`` cached ones (the unused form's
    arrays are empty). ``weight_bytes``: the parameters at the device precision;
    ``kv_bytes_per_token``: the KV cache per token at the KV precision (both per device: a
    tensor-parallel rank's heads, a pipeline stage's layers);
    ``windows``: the sliding window of each layer group (0: full attention); ``attn_group``: each
    exact attention op's group; ``activation_bytes``: the largest op working set of a step of the
    whole budget plus its residual stream (vLLM's profiling run measures that peak);
    ``chunk_fixed_s``: what the attention of an empty chunk costs (all layers: the kernels' fixed
    costs and launch gaps; 0 on a roofline device): a step's chunks run as one variable-length kernel
    (vLLM's FlashAttention backend: ``flash_attn_varlen_func`` over all prefill sequences), so the
    scheduler sums the chunks' entries and takes all but one of these off.
    """

    model: str
    token_s: np.ndarray
    head_s: np.ndarray
    attn_compute_s: np.ndarray
    attn_memory_s: np.ndarray
    decode_attn_s: np.ndarray
    chunk_attn_s: np.ndarray
    context_grid: np.ndarray
    chunk_grid: np.ndarray
    batch_grid: np.ndarray
    weight_bytes: int
    kv_bytes_per_token: float
    windows: np.ndarray
    attn_group: np.ndarray
    activation_bytes: int
    chunk_fixed_s: float = 0.0

    @property
    def form(self) -> str:
        return "bucketed" if self.decode_attn_s.size else "exact"

    def step_seconds(self, tokens: int, seqs: int, pairs, kv_read) -> float:
        """One step's seconds with exact attention (the kernel's formula, in Python); ``pairs`` and
        ``kv_read`` per layer group."""
        g = self.attn_group
        x = np.stack([np.full(g.size, float(tokens)), np.atleast_1d(np.asarray(pairs, float))[g],
                      np.atleast_1d(np.asarray(kv_read, float))[g]], 1)
        attention = np.maximum((self.attn_compute_s * x).sum(1), (self.attn_memory_s * x).sum(1)).sum()
        return float(self.token_s[tokens] + self.head_s[seqs] + attention)


#: How a GPU device runs a serving step (accelsim/llm/gpu.py): a serving stack's fused kernels,
#: replayed from CUDA graphs (vLLM captures its decode and mixed batches in graphs).
GPU_KERNELS, GPU_LAUNCH = "fused", "graph"


def serving_device(hw):
    """The device as a spec object: an ideal-roofline device (a ``roofline:`` section) or a GPU
    costed kernel by kernel (a ``gpu:`` section, e.g. hw/h200.yaml)."""
    from .. import spec
    kinds = (spec.Hardware, spec.RooflineHardware, spec.GpuHardware)
    device = hw if isinstance(hw, kinds) else spec.load("hw", hw)
    if not isinstance(device, (spec.RooflineHardware, spec.GpuHardware)):
        raise AccelsimError(f"{device.file or device.name}: accelsim serve costs steps on a roofline device (a "
                            "`roofline:` section, e.g. hw/ideal_h100.yaml) or a GPU (a `gpu:` section, hw/h200.yaml); "
                            "a PE-array hw file is simulated layer by layer, too slow per step")
    return device


def is_gpu(device) -> bool:
    return getattr(device, "interconnect", None) == "gpu"


def op_seconds(ops, device, cfg=None, opts=None, e: float = 2.0, decode: bool = True) -> dict[str, np.ndarray]:
    """Seconds of each op over all its layers, per step: the device's per-op cost function (the
    roofline, or a GPU's kernels: :func:`accelsim.llm.gpu.op_costs`, attention as one op
    ``attention``, ``decode`` choosing the flash-decoding kernel)."""
    if is_gpu(device):
        from ..llm.gpu import op_costs
        return {name: cost.time_s * layers
                for name, _, layers, cost, _ in op_costs(ops, device, cfg, opts, decode, e, GPU_KERNELS, GPU_LAUNCH)}
    times = roofline_op_times(ops, device, kv_on_chip=False)
    return {op.name: times[op.name] * op.layers for op in ops}


def is_attention(name: str) -> bool:
    base = name.removesuffix(FULL)
    return base in ATTENTION or base == "attention"   # a GPU's flash-attention kernel covers the parts


def step_ops(cfg, opts: LLMOptions, tokens, seqs, pairs, kv_read, e: float, kv_e: float, batch: int = 1):
    """The ops of serving steps (arrays over steps): ``tokens`` new tokens in all, ``seqs`` sampled
    rows, ``pairs[g]`` attention pairs per head and ``kv_read[g]`` cached positions read in layer
    group ``g``, per sequence of a ``batch`` (default: the whole step folded into one sequence,
    every op's counts summed over the step's requests; MoE experts touched follow the step's
    tokens); ``tokens`` positions are appended to the cache. One call of the llm layer's
    :func:`~accelsim.llm.ops.pass_ops` (``cfg`` one tensor-parallel rank's share)."""
    groups = [(layers, pairs[g], kv_read[g], tokens) for g, (layers, _) in enumerate(layer_groups(cfg, opts))]
    return pass_ops(cfg, opts, batch, tokens, pairs[0], kv_read[0], tokens, e, kv_e, decode=True, head_rows=seqs,
                    groups=groups)


def geometric_grid(top: int, points: int = GRID_POINTS) -> np.ndarray:
    """Integers from 1 to ``top`` spaced geometrically (both ends included, no repeats)."""
    return np.unique(np.rint(np.geomspace(1, max(top, 1), points))).astype(np.float64)


def _chunk_pairs(cached: np.ndarray, new: float, window: int) -> np.ndarray:
    """Causal pairs of ``new`` tokens after ``cached`` ones (the kernel's ``causal_pairs``)."""
    hi = cached + new
    if window <= 0:
        return (cached + 1 + hi) * new / 2
    full = np.minimum(hi, window) - np.minimum(cached, window)   # queries below the cap
    lo_capped = np.minimum(cached, window)
    return (lo_capped + 1 + np.minimum(hi, window)) * full / 2 + (new - full) * window


def _attention(cfg, opts, device, e, kv_e, windows, tokens, cached, new, decode: bool, batch=1) -> np.ndarray:
    """Attention seconds (all groups) of ``batch`` sequences each computing ``new`` tokens after
    ``cached`` ones: a decode at context ``cached`` or a causal chunk (arrays over steps)."""
    pairs, reads = [], []
    for w in windows:
        if decode:
            keys = cached if w <= 0 else np.minimum(cached, w)
            pairs.append(keys)
            reads.append(keys)
        else:
            pairs.append(_chunk_pairs(cached, new, int(w)))
            reads.append(cached + new if w <= 0 else np.minimum(cached + new, w + new - 1))
    ops = step_ops(cfg, opts, tokens, np.zeros_like(tokens), pairs, reads, e, kv_e, batch)
    times = op_seconds(ops, device, cfg, opts, e, decode)
    return sum(seconds for name, seconds in times.items() if is_attention(name))


def build_step_costs(cfg, device, opts: LLMOptions, max_tokens: int, max_batch: int = 1, max_context: int = 1,
                     form: str = "exact") -> StepCostTable:
    """Tabulate :class:`StepCostTable` for steps of up to ``max_tokens`` tokens (and sampled rows);
    ``bucketed`` attention for up to ``max_batch`` decoding sequences and ``max_context`` positions.
    ``cfg`` is the model; the tables are one tensor-parallel rank's (``opts.tp``, ``opts.ep``)."""
    if form not in ATTENTION_FORMS:
        raise AccelsimError(f"attention costs must be one of {', '.join(ATTENTION_FORMS)} (got {form!r})")
    if form == "exact" and is_gpu(device):
        raise AccelsimError(f"{device.file or device.name}: --step-costs exact needs a roofline device (linear "
                            "per-op costs); a GPU's kernels are costed with --step-costs bucketed (the default)")
    e = PRECISION_BITS[device.precision] / 8
    kv_e = opts.kv_bits / 8 if opts.kv_bits else e
    if opts.mixer != "softmax" or cfg.is_ssm or not kv_cache_bytes_per_token(cfg, kv_e):
        raise AccelsimError(f"{cfg.name}: accelsim serve pages a KV cache; this model keeps none (mixer "
                            f"{cfg.mixer if cfg.is_ssm else opts.mixer}); serve an attention model")
    rank = sharded_config(cfg, opts)
    groups = layer_groups(rank, opts)
    if len(groups) > 2:
        raise AccelsimError(f"{cfg.name}: more than two attention layer groups; serve models with at most "
                            "local and global layers")
    windows = np.array([int(w or 0) for _, w in groups], dtype=np.int64)
    span = np.arange(max_tokens + 1, dtype=np.float64)
    zero = [np.zeros_like(span)] * len(groups)
    ops = step_ops(rank, opts, span, span, zero, zero, e, kv_e)
    times = op_seconds(ops, device, rank, opts, e)
    token_s, head_s = np.zeros_like(span), np.zeros_like(span)
    for name, seconds in times.items():
        if name in HEAD:
            head_s += seconds
        elif not is_attention(name):
            token_s += seconds
    token_s[0] = head_s[0] = 0.0   # no tokens, no pass; no sampled row, no lm_head
    activations = activation_bytes(ops) + max_tokens * rank.hidden_size * e
    compute, memory, group_of = np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
    decode_tab, chunk_tab, chunk_fixed = np.zeros((0, 0)), np.zeros((0, 0)), 0.0
    contexts, chunks, batches = np.zeros(0), np.zeros(0), np.zeros(0)
    if form == "exact":
        unit = np.eye(3)
        rows_c, rows_m, rows_g = [], [], []
        units = [unit[:, X_PAIRS]] * len(groups), [unit[:, X_KV]] * len(groups)
        for op in step_ops(rank, opts, unit[:, X_TOKENS], np.zeros(3), *units, e, kv_e):
            if is_attention(op.name):
                rows_c.append((2 * op.macs / op_peak_flops_per_s(op, device)
                               + op.vector_ops / device.vector_flops_per_s) * op.layers)
                rows_m.append(dram_bytes(op, kv_on_chip=False) / device.dram_bandwidth_bytes_per_s * op.layers)
                rows_g.append(1 if op.name.endswith(FULL) else 0)
        compute, memory = np.array(rows_c).reshape(-1, 3), np.array(rows_m).reshape(-1, 3)
        group_of = np.array(rows_g, dtype=np.int64)
    else:
        contexts = np.concatenate(([0.0], geometric_grid(max_context)))   # cached positions
        batches = geometric_grid(max_batch, BATCH_POINTS)
        decode_tab = np.zeros((batches.size, contexts.size))
        for i, batch in enumerate(batches):
            decode_tab[i] = _attention(rank, opts, device, e, kv_e, windows, np.ones_like(contexts), contexts, 1.0,
                                       True, int(batch))
        chunks = geometric_grid(max_tokens)
        chunk_tab = np.zeros((chunks.size, contexts.size))
        for j, new in enumerate(chunks):
            chunk_tab[j] = _attention(rank, opts, device, e, kv_e, windows, np.full_like(contexts, new), contexts,
                                      new, False)
        zero = np.zeros(1)
        chunk_fixed = float(np.asarray(_attention(rank, opts, device, e, kv_e, windows, zero, zero, 0.0, False))[0])
    return StepCostTable(model=cfg.name, token_s=token_s, head_s=head_s, attn_compute_s=compute,
                         attn_memory_s=memory, decode_attn_s=decode_tab, chunk_attn_s=chunk_tab,
                         context_grid=contexts, chunk_grid=chunks, batch_grid=batches,
                         weight_bytes=int(weight_bytes_per_device(rank, opts, resolve_quant(cfg, opts.weights,
                                                                                           opts.group_size), e)),
                         kv_bytes_per_token=float(kv_cache_bytes_per_token(rank, kv_e)
                                                  * stage_layers(rank, opts.pp) / rank.num_layers), windows=windows,
                         attn_group=group_of, activation_bytes=int(activations), chunk_fixed_s=chunk_fixed)
