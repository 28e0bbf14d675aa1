"""Speed of the HF import, of multi-device LLM costing and of the per-step cost API.

Times: importing every config of tests/data/hf_configs/; ``llm_inference`` of Llama-3.1-70B at
tensor parallel 8 for ``--generate`` decode steps; ``step_cost`` for ``--contexts`` decode contexts
in one call against a sample of one-context calls (the loop a serving simulator would otherwise run).

    python benchmarks/bench_llm_parallel.py [--generate 4096] [--contexts 8192] [--loop 100]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from accelsim import spec
from accelsim.llm import LLMOptions, from_hf_config, llm_inference, step_cost

CONFIGS = Path(__file__).resolve().parents[1] / "tests" / "data" / "hf_configs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generate", type=int, default=4096)
    parser.add_argument("--contexts", type=int, default=8192)
    parser.add_argument("--loop", type=int, default=100, help="contexts timed one call each")
    args = parser.parse_args()
    device = spec.load("hw", "ideal_h100")
    paths = sorted(CONFIGS.glob("*.json"))
    start = time.perf_counter()
    configs = [from_hf_config(p) for p in paths]
    imported = time.perf_counter() - start
    model = configs[[p.name for p in paths].index("llama3.1_70b.json")]
    opts = LLMOptions(tp=8)
    llm_inference(model, device, 2048, 2, 8, opts)                       # warm imports
    start = time.perf_counter()
    summary, _ = llm_inference(model, device, 2048, args.generate, 8, opts)
    whole = time.perf_counter() - start
    contexts = np.arange(1, args.contexts + 1)
    step_cost(model, device, "decode", 8, contexts[:4], opts)
    start = time.perf_counter()
    vector = step_cost(model, device, "decode", 8, contexts, opts)
    batched = time.perf_counter() - start
    start = time.perf_counter()
    looped = [step_cost(model, device, "decode", 8, int(t), opts).seconds[0] for t in contexts[:args.loop]]
    per_call = (time.perf_counter() - start) / args.loop
    assert np.allclose(looped, vector.seconds[:args.loop], rtol=1e-12)
    print(f"HF import: {len(paths)} configs in {imported * 1e3:.1f} ms ({imported / len(paths) * 1e3:.2f} ms each)")
    print(f"Llama-3.1-70B, TP 8, batch 8, prompt 2048, {args.generate} decode steps on ideal_h100: {whole:.3f} s "
          f"({args.generate / whole:,.0f} steps/s); TPOT {summary['tpot_s'] * 1e3:.3f} ms, "
          f"collectives {summary['decode_collective_s_per_step'] * 1e3:.3f} ms per step")
    print(f"step_cost: {args.contexts} contexts in one call {batched:.3f} s; one call per context "
          f"{per_call * 1e3:.2f} ms -> {per_call * args.contexts:.1f} s ({per_call * args.contexts / batched:,.0f}x)")


if __name__ == "__main__":
    main()
