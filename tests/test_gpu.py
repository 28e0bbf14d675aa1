"""GPU devices: kernel costs by hand, the hw validator, accelsim llm / run / calibrate on a GPU, and the
validation against measurements of one NVIDIA H200 SXM (tests/data/silicon/README.md).

The fitted parameters of hw/h200.yaml come from tests/data/silicon/h200 (calibrate's round trip below);
tests/data/silicon/h200_heldout was measured afterwards with benchmarks/gpu/measure.py on configurations
the fit never saw (Llama-3-8B's GQA shapes, other batches, contexts and prompts, fused GEMMs) and is
predicted without refitting. docs/silicon.md has every row; the misses listed here are explained there.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from accelsim import spec
from accelsim.cli import main
from accelsim.errors import AccelsimError
from accelsim.gpu.kernels import decode_attention_cost, elementwise_cost, gemm_choice, gemm_cost
from accelsim.gpu.measurements import predict, read_measurements

DATA = Path(__file__).parent / "data" / "silicon"
SHIPPED = [DATA / "h200" / "kernels.csv", DATA / "h200" / "llm_ops.csv"]
HELDOUT = [DATA / "h200_heldout" / "kernels.csv", DATA / "h200_heldout" / "llm_ops.csv"]
REPEAT = [DATA / "h200_repeat" / "kernels.csv", DATA / "h200_repeat" / "llm_ops.csv"]


@pytest.fixture(scope="module")
def h200():
    return spec.load("hw", "h200")


@pytest.fixture(scope="module")
def shipped(h200):
    return predict(h200, read_measurements(SHIPPED))


@pytest.fixture(scope="module")
def heldout(h200):
    return predict(h200, read_measurements(HELDOUT))


def _label(row) -> str:
    from accelsim.gpu.measurements import describe_row
    return describe_row(row)


def _errors(frame, mask):
    part = frame[mask]
    return {_label(r): r["error"] for r in part.to_dict(orient="records")}


# -- kernel costs by hand ----------------------------------------------------------------------------

def _toy(**fitted):
    """A 4-SM device with one 128x128 tile, round numbers, no fixed costs unless given."""
    base = spec.load("hw", "h200")
    values = {k: 0.0 for k in base.fitted.as_dict()} | {
        "sustained_tflops": 4 * 1.0, "gemm_bandwidth_gb_per_s": 1000.0, "attention_bandwidth_gb_per_s": 1000.0,
        "norm_bandwidth_gb_per_s": 1000.0, "elementwise_bandwidth_gb_per_s": 1000.0, "l2_bandwidth_gb_per_s": 4000.0,
        "strided_bandwidth_gb_per_s": 500.0, "prefill_attention_tflops": 2.0, "causal_attention_tflops": 1.0} | fitted
    return dataclasses.replace(base, sms=4, gemm_tiles=((128, 128),), split_k_min_depth=512,
                               fitted=dataclasses.replace(base.fitted, **values))


def test_gemm_waves_and_tile_quantization_by_hand():
    dev = _toy()
    # 256 x 256: 4 tiles on 4 SMs, one wave of 2*128*128*1024 FLOP at 1 TFLOP/s per SM
    one = gemm_cost(dev, 256, 256, 1024)
    assert math.isclose(float(one.compute_s), 2 * 128 * 128 * 1024 / 1e12)
    assert float(one.quantization_s) == pytest.approx(0.0, abs=1e-18)
    # 384 x 256: 3 x 2 = 6 tiles on 4 SMs: 1.5 waves, balanced over the SMs (stream-K): no loss
    two = gemm_cost(dev, 384, 256, 1024)
    wave = 2 * 128 * 128 * 1024 / 1e12
    assert math.isclose(float(two.compute_s + two.quantization_s), 1.5 * wave)
    assert float(two.quantization_s) == pytest.approx(0.0, abs=1e-18)
    # 256 x 128, k = 512 (too shallow to split): 2 tiles on 4 SMs, two SMs idle: one tile's time, twice
    # the ideal
    half = gemm_cost(dev, 256, 128, 512)
    assert math.isclose(float(half.compute_s + half.quantization_s), wave / 2)
    assert math.isclose(float(half.quantization_s), wave / 4)
    # operands through L2: each of the 2 x 2 tiles of 256 x 256 loads 128 rows of A and 128 columns of B
    slow_l2 = _toy(gemm_l2_bandwidth_gb_per_s=10.0)
    bound = gemm_cost(slow_l2, 256, 256, 1024)
    assert math.isclose(float(bound.compute_s + bound.quantization_s), (2 * 256 + 2 * 256) * 1024 * 2 / 10e9)
    # 130 x 128: a tile-quantized edge: 2 tiles (one nearly empty), one wave, ideal 130/256 of it
    edge = gemm_cost(dev, 130, 128, 1024)
    assert math.isclose(float(edge.compute_s), 2 * 130 * 128 * 1024 / 4e12)
    assert "1 wave" in edge.detail


def test_split_k_fills_the_sms_and_memory_bound_gemms_stream():
    # one 128 x 128 tile with k = 2048 on 4 SMs at 1 TFLOP/s each: unsplit 67 us of compute; split 4 ways
    # (k // 512 = 4, SMs // tiles = 4): a quarter of it, plus the partial sums (4 x 128 x 128 FP32, written
    # and read) and the reduction kernel
    dev = _toy(memory_ramp_us=2.0, gemm_kernel_us=1.0, split_k_reduce_us=0.5)
    split = gemm_cost(dev, 128, 128, 2048)
    assert "split-K 4" in split.detail and split.kernels == 2
    assert math.isclose(float(split.time_s), 2 * 128 * 128 * 512 / 1e12 + 0.5e-6 + 1e-6)
    nbytes = (128 * 2048 * 2 + 128 * 128) * 2
    assert math.isclose(gemm_choice(dev, 128, 128, 2048)[2], (nbytes + 2 * 4 * 128 * 128 * 4) / 1e12 + 2e-6)
    # with an L2 operand rate the partial sums (256 KiB, well inside the 50 MB L2) move at it, not from HBM
    cached = _toy(memory_ramp_us=2.0, gemm_l2_bandwidth_gb_per_s=4000.0)
    assert math.isclose(gemm_choice(cached, 128, 128, 2048)[2], nbytes / 1e12 + 2 * 4 * 128 * 128 * 4 / 4e12 + 2e-6)
    # a workspace larger than the L2 streams from HBM
    tiny_l2 = dataclasses.replace(cached, l2_bytes=4 * 128 * 128 * 4 - 1)
    assert math.isclose(gemm_choice(tiny_l2, 128, 128, 2048)[2], (nbytes + 2 * 4 * 128 * 128 * 4) / 1e12 + 2e-6)
    # m = 1: memory-bound; (k*n + m*k + m*n) * 2 bytes at 1000 GB/s + ramp, plus the fixed cost
    fast = _toy(memory_ramp_us=2.0, gemm_kernel_us=1.0, sustained_tflops=4000.0)
    gemv = gemm_cost(fast, 1, 4096, 4096)
    nbytes = (4096 * 4096 + 4096 + 4096) * 2
    assert math.isclose(float(gemv.memory_s), nbytes / 1e12 + 2e-6)
    assert math.isclose(float(gemv.time_s), nbytes / 1e12 + 3e-6)
    assert float(gemv.compute_s) == 0.0


def test_gemm_operand_rereads_and_power_limit_by_hand():
    """HBM bytes of a tile grid: the operand every wave shares is read once when it fits in L2, once per
    wave (or per sweep) when it does not; the power limit adds the work's and the bytes' energies."""
    from accelsim.gpu.kernels import gemm_hbm_bytes
    dev = _toy()
    # 512 x 1024 x 256 in 128 x 128 tiles: 4 x 8 blocks, more columns than rows: along M, A (256 KiB) shared
    a, b, c = 512 * 256 * 2, 256 * 1024 * 2, 512 * 1024 * 2
    assert gemm_hbm_bytes(dev, 512, 1024, 256, 128, 128) == a + b + c
    small = dataclasses.replace(dev, l2_bytes=a - 1)
    assert gemm_hbm_bytes(small, 512, 1024, 256, 128, 128) == a + b + c + (32 / 4 - 1) * a   # 8 waves of 4 SMs
    # transposed (8 x 4 blocks): along N, B (256 KiB) shared, again 8 waves
    assert gemm_hbm_bytes(small, 1024, 512, 256, 128, 128) == b + a + c + 7 * (256 * 512 * 2)
    # a sweep longer than a wave (8 row blocks, 4 SMs; 16 column blocks): A read once per column block
    a2 = 1024 * 256 * 2
    tiny = dataclasses.replace(dev, l2_bytes=1)
    assert gemm_hbm_bytes(tiny, 1024, 2048, 256, 128, 128) == a2 + 256 * 2048 * 2 + 1024 * 2048 * 2 + 15 * a2
    # power limit: 4 tiles of 256 x 256 x 256 take one wave at 1 TFLOP/s per SM (8.4 us); the budget allows
    # 2 TFLOP/s of tensor work alone and 1000 GB/s of HBM traffic alone: 16.8 us + 0.39 us
    capped = _toy(power_limited_tflops=2.0, power_limited_hbm_gb_per_s=1000.0)
    flops, nbytes = 2 * 256 ** 3, 3 * 256 * 256 * 2
    cost = gemm_cost(capped, 256, 256, 256)
    assert math.isclose(float(cost.time_s), flops / 2e12 + nbytes / 1e12)
    assert math.isclose(float(cost.compute_s), flops / 2e12 + nbytes / 1e12)   # the clock the limit allows
    assert float(cost.quantization_s) == pytest.approx(0.0, abs=1e-18)
    assert math.isclose(float(gemm_cost(dev, 256, 256, 256).time_s), flops / 4e12)   # not modelled: 0
    loose = _toy(power_limited_tflops=8.0, power_limited_hbm_gb_per_s=1000.0)   # under the limit
    assert math.isclose(float(gemm_cost(loose, 256, 256, 256).time_s), flops / 4e12)


def test_quantized_gemm_rereads_count_the_shared_operands_own_bytes():
    """W4A16, 512 x 1024 x 256 (group 128) on 4 SMs whose L2 cannot hold A: the grid walks along M, so
    every one of the 8 waves reads A (the bf16 activations, 262,144 B) in full. The 7 re-reads add A's
    own bytes, 7 x 262,144, not A's bytes scaled by the GEMM's quantized-to-bf16 ratio (0.79)."""
    from accelsim.gpu.kernels import gemm_raster
    a, c = 512 * 256 * 2, 512 * 1024 * 2
    b = 256 * 1024 // 2 + 2 * 1024 * (2 + 0.5)   # 4-bit weights, a bf16 scale and 4-bit zero per group
    dev = dataclasses.replace(_toy(), l2_bytes=a - 1)
    assert gemm_raster(dev, 512, 1024, 256, 128, 128) == ("A", 8.0)
    nbytes = a + b + c
    memory = gemm_choice(dev, 512, 1024, 256, 1, nbytes, 2.0, operand_bytes=(a, b))[2]
    assert math.isclose(memory, (nbytes + 7 * a) / 1e12)   # 3,281,920 B at 1000 GB/s
    # transposed, B (the 4-bit weights) shared: its re-reads are its own (quantized) bytes
    b2 = 256 * 512 // 2 + 2 * 512 * 2.5
    dev = dataclasses.replace(_toy(), l2_bytes=int(b2) - 1)
    assert gemm_raster(dev, 1024, 512, 256, 128, 128) == ("B", 8.0)
    nbytes = 1024 * 256 * 2 + b2 + c
    memory = gemm_choice(dev, 1024, 512, 256, 1, nbytes, 2.0, operand_bytes=(1024 * 256 * 2, b2))[2]
    assert math.isclose(memory, (nbytes + 7 * b2) / 1e12)
    # whether the shared operand fits in the L2 is decided by its stored bytes: 4-bit B (68,096 B) fits
    # in an L2 of 136,191 B that its bf16 form (262,144 B) would not, so it is read once
    dev = dataclasses.replace(_toy(), l2_bytes=int(b) - 1)
    assert gemm_raster(dev, 1024, 512, 256, 128, 128) == ("B", 8.0)
    assert gemm_raster(dev, 1024, 512, 256, 128, 128, 2.0, (1024 * 256 * 2, b2)) == ("B", 1.0)
    memory = gemm_choice(dev, 1024, 512, 256, 1, nbytes, 2.0, operand_bytes=(1024 * 256 * 2, b2))[2]
    assert math.isclose(memory, nbytes / 1e12)
    # the LLM's GEMMs pass their operands' bytes: Llama-2-7B W4A16 prefill of 8192 tokens on h200 with
    # only its 256 x 128 tile, mlp.up_proj (8192 x 11008 x 4096: 32 row blocks, 86 column blocks, A of
    # 64 MiB beyond the 50 MiB L2: read 32 x 86 / 132 = 20.8 times)
    from accelsim.llm import LLMOptions
    from accelsim.llm.gpu import op_costs
    from accelsim.llm.infer import Plan
    from accelsim.llm.lower import resolve_llm_config
    from accelsim.llm.phases import prefill_ops
    h200 = dataclasses.replace(spec.load("hw", "h200"), gemm_tiles=((256, 128),))
    opts = LLMOptions(weights="w4a16")
    plan = Plan.make(resolve_llm_config("llama2_7b"), h200, opts, 1)
    ops = prefill_ops(plan.cfg_dev, opts, 8192, 1, plan.e, plan.kv_e)
    up = next(op for op in ops if op.name == "mlp.up_proj")
    cost = next(cost for name, *_, cost, _ in op_costs(ops, h200, plan.cfg_dev, opts, False, 2.0, "unfused", "none") if name == "mlp.up_proj")
    a, b = 8192 * 4096 * 2, float(np.max(up.weight_bytes))
    nbytes = b + float(np.max(up.act_bytes))
    assert b == 4096 * 11008 / 2 + 32 * 11008 * 2.5 and nbytes == b + a + 8192 * 11008 * 2
    want = gemm_cost(h200, 8192, 11008, 4096, 1, 2.0, nbytes=nbytes, operand_bytes=(a, b))
    assert float(np.max(cost.time_s)) == float(want.time_s)
    choice = gemm_choice(h200, 8192, 11008, 4096, 1, nbytes, 2.0, operand_bytes=(a, b))
    shared, reads = gemm_raster(h200, 8192, 11008, 4096, choice[3], choice[4])
    assert (shared, reads) == ("A", 32 * 86 / 132)
    assert math.isclose(choice[2], (nbytes + (reads - 1) * a)
                        / (h200.fitted.gemm_bandwidth_gb_per_s * 1e9) + h200.fitted.memory_ramp_us * 1e-6)


def test_h200_gemm_kernel_choices_match_the_profiler():
    """A batch-1 decode step of Llama-2-7B: the PyTorch profiler counted 32 kernels per layer (q/k/v/o
    and down split K: two kernels each; gate and up one). At m = 64 the 4096 x 4096 projection runs
    unsplit (11.9 us measured, below the 13.1 us of the split GEMV at m = 1)."""
    import json
    h200 = spec.load("hw", "h200")
    assert gemm_cost(h200, 1, 4096, 4096).kernels == 2 and gemm_cost(h200, 1, 11008, 4096).kernels == 1
    assert gemm_cost(h200, 1, 4096, 11008).kernels == 2 and gemm_cost(h200, 64, 4096, 4096).kernels == 1
    out = json.loads(CliRunner().invoke(main, ["llm", "--model", "llama2_7b", "--hw", "h200", "--prompt", "2048",
                                               "--generate", "2", "--format", "json"]).stdout)
    per_layer = [op for op in out["ops"] if op["phase"] == "decode" and op["layers"] == 32]
    assert sum(op["kernels"] for op in per_layer) == 32 * 32


def test_attention_and_elementwise_by_hand():
    dev = _toy(attention_kernel_us=5.0, residual_kernel_us=1.0, rope_kernel_us=2.0)
    att = decode_attention_cost(dev, kv_bytes=1e6)
    assert math.isclose(float(att.time_s), 1e6 / 1e12 + 5e-6) and att.kernels == 2
    res = elementwise_cost(dev, "residual", 3e6, 1)          # fits in L2: at L2 bandwidth
    assert math.isclose(float(res.time_s), 3e6 / 4e12 + 1e-6)
    big = elementwise_cost(dev, "residual", 3e9, 1)          # larger than L2: HBM bandwidth
    assert math.isclose(float(big.time_s), 3e9 / 1e12 + 1e-6)
    rope = elementwise_cost(dev, "rope", 1e6, 10)
    assert math.isclose(float(rope.time_s), 1e6 / 5e11 + 10 * 2e-6)


def test_row_reductions_by_hand():
    """Norms and the argmax: their own fixed cost; their bytes at the norm rate while one kernel's bytes fit
    in L2, at the contiguous kernels' HBM rate beyond (a 4096-token RMSNorm of d = 4096 moves 67 MB)."""
    dev = dataclasses.replace(_toy(norm_kernel_us=4.0, argmax_kernel_us=7.0, norm_bandwidth_gb_per_s=2000.0,
                                   elementwise_bandwidth_gb_per_s=1000.0), l2_bytes=50 * 2 ** 20)
    l2 = 50 * 2 ** 20
    norm = elementwise_cost(dev, "norm", 2 * l2, 2)           # two kernels of exactly L2's size: the norm rate
    assert math.isclose(float(norm.time_s), 2 * l2 / 2e12 + 2 * 4e-6) and norm.kernels == 2
    over = elementwise_cost(dev, "norm", 2 * l2 + 2, 2)       # one byte over per kernel: HBM
    assert math.isclose(float(over.time_s), (2 * l2 + 2) / 1e12 + 2 * 4e-6)
    argmax = elementwise_cost(dev, "argmax", 64000.0, 1)      # 32000 bf16 logits, one row
    assert math.isclose(float(argmax.time_s), 64000 / 2e12 + 7e-6)
    per_step = elementwise_cost(dev, "norm", np.array([1e6, 1.2e8]), 1)   # arrays over decode steps
    assert np.allclose(per_step.time_s, [1e6 / 2e12 + 4e-6, 1.2e8 / 1e12 + 4e-6])


