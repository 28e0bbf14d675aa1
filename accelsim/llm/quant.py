"""Quantized weights: bytes stored (with scales and zero points), compute precision, dequantization work.

Formats (``--weights``, or a config's ``quantization_config``):

- ``w8a16`` / ``w4a16``: weight-only integer quantization with one fp16 scale and one zero point
  (at the weight's width) per group of ``group`` consecutive weights along the reduction dimension
  K (GPTQ, Frantar et al., ICLR 2023, Sec. 4 "grouping"; AWQ, Lin et al., MLSys 2024, Sec. 3).
  A ``K x N`` matrix stores ``K*N*bits/8 + ceil(K/group)*N*(2 + bits/8)`` bytes. The GEMM runs at
  the activation precision: each weight is dequantized, ``(q - z) * s``, 2 vector ops per weight
  element read.
- ``w8a8``: int8 weights and activations (SmoothQuant, Xiao et al., ICML 2023, Sec. 4): one fp32
  scale per output channel (``K*N + 4*N`` bytes); MACs at int8; per token the input is quantized
  (absmax, scale, round: 3 ops per input element) and the int32 output rescaled (1 op per element).
- ``fp8``: 8-bit float weights and activations (DeepSeek-V3, arXiv:2412.19437, Sec. 3.3.2): one
  fp32 scale per ``block x block`` weight block (``K*N + 4*ceil(K/b)*ceil(N/b)`` bytes; per tensor
  without a block); MACs at fp8; activations quantized as for w8a8.

The embedding table, the lm_head, norms and biases stay at the activation precision (as GPTQ and
AWQ checkpoints keep them); the per-layer GEMM weights (attention, MLP, experts, routers) are
quantized.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AccelsimError
from .config import WEIGHT_FORMATS, LLMConfig

#: Bits of a stored weight and the precision the MACs run at (None: the hw file's precision).
FORMAT_BITS = {"w8a16": 8, "w4a16": 4, "w8a8": 8, "fp8": 8}
COMPUTE_PRECISION = {"w8a16": None, "w4a16": None, "w8a8": "int8", "fp8": "fp8"}
DEFAULT_GROUP = 128
DEQUANT_OPS = 2          # (q - z) * s per weight element
QUANTIZE_INPUT_OPS = 3   # absmax, scale, round per input element
RESCALE_OUTPUT_OPS = 1   # int32/fp32 accumulator times s_x * s_w per output element


@dataclass(frozen=True)
class WeightQuant:
    """How the per-layer GEMM weights are stored; ``format`` None: at the activation precision."""

    format: str | None = None
    group: int | None = None

    @property
    def weight_only(self) -> bool:
        return self.format in ("w8a16", "w4a16")

    @property
    def compute_precision(self) -> str | None:
        return COMPUTE_PRECISION.get(self.format) if self.format else None

    def describe(self) -> str:
        if self.format is None:
            return "weights at the activation precision"
        if self.format == "fp8":
            scales = f"fp32 scale per {self.group}x{self.group} block" if self.group else "per-tensor scale"
            return f"fp8 weights and activations ({scales})"
        if self.format == "w8a8":
            return "int8 weights (fp32 scale per output channel) and int8 activations"
        return f"{self.format}: {FORMAT_BITS[self.format]}-bit weights, fp16 scale + zero point per group of {self.group}"

    def weight_bytes(self, k, cols, e: float):
        """Bytes of a ``k x cols`` weight matrix stored in this format (``e``: activation bytes)."""
        k = np.asarray(k, dtype=np.float64)
        cols = np.asarray(cols, dtype=np.float64)
        if self.format is None:
            return k * cols * e
        w = FORMAT_BITS[self.format] / 8
        if self.weight_only:
            return k * cols * w + np.ceil(k / self.group) * cols * (2 + w)
        if self.format == "w8a8":
            return k * cols * w + 4 * cols
        if self.group:
            return k * cols * w + 4 * np.ceil(k / self.group) * np.ceil(cols / self.group)
        return k * cols * w + 4

    def vector_ops(self, rows, k, cols, weight_elements):
        """Dequantization / quantization vector work of one GEMM run."""
        if self.format is None:
            return 0.0
        if self.weight_only:
            return DEQUANT_OPS * weight_elements
        return QUANTIZE_INPUT_OPS * rows * k + RESCALE_OUTPUT_OPS * rows * cols


def resolve(cfg: LLMConfig, fmt: str | None, group: int | None) -> WeightQuant:
    """The weight format of a run: ``--weights`` over the config's ``quantization_config``."""
    if fmt is not None and fmt not in WEIGHT_FORMATS + ("none",):
        raise AccelsimError(f"--weights must be one of none, {', '.join(WEIGHT_FORMATS)} (got {fmt!r})")
    if fmt == "none":
        return WeightQuant()
    if fmt is None:
        fmt = cfg.weight_format
        if group is None and fmt is not None:
            group = cfg.weight_block
    if fmt is None:
        if group is not None:
            raise AccelsimError("--group-size needs a quantized weight format (--weights w4a16, w8a16 or fp8)")
        return WeightQuant()
    if group is not None and group < 1:
        raise AccelsimError(f"--group-size must be >= 1 (got {group})")
    if fmt in ("w8a16", "w4a16") and group is None:
        group = DEFAULT_GROUP
    if fmt == "w8a8" and group is not None:
        raise AccelsimError("--group-size does not apply to w8a8 (one scale per output channel); remove it")
    return WeightQuant(fmt, group)
