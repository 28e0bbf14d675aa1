"""Co-simulation: drive a GEMM through a PyRTL array and check it against numpy and the models.

The GEMM ``A [M, K] @ B [K, N]`` is folded as accelsim folds it (accelsim/model.py, "Folding"):
weight stationary puts K on the array rows, the N filters on the columns and streams the M ifmap
rows over time; input stationary puts K on the rows, the M ifmap rows (output pixels) on the
columns and streams the N filters; output stationary puts M on the rows, N on the columns and
streams K. Column folds are the outer loop, row folds the inner one; partial folds are padded with
zeros, and WS / IS partial sums of successive row folds (over K) are added outside the array with
the same ``acc_bits`` wrap-around.

Checks, each reporting the first differing cycle, PE or column and values:

(a) bit-exactness: the GEMM assembled from the RTL's output stream equals numpy
    (int64 product sums wrapped to ``acc_bits``) and the fold-by-fold functional model;
(b) cycle-exactness: the RTL's ``out_valid``/``out_<c>`` stream equals the stream predicted from
    :func:`accelsim.rtl.model.output_steps` (hence from :func:`accelsim.rtl.timing.fold_cycles`),
    and the last output appears at step folds x fold_cycles;
(c) optionally (small arrays) every PE register on every cycle equals
    :class:`accelsim.rtl.model.RegisterModel`;
(d) optionally every output port on every cycle of the same stimulus replayed under Icarus Verilog
    or Verilator (:mod:`accelsim.rtl.verilog`) equals PyRTL's.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AccelsimError
from . import guard, verilog
from .array import DATAFLOWS, STATIONARY_NAMES, ArrayConfig, SystolicArray, build_array
from .model import RegisterModel, fold_outputs, output_steps, wrap
from .timing import fold_cycles


@dataclass(frozen=True)
class CosimResult:
    """Summary of one co-simulated GEMM; ``ok`` when every check passed."""

    dataflow: str
    rows: int
    cols: int
    m: int
    k: int
    n: int
    operand_bits: int
    acc_bits: int
    folds: int
    cycles_per_fold: int
    model_cycles: int           # folds x cycles_per_fold (accelsim's compute cycles)
    rtl_cycles: int             # step at which the RTL's last output appeared (-1: none)
    outputs_checked: int        # GEMM outputs compared bit for bit
    registers_checked: int      # register values compared against the register model
    bit_exact: bool
    cycle_exact: bool
    registers_exact: bool
    icarus_exact: bool | None   # None: the Verilog replay was not run
    verilator_exact: bool | None  # None: the Verilator replay was not run
    first_mismatch: str | None  # first failing check, with cycle, PE/column and values
    build_s: float
    simulate_s: float
    output: np.ndarray = field(repr=False, compare=False)  # the GEMM from the RTL stream

    @property
    def ok(self) -> bool:
        return (self.bit_exact and self.cycle_exact and self.registers_exact
                and self.icarus_exact is not False and self.verilator_exact is not False)

    def summary(self) -> str:
        status = "PASS" if self.ok else "FAIL"
        lines = [
            f"{status}: {self.m}x{self.k}x{self.n} int{self.operand_bits} GEMM on a {self.rows}x{self.cols} "
            f"{self.dataflow.upper()} array (acc {self.acc_bits} bits)",
            f"  folds {self.folds} x {self.cycles_per_fold} cycles = {self.model_cycles} (model); "
            f"RTL last output at cycle {self.rtl_cycles}",
            f"  bit-exact {self.bit_exact} ({self.outputs_checked} outputs), cycle-exact "
            f"{self.cycle_exact}, registers {self.registers_exact} ({self.registers_checked} checked)"
            + ("" if self.icarus_exact is None else f", Icarus Verilog {self.icarus_exact}")
            + ("" if self.verilator_exact is None else f", Verilator {self.verilator_exact}"),
            f"  build {self.build_s:.3f} s, simulate {self.simulate_s:.3f} s",
        ]
        if self.first_mismatch:
            lines.append(f"  first mismatch: {self.first_mismatch}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Fold:
    row_fold: int
    col_fold: int
    stream: np.ndarray       # WS: [M, rows]; IS: [N, rows] (B transposed); OS: [rows, K]
    stationary: np.ndarray   # WS: [rows, cols]; IS: [rows, cols] (A transposed); OS: [K, cols]
    t: int


def _pad(x: np.ndarray, shape) -> np.ndarray:
    out = np.zeros(shape, dtype=np.int64)
    out[: x.shape[0], : x.shape[1]] = x
    return out


def _folds(cfg: ArrayConfig, a: np.ndarray, b: np.ndarray) -> list[_Fold]:
    rows, cols = cfg.rows, cfg.cols
    m, k = a.shape
    n = b.shape[1]
    row_axis = m if cfg.dataflow == "os" else k
    col_axis = m if cfg.dataflow == "is" else n
    folds = []
    for cf in range(-(-col_axis // cols)):
        cs = slice(cf * cols, (cf + 1) * cols)
        for rf in range(-(-row_axis // rows)):
            rs = slice(rf * rows, (rf + 1) * rows)
            if cfg.dataflow == "ws":
                folds.append(_Fold(rf, cf, _pad(a[:, rs], (m, rows)), _pad(b[rs, cs], (rows, cols)), m))
            elif cfg.dataflow == "is":
                folds.append(_Fold(rf, cf, _pad(b[rs, :].T, (n, rows)), _pad(a[cs, rs].T, (rows, cols)), n))
            else:
                folds.append(_Fold(rf, cf, _pad(a[rs, :], (rows, k)), _pad(b[:, cs], (k, cols)), k))
    return folds


def _stimulus(cfg: ArrayConfig, folds: list[_Fold], length: int) -> list[dict]:
    """Input dict per step (every port, unsigned bit patterns), folds back to back, then
    ``rows + cols + 1`` idle steps: one to see the last output, the rest to catch late outputs."""
    mask = (1 << cfg.operand_bits) - 1
    rows, cols = cfg.rows, cfg.cols
    if cfg.dataflow == "os":
        load, stat_in, stream_in, valid = "last", "b_in", "a_in", None
        names = ["last"] + [f"b_in_{c}" for c in range(cols)]
    else:
        load, stat_in, _, stream_in, _, valid = STATIONARY_NAMES[cfg.dataflow]
        names = [load, valid] + [f"{stat_in}_{c}" for c in range(cols)]
    idle = dict.fromkeys(names + [f"{stream_in}_{r}" for r in range(rows)], 0)
    steps = [dict(idle) for _ in range(len(folds) * length + rows + cols + 1)]
    for f, fold in enumerate(folds):
        s0 = f * length
        stream = (fold.stream & mask).tolist()
        stat = (fold.stationary & mask).tolist()
        if valid is not None:
            for j in range(rows):
                d = steps[s0 + j]
                d[load] = 1
                d.update({f"{stat_in}_{c}": stat[rows - 1 - j][c] for c in range(cols)})
            for i in range(fold.t):
                d = steps[s0 + rows + i]
                d[valid] = 1
                d.update({f"{stream_in}_{r}": stream[i][r] for r in range(rows)})
        else:
            for kk in range(fold.t):
                d = steps[s0 + kk]
                d.update({f"a_in_{r}": stream[r][kk] for r in range(rows)})
                d.update({f"b_in_{c}": stat[kk][c] for c in range(cols)})
                d["last"] = int(kk == fold.t - 1)
    return steps


def _assemble(cfg: ArrayConfig, folds: list[_Fold], rows_out: list[np.ndarray], m: int, n: int):
    """The GEMM from each fold's output rows (in leaving order), WS partial sums wrapped."""
    out = np.zeros((m, -(-n // cfg.cols) * cfg.cols), dtype=np.int64)
    if cfg.dataflow == "os":
        out = np.zeros((-(-m // cfg.rows) * cfg.rows, out.shape[1]), dtype=np.int64)
    if cfg.dataflow == "is":
        out = np.zeros((-(-m // cfg.cols) * cfg.cols, n), dtype=np.int64)
    for fold, rows in zip(folds, rows_out):
        cs = slice(fold.col_fold * cfg.cols, (fold.col_fold + 1) * cfg.cols)
        if cfg.dataflow == "ws":
            out[:, cs] = wrap(out[:, cs] + rows, cfg.acc_bits)
        elif cfg.dataflow == "is":
            out[cs, :] = wrap(out[cs, :] + rows.T, cfg.acc_bits)
        else:
            out[fold.row_fold * cfg.rows:(fold.row_fold + 1) * cfg.rows, cs] = rows[::-1]
    return out[:m, :n]


def _check_operands(a, b, operand_bits):
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise AccelsimError(f"cosim: need A [M, K] and B [K, N], got shapes {a.shape} and {b.shape}")
    if a.size == 0 or b.size == 0:
        raise AccelsimError(f"cosim: empty GEMM ({a.shape} @ {b.shape})")
    lo, hi = -(1 << (operand_bits - 1)), (1 << (operand_bits - 1)) - 1
    for name, x in (("A", a), ("B", b)):
        if not np.issubdtype(x.dtype, np.integer):
            raise AccelsimError(f"cosim: {name} must hold integers, got dtype {x.dtype}")
        if x.min() < lo or x.max() > hi:
            raise AccelsimError(f"cosim: {name} has values outside int{operand_bits} "
                                f"[{lo}, {hi}] (min {x.min()}, max {x.max()})")
    return a.astype(np.int64), b.astype(np.int64)


def run_gemm(a, b, rows: int, cols: int, dataflow: str, operand_bits: int = 8, acc_bits: int = 32,
             check_registers: bool = False, array: SystolicArray | None = None, fast: bool = True,
             vcd_path: str | None = None, icarus: bool = False,
             verilog_dir: str | None = None, progress=None, verilator: bool = False,
             compiled: bool = False) -> CosimResult:
    """Co-simulate ``a @ b`` on a ``rows`` x ``cols`` ``dataflow`` array; see the module docstring.

    ``array`` reuses an already built array of the same configuration (build time is then 0).
    ``vcd_path`` writes the waveform of every wire (slow; small GEMMs only). ``icarus`` replays
    the stimulus under Icarus Verilog and compares every output port on every cycle;
    ``verilog_dir`` keeps its files (array.v, tb.v, stim.hex, out.txt). ``verilator`` does the same
    under Verilator (files in ``verilog_dir``/verilator when given). ``compiled`` simulates with
    PyRTL's CompiledSimulation instead of FastSimulation (not with ``check_registers`` or
    ``vcd_path``, which inspect every register). ``progress``, if given,
    is called as ``progress(steps_done, steps_total)`` every few thousand simulated cycles.
    """
    a, b = _check_operands(a, b, operand_bits)
    if compiled and (check_registers or vcd_path is not None):
        raise AccelsimError("cosim: the compiled simulation traces the output ports only; "
                            "--check-registers and --vcd need the default backend")
    m, n = a.shape[0], b.shape[1]
    t0 = time.perf_counter()
    cfg = ArrayConfig(rows, cols, dataflow, operand_bits, acc_bits)
    if array is None:
        array = build_array(cfg)
    elif array.config != cfg:
        raise ValueError(f"array is {array.config}, asked for {cfg}")
    sim = array.simulation(trace=vcd_path is not None, fast=fast, compiled=compiled)
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    folds = _folds(cfg, a, b)
    t = folds[0].t
    length = fold_cycles(rows, cols, t, dataflow)
    stim = _stimulus(cfg, folds, length)
    exp_valid, exp_out, model_rows = _expected_stream(cfg, folds, length, len(stim))
    rtl_valid, rtl_raw, reg_count, reg_mismatch = _simulate(
        sim, array, stim, exp_valid, check_registers, every_cycle=icarus or verilator, progress=progress)
    rtl_out = wrap(rtl_raw, acc_bits)
    if vcd_path is not None:
        with open(vcd_path, "w") as fh:
            sim.tracer.print_vcd(fh)

    # (b) the cycle-stamped output stream
    bad = np.flatnonzero((rtl_valid != exp_valid)
                         | ((exp_valid == 1) & (rtl_out != exp_out).any(axis=1)))
    mismatch = _stream_mismatch(int(bad[0]), rtl_valid, rtl_out, exp_valid, exp_out,
                                length) if bad.size else None
    valid_steps = np.flatnonzero(rtl_valid)
    rtl_cycles = int(valid_steps[-1]) if valid_steps.size else -1
    model_cycles = len(folds) * length
    cycle_exact = bad.size == 0 and rtl_cycles == model_cycles

    # (a) the GEMM from the RTL stream (in arrival order, whatever its timing)
    per_fold = rows if dataflow == "os" else t
    reference = wrap(a @ b, acc_bits)
    model_gemm = _assemble(cfg, folds, model_rows, m, n)
    result = np.zeros((m, n), dtype=np.int64)
    if valid_steps.size == len(folds) * per_fold:
        stream_rows = rtl_out[valid_steps].reshape(len(folds), per_fold, cols)
        result = _assemble(cfg, folds, list(stream_rows), m, n)
        gemm_mismatch = (_first_difference("RTL", result, reference)
                         or _first_difference("model", model_gemm, reference))
    else:
        gemm_mismatch = (f"RTL produced {valid_steps.size} output rows, "
                         f"expected {len(folds) * per_fold}")
    bit_exact = gemm_mismatch is None
    mismatch = mismatch or gemm_mismatch

    # (d) the same stimulus under Icarus Verilog
    icarus_exact = verilator_exact = None
    pyrtl_ports = {"out_valid": rtl_valid, **{f"out_{c}": rtl_raw[:, c] for c in range(cols)}}
    if icarus:
        icarus_mismatch = _icarus_mismatch(verilog.replay_icarus(array, stim, verilog_dir), pyrtl_ports)
        icarus_exact = icarus_mismatch is None
        mismatch = mismatch or icarus_mismatch
    if verilator:
        workdir = None if verilog_dir is None else str(Path(verilog_dir) / "verilator")
        verilator_mismatch = _icarus_mismatch(verilog.replay_verilator(array, stim, workdir), pyrtl_ports,
                                              "Verilator")
        verilator_exact = verilator_mismatch is None
        mismatch = mismatch or verilator_mismatch
    if mismatch is None and rtl_cycles != model_cycles:
        mismatch = f"last output at cycle {rtl_cycles}, model {model_cycles}"
    # (c) a register that differs no later than the first output is the first symptom
    if reg_mismatch is not None and (mismatch is None or (bad.size and reg_mismatch[0] <= bad[0])):
        mismatch = reg_mismatch[1]
    return CosimResult(
        dataflow=dataflow, rows=rows, cols=cols, m=m, k=a.shape[1], n=n, operand_bits=operand_bits,
        acc_bits=acc_bits, folds=len(folds), cycles_per_fold=length, model_cycles=model_cycles,
        rtl_cycles=rtl_cycles, outputs_checked=m * n, registers_checked=reg_count,
        bit_exact=bit_exact, cycle_exact=cycle_exact, registers_exact=reg_mismatch is None, icarus_exact=icarus_exact,
        verilator_exact=verilator_exact,
        first_mismatch=mismatch, build_s=build_s, simulate_s=time.perf_counter() - t0,
        output=result)


def _expected_stream(cfg: ArrayConfig, folds: list[_Fold], length: int, n_steps: int):
    """(valid [steps], outputs [steps, cols], per-fold output rows) predicted by the model."""
    rel = output_steps(cfg, folds[0].t)
    exp_valid = np.zeros(n_steps, dtype=np.int64)
    exp_out = np.zeros((n_steps, cfg.cols), dtype=np.int64)
    model_rows = []
    for f, fold in enumerate(folds):
        rows_out = fold_outputs(cfg, fold.stream, fold.stationary)
        model_rows.append(rows_out)
        exp_valid[f * length + rel] = 1
        exp_out[f * length + rel] = rows_out
    return exp_valid, exp_out, model_rows


def _simulate(sim, array: SystolicArray, stim: list[dict], exp_valid: np.ndarray,
              check_registers: bool, every_cycle: bool, progress=None):
    """Step the RTL through ``stim``; returns (out_valid [steps], raw outputs [steps, cols],
    registers compared, first register mismatch as (step, message) or None). Outputs are read on
    valid or expected cycles only, unless ``every_cycle``."""
    cfg = array.config
    regs = RegisterModel(cfg) if check_registers else None
    reg_mismatch, reg_count = None, 0
    out_names = [f"out_{c}" for c in range(cfg.cols)]
    rtl_valid = np.zeros(len(stim), dtype=np.int64)
    rtl_raw = np.zeros((len(stim), cfg.cols), dtype=np.int64)
    for s, inputs in enumerate(stim):
        if progress is not None and s % 2048 == 0:
            progress(s, len(stim))
        sim.step(dict(inputs))  # step() mutates its argument
        rtl_valid[s] = sim.inspect("out_valid")
        if rtl_valid[s] or exp_valid[s] or every_cycle:
            rtl_raw[s] = [sim.inspect(o) for o in out_names]
        if regs is not None:
            reg_count, reg_mismatch = _compare_registers(sim, regs, array.pe_registers, cfg, s,
                                                         reg_count, reg_mismatch)
            regs.step(inputs)
    if progress is not None:
        progress(len(stim), len(stim))
    return rtl_valid, rtl_raw, reg_count, reg_mismatch


def _stream_mismatch(s, rtl_valid, rtl_out, exp_valid, exp_out, length) -> str:
    if rtl_valid[s] != exp_valid[s]:
        return f"cycle {s}: out_valid RTL {rtl_valid[s]}, model {exp_valid[s]}"
    c = int(np.flatnonzero(rtl_out[s] != exp_out[s])[0])
    return f"cycle {s} (fold {s // length}): out_{c} RTL {rtl_out[s, c]}, model {exp_out[s, c]}"


def _first_difference(which: str, got: np.ndarray, reference: np.ndarray) -> str | None:
    diff = np.argwhere(got != reference)
    if not diff.size:
        return None
    i, j = (int(x) for x in diff[0])
    return f"C[{i}, {j}]: {which} {got[i, j]}, numpy {reference[i, j]}"


def _icarus_mismatch(ports: dict, pyrtl_ports: dict, simulator: str = "Icarus") -> str | None:
    names = sorted(pyrtl_ports)
    for step in range(len(pyrtl_ports["out_valid"])):
        for p in names:
            if ports[p][step] != pyrtl_ports[p][step]:
                return (f"cycle {step}: {p} {simulator} {int(ports[p][step])}, "
                        f"PyRTL {int(pyrtl_ports[p][step])} (bit patterns)")
    return None


def _compare_registers(sim, regs, names, cfg, step, count, first):
    """Compare every PE register of this step; keep the first mismatch as (step, message)."""
    for prefix, model_grid in regs.grids.items():
        bits = cfg.acc_bits if prefix in ("p", "acc") else cfg.operand_bits
        grid = names[prefix]
        for r in range(cfg.rows):
            for c in range(cfg.cols):
                value = int(wrap(sim.inspect(grid[r][c]), bits))
                count += 1
                if first is None and value != model_grid[r, c]:
                    first = (step, f"cycle {step}: PE({r}, {c}) register {grid[r][c]} RTL {value}, "
                                   f"model {int(model_grid[r, c])}")
    return count, first


def parse_gemm(text: str) -> tuple[int, int, int]:
    """'MxKxN' (e.g. '64x64x64') -> (M, K, N); a user error otherwise (sizes beyond
    :data:`accelsim.rtl.guard.MAX_DIM` included)."""
    parts = [p.strip() for p in str(text).lower().split("x")]
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        shown = text if len(str(text)) <= 40 else f"{str(text)[:37]}..."
        raise AccelsimError(f"--gemm: expected MxKxN with positive integers, e.g. 64x64x64 "
                            f"(got {shown!r})")
    for name, p in zip("MKN", parts):
        if len(p.lstrip("0")) > 18:
            raise AccelsimError(f"--gemm: {name} must be <= {guard.MAX_DIM:,} (got a {len(p)}-digit number)")
        if int(p) == 0:
            raise AccelsimError(f"--gemm: expected MxKxN with positive integers, e.g. 64x64x64 "
                                f"(got {text!r})")
    m, k, n = (int(p) for p in parts)
    guard.check_dims(1, 1, m, k, n)
    return m, k, n


def random_operands(m: int, k: int, n: int, operand_bits: int, seed: int):
    """Full-range random A [m, k] and B [k, n] of ``operand_bits`` bits from ``seed`` (>= 0)."""
    if seed < 0:
        raise AccelsimError(f"--seed: must be >= 0 (got {seed})")
    rng = np.random.default_rng(seed)
    lo = -(1 << (operand_bits - 1))
    return rng.integers(lo, -lo, (m, k)), rng.integers(lo, -lo, (k, n))


def cosim_random_gemm(rows: int, cols: int, dataflow: str, gemm: str, operand_bits: int = 8,
                      seed: int = 0, **kwargs) -> CosimResult:
    """Co-simulate a random ``gemm`` ('MxKxN') with full-range operands from ``seed``: the entry
    point for ``accelsim cosim``; ``kwargs`` go to :func:`run_gemm` (vcd_path, icarus, ...)."""
    if dataflow not in DATAFLOWS:
        raise AccelsimError(f"cosim: dataflow {dataflow!r} has no RTL array (choose ws, os or is)")
    if operand_bits not in (8, 16):
        raise AccelsimError(f"cosim: word_bits must be 8 or 16 for the RTL array (got {operand_bits})")
    m, k, n = parse_gemm(gemm)
    a, b = random_operands(m, k, n, operand_bits, seed)
    return run_gemm(a, b, rows, cols, dataflow, operand_bits=operand_bits, **kwargs)


#: (rows, cols, time) axes of the GEMM view (P output pixels, M filters, K reduction) -> RTL array
RTL_LAYOUTS = {("K", "M", "P"): "ws", ("K", "P", "M"): "is", ("P", "M", "K"): "os"}


def rtl_dataflow(hw, dataflow) -> str:
    """'ws', 'os' or 'is': the RTL array that runs ``dataflow`` on ``hw``; a user error for a
    non-systolic hw (multicast chips such as Eyeriss, ideal roofline devices) or a dataflow whose
    layout none of the three arrays has."""
    interconnect = getattr(hw, "interconnect", "roofline")
    if interconnect != "systolic":
        raise AccelsimError(
            f"cosim: {hw.name} is not a systolic array (interconnect: {interconnect}); the RTL proves "
            "systolic arrays only: use a hw file with array.interconnect: systolic (e.g. edge_16x16, tpu_v1)")
    layout = (getattr(dataflow, "rows_axis", None), getattr(dataflow, "cols_axis", None),
              getattr(dataflow, "time_axis", None))
    if getattr(dataflow, "engine", "systolic") != "systolic" or layout not in RTL_LAYOUTS:
        raise AccelsimError(
            f"cosim: dataflow {dataflow.name} has no RTL array: the RTL arrays run ws (rows K, cols M, "
            "time P), is (rows K, cols P, time M) and os (rows P, cols M, time K)")
    return RTL_LAYOUTS[layout]