def test_fused_residual_add_and_norm_by_hand():
    """--kernels fused: the residual add runs in the next norm's kernel, which reads x and m and writes x
    and the normalised h (4 tensors); the add's own bytes are m's read and x's write, and the L2 test
    looks at the fused kernel's 4 tensors. At 2048 tokens of d = 4096 that kernel moves 67 MB: beyond L2."""
    from accelsim.llm.gpu import op_costs
    from accelsim.llm.lower import resolve_llm_config
    from accelsim.llm.phases import prefill_ops
    from accelsim.llm.variants import LLMOptions
    dev = spec.load("hw", "h200")
    f = dev.fitted
    cfg, opts = resolve_llm_config("llama2_7b"), LLMOptions(causal=True)
    tensor = 2048 * 4096 * 2.0
    costs = {name: cost for name, _, _, cost, _ in
             op_costs(prefill_ops(cfg, opts, 2048, 1, 2, 2), dev, cfg, opts, False, 2, "fused", "none")}
    hbm = f.elementwise_bandwidth_gb_per_s * 1e9
    assert 4 * tensor > dev.l2_bytes >= 2 * tensor
    assert costs["attn.residual"].kernels == 0
    assert float(np.sum(costs["attn.residual"].time_s)) == pytest.approx(2 * tensor / hbm, rel=1e-12)
    assert float(np.sum(costs["mlp_norm"].time_s)) == pytest.approx(2 * tensor / hbm + f.norm_kernel_us * 1e-6, rel=1e-12)
    unfused = {name: cost for name, _, _, cost, _ in
               op_costs(prefill_ops(cfg, opts, 2048, 1, 2, 2), dev, cfg, opts, False, 2, "unfused", "none")}
    norm_rate = f.norm_bandwidth_gb_per_s * 1e9   # unfused, the norm alone (33.5 MB) fits in L2
    assert float(np.sum(unfused["mlp_norm"].time_s)) == pytest.approx(2 * tensor / norm_rate + f.norm_kernel_us * 1e-6,
                                                              rel=1e-12)


