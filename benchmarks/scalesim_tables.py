"""Print the Markdown tables of docs/scalesim.md: accelsim against SCALE-Sim 3.0.0's own reports.

Every case in tests/data/scalesim/cases is imported with accelsim.importers.scalesim and simulated
(1) in SCALE-Sim-compatible timing (``timing: scalesim``, the imported hw's setting), (2) in
accelsim's default ``physical`` timing, and (3) the USER-mode cases' DRAM traffic is set beside
SCALE-Sim's. Paste the output into docs/scalesim.md when the engine or the cases change.

    python benchmarks/scalesim_tables.py
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import accelsim
from accelsim.importers import scalesim
from accelsim.spec import load_hardware, load_workload

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "scalesim"


def read_report(path: Path) -> dict[str, str]:
    """The first data row of a SCALE-Sim report CSV, cells stripped."""
    lines = [[c.strip() for c in line.split(",")] for line in path.read_text().splitlines() if line.strip()]
    return dict(zip([c for c in lines[0] if c], lines[1]))


def run_case(folder: Path, out: Path) -> dict:
    hw_path, workload_path, dataflow = scalesim.import_files(folder / "cfg.cfg", folder / "topo.csv", out)
    hw, workload = load_hardware(hw_path), load_workload(workload_path)
    compute = read_report(folder / "COMPUTE_REPORT.csv")
    access = read_report(folder / "DETAILED_ACCESS_REPORT.csv")
    return {
        "case": folder.name,
        "dataflow": dataflow,
        "compat": accelsim.simulate(hw, workload, dataflow).iloc[0],
        "physical": accelsim.simulate(hw, workload, dataflow, timing="physical").iloc[0],
        "ss_compute": int(compute["Total Cycles"]) - int(compute["Stall Cycles"]),
        "ss_stalls": int(compute["Stall Cycles"]),
        "ss_mapping": float(compute["Mapping Efficiency %"]),
        "ss_util": float(compute["Compute Util %"]),
        "ss_ifmap": int(access["SRAM IFMAP Reads"]),
        "ss_filter": int(access["SRAM Filter Reads"]),
        "ss_ofmap": int(access["SRAM OFMAP Writes"]),
        "ss_dram_ifmap": int(access["DRAM IFMAP Reads"]),
        "ss_dram_filter": int(access["DRAM Filter Reads"]),
        "ss_dram_ofmap": int(access["DRAM OFMAP Writes"]),
    }


def yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def pct(ours: int, theirs: int) -> str:
    return f"{100.0 * (ours - theirs) / theirs:+.2f}%"


def compat_table(runs: list[dict]) -> str:
    lines = ["| case | SCALE-Sim compute cycles | accelsim | cycles exact | SRAM ifmap/filter/ofmap exact "
             "| mapping eff. / compute util. (1e-9) |",
             "|---|---:|---:|:-:|:-:|:-:|"]
    for run in runs:
        row = run["compat"]
        sram = (row.sram_ifmap_reads, row.sram_filter_reads, row.sram_ofmap_writes) == \
            (run["ss_ifmap"], run["ss_filter"], run["ss_ofmap"])
        ratios = (math.isclose(row.mapping_efficiency * 100, run["ss_mapping"], rel_tol=1e-9)
                  and math.isclose(row.compute_utilization * 100, run["ss_util"], rel_tol=1e-9))
        lines.append(f"| {run['case']} | {run['ss_compute']:,} | {row.compute_cycles:,} | "
                     f"{yes(row.compute_cycles == run['ss_compute'])} | {yes(sram)} | {yes(ratios)} |")
    return "\n".join(lines)


def reasons(run: dict) -> str:
    compat, phys = run["compat"], run["physical"]
    out = []
    if (phys.E, phys.F) != (compat.E, compat.F):
        out.append(f"output {phys.E}x{phys.F} (floor) vs {compat.E}x{compat.F} (ceil)")
    if run["dataflow"] == "os":
        out.append("OS fold 2R+C+T-2 vs T+R+C-2")
        out.append("no phantom OS ofmap writes")
    out.append("no -1")
    if phys.sram_ofmap_reads:
        out.append(f"+{phys.sram_ofmap_reads:,} psum reads counted in sram_ofmap_reads")
    return "; ".join(out)


def physical_table(runs: list[dict]) -> str:
    lines = ["| case | SCALE-Sim compute cycles | accelsim physical | diff | SCALE-Sim SRAM ofmap writes "
             "| accelsim physical | diff | why |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for run in runs:
        row = run["physical"]
        lines.append(f"| {run['case']} | {run['ss_compute']:,} | {row.compute_cycles:,} | "
                     f"{pct(row.compute_cycles, run['ss_compute'])} | {run['ss_ofmap']:,} | "
                     f"{row.sram_ofmap_writes:,} | {pct(row.sram_ofmap_writes, run['ss_ofmap'])} | {reasons(run)} |")
    return "\n".join(lines)


def dram_table(runs: list[dict]) -> str:
    lines = ["| case | DRAM ifmap reads SCALE-Sim | accelsim | DRAM filter reads SCALE-Sim | accelsim "
             "| DRAM ofmap writes SCALE-Sim | accelsim | stall cycles SCALE-Sim | accelsim |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run in runs:
        if not run["case"].startswith("user"):
            continue
        row = run["compat"]
        lines.append(f"| {run['case']} | {run['ss_dram_ifmap']:,} | {row.dram_ifmap_reads:,} | "
                     f"{run['ss_dram_filter']:,} | {row.dram_filter_reads:,} | {run['ss_dram_ofmap']:,} | "
                     f"{row.dram_ofmap_writes:,} | {run['ss_stalls']:,} | {row.stall_cycles:,} |")
    return "\n".join(lines)


def main() -> None:
    folders = sorted(p for p in (DATA / "cases").iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run_case(folder, Path(tmp) / folder.name) for folder in folders]
    print("### SCALE-Sim-compatible timing (`timing: scalesim`)\n")
    print(compat_table(runs))
    print("\n### Physical timing (`timing='physical'`)\n")
    print(physical_table(runs))
    print("\n### DRAM traffic and stalls, USER-mode cases\n")
    print(dram_table(runs))


if __name__ == "__main__":
    main()
