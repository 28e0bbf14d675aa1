"""One-line notices from deep inside accelsim to whoever shows them (the CLI prints them; a
library user may set a callback). No I/O here."""
from __future__ import annotations

_compile = {"callback": None, "shown": set()}


def set_compile_notice(callback) -> None:
    """``callback(what, seconds)`` is called before the first kernel compile of each kind
    (``what``: "engine", "cycle level", "mapper", ...) that the cache cannot serve, once per process
    and kind; ``seconds`` is the measured first-run compile time, or None where not measured.
    None silences it."""
    _compile["callback"] = callback


def compiling(what: str, seconds: float | None) -> None:
    """Called by accelsim/kernels/jit.py before a compile the cache cannot serve."""
    if what not in _compile["shown"] and _compile["callback"] is not None:
        _compile["shown"].add(what)
        _compile["callback"](what, seconds)
