"""accelsim serve: the scheduler kernel against tests/naive_serve.py, a hand-computed schedule,
agreement with `accelsim llm` for one request, invariants, bad traces and the command."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

import naive_serve
from accelsim import spec
from accelsim.cli import main
from accelsim.errors import AccelsimError
from accelsim.llm import LLMOptions, llm_inference
from accelsim.llm.lower import resolve_llm_config
from accelsim.serve import (Requests, ServeOptions, expected_tokens_per_verification, load_trace, poisson_requests,
                            simulate_serving)
from accelsim.serve.costs import build_step_costs

GIB = 1024 ** 3
OPTS = LLMOptions(causal=True)


def capacity_gib(cfg_name: str, blocks: int, block_size: int, precision_bytes: float = 2.0) -> float:
    """KV capacity (GiB) that holds exactly ``blocks`` blocks (half a block of slack)."""
    from accelsim.llm.counts import kv_cache_bytes_per_token
    per_token = kv_cache_bytes_per_token(resolve_llm_config(cfg_name), precision_bytes)
    return (blocks + 0.5) * block_size * per_token / GIB


def requests_of(rows) -> Requests:
    arrival, prompt, output = (np.array(column) for column in zip(*rows))
    return Requests(np.array([str(i) for i in range(len(rows))], dtype=object), arrival.astype(float),
                    prompt.astype(np.int64), output.astype(np.int64), "test")


def model_of(name):
    """A zoo model, or Gemma-2 2B (Hugging Face config in tests/data) with its local layers' window
    shrunk from 4096 to 24 so that short requests reach it."""
    if name == "gemma2_small_window":
        from dataclasses import replace
        from pathlib import Path
        gemma = resolve_llm_config(Path(__file__).parent / "data" / "hf_configs" / "gemma2_2b.json")
        assert gemma.window_layers and gemma.window_layers < gemma.num_layers   # local and global layers
        return replace(gemma, sliding_window=24)
    if name == "gpt2_small_rope":     # GPT-2 small's shape with computed (rotary) positions: a small draft
        from dataclasses import replace     # for requests longer than GPT-2's 1,024 learned positions
        return replace(resolve_llm_config("gpt2_small"), name=name, position_embedding="rope")
    return resolve_llm_config(name)


def run_naive(cfg_name, hw_name, reqs: Requests, options: ServeOptions, blocks: int, draft_name=None,
              llm_options=OPTS):
    from accelsim.llm.counts import kv_cache_bytes_per_token
    from accelsim.llm.parallel import sharded_config
    rank = sharded_config(model_of(cfg_name), llm_options)
    device = spec.load("hw", hw_name)
    draft = resolve_llm_config(draft_name) if draft_name else None
    per_token = kv_cache_bytes_per_token(rank, 2) + (kv_cache_bytes_per_token(draft, 2) if draft else 0)
    block_bytes = options.block_size * per_token
    rows = list(zip(reqs.arrival_s.tolist(), reqs.prompt_tokens.tolist(), reqs.output_tokens.tolist()))
    return naive_serve.simulate(
        rows, rank, llm_options, device, 2.0, 2.0, options.block_size, blocks, options.chunk_tokens,
        options.max_batch, swap=options.preemption == "swap", swap_blocks=int(options.swap_gib * GIB // block_bytes),
        swap_s_per_block=block_bytes / (options.swap_gb_per_s * 1e9), draft=(draft, 2.0, 2.0) if draft else None,
        spec_k=options.spec_k, acceptance=options.acceptance, seed=options.seed)


# ---------------------------------------------------------------- the kernel against the naive oracle

CASES = {
    "recompute": dict(model="gpt2_small", blocks=60, block_size=4, chunk_tokens=64, max_batch=8, preemption="recompute"),
    "swap": dict(model="gpt2_small", blocks=60, block_size=4, chunk_tokens=64, max_batch=8, preemption="swap",
                 swap_gib=capacity_gib("gpt2_small", 30, 4)),
    "swap_full_host": dict(model="gpt2_small", blocks=60, block_size=4, chunk_tokens=64, max_batch=8,
                           preemption="swap", swap_gib=capacity_gib("gpt2_small", 6, 4)),
    "window_moe": dict(model="mixtral_8x7b", blocks=80, block_size=8, chunk_tokens=100, max_batch=6,
                       preemption="recompute", window=16),
    "speculative": dict(model="llama2_7b", draft="gpt2_small", blocks=90, block_size=4, chunk_tokens=48, max_batch=8,
                        preemption="recompute", spec_k=3, acceptance=0.6),
    # Gemma-2: alternating local (window 4096 -> 24 here) and global layers, two attention groups
    "gemma2_groups": dict(model="gemma2_small_window", blocks=70, block_size=4, chunk_tokens=64,
                          max_batch=8, preemption="recompute"),
    # tensor parallel 2 (collectives in every step) with 4-bit weights; experts over the same group
    "tp2_w4a16": dict(model="llama3_8b", blocks=60, block_size=4, chunk_tokens=64, max_batch=8,
                      preemption="swap", swap_gib=capacity_gib("gpt2_small", 30, 4), tp=2, weights="w4a16"),
    "tp2_ep2_moe": dict(model="mixtral_8x7b", blocks=60, block_size=8, chunk_tokens=64, max_batch=8,
                        preemption="recompute", tp=2, ep=2),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("seed", [1, 2])
def test_kernel_equals_naive_oracle(name, seed):
    case = dict(CASES[name])
    model, blocks, draft = case.pop("model"), case.pop("blocks"), case.pop("draft", None)
    llm_options = LLMOptions(causal=True, **{key: case.pop(key) for key in ("window", "tp", "ep", "weights")
                                             if key in case})
    from accelsim.llm.counts import kv_cache_bytes_per_token
    from accelsim.llm.parallel import sharded_config
    per_token = kv_cache_bytes_per_token(sharded_config(model_of(model), llm_options), 2) + (
        kv_cache_bytes_per_token(resolve_llm_config(draft), 2) if draft else 0)
    options = ServeOptions(kv_capacity_gib=(blocks + 0.5) * case["block_size"] * per_token / GIB, seed=seed, **case)
    reqs = poisson_requests(40, 20_000.0, 40, 24, jitter=0.9, seed=seed)
    result = simulate_serving(model_of(model), "ideal_a100", reqs, options, draft_cfg=draft, llm_options=llm_options)
    assert result.summary["kv_blocks"] == blocks
    naive, steps = run_naive(model, "ideal_a100", reqs, options, blocks, draft, llm_options)
    frame, timeline = result.requests, result.timeline
    assert len(timeline) == len(steps)
    for column in ("batch_size", "tokens", "kv_blocks_used", "preempted", "emitted_tokens", "running", "waiting",
                   "swapped"):
        assert timeline[column].tolist() == [s[column] for s in steps], column
    np.testing.assert_allclose(timeline["duration_s"], [s["duration_s"] for s in steps], rtol=1e-9)
    np.testing.assert_allclose(frame["first_token_s"], [r.first for r in naive], rtol=1e-9)
    np.testing.assert_allclose(frame["finish_s"], [r.finish for r in naive], rtol=1e-9)
    assert frame["preemptions"].tolist() == [r.preemptions for r in naive]
    if name not in ("window_moe", "gemma2_groups"):   # small caches must preempt, or the case tests little
        assert result.summary["preemptions"] > 0
    if name.startswith("swap"):
        assert timeline["swapped"].max() > 0


# ---------------------------------------------------------------- a schedule computed by hand

def _cost(tokens, seqs, pairs, reads, model="gpt2_small", hw="ideal_a100"):
    return naive_serve.pass_seconds(resolve_llm_config(model), OPTS, spec.load("hw", hw), 2.0, 2.0, tokens, seqs,
                                    pairs, reads)


@pytest.mark.parametrize("preemption", ["recompute", "swap"])
def test_hand_computed_schedule(preemption):
    """Blocks of 4 tokens, 4 blocks, budget 16; A and B (prompt 6, 4 output tokens) at t = 0.

    step 1: A and B prefill 6 tokens each (2 blocks each, cache full), both sample their first
            token: tokens 12, sampled 2, pairs 2 x 21, reads 12;
    step 2, 3: both decode at contexts 6, 7 (no new block): pairs 6+6, 7+7;
    step 4: A at context 8 needs a third block: B (admitted last) is preempted; A decodes its
            last token (pairs 8) and finishes, freeing 3 blocks;
    step 5: recompute: B prefills prompt + 3 generated = 9 tokens (pairs 45, reads 9, 3 blocks)
            and samples its 4th token; swap: B's 2 blocks come back (and went out in step 4) and
            B decodes at context 8.
    """
    cfg = "gpt2_small"
    block_bytes = 4 * 36_864
    options = ServeOptions(block_size=4, chunk_tokens=16, max_batch=4, kv_capacity_gib=capacity_gib(cfg, 4, 4),
                           preemption=preemption, swap_gib=1.0)
    result = simulate_serving(cfg, "ideal_a100", requests_of([(0.0, 6, 4), (0.0, 6, 4)]), options, llm_options=OPTS)
    swap_s = 2 * block_bytes / 64e9
    s1, s2, s3 = _cost(12, 2, 42, 12), _cost(2, 2, 12, 12), _cost(2, 2, 14, 14)
    s4 = _cost(1, 1, 8, 8) + (swap_s if preemption == "swap" else 0.0)
    s5 = _cost(9, 1, 45, 9) if preemption == "recompute" else _cost(1, 1, 8, 8) + swap_s
    timeline = result.timeline
    assert timeline["tokens"].tolist() == [12, 2, 2, 1, 9 if preemption == "recompute" else 1]
    assert timeline["kv_blocks_used"].tolist() == [4, 4, 4, 3, 3]
    assert timeline["preempted"].tolist() == [0, 0, 0, 1, 0]
    np.testing.assert_allclose(timeline["duration_s"], [s1, s2, s3, s4, s5], rtol=1e-12)
    a, b = result.requests.iloc[0], result.requests.iloc[1]
    assert a["ttft_s"] == pytest.approx(s1, rel=1e-12) and b["ttft_s"] == pytest.approx(s1, rel=1e-12)
    assert a["e2e_s"] == pytest.approx(s1 + s2 + s3 + s4, rel=1e-12)
    assert b["e2e_s"] == pytest.approx(s1 + s2 + s3 + s4 + s5, rel=1e-12)
    assert b["tpot_s"] == pytest.approx((s2 + s3 + s4 + s5) / 3, rel=1e-12)
    assert (a["preemptions"], b["preemptions"]) == (0, 1)


def test_one_request_equals_llm_inference():
    """Alone on the device, a request's TTFT is `accelsim llm`'s causal prefill and its decode the
    sum of llm's decode steps at contexts prompt .. prompt + output - 2."""
    prompt, output = 700, 33
    result = simulate_serving("llama3_8b", "ideal_h100", requests_of([(0.5, prompt, output)]),
                              ServeOptions(memory_gib=80), llm_options=OPTS)
    summary, _ = llm_inference("llama3_8b", "ideal_h100", prompt, output - 1, 1, OPTS)
    row = result.requests.iloc[0]
    assert row["ttft_s"] == pytest.approx(summary["ttft_s"], rel=1e-12)
    assert row["e2e_s"] - row["ttft_s"] == pytest.approx(summary["decode_s"], rel=1e-9)
    assert row["tpot_s"] == pytest.approx(summary["tpot_s"], rel=1e-9)


