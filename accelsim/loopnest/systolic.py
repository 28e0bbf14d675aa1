"""Systolic dataflows (ws / os / is) as loop-nest mappings.

A systolic dataflow works on the GEMM (im2col) view of a conv layer per group: P = N*E*F output
pixels, M/G filters, K = (C/G)*R*S. In loop-nest terms (accelsim/kernels/loopnest.py) the GEMM
axes become the dims N (= P), M and C (= K) of a problem with E = F = R = S = 1, the row axis is
unrolled on the array rows, the column axis on the columns, and the temporal loops are
``[column folds, row folds, time]`` (SCALE-Sim's fold order, [scalesim-v3] compute/systolic_compute_{os,ws,is}.py). Each operand's global
buffer keeps what fits (the rules of accelsim/model.py's docstring):

* the stationary operand keeps one fold's tile;
* an input that does not depend on the column axis keeps the whole operand if it fits; otherwise
  each column fold streams it again (a relevant loop above its tile: the row folds, or a split of
  the time loop when there is one row fold);
* an input that does not depend on the row axis keeps one column tile's slice if it fits;
  otherwise every row fold streams it again (a split of the time loop above its tile);
* partial sums (K on the rows) stay when one column tile of outputs fits, else every row fold
  spills them (a split of the time loop); K on the columns: the whole output must fit, else every
  column fold spills.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..encoding import hw_row, layer_row
from ..kernels import loopnest as ln
from ..kernels import systolic as ks
from ..spec import Dataflow, Hardware, Layer


@dataclass(frozen=True)
class Instance:
    """Kernel inputs for one layer group: problem, one mapping, hardware."""

    problem: np.ndarray
    loops: np.ndarray
    n_loops: int
    spatial: np.ndarray
    cuts: np.ndarray
    hw: np.ndarray


def gemm_view(layer: Layer, scalesim: bool) -> tuple[int, int, int, int]:
    """(P, M/G, K, ifmap words needed) of one group in the timing mode's output-size convention:
    accelsim.kernels.systolic.gemm_view for one layer."""
    view = np.empty(6, dtype=np.int64)
    row = np.array([layer_row(layer)], dtype=np.int64)
    ks.gemm_view(row, 0, scalesim, view)
    return int(view[2]), int(view[3]), int(view[4]), int(view[5])


def instance(layer: Layer, hw: Hardware, dataflow: Dataflow, timing: str) -> Instance:
    """The loop-nest mapping that realises ``dataflow`` on the systolic ``hw`` for one group: the
    mapping the engine evaluates (accelsim.kernels.systolic.build_instance), as arrays."""
    problem = np.empty(ln.PROBLEM_COLS, dtype=np.int64)
    loops = np.empty((ln.MAX_LOOPS, 2), dtype=np.int64)
    spatial = np.empty((2, 7), dtype=np.int64)
    cuts = np.empty((2, 3), dtype=np.int64)
    hw_l = np.empty(ln.HWL_COLS_N, dtype=np.int64)
    n_loops = ks.build_instance(np.array([layer_row(layer)], dtype=np.int64),
                                np.array([hw_row(hw, timing)], dtype=np.int64),
                                np.array([dataflow.axis_codes], dtype=np.int64), 0, np.empty(6, dtype=np.int64),
                                problem, loops, spatial, cuts, hw_l)
    return Instance(problem, loops, int(n_loops), spatial, cuts, hw_l)