def test_prefill_lm_head_row_is_the_last_token(heldout):
    """measure.py's lm_head row normalises the last token only (x[:, -1]): a prefill lm_head row is
    predicted as the same three kernels as a batch-1 decode step's (final norm of one row, the GEMV, the
    argmax); measured eagerly it took 43-46 us more than the graph-timed decode row of the held-out set."""
    rows = {(r["model"], r["phase"], int(r["batch"]), int(r["context"])): r for r in
            heldout[heldout["op"] == "lm_head"].to_dict(orient="records")}
    decode = rows[("llama2_7b", "decode", 1, 2048)]
    for context in (512, 4096):
        prefill = rows[("llama2_7b", "prefill", 1, context)]
        assert prefill["predicted_s"] == pytest.approx(decode["predicted_s"], rel=1e-12)
        assert 43e-6 < prefill["time_s"] - decode["time_s"] < 46e-6


def test_norm_rate_is_above_the_hbm_ceilings(shipped):
    """The norm rate fitted to the RMSNorm rows (their input, 16.8 MB at 2048 tokens, stays in L2 between
    the layers of a per-op row) is above every HBM ceiling measured in the same session: an L2-assisted
    rate, not HBM's, so norms larger than L2 take the HBM rate of the contiguous kernels."""
    dev = spec.load("hw", "h200")
    ceilings = shipped[(shipped["format"] == "ops") & (shipped["phase"] == "ceiling")
                       & shipped["op"].isin(["d2d_copy", "read_sum"])]
    copy = 2 * 4 * 2 ** 30 / float(ceilings[ceilings["op"] == "d2d_copy"]["time_s"].iloc[0])   # 4 GiB read + written
    read = 4 * 2 ** 30 / float(ceilings[ceilings["op"] == "read_sum"]["time_s"].iloc[0])
    assert 4.1e12 < read < copy < 4.3e12
    assert dev.fitted.norm_bandwidth_gb_per_s * 1e9 > 1.15 * copy
    assert dev.fitted.elementwise_bandwidth_gb_per_s * 1e9 < read


