"""The analytical engine: layers x hardware x dataflows -> one tidy row per layer.

The formulas below are what the engine computes for the systolic dataflows, stated in closed
form. They are not coded twice: the engine builds each point's loop-nest mapping
(accelsim/kernels/systolic.py) and counts it with the general loop-nest analysis
(accelsim/kernels/loopnest.py) that also counts the mapper's mappings; the closed form itself is
kept as an independent test oracle (tests/systolic_closed_form.py), beside the fold-by-fold
enumeration of tests/naive.py.

What one simulated cycle is
---------------------------
One cycle is one clock of the PE array: every PE performs at most one multiply-accumulate, every
operand moves one PE to the right (or down), and every array-edge port reads or writes at most one
SRAM word. DRAM moves ``dram_bandwidth_bytes_per_cycle`` bytes per cycle.

Lowering (DESIGN.md notation)
-----------------------------
A conv layer (N, C, H, W, M, R, S, stride U, padding, G groups) is mapped one group at a time
(groups are an outer loop: a depthwise layer is C independent one-channel GEMMs). Per group the
GEMM view is P = N*E*F output pixels, M/G filters and K = (C/G)*R*S reduction
(SCALE-Sim: Samajdar et al., ISPASS 2020, section III-A; ../shared/reference/scalesim/MODEL.md 2.1).
E = floor((H + 2*pad - R)/U) + 1 (Dumoulin & Visin 2016, relationship 6).

Folding and compute cycles
--------------------------
The dataflow puts one GEMM axis on the array rows (size Sr), one on the columns (Sc) and streams
the third over time (T). The array covers the problem in ``row_folds = ceil(Sr/rows)`` x
``col_folds = ceil(Sc/cols)`` folds, column folds outer, row folds inner. Every fold runs on the
whole array (partial folds pad unused PEs with zeros, as a fixed-size RTL array does) and takes
``2*rows + cols + T - 2`` cycles: ``rows`` cycles to shift the stationary operand in (or, in output
stationary, out), then the last of T skewed operand waves crosses ``rows - 1`` skew rows,
``cols - 1`` columns and the ``rows`` PEs of a column (Samajdar et al., ISPASS 2020, Eq. 1;
SCALE-Sim issue scale-sim-v3#4 confirms it for all three dataflows). Folds do not overlap.
``fill_drain_cycles`` = folds x (cycles per fold - T): the cycles of each fold in which the array
is not yet or no longer streaming its T operand waves.

SCALE-Sim-compatible timing (``timing: scalesim``) reproduces SCALE-Sim 3.0.0, deviations
included (MODEL.md 2.3-2.5): output stationary takes ``T + rows + cols - 2`` cycles per fold,
a (sub)layer's total is folds x cycles-per-fold minus 1, the output size is rounded up
(ceil((H' - R + U)/U), where H' = H + 2*pad is the padded input SCALE-Sim expects to be given),
OS adds ``rows + cols`` phantom ofmap writes per fold, psum reads are not counted, and compute
utilisation uses its per-fold denominators.

SRAM accesses (words)
---------------------
Each operand depends on two of the three GEMM axes. It is read through the array edge once per
fold of the axis it does not depend on: ifmap reads = P*K x folds(M axis), filter reads =
K*M x folds(P axis), ofmap writes = P*M x folds(K axis), and ofmap (partial-sum) reads =
P*M x (folds(K axis) - 1); an axis on time has one "fold". Reads are im2col-expanded: every window
element that enters the array is one read (MODEL.md 2.5, which matches SCALE-Sim for ws/os/is).

DRAM traffic (words) and stalls (cycles)
----------------------------------------
Each buffer holds ``size`` words, half of it when double-buffered (the other half is being filled).
Per group: the stationary operand's tiles are read once. An input operand that does not depend on
the column axis is re-used by every column fold when it fits its buffer, else it is re-fetched
``col_folds`` times; one that does not depend on the row axis is re-used across the row folds when
one column tile's slice fits, else re-fetched ``row_folds`` times. Partial sums (K on the rows)
stay in the ofmap buffer when one column tile of outputs fits, else every row fold spills them to
DRAM and reads them back. Inputs count the unique words needed (N*C*H*W unpadded, or P*K when a strided 1x1 conv skips
pixels; M*K filters).
The array stalls (a) while the first fold's tiles load, (b) when the remaining traffic needs more
DRAM cycles than the compute it can overlap with ((folds - 1) x cycles per fold when
double-buffered, none otherwise), and (c) while the last output tile drains; and (d) when the global buffer's
``sram.bandwidth_words_per_cycle`` cannot serve the array's accesses in the compute cycles
(:func:`apply_bandwidth_limits`, which also bounds the array network and the register files). Transfer cycles are
ceil(words x bits / (8 x bandwidth_bytes_per_cycle)). This is a first-principles bandwidth model
at fold granularity; the cycle-level simulator refines it fold by fold.

Layers without MACs, precision and sparsity
-------------------------------------------
Pooling, residual adds and unfolded batch norms run on the vector unit; concatenations and batch
norms folded into their conv cost nothing (accelsim/vector_layers.py states their cycles and
traffic); their rows say ``unit`` vector / none. Every layer's words are of its own ``precision``
annotation (else the hw's): the buffers hold size_bytes*8/bits of them and DRAM bytes follow.
Where the hw declares ``sparsity`` support, a sparse layer maps a shorter reduction
(:func:`reduction_fraction`); ``effective_macs`` counts the MACs performed, ``macs`` stays dense.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import pandas as pd

from . import energy
from .errors import AccelsimError
from .kernels import systolic as k
from .spec import Dataflow, EnergyTable, Hardware, Layer, Workload
from .vector_layers import vector_frame

TIMINGS = {"physical": k.TIMING_PHYSICAL, "scalesim": k.TIMING_SCALESIM}
FIDELITIES = ("analytical", "cycle")

#: Columns every results table has, in order (promised to scripts by issue 2; add, never rename).
RESULT_COLUMNS = (
    "workload", "layer", "layer_type", "hw", "dataflow", "timing",
    "N", "C", "H", "W", "M", "R", "S", "stride_h", "stride_w", "pad_h", "pad_w",
) + k.INT_OUTPUTS + k.FLOAT_OUTPUTS  # INT_OUTPUTS brings groups, E, F and the GEMM view


def reduction_fraction(layer: Layer, hw: Hardware | None = None) -> Fraction:
    """The fraction of a layer's reduction K (= (C/G)*R*S) the array performs: 1 when dense.

    * hw ``sparsity.nm: [n, m]`` and a layer annotated n':m with n' <= n: the array keeps n of every
      m weights along K and skips the rest (NVIDIA's 2:4 sparse tensor cores, Mishra et al.,
      arXiv:2104.08378, section 2: twice the math throughput at 2:4), so K' = ceil(K n / m);
    * hw ``sparsity.zero_skipping``: an ideal zero-skipping array performs only the MACs whose
      weight and activation are both non-zero, seed 003's bound MACs >= (1-p)(1-q) x dense, so
      K' = ceil(K (1-p)(1-q)) (load balance assumed, as in the bound).
    The smaller applies when both do. The array then maps the GEMM with K' (cycles, folds and the
    filter / ifmap words read through its edge follow K'); index metadata is not counted.
    """
    fraction = Fraction(1)
    if hw is None:
        return fraction
    notes = layer.annotations
    if hw.sparsity_nm and notes.nm and notes.nm[1] == hw.sparsity_nm[1] and notes.nm[0] <= hw.sparsity_nm[0]:
        fraction = Fraction(hw.sparsity_nm[0], hw.sparsity_nm[1])
    if hw.sparsity_zero_skipping:
        fraction = min(fraction, Fraction(str(notes.weight_density)) * Fraction(str(notes.activation_density)))
    return fraction


def layer_row(layer: Layer, hw: Hardware | None = None) -> list[int]:
    fraction = reduction_fraction(layer, hw)
    return [layer.N, layer.C, layer.H, layer.W, layer.M, layer.R, layer.S, layer.stride_h,
            layer.stride_w, layer.pad_h, layer.pad_w, layer.groups, layer.dilation_h, layer.dilation_w,
            fraction.numerator, fraction.denominator]


def hw_row(hw: Hardware, timing: str) -> list[int]:
    return [hw.array_rows, hw.array_cols, hw.buffer_words(hw.sram_ifmap), hw.buffer_words(hw.sram_filter),
            hw.buffer_words(hw.sram_ofmap), int(hw.double_buffered), hw.word_bits, TIMINGS[timing]]


@dataclass(frozen=True)
class Batch:
    """Points for the kernel as flat arrays (one row per point)."""

    layers: np.ndarray      # int64 [n, LAYER_COLS]
    hws: np.ndarray         # int64 [n, HW_COLS]
    bandwidths: np.ndarray  # float64 [n]
    dataflows: np.ndarray   # int64 [n, 3]


def evaluate_batch(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Run the kernel on a batch; returns (int outputs [n, len(INT_OUTPUTS)], float outputs)."""
    n = batch.layers.shape[0]
    out_int = np.zeros((n, len(k.INT_OUTPUTS)), dtype=np.int64)
    out_float = np.zeros((n, len(k.FLOAT_OUTPUTS)), dtype=np.float64)
    k.evaluate(np.ascontiguousarray(batch.layers, dtype=np.int64),
               np.ascontiguousarray(batch.hws, dtype=np.int64),
               np.ascontiguousarray(batch.bandwidths, dtype=np.float64),
               np.ascontiguousarray(batch.dataflows, dtype=np.int64), out_int, out_float)
    return out_int, out_float


