"""The shorthand's loop-nest mappings counted by the N-level engine (numba): one mapping of
accelsim/loopnest/mapping.py (DRAM loops, global-buffer loops, the array's rows and columns,
register-file loops, every operand cut at the same loops) -> the OUTPUTS row of
accelsim/kernels/loopnest.py, its counts from nest.py on the shorthand's tree.

accelsim/loopnest/nest_counts.py documents the tree, which count fills which column and which
mappings stay on the two-level kernel (:func:`counted`); this module is its arithmetic, shared by
that module's Python entry points and by the mapper's search kernels (accelsim/kernels/mapsearch.py),
so that every mapping the mapper costs is counted by the one engine.
"""
from __future__ import annotations

import numpy as np

from . import loopnest as ln
from . import nest
from .jit import njit

#: The shorthand tree's levels, outermost first.
DRAM, GLB, ARRAY, RF, MAC = range(5)
LEVELS = 5
#: The three level arrays of :func:`shorthand_levels`: the tree itself; its register file keeping
#: every operand (its footprints); its array counted per PE (a unicast network: what each PE
#: receives and sends).
TREE, EVERY, ALONE = range(3)
#: Rows a mapping adds to its loops on the tree: at most one spatial row per dimension and axis.
SPATIAL_ROWS = 14


@njit(cache=True)
def level_array(keep_mask, rf_operands, network, levels):
    """Fill ``levels`` (nest.py's level array, LEVELS x nest.LEVEL_COLS) with the shorthand's tree:
    the register file keeps the operands of the bits ``rf_operands``; ``network``: the array
    multicasts and reduces (else every PE is counted on its own)."""
    for level in range(LEVELS):
        for col in range(nest.LEVEL_COLS):
            levels[level, col] = 0
    for level in (DRAM, GLB, RF):
        levels[level, nest.LV_KIND] = nest.KIND_STORAGE
        levels[level, nest.LV_KEEP_MASK] = 7
    levels[RF, nest.LV_KEEP_MASK] = rf_operands
    levels[ARRAY, nest.LV_KIND] = nest.KIND_SPATIAL
    levels[ARRAY, nest.LV_COLLAPSE_READS] = network
    levels[ARRAY, nest.LV_COLLAPSE_UPDATES] = network
    levels[MAC, nest.LV_KIND] = nest.KIND_COMPUTE


@njit(cache=True)
def shorthand_levels(keep_mask):
    """The TREE, EVERY and ALONE level arrays of a dataflow that keeps ``keep_mask`` in the PEs."""
    levels = np.zeros((3, LEVELS, nest.LEVEL_COLS), dtype=np.int64)
    level_array(keep_mask, keep_mask, np.int64(1), levels[TREE])
    level_array(keep_mask, np.int64(7), np.int64(1), levels[EVERY])
    level_array(keep_mask, keep_mask, np.int64(0), levels[ALONE])
    return levels


@njit(cache=True)
def tree_rows(loops, n_loops, spatial, cuts, rows):
    """Write the mapping's rows for nest.py into ``rows`` (at least n_loops + SPATIAL_ROWS of them),
    outermost first: DRAM loops, GLB loops, the array's rows (Y) and columns (X) in dimension order,
    RF loops; returns their number (a mapping without rows gets one trip-1 row). -1 when the
    operands' cuts differ (no tree form)."""
    glb = cuts[0, 0]
    rf = cuts[1, 0]
    for op in range(1, 3):
        if cuts[0, op] != glb or cuts[1, op] != rf:
            return -1
    n = 0
    for i in range(rf):
        rows[n, nest.R_DIM] = loops[i, 0]
        rows[n, nest.R_TRIP] = loops[i, 1]
        rows[n, nest.R_SPATIAL] = 0
        rows[n, nest.R_LEVEL] = DRAM if i < glb else GLB
        n += 1
    for axis in range(2):
        for d in range(7):
            if spatial[axis, d] > 1:
                rows[n, nest.R_DIM] = d
                rows[n, nest.R_TRIP] = spatial[axis, d]
                rows[n, nest.R_SPATIAL] = 1
                rows[n, nest.R_LEVEL] = ARRAY
                n += 1
    for i in range(rf, n_loops):
        rows[n, nest.R_DIM] = loops[i, 0]
        rows[n, nest.R_TRIP] = loops[i, 1]
        rows[n, nest.R_SPATIAL] = 0
        rows[n, nest.R_LEVEL] = RF
        n += 1
    if n == 0:
        rows[0, nest.R_DIM] = 0
        rows[0, nest.R_TRIP] = 1
        rows[0, nest.R_SPATIAL] = 0
        rows[0, nest.R_LEVEL] = DRAM
        n = 1
    return n


