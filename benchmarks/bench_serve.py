"""Speed of accelsim serve: 10,000 requests of Llama-3-8B on one device (the bar: <= 5 s).

Devices: the ideal H100 (exact attention costs) and the calibrated H200, alone and two at ``--tp 2``
(its kernels tabulated per (batch, context) bucket, most of the time spent building the tables).

Times :func:`accelsim.serve.simulate_serving` (step-cost tables, the scheduler kernel and the
result tables) after one warm-up run (numba compiles the kernel once per install; that cold
time is printed separately), for a Poisson load that keeps the batch busy and one that fills the
KV cache (preemptions), and prints seconds, steps and steps per second. The sitting's baseline
is the naive pure-Python simulation of tests/naive_serve.py on the first ``--naive`` requests.

    python benchmarks/bench_serve.py [--requests 10000] [--naive 300]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=300, help="requests run through the naive oracle (0: skip)")
    args = parser.parse_args()
    from accelsim.llm import LLMOptions
    from accelsim.serve import ServeOptions, poisson_requests, simulate_serving

    start = time.perf_counter()
    simulate_serving("llama3_8b", "ideal_h100", poisson_requests(20, 10.0, 64, 8), ServeOptions(memory_gib=80))
    print(f"cold start (imports, numba compile or cache load, tables): {time.perf_counter() - start:.2f} s")
    loads = {
        "busy (Poisson 20 req/s, prompt 512 +-50%, output 128 +-50%, 80 GiB)":
            (poisson_requests(args.requests, 20.0, 512, 128, 0.5, seed=1), ServeOptions(memory_gib=80)),
        "KV-bound (Poisson 5 req/s, prompt 1024, output 512 +-50%, 4 GiB of KV cache, recompute)":
            (poisson_requests(args.requests, 5.0, 1024, 512, 0.5, seed=2), ServeOptions(kv_capacity_gib=4)),
    }
    loads["same busy load on the calibrated H200 (hw/h200.yaml: kernels costed one by one, bucketed attention)"] = (
        loads[next(iter(loads))][0], ServeOptions(memory_gib=80), "h200")
    loads["same busy load on two H200s (--tp 2: each step's all-reduces as NCCL kernels over NVLink)"] = (
        loads[next(iter(loads))][0], ServeOptions(memory_gib=80), "h200", LLMOptions(causal=True, tp=2))
    for name, (reqs, options, *hw) in loads.items():
        start = time.perf_counter()
        result = simulate_serving("llama3_8b", hw[0] if hw else "ideal_h100", reqs, options,
                                  llm_options=hw[1] if len(hw) > 1 else None)
        seconds = time.perf_counter() - start
        s = result.summary
        print(f"{name}: {len(reqs):,} requests, {s['steps']:,} steps, {s['preemptions']:,} preemptions, "
              f"simulated {s['duration_s']:.1f} s of serving in {seconds:.3f} s ({s['steps'] / seconds:,.0f} steps/s); "
              f"TTFT p99 {s['ttft_s']['p99'] * 1e3:.1f} ms, TPOT p99 {s['tpot_s']['p99'] * 1e3:.2f} ms")
    if args.naive:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        import naive_serve
        from accelsim import spec
        from accelsim.llm.lower import resolve_llm_config
        reqs, options = loads[next(iter(loads))][:2]
        rows = list(zip(reqs.arrival_s[:args.naive], reqs.prompt_tokens[:args.naive], reqs.output_tokens[:args.naive]))
        sub = poisson_requests(args.naive, 20.0, 512, 128, 0.5, seed=1)
        start = time.perf_counter()
        fast = simulate_serving("llama3_8b", "ideal_h100", sub, options)
        fast_s = time.perf_counter() - start
        device = spec.load("hw", "ideal_h100")
        start = time.perf_counter()
        _, steps = naive_serve.simulate(rows, resolve_llm_config("llama3_8b"), LLMOptions(causal=True), device, 2.0,
                                        2.0, 16, fast.summary["kv_blocks"], 2048, 256)
        naive_s = time.perf_counter() - start
        print(f"baseline: {args.naive} requests ({len(steps):,} steps) in {naive_s:.2f} s naive (one llm pass_ops "
              f"per step) vs {fast_s:.3f} s: {naive_s / fast_s:,.0f}x")


if __name__ == "__main__":
    main()
