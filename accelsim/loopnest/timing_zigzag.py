"""ZigZag's latency model (a tree's ``timing: zigzag``, which ``accelsim import zigzag`` writes), for
like-for-like cycles with ZigZag 3.9.1 ([zigzag]; zigzag-dse 3.9.1, ``zigzag/cost_model/cost_model.py``
``CostModelEvaluation.calc_latency`` and ``zigzag/mapping/mapping.py``, ``temporal_mapping.py``,
``spatial_mapping_internal.py``; line numbers below are of that release).

ZigZag sees each operand's memories, innermost first, as ``mem`` levels ``m = 0 .. n-1`` with the
temporal loops between them, and *arch* levels ``a = 0 .. n`` for the spatial unrolling below each
memory (``a = 0``: right above the MACs). From the tree: an operand's memories are the storage levels
that keep it; a temporal loop belongs to the innermost of them at or above its tree level; a spatial
factor to the arch level of the memories below it. Per mapping (one group; a layer's G groups run one
after another, every figure times G):

0. *Integer unrolling*: where a spatial factor ``u`` does not divide its dimension (with the
   dimension's other spatial factors ``e``), ZigZag's latency runs ``int(bound / ceil(bound / (u x e)) /
   e)`` (zigzag/stages/mapping/spatial_mapping_conversion.py 176-187, ``allow_decimal_sm_loop_size``
   false; cost_model.py 349-353, ``spatial_mapping_int``): 14 over 4 runs 3, 128 over 14 runs 12. Its
   energy and its double-buffer test use a fractional unrolling; this model the integer one.
1. *Stationarity* (temporal_mapping.py 60-113): the innermost loops of a memory that do not index the
   operand move down to the memory below (the MACs' period for the innermost, ``mac_st``). A memory's
   *period* is the product of its and the lower memories' loops (``cycle_cabl_level``, 115-136). A
   tile's words: relevant trips multiplied (each dimension at most its bound), and per ifmap axis the
   positions ``stride x e + dilation x r`` takes, ``E R - max(0, R - stride/g)(E - dilation/g)``, g
   their gcd (zigzag/workload/layer_node.py 316-322 ``calc_pr_dimension_size``: a strided 1x1 filter
   touches E of the (E - 1) x stride + 1 positions it spans); the unique tiles below a memory,
   ``mem_bw_boost``, the ratio of the unrolling's tiles (spatial_mapping_internal.py 95-158).
2. Per memory and direction (mapping.py 456-667): to-low reads (``tl``) and from-low writes (``fl``)
   repeat every period of the memory below (``mac_st`` or 1 for the MACs), from-high writes (``fh``) and
   to-high reads (``th``) every period of the memory itself; each moves one tile of the level below
   (times the unique tiles the unrolling below serves, ``mem_bw_boost``) resp. of the memory itself;
   the ofmap's ``tl``/``fh`` only where partial sums flow (``psum_flag``, 121-144; partial sums at the
   accumulator's bits, final outputs at the outermost level's). The outermost memory's ``th``/``fh``
   are dropped (670-677).
3. *Windows* (cost_model.py 635-729): a memory whose tiles fill at most half of it (summed over the
   operands sharing it, 441-485) is double-buffered; a transfer may use the whole period when the
   memory it fills is, else the period / the outermost irrelevant loops' product (``top_ir``). Each
   transfer takes ``ceil(words x bits / port width)`` cycles (693-709).
4. *Ports* (731-807): per port, a transfer stalls ``(cycles - window) x (periods - 1)``; one port's
   transfers combine as the positive stalls plus what the negative slack cannot absorb once the
   windows' union is counted (``__calc_mem_updating_window_union``, 396-439); the stall of the
   computation is the largest port's, never below 0.
5. *On-loading and off-loading* (809-1041): before the first step every input operand's first tile
   moves down each link (the longer of the two ends' cycles; a transfer done once per layer may borrow
   the port's idle bandwidth during the computation, taken off the longest transfers first, none below
   one innermost tile, ``reduce_ordered``, 1198-1231); two input operands load in
   parallel unless a port serves both; the last output tile drains up each link in series.
6. *Total* (1083-1128): steps + stall + on-loading + off-loading + one cycle per unit minus one along
   each systolic array dimension (the last results leave the array).

Ports come from the level's ``port_map`` (ZigZag's port allocation: each port's width and the
transfers it serves; ``accelsim import zigzag`` writes it), else from its bandwidth keys: a shared
``bandwidth_*_per_cycle`` is one read-write port serving every transfer; otherwise one read port
(``tl``, ``th``) and one write port (``fh``, ``fl``) of the level's read / write bandwidth, or with
``ports: 2`` or more, port 1 the downward transfers (``tl``, ``fh``) and port 2 the upward (``th``,
``fl``). An unbounded level transfers in 0 cycles. A systolic level unrolled on both axes is taken as
one dimension (the engine's rows do not keep the axis).

The model is the numba kernel accelsim/kernels/treetiming.py ``zigzag_batch`` (a batch of candidates,
as the tree mapper sends them; :func:`zigzag_latency` is a batch of one); tests/naive_timing_zigzag.py
is the same model written step by step in Python, which the kernel is checked against.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..kernels import loopnest as ln
from ..kernels import nest, treetiming
from ..spec.arch import OPERANDS, ArchTree

TL, FH, TH, FL = "tl", "fh", "th", "fl"
#: a tree's ``port_map`` directions as ZigZag's
_DIRECTION = {"to_below": TL, "to_above": TH, "from_above": FH, "from_below": FL}
_KERNEL_DIRECTION = {TL: treetiming.ZZ_TL, FH: treetiming.ZZ_FH, TH: treetiming.ZZ_TH, FL: treetiming.ZZ_FL}
#: the ifmap's window dims (E, F, R, S): ZigZag's partially relevant loops
_PR = {ln.D_E, ln.D_R, ln.D_F, ln.D_S}
#: per operand and dimension: relevant, irrelevant or partially relevant (the ifmap's window dims)
KINDS = np.array([[treetiming.ZZ_PR if OPERANDS[k] == "ifmap" and d in _PR else
                   treetiming.ZZ_R if nest.RELEVANCE8[k, d] else treetiming.ZZ_IR for d in range(nest.NDIMS)]
                  for k in range(3)], dtype=np.int64)


@dataclass(frozen=True)
class ZigZagLatency:
    """One group's cycles as ZigZag reports them: ``ideal`` (the temporal steps, ZigZag's
    ``ideal_temporal_cycle``), ``stall`` (``stall_slack_comb``), ``onloading``, ``offloading``,
    ``systolic_drain``; ``total`` = their sum (``latency_total2``); ``*_level``: the storage level
    each part is charged to in accelsim's per-level stall columns ("compute" where none)."""

    #: the parts, in the order ZigZag adds them (``TreeCost.latency_parts``' keys)
    PARTS = ("ideal", "stall", "onloading", "offloading", "systolic_drain")

    ideal: int
    stall: int
    onloading: int
    offloading: int
    systolic_drain: int
    stall_level: str
    onloading_level: str
    offloading_level: str

    @property
    def total(self) -> int:
        return self.ideal + self.stall + self.onloading + self.offloading + self.systolic_drain


