"""Exact counts for a transformer config: parameters, KV-cache bytes, prefill and decode MACs.

Conventions (docs/llm.md, "Conventions"; printed with any result that uses them):

- Parameters count every weight, bias and norm scale/shift, as ``sum(p.numel())`` over the
  Hugging Face model does (tied embeddings counted once).
- MACs are matmul multiply-accumulates only (FLOP = 2 MAC). Biases, norms, softmax, activations,
  RoPE and residuals are vector work, not MACs. The embedding lookup is a read, not a GEMM.
- ``P_lin`` = per-token MACs of every per-layer matmul (attention projections and MLP; for MoE the
  router, the shared experts and the ``k`` routed experts a token uses), excluding the embedding
  and the lm_head.
- Attention per layer and head, for one query against ``C`` cached positions: ``qk_head_dim * C``
  MACs for the scores QK^T and ``v_head_dim * C`` for the context AV (MHA: ``2 * head_dim * C``).
  A sliding window of ``W`` caps ``C`` at ``W``.
- MLA is counted in its plain (non-absorbed) form, DeepSeek-V2 (arXiv:2405.04434) Sec. 2.1.2-2.1.3:
  q_proj (or q_a/q_b), kv_a_proj_with_mqa, kv_b_proj and o_proj once per token; attention over
  ``qk_nope_head_dim + qk_rope_head_dim`` (scores) and ``v_head_dim`` (context) per head.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import AccelsimError
from .config import LLMConfig


# -- parameters -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParamCounts:
    """Parameters per part; ``total`` is their sum and ``active`` what one token uses.

    ``experts`` holds every routed expert; ``active_experts`` the ``k`` routed experts per MoE
    layer one token goes through. ``mlp`` holds dense MLPs, shared experts and routers.
    """

    embeddings: int
    attention: int
    mlp: int
    experts: int
    norms: int
    head: int
    active_experts: int

    @property
    def total(self) -> int:
        return self.embeddings + self.attention + self.mlp + self.experts + self.norms + self.head

    @property
    def active(self) -> int:
        """Parameters used per token: total minus the routed experts a token skips.

        Includes the embedding table, as Mixtral's "12.9B active" does (Jiang et al.,
        arXiv:2401.04088 Sec. 2.1); DeepSeek-V2's "2.4B activated" leaves it out
        (``active - token_embedding``).
        """
        return self.total - self.experts + self.active_experts


def _norm_params(cfg: LLMConfig, width: int) -> int:
    """One norm over ``width`` features: scale (and shift for a LayerNorm with bias); none for
    OLMo's non-parametric LayerNorm (Groeneveld et al. 2024, Sec. 2.1)."""
    if not cfg.norm_weights:
        return 0
    return width * (2 if cfg.norm_bias else 1)


def _mlp_matmul(cfg: LLMConfig, ff: int) -> int:
    """Weights of one MLP of inner width ``ff``: up and down, plus gate for SwiGLU/GeGLU (Shazeer 2020)."""
    return (3 if cfg.gated else 2) * cfg.hidden_size * ff


def _mlp_bias(cfg: LLMConfig, ff: int) -> int:
    if not cfg.mlp_bias:
        return 0
    return (2 if cfg.gated else 1) * ff + cfg.hidden_size


def ssm_matmul_params(cfg: LLMConfig) -> int:
    """Matmul weights of one Mamba block (= its MACs per token).

    Mamba (Gu and Dao 2023, Sec. 3.4, Fig. 3; HF ``MambaMixer``): in_proj ``d x 2*d_in``, x_proj
    ``d_in x (dt_rank + 2N)``, dt_proj ``dt_rank x d_in``, out_proj ``d_in x d``. Mamba-2 (Dao and
    Gu 2024, Sec. 7.1; HF ``Mamba2Mixer``): in_proj ``d x (2*d_in + 2*groups*N + heads)`` (z, x, B, C
    and dt in one projection), out_proj ``d_in x d``.
    """
    d, di, n = cfg.hidden_size, cfg.ssm_d_inner, cfg.ssm_state_size
    if cfg.mixer == "mamba":
        return d * 2 * di + di * (cfg.ssm_dt_rank + 2 * n) + cfg.ssm_dt_rank * di + di * d
    return d * (2 * di + 2 * cfg.ssm_groups * n + cfg.ssm_heads) + di * d


def ssm_conv_channels(cfg: LLMConfig) -> int:
    """Channels of the depthwise causal conv1d: ``d_in`` (Mamba) or ``d_in + 2*groups*N`` (Mamba-2)."""
    di = cfg.ssm_d_inner
    return di if cfg.mixer == "mamba" else di + 2 * cfg.ssm_groups * cfg.ssm_state_size


