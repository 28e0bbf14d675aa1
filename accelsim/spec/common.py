"""Shared machinery for reading spec files: safe YAML loading and a validating reader.

The reader collects every problem in a file instead of stopping at the first, so a user fixes a
file in one pass (STYLE.md: "collect all problems in a file before failing; name the file, the key
path and the fix").
"""
from __future__ import annotations

import math
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from ..errors import AccelsimError, Problem, SpecError, did_you_mean, shown

_MISSING = object()

#: Top-level keys only one kind of spec file has: they tell a file given in the wrong place.
_SIGNATURES = {"hw": ("array", "roofline", "levels", "gpu"), "workloads": ("layers",),
               "dataflows": ("stationary", "spatial", "rows", "cols"),
               "LLM config": ("hidden_size", "num_hidden_layers", "num_attention_heads"), "energy table": ("mac_pj",)}
_WHERE = {"hw": "--hw", "workloads": "--workload", "dataflows": "--dataflow", "LLM config": "`accelsim llm --model`",
          "energy table": "--energy"}


def check_kind(data, file: str, kind: str) -> None:
    """Refuse, in one line, a file that is plainly another kind of spec than ``kind`` (a workload given
    to --hw): it has none of ``kind``'s own top-level keys and some of another kind's. Left to the
    reader, it would report every key as missing or unknown."""
    if not isinstance(data, dict) or any(key in data for key in _SIGNATURES[kind]):
        return
    for other, keys in _SIGNATURES.items():
        found = [key for key in keys if key in data]
        if other != kind and found:
            raise AccelsimError(f"{file}: this is {_article(other)} file (it has `{found[0]}`), not {_article(kind)} "
                                f"file; give it to {_WHERE[other]}")


def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" or noun.startswith("LLM") else "a ") + noun

# -- input bounds: every count accelsim computes fits int64 (hw/README.md, "Bounds", derives them) --
#: One loop bound, count or size given as an integer (layer dims, register-file words, lanes, bits).
MAX_INT = 2**31 - 1
#: Any other number (energies, clocks, scales): beyond 2^53 floats no longer hold every integer.
MAX_NUMBER = 2.0**53
#: PE array rows and columns.
MAX_ARRAY_DIM = 2**12
#: One SRAM buffer, in KiB (1 TiB).
MAX_BUFFER_KIB = 2**30
#: Bandwidths (bytes or words per cycle, per PE for register files): finite ones in this range.
MIN_BANDWIDTH, MAX_BANDWIDTH = 2.0**-2, 2.0**40
#: A layer's loop-nest volume N*M*E*F*(C/G)*R*S and input size; also their sum over a workload.
MAX_VOLUME = 2**56
#: Layers in one workload.
MAX_LAYERS = 2**16
#: A clock in MHz (100 GHz): a larger number is a clock given in Hz or kHz.
MAX_CLOCK_MHZ = 100_000
CLOCK_HINT = "; clock_mhz is in MHz (700 for 700 MHz), not Hz"


#: Largest input file read (a spec file is a few KiB; a generated workload a few MiB).
MAX_FILE_BYTES = 64 * 2**20
#: Deepest nesting of mappings and lists in an input file (accelsim's formats nest a few levels).
MAX_NESTING = 64


def is_file(path) -> bool:
    """``Path(path).is_file()`` that says False for names the system cannot even look up (longer
    than a file name may be, or holding a NUL byte) instead of raising."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def exists(path) -> bool:
    """``Path(path).exists()`` that says False where the name cannot be looked up."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


def read_text(path) -> str:
    """The text of an input file, refusing before reading anything that is not a regular file
    (a FIFO would block, /dev/zero never ends) or larger than :data:`MAX_FILE_BYTES`."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AccelsimError(f"{path}: file not found") from None
    except (OSError, ValueError) as exc:
        raise AccelsimError(f"{shown(str(path))}: cannot read file ({getattr(exc, 'strerror', None) or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise AccelsimError(f"{path}: cannot read file (it is a folder); give a file")
    if not stat.S_ISREG(info.st_mode):
        raise AccelsimError(f"{path}: not a regular file (a pipe, device or socket); give a file")
    if info.st_size > MAX_FILE_BYTES:
        raise AccelsimError(f"{path}: {info.st_size / 2**20:,.0f} MiB is too large for an input file "
                            f"(at most {MAX_FILE_BYTES // 2**20} MiB)")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise AccelsimError(f"{path}: cannot read file ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:     # grew since stat
        raise AccelsimError(f"{path}: too large for an input file (at most {MAX_FILE_BYTES // 2**20} MiB)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AccelsimError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (plain PyYAML keeps the
    last silently) and integers too long to convert, each with its line."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            lines: dict = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                    continue
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                try:
                    first = lines.get(key)
                except TypeError:        # an unhashable key: PyYAML itself reports it below
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"{shown(key)} given twice (lines {first} and {line}); keep one",
                        key_node.start_mark)
                lines[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"an integer of {len(node.value):,} digits is too long (accelsim's numbers are at most "
                "2^53)", node.start_mark) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def _check_nesting(path, data) -> None:
    """Refuse data nested more than MAX_NESTING levels (iteratively: no recursion to overflow)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_NESTING:
            raise AccelsimError(f"{path}: nested more than {MAX_NESTING} levels deep; accelsim's files nest a few levels")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def load_yaml(path: Path) -> Any:
    """Parse a YAML file safely (no tags run; duplicate keys, over-long integers, deep nesting and
    non-regular or huge files refused); every problem is a user error naming the file."""
    text = read_text(path)
    try:
        data = yaml.load(text, Loader=_StrictLoader)   # noqa: S506 -- a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise AccelsimError(f"{path}: not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise AccelsimError(f"{path}: nested more than {MAX_NESTING} levels deep; accelsim's files nest a few levels") from None
    _check_nesting(path, data)
    return data


