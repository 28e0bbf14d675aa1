"""The mapping view: for each layer the loop nest that was chosen, how full each buffer's tile is,
and where the traffic goes.

The loop nest is the one the engine evaluated: for a systolic dataflow the mapping that realises
it (accelsim.loopnest.systolic.instance: the array folds as loops), for a loop-nest dataflow the
mapper's choice, read back from the results table's ``mapping`` column
(:meth:`accelsim.loopnest.mapping.Mapping.describe`'s text). Tile footprints (words of each
operand a tile holds in the global buffer and in a PE's register file) come from the same
loop-nest kernel that counted the layer, run once more on that mapping.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..energy import OPERANDS
from ..kernels import loopnest as ln
from . import units
from .figures import OPERAND_COLORS, _layer_labels, esc, scale_menu, view_menu
from .html import Section

_LEVEL = re.compile(r"(DRAM|GLB|rows|cols|RF|loops)\[([^\]]*)\]")
_LOOP = re.compile(r"([NMCEFRS])(\d+)")


def parse_mapping(text: str):
    """The :class:`~accelsim.loopnest.mapping.Mapping` of a ``describe()`` line (both its forms:
    ``DRAM[..] GLB[..] rows[..] cols[..] RF[..]`` and ``loops[|iG M2 ..] rows[..] cols[..]``)."""
    from ..loopnest.mapping import OPS, Mapping
    parts = {name: body.strip() for name, body in _LEVEL.findall(text)}
    if not parts:
        raise ValueError(f"not a mapping: {text!r}")

    def loops(body):
        return tuple((d, int(t)) for d, t in _LOOP.findall(body or ""))

    rows, cols = loops(parts.get("rows")), loops(parts.get("cols"))
    if "loops" in parts:
        nest, glb, rf = [], [0, 0, 0], [0, 0, 0]
        for token in parts["loops"].split():      # "E4|iG": loop E4, then operand i's GLB cut before the next loop
            nest += list(loops(token))
            for mark in re.findall(r"\|([ifo])([GR])", token):
                k = [op[0] for op in OPS].index(mark[0])
                (glb if mark[1] == "G" else rf)[k] = len(nest)
        return Mapping(tuple(nest), rows, cols, tuple(glb), tuple(rf))
    dram, glb_loops, rf_loops = loops(parts.get("DRAM")), loops(parts.get("GLB")), loops(parts.get("RF"))
    g, r = len(dram), len(dram) + len(glb_loops)
    return Mapping(dram + glb_loops + rf_loops, rows, cols, (g, g, g), (r, r, r))


def layer_nests(workload, hw, dataflow, timing: str, layers: pd.DataFrame) -> list[dict | None]:
    """Per row of ``layers``: the mapping and its kernel outputs (footprints, capacities), or None
    for a layer without a loop nest on the array (pooling, vector ops, folded layers)."""
    from ..loopnest import systolic
    from ..loopnest.nest_counts import nest_outputs
    from ..loopnest.mapper import hw_array, problem_array
    from ..loopnest.mapping import Mapping
    by_name = {layer.name: layer for layer in workload.layers}
    same_order = len(workload.layers) == len(layers)
    out = []
    for i, row in enumerate(layers.itertuples()):
        layer = workload.layers[i] if same_order else by_name.get(row.layer)
        mapping_text = getattr(row, "mapping", None)
        if layer is None or row.macs <= 0 or getattr(row, "unit", "array") == "vector":
            out.append(None)
            continue
        try:
            if isinstance(mapping_text, str) and mapping_text.strip():
                mapping = parse_mapping(mapping_text)
                problem, hw_l = problem_array(layer), hw_array(hw, dataflow)
                loops, n_loops, spatial, cuts = mapping.arrays()
            elif getattr(dataflow, "engine", "systolic") != "loopnest":
                inst = systolic.instance(layer, hw, dataflow, timing)
                problem, hw_l, loops, n_loops, spatial, cuts = (inst.problem, inst.hw, inst.loops, inst.n_loops,
                                                                inst.spatial, inst.cuts)
                mapping = Mapping.from_arrays(loops, n_loops, spatial, cuts)
            else:
                out.append(None)
                continue
        except (ValueError, KeyError):
            out.append(None)
            continue
        o = nest_outputs(problem, loops, n_loops, spatial, cuts, hw_l)
        out.append({"mapping": mapping,
                    "glb_footprint": [int(o[ln.X_GLB_FP_IFMAP + k]) for k in range(3)],
                    "rf_footprint": [int(o[ln.X_RF_FP_IFMAP + k]) for k in range(3)],
                    "glb_capacity": [int(hw_l[ln.HWL_GLB_IFMAP + k]) for k in range(3)],
                    "rf_capacity": [int(hw_l[ln.HWL_RF_IFMAP + k]) for k in range(3)]})
    return out


def _level_text(mapping) -> dict:
    def text(part):
        return " ".join(f"{d}{t}" for d, t in part if t > 1) or "-"
    if len(set(mapping.glb_cut)) == 1 and len(set(mapping.rf_cut)) == 1:
        g, r = mapping.glb_cut[0], mapping.rf_cut[0]
        temporal = {"DRAM": text(mapping.loops[:g]), "GLB": text(mapping.loops[g:r]), "RF": text(mapping.loops[r:])}
    else:
        temporal = {"DRAM": mapping.describe().split("] rows")[0] + "]", "GLB": "per-operand cuts", "RF": ""}
    return {**temporal, "rows": text(mapping.rows), "cols": text(mapping.cols)}


def _pct(used: int, capacity: int) -> float:
    return 100.0 * used / capacity if capacity > 0 else float("nan")


def nest_table(layers: pd.DataFrame, nests: list) -> list[list[str]]:
    """Rows of the loop-nest table: per layer, each level's loops (outermost first), the spatial
    unrolling, and the tiles' share of the GLB and RF capacity per operand."""
    rows = [["layer", "DRAM loops", "GLB loops", "array rows (spatial)", "array cols (spatial)", "RF loops (per PE)",
             "GLB tile i/f/o (% of capacity)", "RF tile i/f/o (% of capacity)"]]
    for row, nest in zip(layers.itertuples(), nests):
        if nest is None:
            continue
        t = _level_text(nest["mapping"])
        rows.append([row.layer, t["DRAM"], t["GLB"], t["rows"], t["cols"], t["RF"],
                     " / ".join(f"{_pct(u, c):.0f}%" if c else "-" for u, c in zip(nest["glb_footprint"],
                                                                                    nest["glb_capacity"])),
                     " / ".join(f"{_pct(u, c):.0f}%" if c else "-" for u, c in zip(nest["rf_footprint"],
                                                                                   nest["rf_capacity"]))])
    return rows


