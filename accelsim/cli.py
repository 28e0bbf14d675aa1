"""The ``accelsim`` command line: the only layer that prints or writes files.

Exit codes: 0 success, 1 user error (one ``Error: ...`` message, never a traceback), 2 usage error.

How commands are registered (start-up time is part of the interface)
--------------------------------------------------------------------
``accelsim --help`` imports this module and each command's module to list them; nothing else.
numpy, pandas, numba and the kernels load only when a command runs. The rules:

* a command module imports at its top only click and light accelsim modules (errors, version,
  spec constants); whatever computes is imported inside the command function;
* a command that lives in its own module (accelsim/<package>/cli.py or command.py) is one line
  of :data:`COMMANDS`: name -> "module:attribute". :class:`LazyGroup` imports the module when the
  command is run or listed. To add one: write the module, add its line, document it in README;
* subcommands of a group here (``accelsim import ...``, ``accelsim workload ...``) are
  registered on the group with the same lazy bodies;
* tests/test_layers.py fails when ``accelsim --help`` imports numpy, pandas or numba, and on any
  import circle.
"""
from __future__ import annotations

import gc
import importlib
import re
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from .cli_types import SECONDS
from .cli_types import refuse_unused as _refuse_unused
from .errors import AccelsimError, SpecError, user_errors
from .notices import set_compile_notice
from .spec.hw import PRECISION_BITS, TIMING_MODELS
from .version import __version__

#: Commands defined in their own modules, imported on first use: name -> "module:attribute".
COMMANDS = {
    "calibrate": "accelsim.gpu.command:calibrate",
    "compare": "accelsim.report.cli:compare",
    "cosim": "accelsim.rtl.cli:cosim",
    "llm": "accelsim.llm.command:llm",
    "report": "accelsim.report.cli:report",
    "serve": "accelsim.serve.command:serve",
    "sweep": "accelsim.sweep.cli:sweep",
}

TIMING_CHOICES = click.Choice(sorted(TIMING_MODELS))
#: accelsim.model.FIDELITIES (tests/test_layers.py checks they agree).
FIDELITY_CHOICES = ("analytical", "cycle")
#: accelsim.workload_stats.FORMATS (tests/test_layers.py checks they agree).
STATS_FORMATS = ("table", "csv", "json")


class LazyGroup(click.Group):
    """A click group that also serves the commands of :data:`COMMANDS`, importing each module
    only when that command is needed."""

    def __init__(self, *args, lazy_commands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx, cmd_name):
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module, _, attribute = self.lazy_commands[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="accelsim")
def main():
    """accelsim: simulate DNN and LLM workloads on accelerators (systolic and multicast arrays, any
    architecture tree, GPUs) and explore dataflows, mappings and serving.

    Inputs are YAML files in hw/, workloads/ and dataflows/, or the names of built-in presets
    (see `accelsim list`).
    """
    set_compile_notice(_compile_notice)


def _compile_notice(what, seconds) -> None:
    estimate = "" if seconds is None else f", ~{seconds:.0f} s"
    click.echo(f"compiling kernels, first run only{estimate} ({what})", err=True)


@contextmanager
def _engine_imports(module: str):
    """The cyclic garbage collector off while a command first imports numpy and numba, then those
    modules' objects frozen (gc.freeze) so that no later collection
    scans them again: 0.09-0.16 s of CPU a warm one-layer ``accelsim run`` spent in collections
    that found next to nothing (hundreds of thousands of module objects scanned, ~290 times).
    Collections run as usual afterwards. No-op once ``module`` (what the block imports) is imported:
    a second command in one process has nothing heavy left to import."""
    if module in sys.modules:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _run_name(hw, workload, dataflow, timing) -> str:
    name = f"{workload.name}__{hw.name}__{dataflow.name}" + ("" if timing == "physical" else f"__{timing}")
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


@main.command()
@click.option("--hw", "hw_arg", required=True, metavar="FILE|PRESET",
              help="Accelerator: a hw YAML file or preset name (`accelsim list hw`): a PE array (tpu_v1, eyeriss, ...), a GPU (h200, ...) or an architecture tree of hw/trees/ (simba_like, gemmini, tpu_v4_like; trees/NAME for the tree form of any preset; hw/README.md).")