@pytest.mark.parametrize("prompt, output", [(700, 33), (1500, 200)])
def test_gpu_device_one_request_matches_llm(prompt, output):
    """On the calibrated GPU (hw/h200.yaml, kernels costed one by one, bucketed attention) a request
    alone decodes exactly as `accelsim llm --kernels fused --launch graph`; its prefill within 1%
    (serving replays CUDA graphs where `accelsim llm` launches a prefill eagerly, and the chunk's
    attention is interpolated)."""
    result = simulate_serving("llama3_8b", "h200", requests_of([(0.0, prompt, output)]), llm_options=OPTS)
    assert result.summary["step_costs"] == "bucketed"
    assert result.summary["kv_capacity_from"].startswith("0.9 x 140.40 GiB memory")   # the hw file's HBM
    summary, _ = llm_inference("llama3_8b", "h200", prompt, output - 1, 1, OPTS, kernels="fused", launch="graph")
    row = result.requests.iloc[0]
    assert row["e2e_s"] - row["ttft_s"] == pytest.approx(summary["decode_s"], rel=1e-9)
    assert row["ttft_s"] == pytest.approx(summary["ttft_s"], rel=0.01)


def test_gpu_device_refuses_exact_step_costs():
    with pytest.raises(AccelsimError, match="bucketed"):
        simulate_serving("llama3_8b", "h200", requests_of([(0.0, 10, 2)]), ServeOptions(step_costs="exact"))


