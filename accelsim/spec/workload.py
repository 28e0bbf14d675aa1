"""Workloads (``workloads/*.yaml``): named lists of conv and GEMM layers.

Notation follows the course material (../shared/seeds, DESIGN.md): N batch, M filters, C input
channels, H x W input, R x S filter, E x F output, U stride, G groups.
A GEMM ``out[M x N] = A[M x K] @ B[K x N]`` (A activations, B weights) is lowered to a 1x1
convolution on a 1x1 input with batch M, C = K input channels and N filters, so one engine maps
both.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .common import Reader, load_yaml

LAYER_TYPES = ("conv", "gemm")


def conv_output_size(size: int, filt: int, stride: int, pad: int) -> int:
    """Output rows of a convolution: E = floor((H + 2P - R) / U) + 1.

    Source: Dumoulin & Visin, "A guide to convolution arithmetic" (2016), relationship 6; the
    lecture notes' conv loop nest (seed 004). Returns <= 0 when the filter does not fit.
    """
    return (size + 2 * pad - filt) // stride + 1


@dataclass(frozen=True)
class Layer:
    """One layer as a 7-D conv loop nest (plus groups). ``kind`` records how it was written."""

    name: str
    kind: str
    N: int
    C: int
    H: int
    W: int
    M: int
    R: int
    S: int
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 0
    pad_w: int = 0
    groups: int = 1

    @property
    def E(self) -> int:
        return conv_output_size(self.H, self.R, self.stride_h, self.pad_h)

    @property
    def F(self) -> int:
        return conv_output_size(self.W, self.S, self.stride_w, self.pad_w)

    @property
    def macs(self) -> int:
        """MACs = N*M*E*F*(C/G)*R*S (DESIGN.md notation; Sze et al., Proc. IEEE 2017, Eq. 2)."""
        return self.N * self.M * self.E * self.F * (self.C // self.groups) * self.R * self.S

    @property
    def weights(self) -> int:
        """Filter weights M*(C/G)*R*S (biases and BN parameters excluded, as in counts.md)."""
        return self.M * (self.C // self.groups) * self.R * self.S

    @property
    def ifmap_words(self) -> int:
        """Unpadded input activations N*C*H*W (padding zeros are generated, not stored)."""
        return self.N * self.C * self.H * self.W

    @property
    def ofmap_words(self) -> int:
        return self.N * self.M * self.E * self.F

    @property
    def is_depthwise(self) -> bool:
        return self.groups > 1 and self.groups == self.C == self.M


@dataclass(frozen=True)
class Workload:
    name: str
    layers: tuple[Layer, ...]
    description: str = ""
    source: str = ""
    file: str = ""

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def weights(self) -> int:
        return sum(layer.weights for layer in self.layers)


_CONV_KEYS = ("name", "type", "N", "C", "H", "W", "M", "R", "S", "stride", "padding", "groups")
_GEMM_KEYS = ("name", "type", "M", "N", "K")


#: Bound on a layer's loop-nest volume N*M*E*F*C*R*S, so every count fits in int64.
MAX_VOLUME = 2**62


def _conv_layer(r: Reader, name: str, batch: int) -> Layer | None:
    n = r.integer("N", batch)
    c, h, w, m, fr, fs = (r.integer(k) for k in ("C", "H", "W", "M", "R", "S"))
    stride = r.int_pair("stride", 1, minimum=1)
    pad = r.int_pair("padding", 0, minimum=0)
    groups = r.integer("groups", 1)
    r.reject_unknown(_CONV_KEYS)
    ok = None not in (n, c, h, w, m, fr, fs, stride, pad, groups)
    if groups is not None:
        for key, value in (("C", c), ("M", m)):
            if value is not None and value % groups:
                r.error("groups", f"must divide {key}={value} (got {groups}); depthwise uses groups = C = M")
                ok = False
    for key, size, filt, axis in (("R", h, fr, 0), ("S", w, fs, 1)):
        if None in (size, filt, stride, pad):
            continue
        if conv_output_size(size, filt, stride[axis], pad[axis]) < 1:
            dim = "H" if key == "R" else "W"
            r.error(key, f"filter {key}={filt} is larger than the padded input {dim}+2*padding="
                         f"{size + 2 * pad[axis]}: the layer has no output; use a smaller filter or more padding")
            ok = False
    if not ok:
        return None
    layer = Layer(name=name, kind="conv", N=n, C=c, H=h, W=w, M=m, R=fr, S=fs,
                  stride_h=stride[0], stride_w=stride[1], pad_h=pad[0], pad_w=pad[1], groups=groups)
    return _bounded(r, layer)


def _bounded(r: Reader, layer: Layer) -> Layer | None:
    volume = layer.N * layer.M * layer.E * layer.F * layer.C * layer.R * layer.S
    if volume >= MAX_VOLUME or layer.ifmap_words >= MAX_VOLUME:
        r.error("", f"the layer is too large to count exactly in 64-bit integers (loop-nest volume "
                    f"{volume:.3e} >= 2^62); split it into smaller layers")
        return None
    return layer


def _gemm_layer(r: Reader, name: str) -> Layer | None:
    m, n, k = (r.integer(key) for key in ("M", "N", "K"))
    r.reject_unknown(_GEMM_KEYS)
    if None in (m, n, k):
        return None
    return _bounded(r, Layer(name=name, kind="gemm", N=m, C=k, H=1, W=1, M=n, R=1, S=1))


def workload_from_dict(data, file: str = "<workload>") -> Workload:
    """Validate a parsed workload mapping and build a :class:`Workload`; all problems at once."""
    top = Reader(data, file)
    name = top.string("name")
    description = top.string("description", "")
    source = top.string("source", "")
    batch = top.integer("batch", 1)
    raw_layers = top.raw("layers")
    top.reject_unknown(("name", "description", "source", "batch", "layers"))
    layers: list[Layer] = []
    if raw_layers is not None and (not isinstance(raw_layers, list) or not raw_layers):
        top.error("layers", "must be a non-empty list of layers")
        raw_layers = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_layers or []):
        r = Reader(raw, file, f"layers[{index}]", top.problems)
        lname = r.string("name")
        kind = r.choice("type", LAYER_TYPES)
        if lname is not None:
            if lname in seen:
                r.error("name", f"duplicate layer name {lname!r} (also layers[{seen[lname]}]); names must be unique")
            seen.setdefault(lname, index)
        if kind == "conv":
            layer = _conv_layer(r, lname, batch or 1)
        elif kind == "gemm":
            layer = _gemm_layer(r, lname)
        else:
            layer = None
        if layer is not None and lname is not None:
            layers.append(layer)
    top.raise_if_problems()
    return Workload(name=name, layers=tuple(layers), description=description or "",
                    source=source or "", file=str(file))


def load_workload(path) -> Workload:
    """Load and validate one ``workloads/*.yaml`` file."""
    return workload_from_dict(load_yaml(Path(path)), str(path))
