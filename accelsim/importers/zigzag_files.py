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
               "mem_type", "auto_cost_extraction", "min_r_granularity", "min_w_granularity", "force_double_buffering")
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
    force_double_buffering: bool = False   # ZigZag's mapper reserves twice a tile unless it holds every
                                       # remaining loop (zigzag/opt/loma/memory_allocator.py, calc_size_slices)
    allocation: tuple = ()             # ((memory operand, direction tl/th/fh/fl, bandwidth_min, bandwidth_max), ...)
                                       # from the ports' allocation
    port_types: tuple = ()             # (type, bandwidth_max, ((memory operand, direction), ...)) per port, as listed

    def port(self, mem_op: str, direction: str) -> tuple[int, int] | None:
        """(bandwidth_min, bandwidth_max) bits of the port that the allocation gives ``mem_op`` in
        ``direction`` (tl: reads to the level below, th: reads to the level above, fh: writes from
        above, fl: writes from below); None where the allocation does not say."""
        return next(((low, high) for op, d, low, high in self.allocation if (op, d) == (mem_op, direction)), None)

    def ports(self, mem_op: str) -> tuple[int, int, int]:
        """(read, write, granularity) bits of one access of ``mem_op``. ZigZag charges each operand
        and direction at its own port's bandwidth (zigzag/cost_model/cost_model.py,
        ``get_max_bandwidth(mem_op, data_dir)``); an accelsim level has one read and one write energy
        per operand: reads at the port toward the level below (tl), writes at the port of the updates
        from below (fl), else of the fills from above (fh); the memory's widest ports where the
        allocation is silent."""
        read = self.port(mem_op, "tl")
        write = self.port(mem_op, "fl") or self.port(mem_op, "fh")
        low = max(read[0] if read else 0, write[0] if write else 0)
        return (read[1] if read else self.read_port_bits, write[1] if write else self.write_port_bits,
                low or self.min_port_bits)


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
        allocated: dict = {}              # (memory operand, direction) -> (bandwidth_min, bandwidth_max)
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
            serves = []
            port_types.append((kind, bw_max, serves))
            if kind in ("read", "read_write"):
                read_bits += bw_max
                read_port = max(read_port, int(bw_max))
            if kind in ("write", "read_write"):
                write_bits += bw_max
                write_port = max(write_port, int(bw_max))
            for j, item in enumerate(port.get("allocation") or []):
                a = re.match(r"^\s*(I1|I2|O)\s*,\s*(tl|th|fh|fl)\s*$", str(item))
                if not a:
                    problems.append(Problem(file, f"{pw}.allocation[{j}]", f"expected 'OPERAND, DIRECTION' with an "
                                            f"operand of {MEM_OPERANDS} and a direction tl, th, fh or fl (got {item!r})"))
                    continue
                allocated[(a.group(1), a.group(2))] = (int(bw_min), int(bw_max))
                serves.append((a.group(1), a.group(2)))
        memories.append(Memory(str(name), int(size), float(_num(m.get("r_cost")) or 0.0),
                               float(_num(m.get("w_cost")) or 0.0), float(_num(m.get("area")) or 0.0), operands,
                               served, read_bits, write_bits, read_port or 1, write_port or read_port or 1,
                               min_port or 1, bool(m.get("force_double_buffering")),
                               tuple((op, d, low, high) for (op, d), (low, high) in allocated.items()),
                               tuple((kind, bits, tuple(serves)) for kind, bits, serves in port_types)))
    if problems:
        raise SpecError(problems)
    return Hardware(str(data.get("name", path.stem)), tuple(memories), dims, sizes,
                    float(_num(array.get("unit_energy")) or 0.0), float(_num(array.get("unit_area")) or 0.0),
                    tuple(str(d) for d in array.get("systolic_dimensions") or ()), file)


@dataclass(frozen=True)
class MappingEntry:
    name: str
    spatial: dict                       # array dim -> ((layer dim, factor), ...)
    temporal: tuple[tuple[str, int | None], ...]   # innermost first (ZigZag's temporal_ordering; None: "*"), may be empty
    links: dict                         # layer operand (I, W, O) -> memory operand (I1, I2, O)
    unused: tuple[str, ...] = ()        # keys read but not used: spatial_mapping_hint, core_allocation


