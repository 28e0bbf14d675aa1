"""Cycles of mappings on an architecture tree, from the N-level engine's counts: compute steps,
systolic fill and drain, exposed transfers, and every storage level's and network's bandwidth
bound. One batch function serves :func:`accelsim.loopnest.tree.evaluate_tree` (a batch of one) and
the tree mapper (accelsim/loopnest/tree_mapper.py), so both give the same cycles.

Per group of a layer (groups run one after another; every figure below is multiplied by G):

* **steps**: the product of the temporal trips (every MAC works in lock-step); under an imperfect
  factorisation, the combinations of them that hold a live iteration (:func:`live_combinations`).
* **fill and drain** (``timing: physical`` or ``scalesim``), per *systolic* spatial level L of
  ``fanout_y`` rows and ``fanout_x`` columns: the *stationary* operand, of those kept by the
  storage levels below L, is the one whose tile stays in the PEs longest: the innermost run of
  temporal loops above L irrelevant to it (with every loop below L) is a *fold*, the longest such
  run of the kept operands (the others stream through the array); when the stationary tile
  changes the array drains and fills again. A fold of
  ``t`` steps takes :func:`accelsim.kernels.timing.fold_cycles` (``2 * rows + cols + t - 2``,
  [samajdar2020] Eq. 1 and [scalesim-v3#4]; ``t + rows + cols - 2`` for an output-stationary fold
  under ``timing: scalesim``, [scalesim-v3] ``compute/systolic_compute_os.py``), so each fold adds
  ``fold_cycles(rows, cols, 0)`` cycles, times ``hop_cycles`` (every hop of the skew takes that
  long). Folds = the live combinations of the temporal loops outside the fold (steps / t under a
  perfect factorisation); the whole array's rows and columns count, used or not (partial folds
  run on the whole array, as in accelsim/model.py). A systolic level with nothing kept below it
  streams the whole layer as one fold. ``compute_cycles`` = steps + fill and drain.
* **exposed transfers** (``timing: physical`` or ``scalesim``), per storage level below the
  backing store, at the link to its parent levels (the time is the larger of the two ends' need at
  their bandwidth, each end's words as it counts them: the parent's reads after multicast, the
  level's own fills and drains): a *single-buffered* level cannot take its next tile while its
  current tile is in use, so every transfer of the run stalls the levels below it; a
  *double-buffered* one hides them behind compute except the first tile's load (its footprint of
  each input operand, per instance in use) and the last output tile's drain; so does a *latched*
  one-word register (``latched: true``), whose next word is written at the clock edge that retires
  the current one (a systolic cell's registers take the next datum each beat while the cell computes with the
  current one, [kung1982] sections "Basic principle" and Figure 1; ZigZag likewise
  lets a single-buffered memory's transfer use the window its current word is in use,
  [zigzag] ``zigzag/cost_model/cost_model.py`` 711-729), its bandwidth bound still applying. This is
  accelsim/kernels/timing.py's ``stall_cycles`` (exposed first load and last write-back; steady
  traffic hidden only when double-buffered) applied at every level, and ZigZag's data on-loading
  and off-loading ([zigzag] ``zigzag/cost_model/cost_model.py``, ``calc_overall_latency``).
* **bandwidth bounds**: each storage level needs ceil(accesses / (bandwidth x ports x instances))
  cycles ([timeloop] section V-C), each network ceil(words / (its ``bandwidth_words_per_cycle`` x
  instances)): a network's words are those it delivers to the instances below it (the child's
  fills and drains; one per MAC and operand where the MACs are the child); a systolic network moves
  only the hops after the array edge (words delivered less the parent's reads), as the shorthand
  counts its array network (accelsim/kernels/loopnest.py ``action_counts_row``).

Cycles = max(compute + all exposed transfers, every bandwidth bound). The stall (cycles - compute)
is reported per level: its exposed transfers, and the excess of a bound that binds.
``timing: throughput`` is Timeloop's performance model ([timeloop] section V-C): no fill and drain,
every transfer hidden; only the bandwidth bounds stall (the Timeloop importer writes it).
``timing: zigzag`` is ZigZag's latency model (accelsim/loopnest/timing_zigzag.py; the ZigZag importer
writes it): steps + port stall + on-loading + off-loading + systolic drain, the bandwidth bounds
reported but not applied.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..kernels import loopnest as ln
from ..kernels import nest, treetiming
from ..kernels.timing import fold_cycles
from ..spec.arch import OPERANDS, ArchTree
from .timing_zigzag import ZigZagLatency, zigzag_batch

OP_OFMAP = OPERANDS.index("ofmap")


@dataclass(frozen=True)
class Timing:
    """Per candidate (arrays of length n): ``steps``, ``fill_drain``, ``compute`` (steps + fill and
    drain), ``total``; ``bound[name]`` (every storage level and every spatial level with a network
    bandwidth), ``exposed[name]`` (storage levels), ``stall[name]`` (per level, summing to total -
    compute); ``network_words[name]`` (spatial levels); ``parts[name]`` (``timing: zigzag`` only:
    ZigZag's latency parts, :class:`accelsim.loopnest.timing_zigzag.ZigZagLatency`). All times G groups."""

    steps: np.ndarray
    fill_drain: np.ndarray
    compute: np.ndarray
    total: np.ndarray
    bound: dict
    exposed: dict
    stall: dict
    network_words: dict
    parts: dict = field(default_factory=dict)

    def binding(self, b: int) -> str:
        """The level whose stall is largest for candidate ``b`` ("compute" when none stalls)."""
        name, most = "compute", 0
        for level, values in self.stall.items():
            if values[b] > most:
                name, most = level, int(values[b])
        return name


def bandwidth_cycles(lv, reads: dict, writes: dict, lanes: int | None = None) -> np.ndarray:
    """Cycles storage level ``lv`` needs for ``reads`` / ``writes`` ({operand: words array}):
    reads + writes against the shared bandwidth, each direction against its own, in words or bytes,
    per port, over ``lanes`` (default: ports x instances); 0 where unbounded."""
    lanes = lv.ports * lv.instances if lanes is None else lanes
    some = next(iter(reads.values()), next(iter(writes.values()), None))
    need = np.zeros(np.shape(some), dtype=np.int64)
    for key, parts in (("bandwidth", (reads, writes)), ("read_bandwidth", (reads,)), ("write_bandwidth", (writes,))):
        limits = [(unit, getattr(lv, f"{key}_{unit}_per_cycle")) for unit in ("words", "bytes")]
        if all(math.isinf(limit) for _, limit in limits):
            continue
        n_words = sum(sum(part.values()) for part in parts)
        n_bytes = sum(sum(v * lv.word_bits[op] for op, v in part.items()) for part in parts) / 8
        for unit, limit in limits:
            if not math.isinf(limit):
                amount = n_words if unit == "words" else n_bytes
                need = np.maximum(need, np.ceil(np.asarray(amount, dtype=np.float64) / (limit * lanes)).astype(np.int64))
    return need


def bounds_of(problem: np.ndarray) -> list:
    """The bounds of the eight loop dimensions (the conv's seven, then G: 1 unless the mapping has
    loops over the groups)."""
    return [int(b) for b in problem[:7]] + [max(int(problem[ln.P_GROUPS]), 1)]


def live_combinations(rows: np.ndarray, counted: np.ndarray, bounds) -> np.ndarray:
    """Per candidate, the combinations of the ``counted`` rows (the others at index 0) in which
    every dimension's value, the mixed-radix number over all its rows, is below its bound: the
    product of the trips under a perfect factorisation, fewer when an imperfect one leaves partial
    last tiles (accelsim/kernels/nest.py ``_live`` per candidate and dimension)."""
    return treetiming.live_batch(np.ascontiguousarray(rows, dtype=np.int64),
                                 np.ascontiguousarray(counted, dtype=np.bool_),
                                 np.asarray(bounds, dtype=np.int64))


def spatial_products(tree: ArchTree, rows: np.ndarray, dims=range(nest.NDIMS)) -> np.ndarray:
    """``out[b, i]``: the product of candidate b's spatial factors over ``dims`` at the levels above
    tree level i (i = 0 .. number of levels)."""
    mask = sum(1 << int(d) for d in dims)
    return treetiming.spatial_products(np.ascontiguousarray(rows, dtype=np.int64), len(tree.levels), mask)


def fill_drain_per_group(tree: ArchTree, rows: np.ndarray, steps: np.ndarray, bounds=None) -> np.ndarray:
    """Fill-and-drain cycles of one group per candidate (module docstring), 0 under ``throughput``."""
    out = np.zeros(rows.shape[0], dtype=np.int64)
    if tree.timing == "throughput":
        return out
    level, dim, trip = rows[:, :, nest.R_LEVEL], rows[:, :, nest.R_DIM], rows[:, :, nest.R_TRIP]
    temporal = rows[:, :, nest.R_SPATIAL] == 0
    index = np.arange(rows.shape[1])[None, :]
    for at, lv in enumerate(tree.levels):
        if lv.kind != "spatial" or lv.interconnect != "systolic":
            continue
        kept = sorted({k for lv2 in tree.levels[at + 1:] if lv2.kind == "storage"
                       for k, op in enumerate(OPERANDS) if lv2.keeps(op)})
        above = temporal & (level < at)
        t = steps.copy() if not kept else np.zeros_like(steps)
        output_stationary = np.zeros(len(steps), dtype=bool)
        start = np.zeros(len(steps), dtype=np.int64)
        for k in kept:      # the stationary operand: the one whose PE tile stays longest
            marker = above & (trip > 1) & (nest.RELEVANCE8[k][dim] == 1)
            last = np.where(marker, index, -1).max(axis=1)
            inside = (temporal & (level > at)) | (above & (index > last[:, None]))
            run = np.prod(np.where(inside, trip, 1), axis=1)
            output_stationary = np.where(run > t, k == OP_OFMAP, output_stationary)
            start = np.where(run > t, last + 1, start)
            t = np.maximum(t, run)
        scalesim = tree.timing == "scalesim"
        per_fold = np.where(output_stationary, int(fold_cycles(lv.fanout_y, lv.fanout_x, 0, True, scalesim)),
                            int(fold_cycles(lv.fanout_y, lv.fanout_x, 0, False, scalesim)))
        # folds: the live combinations of the temporal rows outside the stationary operand's run
        run_start = np.zeros(len(steps), dtype=np.int64) if not kept else start
        outer = above & (index < run_start[:, None])
        folds = steps // t if bounds is None else live_combinations(rows, outer, bounds)
        out += folds * per_fold * lv.hop_cycles
    return out


def timing_batch(tree: ArchTree, problem: np.ndarray, rows: np.ndarray, counts: np.ndarray, macs: np.ndarray,
                 groups: int, cuts=None) -> Timing:
    """Cycles of candidates b = 0..n-1 on ``tree`` (the mapping's effective tree: bypassed operands
    removed): ``rows[b]`` as the kernel took them (trip-1 padding allowed), ``counts[b]`` the
    kernel's per-group counts, ``macs[b]`` per group; ``cuts``: one mapping's per-operand tile cuts
    (accelsim/loopnest/tree.py ``tile_cuts``), read by ``timing: zigzag``."""
    g = groups
    n = rows.shape[0]
    temporal = rows[:, :, nest.R_SPATIAL] == 0
    bounds = bounds_of(problem)
    steps = live_combinations(rows, temporal, bounds)
    fill_drain = fill_drain_per_group(tree, rows, steps, bounds)
    compute = g * (steps + fill_drain)
    out_words = 1
    for d in range(nest.NDIMS):
        if nest.RELEVANCE8[OP_OFMAP, d]:
            out_words *= int(bounds[d])
    reduction_dims = [d for d in range(nest.NDIMS) if not nest.RELEVANCE8[OP_OFMAP, d]]
    storage = [(i, lv) for i, lv in enumerate(tree.levels) if lv.kind == "storage"]
    kept = {i: [k for k, op in enumerate(OPERANDS) if lv.keeps(op)] for i, lv in storage}

    def c(i, k, col):
        return counts[:, i, k, col]

    first_updates = out_words * spatial_products(tree, rows, reduction_dims)

    def first_update(i):        # ofmap words whose first update needs no read-back at level i
        return first_updates[:, i]

    bound, exposed, network = {}, {}, {}
    for i, lv in storage:
        reads = {OPERANDS[k]: g * c(i, k, nest.C_READS) for k in kept[i]}
        writes = {OPERANDS[k]: g * (c(i, k, nest.C_FILLS) + c(i, k, nest.C_UPDATES)) for k in kept[i]}
        # a level that keeps nothing under this mapping (every operand bypasses it) moves nothing
        bound[lv.name] = bandwidth_cycles(lv, reads, writes) if kept[i] else np.zeros(len(counts), dtype=np.int64)
    # the words each boundary of each operand's path moves: (parent, child, parent-side reads,
    # parent-side writes, child-side reads, child-side writes), per group
    crossings = []
    for k, op in enumerate(OPERANDS):
        path = [i for i, lv in storage if lv.keeps(op)] + [len(tree.levels)]
        for parent, child in zip(path, path[1:]):
            mac = child == len(tree.levels)
            if op != "ofmap":
                p_reads, p_writes = c(parent, k, nest.C_READS), 0 * steps
                ch_reads, ch_writes = 0 * steps, (macs if mac else c(child, k, nest.C_FILLS))
            else:
                p_writes = c(parent, k, nest.C_UPDATES)
                p_reads = p_writes - first_update(parent)
                ch_writes = 0 * steps if mac else c(child, k, nest.C_FILLS)
                ch_reads = macs if mac else ch_writes + first_update(child)
            crossings.append((k, parent, child, p_reads, p_writes, ch_reads, ch_writes))
    for at, lv in enumerate(tree.levels):
        if lv.kind != "spatial":
            continue
        words = 0 * steps
        for _k, parent, child, p_reads, p_writes, ch_reads, ch_writes in crossings:
            if parent < at < child:
                delivered = ch_reads + ch_writes
                words = words + (np.maximum(delivered - p_reads - p_writes, 0) if lv.interconnect == "systolic"
                                 else delivered)
        network[lv.name] = g * words
        if not math.isinf(lv.bandwidth_words_per_cycle):
            limit = lv.bandwidth_words_per_cycle * lv.instances
            bound[lv.name] = np.ceil(network[lv.name] / limit).astype(np.int64)
    if tree.timing == "zigzag":
        return _zigzag_timing(tree, problem, rows, g, bound, network, cuts)
    if tree.timing != "throughput":
        instances = spatial_products(tree, rows)
        for i, lv in storage[1:]:
            mine = [x for x in crossings if x[2] == i]
            # a level that keeps nothing under this mapping (every operand bypasses it) moves nothing
            exposed[lv.name] = g * _exposed(tree, lv, i, mine, counts, instances[:, i]) if mine else 0 * steps
    serial = compute + sum(exposed.values(), 0 * steps)
    total = serial.copy()
    for value in bound.values():
        total = np.maximum(total, value)
    stall = {name: value.copy() for name, value in exposed.items()}
    excess = total - serial
    for name, value in bound.items():
        binds = (value == total) & (excess > 0)
        stall[name] = stall.get(name, 0 * steps) + np.where(binds, excess, 0)
        excess = np.where(binds, 0, excess)
    return Timing(steps=g * steps, fill_drain=g * fill_drain, compute=compute, total=total, bound=bound,
                  exposed=exposed, stall=stall, network_words=network)


def _zigzag_timing(tree: ArchTree, problem, rows, g: int, bound: dict, network: dict, cuts=None) -> Timing:
    """``timing: zigzag`` (accelsim/loopnest/timing_zigzag.py, the batch kernel), per candidate:
    compute = the steps plus the systolic drain; the port stall, the on-loading and the off-loading
    are each charged to one storage level's stall (its port's; the link that takes longest); the
    bandwidth bounds are reported, not applied (ZigZag's ports already pace the transfers)."""
    n = rows.shape[0]
    out = zigzag_batch(tree, rows, np.full(n, rows.shape[1], dtype=np.int64), problem, cuts)
    stall = {lv.name: np.zeros(n, dtype=np.int64) for lv in tree.levels if lv.kind == "storage"}
    for part, column in ((treetiming.ZZ_STALL, treetiming.ZZ_STALL_LEVEL),
                         (treetiming.ZZ_ONLOAD, treetiming.ZZ_ONLOAD_LEVEL),
                         (treetiming.ZZ_OFFLOAD, treetiming.ZZ_OFFLOAD_LEVEL)):
        for i, lv in enumerate(tree.levels):
            if lv.kind == "storage":
                stall[lv.name] += np.where(out[:, column] == i, g * out[:, part], 0)
    parts = {name: g * out[:, column] for column, name in enumerate(ZigZagLatency.PARTS)}
    steps, drain = out[:, treetiming.ZZ_IDEAL], out[:, treetiming.ZZ_DRAIN]
    return Timing(steps=g * steps, fill_drain=g * drain, compute=g * (steps + drain), total=g * out[:, :5].sum(axis=1),
                  bound=bound, exposed={}, stall=stall, network_words=network, parts=parts)


def _link_cycles(tree: ArchTree, lv, crossings, scale=None) -> np.ndarray:
    """Cycles of the transfers of ``crossings`` (into storage level ``lv`` from its parents): the
    larger of ``lv``'s need and each parent's; ``scale(k, side, words)`` rescales words (first tile,
    last tile), default as counted."""
    scale = scale or (lambda k, side, words: words)
    child_reads, child_writes, parents = {}, {}, {}
    for k, parent, _child, p_reads, p_writes, ch_reads, ch_writes in crossings:
        op = OPERANDS[k]
        child_reads[op] = scale(k, "child_reads", ch_reads)
        child_writes[op] = scale(k, "child_writes", ch_writes)
        entry = parents.setdefault(parent, ({}, {}))
        entry[0][op] = scale(k, "parent_reads", p_reads)
        entry[1][op] = scale(k, "parent_writes", p_writes)
    need = bandwidth_cycles(lv, child_reads, child_writes)
    for parent, (reads, writes) in parents.items():
        need = np.maximum(need, bandwidth_cycles(tree.levels[parent], reads, writes))
    return need


def _exposed(tree: ArchTree, lv, i: int, crossings, counts, active) -> np.ndarray:
    """Exposed transfer cycles of storage level ``lv`` (index ``i``) per group: all of its link's
    transfers when single-buffered; the first input tile's load and the last output tile's drain
    when double-buffered or latched (a one-word register written at the clock edge that retires its
    word: the refill overlaps the step that uses the current word, as a pipeline register's does) (the parent's words scaled by the run's parent-to-child ratio, e.g. the
    multicast factor); ``active``: the instances of ``lv`` in use per candidate."""
    if not lv.double_buffered and not lv.latched:
        return _link_cycles(tree, lv, crossings)
    by_op = {x[0]: x for x in crossings}

    def tile(k):
        return counts[:, i, k, nest.C_FOOTPRINT] * active

    def first_load(k, side, words):
        if k == OP_OFMAP:
            return 0 * words
        child = by_op[k][6]
        return np.where(child > 0, words * (tile(k) / np.maximum(child, 1)), 0)

    def last_drain(k, side, words):
        if k != OP_OFMAP:
            return 0 * words
        drained = by_op[k][5]
        if side == "child_writes":
            return 0 * words
        return np.where(drained > 0, words * (tile(k) / np.maximum(drained, 1)), 0)

    return _link_cycles(tree, lv, crossings, first_load) + _link_cycles(tree, lv, crossings, last_drain)
