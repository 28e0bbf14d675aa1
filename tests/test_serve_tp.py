"""accelsim serve with tensor parallelism on the calibrated GPU (hw/h200.yaml): steps equal `accelsim llm
--tp N`'s (NCCL collectives included), the KV capacity computed by hand as vLLM computes it, TP 1 outputs
unchanged, and bad parallel options refused."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from accelsim import spec
from accelsim.cli import main
from accelsim.llm import LLMOptions, llm_inference
from accelsim.serve import Requests, ServeOptions, poisson_requests, simulate_serving

GIB = 1024 ** 3


def same_requests(batch: int, prompt: int, output: int) -> Requests:
    return Requests(np.array([str(i) for i in range(batch)], dtype=object), np.zeros(batch),
                    np.full(batch, prompt, dtype=np.int64), np.full(batch, output, dtype=np.int64), "test")


@pytest.mark.parametrize("tp", [2, 4])
def test_fixed_batch_steps_equal_llm_tp(tp):
    """8 requests arrive together (256 prompt, 9 output tokens): one step prefills all 8, then 8 decode
    steps at batch 8, contexts 256..263, each exactly `accelsim llm --tp N --kernels fused --launch graph`'s
    step at that context; the prefill step within 1% of llm's TTFT (serving replays CUDA graphs where llm
    launches a prefill eagerly, and the chunks' attention is interpolated)."""
    batch, prompt, output = 8, 256, 9
    opts = LLMOptions(causal=True, tp=tp)
    result = simulate_serving("llama2_7b", "h200", same_requests(batch, prompt, output),
                              ServeOptions(max_batch=batch, chunk_tokens=batch * prompt), llm_options=opts)
    timeline = result.timeline
    assert timeline["tokens"].tolist() == [batch * prompt] + [batch] * (output - 1)
    assert (timeline["batch_size"] == batch).all()
    summary, ops = llm_inference("llama2_7b", "h200", prompt, output - 1, batch, opts, kernels="fused",
                                 launch="graph")
    steps = timeline["duration_s"].to_numpy()
    assert steps[1] == pytest.approx(summary["first_step_s"], rel=1e-9)
    assert steps[-1] == pytest.approx(summary["last_step_s"], rel=1e-9)
    assert steps[1:].sum() == pytest.approx(summary["decode_s"], rel=1e-9)
    assert steps[0] == pytest.approx(summary["ttft_s"], rel=0.01)
    # the collectives are in the step: NCCL kernels, 64 all-reduces and the logits gather per decode step
    assert summary["decode_collective_s_per_step"] > 64 * 6.6e-6
    assert result.summary["parallelism"].startswith(f"tensor parallel {tp}")
    alone = simulate_serving("llama2_7b", "h200", same_requests(batch, prompt, output),
                             ServeOptions(max_batch=batch, chunk_tokens=batch * prompt), llm_options=LLMOptions(causal=True))
    assert alone.timeline["duration_s"].iloc[1] > steps[1]   # TP shortens the memory-bound decode step


