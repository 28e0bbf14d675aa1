"""``accelsim compare``: runs or sweep points side by side.

Each input is a run folder (``accelsim run --out DIR``: layers.csv + manifest.json; a PE-array hw,
or an architecture tree or a GPU device brought to the same columns by compare_kinds.py) or one
point of a sweep folder, written ``SWEEP_DIR:POINT``. The first input is the baseline; every other one is
compared with it: totals, per-layer deltas (cycles, energy by level, DRAM bytes) matched by layer
name (a name that repeats is matched by its occurrence: the second ``conv`` with the second), and
the inputs that differ (files by content hash, options by value).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..errors import AccelsimError
from . import units
from .figures import LEVEL_COLORS, LEVELS, _level_columns, esc, scale_menu
from .html import Section

#: Per-layer quantities compared: (column, label, kind for units.pick or None for counts).
DELTA_METRICS = (("total_cycles", "total cycles", None), ("energy_pj", "energy", "energy_pj"),
                 ("dram_bytes", "DRAM traffic", "bytes"))
#: Compared per layer too when a tree or GPU run is in the comparison (the PE-array page keeps its three).
UTILIZATION = "pe_utilization"
RUN_COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d")


@dataclass
class Compared:
    """One side of the comparison: a label, its per-layer table and what produced it."""

    label: str
    layers: pd.DataFrame
    inputs: dict          # name -> value (options) or content hash (files)
    kind: str = "array"   # "array" (PE-array hw or sweep point), "tree" or "gpu" (compare_kinds.py)
    levels: pd.DataFrame | None = None   # energy_pj_<level> per layer row; None: the PE array's LEVELS
    lacks: tuple = ()     # what this run cannot give (its cells stay empty)

    def energy_levels(self) -> pd.DataFrame:
        return _energy_levels(self.layers) if self.levels is None else self.levels


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccelsimError(f"{path}: missing; compare needs the manifest the run or sweep wrote") from None
    except (OSError, ValueError) as exc:
        raise AccelsimError(f"{path}: not readable JSON ({exc})") from None


def load(arg: str) -> Compared:
    """A run folder, or ``SWEEP_DIR:POINT`` for one point of a sweep."""
    from .build import read_table
    path = Path(arg)
    if (path / "layers.csv").is_file():
        manifest = _read_json(path / "manifest.json")
        inputs = {f"option {k}": v for k, v in manifest.get("options", {}).items() if v is not None}
        try:
            from .build import run_hardware
            hw = run_hardware(path, manifest)
            bw = hw.dram_bandwidth_bytes_per_cycle
            inputs.update({"option array": f"{hw.array_rows}x{hw.array_cols}",
                           "option sram_kb": "/".join(f"{b.size_bytes / 1024:g}" for b in
                                                      (hw.sram_ifmap, hw.sram_filter, hw.sram_ofmap)),
                           "option dram_bw": "unlimited" if not np.isfinite(bw) else f"{bw:g}"})
        except (AccelsimError, AttributeError):   # a roofline device or an older manifest: its options only
            pass
        inputs.update({f"{role} file": f"{Path(rec.get('path', '?')).name} (sha256 {rec.get('sha256', '?')[:12]})"
                       for role, rec in manifest.get("inputs", {}).items()})
        layers = read_table(path / "layers.csv")
        label = path.name or str(path)
        missing = [c for c in ("total_cycles", "latency_us", "dram_bytes") if c not in layers]
        if missing:
            from . import compare_kinds
            kind = ("gpu" if "time_s" in layers and "dram_bytes" in layers else
                    "tree" if "binding_level" in layers and "total_cycles" in layers else None)
            if kind:
                layers, levels, lacks = (compare_kinds.gpu_run(path, layers) if kind == "gpu" else
                                         compare_kinds.tree_run(path, layers, manifest))
                return Compared(label, layers, inputs, kind, levels, tuple(lacks))
            raise AccelsimError(f"{path / 'layers.csv'}: not a run accelsim wrote; it has no {', '.join(missing)}: "
                                "compare takes run folders of `accelsim run --out` and sweep points")
        return Compared(label, layers, inputs)
    folder, sep, point = arg.rpartition(":")
    if sep and (Path(folder) / "points.parquet").is_file():
        try:
            number = int(point)
        except ValueError:
            raise AccelsimError(f"{arg}: the sweep point must be a number, as in {folder}:0") from None
        rows = read_table(Path(folder) / "results.parquet", filters=[("point", "=", number)])
        if rows.empty:
            points = read_table(Path(folder) / "points.parquet", columns=["point"])
            raise AccelsimError(f"{arg}: no point {number} in {folder} (points {points['point'].min()}.."
                                f"{points['point'].max()})")
        first = rows.iloc[0]
        if isinstance(first.get("error"), str):
            raise AccelsimError(f"{arg}: point {number} failed in the sweep: {first['error']}")
        manifest = _read_json(Path(folder) / "manifest.json")
        bw = first["dram_bandwidth_bytes_per_cycle"]
        inputs = {"option hw": first["hw"], "option workload": first["workload"], "option dataflow": first["dataflow"],
                  "option array": f"{first['array_rows']}x{first['array_cols']}",
                  "option sram_kb": f"{first['sram_ifmap_kib']:g}/{first['sram_filter_kib']:g}/{first['sram_ofmap_kib']:g}",
                  "option dram_bw": "unlimited" if not np.isfinite(bw) else f"{bw:g}",
                  "option timing": first.get("timing"), "option energy_table": first.get("energy_table"),
                  "option fidelity": first.get("fidelity", "analytical")}
        for role, rec in manifest.get("inputs", {}).items():
            kind, _, name = role.partition(":")
            if name in (first["hw"], first["workload"], first["dataflow"], first.get("energy_table")):
                inputs[f"{'energy_table' if kind == 'energy' else kind} file"] = f"{Path(rec.get('path', '?')).name} (sha256 {rec.get('sha256', '?')[:12]})"
        return Compared(f"{Path(folder).name}:{number}", rows.reset_index(drop=True), inputs)
    raise AccelsimError(f"{arg}: not a run folder (no layers.csv) or SWEEP_DIR:POINT of a sweep folder "
                        "(points.parquet); make one with `accelsim run --out DIR` or `accelsim sweep --out DIR`")


def _keys(layers: pd.DataFrame) -> list[str]:
    """Layer names, a repeated name numbered by occurrence (``conv``, ``conv #2``)."""
    seen: dict[str, int] = {}
    out = []
    for name in layers["layer"].astype(str):
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return out


def _energy_levels(layers: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({f"energy_pj_{level}": layers[[c for c in _level_columns(level) if c in layers]].sum(axis=1)
                         for level in LEVELS})


def deltas(runs: list[Compared]) -> pd.DataFrame:
    """Tidy per-layer deltas against the first run: one row per (run, layer, metric) with the
    baseline's and the run's value, ``delta = value - baseline`` and ``delta_pct``; a layer that
    only one side has carries NaN on the other."""
    base = runs[0]
    named = [m for m, _, _ in DELTA_METRICS] + ([UTILIZATION] if any(r.kind != "array" for r in runs) else [])

    def table(run):
        layers = run.layers.reindex(columns=named).reset_index(drop=True)   # a run without utilization: NaN
        frame = pd.concat([layers, run.energy_levels().reset_index(drop=True)], axis=1)
        return frame.set_index(pd.Index(_keys(run.layers), name="layer"))

    left = table(base)
    rows = []
    for run in runs[1:]:
        right = table(run)
        metrics = named + [c for c in left.columns[len(named):] if c in right]
        order = list(left.index) + [k for k in right.index if k not in left.index]
        a, b = left.reindex(order), right.reindex(order)
        for metric in metrics:
            with np.errstate(divide="ignore", invalid="ignore"):
                pct = np.where(a[metric] != 0, 100 * (b[metric] - a[metric]) / a[metric], np.nan)
            rows.append(pd.DataFrame({"baseline": base.label, "run": run.label, "layer": order, "metric": metric,
                                      "baseline_value": a[metric].to_numpy(), "value": b[metric].to_numpy(),
                                      "delta": (b[metric] - a[metric]).to_numpy(), "delta_pct": pct}))
    return pd.concat(rows, ignore_index=True)


def differing_inputs(runs: list[Compared]) -> list[list[str]]:
    """Rows (input, value per run) of every input whose value is not the same in all runs."""
    names = list(dict.fromkeys(k for run in runs for k in run.inputs))
    rows = []
    for name in names:
        values = [str(run.inputs.get(name, "-")) for run in runs]
        if len(set(values)) > 1:
            rows.append([name] + values)
    return rows


def _totals(runs: list[Compared]) -> pd.DataFrame:
    out = []
    for run in runs:
        layers = run.layers
        if run.kind == "array":
            energy = run.energy_levels().sum()
            out.append({"run": run.label, "layers": len(layers), "macs": int(layers["macs"].sum()),
                        "total_cycles": int(layers["total_cycles"].sum()), "latency_us": float(layers["latency_us"].sum()),
                        "energy_pj": float(layers["energy_pj"].sum()) if "energy_pj" in layers else float("nan"),
                        "dram_bytes": int(layers["dram_bytes"].sum()), **energy.to_dict()})
            continue
        energy = run.energy_levels().sum(min_count=1)     # a level none of the layers price: NaN, not 0
        out.append({"run": run.label, "layers": len(layers), "macs": int(layers["macs"].sum()),
                    **{c: float(layers[c].sum(min_count=1)) for c in ("total_cycles", "latency_us", "energy_pj",
                                                                      "dram_bytes")}, **energy.to_dict()})
    frame = pd.DataFrame(out)
    if any(run.kind != "array" for run in runs):
        frame["pe_utilization"] = [_utilization(run.layers) for run in runs]
    return frame


def _utilization(layers: pd.DataFrame) -> float:
    """The run's PE utilization: each layer's weighted by its cycles (= MACs / (PEs x cycles) over the
    run when each layer's is MACs / (PEs x its cycles)); NaN for a run without cycles."""
    cycles = layers["total_cycles"].astype(float)
    util = layers["pe_utilization"].astype(float) if "pe_utilization" in layers else cycles * np.nan
    used = util.notna() & (cycles > 0)
    return float((util[used] * cycles[used]).sum() / cycles[used].sum()) if used.any() else float("nan")


def _levels_of(runs: list[Compared]) -> list[str]:
    """Energy levels in the order the runs name them (the PE array's LEVELS for such runs)."""
    names = dict.fromkeys(c for run in runs for c in run.energy_levels().columns)
    return [c.removeprefix("energy_pj_") for c in names]


def totals_figure(totals: pd.DataFrame, levels=LEVELS) -> go.Figure:
    """Energy by level stacked per run (left), and latency (right) per run."""
    from plotly.subplots import make_subplots
    e = units.pick("energy_pj", totals["energy_pj"])
    t = units.pick("time_us", totals["latency_us"])
    labels = [esc(r) for r in totals["run"]]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=("energy by level", "latency"))
    for i, level in enumerate(levels):
        color = LEVEL_COLORS.get(level, RUN_COLORS[i % len(RUN_COLORS)])
        fig.add_trace(go.Bar(x=labels, y=e(totals[f"energy_pj_{level}"]), name=esc(level), marker_color=color,
                             hovertemplate=f"%{{x}}<br>{esc(level)}: %{{y:.4g}} {e.name}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=labels, y=t(totals["latency_us"]), name="latency", marker_color="#555", showlegend=False,
                         hovertemplate=f"%{{x}}<br>latency %{{y:.4g}} {t.name}<extra></extra>"), row=1, col=2)
    fig.update_layout(barmode="stack", title="Totals: energy by level and latency", margin=dict(t=120),
                      updatemenus=[scale_menu(("yaxis", "yaxis2"), y=1.1)])
    fig.update_yaxes(title_text=f"energy ({e.name})", row=1, col=1)
    fig.update_yaxes(title_text=f"latency ({t.name})", row=1, col=2)
    return units.style(fig)


def delta_figure(table: pd.DataFrame, metrics: list[tuple[str, str]], title: str) -> go.Figure:
    """Per layer, each run's change against the baseline in percent (bars), with both absolute
    values in the hover; with several (metric, label) pairs a dropdown picks the one shown."""
    fig = go.Figure()
    base = esc(table["baseline"].iloc[0])
    owner = []
    for m, (metric, label) in enumerate(metrics):
        part = table[table["metric"] == metric]
        kind = dict((k, u) for k, _, u in DELTA_METRICS).get(metric, None if metric == UTILIZATION else "energy_pj")
        unit = units.pick(kind, part[["baseline_value", "value"]].to_numpy()) if kind else None

        def text(v):
            return f"{100 * v:.2f}%" if metric == UTILIZATION else units.fmt(v, unit) if unit else f"{v:,.0f}"
        for i, (run, rows) in enumerate(part.groupby("run", sort=False)):
            custom = np.stack([[text(v) for v in rows["baseline_value"]], [text(v) for v in rows["value"]]], axis=-1)
            fig.add_trace(go.Bar(x=[esc(k) for k in rows["layer"]], y=rows["delta_pct"], name=esc(run), visible=m == 0,
                                 marker_color=RUN_COLORS[(i + 1) % len(RUN_COLORS)], customdata=custom,
                                 legendgroup=esc(run), showlegend=True,
                                 hovertemplate=f"%{{x}} ({esc(run)})<br>{label}: %{{customdata[0]}} -> "
                                               "%{customdata[1]}<br>change %{y:+.2f}%<extra></extra>"))
            owner.append(m)
    menus = []
    if len(metrics) > 1:
        menus.append(dict(type="dropdown", x=0.0, y=1.03, xanchor="left", yanchor="bottom", active=0,
                          buttons=[dict(label=label, method="update",
                                        args=[{"visible": [o == m for o in owner]},
                                              {"title.text": f"{label} per layer: change against {base}"}])
                                   for m, (_, label) in enumerate(metrics)]))
    fig.update_layout(title=f"{metrics[0][1]} per layer: change against {base}", barmode="group",
                      yaxis_title=f"{title} change against {base} (%)", xaxis_title="layer", updatemenus=menus,
                      margin=dict(t=90))
    return units.style(fig)


def _level_delta_figures(table: pd.DataFrame, mixed: bool) -> list[go.Figure]:
    """The energy-by-level delta chart: the PE array's levels, or for tree and GPU runs each level
    that the baseline and a run both name (none: no chart)."""
    if not mixed:
        return [delta_figure(table, [(f"energy_pj_{level}", f"{level} energy")
                                     for level in ("dram", "sram", "noc", "rf", "mac", "vector")], "energy by level")]
    shared = [m for m in dict.fromkeys(table["metric"]) if m.startswith("energy_pj_")]
    return [delta_figure(table, [(m, f"{m.removeprefix('energy_pj_')} energy") for m in shared],
                         "energy by level")] if shared else []


def compare_page(args: list[str]) -> tuple[str, list[Section], pd.DataFrame]:
    """(title, sections, tidy deltas) for the runs named in ``args`` (the first is the baseline)."""
    if len(args) < 2:
        raise AccelsimError("compare needs at least two runs or sweep points (RUN_A RUN_B ...)")
    runs = [load(a) for a in args]
    labels = [r.label for r in runs]
    for i, label in enumerate(labels):      # two folders with one name: use the path
        if labels.count(label) > 1:
            runs[i].label = args[i]
    totals = _totals(runs)
    table = deltas(runs)
    e = units.pick("energy_pj", totals["energy_pj"])
    t = units.pick("time_us", totals["latency_us"])
    b = units.pick("bytes", totals["dram_bytes"])
    base = totals.iloc[0]

    def change(value, ref):
        return "" if ref == 0 or not np.isfinite(ref) else f" ({100 * (value - ref) / ref:+.1f}%)"

    mixed = any(run.kind != "array" for run in runs)

    def cell(value, text):          # a run that cannot give a quantity: an empty cell (named in the note)
        return "" if mixed and not np.isfinite(value) else text

    summary = [["run", "layers", "MACs", "total cycles", f"latency ({t.name})", f"energy ({e.name})",
                f"DRAM ({b.name})"] + (["PE utilization"] if mixed else [])]
    for r in totals.itertuples():
        cycles = f"{int(r.total_cycles):,}" if mixed and np.isfinite(r.total_cycles) else f"{r.total_cycles:,}"
        summary.append([r.run, r.layers, f"{r.macs:,}", cell(r.total_cycles, f"{cycles}{change(r.total_cycles, base.total_cycles)}"),
                        cell(r.latency_us, f"{t(r.latency_us):.4g}{change(r.latency_us, base.latency_us)}"),
                        cell(r.energy_pj, f"{e(r.energy_pj):.4g}{change(r.energy_pj, base.energy_pj)}"),
                        cell(r.dram_bytes, f"{b(r.dram_bytes):.4g}{change(r.dram_bytes, base.dram_bytes)}")]
                       + ([cell(r.pe_utilization, f"{100 * r.pe_utilization:.2f}%")] if mixed else []))
    differ = differing_inputs(runs)
    note = f"Baseline: {runs[0].label}; changes in parentheses are against it."
    if mixed:
        note += (" DRAM is each run's outermost memory (a GPU's HBM); an architecture tree's energy is its levels' "
                 "energy summed, its energy by level named as in its hw file; PE utilization is each layer's "
                 "weighted by its cycles. " + " ".join(f"{run.label} has no {'; no '.join(run.lacks)}: left empty."
                                                       for run in runs if run.lacks))
        for run in runs:        # a tree's layers without MACs have zero rows (accelsim run says so)
            zero = int((run.layers["macs"] == 0).sum()) if run.kind == "tree" and "macs" in run.layers else 0
            if zero and any(other.kind != "tree" for other in runs):
                note += (f" {run.label}: {zero:,} layer{'s' if zero > 1 else ''} without MACs "
                         f"{'are' if zero > 1 else 'is'} zero (an architecture tree has no vector unit yet), so its "
                         "totals count its MAC layers only.")
    levels = _levels_of(runs) if mixed else LEVELS
    sections = [Section("Totals", note, table=summary, figures=[totals_figure(totals, levels)]),
                Section("Inputs that differ", "" if differ else "None: every input file and option is the same.",
                        table=[["input"] + [r.label for r in runs]] + differ if differ else None)]
    only = []
    for run in runs[1:]:
        a, bb = set(_keys(runs[0].layers)), set(_keys(run.layers))
        if a - bb or bb - a:
            only.append(f"{run.label}: {len(bb - a)} layers not in the baseline, {len(a - bb)} baseline layers missing")
    sections.append(Section("Per-layer deltas", "Layers matched by name (a repeated name by occurrence). "
                            + ("; ".join(only) if only else "Every layer is in every run."),
                            figures=[delta_figure(table, [(m, label)], label) for m, label, _ in DELTA_METRICS]
                            + ([delta_figure(table, [(UTILIZATION, "PE utilization")], "PE utilization")] if mixed else [])
                            + _level_delta_figures(table, mixed)))
    worst = table[table["metric"] == "total_cycles"].dropna(subset=["delta"])
    worst = worst.reindex(worst["delta"].abs().sort_values(ascending=False).index).head(30)
    rows = [["run", "layer", "baseline cycles", "cycles", "change"]]
    rows += [[r.run, r.layer, f"{r.baseline_value:,.0f}", f"{r.value:,.0f}",
              "" if not np.isfinite(r.delta_pct) else f"{r.delta_pct:+.2f}%"] for r in worst.itertuples()]
    sections.append(Section("Largest cycle changes", "Up to 30 layers, largest absolute change first.", table=rows))
    return f"accelsim compare: {' vs '.join(r.label for r in runs)}", sections, table
