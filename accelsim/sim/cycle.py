"""The cycle-level simulator (fidelity ``cycle``): layer by layer, cycle by cycle, fold by fold.

What one simulated cycle is
---------------------------
One clock of the PE array, as in accelsim/model.py: every array-edge port reads or writes at most
one SRAM word. Which ports are busy in cycle ``x`` of a fold follows SCALE-Sim's demand matrices
(Samajdar et al., ISPASS 2020, section III; [scalesim-v3] compute/systolic_compute_{os,ws,is}.py), with the
fold length of accelsim/kernels/timing.py (``2*rows + cols + T - 2``; SCALE-Sim's output
stationary ``T + rows + cols - 2`` in ``scalesim`` timing):

* weight / input stationary: cycles 0 .. rows-1 shift the stationary tile in, one array row of
  ``c`` words per cycle (bottom row first); array row k reads operand wave tau at cycle
  rows + tau + k (the systolic skew); column j writes the partial sum of wave tau at cycle
  2*rows - 1 + tau + j, after it crossed every row; a fold that continues partial sums
  (row fold > 0, physical timing) reads them back at the output edge in that same cycle (a
  read-modify-write accumulator, as the TPU's: Jouppi et al., ISCA 2017, section 2).
* output stationary: row k reads wave tau at cycle tau + k, column j at tau + j; the outputs
  then leave column j bottom row first at cycles D + j + i, D = T + rows - 1 (physical: after
  the last MAC) or T - 1 (SCALE-Sim's demand matrix).

The kernel (accelsim/kernels/cycle.py) walks every cycle of each distinct fold shape (full or
partial rows x full or partial columns: folds of one shape have identical demand) and sums and
maximises the words per cycle of each buffer, so the peaks are true per-cycle peaks.

The DRAM prefetch model
-----------------------
Each SRAM is double-buffered (``sram.double_buffered``): while fold f computes from one half, the
DRAM fills the other half with fold f+1's tiles. Which words fold f+1 needs from DRAM follows the
analytical engine's reuse rules (accelsim/model.py "DRAM traffic"): the stationary operand's tile
every fold; an input re-used across column folds (or row folds) only in the first one when it fits
its half buffer, else again every fold; partial sums spilled and read back when one column tile
of them does not fit. An input's words per fold are its proportional share of the operand's unique
words (an ifmap with overlapping windows needs fewer DRAM words than im2col entries), rounded so
that the shares add up exactly. One DRAM interface of ``dram.bandwidth_bytes_per_cycle`` serves
transfers first come first served, each taking ceil(words x bits / (8 x bandwidth)) whole cycles:
the load of fold f+1 is issued when fold f starts, the write-back of fold f's finished outputs
(or spilled partial sums) when it ends. Fold f starts when its tiles are resident and the
write-back of fold f-2 (whose ofmap half it reuses) is done. Single-buffered SRAM: the load of
fold f+1 is issued when fold f ends, and fold f+1 also waits for fold f's write-back. A read
(load or partial sums) is done ``dram.latency_cycles`` after its last byte crossed the interface
(requests are pipelined: the interface is free at once; default 0). The RTL memory system
(accelsim/rtl/memsys.py) reproduces this timeline cycle for cycle (tests/test_rtl_memsys.py).

Stall cycles: ``stall_load_cycles`` before the first fold, ``stall_bandwidth_cycles`` between
folds, ``stall_writeback_cycles`` after the last fold until its write-back is done;
``stall_sram_bandwidth_cycles`` is the analytical engine's global-buffer bound
(accelsim.columns.apply_bandwidth_limits). Totals (compute cycles, SRAM and DRAM counts) equal the analytical
engine's exactly (tests/test_cycle.py); the stalls are this model's, measured against the
analytical stall model in docs/cycle.md.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import energy
from ..analytical import simulate_analytical
from ..columns import add_derived_columns, apply_bandwidth_limits
from ..errors import AccelsimError
from ..kernels import cycle as kc
from ..loopnest.systolic import gemm_view
from ..spec import Dataflow, EnergyTable, Hardware, Layer, Workload

#: Columns the cycle fidelity adds to the analytical table (bytes per cycle; averages over the
#: layer's total cycles, peaks: the busiest cycle, or for DRAM the busiest fold window).
CYCLE_COLUMNS = (
    "sram_ifmap_read_bw_avg_bytes_per_cycle", "sram_ifmap_read_bw_peak_bytes_per_cycle",
    "sram_filter_read_bw_avg_bytes_per_cycle", "sram_filter_read_bw_peak_bytes_per_cycle",
    "sram_ofmap_write_bw_avg_bytes_per_cycle", "sram_ofmap_write_bw_peak_bytes_per_cycle",
    "sram_ofmap_read_bw_avg_bytes_per_cycle", "sram_ofmap_read_bw_peak_bytes_per_cycle",
    "sram_bw_peak_bytes_per_cycle",
    "dram_read_bw_avg_bytes_per_cycle", "dram_read_bw_peak_bytes_per_cycle",
    "dram_write_bw_avg_bytes_per_cycle", "dram_write_bw_peak_bytes_per_cycle",
)

#: Kernel outputs copied over the analytical row (they must agree where the analytical engine is
#: exact; the stall columns are the cycle model's own).
COPIED = (
    "folds", "cycles_per_fold", "compute_cycles", "fill_drain_cycles", "stall_load_cycles",
    "stall_bandwidth_cycles", "stall_writeback_cycles", "stall_cycles", "total_cycles", "macs",
    "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "sram_ofmap_reads",
    "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "dram_ofmap_reads",
    "row_folds", "col_folds",
)
AXIS = {"P": kc.AXIS_P, "M": kc.AXIS_M, "K": kc.AXIS_K}


def check_dataflow(hw: Hardware, dataflow) -> None:
    """Cycle fidelity covers the weight-, output- and input-stationary dataflows on systolic
    arrays (K on the array rows or on time); anything else is a clear error."""
    if getattr(dataflow, "engine", "systolic") == "loopnest" or hw.interconnect != "systolic":
        raise AccelsimError(
            f"fidelity cycle covers the ws, os and is dataflows on systolic arrays; {dataflow.name} on "
            f"{hw.name} ({hw.interconnect}) runs at fidelity analytical only (drop --fidelity cycle)")
    if dataflow.cols_axis == "K":
        raise AccelsimError(
            f"{dataflow.file or dataflow.name}: fidelity cycle needs the reduction (K: C, R, S) on the array "
            "rows or on time, as in ws, os and is; this dataflow puts it on the columns")


def layer_geometry(layer: Layer, hw: Hardware, dataflow: Dataflow, timing: str) -> np.ndarray:
    """The kernel's ``geom`` row for one layer (accelsim/kernels/cycle.py ``G_*`` layout)."""
    scalesim = timing == "scalesim"
    p, m, k, unique = gemm_view(layer, scalesim)
    halves = 2 if hw.double_buffered else 1
    geom = np.zeros(kc.GEOM_COLS, dtype=np.int64)
    geom[kc.G_ROWS], geom[kc.G_COLS] = hw.array_rows, hw.array_cols
    geom[kc.G_P], geom[kc.G_M], geom[kc.G_K] = p, m, k
    geom[kc.G_RA], geom[kc.G_CA], geom[kc.G_TA] = (AXIS[dataflow.rows_axis], AXIS[dataflow.cols_axis],
                                                   AXIS[dataflow.time_axis])
    geom[kc.G_GROUPS] = layer.groups
    geom[kc.G_SCALESIM] = int(scalesim)
    geom[kc.G_DOUBLE] = int(hw.double_buffered)
    geom[kc.G_WORD_BITS] = hw.word_bits
    geom[kc.G_IFMAP_UNIQUE] = unique
    geom[kc.G_CAP_IFMAP] = hw.buffer_words(hw.sram_ifmap) // halves
    geom[kc.G_CAP_FILTER] = hw.buffer_words(hw.sram_filter) // halves
    geom[kc.G_CAP_OFMAP] = hw.buffer_words(hw.sram_ofmap) // halves
    geom[kc.G_LATENCY] = hw.dram_latency_cycles
    return geom


