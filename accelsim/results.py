"""Results: network totals, the run manifest and the files a run writes.

Only the CLI calls the writers; the rest of accelsim returns DataFrames. ``accelsim run`` hands
these functions an accelsim.table.Table (no pandas import on its path); what they write and print
is what pandas wrote and printed for the same rows (tests/test_table.py, tests/test_cli.py).
"""
from __future__ import annotations

import hashlib
import json
import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .version import __version__
from .energy import energy_columns
from .errors import AccelsimError
from .table import Table, group_sums, json_number, to_string

#: Columns whose network total is a plain sum over layers.
SUM_COLUMNS = (
    "macs", "effective_macs", "compute_cycles", "fill_drain_cycles", "stall_load_cycles", "stall_bandwidth_cycles",
    "stall_writeback_cycles", "stall_sram_bandwidth_cycles", "stall_cycles", "total_cycles", "folds",
    "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "sram_ofmap_reads",
    "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "dram_ofmap_reads", "dram_bytes",
    "rf_ifmap_reads", "rf_ifmap_writes", "rf_filter_reads", "rf_filter_writes", "rf_ofmap_reads",
    "rf_ofmap_writes", "noc_ifmap_transfers", "noc_filter_transfers", "noc_ofmap_transfers",
) + tuple(energy_columns()[:-1])

#: The columns of the printed per-layer summary.
SUMMARY_COLUMNS = ("layer", "layer_type", "unit", "macs", "folds", "compute_cycles", "stall_cycles",
                   "total_cycles", "pe_utilization", "mapping_efficiency", "dram_bytes", "energy_pj",
                   "mapping")


def totals(frame, num_pes: int):
    """Network totals per (workload, hw, dataflow, timing): sums, plus utilisation recomputed from
    the sums (MAC-weighted, not a mean of per-layer ratios). A Table for a Table, a DataFrame
    for a DataFrame (pandas' ``groupby(keys, sort=False).sum()``, accelsim.table.group_sums)."""
    rows = frame if isinstance(frame, Table) else Table.from_pandas(frame)
    keys = ["workload", "hw", "dataflow", "timing"]
    out = group_sums(rows, keys, [c for c in SUM_COLUMNS if c in rows])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["pe_utilization"] = out["macs"] / (out["total_cycles"] * num_pes)
        out["compute_utilization"] = out["macs"] / (out["compute_cycles"] * num_pes)
        if "energy_pj" in out:
            out["energy_pj_per_mac"] = out["energy_pj"] / out["macs"]
    return out if isinstance(frame, Table) else out.to_pandas()


def file_record(path: Path) -> dict:
    """A manifest entry for one input file: its path, SHA-256 and full text."""
    data = Path(path).read_bytes()
    return {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(),
            "content": data.decode("utf-8", errors="replace")}


def manifest(inputs: dict[str, Path], options: dict, total) -> dict:
    """What a run needs to be reproduced and checked: inputs (content and hash), versions, totals
    (``total``: a Table or a DataFrame, as ``DataFrame.to_json`` writes its numbers)."""
    import numba
    records = _records(total)
    return {
        "accelsim_version": __version__,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "pandas": _pandas_version(),
        "options": options,
        "inputs": {kind: file_record(path) for kind, path in inputs.items()},
        "totals": records[0] if len(records) == 1 else records,
    }


def _records(total) -> list[dict]:
    if not isinstance(total, Table):
        return json.loads(total.to_json(orient="records"))
    return [{name: (value if isinstance(value, str) else json_number(value)) for name, value in row.items()}
            for row in total.rows()]


def _pandas_version() -> str:
    """pandas' version without importing it (``accelsim run`` does not need it)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("pandas")
    except PackageNotFoundError:
        import pandas
        return pandas.__version__


#: Files that hold results of an earlier run or sweep; ``--force`` removes them so none is left stale.
STALE_OUTPUTS = ("report.html",)


def check_out_dir(out_dir: Path, force: bool) -> None:
    """Refuse to write into a non-empty folder unless ``force`` (then remove its stale dashboard):
    an earlier run's table, or a sweep's manifest, is never replaced without a word."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise AccelsimError(f"{out_dir}: exists and is not a folder; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not force:
            raise AccelsimError(f"{out_dir}: folder exists and is not empty; add --force to replace its results, "
                                "or choose another --out")
        for name in STALE_OUTPUTS:
            (out_dir / name).unlink(missing_ok=True)


