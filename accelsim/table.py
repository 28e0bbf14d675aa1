"""A results table without pandas: named numpy columns, for the command line's start-up.

``import pandas`` costs about 0.2-0.3 s of CPU, a third of a warm one-layer ``accelsim run``. The
systolic analytical engine therefore builds its rows as a :class:`Table` (the few DataFrame
operations it needs: get, set and insert columns by name, select, drop); the Python API converts
it with :meth:`Table.to_pandas` and returns DataFrames as before, while ``accelsim run`` writes
and prints it directly. Everything written or printed from a Table is byte-identical to what
pandas writes for the same frame (tests/test_table.py checks each writer against pandas):

* :meth:`Table.to_csv`: ``DataFrame.to_csv(index=False)`` (floats as ``repr``, missing values
  empty, minimal quoting);
* :func:`concat`: ``pd.concat`` of frames with the same or missing columns (a column missing from
  a part is missing there: int and bool columns become float64 or object, as in pandas);
* :func:`group_sums`: ``groupby(keys, sort=False)[columns].sum()`` (pandas' own float summation
  orders, exact integer sums);
* :func:`json_number`: a float as ``DataFrame.to_json`` writes it (10 decimals);
* :func:`to_string`: ``DataFrame.to_string(index=False)`` of integer, float, bool and text columns;
* :meth:`Table.from_records`: ``pd.DataFrame(list of dicts)``'s columns and types (a key a row
  lacks is missing there: an int column becomes float64, a bool or text column object).

The architecture-tree run (accelsim/loopnest/tree.py, tree_run.py, command.py) and the GPU run
(accelsim/gpu/layers.py, gpu/tree.py) build their tables the same way; the Python API's
``accelsim.simulate_tree``, ``layer_costs`` and ``tree_run`` convert them to DataFrames.

The column functions of accelsim/columns.py and accelsim/energy.py take a Table or a DataFrame:
they read columns as arrays (``np.asarray(frame[name])``) and assign arrays.
"""
from __future__ import annotations

import csv
import math
import re

import numpy as np


def _column(value, n: int) -> np.ndarray:
    """``value`` (a scalar, a list or an array) as a 1-D column of ``n`` rows."""
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (list, tuple)):
        array = np.array(value, dtype=object) if any(isinstance(v, str) or v is None for v in value) \
            else np.array(value)
    elif hasattr(value, "to_numpy"):   # a pandas Series
        array = value.to_numpy()
    else:
        array = np.empty(n, dtype=object) if isinstance(value, str) or value is None else None
        if array is None:
            return np.full(n, value)
        array[:] = value
        return array
    if array.ndim != 1 or len(array) != n:
        raise ValueError(f"a column of {n} rows needs {n} values (got shape {array.shape})")
    if array.dtype.kind == "U":
        array = array.astype(object)
    return array


