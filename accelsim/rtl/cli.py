"""``accelsim cosim``: the PyRTL array (and with ``--memory`` the memory system) against numpy,
accelsim's timing and the cycle-level simulator; see docs/rtl.md. Imports at the top stay light
(accelsim/cli.py, "How commands are registered")."""
from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import click

from ..errors import AccelsimError, user_errors


@click.command()
@click.option("--hw", "hw_arg", required=True, metavar="FILE|PRESET",
              help="Accelerator: its array rows x cols and precision (int8 or int16) size the RTL array; "
                   "it must be a systolic array.")
@click.option("--dataflow", "dataflow_arg", required=True, metavar="FILE|PRESET",
              help="Systolic dataflow of the RTL array: ws, os or is (weight, output or input stationary), "
                   "or a dataflow file with one of their layouts.")
@click.option("--gemm", default="64x64x64", show_default=True, metavar="MxKxN",
              help="GEMM shape: (M x K) activations times (K x N) weights, random full-range operands.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random operands (>= 0).")
@click.option("--check-registers", is_flag=True, help="Also compare every PE register every cycle with the model (slower).")
@click.option("--vcd", type=click.Path(dir_okay=False), default=None, help="Write the waveform (VCD) here; small GEMMs.")
@click.option("--verilog", is_flag=True,
              help="Export the array to Verilog (array.v, tb.v, stim.hex in --out) and replay the stimulus under Icarus Verilog.")
@click.option("--backend", type=click.Choice(["auto", "fast", "compiled"]), default="auto", show_default=True,
              help="PyRTL simulator: fast (FastSimulation, Python; starts at once), compiled "
                   "(CompiledSimulation, C: ~8x faster per cycle after seconds of compiling; not with "
                   "--check-registers or --vcd) or auto (compiled where the estimate says it takes less "
                   "than half the time, i.e. long runs, and a C compiler is installed).")
@click.option("--memory", is_flag=True,
              help="Run the GEMM as a layer through the RTL memory system (double-buffered SRAM of the hw's "
                   "sizes, a DMA engine, a DRAM port of its bandwidth) and compare every fold's start and "
                   "end cycle, every DRAM transfer, the stall cycles and DRAM bytes with the cycle-level "
                   "simulator.")
@click.option("--latency", type=int, default=None,
              help="With --memory: the DRAM read latency in cycles, replacing the hw's dram.latency_cycles "
                   "(default 0) in both the RTL and the cycle-level simulator, which must then agree; the "
                   "analytical model, which has no latency, is printed beside them.")
@click.option("--verilator", is_flag=True,
              help="Export the array to Verilog and replay the stimulus under Verilator (compiled C++; "
                   "files in --out/verilator when --out is given).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the Verilog files. Default: results/cosim_<hw>_<dataflow>/.")
@click.option("--force", is_flag=True,
              help="Run even when the estimate exceeds the time limit (300 s) or half the available memory.")
