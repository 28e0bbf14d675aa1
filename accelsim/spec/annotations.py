"""Per-layer precision and sparsity annotations of a workload layer (workloads/README.md).

``precision``: the layer's tensors are stored and moved at this width (int4, int8, int16, fp16,
bf16, fp32); absent: the hardware's precision (``accelsim run``) or the ``--precision`` option
(``accelsim workload stats``).
``weight_density`` = 1 - p and ``activation_density`` = 1 - q: the fractions of non-zero weights and
input activations ([sze2020] ch. 8: MACs >= (1-p)(1-q) x dense MACs).
``nm: [n, m]`` (or ``"2:4"``): structured sparsity, at most n non-zeros in every m consecutive
weights along the reduction axis (NVIDIA Ampere's 2:4, Mishra et al., arXiv:2104.08378); it sets the
weight density to n/m unless ``weight_density`` says less.
"""
from __future__ import annotations

from dataclasses import dataclass

from .common import NM_SCHEMA, Reader, nm_pair
from .hw import PRECISION_BITS

ANNOTATION_KEYS = ("precision", "weight_density", "activation_density", "nm")


@dataclass(frozen=True)
class Annotations:
    precision: str = ""
    weight_density: float = 1.0
    activation_density: float = 1.0
    nm: tuple[int, ...] = ()

    def bits(self, default_precision: str) -> int:
        """Bits per element: the layer's precision, else ``default_precision``'s."""
        return PRECISION_BITS[self.precision or default_precision]

    @property
    def sparse(self) -> bool:
        return self.weight_density < 1 or self.activation_density < 1 or bool(self.nm)


def read_annotations(r: Reader) -> Annotations | None:
    """Read the annotation keys of one layer; None (with the problems recorded) if any is invalid."""
    precision = r.choice("precision", tuple(PRECISION_BITS), None) if "precision" in r.data else ""
    densities = []
    for key in ("weight_density", "activation_density"):
        value = r.number(key, 1.0)
        if value is not None and not 0 < value <= 1:
            r.error(key, f"must be a fraction of non-zero elements in (0, 1] (got {value})")
            value = None
        densities.append(value)
    raw_nm = r.raw("nm", None, NM_SCHEMA)
    nm = () if raw_nm is None else nm_pair(r, "nm", raw_nm)
    if None in densities or nm is None or precision is None:
        return None
    weight_density, activation_density = densities
    if nm:
        if "weight_density" in r.data and weight_density > nm[0] / nm[1]:
            r.error("weight_density", f"is {weight_density} but nm {nm[0]}:{nm[1]} allows at most "
                                      f"{nm[0] / nm[1]:g}; lower it or remove it (nm sets it)")
            return None
        if "weight_density" not in r.data:
            weight_density = nm[0] / nm[1]
    return Annotations(precision=precision, weight_density=float(weight_density),
                       activation_density=float(activation_density), nm=tuple(nm))
