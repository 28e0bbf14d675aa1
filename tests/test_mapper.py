"""The mapper (accelsim/loopnest/mapper.py, accelsim/kernels/mapspace.py, accelsim/kernels/mapsearch.py).

* Optimality: an independent brute force written here enumerates the mapspace exactly as the
  mapper's docstring defines it (every factorisation, all 36 loop orders), evaluates every
  mapping through engine.run_kernel and prices it through accelsim/energy.py's
  add_energy_columns; search() must find the same optimum (and, ties going to the lower energy
  and then to the first mapping in enumeration order, the same mapping) and the same Pareto set.
  Small layers and arrays with small register files and buffers, so capacity pruning matters;
  also random small layers, arrays and dataflows (hypothesis).
* The search's lower bounds against the counting engine's energies (nest.py, which counts every
  mapping the search costs) on every mapping of small mapspaces, for several kept-operand sets.
* energy_per_mapping against the add_energy_columns path; determinism, time limit, progress,
  pinned factors, NLR, errors.

The energy table is integer-valued (Eyeriss's Table IV ratios, unscaled) so that every energy is
an exact integer in floating point and ties are exact in both computations.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accelsim import spec
from accelsim.energy import add_energy_columns
from accelsim.errors import AccelsimError
from accelsim.kernels import loopnest as ln
from accelsim.kernels import mapspace as ms
from accelsim.loopnest import engine, mapper
from accelsim.loopnest.mapping import Mapping
from accelsim.loopnest.nest_counts import nest_outputs
from accelsim.spec.dataflow import LoopNestDataflow
from accelsim.spec.energy import energy_table_from_dict
from accelsim.spec.hw import Hardware, SramBuffer
from accelsim.spec.workload import Layer

DIMS = ("N", "M", "C", "E", "F", "R", "S")
GROUPS = (("M",), ("N", "E", "F"), ("C", "R", "S"))     # irrelevant to ifmap, filter, ofmap
PERMS = tuple(itertools.permutations(range(3)))
OPS = ("ifmap", "filter", "ofmap")

INT_TABLE = energy_table_from_dict({
    "name": "int", "mac_pj": {"int16": 1},
    "rf": {"bits": 16, "ifmap": {"read_pj": 1, "write_pj": 1}, "filter": {"read_pj": 2, "write_pj": 3},
           "ofmap": {"read_pj": 1, "write_pj": 2}},
    "noc": {"bits": 16, "transfer_pj": 2},
    "sram": {"bits": 16, "points": [{"size_kib": 1, "read_pj": 6, "write_pj": 7}]},
    "dram": {"bits": 16, "read_pj": 200, "write_pj": 210},
}, "int.yaml")


def make_hw(rows, cols, rf=(4, 8, 4), glb=(256, 256, 256), interconnect="multicast", double_buffered=False):
    """An int16 array; ``glb`` in words per operand (the whole buffer)."""
    return Hardware(name=f"hw{rows}x{cols}", array_rows=rows, array_cols=cols, interconnect=interconnect,
                    precision="int16", clock_mhz=200.0, sram_ifmap=SramBuffer(2 * glb[0]),
                    sram_filter=SramBuffer(2 * glb[1]), sram_ofmap=SramBuffer(2 * glb[2]),
                    double_buffered=double_buffered, dram_bandwidth_bytes_per_cycle=8.0, rf_words=rf)


def conv(n, c, h, m, r, stride=1, pad=0, w=None, s=None):
    return Layer(name=f"conv_n{n}c{c}h{h}m{m}r{r}u{stride}", kind="conv", N=n, C=c, H=h, W=w or h, M=m,
                 R=r, S=s or r, stride_h=stride, stride_w=stride, pad_h=pad, pad_w=pad)


def loopnest(name, rows, cols, rf, keep=OPS, fixed=()):
    return LoopNestDataflow(name=name, spatial_rows=tuple(rows), spatial_cols=tuple(cols), rf_dims=tuple(rf),
                            fixed=tuple(fixed), keep=tuple(keep))


FREE = loopnest("free", ["C", "M"], ["E", "M"], ["S", "C"])
FREE_STRIDED = loopnest("free_strided", ["C", "R"], ["M", "F"], ["S", "M"])
RS = spec.load("dataflows", "rs")
NLR = spec.load("dataflows", "nlr")
WS = spec.load("dataflows", "ws_multicast")
OS = spec.load("dataflows", "os_multicast")

#: (layer, hw, dataflow): small mapspaces where the capacities bind.
CASES = [
    (conv(1, 4, 6, 4, 3), make_hw(2, 2, rf=(6, 12, 4), glb=(80, 48, 40)), FREE),
    (conv(1, 4, 5, 6, 2, stride=2, pad=1), make_hw(3, 4, rf=(4, 8, 2), glb=(64, 32, 24)), FREE_STRIDED),
    (conv(2, 3, 5, 4, 3, pad=1), make_hw(3, 4, rf=(6, 12, 8), glb=(120, 64, 64)), RS),
    (conv(1, 8, 4, 6, 1), make_hw(3, 4, rf=(1, 1, 1), glb=(40, 24, 32), double_buffered=True), NLR),
    (conv(1, 5, 5, 4, 2), make_hw(3, 4, rf=(1, 1, 1), glb=(64, 24, 48)), WS),
    (conv(1, 4, 7, 5, 2), make_hw(3, 4, rf=(1, 1, 1), glb=(80, 24, 32)), OS),
    (conv(1, 4, 4, 4, 2), make_hw(2, 3, rf=(4, 8, 4), glb=(48, 32, 32), interconnect="systolic"),
     loopnest("sys", ["C", "M"], ["E", "M"], ["S", "C"], keep=("filter", "ofmap"))),
]
CASE_IDS = [f"{layer.name}-{hw.name}-{df.name}-{hw.interconnect}" for layer, hw, df in CASES]


# ---------------------------------------------------------------------------------------------
# brute force over the documented mapspace


def divisors(n):
    return [k for k in range(1, n + 1) if n % k == 0]


def dim_options(dim, bound, df, rows, cols):
    """[(inner (rf, rows, cols), [(glb, dram), ...]), ...] in enumeration order (docstring)."""
    pins = {(d, level): f for d, level, f in df.fixed}

    def choose(level, allowed, free, rem):
        if (dim, level) in pins:
            return [rem if pins[dim, level] == 0 else min(pins[dim, level], rem)]
        return list(free) if allowed else [1]

    out = []
    for r in choose("rf", dim in df.rf_dims, divisors(bound), bound):
        rem1 = math.ceil(bound / r)
        for s in choose("rows", dim in df.spatial_rows, range(1, min(rows, rem1) + 1), rem1):
            rem2 = math.ceil(rem1 / s)
            for t in choose("cols", dim in df.spatial_cols, range(1, min(cols, rem2) + 1), rem2):
                q = math.ceil(rem2 / t)
                glb, dram = pins.get((dim, "glb")), pins.get((dim, "dram"))
                if glb is None and dram is None:
                    splits = [(g, q // g) for g in divisors(q)]
                elif dram is None or glb is not None:
                    g = q if glb == 0 else min(glb, q)
                    d = math.ceil(q / g)
                    splits = [(g, d)] if not dram or dram >= d else []
                else:
                    d = q if dram == 0 else min(dram, q)
                    splits = [(math.ceil(q / d), d)]
                if splits:
                    out.append(((r, s, t), splits))
    return out


def make_mapping(inner, splits, pd, pg):
    loops = []
    for level, perm in ((1, pd), (0, pg)):                   # DRAM (split[1]) then GLB (split[0])
        for group in PERMS[perm]:
            for dim in GROUPS[group]:
                trip = splits[DIMS.index(dim)][level]
                if trip > 1:
                    loops.append((dim, trip))
        if level == 1:
            glb_cut = len(loops)
    rf_cut = len(loops)
    loops += [(dim, inner[d][0]) for d, dim in enumerate(DIMS) if inner[d][0] > 1]
    return Mapping(loops=tuple(loops),
                   rows=tuple((dim, inner[d][1]) for d, dim in enumerate(DIMS) if inner[d][1] > 1),
                   cols=tuple((dim, inner[d][2]) for d, dim in enumerate(DIMS) if inner[d][2] > 1),
                   glb_cut=(glb_cut,) * 3, rf_cut=(rf_cut,) * 3)


def enumerate_mapspace(layer, hw, df):
    """Every mapping of the mapspace once, in enumeration order (first occurrence kept)."""
    problem = mapper.problem_array(layer)
    options = [dim_options(dim, int(problem[d]), df, hw.array_rows, hw.array_cols) for d, dim in enumerate(DIMS)]
    seen = {}
    for inner_opts in itertools.product(*options):
        inner = [o[0] for o in inner_opts]
        if math.prod(i[1] for i in inner) > hw.array_rows or math.prod(i[2] for i in inner) > hw.array_cols:
            continue
        for splits in itertools.product(*[o[1] for o in inner_opts]):
            for pd, pg in itertools.product(range(6), range(6)):
                seen.setdefault(make_mapping(inner, splits, pd, pg), None)
    return list(seen)


def add_energy_path(outputs, hw, table, keep_mask, systolic):
    """Energy per row through engine.action_counts + the SRAM/DRAM counts + add_energy_columns
    (each distinct row once)."""
    distinct, inverse = np.unique(outputs, axis=0, return_inverse=True)
    rows = []
    for out in distinct:
        cols = engine.layer_columns(out, 1, hw.array_rows, hw.array_cols, -1, hw.double_buffered,
                                    hw.word_bits, hw.dram_bandwidth_bytes_per_cycle)
        row = {k: cols[k] for k in ("macs", "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes",
                                    "sram_ofmap_reads", "dram_ifmap_reads", "dram_filter_reads",
                                    "dram_ofmap_writes", "dram_ofmap_reads")}
        row.update(engine.action_counts(out, 1, systolic, keep_mask))
        rows.append(row)
    return add_energy_columns(pd.DataFrame(rows), hw, table)["energy_pj"].to_numpy()[inverse.ravel()]


def fits_mapper_sizing(arrays, problem, hw_row):
    """The mapper's capacity rule (accelsim/kernels/mapspace.py, ``_footprint``): an ifmap tile is
    sized by its full window, at most the unpadded input, which the kernel's largest tile (border
    tiles leave out the padding) never exceeds; the mapspace holds the mappings that fit by it."""
    loops, n, spatial, cuts = arrays
    for cut, spread, first_cap in ((cuts[1, 0], False, ln.HWL_RF_IFMAP), (cuts[0, 0], True, ln.HWL_GLB_IFMAP)):
        ext = np.ones(7, dtype=np.int64)
        for d, trip in loops[cut:n]:
            ext[d] *= trip
        if spread:
            ext *= spatial[0] * spatial[1]
        ext = np.minimum(ext, problem[:7])
        for op in range(3):
            words = ms._footprint(op, ext, problem)
            if op == ln.OP_IFMAP and problem[ln.P_IFMAP_UNIQUE] >= 0:
                words = min(words, problem[ln.P_IFMAP_UNIQUE])
            if words > hw_row[first_cap + op]:
                return False
    return True


@functools.lru_cache(maxsize=None)
def brute_force(case_index):
    """(mappings, cycles, energy) of every valid mapping of CASES[case_index] (the kernel's check and
    the mapper's sizing, :func:`fits_mapper_sizing`), in order."""
    layer, hw, df = CASES[case_index]
    mappings = enumerate_mapspace(layer, hw, df)
    if not mappings:
        return [], np.zeros(0), np.zeros(0)
    problem, hw_row = mapper.problem_array(layer), mapper.hw_array(hw, df)
    arrays = [m.arrays() for m in mappings]
    outputs = engine.run_kernel(problem, np.stack([a[0] for a in arrays]), np.array([a[1] for a in arrays]),
                                np.stack([a[2] for a in arrays]), np.stack([a[3] for a in arrays]), hw_row)
    valid = (outputs[:, ln.X_VALID] == ln.VALID) & np.array([fits_mapper_sizing(a, problem, hw_row) for a in arrays])
    outputs = outputs[valid]
    mappings = [m for m, v in zip(mappings, valid) if v]
    if not mappings:
        return [], np.zeros(0), np.zeros(0)
    energies = add_energy_path(outputs, hw, INT_TABLE, int(hw_row[ln.HWL_KEEP_MASK]), hw.interconnect == "systolic")
    return mappings, outputs[:, ln.X_COMPUTE].astype(float), energies


def pareto_points(cycles, energies):
    points = set(zip(cycles.tolist(), energies.tolist()))
    return {p for p in points if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in points)}


