"""ZigZag's counting conventions (a tree's ``counting: zigzag``, which ``accelsim import zigzag``
writes), for like-for-like comparison with ZigZag 3.9.

ZigZag ([zigzag]; the cost model of zigzag-dse 3.9.1, ``zigzag/mapping/mapping.py``,
``zigzag/mapping/temporal_mapping.py`` and ``zigzag/cost_model/cost_model.py``) counts a few
accesses differently from accelsim's engine (accelsim/kernels/nest.py). Each difference is one
option of :func:`apply_zigzag` (``counting: zigzag`` applies all four); without them a tree
counts as accelsim does.

``zigzag_stationary_reads``
    An input operand (ifmap, filter) is read from its innermost memory once per run of the
    innermost temporal loops that do not index it, not once per MAC: ZigZag assumes the word stays
    at the memory's output pins (``Mapping.calc_data_access`` and ``calc_req_mem_bw_and_data_
    transfer_rate``: with ``access_same_data_considered_as_no_access``, on in every ZigZag run,
    the read period of memory level 0 is ``TemporalMapping.mac_level_data_stationary_cycle``, the
    product of the innermost irrelevant loops once each level's bottom irrelevant loops are merged
    down). Reads there = accelsim's reads / that product. Other levels already count reuse this way.

``zigzag_psum_reads``
    A memory that holds partial sums (a reduction loop, C, R or S, with more than one trip above
    the tile of the next ofmap level below it: in its own loops, those of levels between that keep
    other operands, or any level's above; or unrolled across a spatial level above it) reads the old value
    for every update, the first one included, and every drain to a parent that holds partial sums
    is written back (refilled) later, the first one included (``Mapping.calc_req_mem_bw_and_data_
    transfer_rate``: ``rd_out_to_low = wr_in_by_low`` when ``psum_flag``; ``wr_in_by_high =
    rd_out_to_high`` when the level above has it). accelsim elides the first read-back of each word
    and the first refill. Reads = updates + drains; fills = drains where the parent holds partial
    sums; both as accelsim's otherwise. Final outputs drained to a parent that keeps them at fewer
    bits (ZigZag's ``O_final`` precision) move at that width: a transfer's drain reads are its words x
    the parent's bits / the level's, rounded up to whole words (``rd_out_to_high`` at the final
    precision when ``wr_in_by_high`` is 0); through a port wider than a word that words do not tile
    (eyeriss_like's 24-bit register port, 16-bit partial sums, each priced one access by the import),
    in whole port accesses (ZigZag's ``ceil(words x bits / bandwidth_min)``: 7 8-bit outputs, 3).

``zigzag_transfer_rounding``
    Every transfer (one period's words between a memory and the level below or above, per memory
    instance) is rounded up to whole blocks of ``block_words`` (ZigZag's port ``bandwidth_min``,
    ``CostModelEvaluation._calc_memory_access``: ``ceil(words x bits / bandwidth_min) x
    bandwidth_min / bandwidth_max`` accesses per period). Counts then include the block padding.
    The total of a direction (reads to below, fills from above, updates from below) is then a whole
    number of accesses of the port that serves it (the level's ``port_map``), truncated, as ZigZag's
    ``int()`` of the product truncates it (cost_model.py line 536): the CIFAR-10 ResNet's 434 64-bit blocks into tpu_like's
    2,048-bit SRAM port are 13.5625 accesses, 13 (3,328 words, not 3,472).

``zigzag_fractional_unrolling``
    A dimension unrolled P-fold where P does not divide it (14 output columns over a 4-wide array
    dimension, run ceil(14 / 4) = 4 times) counts, in ZigZag, as unrolled 14 / 4 = 3.5-fold, the
    temporal loops as they are (zigzag/stages/mapping/spatial_mapping_conversion.py
    ``generate_limited_user_spatial_mapping``, "Check 3", line 183; its latency keeps the integer 3).
    Where a mapping has one, every operand's transfers are ZigZag's (``Mapping.calc_req_mem_bw_and_
    data_transfer_rate``, mapping.py line 549, and ``CostModelEvaluation._calc_memory_access``,
    cost_model.py line 524): words a transfer x transfers x instances. The words are the tile's relevant factors, fractional ones included, with an input row
    spanning the window of the integer parts of its output and filter factors (``LayerNode.calc_
    tensor_dim``, zigzag/workload/layer_node.py line 278, ``int(...)``: 3.5 output columns read 3 input
    columns), rounded (``Mapping.calc_data_size``, mapping.py line 270); a read (or an output update) moves the child's tile
    spread over the spatial levels between (``SpatialMappingInternal.calc_mem_bw_boost_factor``,
    spatial_mapping_internal.py line 159, rounded), a fill (or drain) the level's own tile; instances
    are the rounded product of the spatial factors above (``calc_unit_count``, line 108). A level
    ``shared_across`` spatial levels above it (the import's copies of a memory ZigZag shares across
    array dimensions that an outer memory fans out, its ``served_dimensions``) is one ZigZag memory
    below them: its tile spreads over them, and each of its copies counts that memory's accesses (their
    integer factors, every copy, where the others' instances are fractional): edge_tpu_like 1x1's weight
    register is read once a cycle for all 16 copies, the idle ones of a partial tile included. meta_prototype's 1x1 layer (OX, OY 4-way over 14)
    moves 16 input tiles of 3 x 3 pixels x 128 channels from DRAM, 18,432 words where the layer has
    25,088; eyeriss_like's 256 filters on 14 PEs in 19 steps update its output registers 40,964 x
    round(13.47 x 11.64) = 6,431,348 times where the layer has 6,422,528 MACs. accelsim's own count
    runs the partial last tiles instead. The other options then apply to these counts.

Energy under ``counting: zigzag`` (:func:`energy_by_port`) prices drains to the level above and
fills from it at their own ports where the level's ``port_map`` gives them, as ZigZag charges every
direction at its port. Cycles are not affected: the options change counts and energy only.
"""
from __future__ import annotations

