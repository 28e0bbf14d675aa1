"""Column post-processing shared by every fidelity level: the results table's fixed columns,
per-layer identity columns, the array-side bandwidth limits and the derived columns (bytes,
microseconds, roofline coordinates). Each takes a DataFrame or an accelsim.table.Table (numpy
columns: the command line's path without pandas) and the hardware (or a
:class:`RowHardware` for many array-size / bandwidth variants at once) and returns the frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .encoding import at_precision, layer_precision
from .kernels import systolic as k
from .spec import Hardware

#: Columns every results table has, in order (a promise to scripts: add, never rename).
RESULT_COLUMNS = (
    "workload", "layer", "layer_type", "hw", "dataflow", "timing",
    "N", "C", "H", "W", "M", "R", "S", "stride_h", "stride_w", "pad_h", "pad_w",
) + k.INT_OUTPUTS + k.FLOAT_OUTPUTS  # INT_OUTPUTS brings groups, E, F and the GEMM view

#: Layer fields copied into the results table.
LAYER_FIELDS = ("N", "C", "H", "W", "M", "R", "S", "stride_h", "stride_w", "pad_h", "pad_w")


@dataclass(frozen=True)
class RowHardware:
    """A Hardware seen with per-row array sizes and DRAM bandwidths (numpy arrays aligned with the
    rows of a frame); every other attribute is the base's. Lets the column functions of accelsim/columns.py
    and accelsim/energy.py cost many array-size / bandwidth variants of one hw at once."""

    base: Hardware
    array_rows: np.ndarray
    array_cols: np.ndarray
    dram_bandwidth_bytes_per_cycle: np.ndarray

    @property
    def num_pes(self) -> np.ndarray:
        return self.array_rows * self.array_cols

    def __getattr__(self, name):
        return getattr(self.base, name)


def layer_identity(frame, hw: Hardware, layers, n_points: int) -> None:
    """The per-layer descriptive columns (unit, precision, word size, dilation, folding, vector
    ops), repeated for ``n_points`` points."""
    precisions = [layer_precision(layer, hw) for layer in layers]
    for col, values in (("unit", [layer.unit for layer in layers]), ("precision", precisions),
                        ("word_bits", [at_precision(hw, p).word_bits for p in precisions]),
                        ("dilation_h", [layer.dilation_h for layer in layers]),
                        ("dilation_w", [layer.dilation_w for layer in layers]),
                        ("folded_into", [layer.folded_into for layer in layers]),
                        ("vector_ops", [layer.vector_ops for layer in layers])):
        frame[col] = np.tile(np.array(values, dtype=object if isinstance(values[0], str) or values[0] is None
                                      else np.int64), n_points)


#: Array-side memory levels with an optional bandwidth limit: (level, hw attribute, access columns).
BANDWIDTH_LEVELS = (
    ("sram", "sram_bandwidth_words_per_cycle",
     ("sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "sram_ofmap_reads")),
    ("noc", "noc_bandwidth_words_per_cycle",
     ("noc_ifmap_transfers", "noc_filter_transfers", "noc_ofmap_transfers")),
    ("rf", "rf_bandwidth_words_per_cycle",
     ("rf_ifmap_reads", "rf_ifmap_writes", "rf_filter_reads", "rf_filter_writes", "rf_ofmap_reads",
      "rf_ofmap_writes")),
)


def apply_bandwidth_limits(frame, hw: Hardware):
    """Per-level bandwidth limits below DRAM (a roofline bound per memory level: Williams et al.
    CACM 2009; Timeloop applies one to every level, Parashar et al. ISPASS 2019, section V-C).

    Each level with a finite bandwidth needs ceil(accesses / bandwidth) cycles: the global buffer's
    array-side reads and writes over ``sram.bandwidth_words_per_cycle``; the array network's
    transfers over ``array.noc_bandwidth_words_per_cycle``; the register files' reads and writes
    over ``pe.rf_bandwidth_words_per_cycle`` x PEs (the accesses spread evenly over every PE: a
    lower bound for mappings that leave PEs idle). The levels work concurrently with the MACs, so
    the layer takes max(compute, every level's cycles); the excess over the compute cycles is a
    stall, reported in the column of the level that binds (``stall_<level>_bandwidth_cycles``,
    the others 0; ties go to the outermost level) and included in ``stall_cycles``.
    ``frame``: a DataFrame or an accelsim.table.Table.
    """
    compute = np.asarray(frame["compute_cycles"]).astype(np.int64)
    bound = compute.copy()
    binding = np.full(len(frame), "", dtype=object)
    for level, attribute, columns in BANDWIDTH_LEVELS:
        bandwidth = np.broadcast_to(np.asarray(getattr(hw, attribute) * (hw.num_pes if level == "rf" else 1),
                                               dtype=np.float64), (len(frame),))
        if np.isinf(bandwidth).all():
            continue
        accesses = sum(_counts(frame[c]) for c in columns if c in frame)
        cycles = np.ceil(accesses / bandwidth).astype(np.int64)
        wins = cycles > bound
        binding = np.where(wins, level, binding)
        bound = np.where(wins, cycles, bound)
    stall = bound - compute
    for level, _, _ in BANDWIDTH_LEVELS:
        frame[f"stall_{level}_bandwidth_cycles"] = np.where(binding == level, stall, 0).astype(np.int64)
    frame["stall_cycles"] = np.asarray(frame["stall_cycles"]) + stall
    frame["total_cycles"] = np.asarray(frame["total_cycles"]) + stall
    total = np.asarray(frame["total_cycles"])
    performed = np.asarray(frame["effective_macs"] if "effective_macs" in frame else frame["macs"])
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["pe_utilization"] = np.where(total > 0, performed / (total * hw.num_pes), 0.0)
    return frame


def _counts(column) -> np.ndarray:
    """An access-count column as int64, missing counts as 0 (pandas' ``fillna(0).astype(np.int64)``)."""
    values = np.asarray(column)
    if values.dtype.kind == "f":
        values = np.where(np.isnan(values), 0, values)
    return values.astype(np.int64)


def add_derived_columns(frame, hw: Hardware):
    """Traffic in bytes, time in microseconds and roofline coordinates (``frame``: a DataFrame or
    an accelsim.table.Table).

    Roofline (Williams, Waterman, Patterson, CACM 2009): arithmetic intensity = MACs per DRAM byte;
    attainable MACs/cycle = min(PEs, intensity x DRAM bytes/cycle); achieved = MACs / total cycles.
    """
    def col(name):
        return np.asarray(frame[name])
    word_bytes = (col("word_bits") if "word_bits" in frame else hw.word_bits) / 8
    dram_words = col("dram_ifmap_reads") + col("dram_filter_reads") + col("dram_ofmap_writes") + col("dram_ofmap_reads")
    dram_bytes = np.ceil(dram_words * word_bytes).astype(np.int64)
    frame["dram_bytes"] = dram_bytes
    macs, total = col("macs"), col("total_cycles")
    frame["latency_us"] = total / hw.clock_mhz
    with np.errstate(divide="ignore", invalid="ignore"):
        intensity = np.where(dram_bytes > 0, macs / dram_bytes, np.nan)
        frame["arithmetic_intensity_macs_per_byte"] = intensity
        frame["attainable_macs_per_cycle"] = np.minimum(hw.num_pes, intensity * hw.dram_bandwidth_bytes_per_cycle)
        frame["achieved_macs_per_cycle"] = np.where(total > 0, macs / total, 0.0)
    return frame
