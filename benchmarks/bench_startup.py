"""Start-up time of the command line, against ``python -c "import click"`` in the same environment.

Measures, as whole processes (the median of ``--repeats``): wall-clock seconds and, in brackets, the
process's CPU seconds (user + system), which a busy machine inflates much less:

* ``import click``: the floor any click program pays;
* ``accelsim --help``: target <= 0.35 s more than the floor;
* a warm one-layer ``accelsim run`` (a 3x3 conv, 64 -> 64 channels, 56x56, on edge_16x16, ws; the
  numba cache already filled by a first run): target <= 0.8 s more than the floor;
* the same layer, warm, on the simba_like tree: pinned by docs/architecture.md's worked example's
  mapping (``--mapping``), and mapped by the tree mapper; and on eyeriss under the loop-nest
  dataflow rs (the two-level mapper);
* with ``--cold``, also the first run with an empty kernel cache (``ACCELSIM_CACHE_DIR`` pointed
  at a fresh folder): what a user waits for once after installing.

    python benchmarks/bench_startup.py [--repeats 5] [--cold]

Measured on the 2-core CI machine kind shared with other jobs (CPU seconds over the floor, median
of 7; the load average beside each figure, since a busy machine inflates CPU time too):

=============================  ==============================  ===============================
                               before (2026-12-04, load 0.4)   after (load 4.6; load 0.4)
=============================  ==============================  ===============================
``accelsim --help``            +0.205 s                        +0.206 s; +0.243 s
warm one-layer ``run``         +1.060 s                        +0.486 s; +0.572 s
=============================  ==============================  ===============================

What the run saved: loading cached kernels no longer refreshes numba's typing and lowering
registries (-0.16 to -0.25 s; accelsim/kernels/jit.py) and the systolic run path no longer
imports pandas and pyarrow (-0.3 to -0.4 s at load 5; accelsim/table.py). What remains: numpy,
numba and llvmlite imports (~0.3 s), compiling numba's runtime module and loading two cached
kernels (~0.1 s), reading the YAML inputs.
Later (2026-12-05, load 1.3, medians of 7; wall [CPU] seconds, not over the floor), before -> after
loading cached kernels with numba's BLAS probe off (no scipy.linalg: accelsim/kernels/jit.py) and the
command's imports run with the garbage collector off, their objects then frozen (accelsim/cli.py):
systolic one-layer run 0.495 [0.597] -> 0.385 [0.487]; tree, pinned 0.899 [1.104] -> 0.657 [0.757];
tree mapper 1.166 [1.370] -> 0.914 [1.016] (the last also with the tree mapper's own speed-ups of
the same day). What the tree runs still paid beyond the systolic one: pandas (0.23 s of imports).
Then (2026-12-05, load 6-9, medians of 5, two interleaved sittings; CPU seconds), before -> after the
tree and loop-nest runs build accelsim.table.Tables instead of DataFrames (no pandas import; outputs
byte-identical): tree, pinned 0.697-0.747 -> 0.511-0.534; tree mapper 0.942-0.991 -> 0.752-0.780;
loop-nest (eyeriss, rs) 0.826-0.934 -> 0.581-0.584; systolic one-layer run 0.41-0.44 (unchanged).
Cold compiles per path and per kind of kernel: benchmarks/bench_compile.py.
First run with an empty cache, CPU seconds at load 4-5 (``--cold``, and ``--fidelity cycle``
or a loop-nest dataflow by hand): engine 9.6-10.2 -> 8.8 s (loop-nest helpers with several call
sites no longer numba-inlined); cycle level 20.4 -> 14.7 s; the two-level mapper 29.0 -> 22.8 s
(array copies by slice assignment made numba compile its shape-error message; literal
arguments compiled helpers once per value). A loop-nest dataflow (eyeriss, rs) also compiles the
N-level engine (accelsim/kernels/nest.py): at load 1, 35.0 -> 27.9 s in all, the N-level engine's
share 14.6 -> 8.9 s and the systolic engine 8.2 -> 7.3 s (typed, not literal, arguments at kernel
call sites: _crossing_general, _strided_window, touched, footprint and _tile_words each compiled
once instead of 2-4 times; nest.evaluate_tree a Python call of evaluate_batch).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAYER_YAML = """\
name: one_conv
batch: 1
layers:
  - name: conv
    type: conv
    C: 64
    H: 56
    W: 56
    M: 64
    R: 3
    S: 3
    stride: 1
    padding: 1
"""

ACCELSIM = [sys.executable, "-c", "import sys; from accelsim.cli import main; sys.argv[0] = 'accelsim'; main()"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd, env=None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``cmd``."""
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed, _children_cpu() - cpu


def median(runs) -> tuple[float, float]:
    runs = list(runs)
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="also time a first run with an empty kernel cache")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workload = Path(tmp) / "one_conv.yaml"
        workload.write_text(LAYER_YAML)
        runs = iter(range(10**6))

        mapping = Path(tmp) / "mapping.yaml"   # docs/architecture.md's worked example: this layer on simba_like
        text = (Path(__file__).resolve().parents[1] / "docs" / "architecture.md").read_text()
        mapping.write_text(text.split("A mapping gives each storage level", 1)[1].split("```yaml", 1)[1].split("```", 1)[0])

        def run_cmd(*how):
            how = how or ("--hw", "edge_16x16", "--dataflow", "ws")
            return ACCELSIM + ["run", *how, "--workload", str(workload), "--quiet",
                               "--out", str(Path(tmp) / f"out{next(runs)}")]
        pinned = ("--hw", "simba_like", "--mapping", str(mapping))
        mapped = ("--hw", "simba_like")
        loopnest = ("--hw", "eyeriss", "--dataflow", "rs")

        cold = None
        if args.cold:
            env = dict(os.environ, ACCELSIM_CACHE_DIR=str(Path(tmp) / "cold_cache"))
            cold = timed(run_cmd(), env)
        for how in ((), pinned, mapped, loopnest):
            timed(run_cmd(*how))  # fill the cache
        floor = median(timed([sys.executable, "-c", "import click"]) for _ in range(args.repeats))
        help_s = median(timed(ACCELSIM + ["--help"]) for _ in range(args.repeats))
        run_s = median(timed(run_cmd()) for _ in range(args.repeats))
        pinned_s = median(timed(run_cmd(*pinned)) for _ in range(args.repeats))
        mapped_s = median(timed(run_cmd(*mapped)) for _ in range(args.repeats))
        loopnest_s = median(timed(run_cmd(*loopnest)) for _ in range(args.repeats))

    def line(label, value, target=None):
        extra = "" if target is None else (f"   +{value[0] - floor[0]:.3f} s wall, +{value[1] - floor[1]:.3f} s CPU"
                                           f" (target +{target:.2f} s)")
        print(f"{label:<32} {value[0]:6.3f} s wall [{value[1]:6.3f} s CPU]{extra}")
    line("python -c 'import click'", floor)
    line("accelsim --help", help_s, 0.35)
    line("accelsim run, one layer, warm", run_s, 0.80)
    line("  tree, pinned --mapping, warm", pinned_s)
    line("  tree, tree mapper, warm", mapped_s)
    line("  loop-nest (eyeriss, rs), warm", loopnest_s)
    if cold is not None:
        line("accelsim run, one layer, cold", cold)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (medians of {args.repeats})")


if __name__ == "__main__":
    main()
