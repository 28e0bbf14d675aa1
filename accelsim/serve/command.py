"""``accelsim serve``: request-level serving simulation (continuous batching, paged KV cache)."""
from __future__ import annotations

import json
import math
import time
from collections import namedtuple
from pathlib import Path

import click

from ..llm.config import WEIGHT_FORMATS
from ..llm.variants import COLLECTIVES

OUTPUT_FILES = ("requests.csv", "timeline.csv", "summary.json")


def _fmt(value) -> str:
    if isinstance(value, bool) or value is None or not isinstance(value, (int, float)):
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def render_summary(summary: dict) -> str:
    """Aligned ``key value`` lines; latency percentiles in one line each."""
    lines = []
    for key, value in summary.items():
        if isinstance(value, dict):
            value = "  ".join(f"{name} {_fmt(v)}" for name, v in value.items())
        lines.append(f"{key:<34} {_fmt(value) if not isinstance(value, str) else value}")
    return "\n".join(lines) + "\n"


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@click.command(name="serve")
@click.option("--model", "model_arg", required=True, metavar="NAME|FILE",
              help="Model served: a workloads/llm name (llama3_8b, ...), a YAML config or a Hugging Face config.json.")
@click.option("--hw", "hw_arg", required=True, metavar="FILE|PRESET",
              help="Device: an ideal roofline (ideal_h100, ideal_a100, a file with a `roofline:` section) or a GPU "
                   "costed kernel by kernel (h200, a file with a `gpu:` section; fused kernels, CUDA-graph launches).")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="CSV",
              help="Requests from a CSV trace with columns arrival_s, prompt_tokens, output_tokens (optional "
                   "request_id). Default: a Poisson process (--rate, --requests).")
@click.option("--rate", type=float, default=10.0, show_default=True,
              help="Poisson arrival rate, requests per second (without --trace).")
