"""Prefill and decode as arrays of ops: the whole decode at once, one entry per step.

Decode contexts are ``t = prompt, prompt + 1, ..., prompt + generate - 1`` (one new token per
sequence per step; the step at context ``t`` attends to ``t`` positions, docs/llm.md). Every per-step
quantity is linear in the attended keys (or, without a KV cache, a polynomial of ``t``), and is
evaluated as a numpy array over all steps: no Python loop per step.
"""
from __future__ import annotations

import numpy as np

from ..errors import AccelsimError
from .config import LLMConfig
from .ops import Op, pass_ops
from .variants import LLMOptions, attended_keys, layer_groups, prefill_pairs


#: Tokens of one sequence, prompt and generated together (2^24 = 16,777,216: beyond every model's
#: trained context); with it, a prefill's attention pairs (< 2^48) times heads stay exact.
MAX_CONTEXT = 2**24
#: Decode steps costed one by one (each is a numpy entry of every op's arrays).
MAX_DECODE_STEPS = 2**20
#: Sequences in a batch.
MAX_BATCH = 2**20
#: Memory the decode arrays take per step, measured (llama2_7b: 1.7 GB for 10^6 steps on an ideal
#: roofline device, 6 KiB per step on a PE array, whose per-op table is wider).
DECODE_BYTES_PER_STEP = 6 * 1024


def _check(name: str, value: int, minimum: int = 1) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise AccelsimError(f"{name} must be an integer >= {minimum} (got {value!r})")


def check_sizes(prompt: int, generate: int, batch: int) -> None:
    """Refuse, before any work, a run whose decode arrays would not fit in memory or whose counts
    would not stay exact (named by the ``accelsim llm`` flags)."""
    _check("prompt", prompt)
    _check("generate", generate)
    _check("batch", batch)
    if generate > MAX_DECODE_STEPS:
        need = generate * DECODE_BYTES_PER_STEP / 2**30
        raise AccelsimError(f"--generate {generate:,}: every decode step is costed, about {DECODE_BYTES_PER_STEP // 1024} "
                            f"KiB of memory each ({need:,.0f} GiB here); at most {MAX_DECODE_STEPS:,} steps")
    if prompt + generate > MAX_CONTEXT:
        flag = "--prompt" if prompt >= MAX_CONTEXT else "--prompt + --generate"
        raise AccelsimError(f"{flag}: a context of {prompt + generate:,} tokens is too long; at most {MAX_CONTEXT:,} "
                            "tokens per sequence (prompt and generated together)")
    if batch > MAX_BATCH:
        raise AccelsimError(f"--batch {batch:,}: at most {MAX_BATCH:,} sequences")


def prefill_ops(cfg: LLMConfig, opts: LLMOptions, prompt: int, batch: int, e: float, kv_e: float) -> list[Op]:
    """Ops of a prefill of ``prompt`` tokens for ``batch`` sequences (arrays of one step).

    Attention scores ``prefill_pairs`` per head; K/V are written to the cache once and read back
    once by the attention (FlashAttention's ideal reuse: each K/V tile read once per pass); the
    lm_head runs on the last token of each sequence or on all of them (``lm_head_all_tokens``).
    """
    _check("prompt", prompt)
    _check("batch", batch)
    n = np.array([prompt])
    softmax = opts.mixer == "softmax"
    head_rows = batch * prompt / opts.devices if opts.lm_head_all_tokens else batch
    groups = [(layers, prefill_pairs(cfg, opts, n, w), n if softmax else 0 * n, n if softmax else 0 * n)
              for layers, w in layer_groups(cfg, opts)]
    return pass_ops(cfg, opts, batch, n, prefill_pairs(cfg, opts, n), n if softmax else 0 * n,
                    n if softmax else 0 * n, e, kv_e, decode=False, head_rows=head_rows, groups=groups or None)


def decode_contexts(prompt: int, generate: int) -> np.ndarray:
    """Contexts of the decode steps: ``prompt .. prompt + generate - 1``."""
    _check("prompt", prompt)
    _check("generate", generate)
    return np.arange(prompt, prompt + generate, dtype=np.int64)


def decode_ops(cfg: LLMConfig, opts: LLMOptions, prompt: int, generate: int, batch: int, e: float,
               kv_e: float) -> tuple[np.ndarray, list[Op]]:
    """Ops of every decode step at once: ``(contexts, ops)``, each op's arrays one entry per step.

    With a KV cache, step ``t`` computes one token per sequence, reads the ``attended_keys(t)``
    cached positions it attends and appends one. Without a cache (``kv_cache=False``, [pope2023])
    step ``t`` recomputes the whole prefix: a forward pass of ``t + 1`` tokens with
    ``prefill_pairs(t + 1)`` attention pairs and the lm_head on the last token, so the total over
    ``G`` steps grows quadratically (linear parts ``sum (t+1)``, attention ``sum (t+1)^2``).
    """
    _check("batch", batch)
    t = decode_contexts(prompt, generate)
    if opts.kv_cache or opts.mixer != "softmax" or cfg.is_ssm:
        keys = attended_keys(cfg, opts, t)
        groups = [(layers, attended_keys(cfg, opts, t, w), attended_keys(cfg, opts, t, w), np.ones_like(t))
                  for layers, w in layer_groups(cfg, opts)]
        return t, pass_ops(cfg, opts, batch, np.ones_like(t), keys, keys, np.ones_like(t), e, kv_e, decode=True,
                           groups=groups or None)
    n = t + 1
    groups = [(layers, prefill_pairs(cfg, opts, n, w), n, 0 * n) for layers, w in layer_groups(cfg, opts)]
    return t, pass_ops(cfg, opts, batch, n, prefill_pairs(cfg, opts, n), n, 0 * n, e, kv_e, decode=False,
                       groups=groups or None)
