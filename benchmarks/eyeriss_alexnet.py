"""Eyeriss checks: AlexNet CONV1-5 on hw/eyeriss.yaml, against the published chip and the ISCA 2016
dataflow comparison. Prints the tables of docs/eyeriss.md.

1. Row stationary, batch 4, 200 MHz (Chen et al. JSSC 2017): frames per second, DRAM accesses per
   MAC, global-buffer traffic, against 34.7 fps, 0.0029 DRAM accesses/MAC, 208.5 MB per batch.
2. RS vs WS vs OS vs NLR on the same 168 PEs and buffers, energy per MAC by level with the
   normalized costs of ISCA 2016 Table IV (RF 1, PE-to-PE 2, buffer 6, DRAM 200 x MAC): RS should
   come out lowest (ISCA 2016 reports 1.4-2.5x on conv layers).

    python benchmarks/eyeriss_alexnet.py [--batch 4] [--objective energy]
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import accelsim
from accelsim import spec

PUBLISHED = {"fps": 34.7, "dram_accesses_per_mac": 0.0029, "glb_mb_per_batch": 208.5, "latency_ms": 115.3}
DATAFLOWS = ("rs", "ws_multicast", "os_multicast", "nlr")
LEVELS = ("mac", "rf", "noc", "sram", "dram")


def alexnet(batch: int):
    wl = spec.load("workloads", "alexnet")
    return dataclasses.replace(wl, name=f"alexnet_b{batch}",
                               layers=tuple(dataclasses.replace(l, N=batch) for l in wl.layers))


def glb_accesses(t):
    """Global-buffer reads and writes: array side plus the DRAM side (fills and drains)."""
    return int((t["sram_ifmap_reads"] + t["sram_filter_reads"] + t["sram_ofmap_writes"] + t["sram_ofmap_reads"]
                + t["dram_ifmap_reads"] + t["dram_filter_reads"] + t["dram_ofmap_writes"]
                + t["dram_ofmap_reads"]).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--objective", default="energy", choices=["cycles", "energy", "edp"])
    args = parser.parse_args()
    hw = spec.load("hw", "eyeriss")
    wl = alexnet(args.batch)
    word_bytes = hw.word_bits / 8
    start = time.perf_counter()
    rs = accelsim.simulate(hw, wl, "rs", objective=args.objective)
    seconds = time.perf_counter() - start
    macs = int(rs["macs"].sum())
    cycles = int(rs["total_cycles"].sum())
    latency_ms = cycles / (hw.clock_mhz * 1e3)
    dram_words = int((rs["dram_ifmap_reads"] + rs["dram_filter_reads"] + rs["dram_ofmap_writes"]
                      + rs["dram_ofmap_reads"]).sum())
    print(f"## AlexNet CONV1-5, batch {args.batch}, row stationary on {hw.name} "
          f"(objective {args.objective}; mapped in {seconds:.2f} s)\n")
    print("| layer | mapping | cycles | PE util. | DRAM words/MAC | pJ/MAC |")
    print("|---|---|---:|---:|---:|---:|")
    for _, r in rs.iterrows():
        d = r["dram_ifmap_reads"] + r["dram_filter_reads"] + r["dram_ofmap_writes"] + r["dram_ofmap_reads"]
        print(f"| {r['layer']} | `{r['mapping']}` | {r['total_cycles']:,} | {100 * r['pe_utilization']:.1f}% | "
              f"{d / r['macs']:.4f} | {r['energy_pj_per_mac']:.2f} |")
    ours = {"fps": args.batch / (latency_ms / 1e3), "dram_accesses_per_mac": dram_words / macs,
            "glb_mb_per_batch": glb_accesses(rs) * word_bytes / 1e6, "latency_ms": latency_ms}
    print("\n| metric | Eyeriss (JSSC 2017) | accelsim | ratio |")
    print("|---|---:|---:|---:|")
    for key, value in PUBLISHED.items():
        print(f"| {key} | {value:g} | {ours[key]:.4g} | {ours[key] / value:.2f} |")
    print(f"\nPE utilization {100 * macs / (cycles * hw.num_pes):.1f}% (chip: 88% of PEs active)")

    print(f"\n## Energy per MAC by level, AlexNet CONV1-5 batch {args.batch}, table {hw.energy_table}\n")
    print("| dataflow | " + " | ".join(LEVELS) + " | total pJ/MAC | vs RS | cycles |")
    print("|---|" + "---:|" * (len(LEVELS) + 3))
    totals = {}
    for name in DATAFLOWS:
        t = rs if name == "rs" else accelsim.simulate(hw, wl, name, objective=args.objective)
        per_level = {}
        for level in LEVELS:
            cols = [c for c in t.columns if c == f"energy_pj_{level}" or c.startswith(f"energy_pj_{level}_")]
            per_level[level] = t[cols].to_numpy().sum() / macs
        totals[name] = sum(per_level.values())
        print(f"| {name} | " + " | ".join(f"{per_level[l]:.3f}" for l in LEVELS)
              + f" | {totals[name]:.3f} | {totals[name] / totals['rs']:.2f}x | {int(t['total_cycles'].sum()):,} |")


if __name__ == "__main__":
    main()