def run_layer(layer: Layer, hw: Hardware, dataflow: Dataflow, timing: str, trace: bool = False):
    """Kernel outputs for one layer: (stats dict, rates dict, fold log, transfer log)."""
    geom = layer_geometry(layer, hw, dataflow, timing)
    stats, rates, fold_log, xfer_log = kc.simulate_layer(geom, float(hw.dram_bandwidth_bytes_per_cycle), trace)
    return (dict(zip(kc.STATS, (int(v) for v in stats))), dict(zip(kc.RATES, (float(v) for v in rates))),
            fold_log, xfer_log)


def simulate_cycle(hw: Hardware, workload: Workload, dataflow: Dataflow, timing: str | None = None,
                   energy_table: EnergyTable | None = None, trace=None) -> pd.DataFrame:
    """Simulate every MAC layer cycle by cycle (pooling, residual adds and other vector-unit or
    layout layers keep their analytical rows, with empty bandwidth columns); the analytical table's columns (cycle counts, stalls
    and accesses from the cycle model), ``fidelity = 'cycle'`` and :data:`CYCLE_COLUMNS`.

    ``trace``: None, or a sink with ``write_layer(layer_index, layer, geom, fold_log, xfer_log)``
    (accelsim.sim.trace.TraceWriter) that receives each layer's compact trace as it is simulated.
    """
    check_dataflow(hw, dataflow)
    timing = timing or hw.timing
    frame = simulate_analytical(hw, workload, dataflow, timing=timing)
    word_bytes = hw.word_bits / 8
    rows, index_of_rows = [], []
    for index, layer in enumerate(workload.layers):
        if not layer.is_mac:
            continue            # vector-unit and layout layers keep their analytical rows
        index_of_rows.append(index)
        stats, rates, fold_log, xfer_log = run_layer(layer, hw, dataflow, timing, trace is not None)
        if trace is not None:
            trace.write_layer(index, layer, layer_geometry(layer, hw, dataflow, timing), fold_log, xfer_log)
        total = stats["total_cycles"]
        row = {name: stats[name] for name in COPIED}

        def avg(words):
            return words * word_bytes / total if total > 0 else 0.0
        streamed_ofmap_writes = stats["sram_ofmap_writes"] - stats["phantom_ofmap_writes"]
        row.update({
            "sram_ifmap_read_bw_avg_bytes_per_cycle": avg(stats["sram_ifmap_reads"]),
            "sram_ifmap_read_bw_peak_bytes_per_cycle": stats["peak_ifmap_reads"] * word_bytes,
            "sram_filter_read_bw_avg_bytes_per_cycle": avg(stats["sram_filter_reads"]),
            "sram_filter_read_bw_peak_bytes_per_cycle": stats["peak_filter_reads"] * word_bytes,
            "sram_ofmap_write_bw_avg_bytes_per_cycle": avg(streamed_ofmap_writes),
            "sram_ofmap_write_bw_peak_bytes_per_cycle": stats["peak_ofmap_writes"] * word_bytes,
            "sram_ofmap_read_bw_avg_bytes_per_cycle": avg(stats["sram_ofmap_reads"]),
            "sram_ofmap_read_bw_peak_bytes_per_cycle": stats["peak_ofmap_reads"] * word_bytes,
            "sram_bw_peak_bytes_per_cycle": stats["peak_sram_all"] * word_bytes,
            "dram_read_bw_avg_bytes_per_cycle": avg(stats["dram_ifmap_reads"] + stats["dram_filter_reads"]
                                                    + stats["dram_ofmap_reads"]),
            "dram_read_bw_peak_bytes_per_cycle": rates["dram_read_bw_peak_bytes_per_cycle"],
            "dram_write_bw_avg_bytes_per_cycle": avg(stats["dram_ofmap_writes"]),
            "dram_write_bw_peak_bytes_per_cycle": rates["dram_write_bw_peak_bytes_per_cycle"],
        })
        rows.append(row)
    cycle = pd.DataFrame(rows, index=frame.index[index_of_rows])
    for col in cycle.columns:
        if col in frame:
            frame.loc[cycle.index, col] = cycle[col]
        else:
            frame[col] = cycle[col]
    frame = apply_bandwidth_limits(frame, hw)
    frame = add_derived_columns(frame, hw)
    frame["pe_utilization"] = (frame["macs"] / (frame["total_cycles"] * hw.num_pes)).where(
        frame["total_cycles"] > 0, 0.0)
    if timing != "scalesim":
        busy = frame["compute_cycles"] > 0
        frame["compute_utilization"] = (frame["macs"] / (frame["compute_cycles"] * hw.num_pes)).where(busy, 0.0)
    array = frame["unit"] == "array"          # vector-unit rows keep their zero PE actions
    counted = energy.add_action_counts(frame.loc[array].copy(), dataflow)
    for col in energy.ACTION_COLUMNS:
        frame.loc[array, col] = counted[col]
    if energy_table is not None:
        frame = energy.add_energy_columns(frame, hw, energy_table)
    frame["fidelity"] = "cycle"
    return frame