# -- hw files ----------------------------------------------------------------------------------------

def test_unmeasured_presets_are_the_h200_fit_scaled_by_datasheet_ratios():
    """hw/h100.yaml and hw/a100.yaml carry the H200 fit scaled by their datasheet ratios (accelsim.gpu.scaling;
    ``python -m accelsim.gpu.scaling`` rewrites them after a refit): by hand for a few keys, then every key."""
    from accelsim.gpu.scaling import scaled_fitted
    h200, h100, a100 = (spec.load("hw", n) for n in ("h200", "h100", "a100"))
    assert h100.fitted.sustained_tflops == h200.fitted.sustained_tflops            # same 989 TFLOP/s peak
    assert h100.fitted.gemm_bandwidth_gb_per_s == pytest.approx(h200.fitted.gemm_bandwidth_gb_per_s * 3350 / 4800,
                                                                rel=1e-3)
    assert a100.fitted.sustained_tflops == pytest.approx(h200.fitted.sustained_tflops * 312 / 989, rel=1e-3)
    assert a100.fitted.l2_bandwidth_gb_per_s == pytest.approx(
        h200.fitted.l2_bandwidth_gb_per_s * 108 * 1410 / (132 * 1980), rel=1e-3)
    assert a100.fitted.graph_gap_us == h200.fitted.graph_gap_us
    # the power-limited rates are a power budget over energies per FLOP and per byte: the H100 SXM (same GH100
    # die, same 700 W) keeps the H200's, both of them; the A100 scales both by one ratio
    assert h100.fitted.power_limited_hbm_gb_per_s == h200.fitted.power_limited_hbm_gb_per_s
    assert h100.fitted.power_limited_tflops == h200.fitted.power_limited_tflops
    assert (a100.fitted.power_limited_hbm_gb_per_s / h200.fitted.power_limited_hbm_gb_per_s
            == pytest.approx(a100.fitted.power_limited_tflops / h200.fitted.power_limited_tflops, rel=1e-3))
    for preset in (h100, a100):
        assert preset.fitted.as_dict() == scaled_fitted(h200, preset), preset.name


@pytest.mark.parametrize("name", ["h200", "h100", "a100"])
def test_presets_load(name):
    dev = spec.load("hw", name)
    assert isinstance(dev, spec.GpuHardware) and dev.sms > 0 and dev.fitted.sustained_tflops > 0
    assert dev.fitted.sustained_tflops * 1e12 < dev.peak_flops_per_s   # sustained below the datasheet peak


def test_h200_hierarchy_as_an_architecture_tree():
    tree = spec.load("hw", "h200").tree
    assert [level.name for level in tree.levels] == ["HBM", "L2", "SMs", "SharedMemory", "TensorCores",
                                                      "RegisterFile", "TensorCoreMACs", "MAC"]
    assert "132" in tree.summary() and "51200 KiB" in tree.summary()


def test_device_memory_is_what_the_driver_reports():
    """gpu.hbm_gib is the memory total nvidia-smi shows ([gpu-memory-total]: H200 143,771 MiB, H100 80GB
    81,559 MiB, A100-SXM4-80GB 81,920 MiB), the total vLLM sizes its KV cache from; the datasheets' 141
    and 80 GB read as 10^9 B would be 7% less (131.3 and 74.5 GiB)."""
    for name, mib in (("h200", 143_771), ("h100", 81_559), ("a100", 81_920)):
        dev = spec.load("hw", name)
        assert abs(dev.hbm_bytes - mib * 2 ** 20) < 0.05 * 2 ** 30, (name, dev.hbm_bytes / 2 ** 30)


def test_h200_tree_peak_and_bandwidth_are_the_datasheets():
    """The tree's MACs x clock give the H200 datasheet's 989 TFLOP/s dense BF16 and its HBM level
    4.8 TB/s (NVIDIA H200 datasheet), to the rounding of the per-cycle figures."""
    tree = spec.load("hw", "h200").tree
    macs = 1
    for level in tree.spatial_levels:
        macs *= level.fanout_x * level.fanout_y
    hz = tree.clock_mhz * 1e6
    assert 2 * macs * hz / 1e12 == pytest.approx(989, rel=2e-3)
    assert tree.level("HBM").bandwidth_bytes_per_cycle * hz / 1e12 == pytest.approx(4.8, rel=2e-3)


def test_gpu_validator_reports_every_problem(tmp_path):
    text = (spec.ROOT / "hw" / "h200.yaml").read_text()
    bad = (text.replace("sms: 132", "sms: -1").replace("    sustained_tflops:", "    sustained_tflop:")
           .replace("gemm_tiles: [[128, 128]", "gemm_tiles: [[128]").replace("  l2_mib: 50", "  l2_mb: 50"))
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(AccelsimError) as err:
        spec.load_hw(path)
    msg = str(err.value)
    for needle in ("gpu.sms", "gpu.fitted.sustained_tflops", "gpu.fitted.sustained_tflop", "did you mean",
                   "gpu.gemm_tiles", "gpu.l2_mib", str(path)):
        assert needle in msg, needle


def test_tree_keys_without_a_tree_are_refused(tmp_path):
    path = tmp_path / "h100.yaml"
    path.write_text((spec.ROOT / "hw" / "h100.yaml").read_text() + "clock_mhz: 1980\n")
    with pytest.raises(AccelsimError, match="clock_mhz: belongs to the architecture tree"):
        spec.load_hw(path)


def test_array_simulator_refuses_a_gpu():
    with pytest.raises(AccelsimError, match="kernel by kernel"):
        spec.load_hardware(spec.resolve("hw", "h200"))


# -- validation against the shipped measurements -------------------------------------------------------

def test_whole_decode_steps_and_prefill_within_10_percent(shipped):
    whole = shipped["op"].isin(["step", "pass_causal", "pass_dense"]).to_numpy()
    errors = _errors(shipped, whole)
    assert len(errors) == 7   # decode b1/16/64 at 2048, b1 at 8192 and 32768; prefill causal and dense
    assert max(abs(e) for e in errors.values()) < 0.10, errors
    eager = _errors(shipped, (shipped["op"] == "step_eager").to_numpy())
    assert max(abs(e) for e in eager.values()) < 0.10, eager


def test_per_op_rows_within_15_percent(shipped):
    per_op = ((shipped["format"] == "ops") & shipped["phase"].isin(["decode", "prefill"])
              & ~shipped["op"].isin(["step", "step_eager", "pass_causal", "pass_dense"])).to_numpy()
    errors = _errors(shipped, per_op)
    assert len(errors) == 5 * 14 + 13   # decode: 14 ops x 5 cases; prefill: 13 (attention causal and dense)
    assert max(abs(e) for e in errors.values()) < 0.15, {k: round(e, 3) for k, e in errors.items() if abs(e) > 0.1}


