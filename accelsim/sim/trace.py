"""The compact cycle-level trace: one row per SRAM stream per fold and per DRAM transfer.

Written layer by layer as the simulator produces it (memory: one layer's folds), as gzip-compressed
CSV (``.csv.gz``), plain CSV (``.csv``) or Parquet (``.parquet``, needs pyarrow). docs/cycle.md
describes every column and how to expand a row to per-cycle addresses (for a DRAM simulator: the
``dram`` rows are contiguous word ranges moved evenly over [cycle_start, cycle_end)).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AccelsimError
from ..kernels import cycle as kc

#: Trace columns, in order.
COLUMNS = (
    "layer_index", "layer", "fold", "group", "col_fold", "row_fold", "level", "buffer", "access",
    "pattern", "cycle_start", "cycle_end", "words", "first_word",
    "p_start", "p_count", "m_start", "m_count", "k_start", "k_count",
)
BUFFERS = np.array(["ifmap", "filter", "ofmap"])
SUFFIXES = (".csv.gz", ".csv", ".parquet")


def _sram_rows(geom: np.ndarray, fold_log: np.ndarray) -> dict[str, np.ndarray]:
    """Per fold, one row per array-edge stream (see accelsim/kernels/cycle.cycle_counts)."""
    rows, cols = int(geom[kc.G_ROWS]), int(geom[kc.G_COLS])
    ra, ca, ta = int(geom[kc.G_RA]), int(geom[kc.G_CA]), int(geom[kc.G_TA])
    dims = {kc.AXIS_P: int(geom[kc.G_P]), kc.AXIS_M: int(geom[kc.G_M]), kc.AXIS_K: int(geom[kc.G_K])}
    t = dims[ta]
    scalesim = geom[kc.G_SCALESIM] == 1
    g, cf, rf, r, c, start = (fold_log[:, i] for i in range(6))
    fold = np.arange(len(fold_log))
    box = {ra: (rf * rows, r), ca: (cf * cols, c), ta: (np.zeros_like(r), np.full_like(r, t))}
    streams = []   # (buffer, access, pattern, first cycle, last cycle + 1, words, mask)
    if ta == kc.AXIS_K:
        d = t - 1 if scalesim else t + rows - 1
        row_buf = kc.OP_IFMAP if ra == kc.AXIS_P else kc.OP_FILTER
        streams.append((row_buf, "read", "row_stream", 0 * r, t + r - 1, r * t, None))
        streams.append((1 - row_buf, "read", "column_stream", 0 * r, t + c - 1, c * t, None))
        streams.append((kc.OP_OFMAP, "write", "drain", d + rows - r, d + rows + c - 1, r * c, None))
    else:
        stat = kc.OP_IFMAP if ta == kc.AXIS_M else kc.OP_FILTER
        streams.append((stat, "read", "stationary_load", rows - r, np.full_like(r, rows), r * c, None))
        streams.append((1 - stat, "read", "row_stream", np.full_like(r, rows), rows + t + r - 1, r * t, None))
        streams.append((kc.OP_OFMAP, "write", "column_stream", np.full_like(r, 2 * rows - 1),
                        2 * rows - 1 + t + c - 1, c * t, None))
        if not scalesim and ra == kc.AXIS_K:
            streams.append((kc.OP_OFMAP, "read", "column_stream", np.full_like(r, 2 * rows - 1),
                            2 * rows - 1 + t + c - 1, c * t, rf > 0))
    parts = []
    for buf, access, pattern, lo, hi, words, mask in streams:
        keep = np.ones(len(fold), dtype=bool) if mask is None else mask
        part = {
            "fold": fold, "group": g, "col_fold": cf, "row_fold": rf,
            "level": np.full(len(fold), "sram"), "buffer": np.full(len(fold), BUFFERS[buf]),
            "access": np.full(len(fold), access), "pattern": np.full(len(fold), pattern),
            "cycle_start": start + lo, "cycle_end": start + hi, "words": words,
            "first_word": np.full(len(fold), -1),
        }
        for axis, name in ((kc.AXIS_P, "p"), (kc.AXIS_M, "m"), (kc.AXIS_K, "k")):
            part[f"{name}_start"], part[f"{name}_count"] = box[axis]
        parts.append({key: np.asarray(value)[keep] for key, value in part.items()})
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def layer_trace(index: int, name: str, geom: np.ndarray, fold_log: np.ndarray,
                xfer_log: np.ndarray) -> pd.DataFrame:
    """One layer's trace rows: SRAM streams per fold, then DRAM transfers, sorted by cycle."""
    sram = _sram_rows(geom, fold_log)
    fold = xfer_log[:, 0]
    n = len(fold)
    dram = {
        "fold": fold, "group": fold_log[fold, 0], "col_fold": fold_log[fold, 1], "row_fold": fold_log[fold, 2],
        "level": np.full(n, "dram"), "buffer": BUFFERS[xfer_log[:, 1]],
        "access": np.where(xfer_log[:, 2] == 1, "write", "read"),
        "pattern": np.full(n, "transfer"), "cycle_start": xfer_log[:, 3], "cycle_end": xfer_log[:, 4],
        "words": xfer_log[:, 6], "first_word": xfer_log[:, 5],
    }
    for name_ in ("p", "m", "k"):
        dram[f"{name_}_start"] = np.full(n, -1)
        dram[f"{name_}_count"] = np.zeros(n, dtype=np.int64)
    frame = pd.concat([pd.DataFrame(sram), pd.DataFrame(dram)], ignore_index=True)
    frame.insert(0, "layer", name)
    frame.insert(0, "layer_index", index)
    frame = frame.sort_values(["cycle_start", "level", "buffer"], kind="stable", ignore_index=True)
    for col in COLUMNS:
        if col not in ("layer", "level", "buffer", "access", "pattern"):
            frame[col] = frame[col].astype(np.int64)
    return frame[list(COLUMNS)]


class TraceWriter:
    """Stream per-layer traces into one file; use as a context manager.

    The format follows the suffix: ``.csv.gz`` (default choice), ``.csv`` or ``.parquet``."""

    def __init__(self, path):
        self.path = Path(path)
        name = self.path.name.lower()
        self.kind = next((s for s in SUFFIXES if name.endswith(s)), None)
        if self.kind is None:
            raise AccelsimError(f"{self.path}: a trace file must end in {', '.join(SUFFIXES)} "
                                "(the suffix picks the format); e.g. --trace trace.csv.gz")
        if self.kind == ".parquet":
            try:
                import pyarrow  # noqa: F401
                import pyarrow.parquet  # noqa: F401
            except ImportError:
                raise AccelsimError(f"{self.path}: writing Parquet needs pyarrow (pip install pyarrow); "
                                    "or write a .csv.gz trace") from None
        self._handle = None
        self._writer = None
        self.rows = 0

    def __enter__(self):
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.kind == ".csv.gz":
                self._handle = gzip.open(self.path, "wt", newline="", compresslevel=6)
            elif self.kind == ".csv":
                self._handle = open(self.path, "w", newline="")
        except OSError as exc:
            raise AccelsimError(f"{self.path}: cannot write the trace ({exc.strerror}); choose another path") from None
        return self

    def write_layer(self, index, layer, geom, fold_log, xfer_log) -> None:
        frame = layer_trace(index, layer.name, geom, fold_log, xfer_log)
        if self.kind == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema)
            self._writer.write_table(table)
        else:
            frame.to_csv(self._handle, header=self.rows == 0, index=False)
        self.rows += len(frame)

    def __exit__(self, *exc):
        if self._handle is not None:
            self._handle.close()
        if self._writer is not None:
            self._writer.close()
        return False