_UNROLL = re.compile(r"^\s*(\w+)\s*,\s*(\d+)\s*$")


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
        # [DIM, N], or [DIM, "*"]: all of DIM that the spatial mapping leaves (zigzag/parser/mapping_validator.py)
        if not isinstance(item, list) or len(item) != 2 or not (isinstance(item[1], int) or item[1] == "*"):
            problems.append(Problem(file, f"[{index}].temporal_ordering[{j}]", f"expected [DIM, N] or [DIM, '*'] "
                                    f"(got {item!r})"))
            continue
        temporal.append((str(item[0]), None if item[1] == "*" else int(item[1])))
    links = {str(k): str(v) for k, v in (entry.get("memory_operand_links") or {"O": "O", "W": "I2", "I": "I1"}).items()}
    for key in entry:
        if key not in ("name", "spatial_mapping", "temporal_ordering", "memory_operand_links",
                       "spatial_mapping_hint", "core_allocation"):
            problems.append(Problem(file, f"[{index}].{key}", "unsupported key"))
    if problems:
        raise SpecError(problems)
    unused = tuple(k for k in ("spatial_mapping_hint", "core_allocation") if entry.get(k) is not None)
    return MappingEntry(str(entry.get("name")), spatial, tuple(temporal), links, unused)


#: ZigZag conv loop dims -> accelsim conv dims (Mei et al., IEEE TC 2021, table I notation).
ZIGZAG_DIMS = {"B": "N", "K": "M", "C": "C", "OY": "E", "OX": "F", "FY": "R", "FX": "S", "G": "G"}
#: ZigZag's operator types that run as MACs on the array (zigzag/parser/workload_validator.py's
#: ALLOWED_OPERATORS, plus MatMul from its ONNX parser); the others (pooling, Add, Max) are not
#: multiply-accumulate loop nests.
MAC_OPERATORS = ("Conv", "Conv_downsample", "Conv_pointwise", "Gemm", "MatMul", "conv", "gemm")
#: Keys of a ZigZag workload layer (zigzag/parser/workload_validator.py, LAYER_SCHEMA).
LAYER_KEYS = ("id", "name", "operator_type", "equation", "dimension_relations", "loop_dims", "loop_sizes",
              "operand_precision", "operand_source", "pr_loop_dims", "pr_loop_sizes", "padding")
DEFAULT_EQUATION = "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]"
DEFAULT_RELATIONS = ("ix=1*ox+1*fx", "iy=1*oy+1*fy")
_EQUATION = re.compile(r"^\s*O((?:\[\w*\])+)\s*\+?=\s*(\w)((?:\[\w*\])*)\s*([*+])\s*(\w)((?:\[\w*\])*)\s*$")
_RELATION = re.compile(r"^\s*(\w+)\s*=\s*(?:(\d+)\s*\*\s*)?(\w+)\s*\+\s*(?:(\d+)\s*\*\s*)?(\w+)\s*$")


