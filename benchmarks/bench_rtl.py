"""RTL co-simulation speed: cycles per second per simulator backend, and the 64^3 GEMM bar.

Part 1, the bar: a 64x64x64 int8 GEMM on a 16x16 array, bit- and cycle-exact, wall time of
:func:`accelsim.rtl.cosim.run_gemm` including the RTL build (PyRTL netlist and FastSimulation code
generation) and every check; first call and best of ``--repeats``. The bar: under 2 s.

Part 2, backends: per array side in ``--sizes`` (default 16,64; 256 is opt-in: its PyRTL netlist
alone takes minutes and ~10 GB), one weight-stationary fold streaming ``--waves`` (1024) ifmap rows
through an n x n array, simulated by each backend in ``--backends``:

* ``fast``: PyRTL FastSimulation (generated Python), the default of ``accelsim cosim``;
* ``compiled``: PyRTL CompiledSimulation (generated C, compiled by the system's C compiler);
* ``icarus``: the exported Verilog under Icarus Verilog (iverilog + vvp);
* ``verilator``: the exported Verilog compiled by Verilator.

Each line gives the build (netlist, code generation or compilation) time and the simulated cycles
per second of the simulation proper; the Verilog backends' output is compared with PyRTL's on
every cycle (a backend that disagrees is reported, not timed).

    python benchmarks/bench_rtl.py [--repeats 3] [--sizes 16,64] [--backends fast,compiled,icarus,verilator]
"""
from __future__ import annotations

import argparse
import resource
import shutil
import time

import numpy as np

from accelsim.rtl import verilog
from accelsim.rtl.array import ArrayConfig, build_array
from accelsim.rtl.cosim import _folds, _stimulus, run_gemm
from accelsim.rtl.timing import fold_cycles

BAR_S = 2.0


def _timed(a, b, rows, cols, dataflow):
    """(wall s, CPU s of this process, result): on a loaded machine the CPU time is what the run
    costs uncontended."""
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_gemm(a, b, rows, cols, dataflow)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if not res.ok:
        raise SystemExit(res.summary())
    return wall, cpu, res


def bar(repeats: int) -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (64, 64))
    b = rng.integers(-128, 128, (64, 64))
    for dataflow in ("ws", "os", "is"):
        first, first_cpu, res = _timed(a, b, 16, 16, dataflow)
        runs = [_timed(a, b, 16, 16, dataflow) for _ in range(repeats)]
        best = min(r[0] for r in runs)
        best_cpu = min(r[1] for r in runs)
        cps = (res.model_cycles + 1) / res.simulate_s
        verdict = "meets" if best < BAR_S else "misses"
        print(f"{dataflow}: 64x64x64 int8 on 16x16: {res.folds} folds x {res.cycles_per_fold} = "
              f"{res.model_cycles} cycles, bit- and cycle-exact; first {first:.2f} s ({first_cpu:.2f} s CPU), "
              f"best {best:.2f} s ({best_cpu:.2f} s CPU; build {res.build_s:.2f} s, {cps:,.0f} cycles/s) "
              f"-> {verdict} the {BAR_S:.0f} s bar")


def _cpu() -> float:
    """CPU seconds of this process and its finished children (compilers, simulators): on a
    loaded machine this is what a run costs uncontended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _pyrtl_outputs(sim, stim, cols):
    names = ["out_valid"] + [f"out_{c}" for c in range(cols)]
    out = np.zeros((len(stim), len(names)), dtype=np.int64)
    t0, c0 = time.perf_counter(), _cpu()
    for s, inputs in enumerate(stim):
        sim.step(dict(inputs))
        out[s] = [sim.inspect(name) for name in names]
    return out, time.perf_counter() - t0, _cpu() - c0, names


def backends(sizes, names, waves: int) -> None:
    rng = np.random.default_rng(1)
    for n in sizes:
        cfg = ArrayConfig(n, n, "ws")
        t0 = time.perf_counter()
        array = build_array(cfg)
        netlist_s = time.perf_counter() - t0
        a = rng.integers(-128, 128, (waves, n))
        b = rng.integers(-128, 128, (n, n))
        folds = _folds(cfg, a, b)
        stim = _stimulus(cfg, folds, fold_cycles(n, n, waves, "ws"))
        steps = len(stim)
        reference = None
        print(f"{n}x{n} WS array ({n * n:,} PEs), one fold of {waves} waves: {steps:,} cycles; "
              f"PyRTL netlist {netlist_s:.2f} s")
        for backend in names:
            t0, c0 = time.perf_counter(), _cpu()
            if backend in ("fast", "compiled"):
                sim = array.simulation(compiled=backend == "compiled")
                build_s, build_cpu = time.perf_counter() - t0, _cpu() - c0
                out, run_s, run_cpu, port_names = _pyrtl_outputs(sim, stim, n)
                if reference is None:
                    reference = dict(zip(port_names, out.T))
                agree = all(np.array_equal(reference[p], col) for p, col in zip(port_names, out.T))
            else:
                tool = "iverilog" if backend == "icarus" else "verilator"
                if shutil.which(tool) is None:
                    print(f"  {backend:9s}: {tool} not installed, skipped")
                    continue
                timings = {}
                if backend == "icarus":
                    ports = verilog.replay_icarus(array, stim)
                    run_s, run_cpu = time.perf_counter() - t0, _cpu() - c0   # iverilog + vvp, all in one
                    build_s = build_cpu = 0.0
                else:
                    ports = verilog.replay_verilator(array, stim, timings=timings)
                    build_s, run_s = timings["compile_s"], timings["run_s"]
                    # compile and run are separate processes: split the CPU time in the wall ratio
                    total_cpu = _cpu() - c0
                    build_cpu = total_cpu * build_s / (build_s + run_s)
                    run_cpu = total_cpu - build_cpu
                agree = reference is None or all(np.array_equal(reference[p], ports[p]) for p in reference)
            status = "agrees with PyRTL on every port and cycle" if agree else "DISAGREES with PyRTL"
            print(f"  {backend:9s}: build {build_s:7.2f} s ({build_cpu:6.2f} s CPU), simulate {run_s:7.2f} s "
                  f"({run_cpu:6.2f} s CPU) = {steps / run_s:10,.0f} cycles/s ({steps / max(run_cpu, 1e-9):10,.0f} "
                  f"per CPU second); {status}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="16,64", help="array sides, comma-separated (256 is opt-in)")
    parser.add_argument("--backends", default="fast,compiled,icarus,verilator")
    parser.add_argument("--waves", type=int, default=1024, help="ifmap rows streamed in the backend runs")
    parser.add_argument("--skip-bar", action="store_true")
    args = parser.parse_args()
    if not args.skip_bar:
        bar(args.repeats)
    sizes = [int(x) for x in args.sizes.split(",") if x]
    if sizes:
        backends(sizes, [x for x in args.backends.split(",") if x], args.waves)


if __name__ == "__main__":
    main()
