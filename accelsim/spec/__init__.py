"""Spec files: load, validate and resolve hw / workload / dataflow YAML into frozen objects."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import SHOWN_CHARS, AccelsimError, Problem, SpecError, did_you_mean, shown
from .arch import ArchTree, arch_from_dict, is_arch_tree
from .arch_shorthand import contract, shape_problems
from .common import check_kind, exists, is_file, load_yaml, read_text
from .dataflow import Dataflow, LoopNestDataflow, dataflow_from_dict, load_dataflow
from .energy import EnergyTable, energy_table_from_dict, load_energy_table
from .hw import Hardware, hardware_from_dict
from .hw import load_hardware as _load_array_hardware
from .gpu import GpuHardware, gpu_from_dict, is_gpu
from .roofline import RooflineHardware, is_roofline, roofline_from_dict
from .workload import Layer, Workload, load_workload, workload_from_dict

#: The repository root, where the built-in presets live (hw/, workloads/, dataflows/).
ROOT = Path(__file__).resolve().parent.parent.parent
#: Where a non-editable install puts the presets (setup.cfg data_files).
INSTALLED = Path(sys.prefix) / "share" / "accelsim"


def hw_from_dict(data, file: str = "<hw>"):
    """A :class:`Hardware` (PE array), or for a file with a ``roofline:`` section a
    :class:`~accelsim.spec.roofline.RooflineHardware` (peak FLOP/s and bandwidth only), or for a file
    with a ``levels:`` list (an architecture tree, accelsim/spec/arch.py) the :class:`Hardware` it
    contracts to when it has the shorthand's shape, else the :class:`ArchTree`."""
    check_kind(data, file, "hw")
    if is_gpu(data):
        return gpu_from_dict(data, file)
    if is_roofline(data):
        return roofline_from_dict(data, file)
    if is_arch_tree(data):
        tree = arch_from_dict(data, file)
        return tree if shape_problems(tree) else contract(tree)
    return hardware_from_dict(data, file)


def load_hw(path):
    """Load any hw file: a PE array or an ideal-roofline device."""
    return hw_from_dict(load_yaml(Path(path)), str(path))


def load_hardware(path) -> Hardware:
    """Load a PE-array hw file (shorthand, or a tree of the shorthand's shape); an ideal-roofline
    file is refused with what to use instead, a deeper tree with what the engine lacks so far."""
    data = load_yaml(Path(path))
    if is_gpu(data):
        raise AccelsimError(f"{path}: a GPU device is costed kernel by kernel, not by the PE-array simulator; "
                            "use it with `accelsim run` (GEMM/conv layers) or `accelsim llm`")
    if is_roofline(data):
        raise AccelsimError(f"{path}: an ideal-roofline device (peak FLOP/s and bandwidth only) has no PE "
                            "array to simulate; use it with `accelsim llm`, or give a hw file with "
                            "array, sram and dram")
    if is_arch_tree(data):
        return contract(arch_from_dict(data, str(path)))
    return _load_array_hardware(path)


KINDS = {"hw": load_hw, "workloads": load_workload, "dataflows": load_dataflow,
         "energy": load_energy_table}
_BUILDERS = {"hw": hw_from_dict, "workloads": workload_from_dict, "dataflows": dataflow_from_dict,
             "energy": energy_table_from_dict}
#: Where each kind's presets live, relative to the repository root.
FOLDERS = {"hw": "hw", "workloads": "workloads", "dataflows": "dataflows", "energy": "hw/energy"}


def builtin_dir(kind: str) -> Path:
    """The folder of built-in presets: the checkout's, else the installed copy."""
    source = ROOT / FOLDERS[kind]
    installed = INSTALLED / FOLDERS[kind]
    return source if source.is_dir() or not installed.is_dir() else installed


