"""Sparsity: effective MACs and the storage of sparse weight encodings (exact integers).

Densities are the fractions of non-zero elements (1 - p for weights, 1 - q for activations); they
are converted with ``fractions.Fraction(str(d))`` so 0.3 is exactly 3/10 and every count is exact.

* Effective MACs ([sze2020] ch. 8, zeros independent): MACs >= (1-p)(1-q) x M*C*R*S*E*F;
  :func:`effective_macs` is that bound rounded up, the MACs an ideal zero-skipping array performs.
* Encodings of a tensor of ``n`` elements, ``nnz`` non-zeros, ``bits`` per value ([sze2020] ch. 8, "Sparse
  Matrices Encodings"; formats as in Sze, Chen, Yang, Emer, "Efficient Processing of Deep Neural
  Networks", Morgan & Claypool 2020, section 8.2):
  - bitmap: one presence bit per element plus the non-zero values: n + nnz*bits bits;
  - run-length (RLE): one (run, value) entry per non-zero, the run field counting the zeros before it
    in ``run_bits`` bits (5 in Eyeriss, Chen et al., JSSC 2017, section V-B); a run longer than
    2^run_bits - 1 needs an extra entry, so entries >= max(nnz, ceil(zeros / (2^run_bits - 1))),
    exact when the zeros are spread evenly: entries x (run_bits + bits) bits;
  - COO: each non-zero with its coordinates, ceil(log2(d)) bits per dimension d > 1 of the tensor
    (a conv weight M x C/G x R x S, a GEMM weight K x N): nnz * (bits + sum ceil(log2 d)) bits;
  - N:M structured (NVIDIA Ampere 2:4, Mishra et al., arXiv:2104.08378, section 2): n of every m
    values kept, each with a ceil(log2 m)-bit index: kept * (bits + ceil(log2 m)) bits.
"""
from __future__ import annotations

import math
from fractions import Fraction

RUN_BITS = 5


def _fraction(density: float) -> Fraction:
    return Fraction(str(density))


def nonzeros(elements: int, density: float) -> int:
    """ceil(elements x density): the non-zero elements of a tensor at ``density``."""
    return math.ceil(elements * _fraction(density))


def effective_macs(macs: int, weight_density: float = 1.0, activation_density: float = 1.0) -> int:
    """ceil((1-p)(1-q) x MACs), [sze2020] ch. 8's lower bound on the MACs of a sparse layer."""
    return math.ceil(macs * _fraction(weight_density) * _fraction(activation_density))


def _bytes(bits: int) -> int:
    return -(-bits // 8)


def bitmap_bytes(elements: int, nnz: int, bits: int) -> int:
    return _bytes(elements + nnz * bits)


def rle_bytes(elements: int, nnz: int, bits: int, run_bits: int = RUN_BITS) -> int:
    entries = max(nnz, -(-(elements - nnz) // (2**run_bits - 1)))
    return _bytes(entries * (run_bits + bits))


def coo_bytes(nnz: int, bits: int, dims) -> int:
    index_bits = sum(math.ceil(math.log2(d)) for d in dims if d > 1)
    return _bytes(nnz * (bits + index_bits))


def nm_kept(elements: int, n: int, m: int) -> int:
    """Values kept by n:m sparsity: n of every full group of m, and up to n of a last partial group."""
    return (elements // m) * n + min(elements % m, n)


def nm_bytes(elements: int, n: int, m: int, bits: int) -> int:
    return _bytes(nm_kept(elements, n, m) * (bits + math.ceil(math.log2(m))))
