"""``accelsim import timeloop``: Timeloop's architecture, problem and mapping files as accelsim files.

Reads the files as Timeloop's users write them (accelsim/importers/timeloop_files.py) and writes
three accelsim files: an architecture tree (``hw.yaml``, docs/architecture.md), a one-layer
workload (``workload.yaml``) and, when a mapping is given, the pinned mapping (``mapping.yaml``).

What maps to what (Timeloop v0.4 semantics, Parashar et al., ISPASS 2019; ``timeloop-v4`` in
docs/references.md):

==========================================  ===================================================
Timeloop                                    accelsim architecture tree
==========================================  ===================================================
storage component (DRAM, SRAM, regfile,     ``kind: storage`` level, outermost first; ``depth x
smartbuffer_*, ...)                         width / datawidth`` words (``size_words``),
                                            ``datawidth`` -> ``word_bits``, ``width / datawidth``
                                            -> ``block_words``, ``read_bandwidth`` /
                                            ``write_bandwidth`` (words per cycle per instance),
                                            ``multiple_buffering >= 2`` -> ``double_buffered``
container ``spatial: {meshX, meshY}``, or   ``kind: spatial`` level of fan-out meshX x meshY
an instance-count step between levels       (``multicast``, with spatial reduction: Timeloop's
                                            default network)
dataspace constraints / mapping ``keep``    ``operands`` (the others bypass the level); a level
and ``bypass``                              that keeps nothing is dropped and its loops join the
                                            next level out
MAC component (intmac, fpmac)               ``kind: compute``
ERT ``read`` / ``write`` / ``update``        ``read_energy_pj`` / ``write_energy_pj`` per word =
(pJ per block access)                       the action's energy / ``block_words`` (Timeloop's
                                            per-scalar energy); ``compute`` -> ``energy_pj``
ART area (um^2 per instance)                ``area_mm2``
``global_cycle_seconds``                    ``clock_mhz``
Timeloop's performance model (transfers     ``timing: throughput`` (accelsim/loopnest/
hidden, a bandwidth bound per level)        tree_timing.py)
Timeloop's counts (first-read elision,      ``counting: timeloop`` (accelsim/loopnest/
sliding-window deltas, whole blocks)        conventions.py)
==========================================  ===================================================

Data spaces: ``Inputs`` -> ifmap, ``Weights`` -> filter, the read-write space -> ofmap (for other
names, see accelsim/importers/timeloop_problem.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


from ..errors import Problem, SpecError
from .output import write_import
from . import timeloop_files as tf
from .timeloop_problem import OPS, ImportedProblem, LevelMapping, import_mapping, import_problem

#: Accelsim energy-table class for a Timeloop component class (used only when no ERT is given).
ENERGY_CLASS = {"DRAM": "dram", "SRAM": "sram", "smartbuffer_SRAM": "sram", "regfile": "rf",
                "smartbuffer_RF": "rf", "aladdin_register": "rf", "storage": "rf", "reg_storage": "rf"}
PRECISION_FOR_BITS = {4: "int4", 8: "int8", 16: "int16", 32: "fp32"}


@dataclass(frozen=True)
class TimeloopImport:
    hw: dict
    workload: dict
    mapping: dict | None          # the engine's mapping form: {level: {temporal: [[d, t]]} | {x: {d: f}, y: {d: f}}}
    problem: ImportedProblem
    notes: tuple[str, ...]


def _word_energy(ert: dict, name: str, block: int):
    actions = ert.get(name)
    if not actions:
        return None, None
    read = actions.get("read")
    write = actions.get("write", actions.get("update"))
    return (None if read is None else read / block), (None if write is None else write / block)


def convert(arch: tf.Arch, problem: ImportedProblem, mapping: list[LevelMapping] | None, ert: dict,
            art: dict, name: str, free_bypass: bool = False) -> TimeloopImport:
    """The accelsim files (as dicts) for a parsed Timeloop architecture, problem and mapping."""
    notes: list[str] = []
    problems: list[Problem] = []
    per_level = {m.level: m for m in mapping or []}
    levels: list[dict] = []
    out_mapping: list[dict] = []
    instances = 1
    mesh = (1, 1)
    pending_loops: list = []    # loops of dropped (keep-nothing) levels, joining the next level out
    compute = arch.levels[-1]
    unforced: list = []         # levels whose operands Timeloop's mapper may bypass, kept here

    def add_spatial(level_name, fx, fy, lm: LevelMapping | None):
        levels.append({"name": level_name, "kind": "spatial", "fanout_x": fx, "fanout_y": fy,
                       "interconnect": "multicast"})
        out_mapping.append({"level": level_name, "kind": "spatial", "temporal": [],
                            "spatial_x": [list(t) for t in (lm.spatial_x if lm else ())],
                            "spatial_y": [list(t) for t in (lm.spatial_y if lm else ())]})

    prev: tf.Level | None = None
    for lvl in arch.levels:
        lm = per_level.get(lvl.name)
        if lvl.instances != instances:
            fx, fy = lvl.mesh_x // max(mesh[0], 1), lvl.mesh_y // max(mesh[1], 1)
            if fx * fy * instances != lvl.instances or lvl.mesh_x % max(mesh[0], 1) or lvl.mesh_y % max(mesh[1], 1):
                fx, fy = lvl.instances // instances, 1
            if lvl.instances % instances:
                problems.append(Problem(arch.file, f"architecture.{lvl.name}", f"{lvl.instances} instances are not "
                                        f"a multiple of the {instances} instances of the level above"))
                break
            # A v0.4 container is its own fan-out (directives target it); in Timeloop's dump the
            # fan-out below a level is described by that level's spatial directive.
            if lvl.cls == "container":
                label, src = lvl.name, lm
            elif prev is not None:
                label = prev.name if prev.kind == "spatial" else f"{prev.name}_fanout"
                src = per_level.get(prev.name)
            else:
                label, src = f"{lvl.name}_fanout", None
            add_spatial(label, fx, fy, src)
            instances, mesh = lvl.instances, (lvl.mesh_x, lvl.mesh_y)
        prev = lvl
        if lvl.kind == "spatial":
            if lm is not None and lm.temporal:
                _last_storage(out_mapping, pending_loops).extend([list(t) for t in lm.temporal])
            continue
        if lvl.kind == "compute":
            break
        keep = _kept(lvl, lm)
        if not keep:
            notes.append(f"{lvl.name}: keeps no operand under this mapping; dropped, its loops join the level above")
            if lm is not None:
                _last_storage(out_mapping, pending_loops).extend([list(t) for t in lm.temporal])
            continue
        level = {"name": lvl.name, "kind": "storage", "operands": [op for op in OPS if op in keep]}
        free = _free_bypass(lvl, keep) if mapping is None and levels else []
        if free and free_bypass:
            level["may_bypass"] = free
        elif free:
            unforced.append(f"{lvl.name} ({', '.join(free)})")
        if lvl.size_words is not None:
            level["size_words"] = int(lvl.size_words)
        level["word_bits"] = int(lvl.word_bits)
        if lvl.block_size > 1:
            level["block_words"] = int(lvl.block_size)
        if lvl.read_bandwidth is not None:
            level["read_bandwidth_words_per_cycle"] = lvl.read_bandwidth
        if lvl.write_bandwidth is not None:
            level["write_bandwidth_words_per_cycle"] = lvl.write_bandwidth
        if lvl.shared_bandwidth is not None:
            level["bandwidth_words_per_cycle"] = lvl.shared_bandwidth
        level["double_buffered"] = lvl.multiple_buffering >= 2
        read_pj, write_pj = _word_energy(ert, lvl.name, lvl.block_size)
        if read_pj is not None:
            level["read_energy_pj"] = read_pj
        if write_pj is not None:
            level["write_energy_pj"] = write_pj
        if read_pj is None and write_pj is None:
            level["energy_class"] = ENERGY_CLASS.get(lvl.cls, "sram")
        if lvl.name in art:
            level["area_mm2"] = art[lvl.name] * 1e-6
        levels.append(level)
        loops = [list(t) for t in pending_loops] + [list(t) for t in (lm.temporal if lm else ())]
        pending_loops = []
        out_mapping.append({"level": lvl.name, "kind": "storage", "temporal": loops, "spatial_x": [], "spatial_y": []})
    if problems:
        raise SpecError(problems)
    if unforced:
        notes.append("no keep constraint at " + "; ".join(unforced) + ": Timeloop's mapper may bypass these "
                     "operands there; imported as kept (pass --free-bypass to let accelsim's mapper search "
                     "them too: each one doubles its bypass choices)")
    bits = compute.word_bits
    precision = PRECISION_FOR_BITS.get(bits, "int8")
    if bits not in PRECISION_FOR_BITS:
        notes.append(f"{compute.name}: {bits}-bit MAC has no accelsim precision name; imported as int8")
    comp = {"name": compute.name, "kind": "compute", "precision": precision}
    mac_energy = (ert.get(compute.name) or {}).get("compute")
    if mac_energy is not None:
        comp["energy_pj"] = mac_energy
    if compute.name in art:
        comp["area_mm2"] = art[compute.name] * 1e-6
    levels.append(comp)
    hw = {"name": name, "description": f"imported from Timeloop ({Path(arch.file).name})",
          "source": f"Timeloop architecture {Path(arch.file).name}", "precision": precision,
          "clock_mhz": round(1e-6 / arch.cycle_seconds, 6), "timing": "throughput", "counting": "timeloop",
          "levels": levels}
    workload = {"name": name, "description": f"imported from Timeloop ({problem.layer['name']})",
                "layers": [dict(problem.layer)]}
    return TimeloopImport(hw, workload, _mapping_dict(out_mapping) if mapping is not None else None, problem,
                          tuple(notes))


def _last_storage(out_mapping: list, pending: list) -> list:
    """Where the loops of a level that keeps nothing go: innermost in the nearest storage level
    above (whose tile they iterate within), or, above every kept level, to the next one down."""
    for entry in reversed(out_mapping):
        if entry["kind"] == "storage":
            return entry["temporal"]
    return pending


def _mapping_dict(per_level: list) -> dict:
    """Per-level loops in the YAML form of accelsim/loopnest/tree.py (``TreeMapping``): storage levels
    ``{temporal: [[dim, trip], ...]}`` outermost first, spatial levels ``{x: {dim: f}, y: {dim: f}}``
    (repeated dims multiplied)."""
    out = {}
    for entry in per_level:
        if entry["kind"] == "spatial":
            axes = {}
            for axis in ("x", "y"):
                factors: dict = {}
                for d, f in entry[f"spatial_{axis}"]:
                    factors[d] = factors.get(d, 1) * f
                axes[axis] = factors
            out[entry["level"]] = axes
        else:
            out[entry["level"]] = {"temporal": [list(t) for t in entry["temporal"]]}
    return out


def _kept(lvl: tf.Level, lm: LevelMapping | None) -> set:
    if lm is not None and lm.keep is not None:
        return set(lm.keep)
    if lvl.keep is not None:
        return {_ROLE.get(x, x) for x in lvl.keep} & set(OPS)
    if lvl.bypass is not None:
        return set(OPS) - {_ROLE.get(x, x) for x in lvl.bypass}
    return set(OPS)


_ROLE = {"Inputs": "ifmap", "Weights": "filter", "Outputs": "ofmap"}


def _free_bypass(lvl: tf.Level, kept: set) -> list:
    """Operands a level keeps that its constraints do not force it to keep: Timeloop's mapper may
    bypass them ([timeloop-v4]: hardware is unconstrained unless its constraints say otherwise;
    a dataspace keep/bypass is a mapspace choice, e.g. the 2020 ISPASS exercise 05's
    freebypass constraints). Only without a pinned mapping (and with ``--free-bypass``: accelsim's
    mapper enumerates bypass choices, each free operand-level doubling them); never at the backing store."""
    forced = {_ROLE.get(x, x) for x in lvl.keep or ()}
    return [op for op in OPS if op in kept and op not in forced]


def check_factors(problem: ImportedProblem, spec: tf.ProblemSpec, mapping: list[LevelMapping], file: str) -> None:
    """Every dimension's factors over all levels must multiply to its bound (a complete mapping)."""
    product = {d: 1 for d in problem.dim_map.values()}
    for lm in mapping:
        for d, f in (*lm.temporal, *lm.spatial_x, *lm.spatial_y):
            product[d] *= f
    bad = []
    for tl_dim, ours in problem.dim_map.items():
        if product[ours] != spec.bounds[tl_dim]:
            bad.append(f"{tl_dim}: factors multiply to {product[ours]}, bound is {spec.bounds[tl_dim]}")
    if bad:
        raise SpecError([Problem(file, "mapping", "incomplete mapping (" + "; ".join(bad) + "); give every "
                                 "factor, as Timeloop's model requires")])


