"""Strict Hugging Face config import: every family's exact parameter count, computed here by hand.

The configs are the published ``config.json`` files of public checkpoints (tests/data/hf_configs/,
README there names each Hugging Face repository). Each expected count below is written out module by
module from the family's architecture (the ``transformers`` modeling code of that family), with no
call into accelsim, and equals the published total where one is published.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from accelsim.errors import AccelsimError
from accelsim.llm import from_hf_config, kv_cache_bytes, kv_cache_bytes_per_token, param_counts
from accelsim.llm.counts import attention_macs_per_token, linear_macs_per_token
from accelsim.llm.hf import NO_COST, hf_config_from_dict

DATA = Path(__file__).parent / "data" / "hf_configs"


def load(name):
    return from_hf_config(DATA / name)


def raw(name):
    return json.loads((DATA / name).read_text())


# -- independent counts, module by module ------------------------------------------------------------

def llama_like(v, d, layers, heads, kv, hd, ff, tied=False, qkv_bias=False, qk_norm=False, norms=2):
    attn = d * heads * hd * 2 + d * kv * hd * 2 + (heads + 2 * kv) * hd * qkv_bias + 2 * hd * qk_norm
    layer = attn + 3 * d * ff + norms * d
    return v * d * (1 if tied else 2) + layers * layer + d


EXPECTED = {
    # docs/llm.md / Llama-2 paper: 6.74B
    "llama2_7b.json": llama_like(32000, 4096, 32, 32, 32, 128, 11008),
    "llama3_8b.json": llama_like(128256, 4096, 32, 32, 8, 128, 14336),
    "llama3.1_70b.json": llama_like(128256, 8192, 80, 64, 8, 128, 28672),
    "mistral_7b.json": llama_like(32000, 4096, 32, 32, 8, 128, 14336),
    # Qwen2: q, k, v biases (o_proj without)
    "qwen2.5_7b.json": llama_like(152064, 3584, 28, 28, 4, 128, 18944, qkv_bias=True),
    # Qwen3: per-head RMSNorm on q and k (head_dim each)
    "qwen3_8b.json": llama_like(151936, 4096, 36, 32, 8, 128, 12288, qk_norm=True),
    # Phi-3: fused qkv_proj (d x 3d) and gate_up_proj (d x 2ff) hold the same weights as split ones
    "phi3_mini_4k.json": 32064 * 3072 * 2 + 32 * (3072 * 3 * 3072 + 3072 * 3072 + 3072 * 2 * 8192
                                                   + 8192 * 3072 + 2 * 3072) + 3072,
    # Gemma: GeGLU (3 matrices), tied embedding
    "gemma_7b.json": llama_like(256000, 3072, 28, 16, 16, 256, 24576, tied=True),
    # Gemma-2: four RMSNorms per layer (input, post-attention, pre- and post-feedforward), tied
    "gemma2_2b.json": llama_like(256000, 2304, 26, 8, 4, 256, 9216, tied=True, norms=4),
    "gemma2_9b.json": llama_like(256000, 3584, 42, 16, 8, 256, 14336, tied=True, norms=4),
    # Gemma-3: + per-head q/k norms
    "gemma3_1b.json": llama_like(262144, 1152, 26, 4, 1, 256, 6912, tied=True, norms=4, qk_norm=True),
    # OLMo: non-parametric LayerNorm (no weights at all)
    "olmo_7b.json": 50304 * 4096 * 2 + 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008),
    # Falcon-7B: word embeddings (tied lm_head), fused qkv (71 q heads + 1 k + 1 v of 64), dense,
    # 4x MLP, one LayerNorm (weight + bias) per layer, final LayerNorm
    "falcon_7b.json": 65024 * 4544 + 32 * (4544 * 73 * 64 + 4544 * 4544 + 2 * 4544 * 4 * 4544 + 2 * 4544) + 2 * 4544,
    # Falcon-40B: new decoder architecture, 8 KV groups, ln_attn and ln_mlp
    "falcon_40b.json": 65024 * 8192 + 60 * (8192 * (128 + 16) * 64 + 8192 * 8192 + 2 * 8192 * 32768 + 4 * 8192)
    + 2 * 8192,
    # GPT-2 small: c_attn/c_proj/c_fc/c_proj with biases, ln_1/ln_2, learned positions, tied
    "gpt2.json": 50257 * 768 + 1024 * 768 + 12 * ((768 * 2304 + 2304) + (768 * 768 + 768) + (768 * 3072 + 3072)
                                                  + (3072 * 768 + 768) + 4 * 768) + 2 * 768,
    # GPT-J: q/k/v/out no bias, fc_in/fc_out with bias, ln_1 only, lm_head with bias, untied
    "gptj_6b.json": 50400 * 4096 + 28 * (4 * 4096 * 4096 + (4096 * 16384 + 16384) + (16384 * 4096 + 4096)
                                         + 2 * 4096) + 2 * 4096 + (4096 * 50400 + 50400),
    # GPT-NeoX-20B: fused qkv + dense with biases, MLP with biases, two LayerNorms, untied embed_out
    "gpt_neox_20b.json": 50432 * 6144 * 2 + 44 * ((6144 * 18432 + 18432) + (6144 * 6144 + 6144)
                                                  + (6144 * 24576 + 24576) + (24576 * 6144 + 6144) + 4 * 6144)
    + 2 * 6144,
    # Mixtral-8x22B: 8 SwiGLU experts per layer, router d x 8
    "mixtral_8x22b.json": 32000 * 6144 * 2 + 56 * (2 * 6144 * 6144 + 2 * 6144 * 1024 + 6144 * 8
                                                   + 8 * 3 * 6144 * 16384 + 2 * 6144) + 6144,
    # Qwen1.5-MoE: 60 experts of 1408, one shared expert of 5632 with a d x 1 sigmoid gate, qkv bias
    "qwen1.5_moe_a2.7b.json": 151936 * 2048 * 2 + 24 * (4 * 2048 * 2048 + 3 * 2048 + 60 * 3 * 2048 * 1408
                                                         + 3 * 2048 * 5632 + 2048 + 2048 * 60 + 2 * 2048) + 2048,
    # Qwen3-30B-A3B: 128 experts of 768, no shared expert, q/k norms
    "qwen3_30b_a3b.json": 151936 * 2048 * 2 + 48 * (2 * 2048 * 4096 + 2 * 2048 * 512 + 2 * 128
                                                    + 128 * 3 * 2048 * 768 + 2048 * 128 + 2 * 2048) + 2048,
    # DeepSeek-V2-Lite: MLA (q_proj, kv_a 512+64, kv_a norm, kv_b, o), 1 dense layer, 26 MoE layers
    # of 64 routed + 2 shared experts of 1408
    "deepseek_v2_lite.json": 102400 * 2048 * 2 + 27 * (2048 * 16 * 192 + 2048 * 576 + 512 + 512 * 16 * 256
                                                       + 16 * 128 * 2048 + 2 * 2048)
    + 3 * 2048 * 10944 + 26 * (66 * 3 * 2048 * 1408 + 2048 * 64) + 2048,
    # DeepSeek-V3: q_a 1536 (+ norm), q_b, kv_a, kv_a norm, kv_b, o; 3 dense layers, 58 MoE layers of
    # 256 routed + 1 shared experts of 2048, router 7168 x 256 + e_score_correction_bias 256
    "deepseek_v3.json": 129280 * 7168 * 2 + 61 * (7168 * 1536 + 1536 + 1536 * 128 * 192 + 7168 * 576 + 512
                                                  + 512 * 128 * 256 + 128 * 128 * 7168 + 2 * 7168)
    + 3 * 3 * 7168 * 18432 + 58 * (257 * 3 * 7168 * 2048 + 7168 * 256 + 256) + 7168,
    # Mamba-130m: in_proj 768 x 3072, conv1d 1536 x 4 + bias, x_proj 1536 x (48 + 32), dt_proj 48 x 1536
    # + bias, A_log 1536 x 16, D 1536, out_proj 1536 x 768, one RMSNorm; tied
    "mamba_130m.json": 50280 * 768 + 24 * (768 * 3072 + 1536 * 4 + 1536 + 1536 * 80 + 48 * 1536 + 1536
                                           + 1536 * 16 + 1536 + 1536 * 768 + 768) + 768,
    # Mamba-2 (Codestral): in_proj 4096 x (2*8192 + 2*8*128 + 128), conv1d (8192 + 2048) x 4 + bias,
    # dt_bias, A_log, D per head, gated RMSNorm 8192, out_proj 8192 x 4096, one RMSNorm; untied
    "mamba2_codestral_7b.json": 32768 * 4096 * 2 + 64 * (4096 * 18560 + 10240 * 5 + 3 * 128 + 8192
                                                        + 8192 * 4096 + 4096) + 4096,
}

PUBLISHED = {   # totals published on the model cards / in the papers (and README of tests/data/hf_configs)
    "llama2_7b.json": 6_738_415_616, "llama3.1_70b.json": 70_553_706_496, "qwen2.5_7b.json": 7_615_616_512,
    "phi3_mini_4k.json": 3_821_079_552, "mixtral_8x22b.json": 140_620_634_112, "gemma2_9b.json": 9_241_705_984,
    "gemma2_2b.json": 2_614_341_888, "gemma3_1b.json": 999_885_952, "falcon_7b.json": 6_921_720_704,
    "gptj_6b.json": 6_050_882_784, "gpt_neox_20b.json": 20_554_567_680, "gpt2.json": 124_439_808,
    "deepseek_v3.json": 671_026_419_200, "mamba_130m.json": 129_135_360, "qwen3_30b_a3b.json": 30_532_122_624,
}


def test_every_config_has_a_count():
    assert sorted(p.name for p in DATA.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_family_parameters_exact(name):
    assert param_counts(load(name)).total == EXPECTED[name]
    if name in PUBLISHED:
        assert EXPECTED[name] == PUBLISHED[name]


# -- what each family's keys change -------------------------------------------------------------------

def test_gemma2_reads_geglu_tied_and_alternating_windows():
    c = load("gemma2_9b.json")
    assert c.activation == "geglu" and c.tied_embeddings and c.embedding_scale
    assert c.sliding_window == 4096 and c.window_layers == 21          # even layers local, odd global
    assert c.attention_softcap == 50.0 and c.final_softcap == 30.0 and c.norms_per_layer == 4
    per_layer = 2 * 8 * 256 * 2                                         # K and V, 8 heads x 256, bf16
    # at 8192 tokens: 21 local layers hold 4096 positions, 21 global ones 8192
    assert kv_cache_bytes(c, 8192) == per_layer * (21 * 4096 + 21 * 8192)
    assert attention_macs_per_token(c, 8192) == 16 * 512 * (21 * 4096 + 21 * 8192)


def test_gemma3_pattern_and_qk_norm():
    c = load("gemma3_1b.json")
    assert c.window_layers == 26 - 26 // 6 == 22 and c.qk_norm and c.sliding_window == 512
    assert c.attention_softcap is None


def test_falcon_multi_query_and_parallel_attention():
    c = load("falcon_7b.json")
    assert c.num_kv_heads == 1 and c.parallel_attention and c.norms_per_layer == 1 and c.tied_embeddings
    assert kv_cache_bytes_per_token(c) == 32 * 2 * 1 * 64 * 2           # MQA: 71x smaller than MHA
    c40 = load("falcon_40b.json")
    assert c40.num_kv_heads == 8 and c40.norms_per_layer == 2


def test_gptj_and_neox_partial_rotary():
    assert load("gptj_6b.json").rotary_dim == 64
    assert load("gpt_neox_20b.json").rotary_dim == 96 // 4
    assert load("gpt_neox_20b.json").parallel_attention


def test_moe_layers_and_shared_experts():
    q = load("qwen1.5_moe_a2.7b.json")
    assert q.num_moe_layers == 24 and q.shared_intermediate_size == 5632 and q.shared_expert_gate
    # active: attention + router + shared expert (+ gate) + 4 routed experts of 1408, per layer
    assert linear_macs_per_token(q) == 24 * (4 * 2048 * 2048 + 2048 * 60 + 3 * 2048 * 5632 + 2048
                                             + 4 * 3 * 2048 * 1408)
    data = {**raw("qwen3_30b_a3b.json"), "mlp_only_layers": [0, 4], "decoder_sparse_step": 2}
    c = hf_config_from_dict(data, "q.json")
    # sparse iff not in mlp_only_layers and (i + 1) % 2 == 0: i = 1, 3, ..., 47 (24 layers), none listed
    assert c.num_moe_layers == 24
    data["mlp_only_layers"] = [1, 3]
    assert hf_config_from_dict(data, "q.json").num_moe_layers == 22


def test_deepseek_v3_fp8_and_first_dense():
    c = load("deepseek_v3.json")
    assert c.weight_format == "fp8" and c.weight_block == 128
    assert c.num_moe_layers == 58 and c.first_dense_layers == 3 and c.router_bias
    assert kv_cache_bytes_per_token(c) == 61 * 576 * 2


def test_mamba_has_no_kv_cache():
    for name in ("mamba_130m.json", "mamba2_codestral_7b.json"):
        c = load(name)
        assert c.is_ssm and kv_cache_bytes_per_token(c) == 0
    m = load("mamba_130m.json")
    assert linear_macs_per_token(m) == 24 * (768 * 3072 + 1536 * 80 + 48 * 1536 + 1536 * 768)


def test_qwen2_window_only_when_used():
    c = load("qwen2.5_7b.json")
    assert c.sliding_window is None and c.attention_bias and not c.out_bias
    used = hf_config_from_dict({**raw("qwen2.5_7b.json"), "use_sliding_window": True, "max_window_layers": 20,
                                "sliding_window": 4096}, "q.json")
    assert used.sliding_window == 4096 and used.window_layers == 8


# -- strictness -----------------------------------------------------------------------------------------

def _refused(data, file="c.json"):
    with pytest.raises(AccelsimError) as info:
        hf_config_from_dict(data, file)
    return str(info.value)


def test_string_booleans_and_float_integers_are_errors():
    llama = raw("llama3_8b.json")
    msg = _refused({**llama, "tie_word_embeddings": "false"})
    assert "c.json: tie_word_embeddings: must be JSON true or false (got \"false\")" in msg
    msg = _refused({**llama, "num_hidden_layers": 32.0, "hidden_size": "4096"})
    assert "num_hidden_layers: must be a JSON integer (got 32.0)" in msg
    assert "hidden_size: must be a JSON integer (got \"4096\")" in msg and "2 problem(s)" in msg


def test_unknown_cost_keys_refused_by_name():
    msg = _refused({**raw("llama3_8b.json"), "parallel_attn": True})
    assert "c.json: parallel_attn: unknown key for model_type 'llama'" in msg
    msg = _refused({**raw("mixtral_8x22b.json"), "num_local_expert": 8})
    assert "num_local_expert" in msg and "did you mean 'num_local_experts'" in msg
    assert "clip_qkv" in _refused({**raw("olmo_7b.json"), "clip_qkv": 8.0})
    assert "gemma3_text" in _refused({"model_type": "gemma3", "text_config": {}})


def test_no_cost_keys_have_reasons():
    assert all(isinstance(v, str) and v for v in NO_COST.values())


@pytest.mark.parametrize("change, expected", [
    ({"num_key_value_heads": 5}, "mistral.json: num_key_value_heads: must divide num_heads=32 (got 5)"),
    ({"num_attention_heads": 30}, "head_dim: required when hidden_size=4096 is not a multiple of num_heads=30"),
    ({"sliding_window": 65536}, "sliding_window: must be <= max_position=32768 (got 65536)"),
])
def test_contradictions_named(change, expected):
    assert expected in _refused({**raw("mistral_7b.json"), **change}, "mistral.json")


def test_experts_per_token_above_experts():
    msg = _refused({**raw("mixtral_8x22b.json"), "num_experts_per_tok": 9}, "mixtral.json")
    assert "mixtral.json: num_experts_per_tok: must be <= num_experts=8 (got 9)" in msg


def test_quantization_config_checked():
    base = raw("llama3_8b.json")
    c = hf_config_from_dict({**base, "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128,
                                                              "zero_point": True, "version": "gemm"}}, "a.json")
    assert c.weight_format == "w4a16" and c.weight_block == 128
    assert "quant_method" in _refused({**base, "quantization_config": {"quant_method": "bitnet"}})
    # bitsandbytes as a Hub config has it: one problem naming the method, not one per key of it
    bnb = _refused({**base, "quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": True,
                                                     "bnb_4bit_quant_type": "nf4"}}, "b.json")
    assert bnb == ("b.json: quantization_config.quant_method: 'bitsandbytes' is not modelled; supported: fp8, awq, "
                   "gptq (or remove quantization_config and give --weights)")
    # a key AWQ does not have is named as quantization_config's, not as an unknown key of model_type None
    extra = _refused({**base, "quantization_config": {"quant_method": "awq", "bits": 4, "new_knob": 1}}, "e.json")
    assert "e.json: quantization_config.new_knob: unknown key of quantization_config (quant_method 'awq')" in extra
    assert "model_type None" not in extra
    assert "weight_block_size" in _refused({**base, "quantization_config": {"quant_method": "fp8",
                                                                             "weight_block_size": [128, 64]}})


@pytest.mark.parametrize("name", ["gemma2_9b.json", "qwen1.5_moe_a2.7b.json", "gemma3_1b.json"])
def test_lowered_gemms_equal_counts(name):
    from accelsim.llm.counts import decode_macs_per_token, prefill_macs
    from accelsim.llm.lower import decode_workload, prefill_workload, total_macs
    c = load(name)
    assert total_macs(*decode_workload(c, 9000, batch=2)) == 2 * decode_macs_per_token(c, 9000)
    assert total_macs(*prefill_workload(c, 5000)) == prefill_macs(c, 5000, causal=False)


def test_whole_inference_runs_for_every_family():
    from accelsim.llm import llm_inference
    from accelsim.llm.counts import decode_macs_per_token
    for path in sorted(DATA.glob("*.json")):
        c = from_hf_config(path)
        summary, ops = llm_inference(c, "ideal_h100", 1000, 4, 1, allow_oversubscribe=True)
        assert summary["ttft_s"] > 0 and summary["tpot_s"] > 0
        if not c.is_mla:   # MLA decodes absorbed by default (other MACs than the plain counts)
            expected = sum(decode_macs_per_token(c, t) for t in range(1000, 1004)) / 4
            assert ops[ops.phase == "decode"].macs.sum() == pytest.approx(expected, rel=1e-12)


def test_architectures_must_be_a_causal_lm_head():
    msg = _refused({**raw("qwen2.5_7b.json"), "architectures": ["Qwen2ForSequenceClassification"]})
    assert "architectures: 'Qwen2ForSequenceClassification': only causal language-model heads" in msg


def test_layer_types_lists_sliding_layers():
    qwen = {**raw("qwen3_8b.json"), "layer_types": ["full_attention"] * 36}
    assert hf_config_from_dict(qwen, "q.json").sliding_window is None
    used = {**qwen, "use_sliding_window": True, "sliding_window": 4096,
            "layer_types": ["sliding_attention"] * 30 + ["full_attention"] * 6}
    assert hf_config_from_dict(used, "q.json").window_layers == 30
    gemma = {**raw("gemma2_2b.json"), "layer_types": ["sliding_attention", "full_attention"] * 13}
    assert hf_config_from_dict(gemma, "g.json").window_layers == 13
    assert "layer_types: must list num_hidden_layers=26" in _refused({**gemma, "layer_types": ["full_attention"]})
