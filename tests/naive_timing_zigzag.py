"""ZigZag 3.9.1's latency model (accelsim/loopnest/timing_zigzag.py, whose docstring cites every rule)
written step by step in Python over lists and dicts, slow and obviously like ZigZag's
zigzag/cost_model/cost_model.py: the oracle the numba kernel (accelsim/kernels/treetiming.py
``zigzag_batch``) is checked against in tests/test_timing_zigzag.py."""
from __future__ import annotations

import itertools
import math
import operator
from dataclasses import dataclass

import numpy as np

from accelsim.kernels import loopnest as ln
from accelsim.kernels import nest, treetiming
from accelsim.loopnest.timing_zigzag import _DIRECTION, FH, FL, TH, TL, ZigZagLatency, _ports  # noqa: F401
from accelsim.spec.arch import OPERANDS, ArchTree

#: ZigZag's layer operand order (O, W, I: the equation's order, layer_node.py 177) and input order.
_ORDER = ("ofmap", "filter", "ifmap")
_INPUTS = ("filter", "ifmap")
#: dims of the ifmap window: (output dim, filter dim) pairs, ZigZag's partially relevant loops
_WINDOW = ((ln.D_E, ln.D_R), (ln.D_F, ln.D_S))
_PR = {ln.D_E, ln.D_R, ln.D_F, ln.D_S}
#: per operand, the dimensions whose trips multiply its words (the ifmap's window ones apart)
_PLAIN = [[d for d in range(nest.NDIMS) if nest.RELEVANCE8[k, d] and not (OPERANDS[k] == "ifmap" and d in _PR)]
          for k in range(3)]
#: per operand and dimension: 'r', 'ir' or 'pr' (:func:`_kind`)
_KINDS = [["pr" if OPERANDS[k] == "ifmap" and d in _PR else "r" if nest.RELEVANCE8[k, d] else "ir"
           for d in range(nest.NDIMS)] for k in range(3)]


@dataclass(frozen=True)
class _Problem:
    """The layer's figures the model reads: the eight dimensions' bounds, stride and dilation (H, W)."""

    bounds: tuple
    stride: tuple
    dilation: tuple

    @staticmethod
    def of(problem: np.ndarray) -> "_Problem":
        return _Problem(tuple(int(b) for b in problem[:7]) + (max(int(problem[ln.P_GROUPS]), 1),),
                        (int(problem[ln.P_STRIDE_H]), int(problem[ln.P_STRIDE_W])),
                        (int(problem[ln.P_DIL_H]), int(problem[ln.P_DIL_W])))


def _kind(k: int, d: int) -> str:
    """'r', 'ir' or 'pr' (the ifmap's window loops: neither) of dimension d for operand k."""
    return _KINDS[k][d]


