"""A sweep's folder: incremental, atomic chunk parts, resume, and the consolidated tables.

Layout of ``DIR``::

    sweep.json              the space and its digest, written first (resume checks it)
    parts/chunk-000042.parquet   one finished chunk (rows of points [lo, hi)), written atomically
    parts/chunk-000042.sha256    the SHA-256 of that part's bytes, written after it
    results.parquet / .csv  every row, sorted by (point, layer_index): one row per point and layer
    points.parquet / .csv   network totals, one row per point
    manifest.json           inputs (content and SHA-256), space, versions, counts, errors; last

Every file is written to a temporary name in the same folder and renamed into place
(``os.replace`` is atomic on POSIX), so a file either exists complete or not at all: a sweep
killed at any instant leaves finished parts and at most some ``*.tmp`` files, which resume deletes.
A part counts as finished only if its bytes match the checksum recorded when it was written, so a
part damaged or edited afterwards (even into another valid Parquet file) is evaluated again.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .. import results
from ..errors import AccelsimError
from .evaluate import INT, SCHEMA
from .space import Space
from ..version import __version__, source_hash

PART_META = b"accelsim_sweep_part"
#: Per-point totals: the point's identity, sums over its layers, ratios recomputed from the sums.
POINT_ID = [f.name for f in SCHEMA][:13]
POINT_SUMS = [c for c in results.SUM_COLUMNS if c in SCHEMA.names] + ["latency_us"]
POINTS_SCHEMA = pa.schema(
    [SCHEMA.field(c) for c in POINT_ID] + [("layers", INT)] + [SCHEMA.field(c) for c in POINT_SUMS]
    + [(c, pa.float64()) for c in ("pe_utilization", "compute_utilization", "energy_pj_per_mac",
                                   "achieved_macs_per_cycle", "arithmetic_intensity_macs_per_byte")]
    + [("error", pa.string())])
CSV_OPTIONS = pacsv.WriteOptions(quoting_style="needed")
#: Fast zstd; dictionary encoding only for the text columns (numbers are mostly distinct).
PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 1,
                   "use_dictionary": [f.name for f in SCHEMA if f.type == pa.string()]}


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def part_path(out_dir: Path, chunk: int) -> Path:
    return out_dir / "parts" / f"chunk-{chunk:06d}.parquet"


def checksum_path(part: Path) -> Path:
    return part.with_suffix(".sha256")


def part_bytes(table: pa.Table, digest: str, chunk: int, lo: int, hi: int) -> bytes:
    """One chunk's rows as Parquet bytes, tagged with the sweep digest and its point range."""
    meta = json.dumps({"digest": digest, "chunk": chunk, "lo": lo, "hi": hi, "rows": table.num_rows}).encode()
    buf = io.BytesIO()
    pq.write_table(table.replace_schema_metadata({PART_META: meta}), buf, **PARQUET_OPTIONS)
    return buf.getvalue()


def _checked_bytes(path: Path) -> bytes | None:
    """The part's bytes if they match the checksum recorded when it was written, else None."""
    try:
        data = path.read_bytes()
        recorded = checksum_path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return data if hashlib.sha256(data).hexdigest() == recorded else None


def part_is_valid(path: Path, digest: str, chunk: int, lo: int, hi: int) -> bool:
    """True if ``path`` is a complete part of this sweep's ``chunk``: its bytes match their
    recorded checksum, and its footer has the same digest and range and the sweep's schema."""
    data = _checked_bytes(path)
    if data is None:
        return False
    try:
        meta = pq.read_metadata(pa.BufferReader(data))
        tag = json.loads(meta.metadata[PART_META])
        schema = meta.schema.to_arrow_schema().remove_metadata()
    except (pa.ArrowException, OSError, ValueError, KeyError, TypeError):   # checksum right, file not ours
        return False
    return (tag == {"digest": digest, "chunk": chunk, "lo": lo, "hi": hi, "rows": meta.num_rows}
            and schema.equals(SCHEMA))


