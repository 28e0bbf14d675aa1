"""Speed and memory of the cycle-level simulator, and its speed against SCALE-Sim 3.0.0.

    python benchmarks/bench_cycle.py [--hw tpu_v1] [--workload resnet50] [--dataflow ws]
        [--scalesim-python PATH] [--scalesim-layers N|all]

1. Times accelsim's cycle-level simulator (fidelity 'cycle') on every layer of the workload, in
   physical timing and in SCALE-Sim-compatible timing without a DRAM limit (the best of 3 runs per layer, after a warm-up
   that loads numba's compile cache), and reports the process's peak RSS.
2. When SCALE-Sim is importable by ``--scalesim-python`` (default: this interpreter; SCALE-Sim
   3.0.0 needs numpy < 2, so usually a virtual environment:
   ``python -m venv venv && venv/bin/pip install scalesim==3.0.0 'numpy<2'``), runs SCALE-Sim on
   the same layers (CALC mode: no bandwidth limit, traces off) through
   benchmarks/scalesim_runner.py and prints per layer its time, accelsim's, the ratio and whether
   the cycle counts are identical. Without SCALE-Sim the comparison is skipped with a message.
Nothing is asserted: these are figures for the docs (docs/cycle.md).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accelsim import model, spec  # noqa: E402
from accelsim.sim.cycle import check_dataflow, run_layer  # noqa: E402
from accelsim.spec.workload import Layer  # noqa: E402


def time_layers(hw, workload, dataflow, timing):
    """Best-of-3 seconds and the stats of every layer at cycle fidelity."""
    check_dataflow(hw, dataflow)
    run_layer(workload.layers[0], hw, dataflow, timing)     # warm-up: numba's cache
    out = []
    for layer in workload.layers:
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            stats, _, _, _ = run_layer(layer, hw, dataflow, timing)
            best = min(best, time.perf_counter() - start)
        out.append((layer, best, stats))
    return out


def current_rss_mib() -> float:
    """This process's resident set now (Linux /proc), in MiB; 0 where unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def scalesim_importable(python: str) -> bool:
    try:
        return subprocess.run([python, "-c", "import scalesim.scale_sim"], capture_output=True,
                              timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def scalesim_config(hw, dataflow_name: str) -> str:
    """A SCALE-Sim config for ``hw``: its array and SRAM sizes (kB = 1024 one-byte words), CALC
    mode (no bandwidth limit), as the configs of tests/data/scalesim."""
    kib = {name: max(1, getattr(hw, f"sram_{name}").size_bytes // 1024) for name in ("ifmap", "filter", "ofmap")}
    return f"""[general]
run_name = bench

[architecture_presets]
ArrayHeight:    {hw.array_rows}
ArrayWidth:     {hw.array_cols}
IfmapSramSzkB:   {kib["ifmap"]}
FilterSramSzkB:  {kib["filter"]}
OfmapSramSzkB:   {kib["ofmap"]}
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : {dataflow_name}
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""


def scalesim_row(layer) -> str | None:
    """The layer as a SCALE-Sim topology row (padded input: SCALE-Sim has no padding), or None
    when SCALE-Sim cannot express it (batch > 1, groups, unequal strides)."""
    if layer.N != 1 or layer.groups != 1 or layer.stride_h != layer.stride_w:
        return None
    return (f"{layer.name}, {layer.H + 2 * layer.pad_h}, {layer.W + 2 * layer.pad_w}, {layer.R}, {layer.S}, "
            f"{layer.C}, {layer.M}, {layer.stride_h},\n")


def run_scalesim(python, hw, dataflow_name, layers, folder: Path):
    (folder / "cfg.cfg").write_text(scalesim_config(hw, dataflow_name))
    (folder / "layout.csv").write_text("Layer name,\n")
    topologies = []
    for index, layer in enumerate(layers):
        path = folder / f"{index:03d}_{layer.name}.csv"
        path.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                        "Num Filter, Strides,\n" + scalesim_row(layer))
        topologies.append(str(path))
    command = [python, str(ROOT / "benchmarks" / "scalesim_runner.py"), str(folder / "cfg.cfg"),
               str(folder / "layout.csv"), str(folder / "out"), *topologies]
    results, peak = [], None
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            record = json.loads(line)
            if "peak_rss_mib" in record:
                peak = record["peak_rss_mib"]
            else:
                results.append(record)
                print(f"  SCALE-Sim {record['layer']}: {record['seconds']:.2f} s", file=sys.stderr, flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"SCALE-Sim failed (exit {proc.returncode}); see its output above")
    return results, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hw", default="tpu_v1")
    parser.add_argument("--workload", default="resnet50")
    parser.add_argument("--dataflow", default="ws")
    parser.add_argument("--scalesim-python", default=sys.executable,
                        help="an interpreter that can import scalesim (default: this one)")
    parser.add_argument("--scalesim-layers", default="all",
                        help="how many of the workload's layers SCALE-Sim runs (it takes seconds to minutes each)")
    args = parser.parse_args()
    hw = spec.load("hw", args.hw)
    workload = spec.load("workloads", args.workload)
    dataflow = spec.load("dataflows", args.dataflow)

    rss_before = current_rss_mib()
    physical = time_layers(hw, workload, dataflow, "physical")
    # SCALE-Sim-compatible: its timing conventions and, as its CALC mode, no DRAM bandwidth limit
    calc_hw = dataclasses.replace(hw, dram_bandwidth_bytes_per_cycle=math.inf)
    compatible = time_layers(calc_hw, workload, dataflow, "scalesim")
    cycles = sum(stats["total_cycles"] for _, _, stats in physical)
    seconds = sum(s for _, s, _ in physical)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"accelsim cycle fidelity: {workload.name} ({len(workload.layers)} layers) on {hw.name} "
          f"({hw.array_rows}x{hw.array_cols}), {dataflow.name}")
    print(f"  physical timing: {seconds * 1e3:.2f} ms for {cycles:,} simulated cycles "
          f"({seconds / len(physical) * 1e3:.3f} ms per layer); "
          f"slowest layer {max(s for _, s, _ in physical) * 1e3:.3f} ms")
    print(f"  scalesim timing, unlimited DRAM bandwidth: {sum(s for _, s, _ in compatible) * 1e3:.2f} ms")
    print(f"  peak RSS of this process: {rss:.0f} MiB (Python, numpy, pandas, numba and the specs: "
          f"{rss_before:.0f} MiB before the first layer)")
    print(f"\n{'layer':<24} {'folds':>6} {'total cycles':>13} {'ms':>8}")
    for layer, best, stats in physical:
        print(f"{layer.name:<24} {stats['folds']:>6} {stats['total_cycles']:>13,} {best * 1e3:>8.3f}")
    stress_layer = Layer(name="gemm_4096", kind="gemm", N=4096, C=4096, H=1, W=1, M=4096, R=1, S=1)
    stress_hw = dataclasses.replace(hw, array_rows=4, array_cols=4)
    start = time.perf_counter()
    stats, _, _, _ = run_layer(stress_layer, stress_hw, dataflow, "physical")
    stress_s = time.perf_counter() - start
    print(f"  memory stress: a 4096^3 GEMM on a 4x4 array ({stats['folds']:,} folds, {stats['total_cycles']:,} "
          f"cycles) in {stress_s:.2f} s; peak RSS now "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    analytical = model.simulate(hw, workload, dataflow)
    same = all(stats["compute_cycles"] == row for (_, _, stats), row in zip(physical, analytical["compute_cycles"]))
    print(f"  compute cycles equal the analytical engine's on every layer: {same}")

    if not scalesim_importable(args.scalesim_python):
        print(f"\nSCALE-Sim comparison skipped: {args.scalesim_python} cannot import scalesim "
              "(install scalesim==3.0.0 with numpy<2, e.g. in a venv, and pass --scalesim-python)")
        return
    rows = [(layer, s, stats) for layer, s, stats in compatible if scalesim_row(layer) is not None]
    if args.scalesim_layers != "all":
        rows = rows[:int(args.scalesim_layers)]
    with tempfile.TemporaryDirectory() as folder:
        results, peak = run_scalesim(args.scalesim_python, hw, dataflow.name, [layer for layer, _, _ in rows],
                                     Path(folder))
    print(f"\nSCALE-Sim 3.0.0 (CALC mode, traces off) against accelsim's cycle fidelity in scalesim timing, "
          f"{hw.array_rows}x{hw.array_cols} {dataflow.name}:")
    print(f"{'layer':<24} {'SCALE-Sim s':>12} {'accelsim ms':>12} {'ratio':>10} {'SCALE-Sim cycles':>17} "
          f"{'accelsim cycles':>16} identical")
    total_theirs = total_ours = 0.0
    identical = 0
    for (layer, ours, stats), theirs in zip(rows, results):
        match = stats["total_cycles"] == theirs["total_cycles"]
        identical += match
        total_theirs += theirs["seconds"]
        total_ours += ours
        print(f"{layer.name:<24} {theirs['seconds']:>12.2f} {ours * 1e3:>12.3f} {theirs['seconds'] / ours:>10,.0f} "
              f"{theirs['total_cycles']:>17,} {stats['total_cycles']:>16,} {'yes' if match else 'NO'}")
    print(f"total: SCALE-Sim {total_theirs:.1f} s, accelsim {total_ours * 1e3:.2f} ms, ratio "
          f"{total_theirs / total_ours:,.0f}x; identical cycle counts on {identical}/{len(results)} layers; "
          f"SCALE-Sim peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
