"""Mapper speed: a ResNet-18 3x3 layer (N=1, C=M=64, H=W=56, R=S=3, stride 1, padding 1) on Eyeriss
(hw/eyeriss.yaml, its energy table) under each loop-nest dataflow preset.

Per dataflow: the first call (numba compilation or cache load included), then the best of
``--repeats`` calls after it; the mapspace size (factorisations within the array x 36 loop
orders), how many of its mappings the search settled (capacity check or cost; the rest the bounds
ruled out), how many were valid and costed, the cost evaluations actually run (one per loop-order
class), mappings settled per second, and the best mapping with its cycles and pJ/MAC.
The issue's bar: the rs layer mapped optimally in under 0.1 s after compilation; ZigZag takes about
2.5 s for its 720 mappings of this layer.

    python benchmarks/bench_mapper.py [--repeats 5] [--objective edp]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from accelsim import spec  # noqa: E402
from accelsim.kernels import loopnest as ln  # noqa: E402
from accelsim.loopnest import mapper  # noqa: E402
from accelsim.spec.workload import Layer  # noqa: E402

LAYER = Layer(name="resnet18_conv2_3x3", kind="conv", N=1, C=64, H=56, W=56, M=64, R=3, S=3,
              stride_h=1, stride_w=1, pad_h=1, pad_w=1)
DATAFLOWS = ("rs", "nlr", "ws_multicast", "os_multicast")
BAR_S = 0.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--objective", choices=tuple(mapper.OBJECTIVES), default="edp")
    args = parser.parse_args()
    hw = spec.load("hw", "eyeriss")
    table = spec.energy_table_for(hw)
    print(f"{LAYER.name} ({LAYER.macs:,} MACs) on {hw.name} ({hw.array_rows}x{hw.array_cols}), "
          f"energy table {table.name}, objective {args.objective}")
    for name in DATAFLOWS:
        dataflow = spec.load("dataflows", name)
        t0 = time.perf_counter()
        mapper.search(LAYER, hw, dataflow, table, objective=args.objective)
        first = time.perf_counter() - t0
        best_s, result = float("inf"), None
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            result = mapper.search(LAYER, hw, dataflow, table, objective=args.objective)
            best_s = min(best_s, time.perf_counter() - t0)
        out = result.best_outputs
        print(f"\n{name}: {best_s * 1e3:.1f} ms (best of {args.repeats}; first call {first:.2f} s), "
              f"{'under' if best_s < BAR_S else 'OVER'} the {BAR_S} s bar, complete={result.complete}")
        print(f"  mapspace {result.mapspace_size:,} mappings; settled {result.evaluated:,} "
              f"({result.evaluated / best_s:,.0f}/s), valid and costed {result.valid:,} in "
              f"{result.costed:,} cost evaluations; inner choices {result.inner_choices:,}, "
              f"{result.skipped_choices:,} skipped by the bounds; Pareto points {len(result.pareto)}")
        print(f"  best: {result.best.describe()}")
        print(f"  {out[ln.X_COMPUTE]:,} cycles, {result.best_energy_pj / out[ln.X_MACS]:.3f} pJ/MAC, "
              f"utilisation {out[ln.X_MACS] / (out[ln.X_COMPUTE] * hw.num_pes):.3f}")


if __name__ == "__main__":
    main()
