"""Lower a transformer config (:class:`~accelsim.llm.config.LLMConfig`) to GEMM workloads.

:func:`prefill_workload` and :func:`decode_workload` build one :class:`~accelsim.spec.Workload`
holding every GEMM of ONE decoder layer (plus the lm_head once), and a ``repeats`` dict
``layer name -> how many times the model runs that GEMM`` (the decoder layers it occurs in; 1 for
the lm_head). These are the counting model's GEMMs, equal to :mod:`accelsim.llm.counts` exactly;
:mod:`accelsim.llm.infer` costs whole inferences (vector ops, traffic, variants, both device kinds).

Conventions (those of :mod:`accelsim.llm.counts`, docs/llm.md):

- Only matmuls are lowered. Softmax, LayerNorm/RMSNorm, activations (GeLU, SiLU and the SwiGLU
  product), RoPE, biases and residual adds are vector work, and the embedding lookup is a read:
  none of them is a GEMM, so they are absent from these workloads (MAC-free here).
- A GEMM ``out[rows x cols] = A[rows x K] @ B[K x cols]`` is a ``gemm`` layer with ``N = rows``,
  ``C = K``, ``M = cols``. A batched GEMM of ``g`` independent ``rows x K x cols`` products (one per
  attention head, one per group of equally loaded experts) is a 1x1 conv with ``N = rows``,
  ``C = g*K``, ``M = g*cols`` and ``groups = g``.
- Attention scores ``Q.K^T`` and context ``P.V`` are batched over ``batch * num_heads`` query heads.
  GQA/MQA share K/V across the heads of a group, but each query head still does its own GEMM, so
  the shapes depend on ``num_heads`` only (the sharing shows in the K/V projections and the cache).
- Prefill attention is *dense* (materialised scores, no causal halving): each of the ``N`` queries
  scores ``min(N, W)`` keys (``W`` the sliding window, if any), i.e. it equals
  ``counts.prefill_macs(cfg, N, causal=False)``. The lm_head runs on the last prompt token of each
  sequence (``lm_head_all_tokens=False``, the counts default) or on all of them.
- Decode (one new token per sequence, ``tokens = batch``) attends to
  ``counts.cached_tokens(cfg, t) = min(t, W)`` keys at context ``t``; one step's MACs equal
  ``batch * counts.decode_macs_per_token(cfg, t)``.
- MLA is lowered in its plain (non-absorbed) form, as counts does: q_proj (or q_a/q_b),
  kv_a_proj_with_mqa, kv_b_proj and o_proj on the new tokens; attention over
  ``qk_nope_head_dim + qk_rope_head_dim`` (scores) and ``v_head_dim`` (context) per head.
- MoE: the router (``tokens x d x E``), the shared experts fused into one MLP of inner width
  ``num_shared_experts * moe_intermediate_size`` (as Hugging Face's DeepSeek-V2 does) over all
  tokens, and the ``tokens * experts_per_token`` routed (token, expert) pairs split as evenly as
  possible over the ``E`` experts: ``r`` experts get ``q + 1`` tokens and ``E - r`` get ``q``
  (``q, r = divmod(tokens * k, E)``), each group one batched GEMM (``moe.experts`` and
  ``moe.experts_lo``). The first ``first_dense_layers`` layers use the dense ``mlp.*`` GEMMs.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import AccelsimError, did_you_mean
from ..spec.workload import Layer, Workload
from .config import LLMConfig, load_llm_config
from .hf import from_hf_config
from .counts import attention_groups

def gemm(name: str, rows: int, k: int, cols: int, groups: int = 1) -> Layer:
    """``groups`` independent GEMMs ``[rows x k] @ [k x cols]`` as one (grouped 1x1 conv) layer."""
    if min(rows, k, cols, groups) < 1:
        raise AccelsimError(f"{name}: GEMM dimensions must be >= 1 (rows={rows}, K={k}, cols={cols}, "
                            f"groups={groups})")
    return Layer(name=name, kind="gemm", N=rows, C=groups * k, H=1, W=1, M=groups * cols, R=1, S=1,
                 groups=groups)


def _mlp(prefix: str, cfg: LLMConfig, rows: int, ff: int, groups: int = 1) -> list[Layer]:
    """One MLP (or ``groups`` equally loaded experts): gate + up + down for SwiGLU, up + down for GeLU."""
    d = cfg.hidden_size
    layers = []
    if cfg.gated:
        layers.append(gemm(f"{prefix}.gate_proj", rows, d, ff, groups))
    layers.append(gemm(f"{prefix}.up_proj", rows, d, ff, groups))
    layers.append(gemm(f"{prefix}.down_proj", rows, ff, d, groups))
    return layers


def _projections(cfg: LLMConfig, tokens: int) -> list[Layer]:
    """Q, K, V (or MLA's down/up projections); the output projection comes after attention."""
    d, h = cfg.hidden_size, cfg.num_heads
    if cfg.is_mla:
        q_out = h * cfg.qk_head_dim
        if cfg.q_lora_rank is None:
            layers = [gemm("attn.q_proj", tokens, d, q_out)]
        else:
            layers = [gemm("attn.q_a_proj", tokens, d, cfg.q_lora_rank),
                      gemm("attn.q_b_proj", tokens, cfg.q_lora_rank, q_out)]
        layers.append(gemm("attn.kv_a_proj_with_mqa", tokens, d, cfg.kv_lora_rank + cfg.qk_rope_head_dim))
        layers.append(gemm("attn.kv_b_proj", tokens, cfg.kv_lora_rank,
                           h * (cfg.qk_nope_head_dim + cfg.v_head_dim)))
        return layers
    hd, kv = cfg.head_dim, cfg.num_kv_heads
    return [gemm("attn.q_proj", tokens, d, h * hd),
            gemm("attn.k_proj", tokens, d, kv * hd),
            gemm("attn.v_proj", tokens, d, kv * hd)]


def _decoder_layer(cfg: LLMConfig, tokens: int, queries: int, keys: int, sequences: int
                   ) -> tuple[list[Layer], dict[str, int]]:
    """GEMMs of one decoder layer for ``tokens`` new tokens in ``sequences`` sequences of ``queries``
    queries each, attending to ``keys`` keys; with each GEMM's repeat count."""
    d, h = cfg.hidden_size, cfg.num_heads
    if cfg.is_ssm:
        raise AccelsimError(f"{cfg.name}: a state-space model (mixer {cfg.mixer}) has no attention GEMMs to lower; "
                            f"cost it with accelsim llm (accelsim.llm.llm_inference)")
    heads = sequences * h
    layers = _projections(cfg, tokens)
    layers.append(gemm("attn.o_proj", tokens, h * cfg.value_head_dim, d))
    repeats = {layer.name: cfg.num_layers for layer in layers}
    for index, (group_layers, window) in enumerate(attention_groups(cfg)):
        suffix = ".full" if index else ""
        group_keys = min(keys, window) if window else keys
        attention = [gemm("attn.scores" + suffix, queries, cfg.qk_head_dim, group_keys, heads),   # Q . K^T
                     gemm("attn.context" + suffix, queries, group_keys, cfg.value_head_dim, heads)]  # P . V
        layers[-1:-1] = attention
        repeats.update({layer.name: group_layers for layer in attention})

    dense = cfg.num_layers - cfg.num_moe_layers
    if dense:
        mlp = _mlp("mlp", cfg, tokens, cfg.intermediate_size)
        layers += mlp
        repeats.update({layer.name: dense for layer in mlp})
    if cfg.num_moe_layers:
        ff = cfg.expert_intermediate_size
        moe = [gemm("moe.router", tokens, d, cfg.num_experts)]
        if cfg.num_shared_experts:
            moe += _mlp("moe.shared_experts", cfg, tokens, cfg.shared_intermediate_size)
            if cfg.shared_expert_gate:
                moe.append(gemm("moe.shared_expert_gate", tokens, d, 1))
        q, r = divmod(tokens * cfg.experts_per_token, cfg.num_experts)
        if r:
            moe += _mlp("moe.experts", cfg, q + 1, ff, groups=r)
        if q:
            moe += _mlp("moe.experts_lo" if r else "moe.experts", cfg, q, ff, groups=cfg.num_experts - r)
        layers += moe
        repeats.update({layer.name: cfg.num_moe_layers for layer in moe})
    return layers, repeats


def _with_head(cfg: LLMConfig, layers: list[Layer], repeats: dict[str, int], rows: int) -> None:
    if cfg.lm_head and cfg.vocab_size:
        layers.append(gemm("lm_head", rows, cfg.hidden_size, cfg.vocab_size))
        repeats["lm_head"] = 1


def _check(name: str, value: int, minimum: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise AccelsimError(f"{name} must be an integer >= {minimum} (got {value!r})")


def prefill_workload(cfg: LLMConfig, prompt_len: int, batch: int = 1, lm_head_all_tokens: bool = False
                     ) -> tuple[Workload, dict[str, int]]:
    """The GEMMs of a prefill of ``prompt_len`` tokens for ``batch`` sequences; returns
    ``(workload, repeats)``.

    ``workload`` holds one decoder layer's GEMMs and the lm_head once; ``repeats[name]`` is how
    many decoder layers run that GEMM (1 for the lm_head). Projections and MLPs have
    ``batch * prompt_len`` rows; attention scores/context are batched over ``batch * num_heads``
    query heads of ``prompt_len`` queries x ``min(prompt_len, sliding_window)`` keys (dense, no
    causal halving); the lm_head runs on the last token of each sequence (or on all tokens).

    Softmax, norms, activations, RoPE, biases and residuals (vector ops) and the embedding lookup
    are not GEMMs and are not in the workload (MAC-free here). Total MACs (layer MACs x repeats)
    equal ``batch * counts.prefill_macs(cfg, prompt_len, causal=False, lm_head_all_tokens=...)``.
    """
    _check("prompt_len", prompt_len)
    _check("batch", batch)
    tokens = batch * prompt_len
    layers, repeats = _decoder_layer(cfg, tokens, prompt_len, prompt_len, batch)
    _with_head(cfg, layers, repeats, tokens if lm_head_all_tokens else batch)
    name = f"{cfg.name}_prefill_n{prompt_len}_b{batch}"
    return Workload(name=name, layers=tuple(layers),
                    description=f"{cfg.name}: prefill of {prompt_len} tokens, batch {batch}; one decoder "
                                f"layer's GEMMs (see repeats) + lm_head",
                    source="accelsim.llm.lower"), repeats


def decode_workload(cfg: LLMConfig, context_len: int, batch: int = 1) -> tuple[Workload, dict[str, int]]:
    """The GEMMs of one decode step at context ``context_len`` for ``batch`` sequences; returns
    ``(workload, repeats)``.

    One new token per sequence (``tokens = batch`` rows in the projections, MLPs and lm_head);
    attention is batched over ``batch * num_heads`` query heads of one query against
    ``counts.cached_tokens(cfg, context_len) = min(context_len, sliding_window)`` cached keys.

    Softmax, norms, activations, RoPE, biases and residuals (vector ops) and the embedding lookup
    are not GEMMs and are not in the workload (MAC-free here). Total MACs (layer MACs x repeats)
    equal ``batch * counts.decode_macs_per_token(cfg, context_len)``.
    """
    _check("context_len", context_len)
    _check("batch", batch)
    layers, repeats = _decoder_layer(cfg, batch, 1, context_len, batch)
    _with_head(cfg, layers, repeats, batch)
    name = f"{cfg.name}_decode_t{context_len}_b{batch}"
    return Workload(name=name, layers=tuple(layers),
                    description=f"{cfg.name}: one decode step at context {context_len}, batch {batch}; one "
                                f"decoder layer's GEMMs (see repeats) + lm_head",
                    source="accelsim.llm.lower"), repeats


def total_macs(workload: Workload, repeats: dict[str, int]) -> int:
    """MACs of the whole model: each layer's MACs times its repeat count."""
    return sum(layer.macs * repeats[layer.name] for layer in workload.layers)


def resolve_llm_config(name_or_path) -> LLMConfig:
    """An :class:`LLMConfig` from a config object, a YAML/JSON (HF config.json) path or a zoo name
    (``workloads/llm/NAME.yaml``)."""
    if isinstance(name_or_path, LLMConfig):
        return name_or_path
    from ..spec import builtin_dir  # local: avoid an import cycle at package import
    from ..spec.common import is_file
    path = Path(str(name_or_path))
    if is_file(path):
        return from_hf_config(path) if path.suffix == ".json" else load_llm_config(path)
    folder = builtin_dir("workloads") / "llm"
    preset = folder / f"{name_or_path}.yaml"
    if preset.is_file():
        return load_llm_config(preset)
    names = model_names()
    raise AccelsimError(f"{name_or_path}: no such file and no model config of that name in {folder}"
                        f"{did_you_mean(name_or_path, names)}; built-in: {', '.join(names) or 'none'}")


def model_names() -> list[str]:
    """Names of the built-in model configs (workloads/llm/)."""
    from ..spec import builtin_dir
    return sorted(p.stem for p in (builtin_dir("workloads") / "llm").glob("*.yaml"))
