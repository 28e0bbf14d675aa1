"""Dashboard figures: each function takes a results DataFrame and returns a plotly Figure.

The per-layer figures take the table of ``accelsim run`` (or one point of a sweep); the sweep
figures take the per-point totals of ``accelsim sweep`` (points.parquet). Text that comes from the
user (layer and workload names) is HTML-escaped before it reaches plotly, whose labels accept a
little HTML (``<b>``, ``<br>``): a layer named ``<b>x</b>`` is shown as typed.
"""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..energy import OPERANDS
from . import units

LEVELS = ("mac", "rf", "noc", "sram", "dram", "vector")
LEVEL_COLORS = {"mac": "#4c78a8", "rf": "#72b7b2", "noc": "#54a24b", "sram": "#eeca3b", "dram": "#e45756",
                "vector": "#9d755d"}
OPERAND_COLORS = {"mac": "#4c78a8", "ifmap": "#f58518", "filter": "#54a24b", "ofmap": "#b279a2",
                  "vector": "#9d755d"}
#: Energy columns that belong to no operand (accelsim/energy.py): the MACs and the vector unit.
_SINGLE = {"mac": "energy_pj_mac", "vector": "energy_pj_vector"}
LATENCY_PARTS = (
    ("streaming", "compute (streaming)", "#4c78a8"),
    ("fill_drain_cycles", "fill/drain", "#9ecae9"),
    ("stall_load_cycles", "stall: first load", "#e45756"),
    ("stall_bandwidth_cycles", "stall: DRAM bandwidth", "#ff9d98"),
    ("stall_writeback_cycles", "stall: last write-back", "#f58518"),
    ("stall_sram_bandwidth_cycles", "stall: SRAM bandwidth", "#eeca3b"),
    ("stall_noc_bandwidth_cycles", "stall: NoC bandwidth", "#bab0ac"),
    ("stall_rf_bandwidth_cycles", "stall: RF bandwidth", "#d67195"),
)
DOMINATED_GREY = "#c8c8c8"


def esc(text) -> str:
    """A user string as plotly label text: HTML-escaped, so tags show as typed."""
    return html.escape(str(text), quote=False)


def _layer_labels(layers: pd.DataFrame) -> list[str]:
    """Unique category labels for the layers (a repeated name gets its row number)."""
    names = [esc(n) for n in layers["layer"]]
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if names.count(name) == 1 else f"{name} #{seen[name]}")
    return out


def _with_total(title: str, y_title: str):
    fig = make_subplots(rows=1, cols=2, column_widths=[0.86, 0.14], horizontal_spacing=0.04,
                        subplot_titles=("per layer", "total"))
    fig.update_layout(barmode="stack", title=title, legend_traceorder="normal", margin=dict(t=120))
    fig.update_yaxes(title_text=y_title, row=1, col=1)
    fig.update_yaxes(title_text=y_title, row=1, col=2)
    return fig


def scale_menu(axes=("yaxis",), start: str = "linear", x: float = 1.0, y: float = 1.03) -> dict:
    """A plotly updatemenu (two buttons) switching ``axes`` between linear and log scale."""
    other = "log" if start == "linear" else "linear"
    return dict(type="buttons", direction="right", x=x, y=y, xanchor="right", yanchor="bottom", showactive=True,
                active=0, buttons=[dict(label=mode, method="relayout", args=[{f"{a}.type": mode for a in axes}])
                                   for mode in (start, other)])


def view_menu(views: list[tuple[str, list[bool], dict]], x: float = 0.0, y: float = 1.03) -> dict:
    """A plotly updatemenu: one button per (label, trace visibility, layout changes) view."""
    return dict(type="buttons", direction="right", x=x, y=y, xanchor="left", yanchor="bottom", showactive=True,
                active=0, buttons=[dict(label=label, method="update", args=[{"visible": visible}, layout])
                                   for label, visible, layout in views])


