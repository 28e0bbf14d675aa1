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
