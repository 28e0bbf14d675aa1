"""LLM inference on a device: time to first token, time per output token, KV cache, energy, per-op roofline.

:func:`llm_inference` costs a prefill of ``prompt`` tokens and ``generate`` decode steps for
``batch`` sequences, with the ops of :mod:`accelsim.llm.ops` under the options of
:class:`~accelsim.llm.variants.LLMOptions`, on either kind of hw file:

- an ideal-roofline device (``hw/ideal_*.yaml``): every op ``max(FLOPs / peak, bytes / bandwidth)``
  (:mod:`accelsim.llm.roofline`), every decode step evaluated at once as numpy arrays;
- a PE array (``hw/tpu_v1.yaml``, ...): the GEMMs (projections, MLPs, attention scores and
  context batched per head, lm_head) run through the array simulator (:func:`accelsim.simulate`:
  fill/drain, folds, SRAM/DRAM stalls), vector ops take ``ceil(ops / vector_lanes)`` cycles
  (accelsim/vector.py; operands on chip, except that materialised attention's softmax reads S and
  writes P through DRAM: ``max(vector, bytes / DRAM bytes per cycle)``), memory-only ops (embedding gather, KV-cache append) and recurrent state
  ``bytes / DRAM bytes per cycle``, ring transfers ``bytes / DRAM bytes per cycle`` (a link as fast
  as DRAM; the array hw has no link bandwidth); ops run one after another. Three decode steps
  are simulated (first, middle, last) and every step interpolated between them
  (:func:`_engine_decode`). MoE routed experts run as ``round(E_touched)`` equally loaded experts.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import AccelsimError
from ..spec.hw import PRECISION_BITS
from ..vector import vector_cycles, vector_energy_pj
from .counts import kv_cache_bytes_per_token, param_counts
from .ops import Op
from .phases import check_sizes, decode_ops, prefill_ops
from .roofline import (ATTENTION_OPS, OP_COLUMNS, dram_bytes, energy_per_action_pj, op_table, roofline_op_times,
                       step_seconds)
from .memory import MemoryUse, activation_bytes, check_fits, weight_bytes_per_device
from .parallel import attention_dp, describe as describe_parallel, devices_per_replica, sharded_config, stage_layers
from .quant import resolve as resolve_quant
from .variants import LLMOptions, cached_kv_bytes

COUNTING = ("FLOP = 2 MAC + 1 per vector op; GEMM bytes = weights once per pass + inputs + outputs; "
            "activations through DRAM between ops; embedding lookup = a read of the gathered rows; "
            "decode step at context t attends to t positions (contexts prompt..prompt+generate-1); "
            "TPOT = mean step time; tokens/s = batch / TPOT; energy per token = decode energy / (batch x generate)")


#: Where a PE array's time goes (per-op columns, seconds): the array streaming operands, systolic
#: fill/drain, SRAM/DRAM stalls (accelsim.model), the vector unit, and memory-only ops' transfers.
BREAKDOWN = ("array_s", "fill_drain_s", "stall_s", "vector_s", "memory_s")


def _roofline_phase(phase, ops, device, kv_on_chip, energies, table=None):
    times = roofline_op_times(ops, device, kv_on_chip)
    table = op_table(phase, ops, times, kv_on_chip, device, energies, table)
    return step_seconds(ops, times), table


def _gemm_layer(op: Op, step: int):
    """The op's GEMM at one step as an accelsim Layer. MoE routed experts: the ``tokens * k`` rows
    split evenly over the ``round(E_touched)`` experts touched (E_touched from the weight bytes)."""
    from .lower import gemm
    at = lambda a: float(np.asarray(a, dtype=np.float64).reshape(-1)[min(step, np.size(a) - 1)])  # noqa: E731
    rows, k, cols, groups = (at(x) for x in op.shape)
    if op.name.startswith("moe.experts"):
        element_bytes = at(op.act_bytes) / (rows * k + rows * cols)
        groups = max(1, round(at(op.weight_bytes) / (k * cols * element_bytes)))
        rows /= groups
    return gemm(op.name, max(1, math.ceil(rows)), max(1, math.ceil(k)), max(1, math.ceil(cols)), int(groups))


def _engine_phase(phase, ops, hw, dataflow, table, step, kv_on_chip, timing):
    """Cycles, energy and per-op rows of one phase's step ``step`` on a PE array."""
    from .. import api
    from ..spec.common import MAX_VOLUME
    from ..spec.workload import Workload, size_problem
    gemms = [op for op in ops if op.shape is not None and float(np.max(op.macs)) > 0]
    layers = tuple(_gemm_layer(op, step) for op in gemms)
    for op, problem in [(op.name, size_problem(layer)) for op, layer in zip(gemms, layers)] + [
            (op.name, "its vector ops are too many to count exactly in 64-bit integers (>= 2^56)")
            for op in ops if float(np.max(op.vector_ops)) >= MAX_VOLUME]:
        if problem:
            raise AccelsimError(f"{phase} op {op}: {problem}; on a PE array use a shorter --prompt or a smaller "
                                "--batch, or an ideal-roofline device (--hw ideal_a100)")
    frame = api.simulate(hw, Workload(name=f"llm_{phase}", layers=layers, source="accelsim.llm.infer"), dataflow,
                         timing=timing, energy_table=table).set_index("layer")
    mac_pj, vector_pj, byte_pj = energy_per_action_pj(hw, table)
    bw = hw.dram_bandwidth_bytes_per_cycle
    hz = hw.clock_mhz * 1e6
    peak = 2 * hw.num_pes * hz
    rows = []
    at = lambda a: float(a.reshape(-1)[min(step, a.size - 1)])  # noqa: E731
    cycles_of = {}
    for op in ops:
        # vector ops stream from and to the on-chip buffers (accelsim/vector.py), except materialised
        # attention's scores and probabilities, which the softmax reads from and writes to DRAM
        traffic = at(op.score_bytes) if op.kind == "vector" else at(dram_bytes(op, kv_on_chip))
        top = hw.vector_lanes * hz if op.kind == "vector" else peak
        parts = dict.fromkeys(BREAKDOWN, 0.0)   # cycles of one run of the op
        if op.name in frame.index:
            row = frame.loc[op.name]
            cycles = float(row["total_cycles"])
            parts.update(array_s=float(row["compute_cycles"] - row["fill_drain_cycles"]),
                         fill_drain_s=float(row["fill_drain_cycles"]), stall_s=float(row["stall_cycles"]))
            energy = float(row["energy_pj"])
        else:
            vec = vector_cycles(int(round(at(op.vector_ops))), hw.vector_lanes)
            array = math.ceil(at(op.macs) / hw.num_pes)
            moved = at(op.link_bytes) if op.kind == "link" else traffic
            cycles = max(vec + array, moved / bw if math.isfinite(bw) else 0.0)
            if op.kind == "link":
                cycles = max(cycles - sum(cycles_of.get(name, 0.0) for name in ATTENTION_OPS), 0.0)
                vec = array = 0
            parts.update(array_s=float(array), vector_s=float(vec), memory_s=cycles - vec - array)
            energy = (at(op.macs) * mac_pj + float(vector_energy_pj(at(op.vector_ops), hw, table))
                      + (0.0 if op.kind == "link" else traffic * byte_pj))
        cycles_of[op.name] = cycles
        flops = at(op.flops) * op.layers
        time = cycles * op.layers / hz
        traffic *= op.layers
        intensity = flops / traffic if traffic else float("inf")
        rows.append({"phase": phase, "op": op.name, "kind": op.kind, "layers": op.layers,
                     "macs": at(op.macs) * op.layers, "vector_ops": at(op.vector_ops) * op.layers, "flops": flops,
                     "dram_bytes": traffic, "kv_bytes": at(op.kv_bytes) * op.layers,
                     "arithmetic_intensity_flop_per_byte": intensity,
                     "attainable_flops_per_s": min(top, intensity * bw * hz) if flops else 0.0,
                     "achieved_flops_per_s": flops / time if time else 0.0, "time_s": time,
                     "bound": ("link" if op.kind == "link" else "memory" if intensity < top / (bw * hz)
                               else "compute"),
                     "energy_j": energy * op.layers * 1e-12,
                     "roofline_time_s": max(flops / top, traffic / (bw * hz)),
                     **{key: value * op.layers / hz for key, value in parts.items()}})
    frame = pd.DataFrame(rows, columns=OP_COLUMNS + ["roofline_time_s"] + list(BREAKDOWN))
    return float(frame["time_s"].sum()), frame


