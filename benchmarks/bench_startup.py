"""Start-up time of the command line, against ``python -c "import click"`` in the same environment.

Measures, as whole processes (best of ``--repeats``; wall-clock seconds):

* ``import click``: the floor any click program pays;
* ``accelsim --help``: target <= 0.35 s more than the floor;
* a warm one-layer ``accelsim run`` (a 3x3 conv, 64 -> 64 channels, 56x56, on edge_16x16, ws; the
  numba cache already filled by a first run): target <= 0.8 s more than the floor;
* with ``--cold``, also the first run with an empty kernel cache (``ACCELSIM_CACHE_DIR`` pointed
  at a fresh folder): what a user waits for once after installing.

    python benchmarks/bench_startup.py [--repeats 5] [--cold]
"""
from __future__ import annotations

import argparse
import os
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


def timed(cmd, env=None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed


def best(cmd, repeats: int, env=None) -> float:
    return min(timed(cmd, env) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="also time a first run with an empty kernel cache")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workload = Path(tmp) / "one_conv.yaml"
        workload.write_text(LAYER_YAML)
        runs = iter(range(10**6))

        def run_cmd():
            return ACCELSIM + ["run", "--hw", "edge_16x16", "--workload", str(workload), "--dataflow", "ws",
                               "--quiet", "--out", str(Path(tmp) / f"out{next(runs)}")]

        cold = None
        if args.cold:
            env = dict(os.environ, ACCELSIM_CACHE_DIR=str(Path(tmp) / "cold_cache"))
            cold = timed(run_cmd(), env)
        timed(run_cmd())  # fill the cache
        floor = best([sys.executable, "-c", "import click"], args.repeats)
        help_s = best(ACCELSIM + ["--help"], args.repeats)
        run_s = min(timed(run_cmd()) for _ in range(args.repeats))
    print(f"python -c 'import click'     {floor:6.3f} s")
    print(f"accelsim --help              {help_s:6.3f} s   (+{help_s - floor:.3f} s; target +0.35 s)")
    print(f"accelsim run, one layer, warm {run_s:6.3f} s  (+{run_s - floor:.3f} s; target +0.80 s)")
    if cold is not None:
        print(f"accelsim run, one layer, cold {cold:6.3f} s  (empty kernel cache)")


if __name__ == "__main__":
    main()
