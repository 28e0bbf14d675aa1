"""Collectives on a GPU device: NCCL kernels over NVLink (accelsim/llm/nccl.py), checked by hand.

The constants are NCCL's (src/graph/tuning.cc at v2.27.5-1): base latency per (algorithm, protocol),
NVLink latency per step, the protocols' shares of the bus bandwidth; the hw files give the bus
bandwidth per direction (H200: 18 links x 20.6 GB/s = 370.8 GB/s) and the LL cap (141 GB/s)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner

from accelsim import spec
from accelsim.cli import main
from accelsim.errors import SpecError
from accelsim.llm import LLMOptions, llm_inference
from accelsim.llm.nccl import nccl_collective_cost

H200 = spec.load("hw", "h200")
BUS, LL_CAP = 370.8e9, 141e9


def _ring_all_reduce(p: int, n: float) -> dict:
    """NCCL's ring all-reduce model by hand: base + 2(p-1) hwLat + 2(p-1)/p n / busBw, per protocol."""
    return {"LL": (6.6e-6, 2 * (p - 1) * 0.6e-6 + 2 * (p - 1) / p * n / min(LL_CAP, 0.5 * BUS)),
            "LL128": (14.0e-6, 2 * (p - 1) * 1.9e-6 + 2 * (p - 1) / p * n / (0.92 * BUS)),
            "Simple": (8.4e-6, 2 * (p - 1) * 3.4e-6 + 2 * (p - 1) / p * n / BUS)}


def test_h200_link_numbers():
    assert H200.link_bandwidth_bytes_per_s == 900e9
    assert H200.link_bus_bandwidth_bytes_per_s == pytest.approx(18 * 20.6e9)
    assert H200.nccl_ll_bandwidth_bytes_per_s == LL_CAP


@pytest.mark.parametrize("p", [2, 4, 8])
@pytest.mark.parametrize("n", [8.0, 131_072.0, 1_048_576.0, 8_388_608.0, 268_435_456.0])
def test_ring_all_reduce_is_nccls_fastest_protocol(p, n):
    by_hand = _ring_all_reduce(p, n)
    best = min(by_hand, key=lambda k: sum(by_hand[k]))
    cost = nccl_collective_cost(H200, "all_reduce", p, np.array([n]), "ring")
    assert cost.overhead_s[0] == pytest.approx(by_hand[best][0], rel=1e-12)
    assert cost.link_s[0] == pytest.approx(by_hand[best][1], rel=1e-12)
    assert cost.time_s[0] == pytest.approx(min(sum(v) for v in by_hand.values()), rel=1e-12)
    assert cost.kernels == 1 and f", {best}, {p} GPUs" in cost.detail
    assert cost.compute_s[0] == cost.memory_s[0] == cost.launch_s[0] == 0


def test_protocol_switches_with_message_size():
    sizes = np.array([8.0, 131_072.0, 268_435_456.0])
    cost = nccl_collective_cost(H200, "all_reduce", 8, sizes, "ring")
    # small messages: LL's 6.6 us base; large: Simple's full bandwidth
    assert cost.overhead_s[0] == pytest.approx(6.6e-6) and cost.overhead_s[2] == pytest.approx(8.4e-6)
    assert "LL" in cost.detail and "Simple" in cost.detail
    # 256 MiB over 8 GPUs: 14 x 3.4 us + 2 x 7/8 x 2^28 B / 370.8 GB/s = 1.3146 ms (+ 8.4 us)
    assert cost.time_s[2] == pytest.approx(8.4e-6 + 14 * 3.4e-6 + 1.75 * 2 ** 28 / BUS, rel=1e-12)


def test_tree_all_gather_and_p2p_by_hand():
    n = 1_048_576.0
    tree = nccl_collective_cost(H200, "all_reduce", 8, np.array([n]), "tree")
    steps = 2 * math.ceil(math.log2(8))   # binomial tree reduce + broadcast (accelsim.llm.parallel)
    by_hand = {"LL": 6.8e-6 + steps * (0.6e-6 + n / min(LL_CAP, 0.92 / 3.8 * BUS)),
               "LL128": 14.0e-6 + steps * (1.25e-6 + n / (0.92 * 7 / 9 * BUS)),
               "Simple": 8.4e-6 + steps * (4.0e-6 + n / (0.92 * BUS))}
    assert tree.time_s[0] == pytest.approx(min(by_hand.values()), rel=1e-12)
    gather = nccl_collective_cost(H200, "all_gather", 4, np.array([256.0]), "tree")   # all-gather: ring only
    assert gather.time_s[0] == pytest.approx(6.6e-6 + 3 * 0.6e-6 + 0.75 * 256 / LL_CAP, rel=1e-12)
    send = nccl_collective_cost(H200, "p2p", 2, np.array([n]))
    assert send.detail.startswith("NCCL send/recv, ")
    assert send.time_s[0] == pytest.approx(min(6.6e-6 + 0.6e-6 + n / LL_CAP, 14e-6 + 1.9e-6 + n / (0.92 * BUS),
                                               8.4e-6 + 3.4e-6 + n / BUS), rel=1e-12)
    alone = nccl_collective_cost(H200, "all_reduce", 1, np.array([n]))
    assert alone.time_s[0] == 0 and alone.kernels == 0


