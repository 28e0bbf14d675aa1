"""Every `accelsim ...` command shown in docs/*.md, run in the page's order as a reader types it
(optional [...] parts left out), each page in a fresh folder where the repository's hw/, workloads/,
dataflows/ and tests/ paths resolve: it exits 0, or, where the page shows its `Error:` line, exits 1
with that error. Commands with placeholders the reader fills in (ARCH.yaml, model.onnx, my_gpu/,
results/sweep_<digest>) are left to the tests that run them on committed files."""
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from accelsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDERS = re.compile(r"(?<![\w./-])[A-Z][A-Z0-9]*\.(yaml|json|onnx)\b|model\.onnx|workloads/my_net\.yaml|my_gpu/"
                          r"|<[a-z]+>|\bDIR\b|\bOUT2?\b|\.\.\.")


def fenced_blocks(text: str) -> list[str]:
    """The contents of the page's fenced blocks that hold shell lines (no language, or a shell's)."""
    blocks, current, language = [], None, ""
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, language = [], line[3:].strip()
            else:
                if language in ("", "console", "bash", "sh", "shell"):
                    blocks.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def page_commands(page: Path) -> list[tuple[str, str | None]]:
    """(command, the Error: line the page shows for it or None), in the page's order."""
    out = []
    for block in fenced_blocks(page.read_text(encoding="utf-8")):
        variables = {}
        lines = block.replace("\\\n", " ").splitlines()
        for i, raw in enumerate(lines):
            line = raw.strip()
            assign = re.fullmatch(r"([A-Z]+)=(\S+)", line)
            if assign:
                variables[assign.group(1)] = assign.group(2)
                continue
            line = line[2:] if line.startswith("$ ") else line
            if not line.startswith("accelsim "):
                continue
            line = re.split(r"\s{2,}#|\s#\s", line)[0]
            while re.search(r"\[[^\[\]]*\]", line):
                line = re.sub(r"\s*\[[^\[\]]*\]", "", line)
            for name, value in variables.items():
                line = line.replace(f"${name}", value)
            shown = lines[i + 1].strip() if i + 1 < len(lines) else ""
            for part in line.split(";"):
                if part.strip():
                    out.append((part.strip(), shown if shown.startswith("Error:") else None))
    return out


PAGES = sorted(p for p in (ROOT / "docs").glob("*.md")
               if any(not PLACEHOLDERS.search(command) for command, _ in page_commands(p)))


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_docs_commands_run(page, tmp_path, monkeypatch):
    for name in ("hw", "workloads", "dataflows", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    ran = 0
    for command, error in page_commands(page):
        if PLACEHOLDERS.search(command):
            continue
        result = CliRunner().invoke(main, shlex.split(command)[1:])
        assert "Traceback" not in result.output, f"{page.name}: {command}\n{result.output}"
        if error:        # the page shows the refusal (up to the numbers that depend on the machine's memory)
            assert result.exit_code == 1 and result.output.startswith(error.split(" and ")[0]), result.output
        else:
            assert result.exit_code == 0, f"{page.name}: {command}\n{result.output}"
        ran += 1
    assert ran, page.name


def test_the_pages_with_commands_are_covered():
    assert {p.name for p in PAGES} >= {"cycle.md", "eyeriss.md", "import.md", "llm.md", "report.md", "rtl.md",
                                       "scalesim.md", "serving.md", "sweep.md"}
