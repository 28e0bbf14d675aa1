"""Per-layer and total counts of a workload: MACs, weights, tensor sizes and bytes at a precision.

Backs ``accelsim workload stats FILE [--format table|csv|json] [--precision int8]``.
Counts follow workloads/README.md (Sze et al., Proc. IEEE 2017, Eq. 2, N = batch):

    MACs    = N * M * E * F * (C/G) * R * S      (a GEMM M x N x K: M * N * K)
    weights = M * (C/G) * R * S                  (a GEMM: K * N; biases and BN are not counted)
    input   = N * C * H * W   (unpadded; a GEMM: M x K)      output = N * M * E * F (a GEMM: M x N)

Bytes of a tensor of ``words`` elements at ``bits`` per element are ceil(words * bits / 8): int4 is
packed two per byte. Activation bytes of a layer = input bytes + output bytes (each layer reads its
input and writes its output once; no reuse across layers is assumed).
"""
from __future__ import annotations

import json

import pandas as pd

from .errors import AccelsimError, did_you_mean
from .spec.hw import PRECISION_BITS
from .spec.workload import Layer, Workload

FORMATS = ("table", "csv", "json")

#: Columns of :func:`stats`, in order. Counts are in elements ("words") unless the name says bytes.
COLUMNS = ("layer", "type", "input_shape", "output_shape", "input_words", "output_words", "macs", "weights",
           "weight_bytes", "input_bytes", "output_bytes", "activation_bytes")

_SUMMED = ("macs", "weights", "weight_bytes", "input_bytes", "output_bytes", "activation_bytes")


def _bytes(words: int, bits: int) -> int:
    return -(-words * bits // 8)


def _layer_type(layer: Layer) -> str:
    return "depthwise" if layer.is_depthwise else layer.kind


def _shapes(layer: Layer) -> tuple[str, str]:
    """Input and output shapes: NxCxHxW -> NxMxExF for a conv, MxK -> MxN for a GEMM."""
    if layer.kind == "gemm":  # lowered as batch N = GEMM M, C = K, filters M = GEMM N
        return f"{layer.N}x{layer.C}", f"{layer.N}x{layer.M}"
    return (f"{layer.N}x{layer.C}x{layer.H}x{layer.W}", f"{layer.N}x{layer.M}x{layer.E}x{layer.F}")


def _check_precision(precision: str) -> int:
    if precision not in PRECISION_BITS:
        raise AccelsimError(f"precision must be one of {', '.join(PRECISION_BITS)} (got {precision!r})"
                            + did_you_mean(precision, PRECISION_BITS))
    return PRECISION_BITS[precision]


def stats(workload: Workload, precision: str = "int8") -> pd.DataFrame:
    """One row per layer (columns :data:`COLUMNS`), every tensor stored at ``precision``."""
    bits = _check_precision(precision)
    rows = []
    for layer in workload.layers:
        in_shape, out_shape = _shapes(layer)
        in_bytes, out_bytes = _bytes(layer.ifmap_words, bits), _bytes(layer.ofmap_words, bits)
        rows.append({
            "layer": layer.name, "type": _layer_type(layer), "input_shape": in_shape, "output_shape": out_shape,
            "input_words": layer.ifmap_words, "output_words": layer.ofmap_words,
            "macs": layer.macs, "weights": layer.weights, "weight_bytes": _bytes(layer.weights, bits),
            "input_bytes": in_bytes, "output_bytes": out_bytes, "activation_bytes": in_bytes + out_bytes,
        })
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame.attrs.update(workload=workload.name, precision=precision)
    return frame


def totals(frame: pd.DataFrame) -> dict:
    """Whole-workload sums of the count columns, plus the layer count and the precision.

    ``weight_bytes`` is the sum of the per-layer byte counts (each layer's tensor is padded to whole bytes).
    """
    out = {"workload": frame.attrs.get("workload", ""), "precision": frame.attrs.get("precision", ""),
           "layers": int(len(frame))}
    out.update({col: int(frame[col].sum()) for col in _SUMMED})
    return out


def render(frame: pd.DataFrame, totals: dict, fmt: str = "table") -> str:
    """Format :func:`stats` and :func:`totals` as ``table`` (aligned text), ``csv`` or ``json``.

    The JSON form is ``{"layers": [...], "totals": {"macs": ..., "weights": ..., ...}}``. The CSV form
    has one row per layer and no totals row, so it stays a tidy table.
    """
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        layers = [{k: (int(v) if k not in ("layer", "type", "input_shape", "output_shape") else v)
                   for k, v in row.items()} for row in frame.to_dict(orient="records")]
        return json.dumps({"layers": layers, "totals": totals}, indent=2) + "\n"
    if fmt == "table":
        body = frame.to_string(index=False, formatters={c: "{:,}".format for c in frame.columns
                                                         if c not in ("layer", "type", "input_shape", "output_shape")})
        foot = (f"{totals['workload']}: {totals['layers']} layers, {totals['macs']:,} MACs, "
                f"{totals['weights']:,} weights ({totals['weight_bytes']:,} bytes at {totals['precision']}), "
                f"{totals['activation_bytes']:,} activation bytes")
        return body + "\n" + foot + "\n"
    raise AccelsimError(f"format must be one of {', '.join(FORMATS)} (got {fmt!r})" + did_you_mean(fmt, FORMATS))