@click.option("--requests", "count", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Number of Poisson requests (without --trace).")
@click.option("--prompt-tokens", type=click.IntRange(min=1), default=512, show_default=True,
              help="Prompt length of Poisson requests (mean with --length-jitter).")
@click.option("--output-tokens", type=click.IntRange(min=1), default=128, show_default=True,
              help="Output tokens of Poisson requests (mean with --length-jitter).")
@click.option("--length-jitter", type=float, default=0.0, show_default=True,
              help="Poisson lengths uniform in [N(1-j), N(1+j)] (vLLM benchmark's --random-range-ratio); 0: fixed.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the Poisson arrivals and lengths, and of speculative acceptances.")
@click.option("--block-size", type=click.IntRange(min=1), default=16, show_default=True,
              help="Tokens per KV-cache block (paged attention).")
@click.option("--chunk-tokens", type=click.IntRange(min=1), default=2048, show_default=True,
              help="Token budget per step, shared by decodes and prefill chunks (vLLM's max_num_batched_tokens): "
                   "a prompt longer than what is left is prefilled in chunks.")
@click.option("--max-batch", type=click.IntRange(min=1), default=256, show_default=True,
              help="Running sequences at most (vLLM's max_num_seqs).")
@click.option("--preemption", type=click.Choice(["recompute", "swap"]), default="recompute", show_default=True,
              help="When KV blocks run out, the last-admitted request is preempted: recompute (blocks freed, its "
                   "prompt and generated tokens prefilled again later) or swap (blocks copied to host memory and back).")
@click.option("--swap-gib", type=click.FloatRange(min=0), default=4.0, show_default=True,
              help="Host swap space for --preemption swap (a victim that does not fit is recomputed).")
@click.option("--swap-gb-per-s", type=click.FloatRange(min=0, min_open=True), default=64.0, show_default=True,
              help="Host link bandwidth for swapping, GB/s per direction (PCIe Gen5 x16).")
@click.option("--kv-capacity-gib", type=click.FloatRange(min=0, min_open=True), default=None,
              help="KV-cache capacity per device in GiB. Default: device memory x --memory-utilization - weights - activations.")
@click.option("--memory-gib", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Device memory in GiB. Default: the hw file's roofline.memory_gib or memory_gb (ideal_h100: 79.6 GiB).")
@click.option("--memory-utilization", type=click.FloatRange(min=0, max=1, min_open=True), default=0.9,
              show_default=True, help="Share of device memory for weights and KV cache (vLLM's gpu_memory_utilization).")
@click.option("--draft-model", "draft_arg", default=None, metavar="NAME|FILE",
              help="Speculative decoding with this draft model (its weights and KV cache share the device).")
@click.option("--spec-k", type=click.IntRange(min=0), default=0, show_default=True,
              help="Draft tokens proposed per verification (with --draft-model).")
@click.option("--spec-acceptance", type=click.FloatRange(min=0, max=1, max_open=True), default=0.0,
              show_default=True, help="Probability that each draft token is accepted (i.i.d., Leviathan et al. 2023).")
@click.option("--slo-ttft", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="TTFT service-level objective for goodput.")
@click.option("--slo-tpot", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="TPOT service-level objective for goodput.")
@click.option("--attention", type=click.Choice(["flash", "materialised"]), default="flash", show_default=True,
              help="flash: scores stay on chip; materialised: scores and probabilities go through DRAM.")
@click.option("--kv-bits", type=click.IntRange(min=1, max=32), default=None,
              help="Bits per cached KV element (default: the hw precision's).")
@click.option("--tp", type=click.IntRange(min=1), default=1, show_default=True,
              help="Tensor-parallel devices per replica, as vLLM's --tensor-parallel-size (Megatron: heads and MLP "
                   "split, two all-reduces per layer in every step, NCCL kernels on a GPU; each device holds 1/tp of "
                   "the weights and of the KV heads, so its free memory holds more KV blocks).")
@click.option("--ep", type=click.IntRange(min=1), default=1, show_default=True,
              help="Expert-parallel devices for a MoE model: must equal --tp (experts spread over the tensor-parallel "
                   "group).")
@click.option("--pp", type=click.IntRange(min=1), default=1, show_default=True,
              help="Pipeline stages per replica, run as vLLM V0 does: --pp virtual engines, each with its scheduler "
                   "and 1/pp of the KV blocks, whose steps pass through every stage (pp batches in flight).")
@click.option("--dp", type=click.IntRange(min=1), default=1, show_default=True,
              help="Data-parallel replicas, each a whole --tp group with its own scheduler and KV cache; requests "
                   "dispatched round-robin in arrival order.")
@click.option("--collective", type=click.Choice(COLLECTIVES), default="ring", show_default=True,
              help="All-reduce algorithm of the alpha-beta collective model (ring or tree) with --tp.")
@click.option("--weights", type=click.Choice(("none",) + WEIGHT_FORMATS), default=None,
              help="Stored weight format: w8a16/w4a16 (weight-only, scales per group), w8a8, fp8; fewer weight bytes "
                   "per step and more KV capacity. Default: the config's quantization_config, else the hw precision.")
@click.option("--group-size", type=click.IntRange(min=1), default=None,
              help="Quantization group along K (w4a16/w8a16, default 128) or fp8 block edge.")
@click.option("--step-costs", type=click.Choice(["auto", "exact", "bucketed"]), default="auto", show_default=True,
              help="Attention cost per step: exact (the roofline's max(compute, memory) of the step's summed work), "
                   "bucketed (tables per decode batch and context, per chunk and context, interpolated; decode and "
                   "prefill attention as separate kernels); auto: exact on a roofline device, bucketed on a GPU.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write requests.csv (per request), timeline.csv (per step) and summary.json to this folder.")
@click.option("--force", is_flag=True, help="Write into a non-empty --out folder (its files are replaced).")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE.html", help="Write an offline HTML page: latency CDFs, KV occupancy and batch over time.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Summary printed as aligned lines or as JSON (summary.json's content).")
def serve(model_arg, hw_arg, trace_path, rate, count, prompt_tokens, output_tokens, length_jitter, seed, block_size,
          chunk_tokens, max_batch, preemption, swap_gib, swap_gb_per_s, kv_capacity_gib, memory_gib,
          memory_utilization, draft_arg, spec_k, spec_acceptance, slo_ttft, slo_tpot, attention, kv_bits, tp, ep,
          pp, dp, collective, weights, group_size, step_costs, out_dir, force, report_file, fmt):
    """Simulate serving an LLM: requests arrive (Poisson or a CSV trace), a vLLM-style
    continuous-batching scheduler admits them while KV-cache blocks are free, prefills prompts in
    chunks, decodes every running request each step and preempts (recompute or swap) when blocks
    run out; optional speculative decoding. Each step costs what `accelsim llm` computes for its
    tokens on the device; with --tp, --pp and --dp on a tensor-parallel group, pipeline stages and
    replicas (as vLLM's --tensor-parallel-size, --pipeline-parallel-size and replicas), the
    collectives priced over the hw file's link (on a GPU: NCCL kernels over NVLink).

    Prints TTFT, TPOT and end-to-end latency (mean, p50, p90, p99), throughput, goodput under
    --slo-ttft/--slo-tpot, KV occupancy and batch size; --out writes the tables, --report the
    HTML page. docs/serving.md explains the scheduler with a worked example.

    Example: accelsim serve --model llama3_8b --hw ideal_h100 --rate 20 --requests 2000

    Example: accelsim serve --model llama2_7b --hw h200 --tp 2 --rate 10 --requests 500
    """
    from ..cli_types import refuse_unused
    from ..errors import user_errors

    if preemption != "swap":
        refuse_unused(("swap_gib", "swap_gb_per_s"), "--preemption recompute (host swap is for --preemption swap)")
    if kv_capacity_gib is not None:
        refuse_unused(("memory_gib", "memory_utilization"), "a run with --kv-capacity-gib (the KV cache's size is "
                      "given, not derived from the device memory)")
    if tp == pp == ep == 1:
        refuse_unused(("collective",), "a run on one device (no --tp, --pp or --ep: no collectives)")
    poisson = [f"--{name.replace('_', '-')}" for name in ("rate", "requests", "prompt_tokens", "output_tokens",
                                                          "length_jitter")
               if click.get_current_context().get_parameter_source(name if name != "requests" else "count")
               == click.core.ParameterSource.COMMANDLINE]
    if trace_path is not None and poisson:
        raise click.ClickException(f"{', '.join(poisson)} shape Poisson requests; with --trace the trace gives the "
                                   "requests: remove them")
    user_errors(_run)(model_arg, hw_arg, trace_path, rate, count, prompt_tokens, output_tokens, length_jitter,
                      seed, block_size, chunk_tokens, max_batch, preemption, swap_gib, swap_gb_per_s,
                      kv_capacity_gib, memory_gib, memory_utilization, draft_arg, spec_k, spec_acceptance, slo_ttft,
                      slo_tpot, LLMOptionsArgs(attention, kv_bits, tp, ep, pp, dp, collective, weights, group_size),
                      step_costs, out_dir, force, report_file, fmt)


LLMOptionsArgs = namedtuple("LLMOptionsArgs", "attention kv_bits tp ep pp dp collective weights group_size")


def _check_out(out_dir: Path | None, force: bool) -> None:
    from ..errors import AccelsimError
    if out_dir is None:
        return
    if out_dir.exists() and not out_dir.is_dir():
        raise AccelsimError(f"{out_dir}: exists and is not a folder; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise AccelsimError(f"{out_dir}: folder exists and is not empty; add --force to replace its "
                            f"{', '.join(OUTPUT_FILES)}, or choose another --out")


def _run(model_arg, hw_arg, trace_path, rate, count, prompt_tokens, output_tokens, length_jitter, seed, block_size,
         chunk_tokens, max_batch, preemption, swap_gib, swap_gb_per_s, kv_capacity_gib, memory_gib,
         memory_utilization, draft_arg, spec_k, spec_acceptance, slo_ttft, slo_tpot, llm_args, step_costs,
         out_dir, force, report_file, fmt):
    from ..errors import AccelsimError
    from ..llm import LLMOptions
    from .requests import load_trace, poisson_requests
    from .simulate import ServeOptions, simulate_serving

    _check_out(out_dir, force)   # before any work: nothing computed is lost to a refused folder
    if report_file is not None and report_file.exists() and not force:
        raise AccelsimError(f"{report_file}: exists; add --force to replace it, or choose another --report")
    requests = (load_trace(trace_path) if trace_path is not None
                else poisson_requests(count, rate, prompt_tokens, output_tokens, length_jitter, seed))
    options = ServeOptions(block_size=block_size, chunk_tokens=chunk_tokens, max_batch=max_batch,
                           preemption=preemption, swap_gib=swap_gib, swap_gb_per_s=swap_gb_per_s,
                           kv_capacity_gib=kv_capacity_gib, memory_gib=memory_gib,
                           memory_utilization=memory_utilization, spec_k=spec_k, acceptance=spec_acceptance,
                           slo_ttft_s=slo_ttft, slo_tpot_s=slo_tpot, seed=seed, step_costs=step_costs)
    started = time.perf_counter()
    shown = [False]

    def progress(finished, total):
        if time.perf_counter() - started > 1.0:
            shown[0] = True
            click.echo(f"\rserve: {finished:,}/{total:,} requests finished", nl=False, err=True)

    result = simulate_serving(model_arg, hw_arg, requests, options, draft_cfg=draft_arg,
                              llm_options=LLMOptions(**llm_args._asdict()), progress=progress)
    if shown[0]:
        click.echo("", err=True)
    summary = _clean(result.summary)
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            result.requests.to_csv(out_dir / "requests.csv", index=False)
            result.timeline.to_csv(out_dir / "timeline.csv", index=False)
            (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise AccelsimError(f"{out_dir}: cannot write the tables ({exc.strerror}); choose another --out") from None
    if report_file is not None:
        from .figures import serve_page
        page = serve_page(result)
        try:
            report_file.write_text(page, encoding="utf-8")
        except OSError as exc:
            raise AccelsimError(f"{report_file}: cannot write the report ({exc.strerror}); choose another "
                                "--report") from None
    click.echo(json.dumps(summary, indent=2) if fmt == "json" else render_summary(summary), nl=fmt == "json")
    if out_dir is not None:
        click.echo(f"wrote {out_dir / 'requests.csv'}, timeline.csv, summary.json", err=True)
    if report_file is not None:
        click.echo(f"wrote {report_file}", err=True)
