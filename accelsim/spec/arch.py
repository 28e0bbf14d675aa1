"""Architecture trees (``hw/*.yaml`` with a ``levels:`` list): any memory hierarchy as data.

An accelerator is an ordered list of levels from the outermost memory (the backing store, DRAM) to
the MAC, as in Timeloop's architecture tree ([timeloop] section III) and ZigZag's per-operand memory
hierarchy ([zigzag] section III):

* :class:`StorageLevel`: a memory. It keeps some operands (``operands``); the others bypass it.
  Capacity is shared by the operands it keeps or partitioned per operand, in bits; words have a
  width per operand (partial sums may be wider than inputs); an access moves ``block_words`` words
  (per operand where given so);
  each of its ``ports`` carries the bandwidth fields; ``double_buffered`` hides the next tile's
  transfer behind the current tile's compute. A level below a spatial level exists once per
  instance of that spatial level (a per-PE register file).
* :class:`SpatialLevel`: a fan-out of ``fanout_x`` x ``fanout_y`` instances of everything below it,
  connected by a ``systolic`` (operands hop one instance per ``hop_cycles``), ``multicast`` (one read
  reaches any set of instances) or ``unicast`` (one read per instance) network. ``unroll_x`` /
  ``unroll_y`` name the loop dimensions the mapping may unroll there (groups ``G`` included);
  ``spatial_reduction``: partial sums of instances are added in the network.
* :class:`ComputeLevel`: the MAC, last in the list: input and weight precision, accumulator width.

The reader is the validator (every problem of a file reported at once, with its key path and fix);
:func:`arch_from_dict` is the factory; the frozen dataclasses are the domain objects. Today's
template (array + PE register files + one SRAM level + DRAM, accelsim/spec/hw.py) is a shorthand
for one shape of this tree: accelsim/spec/arch_shorthand.py expands it and contracts trees of that
shape back. docs/architecture.md documents the format with a worked example.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import did_you_mean, shown
from .common import CLOCK_HINT, MAX_ARRAY_DIM, MAX_BUFFER_KIB, MAX_CLOCK_MHZ, Reader, _finite, load_yaml
from .hw import DEFAULT_AREA_TABLE, DEFAULT_ENERGY_TABLE, PRECISION_BITS, TIMING_MODELS, _bandwidth, vector_and_sparsity

OPERANDS = ("ifmap", "filter", "ofmap")
#: Loop dimensions a spatial level may unroll: the conv's seven plus groups G (depthwise layers).
UNROLL_DIMS = ("N", "M", "C", "E", "F", "R", "S", "G")
#: The conv dimensions that index each operand (the window dims E, F, R, S index the ifmap; groups
#: G index every operand), as accelsim.kernels.loopnest.RELEVANCE encodes them for the kernels.
OPERAND_DIMS = {"ifmap": frozenset("NCEFRSG"), "filter": frozenset("MCRSG"), "ofmap": frozenset("NMEFG")}
LEVEL_KINDS = ("storage", "spatial", "compute")
INTERCONNECTS = ("systolic", "multicast", "unicast")
#: Which entry of the energy table (accelsim/spec/energy.py) prices a storage level's accesses.
ENERGY_CLASSES = ("dram", "sram", "rf")
#: A tree's ``counting``: ``accelsim`` (its own counts and per-word energy), ``timeloop`` (Timeloop's
#: conventions: first-read elision, sliding-window deltas, block-rounded energy;
#: accelsim/loopnest/conventions.py), which ``accelsim import timeloop`` writes, or ``zigzag`` (ZigZag's:
#: stationary reads, partial-sum reads without first-read elision, transfers rounded to blocks;
#: accelsim/loopnest/conventions_zigzag.py), which ``accelsim import zigzag`` writes.
COUNTING_CONVENTIONS = ("accelsim", "timeloop", "zigzag")
#: A tree's ``timing``: the shorthand's two, plus ``throughput`` (Timeloop's performance model: no
#: fill and drain, every transfer hidden; accelsim/loopnest/tree_timing.py) and ``zigzag`` (ZigZag's:
#: port windows, on-loading and off-loading; accelsim/loopnest/timing_zigzag.py), which ``accelsim
#: import zigzag`` writes.
TREE_TIMING_MODELS = TIMING_MODELS + ("throughput", "zigzag")
BANDWIDTH_KEYS = tuple(f"{direction}bandwidth_{unit}_per_cycle" for unit in ("words", "bytes")
                       for direction in ("", "read_", "write_"))


@dataclass(frozen=True)
class PerOperand:
    """One value per operand (ifmap, filter, ofmap); ``None`` where an operand has none."""

    ifmap: object = None
    filter: object = None
    ofmap: object = None

    def __getitem__(self, operand: str):
        return getattr(self, operand)

    def items(self):
        return ((op, self[op]) for op in OPERANDS if self[op] is not None)

    @staticmethod
    def same(value) -> "PerOperand":
        return PerOperand(value, value, value)


@dataclass(frozen=True)
class StorageLevel:
    """A memory level. Capacity: ``size_bits`` shared by the operands it keeps (``math.inf``: the
    unbounded backing store), or ``size_bits_by_operand`` partitioned (then ``size_bits`` is None).
    ``word_bits``: bits of one word of each operand here. ``block_words``: words one access moves
    (access granularity). Bandwidths are per port, per cycle; ``bandwidth_*`` fields bound reads and
    writes together, ``read_*`` / ``write_*`` one direction; ``math.inf``: unbounded.
    ``may_bypass``: kept operands the mapper may choose to bypass. ``read_energy_pj`` /
    ``write_energy_pj``: per word, per operand, overriding the energy table's ``energy_class``
    entry. ``latched``: a one-word register whose next word is written at the clock edge that
    retires the current one, so its transfers overlap the computation as a double-buffered level's
    do, without halving it. ``port_map``: ((bits per cycle, ((operand, direction), ...)), ...), one
    entry per port, the transfers it serves (directions ``to_below``, ``to_above``, ``from_above``,
    ``from_below``; ZigZag's port allocation, read by ``timing: zigzag`` only; empty: ports from the
    bandwidth keys). ``block_words_by_operand``: ``block_words`` per operand, where the file gives it so.
    ``shared_across``: names of spatial levels above whose instances are copies of one memory
    (ZigZag's ``served_dimensions`` where an outer memory fans them out; read by ``counting:
    zigzag`` only: ZigZag accesses the memory once for all its copies). ``area_mm2``: area of one instance. ``instances`` is derived: the product of the spatial
    fan-outs above the level."""

    name: str
    operands: tuple
    size_bits: float | None = math.inf
    size_bits_by_operand: PerOperand | None = None
    word_bits: PerOperand = field(default_factory=lambda: PerOperand.same(8))
    block_words: int = 1
    block_words_by_operand: PerOperand | None = None
    ports: int = 1
    bandwidth_words_per_cycle: float = math.inf
    read_bandwidth_words_per_cycle: float = math.inf
    write_bandwidth_words_per_cycle: float = math.inf
    bandwidth_bytes_per_cycle: float = math.inf
    read_bandwidth_bytes_per_cycle: float = math.inf
    write_bandwidth_bytes_per_cycle: float = math.inf
    double_buffered: bool = False
    latched: bool = False
    port_map: tuple = ()
    shared_across: tuple = ()
    may_bypass: tuple = ()
    energy_class: str = "sram"
    read_energy_pj: PerOperand | None = None
    write_energy_pj: PerOperand | None = None
    area_mm2: float | None = None
    instances: int = 1
    kind: str = "storage"

    def keeps(self, operand: str) -> bool:
        return operand in self.operands

    def block(self, operand: str) -> int:
        """Words of ``operand`` one access moves."""
        if self.block_words_by_operand is not None and self.block_words_by_operand[operand] is not None:
            return self.block_words_by_operand[operand]
        return self.block_words

    def capacity_words(self, operand: str) -> float:
        """Words of ``operand`` the level holds when it holds nothing else (all of a shared level,
        its own part of a partitioned one); ``math.inf`` when unbounded."""
        if not self.keeps(operand):
            return 0
        bits = self.size_bits if self.size_bits_by_operand is None else self.size_bits_by_operand[operand]
        return bits if math.isinf(bits) else int(bits) // self.word_bits[operand]


@dataclass(frozen=True)
class SpatialLevel:
    """``fanout_x`` x ``fanout_y`` instances of the levels below. ``unroll_x`` / ``unroll_y``: loop
    dimensions the mapping may unroll across X / Y. ``hop_cycles``: a systolic network's skew per
    hop. ``bandwidth_words_per_cycle``: words the network moves per cycle, all instances and
    operands. ``instances`` (derived): copies of this level, from the fan-outs above it."""

    name: str
    fanout_x: int
    fanout_y: int = 1
    interconnect: str = "multicast"
    unroll_x: tuple = UNROLL_DIMS
    unroll_y: tuple = UNROLL_DIMS
    spatial_reduction: bool = True
    hop_cycles: int = 1
    bandwidth_words_per_cycle: float = math.inf
    area_mm2: float | None = None
    instances: int = 1
    kind: str = "spatial"

    @property
    def fanout(self) -> int:
        return self.fanout_x * self.fanout_y


@dataclass(frozen=True)
class ComputeLevel:
    """The MAC: ``ifmap_bits`` x ``filter_bits`` products summed into ``accumulator_bits``;
    ``precision`` names the operand type for the energy table's MAC entry. ``energy_pj``: per MAC,
    overriding the table. ``area_mm2``: one MAC unit. ``instances`` (derived): MAC units."""

    name: str
    precision: str
    ifmap_bits: int
    filter_bits: int
    accumulator_bits: int
    energy_pj: float | None = None
    area_mm2: float | None = None
    instances: int = 1
    kind: str = "compute"


@dataclass(frozen=True)
class ArchTree:
    """An accelerator as an ordered tuple of levels, outermost first, the compute level last.
    The top-level keys shared with the shorthand (precision, clock, timing, energy table, vector
    unit, sparsity support) keep their meaning (accelsim/spec/hw.py)."""

    name: str
    levels: tuple
    precision: str
    clock_mhz: float
    timing: str = "physical"
    energy_table: str = DEFAULT_ENERGY_TABLE
    area_table: str = DEFAULT_AREA_TABLE
    counting: str = "accelsim"
    vector_lanes_setting: int = 0
    sparsity_zero_skipping: bool = False
    sparsity_nm: tuple = ()
    description: str = ""
    source: str = ""
    file: str = ""

    @property
    def storage_levels(self) -> tuple:
        return tuple(lv for lv in self.levels if lv.kind == "storage")

    @property
    def spatial_levels(self) -> tuple:
        return tuple(lv for lv in self.levels if lv.kind == "spatial")

    @property
    def compute(self) -> ComputeLevel:
        return self.levels[-1]

    @property
    def num_macs(self) -> int:
        return self.compute.instances

    def path(self, operand: str) -> tuple:
        """The storage levels that keep ``operand``, outermost first."""
        return tuple(lv for lv in self.storage_levels if lv.keeps(operand))

    def level(self, name: str):
        return next(lv for lv in self.levels if lv.name == name)

    def summary(self) -> str:
        """One line: the levels outermost first, e.g. ``DRAM -> GLB 64 KiB [ifmap, ofmap] -> 4x4 PEs
        -> ... -> 1024 int8 MACs`` (fan-outs as Y x X, rows x columns)."""
        parts = []
        for lv in self.levels:
            if lv.kind == "spatial":
                parts.append(f"{lv.fanout_y}x{lv.fanout_x} {lv.name} ({lv.interconnect})")
            elif lv.kind == "compute":
                parts.append(f"{lv.instances} {lv.precision} {lv.name}")
            else:
                bits = lv.size_bits if lv.size_bits_by_operand is None else sum(v for _, v in lv.size_bits_by_operand.items())
                size = "" if math.isinf(bits) else (f" {bits / 8192:g} KiB" if bits >= 8192 else f" {bits / 8:g} B")
                parts.append(f"{lv.name}{size} [{', '.join(lv.operands)}]")
        return "architecture tree: " + " -> ".join(parts)


_TOP_KEYS = ("name", "description", "source", "precision", "clock_mhz", "timing", "counting", "energy_table", "area_table", "vector",
             "sparsity", "levels")
_COMMON_KEYS = ("name", "kind", "area_mm2")
_STORAGE_KEYS = _COMMON_KEYS + ("operands", "may_bypass", "size_kib", "size_words", "word_bits", "block_words",
                                "ports", "double_buffered", "latched", "port_map", "shared_across", "energy_class", "read_energy_pj",
                                "write_energy_pj") + BANDWIDTH_KEYS
_SPATIAL_KEYS = _COMMON_KEYS + ("fanout_x", "fanout_y", "interconnect", "unroll_x", "unroll_y",
                                "spatial_reduction", "hop_cycles", "bandwidth_words_per_cycle")
_COMPUTE_KEYS = _COMMON_KEYS + ("precision", "accumulator_bits", "energy_pj")
_OPERAND_LIST_SCHEMA = {"type": "array", "items": {"enum": list(OPERANDS)}, "uniqueItems": True}
#: A transfer's direction at a storage level (ZigZag's tl, th, fh, fl): reads to the level below or
#: above, writes from the level above or below.
PORT_DIRECTIONS = ("to_below", "to_above", "from_above", "from_below")
_TRANSFERS = tuple(f"{op}.{d}" for op in OPERANDS for d in PORT_DIRECTIONS)
_PORT_MAP_SCHEMA = {"type": "array", "items": {
    "type": "object", "additionalProperties": False, "required": ["bits_per_cycle", "serves"],
    "properties": {"bits_per_cycle": {"type": "number", "exclusiveMinimum": 0},
                   "serves": {"type": "array", "items": {"enum": list(_TRANSFERS)}, "uniqueItems": True}}}}
_DIM_LIST_SCHEMA = {"type": "array", "items": {"enum": list(UNROLL_DIMS)}, "uniqueItems": True}


def _per_operand_schema(one: dict) -> dict:
    return {"oneOf": [one, {"type": "object", "properties": {op: one for op in OPERANDS},
                            "additionalProperties": False, "minProperties": 1}]}


def is_arch_tree(data) -> bool:
    """Whether a parsed hw mapping is an architecture tree (a ``levels:`` list)."""
    return isinstance(data, dict) and "levels" in data


def _names(r: Reader, key: str, choices, what: str, default=None, schema=None) -> tuple | None:
    """A list of names from ``choices`` (operands or loop dims); unknown ones reported with a hint."""
    raw = r.raw(key, default, schema)
    if raw is None or raw is default:
        return default
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        r.error(key, f"must be a list of {what} names, e.g. [{', '.join(choices[:2])}] (got {raw!r})")
        return None
    bad = [v for v in raw if v not in choices]
    for v in bad:
        r.error(key, f"unknown {what} {v!r}{did_you_mean(v, choices)}; use {', '.join(choices)}")
    dup = sorted({v for v in raw if raw.count(v) > 1})
    if dup:
        r.error(key, f"lists {', '.join(dup)} more than once; name each {what} once")
    return None if bad or dup else tuple(v for v in choices if v in raw)


def _per_operand(r: Reader, key: str, check, one_schema: dict):
    """A scalar (every operand) or a mapping operand -> value; ``check(reader, key, value)`` returns
    the value or None (reported). Returns (scalar or None, PerOperand or None, given)."""
    raw = r.raw(key, None, _per_operand_schema(one_schema))
    if raw is None:
        return None, None, False
    if isinstance(raw, dict):
        sub = Reader(raw, r.file, r.key_path(key), r.problems)
        values = {}
        for op in OPERANDS:
            if op in raw:
                values[op] = check(sub, op, sub.raw(op, None, one_schema))
        sub.reject_unknown(OPERANDS)
        if not raw:
            r.error(key, f"must name at least one of {', '.join(OPERANDS)}")
        return None, PerOperand(**values), True
    return check(r, key, raw), None, True


def _check_positive_number(r: Reader, key: str, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value) or value <= 0:
        r.error(key, f"must be a number > 0 (got {shown(value)})")
        return None
    return value


def _check_nonnegative_number(r: Reader, key: str, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value) or value < 0:
        r.error(key, f"must be a number >= 0 (got {shown(value)})")
        return None
    return value


def _check_positive_int(r: Reader, key: str, value):
    return r.check_integer(key, value, 1)


def _check_size_kib(r: Reader, key: str, value):
    if value == "unlimited":
        return math.inf
    value = _check_positive_number(r, key, value)
    if value is not None and value > MAX_BUFFER_KIB:
        r.error(key, f"must be at most {MAX_BUFFER_KIB:,} KiB (hw/README.md, Bounds) (got {shown(value)})")
        return None
    if value is not None and not float(value * 8192).is_integer():
        r.error(key, f"must be a whole number of bits (got {value} KiB)")
        return None
    return value


def _nonnegative(r: Reader, key: str) -> float | None:
    """An optional number >= 0 (an area, an energy per MAC); None when absent or reported."""
    value = r.raw(key, None, {"type": "number", "minimum": 0})
    return None if value is None else _check_nonnegative_number(r, key, value)


def _kib_bits(kib) -> float:
    """Bits in ``kib`` KiB (an int when finite; ``math.inf`` stays)."""
    return kib if math.isinf(kib) else int(kib * 8192)


def _has_problems(r: Reader) -> bool:
    """Whether any problem was reported inside this level's mapping."""
    return any(p.key_path == r.path or p.key_path.startswith(r.path + ".") for p in r.problems)


