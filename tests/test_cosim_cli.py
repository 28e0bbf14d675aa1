"""`accelsim cosim`: the size guard, progress and every bad input as one `Error:` line (exit 1)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from accelsim import spec
from accelsim.cli import main
from accelsim.errors import AccelsimError
from accelsim.rtl import guard


@pytest.fixture
def runner():
    return CliRunner()


def _error(result, *fragments):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("args,fragments", [
    (["--hw", "eyeriss", "--dataflow", "ws"], ["eyeriss is not a systolic array", "multicast"]),
    (["--hw", "ideal_a100", "--dataflow", "ws"], ["ideal_a100 is not a systolic array", "roofline"]),
    (["--hw", "edge_16x16", "--dataflow", "rs"], ["dataflow rs has no RTL array"]),
    (["--hw", "edge_16x16", "--dataflow", "ws", "--seed", "-1"], ["--seed: must be >= 0 (got -1)"]),
    (["--hw", "edge_16x16", "--dataflow", "ws", "--gemm", f"2x2x{2**70}"],
     ["--gemm: N must be <= 1,048,576", "22-digit"]),
    (["--hw", "edge_16x16", "--dataflow", "ws", "--gemm", "2x2x" + "9" * 5000], ["5000-digit"]),
    (["--hw", "edge_16x16", "--dataflow", "ws", "--gemm", "1x1048577x1"], ["K must be <= 1,048,576"]),
    (["--hw", "edge_16x16", "--dataflow", "os", "--gemm", "0x4x4"], ["MxKxN with positive integers"]),
    # beyond the machine's memory: refused even with --force
    (["--hw", "edge_16x16", "--dataflow", "ws", "--gemm", "4096x4096x4096", "--force"],
     ["65,536 folds", "271,450,145 cycles", "more than this machine's"]),
    # the 256x256 array: its build alone is over the time limit; the numbers are shown
    (["--hw", "tpu_v1", "--dataflow", "ws", "--gemm", "4x4x4"],
     ["256x256 array, 1 fold, 1,283 cycles", "build 262 s", "the limit is 300 s", "--force"]),
])
def test_bad_input_is_one_error_line(runner, args, fragments):
    _error(runner.invoke(main, ["cosim", *args]), *fragments)


def test_input_stationary_command_and_progress(runner, monkeypatch):
    # the progress bar appears for runs estimated over 3 s: pretend this one is slow
    monkeypatch.setattr(guard, "SIM_S_PER_PE_CYCLE", 1e-2)
    slow = ["cosim", "--hw", "edge_16x16", "--dataflow", "is", "--gemm", "20x30x17", "--backend", "fast"]
    _error(runner.invoke(main, slow), "about 731 s", "the limit is 300 s")
    result = runner.invoke(main, [*slow, "--force"])
    assert result.exit_code == 0, result.output
    assert "estimate: 16x16 array, 4 folds, 285 cycles" in result.output
    assert "simulating cycles" in result.output
    assert "PASS: 20x30x17 int8 GEMM on a 16x16 IS array" in result.output


def test_estimate_hand_values():
    est = guard.estimate(16, 16, "ws", 64, 64, 64)
    # 16 folds of 2*16 + 16 + 64 - 2 = 110 cycles, then rows + cols + 1 idle steps
    assert (est.folds, est.cycles) == (16, 16 * 110 + 33)
    assert est.build_s == pytest.approx(256 * guard.BUILD_S_PER_PE)
    assert est.memory_bytes == guard.BASE_BYTES + 256 * guard.BYTES_PER_PE + guard.BYTES_PER_PORT_CYCLE * 34 * 1793
    # IS streams the N filters: 4 column folds over M = 64 pixels... on 16 columns, 4 row folds over K
    assert guard.estimate(16, 16, "is", 64, 64, 32).cycles == 16 * (2 * 16 + 16 + 32 - 2) + 33


def test_check_limits_and_force():
    est = guard.estimate(64, 64, "os", 64, 64, 64)
    with pytest.raises(AccelsimError, match="half the available memory is 50 MB"):
        guard.check(est, memory=(100_000_000, 10**12))
    guard.check(est, force=True, memory=(100_000_000, 10**12))
    with pytest.raises(AccelsimError, match="more than this machine's"):
        guard.check(est, force=True, memory=(10**12, 100_000_000))
    with pytest.raises(AccelsimError, match="the limit is 1.0 s"):
        guard.check(est, time_limit_s=1.0, memory=(10**12, 10**12))


def test_missing_verilator_is_one_error_line(runner, monkeypatch):
    from accelsim.rtl import verilog
    monkeypatch.setattr(verilog.shutil, "which", lambda name: None)
    result = runner.invoke(main, ["cosim", "--hw", "edge_16x16", "--dataflow", "ws", "--gemm", "4x4x4",
                                  "--verilator"])
    _error(result, "Verilator not found", "apt-get install -y verilator")


def test_compiled_backend(runner, tmp_path):
    small = (spec.ROOT / "hw" / "edge_16x16.yaml").read_text().replace("rows: 16", "rows: 3").replace(
        "cols: 16", "cols: 4").replace("name: edge_16x16", "name: edge_3x4")
    hw = tmp_path / "edge_3x4.yaml"
    hw.write_text(small)
    args = ["cosim", "--hw", str(hw), "--dataflow", "os", "--gemm", "5x6x7", "--backend", "compiled"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "PASS: 5x6x7 int8 GEMM on a 3x4 OS array" in result.output
    # the compiled simulation traces the output ports only
    _error(runner.invoke(main, [*args, "--check-registers"]), "--check-registers")
    est = guard.estimate(16, 16, "ws", 64, 64, 64, compiled=True)
    assert est.build_s == pytest.approx(256 * (guard.BUILD_S_PER_PE + guard.COMPILE_S_PER_PE))


def _small_hw(tmp_path, bandwidth="8"):
    text = (spec.ROOT / "hw" / "edge_16x16.yaml").read_text().replace("rows: 16", "rows: 3").replace(
        "cols: 16", "cols: 4").replace("name: edge_16x16", "name: edge_3x4").replace(
        "bandwidth_bytes_per_cycle: 8 ", f"bandwidth_bytes_per_cycle: {bandwidth} ")
    path = tmp_path / "edge_3x4.yaml"
    path.write_text(text)
    return str(path)


def test_memory_system_command(runner, tmp_path):
    hw = _small_hw(tmp_path, "0.5")
    args = ["cosim", "--hw", hw, "--dataflow", "is", "--gemm", "9x7x10", "--memory"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "PASS: 9x7x10 GEMM (P x K x M) on a 3x4 IS array, DRAM 0.5 B/cycle" in result.output
    # --latency replaces the hw's dram.latency_cycles for the RTL and the cycle-level simulator alike:
    # the same proof as a hw file that says latency_cycles: 6 (README's `--memory --latency 20`)
    late = runner.invoke(main, [*args, "--latency", "6"])
    assert late.exit_code == 0 and "PASS" in late.output and "latency 6" in late.output, late.output
    hw_late = _small_hw(tmp_path, "0.5\n  latency_cycles: 6")
    agree = runner.invoke(main, ["cosim", "--hw", hw_late, "--dataflow", "is", "--gemm", "9x7x10", "--memory"])
    assert agree.exit_code == 0 and "PASS" in agree.output and "latency 6" in agree.output, agree.output
    without_times = [line for line in late.output.splitlines() if "build" not in line]
    assert without_times == [line for line in agree.output.splitlines() if "build" not in line]
    assert late.output.splitlines()[2] != result.output.splitlines()[2]   # the latency changed the cycles
    _error(runner.invoke(main, [*args, "--latency", "-1"]), "--latency: must be >= 0")
    _error(runner.invoke(main, [*args, "--verilator"]), "apply to the array alone")
    unlimited = ["cosim", "--hw", _small_hw(tmp_path, "unlimited"), "--dataflow", "ws", "--memory"]
    _error(runner.invoke(main, unlimited), "finite bandwidth", "dram.bandwidth_bytes_per_cycle")


def test_auto_backend_compiles_long_runs_only():
    # 1,793 cycles on 16x16: FastSimulation (~3 s) beats a C compile of the netlist
    assert guard.choose_backend(16, 16, "ws", 64, 64, 64, False, True)[0] == "fast"
    # 16 folds of 100,000 waves: compiling pays off
    backend, est = guard.choose_backend(16, 16, "ws", 100_000, 64, 64, False, True)
    assert backend == "compiled"
    assert est.total_s < guard.estimate(16, 16, "ws", 100_000, 64, 64).total_s / 2
    # never without a C compiler, never when every register is compared
    assert guard.choose_backend(16, 16, "ws", 100_000, 64, 64, False, False)[0] == "fast"
    assert guard.choose_backend(16, 16, "ws", 100_000, 64, 64, True, True)[0] == "fast"
