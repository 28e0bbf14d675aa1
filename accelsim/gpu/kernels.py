"""Kernel costs on a GPU-class device (:class:`~accelsim.spec.gpu.GpuHardware`): pure functions.

Every function returns a :class:`KernelCost` whose parts add up to its time: ``compute_s`` (the ideal
compute time at the sustained rate), ``quantization_s`` (what tile and wave quantization add to it),
``memory_s`` (memory time not hidden under compute), ``overhead_s`` (fixed costs per kernel) and
``launch_s`` (launch gaps, added by :func:`apply_launch`), ``link_s`` (a collective's time on the
device-to-device link: its latency steps and bytes, :mod:`accelsim.llm.nccl`). Quantities may be numpy arrays (one entry per
decode step); docs/silicon.md derives each formula and lists its measured parameters.

GEMM ``[m x k] @ [k x n]`` (``batch`` independent ones): thread-block tiles ``BM x BN`` over the SMs
(NVIDIA, "Matrix Multiplication Background User's Guide", Deep Learning Performance docs, sections "Tile
quantization" and "Wave quantization"). A tile grid of ``ceil(m/BM) * ceil(n/BN)`` tiles (times
``batch``) that fills fewer SMs than the device has may split K into ``s = min(SMs // tiles, k //
split_k_min_depth)`` slices (split-K; Kerr et al., "CUTLASS: Fast Linear Algebra in CUDA C++", NVIDIA
2017, "parallelized reductions"): each slice writes its FP32 partial sums, a second kernel reads and
adds them (``split_k_reduce_us`` plus those bytes). The partial sums go through L2: written and read
back by the next kernel, a workspace that fits in the L2 (50 MB on Hopper, [hopper-whitepaper]; the L2
is a write-back cache) never reaches HBM, so its bytes move at the L2 rate; a larger one streams from
HBM. Compute: each SM runs its tiles at its share of the sustained rate; a grid under one wave leaves
SMs idle (wave quantization: one tile's time), a larger one is balanced over the SMs by the persistent
kernel's scheduler (stream-K, [osama2023]), so its waves count fractionally. The operands reach the SMs
through L2: every tile loads its A rows and B columns, ``(ceil(n/BN) * m + ceil(m/BM) * n) * k``
elements, at ``gemm_l2_bandwidth_gb_per_s`` (a level of the hierarchical roofline, [yang2020]): small
tiles reload more. HBM: the bytes moved (with the re-reads below) at the achievable bandwidth plus
``memory_ramp_us`` (the stream filling and draining). A configuration takes the slowest of the three
(Williams et al., "Roofline", CACM 2009), or longer under the board's power limit (below), plus the
fixed cost per kernel. The library picks the configuration that finishes first among the tiles, unsplit
or split; below the smallest tile's rows (m < 64: GEMV-class kernels, where a tile would be mostly
padding) it splits whenever the tiles leave SMs idle, as the PyTorch profiler showed on the H200 (a
batch-1 decode step's 4096 x 4096 projections ran as two kernels each, the 4096 x 11008 ones as one).

HBM bytes of a tile grid (:func:`gemm_hbm_bytes`): a persistent GEMM walks its tiles in raster order,
along M when the grid has more column blocks than row blocks and along N otherwise (CUTLASS's sm90 tile
scheduler, ``get_rasterization_order`` in tile_scheduler_params.h, [cutlass]), so the tiles of one wave
share one operand, A along M, B along N, which every wave reads in full. When that operand fits in the
L2 it is read from HBM once; when it does not, LRU keeps none of it from one wave to the next and each
wave reads it again.

Power limit: a board that reaches its power limit lowers the SM clock until the power fits (NVML's
``SwPowerCap`` clock-event reason, [nvml-clocks]); the energy of the work over the power budget then sets
the time, and the energies of the tensor-core work and of the HBM traffic add (the energy roofline,
[choi2013]): ``padded FLOPs / power_limited_tflops + HBM bytes / power_limited_hbm_gb_per_s``, each rate
what the budget sustains for that work alone (0: not modelled), a bound on the compute side that the
configuration's time cannot be under.

Decode attention (flash decoding): ``batch x heads`` thread blocks (KV heads when query heads share
them: the query-group swap of FlashAttention-2's ``mha_fwd``) split the context into ``s`` slices by
FlashAttention-2's ``num_splits_heuristic`` ([flash-attention2-splitkv]: flash_api.cpp, as vendored in
PyTorch): no split when the blocks fill 80% of the SMs, else the smallest split reaching 85% of the
best wave efficiency over 128-position key blocks. A split adds the kernel that combines the slices
(``attention_combine_us``). The SM count is the device's: newer FlashAttention-2 releases pass twice
the SM count (two 128-thread blocks per SM), under which batch 4 x 32 heads would split too; on the H200
it ran as one kernel (12.2 us at context 512 against 14.6 us for batch 1 at context 2048, the same K/V
bytes), as with the SM count.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

#: Bytes of one split-K partial sum (FP32 accumulators).
_ACCUMULATOR_BYTES = 4.0
PARTS = ("compute_s", "quantization_s", "memory_s", "overhead_s", "launch_s", "link_s")


@dataclass(frozen=True)
class KernelCost:
    """The time of one call of an op (one or more kernels), split into parts that sum to ``time_s``."""

    compute_s: np.ndarray
    quantization_s: np.ndarray
    memory_s: np.ndarray
    overhead_s: np.ndarray
    launch_s: np.ndarray
    kernels: int
    detail: str = ""
    link_s: np.ndarray | float = 0.0

    @property
    def time_s(self) -> np.ndarray:
        return self.compute_s + self.quantization_s + self.memory_s + self.overhead_s + self.launch_s + self.link_s

    def scaled(self, factor) -> "KernelCost":
        return KernelCost(**{p: getattr(self, p) * factor for p in PARTS}, kernels=self.kernels, detail=self.detail)


def _split(ideal, quantized, memory, overhead, kernels, detail="") -> KernelCost:
    """Parts of ``max(quantized compute, memory) + overhead``: a compute-bound kernel's ideal compute
    and quantization loss, or a memory-bound kernel's memory time; then the fixed cost."""
    ideal, quantized, memory, overhead = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64)
                                                              for x in (ideal, quantized, memory, overhead)))
    bound = quantized > memory
    zero = np.zeros_like(memory)
    return KernelCost(np.where(bound, ideal, 0.0), np.where(bound, quantized - ideal, 0.0), np.where(bound, 0.0, memory),
                      overhead.copy(), zero, kernels, detail)