def _storage(r: Reader, index: int, default_bits: int, below_spatial: bool) -> StorageLevel | None:
    name = r.string("name")
    operands = _names(r, "operands", OPERANDS, "operand", schema=_OPERAND_LIST_SCHEMA)
    may_bypass = _names(r, "may_bypass", OPERANDS, "operand", (), _OPERAND_LIST_SCHEMA)
    if operands is not None and not operands:
        r.error("operands", "a storage level must hold at least one operand (ifmap, filter, ofmap); "
                            "remove the level if every operand bypasses it")
        operands = None
    bits_scalar, bits_map, _ = _per_operand(r, "word_bits", _check_positive_int,
                                             {"type": "integer", "minimum": 1, "maximum": 1024})
    word_bits = PerOperand.same(bits_scalar or default_bits)
    if bits_map is not None:
        word_bits = PerOperand(**{op: bits_map[op] or default_bits for op in OPERANDS})
    if operands:        # an operand that bypasses the level has no words here: keep the default width
        word_bits = PerOperand(**{op: word_bits[op] if op in operands else default_bits for op in OPERANDS})
    kib, kib_map, kib_given = _per_operand(r, "size_kib", _check_size_kib,
                                           {"oneOf": [{"type": "number", "exclusiveMinimum": 0}, {"const": "unlimited"}]})
    words, words_map, words_given = _per_operand(r, "size_words", _check_positive_int,
                                                 {"type": "integer", "minimum": 1, "maximum": Reader.MAX_INT})
    size_bits, by_operand = math.inf, None
    if kib_given and words_given:
        r.error("size_words", "give the capacity once: size_kib or size_words, not both")
    elif kib_given:
        size_bits = None if kib is None else _kib_bits(kib)
        if kib_map is not None:
            size_bits, by_operand = None, PerOperand(**{op: _kib_bits(v) for op, v in kib_map.items()})
    elif words_given:
        size_bits = None
        if words_map is not None:
            by_operand = PerOperand(**{op: v * word_bits[op] for op, v in words_map.items() if v is not None})
        elif words is not None and operands:
            widths = {word_bits[op] for op in operands}
            if len(widths) > 1:
                r.error("size_words", "the operands kept here have different word_bits; give size_words per "
                                      "operand ({ifmap: ..., ofmap: ...}) or size_kib")
            else:
                size_bits = words * widths.pop()
    elif index > 0:
        r.error("size_kib", "required key is missing: give size_kib or size_words (only the first level, the "
                            "backing store, may leave its capacity unbounded)")
        size_bits = None
    block_scalar, block_map, _ = _per_operand(r, "block_words", _check_positive_int,
                                              {"type": "integer", "minimum": 1, "maximum": Reader.MAX_INT})
    block_words = block_scalar or 1
    ports = r.integer("ports", 1)
    bandwidths = {key: _bandwidth(r, key) for key in BANDWIDTH_KEYS}
    double_buffered = r.boolean("double_buffered", False)
    latched = r.boolean("latched", False)
    port_map = _port_map(r, operands or ())
    shared_across = r.raw("shared_across", [], {"type": "array", "items": {"type": "string"}, "uniqueItems": True})
    if not isinstance(shared_across, list) or not all(isinstance(v, str) for v in shared_across) \
            or len(set(shared_across)) < len(shared_across):
        r.error("shared_across", f"must be a list of spatial level names above this level, each once (got "
                                 f"{shared_across!r})")
        shared_across = []
    default_class = "dram" if index == 0 else ("rf" if below_spatial else "sram")
    energy_class = r.choice("energy_class", ENERGY_CLASSES, default_class)
    energies = {}
    for key in ("read_energy_pj", "write_energy_pj"):
        scalar, mapping, _ = _per_operand(r, key, _check_nonnegative_number, {"type": "number", "minimum": 0})
        energies[key] = mapping if mapping is not None else (None if scalar is None else PerOperand.same(scalar))
    area = _nonnegative(r, "area_mm2")
    r.reject_unknown(_STORAGE_KEYS)
    if operands:
        for key in ("word_bits", "block_words", "read_energy_pj", "write_energy_pj"):
            given = r.data.get(key)
            for op in (given if isinstance(given, dict) else ()):
                if op in OPERANDS and op not in operands:
                    r.error(f"{key}.{op}", f"{op} bypasses this level (operands: {', '.join(operands)}); remove "
                                           f"it or add {op} to operands")
        for op in may_bypass or ():
            if op not in operands:
                r.error("may_bypass", f"{op} is not kept here (operands: {', '.join(operands)}); a bypass choice "
                                      "needs the operand in operands")
        for key, mapping in (("size_kib", kib_map), ("size_words", words_map)):
            for op, _value in (mapping.items() if mapping is not None else ()):
                if op not in operands:
                    r.error(f"{key}.{op}", f"{op} bypasses this level (operands: {', '.join(operands)}); remove "
                                           f"it or add {op} to operands")
            if mapping is not None:
                for op in operands:
                    if mapping[op] is None and op not in r.data[key]:      # a given but bad value is reported
                        r.error(key, f"gives a capacity per operand but none for {op}; add {key}.{op}")
        if size_bits is not None and not math.isinf(size_bits):
            for op in operands:
                if size_bits < word_bits[op]:
                    r.error("size_kib" if kib_given else "size_words",
                            f"must hold at least one {op} word ({word_bits[op]} bits; got {size_bits:g} bits)")
        if by_operand is not None:
            for op in operands:
                if by_operand[op] is not None and by_operand[op] < word_bits[op]:
                    r.error(f"{'size_kib' if kib_given else 'size_words'}.{op}",
                            f"must hold at least one {op} word ({word_bits[op]} bits; got {by_operand[op]:g} bits)")
        if latched:
            if double_buffered:
                r.error("latched", "a latched register is single-buffered; remove double_buffered or latched")
            for op in operands:
                held = size_bits if by_operand is None else by_operand[op]
                if held is None or math.isinf(held) or held // word_bits[op] > 1:
                    r.error("latched", f"a latched register holds one word of each operand ({op}: "
                                       f"{word_bits[op]} bits; got {held:g} bits); remove latched or the extra capacity"
                            if held is not None else "a latched register needs a capacity of one word")
    if _has_problems(r):
        return None
    return StorageLevel(
        name=name, operands=operands, size_bits=size_bits, size_bits_by_operand=by_operand, word_bits=word_bits,
        block_words=block_words, block_words_by_operand=block_map, ports=ports, double_buffered=double_buffered,
        latched=latched, port_map=port_map, shared_across=tuple(shared_across), may_bypass=may_bypass,
        energy_class=energy_class, area_mm2=area, **energies, **bandwidths)


