"""Per-layer and total counts of a workload: MACs, parameters, tensor sizes, bytes, sparse storage.

Backs ``accelsim workload stats FILE [--format table|csv|json] [--precision int8]``.
Counts follow workloads/README.md (Sze et al., Proc. IEEE 2017, Eq. 2, N = batch):

    MACs    = N * M * E * F * (C/G) * R * S      (a GEMM M x N x K: M * N * K; 0 without MACs)
    weights = M * (C/G) * R * S                  (a GEMM: K * N)
    params  = weights + biases (M if the layer has a bias) + BN parameters (4*C: alpha, beta, mu,
              sigma per channel, [ioffe2015])
    input   = N * C * H * W   (unpadded; a GEMM: M x K; an add: each input)
    output  = N * M * E * F   (a GEMM: M x N)

Each layer's tensors are at its ``precision`` annotation, else at ``--precision``. Bytes of a tensor
of ``words`` elements at ``bits`` per element are ceil(words * bits / 8): int4 is packed two per byte.
Activation bytes of a layer = input bytes + output bytes (each layer reads its input and writes its
output once; no reuse across layers is assumed); 0 for a folded batchnorm and a concat, which move
nothing at inference (their tensors are their producers').
``storage_bytes`` is the storage cost of a layer ([sze2020] ch. 2), 32 x (M*C*K*K + B*C*H*W + B*M*E*F) bits for
fp32, at the layer's precision: weight bytes + input bytes + output bytes. (For a depthwise-separable
pair, the same formula's 32 x (CHW + CKK + CEF + MC + MEF) is the two layers' sum minus the shared
intermediate tensor CEF, counted here by both.)
Sparsity (accelsim/sparsity.py): ``effective_macs`` = ceil((1-p)(1-q) MACs) ([sze2020] ch. 8); the weight
tensor's bytes as bitmap, run-length (5-bit runs), COO and N:M (the dense bytes without ``nm``), and
the input activations' as bitmap, run-length and COO at ``activation_density``.
"""
from __future__ import annotations

import json

import pandas as pd

from . import sparsity
from .errors import AccelsimError, did_you_mean
from .spec.hw import PRECISION_BITS
from .spec.workload import Layer, Workload

FORMATS = ("table", "csv", "json")

#: Columns of :func:`stats`, in order. Counts are in elements ("words") unless the name says bytes.
COLUMNS = ("layer", "type", "input_shape", "output_shape", "input_words", "output_words", "macs", "weights",
           "weight_bytes", "input_bytes", "output_bytes", "activation_bytes",
           "unit", "folded_into", "precision", "biases", "bn_params", "params", "param_bytes", "storage_bytes",
           "weight_density", "activation_density", "nm", "effective_macs", "weight_bytes_bitmap",
           "weight_bytes_rle", "weight_bytes_coo", "weight_bytes_nm", "input_bytes_bitmap", "input_bytes_rle",
           "input_bytes_coo")

_TEXT = ("layer", "type", "input_shape", "output_shape", "unit", "folded_into", "precision", "nm")
_FLOAT = ("weight_density", "activation_density")
_SUMMED = ("macs", "weights", "weight_bytes", "input_bytes", "output_bytes", "activation_bytes", "biases",
           "bn_params", "params", "param_bytes", "storage_bytes", "effective_macs", "weight_bytes_bitmap",
           "weight_bytes_rle", "weight_bytes_coo", "weight_bytes_nm", "input_bytes_bitmap", "input_bytes_rle",
           "input_bytes_coo")
#: Columns the ``table`` format prints (csv and json have all of :data:`COLUMNS`).
TABLE_COLUMNS = ("layer", "type", "unit", "input_shape", "output_shape", "macs", "weights", "params",
                 "precision", "weight_bytes", "activation_bytes", "storage_bytes", "effective_macs", "folded_into")