def test_gemm_grid_m64_within_10_percent(shipped):
    """Every GEMM of the grid with m >= 64 within 10% (worst -9.8%, RMS 5.4%; docs/silicon.md). Before the
    power limit and the operand re-reads entered the model: 52 of 56, worst +11.1%, RMS 5.7%."""
    gemm = ((shipped["format"] == "kernels") & (shipped["kind"] == "gemm") & (shipped["m"] >= 64)).to_numpy()
    errors = _errors(shipped, gemm)
    assert len(errors) == 56
    assert max(abs(e) for e in errors.values()) < 0.10, {k: round(e, 3) for k, e in errors.items() if abs(e) > 0.09}
    rms = math.sqrt(np.mean([e * e for e in errors.values()]))
    assert rms < 0.055
    # docs/silicon.md's summary: the m < 64 rows too, all 98 within 10%
    every = _errors(shipped, ((shipped["format"] == "kernels") & (shipped["kind"] == "gemm")).to_numpy())
    assert len(every) == 98 and max(abs(e) for e in every.values()) < 0.10


def test_big_gemm_misses_are_the_session_not_the_shape(shipped):
    """The evidence docs/silicon.md gives for the big-GEMM misses, read from the shipped measurements: the
    same big GEMMs (m >= 1024, 10 shapes) measured again in the repeat session moved by -4 to +5% when a call lasts
    under 0.4 ms and ran 14-17% faster when it lasts over 0.5 ms; in the fitted set every GEMM with m >= 512
    and calls over 0.5 ms ran at 628-702 TFLOP/s. One sustained rate sits between."""
    repeat = read_measurements(REPEAT)

    def gemms(frame):
        rows = frame[(frame["format"] == "kernels") & (frame["kind"] == "gemm")]
        return {(int(r["m"]), int(r["n"]), int(r["k"])): r["time_s"] for r in rows.to_dict(orient="records")}
    fitted, again = gemms(shipped), gemms(repeat)
    common = [key for key in fitted if key in again and key[0] >= 1024]
    assert len(common) == 10
    for key in common:
        change = fitted[key] / again[key] - 1
        if fitted[key] > 5e-4:
            assert 0.13 < change < 0.18, (key, change)
        else:
            assert fitted[key] < 4e-4 and abs(change) < 0.05, (key, change)
    long = [2 * m * n * k / t / 1e12 for (m, n, k), t in fitted.items() if m >= 512 and t > 5e-4]
    assert len(long) == 14 and 627 < min(long) and max(long) < 703


def test_decode_attention_grid_within_15_percent(shipped):
    """Every row within 15% (worst 4.7%): batch 4 at context 512 runs as one flash kernel (its 128 blocks
    fill the SMs), batch 1 splits the context and adds the combine kernel."""
    grid = ((shipped["format"] == "kernels") & (shipped["kind"] == "decode_attention")).to_numpy()
    errors = _errors(shipped, grid)
    assert len(errors) == 16
    assert max(abs(e) for e in errors.values()) < 0.06, errors


def test_flash_decoding_split_heuristic_by_hand():
    from accelsim.gpu.kernels import flash_decoding_splits
    # FlashAttention-2's own example: 48 blocks on 108 SMs: 2 splits (efficiency 0.89) beat 3 (0.67)
    assert flash_decoding_splits(48, 108, 64) == 2
    assert flash_decoding_splits(128, 132, 4) == 1        # batch 4 x 32 heads fills 80% of 132 SMs: no split
    assert flash_decoding_splits(32, 132, 16) == 4        # batch 1 x 32 heads: 4 x 32 = 128 blocks (0.97)
    assert flash_decoding_splits(8, 132, 8) == 8          # at most one split per 128-position key block
    dev = _toy(attention_kernel_us=5.0, attention_combine_us=2.0)
    one = decode_attention_cost(dev, 1e6, blocks=4, context=4096)         # 4 blocks fill the toy's 4 SMs
    split = decode_attention_cost(dev, 1e6, blocks=1, context=4096)
    assert one.kernels == 1 and math.isclose(float(one.time_s), 1e6 / 1e12 + 5e-6)
    assert split.kernels == 2 and math.isclose(float(split.time_s), 1e6 / 1e12 + 7e-6)
    steps = decode_attention_cost(dev, np.array([1e6, 2e6]), blocks=np.array([1, 4]), context=4096)
    assert np.allclose(steps.overhead_s, [7e-6, 5e-6])


def test_held_out_whole_passes(heldout):
    """Configurations measured after the fit (GQA Llama-3-8B, other batches and contexts, prefills of
    512 / 1024 / 4096 tokens, fused q/k/v and gate/up GEMMs), predicted without refitting."""
    graph = _errors(heldout, (heldout["op"] == "step").to_numpy())
    assert len(graph) >= 8 and max(abs(e) for e in graph.values()) < 0.05, graph
    prefill = _errors(heldout, heldout["op"].isin(["pass_causal", "pass_dense"]).to_numpy())
    assert len(prefill) >= 6 and max(abs(e) for e in prefill.values()) < 0.10, prefill
    eager = _errors(heldout, (heldout["op"] == "step_eager").to_numpy())
    assert max(abs(e) for e in eager.values()) < 0.15, eager
    grid = _errors(heldout, (heldout["format"] == "kernels").to_numpy())
    assert max(abs(e) for e in grid.values()) < 0.16, grid   # worst: 2048 x 4096 x 14336 (+15.0%)
    gemm = _errors(heldout, ((heldout["format"] == "kernels") & (heldout["kind"] == "gemm")
                             & (heldout["m"] >= 64)).to_numpy())
    within = sum(abs(e) <= 0.10 for e in gemm.values())
    rms = math.sqrt(np.mean([e * e for e in gemm.values()]))
    assert len(gemm) == 17 and within >= 11 and rms < 0.085, (within, rms)   # 11 of 17, RMS 8.0% (was 9.6%)
    attention = _errors(heldout, ((heldout["format"] == "kernels") & (heldout["kind"] == "decode_attention")).to_numpy())
    assert len(attention) == 13 and max(abs(e) for e in attention.values()) < 0.15, attention   # worst -10.2%


def test_held_out_per_op_rows(heldout):
    """157 of the 180 held-out per-op rows within 15% (docs/silicon.md, "Misses and why"): every decode
    row but RoPE's (measure.py's implementation), the lm_head rows with the argmax as its own reduction
    kernel, the 4096-token norms (67 MB each, beyond L2: at HBM rate); the misses are RoPE, eager prefill
    rows whose host time exceeds their GPU time (512-1024 tokens) and measure.py's slower prefill RoPE and
    K/V copies at 4096 tokens."""
    per_op = ((heldout["format"] == "ops") & heldout["phase"].isin(["decode", "prefill"])
              & ~heldout["op"].isin(["step", "step_eager", "pass_causal", "pass_dense"])).to_numpy()
    errors = _errors(heldout, per_op)
    assert len(errors) == 180
    assert sum(abs(e) <= 0.15 for e in errors.values()) >= 157
    decode = {k: e for k, e in errors.items() if " decode " in k}
    assert {k for k, e in decode.items() if abs(e) > 0.15} <= {k for k in decode if k.endswith("attn.rope")}
    lm_head = [e for k, e in decode.items() if k.endswith("lm_head")]
    assert len(lm_head) == 9 and all(abs(e) < 0.15 for e in lm_head), lm_head
    for op in ("attn_norm", "mlp_norm"):
        assert abs(errors[f"llama2_7b prefill b=1 ctx=4096 {op}"]) < 0.14
    misses = {k for k, e in errors.items() if abs(e) > 0.15}
    assert all(k.endswith("attn.rope") or " ctx=512 " in k or " ctx=1024 " in k or " ctx=4096 " in k for k in misses)