def builtin_names(kind: str) -> list[str]:
    """Names of the built-in presets of one kind ('hw', 'workloads', 'dataflows')."""
    folder = builtin_dir(kind)
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def resolve(kind: str, name_or_path) -> Path:
    """A spec file path from either a path or the name of a built-in preset of ``kind``."""
    text = str(name_or_path)
    path = Path(text)
    if is_file(path):
        return path
    preset = builtin_dir(kind) / f"{text}.yaml"
    if is_file(preset):       # a preset's name wins over a folder of that name (an earlier `--out ws`)
        return preset
    tree = builtin_dir(kind) / "trees" / f"{text}.yaml"     # hw/trees/NAME.yaml: a tree preset by its name
    if kind == "hw" and "/" not in text and is_file(tree):
        return tree
    if exists(path):           # a folder, FIFO or device: say so (read_text refuses it by name)
        read_text(path)
    names = builtin_names(kind)
    trees = tree_preset_names() if kind == "hw" else []
    hint = did_you_mean(text, names + [n for n in trees if n not in names])
    listed = f"built-in: {', '.join(names) or 'none'}" + (
        f"; architecture trees (hw/trees/): {', '.join(trees)}" if trees else "")
    raise AccelsimError(f"{shown(text) if len(text) > SHOWN_CHARS or chr(0) in text else text}: no such file and no built-in {kind} preset of that name{hint}; "
                        f"{listed}")


def tree_preset_names() -> list[str]:
    """Names of the architecture-tree presets in ``hw/trees/``: ``--hw NAME`` finds one whose name
    no preset in ``hw/`` has (``simba_like``), ``--hw trees/NAME`` any of them."""
    folder = builtin_dir("hw") / "trees"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def load(kind: str, name_or_path):
    """Load a spec of ``kind`` given a path or a built-in preset name."""
    return KINDS[kind](resolve(kind, name_or_path))


def energy_table_for(hw: Hardware, override=None) -> EnergyTable:
    """The energy table a run uses: ``override`` (name or path) if given, else the hw file's
    ``energy_table``, looked up next to the hw file first, then among the built-in tables."""
    choice = override if override is not None else hw.energy_table
    if isinstance(choice, EnergyTable):
        return choice
    if override is None and hw.file:
        local = Path(hw.file).parent / str(choice)
        for candidate in (local, local.with_suffix(".yaml")):
            if is_file(candidate):
                return load_energy_table(candidate)
    if override is not None or not hw.file:
        return load("energy", choice)
    try:
        return load("energy", choice)
    except SpecError:
        raise
    except AccelsimError as exc:     # name the hw file and key that chose the missing table
        raise AccelsimError(f"{hw.file}: energy_table: {exc}") from None


def detect_kind(path: Path, data) -> str | None:
    """Which kind of spec a file is: by its folder, else by its keys."""
    for part in reversed(path.resolve().parts[:-1]):
        if part in KINDS or part == "llm":
            return part
    if isinstance(data, dict):
        if "mac_pj" in data:
            return "energy"
        if "layers" in data:
            return "workloads"
        if "array" in data or "sram" in data or "roofline" in data or "levels" in data or "gpu" in data:
            return "hw"
        if "stationary" in data or "rows" in data:
            return "dataflows"
    return None


def load_any(path):
    """Load a spec file of any kind (for ``accelsim validate``); returns (kind, object)."""
    path = Path(path)
    data = load_yaml(path)
    kind = detect_kind(path, data)
    if kind is None:
        raise AccelsimError(f"{path}: cannot tell whether this is a hw, workload or dataflow file; "
                            "put it in a hw/, workloads/ or dataflows/ folder, or give it the keys of one")
    if kind == "llm":      # transformer configs (workloads/llm/), loaded by accelsim.llm
        from ..llm.config import llm_config_from_dict
        return kind, llm_config_from_dict(data, str(path))
    obj = _BUILDERS[kind](data, str(path))
    if kind == "hw" and getattr(obj, "energy_table", None):
        energy_table_for(obj)      # the table it names must exist and be valid
    return kind, obj


__all__ = ["ArchTree", "Dataflow", "LoopNestDataflow", "EnergyTable", "GpuHardware", "Hardware", "RooflineHardware", "Layer", "Workload", "load_energy_table", "load", "load_any", "resolve",
           "load_dataflow", "load_hardware", "load_workload", "builtin_names", "ROOT"]
