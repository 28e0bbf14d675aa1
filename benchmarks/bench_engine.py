"""Throughput of the analytical engine: (layer, hardware, dataflow) evaluations per second.

Builds a batch from every built-in workload layer x systolic hw preset x systolic dataflow, repeated to ``--points``
rows, times the numba kernel after compilation on one core, and prints evaluations per second.
The bar: >= 1,000,000 per second. Reference points: ZigZag ~3.5 ms per mapping evaluation,
SCALE-Sim seconds to minutes per layer (docs/scalesim.md).

    python benchmarks/bench_engine.py [--points 2000000] [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from accelsim import model, spec  # noqa: E402


def build_batch(points: int) -> model.Batch:
    layers, hws, bws, dfs = [], [], [], []
    for hw_name in spec.builtin_names("hw"):
        hw = spec.load("hw", hw_name)
        if hw.interconnect != "systolic":
            continue
        for wl_name in spec.builtin_names("workloads"):
            for layer in spec.load("workloads", wl_name).layers:
                for df_name in spec.builtin_names("dataflows"):
                    df = spec.load("dataflows", df_name)
                    if df.engine != "systolic":
                        continue
                    if not layer.is_mac:  # non-MAC layers run on the vector unit, not this kernel
                        continue
                    layers.append(model.layer_row(layer))
                    hws.append(model.hw_row(hw, hw.timing))
                    bws.append(hw.dram_bandwidth_bytes_per_cycle)
                    dfs.append(df.axis_codes)
    base = len(layers)
    reps = -(-points // base)
    take = lambda rows, dtype: np.tile(np.array(rows, dtype=dtype), (reps, 1) if np.ndim(rows) > 1 else reps)[:points]
    return model.Batch(take(layers, np.int64), take(hws, np.int64), take(bws, np.float64), take(dfs, np.int64)), base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    batch, distinct = build_batch(args.points)
    t0 = time.perf_counter()
    model.evaluate_batch(model.Batch(batch.layers[:1], batch.hws[:1], batch.bandwidths[:1], batch.dataflows[:1]))
    compile_s = time.perf_counter() - t0
    best = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        model.evaluate_batch(batch)
        best = min(best, time.perf_counter() - t0)
    n = batch.layers.shape[0]
    rate = n / best
    print(f"points: {n:,} ({distinct} distinct layer x hw x dataflow combinations, repeated)")
    print(f"first call (compile or cache load): {compile_s:.2f} s")
    print(f"best of {args.repeats}: {best * 1e3:.1f} ms -> {rate:,.0f} evaluations/s on one core "
          f"({1e9 / rate:.0f} ns per evaluation)")
    print(f"vs ZigZag's ~3.5 ms per mapping evaluation: {3.5e-3 * rate:,.0f}x")


if __name__ == "__main__":
    main()
