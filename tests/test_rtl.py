"""RTL co-simulation: the PyRTL arrays are bit- and cycle-exact against numpy and accelsim's timing."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import AccelsimError
from accelsim.rtl import cosim, verilog
from accelsim.rtl.array import ArrayConfig, build_array
from accelsim.rtl.model import RegisterModel, output_steps
from accelsim.rtl.timing import fold_cycles

DATAFLOWS = ("ws", "os", "is")


def _numpy_int32(a, b):
    """numpy's own int32 matmul, which wraps on overflow."""
    return np.asarray(a, dtype=np.int32) @ np.asarray(b, dtype=np.int32)


def _run(a, b, rows, cols, dataflow, **kw):
    res = cosim.run_gemm(a, b, rows, cols, dataflow, **kw)
    assert res.ok, res.summary()
    return res


# --- timing: hand-computed ------------------------------------------------------------------------

def test_fold_cycles_hand_values():
    assert fold_cycles(4, 4, 8, "ws") == 2 * 4 + 4 + 8 - 2 == 18
    assert fold_cycles(4, 4, 8, "os") == 18
    assert fold_cycles(4, 4, 8, "os", scalesim=True) == 8 + 4 + 4 - 2
    assert fold_cycles(4, 4, 8, "ws", scalesim=True) == 18
    assert fold_cycles(16, 16, 64, "ws") == 110


def test_fold_cycles_rejects_bad_arguments():
    with pytest.raises(ValueError, match="stationary"):
        fold_cycles(2, 2, 2, "rs")
    with pytest.raises(ValueError, match=">= 1"):
        fold_cycles(0, 2, 2, "ws")


def test_output_steps_hand_values():
    # WS 2x2, t=3: rows leave at 2*2+2-1 = 5, 6, 7 and the fold is 7 cycles
    assert output_steps(ArrayConfig(2, 2, "ws"), 3).tolist() == [5, 6, 7]
    # OS 2x3, t=4: fold is 4+4+3-2 = 9; bottom row at 8, top row (the last) at 9
    assert output_steps(ArrayConfig(2, 3, "os"), 4).tolist() == [8, 9]


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_single_fold_is_exactly_fold_cycles(dataflow):
    a = np.array([[1, 2], [3, 4], [5, 6]])
    b = np.array([[1, -1], [2, 7]])
    # WS: K=2 rows x N=2 cols, t=M=3; IS: K=2 rows x M=3 cols, t=N=2; OS: M=3 rows x N=2 cols, t=K=2
    rows, cols = (3, 2) if dataflow == "os" else (2, 3 if dataflow == "is" else 2)
    res = _run(a, b, rows, cols, dataflow)
    assert res.folds == 1
    t = {"ws": 3, "is": 2, "os": 2}[dataflow]
    assert res.rtl_cycles == res.model_cycles == 2 * rows + cols + t - 2
    assert res.output.tolist() == (a @ b).tolist()


def test_input_stationary_holds_the_ifmap_and_streams_filters():
    # IS 2x2, A [2 pixels, K=2], B [K=2, 3 filters]: PE(r, c) keeps A[c][r]; wave j is filter j
    a = np.array([[1, 2], [3, 4]])
    b = np.array([[1, 0, -1], [2, 5, 7]])
    array = build_array(ArrayConfig(2, 2, "is"))
    assert array.pe_registers["i"][1][0] == "i_1_0" and set(array.pe_registers) == {"i", "f", "p"}
    sim = array.simulation()
    stim = cosim._stimulus(array.config, cosim._folds(array.config, a, b), fold_cycles(2, 2, 3, "is"))
    for inputs in stim[:2]:
        sim.step(dict(inputs))
    sim.step(dict(stim[2]))
    held = [[sim.inspect(f"i_{r}_{c}") for c in range(2)] for r in range(2)]
    assert held == a.T.tolist()
    res = _run(a, b, 2, 2, "is", array=array)
    assert res.output.tolist() == (a @ b).tolist()
    # one fold of 2*2 + 2 + 3 - 2 = 7 cycles; filter j leaves at step 2*2 + 2 - 1 + j = 5, 6, 7
    assert output_steps(array.config, 3).tolist() == [5, 6, 7] and res.rtl_cycles == 7


# --- random tiles, every array size, every PE register on small arrays ----------------------------