class Table:
    """Columns by name (numpy arrays of one length, text as object arrays), in order."""

    def __init__(self, columns: dict | None = None, length: int | None = None):
        columns = dict(columns or {})
        if length is None:
            length = next((len(v) for v in columns.values() if hasattr(v, "__len__") and not isinstance(v, str)), 0)
        self._n = length
        self._data: dict[str, np.ndarray] = {}
        for name, value in columns.items():
            self[name] = value

    @classmethod
    def from_records(cls, rows: list[dict], columns=None) -> Table:
        """``pd.DataFrame(rows)`` of dicts whose keys may differ: the columns in order of first
        appearance (or ``columns``), a key a row lacks missing (NaN) in that row, each column typed as
        pandas infers it (:func:`_record_column`)."""
        names: dict[str, None] = dict.fromkeys(columns) if columns is not None else {}
        if columns is None:
            for row in rows:
                names.update(dict.fromkeys(row))
        return cls({name: _record_column([row.get(name, _ABSENT) for row in rows]) for name in names}, len(rows))

    @classmethod
    def from_rows(cls, rows: list[dict]) -> Table:
        """One row per dict (the keys of the first, in order), as ``pd.DataFrame(rows)`` types them."""
        names = list(rows[0]) if rows else []
        return cls({name: _column([row[name] for row in rows], len(rows)) for name in names}, len(rows))

    def __len__(self) -> int:
        return self._n

    def __contains__(self, name) -> bool:
        return name in self._data

    @property
    def columns(self) -> list[str]:
        return list(self._data)

    def __getitem__(self, key):
        if isinstance(key, str):
            return self._data[key]
        return Table({name: self._data[name] for name in key}, self._n)

    def __setitem__(self, name: str, value) -> None:
        if any(value is column for column in self._data.values()):
            value = value.copy()     # columns never share memory (as in a DataFrame)
        self._data[name] = _column(value, self._n)

    def copy(self) -> Table:
        """A table with copies of the columns (changing one leaves this table as it is)."""
        return Table({name: v.copy() for name, v in self._data.items()}, self._n)

    def get(self, name: str, default=None):
        return self._data.get(name, default)

    def set_rows(self, name: str, mask, values) -> None:
        """``frame.loc[mask, name] = values`` (a scalar, or one value per selected row): the other
        rows keep the column's values, or in a new column are missing (NaN; float64 for numbers,
        object otherwise)."""
        mask = np.asarray(mask, dtype=bool)
        new = _column(values, int(mask.sum()))
        if name in self._data:
            column = self._data[name].copy()
        else:
            column = np.full(self._n, np.nan, dtype=np.float64 if new.dtype.kind in "iuf" else object)
        column[mask] = new
        self._data[name] = column

    def insert(self, loc: int, name: str, value) -> None:
        items = list(self._data.items())
        items.insert(loc, (name, _column(value, self._n)))
        self._data = dict(items)

    def drop(self, columns) -> Table:
        gone = {columns} if isinstance(columns, str) else set(columns)
        return Table({name: v for name, v in self._data.items() if name not in gone}, self._n)

    def take(self, rows) -> Table:
        """The rows at positions ``rows``, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        return Table({name: v[rows] for name, v in self._data.items()}, len(rows))

    def rows(self):
        """Each row as a dict, in order."""
        names = self.columns
        for i in range(self._n):
            yield {name: self._data[name][i] for name in names}

    @classmethod
    def from_pandas(cls, frame) -> Table:
        """A DataFrame's columns (its index is dropped)."""
        return cls({name: frame[name].to_numpy() for name in frame.columns}, len(frame))

    def to_pandas(self):
        """The same table as a DataFrame (text columns become pandas' string columns)."""
        import pandas as pd
        return pd.DataFrame(dict(self._data), index=pd.RangeIndex(self._n))

    def to_csv(self, path, index: bool = False) -> None:
        """Write the table as ``DataFrame.to_csv(path, index=False)`` does, byte for byte."""
        if index:
            raise ValueError("a Table has no index to write")
        columns = [_csv_texts(v) for v in self._data.values()]
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(self.columns)
            writer.writerows(zip(*columns) if columns else [])


_ABSENT = object()     # a key a record lacks


def _record_column(values: list) -> np.ndarray:
    """One column of :meth:`Table.from_records`, as pandas' DataFrame constructor infers it: ints
    stay int64 unless a value is missing (then float64 with NaN, as pandas makes them); numbers with
    a float among them float64; bools bool unless a value is missing; anything else (text, mixed)
    object, a lacking key NaN and None kept."""
    present = [v for v in values if v is not _ABSENT and v is not None]
    missing = len(present) < len(values)
    bools = [isinstance(v, (bool, np.bool_)) for v in present]
    numbers = [isinstance(v, (int, float, np.integer, np.floating)) and not b for v, b in zip(present, bools)]
    if present and all(bools) and not missing:
        return np.array(present, dtype=np.bool_)
    if present and all(numbers):
        ints = all(isinstance(v, (int, np.integer)) for v in present)
        if ints and not missing:
            return np.array(values, dtype=np.int64)
        return np.array([np.nan if v is _ABSENT or v is None else v for v in values], dtype=np.float64)
    array = np.empty(len(values), dtype=object)
    array[:] = [np.nan if v is _ABSENT else v for v in values]
    return array


