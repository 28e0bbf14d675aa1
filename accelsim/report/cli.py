"""``accelsim report``: the command (registered in accelsim/cli.py); the work is in build.py."""
from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="RUN_OR_SWEEP_DIR")
@click.option("-o", "--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="HTML file to write. Default: DIR/report.html (rewritten each time).")
@click.option("--force", is_flag=True, help="Overwrite an existing -o file.")
def report(folder, out_file, force):
    """Write one self-contained HTML dashboard (plotly.js inlined; works offline) for a run folder
    (`accelsim run --out`) or a sweep folder (`accelsim sweep`). Runs: roofline, energy by level
    and operand (per layer or per level), latency breakdown, utilization, and the mapping view
    (loop nest per level, tile occupancy, traffic per level). Sweeps: the explorer (pick the axes,
    the metric, fixed values or best over each other axis, log/linear; hover gives the accelsim
    run command of a point) and the Pareto front (latency, energy, PE count), dominated points grey.

    Example: accelsim report results/mobilenet_v1__tpu_v1__ws -o mobilenet.html
    """
    from ..errors import AccelsimError, user_errors

    @user_errors
    def body():
        from .build import build_report
        if out_file is not None and out_file.exists() and not force:
            raise AccelsimError(f"{out_file}: exists; pass --force to overwrite it or choose another -o")
        page = build_report(folder)
        target = out_file or folder / "report.html"
        try:
            target.write_text(page, encoding="utf-8")
        except OSError as exc:
            raise AccelsimError(f"{target}: cannot write the report ({exc.strerror}); choose another -o") from None
        click.echo(f"wrote {target} ({len(page) / 1e6:.1f} MB, self-contained)")

    body()


@click.command()
@click.argument("runs", nargs=-1, required=True, metavar="RUN_A RUN_B [...]")
@click.option("-o", "--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=Path("compare.html"),
              show_default=True, help="HTML file to write.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the per-layer deltas as a tidy CSV (run, layer, metric, baseline_value, value, "
                   "delta, delta_pct).")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def compare(runs, out_file, csv_file, force):
    """Compare runs or sweep points side by side in one offline HTML page: totals, per-layer
    deltas (cycles, energy by level, DRAM traffic) matched by layer name, and the inputs that
    differ. The first is the baseline. Each RUN is a run folder (`accelsim run --out DIR`: a
    PE-array hw, an architecture tree or a GPU device) or SWEEP_DIR:POINT, one point of a sweep
    folder. What a run cannot give (a GPU's cycles, an unpriced energy) is left empty, with a note.

    Example: accelsim compare results/a results/b my_sweep:3 -o compare.html --csv deltas.csv
    """
    from ..errors import AccelsimError, user_errors

    @user_errors
    def body():
        from .compare import compare_page
        from .html import render
        for target in (out_file, csv_file):
            if target is not None and target.exists() and not force:
                raise AccelsimError(f"{target}: exists; pass --force to overwrite it or choose another file")
        title, sections, table = compare_page(list(runs))
        page = render(title, " vs ".join(runs), sections)
        try:
            out_file.write_text(page, encoding="utf-8")
            if csv_file is not None:
                table.to_csv(csv_file, index=False)
        except OSError as exc:
            raise AccelsimError(f"{exc.filename}: cannot write ({exc.strerror}); choose another file") from None
        click.echo(f"wrote {out_file} ({len(page) / 1e6:.1f} MB, self-contained)"
                   + (f" and {csv_file} ({len(table):,} rows)" if csv_file else ""))

    body()
