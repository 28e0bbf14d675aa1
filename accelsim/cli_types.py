"""Click parameter types shared by the commands (the command layer only: imports click)."""
from __future__ import annotations

import math

import click


class PositiveSeconds(click.ParamType):
    """A finite number of seconds > 0. click's FloatRange lets ``nan`` and ``inf`` through (every
    comparison with nan is false), and a nan time limit would silently mean "no limit"."""

    name = "seconds"

    def convert(self, value, param, ctx):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"must be a finite number of seconds > 0 (got {value!r})", param, ctx)
        return seconds


SECONDS = PositiveSeconds()