def load_json(path: Path) -> Any:
    """Parse a JSON file with the same guards as :func:`load_yaml`."""
    import json
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AccelsimError(f"{path}: not a readable JSON file (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise AccelsimError(f"{path}: nested more than {MAX_NESTING} levels deep; accelsim's files nest a few levels") from None
    except ValueError as exc:     # an integer beyond Python's digit limit for conversions
        raise AccelsimError(f"{path}: not a readable JSON file ({shown(str(exc))})") from None
    _check_nesting(path, data)
    return data


class SchemaRecorder:
    """Collects what the spec readers accept while they read files: per mapping (key path, list
    indices as ``[]``) and variant, each key's JSON Schema, whether it is required and the allowed
    keys. accelsim/schema.py turns it into JSON Schema, so the readers are the single source of
    truth for both validation and the published schemas."""

    def __init__(self):
        self.nodes: dict[str, dict] = {}

    def node(self, reader: "Reader") -> dict:
        path = re.sub(r"\[\d+\]", "[]", reader.path)
        node = self.nodes.setdefault(path, {"variants": {}, "discriminator": None})
        variant = None
        if reader.variant is not None:
            node["discriminator"] = reader.variant[0]
            variant = reader.variant[1:]
        return node["variants"].setdefault(variant, {"props": {}, "required": set(), "optional": set(),
                                                     "allowed": None})

    def key(self, reader: "Reader", key: str, schema: dict, required: bool) -> None:
        """A key read; it is required in the schema only if every read of it required it (a
        reader may require a key only when another is absent)."""
        entry = self.node(reader)
        if schema or key not in entry["props"]:
            entry["props"][key] = schema
        (entry["required"] if required else entry["optional"]).add(key)

    def allowed(self, reader: "Reader", keys) -> None:
        entry = self.node(reader)
        entry["allowed"] = set(keys) | (entry["allowed"] or set())


class Reader:
    """Typed access to one mapping in a spec file, recording problems instead of raising.

    ``path`` is the key path of this mapping inside the file (``sram.ifmap``); problems name it.
    ``variant``: (discriminator key, value, is-default) when the keys that follow depend on a value
    (a layer's ``type``); only the schema recorder uses it. ``Reader.recorder``: a
    :class:`SchemaRecorder` while accelsim/schema.py generates schemas, else None.
    """

    recorder: SchemaRecorder | None = None

    def __init__(self, data: Any, file: str, path: str = "", problems: list[Problem] | None = None,
                 absent: bool = False):
        self.file = str(file)
        self.path = path
        self.problems = problems if problems is not None else []
        # a mapping whose own absence is already reported: its keys are not reported missing again
        self.absent = absent
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.error("", f"must be a mapping of keys to values (got {type(data).__name__})")
            data = {}
        self.data = data
        self._seen: set[str] = set()
        self.variant = None

    def _record(self, key: str, schema: dict, required: bool = False) -> None:
        if Reader.recorder is not None:
            Reader.recorder.key(self, key, schema, required)

    # -- bookkeeping -----------------------------------------------------------------------------
    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path and key else (self.path or key)

    def error(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.key_path(key), message))

    def raw(self, key: str, default: Any = _MISSING, schema: dict | None = None) -> Any:
        """The value of ``key`` (``default`` if absent; required without one). ``schema``: its JSON
        Schema, for keys read without a typed getter."""
        self._seen.add(key)
        self._record(key, schema or {}, default is _MISSING)
        if key in self.data:
            if self.data[key] is None:
                fix = "give it a value" + ("" if default is _MISSING else " or remove the key to use the default")
                self.error(key, f"has no value (an empty YAML entry); {fix}")
            return self.data[key]
        if default is _MISSING:
            if not self.absent:
                self.error(key, "required key is missing")
            return None
        return default

    def child(self, key: str, required: bool = True) -> "Reader":
        present = isinstance(self.data.get(key), dict)
        value = self.raw(key, _MISSING if required else {}, {"type": "object"})
        return Reader(value, self.file, self.key_path(key), self.problems,
                      absent=self.absent or (required and not present))

    def reject_unknown(self, allowed=None) -> None:
        """Unknown keys are errors, with a did-you-mean against the keys this mapping accepts."""
        allowed = set(allowed) if allowed is not None else self._seen
        if Reader.recorder is not None:
            Reader.recorder.allowed(self, allowed)
        for key in self.data:
            if key not in allowed:
                hint = did_you_mean(key, sorted(allowed))
                self.error(str(key), f"unknown key{hint}; allowed keys: {', '.join(sorted(allowed))}")

    def raise_if_problems(self) -> None:
        if self.problems:
            raise SpecError(self.problems)

    # -- typed getters ---------------------------------------------------------------------------
    def string(self, key: str, default: Any = _MISSING) -> str | None:
        value = self.raw(key, default, {"type": "string", "minLength": 1})
        if value is None or value is default:
            return value
        if not isinstance(value, str) or not value.strip():
            self.error(key, f"must be a non-empty string (got {shown(value)})")
            return None
        return value

    #: Largest size accepted for one loop bound or count (keeps every product in int64).
    MAX_INT = MAX_INT

    def integer(self, key: str, default: Any = _MISSING, minimum: int | None = 1,
                maximum: int = MAX_INT) -> int | None:
        value = self.raw(key, default, integer_schema(minimum, maximum))
        if value is None:
            return None
        return self.check_integer(key, value, minimum, maximum)

    def check_integer(self, key: str, value: Any, minimum: int | None = 1, maximum: int = MAX_INT) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                self.error(key, f"must be an integer (got {shown(value)})")
                return None
        if minimum is not None and value < minimum:
            self.error(key, f"must be >= {minimum} (got {shown(value)})")
            return None
        if value > maximum:
            self.error(key, f"must be <= {maximum} (got {shown(value)})")
            return None
        return value

    def number(self, key: str, default: Any = _MISSING, positive: bool = True,
               maximum: float = MAX_NUMBER, hint: str = "") -> float | None:
        """A finite number (> 0 when ``positive``), at most ``maximum``; ``hint`` follows that bound's error."""
        value = self.raw(key, default, {"type": "number", **({"exclusiveMinimum": 0} if positive else {}),
                                        **({} if maximum == MAX_NUMBER else {"maximum": maximum})})
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
            self.error(key, f"must be a number (got {shown(value)})")
            return None
        if positive and value <= 0:
            self.error(key, f"must be > 0 (got {value})")
            return None
        if abs(value) > maximum:
            limit = f"{int(maximum):,}" if float(maximum).is_integer() else f"{maximum:g}"
            self.error(key, f"must be at most {limit}{'' if positive else ' in magnitude'} (got {shown(value)}){hint}")
            return None
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> bool | None:
        value = self.raw(key, default, {"type": "boolean"})
        if value is None or isinstance(value, bool):
            return value
        self.error(key, f"must be true or false (got {shown(value)})")
        return None

    def choice(self, key: str, choices, default: Any = _MISSING, hints: dict | None = None) -> str | None:
        """One of ``choices``; ``hints`` maps a wrong value users give (another tool's word) to what to write."""
        value = self.raw(key, default, {"enum": list(choices)})
        if value is None:
            return None
        if value not in choices:
            known = (hints or {}).get(str(value).lower()) if isinstance(value, str) else None
            hint = f"; {known}" if known else did_you_mean(value, choices)
            self.error(key, f"must be one of {', '.join(map(str, choices))} (got {shown(value)}){hint}")
            return None
        return value

    def int_pair(self, key: str, default: int, minimum: int) -> tuple[int, int] | None:
        """An int applied to both dimensions, or a two-element list ``[h, w]``."""
        one = integer_schema(minimum, self.MAX_INT)
        value = self.raw(key, default, {"oneOf": [one, {"type": "array", "items": one, "minItems": 2, "maxItems": 2}]})
        if isinstance(value, list):
            if len(value) != 2:
                self.error(key, f"must be an integer or a list [h, w] of two integers (got {shown(value)})")
                return None
            pair = [self.check_integer(key, v, minimum) for v in value]
            return None if None in pair else (pair[0], pair[1])
        single = self.check_integer(key, value, minimum)
        return None if single is None else (single, single)


def _finite(value) -> bool:
    """True for a finite float or an int (an int too large for a float is finite, and caught by
    the bound that follows)."""
    return isinstance(value, int) or math.isfinite(value)


def integer_schema(minimum, maximum) -> dict:
    return {"type": "integer", **({"minimum": minimum} if minimum is not None else {}), "maximum": maximum}


#: JSON Schema of an N:M sparsity value (:func:`nm_pair`).
NM_SCHEMA = {"oneOf": [{"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2},
                       {"type": "string", "pattern": "^[0-9]+:[0-9]+$"}]}


def nm_pair(r: Reader, key: str, value) -> tuple[int, int] | None:
    """N:M structured sparsity as ``[n, m]`` or ``"n:m"`` with 1 <= n < m; None (reported) if invalid."""
    if isinstance(value, str) and value.count(":") == 1:
        parts = value.split(":")
        value = [int(p) for p in parts] if all(p.strip().isdigit() for p in parts) else value
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or not 1 <= value[0] < value[1]):
        r.error(key, f"must be [n, m] or \"n:m\" with 1 <= n < m, e.g. [2, 4] (got {shown(value)})")
        return None
    return value[0], value[1]
