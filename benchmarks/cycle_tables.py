"""Print the Markdown tables of docs/cycle.md: the cycle-level simulator against SCALE-Sim 3.0.0's
reports (tests/data/scalesim) and against accelsim's analytical stall model.

    python benchmarks/cycle_tables.py

Paste the output into docs/cycle.md when the simulator or the cases change.
"""
from __future__ import annotations

import csv
import dataclasses
import math
import tempfile
import time
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import accelsim  # noqa: E402
from accelsim import spec  # noqa: E402
from accelsim.importers import scalesim  # noqa: E402
from accelsim.spec import load_hardware, load_workload  # noqa: E402

DATA = ROOT / "tests" / "data" / "scalesim"


def read_report(path: Path) -> dict[str, str]:
    lines = [[c.strip() for c in line.split(",")] for line in path.read_text().splitlines() if line.strip()]
    return dict(zip([c for c in lines[0] if c], lines[1]))


def load_case(folder: Path, out: Path):
    hw_path, workload_path, dataflow = scalesim.import_files(folder / "cfg.cfg", folder / "topo.csv", out)
    return load_hardware(hw_path), load_workload(workload_path), dataflow


def user_mode_table(out: Path) -> None:
    print("| case | SCALE-Sim total | SCALE-Sim stalls | SCALE-Sim DRAM reads | cycle: total | cycle: stalls "
          "| cycle: DRAM reads | analytical: total | cycle at 3x bandwidth: total |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for folder in sorted((DATA / "cases").glob("user_bw*")):
        hw, workload, dataflow = load_case(folder, out)
        compute = read_report(folder / "COMPUTE_REPORT.csv")
        access = read_report(folder / "DETAILED_ACCESS_REPORT.csv")
        cycle = accelsim.simulate(hw, workload, dataflow, fidelity="cycle").iloc[0]
        analytical = accelsim.simulate(hw, workload, dataflow).iloc[0]
        wide = dataclasses.replace(hw, dram_bandwidth_bytes_per_cycle=3 * hw.dram_bandwidth_bytes_per_cycle)
        cycle3 = accelsim.simulate(wide, workload, dataflow, fidelity="cycle").iloc[0]
        theirs_reads = int(access["DRAM IFMAP Reads"]) + int(access["DRAM Filter Reads"])
        ours_reads = cycle.dram_ifmap_reads + cycle.dram_filter_reads + cycle.dram_ofmap_reads
        print(f"| {folder.name} | {int(compute['Total Cycles']):,} | {int(compute['Stall Cycles']):,} | "
              f"{theirs_reads:,} | {cycle.total_cycles:,} | {cycle.stall_cycles:,} | {ours_reads:,} | "
              f"{analytical.total_cycles:,} | {cycle3.total_cycles:,} |")


def calc_bandwidth_table(out: Path) -> None:
    print("| case | SCALE-Sim avg DRAM ifmap / filter / ofmap (words/cycle) | cycle: avg ifmap / filter / ofmap "
          "| cycle: peak read / write (fold window) | cycle: SRAM peak ifmap / filter / ofmap w (words/cycle) |")
    print("|---|---|---|---|---|")
    for folder in sorted((DATA / "cases").glob("calc_alexnet_Conv*_32x32_*")):
        hw, workload, dataflow = load_case(folder, out)
        with open(DATA / "results.csv", newline="") as handle:
            record = next(row for row in csv.DictReader(handle) if row["run_id"] == folder.name)
        row = accelsim.simulate(hw, workload, dataflow, fidelity="cycle").iloc[0]
        total = row.total_cycles
        print(f"| {folder.name} | {float(record['avg_ifmap_dram_bw']):.2f} / {float(record['avg_filter_dram_bw']):.2f} / "
              f"{float(record['avg_ofmap_dram_bw']):.2f} | {row.dram_ifmap_reads / total:.2f} / "
              f"{row.dram_filter_reads / total:.2f} / {row.dram_ofmap_writes / total:.2f} | "
              f"{row.dram_read_bw_peak_bytes_per_cycle:.2f} / {row.dram_write_bw_peak_bytes_per_cycle:.2f} | "
              f"{row.sram_ifmap_read_bw_peak_bytes_per_cycle:.0f} / {row.sram_filter_read_bw_peak_bytes_per_cycle:.0f} / "
              f"{row.sram_ofmap_write_bw_peak_bytes_per_cycle:.0f} |")


def speed_table(out: Path) -> None:
    """Seconds per case: SCALE-Sim's own run (results.csv, recorded on this machine kind, traces
    off) against accelsim's cycle fidelity (best of 3, numba's cache warm)."""
    from accelsim.sim.cycle import run_layer
    with open(DATA / "results.csv", newline="") as handle:
        records = {row["run_id"]: row for row in csv.DictReader(handle)}
    print("| case | SCALE-Sim s | accelsim cycle fidelity ms | ratio | cycles identical |")
    print("|---|---:|---:|---:|:-:|")
    ratios = []
    for folder in sorted((DATA / "cases").glob("calc_*")):
        if folder.name.startswith("calctrace"):
            continue
        hw, workload, dataflow = load_case(folder, out)
        dataflow = spec.load("dataflows", dataflow)
        layer = workload.layers[0]
        run_layer(layer, hw, dataflow, hw.timing)
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            stats, _, _, _ = run_layer(layer, hw, dataflow, hw.timing)
            best = min(best, time.perf_counter() - start)
        record = records[folder.name]
        theirs = float(record["wall_s_run"])
        same = stats["total_cycles"] == int(float(record["total_cycles"]))
        ratios.append(theirs / best)
        print(f"| {folder.name} | {theirs:.1f} | {best * 1e3:.3f} | {theirs / best:,.0f}x | {'yes' if same else 'NO'} |")
    ratios.sort()
    print(f"\nRatio: median {ratios[len(ratios) // 2]:,.0f}x, smallest {ratios[0]:,.0f}x.")


def stall_model_table() -> None:
    print("| hw | workload | dataflow | analytical stalls | cycle stalls | analytical total | cycle total | "
          "difference | largest layer difference |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for hw_name in ("tpu_v1", "scalesim_default", "edge_16x16", "eyeriss_12x14"):
        hw = spec.load("hw", hw_name)
        if math.isinf(hw.dram_bandwidth_bytes_per_cycle):
            hw = dataclasses.replace(hw, dram_bandwidth_bytes_per_cycle=10.0)
        for workload_name in ("alexnet", "resnet50", "mobilenet_v1"):
            workload = spec.load("workloads", workload_name)
            for dataflow in ("ws", "os", "is"):
                a = accelsim.simulate(hw, workload, dataflow)
                c = accelsim.simulate(hw, workload, dataflow, fidelity="cycle")
                diff = (c.total_cycles.sum() - a.total_cycles.sum()) / a.total_cycles.sum()
                per_layer = ((c.total_cycles - a.total_cycles) / a.total_cycles).abs().max()
                print(f"| {hw.name} ({hw.dram_bandwidth_bytes_per_cycle:g} B/cycle) | {workload_name} | {dataflow} | "
                      f"{a.stall_cycles.sum():,} | {c.stall_cycles.sum():,} | {a.total_cycles.sum():,} | "
                      f"{c.total_cycles.sum():,} | {100 * diff:+.1f}% | {100 * per_layer:.1f}% |")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        print("### SCALE-Sim USER mode (bandwidth-limited)\n")
        user_mode_table(Path(folder))
        print("\n### CALC mode: DRAM bandwidth needed\n")
        calc_bandwidth_table(Path(folder))
        print("\n### Speed against SCALE-Sim's recorded runs\n")
        speed_table(Path(folder))
    print("\n### The analytical stall model against the cycle-level timeline\n")
    stall_model_table()


if __name__ == "__main__":
    main()
