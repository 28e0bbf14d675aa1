"""The memory system in RTL: a systolic array behind double-buffered SRAM and a DMA engine.

Block diagram (docs/rtl.md has it with the agreement table)::

            DRAM port: num/den bytes per cycle, latency L
                 |                        ^
                 v  reads                 | write-backs
   +-------------------------------------------------------+
   | DMA engine: descriptor list (memplan), in order;     |
   | a credit counter moves num/den bytes per cycle;       |
   | reads complete L cycles after their last byte         |
   +------+----------------+-----------------+-------------+
          | fill           | fill            ^ drain
          v                v                 |
   +-------------+  +-------------+  +---------------+
   | ifmap SRAM  |  | filter SRAM |  | ofmap SRAM    |
   | 2 halves    |  | 2 halves    |  | 2 halves      |
   +------+------+  +------+------+  +-------^-------+
          |  tile resident? (reads_done)     |  half free? (writes_done)
          v                v                 |
   +-------------------------------------------------------+
   | fold sequencer: starts fold f when its reads are done |
   | and the write-back of fold f-2 (f-1 single) is done;  |
   | streams the fold's operands into the array and ends   |
   | the fold at the array's last out_valid                |
   +--------------------------+----------------------------+
                              v
                 PyRTL systolic array (ws / os / is)

What the hardware does, per clock cycle (PyRTL ``step``):

* Fold sequencer. ``fold_start`` is high in a cycle where the array is idle (no fold, or the
  running fold's last output row is on ``out_valid`` this cycle), a fold is left, and the DMA
  has completed ``need_reads[f]`` reads and ``need_writes[f]`` write-backs (a ROM per fold). From
  that cycle on it drives fold f's operands into the array, one fold-relative step per cycle, from
  the SRAM's read port (modelled by one ROM per array input port, holding the fold's tile in
  stream order), and counts the array's output rows; the cycle with the last one is ``fold_end``.
  The fold's length is therefore the array's own: nothing in this design counts to
  ``fold_cycles``.
* DMA engine. The head descriptor (a ROM: bytes x den, bytes, read or write, event, event fold)
  may begin in a cycle where the engine is idle and its event has happened, including in this
  cycle (a fold started, a fold ended, or none: in order after the previous transfer). Each active
  cycle adds ``num`` to a credit register; the transfer's last cycle is the one whose credit
  reaches bytes x den, so a transfer of B bytes takes ceil(B x den / num) cycles (the cycle-level
  simulator's whole-cycle transfers, accelsim/kernels/timing.py ``transfer_cycles``) and the next
  one may begin in the cycle after. A write-back is complete then; a read L cycles later (a delay
  line of L registers: requests are pipelined, the port is free at once).
* Counters: stall cycles (no fold in the array and the layer not done), DRAM bytes read and
  written. ``layer_done``: every fold ended, every transfer begun and finished.

:func:`cosim_layer` runs a GEMM layer through it and compares each fold's start and end cycle,
each transfer's begin and end, the stall cycles and the DRAM bytes with the cycle-level simulator
(accelsim/sim/cycle.py), and the outputs bit for bit with numpy.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pyrtl

from ..errors import AccelsimError
from . import memplan
from .array import ArrayConfig, Ports, build_into
from .cosim import _assemble, _folds, _stimulus, wrap
from .timing import fold_cycles


def _bits(n: int) -> int:
    return max(1, int(n).bit_length())


def _rom(name: str, values, bits: int | None = None):
    """An asynchronous ROM holding ``values`` (at least 2 entries so its address has a bit)."""
    values = [int(v) for v in values] or [0]
    values += [0] * (2 - len(values)) if len(values) < 2 else []
    width = bits or _bits(max(values))
    return pyrtl.RomBlock(bitwidth=width, addrwidth=_bits(len(values) - 1), romdata=values,
                          name=name, asynchronous=True, pad_with_zeros=True)


def _lookup(name: str, values, bits: int, index):
    """``values[index]`` through a ROM (index zero-extended or cut to the ROM's address width)."""
    rom = _rom(name, values, bits)
    if index.bitwidth < rom.addrwidth:
        index = index.zero_extended(rom.addrwidth)
    return rom[index[:rom.addrwidth]]


def _counter(name: str, bits: int):
    return pyrtl.Register(bits, name=name)


class _InternalPorts(Ports):
    """The array's ports as wires of the enclosing design; outputs are also top-level outputs."""

    def __init__(self):
        self.inputs, self.outputs = {}, {}

    def input(self, name, bits):
        wire = pyrtl.WireVector(bits, name=f"arr_{name}")
        self.inputs[name] = wire
        return wire

    def output(self, name, bits):
        wire = pyrtl.WireVector(bits, name=f"arr_{name}")
        top = pyrtl.Output(bits, name)
        top <<= wire
        self.outputs[name] = wire
        return wire


def bandwidth_fraction(bytes_per_cycle) -> Fraction:
    """The DRAM port rate as num/den bytes per cycle (a finite, positive rational)."""
    try:
        value = float(bytes_per_cycle)
    except (TypeError, ValueError):
        raise AccelsimError(f"memory system: bandwidth must be a number (got {bytes_per_cycle!r})") from None
    if not math.isfinite(value) or value <= 0:
        raise AccelsimError(f"memory system: the DRAM port needs a finite bandwidth > 0 bytes/cycle "
                            f"(got {bytes_per_cycle!r}); set dram.bandwidth_bytes_per_cycle in the hw file")
    frac = Fraction(value).limit_denominator(1 << 12)
    if abs(float(frac) - value) > 1e-12 * value:
        raise AccelsimError(f"memory system: bandwidth {value!r} is not a ratio of integers with a "
                            "denominator up to 4096")
    return frac


@dataclass
class MemorySystem:
    """A built memory system: its block and what the harness needs to read it."""

    plan: memplan.MemoryPlan
    config: ArrayConfig
    block: pyrtl.Block
    bandwidth: Fraction
    latency: int
    word_bytes: int


def build_memory_system(mplan: memplan.MemoryPlan, config: ArrayConfig, stream: dict, phase: int,
                        bandwidth: Fraction, latency: int) -> MemorySystem:
    """Generate the design; ``stream`` maps each array input port to its values, ``phase`` per
    fold (fold f's relative step x at address f * phase + x)."""
    word_bytes = config.operand_bits // 8
    transfers = mplan.transfers
    n_folds = len(mplan.folds)
    per_fold = config.rows if config.dataflow == "os" else mplan.t
    block = pyrtl.Block()
    with pyrtl.set_working_block(block, no_sanity_check=True):
        ports = _InternalPorts()
        build_into(config, ports)
        out_valid = ports.outputs["out_valid"]
        cbits = _bits(max(n_folds, len(transfers)) + 1)
        wide = 64

        # --- fold sequencer state
        started = _counter("folds_started", cbits)
        ended = _counter("folds_ended", cbits)
        running = _counter("fold_running", 1)
        out_count = _counter("fold_out_rows", _bits(per_fold))
        reads_done = _counter("reads_done", cbits)
        writes_done = _counter("writes_done", cbits)
        ended_now = running & out_valid & (out_count == per_fold - 1)
        idle = ~running | ended_now
        need_r = _lookup("need_reads", mplan.need_reads, cbits, started)
        need_w = _lookup("need_writes", mplan.need_writes, cbits, started)
        start_now = idle & (started < n_folds) & (reads_done >= need_r) & (writes_done >= need_w)
        started_total = (started + start_now)[:cbits]
        ended_total = (ended + ended_now)[:cbits]
        started.next <<= started_total
        ended.next <<= ended_total
        running.next <<= start_now | (running & ~ended_now)
        out_count.next <<= pyrtl.select(running & out_valid, pyrtl.select(ended_now, 0, out_count + 1)[:out_count.bitwidth],
                                        out_count)

        # --- operand streaming: fold-relative step, SRAM read port as ROMs
        n_addr = n_folds * phase
        abits = _bits(n_addr)
        rel = _counter("fold_step", _bits(phase + 1))
        cur_base = _counter("fold_base", abits)
        next_base = _counter("next_fold_base", abits)
        step = pyrtl.select(start_now, pyrtl.Const(0, rel.bitwidth), rel)
        base = pyrtl.select(start_now, next_base, cur_base)
        driving = (start_now | (running & ~ended_now)) & (step < phase)
        addr = (base + step)[:abits]
        rel.next <<= pyrtl.select(step < phase, (step + 1)[:rel.bitwidth], step)
        cur_base.next <<= base
        next_base.next <<= pyrtl.select(start_now, (next_base + phase)[:abits], next_base)
        for name, wire in ports.inputs.items():
            value = _lookup(f"sram_{name}", stream[name], wire.bitwidth, addr)
            wire <<= pyrtl.select(driving, value, pyrtl.Const(0, wire.bitwidth))

        # --- DMA engine
        n_x = len(transfers)
        pbits = _bits(n_x)
        ptr = _counter("dma_ptr", pbits + 1)
        busy = _counter("dma_busy", 1)
        credit = _counter("dma_credit", wide)
        target_reg = _counter("dma_target", wide)
        write_reg = _counter("dma_is_write", 1)
        bytes_reg = _counter("dma_bytes", wide)
        den, num = bandwidth.denominator, bandwidth.numerator
        tbytes = [x.words * word_bytes for x in transfers]
        head_target = _lookup("dma_desc_target", [b * den for b in tbytes], wide, ptr)
        head_bytes = _lookup("dma_desc_bytes", tbytes, wide, ptr)
        head_write = _lookup("dma_desc_write", [int(x.is_write) for x in transfers], 1, ptr)
        head_after = _lookup("dma_desc_after", [x.after for x in transfers], 2, ptr)
        head_event = _lookup("dma_desc_event_fold", [x.event_fold for x in transfers], cbits, ptr)
        have = ptr < n_x
        ready = have & ((head_after == memplan.AFTER_NOTHING)
                        | ((head_after == memplan.AFTER_START) & (started_total > head_event))
                        | ((head_after == memplan.AFTER_END) & (ended_total > head_event)))
        begin = ~busy & ready
        active = busy | begin
        target = pyrtl.select(begin, head_target, target_reg)
        acc = (pyrtl.select(begin, pyrtl.Const(0, wide), credit) + num)[:wide]
        finish = active & (acc >= target)
        is_write = pyrtl.select(begin, head_write, write_reg)
        nbytes = pyrtl.select(begin, head_bytes, bytes_reg)
        busy.next <<= active & ~finish
        credit.next <<= acc
        target_reg.next <<= target
        write_reg.next <<= is_write
        bytes_reg.next <<= nbytes
        ptr.next <<= (ptr + begin)[:ptr.bitwidth]
        writes_done.next <<= (writes_done + (finish & is_write))[:cbits]
        read_pulse = finish & ~is_write
        for j in range(1, latency + 1):
            reg = pyrtl.Register(1, name=f"dram_latency_{j}")
            reg.next <<= read_pulse
            read_pulse = reg
        reads_done.next <<= (reads_done + read_pulse)[:cbits]

        # --- counters and status
        occupied = start_now | (running & ~ended_now)
        done_now = (ended_total == n_folds) & (ptr == n_x) & ~busy
        stall = _counter("stall_cycles", wide)
        stall.next <<= pyrtl.select(~occupied & ~done_now, (stall + 1)[:wide], stall)
        bytes_read = _counter("dram_bytes_read", wide)
        bytes_written = _counter("dram_bytes_written", wide)
        bytes_read.next <<= pyrtl.select(finish & ~is_write, (bytes_read + nbytes)[:wide], bytes_read)
        bytes_written.next <<= pyrtl.select(finish & is_write, (bytes_written + nbytes)[:wide], bytes_written)
        for name, wire in (("fold_start", start_now), ("fold_end", ended_now), ("dma_begin", begin),
                           ("dma_finish", finish), ("layer_done", done_now), ("stall", stall),
                           ("bytes_read", bytes_read), ("bytes_written", bytes_written)):
            out = pyrtl.Output(wire.bitwidth, name)
            out <<= wire
    block.sanity_check()
    return MemorySystem(plan=mplan, config=config, block=block, bandwidth=bandwidth, latency=latency,
                        word_bytes=word_bytes)


@dataclass
class Timeline:
    """What the RTL did: cycles of each event (the cycle in which the signal was high)."""

    fold_starts: list
    fold_ends: list
    transfer_begins: list
    transfer_ends: list      # the cycle after the transfer's last cycle (the port is free again)
    layer_end: int
    stall_cycles: int
    dram_bytes_read: int
    dram_bytes_written: int
    output_rows: list = field(repr=False)   # per fold, its output rows in leaving order


def simulate(system: MemorySystem, max_cycles: int, progress=None, expected: int = 0) -> Timeline:
    """Step the design until ``layer_done`` (at most ``max_cycles``); ``progress(cycle,
    expected)`` every 2,048 cycles when given."""
    done = system.block.get_wirevector_by_name("layer_done")
    sim = pyrtl.FastSimulation(block=system.block,
                               tracer=pyrtl.SimulationTrace(wires_to_track=[done], block=system.block))
    cols = system.config.cols
    out_names = [f"out_{c}" for c in range(cols)]
    per_fold = system.config.rows if system.config.dataflow == "os" else system.plan.t
    starts, ends, begins, finishes, rows = [], [], [], [], []
    current = []
    for cycle in range(max_cycles):
        if progress is not None and cycle % 2048 == 0:
            progress(min(cycle, expected), expected)
        sim.step({})
        if sim.inspect("out_valid"):
            current.append([sim.inspect(o) for o in out_names])
            if len(current) == per_fold:
                rows.append(np.array(current, dtype=np.int64))
                current = []
        if sim.inspect("fold_start"):
            starts.append(cycle)
        if sim.inspect("fold_end"):
            ends.append(cycle)
        if sim.inspect("dma_begin"):
            begins.append(cycle)
        if sim.inspect("dma_finish"):
            finishes.append(cycle + 1)
        if sim.inspect("layer_done"):
            if progress is not None:
                progress(expected, expected)
            return Timeline(starts, ends, begins, finishes, cycle, sim.inspect("stall"),
                            sim.inspect("bytes_read"), sim.inspect("bytes_written"), rows)
    raise AccelsimError(f"memory system: the layer did not finish in {max_cycles:,} cycles "
                        f"({len(ends)} of {len(system.plan.folds)} folds ended)")


@dataclass(frozen=True)
class LayerCosimResult:
    """One GEMM layer through the memory-system RTL, against the cycle-level simulator."""

    dataflow: str
    rows: int
    cols: int
    p: int
    m: int
    k: int
    bandwidth_bytes_per_cycle: float
    latency: int
    double_buffered: bool
    folds: int
    cycles_per_fold: int
    rtl: Timeline
    cycle_sim: dict          # the cycle-level simulator's stats (accelsim/kernels/cycle.py STATS)
    cycle_fold_starts: list
    cycle_fold_ends: list
    cycle_transfers: list    # (begin, end) per transfer, in DMA order
    analytical: dict         # the analytical engine's stall and total cycles
    mismatches: tuple        # every disagreement, first first
    bit_exact: bool
    build_s: float
    simulate_s: float

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def rtl_stalls(self) -> dict:
        t = self.rtl
        between = sum(s - e for s, e in zip(t.fold_starts[1:], t.fold_ends[:-1]))
        load = t.fold_starts[0] if t.fold_starts else 0
        tail = t.layer_end - t.fold_ends[-1] if t.fold_ends else 0
        return {"stall_load_cycles": load, "stall_bandwidth_cycles": between,
                "stall_writeback_cycles": tail, "stall_cycles": t.stall_cycles,
                "total_cycles": t.layer_end}

    def summary(self) -> str:
        status = "PASS" if self.ok else "FAIL"
        s = self.rtl_stalls
        c = self.cycle_sim
        lines = [
            f"{status}: {self.p}x{self.k}x{self.m} GEMM (P x K x M) on a {self.rows}x{self.cols} "
            f"{self.dataflow.upper()} array, DRAM {self.bandwidth_bytes_per_cycle:g} B/cycle, latency "
            f"{self.latency}, {'double' if self.double_buffered else 'single'}-buffered SRAM",
            f"  {self.folds} folds x {self.cycles_per_fold} cycles; {len(self.rtl.transfer_begins)} DRAM transfers",
            f"  total cycles: RTL {s['total_cycles']}, cycle sim {c['total_cycles']}, analytical "
            f"{self.analytical['total_cycles']}",
            f"  stalls (load/bandwidth/write-back): RTL {s['stall_load_cycles']}/{s['stall_bandwidth_cycles']}/"
            f"{s['stall_writeback_cycles']}, cycle sim {c['stall_load_cycles']}/{c['stall_bandwidth_cycles']}/"
            f"{c['stall_writeback_cycles']}, analytical {self.analytical['stall_load_cycles']}/"
            f"{self.analytical['stall_bandwidth_cycles']}/{self.analytical['stall_writeback_cycles']}",
            f"  DRAM bytes read/written: RTL {self.rtl.dram_bytes_read}/{self.rtl.dram_bytes_written}",
            f"  outputs bit-exact {self.bit_exact}; build {self.build_s:.2f} s, simulate {self.simulate_s:.2f} s",
        ]
        lines += [f"  mismatch: {m}" for m in self.mismatches[:5]]
        return "\n".join(lines)


def _cycle_transfers(xfer_log) -> list:
    """(begin, end) of each DMA transfer from the cycle-level trace: a load's ifmap and filter
    parts (one transfer) share its fold and kind; the partial-sum read (operand ofmap) is its own."""
    groups = {}
    for fold, operand, is_write, start, end, _first, _words in np.asarray(xfer_log).tolist():
        key = (fold, is_write, operand == 2 and not is_write)
        lo, hi = groups.get(key, (start, end))
        groups[key] = (min(lo, start), max(hi, end))
    return sorted(groups.values())


def _gemm_layer(p: int, k: int, m: int):
    from ..spec.workload import Layer
    return Layer(name="gemm", kind="gemm", N=p, C=k, H=1, W=1, M=m, R=1, S=1)


def cycle_sim_layer(hw, dataflow: str, p: int, k: int, m: int):
    """The cycle-level simulator on the GEMM layer: (stats dict, fold log, transfer log)."""
    from .. import spec
    from ..kernels import cycle as kc
    from ..sim.cycle import layer_geometry

    geom = layer_geometry(_gemm_layer(p, k, m), hw, spec.load("dataflows", dataflow), "physical")
    stats, _rates, fold_log, xfer_log = kc.simulate_layer(geom, float(hw.dram_bandwidth_bytes_per_cycle), True)
    return dict(zip(kc.STATS, (int(v) for v in stats))), fold_log, xfer_log


def cosim_layer(hw, dataflow: str, p: int, k: int, m: int, latency: int | None = None, seed: int = 0,
                progress=None) -> LayerCosimResult:
    """Co-simulate the GEMM layer ``C [p, m] = A [p, k] @ B [k, m]`` (random full-range operands
    from ``seed``) on ``hw`` (a systolic :class:`accelsim.spec.Hardware`, physical timing) through
    the memory-system RTL and compare it with the cycle-level simulator: each fold's start and end
    cycle, each DRAM transfer's begin and end, the stall cycles (load, bandwidth, write-back), the
    total cycles and the DRAM bytes; the outputs with numpy. ``latency``: the RTL's DRAM read
    latency, by default the hw's ``dram.latency_cycles`` (which the cycle-level simulator uses);
    another value shows its effect as differences. ``progress(cycles, expected)`` is called every
    few thousand cycles when given."""
    from .. import model, spec
    from ..spec.workload import Workload

    if dataflow not in memplan.LAYOUTS:
        raise AccelsimError(f"memory system: dataflow {dataflow!r} has no RTL array (choose ws, os or is)")
    latency = hw.dram_latency_cycles if latency is None else latency
    if latency < 0:
        raise AccelsimError(f"memory system: latency must be >= 0 cycles (got {latency})")
    bandwidth = bandwidth_fraction(hw.dram_bandwidth_bytes_per_cycle)
    word_bits = hw.word_bits
    if word_bits not in (8, 16):
        raise AccelsimError(f"memory system: the RTL array takes int8 or int16 words (got {word_bits} bits)")
    halves = 2 if hw.double_buffered else 1
    caps = {"ifmap": hw.buffer_words(hw.sram_ifmap) // halves,
            "filter": hw.buffer_words(hw.sram_filter) // halves,
            "ofmap": hw.buffer_words(hw.sram_ofmap) // halves}
    mplan = memplan.plan(dataflow, hw.array_rows, hw.array_cols, p, m, k, caps, hw.double_buffered)
    cfg = ArrayConfig(hw.array_rows, hw.array_cols, dataflow, word_bits)
    rng = np.random.default_rng(seed)
    lo = -(1 << (word_bits - 1))
    a, b = rng.integers(lo, -lo, (p, k)), rng.integers(lo, -lo, (k, m))
    folds = _folds(cfg, a, b)
    t = mplan.t
    length = fold_cycles(cfg.rows, cfg.cols, t, dataflow)
    phase = t if dataflow == "os" else cfg.rows + t
    stim = _stimulus(cfg, folds, length)
    names = list(stim[0])
    stream = {name: [stim[f * length + x][name] for f in range(len(folds)) for x in range(phase)]
              for name in names}

    t0 = time.perf_counter()
    system = build_memory_system(mplan, cfg, stream, phase, bandwidth, latency)
    build_s = time.perf_counter() - t0

    # the cycle-level simulator on the same layer
    stats, fold_log, xfer_log = cycle_sim_layer(hw, dataflow, p, k, m)
    row = model.simulate(hw, Workload(name="gemm", layers=(_gemm_layer(p, k, m),)), spec.load("dataflows", dataflow),
                         timing="physical").iloc[0]
    analytical = {c: int(row[c]) for c in ("stall_load_cycles", "stall_bandwidth_cycles",
                                           "stall_writeback_cycles", "stall_cycles", "total_cycles")}

    t0 = time.perf_counter()
    timeline = simulate(system, max_cycles=4 * stats["total_cycles"] + 100 * (latency + 1) * len(folds) + 1000,
                        progress=progress, expected=stats["total_cycles"])
    simulate_s = time.perf_counter() - t0

    output = np.zeros((p, m), dtype=np.int64)
    bit_exact = len(timeline.output_rows) == len(folds)
    if bit_exact:
        output = _assemble(cfg, folds, [wrap(r, cfg.acc_bits) for r in timeline.output_rows], p, m)
        bit_exact = bool(np.array_equal(output, wrap(a @ b, cfg.acc_bits)))
    cycle_starts = fold_log[:, 5].tolist()
    cycle_ends = fold_log[:, 6].tolist()
    cycle_xfers = _cycle_transfers(xfer_log)
    word_bytes = word_bits // 8
    mismatches = []
    for f, (rs, cs, re_, ce) in enumerate(zip(timeline.fold_starts, cycle_starts, timeline.fold_ends, cycle_ends)):
        if rs != cs or re_ != ce:
            mismatches.append(f"fold {f}: RTL cycles {rs}..{re_}, cycle sim {cs}..{ce}")
    if len(timeline.fold_starts) != len(cycle_starts):
        mismatches.append(f"RTL ran {len(timeline.fold_starts)} folds, cycle sim {len(cycle_starts)}")
    rtl_xfers = list(zip(timeline.transfer_begins, timeline.transfer_ends))
    for i, (r, c) in enumerate(zip(rtl_xfers, cycle_xfers)):
        if r != c:
            mismatches.append(f"transfer {i} ({mplan.transfers[i].kind} of fold {mplan.transfers[i].fold}): "
                              f"RTL cycles {r[0]}..{r[1]}, cycle sim {c[0]}..{c[1]}")
    if len(rtl_xfers) != len(cycle_xfers):
        mismatches.append(f"RTL made {len(rtl_xfers)} DRAM transfers, cycle sim {len(cycle_xfers)}")
    result = LayerCosimResult(
        dataflow=dataflow, rows=cfg.rows, cols=cfg.cols, p=p, m=m, k=k,
        bandwidth_bytes_per_cycle=float(hw.dram_bandwidth_bytes_per_cycle), latency=latency,
        double_buffered=hw.double_buffered, folds=len(folds), cycles_per_fold=length, rtl=timeline,
        cycle_sim=stats, cycle_fold_starts=cycle_starts, cycle_fold_ends=cycle_ends,
        cycle_transfers=cycle_xfers, analytical=analytical, mismatches=(), bit_exact=bit_exact,
        build_s=build_s, simulate_s=simulate_s)
    rtl = result.rtl_stalls
    for key in ("stall_load_cycles", "stall_bandwidth_cycles", "stall_writeback_cycles", "stall_cycles",
                "total_cycles"):
        if rtl[key] != stats[key]:
            mismatches.append(f"{key}: RTL {rtl[key]}, cycle sim {stats[key]}")
    dram_read = (stats["dram_ifmap_reads"] + stats["dram_filter_reads"] + stats["dram_ofmap_reads"]) * word_bytes
    if timeline.dram_bytes_read != dram_read:
        mismatches.append(f"DRAM bytes read: RTL {timeline.dram_bytes_read}, cycle sim {dram_read}")
    if timeline.dram_bytes_written != stats["dram_ofmap_writes"] * word_bytes:
        mismatches.append(f"DRAM bytes written: RTL {timeline.dram_bytes_written}, cycle sim "
                          f"{stats['dram_ofmap_writes'] * word_bytes}")
    if not bit_exact:
        mismatches.append("outputs differ from numpy")
    from dataclasses import replace
    return replace(result, mismatches=tuple(mismatches))