def roofline(layers: pd.DataFrame, peak_macs_per_cycle: float, dram_bytes_per_cycle: float,
             title: str = "Roofline") -> go.Figure:
    """Williams, Waterman & Patterson's roofline (CACM 2009) in MACs: x = arithmetic intensity
    (MACs per DRAM byte), y = achieved MACs per cycle (MACs / total cycles). Roofs: the array's
    peak (one MAC per PE per cycle) and intensity x DRAM bytes per cycle; left of the ridge point
    (peak / bandwidth) a layer is memory-bound, right of it compute-bound."""
    data = layers[np.isfinite(layers["arithmetic_intensity_macs_per_byte"])
                  & (layers["arithmetic_intensity_macs_per_byte"] > 0)
                  & (layers["achieved_macs_per_cycle"] > 0)]
    ai = data["arithmetic_intensity_macs_per_byte"].to_numpy(dtype=float)
    lo = min(ai.min() / 4, 0.1) if len(ai) else 0.1
    hi = max(ai.max() * 4, 10.0) if len(ai) else 1e3
    finite_bw = bool(np.isfinite(dram_bytes_per_cycle))
    ridge = peak_macs_per_cycle / dram_bytes_per_cycle if finite_bw else None
    if finite_bw:
        lo, hi = min(lo, ridge / 4), max(hi, ridge * 4)
    fig = go.Figure()
    ymin = max(min(data["achieved_macs_per_cycle"].min() / 4, lo * (dram_bytes_per_cycle if finite_bw else 1)), 1e-3) \
        if len(data) else 1e-3
    ytop = peak_macs_per_cycle * 3
    if finite_bw:
        fig.add_shape(type="rect", x0=lo, x1=ridge, y0=ymin, y1=ytop, fillcolor="#dbe9f6", opacity=0.6,
                      line_width=0, layer="below")
        fig.add_annotation(x=np.log10(np.sqrt(lo * ridge)), y=np.log10(ytop / 1.6), text="memory-bound",
                           showarrow=False, font=dict(color="#3a6ea5"))
    start = ridge if finite_bw else lo
    fig.add_shape(type="rect", x0=start, x1=hi, y0=ymin, y1=ytop, fillcolor="#fde6d2", opacity=0.6,
                  line_width=0, layer="below")
    fig.add_annotation(x=np.log10(np.sqrt(start * hi)), y=np.log10(ytop / 1.6), text="compute-bound",
                       showarrow=False, font=dict(color="#b35806"))
    xs = np.geomspace(lo, hi, 200)
    roof = np.minimum(peak_macs_per_cycle, xs * dram_bytes_per_cycle) if finite_bw else np.full_like(xs, peak_macs_per_cycle)
    bw_text = f"{dram_bytes_per_cycle:g} B/cycle" if finite_bw else "unlimited"
    fig.add_trace(go.Scatter(x=xs, y=roof, mode="lines", line=dict(color="black", width=2),
                             name=f"roof: {peak_macs_per_cycle:,.0f} MACs/cycle, DRAM {bw_text}", hoverinfo="skip"))
    labels = _layer_labels(layers)
    label_of = dict(zip(layers.index, labels))
    for kind, group in data.groupby("layer_type", sort=True):
        bound = np.where(group["arithmetic_intensity_macs_per_byte"] < ridge, "memory", "compute") if finite_bw \
            else np.full(len(group), "compute")
        custom = np.stack([[label_of[i] for i in group.index], group["macs"].map("{:,}".format),
                           group["total_cycles"].map("{:,}".format), (100 * group["pe_utilization"]).map("{:.1f}%".format),
                           group["dram_bytes"].map("{:,}".format), bound,
                           group["attainable_macs_per_cycle"].map("{:,.1f}".format)], axis=-1)
        fig.add_trace(go.Scatter(
            x=group["arithmetic_intensity_macs_per_byte"], y=group["achieved_macs_per_cycle"], mode="markers",
            name=esc(kind), marker=dict(size=np.clip(np.sqrt(group["macs"] / group["macs"].max()) * 22, 6, 22),
                                        line=dict(width=1, color="white")),
            customdata=custom,
            hovertemplate=("<b>%{customdata[0]}</b><br>intensity %{x:.3g} MACs/B<br>achieved %{y:.4g} MACs/cycle"
                           " (attainable %{customdata[6]})<br>MACs %{customdata[1]}<br>cycles %{customdata[2]}"
                           "<br>PE utilization %{customdata[3]}<br>DRAM %{customdata[4]} B<br>%{customdata[5]}-bound"
                           "<extra></extra>")))
    fig.update_xaxes(type="log", title="arithmetic intensity (MACs per DRAM byte)", range=[np.log10(lo), np.log10(hi)])
    fig.update_yaxes(type="log", title="achieved MACs per cycle", range=[np.log10(ymin), np.log10(ytop)])
    fig.update_layout(title=title, legend=dict(orientation="h", y=-0.2), plot_bgcolor="white")
    fig.update_xaxes(gridcolor="#e6e6e6")
    fig.update_yaxes(gridcolor="#e6e6e6")
    return units.style(fig)


