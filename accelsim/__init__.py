"""accelsim: a simulator and dataflow explorer for DNN hardware accelerators.

Notebook use::

    import accelsim
    table = accelsim.simulate("tpu_v1", "mobilenet_v1", "ws")   # names of presets, or paths
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import AccelsimError, SpecError  # noqa: E402
from .model import RESULT_COLUMNS  # noqa: E402
from .api import simulate  # noqa: E402

__all__ = ["simulate", "AccelsimError", "SpecError", "RESULT_COLUMNS", "__version__"]
