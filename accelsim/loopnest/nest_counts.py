"""Loop-nest mappings of the shorthand's template counted by the N-level engine: the one counting
engine (accelsim/kernels/nest.py) behind the loop-nest dataflows (rs, nlr, ws_multicast and any
``engine: loopnest`` file) on multicast arrays.

A mapping of accelsim/loopnest/mapping.py (DRAM loops, global-buffer loops, the array's rows and
columns, register-file loops; every operand cut at the same loops, as the mapper builds them) is
the tree mapping of the shorthand's tree (docs/architecture.md, "The shorthand"): DRAM (level 0,
every operand), GlobalBuffer (1, every operand), PEArray (2: rows across Y, columns across X; its
multicast network serves one global-buffer read to every PE that needs the word and adds the
PEs' partial sums on the way back, [chen2016] section V-B), RegisterFile (3: the operands the
dataflow's ``keep`` lists; the others bypass it) and the MACs (4). The kernel's OUTPUTS row
(accelsim/kernels/loopnest.py) is filled from the tree's counts:

* DRAM and global-buffer reads and writes: the levels' counts; ``glb_ofmap_reads`` are the partial
  sums read back for accumulation, without the words drained to DRAM (the shorthand's column
  counts those as ``dram_ofmap_writes``);
* ``rf_<op>_fills`` / ``rf_ofmap_drains``, the words each PE receives (or sends) over the array's
  network: the register file's fills for a kept ifmap or filter; else the global buffer's reads
  (for the ofmap its updates) with the array counted per PE (the same tree with a unicast array);
* footprints: each level's largest tile (the register file's for every operand);
* the timing columns (steps, one fold, first load, last drain) by the shorthand's rules: steps
  ceil(bound / (PEs x register-file extent)) x register-file extent per unrolled dimension, the
  first load the global buffer's first ifmap tile (its in-input words: it starts in the padding)
  and its filter tile, the last drain the last (partial) output tile of the global buffer.

The mapper's imperfect factors on the array (a last array tile with idle PEs) are counted too
(nest.py counts live iterations). Mappings past a pinned global-buffer or DRAM factor that does
not divide, the GEMM view of dilated layers and register-file loops over an operand the PEs do not
keep (no shipped dataflow has any of these) stay on the two-level kernel, whose conventions differ
there (:func:`counted_by_nest`). Where nest.py counts, the two engines agree on every column
(tests/test_nest_counts.py).
"""
from __future__ import annotations

import numpy as np

from ..errors import AccelsimError
from ..kernels import loopnest as ln
from ..kernels import nest

DRAM, GLB, ARRAY, RF, MAC = range(5)
LEVELS = 5


def shorthand_levels(keep_mask: int, rf_operands: int | None = None, network: bool = True) -> np.ndarray:
    """nest.py's level array of the shorthand's tree: the register file keeps ``rf_operands``
    (bits; default ``keep_mask``); ``network``: the array multicasts and reduces (else every PE is
    counted on its own, as a unicast network)."""
    levels = np.zeros((LEVELS, nest.LEVEL_COLS), dtype=np.int64)
    for level in (DRAM, GLB, RF):
        levels[level, nest.LV_KIND] = nest.KIND_STORAGE
        levels[level, nest.LV_KEEP_MASK] = 7
    levels[RF, nest.LV_KEEP_MASK] = keep_mask if rf_operands is None else rf_operands
    levels[ARRAY, nest.LV_KIND] = nest.KIND_SPATIAL
    levels[ARRAY, nest.LV_COLLAPSE_READS] = levels[ARRAY, nest.LV_COLLAPSE_UPDATES] = int(network)
    levels[MAC, nest.LV_KIND] = nest.KIND_COMPUTE
    return levels


def tree_rows(loops, n_loops: int, spatial, cuts) -> np.ndarray:
    """The mapping's rows for nest.py, outermost first: DRAM loops, GLB loops, the array's rows (Y)
    and columns (X), RF loops."""
    glb, rf = int(cuts[0, 0]), int(cuts[1, 0])
    if (cuts[0] != glb).any() or (cuts[1] != rf).any():
        raise AccelsimError("internal error: a loop-nest mapping with per-operand cuts has no tree form; "
                            "the mapper cuts every operand at the same loops")
    rows = []
    for i in range(int(n_loops)):
        rows.append((int(loops[i, 0]), int(loops[i, 1]), 0, DRAM if i < glb else (GLB if i < rf else RF)))
    for axis in (0, 1):
        for d in range(7):
            if spatial[axis, d] > 1:
                rows.append((d, int(spatial[axis, d]), 1, ARRAY))
    rows.sort(key=lambda row: row[3])          # stable: loop order kept within each level
    return np.array(rows or [(0, 1, 0, 0)], dtype=np.int64).reshape(-1, 4)


