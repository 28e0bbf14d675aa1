"""LLM configs lowered to GEMM workloads (accelsim/llm/lower.py).

MACs of the lowered workloads (layer MACs x repeats) equal the exact counts of accelsim.llm.counts:
prefill = batch * prefill_macs(causal=False) (dense scores, lm_head on the last token unless
asked otherwise), one decode step = batch * decode_macs_per_token.
"""
from __future__ import annotations

import pytest

from accelsim.errors import AccelsimError
from accelsim.llm import counts, load_llm_config
from accelsim.llm.lower import (decode_workload, gemm, prefill_workload, resolve_llm_config,
                                total_macs)
from accelsim.spec import ROOT

LLM_DIR = ROOT / "workloads" / "llm"
MATCHED = ["llama2_7b", "mistral_7b", "mixtral_8x7b", "deepseek_v2_lite"]
ZOO = sorted(p.stem for p in LLM_DIR.glob("*.yaml"))


def cfg(name):
    return load_llm_config(LLM_DIR / f"{name}.yaml")


def layers(workload):
    return {layer.name: layer for layer in workload.layers}


@pytest.mark.parametrize("name", MATCHED)
@pytest.mark.parametrize("tokens,batch", [(1, 1), (7, 1), (33, 3), (64, 2)])
def test_prefill_macs_equal_counts(name, tokens, batch):
    c = cfg(name)
    workload, repeats = prefill_workload(c, tokens, batch)
    assert total_macs(workload, repeats) == batch * counts.prefill_macs(c, tokens, causal=False)
    workload, repeats = prefill_workload(c, tokens, batch, lm_head_all_tokens=True)
    assert total_macs(workload, repeats) == batch * counts.prefill_macs(c, tokens, causal=False,
                                                                        lm_head_all_tokens=True)


@pytest.mark.parametrize("name", MATCHED)
@pytest.mark.parametrize("context,batch", [(1, 1), (17, 1), (100, 4), (5000, 3)])
def test_decode_macs_equal_counts(name, context, batch):
    c = cfg(name)
    workload, repeats = decode_workload(c, context, batch)
    assert total_macs(workload, repeats) == batch * counts.decode_macs_per_token(c, context)


@pytest.mark.parametrize("name", ZOO)
def test_whole_zoo_matches_counts(name):
    c = cfg(name)
    w, r = prefill_workload(c, 9, 2)
    assert total_macs(w, r) == 2 * counts.prefill_macs(c, 9, causal=False)
    w, r = decode_workload(c, 9, 2)
    assert total_macs(w, r) == 2 * counts.decode_macs_per_token(c, 9)


def test_sliding_window_caps_decode_attention():
    c = cfg("mistral_7b")
    assert c.sliding_window == 4096
    for context, keys in ((100, 100), (4096, 4096), (10000, 4096)):
        attn = layers(decode_workload(c, context, batch=2)[0])
        scores, context_gemm = attn["attn.scores"], attn["attn.context"]
        groups = 2 * c.num_heads
        assert scores.groups == context_gemm.groups == groups
        assert (scores.N, scores.C // groups, scores.M // groups) == (1, c.head_dim, keys)
        assert (context_gemm.N, context_gemm.C // groups, context_gemm.M // groups) == (1, keys, c.head_dim)
    # prefill: each query scores min(N, W) keys
    scores = layers(prefill_workload(c, 5000)[0])["attn.scores"]
    assert (scores.N, scores.M // scores.groups) == (5000, 4096)
    # no window: decode attention grows with the context
    scores = layers(decode_workload(cfg("llama2_7b"), 10000)[0])["attn.scores"]
    assert scores.M // scores.groups == 10000


def test_gqa_shapes():
    c = cfg("llama3_8b")  # 32 query heads, 8 KV heads of 128
    assert (c.num_heads, c.num_kv_heads, c.head_dim) == (32, 8, 128)
    w, repeats = prefill_workload(c, 16, batch=3)
    attn = layers(w)
    rows = 3 * 16
    assert (attn["attn.q_proj"].N, attn["attn.q_proj"].C, attn["attn.q_proj"].M) == (rows, 4096, 32 * 128)
    for kv in ("attn.k_proj", "attn.v_proj"):
        assert (attn[kv].N, attn[kv].C, attn[kv].M) == (rows, 4096, 8 * 128)
    # one GEMM per query head (K/V shared within a group, shapes per query head)
    scores = attn["attn.scores"]
    assert scores.groups == 3 * 32
    assert (scores.N, scores.C // scores.groups, scores.M // scores.groups) == (16, 128, 16)
    assert repeats["attn.q_proj"] == repeats["attn.scores"] == c.num_layers
    assert repeats["lm_head"] == 1
    assert attn["lm_head"].N == 3


def test_moe_even_split_and_repeats():
    c = cfg("mixtral_8x7b")  # 8 experts, top-2
    attn = layers(decode_workload(c, 10, batch=1)[0])
    assert attn["moe.router"].M == 8
    up = attn["moe.experts.up_proj"]  # 2 (token, expert) pairs over 8 experts: 2 experts x 1 token
    assert (up.groups, up.N) == (2, 1)
    assert "moe.experts_lo.up_proj" not in attn
    w, _ = decode_workload(c, 10, batch=5)  # 10 pairs: 2 experts x 2 tokens, 6 x 1 token
    attn = layers(w)
    assert (attn["moe.experts.up_proj"].groups, attn["moe.experts.up_proj"].N) == (2, 2)
    assert (attn["moe.experts_lo.up_proj"].groups, attn["moe.experts_lo.up_proj"].N) == (6, 1)
    ds = cfg("deepseek_v2_lite")
    _, repeats = decode_workload(ds, 10)
    assert repeats["mlp.up_proj"] == 1 and repeats["moe.router"] == 26
    assert repeats["attn.kv_b_proj"] == 27


def test_bad_arguments():
    with pytest.raises(AccelsimError):
        decode_workload(cfg("gpt2_small"), 0)
    with pytest.raises(AccelsimError):
        prefill_workload(cfg("gpt2_small"), 8, batch=0)
    with pytest.raises(AccelsimError):
        gemm("x", 0, 1, 1)
    with pytest.raises(AccelsimError, match="no such file"):
        resolve_llm_config("gpt3_unknown")
    assert resolve_llm_config("gpt2_small") == cfg("gpt2_small")
