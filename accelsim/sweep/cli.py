"""``accelsim sweep``: the command (registered in accelsim/cli.py); the work is in runner.py."""
from __future__ import annotations

from pathlib import Path

import click

from ..cli_types import SECONDS

FLAG_KEYS = ("hw", "workload", "dataflow", "array", "sram_kb", "dram_bw", "timing", "energy", "objective",
             "time_limit_s", "chunk_size", "name")


@click.command()
@click.argument("sweep_file", required=False, type=click.Path(dir_okay=False, path_type=Path), metavar="[SWEEP_YAML]")
@click.option("--hw", metavar="LIST", help="Base accelerators (presets or files, comma-separated); the swept fields replace theirs.")
@click.option("--workload", metavar="LIST", help="Workloads (presets or files, comma-separated).")
@click.option("--dataflow", metavar="LIST", help="Dataflows, e.g. ws,os,is (systolic hw) or rs,nlr (multicast hw, mapped by the mapper).")
@click.option("--array", metavar="LIST", help="Array sizes ROWSxCOLS, e.g. 8x8,16x16,32x32. Default: the base's.")
@click.option("--sram-kb", "sram_kb", metavar="LIST",
              help="SRAM sizes in KiB: one number for each of the ifmap, filter and ofmap buffers (64), or IFMAP/FILTER/OFMAP (64/64/32). Default: the base's.")
@click.option("--dram-bw", "dram_bw", metavar="LIST", help="DRAM bandwidths in bytes/cycle, or unlimited. Default: the base's.")
@click.option("--timing", type=click.Choice(["physical", "scalesim"]), default=None, help="Cycle conventions (default: each base hw's).")
@click.option("--energy", metavar="TABLE", default=None, help="Energy table for every point (default: each base hw's).")
@click.option("--objective", type=click.Choice(["cycles", "energy", "edp"]), default=None,
              help="Mapper objective for loop-nest dataflows (default edp).")
@click.option("--time-limit", "time_limit_s", type=SECONDS, default=None, metavar="SECONDS",
              help="Per-layer mapper time limit for loop-nest dataflows (results then depend on machine speed).")
@click.option("--chunk-size", "chunk_size", type=click.IntRange(min=1), default=None, metavar="POINTS",
              help="Points per chunk (the unit of work, batching and resume). Default: about 16k rows per chunk, 2 points with loop-nest dataflows.")
@click.option("--name", default=None, help="Sweep name (default: the YAML's name, else sweep_<digest>).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder. Default: results/<name>/.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Local worker processes. Default: all cores.")
@click.option("--scheduler", metavar="tcp://HOST:PORT", default=None,
              help="Run on the Dask cluster of this scheduler instead of local processes (docs/sweep.md).")
@click.option("--resume", is_flag=True, help="Continue the sweep in --out: keep its finished chunks, evaluate the rest.")
@click.option("--force", is_flag=True,
              help="With --resume: continue even if accelsim's code changed since the finished chunks were computed "
                   "(the tables then mix two versions; manifest.json lists both sources).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sweep(sweep_file, out_dir, workers, scheduler, resume, force, quiet, **flags):
    """Evaluate every combination of workloads, base hw, array sizes, SRAM sizes, DRAM bandwidths
    and dataflows, in parallel, crash-safe and resumable.

    The space comes from the flags or a sweep YAML (same keys, `-` written `_`; flags override
    it). Writes DIR/results.parquet and results.csv (one row per point and layer: the columns of
    `accelsim run` plus the point's array size, SRAM, bandwidth and an `error` column),
    points.parquet and points.csv (totals per point), manifest.json and parts/ (one file per
    finished chunk). Identical inputs give byte-identical tables for any --workers.

    Exit codes: 0 when the sweep finished, also when some points failed (their rows carry the
    error; the count is printed); 1 for bad input, an interrupted sweep, or when every point
    failed (the tables are still written); 2 for bad command-line usage.

    Example: accelsim sweep --hw tpu_v1 --workload resnet50 --dataflow ws,os,is --array 8x8,16x16,32x32
    """
    from ..errors import AccelsimError, user_errors

    @user_errors
    def body():
        from .runner import run_sweep
        from .space import AXES, build_space, load_sweep_yaml
        values = load_sweep_yaml(sweep_file) if sweep_file else {}
        values.update({key: value for key, value in flags.items() if value is not None})
        space = build_space(values, str(sweep_file) if sweep_file else "command line",
                            sweep_file.parent if sweep_file else None)
        out = out_dir or Path("results") / space.name
        click.echo(f"{space.name}: {space.num_points:,} points "
                   f"({' x '.join(f'{n} {axis}' for n, axis in zip(space.shape, AXES))}) "
                   f"in {space.num_chunks:,} chunks -> {out}", err=True)
        summary = run_sweep(space, out, workers=workers, scheduler=scheduler, resume=resume, progress=not quiet,
                            force=force)
        counts, run = summary["counts"], summary["run"]
        rate = counts["points"] / run["seconds"] if run["seconds"] > 0 else float("inf")
        click.echo(f"{counts['points']:,} points, {counts['rows']:,} rows in {run['seconds']:.2f} s "
                   f"({rate:,.0f} points/s, {run['chunks_evaluated']} chunks evaluated, {run['chunks_reused']} reused)")
        click.echo(f"wrote {out / 'results.parquet'}, results.csv, points.parquet, points.csv and manifest.json")
        if counts["error_points"]:
            first = summary["errors"][0]
            failed = (f"failed (their rows carry the `error` column; listed in manifest.json); first: "
                      f"point {first['point']}: {first['error']}")
            if counts["error_points"] == counts["points"]:
                raise AccelsimError(f"all {counts['points']:,} points {failed}")
            click.echo(f"{counts['error_points']:,} {'point' if counts['error_points'] == 1 else 'points'} {failed}")

    body()
