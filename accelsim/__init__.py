"""accelsim: a simulator and dataflow explorer for DNN hardware accelerators.

Notebook use::

    import accelsim
    table = accelsim.simulate("tpu_v1", "mobilenet_v1", "ws")   # names of presets, or paths
    run = accelsim.simulate_tree("simba_like", "resnet18")      # an architecture tree, mapped
    run.layers, run.accesses, run.area                           # per layer, per level and operand, area

``import accelsim`` is light: :func:`simulate`, :func:`simulate_tree` and ``RESULT_COLUMNS`` (which need numpy, pandas
and numba) are imported on first use.
"""
from __future__ import annotations

from .errors import AccelsimError, SpecError
from .version import __version__

__all__ = ["simulate", "simulate_tree", "AccelsimError", "SpecError", "RESULT_COLUMNS", "__version__"]


def __getattr__(name):
    if name == "simulate":
        from .api import simulate
        return simulate
    if name == "simulate_tree":
        from .api import simulate_tree
        return simulate_tree
    if name == "RESULT_COLUMNS":
        from .columns import RESULT_COLUMNS
        return RESULT_COLUMNS
    raise AttributeError(f"module 'accelsim' has no attribute {name!r}")
