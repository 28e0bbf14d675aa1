"""PyRTL generators for R x C systolic arrays: weight (ws), output (os) and input stationary (is).

Arithmetic
----------
Operands are ``operand_bits`` (8 or 16) two's-complement words, presented on the input ports as
their unsigned bit patterns (``value & (2**operand_bits - 1)``). Each PE multiplies with
:func:`pyrtl.signed_mult` (2*operand_bits bits), sign-extends the product to ``acc_bits``
(default 32) explicitly (PyRTL's ``<<=`` would zero-extend) and adds it to the incoming partial sum
modulo ``2**acc_bits``: overflow wraps around exactly as numpy int32 addition does. There is no
saturation. Outputs are ``acc_bits`` unsigned bit patterns of the wrapped two's-complement sums.

Cycle semantics
---------------
"Step s" is one call of ``Simulation.step`` (one clock cycle): the inputs given to step s and the
register values after s clock edges are what ``inspect`` shows for step s; values computed in step s
are registered at its end and seen from step s + 1. A fold's first input is driven at its relative
step 0 and its last output is on the output ports at relative step
``L = accelsim.rtl.timing.fold_cycles(rows, cols, t, dataflow) = 2*rows + cols + t - 2``, the step
in which the next fold's first input is driven: folds run back to back, L cycles each, and a GEMM of
F folds takes F*L cycles (its last output is seen at step F*L).

Weight stationary (rows = K, cols = N filters, time t = M)
----------------------------------------------------------
Ports: ``w_load`` (1 bit), ``w_in_<c>`` (operand), ``a_in_<r>`` (operand), ``a_valid`` (1 bit);
outputs ``out_<c>`` (acc_bits) and ``out_valid``.

- steps 0 .. rows-1: ``w_load = 1``; column c is given ``W[rows-1-j][c]`` at step j. Every weight
  register of the column shifts down one row per loaded step, so after ``rows`` steps PE(r, c)
  holds ``W[r][c]`` (registers ``w_<r>_<c>``, held while ``w_load = 0``).
- steps rows .. rows+t-1: ``a_valid = 1``; step rows+i gives the un-skewed ifmap row
  ``A[i][0..rows-1]`` (``a_in_<r>`` = ``A[i][r]``). Input skew registers delay row r by r cycles
  (``skew_<r>_<j>``); operands move one PE right per cycle (``a_<r>_<c>``) and partial sums one PE
  down per cycle (``p_<r>_<c>``), starting from 0 above row 0. PE(r, c) adds
  ``A[i][r] * W[r][c]`` at step rows + i + r + c, so each sum is accumulated in row order 0..rows-1.
- The bottom partial sum of column c is delayed by ``cols - 1 - c`` de-skew registers
  (``deskew_<c>_<j>``), so output row i (``C[i][0..cols-1]``) is on ``out_<c>`` with ``out_valid = 1`` at step
  ``2*rows + cols - 1 + i``; the last one (i = t-1) at step L.

Input stationary (rows = K, cols = M ifmap pixels, time t = N filters)
-------------------------------------------------------------------
The weight-stationary datapath with the operands' roles swapped (Samajdar et al., ISPASS 2020,
section III: the IS array keeps one convolution window per column). Ports: ``i_load`` (1 bit),
``i_in_<c>`` (stationary ifmap operand), ``f_in_<r>`` (streamed filter operand), ``f_valid``;
outputs ``out_<c>`` and ``out_valid``; registers ``i_<r>_<c>`` (stationary ifmap), ``f_<r>_<c>``
(filter operands moving right), ``p_<r>_<c>`` (partial sums moving down), skew ``skew_<r>_<j>``
and de-skew ``deskew_<c>_<j>`` as for WS.

- steps 0 .. rows-1: ``i_load = 1``; column c is given ``A[c][rows-1-j]`` (pixel c's window,
  bottom element first), so after ``rows`` steps PE(r, c) holds ``A[c][r]``.
- steps rows .. rows+t-1: ``f_valid = 1``; step rows+j gives filter j (``f_in_<r>`` = ``B[r][j]``).
  PE(r, c) adds ``B[r][j] * A[c][r]`` at step rows + j + r + c, in row order.
- wave j (``C[0..cols-1][j]``: filter j over the tile's pixels) is on ``out_<c>`` with
  ``out_valid = 1`` at step ``2*rows + cols - 1 + j``; the last at step L, as for WS.

Output stationary (rows = M, cols = N, time t = K)
--------------------------------------------------
Ports: ``a_in_<r>`` (operand), ``b_in_<c>`` (operand), ``last`` (1 bit); outputs ``out_<c>``
(acc_bits) and ``out_valid``.

- steps 0 .. t-1: step k gives the ifmap column ``A[0..rows-1][k]`` on ``a_in_<r>`` and the
  weight row ``B[k][0..cols-1]`` on ``b_in_<c>``; ``last = 1`` at step t-1. Row r is skewed by r
  registers, column c by c registers (``skew_a_<r>_<j>``, ``skew_b_<c>_<j>``); operands move right
  (``a_<r>_<c>``) and down (``b_<r>_<c>``) one PE per cycle and PE(r, c) adds
  ``A[r][k] * B[k][c]`` to its accumulator ``acc_<r>_<c>`` at step k + r + c (order k = 0..t-1).
- ``last`` travels a delay line (``last_<j>``); ``drain`` is high for the ``rows`` steps
  t+rows+cols-2 .. t+2*rows+cols-3, during which every accumulator shifts down one row (row 0 takes
  0, which also clears the array for the next fold) and the bottom row goes to the output registers
  (``outreg_<c>``, ``outreg_valid``): array row r is on ``out_<c>`` with ``out_valid = 1`` at step
  t + 2*rows + cols - 2 - r, row 0 (the last) at step L.

FastSimulation needs every input port on every step (the harness drives idle ports with 0).
Register names above are the ones :mod:`accelsim.rtl.model` mirrors.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyrtl

DATAFLOWS = ("ws", "os", "is")


@dataclass(frozen=True)
class ArrayConfig:
    """Shape and arithmetic of one array."""

    rows: int
    cols: int
    dataflow: str             # 'ws', 'os' or 'is'
    operand_bits: int = 8     # two's-complement operand width
    acc_bits: int = 32        # accumulator width; sums wrap modulo 2**acc_bits

    def __post_init__(self):
        if self.dataflow not in DATAFLOWS:
            raise ValueError(f"dataflow must be one of {DATAFLOWS}, got {self.dataflow!r}")
        if self.rows < 1 or self.cols < 1:
            raise ValueError(f"rows and cols must be >= 1 (got {self.rows} x {self.cols})")
        if self.operand_bits not in (8, 16):
            raise ValueError(f"operand_bits must be 8 or 16, got {self.operand_bits}")
        if self.acc_bits < 2 * self.operand_bits:
            raise ValueError(f"acc_bits must be >= 2*operand_bits = {2 * self.operand_bits}, "
                             f"got {self.acc_bits}")


@dataclass
class SystolicArray:
    """A built array: its PyRTL block and the names of its ports and registers."""

    config: ArrayConfig
    block: pyrtl.Block
    pe_registers: dict = field(default_factory=dict)  # prefix -> [[name per (r, c)]]

    def simulation(self, trace: bool = False, fast: bool = True, compiled: bool = False):
        """A fresh simulator of this array (FastSimulation unless ``fast=False``); with
        ``trace=True`` it records every wire for a VCD dump. ``compiled=True``: PyRTL's
        CompiledSimulation (C, compiled by the system's C compiler; ~8x faster per cycle, seconds
        to compile), tracing the output ports only, stepped one cycle at a time (its multi-step
        ``run`` is not used)."""
        if compiled:
            outputs = list(self.block.wirevector_subset(pyrtl.Output))
            tracer = pyrtl.SimulationTrace(wires_to_track=outputs, block=self.block)
            return pyrtl.CompiledSimulation(block=self.block, tracer=tracer)
        tracer = pyrtl.SimulationTrace(block=self.block) if trace else None
        cls = pyrtl.FastSimulation if fast else pyrtl.Simulation
        return cls(block=self.block, tracer=tracer)

    def to_verilog(self, path: str) -> None:
        """Write the array as a Verilog module ``toplevel`` (no ``signed`` keyword: bit patterns)."""
        with open(path, "w") as f:
            pyrtl.output_to_verilog(f, block=self.block)


def _mac(a, b, acc, cfg: ArrayConfig):
    """acc + a*b, signed operands, sign-extended product, wrapped to acc_bits."""
    prod = pyrtl.signed_mult(a, b).sign_extended(cfg.acc_bits)
    return (acc + prod).truncate(cfg.acc_bits)


def _delay(wire, n: int, name: str, bits: int):
    """``wire`` through ``n`` registers named ``<name>_<j>`` (j = 1..n); returns the last."""
    for j in range(1, n + 1):
        reg = pyrtl.Register(bits, name=f"{name}_{j}")
        reg.next <<= wire
        wire = reg
    return wire


class Ports:
    """Where the array's ports go: top-level ``pyrtl.Input`` / ``pyrtl.Output`` by default; a
    larger design (:mod:`accelsim.rtl.memsys`) passes one whose ports are internal wires."""

    def input(self, name: str, bits: int):
        return pyrtl.Input(bits, name)

    def output(self, name: str, bits: int):
        return pyrtl.Output(bits, name)


def build_array(config: ArrayConfig) -> SystolicArray:
    """Generate the array described by ``config`` in a new PyRTL block (see module docstring)."""
    block = pyrtl.Block()
    with pyrtl.set_working_block(block, no_sanity_check=True):
        regs = build_into(config, Ports())
    block.sanity_check()
    return SystolicArray(config=config, block=block, pe_registers=regs)


def build_into(config: ArrayConfig, ports: Ports) -> dict:
    """Generate the array in the working block, its ports from ``ports``; returns the PE
    register names (prefix -> [[name per (r, c)]])."""
    return _build_os(config, ports) if config.dataflow == "os" else _build_stationary(config, ports)


def _grid(prefix, rows, cols, bits):
    return [[pyrtl.Register(bits, name=f"{prefix}_{r}_{c}") for c in range(cols)]
            for r in range(rows)]


def _names(grid):
    return [[reg.name for reg in row] for row in grid]


#: Port and register names of the stationary-operand arrays: (load port, stationary operand:
#: input port prefix and register grid, streamed operand: input port prefix and register grid,
#: valid port).
STATIONARY_NAMES = {
    "ws": ("w_load", "w_in", "w", "a_in", "a", "a_valid"),
    "is": ("i_load", "i_in", "i", "f_in", "f", "f_valid"),
}


def _build_stationary(cfg: ArrayConfig, ports: Ports) -> dict:
    """Weight- or input-stationary array (the same datapath, named for its operands)."""
    rows, cols, ob, acc_bits = cfg.rows, cfg.cols, cfg.operand_bits, cfg.acc_bits
    load_name, stat_in, stat_reg, stream_in, stream_reg, valid_name = STATIONARY_NAMES[cfg.dataflow]
    w_load = ports.input(load_name, 1)
    a_valid = ports.input(valid_name, 1)
    w_in = [ports.input(f"{stat_in}_{c}", ob) for c in range(cols)]
    a_in = [ports.input(f"{stream_in}_{r}", ob) for r in range(rows)]
    w = _grid(stat_reg, rows, cols, ob)
    a = _grid(stream_reg, rows, cols, ob)
    p = _grid("p", rows, cols, acc_bits)
    zero = pyrtl.Const(0, bitwidth=acc_bits)
    for r in range(rows):
        a_edge = _delay(a_in[r], r, f"skew_{r}", ob)
        for c in range(cols):
            w_above = w_in[c] if r == 0 else w[r - 1][c]
            w[r][c].next <<= pyrtl.select(w_load, w_above, w[r][c])
            a_left = a_edge if c == 0 else a[r][c - 1]
            a[r][c].next <<= a_left
            p[r][c].next <<= _mac(a_left, w[r][c], zero if r == 0 else p[r - 1][c], cfg)
    for c in range(cols):
        out = ports.output(f"out_{c}", acc_bits)
        out <<= _delay(p[rows - 1][c], cols - 1 - c, f"deskew_{c}", acc_bits)
    out_valid = ports.output("out_valid", 1)
    out_valid <<= _delay(a_valid, rows + cols - 1, "valid", 1)
    return {stat_reg: _names(w), stream_reg: _names(a), "p": _names(p)}


def _build_os(cfg: ArrayConfig, ports: Ports) -> dict:
    rows, cols, ob, acc_bits = cfg.rows, cfg.cols, cfg.operand_bits, cfg.acc_bits
    last = ports.input("last", 1)
    a_in = [ports.input(f"a_in_{r}", ob) for r in range(rows)]
    b_in = [ports.input(f"b_in_{c}", ob) for c in range(cols)]
    a = _grid("a", rows, cols, ob)
    b = _grid("b", rows, cols, ob)
    acc = _grid("acc", rows, cols, acc_bits)
    # drain for `rows` steps, starting rows + cols - 1 steps after `last`
    taps = []
    wire = last
    for j in range(1, 2 * rows + cols - 1):
        reg = pyrtl.Register(1, name=f"last_{j}")
        reg.next <<= wire
        wire = reg
        if j >= rows + cols - 1:
            taps.append(reg)
    drain = pyrtl.rtl_any(*taps) if len(taps) > 1 else taps[0]
    zero = pyrtl.Const(0, bitwidth=acc_bits)
    a_edge = [_delay(a_in[r], r, f"skew_a_{r}", ob) for r in range(rows)]
    b_edge = [_delay(b_in[c], c, f"skew_b_{c}", ob) for c in range(cols)]
    for r in range(rows):
        for c in range(cols):
            a_left = a_edge[r] if c == 0 else a[r][c - 1]
            b_above = b_edge[c] if r == 0 else b[r - 1][c]
            a[r][c].next <<= a_left
            b[r][c].next <<= b_above
            shifted = zero if r == 0 else acc[r - 1][c]
            acc[r][c].next <<= pyrtl.select(drain, shifted, _mac(a_left, b_above, acc[r][c], cfg))
    for c in range(cols):
        out_reg = pyrtl.Register(acc_bits, name=f"outreg_{c}")
        out_reg.next <<= pyrtl.select(drain, acc[rows - 1][c], zero)
        out = ports.output(f"out_{c}", acc_bits)
        out <<= out_reg
    valid_reg = pyrtl.Register(1, name="outreg_valid")
    valid_reg.next <<= drain
    out_valid = ports.output("out_valid", 1)
    out_valid <<= valid_reg
    return {"a": _names(a), "b": _names(b), "acc": _names(acc)}