def layer_figures(problem: np.ndarray) -> tuple:
    """The layer's figures the model reads: the eight dimensions' bounds, stride and dilation (H, W)."""
    bounds = np.array([int(b) for b in problem[:7]] + [max(int(problem[ln.P_GROUPS]), 1)], dtype=np.int64)
    return (bounds, np.array([problem[ln.P_STRIDE_H], problem[ln.P_STRIDE_W]], dtype=np.int64),
            np.array([problem[ln.P_DIL_H], problem[ln.P_DIL_W]], dtype=np.int64))


def _ports(tree: ArchTree, i: int):
    """The ports of storage level ``i``: [(bits per cycle, directions served)] (module docstring);
    bits are per word of each operand when the level's bandwidth is in words."""
    lv = tree.levels[i]
    if lv.port_map:
        return [({op: bits for op in lv.operands}, tuple((op, _DIRECTION[d]) for op, d in serves))
                for bits, serves in lv.port_map]

    def bits(key):
        by = getattr(lv, f"{key}_bytes_per_cycle")
        words = getattr(lv, f"{key}_words_per_cycle")
        return {op: min(by * 8, words * lv.word_bits[op]) for op in lv.operands}

    def every(dirs):
        return tuple((op, d) for op in lv.operands for d in dirs)

    if not (math.isinf(lv.bandwidth_bytes_per_cycle) and math.isinf(lv.bandwidth_words_per_cycle)):
        return [(bits("bandwidth"), every((TL, FH, TH, FL)))]
    read, write = bits("read_bandwidth"), bits("write_bandwidth")
    if lv.ports >= 2:
        return [(read, every((TL,))), (read, every((TH,))), (write, every((FH,))), (write, every((FL,)))]
    return [(read, every((TL, TH))), (write, every((FH, FL)))]