def test_eager_host_time_is_the_session_not_the_kernel_mix(h200, shipped, heldout):
    """The evidence docs/silicon.md gives for leaving the eager rows as they are: the same Llama-2-7B
    batch-1 step (the same 1028 kernels) took 21.3, 24.3 and 18.2 ms eagerly in three sessions, and in the
    held-out run Llama-3-8B's step (the same kernel kinds and count) 18.6 ms against Llama-2's 24.3 ms, so
    no host cost per kernel kind explains them; and a one-op loop's host time per kernel is not the eager
    step's (the fitted session's 32 residual adds took 7.6 us per call in all, GPU time included, a third
    of eager_launch_us), so max(GPU, kernels x eager_launch_us) cannot be the eager per-op rows' rule."""
    from accelsim.llm.gpu import op_costs
    from accelsim.llm.lower import resolve_llm_config
    from accelsim.llm.phases import decode_ops
    from accelsim.llm.variants import LLMOptions
    repeat = read_measurements(REPEAT)

    def eager(frame, model):
        rows = frame[(frame["op"] == "step_eager") & (frame["model"] == model)]
        assert len(rows) == 1
        return float(rows["time_s"].iloc[0])
    llama2 = [eager(f, "llama2_7b") for f in (shipped, heldout, repeat)]
    assert max(llama2) / min(llama2) > 1.3
    assert eager(heldout, "llama2_7b") / eager(heldout, "llama3_8b") > 1.25

    def kernels(model):
        cfg, opts = resolve_llm_config(model), LLMOptions()
        costs = op_costs(decode_ops(cfg, opts, 2048, 1, 1, 2, 2)[1], h200, cfg, opts, True, 2, "unfused", "eager")
        return {name: c.kernels * layers for name, _, layers, c, _ in costs}
    assert kernels("llama2_7b") == kernels("llama3_8b") and sum(kernels("llama2_7b").values()) == 1028
    residual = shipped[(shipped["phase"] == "prefill") & (shipped["op"] == "attn.residual")]
    per_call = float(residual["time_s"].iloc[0]) / 32
    assert per_call < h200.fitted.eager_launch_us * 1e-6 / 2


def test_repeat_of_the_fitted_cases_in_another_session(h200):
    """measure.py's default run (the fitted configurations, measured again in a later session):
    CUDA-graph steps and prefills stay within 10%; the eager step moves with the host (18.2 ms here,
    21.3 ms in the fitted set), so only a loose bound holds for it."""
    repeat = predict(h200, read_measurements(REPEAT))
    whole = _errors(repeat, repeat["op"].isin(["step", "pass_causal", "pass_dense"]).to_numpy())
    assert len(whole) == 7 and max(abs(e) for e in whole.values()) < 0.10, whole
    eager = _errors(repeat, (repeat["op"] == "step_eager").to_numpy())
    assert max(abs(e) for e in eager.values()) < 0.20, eager
    gemm = _errors(repeat, ((repeat["format"] == "kernels") & (repeat["kind"] == "gemm") & (repeat["m"] >= 64)).to_numpy())
    within = sum(abs(e) <= 0.10 for e in gemm.values())
    rms = math.sqrt(np.mean([e * e for e in gemm.values()]))
    assert len(gemm) == 20 and within >= 13 and rms < 0.095, (within, rms)   # 13 of 20, RMS 9.2% (was 11, 10.2%)
    per_op = _errors(repeat, ((repeat["format"] == "ops") & repeat["phase"].isin(["decode", "prefill"])
                              & ~repeat["op"].isin(["step", "step_eager", "pass_causal", "pass_dense"])).to_numpy())
    assert len(per_op) == 91 and sum(abs(e) <= 0.15 for e in per_op.values()) >= 80   # 80 of 91 (docs/silicon.md)


# -- calibrate -----------------------------------------------------------------------------------------

def test_calibrate_round_trips_the_shipped_fit(h200, tmp_path):
    """Calibrating hw/h200.yaml on the shipped measurements reproduces it byte for byte (but the date)."""
    import re

    from accelsim.gpu.calibrate import fit, write_hw
    fitted, groups = fit(h200, read_measurements(SHIPPED))
    for key, value in h200.fitted.as_dict().items():
        assert getattr(fitted.fitted, key) == pytest.approx(value, rel=2e-3), key
    assert {g.name for g in groups if g.rows} == {g.name for g in groups}   # every group had rows
    shipped = spec.ROOT / "hw" / "h200.yaml"
    names = [str(p.relative_to(DATA.parent.parent.parent)) for p in SHIPPED]   # as the file names them
    text = write_hw(shipped, fitted, names, tmp_path / "h200.yaml")
    date = re.compile(r"\(\d{4}-\d{2}-\d{2}\)")
    assert date.sub("(DATE)", text) == date.sub("(DATE)", shipped.read_text())


def test_calibrate_leaves_sustained_load_rows_out_of_the_gemm_fit():
    """measure.py --sustain adds, per GEMM point, a row timed under sustained load (variant '...; sustained 500
    ms; ...'): another state of the board, which validates the power limit; the GEMM group fits the grid's
    rows and their repeats ('round i/N') only."""
    from accelsim.gpu.calibrate import GROUPS
    frame = read_measurements(SHIPPED)
    select = dict((name, sel) for name, _, sel in GROUPS)
    gemm_group = next(name for name, params, _ in GROUPS if "sustained_tflops" in params)
    base = int(np.asarray(select[gemm_group](frame), dtype=bool).sum())
    assert base == 98
    gemm = frame[(frame["format"] == "kernels") & (frame["kind"] == "gemm")]
    rounds = gemm.assign(variant="round 2/3")
    sustained = gemm.assign(variant="round 1/3; sustained 500 ms; SM 1755-1980 MHz, 690-700 W, SwPowerCap")
    import pandas as pd
    both = pd.concat([frame, rounds, sustained], ignore_index=True)
    assert int(np.asarray(select[gemm_group](both), dtype=bool).sum()) == 2 * base