from math import gcd, prod

from ..kernels import loopnest as ln
from ..spec.arch import ArchTree

#: The options, each a difference between ZigZag's counts and accelsim's (module docstring).
ZIGZAG_CONVENTIONS = ("zigzag_stationary_reads", "zigzag_psum_reads", "zigzag_transfer_rounding",
                      "zigzag_fractional_unrolling")
_DIM = {d: i for i, d in enumerate(ln.DIMS)}
_OP = {"ifmap": ln.OP_IFMAP, "filter": ln.OP_FILTER, "ofmap": ln.OP_OFMAP}
REDUCTION_DIMS = ("C", "R", "S")


def _relevant(op: str, dim: str) -> bool:
    """Whether ``dim`` indexes ``op`` (groups, G, index every operand)."""
    return dim not in _DIM or bool(ln.RELEVANCE[_OP[op], _DIM[dim]])


class _Nest:
    """The mapping's loops by tree level index (temporal outermost first; spatial factors) and its
    per-operand tiles. ``mapping`` is an accelsim.loopnest.tree.TreeMapping (not imported: tree.py
    imports this module)."""

    def __init__(self, tree: ArchTree, mapping):
        self.temporal = []           # (level index, dim, trip), outermost first, trip-1 loops included
        self.spatial = []            # (level index, dim, factor), factors > 1
        self.tiles = {}              # (level index, operand) -> innermost temporal loops in its tile (tile_loops)
        for index, lv in enumerate(tree.levels):
            if lv.kind == "storage":
                self.temporal += [(index, d, t) for d, t in mapping.loops_of(lv.name)]
                self.tiles.update({(index, op): k for op, k in mapping.tile_loops_of(lv.name).items()})
            elif lv.kind == "spatial":
                self.spatial += [(index, d, f) for axis in mapping.unrolling_of(lv.name) for d, f in axis if f > 1]
        self.steps = prod(t for _, _, t in self.temporal)
        names = {lv.name: index for index, lv in enumerate(tree.levels)}
        # storage level index -> the spatial levels above it whose instances copy one memory
        self.shared = {index: {names[n] for n in lv.shared_across} for index, lv in enumerate(tree.levels)
                       if lv.kind == "storage" and lv.shared_across}

    def above(self, op: str, level: int) -> list:
        """(dim, trip) of the temporal loops outside ``op``'s tile at ``level`` (``len(levels)``:
        the MACs, every loop), outermost first, trips > 1: the level's own cut, or its ``tile_loops``."""
        inside = self.tiles.get((level, op), sum(1 for index, _, _ in self.temporal if index >= level))
        return [(d, t) for _, d, t in self.temporal[:len(self.temporal) - inside] if t > 1]

    def inside(self, op: str, level: int, fraction: dict) -> list:
        """(dim, factor) of ``op``'s tile at the level at ``level`` (``len(levels)``: the MACs, none):
        its temporal loops and the spatial unrolling below it, at ``fraction``'s factors where given."""
        cut = self.tiles.get((level, op), sum(1 for index, _, _ in self.temporal if index >= level))
        return [(d, t) for _, d, t in self.temporal[len(self.temporal) - cut:]] + self.unrolled(level, fraction)

    def unrolled(self, level: int, fraction: dict) -> list:
        """(dim, factor) of the spatial unrolling below the level at ``level``."""
        return [(d, fraction.get((index, d), f)) for index, d, f in self.spatial if index > level]

    def moves(self, op: str, child: int) -> int:
        """Times the tile of the level at ``child`` (``len(levels)``: the MACs) is delivered: the
        temporal loops above it down to the innermost one relevant to ``op`` (inner irrelevant ones
        re-use it)."""
        above = self.above(op, child)
        while above and not _relevant(op, above[-1][0]):
            above.pop()
        return prod(t for _, t in above)

    def instances(self, level: int) -> int:
        """Instances of the level at ``level`` the mapping uses (all spatial factors above it)."""
        return prod(f for index, _, f in self.spatial if index < level)

    def holds_psums(self, level: int, child: int, mac: int) -> bool:
        """Whether the ofmap level at ``level`` holds partial sums (ZigZag's ``psum_flag``): a
        reduction loop above its child's tile (at ``child`` on the ofmap's path: its own loops and
        those of the levels between, which keep other operands), except the reduction loops just
        above a storage child, inside every ofmap loop there (ZigZag merges them into the child,
        ``innermost_stationary_loop_merge_down``); or a reduction unrolled above it."""
        above = [d for d, _ in self.above("ofmap", child)]
        if child != mac:
            while above and not _relevant("ofmap", above[-1]):
                above.pop()
        return (any(d in REDUCTION_DIMS for d in above)
                or any(d in REDUCTION_DIMS for index, d, _ in self.spatial if index < level))

    def fractional(self, bounds: dict) -> dict:
        """(spatial level index, dim) -> ZigZag's fractional unrolling there: a dimension of ``bounds[d]``
        unrolled P-fold that P does not divide, run ``ceil(bounds[d] / P)`` times, is unrolled
        ``bounds[d] / ceil(bounds[d] / P)`` times on average (3.5 of 4 for 14 over 4 x 4), at the spatial
        level with its largest factor (the first such, outermost first); ZigZag counts data with that
        factor (zigzag/stages/mapping/spatial_mapping_conversion.py ``generate_limited_user_spatial_mapping``,
        "Check 3": ``unroll_factor_remainder = layer_dim_size / temporal_remainder / ...``)."""
        out = {}
        for d, size in bounds.items():
            factors = [(index, f) for index, dim, f in self.spatial if dim == d]
            spatial = prod(f for _, f in factors)
            trips = prod(t for _, dim, t in self.temporal if dim == d)
            if not factors or not size % spatial or trips != -(-size // spatial):
                continue
            index, f = max(factors, key=lambda pair: pair[1])
            out[(index, d)] = size / trips / (spatial // f)
        return out

    def partition(self, level: int, ofmap_words: int) -> int:
        """Ofmap words the level's instances hold over the run: one copy per reduction replica."""
        return ofmap_words * prod(f for index, d, f in self.spatial if index < level and d in REDUCTION_DIMS)


#: An input row or column and the output and filter dims it spans, with the problem columns of its
#: stride, dilation and unpadded size (ZigZag's ``ix = 1*ox + 1*fx``, ``dimension_relations``)
_WINDOWS = (("E", "R", ln.P_STRIDE_H, ln.P_DIL_H, ln.P_IN_H), ("F", "S", ln.P_STRIDE_W, ln.P_DIL_W, ln.P_IN_W))


def _zigzag_words(op: str, loops: list, problem) -> int:
    """Words of ``op`` (ifmap or filter) in a tile of ``loops`` ((dim, factor), factors possibly
    fractional) as ZigZag sizes it: the product of the relevant dims' factors, an input row or column
    spanning ``calc_pr_dimension_size`` of the integer parts of its output and filter factors
    (zigzag/workload/layer_node.py ``calc_tensor_dim``, line 278: ``int(layer_dim_sizes[...])``; 3.5
    output columns read 3 input columns), at most the unpadded input; rounded (zigzag/mapping/mapping.py
    ``calc_data_size``: ``round(r_loop_size_cabl2)``)."""
    cum = dict.fromkeys(ln.DIMS + ("G",), 1.0)
    for d, f in loops:
        cum[d] *= f
    if op == "filter":
        return round(cum["G"] * cum["M"] * cum["C"] * cum["R"] * cum["S"])
    if op == "ofmap":
        return round(cum["G"] * cum["N"] * cum["M"] * cum["E"] * cum["F"])
    words = cum["G"] * cum["N"] * cum["C"]
    for out_dim, tap_dim, stride, dilation, size in _WINDOWS:
        a, b = int(cum[out_dim]), int(cum[tap_dim])
        sa, sb = int(problem[stride]), max(1, int(problem[dilation]))
        g = gcd(sa, sb)
        words *= min(int(problem[size]), a * b - max(0, b - sa // g) * (a - sb // g))
    return round(words)


def _rounded(words: int, transfers: int, block: int) -> int:
    """``words`` moved in ``transfers`` equal transfers, each rounded up to whole ``block``s; words
    that do not split evenly (an imperfect factorisation's partial tiles) are left as they are."""
    if block <= 1 or transfers == 0 or words % transfers:
        return words
    return transfers * (-(-(words // transfers) // block)) * block


def _port_bits(lv, op: str, direction: str) -> int:
    """Bits per cycle of the port of ``lv``'s ``port_map`` that serves ``op``'s ``direction`` (0: none given)."""
    return next((int(bits) for bits, serves in lv.port_map if (op, direction) in serves), 0)


def _whole_accesses(words: int, bits: int, port_bits: int) -> int:
    """``words`` of ``bits`` moved through a port of ``port_bits``: ZigZag counts a memory's accesses
    in one direction as an integer number of whole port accesses, truncated (``_calc_memory_access``:
    ``int(...)`` of the total), so a total that does not fill its last access loses it; ports that
    words do not tile, or no wider than a word, are left as they are."""
    if port_bits <= bits or port_bits % bits:
        return words
    per = port_bits // bits
    return words // per * per


def _narrowed(words: int, transfers: int, bits: int, own_bits: int, port_bits: int = 0) -> int:
    """``words`` of ``own_bits`` sent up in ``transfers`` equal transfers at ``bits`` each (final
    outputs narrower than the partial sums), in whole words of ``own_bits`` per transfer; through a
    port of ``port_bits`` wider than a word that words do not tile (16-bit words, 24-bit port), where
    the import prices each word as one whole access, in whole port accesses (ZigZag's ``ceil(words x
    bits / bandwidth_min)``: 7 8-bit outputs are 3 accesses of 24 bits); words that do not split
    evenly are left as they are."""
    if bits >= own_bits or transfers == 0 or words % transfers:
        return words
    unit = port_bits if port_bits > own_bits and port_bits % own_bits else own_bits
    return transfers * (-(-(words // transfers) * bits // unit))


def apply_zigzag(tree: ArchTree, mapping, counts: dict, ofmap_words: int, groups: int = 1,
                 options=ZIGZAG_CONVENTIONS, problem=None, drained: dict | None = None) -> dict:
    """``counts[level][operand]`` (accelsim/loopnest/tree.py's, for ``tree`` after bypass) in the
    conventions ``options`` names (module docstring; ``ofmap_words`` of one group, ``groups`` the
    layer's groups the counts cover, ``problem`` the layer's problem row, which
    ``zigzag_fractional_unrolling`` needs); returns new counts. ``drained``, when given, receives
    ``(level, "ofmap") -> `` the reads among them that drain to the level above (for
    :func:`energy_by_port`)."""
    options = set(options)
    nest = _Nest(tree, mapping)
    index = {lv.name: i for i, lv in enumerate(tree.levels)}
    mac = len(tree.levels)
    out = {name: {op: dict(c) for op, c in ops.items()} for name, ops in counts.items()}
    fraction = {}
    if "zigzag_fractional_unrolling" in options and problem is not None:
        fraction = nest.fractional({d: int(problem[_DIM[d]]) for d in ln.DIMS})
    for op in ("ifmap", "filter", "ofmap"):
        path = [index[lv.name] for lv in tree.path(op)]
        for p, level in enumerate(path):
            lv = tree.levels[level]
            c = out[lv.name][op]
            child = path[p + 1] if p + 1 < len(path) else mac
            block = lv.block(op) if "zigzag_transfer_rounding" in options else 1
            below = groups * nest.instances(level)
            if fraction:
                # ZigZag's words a transfer (down: the child's tile spread over the spatial levels
                # between, mapping.py ``rd_out_to_low_da`` and ``mem_bw_boost``; up: the level's own
                # tile, ``wr_in_by_high_da``) x transfers x instances (``unit_count``, rounded); a
                # level ``shared_across`` spatial levels above it is one ZigZag memory below them,
                # its tile spread over them, each copy counting that memory's accesses
                shared = nest.shared.get(level, set())
                copied = [(d, fraction.get((i, d), f)) for i, d, f in nest.spatial if i in shared]
                below = groups * round(prod(fraction.get((i, d), f) for i, d, f in nest.spatial
                                            if i < level and i not in shared)) \
                    * prod(f for i, _, f in nest.spatial if i in shared)
                spread = round(_zigzag_words(op, nest.unrolled(level, fraction) + copied, problem)
                               / _zigzag_words(op, nest.unrolled(child, fraction), problem))
                to_child = _zigzag_words(op, nest.inside(op, child, fraction), problem) * spread
                own = _zigzag_words(op, nest.inside(op, level, fraction) + copied, problem)
            if op != "ofmap":
                down = nest.moves(op, child) if child != mac or "zigzag_stationary_reads" in options else nest.steps
                if fraction:
                    c["reads"] = to_child * down * below
                    if p:
                        c["fills"] = own * nest.moves(op, level) * below
                elif child == mac and "zigzag_stationary_reads" in options:
                    c["reads"] = c["reads"] * down // nest.steps
                c["reads"] = _rounded(c["reads"], down * below, block)
                if p:
                    c["fills"] = _rounded(c["fills"], nest.moves(op, level) * below, block)
                if "zigzag_transfer_rounding" in options:
                    c["reads"] = _whole_accesses(c["reads"], lv.word_bits[op], _port_bits(lv, op, "to_below"))
                    c["fills"] = _whole_accesses(c["fills"], lv.word_bits[op], _port_bits(lv, op, "from_above"))
            else:
                partition = groups * nest.partition(level, ofmap_words)
                drains = c["reads"] - c["updates"] + partition
                back = c["reads"] - drains
                refills = c["fills"]
                down = (nest.moves(op, child) if child != mac else nest.steps) * below
                up = nest.moves(op, level) * below
                if fraction:
                    c["updates"] = to_child * down
                    drains = own * up if p else 0
                if "zigzag_psum_reads" in options:
                    back = c["updates"] if nest.holds_psums(level, child, mac) else 0
                    refills = drains if p and nest.holds_psums(path[p - 1], level, mac) else 0
                    if p and drains:
                        drains = _narrowed(drains, up, tree.levels[path[p - 1]].word_bits[op], lv.word_bits[op],
                                           _port_bits(lv, op, "to_above"))
                back, drains = _rounded(back, down, block), _rounded(drains, up, block)
                c["updates"] = _rounded(c["updates"], down, block)
                c["fills"] = _rounded(refills, up, block)
                if "zigzag_transfer_rounding" in options:
                    bits = lv.word_bits[op]
                    back = _whole_accesses(back, bits, _port_bits(lv, op, "to_below"))
                    c["updates"] = _whole_accesses(c["updates"], bits, _port_bits(lv, op, "from_below"))
                    c["fills"] = _whole_accesses(c["fills"], bits, _port_bits(lv, op, "from_above"))
                c["reads"] = back + drains
                if drained is not None:
                    drained[(lv.name, op)] = drains
            c["writes"] = c["fills"] + c["updates"]
    return out


def energy_by_port(tree: ArchTree, counts: dict, drained: dict, price) -> dict:
    """``energy[level][operand]`` in pJ of ZigZag-convention ``counts`` (``drained`` from
    :func:`apply_zigzag`), each direction priced at the port that serves it: ZigZag counts a
    direction's accesses at its own port's ``bandwidth_max`` (cost_model.py line 503,
    ``get_max_bandwidth(mem_op, data_dir)``) and charges every access the memory's ``r_cost`` /
    ``w_cost`` (``calc_memory_energy_cost``, line 559). ``price(level, operand) -> (read pJ, write pJ)``
    per word is the import's: reads at the port toward the level below, writes at the updates' port
    (else the fills'); where the level's ``port_map`` gives a drain (reads to above) or a fill another
    port, its words cost that much more or less (gemm_l1_l3's ``l1`` drains final outputs through a
    512-bit port, a quarter of its 2,048-bit port's words an access: 4 x the read energy per word)."""
    out = {}
    for level, ops in counts.items():
        lv = tree.level(level)
        out[level] = {}
        for op, c in ops.items():
            read, write = price(lv, op)
            down, up = _port_bits(lv, op, "to_below"), _port_bits(lv, op, "to_above")
            below, above = _port_bits(lv, op, "from_below"), _port_bits(lv, op, "from_above")
            drains = drained.get((level, op), 0)
            to_above = read * down / up if down and up else read
            fill = write * (below or above) / above if above else write
            out[level][op] = (c["reads"] - drains) * read + drains * to_above + c["fills"] * fill + c["updates"] * write
    return out
