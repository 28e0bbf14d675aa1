"""``accelsim import zigzag``: ZigZag's hardware, mapping and workload files as accelsim files.

ZigZag describes a core as a per-operand memory hierarchy over an operational array (Mei et al.,
"ZigZag: Enlarging Joint Architecture-Mapping Design Space Exploration for DNN Accelerators", IEEE
TC 2021, section III; key ``zigzag`` in docs/references.md). Its memories are listed innermost
first; each keeps some memory operands (I1, I2, O, linked to the layer's I, W, O by the mapping's
``memory_operand_links``) and is shared across the array dimensions in ``served_dimensions``.

What maps to what:

==========================================  ===================================================
ZigZag                                      accelsim architecture tree
==========================================  ===================================================
memory (listed innermost first)             ``kind: storage`` level, outermost first; operands
                                            through the links (I -> ifmap, W -> filter, O ->
                                            ofmap); ``size`` bits -> ``size_words`` at the
                                            widest operand's precision, or per operand
array dimension D served by the memories    ``kind: spatial`` level of fan-out ``sizes[D]``
above a level but not by it                 placed right above the first memory not shared
                                            across D; ``systolic_dimensions`` -> ``systolic``
``r_cost`` / ``w_cost`` (pJ per access of   ``read_energy_pj`` / ``write_energy_pj`` per word =
one port word: ``bandwidth_max`` bits)      cost x operand bits / port ``bandwidth_max`` bits
                                            (ZigZag's word accesses are data bits / bandwidth_max:
                                            tpu_like's 32,768 8-bit weights cost 4,096 DRAM reads
                                            of 64 bits, 2,867,200 pJ)
read / write ports' ``bandwidth_max``       ``read_`` / ``write_bandwidth_bytes_per_cycle``
(bits per cycle, summed over ports)
ports' ``bandwidth_min`` (access granularity) ``block_words`` per operand: ``bandwidth_min`` / bits
``allocation`` of ports to operands        each operand's energy per word at its own port
``operational_array.unit_energy``           compute ``energy_pj``
``area``                                    ``area_mm2`` (ZigZag leaves the unit to the user;
                                            its shipped files give 0 or relative values)
==========================================  ===================================================

A memory shared across an array dimension that is already fanned out above it (edge_tpu_like's
``rf_1B``, shared across D3 and D4 below ``rf_2B``, which is not) cannot sit at one place in a
tree; it is imported one copy per MAC of that dimension (weights multicast to the copies), each copy
charged its share of an access, and the import says so in its notes.

The tree counts in ZigZag's conventions (``counting: zigzag``, accelsim/loopnest/conventions_zigzag.py)
and times in ZigZag's latency model (``timing: zigzag``, accelsim/loopnest/timing_zigzag.py, reading each
memory's ports back from the bandwidth keys ``_bandwidth_keys`` writes), so a pinned ZigZag mapping
counts and takes the cycles it does in ZigZag (docs/import.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


from ..errors import AccelsimError, Problem, SpecError
from ..spec.arch import OPERAND_DIMS, UNROLL_DIMS
from .output import write_import
from . import zigzag_files as zf

LAYER_TO_OP = {"I": "ifmap", "W": "filter", "O": "ofmap"}
PRECISION_FOR_BITS = {4: "int4", 8: "int8", 16: "int16", 32: "fp32"}


@dataclass(frozen=True)
class ZigZagImport:
    hw: dict
    workload: dict | None
    spatial: dict               # accelsim spatial level name -> ((accelsim dim, factor), ...)
    notes: tuple[str, ...]
    mapping: dict | None = None  # ZigZag's chosen mapping, pinned (accelsim/loopnest/tree.py YAML form)


def _word_pj(cost: float, bits: int, port_bits: int, size_bits: int, copies: int = 1, min_bits: int = 1) -> float:
    """pJ per word: ZigZag charges ``cost`` per access of ``port_bits``, and words share an access
    when a transfer moves many of them; a memory no wider than its port (a register) is accessed
    whole, once per word. Where words do not tile the port's granularity ``min_bits`` (16-bit words
    on a 24-bit port) each word is charged its whole accesses of ``min_bits`` (ZigZag's
    ``ceil(bits / bandwidth_min)``, exact for one word a transfer). A memory imported as ``copies``
    copies that always hold the same words (a register shared across array dimensions fanned out
    above it) charges each copy its share."""
    if size_bits <= port_bits:
        return cost / copies
    if min_bits % bits and bits % min_bits:
        return cost * -(-bits // min_bits) * min_bits / port_bits / copies
    return cost * bits / port_bits / copies


def _block_words(mem: zf.Memory, bits: int, min_bits: int | None = None) -> int:
    """Words of ``bits`` in one access of ZigZag's port granularity (``bandwidth_min``, the
    operand's own ports' where given); a register (no wider than its port) is accessed word by word."""
    if mem.size_bits <= mem.read_port_bits:
        return 1
    return max(1, (min_bits or mem.min_port_bits) // bits)


def _level_costs(level: dict, mem: zf.Memory, bits: dict, copies: int, links: dict | None = None) -> None:
    """Per-word energies and block sizes of ``level``'s operands at word widths ``bits``, each at its
    own ports (``links``: layer operand I, W, O -> memory operand)."""
    ops = level["operands"]
    mem_op = {LAYER_TO_OP[k]: v for k, v in (links or {}).items() if k in LAYER_TO_OP}
    ports = {op: mem.ports(mem_op.get(op, "")) for op in ops}
    level["read_energy_pj"] = {op: _word_pj(mem.r_cost_pj, bits[op], ports[op][0], mem.size_bits, copies,
                                            ports[op][2])
                               for op in ops}
    level["write_energy_pj"] = {op: _word_pj(mem.w_cost_pj, bits[op], ports[op][1], mem.size_bits, copies,
                                             ports[op][2])
                                for op in ops}
    blocks = {op: _block_words(mem, bits[op], ports[op][2]) for op in ops}
    level.pop("block_words", None)
    if set(blocks.values()) != {1}:
        level["block_words"] = blocks if len(set(blocks.values())) > 1 else next(iter(blocks.values()))


def _copies(hw: zf.Hardware, mem: zf.Memory, spatial: dict | None = None) -> int:
    """Copies per MAC of ``mem`` in the tree: the sizes of the array dimensions it is shared across
    that a memory outside it (not the backing store) is not, which fans them out above it; with a
    pinned ``spatial`` unrolling (level name -> ((dim, factor), ...)), the instances it uses there."""
    outer = hw.memories[hw.memories.index(mem) + 1:-1]
    copies = 1
    for d in mem.served:
        if any(d not in m.served for m in outer):
            if spatial is None:
                copies *= hw.sizes[hw.dims.index(d)]
            else:
                for _, factor in spatial.get(f"array_{d}", ()):
                    copies *= factor
    return copies


def convert_hardware(hw: zf.Hardware, links: dict, bits: dict, name: str | None = None) -> tuple[dict, dict, list]:
    """(hw tree dict, array dim -> spatial level name, notes). ``bits``: operand -> word bits
    (ifmap, filter, ofmap; partial sums at the ofmap's precision)."""
    mem_to_op = {mem: LAYER_TO_OP[layer] for layer, mem in links.items() if layer in LAYER_TO_OP}
    notes: list[str] = []
    all_dims = list(hw.dims)
    fanned: list[str] = []
    levels: list[dict] = []
    dim_level: dict = {}
    for mem in reversed(hw.memories):
        # the outermost memory is the backing store, one instance whatever its served_dimensions say
        served = all_dims if mem is hw.memories[-1] else mem.served
        needed = [d for d in all_dims if d not in served and d not in fanned]
        for d in needed:
            size = hw.sizes[all_dims.index(d)]
            level_name = f"array_{d}"
            levels.append({"name": level_name, "kind": "spatial", "fanout_x": size, "fanout_y": 1,
                           "interconnect": "systolic" if d in hw.systolic else "multicast"})
            dim_level[d] = level_name
            fanned.append(d)
        shared_below = [d for d in served if d in fanned]
        copies = _copies(hw, mem)
        if shared_below:
            notes.append(f"{mem.name}: ZigZag shares it across {shared_below}, which an outer memory's "
                         f"placement already fans out; imported as one copy per MAC of those dimensions, each "
                         f"charged 1/{copies} of an access (its energy is one shared memory's when the mapping unrolls "
                         f"there dimensions that do not index what it keeps; its counts are {copies}x ZigZag's)")
        ops = [op for op in ("ifmap", "filter", "ofmap") if any(mem_to_op.get(m) == op for m in mem.operands)]
        widths = {op: bits[op] for op in ops}
        level = {"name": mem.name, "kind": "storage", "operands": ops}
        if shared_below:
            level["shared_across"] = [dim_level[d] for d in shared_below]
        if mem is not hw.memories[-1]:
            if len(set(widths.values())) == 1:
                level["size_words"] = mem.size_bits // next(iter(widths.values()))
            else:
                level["size_kib"] = mem.size_bits / 8192
        level["word_bits"] = dict(widths) if len(set(widths.values())) > 1 else next(iter(widths.values()))
        _level_costs(level, mem, bits, copies, links)
        level.update(_bandwidth_keys(mem))
        if mem is not hw.memories[-1] and ops and all(mem.size_bits // widths[op] <= 1 for op in ops):
            level["latched"] = True     # a one-word register: refilled at the edge that retires its word
        ports = _port_map(mem, mem_to_op)
        if ports:
            level["port_map"] = ports
        if mem.area:
            level["area_mm2"] = mem.area
        if mem.force_double_buffering:
            notes.append(f"{mem.name}: force_double_buffering: ZigZag's mapper reserves twice a tile's size unless "
                         "the tile holds every loop left; imported single-buffered (accelsim's double_buffered: true "
                         "reserves half the capacity always and hides transfers; add it to the level to choose that)")
        levels.append(level)
    for d in all_dims:
        if d not in fanned:
            size = hw.sizes[all_dims.index(d)]
            levels.append({"name": f"array_{d}", "kind": "spatial", "fanout_x": size, "fanout_y": 1,
                           "interconnect": "systolic" if d in hw.systolic else "multicast"})
            dim_level[d] = f"array_{d}"
    small = []
    for mem in hw.memories[:-1]:
        for memop, op in mem_to_op.items():
            if memop in mem.operands and mem.size_bits < bits[op]:
                small.append(Problem(hw.file, f"memories.{mem.name}.size", f"{mem.size_bits} bits hold no "
                                     f"{bits[op]}-bit {op} word (the layer's operand_precision); import a layer of "
                                     f"narrower operands, or give the memory at least {bits[op]} bits"))
    if small:
        raise SpecError(small)
    precision = PRECISION_FOR_BITS.get(bits["ifmap"], "int8")
    levels.append({"name": "mac", "kind": "compute", "precision": precision, "accumulator_bits": bits["ofmap"],
                   "energy_pj": hw.unit_energy_pj})
    tree = {"name": name or hw.name, "description": f"imported from ZigZag ({Path(hw.file).name})",
            "source": f"ZigZag hardware file {Path(hw.file).name}", "precision": precision,
            "clock_mhz": 1000, "timing": "zigzag", "counting": "zigzag", "levels": levels}
    return tree, dim_level, notes


def _bandwidth_keys(mem) -> dict:
    """A memory's ports as a tree level's bandwidth keys: one ``read_write`` port (DRAM's) is one
    bandwidth that reads and writes share; ``n`` read and ``n`` write ports of one width each (the
    output registers' one per direction) are ``ports: n`` of that width; otherwise the read and the
    write ports' widths summed. ``timing: zigzag`` reads the same keys back as ZigZag's ports
    (accelsim/loopnest/timing_zigzag.py)."""
    kinds = [port[0] for port in mem.port_types]
    if kinds == ["read_write"]:
        return {"bandwidth_bytes_per_cycle": mem.port_types[0][1] / 8}
    reads = [port[1] for port in mem.port_types if port[0] == "read"]
    writes = [port[1] for port in mem.port_types if port[0] == "write"]
    if (len(reads) == len(writes) > 1 and len(reads) + len(writes) == len(kinds)
            and len(set(reads)) == len(set(writes)) == 1):
        return {"ports": len(reads), "read_bandwidth_bytes_per_cycle": reads[0] / 8,
                "write_bandwidth_bytes_per_cycle": writes[0] / 8}
    return {"read_bandwidth_bytes_per_cycle": mem.read_bits_per_cycle / 8,
            "write_bandwidth_bytes_per_cycle": mem.write_bits_per_cycle / 8}


#: ZigZag's directions as a tree's ``port_map`` ones
_DIRECTIONS = {"tl": "to_below", "th": "to_above", "fh": "from_above", "fl": "from_below"}


def _port_map(mem, mem_to_op: dict) -> list:
    """ZigZag's port allocation as the level's ``port_map`` (read by ``timing: zigzag``): each port's
    ``bandwidth_max`` and the transfers it serves, of the operands this layer links to the memory."""
    out = []
    for _kind, bits, serves in mem.port_types:
        transfers = [f"{mem_to_op[op]}.{_DIRECTIONS[d]}" for op, d in serves if op in mem_to_op]
        if transfers:
            out.append({"bits_per_cycle": bits, "serves": transfers})
    return out


def import_zigzag(hardware, mapping=None, workload=None, layer: str | None = None,
                  precision_bits: dict | None = None, result=None) -> ZigZagImport:
    """Convert ZigZag files. ``result``: a ZigZag output (``<layer>_complete.json`` as ZigZag's
    ``dump_folder`` writes it, or its digest in tests/data/zigzag): its chosen temporal mapping and
    memory allocation are pinned, its layer becomes the workload, and its operand precisions set
    the word widths (partial sums at ``O``, outputs above the last reduction at ``O_final``)."""
    hw = zf.read_hardware(hardware)
    chosen = zf.read_result(result) if result else None
    read = zf.read_workload_layers(workload) if workload else None
    layers = [w.layer for w in read] if read else None
    if chosen is not None and layers is None:
        layers = [chosen.workload_layer]
    entry = zf.read_mapping(mapping, layer or (layers[0]["name"] if layers else None)) if mapping else None
    links = entry.links if entry else {"I": "I1", "W": "I2", "O": "O"}
    if chosen is not None and chosen.links:
        links = chosen.links
    notes: list[str] = []
    bits = precision_bits or (chosen.bits if chosen else read[0].bits if read else None)
    if bits is None:
        bits = {"ifmap": 8, "filter": 8, "ofmap": 16}
    elif read and not precision_bits and not chosen and any(w.bits != bits for w in read):
        notes.append(f"{workload}: the layers' operand_precision differ; the hardware's word widths are the first "
                     f"layer's ({bits['ifmap']}-bit inputs, {bits['filter']}-bit weights, {bits['ofmap']}-bit partial sums)")
    tree, dim_level, hw_notes = convert_hardware(hw, links, bits)
    notes += hw_notes
    for key in entry.unused if entry else ():
        notes.append(f"{mapping}: {entry.name}.{key}: " + (
            "ZigZag's hint for its spatial-mapping search; not used: accelsim's mapper searches every unrolling "
            "the tree's spatial levels allow" if key == "spatial_mapping_hint" else
            "ZigZag's core of a multi-core accelerator; not used: the import is one core"))
    # the mapping names the layer's own loop dims (D0, D1, D2 for ZigZag's GEMM layer): read them by role
    dims = chosen.dims if chosen is not None else (read[0].dims if read else {})
    spatial = {}
    if entry is not None:
        for d, factors in entry.spatial.items():
            if d not in dim_level:
                raise AccelsimError(f"{mapping}: spatial_mapping.{d}: not a dimension of {hw.file} ({', '.join(hw.dims)})")
            spatial[dim_level[d]] = tuple((zf.ZIGZAG_DIMS.get(dims.get(k.upper(), k), k), f) for k, f in factors)
    pinned = None
    if chosen is not None:
        if not spatial:
            raise AccelsimError(f"{result}: pinning ZigZag's mapping needs its spatial mapping: pass --mapping")
        # ZigZag unrolls no more of a dimension than the layer has, nor more than the array dimension
        # (its spatial mapping conversion, zigzag/stages/mapping/spatial_mapping_conversion.py): 32
        # filters on a 16-filter layer are 16, on a 14-wide dimension 14
        bound = {"N": chosen.layer["N"], "M": chosen.layer["M"], "C": chosen.layer["C"], "R": chosen.layer["R"],
                 "S": chosen.layer["S"], "E": chosen.layer["H"] - chosen.layer["R"] + 1,
                 "F": chosen.layer["W"] - chosen.layer["S"] + 1}
        fanout = {dim_level[d]: size for d, size in zip(hw.dims, hw.sizes)}
        spatial = {name: tuple((d, min(f, bound.get(d, f), fanout[name])) for d, f in factors)
                   for name, factors in spatial.items()}
        pinned = _pin(tree, hw, links, chosen, spatial, notes, str(result))
    wl = {"name": Path(workload).stem if workload else chosen.layer["name"], "layers": layers} if layers else None
    return ZigZagImport(tree, wl, spatial, tuple(notes), pinned)


REDUCTION = {"C", "R", "S"}


def _pin(tree: dict, hw: zf.Hardware, links: dict, chosen: "zf.Result", spatial: dict, notes: list,
         file: str) -> dict:
    """ZigZag's chosen mapping on the imported tree (edits ``tree`` in place: the order of memories
    that sit side by side, and the ofmap word width above the last reduction loop)."""
    op_of = {"I": "ifmap", "W": "filter", "O": "ofmap"}
    mem_op = {layer_op: links[layer_op] for layer_op in ("I", "W", "O")}
    # per layer operand: its memories innermost first, and the loops at each (innermost first)
    order = None
    level_of = {}               # (operand, loop position) -> memory name
    bounds = {}                 # (operand, memory) -> loops in its tile (ZigZag's, irrelevant ones merged down)
    for layer_op, per_level in chosen.temporal.items():
        mems = [m.name for m in hw.memories if mem_op[layer_op] in m.operands]
        if len(per_level) != len(mems):
            raise AccelsimError(f"{file}: temporal_mapping.{layer_op}: {len(per_level)} levels, but {hw.file} "
                                f"gives {layer_op} {len(mems)} memories ({', '.join(mems)})")
        flat = [loop for level in per_level for loop in level]
        if order is None:
            order = flat
        elif flat != order:
            raise AccelsimError(f"{file}: temporal_mapping: the operands' loop orders differ; accelsim pins one "
                                "loop order shared by every operand")
        position = 0
        for mem, loops in zip(mems, per_level):
            for _ in loops:
                level_of[(op_of[layer_op], position)] = mem
                position += 1
            bounds[(op_of[layer_op], mem)] = position
    levels = tree["levels"]
    paths = [[m.name for m in reversed(hw.memories) if mem_op[layer_op] in m.operands] for layer_op in ("I", "W", "O")]
    _order_siblings(levels, level_of, paths)
    index = {lv["name"]: i for i, lv in enumerate(levels)}
    temporal, tiles = _tree_loops(levels, order, bounds)
    # outputs above the last reduction loop are final: ZigZag moves them at O_final bits
    final_bits = chosen.final_bits
    if final_bits and final_bits != chosen.bits["ofmap"]:
        inner_reduction = [p for p, (dim, _) in enumerate(order) if zf.ZIGZAG_DIMS[dim] in REDUCTION]
        spatial_reduction_below = {name: any(d in REDUCTION for d, _ in factors) for name, factors in spatial.items()}
        for i, lv in enumerate(levels):
            if lv["kind"] != "storage" or "ofmap" not in lv.get("operands", ()):
                continue
            # loops of the levels below (a level's own reduction loops leave partial sums in it)
            tile_loops = {p for p in range(len(order)) if index[level_of[("ofmap", p)]] > i}
            spatial_inside = all(not spatial_reduction_below.get(sl["name"], False) for sl in levels[:i]
                                 if sl["kind"] == "spatial")
            if set(inner_reduction) <= tile_loops and spatial_inside:
                _set_ofmap_bits(lv, final_bits, hw, links)
    # a memory imported once per MAC is charged its share of the instances the mapping uses
    for lv in levels:
        mem = next((m for m in hw.memories if m.name == lv["name"]), None)
        if mem is not None and _copies(hw, mem) > 1:
            wb = lv["word_bits"] if isinstance(lv["word_bits"], dict) else {op: lv["word_bits"] for op in lv["operands"]}
            used = _copies(hw, mem, spatial)
            _level_costs(lv, mem, wb, used, links)
            if used != _copies(hw, mem):
                notes.append(f"{mem.name}: the pinned mapping unrolls {used} of the {_copies(hw, mem)} array positions "
                             f"it is shared across; each copy charged 1/{used} of an access")
    mapping = {name: {"temporal": loops} for name, loops in temporal.items()}
    for name, own in tiles.items():
        mapping[name]["tile_loops"] = own
    for name, factors in spatial.items():
        mapping[name] = {"x": {d: f for d, f in factors}, "y": {}}
    return mapping


def _relevant(op: str, zigzag_dim: str) -> bool:
    d = zf.ZIGZAG_DIMS[zigzag_dim]
    return d not in UNROLL_DIMS or d in OPERAND_DIMS[op]


def _tree_loops(levels: list, order: list, bounds: dict) -> tuple[dict, dict]:
    """(each storage level's loops, outermost first; per-operand tile boundaries ``{level: {operand:
    loops}}``) for ZigZag's loop ``order`` (innermost first) and per-operand tiles ``bounds``
    (operand, memory) -> the innermost loops in its tile. ZigZag cuts each operand's loops on its
    own (``MemoryAllocator.allocate_node``, zigzag/opt/loma/memory_allocator.py). A cut may move
    across loops that do not index the operand (they re-use its tile, ZigZag's and accelsim's counts
    alike: ZigZag merges them into the level below, ``TemporalMapping.innermost_stationary_loop_
    merge_down``), so each operand's cut at a memory may sit anywhere from its ZigZag position down
    past the irrelevant loops just inside it. From the outermost level in, each level keeps as many
    loops as its operands' ZigZag cuts and the level above allow (ZigZag's own cuts where they
    agree); where no single level order holds every operand's cuts (meta_prototype's sram_1MB_A cuts
    the inputs inside the loops that its outputs keep), each level keeps the loops of its widest
    tile (and of every level below it) and an operand cut narrower there gets ``tile_loops``, ZigZag's
    own cut."""
    allowed = {}
    for (op, mem), cut in bounds.items():
        low = cut
        while low > 0 and not _relevant(op, order[low - 1][0]):
            low -= 1
        lo, hi = allowed.get(mem, (0, len(order)))
        allowed[mem] = (max(lo, low), min(hi, cut))
    storage = [lv for lv in levels if lv["kind"] == "storage"]
    cuts, outer, tiles = [], len(order), {}
    for k, lv in enumerate(storage):
        lo, hi = allowed.get(lv["name"], (0, len(order)))
        cut = len(order) if k == 0 else min(hi, outer)
        if cut < lo:
            cuts = None
            break
        cuts.append(cut)
        outer = cut
    if cuts is None:        # per-operand tiles: from the innermost level out, the widest tile so far
        cuts, inner = [], 0
        for lv in reversed(storage[1:]):
            inner = max([inner] + [cut for (_, mem), cut in bounds.items() if mem == lv["name"]])
            cuts.insert(0, inner)
            narrower = {op: cut for (op, mem), cut in bounds.items() if mem == lv["name"] and cut < inner}
            if narrower:
                tiles[lv["name"]] = narrower
        cuts.insert(0, len(order))
    cuts.append(0)
    return ({lv["name"]: [[zf.ZIGZAG_DIMS[d], t] for d, t in reversed(order[cuts[k + 1]:cuts[k]])]
             for k, lv in enumerate(storage)}, tiles)


def _order_siblings(levels: list, level_of: dict, paths: list) -> None:
    """Memories with no spatial level between them sit side by side (ZigZag lists them in any
    order); the one whose tile spans more of the loop nest goes outside, as the mapping needs, but
    never outside a memory that is above it in the hierarchy of an operand both keep (``paths``:
    each operand's memories, outermost first; meta_prototype's sram_1MB_W above sram_64KB, whatever
    loops either holds). The backing store stays first."""
    def span(lv):
        return max((p + 1 for (op, p), mem in level_of.items() if mem == lv["name"]), default=0)
    above = {(path[i], path[j]) for path in paths for i in range(len(path)) for j in range(i + 1, len(path))}
    start = 0
    while start < len(levels):
        end = start
        while end < len(levels) and levels[end]["kind"] == "storage":
            end += 1
        first = max(start, 1)
        if end - first > 1:
            left, placed = sorted(levels[first:end], key=lambda lv: -span(lv)), []
            while left:     # the widest memory whose outer memories (of every operand) are placed
                lv = next(lv for lv in left if not any((other["name"], lv["name"]) in above for other in left))
                left.remove(lv)
                placed.append(lv)
            levels[first:end] = placed
        start = end + 1


def _set_ofmap_bits(lv: dict, bits: int, hw: zf.Hardware, links: dict | None = None) -> None:
    mem = next(m for m in hw.memories if m.name == lv["name"])
    wb = lv["word_bits"] if isinstance(lv["word_bits"], dict) else {op: lv["word_bits"] for op in lv["operands"]}
    wb = dict(wb)
    wb["ofmap"] = bits
    lv["word_bits"] = wb if len(set(wb.values())) > 1 else bits
    _level_costs(lv, mem, wb, _copies(hw, mem), links)
    if "size_words" in lv and len(set(wb.values())) > 1:
        del lv["size_words"]
        lv["size_kib"] = mem.size_bits / 8192


def write(result: ZigZagImport, out_dir: Path, force: bool = False) -> list[Path]:
    return write_import(out_dir, result.hw, result.workload, result.mapping, force)