def occupancy_figure(layers: pd.DataFrame, nests: list, title: str = "Buffer occupancy per layer") -> go.Figure:
    """Per layer, the words of each operand's tile as a share of the capacity it may use (the
    global buffer's half when double-buffered; the PE register file), one view per level."""
    keep = [i for i, n in enumerate(nests) if n is not None]
    labels = [_layer_labels(layers)[i] for i in keep]
    fig = go.Figure()
    for level, name in (("glb", "global buffer"), ("rf", "PE register file")):
        for k, op in enumerate(OPERANDS):
            used = [nests[i][f"{level}_footprint"][k] for i in keep]
            cap = [nests[i][f"{level}_capacity"][k] for i in keep]
            fig.add_trace(go.Bar(x=labels, y=[_pct(u, c) for u, c in zip(used, cap)], name=f"{op}",
                                 marker_color=OPERAND_COLORS[op], visible=level == "glb",
                                 customdata=np.stack([[f"{u:,}" for u in used], [f"{c:,}" for c in cap]], axis=-1)
                                 if keep else None,
                                 hovertemplate=f"%{{x}}<br>{name}, {op} tile: %{{customdata[0]}} of "
                                               "%{customdata[1]} words (%{y:.1f}%)<extra></extra>"))
    views = [("global buffer", [j < 3 for j in range(6)], {"yaxis.title.text": "GLB tile (% of capacity)"}),
             ("register file", [j >= 3 for j in range(6)], {"yaxis.title.text": "RF tile (% of capacity)"})]
    fig.update_layout(barmode="group", title=title, yaxis_title="GLB tile (% of capacity)", xaxis_title="layer",
                      updatemenus=[view_menu(views)], margin=dict(t=90))
    return units.style(fig)


_TRAFFIC = (("DRAM", ("dram_{op}_reads", "dram_{op}_writes")), ("SRAM / GLB", ("sram_{op}_reads", "sram_{op}_writes")),
            ("PE-to-PE (NoC)", ("noc_{op}_transfers",)), ("RF", ("rf_{op}_reads", "rf_{op}_writes")))
LEVEL_TRAFFIC_COLORS = ("#e45756", "#eeca3b", "#54a24b", "#72b7b2")


