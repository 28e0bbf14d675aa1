"""Device memory, quantized weights and parallelism, against numbers derived by hand.

Devices: hw/ideal_h100.yaml (989 TFLOP/s fp16, 1,979 TFLOP/s fp8/int8, 3.35e12 B/s HBM, 80 GB,
link 900 GB/s with 0.47 us per message). Configs: tests/data/hf_configs/ (published config.json files).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from accelsim import spec
from accelsim.cli import main
from accelsim.errors import AccelsimError
from accelsim.llm import LLMOptions, from_hf_config, llm_inference
from accelsim.llm.parallel import collective_seconds
from accelsim.llm.quant import WeightQuant

DATA = Path(__file__).parent / "data" / "hf_configs"
H100 = spec.load("hw", "ideal_h100")
BW, ALPHA, LINK = 3.35e12, 0.47e-6, 900e9


def cfg(name):
    return from_hf_config(DATA / name)


# -- collectives (alpha-beta; Thakur et al. 2005, Patarasuk & Yuan 2009) -------------------------------

def test_collective_formulas_by_hand():
    n = 1_000_000
    assert collective_seconds("all_reduce", 8, n, 1e9, 1e-6) == pytest.approx(14e-6 + 2 * 7 / 8 * n / 1e9)
    assert collective_seconds("all_reduce", 8, n, 1e9, 1e-6, "tree") == pytest.approx(6 * (1e-6 + n / 1e9))
    assert collective_seconds("all_to_all", 4, n, 1e9, 1e-6) == pytest.approx(3e-6 + 0.75 * n / 1e9)
    assert collective_seconds("p2p", 2, n, 1e9, 1e-6) == pytest.approx(1e-6 + n / 1e9)
    assert collective_seconds("all_reduce", 1, n, 1e9, 1e-6) == 0


# -- Llama-3.1-70B at TP 8: derived by hand ----------------------------------------------------------

def test_llama31_70b_tp8_by_hand():
    c = cfg("llama3.1_70b.json")
    batch, prompt = 8, 4096
    s, ops = llm_inference(c, H100, prompt, 1, batch, LLMOptions(tp=8))
    d, layers = 8192, 80
    # per device: 1/8 of every attention (64 -> 8 q heads, 8 -> 1 KV head) and MLP (28672 -> 3584)
    attn = d * 8 * 128 * 2 + d * 1 * 128 * 2
    mlp = 3 * d * 3584
    norms = 2 * d                       # replicated on every rank
    embed = head = 16032 * d            # vocabulary-parallel: 128256 / 8
    weights = 2 * (layers * (attn + mlp + norms) + embed + head + d)
    assert s["weight_bytes_per_device"] == weights
    # KV per device: one KV head of 128, K and V, 80 layers, bf16, 8 sequences at context 4097
    kv = batch * 4097 * layers * 2 * 128 * 2
    assert s["kv_cache_bytes"] == kv
    # two ring all-reduces per layer of 8 tokens x 8192 x 2 B
    message = batch * d * 2
    allreduce = 2 * 7 * ALPHA + 2 * 7 / 8 * message / LINK
    gather = 7 * ALPHA + 7 / 8 * (batch * 8) / LINK   # vocabulary-parallel argmax: (value, index) per row
    assert s["decode_collective_s_per_step"] == pytest.approx(2 * layers * allreduce + gather)
    dec = ops[ops.phase == "decode"].set_index("op")
    assert dec.loc["attn.q_proj", "macs"] == layers * batch * d * 1024
    # decode is memory bound: weights read once + the KV cache at context 4096 + the collectives
    kv_read = batch * 4096 * layers * 2 * 128 * 2
    weights_read = weights - 2 * embed          # the embedding is a lookup, not read whole
    hand = (weights_read + kv_read) / BW + 2 * layers * allreduce + gather
    assert s["tpot_s"] == pytest.approx(hand, rel=0.01)
    assert s["devices_per_replica"] == 8 and s["memory_fits"]


def test_tp_halves_weights_and_adds_all_reduces():
    c = cfg("llama3_8b.json")
    one, _ = llm_inference(c, H100, 1024, 4, 4)
    two, _ = llm_inference(c, H100, 1024, 4, 4, LLMOptions(tp=2))
    assert two["weight_bytes_per_device"] < 0.51 * one["weight_bytes_per_device"]
    assert one["decode_collective_s_per_step"] == 0 < two["decode_collective_s_per_step"]
    assert two["tpot_s"] < one["tpot_s"]


def test_parallel_attention_one_all_reduce_per_layer():
    c = cfg("falcon_40b.json")   # parallel attention: attention and MLP outputs reduced together
    s, ops = llm_inference(c, H100, 512, 1, 1, LLMOptions(tp=8), allow_oversubscribe=True)
    assert ops[(ops.phase == "decode") & (ops.op == "tp.all_reduce")].layers.iloc[0] == 60


# -- Mixtral at EP 8: derived by hand ----------------------------------------------------------------

def test_mixtral_ep8_by_hand():
    c = cfg("mixtral_8x22b.json")
    batch = 64
    s, ops = llm_inference(c, H100, 1024, 1, batch, LLMOptions(ep=8))
    d, layers = 6144, 56
    dec = ops[ops.phase == "decode"].set_index("op")
    # attention data parallel: 64 / 8 = 8 sequences per device; all 64 tokens route k = 2 copies over
    # 8 devices of one expert each: 64 x 2 / 8 = 16 rows per device
    assert dec.loc["attn.q_proj", "macs"] == layers * 8 * d * d
    assert dec.loc["moe.experts.up_proj", "macs"] == layers * 16 * d * 16384
    # a device touches its one expert: 8 (1 - (6/8)^64) / 8 of an expert's weights per layer
    touched = (1 - (6 / 8) ** 64)
    assert dec.loc["moe.experts.up_proj", "dram_bytes"] == pytest.approx(
        layers * (touched * d * 16384 * 2 + (16 * d + 16 * 16384) * 2))
    # dispatch + combine: 8 tokens x 2 copies x 6144 x 2 B per device, all-to-all over 8
    message = 8 * 2 * d * 2
    a2a = 7 * ALPHA + 7 / 8 * message / LINK
    assert dec.loc["ep.all_to_all", "time_s"] == pytest.approx(2 * layers * a2a)
    # weights per device: attention, router and norms replicated, one expert per layer, embedding and head
    attn = 2 * d * d + 2 * d * 1024
    expert = 3 * d * 16384
    weights = 2 * (layers * (attn + d * 8 + expert + 2 * d) + 2 * 32000 * d + d)
    assert s["weight_bytes_per_device"] == weights
    assert s["devices_per_replica"] == 8 and s["memory_fits"]


# -- pipeline --------------------------------------------------------------------------------------

def test_pipeline_bubble_and_micro_batches():
    c = cfg("llama3_8b.json")
    one, _ = llm_inference(c, H100, 512, 2, 4)
    pp, _ = llm_inference(c, H100, 512, 2, 4, LLMOptions(pp=4, micro_batches=4))
    mb, _ = llm_inference(c, H100, 512, 2, 1)   # one micro-batch of one sequence
    send = ALPHA + 512 * 4096 * 2 / LINK
    # GPipe: (m + P - 1) stage times, stage = (one sequence's pass + 3 sends) / 4
    assert pp["ttft_s"] == pytest.approx((4 + 3) * (mb["ttft_s"] + 3 * send) / 4, rel=1e-9)
    assert pp["weight_bytes_per_device"] < 0.35 * one["weight_bytes_per_device"]
    assert pp["kv_cache_bytes"] == pytest.approx(one["kv_cache_bytes"] / 4)


def test_data_parallel_replicas_scale_system_throughput():
    c = cfg("llama3_8b.json")
    s, _ = llm_inference(c, H100, 256, 2, 2, LLMOptions(dp=3))
    assert s["system_tokens_per_s"] == pytest.approx(3 * s["tokens_per_s"]) and s["devices_total"] == 3


# -- memory capacity ---------------------------------------------------------------------------------

def test_too_big_refused_with_numbers():
    with pytest.raises(AccelsimError) as info:
        llm_inference(cfg("llama3.1_70b.json"), H100, 1024, 1, 1)
    msg = str(info.value)
    assert "weights 141.11 GB" in msg and "capacity 85.47 GB" in msg and "--allow-oversubscribe" in msg
    s, _ = llm_inference(cfg("llama3.1_70b.json"), H100, 1024, 1, 1, allow_oversubscribe=True)
    assert s["oversubscribed"] and s["memory_fits"] is False


def test_max_batch_is_the_largest_that_fits():
    c = cfg("llama2_7b.json")
    s, _ = llm_inference(c, H100, 4000, 96, 1)
    top = s["max_batch"]
    # hand: free = 79.6 GiB (hw/ideal_h100.yaml memory_gib; 85,469,849,190 B) - 13,476,831,232 B of weights; per sequence the KV cache at context 4096
    # (4096 x 524,288 B) + the largest prefill working set: the SwiGLU product reads gate and up and
    # writes one (3 x 4000 x 11008 x 2 B) + the residual stream (4000 x 4096 x 2 B)
    per_sequence = 4096 * 524_288 + 3 * 4000 * 11008 * 2 + 4000 * 4096 * 2
    assert top == (int(79.6 * 2 ** 30) - 13_476_831_232) // per_sequence == 29
    assert llm_inference(c, H100, 4000, 96, top)[0]["memory_fits"]
    with pytest.raises(AccelsimError, match=re.escape(f"largest batch that fits at context 4,096 (positions cached) "
                                                      f"is {top}")):
        llm_inference(c, H100, 4000, 96, top + 1)


# -- quantization ------------------------------------------------------------------------------------

def test_quantized_bytes_with_scales_and_zero_points():
    w4 = WeightQuant("w4a16", 128)
    assert w4.weight_bytes(4096, 4096, 2) == 4096 * 4096 / 2 + 32 * 4096 * (2 + 0.5)
    assert WeightQuant("w8a16", 64).weight_bytes(4096, 1024, 2) == 4096 * 1024 + 64 * 1024 * 3
    assert WeightQuant("w8a8").weight_bytes(4096, 1024, 2) == 4096 * 1024 + 4 * 1024
    assert WeightQuant("fp8", 128).weight_bytes(7168, 1536, 2) == 7168 * 1536 + 4 * 56 * 12


def test_w4a16_decode_reads_a_quarter_and_dequantizes():
    c = cfg("llama2_7b.json")
    base, b_ops = llm_inference(c, H100, 1024, 1, 1)
    q, q_ops = llm_inference(c, H100, 1024, 1, 1, LLMOptions(weights="w4a16"))
    d = q_ops[q_ops.phase == "decode"].set_index("op")
    up = 32 * (4096 * 11008 / 2 + 32 * 11008 * 2.5)
    assert d.loc["mlp.up_proj", "dram_bytes"] - 32 * (4096 + 11008) * 2 == up
    assert d.loc["mlp.up_proj", "vector_ops"] == 32 * 2 * 4096 * 11008      # (q - z) * s per weight
    assert d.loc["mlp.up_proj", "macs"] == 32 * 4096 * 11008                 # MACs unchanged, at fp16
    assert d.loc["lm_head", "dram_bytes"] == b_ops.set_index(["phase", "op"]).loc[("decode", "lm_head"), "dram_bytes"]
    assert q["weight_bytes_per_device"] < 0.3 * base["weight_bytes_per_device"]
    assert q["tpot_s"] < 0.4 * base["tpot_s"]


def test_w8a8_macs_at_int8_energy_and_peak():
    c = cfg("llama3_8b.json")
    _, f = llm_inference(c, H100, 2048, 1, 8)
    _, q = llm_inference(c, H100, 2048, 1, 8, LLMOptions(weights="w8a8"))
    key = ["phase", "op"]
    f, q = f.set_index(key), q.set_index(key)
    # compute-bound prefill GEMM: 2 x MACs at the 8-bit peak (1,979 TFLOP/s) plus quantize/rescale vector work
    row = q.loc[("prefill", "mlp.gate_proj")]
    tokens = 8 * 2048
    vec = 32 * (3 * tokens * 4096 + tokens * 14336)
    assert row["time_s"] == pytest.approx(2 * row["macs"] / 1979e12 + vec / 989e12)
    # MAC energy at int8 (0.3 pJ) instead of fp16 (1.5 pJ), hw/energy/horowitz_45nm.yaml
    mac_energy_f = f.loc[("prefill", "mlp.gate_proj"), "macs"] * 1.5e-12
    mac_energy_q = row["macs"] * 0.3e-12
    assert f.loc[("prefill", "mlp.gate_proj"), "energy_j"] - q.loc[("prefill", "mlp.gate_proj"), "energy_j"] \
        == pytest.approx(mac_energy_f - mac_energy_q, rel=0.05)


def test_fp8_from_quantization_config():
    c = cfg("deepseek_v3.json")
    s, ops = llm_inference(c, H100, 512, 1, 1, LLMOptions(tp=8, ep=8), allow_oversubscribe=True)
    assert s["weights"].startswith("fp8") and "128x128" in s["weights"]
    assert 80e9 < s["weight_bytes_per_device"] * 8 < 1.1 * 671e9
    override, _ = llm_inference(c, H100, 512, 1, 1, LLMOptions(tp=8, ep=8, weights="none"), allow_oversubscribe=True)
    assert override["weight_bytes_per_device"] > 1.8 * s["weight_bytes_per_device"]


# -- bad input ---------------------------------------------------------------------------------------

def _cli(args):
    return CliRunner().invoke(main, ["llm", *args])


def test_cli_bad_parallel_flags_name_flag_and_key(tmp_path):
    model = str(DATA / "llama3.1_70b.json")
    out = _cli(["--model", model, "--hw", "ideal_h100", "--prompt", "16", "--generate", "1", "--tp", "3"])
    assert out.exit_code == 1 and out.output.startswith("Error: ") and "Traceback" not in out.output
    assert "--tp 3 must divide the attention heads" in out.output and "llama3.1_70b.json" in out.output
    out = _cli(["--model", str(DATA / "llama3_8b.json"), "--hw", "ideal_h100", "--prompt", "16", "--generate", "1",
                "--ep", "2"])
    assert out.exit_code == 1 and "--ep 2 needs a mixture-of-experts model" in out.output
    out = _cli(["--model", str(DATA / "mistral_7b.json"), "--hw", "ideal_h100", "--prompt", "16", "--generate", "1",
                "--window", "40000"])
    assert out.exit_code == 1 and "--window 40000 is above the model's context limit" in out.output
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({**json.loads((DATA / "llama3_8b.json").read_text()), "tie_word_embeddings": "false"}))
    out = _cli(["--model", str(bad), "--hw", "ideal_h100", "--prompt", "16", "--generate", "1"])
    assert out.exit_code == 1 and "tie_word_embeddings: must be JSON true or false" in out.output


def test_cli_refuses_what_does_not_fit_and_marks_oversubscribed():
    args = ["--model", str(DATA / "llama3.1_70b.json"), "--hw", "ideal_h100", "--prompt", "64", "--generate", "1"]
    out = _cli(args)
    assert out.exit_code == 1 and "does not fit" in out.output and "capacity 85.47 GB" in out.output
    out = _cli(args + ["--allow-oversubscribe", "--format", "json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["oversubscribed"] is True
    out = _cli(args + ["--tp", "8", "--format", "json"])
    data = json.loads(out.stdout)
    assert out.exit_code == 0 and data["memory_fits"] and data["max_batch"] > 100 and data["devices_total"] == 8


def test_help_describes_new_options():
    out = CliRunner().invoke(main, ["llm", "--help"])
    for flag in ("--weights", "--group-size", "--tp", "--pp", "--ep", "--dp", "--micro-batches", "--collective",
                 "--allow-oversubscribe"):
        assert flag in out.output


# -- the per-step cost API ---------------------------------------------------------------------------

def test_step_cost_equals_llm_inference():
    from accelsim.llm.step import step_cost
    c = cfg("gemma2_9b.json")
    opts = LLMOptions(tp=2)
    s, ops = llm_inference(c, H100, 3000, 5, 4, opts)
    decode = step_cost(c, H100, "decode", 4, np.arange(3000, 3005), opts)
    assert decode.seconds.mean() == pytest.approx(s["tpot_s"], rel=1e-12)
    assert decode.energy_j.sum() / (4 * 5) == pytest.approx(s["energy_per_token_j"], rel=1e-12)
    assert decode.seconds[-1] == pytest.approx(s["last_step_s"], rel=1e-12)
    prefill = step_cost(c, H100, "prefill", 4, 3000, opts)
    assert prefill.seconds[0] == pytest.approx(s["ttft_s"], rel=1e-12)
    assert prefill.energy_j[0] == pytest.approx(s["prefill_energy_j"], rel=1e-12)
    with pytest.raises(AccelsimError, match="phase must be prefill or decode"):
        step_cost(c, H100, "train", 4, 10)


@pytest.mark.parametrize("kernels,launch", [(None, None), ("fused", "eager")])
def test_step_cost_on_a_gpu_equals_the_llm_command(kernels, launch):
    """On a GPU device step_cost runs the kernel model `accelsim llm --hw h200` runs (accelsim/llm/gpu.py):
    Llama-2-7B at TP 2, batch 8, prompt 512 + 4 tokens; the command's JSON against the API's steps."""
    from accelsim.llm.step import step_cost
    flags = [f for flag, value in (("--kernels", kernels), ("--launch", launch)) if value for f in (flag, value)]
    out = _cli(["--model", "llama2_7b", "--hw", "h200", "--prompt", "512", "--generate", "4", "--batch", "8",
                "--tp", "2", "--format", "json", *flags])
    assert out.exit_code == 0, out.output
    s = json.loads(out.stdout)
    opts = LLMOptions(tp=2)
    decode = step_cost("llama2_7b", "h200", "decode", 8, np.arange(512, 516), opts, kernels=kernels, launch=launch)
    prefill = step_cost("llama2_7b", "h200", "prefill", 8, 512, opts, kernels=kernels, launch=launch)
    assert prefill.seconds[0] == pytest.approx(s["ttft_s"], rel=1e-12)
    assert prefill.energy_j[0] == pytest.approx(s["prefill_energy_j"], rel=1e-12)
    assert prefill.collective_s[0] == pytest.approx(s["prefill_collective_s"], rel=1e-12)
    assert decode.seconds.mean() == pytest.approx(s["tpot_s"], rel=1e-12)
    assert (decode.seconds[0], decode.seconds[-1]) == pytest.approx((s["first_step_s"], s["last_step_s"]), rel=1e-12)
    assert decode.energy_j.sum() / (8 * 4) == pytest.approx(s["energy_per_token_j"], rel=1e-12)
    assert decode.collective_s.mean() == pytest.approx(s["decode_collective_s_per_step"], rel=1e-12)
    assert decode.dram_bytes.mean() == pytest.approx(s["decode_dram_bytes_per_step"], rel=1e-12)
    assert decode.collective_s.min() > 0 and s["tpot_s"] > 0


def test_step_cost_kernel_flags_are_for_gpus():
    from accelsim.llm.step import step_cost
    with pytest.raises(AccelsimError, match="kernels and launch apply to GPU devices"):
        step_cost("llama2_7b", H100, "decode", 1, 16, kernels="fused")
    with pytest.raises(AccelsimError, match="launch must be graph or eager"):
        step_cost("llama2_7b", "h200", "decode", 1, 16, launch="none")
    with pytest.raises(AccelsimError, match="kernels must be unfused or fused"):
        step_cost("llama2_7b", "h200", "decode", 1, 16, kernels="triton")


def test_pe_array_dram_capacity(tmp_path):
    import yaml
    data = yaml.safe_load((spec.ROOT / "hw" / "tpu_v1.yaml").read_text())
    data["dram"]["capacity_gib"] = 8            # TPU v1's 8 GiB DDR3 weight memory [jouppi2017]
    path = tmp_path / "tpu_8gib.yaml"
    path.write_text(yaml.safe_dump(data))
    # Llama-2-7B at int8: 6.74 GB of weights + 16 x 2304 positions x 32 x 2 x 4096 B of KV > 8 GiB
    with pytest.raises(AccelsimError, match=r"does not fit .* capacity 8\.59 GB \(batch 16\)"):
        llm_inference("llama2_7b", str(path), 2048, 256, 16)
    assert spec.load("hw", str(path)).dram_capacity_bytes == 8 * 2 ** 30
