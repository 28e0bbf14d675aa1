"""Loop-nest mapper over whole zoo workloads: wall time per layer and per workload, the cost
evaluations it runs, and (``--dump`` / ``--compare``) its chosen and Pareto mappings, so that two
versions of the mapper can be shown to choose the same mappings.

Every MAC layer of each workload on a multicast preset (default hw/eyeriss.yaml, at the layer's
precision as ``accelsim run`` maps it) under each loop-nest dataflow, searched to completion (no
time limit). After one untimed warm-up layer (numba compilation or cache load), per (workload,
dataflow): layers, total mapper seconds, the slowest layer, mappings settled, cost evaluations
(loop-order classes costed) and Pareto points. ``--dump FILE`` writes every layer's chosen mapping
(its loop nest, every OUTPUTS column, energy) and Pareto set as JSON; ``--compare FILE`` checks the
current mapper against such a file and prints each difference (nothing printed: identical).

    python benchmarks/bench_mapper_zoo.py [--workloads resnet18,vgg16] [--dataflows rs,nlr]
        [--hw eyeriss] [--objective edp] [--dump before.json | --compare before.json]
"""
from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from accelsim import spec  # noqa: E402
from accelsim.encoding import at_precision, layer_precision  # noqa: E402
from accelsim.kernels import loopnest as ln  # noqa: E402
from accelsim.loopnest import mapper  # noqa: E402

WORKLOADS = ("alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v1", "mobilenet_v2", "squeezenet1_0",
             "googlenet")
DATAFLOWS = ("rs", "nlr", "ws_multicast")


def point(mapping, out, energy_pj) -> dict:
    return {"mapping": mapping.describe(), "outputs": dict(zip(ln.OUTPUTS, map(int, out))), "energy_pj": energy_pj}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--dataflows", default=",".join(DATAFLOWS))
    parser.add_argument("--hw", default="eyeriss")
    parser.add_argument("--objective", choices=tuple(mapper.OBJECTIVES), default="edp")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--dump", help="write the chosen and Pareto mappings to this JSON file")
    group.add_argument("--compare", help="compare the chosen and Pareto mappings with this JSON file")
    args = parser.parse_args()
    hw = spec.load("hw", args.hw)
    table = spec.energy_table_for(hw)
    workloads = [spec.load("workloads", name) for name in args.workloads.split(",")]
    dataflows = [spec.load("dataflows", name) for name in args.dataflows.split(",")]
    first = next(layer for layer in workloads[0].layers if layer.is_mac)
    t0 = time.perf_counter()
    mapper.search(first, at_precision(hw, layer_precision(first, hw)), dataflows[0], table, objective=args.objective)
    print(f"warm-up (compile or cache load): {time.perf_counter() - t0:.2f} s; hw {hw.name}, "
          f"objective {args.objective}")
    reference = json.load(open(args.compare)) if args.compare else None
    dump, differences, compared = {}, 0, 0
    grand = 0.0
    for workload in workloads:
        for dataflow in dataflows:
            seconds, slowest, settled, costed, points = 0.0, (0.0, ""), 0, 0, 0
            for layer in [layer for layer in workload.layers if layer.is_mac]:
                hw_layer = at_precision(hw, layer_precision(layer, hw))
                t0 = time.perf_counter()
                result = mapper.search(layer, hw_layer, dataflow, table, objective=args.objective)
                took = time.perf_counter() - t0
                seconds += took
                slowest = max(slowest, (took, layer.name))
                settled += result.evaluated
                costed += result.costed
                points += len(result.pareto)
                key = f"{workload.name}/{dataflow.name}/{layer.name}"
                got = {"best": point(result.best, result.best_outputs, result.best_energy_pj),
                       "pareto": [point(*p) for p in result.pareto]}
                dump[key] = got
                if reference is not None:
                    compared += 1 + len(got["pareto"])
                    if reference.get(key) != got:
                        differences += 1
                        print(f"  DIFFERENT {key}:\n    was {reference.get(key)}\n    now {got}")
            grand += seconds
            print(f"{workload.name:14s} {dataflow.name:13s} {len(workload.layers):3d} layers "
                  f"{seconds:7.3f} s (slowest {slowest[1]} {slowest[0] * 1e3:.1f} ms); settled {settled:,}, "
                  f"cost evaluations {costed:,}, Pareto points {points}")
    print(f"total mapper time {grand:.2f} s")
    if args.dump:
        with open(args.dump, "w") as f:
            json.dump(dump, f, indent=0, sort_keys=True)
    if reference is not None:
        print(f"compared {len(dump)} layer runs ({compared} mappings): {differences} differ")


if __name__ == "__main__":
    main()
