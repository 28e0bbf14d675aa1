"""The page of ``accelsim llm --report FILE.html``: one LLM inference on one device.

Per-op roofline of prefill and decode (buttons switch the phase), where the time goes per op,
time per output token and tokens/s against batch and context (a slider picks the batch), KV-cache
size against context, and energy per token. The batch x context grid reruns
:func:`accelsim.llm.infer.llm_inference` with the same model, device and options at each point
(one decode step at that context).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import units
from .figures import esc, scale_menu, view_menu
from .html import Section

PHASE_COLORS = {"prefill": "#4c78a8", "decode": "#f58518"}
KIND_SYMBOLS = {"gemm": "circle", "attention": "diamond", "vector": "square", "memory": "triangle-up",
                "link": "x", "state": "cross"}


def device_roofs(device) -> tuple[float, float, float]:
    """(peak FLOP/s of the GEMM engine, of the vector unit, DRAM bytes/s) of an ideal-roofline
    device or a PE array (2 FLOPs per MAC per PE per cycle; vector lanes one op per cycle)."""
    if hasattr(device, "peak_flops_per_s"):
        return device.peak_flops_per_s, device.vector_flops_per_s, device.dram_bandwidth_bytes_per_s
    hz = device.clock_mhz * 1e6
    return 2 * device.num_pes * hz, device.vector_lanes * hz, device.dram_bandwidth_bytes_per_cycle * hz


def grid(model, hw, options, dataflow, batches, contexts, progress=None) -> pd.DataFrame:
    """One row per (batch, context): TPOT, tokens/s, KV cache bytes and energy per token of one
    decode step at that context (``llm_inference(prompt=context, generate=1)``)."""
    from ..llm.infer import llm_inference
    rows = []
    total = len(batches) * len(contexts)
    for b in batches:
        for c in contexts:
            summary, _ = llm_inference(model, hw, int(c), 1, int(b), options, dataflow=dataflow,
                                        allow_oversubscribe=True)   # a sweep point may exceed memory
            rows.append({"batch": int(b), "context": int(c), "tpot_s": summary["tpot_s"],
                         "tokens_per_s": summary["tokens_per_s"], "kv_cache_bytes": summary["kv_cache_bytes"],
                         "energy_per_token_j": summary["energy_per_token_j"],
                         "per_device_memory_bytes": summary["per_device_memory_bytes"]})
            if progress:
                progress(len(rows), total)
    return pd.DataFrame(rows)


def default_axes(batch: int, context: int) -> tuple[list[int], list[int]]:
    """Batches 1, 2, 4, ... up to 4x the run's (at least 16); contexts from 1/16 to 4x the run's,
    in powers of two, with the run's own batch and context included."""
    batches = sorted({1 << i for i in range(0, max(4, int(np.log2(max(batch, 1))) + 2) + 1)} | {batch})
    contexts = sorted({max(1, context >> i) for i in range(4, -1, -1)} | {context * 2, context * 4})
    return batches, contexts


