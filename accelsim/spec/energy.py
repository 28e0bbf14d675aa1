"""Energy tables (``hw/energy/*.yaml``): energy per action, each number with its source.

Actions: one MAC (by precision), one register-file read or write per operand, one PE-to-PE
transfer, one SRAM read or write (by buffer size), one DRAM read or write. Each access energy is
given for an access of ``bits`` bits and scaled linearly to the array's word size. Every ``*_pj``
value is multiplied by ``scale_pj`` (default 1), so a table of normalized costs (Eyeriss, ISCA 2016,
Table IV) can be anchored to one absolute number. ``vector_op_pj`` (by precision) is one elementary
vector-unit operation on one element (an add, compare or multiply; see accelsim/vector.py); a table
without it charges a MAC's energy per vector op, an upper bound (a MAC is a multiply plus an add).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .common import Reader, check_kind, load_yaml
from .hw import PRECISION_BITS

OPERANDS = ("ifmap", "filter", "ofmap")


@dataclass(frozen=True)
class AccessEnergy:
    read_pj: float
    write_pj: float


@dataclass(frozen=True)
class SramPoint:
    size_kib: float
    read_pj: float
    write_pj: float


@dataclass(frozen=True)
class EnergyTable:
    """Per-action energies in pJ (already multiplied by ``scale_pj``)."""

    name: str
    mac_pj: dict
    rf_bits: int
    rf: dict                  # operand -> AccessEnergy
    noc_bits: int
    noc_transfer_pj: float
    sram_bits: int
    sram_points: tuple        # SramPoint, ascending size
    dram_bits: int
    dram: AccessEnergy
    scale_pj: float = 1.0
    vector_op_pj: dict = None
    description: str = ""
    source: str = ""
    file: str = ""


def _access(r: Reader, key: str, scale: float) -> AccessEnergy | None:
    a = r.child(key)
    read, write = a.number("read_pj", positive=False), a.number("write_pj", positive=False)
    a.reject_unknown({"read_pj", "write_pj"})
    for k, v in (("read_pj", read), ("write_pj", write)):
        if v is not None and v < 0:
            a.error(k, f"must be >= 0 (got {v})")
    return None if None in (read, write) else AccessEnergy(read * scale, write * scale)


def energy_table_from_dict(data, file: str = "<energy>") -> EnergyTable:
    """Validate a parsed energy table and build an :class:`EnergyTable`; all problems at once."""
    check_kind(data, file, "energy table")
    top = Reader(data, file)
    name = top.string("name")
    description = top.string("description", "")
    source = top.string("source", "")
    scale = top.number("scale_pj", 1.0)
    scale = scale if scale is not None else 1.0
    mac = top.child("mac_pj")
    mac_pj = {}
    for precision in list(mac.data):
        if precision not in PRECISION_BITS:
            continue
        value = mac.number(precision, None, positive=False)  # present keys only: none is required
        if value is not None and value < 0:
            mac.error(precision, f"must be >= 0 (got {value})")
            value = None
        if value is not None:
            mac_pj[precision] = value * scale
    if not mac.data and not mac.absent:
        mac.error("", f"give the energy of one MAC for at least one precision ({', '.join(PRECISION_BITS)})")
    mac.reject_unknown(PRECISION_BITS)
    vec = top.child("vector_op_pj", required=False)
    vector_pj = {}
    for precision in PRECISION_BITS:
        value = vec.number(precision, None, positive=False)
        if value is not None and value < 0:
            vec.error(precision, f"must be >= 0 (got {value})")
        elif value is not None:
            vector_pj[precision] = value * scale
    vec.reject_unknown(PRECISION_BITS)
    rf = top.child("rf")
    rf_bits = rf.integer("bits")
    rf_access = {op: _access(rf, op, scale) for op in OPERANDS}
    rf.reject_unknown({"bits", *OPERANDS})
    noc = top.child("noc")
    noc_bits = noc.integer("bits")
    noc_pj = noc.number("transfer_pj", positive=False)
    if noc_pj is not None and noc_pj < 0:
        noc.error("transfer_pj", f"must be >= 0 (got {noc_pj})")
    noc.reject_unknown({"bits", "transfer_pj"})
    sram = top.child("sram")
    sram_bits = sram.integer("bits")
    raw_points = sram.raw("points", schema={"type": "array", "minItems": 1})
    points = []
    if raw_points is not None and (not isinstance(raw_points, list) or not raw_points):
        sram.error("points", "must be a non-empty list of {size_kib, read_pj, write_pj}")
        raw_points = []
    for i, raw in enumerate(raw_points or []):
        p = Reader(raw, file, sram.key_path(f"points[{i}]"), top.problems)
        size = p.number("size_kib")
        read, write = p.number("read_pj", positive=False), p.number("write_pj", positive=False)
        p.reject_unknown({"size_kib", "read_pj", "write_pj"})
        for k, v in (("read_pj", read), ("write_pj", write)):
            if v is not None and v < 0:
                p.error(k, f"must be >= 0 (got {v})")
        if None not in (size, read, write):
            points.append(SramPoint(size, read * scale, write * scale))
    sizes = [p.size_kib for p in points]
    if sizes != sorted(set(sizes)):
        sram.error("points", "sizes must be distinct and in ascending order")
    dram = top.child("dram")
    dram_bits = dram.integer("bits")
    dram_read = dram.number("read_pj", positive=False)
    dram_write = dram.number("write_pj", positive=False)
    dram.reject_unknown({"bits", "read_pj", "write_pj"})
    for k, v in (("read_pj", dram_read), ("write_pj", dram_write)):
        if v is not None and v < 0:
            dram.error(k, f"must be >= 0 (got {v})")
    top.reject_unknown(("name", "description", "source", "scale_pj", "mac_pj", "vector_op_pj", "rf", "noc", "sram",
                      "dram"))
    top.raise_if_problems()
    return EnergyTable(
        name=name, mac_pj=mac_pj, rf_bits=rf_bits, rf=rf_access, noc_bits=noc_bits,
        noc_transfer_pj=noc_pj * scale, sram_bits=sram_bits, sram_points=tuple(points),
        dram_bits=dram_bits, dram=AccessEnergy(dram_read * scale, dram_write * scale), scale_pj=scale,
        vector_op_pj={**mac_pj, **vector_pj}, description=description or "", source=source or "", file=str(file))


def load_energy_table(path) -> EnergyTable:
    """Load and validate one ``hw/energy/*.yaml`` file."""
    return energy_table_from_dict(load_yaml(Path(path)), str(path))
