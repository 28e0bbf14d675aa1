"""The sweep explorer: one heatmap whose axes, metric, fixed values and colour scale the reader picks.

The page carries the sweep's point totals as JSON (one number per point and metric, already in the
display unit) and the small script of :mod:`accelsim.report.script` redraws the heatmap from them in
the browser, offline: for the two axes shown, each cell is the point whose other axes have the fixed
values chosen, or, for an axis left at "best over all", the best point over its values; hovering a
cell gives that point's whole configuration and the ``accelsim run`` command that reproduces it.
"""
from __future__ import annotations

import html
import json
import math
import shlex
from pathlib import Path

import numpy as np
import pandas as pd

from .. import spec
from ..errors import AccelsimError
from . import units
from .figures import esc

#: (axis key, label) of the sweep axes the explorer offers, in its default order.
AXES = (("dataflow", "dataflow"), ("array", "array (rows x cols)"), ("sram", "SRAM ifmap/filter/ofmap (KiB)"),
        ("dram_bw", "DRAM bandwidth (B/cycle)"), ("hw", "base hw"), ("workload", "workload"),
        ("energy_table", "energy table"), ("timing", "timing"))


def _metrics(points: pd.DataFrame) -> list[dict]:
    """(key, label with unit, values in that unit, best, log by default) of each metric offered."""
    t = units.pick("time_us", points["latency_us"])
    e = units.pick("energy_pj", points["energy_pj"])
    b = units.pick("bytes", points["dram_bytes"])
    edp = points["energy_pj"].to_numpy(float) * 1e-12 * points["latency_us"].to_numpy(float) * 1e-6
    out = [("latency", f"latency ({t.name})", t(points["latency_us"]), "min", True),
           ("cycles", "total cycles", points["total_cycles"].to_numpy(float), "min", True),
           ("energy", f"energy ({e.name})", e(points["energy_pj"]), "min", True),
           ("edp", "energy-delay product (J x s)", edp, "min", True),
           ("utilization", "PE utilization (%)", 100 * points["pe_utilization"].to_numpy(float), "max", False),
           ("dram", f"DRAM traffic ({b.name})", b(points["dram_bytes"]), "min", True),
           ("pj_per_mac", "energy per MAC (pJ/MAC)", points["energy_pj_per_mac"].to_numpy(float), "min", False)]
    for col in sorted(c for c in points.columns if c.startswith("area")):   # area columns, where the table has them
        unit = col.split("_", 1)[1] if "_" in col else ""
        out.append((col, f"area ({unit.replace('mm2', 'mm^2').replace('um2', 'um^2')})",
                    points[col].to_numpy(float), "min", False))
    return [{"key": key, "label": label, "values": [None if not math.isfinite(v) else float(f"{v:.6g}") for v in vals],
             "best": best, "log": log} for key, label, vals, best, log in out]


def _axis_values(points: pd.DataFrame) -> dict[str, list[str]]:
    bw = points["dram_bandwidth_bytes_per_cycle"]
    return {
        "dataflow": points["dataflow"].astype(str).tolist(),
        "array": (points["array_rows"].astype(str) + "x" + points["array_cols"].astype(str)).tolist(),
        "sram": [f"{i:g}/{f:g}/{o:g}" for i, f, o in zip(points["sram_ifmap_kib"], points["sram_filter_kib"],
                                                         points["sram_ofmap_kib"])],
        "dram_bw": ["unlimited" if not np.isfinite(v) else f"{v:g}" for v in bw],
        "hw": points["hw"].astype(str).tolist(),
        "workload": points["workload"].astype(str).tolist(),
        "energy_table": points["energy_table"].astype(str).tolist() if "energy_table" in points else [""] * len(points),
        "timing": points["timing"].astype(str).tolist() if "timing" in points else [""] * len(points),
    }


def _order(key: str, values: list[str], points: pd.DataFrame) -> list[str]:
    """An axis's distinct values in display order: arrays by PE count, numbers ascending, else as first seen."""
    seen = list(dict.fromkeys(values))
    if key == "array":
        return sorted(seen, key=lambda a: (int(a.split("x")[0]) * int(a.split("x")[1]), int(a.split("x")[0])))
    if key in ("sram", "dram_bw"):
        return sorted(seen, key=lambda v: tuple(math.inf if p == "unlimited" else float(p) for p in v.split("/")))
    return seen


def _name_or_path(manifest: dict, kind: str, role: str, name: str) -> str:
    """A preset's name, or the path of the file the sweep read for ``role:name``."""
    path = manifest.get("inputs", {}).get(f"{role}:{name}", {}).get("path")
    try:
        builtin = spec.resolve(kind, name)
    except AccelsimError:   # not a preset name: the file the sweep read
        builtin = None
    if path is None or (builtin is not None and Path(builtin).resolve() == Path(path).resolve()):
        return name
    return path


#: (axis key, flag of accelsim run) of the axes that make up a point's command.
RUN_FLAGS = (("hw", "--hw"), ("workload", "--workload"), ("dataflow", "--dataflow"), ("array", "--array"),
             ("sram", "--sram-kb"), ("dram_bw", "--dram-bw"), ("timing", "--timing"), ("energy_table", "--energy"))


