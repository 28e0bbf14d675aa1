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
(SCALE-Sim: Samajdar et al., ISPASS 2020, section III-A; [scalesim-v3] compute/operand_matrix.py).
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
included ([scalesim-v3] compute/systolic_compute_{os,ws,is}.py and single_layer_sim.py): output stationary takes ``T + rows + cols - 2`` cycles per fold,
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
element that enters the array is one read ([scalesim-v3] compute/systolic_compute_{os,ws,is}.py, which matches SCALE-Sim for ws/os/is).

DRAM traffic (words) and stalls (cycles)
----------------------------------------
Each buffer holds ``size`` words, half of it when double-buffered (the other half is being filled).
Per group: the stationary operand's tiles are read once. An input operand that does not depend on
the column axis is re-used by every column fold when it fits its buffer, else it is re-fetched
``col_folds`` times; one that does not depend on the row axis is re-used across the row folds when
one column tile's slice fits, else re-fetched ``row_folds`` times. Partial sums (K on the rows)
stay in the ofmap buffer when one column tile of outputs fits, else every row fold spills them to
DRAM and reads them back. Inputs count the unique words needed: the distinct input pixels some window touches
(N*C/G x touched rows x touched columns; a stride above the filter extent skips pixels; the padded
input in SCALE-Sim timing, as its DRAM reads count each operand-matrix address once), M*K filters.
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

from .analytical import analytical_rows, simulate_analytical, simulate_points
from .columns import (BANDWIDTH_LEVELS, LAYER_FIELDS, RESULT_COLUMNS, RowHardware, add_derived_columns,
                      apply_bandwidth_limits)
from .encoding import (TIMINGS, Batch, at_precision, evaluate_batch, hw_row, layer_precision, layer_row,
                       reduction_fraction)
from .errors import AccelsimError
from .spec import Dataflow, EnergyTable, Hardware, Workload
from .table import Table

FIDELITIES = ("analytical", "cycle")

#: This module is the fidelity dispatch (:func:`simulate`); the engine's pieces live below it
#: (accelsim/encoding.py: row encodings; accelsim/columns.py: shared column post-processing;
#: accelsim/analytical.py: the analytical fidelity; accelsim/sim/cycle.py: the cycle-level one)
#: and are re-exported here for scripts written against the single-module engine.
__all__ = ["simulate", "simulate_table", "FIDELITIES", "simulate_analytical", "simulate_points", "BANDWIDTH_LEVELS",
           "LAYER_FIELDS", "RESULT_COLUMNS", "RowHardware", "add_derived_columns", "apply_bandwidth_limits", "TIMINGS", "Batch",
           "at_precision", "evaluate_batch", "hw_row", "layer_precision", "layer_row", "reduction_fraction"]


def simulate(hw: Hardware, workload: Workload, dataflow: Dataflow, timing: str | None = None,
             energy_table: EnergyTable | None = None, objective: str = "edp",
             time_limit_s: float | None = None, progress=None, fidelity: str = "analytical",
             trace=None):
    """Evaluate every layer of ``workload`` on ``hw`` under ``dataflow``: a DataFrame, one row per layer.

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
    rows = simulate_table(hw, workload, dataflow, timing, energy_table, objective, time_limit_s, progress, fidelity,
                          trace, as_frame=True)
    return rows.to_pandas() if isinstance(rows, Table) else rows


def simulate_table(hw: Hardware, workload: Workload, dataflow: Dataflow, timing: str | None = None,
                   energy_table: EnergyTable | None = None, objective: str = "edp",
                   time_limit_s: float | None = None, progress=None, fidelity: str = "analytical",
                   trace=None, as_frame: bool = False):
    """:func:`simulate`'s rows as an accelsim.table.Table, what ``accelsim run`` writes: the
    systolic analytical engine builds them without importing pandas (start-up time). With
    ``as_frame``, rows that another engine built as a DataFrame stay one."""
    if fidelity not in FIDELITIES:
        raise AccelsimError(f"fidelity must be one of {', '.join(FIDELITIES)} (got {fidelity!r})")
    if trace is not None and fidelity != "cycle":
        raise AccelsimError("a trace needs fidelity='cycle'")
    if fidelity == "cycle":
        from .sim.cycle import simulate_cycle
        rows = simulate_cycle(hw, workload, dataflow, timing=timing, energy_table=energy_table, trace=trace)
    else:
        rows = analytical_rows(hw, workload, dataflow, timing=timing, energy_table=energy_table, objective=objective,
                               time_limit_s=time_limit_s, progress=progress)
    return rows if as_frame or isinstance(rows, Table) else Table.from_pandas(rows)