def _energy_stacks(layers: pd.DataFrame, title: str, parts, colors: dict, by_level: bool = False) -> go.Figure:
    """Stacked energy per layer and in total, one trace pair per (name, energy columns) of
    ``parts``, in the unit that suits the total (uJ, mJ, ...); log/linear buttons. With
    ``by_level``, a second view (buttons "per layer" / "per level") stacks each memory level's
    total by operand."""
    present = [(name, [c for c in cols if c in layers]) for name, cols in parts]
    unit = units.pick("energy_pj", [layers[[c for _, cols in present for c in cols]].to_numpy(dtype=float).sum()])
    fig = _with_total(title, f"energy ({unit.name})")
    fig.layout.meta = {"energy_unit": unit.name, "energy_factor_pj": unit.factor}
    labels = _layer_labels(layers)
    for name, cols in present:
        values = unit(layers[cols].sum(axis=1))
        fig.add_trace(go.Bar(x=labels, y=values, name=name, marker_color=colors[name], legendgroup=name,
                             hovertemplate=f"%{{x}}<br>{name}: %{{y:.4g}} {unit.name}<extra></extra>"), row=1, col=1)
        fig.add_trace(go.Bar(x=["total"], y=[values.sum()], name=name, marker_color=colors[name],
                             legendgroup=name, showlegend=False,
                             hovertemplate=f"total {name}: %{{y:.4g}} {unit.name}<extra></extra>"), row=1, col=2)
    menus = [scale_menu(("yaxis", "yaxis2", "yaxis3"), y=1.1)]
    if by_level:
        per_layer = len(fig.data)
        level_names = [level for level in LEVELS if any(c in layers for c in _level_columns(level))]
        for part in ("mac",) + OPERANDS + ("vector",):
            values = [float(unit(layers[col].sum())) if col in layers else 0.0
                      for col in (_part_column(level, part) for level in level_names)]
            fig.add_trace(go.Bar(x=level_names, y=values, name=part, marker_color=OPERAND_COLORS[part], visible=False,
                                 xaxis="x3", yaxis="y3", legendgroup="op_" + part,
                                 hovertemplate=f"%{{x}} {part}: %{{y:.4g}} {unit.name}<extra></extra>"))
        fig.update_layout(xaxis3=dict(overlaying="x", anchor="y3", visible=False, title="memory level"),
                          yaxis3=dict(overlaying="y", anchor="x3", visible=False,
                                      title=f"energy ({unit.name})"))
        n = len(fig.data)
        hide = {f"{a}.visible": False for a in ("xaxis", "yaxis", "xaxis2", "yaxis2")}
        show = {f"{a}.visible": True for a in ("xaxis", "yaxis", "xaxis2", "yaxis2")}
        notes = {f"annotations[{i}].visible": True for i in range(2)}
        menus.append(view_menu(y=1.1, views=[
            ("per layer", [i < per_layer for i in range(n)], {**show, **notes, "xaxis3.visible": False, "yaxis3.visible": False}),
            ("per level", [i >= per_layer for i in range(n)],
             {**hide, **{k: False for k in notes}, "xaxis3.visible": True, "yaxis3.visible": True})]))
    fig.update_layout(updatemenus=menus)
    return units.style(fig)


