"""Today's hw format as a shorthand for one shape of the architecture tree, both ways.

:func:`expand` turns a :class:`~accelsim.spec.hw.Hardware` (array + PE register files + one SRAM level
+ DRAM) into the tree it abbreviates; :func:`contract` turns a tree of exactly that shape back into the
:class:`Hardware` the engine runs, so a shorthand file and its tree form are one machine and give
identical numbers (tests/test_arch.py proves it for every preset). :func:`arch_to_dict` writes a tree
as the YAML mapping :func:`~accelsim.spec.arch.arch_from_dict` reads back to an equal tree.

The shape (docs/architecture.md, "The shorthand"):

====  ==============  =========================================================================
 #    level           from the shorthand keys
====  ==============  =========================================================================
 0    DRAM            storage, every operand, unbounded; ``dram.bandwidth_bytes_per_cycle``
 1    GlobalBuffer    storage, every operand, ``sram.<op>.size_kib`` per operand,
                      ``sram.double_buffered``, ``sram.bandwidth_words_per_cycle``
 2    PEArray         spatial, ``array.cols`` (X) x ``array.rows`` (Y), ``array.interconnect``,
                      ``array.noc_bandwidth_words_per_cycle``; any dimension may unroll
 3    RegisterFile    storage, per PE, the operands with ``pe.rf_words.<op>`` > 0 (the others
                      bypass it), ``pe.rf_bandwidth_words_per_cycle``; absent when all are 0
 4    MAC             compute, ``precision`` for inputs, weights and accumulator
====  ==============  =========================================================================
"""
from __future__ import annotations

import math
from dataclasses import fields

from ..errors import AccelsimError
from .arch import (BANDWIDTH_KEYS, OPERANDS, UNROLL_DIMS, ArchTree, ComputeLevel, PerOperand, SpatialLevel,
                   StorageLevel, _with_instances)
from .area import DEFAULT_AREA_TABLE
from .hw import PRECISION_BITS, TIMING_MODELS, Hardware, SramBuffer

#: Level names of the expanded shorthand (a tree file may name its levels as it likes).
DEFAULT_NAMES = ("DRAM", "GlobalBuffer", "PEArray", "RegisterFile", "MAC")
#: Top-level fields an ArchTree shares with Hardware, same names, same meaning.
_SHARED = ("name", "precision", "clock_mhz", "timing", "energy_table", "vector_lanes_setting",
           "sparsity_zero_skipping", "sparsity_nm", "description", "source", "file")


def expand(hw: Hardware) -> ArchTree:
    """The architecture tree a shorthand hw file abbreviates (the module docstring's table)."""
    bits = hw.word_bits
    word_bits = PerOperand.same(bits)
    names = hw.level_names or DEFAULT_NAMES
    areas = hw.level_areas_mm2 or (None,) * len(names)
    rf_ops = tuple(op for op, words in zip(OPERANDS, hw.rf_words) if words > 0)
    levels = [
        StorageLevel(name=names[0], operands=OPERANDS, word_bits=word_bits,
                     bandwidth_bytes_per_cycle=hw.dram_bandwidth_bytes_per_cycle, energy_class="dram",
                     area_mm2=areas[0]),
        StorageLevel(name=names[1], operands=OPERANDS, size_bits=None, size_bits_by_operand=PerOperand(
            *(buf.size_bytes * 8 for buf in (hw.sram_ifmap, hw.sram_filter, hw.sram_ofmap))), word_bits=word_bits,
            bandwidth_words_per_cycle=hw.sram_bandwidth_words_per_cycle, double_buffered=hw.double_buffered,
            energy_class="sram", area_mm2=areas[1]),
        SpatialLevel(name=names[2], fanout_x=hw.array_cols, fanout_y=hw.array_rows, interconnect=hw.interconnect,
                     bandwidth_words_per_cycle=hw.noc_bandwidth_words_per_cycle, area_mm2=areas[2]),
    ]
    if rf_ops:
        levels.append(StorageLevel(
            name=names[3], operands=rf_ops, size_bits=None, word_bits=word_bits,
            size_bits_by_operand=PerOperand(**{op: w * bits for op, w in zip(OPERANDS, hw.rf_words) if w > 0}),
            bandwidth_words_per_cycle=hw.rf_bandwidth_words_per_cycle, energy_class="rf", area_mm2=areas[3]))
    levels.append(ComputeLevel(name=names[-1], precision=hw.precision, ifmap_bits=bits, filter_bits=bits,
                               accumulator_bits=bits, area_mm2=areas[-1]))
    return ArchTree(levels=_with_instances(levels), **{k: getattr(hw, k) for k in _SHARED})


