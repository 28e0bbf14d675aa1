"""Counts of a tree mapping in a peer tool's counting convention, for like-for-like comparison.

accelsim counts every partial-sum read a level makes (a read-modify-write for each update, plus
the reads that drain partial sums to the level above). Timeloop's default model
([timeloop-v4] ``loop-analysis/tiling.cpp``, ``ComputeReadUpdateReductionAccesses_Legacy``, with
``TIMELOOP_ENABLE_FIRST_READ_ELISION`` on, its default) instead counts, for the output data space
at every level, ``reads = updates - partition size``: the first update of each output word an
instance holds needs no read. Its updates and fills are the same as accelsim's, and so are all
counts of the read-only operands; accelsim/importers and docs/import.md compare the two on
Timeloop's own reference outputs.

The partition summed over a level's instances is the ofmap words times the spatial factors above
the level of the dimensions that do not index the ofmap (C, R, S: instances that each hold a
partial sum of the same output).
"""
from __future__ import annotations

from ..spec.arch import ArchTree
from .tree import TreeCost, TreeMapping

#: Dimensions that do not index the ofmap (partial sums of one output spread over them).
REDUCTION_DIMS = ("C", "R", "S")


def ofmap_partition_words(tree: ArchTree, mapping: TreeMapping, ofmap_words: int) -> dict:
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


def timeloop_counts(tree: ArchTree, mapping: TreeMapping, cost: TreeCost, ofmap_words: int) -> dict:
    """``counts[level][operand]`` = dict(reads, fills, updates) in Timeloop's convention (module
    docstring): the ofmap's reads are ``updates - partition``; everything else is accelsim's."""
    partition = ofmap_partition_words(tree, mapping, ofmap_words)
    out = {}
    for level, ops in cost.counts.items():
        out[level] = {}
        for op, c in ops.items():
            reads = c["reads"]
            if op == "ofmap":
                reads = max(c["updates"] - partition[level], 0)
            out[level][op] = {"reads": reads, "fills": c["fills"], "updates": c["updates"]}
    return out


def energy_pj(tree: ArchTree, counts: dict, table) -> dict:
    """``energy[level][operand]`` in pJ of ``counts`` (e.g. :func:`timeloop_counts`), priced per word
    like accelsim/loopnest/tree.py prices its own counts: reads at the read energy, fills and
    updates at the write energy."""
    from .tree import _access_pj
    out = {}
    for level, ops in counts.items():
        lv = tree.level(level)
        out[level] = {}
        for op, c in ops.items():
            read, write = _access_pj(lv, op, table)
            out[level][op] = c["reads"] * read + (c["fills"] + c["updates"]) * write
    return out
