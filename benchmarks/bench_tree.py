"""Throughput of the N-level engine (accelsim/kernels/nest.py): mapping evaluations per second on
an architecture tree, one core.

Draws random perfect-factorisation mappings of the ResNet-18 3x3 layer (C = M = 64, 56x56, pad 1)
onto hw/trees/simba_like.yaml (4 storage levels, 2 spatial levels) and onto the eyeriss and tpu_v1
presets as trees (hw/trees/: DRAM, global buffer, PE array, register files), and times the batched
kernel after compilation. Counts only (no capacity filter), as a mapper's inner loop sees them;
rows in a fixed layout per level (trip-1 placeholders), as accelsim/loopnest/tree_mapper.py batches
them; the first 100 are checked against each mapping's own rows. Prints the load average and both
wall-clock and CPU-time rates: on a shared machine the CPU-time rate is the one-core figure.

Measured 2026-12-04 on the 2-core development machine under load average 4.8 (other jobs), per CPU
second, 100,000 mappings, best of 3, the same sitting for both (the engine with imperfect
factorisations, dilation and groups in its general path):

    tree          before (main d4b0b1a)   after
    simba_like          146,000          1,050,000
    eyeriss             179,000          1,190,000
    tpu_v1              177,000          1,200,000

    python benchmarks/bench_tree.py [--mappings 200000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import random
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from accelsim import spec  # noqa: E402
from accelsim.kernels import nest  # noqa: E402
from accelsim.loopnest.mapper import problem_array  # noqa: E402
from accelsim.loopnest.tree import DIM_INDEX, TreeMapping, _arrays  # noqa: E402
from accelsim.spec.arch import load_arch  # noqa: E402
from accelsim.spec.workload import workload_from_dict  # noqa: E402

LAYER = workload_from_dict({"name": "resnet18_conv2", "layers": [
    {"name": "conv2_1a", "type": "conv", "C": 64, "H": 56, "W": 56, "M": 64, "R": 3, "S": 3, "padding": 1}]},
    "bench").layers[0]


def random_mapping(tree, problem, rng) -> TreeMapping:
    """Each dim's prime factors dealt to random storage levels (spatial: M and C only, within the
    fan-outs and where the level may unroll them), one loop per dimension and level (the factors a
    level got multiplied, as the mapper's candidates have them), in random order per level."""
    storage = [lv.name for lv in tree.levels if lv.kind == "storage"]
    spatial = [lv for lv in tree.levels if lv.kind == "spatial"]
    temporal = {name: {} for name in storage}
    room = {lv.name: [lv.fanout_x, lv.fanout_y] for lv in spatial}
    unroll = {lv.name: ({}, {}) for lv in spatial}
    for k, dim in enumerate("NMCEFRS"):
        n = int(problem[k])
        for p in (2, 3, 5, 7):
            while n % p == 0:
                n //= p
                placed = False
                if dim in "MC" and spatial and rng.random() < 0.5:
                    lv = rng.choice(spatial)
                    axis = rng.randrange(2)
                    if room[lv.name][axis] % p == 0 and dim in (lv.unroll_x, lv.unroll_y)[axis]:
                        room[lv.name][axis] //= p
                        unroll[lv.name][axis][dim] = unroll[lv.name][axis].get(dim, 1) * p
                        placed = True
                if not placed:
                    level = temporal[rng.choice(storage)]
                    level[dim] = level.get(dim, 1) * p
        if n > 1:
            level = temporal[rng.choice(storage)]
            level[dim] = level.get(dim, 1) * n
    loops = {name: list(trips.items()) for name, trips in temporal.items()}
    for level in loops.values():
        rng.shuffle(level)
    return TreeMapping(temporal=tuple((name, tuple(level)) for name, level in loops.items()),
                       spatial=tuple((name, tuple(x.items()), tuple(y.items())) for name, (x, y) in unroll.items()))


def fixed_rows(tree, mapping: TreeMapping):
    """The mapping's rows in a fixed layout, every storage level 7 rows (its loops, then trip-1
    placeholders) and every spatial level 14 (X, then Y), so every mapping of the batch has the same
    cuts (the batched kernel takes one ``levels`` array)."""
    rows = []
    for index, lv in enumerate(tree.levels):
        if lv.kind == "storage":
            loops = [(DIM_INDEX[d], t) for d, t in mapping.loops_of(lv.name)]
            rows += [(d, t, 0, index) for d, t in loops] + [(0, 1, 0, index)] * (7 - len(loops))
        elif lv.kind == "spatial":
            for axis in mapping.unrolling_of(lv.name):
                pairs = [(DIM_INDEX[d], f) for d, f in axis]
                rows += [(d, f, 1, index) for d, f in pairs] + [(0, 1, 1, index)] * (7 - len(pairs))
    return np.array(rows, dtype=np.int64)


def bench(tree, mappings: int, repeats: int, seed: int = 0) -> tuple[float, float]:
    """(evaluations per wall-clock second, per CPU second of this process), best of ``repeats``."""
    problem = problem_array(LAYER)
    rng = random.Random(seed)
    drawn = [random_mapping(tree, problem, rng) for _ in range(min(mappings, 5000))]
    distinct = [fixed_rows(tree, mapping) for mapping in drawn]
    width = len(distinct[0])
    rows = np.stack([distinct[b % len(distinct)] for b in range(mappings)])
    n_rows = np.full(mappings, width, dtype=np.int64)
    levels = _arrays(tree, TreeMapping())[2]
    counts = np.zeros((mappings, len(tree.levels), 3, nest.COUNT_COLS), dtype=np.int64)
    macs = np.zeros(mappings, dtype=np.int64)
    start = time.perf_counter()
    nest.evaluate_batch(problem, rows[:1], n_rows[:1], levels, len(tree.levels), counts[:1], macs[:1])
    print(f"  first call (compile or cache load): {time.perf_counter() - start:.2f} s")
    wall = cpu = float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        nest.evaluate_batch(problem, rows, n_rows, levels, len(tree.levels), counts, macs)
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    # the padded layout counts as each mapping's own rows do
    for b in range(100):
        own, n, own_levels = _arrays(tree, drawn[b])
        alone = np.zeros_like(counts[b])
        nest.evaluate_tree(problem, own, n, own_levels, len(tree.levels), alone)
        assert (alone == counts[b]).all()
    return mappings / wall, mappings / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mappings", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for label, name in (("simba_like (4 storage + 2 spatial levels)", "simba_like"),
                        ("eyeriss preset as a tree (3 storage + 1 spatial)", "eyeriss"),
                        ("tpu_v1 preset as a tree (3 storage + 1 systolic)", "tpu_v1")):
        print(f"{label}:")
        wall, cpu = bench(load_arch(spec.ROOT / "hw" / "trees" / f"{name}.yaml"), args.mappings, args.repeats)
        print(f"  best of {args.repeats}: {wall:,.0f} mapping evaluations/s wall clock, {cpu:,.0f} per CPU second "
              f"on one core ({1e9 / cpu:,.0f} ns each)")


if __name__ == "__main__":
    main()