def op_roofline(ops: pd.DataFrame, device, title: str) -> go.Figure:
    """Per-op roofline (Williams et al., CACM 2009) in FLOPs: x = FLOP per DRAM byte, y = achieved
    FLOP/s; roofs for the GEMM engine and the vector unit; buttons show prefill, decode or both."""
    peak, vector_peak, bandwidth = device_roofs(device)
    data = ops[(ops["flops"] > 0) & np.isfinite(ops["arithmetic_intensity_flop_per_byte"])
               & (ops["arithmetic_intensity_flop_per_byte"] > 0) & (ops["achieved_flops_per_s"] > 0)]
    ai = data["arithmetic_intensity_flop_per_byte"].to_numpy(float)
    lo = min(ai.min() / 4, peak / bandwidth / 100) if len(ai) else 0.01
    hi = max(ai.max() * 4, peak / bandwidth * 10) if len(ai) else 1e4
    flops_unit = units.Unit("TFLOP/s", 1e12) if peak >= 1e12 else units.Unit("GFLOP/s", 1e9)
    fig = go.Figure()
    xs = np.geomspace(lo, hi, 200)
    for name, top, dash in (("GEMM engine", peak, "solid"), ("vector unit", vector_peak, "dot")):
        fig.add_trace(go.Scatter(x=xs, y=flops_unit(np.minimum(top, xs * bandwidth)), mode="lines", hoverinfo="skip",
                                 line=dict(color="black", width=2, dash=dash),
                                 name=f"roof: {name} {flops_unit(top):.4g} {flops_unit.name}, "
                                      f"DRAM {units.fmt_auto(bandwidth, 'bytes')}/s"))
    roofs = len(fig.data)
    t_unit = units.pick("time_s", data["time_s"]) if len(data) else units.Unit("s", 1.0)
    phases = []
    for (phase, kind), group in data.groupby(["phase", "kind"], sort=False):
        custom = np.stack([[esc(o) for o in group["op"]], group["bound"].astype(str),
                           [units.fmt(v, t_unit) for v in group["time_s"]],
                           [units.fmt_auto(v, "bytes") for v in group["dram_bytes"]],
                           [f"{v:.4g}" for v in group["flops"]]], axis=-1)
        fig.add_trace(go.Scatter(
            x=group["arithmetic_intensity_flop_per_byte"], y=flops_unit(group["achieved_flops_per_s"]), mode="markers",
            name=f"{phase}: {esc(kind)}", legendgroup=phase, customdata=custom,
            marker=dict(color=PHASE_COLORS.get(phase, "#888"), symbol=KIND_SYMBOLS.get(kind, "circle"), size=11,
                        line=dict(width=1, color="white")),
            hovertemplate=(f"<b>%{{customdata[0]}}</b> ({phase})<br>%{{x:.3g}} FLOP/byte<br>achieved %{{y:.4g}} "
                           f"{flops_unit.name}<br>time %{{customdata[2]}}<br>DRAM %{{customdata[3]}}<br>"
                           "%{customdata[4]} FLOPs<br>%{customdata[1]}-bound<extra></extra>")))
        phases.append(phase)
    n = len(fig.data)
    views = [("both", [True] * n, {})] + [
        (phase, [i < roofs or phases[i - roofs] == phase for i in range(n)], {}) for phase in ("prefill", "decode")]
    fig.update_xaxes(type="log", title="arithmetic intensity (FLOP per DRAM byte)")
    fig.update_yaxes(type="log", title=f"achieved ({flops_unit.name})")
    fig.update_layout(title=title, legend=dict(orientation="h", y=-0.25), plot_bgcolor="white", margin=dict(t=90),
                      updatemenus=[view_menu(views)])
    fig.update_xaxes(gridcolor="#e6e6e6")
    fig.update_yaxes(gridcolor="#e6e6e6")
    return units.style(fig)


def time_split(ops: pd.DataFrame, title: str = "Where the time goes, per op") -> go.Figure:
    """Each op's share of the prefill and of a mean decode step: horizontal stacked bars, one
    per phase, in ms (or the unit that suits)."""
    fig = go.Figure()
    unit = units.pick("time_s", ops.groupby("phase")["time_s"].sum())
    order = list(dict.fromkeys(ops["op"]))
    palette = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d", "#ff9da6",
               "#bab0ac", "#79706e", "#d67195", "#86bcb6", "#f1ce63", "#a0cbe8"]
    for i, op in enumerate(order):
        rows = ops[ops["op"] == op]
        totals = rows.groupby("phase")["time_s"].sum()
        phases = [p for p in ("prefill", "decode") if p in totals.index]
        share = [100 * totals[p] / ops.loc[ops["phase"] == p, "time_s"].sum() for p in phases]
        fig.add_trace(go.Bar(y=[f"{p} ({'whole prompt' if p == 'prefill' else 'per step'})" for p in phases],
                             x=unit([totals[p] for p in phases]), name=esc(op), orientation="h",
                             marker_color=palette[i % len(palette)], customdata=share,
                             hovertemplate=f"{esc(op)}: %{{x:.4g}} {unit.name} (%{{customdata:.1f}}% of the phase)"
                                           "<extra>%{y}</extra>"))
    fig.update_layout(barmode="stack", title=title, xaxis_title=f"time ({unit.name})", height=380,
                      legend=dict(orientation="h", y=-0.35), updatemenus=[scale_menu(("xaxis",), x=1.0)])
    return units.style(fig)