def _ssm_params(cfg: LLMConfig) -> int:
    """One Mamba block: matmuls, biases, conv1d, A, D, dt bias (and Mamba-2's gated RMSNorm)."""
    d, di, n, k = cfg.hidden_size, cfg.ssm_d_inner, cfg.ssm_state_size, cfg.ssm_conv_kernel
    conv = ssm_conv_channels(cfg)
    params = ssm_matmul_params(cfg) + conv * k + (conv if cfg.ssm_conv_bias else 0)
    if cfg.mixer == "mamba":
        params += di + di * n + di                 # dt_proj bias, A_log (d_in x N), D
        if cfg.ssm_bias:
            params += 2 * di + d                   # in_proj and out_proj biases
    else:
        h = cfg.ssm_heads
        params += 3 * h + di                       # dt_bias, A_log, D per head; the gated RMSNorm
        if cfg.ssm_bias:
            params += 2 * di + 2 * cfg.ssm_groups * n + h + d
    return params


def attention_matmul_params(cfg: LLMConfig) -> int:
    """Matmul weights of one attention block (= its MACs per token, excluding scores/context).

    MHA/GQA/MQA (Vaswani et al. 2017 Sec. 3.2.2; Ainslie et al. 2023, GQA): Q and O are
    ``d x h*hd``, K and V are ``d x kv*hd`` each.
    MLA (DeepSeek-V2 Sec. 2.1.2-2.1.3, HF ``DeepseekV2Attention``): q_proj ``d x h*(nope+rope)``, or
    q_a ``d x q_lora`` + q_b ``q_lora x h*(nope+rope)``; kv_a ``d x (kv_lora + rope)``;
    kv_b ``kv_lora x h*(nope + v)``; o ``h*v x d``.
    """
    d, h = cfg.hidden_size, cfg.num_heads
    if cfg.is_mla:
        q_out = h * cfg.qk_head_dim
        q = d * q_out if cfg.q_lora_rank is None else d * cfg.q_lora_rank + cfg.q_lora_rank * q_out
        kv_a = d * (cfg.kv_lora_rank + cfg.qk_rope_head_dim)
        kv_b = cfg.kv_lora_rank * h * (cfg.qk_nope_head_dim + cfg.v_head_dim)
        return q + kv_a + kv_b + h * cfg.v_head_dim * d
    hd, kv = cfg.head_dim, cfg.num_kv_heads
    return 2 * d * h * hd + 2 * d * kv * hd


def _attention_params(cfg: LLMConfig) -> int:
    """One attention block: matmuls, biases (Q, K, V; O), per-head q/k RMSNorms (Qwen3, Gemma-3)
    and MLA's latent RMSNorms."""
    params = attention_matmul_params(cfg)
    if cfg.attention_bias and not cfg.is_mla:
        params += (cfg.num_heads + 2 * cfg.num_kv_heads) * cfg.head_dim
    if cfg.out_bias and not cfg.is_mla:
        params += cfg.hidden_size
    if cfg.qk_norm:
        params += 2 * _norm_params(cfg, cfg.qk_head_dim)
    if cfg.is_mla:
        params += _norm_params(cfg, cfg.kv_lora_rank)
        if cfg.q_lora_rank is not None:
            params += _norm_params(cfg, cfg.q_lora_rank)
    return params


