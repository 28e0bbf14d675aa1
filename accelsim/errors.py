"""Error types.

Two kinds, as in PyRTL: :class:`AccelsimError` is the user's mistake (a bad file, an impossible
shape, an unknown preset) and is shown by the CLI as one ``Error: ...`` line with exit code 1;
anything else is a bug in accelsim and keeps its traceback.
"""
from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass


class AccelsimError(Exception):
    """A user error: bad input that the user can fix. The message says what and how."""


@dataclass(frozen=True)
class Problem:
    """One problem in one input file: where (file and key path), what, and how to fix it."""

    file: str
    key_path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key_path}" if self.key_path else self.file
        return f"{where}: {self.message}"


class SpecError(AccelsimError):
    """Every problem found in one or more spec files, reported together."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        head = f"{len(lines)} problem(s) found" if len(lines) > 1 else lines[0]
        super().__init__(head if len(lines) == 1 else head + ":\n  " + "\n  ".join(lines))


class PartialMapping(AccelsimError):
    """Some layers could not be mapped: ``found`` holds the mapper's results for the others (so the CLI
    can keep them), ``failures`` each failed layer's message."""

    def __init__(self, found: dict, failures: list, failed: int, count: int):
        self.found, self.failures = found, list(failures)
        super().__init__(f"{failed} of {count} layer(s) could not be mapped:\n  " + "\n  ".join(failures))


def did_you_mean(word: str, choices) -> str:
    """A ' (did you mean X?)' hint when ``word`` is close to one of ``choices``, else ''."""
    word = (word if isinstance(word, str) else shown(word))[:SHOWN_CHARS]
    choices = [str(c) for c in choices]
    same = [c for c in choices if c.lower() == word.lower() and c != word]
    if same:                                   # 'TPU_v1', 'WS': only the case differs
        return f" (did you mean '{same[0]}'?)"
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)   # case counts: M is not nm
    return f" (did you mean '{match[0]}'?)" if match else ""


def user_errors(func):
    """Decorate a click command: an :class:`AccelsimError` becomes click's ``Error: ...`` and exit
    code 1 (click itself is imported only then, so this module stays free of it)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except AccelsimError as exc:
            import click
            raise click.ClickException(clipped(str(exc))) from None
    return wrapper


#: Longest line of an error message the CLI prints; longer ones are cut in the middle.
MAX_LINE_CHARS = 400


def clipped(message: str, limit: int = MAX_LINE_CHARS) -> str:
    """``message`` with every line longer than ``limit`` cut in the middle (an ellipsis marks the
    cut), keeping where (file, key) at the start and the fix at the end: a safety net for values
    echoed in full."""
    def clip(line):
        if len(line) <= limit:
            return line
        head = limit * 2 // 3
        return line[:head] + "\u2026" + line[-(limit - head - 1):]
    return "\n".join(clip(line) for line in message.split("\n"))


#: Longest echo of a user's value in an error message.
SHOWN_CHARS = 80


def shown(value, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` for an error message, cut to ``limit`` characters with an ellipsis (a bad
    value can be a 100,000-character string), and a huge integer by its size, not its digits."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    try:
        text = repr(value)
    except (ValueError, RecursionError):   # an integer too long to print, or nesting too deep
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"