def canonical_dims(layer: dict, file: str, where: str, problems: list) -> dict | None:
    """ZigZag loop dim -> ZigZag's conv dim name (B, K, C, OY, OX, FY, FX, G) of the same role, read
    from the layer's ``equation`` and ``dimension_relations``, so a layer written in any dim names
    (the GEMM ``O[d0][d1]+=I[d0][d2]*W[d2][d1]`` of ZigZag's gemm_l1 accelerators, the ``C, D, K, B``
    of its ONNX parser) is the same loop nest as a conv (Mei et al., IEEE TC 2021, section III-A: a
    loop is relevant, irrelevant or partially relevant to each operand):

    * in O and W, not I: the filters K; in I and W, not O: the reduction C; in all three: groups G;
    * ``i = s*o + d*f`` (an input index over an output dim o and a filter dim f): OY/FY (``iy``) or
      OX/FX (``ix``), stride s and dilation d;
    * in O and I only: the batch B, then OY and OX where no relation uses them (a 1 x 1 window);
    * size-1 dims of no role are dropped (they do not iterate).

    Problems (a dim of no role, two dims of one role) are appended to ``problems``; None then."""
    equation = str(layer.get("equation") or DEFAULT_EQUATION)
    m = _EQUATION.match(equation)
    if not m or m.group(4) != "*" or {m.group(2), m.group(5)} != {"I", "W"}:
        problems.append(Problem(file, f"{where}.equation", f"expected a multiply-accumulate "
                                f"'O[..]+=I[..]*W[..]' (got {equation!r})"))
        return None
    index = {"O": re.findall(r"\[(\w*)\]", m.group(1)), m.group(2): re.findall(r"\[(\w*)\]", m.group(3)),
             m.group(5): re.findall(r"\[(\w*)\]", m.group(6))}
    index = {op: [i.upper() for i in idx if i] for op, idx in index.items()}
    dims = [str(d).upper() for d in layer.get("loop_dims") or []]
    sizes = dict(zip(dims, layer.get("loop_sizes") or []))
    canon: dict = {}
    strides: dict = {}
    used_io = set()
    relations = layer.get("dimension_relations")
    if relations is None:       # ZigZag's conv needs its relations; the default equation is its conv
        relations = [] if layer.get("equation") else list(DEFAULT_RELATIONS)
    for j, rel in enumerate(relations):
        r = _RELATION.match(str(rel))
        if not r:
            problems.append(Problem(file, f"{where}.dimension_relations[{j}]", f"cannot read {rel!r} (expected "
                                    "'ix=S*ox+D*fx', integer coefficients)"))
            continue
        lhs, terms = r.group(1).upper(), [(r.group(3).upper(), int(r.group(2) or 1)),
                                          (r.group(5).upper(), int(r.group(4) or 1))]
        out = [(d, c) for d, c in terms if d in index["O"]]
        filt = [(d, c) for d, c in terms if d in index["W"]]
        if lhs not in index["I"] or len(out) != 1 or len(filt) != 1:
            problems.append(Problem(file, f"{where}.dimension_relations[{j}]", f"{rel!r}: expected an input index "
                                    "= stride * an output dim + dilation * a filter dim"))
            continue
        free = [a for a in ("X", "Y") if "O" + a not in canon.values()]
        axis = lhs[-1] if lhs[-1] in free else (free[0] if free else None)
        if axis is None:
            problems.append(Problem(file, f"{where}.dimension_relations", "more than two sliding windows; "
                                    "accelsim's conv has two (rows and columns)"))
            continue
        canon[out[0][0]], canon[filt[0][0]] = "O" + axis, "F" + axis
        strides[axis] = (out[0][1], filt[0][1])
        used_io.add(lhs)
    roles = {frozenset("OIW"): "G", frozenset("OW"): "K", frozenset("IW"): "C"}
    batch_slots = [d for d in ("B", "OY", "OX") if d not in canon.values()]
    for d in sorted(dims, key=lambda d: d != "B"):       # a dim named B takes the batch slot first
        if d in canon:
            continue
        ops = frozenset(op for op in "OIW" if d in index[op])
        role = roles.get(ops)
        if ops == frozenset("OI"):
            role = batch_slots.pop(0) if batch_slots else None
            if role is None:
                problems.append(Problem(file, f"{where}.loop_dims", f"{d}: a fourth dim indexing only inputs "
                                        "and outputs; accelsim's conv has three (batch, rows, columns)"))
                continue
        if role is None or role in canon.values():
            if sizes.get(d, 1) == 1:
                continue
            what = "indexes " + (", ".join(sorted(ops)) if ops else "no operand") + " of the equation"
            problems.append(Problem(file, f"{where}.loop_dims", f"{d} {what}: " + (
                f"a second {role} dim" if role else "not a loop of a conv or GEMM") + "; accelsim imports "
                "layers whose every dim has one conv role"))
            continue
        canon[d] = role
    missing = [i for op in "OIW" for i in index[op] if i not in dims and i not in used_io]
    if missing:
        problems.append(Problem(file, f"{where}.loop_dims", f"the equation's indices {sorted(set(missing))} are "
                                "not loop dims (nor an input index of dimension_relations)"))
    if any(p.file == file and p.key_path.startswith(where + ".") for p in problems):
        return None
    canon["__strides__"] = strides
    return canon


