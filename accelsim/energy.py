"""Action counts below the SRAM (register files, PE-to-PE transfers) and energy per level.

Energy = action counts x energy per action from a table in hw/energy/ (DESIGN.md; Accelergy's
method: Wu, Emer, Sze, ICCAD 2019). Levels and operands:

* ``mac``: one MAC per multiply-accumulate, at the array's precision.
* ``rf_<operand>``: the PE registers. The stationary operand is written once per word loaded
  (its SRAM reads) and read by every MAC; in output stationary the accumulator is read and
  written by every MAC.
* ``noc_<operand>``: PE-to-PE transfers of the moving operands. A word read from SRAM at the array
  edge feeds its first PE directly and then hops to each further PE that uses it, so transfers =
  MACs - edge accesses (ifmap/filter: SRAM reads; a moving ofmap: SRAM writes, since the partial
  sum leaves the array at the far edge). Hops that only shift a stationary operand into place are
  not counted (rows per fold against T per fold streaming hops).
* ``psum_spatial_reductions`` (a count, no energy of its own: the add is part of a MAC or of the
  transfer): partial sums combined across PEs before they reach the buffer. Systolic: every
  partial-sum hop (weight / input stationary); multicast: the words leaving the PEs' psum
  registers minus the words reaching the global buffer (accelsim/loopnest/engine.py).
* ``sram_<operand>``: the array-side accesses plus the DRAM side: an input buffer is also written
  once per word fetched from DRAM; the ofmap buffer is also read once per word written to DRAM and
  written once per partial sum read back from DRAM. Energy per access depends on the buffer's size
  (log-log interpolation between the table's sizes, constant beyond its ends).
* ``dram_<operand>``: DRAM reads and writes.
* ``vector``: the vector unit's elementary ops (pooling, adds, unfolded batch norm), ``vector_ops``
  x the table's ``vector_op_pj`` (accelsim/vector.py, accelsim/vector_layers.py).

Access energies are per access of the table's ``bits`` and scale linearly to the array's word size.
"""
from __future__ import annotations

import numpy as np

from .errors import AccelsimError
from .kernels import loopnest as ln
from .spec import Dataflow, EnergyTable, Hardware
from .vector import vector_energy_pj_at

OPERANDS = ("ifmap", "filter", "ofmap")
LEVELS = ("mac", "rf", "noc", "sram", "dram", "vector")
#: The columns :func:`add_action_counts` writes.
ACTION_COLUMNS = tuple(f"{kind}_{op}_{what}" for op in OPERANDS
                       for kind, what in (("rf", "reads"), ("rf", "writes"), ("noc", "transfers"))) + (
    "psum_spatial_reductions",)


def add_action_counts(frame, dataflow: Dataflow):
    """Register-file accesses and PE-to-PE transfers per operand of a systolic dataflow (see the
    module docstring), by accelsim.kernels.loopnest.action_counts_row's rules (the ones the
    loop-nest engine and the mapper use) with the stationary operand kept in the PEs. ``frame``: a
    DataFrame or an accelsim.table.Table."""
    n = len(frame)
    outs = np.zeros((n, len(ln.OUTPUTS)), dtype=np.int64)
    outs[:, ln.X_MACS] = np.asarray(frame["macs"], dtype=np.int64)
    outs[:, ln.X_GLB_IFMAP_R] = np.asarray(frame["sram_ifmap_reads"], dtype=np.int64)
    outs[:, ln.X_GLB_FILTER_R] = np.asarray(frame["sram_filter_reads"], dtype=np.int64)
    outs[:, ln.X_GLB_OFMAP_W] = np.asarray(frame["sram_ofmap_writes"], dtype=np.int64)
    counts = np.zeros((n, 9), dtype=np.int64)
    ln.action_counts_batch(outs, 1 << OPERANDS.index(dataflow.stationary), True, counts)
    for index, op in enumerate(OPERANDS):
        frame[f"rf_{op}_reads"] = counts[:, ln.A_RF_READS + index]
        frame[f"rf_{op}_writes"] = counts[:, ln.A_RF_WRITES + index]
        frame[f"noc_{op}_transfers"] = counts[:, ln.A_NOC + index]
    # every partial sum handed to the next PE is added to that PE's product: a reduction across
    # PEs (none when the outputs stay in place, output stationary)
    frame["psum_spatial_reductions"] = frame["noc_ofmap_transfers"]
    return frame


def sram_access_pj(table: EnergyTable, size_kib: float) -> tuple[float, float]:
    """(read, write) pJ per access of ``table.sram_bits`` bits for a buffer of ``size_kib``:
    log-log interpolation between the table's points, the end values beyond them."""
    sizes = np.log([p.size_kib for p in table.sram_points])
    x = np.log(size_kib)
    read = np.exp(np.interp(x, sizes, np.log([max(p.read_pj, 1e-300) for p in table.sram_points])))
    write = np.exp(np.interp(x, sizes, np.log([max(p.write_pj, 1e-300) for p in table.sram_points])))
    return float(read), float(write)