def param_counts(cfg: LLMConfig) -> ParamCounts:
    """Exact parameter counts by part, as ``sum(p.numel())`` over the HF model (tied counted once).

    - embeddings: ``V*d`` tokens (ViT: patch conv ``C*p*p*d + d`` and the class token), learned
      positions ``max_position*d`` (ViT: ``(patches+1)*d``), token types ``type_vocab*d``, an
      embedding norm (BERT).
    - per layer: attention (:func:`attention_matmul_params` + biases; a Mamba block instead for
      SSMs, :func:`_ssm_params`), ``norms_per_layer`` norms, an MLP
      (:func:`_mlp_matmul` + biases) or, in MoE layers, a router ``d*E`` (Mixtral/DeepSeek gates
      have no bias), ``E`` routed experts and ``num_shared_experts`` shared experts, each
      ``_mlp_matmul(moe_intermediate_size)`` (DeepSeekMoE, arXiv:2401.06066 Sec. 3).
    - final norm; head: lm_head ``d*V`` unless tied, BERT pooler ``d*d + d``, classifier
      ``d*labels + labels``.
    """
    d, layers = cfg.hidden_size, cfg.num_layers
    if cfg.patch_size:
        embeddings = cfg.num_channels * cfg.patch_size ** 2 * d + d + d  # patch conv + bias, [CLS]
        positions = cfg.num_patches + 1
    else:
        embeddings = cfg.vocab_size * d
        positions = cfg.max_position or 0
    if cfg.position_embedding == "learned":
        embeddings += positions * d
    embeddings += cfg.type_vocab_size * d
    if cfg.embedding_norm:
        embeddings += _norm_params(cfg, d)

    norms = layers * cfg.norms_per_layer * _norm_params(cfg, d) + (_norm_params(cfg, d) if cfg.final_norm else 0)
    if cfg.is_ssm:
        attention, mlp, experts, active_experts = layers * _ssm_params(cfg), 0, 0, 0
    else:
        attention = layers * _attention_params(cfg)
        dense_layers = layers - cfg.num_moe_layers
        mlp = dense_layers * (_mlp_matmul(cfg, cfg.intermediate_size) + _mlp_bias(cfg, cfg.intermediate_size))
        expert = _mlp_matmul(cfg, cfg.expert_intermediate_size) + _mlp_bias(cfg, cfg.expert_intermediate_size)
        shared = cfg.shared_intermediate_size
        shared_params = (_mlp_matmul(cfg, shared) + _mlp_bias(cfg, shared)) if shared else 0
        router = d * cfg.num_experts + (cfg.num_experts if cfg.router_bias else 0) + (d if cfg.shared_expert_gate else 0)
        mlp += cfg.num_moe_layers * (router + shared_params)
        experts = cfg.num_moe_layers * cfg.num_experts * expert
        active_experts = cfg.num_moe_layers * cfg.experts_per_token * expert

    head = d * cfg.vocab_size if cfg.lm_head and not cfg.tied_embeddings else 0
    if cfg.lm_head and cfg.lm_head_bias:
        head += cfg.vocab_size
    if cfg.pooler:
        head += d * d + d
    if cfg.num_labels:
        head += d * cfg.num_labels + cfg.num_labels
    return ParamCounts(embeddings=embeddings, attention=attention, mlp=mlp, experts=experts, norms=norms,
                       head=head, active_experts=active_experts)


# -- KV cache -------------------------------------------------------------------------------------

def kv_elements_per_token_per_layer(cfg: LLMConfig) -> int:
    """Cached elements per token and layer.

    MHA/GQA/MQA: ``2 * kv_heads * head_dim`` (K and V; docs/llm.md). MLA: the compressed latent plus the
    decoupled RoPE key, ``kv_lora_rank + qk_rope_head_dim`` (DeepSeek-V2 Sec. 2.1.2, Table 1:
    ``(d_c + d_h^R) * l``).
    """
    if cfg.is_ssm:
        return 0
    if cfg.is_mla:
        return cfg.kv_lora_rank + cfg.qk_rope_head_dim
    return 2 * cfg.num_kv_heads * cfg.head_dim


def attention_groups(cfg: LLMConfig, window: int | None = None) -> list[tuple[int, int | None]]:
    """``(layers, window)`` pairs: the layers that attend within ``sliding_window`` and those that
    attend globally (Gemma-2 alternates them, Beltagy et al. 2020 / Gemma Team 2024 Sec. 2; Gemma-3
    has five local layers per global one). ``window`` overrides the config's for every layer."""
    if cfg.is_ssm:
        return []
    if window is not None:
        return [(cfg.num_layers, window)]
    local = cfg.window_layers
    groups = [(local, cfg.sliding_window)] if local else []
    if cfg.num_layers - local:
        groups.append((cfg.num_layers - local, None))
    return groups


def kv_cache_bytes_per_token(cfg: LLMConfig, bytes_per_element: float = 2) -> float:
    """KV-cache bytes per cached token: ``layers * kv_elements_per_token_per_layer * bytes`` (docs/llm.md).

    Llama-2-7B fp16: 32 * 2 * 32 * 128 * 2 = 524,288 B.
    """
    return cfg.num_layers * kv_elements_per_token_per_layer(cfg) * bytes_per_element


def cached_tokens(cfg: LLMConfig, context: int) -> int:
    """Tokens held in the cache at context ``t``: ``min(t, sliding_window)`` (Mistral 7B,
    arXiv:2310.06825 Sec. 2, rolling buffer cache), else ``t``."""
    if context < 0:
        raise AccelsimError(f"context must be >= 0 tokens (got {context})")
    return min(context, cfg.sliding_window) if cfg.sliding_window else context


def kv_cache_bytes(cfg: LLMConfig, context: int, batch: int = 1, bytes_per_element: float = 2) -> float:
    """KV-cache bytes for ``batch`` sequences at context ``t``: per layer group
    ``batch * layers * min(t, W) * kv_elements_per_token_per_layer * bytes`` (without per-layer
    windows: ``batch * cached_tokens(t) * kv_cache_bytes_per_token``)."""
    if batch < 1:
        raise AccelsimError(f"batch must be >= 1 (got {batch})")
    if context < 0:
        raise AccelsimError(f"context must be >= 0 tokens (got {context})")
    per = kv_elements_per_token_per_layer(cfg) * bytes_per_element
    return batch * per * sum(n * (min(context, w) if w else context) for n, w in attention_groups(cfg))


