"""First-run (cold) compile of one ``accelsim run``, per kind of kernel: what the first-run notice
("compiling kernels, first run only, ~N s (KIND)") should promise on each path.

Runs ``accelsim run ARGS...`` once in a fresh process with an empty kernel cache
(``ACCELSIM_CACHE_DIR`` pointed at a new folder) and every numba dispatcher's ``compile`` timed:
each function's exclusive CPU seconds (its own typing, lowering and LLVM optimisation, its accelsim
callees' compiles subtracted; numba's own functions it compiles, such as np.argsort's, counted in
it), summed per kind of accelsim/kernels/jit.py ``KIND`` (by the function's source file, or the
file and name where KIND names the function). Also the notices the run printed, the process's CPU
seconds (user + system) and wall time, the largest functions and any function compiled with more
than one signature (each a second specialisation to avoid). ``--json FILE`` keeps every function's
figure.

    python benchmarks/bench_compile.py -- --hw eyeriss --dataflow rs --workload W.yaml
    python benchmarks/bench_compile.py --path tree-zigzag     # a named path (see PATHS)
    python benchmarks/bench_compile.py --all                  # every named path, one at a time

Measure one at a time on a quiet machine: two cold compiles at once share the cores and inflate
each other's wall time (CPU seconds much less); the load average is printed beside the figures.
At load 1-2 on the 2-core CI machine kind (2026-12-05), compile CPU seconds: systolic 6.0
(engine); cycle 10.3 (engine 6.1, cycle level 3.4); loopnest 30.8 (mapper 14.1, tree engine 10.5,
engine 4.5); tree-pinned 11.5 and tree-mapped 10.6 (tree engine); tree-zigzag 21.0 (tree engine
11.7, zigzag timing 9.3). The notices' estimates (jit.KIND) follow these.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_startup import LAYER_YAML  # noqa: E402  (the same one-conv workload as the start-up benchmark)

#: Named paths: the arguments after ``run`` ({workload}, {mapping}, {zigzag_hw} filled in).
PATHS = {
    "systolic": ["--hw", "edge_16x16", "--dataflow", "ws", "--workload", "{workload}"],
    "cycle": ["--hw", "edge_16x16", "--dataflow", "ws", "--fidelity", "cycle", "--workload", "{workload}"],
    "loopnest": ["--hw", "eyeriss", "--dataflow", "rs", "--workload", "{workload}"],
    "tree-pinned": ["--hw", "simba_like", "--mapping", "{mapping}", "--workload", "{workload}"],
    "tree-mapped": ["--hw", "simba_like", "--workload", "{workload}"],
    "tree-zigzag": ["--hw", "{zigzag_hw}", "--mapping", "{mapping}", "--workload", "{workload}"],
}

#: Runs inside the measured process: Dispatcher.compile timed (exclusive CPU per function).
HOOK = r"""
import json, sys, time
from numba.core import dispatcher
stack, records = [], {}
original = dispatcher.Dispatcher.compile
def compile(self, sig):
    start = time.process_time()
    stack.append(0.0)
    try:
        return original(self, sig)
    finally:
        inclusive = time.process_time() - start
        children = stack.pop()
        func = self.py_func
        if stack and "accelsim" in func.__module__:   # numba's own functions count in their caller's
            stack[-1] += inclusive
        if "accelsim" in func.__module__ or not stack:
            key = func.__module__ + "." + func.__qualname__
            rec = records.setdefault(key, {"seconds": 0.0, "file": func.__code__.co_filename, "name": func.__name__})
            rec["seconds"] += inclusive - children
            rec["signatures"] = [str(s) for s in self.signatures]
dispatcher.Dispatcher.compile = compile
import atexit
records_path = sys.argv.pop(1)
atexit.register(lambda: open(records_path, "w").write(json.dumps(records)))
from accelsim.cli import main
sys.argv[0] = "accelsim"
main()
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def kind_of(record: dict) -> str:
    """The notice's kind of a compiled function (accelsim/kernels/jit.py ``kind_of``)."""
    from accelsim.kernels.jit import kind_of
    what = kind_of(record["file"], record["name"])[0]
    return what if what != "other" else f"other ({Path(record['file']).stem})"


