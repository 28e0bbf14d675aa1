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


def refuse_unused(names, what: str) -> None:
    """A usage error naming every option given on the command line that ``what`` does not use
    (nothing is silently ignored)."""
    ctx = click.get_current_context()
    given = [p for p in ctx.command.params if p.name in names
             and ctx.get_parameter_source(p.name) == click.core.ParameterSource.COMMANDLINE]
    if given:
        flags = ", ".join(p.opts[0] for p in given)
        raise click.UsageError(f"{flags}: not used by {what}; remove {'it' if len(given) == 1 else 'them'}")