def import_timeloop(arch_files, problem_files=(), mapping_files=(), ert_files=(), art_files=(),
                    name: str | None = None, free_bypass: bool = False) -> TimeloopImport:
    """Parse and convert Timeloop input files (any may hold several top-level keys, as Timeloop's
    own ``parsed-processed-input.yaml`` does). ``free_bypass``: without a pinned mapping, operands a
    level's constraints do not make it keep become its ``may_bypass`` (Timeloop's mapspace)."""
    paths = [*arch_files, *problem_files, *mapping_files, *ert_files, *art_files]
    data, origin = tf.load_files(paths)
    constraints = []
    for key in ("architecture_constraints", "mapspace_constraints"):
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get("targets", [])
        constraints.extend(c for c in value or [] if isinstance(c, dict))
    arch = tf.read_arch(data, origin, [dict(c) for c in constraints if c.get("type") in ("bypass", "dataspace", "datatype")])
    spec = tf.read_problem(data, origin)
    problem = import_problem(spec)
    directives = tf.read_mapping(data, origin, spec.dimensions, "mapping" if data.get("mapping") else None) \
        if (data.get("mapping") or mapping_files) else []
    mapping = None
    if directives:
        names = [lvl.name for lvl in arch.levels if lvl.kind != "compute"]
        mapping = import_mapping(directives, problem, names, origin.get("mapping", "mapping"))
        check_factors(problem, spec, mapping, origin.get("mapping", "mapping"))
    ert = tf.read_ert(data, origin)
    art = tf.read_art(data, origin)
    stem = name or _default_name(Path(arch_files[0]))
    result = convert(arch, problem, mapping, ert, art, stem, free_bypass)
    if (data.get("compound_components") or data.get("components")) and not ert:
        result = TimeloopImport(result.hw, result.workload, result.mapping, result.problem, result.notes + (
            "compound components are not evaluated (that takes Accelergy and its plug-ins): without --ert, "
            "energies come from accelsim's energy table by component class; pass Accelergy's ERT.yaml to use "
            "the components' own energies",))
    return result


_GENERIC = {"parsed-processed-input", "arch", "architecture", "ref-output", "ref_outputs", "ref-outputs",
            "outputs", "input", "inputs", "default_problem"}


def _default_name(path: Path) -> str:
    """The first meaningful name among the file's stem and its folders (``eyeriss_like`` for
    ``eyeriss_like/ref_outputs/default_problem/parsed-processed-input.yaml``)."""
    for part in (path.stem, *(p.name for p in path.resolve().parents)):
        if part and part not in _GENERIC:
            return "".join(c if c.isalnum() or c in "_-" else "_" for c in part)
    return "timeloop"


def write(result: TimeloopImport, out_dir: Path, force: bool = False) -> list[Path]:
    return write_import(out_dir, result.hw, result.workload, result.mapping, force)
