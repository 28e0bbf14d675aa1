"""Figures and the offline HTML page of a serving run (plotly; accelsim/report/html.py writes it)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..report import units

#: Points drawn per timeline trace at most (evenly spaced steps; the tables keep every step).
MAX_POINTS = 4000


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= MAX_POINTS:
        return frame
    return frame.iloc[np.linspace(0, len(frame) - 1, MAX_POINTS).astype(np.int64)]


def latency_cdf(requests: pd.DataFrame, summary: dict) -> go.Figure:
    """Empirical CDFs of TTFT, TPOT and end-to-end latency, SLOs as dashed lines."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=("TTFT", "TPOT", "end-to-end latency"))
    slos = {"ttft_s": summary.get("slo_ttft_s"), "tpot_s": summary.get("slo_tpot_s"), "e2e_s": None}
    for col, key in enumerate(("ttft_s", "tpot_s", "e2e_s"), start=1):
        values = np.sort(requests[key].to_numpy(dtype=np.float64))
        values = values[np.isfinite(values)]
        unit = units.pick("time_s", values)
        values = unit(values)
        share = np.arange(1, values.size + 1) / max(values.size, 1)
        keep = np.unique(np.linspace(0, max(values.size - 1, 0), min(values.size, MAX_POINTS)).astype(np.int64))
        fig.add_trace(go.Scatter(x=values[keep] if values.size else [], y=share[keep] if values.size else [],
                                 mode="lines", name=key, showlegend=False), row=1, col=col)
        if slos[key]:
            fig.add_vline(x=slos[key] / unit.factor, line_dash="dash", line_color="crimson", row=1, col=col)
        fig.update_xaxes(title_text=f"{key[:-2].replace('e2e', 'end-to-end')} ({unit.name})", row=1, col=col)
    fig.update_yaxes(title_text="share of requests (%)", tickformat=".0%", range=[0, 1.02])
    fig.update_layout(title="Latency distributions (dashed: SLO)", template="plotly_white", height=420)
    return units.style(fig)


def occupancy_over_time(timeline: pd.DataFrame) -> go.Figure:
    """KV-cache occupancy and batch size (with waiting requests) over simulated time."""
    part = _thin(timeline)
    unit = units.pick("time_s", part["start_s"])
    part = part.assign(start_s=unit(part["start_s"]))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("KV-cache occupancy", "requests per step"))
    fig.add_trace(go.Scatter(x=part["start_s"], y=part["kv_occupancy"], mode="lines", name="KV blocks used / blocks"),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=part["start_s"], y=part["batch_size"], mode="lines", name="batch (scheduled)"),
                  row=2, col=1)
    fig.add_trace(go.Scatter(x=part["start_s"], y=part["waiting"], mode="lines", name="waiting"), row=2, col=1)
    if part["swapped"].any():
        fig.add_trace(go.Scatter(x=part["start_s"], y=part["swapped"], mode="lines", name="swapped"), row=2, col=1)
    fig.update_yaxes(title_text="KV blocks used (%)", range=[0, 1.02], tickformat=".0%", row=1, col=1)
    fig.update_yaxes(title_text="requests", row=2, col=1)
    fig.update_xaxes(title_text=f"simulated time ({unit.name})", row=2, col=1)
    fig.update_layout(title="KV cache and batch over time", template="plotly_white", height=560)
    return units.style(fig)


def latency_by_arrival(requests: pd.DataFrame) -> go.Figure:
    """Each request's TTFT and end-to-end latency against its arrival time."""
    part = _thin(requests)
    x, y = units.pick("time_s", part["arrival_s"]), units.pick("time_s", part["e2e_s"])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x(part["arrival_s"]), y=y(part["e2e_s"]), mode="markers", name="end-to-end",
                               marker={"size": 4}))
    fig.add_trace(go.Scatter(x=x(part["arrival_s"]), y=y(part["ttft_s"]), mode="markers", name="TTFT",
                               marker={"size": 4}))
    fig.update_layout(title="Latency by arrival time", xaxis_title=f"arrival ({x.name})",
                      yaxis_title=f"latency ({y.name})", template="plotly_white", height=420)
    return units.style(fig)


def summary_rows(summary: dict) -> list[list]:
    """The summary as (key, value) rows; percentiles flattened to ``ttft_s.p99`` etc."""
    rows = [["quantity", "value"]]
    for key, value in summary.items():
        if isinstance(value, dict):
            rows += [[f"{key}.{name}", _fmt(v)] for name, v in value.items()]
        else:
            rows.append([key, _fmt(value)])
    return rows


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None else str(value)


def serve_page(result) -> str:
    """The self-contained HTML page of a serving run."""
    from ..report.html import render
    title, sections = serve_sections(result)
    return render(title, result.summary.get("requests_from", ""), sections)


def page_from_folder(folder) -> tuple[str, list]:
    """(title, sections) of a serving run's folder (``accelsim serve --out``), for ``accelsim report``."""
    import json
    from pathlib import Path

    from ..errors import AccelsimError
    from .simulate import ServeResult
    folder = Path(folder)
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        result = ServeResult(pd.read_csv(folder / "requests.csv"), pd.read_csv(folder / "timeline.csv"), summary)
    except (OSError, ValueError) as exc:
        raise AccelsimError(f"{folder}: not a readable serving run ({exc}); rerun accelsim serve --out") from None
    return serve_sections(result)


def serve_sections(result) -> tuple[str, list]:
    """(title, sections) of a serving run."""
    from ..report.html import Section
    s = result.summary
    sections = [Section("Summary", note=s.get("conventions", ""), table=summary_rows(s)),
                Section("Latency", figures=[latency_cdf(result.requests, s), latency_by_arrival(result.requests)]),
                Section("KV cache and batch", figures=[occupancy_over_time(result.timeline)])]
    return f"accelsim serve: {s.get('model')} on {s.get('hw')}", sections
