"""Accelerator descriptions (``hw/*.yaml``): PE array, SRAM buffers, DRAM, clock, precision.

Units are in the field names. A "word" is one operand at the array's precision; SRAM and DRAM
access counts elsewhere in accelsim are in words, traffic and bandwidth in bytes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import shown
from .common import (_MISSING, CLOCK_HINT, MAX_ARRAY_DIM, MAX_BANDWIDTH, MAX_BUFFER_KIB, MAX_CLOCK_MHZ, MIN_BANDWIDTH,
                     NM_SCHEMA, Reader, check_kind, load_yaml, nm_pair)

#: Largest DRAM latency accepted (cycles): far beyond any DRAM (~100 ns at a few GHz).
MAX_DRAM_LATENCY = 1 << 20

#: Bits per word for each precision (IEEE 754 / bfloat16 / two's-complement integer widths).
PRECISION_BITS = {"int4": 4, "int8": 8, "int16": 16, "fp16": 16, "bf16": 16, "fp32": 32}

INTERCONNECTS = ("systolic", "multicast")
#: Default per-PE register-file words per operand: a systolic PE holds one word of each.
DEFAULT_RF_WORDS = {"ifmap": 1, "filter": 1, "ofmap": 1}
TIMING_MODELS = ("physical", "scalesim")


@dataclass(frozen=True)
class SramBuffer:
    """One on-chip buffer. ``size_bytes`` is the whole buffer, both halves when double-buffered."""

    size_bytes: int


@dataclass(frozen=True)
class Hardware:
    """A systolic PE array with ifmap / filter / ofmap SRAM buffers in front of one DRAM interface:
    the shorthand for one shape of the architecture tree (:attr:`tree`; accelsim/spec/arch.py).

    ``interconnect='systolic'``: operands enter the array edges with a one-cycle skew per row or
    column and move one PE per cycle; this skew (and so the fill/drain time of every fold) is a
    property of the array, not of the dataflow. ``interconnect='multicast'``: buses deliver a word
    from the global buffer to any set of PEs in one step and partial sums are reduced across PEs
    (Eyeriss's global input and psum networks, Chen et al. JSSC 2017, section IV); no skew.
    ``rf_words``: per-PE register-file (scratchpad) capacity per operand, in words.
    ``sram_bandwidth_words_per_cycle``: words the on-chip buffers can exchange with the array per
    cycle, all operands together (``math.inf``: unlimited, the default).
    ``noc_bandwidth_words_per_cycle``: words the array's network moves per cycle, all operands and
    PEs together (a systolic array's PE-to-PE hops, a multicast array's deliveries and psum
    moves); ``rf_bandwidth_words_per_cycle``: register-file accesses (reads + writes, all
    operands) one PE makes per cycle. Both default to unlimited; accelsim/model.py's
    ``apply_bandwidth_limits`` turns every finite level into a roofline bound on the cycles.
    ``vector_lanes`` (property; field ``vector_lanes_setting``, 0 for the default): elements the vector unit (pooling, element-wise adds, normalisation, softmax,
    activations; see accelsim/vector.py) processes per cycle, one elementary op per lane per cycle;
    default: one lane per array column, like the activation pipeline under TPU v1's matrix unit
    (Jouppi et al., ISCA 2017, section 2), which is as wide as the array's output edge.
    ``sparsity_zero_skipping`` / ``sparsity_nm`` (hw key ``sparsity: {zero_skipping, nm}``): the
    array skips zero operands / supports n:m structured weights; accelsim/model.py's sparse timing.
    ``dram_bandwidth_bytes_per_cycle`` is ``math.inf`` for an unlimited interface (SCALE-Sim's
    CALC mode). ``dram_capacity_bytes`` (``dram.capacity_gib``; 0: not given) bounds what an LLM's
    weights and KV cache may hold (:mod:`accelsim.llm.memory`). ``dram_latency_cycles``
    (``dram.latency_cycles``, default 0): cycles from a DRAM read's last byte leaving the port to
    its data being usable in SRAM (requests are pipelined: the port is free at once); the
    cycle-level simulator and the RTL memory system (accelsim/rtl/memsys.py) model it, the
    analytical stall model does not. ``timing`` selects the cycle conventions: ``physical`` (default, what an RTL array
    does) or ``scalesim`` (SCALE-Sim 3.0.0's, deviations included; see accelsim/model.py).
    """

    name: str
    array_rows: int
    array_cols: int
    interconnect: str
    precision: str
    clock_mhz: float
    sram_ifmap: SramBuffer
    sram_filter: SramBuffer
    sram_ofmap: SramBuffer
    double_buffered: bool
    dram_bandwidth_bytes_per_cycle: float
    timing: str = "physical"
    energy_table: str = "horowitz_45nm"
    rf_words: tuple = (1, 1, 1)
    sram_bandwidth_words_per_cycle: float = math.inf
    noc_bandwidth_words_per_cycle: float = math.inf
    rf_bandwidth_words_per_cycle: float = math.inf
    vector_lanes_setting: int = 0
    sparsity_zero_skipping: bool = False
    sparsity_nm: tuple = ()
    dram_capacity_bytes: int = 0
    dram_latency_cycles: int = 0
    description: str = ""
    source: str = ""
    file: str = ""
    #: a tree-form file's level names and areas (accelsim/spec/arch_shorthand.py keeps them so the
    #: tree expands back as written); empty for a shorthand file
    level_names: tuple = field(default=(), compare=False)
    level_areas_mm2: tuple = field(default=(), compare=False)

    @property
    def word_bits(self) -> int:
        return PRECISION_BITS[self.precision]

    @property
    def word_bytes(self) -> float:
        return PRECISION_BITS[self.precision] / 8

    @property
    def num_pes(self) -> int:
        return self.array_rows * self.array_cols

    @property
    def vector_lanes(self):
        """The vector unit's lanes: ``vector.lanes``, else one per array column (so a variant
        with another array size, e.g. in a sweep, gets its own default)."""
        return self.vector_lanes_setting or self.array_cols

    def buffer_words(self, buffer: SramBuffer) -> int:
        """Words one buffer holds (both halves)."""
        return buffer.size_bytes * 8 // self.word_bits


_TOP_KEYS = ("name", "description", "source", "array", "pe", "precision", "clock_mhz", "sram", "dram",
             "timing", "energy_table", "vector", "sparsity")
DEFAULT_ENERGY_TABLE = "horowitz_45nm"
#: The area table a tree uses unless its ``area_table`` names another (hw/area/, accelsim/spec/area.py).
DEFAULT_AREA_TABLE = "accelergy_65nm"
BANDWIDTH_SCHEMA = {"oneOf": [{"type": "number", "exclusiveMinimum": 0}, {"const": "unlimited"}]}


def _buffer(sram: Reader, key: str) -> SramBuffer | None:
    buf = sram.child(key)
    size_kib = buf.number("size_kib", maximum=MAX_BUFFER_KIB)
    buf.reject_unknown({"size_kib"})
    if size_kib is None:
        return None
    size_bytes = size_kib * 1024
    if not float(size_bytes).is_integer():
        buf.error("size_kib", f"must be a whole number of bytes (got {size_kib} KiB)")
        return None
    return SramBuffer(size_bytes=int(size_bytes))


def _bandwidth(reader: Reader, key: str, default="unlimited") -> float | None:
    """A bandwidth: a finite number > 0, or the string ``unlimited`` (math.inf)."""
    raw = reader.raw(key, default, BANDWIDTH_SCHEMA)
    if raw == "unlimited":
        return math.inf
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and MIN_BANDWIDTH <= raw <= MAX_BANDWIDTH:
        return float(raw)
    if raw is not None:
        reader.error(key, f"must be a number > 0 or the string unlimited (numbers from {MIN_BANDWIDTH:g} to "
                          f"2^40; got {shown(raw)})")
    return None


def vector_and_sparsity(top: Reader) -> tuple:
    """The ``vector`` and ``sparsity`` sections a shorthand file and a tree file share:
    (vector lanes or None, zero skipping, n:m pair or ())."""
    vector = top.child("vector", required=False)
    vector_lanes = vector.integer("lanes", None)
    vector.reject_unknown({"lanes"})
    sparse = top.child("sparsity", required=False)
    zero_skipping = sparse.boolean("zero_skipping", False)
    raw_nm = sparse.raw("nm", None, NM_SCHEMA)
    hw_nm = () if raw_nm is None else nm_pair(sparse, "nm", raw_nm)
    sparse.reject_unknown({"zero_skipping", "nm"})
    return vector_lanes, zero_skipping, hw_nm


def hardware_from_dict(data, file: str = "<hw>") -> Hardware:
    """Validate a parsed hw mapping and build a :class:`Hardware`; all problems raised together."""
    check_kind(data, file, "hw")
    top = Reader(data, file)
    name = top.string("name")
    description = top.string("description", "")
    source = top.string("source", "")
    array = top.child("array")
    rows = array.integer("rows", maximum=MAX_ARRAY_DIM)
    cols = array.integer("cols", maximum=MAX_ARRAY_DIM)
    interconnect = array.choice("interconnect", INTERCONNECTS, "systolic")
    noc_bw = _bandwidth(array, "noc_bandwidth_words_per_cycle")
    array.reject_unknown({"rows", "cols", "interconnect", "noc_bandwidth_words_per_cycle"})
    pe = top.child("pe", required=False)
    rf = pe.child("rf_words", required=False)
    rf_words = tuple(rf.integer(op, DEFAULT_RF_WORDS[op], minimum=0) for op in ("ifmap", "filter", "ofmap"))
    rf.reject_unknown(DEFAULT_RF_WORDS)
    rf_bw = _bandwidth(pe, "rf_bandwidth_words_per_cycle")
    pe.reject_unknown({"rf_words", "rf_bandwidth_words_per_cycle"})
    vector_lanes, zero_skipping, hw_nm = vector_and_sparsity(top)
    precision = top.choice("precision", tuple(PRECISION_BITS))
    clock_mhz = top.number("clock_mhz", maximum=MAX_CLOCK_MHZ, hint=CLOCK_HINT)
    sram = top.child("sram")
    double_buffered = sram.boolean("double_buffered", True)
    buffers = {key: _buffer(sram, key) for key in ("ifmap", "filter", "ofmap")}
    sram_bw = _bandwidth(sram, "bandwidth_words_per_cycle")
    sram.reject_unknown({"double_buffered", "ifmap", "filter", "ofmap", "bandwidth_words_per_cycle"})
    dram = top.child("dram")
    bandwidth = _bandwidth(dram, "bandwidth_bytes_per_cycle", default=_MISSING)
    capacity = dram.number("capacity_gib", None)
    latency = dram.integer("latency_cycles", 0, minimum=0, maximum=MAX_DRAM_LATENCY)
    dram.reject_unknown({"bandwidth_bytes_per_cycle", "capacity_gib", "latency_cycles"})
    timing = top.choice("timing", TIMING_MODELS, "physical")
    energy_table = top.string("energy_table", DEFAULT_ENERGY_TABLE)
    top.reject_unknown(_TOP_KEYS)
    if precision is not None:
        for key, buf in buffers.items():
            if buf is not None and buf.size_bytes * 8 < PRECISION_BITS[precision]:
                sram.error(f"{key}.size_kib", "must hold at least one word")
    top.raise_if_problems()
    return Hardware(
        name=name, array_rows=rows, array_cols=cols, interconnect=interconnect,
        precision=precision, clock_mhz=float(clock_mhz),
        sram_ifmap=buffers["ifmap"], sram_filter=buffers["filter"], sram_ofmap=buffers["ofmap"],
        double_buffered=double_buffered, dram_bandwidth_bytes_per_cycle=float(bandwidth),
        dram_capacity_bytes=int(round(float(capacity or 0) * 2 ** 30)),
        dram_latency_cycles=int(latency or 0),
        timing=timing, energy_table=energy_table, rf_words=rf_words, sram_bandwidth_words_per_cycle=sram_bw,
        noc_bandwidth_words_per_cycle=noc_bw, rf_bandwidth_words_per_cycle=rf_bw, vector_lanes_setting=vector_lanes or 0, sparsity_zero_skipping=bool(zero_skipping), sparsity_nm=tuple(hw_nm or ()),
        description=description or "", source=source or "", file=str(file),
    )


def load_hardware(path) -> Hardware:
    """Load and validate one ``hw/*.yaml`` file."""
    return hardware_from_dict(load_yaml(Path(path)), str(path))
