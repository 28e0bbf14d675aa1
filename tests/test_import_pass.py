"""benchmarks/import_pass.py, the user's pass over the peers' published inputs: one import-and-run
that succeeds, one import that stops at a clear error with nothing written, and one step that
crashes is reported as a DEFECT (the pass exists to find those)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from accelsim import spec

DATA = Path(__file__).parent / "data"


def _module():
    spec_ = importlib.util.spec_from_file_location("import_pass", spec.ROOT / "benchmarks" / "import_pass.py")
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    return module


def test_a_published_case_imports_and_runs(tmp_path):
    """timeloop-python's two-level matrix multiply, imported with its mapping and run."""
    ip = _module()
    folder = DATA / "timeloop" / "pytimeloop_test_two_level_mm"
    case = {"name": "mm", "import": ["--arch", folder / "two_level.arch.yaml", "--problem", folder / "mm.workload.yaml",
                                     "--mapping", folder / "mapping.yaml"], "runs": [("mapping", None)]}
    rows = ip.run_case("timeloop", case, tmp_path)
    assert [(r["step"], r["outcome"]) for r in rows] == [("import", "ok"), ("run pinned mapping", "ok")]


def test_a_clear_error_is_an_error_and_nothing_is_written(tmp_path):
    """ZigZag's GEMM layer (32-bit partial sums) on tpu_like (a 16-bit output register)."""
    ip = _module()
    z = DATA / "zigzag"
    case = {"name": "tpu", "import": ["--hardware", z / "hardware" / "tpu_like.yaml", "--workload",
                                      z / "workload" / "gemm_layer.yaml"], "runs": [("mapper", None)]}
    (row,) = ip.run_case("zigzag", case, tmp_path)
    assert row["outcome"] == "error" and "memories.rf_2B.size" in row["message"]
    assert not (tmp_path / "import").exists()


def test_a_traceback_is_a_defect(monkeypatch):
    ip = _module()

    def broken(*args, **kwargs):
        raise ZeroDivisionError("internal bug")

    monkeypatch.setattr("accelsim.importers.zigzag.import_zigzag", broken)
    outcome, message, _ = ip._step(["import", "zigzag", "--hardware", str(DATA / "zigzag" / "hardware" / "tpu_like.yaml"),
                                    "--out", "/nonexistent/never-written"])
    assert outcome == "DEFECT" and "ZeroDivisionError" in message