def shape_problems(tree: ArchTree) -> list[str]:
    """Why ``tree`` is not of the shorthand's shape (empty: it is, :func:`contract` works)."""
    kinds = [lv.kind for lv in tree.levels]
    if kinds not in (["storage", "storage", "spatial", "storage", "compute"],
                     ["storage", "storage", "spatial", "compute"]):
        return [f"levels are {' -> '.join(kinds)}; the shorthand's shape is storage -> storage -> spatial -> "
                "[storage ->] compute"]
    bits = PRECISION_BITS[tree.precision]
    problems = []
    if tree.timing not in TIMING_MODELS:
        problems.append(f"timing: {tree.timing} (the shorthand has {', '.join(TIMING_MODELS)})")
    dram, glb, array = tree.levels[:3]
    rf = tree.levels[3] if len(tree.levels) == 5 else None
    mac = tree.levels[-1]

    def only(level, allowed_bandwidth, energy_class):
        for key in BANDWIDTH_KEYS:
            if key != allowed_bandwidth and not math.isinf(getattr(level, key)):
                problems.append(f"{level.name}: {key} (the shorthand has only {allowed_bandwidth})")
        if any(level.word_bits[op] != bits for op in OPERANDS):
            problems.append(f"{level.name}: word_bits differ from the precision's {bits}")
        for key, default in (("block_words", 1), ("ports", 1), ("may_bypass", ()), ("read_energy_pj", None),
                             ("write_energy_pj", None), ("energy_class", energy_class)):
            if getattr(level, key) != default:
                problems.append(f"{level.name}: {key} {getattr(level, key)!r} (the shorthand has {default!r})")

    only(dram, "bandwidth_bytes_per_cycle", "dram")
    if not math.isinf(dram.size_bits or 0) or dram.size_bits_by_operand is not None:
        problems.append(f"{dram.name}: a bounded backing store")
    if dram.double_buffered:
        problems.append(f"{dram.name}: double_buffered on the backing store")
    only(glb, "bandwidth_words_per_cycle", "sram")
    if glb.operands != OPERANDS or glb.size_bits_by_operand is None:
        problems.append(f"{glb.name}: the shorthand's buffer keeps every operand in its own partition")
    elif any(glb.size_bits_by_operand[op] % 8 for op in OPERANDS):
        problems.append(f"{glb.name}: partitions of whole bytes")
    if array.interconnect not in ("systolic", "multicast") or array.unroll_x != UNROLL_DIMS \
            or array.unroll_y != UNROLL_DIMS or not array.spatial_reduction or array.hop_cycles != 1:
        problems.append(f"{array.name}: a systolic or multicast array with one-cycle hops, spatial reduction and "
                        "no unrolling limits")
    if rf is not None:
        only(rf, "bandwidth_words_per_cycle", "rf")
        if rf.size_bits_by_operand is None and len(rf.operands) > 1:
            problems.append(f"{rf.name}: a register file partitioned per operand")
        if rf.double_buffered:
            problems.append(f"{rf.name}: a double-buffered register file")
    if (mac.precision, mac.accumulator_bits, mac.energy_pj) != (tree.precision, bits, None):
        problems.append(f"{mac.name}: MACs of the file's precision with accumulators of {bits} bits and the "
                        "energy table's MAC energy")
    return problems