def test_kv_capacity_by_hand_tp2():
    """vLLM (vllm/worker/worker.py ``determine_num_available_blocks``; vllm/worker/cache_engine.py
    ``get_cache_block_size``): blocks = (memory x gpu_memory_utilization - peak of the profiling run) //
    block bytes, each TP rank with its share of the weights and of the KV heads. Llama-2-7B, TP 2, h200."""
    result = simulate_serving("llama2_7b", "h200", same_requests(2, 100, 5), ServeOptions(),
                              llm_options=LLMOptions(causal=True, tp=2))
    s = result.summary
    d, inner, vocab, layers = 4096, 11008, 32000, 32
    per_layer = 4 * d * d // 2 + 3 * d * inner // 2 + 2 * d          # q, k, v, o and the MLP split; norms replicated
    weights = 2 * (layers * per_layer + 2 * (vocab // 2) * d + d)    # vocabulary-parallel embedding and lm_head
    assert weights == 6_738_681_856 == s["weight_bytes"]
    # the profiling step of the whole budget (2048 tokens): its largest op, the lm_head over 2048 rows of
    # d in and vocab/2 out, plus the residual stream
    activations = 2048 * (d + vocab // 2) * 2 + 2048 * d * 2
    memory = int(140.4 * GIB)                                        # gpu.hbm_gib: 143,771 MiB (nvidia-smi)
    capacity = int(memory * 0.9) - weights - activations
    assert s["kv_capacity_bytes"] == capacity == 128_840_244_592
    per_token = layers * 2 * (32 // 2) * 128 * 2                     # K and V, 16 heads per rank, bf16
    assert s["kv_bytes_per_token"] == per_token == 262_144
    assert s["kv_blocks"] == capacity // (16 * per_token) == 30_717
    pp = simulate_serving("llama2_7b", "h200", same_requests(2, 100, 5), ServeOptions(),
                          llm_options=LLMOptions(causal=True, tp=2, pp=2)).summary
    assert pp["kv_bytes_per_token"] == per_token / 2                 # a stage's 16 layers
    assert pp["kv_blocks"] == (int(memory * 0.9) - pp["weight_bytes"] - activations) // (16 * per_token // 2) // 2


def test_tp1_outputs_unchanged(monkeypatch):
    """TP 1 runs give exactly what they gave before collectives were costed as NCCL kernels and before the
    chunks of a step ran as one kernel: on a roofline device the figures recorded from the previous code;
    on the GPU (whose fitted values other work refits) the same run with the one-kernel correction
    switched off, on a load with no step holding two chunks."""
    from dataclasses import replace

    from accelsim.serve import simulate
    opts = LLMOptions(causal=True)
    ideal = simulate_serving("llama3_8b", "ideal_h100", poisson_requests(400, 20.0, 512, 64, 0.5, 3),
                             ServeOptions(memory_gib=80), llm_options=opts)
    assert float(ideal.timeline["duration_s"].sum()) == 21.92462209118826
    assert float(ideal.requests["e2e_s"].sum()) == 134.23868891188596
    assert (len(ideal.timeline), ideal.summary["kv_blocks"]) == (4374, 28939)
    load = poisson_requests(60, 2.0, 300, 20, 0.5, 5)
    gpu = simulate_serving("llama2_7b", "h200", load, ServeOptions(), llm_options=opts)
    assert len(gpu.timeline) == 1047
    build = simulate.build_step_costs
    monkeypatch.setattr(simulate, "build_step_costs", lambda *a, **k: replace(build(*a, **k), chunk_fixed_s=0.0))
    before = simulate_serving("llama2_7b", "h200", load, ServeOptions(), llm_options=opts)
    assert gpu.timeline.equals(before.timeline) and gpu.requests.equals(before.requests)


def test_chunks_of_a_step_run_as_one_attention_kernel():
    """Two prompts prefilled in one step on the GPU: one flash-attention kernel per layer (variable-length
    over both), so the step costs the two chunks' entries less one kernel's fixed cost and launch gap per
    layer."""
    from accelsim.llm.lower import resolve_llm_config
    from accelsim.serve.costs import build_step_costs
    device = spec.load("hw", "h200")
    table = build_step_costs(resolve_llm_config("llama2_7b"), device, LLMOptions(causal=True), 2048, 2, 300,
                             "bucketed")
    f = device.fitted
    assert table.chunk_fixed_s == pytest.approx(32 * (f.attention_kernel_us + f.graph_gap_us) * 1e-6, rel=1e-12)
    one = simulate_serving("llama2_7b", "h200", same_requests(1, 200, 2), ServeOptions(max_batch=2),
                           llm_options=LLMOptions(causal=True)).timeline["duration_s"].iloc[0]
    two = simulate_serving("llama2_7b", "h200", same_requests(2, 200, 2), ServeOptions(max_batch=2),
                           llm_options=LLMOptions(causal=True)).timeline
    assert two["prefill_tokens"].iloc[0] == 400
    from accelsim.serve.kernel import interp2
    chunk = interp2(table.chunk_grid, table.context_grid, table.chunk_attn_s, 200.0, 0.0)
    token_step = table.token_s[400] + table.head_s[2] - (table.token_s[200] + table.head_s[1])
    assert two["duration_s"].iloc[0] == pytest.approx(one + token_step + chunk - table.chunk_fixed_s, rel=1e-9)


def test_bad_parallel_options_exit_1():
    runner = CliRunner()
    cases = [(["--model", "llama2_7b", "--hw", "h200", "--tp", "3"], "--tp 3 must divide the attention heads"),
             (["--model", "llama2_7b", "--hw", "h200", "--tp", "64"], "--tp 64 must divide the attention heads"),
             (["--model", "llama2_7b", "--hw", "h200", "--tp", "16"], "more than one NVLink domain"),
             (["--model", "mixtral_8x7b", "--hw", "h100"], "do not fit in 0.9 x 79.60 GiB"),
             (["--model", "mixtral_8x7b", "--hw", "h100", "--tp", "2", "--ep", "4"], "--ep must equal --tp")]
    for args, message in cases:
        result = runner.invoke(main, ["serve", *args, "--requests", "5"])
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output, \
            (args, result.output)
    ok = runner.invoke(main, ["serve", "--model", "mixtral_8x7b", "--hw", "h100", "--tp", "2", "--requests", "5",
                              "--format", "json"])
    assert ok.exit_code == 0, ok.output
