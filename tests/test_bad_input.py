"""Bad input of every kind gets one `Error:` line naming the file, key or flag and exit code 1:
sizes beyond what 64-bit counts hold, deep nesting, huge integers, duplicate keys, non-regular
files, and values too long to echo in full."""
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.errors import SHOWN_CHARS, shown

ROOT = Path(__file__).resolve().parent.parent
EDGE = (ROOT / "hw" / "edge_16x16.yaml").read_text()


def _invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output and not isinstance(result.exception, (RecursionError, OverflowError,
                                                                                   ValueError, OSError)), result.output
    return result


def _user_error(*args):
    result = _invoke(*args)
    assert result.exit_code == 1 and result.output.startswith("Error: "), result.output
    return result.output


def _hw(tmp_path, old, new, name="big.yaml"):
    assert old in EDGE
    path = tmp_path / name
    path.write_text(EDGE.replace(old, new))
    return path


@pytest.mark.parametrize("size", ["1.0e+30", str(2**70), "1073741825"])
def test_sram_sizes_beyond_the_bound_are_refused_in_validate(tmp_path, size):
    path = _hw(tmp_path, "ifmap:  {size_kib: 32}", f"ifmap:  {{size_kib: {size}}}")
    out = _user_error("validate", path)
    assert f"{path}: sram.ifmap.size_kib: must be at most 1,073,741,824" in out


def test_the_largest_admitted_sizes_run(tmp_path):
    """SRAM buffers of 2^30 KiB, a 4096-row array and the slowest DRAM validate and run."""
    path = _hw(tmp_path, "ifmap:  {size_kib: 32}", "ifmap:  {size_kib: 1073741824}")
    path.write_text(path.read_text().replace("rows: 16", "rows: 4096").replace("bandwidth_bytes_per_cycle: 8",
                                                                                "bandwidth_bytes_per_cycle: 0.25"))
    assert _invoke("validate", path).exit_code == 0
    for dataflow in ("ws", "os", "is"):
        result = _invoke("run", "--hw", path, "--workload", "alexnet", "--dataflow", dataflow, "--quiet",
                         "--out", tmp_path / dataflow)
        assert result.exit_code == 0, result.output
        assert "-" not in result.output.split("MACs in")[1].split("cycles")[0]       # no wrapped count


@pytest.mark.parametrize("old,new,where", [
    ("rows: 16", "rows: 4097", "array.rows: must be <= 4096"),
    ("bandwidth_bytes_per_cycle: 8", "bandwidth_bytes_per_cycle: 0.001", "dram.bandwidth_bytes_per_cycle: must be a number > 0 or the string unlimited (numbers from 0.25"),
    ("bandwidth_bytes_per_cycle: 8", f"bandwidth_bytes_per_cycle: {2**70}", "to 2^40; got 1180591620717411303424"),
    ("clock_mhz: 500", f"clock_mhz: {2**70}", "clock_mhz: must be at most"),
])
def test_hw_bounds(tmp_path, old, new, where):
    assert where in _user_error("validate", _hw(tmp_path, old, new))


@pytest.mark.parametrize("flag,value,message", [
    ("--sram-kb", "1e30", "sram_kb: sizes must be > 0, at most 1073741824 KiB"),
    ("--array", f"{2**70}x8", "array: rows and cols must be from 1 to 4096"),
    ("--dram-bw", "1e-9", "dram_bw: must be bytes per cycle > 0 or unlimited (numbers from 0.25"),
])
def test_sweep_axes_bounded_like_validate(tmp_path, flag, value, message):
    out = _user_error("sweep", "--hw", "edge_16x16", "--workload", "alexnet", "--dataflow", "ws", flag, value,
                      "--out", tmp_path / "s")
    assert message in out and not (tmp_path / "s").exists()


def test_echoed_values_are_truncated(tmp_path):
    long = "x" * 100_000
    out = _user_error("validate", _hw(tmp_path, "precision: int8", f"precision: {long}"))
    assert "precision: must be one of" in out and "\u2026" in out and len(out) < 1000
    assert shown(long).endswith("\u2026") and len(shown(long)) == SHOWN_CHARS
    assert shown(10**5000) == "an integer of about 5,001 digits"
