"""Row encodings: layers and hardware as the integer rows the systolic kernel takes
(accelsim/kernels/systolic.py's ``L_*`` and ``H_*`` layouts), the batch that carries them, and
each layer's storage precision.

Below the fidelity levels (accelsim/analytical.py, accelsim/sim/cycle.py, accelsim/loopnest/):
every engine that feeds the systolic kernels encodes its points here.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from .kernels import systolic as k
from .spec import Hardware, Layer

TIMINGS = {"physical": k.TIMING_PHYSICAL, "scalesim": k.TIMING_SCALESIM}


def reduction_fraction(layer: Layer, hw: Hardware | None = None) -> Fraction:
    """The fraction of a layer's reduction K (= (C/G)*R*S) the array performs: 1 when dense.

    * hw ``sparsity.nm: [n, m]`` and a layer annotated n':m with n' <= n: the array keeps n of every
      m weights along K and skips the rest (NVIDIA's 2:4 sparse tensor cores, Mishra et al.,
      arXiv:2104.08378, section 2: twice the math throughput at 2:4), so K' = ceil(K n / m);
    * hw ``sparsity.zero_skipping``: an ideal zero-skipping array performs only the MACs whose
      weight and activation are both non-zero, [sze2020] ch. 8's bound MACs >= (1-p)(1-q) x dense, so
      K' = ceil(K (1-p)(1-q)) (load balance assumed, as in the bound).
    The smaller applies when both do. The array then maps the GEMM with K' (cycles, folds and the
    filter / ifmap words read through its edge follow K'); index metadata is not counted.
    """
    fraction = Fraction(1)
    if hw is None:
        return fraction
    notes = layer.annotations
    if hw.sparsity_nm and notes.nm and notes.nm[1] == hw.sparsity_nm[1] and notes.nm[0] <= hw.sparsity_nm[0]:
        fraction = Fraction(hw.sparsity_nm[0], hw.sparsity_nm[1])
    if hw.sparsity_zero_skipping:
        fraction = min(fraction, Fraction(str(notes.weight_density)) * Fraction(str(notes.activation_density)))
    return fraction


def layer_row(layer: Layer, hw: Hardware | None = None) -> list[int]:
    fraction = reduction_fraction(layer, hw)
    return [layer.N, layer.C, layer.H, layer.W, layer.M, layer.R, layer.S, layer.stride_h,
            layer.stride_w, layer.pad_h, layer.pad_w, layer.groups, layer.dilation_h, layer.dilation_w,
            fraction.numerator, fraction.denominator]


def hw_row(hw: Hardware, timing: str) -> list[int]:
    return [hw.array_rows, hw.array_cols, hw.buffer_words(hw.sram_ifmap), hw.buffer_words(hw.sram_filter),
            hw.buffer_words(hw.sram_ofmap), int(hw.double_buffered), hw.word_bits, TIMINGS[timing]]


@dataclass(frozen=True)
class Batch:
    """Points for the kernel as flat arrays (one row per point)."""

    layers: np.ndarray      # int64 [n, LAYER_COLS]
    hws: np.ndarray         # int64 [n, HW_COLS]
    bandwidths: np.ndarray  # float64 [n]
    dataflows: np.ndarray   # int64 [n, 3]


def evaluate_batch(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Run the kernel on a batch; returns (int outputs [n, len(INT_OUTPUTS)], float outputs)."""
    n = batch.layers.shape[0]
    out_int = np.zeros((n, len(k.INT_OUTPUTS)), dtype=np.int64)
    out_float = np.zeros((n, len(k.FLOAT_OUTPUTS)), dtype=np.float64)
    k.evaluate(np.ascontiguousarray(batch.layers, dtype=np.int64),
               np.ascontiguousarray(batch.hws, dtype=np.int64),
               np.ascontiguousarray(batch.bandwidths, dtype=np.float64),
               np.ascontiguousarray(batch.dataflows, dtype=np.int64), out_int, out_float)
    return out_int, out_float


def layer_precision(layer: Layer, hw: Hardware) -> str:
    """The precision a layer's tensors are stored and moved at: its annotation, else the hw's."""
    return layer.annotations.precision or hw.precision


def at_precision(hw: Hardware, precision: str) -> Hardware:
    """``hw`` with words of ``precision``: the same buffer bytes hold more or fewer words."""
    return hw if precision == hw.precision else replace(hw, precision=precision)