@dataclass(frozen=True)
class WorkloadLayer:
    layer: dict                 # an accelsim workload layer (type conv or gemm)
    dims: dict                  # ZigZag loop dim -> ZigZag conv dim name of the same role
    bits: dict                  # ifmap, filter, ofmap (partial sums) word bits from operand_precision
    final_bits: int | None


def read_workload(path) -> list[dict]:
    """ZigZag workload YAML layers as accelsim layers (``read_workload_layers``)."""
    return [w.layer for w in read_workload_layers(path)]


def read_workload_layers(path) -> list[WorkloadLayer]:
    """ZigZag workload YAML layers as accelsim conv or GEMM layers, each loop dim given its conv role
    by ``canonical_dims``. Every problem in the file is reported at once."""
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
        for key in layer:
            if key not in LAYER_KEYS:
                problems.append(Problem(file, f"{where}.{key}", "unknown key of a ZigZag layer (known: "
                                        f"{', '.join(LAYER_KEYS)})"))
        operator = str(layer.get("operator_type", "Conv"))
        if operator not in MAC_OPERATORS:
            problems.append(Problem(file, f"{where}.operator_type", f"{operator}: accelsim imports ZigZag's MAC "
                                    f"layers ({', '.join(MAC_OPERATORS[:5])}); remove this layer, or import the "
                                    "model's ONNX file, whose pooling and additions accelsim maps to its own layers"))
            continue
        dims = [str(d) for d in layer.get("loop_dims") or []]
        sizes = layer.get("loop_sizes") or []
        if len(dims) != len(sizes) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1
                                              for s in sizes):
            problems.append(Problem(file, where + ".loop_sizes", "one integer >= 1 per loop_dims entry"))
            continue
        canon = canonical_dims(layer, file, where, problems)
        if canon is None:
            continue
        strides = canon.pop("__strides__")
        bound = {canon[d.upper()]: size for d, size in zip(dims, sizes) if d.upper() in canon}
        out = _accelsim_layer(str(layer.get("name") or f"Layer{layer.get('id', i)}"), bound, strides)
        pad = _padding(layer, canon, file, where, problems)
        if pad is None:
            continue
        if pad != (0, 0):
            out["padding"] = list(pad)
            out["H"] -= 2 * pad[0]
            out["W"] -= 2 * pad[1]
        precision = layer.get("operand_precision") or {}
        bits = {"ifmap": int(precision.get("I", 8)), "filter": int(precision.get("W", 8)),
                "ofmap": int(precision.get("O", 16))}
        final = precision.get("O_final")
        layers.append(WorkloadLayer(out, {d.upper(): c for d, c in canon.items()}, bits,
                                    int(final) if final else None))
    if problems:
        raise SpecError(problems)
    return layers


def _accelsim_layer(name: str, bound: dict, strides: dict) -> dict:
    """An accelsim layer from loop sizes by conv role: a GEMM where there is no window, no groups and
    one batch-like dim, the batch (``type: gemm``: M rows, N columns, K reduction: the same loop
    nest, workloads/README.md), else a conv."""
    window = any(bound.get(d, 1) > 1 for d in ("FY", "FX")) or bool(strides)
    if not window and bound.get("G", 1) == 1 and bound.get("OY", 1) == bound.get("OX", 1) == 1:
        return {"name": name, "type": "gemm", "M": bound.get("B", 1), "N": bound.get("K", 1), "K": bound.get("C", 1)}
    return _conv_layer(name, bound, strides)


def _conv_layer(name: str, bound: dict, strides: dict) -> dict:
    """An accelsim conv layer from loop sizes by conv role (B K C OY OX FY FX G)."""
    g = bound.get("G", 1)
    (sy, dy), (sx, dx) = strides.get("Y", (1, 1)), strides.get("X", (1, 1))
    e, f, r, s = bound.get("OY", 1), bound.get("OX", 1), bound.get("FY", 1), bound.get("FX", 1)
    out = {"name": name, "type": "conv", "N": bound.get("B", 1), "C": bound.get("C", 1) * g,
           "M": bound.get("K", 1) * g, "R": r, "S": s,
           "H": (e - 1) * sy + dy * (r - 1) + 1, "W": (f - 1) * sx + dx * (s - 1) + 1}
    if g > 1:
        out["groups"] = g
    if (sy, sx) != (1, 1):
        out["stride"] = [sy, sx]
    if (dy, dx) != (1, 1):
        out["dilation"] = [dy, dx]
    return out