def _is_missing(value) -> bool:
    """None, NaN and pandas' NA (a nullable column read into a Table)."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or type(value).__name__ == "NAType"


def _csv_texts(array: np.ndarray) -> list[str]:
    """How pandas' CSV writer spells each value: floats as repr, NaN and None empty."""
    kind = array.dtype.kind
    if kind == "f":
        return ["" if v != v else repr(v) for v in array.tolist()]
    if kind in "iub":
        return [str(v) for v in array.tolist()]
    return ["" if _is_missing(v) else (repr(v) if isinstance(v, float) else str(v)) for v in array.tolist()]


def _missing_filled(array: np.ndarray, rows: int) -> np.ndarray:
    """``rows`` missing values of a column shaped like ``array``'s."""
    if array.dtype.kind == "f":
        return np.full(rows, np.nan, dtype=array.dtype)
    if array.dtype.kind in "iu":
        return np.full(rows, np.nan)
    filled = np.empty(rows, dtype=object)
    filled[:] = np.nan
    return filled


def concat(parts: list[Table]) -> Table:
    """The parts' rows one after the other, as ``pd.concat(parts, ignore_index=True)``: the union of
    the columns in order of appearance; a column a part lacks is missing (NaN) in its rows."""
    names: dict[str, None] = {}
    for part in parts:
        names.update(dict.fromkeys(part.columns))
    n = sum(len(part) for part in parts)
    out = Table(length=n)
    for name in names:
        pieces = [part[name] if name in part else None for part in parts]
        template = next(p for p in pieces if p is not None)
        pieces = [p if p is not None else _missing_filled(template, len(part)) for p, part in zip(pieces, parts)]
        kinds = {p.dtype.kind for p in pieces}
        if "O" in kinds or ("b" in kinds and len(kinds) > 1):
            pieces = [p.astype(object) for p in pieces]
        out[name] = np.concatenate(pieces) if pieces else np.empty(0)
    return out


def group_sums(table: Table, keys: list[str], columns: list[str]) -> Table:
    """``groupby(keys, sort=False)[columns].sum().reset_index()``: one row per distinct key tuple in
    order of first appearance. Integer columns sum exactly. Floats as pandas 3 sums them: when
    every group's rows are contiguous and the column has no NaN, ``np.add.reduceat`` over the
    groups (pandas/core/groupby/ops.py, _reduceat_aggregate); otherwise compensated (Kahan)
    summation skipping NaN, in row order (pandas/_libs/groupby.pyx, group_sum)."""
    key_columns = [table[k].tolist() for k in keys]
    groups: dict[tuple, list[int]] = {}
    ids = np.empty(len(table), dtype=np.int64)
    for i, key in enumerate(zip(*key_columns)):
        rows = groups.setdefault(key, [])
        rows.append(i)
        ids[i] = rows[0]     # a group's first row: non-decreasing when every group is contiguous
    contiguous = bool(np.all(ids[1:] >= ids[:-1]))
    starts = np.array([rows[0] for rows in groups.values()], dtype=np.int64)
    out = Table(length=len(groups))
    for j, name in enumerate(keys):
        out[name] = _column([key[j] for key in groups], len(groups))
    for name in columns:
        values = table[name]
        if values.dtype.kind in "iub":
            out[name] = np.array([int(sum(values[rows].tolist())) for rows in groups.values()], dtype=np.int64)
        elif contiguous and len(values) and not np.isnan(values).any():
            out[name] = np.add.reduceat(values.astype(np.float64), starts)
        else:
            out[name] = np.array([_kahan(values[rows].tolist()) for rows in groups.values()], dtype=np.float64)
    return out


def _kahan(values: list[float]) -> float:
    """pandas' group sum of floats (pandas/_libs/groupby.pyx, group_sum): compensated summation
    over the non-NaN values."""
    total = 0.0
    compensation = 0.0
    for value in values:
        if value != value:
            continue
        y = value - compensation
        t = total + y
        compensation = t - total - y
        if compensation != compensation:
            compensation = 0.0
        total = t
    return total


