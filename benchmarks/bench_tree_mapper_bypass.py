"""The tree mapper's bypass choices with and without pruning by their bounds
(accelsim/loopnest/tree_bypass.py): CPU seconds, choices searched, and whether the chosen mapping
and the Pareto set are the same.

Usage::

    python benchmarks/bench_tree_mapper_bypass.py [--objective edp] [--only NAME ...] [--exercises EXERCISES]

Cases: Timeloop's 2020 ISPASS exercise 05 (``freebypass`` constraints) and the
``simple_output_stationary`` example, imported from their committed ``parsed-processed-input.yaml``
(tests/data/timeloop) with ``--free-bypass``; the eyeriss, simba_like and tpu_v1 preset trees with
every operand of every level below DRAM made a bypass choice (``may_bypass``), on a ResNet-18-like
3x3 layer scaled down so that the unpruned search ends in seconds. ``--exercises`` (a checkout of
Accelergy-Project/timeloop-accelergy-exercises) adds the 2020 ISPASS timeloop+accelergy Eyeriss imported from its own
architecture files (15 free operand-levels, 32,768 choices): its bounds are computed and the choices
they leave counted, without the unpruned search (hours).
"""
from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import yaml

from accelsim import spec
from accelsim.importers.timeloop import import_timeloop
from accelsim.loopnest.tree import TreeMapping, effective_tree
from accelsim.loopnest.tree_mapper import _choice_bounds, _subsets, map_layer
from accelsim.spec.arch import arch_from_dict
from accelsim.spec.workload import workload_from_dict

REPO = Path(__file__).resolve().parent.parent
TIMELOOP = REPO / "tests" / "data" / "timeloop"
LAYER = {"name": "conv3x3", "type": "conv", "C": 16, "M": 32, "H": 16, "W": 16, "R": 3, "S": 3, "padding": 1}


def imported(ref: Path):
    result = import_timeloop([ref / "parsed-processed-input.yaml"], ert_files=sorted(ref.glob("*.ERT.yaml")),
                             free_bypass=True)
    return arch_from_dict(result.hw, "hw.yaml"), workload_from_dict(result.workload, "w.yaml").layers[0]


def preset(name: str):
    data = yaml.safe_load((REPO / "hw" / "trees" / f"{name}.yaml").read_text())
    storage = [lv for lv in data["levels"] if lv["kind"] == "storage"]
    for lv in storage[1:]:
        lv["may_bypass"] = list(lv["operands"])
    layer = workload_from_dict({"name": "w", "layers": [LAYER]}, "w.yaml").layers[0]
    return arch_from_dict(data, str(REPO / "hw" / "trees" / f"{name}.yaml")), layer


def cases() -> dict:
    return {"ispass2020_05 freebypass": lambda: imported(TIMELOOP / "ispass2020_05-mapper-conv1d+oc-3level" / "ref-output"
                                                         / "freebypass"),
            "simple_output_stationary": lambda: imported(TIMELOOP / "simple_output_stationary" / "ref_outputs"
                                                         / "default_problem"),
            "eyeriss (all may_bypass)": lambda: preset("eyeriss"),
            "simba_like (all may_bypass)": lambda: preset("simba_like"),
            "tpu_v1 (all may_bypass)": lambda: preset("tpu_v1")}


def run(name, tree, layer, objective) -> None:
    table = spec.energy_table_for(tree, None)
    out = {}
    for prune in (False, True):
        start = time.process_time()
        result = map_layer(tree, layer, table, objective, prune_bypass=prune)
        out[prune] = (time.process_time() - start, result)
    (slow, full), (fast, pruned) = out[False], out[True]
    same = full.mapping == pruned.mapping and full.pareto == pruned.pareto
    print(f"{name:30s} {objective:6s} choices {pruned.bypass_choices:4d}, searched {full.bypass_choices:4d} -> "
          f"{pruned.bypass_choices - pruned.bypass_skipped:4d}; CPU s {slow:7.2f} -> {fast:6.2f} "
          f"({slow / max(fast, 1e-9):5.1f}x); same mapping and Pareto set: {same}; "
          f"{pruned.cost.total_cycles:,} cycles, {pruned.cost.total_energy_pj:,.0f} pJ", flush=True)


def raw_eyeriss(exercises: Path, objective: str) -> None:
    ta = exercises / "workspace" / "tutorial_exercises" / "01_accelergy_timeloop_2020_ispass" / "timeloop+accelergy"
    ref = ta / "ref-output" / "intmac"
    result = import_timeloop([ta / "arch" / "eyeriss_like-int16.yaml", *sorted((ta / "arch" / "components").glob("*.yaml"))],
                             [ta / "prob" / "prob.yaml"], ert_files=[ref / "timeloop-mapper.ERT.yaml"], free_bypass=True)
    tree = arch_from_dict(result.hw, "hw.yaml")
    layer = workload_from_dict(result.workload, "w.yaml").layers[0]
    table = spec.energy_table_for(tree, None)
    choices = [[(lv.name, ops) for ops in _subsets(lv.may_bypass)] for lv in tree.storage_levels if lv.may_bypass]
    combos = [tuple((n, o) for n, o in c if o) for c in itertools.product(*choices)]
    start = time.process_time()
    bounds = _choice_bounds([effective_tree(tree, TreeMapping(bypass=b)) for b in combos], layer, table, False)
    print(f"timeloop+accelergy Eyeriss (raw, --free-bypass): {len(combos):,} choices, bounds in "
          f"{time.process_time() - start:.1f} CPU s; cycles bounds {min(b[0] for b in bounds):,} .. "
          f"{max(b[0] for b in bounds):,}; lowest energy bound {min(b[1] for b in bounds):,.0f} pJ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objective", default="edp", choices=("cycles", "energy", "edp"))
    parser.add_argument("--only", nargs="*", help="case names (substrings)")
    parser.add_argument("--exercises", type=Path, help="a checkout of timeloop-accelergy-exercises")
    args = parser.parse_args()
    for name, make in cases().items():
        if args.only and not any(s in name for s in args.only):
            continue
        run(name, *make(), args.objective)
    if args.exercises:
        raw_eyeriss(args.exercises, args.objective)


if __name__ == "__main__":
    main()
