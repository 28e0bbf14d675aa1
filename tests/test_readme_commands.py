"""README's "Using it" commands, run in order as a new user types them (optional [...] parts left
out), in a fresh folder: each exits 0, and a command that reads what an earlier one wrote finds it.
Commands that need the user's own files (measurements of their GPU, their ONNX, Timeloop or ZigZag
files) are left to the pages that run them with committed files (docs/import.md, docs/onnx.md,
docs/silicon.md: tests/test_import_*.py, test_onnx_import.py, test_gpu.py)."""
import glob
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from accelsim.cli import main

ROOT = Path(__file__).resolve().parent.parent
USER_FILES = ("my_gpu/", "model.onnx", "arch.yaml", "tpu_like.yaml")


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Using it\n\n```\n(.*?)```", text, re.S).group(1)
    commands = []
    for line in block.splitlines():
        line = re.split(r"\s{2,}#", line)[0]               # the trailing comment
        while re.search(r"\[[^\[\]]*\]", line):              # optional parts, innermost first
            line = re.sub(r"\s*\[[^\[\]]*\]", "", line)
        commands += [part.strip() for part in line.split(";") if part.strip()]
    return commands


def test_readme_commands_run_in_order(tmp_path, monkeypatch):
    commands = _commands()
    assert commands[0] == "accelsim list" and len(commands) >= 20
    for name in ("hw", "workloads", "dataflows"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "my_net.yaml").write_text("name: my_net\nlayers:\n  - {name: c1, type: conv, C: 3, H: 32, W: 32, "
                                          "M: 16, R: 3, S: 3}\n")
    case = ROOT / "tests" / "data" / "scalesim" / "cases" / "calc_alexnet_Conv1_32x32_ws"
    shutil.copy(case / "cfg.cfg", tmp_path / "scale.cfg")
    shutil.copy(case / "topo.csv", tmp_path / "alexnet.csv")
    monkeypatch.chdir(tmp_path)
    ran = 0
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "accelsim", command
        if any(f in command for f in USER_FILES):
            continue
        args = [match for word in words[1:] for match in (sorted(glob.glob(word)) if "*" in word else [word])]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, f"{command}\n{result.output}"
        assert "Traceback" not in result.output
        ran += 1
    assert ran >= len(commands) - 4
    assert (tmp_path / "compare.html").is_file() and (tmp_path / "results" / "alexnet_os" / "report.html").is_file()


@pytest.mark.parametrize("command", [c for c in _commands() if any(f in c for f in USER_FILES)])
def test_readme_commands_for_user_files_parse(command):
    """The commands left out above still name real options: --help of the same command line parses."""
    words = shlex.split(command)
    head = [w for w in words[1:3] if not w.startswith("-") and "." not in w]
    result = CliRunner().invoke(main, head + ["--help"])
    assert result.exit_code == 0, result.output
    options = set(re.findall(r"(--[a-z][a-z-]*)", result.output)) | {"-o"}
    assert {w for w in words if w.startswith("-")} <= options, command
