"""Functional and register-level models of the PyRTL arrays in :mod:`accelsim.rtl.array`.

Three views of the same hardware, each checked against the RTL by :mod:`accelsim.rtl.cosim`:

- :func:`fold_outputs`: the outputs of one fold, accumulated in the array's order (WS: down the
  rows r = 0..rows-1; OS: over time k = 0..t-1), wrapped to ``acc_bits`` after every addition
  (numba kernels ``_ws_fold`` / ``_os_fold``).
- :func:`output_steps`: the relative step at which each output row of a fold is on the output ports,
  derived from the one fold-length formula :func:`accelsim.rtl.timing.fold_cycles` (the last output
  is seen at step ``fold_cycles``; WS rows leave one per step before it, OS array rows bottom-up).
- :class:`RegisterModel`: a numpy replica of every register of the array, stepped once per cycle,
  whose state (in signed values, names as in the RTL) is compared register by register.
"""
from __future__ import annotations

import numpy as np

from ..kernels.jit import njit
from .array import STATIONARY_NAMES, ArrayConfig
from .timing import fold_cycles


@njit(cache=True, inline="always")
def _wrap(x, bits):
    half = np.int64(1) << (bits - 1)
    return ((x + half) & ((np.int64(1) << bits) - 1)) - half


@njit(cache=True)
def _ws_fold(a_tile, w_tile, acc_bits):
    """a_tile [t, rows] (ifmap rows over time), w_tile [rows, cols] -> out [t, cols]."""
    t, rows = a_tile.shape
    cols = w_tile.shape[1]
    out = np.empty((t, cols), dtype=np.int64)
    for i in range(t):
        for c in range(cols):
            s = np.int64(0)
            for r in range(rows):
                s = _wrap(s + a_tile[i, r] * w_tile[r, c], acc_bits)
            out[i, c] = s
    return out


@njit(cache=True)
def _os_fold(a_tile, b_tile, acc_bits):
    """a_tile [rows, t], b_tile [t, cols] -> out [rows, cols], accumulated over k in order."""
    rows, t = a_tile.shape
    cols = b_tile.shape[1]
    out = np.empty((rows, cols), dtype=np.int64)
    for r in range(rows):
        for c in range(cols):
            s = np.int64(0)
            for k in range(t):
                s = _wrap(s + a_tile[r, k] * b_tile[k, c], acc_bits)
            out[r, c] = s
    return out


def fold_outputs(config: ArrayConfig, stream: np.ndarray, stationary: np.ndarray) -> np.ndarray:
    """Outputs of one fold, row by row in the order they leave the array.

    WS: ``stream`` = ifmap tile [t, rows], ``stationary`` = weights [rows, cols] -> [t, cols].
    IS: ``stream`` = filter waves [t, rows] (B transposed), ``stationary`` = ifmap tile [rows, cols]
    (A transposed) -> [t, cols] (C transposed: wave j is filter j over the tile's pixels).
    OS: ``stream`` = ifmap tile [rows, t], ``stationary`` = weights [t, cols] -> [rows, cols],
    returned bottom row first (array row rows-1 leaves first).
    """
    a = np.ascontiguousarray(stream, dtype=np.int64)
    b = np.ascontiguousarray(stationary, dtype=np.int64)
    if config.dataflow == "os":
        return _os_fold(a, b, config.acc_bits)[::-1]
    return _ws_fold(a, b, config.acc_bits)


def output_steps(config: ArrayConfig, t: int) -> np.ndarray:
    """Relative step at which each row returned by :func:`fold_outputs` is on the outputs."""
    length = fold_cycles(config.rows, config.cols, t, config.dataflow)
    n = config.rows if config.dataflow == "os" else t
    return np.arange(length - n + 1, length + 1, dtype=np.int64)


