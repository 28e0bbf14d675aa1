"""Run SCALE-Sim 3.0.0 on one config and several one-layer topologies, timing each run.

Called by benchmarks/bench_cycle.py with the interpreter that has scalesim installed (it needs
numpy < 2, so usually a separate virtual environment: docs/scalesim.md).
Does not import accelsim. Usage: python scalesim_runner.py CONFIG LAYOUT OUT_DIR TOPOLOGY...
Prints one JSON line per topology: its name, SCALE-Sim's wall seconds, and its COMPUTE_REPORT row,
then the child's peak RSS.
"""
from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time
from pathlib import Path


def report(path: Path) -> dict:
    lines = [[cell.strip() for cell in line.split(",")] for line in path.read_text().splitlines() if line.strip()]
    header = [cell for cell in lines[0] if cell]
    return dict(zip(header, lines[1]))


def main(argv) -> None:
    from scalesim.scale_sim import scalesim
    config, layout, out_dir, *topologies = argv
    for topology in topologies:
        name = Path(topology).stem
        top = Path(out_dir) / name
        top.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            sim = scalesim(save_disk_space=True, verbose=False, config=config, topology=topology, layout=layout,
                           input_type_gemm=False)
            sim.run_scale(top_path=str(top))
        seconds = time.perf_counter() - start
        row = report(next(top.rglob("COMPUTE_REPORT.csv")))
        print(json.dumps({"layer": name, "seconds": seconds, "total_cycles": int(float(row["Total Cycles"])),
                          "stall_cycles": int(float(row["Stall Cycles"]))}), flush=True)
    print(json.dumps({"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
