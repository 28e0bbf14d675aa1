"""Request-level LLM serving on top of the llm layer's per-step costs (``accelsim serve``,
docs/serving.md): request streams, a continuous-batching scheduler over a paged KV cache, latency
percentiles, throughput and goodput.

The names below are imported on first use (``accelsim --help`` imports accelsim.serve.command and
must not load the simulator)."""
from __future__ import annotations

import importlib

_WHERE = {
    "requests": ("Requests", "load_trace", "poisson_requests"),
    "simulate": ("ServeOptions", "ServeResult", "expected_tokens_per_verification", "simulate_serving"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name in _MODULE_OF:
        return getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
