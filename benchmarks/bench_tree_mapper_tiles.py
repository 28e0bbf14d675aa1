"""The tree mapper with and without its search of per-operand tile boundaries (``--operand-tiles``,
accelsim/loopnest/tree_tiles.py): cycles, energy, EDP ratio and CPU seconds per layer and objective.

Usage::

    python benchmarks/bench_tree_mapper_tiles.py [--hw simba_like eyeriss] [--objective energy edp]

Layers: ResNet-18's 3x3 (C = M = 64, 56 x 56) and a 1x1 (C 128, M 256, 28 x 28) layer.
"""
from __future__ import annotations

import argparse
import time

from accelsim import spec
from accelsim.loopnest.tree_mapper import map_layer
from accelsim.spec.arch import load_arch
from accelsim.spec.workload import workload_from_dict

LAYERS = [{"name": "res3x3", "type": "conv", "C": 64, "M": 64, "H": 56, "W": 56, "R": 3, "S": 3, "padding": 1},
          {"name": "res1x1", "type": "conv", "C": 128, "M": 256, "H": 28, "W": 28, "R": 1, "S": 1}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hw", nargs="*", default=["simba_like", "eyeriss"])
    parser.add_argument("--objective", nargs="*", default=["energy", "edp"])
    args = parser.parse_args()
    layers = workload_from_dict({"name": "w", "layers": LAYERS}, "w.yaml").layers
    for name in args.hw:
        tree = load_arch(f"hw/trees/{name}.yaml")
        table = spec.energy_table_for(tree, None)
        map_layer(tree, layers[0], table, "edp")        # kernels loaded before timing
        for layer in layers:
            for objective in args.objective:
                start = time.process_time()
                shared = map_layer(tree, layer, table, objective)
                middle = time.process_time()
                tiled = map_layer(tree, layer, table, objective, operand_tiles=True)
                end = time.process_time()
                a, b = shared.cost, tiled.cost
                edp = (b.total_cycles * b.total_energy_pj) / (a.total_cycles * a.total_energy_pj)
                print(f"{name:11s} {layer.name:7s} {objective:6s} cycles {a.total_cycles:,} -> {b.total_cycles:,}, "
                      f"uJ {a.total_energy_pj / 1e6:.2f} -> {b.total_energy_pj / 1e6:.2f}, EDP {edp:.4f}x; "
                      f"CPU s {middle - start:.2f} -> {end - middle:.2f}; tiles {dict(tiled.mapping.tiles) or '-'}",
                      flush=True)


if __name__ == "__main__":
    main()
