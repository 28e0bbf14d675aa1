"""The mapper on architecture trees: the best mapping of one layer on any tree, and the Pareto set
of (cycles, energy), every candidate counted by the N-level engine (accelsim/kernels/nest.py,
batched: arrays in, arrays out).

**The mapspace.** For a layer with bounds N, M, C, E, F, R, S (one group's) and, for a grouped or
depthwise layer on a tree with a spatial level that may unroll G (:func:`maps_groups`), the groups G
as an eighth dimension (accelsim/kernels/nest.py's ``D_G``: every operand depends on it; its loops and
unrolling sit anywhere a dimension may); otherwise a grouped layer is one group's nest, run G times, a
mapping is

* *temporal factors*: every storage level (the backing store included) has one loop per
  dimension; the trips of a dimension over the storage levels and its spatial factors multiply to
  its bound exactly (every perfect factorisation). With ``imperfect`` (``accelsim run
  --imperfect``) also every *imperfect* factorisation of this bounded form (the remainder mapspace
  of [horeni2022], with one remainder per dimension): the factors of a dimension of bound B at all
  but its outermost holder multiply to any P <= B, and its outermost holder (the backing store,
  unless pinned) takes ceil(B / P), so the last tile there is partial (accelsim/kernels/nest.py counts
  it exactly). A dimension with fixed factors from the constraints stays perfect. The search then
  also starts from the perfect-only search's mapping, so it is never worse than it;
* *spatial unrolling*: every spatial level unrolls, across X and across Y, any dimension its
  ``unroll_x`` / ``unroll_y`` lists, with the factors of an axis multiplying to at most its fan-out
  (factors need not fill the fan-out);
* *loop order* per storage level: for the access counts of [timeloop] section V only one thing
  about a level's order matters, the set of its loops after (inside) its innermost loop relevant to
  each operand (a level's other loops are all counted, in any order). The mapper enumerates one
  order per distinct such signature (at most 15 per level for the seven conv dimensions), which
  is exhaustive over orders: every other order gives the same counts as one of them.

A mapping is *valid* when every storage level below the backing store holds its tiles (half its
capacity when double-buffered; per operand where the capacity is partitioned), as
:func:`accelsim.loopnest.tree.evaluate_tree` checks. Bypass: every subset of each level's
``may_bypass`` is a mapspace of its own, searched best lower bound first; a choice whose bound
shows it can neither be chosen nor enter the Pareto set is skipped (accelsim/loopnest/tree_bypass.py). Cycles, energy and the bandwidth stalls are
:func:`~accelsim.loopnest.tree.evaluate_tree`'s, computed for a whole batch from the kernel's
counts; the chosen mapping and every Pareto point are evaluated again by it.

**The search.** When the mapspace has at most ``exhaustive_limit`` mappings, every one is
evaluated and the result is *optimal within the mapspace above* (``exhaustive`` is True). Up to
:data:`SCREEN_LIMIT` factor assignments are first screened for fit with one order each (a tile's
footprint does not depend on the order), and only those that fit are expanded by order. A larger
mapspace is searched by iterated steepest-descent local search, and the result is the best mapping
found, *not* a proven optimum (``exhaustive`` False). Starts: ``restarts`` / 2 spatial unrollings,
half of those with the most MACs in use, half spread evenly over the others (every temporal loop at
the backing store, which always fits), and ``restarts`` mappings drawn uniformly from the mapspace
(each dimension's split over its levels and each level's order at random, the first that fit of 64
draws per start), so that basins away from the backing store are climbed too. A step evaluates every neighbour of every climber in one kernel
call (one prime factor of one dimension moved between two levels or axes that may hold it; with
``imperfect``, also an inner factor of a dimension one up or down, its outermost the ceiling of the
rest; one level's order changed to another signature) and moves each climber to its best valid neighbour
while that improves the objective. Then, ``kicks`` times, each local optimum is perturbed by three
random moves and climbed again, kept if better (seeded: the same inputs give the same result).
On the small cases where the exhaustive optimum is known (tests/test_tree_mapper.py's five trees, three
objectives, seeds 0-4: benchmarks/bench_tree_mapper_quality.py) the local search reaches it in all 75
runs (with half as many random starts: 73 of 75, worst 10.6% above; starts at the backing store only: 61 of 75, worst
38% above in energy: steepest descent from the backing store takes the largest single gain first, M
into a 16-word buffer and the array, and the optimum, M wholly at the backing store and the window
dims in the buffer, lies three moves away past worse mappings; 7% of the valid mappings climb to it).

Objectives: ``cycles`` (ties broken by energy), ``energy`` (ties by cycles), ``edp`` (cycles x
energy). Users may pin levels: a mapping in :func:`~accelsim.loopnest.tree.tree_mapping_from_dict`'s
form that names some levels fixes those levels' loops (storage) or unrolling (spatial) as given;
the rest is searched.
"""
from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..errors import AccelsimError, PartialMapping, Problem, SpecError, did_you_mean
from ..kernels import loopnest as ln
from ..kernels import nest
from ..spec.arch import OPERANDS, ArchTree, unrolling_problems
from ..spec.energy import EnergyTable
from ..spec.workload import Layer
from .mapper import problem_array
from .tree import (MAPPING_DIMS, TreeCost, TreeMapping, _access_pj, _arrays, check_mapping, effective_tree,
                   evaluate_tree, tree_mapping_from_dict)
from .tree_bypass import choice_bound, floors, most_in_use
from .tree_tiles import search_tiles
from .tree_constraints import bypass_choices, dim_limits, in_ranges, satisfying, split_pins
from .tree_timing import timing_batch

DIMS = MAPPING_DIMS          # the conv's seven and the groups G (nest.D_G)
ND = len(DIMS)
ALL = (1 << ND) - 1
OBJECTIVES = ("cycles", "energy", "edp")
CHUNK = 1 << 15
#: Up to this many factor assignments, the exhaustive search first drops those that do not fit
#: (one evaluation each, order-free: :func:`_fitting`), so only fitting ones are expanded by order.
SCREEN_LIMIT = 50_000


@dataclass(frozen=True)
class TreeMapperResult:
    """``mapping`` and ``cost``: the best mapping for the objective and its cost
    (:func:`evaluate_tree`'s); ``pareto``: ((mapping, total_cycles, energy_pj), ...) the mappings no
    other evaluated valid mapping beats in both cycles and energy, fastest first; ``evaluated``:
    mappings counted (the fit screen's factor assignments included); ``valid``: those that fit; ``exhaustive``: whether every mapping of the
    mapspace was evaluated, or belongs to a bypass choice skipped by its bound (then the result is
    optimal within it); ``mapspace_size``: the size of the bypass choices searched when enumerated, else None; ``seconds``: wall time; ``bypass_choices``: the tree's bypass choices
    (``may_bypass``), ``bypass_skipped``: those skipped by their bound (accelsim/loopnest/tree_bypass.py)."""

    mapping: TreeMapping
    cost: TreeCost
    pareto: tuple
    evaluated: int
    valid: int
    exhaustive: bool
    mapspace_size: int | None
    seconds: float
    bypass_choices: int = 1
    bypass_skipped: int = 0


@dataclass(frozen=True)
class _Slot:
    """A place that takes one factor per dimension: a storage level's temporal loops, or one axis
    of a spatial level. ``dims``: the dimension indices it may take; ``fanout``: 0 for temporal."""

    level: int
    axis: str
    dims: tuple
    fanout: int