def test_calibrate_fits_the_power_limit_into_a_file_without_it(tmp_path):
    """From a hw file without the power-limited rates (not modelled) calibrate's GEMM group tries four
    starts for them and keeps the best: it lands on the shipped fit's basin (the landscape is flat: the
    HBM-side values within a few per cent), with every GEMM of the grid with m >= 64 within 10%."""
    import re

    from accelsim.gpu.calibrate import fit
    text = (spec.ROOT / "hw" / "h200.yaml").read_text()
    path = tmp_path / "no_power.yaml"
    path.write_text(re.sub(r"^\s+power_limited_\w+:[^\n]*\n", "", text, flags=re.MULTILINE))
    base = spec.load_hw(path)
    assert base.fitted.power_limited_tflops == 0 and base.fitted.power_limited_hbm_gb_per_s == 0
    frame = read_measurements(SHIPPED)
    dev, _ = fit(base, frame)
    shipped = spec.load("hw", "h200").fitted
    assert dev.fitted.power_limited_tflops == pytest.approx(shipped.power_limited_tflops, rel=0.01)
    assert dev.fitted.power_limited_hbm_gb_per_s == pytest.approx(shipped.power_limited_hbm_gb_per_s, rel=0.03)
    assert dev.fitted.sustained_tflops == pytest.approx(shipped.sustained_tflops, rel=0.01)
    table = predict(dev, frame)
    gemm = table[(table["format"] == "kernels") & (table["kind"] == "gemm") & (table["m"] >= 64)]
    assert len(gemm) == 56 and gemm["error"].abs().max() < 0.10


def test_files_from_before_the_optional_keys_stay_valid(tmp_path):
    """A hw file calibrated before attention_combine_us, split_k_reduce_us, gemm_l2_bandwidth_gb_per_s, the
    power-limited rates and argmax_kernel_us existed loads (0: not modelled; the argmax costed as a norm
    kernel, as it was then) and calibrate writes the keys into it."""
    import re

    from accelsim.gpu.calibrate import write_hw
    from accelsim.spec.gpu import OPTIONAL_FITTED
    text = (spec.ROOT / "hw" / "h200.yaml").read_text()
    old = re.sub(r"^\s+(attention_combine_us|split_k_reduce_us|gemm_l2_bandwidth_gb_per_s|power_limited_\w+|argmax_kernel_us)"
                 r":[^\n]*\n", "", text, flags=re.MULTILINE)
    path = tmp_path / "old.yaml"
    path.write_text(old)
    dev = spec.load_hw(path)
    assert set(OPTIONAL_FITTED) == {"attention_combine_us", "split_k_reduce_us", "gemm_l2_bandwidth_gb_per_s",
                                    "power_limited_tflops", "power_limited_hbm_gb_per_s", "argmax_kernel_us"}
    assert all(getattr(dev.fitted, key) == 0 for key in OPTIONAL_FITTED if key != "argmax_kernel_us")
    assert dev.fitted.argmax_kernel_us == dev.fitted.norm_kernel_us
    assert elementwise_cost(dev, "argmax", 64e3, 1).time_s == elementwise_cost(dev, "norm", 64e3, 1).time_s
    assert gemm_cost(dev, 4096, 4096, 4096).time_s > 0
    assert decode_attention_cost(dev, 1e6, blocks=1, context=512).kernels == 2
    out = tmp_path / "new.yaml"
    out.write_text(write_hw(path, spec.load("hw", "h200"), ["m.csv"], out))
    assert spec.load_hw(out).fitted == spec.load("hw", "h200").fitted


def test_calibrate_cli_writes_a_commented_hw_file(tmp_path):
    out = tmp_path / "mine.yaml"
    kernels = tmp_path / "kernels.csv"
    # a user's own grid: the shipped GEMM and attention rows, times 1.1 (a slower part)
    lines = (DATA / "h200" / "kernels.csv").read_text().splitlines()
    header = lines[0].split(",")
    t = header.index("time_s")
    rows = [",".join(f"{float(v) * 1.1!r}" if i == t else v for i, v in enumerate(line.split(","))) for line in lines[1:]]
    kernels.write_text("\n".join([lines[0]] + rows) + "\n")
    result = CliRunner().invoke(main, ["calibrate", "--measurements", str(kernels), "--hw", "h200", "-o", str(out),
                                       "--name", "slower"])
    assert result.exit_code == 0, result.output
    assert "residuals per row" in result.output and "gemm m=8192 n=4096 k=4096" in result.output
    text = out.read_text()
    assert text.startswith("# yaml-language-server:") and str(kernels) in text and "calibrate" in text
    dev = spec.load_hw(out)
    base = spec.load("hw", "h200")
    assert dev.name == "slower"
    assert dev.fitted.sustained_tflops < base.fitted.sustained_tflops            # 10% slower GEMMs
    assert dev.fitted.graph_gap_us == base.fitted.graph_gap_us                   # no step rows: kept
    again = CliRunner().invoke(main, ["calibrate", "--measurements", str(kernels), "--hw", "h200", "-o", str(out)])
    assert again.exit_code == 1 and "--force" in again.output
    # without --name the device is named after the file written (results then say mine, not h200)
    forced = CliRunner().invoke(main, ["calibrate", "--measurements", str(kernels), "--hw", "h200", "-o", str(out),
                                       "--force"])
    assert forced.exit_code == 0, forced.output
    assert spec.load_hw(out).name == "mine"


@pytest.mark.parametrize("content, needle", [
    ("kind,m,n,k,time_s\ngemm,1,2,3,1e-5\n", "missing column(s) batch, heads, kv_heads, context, bytes"),
    ("model,phase,batch,context,op,time_s\nllama2_7b,decode,1,2048,step,-1\n", "line 2: column time_s"),
    ("model,phase,batch,context,op,time_s\nllama2_7b,decode,1,2048,stepp,0.006\n", "column op: unknown decode op 'stepp'"),
    ("a,b\n1,2\n", "not a measurement table"),
    ("kind,m,n,k,batch,heads,kv_heads,context,time_s,bytes\nconv,1,2,3,,,,,1e-5,\n", "column kind: unknown kind 'conv'"),
])
def test_calibrate_rejects_bad_measurement_files(tmp_path, content, needle):
    path = tmp_path / "m.csv"
    path.write_text(content)
    out = tmp_path / "out.yaml"
    result = CliRunner().invoke(main, ["calibrate", "--measurements", str(path), "--hw", "h200", "-o", str(out)])
    assert result.exit_code == 1 and needle in result.output and str(path) in result.output, result.output
    assert "Traceback" not in result.output and not out.exists()


def test_calibrate_too_few_rows_and_no_convergence_write_nothing(tmp_path):
    few = tmp_path / "few.csv"
    lines = (DATA / "h200" / "kernels.csv").read_text().splitlines()
    few.write_text("\n".join(lines[:3]) + "\n")     # two GEMM rows for four GEMM parameters
    out = tmp_path / "out.yaml"
    result = CliRunner().invoke(main, ["calibrate", "--measurements", str(few), "--hw", "h200", "-o", str(out)])
    assert result.exit_code == 1 and "too few rows to fit the gemm" in result.output and not out.exists()
    grid = tmp_path / "grid.csv"
    grid.write_text("\n".join(lines) + "\n")
    stuck = CliRunner().invoke(main, ["calibrate", "--measurements", str(grid), "--hw", "a100", "-o", str(out),
                                      "--max-evaluations", "1"])
    assert stuck.exit_code == 1 and "did not converge" in stuck.output and "nothing written" in stuck.output
    assert not out.exists()


# -- the commands ----------------------------------------------------------------------------------------