def _part_column(level: str, part: str) -> str:
    """The energy column of one (memory level, operand) pair; ``-`` where there is none."""
    if part in _SINGLE or level in _SINGLE:
        return _SINGLE[part] if part == level else "-"
    return f"energy_pj_{level}_{part}"


def _level_columns(level: str) -> list[str]:
    return [_SINGLE[level]] if level in _SINGLE else [f"energy_pj_{level}_{op}" for op in OPERANDS]


def energy_by_level(layers: pd.DataFrame, title: str = "Energy by level") -> go.Figure:
    """Stacked energy per layer and in total: MAC, register files, PE-to-PE, SRAM, DRAM, vector unit;
    a second view ("per level") stacks each level's network total by operand."""
    parts = [(level, _level_columns(level)) for level in LEVELS]
    return _energy_stacks(layers, title, parts, LEVEL_COLORS, by_level=True)


def energy_by_operand(layers: pd.DataFrame, title: str = "Energy by operand") -> go.Figure:
    """Stacked energy per layer and in total: MACs, each operand over RF + NoC + SRAM + DRAM, the
    vector unit."""
    parts = [(part, [_SINGLE[part]] if part in _SINGLE else [f"energy_pj_{lv}_{part}" for lv in ("rf", "noc", "sram", "dram")])
             for part in ("mac",) + OPERANDS + ("vector",)]
    return _energy_stacks(layers, title, parts, OPERAND_COLORS)


def latency_breakdown(layers: pd.DataFrame, title: str = "Latency breakdown") -> go.Figure:
    """Stacked cycles per layer and in total: streaming compute (compute minus fill/drain), systolic
    fill/drain, and each kind of stall; the stack's height is total_cycles."""
    fig = _with_total(title, "cycles")
    labels = _layer_labels(layers)
    parts = layers.assign(streaming=layers["compute_cycles"] - layers["fill_drain_cycles"])
    for col, name, color in LATENCY_PARTS:
        if col not in parts:                # tables written before a stall kind existed
            continue
        values = parts[col]
        fig.add_trace(go.Bar(x=labels, y=values, name=name, marker_color=color, legendgroup=col,
                             hovertemplate=f"%{{x}}<br>{name}: %{{y:,}} cycles<extra></extra>"), row=1, col=1)
        fig.add_trace(go.Bar(x=["total"], y=[int(values.sum())], name=name, marker_color=color, legendgroup=col,
                             showlegend=False, hovertemplate=f"total {name}: %{{y:,}} cycles<extra></extra>"),
                      row=1, col=2)
    fig.update_layout(updatemenus=[scale_menu(("yaxis", "yaxis2"), y=1.1)])
    return units.style(fig)


def utilization(layers: pd.DataFrame, title: str = "Utilization") -> go.Figure:
    """Per layer: PE utilization (MACs / (total cycles x PEs)), compute utilization (without
    stalls) and mapping efficiency (PEs holding work), in percent."""
    fig = go.Figure()
    labels = _layer_labels(layers)
    for col, name, color in (("pe_utilization", "PE utilization", "#4c78a8"),
                             ("compute_utilization", "compute utilization", "#72b7b2"),
                             ("mapping_efficiency", "mapping efficiency", "#eeca3b")):
        fig.add_trace(go.Bar(x=labels, y=100 * layers[col], name=name, marker_color=color,
                             hovertemplate=f"%{{x}}<br>{name}: %{{y:.2f}}%<extra></extra>"))
    fig.update_layout(barmode="group", title=title, yaxis=dict(title="utilization (%)", range=[0, 105]))
    return units.style(fig)


def _array_label(points: pd.DataFrame) -> pd.Series:
    return points["array_rows"].astype(str) + "x" + points["array_cols"].astype(str)


