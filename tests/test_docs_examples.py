"""Every ```python block of README.md and docs/*.md runs as a reader would paste it.

A block runs in a fresh folder holding what the page's own commands made before it (the page says
where these come from: an `accelsim import` or `accelsim sweep` command, a SCALE-Sim case); paths
into the repository (hw/trees/...) are read from the checkout. Figures' ``.show()`` is a no-op.
"""
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from accelsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
BLOCKS = [(page, i, block) for page in PAGES
          for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S))]


def _cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output


def _setup_import(folder: Path) -> None:
    """docs/import.md's example command, which writes eyeriss_tl/."""
    case = ROOT / "tests" / "data" / "timeloop" / "eyeriss_like" / "ref_outputs" / "default_problem"
    _cli("import", "timeloop", "--arch", case / "parsed-processed-input.yaml", "--mapping",
         case / "timeloop-mapper.map.yaml", "--ert", case / "timeloop-mapper.ERT.yaml", "--art",
         case / "timeloop-mapper.ART.yaml", "--out", folder / "eyeriss_tl")


def _setup_report(folder: Path) -> None:
    """docs/report.md's sweep folder results/my_sweep (a small one)."""
    _cli("sweep", "--hw", "tpu_v1", "--workload", "resnet50", "--dataflow", "ws,os", "--array", "16x16,32x32",
         "--quiet", "--workers", "1", "--out", folder / "results" / "my_sweep")


def _setup_scalesim(folder: Path) -> None:
    """docs/scalesim.md's scale.cfg and alexnet.csv: a committed SCALE-Sim case."""
    case = ROOT / "tests" / "data" / "scalesim" / "cases" / "calc_alexnet_Conv1_32x32_ws"
    shutil.copy(case / "cfg.cfg", folder / "scale.cfg")
    shutil.copy(case / "topo.csv", folder / "alexnet.csv")


SETUP = {"import.md": _setup_import, "report.md": _setup_report, "scalesim.md": _setup_scalesim}


@pytest.mark.parametrize("page,index,block", BLOCKS, ids=[f"{p.name}-{i}" for p, i, _ in BLOCKS])
def test_python_block_runs(page, index, block, tmp_path, monkeypatch):
    import plotly.graph_objects as go
    monkeypatch.setattr(go.Figure, "show", lambda self, *a, **k: None)
    SETUP.get(page.name, lambda folder: None)(tmp_path)
    for name in ("hw", "workloads", "dataflows"):       # paths into the checkout, as from its root
        (tmp_path / name).exists() or (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, f"{page.name} block {index}", "exec"), {"__name__": "__doc_example__"})


def test_every_page_with_python_is_covered():
    assert {p.name for p, _, _ in BLOCKS} >= {"README.md", "architecture.md", "import.md", "report.md", "rtl.md",
                                               "scalesim.md", "cycle.md"}