def _padding(layer: dict, canon: dict, file: str, where: str, problems: list) -> tuple[int, int] | None:
    """(rows, columns) of symmetric zero padding from ZigZag's ``padding`` ([before, after] per
    ``pr_loop_dims`` entry: the input index, e.g. IY, IX; ZigZag shrinks that input dim by their sum,
    zigzag/workload/layer_node.py). accelsim pads both sides alike."""
    padding = layer.get("padding")
    if not padding:
        return (0, 0)
    pr_dims = [str(d).upper() for d in layer.get("pr_loop_dims") or []]
    if len(pr_dims) != len(padding):
        problems.append(Problem(file, f"{where}.padding", "one [before, after] pair per pr_loop_dims entry"))
        return None
    pad = {"Y": 0, "X": 0}
    for j, (d, pair) in enumerate(zip(pr_dims, padding)):
        axis = "Y" if d.endswith("Y") else "X" if d.endswith("X") else None
        if axis is None or not isinstance(pair, list) or len(pair) != 2 or pair[0] != pair[1]:
            problems.append(Problem(file, f"{where}.padding[{j}]", f"{pair!r} on {d}: accelsim pads both sides "
                                    "of IY or IX alike; give equal [before, after]"))
            return None
        pad[axis] = int(pair[0])
    return (pad["Y"], pad["X"])


@dataclass(frozen=True)
class Result:
    """What a ZigZag run chose and for which layer (``read_result``)."""

    layer: dict                 # an accelsim conv layer
    temporal: dict              # layer operand (I, W, O) -> per memory level (innermost first) -> ((dim, n), ...)
    links: dict
    bits: dict                  # ifmap, filter, ofmap (partial sums) word bits
    final_bits: int | None      # O_final: outputs after the last reduction
    workload_layer: dict        # the layer as the workload file writes it (a GEMM as type gemm)
    dims: dict                  # ZigZag loop dim -> ZigZag conv dim name of the same role


_LOOP = re.compile(r"^\(\s*(\w+)\s*,\s*(\d+)\s*\)$")


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
    sizes = layer_raw.get("loop_sizes") or layer_raw.get("loop_dimensions") or {}
    precision = layer_raw.get("operand_precision") or {}
    relations = layer_raw.get("equation_relations")
    described = {"equation": layer_raw.get("equation"), "loop_dims": list(sizes), "loop_sizes": list(sizes.values()),
                 "dimension_relations": [str(r) for r in relations] if relations else None}
    canon = canonical_dims(described, str(path), "layer", problems)
    if canon is None:
        raise SpecError(problems)
    strides = canon.pop("__strides__")
    temporal = {}
    for op, levels in temporal_raw.items():
        per_level = []
        for i, loops in enumerate(levels):
            parsed = []
            for j, text in enumerate(loops):
                m = _LOOP.match(str(text))
                dim = canon.get(m.group(1).upper()) if m else None
                if dim is None:
                    problems.append(Problem(str(path), f"temporal_mapping.{op}[{i}][{j}]", f"cannot read loop {text!r}"))
                    continue
                parsed.append((dim, int(m.group(2))))
            per_level.append(tuple(parsed))
        temporal[str(op)] = tuple(per_level)
    if problems:
        raise SpecError(problems)
    bound = {canon[d.upper()]: size for d, size in sizes.items() if d.upper() in canon}
    name = str(layer_raw.get("name", path.stem))
    layer = _conv_layer(name, bound, strides)
    links = {str(k): str(v) for k, v in (inputs.get("memory_operand_links") or layer_raw.get("memory_operand_links")
                                         or {"O": "O", "W": "I2", "I": "I1"}).items()}
    bits = {"ifmap": int(precision.get("I", 8)), "filter": int(precision.get("W", 8)),
            "ofmap": int(precision.get("O", 16))}
    final = precision.get("O_final")
    return Result(layer, temporal, links, bits, int(final) if final else None, _accelsim_layer(name, bound, strides),
                  {d.upper(): c for d, c in canon.items()})