def sweep_heatmap(points: pd.DataFrame, metric: str, title: str, scale: str = "Viridis",
                  best: str = "min", log: bool = False) -> go.Figure:
    """Array size (rows, by PE count) x dataflow, coloured by ``metric`` of the point totals (on a
    log scale when ``log``), each cell labelled with its value; where other axes (SRAM, bandwidth,
    base hw) vary, each cell shows the best value over them and the title names those axes."""
    ok = points[points["error"].isna()].assign(array=_array_label(points))
    cell = ok.groupby(["array", "dataflow"], sort=False)[metric].agg(best).reset_index()
    order = ok.drop_duplicates("array").sort_values(["num_pes", "array_rows"])["array"].tolist()
    flows = list(dict.fromkeys(ok["dataflow"]))
    grid = cell.pivot(index="array", columns="dataflow", values=metric).reindex(index=order, columns=flows)
    values = grid.to_numpy(dtype=float)
    varied = [c for c in ("hw", "sram_ifmap_kib", "sram_filter_kib", "sram_ofmap_kib", "dram_bandwidth_bytes_per_cycle")
              if ok[c].nunique() > 1]
    note = f" (best over {', '.join(varied)})" if varied else ""
    colorbar = dict(title=esc(metric))
    color = values
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            color = np.log10(np.where(values > 0, values, np.nan))
        finite = color[np.isfinite(color)]
        if finite.size:
            ticks = np.arange(np.floor(finite.min()), np.ceil(finite.max()) + 1)
            colorbar.update(tickvals=ticks, ticktext=[f"{10 ** t:.0e}" for t in ticks])
    text = [[("" if not np.isfinite(v) else f"{v:.3g}") for v in row] for row in values]
    fig = go.Figure(go.Heatmap(z=color, x=[esc(f) for f in flows], y=order, colorscale=scale, colorbar=colorbar,
                               text=text, texttemplate="%{text}", customdata=values,
                               hovertemplate="array %{y}<br>dataflow %{x}<br>" + esc(metric)
                               + " %{customdata:.4g}<extra></extra>"))
    fig.update_layout(title=title + note, xaxis_title="dataflow", yaxis_title="array (rows x cols)")
    return units.style(fig)


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """True for the rows not dominated by any other (all columns minimised): no other row is <= in
    every column and < in one. Sorts by the first column, then keeps a running front."""
    values = np.asarray(values, dtype=float)
    order = np.lexsort(values.T[::-1])
    front: list[int] = []
    keep = np.zeros(len(values), dtype=bool)
    for i in order:
        v = values[i]
        if front:
            f = values[front]
            if np.any(np.all(f <= v, axis=1) & np.any(f < v, axis=1)):
                continue
        front.append(i)
        keep[i] = True
    return keep