def _port_map(r: Reader, operands) -> tuple:
    """``port_map``: a list of ports, each ``{bits_per_cycle, serves: [operand.direction, ...]}``,
    every transfer served by one port at most, of an operand the level keeps."""
    raw = r.raw("port_map", [], _PORT_MAP_SCHEMA)
    if not isinstance(raw, list):
        r.error("port_map", f"must be a list of ports, e.g. [{{bits_per_cycle: 64, serves: [ifmap.to_below]}}] "
                            f"(got {raw!r})")
        return ()
    out, seen = [], set()
    for i, port in enumerate(raw):
        where = f"port_map[{i}]"
        if not isinstance(port, dict) or set(port) != {"bits_per_cycle", "serves"}:
            r.error(where, "must be a mapping with exactly bits_per_cycle and serves")
            continue
        bits, serves = port["bits_per_cycle"], port["serves"]
        if isinstance(bits, bool) or not isinstance(bits, (int, float)) or not bits > 0:
            r.error(f"{where}.bits_per_cycle", f"must be a number > 0 (got {bits!r})")
            continue
        if not isinstance(serves, list) or not serves:
            r.error(f"{where}.serves", "must list the transfers the port serves, e.g. [ifmap.to_below]")
            continue
        transfers = []
        for t in serves:
            op, _, d = str(t).partition(".")
            if str(t) not in _TRANSFERS:
                r.error(f"{where}.serves", f"unknown transfer {t!r}{did_you_mean(str(t), _TRANSFERS)}; use "
                                           f"OPERAND.DIRECTION with a direction of {', '.join(PORT_DIRECTIONS)}")
            elif op not in operands:
                r.error(f"{where}.serves", f"{t}: {op} is not kept here (operands: {', '.join(operands)})")
            elif t in seen:
                r.error(f"{where}.serves", f"{t} is served by another port already; give each transfer one port")
            else:
                seen.add(t)
                transfers.append((op, d))
        out.append((float(bits), tuple(transfers)))
    return tuple(out)


