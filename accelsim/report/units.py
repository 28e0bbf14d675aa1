"""Display units for the dashboards, and the label rules every page keeps.

Tables keep their base units (pJ, us, cycles, bytes); a chart shows energy in pJ..J, time in
ns..s and bytes in B..TiB (binary prefixes: 1 KiB = 1024 B, IEC 80000-13), picking the unit in
which the largest value lies in [1, 1000) (bytes: [1, 1024)). Axes never use plotly's default
SI suffixes, whose "G" and "B" (billions) read as giga-units or bytes: :func:`style` sets
``exponentformat="power"`` on every axis and colour bar, and :func:`check_figure` is the rule the
tests (and any page built on :mod:`accelsim.report.html`) hold every figure to.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

#: (unit, factor to the base unit) from small to large, per kind of quantity.
SCALES = {
    "energy_pj": (("pJ", 1.0), ("nJ", 1e3), ("uJ", 1e6), ("mJ", 1e9), ("J", 1e12)),
    "time_us": (("ns", 1e-3), ("us", 1.0), ("ms", 1e3), ("s", 1e6)),
    "time_s": (("ns", 1e-9), ("us", 1e-6), ("ms", 1e-3), ("s", 1.0)),
    "energy_j": (("pJ", 1e-12), ("nJ", 1e-9), ("uJ", 1e-6), ("mJ", 1e-3), ("J", 1.0)),
    "bytes": (("B", 1.0), ("KiB", 1024.0), ("MiB", 1024.0 ** 2), ("GiB", 1024.0 ** 3), ("TiB", 1024.0 ** 4)),
}
#: A word that says an axis title carries its unit (or is a count whose unit is its name).
UNIT_WORDS = ("(", "%", "cycles", "MACs", "per ", "/s", "/cycle", "tokens", "requests", "count")


@dataclass(frozen=True)
class Unit:
    """A display unit: ``shown = base value / factor``."""

    name: str
    factor: float

    def __call__(self, values):
        return np.asarray(values, dtype=float) / self.factor


def pick(kind: str, values) -> Unit:
    """The unit of ``kind`` (a key of :data:`SCALES`) in which max(|values|) is >= 1 and smallest."""
    scale = SCALES[kind]
    arr = np.abs(np.asarray(values, dtype=float).ravel())
    arr = arr[np.isfinite(arr) & (arr > 0)]
    top = float(arr.max()) if arr.size else 1.0
    chosen = scale[0]
    for name, factor in scale:
        if top / factor >= 1:
            chosen = (name, factor)
    return Unit(*chosen)


def fmt(value: float, unit: Unit, digits: int = 4) -> str:
    """``value`` (base unit) as text in ``unit``: ``12.3 uJ``."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return f"{float(value) / unit.factor:.{digits}g} {unit.name}"


def fmt_auto(value: float, kind: str, digits: int = 4) -> str:
    """``value`` in the unit :func:`pick` chooses for it alone."""
    return fmt(value, pick(kind, [value]), digits)


_AXIS_STYLE = dict(exponentformat="power", separatethousands=True)


def style(fig: go.Figure) -> go.Figure:
    """Every axis and colour bar of ``fig``: powers of ten, never SI letters (no "2B" for 2e9)."""
    fig.update_xaxes(**_AXIS_STYLE)
    fig.update_yaxes(**_AXIS_STYLE)
    for trace in fig.data:
        spec = trace.to_plotly_json()
        if "colorbar" in spec:
            trace.colorbar.exponentformat = "power"
        if "colorbar" in (spec.get("marker") or {}):
            trace.marker.colorbar.exponentformat = "power"
    return fig


def _axes(fig: go.Figure):
    layout = fig.layout
    for name in layout:
        if (name.startswith("xaxis") or name.startswith("yaxis")) and layout[name] is not None:
            yield name, layout[name]


def check_figure(fig: go.Figure) -> list[str]:
    """What breaks the label rules in ``fig`` (empty when none): a title; every axis that holds
    data titled, with a unit (or a unit word: %, cycles, MACs, ...) unless its values are
    categories; no SI exponent letters; colour bars titled."""
    problems = []
    title = fig.layout.title.text if fig.layout.title else None
    if not title:
        problems.append("figure has no title")
    used = set()
    for trace in fig.data:
        for attr, prefix in (("xaxis", "xaxis"), ("yaxis", "yaxis")):
            ref = getattr(trace, attr, None) if attr in trace else None
            used.add(prefix + (ref[1:] if ref and ref != prefix[0] else ""))
    for name, axis in _axes(fig):
        if name not in used or axis.visible is False:
            continue
        text = axis.title.text if axis.title else None
        categorical = axis.type == "category" or _categorical(fig, name)
        if axis.exponentformat not in ("power", "e", "none") and not categorical:
            problems.append(f"{name}: exponentformat {axis.exponentformat!r} (want 'power': no SI 'B' for billions)")
        if categorical or axis.matches is not None or axis.showticklabels is False:   # categories; shared axes
            continue
        if not text:
            problems.append(f"{name}: no title")
        elif not any(word in text for word in UNIT_WORDS):
            problems.append(f"{name}: title {text!r} names no unit")
    for trace in fig.data:
        spec = trace.to_plotly_json()
        for bar in (spec.get("colorbar"), (spec.get("marker") or {}).get("colorbar")):
            if bar is not None and not (bar.get("title") or {}).get("text"):
                problems.append(f"trace {trace.name!r}: colour bar without a title")
    return problems


def _categorical(fig: go.Figure, axis_name: str) -> bool:
    """Whether the data on this axis are strings (categories: layer names, dataflows)."""
    letter, suffix = axis_name[0], axis_name[5:]
    ref = letter + suffix
    for trace in fig.data:
        if (getattr(trace, f"{letter}axis", None) or letter) != ref:
            continue
        values = getattr(trace, letter, None)
        if values is not None and len(values) and isinstance(values[0], str):
            return True
    return False
