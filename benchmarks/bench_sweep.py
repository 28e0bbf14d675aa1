"""Sweep scale: points per second and peak memory of a ~10^6-point analytical sweep, and the wall
time of `accelsim sweep` for ResNet-50 x {ws, os, is} x 8 array sizes, start-up included.

    python benchmarks/bench_sweep.py [--points-only | --resnet-only] [--workers N]

Both run the CLI as a subprocess from the repository root (so this checkout's accelsim is used)
and print what they measure. Memory is sampled every 50 ms (psutil) over the sweep process and
its workers: the summed PSS (proportional set size: pages shared between processes counted once,
the tree's real footprint) and the summed RSS (an upper bound); plus the largest single process's
peak (getrusage). Bars: under 1 GiB for 10^6 points; ResNet-50 under 2 s wall on 2 cores.
The ResNet-50 run is timed cold (a fresh numba cache directory: every kernel compiles) and warm
(the cache that run filled: what every later run, and a user after the first, sees).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
ARRAYS_8 = "8x8,16x16,32x32,48x48,64x64,96x96,128x128,256x256"


def run(cmd: list[str], env: dict | None = None) -> tuple[float, int, int, str]:
    """Wall seconds, peak summed RSS and peak summed PSS (proportional set size: shared pages split
    among the processes sharing them, so the sum is the tree's real footprint) in bytes, stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    root = psutil.Process(proc.pid)
    peak = peak_pss = 0
    while proc.poll() is None:
        try:
            tree = [p for p in [root] + root.children(recursive=True) if p.is_running()]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
            peak_pss = max(peak_pss, sum(p.memory_full_info().pss for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.05)
    out = proc.stdout.read()
    seconds = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{out}")
    return seconds, peak, peak_pss, out


def million_points(workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workload = Path(tmp) / "conv3x3.yaml"
        workload.write_text("name: resnet_conv3x3\nlayers:\n"
                            "  - {name: conv2_x, type: conv, N: 1, C: 64, H: 56, W: 56, M: 64, R: 3, S: 3, padding: 1}\n")
        rows = ",".join(str(r) for r in range(4, 4 + 4 * 40, 4))            # 40 row counts
        arrays = ",".join(f"{r}x{c}" for r in rows.split(",") for c in range(8, 8 + 8 * 25, 8))   # x 25 cols
        sram = "8,16,32,64,128,256,512,1024,2048,4096"                      # 10 sizes
        bws = ",".join(str(b) for b in range(1, 35))                        # 34 bandwidths
        out = Path(tmp) / "sweep"
        cmd = [sys.executable, "-m", "accelsim.cli", "sweep", "--hw", "tpu_v1", "--workload", str(workload),
               "--dataflow", "ws,os,is", "--array", arrays, "--sram-kb", sram, "--dram-bw", bws, "--out", str(out),
               "--quiet", "--workers", str(workers)]
        seconds, peak, pss, text = run(cmd)
        points = 1000 * 3 * 10 * 34
        sizes = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        print(f"{points:,}-point sweep (1 layer each; 1000 arrays x 3 dataflows x 10 SRAM x 34 bandwidths), "
              f"{workers} workers: {seconds:.1f} s wall, {points / seconds:,.0f} points/s")
        print(f"  peak memory of the process tree: {pss / 2**20:,.0f} MiB PSS ({peak / 2**20:,.0f} MiB summed RSS, which "
              f"counts shared pages once per process; largest single process {children / 2**20:,.0f} MiB); bar 1024 MiB")
        print("  files: " + ", ".join(f"{name} {size / 2**20:,.1f} MiB" for name, size in sorted(sizes.items())))
        print("  " + text.strip().splitlines()[0])


def resnet50(workers: int) -> None:
    sys.path.insert(0, str(ROOT))
    from accelsim import spec
    n_rows = 24 * len(spec.load("workloads", "resnet50").layers)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "numba_cache"
        for label in ("cold (fresh numba cache)", "warm", "warm"):
            out = Path(tmp) / f"out_{time.monotonic_ns()}"
            cmd = [sys.executable, "-m", "accelsim.cli", "sweep", "--hw", "tpu_v1", "--workload", "resnet50",
                   "--dataflow", "ws,os,is", "--array", ARRAYS_8, "--out", str(out), "--quiet", "--workers", str(workers)]
            seconds, peak, _, text = run(cmd, env={"NUMBA_CACHE_DIR": str(cache)})
            print(f"ResNet-50 x {{ws, os, is}} x 8 arrays (24 points, {n_rows:,} rows), CLI end to end, {label}: "
                  f"{seconds:.2f} s wall, peak {peak / 2**20:,.0f} MiB; bar 2 s")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import accelsim.cli"], cwd=ROOT, check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(cache)})
        print(f"  of which Python start-up + importing accelsim.cli: {time.perf_counter() - started:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points-only", action="store_true")
    parser.add_argument("--resnet-only", action="store_true")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    if not args.points_only:
        resnet50(args.workers)
    if not args.resnet_only:
        million_points(args.workers)


if __name__ == "__main__":
    main()
