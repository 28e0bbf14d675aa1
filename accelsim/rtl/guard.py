"""Size guard of the RTL co-simulation: time and memory estimated before anything is built.

The PyRTL netlist, its generated FastSimulation code and the per-cycle stimulus grow with the
array's PE count and the GEMM's cycle count. :func:`estimate` predicts wall time and peak memory
from those two numbers with per-PE costs measured on the 2-core CI machine (PyRTL 1.0.3,
benchmarks/bench_rtl.py; a contended machine measured up to 4 ms per PE to build, 6 us per PE and
cycle to simulate, 150 kB per PE of netlist and simulator: a 256x256 array needs ~10 GB before it
simulates one cycle). :func:`check` refuses what cannot finish within the limits, naming the
numbers; ``force`` lifts the time and available-memory limits but never the hard ones (GEMM
dimensions beyond :data:`MAX_DIM`, memory beyond the machine's physical memory).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import AccelsimError
from .timing import fold_cycles

#: Largest GEMM dimension (M, K or N) the co-simulation accepts, even with ``--force``.
MAX_DIM = 1 << 20
#: Largest array side the RTL generator accepts, even with ``--force`` (the hw files' bound).
MAX_SIDE = 4096
#: Default wall-time limit in seconds (``--force`` lifts it).
TIME_LIMIT_S = 300.0

BUILD_S_PER_PE = 4e-3           # netlist + FastSimulation code generation
SIM_S_PER_PE_CYCLE = 6e-6       # FastSimulation step, per PE
REGISTER_CHECK_S_PER_PE_CYCLE = 2.5e-5  # --check-registers: three registers per PE compared
STIM_S_PER_PORT_CYCLE = 1e-6    # building and feeding the stimulus dicts
COMPILE_S_PER_PE = 0.07         # CompiledSimulation: the C compiler on the generated netlist
COMPILED_SPEEDUP = 8.0          # CompiledSimulation cycles per FastSimulation cycle
BYTES_PER_PE = 150_000          # netlist, simulator code and state
BYTES_PER_PORT_CYCLE = 120      # one stimulus dict entry
BASE_BYTES = 200_000_000        # the Python process with numpy, numba and PyRTL imported


@dataclass(frozen=True)
class Estimate:
    """Predicted cost of co-simulating one GEMM on one array."""

    rows: int
    cols: int
    folds: int
    cycles: int               # simulated steps: folds x fold cycles + the idle tail
    build_s: float
    simulate_s: float
    memory_bytes: int

    @property
    def total_s(self) -> float:
        return self.build_s + self.simulate_s

    def describe(self) -> str:
        return (f"{self.rows}x{self.cols} array, {self.folds:,} fold{'s' * (self.folds != 1)}, "
                f"{self.cycles:,} cycles: about "
                f"{_seconds(self.total_s)} (build {_seconds(self.build_s)}, simulate "
                f"{_seconds(self.simulate_s)}) and {_gigabytes(self.memory_bytes)}")


def _seconds(s: float) -> str:
    return f"{s:,.0f} s" if s >= 10 else f"{s:.1f} s"


def _gigabytes(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.0f} MB"


def estimate(rows: int, cols: int, dataflow: str, m: int, k: int, n: int,
             check_registers: bool = False, compiled: bool = False, cycles: int | None = None) -> Estimate:
    """Estimate build time, simulation time and peak memory of one co-simulation (exact integer
    fold and cycle counts; the per-PE costs are the measured constants of this module);
    ``compiled``: PyRTL's CompiledSimulation (compile time per PE, faster cycles); ``cycles``:
    the cycles to simulate when known otherwise (the memory system's, stalls included)."""
    row_axis, col_axis, t = {"ws": (k, n, m), "is": (k, m, n), "os": (m, n, k)}[dataflow]
    folds = -(-row_axis // rows) * -(-col_axis // cols)
    steps = folds * fold_cycles(rows, cols, t, dataflow) + rows + cols + 1 if cycles is None else cycles
    pes = rows * cols
    ports = rows + cols + 2
    per_pe_cycle = SIM_S_PER_PE_CYCLE + (REGISTER_CHECK_S_PER_PE_CYCLE if check_registers else 0.0)
    if compiled:
        per_pe_cycle = SIM_S_PER_PE_CYCLE / COMPILED_SPEEDUP
    return Estimate(
        rows=rows, cols=cols, folds=folds, cycles=steps,
        build_s=(BUILD_S_PER_PE + (COMPILE_S_PER_PE if compiled else 0.0)) * pes,
        simulate_s=steps * (pes * per_pe_cycle + ports * STIM_S_PER_PORT_CYCLE),
        memory_bytes=BASE_BYTES + BYTES_PER_PE * pes + BYTES_PER_PORT_CYCLE * ports * steps)


def choose_backend(rows: int, cols: int, dataflow: str, m: int, k: int, n: int, check_registers: bool,
                   compiler: bool) -> tuple[str, Estimate]:
    """``cosim --backend auto``: PyRTL's CompiledSimulation when a C compiler is there, nothing
    needs every register (``check_registers``), and its estimate (compile included) is under half
    of FastSimulation's; FastSimulation otherwise. Returns (backend, its estimate)."""
    fast = estimate(rows, cols, dataflow, m, k, n, check_registers)
    if check_registers or not compiler:
        return "fast", fast
    compiled = estimate(rows, cols, dataflow, m, k, n, compiled=True)
    return ("compiled", compiled) if compiled.total_s < fast.total_s / 2 else ("fast", fast)


def memory_bytes() -> tuple[int, int]:
    """(available, physical) memory of this machine in bytes (Linux sysconf; 0 if unknown)."""
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        return os.sysconf("SC_AVPHYS_PAGES") * page, os.sysconf("SC_PHYS_PAGES") * page
    except (ValueError, OSError, AttributeError):
        return 0, 0


def check_dims(rows: int, cols: int, m: int, k: int, n: int) -> None:
    """Hard limits, not lifted by ``--force``."""
    if not (1 <= rows <= MAX_SIDE and 1 <= cols <= MAX_SIDE):
        raise AccelsimError(f"cosim: the RTL array must be 1..{MAX_SIDE} PEs per side "
                            f"(got {rows}x{cols})")
    for name, value in (("M", m), ("K", k), ("N", n)):
        if value > MAX_DIM:
            raise AccelsimError(f"--gemm: {name} must be <= {MAX_DIM:,} (got {_short(value)}); "
                                "the co-simulation steps every cycle of the GEMM")


def _short(value: int) -> str:
    text = str(value)
    return text if len(text) <= 24 else f"{text[:10]}...({len(text)} digits)"


def check(est: Estimate, force: bool = False, time_limit_s: float = TIME_LIMIT_S,
          memory: tuple[int, int] | None = None) -> None:
    """Refuse a co-simulation that cannot finish: more memory than the machine has (always), or
    (unless ``force``) more than ``time_limit_s`` or half the available memory."""
    available, physical = memory if memory is not None else memory_bytes()
    if physical and est.memory_bytes > physical:
        raise AccelsimError(f"cosim: {est.describe()}, more than this machine's "
                            f"{_gigabytes(physical)} of memory; use a smaller array or GEMM")
    if force:
        return
    limit_bytes = available // 2
    over = []
    if est.total_s > time_limit_s:
        over.append(f"the limit is {_seconds(time_limit_s)}")
    if available and est.memory_bytes > limit_bytes:
        over.append(f"half the available memory is {_gigabytes(limit_bytes)}")
    if over:
        raise AccelsimError(f"cosim: {est.describe()}; {' and '.join(over)}. Use a smaller array "
                            "(a hw file with fewer rows and cols) or GEMM, or pass --force to try anyway")
