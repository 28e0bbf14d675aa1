"""Request streams for serving: a seeded Poisson process or a CSV trace, validated.

A trace is a CSV file with a header and the columns ``arrival_s`` (seconds, >= 0),
``prompt_tokens`` and ``output_tokens`` (integers >= 1), optionally ``request_id`` (any text);
rows may come in any order (they are served by arrival time, ties in file order). Every problem
in the file is reported together, each with the file, the row (data rows count from 1, the
header is row 0) and the column.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AccelsimError, did_you_mean

TRACE_COLUMNS = ("arrival_s", "prompt_tokens", "output_tokens")
OPTIONAL_COLUMNS = ("request_id",)
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Requests:
    """Requests sorted by arrival: ``request_id`` (text), ``arrival_s``, ``prompt_tokens``,
    ``output_tokens`` (numpy arrays of equal length) and where they came from."""

    request_id: np.ndarray
    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    source: str

    def __len__(self) -> int:
        return int(self.arrival_s.size)


def _sorted(ids, arrival, prompt, output, source) -> Requests:
    order = np.argsort(arrival, kind="stable")
    return Requests(np.asarray(ids, dtype=object)[order], np.asarray(arrival, dtype=np.float64)[order],
                    np.asarray(prompt, dtype=np.int64)[order], np.asarray(output, dtype=np.int64)[order], source)


def poisson_requests(count: int, rate_per_s: float, prompt_tokens: int, output_tokens: int,
                     jitter: float = 0.0, seed: int = 0) -> Requests:
    """``count`` requests arriving as a Poisson process of ``rate_per_s`` (exponential gaps, the
    first at the first gap), lengths uniform in ``[N (1 - jitter), N (1 + jitter)]`` rounded (at
    least 1), as vLLM's benchmark ``random`` dataset with ``--random-range-ratio`` [vllm_bench];
    ``numpy.random.default_rng(seed)``: the same seed gives the same requests."""
    problems = []
    if count < 1:
        problems.append(f"--requests must be >= 1 (got {count})")
    if not (rate_per_s > 0 and math.isfinite(rate_per_s)):
        problems.append(f"--rate must be a finite number > 0 requests/s (got {rate_per_s})")
    if prompt_tokens < 1 or output_tokens < 1:
        problems.append("--prompt-tokens and --output-tokens must be >= 1")
    if not 0 <= jitter < 1:
        problems.append(f"--length-jitter must be in [0, 1) (got {jitter})")
    if seed < 0:
        problems.append(f"--seed must be >= 0 (got {seed})")
    if problems:
        raise AccelsimError("; ".join(problems))
    rng = np.random.default_rng(seed)
    arrival = np.cumsum(rng.exponential(1.0 / rate_per_s, count))

    def lengths(mean):
        if jitter == 0:
            return np.full(count, mean, dtype=np.int64)
        low, high = mean * (1 - jitter), mean * (1 + jitter)
        return np.maximum(np.rint(rng.uniform(low, high, count)), 1).astype(np.int64)

    prompt, output = lengths(prompt_tokens), lengths(output_tokens)
    ids = np.array([str(i) for i in range(count)], dtype=object)
    return _sorted(ids, arrival, prompt, output,
                   f"Poisson {rate_per_s:g} req/s, {count} requests, prompt {prompt_tokens}, output {output_tokens}"
                   + (f", jitter {jitter:g}" if jitter else "") + f", seed {seed}")


def _integer(text: str) -> int | None:
    text = text.strip()
    if not text or not (text.isdigit() or (text[0] in "+-" and text[1:].isdigit())):
        return None
    return int(text)


def load_trace(path) -> Requests:
    """Read and validate a CSV trace (module docstring); every problem raised together."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise AccelsimError(f"{path}: cannot read the trace ({exc.strerror})") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise AccelsimError(f"{path}: empty file; a trace needs a header row "
                                f"{','.join(TRACE_COLUMNS)} and one row per request") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise AccelsimError(f"{path}: not a CSV file ({exc})") from None
        problems = []
        known = TRACE_COLUMNS + OPTIONAL_COLUMNS
        for name in header:
            if name not in known:
                problems.append(f"{path}: header: unknown column {name!r}{did_you_mean(name, known)}; "
                                f"columns are {', '.join(known)}")
        missing = [name for name in TRACE_COLUMNS if name not in header]
        if missing:
            problems.append(f"{path}: header: missing column(s) {', '.join(missing)}; a trace needs "
                            f"{', '.join(TRACE_COLUMNS)}")
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if duplicated:
            problems.append(f"{path}: header: column(s) {', '.join(duplicated)} given twice")
        if problems:
            raise AccelsimError("\n".join(problems))
        index = {name: header.index(name) for name in header}
        ids, arrival, prompt, output = [], [], [], []
        try:
            for row_number, row in enumerate(reader, start=1):
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    problems.append(f"{path}: row {row_number}: {len(row)} fields, the header has {len(header)}")
                    continue
                text = row[index["arrival_s"]].strip()
                try:
                    value = float(text)
                except ValueError:
                    value = float("nan")
                if not (math.isfinite(value) and value >= 0):
                    problems.append(f"{path}: row {row_number}: column arrival_s: must be a number of seconds "
                                    f">= 0 (got {text!r})")
                arrival.append(value)
                for name, into in (("prompt_tokens", prompt), ("output_tokens", output)):
                    text = row[index[name]].strip()
                    number = _integer(text)
                    if number is None or number < 1:
                        problems.append(f"{path}: row {row_number}: column {name}: must be an integer >= 1 "
                                        f"(got {text!r})")
                    into.append(number or 0)
                ids.append(row[index["request_id"]].strip() if "request_id" in index else str(row_number - 1))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise AccelsimError(f"{path}: not a CSV file ({exc})") from None
    if not problems and not arrival:
        problems.append(f"{path}: no requests; add one row per request under the header")
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        head = f"{path}: {len(problems)} problem(s) in the trace:\n  " if len(problems) > 1 else ""
        raise AccelsimError(head + "\n  ".join(shown) + (f"\n  ... and {more} more" if more else ""))
    return _sorted(ids, arrival, prompt, output, f"trace {path} ({len(arrival)} requests)")