@njit(cache=True)
def counted(problem, loops, n_loops, spatial, cuts, keep_mask):
    """Whether nest.py counts this mapping (accelsim/loopnest/nest_counts.py, ``counted_by_nest``):
    the conv view, every dimension split as the mapper splits it (register-file trips dividing the
    bound, the DRAM and global-buffer trips multiplying to ceil(bound / (register-file trips x
    PEs))), and register-file loops only when the PEs keep every operand."""
    if problem[ln.P_IFMAP_UNIQUE] >= 0:
        return False
    rf_cut = cuts[1, 0]
    for op in range(1, 3):
        rf_cut = min(rf_cut, cuts[1, op])
    if keep_mask != 7:
        for i in range(rf_cut, n_loops):
            if loops[i, 1] > 1:
                return False
    for d in range(7):
        outer = 1
        rf = 1
        for i in range(n_loops):
            if loops[i, 0] == d:
                if i < rf_cut:
                    outer *= loops[i, 1]
                else:
                    rf *= loops[i, 1]
        bound = problem[d]
        pes = spatial[0, d] * spatial[1, d]
        if bound % rf != 0 or outer != (bound + rf * pes - 1) // (rf * pes):
            return False
    return True


@njit(cache=True)
def _timing(problem, loops, n_loops, spatial, cuts, out):
    """Steps, folds and the exposed first load and last drain of a multicast array (the two-level
    kernel's rules, accelsim/kernels/loopnest.py ``temporal_steps`` and ``_last_footprint``)."""
    rf_cut = min(cuts[1, 0], min(cuts[1, 1], cuts[1, 2]))
    glb_cut = cuts[0, ln.OP_OFMAP]
    steps = 1
    last = 1
    tile = np.ones(7, dtype=np.int64)
    for d in range(7):
        bound = problem[d]
        pes = spatial[0, d] * spatial[1, d]
        rf_extent = 1
        glb_extent = 1
        for i in range(n_loops):
            if loops[i, 0] == d:
                if i >= glb_cut:
                    glb_extent *= loops[i, 1]
                if i >= rf_cut:
                    rf_extent *= loops[i, 1]
        steps *= bound if pes == 1 else (bound + pes * rf_extent - 1) // (pes * rf_extent) * rf_extent
        tile[d] = min(glb_extent * pes, bound)
        if ln.RELEVANCE[ln.OP_OFMAP, d]:
            last *= bound - ((bound + tile[d] - 1) // tile[d] - 1) * tile[d]
    # the first global-buffer tile (at the origin: its window starts in the padding) of the ifmap
    first_ifmap = (tile[ln.D_N] * tile[ln.D_C]
                   * ln.touched(tile[ln.D_E], tile[ln.D_R], problem[ln.P_STRIDE_H], np.int64(1), problem[ln.P_PAD_H],
                                problem[ln.P_IN_H])
                   * ln.touched(tile[ln.D_F], tile[ln.D_S], problem[ln.P_STRIDE_W], np.int64(1), problem[ln.P_PAD_W],
                                problem[ln.P_IN_W]))
    out[ln.X_STEPS] = steps
    out[ln.X_FOLDS] = 1
    out[ln.X_CYC_FOLD] = steps
    out[ln.X_COMPUTE] = steps
    out[ln.X_FIRST_LOAD] = first_ifmap + out[ln.X_GLB_FP_FILTER]
    out[ln.X_LAST_DRAIN] = last


@njit(cache=True)
def outputs_into(problem, loops, n_loops, spatial, cuts, hw, levels, full, rows, n_rows, counts, macs, out):
    """Fill ``out`` (OUTPUTS) for one mapping on the array ``hw`` (HWL_* row): counted by nest.py on
    the shorthand's tree (``levels``: :func:`shorthand_levels`), or by the two-level kernel on a
    systolic array and where nest.py does not count the mapping (:func:`counted`). Without
    ``full`` the register-file footprints (one more count when the PEs do not keep every operand)
    and the validity checks are left out: the mapper checks capacity itself. Scratch: ``rows``
    (1, n_loops + SPATIAL_ROWS, 4), ``n_rows`` (1,), ``counts`` (3, 1, LEVELS, 3, COUNT_COLS),
    ``macs`` (1,)."""
    keep = hw[ln.HWL_KEEP_MASK]
    if hw[ln.HWL_SYSTOLIC] == 1 or not counted(problem, loops, n_loops, spatial, cuts, keep):
        ln.evaluate_one(problem, loops, n_loops, spatial, cuts, hw, out)
        return
    n_rows[0] = tree_rows(loops, n_loops, spatial, cuts, rows[0])
    if n_rows[0] < 0:                         # per-operand cuts: no tree form
        ln.evaluate_one(problem, loops, n_loops, spatial, cuts, hw, out)
        return
    nest.evaluate_batch(problem, rows, n_rows, levels[TREE], np.int64(LEVELS), counts[TREE], macs)
    nest.evaluate_batch(problem, rows, n_rows, levels[ALONE], np.int64(LEVELS), counts[ALONE], macs)
    c = counts[TREE, 0]
    alone = counts[ALONE, 0]
    for k in range(out.shape[0]):
        out[k] = 0
    out[ln.X_MACS] = macs[0]
    out[ln.X_DRAM_IFMAP_R] = c[DRAM, ln.OP_IFMAP, nest.C_READS]
    out[ln.X_DRAM_FILTER_R] = c[DRAM, ln.OP_FILTER, nest.C_READS]
    out[ln.X_DRAM_OFMAP_W] = c[DRAM, ln.OP_OFMAP, nest.C_UPDATES]
    out[ln.X_DRAM_OFMAP_R] = c[DRAM, ln.OP_OFMAP, nest.C_READS]
    out[ln.X_GLB_IFMAP_R] = c[GLB, ln.OP_IFMAP, nest.C_READS]
    out[ln.X_GLB_FILTER_R] = c[GLB, ln.OP_FILTER, nest.C_READS]
    out[ln.X_GLB_OFMAP_W] = c[GLB, ln.OP_OFMAP, nest.C_UPDATES]
    out[ln.X_GLB_OFMAP_R] = c[GLB, ln.OP_OFMAP, nest.C_READS] - c[DRAM, ln.OP_OFMAP, nest.C_UPDATES]
    for op in range(3):
        if op == ln.OP_OFMAP:                 # what every PE sends: the buffer's updates, unreduced
            out[ln.X_RF_OFMAP] = alone[GLB, op, nest.C_UPDATES]
        elif (keep >> op) & 1:
            out[ln.X_RF_IFMAP + op] = c[RF, op, nest.C_FILLS]
        else:                                 # what every PE receives: the buffer's reads, unicast
            out[ln.X_RF_IFMAP + op] = alone[GLB, op, nest.C_READS]
        out[ln.X_GLB_FP_IFMAP + op] = c[GLB, op, nest.C_FOOTPRINT]
    _timing(problem, loops, n_loops, spatial, cuts, out)
    out[ln.X_VALID] = ln.VALID
    if not full:
        return
    every = c
    if keep != 7:
        nest.evaluate_batch(problem, rows, n_rows, levels[EVERY], np.int64(LEVELS), counts[EVERY], macs)
        every = counts[EVERY, 0]
    for op in range(3):
        out[ln.X_RF_FP_IFMAP + op] = every[RF, op, nest.C_FOOTPRINT]
    for op in range(3):
        if out[ln.X_RF_FP_IFMAP + op] > hw[ln.HWL_RF_IFMAP + op]:
            out[ln.X_VALID] = ln.BAD_RF
        elif out[ln.X_GLB_FP_IFMAP + op] > hw[ln.HWL_GLB_IFMAP + op] and out[ln.X_VALID] == ln.VALID:
            out[ln.X_VALID] = ln.BAD_GLB
    rows_used = 1
    cols_used = 1
    for d in range(7):
        rows_used *= spatial[0, d]
        cols_used *= spatial[1, d]
    if rows_used > hw[ln.HWL_ROWS] or cols_used > hw[ln.HWL_COLS]:
        out[ln.X_VALID] = ln.BAD_SPATIAL
