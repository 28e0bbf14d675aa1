"""GPU-class devices (``hw/h200.yaml``, ``hw/h100.yaml``, ``hw/a100.yaml``): a ``gpu:`` section.

A GPU is costed kernel by kernel (:mod:`accelsim.gpu.kernels`; docs/silicon.md): GEMMs as thread-block
tiles over the streaming multiprocessors (tile and wave quantization, split-K when the tiles cannot fill
the SMs) at the mainloop's sustained rate, memory-bound kernels at an achievable bandwidth, flash
attention, element-wise kernels, each with a fixed cost per kernel, and launch gaps (CUDA-graph replay or
eager launches). The ``gpu:`` section holds the datasheet numbers and, under ``gpu.fitted``, the values
``accelsim calibrate`` fits to measurements (each named, with its unit in the key).

The memory hierarchy (HBM, L2, shared memory and register file per SM; SMs as cores, tensor cores as the
array) may also be written as an architecture tree (``levels:``, docs/architecture.md) in the same file;
it is validated with the tree rules and kept as :attr:`GpuHardware.tree`. The timing model reads the
``gpu:`` section only.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from .common import CLOCK_HINT, MAX_CLOCK_MHZ, Reader, load_yaml
from .hw import DEFAULT_ENERGY_TABLE, PRECISION_BITS

_TOP_KEYS = ("name", "description", "source", "precision", "gpu", "energy_table", "area_table", "levels", "clock_mhz", "timing",
             "vector", "sparsity", "calibration")
_GPU_KEYS = ("sms", "clock_mhz", "peak_tflops", "hbm_bandwidth_gb_per_s", "hbm_gib", "l2_mib",
             "shared_memory_kib_per_sm", "register_file_kib_per_sm", "link_bandwidth_gb_per_s", "gemm_tiles",
             "split_k_min_depth", "fitted", "link_bus_bandwidth_gb_per_s", "nccl_ll_bandwidth_gb_per_s", "nvlink_gpus")


@dataclass(frozen=True)
class GpuFitted:
    """The measured timing parameters (``gpu.fitted``), all fitted by ``accelsim calibrate``.

    GEMMs: ``sustained_tflops`` (the tensor-core mainloop's rate under load, whole chip),
    ``gemm_bandwidth_gb_per_s`` (achievable HBM bandwidth of a memory-bound GEMM), ``gemm_kernel_us``
    (fixed cost of every GEMM: prologue, epilogue), ``memory_ramp_us`` (what a memory-bound kernel adds:
    the HBM pipeline filling and draining), ``split_k_reduce_us`` (fixed cost of the reduction kernel a
    split-K GEMM adds), ``gemm_l2_bandwidth_gb_per_s`` (the rate at which the SMs load GEMM operand tiles
    from L2; 0 = not modelled), ``power_limited_tflops`` and ``power_limited_hbm_gb_per_s`` (the
    tensor-core rate and the HBM traffic the board's power limit sustains, each alone: a GEMM takes at
    least its padded FLOPs and HBM bytes at these rates, the two added; 0 = not modelled). Attention (flash): ``attention_bandwidth_gb_per_s`` (decode, K/V
    streaming), ``attention_kernel_us`` (fixed cost per attention call), ``attention_combine_us`` (what a
    decode attention split over the context adds: the kernel combining the splits),
    ``prefill_attention_tflops`` (dense prefill) and ``causal_attention_tflops`` (causal prefill, per
    executed causal pair). The keys of :data:`OPTIONAL_FITTED` may be left out (files calibrated before
    they existed): 0.
    Element-wise kernels: a fixed cost per kernel by kind (``norm_``, ``residual_``, ``activation_``,
    ``rope_``, ``copy_``, ``argmax_kernel_us``: the sampling's argmax over the vocabulary; a file without
    it costs the argmax as a norm kernel, as before the key existed); bytes at ``norm_bandwidth_gb_per_s``
    (row reductions: norms, the argmax), at
    ``elementwise_bandwidth_gb_per_s`` from HBM or ``l2_bandwidth_gb_per_s`` when one kernel's bytes fit
    in L2 (contiguous residual adds and activations), at ``strided_bandwidth_gb_per_s`` (rotate-half
    RoPE's broadcasts and slices, K/V cache copies into a strided cache). Launches: ``graph_gap_us`` per
    kernel that a whole CUDA-graph step costs beyond its ops timed alone, ``eager_launch_us`` the host's
    time to issue one kernel from Python (an eager pass lasts at least kernels x this).
    """

    sustained_tflops: float
    gemm_bandwidth_gb_per_s: float
    gemm_kernel_us: float
    memory_ramp_us: float
    attention_bandwidth_gb_per_s: float
    attention_kernel_us: float
    prefill_attention_tflops: float
    causal_attention_tflops: float
    norm_kernel_us: float
    norm_bandwidth_gb_per_s: float
    residual_kernel_us: float
    activation_kernel_us: float
    elementwise_bandwidth_gb_per_s: float
    l2_bandwidth_gb_per_s: float
    rope_kernel_us: float
    copy_kernel_us: float
    strided_bandwidth_gb_per_s: float
    graph_gap_us: float
    eager_launch_us: float
    attention_combine_us: float = 0.0
    split_k_reduce_us: float = 0.0
    gemm_l2_bandwidth_gb_per_s: float = 0.0
    power_limited_tflops: float = 0.0
    power_limited_hbm_gb_per_s: float = 0.0
    argmax_kernel_us: float = 0.0

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


FITTED_KEYS = tuple(f.name for f in fields(GpuFitted))
#: Keys a file may leave out (added after files were calibrated without them), with their defaults.
OPTIONAL_FITTED = {"attention_combine_us": 0.0, "split_k_reduce_us": 0.0, "gemm_l2_bandwidth_gb_per_s": 0.0,
                   "power_limited_tflops": 0.0, "power_limited_hbm_gb_per_s": 0.0, "argmax_kernel_us": None}
#: Optional keys whose absence means "as this other key" (the cost model before the key existed): the
#: argmax was costed as one norm kernel.
_OPTIONAL_LIKE = {"argmax_kernel_us": "norm_kernel_us"}
#: Keys that may be 0 (a fixed cost or gap the measurements show to be negligible).
_MAY_BE_ZERO = {key for key in FITTED_KEYS if key.endswith("_us")}


@dataclass(frozen=True)
class GpuHardware:
    """A GPU: datasheet numbers plus the fitted timing parameters (:class:`GpuFitted`).

    ``sms``: streaming multiprocessors (the cores); ``clock_mhz``: maximum SM clock; ``peak_flops_per_s``:
    datasheet dense tensor-core peak at ``precision``; ``dram_bandwidth_bytes_per_s``: datasheet HBM
    bandwidth (both give the ideal-roofline columns); ``gemm_tiles``: the (rows, cols) thread-block tiles
    a GEMM library chooses from; ``split_k_min_depth``: a split-K slice keeps at least this much of K.
    Collectives across devices (NCCL kernels, :mod:`accelsim.llm.nccl`): ``link_bandwidth_bytes_per_s``
    the datasheet's NVLink figure (both directions together), ``link_bus_bandwidth_bytes_per_s`` the bus
    bandwidth one direction of a ring streams at (``gpu.link_bus_bandwidth_gb_per_s``; default half the
    datasheet figure, a bound), ``nccl_ll_bandwidth_bytes_per_s`` NCCL's cap on its LL protocol's bus
    bandwidth (0: none), ``nvlink_gpus`` the GPUs one NVLink domain joins (a tensor-parallel group must fit
    in it; 0: no limit).
    """

    name: str
    precision: str
    sms: int
    clock_mhz: float
    peak_flops_per_s: float
    dram_bandwidth_bytes_per_s: float
    hbm_bytes: int
    l2_bytes: int
    shared_memory_bytes_per_sm: int
    register_file_bytes_per_sm: int
    gemm_tiles: tuple
    split_k_min_depth: int
    fitted: GpuFitted
    link_bandwidth_bytes_per_s: float = 0.0
    link_bus_bandwidth_bytes_per_s: float = 0.0
    nccl_ll_bandwidth_bytes_per_s: float = 0.0
    nvlink_gpus: int = 0
    energy_table: str = DEFAULT_ENERGY_TABLE
    description: str = ""
    source: str = ""
    calibration: str = ""
    file: str = ""
    tree: object = None

    #: Not a PE array: the array simulator refuses it; accelsim llm and run cost it kernel by kernel.
    interconnect = "gpu"
    #: A GPU keeps the KV cache in HBM (its on-chip memories are working space).
    onchip_bytes = 0

    @property
    def word_bytes(self) -> float:
        return PRECISION_BITS[self.precision] / 8

    @property
    def memory_bytes(self) -> int:
        """Device memory capacity (HBM), for the LLM memory check."""
        return self.hbm_bytes

    @property
    def vector_flops_per_s(self) -> float:
        return self.peak_flops_per_s

    @property
    def sustained_flops_per_s(self) -> float:
        return self.fitted.sustained_tflops * 1e12

    @property
    def ridge_flops_per_byte(self) -> float:
        return self.peak_flops_per_s / self.dram_bandwidth_bytes_per_s


def is_gpu(data) -> bool:
    """Whether a parsed hw mapping describes a GPU-class device (a ``gpu:`` section)."""
    return isinstance(data, dict) and "gpu" in data


def _tiles(section: Reader):
    raw = section.raw("gemm_tiles", [[128, 128], [128, 256], [256, 128], [64, 128], [64, 256]],
                      {"type": "array", "items": {"type": "array", "items": {"type": "integer", "minimum": 1},
                                                  "minItems": 2, "maxItems": 2}, "minItems": 1})
    ok = isinstance(raw, list) and raw and all(
        isinstance(t, list) and len(t) == 2 and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in t)
        for t in raw)
    if not ok:
        section.error("gemm_tiles", f"must be a list of [rows, cols] thread-block tiles, positive integers, e.g. "
                                    f"[[128, 128], [128, 256]] (got {raw!r})")
        return ((128, 128),)
    return tuple((int(a), int(b)) for a, b in raw)


def gpu_from_dict(data, file: str = "<hw>") -> GpuHardware:
    """Validate a parsed GPU hw mapping; all problems raised together."""
    top = Reader(data, file)
    name = top.string("name")
    description = top.string("description", "")
    source = top.string("source", "")
    calibration = top.string("calibration", "")
    precision = top.choice("precision", tuple(PRECISION_BITS))
    energy_table = top.string("energy_table", DEFAULT_ENERGY_TABLE)
    g = top.child("gpu")
    sms = g.integer("sms")
    clock = g.number("clock_mhz", maximum=MAX_CLOCK_MHZ, hint=CLOCK_HINT)
    peak = g.number("peak_tflops")
    hbm_bw = g.number("hbm_bandwidth_gb_per_s")
    hbm = g.number("hbm_gib")
    l2 = g.number("l2_mib")
    smem = g.number("shared_memory_kib_per_sm")
    regs = g.number("register_file_kib_per_sm")
    link = g.number("link_bandwidth_gb_per_s", None)
    bus = g.number("link_bus_bandwidth_gb_per_s", None)
    ll_cap = g.number("nccl_ll_bandwidth_gb_per_s", None)
    domain = g.integer("nvlink_gpus", None)
    if bus is not None and link is not None and bus > link:
        g.error("link_bus_bandwidth_gb_per_s", f"must be <= link_bandwidth_gb_per_s ({link}; the bus bandwidth is one "
                                               f"direction of the link) (got {bus})")
    tiles = _tiles(g)
    split = g.integer("split_k_min_depth", 512)
    fit = g.child("fitted")
    values = {}
    for key in FITTED_KEYS:
        value = fit.number(key, OPTIONAL_FITTED[key], positive=False) if key in OPTIONAL_FITTED \
            else fit.number(key, positive=key not in _MAY_BE_ZERO)
        if value is not None and value < 0:
            fit.error(key, f"must be >= 0 (got {value})")
        values[key] = value
    for key, like in _OPTIONAL_LIKE.items():
        if values[key] is None:
            values[key] = values[like]
    fit.reject_unknown(FITTED_KEYS)
    g.reject_unknown(_GPU_KEYS)
    tree = None
    if "levels" not in top.data:
        for key in ("clock_mhz", "timing", "vector", "sparsity", "area_table"):
            if key in top.data:
                top.error(key, "belongs to the architecture tree (levels:); a GPU's clock is gpu.clock_mhz")
    if "levels" in top.data:   # the hierarchy as an architecture tree (docs/architecture.md)
        from .arch import arch_from_dict
        from ..errors import SpecError
        tree_keys = {k: v for k, v in top.data.items() if k not in ("gpu", "calibration")}
        top.raw("levels", None)
        for key in ("clock_mhz", "timing", "vector", "sparsity", "area_table"):
            top.raw(key, None)
        try:
            tree = arch_from_dict(tree_keys, file)
        except SpecError as exc:
            top.problems.extend(exc.problems)
    top.reject_unknown(_TOP_KEYS)
    top.raise_if_problems()
    return GpuHardware(
        name=name, precision=precision, sms=sms, clock_mhz=float(clock), peak_flops_per_s=float(peak) * 1e12,
        dram_bandwidth_bytes_per_s=float(hbm_bw) * 1e9, hbm_bytes=int(hbm * 2 ** 30), l2_bytes=int(l2 * 2 ** 20),
        shared_memory_bytes_per_sm=int(smem * 1024), register_file_bytes_per_sm=int(regs * 1024),
        gemm_tiles=tiles, split_k_min_depth=split, fitted=GpuFitted(**{k: float(v) for k, v in values.items()}),
        link_bandwidth_bytes_per_s=float(link or 0) * 1e9,
        link_bus_bandwidth_bytes_per_s=float(bus if bus is not None else (link or 0) / 2) * 1e9,
        nccl_ll_bandwidth_bytes_per_s=float(ll_cap or 0) * 1e9, nvlink_gpus=int(domain or 0), energy_table=energy_table, description=description or "",
        source=source or "", calibration=calibration or "", file=str(file), tree=tree)


def load_gpu(path) -> GpuHardware:
    """Load and validate one GPU ``hw/*.yaml`` file."""
    return gpu_from_dict(load_yaml(Path(path)), str(path))
