"""The agreement table of docs/rtl.md: one GEMM layer through the memory-system RTL, against the
cycle-level simulator and the analytical stall model, for ws, os and is at several DRAM
bandwidths and read latencies (dram.latency_cycles, which the analytical stall model leaves out).

    python benchmarks/rtl_memsys_table.py [--gemm 10x9x7] [--array 4x4] [--sram-bytes 256]
"""
from __future__ import annotations

import argparse

from accelsim.rtl.memsys import cosim_layer
from accelsim.spec.hw import Hardware, SramBuffer


def _hw(rows, cols, bandwidth, sram_bytes, latency):
    buffer = SramBuffer(size_bytes=sram_bytes)
    return Hardware(name=f"array_{rows}x{cols}", array_rows=rows, array_cols=cols, interconnect="systolic",
                    precision="int8", clock_mhz=1000.0, sram_ifmap=buffer, sram_filter=buffer,
                    sram_ofmap=buffer, double_buffered=True, dram_bandwidth_bytes_per_cycle=bandwidth,
                    dram_latency_cycles=latency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gemm", default="10x9x7", help="P x K x M")
    parser.add_argument("--array", default="4x4")
    parser.add_argument("--sram-bytes", type=int, default=256)
    parser.add_argument("--bandwidths", default="64,2,0.7")
    parser.add_argument("--latency", type=int, default=20)
    args = parser.parse_args()
    p, k, m = (int(x) for x in args.gemm.split("x"))
    rows, cols = (int(x) for x in args.array.split("x"))
    print("| dataflow | DRAM B/cycle | latency | folds | fold starts/ends, transfers | stalls load/bw/wb: RTL "
          "| cycle sim | analytical | total cycles RTL / cycle sim / analytical | DRAM bytes r/w (RTL = cycle sim) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for dataflow in ("ws", "os", "is"):
        for bw in (float(x) for x in args.bandwidths.split(",")):
            for latency in (0, args.latency):
                res = cosim_layer(_hw(rows, cols, bw, args.sram_bytes, latency), dataflow, p, k, m)
                r, c, a = res.rtl_stalls, res.cycle_sim, res.analytical
                same = "equal" if res.ok else f"differ ({len(res.mismatches)} items)"

                def triple(d):
                    return f"{d['stall_load_cycles']}/{d['stall_bandwidth_cycles']}/{d['stall_writeback_cycles']}"
                print(f"| {dataflow} | {bw:g} | {latency} | {res.folds} | {same} | {triple(r)} | {triple(c)} | "
                      f"{triple(a)} | {r['total_cycles']} / {c['total_cycles']} / {a['total_cycles']} | "
                      f"{res.rtl.dram_bytes_read}/{res.rtl.dram_bytes_written} |")


if __name__ == "__main__":
    main()