def wrap(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap of int64 ``values`` to ``bits`` bits (numpy int32 overflow for 32)."""
    half = 1 << (bits - 1)
    return ((np.asarray(values, dtype=np.int64) + half) & ((1 << bits) - 1)) - half


class RegisterModel:
    """Every register of the array as numpy arrays of signed values, stepped per cycle.

    :meth:`step` takes the same input dict as the RTL simulator (unsigned bit patterns, missing
    ports 0) and returns the outputs of that step; :attr:`grids` maps the RTL register prefixes
    ('w', 'a', 'p' for WS; 'i', 'f', 'p' for IS; 'a', 'b', 'acc' for OS) to [rows, cols] arrays holding the values the RTL
    shows for the step just taken (before its clock edge).
    """

    def __init__(self, config: ArrayConfig):
        self.config = config
        rows, cols = config.rows, config.cols
        z = lambda *shape: np.zeros(shape, dtype=np.int64)  # noqa: E731
        self.skew_a = z(rows, max(rows, 1))
        self.a = z(rows, cols)
        self.stationary = config.dataflow != "os"
        if self.stationary:
            (self.load_port, self.stat_port, self.stat_reg, self.stream_port, self.stream_reg,
             self.valid_port) = STATIONARY_NAMES[config.dataflow]
            self.w, self.p = z(rows, cols), z(rows, cols)
            self.deskew = z(cols, max(cols, 1))
            self.valid = z(rows + cols - 1)
        else:
            self.skew_b = z(cols, max(cols, 1))
            self.b, self.acc = z(rows, cols), z(rows, cols)
            self.last = z(2 * rows + cols - 2)
            self.outreg, self.outreg_valid = z(cols), 0

    @property
    def grids(self) -> dict:
        if self.stationary:
            return {self.stat_reg: self.w, self.stream_reg: self.a, "p": self.p}
        return {"a": self.a, "b": self.b, "acc": self.acc}

    def _ports(self, inputs, prefix, n):
        ob = self.config.operand_bits
        return wrap(np.array([inputs.get(f"{prefix}_{i}", 0) for i in range(n)], dtype=np.int64), ob)

    @staticmethod
    def _edge(fresh, skew):
        """Operand at the array edge: row/column i is ``fresh`` delayed by i skew registers."""
        edge = fresh.copy()
        for i in range(1, fresh.shape[0]):
            edge[i] = skew[i, i - 1]
        return edge

    @staticmethod
    def _shift(fresh, skew):
        skew[:, 1:] = skew[:, :-1].copy()
        skew[:, 0] = fresh

    def step(self, inputs: dict) -> tuple[np.ndarray, int]:
        """One clock cycle: returns (outputs [cols] as signed values, out_valid) of this step."""
        cfg = self.config
        rows, cols, bits = cfg.rows, cfg.cols, cfg.acc_bits
        a_in = self._ports(inputs, self.stream_port if self.stationary else "a_in", rows)
        a_left = np.empty_like(self.a)
        a_left[:, 0] = self._edge(a_in, self.skew_a)
        a_left[:, 1:] = self.a[:, :-1]
        if self.stationary:
            out = np.array([self.deskew[c, cols - 2 - c] if c < cols - 1 else self.p[rows - 1, c]
                            for c in range(cols)], dtype=np.int64)
            out_valid = int(self.valid[-1])
            w_above = np.empty_like(self.w)
            w_above[0] = self._ports(inputs, self.stat_port, cols)
            w_above[1:] = self.w[:-1]
            p_above = np.zeros_like(self.p)
            p_above[1:] = self.p[:-1]
            bottom = self.p[rows - 1].copy()
            self.p = wrap(p_above + a_left * self.w, bits)
            if inputs.get(self.load_port, 0):
                self.w = w_above
            self._shift(bottom, self.deskew)
            self.valid[1:] = self.valid[:-1].copy()
            self.valid[0] = inputs.get(self.valid_port, 0)
        else:
            out, out_valid = self.outreg.copy(), self.outreg_valid
            b_above = np.empty_like(self.b)
            b_above[0] = self._edge(self._ports(inputs, "b_in", cols), self.skew_b)
            b_above[1:] = self.b[:-1]
            taps = self.last[rows + cols - 2:]
            drain = bool(taps.any())
            if drain:
                self.outreg, self.outreg_valid = self.acc[rows - 1].copy(), 1
                shifted = np.zeros_like(self.acc)
                shifted[1:] = self.acc[:-1]
                self.acc = shifted
            else:
                self.outreg, self.outreg_valid = np.zeros(cols, dtype=np.int64), 0
                self.acc = wrap(self.acc + a_left * b_above, bits)
            self._shift(self._ports(inputs, "b_in", cols), self.skew_b)
            self.b = b_above
            self.last[1:] = self.last[:-1].copy()
            self.last[0] = inputs.get("last", 0)
        self._shift(a_in, self.skew_a)
        self.a = a_left
        return out, out_valid

