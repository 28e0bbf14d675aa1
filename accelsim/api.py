"""The Python entry point: presets or paths (or loaded specs) in, a tidy DataFrame out."""
from __future__ import annotations

import pandas as pd

from . import model, spec
from .errors import AccelsimError


def _as(kind, value, cls):
    return value if isinstance(value, cls) else spec.load(kind, value)


def simulate(hw, workload, dataflow, timing: str | None = None, energy_table=None, objective: str = "edp",
             time_limit_s: float | None = None, fidelity: str = "analytical", trace=None) -> pd.DataFrame:
    """Simulate ``workload`` on ``hw`` under ``dataflow``; one row per layer.

    Each argument is a loaded spec object, a path to a YAML file, or the name of a built-in preset
    (``accelsim list`` shows them). ``timing`` ('physical' or 'scalesim') overrides the hw file's;
    ``energy_table`` (a name in hw/energy/, a path or an EnergyTable) overrides its energy table.
    Loop-nest dataflows (rs, nlr, ...) are mapped per layer for ``objective`` ('cycles', 'energy',
    'edp'; default 'edp') within ``time_limit_s`` per layer. ``fidelity='cycle'`` runs the
    cycle-level simulator (ws, os, is; extra bandwidth columns, docs/cycle.md); ``trace`` (a path
    ending .csv.gz, .csv or .parquet) then receives its compact trace, written layer by layer.
    """
    hw = _as("hw", hw, (spec.Hardware, spec.ArchTree))
    if isinstance(hw, spec.ArchTree):
        hw = spec.contract(hw)     # a tree of the shorthand's shape runs; a deeper one says what differs
    if not isinstance(hw, spec.Hardware):
        raise AccelsimError(f"{hw.name}: an ideal-roofline device (peak FLOP/s and bandwidth only) has no PE "
                            "array to simulate; use it with `accelsim llm`")
    workload = _as("workloads", workload, spec.Workload)
    dataflow = _as("dataflows", dataflow, (spec.Dataflow, spec.LoopNestDataflow))
    table = spec.energy_table_for(hw, energy_table)
    if trace is None:
        return model.simulate(hw, workload, dataflow, timing=timing, energy_table=table, objective=objective,
                              time_limit_s=time_limit_s, fidelity=fidelity)
    if fidelity != "cycle":
        raise AccelsimError("a trace needs fidelity='cycle'")
    from .sim.trace import TraceWriter
    with TraceWriter(trace) as writer:
        return model.simulate(hw, workload, dataflow, timing=timing, energy_table=table, objective=objective,
                              time_limit_s=time_limit_s, fidelity=fidelity, trace=writer)


def simulate_tree(hw, workload, mapping=None, objective: str = "edp", pin=None, energy_table=None,
                  imperfect: bool = False, operand_tiles: bool = False):
    """Run ``workload`` on an architecture tree; returns a :class:`~accelsim.loopnest.tree_run.TreeRun`
    with ``layers`` (one row per layer: totals and per-level columns ``<level>_<operand>_reads`` /
    ``_writes``, ``stall_<level>_cycles``, ``area_mm2_<level>``), ``accesses`` (one row per layer,
    level and operand: reads, writes, fills, updates, energy_pj, bandwidth_cycles), ``area`` (per
    level with its source), ``mappings`` and, mapped, ``pareto``: the tables `accelsim run` writes.

    ``hw``: a loaded tree, a path or a preset name (a tree of hw/trees/ such as ``simba_like``, a
    shorthand preset as its tree, a GPU file's tree). ``mapping``: pinned mappings, a path or the
    parsed YAML (``{layers: {name: mapping}}`` or one mapping for a one-layer workload); without it
    the tree mapper maps every layer for ``objective`` ('cycles', 'energy', 'edp'), with ``pin`` (a
    path or parsed partial mappings or constraints) fixed, ``imperfect`` factorisations and
    per-operand tiles (``operand_tiles``, as ``accelsim run --operand-tiles``) if asked.
    """
    from .loopnest.tree_run import load_tree, run_workload
    from .spec.common import load_yaml
    tree = hw if isinstance(hw, spec.ArchTree) else load_tree(spec.resolve("hw", hw))
    workload = _as("workloads", workload, spec.Workload)
    table = spec.energy_table_for(tree, energy_table)
    mapping_file = "<mapping>"
    if mapping is not None and not isinstance(mapping, (dict, list)):
        mapping_file, mapping = str(mapping), load_yaml(mapping)
    pin_file = "<pins>"
    if pin is not None and not isinstance(pin, dict):
        pin_file = str(pin)
        from .importers import timeloop_constraints
        data = load_yaml(pin)
        pin = timeloop_constraints.read(pin, tree) if timeloop_constraints.is_timeloop(data) else data
    return run_workload(tree, workload, table, mapping, mapping_file, objective, pin, pin_file,
                        imperfect=imperfect, operand_tiles=operand_tiles).to_pandas()