def _spatial(r: Reader) -> SpatialLevel | None:
    name = r.string("name")
    fanout_x = r.integer("fanout_x", maximum=MAX_ARRAY_DIM)
    fanout_y = r.integer("fanout_y", 1, maximum=MAX_ARRAY_DIM)
    interconnect = r.choice("interconnect", INTERCONNECTS, "multicast")
    unroll_x = _names(r, "unroll_x", UNROLL_DIMS, "loop dimension", UNROLL_DIMS, _DIM_LIST_SCHEMA)
    unroll_y = _names(r, "unroll_y", UNROLL_DIMS, "loop dimension", UNROLL_DIMS, _DIM_LIST_SCHEMA)
    reduction = r.boolean("spatial_reduction", True)
    hop = r.integer("hop_cycles", 1)
    bandwidth = _bandwidth(r, "bandwidth_words_per_cycle")
    area = _nonnegative(r, "area_mm2")
    r.reject_unknown(_SPATIAL_KEYS)
    for key, dims, fan in (("unroll_x", unroll_x, fanout_x), ("unroll_y", unroll_y, fanout_y)):
        if dims is not None and not dims and fan is not None and fan > 1:
            r.error(key, f"names no loop dimension, but fanout_{key[-1]} is {fan}; list the dimensions that "
                         "may unroll there or set the fan-out to 1")
    if _has_problems(r):
        return None
    return SpatialLevel(name=name, fanout_x=fanout_x, fanout_y=fanout_y, interconnect=interconnect,
                        unroll_x=unroll_x, unroll_y=unroll_y, spatial_reduction=reduction, hop_cycles=hop,
                        bandwidth_words_per_cycle=bandwidth, area_mm2=area)


