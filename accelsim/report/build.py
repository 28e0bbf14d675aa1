"""Read a run folder (``accelsim run --out``) or a sweep folder (``accelsim sweep``) and lay out
its dashboard: which figures, in which sections, with which roofs."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import yaml

from ..errors import AccelsimError, shown
from ..spec.hw import hardware_from_dict
from . import explorer, figures, units
from .html import Section, render


def _manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccelsimError(f"{path}: missing; the report needs the manifest the run or sweep wrote") from None
    except (OSError, ValueError) as exc:
        raise AccelsimError(f"{path}: not readable JSON ({exc})") from None


def _gpu_run(folder: Path) -> bool:
    """Whether ``folder`` holds an ``accelsim run`` on a GPU device (its mappings.yaml, when there is
    one, is its kernels' on the device's tree: accelsim/gpu/tree.py)."""
    return _manifest(folder).get("options", {}).get("engine") == "gpu kernels"


def read_table(path: Path, **kwargs) -> pd.DataFrame:
    """A result table (``.parquet`` or ``.csv``) that a run or sweep wrote; a missing or damaged
    one is a user error naming the file and how to rebuild it."""
    import pyarrow as pa
    try:
        return pd.read_parquet(path, **kwargs) if path.suffix == ".parquet" else pd.read_csv(path, **kwargs)
    except FileNotFoundError:
        raise AccelsimError(f"{path}: missing; the report needs the tables the run or sweep wrote") from None
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise AccelsimError(f"{path}: unreadable table ({shown(str(exc))}); rebuild it: the same `accelsim sweep` "
                            "with --resume (the finished parts are kept), or `accelsim run` with --force") from None


def _layer_sections(layers: pd.DataFrame, peak: float, bandwidth: float, what: str) -> list[Section]:
    bw = f"{bandwidth:g} B/cycle" if math.isfinite(bandwidth) else "unlimited"
    return [
        Section("Roofline", f"{what}: each marker is a layer (size ~ MACs). Roofs: {peak:,.0f} MACs/cycle "
                            f"(one per PE) and DRAM {bw}.",
                figures=[figures.roofline(layers, peak, bandwidth, title=f"Roofline: {figures.esc(what)}")]),
        Section("Energy", "Energy per layer and in total, by memory level and by operand; the buttons switch to "
                           "the per-level view (each level's total by operand) and to a log scale.",
                figures=[figures.energy_by_level(layers), figures.energy_by_operand(layers)]),
        Section("Latency", "Cycles per layer: streaming compute, systolic fill/drain, and stalls.",
                figures=[figures.latency_breakdown(layers)]),
        Section("Utilization", figures=[figures.utilization(layers)]),
    ]


def _array_hardware(data, file: str):
    """The PE array of a hw file's content: the shorthand, or a tree of its shape contracted."""
    from ..spec.arch import arch_from_dict, is_arch_tree
    from ..spec.arch_shorthand import contract
    return contract(arch_from_dict(data, file)) if is_arch_tree(data) else hardware_from_dict(data, file)


