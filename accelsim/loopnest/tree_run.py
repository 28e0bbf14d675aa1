"""One workload on an architecture tree, without I/O: any hw file as a tree, every MAC layer under a
pinned mapping or the tree mapper's, counted by the N-level engine; shared by ``accelsim run``
(accelsim/loopnest/command.py) and the Python API's :func:`accelsim.simulate_tree`."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import spec
from ..errors import AccelsimError
from ..spec.arch import arch_from_dict, is_arch_tree
from ..spec.arch_shorthand import expand
from ..spec.area import area_rows, area_table_for
from ..spec.common import load_yaml
from ..table import Table
from .tree import load_tree_mappings, mapping_sources, simulate_tree


@dataclass(frozen=True)
class TreeRun:
    """``layers``: one row per layer (totals, per-level ``<level>_<operand>_reads|writes``,
    ``stall_<level>_cycles``, ``area_mm2_<level>``; mapped: the search's columns); ``accesses``:
    one row per (layer, level, operand) (accesses.csv); ``area``: one row per level with its source,
    then the total (area.csv); ``mappings``: layer name -> TreeMapping (``mappings.yaml``);
    ``pareto``: the mapper's Pareto mappings (pareto.csv), None under pinned mappings;
    ``found``: the mapper's per-layer results, None under pinned mappings. The tables are
    accelsim.table.Tables from :func:`run_workload` (``accelsim run`` writes them without
    importing pandas), DataFrames from :meth:`to_pandas` (the Python API)."""

    layers: Table
    accesses: Table
    area: Table
    mappings: dict
    pareto: Table | None = None
    found: dict | None = None

    def to_pandas(self) -> TreeRun:
        """The same run with its tables as pandas DataFrames."""
        return replace(self, layers=self.layers.to_pandas(), accesses=self.accesses.to_pandas(),
                       area=self.area.to_pandas(), pareto=None if self.pareto is None else self.pareto.to_pandas())


def load_tree(path) -> spec.ArchTree:
    """Any PE-array hw file as a tree: a tree file as written, a shorthand file expanded, a GPU
    device's ``levels:`` (hw/h200.yaml) as its tree."""
    data = load_yaml(Path(path))
    if spec.is_gpu(data):
        from ..spec.gpu import gpu_from_dict
        gpu = gpu_from_dict(data, str(path))
        if gpu.tree is None:
            raise AccelsimError(f"{path}: this GPU device has no architecture tree (levels:), so --mapping has "
                                "nothing to run on; run it without --mapping (its layers as GEMM kernels)")
        return gpu.tree
    if is_arch_tree(data):
        return arch_from_dict(data, str(path))
    return expand(spec.load_hardware(path))


def run_workload(tree: spec.ArchTree, workload, table, mapping_data=None, mapping_file: str = "<mapping>",
                 objective: str = "edp", pins=None, pin_file: str = "<pins>", starts=None, imperfect: bool = False,
                 progress=None, operand_tiles: bool = False) -> TreeRun:
    """``workload`` on ``tree`` with energy table ``table``: under ``mapping_data`` (a parsed mapping
    file: ``{layers: {name: mapping}}`` or one mapping; problems name ``mapping_file``) or, when it
    is None, the tree mapper's mappings for ``objective`` (``pins``, ``starts``, ``imperfect``,
    ``operand_tiles`` and ``progress`` as :func:`accelsim.loopnest.tree_mapper.map_workload` takes them)."""
    found = pareto = sources = None
    if mapping_data is not None:
        mappings = load_tree_mappings(mapping_data, tree, workload.layers, mapping_file)
        sources = mapping_sources(mapping_data, workload.layers, mapping_file)
    else:
        from .tree_mapper import map_workload
        found = map_workload(tree, workload, table, objective, progress=progress, pins=pins, pin_file=pin_file,
                             starts=starts, imperfect=imperfect, operand_tiles=operand_tiles)
        mappings = {name: result.mapping for name, result in found.items()}
    layers, accesses = simulate_tree(tree, workload, mappings, table, sources)
    layers = shorthand_columns(layers, tree, workload)
    if found is not None:
        from .tree_mapper import search_columns
        layers, pareto = search_columns(layers, found, tree, objective, imperfect)
    area = Table.from_records(area_rows(tree, area_table_for(tree)))
    return TreeRun(layers=layers, accesses=accesses, area=area, mappings=mappings, pareto=pareto, found=found)


#: Columns of the shorthand's results table (accelsim/columns.py) a tree run fills with the same
#: meaning: the layer's shape, its GEMM view, the words read from and written to DRAM (the backing
#: store, whatever the tree names it) and the compute utilization.
SHAPE_COLUMNS = ("N", "C", "H", "W", "M", "R", "S", "stride_h", "stride_w", "pad_h", "pad_w", "E", "F", "groups")
DRAM_COLUMNS = (("ifmap", "reads"), ("filter", "reads"), ("ofmap", "writes"), ("ofmap", "reads"))


def shorthand_columns(layers: Table, tree: spec.ArchTree, workload) -> Table:
    """``layers`` with the shorthand table's columns that mean the same on a tree: ``timing``,
    ``layer_type`` (``depthwise`` for a depthwise conv, as the shorthand says), the layer's shape
    (``N`` ... ``groups``), ``gemm_p`` / ``gemm_m`` / ``gemm_k``, ``dram_<operand>_reads|writes``
    (the backing store's counts) and ``compute_utilization`` (MACs / (compute cycles x MACs of the
    tree))."""
    layers = layers.copy()
    by_name = {layer.name: layer for layer in workload.layers}
    shape = {c: [] for c in SHAPE_COLUMNS + ("gemm_p", "gemm_m", "gemm_k")}
    kinds = []
    for name in layers["layer"].tolist():
        layer = by_name[name]
        for c in SHAPE_COLUMNS:
            shape[c].append(int(getattr(layer, c)))
        shape["gemm_p"].append(layer.N * layer.E * layer.F)
        shape["gemm_m"].append(layer.M // layer.groups)
        shape["gemm_k"].append((layer.C // layer.groups) * layer.R * layer.S)
        kinds.append("depthwise" if layer.is_mac and layer.is_depthwise else layer.kind)
    layers["layer_type"] = kinds
    layers.insert(list(layers.columns).index("dataflow") + 1, "timing", tree.timing)
    for c, values in shape.items():
        layers[c] = np.array(values, dtype=np.int64)
    store = tree.levels[0].name
    for op, what in DRAM_COLUMNS:
        column = f"{store}_{op}_{what}"
        layers[f"dram_{op}_{what}"] = layers[column] if column in layers else 0
    compute = layers["compute_cycles"]
    busy = compute > 0
    layers["compute_utilization"] = np.where(busy, layers["macs"] / np.where(busy, compute, 1) / tree.num_macs, 0.0)
    return layers