def _compute(r: Reader, default_precision: str | None) -> ComputeLevel | None:
    name = r.string("name")
    precision = r.choice("precision", tuple(PRECISION_BITS), default_precision)
    bits = PRECISION_BITS.get(precision, None) if precision else None
    accumulator = r.integer("accumulator_bits", bits or 1)
    energy = _nonnegative(r, "energy_pj")
    area = _nonnegative(r, "area_mm2")
    r.reject_unknown(_COMPUTE_KEYS)
    if bits is not None and accumulator is not None and accumulator < bits:
        r.error("accumulator_bits", f"must be >= the operands' {bits} bits (got {accumulator})")
    if precision is None or _has_problems(r):
        return None
    return ComputeLevel(name=name, precision=precision, ifmap_bits=bits, filter_bits=bits,
                        accumulator_bits=accumulator, energy_pj=energy, area_mm2=area)


def _with_instances(levels: list) -> tuple:
    """Each level's ``instances``: the product of the fan-outs of the spatial levels above it."""
    out, copies = [], 1
    for lv in levels:
        out.append(type(lv)(**{**lv.__dict__, "instances": copies}))
        if lv.kind == "spatial":
            copies *= lv.fanout
    return tuple(out)


def _check_tree(top: Reader, levels: list, kinds: list, raw_levels: list) -> None:
    """Rules across levels: order, names, every operand fed from the backing store."""
    n = len(kinds)
    if n and kinds[0] not in (None, "storage"):
        top.error("levels[0].kind", "the first level is the backing store (e.g. DRAM): it must be a storage level")
    if n and kinds[-1] not in (None, "compute"):
        top.error(f"levels[{n - 1}].kind", "the last level must be the compute level (kind: compute, the MAC)")
    for i, kind in enumerate(kinds[:-1]):
        if kind == "compute":
            top.error(f"levels[{i}].kind", "only the last level may be the compute level; move it to the end")
    seen = {}
    for i, lv in enumerate(levels):
        if lv is None:
            continue
        if lv.name in seen:
            top.error(f"levels[{i}].name", f"duplicate level name {lv.name!r} (also levels[{seen[lv.name]}]); "
                                           "names must be unique")
        seen.setdefault(lv.name, i)
    for i, lv in enumerate(levels):
        for name in getattr(lv, "shared_across", ()):
            above = [levels[j].name for j in range(i) if kinds[j] == "spatial" and levels[j] is not None]
            if name not in above:
                top.error(f"levels[{i}].shared_across", f"{name!r} is not a spatial level above {lv.name}"
                                                        f"{did_you_mean(name, above)}; spatial levels above it: "
                                                        f"{', '.join(above) or 'none'}")
    # each storage level's operands, read from the file where the level itself has other problems
    # (None: unknown), so that the paths are checked in the same report
    kept = []
    for lv, kind, raw in zip(levels, kinds, raw_levels):
        if kind != "storage":
            continue
        if lv is not None:
            kept.append(set(lv.operands))
        else:
            names = raw.get("operands") if isinstance(raw, dict) else None
            kept.append({op for op in names if op in OPERANDS} if isinstance(names, list) else None)
    if not levels or kinds[0] != "storage":
        return
    for op in OPERANDS:
        if kept[0] is not None and op not in kept[0]:
            top.error("levels[0].operands", f"the backing store must hold every operand; {op} would have no path "
                                            f"to DRAM: add {op}")
        if all(ops is not None and op not in ops for ops in kept):
            top.error("levels", f"no storage level holds {op}: it has no level to feed the MACs from")
        if levels[0] is not None and op in levels[0].may_bypass:
            top.error("levels[0].may_bypass", f"the backing store cannot bypass {op}: it is the only path to DRAM")