def tree_run_report(folder: Path) -> tuple[str, list[Section]]:
    """The page of ``accelsim run --mapping`` (an architecture tree under pinned mappings): summary,
    per-layer table, and the mapping view of every MAC layer, re-costed from the manifest's files
    and the folder's mappings.yaml by the same N-level engine."""
    from .. import spec
    from ..loopnest.tree import evaluate_tree, load_tree_mappings
    from ..spec.arch import arch_from_dict, is_arch_tree
    from ..spec.arch_shorthand import expand
    from ..spec.workload import workload_from_dict
    from .mapping_view import tree_sections
    manifest = _manifest(folder)
    layers = read_table(folder / "layers.csv")
    inputs = manifest.get("inputs", {})
    try:
        data = yaml.safe_load(inputs["hw"]["content"])
        if spec.is_gpu(data):      # a GPU device's tree (accelsim run --hw h200 --mapping)
            from ..spec.gpu import gpu_from_dict
            tree = gpu_from_dict(data, inputs["hw"].get("path", "hw")).tree
        else:
            tree = arch_from_dict(data, inputs["hw"].get("path", "hw")) if is_arch_tree(data) else \
                expand(hardware_from_dict(data, inputs["hw"].get("path", "hw")))
        workload = workload_from_dict(yaml.safe_load(inputs["workload"]["content"]), inputs["workload"].get("path", "w"))
    except (KeyError, TypeError, yaml.YAMLError):
        raise AccelsimError(f"{folder / 'manifest.json'}: inputs.hw or inputs.workload content is missing; rerun "
                            "accelsim run --mapping to rewrite the folder") from None
    try:
        text = (folder / "mappings.yaml").read_text(encoding="utf-8")
        mappings = load_tree_mappings(yaml.safe_load(text), tree, workload.layers, str(folder / "mappings.yaml"))
    except (OSError, yaml.YAMLError) as exc:
        raise AccelsimError(f"{folder / 'mappings.yaml'}: not readable ({exc}); rerun accelsim run --mapping") from None
    table = spec.energy_table_for(tree, manifest.get("options", {}).get("energy_table"))
    items = [(layer.name, mappings[layer.name], evaluate_tree(tree, layer, mappings[layer.name], table))
             for layer in workload.layers if layer.name in mappings]
    what = f"{workload.name} on {tree.name}, pinned mappings"
    e = units.pick("energy_pj", layers["energy_pj"]) if "energy_pj" in layers else None
    head = ["layer", "MACs", "compute cycles", "stall cycles", "total cycles", "binding level"] + \
        ([f"energy ({e.name})"] if e else [])
    rows = [head] + [[r["layer"], f"{int(r['macs']):,}", f"{int(r['compute_cycles']):,}", f"{int(r['stall_cycles']):,}",
                      f"{int(r['total_cycles']):,}", str(r.get("binding_level", "")) if r["macs"] else "-"]
                     + ([f"{e(r['energy_pj']):.4g}" if r["energy_pj"] == r["energy_pj"] else "-"] if e else [])
                     for _, r in layers.iterrows()]
    summary = [["workload", "hw (architecture tree)", "levels", "MACs", "total cycles"]
               + ([f"energy ({e.name})"] if e else []),
               [workload.name, tree.name, " > ".join(lv.name for lv in tree.levels), f"{int(layers['macs'].sum()):,}",
                f"{int(layers['total_cycles'].sum()):,}"]
               + ([f"{e(layers['energy_pj'].sum()):.4g}" if layers.loc[layers["macs"] > 0, "energy_pj"].notna().all()
                   else "-"] if e else [])]     # a GPU tree's unpriced levels: no total
    sections = [Section("Summary", f"{len(layers)} layers; {len(items)} with MACs mapped as mappings.yaml says.",
                        table=summary), Section("Layers", table=rows)]
    if items:
        sections += tree_sections(tree, items, what)
    return f"accelsim run: {what}", sections


def gpu_run_report(folder: Path, manifest: dict) -> tuple[str, list[Section]]:
    """The page of ``accelsim run`` on a GPU device: each layer as its kernels, where the time goes."""
    layers = read_table(folder / "layers.csv")
    options = manifest.get("options", {})
    what = f"{options.get('workload', '?')} on {options.get('hw', '?')} (GPU kernels)"
    t = units.pick("time_s", layers["time_s"])
    rows = [["layer", "kind", "GEMM m x n x k", "MACs", "kernels", f"time ({t.name})", "bound", "kernel detail"]]
    rows += [[r.layer, r.kind, f"{r.gemm_m} x {r.gemm_n} x {r.gemm_k}", f"{int(r.macs):,}", f"{int(r.kernels)}",
              f"{t(r.time_s):.4g}", r.bound, r.detail] for r in layers.itertuples()]
    summary = [["workload", "hw", "layers", "kernels", "MACs", f"time ({t.name})"],
               [options.get("workload", "?"), options.get("hw", "?"), f"{len(layers)}", f"{int(layers['kernels'].sum()):,}",
                f"{int(layers['macs'].sum()):,}", f"{t(layers['time_s'].sum()):.4g}"]]
    sections = [Section("Summary", table=summary),
                Section("Time", "Per layer and in total: compute, (de)quantization, memory, "
                                "per-kernel overhead and launch.", figures=[figures.gpu_time_breakdown(layers)]),
                Section("Layers", table=rows)]
    if (folder / "accesses.csv").is_file():     # the kernels on the device's tree (accelsim/gpu/tree.py)
        accesses = read_table(folder / "accesses.csv")
        totals = accesses.groupby(["level", "operand"], sort=False)[["reads", "writes"]].sum()
        sections.append(Section("Traffic per level", "Every GEMM kernel's configuration as a mapping of the "
                                "device's architecture tree, counted by the N-level engine (words, all MAC "
                                "layers; accesses.csv per layer).",
                                table=[["level", "operand", "reads", "writes"]]
                                + [[level, op, f"{int(r.reads):,}", f"{int(r.writes):,}"]
                                   for (level, op), r in totals.iterrows()]))
    return f"accelsim run: {what}", sections


