"""Padding in the two-level loop-nest kernel (accelsim/kernels/loopnest.py): ifmap reads, fills and
footprints count the input pixels windows touch, never the padding (padding zeros are generated,
not stored). Checked three ways: against the brute-force oracle (tests/test_loopnest_oracle.py's
``pad_*`` cases and random padded mappings), by hand here, and against the N-level engine
(accelsim/kernels/nest.py) on the same mapping written as a tree (DRAM, global buffer, PE array, RF):
the two engines agree on every count they share."""
from __future__ import annotations

import random

import numpy as np
import pytest
from naive_tree import factorise

from accelsim.kernels import loopnest as ln
from accelsim.kernels import nest

DIMS = ln.DIMS


def problem_row(bounds, stride=(1, 1), pad=(0, 0), size=None):
    """The kernel's problem row (conv view); ``size`` (H, W) defaults to what the padded windows span
    less the padding."""
    p = np.zeros(ln.PROBLEM_COLS, dtype=np.int64)
    p[:7] = [bounds.get(d, 1) for d in DIMS]
    if size is None:
        size = tuple((bounds.get(e, 1) - 1) * stride[k] + bounds.get(r, 1) - 2 * pad[k]
                     for k, (e, r) in enumerate((("E", "R"), ("F", "S"))))
    p[ln.P_STRIDE_H], p[ln.P_STRIDE_W] = stride
    p[ln.P_IFMAP_UNIQUE] = -1
    p[ln.P_IN_H], p[ln.P_IN_W] = size
    p[ln.P_PAD_H], p[ln.P_PAD_W] = pad
    return p


def two_level(problem, dram, glb, rf, rows, cols):
    """loopnest.evaluate_one on a multicast array keeping every operand: loops DRAM, GLB, RF (each a
    list of (dim, trip)), spatial ``rows`` / ``cols`` ({dim: factor})."""
    loops = np.zeros((ln.MAX_LOOPS, 2), dtype=np.int64)
    loops[:, 1] = 1
    for i, (d, t) in enumerate(dram + glb + rf):
        loops[i] = (DIMS.index(d), t)
    spatial = np.ones((2, 7), dtype=np.int64)
    for axis, unroll in enumerate((rows, cols)):
        for d, f in unroll.items():
            spatial[axis, DIMS.index(d)] = f
    cuts = np.array([[len(dram)] * 3, [len(dram) + len(glb)] * 3], dtype=np.int64)
    hw = np.zeros(ln.HWL_COLS_N, dtype=np.int64)
    hw[ln.HWL_ROWS], hw[ln.HWL_COLS] = int(np.prod(spatial[0])), int(np.prod(spatial[1]))
    hw[ln.HWL_GLB_IFMAP:ln.HWL_RF_OFMAP + 1] = 1 << 40
    hw[ln.HWL_KEEP_MASK] = 7
    hw[ln.HWL_WORD_BITS] = 8
    out = np.zeros(len(ln.OUTPUTS), dtype=np.int64)
    ln.evaluate_one(problem, loops, len(dram + glb + rf), spatial, cuts, hw, out)
    assert out[ln.X_VALID] == ln.VALID
    return dict(zip(ln.OUTPUTS, (int(v) for v in out)))


def n_level(problem, dram, glb, rf, rows, cols):
    """nest.evaluate_tree on the same mapping as a tree: DRAM (0), GLB (1), a multicast and reducing
    PE array (2), RF (3), MACs (4). Returns counts[level, op, C_*]."""
    table = [(d, t, 0, 0) for d, t in dram] + [(d, t, 0, 1) for d, t in glb]
    table += [(d, f, 1, 2) for d, f in rows.items()] + [(d, f, 1, 2) for d, f in cols.items()]
    table += [(d, t, 0, 3) for d, t in rf]
    r = np.array([(DIMS.index(d), t, s, lv) for d, t, s, lv in table] or [(0, 1, 0, 0)], dtype=np.int64)
    levels = np.zeros((5, nest.LEVEL_COLS), dtype=np.int64)
    for i, kind in enumerate((nest.KIND_STORAGE, nest.KIND_STORAGE, nest.KIND_SPATIAL, nest.KIND_STORAGE,
                              nest.KIND_COMPUTE)):
        levels[i, nest.LV_KIND] = kind
        levels[i, nest.LV_KEEP_MASK] = 7 if kind == nest.KIND_STORAGE else 0
        levels[i, nest.LV_COLLAPSE_READS] = levels[i, nest.LV_COLLAPSE_UPDATES] = int(kind == nest.KIND_SPATIAL)
    counts = np.zeros((5, 3, nest.COUNT_COLS), dtype=np.int64)
    nest.evaluate_tree(problem, r, len(table), levels, 5, counts)
    return counts


