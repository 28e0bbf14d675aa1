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

**On an architecture tree.** The same tiling is a mapping of the shorthand's tree
(accelsim/spec/arch_shorthand.py) in the conv view (:func:`tree_mapping`): the array unrolls the
dataflow's row dims on Y and column dims on X, the backing store takes the loops above one tile
boundary and the global buffer those below it. The systolic engine gives each operand its own
boundary (ZigZag's per-operand memory assignment); a tree level has one for all operands
(Timeloop's). One boundary gives the same counts when every operand's own boundary differs from it
only by loops the operand ignores (above it) or depends on (below it): true of the dataflows'
usual case (the column-independent input and the partial sums resident, the stationary operand per
fold), not when a split time loop spills partial sums while an input stays whole.
:func:`tree_mapping` returns None then, and when a partial fold spans several dims of a GEMM axis
(one dim's partial last fold is an imperfect factorisation of it, which the tree engine counts as
the systolic engine does; the tree mapper's own mapspace holds only perfect ones). :func:`dataflow_tree` restricts a tree's array to the dataflow's unrolling, the
mapspace in which ``accelsim run --map-tiles`` searches the tiling.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

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


def dataflow_tree(tree, dataflow: Dataflow):
    """``tree`` (of the shorthand's shape, or any tree with one spatial level) with its array
    restricted to ``dataflow``'s unrolling: its row dims across Y, its column dims across X."""
    spatial = [i for i, lv in enumerate(tree.levels) if lv.kind == "spatial"]
    if len(spatial) != 1:
        from ..errors import AccelsimError
        raise AccelsimError(f"{tree.file or tree.name}: dataflow {dataflow.name} unrolls one PE array; this tree has "
                            f"{len(spatial)} spatial levels (map it without --dataflow)")
    levels = list(tree.levels)
    levels[spatial[0]] = replace(levels[spatial[0]], unroll_x=tuple(dataflow.cols), unroll_y=tuple(dataflow.rows))
    return replace(tree, levels=tuple(levels))


def tree_mapping(layer: Layer, hw: Hardware, dataflow: Dataflow, tree):
    """The fixed tiling ``dataflow`` gives ``layer`` on the systolic ``hw`` (:func:`instance`, one
    group) as a :class:`~accelsim.loopnest.tree.TreeMapping` of ``tree`` (the shorthand's tree of
    ``hw``: backing store, global buffer, array, ...), or None when no tree mapping has its counts
    (module docstring: a partial fold, or operands that need two tile boundaries)."""
    from .mapper import problem_array
    from .tree import TreeMapping
    if layer.dilation_h > 1 or layer.dilation_w > 1:
        return None
    inst = instance(layer, hw, dataflow, "physical")
    bounds = dict(zip(ln.DIMS, (int(b) for b in problem_array(layer)[:7])))
    rows_axis, cols_axis, time_axis = dataflow.axis_codes
    members = {0: ("N", "E", "F"), 1: ("M",), 2: ("C", "R", "S")}
    left = dict(bounds)

    def take(axis: int, factor: int) -> tuple | None:
        """Dims of ``axis`` whose factors multiply to ``factor``, taken from the bounds left; when
        they do not divide and the axis has one dim left, ``factor`` of it with a partial last
        fold (what is left rounds up, an imperfect factorisation)."""
        out, rest = [], factor
        for dim in members[axis]:
            f = math.gcd(rest, left[dim])
            if f > 1:
                out.append((dim, f))
                rest //= f
        if rest == 1:
            for dim, f in out:
                left[dim] //= f
            return tuple(out)
        live = [dim for dim in members[axis] if left[dim] > 1]
        if len(live) != 1:
            return None
        left[live[0]] = -(-left[live[0]] // factor)
        return ((live[0], factor),)

    rows, cols = int(hw.array_rows), int(hw.array_cols)
    sizes = [math.prod(bounds[d] for d in members[a]) for a in range(3)]
    y = take(rows_axis, min(rows, sizes[rows_axis]))
    x = take(cols_axis, min(cols, sizes[cols_axis]))
    if y is None or x is None:
        return None
    positions = [[(d, left[d]) for d in members[cols_axis] if left[d] > 1],
                 [(d, left[d]) for d in members[rows_axis] if left[d] > 1], []]
    if inst.n_loops == 4:                     # the time loop split in two: a factor 2, then the rest
        split = take(time_axis, 2)
        if split is None:
            return None
        positions[2] = list(split)
        positions.append([])
    positions[-1] = [(d, left[d]) for d in members[time_axis] if left[d] > 1]
    folds = [int(inst.loops[k, 1]) for k in range(inst.n_loops)]
    if [math.prod(t for _, t in p) for p in positions] != folds:
        return None                           # a partial fold the tree's loops cannot express
    axis_of = [cols_axis, rows_axis] + [time_axis] * (inst.n_loops - 2)
    cuts = [int(c) for c in inst.cuts[0]]
    stationary = int(inst.hw[ln.HWL_STATIONARY])
    boundary = max(c for op, c in enumerate(cuts) if op != stationary)
    for op, cut in enumerate(cuts):
        depends = set(int(a) for a in ks.OPERAND_AXES[op])
        between = axis_of[min(cut, boundary):max(cut, boundary)]
        if any((a in depends) != (cut > boundary) for a in between):
            return None                       # this operand needs a boundary of its own
    names = [lv.name for lv in tree.levels]
    outer = tuple(loop for p in positions[:boundary] for loop in p)
    inner = tuple(loop for p in positions[boundary:] for loop in p)
    temporal = tuple((name, loops) for name, loops in ((names[0], outer), (names[1], inner)) if loops)
    return TreeMapping(temporal=temporal, spatial=((names[2], x, y),))