def run_hardware(folder: Path, manifest: dict):
    """The Hardware a run simulated: its manifest's hw file with the run's --array/--sram-kb/--dram-bw."""
    hw_record = manifest.get("inputs", {}).get("hw", {})
    try:
        hw = _array_hardware(yaml.safe_load(hw_record["content"]), hw_record.get("path", "hw"))
    except (KeyError, TypeError, yaml.YAMLError):
        raise AccelsimError(f"{folder / 'manifest.json'}: inputs.hw.content is missing or not a hw file; "
                            "rerun accelsim run to rewrite the folder") from None
    options = manifest.get("options", {})
    if any(options.get(key) is not None for key in ("array", "sram_kb", "dram_bw")):
        from ..sweep.space import hw_variant
        hw = hw_variant(hw, options.get("array"), options.get("sram_kb"), options.get("dram_bw"))
    return hw


def run_report(folder: Path) -> tuple[str, list[Section]]:
    manifest = _manifest(folder)
    if manifest.get("options", {}).get("engine") == "gpu kernels":
        return gpu_run_report(folder, manifest)
    layers = read_table(folder / "layers.csv")
    hw = run_hardware(folder, manifest)
    totals = manifest.get("totals", {})
    first = layers.iloc[0]
    what = f"{first['workload']} on {first['hw']} ({first['dataflow']})"
    summary = [["workload", "hw", "dataflow", "array", "MACs", "total cycles", "latency (us)", "energy (uJ)", "PE utilization"],
               [first["workload"], first["hw"], first["dataflow"], f"{hw.array_rows}x{hw.array_cols}",
                f"{layers['macs'].sum():,}", f"{layers['total_cycles'].sum():,}", f"{layers['latency_us'].sum():.4g}",
                f"{layers['energy_pj'].sum() / 1e6:.4g}" if "energy_pj" in layers else "",
                f"{100 * totals['pe_utilization']:.1f}%" if "pe_utilization" in totals else ""]]
    sections = [Section("Summary", f"{len(layers)} layers.", table=summary)]
    sections += _layer_sections(layers, hw.num_pes, hw.dram_bandwidth_bytes_per_cycle, what)
    table = [["layer", "type", "MACs", "total cycles", "stall cycles", "PE utilization", "DRAM bytes", "energy (pJ)"]]
    table += [[r.layer, r.layer_type, f"{r.macs:,}", f"{r.total_cycles:,}", f"{r.stall_cycles:,}",
               f"{100 * r.pe_utilization:.2f}%", f"{r.dram_bytes:,}", f"{getattr(r, 'energy_pj', float('nan')):.4g}"]
              for r in layers.itertuples()]
    sections.append(Section("Layers", table=table))
    sections += _mapping(folder, manifest, layers, hw, what)
    return f"accelsim run: {what}", sections


def _point_mapping(manifest: dict, best, rows: pd.DataFrame, what: str) -> list[Section]:
    """The mapping view of one sweep point, from the files the sweep's manifest holds."""
    from ..spec.dataflow import dataflow_from_dict
    from ..spec.workload import workload_from_dict
    from ..sweep.space import hw_variant
    from .mapping_view import mapping_sections
    inputs = manifest.get("inputs", {})
    try:
        records = [inputs[f"{role}:{best[key]}"] for role, key in (("hw", "hw"), ("workload", "workload"),
                                                                   ("dataflow", "dataflow"))]
        hw = hardware_from_dict(yaml.safe_load(records[0]["content"]), records[0].get("path", "hw"))
        workload = workload_from_dict(yaml.safe_load(records[1]["content"]), records[1].get("path", "w"))
        dataflow = dataflow_from_dict(yaml.safe_load(records[2]["content"]), records[2].get("path", "d"))
    except (KeyError, TypeError, yaml.YAMLError, AccelsimError):
        return []                # a manifest without the files' content: no mapping view
    bw = best["dram_bandwidth_bytes_per_cycle"]
    hw = hw_variant(hw, f"{best['array_rows']}x{best['array_cols']}",
                    f"{best['sram_ifmap_kib']:g}/{best['sram_filter_kib']:g}/{best['sram_ofmap_kib']:g}",
                    "unlimited" if not math.isfinite(bw) else f"{bw:g}")
    timing = best["timing"] if isinstance(best.get("timing"), str) else hw.timing
    return mapping_sections(rows.reset_index(drop=True), workload, hw, dataflow, timing, what)