def counted_by_nest(problem, loops, n_loops: int, spatial, cuts, keep_mask: int = 7) -> bool:
    """Whether nest.py counts this mapping: a conv-view problem (not the dilated GEMM view) whose
    dimensions are split as the mapper splits them, any imperfection in the array alone (register-
    file trips dividing the bound, the DRAM and global-buffer trips multiplying to exactly
    ceil(bound / (register-file trips x PEs)): the last array tile may leave PEs idle), and
    register-file loops only when the PEs keep every operand.

    The rest stays on the two-level kernel, whose counts differ by its documented conventions: past
    a pinned global-buffer or DRAM factor that does not divide (ceil(q / factor)), it counts the
    idle PEs of a partial array tile of an irrelevant dimension as re-filled, where nest.py counts
    live iterations only; and it holds an operand the PEs do not keep for the duration of their own
    loops (a register file that keeps a tile but reuses it across no outer loop, which the tree has
    no level for)."""
    if problem[ln.P_IFMAP_UNIQUE] >= 0:
        return False
    rf_cut = int(cuts[1].min())
    if keep_mask != 7 and any(loops[i, 1] > 1 for i in range(rf_cut, int(n_loops))):
        return False
    for d in range(7):
        outer = int(np.prod([loops[i, 1] for i in range(rf_cut) if loops[i, 0] == d] or [1]))
        rf = int(np.prod([loops[i, 1] for i in range(rf_cut, int(n_loops)) if loops[i, 0] == d] or [1]))
        bound, pes = int(problem[d]), int(spatial[0, d] * spatial[1, d])
        if bound % rf or outer != -(-bound // (rf * pes)):
            return False
    return True


def _counts(problem, rows, levels) -> np.ndarray:
    counts = np.zeros((LEVELS, 3, nest.COUNT_COLS), dtype=np.int64)
    nest.evaluate_tree(problem, rows, len(rows), levels, LEVELS, counts)
    return counts


def nest_outputs(problem, loops, n_loops: int, spatial, cuts, hw_row) -> np.ndarray:
    """The OUTPUTS row (accelsim/kernels/loopnest.py's layout) of one mapping on a multicast array,
    counted by nest.py (module docstring); the two-level kernel's row where nest.py does not count
    the mapping yet (:func:`counted_by_nest`)."""
    if hw_row[ln.HWL_SYSTOLIC] or not counted_by_nest(problem, loops, n_loops, spatial, cuts,
                                                      int(hw_row[ln.HWL_KEEP_MASK])):
        out = np.zeros(len(ln.OUTPUTS), dtype=np.int64)
        ln.evaluate_one(problem, loops, n_loops, spatial, cuts, hw_row, out)
        return out
    keep = int(hw_row[ln.HWL_KEEP_MASK])
    rows = tree_rows(loops, n_loops, spatial, cuts)
    c = _counts(problem, rows, shorthand_levels(keep))
    every = c if keep == 7 else _counts(problem, rows, shorthand_levels(keep, rf_operands=7))
    alone = _counts(problem, rows, shorthand_levels(keep, network=False))
    out = np.zeros(len(ln.OUTPUTS), dtype=np.int64)
    macs = int(np.prod(problem[:7]))
    out[ln.X_MACS] = macs
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
        out[ln.X_RF_FP_IFMAP + op] = every[RF, op, nest.C_FOOTPRINT]
    out[ln.X_VALID] = ln.VALID
    for op in range(3):
        if out[ln.X_RF_FP_IFMAP + op] > hw_row[ln.HWL_RF_IFMAP + op]:
            out[ln.X_VALID] = ln.BAD_RF
        elif out[ln.X_GLB_FP_IFMAP + op] > hw_row[ln.HWL_GLB_IFMAP + op] and out[ln.X_VALID] == ln.VALID:
            out[ln.X_VALID] = ln.BAD_GLB
    if (spatial[0].prod() > hw_row[ln.HWL_ROWS]) or (spatial[1].prod() > hw_row[ln.HWL_COLS]):
        out[ln.X_VALID] = ln.BAD_SPATIAL
    _timing(problem, loops, n_loops, spatial, cuts, out)
    return out


def _timing(problem, loops, n_loops: int, spatial, cuts, out) -> None:
    """Steps, folds and the exposed first load and last drain of a multicast array (the two-level
    kernel's rules, accelsim/kernels/loopnest.py ``temporal_steps`` and ``_last_footprint``)."""
    rf_cut, glb_cut = int(cuts[1].min()), int(cuts[0, ln.OP_OFMAP])
    steps = 1
    last = 1
    tile = np.ones(7, dtype=np.int64)
    for d in range(7):
        bound = int(problem[d])
        pes = int(spatial[0, d] * spatial[1, d])
        rf_extent = int(np.prod([loops[i, 1] for i in range(rf_cut, int(n_loops)) if loops[i, 0] == d] or [1]))
        steps *= bound if pes == 1 else -(-bound // (pes * rf_extent)) * rf_extent
        glb_extent = int(np.prod([loops[i, 1] for i in range(glb_cut, int(n_loops)) if loops[i, 0] == d] or [1]))
        tile[d] = min(glb_extent * pes, bound)
        if ln.RELEVANCE[ln.OP_OFMAP, d]:
            last *= bound - (-(-bound // tile[d]) - 1) * tile[d]
    # the first global-buffer tile (at the origin: its window starts in the padding) of the ifmap
    first_ifmap = int(tile[ln.D_N] * tile[ln.D_C]
                      * ln.touched(tile[ln.D_E], tile[ln.D_R], problem[ln.P_STRIDE_H], 1, problem[ln.P_PAD_H],
                                   problem[ln.P_IN_H])
                      * ln.touched(tile[ln.D_F], tile[ln.D_S], problem[ln.P_STRIDE_W], 1, problem[ln.P_PAD_W],
                                   problem[ln.P_IN_W]))
    out[ln.X_STEPS] = steps
    out[ln.X_FOLDS] = 1
    out[ln.X_CYC_FOLD] = steps
    out[ln.X_COMPUTE] = steps
    out[ln.X_FIRST_LOAD] = first_ifmap + out[ln.X_GLB_FP_FILTER]
    out[ln.X_LAST_DRAIN] = last