# -- MACs -----------------------------------------------------------------------------------------

def linear_macs_per_token(cfg: LLMConfig) -> int:
    """``P_lin``: matmul MACs of all layers for one token (docs/llm.md), MoE counting active experts only.

    ``layers * attention_matmul_params`` + dense MLPs + per MoE layer a router ``d*E``, the shared
    experts and ``experts_per_token`` routed experts (Mixtral Sec. 2.1: only the top-k run).
    Embedding and lm_head are excluded.
    """
    d = cfg.hidden_size
    if cfg.is_ssm:
        return cfg.num_layers * ssm_matmul_params(cfg)
    macs = cfg.num_layers * attention_matmul_params(cfg)
    macs += (cfg.num_layers - cfg.num_moe_layers) * _mlp_matmul(cfg, cfg.intermediate_size)
    per_expert = _mlp_matmul(cfg, cfg.expert_intermediate_size)
    shared = _mlp_matmul(cfg, cfg.shared_intermediate_size) + (d if cfg.shared_expert_gate else 0)
    macs += cfg.num_moe_layers * (d * cfg.num_experts + shared + cfg.experts_per_token * per_expert)
    return macs


def lm_head_macs_per_token(cfg: LLMConfig) -> int:
    """``d * V`` for a model with an lm_head (tied or not), else 0."""
    return cfg.hidden_size * cfg.vocab_size if cfg.lm_head else 0


def attention_macs_per_token(cfg: LLMConfig, context: int) -> int:
    """Scores + context MACs for one query attending to ``context`` positions (capped by the window):
    ``layers * heads * (qk_head_dim + v_head_dim) * min(t, W)``; MHA: ``layers * h * 2 * d_h * t``
    (docs/llm.md, decode)."""
    if context < 0:
        raise AccelsimError(f"context must be >= 0 tokens (got {context})")
    per_position = cfg.num_heads * (cfg.qk_head_dim + cfg.value_head_dim)
    return per_position * sum(n * (min(context, w) if w else context) for n, w in attention_groups(cfg))


def decode_macs_per_token(cfg: LLMConfig, context: int) -> int:
    """MACs of one decode step at context ``t`` (attending to ``t`` positions), batch 1:
    ``P_lin + d*V + layers * h * (d_qk + d_v) * min(t, W)`` (docs/llm.md, "Decode one token")."""
    return linear_macs_per_token(cfg) + lm_head_macs_per_token(cfg) + attention_macs_per_token(cfg, context)


def attention_pairs(cfg: LLMConfig, tokens: int, causal: bool = True) -> int:
    """(query, key) pairs scored in a prefill of ``tokens``.

    Dense (materialised N x N scores, docs/llm.md's default): ``N * min(N, W)``. Causal: query ``i``
    (1-based) sees ``min(i, W)`` keys, so ``N(N+1)/2`` without a window, and with one
    ``W(W+1)/2 + (N-W)*W`` for ``N > W``.
    """
    if tokens < 0:
        raise AccelsimError(f"tokens must be >= 0 (got {tokens})")
    return _pairs(tokens, cfg.sliding_window, causal)


def _pairs(tokens: int, window: int | None, causal: bool) -> int:
    window = window or tokens
    if not causal:
        return tokens * min(tokens, window)
    if tokens <= window:
        return tokens * (tokens + 1) // 2
    return window * (window + 1) // 2 + (tokens - window) * window


def prefill_macs(cfg: LLMConfig, tokens: int, causal: bool = True, lm_head_all_tokens: bool = False) -> int:
    """MACs of a prefill of ``tokens`` prompt tokens, batch 1 (docs/llm.md, "Prefill of N tokens"):
    ``N * P_lin + layers * h * (d_qk + d_v) * pairs + lm_head``, with ``pairs`` from
    :func:`attention_pairs` and the lm_head (``d*V``) on the last token or on all ``N``."""
    if tokens < 0:
        raise AccelsimError(f"tokens must be >= 0 (got {tokens})")
    per_pair = cfg.num_heads * (cfg.qk_head_dim + cfg.value_head_dim)
    pairs = sum(n * _pairs(tokens, w, causal) for n, w in attention_groups(cfg))
    head_tokens = tokens if lm_head_all_tokens else min(tokens, 1)
    return tokens * linear_macs_per_token(cfg) + per_pair * pairs + head_tokens * lm_head_macs_per_token(cfg)


def prefill_macs_per_token(cfg: LLMConfig, tokens: int, causal: bool = True,
                           lm_head_all_tokens: bool = False) -> float:
    """:func:`prefill_macs` divided by the ``tokens`` of the prompt."""
    if tokens < 1:
        raise AccelsimError(f"tokens must be >= 1 (got {tokens})")
    return prefill_macs(cfg, tokens, causal, lm_head_all_tokens) / tokens