@user_errors
def cosim(hw_arg, dataflow_arg, gemm, seed, check_registers, vcd, verilog, backend, memory, latency, verilator,
          out_dir, force):
    """Prove the MAC array: run a GEMM through the PyRTL systolic array and compare it, bit for bit
    and cycle for cycle, with numpy, accelsim's functional model and its per-fold timing
    (2*rows + cols + T - 2 cycles per fold). Exits 1 on any mismatch, naming the first one.

    Before building, the time and memory are estimated from the array and GEMM sizes; what would
    take longer than 300 s or more than half the available memory is refused with the numbers
    (--force runs it anyway). A progress bar shows runs longer than a few seconds.

    Example: accelsim cosim --hw edge_16x16 --dataflow ws --gemm 64x64x64
    """
    from .. import spec
    from . import guard
    from .cosim import parse_gemm, random_operands, run_gemm, rtl_dataflow
    hw = spec.load("hw", hw_arg)
    dataflow = rtl_dataflow(hw, spec.load("dataflows", dataflow_arg))
    if hw.word_bits not in (8, 16):
        raise AccelsimError(f"cosim: {hw.name} has {hw.word_bits}-bit words; the RTL array takes int8 or int16")
    if seed < 0:
        raise AccelsimError(f"--seed: must be >= 0 (got {seed})")
    if backend == "compiled" and (check_registers or vcd):
        raise AccelsimError("cosim --backend compiled traces the output ports only; "
                            "--check-registers and --vcd need --backend fast")
    m, k, n = parse_gemm(gemm)
    guard.check_dims(hw.array_rows, hw.array_cols, m, k, n)
    if memory:
        _cosim_memory(hw, dataflow, m, k, n, latency, seed, force, (check_registers, vcd, verilog, verilator,
                                                                    backend == "compiled"))
        return
    if backend == "auto":
        compiler = any(shutil.which(cc) for cc in ("cc", "gcc", "clang")) and not vcd
        backend, est = guard.choose_backend(hw.array_rows, hw.array_cols, dataflow, m, k, n, check_registers,
                                            compiler)
        guard.check(est, force=force)
        if backend == "compiled":
            click.echo("using PyRTL's compiled simulation for this long run (--backend fast to avoid it)", err=True)
    else:
        est = guard.estimate(hw.array_rows, hw.array_cols, dataflow, m, k, n, check_registers,
                             compiled=backend == "compiled")
        guard.check(est, force=force)
    slow = est.total_s > 3
    if slow:
        click.echo(f"estimate: {est.describe()}", err=True)
        click.echo(f"building the {hw.array_rows}x{hw.array_cols} {dataflow.upper()} array ...", err=True)
    a, b = random_operands(m, k, n, hw.word_bits, seed)
    verilog_dir = (out_dir or str(Path("results") / f"cosim_{hw.name}_{dataflow}")) if verilog else None
    bar, progress = _progressbar(est.cycles, slow)
    try:
        result = run_gemm(a, b, hw.array_rows, hw.array_cols, dataflow, operand_bits=hw.word_bits,
                          check_registers=check_registers, vcd_path=vcd, icarus=verilog_dir is not None,
                          verilog_dir=verilog_dir or out_dir, progress=progress,
                          verilator=verilator, compiled=backend == "compiled")
    finally:
        if bar is not None:
            bar.render_finish()
    click.echo(result.summary())
    if verilog_dir:
        click.echo(f"wrote the Verilog, testbench and stimulus to {verilog_dir}")
    if not result.ok:
        raise AccelsimError(f"cosim failed: {result.first_mismatch}")


def _progressbar(total: int, slow: bool):
    """A progress bar on stderr and its update callback, or (None, None) for a quick run."""
    if not slow:
        return None, None
    bar = click.progressbar(length=total, label="simulating cycles", file=sys.stderr)
    shown = [0]

    def progress(done, _total):
        bar.update(done - shown[0])
        shown[0] = done
    return bar, progress


def _cosim_memory(hw, dataflow, m, k, n, latency, seed, force, array_only) -> None:
    """``cosim --memory``: the GEMM as a layer through the memory-system RTL."""
    from . import guard
    from .memsys import bandwidth_fraction, cosim_layer, cycle_sim_layer
    if any(array_only):
        raise AccelsimError("cosim --memory runs the memory system on FastSimulation; --check-registers, "
                            "--vcd, --verilog, --verilator and --backend compiled apply to the array alone")
    if latency is not None and latency < 0:
        raise AccelsimError(f"--latency: must be >= 0 cycles (got {latency})")
    if latency is not None:
        hw = dataclasses.replace(hw, dram_latency_cycles=latency)
    bandwidth_fraction(hw.dram_bandwidth_bytes_per_cycle)
    cycles = cycle_sim_layer(hw, dataflow, m, k, n)[0]["total_cycles"]
    est = guard.estimate(hw.array_rows, hw.array_cols, dataflow, m, k, n, cycles=cycles)
    guard.check(est, force=force)
    slow = est.total_s > 3
    if slow:
        click.echo(f"estimate: {est.describe()}", err=True)
    bar, progress = _progressbar(cycles, slow)
    try:
        result = cosim_layer(hw, dataflow, m, k, n, latency=latency, seed=seed, progress=progress)
    finally:
        if bar is not None:
            bar.render_finish()
    click.echo(result.summary())
    if not result.bit_exact:
        raise AccelsimError("cosim --memory: the RTL's outputs differ from numpy")
    if not result.ok:
        raise AccelsimError(f"cosim --memory: the RTL and the cycle-level simulator differ: {result.mismatches[0]}")