@click.option("--workload", "workload_arg", required=True, metavar="FILE|PRESET", help="Workload: a workloads YAML file or preset name.")
@click.option("--dataflow", "dataflow_arg", default=None, metavar="FILE|NAME",
              help="Dataflow: ws, os, is (systolic arrays); rs, nlr, ws_multicast, os_multicast (multicast arrays, mapped by the mapper); or a dataflows YAML file. Required except on a GPU device (h200, h100, a100), whose layers run as GEMM kernels, and on an architecture tree (hw/trees/), whose layers the tree mapper maps unless --mapping pins them.")
@click.option("--mapping", "mapping_path", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Pinned per-layer mappings for an architecture tree (docs/architecture.md, 'Mappings'; a run's mappings.yaml reads back to identical numbers; a GPU file's tree too): runs the N-level engine and writes accesses.csv, area.csv and mappings.yaml beside layers.csv.")
@click.option("--pin", "pin_path", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Architecture tree, no --mapping: fix the levels FILE names (the --mapping form; for every layer, or per layer under `layers:`) or constrain them (factors, order_inner, x_dims, keep, ...; or a Timeloop v0.4 constraints or mapping file) and let the tree mapper search the rest (docs/architecture.md, 'Mapper on trees').")
@click.option("--map-tiles", "map_tiles", is_flag=True,
              help="PE-array preset (shorthand or tree form) with --dataflow ws|os|is: keep the dataflow's rows and columns and let the tree mapper choose the global buffer's and DRAM's tile sizes and loop orders for --objective, never worse than the dataflow's own tiling where that is in the mapspace (docs/architecture.md, 'Mapper on systolic arrays'). Without --dataflow the mapper chooses the unrolling too.")
@click.option("--imperfect", is_flag=True,
              help="Tree mapper: search imperfect factorisations too (a dim's inner factors multiply to any number up to its bound, its outermost level takes the ceiling of the rest; the last tile partial), for dims that factor badly (7, 13, 55); docs/architecture.md, 'Mapper on trees'.")
@click.option("--operand-tiles", "operand_tiles", is_flag=True,
              help="Tree mapper: then search per-operand tile boundaries (tile_loops) for the loop nest it chose, so that one operand's tile at a level may span more loops than another's; never worse than one tile per level; not under counting: timeloop; docs/architecture.md, 'Mapper on trees'.")
@click.option("--timing", type=TIMING_CHOICES, default=None,
              help="Cycle conventions: physical (what an RTL array does) or scalesim (SCALE-Sim 3.0.0's). Default: the hw file's `timing`. An architecture tree run takes its file's `timing` (also throughput or zigzag) and refuses this flag.")
@click.option("--energy", "energy_arg", default=None, metavar="FILE|TABLE",
              help="Energy table (hw/energy/): horowitz_45nm, accelergy_65nm, eyeriss_isca2016 or a file. Default: the hw file's `energy_table` (on a GPU's tree, --mapping: only the energies its levels state; docs/silicon.md).")
@click.option("--objective", type=click.Choice(["cycles", "energy", "edp"]), default="edp", show_default=True,
              help="What the mapper minimises for loop-nest dataflows (rs, nlr, ...) and on architecture trees: cycles, energy or energy-delay product.")
@click.option("--time-limit", "time_limit", type=SECONDS, default=None, metavar="SECONDS",
              help="Per-layer mapper time limit; the best mapping found so far is used (the table says whether the search completed).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder for layers.csv, accesses.csv and manifest.json (an architecture tree's run adds area.csv, mappings.yaml and, mapped, pareto.csv). Default: results/<workload>__<hw>__<dataflow>/.")
@click.option("--fidelity", type=click.Choice(FIDELITY_CHOICES), default="analytical", show_default=True,
              help="analytical (per-layer totals from the loop-nest analysis) or cycle (the cycle-level simulator: ws, os, is; adds per-buffer SRAM and DRAM bandwidth columns; docs/cycle.md).")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="With --fidelity cycle: write the compact trace (SRAM streams per fold, DRAM transfers) to FILE (.csv.gz, .csv or .parquet).")
@click.option("--array", default=None, metavar="ROWSxCOLS", help="Replace the hw file's array size (as `accelsim sweep --array`).")
@click.option("--sram-kb", "sram_kb", default=None, metavar="KIB|I/F/O",
              help="Replace the hw file's SRAM sizes in KiB: one number for all three buffers, or IFMAP/FILTER/OFMAP.")
@click.option("--dram-bw", "dram_bw", default=None, metavar="BYTES_PER_CYCLE|unlimited",
              help="Replace the hw file's DRAM bandwidth.")
@click.option("--quiet", is_flag=True, help="Print only the network totals line.")
@click.option("--force", is_flag=True, help="Write into a non-empty output folder, replacing its results (and removing its stale report.html); replace an existing --trace file.")
@user_errors
def run(hw_arg, workload_arg, dataflow_arg, mapping_path, pin_path, map_tiles, imperfect, operand_tiles, timing, energy_arg,
        objective,
        time_limit, fidelity, trace_path, out_dir, array, sram_kb, dram_bw, quiet, force):
    """Simulate a workload on an accelerator under a dataflow; one row per layer.

    Writes DIR/layers.csv (the per-layer table: cycles, utilization, SRAM and DRAM accesses in
    words, DRAM bytes, roofline coordinates, energy per level and operand in pJ), DIR/accesses.csv
    (one row per layer, level and operand: reads, writes, fills, updates, energy_pj, bandwidth-bound
    cycles; docs/architecture.md) and DIR/manifest.json (inputs with content and hash, the energy table, versions, totals), then
    prints a per-layer summary and the network totals. A non-empty DIR is refused unless --force.

    On a GPU device (--hw h200, no --dataflow) each layer runs as the kernels the GPU model picks:
    layers.csv has the time split (compute, quantization, memory, overhead, launch); on a device with
    an architecture tree (h200) the GEMM kernels are also counted on it per level (accesses.csv,
    area.csv, mappings.yaml; docs/silicon.md).

    Example: accelsim run --hw tpu_v1 --workload mobilenet_v1 --dataflow ws
    """
    if trace_path is not None and fidelity != "cycle":
        raise click.UsageError("--trace needs --fidelity cycle")
    if trace_path is not None and trace_path.exists() and not force:
        raise AccelsimError(f"{trace_path}: exists; add --force to replace it, or choose another --trace")
    if pin_path is not None and mapping_path is not None:
        raise click.UsageError("--pin fixes part of each mapping for the tree mapper; --mapping pins whole mappings: "
                               "give one of them")
    tree_unused = ("timing", "time_limit", "fidelity", "trace_path", "array", "sram_kb", "dram_bw")
    if mapping_path is not None:
        _refuse_unused(("dataflow_arg", "objective", "map_tiles", "imperfect", "operand_tiles") + tree_unused,
                       "a run under pinned --mapping mappings")
        with _engine_imports("accelsim.loopnest.command"):
            from .loopnest.command import run_tree
        return run_tree(hw_arg, workload_arg, mapping_path, energy_arg, out_dir, quiet, force)
    with _engine_imports("accelsim.model"):
        from . import model, results, spec
    hw_data = spec.load_yaml(spec.resolve("hw", hw_arg))
    if spec.is_gpu(hw_data):
        _refuse_unused(("dataflow_arg", "map_tiles", "pin_path", "imperfect", "operand_tiles", "timing", "energy_arg",
                        "objective") + tree_unused, "a GPU device run (its layers run as the kernels the GPU model picks)")
        return _run_gpu(hw_arg, workload_arg, out_dir, quiet, force)
    if map_tiles or (dataflow_arg is None and spec.is_arch_tree(hw_data)):
        _refuse_unused(tree_unused, "the tree mapper (--map-tiles, or an architecture tree without --dataflow)")
        with _engine_imports("accelsim.loopnest.command"):
            from .loopnest.command import run_tree
        return run_tree(hw_arg, workload_arg, None, energy_arg, out_dir, quiet, force, objective=objective,
                        pin_path=pin_path, dataflow_arg=dataflow_arg if map_tiles else None, imperfect=imperfect,
                        operand_tiles=operand_tiles)
    _refuse_unused(("imperfect", "operand_tiles"), "a run under a dataflow (the tree mapper takes it: an architecture tree, or --map-tiles)")
    if pin_path is not None:
        raise click.UsageError("--pin needs the tree mapper: an architecture tree (hw/trees/) and no --dataflow, "
                               "or --map-tiles")
    if dataflow_arg is None:
        raise click.UsageError("Missing option '--dataflow'. (Or give --mapping to run an architecture tree "
                               "under pinned mappings.)")
    paths = {"hw": spec.resolve("hw", hw_arg), "workload": spec.resolve("workloads", workload_arg),
             "dataflow": spec.resolve("dataflows", dataflow_arg)}
    problems = []
    loaded = {}
    for kind, loader in (("hw", spec.load_hardware), ("workload", spec.load_workload),
                         ("dataflow", spec.load_dataflow)):
        try:
            loaded[kind] = loader(paths[kind])
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    hw, workload, dataflow = loaded["hw"], loaded["workload"], loaded["dataflow"]
    if dataflow.engine != "loopnest":
        _refuse_unused(("objective", "time_limit"), f"dataflow {dataflow.name}, whose mapping is fixed (the mappers "
                       "take it: a loop-nest dataflow such as rs, an architecture tree, or --map-tiles)")
    overrides = {"array": array, "sram_kb": sram_kb, "dram_bw": dram_bw}
    if any(v is not None for v in overrides.values()):
        from .sweep.space import hw_variant
        hw = hw_variant(hw, **overrides)
    timing = timing or hw.timing
    out_dir = out_dir or Path("results") / (_run_name(hw, workload, dataflow, timing) + "".join(
        re.sub(r"[^A-Za-z0-9_.-]+", "-", f"__{key}{value}") for key, value in overrides.items() if value is not None))
    results.check_out_dir(out_dir, force)
    table = spec.energy_table_for(hw, energy_arg)
    paths["energy_table"] = Path(table.file)
    def progress(index, count, layer_name, seconds):
        click.echo(f"mapped {layer_name} ({index}/{count}) in {seconds:.3f} s", err=True)

    def simulate(trace=None):
        return model.simulate_table(hw, workload, dataflow, timing=timing, energy_table=table, objective=objective,
                                    time_limit_s=time_limit, progress=None if quiet else progress, fidelity=fidelity,
                                    trace=trace)
    if trace_path is None:
        frame = simulate()
    else:
        from .sim.trace import TraceWriter
        with TraceWriter(trace_path) as writer:
            frame = simulate(writer)
    total = results.totals(frame, hw.num_pes)
    options = {"hw": str(hw_arg), "workload": str(workload_arg), "dataflow": str(dataflow_arg), "timing": timing,
               "energy_table": table.name, "fidelity": fidelity}
    if trace_path is not None:
        options["trace"] = str(trace_path)
    options.update({key: value for key, value in overrides.items() if value is not None})
    if dataflow.engine == "loopnest":
        options.update(objective=objective, time_limit_s=time_limit)
    summary = results.format_summary(frame, total)
    click.echo(summary.splitlines()[-1] if quiet else summary)
    try:
        csv_path, manifest_path = results.write_run(frame, out_dir, results.manifest(paths, options, total))
        results.accesses_from_layers(frame, hw).to_csv(out_dir / "accesses.csv", index=False)
    except OSError as exc:
        raise AccelsimError(f"{out_dir}: cannot write results ({exc.strerror}); the summary above "
                            "is complete; choose a writable --out to keep the table") from None
    click.echo(f"\nwrote {csv_path}, {out_dir / 'accesses.csv'} and {manifest_path}"
               + (f" (trace: {trace_path})" if trace_path else ""))

def _run_gpu(hw_arg, workload_arg, out_dir, quiet, force) -> None:
    """`accelsim run` on a GPU device: each layer as its kernel (accelsim/gpu/layers.py); its tables
    are accelsim.table.Tables (no pandas on the run's path)."""
    from . import results, spec
    from .gpu.layers import COLUMNS, layer_rows
    from .table import Table, group_sums, to_string
    paths = {"hw": spec.resolve("hw", hw_arg), "workload": spec.resolve("workloads", workload_arg)}
    hw, workload = spec.load_hw(paths["hw"]), spec.load_workload(paths["workload"])
    out_dir = out_dir or Path("results") / re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{workload.name}__{hw.name}")
    results.check_out_dir(out_dir, force)
    frame = Table.from_records(layer_rows(hw, workload), columns=COLUMNS)
    tree = None
    if hw.tree is not None:     # the GEMM kernels as mappings of the GPU's tree, counted by the N-level engine
        from .gpu.tree import tree_problem, tree_tables
        problem = tree_problem(hw.tree)
        if problem is None:
            tree = tree_tables(hw, workload)
            for name in tree.columns.columns:
                frame[name] = tree.columns[name]
        else:
            click.echo(f"no accesses.csv, area.csv or mappings.yaml: {problem}", err=True)
    total = {"layers": len(frame), "kernels": int(frame["kernels"].sum()), "macs": int(frame["macs"].sum()),
             "time_s": float(frame["time_s"].sum()),
             **{key: float(frame[key].sum()) for key in ("compute_s", "quantization_s", "memory_s", "overhead_s",
                                                         "launch_s")}}
    if not quiet:
        view = frame[["layer", "kind", "gemm_m", "gemm_n", "gemm_k", "groups", "compute_s", "quantization_s",
                      "memory_s", "overhead_s", "launch_s", "time_s", "bound", "detail"]]
        click.echo(to_string(view, float_format=lambda v: f"{v:.4g}"))
    click.echo(f"total: {total['time_s'] * 1e3:.4g} ms on {hw.name} ({total['kernels']} kernels; compute "
               f"{total['compute_s'] * 1e3:.4g} ms, quantization {total['quantization_s'] * 1e3:.4g} ms, memory "
               f"{total['memory_s'] * 1e3:.4g} ms, overhead {total['overhead_s'] * 1e3:.4g} ms, launch "
               f"{total['launch_s'] * 1e3:.4g} ms; CUDA-graph replay)")
    if tree is not None and not quiet and len(tree.accesses):
        words = group_sums(tree.accesses, ["level"], ["reads", "writes"])
        click.echo("traffic on the tree (N-level engine, words read / written, MAC layers; accesses.csv): "
                   + "; ".join(f"{r['level']} {int(r['reads']):,} / {int(r['writes']):,}" for r in words.rows()))
    if tree is not None:        # area.csv's table, as a tree run records it
        from .spec.area import area_table_for
        paths["area_table"] = Path(area_table_for(hw.tree).file)
    run_manifest = results.manifest(paths, {"hw": str(hw_arg), "workload": str(workload_arg), "engine": "gpu kernels"},
                                    Table.from_records([total]))
    try:
        csv_path, manifest_path = results.write_run(frame, out_dir, run_manifest)
        written = [csv_path]
        if tree is not None:
            written += _write_gpu_tree(hw, tree, out_dir)
    except OSError as exc:
        raise AccelsimError(f"{out_dir}: cannot write results ({exc.strerror}); the summary above "
                            "is complete; choose a writable --out to keep the table") from None
    click.echo(f"\nwrote {', '.join(map(str, written))} and {manifest_path}")


def _write_gpu_tree(hw, tree, out_dir: Path) -> list:
    """accesses.csv, area.csv and mappings.yaml of a GPU run whose device has an architecture tree
    (accelsim/gpu/tree.py); returns their paths."""
    import yaml

    from .loopnest.tree import mappings_document
    tree.accesses.to_csv(out_dir / "accesses.csv", index=False)
    tree.area.to_csv(out_dir / "area.csv", index=False)
    (out_dir / "mappings.yaml").write_text(
        "# Each GEMM kernel's configuration (tile, split-K) as a mapping of the device's tree; accelsim run\n"
        f"# --hw {hw.name} --mapping reads it back (docs/silicon.md, docs/architecture.md)\n"
        + yaml.safe_dump(mappings_document(hw.tree, tree.mappings), sort_keys=False, default_flow_style=None,
                         width=100))
    return [out_dir / name for name in ("accesses.csv", "area.csv", "mappings.yaml")]


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@user_errors
def validate(files):
    """Check hw, workload and dataflow YAML files; report every problem in each file.

    The kind of each file is taken from its folder (hw/, workloads/, dataflows/) or its keys.
    Exits 1 if any file is invalid.
    """
    from . import spec
    failures = []
    for path in files:
        try:
            kind, obj = spec.load_any(path)
        except AccelsimError as exc:
            failures.append(str(exc))
            continue
        click.echo(f"ok  {path} ({kind}: {obj.name})")
    if failures:
        raise AccelsimError("\n".join(failures))


@main.command(name="list")
@click.argument("kind", required=False, type=click.Choice(["hw", "workloads", "dataflows", "energy", "llm"]))
@user_errors
def list_(kind):
    """List the built-in presets: hardware, workloads, dataflows, energy tables and LLM configs."""
    from . import spec
    for k in ([kind] if kind else ["hw", "workloads", "dataflows", "energy", "llm"]):
        click.echo(f"{k}:")
        if k == "llm":
            from .llm.counts import param_counts
            from .llm.lower import model_names, resolve_llm_config
            for name in model_names():
                cfg = resolve_llm_config(name)
                click.echo(f"  {name:<22} {cfg.num_layers} layers, hidden {cfg.hidden_size}, "
                           f"{param_counts(cfg).total:,} parameters")
            continue
        for name in spec.builtin_names(k):
            obj = spec.load(k, name)
            click.echo(f"  {name:<22} {_describe(k, obj)}")
        if k == "hw":
            click.echo("hw (architecture trees, hw/trees/; --hw NAME, or trees/NAME where hw/ has that name too):")
            from .spec.arch import load_arch
            for name in spec.tree_preset_names():
                tree = load_arch(spec.resolve(k, f"trees/{name}"))
                click.echo(f"  trees/{name:<16} {tree.summary().removeprefix('architecture tree: ')}")


def _describe(kind, obj) -> str:
    if kind == "hw" and hasattr(obj, "summary"):      # an architecture tree (accelsim/spec/arch.py)
        return obj.summary()
    if kind == "hw" and obj.interconnect == "gpu":
        return (f"GPU {obj.precision}, {obj.sms} SMs, {obj.peak_flops_per_s / 1e12:g} TFLOP/s peak "
                f"({obj.fitted.sustained_tflops:g} sustained), HBM {obj.dram_bandwidth_bytes_per_s / 1e9:g} GB/s "
                f"(for accelsim llm and run; docs/silicon.md)")
    if kind == "hw" and obj.interconnect == "roofline":
        return (f"ideal roofline {obj.precision}, {obj.peak_flops_per_s / 1e12:g} TFLOP/s, "
                f"DRAM {obj.dram_bandwidth_bytes_per_s / 1e9:g} GB/s (for accelsim llm)")
    if kind == "hw":
        bw = ("unlimited" if obj.dram_bandwidth_bytes_per_cycle == float("inf")
              else f"{obj.dram_bandwidth_bytes_per_cycle:g} B/cycle")
        return (f"{obj.array_rows}x{obj.array_cols} {obj.precision}, "
                f"SRAM {obj.sram_ifmap.size_bytes // 1024}/{obj.sram_filter.size_bytes // 1024}/"
                f"{obj.sram_ofmap.size_bytes // 1024} KiB, DRAM {bw}, {obj.timing} timing, energy {obj.energy_table}")
    if kind == "workloads":
        return f"{len(obj.layers)} layers, {obj.macs:,} MACs, {obj.weights:,} weights"
    if kind == "energy":
        return obj.description
    if obj.engine == "loopnest":
        return (f"{obj.long_name or obj.name}: rows may unroll [{', '.join(obj.spatial_rows)}], cols "
                f"[{', '.join(obj.spatial_cols)}], in-PE loops [{', '.join(obj.rf_dims)}] (mapper)")
    return f"{obj.long_name or obj.name}: rows [{', '.join(obj.rows)}], cols [{', '.join(obj.cols)}], time [{', '.join(obj.time)}]"


@main.group()
def workload():
    """Inspect workload files: counts, tensor sizes and bytes."""


@workload.command(name="stats")
@click.argument("file", metavar="FILE|PRESET")
@click.option("--format", "fmt", type=click.Choice(STATS_FORMATS), default="table", show_default=True,
              help="table: aligned text with a totals line; csv: one row per layer; json: layers + a totals object.")
@click.option("--precision", type=click.Choice(list(PRECISION_BITS)), default="int8", show_default=True,
              help="Element width for weight and activation bytes of layers without a precision of their own "
                   "(int4 packs two per byte).")
@user_errors
def workload_stats_cmd(file, fmt, precision):
    """Per-layer and total MACs, weights, params, tensor sizes and bytes of a workload.

    Counts follow workloads/README.md: MACs and weights of conv and FC layers only; params adds biases
    and BN (4 per channel); storage_bytes is the storage of the weight, input and output tensors ([sze2020] ch. 2); effective_macs and
    the bitmap / run-length / COO / N:M weight bytes follow the layers' sparsity annotations. The
    table shows the main columns, csv and json all of them.

    Example: accelsim workload stats resnet50 --format json --precision fp16
    """
    from . import spec, workload_stats
    frame = workload_stats.stats(spec.load("workloads", file), precision)
    click.echo(workload_stats.render(frame, workload_stats.totals(frame), fmt), nl=False)


@main.group(name="import")
def import_():
    """Convert other tools' input files into accelsim YAML."""


@import_.command(name="scalesim")
@click.option("--config", required=True, type=click.Path(path_type=Path), help="SCALE-Sim .cfg file.")
@click.option("--topology", required=True, type=click.Path(path_type=Path), help="SCALE-Sim topology .csv (conv or GEMM format).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the hw and workload YAML.")
@click.option("--format", "topology_format", type=click.Choice(["conv", "gemm"]), default=None,
              help="Topology format; detected from the header when omitted.")
@click.option("--force", is_flag=True, help="Replace the hw and workload files if --out already has them.")
@user_errors
def scalesim(config, topology, out_dir, topology_format, force):
    """Write the accelsim hw/ and workloads/ YAML equivalent to a SCALE-Sim case.

    The hw file selects SCALE-Sim-compatible timing, so `accelsim run` on the result gives
    SCALE-Sim 3.0.0's compute cycles and SRAM counts.
    """
    from .importers.scalesim import import_files
    hw_path, workload_path, dataflow = import_files(config, topology, out_dir, topology_format, overwrite=force)
    click.echo(f"wrote {hw_path} and {workload_path}")
    click.echo(f"run it: accelsim run --hw {hw_path} --workload {workload_path} --dataflow {dataflow}")


@import_.command(name="onnx")
@click.argument("model_file", metavar="MODEL.onnx", type=click.Path(path_type=Path))
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Workload YAML to write.")
@click.option("--name", default=None, help="Workload name (default: the output file's stem).")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Batch size for a symbolic batch dimension.")
@click.option("--force", is_flag=True, help="Replace the --out file if it exists.")
@user_errors
def onnx_cmd(model_file, out_file, name, batch, force):
    """Write the workload YAML of an ONNX model (Conv, Gemm, MatMul, pooling, BatchNormalization,
    Add, Concat; activations fused, reshapes dropped; see docs/onnx.md)."""
    from .importers.onnx import import_onnx
    path = import_onnx(model_file, out_file, name, batch, overwrite=force)
    click.echo(f"wrote {path}")


def _import_epilogue(result, out_dir: Path) -> None:
    """An import's notes, and the command that runs what it wrote when it pinned a mapping."""
    for note in result.notes:
        click.echo(f"note: {note}")
    if result.mapping is not None:
        click.echo(f"run it: accelsim run --hw {out_dir / 'hw.yaml'} --workload {out_dir / 'workload.yaml'} "
                   f"--mapping {out_dir / 'mapping.yaml'}")


@import_.command(name="timeloop")
@click.option("--arch", "arch_files", required=True, multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Timeloop architecture YAML (v0.3 or v0.4), or Timeloop's own parsed-processed-input.yaml "
                   "(which also holds the problem and mapping). Repeatable.")
@click.option("--components", "component_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Accelergy compound-component YAML (read for completeness; energy comes from --ert). Repeatable.")
@click.option("--problem", "problem_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Timeloop problem YAML (shape + instance).")
@click.option("--mapping", "mapping_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Timeloop mapping YAML (e.g. a *.map.yaml written by timeloop-mapper), pinned as is.")
@click.option("--ert", "ert_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Accelergy energy reference table (ERT.yaml): per-action energies of every component.")
@click.option("--art", "art_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Accelergy area reference table (ART.yaml): area per component instance.")
@click.option("--name", default=None, help="Name of the imported hw and workload (default: the first --arch file's stem).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for hw.yaml, workload.yaml and mapping.yaml.")
@click.option("--force", is_flag=True, help="Overwrite the files of a non-empty --out folder.")
@click.option("--free-bypass", is_flag=True,
              help="Without --mapping: operands a level's constraints do not make it keep become bypass choices "
                   "(may_bypass) for accelsim's mapper, as in Timeloop's mapspace (each doubles the choices); "
                   "by default they are kept, and a note names them.")
@user_errors
def timeloop_cmd(arch_files, component_files, problem_files, mapping_files, ert_files, art_files, name, out_dir, force,
                 free_bypass):
    """Write the accelsim architecture tree, workload and pinned mapping of a Timeloop case.

    Reads Timeloop's files as published (architecture tree with containers, components and
    parallel nodes; problem shape and instance; mapping directives; Accelergy ERT/ART). A
    construct accelsim does not model is listed in one error naming its file and key; nothing is
    dropped silently. See docs/import.md.
    """
    from .importers.timeloop import import_timeloop, write
    result = import_timeloop(list(arch_files) + list(component_files), problem_files, mapping_files, ert_files,
                             art_files, name, free_bypass)
    for path in write(result, out_dir, force):
        click.echo(f"wrote {path}")
    _import_epilogue(result, out_dir)


@import_.command(name="zigzag")
@click.option("--hardware", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="ZigZag hardware YAML (memories innermost first, operational_array).")
@click.option("--mapping", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="ZigZag mapping YAML: memory_operand_links and the spatial mapping (the entry named like "
                   "the layer, else 'default').")
@click.option("--workload", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="ZigZag workload: its YAML (Conv/Gemm layers) or an ONNX model (.onnx, read by accelsim's ONNX "
                   "importer, docs/onnx.md).")
@click.option("--result", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="A ZigZag output (<layer>_complete.json from its dump folder): pin the mapping ZigZag chose "
                   "(written as mapping.yaml) and import its layer.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for hw.yaml (and workload.yaml).")
@click.option("--force", is_flag=True, help="Overwrite the files of a non-empty --out folder.")
@user_errors
def zigzag_cmd(hardware, mapping, workload, result, out_dir, force):
    """Write the accelsim architecture tree (and workload) of a ZigZag hardware file.

    Memories become storage levels, outermost first; array dimensions become spatial levels placed
    where the memories stop being shared across them. See docs/import.md.
    """
    from .importers.zigzag import import_zigzag, write
    onnx_model = workload if workload is not None and workload.suffix.lower() == ".onnx" else None
    imported = import_zigzag(hardware, mapping, None if onnx_model else workload, result=result)
    onnx_text = None
    if onnx_model is not None:      # read before anything is written: a bad model leaves no half import
        from .importers.onnx import _name, onnx_workload_text
        onnx_text = onnx_workload_text(onnx_model, _name(onnx_model.stem), 1)
    for path in write(imported, out_dir, force):
        click.echo(f"wrote {path}")
    if onnx_text is not None:
        (out_dir / "workload.yaml").write_text(onnx_text, encoding="utf-8")
        click.echo(f"wrote {out_dir / 'workload.yaml'}")
    _import_epilogue(imported, out_dir)


@main.command(name="schema")
@click.argument("kind", type=click.Choice(["hw", "workloads", "dataflows", "energy", "llm", "all"]))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write <kind>.json into this folder instead of printing (with KIND all, one file per kind; the "
                   "repository's folder is schemas/).")
@user_errors
def schema_cmd(kind, out_dir):
    """Print the JSON Schema of a spec file kind, generated from accelsim's spec readers.

    Editors use it through the `# yaml-language-server: $schema=...` line of the shipped YAMLs.
    Example: accelsim schema all --out schemas/
    """
    from . import schema
    if kind == "all" and out_dir is None:
        raise AccelsimError("accelsim schema all needs --out DIR (e.g. --out schemas/)")
    if out_dir is not None:
        for path in schema.write_all(out_dir, schema.KINDS if kind == "all" else (kind,)):
            click.echo(f"wrote {path}")
    else:
        click.echo(schema.dumps(schema.generate(kind)), nl=False)


if __name__ == "__main__":
    main()
