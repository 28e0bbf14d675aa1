"""Cost of counting a GPU run's kernels on the device's tree (accelsim/gpu/tree.py): CPU seconds of
``tree_run`` (each MAC layer's kernel configuration mapped on hw/h200.yaml's levels and counted by the
N-level engine) against ``layer_costs`` (the kernel model's timing alone), per zoo workload, in one
process after a warm-up (kernels loaded from the numba cache). Prints the load average.

Measured 2026-12-05 on the 2-core development machine (load average ~6, other jobs), best of 3:
the 14 zoo workloads' 468 MAC layers take 0.57 CPU s to count (1.2 ms a layer; ResNet-50's 54
layers 0.06 s) beside 0.04 CPU s of kernel-model timing. A first run also compiles the tree engine
(the "tree engine" notice; ~12 CPU s once per install): `accelsim run --hw h200 --workload resnet50`
went from 0.50 to 12.5 CPU s cold and from 0.50 to 0.78 CPU s warm.

    python benchmarks/bench_gpu_tree.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import time

from accelsim import spec
from accelsim.gpu.layers import layer_costs
from accelsim.gpu.tree import tree_run


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    dev = spec.load("hw", "h200")
    workloads = [spec.load("workloads", name) for name in spec.builtin_names("workloads")]
    tree_run(dev, workloads[0])                      # warm-up: the engine's kernels load
    total_tree = total_model = 0.0
    layers = 0
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'workload':<20} {'MAC layers':>10} {'tree CPU s':>11} {'model CPU s':>12}")
    for workload in workloads:
        count = sum(1 for layer in workload.layers if layer.unit == "array")
        tree_s = _best(lambda: tree_run(dev, workload), args.repeats)
        model_s = _best(lambda: layer_costs(dev, workload), args.repeats)
        total_tree, total_model, layers = total_tree + tree_s, total_model + model_s, layers + count
        print(f"{workload.name:<20} {count:>10} {tree_s:>11.3f} {model_s:>12.3f}")
    print(f"{'all':<20} {layers:>10} {total_tree:>11.3f} {total_model:>12.3f}  "
          f"({1e3 * total_tree / max(layers, 1):.2f} ms a layer on the tree)")


if __name__ == "__main__":
    main()
