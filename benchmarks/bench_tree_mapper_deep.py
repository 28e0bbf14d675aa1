"""The tree mapper over a whole network on a deep imported tree: ZigZag 3.9.1's shipped
ascend_like hardware and mapping (tests/data/zigzag/, 8 storage levels and 4 spatial levels once
imported) with its ResNet-18 or MobileNet-v2 ONNX model, imported by ``accelsim import zigzag`` and
mapped layer by layer for ``--objective``: seconds per layer (wall and CPU seconds of this process)
and the total; one core. Needs the ``[onnx]`` extra.

    python benchmarks/bench_tree_mapper_deep.py [--hardware ascend_like] [--network resnet18|mobilenetv2]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from click.testing import CliRunner  # noqa: E402

from accelsim import spec  # noqa: E402
from accelsim.cli import main as cli  # noqa: E402
from accelsim.loopnest.tree_mapper import map_layer  # noqa: E402
from accelsim.spec.arch import load_arch  # noqa: E402
from accelsim.spec.workload import load_workload  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "zigzag"
MAPPING_FILE = {"meta_prototype": "meta_prototype_like"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hardware", default="ascend_like", help="a file stem in tests/data/zigzag/hardware")
    parser.add_argument("--network", default="resnet18", choices=("resnet18", "mobilenetv2"))
    parser.add_argument("--objective", default="edp", choices=("cycles", "energy", "edp"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        mapping = DATA / "mapping" / f"{MAPPING_FILE.get(args.hardware, args.hardware)}.yaml"
        result = CliRunner().invoke(cli, ["import", "zigzag", "--hardware", str(DATA / "hardware" / f"{args.hardware}.yaml"),
                                          "--mapping", str(mapping), "--workload",
                                          str(DATA / "workload" / f"{args.network}.onnx"), "--out", tmp])
        if result.exit_code != 0:
            raise SystemExit(result.output)
        tree, workload = load_arch(Path(tmp) / "hw.yaml"), load_workload(Path(tmp) / "workload.yaml")
    table = spec.energy_table_for(tree, None)
    layers = [layer for layer in workload.layers if layer.is_mac]
    print(f"{args.network} ({len(layers)} MAC layers) on {tree.name}: {len(tree.storage_levels)} storage levels, "
          f"{len(tree.levels) - len(tree.storage_levels)} spatial levels")
    start, start_cpu = time.perf_counter(), time.process_time()
    slowest = (0.0, "")
    for layer in layers:
        t, c = time.perf_counter(), time.process_time()
        found = map_layer(tree, layer, table, args.objective)
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
        slowest = max(slowest, (seconds, layer.name))
        print(f"{layer.name}: {seconds:.2f} s ({cpu:.2f} CPU s), {found.evaluated:,} mappings; "
              f"{found.cost.total_cycles:,} cycles, {found.cost.total_energy_pj / 1e6:.3f} uJ")
    print(f"total {time.perf_counter() - start:.1f} s ({time.process_time() - start_cpu:.1f} CPU s, first layer "
          f"includes loading the compiled kernels); slowest layer {slowest[1]} {slowest[0]:.2f} s")


if __name__ == "__main__":
    main()
