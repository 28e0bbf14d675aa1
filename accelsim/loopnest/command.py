"""``accelsim run`` on an architecture tree: a workload under pinned per-layer mappings (``--mapping``)
or under the tree mapper's (accelsim/loopnest/tree_mapper.py), counted by the N-level engine
(accelsim/loopnest/tree.py); writes layers.csv, accesses.csv, area.csv, mappings.yaml (and, mapped,
pareto.csv) and manifest.json."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import yaml

from .. import results, spec
from ..errors import AccelsimError, PartialMapping
from ..spec.area import area_table_for
from ..spec.common import load_yaml
from ..table import Table, to_string
from .tree import load_tree_mappings, mappings_document
from .tree_run import load_tree, run_workload


def run_tree(hw_arg, workload_arg, mapping_path: Path | None, energy_arg, out_dir, quiet: bool, force: bool,
             objective: str = "edp", pin_path: Path | None = None, dataflow_arg=None, imperfect: bool = False,
             operand_tiles: bool = False) -> None:
    """Pinned mappings from ``mapping_path``, or, when it is None, every MAC layer mapped by the tree
    mapper (accelsim/loopnest/tree_mapper.py) for ``objective``; its Pareto sets go to pareto.csv.
    ``dataflow_arg``: a systolic dataflow whose unrolling the mapper keeps (``--map-tiles``);
    ``imperfect``: the mapper searches imperfect factorisations too (``--imperfect``);
    ``operand_tiles``: and per-operand tile boundaries (``--operand-tiles``)."""
    paths = {"hw": spec.resolve("hw", hw_arg), "workload": spec.resolve("workloads", workload_arg)}
    tree = load_tree(paths["hw"])
    workload = spec.load_workload(paths["workload"])
    starts = dataflow = mapping_data = pins = None
    if dataflow_arg is not None:
        paths["dataflow"] = spec.resolve("dataflows", dataflow_arg)
        dataflow = spec.load_dataflow(paths["dataflow"])
        tree, starts = _dataflow_tree(tree, dataflow, str(dataflow_arg))
    if mapping_path is not None:
        paths["mapping"] = Path(mapping_path)
        mapping_data = load_yaml(paths["mapping"])
        load_tree_mappings(mapping_data, tree, workload.layers, str(mapping_path))    # refuse before mapping
    kind = "pinned" if mapping_path is not None else f"mapped-{objective}"
    out_dir = Path(out_dir or Path("results") / f"{workload.name}__{tree.name}__{kind}")
    results.check_out_dir(out_dir, force)
    table = spec.energy_table_for(tree, energy_arg)
    paths["energy_table"] = Path(table.file)
    paths["area_table"] = Path(area_table_for(tree).file)

    def progress(index, count, layer_name, found):
        if not quiet:
            click.echo(f"mapped {layer_name} ({index}/{count}) in {found.seconds:.3f} s: "
                       f"{found.evaluated:,} mappings evaluated "
                       f"({'exhaustive' if found.exhaustive else 'local search'})", err=True)
    if pin_path is not None:
        paths["pin"] = Path(pin_path)
        pins = load_yaml(paths["pin"])
        from ..importers import timeloop_constraints
        if timeloop_constraints.is_timeloop(pins):
            pins = timeloop_constraints.read(paths["pin"], tree)
    try:
        done = run_workload(tree, workload, table, mapping_data, str(mapping_path), objective, pins, str(pin_path),
                            starts, imperfect, progress, operand_tiles)
    except PartialMapping as exc:
        raise AccelsimError(str(exc) + _keep_partial(out_dir, tree, exc.found)) from None
    layers, accesses, mappings, pareto = done.layers, done.accesses, done.mappings, done.pareto
    unpriced = energy_arg is None and spec.is_gpu(load_yaml(paths["hw"]))
    if unpriced:        # a GPU's tree: energy as the kernel run prices it (accelsim/gpu/tree.py)
        from ..gpu.tree import unpriced as gpu_unpriced
        layers, accesses = gpu_unpriced(tree, layers, accesses)
    if dataflow is not None and mapping_path is None:
        layers = _dataflow_columns(layers, tree, workload, table, dataflow, starts)
    mac = layers.take(np.flatnonzero(layers["macs"] > 0))
    energy = layers.get("energy_pj")
    t = {"workload": workload.name, "hw": tree.name, "macs": int(layers["macs"].sum()),
         "total_cycles": int(layers["total_cycles"].sum()), "compute_cycles": int(layers["compute_cycles"].sum()),
         "stall_cycles": int(layers["stall_cycles"].sum()),    # energy: NaN (no MACs) skipped, as pandas' sum
         "energy_pj": 0.0 if energy is None else float(np.where(np.isnan(energy), 0.0, energy).sum())}
    if unpriced and np.isnan(mac["energy_pj"]).any():
        t["energy_pj"] = float("nan")
    total = Table.from_records([t])
    if not quiet:
        click.echo(to_string(mac[["layer", "macs", "compute_cycles", "stall_cycles", "total_cycles", "binding_level",
                                  "energy_pj"]]))
        skipped = len(layers) - len(mac)
        if skipped:
            click.echo(f"\n{skipped} layer(s) without MACs (pooling, adds, ...) have zero rows: the vector unit "
                       "is not part of an architecture tree yet")
    how = "pinned mappings" if mapping_path is not None else f"mapped for {objective}"
    click.echo(f"\n{workload.name} on {tree.name}, {how}: {t['macs']:,} MACs in {t['total_cycles']:,} cycles "
               f"({t['compute_cycles']:,} compute, {t['stall_cycles']:,} stall); "
               + (f"energy {t['energy_pj'] / 1e6:,.2f} uJ" if not np.isnan(t["energy_pj"]) else
                  "energy unknown (no published per-access energies of this GPU's memories; accesses.csv's "
                  "energy_source says why per level)"))
    options = {"hw": str(hw_arg), "workload": str(workload_arg), "energy_table": table.name}
    options.update({"mapping": str(mapping_path)} if mapping_path is not None else {"objective": objective})
    if dataflow is not None:
        options.update(dataflow=str(dataflow_arg), map_tiles=True)
    if pin_path is not None:
        options["pin"] = str(pin_path)
    try:
        csv_path, manifest_path = results.write_run(layers, out_dir, results.manifest(paths, options, total))
        accesses.to_csv(out_dir / "accesses.csv", index=False)
        done.area.to_csv(out_dir / "area.csv", index=False)
        (out_dir / "mappings.yaml").write_text(
            "# accelsim run --mapping reads this back: per layer, each storage level's temporal loops\n"
            "# ([dim, trips], outermost first) and each spatial level's unrolling (x, y); docs/architecture.md\n"
            + yaml.safe_dump(mappings_document(tree, mappings), sort_keys=False, default_flow_style=None, width=100))
        if pareto is not None:
            pareto.to_csv(out_dir / "pareto.csv", index=False)
    except OSError as exc:
        raise AccelsimError(f"{out_dir}: cannot write results ({exc.strerror}); choose a writable --out") from None
    extra = f", {out_dir / 'pareto.csv'}" if pareto is not None else ""
    click.echo(f"wrote {csv_path}, {out_dir / 'accesses.csv'}, {out_dir / 'area.csv'}, {out_dir / 'mappings.yaml'}"
               f"{extra} and {manifest_path}")


def _dataflow_tree(tree, dataflow, where: str):
    """``--map-tiles --dataflow``: the tree restricted to the dataflow's unrolling and, on a tree of
    the shorthand's shape, each layer's start mapping: the dataflow's own tiling where it is in the
    mapspace (accelsim/loopnest/systolic.py)."""
    from ..spec.arch_shorthand import contract, shape_problems
    from .systolic import dataflow_tree, tree_mapping
    if dataflow.engine != "systolic":
        raise AccelsimError(f"{where}: --map-tiles keeps a systolic dataflow's unrolling (ws, os, is); "
                            f"{dataflow.name} is a loop-nest dataflow, which the two-level mapper maps already "
                            "(drop --map-tiles)")
    restricted = dataflow_tree(tree, dataflow)
    if shape_problems(tree):
        return restricted, None
    hw = contract(tree)

    def starts(layer):
        mapping = tree_mapping(layer, hw, dataflow, restricted)
        return () if mapping is None else (mapping,)
    return restricted, starts


def _dataflow_columns(layers, tree, workload, table, dataflow, starts):
    """``dataflow`` names the unrolling kept; ``dataflow_tiling_total_cycles`` and
    ``dataflow_tiling_energy_pj``: the dataflow's own tiling on the tree (empty where no tree
    mapping has its counts, or it does not fit), to compare with the mapper's;
    ``dataflow_tiling_in_mapspace``: whether that tiling is in the mapper's mapspace (perfect
    factors; a partial last fold is not), where the mapper's result is never worse than it."""
    from ..errors import SpecError
    from .mapper import problem_array
    from .tree import evaluate_tree
    layers = layers.copy()
    layers.set_rows("dataflow", layers["macs"] > 0, f"mapper ({dataflow.name} unrolling)")
    cycles, energy, inside = {}, {}, {}
    for layer in workload.layers:
        for mapping in (starts(layer) if starts is not None and layer.is_mac else ()):
            try:
                cost = evaluate_tree(tree, layer, mapping, table)
            except SpecError:
                continue
            cycles[layer.name], energy[layer.name] = cost.total_cycles, cost.total_energy_pj
            product = mapping.extents()
            inside[layer.name] = [product[d] for d in "NMCEFRS"] == [int(b) for b in problem_array(layer, dilated_windows=True)[:7]]
    names = layers["layer"].tolist()
    # pandas' nullable Int64 and boolean columns, as written: the value, or empty where there is none
    layers["dataflow_tiling_total_cycles"] = np.array([cycles.get(name) for name in names], dtype=object)
    layers["dataflow_tiling_energy_pj"] = np.array([energy.get(name, np.nan) for name in names], dtype=np.float64)
    layers["dataflow_tiling_in_mapspace"] = np.array([inside.get(name) for name in names], dtype=object)
    return layers


def _keep_partial(out_dir: Path, tree, found: dict) -> str:
    """The mapped layers' mappings written to ``out_dir/mappings.partial.yaml`` when other layers
    could not be mapped (nothing computed is lost); the sentence the error ends with."""
    if not found:
        return ""
    path = out_dir / "mappings.partial.yaml"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_text("# accelsim run --pin reads this back: the layers mapped before the run stopped; the\n"
                        "# layers the error names are missing (docs/architecture.md)\n"
                        + yaml.safe_dump(mappings_document(tree, {n: r.mapping for n, r in found.items()}),
                                         sort_keys=False, default_flow_style=None, width=100))
    except OSError as exc:
        return f"\n(the {len(found)} mapped layer(s) could not be kept: {exc.strerror})"
    return (f"\nThe {len(found)} mapped layer(s) are kept in {path}: after the fix, run again with `--pin {path} "
            "--force` (its layers: entries merged into your own pin file, if you use one) to reuse them without "
            "searching again")
