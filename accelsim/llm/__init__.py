"""Transformer / LLM workloads: model configs (workloads/llm/*.yaml, HF config.json), exact counts,
and inference costing (:func:`llm_inference` with :class:`LLMOptions`; docs/llm.md)."""
from __future__ import annotations

from .config import LLMConfig, llm_config_from_dict, load_llm_config
from .hf import from_hf_config
from .counts import (ParamCounts, attention_macs_per_token, attention_pairs, cached_tokens,
                     decode_macs_per_token, kv_cache_bytes, kv_cache_bytes_per_token,
                     linear_macs_per_token, lm_head_macs_per_token, param_counts, prefill_macs,
                     prefill_macs_per_token)
from .infer import llm_inference
from .variants import LLMOptions

__all__ = ["LLMConfig", "LLMOptions", "ParamCounts", "attention_macs_per_token", "attention_pairs", "cached_tokens",
           "decode_macs_per_token", "from_hf_config", "kv_cache_bytes", "kv_cache_bytes_per_token",
           "linear_macs_per_token", "llm_config_from_dict", "llm_inference", "lm_head_macs_per_token", "load_llm_config",
           "param_counts", "prefill_macs", "prefill_macs_per_token"]
