"""Transformer / LLM workloads: model configs (workloads/llm/*.yaml, HF config.json), exact counts,
and inference costing (:func:`llm_inference` with :class:`LLMOptions`; docs/llm.md).

The names below are imported on first use, so that reading a config (accelsim.llm.config, which
the spec readers use) does not import the inference engine.
"""
from __future__ import annotations

import importlib

_WHERE = {
    "config": ("LLMConfig", "llm_config_from_dict", "load_llm_config"),
    "hf": ("from_hf_config",),
    "counts": ("ParamCounts", "attention_macs_per_token", "attention_pairs", "cached_tokens", "decode_macs_per_token",
               "kv_cache_bytes", "kv_cache_bytes_per_token", "linear_macs_per_token", "lm_head_macs_per_token",
               "param_counts", "prefill_macs", "prefill_macs_per_token"),
    "infer": ("llm_inference",),
    "step": ("StepCost", "step_cost"),
    "variants": ("LLMOptions",),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
