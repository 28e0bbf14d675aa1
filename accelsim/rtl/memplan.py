"""DMA program of one GEMM layer on a double- (or single-) buffered systolic accelerator.

The memory system of :mod:`accelsim.rtl.memsys` runs a list of DRAM transfers (a descriptor list,
as a compiler would give a DMA engine) in order, each waiting for its event. This module writes
that list from the layer's shape, the array, the dataflow and the SRAM half-buffer capacities,
by the reuse rules of accelsim/model.py ("DRAM traffic"), stated here per operand tensor (and
written independently of the cycle-level kernel, accelsim/kernels/cycle.py, which the RTL is
checked against):

* The GEMM ``C [P, M] = A [P, K] @ B [K, M]`` (P output pixels, M filters, K reduction) is folded
  as the RTL arrays fold it: rows x cols x time = K x M x P (ws), K x P x M (is), P x M x K (os);
  column folds outer, row folds inner.
* An input spanning the row and column axes (the stationary operand) loads its r x c tile every
  fold. An input spanning the row axis and time loads the row fold's r x t slice, only in the
  first column fold when the whole operand fits its half buffer. An input spanning the column axis
  and time loads the column fold's c x t slice, only in the first row fold when one such slice
  fits its half buffer.
* Outputs: os writes each fold's r x c outputs. ws / is (K on the rows) keep a column fold's
  c x t partial sums in the ofmap buffer and write them after the last row fold; when they do not
  fit its half, every fold writes them and every fold but the first of a column reads them back.

Order and events (accelsim/sim/cycle.py, "The DRAM prefetch model"): fold 0's load at once; then
per fold f, the load of fold f+1 (its ifmap and filter words in one transfer) when fold f starts
(double-buffered; when it ends, single-buffered), fold f's write-back when it ends, and fold
f+1's partial-sum read right after that write-back. Transfers of zero words are left out. Fold f
may start when every read issued for folds <= f is done and every write-back of folds <= f-2
(double-buffered: it reuses that fold's ofmap half; single-buffered: f-1) is done.
"""
from __future__ import annotations

from dataclasses import dataclass

#: rows, cols, time axes of the GEMM view per RTL dataflow
LAYOUTS = {"ws": ("K", "M", "P"), "is": ("K", "P", "M"), "os": ("P", "M", "K")}
#: the axes each tensor spans
TENSORS = {"ifmap": ("P", "K"), "filter": ("K", "M")}

AFTER_NOTHING, AFTER_START, AFTER_END = 0, 1, 2


@dataclass(frozen=True)
class Transfer:
    """One DRAM transfer of the DMA program."""

    fold: int         # the fold it loads for, or writes back
    kind: str         # 'load' (ifmap + filter), 'psum' (partial sums read back) or 'write'
    words: int        # > 0
    ifmap_words: int
    filter_words: int
    after: int        # AFTER_NOTHING (in order only), AFTER_START or AFTER_END of fold `event_fold`
    event_fold: int

    @property
    def is_write(self) -> bool:
        return self.kind == "write"


@dataclass(frozen=True)
class MemoryPlan:
    """The folds and the DMA program of one GEMM layer."""

    dataflow: str
    rows: int
    cols: int
    p: int
    m: int
    k: int
    double_buffered: bool
    folds: tuple            # (row fold, column fold, rows used, cols used) per fold
    transfers: tuple        # Transfer, in DMA order
    need_reads: tuple       # per fold: read transfers that must be done before it starts
    need_writes: tuple      # per fold: write transfers that must be done before it starts

    @property
    def t(self) -> int:
        return {"P": self.p, "M": self.m, "K": self.k}[LAYOUTS[self.dataflow][2]]


def plan(dataflow: str, rows: int, cols: int, p: int, m: int, k: int, cap_words: dict,
         double_buffered: bool = True) -> MemoryPlan:
    """The DMA program; ``cap_words`` maps 'ifmap', 'filter', 'ofmap' to half-buffer capacities
    in words (the whole buffer when single-buffered)."""
    row_axis, col_axis, time_axis = LAYOUTS[dataflow]
    size = {"P": p, "M": m, "K": k}
    sr, sc, t = size[row_axis], size[col_axis], size[time_axis]
    row_folds, col_folds = -(-sr // rows), -(-sc // cols)
    first_cols = min(cols, sc)
    folds = []
    loads = []                  # per fold: {tensor: words}
    for cf in range(col_folds):
        c = min(cols, sc - cf * cols)
        for rf in range(row_folds):
            r = min(rows, sr - rf * rows)
            words = {}
            for tensor, axes in TENSORS.items():
                if set(axes) == {row_axis, col_axis}:
                    words[tensor] = r * c
                elif row_axis in axes:
                    words[tensor] = 0 if (cf > 0 and sr * t <= cap_words[tensor]) else r * t
                else:
                    words[tensor] = 0 if (rf > 0 and first_cols * t <= cap_words[tensor]) else c * t
            folds.append((rf, cf, r, c))
            loads.append(words)
    k_on_rows = row_axis == "K"
    spill = k_on_rows and first_cols * t > cap_words["ofmap"]
    writes, psums = [], []
    for rf, cf, r, c in folds:
        if not k_on_rows:
            writes.append(r * c)
            psums.append(0)
        else:
            writes.append(c * t if (spill or rf == row_folds - 1) else 0)
            psums.append(c * t if (spill and rf > 0) else 0)

    transfers = []

    def add(fold, kind, words, after, event_fold, ifmap=0, filt=0):
        if words > 0:
            transfers.append(Transfer(fold, kind, words, ifmap, filt, after, event_fold))

    def add_load(f, after, event_fold):
        add(f, "load", loads[f]["ifmap"] + loads[f]["filter"], after, event_fold,
            loads[f]["ifmap"], loads[f]["filter"])

    n = len(folds)
    add_load(0, AFTER_NOTHING, 0)
    for f in range(n):
        if f + 1 < n:
            add_load(f + 1, AFTER_START if double_buffered else AFTER_END, f)
        add(f, "write", writes[f], AFTER_END, f)
        if f + 1 < n:
            add(f + 1, "psum", psums[f + 1], AFTER_NOTHING, f)
    need_reads, need_writes = [], []
    lag = 2 if double_buffered else 1
    for f in range(n):
        need_reads.append(sum(1 for x in transfers if not x.is_write and x.fold <= f))
        need_writes.append(sum(1 for x in transfers if x.is_write and x.fold <= f - lag))
    return MemoryPlan(dataflow=dataflow, rows=rows, cols=cols, p=p, m=m, k=k,
                      double_buffered=double_buffered, folds=tuple(folds), transfers=tuple(transfers),
                      need_reads=tuple(need_reads), need_writes=tuple(need_writes))