def arch_from_dict(data, file: str = "<hw>") -> ArchTree:
    """Validate a parsed architecture tree and build an :class:`ArchTree`; all problems together."""
    top = Reader(data, file)
    name = top.string("name")
    description = top.string("description", "")
    source = top.string("source", "")
    precision = top.choice("precision", tuple(PRECISION_BITS))
    clock_mhz = top.number("clock_mhz", maximum=MAX_CLOCK_MHZ, hint=CLOCK_HINT)
    timing = top.choice("timing", TREE_TIMING_MODELS, "physical")
    counting = top.choice("counting", COUNTING_CONVENTIONS, "accelsim")
    energy_table = top.string("energy_table", DEFAULT_ENERGY_TABLE)
    area_table = top.string("area_table", DEFAULT_AREA_TABLE)
    vector_lanes, zero_skipping, hw_nm = vector_and_sparsity(top)
    raw_levels = top.raw("levels", schema={"type": "array", "minItems": 2})
    top.reject_unknown(_TOP_KEYS)
    if raw_levels is not None and (not isinstance(raw_levels, list) or len(raw_levels) < 2):
        top.error("levels", "must be a list of at least two levels: a storage level (the backing store) first, "
                            "the compute level last")
        raw_levels = []
    default_bits = PRECISION_BITS.get(precision, 8)
    levels, kinds, below_spatial = [], [], False
    for index, raw in enumerate(raw_levels or []):
        r = Reader(raw, file, f"levels[{index}]", top.problems)
        kind = r.choice("kind", LEVEL_KINDS)
        r.variant = ("kind", kind, False)
        kinds.append(kind)
        if kind == "storage":
            levels.append(_storage(r, index, default_bits, below_spatial))
        elif kind == "spatial":
            levels.append(_spatial(r))
            below_spatial = True
        elif kind == "compute":
            levels.append(_compute(r, precision))
        else:
            levels.append(None)
    _check_tree(top, levels, kinds, raw_levels or [])
    top.raise_if_problems()
    return ArchTree(name=name, levels=_with_instances(levels), precision=precision, clock_mhz=float(clock_mhz),
                    timing=timing, counting=counting, energy_table=energy_table, area_table=area_table or DEFAULT_AREA_TABLE, vector_lanes_setting=vector_lanes or 0,
                    sparsity_zero_skipping=bool(zero_skipping), sparsity_nm=tuple(hw_nm or ()),
                    description=description or "", source=source or "", file=str(file))