def tree_arrays(tree: ArchTree) -> tuple:
    """``tree`` (after bypass) as :func:`accelsim.kernels.treetiming.zigzag_batch` reads it: keeps,
    storage, systolic, size_bits (per level and operand; inf unbounded), shared, and the ports (level,
    bits per operand, width, the transfers served in order), the kinds and the precisions (ifmap,
    filter, partial-sum bits of the compute level; final outputs at the outermost ofmap level's)."""
    n = len(tree.levels)
    keeps = np.zeros((n, 3), dtype=np.bool_)
    storage = np.zeros(n, dtype=np.bool_)
    systolic = np.zeros(n, dtype=np.bool_)
    size = np.full((n, 3), np.inf)
    shared = np.zeros(n, dtype=np.bool_)
    ports = []
    for i, lv in enumerate(tree.levels):
        if lv.kind == "spatial":
            systolic[i] = lv.interconnect == "systolic"
        if lv.kind != "storage":
            continue
        storage[i], shared[i] = True, lv.size_bits is not None
        for k, op in enumerate(OPERANDS):
            if lv.keeps(op):
                keeps[i, k] = True
                size[i, k] = lv.size_bits if lv.size_bits is not None else lv.size_bits_by_operand[op]
        if keeps[i].any():      # a level every operand bypasses moves nothing: no port
            ports += [(i, bits, served) for bits, served in _ports(tree, i)]
    most = max((len(served) for _, _, served in ports), default=1) or 1
    level = np.array([i for i, _, _ in ports], dtype=np.int64)
    bits = np.array([[b.get(op, 0.0) for op in OPERANDS] for _, b, _ in ports], dtype=np.float64).reshape(-1, 3)
    width = np.array([max(b.values()) for _, b, _ in ports], dtype=np.float64)
    serve_op = np.zeros((len(ports), most), dtype=np.int64)
    serve_dir = np.zeros((len(ports), most), dtype=np.int64)
    n_serve = np.array([len(served) for _, _, served in ports], dtype=np.int64)
    for p, (_, _, served) in enumerate(ports):
        for j, (op, d) in enumerate(served):
            serve_op[p, j], serve_dir[p, j] = OPERANDS.index(op), _KERNEL_DIRECTION[d]
    compute = next(lv for lv in tree.levels if lv.kind == "compute")
    top = next(lv for lv in tree.levels if lv.kind == "storage" and lv.keeps("ofmap"))
    precision = np.array([compute.ifmap_bits, compute.filter_bits, compute.accumulator_bits, top.word_bits["ofmap"]],
                         dtype=np.int64)
    return keeps, storage, systolic, size, shared, level, bits, width, serve_op, serve_dir, n_serve, KINDS, precision


def zigzag_batch(tree: ArchTree, rows: np.ndarray, n_rows: np.ndarray, problem: np.ndarray, cuts=None) -> np.ndarray:
    """ZigZag's latency of candidates ``rows[b, :n_rows[b]]`` on ``tree`` (after bypass): the kernel's
    ``out`` (accelsim/kernels/treetiming.py ``zigzag_batch``: ideal, stall, on-loading, off-loading,
    drain, and the tree levels charged, -1 for none). ``cuts``: one mapping's per-operand tile cuts
    (accelsim/loopnest/tree.py ``tile_cuts``) for every candidate, or None."""
    levels = len(tree.levels)
    cut = np.full((levels, 3), -1, dtype=np.int64) if cuts is None else np.ascontiguousarray(cuts, dtype=np.int64)
    return treetiming.zigzag_batch(np.ascontiguousarray(rows, dtype=np.int64), np.ascontiguousarray(n_rows, dtype=np.int64),
                                   cut, *tree_arrays(tree), *layer_figures(problem))


def zigzag_latency(tree: ArchTree, rows: np.ndarray, problem: np.ndarray, cuts=None) -> ZigZagLatency:
    """ZigZag's latency of one group of the mapping ``rows`` (accelsim/kernels/nest.py's layout,
    outermost first) on ``tree`` (after bypass), with the per-operand tile ``cuts`` where the mapping
    gives them; module docstring."""
    out = zigzag_batch(tree, rows[None], np.array([rows.shape[0]]), problem, cuts)[0]

    def name(index):
        return tree.levels[int(index)].name if index >= 0 else "compute"

    return ZigZagLatency(*(int(x) for x in out[:5]), name(out[treetiming.ZZ_STALL_LEVEL]),
                         name(out[treetiming.ZZ_ONLOAD_LEVEL]), name(out[treetiming.ZZ_OFFLOAD_LEVEL]))