def _engine_decode(ops, hw, dataflow, table, generate: int, kv_on_chip: bool, timing):
    """Every decode step's time on a PE array from three simulated steps (first, middle, last).

    A step's cost is linear in the context with a KV cache and quadratic without one (dense
    attention over the recomputed prefix), so each per-op quantity is interpolated by the
    polynomial of degree <= 2 through the three simulated steps and evaluated at every step (exact
    for the counts; the simulated cycles are cycle-approximate between the samples: folds make
    them piecewise). Returns (seconds of each step, per-op table of means per step).
    """
    samples = sorted({0, (generate - 1) // 2, generate - 1})
    tables = [_engine_phase("decode", ops, hw, dataflow, table, step, kv_on_chip, timing)[1] for step in samples]
    steps = np.arange(generate, dtype=np.float64)
    mean = tables[0].copy()
    numeric = [c for c in mean.columns if c not in ("phase", "op", "kind", "layers", "bound",
                                                    "arithmetic_intensity_flop_per_byte", "achieved_flops_per_s")]
    values = np.stack([t[numeric].to_numpy(dtype=np.float64) for t in tables])      # samples x ops x columns
    coeffs = np.polyfit(np.asarray(samples, dtype=np.float64), values.reshape(len(samples), -1),
                        len(samples) - 1)
    every = np.stack([np.polyval(c, steps) for c in coeffs.T])                       # (ops*columns) x steps
    mean[numeric] = every.mean(axis=1).reshape(values.shape[1:])
    time_column = numeric.index("time_s")
    per_step = every.reshape(values.shape[1], len(numeric), generate)[:, time_column, :].sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean["arithmetic_intensity_flop_per_byte"] = np.where(mean["dram_bytes"] > 0, mean["flops"] / mean["dram_bytes"],
                                                              np.inf)
        mean["achieved_flops_per_s"] = np.where(mean["time_s"] > 0, mean["flops"] / mean["time_s"], 0.0)
    return per_step, mean


def check_positions(cfg, prompt: int, generate: int) -> None:
    """A learned position table has ``max_position`` rows (HF ``max_position_embeddings``): a run
    that feeds more tokens (the prompt and all but the last generated token) has no embedding for
    them, and is refused. Rotary and other computed positions have no such limit."""
    positions = prompt + generate - 1
    if cfg.position_embedding == "learned" and not cfg.patch_size and cfg.max_position \
            and positions > cfg.max_position:
        raise AccelsimError(f"{cfg.file or cfg.name}: max_position: {cfg.name} has {cfg.max_position:,} learned "
                            f"positions (HF max_position_embeddings), but --prompt {prompt:,} + --generate "
                            f"{generate:,} feeds {positions:,} tokens; shorten the prompt or the generation")


def llm_inference(cfg, hw, prompt: int, generate: int, batch: int = 1, options: LLMOptions | None = None,
                  dataflow=None, timing: str | None = None, energy_table=None,
                  allow_oversubscribe: bool = False, kernels: str = "unfused",
                  launch: str = "graph") -> tuple[dict, pd.DataFrame]:
    """Cost a prefill and ``generate`` decode steps; returns ``(summary, per-op table)``.

    ``summary`` keys: ``params``, ``kv_bytes_per_token`` (``counts.kv_cache_bytes_per_token`` at the KV
    precision; 0 for linear attention / SSM, whose state is ``state_bytes``), ``ttft_s``, ``tpot_s``,
    ``tokens_per_s``, ``energy_per_token_j`` (promised keys), plus the KV cache at the
    last context per device and where it lives, per-device memory (weights + KV cache), the decode
    time of the whole generation, the per-step time at the first and last context and the
    conventions; device memory (:mod:`accelsim.llm.memory`: weights, KV cache and activations per
    device, capacity, the largest batch that fits; a run that does not fit raises an
    :class:`AccelsimError` with the numbers unless ``allow_oversubscribe``), the weight format
    (:mod:`accelsim.llm.quant`) and parallelism (:mod:`accelsim.llm.parallel`: the per-op table is
    one device's, over all layers, at the micro-batch; energies are the replica's). ``dataflow``
    (PE arrays only) defaults to ``ws`` on a systolic array and ``rs`` on a multicast one. The
    table has one row per op and phase (:data:`roofline.OP_COLUMNS`; decode rows are means per step).
    On a GPU device (``hw/h200.yaml``) every op is costed as the kernels it runs (:mod:`accelsim.llm.gpu`):
    ``kernels`` ``unfused`` (plain PyTorch) or ``fused`` (a serving stack's fused kernels), ``launch``
    ``graph`` (decode steps replayed from CUDA graphs, the prefill launched eagerly) or ``eager``.
    """
    from .. import api, spec
    from .lower import resolve_llm_config
    check_sizes(prompt, generate, batch)
    cfg = resolve_llm_config(cfg)
    check_positions(cfg, prompt, generate)
    opts = options or LLMOptions()
    opts.validate(cfg)
    device = hw if isinstance(hw, (spec.Hardware, spec.RooflineHardware, spec.GpuHardware)) else spec.load("hw", hw)
    gpu = isinstance(device, spec.GpuHardware)
    plan = Plan.make(cfg, device, opts, batch, energy_table)
    contexts, dec_ops = decode_ops(plan.cfg_dev, opts, prompt, generate, plan.decode_micro_batch, plan.e, plan.kv_e)
    pre_ops = prefill_ops(plan.cfg_dev, opts, prompt, plan.prefill_micro_batch, plan.e, plan.kv_e)
    final_context = int(contexts[-1]) + 1
    kv_total, where = plan.kv_placement(final_context)
    kv_on_chip = where == "sram"
    roofline = plan.roofline
    state = sum(float(np.max(op.state_bytes)) * op.layers for op in dec_ops) / 2 * plan.decode_micro_batches \
        * plan.stage_share   # read + written per step
    memory = plan.memory(pre_ops, dec_ops, kv_total, state, prompt)   # checked before any simulation
    max_batch = memory.max_batch(1 / plan.attention_dp)
    check_fits(memory, device.file or device.name, max_batch, batch, final_context, allow_oversubscribe)
    if gpu:
        from .gpu import gpu_phase
        ttft, pre_table = gpu_phase("prefill", pre_ops, device, plan.cfg_dev, opts, plan.e, kernels, "eager",
                                    plan.energies)
        steps, dec_table = gpu_phase("decode", dec_ops, device, plan.cfg_dev, opts, plan.e, kernels, launch,
                                     plan.energies)
        ttft = float(ttft[0])
        dataflow_name, engine = "-", f"GPU kernels ({kernels}; decode {launch} launches, prefill eager)"
    elif roofline:
        ttft, pre_table = _roofline_phase("prefill", pre_ops, device, kv_on_chip, plan.energies, plan.table)
        steps, dec_table = _roofline_phase("decode", dec_ops, device, kv_on_chip, plan.energies, plan.table)
        ttft = float(ttft[0])
        dataflow_name, engine = "-", "ideal roofline"
    else:
        if dataflow is None:   # the natural dataflow of the array: WS systolic, row stationary on multicast
            dataflow = "ws" if device.interconnect == "systolic" else "rs"
        dataflow = api._as("dataflows", dataflow, (spec.Dataflow, spec.LoopNestDataflow))
        ttft, pre_table = _engine_phase("prefill", pre_ops, device, dataflow, plan.table, 0, kv_on_chip, timing)
        steps, dec_table = _engine_decode(dec_ops, device, dataflow, plan.table, generate, kv_on_chip, timing)
        dataflow_name, engine = dataflow.name, "PE-array simulator (decode: first, middle and last step, quadratic in t)"
    ttft = plan.prefill_seconds(ttft)
    decode_total, first_step, last_step = float(np.sum(steps)), float(steps[0]), float(steps[-1])
    per_op = pd.concat([pre_table, dec_table], ignore_index=True)
    breakdown = {}
    if gpu:   # where a GPU's time goes (docs/silicon.md)
        from ..gpu.kernels import PARTS
        for phase, frame in (("prefill", pre_table), ("decode", dec_table)):
            breakdown.update({f"{phase}_{key}": float(frame[key].sum()) for key in PARTS})
            breakdown[f"{phase}_kernels"] = int(frame["kernels"].sum())
    if not roofline:   # the gap to the array's own roofline, explained (docs/llm.md)
        for phase, frame in (("prefill", pre_table), ("decode", dec_table)):
            breakdown[f"{phase}_roofline_s"] = float(frame["roofline_time_s"].sum())
            breakdown.update({f"{phase}_{key}": float(frame[key].sum()) for key in BREAKDOWN})
    tpot = decode_total / generate
    params = param_counts(cfg)
    width = plan.replica_copies_decode
    decode_energy = float(dec_table["energy_j"].sum()) * generate * width   # rows are means per step
    prefill_energy = float(pre_table["energy_j"].sum()) * plan.replica_copies_prefill
    softmax = opts.mixer == "softmax"
    collective = lambda frame: float(frame.loc[frame["kind"] == "collective", "time_s"].sum())   # noqa: E731
    summary = {
        "model": cfg.name, "hw": device.name, "dataflow": dataflow_name, "engine": engine,
        "prompt": prompt, "generate": generate, "batch": batch,
        "context_len": prompt + (generate - 1) // 2, "devices": opts.devices,
        "params": params.total,
        "active_params": params.active,
        "kv_bytes_per_element": plan.kv_e,
        "kv_bytes_per_token": kv_cache_bytes_per_token(cfg, plan.kv_e) if softmax and not cfg.is_ssm else 0.0,
        "kv_cache_bytes": kv_total,
        "kv_growth_bytes_per_step": plan.kv_growth(int(contexts[-1])),
        "kv_placement": where,
        "state_bytes": state,
        "per_device_memory_bytes": memory.weight_bytes + kv_total + state,
        "ttft_s": ttft,
        "tpot_s": tpot,
        "tokens_per_s": batch / tpot if tpot > 0 else float("inf"),
        "decode_s": decode_total,
        "first_step_s": first_step,
        "last_step_s": last_step,
        "prefill_flops": float(pre_table["flops"].sum()),
        "decode_flops_per_step": float(dec_table["flops"].sum()),
        "decode_dram_bytes_per_step": float(dec_table["dram_bytes"].sum()),
        "prefill_energy_j": prefill_energy,
        "energy_per_token_j": decode_energy / (batch * generate),
        **breakdown,
        "weights": plan.quant.describe(),
        "parallelism": describe_parallel(opts, gpu),
        "devices_per_replica": devices_per_replica(opts),
        "replicas": opts.dp,
        "devices_total": devices_per_replica(opts) * opts.dp,
        "pipeline_micro_batches_prefill": plan.prefill_micro_batches,
        "pipeline_micro_batches_decode": plan.decode_micro_batches,
        "prefill_collective_s": collective(pre_table) * plan.prefill_micro_batches,
        "decode_collective_s_per_step": collective(dec_table),
        "system_tokens_per_s": opts.dp * batch / tpot if tpot > 0 else float("inf"),
        "energy_per_token_per_device_j": decode_energy / (batch * generate) / devices_per_replica(opts),
        "weight_bytes_per_device": memory.weight_bytes,
        "activation_bytes_per_device": memory.activation_bytes,
        "memory_used_bytes_per_device": memory.used_bytes,
        "memory_capacity_bytes": memory.capacity_bytes or None,
        "memory_fits": memory.fits,
        "max_batch": max_batch,
        "oversubscribed": memory.fits is False,
        "options": opts.describe(cfg),
        "conventions": COUNTING,
    }
    return summary, per_op


class Plan:
    """How one run maps onto devices: the per-device model share, micro-batches, copies."""

    @classmethod
    def make(cls, cfg, device, opts: LLMOptions, batch: int, energy_table=None) -> "Plan":
        from .. import spec
        plan = cls()
        plan.cfg, plan.device, plan.opts, plan.batch = cfg, device, opts, batch
        plan.roofline = isinstance(device, (spec.RooflineHardware, spec.GpuHardware))   # no PE array to simulate
        plan.e = PRECISION_BITS[device.precision] / 8
        plan.kv_e = opts.kv_bits / 8 if opts.kv_bits else plan.e
        plan.table = spec.energy_table_for(device, energy_table)
        plan.energies = energy_per_action_pj(device, plan.table)
        plan.quant = resolve_quant(cfg, opts.weights, opts.group_size)
        if not plan.roofline:
            if devices_per_replica(opts) > 1:
                raise AccelsimError(f"{device.file or device.name}: --tp/--pp/--ep need a device with link bandwidth "
                                    f"(an ideal-roofline hw file with roofline.link_bandwidth_gb_per_s)")
            if plan.quant.format is not None:
                raise AccelsimError(f"{device.file or device.name}: quantized weights ({plan.quant.format}) are costed "
                                    f"on ideal-roofline devices only (the PE-array simulator runs at the hw precision)")
        if isinstance(device, spec.GpuHardware):
            from .nccl import link_domain_problems
            problems = link_domain_problems(device, opts)
            if problems:
                raise AccelsimError("; ".join(problems))
        plan.cfg_dev = sharded_config(cfg, opts)
        plan.attention_dp = attention_dp(opts)
        plan.local_batch = -(-batch // plan.attention_dp)
        pp = opts.pp
        plan.prefill_micro_batches = min(opts.micro_batches or min(plan.local_batch, pp), plan.local_batch)
        plan.decode_micro_batches = min(plan.local_batch, pp)
        plan.prefill_micro_batch = -(-plan.local_batch // plan.prefill_micro_batches)
        plan.decode_micro_batch = -(-plan.local_batch // plan.decode_micro_batches)
        plan.stage_share = stage_layers(cfg, pp) / cfg.num_layers
        width = max(opts.tp, opts.ep)
        plan.replica_copies_prefill = plan.prefill_micro_batches * width
        plan.replica_copies_decode = plan.decode_micro_batches * width
        return plan

    def prefill_seconds(self, micro_batch_seconds: float) -> float:
        """GPipe: ``(m + pp - 1)`` stage times of ``T(micro-batch) / pp`` (Huang et al. 2019, Sec. 2.2)."""
        pp, m = self.opts.pp, self.prefill_micro_batches
        return micro_batch_seconds * (m + pp - 1) / pp

    def kv_placement(self, final_context: int) -> tuple:
        """(KV-cache bytes per device at the last context, 'sram' or 'dram'): the device's sequences,
        the stage's layers, the rank's KV heads, split over ring devices."""
        per_seq = float(cached_kv_bytes(self.cfg_dev, self.opts, np.array([final_context]), self.kv_e)[0])
        total = self.local_batch * per_seq * self.stage_share / self.opts.devices
        onchip = self.device.onchip_bytes if self.roofline else self.device.sram_ifmap.size_bytes
        where = "sram" if 0 < total <= onchip else "dram" if total else "none"
        return total, where

    def kv_growth(self, context: int) -> float:
        """Bytes the cache (per device) grows by in the step at ``context``: ``batch x kv bytes per
        token`` until a window (or StreamingLLM's sinks + window) caps it, then 0."""
        held = cached_kv_bytes(self.cfg_dev, self.opts, np.array([context, context + 1]), self.kv_e)
        return self.local_batch * float(held[1] - held[0]) * self.stage_share / self.opts.devices

    def memory(self, pre_ops, dec_ops, kv_total: float, state: float, prompt: int) -> MemoryUse:
        capacity = (self.device.memory_bytes if self.roofline else self.device.dram_capacity_bytes)
        weights = weight_bytes_per_device(self.cfg_dev, self.opts, self.quant, self.e)
        residual = self.prefill_micro_batch * prompt / self.opts.devices * self.cfg.hidden_size * self.e
        prefill_act = activation_bytes(pre_ops) + residual     # one op's working set + the residual stream
        decode_act = activation_bytes(dec_ops)
        act_per_seq = max(prefill_act / self.prefill_micro_batch, decode_act / self.decode_micro_batch)
        activations = max(prefill_act, decode_act)
        seqs = self.local_batch
        per_seq = (kv_total + state) / seqs + act_per_seq if seqs else 0.0
        return MemoryUse(weight_bytes=weights, kv_cache_bytes=kv_total, activation_bytes=activations,
                         state_bytes=state, capacity_bytes=int(capacity), per_sequence_bytes=per_seq)
