"""LLM inference (accelsim/llm/infer.py, ops.py, phases.py, variants.py, roofline.py).

Independent numbers: docs/llm.md's reference values (7.144 ms and 4.265 ms per token, KV bytes per
token), DeepSeek-V2 (arXiv:2405.04434) Fig. 1(b) and Sec. 3.2.3 (93.3% smaller KV cache than
DeepSeek 67B, with its cache at 6 bits per element), hand counts on a tiny config, the exact
MAC counts of accelsim.llm.counts, brute-force enumeration for the MoE expectation and a
step-by-step loop for the vectorised decode.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from accelsim.errors import AccelsimError
from accelsim.llm import counts
from accelsim.llm.config import llm_config_from_dict
from accelsim.llm.infer import BREAKDOWN, llm_inference
from accelsim.llm.lower import resolve_llm_config
from accelsim.llm.phases import decode_ops, prefill_ops
from accelsim.llm.roofline import roofline_op_times
from accelsim.llm.variants import LLMOptions, attended_keys, cached_positions, experts_touched, prefill_pairs
from accelsim.spec.roofline import RooflineHardware

TINY = llm_config_from_dict({"name": "tiny", "num_layers": 2, "hidden_size": 8, "num_heads": 2, "num_kv_heads": 1,
                             "head_dim": 4, "intermediate_size": 16, "activation": "swiglu", "vocab_size": 10})
LLAMA2 = resolve_llm_config("llama2_7b")


def by_name(ops):
    return {op.name: op for op in ops}


def model_total(ops, field):
    """Sum of one quantity over the ops of a phase, x layers, over all steps."""
    return sum(float(np.sum(getattr(op, field))) * op.layers for op in ops)


# -- reference values (docs/llm.md) ----------------------------------------------------------------------

@pytest.mark.parametrize("hw,expected_ms", [("ideal_a100", 7.144), ("ideal_h100", 4.265)])
def test_llama2_decode_per_token_reference(hw, expected_ms):
    summary, _ = llm_inference("llama2_7b", hw, prompt=2048, generate=1, batch=1)
    assert summary["tpot_s"] * 1e3 == pytest.approx(expected_ms, rel=0.01)
    assert summary["tokens_per_s"] == pytest.approx(1 / summary["tpot_s"])


def test_llama2_decode_traffic_is_weights_plus_kv_exactly():
    _, ops = decode_ops(LLAMA2, LLMOptions(), 2048, 1, 1, 2, 2)
    weights = 2 * (counts.linear_macs_per_token(LLAMA2) + counts.lm_head_macs_per_token(LLAMA2))
    assert model_total(ops, "weight_bytes") == weights == 13_214_154_752
    reads = sum(float(op.kv_bytes[0]) * op.layers for op in ops if op.name.startswith("attn."))
    assert reads == 2048 * 524_288                              # docs/llm.md: 14.29 GB read per step in all
    assert (weights + reads) / 1e9 == pytest.approx(14.29, abs=0.005)


KV_BYTES_FP16 = {   # layers * 2 * kv_heads * head_dim * 2 B; MLA: layers * (d_c + d_rope) * 2 B
    "bert_base": 12 * 2 * 12 * 64 * 2, "gpt2_small": 12 * 2 * 12 * 64 * 2, "vit_b16": 12 * 2 * 12 * 64 * 2,
    "llama2_7b": 524_288, "llama3_8b": 131_072, "mistral_7b": 32 * 2 * 8 * 128 * 2,
    "mixtral_8x7b": 32 * 2 * 8 * 128 * 2, "deepseek_v2_lite": 27 * (512 + 64) * 2,
}


@pytest.mark.parametrize("name", sorted(KV_BYTES_FP16))
def test_kv_bytes_per_token_every_zoo_model(name):
    # Mixtral-8x7B's 93.4 GB of fp16 weights exceed the A100's 80 GB: costed anyway, marked
    summary, _ = llm_inference(name, "ideal_a100", prompt=8, generate=2, allow_oversubscribe=True)
    assert summary["kv_bytes_per_token"] == KV_BYTES_FP16[name]
    assert summary["oversubscribed"] == (name == "mixtral_8x7b")


# DeepSeek-V2 (236B) and DeepSeek LLM 67B, from their Hugging Face config.json values
DEEPSEEK_V2 = llm_config_from_dict({
    "name": "deepseek_v2", "num_layers": 60, "hidden_size": 5120, "num_heads": 128, "intermediate_size": 12288,
    "activation": "swiglu", "vocab_size": 102400, "q_lora_rank": 1536, "kv_lora_rank": 512,
    "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128, "num_experts": 160,
    "experts_per_token": 6, "num_shared_experts": 2, "moe_intermediate_size": 1536, "first_dense_layers": 1})
DEEPSEEK_67B = llm_config_from_dict({   # DeepSeek LLM, arXiv:2401.02954 Table 2: 95 layers, 64 heads, 8 KV heads
    "name": "deepseek_llm_67b", "num_layers": 95, "hidden_size": 8192, "num_heads": 64, "num_kv_heads": 8,
    "intermediate_size": 22016, "activation": "swiglu", "vocab_size": 102400})


def test_deepseek_v2_kv_reduction_93_3_percent():
    """Fig. 1(b): 93.3% less KV cache than DeepSeek 67B (its GQA cache in BF16), with DeepSeek-V2's
    latent cache quantised to 6 bits per element on average (Sec. 3.2.3)."""
    v2 = counts.kv_cache_bytes_per_token(DEEPSEEK_V2, 6 / 8)
    base = counts.kv_cache_bytes_per_token(DEEPSEEK_67B, 2)
    assert (v2, base) == (60 * 576 * 0.75, 95 * 2 * 8 * 128 * 2) == (25_920, 389_120)
    assert round(100 * (1 - v2 / base), 1) == 93.3
    # the CLI route: --kv-bits 6 on the model, bf16 baseline
    # (236B and 67B parameters exceed one A100's 80 GB: costed anyway, marked oversubscribed)
    s_v2, _ = llm_inference(DEEPSEEK_V2, "ideal_a100", 8, 1, options=LLMOptions(kv_bits=6), allow_oversubscribe=True)
    s_base, _ = llm_inference(DEEPSEEK_67B, "ideal_a100", 8, 1, allow_oversubscribe=True)
    assert round(100 * (1 - s_v2["kv_bytes_per_token"] / s_base["kv_bytes_per_token"]), 1) == 93.3
    # against MHA of the same model at the same precision (Table 1: 2 n_h d_h l vs (d_c + d_h^R) l)
    mha = 2 * DEEPSEEK_V2.num_heads * DEEPSEEK_V2.qk_nope_head_dim
    assert 1 - counts.kv_elements_per_token_per_layer(DEEPSEEK_V2) / mha == 1 - 576 / 32768


def test_sliding_window_caps_kv_reads_at_the_window():
    mistral = resolve_llm_config("mistral_7b")
    _, ops = decode_ops(mistral, LLMOptions(), 10_000, 3, 2, 2, 2)
    scores = by_name(ops)["attn.scores"]
    assert list(scores.kv_bytes) == [2 * 4096 * 8 * 128 * 2] * 3       # batch x W x kv_heads x hd x 2 B
    summary, _ = llm_inference("mistral_7b", "ideal_a100", 10_000, 3, 2)
    assert summary["first_step_s"] == summary["last_step_s"]
    assert summary["kv_cache_bytes"] == 2 * 4096 * 131_072
    assert summary["kv_growth_bytes_per_step"] == 0                     # capped: the rolling buffer is full
    growing, _ = llm_inference("mistral_7b", "ideal_a100", 100, 3, 2)
    assert growing["kv_growth_bytes_per_step"] == 2 * 131_072
    _, below = decode_ops(mistral, LLMOptions(), 100, 1, 1, 2, 2)
    assert by_name(below)["attn.scores"].kv_bytes[0] == 100 * 8 * 128 * 2


# -- variants on the tiny config, by hand ------------------------------------------------------------

def test_keys_and_cache_by_hand():
    t = np.array([1, 3, 6, 20])
    full = LLMOptions()
    assert list(attended_keys(TINY, full, t)) == [1, 3, 6, 20]
    w = LLMOptions(window=4)
    assert list(attended_keys(TINY, w, t)) == [1, 3, 4, 4]
    dilated = LLMOptions(window=4, dilation=2)                   # 4 keys spread over 8 positions
    assert list(attended_keys(TINY, dilated, t)) == [1, 2, 3, 4]
    assert list(cached_positions(TINY, dilated, t)) == [1, 3, 6, 8]
    sinks = LLMOptions(window=4, sinks=2)                        # StreamingLLM: 2 + 4, constant
    assert list(attended_keys(TINY, sinks, t)) == [1, 3, 6, 6]
    assert list(cached_positions(TINY, sinks, np.array([6, 100, 10_000]))) == [6, 6, 6]
    assert list(cached_positions(TINY, LLMOptions(kv_cache=False), t)) == [0, 0, 0, 0]
    assert list(attended_keys(TINY, LLMOptions(mixer="linear"), t)) == [0, 0, 0, 0]


def test_prefill_pairs_by_hand():
    n = np.array([5])
    assert prefill_pairs(TINY, LLMOptions(), n)[0] == 25
    assert prefill_pairs(TINY, LLMOptions(causal=True), n)[0] == 15                  # 5*6/2
    assert prefill_pairs(TINY, LLMOptions(window=2, causal=True), n)[0] == 1 + 2 + 2 + 2 + 2
    assert prefill_pairs(TINY, LLMOptions(window=2), n)[0] == 10                      # 5 x min(5, 2)
    # Longformer, 1 global token + window 2: every query 3 keys, the global row all 5
    assert prefill_pairs(TINY, LLMOptions(window=2, global_tokens=1), n)[0] == 5 * 3 + (5 - 3)
    assert list(prefill_pairs(TINY, LLMOptions(causal=True), np.array([1, 2, 7]))) == [1, 3, 28]


def test_decode_ops_by_hand():
    _, ops = decode_ops(TINY, LLMOptions(), prompt=6, generate=1, batch=3, e=2, kv_e=2)
    o = by_name(ops)
    assert o["attn.scores"].macs[0] == 3 * 2 * 6 * 4                 # batch x heads x keys x head_dim
    assert o["attn.scores"].kv_bytes[0] == 3 * 6 * 1 * 4 * 2         # K: batch x keys x kv_heads x hd x 2 B
    assert o["attn.context"].kv_bytes[0] == 3 * 6 * 4 * 2
    assert o["kv_cache.write"].kv_bytes[0] == 3 * 8 * 2              # one token: 2 x 1 x 4 elements
    assert o["kv_cache.write"].act_bytes[0] == 3 * 8 * 2             # ... copied from the projections
    assert o["attn_norm"].vector_ops[0] == 3 * 8 * 4                 # RMSNorm: 4 ops per element
    assert o["attn.rope"].vector_ops[0] == 3 * (2 + 1) * 4 * 3       # q and k heads, 3 ops per element
    assert o["attn.softmax"].vector_ops[0] == 3 * 2 * 6 * 5          # 5 ops per score
    assert o["mlp.act_fn"].vector_ops[0] == 3 * 16 * 6               # SwiGLU 6 per inner element
    assert o["attn.residual"].vector_ops[0] == 3 * 8
    assert o["attn.q_proj"].weight_bytes[0] == 8 * 8 * 2
    assert o["attn.q_proj"].act_bytes[0] == (3 * 8 + 3 * 8) * 2
    assert o["embed.tokens"].act_bytes[0] == 2 * 3 * 8 * 2           # gather 3 rows of 8, write them
    assert o["attn.scores"].score_bytes[0] == 0                     # flash: scores stay on chip
    macs = sum(float(op.macs[0]) * op.layers for op in ops)
    assert macs == 3 * counts.decode_macs_per_token(TINY, 6)


def test_materialised_attention_moves_scores_through_dram():
    _, ops = decode_ops(TINY, LLMOptions(attention="materialised"), 6, 1, 3, 2, 2)
    o = by_name(ops)
    scores = 3 * 2 * 6                                                # batch x heads x keys
    assert (o["attn.scores"].score_bytes[0], o["attn.softmax"].score_bytes[0],
            o["attn.context"].score_bytes[0]) == (scores * 2, 2 * scores * 2, scores * 2)
    flash, _ = llm_inference("llama2_7b", "ideal_a100", 2048, 1, 4)
    mat, _ = llm_inference("llama2_7b", "ideal_a100", 2048, 1, 4, LLMOptions(attention="materialised"))
    extra = mat["decode_dram_bytes_per_step"] - flash["decode_dram_bytes_per_step"]
    assert extra == 4 * 32 * 4 * 32 * 2048 * 2                        # S, P written and read: 4 passes


def test_no_kv_cache_recomputes_the_prefix():
    t, ops = decode_ops(TINY, LLMOptions(kv_cache=False), prompt=4, generate=3, batch=1, e=2, kv_e=2)
    per_step = sum(op.macs * op.layers for op in ops)
    assert list(per_step) == [counts.prefill_macs(TINY, n, causal=False) for n in (5, 6, 7)]
    cached, cops = decode_ops(TINY, LLMOptions(), prompt=4, generate=3, batch=1, e=2, kv_e=2)
    assert list(sum(op.macs * op.layers for op in cops)) == [counts.decode_macs_per_token(TINY, c) for c in (4, 5, 6)]
    # G steps after a prompt p: linear MACs P_lin * sum(n) (quadratic in G), dense attention
    # L*h*2*hd * sum(n^2) (cubic), lm_head d*V per step; closed forms of the sums
    p, g = 10, 300
    _, long_ops = decode_ops(TINY, LLMOptions(kv_cache=False), p, g, 1, 2, 2)
    sum_n = (p + g) * (p + g + 1) // 2 - p * (p + 1) // 2
    sum_n2 = (p + g) * (p + g + 1) * (2 * (p + g) + 1) // 6 - p * (p + 1) * (2 * p + 1) // 6
    assert model_total(long_ops, "macs") == 1152 * sum_n + 2 * 2 * 8 * sum_n2 + 80 * g


def test_linear_attention_state_by_hand():
    opts = LLMOptions(mixer="linear")
    t, ops = decode_ops(TINY, opts, prompt=6, generate=4, batch=3, e=2, kv_e=2)
    o = by_name(ops)
    state = o["attn.linear_state"]
    assert list(state.macs) == [3 * (1 * (16 + 4) + 2 * (16 + 4))] * 4   # kv and q heads: dk*dv + dk each
    assert list(state.state_bytes) == [2 * 3 * 1 * (16 + 4) * 2] * 4     # state read + written per step
    assert "attn.scores" not in o and "kv_cache.write" not in o
    summary, _ = llm_inference(TINY, "ideal_a100", 6, 4, 3, opts)
    assert summary["kv_bytes_per_token"] == 0 and summary["state_bytes"] == 2 * 3 * 20 * 2
    assert summary["first_step_s"] == summary["last_step_s"]            # constant per step


def test_ssm_scan_by_hand():
    _, ops = decode_ops(TINY, LLMOptions(mixer="ssm", ssm_state=16), 6, 2, 3, 2, 2)
    scan = by_name(ops)["ssm.selective_scan"]
    assert list(scan.vector_ops) == [3 * 8 * 16 * 8] * 2                 # channels h*dv = 8, N = 16, 8 ops
    assert list(scan.state_bytes) == [2 * 3 * 8 * 16 * 2] * 2


def test_mla_absorbed_decode_by_hand():
    cfg = resolve_llm_config("deepseek_v2_lite")
    _, ops = decode_ops(cfg, LLMOptions(), 100, 1, 2, 2, 2)
    o = by_name(ops)
    assert o["attn.scores"].macs[0] == 2 * 16 * 100 * (512 + 64)         # heads attend over the latent
    assert o["attn.context"].macs[0] == 2 * 16 * 100 * 512
    assert o["attn.scores"].kv_bytes[0] == 2 * 100 * 576 * 2 and o["attn.context"].kv_bytes[0] == 0
    _, plain = decode_ops(cfg, LLMOptions(mla_absorbed=False), 100, 1, 2, 2, 2)
    assert model_total(plain, "macs") == 2 * counts.decode_macs_per_token(cfg, 100)


def test_moe_experts_touched():
    # brute force: B tokens, each a uniformly random k-subset of E experts; mean distinct experts
    for e, k, b in [(4, 2, 2), (5, 2, 3), (6, 1, 3)]:
        subsets = list(itertools.combinations(range(e), k))
        mean = np.mean([len(set().union(*c)) for c in itertools.product(subsets, repeat=b)])
        assert experts_touched(e, k, b) == pytest.approx(mean)
    mixtral = resolve_llm_config("mixtral_8x7b")
    per_expert = 3 * 4096 * 14336 * 2
    for batch, touched in [(1, 2.0), (16, 8 * (1 - 0.75 ** 16))]:
        _, ops = decode_ops(mixtral, LLMOptions(), 64, 1, batch, 2, 2)
        experts = sum(float(op.weight_bytes[0]) for op in ops if op.name.startswith("moe.experts."))
        assert experts == pytest.approx(touched * per_expert)


def test_ring_attention_splits_the_cache():
    one, ops1 = decode_ops(TINY, LLMOptions(), 6, 1, 3, 2, 2)
    _, ops2 = decode_ops(TINY, LLMOptions(devices=2), 6, 1, 3, 2, 2)
    o1, o2 = by_name(ops1), by_name(ops2)
    assert o2["attn.scores"].macs[0] == o1["attn.scores"].macs[0] / 2
    assert o2["attn.scores"].kv_bytes[0] == o1["attn.scores"].kv_bytes[0] / 2
    assert o2["ring.kv_transfer"].link_bytes[0] == 3 * 6 * (1 / 2) * 8 * 2   # (D-1)/D of the K/V read
    s1, _ = llm_inference("llama2_7b", "ideal_a100", 4096, 1, 1)
    s4, table = llm_inference("llama2_7b", "ideal_a100", 4096, 1, 1, LLMOptions(devices=4))
    assert s4["kv_cache_bytes"] == s1["kv_cache_bytes"] / 4
    decode = table[table["phase"] == "decode"].set_index("op")
    # the transfer of 3/4 of the 4096 x 16,384 B of K/V per layer over 600 GB/s, minus the attention it hides behind
    link = 32 * 0.75 * 4096 * 16_384 / 600e9
    hidden = decode.loc[["attn.scores", "attn.softmax", "attn.context"], "time_s"].sum()
    assert decode.loc["ring.kv_transfer", "time_s"] == pytest.approx(link - hidden)


def test_roofline_op_time_by_hand():
    device = RooflineHardware(name="toy", precision="fp16", peak_flops_per_s=1e6, dram_bandwidth_bytes_per_s=1e3,
                              vector_flops_per_s=1e2)
    _, ops = decode_ops(TINY, LLMOptions(), 6, 1, 3, 2, 2)
    times = roofline_op_times(ops, device, kv_on_chip=False)
    assert times["attn.q_proj"][0] == pytest.approx(max(2 * 3 * 8 * 8 / 1e6, (128 + 96) / 1e3))   # memory bound
    assert times["attn.softmax"][0] == pytest.approx(3 * 2 * 6 * 5 / 1e2)                          # vector bound
    on_chip = roofline_op_times(ops, device, kv_on_chip=True)
    assert on_chip["kv_cache.write"][0] == pytest.approx(3 * 8 * 2 / 1e3)   # only the activation read is DRAM
    assert times["kv_cache.write"][0] == pytest.approx(2 * 3 * 8 * 2 / 1e3)


@pytest.mark.parametrize("opts", [LLMOptions(), LLMOptions(attention="materialised", window=5, sinks=1),
                                  LLMOptions(kv_cache=False, causal=True), LLMOptions(mixer="linear"),
                                  LLMOptions(devices=2)])
def test_vectorised_decode_equals_a_loop_over_steps(opts):
    whole, _ = llm_inference(TINY, "ideal_a100", 3, 6, 2, opts)
    steps = [llm_inference(TINY, "ideal_a100", t, 1, 2, opts)[0]["tpot_s"] for t in range(3, 9)]
    assert whole["decode_s"] == pytest.approx(sum(steps), rel=1e-12)
    assert whole["first_step_s"] == pytest.approx(steps[0]) and whole["last_step_s"] == pytest.approx(steps[-1])


def test_prefill_options():
    base = by_name(prefill_ops(TINY, LLMOptions(), 5, 1, 2, 2))
    causal = by_name(prefill_ops(TINY, LLMOptions(causal=True), 5, 1, 2, 2))
    assert base["attn.scores"].macs[0] == 2 * 25 * 4 and causal["attn.scores"].macs[0] == 2 * 15 * 4
    every = by_name(prefill_ops(TINY, LLMOptions(lm_head_all_tokens=True), 5, 1, 2, 2))
    assert base["lm_head"].macs[0] == 8 * 10 and every["lm_head"].macs[0] == 5 * 8 * 10
    macs = model_total(prefill_ops(LLAMA2, LLMOptions(), 33, 2, 2, 2), "macs")
    assert macs == 2 * counts.prefill_macs(LLAMA2, 33, causal=False)


def test_kv_placement(tmp_path):
    small, _ = llm_inference("gpt2_small", "tpu_v1", 32, 4, 1)
    assert small["kv_placement"] == "sram"                               # 36 x 9,216 B in the 24 MiB buffer
    big, _ = llm_inference("llama2_7b", "ideal_a100", 64, 4, 1)
    assert big["kv_placement"] == "dram"                                 # the ideal presets have no on-chip memory
    hw = tmp_path / "chip.yaml"
    hw.write_text("name: chip\nprecision: fp16\nroofline: {peak_tflops: 100, dram_bandwidth_gb_per_s: 1000, "
                  "onchip_mib: 64}\n")
    fits, _ = llm_inference("llama2_7b", str(hw), 64, 4, 1)
    assert fits["kv_placement"] == "sram" and fits["kv_cache_bytes"] == 68 * 524_288
    assert fits["decode_dram_bytes_per_step"] < big["decode_dram_bytes_per_step"]


def test_array_gap_to_roofline_is_explained():
    s, ops = llm_inference("llama2_7b", "tpu_v1", 64, 16, 2)
    for phase in ("prefill", "decode"):
        part = ops[ops["phase"] == phase]
        assert part["time_s"].sum() == pytest.approx(sum(part[k].sum() for k in BREAKDOWN))
        assert s[f"{phase}_roofline_s"] <= part["time_s"].sum()
    assert s["tpot_s"] == pytest.approx(ops[ops["phase"] == "decode"]["time_s"].sum())
    gemm = ops[(ops["phase"] == "decode") & ops["kind"].isin(["gemm", "attention"])]
    mean_macs = 2 * np.mean([counts.decode_macs_per_token(LLAMA2, t) for t in range(64, 80)])
    assert gemm["macs"].sum() == pytest.approx(mean_macs, rel=1e-12)    # interpolated from 3 simulated steps
    assert s["first_step_s"] < s["last_step_s"]


def test_bad_options():
    with pytest.raises(AccelsimError, match="need a window"):
        llm_inference("llama2_7b", "ideal_a100", 8, 2, options=LLMOptions(sinks=4))
    with pytest.raises(AccelsimError, match="mixer linear has no attention window"):
        llm_inference("llama2_7b", "ideal_a100", 8, 2, options=LLMOptions(mixer="linear", window=4))
    with pytest.raises(AccelsimError, match="generate must be an integer >= 1"):
        llm_inference("llama2_7b", "ideal_a100", 8, 0)
    with pytest.raises(AccelsimError, match="link_bandwidth_gb_per_s"):
        llm_inference("llama2_7b", RooflineHardware("x", "fp16", 1e12, 1e9, 1e12), 8, 2,
                      options=LLMOptions(devices=2))
    assert math.isfinite(llm_inference("mistral_7b", "ideal_a100", 8, 2)[0]["tpot_s"])


# -- CLI -----------------------------------------------------------------------------------------------

from click.testing import CliRunner  # noqa: E402

from accelsim import spec  # noqa: E402
from accelsim.cli import main  # noqa: E402
from accelsim.llm.lower import model_names  # noqa: E402

PROMISED = ("params", "kv_bytes_per_token", "ttft_s", "tpot_s", "tokens_per_s", "energy_per_token_j")


def test_cli_llm_json_on_ideal_a100():
    import json
    result = CliRunner().invoke(main, ["llm", "--model", "llama2_7b", "--hw", "ideal_a100", "--prompt", "2048",
                                       "--generate", "1", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for key in PROMISED:
        assert key in out, key
    assert out["tpot_s"] * 1e3 == pytest.approx(7.144, rel=0.01)
    assert out["params"] == 6_738_415_616 and out["kv_bytes_per_token"] == 524_288
    assert "lm_head on the last token" in out["options"] and "dense prefill" in out["options"]
    assert {"op", "arithmetic_intensity_flop_per_byte", "attainable_flops_per_s",
            "achieved_flops_per_s"} <= set(out["ops"][0])


def test_cli_llm_variants_and_table():
    runner = CliRunner()
    result = runner.invoke(main, ["llm", "--model", "llama3_8b", "--hw", "ideal_h100", "--prompt", "512",
                                  "--generate", "64", "--batch", "4", "--window", "128", "--sinks", "4",
                                  "--attention", "materialised", "--causal", "--lm-head-all-tokens",
                                  "--devices", "2"])
    assert result.exit_code == 0, result.output
    for text in ("ttft_s", "tpot_s", "window 128", "4 sink tokens", "attention materialised",
                 "causal prefill", "lm_head on all prompt tokens", "ring attention over 2 devices",
                 "per-op roofline, decode (mean per step)", "ring.kv_transfer", "conventions"):
        assert text in result.output, text
    for args in (["--mixer", "ssm"], ["--mixer", "linear"], ["--no-kv-cache"], ["--window", "64", "--dilation", "2"],
                 ["--window", "64", "--global-tokens", "2"], ["--kv-bits", "4"],
                 ["--model", "deepseek_v2_lite", "--mla-plain"]):
        run = runner.invoke(main, ["llm", "--model", "gpt2_small", "--hw", "ideal_a100", "--prompt", "64",
                                   "--generate", "8"] + args)
        assert run.exit_code == 0, (args, run.output)
    bad = runner.invoke(main, ["llm", "--model", "llama2_7b", "--hw", "ideal_a100", "--prompt", "8",
                               "--generate", "2", "--sinks", "4"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: ") and "need a window" in bad.output


@pytest.mark.parametrize("hw", spec.builtin_names("hw"))
def test_every_zoo_model_on_every_hw_preset(hw):
    import json
    for model in model_names():
        args = ["llm", "--model", model, "--hw", hw, "--prompt", "4", "--generate", "2", "--format", "json"]
        result = CliRunner().invoke(main, args)
        if model == "mixtral_8x7b" and (hw.startswith("ideal_") or hw in ("a100", "h100")):   # 93.4 GB > 80 GB
            assert result.exit_code == 1 and "does not fit" in result.output
            result = CliRunner().invoke(main, args + ["--allow-oversubscribe"])
        assert result.exit_code == 0, (model, result.output)
        out = json.loads(result.stdout)
        assert out["ttft_s"] > 0 and out["tpot_s"] > 0 and out["energy_per_token_j"] > 0, model


def test_array_decode_interpolates_the_quadratic_no_cache_cost():
    s, ops = llm_inference(TINY, "edge_16x16", 4, 9, 1, LLMOptions(kv_cache=False))
    gemm = ops[(ops["phase"] == "decode") & ops["kind"].isin(["gemm", "attention"])]
    exact = np.mean([counts.prefill_macs(TINY, t + 1, causal=False) for t in range(4, 13)])
    assert gemm["macs"].sum() == pytest.approx(exact, rel=1e-9)       # degree-2 fit through 3 steps is exact
    assert s["decode_s"] == pytest.approx(s["tpot_s"] * 9)


@pytest.mark.parametrize("kv_heads", [2, 1])       # MHA (2 of 2 heads) and MQA; GQA in llama3_8b below
def test_mha_gqa_mqa_shapes_by_hand(kv_heads):
    cfg = llm_config_from_dict({"name": "t", "num_layers": 2, "hidden_size": 8, "num_heads": 2,
                                "num_kv_heads": kv_heads, "head_dim": 4, "intermediate_size": 16,
                                "activation": "swiglu", "vocab_size": 10})
    _, ops = decode_ops(cfg, LLMOptions(), 6, 1, 1, 2, 2)
    o = by_name(ops)
    assert o["attn.k_proj"].weight_bytes[0] == 8 * kv_heads * 4 * 2
    assert o["attn.scores"].macs[0] == 2 * 6 * 4                       # every query head scores
    assert o["attn.scores"].kv_bytes[0] == 6 * kv_heads * 4 * 2
    summary, _ = llm_inference(cfg, "ideal_a100", 6, 1)
    assert summary["kv_bytes_per_token"] == 2 * 2 * kv_heads * 4 * 2


def test_per_op_roofline_coordinates():
    _, table = llm_inference("llama3_8b", "ideal_a100", 1024, 1, 8)
    row = table[(table["phase"] == "decode") & (table["op"] == "attn.q_proj")].iloc[0]
    flops, traffic = 2 * 8 * 4096 * 4096 * 32, (4096 * 4096 + 2 * 8 * 4096) * 2 * 32
    assert (row["flops"], row["dram_bytes"]) == (flops, traffic)
    assert row["arithmetic_intensity_flop_per_byte"] == pytest.approx(flops / traffic)
    assert row["attainable_flops_per_s"] == pytest.approx(flops / traffic * 2.0e12)     # below the ridge
    assert row["achieved_flops_per_s"] == pytest.approx(row["attainable_flops_per_s"])
    assert row["bound"] == "memory"
    scores = table[(table["phase"] == "decode") & (table["op"] == "attn.scores")].iloc[0]
    # GQA decode attention: about heads / kv_heads = 4 FLOP per byte (docs/llm.md)
    assert scores["arithmetic_intensity_flop_per_byte"] == pytest.approx(4, rel=0.01)
    prefill = table[(table["phase"] == "prefill") & (table["op"] == "mlp.up_proj")].iloc[0]
    assert prefill["bound"] == "compute" and prefill["attainable_flops_per_s"] == 312e12


def test_array_materialised_softmax_goes_through_dram(tmp_path):
    import yaml
    data = yaml.safe_load((spec.ROOT / "hw" / "edge_16x16.yaml").read_text())
    data["vector"] = {"lanes": 64}
    hw = tmp_path / "edge_wide.yaml"
    hw.write_text(yaml.safe_dump(data))
    flash, fops = llm_inference(TINY, str(hw), 64, 1, 2)
    mat, mops = llm_inference(TINY, str(hw), 64, 1, 2, LLMOptions(attention="materialised"))
    soft = lambda t: t[(t["phase"] == "decode") & (t["op"] == "attn.softmax")].iloc[0]  # noqa: E731
    # 256 scores (batch 2 x heads 2 x 64 keys), int8: S read + P written = 512 B at 8 B/cycle = 64 cycles,
    # vector 256 x 5 ops on 64 lanes = 20 cycles; 2 layers at 500 MHz
    assert soft(mops)["memory_s"] == pytest.approx(2 * (64 - 20) / 500e6)
    assert soft(mops)["vector_s"] == pytest.approx(2 * 20 / 500e6)
    assert soft(fops)["memory_s"] == 0 and mat["tpot_s"] > flash["tpot_s"]
