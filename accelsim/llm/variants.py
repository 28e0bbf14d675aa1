"""Attention variants and inference options: how many keys a query attends and what the cache holds.

Every variant changes tensor shapes and traffic, not the engine. The functions here take
a numpy array of contexts (or prompt lengths) and return arrays, so a whole decode (contexts
``t = prompt .. prompt + generate - 1``) is evaluated without a Python loop per step.

Position convention: at context ``t`` the cache holds positions ``0 .. t-1`` and the new query
attends to ``t`` positions in full attention (docs/llm.md: "decode one token at context C, attending
to C positions"). The first ``g = sinks + global_tokens`` positions are special (StreamingLLM
sinks, Longformer global tokens) and always attended; the window covers the other positions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AccelsimError
from .config import LLMConfig

ATTENTION_IMPLS = ("flash", "materialised")
MIXERS = ("softmax", "linear", "ssm")
COLLECTIVES = ("ring", "tree")


@dataclass(frozen=True)
class LLMOptions:
    """Inference options and attention variants (all printed with the results).

    - ``attention``: ``flash`` (FlashAttention tiling: scores and probabilities stay on chip, Dao
      et al., NeurIPS 2022, Sec. 3.1) or ``materialised`` (standard attention, Dao et al. Algorithm 0:
      S written, read by the softmax, P written, read by the context GEMM).
    - ``mixer``: ``softmax`` attention, ``linear`` attention (Katharopoulos et al., ICML 2020, Eq. 4-6:
      a state of ``d_k x d_v`` per KV head, no KV cache) or ``ssm`` (a Mamba selective scan, Gu & Dao
      2023, Sec. 3: a state of ``ssm_state`` per channel, ``heads * v_head_dim`` channels).
    - ``window`` (default the config's ``sliding_window``), ``dilation`` (Longformer dilated sliding
      window, Beltagy et al. 2020, Sec. 3.1: ``window`` keys spread over ``window * dilation``
      positions), ``global_tokens`` (Longformer global attention, symmetric), ``sinks`` (StreamingLLM
      attention sinks, Xiao et al., ICLR 2024, Sec. 3.2: cache = sinks + window, constant).
    - ``kv_cache``: False recomputes the whole prefix at every step ([pope2023]: the
      quadratic cost the cache removes).
    - ``causal``: prefill scores only the ``N(N+1)/2`` causal pairs; False scores all ``N x min(N, W)``
      (docs/llm.md's dense convention, the default as in :mod:`accelsim.llm.counts`).
    - ``lm_head_all_tokens``: the lm_head runs on every prompt token (default: the last one).
    - ``devices``: ring attention across ``devices`` (Liu, Zaharia and Abbeel, "Ring Attention with
      Blockwise Transformers", 2023, Sec. 3): the sequence and its KV cache are split evenly.
    - ``kv_bits``: bits per cached element (default: the hw precision's).
    - ``mla_absorbed``: decode MLA with W^UK and W^UV absorbed (DeepSeek-V2, Sec. 2.1.2), attending
      over the cached latent; prefill always runs MLA non-absorbed (counts.py's convention).
    - ``weights``, ``group_size``: stored weight format and its group (:mod:`accelsim.llm.quant`;
      default: the config's ``quantization_config``, else the activation precision).
    - ``tp``, ``pp``, ``ep``, ``dp``, ``micro_batches``, ``collective``: tensor, pipeline, expert and
      data parallelism (:mod:`accelsim.llm.parallel`).
    """

    attention: str = "flash"
    mixer: str = "softmax"
    window: int | None = None
    dilation: int = 1
    global_tokens: int = 0
    sinks: int = 0
    kv_cache: bool = True
    causal: bool = False
    lm_head_all_tokens: bool = False
    devices: int = 1
    ssm_state: int = 16
    kv_bits: int | None = None
    mla_absorbed: bool = True
    weights: str | None = None
    group_size: int | None = None
    tp: int = 1
    pp: int = 1
    ep: int = 1
    dp: int = 1
    micro_batches: int | None = None
    collective: str = "ring"

    def validate(self, cfg: LLMConfig) -> None:
        """Raise an :class:`AccelsimError` naming every bad option and its fix."""
        problems = []
        if self.attention not in ATTENTION_IMPLS:
            problems.append(f"attention must be one of {', '.join(ATTENTION_IMPLS)} (got {self.attention!r})")
        if self.mixer not in MIXERS:
            problems.append(f"mixer must be one of {', '.join(MIXERS)} (got {self.mixer!r})")
        for key in ("dilation", "devices", "ssm_state"):
            if getattr(self, key) < 1:
                problems.append(f"{key} must be >= 1 (got {getattr(self, key)})")
        for key in ("global_tokens", "sinks"):
            if getattr(self, key) < 0:
                problems.append(f"{key} must be >= 0 (got {getattr(self, key)})")
        if self.window is not None and self.window < 1:
            problems.append(f"window must be >= 1 (got {self.window})")
        if self.kv_bits is not None and not 1 <= self.kv_bits <= 32:
            problems.append(f"kv_bits must be 1..32 (got {self.kv_bits})")
        if self.effective_window(cfg) is None and (self.dilation > 1 or self.sinks):
            problems.append("dilation and sinks need a window: give --window (or a config with sliding_window)")
        if self.mixer != "softmax" and (self.window or self.sinks or self.global_tokens or self.dilation > 1):
            problems.append(f"window, dilation, sinks and global tokens shape softmax attention; mixer "
                            f"{self.mixer} has no attention window: remove them")
        if cfg.is_ssm and (self.mixer != "softmax" or self.window or self.sinks or self.global_tokens
                           or self.dilation > 1):
            problems.append(f"the model is a state-space model (mixer {cfg.mixer} from its config): --mixer, "
                            f"--window, --sinks, --global-tokens and --dilation do not apply; remove them")
        from .parallel import parallel_problems
        problems += parallel_problems(cfg, self)
        if self.window and cfg.max_position and self.window > cfg.max_position:
            problems.append(f"--window {self.window} is above the model's context limit "
                            f"(max_position {cfg.max_position} in {cfg.file or cfg.name}); lower it")
        if problems:
            raise AccelsimError("; ".join(problems))

    def effective_window(self, cfg: LLMConfig) -> int | None:
        return self.window if self.window is not None else cfg.sliding_window

    def describe(self, cfg: LLMConfig) -> str:
        """The options as one line for the printed conventions."""
        w = self.effective_window(cfg)
        if cfg.is_ssm:
            return f"mixer {cfg.mixer} (state-space model, from the config): no KV cache, state read and written per step"
        parts = [f"mixer {self.mixer}"]
        if self.mixer == "softmax":
            parts.append(f"attention {self.attention}")
            groups = layer_groups(cfg, self)
            if len(groups) > 1:
                parts.append(" + ".join(f"window {w} on {n} layers" if w else f"full attention on {n} layers"
                                        for n, w in groups))
            else:
                parts.append(f"window {w}" if w else "full attention")
            if self.dilation > 1:
                parts.append(f"dilation {self.dilation}")
            if self.sinks:
                parts.append(f"{self.sinks} sink tokens")
            if self.global_tokens:
                parts.append(f"{self.global_tokens} global tokens")
            parts.append("KV cache" if self.kv_cache else "no KV cache (prefix recomputed every step)")
            if cfg.is_mla:
                parts.append("MLA decode absorbed" if self.mla_absorbed else "MLA decode non-absorbed")
        elif self.mixer == "ssm":
            parts.append(f"SSM state {self.ssm_state}")
        parts.append("causal prefill (N(N+1)/2 pairs)" if self.causal else "dense prefill (N x N pairs)")
        parts.append("lm_head on all prompt tokens" if self.lm_head_all_tokens else "lm_head on the last token")
        if self.devices > 1:
            parts.append(f"ring attention over {self.devices} devices")
        return ", ".join(parts)


def _special(opts: LLMOptions) -> int:
    return opts.sinks + opts.global_tokens


_OPTS = object()


def layer_groups(cfg: LLMConfig, opts: LLMOptions) -> list[tuple[int, int | None]]:
    """``(layers, window)`` of each attention layer group: ``--window`` applies to every layer;
    else the config's ``sliding_window`` to its ``window_layers`` and full attention to the rest
    (Gemma-2/3's local and global layers). Empty for a state-space model."""
    from .counts import attention_groups
    return attention_groups(cfg, opts.window)


def attended_keys(cfg: LLMConfig, opts: LLMOptions, context, window=_OPTS) -> np.ndarray:
    """Keys one query attends at context ``t`` (array in, int64 array out).

    Full attention: ``t``. Window ``W``, dilation ``δ``, ``g`` special tokens (sinks/global):
    ``min(t, g) + min(W, ceil(max(t - g, 0) / δ))``; with ``δ = 1`` that is ``min(t, g + W)``
    (Mistral rolling window, Jiang et al. 2023 Sec. 2; Longformer Sec. 3.1; StreamingLLM Sec. 3.2).
    Linear attention and SSMs attend to no keys (their state replaces the cache).
    """
    t = np.asarray(context, dtype=np.int64)
    if opts.mixer != "softmax" or cfg.is_ssm:
        return np.zeros_like(t)
    w = opts.effective_window(cfg) if window is _OPTS else window
    if w is None:
        return t
    g = _special(opts)
    rest = np.maximum(t - g, 0)
    return np.minimum(t, g) + np.minimum(w, -(-rest // opts.dilation))


def cached_positions(cfg: LLMConfig, opts: LLMOptions, context, window=_OPTS) -> np.ndarray:
    """Positions the KV cache holds at context ``t``: ``t`` (full), ``min(t, g) + min(t - g, W * δ)``
    with a window (the window's span must stay cached; StreamingLLM keeps ``sinks + W``, constant).
    Zero without a cache or for linear attention / SSMs."""
    t = np.asarray(context, dtype=np.int64)
    if opts.mixer != "softmax" or not opts.kv_cache or cfg.is_ssm:
        return np.zeros_like(t)
    w = opts.effective_window(cfg) if window is _OPTS else window
    if w is None:
        return t
    g = _special(opts)
    return np.minimum(t, g) + np.minimum(np.maximum(t - g, 0), w * opts.dilation)


def prefill_pairs(cfg: LLMConfig, opts: LLMOptions, tokens, window=_OPTS) -> np.ndarray:
    """(query, key) pairs per sequence and head in a prefill of ``N`` tokens (array in and out).

    Causal: query ``i`` (1-based) attends ``attended_keys(i)`` keys, summed over ``i = 1..N``
    (full: ``N(N+1)/2``), by a cumulative sum over ``1..max(N)``, no loop per N. Dense (docs/llm.md):
    ``N * attended_keys(N)``, plus for Longformer's ``g`` global tokens the symmetric global rows
    ``g * (N - attended_keys(N))`` (Beltagy et al. 2020, Sec. 3.1).
    """
    n = np.asarray(tokens, dtype=np.int64)
    if opts.mixer != "softmax" or cfg.is_ssm:
        return np.zeros_like(n)
    if opts.causal:
        top = int(n.max()) if n.size else 0
        per_query = attended_keys(cfg, opts, np.arange(1, top + 1), window)
        cumulative = np.concatenate(([0], np.cumsum(per_query)))
        return cumulative[n]
    keys = attended_keys(cfg, opts, n, window)
    return n * keys + opts.global_tokens * np.maximum(n - keys, 0)


def cached_kv_bytes(cfg: LLMConfig, opts: LLMOptions, context, kv_e: float) -> np.ndarray:
    """KV-cache bytes of one sequence at context ``t`` over all layers: per layer group,
    ``layers x cached_positions x kv elements per token and layer x kv_e`` (array in and out)."""
    from .counts import kv_elements_per_token_per_layer
    t = np.asarray(context, dtype=np.int64)
    total = np.zeros(t.shape, dtype=np.float64)
    for layers, window in layer_groups(cfg, opts):
        total += layers * cached_positions(cfg, opts, t, window)
    return total * kv_elements_per_token_per_layer(cfg) * kv_e


def experts_touched(num_experts: int, experts_per_token: int, tokens) -> np.ndarray:
    """Expected distinct experts ``tokens`` tokens route to, uniform top-k routing:
    ``E * (1 - (1 - k/E)^B)`` (docs/llm.md, MoE; each token's k-subset misses a given expert with
    probability ``1 - k/E``, independently across tokens, so by linearity of expectation)."""
    b = np.asarray(tokens, dtype=np.float64)
    return num_experts * (1.0 - (1.0 - experts_per_token / num_experts) ** b)
