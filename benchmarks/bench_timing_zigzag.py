"""``timing: zigzag`` (accelsim/loopnest/timing_zigzag.py) in the tree mapper: ZigZag's shipped
tpu_like hardware imported (tests/data/zigzag/hardware/tpu_like.yaml), the ResNet-18 3x3 layer (C = M
= 64, 56x56, pad 1), objective cycles, 4 restarts; CPU seconds and mappings evaluated per CPU second
under each timing model, after a warm-up run of each; one core.

    python benchmarks/bench_timing_zigzag.py [--timings physical zigzag]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import yaml  # noqa: E402

from accelsim import spec  # noqa: E402
from accelsim.importers.zigzag import import_zigzag  # noqa: E402
from accelsim.loopnest.tree_mapper import map_layer  # noqa: E402
from accelsim.spec.workload import workload_from_dict  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "zigzag"
LAYER = workload_from_dict({"name": "resnet18_conv2", "layers": [
    {"name": "conv2_1a", "type": "conv", "C": 64, "H": 56, "W": 56, "M": 64, "R": 3, "S": 3, "padding": 1}]},
    "bench").layers[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timings", nargs="+", default=["physical", "throughput", "zigzag"])
    parser.add_argument("--restarts", type=int, default=4)
    args = parser.parse_args()
    imported = import_zigzag(DATA / "hardware" / "tpu_like.yaml", DATA / "mapping" / "tpu_like.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        for timing in args.timings:
            path = Path(tmp) / f"{timing}.yaml"
            path.write_text(yaml.safe_dump(dict(imported.hw, timing=timing)))
            tree = spec.load("hw", path)
            table = spec.energy_table_for(tree, None)
            map_layer(tree, LAYER, table, "cycles", restarts=1)          # compile, warm
            start = time.process_time()
            result = map_layer(tree, LAYER, table, "cycles", restarts=args.restarts)
            cpu = time.process_time() - start
            print(f"{timing:>10}: {cpu:.2f} CPU s, {result.evaluated:,} mappings ({result.evaluated / cpu:,.0f} per "
                  f"CPU s); chosen {result.cost.total_cycles:,} cycles")


if __name__ == "__main__":
    main()
