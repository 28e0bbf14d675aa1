"""A user's pass over every published Timeloop exercise and ZigZag input: import each, run it, and
tabulate what happens.

Usage::

    python benchmarks/import_pass.py --exercises EXERCISES --zigzag ZIGZAG_INPUTS [--out DIR] [--only timeloop|zigzag]

* ``EXERCISES``: a checkout of Accelergy-Project/timeloop-accelergy-exercises (its ``workspace/``
  folder is read). Every exercise with committed reference outputs is imported from its own
  architecture, component, problem and mapping files (and the Accelergy ERT/ART its reference run
  wrote), then run: with the reference run's mapping pinned, with the exercise's constraint files
  (``--pin``), and with accelsim's mapper.
* ``ZIGZAG_INPUTS``: ZigZag's ``zigzag/inputs`` folder (``pip install zigzag-dse``; its ``hardware/``,
  ``mapping/`` and ``workload/``). Every shipped hardware file is imported with each mapping file of
  its family (``tpu_like.yaml`` and ``tpu_like_mixed.yaml`` for ``tpu_like``; ``default.yaml``
  where it has none, ``default_imc.yaml`` for the in-memory-compute arrays) and each shipped workload,
  plus ZigZag's GEMM layer (tests/data/zigzag/workload/gemm_layer.yaml), then run with accelsim's mapper.

Each step must either succeed or fail with one clear error (``Error: ...`` naming the file, the key
and the fix), exit code 1, no traceback, and nothing written. The script prints one row per step
and a summary: how many import, how many run, how many stop at a clear error and why; any other
outcome is a DEFECT row (and exit status 1). Steps run in this process through click's CliRunner
(the numba kernels compile once); each step's wall time is in its row.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from accelsim.cli import main as cli

REPO = Path(__file__).resolve().parent.parent
GEMM_LAYER = REPO / "tests" / "data" / "zigzag" / "workload" / "gemm_layer.yaml"
ISPASS = "tutorial_exercises/01_accelergy_timeloop_2020_ispass"
DESIGNS = "example_designs/example_designs"


def timeloop_cases(ws: Path) -> list[dict]:
    """Every exercise with committed reference outputs: (name, import arguments, runs). A run is
    ("mapping", None): the import's pinned mapping; ("pin", FILE): the tree mapper under FILE;
    ("mapper", None): the tree mapper alone."""
    t = ws / ISPASS / "timeloop"
    cases = []

    def model(folder, arch, prob, maps, ert_dirs):
        for m, ref in zip(maps, ert_dirs):
            ref_dir = t / folder / "ref-output" / ref if ref else t / folder / "ref-output"
            cases.append({"name": f"ispass2020_{folder}" + (f" ({ref})" if ref else ""),
                          "import": ["--arch", t / folder / "arch" / arch, "--problem", t / folder / "prob" / prob,
                                     "--mapping", t / folder / "map" / m, *_ert(ref_dir)],
                          "runs": [("mapping", None)]})

    model("00-model-conv1d-1level", "1level.arch.yaml", "conv1d.prob.yaml", ["conv1d-1level.map.yaml"], [None])
    model("01-model-conv1d-2level", "2level.arch.yaml", "conv1d.prob.yaml",
          ["conv1d-2level-os.map.yaml", "conv1d-2level-ws.map.yaml"], ["os", "ws"])
    model("02-model-conv1d+oc-2level", "2level.arch.yaml", "conv1d+oc.prob.yaml",
          ["conv1d+oc-2level-os.map.yaml", "conv1d+oc-2level-os-tiled.map.yaml"], ["no-tiling", "tiling"])
    model("03-model-conv1d+oc-3level", "3level.arch.yaml", "conv1d+oc.prob.yaml",
          ["conv1d+oc-3level.map.yaml", "conv1d+oc-3level-bypass.map.yaml"], ["no-bypass", "bypass"])
    model("04-model-conv1d+oc-3levelspatial", "3levelspatial.arch.yaml", "conv1d+oc+ic.prob.yaml",
          ["conv1d+oc+ic-3levelspatial-cp-ws.map.yaml", "conv1d+oc+ic-3levelspatial-kp-ws.map.yaml"], ["cp", "kp"])
    f05 = t / "05-mapper-conv1d+oc-3level"
    for constraints, ref in (("conv1d+oc-3level-1mapping", "baked"), ("conv1d+oc-3level-freebypass", "freebypass"),
                             ("null", "null")):
        ref_dir = f05 / "ref-output" / ref
        cases.append({"name": f"ispass2020_05-mapper-conv1d+oc-3level ({constraints})",
                      "import": ["--arch", f05 / "arch" / "3level.arch.yaml", "--problem", f05 / "prob" / "conv1d+oc.prob.yaml",
                                 *_ert(ref_dir), "--free-bypass"],
                      "runs": [("pin", f05 / "constraints" / f"{constraints}.constraints.yaml")]
                      + ([("pin", m) for m in sorted(ref_dir.glob("*.map.yaml"))])})
    f06 = t / "06-mapper-convlayer-eyeriss"
    ref06 = f06 / "ref-output"
    cases.append({"name": "ispass2020_06-mapper-convlayer-eyeriss",
                  "import": ["--arch", f06 / "arch" / "eyeriss_like.yaml",
                             *_each("--components", sorted((f06 / "arch" / "components").glob("*.yaml"))),
                             "--problem", f06 / "prob" / "VGG02_layer5.yaml", *_ert(ref06)],
                  "runs": [("mapper", None)] + [("pin", m) for m in sorted(ref06.rglob("*.map.yaml"))]})
    ta = ws / ISPASS / "timeloop+accelergy"
    for variant, ref in (("eyeriss_like-int16", "intmac"), ("eyeriss_like-float32", "fpmac")):
        ref_dir = ta / "ref-output" / ref
        cases.append({"name": f"ispass2020_timeloop+accelergy ({ref})",
                      "import": ["--arch", ta / "arch" / f"{variant}.yaml",
                                 *_each("--components", sorted((ta / "arch" / "components").glob("*.yaml"))),
                                 "--problem", ta / "prob" / "prob.yaml", *_ert(ref_dir)],
                      "runs": [("mapper", None)] + [("pin", m) for m in sorted(ref_dir.rglob("*.map.yaml"))]})
    d = ws / DESIGNS
    for design in ("eyeriss_like", "simple_output_stationary"):
        ref_dir = d / design / "ref_outputs" / "default_problem"
        cases.append({"name": design,
                      "import": ["--arch", d / design / "arch.yaml",
                                 *_each("--components", sorted((d / "_components").glob("*.yaml"))),
                                 "--problem", d / "_include" / "default_problem.yaml", *_ert(ref_dir)],
                      "runs": [("mapper", None)] + [("pin", m) for m in sorted(ref_dir.glob("*.map.yaml"))]})
    sp = d / "sparseloop" / "01.2.1-DUDU-dot-product"
    cases.append({"name": "sparseloop_01.2.1-DUDU-dot-product",
                  "import": ["--arch", sp / "arch.yaml", "--problem", sp / "problem.yaml",
                             *_ert(sp / "ref_outputs" / "default_problem")],
                  "runs": [("pin", sp / "mapping.yaml"), ("mapper", None)]})
    tu = ws / "tutorial_exercises" / "02_interface_and_design_space_exploration_2024"
    cases.append({"name": "tutorial2024_02_interface_dse",
                  "import": ["--arch", tu / "inputs" / "arch.yaml", "--components", tu / "inputs" / "components.yaml",
                             "--problem", tu / "inputs" / "problem.yaml",
                             *_ert(tu / "outputs")],
                  "runs": [("mapper", None)] + [("pin", m) for m in sorted((tu / "outputs").glob("*.map.yaml"))]})
    acc = ws / ISPASS / "accelergy"
    for ex in ("03_compound_architecture", "04_eyeriss_like"):
        cases.append({"name": f"accelergy_{ex}",
                      "import": ["--arch", acc / ex / "input" / "architecture.yaml",
                                 *_each("--components", sorted((acc / ex / "input" / "components").glob("*.yaml")))],
                      "runs": [("mapper", None)]})
    pt = REPO / "tests" / "data" / "timeloop" / "pytimeloop_test_two_level_mm"
    cases.append({"name": "pytimeloop_test_two_level_mm",
                  "import": ["--arch", pt / "two_level.arch.yaml", "--problem", pt / "mm.workload.yaml",
                             "--mapping", pt / "mapping.yaml"],
                  "runs": [("mapping", None)]})
    return _with_reference_mappings(cases)


def _with_reference_mappings(cases: list[dict]) -> list[dict]:
    """Each case whose runs pin a timeloop-mapper ``*.map.yaml`` also imported with that mapping
    (``--mapping``: Timeloop's choice pinned at import, its keep/bypass included) and run."""
    out = []
    for case in cases:
        out.append(case)
        for how, arg in case["runs"]:
            if how == "pin" and str(arg).endswith(".map.yaml"):
                out.append({"name": case["name"] + f" + {Path(arg).parent.name}/{Path(arg).name}",
                            "import": [*case["import"], "--mapping", arg], "runs": [("mapping", None)]})
    return out


def _each(flag: str, files) -> list:
    return [x for f in files for x in (flag, f)]


def _ert(folder: Path) -> list:
    """The Accelergy tables a reference run wrote into ``folder`` (``*ERT.yaml``, ``*ART.yaml``)."""
    out = []
    for pattern, flag in (("*ERT.yaml", "--ert"), ("*ART.yaml", "--art")):
        found = sorted(folder.glob(pattern))
        out += _each(flag, [p for p in found if p.name.startswith("timeloop-")] or found)   # not Accelergy's own copy
    return out


#: ZigZag's mapping files per hardware family, where the names differ (its own pairing, as in its
#: tests: meta_prototype with meta_prototype_like*, the in-memory-compute arrays with default_imc).
ZIGZAG_MAPPING_FAMILY = {"meta_prototype": "meta_prototype_like", "aimc": "default_imc", "dimc": "default_imc"}


def zigzag_cases(inputs: Path) -> list[dict]:
    cases = []
    workloads = sorted((inputs / "workload").glob("*")) + [GEMM_LAYER]
    for hw in sorted((inputs / "hardware").glob("*.yaml")):
        family = ZIGZAG_MAPPING_FAMILY.get(hw.stem, hw.stem)
        mappings = [m for m in sorted((inputs / "mapping").glob("*.yaml"))
                    if m.stem == family or m.stem.startswith(family + "_mixed")]
        for mapping in mappings or [inputs / "mapping" / "default.yaml"]:
            for wl in workloads:
                cases.append({"name": f"{hw.stem} x {mapping.stem} x {wl.name}",
                              "import": ["--hardware", hw, "--mapping", mapping, "--workload", wl],
                              "runs": [("mapper", None)]})
    return cases


def _step(argv: list) -> tuple[str, str, float]:
    """(outcome, first line of the message, seconds) of one CLI call: ok, error (exit 1, one
    ``Error:`` message, no traceback) or DEFECT."""
    start = time.perf_counter()
    result = CliRunner().invoke(cli, [str(a) for a in argv])
    seconds = time.perf_counter() - start
    text = result.output.strip()
    if result.exit_code == 0:
        return "ok", text.splitlines()[-1] if text else "", seconds
    clear = (result.exit_code == 1 and isinstance(result.exception, SystemExit) and "Traceback" not in text
             and text.startswith("Error:"))
    lines = [ln for ln in text.splitlines() if ln.strip()]
    first = lines[0] if lines else repr(result.exception)
    if clear and len(lines) > 1 and re.match(r"^Error: \d+ problem", lines[0]):
        first = lines[0] + " " + " | ".join(ln.strip() for ln in lines[1:4]) + (" | ..." if len(lines) > 4 else "")
    return ("error" if clear else "DEFECT"), first, seconds


def run_case(kind: str, case: dict, work: Path, run: bool = True) -> list[dict]:
    out = work / "import"
    rows = []
    outcome, message, seconds = _step(["import", kind, *case["import"], "--out", out])
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    if outcome == "error" and written:
        outcome, message = "DEFECT", f"half-written import {written}: " + message
    rows.append({"case": case["name"], "step": "import", "outcome": outcome, "message": message, "seconds": seconds})
    if outcome != "ok":
        return rows
    if not run:
        rows.append({"case": case["name"], "step": "run", "outcome": "not run", "message": "--skip-run", "seconds": 0.0})
        return rows
    for how, arg in case["runs"]:
        run_out = work / f"run_{len(rows)}"
        argv = ["run", "--hw", out / "hw.yaml", "--workload", out / "workload.yaml", "--out", run_out]
        if how == "mapping":
            argv += ["--mapping", out / "mapping.yaml"]
        elif how == "pin":
            argv += ["--pin", arg]
        outcome, message, seconds = _step(argv)
        label = "run " + ({"mapping": "pinned mapping", "mapper": "mapper"}.get(how) or f"--pin {Path(arg).name}")
        rows.append({"case": case["name"], "step": label, "outcome": outcome, "message": message, "seconds": seconds})
    return rows


def _reason(message: str) -> str:
    """A short class of an error message, for the summary."""
    text = re.sub(r"^Error: (\d+ problem\(s\) found: )?", "", message)
    text = re.sub(r"\S+\.(ya?ml|onnx|json): ", "", text)
    return text[:110]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exercises", type=Path, help="checkout of Accelergy-Project/timeloop-accelergy-exercises")
    parser.add_argument("--zigzag", type=Path, help="ZigZag's zigzag/inputs folder")
    parser.add_argument("--only", choices=("timeloop", "zigzag"))
    parser.add_argument("--match", default="", help="only cases whose name contains this text")
    parser.add_argument("--skip-run", action="append", default=[], metavar="TEXT",
                        help="import, but do not run, cases whose name contains TEXT (repeatable; e.g. a whole "
                             "MobileNet-v2 on a deep tree takes minutes of mapper search)")
    args = parser.parse_args(argv)
    cases = []
    if args.exercises and args.only != "zigzag":
        cases += [("timeloop", c) for c in timeloop_cases(args.exercises / "workspace")]
    if args.zigzag and args.only != "timeloop":
        cases += [("zigzag", c) for c in zigzag_cases(args.zigzag)]
    cases = [(k, c) for k, c in cases if args.match in c["name"]]
    if not cases:
        parser.error("nothing to do: give --exercises and/or --zigzag")
    rows = []
    print("| tool | case | step | outcome | s | message |\n|---|---|---|---|---:|---|", flush=True)
    for kind, case in cases:
        work = Path(tempfile.mkdtemp(prefix="import_pass_"))
        try:
            run = not any(text in case["name"] for text in args.skip_run)
            for row in run_case(kind, case, work, run):
                rows.append({"tool": kind, **row})
                print(f"| {kind} | {row['case']} | {row['step']} | {row['outcome']} | {row['seconds']:.1f} | "
                      f"{row['message'][:300].replace('|', '/')} |", flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print()
    for kind in ("timeloop", "zigzag"):
        mine = [r for r in rows if r["tool"] == kind]
        if not mine:
            continue
        imports = [r for r in mine if r["step"] == "import"]
        runs = [r for r in mine if r["step"] != "import"]
        count = Counter(r["outcome"] for r in imports)
        run_count = Counter(r["outcome"] for r in runs)
        print(f"{kind}: {len(imports)} imports: {count['ok']} ok, {count['error']} clear errors, "
              f"{count['DEFECT']} defects; {len(runs)} runs: {run_count['ok']} ok, {run_count['error']} clear errors, "
              f"{run_count['DEFECT']} defects, {run_count['not run']} not run (--skip-run)")
        for reason, n in Counter(_reason(r["message"]) for r in mine
                                 if r["outcome"] not in ("ok", "not run")).most_common():
            print(f"  {n} x {reason}")
    return 1 if any(r["outcome"] == "DEFECT" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