class _Space:
    """The fixed row layout of every candidate on one tree (pinned levels as given, free storage
    levels 7 rows in their order, free spatial levels 7 rows per axis) and the cost model over
    batches of kernel counts."""

    def __init__(self, tree: ArchTree, layer: Layer, table: EnergyTable | None, pins: TreeMapping, pinned: set,
                 groups: bool = False):
        self.tree, self.layer, self.table, self.pins, self.pinned = tree, layer, table, pins, pinned
        self.problem = problem_array(layer, dilated_windows=True)
        # groups: G is a dimension of the nest (every group mapped at once); else one group's nest, run G times
        self.g = 1 if groups else layer.groups
        if groups:
            self.problem[ln.P_GROUPS] = layer.groups
        self.slots, fixed_rows, self.layout = [], [], []
        row = 0
        for index, lv in enumerate(tree.levels):
            if lv.kind == "compute":
                continue
            if lv.name in pinned:
                if lv.kind == "storage":
                    entries = [(DIMS.index(d), t, 0) for d, t in pins.loops_of(lv.name)]
                else:
                    x, y = pins.unrolling_of(lv.name)
                    entries = [(DIMS.index(d), f, 1) for d, f in x + y]
                for d, t, s in entries:
                    fixed_rows.append((row, d, t, s, index))
                    row += 1
                continue
            axes = [("t", tuple(range(ND)), 0)] if lv.kind == "storage" else [
                (axis, tuple(DIMS.index(d) for d in allowed if d in DIMS), fan)
                for axis, allowed, fan in (("x", lv.unroll_x, lv.fanout_x), ("y", lv.unroll_y, lv.fanout_y))]
            for axis, dims, fan in axes:
                self.layout.append((len(self.slots), row, index, axis == "t"))
                self.slots.append(_Slot(index, axis, dims, fan))
                row += ND
        self.n_rows = row
        self.fixed_rows = fixed_rows
        self.levels = _arrays(tree, TreeMapping())[2]
        self.imperfect = []
        self.pairs, self.rep_keys, self.move_cache, self.other_reps = None, {}, {}, {}
        self.fanouts = np.array([s.fanout for s in self.slots], dtype=np.int64)
        self.storage_slots = [k for k, s in enumerate(self.slots) if s.axis == "t"]
        self.spatial_slots = [k for k, s in enumerate(self.slots) if s.axis != "t"]
        self._costs_setup()

    # -- rows ---------------------------------------------------------------------------------
    def rows(self, trips: np.ndarray, orders: np.ndarray) -> np.ndarray:
        """``trips[b, slot, dim]`` and ``orders[b, storage slot, position]`` -> the kernel's rows."""
        n = trips.shape[0]
        rows = np.zeros((n, max(self.n_rows, 1), 4), dtype=np.int64)
        rows[:, :, nest.R_TRIP] = 1
        for r, d, t, s, index in self.fixed_rows:
            rows[:, r] = (d, t, s, index)
        order_index = {k: j for j, k in enumerate(self.storage_slots)}
        for k, r, index, temporal in self.layout:
            block = rows[:, r:r + ND]
            block[:, :, nest.R_LEVEL] = index
            if temporal:
                order = orders[:, order_index[k]]
                block[:, :, nest.R_DIM] = order
                block[:, :, nest.R_TRIP] = np.take_along_axis(trips[:, k], order, axis=1)
            else:
                block[:, :, nest.R_DIM] = np.arange(ND)
                block[:, :, nest.R_TRIP] = trips[:, k]
                block[:, :, nest.R_SPATIAL] = 1
        # padding rows over G (trip 1) become rows over N: they count nothing either way, and a row
        # over G sends the kernel to its general count
        pad = (rows[:, :, nest.R_DIM] == nest.D_G) & (rows[:, :, nest.R_TRIP] == 1)
        rows[:, :, nest.R_DIM][pad] = 0
        return rows

    def mapping(self, trips: np.ndarray, orders: np.ndarray) -> TreeMapping:
        """One candidate as a :class:`TreeMapping` (trips of 1 left out)."""
        temporal, spatial = [], []
        order_index = {k: j for j, k in enumerate(self.storage_slots)}
        by_level = {}
        for k, slot in enumerate(self.slots):
            by_level.setdefault(slot.level, []).append(k)
        for index, lv in enumerate(self.tree.levels):
            if lv.name in self.pinned:
                if lv.kind == "storage" and self.pins.loops_of(lv.name):
                    temporal.append((lv.name, self.pins.loops_of(lv.name)))
                elif lv.kind == "spatial":
                    spatial.append((lv.name, *self.pins.unrolling_of(lv.name)))
                continue
            for k in by_level.get(index, []):
                if self.slots[k].axis == "t":
                    loops = tuple((DIMS[d], int(trips[k, d])) for d in orders[order_index[k]] if trips[k, d] > 1)
                    if loops:
                        temporal.append((lv.name, loops))
            if lv.kind == "spatial":
                x, y = (tuple((DIMS[d], int(trips[k, d])) for d in range(ND) if trips[k, d] > 1)
                        for k in by_level[index])
                if x or y:
                    spatial.append((lv.name, x, y))
        return TreeMapping(temporal=tuple(temporal), spatial=tuple(spatial))

    order_limits: dict = {}

    def order_reps(self, j: int, active: int) -> np.ndarray:
        """One order per distinct signature for free storage slot ``j`` whose active dims are
        ``active`` (:func:`order_signatures`), among the orders its constraints allow (its
        ``order_inner`` dims innermost, ``order_outer`` outermost, in the given order)."""
        limit = self.order_limits.get(j)
        if limit is None:
            return order_signatures(active)
        return _limited_signatures(active, *limit)

    def fix_orders(self, orders: np.ndarray) -> np.ndarray:
        """``orders[b, storage slot]`` with each constrained slot's ``order_outer`` dims moved to
        the front and its ``order_inner`` dims to the back, in their given order, the others kept
        in place: a factor move can make a dim active at a level whose order put it elsewhere."""
        if not self.order_limits:
            return orders
        orders = orders.copy()
        for j, (inner, outer) in self.order_limits.items():
            keys = np.argsort(orders[:, j], axis=1).astype(np.int64)       # position of each dim
            for k, d in enumerate(outer):
                keys[:, d] = -len(outer) + k
            for k, d in enumerate(inner):
                keys[:, d] = ND + k
            orders[:, j] = np.argsort(keys, axis=1, kind="stable")
        return orders

    def encode(self, mapping: TreeMapping):
        """(trips, orders) of ``mapping`` in this space, or None when it disagrees with the pins or
        leaves the bounds of the free levels."""
        trips = np.ones((len(self.slots), ND), dtype=np.int64)
        orders = np.zeros((len(self.storage_slots), ND), dtype=np.int64)
        order_index = {k: j for j, k in enumerate(self.storage_slots)}
        for k, slot in enumerate(self.slots):
            lv = self.tree.levels[slot.level]
            if slot.axis == "t":
                loops = mapping.loops_of(lv.name)
                if len({d for d, _ in loops}) != len(loops):
                    return None
                for d, t in loops:
                    trips[k, DIMS.index(d)] = t
                inner = [DIMS.index(d) for d, _ in loops]
                orders[order_index[k]] = [d for d in range(ND) if d not in inner] + inner
            else:
                axis = mapping.unrolling_of(lv.name)[0 if slot.axis == "x" else 1]
                for d, f in axis:
                    if DIMS.index(d) not in slot.dims:
                        return None
                    trips[k, DIMS.index(d)] *= f
        for name in self.pinned:
            lv = next(lv for lv in self.tree.levels if lv.name == name)
            mine = mapping.loops_of(name) if lv.kind == "storage" else mapping.unrolling_of(name)
            theirs = self.pins.loops_of(name) if lv.kind == "storage" else self.pins.unrolling_of(name)
            if tuple(mine) != tuple(theirs):
                return None
        return trips, orders

    # -- costs --------------------------------------------------------------------------------
    ranges: list = []
    min_utilization: float = 0.0
    imperfect: tuple = ()         # ((dim, holders, bound), ...): dims searched with imperfect factors

    def normalise(self, trips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(trips, keep): every imperfect dim's outermost holder set to ceil(bound / P), P the
        product of its other holders' factors, and ``keep`` False where P exceeds the bound or a
        spatial axis its fan-out (the candidate then leaves the mapspace)."""
        keep = np.ones(len(trips), dtype=bool)
        for d, holders, bound in self.imperfect:
            inner = np.prod(trips[:, holders[1:], d], axis=1)
            keep &= inner <= bound
            trips[:, holders[0], d] = -(-bound // np.maximum(inner, 1))
        for k in self.spatial_slots:
            keep &= np.prod(trips[:, k], axis=1) <= self.slots[k].fanout
        return trips, keep

    def allowed(self, trips: np.ndarray) -> np.ndarray:
        """Per candidate ``trips[b, slot, dim]``: whether it meets the factor ranges
        (``max_factors`` / ``min_factors``) and the minimum utilization
        (accelsim/loopnest/tree_constraints.py): the instances used over those available, multiplied
        over the spatial levels, pinned ones included."""
        ok = np.ones(len(trips), dtype=bool)
        for d, slots, lo, hi in self.ranges:
            product = np.prod(trips[:, list(slots), d], axis=1) if slots else np.ones(len(trips), dtype=np.int64)
            ok &= (product >= lo) & (product <= hi)
        if self.min_utilization > 0:
            used, total = 1, 1
            for lv in self.tree.levels:
                if lv.kind == "spatial" and lv.name in self.pinned:
                    x, y = self.pins.unrolling_of(lv.name)
                    used *= math.prod(f for _, f in x + y)
                    total *= lv.fanout_x * lv.fanout_y
            per = np.full(len(trips), used, dtype=np.int64)
            for k in self.spatial_slots:
                per *= np.prod(trips[:, k], axis=1)
                total *= self.slots[k].fanout
            ok &= per / total >= self.min_utilization
        return ok

    def evaluate(self, trips: np.ndarray, orders: np.ndarray):
        """(valid, total_cycles, energy_pj) of candidates (:meth:`costs`), those outside the
        constraints' ranges and utilization marked invalid."""
        valid, cycles, energy = self.costs(self.rows(trips, orders))
        if self.ranges or self.min_utilization:
            valid &= self.allowed(trips)
        return valid, cycles, energy

    def _costs_setup(self) -> None:
        tree, table = self.tree, self.table
        self.storage = [(i, lv) for i, lv in enumerate(tree.levels) if lv.kind == "storage"]
        self.kept = {i: [k for k, op in enumerate(OPERANDS) if lv.keeps(op)] for i, lv in self.storage}
        self.pj = {}
        self.mac_pj = 0.0
        if table is not None:
            for i, lv in self.storage:
                self.pj[i] = {k: _access_pj(lv, OPERANDS[k], table) for k in self.kept[i]}
            mac = tree.compute
            per_mac = mac.energy_pj if mac.energy_pj is not None else table.mac_pj.get(mac.precision)
            if per_mac is None:
                raise AccelsimError(f"{table.file or table.name}: mac_pj.{mac.precision}: no MAC energy for "
                                    f"{mac.precision} (needed by {tree.file or tree.name}); add it or set energy_pj")
            self.mac_pj = per_mac

    def costs(self, rows: np.ndarray):
        """(valid, total_cycles, energy_pj) per candidate, as :func:`evaluate_tree` computes them."""
        n = rows.shape[0]
        n_levels = len(self.tree.levels)
        counts = np.zeros((n, n_levels, 3, nest.COUNT_COLS), dtype=np.int64)
        macs = np.zeros(n, dtype=np.int64)
        nest.evaluate_batch(self.problem, rows, np.full(n, rows.shape[1], dtype=np.int64), self.levels, n_levels,
                            counts, macs)
        g = self.g
        valid = np.ones(n, dtype=bool)
        energy = np.zeros(n)
        for i, lv in self.storage:
            kept = self.kept[i]
            foot = {k: counts[:, i, k, nest.C_FOOTPRINT] for k in kept}
            if i > 0:
                usable = 0.5 if lv.double_buffered else 1.0
                if lv.size_bits_by_operand is None:
                    need = sum(foot[k] * lv.word_bits[OPERANDS[k]] for k in kept)
                    valid &= need <= lv.size_bits * usable
                else:
                    for k in kept:
                        valid &= foot[k] * lv.word_bits[OPERANDS[k]] <= lv.size_bits_by_operand[OPERANDS[k]] * usable
            if self.table is not None:
                level_pj = np.zeros(n)
                for k in kept:
                    read, write = self.pj[i][k]
                    reads = g * counts[:, i, k, nest.C_READS]
                    writes = g * (counts[:, i, k, nest.C_FILLS] + counts[:, i, k, nest.C_UPDATES])
                    level_pj = level_pj + (reads * read + writes * write)
                energy = energy + level_pj
        energy = g * macs * self.mac_pj + energy
        cycles = timing_batch(self.tree, self.problem, rows, counts, macs, g).total
        return valid, cycles, energy


def _score(objective: str, cycles, energy):
    """Sort keys, most significant last (for np.lexsort)."""
    if objective == "cycles":
        return (energy, cycles)
    if objective == "energy":
        return (cycles, energy)
    return (cycles, energy, cycles.astype(float) * energy)


def _primes(n: int) -> list:
    out, p = [], 2
    while p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out + ([n] if n > 1 else [])


def _factorisations(n: int, parts: int) -> "_Splits":
    """Every ordered tuple of ``parts`` positive integers whose product is n, in
    :func:`_factor_tuples`' order, as a :class:`_Splits` sequence (not listed until iterated)."""
    return _Splits(n, parts)


class _Splits(Sequence):
    """The ordered splits of ``n`` into ``parts`` factors (:func:`_factor_tuples`' order) without
    listing them: the length is counted (:func:`_count_splits`) and a split is found from its index
    by walking the divisors (unranking). A dim of bound 960 over 12 holders has 1.8 million splits,
    of which the local search draws a thousand; listing them all took most of a layer's search."""

    def __init__(self, n: int, parts: int):
        self.n, self.parts, self.size = n, parts, _count_splits(n, parts)

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        if self.size <= 1 << 16:
            return iter(_factor_tuples(self.n, self.parts))
        return _split_tuples(self.n, self.parts)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.size))]
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError(index)
        return tuple(int(f) for f in self.rows(np.array([index]))[0])

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """The splits at ``indices`` as rows of an array (len(indices), parts), unranked together:
        at each holder, the splits of the quotient left are grouped by their divisor in ascending
        order, each group as large as the splits of the rest."""
        out = np.ones((len(indices), self.parts), dtype=np.int64)
        if self.parts == 0:
            return out
        rank = np.asarray(indices, dtype=np.int64).copy()
        rest = np.full(len(indices), self.n, dtype=np.int64)
        for j, left in enumerate(range(self.parts, 1, -1)):
            for value in np.unique(rest):
                rows = np.flatnonzero(rest == value)
                divisors = _divisors(int(value))
                ends = np.cumsum([_count_splits(int(value) // q, left - 1) for q in divisors])
                pick = np.searchsorted(ends, rank[rows], side="right")
                rank[rows] -= np.concatenate(([0], ends))[pick]
                out[rows, j] = np.array(divisors, dtype=np.int64)[pick]
            rest //= out[:, j]
        out[:, self.parts - 1] = rest
        return out


@functools.lru_cache(maxsize=4096)
def _count_splits(n: int, parts: int) -> int:
    """len(_factor_tuples(n, parts)), counted without listing."""
    if parts == 0:
        return int(n == 1)
    if parts == 1:
        return 1
    return sum(_count_splits(n // d, parts - 1) for d in _divisors(n))


def _split_tuples(n: int, parts: int):
    """:func:`_factor_tuples`' splits one at a time (for a dim with too many to keep)."""
    if parts <= 1:
        yield from _factor_tuples(n, parts)
        return
    for d in _divisors(n):
        for rest in _split_tuples(n // d, parts - 1):
            yield (d,) + rest


@functools.lru_cache(maxsize=4096)
def _factor_tuples(n: int, parts: int) -> tuple:
    """:func:`_factorisations` memoised on (n, parts): a deep tree splits each dim over up to a dozen
    holders, and the recursion meets the same (quotient, parts left) many times over, in one layer
    and across the layers of a network (most of a ZigZag ascend_like layer's search time unmemoised)."""
    if parts == 0:
        return ((),) if n == 1 else ()
    if parts == 1:
        return ((n,),)
    return tuple((d,) + rest for d in _divisors(n) for rest in _factor_tuples(n // d, parts - 1))


def _imperfect_factorisations(n: int, parts: int) -> list:
    """The imperfect mapspace of a dimension of bound ``n`` over ``parts`` holders (outermost
    first): the inner holders take any factors whose product P is at most n, the outermost takes
    ceil(n / P) (the perfect factorisations are those where P divides n)."""
    return [(-(-n // p),) + rest for p in range(1, n + 1) for rest in _factor_tuples(p, parts - 1)]


def _divisors(n: int) -> list:
    return [d for d in range(1, math.isqrt(n) + 1) if n % d == 0] + \
        [n // d for d in range(math.isqrt(n), 0, -1) if n % d == 0 and d * d != n]


_ORDER_CACHE: dict = {}


def order_signatures(active: int) -> np.ndarray:
    """One loop order per distinct signature for a level whose loops of more than one trip are the
    dims in bitmask ``active``: the full orders of all :data:`ND` dims, outermost first (inactive dims first)."""
    if active not in _ORDER_CACHE:
        dims = [d for d in range(ND) if active >> d & 1]
        rest = [d for d in range(ND) if not active >> d & 1]
        seen, reps = set(), []
        for perm in itertools.permutations(dims):
            signature = []
            for op in range(3):
                tail = []
                for d in reversed(perm):
                    if nest.RELEVANCE8[op, d]:
                        break
                    tail.append(d)
                signature.append(frozenset(tail))
            key = tuple(signature)
            if key not in seen:
                seen.add(key)
                reps.append(rest + list(perm))
        _ORDER_CACHE[active] = np.array(reps or [rest], dtype=np.int64)
    return _ORDER_CACHE[active]


def _limited_signatures(active: int, inner: tuple, outer: tuple) -> np.ndarray:
    """:func:`order_signatures` among the orders with the active dims of ``inner`` innermost and
    those of ``outer`` outermost, each in its given order (outermost first)."""
    key = (active, inner, outer)
    if key not in _ORDER_CACHE:
        inner = [d for d in inner if active >> d & 1]
        outer = [d for d in outer if active >> d & 1]
        free = [d for d in range(ND) if active >> d & 1 and d not in inner and d not in outer]
        rest = [d for d in range(ND) if not active >> d & 1]
        seen, reps = set(), []
        for perm in itertools.permutations(free):
            order = outer + list(perm) + inner
            signature = tuple(frozenset(_tail(order, op)) for op in range(3))
            if signature not in seen:
                seen.add(signature)
                reps.append(rest + order)
        _ORDER_CACHE[key] = np.array(reps, dtype=np.int64)
    return _ORDER_CACHE[key]


def _tail(order, op: int) -> list:
    """The dims after (inside) the innermost dim of ``order`` relevant to operand ``op``."""
    tail = []
    for d in reversed(order):
        if nest.RELEVANCE8[op, d]:
            break
        tail.append(d)
    return tail


def _repaired(space, per_dim, left, trips: np.ndarray) -> np.ndarray:
    """A start that meets the factor constraints: each constrained group takes its product on its
    first slot, and what a dim has left goes to its outermost free storage slot (else its first
    free slot); unchanged when the dim has no constraint."""
    trips = trips.copy()
    for d, (holders, facts, group_of) in enumerate(per_dim):
        if all(g == -1 for g in group_of) and all(k in holders or trips[k, d] == 1 for k in range(len(space.slots))):
            continue
        trips[:, d] = 1
        fixed = 1
        for g in sorted(set(group_of) - {-1}):
            members = [holders[i] for i, x in enumerate(group_of) if x == g]
            product = math.prod(facts[0][i] for i, x in enumerate(group_of) if x == g)
            trips[members[0], d] = product
            fixed *= product
        free = [k for i, k in enumerate(holders) if group_of[i] == -1]
        spare = left[d] // fixed
        target = next((k for k in free if space.slots[k].axis == "t"), free[0] if free else None)
        if target is None:
            if spare > 1:
                return trips if not facts else _from_fact(trips, holders, facts[0], d)
            continue
        trips[target, d] = spare
    return trips


def _from_fact(trips, holders, fact, d):
    trips[:, d] = 1
    for k, f in zip(holders, fact):
        trips[k, d] = f
    return trips


def _active(trips_slot: np.ndarray) -> np.ndarray:
    """The bitmask of the dims with more than one trip, per slot row (the last axis: dims)."""
    return (trips_slot > 1) @ _BITS


class _Best:
    """The running best and Pareto front over batches."""

    def __init__(self, objective: str):
        self.objective = objective
        self.best = None
        self.front = []            # (cycles, energy, trips, orders)
        self.evaluated = self.valid = 0
        self.screened = 0          # factor assignments counted once for fit before the exhaustive search

    def add(self, trips, orders, valid, cycles, energy) -> None:
        self.evaluated += len(cycles)
        self.valid += int(valid.sum())
        if not valid.any():
            return
        trips, orders, cycles, energy = trips[valid], orders[valid], cycles[valid], energy[valid]
        order = np.lexsort(_score(self.objective, cycles, energy))
        b = order[0]
        key = self._key(int(cycles[b]), float(energy[b]))
        if self.best is None or key < self.best[0]:
            self.best = (key, trips[b].copy(), orders[b].copy(), int(cycles[b]), float(energy[b]))
        # chunk front: sort by cycles then energy, keep strictly falling energy
        by = np.lexsort((energy, cycles))
        low = np.minimum.accumulate(energy[by])
        keep = by[np.concatenate(([True], energy[by][1:] < low[:-1]))]
        points = self.front + [(int(cycles[k]), float(energy[k]), trips[k].copy(), orders[k].copy()) for k in keep]
        points.sort(key=lambda p: (p[0], p[1]))
        self.front, lowest = [], math.inf
        for p in points:
            if p[1] < lowest:
                self.front.append(p)
                lowest = p[1]

    def _key(self, cycles: int, energy: float):
        if self.objective == "cycles":
            return (cycles, energy)
        if self.objective == "energy":
            return (energy, cycles)
        return (cycles * energy, cycles, energy)


def _bounds(layer: Layer, groups: bool) -> list:
    """The bounds of the mapper's dims: one group's conv dims, and G (the layer's groups when
    ``groups``, else 1: one group's nest, run G times)."""
    return [int(b) for b in problem_array(layer, dilated_windows=True)[:7]] + [layer.groups if groups else 1]


def maps_groups(tree: ArchTree, layer: Layer, pin=None) -> bool:
    """Whether the mapper takes G as a dimension for ``layer``: a grouped layer on a tree with a
    spatial level that may unroll G (or a pin that names G)."""
    if layer.groups <= 1:
        return False
    return any(lv.kind == "spatial" and "G" in tuple(lv.unroll_x) + tuple(lv.unroll_y) for lv in tree.levels) \
        or "'G'" in repr(pin)


def _pins(tree: ArchTree, layer: Layer, pin, file: str, groups: bool = False):
    """The levels pinned whole (``tree_mapping_from_dict``'s form), their names, the bounds left to
    search and the other levels' constraints (accelsim/loopnest/tree_constraints.py)."""
    if not pin:
        return TreeMapping(), set(), _bounds(layer, groups), {}, 0.0
    if not isinstance(pin, dict):
        raise SpecError([Problem(file, "", "must be a mapping of level names to their loops or constraints")])
    pin, limits, utilization = split_pins(pin, tree, file)
    pins = tree_mapping_from_dict(pin, tree, file)
    bounds = _bounds(layer, groups)
    # a pinned unrolling the level forbids is refused before the search, naming the pin file
    left, problems = [], [Problem(p.file, p.key_path.lstrip("."), p.message) for p in unrolling_problems(
        tree, {name: {"x": dict(x), "y": dict(y)} for name, x, y in pins.spatial}, file, path="")]
    for name, pairs in pins.tiles:     # the mapspace has one tile per level: a pin of its own is not searched
        problems += [Problem(file, f"{name}.tile_loops.{op}", "the mapper searches one tile per level for every "
                                                              "operand; pin the whole mapping (--mapping) to give an "
                                                              "operand a tile of its own") for op, _ in pairs]
    for k, dim in enumerate(DIMS):
        product = math.prod(t for _, loops in pins.temporal for d, t in loops if d == dim) * \
            math.prod(f for _, x, y in pins.spatial for d, f in x + y if d == dim)
        if bounds[k] % product:
            problems.append(Problem(file, dim, f"the pinned trips and factors of {dim} multiply to {product}, which "
                                               f"does not divide its bound {int(bounds[k])} in layer {layer.name}"))
        left.append(int(bounds[k]) // product if not bounds[k] % product else 1)
    if problems:
        raise SpecError(problems)
    return pins, set(pin), left, limits, utilization


def map_layer(tree: ArchTree, layer: Layer, table: EnergyTable | None = None, objective: str = "edp", pin=None,
              exhaustive_limit: int = 200_000, restarts: int = 16, kicks: int = 2, seed: int = 0, progress=None,
              pin_file: str = "<pinned mapping>", starts: tuple = (), imperfect: bool = False,
              prune_bypass: bool = True, operand_tiles: bool = False) -> TreeMapperResult:
    """The best mapping of ``layer`` on ``tree`` for ``objective`` (module docstring: the mapspace
    and the search) and the Pareto set. ``pin``: levels fixed in the YAML mapping form.
    ``starts``: mappings (:class:`TreeMapping`) the search evaluates and, when it is a local
    search, climbs from besides its own starts: the result is never worse than any of them that is
    in the mapspace and fits (a systolic dataflow's own tiling, ``accelsim run --map-tiles``).
    ``progress(done, total)`` is called as the search advances. ``imperfect``: the mapspace takes
    imperfect factorisations too (module docstring), and the perfect-only search's mapping is one
    of the starts, so the result is never worse than that search's. ``prune_bypass``: bypass choices
    are searched best bound first and those whose bound shows they can neither be chosen nor enter
    the Pareto set are skipped (accelsim/loopnest/tree_bypass.py; False: every choice searched, the
    same result, for checking). ``operand_tiles``: then the per-operand tile boundaries of the chosen
    loop nest are searched (accelsim/loopnest/tree_tiles.py; never worse than the shared cut), and the
    chosen mapping joins the Pareto set if nothing there beats it."""
    start = time.perf_counter()
    if objective not in OBJECTIVES:
        raise AccelsimError(f"objective must be one of {', '.join(OBJECTIVES)} (got {objective!r})")
    if objective != "cycles" and table is None:
        raise AccelsimError(f"objective {objective} needs an energy table")
    before = 0
    if imperfect:
        try:
            perfect = map_layer(tree, layer, table, objective, pin, exhaustive_limit, restarts, kicks, seed, progress,
                                pin_file, starts, prune_bypass=prune_bypass)     # its tiles are not searched
            starts, before = tuple(starts) + (perfect.mapping,), perfect.evaluated
        except AccelsimError:
            pass        # nothing perfect fits: the imperfect search starts from its own starts only
    groups = maps_groups(tree, layer, pin)
    pins, pinned, left, limits, utilization = _pins(tree, layer, pin, pin_file, groups)
    choices = [[(lv.name, ops) for ops in bypass_choices(lv, limits.get(lv.name), _subsets(lv.may_bypass))]
               for lv in tree.storage_levels if lv.may_bypass and lv.name not in pinned]
    fixed = tuple((name, ops) for name, ops in pins.bypass if ops)
    combos = [fixed + tuple((name, ops) for name, ops in combo if ops) for combo in itertools.product(*choices)]
    trees = [effective_tree(tree, TreeMapping(bypass=bypass)) for bypass in combos]
    bounds = _choice_bounds(trees, layer, table, groups, imperfect) if len(combos) > 1 and prune_bypass else None
    order = range(len(combos)) if bounds is None else \
        sorted(range(len(combos)), key=lambda i: (_Best(objective)._key(*bounds[i]), i))
    runs, skipped, points, incumbent = {}, 0, [], None
    for i in order:
        bypass = combos[i]
        if bounds is not None and incumbent is not None and _beaten(bounds[i], objective, incumbent, points):
            skipped += 1        # no mapping of this choice can be chosen or enter the Pareto set
            continue
        mine = tuple(m for m in starts if tuple(sorted((n, o) for n, o in m.bypass if o)) == tuple(sorted(bypass)))
        run = _search(trees[i], layer, table, objective, pins, pinned, left, exhaustive_limit, restarts, kicks, seed,
                      progress, mine, limits, pin_file, groups, utilization, imperfect)
        runs[i] = (bypass, run)
        found_best = run[1].best
        if found_best is not None:
            if bounds is not None:
                _check_bound(bounds[i], run[1], layer, bypass)
            points += [(c, e) for c, e, _, _ in run[1].front]
            if incumbent is None or found_best[0] < incumbent:
                incumbent = found_best[0]
    runs = [runs[i] for i in sorted(runs)]      # the enumeration's order: ties resolve as without pruning
    found = [r for r in runs if r[1][1].best is not None]
    if not found:
        raise AccelsimError(f"{layer.name}: no mapping fits {tree.file or tree.name} (every candidate's tiles "
                            "exceed a level's capacity" + (", or misses a max / min factor or the minimum "
                                                           "utilization" if utilization or pin else "")
                            + "); enlarge the inner levels or unpin or relax levels")
    bypass, (space, best, size) = min(found, key=lambda r: r[1][1].best[0])
    _, trips, orders, _, _ = best.best
    mapping = replace(space.mapping(trips, orders), bypass=bypass)
    check_mapping(tree, layer, mapping, space.problem, pin_file)
    cost = evaluate_tree(tree, layer, mapping, table)
    points = sorted(((c, e, by, sp, t, o) for by, (sp, b, _) in found for c, e, t, o in b.front),
                    key=lambda p: (p[0], p[1]))
    front, lowest = [], math.inf
    for c, e, by, sp, t, o in points:
        if e < lowest:
            front.append((replace(sp.mapping(t, o), bypass=by), c, e))
            lowest = e
    evaluated = before + sum(b.evaluated + b.screened for _, (_, b, _) in runs)
    if operand_tiles:
        mapping, cost, counted, _ = search_tiles(tree, layer, mapping, table, objective)
        evaluated += counted
        if mapping.tiles:
            front = _front(front + [(mapping, cost.total_cycles, cost.total_energy_pj)])
    sizes = [s for _, (_, _, s) in runs]
    exhaustive = all(s is not None and b.evaluated == s for _, (_, b, s) in runs)
    return TreeMapperResult(mapping=mapping, cost=cost, pareto=tuple(front), evaluated=evaluated,
                            valid=sum(b.valid for _, (_, b, _) in runs), exhaustive=exhaustive,
                            mapspace_size=sum(sizes) if exhaustive else None, seconds=time.perf_counter() - start,
                            bypass_choices=len(combos), bypass_skipped=skipped)


def _front(points: list) -> list:
    """The (mapping, cycles, energy) points no other beats in both, fastest first."""
    front, lowest = [], math.inf
    for mapping, cycles, energy in sorted(points, key=lambda p: (p[1], p[2])):
        if energy < lowest:
            front.append((mapping, cycles, energy))
            lowest = energy
    return front


def _choice_bounds(trees, layer, table, groups, imperfect=False) -> list:
    """(cycles, energy) lower bounds of each bypass choice (accelsim/loopnest/tree_bypass.py)."""
    space = _Space(trees[0], layer, table, TreeMapping(), set(), groups)
    words, mac_words = floors(space.problem)
    macs = math.prod(int(b) for b in space.problem[:7]) * max(int(space.problem[ln.P_GROUPS]), 1)
    in_use = most_in_use(trees[0], _bounds(layer, groups), imperfect)
    return [choice_bound(t, words, mac_words, macs, space.g, table, space.mac_pj, in_use) for t in trees]


def _beaten(bound, objective, incumbent, points) -> bool:
    """Whether a choice whose mappings are all at or above ``bound`` (cycles, energy) can neither beat
    the ``incumbent`` key nor enter the Pareto set of ``points``: its bound's key is worse and a
    found point is at or below it in both, not equal to it."""
    cycles, energy = bound
    if not _Best(objective)._key(cycles, energy) > incumbent:
        return False
    return any(c <= cycles and e <= energy and (c, e) != (cycles, energy) for c, e in points)


def _check_bound(bound, best, layer, bypass) -> None:
    """Every Pareto point of a searched choice is at or above the choice's bound; else the bound
    (or the engine) is wrong, and pruning with it could lose the optimum: an internal error."""
    for cycles, energy, _, _ in best.front:
        if cycles < bound[0] or energy < bound[1]:
            raise AccelsimError(f"internal error: {layer.name}, bypass {bypass}: a mapping of {cycles} cycles, "
                                f"{energy} pJ lies below the choice's bound ({bound[0]} cycles, {bound[1]} pJ); "
                                "please report it")


def _subsets(ops) -> list:
    return [tuple(c) for k in range(len(ops) + 1) for c in itertools.combinations(ops, k)]


def _search(tree, layer, table, objective, pins, pinned, left, exhaustive_limit, restarts, kicks, seed, progress,
            starts=(), limits=None, pin_file="<pins>", groups=False, utilization=0.0, imperfect=False):
    """One bypass choice: (space, best, mapspace size or None); ``best.best`` is None when nothing fits.
    ``starts``: mappings of this bypass choice the local search also climbs from; ``limits``: the
    levels' constraints (accelsim/loopnest/tree_constraints.py)."""
    space = _Space(tree, layer, table, pins, pinned, groups)
    best = _Best(objective)
    per_dim = []
    allowed, space.order_limits, space.ranges = dim_limits(space, limits or {}, _bounds(layer, groups), left,
                                                           layer.name, pin_file)
    space.min_utilization = utilization
    for d, (holders, groups) in enumerate(allowed):
        if not holders and left[d] > 1:
            raise AccelsimError(f"{layer.name}: dimension {DIMS[d]} (bound {left[d]} after the pins) has no "
                                f"level left to hold it; unpin a storage level of {tree.file or tree.name}")
        if imperfect and not groups and left[d] > 1 and len(holders) > 1:
            space.imperfect.append((d, holders, left[d]))
            facts = _imperfect_factorisations(left[d], len(holders))
        else:
            facts = _factorisations(left[d], len(holders))
        facts = in_ranges(satisfying(facts, groups), holders, space.ranges, d)
        if not facts:
            raise SpecError([Problem(pin_file, DIMS[d], f"layer {layer.name}: no split of {DIMS[d]}'s {left[d]} over "
                                                        "the levels that may hold it meets every factor given for it "
                                                        "(they multiply to more than its bound, or exceed a fan-out); "
                                                        "relax a factor")])
        group_of = [-1] * len(holders)
        for g, (idx, _) in enumerate(groups):
            for i in idx:
                group_of[i] = g
        per_dim.append((holders, facts, group_of))
    upper = math.prod(len(f) for _, f, _ in per_dim) * 15 ** len(space.storage_slots)
    size = None
    if upper <= exhaustive_limit or math.prod(len(f) for _, f, _ in per_dim) <= exhaustive_limit:
        trips = _all_trips(space, per_dim)
        if len(trips) <= SCREEN_LIMIT:
            best.screened += len(trips)
            trips = _fitting(space, trips)
        groups = _order_groups(space, trips)
        size = sum(len(members) * n for members, _, n in groups)
        if size <= exhaustive_limit:
            _exhaustive(space, trips, groups, best, size, progress)
    if best.evaluated == 0:
        given = [e for e in (space.encode(m) for m in starts) if e is not None and _in_mapspace(space, left, e[0])]
        _local_search(space, per_dim, left, best, restarts, kicks, seed, progress, given)
    return space, best, size


def _in_mapspace(space, left, trips) -> bool:
    """Whether a start's factors are in the mapspace: each dim's product its bound, or for a dim
    searched imperfectly, its outermost factor the ceiling of the rest (:meth:`_Space.normalise`)."""
    loose = {d for d, _, _ in space.imperfect}
    normal, keep = space.normalise(trips[None].copy())
    return bool(keep[0]) and all(int(np.prod(trips[:, d])) == left[d] or d in loose and normal[0, :, d].tolist()
                                 == trips[:, d].tolist() for d in range(ND))


def _all_trips(space: _Space, per_dim) -> np.ndarray:
    """Every factor assignment (the cartesian product of each dimension's factorisations) whose
    spatial axes stay within their fan-outs: ``trips[b, slot, dim]``."""
    n_slots = len(space.slots)
    tables = []
    for d, (holders, facts, _) in enumerate(per_dim):
        t = np.ones((max(len(facts), 1), n_slots), dtype=np.int64)
        for j, f in enumerate(facts):
            t[j, holders] = f
        tables.append(t)
    index = np.stack(np.meshgrid(*[np.arange(len(t)) for t in tables], indexing="ij"), axis=-1).reshape(-1, ND)
    trips = np.stack([tables[d][index[:, d]] for d in range(ND)], axis=-1)   # (b, slot, dim)
    ok = np.ones(len(trips), dtype=bool)
    for k in space.spatial_slots:
        ok &= np.prod(trips[:, k], axis=1) <= space.slots[k].fanout
    return trips[ok]


def _fitting(space: _Space, trips: np.ndarray) -> np.ndarray:
    """The factor assignments whose tiles fit every level: a tile's extents, so its footprint, do
    not depend on the loop order, so one order decides it for all of them (the mapspace counts only
    mappings that fit)."""
    if not len(trips):
        return trips
    orders = np.repeat(np.array([order_signatures(ALL)[0]] * len(space.storage_slots),
                                dtype=np.int64).reshape(1, -1, ND), len(trips), axis=0)
    keep = np.zeros(len(trips), dtype=bool)
    for lo in range(0, len(trips), CHUNK):
        part = slice(lo, lo + CHUNK)
        keep[part] = space.evaluate(trips[part], orders[part])[0]
    return trips[keep]


def _order_groups(space: _Space, trips: np.ndarray):
    """Candidates grouped by the active dims of every free storage level: (member indices, the order
    signatures per level, the number of order combinations)."""
    if not space.storage_slots:
        return [(np.arange(len(trips)), [], 1)]
    codes = np.stack([_active(trips[:, k]) for k in space.storage_slots], axis=1)
    unique, inverse = np.unique(codes, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    groups = []
    for u, row in enumerate(unique):
        reps = [space.order_reps(j, int(c)) for j, c in enumerate(row)]
        groups.append((np.flatnonzero(inverse == u), reps, math.prod(len(r) for r in reps)))
    return groups


def _exhaustive(space, trips, groups, best, size, progress) -> None:
    """Every candidate, groups gathered into batches of about :data:`CHUNK`."""
    done, pending, pending_n = 0, [], 0

    def flush():
        nonlocal done, pending, pending_n
        t = np.concatenate([p[0] for p in pending])
        o = np.concatenate([p[1] for p in pending])
        best.add(t, o, *space.evaluate(t, o))
        done += len(t)
        pending, pending_n = [], 0
        if progress is not None:
            progress(done, size)

    for members, reps, n_orders in groups:
        combos = np.array(list(itertools.product(*[range(len(r)) for r in reps])) or [()], dtype=np.int64)
        combos = combos.reshape(n_orders, len(reps))
        for lo in range(0, len(members) * n_orders, CHUNK):
            flat = np.arange(lo, min(lo + CHUNK, len(members) * n_orders))
            o = np.zeros((len(flat), len(reps), ND), dtype=np.int64)
            for j, r in enumerate(reps):
                o[:, j] = r[combos[flat % n_orders, j]]
            pending.append((trips[members[flat // n_orders]], o))
            pending_n += len(flat)
            if pending_n >= CHUNK:
                flush()
    if pending:
        flush()


def _local_search(space, per_dim, left, best, restarts, kicks, seed, progress, given=()) -> None:
    """Iterated steepest descent from the spatial unrollings with the most MACs in use and from
    ``given`` (trips, orders) states (module docstring)."""
    rng = np.random.default_rng(seed)
    starts = [_repaired(space, per_dim, left, t) for t in _spatial_starts(space, left, restarts - restarts // 2, rng)]
    if space.imperfect and starts:
        normal, keep = space.normalise(np.stack(starts))
        starts = list(normal[keep])
    base_orders = np.array([space.order_reps(j, ALL)[0] for j in range(len(space.storage_slots))],
                           dtype=np.int64).reshape(-1, ND)
    states, keys = _climb_all(space, per_dim, best, [(t, base_orders.copy()) for t in starts] + list(given)
                              + _random_starts(space, per_dim, best, restarts, rng))
    if progress is not None:
        progress(1, kicks + 1)
    for round_ in range(kicks):
        kicked = [_kick(space, per_dim, *state, rng) for state in states]
        ids = [i for i, k in enumerate(kicked) if k is not None]
        if ids:
            climbed, climbed_keys = _climb_all(space, per_dim, best, [kicked[i] for i in ids])
            for i, state, key in zip(ids, climbed, climbed_keys):
                if key is not None and (keys[i] is None or key < keys[i]):
                    states[i], keys[i] = state, key
        if progress is not None:
            progress(round_ + 2, kicks + 1)


def _random_starts(space, per_dim, best, count: int, rng, tries: int = 64) -> list:
    """``count`` starts drawn uniformly from the mapspace that fit (each dimension's split over its
    slots and each free level's order signature at random; ``tries`` x ``count`` drawn and counted
    in one batch, the first that fit kept): starts all over the mapspace, not only at the backing
    store, so that basins far from it are climbed too."""
    n = count * tries
    if count <= 0 or not space.storage_slots and not space.spatial_slots:
        return []
    trips = np.ones((n, len(space.slots), ND), dtype=np.int64)
    for d, (holders, facts, _) in enumerate(per_dim):
        if len(facts) > 1 or (facts and any(f > 1 for f in facts[0])):
            pick = rng.integers(len(facts), size=n)      # only the drawn splits become an array
            trips[:, holders, d] = (facts.rows(pick) if isinstance(facts, _Splits) else
                                    np.array([facts[i] for i in pick], dtype=np.int64).reshape(n, len(holders)))
    ok = np.ones(n, dtype=bool)
    for k in space.spatial_slots:
        ok &= np.prod(trips[:, k], axis=1) <= space.slots[k].fanout
    trips = trips[ok]
    orders = np.zeros((len(trips), len(space.storage_slots), ND), dtype=np.int64)
    for j, k in enumerate(space.storage_slots):
        active = _active(trips[:, k])
        for code in np.unique(active):
            rows = np.flatnonzero(active == code)
            reps = space.order_reps(j, int(code))
            orders[rows, j] = reps[rng.integers(len(reps), size=len(rows))]
    if not len(trips):
        return []
    valid, cycles, energy = space.evaluate(trips, orders)
    best.add(trips, orders, valid, cycles, energy)
    return [(trips[i], orders[i]) for i in np.flatnonzero(valid)[:count]]


def _spatial_starts(space, left, restarts: int, rng) -> list:
    """``restarts`` distinct starting mappings, every temporal trip at the outermost free storage
    level. Up to 4,096 spatial unrollings: half those with the most MACs in use, half spread evenly
    over the others. More: the first half fill each spatial axis greedily (the largest factor of each dimension that
    still fits, dimensions in a random order after the first start's largest-bound-first), the rest
    take a random fitting factor per dimension (fewer MACs in use, less traffic)."""
    top = space.storage_slots[0] if space.storage_slots else None
    holders = [[k for k in space.spatial_slots if d in space.slots[k].dims] for d in range(ND)]
    options = [_factor_choices(left[d], [space.slots[k].fanout for k in holders[d]]) for d in range(ND)]
    if math.prod(len(o) for o in options) <= 4096:
        # few enough: every spatial unrolling (in itertools.product's order), half the starts using
        # the most MACs, half spread
        tables = []
        for d in range(ND):
            t = np.ones((len(options[d]), len(space.slots)), dtype=np.int64)
            for row, combo in enumerate(options[d]):
                t[row, holders[d]] = combo
            tables.append(t)
        index = np.stack(np.meshgrid(*[np.arange(len(t)) for t in tables], indexing="ij"), axis=-1).reshape(-1, ND)
        every = np.stack([tables[d][index[:, d]] for d in range(ND)], axis=-1)      # (b, slot, dim)
        used = np.ones(len(every), dtype=np.int64)
        for k in space.spatial_slots:
            axis = np.prod(every[:, k], axis=1)
            every = every[axis <= space.slots[k].fanout]
            used = used[axis <= space.slots[k].fanout] * axis[axis <= space.slots[k].fanout]
        extent = np.prod(every, axis=1)                                               # (b, dim)
        if top is not None:
            every[:, top] = np.asarray(left, dtype=np.int64) // extent
        else:
            whole = (extent == np.asarray(left, dtype=np.int64)).all(axis=1)
            every, used = every[whole], used[whole]
        every = list(every[np.argsort(-used, kind="stable")])
        if len(every) <= restarts:
            return every
        head = max(restarts - restarts // 2, 1)
        spread = np.linspace(head, len(every) - 1, restarts - head).round().astype(int)
        return every[:head] + [every[i] for i in spread]
    out, seen = [], set()
    greedy = max(restarts - restarts // 2, 1)
    loose = {d for d, _, _ in space.imperfect}   # a partial last tile allowed: any factor up to the room
    for attempt in range(20 * max(restarts, 1)):
        if len(out) >= max(restarts, 1):
            break
        rest = list(left)
        t = np.ones((len(space.slots), ND), dtype=np.int64)
        for k in space.spatial_slots:
            room = space.slots[k].fanout
            dims = [d for d in space.slots[k].dims if rest[d] > 1]
            if attempt == 0:
                dims.sort(key=lambda d: -rest[d])
            else:
                dims = [dims[i] for i in rng.permutation(len(dims))]
            for d in dims:
                fits = list(range(1, min(room, rest[d]) + 1)) if d in loose else \
                    [q for q in _divisors(rest[d]) if q <= room]
                f = fits[-1] if len(out) < greedy else fits[int(rng.integers(len(fits)))]
                t[k, d] = f
                rest[d] = -(-rest[d] // f)
                room //= f
        if top is not None:
            t[top] = rest
        elif any(r > 1 for r in rest):
            continue
        key = t.tobytes()
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def _climb_all(space, per_dim, best, states):
    """Steepest descent from several mappings at once (one kernel call per step for all of them):
    the local optima [(trips, orders)] and their objective keys (None where no valid mapping was
    reached)."""
    fixed = space.fix_orders(np.stack([s[1] for s in states]))
    states = [(t, o) for (t, _), o in zip(states, fixed)]
    valid, cycles, energy = space.evaluate(np.stack([s[0] for s in states]), np.stack([s[1] for s in states]))
    best.add(np.stack([s[0] for s in states]), np.stack([s[1] for s in states]), valid, cycles, energy)
    keys = [best._key(int(c), float(e)) if v else None for v, c, e in zip(valid, cycles, energy)]
    active = list(range(len(states)))
    while active:
        parts = [_neighbours(space, per_dim, *states[i]) for i in active]
        ends = np.cumsum([len(p[0]) for p in parts])
        if not ends[-1]:
            break
        nt = np.concatenate([p[0] for p in parts])
        no = np.concatenate([p[1] for p in parts])
        valid, cycles, energy = space.evaluate(nt, no)
        best.add(nt, no, valid, cycles, energy)
        moving = []
        for i, lo, hi in zip(active, np.concatenate(([0], ends[:-1])).tolist(), ends.tolist()):
            sel = lo + np.flatnonzero(valid[lo:hi])      # this climber's neighbours, a contiguous block
            if not len(sel):
                continue
            b = sel[np.lexsort(_score(best.objective, cycles[sel], energy[sel]))[0]]
            key = best._key(int(cycles[b]), float(energy[b]))
            if keys[i] is not None and key >= keys[i]:
                continue
            keys[i], states[i] = key, (nt[b], no[b])
            moving.append(i)
        active = moving
    return states, keys


def _kick(space, per_dim, trips, orders, rng, moves: int = 3):
    """A random perturbation of a local optimum: ``moves`` random factor moves (iterated local search)."""
    for _ in range(moves):
        nt, no = _neighbours(space, per_dim, trips, orders)
        if not len(nt):
            return None
        pick = int(rng.integers(len(nt)))
        trips, orders = nt[pick], no[pick]
    return trips, orders


def _factor_choices(n: int, limits: list) -> list:
    """Tuples of factors, one per limit and at most it, whose product divides n."""
    if not limits:
        return [()]
    return [(d,) + rest for d in _divisors(n) if d <= limits[0] for rest in _factor_choices(n // d, limits[1:])]


def _neighbours(space, per_dim, trips, orders):
    """Every mapping one step away: one prime factor of one dimension moved between two slots that
    may hold it (fan-outs kept), or one storage level's order changed to another signature. (Moving
    any divisor instead was tried: on the ResNet-18 layer on simba_like it ends 2% worse in energy.)"""
    table = trips.tolist() if space.imperfect else None
    blocks = [_dim_moves(space, per_dim, d, trips[:, d]) for d in range(ND)]
    blocks = [m for m in blocks if len(m)]
    out_t = []
    if blocks:
        a, b, d, q = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]
        i = np.arange(len(b))
        t = np.repeat(trips[None], len(b), axis=0)
        t[i, a, d] //= q
        t[i, b, d] *= q
        if space.imperfect:
            t, keep = space.normalise(t)
        else:
            fanout = space.fanouts[b]
            keep = (fanout == 0) | (np.prod(t[i, b], axis=1) <= fanout)
        out_t.append(t[keep])
    if space.imperfect:
        # an inner holder's factor one up or down, the outermost's the ceiling of what is left
        steps = [(k, d, step) for d, holders, _ in space.imperfect for k in holders[1:] for step in (-1, 1)
                 if table[k][d] + step >= 1]
        if steps:
            k, d, step = np.array(steps, dtype=np.int64).T
            t = np.repeat(trips[None], len(steps), axis=0)
            t[np.arange(len(steps)), k, d] += step
            t, keep = space.normalise(t)
            out_t.append(t[keep])
    out_o = [np.repeat(orders[None], sum(len(t) for t in out_t), axis=0)] if out_t else []
    out_t = [np.concatenate(out_t)] if out_t else []
    if space.storage_slots:
        codes = (trips[space.storage_slots] > 1) @ _BITS
        n_extra = 0
        for j, active in enumerate(codes.tolist()):
            other = _other_orders(space, j, active, orders[j])
            if len(other):
                o = np.repeat(orders[None], len(other), axis=0)
                o[:, j] = other
                out_o.append(o)
                n_extra += len(other)
        if n_extra:
            out_t.append(np.repeat(trips[None], n_extra, axis=0))
    if not out_t:
        return np.zeros((0,) + trips.shape, dtype=np.int64), np.zeros((0,) + orders.shape, dtype=np.int64)
    return np.concatenate(out_t), space.fix_orders(np.concatenate(out_o))


def _dim_moves(space, per_dim, d: int, column: np.ndarray) -> np.ndarray:
    """The prime-factor moves of dim ``d`` from a state whose trips of it over the slots are
    ``column``: rows (from slot, to slot, dim, prime), holders in order, each trip's primes in
    ``set`` order, targets in order (memoised on the space by the column)."""
    key = (d, column.tobytes())
    found = space.move_cache.get(key)
    if found is None:
        rows = []
        for a, to in _move_pairs(space, per_dim)[d]:
            trip = int(column[a])
            if trip == 1 or not len(to):
                continue
            for q in _prime_set(trip):
                rows.extend((a, int(b), d, q) for b in to)
        found = space.move_cache[key] = np.array(rows, dtype=np.int64).reshape(-1, 4).T
    return found


def _move_pairs(space, per_dim) -> list:
    """Per dim: [(slot, [slots a prime factor may move to from it])], holders in order (the
    neighbours' order): the other holders of the same constraint group (memoised on the space)."""
    if space.pairs is None:
        space.pairs = [[(a, np.array([b for j, b in enumerate(holders) if b != a and group_of[i] == group_of[j]],
                                     dtype=np.int64)) for i, a in enumerate(holders)]
                       for holders, _, group_of in per_dim]
    return space.pairs


_PRIME_SETS: dict = {}


def _prime_set(n: int) -> tuple:
    """``set(_primes(n))`` as a tuple, in the set's own iteration order (memoised)."""
    out = _PRIME_SETS.get(n)
    if out is None:
        out = _PRIME_SETS[n] = tuple(set(_primes(n)))
    return out


def _other_orders(space, j: int, active: int, order: np.ndarray) -> np.ndarray:
    """The order representatives of free storage slot ``j`` whose signature differs from
    ``order``'s (memoised on the space by the slot, the active dims and the order)."""
    key = (j, active, order.tobytes())
    found = space.other_reps.get(key)
    if found is None:
        reps, keys = _rep_signatures(space, j, active)
        mine = _signature_key(order, active)
        found = space.other_reps[key] = reps[[r for r, k in enumerate(keys) if k != mine]]
    return found


def _rep_signatures(space, j: int, active: int):
    """(the order representatives of free storage slot ``j`` for ``active`` dims, their signature
    keys), memoised on the space."""
    key = (j, active)
    found = space.rep_keys.get(key)
    if found is None:
        reps = space.order_reps(j, active)
        found = space.rep_keys[key] = (reps, [_signature_key(rep, active) for rep in reps])
    return found


_SIGNATURES: dict = {}
_BITS = 1 << np.arange(ND, dtype=np.int64)


def _signature_key(order, active: int) -> tuple:
    """A level's order signature (module docstring): per operand, the set of dims after its
    innermost relevant loop of more than one trip, for the dims in bitmask ``active`` (memoised on
    the order and the active dims)."""
    key = (np.asarray(order, dtype=np.int8).tobytes(), active)
    found = _SIGNATURES.get(key)
    if found is None:
        active_order = [int(d) for d in order if active >> int(d) & 1]
        found = _SIGNATURES[key] = tuple(frozenset(_tail(active_order, op)) for op in range(3))
    return found


def map_workload(tree: ArchTree, workload, table: EnergyTable | None, objective: str = "edp", progress=None,
                 pins=None, pin_file: str = "<pins>", starts=None, **options) -> dict:
    """:func:`map_layer` for every MAC layer of ``workload``: {layer name: TreeMapperResult}.
    ``pins``: one partial mapping for every layer, or ``{layers: {layer name: partial mapping}}``
    (:func:`layer_pins`). ``starts(layer)``: extra start mappings of a layer (map_layer's
    ``starts``). ``progress(index, count, layer name, result)`` after each layer."""
    layers = [layer for layer in workload.layers if layer.is_mac]
    per_layer = layer_pins(pins, layers, pin_file)
    problems = []
    for layer in layers:        # every layer's pin problems in one report, before any search
        pin, where = per_layer.get(layer.name, (None, pin_file))
        try:
            _pins(tree, layer, pin, where, maps_groups(tree, layer, pin))
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    out, failed = {}, []
    for index, layer in enumerate(layers, 1):
        pin, where = per_layer.get(layer.name, (None, pin_file))
        extra = tuple(starts(layer)) if starts is not None else ()
        try:    # a layer nothing fits does not stop the others: every failure in one report, none lost
            out[layer.name] = map_layer(tree, layer, table, objective, pin=pin, pin_file=where, starts=extra,
                                        **options)
        except AccelsimError as exc:
            failed.append(str(exc))
            continue
        if progress is not None:
            progress(index, len(layers), layer.name, out[layer.name])
    if failed:
        raise PartialMapping(out, list(dict.fromkeys(failed)), len(failed), len(layers))
    return out



def layer_pins(pins, layers, file: str) -> dict:
    """{layer name: (partial mapping, where)} from a pin file's content: ``{layers: {name: partial}}``
    pins the named layers, any other mapping pins every layer with MACs."""
    if pins is None:
        return {}
    if not isinstance(pins, dict):
        raise SpecError([Problem(file, "", "must be a mapping of level names to their loops, or "
                                           "`layers: {layer name: {level: loops}}`")])
    if set(pins) != {"layers"}:
        return {layer.name: (pins, file) for layer in layers}
    entries = pins["layers"] or {}
    names = [layer.name for layer in layers]
    problems = [Problem(file, f"layers.{name}", f"no layer with MACs named {name!r}{did_you_mean(name, names)}")
                for name in entries if name not in names]
    if problems:
        raise SpecError(problems)
    return {name: (entry, f"{file}: layers.{name}") for name, entry in entries.items()}


def search_columns(layers, found: dict, tree: ArchTree, objective: str, imperfect: bool = False):
    """``layers`` (simulate_tree's table) with the search's columns (``dataflow`` = ``mapper``,
    ``objective``, ``search``: exhaustive or local search, ``mapspace``: perfect or imperfect
    (factorisations), ``mappings_evaluated``, ``mapper_seconds``), and the Pareto table: one row per (layer, Pareto mapping) with
    ``total_cycles``, ``energy_pj``, ``chosen`` and the mapping as a loop nest (accelsim.table.Tables)."""
    from ..table import Table

    layers = layers.copy()
    names = layers["layer"].tolist()
    mapped = [name for name in names if name in found]
    mac = np.array([name in found for name in names], dtype=bool)
    layers.set_rows("dataflow", mac, "mapper")
    layers.set_rows("objective", mac, objective)
    layers.set_rows("search", mac, ["exhaustive" if found[name].exhaustive else "local search" for name in mapped])
    layers.set_rows("mapspace", mac, "imperfect" if imperfect else "perfect")
    layers["mappings_evaluated"] = np.array([found[name].evaluated if name in found else 0 for name in names],
                                            dtype=np.int64)
    layers.set_rows("mapper_seconds", mac, np.array([found[name].seconds for name in mapped], dtype=np.float64))
    rows = []
    for name, result in found.items():
        for mapping, cycles, energy in result.pareto:
            rows.append({"layer": name, "total_cycles": cycles, "energy_pj": energy,
                         "chosen": mapping == result.mapping, "mapping": mapping.describe(tree)})
    return layers, Table.from_records(rows, columns=["layer", "total_cycles", "energy_pj", "chosen", "mapping"])