def _mapping(folder: Path, manifest: dict, layers: pd.DataFrame, hw, what: str) -> list[Section]:
    """The mapping view of a run, from the workload and dataflow files its manifest holds."""
    from ..spec.dataflow import dataflow_from_dict
    from ..spec.workload import workload_from_dict
    from .mapping_view import mapping_sections
    inputs = manifest.get("inputs", {})
    try:
        workload = workload_from_dict(yaml.safe_load(inputs["workload"]["content"]), inputs["workload"].get("path", "w"))
        dataflow = dataflow_from_dict(yaml.safe_load(inputs["dataflow"]["content"]), inputs["dataflow"].get("path", "d"))
    except (KeyError, TypeError, yaml.YAMLError, AccelsimError):
        return [Section("Mapping", f"{folder / 'manifest.json'}: the workload or dataflow file is not in the "
                                   "manifest; rerun accelsim run to see the mapping view.")]
    timing = manifest.get("options", {}).get("timing") or hw.timing
    return mapping_sections(layers, workload, hw, dataflow, timing, what)


def sweep_report(folder: Path) -> tuple[str, list[Section]]:
    manifest = _manifest(folder)
    points = read_table(folder / "points.parquet")
    counts = manifest.get("counts", {})
    space = manifest.get("space", {})
    sections = [Section("Space", f"{counts.get('points', len(points)):,} points, {counts.get('rows', 0):,} rows, "
                                 f"{counts.get('error_points', 0):,} points failed.",
                        table=[["axis", "values"]] + [[axis, ", ".join(map(str, space.get(axis) or []))]
                                                        for axis in space.get("axes", [])])]
    failed = points[points["error"].notna()]
    if len(failed):
        rows = [["point", "workload", "hw", "array", "dataflow", "error"]]
        rows += [[r.point, r.workload, r.hw, f"{r.array_rows}x{r.array_cols}", r.dataflow, r.error]
                 for r in failed.head(20).itertuples()]
        sections.append(Section("Failed points", f"The first {min(20, len(failed))} of {len(failed):,}; all are in "
                                                 "results.parquet (error column) and manifest.json.", table=rows))
    points = points.assign(command=explorer.run_commands(points, manifest))
    ok = points[points["error"].isna()]
    if len(ok):
        sections.append(Section(
            "Explore the sweep", "Pick the sweep axis shown on the columns and on the rows, the metric and the colour "
            "scale; every other axis is either fixed at a value or, at \"best over all\", each cell shows the best "
            "point over its values. Hover a cell for the point's whole configuration and the accelsim run command "
            "that reproduces it.",
            html=[explorer.explorer_html(explorer.explorer_data(points, manifest), "explorer-1", "sweep explorer")]))
    for workload, group in ok.groupby("workload", sort=False):
        name = figures.esc(workload)
        sections.append(Section(
            f"Sweep: {workload}", "Pareto: latency vs energy, coloured by PE count; hover a point for its "
            "configuration and the command that reproduces it.",
            figures=[figures.pareto(group, title=f"{name}: Pareto front")]))
        best = group.sort_values(["latency_us", "energy_pj", "point"]).iloc[0]
        rows = read_table(folder / "results.parquet", filters=[("point", "=", int(best["point"]))])
        what = (f"{workload}, fastest point {int(best['point'])}: {best['hw']} {best['array_rows']}x{best['array_cols']} "
                f"{best['dataflow']}")
        for section in (_layer_sections(rows, float(best["num_pes"]), float(best["dram_bandwidth_bytes_per_cycle"]), what)
                        + _point_mapping(manifest, best, rows, what)):
            section.title = f"{workload}, fastest point: {section.title}"
            sections.append(section)
    return f"accelsim sweep: {manifest.get('space', {}).get('name', folder.name)}", sections


def build_report(folder) -> str:
    """The dashboard HTML for a run folder (layers.csv) or a sweep folder (points.parquet)."""
    folder = Path(folder)
    if (folder / "points.parquet").is_file():
        title, sections = sweep_report(folder)
    elif (folder / "layers.csv").is_file() and (folder / "mappings.yaml").is_file() and not _gpu_run(folder):
        title, sections = tree_run_report(folder)
    elif (folder / "layers.csv").is_file():
        title, sections = run_report(folder)
    elif (folder / "timeline.csv").is_file() and (folder / "summary.json").is_file():
        from ..serve.figures import page_from_folder   # a serving run (accelsim serve --out)
        title, sections = page_from_folder(folder)
    else:
        raise AccelsimError(f"{folder}: not a run, sweep or serving folder (no layers.csv, points.parquet or "
                            "timeline.csv); make one with `accelsim run --out DIR`, `accelsim sweep --out DIR` or "
                            "`accelsim serve --out DIR` (a sweep that was interrupted needs --resume first)")
    return render(title, str(folder), sections)
