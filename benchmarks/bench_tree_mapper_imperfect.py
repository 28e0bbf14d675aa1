"""The tree mapper's imperfect factorisations (``map_layer(..., imperfect=True)``, ``accelsim run
--imperfect``) against its perfect-only mapspace, on layers whose dims factor badly: AlexNet conv1
(E = F = 55, R = S = 11), conv2 (27 x 27, 5 x 5) and conv3 (13 x 13) on hw/trees/eyeriss.yaml
(12 x 14 PEs). Per layer and objective: the chosen mapping's cycles and energy, seconds and
mappings evaluated in each mapspace (the imperfect search includes the perfect one it starts from);
one core.

    python benchmarks/bench_tree_mapper_imperfect.py [--hw eyeriss] [--layers conv1,conv2,conv3]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from accelsim import spec  # noqa: E402
from accelsim.loopnest.tree_mapper import map_layer  # noqa: E402
from accelsim.spec.arch import load_arch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hw", default="eyeriss")
    parser.add_argument("--workload", default="alexnet")
    parser.add_argument("--layers", default="conv1,conv2,conv3")
    parser.add_argument("--objectives", default="cycles,edp")
    args = parser.parse_args()
    tree = load_arch(spec.ROOT / "hw" / "trees" / f"{args.hw}.yaml")
    table = spec.energy_table_for(tree, None)
    layers = {layer.name: layer for layer in spec.load_workload(spec.resolve("workloads", args.workload)).layers}
    first = layers[args.layers.split(",")[0]]
    map_layer(tree, first, table, "edp", restarts=1, imperfect=True)          # compile
    for name in args.layers.split(","):
        layer = layers[name]
        for objective in args.objectives.split(","):
            row = []
            for imperfect in (False, True):
                start = time.perf_counter()
                result = map_layer(tree, layer, table, objective, imperfect=imperfect)
                seconds = time.perf_counter() - start
                row.append((result.cost.total_cycles, result.cost.total_energy_pj / 1e6, seconds, result.evaluated))
            (c0, e0, s0, n0), (c1, e1, s1, n1) = row
            print(f"{args.workload} {name} (E {layer.E}, R {layer.R}, M {layer.M}, C {layer.C}) {objective:>6}: "
                  f"perfect {c0:,} cycles {e0:.2f} uJ ({s0:.2f} s, {n0:,} mappings) | imperfect {c1:,} cycles "
                  f"{e1:.2f} uJ ({s1:.2f} s, {n1:,}) | cycles {c1 / c0:.3f}x, energy {e1 / e0:.3f}x, "
                  f"EDP {c1 * e1 / (c0 * e0):.3f}x")


if __name__ == "__main__":
    main()