SHAPES = [(2, 2), (3, 4), (4, 4), (8, 8)]
GEMMS = [(5, 7, 6), (8, 8, 8), (3, 11, 9)]  # partial tiles, K not a multiple of the array


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize("rows,cols", SHAPES)
@pytest.mark.parametrize("gemm", GEMMS)
def test_random_gemm_bit_and_cycle_exact(rows, cols, dataflow, gemm):
    m, k, n = gemm
    rng = np.random.default_rng(rows * 100 + cols + 7 * m)
    a = rng.integers(-128, 128, (m, k))
    b = rng.integers(-128, 128, (k, n))
    res = _run(a, b, rows, cols, dataflow, check_registers=True)
    assert res.registers_checked > 0
    assert np.array_equal(res.output, _numpy_int32(a, b))
    row_axis, col_axis, t = {"ws": (k, n, m), "is": (k, m, n), "os": (m, n, k)}[dataflow]
    folds = -(-row_axis // rows) * -(-col_axis // cols)
    assert res.folds == folds
    assert res.model_cycles == res.rtl_cycles == folds * fold_cycles(rows, cols, t, dataflow)


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_16x16_array_bit_and_cycle_exact(dataflow):
    rng = np.random.default_rng(1616)
    a = rng.integers(-128, 128, (20, 37))
    b = rng.integers(-128, 128, (37, 18))
    res = _run(a, b, 16, 16, dataflow)
    assert np.array_equal(res.output, _numpy_int32(a, b))
    t = {"ws": 20, "is": 18, "os": 37}[dataflow]
    assert res.rtl_cycles == res.folds * fold_cycles(16, 16, t, dataflow)


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize("fill_a,fill_b", [(-128, -128), (127, 127), (-128, 127), (127, -128)])
def test_extremes_int8(dataflow, fill_a, fill_b):
    a = np.full((6, 9), fill_a)
    b = np.full((9, 5), fill_b)
    res = _run(a, b, 4, 4, dataflow, check_registers=True)
    assert np.array_equal(res.output, _numpy_int32(a, b))


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_mixed_extremes_int8(dataflow):
    a = np.tile([-128, 127, 0, -1, 1], (4, 2))[:, :9]
    b = np.tile([[127], [-128], [-1]], (3, 5))
    res = _run(a, b, 3, 4, dataflow, check_registers=True)
    assert np.array_equal(res.output, _numpy_int32(a, b))


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_int16_accumulator_wraps_like_numpy_int32(dataflow):
    # (-32768)^2 = 2^30; four of them sum to 2^32, which wraps to 0; three to -2^30
    a = np.full((3, 4), -32768)
    b = np.full((4, 2), -32768)
    b[3, 1] = 0
    res = _run(a, b, 2, 2, dataflow, operand_bits=16, check_registers=True)
    expected = _numpy_int32(a, b)
    assert expected[0].tolist() == [0, -(1 << 30)]
    assert np.array_equal(res.output, expected)


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_int8_with_16_bit_accumulator_wraps(dataflow):
    a = np.full((2, 3), -128)
    b = np.full((3, 2), -128)
    res = _run(a, b, 2, 2, dataflow, acc_bits=16, check_registers=True)
    # 3 * 16384 = 49152 -> 49152 - 65536 = -16384
    assert res.output.tolist() == [[-16384, -16384], [-16384, -16384]]


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_int16_random_on_simulation_backend(dataflow):
    rng = np.random.default_rng(16)
    a = rng.integers(-32768, 32768, (5, 6))
    b = rng.integers(-32768, 32768, (6, 3))
    res = _run(a, b, 3, 2, dataflow, operand_bits=16, fast=False, check_registers=True)
    assert np.array_equal(res.output, _numpy_int32(a, b))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(rows=st.integers(1, 5), cols=st.integers(1, 5), m=st.integers(1, 7), k=st.integers(1, 7),
       n=st.integers(1, 7), dataflow=st.sampled_from(DATAFLOWS), operand_bits=st.sampled_from((8, 16)),
       seed=st.integers(0, 2**16))
def test_property_any_small_shape(rows, cols, m, k, n, dataflow, operand_bits, seed):
    rng = np.random.default_rng(seed)
    lo = -(1 << (operand_bits - 1))
    a = rng.integers(lo, -lo, (m, k))
    b = rng.integers(lo, -lo, (k, n))
    res = _run(a, b, rows, cols, dataflow, operand_bits=operand_bits, check_registers=True)
    assert np.array_equal(res.output, _numpy_int32(a, b))
    assert res.rtl_cycles == res.model_cycles


# --- the harness reports the first mismatch ------------------------------------------------------

def test_reports_cycle_mismatch(monkeypatch):
    monkeypatch.setattr(cosim, "output_steps", lambda cfg, t: output_steps(cfg, t) + 1)
    a = np.ones((3, 2), dtype=np.int64)
    res = cosim.run_gemm(a, a.T, 2, 2, "ws")
    assert not res.ok and not res.cycle_exact
    assert res.first_mismatch == "cycle 5: out_valid RTL 1, model 0"


def test_reports_value_mismatch(monkeypatch):
    real = cosim.fold_outputs
    monkeypatch.setattr(cosim, "fold_outputs", lambda cfg, s, w: real(cfg, s, w) + 1)
    a = np.ones((3, 2), dtype=np.int64)
    res = cosim.run_gemm(a, a.T, 2, 2, "os")
    assert not res.ok
    # OS 2x2, K=2: fold of 2*2+2+2-2 = 6 cycles, bottom row out at cycle 5
    assert res.first_mismatch == "cycle 5 (fold 0): out_0 RTL 2, model 3"


def test_reports_register_mismatch(monkeypatch):
    class Broken(RegisterModel):
        def step(self, inputs):
            out = super().step(inputs)
            self.a[1, 1] += 1
            return out

    monkeypatch.setattr(cosim, "RegisterModel", Broken)
    a = np.ones((3, 2), dtype=np.int64)
    res = cosim.run_gemm(a, a.T, 2, 2, "ws", check_registers=True)
    assert res.bit_exact and res.cycle_exact and not res.registers_exact
    assert res.first_mismatch == "cycle 1: PE(1, 1) register a_1_1 RTL 0, model 1"


# --- user errors, configuration, outputs ----------------------------------------------------------

def test_rejects_bad_operands():
    with pytest.raises(AccelsimError, match=r"int8 \[-128, 127\]"):
        cosim.run_gemm(np.full((2, 2), 128), np.ones((2, 2), dtype=int), 2, 2, "ws")
    with pytest.raises(AccelsimError, match="A \\[M, K\\] and B \\[K, N\\]"):
        cosim.run_gemm(np.ones((2, 3), dtype=int), np.ones((2, 2), dtype=int), 2, 2, "ws")
    with pytest.raises(AccelsimError, match="integers"):
        cosim.run_gemm(np.ones((2, 2)), np.ones((2, 2)), 2, 2, "ws")


@pytest.mark.parametrize("kwargs,match", [
    (dict(rows=2, cols=2, dataflow="rs"), "dataflow"),
    (dict(rows=0, cols=2, dataflow="ws"), "rows and cols"),
    (dict(rows=2, cols=2, dataflow="ws", operand_bits=4), "operand_bits"),
    (dict(rows=2, cols=2, dataflow="ws", operand_bits=16, acc_bits=24), "acc_bits"),
])
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ArrayConfig(**kwargs)


def test_reuses_a_built_array_and_rejects_a_different_one():
    array = build_array(ArrayConfig(2, 2, "os"))
    a = np.arange(4).reshape(2, 2)
    assert _run(a, a, 2, 2, "os", array=array).build_s < 1
    with pytest.raises(ValueError, match="array is"):
        cosim.run_gemm(a, a, 2, 2, "ws", array=array)


def test_vcd_and_verilog_written(tmp_path):
    a = np.arange(4).reshape(2, 2)
    _run(a, a, 2, 2, "ws", vcd_path=str(tmp_path / "out.vcd"))
    assert "$var" in (tmp_path / "out.vcd").read_text()
    build_array(ArrayConfig(2, 2, "os")).to_verilog(str(tmp_path / "array.v"))
    text = (tmp_path / "array.v").read_text()
    assert "module toplevel" in text and "acc_1_1" in text


def test_summary_names_the_figures():
    a = np.arange(6).reshape(2, 3)
    text = _run(a, a.T, 2, 2, "ws").summary()
    assert text.startswith("PASS: 2x3x2 int8 GEMM on a 2x2 WS array")
    # K=3 on 2 rows: 2 folds of 2*2+2+2-2 = 6 cycles (t = M = 2)
    assert "folds 2 x 6 cycles = 12 (model); RTL last output at cycle 12" in text


# --- second simulator: Icarus Verilog ------------------------------------------------------------

# CI sets ACCELSIM_REQUIRE_IVERILOG=1 so that a missing iverilog fails instead of skipping
needs_iverilog = pytest.mark.skipif(
    shutil.which("iverilog") is None and not os.environ.get("ACCELSIM_REQUIRE_IVERILOG"),
    reason="Icarus Verilog not installed (apt-get install -y iverilog)")


@needs_iverilog
@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize("rows,cols,operand_bits", [(3, 4, 8), (3, 4, 16), (8, 8, 8)])
def test_icarus_replay_matches_pyrtl_every_cycle(dataflow, rows, cols, operand_bits, tmp_path):
    rng = np.random.default_rng(rows + operand_bits)
    lo = -(1 << (operand_bits - 1))
    a = rng.integers(lo, -lo, (9, 10))
    b = rng.integers(lo, -lo, (10, 7))
    res = _run(a, b, rows, cols, dataflow, operand_bits=operand_bits, icarus=True,
               verilog_dir=str(tmp_path))
    assert res.icarus_exact is True
    assert np.array_equal(res.output, _numpy_int32(a, b))
    assert "module toplevel" in (tmp_path / "array.v").read_text()


@needs_iverilog
def test_icarus_mismatch_is_reported(monkeypatch):
    real = verilog.replay_icarus

    def flipped(array, stim, workdir=None):
        ports = real(array, stim, workdir)
        ports["out_1"][6] ^= 4
        return ports

    monkeypatch.setattr(verilog, "replay_icarus", flipped)
    a = np.ones((3, 2), dtype=np.int64)
    res = cosim.run_gemm(a, a.T, 2, 2, "ws", icarus=True)
    assert res.bit_exact and res.cycle_exact and res.icarus_exact is False and not res.ok
    assert res.first_mismatch == "cycle 6: out_1 Icarus 6, PyRTL 2 (bit patterns)"


def test_missing_iverilog_is_a_user_error(monkeypatch):
    monkeypatch.setattr(verilog.shutil, "which", lambda name: None)
    a = np.ones((2, 2), dtype=np.int64)
    with pytest.raises(AccelsimError, match="apt-get install -y iverilog"):
        cosim.run_gemm(a, a, 2, 2, "os", icarus=True)


# --- entry point for `accelsim cosim` -------------------------------------------------------------

def test_parse_gemm():
    assert cosim.parse_gemm("64x32x16") == (64, 32, 16)
    for bad in ("64x64", "0x1x1", "axbxc", "1x2x3x4"):
        with pytest.raises(AccelsimError, match="MxKxN"):
            cosim.parse_gemm(bad)


def test_cosim_random_gemm_and_its_user_errors():
    res = cosim.cosim_random_gemm(4, 4, "os", "6x5x7", seed=3)
    assert res.ok and (res.m, res.k, res.n) == (6, 5, 7)
    with pytest.raises(AccelsimError, match="no RTL array"):
        cosim.cosim_random_gemm(4, 4, "rs", "4x4x4")
    with pytest.raises(AccelsimError, match="word_bits"):
        cosim.cosim_random_gemm(4, 4, "ws", "4x4x4", operand_bits=32)


# --- third simulator: Verilator (compiled) --------------------------------------------------------

# CI sets ACCELSIM_REQUIRE_VERILATOR=1 so that a missing verilator fails instead of skipping
needs_verilator = pytest.mark.skipif(
    shutil.which("verilator") is None and not os.environ.get("ACCELSIM_REQUIRE_VERILATOR"),
    reason="Verilator not installed (apt-get install -y verilator)")


@needs_verilator
@pytest.mark.parametrize("dataflow,operand_bits", [("is", 8), ("os", 16)])
def test_verilator_replay_matches_pyrtl_every_cycle(dataflow, operand_bits, tmp_path):
    rng = np.random.default_rng(3 + operand_bits)
    lo = -(1 << (operand_bits - 1))
    a = rng.integers(lo, -lo, (7, 9))
    b = rng.integers(lo, -lo, (9, 5))
    res = _run(a, b, 3, 4, dataflow, operand_bits=operand_bits, verilator=True, verilog_dir=str(tmp_path))
    assert res.verilator_exact is True and res.icarus_exact is None
    assert np.array_equal(res.output, _numpy_int32(a, b))
    assert "Verilator True" in res.summary()
    assert (tmp_path / "verilator" / "obj_dir" / "Vtoplevel").is_file()


def test_verilator_mismatch_and_missing_verilator(monkeypatch):
    a = np.ones((3, 2), dtype=np.int64)

    def replay(array, stim, workdir=None):
        ports = {"out_valid": np.zeros(len(stim), dtype=np.int64)}
        ports.update({f"out_{c}": np.zeros(len(stim), dtype=np.int64) for c in range(array.config.cols)})
        return ports

    monkeypatch.setattr(verilog, "replay_verilator", replay)
    res = cosim.run_gemm(a, a.T, 2, 2, "ws", verilator=True)
    assert res.bit_exact and res.verilator_exact is False and not res.ok
    assert res.first_mismatch == "cycle 5: out_0 Verilator 0, PyRTL 2 (bit patterns)"
    monkeypatch.undo()
    monkeypatch.setattr(verilog.shutil, "which", lambda name: None)
    with pytest.raises(AccelsimError, match="apt-get install -y verilator"):
        cosim.run_gemm(a, a.T, 2, 2, "ws", verilator=True)