def write_run(frame, out_dir: Path, run_manifest: dict) -> tuple[Path, Path]:
    """Write ``layers.csv`` (``frame``: a Table or a DataFrame) and ``manifest.json`` into
    ``out_dir`` (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "layers.csv"
    frame.to_csv(csv_path, index=False)
    manifest_path = out_dir / "manifest.json"
    manifest_path.write_text(json.dumps(run_manifest, indent=2) + "\n", encoding="utf-8")
    return csv_path, manifest_path


def _percent(fraction) -> str:
    pct = 100 * fraction
    return f"{pct:.1f}%" if pct >= 1 else f"{pct:.3f}%"


def format_summary(frame: Table, total: Table) -> str:
    """A readable per-layer table followed by the network totals."""
    view = frame[[c for c in SUMMARY_COLUMNS if c in frame]]
    if "energy_pj" in view:
        view["energy_pj"] = ["{:.4g}".format(v) for v in view["energy_pj"].tolist()]
    for col in ("pe_utilization", "mapping_efficiency"):
        if col in view:
            view[col] = [_percent(v) for v in view[col].tolist()]
    view = Table({{"pe_utilization": "pe_util", "mapping_efficiency": "map_eff"}.get(name, name): view[name]
                  for name in view.columns}, len(view))
    lines = [to_string(view)]       # pandas' to_string, float columns included (accelsim/table.py)
    fidelities = frame["fidelity"].tolist() if "fidelity" in frame else []
    fidelity = f", {fidelities[0]} fidelity" if fidelities and fidelities[0] != "analytical" else ""
    for row in total.rows():
        lines.append("")
        lines.append(f"{row['workload']} on {row['hw']}, dataflow {row['dataflow']}, {row['timing']} timing{fidelity}: "
                     f"{row['macs']:,} MACs in {row['total_cycles']:,} cycles "
                     f"({row['compute_cycles']:,} compute incl. {row['fill_drain_cycles']:,} fill/drain, "
                     f"{row['stall_cycles']:,} stall); PE utilization {100 * row['pe_utilization']:.1f}%; "
                     f"DRAM {row['dram_bytes']:,} bytes"
                     + (f"; energy {row['energy_pj'] / 1e6:,.2f} uJ ({row['energy_pj_per_mac']:.3g} pJ/MAC)"
                        if "energy_pj" in row else ""))
    if "dram_read_bw_peak_bytes_per_cycle" in frame and len(frame):
        lines.insert(1, f"\nbandwidth over the layers (bytes/cycle): DRAM reads up to "
                     f"{np.nanmax(frame['dram_read_bw_peak_bytes_per_cycle']):.3g}, writes up to "
                     f"{np.nanmax(frame['dram_write_bw_peak_bytes_per_cycle']):.3g}; SRAM up to "
                     f"{np.nanmax(frame['sram_bw_peak_bytes_per_cycle']):.3g} in one cycle (per-layer averages "
                     f"and peaks per buffer in layers.csv)")
    return "\n".join(lines)


#: The tidy per-level table's columns (the N-level engine's ``accesses.csv`` has the same).
ACCESS_COLUMNS = ("layer", "level", "operand", "reads", "writes", "fills", "updates", "energy_pj",
                  "bandwidth_cycles")


def accesses_from_layers(frame: Table, hw) -> Table:
    """``accesses.csv`` of a shorthand run: the layers table's counts per level of the shorthand's
    tree (accelsim/spec/arch_shorthand.py: DRAM, GlobalBuffer, PEArray, RegisterFile), one row per
    (layer, level, operand), with the meanings of accelsim/loopnest/tree.py's table: ``fills``
    arrive from the level above (ofmap: partial sums read back), ``updates`` from below (ofmap),
    ``writes`` = fills + updates, ``reads`` leave the level (down, and for the ofmap also up).
    The PEArray rows count its network's transfers as ``reads``. ``energy_pj`` is the layers
    table's ``energy_pj_<level>_<operand>``; ``bandwidth_cycles`` the cycles the level's accesses
    need at its bandwidth (0 when unlimited)."""
    import math
    names = dict(zip(("dram", "sram", "noc", "rf"), hw.level_names[:4] if hw.level_names else
                     ("DRAM", "GlobalBuffer", "PEArray", "RegisterFile")))
    rows = []
    for r in frame.rows():
        counts = {}
        for op in ("ifmap", "filter", "ofmap"):
            dram_r = int(r[f"dram_{op}_reads"]) if op != "ofmap" else int(r["dram_ofmap_reads"])
            dram_up = int(r["dram_ofmap_writes"]) if op == "ofmap" else 0
            counts[("dram", op)] = (dram_r, dram_up, 0, dram_up)
            if op == "ofmap":
                glb = (int(r["sram_ofmap_reads"]) + dram_up, int(r["sram_ofmap_writes"]) + dram_r, dram_r,
                       int(r["sram_ofmap_writes"]))
            else:
                glb = (int(r[f"sram_{op}_reads"]), dram_r, dram_r, 0)
            counts[("sram", op)] = glb
            counts[("noc", op)] = (int(r[f"noc_{op}_transfers"]), 0, 0, 0)
            rf_w = int(r[f"rf_{op}_writes"])
            counts[("rf", op)] = (int(r[f"rf_{op}_reads"]), rf_w, 0 if op == "ofmap" else rf_w,
                                  rf_w if op == "ofmap" else 0)
        bits = int(r["word_bits"]) if "word_bits" in r else hw.word_bits
        limits = {"dram": (hw.dram_bandwidth_bytes_per_cycle * 8 / bits, 1),
                  "sram": (hw.sram_bandwidth_words_per_cycle, 1),
                  "noc": (hw.noc_bandwidth_words_per_cycle, 1),
                  "rf": (hw.rf_bandwidth_words_per_cycle, hw.num_pes)}
        for level in ("dram", "sram", "noc", "rf"):
            words = sum(c[0] + c[1] for (lv, _), c in counts.items() if lv == level)
            limit, lanes = limits[level]
            need = 0 if math.isinf(limit) or words == 0 else math.ceil(words / (limit * lanes))
            for op in ("ifmap", "filter", "ofmap"):
                reads, writes, fills, updates = counts[(level, op)]
                rows.append((r["layer"], names[level], op, reads, writes, fills, updates,
                             float(r.get(f"energy_pj_{level}_{op}", 0.0)), need))
    return Table.from_rows([dict(zip(ACCESS_COLUMNS, row)) for row in rows]) if rows else \
        Table({name: np.empty(0, dtype=object) for name in ACCESS_COLUMNS}, 0)