def contract(tree: ArchTree) -> Hardware:
    """The shorthand :class:`Hardware` of a tree of its shape (raises :class:`AccelsimError` naming
    what differs otherwise). The user's level names and areas are kept for :func:`expand`."""
    problems = shape_problems(tree)
    if problems:
        raise AccelsimError(f"{tree.file or tree.name}: this architecture tree is valid, but the engine so far "
                            "simulates trees of the shorthand's shape (docs/architecture.md, 'The shorthand'); it "
                            "differs in: " + "; ".join(problems))
    dram, glb, array = tree.levels[:3]
    rf = tree.levels[3] if len(tree.levels) == 5 else None
    rf_words = (0, 0, 0)
    if rf is not None:
        rf_words = tuple(int(rf.capacity_words(op)) for op in OPERANDS)
    return Hardware(
        array_rows=array.fanout_y, array_cols=array.fanout_x, interconnect=array.interconnect,
        sram_ifmap=SramBuffer(glb.size_bits_by_operand.ifmap // 8),
        sram_filter=SramBuffer(glb.size_bits_by_operand.filter // 8),
        sram_ofmap=SramBuffer(glb.size_bits_by_operand.ofmap // 8), double_buffered=glb.double_buffered,
        dram_bandwidth_bytes_per_cycle=dram.bandwidth_bytes_per_cycle, rf_words=rf_words,
        sram_bandwidth_words_per_cycle=glb.bandwidth_words_per_cycle,
        noc_bandwidth_words_per_cycle=array.bandwidth_words_per_cycle,
        rf_bandwidth_words_per_cycle=rf.bandwidth_words_per_cycle if rf is not None else math.inf,
        level_names=tuple(lv.name for lv in tree.levels) if rf is not None else
        tuple(lv.name for lv in tree.levels[:3]) + (DEFAULT_NAMES[3], tree.levels[-1].name),
        level_areas_mm2=_areas(tree, rf is not None),
        **{k: getattr(tree, k) for k in _SHARED})


def _areas(tree: ArchTree, has_rf: bool) -> tuple:
    areas = tuple(lv.area_mm2 for lv in tree.levels)
    if all(a is None for a in areas):
        return ()
    return areas if has_rf else areas[:3] + (None, areas[-1])


def _number(value):
    if isinstance(value, float) and math.isinf(value):
        return "unlimited"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def arch_to_dict(tree: ArchTree) -> dict:
    """The YAML mapping of a tree (defaults left out) that :func:`arch_from_dict` reads back equal."""
    top = {"name": tree.name}
    for key in ("description", "source"):
        if getattr(tree, key):
            top[key] = getattr(tree, key)
    top.update(precision=tree.precision, clock_mhz=_number(tree.clock_mhz), timing=tree.timing,
               energy_table=tree.energy_table)
    if tree.counting != "accelsim":
        top["counting"] = tree.counting
    if tree.area_table != DEFAULT_AREA_TABLE:
        top["area_table"] = tree.area_table
    if tree.vector_lanes_setting:
        top["vector"] = {"lanes": tree.vector_lanes_setting}
    if tree.sparsity_zero_skipping or tree.sparsity_nm:
        top["sparsity"] = {"zero_skipping": tree.sparsity_zero_skipping,
                           **({"nm": list(tree.sparsity_nm)} if tree.sparsity_nm else {})}
    bits = PRECISION_BITS[tree.precision]
    levels = []
    for index, lv in enumerate(tree.levels):
        out = {"name": lv.name, "kind": lv.kind}
        defaults = {f.name: f.default for f in fields(lv)}
        if lv.kind == "storage":
            out["operands"] = list(lv.operands)
            if lv.word_bits != PerOperand.same(bits):
                out["word_bits"] = {op: lv.word_bits[op] for op in lv.operands}
            by_op = lv.size_bits_by_operand
            if by_op is not None and _below_spatial(tree, index) and all(v % lv.word_bits[op] == 0
                                                                          for op, v in by_op.items()):
                out["size_words"] = {op: int(v // lv.word_bits[op]) for op, v in by_op.items()}
            elif by_op is not None:
                out["size_kib"] = {op: _number(v / 8192) for op, v in by_op.items()}
            elif not (index == 0 and math.isinf(lv.size_bits)):
                out["size_kib"] = _number(lv.size_bits / 8192) if not math.isinf(lv.size_bits) else "unlimited"
            for key in ("block_words", "ports", "double_buffered", "latched") + BANDWIDTH_KEYS:
                if getattr(lv, key) != defaults[key]:
                    out[key] = _number(getattr(lv, key))
            if lv.block_words_by_operand is not None:
                out["block_words"] = dict(lv.block_words_by_operand.items())
            if lv.may_bypass:
                out["may_bypass"] = list(lv.may_bypass)
            if lv.shared_across:
                out["shared_across"] = list(lv.shared_across)
            if lv.port_map:
                out["port_map"] = [{"bits_per_cycle": _number(bits), "serves": [f"{op}.{d}" for op, d in serves]}
                                   for bits, serves in lv.port_map]
            default_class = "dram" if index == 0 else ("rf" if _below_spatial(tree, index) else "sram")
            if lv.energy_class != default_class:
                out["energy_class"] = lv.energy_class
            for key in ("read_energy_pj", "write_energy_pj"):
                if getattr(lv, key) is not None:
                    out[key] = dict(getattr(lv, key).items())
        elif lv.kind == "spatial":
            out.update(fanout_x=lv.fanout_x, fanout_y=lv.fanout_y, interconnect=lv.interconnect)
            for key in ("spatial_reduction", "hop_cycles", "bandwidth_words_per_cycle"):
                if getattr(lv, key) != defaults[key]:
                    out[key] = _number(getattr(lv, key))
            for key in ("unroll_x", "unroll_y"):
                if getattr(lv, key) != UNROLL_DIMS:
                    out[key] = list(getattr(lv, key))
        else:
            out["precision"] = lv.precision
            if lv.accumulator_bits != PRECISION_BITS[lv.precision]:
                out["accumulator_bits"] = lv.accumulator_bits
            if lv.energy_pj is not None:
                out["energy_pj"] = lv.energy_pj
        if lv.area_mm2 is not None:
            out["area_mm2"] = lv.area_mm2
        levels.append(out)
    top["levels"] = levels
    return top


def _below_spatial(tree: ArchTree, index: int) -> bool:
    return any(lv.kind == "spatial" for lv in tree.levels[:index])
