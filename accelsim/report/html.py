"""One self-contained HTML dashboard: plotly.js inlined once, every figure a div, no network.

User strings are escaped in the HTML we write (html.escape) and in the figures' JSON (plotly's
JSON encoder writes ``<``, ``>`` and ``/`` as ``\\u003c``, ``\\u003e``, ``\\u002f``, so a name
containing ``</script>`` cannot close a script element); :func:`check_embedded_json` enforces it.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import plotly.graph_objects as go
import plotly.offline

from ..version import __version__
from .script import SCRIPT

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0 auto; max-width: 1280px;
       padding: 0 24px 48px; color: #222; }
h1 { font-size: 1.6em; margin: 24px 0 4px; } h2 { margin-top: 36px; border-bottom: 1px solid #ddd; }
p.meta { color: #666; margin-top: 0; }
table.summary { border-collapse: collapse; font-size: 0.9em; margin: 8px 0 16px; }
table.summary td, table.summary th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
table.summary th { background: #f4f4f4; }
div.figure { margin: 12px 0 28px; min-height: 420px; }
p.note { color: #555; font-size: 0.9em; }
div.controls { background: #f7f7f7; border: 1px solid #e2e2e2; border-radius: 6px; padding: 6px 10px; font-size: 0.9em; }
div.controls .row { margin: 4px 0; } div.controls label { margin-right: 14px; white-space: nowrap; }
div.controls select { font-size: 1em; max-width: 260px; }
span.toggle button { border: 1px solid #bbb; background: #fff; padding: 2px 10px; cursor: pointer; }
span.toggle button.on { background: #4c78a8; color: #fff; border-color: #4c78a8; }
div.figure.explorer { min-height: 520px; }
"""


@dataclass
class Section:
    """A titled part of the report: a note, an optional table (rows of strings) and figures."""

    title: str
    note: str = ""
    table: list[list] | None = None
    figures: list[go.Figure] = field(default_factory=list)
    #: HTML fragments built by accelsim.report (every user string in them already escaped), before the figures
    html: list[str] = field(default_factory=list)


def _table(rows: list[list]) -> str:
    head, *body = rows
    out = ["<table class=\"summary\"><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in body]
    return "\n".join(out) + "</table>"


def check_embedded_json(fragment: str) -> str:
    """Refuse a figure fragment whose data could end its script early: plotly writes one script
    element per figure, so any further ``</script`` (or a ``<!--``) can only come from unescaped
    data. plotly escapes these; this guards against an encoder that does not."""
    lowered = fragment.lower()
    if lowered.count("</script") != 1 or lowered.count("<script") != 1 or "<!--" in fragment:
        raise ValueError("figure JSON contains an unescaped '<script', '</script' or '<!--'")
    return fragment


def render(title: str, subtitle: str, sections: list[Section]) -> str:
    """The whole HTML page. Each figure's div has class ``figure`` and a ``data-title``."""
    parts = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
             f"<title>{html.escape(title)}</title>",
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
             f"<style>{STYLE}</style>",
             f"<script type=\"text/javascript\">{plotly.offline.get_plotlyjs()}</script>",
             f"<script type=\"text/javascript\">{SCRIPT}</script>",
             "</head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<p class=\"meta\">{html.escape(subtitle)} &middot; accelsim {html.escape(__version__)}</p>"]
    n = 0
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.note:
            parts.append(f"<p class=\"note\">{html.escape(section.note)}</p>")
        if section.table:
            parts.append(_table(section.table))
        parts.extend(section.html)
        for fig in section.figures:
            n += 1
            fragment = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"figure-{n}",
                                   config={"displaylogo": False, "responsive": True})
            name = html.escape(fig.layout.title.text or f"figure {n}", quote=True)
            parts.append(f"<div class=\"figure\" data-title=\"{name}\">{check_embedded_json(fragment)}</div>")
    parts.append("</body></html>")
    return "\n".join(parts)