def test_chunked_prompt_takes_ceil_prompt_over_budget_steps():
    result = simulate_serving("gpt2_small", "ideal_a100", requests_of([(0.0, 1000, 1)]),
                              ServeOptions(chunk_tokens=256, kv_capacity_gib=1.0), llm_options=OPTS)
    assert result.timeline["prefill_tokens"].tolist() == [256, 256, 256, 232]
    assert result.requests["ttft_s"].iloc[0] == pytest.approx(result.timeline["duration_s"].sum(), rel=1e-12)
    assert math.isnan(result.requests["tpot_s"].iloc[0])   # one output token: no TPOT


@pytest.mark.parametrize("name, options", [("llama3_8b", OPTS), ("mixtral_8x7b", OPTS), ("deepseek_v2_lite", OPTS),
                                           ("gemma2_small_window", OPTS),
                                           ("llama3_8b", LLMOptions(causal=True, tp=4, weights="fp8"))])
def test_step_cost_table_equals_llm_ops(name, options):
    """The tables and coefficients give, for arbitrary steps, what the llm layer's ops give."""
    from accelsim.llm.parallel import sharded_config
    device = spec.load("hw", "ideal_h100")
    cfg = model_of(name)
    table = build_step_costs(cfg, device, options, 512)
    rank = sharded_config(cfg, options)
    groups = table.windows.size
    for tokens, seqs, pairs, reads in ((1, 1, 100, 100), (37, 5, 4_000, 900), (512, 512, 10**6, 10**5),
                                       (300, 0, 45_150, 300)):
        per_group = ([pairs, pairs // 3][:groups], [reads, reads // 2][:groups])
        assert table.step_seconds(tokens, seqs, *per_group) == pytest.approx(
            naive_serve.pass_seconds(rank, options, device, 2.0, 2.0, tokens, seqs, *per_group), rel=1e-12)


@pytest.mark.parametrize("model, draft, window", [("llama3_8b", None, None), ("mixtral_8x7b", None, 64),
                                                  ("llama2_7b", "gpt2_small_rope", None)])
def test_bucketed_attention_tracks_exact(model, draft, window):
    """The (batch, context)-bucketed attention tables, the form for devices whose per-op costs are
    not linear, track the exact roofline form. All requests arrive at t = 0, so the schedule does
    not depend on step times (with arrivals spread out, a slightly different step time admits a
    request a step earlier or later and single requests' TTFTs differ by tens of percent, although
    the total busy time agrees to 0.1%). Decode-only and prefill-only steps agree to 0.1%
    (interpolation); a mixed step prices its chunks' and its decodes' attention as separate kernels
    (sum of their roofline times, as vLLM's V0 FlashAttention backend runs them) where the exact
    form overlaps them in one max: up to a few percent more, never less; every request within 2%."""
    rng = np.random.default_rng(8)
    rows = [(0.0, int(p), int(o)) for p, o in zip(rng.integers(50, 3000, 64), rng.integers(1, 400, 64))]
    kw = dict(chunk_tokens=1024, max_batch=48, kv_capacity_gib=6.0, seed=2)
    if draft:
        kw.update(spec_k=3, acceptance=0.7)
    runs = {form: simulate_serving(model, "ideal_h100", requests_of(rows), ServeOptions(step_costs=form, **kw),
                                   draft_cfg=draft and model_of(draft), llm_options=LLMOptions(causal=True, window=window))
            for form in ("exact", "bucketed")}
    exact, bucketed = runs["exact"], runs["bucketed"]
    assert (exact.summary["step_costs"], bucketed.summary["step_costs"]) == ("exact", "bucketed")
    timeline = exact.timeline
    assert bucketed.timeline["tokens"].tolist() == timeline["tokens"].tolist()
    ratio = bucketed.timeline["duration_s"] / timeline["duration_s"]
    mixed = (timeline["decode_seqs"] > 0) & (timeline["prefill_tokens"] > 0)
    assert ratio[~mixed].sub(1).abs().max() < 1e-3
    assert ratio[mixed].between(1 - 1e-3, 1.1).all()
    for key in ("ttft_s", "e2e_s"):
        np.testing.assert_allclose(bucketed.requests[key], exact.requests[key], rtol=0.02)


# ---------------------------------------------------------------- invariants of a loaded run

@pytest.fixture(scope="module")
def loaded():
    reqs = poisson_requests(3000, 60.0, 256, 64, jitter=0.5, seed=7)
    options = ServeOptions(chunk_tokens=512, max_batch=64, kv_capacity_gib=capacity_gib("llama3_8b", 700, 16))
    return reqs, options, simulate_serving("llama3_8b", "ideal_h100", reqs, options, llm_options=OPTS)


def test_kv_never_exceeds_capacity(loaded):
    _, _, result = loaded
    assert result.summary["preemptions"] > 0      # the cache was the binding limit
    assert result.timeline["kv_blocks_used"].max() <= result.summary["kv_blocks"]
    assert result.summary["peak_kv_occupancy"] <= 1.0


def test_no_request_finishes_before_its_tokens_can_be_produced(loaded):
    """Every step reads the layers' weights (all but the embedding table, of which a step gathers
    rows, and the lm_head, which a mid-prompt chunk skips): a request needs ceil(prompt / budget)
    prefill steps and output - 1 decode steps, each at least those bytes / bandwidth."""
    from accelsim.llm.counts import param_counts
    reqs, options, result = loaded
    device = spec.load("hw", "ideal_h100")
    params = param_counts(resolve_llm_config("llama3_8b"))
    floor_s = (params.total - params.embeddings - params.head) * 2 / device.dram_bandwidth_bytes_per_s
    frame = result.requests
    prefill_steps = -(-frame["prompt_tokens"] // options.chunk_tokens)
    assert (frame["ttft_s"] >= prefill_steps * floor_s * (1 - 1e-12)).all()
    assert (frame["e2e_s"] >= (prefill_steps + frame["output_tokens"] - 1) * floor_s * (1 - 1e-12)).all()
    assert (frame["finish_s"] >= frame["first_token_s"]).all()


def test_throughput_below_batch_limited_roofline(loaded):
    """Tokens per second never exceed max over batch sizes S <= max_batch of S / (time of a pass
    of S tokens sampling S rows with no attention), from the llm layer."""
    _, options, result = loaded
    cfg, device = resolve_llm_config("llama3_8b"), spec.load("hw", "ideal_h100")
    bound = max(s / naive_serve.pass_seconds(cfg, OPTS, device, 2.0, 2.0, s, s, 0, 0)
                for s in range(1, options.max_batch + 1))
    timeline = result.timeline
    assert (timeline["emitted_tokens"] / timeline["duration_s"] <= bound * (1 + 1e-12)).all()
    assert result.summary["output_tokens"] / result.summary["busy_s"] <= bound


def test_littles_law_in_steady_state(loaded):
    """L = lambda W over the middle of the run: the time-average of requests in the system (the
    timeline's running + waiting + swapped) against arrival rate x mean latency (per-request)."""
    reqs, _, result = loaded
    timeline, frame = result.timeline, result.requests
    t0, t1 = np.percentile(reqs.arrival_s, [20, 80])
    inside = (timeline["start_s"] >= t0) & (timeline["end_s"] <= t1)
    present = timeline["running"] + timeline["waiting"] + timeline["swapped"]
    average_in_system = float((present[inside] * timeline["duration_s"][inside]).sum()
                              / timeline["duration_s"][inside].sum())
    arrived = (frame["arrival_s"] >= t0) & (frame["arrival_s"] < t1)
    rate = arrived.sum() / (t1 - t0)
    assert average_in_system == pytest.approx(rate * frame["e2e_s"][arrived].mean(), rel=0.05)


def test_progress_reported_until_every_request_finished(monkeypatch):
    import accelsim.serve.simulate as simulate_module
    monkeypatch.setattr(simulate_module, "STEPS_PER_CALL", 50)
    calls = []
    result = simulate_serving("gpt2_small", "ideal_a100", poisson_requests(100, 1000.0, 64, 16, seed=1),
                              ServeOptions(kv_capacity_gib=0.05), llm_options=OPTS,
                              progress=lambda done, total: calls.append((done, total)))
    assert len(calls) == -(-len(result.timeline) // 50) and calls[-1] == (100, 100)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_data_parallel_replicas_are_independent_engines():
    """--dp 2: requests alternate between two replicas in arrival order; each replica's requests
    finish exactly as in a run of their own (same seed offsets), and the timeline interleaves both."""
    from dataclasses import replace
    reqs = poisson_requests(120, 2000.0, 64, 24, jitter=0.5, seed=5)
    options = ServeOptions(block_size=4, kv_capacity_gib=capacity_gib("gpt2_small", 60, 4), max_batch=8)
    both = simulate_serving("gpt2_small", "ideal_a100", reqs, options, llm_options=LLMOptions(causal=True, dp=2))
    assert both.summary["replicas"] == 2 and set(both.timeline["replica"]) == {0, 1}
    assert both.timeline["start_s"].is_monotonic_increasing
    for replica in (0, 1):
        index = np.arange(replica, len(reqs), 2)
        alone = simulate_serving("gpt2_small", "ideal_a100", Requests(
            reqs.request_id[index], reqs.arrival_s[index], reqs.prompt_tokens[index], reqs.output_tokens[index], "x"),
            replace(options, seed=replica * 0x9E3779B9), llm_options=OPTS)
        np.testing.assert_array_equal(both.requests["finish_s"].to_numpy()[index], alone.requests["finish_s"])
        assert (both.timeline["replica"] == replica).sum() == len(alone.timeline)
    assert both.summary["preemptions"] > 0


def test_pipeline_stages_as_virtual_engines():
    """--pp 2 (vLLM V0): two virtual engines with half the blocks each, requests alternating; each
    engine's steps pass through both stages (all layers plus one activation send per pass): engine
    0 equals the naive oracle on its requests, priced by the llm layer's ops with pp = 2."""
    from accelsim.llm.counts import kv_cache_bytes_per_token
    pipeline = LLMOptions(causal=True, pp=2)
    reqs = poisson_requests(60, 5000.0, 40, 24, jitter=0.9, seed=6)
    half_layers = kv_cache_bytes_per_token(resolve_llm_config("gpt2_small"), 2) / 2     # 6 of 12 layers per stage
    options = ServeOptions(block_size=4, chunk_tokens=64, max_batch=8,
                           kv_capacity_gib=(2 * 40 + 0.5) * 4 * half_layers / GIB)   # 80 blocks: 40 per engine
    result = simulate_serving("gpt2_small", "ideal_a100", reqs, options, llm_options=pipeline)
    assert result.summary["engines"] == 2 and result.summary["kv_blocks"] == 40
    index = np.arange(0, len(reqs), 2)
    share = Requests(reqs.request_id[index], reqs.arrival_s[index], reqs.prompt_tokens[index],
                     reqs.output_tokens[index], "engine 0")
    naive, steps = naive_serve.simulate(
        list(zip(share.arrival_s.tolist(), share.prompt_tokens.tolist(), share.output_tokens.tolist())),
        resolve_llm_config("gpt2_small"), pipeline, spec.load("hw", "ideal_a100"), 2.0, 2.0, 4, 40, 64, 8)
    np.testing.assert_allclose(result.requests["finish_s"].to_numpy()[index], [r.finish for r in naive], rtol=1e-9)
    engine = result.timeline[result.timeline["replica"] == 0]
    assert engine["kv_blocks_used"].tolist() == [s["kv_blocks_used"] for s in steps]
    assert result.summary["preemptions"] > 0


def test_deterministic_per_seed():
    runs = [simulate_serving("gpt2_small", "ideal_a100", poisson_requests(200, 100.0, 64, 16, 0.5, seed=3),
                             ServeOptions(kv_capacity_gib=0.01), llm_options=OPTS).requests for _ in range(2)]
    assert runs[0].equals(runs[1])


# ---------------------------------------------------------------- speculative decoding

def test_speculative_tokens_per_verification_match_leviathan():
    """One long request alone: tokens per verification average (1 - a^(k+1)) / (1 - a)."""
    k, a = 4, 0.7
    output = 4001
    result = simulate_serving("llama2_7b", "ideal_a100", requests_of([(0.0, 32, output)]),
                              ServeOptions(kv_capacity_gib=8.0, spec_k=k, acceptance=a, seed=5),
                              draft_cfg=model_of("gpt2_small_rope"), llm_options=OPTS)
    decode = result.timeline[result.timeline["prefill_tokens"] == 0]
    per_verification = decode["emitted_tokens"].iloc[:-3].mean()   # the last few are capped by the output
    expected = expected_tokens_per_verification(k, a)
    assert expected == pytest.approx((1 - a ** 5) / (1 - a))
    assert per_verification == pytest.approx(expected, rel=0.03)
    assert decode["tokens"].iloc[:-3].eq(k + 1).all()


def test_a_draft_model_run_past_its_learned_positions_is_refused(tmp_path):
    """The draft keeps a cache of the same tokens as the target: a request that feeds GPT-2 small
    (1,024 learned positions) 32 + 4,001 - 1 tokens is refused naming the draft and its limit,
    though the target (rotary positions) has no such limit; at 32 + 993 - 1 = 1,024 it runs."""
    trace = tmp_path / "long.csv"
    args = ["serve", "--model", "llama2_7b", "--hw", "ideal_a100", "--draft-model", "gpt2_small", "--spec-k", "4",
            "--trace", str(trace), "--kv-capacity-gib", "8", "--out", str(tmp_path / "o")]
    trace.write_text("arrival_s,prompt_tokens,output_tokens\n0.0,32,4001\n")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert ("Error: request 0 (32 prompt + 4001 output tokens) feeds 4,032 tokens, but the draft model gpt2_small "
            "has 1,024 learned positions") in result.output and "Traceback" not in result.output
    assert "gpt2_small.yaml: max_position" in result.output and "choose a draft model" in result.output
    trace.write_text("arrival_s,prompt_tokens,output_tokens\n0.0,32,993\n")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output


def test_speculation_at_zero_acceptance_costs_more_than_plain_decoding():
    reqs = requests_of([(0.0, 64, 50)])
    plain = simulate_serving("llama2_7b", "ideal_a100", reqs, ServeOptions(kv_capacity_gib=4.0), llm_options=OPTS)
    spec_run = simulate_serving("llama2_7b", "ideal_a100", reqs,
                                ServeOptions(kv_capacity_gib=4.0, spec_k=3, acceptance=0.0),
                                draft_cfg="gpt2_small", llm_options=OPTS)
    assert len(spec_run.timeline) == len(plain.timeline)      # one token per verification
    assert spec_run.requests["e2e_s"].iloc[0] > plain.requests["e2e_s"].iloc[0]


# ---------------------------------------------------------------- bad input

def _trace(tmp_path, text):
    path = tmp_path / "trace.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, expected", [
    ("arrival_s,prompt_tokens,output_tokens\n0.0,-5,10\n", "row 1: column prompt_tokens: must be an integer >= 1 (got '-5')"),
    ("arrival_s,prompt_tokens,output_tokens\n0.0,5,10\n1.0,5,2.5\n", "row 2: column output_tokens: must be an integer >= 1 (got '2.5')"),
    ("arrival_s,prompt_tokens,output_tokens\n-1,5,10\n", "row 1: column arrival_s: must be a number of seconds >= 0 (got '-1')"),
    ("arrival_s,prompt_tokens,output_tokens\nsoon,5,10\n", "row 1: column arrival_s"),
    ("arrival_s,prompt_tokens\n0.0,5\n", "header: missing column(s) output_tokens"),
    ("arrival_s,prompt_tokens,output_tokens,priority\n0,5,5,1\n", "unknown column 'priority'"),
    ("arrival_s,prompt_tokens,output_tokens\n0.0,5\n", "row 1: 2 fields, the header has 3"),
    ("", "empty file"),
    ("arrival_s,prompt_tokens,output_tokens\n", "no requests"),
    ("arival_s,prompt_tokens,output_tokens\n0,1,1\n", "did you mean 'arrival_s'"),
])
def test_bad_trace_names_file_row_and_column(tmp_path, text, expected):
    path = _trace(tmp_path, text)
    with pytest.raises(AccelsimError) as info:
        load_trace(path)
    assert str(path) in str(info.value) and expected in str(info.value)
    result = CliRunner().invoke(main, ["serve", "--model", "gpt2_small", "--hw", "ideal_a100", "--trace", str(path),
                                       "--kv-capacity-gib", "1"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert expected in result.output


def test_every_bad_row_reported_together(tmp_path):
    path = _trace(tmp_path, "arrival_s,prompt_tokens,output_tokens\n0,0,1\n1,1,x\n2,3,4\n")
    with pytest.raises(AccelsimError) as info:
        load_trace(path)
    assert "2 problem(s)" in str(info.value) and "row 1" in str(info.value) and "row 2" in str(info.value)


def test_trace_sorted_by_arrival_and_ids_kept(tmp_path):
    path = _trace(tmp_path, "request_id,arrival_s,prompt_tokens,output_tokens\nb,2.0,5,6\na,1.0,3,4\n")
    reqs = load_trace(path)
    assert reqs.request_id.tolist() == ["a", "b"] and reqs.prompt_tokens.tolist() == [3, 5]


def test_capacity_errors(tmp_path):
    reqs = requests_of([(0.0, 100, 10)])
    no_memory = tmp_path / "no_memory.yaml"   # a roofline device without memory_gb
    no_memory.write_text("name: no_memory\nprecision: fp16\nroofline: {peak_tflops: 312, dram_bandwidth_gb_per_s: 2000}\n")
    with pytest.raises(AccelsimError, match="--kv-capacity-gib"):
        simulate_serving("gpt2_small", str(no_memory), reqs, ServeOptions())
    with pytest.raises(AccelsimError, match="needs 28 KV blocks"):
        simulate_serving("gpt2_small", "ideal_a100", reqs,
                         ServeOptions(block_size=4, kv_capacity_gib=capacity_gib("gpt2_small", 10, 4)))
    with pytest.raises(AccelsimError, match="do not fit"):
        simulate_serving("llama3_8b", "ideal_h100", reqs, ServeOptions(memory_gib=10))
    with pytest.raises(AccelsimError, match="roofline device .* or a GPU"):
        simulate_serving("gpt2_small", "tpu_v1", reqs, ServeOptions(kv_capacity_gib=1))


# ---------------------------------------------------------------- the command

def test_serve_command_writes_tables_and_report(tmp_path):
    out, page = tmp_path / "run", tmp_path / "serve.html"
    args = ["serve", "--model", "gpt2_small", "--hw", "ideal_a100", "--kv-capacity-gib", "0.05", "--rate", "50",
            "--requests", "300", "--length-jitter", "0.5", "--slo-ttft", "0.01", "--slo-tpot", "0.002",
            "--out", str(out), "--report", str(page), "--format", "json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert json.loads((out / "summary.json").read_text()) == summary
    import pandas as pd
    requests, timeline = pd.read_csv(out / "requests.csv"), pd.read_csv(out / "timeline.csv")
    assert len(requests) == 300 and len(timeline) == summary["steps"]
    assert {"ttft_s", "tpot_s", "e2e_s", "meets_slo"} <= set(requests.columns)
    assert {"kv_occupancy", "batch_size", "waiting"} <= set(timeline.columns)
    assert summary["goodput_requests_per_s"] == pytest.approx(requests["meets_slo"].sum() / summary["duration_s"])
    for key in ("p50", "p90", "p99"):
        assert summary["ttft_s"][key] == pytest.approx(np.percentile(requests["ttft_s"], int(key[1:])))
    text = page.read_text()
    assert "KV cache and batch over time" in text and "Latency distributions" in text and "<script src=" not in text
    dashboard = tmp_path / "dashboard.html"              # accelsim report reads the folder back
    assert CliRunner().invoke(main, ["report", str(out), "-o", str(dashboard)]).exit_code == 0
    assert "KV cache and batch over time" in dashboard.read_text()
    refused = CliRunner().invoke(main, args)            # non-empty folder without --force
    assert refused.exit_code == 1 and "--force" in refused.output and "Traceback" not in refused.output
    assert CliRunner().invoke(main, args + ["--force"]).exit_code == 0


def test_serve_help_documents_every_option():
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    from accelsim.serve.command import serve
    for param in serve.params:
        assert param.help, param.name
        assert param.opts[0] in result.output


def test_serve_command_bad_options(tmp_path):
    runner = CliRunner()
    trace = _trace(tmp_path, "arrival_s,prompt_tokens,output_tokens\n0,5,5\n")
    result = runner.invoke(main, ["serve", "--model", "gpt2_small", "--hw", "ideal_a100", "--trace", str(trace),
                                  "--rate", "5", "--kv-capacity-gib", "1"])
    assert result.exit_code == 1 and "--rate shape Poisson requests" in result.output
    result = runner.invoke(main, ["serve", "--model", "gpt2_small", "--hw", "ideal_a100", "--kv-capacity-gib", "1",
                                  "--spec-k", "2"])
    assert result.exit_code == 1 and "--draft-model" in result.output
    result = runner.invoke(main, ["serve", "--model", "gpt2_small", "--hw", "ideal_a100", "--kv-capacity-gib", "1",
                                  "--rate", "-3"])
    assert result.exit_code == 1 and "--rate" in result.output
    result = runner.invoke(main, ["serve", "--model", "llama3_8b", "--hw", "ideal_h100", "--pp", "40"])
    assert result.exit_code == 1 and "--pp 40 must be <= the layers" in result.output
    result = runner.invoke(main, ["serve", "--model", "llama3_8b", "--hw", "ideal_h100", "--tp", "3"])
    assert result.exit_code == 1 and "--tp 3 must divide the attention heads" in result.output
    result = runner.invoke(main, ["serve", "--model", "mixtral_8x7b", "--hw", "ideal_h100", "--ep", "2"])
    assert result.exit_code == 1 and "data-parallel attention" in result.output
