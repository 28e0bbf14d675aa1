"""Speed of the LLM inference model: a whole decode costed at once vs one call per step.

Times ``llm_inference`` on an ideal-roofline device for ``--generate`` decode steps in one call
(all steps as numpy arrays) and, for a sample of ``--loop`` steps, one call per step (the
Python loop the vectorised form replaces), and prints seconds, steps per second and the ratio.
Also times one PE-array run (tpu_v1) for scale.

    python benchmarks/bench_llm.py [--model llama2_7b] [--generate 32768] [--loop 200]
"""
from __future__ import annotations

import argparse
import time

from accelsim.llm.infer import llm_inference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="llama2_7b")
    parser.add_argument("--prompt", type=int, default=2048)
    parser.add_argument("--generate", type=int, default=32768)
    parser.add_argument("--loop", type=int, default=200, help="steps timed one call each")
    args = parser.parse_args()
    llm_inference(args.model, "ideal_a100", args.prompt, 2)          # warm caches and imports
    start = time.perf_counter()
    summary, _ = llm_inference(args.model, "ideal_a100", args.prompt, args.generate)
    whole = time.perf_counter() - start
    start = time.perf_counter()
    looped = sum(llm_inference(args.model, "ideal_a100", t, 1)[0]["tpot_s"]
                 for t in range(args.prompt, args.prompt + args.loop))
    per_step = (time.perf_counter() - start) / args.loop
    start = time.perf_counter()
    llm_inference(args.model, "tpu_v1", args.prompt, args.generate)
    array = time.perf_counter() - start
    print(f"{args.model}, prompt {args.prompt}, {args.generate} decode steps on ideal_a100")
    print(f"  vectorised: {whole:.3f} s for all steps ({args.generate / whole:,.0f} steps/s); "
          f"TPOT {summary['tpot_s'] * 1e3:.3f} ms")
    print(f"  one call per step: {per_step * 1e3:.2f} ms per step -> {per_step * args.generate:.1f} s for all "
          f"steps; the vectorised form is {per_step * args.generate / whole:,.0f}x faster")
    print(f"  check: first {args.loop} steps sum {looped:.6f} s")
    print(f"  PE array (tpu_v1, decode simulated at the mean context): {array:.3f} s")


if __name__ == "__main__":
    main()
