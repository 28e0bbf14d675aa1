"""The vector unit: element-wise work that is not a MAC on the PE array.

Pooling, residual adds, batch-norm when not folded, softmax, LayerNorm/RMSNorm, activations and
RoPE run on a vector unit of ``hw.vector_lanes`` lanes beside the array (TPU v1's activation
pipeline under the matrix unit, Jouppi et al., ISCA 2017, section 2, is this unit). A lane performs
one elementary operation (an add, a compare, a multiply, one step of an exp/rsqrt approximation) on
one element per cycle, so an op of ``elements`` elements and ``ops_per_element`` elementary ops each
takes ``ceil(elements * ops_per_element / lanes)`` cycles, and costs ``elements * ops_per_element``
times the energy table's ``vector_op_pj`` for the array's precision (accelsim/spec/energy.py).
Operands stream from and to the on-chip buffers; the caller counts that traffic (one read per input
element, one write per output element) with the same per-access energies as the array's.

Ops-per-element conventions are each caller's, stated where the op is lowered (e.g. max pooling
R*S - 1 compares per output, residual add 1 add per output).
"""
from __future__ import annotations

import numpy as np


def vector_cycles(element_ops, lanes: int):
    """Cycles for ``element_ops`` elementary operations on ``lanes`` lanes: ``ceil(ops / lanes)``.

    Accepts an integer or an integer numpy array (one entry per op); returns the same shape, int64.
    """
    if lanes < 1:
        raise ValueError(f"lanes must be >= 1 (got {lanes})")
    ops = np.asarray(element_ops, dtype=np.int64)
    if (ops < 0).any():
        raise ValueError("element_ops must be >= 0")
    cycles = -(-ops // np.int64(lanes))
    return cycles if cycles.ndim else int(cycles)


def vector_energy_pj(element_ops, hw, table):
    """Energy of ``element_ops`` elementary operations at ``hw.precision`` from ``table.vector_op_pj``."""
    return np.asarray(element_ops, dtype=np.float64) * table.vector_op_pj[hw.precision]


def vector_energy_pj_at(element_ops, precision: str, table):
    """Energy of ``element_ops`` elementary operations at ``precision`` (a layer's own precision,
    which may differ from the hw's): ``element_ops`` x ``table.vector_op_pj[precision]``.
    ``precision`` may be an array or a pandas Series (one per row)."""
    if not isinstance(precision, str):
        return element_ops * np.array([table.vector_op_pj[p] for p in np.asarray(precision).tolist()])
    return np.asarray(element_ops, dtype=np.float64) * table.vector_op_pj[precision]
