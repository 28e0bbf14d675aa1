"""The loop-nest kernel (accelsim/kernels/loopnest.py) against a brute-force execution of the nest
(tests/naive_loopnest.py), output by output, exactly.

Hand-written mappings cover perfect and imperfect factorisations, a dim split over two or three
loops, irrelevant loops inside and outside relevant ones, stride 1 and 2 with R, S > 1 (a sliding
window at each boundary, halos re-fetched from DRAM, rows a stride steps over), spatial
unrolling of relevant and irrelevant dims on rows and columns (multicast and per-PE replication),
different cuts per operand, operands the PEs do not keep (systolic streaming) and a row-stationary
mapping. Hypothesis adds random small mappings, and random mappings shaped around a spatially
unrolled dim whose last tile is partly idle (``spatial_reuse_mappings``).

The oracle executes the kernel's documented semantics (its defaults ``refill="kernel"``,
``lockstep=True``), including the modelling choices and the known over-counts the kernel's
docstring states, so every output of every mapping is compared for equality (no expected failures).
CHOICES lists those choices with the oracle semantics that leave each one out; a minimal
reproducer of each ends CASES, and the cases that exercise one name the outputs it changes. For them the test asserts that
the kernel's count is larger than the oracle's without the choice in exactly those outputs, and
equal in all others. For the over-counts (B) that is the documented bound: the kernel counts at
least the exact re-fills, and exactly the re-fills of its documented rule. A second random test
checks the bound on random mappings: no output of the kernel is below the oracle's with none of
the choices (fills when the tile's contents change, steps in which some PE has an in-bound MAC).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accelsim.kernels import loopnest as ln

import naive_loopnest as naive  # tests/naive_loopnest.py (pytest puts tests/ on sys.path)

OPS = naive.OPS
COMPARED = tuple(name for name in ln.OUTPUTS if name != "valid")

#: The kernel's documented modelling choices: choice -> (naive.simulate keyword arguments that
#: leave it out, the choice in one line). The oracle's defaults include all of them.
#:
#: * refill_on_advance (C): a tile is re-filled whenever a loop above it relevant to the operand
#:   advances (Timeloop's rule), even when the new window covers the same rows (stride 1, E and R
#:   advancing together). Left out: re-fill only when the tile's contents change.
#: * refill_across_idle (B, a known over-count): an irrelevant loop that wraps while an inner
#:   partial tile of a relevant dimension leaves the tile unchanged still counts a re-fill, and a
#:   PE idle in a partial spatial tile of an irrelevant dimension counts as re-filled (when that
#:   dimension also has a re-used loop above the RF tile). Left out: re-fill only when a relevant
#:   loop's index changed between two iterations that execute MACs.
#: * lockstep_steps (E): a spatially unrolled dim takes ceil(bound / (factor x RF extent)) x RF
#:   extent steps: the array runs every RF step of a partial spatial tile, also those in which no
#:   PE has an in-bound MAC. Left out: count only the steps in which some PE has one.
CHOICES = {
    "refill_on_advance": ({"refill": "content"},
                          "re-filled when a relevant loop advances, even onto the same rows"),
    "refill_across_idle": ({"refill": "relevant"},
                           "re-fill counted across idle iterations of a partial tile / idle PEs"),
    "lockstep_steps": ({"lockstep": False},
                       "every array step of a partial spatial tile counts"),
}
#: The oracle semantics with none of the choices: the kernel never counts less.
NO_CHOICES = {"refill": "content", "lockstep": False}


def kernel_outputs(problem, loops, spatial, cuts, keep=OPS) -> dict:
    """Run ln.evaluate_batch on one mapping described as naive_loopnest takes it."""
    bounds = [problem[d] for d in ln.DIMS]
    stride_h, stride_w = problem["stride_h"], problem["stride_w"]
    pad_h, pad_w = problem.get("pad_h", 0), problem.get("pad_w", 0)
    height = problem.get("H", (problem["E"] - 1) * stride_h + problem["R"])
    width = problem.get("W", (problem["F"] - 1) * stride_w + problem["S"])
    prob = np.array(bounds + [stride_h, stride_w, -1, height, width, pad_h, pad_w, 1, 1, 0], dtype=np.int64)
    assert prob.shape == (ln.PROBLEM_COLS,)
    loop_arr = np.zeros((1, ln.MAX_LOOPS, 2), dtype=np.int64)
    loop_arr[0, :, 1] = 1
    for i, (d, trip) in enumerate(loops):
        loop_arr[0, i] = (ln.DIMS.index(d), trip)
    n_loops = np.array([len(loops)], dtype=np.int64)
    spatial_arr = np.ones((1, 2, 7), dtype=np.int64)
    for axis, key in enumerate(("rows", "cols")):
        for d, factor in spatial.get(key, {}).items():
            spatial_arr[0, axis, ln.DIMS.index(d)] = factor
    cut_arr = np.array([[[cuts[level][op] for op in OPS] for level in ("glb", "rf")]], dtype=np.int64)
    hw = np.zeros(ln.HWL_COLS_N, dtype=np.int64)
    hw[ln.HWL_ROWS] = int(np.prod(spatial_arr[0, 0]))
    hw[ln.HWL_COLS] = int(np.prod(spatial_arr[0, 1]))
    for column in (ln.HWL_GLB_IFMAP, ln.HWL_GLB_FILTER, ln.HWL_GLB_OFMAP,
                   ln.HWL_RF_IFMAP, ln.HWL_RF_FILTER, ln.HWL_RF_OFMAP):
        hw[column] = 1 << 40                     # every mapping fits
    hw[ln.HWL_SYSTOLIC] = 0
    hw[ln.HWL_TIMING] = ln.TIMING_PHYSICAL
    hw[ln.HWL_WORD_BITS] = 8
    hw[ln.HWL_KEEP_MASK] = sum(1 << i for i, op in enumerate(OPS) if op in keep)
    out = np.zeros((1, len(ln.OUTPUTS)), dtype=np.int64)
    ln.evaluate_batch(prob, loop_arr, n_loops, spatial_arr, cut_arr, hw, out)
    return {name: int(value) for name, value in zip(ln.OUTPUTS, out[0])}


@dataclass(frozen=True)
class Case:
    id: str
    problem: dict
    loops: tuple
    spatial: dict
    cuts: dict
    keep: tuple = OPS
    #: CHOICES class -> the outputs it changes (the oracle without it counts less in exactly these)
    shows: dict = field(default_factory=dict)

    def args(self):
        return self.problem, self.loops, self.spatial, self.cuts, self.keep


def pad_input(problem, pad, extra=(0, 0)):
    """Give ``problem`` the padding ``pad`` (rows, columns) and the unpadded input whose output is E x
    F: H = (E - 1) stride + R - 2 pad + extra (extra < stride: rows past the last window)."""
    for axis, (e, r, stride) in enumerate((("E", "R", "stride_h"), ("F", "S", "stride_w"))):
        problem[("pad_h", "pad_w")[axis]] = pad[axis]
        problem["HW"[axis]] = (problem[e] - 1) * problem[stride] + problem[r] - 2 * pad[axis] + extra[axis]
    return problem


def case(id, loops, glb, rf, rows=None, cols=None, keep=OPS, stride=(1, 1), pad=None, extra=(0, 0), shows=None,
         **bounds):
    """``glb``, ``rf``: cut positions (ifmap, filter, ofmap); an int for all three. ``pad``: the
    padding (rows, columns; :func:`pad_input`). ``shows``: {class of CHOICES: outputs it changes}."""
    problem = {d: bounds.get(d, 1) for d in naive.DIMS}
    problem["stride_h"], problem["stride_w"] = stride
    if pad:
        pad_input(problem, pad, extra)
    glb = (glb,) * 3 if isinstance(glb, int) else glb
    rf = (rf,) * 3 if isinstance(rf, int) else rf
    cuts = {"glb": dict(zip(OPS, glb)), "rf": dict(zip(OPS, rf))}
    spatial = {"rows": dict(rows or {}), "cols": dict(cols or {})}
    return Case(id, problem, tuple(loops), spatial, cuts, tuple(keep),
                {cls: tuple(names) for cls, names in (shows or {}).items()})


CASES = [
    # GEMM-like (E = F = R = S = 1), perfect factorisations, one level of cuts
    case("gemm_output_stationary", [("N", 2), ("M", 3), ("C", 4)], 0, 2, N=2, M=3, C=4),
    case("gemm_weight_stationary", [("C", 4), ("M", 3), ("N", 2)], 0, 2, N=2, M=3, C=4),
    case("gemm_input_stationary", [("N", 2), ("C", 4), ("M", 3)], 0, 2, N=2, M=3, C=4),
    case("gemm_all_in_rf", [("N", 2), ("M", 3), ("C", 4)], 0, 0, N=2, M=3, C=4),
    case("gemm_nothing_in_rf", [("N", 2), ("M", 3), ("C", 4)], 0, 3, N=2, M=3, C=4),
    case("gemm_cuts_per_operand", [("M", 3), ("N", 2), ("C", 4)], (1, 0, 2), (2, 1, 3),
         N=2, M=3, C=4),
    case("gemm_glb_cuts_deep", [("M", 3), ("N", 2), ("C", 4)], (2, 3, 1), (3, 3, 2), N=2, M=3, C=4),
    # irrelevant loops inside and outside relevant ones
    case("irrelevant_inside_relevant", [("C", 3), ("N", 2), ("M", 2)], 0, 3, N=2, M=2, C=3),
    case("irrelevant_outside_relevant", [("M", 2), ("N", 2), ("C", 3)], 0, 3, N=2, M=2, C=3),
    case("irrelevant_between_relevant", [("C", 2), ("M", 3), ("N", 2), ("C", 2)], 1, 4,
         N=2, M=3, C=4),
    case("trip_one_loops", [("M", 1), ("C", 3), ("N", 1), ("M", 2)], 0, (3, 2, 4), M=2, C=3),
    # a dim split over two or three loops
    case("split_two_loops", [("C", 2), ("M", 2), ("C", 3)], (1, 0, 1), (2, 2, 3), M=2, C=6),
    case("split_three_loops", [("C", 2), ("N", 2), ("C", 2), ("M", 2), ("C", 2)], (1, 2, 0),
         (3, 4, 2), N=2, M=2, C=8),
    # imperfect factorisations: partial last tiles
    case("imperfect_inner_tile", [("M", 2), ("C", 2), ("C", 3)], 0, 2, M=2, C=5),
    case("imperfect_split", [("C", 2), ("M", 2), ("C", 3), ("M", 2)], (0, 1, 1), (1, 2, 3),
         M=3, C=5),
    case("imperfect_every_dim", [("N", 2), ("M", 2), ("C", 2), ("N", 2), ("M", 2), ("C", 2)], 0,
         (3, 2, 4), N=3, M=3, C=3,
         shows={"refill_across_idle": ("glb_ofmap_writes", "glb_ofmap_reads", "rf_ofmap_drains")}),
    case("imperfect_three_loops", [("E", 2), ("C", 2), ("E", 2), ("E", 2)], (1, 1, 0), (2, 3, 2),
         C=2, E=7),
    # convolution windows, stride 1 and 2: the sliding window at each boundary
    case("conv_window_in_glb", [("M", 2), ("E", 3), ("F", 3), ("R", 3), ("S", 3)], 1, 3,
         M=2, E=3, F=3, R=3, S=3),
    case("conv_window_in_rf", [("M", 2), ("E", 3), ("F", 3), ("R", 3), ("S", 3)], 0, (3, 1, 3),
         M=2, E=3, F=3, R=3, S=3),
    case("conv_window_at_dram", [("E", 3), ("M", 2), ("F", 3), ("R", 3), ("S", 3)], (1, 0, 1),
         (3, 1, 3), M=2, E=3, F=3, R=3, S=3),
    case("conv_stride2_window_in_glb", [("M", 2), ("E", 2), ("F", 3), ("R", 3), ("S", 3)], 1, 3,
         stride=(2, 2), M=2, E=2, F=3, R=3, S=3),
    case("conv_stride2_window_at_dram", [("F", 3), ("E", 2), ("C", 2), ("R", 3), ("S", 3)],
         (1, 0, 0), (3, 3, 3), stride=(2, 2), C=2, E=2, F=3, R=3, S=3),
    case("conv_stride2_1x1", [("E", 3), ("F", 2), ("C", 2)], 0, 2, stride=(2, 2), C=2, E=3, F=2),
    case("conv_rect_stride", [("C", 2), ("E", 2), ("F", 3), ("S", 2), ("R", 3)], (0, 2, 1),
         (3, 2, 3), stride=(2, 1), C=2, E=2, F=3, R=3, S=2),
    case("conv_e_r_split", [("E", 2), ("R", 3), ("E", 2)], 0, (1, 1, 1), E=4, R=3),
    case("conv_imperfect_window", [("E", 2), ("F", 2), ("R", 2), ("E", 2), ("S", 3), ("R", 2)],
         (0, 0, 2), (3, 2, 4), E=3, F=2, R=3, S=3,
         shows={"refill_across_idle": ("glb_ofmap_writes", "glb_ofmap_reads", "rf_ofmap_drains")}),
    # neighbouring DRAM tiles overlap (the halo is fetched again); a stride > R steps over rows
    case("conv_halo_refetched_at_dram", [("F", 3), ("S", 2)], (1, 2, 2), (1, 2, 2), F=3, S=2),
    case("conv_stride_steps_over_rows", [("E", 2)], 0, 0, stride=(2, 1), E=2),
    case("conv_distinct_cuts", [("M", 2), ("E", 2), ("C", 2), ("F", 2), ("R", 2), ("S", 2)],
         (1, 0, 2), (4, 3, 5), M=2, C=2, E=2, F=2, R=2, S=2),
    # spatial unrolling: relevant dims (partitioned), irrelevant dims (multicast, replicated)
    case("spatial_gemm_rows_c_cols_m", [("N", 3), ("C", 2), ("M", 2)], 0, 1,
         rows={"C": 2}, cols={"M": 3}, N=3, M=6, C=4),
    case("spatial_same_dim_rows_and_cols", [("M", 2), ("C", 2)], 0, 1, rows={"C": 2},
         cols={"C": 3}, M=2, C=12),
    case("spatial_irrelevant_multicast", [("C", 3), ("N", 2)], 0, 2, rows={"M": 2}, cols={"N": 2},
         N=4, M=2, C=3),
    case("spatial_inside_rf_loops", [("M", 2), ("N", 2), ("C", 3)], 1, 2, rows={"N": 2},
         N=4, M=2, C=3),
    case("spatial_partial_tile", [("M", 2), ("C", 2)], 0, 1, cols={"M": 2}, M=3, C=2),
    case("spatial_window_rows_e", [("M", 2), ("R", 3), ("F", 2)], 0, 2, rows={"E": 3},
         M=2, E=3, F=2, R=3),
    case("spatial_stride2_rows_e", [("F", 2), ("R", 3), ("S", 2)], 1, 2, rows={"E": 2},
         cols={"M": 2}, stride=(2, 2), M=2, E=2, F=2, R=3, S=2),
    case("spatial_replicas_partial", [("N", 2), ("C", 2)], 0, 1, rows={"M": 2}, cols={"N": 2},
         N=3, M=2, C=2),
    case("spatial_irrelevant_partial_replicas", [("C", 2), ("M", 2)], 0, 1, cols={"N": 4},
         N=3, M=2, C=2),
    case("spatial_dim_also_in_rf", [("M", 2), ("C", 2)], 0, 1, rows={"C": 2}, M=2, C=4),
    case("spatial_replicas_under_reused_loop", [("N", 2), ("C", 2), ("N", 2)], 0, 3,
         cols={"N": 2}, N=8, C=2),
    # row stationary (Eyeriss): filter rows on PE rows, ofmap rows on PE columns, S and F in the RF
    case("row_stationary", [("M", 2), ("C", 2), ("F", 4), ("S", 3)], 0, 2, rows={"R": 3},
         cols={"E": 4}, M=2, C=2, E=4, F=4, R=3, S=3),
    case("row_stationary_stride2", [("C", 2), ("M", 2), ("F", 3), ("S", 3)], (0, 1, 0), 2,
         rows={"R": 3}, cols={"E": 3}, stride=(2, 2), M=2, C=2, E=3, F=3, R=3, S=3),
    # operands the PEs do not keep between iterations (systolic streaming)
    case("weight_stationary_streaming", [("C", 2), ("M", 2), ("N", 3)], 0, 2, rows={"C": 2},
         cols={"M": 2}, keep=("filter",), N=3, M=4, C=4),
    case("output_stationary_streaming", [("N", 2), ("M", 2), ("C", 3)], 0, 2, rows={"N": 2},
         cols={"M": 2}, keep=("ofmap",), N=4, M=4, C=3),
    case("input_stationary_streaming_window", [("M", 2), ("E", 2), ("R", 2)], 1, 2,
         cols={"M": 2}, keep=("ifmap",), M=4, E=2, R=2),
    case("nothing_kept", [("M", 2), ("C", 2), ("E", 2), ("R", 2)], 1, 3, keep=(),
         M=2, C=2, E=2, R=2),
    # padding: border tiles hold only their positions inside the input, at every boundary
    case("pad_border_tiles", [("E", 2), ("F", 2), ("R", 3), ("S", 3), ("E", 2), ("F", 2)], 2, 4,
         pad=(1, 1), E=4, F=4, R=3, S=3),
    case("pad_window_per_pe", [("M", 2), ("F", 4), ("S", 3)], 0, 1, rows={"R": 3}, cols={"E": 4},
         pad=(1, 1), M=2, E=4, F=4, R=3, S=3),
    case("pad_stride2_7x1", [("E", 2), ("R", 7), ("E", 2)], 1, 2, stride=(2, 1), pad=(3, 0), E=4, R=7),
    case("pad_stride2_extra_row", [("F", 3), ("E", 3), ("R", 3), ("S", 3)], (2, 0, 1), (3, 2, 2),
         stride=(2, 2), pad=(1, 1), extra=(1, 0), E=3, F=3, R=3, S=3),
    case("pad_imperfect_tiles", [("E", 2), ("R", 2), ("E", 3), ("R", 2)], (1, 0, 1), (3, 2, 3),
         pad=(2, 0), E=5, R=3),
    case("pad_wider_than_tiles", [("E", 3), ("E", 2)], 1, 1, cols={"R": 5}, pad=(2, 0), E=6, R=5),
    # minimal reproducers of CHOICES
    case("min_refill_across_idle", [("R", 2), ("N", 2), ("R", 2)], 3, 3, N=2, R=3,
         shows={"refill_across_idle": ("dram_filter_reads", "glb_filter_reads", "rf_filter_fills")}),
    case("min_refill_across_idle_per_pe", [("R", 2), ("E", 2)], (0, 2, 2), 2, rows={"E": 3},
         E=4, R=2, shows={"refill_across_idle": ("rf_ofmap_drains",)}),
    case("min_refill_on_advance", [("E", 2), ("R", 2)], 0, 2, E=2, R=2,
         shows={"refill_on_advance": ("glb_ifmap_reads", "rf_ifmap_fills")}),
    case("min_lockstep_steps", [("F", 2), ("F", 2)], 1, 1, rows={"F": 2}, F=5,
         shows={"lockstep_steps": ("steps", "cycles_per_fold", "compute_cycles")}),
    # the PE in column 1 has no N in bounds in the second N tile (N = 4 + 2 n + col, n = 0, 1),
    # yet counts a filter re-fill there for each C; no filter re-fill is across idle iterations
    # (the ofmap's are)
    case("min_idle_replica_refilled", [("N", 2), ("C", 2), ("N", 2)], 0, 3, cols={"N": 2}, N=5,
         C=2, shows={"refill_across_idle": ("rf_filter_fills", "glb_ofmap_writes",
                                            "glb_ofmap_reads", "rf_ofmap_drains")}),
]

_oracle_cache = {}


def oracle(c: Case, **semantics):
    key = (c.id, tuple(sorted(semantics.items())))
    if key not in _oracle_cache:
        _oracle_cache[key] = naive.simulate(*c.args(), **semantics)
    return _oracle_cache[key]


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_kernel_matches_oracle(c):
    kernel = kernel_outputs(*c.args())
    expected = oracle(c)
    assert kernel["valid"] == ln.VALID
    assert set(expected) == set(COMPARED)
    differ = {name: (kernel[name], expected[name]) for name in COMPARED if kernel[name] != expected[name]}
    assert not differ, f"(kernel, oracle): {differ}"


SHOWN = [pytest.param(c, cls, id=f"{c.id}-{cls}") for c in CASES for cls in c.shows]


@pytest.mark.parametrize("c, cls", SHOWN)
def test_documented_choice(c, cls):
    """The case exercises the choice: the kernel counts more than the oracle without it in exactly
    the named outputs and the same in all others. With test_kernel_matches_oracle (the kernel
    equals the oracle with it) this bounds an over-count from both sides."""
    kernel = kernel_outputs(*c.args())
    without = oracle(c, **CHOICES[cls][0])
    differ = {name: (kernel[name], without[name]) for name in COMPARED if kernel[name] != without[name]}
    assert set(differ) == set(c.shows[cls]), f"(kernel, oracle without {cls}): {differ}"
    assert all(k > w for k, w in differ.values()), f"(kernel, oracle without {cls}): {differ}"


def test_every_choice_has_a_reproducer():
    assert {cls for c in CASES for cls in c.shows} == set(CHOICES)


SETTINGS = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.filter_too_much])


def _draw_padding(draw, problem):
    """Half the time, padding of up to 2 rows and columns (and maybe input rows past the last
    window), the input at least one pixel."""
    if draw(st.booleans()):
        pad = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
        extra = (draw(st.integers(0, problem["stride_h"] - 1)), draw(st.integers(0, problem["stride_w"] - 1)))
        pad_input(problem, pad, extra)
        assume(problem["H"] >= 1 and problem["W"] >= 1)


@st.composite
def mappings(draw):
    """A random small mapping: <= 5 loops, bounds <= 6 and <= what the loops and unrolling cover
    (so imperfect factorisations come up often), strides 1 or 2, any cuts and kept operands.
    Loops of the spatially unrolled dims are drawn more often (a partial spatial tile with loops
    of its dim above and below the RF cuts is where the lock-step steps and the idle-PE re-fills
    show)."""
    rows = draw(st.dictionaries(st.sampled_from(naive.DIMS), st.integers(2, 3), max_size=1))
    cols = draw(st.dictionaries(st.sampled_from(naive.DIMS), st.integers(2, 3), max_size=1))
    loop_dims = naive.DIMS + 2 * tuple(rows) + 2 * tuple(cols)
    n = draw(st.integers(0, 5))
    loops = [(draw(st.sampled_from(loop_dims)), draw(st.integers(1, 4))) for _ in range(n)]
    problem = {}
    for d in naive.DIMS:
        cover = rows.get(d, 1) * cols.get(d, 1)
        for ld, trip in loops:
            cover *= trip if ld == d else 1
        problem[d] = draw(st.integers(1, min(6, cover)))
    problem["stride_h"] = draw(st.integers(1, 2))
    problem["stride_w"] = draw(st.integers(1, 2))
    _draw_padding(draw, problem)
    glb = [draw(st.integers(0, n)) for _ in OPS]
    rf = [draw(st.integers(g, n)) for g in glb]
    spatial_dims = {d for d in naive.DIMS if rows.get(d, 1) * cols.get(d, 1) > 1}
    # a spatially unrolled dim's loops lie above all RF cuts or below all of them
    assume(not any(d in spatial_dims and min(rf) <= i < max(rf) for i, (d, _) in enumerate(loops)))
    keep = draw(st.sampled_from([OPS, OPS, OPS, (), ("ifmap",), ("filter",), ("ofmap",),
                                 ("ifmap", "filter")]))
    cuts = {"glb": dict(zip(OPS, glb)), "rf": dict(zip(OPS, rf))}
    return problem, loops, {"rows": rows, "cols": cols}, cuts, keep


@st.composite
def spatial_reuse_mappings(draw):
    """A random mapping around one spatially unrolled dim d with two loops above the RF cuts
    (other loops before, between and after them, maybe a loop of d inside the RF tiles) and a
    bound that leaves d's last outer iteration partial more often than not: the shape in which
    the idle-PE re-fills and the lock-step steps show, rare among ``mappings``."""
    d = draw(st.sampled_from(naive.DIMS))
    def others(least, most):
        return draw(st.lists(st.tuples(st.sampled_from([x for x in naive.DIMS if x != d]),
                                       st.integers(1, 3)), min_size=least, max_size=most))

    before, between, after = others(0, 1), others(1, 2), others(0, 1)
    outer, inner = draw(st.integers(2, 3)), draw(st.integers(2, 3))
    loops = before + [(d, outer)] + between + [(d, inner)]
    first_rf = len(loops)
    loops += after
    rf_loop = draw(st.integers(1, 2))
    if rf_loop > 1:
        loops.append((d, rf_loop))
    n = len(loops)
    factor = draw(st.integers(2, 3))
    axis = draw(st.sampled_from(["rows", "cols"]))
    spatial = {"rows": {}, "cols": {}}
    spatial[axis][d] = factor
    other_axis = "cols" if axis == "rows" else "rows"
    spatial[other_axis] = draw(st.dictionaries(st.sampled_from([x for x in naive.DIMS if x != d]),
                                               st.integers(2, 3), max_size=1))
    problem = {}
    for dim in naive.DIMS:
        cover = 1
        for ld, trip in loops:
            cover *= trip if ld == dim else 1
        cover *= spatial["rows"].get(dim, 1) * spatial["cols"].get(dim, 1)
        problem[dim] = draw(st.integers(1, min(4, cover)))
    # d's value is outer index x tile + ...: the last outer iteration runs part of the tile
    tile = inner * factor * rf_loop
    problem[d] = (outer - 1) * tile + draw(st.integers(1, tile))
    problem["stride_h"] = draw(st.integers(1, 2))
    problem["stride_w"] = draw(st.integers(1, 2))
    _draw_padding(draw, problem)
    # d's loops lie above all RF cuts (its RF loop below all of them)
    limit = n - 1 if rf_loop > 1 else n
    rf = [draw(st.integers(first_rf, limit)) for _ in OPS]
    glb = [draw(st.integers(0, r)) for r in rf]
    # (and so do the other unrolled dim's)
    spatial_dims = set(spatial["rows"]) | set(spatial["cols"])
    assume(not any(ld in spatial_dims and min(rf) <= i < max(rf) for i, (ld, _) in enumerate(loops)))
    keep = draw(st.sampled_from([OPS, OPS, (), ("ifmap",), ("filter",), ("ofmap",)]))
    cuts = {"glb": dict(zip(OPS, glb)), "rf": dict(zip(OPS, rf))}
    return problem, loops, spatial, cuts, keep


@SETTINGS
@given(mapping=st.one_of(mappings(), spatial_reuse_mappings()))
def test_random_mapping_matches_oracle(mapping):
    """Every output of every generated mapping (the only restriction, in ``mappings``, is the
    oracle's own precondition on where a spatially unrolled dim's loops may lie)."""
    kernel = kernel_outputs(*mapping)
    expected = naive.simulate(*mapping)
    assert kernel["valid"] == ln.VALID
    differ = {name: (kernel[name], expected[name]) for name in COMPARED if kernel[name] != expected[name]}
    assert not differ, f"(kernel, oracle): {differ}"


@SETTINGS
@given(mapping=st.one_of(mappings(), spatial_reuse_mappings()))
def test_random_mapping_never_below_exact_counts(mapping):
    """The documented choices only add: no output is below the oracle's without any of them."""
    kernel = kernel_outputs(*mapping)
    exact = naive.simulate(*mapping, **NO_CHOICES)
    below = {name: (kernel[name], exact[name]) for name in COMPARED if kernel[name] < exact[name]}
    assert not below, f"(kernel, oracle without CHOICES): {below}"
