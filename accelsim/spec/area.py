"""Area tables (``hw/area/*.yaml``): area per bit of storage and per MAC, each number with its
source, as Accelergy's area reference tables ([accelergy]) give them per component.

A storage level's area is its own ``area_mm2`` when the tree gives one, else its capacity in bits
times the table's per-bit area for its ``energy_class`` (``sram``, ``rf``; ``dram`` is off chip);
a compute level's is ``area_mm2`` or ``mac_um2`` of its precision; a spatial level (its network)
only its own ``area_mm2``. Each times the level's instances (accelsim/loopnest/tree.py ``area_mm2``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from .common import Reader, load_yaml
from .hw import PRECISION_BITS

DEFAULT_AREA_TABLE = "accelergy_65nm"


@dataclass(frozen=True)
class AreaTable:
    name: str
    mac_um2: dict
    sram_um2_per_bit: float
    rf_um2_per_bit: float
    dram_um2: float = 0.0
    description: str = ""
    source: str = ""
    file: str = ""


def area_table_from_dict(data, file: str = "<area>") -> AreaTable:
    top = Reader(data, file)
    name = top.string("name")
    description = top.string("description", "")
    source = top.string("source", "")
    macs = top.child("mac_um2")
    mac = {p: macs.number(p, None, positive=False) for p in PRECISION_BITS}
    macs.reject_unknown(PRECISION_BITS)
    sram = top.number("sram_um2_per_bit", positive=False)
    rf = top.number("rf_um2_per_bit", positive=False)
    dram = top.number("dram_um2", 0, positive=False)
    top.reject_unknown(("name", "description", "source", "mac_um2", "sram_um2_per_bit", "rf_um2_per_bit", "dram_um2"))
    for key, value in (("sram_um2_per_bit", sram), ("rf_um2_per_bit", rf), ("dram_um2", dram)):
        if value is not None and value < 0:
            top.error(key, f"must be >= 0 (got {value})")
    top.raise_if_problems()
    return AreaTable(name=name, mac_um2={p: v for p, v in mac.items() if v is not None}, sram_um2_per_bit=sram,
                     rf_um2_per_bit=rf, dram_um2=dram, description=description or "", source=source or "",
                     file=str(file))


def load_area_table(name_or_path) -> AreaTable:
    """A table by name (``hw/area/<name>.yaml``) or path."""
    path = Path(str(name_or_path))
    if not path.is_file():
        from . import builtin_dir
        path = builtin_dir("hw") / "area" / f"{name_or_path}.yaml"
    return area_table_from_dict(load_yaml(path), str(path))


def area_table_for(tree) -> AreaTable:
    """The area table of ``tree``'s ``area_table``: a file beside the hw file (a path, or a name
    with ``.yaml``), else a table of ``hw/area/`` by name; a missing one names the hw file and key."""
    from ..errors import AccelsimError
    from . import builtin_dir
    choice = str(tree.area_table)
    if tree.file:
        local = Path(tree.file).parent / choice
        for candidate in (local, local.with_suffix(".yaml")):
            if candidate.is_file():
                return area_table_from_dict(load_yaml(candidate), str(candidate))
    path = builtin_dir("hw") / "area" / f"{choice}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in (builtin_dir("hw") / "area").glob("*.yaml"))
        raise AccelsimError(f"{tree.file or tree.name}: area_table: no area table {choice!r} beside the file or "
                            f"in hw/area/ (built-in: {', '.join(names)}); give a name or a path to a table")
    return area_table_from_dict(load_yaml(path), str(path))


def level_area(level, table: AreaTable) -> tuple:
    """One instance of a tree level: (um^2, or None where the table has no figure for it; the
    number's source, in words: the hw file's ``area_mm2``, or the table entry and what it multiplies)."""
    where = f"{table.name} ({table.source or table.file})"
    if level.area_mm2 is not None:
        return level.area_mm2 * 1e6, f"area_mm2 of the level in the hw file ({level.area_mm2:g} mm2 each)"
    if level.kind == "compute":
        if level.precision not in table.mac_um2:
            return None, (f"unknown: {table.name} has no {level.precision} MAC (mac_um2: "
                          f"{', '.join(table.mac_um2) or 'none'}); give the compute level area_mm2. Not in the total")
        return table.mac_um2[level.precision], f"{where} mac_um2.{level.precision} = {table.mac_um2[level.precision]:g} um2"
    if level.kind == "spatial":
        return 0.0, "none: a network has only the area_mm2 the hw file gives it"
    if level.energy_class == "dram":
        return table.dram_um2, f"{where} dram_um2 = {table.dram_um2:g} um2 (off chip)"
    bits = level.size_bits if level.size_bits_by_operand is None else sum(v for _, v in level.size_bits_by_operand.items())
    if math.isinf(bits):
        return 0.0, "none: an unbounded level (the backing store) has no on-chip capacity"
    key = "rf_um2_per_bit" if level.energy_class == "rf" else "sram_um2_per_bit"
    per_bit = getattr(table, key)
    return bits * per_bit, f"{where} {key} = {per_bit:g} um2 x {bits:,} bits"


def level_area_um2(level, table: AreaTable) -> float:
    """One instance of a tree level, in um^2 (the module docstring's rules); NaN where the table
    has no figure for it (:func:`level_area` says why)."""
    um2, _ = level_area(level, table)
    return math.nan if um2 is None else um2


def area_rows(tree, table: AreaTable) -> list:
    """``area.csv``'s rows: per level its instances, area per instance and in all (mm², NaN where
    unknown) and the number's source; then ``total``, the sum of the known levels."""
    rows = []
    for lv in tree.levels:
        um2, source = level_area(lv, table)
        each = math.nan if um2 is None else um2 / 1e6
        rows.append({"level": lv.name, "kind": lv.kind, "instances": lv.instances, "area_mm2_each": each,
                     "area_mm2": each * lv.instances, "source": source})
    missing = [r["level"] for r in rows if math.isnan(r["area_mm2"])]
    rows.append({"level": "total", "kind": "total", "instances": 1,
                 "area_mm2_each": math.nan, "area_mm2": math.fsum(r["area_mm2"] for r in rows if r["level"] not in missing),
                 "source": "sum of the levels" + (f" except {', '.join(missing)} (area unknown)" if missing else "")})
    return rows
