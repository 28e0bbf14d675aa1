"""``accelsim llm``: prefill and decode of a transformer on an accelerator or an ideal-roofline device."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click

from ..errors import AccelsimError, clipped
from .config import WEIGHT_FORMATS
from .variants import ATTENTION_IMPLS, COLLECTIVES, MIXERS, LLMOptions

SUMMARY_FORMATS = ("table", "json")
#: Decode steps from which the command says on stderr how much work is coming (about a second).
LONG_DECODE_STEPS = 50_000


def _fmt(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def render_table(summary: dict, ops) -> str:
    """The summary as aligned ``key value`` lines, then the per-op roofline table of each phase."""
    lines = [f"{key:<28} {_fmt(value)}" for key, value in summary.items()]
    columns = ["op", "kind", "layers", "flops", "dram_bytes", "arithmetic_intensity_flop_per_byte",
               "attainable_flops_per_s", "achieved_flops_per_s", "time_s", "bound", "energy_j"]
    headers = ["op", "kind", "layers", "flops", "dram_bytes", "flop/byte", "attainable_flop/s", "achieved_flop/s",
               "time_s", "bound", "energy_j"]
    if "launch_s" in ops.columns and ops["launch_s"].notna().any():   # a GPU device: where the time goes
        columns = ["op", "kind", "layers", "kernels", "flops", "dram_bytes", "compute_s", "quantization_s", "memory_s",
                   "overhead_s", "launch_s", "link_s", "time_s", "bound", "detail"]
        headers = ["op", "kind", "layers", "kernels", "flops", "dram_bytes", "compute_s", "quant_s", "memory_s",
                   "overhead_s", "launch_s", "link_s", "time_s", "bound", "how"]
        if "link_s" not in ops.columns:
            columns, headers = columns[:11] + columns[12:], headers[:11] + headers[12:]
    for phase, title in (("prefill", "prefill (whole prompt)"), ("decode", "decode (mean per step)")):
        part = ops[ops["phase"] == phase]
        cells = [headers] + [[_fmt(row[c]) if c not in ("layers", "kernels") else str(row[c]) for c in columns]
                             for _, row in part.iterrows()]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
        lines += ["", f"per-op roofline, {title}:"]
        lines += ["  ".join(cell.rjust(w) if i > 1 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
                  for row in cells]
    return "\n".join(lines) + "\n"


@click.command(name="llm")
@click.option("--model", "model_arg", required=True, metavar="NAME|FILE",
              help="Model config: a workloads/llm name (gpt2_small, llama2_7b, ...), a YAML file or a Hugging Face config.json.")
@click.option("--hw", "hw_arg", required=True, metavar="FILE|PRESET",
              help="A PE-array hw file (simulated), an ideal-roofline device (ideal_a100, ideal_h100: peak and "
                   "bandwidth only) or a GPU device (h200, h100, a100: costed kernel by kernel).")
@click.option("--dataflow", "dataflow_arg", default=None, metavar="FILE|NAME",
              help="Dataflow for the GEMMs on a PE array: ws, os, rs, ... or a YAML file. Default: ws on a systolic "
                   "array, rs on a multicast one; PE arrays only.")
@click.option("--prompt", "prompt_len", required=True, type=click.IntRange(min=1), help="Prompt tokens (prefill).")
@click.option("--generate", required=True, type=click.IntRange(min=1),
              help="Tokens generated: decode steps at contexts prompt .. prompt+generate-1.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Sequences in the batch.")
@click.option("--attention", type=click.Choice(ATTENTION_IMPLS), default="flash", show_default=True,
              help="flash: scores stay on chip (FlashAttention tiling); materialised: scores and probabilities go through DRAM.")
@click.option("--mixer", type=click.Choice(MIXERS), default="softmax", show_default=True,
              help="Token mixer: softmax attention, linear attention (state, no KV cache) or an SSM (Mamba selective scan).")
@click.option("--window", type=click.IntRange(min=1), default=None,
              help="Sliding-window attention over this many keys (default: the config's sliding_window, else full).")
@click.option("--dilation", type=click.IntRange(min=1), default=1, show_default=True,
              help="Dilated sliding window: the window's keys are this many positions apart (Longformer).")
@click.option("--global-tokens", type=click.IntRange(min=0), default=0, show_default=True,
              help="Longformer global tokens: the first G positions attend and are attended everywhere.")
@click.option("--sinks", type=click.IntRange(min=0), default=0, show_default=True,
              help="StreamingLLM attention sinks kept with the window (constant cache of sinks + window).")
@click.option("--no-kv-cache", is_flag=True, help="Recompute the whole prefix at every step (quadratic cost).")
@click.option("--causal", is_flag=True, help="Prefill scores only the causal N(N+1)/2 pairs (default: dense N x N).")
@click.option("--lm-head-all-tokens", is_flag=True, help="Run the LM head on every prompt token (default: the last one).")
@click.option("--devices", type=click.IntRange(min=1), default=1, show_default=True,
              help="Ring attention across this many devices: sequence and KV cache split, K/V blocks passed around.")
@click.option("--kv-bits", type=click.IntRange(min=1, max=32), default=None,
              help="Bits per cached KV element (default: the hw precision's).")
@click.option("--mla-plain", is_flag=True,
              help="Decode MLA in its plain form (per-head keys and values) instead of absorbed into the latent.")
@click.option("--ssm-state", type=click.IntRange(min=1), default=16, show_default=True,
              help="State size per channel of --mixer ssm (Mamba's N).")
@click.option("--weights", "weights", type=click.Choice(("none",) + WEIGHT_FORMATS), default=None,
              help="Stored weight format of the per-layer GEMMs: w8a16/w4a16 (weight-only, fp16 scale + zero point "
                   "per group, dequantized as vector work), w8a8 (int8 MACs), fp8 (fp8 MACs, block scales). "
                   "Default: the config's quantization_config, else the hw precision.")
@click.option("--group-size", type=click.IntRange(min=1), default=None,
              help="Quantization group along K (w4a16/w8a16, default 128) or fp8 block edge.")
@click.option("--tp", type=click.IntRange(min=1), default=1, show_default=True,
              help="Tensor parallel devices (Megatron: heads and MLP split, two all-reduces per layer).")
@click.option("--pp", type=click.IntRange(min=1), default=1, show_default=True,
              help="Pipeline stages (layers split; prefill bubbles, decode micro-batching).")
@click.option("--ep", type=click.IntRange(min=1), default=1, show_default=True,
              help="Expert parallel devices (MoE experts spread; with --tp 1 attention runs data parallel and two "
                   "all-to-alls per MoE layer move the tokens; else --ep must equal --tp).")
@click.option("--dp", type=click.IntRange(min=1), default=1, show_default=True,
              help="Data-parallel replicas of the whole configuration (system_tokens_per_s).")
@click.option("--micro-batches", type=click.IntRange(min=1), default=None,
              help="Prefill micro-batches with --pp (default: min(batch, pp)).")
@click.option("--collective", type=click.Choice(COLLECTIVES), default="ring", show_default=True,
              help="All-reduce algorithm of the alpha-beta collective model (ring: bandwidth-optimal; tree: "
                   "fewer latency terms).")
@click.option("--kernels", type=click.Choice(("unfused", "fused")), default="unfused", show_default=True,
              help="GPU devices (h200, h100, a100): unfused = plain PyTorch kernels; fused = a serving stack's "
                   "(q/k/v and gate/up one GEMM each, RoPE, SiLU-and-mul, KV append one kernel each, residual "
                   "adds fused into the next norm). docs/silicon.md.")
@click.option("--launch", type=click.Choice(("graph", "eager")), default="graph", show_default=True,
              help="GPU devices: graph = decode steps replayed from CUDA graphs (the prefill launched eagerly); "
                   "eager = every kernel launched from Python.")
@click.option("--allow-oversubscribe", is_flag=True,
              help="Cost a run whose weights + KV cache + activations exceed the device memory (marked "
                   "oversubscribed) instead of refusing it.")
@click.option("--format", "fmt", type=click.Choice(SUMMARY_FORMATS), default="table", show_default=True,
              help="table: summary lines and per-op roofline tables; json: the summary with an ops list.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), default=None, metavar="FILE.html",
              help="Also write an offline HTML page: per-op roofline of prefill and decode, time per op, TPOT and "
                   "tokens/s against batch and context, KV cache against context, energy per token (docs/report.md).")
@click.option("--force", is_flag=True, help="Overwrite an existing --report file.")
def llm(model_arg, hw_arg, dataflow_arg, prompt_len, generate, batch, attention, mixer, window, dilation,
        global_tokens, sinks, no_kv_cache, causal, lm_head_all_tokens, devices, kv_bits, mla_plain, ssm_state,
        weights, group_size, tp, pp, ep, dp, micro_batches, collective, kernels, launch, allow_oversubscribe, fmt,
        report_file, force):
    """Prefill and decode an LLM: time to first token, time per output token, tokens/s, KV-cache
    bytes and placement, energy per token and every op's roofline coordinates (FLOP/byte,
    attainable vs achieved FLOP/s), with the counting conventions and options printed.

    The JSON form has params, kv_bytes_per_token, ttft_s, tpot_s, tokens_per_s, energy_per_token_j
    and an ops list. On an ideal-roofline device every decode step is costed (op time =
    max(FLOPs/peak, bytes/bandwidth)); on a PE array the GEMMs go through the array simulator, the
    vector ops through the vector unit, and three simulated decode steps (first, middle, last) are
    interpolated over all steps. Device memory (weights, KV cache, activations per device, the
    largest batch that fits) is checked against the hw file's capacity: a run that does not fit is
    refused with the numbers (or marked with --allow-oversubscribe). On a GPU device (h200, h100,
    a100) every op runs as the kernels it launches (GEMM tiles and waves over the SMs, memory-bound
    kernels at achievable bandwidth, flash attention, a fixed cost per kernel, launch gaps) and the
    per-op table splits each op's time into compute, quantization (tile and wave), memory, overhead
    and launch. docs/llm.md and docs/silicon.md have the details.

    Example: accelsim llm --model llama2_7b --hw ideal_a100 --prompt 2048 --generate 256 --batch 16

    Several devices: accelsim llm --model config.json --hw ideal_h100 --prompt 2048 --generate 128 --tp 8
    """
    try:
        if report_file and Path(report_file).exists() and not force:
            raise AccelsimError(f"{report_file}: exists; add --force to replace it, or choose another --report")
        _refuse_unused_options(hw_arg, tp, pp, ep)
        _run(model_arg, hw_arg, dataflow_arg, prompt_len, generate, batch, fmt, report_file, LLMOptions(
            attention=attention, mixer=mixer, window=window, dilation=dilation, global_tokens=global_tokens,
            sinks=sinks, kv_cache=not no_kv_cache, causal=causal, lm_head_all_tokens=lm_head_all_tokens,
            devices=devices, ssm_state=ssm_state, kv_bits=kv_bits, mla_absorbed=not mla_plain, weights=weights,
            group_size=group_size, tp=tp, pp=pp, ep=ep, dp=dp, micro_batches=micro_batches, collective=collective),
            allow_oversubscribe, kernels=kernels, launch=launch)
    except AccelsimError as exc:   # user errors: "Error: ..." and exit 1, no traceback (cli.user_errors)
        raise click.ClickException(clipped(str(exc))) from None


def _refuse_unused_options(hw_arg, tp, pp, ep) -> None:
    """A usage error for options this run would not use (nothing is silently ignored)."""
    from .. import spec
    from ..cli_types import refuse_unused
    if pp == 1:
        refuse_unused(("micro_batches",), "a run without pipeline stages (give --pp)")
    if tp == pp == ep == 1:
        refuse_unused(("collective",), "a run on one device (no --tp, --pp or --ep: no collectives)")
    data = spec.load_yaml(spec.resolve("hw", hw_arg))
    if not spec.is_gpu(data):
        refuse_unused(("kernels", "launch"), f"{hw_arg}, not a GPU device (h200, h100, a100)")
    if spec.is_gpu(data) or spec.is_roofline(data):
        refuse_unused(("dataflow_arg",), f"{hw_arg}, " + ("a GPU device (its GEMMs run as kernels)" if spec.is_gpu(data)
                                                          else "an ideal-roofline device (peak and bandwidth only)"))


def _run(model_arg, hw_arg, dataflow_arg, prompt_len, generate, batch, fmt, report_file, options,
         allow_oversubscribe=False, kernels="unfused", launch="graph") -> None:
    from .infer import llm_inference
    from .phases import DECODE_BYTES_PER_STEP, check_sizes
    check_sizes(prompt_len, generate, batch)
    if generate >= LONG_DECODE_STEPS:   # seconds of work: say what is coming (stderr, not in the output)
        click.echo(f"{generate:,} decode steps are costed one by one: up to "
                   f"{generate * DECODE_BYTES_PER_STEP / 2**30:.1f} GiB of memory and ~{generate * 5e-5:.0f} s", err=True)
    summary, ops = llm_inference(model_arg, hw_arg, prompt_len, generate, batch, options, dataflow=dataflow_arg,
                                 allow_oversubscribe=allow_oversubscribe, kernels=kernels, launch=launch)
    from .lower import resolve_llm_config
    cfg = resolve_llm_config(model_arg)
    if cfg.max_position and prompt_len + generate - 1 > cfg.max_position:
        click.echo(f"note: {prompt_len + generate - 1:,} tokens exceed {cfg.name}'s max_position "
                   f"{cfg.max_position:,} (HF max_position_embeddings, the context it was trained for); "
                   "costed anyway", err=True)
    if report_file:
        from ..report.llm_page import write_llm_report
        state = {"bar": None, "shown": 0}

        def progress(done, total):    # one bar on stderr (a line per point was 25-35 lines)
            if state["bar"] is None:
                state["bar"] = click.progressbar(length=total, label="report: batch x context grid",
                                                 file=sys.stderr)
            state["bar"].update(done - state["shown"])
            state["shown"] = done
        try:
            write_llm_report(report_file, summary, ops, model_arg, hw_arg, dataflow_arg, options, progress=progress)
        finally:
            if state["bar"] is not None:
                state["bar"].render_finish()
        click.echo(f"wrote {report_file} (self-contained HTML)", err=True)
    if fmt == "json":
        records = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
                   for row in ops.to_dict(orient="records")]
        click.echo(json.dumps({**summary, "ops": records}, indent=2))
        return
    click.echo(render_table(summary, ops), nl=False)
