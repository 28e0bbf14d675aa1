"""``accelsim report``: the command (registered in accelsim/cli.py); the work is in build.py."""
from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="RUN_OR_SWEEP_DIR")
@click.option("-o", "--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="HTML file to write. Default: DIR/report.html.")
def report(folder, out_file):
    """Write one self-contained HTML dashboard (plotly.js inlined; works offline) for a run folder
    (`accelsim run --out`) or a sweep folder (`accelsim sweep`): roofline, energy by level and
    operand, latency breakdown, utilization; for sweeps also heatmaps (array size x dataflow) and
    the Pareto front (latency, energy, PE count) with dominated points grey.

    Example: accelsim report results/mobilenet_v1__tpu_v1__ws -o mobilenet.html
    """
    from ..errors import AccelsimError, user_errors

    @user_errors
    def body():
        from .build import build_report
        page = build_report(folder)
        target = out_file or folder / "report.html"
        try:
            target.write_text(page, encoding="utf-8")
        except OSError as exc:
            raise AccelsimError(f"{target}: cannot write the report ({exc.strerror}); choose another -o") from None
        click.echo(f"wrote {target} ({len(page) / 1e6:.1f} MB, self-contained)")

    body()
