"""The ops of one transformer pass (prefill, or one decode step) with MACs, vector ops and bytes.

:func:`pass_ops` returns one :class:`Op` per op of a decoder layer (with the number of layers
that run it) plus the model-level ops (embedding, final norm, lm_head, sampling). Every quantity
is a numpy array over the steps of a phase (one entry per decode context, or one for a prefill),
so a whole decode is costed at once.

Counting conventions (docs/llm.md; :mod:`accelsim.llm.counts`):

- GEMM ``[rows x K] @ [K x cols]``: ``rows*K*cols`` MACs (FLOP = 2 MAC); bytes = weights
  ``K*cols`` (read once per pass) + input ``rows*K`` + output ``rows*cols``, at the activation
  precision. Activations go to and from DRAM between ops (no fusion), except where a variant keeps
  them on chip (FlashAttention's scores; the SSM scan's state inside a prefill).
- Vector ops (vector unit, accelsim/vector.py), elementary operations per element, each cited:
  RMSNorm 4 (square, accumulate, scale by the row's reciprocal RMS, scale by gamma; Zhang and
  Sennrich, NeurIPS 2019, Eq. 4), LayerNorm 7 (mean add, subtract, square, accumulate, scale,
  gamma, beta; Ba et al. 2016, Eq. 15), safe softmax 5 (max, subtract, exp, accumulate, scale;
  Milakov and Gimelshein 2018, Algorithm 2), SiLU-gated SwiGLU 6 per inner element (negate, exp,
  add 1, reciprocal, multiply by x, multiply by the up projection; Shazeer 2020, Eq. 6), GeLU 8
  (tanh form: cube, scale, add, scale, tanh, add 1, multiply, halve; Hendrycks and Gimpel 2016,
  Sec. 2), RoPE 3 per rotated element (x*cos + rotate(x)*sin; Su et al., RoFormer, Eq. 34),
  residual add 1, learned position add 1, router softmax 5 plus k top-k compares per logit,
  argmax sampling 1 compare per logit, linear attention's elu+1 feature map 2 (Katharopoulos et
  al. 2020, Sec. 3.2.1), the SSM selective scan 8 per (channel, state): exp(ΔA) 2, ΔBx 2,
  h = dA*h + dBx 2, y += C*h 2 (Gu and Dao 2023, Eq. 2a-2b and Algorithm 2).
- Embedding lookups are reads of the gathered rows (``tokens * d`` elements), not GEMMs.
- The KV-cache append is a copy: the new K/V read as activations, written to the cache (Hugging
  Face ``DynamicCache.update`` concatenates); a decode step then reads the attended positions.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import LLMConfig
from .counts import kv_elements_per_token_per_layer
from .variants import LLMOptions, experts_touched

NORM_OPS = {"rmsnorm": 4, "layernorm": 7}
SOFTMAX_OPS = 5
ACTIVATION_OPS = {"swiglu": 6, "gelu": 8, "geglu": 9}
SOFTCAP_OPS = 3     # cap * tanh(x / cap): divide, tanh, multiply (Gemma Team 2024, Gemma 2 Sec. 2)
CONV_OPS = 2        # per tap of Mamba's depthwise causal conv1d: multiply and add
SILU_OPS = 5
SOFTPLUS_OPS = 3    # log(1 + exp(x)): exp, add, log
ROPE_OPS = 3
SSM_OPS = 8
FEATURE_MAP_OPS = 2
KINDS = ("gemm", "attention", "vector", "memory", "recurrence", "link", "collective")


@dataclass
class Op:
    """One op of a pass; every number is per run of the op (multiply by ``layers`` for the model).

    ``macs``: matmul MACs; ``vector_ops``: elementary vector-unit operations; ``*_bytes``: traffic
    by kind (weights, activations, KV cache, attention scores, recurrent state, device link).
    ``shape``: ``(rows, K, cols, groups)`` for GEMMs (for the array simulator), else None.
    ``precision``: the MACs' precision when it is not the device's (w8a8: int8, fp8).
    ``comm``: for ``collective`` ops, ``(kind, participants, algorithm)`` with ``link_bytes`` the
    message per device (:func:`accelsim.llm.parallel.collective_seconds` prices it).
    """

    name: str
    kind: str
    layers: int
    macs: np.ndarray
    vector_ops: np.ndarray
    weight_bytes: np.ndarray
    act_bytes: np.ndarray
    kv_bytes: np.ndarray = field(default=None)
    score_bytes: np.ndarray = field(default=None)
    state_bytes: np.ndarray = field(default=None)
    link_bytes: np.ndarray = field(default=None)
    shape: tuple | None = None
    precision: str | None = None
    comm: tuple | None = None

    def __post_init__(self):
        for name in ("macs", "vector_ops", "weight_bytes", "act_bytes", "kv_bytes", "score_bytes",
                     "state_bytes", "link_bytes"):
            value = getattr(self, name)
            setattr(self, name, np.asarray(0.0 if value is None else value, dtype=np.float64))

    @property
    def flops(self) -> np.ndarray:
        """FLOPs: 2 per MAC plus one per elementary vector op."""
        return 2 * self.macs + self.vector_ops


class _Builder:
    """Collects the ops of one pass; ``tokens`` = new tokens over the batch (array over steps)."""

    def __init__(self, cfg: LLMConfig, opts: LLMOptions, e: float, kv_e: float, steps: int):
        from .quant import resolve
        self.cfg, self.opts, self.e, self.kv_e, self.steps = cfg, opts, e, kv_e, steps
        self.quant = resolve(cfg, opts.weights, opts.group_size)
        self.ops: list[Op] = []

    def _arr(self, value) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=np.float64), (self.steps,)).copy()

    def add(self, name, kind, layers, **kw) -> None:
        if layers <= 0:
            return
        shape = kw.pop("shape", None)
        self.ops.append(Op(name, kind, layers, shape=shape, precision=kw.pop("precision", None),
                           comm=kw.pop("comm", None),
                           **{k: self._arr(kw.get(k, 0.0)) for k in
                              ("macs", "vector_ops", "weight_bytes", "act_bytes", "kv_bytes", "score_bytes",
                               "state_bytes", "link_bytes")}))

    def gemm(self, name, layers, rows, k, cols, weights=True, weight_rows_of=None, quantized=True) -> None:
        """A weight GEMM ``[rows x k] @ [k x cols]``; ``weight_rows_of`` scales the weight bytes
        (MoE: the distinct experts touched). ``quantized``: stored in the run's weight format
        (:mod:`accelsim.llm.quant`: bytes with scales, (de)quantization vector work, MAC precision)."""
        copies = 1.0 if weight_rows_of is None else weight_rows_of
        quant = self.quant if quantized else None
        stored = quant.weight_bytes(k, cols, self.e) if quant else k * cols * self.e
        self.add(name, "gemm", layers, macs=rows * k * cols,
                 weight_bytes=(copies * stored) if weights else 0.0,
                 vector_ops=quant.vector_ops(rows, k, cols, copies * k * cols) if quant else 0.0,
                 act_bytes=(rows * k + rows * cols) * self.e, shape=(rows, k, cols, 1),
                 precision=quant.compute_precision if quant else None)

    def collective(self, name, layers, message_bytes, kind, participants) -> None:
        """A collective over ``participants`` devices moving ``message_bytes`` per device."""
        if participants > 1 or kind == "p2p":
            self.add(name, "collective", layers, link_bytes=message_bytes,
                     comm=(kind, participants, self.opts.collective))

    def vector(self, name, layers, elements, ops_per_element, reads=1, writes=1) -> None:
        """A vector op over ``elements`` elements, reading ``reads`` and writing ``writes`` tensors."""
        self.add(name, "vector", layers, vector_ops=elements * ops_per_element,
                 act_bytes=(reads + writes) * elements * self.e)


def _mlp(b: _Builder, prefix: str, layers: int, rows, ff: int, weight_copies=None) -> None:
    cfg = b.cfg
    d = cfg.hidden_size
    if cfg.gated:
        b.gemm(f"{prefix}.gate_proj", layers, rows, d, ff, weight_rows_of=weight_copies)
    b.gemm(f"{prefix}.up_proj", layers, rows, d, ff, weight_rows_of=weight_copies)
    reads = 2 if cfg.gated else 1
    b.vector(f"{prefix}.act_fn", layers, rows * ff, ACTIVATION_OPS[cfg.activation], reads=reads)
    b.gemm(f"{prefix}.down_proj", layers, rows, ff, d, weight_rows_of=weight_copies)


def _projections(b: _Builder, tokens) -> None:
    cfg, layers = b.cfg, b.cfg.num_layers
    d, h = cfg.hidden_size, cfg.num_heads
    if cfg.is_mla:
        q_out = h * cfg.qk_head_dim
        if cfg.q_lora_rank is None:
            b.gemm("attn.q_proj", layers, tokens, d, q_out)
        else:
            b.gemm("attn.q_a_proj", layers, tokens, d, cfg.q_lora_rank)
            b.vector("attn.q_a_norm", layers, tokens * cfg.q_lora_rank, NORM_OPS[cfg.norm])
            b.gemm("attn.q_b_proj", layers, tokens, cfg.q_lora_rank, q_out)
        b.gemm("attn.kv_a_proj_with_mqa", layers, tokens, d, cfg.kv_lora_rank + cfg.qk_rope_head_dim)
        b.vector("attn.kv_a_norm", layers, tokens * cfg.kv_lora_rank, NORM_OPS[cfg.norm])
        b.gemm("attn.kv_b_proj", layers, tokens, cfg.kv_lora_rank, h * (cfg.qk_nope_head_dim + cfg.v_head_dim))
        return
    hd, kv = cfg.head_dim, cfg.num_kv_heads
    b.gemm("attn.q_proj", layers, tokens, d, h * hd)
    b.gemm("attn.k_proj", layers, tokens, d, kv * hd)
    b.gemm("attn.v_proj", layers, tokens, d, kv * hd)
    if cfg.qk_norm:   # RMSNorm over each head's q and k (Qwen3, Gemma-3)
        b.vector("attn.qk_norm", layers, tokens * (h + kv) * hd, NORM_OPS[cfg.norm])


def _rope(b: _Builder, tokens) -> None:
    cfg = b.cfg
    if cfg.position_embedding != "rope":
        return
    if cfg.is_mla:   # decoupled RoPE: h query parts and one shared key part (DeepSeek-V2 Sec. 2.1.3)
        elements = tokens * (cfg.num_heads + 1) * cfg.qk_rope_head_dim
    else:
        # partial rotary (GPT-J rotary_dim, GPT-NeoX rotary_pct) rotates rotary_dim of each head
        elements = tokens * (cfg.num_heads + cfg.num_kv_heads) * (cfg.rotary_dim or cfg.head_dim)
    b.vector("attn.rope", cfg.num_layers, elements, ROPE_OPS)


def _softmax_attention(b: _Builder, batch: int, tokens, pairs, kv_read, decode: bool, layers: int,
                       suffix: str = "") -> None:
    """Scores, softmax and context of ``layers`` layers for ``pairs`` (query, key) pairs per sequence
    and head, reading ``kv_read`` cached positions per sequence (split over ring devices by the
    caller); ``suffix`` names a second layer group (``.full``: Gemma's global layers)."""
    cfg, opts, e, kv_e = b.cfg, b.opts, b.e, b.kv_e
    h = cfg.num_heads
    if cfg.is_mla and decode and opts.mla_absorbed:
        # absorbed MLA: every head attends over the shared latent (d_c + d_rope) and its context
        # lives in the latent (d_c); the latent is read once (DeepSeek-V2 Sec. 2.1.2)
        d_qk, d_v = cfg.kv_lora_rank + cfg.qk_rope_head_dim, cfg.kv_lora_rank
        k_elements, v_elements = kv_elements_per_token_per_layer(cfg), 0
    elif cfg.is_mla:   # non-absorbed: per-head keys (nope + rope) and values from kv_b_proj
        d_qk, d_v = cfg.qk_head_dim, cfg.value_head_dim
        k_elements, v_elements = h * d_qk, h * d_v
    else:
        d_qk, d_v = cfg.head_dim, cfg.head_dim
        k_elements = v_elements = cfg.num_kv_heads * cfg.head_dim
    materialised = opts.attention == "materialised"
    scores = batch * h * pairs
    queries_per_seq = tokens / batch
    b.add("attn.scores" + suffix, "attention", layers, macs=scores * d_qk,
          kv_bytes=batch * kv_read * k_elements * kv_e, act_bytes=tokens * h * d_qk * e,
          score_bytes=scores * e if materialised else 0.0,
          shape=(queries_per_seq, d_qk, pairs / np.maximum(queries_per_seq, 1), batch * h))
    if cfg.attention_softcap:
        b.add("attn.softcap" + suffix, "vector", layers, vector_ops=scores * SOFTCAP_OPS)
    b.add("attn.softmax" + suffix, "vector", layers, vector_ops=scores * SOFTMAX_OPS,
          score_bytes=2 * scores * e if materialised else 0.0)
    b.add("attn.context" + suffix, "attention", layers, macs=scores * d_v,
          kv_bytes=batch * kv_read * v_elements * kv_e, act_bytes=tokens * h * d_v * e,
          score_bytes=scores * e if materialised else 0.0,
          shape=(queries_per_seq, pairs / np.maximum(queries_per_seq, 1), d_v, batch * h))


def _recurrent_mixer(b: _Builder, batch: int, tokens, decode: bool) -> None:
    """Linear attention or an SSM scan instead of softmax attention; the state is read and written
    once per decode step, and written once at the end of a prefill (kept on chip within it)."""
    cfg, opts, e, layers = b.cfg, b.opts, b.e, b.cfg.num_layers
    state_passes = 2 if decode else 1
    if opts.mixer == "linear":
        # S = sum phi(k) v^T per KV head (d_k x d_v) and z = sum phi(k); out = phi(q)S / phi(q)z
        # (Katharopoulos et al. 2020, Eq. 5-6)
        d_k, d_v, kv, h = cfg.qk_head_dim, cfg.value_head_dim, cfg.num_kv_heads, cfg.num_heads
        state = batch * kv * (d_k * d_v + d_k)
        b.vector("attn.feature_map", layers, tokens * (h + kv) * d_k, FEATURE_MAP_OPS)
        b.add("attn.linear_state", "recurrence", layers,
              macs=tokens * kv * (d_k * d_v + d_k) + tokens * h * (d_k * d_v + d_k),
              vector_ops=tokens * h * d_v, act_bytes=tokens * (h * d_k + kv * (d_k + d_v) + h * d_v) * e,
              state_bytes=state_passes * state * e)
        return
    channels = cfg.num_heads * cfg.value_head_dim   # the mixer's channels D (Mamba: d_inner)
    b.add("ssm.selective_scan", "recurrence", layers, vector_ops=tokens * channels * opts.ssm_state * SSM_OPS,
          act_bytes=2 * tokens * channels * e, state_bytes=state_passes * batch * channels * opts.ssm_state * e)


def _mamba(b: _Builder, batch: int, tokens, decode: bool) -> None:
    """One Mamba / Mamba-2 block per layer (Gu and Dao 2023, Sec. 3.4 and Algorithm 2; Dao and Gu
    2024, Sec. 7; HF ``MambaMixer``/``Mamba2Mixer``): in_proj, causal depthwise conv1d + SiLU,
    (Mamba: x_proj and dt_proj), softplus(dt), the selective scan, the SiLU(z) gate (Mamba-2: a
    gated RMSNorm), out_proj. The recurrent state (``d_in x N``) and the conv state
    (``channels x (kernel - 1)``) are read and written per decode step, written once by a prefill."""
    from .counts import ssm_conv_channels
    cfg, e, layers = b.cfg, b.e, b.cfg.num_layers
    d, di, n, k = cfg.hidden_size, cfg.ssm_d_inner, cfg.ssm_state_size, cfg.ssm_conv_kernel
    conv = ssm_conv_channels(cfg)
    if cfg.mixer == "mamba":
        b.gemm("ssm.in_proj", layers, tokens, d, 2 * di)
    else:
        b.gemm("ssm.in_proj", layers, tokens, d, 2 * di + 2 * cfg.ssm_groups * n + cfg.ssm_heads)
    b.vector("ssm.conv1d", layers, tokens * conv, CONV_OPS * k + SILU_OPS)
    dt_width = di if cfg.mixer == "mamba" else cfg.ssm_heads
    if cfg.mixer == "mamba":
        b.gemm("ssm.x_proj", layers, tokens, di, cfg.ssm_dt_rank + 2 * n)
        b.gemm("ssm.dt_proj", layers, tokens, cfg.ssm_dt_rank, di)
    b.vector("ssm.dt_softplus", layers, tokens * dt_width, SOFTPLUS_OPS)
    state_passes = 2 if decode else 1
    state = batch * (di * n + conv * (k - 1))
    b.add("ssm.selective_scan", "recurrence", layers, vector_ops=tokens * di * n * SSM_OPS,
          act_bytes=2 * tokens * di * e, state_bytes=state_passes * state * e)
    gate_ops = ACTIVATION_OPS["swiglu"] + (NORM_OPS["rmsnorm"] if cfg.mixer == "mamba2" else 0)
    b.vector("ssm.gate", layers, tokens * di, gate_ops, reads=2)
    b.gemm("ssm.out_proj", layers, tokens, di, d)
    b.vector("ssm.residual", layers, tokens * d, 1, reads=2)


def pass_ops(cfg: LLMConfig, opts: LLMOptions, batch: int, new_tokens, pairs, kv_read, kv_write,
             e: float, kv_e: float, decode: bool, head_rows=None, groups=None) -> list[Op]:
    """The ops of one pass over ``batch`` sequences, each array over the steps of a phase.

    ``new_tokens``: tokens computed per sequence (decode 1; prefill N; no-cache decode t + 1);
    ``pairs``: attended (query, key) pairs per sequence and head; ``kv_read``: cached positions
    read per sequence; ``kv_write``: positions appended to the cache per sequence; ``e`` and
    ``kv_e``: bytes per activation and per cached element; ``head_rows``: rows of the lm_head
    (default one per sequence). Ring attention over ``opts.devices`` splits pairs, cache reads and
    (in a prefill) the tokens evenly over the devices; the ops are one device's. ``groups``:
    ``[(layers, pairs, kv_read, kv_write), ...]`` when layer groups attend differently (Gemma's
    local and global layers); default one group of all layers with ``pairs``/``kv_read``/``kv_write``.
    """
    steps = max(np.size(new_tokens), np.size(pairs), np.size(kv_read), 1)
    b = _Builder(cfg, opts, e, kv_e, steps)
    devices = opts.devices
    per_seq = np.asarray(new_tokens, dtype=np.float64)
    if not decode:
        per_seq = per_seq / devices
    tokens = batch * per_seq
    d, layers = cfg.hidden_size, cfg.num_layers

    if cfg.patch_size:    # ViT patch embedding: a GEMM over the flattened patches
        b.gemm("embed.patch", 1, tokens, cfg.num_channels * cfg.patch_size ** 2, d, quantized=False)
    else:
        b.add("embed.tokens", "memory", 1, act_bytes=2 * tokens * d * e)   # gather rows, write them
    if cfg.position_embedding == "learned":
        b.vector("embed.positions", 1, tokens * d, 1, reads=2)
    if cfg.embedding_norm:
        b.vector("embed.norm", 1, tokens * d, NORM_OPS[cfg.norm])
    if cfg.embedding_scale:   # Gemma: hidden states * sqrt(hidden_size)
        b.vector("embed.scale", 1, tokens * d, 1)

    if cfg.is_ssm:
        b.vector("ssm_norm", layers * cfg.norms_per_layer, tokens * d, NORM_OPS[cfg.norm])
        _mamba(b, batch, tokens, decode)
        if opts.pp > 1:
            b.collective("pp.send", opts.pp - 1, tokens * d * e, "p2p", 2)
        _model_head(b, batch, tokens, head_rows)
        return b.ops
    if cfg.norms_per_layer:
        b.vector("attn_norm", layers, tokens * d, NORM_OPS[cfg.norm])
    _projections(b, tokens)
    if opts.mixer == "softmax":
        _rope(b, tokens)
        kv_elements = kv_elements_per_token_per_layer(cfg)
        if groups is None:
            groups = [(layers, pairs, kv_read, kv_write)]
        for index, (group_layers, g_pairs, g_read, g_write) in enumerate(groups):
            suffix = ".full" if index else ""
            if opts.kv_cache:   # the append copies the new K/V (read as activations) into the cache
                appended = batch * np.asarray(g_write, dtype=np.float64) / devices * kv_elements
                b.add("kv_cache.write" + suffix, "memory", group_layers, act_bytes=appended * e,
                      kv_bytes=appended * kv_e)
            _softmax_attention(b, batch, tokens, np.asarray(g_pairs, dtype=np.float64) / devices,
                               np.asarray(g_read, dtype=np.float64) / devices, decode, group_layers, suffix)
            if devices > 1:   # each device passes its K/V block around the ring: D-1 blocks of 1/D
                b.add("ring.kv_transfer" + suffix, "link", group_layers,
                      link_bytes=batch * np.asarray(g_read, dtype=np.float64) * (devices - 1) / devices
                      * kv_elements * kv_e)
    else:
        _recurrent_mixer(b, batch, tokens, decode)
    b.gemm("attn.o_proj", layers, tokens, cfg.num_heads * cfg.value_head_dim, d)
    # Megatron: all-reduce after attention and after the MLP; one per layer with parallel attention
    b.collective("tp.all_reduce", layers * (1 if cfg.parallel_attention else 2), tokens * d * e, "all_reduce",
                 opts.tp)
    b.vector("attn.residual", layers, tokens * d, 1, reads=2)
    if cfg.norms_per_layer > 1:   # the MLP's norm, plus Gemma-2/3's post-attention and post-MLP norms
        b.vector("mlp_norm", layers * (cfg.norms_per_layer - 1), tokens * d, NORM_OPS[cfg.norm])
    dense = layers - cfg.num_moe_layers
    _mlp(b, "mlp", dense, tokens, cfg.intermediate_size)
    if cfg.num_moe_layers:
        moe, k, experts = cfg.num_moe_layers, cfg.experts_per_token, cfg.num_experts
        b.gemm("moe.router", moe, tokens, d, experts)
        b.vector("moe.router_topk", moe, tokens * experts, SOFTMAX_OPS + k + (1 if cfg.router_bias else 0))
        if cfg.num_shared_experts:
            _mlp(b, "moe.shared_experts", moe, tokens, cfg.shared_intermediate_size)
            if cfg.shared_expert_gate:   # Qwen2-MoE: sigmoid(x W_g) scales the shared expert's output
                b.gemm("moe.shared_expert_gate", moe, tokens, d, 1)
                b.vector("moe.shared_expert_scale", moe, tokens * d, 1, reads=2)
        # routed: tokens*k (token, expert) rows; weights of the distinct experts touched only. Expert
        # parallel: a device holds E/ep experts and gets 1/ep of the routed rows of all the tokens
        # (attention data parallel: ep devices' tokens; over the TP group: the same tokens)
        ep = opts.ep
        routed_tokens = tokens * (ep if opts.tp == 1 else 1)
        _mlp(b, "moe.experts", moe, routed_tokens * k / ep, cfg.expert_intermediate_size,
             weight_copies=experts_touched(experts, k, routed_tokens) / ep)
        if opts.tp == 1:   # dispatch and combine all-to-alls of the local tokens' k routed copies
            b.collective("ep.all_to_all", 2 * moe, tokens * k * d * e, "all_to_all", ep)
    b.vector("mlp.residual", layers, tokens * d, 1, reads=2)
    if opts.pp > 1:   # each stage hands its micro-batch's activations to the next
        b.collective("pp.send", opts.pp - 1, tokens * d * e, "p2p", 2)
    _model_head(b, batch, tokens, head_rows)
    return b.ops


def _model_head(b: _Builder, batch: int, tokens, head_rows) -> None:
    """Final norm, lm_head (with GPT-J's bias, Gemma-2's logit soft-cap) and argmax sampling."""
    cfg, d = b.cfg, b.cfg.hidden_size
    if cfg.final_norm:
        b.vector("final_norm", 1, tokens * d, NORM_OPS[cfg.norm])
    if cfg.lm_head and cfg.vocab_size:
        rows = batch if head_rows is None else head_rows
        b.gemm("lm_head", 1, rows, d, cfg.vocab_size, quantized=False)
        # vocabulary-parallel lm_head: each rank's best (logit, index) per row gathered (8 bytes)
        b.collective("tp.logits_gather", 1, rows * 8, "all_gather", b.opts.tp)
        if cfg.lm_head_bias:
            b.vector("lm_head.bias", 1, rows * cfg.vocab_size, 1)
        if cfg.final_softcap:
            b.vector("lm_head.softcap", 1, rows * cfg.vocab_size, SOFTCAP_OPS)
        b.vector("sampling.argmax", 1, rows * cfg.vocab_size, 1, writes=0)