def _footprint(k: int, loops, problem) -> int:
    """Words of operand k a set of loops ((dim, trip) pairs) covers: relevant trips multiplied (each
    dimension's product at most its bound: an imperfect factorisation's largest tile); the ifmap per
    axis the input positions ``stride x e + dilation x r`` takes over e < E, r < R, ``E R - max(0, R -
    stride / g) (E - dilation / g)`` with g their gcd (ZigZag's ``calc_pr_dimension_size``,
    zigzag/workload/layer_node.py 316-322: a strided 1x1 filter touches E of the (E - 1) x stride + 1;
    the loops' decoupling into data and reuse, mapping_assist_funcs.py 13-93, multiplies to it)."""
    size = [1] * nest.NDIMS
    for d, t in loops:
        size[d] *= t
    size = [min(a, b) for a, b in zip(size, problem.bounds)]    # a partial last tile holds what is left
    words = 1
    for d in _PLAIN[k]:
        words *= size[d]
    if OPERANDS[k] == "ifmap":
        for (de, dr), stride, dilation in zip(_WINDOW, problem.stride, problem.dilation):
            a, b, g = size[de], size[dr], math.gcd(stride, dilation)
            words *= a * b - max(0, b - stride // g) * (a - dilation // g)
    return words


def _top(loops, k, kind) -> int:
    """Product of the outermost loops of ``loops`` (innermost first) of ``kind``, up to the first
    other one (temporal_mapping.py 138-170)."""
    out = 1
    for d, t in reversed(loops):
        if _kind(k, d) != kind:
            break
        out *= t
    return out


def _merge_down(k: int, tm: list) -> tuple[list, int]:
    """ZigZag's ``innermost_stationary_loop_merge_down`` (temporal_mapping.py 60-113): repeat until
    nothing moves; returns the stationary loops per memory (innermost first) and ``mac_st``."""
    previous = [list(level) for level in tm]
    while True:
        current = [list(level) for level in previous]
        st = [[] for _ in previous]
        mac_st = 1
        for m, loops in enumerate(previous):
            for d, t in loops:
                if _kind(k, d) == "ir":
                    if m == 0:
                        mac_st *= t
                        st[0].append((d, t))
                    else:
                        st[m - 1].append((d, t))
                    current[m].remove((d, t))
                else:
                    st[m].extend(current[m])
                    break
        if st == previous:
            return st, mac_st
        previous = st


class _Operand:
    """One operand's memories, loops and per-direction transfers (module docstring, steps 1-3)."""

    def __init__(self, tree: ArchTree, k: int, rows, problem, precision: dict, cuts=None):
        op = OPERANDS[k]
        self.k, self.op = k, op
        keepers = [i for i, lv in enumerate(tree.levels) if lv.kind == "storage" and lv.keeps(op)]
        self.mems = keepers[::-1]                           # innermost first
        n = self.n = len(self.mems)
        # each memory's tile: the rows from its cut on (its own and lower levels' loops, or the
        # per-operand cut of tree.py ``tile_cuts``)
        first = [next((r for r in range(len(rows)) if rows[r][nest.R_LEVEL] >= i), len(rows)) for i in self.mems]
        cut = [int(cuts[i, k]) if cuts is not None and cuts[i, k] >= 0 else first[m] for m, i in enumerate(self.mems)]
        tm = [[] for _ in range(n)]
        su = [[] for _ in range(n + 1)]
        for r in range(len(rows) - 1, -1, -1):              # innermost first
            d, t, spatial, level = rows[r]          # R_DIM, R_TRIP, R_SPATIAL, R_LEVEL
            if t <= 1:
                continue
            if spatial:
                su[sum(1 for i in keepers if i > level)].append((d, t))
            else:
                tm[next(m for m in range(n) if r >= cut[m])].append((d, t))
        st, mac_st = _merge_down(k, tm)
        self.cabl = list(itertools.accumulate((math.prod(t for _, t in level) for level in st), operator.mul))
        self.total = int(self.cabl[-1]) if n else 1
        self.top_r = [1] + [_top(level, k, "r") for level in st]
        self.top_ir = [1] + [_top(level, k, "ir") for level in st]
        # psum_flag (mapping.py 121-144), per mem level plus a False on top
        ir_at = [any(_kind(k, d) == "ir" for d, _ in (st[a - 1] if a else []) + su[a]) for a in range(n + 1)]
        self.psum = [any(ir_at[m + 1:]) for m in range(n)] + [False]
        if op == "ofmap":
            self.prec = [precision["ofmap"] if self.psum[a] else precision["final"] for a in range(n + 1)]
        else:
            self.prec = [precision[op]] * (n + 1)
        # data per instance at arch level a: the loops of memories < a and the unrolling below a
        self.data = [_footprint(k, [x for m in range(a) for x in st[m] + su[m]], problem) for a in range(n + 1)]
        self.bits = [self.data[a] * self.prec[a] for a in range(n + 1)]
        self.effective_bits = [self.bits[a] // self.top_r[a] for a in range(n + 1)]
        # unique tiles the unrolling at arch level a serves (spatial_mapping_internal.py 95-158)
        unique = [_footprint(k, [x for b in range(a, n + 1) for x in su[b]], problem) if OPERANDS[k] != "ifmap"
                  else _spatial_unique(k, su, a, problem) for a in range(n + 1)]
        self.boost = [round(unique[a] / unique[a + 1]) for a in range(n)] + [1]
        cycle = [mac_st if op != "ofmap" else 1] + [int(c) for c in self.cabl]
        self.moves = {}
        for m in range(n):
            low = self.data[m] * self.prec[m] / cycle[m]
            high = self.data[m + 1] * self.prec[m + 1] / cycle[m + 1]
            down = dict(bw=int(low * self.boost[m]), period=int(cycle[m]), count=int(self.total // cycle[m]),
                        amount=self.data[m] * self.boost[m])
            up = dict(bw=int(high), period=int(cycle[m + 1]), count=int(self.total // cycle[m + 1]),
                      amount=self.data[m + 1])
            if op != "ofmap":
                moves = {TL: dict(down, prec=self.prec[m]), FH: dict(up, prec=self.prec[m])}
            else:
                moves = {FL: dict(down, amount=int(down["amount"]),
                                  prec=precision["ofmap"] if self.psum[m] else precision["final"]),
                         TH: dict(up, prec=precision["ofmap"] if self.psum[m + 1] else precision["final"])}
                if self.psum[m]:
                    moves[TL] = dict(moves[FL])
                if self.psum[m + 1]:
                    moves[FH] = dict(moves[TH])
            if m == n - 1:                                # mapping.py 670-677
                moves.pop(TH, None)
                moves.pop(FH, None)
            for direction, move in moves.items():
                scale = int(self.top_ir[m] if direction in (TL, FL) else self.top_ir[m + 1])
                move["window"] = int(move["period"] / scale)
            self.moves[m] = moves


def _spatial_unique(k, su, a, problem) -> int:
    """The ifmap's unique tiles over the unrolling at arch levels >= a: the window of all unrolled
    loops over the window of those below a (ZigZag decouples the window loops over the spatial
    loops alone, mapping_assist_funcs.py 13-93)."""
    every = [x for b in range(len(su)) for x in su[b]]
    below = [x for b in range(a) for x in su[b]]
    return _footprint(k, every, problem) / _footprint(k, below, problem)


def _integer_unrolling(rows: list, problem: _Problem) -> list:
    """ZigZag's latency runs the *integer* unrolling of a dimension that the array does not divide
    (zigzag/stages/mapping/spatial_mapping_conversion.py 176-187, ``allow_decimal_sm_loop_size``
    false; the cost model's ``spatial_mapping_int``, cost_model.py 349-353): the largest spatial
    factor ``u`` of dimension d, with the others ``e``, becomes ``int(bound / ceil(bound / (u x e)) /
    e)`` (14 over 4: 3; 128 over 14: 12), the temporal loops unchanged. A partial last tile of the
    pinned mapping thus runs as ZigZag times it: fewer positions per step."""
    rows = [list(r) for r in rows]
    bounds = problem.bounds
    for d in {r[nest.R_DIM] for r in rows if r[nest.R_SPATIAL] == 1 and r[nest.R_TRIP] > 1}:
        spatial = [i for i, r in enumerate(rows) if r[nest.R_SPATIAL] == 1 and r[nest.R_DIM] == d and r[nest.R_TRIP] > 1]
        top = max(spatial, key=lambda i: (rows[i][nest.R_TRIP], -i))
        others = math.prod(rows[i][nest.R_TRIP] for i in spatial if i != top)
        u = rows[top][nest.R_TRIP]
        rows[top][nest.R_TRIP] = max(1, int(bounds[d] / math.ceil(bounds[d] / (u * others)) / others))
    return rows


def latency(tree: ArchTree, rows: np.ndarray, problem: np.ndarray, cuts=None) -> ZigZagLatency:
    """ZigZag's latency of one group of the mapping ``rows`` (accelsim/kernels/nest.py's layout,
    outermost first, trip-1 padding allowed) on ``tree`` (after bypass), with the per-operand tile
    ``cuts`` of accelsim/loopnest/tree.py ``tile_cuts`` where the mapping gives them; module docstring."""
    compute = next(lv for lv in tree.levels if lv.kind == "compute")
    top = next(lv for lv in tree.levels if lv.kind == "storage" and lv.keeps("ofmap"))
    precision = {"ifmap": compute.ifmap_bits, "filter": compute.filter_bits, "ofmap": compute.accumulator_bits,
                 "final": top.word_bits["ofmap"]}
    problem = _Problem.of(problem)
    pinned = rows.tolist()
    unrolled = _integer_unrolling(pinned, problem)
    ops = {op: _Operand(tree, OPERANDS.index(op), unrolled, problem, precision, cuts) for op in _ORDER}
    total = ops["ofmap"].total
    mem_of = {(op, i): m for op, o in ops.items() for m, i in enumerate(o.mems)}
    # double buffering (cost_model.py 441-485, 635-667)
    # a partitioned level (capacity per operand) is one memory per operand, shared by none
    def size(op, i):
        lv = tree.levels[i]
        return lv.size_bits if lv.size_bits is not None else lv.size_bits_by_operand[op]

    def sharing(op, i):
        return [op2 for op2 in ops if (op2, i) in mem_of] if tree.levels[i].size_bits is not None else [op]

    individual = {(op, m): o.effective_bits[m + 1] / size(op, i) for op, o in ops.items() for m, i in enumerate(o.mems)}
    shared = {(op, m): sum(individual[(op2, mem_of[(op2, i)])] for op2 in sharing(op, i))
              for op, o in ops.items() for m, i in enumerate(o.mems)}
    double = {}
    for op in _ORDER:
        o = ops[op]
        double[op] = [False]
        for m, i in enumerate(o.mems):
            if shared[(op, m)] <= 0.5:
                double[op].append(True)
            elif individual[(op, m)] <= 1 - shared[(op, m)]:
                double[op].append(True)
                for op2 in sharing(op, i):
                    shared[(op2, mem_of[(op2, i)])] += individual[(op, m)]
            else:
                double[op].append(False)
    # real and allowed cycles per transfer (cost_model.py 669-729)
    ports = {}                                   # storage level -> [(bits, [(op, m, direction)])]
    for i, lv in enumerate(tree.levels):
        if lv.kind == "storage":
            ports[i] = [(bits, [(op, mem_of[(op, i)], d) for op, d in served if (op, i) in mem_of])
                        for bits, served in _ports(tree, i)]
    port_bits = {}
    for i, plist in ports.items():
        for bits, served in plist:
            for op, m, d in served:
                port_bits[(op, m, d)] = bits[op]
    for op, o in ops.items():
        for m, moves in o.moves.items():
            for d, move in moves.items():
                bw = port_bits.get((op, m, d), math.inf)
                move["real"] = 0 if math.isinf(bw) else math.ceil(move["amount"] * move["prec"] / bw)
                move["allowed"] = move["period"] if double[op][m + 1 if d in (TH, FH) else m] else move["window"]
    # stall per port (cost_model.py 731-807)
    stall, stall_level = 0, "compute"
    for i, plist in ports.items():
        for _bits, served in plist:
            acts = [ops[op].moves[m][d] for op, m, d in served if d in ops[op].moves[m] and ops[op].moves[m][d]["count"]]
            if not acts:
                continue
            if len(acts) == 1:
                comb = (acts[0]["real"] - acts[0]["allowed"]) * (acts[0]["count"] - 1)
            else:
                union = int(treetiming.window_union(np.array([a["period"] for a in acts], dtype=np.int64),
                                                    np.array([a["allowed"] for a in acts], dtype=np.int64),
                                                    np.array([a["count"] for a in acts], dtype=np.int64)))
                each = [(a["real"] - a["allowed"]) * (a["count"] - 1) for a in acts]
                windows = sum(a["allowed"] * (a["count"] - 1) for a in acts)
                comb = sum(x for x in each if x > 0) + max(0, sum(x for x in each if x <= 0) + windows - union)
            if comb > stall:
                stall, stall_level = comb, tree.levels[i].name
    # on-loading and off-loading per port (cost_model.py 809-967)
    loading = {}                                 # (op, m, direction) -> (cycles, port shared by both inputs)
    computation = total + stall
    for i, plist in ports.items():
        for bits, served in plist:
            both = len({op for op, _, _ in served if op in _INPUTS}) > 1
            width = max(bits.values())
            once, repeated = [], []
            for op, m, d in served:
                move = ops[op].moves[m].get(d)
                if op == "ofmap" and d in (TL, FH) or move is None or move["count"] == 0:
                    continue
                (once if move["count"] == 1 else repeated).append((op, m, d))
            busy = sum(math.ceil(ops[op].moves[m][d]["bw"]) for op, m, d in repeated)
            surplus = 0.0 if math.isinf(width) else max(0.0, (width - busy) / width * computation)
            need = [ops[op].moves[m][d]["real"] for op, m, d in once]
            least = [0 if math.isinf(width) else math.ceil(ops[op].bits[1] / width) for op, m, d in once]
            left = _reduce_ordered(need, least, surplus)
            for (op, m, d), cycles in zip(once, left):
                loading[(op, m, d)] = (cycles, both)
            for op, m, d in repeated:
                loading[(op, m, d)] = (ops[op].moves[m][d]["real"], both)
    parts = {}
    links = []                                   # (cycles, storage level charged)
    for op in _INPUTS:
        o = ops[op]
        individual_part = half = shared_part = 0
        for m in range(o.n - 1):
            c1, s1 = loading.get((op, m, FH), (0, False))
            c2, s2 = loading.get((op, m + 1, TL), (0, False))
            longest = max(c1, c2)
            links.append((longest, o.mems[m]))
            if not s1 and not s2:
                individual_part += longest
            elif s1 and s2:
                shared_part += longest
            else:
                half = longest                   # cost_model.py 1009: ZigZag assigns, not adds
        parts[op] = (individual_part, half, shared_part)
    (i1, h1, s1), (i2, h2, s2) = parts["filter"], parts["ifmap"]
    onloading = min(s1 + max(s2 + h2 + i2, h1 + i1), s2 + max(s1 + h1 + i1, h2 + i2))
    o = ops["ofmap"]
    off_links = [(max(loading.get(("ofmap", m, TH), (0,))[0], loading.get(("ofmap", m + 1, FL), (0,))[0]), o.mems[m])
                 for m in range(o.n - 1)]
    offloading = sum(c for c, _ in off_links)
    drain = 0
    for at, lv in enumerate(tree.levels):
        if lv.kind == "spatial" and lv.interconnect == "systolic":
            # ZigZag's drain counts the unrolling it was given (``ceil(utilization)``), not the integer one
            used = math.prod(r[nest.R_TRIP] for r in pinned if r[nest.R_SPATIAL] == 1 and r[nest.R_LEVEL] == at)
            drain += max(used - 1, 0)

    def charged(items):
        cycles, level = max(items, key=lambda x: x[0], default=(0, None))
        return tree.levels[level].name if level is not None and cycles else "compute"

    return ZigZagLatency(ideal=int(total), stall=int(stall), onloading=int(math.ceil(onloading)),
                         offloading=int(math.ceil(offloading)), systolic_drain=int(drain), stall_level=stall_level,
                         onloading_level=charged(links), offloading_level=charged(off_links))


def _reduce_ordered(need: list, least: list, surplus: float) -> list:
    """ZigZag's ``reduce_ordered`` (cost_model.py 1198-1231): take ``surplus`` cycles off the longest
    transfers first, none below its ``least``."""
    left = list(need)
    for i in sorted(range(len(need)), key=lambda i: need[i], reverse=True):
        if surplus <= 0:
            break
        cut = min(max(0.0, left[i] - least[i]), surplus)
        left[i] -= cut
        surplus -= cut
    return left
