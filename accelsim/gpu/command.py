"""``accelsim calibrate``: fit a GPU device to measurements and write a hw file."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import user_errors


@click.command(name="calibrate")
@click.option("--measurements", "measurement_files", multiple=True, required=True,
              type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.csv",
              help="A measurement table (kernels.csv or llm_ops.csv as benchmarks/gpu/measure.py writes them); "
                   "repeat for several.")
@click.option("--hw", "hw_arg", required=True, metavar="BASE.yaml|PRESET",
              help="The GPU device to start from (h200, h100, a100 or a file with a gpu: section).")
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="MINE.yaml", help="The calibrated hw file to write.")
@click.option("--name", default=None, help="Device name in the written file (default: MINE.yaml's file name without "
              ".yaml, e.g. my_gpu, so results name your GPU, not the base device).")
@click.option("--max-evaluations", type=click.IntRange(min=1), default=200, show_default=True,
              help="Model evaluations per parameter group and sweep; a fit that needs more has not converged.")
@click.option("--force", is_flag=True, help="Overwrite MINE.yaml if it exists.")
@user_errors
def calibrate(measurement_files, hw_arg, out_path, name, max_evaluations, force):
    """Fit a GPU device's measured parameters (sustained tensor-core rate, achievable bandwidth,
    fixed costs per kernel, attention rates, launch gaps) to measurement tables, print every group's
    fit and every row's residual, and write a hw file whose comments name the measurements and date.

    Measure your GPU with `python benchmarks/gpu/measure.py --out DIR` (PyTorch, any CUDA GPU), then:

      accelsim calibrate --measurements DIR/kernels.csv --measurements DIR/llm_ops.csv --hw h200 -o hw/my_gpu.yaml

    A fit that does not converge writes nothing (exit 1). docs/silicon.md lists the groups and the rows
    each is fitted to.
    """
    import numpy as np
    import yaml

    from .. import spec
    from ..errors import AccelsimError
    from .calibrate import fit, write_hw
    from .measurements import describe_row, predict, read_measurements
    base_path = spec.resolve("hw", hw_arg)
    device = spec.load_hw(base_path)
    if not isinstance(device, spec.GpuHardware):
        raise AccelsimError(f"{base_path}: not a GPU device (no gpu: section); start from h200, h100 or a100")
    if out_path.exists() and not force:
        raise AccelsimError(f"{out_path}: exists; pass --force to overwrite it")
    frame = read_measurements(measurement_files)
    click.echo(f"{len(frame)} measurement rows from {', '.join(map(str, measurement_files))}", err=True)
    fitted, groups = fit(device, frame, max_evaluations=max_evaluations)
    click.echo("fit (group: parameter base -> fitted; rows; RMS error):")
    for group in groups:
        values = "; ".join(f"{p} {group.before[p]:g} -> {group.after[p]:g}" for p in group.params)
        rms = "-" if group.rows == 0 else f"{100 * (np.exp(group.rms_log_error) - 1):.1f}%"
        click.echo(f"  {group.name}: {values}; {group.rows} rows; RMS {rms}; {group.message}")
    table = predict(fitted, frame)
    click.echo("\nresiduals per row (predicted / measured - 1):")
    for row in table.to_dict(orient="records"):
        if row["predicted_s"] != row["predicted_s"]:
            continue
        click.echo(f"  {describe_row(row):<62} measured {row['time_s'] * 1e3:10.4f} ms  predicted "
                   f"{row['predicted_s'] * 1e3:10.4f} ms  {100 * row['error']:+6.1f}%")
    text = write_hw(base_path, fitted, measurement_files, out_path, name or out_path.stem)
    try:
        spec.hw_from_dict(yaml.safe_load(text), str(out_path))
    except AccelsimError as exc:   # pragma: no cover - the rewrite keeps the base file's structure
        raise AccelsimError(f"the calibrated file would not load ({exc}); nothing written") from None
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text)
    click.echo(f"\nwrote {out_path}")