def test_llm_on_h200_splits_the_time(tmp_path):
    import json
    args = ["llm", "--model", "llama2_7b", "--hw", "h200", "--prompt", "512", "--generate", "4", "--format", "json"]
    unfused = json.loads(CliRunner().invoke(main, args).stdout)
    fused = json.loads(CliRunner().invoke(main, args + ["--kernels", "fused"]).stdout)
    eager = json.loads(CliRunner().invoke(main, args + ["--launch", "eager"]).stdout)
    assert fused["tpot_s"] < unfused["tpot_s"] < eager["tpot_s"]
    assert fused["decode_kernels"] < unfused["decode_kernels"]
    decode = [op for op in unfused["ops"] if op["phase"] == "decode"]
    for op in decode:
        parts = sum(op[k] for k in ("compute_s", "quantization_s", "memory_s", "overhead_s", "launch_s"))
        assert parts == pytest.approx(op["time_s"], rel=1e-9)
    assert {op["op"] for op in decode} >= {"attention", "attn.rope", "mlp.down_proj"}
    assert "attn.qkv_proj" in {op["op"] for op in fused["ops"]}
    table = CliRunner().invoke(main, args[:-2])
    assert table.exit_code == 0 and "quant_s" in table.output and "overhead_s" in table.output


def test_run_on_h200_writes_the_per_layer_table(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "--hw", "h200", "--workload", "resnet50", "--out", str(out)])
    assert result.exit_code == 0, result.output
    import pandas as pd
    frame = pd.read_csv(out / "layers.csv")
    assert {"compute_s", "quantization_s", "memory_s", "overhead_s", "launch_s", "gemm_m", "detail"} <= set(frame)
    conv1 = frame[frame["layer"] == "conv1"].iloc[0]
    assert (conv1["gemm_m"], conv1["gemm_n"], conv1["gemm_k"]) == (112 * 112, 64, 3 * 7 * 7)
    missing = CliRunner().invoke(main, ["run", "--hw", "tpu_v1", "--workload", "resnet50"])
    assert missing.exit_code == 2 and "--dataflow" in missing.output


# -- benchmarks/gpu/measure.py on a CPU: argument parsing, presets and the CSV files it writes ------------

def _measure_script():
    """benchmarks/gpu/measure.py as a module (PyTorch is imported by its main(), not on import)."""
    import importlib.util
    import sys
    path = spec.ROOT / "benchmarks" / "gpu" / "measure.py"
    module_spec = importlib.util.spec_from_file_location("accelsim_measure_script", path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module   # its dataclasses look their module up there
    module_spec.loader.exec_module(module)
    return module


def test_measure_script_parses_cases_and_the_prepared_preset(tmp_path):
    import argparse
    measure = _measure_script()
    assert measure.torch is None   # importing it needs no PyTorch
    assert measure.parse_case("llama2_7b:decode:16:2048:compiled:ops") == (
        "llama2_7b", "decode", 16, 2048, True, True, False, True)   # compiled implies the fused GEMMs
    assert measure.parse_case("llama3_8b:prefill:1:1024:fused") == ("llama3_8b", "prefill", 1, 1024, True, False,
                                                                    False, False)
    for bad, needle in (("llama2_7b:decode:1:2048:fusd", "known: fused, compiled"), ("gpt9:decode:1:8", "MODEL one of"),
                        ("llama2_7b:decode:one:8", "whole numbers"), ("llama2_7b:decode:0:8", "positive")):
        with pytest.raises(argparse.ArgumentTypeError, match=needle):
            measure.parse_case(bad)
    args = measure.parse_args(["--out", str(tmp_path), "--preset", "fused-and-variance"])
    assert (args.gemm_rounds, args.sustain, args.profile_gemms, args.time_limit) == (3, 0.5, True, 420.0)
    assert args.attention == [] and (4096, 4096, 4096) in args.gemms and (512, 128256, 4096) in args.gemms
    compiled = [c for c in args.case if c[7]]
    assert {(c[1], c[2]) for c in compiled} >= {("decode", 1), ("decode", 16), ("decode", 64), ("prefill", 1)}
    assert any(c[0] == "llama2_7b" and c[2] == 1 and not c[4] for c in args.case)   # the unfused reference
    mine = measure.parse_args(["--out", str(tmp_path), "--preset", "fused-and-variance", "--gemm-rounds", "2",
                               "--gemms", "64x64x64"])
    assert mine.gemm_rounds == 2 and mine.gemms == [(64, 64, 64)] and mine.sustain == 0.5
    plain = measure.parse_args(["--out", str(tmp_path)])
    assert (plain.case, plain.gemm_rounds, plain.sustain, plain.profile_gemms, plain.time_limit) == (
        None, 1, 0.0, False, 300.0)
    with pytest.raises(SystemExit):
        measure.parse_args(["--out", str(tmp_path), "--gemm-rounds", "0"])


def test_measure_script_writes_tables_that_calibrate_reads(tmp_path, h200):
    """Rows as measure.py writes them (GEMM rounds and sustained runs in the variant column, a compiled
    case's per-op rows) read back by accelsim and predicted: a compiled norm row includes the residual
    add fused into it, a compiled step costs less than the unfused one."""
    measure = _measure_script()
    kernels, ops = tmp_path / "kernels.csv", tmp_path / "llm_ops.csv"
    gemm = {"kind": "gemm", "m": 4096, "n": 4096, "k": 4096, "time_s": 1.77e-4}
    measure.write_csv(kernels, measure.KERNEL_COLUMNS, [
        gemm | {"variant": "round 1/3"}, gemm | {"variant": "round 1/3; sustained 500 ms; sm 1755 MHz, 690 W"}])
    case = {"phase": "decode", "batch": 1, "context": 2048}
    measure.write_csv(ops, measure.OP_COLUMNS, [
        case | {"model": "llama2_7b", "op": "step", "time_s": 6.4e-3},
        case | {"model": "llama2_7b+compiled", "op": "step", "time_s": 5.0e-3, "note": "whole step; 420 kernels"},
        case | {"model": "llama2_7b", "op": "mlp_norm", "time_s": 1.6e-4},
        case | {"model": "llama2_7b+compiled", "op": "mlp_norm", "time_s": 1.7e-4}])
    frame = read_measurements([kernels, ops])
    assert list(frame["variant"].dropna()) == ["round 1/3", "round 1/3; sustained 500 ms; sm 1755 MHz, 690 W"]
    table = predict(h200, frame)
    kernel_rows = table[table["format"] == "kernels"]
    assert kernel_rows["predicted_s"].nunique() == 1   # the same GEMM, predicted once per round and mode
    ops_rows = table[table["format"] == "ops"].set_index(["model", "op"])["predicted_s"]
    assert ops_rows[("llama2_7b+compiled", "step")] < 0.9 * ops_rows[("llama2_7b", "step")]
    from accelsim.gpu.measurements import _Cases
    fused = _Cases(h200).costs("llama2_7b", "decode", 1, 2048, False, "fused", "none")
    assert ops_rows[("llama2_7b+compiled", "mlp_norm")] == pytest.approx(fused["mlp_norm"] + fused["attn.residual"])
    assert ops_rows[("llama2_7b+compiled", "mlp_norm")] > ops_rows[("llama2_7b", "mlp_norm")]
    ops.write_text(ops.read_text().replace("llama2_7b+compiled", "llama2_7b+compild"))
    with pytest.raises(AccelsimError, match=r"unknown variant \+compild.*did you mean.*compiled"):
        predict(h200, read_measurements([ops]))
