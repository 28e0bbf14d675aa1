"""The tree mapper's local search against its exhaustive search where both run: the small trees of
tests/test_tree_mapper.py (CASES) for each objective, the exhaustive optimum (exhaustive_limit
default) vs the local search forced (exhaustive_limit=0): per (case, objective) the ratio of the
objective (cycles, energy or cycles x energy) and the mappings each evaluated. ``--imperfect``: the
imperfect mapspace (map_layer's ``imperfect``) on both sides, over CASES and IMPERFECT.

    python benchmarks/bench_tree_mapper_quality.py [--restarts 16] [--kicks 2] [--seeds 1] [--imperfect]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from accelsim.loopnest.tree_mapper import map_layer  # noqa: E402
from test_tree_mapper import CASES, IMPERFECT, TABLE  # noqa: E402


def value(result, objective: str) -> float:
    cycles, energy = result.cost.total_cycles, result.cost.total_energy_pj
    return {"cycles": cycles, "energy": energy, "edp": cycles * energy}[objective]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=16)
    parser.add_argument("--kicks", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=1, help="repeat the local search with seeds 0..N-1")
    parser.add_argument("--imperfect", action="store_true", help="the imperfect mapspace, on CASES and IMPERFECT")
    args = parser.parse_args()
    cases = CASES + IMPERFECT if args.imperfect else CASES
    map_layer(*CASES[0], TABLE, "edp", exhaustive_limit=0, restarts=1)     # compile
    hits, worst, seconds = 0, 1.0, 0.0
    for case, (tree, layer) in enumerate(cases):
        for objective in ("cycles", "energy", "edp"):
            exact = map_layer(tree, layer, TABLE, objective, imperfect=args.imperfect)
            for seed in range(args.seeds):
                start = time.perf_counter()
                local = map_layer(tree, layer, TABLE, objective, exhaustive_limit=0, restarts=args.restarts,
                                  kicks=args.kicks, seed=seed, imperfect=args.imperfect)
                seconds += time.perf_counter() - start
                ratio = value(local, objective) / value(exact, objective)
                hits += ratio <= 1 + 1e-12
                worst = max(worst, ratio)
                print(f"case {case} {objective:>6} seed {seed}: local / exhaustive {ratio:.4f} "
                      f"({local.evaluated:,} vs {exact.evaluated:,} mappings)")
    runs = 3 * len(cases) * args.seeds
    print(f"optimum reached in {hits} of {runs}; worst ratio {worst:.4f}; local search {seconds:.2f} s in all")


if __name__ == "__main__":
    main()