def layer_precision(layer: Layer, hw: Hardware) -> str:
    """The precision a layer's tensors are stored and moved at: its annotation, else the hw's."""
    return layer.annotations.precision or hw.precision


def at_precision(hw: Hardware, precision: str) -> Hardware:
    """``hw`` with words of ``precision``: the same buffer bytes hold more or fewer words."""
    return hw if precision == hw.precision else replace(hw, precision=precision)


def simulate(hw: Hardware, workload: Workload, dataflow: Dataflow, timing: str | None = None,
             energy_table: EnergyTable | None = None, objective: str = "edp",
             time_limit_s: float | None = None, progress=None, fidelity: str = "analytical",
             trace=None) -> pd.DataFrame:
    """Evaluate every layer of ``workload`` on ``hw`` under ``dataflow``: one row per layer.

    ``timing`` overrides ``hw.timing`` ('physical' or 'scalesim'). Columns: see RESULT_COLUMNS,
    :func:`add_derived_columns` and accelsim/energy.py; access counts are in words (at each
    layer's ``precision``, column ``word_bits``), traffic in bytes, time in cycles, energy in pJ.
    With ``energy_table`` None there are no energy columns.
    MAC layers (``unit`` = array) map onto the PE array; pooling, residual adds and unfolded batch
    norms run on the vector unit (``unit`` = vector), concatenations and folded batch norms cost
    nothing (``unit`` = none); accelsim/vector_layers.py states their cycles and traffic.
    A loop-nest dataflow (``engine: loopnest``) is mapped layer by layer by the mapper for
    ``objective`` ('cycles', 'energy' or 'edp'), within ``time_limit_s`` per layer if given;
    ``progress(index, count, layer_name, seconds)`` is called as each MAC layer is mapped.
    ``fidelity`` 'cycle' runs the cycle-level simulator instead (accelsim/sim/cycle.py; ws, os
    and is on systolic arrays), streaming its compact trace to ``trace`` if given.
    """
    if fidelity not in FIDELITIES:
        raise AccelsimError(f"fidelity must be one of {', '.join(FIDELITIES)} (got {fidelity!r})")
    if trace is not None and fidelity != "cycle":
        raise AccelsimError("a trace needs fidelity='cycle'")
    if fidelity == "cycle":
        from .sim.cycle import simulate_cycle
        return simulate_cycle(hw, workload, dataflow, timing=timing, energy_table=energy_table, trace=trace)
    loopnest = dataflow.engine == "loopnest"
    if loopnest:
        if energy_table is None:
            raise AccelsimError("a loop-nest dataflow needs an energy table (its mapper optimises energy)")
        if timing == "scalesim":
            raise AccelsimError(f"timing scalesim applies to the systolic dataflows only, not {dataflow.name}")
        timing = "physical"
    else:
        if hw.interconnect != "systolic":
            raise AccelsimError(
                f"{hw.file or hw.name}: dataflow {dataflow.name} is a systolic dataflow but array.interconnect is "
                f"{hw.interconnect}; use a loop-nest dataflow (rs, nlr, ws_multicast, os_multicast) or a systolic hw")
        timing = timing or hw.timing
        if timing not in TIMINGS:
            raise AccelsimError(f"timing must be one of {', '.join(TIMINGS)} (got {timing!r})")
    if energy_table is not None:
        energy.check_precisions(energy_table, hw, {layer_precision(layer, hw) for layer in workload.layers})
    if loopnest:
        frame = _layer_frame(hw, workload, dataflow, timing, energy_table, objective, time_limit_s, progress)
    else:
        frame = simulate_points(hw, workload, dataflow, timing, energy_table).drop(columns="point")
    frame["fidelity"] = "analytical"
    return frame