def energy_columns() -> list[str]:
    """Names of the energy columns, in order: per level and operand, the vector unit, then the totals."""
    cols = ["energy_pj_mac"]
    for level in ("rf", "noc", "sram", "dram"):
        cols += [f"energy_pj_{level}_{op}" for op in OPERANDS]
    return cols + ["energy_pj_vector", "energy_pj", "energy_pj_per_mac"]


def check_precisions(table: EnergyTable, hw: Hardware, precisions) -> None:
    """Every precision the layers use needs a MAC energy in the table (vector ops fall back to it)."""
    for precision in sorted(precisions):
        if precision not in table.mac_pj:
            raise AccelsimError(
                f"{table.file}: mac_pj.{precision}: no MAC energy for {precision} (needed by "
                f"{hw.file or hw.name}); add it to the table or choose another energy_table "
                f"(tables with it: see hw/energy/)")


def add_energy_columns(frame, hw: Hardware, table: EnergyTable):
    """``energy_pj_<level>_<operand>``, ``energy_pj_mac``, ``energy_pj_vector``, their sum
    ``energy_pj`` and ``energy_pj_per_mac``, from the action counts in ``frame`` (a DataFrame or an
    accelsim.table.Table) and ``table``.
    Each row's accesses are of its ``word_bits`` and its MACs / vector ops at its ``precision``
    (columns of accelsim/model.py; the hw's precision when absent). Vector-unit energy is
    ``vector_ops`` x ``vector_op_pj`` (accelsim/vector.py). ``energy_pj`` adds the parts left to
    right, a missing part counting 0."""
    def col(name):
        return np.asarray(frame[name])
    precision = col("precision") if "precision" in frame else np.full(len(frame), hw.precision, dtype=object)
    check_precisions(table, hw, set(precision.tolist()))
    bits = col("word_bits") if "word_bits" in frame else hw.word_bits
    performed = col("effective_macs") if "effective_macs" in frame else col("macs")  # skipped MACs: free
    frame["energy_pj_mac"] = performed * _per_row(precision, table.mac_pj)
    for op in OPERANDS:
        rf = table.rf[op]
        frame[f"energy_pj_rf_{op}"] = (col(f"rf_{op}_reads") * rf.read_pj
                                       + col(f"rf_{op}_writes") * rf.write_pj) * bits / table.rf_bits
        frame[f"energy_pj_noc_{op}"] = col(f"noc_{op}_transfers") * table.noc_transfer_pj * bits / table.noc_bits
    buffers = {"ifmap": hw.sram_ifmap, "filter": hw.sram_filter, "ofmap": hw.sram_ofmap}
    sram_reads = {"ifmap": col("sram_ifmap_reads"), "filter": col("sram_filter_reads"),
                  "ofmap": col("sram_ofmap_reads") + col("dram_ofmap_writes")}
    sram_writes = {"ifmap": col("dram_ifmap_reads"), "filter": col("dram_filter_reads"),
                   "ofmap": col("sram_ofmap_writes") + col("dram_ofmap_reads")}
    dram_reads = {"ifmap": col("dram_ifmap_reads"), "filter": col("dram_filter_reads"),
                  "ofmap": col("dram_ofmap_reads")}
    dram_writes = {"ifmap": 0, "filter": 0, "ofmap": col("dram_ofmap_writes")}
    for op in OPERANDS:
        read_pj, write_pj = sram_access_pj(table, buffers[op].size_bytes / 1024)
        frame[f"energy_pj_sram_{op}"] = (sram_reads[op] * read_pj + sram_writes[op] * write_pj) * bits / table.sram_bits
        frame[f"energy_pj_dram_{op}"] = (dram_reads[op] * table.dram.read_pj
                                         + dram_writes[op] * table.dram.write_pj) * bits / table.dram_bits
    vector_ops = col("vector_ops") if "vector_ops" in frame else 0
    frame["energy_pj_vector"] = vector_energy_pj_at(vector_ops, precision, table)
    energy = np.zeros(len(frame))
    for part in energy_columns()[:-2]:
        values = np.asarray(frame[part], dtype=np.float64)
        energy = energy + np.where(np.isnan(values), 0.0, values)
    frame["energy_pj"] = energy
    macs = col("macs")
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["energy_pj_per_mac"] = np.where(macs > 0, energy / macs, np.nan)
    return frame


def _per_row(keys: np.ndarray, values: dict) -> np.ndarray:
    """``values[key]`` for each row's key (pandas' ``Series.map(dict)``: ints stay ints)."""
    return np.array([values[key] for key in keys.tolist()])
