"""Cycles per fold of a systolic array: the one formula the engines and the RTL share.

Physical timing (accelsim/model.py, "Folding and compute cycles"; Samajdar et al., ISPASS 2020,
Eq. 1; SCALE-Sim issue scale-sim-v3#4): a fold takes ``2*rows + cols + t - 2`` cycles for every
dataflow: ``rows`` cycles to shift the stationary operand in (weight / input stationary) or the
outputs out (output stationary), and the last of ``t`` skewed operand waves crosses ``rows - 1``
skew registers, ``cols - 1`` columns and the ``rows`` PEs of a column. The PyRTL arrays of
accelsim/rtl measure exactly this (tests/test_rtl.py). SCALE-Sim 3.0.0 timing keeps its
output-stationary count ``t + rows + cols - 2`` (an upstream bug its maintainers acknowledge,
[scalesim-v3#4]).
"""
from __future__ import annotations

import math

import numpy as np

from .jit import njit


@njit(cache=True)
def fold_cycles(rows, cols, t, output_stationary, scalesim):
    """Cycles of one fold streaming ``t`` operand waves through a ``rows`` x ``cols`` array."""
    if scalesim and output_stationary:
        return t + rows + cols - 2
    return 2 * rows + cols + t - 2


@njit(cache=True)
def transfer_cycles(words, word_bits, bandwidth_bytes_per_cycle):
    """Cycles to move ``words`` over the DRAM interface: ``ceil(words * bits / (8 * bytes per
    cycle))``, 0 for an unlimited interface.

    The quotient is computed in binary floating point (``words`` converted first: ``words *
    word_bits`` can exceed int64), so a bandwidth such as 0.7 bytes/cycle can land a hair above an
    exact integer; a relative slack of 1e-9 keeps such cases exact."""
    if words <= 0 or math.isinf(bandwidth_bytes_per_cycle):
        return 0
    q = float(words) * word_bits / (8.0 * bandwidth_bytes_per_cycle)
    nearest = math.floor(q + 0.5)
    if abs(q - nearest) <= 1e-9 * max(1.0, q):
        return np.int64(nearest)
    return np.int64(math.ceil(q))


@njit(cache=True)
def stall_cycles(first_words, last_words, total_words, folds, cycles_per_fold, double_buffered,
                 word_bits, bandwidth_bytes_per_cycle):
    """(load, bandwidth, write-back) stall cycles of a run of ``folds`` folds (accelsim/model.py,
    "Stalls"): the first fold's inputs (``first_words``) load before compute starts and the last
    fold's outputs (``last_words``) drain after it ends, both exposed; the other DRAM words move
    while folds compute, hidden behind the (folds - 1) * cycles_per_fold cycles of the other folds
    when the buffers are double-buffered (not at all otherwise), the shortfall stalling the
    array."""
    load = transfer_cycles(first_words, word_bits, bandwidth_bytes_per_cycle)
    writeback = transfer_cycles(last_words, word_bits, bandwidth_bytes_per_cycle)
    steady = transfer_cycles(total_words - first_words - last_words, word_bits, bandwidth_bytes_per_cycle)
    window = (folds - 1) * cycles_per_fold if double_buffered else 0
    bandwidth = steady - window if steady > window else 0
    return load, bandwidth, writeback
