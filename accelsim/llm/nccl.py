"""Collectives across GPUs (tensor-parallel all-reduces, logits gathers, all-to-alls, pipeline sends) as
the NCCL kernels that run them, over the device's NVLink: pure functions.

A collective is one NCCL kernel. Its time is NCCL's own cost model (``ncclTopoTuneModel`` and
``ncclTopoGetAlgoTime`` in ``src/graph/tuning.cc``, [nccl] at v2.27.5-1, commit 3ea7eedf): a fixed
base latency per (algorithm, protocol) (``baseLat``, lines 134-137), a per-step NVLink latency
(``hwLat``, lines 143-147: a ring all-reduce takes ``2(p-1)`` steps, an all-gather ``p-1``), and the
bytes at the protocol's bus bandwidth. Latency steps and bytes together are the alpha-beta model of
:func:`accelsim.llm.parallel.collective_seconds` (the one the ideal-roofline devices use; ring or
tree by ``--collective``) with ``alpha = hwLat`` and ``B`` = the protocol's bus bandwidth; the
kernel adds ``baseLat``. Bus bandwidth is what nccl-tests reports as ``busbw`` ([nccl-tests]
doc/PERFORMANCE.md: an all-reduce of ``n`` bytes in ``t`` s has ``busbw = 2(p-1)/p x n / t``), so the
ring all-reduce's bandwidth term ``2(p-1)/p x n / B`` is exactly NCCL's ``n / algbw``.

Protocols (tuning.cc lines 279-283): LL moves 8-byte flag+data words, so its bus bandwidth is half
the link's, capped at ``llMaxBws`` (lines 165-170; Hopper, one node: 141 GB/s; ``gpu.nccl_ll_bandwidth_gb_per_s``);
LL128 0.92 of it (120 of 128 bytes); Simple all of it; a tree all-reduce 0.92 of it, then LL / 3.8
and LL128 x 7/9. NCCL picks the (algorithm, protocol) with the shortest modelled time; here the
algorithm is ``--collective`` and the protocol is the fastest of the three, per call. The link's bus
bandwidth is ``gpu.link_bus_bandwidth_gb_per_s``: for Hopper NCCL's own figure, 18 NVLink-4 links x
20.6 GB/s per direction = 370.8 GB/s (``SM90_NVLINK_BW``, src/graph/topo.h line 19), not a measurement.

``--collective tree`` keeps the binomial tree of the alpha-beta model (``2 ceil(log2 p)`` steps of
``alpha + n / B``) with NCCL's tree constants; NCCL's own intra-node tree is a chain (``2(p-1)``
latency steps, half the bus bandwidth), so for one node this is an approximation of its shape.

Not modelled: NVLink SHARP (NCCL's NVLS algorithm on NVSwitch systems, which reduces in the switch and
can exceed the ring's bus bandwidth for large messages), NCCL's per-channel caps (``perChMax*``: not
binding at the channel counts of an NVSwitch node) and the tree's size-dependent correction factors;
vLLM's custom all-reduce kernel for small messages; overlap of a collective with compute.
"""
from __future__ import annotations

import numpy as np

from ..errors import AccelsimError
from ..gpu.kernels import KernelCost
from .parallel import collective_seconds

PROTOCOLS = ("LL", "LL128", "Simple")
#: NCCL's ``baseLat`` (us) per algorithm, (LL, LL128, Simple): tuning.cc lines 134-137 at v2.27.5-1.
BASE_LATENCY_US = {"ring": (6.6, 14.0, 8.4), "tree": (6.8, 14.0, 8.4)}
#: NCCL's ``hwLat[NVLINK]`` (us per step) per algorithm, (LL, LL128, Simple): tuning.cc lines 143-145.
NVLINK_LATENCY_US = {"ring": (0.6, 1.9, 3.4), "tree": (0.6, 1.25, 4.0)}
#: Share of the link's bus bandwidth each protocol reaches (tuning.cc lines 279-283; LL also capped).
RING_BANDWIDTH_SHARE = (0.5, 0.92, 1.0)
TREE_BANDWIDTH_SHARE = (0.92 / 3.8, 0.92 * 7 / 9, 0.92)
_NAMES = {"all_reduce": "all-reduce", "all_gather": "all-gather", "all_to_all": "all-to-all", "p2p": "send/recv"}