def objective_values(objective, cycles, energies):
    return {"cycles": cycles, "energy": energies, "edp": cycles * energies}[objective]


# ---------------------------------------------------------------------------------------------
# optimality


def test_cases_are_small_but_constrained():
    for index in range(len(CASES)):
        valid, _, _ = brute_force(index)
        everything = enumerate_mapspace(*CASES[index])
        assert 50 <= len(valid) < 0.9 * len(everything) < 100_000, CASE_IDS[index]   # capacity binds


@pytest.mark.parametrize("objective", ["cycles", "energy", "edp"])
@pytest.mark.parametrize("index", range(len(CASES)), ids=CASE_IDS)
def test_search_finds_the_brute_force_optimum(index, objective):
    layer, hw, df = CASES[index]
    mappings, cycles, energies = brute_force(index)
    values = objective_values(objective, cycles, energies)
    first = int(np.lexsort((energies, values))[0])       # ties: lower energy, then first in order
    result = mapper.search(layer, hw, df, INT_TABLE, objective=objective)
    got_cycles = float(result.best_outputs[ln.X_COMPUTE])
    got = objective_values(objective, np.array([got_cycles]), np.array([result.best_energy_pj]))[0]
    assert got == values[first]
    assert result.best == mappings[first], (result.best.describe(), mappings[first].describe())
    assert result.complete and result.objective == objective


