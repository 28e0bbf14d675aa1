"""RTL co-simulation speed: a 64x64x64 int8 GEMM on a 16x16 array, bit- and cycle-exact.

Per dataflow (ws, os): wall time of :func:`accelsim.rtl.cosim.run_gemm` including the RTL build
(PyRTL netlist generation and FastSimulation code generation) and every check, first call (numba
compilation or cache load of the model included) and best of ``--repeats`` after it; then the
largest array (``--large``, default 32x32) on a GEMM that fills it once per fold.
The issue's bar: the 16x16 case in under 2 s including the RTL build.

    python benchmarks/bench_rtl.py [--repeats 3] [--large 32]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from accelsim.rtl.cosim import run_gemm

BAR_S = 2.0


def _timed(a, b, rows, cols, dataflow):
    t0 = time.perf_counter()
    res = run_gemm(a, b, rows, cols, dataflow)
    wall = time.perf_counter() - t0
    if not res.ok:
        raise SystemExit(res.summary())
    return wall, res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large", type=int, default=32, help="side of the large array (0: skip)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (64, 64))
    b = rng.integers(-128, 128, (64, 64))
    for dataflow in ("ws", "os"):
        first, res = _timed(a, b, 16, 16, dataflow)
        best = min(_timed(a, b, 16, 16, dataflow)[0] for _ in range(args.repeats))
        cps = (res.model_cycles + 1) / res.simulate_s
        verdict = "meets" if best < BAR_S else "misses"
        print(f"{dataflow}: 64x64x64 int8 on 16x16: {res.folds} folds x {res.cycles_per_fold} = "
              f"{res.model_cycles} cycles, bit- and cycle-exact; first {first:.2f} s, best {best:.2f} s "
              f"(build {res.build_s:.2f} s, {cps:,.0f} cycles/s) -> {verdict} the {BAR_S:.0f} s bar")
    if args.large:
        n = args.large
        a = rng.integers(-128, 128, (n, n))
        b = rng.integers(-128, 128, (n, n))
        for dataflow in ("ws", "os"):
            wall, res = _timed(a, b, n, n, dataflow)
            print(f"{dataflow}: {n}x{n}x{n} int8 on {n}x{n}: {res.model_cycles} cycles exact, "
                  f"{wall:.2f} s (build {res.build_s:.2f} s)")


if __name__ == "__main__":
    main()