def protocol_bandwidths(dev, algorithm: str) -> tuple[float, float, float]:
    """Bus bandwidth (bytes/s) of NCCL's LL, LL128 and Simple protocols on ``dev``'s link."""
    bus = dev.link_bus_bandwidth_bytes_per_s
    shares = TREE_BANDWIDTH_SHARE if algorithm == "tree" else RING_BANDWIDTH_SHARE
    out = [bus * s for s in shares]
    cap = getattr(dev, "nccl_ll_bandwidth_bytes_per_s", 0.0)
    if cap:
        out[0] = min(out[0], cap)
    return tuple(out)


def link_domain_problems(dev, opts) -> list[str]:
    """A tensor-parallel (or expert-parallel) group larger than the device's NVLink domain
    (``gpu.nvlink_gpus``) would run its collectives across nodes, over the network: not modelled."""
    width = max(opts.tp, opts.ep)
    domain = getattr(dev, "nvlink_gpus", 0)
    if not domain or width <= domain:
        return []
    flag = f"--tp {opts.tp}" if opts.tp >= opts.ep else f"--ep {opts.ep}"
    return [f"{flag}: the group spans {width} GPUs, more than one NVLink domain ({dev.file or dev.name}: "
            f"gpu.nvlink_gpus = {domain}); collectives across nodes are not modelled: use at most {domain}, "
            f"with --pp or --dp for more GPUs"]


def nccl_collective_cost(dev, kind: str, participants: int, message_bytes, algorithm: str = "ring") -> KernelCost:
    """One NCCL collective of ``message_bytes`` per device (an array over steps) over ``participants``
    GPUs of ``dev``: ``overhead_s`` the kernel's base latency, ``link_s`` its latency steps and bytes
    (module docstring), the fastest protocol per call. ``kind``: ``all_reduce`` (ring or tree by
    ``algorithm``), ``all_gather``, ``all_to_all`` or ``p2p`` (NCCL's ring constants)."""
    n = np.asarray(message_bytes, dtype=np.float64)
    zero = np.zeros_like(n)
    if participants <= 1 and kind != "p2p":
        return KernelCost(zero, zero, zero, zero, zero, 0, "no collective (one device)")
    if not dev.link_bus_bandwidth_bytes_per_s:
        raise AccelsimError(f"{dev.file or dev.name}: gpu.link_bandwidth_gb_per_s: needed for --tp/--pp/--ep "
                            "collectives across GPUs; add it (and gpu.link_bus_bandwidth_gb_per_s) to the hw file")
    algorithm = algorithm if kind == "all_reduce" else "ring"
    bandwidths = protocol_bandwidths(dev, algorithm)
    base = np.array(BASE_LATENCY_US[algorithm]) * 1e-6
    link = np.stack([collective_seconds(kind, participants, n, bandwidths[i], NVLINK_LATENCY_US[algorithm][i] * 1e-6,
                                        algorithm) for i in range(len(PROTOCOLS))])
    link = np.broadcast_to(link, (len(PROTOCOLS),) + n.shape)
    total = link + base.reshape((-1,) + (1,) * n.ndim)
    best = np.argmin(total, axis=0)
    chosen = sorted({PROTOCOLS[i] for i in np.atleast_1d(best)}, key=PROTOCOLS.index)
    shape = f"{algorithm} " if kind in ("all_reduce", "all_gather") else ""   # all-to-all and p2p: sends
    detail = f"NCCL {shape}{_NAMES.get(kind, kind)}, {'/'.join(chosen)}, {participants} GPUs"
    return KernelCost(zero, zero, zero, base[best], zero, 1, detail,
                      link_s=np.take_along_axis(link, best[None], axis=0)[0])
