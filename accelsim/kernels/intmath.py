"""Exact int64 helpers for the kernels: products that may exceed 2^63 - 1 in an intermediate step.

Validation bounds every count accelsim reports below 2^63 (hw/README.md, "Bounds"), and every
product in the kernels is a partial product of such a count (factors >= 1 never exceed their
final product) except the ones that go through the functions below: a proportional share
``unique * part // total`` of an operand (accelsim/kernels/cycle.py) multiplies two counts of up to
2^56. numba's int64 arithmetic wraps silently. (The input words a layer needs are the touched
rows x columns of accelsim/kernels/systolic.py's ``touched``, at most P*K, so a large padding no
longer enters a product.)
"""
from __future__ import annotations

import numpy as np

from .jit import njit

INT64_MAX = np.int64(2**63 - 1)
#: What :func:`saturating_mul` returns for a product that would not fit: larger than every count
#: validation admits (2^62), so a ``min`` with a real count picks the count.
SATURATED = np.int64(2**62)

_LOW32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_ONE = np.uint64(1)
_ZERO = np.uint64(0)


@njit(cache=True, inline="always")
def saturating_mul(a, b):
    """``a * b`` for ``a, b >= 0``, or :data:`SATURATED` when the product exceeds it."""
    if a == 0 or b == 0:
        return np.int64(0)
    if a > SATURATED // b:
        return SATURATED
    return a * b


@njit(cache=True)
def mul_div_floor(a, b, c):
    """``floor(a * b / c)`` exactly for ``a, b >= 0`` and ``c > 0``, also when ``a * b`` exceeds
    int64 (the quotient itself must fit, as every share of a count does).

    The product is formed in 128 bits from 32-bit halves (unsigned 64-bit arithmetic) and divided
    by shift-and-subtract long division (Knuth, TAOCP vol. 2, section 4.3.1), only when the plain
    int64 product would overflow."""
    if a == 0 or b == 0:
        return np.int64(0)
    if a <= INT64_MAX // b:
        return (a * b) // c
    ua = np.uint64(a)
    ub = np.uint64(b)
    a0 = ua & _LOW32
    a1 = ua >> _S32
    b0 = ub & _LOW32
    b1 = ub >> _S32
    p00 = a0 * b0
    p01 = a0 * b1
    p10 = a1 * b0
    p11 = a1 * b1
    mid = (p00 >> _S32) + (p01 & _LOW32) + (p10 & _LOW32)
    lo = (p00 & _LOW32) | (mid << _S32)
    hi = p11 + (p01 >> _S32) + (p10 >> _S32) + (mid >> _S32)
    uc = np.uint64(c)
    # hi < c because the quotient fits in 64 bits; the remainder stays below c < 2^63, so
    # doubling it fits in 64 bits
    rem = hi % uc
    q = _ZERO
    for i in range(63, -1, -1):
        rem = (rem << _ONE) | ((lo >> np.uint64(i)) & _ONE)
        q = q << _ONE
        if rem >= uc:
            rem = rem - uc
            q = q | _ONE
    return np.int64(q)
