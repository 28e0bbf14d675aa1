"""A GPU's GEMM kernels as mappings on its architecture tree, counted by the N-level engine.

``hw/h200.yaml`` writes its memory hierarchy as an architecture tree (``levels:``, docs/architecture.md):
HBM -> L2 -> SMs (spatial) -> SharedMemory -> TensorCores (spatial) -> RegisterFile -> TensorCoreMACs
(spatial) -> MAC. The kernel model (:func:`accelsim.gpu.kernels.gemm_choice`) picks each GEMM's
configuration: a thread-block tile ``BM x BN`` and split-K slices ``s``. :func:`kernel_mapping` writes
that configuration as a mapping of the tree, so that the one engine (accelsim/kernels/nest.py, through
:func:`accelsim.loopnest.tree.evaluate_tree`) counts every level's traffic:

- ``TensorCoreMACs``: 16 output columns (M) x 32 of the reduction (C) per tensor core and cycle;
- ``RegisterFile``: the tile's FP32 accumulators, a quarter of the tile per tensor core (the tile's
  rows and ``BN / 64`` column groups as its loops), kept there while K streams;
- ``TensorCores``: the tile's columns split over the four tensor cores (warp tiles);
- ``SharedMemory``: one K step of the tile's operands, ``BM x 32`` of A and ``32 x BN`` of B
  (no loops of its own: the stage is refilled every K step);
- ``SMs``: the tiles of a wave spread over the SMs (output columns first, then rows) and the split-K
  slices (C, each SM adding its partial sums into L2: a unicast network does not reduce);
- ``L2``: the remaining tiles (waves) as temporal loops, then K streamed innermost: blocks of 32
  channels, and in each every filter tap (R, S), as CUTLASS's implicit GEMM walks K, loading the tile's
  input pixels once per tap and channel block and skipping the taps that fall in the padding
  ([cutlass]: media/docs/implicit_gemm_convolution.md, "Loading Activations and Filters");
- ``HBM``: bands of tiles only when one layer's operands do not fit in the 50 MB L2 (a band along
  the output columns keeps all of A in L2, one along the rows all of B; both only when neither fits,
  and then the cheaper operand is read again per band); when the kernel model's raster reads its
  shared operand more than once (:func:`accelsim.gpu.kernels.gemm_raster`: it exceeds the L2), the
  raster's waves, K streamed from HBM inside each, so the shared operand crosses HBM once per wave.

A conv's tile is ``BM`` output pixels as whole output rows (``F``, then ``E``, then ``N``), the
rectangle nearest the implicit GEMM's linear range of ``BM`` pixels; a GEMM's is ``BM`` rows exactly.
Counts are exact integers in words (bf16 operands, FP32 partial sums). What they check and where
they differ from the kernel model's own formulas: docs/silicon.md ("The device model").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError
from ..table import Table, concat
from ..loopnest.tree import TreeMapping, evaluate_tree

#: The tree levels a kernel mapping names (hw/h200.yaml's levels:).
LEVELS = ("HBM", "L2", "SMs", "SharedMemory", "TensorCores", "RegisterFile", "TensorCoreMACs")
#: MACs of one tensor core per cycle: output columns (M) x reduction (C) (hw/h200.yaml).
MAC_COLUMNS, MAC_DEPTH, TENSOR_CORES = 16, 32, 4
#: Why accesses.csv has no energy for a level of a GPU tree (one without read_energy_pj and
#: write_energy_pj of its own): no public per-access energies of a GPU's memories exist to price it with,
#: and the tree's energy table describes other chips (docs/silicon.md, "The device model").
NO_ENERGY = ("unknown: no published per-access energy of {level} on this GPU; give the level read_energy_pj "
             "and write_energy_pj to price it (the energy table {table} describes other chips)")


@dataclass(frozen=True)
class KernelConfig:
    """The kernel model's choice for one GEMM (:func:`accelsim.gpu.kernels.gemm_choice`): tile rows and
    columns, split-K slices; and its raster (:func:`accelsim.gpu.kernels.gemm_raster`): the operand
    every wave reads in full (``A`` or ``B``) and how many times it crosses HBM (``reads`` > 1 when it
    does not fit in the L2)."""

    rows: int
    cols: int
    slices: int
    shared: str = "A"
    reads: float = 1.0


def _split_columns(width: int, cols: int) -> tuple:
    """(MAC lanes, tensor cores, register-file column groups) covering ``width`` output columns of a
    ``cols``-wide tile: exactly ``cols`` when the tile is full width (16 x 4 x cols/64 on Hopper's
    tiles), else at least ``width`` with each factor within it."""
    if width == cols:
        lanes = math.gcd(width, MAC_COLUMNS)
        cores = math.gcd(width // lanes, TENSOR_CORES)
        return lanes, cores, width // (lanes * cores)
    lanes = min(MAC_COLUMNS, width)
    cores = min(TENSOR_CORES, -(-width // lanes))
    return lanes, cores, -(-width // (lanes * cores))


def pixel_tile(layer, rows: int) -> dict:
    """The output pixels of one ``rows``-row tile as whole output rows: ``{F: f, E: e, N: n}``."""
    f = min(layer.F, rows)
    e = min(layer.E, max(1, rows // f))
    n = min(layer.N, max(1, rows // (f * e)))
    return {"F": f, "E": e, "N": n}


def kernel_mapping(layer, config: KernelConfig, sms: int, bands: tuple = (1, 1), band_dim: str | None = None,
                   columns_first: bool = True, stream_k: bool = False) -> TreeMapping:
    """The mapping of ``layer``'s GEMM kernel under ``config`` on a tree of ``sms`` SMs (module
    docstring). ``bands``: (row bands, column bands) at HBM; ``band_dim``: the pixel dimension the
    row bands split (default the one with the most tiles); ``columns_first``: the column bands are
    the outer HBM loop (A is read once per column band, B once) or the inner one (B read once per
    row band); ``stream_k``: K streams from HBM inside the bands (a band is then a wave of tiles
    that stream K together, and the operand the bands do not split is read once per band)."""
    width = layer.M // layer.groups
    depth = layer.C // layer.groups
    lanes, cores, groups = _split_columns(min(config.cols, width), config.cols)
    tile = pixel_tile(layer, config.rows)
    tiles = {d: -(-getattr(layer, d) // tile[d]) for d in ("N", "E", "F")}
    tiles["M"] = -(-width // (lanes * cores * groups))
    mac_c = min(MAC_DEPTH, depth)
    k_blocks = -(-depth // mac_c)
    split = max(1, min(config.slices, k_blocks))
    p, q = bands
    band_dim = band_dim or max(("N", "E", "F"), key=lambda d: tiles[d])
    band_of = {d: 1 for d in ("N", "E", "F")}
    band_of[band_dim] = min(p, tiles[band_dim])
    band_of["M"] = min(q, tiles["M"])
    per_band = {d: -(-tiles[d] // band_of[d]) for d in tiles}
    budget = max(1, sms // split)
    spatial, temporal = {}, {}
    for d in ("M", "F", "E", "N"):                  # output columns first, then whole rows of pixels
        temporal[d] = -(-per_band[d] // min(per_band[d], budget))
        spatial[d] = -(-per_band[d] // temporal[d])     # as few idle slots as the waves allow
        budget //= spatial[d]
    hbm = [(d, band_of[d]) for d in (("M", band_dim) if columns_first else (band_dim, "M")) if band_of[d] > 1]
    l2 = [(d, temporal[d]) for d in ("N", "E", "F", "M") if temporal[d] > 1]
    k_loops = [("C", -(-k_blocks // split))] if -(-k_blocks // split) > 1 else []
    k_loops += [(d, getattr(layer, d)) for d in ("R", "S") if getattr(layer, d) > 1]
    if l2 and not k_loops and depth > 1:
        # K in one step and several tiles per SM: two K steps, so that each tile loads its own operands
        # (with no loop over K between them the engine would keep one tile's operands in shared memory
        # for the next, which a thread block does not do)
        mac_c = -(-depth // 2)
        k_loops = [("C", 2)]
    (hbm if stream_k else l2).extend(k_loops)
    sm_x = {d: spatial[d] for d in ("N", "M", "E", "F") if spatial[d] > 1}
    if split > 1:
        sm_x["C"] = split
    rf = [(d, tile[d]) for d in ("N", "E", "F") if tile[d] > 1] + ([("M", groups)] if groups > 1 else [])
    data = {"HBM": {"temporal": hbm}, "L2": {"temporal": l2}, "SMs": {"x": sm_x},
            "TensorCores": {"x": {"M": cores} if cores > 1 else {}}, "RegisterFile": {"temporal": rf},
            "TensorCoreMACs": {"x": {"M": lanes} if lanes > 1 else {}, "y": {"C": mac_c} if mac_c > 1 else {}}}
    return _mapping(data)


def _mapping(data: dict) -> TreeMapping:
    temporal = tuple((name, tuple((d, int(t)) for d, t in entry["temporal"])) for name, entry in data.items()
                     if "temporal" in entry and entry["temporal"])
    spatial = tuple((name, tuple((d, int(f)) for d, f in entry.get("x", {}).items()),
                     tuple((d, int(f)) for d, f in entry.get("y", {}).items()))
                    for name, entry in data.items() if ("x" in entry and entry["x"]) or ("y" in entry and entry["y"]))
    return TreeMapping(temporal=temporal, spatial=spatial)


def _band_plans(layer, tiles: dict, l2_words: int) -> list:
    """HBM band plans ``(extra words read, bands, band_dim, columns_first)``, cheapest first (then fewest
    bands): bands of columns (A stays in L2), of rows (B stays), or both (the operand read again per
    band is the cheaper one); for each number of row bands, the fewest column bands whose band fits.
    A band holds whole tiles (``ceil(tiles / bands)``); the footprints are estimates (a conv window's
    halo is not in them), so the engine checks each plan's tiles against the capacity and the next
    plan is tried when they do not fit."""
    g = layer.groups
    a = layer.N * (layer.C // g) * layer.H * layer.W
    b = (layer.M // g) * (layer.C // g) * layer.R * layer.S
    c = layer.N * (layer.M // g) * layer.E * layer.F
    cols = tiles["M"]

    def share(count, bands):             # the share of a dimension's tiles in one band
        return -(-count // bands) / count

    def band_counts(count):
        return sorted({-(-count // t) for t in range(1, count + 1)})

    plans = []
    for band_dim in [d for d in ("N", "E", "F") if tiles[d] > 1] or ["N"]:   # N first: its bands have no halo
        rows = tiles[band_dim]
        for p in band_counts(rows):
            room = l2_words - a * share(rows, p)
            q = next((q for q in band_counts(cols) if (b + c * share(rows, p)) * share(cols, q) <= room), None)
            if room <= 0 or q is None:
                continue
            extra = 0 if p == 1 or q == 1 else min((p - 1) * b, (q - 1) * a)
            first = p == 1 or q == 1 or (q - 1) * a <= (p - 1) * b
            plans.append((extra, p * q, ("N", "E", "F").index(band_dim), (p, q), band_dim, first))
    return [plan[:2] + plan[3:] for plan in sorted(plans)]


def _tiles(layer, config: KernelConfig) -> dict:
    """Tiles of the grid per dimension: the pixel dimensions' (N, E, F) and the columns' (M)."""
    width = layer.M // layer.groups
    lanes, cores, groups = _split_columns(min(config.cols, width), config.cols)
    tile = pixel_tile(layer, config.rows)
    tiles = {d: -(-getattr(layer, d) // tile[d]) for d in ("N", "E", "F")}
    tiles["M"] = -(-width // (lanes * cores * groups))
    return tiles


def raster_bands(layer, config: KernelConfig, sms: int) -> tuple:
    """``(bands, band_dim, columns_first)`` of the waves of a grid whose shared operand crosses HBM
    ``config.reads`` > 1 times (:func:`accelsim.gpu.kernels.gemm_raster`): along M (A shared) a wave is
    every row of tiles times ``sms // rows`` column tiles and A streams from HBM once per wave; along N
    (B shared) every column tile times ``sms // columns`` rows of tiles. A sweep longer than a wave
    (more row tiles than SMs along M) is cut into waves of ``sms`` tiles."""
    tiles = _tiles(layer, config)
    band_dim = max(("N", "E", "F"), key=lambda d: tiles[d])
    pixels = tiles["N"] * tiles["E"] * tiles["F"]
    other = pixels // tiles[band_dim]
    if config.shared == "A":
        per_band = max(1, sms // pixels)
        rows = -(-pixels // sms) if pixels > sms else 1
        return (min(rows, tiles[band_dim]), -(-tiles["M"] // per_band)), band_dim, True
    per_band = max(1, sms // (tiles["M"] * other))
    cols = -(-tiles["M"] // sms) if tiles["M"] > sms else 1
    return (-(-tiles[band_dim] // per_band), cols), band_dim, False


def count_kernel(tree, layer, config: KernelConfig, sms: int):
    """``(mapping, TreeCost)`` of ``layer``'s kernel under ``config`` on ``tree``: when the kernel model
    reads its shared operand more than once, the waves of its raster (:func:`raster_bands`, K streamed
    from HBM per wave); else the mapping without HBM bands when its tiles fit, else the cheapest band
    plan whose tiles the engine accepts (every operand crossing HBM once when one of them fits in L2)."""
    if config.reads > 1:
        bands, band_dim, columns_first = raster_bands(layer, config, sms)
        mapping = kernel_mapping(layer, config, sms, bands, band_dim, columns_first, stream_k=True)
        return mapping, evaluate_tree(tree, layer, mapping)
    mapping = kernel_mapping(layer, config, sms)
    try:
        return mapping, evaluate_tree(tree, layer, mapping)
    except SpecError as exc:
        first = exc
    tiles = _tiles(layer, config)
    l2 = tree.level("L2")
    bits = l2.size_bits if l2.size_bits is not None else sum(v for _, v in l2.size_bits_by_operand.items())
    if not math.isfinite(bits):
        raise first
    l2_words = int(bits // max(l2.word_bits[op] for op in l2.operands))
    for *_, bands, band_dim, first_cols in _band_plans(layer, tiles, l2_words):
        mapping = kernel_mapping(layer, config, sms, bands, band_dim, first_cols)
        try:
            return mapping, evaluate_tree(tree, layer, mapping)
        except SpecError:
            continue
    raise first


#: The kind of each level a kernel mapping names (hw/h200.yaml's tree).
LEVEL_KINDS = dict(zip(LEVELS, ("storage", "storage", "spatial", "storage", "spatial", "storage", "spatial")))


def tree_problem(tree) -> str | None:
    """Why kernels cannot be mapped on ``tree`` (a GPU file's ``levels:``), or None: the mappings name
    hw/h200.yaml's levels, so a tree needs each of them, of its kind, in that order."""
    names = [lv.name for lv in tree.levels]
    kinds = {lv.name: lv.kind for lv in tree.levels}
    missing = [f"{name} ({kind})" for name, kind in LEVEL_KINDS.items() if kinds.get(name) != kind]
    order = [name for name in names if name in LEVEL_KINDS]
    if missing or order != list(LEVELS):
        return (f"{tree.file or tree.name}: the GEMM kernels map onto a tree of the levels "
                f"{', '.join(f'{n} ({k})' for n, k in LEVEL_KINDS.items())} in this order (hw/h200.yaml's); "
                + (f"missing or of another kind: {', '.join(missing)}" if missing else "they are in another order"))
    return None


def kernel_config(dev, layer) -> KernelConfig:
    """The configuration the kernel model runs ``layer``'s GEMM in (:func:`accelsim.gpu.kernels.gemm_choice`,
    called as :func:`accelsim.gpu.layers.layer_costs` costs the layer)."""
    from .kernels import gemm_choice, gemm_raster
    from .layers import gemm_shape
    m, n, k, groups, nbytes = gemm_shape(dev, layer)
    choice = gemm_choice(dev, m, n, k, groups, nbytes, dev.word_bytes)
    shared, reads = gemm_raster(dev, m, n, k, choice[3], choice[4], dev.word_bytes)
    return KernelConfig(rows=choice[3], cols=choice[4], slices=choice[5], shared=shared, reads=reads)


@dataclass(frozen=True)
class GpuTreeRun:
    """``columns``: one row per layer of the workload, the columns a GPU run's layers.csv adds
    (``mapping``, ``<level>_<operand>_reads|writes``; empty for layers the tree does not run: element-wise
    kernels, no vector unit in the tree); ``accesses``: accesses.csv (one row per MAC layer, level and
    operand; ``energy_pj`` empty and ``energy_source`` saying why); ``area``: area.csv; ``mappings``:
    layer name -> TreeMapping (mappings.yaml, which ``accelsim run --hw h200 --mapping`` reads back).
    The tables are accelsim.table.Tables from :func:`tree_tables` (``accelsim run`` writes them without
    importing pandas), DataFrames from :func:`tree_run` (the counts as nullable ``Int64`` columns)."""

    columns: object
    accesses: object
    area: object
    mappings: dict


def tree_run(dev, workload) -> GpuTreeRun:
    """:func:`tree_tables` with its tables as pandas DataFrames."""
    run = tree_tables(dev, workload)
    columns = run.columns.to_pandas()
    for name in columns.columns[1:]:
        columns[name] = columns[name].astype("Int64")
    accesses = run.accesses.to_pandas()
    return GpuTreeRun(columns=columns, accesses=accesses, area=run.area.to_pandas(), mappings=run.mappings)


def tree_tables(dev, workload) -> GpuTreeRun:
    """Every MAC layer of ``workload`` as the kernel the model picks (:func:`kernel_config`), mapped
    on ``dev.tree`` (:func:`kernel_mapping`) and counted by the N-level engine; accelsim.table.Tables.
    A count column holds Python ints, empty (None) for the layers the tree does not run, so that
    layers.csv writes them as integers."""
    from ..loopnest.tree import ACCESS_COLUMNS, accesses_frame
    from ..spec.area import area_rows, area_table_for
    tree = dev.tree
    rows, frames, mappings = [], [], {}
    levels = [lv for lv in tree.levels if lv.kind == "storage"]
    names = [f"{lv.name}_{op}_{what}" for lv in levels for op in lv.operands for what in ("reads", "writes")]
    for layer in workload.layers:
        row = dict.fromkeys(names)
        row["mapping"] = ""
        if layer.unit == "array":
            mapping, cost = count_kernel(tree, layer, kernel_config(dev, layer), dev.sms)
            mappings[layer.name] = mapping
            row["mapping"] = mapping.describe(tree)
            for level, ops in cost.counts.items():
                for op, c in ops.items():
                    row[f"{level}_{op}_reads"], row[f"{level}_{op}_writes"] = c["reads"], c["writes"]
            frames.append(accesses_frame(layer.name, cost))
        rows.append(row)
    columns = Table(length=len(rows))
    columns["mapping"] = [row["mapping"] for row in rows]
    for name in names:
        column = np.empty(len(rows), dtype=object)
        column[:] = [None if row[name] is None else int(row[name]) for row in rows]
        columns[name] = column
    accesses = concat(frames) if frames else Table.from_records([], columns=ACCESS_COLUMNS)
    energy, source = [], []
    for level, op, reads, writes in zip(*(accesses[c].tolist() for c in ("level", "operand", "reads", "writes"))):
        read, write = own_energy(tree, level, op)
        if read is None or write is None:
            energy.append(float("nan"))
        else:
            energy.append(reads * read + writes * write)
        source.append(energy_source(tree, level, op))
    accesses["energy_pj"] = np.array(energy, dtype=np.float64)
    accesses["energy_source"] = np.array(source, dtype=object) if source else np.empty(0, dtype=object)
    area = Table.from_records(area_rows(tree, area_table_for(tree)))
    return GpuTreeRun(columns=columns, accesses=accesses, area=area, mappings=mappings)


def own_energy(tree, level: str, op: str) -> tuple:
    """(read, write) pJ per word of ``op`` that ``level`` of a GPU's tree states itself
    (``read_energy_pj`` / ``write_energy_pj``), each None where it states none."""
    lv = tree.level(level)
    read = lv.read_energy_pj[op] if lv.read_energy_pj is not None else None
    write = lv.write_energy_pj[op] if lv.write_energy_pj is not None else None
    return read, write


def energy_source(tree, level: str, op: str) -> str:
    """accesses.csv's ``energy_source`` of ``op`` at ``level`` of a GPU's tree: the level's own
    energies, or why it has none (:data:`NO_ENERGY`)."""
    if None in own_energy(tree, level, op):
        return NO_ENERGY.format(level=level, table=tree.energy_table)
    return f"{tree.file or tree.name}: {level}'s read_energy_pj and write_energy_pj"


def unpriced(tree, layers, accesses) -> tuple:
    """``accelsim run --hw h200 --mapping FILE``'s tables (accelsim.table.Tables from
    :func:`accelsim.loopnest.tree_run.run_workload`) priced as the kernel run (:func:`tree_run`) prices
    the same counts: a level's ``energy_pj`` only from the read and write energies it states itself, else
    empty, with ``energy_source`` saying why; the MAC's only from the tree's ``MAC`` ``energy_pj``; a
    layer's ``energy_pj`` empty when any part of it is. The engine priced every level from the tree's
    energy table (horowitz_45nm), which describes other chips, not this GPU's memories."""
    accesses = accesses.copy()
    keys = list(zip(accesses["level"].tolist(), accesses["operand"].tolist()))
    known = np.array([None not in own_energy(tree, level, op) for level, op in keys], dtype=bool)
    accesses.set_rows("energy_pj", ~known, np.nan)
    accesses["energy_source"] = [energy_source(tree, level, op) for level, op in keys]
    layers = layers.copy()
    if "energy_pj" in layers:
        blank = {name for name, ok in zip(accesses["layer"].tolist(), known) if not ok}
        mac_known = tree.compute.energy_pj is not None
        if not mac_known:
            layers["energy_pj_mac"] = np.where(layers["macs"] > 0, np.nan, layers["energy_pj_mac"])
        names = layers["layer"].tolist()
        layers.set_rows("energy_pj", [name in blank or (not mac_known and macs > 0)
                                      for name, macs in zip(names, layers["macs"].tolist())], np.nan)
    return layers, accesses
