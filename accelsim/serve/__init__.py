"""Request-level LLM serving on top of the llm layer's per-step costs (``accelsim serve``,
docs/serving.md): request streams, a continuous-batching scheduler over a paged KV cache, latency
percentiles, throughput and goodput."""
from __future__ import annotations

from .requests import Requests, load_trace, poisson_requests
from .simulate import ServeOptions, ServeResult, expected_tokens_per_verification, simulate_serving

__all__ = ["Requests", "ServeOptions", "ServeResult", "expected_tokens_per_verification", "load_trace",
           "poisson_requests", "simulate_serving"]
