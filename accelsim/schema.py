"""JSON Schema for each spec file kind, generated from the spec readers themselves.

The readers in accelsim/spec (and accelsim/llm/config.py) are the single source of truth: while
:func:`generate` runs a kind's reader over the built-in files of that kind, a
:class:`accelsim.spec.common.SchemaRecorder` notes every key each mapping reads (with the JSON
Schema of its typed getter: integer bounds, choices, number signs), which keys are required and
which keys it accepts (``reject_unknown``). Mappings whose keys depend on a value (a layer's
``type``, a dataflow's ``engine``) get one ``if``/``then`` branch per value. The built-in files
only drive the readers through every branch; what a key accepts comes from the reader's code.

``accelsim schema KIND`` prints one; ``accelsim schema all --out schemas/`` writes
``schemas/<kind>.json``, which the shipped YAMLs reference with a
``# yaml-language-server: $schema=...`` comment (editors then complete and check them).
Cross-key rules (groups divide C, a filter fits its input, ...) stay in the readers only.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import spec
from .errors import AccelsimError
from .spec.common import Reader, SchemaRecorder, load_yaml

KINDS = ("hw", "workloads", "dataflows", "energy", "llm")
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def builtin_files(kind: str) -> list[Path]:
    """The shipped YAML files of one kind (``llm``: workloads/llm/)."""
    if kind == "llm":
        return sorted((spec.ROOT / "workloads" / "llm").glob("*.yaml"))
    if kind == "hw":     # the presets and the architecture-tree examples in hw/trees/
        return sorted(spec.builtin_dir(kind).glob("*.yaml")) + sorted((spec.builtin_dir(kind) / "trees").glob("*.yaml"))
    return sorted(spec.builtin_dir(kind).glob("*.yaml"))


def _builder(kind: str):
    if kind == "llm":
        from .llm.config import llm_config_from_dict
        return llm_config_from_dict
    from .spec import _BUILDERS
    return _BUILDERS[kind]


def record(kind: str, build=None, paths=None) -> SchemaRecorder:
    """Run ``kind``'s reader (or ``build``) over its built-in files (or ``paths``) with a recorder
    attached."""
    recorder = SchemaRecorder()
    build = build or _builder(kind)
    Reader.recorder = recorder
    try:
        for path in builtin_files(kind) if paths is None else paths:
            build(load_yaml(path), str(path))
    finally:
        Reader.recorder = None
    return recorder


def _hw_branches() -> list[dict]:
    """A hw file is a PE array (accelsim/spec/hw.py, the shorthand), an architecture tree (a ``levels:``
    list, accelsim/spec/arch.py), an ideal-roofline device (a ``roofline:`` section,
    accelsim/spec/roofline.py) or a GPU (a ``gpu:`` section, accelsim/spec/gpu.py): one schema branch
    each, recorded from the files of each."""
    from .spec.arch import arch_from_dict, is_arch_tree
    from .spec.gpu import gpu_from_dict, is_gpu
    from .spec.hw import hardware_from_dict
    from .spec.roofline import is_roofline, roofline_from_dict
    files = builtin_files("hw")
    gpus = [p for p in files if is_gpu(load_yaml(p))]
    roof = [p for p in files if is_roofline(load_yaml(p))]
    trees = [p for p in files if is_arch_tree(load_yaml(p)) and p not in gpus]
    arrays = [p for p in files if p not in roof and p not in trees and p not in gpus]
    return [{"title": "PE array", **_object(record("hw", hardware_from_dict, arrays), "")},
            {"title": "architecture tree", **_object(record("hw", arch_from_dict, trees), "")},
            {"title": "ideal roofline device", **_object(record("hw", roofline_from_dict, roof), "")},
            {"title": "GPU device", **_object(record("hw", gpu_from_dict, gpus), "")}]


def _object(recorder: SchemaRecorder, path: str) -> dict:
    node = recorder.nodes.get(path)
    if node is None:
        return {"type": "object"}
    # common keys first, then each variant's in sorted order: the result does not depend on the
    # order of the files that drove the reader
    variants = {v: node["variants"][v] for v in sorted(node["variants"], key=lambda v: (v is not None, v or ()))}
    props: dict = {}
    for entry in variants.values():
        for key, schema in entry["props"].items():
            props[key] = _property(recorder, path, key, schema) if schema or key not in props else props[key]
    out: dict = {"type": "object", "properties": props}
    common = variants.get(None)
    if common is not None:
        if _required(common):
            out["required"] = sorted(_required(common))
        if common["allowed"] is not None and len(variants) == 1:
            out["additionalProperties"] = False
    branches = []
    disc = node["discriminator"]
    for variant, entry in variants.items():
        if variant is None:
            continue
        value, is_default = variant
        condition = {"properties": {disc: {"const": value}}}
        if not is_default:
            condition["required"] = [disc]
        then: dict = {}
        if entry["allowed"] is not None:
            then = {"properties": {key: True for key in sorted(entry["allowed"])}, "additionalProperties": False}
        required = sorted(_required(entry) - (_required(common) if common else set()))
        if required:
            then["required"] = required
        branches.append({"if": condition, "then": then})
    if branches:
        out["allOf"] = branches
    return out


def _required(entry: dict) -> set:
    return entry["required"] - entry["optional"]


def _property(recorder: SchemaRecorder, path: str, key: str, schema: dict) -> dict:
    child = f"{path}.{key}" if path else key
    if schema.get("type") == "object":
        return _object(recorder, child)
    if schema.get("type") == "array" and f"{child}[]" in recorder.nodes:
        return {**schema, "items": _object(recorder, f"{child}[]")}
    return schema


def generate(kind: str) -> dict:
    """The JSON Schema (draft 2020-12) of one spec kind."""
    if kind not in KINDS:
        raise AccelsimError(f"schema kind must be one of {', '.join(KINDS)} (got {kind!r})")
    schema = {"$schema": DRAFT, "$id": f"https://accelsim.invalid/schemas/{kind}.json",
              "title": f"accelsim {kind} file", "description": f"Generated by `accelsim schema {kind}` from "
              f"accelsim's spec readers; regenerate with `accelsim schema all --out schemas/`."}
    if kind == "hw":
        schema["oneOf"] = _hw_branches()
    else:
        schema.update(_object(record(kind), ""))
    return schema


def dumps(schema: dict) -> str:
    return json.dumps(schema, indent=2) + "\n"


def write_all(out_dir, kinds=KINDS) -> list[Path]:
    """Write ``<out_dir>/<kind>.json`` for every kind (or those of ``kinds``); returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in kinds:
        path = out_dir / f"{kind}.json"
        path.write_text(dumps(generate(kind)), encoding="utf-8")
        paths.append(path)
    return paths