def load_arch(path) -> ArchTree:
    """Load and validate one architecture-tree ``hw/*.yaml`` file."""
    return arch_from_dict(load_yaml(Path(path)), str(path))


__all__ = ["ArchTree", "StorageLevel", "SpatialLevel", "ComputeLevel", "PerOperand", "arch_from_dict", "load_arch",
           "is_arch_tree", "unrolling_problems", "OPERANDS", "UNROLL_DIMS"]


def unrolling_problems(tree: ArchTree, unrolling: dict, file: str = "", path: str = "spatial") -> list:
    """Problems of a mapping's spatial unrolling on ``tree``: ``unrolling`` maps a spatial level's
    name to ``{"x": {dim: factor}, "y": {dim: factor}}``. A dimension the level does not list in
    ``unroll_x`` / ``unroll_y``, a level that is not spatial, or factors whose product exceeds the
    fan-out are reported (file, key path, fix), all together."""
    from ..errors import Problem
    problems = []
    spatial = {lv.name: lv for lv in tree.spatial_levels}
    for name, axes in unrolling.items():
        where = f"{path}.{name}"
        level = spatial.get(name)
        if level is None:
            problems.append(Problem(file, where, f"no spatial level named {name!r}{did_you_mean(name, spatial)}; "
                                                 f"spatial levels: {', '.join(spatial) or 'none'}"))
            continue
        for axis, factors in axes.items():
            allowed = level.unroll_x if axis == "x" else level.unroll_y
            fanout = level.fanout_x if axis == "x" else level.fanout_y
            product = 1
            for dim, factor in factors.items():
                product *= factor
                if factor > 1 and dim not in allowed:
                    problems.append(Problem(file, f"{where}.{axis}.{dim}",
                                            f"{name} may not unroll {dim} across {axis.upper()} (unroll_{axis}: "
                                            f"{', '.join(allowed) or 'none'}); move {dim} to a temporal loop or "
                                            f"another level"))
            if product > fanout:
                problems.append(Problem(file, f"{where}.{axis}",
                                        f"unrolls {product} instances but {name} has fanout_{axis} {fanout}; "
                                        "lower the factors"))
    return problems