def read_part(out_dir: Path, chunk: int) -> pa.Table:
    """A finished part's rows, checked against its checksum; a bad part is a user error naming it."""
    path = part_path(out_dir, chunk)
    data = _checked_bytes(path)
    problem = "its bytes do not match the checksum recorded when it was written" if data is None else None
    if data is not None:
        try:
            return pq.read_table(pa.BufferReader(data)).replace_schema_metadata(None)
        except (pa.ArrowException, OSError) as exc:
            problem = f"unreadable ({exc})"
    raise AccelsimError(f"{path}: sweep part {problem}; rerun the sweep with --resume to evaluate it again")


def prepare(out_dir: Path, space: Space, resume: bool, force: bool = False) -> list[int]:
    """Create or check ``out_dir``; return the chunks still to evaluate.

    sweep.json records the sweep's digest and the accelsim source hash (accelsim.version.
    source_hash) of every run that wrote chunks. Resuming with another source would mix results of
    two versions of the code: refused unless ``force``, and then recorded."""
    digest = space.digest()
    source = source_hash()
    record = {"digest": digest, "sources": [source], "space": space.describe()}
    marker = out_dir / "sweep.json"
    if out_dir.exists() and not out_dir.is_dir():
        raise AccelsimError(f"{out_dir}: exists and is not a folder; choose another --out")
    existing = out_dir.is_dir() and any(out_dir.iterdir())
    if existing and not resume:
        raise AccelsimError(f"{out_dir}: folder exists and is not empty; add --resume to continue the sweep "
                            "in it, or choose another --out")
    if existing:
        try:
            previous = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise AccelsimError(f"{out_dir}: not a sweep folder (no readable sweep.json); choose another --out") from None
        if previous.get("digest") != digest:
            raise AccelsimError(f"{out_dir}: holds a different sweep (other space, inputs or accelsim version); "
                                "resume it with its own settings, or choose another --out")
        sources = list(previous.get("sources", []))
        if source not in sources:
            if not force:
                was = ", ".join(s[:12] for s in sources) or "unknown (written before sources were recorded)"
                raise AccelsimError(
                    f"{out_dir}: its finished chunks were computed by another accelsim source ({was}; now "
                    f"{source[:12]}): resuming would mix results of two versions of the code. Run the sweep into "
                    "a new --out, or add --force to keep the finished chunks and record both sources")
            _atomic_write(marker, (json.dumps({**previous, "sources": sources + [source]}, indent=2) + "\n").encode())
    (out_dir / "parts").mkdir(parents=True, exist_ok=True)
    if not existing:
        _atomic_write(marker, (json.dumps(record, indent=2) + "\n").encode())
    for tmp in list(out_dir.glob("*.tmp")) + list((out_dir / "parts").glob("*.tmp")):
        tmp.unlink()
    return [c for c in range(space.num_chunks)
            if not part_is_valid(part_path(out_dir, c), digest, c, *space.chunk_range(c))]


def write_part(out_dir: Path, chunk: int, data: bytes) -> None:
    """The part, then its checksum: a part without a matching checksum is not finished."""
    path = part_path(out_dir, chunk)
    _atomic_write(path, data)
    _atomic_write(checksum_path(path), (hashlib.sha256(data).hexdigest() + "\n").encode())


