"""Exact counts for the LLM zoo (workloads/llm/) and validation of its config files.

Parameter totals are ``sum(p.numel())`` over the Hugging Face model (tied weights once), the number
the model cards report: Llama-2-7B and the KV bytes per token are docs/llm.md's reference values;
the other totals are derived part by part below and agree with the published figures.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from accelsim.errors import AccelsimError, SpecError
from accelsim.llm import (attention_macs_per_token, attention_pairs, cached_tokens, decode_macs_per_token,
                          from_hf_config, kv_cache_bytes, kv_cache_bytes_per_token, linear_macs_per_token,
                          llm_config_from_dict, lm_head_macs_per_token, load_llm_config, param_counts,
                          prefill_macs, prefill_macs_per_token)
from accelsim.spec import ROOT

LLM_DIR = ROOT / "workloads" / "llm"
ZOO = sorted(p.stem for p in LLM_DIR.glob("*.yaml"))


def cfg(name):
    return load_llm_config(LLM_DIR / f"{name}.yaml")


# -- parameters -----------------------------------------------------------------------------------

TOTALS = {
    "llama2_7b": 6_738_415_616,      # docs/llm.md; HF model card
    "llama3_8b": 8_030_261_248,      # HF safetensors total
    "mistral_7b": 7_241_732_096,     # HF safetensors total
    "mixtral_8x7b": 46_702_792_704,  # HF safetensors total ("46.7B", arXiv:2401.04088 Sec. 1)
    "gpt2_small": 124_439_808,       # HF gpt2 (tied lm_head counted once)
    "bert_base": 109_482_240,        # HF BertModel incl. pooler, no MLM head
    "vit_b16": 86_567_656,           # HF ViTForImageClassification / timm vit_base_patch16_224
    "deepseek_v2_lite": 15_706_484_224,  # derived below; "15.7B" in arXiv:2405.04434 App. B.1
}


def test_zoo_is_complete():
    assert set(ZOO) == set(TOTALS)
    for name in ZOO:
        assert cfg(name).name == name


@pytest.mark.parametrize("name", sorted(TOTALS))
def test_total_parameters_exact(name):
    assert param_counts(cfg(name)).total == TOTALS[name]


def test_llama2_parts_by_hand():
    p = param_counts(cfg("llama2_7b"))
    assert p.embeddings == 32000 * 4096 == p.head            # untied embedding and lm_head
    assert p.attention == 32 * 4 * 4096 * 4096               # Q, K, V, O, no bias
    assert p.mlp == 32 * 3 * 4096 * 11008                    # gate, up, down
    assert p.norms == (2 * 32 + 1) * 4096                    # two RMSNorms per layer + final
    assert p.experts == p.active_experts == 0 and p.active == p.total


def test_llama3_gqa_attention():
    # Q and O 4096x4096, K and V 4096x(8*128)
    assert param_counts(cfg("llama3_8b")).attention == 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024)


def test_gpt2_tied_and_learned_positions():
    c = cfg("gpt2_small")
    p = param_counts(c)
    assert p.embeddings == 50257 * 768 + 1024 * 768
    assert p.head == 0
    layer = (768 * 2304 + 2304) + (768 * 768 + 768) + (768 * 3072 + 3072) + (3072 * 768 + 768) + 2 * 2 * 768
    assert p.total == p.embeddings + 12 * layer + 2 * 768 == 124_439_808
    untied = llm_config_from_dict({**_yaml(LLM_DIR / "gpt2_small.yaml"), "tied_embeddings": False})
    assert param_counts(untied).total == 124_439_808 + 50257 * 768


def test_bert_parts():
    p = param_counts(cfg("bert_base"))
    assert p.embeddings == (30522 + 512 + 2) * 768 + 2 * 768   # word, position, token type, LayerNorm
    assert p.head == 768 * 768 + 768                            # pooler only
    assert p.norms == 12 * 2 * 2 * 768                          # no final norm (post-LN)


def test_vit_parts():
    p = param_counts(cfg("vit_b16"))
    assert p.embeddings == 3 * 16 * 16 * 768 + 768 + 768 + 197 * 768  # patch conv+bias, [CLS], positions
    assert p.head == 768 * 1000 + 1000
    assert p.total - p.head == 85_798_656


def test_moe_active_parameters():
    mixtral = param_counts(cfg("mixtral_8x7b"))
    expert = 3 * 4096 * 14336
    assert mixtral.experts == 32 * 8 * expert and mixtral.active_experts == 32 * 2 * expert
    assert mixtral.mlp == 32 * 4096 * 8                          # routers only
    assert mixtral.active == 12_879_925_248                      # "12.9B active" (arXiv:2401.04088)
    ds = param_counts(cfg("deepseek_v2_lite"))
    embedding = 102400 * 2048
    assert ds.active == 2_661_150_208
    assert ds.active - embedding == 2_451_435_008                # "2.4B activated" (App. B.1)


def test_deepseek_v2_lite_by_hand():
    d, h = 2048, 16
    attn = d * h * 192 + d * (512 + 64) + 512 + 512 * h * (128 + 128) + h * 128 * d  # q, kv_a, norm, kv_b, o
    expert = 3 * d * 1408
    moe = 64 * expert + 2 * expert + d * 64
    dense = 3 * d * 10944
    total = 2 * 102400 * d + 27 * (attn + 2 * d) + dense + 26 * moe + d
    assert param_counts(cfg("deepseek_v2_lite")).total == total == 15_706_484_224


# -- KV cache -------------------------------------------------------------------------------------

def test_kv_bytes_per_token_reference():
    assert kv_cache_bytes_per_token(cfg("llama2_7b")) == 524_288          # docs/llm.md, fp16
    assert kv_cache_bytes_per_token(cfg("llama3_8b")) == 131_072          # docs/llm.md, fp16
    assert kv_cache_bytes_per_token(cfg("mixtral_8x7b")) == 32 * 2 * 8 * 128 * 2
    assert kv_cache_bytes_per_token(cfg("gpt2_small"), bytes_per_element=4) == 12 * 2 * 12 * 64 * 4


def test_kv_bytes_for_context_and_batch():
    assert kv_cache_bytes(cfg("llama2_7b"), 2048) == 2048 * 524_288 == 2**30
    assert kv_cache_bytes(cfg("llama3_8b"), 1000, batch=16, bytes_per_element=1) == 16 * 1000 * 65_536
    with pytest.raises(AccelsimError, match="batch"):
        kv_cache_bytes(cfg("llama2_7b"), 10, batch=0)
    with pytest.raises(AccelsimError, match="context"):
        cached_tokens(cfg("llama2_7b"), -1)


def test_sliding_window_caps_cache_and_attention():
    m = cfg("mistral_7b")
    assert cached_tokens(m, 1000) == 1000 and cached_tokens(m, 4096) == 4096 and cached_tokens(m, 32768) == 4096
    assert kv_cache_bytes(m, 32768) == kv_cache_bytes(m, 4096) == 4096 * 131_072
    assert kv_cache_bytes(m, 4000) == 4000 * 131_072
    assert attention_macs_per_token(m, 10_000) == attention_macs_per_token(m, 4096) == 32 * 32 * 256 * 4096
    # no window: keeps growing
    assert kv_cache_bytes(cfg("llama3_8b"), 32768) == 32768 * 131_072


def test_mla_cache_is_smaller_by_expected_factor():
    ds = cfg("deepseek_v2_lite")
    assert kv_cache_bytes_per_token(ds) == 27 * (512 + 64) * 2 == 31_104
    # the same model with MHA of 16 heads x 128 (DeepSeek-V2 Table 1: 2 n_h d_h l vs (d_c + d_h^R) l)
    mha = llm_config_from_dict({k: v for k, v in _yaml(LLM_DIR / "deepseek_v2_lite.yaml").items()
                                if k not in ("kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim")}
                               | {"head_dim": 128})
    assert kv_cache_bytes_per_token(mha) == 27 * 2 * 16 * 128 * 2
    assert kv_cache_bytes_per_token(mha) * 576 == kv_cache_bytes_per_token(ds) * 4096   # factor 4096/576 = 7.11
    # Table 1: MLA ~ 4.5 d_h per layer (d_c = 4 d_h, d_h^R = d_h / 2)
    assert 512 + 64 == 4.5 * 128


# -- MACs -----------------------------------------------------------------------------------------

LLAMA2_PLIN = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)


def test_llama2_decode_macs_by_hand():
    c = cfg("llama2_7b")
    assert linear_macs_per_token(c) == LLAMA2_PLIN == 6_476_005_376
    assert lm_head_macs_per_token(c) == 4096 * 32000
    assert decode_macs_per_token(c, 2048) == LLAMA2_PLIN + 4096 * 32000 + 32 * 32 * 2 * 128 * 2048


def test_llama2_decode_roofline_reference():
    # docs/llm.md: batch 1, context 2048, fp16: 14.29 GB read per step, 7.144 ms at 2.0e12 B/s (memory bound)
    c = cfg("llama2_7b")
    weight_bytes = 2 * (linear_macs_per_token(c) + lm_head_macs_per_token(c))
    step_bytes = weight_bytes + kv_cache_bytes(c, 2048)
    assert step_bytes == 14_287_896_576
    flops = 2 * decode_macs_per_token(c, 2048)
    for peak, bandwidth, ms in ((312e12, 2.0e12, 7.144), (989e12, 3.35e12, 4.265)):
        assert max(flops / peak, step_bytes / bandwidth) * 1e3 == pytest.approx(ms, rel=1e-3)


def test_moe_macs_count_active_experts_only():
    c = cfg("mixtral_8x7b")
    assert linear_macs_per_token(c) == 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024 + 4096 * 8 + 2 * 3 * 4096 * 14336)
    ds = cfg("deepseek_v2_lite")
    attn = 2048 * 16 * 192 + 2048 * 576 + 512 * 16 * 256 + 16 * 128 * 2048
    expert = 3 * 2048 * 1408
    assert linear_macs_per_token(ds) == 27 * attn + 3 * 2048 * 10944 + 26 * (2048 * 64 + (2 + 6) * expert)
    # MLA attention over nope+rope (192) for scores and v (128) for context
    assert attention_macs_per_token(ds, 100) == 27 * 16 * (192 + 128) * 100


def test_prefill_conventions():
    c = cfg("llama2_7b")
    n = 512
    per_pair = 32 * 32 * 256
    dense = prefill_macs(c, n, causal=False)
    causal = prefill_macs(c, n, causal=True)
    assert dense == n * LLAMA2_PLIN + per_pair * n * n + 4096 * 32000
    assert dense - causal == per_pair * (n * n - n * (n + 1) // 2)
    assert prefill_macs(c, n, lm_head_all_tokens=True) - causal == (n - 1) * 4096 * 32000
    assert prefill_macs_per_token(c, n) == causal / n
    assert prefill_macs(c, 0) == 0
    # a prefill of one token is one decode step at context 1
    assert prefill_macs(c, 1) == decode_macs_per_token(c, 1)


def test_attention_pairs_with_window():
    m = cfg("mistral_7b")
    assert attention_pairs(m, 4096) == 4096 * 4097 // 2
    assert attention_pairs(m, 5000) == 4096 * 4097 // 2 + 904 * 4096
    assert attention_pairs(m, 5000) == sum(min(i, 4096) for i in range(1, 5001))
    assert attention_pairs(m, 5000, causal=False) == 5000 * 4096
    assert attention_pairs(cfg("llama2_7b"), 5000, causal=False) == 5000 * 5000


# -- Hugging Face config.json ---------------------------------------------------------------------

HF_LLAMA2 = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
             "hidden_size": 4096, "intermediate_size": 11008, "max_position_embeddings": 4096,
             "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
             "rms_norm_eps": 1e-05, "tie_word_embeddings": False, "vocab_size": 32000}
HF_MIXTRAL = {"model_type": "mixtral", "hidden_act": "silu", "hidden_size": 4096, "intermediate_size": 14336,
              "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
              "num_local_experts": 8, "num_experts_per_tok": 2, "sliding_window": None,
              "tie_word_embeddings": False, "vocab_size": 32000}
HF_DEEPSEEK_V2_LITE = {"model_type": "deepseek_v2", "hidden_act": "silu", "hidden_size": 2048,
                       "intermediate_size": 10944, "moe_intermediate_size": 1408, "num_attention_heads": 16,
                       "num_hidden_layers": 27, "num_key_value_heads": 16, "n_routed_experts": 64,
                       "n_shared_experts": 2, "num_experts_per_tok": 6, "first_k_dense_replace": 1,
                       "moe_layer_freq": 1, "q_lora_rank": None, "kv_lora_rank": 512, "qk_rope_head_dim": 64,
                       "qk_nope_head_dim": 128, "v_head_dim": 128, "tie_word_embeddings": False,
                       "vocab_size": 102400}
HF_GPT2 = {"model_type": "gpt2", "activation_function": "gelu_new", "n_ctx": 1024, "n_embd": 768,
           "n_head": 12, "n_inner": None, "n_layer": 12, "n_positions": 1024, "vocab_size": 50257}
HF_BERT = {"model_type": "bert", "hidden_act": "gelu", "hidden_size": 768, "intermediate_size": 3072,
           "max_position_embeddings": 512, "num_attention_heads": 12, "num_hidden_layers": 12,
           "type_vocab_size": 2, "vocab_size": 30522}
HF_MISTRAL = {"model_type": "mistral", "hidden_act": "silu", "hidden_size": 4096, "intermediate_size": 14336,
              "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
              "sliding_window": 4096, "tie_word_embeddings": False, "vocab_size": 32000}


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


@pytest.mark.parametrize("hf, zoo", [(HF_LLAMA2, "llama2_7b"), (HF_MIXTRAL, "mixtral_8x7b"),
                                     (HF_DEEPSEEK_V2_LITE, "deepseek_v2_lite"), (HF_GPT2, "gpt2_small"),
                                     (HF_BERT, "bert_base"), (HF_MISTRAL, "mistral_7b")])
def test_from_hf_config_matches_zoo(tmp_path, hf, zoo):
    imported = from_hf_config(_write(tmp_path, hf))
    ours = cfg(zoo)
    assert param_counts(imported) == param_counts(ours)
    assert kv_cache_bytes_per_token(imported) == kv_cache_bytes_per_token(ours)
    assert imported.sliding_window == ours.sliding_window
    assert decode_macs_per_token(imported, 5000) == decode_macs_per_token(ours, 5000)


def test_from_hf_config_missing_keys_named(tmp_path):
    data = {k: v for k, v in HF_LLAMA2.items() if k not in ("num_hidden_layers", "intermediate_size")}
    with pytest.raises(SpecError) as info:
        from_hf_config(_write(tmp_path, data))
    message = str(info.value)
    assert "config.json: num_hidden_layers: missing key" in message
    assert "intermediate_size: missing key" in message
    with pytest.raises(AccelsimError, match="model_type: 'brand_new_arch' is not a supported family"):
        from_hf_config(_write(tmp_path, {**HF_LLAMA2, "model_type": "brand_new_arch"}))


def test_from_hf_config_bad_files(tmp_path):
    with pytest.raises(AccelsimError, match="file not found"):
        from_hf_config(tmp_path / "nope.json")
    with pytest.raises(AccelsimError, match="not a readable JSON"):
        from_hf_config(_write(tmp_path, "{not json"))
    with pytest.raises(AccelsimError, match="JSON object"):
        from_hf_config(_write(tmp_path, "[1, 2]"))
    with pytest.raises(AccelsimError, match="moe_layer_freq: must be >= 1"):
        from_hf_config(_write(tmp_path, {**HF_DEEPSEEK_V2_LITE, "moe_layer_freq": 0}))


def test_from_hf_config_qwen2_unused_window(tmp_path):
    data = {**HF_LLAMA2, "model_type": "qwen2", "sliding_window": 4096, "use_sliding_window": False}
    assert from_hf_config(_write(tmp_path, data)).sliding_window is None


# -- validation of workloads/llm/*.yaml -----------------------------------------------------------

def _yaml(path):
    import yaml
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


BASE = {"name": "tiny", "num_layers": 2, "hidden_size": 64, "num_heads": 4, "intermediate_size": 256,
        "activation": "swiglu", "vocab_size": 100}


def _problems(data):
    with pytest.raises(SpecError) as info:
        llm_config_from_dict(data, "m.yaml")
    return str(info.value)


def test_base_is_valid_and_defaults():
    c = llm_config_from_dict(BASE, "m.yaml")
    assert c.head_dim == 16 and c.num_kv_heads == 4 and c.norm == "rmsnorm" and not c.norm_bias
    assert llm_config_from_dict({**BASE, "norm": "layernorm"}).norm_bias


@pytest.mark.parametrize("change, expected", [
    ({"hidden_sise": 64}, "m.yaml: hidden_sise: unknown key (did you mean 'hidden_size'?)"),
    ({"activation": "swiglo"}, "m.yaml: activation: must be one of gelu, swiglu, geglu (got 'swiglo') (did you mean 'swiglu'?)"),
    ({"num_kv_heads": 3}, "m.yaml: num_kv_heads: must divide num_heads=4 (got 3)"),
    ({"hidden_size": 66}, "m.yaml: head_dim: required when hidden_size=66 is not a multiple of num_heads=4"),
    ({"num_layers": 0}, "m.yaml: num_layers: must be >= 1 (got 0)"),
    ({"num_heads": "four"}, "m.yaml: num_heads: must be an integer (got 'four')"),
    ({"position_embedding": "learned"}, "m.yaml: max_position: required with position_embedding: learned"),
    ({"tied_embeddings": True, "lm_head": False}, "m.yaml: tied_embeddings: needs lm_head: true"),
    ({"num_experts": 4}, "m.yaml: experts_per_token: required (>= 1) when num_experts > 0"),
    ({"num_experts": 4, "experts_per_token": 5}, "m.yaml: experts_per_token: must be <= num_experts=4 (got 5)"),
    ({"experts_per_token": 2}, "m.yaml: experts_per_token: only meaningful with num_experts > 0"),
    ({"num_experts": 4, "experts_per_token": 1, "first_dense_layers": 3},
     "m.yaml: first_dense_layers: must be <= num_layers=2 (got 3)"),
    ({"kv_lora_rank": 32}, "m.yaml: qk_rope_head_dim: required with kv_lora_rank (MLA attention)"),
    ({"v_head_dim": 16}, "m.yaml: v_head_dim: only meaningful with kv_lora_rank"),
    ({"sliding_window": 0}, "m.yaml: sliding_window: must be >= 1 (got 0)"),
    ({"norm_bias": "yes"}, "m.yaml: norm_bias: must be true or false (got 'yes')"),
    ({"patch_size": 16}, "m.yaml: image_size: patch_size and image_size go together"),
    ({"patch_size": 16, "image_size": 100}, "m.yaml: image_size: must be a multiple of patch_size=16 (got 100)"),
    ({"vocab_size": None}, "m.yaml: vocab_size: has no value"),
])
def test_bad_values_name_file_and_key(change, expected):
    assert expected in _problems({**BASE, **change})


def test_missing_keys_and_all_problems_at_once():
    data = {k: v for k, v in BASE.items() if k not in ("num_layers", "vocab_size")}
    data["num_kv_heads"] = 3
    data["windw"] = 4
    message = _problems(data)
    assert message.startswith("4 problem(s) found")
    for part in ("m.yaml: num_layers: required key is missing", "m.yaml: vocab_size: required key is missing",
                 "m.yaml: num_kv_heads: must divide", "m.yaml: windw: unknown key"):
        assert part in message


def test_not_a_mapping_and_bad_file(tmp_path):
    assert "m.yaml: must be a mapping" in _problems([1, 2])
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nnum_layers: [\n", encoding="utf-8")
    with pytest.raises(AccelsimError, match="bad.yaml: not valid YAML"):
        load_llm_config(bad)
    typo = tmp_path / "typo.yaml"
    typo.write_text("\n".join(f"{k}: {v}" for k, v in {**BASE, "num_kv_head": 2}.items()), encoding="utf-8")
    with pytest.raises(SpecError, match=r"typo\.yaml: num_kv_head: unknown key \(did you mean 'num_kv_heads'\?\)"):
        load_llm_config(typo)
