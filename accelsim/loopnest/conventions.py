"""Counts of a tree mapping in a peer tool's counting convention, for like-for-like comparison.

accelsim counts every partial-sum read a level makes (a read-modify-write for each update, plus
the reads that drain partial sums to the level above). Timeloop's default model
([timeloop-v4] ``loop-analysis/tiling.cpp``, ``ComputeReadUpdateReductionAccesses_Legacy``, with
``TIMELOOP_ENABLE_FIRST_READ_ELISION`` on, its default) instead counts, for the output data space
at every level, ``reads = updates - partition size``: the first update of each output word an
instance holds needs no read. Its updates and fills are the same as accelsim's, and so are all
counts of the read-only operands; accelsim/importers and docs/import.md compare the two on
Timeloop's own reference outputs. A tree with ``counting: timeloop`` (what ``accelsim import
timeloop`` writes) is counted and priced in all of this module's Timeloop conventions by
accelsim/loopnest/tree.py's ``evaluate_tree`` (cycles stay accelsim's; the tree mapper searches in
accelsim's counts and the mapping it returns is then reported in the tree's convention).

The partition summed over a level's instances is the ofmap words times the spatial factors above
the level of the dimensions that do not index the ofmap (C, R, S: instances that each hold a
partial sum of the same output).

Sliding windows (``sliding_window``): accelsim moves an ifmap tile whole whenever a loop above it
that indexes the ifmap advances, and a multicast network delivers each word of the overlapping
windows of neighbouring instances once (``"refetch"``, accelsim's own counts). Timeloop moves only
the words a tile did not hold at the previous iteration ("deltas"; reset when the tile's stride
changes) and serves one read per instance except across dimensions that do not index the ifmap
(``"delta"``, the default here): accelsim/loopnest/window_delta.py states the rules, with their
sources in Timeloop's code, and counts every ifmap crossing between storage levels that way.
"""
from __future__ import annotations

from .window_delta import ifmap_crossings

#: Ways of counting an ifmap window that moves (module docstring).
SLIDING_WINDOWS = ("delta", "refetch")

#: Dimensions that do not index the ofmap (partial sums of one output spread over them).
REDUCTION_DIMS = ("C", "R", "S")


def ofmap_partition_words(tree, mapping, ofmap_words: int) -> dict:
    """Per storage level: the ofmap words its instances hold over the run, summed over instances."""
    factor, out = 1, {}
    for lv in tree.levels:
        if lv.kind == "spatial":
            for axis in mapping.unrolling_of(lv.name):
                for dim, f in axis:
                    if dim in REDUCTION_DIMS:
                        factor *= f
        elif lv.kind == "storage":
            out[lv.name] = ofmap_words * factor
    return out


def timeloop_counts(tree, mapping, counts: dict, ofmap_words: int, arrays=None, problem=None, groups: int = 1,
                    sliding_window: str = "delta") -> dict:
    """``counts[level][operand]`` (accelsim's, as accelsim/loopnest/tree.py's ``TreeCost.counts``) in
    Timeloop's convention (module docstring): the ofmap's reads are ``updates - partition``; given
    the mapping's ``arrays`` (rows, n_rows, levels of tree.py's ``_arrays``) and the kernel
    ``problem`` row, with ``sliding_window="delta"``, the ifmap's reads and fills between storage
    levels are Timeloop's deltas (accelsim/loopnest/window_delta.py) times ``groups``; everything
    else is accelsim's."""
    if sliding_window not in SLIDING_WINDOWS:
        raise ValueError(f"sliding_window must be one of {SLIDING_WINDOWS} (got {sliding_window!r})")
    partition = ofmap_partition_words(tree, mapping, ofmap_words)
    deltas = {}
    if arrays is not None and sliding_window == "delta":
        rows, n_rows, levels = arrays
        names = [lv.name for lv in tree.levels]
        for (parent, child), (reads, fills) in ifmap_crossings(rows, n_rows, levels, len(tree.levels), problem).items():
            deltas[(names[parent], "reads")] = groups * reads
            deltas[(names[child], "fills")] = groups * fills
    out = {}
    for level, ops in counts.items():
        out[level] = {}
        for op, c in ops.items():
            reads, fills = c["reads"], c["fills"]
            if op == "ofmap":
                reads = max(c["updates"] - partition[level], 0)
            elif op == "ifmap":
                reads = deltas.get((level, "reads"), reads)
                fills = deltas.get((level, "fills"), fills)
            out[level][op] = {**c, "reads": reads, "fills": fills, "writes": fills + c["updates"]}
    return out


def _instances(tree, mapping) -> dict:
    """Per storage level: its instances (the spatial factors of every spatial level above it)."""
    count, out = 1, {}
    for lv in tree.levels:
        if lv.kind == "spatial":
            for axis in mapping.unrolling_of(lv.name):
                for _, f in axis:
                    count *= f
        elif lv.kind == "storage":
            out[lv.name] = count
    return out


def energy_pj(tree, counts: dict, price, mapping=None) -> dict:
    """``energy[level][operand]`` in pJ of ``counts`` (e.g. :func:`timeloop_counts`), priced per word
    by ``price(level, operand) -> (read pJ, write pJ)`` (accelsim/loopnest/tree.py's): reads at the
    read energy, fills and updates at the write energy. With ``mapping``, in Timeloop's convention:
    an access moves a whole block (``block_words``), so each instance's reads, fills and updates
    are rounded up to whole blocks (an instance that reads 3 weights from a DRAM of 8-word blocks
    pays one block read); a count that does not split evenly over the instances is left as it is."""
    instances = _instances(tree, mapping) if mapping is not None else {}
    out = {}
    for level, ops in counts.items():
        lv = tree.level(level)
        out[level] = {}
        for op, c in ops.items():
            read, write = price(lv, op)
            words = {k: c[k] for k in ("reads", "fills", "updates")}
            if mapping is not None and lv.block_words > 1:
                n = instances[level]
                words = {k: -(-v // n // lv.block_words) * lv.block_words * n if v % n == 0 else v
                         for k, v in words.items()}
            out[level][op] = words["reads"] * read + (words["fills"] + words["updates"]) * write
    return out