def shared_counts(problem, rows, cols, two, counts):
    """(two-level output, N-level count) pairs of every count both engines report."""
    i, f, o = 0, 1, 2
    # every output's first visit of each RF holding it (the replicas along C, R, S)
    first_visits = int(np.prod([problem[DIMS.index(d)] for d in "NMEF"]))
    for d, factor in list(rows.items()) + list(cols.items()):
        first_visits *= factor if d in "CRS" else 1
    return {
        "dram_ifmap_reads": (two["dram_ifmap_reads"], counts[0, i, nest.C_READS]),
        "dram_filter_reads": (two["dram_filter_reads"], counts[0, f, nest.C_READS]),
        "dram_ofmap_writes": (two["dram_ofmap_writes"], counts[0, o, nest.C_UPDATES]),
        "dram_ofmap_reads": (two["dram_ofmap_reads"], counts[0, o, nest.C_READS]),
        "glb_ifmap_reads": (two["glb_ifmap_reads"], counts[1, i, nest.C_READS]),
        "glb_filter_reads": (two["glb_filter_reads"], counts[1, f, nest.C_READS]),
        "glb_ofmap_writes": (two["glb_ofmap_writes"], counts[1, o, nest.C_UPDATES]),
        # the N-level engine's GLB ofmap reads also count the outputs drained to DRAM
        "glb_ofmap_reads + dram_ofmap_writes": (two["glb_ofmap_reads"] + two["dram_ofmap_writes"],
                                                counts[1, o, nest.C_READS]),
        "rf_ifmap_fills": (two["rf_ifmap_fills"], counts[3, i, nest.C_FILLS]),
        "rf_filter_fills": (two["rf_filter_fills"], counts[3, f, nest.C_FILLS]),
        # the N-level engine's RF ofmap fills are the drains less each output's first visit
        "rf_ofmap_drains": (two["rf_ofmap_drains"], counts[3, o, nest.C_FILLS] + first_visits),
        "glb_ifmap_footprint": (two["glb_ifmap_footprint"], counts[1, i, nest.C_FOOTPRINT]),
        "rf_ifmap_footprint": (two["rf_ifmap_footprint"], counts[3, i, nest.C_FOOTPRINT]),
    }


def test_hand_counted_border_tiles():
    """A 3x3 conv, 4x4 output, padding 1 on a 4x4 input; the DRAM level splits E and F in two. Each
    half reads 4 window rows (-1..2 and 1..4), 3 of them inside the input: 3 x 3 x 2 x 2 = 36 words
    (the 16-pixel input, its middle rows and columns twice), not 4 x 4 x 2 x 2 = 64 with padding."""
    p = problem_row({"E": 4, "F": 4, "R": 3, "S": 3}, pad=(1, 1))
    out = two_level(p, [("E", 2), ("F", 2)], [("R", 3), ("S", 3), ("E", 2), ("F", 2)], [], {}, {})
    assert out["dram_ifmap_reads"] == 36
    assert out["glb_ifmap_footprint"] == 9
    assert out["first_load_words"] == 9 + 9


def test_hand_counted_strided_7x1():
    """A 7x1 filter at stride 2 with padding 3, 8 output rows from a 16-row input. One output row per
    DRAM tile: row e reads input rows 2e - 3 .. 2e + 3, inside the input 4, 6, 7, 7, 7, 7, 7, 5 of
    them (50 words, not 8 x 7 = 56). One tile for the whole layer: every input row once."""
    p = problem_row({"E": 8, "R": 7}, stride=(2, 1), pad=(3, 0), size=(16, 1))
    assert two_level(p, [("E", 8)], [("R", 7)], [], {}, {})["dram_ifmap_reads"] == 4 + 6 + 5 * 7 + 5
    whole = two_level(p, [], [("E", 8), ("R", 7)], [], {}, {})
    assert whole["dram_ifmap_reads"] == 16 and whole["glb_ifmap_footprint"] == 16


def random_mapping(seed):
    """A small padded conv and a random perfect factorisation over DRAM, GLB, array rows and
    columns (distinct dims) and RF, with random loop orders per level."""
    rng = random.Random(seed)
    bounds = {"N": rng.choice([1, 2]), "M": rng.choice([1, 2, 4]), "C": rng.choice([1, 2]),
              "E": rng.choice([2, 4, 6, 8]), "F": rng.choice([1, 2, 3, 4]), "R": rng.choice([1, 2, 3, 5]),
              "S": rng.choice([1, 2, 3])}
    stride = (rng.choice([1, 2]), rng.choice([1, 2, 3]))
    pad = (rng.choice([0, 1, 2]), rng.choice([0, 1, 2]))
    extra = (rng.randrange(stride[0]), rng.randrange(stride[1]))
    size = tuple(max(1, (bounds[e] - 1) * stride[k] + bounds[r] - 2 * pad[k] + extra[k])
                 for k, (e, r) in enumerate((("E", "R"), ("F", "S"))))
    levels = {"dram": [], "glb": [], "rows": {}, "cols": {}, "rf": []}
    for d in DIMS:
        for factor in factorise(bounds[d], 3, rng):
            if factor == 1:
                continue
            where = rng.choice(list(levels))
            if where in ("rows", "cols"):
                other = "cols" if where == "rows" else "rows"
                if d in levels[other] or d in levels[where]:
                    where = "glb"
                else:
                    levels[where][d] = factor
                    continue
            levels[where].append((d, factor))
    for key in ("dram", "glb", "rf"):
        rng.shuffle(levels[key])
    return problem_row(bounds, stride, pad, size), levels


@pytest.mark.parametrize("seed", range(120))
def test_two_level_and_n_level_engines_agree_on_padded_layers(seed):
    problem, lv = random_mapping(seed)
    args = (problem, lv["dram"], lv["glb"], lv["rf"], lv["rows"], lv["cols"])
    differ = {name: pair for name, pair in shared_counts(problem, lv["rows"], lv["cols"], two_level(*args),
                                                           n_level(*args)).items()
              if pair[0] != pair[1]}
    assert not differ, (seed, lv, problem.tolist(), differ)