def test_llama2_7b_tp2_on_h200_by_hand():
    """The lead's case: Llama-2-7B, batch 16, prompt 2048, TP 2 on h200. Per decode step 64 all-reduces
    of 16 x 4096 x 2 B (LL), per prefill 64 of 16 x 2048 x 4096 x 2 B (Simple)."""
    summary, ops = llm_inference("llama2_7b", "hw/h200.yaml", 2048, 4, 16, LLMOptions(tp=2))
    dec = ops[(ops.phase == "decode") & (ops.op == "tp.all_reduce")].iloc[0]
    pre = ops[(ops.phase == "prefill") & (ops.op == "tp.all_reduce")].iloc[0]
    n_dec, n_pre = 16 * 4096 * 2, 16 * 2048 * 4096 * 2
    assert dec.overhead_s == pytest.approx(64 * 6.6e-6, rel=1e-12)
    assert dec.link_s == pytest.approx(64 * (2 * 0.6e-6 + n_dec / LL_CAP), rel=1e-12)
    assert dec.launch_s == pytest.approx(64 * H200.fitted.graph_gap_us * 1e-6, rel=1e-12)   # one kernel each
    assert pre.overhead_s == pytest.approx(64 * 8.4e-6, rel=1e-12)
    assert pre.link_s == pytest.approx(64 * (2 * 3.4e-6 + n_pre / BUS), rel=1e-12)
    assert pre.memory_s == 0 and dec.memory_s == 0 and pre.bound == "link" and dec.bound == "overhead"
    parts = ["compute_s", "quantization_s", "memory_s", "overhead_s", "launch_s", "link_s"]
    assert np.allclose(ops[parts].sum(axis=1), ops.time_s, rtol=1e-12)
    collectives = ops[(ops.phase == "decode") & (ops.kind == "collective")]
    assert summary["decode_collective_s_per_step"] == pytest.approx(collectives.time_s.sum(), rel=1e-12)
    # energy: the sent bytes (2 (p-1)/p n) read on one GPU and written on the other, at the DRAM energy
    from accelsim.llm.roofline import energy_per_action_pj
    byte_pj = energy_per_action_pj(H200, spec.energy_table_for(H200, None))[2]
    assert dec.energy_j == pytest.approx(64 * 2 * (2 * 1 / 2 * n_dec) * byte_pj * 1e-12, rel=1e-12)
    assert pre.energy_j == pytest.approx(64 * 2 * (2 * 1 / 2 * n_pre) * byte_pj * 1e-12, rel=1e-12)
    assert summary["parallelism"] == "tensor parallel 2; ring collectives (NCCL kernels over NVLink)"
    one = llm_inference("llama2_7b", "hw/h200.yaml", 2048, 4, 16)[1]
    assert "link_s" in one and (one.link_s == 0).all()


def test_cli_table_shows_link_column():
    result = CliRunner().invoke(main, ["llm", "--model", "llama2_7b", "--hw", "h200", "--prompt", "128",
                                       "--generate", "2", "--tp", "2"])
    assert result.exit_code == 0, result.output
    assert "link_s" in result.output and "NCCL ring all-reduce" in result.output


def test_bus_bandwidth_above_link_is_refused():
    data = spec.common.load_yaml(spec.ROOT / "hw" / "h200.yaml")
    data["gpu"]["link_bus_bandwidth_gb_per_s"] = 1000
    with pytest.raises(SpecError, match="link_bus_bandwidth_gb_per_s: must be <= link_bandwidth_gb_per_s"):
        spec.gpu_from_dict(data, "mine.yaml")
    del data["gpu"]["link_bus_bandwidth_gb_per_s"], data["gpu"]["nccl_ll_bandwidth_gb_per_s"]
    dev = spec.gpu_from_dict(data, "mine.yaml")   # default: one direction of the datasheet figure, no LL cap
    assert dev.link_bus_bandwidth_bytes_per_s == 450e9 and dev.nccl_ll_bandwidth_bytes_per_s == 0
