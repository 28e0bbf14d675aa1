"""accelsim: a simulator and dataflow explorer for DNN hardware accelerators.

Notebook use::

    import accelsim
    table = accelsim.simulate("tpu_v1", "mobilenet_v1", "ws")   # names of presets, or paths

``import accelsim`` is light: :func:`simulate` and ``RESULT_COLUMNS`` (which need numpy, pandas
and numba) are imported on first use.
"""
from __future__ import annotations

from .errors import AccelsimError, SpecError
from .version import __version__

__all__ = ["simulate", "AccelsimError", "SpecError", "RESULT_COLUMNS", "__version__"]


def __getattr__(name):
    if name == "simulate":
        from .api import simulate
        return simulate
    if name == "RESULT_COLUMNS":
        from .columns import RESULT_COLUMNS
        return RESULT_COLUMNS
    raise AttributeError(f"module 'accelsim' has no attribute {name!r}")
