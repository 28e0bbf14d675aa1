"""Cycles per fold of a systolic array: the one formula the RTL, its model and the engine share.

Physical timing (accelsim/model.py, "Folding and compute cycles"; Samajdar et al., ISPASS 2020,
Eq. 1; SCALE-Sim issue scale-sim-v3#4): a fold takes ``2*rows + cols + t - 2`` cycles for every
dataflow: ``rows`` cycles to shift the stationary operand in (weight / input stationary) or the
outputs out (output stationary), and the last of ``t`` skewed operand waves crosses ``rows - 1``
skew registers, ``cols - 1`` columns and the ``rows`` PEs of a column. The PyRTL arrays in
:mod:`accelsim.rtl.array` measure exactly this (tests/test_rtl.py).

SCALE-Sim 3.0.0 timing (``scalesim=True``) keeps its output-stationary count
``t + rows + cols - 2`` (an upstream bug its maintainers acknowledge, [scalesim-v3#4]).
"""
from __future__ import annotations

from ..kernels.timing import fold_cycles as _fold_cycles

STATIONARY = ("ws", "os", "is")


def fold_cycles(rows: int, cols: int, t: int, stationary: str, scalesim: bool = False) -> int:
    """Cycles of one fold on a ``rows`` x ``cols`` array streaming ``t`` operand waves.

    ``stationary`` is 'ws', 'os' or 'is'; a checked wrapper of
    :func:`accelsim.kernels.timing.fold_cycles` (njit), which the engines call.
    """
    if stationary not in STATIONARY:
        raise ValueError(f"stationary must be one of {STATIONARY}, got {stationary!r}")
    if rows < 1 or cols < 1 or t < 1:
        raise ValueError(f"rows, cols and t must be >= 1 (got {rows}, {cols}, {t})")
    return int(_fold_cycles(rows, cols, t, stationary == "os", scalesim))