def traffic_figure(layers: pd.DataFrame, title: str = "Where the traffic goes") -> go.Figure:
    """Words moved at each level per layer (reads + writes; DRAM also in bytes in the table),
    stacked by level; a dropdown shows one operand or all."""
    labels = _layer_labels(layers)
    fig = go.Figure()
    choices = ("all operands",) + OPERANDS
    for c, choice in enumerate(choices):
        ops = OPERANDS if choice == "all operands" else (choice,)
        for (level, patterns), color in zip(_TRAFFIC, LEVEL_TRAFFIC_COLORS):
            cols = [p.format(op=op) for op in ops for p in patterns if p.format(op=op) in layers]
            values = layers[cols].sum(axis=1) if cols else pd.Series(0, index=layers.index)
            fig.add_trace(go.Bar(x=labels, y=values, name=level, marker_color=color, visible=c == 0,
                                 legendgroup=level, showlegend=True,
                                 hovertemplate=f"%{{x}}<br>{level}, {choice}: %{{y:,}} words<extra></extra>"))
    n = len(fig.data)
    per = len(_TRAFFIC)
    menu = dict(type="dropdown", x=0.0, y=1.03, xanchor="left", yanchor="bottom", active=0,
                buttons=[dict(label=choice, method="update",
                              args=[{"visible": [j // per == c for j in range(n)]},
                                    {"title.text": f"{title}: {choice}"}]) for c, choice in enumerate(choices)])
    fig.update_layout(barmode="stack", title=f"{title}: all operands", yaxis_title="accesses (words)",
                      xaxis_title="layer", margin=dict(t=90),
                      updatemenus=[menu, scale_menu(("yaxis",))])
    return units.style(fig)


def mapping_sections(layers: pd.DataFrame, workload, hw, dataflow, timing: str, what: str) -> list[Section]:
    """The mapping view's sections for one run (or one sweep point)."""
    nests = layer_nests(workload, hw, dataflow, timing, layers)
    sections = [Section("Mapping: loop nests", f"{what}. Loops outermost first at each level (DIM and trip count; "
                        "N batch, M filters, C channels, E x F output, R x S filter); the array's rows and columns "
                        "unroll the spatial loops; a tile's share of the capacity it may use (half of a "
                        "double-buffered global buffer).", table=nest_table(layers, nests))]
    figs = [traffic_figure(layers)]
    if any(n is not None for n in nests):
        figs.insert(0, occupancy_figure(layers, nests))
    sections.append(Section("Mapping: occupancy and traffic", "Per layer: how full each tile is, and the words "
                            "each level moves (the table's access counts).", figures=figs))
    return sections


# -- architecture trees (accelsim.spec.arch, accelsim.loopnest.tree) ------------------------------

def _usable_bits(level, operand: str) -> float:
    """Bits of ``level`` a tile of ``operand`` may use: its partition or the whole shared level,
    half of it when double-buffered (the rule accelsim.loopnest.tree checks)."""
    bits = level.size_bits if level.size_bits_by_operand is None else level.size_bits_by_operand[operand]
    return bits * (0.5 if level.double_buffered else 1.0)


def tree_nest_table(tree, items) -> list[list[str]]:
    """Per layer, each level's loops (storage levels: temporal loops outermost first; spatial
    levels: the X and Y unrolling), for ``items`` of (layer name, TreeMapping, TreeCost)."""
    levels = [lv for lv in tree.levels if lv.kind != "compute"]
    rows = [["layer"] + [f"{lv.name} ({'spatial' if lv.kind == 'spatial' else 'temporal'})" for lv in levels]
            + ["cycles", "binding level"]]
    for name, mapping, cost in items:
        cells = []
        for lv in levels:
            if lv.kind == "storage":
                cells.append(" ".join(f"{d}{t}" for d, t in mapping.loops_of(lv.name) if t > 1) or "-")
            else:
                x, y = mapping.unrolling_of(lv.name)
                cells.append(f"x {' '.join(f'{d}{f}' for d, f in x) or '-'} | y {' '.join(f'{d}{f}' for d, f in y) or '-'}")
        rows.append([name] + cells + [f"{cost.total_cycles:,}", cost.binding_level or "compute"])
    return rows


def tree_occupancy_figure(tree, items, title: str = "Tile occupancy per level") -> go.Figure:
    """Per layer, each operand's tile at one storage level as a share of the bits it may use,
    stacked (a shared level's operands add up to its fill); a dropdown picks the level."""
    levels = [lv for lv in tree.levels[1:] if lv.kind == "storage"
              and (lv.size_bits_by_operand is not None or np.isfinite(lv.size_bits))]
    labels = [esc(name) for name, _, _ in items]
    fig = go.Figure()
    for v, lv in enumerate(levels):
        shared = lv.size_bits_by_operand is None
        for op in OPERANDS:
            if not lv.keeps(op):
                continue
            words = [cost.counts[lv.name][op]["footprint_words"] for _, _, cost in items]
            usable = _usable_bits(lv, op)
            share = [100.0 * w * lv.word_bits[op] / usable if usable else float("nan") for w in words]
            fig.add_trace(go.Bar(x=labels, y=share, name=op, marker_color=OPERAND_COLORS[op], visible=v == 0,
                                 meta=lv.name, customdata=[f"{w:,}" for w in words],
                                 hovertemplate=f"%{{x}}<br>{esc(lv.name)}, {op}: %{{customdata}} words per instance, "
                                               f"%{{y:.1f}}% of {'the shared' if shared else 'its'} capacity"
                                               "<extra></extra>"))
    owner = [t.meta for t in fig.data]
    menu = dict(type="dropdown", x=0.0, y=1.03, xanchor="left", yanchor="bottom", active=0,
                buttons=[dict(label=esc(lv.name), method="update",
                              args=[{"visible": [o == lv.name for o in owner]}, {"title.text": f"{title}: {esc(lv.name)}"}])
                         for lv in levels])
    fig.update_layout(barmode="stack", title=f"{title}: {esc(levels[0].name)}" if levels else title,
                      yaxis_title="tile (% of the capacity it may use)", xaxis_title="layer", margin=dict(t=90),
                      updatemenus=[menu] if levels else [])
    return units.style(fig)


def tree_traffic_figure(tree, items, title: str = "Where the traffic goes") -> go.Figure:
    """Words read, filled and updated at each storage level per layer (all instances), stacked by
    level; a dropdown shows one operand or all."""
    from ..loopnest.tree import accesses_frame
    frame = pd.concat([accesses_frame(name, cost).to_pandas() for name, _, cost in items], ignore_index=True)
    frame["words"] = frame["reads"] + frame["writes"]
    names = [name for name, _, _ in items]
    levels = [lv.name for lv in tree.levels if lv.kind == "storage"]
    palette = ("#e45756", "#eeca3b", "#54a24b", "#72b7b2", "#4c78a8", "#b279a2", "#9d755d")
    fig = go.Figure()
    choices = ("all operands",) + OPERANDS
    for c, choice in enumerate(choices):
        part = frame if choice == "all operands" else frame[frame["operand"] == choice]
        for i, level in enumerate(levels):
            words = part[part["level"] == level].groupby("layer")["words"].sum().reindex(names, fill_value=0)
            fig.add_trace(go.Bar(x=[esc(n) for n in names], y=words.to_numpy(), name=esc(level), visible=c == 0,
                                 marker_color=palette[i % len(palette)],
                                 hovertemplate=f"%{{x}}<br>{esc(level)}, {choice}: %{{y:,}} words<extra></extra>"))
    per = len(levels)
    menu = dict(type="dropdown", x=0.0, y=1.03, xanchor="left", yanchor="bottom", active=0,
                buttons=[dict(label=choice, method="update", args=[{"visible": [j // per == c for j in range(len(fig.data))]},
                                                                   {"title.text": f"{title}: {choice}"}])
                         for c, choice in enumerate(choices)])
    fig.update_layout(barmode="stack", title=f"{title}: all operands", yaxis_title="accesses (words)",
                      xaxis_title="layer", margin=dict(t=90), updatemenus=[menu, scale_menu(("yaxis",))])
    return units.style(fig)


def tree_sections(tree, items, what: str) -> list[Section]:
    """The mapping view of layers mapped on an architecture tree: ``items`` are (layer name,
    :class:`~accelsim.loopnest.tree.TreeMapping`, :class:`~accelsim.loopnest.tree.TreeCost`)."""
    return [Section("Mapping: loop nests", f"{what}. Loops outermost first at each storage level, the unrolling "
                    "across X and Y at each spatial level.", table=tree_nest_table(tree, items)),
            Section("Mapping: occupancy and traffic", "Per layer: each tile's share of the capacity it may use, "
                    "and the words each level moves.",
                    figures=[tree_occupancy_figure(tree, items), tree_traffic_figure(tree, items)])]