def gemm_choice(dev, m: int, n: int, k: int, batch: int = 1, nbytes: float | None = None,
                element_bytes: float = 2.0, operand_bytes: tuple[float, float] | None = None) -> tuple:
    """``(seconds, quantized compute seconds, memory seconds, tile rows, tile cols, split-K slices, waves)``
    (compute: the tiles' time on the SMs, their operands' time through L2 or the power-limited time,
    whichever is longest)
    of the configuration the library would pick (module docstring): the one that finishes first, ties
    to the first listed tile and the unsplit run. ``seconds`` includes the split-K reduction kernel but
    not ``gemm_kernel_us`` (the same for all); ``memory`` includes the partial sums' bytes (through L2
    when they fit there). ``operand_bytes``: ``(A, B)``, the two operands' bytes as stored over the batch
    (quantized weights: B's own); the shared operand's re-reads (:func:`gemm_raster`) add its own bytes.
    Without it they are scaled as ``nbytes`` is to the unquantized bytes (a conv's own tensors)."""
    sms = dev.sms
    f = dev.fitted
    per_sm = f.sustained_tflops * 1e12 / sms
    bandwidth = f.gemm_bandwidth_gb_per_s * 1e9
    compulsory = batch * (m * k + k * n + m * n) * element_bytes
    if nbytes is None:
        nbytes = compulsory
    gemv = m < min(rows for rows, _ in dev.gemm_tiles)
    l2 = f.gemm_l2_bandwidth_gb_per_s * 1e9
    power = f.power_limited_tflops * 1e12
    power_hbm = f.power_limited_hbm_gb_per_s * 1e9
    power = power if power > 0 and power_hbm > 0 else 0.0   # 0: not modelled
    best = None
    for rows, cols in dev.gemm_tiles:
        tiles = math.ceil(m / rows) * math.ceil(n / cols) * batch
        operands = (math.ceil(n / cols) * m + math.ceil(m / rows) * n) * k * batch * element_bytes
        through_l2 = operands / l2 if l2 > 0 else 0.0   # the same for every split
        # HBM bytes: the given ones plus the shared operand's re-reads (its own bytes when given, else
        # scaled as the given bytes are)
        if operand_bytes is None:
            hbm_operands = nbytes + (gemm_hbm_bytes(dev, m, n, k, rows, cols, batch, element_bytes) - compulsory) \
                * nbytes / compulsory
        else:
            shared, reads = gemm_raster(dev, m, n, k, rows, cols, element_bytes,
                                        (operand_bytes[0] / batch, operand_bytes[1] / batch))
            hbm_operands = nbytes + (reads - 1.0) * operand_bytes[shared == "B"]
        split = max(1, min(sms // tiles, k // dev.split_k_min_depth)) if tiles < sms else 1
        for slices in ((split,) if gemv or split == 1 else (1, split)):
            waves = tiles * slices / sms if tiles * slices > sms else 1   # balanced beyond one wave
            compute = max(waves * 2.0 * rows * cols * (k / slices) / per_sm, through_l2)
            partials = 2.0 * slices * batch * m * n * _ACCUMULATOR_BYTES if slices > 1 else 0.0
            if l2 > 0 and partials / 2 <= dev.l2_bytes:   # the workspace stays in L2 (written, then read)
                hbm = hbm_operands
                memory = hbm / bandwidth + partials / l2 + f.memory_ramp_us * 1e-6
            else:
                hbm = hbm_operands + partials
                memory = hbm / bandwidth + f.memory_ramp_us * 1e-6
            if power:   # the energy of the padded tiles' work and of the HBM bytes over the power budget
                compute = max(compute, 2.0 * rows * cols * k * tiles / power + hbm / power_hbm)
            seconds = max(compute, memory) + (f.split_k_reduce_us * 1e-6 if slices > 1 else 0.0)
            if best is None or seconds < best[0]:
                best = (seconds, compute, memory, rows, cols, slices, waves)
    return best


def gemm_hbm_bytes(dev, m: int, n: int, k: int, rows: int, cols: int, batch: int = 1,
                   element_bytes: float = 2.0) -> float:
    """HBM bytes of ``batch`` GEMMs tiled ``rows x cols`` (module docstring): A, B and C once, plus the
    shared operand again for every wave after the first when it does not fit in the L2. The grid walks
    along M (A shared) when it has more column blocks than row blocks, else along N (B shared); a wave
    is ``sms`` consecutive tiles, so the shared operand is read once per wave, or once per sweep along it
    when a sweep is longer than a wave: ``tiles / max(sms, blocks along it)`` times."""
    a, b, c = m * k * element_bytes, k * n * element_bytes, m * n * element_bytes
    operand, reads = gemm_raster(dev, m, n, k, rows, cols, element_bytes)
    return batch * (a + b + c + (reads - 1.0) * (a if operand == "A" else b))


def gemm_raster(dev, m: int, n: int, k: int, rows: int, cols: int, element_bytes: float = 2.0,
                sizes: tuple[float, float] | None = None) -> tuple:
    """``(operand, reads)``: the operand every wave of a ``rows x cols`` tile grid reads in full (``"A"``
    when the grid walks along M, ``"B"`` along N) and how many times it crosses HBM
    (:func:`gemm_hbm_bytes`; accelsim/gpu/tree.py maps the same raster on the device's tree).
    ``sizes``: A's and B's bytes as stored (one GEMM's; quantized weights their own), which decide
    whether the shared operand fits in the L2; else ``element_bytes`` each."""
    row_blocks, col_blocks = math.ceil(m / rows), math.ceil(n / cols)
    a, b = sizes if sizes is not None else (m * k * element_bytes, k * n * element_bytes)
    operand, size, along = ("A", a, row_blocks) if col_blocks > row_blocks else ("B", b, col_blocks)
    reads = 1.0 if size <= dev.l2_bytes else max(1.0, row_blocks * col_blocks / max(dev.sms, along))
    return operand, reads


def gemm_cost(dev, m, n, k, batch=1, element_bytes=2.0, nbytes=None, operand_bytes=None) -> KernelCost:
    """One GEMM (``batch`` independent ones of the same shape in one kernel, plus the reduction kernel
    when it splits K): the chosen configuration's ``max(quantized compute, memory) + gemm_kernel``
    (:func:`gemm_choice`). ``compute_s`` is the ideal compute at the sustained rate, or under the power
    limit (when that binds) its unpadded FLOPs and compulsory bytes at the power-limited rates;
    ``quantization_s`` what the tiles, waves and operand re-reads add to it. ``nbytes``: the bytes it
    moves (default ``batch * (m*k + k*n + m*n) * element_bytes``; quantized weights or a conv's own
    tensors give their own); ``operand_bytes``: A's and B's of them (:func:`gemm_choice`)."""
    m, n, k, batch = (max(1, int(math.ceil(float(x)))) for x in (m, n, k, batch))
    f = dev.fitted
    _, quantized, memory, rows, cols, split, waves = gemm_choice(dev, m, n, k, batch, nbytes, element_bytes,
                                                                   operand_bytes)
    ideal = 2.0 * m * n * k * batch / (f.sustained_tflops * 1e12)
    if f.power_limited_tflops > 0 and f.power_limited_hbm_gb_per_s > 0:   # the clock the power limit allows
        ideal = max(ideal, 2.0 * m * n * k * batch / (f.power_limited_tflops * 1e12) + (
            batch * (m * k + k * n + m * n) * element_bytes if nbytes is None else nbytes) / (
            f.power_limited_hbm_gb_per_s * 1e9))
    ideal = min(ideal, quantized)
    kernels = 2 if split > 1 else 1   # a split-K GEMM adds its reduction kernel
    overhead = f.gemm_kernel_us * 1e-6 + (f.split_k_reduce_us * 1e-6 if split > 1 else 0.0)
    return _split(ideal, quantized, memory, overhead, kernels,
                  f"tile {rows}x{cols}, split-K {split}, {waves:.3g} wave{'s' if waves != 1 else ''}")


#: FlashAttention-2's split heuristic: no split once the blocks fill this share of the SMs; else the
#: smallest split within this share of the best wave efficiency (flash_api.cpp, num_splits_heuristic).
_FLASH_FILL, _FLASH_NEAR_BEST, _FLASH_MAX_SPLITS, _FLASH_KEY_BLOCK = 0.8, 0.85, 128, 128


@functools.lru_cache(maxsize=4096)
def flash_decoding_splits(blocks: int, sms: int, key_blocks: int) -> int:
    """Slices of the context FlashAttention-2 splits a decode attention into: ``blocks`` thread blocks
    (batch x heads) over ``sms`` SMs, ``key_blocks`` 128-position key blocks (module docstring)."""
    if blocks >= _FLASH_FILL * sms:
        return 1
    most = max(1, min(_FLASH_MAX_SPLITS, sms, key_blocks))
    eligible = [s for s in range(1, most + 1) if s == 1 or -(-key_blocks // s) != -(-key_blocks // (s - 1))]
    efficiency = {s: blocks * s / sms / math.ceil(blocks * s / sms) for s in eligible}
    best = max(efficiency.values())
    return next(s for s in eligible if efficiency[s] >= _FLASH_NEAR_BEST * best)


def decode_attention_cost(dev, kv_bytes, other_bytes=0.0, flops=0.0, blocks=None, context=None) -> KernelCost:
    """Flash attention of one new token per sequence over its K/V cache: streaming ``kv_bytes`` at the
    attention bandwidth plus its fixed cost; split over the context (FlashDecoding; Dao et al.,
    "Flash-Decoding for long-context inference", 2023) when ``blocks`` (batch x heads, KV heads under
    query grouping) do not fill the SMs at ``context`` positions (:func:`flash_decoding_splits`): then a
    second kernel combines the slices (``attention_combine_us``). Without ``blocks``: split (two kernels)."""
    f = dev.fitted
    memory = (np.asarray(kv_bytes, dtype=np.float64) + other_bytes) / (f.attention_bandwidth_gb_per_s * 1e9)
    compute = np.asarray(flops, dtype=np.float64) / (f.sustained_tflops * 1e12)
    if blocks is None:
        split = np.ones(np.shape(memory), dtype=bool)
    else:
        blocks_arr, context_arr = np.broadcast_arrays(np.asarray(blocks, dtype=np.float64),
                                                      np.asarray(context, dtype=np.float64))
        split = np.array([flash_decoding_splits(max(1, int(round(b))), dev.sms,
                                                max(1, math.ceil(c / _FLASH_KEY_BLOCK))) > 1
                          for b, c in zip(blocks_arr.ravel(), context_arr.ravel())]).reshape(blocks_arr.shape)
    overhead = f.attention_kernel_us * 1e-6 + np.where(split, f.attention_combine_us * 1e-6, 0.0)
    kernels = 2 if np.any(split) else 1
    detail = "flash decoding, split over the context" if np.any(split) else "flash attention, one kernel"
    return _split(compute, compute, memory, overhead, kernels, detail)


def prefill_attention_cost(dev, flops, causal: bool, kv_bytes=0.0) -> KernelCost:
    """Flash attention over a prompt (Dao, "FlashAttention-2", ICLR 2024): ``flops`` (4 * pairs * d per
    head: QK^T and PV) at the measured dense or causal prefill rate, plus its fixed cost."""
    f = dev.fitted
    rate = (f.causal_attention_tflops if causal else f.prefill_attention_tflops) * 1e12
    flops = np.asarray(flops, dtype=np.float64)
    quantized = flops / rate
    ideal = np.minimum(flops / (f.sustained_tflops * 1e12), quantized)
    memory = np.asarray(kv_bytes, dtype=np.float64) / (f.attention_bandwidth_gb_per_s * 1e9)
    return _split(ideal, quantized, memory, f.attention_kernel_us * 1e-6, 1,
                  "flash attention, " + ("causal" if causal else "dense"))


#: Element-wise kernel kinds: (fixed-cost key, bandwidth kind). ``contiguous`` streams from HBM at
#: ``elementwise_bandwidth_gb_per_s``, or from L2 when one kernel's bytes fit there. ``norm`` (row
#: reductions: RMSNorm, the argmax over the logits) moves its bytes at ``norm_bandwidth_gb_per_s`` when one
#: kernel's bytes fit in L2 (the rate fitted to norms whose input was just written, or re-read, and stays
#: there: 4992 GB/s on the H200, above the 4.21 TB/s its HBM copies reached, so not an HBM rate) and at the
#: contiguous kernels' HBM rate when they do not. ``argmax`` is such a row reduction with its own fixed
#: cost (PyTorch's reduction kernel: pytorch/pytorch aten/src/ATen/native/cuda/Reduce.cuh).
ELEMENTWISE_KINDS = {"norm": "norm", "residual": "contiguous", "activation": "contiguous", "rope": "strided",
                     "copy": "strided", "argmax": "norm"}


def elementwise_cost(dev, kind: str, nbytes, kernels: int, detail: str = "", kernel_bytes=None) -> KernelCost:
    """``kernels`` element-wise kernels of one kind moving ``nbytes`` in all: each its fixed cost, the
    bytes at the kind's bandwidth (contiguous kernels and row reductions at their L2 rate when one
    kernel's bytes fit in L2, at the contiguous kernels' HBM rate when not). ``kernel_bytes``: the bytes of
    the one kernel these bytes belong to, when that kernel moves more (a residual add fused into a norm;
    default ``nbytes / kernels``)."""
    f = dev.fitted
    nbytes = np.asarray(nbytes, dtype=np.float64)
    fixed = getattr(f, f"{kind}_kernel_us") * 1e-6 * kernels
    where = ELEMENTWISE_KINDS[kind]
    if where in ("contiguous", "norm"):
        per_kernel = nbytes / max(kernels, 1) if kernel_bytes is None else np.asarray(kernel_bytes, dtype=np.float64)
        in_l2 = f.l2_bandwidth_gb_per_s if where == "contiguous" else f.norm_bandwidth_gb_per_s
        bandwidth = np.where(per_kernel <= dev.l2_bytes, in_l2, f.elementwise_bandwidth_gb_per_s)
    else:
        bandwidth = getattr(f, f"{where}_bandwidth_gb_per_s")
    return _split(0.0, 0.0, nbytes / (bandwidth * 1e9), fixed, kernels, detail or kind)


LAUNCH_MODES = ("graph", "eager", "none")


def apply_launch(dev, costs: list, launch: str) -> list:
    """Launch gaps over a pass of ``costs`` (one :class:`KernelCost` per op run, already multiplied by
    its runs): ``graph`` (a CUDA-graph replay) adds ``graph_gap_us`` per kernel; ``eager`` (each kernel
    issued by the host from Python) makes the pass last at least ``kernels x eager_launch_us``, the
    excess shared over the ops by their kernels (the host runs ahead of the GPU, so a pass is host-bound
    only when its kernels are shorter than their issue time on average); ``none``: the GPU time alone
    (an op timed by itself)."""
    if launch not in LAUNCH_MODES:
        raise ValueError(f"launch must be one of {LAUNCH_MODES} (got {launch!r})")
    f = dev.fitted
    if launch == "none" or not costs:
        return costs
    if launch == "graph":
        return [_add_launch(c, np.full_like(c.time_s, f.graph_gap_us * 1e-6 * c.kernels)) for c in costs]
    kernels = sum(c.kernels for c in costs)
    gpu = sum(c.time_s for c in costs)
    excess = np.maximum(kernels * f.eager_launch_us * 1e-6 - gpu, 0.0)
    return [_add_launch(c, excess * c.kernels / max(kernels, 1)) for c in costs]


def _add_launch(cost: KernelCost, extra) -> KernelCost:
    return KernelCost(cost.compute_s, cost.quantization_s, cost.memory_s, cost.overhead_s,
                      cost.launch_s + np.broadcast_to(extra, np.shape(cost.time_s)), cost.kernels, cost.detail,
                      cost.link_s)
