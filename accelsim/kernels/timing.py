"""Cycles per fold of a systolic array: the one formula the engines and the RTL share.

Physical timing (accelsim/model.py, "Folding and compute cycles"; Samajdar et al., ISPASS 2020,
Eq. 1; SCALE-Sim issue scale-sim-v3#4): a fold takes ``2*rows + cols + t - 2`` cycles for every
dataflow: ``rows`` cycles to shift the stationary operand in (weight / input stationary) or the
outputs out (output stationary), and the last of ``t`` skewed operand waves crosses ``rows - 1``
skew registers, ``cols - 1`` columns and the ``rows`` PEs of a column. The PyRTL arrays of
accelsim/rtl measure exactly this (tests/test_rtl.py). SCALE-Sim 3.0.0 timing keeps its
output-stationary count ``t + rows + cols - 2`` (an acknowledged upstream bug,
../shared/reference/scalesim/MODEL.md 2.3).
"""
from __future__ import annotations

from numba import njit


@njit(cache=True)
def fold_cycles(rows, cols, t, output_stationary, scalesim):
    """Cycles of one fold streaming ``t`` operand waves through a ``rows`` x ``cols`` array."""
    if scalesim and output_stationary:
        return t + rows + cols - 2
    return 2 * rows + cols + t - 2