def measure(run_args: list[str]) -> dict:
    """One cold ``accelsim run`` with ``run_args``: per-kind compile CPU, process CPU and wall."""
    with tempfile.TemporaryDirectory() as tmp:
        records_path = Path(tmp) / "records.json"
        env = dict(os.environ, ACCELSIM_CACHE_DIR=str(Path(tmp) / "cache"))
        cmd = [sys.executable, "-c", HOOK, str(records_path), "run", *run_args, "--quiet",
               "--out", str(Path(tmp) / "out")]
        cpu = _children_cpu()
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"accelsim run {' '.join(run_args)} failed:\n{done.stdout}{done.stderr}")
        records = json.loads(records_path.read_text())
    by_kind: dict[str, float] = {}
    for record in records.values():
        kind = kind_of(record)
        by_kind[kind] = by_kind.get(kind, 0.0) + record["seconds"]
    return {"wall_s": wall, "process_cpu_s": _children_cpu() - cpu, "compile_cpu_s": sum(by_kind.values()),
            "by_kind": by_kind, "notices": [line for line in done.stderr.splitlines()
                                            if line.startswith("compiling kernels")],
            "several_signatures": {k: r["signatures"] for k, r in sorted(records.items()) if len(r["signatures"]) > 1},
            "top": sorted(((r["seconds"], k) for k, r in records.items()), reverse=True)}


def show(name: str, result: dict) -> None:
    print(f"{name}: {result['compile_cpu_s']:.1f} s compile CPU, process {result['process_cpu_s']:.1f} s CPU, "
          f"{result['wall_s']:.1f} s wall (load {os.getloadavg()[0]:.1f})")
    for kind, seconds in sorted(result["by_kind"].items(), key=lambda item: -item[1]):
        print(f"    {kind:<22} {seconds:6.1f} s")
    for line in result["notices"]:
        print(f"    notice: {line}")
    for name, signatures in result["several_signatures"].items():
        print(f"    compiled {len(signatures)} times: {name}: {'; '.join(signatures)}")
    print("    largest: " + ", ".join(f"{k.split('.')[-1]} {s:.1f}" for s, k in result["top"][:12]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", choices=sorted(PATHS), action="append", default=[])
    parser.add_argument("--all", action="store_true", help="every named path, one after the other")
    parser.add_argument("--json", help="also write every function's compile CPU seconds to this file")
    parser.add_argument("run_args", nargs="*", help="arguments of `accelsim run` (after --)")
    args = parser.parse_args()
    names = sorted(PATHS) if args.all else args.path
    with tempfile.TemporaryDirectory() as tmp:
        workload = Path(tmp) / "one_conv.yaml"
        workload.write_text(LAYER_YAML)
        mapping = Path(tmp) / "mapping.yaml"   # docs/architecture.md's worked example: this layer on simba_like
        text = (ROOT / "docs" / "architecture.md").read_text()
        mapping.write_text(text.split("A mapping gives each storage level", 1)[1].split("```yaml", 1)[1]
                           .split("```", 1)[0])
        zigzag_hw = Path(tmp) / "simba_like_zigzag.yaml"
        zigzag_hw.write_text((ROOT / "hw" / "trees" / "simba_like.yaml").read_text()
                             .replace("\ntiming: physical", "") .replace("\nlevels:", "\ntiming: zigzag\nlevels:", 1))
        fill = {"workload": str(workload), "mapping": str(mapping), "zigzag_hw": str(zigzag_hw)}
        measured = {}
        for name in names:
            measured[name] = measure([a.format(**fill) for a in PATHS[name]])
            show(name, measured[name])
        if args.json:
            Path(args.json).write_text(json.dumps(measured, indent=1))
        if args.run_args:
            show("accelsim run " + " ".join(args.run_args), measure(args.run_args))


if __name__ == "__main__":
    main()
