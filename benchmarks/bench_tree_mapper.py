"""The tree mapper (accelsim/loopnest/tree_mapper.py) on the ResNet-18 3x3 layer (C = M = 64,
56x56, pad 1, N = 1) on hw/trees/simba_like.yaml (4 storage levels, 2 spatial levels): seconds per
layer (wall, and CPU seconds of this process: steadier on a shared machine) and mappings evaluated
per second for each objective, after a warm-up that compiles the kernel; one core.

    python benchmarks/bench_tree_mapper.py [--restarts 16] [--repeats 3]
"""
from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from accelsim import spec  # noqa: E402
from accelsim.loopnest.tree_mapper import map_layer  # noqa: E402
from accelsim.spec.arch import load_arch  # noqa: E402
from accelsim.spec.workload import workload_from_dict  # noqa: E402

LAYER = workload_from_dict({"name": "resnet18_conv2", "layers": [
    {"name": "conv2_1a", "type": "conv", "C": 64, "H": 56, "W": 56, "M": 64, "R": 3, "S": 3, "padding": 1}]},
    "bench").layers[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tree = load_arch(spec.ROOT / "hw" / "trees" / "simba_like.yaml")
    table = spec.energy_table_for(tree, None)
    map_layer(tree, LAYER, table, "edp", restarts=1)          # compile
    print(f"{LAYER.name}: {LAYER.macs:,} MACs on {tree.name} ({tree.num_macs} MACs, ideal "
          f"{math.ceil(LAYER.macs / tree.num_macs):,} cycles)")
    for objective in ("cycles", "energy", "edp"):
        best = cpu = None
        for _ in range(args.repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = map_layer(tree, LAYER, table, objective, restarts=args.restarts)
            seconds, seconds_cpu = time.perf_counter() - start, time.process_time() - start_cpu
            best = seconds if best is None else min(best, seconds)
            cpu = seconds_cpu if cpu is None else min(cpu, seconds_cpu)
        print(f"{objective:>6}: {best:.3f} s ({cpu:.3f} CPU s), {result.evaluated:,} mappings evaluated "
              f"({result.evaluated / best:,.0f} / s; {result.valid:,} fit), "
              f"{'exhaustive' if result.exhaustive else 'local search'}; chosen: {result.cost.total_cycles:,} cycles, "
              f"{result.cost.total_energy_pj / 1e6:.2f} uJ, Pareto set {len(result.pareto)}; "
              f"{result.mapping.describe(tree)}")


if __name__ == "__main__":
    main()