def _command_tail(manifest: dict) -> list[str]:
    """The flags every point of the sweep shares: the mapper's objective and time limit."""
    space = manifest.get("space", {})
    tail = []
    if space.get("objective") and space.get("objective") != "edp":
        tail += ["--objective", str(space["objective"])]
    if space.get("time_limit_s"):
        tail += ["--time-limit", f"{space['time_limit_s']:g}"]
    return tail


def _flag_value(key: str, value: str, manifest: dict) -> str:
    kind = {"hw": ("hw", "hw"), "workload": ("workloads", "workload"), "dataflow": ("dataflows", "dataflow")}.get(key)
    return _name_or_path(manifest, kind[0], kind[1], value) if kind else value


def run_commands(points: pd.DataFrame, manifest: dict) -> list[str]:
    """For each point, the ``accelsim run`` command that simulates exactly it (the sweep's base hw,
    workload and dataflow by preset name or by the file the sweep read, with the point's array,
    SRAM and bandwidth as flags, and the sweep's timing, energy table and mapper objective)."""
    raw = _axis_values(points)
    tail = _command_tail(manifest)
    out = []
    for i in range(len(points)):
        args = ["accelsim", "run"]
        for key, flag in RUN_FLAGS:
            if raw[key][i]:
                args += [flag, _flag_value(key, raw[key][i], manifest)]
        out.append(" ".join(shlex.quote(a) for a in args + tail))
    return out


def explorer_data(points: pd.DataFrame, manifest: dict | None = None) -> dict:
    """The JSON the explorer script draws from: axes (values in order, each point's index, and the
    value as a shell-quoted ``accelsim run`` argument), metrics (values per point in the display
    unit), the flags all points share; every string escaped as label text. The script composes a
    cell's configuration and command from its point's axis values, so the page grows by a few
    numbers per point."""
    ok = points[points["error"].isna()].reset_index(drop=True)
    manifest = manifest or {}
    raw = _axis_values(ok)
    axes = []
    for key, label in AXES:
        order = _order(key, raw[key], ok)
        index = {v: i for i, v in enumerate(order)}
        axes.append({"key": key, "label": label, "values": [esc(v) for v in order],
                     "args": [esc(shlex.quote(_flag_value(key, v, manifest))) if v else "" for v in order],
                     "index": [index[v] for v in raw[key]]})
    flags = dict(RUN_FLAGS)
    return {"axes": axes, "metrics": _metrics(ok), "point": ok["point"].astype(int).tolist(),
            "flags": [[key, flags[key]] for key, _ in RUN_FLAGS],
            "tail": esc(" ".join(shlex.quote(a) for a in _command_tail(manifest)))}


def embed_json(data) -> str:
    """``data`` as JSON safe inside a ``<script type="application/json">`` element: ``<``, ``>``
    and ``&`` written as ``\\u003c``, ``\\u003e``, ``\\u0026``, so no value can end the element."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def explorer_html(data: dict, ident: str, title: str) -> str:
    """The explorer's controls, its plot div and its data, as an HTML fragment (all text escaped)."""
    def select(role: str, options: list[tuple[str, str]], selected: str, label: str) -> str:
        opts = "".join(f"<option value=\"{html.escape(v, quote=True)}\"{' selected' if v == selected else ''}>"
                       f"{html.escape(text)}</option>" for v, text in options)
        return (f"<label>{html.escape(label)} <select data-role=\"{role}\" "
                f"aria-label=\"{html.escape(label, quote=True)}\">{opts}</select></label>")

    axes = data["axes"]
    varied = [a["key"] for a in axes if len(a["values"]) > 1]
    default_x = next((k for k in ("dataflow",) + tuple(varied) if k in [a["key"] for a in axes]), "dataflow")
    default_y = next((k for k in ("array",) + tuple(varied) if k != default_x), "array")
    axis_options = [(a["key"], a["label"]) for a in axes]
    metric_options = [(m["key"], m["label"]) for m in data["metrics"]]
    fixed = []
    for a in axes:
        options = [("best", "best over all")] + [(str(i), html.unescape(v)) for i, v in enumerate(a["values"])]
        start = "0" if a["key"] == "workload" else "best"
        fixed.append(select(f"fix-{a['key']}", options, start, f"{a['label']}:"))
    controls = (
        f"<div class=\"controls\" data-explorer=\"{ident}\">"
        f"<div class=\"row\">{select('x', axis_options, default_x, 'columns:')}"
        f"{select('y', axis_options, default_y, 'rows:')}"
        f"{select('metric', metric_options, data['metrics'][0]['key'], 'metric:')}"
        f"<span class=\"toggle\" data-role=\"scale\"><button type=\"button\" data-scale=\"log\" class=\"on\">log</button>"
        f"<button type=\"button\" data-scale=\"linear\">linear</button></span></div>"
        f"<div class=\"row fixed\">other axes: {''.join(fixed)}</div></div>")
    return (f"{controls}<div class=\"figure explorer\" id=\"{ident}\" data-title=\"{html.escape(title, quote=True)}\">"
            f"</div><script type=\"application/json\" id=\"{ident}-data\">{embed_json(data)}</script>")