def pareto(points: pd.DataFrame, title: str = "Pareto front", max_dominated: int = 5000) -> go.Figure:
    """Latency vs energy of every point; the points no other point beats in latency, energy and PE
    count together are coloured by PE count, dominated points are grey. Beyond ``max_dominated``
    dominated points, an evenly spaced sample of them is drawn (the title says so)."""
    ok = points[points["error"].isna()].reset_index(drop=True)
    ok = ok.assign(array=_array_label(ok))
    front = pareto_mask(ok[["latency_us", "energy_pj", "num_pes"]].to_numpy())
    dominated = ok[~front]
    sampled = ""
    if len(dominated) > max_dominated:
        dominated = dominated.iloc[np.linspace(0, len(dominated) - 1, max_dominated).astype(int)]
        sampled = f" ({max_dominated:,} of {int((~front).sum()):,} dominated points drawn)"

    t_unit, e_unit = units.pick("time_us", ok["latency_us"]), units.pick("energy_pj", ok["energy_pj"])

    def custom(frame):
        return np.array([[point, config, command] for point, config, command in
                         zip(frame["point"], point_configs(frame), frame.get("command", [""] * len(frame)))],
                        dtype=object).reshape(len(frame), 3)

    hover = (f"point %{{customdata[0]}}<br>%{{customdata[1]}}<br>latency %{{x:.4g}} {t_unit.name}"
             f"<br>energy %{{y:.4g}} {e_unit.name}<br>%{{customdata[2]}}<extra></extra>")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=t_unit(dominated["latency_us"]), y=e_unit(dominated["energy_pj"]), mode="markers",
                             name="dominated", marker=dict(color=DOMINATED_GREY, size=6), customdata=custom(dominated),
                             hovertemplate=hover))
    best = ok[front].sort_values("latency_us")
    fig.add_trace(go.Scatter(x=t_unit(best["latency_us"]), y=e_unit(best["energy_pj"]), mode="markers",
                             name="Pareto-optimal",
                             marker=dict(color=np.log2(best["num_pes"]), colorscale="Plasma", size=11,
                                         line=dict(width=1, color="black"),
                                         colorbar=dict(title="PEs", tickvals=np.arange(0, 21, 2),
                                                       ticktext=[f"{2**i:,}" for i in range(0, 21, 2)])),
                             customdata=custom(best), hovertemplate=hover))
    fig.update_xaxes(type="log", title=f"latency ({t_unit.name})")
    fig.update_yaxes(type="log", title=f"energy ({e_unit.name})")
    fig.update_layout(title=title + f": {int(front.sum())} of {len(ok):,} points optimal in (latency, energy, PEs)" + sampled,
                      legend=dict(orientation="h", y=-0.2), updatemenus=[scale_menu(("xaxis", "yaxis"), start="log")])
    return units.style(fig)


def point_configs(points: pd.DataFrame) -> list[str]:
    """Each sweep point's full configuration as one escaped line of label text."""
    out = []
    for r in points.itertuples():
        bw = r.dram_bandwidth_bytes_per_cycle
        workload = getattr(r, "workload", None)
        out.append(f"{esc(workload) + ' on ' if workload is not None else ''}{esc(r.hw)} {r.array_rows}x{r.array_cols} ({r.num_pes:,} PEs), dataflow "
                   f"{esc(r.dataflow)}, SRAM {r.sram_ifmap_kib:g}/{r.sram_filter_kib:g}/{r.sram_ofmap_kib:g} KiB, "
                   f"DRAM {'unlimited' if not np.isfinite(bw) else f'{bw:g} B/cycle'}, "
                   f"{esc(getattr(r, 'timing', ''))} timing, energy {esc(getattr(r, 'energy_table', ''))}")
    return out


GPU_PARTS = (("compute_s", "compute", "#4c78a8"), ("quantization_s", "(de)quantization", "#72b7b2"),
             ("memory_s", "memory", "#e45756"), ("overhead_s", "per-kernel overhead", "#eeca3b"),
             ("launch_s", "launch", "#bab0ac"), ("link_s", "link (collectives)", "#9d755d"))


def gpu_time_breakdown(layers: pd.DataFrame, title: str = "Time per layer on the GPU") -> go.Figure:
    """Stacked time per layer and in total of ``accelsim run`` on a GPU device: compute,
    (de)quantization, memory, per-kernel overhead and launch (the table's ``*_s`` columns, which
    add up to ``time_s``)."""
    present = [(c, n, k) for c, n, k in GPU_PARTS if c in layers]
    unit = units.pick("time_s", [layers["time_s"].sum()])
    fig = _with_total(title, f"time ({unit.name})")
    labels = _layer_labels(layers)
    for col, name, color in present:
        values = unit(layers[col])
        fig.add_trace(go.Bar(x=labels, y=values, name=name, marker_color=color, legendgroup=col,
                             hovertemplate=f"%{{x}}<br>{name}: %{{y:.4g}} {unit.name}<extra></extra>"), row=1, col=1)
        fig.add_trace(go.Bar(x=["total"], y=[values.sum()], name=name, marker_color=color, legendgroup=col,
                             showlegend=False, hovertemplate=f"total {name}: %{{y:.4g}} {unit.name}<extra></extra>"),
                      row=1, col=2)
    fig.update_layout(updatemenus=[scale_menu(("yaxis", "yaxis2"), y=1.1)])
    return units.style(fig)
