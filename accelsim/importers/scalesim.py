"""Import SCALE-Sim 3.0.0 inputs (a ``.cfg`` config and a topology ``.csv``) as accelsim YAML.

``accelsim import scalesim --config FILE.cfg --topology FILE.csv --out DIR`` calls
:func:`import_files`; :func:`hw_from_config`, :func:`dataflow_from_config` and
:func:`workload_from_topology` return the YAML-ready dicts without touching the disk.

What maps to what (SCALE-Sim 3.0.0 semantics: [scalesim-v3] single_layer_sim.py,
``scale_config.py`` and ``topology_utils.py``):

==========================================  ===================================================
SCALE-Sim config                            accelsim hw YAML
==========================================  ===================================================
``[general] run_name``                      ``name`` (sanitised to letters, digits, ``_.-``)
``[architecture_presets] ArrayHeight``      ``array.rows``
``[architecture_presets] ArrayWidth``       ``array.cols``
``Ifmap/Filter/OfmapSramSzkB``              ``sram.{ifmap,filter,ofmap}.size_kib``; SCALE-Sim's word
                                            is hard-coded to 1 byte, so ``precision: int8``
``Dataflow``                                the returned dataflow name (``ws``/``os``/``is``)
``[run_presets] InterfaceBandwidth: CALC``  ``dram.bandwidth_bytes_per_cycle: unlimited`` (CALC
(or no such key)                            reports the bandwidth needed instead of imposing one)
``InterfaceBandwidth: USER``                ``Bandwidth`` words/cycle = bytes/cycle (the smallest
                                            value if one per bank is given)
(always)                                    ``timing: scalesim``, ``double_buffered: true`` (50/50
                                            active/prefetch halves), ``clock_mhz: 1000`` (a
                                            placeholder: SCALE-Sim has no clock)
==========================================  ===================================================

Topologies: the conv format ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width,
Channels, Num Filter, Strides[, N:M sparsity],`` and the GEMM format ``Layer Name, M, N, K[, N:M],``
(M output rows, N output columns = filters, K reduction; accelsim's gemm convention too). SCALE-Sim
needs a trailing comma on every line; this importer accepts lines with or without it. The format
is read from the header unless given. Conv layers get padding 0 (SCALE-Sim's inputs are already
padded), batch N = 1 (hard-coded in SCALE-Sim) and groups 1. A layer whose name contains ``DP`` is
depthwise in SCALE-Sim (run as ``Channels`` one-channel layers); it is imported as a depthwise conv
with groups = C = M = Channels, whatever its ``Num Filter``. An N:M sparsity column is accepted only
when dense (N = M, e.g. ``1:1``, SCALE-Sim's default): accelsim models dense layers only, so a
sparse ratio is an error rather than a silently different result.
"""
from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import AccelsimError, Problem, SpecError, did_you_mean
from ..spec import load_hardware, load_workload
from ..spec.common import read_text

DATAFLOWS = ("ws", "os", "is")
FORMATS = ("conv", "gemm")
BANDWIDTH_MODES = ("CALC", "USER")
CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"
GEMM_HEADER = "Layer Name, M, N, K,"
_CONV_FIELDS = ("IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels", "Num Filter", "Strides")
_GEMM_FIELDS = ("M", "N", "K")
_EXAMPLE_ROW = {"conv": "Conv1,224,224,11,11,3,96,4,", "gemm": "G128,128,128,128,"}
ARCH = "architecture_presets"
#: SCALE-Sim counts cycles only; this clock just makes 1 cycle = 1 ns in latency columns.
PLACEHOLDER_CLOCK_MHZ = 1000
TOOL = "accelsim.importers.scalesim"


# -- files ---------------------------------------------------------------------------------------

def _read_text(path: Path, what: str) -> str:
    """The file's text (a UTF-8 byte-order mark dropped); a missing, non-regular (FIFO, device),
    huge or non-UTF-8 file is a user error (accelsim.spec.common.read_text)."""
    try:
        text = read_text(path)
    except AccelsimError as exc:
        raise AccelsimError(f"{exc}; give the path of a SCALE-Sim {what}") from None
    return text.removeprefix("\ufeff")


