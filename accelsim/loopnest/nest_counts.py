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

The arithmetic is the numba kernel accelsim/kernels/shorthand.py, which the mapper's search
kernels call for every mapping they cost; this module is its Python entry point.
"""
from __future__ import annotations

import numpy as np

from ..errors import AccelsimError
from ..kernels import loopnest as ln
from ..kernels import nest
from ..kernels import shorthand as sh

DRAM, GLB, ARRAY, RF, MAC = sh.DRAM, sh.GLB, sh.ARRAY, sh.RF, sh.MAC
LEVELS = sh.LEVELS


def shorthand_levels(keep_mask: int, rf_operands: int | None = None, network: bool = True) -> np.ndarray:
    """nest.py's level array of the shorthand's tree: the register file keeps ``rf_operands``
    (bits; default ``keep_mask``); ``network``: the array multicasts and reduces (else every PE is
    counted on its own, as a unicast network)."""
    levels = np.zeros((LEVELS, nest.LEVEL_COLS), dtype=np.int64)
    sh.level_array(np.int64(keep_mask), np.int64(keep_mask if rf_operands is None else rf_operands),
                   np.int64(network), levels)
    return levels


def tree_rows(loops, n_loops: int, spatial, cuts) -> np.ndarray:
    """The mapping's rows for nest.py, outermost first: DRAM loops, GLB loops, the array's rows (Y)
    and columns (X), RF loops."""
    rows = np.zeros((loops.shape[0] + sh.SPATIAL_ROWS, 4), dtype=np.int64)
    n = sh.tree_rows(loops, np.int64(n_loops), spatial, cuts, rows)
    if n < 0:
        raise AccelsimError("internal error: a loop-nest mapping with per-operand cuts has no tree form; "
                            "the mapper cuts every operand at the same loops")
    return rows[:n]


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
    return bool(sh.counted(problem, loops, np.int64(n_loops), spatial, cuts, np.int64(keep_mask)))


def _counts(problem, rows, levels) -> np.ndarray:
    counts = np.zeros((LEVELS, 3, nest.COUNT_COLS), dtype=np.int64)
    nest.evaluate_tree(problem, rows, len(rows), levels, LEVELS, counts)
    return counts


def nest_outputs(problem, loops, n_loops: int, spatial, cuts, hw_row) -> np.ndarray:
    """The OUTPUTS row (accelsim/kernels/loopnest.py's layout) of one mapping on a multicast array,
    counted by nest.py (module docstring); the two-level kernel's row on a systolic array and where
    nest.py does not count the mapping yet (:func:`counted_by_nest`)."""
    if (hw_row[ln.HWL_SYSTOLIC] == 0 and (cuts != cuts[:, :1]).any()
            and counted_by_nest(problem, loops, n_loops, spatial, cuts, int(hw_row[ln.HWL_KEEP_MASK]))):
        tree_rows(loops, n_loops, spatial, cuts)              # raises: no tree form
    out = np.zeros(len(ln.OUTPUTS), dtype=np.int64)
    rows = np.zeros((1, loops.shape[0] + sh.SPATIAL_ROWS, 4), dtype=np.int64)
    counts = np.zeros((3, 1, LEVELS, 3, nest.COUNT_COLS), dtype=np.int64)
    # the mapper's search kernels compile outputs_into and shorthand_levels with these argument types
    sh.outputs_into(problem, loops, np.int64(n_loops), spatial, cuts, hw_row,
                    sh.shorthand_levels(np.int64(hw_row[ln.HWL_KEEP_MASK])), np.bool_(True), rows,
                    np.zeros(1, dtype=np.int64), counts, np.zeros(1, dtype=np.int64), out)
    return out