def _bytes(words: int, bits: int) -> int:
    return -(-words * bits // 8)


def _layer_type(layer: Layer) -> str:
    return "depthwise" if layer.is_depthwise else layer.kind


def _shapes(layer: Layer) -> tuple[str, str]:
    """Input and output shapes: NxCxHxW -> NxMxExF for a conv, MxK -> MxN for a GEMM."""
    if layer.kind == "gemm":  # lowered as batch N = GEMM M, C = K, filters M = GEMM N
        return f"{layer.N}x{layer.C}", f"{layer.N}x{layer.M}"
    tensors = f"{len(layer.inputs)}x" if layer.kind == "add" else ""
    return (f"{tensors}{layer.N}x{layer.C}x{layer.H}x{layer.W}", f"{layer.N}x{layer.M}x{layer.E}x{layer.F}")


def _check_precision(precision: str) -> int:
    if precision not in PRECISION_BITS:
        raise AccelsimError(f"precision must be one of {', '.join(PRECISION_BITS)} (got {precision!r})"
                            + did_you_mean(precision, PRECISION_BITS))
    return PRECISION_BITS[precision]


def _sparse_inputs(layer: Layer, bits: int) -> dict:
    """The input activations (N x C x H x W, each input of an add) at ``activation_density``."""
    if layer.unit == "none":
        return dict.fromkeys(("input_bytes_bitmap", "input_bytes_rle", "input_bytes_coo"), 0)
    words = layer.ifmap_words
    nnz = sparsity.nonzeros(words, layer.annotations.activation_density)
    dims = (len(layer.inputs) if layer.kind == "add" else 1, layer.N, layer.C, layer.H, layer.W)
    return {"input_bytes_bitmap": sparsity.bitmap_bytes(words, nnz, bits),
            "input_bytes_rle": sparsity.rle_bytes(words, nnz, bits),
            "input_bytes_coo": sparsity.coo_bytes(nnz, bits, dims)}


def _sparse_columns(layer: Layer, bits: int) -> dict:
    notes = layer.annotations
    nnz = sparsity.nonzeros(layer.weights, notes.weight_density)
    dims = (layer.M, layer.C // layer.groups, layer.R, layer.S)
    dense = _bytes(layer.weights, bits)
    return {
        "weight_density": notes.weight_density, "activation_density": notes.activation_density,
        "nm": f"{notes.nm[0]}:{notes.nm[1]}" if notes.nm else "",
        "effective_macs": sparsity.effective_macs(layer.macs, notes.weight_density, notes.activation_density),
        "weight_bytes_bitmap": sparsity.bitmap_bytes(layer.weights, nnz, bits),
        "weight_bytes_rle": sparsity.rle_bytes(layer.weights, nnz, bits),
        "weight_bytes_coo": sparsity.coo_bytes(nnz, bits, dims),
        "weight_bytes_nm": sparsity.nm_bytes(layer.weights, *notes.nm, bits) if notes.nm else dense,
    }


def stats(workload: Workload, precision: str = "int8") -> pd.DataFrame:
    """One row per layer (columns :data:`COLUMNS`); a layer without a ``precision`` annotation is
    stored at ``precision``."""
    _check_precision(precision)
    rows = []
    for layer in workload.layers:
        layer_precision = layer.annotations.precision or precision
        bits = PRECISION_BITS[layer_precision]
        in_shape, out_shape = _shapes(layer)
        moved = layer.unit != "none"  # a folded BN or a concat moves no data of its own
        in_bytes = _bytes(layer.ifmap_words, bits) if moved else 0
        out_bytes = _bytes(layer.ofmap_words, bits) if moved else 0
        weight_bytes = _bytes(layer.weights, bits)
        row = {
            "layer": layer.name, "type": _layer_type(layer), "input_shape": in_shape, "output_shape": out_shape,
            "input_words": layer.ifmap_words, "output_words": layer.ofmap_words,
            "macs": layer.macs, "weights": layer.weights, "weight_bytes": weight_bytes,
            "input_bytes": in_bytes, "output_bytes": out_bytes, "activation_bytes": in_bytes + out_bytes,
            "unit": layer.unit, "folded_into": layer.folded_into, "precision": layer_precision,
            "biases": layer.biases, "bn_params": layer.bn_params, "params": layer.params,
            "param_bytes": _bytes(layer.params, bits), "storage_bytes": weight_bytes + in_bytes + out_bytes,
        }
        row.update(_sparse_columns(layer, bits))
        row.update(_sparse_inputs(layer, bits))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame.attrs.update(workload=workload.name, precision=precision)
    return frame


def totals(frame: pd.DataFrame) -> dict:
    """Whole-workload sums of the count columns, plus the layer count and the default precision.

    Byte totals are sums of the per-layer byte counts (each layer's tensor is padded to whole bytes).
    """
    out = {"workload": frame.attrs.get("workload", ""), "precision": frame.attrs.get("precision", ""),
           "layers": int(len(frame))}
    out.update({col: int(frame[col].sum()) for col in _SUMMED})
    return out


def _json_value(col, value):
    if col in _TEXT:
        return value
    return float(value) if col in _FLOAT else int(value)


def render(frame: pd.DataFrame, totals: dict, fmt: str = "table") -> str:
    """Format :func:`stats` and :func:`totals` as ``table`` (aligned text), ``csv`` or ``json``.

    The JSON form is ``{"layers": [...], "totals": {"macs": ..., "weights": ..., ...}}``. The CSV form
    has one row per layer and no totals row, so it stays a tidy table. The table shows
    :data:`TABLE_COLUMNS` and a totals line.
    """
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        layers = [{k: _json_value(k, v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
        return json.dumps({"layers": layers, "totals": totals}, indent=2) + "\n"
    if fmt == "table":
        view = frame[list(TABLE_COLUMNS)]
        body = view.to_string(index=False, formatters={c: "{:,}".format for c in view.columns if c not in _TEXT})
        foot = (f"{totals['workload']}: {totals['layers']} layers, {totals['macs']:,} MACs, "
                f"{totals['weights']:,} weights ({totals['weight_bytes']:,} bytes), "
                f"{totals['params']:,} params with biases and BN, "
                f"{totals['activation_bytes']:,} activation bytes; default precision {totals['precision']}")
        return body + "\n" + foot + "\n"
    raise AccelsimError(f"format must be one of {', '.join(FORMATS)} (got {fmt!r})" + did_you_mean(fmt, FORMATS))
