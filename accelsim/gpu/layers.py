"""CNN / GEMM workloads on a GPU device (``accelsim run --hw h200``): one row per layer.

A conv layer runs as an implicit GEMM (NVIDIA, "Convolutional Layers User's Guide", Deep Learning
Performance docs, section "Convolution Algorithms": ``N*E*F`` output pixels by ``M/G`` filters, reduction
``(C/G)*R*S``; a grouped or depthwise conv as ``G`` such GEMMs in one kernel), a fully-connected layer as
its GEMM, with the tensors' own bytes (inputs, weights, outputs) as the memory traffic; pooling, adds and
unfolded batchnorms as one element-wise kernel each; concats and folded batchnorms as no kernel. Kernel
costs: :mod:`accelsim.gpu.kernels`; decode-style replay from a CUDA graph (``graph_gap_us`` per kernel).
"""
from __future__ import annotations

import numpy as np

from .kernels import PARTS as _ALL_PARTS, apply_launch, elementwise_cost, gemm_cost

#: The time split of a layer: one device, no collectives (no ``link_s``).
PARTS = tuple(p for p in _ALL_PARTS if p != "link_s")
COLUMNS = ["layer", "kind", "gemm_m", "gemm_n", "gemm_k", "groups", "macs", "flops", "dram_bytes", *PARTS,
           "time_s", "bound", "kernels", "detail"]


def gemm_shape(dev, layer) -> tuple:
    """``(m, n, k, groups, bytes)`` of a MAC layer's (implicit) GEMM on ``dev``: ``N*E*F`` output
    pixels by ``M/G`` filters, reduction ``(C/G)*R*S``, ``G`` groups in one kernel, moving its own
    tensors' bytes (inputs, weights, outputs)."""
    g = layer.groups
    nbytes = float((layer.ifmap_words + layer.weights + layer.ofmap_words) * dev.word_bytes)
    return layer.N * layer.E * layer.F, layer.M // g, (layer.C // g) * layer.R * layer.S, g, nbytes


def layer_costs(dev, workload, launch: str = "graph"):
    """The per-layer table of ``workload`` on ``dev`` as a pandas DataFrame (seconds, the time split
    of :data:`PARTS`, the GEMM shape and how it ran): :func:`layer_rows`'s records."""
    import pandas as pd
    return pd.DataFrame(layer_rows(dev, workload, launch), columns=COLUMNS)


def layer_rows(dev, workload, launch: str = "graph") -> list[dict]:
    """One record per layer of ``workload`` on ``dev``, keyed by :data:`COLUMNS` (``accelsim run``
    builds its table from them without pandas: accelsim/table.py, ``Table.from_records``)."""
    e = dev.word_bytes
    rows, costs = [], []
    for layer in workload.layers:
        nbytes = float((layer.ifmap_words + layer.weights + layer.ofmap_words) * e)
        shape = (0, 0, 0, 0)
        if layer.unit == "array":
            *shape, nbytes = gemm_shape(dev, layer)
            cost = gemm_cost(dev, shape[0], shape[1], shape[2], shape[3], e, nbytes=nbytes)
        elif layer.unit == "vector":
            cost = elementwise_cost(dev, "residual", nbytes, 1, f"{layer.kind}, one element-wise kernel")
        else:
            zero = np.zeros(())
            from .kernels import KernelCost
            cost = KernelCost(zero, zero, zero, zero, zero, 0, "no kernel")
        rows.append((layer, shape, nbytes))
        costs.append(cost)
    out = []
    for (layer, shape, nbytes), cost in zip(rows, apply_launch(dev, costs, launch)):
        parts = {p: float(getattr(cost, p)) for p in PARTS}
        time = sum(parts.values())
        bound = max((("compute", parts["compute_s"] + parts["quantization_s"]), ("memory", parts["memory_s"]),
                     ("overhead", parts["overhead_s"]), ("launch", parts["launch_s"])), key=lambda kv: kv[1])[0]
        out.append({"layer": layer.name, "kind": layer.kind, "gemm_m": shape[0], "gemm_n": shape[1], "gemm_k": shape[2],
                    "groups": shape[3], "macs": layer.macs, "flops": 2 * layer.macs, "dram_bytes": nbytes, **parts,
                    "time_s": time, "bound": bound if time else "-", "kernels": cost.kernels, "detail": cost.detail})
    return out