def point_totals(table: pa.Table) -> pa.Table:
    """Per-point totals of a chunk's rows (whole points only: chunks never split a point)."""
    frame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)   # exact integer sums
    ok = frame[frame["error"].isna()]
    grouped = ok.groupby("point", sort=True)
    out = grouped[POINT_ID].first().reset_index(drop=True)
    out["layers"] = grouped.size().to_numpy()
    sums = grouped[POINT_SUMS].sum().reset_index(drop=True)
    out = pd.concat([out, sums], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["pe_utilization"] = out["macs"] / (out["total_cycles"] * out["num_pes"])
        out["compute_utilization"] = out["macs"] / (out["compute_cycles"] * out["num_pes"])
        out["energy_pj_per_mac"] = out["energy_pj"] / out["macs"]
        out["achieved_macs_per_cycle"] = out["macs"] / out["total_cycles"]
        out["arithmetic_intensity_macs_per_byte"] = out["macs"] / out["dram_bytes"].where(out["dram_bytes"] > 0)
    out["error"] = None
    errors = frame[frame["error"].notna()][POINT_ID + ["error"]]
    tables = [pa.Table.from_pandas(out, schema=POINTS_SCHEMA, preserve_index=False)]
    if len(errors):
        tables.append(pa.Table.from_pylist(errors.to_dict("records"), schema=POINTS_SCHEMA))
    return pa.concat_tables(tables).sort_by("point").replace_schema_metadata(None)


def consolidate(out_dir: Path, space: Space) -> dict:
    """Stream every part, in chunk order, into results.{parquet,csv} and points.{parquet,csv};
    returns the counts and the errors for the manifest. Memory: one chunk at a time."""
    names = {key: out_dir / f"{key}" for key in ("results.parquet", "results.csv", "points.parquet", "points.csv")}
    tmps = {key: path.with_name(path.name + ".tmp") for key, path in names.items()}
    counts = {"points": space.num_points, "chunks": space.num_chunks, "rows": 0, "error_points": 0}
    errors = []
    with pq.ParquetWriter(tmps["results.parquet"], SCHEMA, **PARQUET_OPTIONS) as rows_pq, \
            pacsv.CSVWriter(tmps["results.csv"], SCHEMA, write_options=CSV_OPTIONS) as rows_csv, \
            pq.ParquetWriter(tmps["points.parquet"], POINTS_SCHEMA, compression="zstd", compression_level=1) as pts_pq, \
            pacsv.CSVWriter(tmps["points.csv"], POINTS_SCHEMA, write_options=CSV_OPTIONS) as pts_csv:
        for chunk in range(space.num_chunks):
            table = read_part(out_dir, chunk)
            rows_pq.write_table(table)
            rows_csv.write_table(table)
            totals = point_totals(table)
            pts_pq.write_table(totals)
            pts_csv.write_table(totals)
            counts["rows"] += table.num_rows
            failed = totals.filter(pc.is_valid(totals["error"]))
            counts["error_points"] += failed.num_rows
            if len(errors) < 1000:
                errors.extend(failed.select(POINT_ID + ["error"]).to_pylist()[:1000 - len(errors)])
    for key in names:
        os.replace(tmps[key], names[key])
    return {"counts": counts, "errors": errors}


def _sources(out_dir: Path) -> list[str]:
    """The accelsim source hashes whose results the folder holds (sweep.json; more than one only
    after a ``--resume --force`` across a code change)."""
    try:
        return list(json.loads((out_dir / "sweep.json").read_text(encoding="utf-8")).get("sources", []))
    except (OSError, ValueError):
        return []


def write_manifest(out_dir: Path, space: Space, summary: dict, run: dict) -> Path:
    """manifest.json: inputs (content and SHA-256), the space, versions, counts, errors, how it ran."""
    import numba
    from importlib.metadata import PackageNotFoundError, version

    def installed(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None
    manifest = {
        "kind": "sweep",
        "accelsim_version": __version__,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "digest": space.digest(),
        "accelsim_sources": _sources(out_dir),
        "python": platform.python_version(),
        "versions": {"numpy": np.__version__, "numba": numba.__version__, "pandas": pd.__version__,
                     "pyarrow": pa.__version__, "dask": installed("dask"), "plotly": installed("plotly"),
                     "tqdm": installed("tqdm")},
        "space": space.describe(),
        "inputs": {role: results.file_record(Path(path)) for role, path in space.files},
        "counts": summary["counts"],
        "errors": summary["errors"],
        "errors_listed": len(summary["errors"]),
        "run": run,
        "files": {"rows": "results.parquet", "rows_csv": "results.csv", "points": "points.parquet",
                  "points_csv": "points.csv"},
    }
    path = out_dir / "manifest.json"
    _atomic_write(path, (json.dumps(manifest, indent=2) + "\n").encode())
    return path