def json_number(value):
    """A number as ``DataFrame.to_json`` (double_precision 10) writes it, read back by ``json.loads``:
    ints stay ints, NaN and infinities become None, other floats are rounded to 10 decimals the way
    pandas' ujson encoder does it (to 10 significant digits at or above 1e16 and below 1e-15)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    if not math.isfinite(value):
        return None
    magnitude = abs(value)
    if magnitude > 1e16 - 1 or (value != 0.0 and magnitude < 1e-15):
        return float(f"{value:.9e}")       # 10 significant digits
    # modp_dtoa (pandas/_libs/src/vendored/ujson/lib/ultrajsonenc.c, Buffer_AppendDoubleUnchecked)
    whole = int(magnitude)
    scaled = (magnitude - whole) * 1e10
    frac = int(scaled)
    diff = scaled - frac
    if diff > 0.5 or (diff == 0.5 and frac & 1):
        frac += 1
        if frac >= 10**10:
            frac = 0
            whole += 1
    text = f"{whole}.{frac:010d}".rstrip("0")
    number = float(text + ("0" if text.endswith(".") else ""))
    return -number if value < 0 else number


def to_string(table: Table, float_format=None) -> str:
    """``DataFrame.to_string(index=False, float_format=float_format)`` of a table of integer, float,
    bool and text columns: each column right-aligned to its widest entry (a number or bool column's
    header has a leading space), columns one space apart, missing values as ``NaN``; floats as
    :func:`_float_texts`, or, given ``float_format`` (a function of one float), as it formats them,
    untrimmed (pandas/io/formats/format.py: FloatArrayFormatter takes a callable float_format as its
    ``formatter``, which get_result_as_array applies to each value, NaN as ``NaN``)."""
    columns = []
    for name in table.columns:
        values = table[name]
        header = name
        if values.dtype.kind in "iub":
            texts = [str(v) for v in values.tolist()]
            header = " " + name
        elif values.dtype.kind == "f":
            texts = _float_texts(values) if float_format is None else \
                ["NaN" if v != v else float_format(v) for v in values.tolist()]
            header = " " + name
        elif values.dtype.kind == "O":
            texts = ["NaN" if _is_missing(v) else str(v) for v in values.tolist()]
        else:
            raise ValueError(f"to_string formats integer, float, bool and text columns (column {name} is {values.dtype})")
        width = max([len(header)] + [len(t) for t in texts])
        columns.append([header.rjust(width)] + [t.rjust(width) for t in texts])
    return "\n".join(" ".join(cells) for cells in zip(*columns))


def _float_texts(values: np.ndarray, digits: int = 6) -> list[str]:
    """A float column as ``DataFrame.to_string`` writes it with pandas' default options (display
    precision 6, no chop threshold; pandas/io/formats/format.py, FloatArrayFormatter.get_result_as_array
    and _trim_zeros_float): every value with ``digits`` decimals, then the trailing zeros that all
    of them share trimmed (one kept after the point), NaN as ``NaN``; in scientific notation
    (``digits`` decimals, untrimmed) when a value is below 10**-digits but not zero, or
    when one is above 1e6 and the longest text is longer than digits + 6."""
    def texts(spec: str) -> list[str]:
        return _trim_zeros(["NaN" if v != v else format(v, spec) for v in values.tolist()])
    out = texts(f".{digits}f")
    finite = np.abs(values[~np.isnan(values)])
    too_long = bool(out) and max(len(t) for t in out) > digits + 6
    if ((finite < 10.0 ** -digits) & (finite > 0)).any() or (too_long and (finite > 1e6).any()):
        out = texts(f".{digits}e")
    return out


def _trim_zeros(out: list[str]) -> list[str]:
    """pandas' _trim_zeros_float: the trailing zeros every decimal number ends with trimmed, one
    kept after the point."""
    while True:
        numbers = [i for i, t in enumerate(out) if _DECIMAL.match(t)]
        if not numbers or not all(out[i].endswith("0") for i in numbers):
            break
        for i in numbers:
            out[i] = out[i][:-1]
    return [t + "0" if _DECIMAL.match(t) and t.endswith(".") else t for t in out]


_DECIMAL = re.compile(r"^\s*[+-]?[0-9]+\.[0-9]*$")
