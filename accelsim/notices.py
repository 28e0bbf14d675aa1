"""One-line notices from deep inside accelsim to whoever shows them (the CLI prints them; a
library user may set a callback). No I/O here."""
from __future__ import annotations

_compile = {"callback": None, "shown": False}


def set_compile_notice(callback) -> None:
    """``callback(seconds)`` is called once per process, before the first kernel compile that
    the cache cannot serve (``seconds``: the expected compile time); None silences it."""
    _compile["callback"] = callback


def compiling(seconds: float) -> None:
    """Called by accelsim/kernels/jit.py before a compile the cache cannot serve."""
    if not _compile["shown"] and _compile["callback"] is not None:
        _compile["shown"] = True
        _compile["callback"](seconds)
