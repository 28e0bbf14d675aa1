"""Systolic dataflows (ws / os / is) as loop-nest mappings.

A systolic dataflow works on the GEMM (im2col) view of a conv layer per group: P = N*E*F output
pixels, M/G filters, K = (C/G)*R*S. In loop-nest terms (accelsim/kernels/loopnest.py) the GEMM
axes become the dims N (= P), M and C (= K) of a problem with E = F = R = S = 1, the row axis is
unrolled on the array rows, the column axis on the columns, and the temporal loops are
``[column folds, row folds, time]`` (SCALE-Sim's fold order, MODEL.md 2.2). Each operand's global
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

from ..kernels import loopnest as ln
from ..spec import Dataflow, Hardware, Layer

AXIS_DIM = {"P": ln.D_N, "M": ln.D_M, "K": ln.D_C}
OPERAND_AXES = {"ifmap": ("P", "K"), "filter": ("K", "M"), "ofmap": ("P", "M")}
OP_INDEX = {"ifmap": ln.OP_IFMAP, "filter": ln.OP_FILTER, "ofmap": ln.OP_OFMAP}
BIG = np.int64(2**62)


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
    """(P, M/G, K, ifmap words needed) of one group, in the timing mode's output-size convention
    (accelsim/model.py: SCALE-Sim rounds the output size up on the padded input). The words
    needed are the unique input words, or P*K if fewer (a strided 1x1 conv skips pixels)."""
    g = layer.groups
    if scalesim:
        hp, wp = layer.H + 2 * layer.pad_h, layer.W + 2 * layer.pad_w
        r_ext, s_ext = layer.dilation_h * (layer.R - 1) + 1, layer.dilation_w * (layer.S - 1) + 1
        e = -(-(hp - r_ext + layer.stride_h) // layer.stride_h)
        f = -(-(wp - s_ext + layer.stride_w) // layer.stride_w)
        unique = layer.N * (layer.C // g) * hp * wp
    else:
        e, f = layer.E, layer.F
        unique = layer.N * (layer.C // g) * layer.H * layer.W
    p, k = layer.N * e * f, (layer.C // g) * layer.R * layer.S
    return p, layer.M // g, k, min(unique, p * k)


def instance(layer: Layer, hw: Hardware, dataflow: Dataflow, timing: str) -> Instance:
    """The loop-nest mapping that realises ``dataflow`` on the systolic ``hw`` for one group."""
    scalesim = timing == "scalesim"
    p, m, k, unique = gemm_view(layer, scalesim)
    size = {"P": p, "M": m, "K": k}
    ra, ca, ta = dataflow.rows_axis, dataflow.cols_axis, dataflow.time_axis
    rows, cols = hw.array_rows, hw.array_cols
    row_folds, col_folds, t = -(-size[ra] // rows), -(-size[ca] // cols), size[ta]
    halves = 2 if hw.double_buffered else 1
    cap = {"ifmap": hw.buffer_words(hw.sram_ifmap) // halves,
           "filter": hw.buffer_words(hw.sram_filter) // halves,
           "ofmap": hw.buffer_words(hw.sram_ofmap) // halves}
    whole = {"ifmap": unique, "filter": m * k, "ofmap": p * m}
    cols_tile = min(cols, size[ca])

    # each operand's GLB cut in [col folds, row folds, time outer, time inner]; 4 = no tile loops
    cut = {}
    split = False
    for op, axes in OPERAND_AXES.items():
        missing = next(a for a in "PMK" if a not in axes)
        if missing == ta:                       # stationary operand (ofmap in OS included)
            cut[op] = 2
        elif missing == ca:                     # re-used by every column fold if it all fits
            if whole[op] <= cap[op]:
                cut[op] = 0
            elif row_folds > 1:
                cut[op] = 2
            else:
                cut[op], split = 3, True
        else:                                   # re-used by every row fold if a slice fits
            other = next(a for a in axes if a != ca)
            if min(cols_tile * size[other], whole[op]) <= cap[op]:
                cut[op] = 1
            else:
                cut[op], split = 3, True
    trips = [(AXIS_DIM[ca], col_folds), (AXIS_DIM[ra], row_folds)]
    if split:
        trips += [(AXIS_DIM[ta], 2), (AXIS_DIM[ta], -(-t // 2))]
    else:
        trips += [(AXIS_DIM[ta], t)]
    n_loops = len(trips)
    loops = np.zeros((ln.MAX_LOOPS, 2), dtype=np.int64)
    loops[:, 1] = 1
    loops[:n_loops] = trips
    spatial = np.ones((2, 7), dtype=np.int64)
    spatial[0, AXIS_DIM[ra]] = rows
    spatial[1, AXIS_DIM[ca]] = cols
    cuts = np.empty((2, 3), dtype=np.int64)
    for op, index in OP_INDEX.items():
        cuts[0, index] = min(cut[op], n_loops)
        cuts[1, index] = n_loops
    problem = np.zeros(ln.PROBLEM_COLS, dtype=np.int64)
    problem[:7] = 1
    problem[ln.D_N], problem[ln.D_M], problem[ln.D_C] = p, m, k
    problem[ln.P_STRIDE_H] = problem[ln.P_STRIDE_W] = 1
    problem[ln.P_IFMAP_UNIQUE] = unique
    problem[ln.P_IN_H] = problem[ln.P_IN_W] = 1
    hw_row = np.array([rows, cols, BIG, BIG, BIG, BIG, BIG, BIG, 1,
                       ln.TIMING_SCALESIM if scalesim else ln.TIMING_PHYSICAL,
                       OP_INDEX[dataflow.stationary], int(hw.double_buffered), hw.word_bits,
                       1 << OP_INDEX[dataflow.stationary]], dtype=np.int64)
    return Instance(problem, loops, n_loops, spatial, cuts, hw_row)
