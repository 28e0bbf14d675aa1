"""Read ZigZag's own hardware, mapping and workload files (ZigZag 3.x YAML, as shipped in
``zigzag/inputs/``; KULeuven-MICAS/zigzag, key ``zigzag`` in docs/references.md).

* hardware: ``name``, ``memories: {NAME: {size (bits), r_cost, w_cost (pJ per access of one port
  word), area, latency, operands [I1, I2, O], ports [{name, type, bandwidth_min, bandwidth_max
  (bits per cycle), allocation}], served_dimensions [D1, ...]}}`` listed innermost first, and
  ``operational_array: {unit_energy, unit_area, dimensions [D1, ...], sizes [...]}``;
* mapping: a list of ``{name, spatial_mapping: {D1: ["K, 32"]}, temporal_ordering, memory_operand_links
  {O: O, W: I2, I: I1}}`` entries, ``default`` for any layer;
* workload: a list of layers ``{id, name, operator_type, equation, dimension_relations, loop_dims,
  loop_sizes, operand_precision, operand_source, padding}``.

Problems are collected and raised together, each with the file and key path. The files are read
as ZigZag reads them, with PyYAML, where a repeated key keeps its last value: ZigZag 3.9.1's
shipped ``tpu_like.yaml`` repeats ``ports`` under ``sram_2MB`` (a legacy port map, then the port
list ZigZag uses).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import AccelsimError, Problem, SpecError
from ..spec.common import read_text
import yaml

MEMORY_KEYS = ("size", "r_cost", "w_cost", "area", "latency", "operands", "ports", "served_dimensions",
               "mem_type", "auto_cost_extraction", "min_r_granularity", "min_w_granularity")
PORT_KEYS = ("name", "type", "bandwidth_min", "bandwidth_max", "allocation")
ARRAY_KEYS = ("unit_energy", "unit_area", "dimensions", "sizes", "input_precision", "systolic_dimensions",
              "is_imc")
MEM_OPERANDS = ("I1", "I2", "O")


@dataclass(frozen=True)
class Memory:
    name: str
    size_bits: int
    r_cost_pj: float
    w_cost_pj: float
    area: float
    operands: tuple[str, ...]          # memory operands (I1, I2, O)
    served: tuple[str, ...]            # operational-array dimensions this memory is shared across
    read_bits_per_cycle: float         # summed over read (and read_write) ports, at bandwidth_max
    write_bits_per_cycle: float
    read_port_bits: int                # bandwidth_max of the widest read port: one read access's width
    write_port_bits: int               # likewise for writes
    min_port_bits: int                 # the largest bandwidth_min: an access's granularity
    port_types: tuple[tuple[str, float], ...] = ()   # (type, bandwidth_max) per port, as listed


@dataclass(frozen=True)
class Hardware:
    name: str
    memories: tuple[Memory, ...]       # innermost first, as ZigZag lists them
    dims: tuple[str, ...]
    sizes: tuple[int, ...]
    unit_energy_pj: float
    unit_area: float
    systolic: tuple[str, ...]
    file: str


def load_yaml(path: Path):
    text = read_text(path)     # refuses FIFOs, devices and huge files before reading
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise AccelsimError(f"{path}: not valid YAML{where}") from None


def _num(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def read_hardware(path) -> Hardware:
    path = Path(path)
    data = load_yaml(path)
    file = str(path)
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise AccelsimError(f"{file}: expected a ZigZag hardware mapping (name, memories, operational_array)")
    for key in data:
        if key not in ("name", "memories", "operational_array"):
            problems.append(Problem(file, key, "unknown key; a ZigZag hardware file has name, memories and "
                                    "operational_array"))
    array = data.get("operational_array")
    if not isinstance(array, dict):
        raise SpecError([*problems, Problem(file, "operational_array", "required mapping is missing")])
    if array.get("is_imc"):
        problems.append(Problem(file, "operational_array.is_imc", "in-memory-compute arrays are not modelled "
                                "by accelsim; import a digital MAC array"))
    for key in array:
        if key not in ARRAY_KEYS:
            problems.append(Problem(file, f"operational_array.{key}", "unsupported key"))
    dims = tuple(str(d) for d in array.get("dimensions") or ())
    sizes = tuple(array.get("sizes") or ())
    if not dims or len(dims) != len(sizes) or not all(isinstance(s, int) and s >= 1 for s in sizes):
        problems.append(Problem(file, "operational_array.sizes", "one integer >= 1 per dimension in `dimensions`"))
    memories = []
    mems = data.get("memories")
    if not isinstance(mems, dict) or not mems:
        problems.append(Problem(file, "memories", "required mapping of memories is missing"))
        mems = {}
    for name, m in mems.items():
        where = f"memories.{name}"
        if not isinstance(m, dict):
            problems.append(Problem(file, where, "expected a mapping"))
            continue
        for key in m:
            if key not in MEMORY_KEYS:
                problems.append(Problem(file, f"{where}.{key}", "unsupported key"))
        if m.get("auto_cost_extraction"):
            problems.append(Problem(file, f"{where}.auto_cost_extraction", "CACTI cost extraction is not "
                                    "available in accelsim; give r_cost, w_cost and area"))
        size = m.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            problems.append(Problem(file, f"{where}.size", f"must be an integer number of bits >= 1 (got {size!r})"))
            size = 1
        operands = tuple(str(o) for o in m.get("operands") or ())
        bad = [o for o in operands if o not in MEM_OPERANDS]
        if bad or not operands:
            problems.append(Problem(file, f"{where}.operands", f"must list memory operands from {MEM_OPERANDS} "
                                    f"(got {list(operands)})"))
        served = tuple(str(d) for d in m.get("served_dimensions") or ())
        unknown = [d for d in served if d not in dims]
        if unknown:
            problems.append(Problem(file, f"{where}.served_dimensions", f"{unknown} are not array dimensions {list(dims)}"))
        read_bits = write_bits = 0.0
        read_port = write_port = min_port = 0
        port_types = []
        for i, port in enumerate(m.get("ports") or []):
            pw = f"{where}.ports[{i}]"
            if not isinstance(port, dict):
                continue     # ZigZag's shipped files carry a legacy port-map list before `ports`; YAML keeps the last
            for key in port:
                if key not in PORT_KEYS:
                    problems.append(Problem(file, f"{pw}.{key}", "unsupported key"))
            bw_max = _num(port.get("bandwidth_max"))
            bw_min = _num(port.get("bandwidth_min"))
            if bw_max is None or bw_max <= 0 or bw_min is None or bw_min <= 0:
                problems.append(Problem(file, pw, "bandwidth_min and bandwidth_max must be numbers > 0 (bits per cycle)"))
                continue
            min_port = max(min_port, int(bw_min))
            kind = str(port.get("type"))
            if kind not in ("read", "write", "read_write"):
                problems.append(Problem(file, f"{pw}.type", f"must be read, write or read_write (got {kind!r})"))
            port_types.append((kind, bw_max))
            if kind in ("read", "read_write"):
                read_bits += bw_max
                read_port = max(read_port, int(bw_max))
            if kind in ("write", "read_write"):
                write_bits += bw_max
                write_port = max(write_port, int(bw_max))
        memories.append(Memory(str(name), int(size), float(_num(m.get("r_cost")) or 0.0),
                               float(_num(m.get("w_cost")) or 0.0), float(_num(m.get("area")) or 0.0), operands,
                               served, read_bits, write_bits, read_port or 1, write_port or read_port or 1,
                               min_port or 1, tuple(port_types)))
    if problems:
        raise SpecError(problems)
    return Hardware(str(data.get("name", path.stem)), tuple(memories), dims, sizes,
                    float(_num(array.get("unit_energy")) or 0.0), float(_num(array.get("unit_area")) or 0.0),
                    tuple(str(d) for d in array.get("systolic_dimensions") or ()), file)


@dataclass(frozen=True)
class MappingEntry:
    name: str
    spatial: dict                       # array dim -> ((layer dim, factor), ...)
    temporal: tuple[tuple[str, int], ...]   # innermost first (ZigZag's temporal_ordering), may be empty
    links: dict                         # layer operand (I, W, O) -> memory operand (I1, I2, O)


_UNROLL = re.compile(r"^\s*([A-Za-z]+)\s*,\s*(\d+)\s*$")


def read_mapping(path, layer_name: str | None = None, operator: str = "Conv") -> MappingEntry:
    """The entry for ``layer_name`` (else ``operator``, else ``default``) of a ZigZag mapping file."""
    path = Path(path)
    data = load_yaml(path)
    file = str(path)
    if not isinstance(data, list):
        raise AccelsimError(f"{file}: expected a list of mapping entries (name, spatial_mapping, memory_operand_links)")
    by_name = {str(e.get("name")): (i, e) for i, e in enumerate(data) if isinstance(e, dict)}
    for key in (layer_name, operator, "default"):
        if key in by_name:
            index, entry = by_name[key]
            break
    else:
        raise AccelsimError(f"{file}: no entry named '{layer_name}', '{operator}' or 'default'")
    problems: list[Problem] = []
    spatial = {}
    for dim, unrolls in (entry.get("spatial_mapping") or {}).items():
        factors = []
        for j, u in enumerate(unrolls if isinstance(unrolls, list) else [unrolls]):
            m = _UNROLL.match(str(u))
            if not m:
                problems.append(Problem(file, f"[{index}].spatial_mapping.{dim}[{j}]", f"expected 'DIM, N' (got {u!r})"))
                continue
            factors.append((m.group(1), int(m.group(2))))
        spatial[str(dim)] = tuple(factors)
    temporal = []
    for j, item in enumerate(entry.get("temporal_ordering") or []):
        if not isinstance(item, list) or len(item) != 2 or not isinstance(item[1], int):
            problems.append(Problem(file, f"[{index}].temporal_ordering[{j}]", f"expected [DIM, N] (got {item!r})"))
            continue
        temporal.append((str(item[0]), int(item[1])))
    links = {str(k): str(v) for k, v in (entry.get("memory_operand_links") or {"O": "O", "W": "I2", "I": "I1"}).items()}
    for key in entry:
        if key not in ("name", "spatial_mapping", "temporal_ordering", "memory_operand_links",
                       "spatial_mapping_hint", "core_allocation"):
            problems.append(Problem(file, f"[{index}].{key}", "unsupported key"))
    if problems:
        raise SpecError(problems)
    return MappingEntry(str(entry.get("name")), spatial, tuple(temporal), links)


#: ZigZag conv loop dims -> accelsim conv dims (Mei et al., IEEE TC 2021, table I notation).
ZIGZAG_DIMS = {"B": "N", "K": "M", "C": "C", "OY": "E", "OX": "F", "FY": "R", "FX": "S", "G": "G"}


def read_workload(path) -> list[dict]:
    """ZigZag workload YAML layers as accelsim conv layers (the ``Conv`` equation of ZigZag's
    examples: ``O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]`` with ``ix = s*ox + d*fx``)."""
    path = Path(path)
    data = load_yaml(path)
    file = str(path)
    if not isinstance(data, list):
        raise AccelsimError(f"{file}: expected a list of ZigZag layers")
    problems: list[Problem] = []
    layers = []
    for i, layer in enumerate(data):
        where = f"[{i}]"
        if not isinstance(layer, dict):
            problems.append(Problem(file, where, "expected a layer mapping"))
            continue
        dims = [str(d) for d in layer.get("loop_dims") or []]
        sizes = layer.get("loop_sizes") or []
        if len(dims) != len(sizes):
            problems.append(Problem(file, where + ".loop_sizes", "one size per loop_dims entry"))
            continue
        bound = dict(zip(dims, sizes))
        unknown = [d for d in dims if d not in ZIGZAG_DIMS]
        if unknown:
            problems.append(Problem(file, where + ".loop_dims", f"dimensions {unknown} have no accelsim conv "
                                    f"counterpart (supported: {', '.join(ZIGZAG_DIMS)})"))
            continue
        if str(layer.get("operator_type", "Conv")) not in ("Conv", "Gemm", "conv", "gemm", "Conv_pointwise"):
            problems.append(Problem(file, where + ".operator_type", "accelsim imports Conv and Gemm layers"))
            continue
        stride = {"x": 1, "y": 1}
        dil = {"x": 1, "y": 1}
        for rel in layer.get("dimension_relations") or []:
            m = re.match(r"^\s*i([xy])\s*=\s*(\d+)\s*\*\s*o[xy]\s*\+\s*(\d+)\s*\*\s*f[xy]\s*$", str(rel))
            if not m:
                problems.append(Problem(file, where + ".dimension_relations", f"cannot read {rel!r} (expected "
                                        "'ix=S*ox+D*fx')"))
                continue
            stride[m.group(1)], dil[m.group(1)] = int(m.group(2)), int(m.group(3))
        e, f = bound.get("OY", 1), bound.get("OX", 1)
        r, s = bound.get("FY", 1), bound.get("FX", 1)
        out = {"name": str(layer.get("name", f"layer{i}")), "type": "conv", "N": bound.get("B", 1),
               "C": bound.get("C", 1) * bound.get("G", 1), "M": bound.get("K", 1) * bound.get("G", 1),
               "R": r, "S": s,
               "H": (e - 1) * stride["y"] + dil["y"] * (r - 1) + 1,
               "W": (f - 1) * stride["x"] + dil["x"] * (s - 1) + 1}
        if bound.get("G", 1) > 1:
            out["groups"] = bound["G"]
        if (stride["y"], stride["x"]) != (1, 1):
            out["stride"] = [stride["y"], stride["x"]]
        if (dil["y"], dil["x"]) != (1, 1):
            out["dilation"] = [dil["y"], dil["x"]]
        layers.append(out)
    if problems:
        raise SpecError(problems)
    return layers


@dataclass(frozen=True)
class Result:
    """What a ZigZag run chose and for which layer (``read_result``)."""

    layer: dict                 # an accelsim conv layer
    temporal: dict              # layer operand (I, W, O) -> per memory level (innermost first) -> ((dim, n), ...)
    links: dict
    bits: dict                  # ifmap, filter, ofmap (partial sums) word bits
    final_bits: int | None      # O_final: outputs after the last reduction


_LOOP = re.compile(r"^\(\s*([A-Za-z]+)\s*,\s*(\d+)\s*\)$")


def read_result(path) -> Result:
    """A ZigZag output: ``<layer>_complete.json`` (``inputs.layer``, ``inputs.temporal_mapping``) as
    ZigZag 3.x writes it, or the digest benchmarks/zigzag_runner.py keeps (the same keys at the top)."""
    import json
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccelsimError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AccelsimError(f"{path}: not a ZigZag result JSON ({exc})") from None
    inputs = data.get("inputs", data) if isinstance(data, dict) else {}
    temporal_raw = inputs.get("temporal_mapping")
    layer_raw = inputs.get("layer")
    if not isinstance(temporal_raw, dict) or not isinstance(layer_raw, dict):
        raise AccelsimError(f"{path}: no temporal_mapping and layer: pass the {{layer}}_complete.json ZigZag writes")
    problems: list[Problem] = []
    temporal = {}
    for op, levels in temporal_raw.items():
        per_level = []
        for i, loops in enumerate(levels):
            parsed = []
            for j, text in enumerate(loops):
                m = _LOOP.match(str(text))
                if not m or m.group(1) not in ZIGZAG_DIMS:
                    problems.append(Problem(str(path), f"temporal_mapping.{op}[{i}][{j}]", f"cannot read loop {text!r}"))
                    continue
                parsed.append((m.group(1), int(m.group(2))))
            per_level.append(tuple(parsed))
        temporal[str(op)] = tuple(per_level)
    sizes = layer_raw.get("loop_sizes") or layer_raw.get("loop_dimensions") or {}
    precision = layer_raw.get("operand_precision") or {}
    if problems:
        raise SpecError(problems)
    relations = layer_raw.get("equation_relations") or ["IX = 1*OX + 1*FX", "IY = 1*OY + 1*FY"]
    stride = {"x": 1, "y": 1}
    for rel in relations:
        m = re.match(r"^\s*i([xy])\s*=\s*(\d+)\s*\*\s*o[xy]\s*\+\s*(\d+)\s*\*\s*f[xy]\s*$", str(rel), re.I)
        if m and int(m.group(3)) == 1:
            stride[m.group(1).lower()] = int(m.group(2))
    e, f = sizes.get("OY", 1), sizes.get("OX", 1)
    r, s = sizes.get("FY", 1), sizes.get("FX", 1)
    layer = {"name": str(layer_raw.get("name", path.stem)), "type": "conv", "N": sizes.get("B", 1),
             "C": sizes.get("C", 1), "M": sizes.get("K", 1), "R": r, "S": s,
             "H": (e - 1) * stride["y"] + r, "W": (f - 1) * stride["x"] + s}
    if (stride["y"], stride["x"]) != (1, 1):
        layer["stride"] = [stride["y"], stride["x"]]
    links = {str(k): str(v) for k, v in (inputs.get("memory_operand_links") or layer_raw.get("memory_operand_links")
                                         or {"O": "O", "W": "I2", "I": "I1"}).items()}
    bits = {"ifmap": int(precision.get("I", 8)), "filter": int(precision.get("W", 8)),
            "ofmap": int(precision.get("O", 16))}
    final = precision.get("O_final")
    return Result(layer, temporal, links, bits, int(final) if final else None)