@pytest.mark.parametrize("index", range(len(CASES)), ids=CASE_IDS)
def test_pareto_set_equals_the_brute_force_pareto_set(index):
    layer, hw, df = CASES[index]
    mappings, cycles, energies = brute_force(index)
    result = mapper.search(layer, hw, df, INT_TABLE)
    got = [(float(out[ln.X_COMPUTE]), e) for _, out, e in result.pareto]
    assert set(got) == pareto_points(cycles, energies)
    assert got == sorted(got)
    position = {m: i for i, m in enumerate(mappings)}
    for mapping, out, e in result.pareto:                 # of equal points, the first in order
        twins = [i for i in range(len(mappings)) if (cycles[i], energies[i]) == (float(out[ln.X_COMPUTE]), e)]
        assert position[mapping] == min(twins)


def bandwidth_bound_cycles(outputs, hw, keep_mask, systolic, sram_bw, noc_bw, rf_bw):
    """Cycles of each brute-force mapping under array-side bandwidth limits, from the result-table
    columns (engine.layer_columns, engine.action_counts) and model.apply_bandwidth_limits's rule:
    max(compute, ceil(GLB accesses / sram_bw), ceil(transfers / noc_bw), ceil(RF accesses /
    (rf_bw x PEs)))."""
    cycles = []
    for out in outputs:
        cols = engine.layer_columns(out, 1, hw.array_rows, hw.array_cols, -1, hw.double_buffered,
                                    hw.word_bits, hw.dram_bandwidth_bytes_per_cycle)
        acts = engine.action_counts(out, 1, systolic, keep_mask)
        glb = sum(cols[k] for k in ("sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "sram_ofmap_reads"))
        noc = sum(acts[f"noc_{op}_transfers"] for op in OPS)
        rf = sum(acts[f"rf_{op}_{rw}"] for op in OPS for rw in ("reads", "writes"))
        cycles.append(max(int(out[ln.X_COMPUTE]), math.ceil(glb / sram_bw), math.ceil(noc / noc_bw),
                          math.ceil(rf / (rf_bw * hw.num_pes))))
    return np.array(cycles, dtype=float)


@pytest.mark.parametrize("objective", ["cycles", "edp"])
@pytest.mark.parametrize("index", range(len(CASES)), ids=CASE_IDS)
def test_search_respects_array_side_bandwidth_limits(index, objective):
    # limits set where they bind for part of the mapspace: the optimum and the Pareto set must be
    # those of the bandwidth-bound cycles, not of the compute cycles
    layer, hw, df = CASES[index]
    mappings, compute, energies = brute_force(index)
    problem, hw_row = mapper.problem_array(layer), mapper.hw_array(hw, df)
    arrays = [m.arrays() for m in mappings]
    outputs = engine.run_kernel(problem, np.stack([a[0] for a in arrays]), np.array([a[1] for a in arrays]),
                                np.stack([a[2] for a in arrays]), np.stack([a[3] for a in arrays]), hw_row)
    keep, systolic = int(hw_row[ln.HWL_KEEP_MASK]), hw.interconnect == "systolic"
    glb = outputs[:, [ln.X_GLB_IFMAP_R, ln.X_GLB_FILTER_R, ln.X_GLB_OFMAP_W, ln.X_GLB_OFMAP_R]].sum(axis=1)
    sram_bw = float(np.median(glb / compute))            # binds for about half of the mappings
    limited = dataclasses.replace(hw, sram_bandwidth_words_per_cycle=sram_bw, noc_bandwidth_words_per_cycle=64.0,
                                  rf_bandwidth_words_per_cycle=3.0)
    cycles = bandwidth_bound_cycles(outputs, hw, keep, systolic, sram_bw, 64.0, 3.0)
    assert (cycles > compute).any() and (cycles == compute).any()
    values = objective_values(objective, cycles, energies)
    first = int(np.lexsort((energies, values))[0])
    result = mapper.search(layer, limited, df, INT_TABLE, objective=objective)
    assert result.best == mappings[first], (result.best.describe(), mappings[first].describe())
    got = sorted((c, e) for c, e in zip(bandwidth_bound_cycles([out for _, out, _ in result.pareto], hw, keep,
                                                               systolic, sram_bw, 64.0, 3.0),
                                         [e for _, _, e in result.pareto]))
    assert set(got) == pareto_points(cycles, energies)


# ---------------------------------------------------------------------------------------------
# the search's lower bounds against the counting engine


@pytest.mark.parametrize("keep", [("ifmap", "filter", "ofmap"), (), ("filter",), ("ifmap", "ofmap")])
@pytest.mark.parametrize("index", [0, 1, 2], ids=CASE_IDS[:3])
def test_inner_choice_bounds_never_exceed_the_counted_energies(index, keep):
    """Every inner choice's energy bound (accelsim/kernels/mapspace.py, ``_node_bound`` of the whole
    choice, which the search skips choices by) is at most the energy of each of its fitting
    mappings as the counting engine counts them (nest.py on the shorthand's tree,
    loopnest/nest_counts.py), over every mapping of small mapspaces and several kept-operand sets."""
    layer, hw, df = CASES[index]
    df = LoopNestDataflow(name=df.name, spatial_rows=df.spatial_rows, spatial_cols=df.spatial_cols,
                          rf_dims=df.rf_dims, fixed=df.fixed, keep=keep)
    problem, hw_row = mapper.problem_array(layer), mapper.hw_array(hw, df)
    keep_mask = int(hw_row[ln.HWL_KEEP_MASK])
    opt, n_opt, split, n_split = mapper._options(problem, hw, df)
    w, _ = mapper._energy_weights(hw, INT_TABLE, keep_mask, False)
    choices, _, e_lb, _, _ = ms.inner_choices(problem, hw_row, opt, n_opt, split, n_split, w)
    bound = {tuple(tuple(int(x) for x in opt[d, c[d], :3]) for d in range(7)): e for c, e in zip(choices, e_lb)}
    least = {}
    for mapping in enumerate_mapspace(layer, hw, df):
        arrays = mapping.arrays()
        if not fits_mapper_sizing(arrays, problem, hw_row):
            continue
        loops, n, spatial, cuts = arrays
        rf = [math.prod(int(t) for d_, t in loops[cuts[1, 0]:n] if d_ == d) for d in range(7)]
        inner = tuple((rf[d], int(spatial[0, d]), int(spatial[1, d])) for d in range(7))
        out = nest_outputs(problem, loops, n, spatial, cuts, hw_row)
        e = float(mapper.energy_per_mapping(out, hw, INT_TABLE, keep_mask, False))
        least[inner] = min(least.get(inner, math.inf), e)
    assert len(least) > 5
    for inner, e in least.items():
        assert bound[inner] <= e, inner


# ---------------------------------------------------------------------------------------------
# energy


@functools.lru_cache(maxsize=None)
def sample_outputs(interconnect, keep_mask):
    """Kernel outputs of every 7th valid mapping of CASES[0]'s mapspace, roomy buffers."""
    layer, _, df = CASES[0]
    hw = make_hw(2, 2, glb=(4096, 300, 2000), interconnect=interconnect)
    mappings = enumerate_mapspace(layer, hw, df)[::7]
    arrays = [m.arrays() for m in mappings]
    hw_row = mapper.hw_array(hw, df)
    hw_row[ln.HWL_KEEP_MASK] = keep_mask
    outputs = engine.run_kernel(mapper.problem_array(layer), np.stack([a[0] for a in arrays]),
                                np.array([a[1] for a in arrays]), np.stack([a[2] for a in arrays]),
                                np.stack([a[3] for a in arrays]), hw_row)
    return hw, outputs[outputs[:, ln.X_VALID] == ln.VALID]


@pytest.mark.parametrize("table_name", ["eyeriss_isca2016", "horowitz_45nm", "accelergy_65nm", None])
@pytest.mark.parametrize("interconnect", ["multicast", "systolic"])
@pytest.mark.parametrize("keep_mask", [0, 2, 5, 7])
def test_energy_per_mapping_equals_the_add_energy_columns_path(table_name, interconnect, keep_mask):
    hw, outputs = sample_outputs(interconnect, keep_mask)
    assert len(outputs) > 1000
    table = INT_TABLE if table_name is None else spec.load("energy", table_name)
    systolic = interconnect == "systolic"
    got = mapper.energy_per_mapping(outputs, hw, table, keep_mask, systolic)
    expected = add_energy_path(outputs, hw, table, keep_mask, systolic)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert mapper.energy_per_mapping(outputs[0], hw, table, keep_mask, systolic) == got[0]


# ---------------------------------------------------------------------------------------------
# behaviour


RESNET = Layer(name="res2_3x3", kind="conv", N=1, C=64, H=56, W=56, M=64, R=3, S=3, pad_h=1, pad_w=1)
EYERISS = spec.load("hw", "eyeriss")
EYERISS_TABLE = spec.load("energy", "eyeriss_isca2016")


def summary(result):
    return (result.best, result.best_outputs.tolist(), result.best_energy_pj,
            [(m, o.tolist(), e) for m, o, e in result.pareto], result.evaluated, result.valid, result.costed,
            result.complete)


@pytest.mark.parametrize("dataflow", [RS, NLR], ids=["rs", "nlr"])
def test_search_is_deterministic(dataflow):
    first = mapper.search(RESNET, EYERISS, dataflow, EYERISS_TABLE)
    second = mapper.search(RESNET, EYERISS, dataflow, EYERISS_TABLE)
    assert summary(first) == summary(second)


def test_time_limit_returns_a_valid_incomplete_result():
    result = mapper.search(RESNET, EYERISS, OS, EYERISS_TABLE, time_limit_s=1e-9)
    assert not result.complete
    assert result.best_outputs[ln.X_VALID] == ln.VALID
    assert result.evaluated < result.mapspace_size
    full = mapper.search(RESNET, EYERISS, OS, EYERISS_TABLE)
    assert full.complete
    assert full.best_outputs[ln.X_COMPUTE] * full.best_energy_pj <= (
        result.best_outputs[ln.X_COMPUTE] * result.best_energy_pj)


def test_systolic_archive_grows_when_full(monkeypatch):
    index = CASE_IDS.index(next(i for i in CASE_IDS if i.endswith("systolic")))
    expected = mapper.search(*CASES[index], INT_TABLE)
    assert len(expected.pareto) > 1
    monkeypatch.setattr(mapper, "SYSTOLIC_ARCHIVE", 1)
    assert summary(mapper.search(*CASES[index], INT_TABLE)) == summary(expected)


def test_progress_is_called_per_chunk_up_to_the_total():
    calls = []
    result = mapper.search(RESNET, EYERISS, OS, EYERISS_TABLE, progress=lambda done, total: calls.append((done, total)))
    assert len(calls) > 1
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert {total for _, total in calls} == {result.inner_choices}
    assert calls[-1][0] == result.inner_choices


def test_row_stationary_pins_r_on_the_rows_and_s_in_the_register_file():
    result = mapper.search(RESNET, EYERISS, RS, EYERISS_TABLE)
    for mapping in [result.best] + [m for m, _, _ in result.pareto]:
        assert ("R", 3) in mapping.rows
        assert all(dim != "R" for dim, _ in mapping.loops + mapping.cols)
        rf = mapping.loops[mapping.rf_cut[0]:]
        assert ("S", 3) in rf
        assert all(dim != "S" for dim, _ in mapping.loops[:mapping.rf_cut[0]] + mapping.rows + mapping.cols)
        assert {dim for dim, _ in rf} <= set(RS.rf_dims)
        assert {dim for dim, _ in mapping.rows} <= set(RS.spatial_rows)
        assert {dim for dim, _ in mapping.cols} <= set(RS.spatial_cols)
    # (padding is not read: this mapping's DRAM ifmap reads are 430,592 words, 168.63 uJ; the one
    # before, DRAM[M2 E4 C8] GLB[F56], reads 444,416, 169.22 uJ)
    assert result.best.describe() == "DRAM[M2 E2 F2 C8] GLB[E2 F28] rows[M2 C2 R3] cols[E14] RF[M16 C4 S3]"


def test_no_local_reuse_keeps_nothing_in_the_pes():
    assert mapper.hw_array(EYERISS, NLR)[ln.HWL_KEEP_MASK] == 0
    assert mapper.hw_array(EYERISS, RS)[ln.HWL_KEEP_MASK] == 7
    result = mapper.search(RESNET, EYERISS, NLR, EYERISS_TABLE)
    assert result.best.loops[result.best.rf_cut[0]:] == ()
    counts = engine.action_counts(result.best_outputs, 1, False, 0)
    assert all(counts[f"rf_{op}_{kind}"] == 0 for op in OPS for kind in ("reads", "writes"))
    # every MAC takes its operands from the global buffer, less what the array multicasts; an input
    # in the padding is a generated zero, not a word: per channel pair the 56 x 56 windows of 3 x 3
    # taps read 166 x 166 real row x column pairs (168 less the two border rows' padded taps)
    out = dict(zip(ln.OUTPUTS, result.best_outputs.tolist()))
    assert out["rf_filter_fills"] == out["rf_ofmap_drains"] == out["macs"] == 64 * 64 * 168 ** 2
    assert out["rf_ifmap_fills"] == 64 * 64 * 166 ** 2


def test_problem_and_hw_arrays():
    layer = Layer(name="g", kind="conv", N=2, C=8, H=9, W=7, M=6, R=3, S=2, stride_h=2, stride_w=1, groups=2)
    assert mapper.problem_array(layer).tolist() == [2, 3, 4, 4, 6, 3, 2, 2, 1, -1, 9, 7, 0, 0, 1, 1, 0]
    hw = make_hw(3, 4, rf=(5, 6, 7), glb=(100, 50, 30), double_buffered=True)
    row = mapper.hw_array(hw, RS)
    assert row.tolist() == [3, 4, 50, 25, 15, 5, 6, 7, 0, ln.TIMING_PHYSICAL, -1, 1, 16, 7]
    assert mapper.hw_array(make_hw(3, 4, interconnect="systolic"), WS)[ln.HWL_SYSTOLIC] == 1
    assert mapper.hw_array(hw, WS)[ln.HWL_KEEP_MASK] == 2


def test_errors_name_the_binding_capacity():
    layer = conv(1, 4, 6, 4, 3)
    with pytest.raises(AccelsimError, match=r"layer conv_\S+ on hw hw2x2 with dataflow free: .*pe\.rf_words\.ifmap"):
        mapper.search(layer, make_hw(2, 2, rf=(0, 12, 4)), FREE, INT_TABLE)
    with pytest.raises(AccelsimError, match=r"hw3x1 with dataflow rs: .*global-buffer tile of the filter is 9 words but sram\.filter holds 8"):
        mapper.search(layer, make_hw(3, 1, rf=(8, 8, 8), glb=(400, 8, 400)), RS, INT_TABLE)
    with pytest.raises(AccelsimError, match=r"dataflow rs: .*need 3 PE rows but the array has 2 \(array\.rows\)"):
        mapper.search(layer, make_hw(2, 2), RS, INT_TABLE)
    with pytest.raises(AccelsimError, match="loop-nest dataflow"):
        mapper.search(layer, make_hw(2, 2), spec.load("dataflows", "ws"), INT_TABLE)
    with pytest.raises(AccelsimError, match="objective must be one of"):
        mapper.search(layer, make_hw(2, 2), FREE, INT_TABLE, objective="latency")


def test_imperfect_spatial_factors_fill_the_array():
    layer = conv(1, 13, 4, 13, 1)
    result = mapper.search(layer, make_hw(4, 5, rf=(1, 1, 1), glb=(4096, 4096, 4096)), NLR, INT_TABLE,
                           objective="cycles")
    assert result.best.rows == (("C", 4),) and result.best.cols == (("M", 5),)
    assert result.best_outputs[ln.X_COMPUTE] == 16 * 4 * 3     # E*F * ceil(13/4) * ceil(13/5)


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_small_mapspaces_match_the_brute_force(data):
    draw = data.draw
    r, s = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    stride, pad = draw(st.integers(1, 2)), draw(st.integers(0, min(r, s) - 1))
    h = draw(st.integers(max(1, r - 2 * pad), max(1, r - 2 * pad) + stride))
    w = draw(st.integers(max(1, s - 2 * pad), max(1, s - 2 * pad) + stride))
    layer = Layer(name="rand", kind="conv", N=draw(st.integers(1, 2)), C=draw(st.integers(1, 4)), H=h, W=w,
                  M=draw(st.integers(1, 4)), R=r, S=s, stride_h=stride, stride_w=stride, pad_h=pad, pad_w=pad)
    dims = st.lists(st.sampled_from(DIMS), max_size=2, unique=True)
    places = {"rows": draw(dims), "cols": draw(dims), "rf": draw(dims)}
    pins = draw(st.lists(st.tuples(st.sampled_from(DIMS), st.sampled_from(["rf", "rows", "cols", "glb", "dram"]),
                                   st.integers(0, 3)), max_size=2, unique_by=lambda p: p[:2]))
    for dim, level, _ in pins:
        if level in places and dim not in places[level]:
            places[level].append(dim)
    df = loopnest("rand", places["rows"], places["cols"], places["rf"],
                  keep=tuple(draw(st.lists(st.sampled_from(OPS), unique=True))), fixed=pins)
    hw = make_hw(draw(st.integers(1, 3)), draw(st.integers(1, 3)),
                 rf=tuple(draw(st.integers(1, 8)) for _ in OPS), glb=tuple(draw(st.integers(2, 64)) for _ in OPS),
                 interconnect=draw(st.sampled_from(["multicast", "multicast", "systolic"])),
                 double_buffered=draw(st.booleans()))
    problem = mapper.problem_array(layer)
    opt, n_opt, split, n_split = mapper._options(problem, hw, df)
    w_energy, _ = mapper._energy_weights(hw, INT_TABLE, 7, False)
    assume(ms.inner_choices(problem, mapper.hw_array(hw, df), opt, n_opt, split, n_split, w_energy)[3] < 150_000)

    CASES.append((layer, hw, df))
    try:
        mappings, cycles, energies = brute_force.__wrapped__(len(CASES) - 1)
    finally:
        CASES.pop()
    if not mappings:
        with pytest.raises(AccelsimError, match="no valid mapping"):
            mapper.search(layer, hw, df, INT_TABLE)
        return
    for objective in ("cycles", "energy", "edp"):
        result = mapper.search(layer, hw, df, INT_TABLE, objective=objective)
        values = objective_values(objective, cycles, energies)
        assert result.best == mappings[int(np.lexsort((energies, values))[0])], objective
    assert {(float(o[ln.X_COMPUTE]), e) for _, o, e in result.pareto} == pareto_points(cycles, energies)