def sanitise_name(text: str, fallback: str) -> str:
    """An identifier for a spec name and file name: runs of other characters become ``_``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text.strip()).strip("._-")
    return name or fallback


# -- config --------------------------------------------------------------------------------------

class _ConfigReader:
    """Case-insensitive access to a parsed SCALE-Sim config that records problems."""

    def __init__(self, parser: configparser.ConfigParser, file: str):
        self.parser = parser
        self.file = file
        self.sections = {name.lower(): name for name in parser.sections()}
        self.problems: list[Problem] = []
        self._missing_sections: set[str] = set()

    def error(self, section: str, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, f"[{section}] {key}" if key else f"[{section}]", message))

    def get(self, section: str, key: str, required: bool = True) -> str | None:
        real = self.sections.get(section.lower())
        if real is None:
            if required and section not in self._missing_sections:
                self._missing_sections.add(section)
                self.error(section, "", "section is missing; add it (SCALE-Sim's configs/scale.cfg "
                                        "shows every section and key)")
            return None
        if not self.parser.has_option(real, key):  # option names are case-insensitive
            if required:
                self.error(section, key, f"required key is missing; add a line `{key}: <value>` "
                                         f"under [{section}]")
            return None
        return self.parser.get(real, key).strip()

    def integer(self, section: str, key: str) -> int | None:
        text = self.get(section, key)
        if text is None:
            return None
        if not re.fullmatch(r"[+]?\d+", text) or int(text) < 1:
            self.error(section, key, f"must be a whole number >= 1 (got {text!r}); "
                                     "SCALE-Sim reads it with int()")
            return None
        return int(text)


def _parse_config_text(text: str, path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    try:
        parser.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as exc:
        raise AccelsimError(f"{path}: line {exc.lineno}: text before the first [section] header; "
                            "a SCALE-Sim config starts with [general]") from None
    except configparser.DuplicateSectionError as exc:
        raise AccelsimError(f"{path}: line {exc.lineno}: section [{exc.section}] appears twice; "
                            "merge the two") from None
    except configparser.DuplicateOptionError as exc:
        raise AccelsimError(f"{path}: line {exc.lineno}: [{exc.section}] {exc.option} is set twice; "
                            "keep one (keys are case-insensitive)") from None
    except configparser.ParsingError as exc:
        lineno, line = exc.errors[0]
        raise AccelsimError(f"{path}: line {lineno}: cannot parse {line.strip()!r}; write `key: value` "
                            "or `key = value`") from None
    except configparser.Error as exc:
        raise AccelsimError(f"{path}: not a valid config file: {str(exc).splitlines()[0]}") from None
    return parser


@dataclass(frozen=True)
class ImportedConfig:
    """A SCALE-Sim config as accelsim sees it: the hw YAML dict and the dataflow name."""

    hw: dict
    dataflow: str


def read_config(path) -> ImportedConfig:
    """Parse and check a SCALE-Sim ``.cfg``; every problem in the file is reported at once."""
    path = Path(path)
    cfg = _ConfigReader(_parse_config_text(_read_text(path, "config (.cfg)"), path), str(path))
    run_name = cfg.get("general", "run_name")
    rows = cfg.integer(ARCH, "ArrayHeight")
    cols = cfg.integer(ARCH, "ArrayWidth")
    sizes = {buf: cfg.integer(ARCH, f"{key}SramSzkB")
             for buf, key in (("ifmap", "Ifmap"), ("filter", "Filter"), ("ofmap", "Ofmap"))}
    dataflow = cfg.get(ARCH, "Dataflow")
    if dataflow is not None:
        if dataflow.lower() in DATAFLOWS:
            dataflow = dataflow.lower()
        else:
            cfg.error(ARCH, "Dataflow", f"must be one of {', '.join(DATAFLOWS)} (got {dataflow!r})"
                                        f"{did_you_mean(dataflow.lower(), DATAFLOWS)}")
            dataflow = None
    mode = (cfg.get("run_presets", "InterfaceBandwidth", required=False) or "CALC").upper()
    if mode not in BANDWIDTH_MODES:
        cfg.error("run_presets", "InterfaceBandwidth", f"must be CALC or USER (got {mode!r})")
    bandwidth: int | str | None = "unlimited"
    bandwidths: list[int] = []
    if mode == "USER":
        text = cfg.get(ARCH, "Bandwidth")
        if text is not None:
            cells = [c.strip() for c in text.split(",")]
            if all(re.fullmatch(r"[+]?\d+", c) and int(c) > 0 for c in cells):
                bandwidths = [int(c) for c in cells]
                bandwidth = min(bandwidths)
            else:
                cfg.error(ARCH, "Bandwidth", f"must be a whole number of words/cycle > 0, or one per "
                                             f"memory bank separated by commas (got {text!r})")
    if cfg.problems:
        raise SpecError(cfg.problems)

    name = sanitise_name(run_name, "scalesim")
    shape = f"{rows}x{cols} array, {dataflow} dataflow, SRAM ifmap/filter/ofmap {sizes['ifmap']}/" \
            f"{sizes['filter']}/{sizes['ofmap']} KiB"
    if mode == "CALC":
        dram_note = ("CALC bandwidth mode: SCALE-Sim reports the DRAM bandwidth needed instead of "
                     "imposing one, so the DRAM interface is unlimited here")
    else:
        banks = "/".join(cfg.get("layout", key, required=False) or "?"
                         for key in ("IfmapSRAMBankBandwidth", "FilterSRAMBankBandwidth"))
        several = f" (the smallest of the per-bank values {bandwidths})" if len(bandwidths) > 1 else ""
        dram_note = (f"USER bandwidth mode: DRAM bandwidth = Bandwidth = {bandwidth} words/cycle = "
                     f"{bandwidth} bytes/cycle{several}. SCALE-Sim's USER mode actually refills the ifmap "
                     f"and filter SRAMs at [layout] IfmapSRAMBankBandwidth/FilterSRAMBankBandwidth = "
                     f"{banks} words/cycle and uses Bandwidth only for the ofmap drain; accelsim has one "
                     "DRAM interface for all three")
    hw = {
        "name": name,
        "description": (f"Imported from SCALE-Sim config {path.name} (run_name {run_name!r}): {shape}. "
                        f"{dram_note}. SCALE-Sim words are 1 byte (int8). SCALE-Sim has no clock: "
                        f"clock_mhz {PLACEHOLDER_CLOCK_MHZ} is a placeholder (1 cycle = 1 ns). "
                        "timing: scalesim reproduces SCALE-Sim 3.0.0's cycle conventions."),
        "source": f"SCALE-Sim 3.0.0 config {path}, imported by {TOOL}",
        "array": {"rows": rows, "cols": cols, "interconnect": "systolic"},
        "precision": "int8",
        "clock_mhz": PLACEHOLDER_CLOCK_MHZ,
        "sram": {
            "double_buffered": True,
            "ifmap": {"size_kib": sizes["ifmap"]},
            "filter": {"size_kib": sizes["filter"]},
            "ofmap": {"size_kib": sizes["ofmap"]},
        },
        "dram": {"bandwidth_bytes_per_cycle": bandwidth},
        "timing": "scalesim",
    }
    return ImportedConfig(hw=hw, dataflow=dataflow)


def hw_from_config(path) -> dict:
    """The accelsim hw YAML dict for a SCALE-Sim ``.cfg`` (see the module docstring)."""
    return read_config(path).hw


def dataflow_from_config(path) -> str:
    """The dataflow (``ws``, ``os`` or ``is``) a SCALE-Sim ``.cfg`` asks for."""
    return read_config(path).dataflow


# -- topology ------------------------------------------------------------------------------------

def _cells(line: str) -> list[str]:
    """Comma-separated cells, stripped; trailing empty cells (SCALE-Sim's trailing comma) dropped."""
    cells = [cell.strip() for cell in line.split(",")]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def detect_format(header: str) -> str | None:
    """``conv`` or ``gemm`` from a topology header line, or None when it is neither."""
    cells = [re.sub(r"\s+", "", c).lower() for c in _cells(header)]
    if cells[1:4] == ["m", "n", "k"]:
        return "gemm"
    if len(cells) >= 8 and cells[1].startswith("ifmap") and cells[3].startswith("filter"):
        return "conv"
    return None


def _looks_like_layer(cells: list[str]) -> bool:
    return len(cells) >= 4 and all(re.fullmatch(r"\d+", c) for c in cells[1:4])


def _header_fix(fmt: str | None) -> str:
    if fmt is None:
        return f"expected `{CONV_HEADER}` (conv) or `{GEMM_HEADER}` (gemm)"
    return f"expected `{CONV_HEADER if fmt == 'conv' else GEMM_HEADER}`"


def _choose_format(path: Path, lineno: int, header: str, requested: str | None) -> str:
    detected = detect_format(header)
    if detected is None and _looks_like_layer(_cells(header)):
        raise AccelsimError(f"{path}: line {lineno}: looks like a layer, not a header (SCALE-Sim "
                            f"always skips the first line); add a header line first: {_header_fix(requested)}")
    if requested is None:
        if detected is None:
            raise AccelsimError(f"{path}: line {lineno}: cannot tell the topology format from the header "
                                f"{header.strip()!r}; {_header_fix(None)}, or give the format "
                                "(--format conv|gemm)")
        return detected
    if detected is not None and detected != requested:
        raise AccelsimError(f"{path}: line {lineno}: the header is SCALE-Sim's {detected} format but "
                            f"format {requested} was asked for; drop --format or fix the header "
                            f"({_header_fix(requested)})")
    return requested


def _sparsity_problem(cell: str) -> str | None:
    """None when ``cell`` is a dense N:M ratio (N = M), else what is wrong and how to fix it."""
    match = re.fullmatch(r"(\d+)\s*:\s*(\d+)", cell)
    if match is None:
        return (f"must be an N:M sparsity ratio such as 1:1 (got {cell!r}); SCALE-Sim 3 has a single "
                "stride column, used for both dimensions")
    n, m = int(match[1]), int(match[2])
    if n == m and m > 0:
        return None
    return (f"asks for {cell} structured sparsity, which accelsim does not model (dense layers only); "
            "remove the column, or write 1:1 to import the layer as dense")


def workload_from_topology(path, topology_format: str | None = None) -> dict:
    """The accelsim workload YAML dict for a SCALE-Sim topology ``.csv``.

    ``topology_format`` is ``conv``, ``gemm`` or None (read it from the header line).
    Every problem in the file is reported at once, each naming the line and column.
    """
    path = Path(path)
    if topology_format is not None and topology_format not in FORMATS:
        raise AccelsimError(f"topology format must be conv or gemm (got {topology_format!r})")
    text = _read_text(path, "topology (.csv)")
    lines = [(no, line) for no, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise AccelsimError(f"{path}: empty file; a SCALE-Sim topology has a header line, then one "
                            f"line per layer such as `{_EXAMPLE_ROW['conv']}`")
    fmt = _choose_format(path, lines[0][0], lines[0][1], topology_format)
    if len(lines) == 1:
        raise AccelsimError(f"{path}: no layers after the header line; add one line per layer, "
                            f"e.g. `{_EXAMPLE_ROW[fmt]}`")
    fields = _CONV_FIELDS if fmt == "conv" else _GEMM_FIELDS
    problems: list[Problem] = []
    layers: list[dict] = []
    used: set[str] = set()
    renamed: list[str] = []
    depthwise: list[str] = []
    for lineno, line in lines[1:]:
        cells = _cells(line)
        name = cells[0] if cells else ""
        where = f"line {lineno}" + (f" ({name})" if name else "")

        def problem(column: str, message: str) -> None:
            problems.append(Problem(str(path), f"{where}, {column}" if column else where, message))

        if not name:
            problem("Layer name", "is empty; give every layer a name")
        if len(cells) < 1 + len(fields):
            problem("", f"has {max(len(cells) - 1, 0)} value(s) after the name, expected "
                        f"{len(fields)} ({', '.join(fields)}); {_header_fix(fmt)} and rows like "
                        f"`{_EXAMPLE_ROW[fmt]}`")
            continue
        if len(cells) > 2 + len(fields):
            problem("", f"has {len(cells) - 1} values after the name, expected {len(fields)} "
                        f"({', '.join(fields)}) and an optional N:M sparsity ratio")
            continue
        values = {}
        for field, cell in zip(fields, cells[1:]):
            if re.fullmatch(r"[+]?\d+", cell) and int(cell) >= 1:
                values[field] = int(cell)
            else:
                problem(field, f"must be a whole number >= 1 (got {cell!r})")
        if len(cells) == 2 + len(fields):
            message = _sparsity_problem(cells[-1])
            if message:
                problem("N:M sparsity", message)
        if len(values) < len(fields) or not name:
            continue
        unique = name
        if unique in used:
            suffix = 2
            while f"{name}_{suffix}" in used:
                suffix += 1
            unique = f"{name}_{suffix}"
            renamed.append(f"{name} (line {lineno}) -> {unique}")
        used.add(unique)
        if fmt == "gemm":
            layers.append({"name": unique, "type": "gemm",
                           "M": values["M"], "N": values["N"], "K": values["K"]})
            continue
        h, w = values["IFMAP Height"], values["IFMAP Width"]
        r, s = values["Filter Height"], values["Filter Width"]
        ok = True
        if r > h:
            problem("Filter Height", f"{r} is larger than IFMAP Height {h}; SCALE-Sim has no padding, "
                                     "so give the padded input size")
            ok = False
        if s > w:
            problem("Filter Width", f"{s} is larger than IFMAP Width {w}; SCALE-Sim has no padding, "
                                    "so give the padded input size")
            ok = False
        if not ok:
            continue
        channels, filters = values["Channels"], values["Num Filter"]
        if "DP" in name:  # SCALE-Sim's depthwise marker (topology_utils.py, load_arrays_conv)
            depthwise.append(name if filters == 1 else
                             f"{name} (Num Filter {filters}: SCALE-Sim runs {filters}x these MACs)")
            groups, filters = channels, channels
        else:
            groups = 1
        layers.append({"name": unique, "type": "conv", "N": 1, "C": channels, "H": h, "W": w,
                       "M": filters, "R": r, "S": s, "stride": values["Strides"], "padding": 0,
                       "groups": groups})
    if problems:
        raise SpecError(problems)

    notes = [f"Imported from SCALE-Sim {fmt} topology {path.name}: {len(layers)} layer(s)."]
    if fmt == "conv":
        notes.append("Batch N = 1 (hard-coded in SCALE-Sim); padding 0, as SCALE-Sim's inputs are "
                     "already padded; groups 1 except for depthwise layers.")
    if depthwise:
        notes.append("Layers named with 'DP' are depthwise in SCALE-Sim (run as Channels one-channel "
                     "layers) and are imported as depthwise convs with groups = C = M = Channels, "
                     "whatever their Num Filter (SCALE-Sim gives each one-channel layer Num Filter "
                     "filters, so it matches a depthwise layer only when Num Filter is 1): "
                     + ", ".join(depthwise) + ".")
    if renamed:
        notes.append("Duplicate layer names were made unique: " + ", ".join(renamed) + ".")
    return {
        "name": sanitise_name(path.stem, "scalesim_topology"),
        "description": " ".join(notes),
        "source": f"SCALE-Sim 3.0.0 topology {path} ({fmt} format), imported by {TOOL}",
        "batch": 1,
        "layers": layers,
    }


# -- both ----------------------------------------------------------------------------------------

def _dump(data: dict, comments: list[str]) -> str:
    head = "".join(f"# {line}\n" for line in comments)
    return head + yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)


def import_files(config: Path, topology: Path, out_dir: Path,
                 topology_format: str | None = None, overwrite: bool = True) -> tuple[Path, Path, str]:
    """Convert a SCALE-Sim .cfg + topology .csv into accelsim hw and workload YAML files in out_dir.
    Returns (hw_yaml_path, workload_yaml_path, dataflow_name) where dataflow_name is 'ws'|'os'|'is' from the cfg.

    The files are ``<hw name>.yaml`` (the cfg's run_name) and ``<workload name>.yaml`` (the
    topology's file name); when the two names coincide the hw gets a ``_hw`` suffix. Both files are
    loaded back with accelsim's own spec loaders before returning. ``overwrite=False`` refuses to
    replace an existing file (``accelsim import scalesim`` without ``--force``).
    """
    config, topology, out_dir = Path(config), Path(topology), Path(out_dir)
    imported = read_config(config)
    hw = imported.hw
    workload = workload_from_topology(topology, topology_format)
    if hw["name"] == workload["name"]:
        hw["name"] = f"{hw['name']}_hw"
    hw_path = out_dir / f"{hw['name']}.yaml"
    workload_path = out_dir / f"{workload['name']}.yaml"
    hw_comments = [f"accelsim hw imported from SCALE-Sim config {config} by {TOOL}.",
                   f"SCALE-Sim has no clock: clock_mhz {PLACEHOLDER_CLOCK_MHZ} is a placeholder (1 cycle = 1 ns).",
                   f"Run with the dataflow from the config: --dataflow {imported.dataflow}"]
    workload_comments = [f"accelsim workload imported from SCALE-Sim topology {topology} by {TOOL}."]
    existing = [str(p) for p in (hw_path, workload_path) if p.exists()]
    if existing and not overwrite:
        raise AccelsimError(f"{', '.join(existing)}: " + ("exists; add --force to replace it" if len(existing) == 1
                            else "exist; add --force to replace them") + ", or choose another --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        hw_path.write_text(_dump(hw, hw_comments), encoding="utf-8")
        workload_path.write_text(_dump(workload, workload_comments), encoding="utf-8")
    except OSError as exc:
        raise AccelsimError(f"{exc.filename or out_dir}: cannot write ({exc.strerror}); "
                            "choose another --out folder") from None
    load_hardware(hw_path)
    load_workload(workload_path)
    return hw_path, workload_path, imported.dataflow