def tpot_figure(table: pd.DataFrame, run_batch: int, title: str = "Time per output token and throughput") -> go.Figure:
    """TPOT (left axis) and tokens/s (right axis) against context, one batch at a time: the
    slider picks the batch."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    t = units.pick("time_s", table["tpot_s"])
    batches = sorted(table["batch"].unique())
    for b in batches:
        part = table[table["batch"] == b].sort_values("context")
        visible = bool(b == run_batch)
        fig.add_trace(go.Scatter(x=part["context"], y=t(part["tpot_s"]), mode="lines+markers", name=f"TPOT, batch {b}",
                                 visible=visible, line=dict(color="#4c78a8"),
                                 hovertemplate=f"batch {b}, context %{{x:,}}<br>TPOT %{{y:.4g}} {t.name}<extra></extra>"),
                      secondary_y=False)
        fig.add_trace(go.Scatter(x=part["context"], y=part["tokens_per_s"], mode="lines+markers",
                                 name=f"tokens/s, batch {b}", visible=visible, line=dict(color="#f58518", dash="dot"),
                                 hovertemplate=f"batch {b}, context %{{x:,}}<br>%{{y:,.4g}} tokens/s<extra></extra>"),
                      secondary_y=True)
    steps = [dict(label=str(b), method="update",
                  args=[{"visible": [batches[i // 2] == b for i in range(2 * len(batches))]},
                        {"title.text": f"{title}: batch {b}"}]) for b in batches]
    fig.update_layout(title=f"{title}: batch {run_batch}", margin=dict(t=80, b=120),
                      sliders=[dict(active=batches.index(run_batch), currentvalue=dict(prefix="batch: "), steps=steps,
                                    pad=dict(t=50))],
                      legend=dict(orientation="h", y=1.08))
    fig.update_xaxes(type="log", title="context (tokens)")
    fig.update_yaxes(title_text=f"time per output token ({t.name})", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="throughput (tokens/s)", secondary_y=True, rangemode="tozero")
    return units.style(fig)


def throughput_figure(table: pd.DataFrame, title: str = "Throughput against batch") -> go.Figure:
    """Tokens/s against batch, one line per context."""
    fig = go.Figure()
    for c in sorted(table["context"].unique()):
        part = table[table["context"] == c].sort_values("batch")
        fig.add_trace(go.Scatter(x=part["batch"], y=part["tokens_per_s"], mode="lines+markers", name=f"context {c:,}",
                                 hovertemplate=f"context {c:,}, batch %{{x}}<br>%{{y:,.4g}} tokens/s<extra></extra>"))
    fig.update_xaxes(type="log", title="batch (sequences)")
    fig.update_yaxes(title="throughput (tokens/s)")
    fig.update_layout(title=title, updatemenus=[scale_menu(("yaxis",))])
    return units.style(fig)


def kv_figure(table: pd.DataFrame, title: str = "KV cache against context") -> go.Figure:
    """KV-cache bytes (per device) against context, one line per batch."""
    fig = go.Figure()
    unit = units.pick("bytes", table["kv_cache_bytes"])
    for b in sorted(table["batch"].unique()):
        part = table[table["batch"] == b].sort_values("context")
        fig.add_trace(go.Scatter(x=part["context"], y=unit(part["kv_cache_bytes"]), mode="lines+markers",
                                 name=f"batch {b}",
                                 hovertemplate=f"batch {b}, context %{{x:,}}<br>KV cache %{{y:.4g}} {unit.name}"
                                               "<extra></extra>"))
    fig.update_xaxes(type="log", title="context (tokens)")
    fig.update_yaxes(title=f"KV cache per device ({unit.name})")
    fig.update_layout(title=title, updatemenus=[scale_menu(("yaxis",))])
    return units.style(fig)


def energy_figure(table: pd.DataFrame, title: str = "Energy per generated token") -> go.Figure:
    """Decode energy per token against context, one line per batch."""
    fig = go.Figure()
    unit = units.pick("energy_j", table["energy_per_token_j"])
    for b in sorted(table["batch"].unique()):
        part = table[table["batch"] == b].sort_values("context")
        fig.add_trace(go.Scatter(x=part["context"], y=unit(part["energy_per_token_j"]), mode="lines+markers",
                                 name=f"batch {b}",
                                 hovertemplate=f"batch {b}, context %{{x:,}}<br>%{{y:.4g}} {unit.name} per token"
                                               "<extra></extra>"))
    fig.update_xaxes(type="log", title="context (tokens)")
    fig.update_yaxes(title=f"energy per token ({unit.name})")
    fig.update_layout(title=title, updatemenus=[scale_menu(("yaxis",))])
    return units.style(fig)


def _summary_kind(key: str) -> str | None:
    """The unit kind of a summary key by its suffix: seconds, joules, bytes (rates stay numbers)."""
    if "per_s" in key or "per_element" in key:
        return None
    if key.endswith("_s"):
        return "time_s"
    if key.endswith("_j") or "_j_" in key:
        return "energy_j"
    if key.endswith("_bytes") or "_bytes_per_" in key or key.startswith("bytes"):
        return "bytes"
    return None


def summary_rows(summary: dict) -> list[list[str]]:
    rows = [["quantity", "value"]]
    for key, value in summary.items():
        kind = _summary_kind(key)
        if kind and isinstance(value, (int, float)) and not isinstance(value, bool):
            text = units.fmt_auto(value, kind)
        elif isinstance(value, float):
            text = f"{value:,.6g}"
        elif isinstance(value, int) and not isinstance(value, bool):
            text = f"{value:,}"
        else:
            text = str(value)
        rows.append([key, text])
    return rows


def llm_page(summary: dict, ops: pd.DataFrame, device, table: pd.DataFrame) -> tuple[str, list[Section]]:
    """(title, sections) of the LLM page from ``llm_inference``'s summary and per-op table, the
    device and the batch x context :func:`grid`."""
    what = f"{summary['model']} on {summary['hw']}, prompt {summary['prompt']:,}, {summary['generate']:,} generated, " \
           f"batch {summary['batch']}"
    sections = [
        Section("Summary", summary.get("conventions", ""), table=summary_rows(
            {k: v for k, v in summary.items() if k != "conventions"})),
        Section("Per-op roofline", "Each marker is an op (prefill: the whole prompt; decode: the mean step), "
                "coloured by phase, shaped by kind; the buttons show one phase.",
                figures=[op_roofline(ops, device, f"Per-op roofline: {esc(what)}"), time_split(ops)]),
        Section("Batch and context", "Each point reruns the model on the same device with one decode step at that "
                f"context; the slider picks the batch (contexts {', '.join(f'{c:,}' for c in sorted(table['context'].unique()))}).",
                figures=[tpot_figure(table, int(summary["batch"]) if summary["batch"] in set(table["batch"])
                                     else int(table["batch"].min())),
                         throughput_figure(table), kv_figure(table), energy_figure(table)]),
    ]
    return f"accelsim llm: {what}", sections


def write_llm_report(path, summary: dict, ops: pd.DataFrame, model, hw, dataflow, options, progress=None) -> str:
    """Compute the batch x context grid, build the page and write it to ``path``; returns the page."""
    from pathlib import Path

    from .. import spec
    from ..errors import AccelsimError
    from .html import render
    device = hw if not isinstance(hw, str) else spec.load("hw", hw)
    batches, contexts = default_axes(int(summary["batch"]), int(summary["context_len"]))
    from ..llm.lower import resolve_llm_config
    cfg = resolve_llm_config(model)
    if cfg.position_embedding == "learned" and cfg.max_position and not cfg.patch_size:
        contexts = [c for c in contexts if c <= cfg.max_position]     # no position rows beyond (check_positions)
    table = grid(model, device, options, dataflow, batches, contexts, progress=progress)
    title, sections = llm_page(summary, ops, device, table)
    page = render(title, f"accelsim llm --model {model} --hw {getattr(device, 'name', hw)}", sections)
    try:
        Path(path).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise AccelsimError(f"{path}: cannot write the report ({exc.strerror}); choose another --report") from None
    return page
