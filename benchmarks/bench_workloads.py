"""Cost of the layers without MACs in a whole-network run, and of `workload stats` / ONNX import.

Times ``accelsim.simulate`` on every zoo network with all its layers against the same network with
its MAC layers only (the vector-unit rows are built per layer in Python: this is their overhead),
``workload_stats.stats``, and the ONNX import of a ResNet-18 built in memory. Prints milliseconds.

    PYTHONPATH=. python benchmarks/bench_workloads.py [--repeats 10] [--hw tpu_v1] [--dataflow ws]
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from accelsim import model, spec, workload_stats

ZOO = ("alexnet_full", "vgg16", "googlenet", "resnet18", "resnet50", "mobilenet_v1", "mobilenet_v2",
       "squeezenet1_0", "shufflenet_v1_g3")


def ms(func, repeats: int) -> float:
    func()
    start = time.perf_counter()
    for _ in range(repeats):
        func()
    return (time.perf_counter() - start) / repeats * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--hw", default="tpu_v1")
    parser.add_argument("--dataflow", default="ws")
    args = parser.parse_args()
    hw, df = spec.load("hw", args.hw), spec.load("dataflows", args.dataflow)
    table = spec.energy_table_for(hw)
    print(f"{'workload':18s} {'layers':>6s} {'MAC':>4s} {'simulate ms':>12s} {'MAC-only ms':>12s} {'stats ms':>9s}")
    for name in ZOO:
        wl = spec.load("workloads", name)
        macs_only = replace(wl, layers=tuple(l for l in wl.layers if l.is_mac))
        full = ms(lambda: model.simulate(hw, wl, df, energy_table=table), args.repeats)
        base = ms(lambda: model.simulate(hw, macs_only, df, energy_table=table), args.repeats)
        stats = ms(lambda: workload_stats.stats(wl), args.repeats)
        print(f"{name:18s} {len(wl.layers):6d} {len(macs_only.layers):4d} {full:12.1f} {base:12.1f} {stats:9.1f}")
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from test_onnx_import import resnet18
        from accelsim.importers.onnx import workload_from_onnx
    except ImportError as exc:  # onnx not installed: pip install -e '.[onnx]'
        print(f"ONNX import: skipped ({exc})")
        return
    onnx_model = resnet18()
    print(f"ONNX import of ResNet-18 (51 layers): {ms(lambda: workload_from_onnx(onnx_model, 'r18'), 3):.1f} ms")


if __name__ == "__main__":
    main()
