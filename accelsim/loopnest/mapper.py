"""Mapper: the best loop-nest mapping of one layer on one array under a loop-nest dataflow.

Mapspace (per group; accelsim/kernels/loopnest.py describes what a mapping is). For each dimension
d of bound B, a factorisation over the levels, innermost first:

* ``rf``: a divisor r of B if d is in ``dataflow.rf_dims``, else 1;
* ``rows``: if d is in ``dataflow.spatial_rows``, any s from 1 to min(array rows, B / r), else 1;
  the next level takes ceil(B / (r s)) (an imperfect factor leaves idle PEs in the last tile, so
  prime-ish bounds such as 55 or 13 can still fill the array);
* ``cols``: likewise over the array columns, on what the rows left;
* ``glb`` and ``dram``: a divisor g of what is left (q) and q / g.

A pinned factor (``dataflow.fixed``: at most what is left at that level, 0 = all of it) replaces
the level's choices; a pinned GLB (DRAM) factor leaves ceil(q / factor) to DRAM (GLB), and if both
are pinned and their product falls short of q the dimension has no factorisation. The product of
the row (column) factors over all dimensions is at most the array's rows (columns).

Loop order: DRAM loops, then GLB loops, then RF loops. Within DRAM and within GLB, one of the six
orders of the three operand-relevance groups ({M}: irrelevant to the ifmap, {N, E, F}: to the
filter, {C, R, S}: to the ofmap), dimensions inside a group in ``DIMS`` order; RF loops in
``DIMS`` order. Only loops with trip > 1 are written. Cuts: every operand's GLB tile starts after
the DRAM loops and its RF tile after the GLB loops.

The mapspace size is (factorisations within the array) x 36 orders. A mapping is valid when its
RF and GLB tiles fit (pe.rf_words; sram, halved when double-buffered). An ifmap tile is sized by
its full window, at most the unpadded input (accelsim/kernels/mapspace.py, ``_footprint``): the
kernel's largest tile whenever some tile lies inside the input, otherwise more than it (border
tiles leave out the padding), so every mapping the mapper admits fits by the kernel's check too.

Search: the costs of a mapping as the counting engine gives them (nest.py on the shorthand's
tree, accelsim/loopnest/nest_counts.py; cycles = ``compute_cycles``; energy = action counts x the
energy table, as accelsim/energy.py; EDP = their product), minimised exactly by branch and bound
in accelsim/kernels/mapsearch.py over accelsim/kernels/mapspace.py (its docstring gives why only
nine of the 36 orders can differ, and the closed-form lower bounds). Nothing is sampled: every
mapping is either counted and costed, or ruled out by a capacity check or by a bound that proves
it cannot be the best or on the Pareto front; the search checks every bound against the counts of
every mapping it costs. Capacity
is checked before any cost: register files per inner choice (rf and spatial factors), the global
buffer dimension by dimension while the GLB factors are chosen. Ties go to the lower
energy (so the fastest mapping is the cheapest of the fastest), then to the mapping that comes
first in enumeration order (inner factors, then GLB factors, dimension by dimension in
``DIMS`` order and ascending; then the DRAM, then the GLB permutation), so the result is
deterministic. ``time_limit_s`` bounds the search: inner choices are explored in chunks, best
lower bound first, and the search stops after the chunk that crosses the limit (``complete`` is
then False; the best found so far is returned).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..energy import OPERANDS, sram_access_pj
from ..errors import AccelsimError
from ..kernels import loopnest as ln
from ..kernels import mapspace as ms
from ..kernels import mapsearch
from ..spec import EnergyTable, Hardware, Layer
from .mapping import Mapping
from .nest_counts import nest_outputs

OBJECTIVES = {"cycles": ms.OBJ_CYCLES, "energy": ms.OBJ_ENERGY, "edp": ms.OBJ_EDP}
#: Leaves (inner choice x GLB factors) per search chunk, between time checks and progress calls.
CHUNK_LEAVES = 20_000
#: Initial Pareto archive size of an exhaustive search (systolic arrays, bandwidth limits; grown when
#: full); a multicast search without bandwidth limits needs one point per inner choice at most.
SYSTOLIC_ARCHIVE = 1024


@dataclass(frozen=True)
class MapperResult:
    """The outcome of :func:`search`, per group of the layer.

    ``pareto``: ((mapping, outputs row, energy_pj), ...), the mappings no other beats in both
    cycles (compute cycles, or the array-side bandwidth bound when larger) and energy (of equal points, the first in enumeration order), by ascending
    cycles. Counts are in mappings of the mapspace (``mapspace_size``: factorisations within the
    array x 36 loop orders): ``evaluated`` were settled by a capacity check or costed (the rest
    were ruled out by the bounds, or not reached before the time limit); ``valid`` fit and were
    costed, one loop-order class at a time: ``costed`` cost evaluations. ``inner_choices``: inner
    factorisations (RF and spatial) that fit the register files; ``skipped_choices``: those the
    bounds ruled out unexplored."""

    best: Mapping
    best_outputs: np.ndarray
    best_energy_pj: float
    pareto: tuple
    objective: str
    evaluated: int
    valid: int
    seconds: float
    complete: bool
    mapspace_size: int = 0
    costed: int = 0
    inner_choices: int = 0
    skipped_choices: int = 0


def problem_array(layer: Layer, dilated_windows: bool = False) -> np.ndarray:
    """The kernel's problem row for one group, conv view: N, M/G, C/G, E, F, R, S, the strides,
    P_IFMAP_UNIQUE = -1 (windows explicit, no GEMM cap) and the unpadded input H x W; a dilated conv
    in the GEMM (im2col) view instead, or, with ``dilated_windows`` (the N-level engine, which
    counts dilated windows position by position), in the conv view with its dilation."""
    g = layer.groups
    problem = np.zeros(ln.PROBLEM_COLS, dtype=np.int64)
    problem[ln.P_DIL_H], problem[ln.P_DIL_W] = layer.dilation_h, layer.dilation_w
    if (layer.dilation_h > 1 or layer.dilation_w > 1) and not dilated_windows:
        # dilated windows are not contiguous: map the im2col (GEMM) view, P = N*E*F, K = (C/G)*R*S,
        # its ifmap capped at the unique unpadded input words (the kernel's P_IFMAP_UNIQUE convention)
        p, k = layer.N * layer.E * layer.F, (layer.C // g) * layer.R * layer.S
        problem[:7] = (p, layer.M // g, k, 1, 1, 1, 1)
        problem[ln.P_STRIDE_H] = problem[ln.P_STRIDE_W] = 1
        problem[ln.P_IFMAP_UNIQUE] = min(layer.N * (layer.C // g) * layer.H * layer.W, p * k)
        problem[ln.P_IN_H] = problem[ln.P_IN_W] = 1
        return problem
    problem[:7] = (layer.N, layer.M // g, layer.C // g, layer.E, layer.F, layer.R, layer.S)
    problem[ln.P_STRIDE_H], problem[ln.P_STRIDE_W] = layer.stride_h, layer.stride_w
    problem[ln.P_IFMAP_UNIQUE] = -1
    problem[ln.P_IN_H], problem[ln.P_IN_W] = layer.H, layer.W
    problem[ln.P_PAD_H], problem[ln.P_PAD_W] = layer.pad_h, layer.pad_w
    return problem


def glb_words(hw: Hardware) -> tuple[int, int, int]:
    """Words of each operand's global buffer a tile may use: half of it when double-buffered."""
    halves = 2 if hw.double_buffered else 1
    return tuple(hw.buffer_words(b) // halves for b in (hw.sram_ifmap, hw.sram_filter, hw.sram_ofmap))


def hw_array(hw: Hardware, dataflow) -> np.ndarray:
    """The kernel's HWL_* row for ``hw`` under a loop-nest ``dataflow``."""
    keep = sum(1 << OPERANDS.index(op) for op in dataflow.keep)
    row = np.zeros(ln.HWL_COLS_N, dtype=np.int64)
    row[ln.HWL_ROWS], row[ln.HWL_COLS] = hw.array_rows, hw.array_cols
    row[ln.HWL_GLB_IFMAP:ln.HWL_GLB_OFMAP + 1] = glb_words(hw)
    row[ln.HWL_RF_IFMAP:ln.HWL_RF_OFMAP + 1] = hw.rf_words
    row[ln.HWL_SYSTOLIC] = int(hw.interconnect == "systolic")
    row[ln.HWL_TIMING] = ln.TIMING_SCALESIM if hw.timing == "scalesim" else ln.TIMING_PHYSICAL
    row[ln.HWL_STATIONARY] = -1
    row[ln.HWL_DOUBLE_BUFFERED] = int(hw.double_buffered)
    row[ln.HWL_WORD_BITS] = hw.word_bits
    row[ln.HWL_KEEP_MASK] = keep
    return row


def _energy_weights(hw: Hardware, table: EnergyTable, keep_mask: int, systolic: bool):
    """(w, noc_systolic): energy = sum_k w[k] * outputs[k] + sum_op noc_systolic[op] *
    max(0, macs - edge accesses of op), the per-group energy of accelsim/energy.py's
    add_energy_columns over engine.action_counts and the SRAM/DRAM counts (SRAM = GLB)."""
    if hw.precision not in table.mac_pj:
        raise AccelsimError(
            f"{table.file}: mac_pj.{hw.precision}: no MAC energy for {hw.precision} (needed by "
            f"{hw.file or hw.name}); add it to the table or choose another energy table")
    bits = hw.word_bits
    w = np.zeros(len(ln.OUTPUTS))
    noc = np.zeros(3)
    w[ln.X_MACS] += table.mac_pj[hw.precision]
    edge = (ln.X_GLB_IFMAP_R, ln.X_GLB_FILTER_R, ln.X_GLB_OFMAP_W)
    rf_scale, noc_pj = bits / table.rf_bits, table.noc_transfer_pj * bits / table.noc_bits
    for k, op in enumerate(OPERANDS):
        delivered = ln.X_RF_IFMAP + k
        if (keep_mask >> k) & 1:
            w[ln.X_MACS] += table.rf[op].read_pj * rf_scale
            written = ln.X_MACS if op == "ofmap" else (edge[k] if systolic else delivered)
            w[written] += table.rf[op].write_pj * rf_scale
        if systolic:
            noc[k] = 0.0 if (keep_mask >> k) & 1 else noc_pj
        else:
            w[delivered] += noc_pj
    sram_scale, dram_scale = bits / table.sram_bits, bits / table.dram_bits
    for buffer, reads, writes in (
            (hw.sram_ifmap, (ln.X_GLB_IFMAP_R,), (ln.X_DRAM_IFMAP_R,)),
            (hw.sram_filter, (ln.X_GLB_FILTER_R,), (ln.X_DRAM_FILTER_R,)),
            (hw.sram_ofmap, (ln.X_GLB_OFMAP_R, ln.X_DRAM_OFMAP_W), (ln.X_GLB_OFMAP_W, ln.X_DRAM_OFMAP_R))):
        read_pj, write_pj = sram_access_pj(table, buffer.size_bytes / 1024)
        for col in reads:
            w[col] += read_pj * sram_scale
        for col in writes:
            w[col] += write_pj * sram_scale
    for col in (ln.X_DRAM_IFMAP_R, ln.X_DRAM_FILTER_R, ln.X_DRAM_OFMAP_R):
        w[col] += table.dram.read_pj * dram_scale
    w[ln.X_DRAM_OFMAP_W] += table.dram.write_pj * dram_scale
    if (w < 0).any() or (noc < 0).any():
        raise AccelsimError(f"{table.file or table.name}: negative energies per action; every energy "
                            f"(noc.transfer_pj, sram.points, dram) must be >= 0")
    return w, noc


def energy_per_mapping(outputs: np.ndarray, hw: Hardware, table: EnergyTable, keep_mask: int,
                       systolic: bool) -> np.ndarray:
    """Energy in pJ of kernel OUTPUTS rows (one group each; leading axes kept): accelsim/energy.py's
    levels (MAC, RF, PE-to-PE, SRAM, DRAM) over engine.action_counts and the GLB/DRAM counts, as
    one weighted sum of the counts (the same arithmetic as the mapper's kernel)."""
    w, noc = _energy_weights(hw, table, keep_mask, systolic)
    outputs = np.asarray(outputs, dtype=np.int64)
    e = np.zeros(outputs.shape[:-1])
    for k in range(len(ln.OUTPUTS)):
        if w[k] != 0.0:
            e = e + w[k] * outputs[..., k]
    edge = (ln.X_GLB_IFMAP_R, ln.X_GLB_FILTER_R, ln.X_GLB_OFMAP_W)
    for op in range(3):
        if noc[op] != 0.0:
            e = e + noc[op] * np.maximum(0, outputs[..., ln.X_MACS] - outputs[..., edge[op]])
    return e


def _divisors(n: int) -> list[int]:
    small = [k for k in range(1, math.isqrt(n) + 1) if n % k == 0]
    return small + [n // k for k in reversed(small) if k * k != n]


def _splits(q: int, glb_pin, dram_pin) -> list[tuple[int, int]]:
    """(glb, dram) trips sharing q, ascending glb."""
    if glb_pin is None and dram_pin is None:
        return [(g, q // g) for g in _divisors(q)]
    if glb_pin is not None:
        g = q if glb_pin == 0 else min(glb_pin, q)
        dram = -(-q // g)
        if dram_pin and dram_pin < dram:
            return []
    else:
        dram = q if dram_pin == 0 else min(dram_pin, q)
        g = -(-q // dram)
    return [(g, dram)]


def _options(problem: np.ndarray, hw: Hardware, dataflow):
    """The mapspace per dimension as kernel arrays: opt [7, K, 4] (rf, rows, cols, q), n_opt [7],
    split [7, K, J, 2] (glb, dram), n_split [7, K]."""
    pins = {(dim, level): factor for dim, level, factor in dataflow.fixed}
    per_dim = []
    for d, dim in enumerate(ln.DIMS):
        bound = int(problem[d])

        def choices(level, allowed, free, rem):
            pin = pins.get((dim, level))
            if pin is not None:
                return [rem if pin == 0 else min(pin, rem)]
            return free if allowed else [1]

        options = []
        for r in choices("rf", dim in dataflow.rf_dims, _divisors(bound), bound):
            rem1 = -(-bound // r)
            for s in choices("rows", dim in dataflow.spatial_rows, range(1, min(hw.array_rows, rem1) + 1), rem1):
                rem2 = -(-rem1 // s)
                for t in choices("cols", dim in dataflow.spatial_cols, range(1, min(hw.array_cols, rem2) + 1), rem2):
                    q = -(-rem2 // t)
                    splits = _splits(q, pins.get((dim, "glb")), pins.get((dim, "dram")))
                    if splits:
                        options.append(((r, s, t, q), splits))
        per_dim.append(options)
    k_max = max(1, max(len(o) for o in per_dim))
    j_max = max(1, max((len(sp) for o in per_dim for _, sp in o), default=1))
    opt = np.ones((7, k_max, 4), dtype=np.int64)
    split = np.ones((7, k_max, j_max, 2), dtype=np.int64)
    n_split = np.zeros((7, k_max), dtype=np.int64)
    for d, options in enumerate(per_dim):
        for k, (inner, splits) in enumerate(options):
            opt[d, k] = inner
            split[d, k, :len(splits)] = splits
            n_split[d, k] = len(splits)
    n_opt = np.array([len(o) for o in per_dim], dtype=np.int64)
    return opt, n_opt, split, n_split


def _point(problem, hw_row, hw, table, choice, sel, pd, pg, opt, split):
    """(mapping, kernel outputs, energy_pj) of one mapping of the mapspace, counted afresh by the
    N-level engine on the shorthand's tree (accelsim/loopnest/nest_counts.py; the two-level
    kernel where that does not count the mapping yet)."""
    loops = np.zeros((ms.MAX_MAPPING_LOOPS, 2), dtype=np.int64)
    spatial = np.ones((2, 7), dtype=np.int64)
    cuts = np.zeros((2, 3), dtype=np.int64)
    n = ms.build(choice, sel, pd, pg, opt, split, loops, spatial, cuts)
    out = nest_outputs(problem, loops, n, spatial, cuts, hw_row)
    keep_mask, systolic = int(hw_row[ln.HWL_KEEP_MASK]), bool(hw_row[ln.HWL_SYSTOLIC])
    return (Mapping.from_arrays(loops, n, spatial, cuts), out,
            float(energy_per_mapping(out, hw, table, keep_mask, systolic)))


def _no_mapping(layer: Layer, hw: Hardware, dataflow, opt, n_opt, diag, stage: str) -> AccelsimError:
    """The user error for an empty mapspace, naming the capacity that binds."""
    where = f"layer {layer.name} on hw {hw.name} with dataflow {dataflow.name}: no valid mapping; "
    if stage == "array":
        for axis, col, size in (("rows", 1, hw.array_rows), ("cols", 2, hw.array_cols)):
            least = int(np.prod([opt[d, :n_opt[d], col].min() for d in range(7) if n_opt[d]]))
            if least > size:
                pinned = [f"{dim}: {level}: {f or 'all'}" for dim, level, f in dataflow.fixed if level == axis]
                return AccelsimError(
                    where + f"the pinned factors on the array {axis} ({', '.join(pinned)}) need {least} "
                    f"PE {axis} but the array has {size} (array.{axis}); use a larger array or relax "
                    f"the dataflow's fixed factors")
        return AccelsimError(where + "no factorisation fits the array")
    if stage == "rf":
        caps, least, key = hw.rf_words, diag[0:3], "pe.rf_words"
        what = "register-file (per-PE) tile"
    else:
        caps, least, key = glb_words(hw), diag[3:6], "sram"
        what = "global-buffer tile" + (" (half the buffer: double-buffered)" if hw.double_buffered else "")
    for op, cap, need in zip(OPERANDS, caps, least):
        if need > cap:
            return AccelsimError(
                where + f"the smallest {what} of the {op} is {int(need)} words but {key}.{op} holds "
                f"{cap}; give the {op} more {'register-file words' if stage == 'rf' else 'buffer'} "
                f"or use a dataflow that tiles it more finely")
    sizes = ", ".join(f"{op} {int(n)}/{c}" for op, n, c in zip(OPERANDS, least, caps))
    return AccelsimError(where + f"no {what} fits all three operands at once (smallest tiles in "
                                 f"words / {key} capacity: {sizes})")


def search(layer: Layer, hw: Hardware, dataflow, energy_table: EnergyTable, objective: str = "edp",
           time_limit_s: float | None = None, progress=None) -> MapperResult:
    """The best mapping of ``layer`` (per group) on ``hw`` under the loop-nest ``dataflow`` for
    ``objective`` ('cycles', 'energy' or 'edp'), and the cycles/energy Pareto set (see the module
    docstring). ``progress(done, total)`` is called after each chunk with inner choices done."""
    start = time.perf_counter()
    if getattr(dataflow, "engine", None) != "loopnest":
        raise AccelsimError(f"dataflow {dataflow.name}: the mapper needs a loop-nest dataflow "
                            f"(engine: loopnest); {dataflow.name} is a fixed systolic dataflow")
    if objective not in OBJECTIVES:
        raise AccelsimError(f"objective must be one of {', '.join(OBJECTIVES)} (got {objective!r})")
    problem, hw_row = problem_array(layer), hw_array(hw, dataflow)
    systolic = bool(hw_row[ln.HWL_SYSTOLIC])
    bandwidths = bandwidth_array(hw)
    exhaustive = systolic or bool(np.isfinite(bandwidths).any())
    w, noc = _energy_weights(hw, energy_table, int(hw_row[ln.HWL_KEEP_MASK]), systolic)
    opt, n_opt, split, n_split = _options(problem, hw, dataflow)
    choices, cyc_lb, e_lb, size, diag = ms.inner_choices(problem, hw_row, opt, n_opt, split, n_split, w)
    if len(choices) == 0:
        raise _no_mapping(layer, hw, dataflow, opt, n_opt, diag, "array" if diag[6] == 0 else "rf")
    # inner choices, best lower bound first, in chunks of about CHUNK_LEAVES leaves
    order = np.argsort({"cycles": cyc_lb, "energy": e_lb, "edp": cyc_lb * e_lb}[objective], kind="stable")
    leaves = np.prod(n_split[np.arange(7)[None, :], choices], axis=1)[order]
    targets = np.arange(CHUNK_LEAVES, leaves.sum() + CHUNK_LEAVES, CHUNK_LEAVES)
    ends = np.unique(np.append(np.minimum(np.searchsorted(np.cumsum(leaves), targets) + 1, len(order)),
                               len(order)))
    best_obj, best_key, best_sel = np.zeros(2), np.full(4, -1, dtype=np.int64), np.zeros(7, dtype=np.int64)
    capacity = len(choices) + 1 if not exhaustive else SYSTOLIC_ARCHIVE
    archive = [np.zeros(capacity), np.zeros(capacity), np.zeros((capacity, 4), dtype=np.int64),
               np.zeros((capacity, 7), dtype=np.int64)]
    ar_n, counters = np.zeros(1, dtype=np.int64), np.zeros(ms.N_COUNTERS, dtype=np.int64)
    done, complete = 0, True
    for end in ends:
        while done < end:
            if exhaustive:
                done += mapsearch.explore_exhaustive(order[done:end], choices, cyc_lb, e_lb, problem, hw_row, opt, split,
                                                     n_split, w, noc, bandwidths, OBJECTIVES[objective], best_obj,
                                                     best_key, best_sel, *archive, ar_n, counters)
            else:
                done += mapsearch.explore(order[done:end], choices, cyc_lb, e_lb, problem, hw_row, opt, split, n_split,
                                          w, noc, OBJECTIVES[objective], best_obj, best_key, best_sel, *archive, ar_n,
                                          counters)
            if done < end:                                    # the archive is full: grow it
                archive = [np.concatenate([a, np.zeros_like(a)]) for a in archive]
        if progress is not None:
            progress(int(done), len(order))
        if (time_limit_s is not None and best_key[0] >= 0 and done < len(order)
                and time.perf_counter() - start > time_limit_s):
            complete = False
            break
    if counters[ms.CNT_BOUND_BROKEN]:
        raise RuntimeError(f"internal error: {int(counters[ms.CNT_BOUND_BROKEN])} mappings of layer {layer.name} "
                           f"cost less than the mapper's lower bounds (accelsim/kernels/mapspace.py) allow; the "
                           f"search would not be exact")
    if best_key[0] < 0:
        raise _no_mapping(layer, hw, dataflow, opt, n_opt, diag, "glb")

    def point(key, sel):
        return _point(problem, hw_row, hw, energy_table, choices[key[0]], sel, key[2], key[3], opt, split)

    best = point(best_key, best_sel)
    ar_c, ar_e, ar_key, ar_sel = archive
    front = sorted(range(int(ar_n[0])), key=lambda a: (ar_c[a], ar_e[a], tuple(ar_key[a])))
    pareto = tuple(point(ar_key[a], ar_sel[a]) for a in front)
    for mapping, out, _ in (best, *pareto):
        if out[ln.X_VALID] != ln.VALID:
            raise RuntimeError(f"internal error: the mapper's capacity rule admitted {mapping.describe()}, which "
                               f"the counting engine finds invalid ({ln.OUTPUTS[0]} = {int(out[ln.X_VALID])})")
    orders = ms.N_PERMS * ms.N_PERMS
    unsettled = int(counters[ms.CNT_PRUNED_LEAVES]) + int(leaves[done:].sum())
    return MapperResult(
        best=best[0], best_outputs=best[1], best_energy_pj=best[2], pareto=pareto, objective=objective,
        evaluated=int(size) - orders * unsettled, valid=orders * int(counters[ms.CNT_LEAVES]),
        seconds=time.perf_counter() - start, complete=complete, mapspace_size=int(size),
        costed=int(counters[ms.CNT_COSTED]), inner_choices=len(choices),
        skipped_choices=int(counters[ms.CNT_SKIPPED]))


def bandwidth_array(hw: Hardware) -> np.ndarray:
    """The array-side bandwidth limits the mapper's cycles respect (accelsim/model.py's
    ``apply_bandwidth_limits``): global buffer, array network, all register files, in words per
    cycle (``inf``: unlimited)."""
    return np.array([hw.sram_bandwidth_words_per_cycle, hw.noc_bandwidth_words_per_cycle,
                     hw.rf_bandwidth_words_per_cycle * hw.num_pes], dtype=np.float64)
