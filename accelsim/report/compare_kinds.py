"""The runs ``accelsim compare`` reads beyond PE-array ones: an architecture tree's run and a GPU
device's run, brought to the columns compare works in (``total_cycles``, ``latency_us``,
``energy_pj``, ``dram_bytes``, ``pe_utilization``) and their energy by named level.

Each quantity comes from the run's own tables, never guessed; one a run cannot give is NaN (shown
empty) and named in ``lacks``:

- tree (docs/architecture.md): cycles, energy and PE utilization from layers.csv; latency = cycles /
  the tree's ``clock_mhz``; DRAM traffic = the outermost storage level's reads + writes in words
  times that operand's ``word_bits`` there / 8 (the bytes its bandwidth is charged for,
  accelsim/loopnest/tree_timing.py ``bandwidth_cycles``); energy by level = accesses.csv's
  ``energy_pj`` summed per level, plus layers.csv's ``energy_pj_mac`` as level ``mac`` (together
  layers.csv's ``energy_pj``).
- GPU (docs/silicon.md): latency = ``time_s``; HBM traffic = ``dram_bytes``; no cycles and no PE
  utilization (kernel times, not cycle counts); energy by level from accesses.csv where every
  row of the level is priced, and the total only when every row is.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..errors import AccelsimError

OPERANDS = ("ifmap", "filter", "ofmap")


def _occurrence_keys(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    return frame.groupby(by, sort=False).cumcount()


def _level_energy(path: Path, layers: pd.DataFrame, priced_only: bool) -> tuple[pd.DataFrame, bool]:
    """(energy_pj_<level> per layer row, every row priced) from ``path/accesses.csv``: rows matched
    to layers.csv by name and occurrence; a layer with no rows there is NaN."""
    from .build import read_table
    if not (path / "accesses.csv").is_file():
        return pd.DataFrame(index=layers.index), False
    acc = read_table(path / "accesses.csv")
    acc = acc.assign(n=_occurrence_keys(acc, ["layer", "level", "operand"]))
    priced = bool(acc["energy_pj"].notna().all()) if len(acc) else False
    keep = [lv for lv, rows in acc.groupby("level", sort=False) if rows["energy_pj"].notna().all() or not priced_only]
    wide = acc[acc["level"].isin(keep)].pivot_table(index=["layer", "n"], columns="level", values="energy_pj",
                                                     aggfunc="sum", sort=False)
    key = pd.MultiIndex.from_arrays([layers["layer"], _occurrence_keys(layers, ["layer"])])
    out = wide.reindex(key)[keep] if keep else pd.DataFrame(index=key)
    out.columns = [f"energy_pj_{lv}" for lv in keep]
    return out.reset_index(drop=True).set_index(layers.index), priced


def tree_run(path: Path, layers: pd.DataFrame, manifest: dict) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(layers with the compare columns, energy by level, what it lacks) of a tree's run folder."""
    from ..spec import is_gpu
    from ..spec.arch import arch_from_dict
    try:
        hw = manifest["inputs"]["hw"]
        data = yaml.safe_load(hw["content"])
        if is_gpu(data):        # a GPU device's tree (accelsim run --hw h200 --mapping)
            from ..spec.gpu import gpu_from_dict
            tree = gpu_from_dict(data, hw.get("path", "hw")).tree
        else:
            tree = arch_from_dict(data, hw.get("path", "hw"))
    except (KeyError, TypeError, yaml.YAMLError):
        raise AccelsimError(f"{path / 'manifest.json'}: inputs.hw content is missing; rerun accelsim run with "
                            "--force to rewrite the folder") from None
    top = tree.storage_levels[0]
    out = layers.copy()
    lacks = []
    if "energy_pj" not in out:
        out["energy_pj"] = math.nan
    if out["energy_pj"].isna().all():       # no column, or a GPU's tree under --mapping: its levels unpriced
        lacks.append("energy (the run priced no level; accesses.csv's energy_source says why)")
    out["latency_us"] = out["total_cycles"] / tree.clock_mhz
    words = {op: sum(out[c] for c in (f"{top.name}_{op}_reads", f"{top.name}_{op}_writes") if c in out)
             for op in OPERANDS}
    out["dram_bytes"] = sum(w * top.word_bits[op] for op, w in words.items() if not isinstance(w, int)) / 8
    levels, _ = _level_energy(path, layers, priced_only=False)
    if "energy_pj_mac" in out:
        levels["energy_pj_mac"] = out["energy_pj_mac"]
    levels = levels[out["energy_pj"].notna()].reindex(levels.index)   # a layer the tree does not price: NaN
    return out, levels, lacks


def gpu_run(path: Path, layers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(layers with the compare columns, energy by level, what it lacks) of a GPU device's run folder."""
    out = layers.copy()
    out["latency_us"] = out["time_s"] * 1e6
    out["total_cycles"] = math.nan
    out["pe_utilization"] = math.nan
    lacks = ["cycles and PE utilization (a GPU run has kernel times, not cycle counts)"]
    levels, priced = _level_energy(path, layers, priced_only=True)
    if "energy_pj" not in out:
        out["energy_pj"] = levels.sum(axis=1, min_count=1) if priced and len(levels.columns) else np.nan
    if out["energy_pj"].isna().all():
        lacks.append("energy (accesses.csv's energy_source says why: no published per-access energy)")
    return out, levels, lacks