@dataclass(frozen=True)
class RowHardware:
    """A Hardware seen with per-row array sizes and DRAM bandwidths (numpy arrays aligned with the
    rows of a frame); every other attribute is the base's. Lets the column functions of this module
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


def simulate_points(hw: Hardware, workload: Workload, dataflow: Dataflow, timing: str,
                    energy_table: EnergyTable | None = None, array_rows=None, array_cols=None,
                    dram_bandwidths=None) -> pd.DataFrame:
    """:func:`simulate` of a systolic dataflow at many points at once: variants of ``hw`` with
    ``array_rows[i]`` x ``array_cols[i]`` PEs and ``dram_bandwidths[i]`` bytes per cycle (default:
    the hw's own, one point). One kernel call covers every (point, MAC layer); the result has a
    ``point`` column and the rows of point 0, then point 1, ... (``accelsim sweep`` uses it)."""
    rows_pt = np.atleast_1d(np.asarray(hw.array_rows if array_rows is None else array_rows, dtype=np.int64))
    cols_pt = np.atleast_1d(np.asarray(hw.array_cols if array_cols is None else array_cols, dtype=np.int64))
    bw_pt = np.atleast_1d(np.asarray(hw.dram_bandwidth_bytes_per_cycle if dram_bandwidths is None
                                     else dram_bandwidths, dtype=np.float64))
    n_points, layers = len(rows_pt), workload.layers
    n_layers = len(layers)
    array_layers = [layer for layer in layers if layer.is_mac]
    other_layers = [layer for layer in layers if not layer.is_mac]
    mac_index = np.array([i for i, layer in enumerate(layers) if layer.is_mac], dtype=np.int64)
    other_index = np.array([i for i, layer in enumerate(layers) if not layer.is_mac], dtype=np.int64)
    parts = []
    if array_layers:
        part = _simulate_systolic(hw, array_layers, dataflow, timing, rows_pt, cols_pt, bw_pt)
        part = energy.add_action_counts(part, dataflow)
        # the kernel counts the MACs the array performs; macs stays the dense count
        part["effective_macs"] = part["macs"]
        dense_k = np.tile(np.array([(l.C // l.groups) * l.R * l.S for l in array_layers], dtype=np.int64), n_points)
        part["macs"] = part["groups"] * part["gemm_p"] * part["gemm_m"] * dense_k
        part.index = (np.repeat(np.arange(n_points), len(array_layers)) * n_layers
                      + np.tile(mac_index, n_points))
        parts.append(part)
    if other_layers:
        bits = [at_precision(hw, layer_precision(l, hw)).word_bits for l in other_layers]
        for p in range(n_points):
            variant = replace(hw, array_rows=int(rows_pt[p]), array_cols=int(cols_pt[p]),
                              dram_bandwidth_bytes_per_cycle=float(bw_pt[p]))
            part = vector_frame(other_layers, variant, bits)
            part["effective_macs"] = 0
            part["layer_type"] = [layer.kind for layer in other_layers]
            for col in LAYER_FIELDS:
                part[col] = [getattr(layer, col) for layer in other_layers]
            part.index = p * n_layers + other_index
            parts.append(part)
    frame = pd.concat(parts).sort_index() if len(parts) > 1 else parts[0]
    frame = frame.reset_index(drop=True)
    frame.insert(0, "point", np.repeat(np.arange(n_points, dtype=np.int64), n_layers))
    frame.insert(1, "workload", workload.name)
    frame.insert(2, "layer", np.tile(np.array([layer.name for layer in layers], dtype=object), n_points))
    for col, value in (("hw", hw.name), ("dataflow", dataflow.name), ("timing", timing)):
        frame[col] = value
    _layer_identity(frame, hw, layers, n_points)
    order = ["point"] + list(RESULT_COLUMNS) + [c for c in frame.columns if c not in RESULT_COLUMNS and c != "point"]
    frame = frame[order]
    rows_hw = hw if n_points == 1 and array_rows is None else RowHardware(
        hw, np.repeat(rows_pt, n_layers), np.repeat(cols_pt, n_layers), np.repeat(bw_pt, n_layers))
    frame = add_derived_columns(apply_bandwidth_limits(frame, rows_hw), rows_hw)
    if energy_table is not None:
        frame = energy.add_energy_columns(frame, rows_hw, energy_table)
    return frame


def _layer_identity(frame: pd.DataFrame, hw: Hardware, layers, n_points: int) -> None:
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


def _layer_frame(hw, workload, dataflow, timing, energy_table, objective, time_limit_s, progress) -> pd.DataFrame:
    """:func:`simulate` of a loop-nest dataflow: the mapper's rows for the MAC layers, the vector
    unit's for the others."""
    array_layers = [layer for layer in workload.layers if layer.is_mac]
    other_layers = [layer for layer in workload.layers if not layer.is_mac]
    parts = []
    if array_layers:
        from .loopnest.run import simulate_loopnest
        part = simulate_loopnest(hw, replace(workload, layers=tuple(array_layers)), dataflow, energy_table,
                                 objective, time_limit_s, progress)
        part = part.drop(columns=["workload", "layer", "hw", "dataflow", "timing"])
        if "effective_macs" not in part:  # the mapper models dense layers
            part["effective_macs"] = part["macs"]
        part.index = [i for i, layer in enumerate(workload.layers) if layer.is_mac]
        parts.append(part)
    if other_layers:
        part = vector_frame(other_layers, hw, [at_precision(hw, layer_precision(l, hw)).word_bits
                                               for l in other_layers])
        part["effective_macs"] = 0
        for col, values in (("layer_type", [layer.kind for layer in other_layers]),
                            *((col, [getattr(layer, col) for layer in other_layers]) for col in LAYER_FIELDS)):
            part[col] = values
        part.index = [i for i, layer in enumerate(workload.layers) if not layer.is_mac]
        parts.append(part)
    frame = pd.concat(parts).sort_index() if len(parts) > 1 else parts[0]
    frame = frame.reset_index(drop=True)
    frame.insert(0, "workload", workload.name)
    frame.insert(1, "layer", [layer.name for layer in workload.layers])
    if "mapping" in frame:
        frame["mapping"] = frame["mapping"].fillna("")
    for col, value in (("hw", hw.name), ("dataflow", dataflow.name), ("timing", timing)):
        frame[col] = value
    _layer_identity(frame, hw, workload.layers, 1)
    order = list(RESULT_COLUMNS) + [c for c in frame.columns if c not in RESULT_COLUMNS]
    frame = frame[order]
    frame = add_derived_columns(apply_bandwidth_limits(frame, hw), hw)
    if energy_table is not None:
        frame = energy.add_energy_columns(frame, hw, energy_table)
    return frame


#: Layer fields copied into the results table.
LAYER_FIELDS = ("N", "C", "H", "W", "M", "R", "S", "stride_h", "stride_w", "pad_h", "pad_w")


def _simulate_systolic(hw: Hardware, layers: list[Layer], dataflow: Dataflow, timing: str, rows_pt, cols_pt,
                       bw_pt) -> pd.DataFrame:
    """The kernel's columns for the MAC layers on a systolic array, each at its own precision, at
    every point (array ``rows_pt[i]`` x ``cols_pt[i]``, DRAM ``bw_pt[i]`` bytes per cycle): rows
    point-major."""
    n, n_points = len(layers), len(rows_pt)
    layer_rows = np.array([layer_row(layer, hw) for layer in layers], dtype=np.int64).reshape(n, k.LAYER_COLS)
    hw_rows = np.array([hw_row(at_precision(hw, layer_precision(layer, hw)), timing) for layer in layers],
                       dtype=np.int64).reshape(n, k.HW_COLS)
    hws = np.tile(hw_rows, (n_points, 1))
    hws[:, k.H_ROWS] = np.repeat(rows_pt, n)
    hws[:, k.H_COLS] = np.repeat(cols_pt, n)
    batch = Batch(layers=np.tile(layer_rows, (n_points, 1)), hws=hws, bandwidths=np.repeat(bw_pt, n),
                  dataflows=np.tile(np.array(dataflow.axis_codes, dtype=np.int64), (n * n_points, 1)))
    out_int, out_float = evaluate_batch(batch)
    frame = pd.DataFrame({"layer_type": np.tile(np.array([("depthwise" if layer.is_depthwise else layer.kind)
                                                          for layer in layers], dtype=object), n_points)})
    for j, col in enumerate(LAYER_FIELDS):
        frame[col] = batch.layers[:, j]
    for j, col in enumerate(k.INT_OUTPUTS):
        frame[col] = out_int[:, j]
    for j, col in enumerate(k.FLOAT_OUTPUTS):
        frame[col] = out_float[:, j]
    return frame


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


def apply_bandwidth_limits(frame: pd.DataFrame, hw: Hardware) -> pd.DataFrame:
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
    """
    compute = frame["compute_cycles"].astype(np.int64)
    bound = compute.copy()
    binding = pd.Series("", index=frame.index)
    for level, attribute, columns in BANDWIDTH_LEVELS:
        bandwidth = np.broadcast_to(np.asarray(getattr(hw, attribute) * (hw.num_pes if level == "rf" else 1),
                                               dtype=np.float64), (len(frame),))
        if np.isinf(bandwidth).all():
            continue
        accesses = sum(frame[c].fillna(0).astype(np.int64) for c in columns if c in frame).to_numpy()
        cycles = pd.Series(np.ceil(accesses / bandwidth).astype(np.int64), index=frame.index)
        wins = cycles > bound
        binding = binding.where(~wins, level)
        bound = bound.where(~wins, cycles)
    stall = bound - compute
    for level, _, _ in BANDWIDTH_LEVELS:
        frame[f"stall_{level}_bandwidth_cycles"] = stall.where(binding == level, 0).astype(np.int64)
    frame["stall_cycles"] = frame["stall_cycles"] + stall
    frame["total_cycles"] = frame["total_cycles"] + stall
    busy = frame["total_cycles"] > 0
    performed = frame["effective_macs"] if "effective_macs" in frame else frame["macs"]
    frame["pe_utilization"] = (performed / (frame["total_cycles"] * hw.num_pes)).where(busy, 0.0)
    return frame


def add_derived_columns(frame: pd.DataFrame, hw: Hardware) -> pd.DataFrame:
    """Traffic in bytes, time in microseconds and roofline coordinates.

    Roofline (Williams, Waterman, Patterson, CACM 2009): arithmetic intensity = MACs per DRAM byte;
    attainable MACs/cycle = min(PEs, intensity x DRAM bytes/cycle); achieved = MACs / total cycles.
    """
    word_bytes = (frame["word_bits"] if "word_bits" in frame else hw.word_bits) / 8
    dram_words = (frame["dram_ifmap_reads"] + frame["dram_filter_reads"] + frame["dram_ofmap_writes"]
                  + frame["dram_ofmap_reads"])
    frame["dram_bytes"] = np.ceil(dram_words * word_bytes).astype(np.int64)
    frame["latency_us"] = frame["total_cycles"] / hw.clock_mhz
    frame["arithmetic_intensity_macs_per_byte"] = frame["macs"] / frame["dram_bytes"].where(frame["dram_bytes"] > 0)
    frame["attainable_macs_per_cycle"] = np.minimum(
        hw.num_pes, frame["arithmetic_intensity_macs_per_byte"] * hw.dram_bandwidth_bytes_per_cycle)
    frame["achieved_macs_per_cycle"] = (frame["macs"] / frame["total_cycles"]).where(frame["total_cycles"] > 0, 0.0)
    return frame
