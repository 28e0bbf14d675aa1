"""Measure a GPU for `accelsim calibrate`: GEMM and decode-attention kernel grids and LLM decode/prefill ops.

Writes two CSV tables in the format `accelsim calibrate --measurements` reads (docs/silicon.md):

- ``kernels.csv``: ``kind,m,n,k,batch,heads,kv_heads,context,variant,time_s,flops,bytes,tflops,tbps``.
  ``kind=gemm``: ``y[m,n] = x[m,k] @ w[k,n]`` (cuBLAS through ``torch.matmul``), time per GEMM with
  distinct weight copies per call (rotated so that the weights never sit in L2);
  ``kind=decode_attention``: one query token per sequence over a K/V cache of ``context`` positions
  (``F.scaled_dot_product_attention``), ``bytes`` = K + V read.
- ``llm_ops.csv``: ``model,phase,batch,context,op,time_s,flops,bytes,note``. ``phase=ceiling``
  (device-to-device copy, read-reduce, square GEMMs), ``phase=decode`` (``step``: a whole decode
  step replayed as one CUDA graph, median of 20; ``step_eager``: the same step launched eagerly;
  then every op of the layer for ALL layers, each op in its own CUDA graph) and ``phase=prefill``
  (``pass_causal`` / ``pass_dense`` whole prefills timed eagerly, median of 10, then per-op rows).

The model is a Llama-style decoder built from its shapes with random weights (no download): unfused
plain PyTorch (separate q/k/v and gate/up projections, ``F.rms_norm``, rotate-half RoPE on q and k,
the new K/V copied into a preallocated cache, flash attention via ``F.scaled_dot_product_attention``,
``F.silu(gate) * up``, residual adds, final norm, lm_head and argmax on the last token).
A case flagged ``fused`` concatenates q/k/v and gate/up into one GEMM each (the rest stays as above); one
flagged ``compiled`` also fuses the element-wise ops with torch.compile (residual add + RMSNorm, RoPE,
SiLU * up, the K/V append; rows of model ``NAME+compiled``, the step's note has the profiler's kernel count).
``--gemm-rounds``, ``--sustain`` and ``--profile-gemms`` repeat the GEMM grid, time it under sustained load
with the SM clock, power, temperature and clock-event reasons (power cap, thermal) sampled, and record the
kernels cuBLAS runs (``gemm_kernels.csv``: their names and the tile, cluster, stages and K-splitting the names
state); the rounds after the first run after the LLM cases, minutes apart;
``--preset fused-and-variance`` is the prepared run of docs/silicon.md (estimated at 257 s on an H200, 180 s of
them torch.compile's compiles; ``--estimate`` prints any run's plan). Every row is written as soon as it is
measured; ``--time-limit`` skips what does not fit and a hard stop ends the run at most max(15 s, 10%) later.

Needs PyTorch (``pip install 'accelsim[gpu]'``) to measure; its tests import it without (argument
parsing, presets, the CSV writer). Never imported by accelsim itself.

    python benchmarks/gpu/measure.py --out results/my_gpu            # full run on a CUDA GPU (~20 s on an H200)
    python benchmarks/gpu/measure.py --preset fused-and-variance --out h200_fused
    python benchmarks/gpu/measure.py --smoke --out /tmp/smoke        # tiny shapes, runs on a CPU
    accelsim calibrate --measurements results/my_gpu/kernels.csv \\
        --measurements results/my_gpu/llm_ops.csv --hw h200 -o hw/my_gpu.yaml
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

torch = F = None   # imported by main() (the argument parsing and the CSV writer need no PyTorch)


def _import_torch():
    global torch, F
    try:
        import torch as _torch
        import torch.nn.functional as _functional
    except ImportError:  # pragma: no cover - the script's only hard requirement
        sys.exit("measure.py needs PyTorch: pip install 'accelsim[gpu]' (or torch)")
    torch, F = _torch, _functional

KERNEL_COLUMNS = ["kind", "m", "n", "k", "batch", "heads", "kv_heads", "context", "variant", "time_s", "flops",
                  "bytes", "tflops", "tbps"]
OP_COLUMNS = ["model", "phase", "batch", "context", "op", "time_s", "flops", "bytes", "note"]
GEMM_KERNEL_COLUMNS = ["m", "n", "k", "kernels", "tile", "cluster", "stages", "split"]
L2_FLUSH_BYTES = 256 * 2 ** 20   # rotate operand copies over at least this much (> any current L2)


@dataclass(frozen=True)
class Shape:
    """A Llama-style decoder's shapes (Hugging Face config names)."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads


MODELS = {
    "llama2_7b": Shape("llama2_7b", 32, 4096, 32, 32, 11008, 32000),
    "llama3_8b": Shape("llama3_8b", 32, 4096, 32, 8, 14336, 128256),
    "mistral_7b": Shape("mistral_7b", 32, 4096, 32, 8, 14336, 32000),
    "tiny": Shape("tiny", 2, 256, 4, 2, 512, 1000),
}


#: At most this many back-to-back replays in a sustained-load timing (a CUDA event each).
SUSTAIN_REPLAYS = 10000
#: The hard stop's grace after the soft time limit: max(seconds, fraction x the limit).
GRACE = (15.0, 0.1)


class TimeLimit(BaseException):
    """The hard stop: ``--time-limit`` plus its grace period ran out while a measurement was running.
    A ``BaseException``, so that the per-point ``except Exception`` handlers let it through."""


def _raise_time_limit(signum, frame):
    raise TimeLimit()


class Budget:
    """The run's time limit. ``allows`` is the soft limit, asked before each measurement starts (one whose
    estimate does not fit in the time left is skipped, and says so); ``arm`` sets the hard stop, a SIGALRM
    ``grace_s`` after the soft limit that interrupts whatever runs (a compile, a long case) with
    :class:`TimeLimit`, so the run never lasts longer than ``limit_s + grace_s`` after ``start``."""

    def __init__(self, limit_s: float, start: float | None = None, grace_s: float | None = None):
        self.start = time.monotonic() if start is None else start
        self.limit_s = limit_s
        self.grace_s = max(GRACE[0], GRACE[1] * limit_s) if grace_s is None else grace_s
        self.skipped = []

    def left(self) -> float:
        return self.start + self.limit_s - time.monotonic()

    def allows(self, what: str, estimate_s: float = 0.0) -> bool:
        left = self.left()
        if left > estimate_s:
            return True
        self.skipped.append(what)
        print(f"time limit: skipped {what} (estimated {estimate_s:.0f} s, {max(left, 0.0):.0f} s left)", flush=True)
        return False

    def arm(self):
        if hasattr(signal, "setitimer"):   # POSIX; elsewhere only the soft limit applies
            signal.signal(signal.SIGALRM, _raise_time_limit)
            signal.setitimer(signal.ITIMER_REAL, max(self.left() + self.grace_s, 1e-3))

    def disarm(self):
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)


class Results:
    """The rows measured so far, written to ``out`` after every row (each file replaced whole, so a run
    stopped at any moment leaves complete CSV files of everything measured until then)."""

    def __init__(self, out: Path, profile_gemms: bool):
        self.out, self.profile_gemms = out, profile_gemms
        self.kernels, self.ops, self.names = [], [], []

    def kernel(self, row):
        self.kernels.append(row)
        self.flush()

    def op(self, row):
        self.ops.append(row)
        self.flush()

    def gemm_names(self, row):
        self.names.append(row)
        self.flush()

    def flush(self):
        write_csv(self.out / "kernels.csv", KERNEL_COLUMNS, self.kernels)
        write_csv(self.out / "llm_ops.csv", OP_COLUMNS, self.ops)
        if self.profile_gemms:
            write_csv(self.out / "gemm_kernels.csv", GEMM_KERNEL_COLUMNS, self.names)


class Timer:
    """Median times of a callable: CUDA events around CUDA-graph replays or eager calls; on a CPU,
    ``time.perf_counter`` (the smoke mode). ``cuda``: the device is a CUDA GPU (events, graphs)."""

    def __init__(self, device, reps: int, cuda: bool | None = None):
        self.device, self.reps = device, reps
        self.cuda = device.type == "cuda" if cuda is None else cuda

    def _sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def _median(self, run, reps) -> float:
        times = []
        for _ in range(reps):
            if self.cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                run()
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end) * 1e-3)
            else:
                t0 = time.perf_counter()
                run()
                times.append(time.perf_counter() - t0)
        return statistics.median(times)

    def sustained(self, fn, seconds: float, sample) -> tuple:
        """``fn`` captured in a CUDA graph and replayed back to back for about ``seconds`` (at most
        ``SUSTAIN_REPLAYS`` replays) with no synchronisation between replays: ``(median seconds of the second
        half's replays, the readings of sample() taken while they ran)``. ``sample`` runs on its own thread
        every 50 ms from the first replay to the last (a slow reader, nvidia-smi's tens of ms, never holds
        up the queue of replays, which would leave the GPU idle and the gap in a replay's time); readings
        that are ``None`` are dropped."""
        graph = self._capture(fn)
        one = self._median(graph.replay, 3)
        count = int(min(SUSTAIN_REPLAYS, max(4, seconds / max(one, 1e-7))))
        events = [torch.cuda.Event(enable_timing=True) for _ in range(count + 1)]
        readings, done = [], threading.Event()

        def sampling():
            while True:
                reading = sample()
                if reading is not None:
                    readings.append(reading)
                if done.wait(0.05):
                    return
        sampler = threading.Thread(target=sampling, name="gpu-state", daemon=True)
        events[0].record()
        sampler.start()
        try:
            for event in events[1:]:
                graph.replay()
                event.record()
            while not events[-1].query():
                time.sleep(0.005)
            events[-1].synchronize()
        finally:
            done.set()
            sampler.join(timeout=10)
        times = [events[i].elapsed_time(events[i + 1]) * 1e-3 for i in range(count)]
        return statistics.median(times[count // 2:]), list(readings)

    def _capture(self, fn):
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                fn()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            fn()
        graph.replay()
        self._sync()
        return graph

    def eager(self, fn, reps=None) -> float:
        fn()
        self._sync()
        return self._median(fn, reps or self.reps)

    def graph(self, fn, reps=None) -> float:
        """Capture ``fn`` in a CUDA graph and time its replays (eager timing on a CPU)."""
        if not self.cuda:
            return self.eager(fn, reps)
        return self._median(self._capture(fn).replay, reps or self.reps)


# -- element-wise ops fused by torch.compile (``compiled`` cases) ------------------------------------------
# What a serving stack's fused kernels do (vLLM: fused_add_rms_norm, rotary_embedding, silu_and_mul,
# reshape_and_cache), written as plain PyTorch and fused by TorchInductor (torch.compile): the residual
# add and the next RMSNorm in one kernel, rotate-half RoPE on q and k, SiLU(gate) * up, and the K/V cache
# append as an index_put (the pattern of pytorch-labs/gpt-fast's KVCache.update). Inductor decides how
# many kernels each becomes; the profiler's count is written in the step row's note.

def _add_rms_norm(x, m, w):
    x = x + m
    return x, F.rms_norm(x, (x.shape[-1],), w, 1e-5)


def _rope_pair(q, k, cos, sin):
    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


def _silu_mul(g, u):
    return F.silu(g) * u


def _kv_append(k_cache, v_cache, k, v, pos):
    k_cache[:, :, pos] = k.transpose(1, 2)
    v_cache[:, :, pos] = v.transpose(1, 2)


_COMPILED = {}
#: torch.compile's options (check_measure.py's ``--quick`` adds ``backend="aot_eager"``).
COMPILE_OPTIONS = {"fullgraph": True}


def compiled(fn):
    """``fn`` compiled by torch.compile (default mode: Inductor kernels, no CUDA graphs of its own), once."""
    if fn not in _COMPILED:
        # one compiled entry per shape family (decode batches, the prompt, the lm_head's last-token slice):
        # room for all of them, so no case falls back to eager kernels
        torch._dynamo.config.cache_size_limit = max(64, torch._dynamo.config.cache_size_limit)
        _COMPILED[fn] = torch.compile(fn, **COMPILE_OPTIONS)
    return _COMPILED[fn]


class Decoder:
    """Random-weight Llama-style decoder for one (batch, context) case; ops act on ``self.state``.

    ``fused``: q/k/v and gate/up as one GEMM each; ``compiled`` (implies ``fused``): the element-wise ops
    fused by torch.compile as above, each residual add inside the next norm's kernel."""

    def __init__(self, shape: Shape, batch: int, tokens: int, max_ctx: int, dtype, device, fused: bool,
                 compiled: bool = False):
        fused = fused or compiled
        self.s, self.batch, self.tokens, self.dtype, self.device, self.fused = shape, batch, tokens, dtype, device, fused
        self.compiled = compiled
        d, hd, h, kv = shape.hidden, shape.head_dim, shape.heads, shape.kv_heads
        g = torch.Generator(device=device).manual_seed(0)

        def w(*dims):
            return (torch.randn(*dims, generator=g, device=device, dtype=torch.float32) * 0.02).to(dtype)
        self.layers = []
        for _ in range(shape.layers):
            layer = {"attn_norm": torch.ones(d, device=device, dtype=dtype),
                     "mlp_norm": torch.ones(d, device=device, dtype=dtype),
                     "wo": w(h * hd, d), "wd": w(shape.ffn, d)}
            if fused:
                layer["wqkv"] = w(d, (h + 2 * kv) * hd)
                layer["wgu"] = w(d, 2 * shape.ffn)
            else:
                layer.update(wq=w(d, h * hd), wk=w(d, kv * hd), wv=w(d, kv * hd), wg=w(d, shape.ffn),
                             wu=w(d, shape.ffn))
            layer["k_cache"] = torch.zeros(batch, kv, max_ctx, hd, device=device, dtype=dtype)
            layer["v_cache"] = torch.zeros(batch, kv, max_ctx, hd, device=device, dtype=dtype)
            self.layers.append(layer)
        self.final_norm = torch.ones(d, device=device, dtype=dtype)
        self.lm_head = w(d, shape.vocab)
        self.x = w(batch, tokens, d) * 50
        self.buf = {}

    def _rope_tables(self, start: int):
        hd = self.s.head_dim
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, device=self.device, dtype=torch.float32) / hd))
        pos = torch.arange(start, start + self.tokens, device=self.device, dtype=torch.float32)
        freqs = torch.outer(pos, inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(self.dtype)[None, :, None, :], emb.sin().to(self.dtype)[None, :, None, :]

    def set_position(self, start: int, attended: int, causal: bool):
        """The new tokens sit at ``start ..``; attention reads ``attended`` cached positions."""
        self.start, self.attended, self.causal = start, attended, causal
        self.cos, self.sin = self._rope_tables(start)
        self.pos = torch.arange(start, start + self.tokens, device=self.device)
        b, t, s = self.batch, self.tokens, self.s
        z = lambda *dims: torch.zeros(*dims, device=self.device, dtype=self.dtype)  # noqa: E731
        self.buf = {"h": z(b, t, s.hidden), "q": z(b, t, s.heads * s.head_dim), "k": z(b, t, s.kv_heads * s.head_dim),
                    "v": z(b, t, s.kv_heads * s.head_dim), "o": z(b, t, s.hidden), "g": z(b, t, s.ffn),
                    "u": z(b, t, s.ffn), "a": z(b, t, s.ffn), "m": z(b, t, s.hidden), "x": self.x.clone()}

    # -- the ops of one layer (each a plain-PyTorch sequence of kernels) --------------------------------
    def op_attn_norm(self, L):
        self.buf["h"] = F.rms_norm(self.buf["x"], (self.s.hidden,), L["attn_norm"], 1e-5)

    def op_qkv(self, L):
        h = self.buf["h"]
        if self.fused:
            qkv = h @ L["wqkv"]
            q_n, kv_n = self.s.heads * self.s.head_dim, self.s.kv_heads * self.s.head_dim
            self.buf["q"], self.buf["k"], self.buf["v"] = qkv.split([q_n, kv_n, kv_n], dim=-1)
        else:
            self.buf["q"], self.buf["k"], self.buf["v"] = h @ L["wq"], h @ L["wk"], h @ L["wv"]

    def op_q_proj(self, L):
        self.buf["q"] = self.buf["h"] @ L["wq"]

    def op_k_proj(self, L):
        self.buf["k"] = self.buf["h"] @ L["wk"]

    def op_v_proj(self, L):
        self.buf["v"] = self.buf["h"] @ L["wv"]

    @staticmethod
    def _rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def op_rope(self, L):
        b, t, hd = self.batch, self.tokens, self.s.head_dim
        q = self.buf["q"].view(b, t, -1, hd)
        k = self.buf["k"].view(b, t, -1, hd)
        self.buf["q_r"] = q * self.cos + self._rotate_half(q) * self.sin
        self.buf["k_r"] = k * self.cos + self._rotate_half(k) * self.sin

    def op_kv_write(self, L):
        b, t, hd = self.batch, self.tokens, self.s.head_dim
        k = self.buf.get("k_r", self.buf["k"].view(b, t, -1, hd))
        v = self.buf["v"].view(b, t, -1, hd)
        L["k_cache"][:, :, self.start:self.start + t].copy_(k.transpose(1, 2))
        L["v_cache"][:, :, self.start:self.start + t].copy_(v.transpose(1, 2))

    def op_attention(self, L):
        b, t, hd = self.batch, self.tokens, self.s.head_dim
        q = self.buf.get("q_r", self.buf["q"].view(b, t, -1, hd)).transpose(1, 2)
        k = L["k_cache"][:, :, :self.attended]
        v = L["v_cache"][:, :, :self.attended]
        gqa = self.s.kv_heads != self.s.heads
        out = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal and t > 1, enable_gqa=gqa)
        self.buf["o"] = out.transpose(1, 2).reshape(b, t, -1)

    def op_o_proj(self, L):
        self.buf["m"] = self.buf["o"] @ L["wo"]

    def op_residual(self, L):
        self.buf["x"] = self.buf["x"] + self.buf["m"]

    def op_mlp_norm(self, L):
        self.buf["h"] = F.rms_norm(self.buf["x"], (self.s.hidden,), L["mlp_norm"], 1e-5)

    def op_gate_up(self, L):
        if self.fused:
            self.buf["g"], self.buf["u"] = (self.buf["h"] @ L["wgu"]).chunk(2, dim=-1)
        else:
            self.buf["g"], self.buf["u"] = self.buf["h"] @ L["wg"], self.buf["h"] @ L["wu"]

    def op_gate_proj(self, L):
        self.buf["g"] = self.buf["h"] @ L["wg"]

    def op_up_proj(self, L):
        self.buf["u"] = self.buf["h"] @ L["wu"]

    def op_act(self, L):
        self.buf["a"] = F.silu(self.buf["g"]) * self.buf["u"]

    def op_down_proj(self, L):
        self.buf["m"] = self.buf["a"] @ L["wd"]

    def op_lm_head(self):
        h = F.rms_norm(self.buf["x"][:, -1], (self.s.hidden,), self.final_norm, 1e-5)
        self.buf["next"] = torch.argmax(h @ self.lm_head, dim=-1)

    # -- the compiled variant's ops --------------------------------------------------------------------
    def op_add_attn_norm(self, L):
        """The previous layer's residual add and this layer's norm, one fused kernel."""
        self.buf["x"], self.buf["h"] = compiled(_add_rms_norm)(self.buf["x"], self.buf["m"], L["attn_norm"])

    def op_add_mlp_norm(self, L):
        self.buf["x"], self.buf["h"] = compiled(_add_rms_norm)(self.buf["x"], self.buf["m"], L["mlp_norm"])

    def op_rope_fused(self, L):
        b, t, hd = self.batch, self.tokens, self.s.head_dim
        self.buf["q_r"], self.buf["k_r"] = compiled(_rope_pair)(self.buf["q"].view(b, t, -1, hd),
                                                                self.buf["k"].view(b, t, -1, hd), self.cos, self.sin)

    def op_kv_write_fused(self, L):
        b, t, hd = self.batch, self.tokens, self.s.head_dim
        compiled(_kv_append)(L["k_cache"], L["v_cache"], self.buf["k_r"], self.buf["v"].view(b, t, -1, hd), self.pos)

    def op_act_fused(self, L):
        self.buf["a"] = compiled(_silu_mul)(self.buf["g"], self.buf["u"])

    def op_lm_head_fused(self):
        _, h = compiled(_add_rms_norm)(self.buf["x"][:, -1], self.buf["m"][:, -1], self.final_norm)
        self.buf["next"] = torch.argmax(h @ self.lm_head, dim=-1)

    def layer_sequence(self):
        """(per-op row name, method) of one layer, in order; rows are named like accelsim llm's. In the
        compiled variant ``attn_norm`` / ``mlp_norm`` include the residual add before them."""
        if self.compiled:
            return [("attn_norm", self.op_add_attn_norm), ("attn.qkv_proj", self.op_qkv),
                    ("attn.rope", self.op_rope_fused), ("kv_cache.write", self.op_kv_write_fused),
                    ("attention", self.op_attention), ("attn.o_proj", self.op_o_proj),
                    ("mlp_norm", self.op_add_mlp_norm), ("mlp.gate_up_proj", self.op_gate_up),
                    ("mlp.act_fn", self.op_act_fused), ("mlp.down_proj", self.op_down_proj)]
        qkv = [("attn.qkv_proj", self.op_qkv)] if self.fused else [
            ("attn.q_proj", self.op_q_proj), ("attn.k_proj", self.op_k_proj), ("attn.v_proj", self.op_v_proj)]
        gu = [("mlp.gate_up_proj", self.op_gate_up)] if self.fused else [
            ("mlp.gate_proj", self.op_gate_proj), ("mlp.up_proj", self.op_up_proj)]
        return ([("attn_norm", self.op_attn_norm)] + qkv + [
            ("attn.rope", self.op_rope), ("kv_cache.write", self.op_kv_write), ("attention", self.op_attention),
            ("attn.o_proj", self.op_o_proj), ("attn.residual", self.op_residual), ("mlp_norm", self.op_mlp_norm)]
            + gu + [("mlp.act_fn", self.op_act), ("mlp.down_proj", self.op_down_proj),
                    ("mlp.residual", self.op_residual)])

    def lm_head_op(self):
        return self.op_lm_head_fused if self.compiled else self.op_lm_head

    def forward(self):
        for L in self.layers:
            for _, fn in self.layer_sequence():
                fn(L)
        self.lm_head_op()()

    def each_layer(self, fn):
        def run():
            for L in self.layers:
                fn(L)
        return run


def rotated(count_bytes: int, make, minimum: int = 2) -> list:
    """Enough copies of an operand that cycling through them moves >= ``L2_FLUSH_BYTES``."""
    return [make() for _ in range(max(minimum, math.ceil(L2_FLUSH_BYTES / max(count_bytes, 1))))]


#: ``nvidia-smi --query-gpu`` field lists, tried in this order until one answers (``--format=csv,noheader,nounits``
#: prints one line of comma-separated values, ``[N/A]`` where unsupported; the clock-event reasons print
#: ``Active`` / ``Not Active``). Drivers before R535 call the reasons ``clocks_throttle_reasons.*`` (NVML's
#: nvmlClocksThrottleReasons, renamed nvmlClocksEventReasons); a driver that knows neither gets the third list.
SMI_QUERIES = (("clocks.sm", "power.draw", "temperature.gpu", "clocks_event_reasons.sw_power_cap",
                "clocks_event_reasons.sw_thermal_slowdown", "clocks_event_reasons.hw_slowdown"),
               ("clocks.sm", "power.draw", "temperature.gpu", "clocks_throttle_reasons.sw_power_cap",
                "clocks_throttle_reasons.sw_thermal_slowdown", "clocks_throttle_reasons.hw_slowdown"),
               ("clocks.sm", "power.draw"))
_SMI_KEYS = {"clocks.sm": "sm_mhz", "power.draw": "power_w", "temperature.gpu": "temp_c", "sw_power_cap": "power_cap",
             "sw_thermal_slowdown": "thermal", "hw_slowdown": "hw_slowdown"}
#: NVML clock-event reason bits (nvml.h, nvmlClocksEventReasons): SwPowerCap 0x4, HwSlowdown 0x8,
#: SwThermalSlowdown 0x20, HwThermalSlowdown 0x40, HwPowerBrakeSlowdown 0x80.
NVML_REASON_BITS = {"power_cap": 0x4, "thermal": 0x20 | 0x40, "hw_slowdown": 0x8 | 0x80}


def parse_smi(text: str, fields) -> dict | None:
    """One reading from ``nvidia-smi --query-gpu=FIELDS --format=csv,noheader,nounits`` output: a dict with
    ``sm_mhz``, ``power_w`` (and ``temp_c``, ``power_cap``, ``thermal``, ``hw_slowdown`` when queried;
    ``None`` where the driver printed ``[N/A]``), or ``None`` when the output is not such a line (an
    unknown field's error message, an empty answer, no SM clock)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    values = [v.strip() for v in lines[0].split(",")]
    if len(values) != len(fields):
        return None
    reading = {}
    for field, value in zip(fields, values):
        key = _SMI_KEYS.get(field, _SMI_KEYS.get(field.rpartition(".")[2]))
        if value.strip("[]") in ("N/A", "Not Supported", "Unknown Error"):
            reading[key] = None
        elif value in ("Active", "Not Active"):
            reading[key] = value == "Active"
        else:
            try:
                reading[key] = float(value)
            except ValueError:
                return None
    return reading if reading.get("sm_mhz") is not None else None


def reasons_from_mask(mask: int) -> dict:
    """The clock-event reasons of an NVML bit mask, as :func:`parse_smi` names them."""
    return {name: bool(mask & bits) for name, bits in NVML_REASON_BITS.items()}


def smi_target(index: int, visible: str | None) -> str:
    """The ``nvidia-smi -i`` argument of CUDA device ``index``: nvidia-smi ignores CUDA_VISIBLE_DEVICES
    and numbers every GPU of the machine, so the index is mapped through that list (an entry may be a
    physical index or a GPU UUID, both of which ``-i`` accepts)."""
    entries = [e.strip() for e in (visible or "").split(",") if e.strip()]
    return entries[index] if index < len(entries) else str(index)


def format_state(readings) -> str:
    """A short summary of GPU-state readings for the ``variant`` column and setup.txt, e.g.
    ``sm 1755 MHz (1590-1980 MHz, 9 readings), 690 W, 71 C, power cap 6/9``; ``""`` when there are none."""
    readings = [r for r in readings if r]
    if not readings:
        return ""

    def values(key):
        return [r[key] for r in readings if r.get(key) is not None]
    clocks = values("sm_mhz")
    text = f"sm {statistics.median(clocks):.0f} MHz"
    if len(clocks) > 1:
        text += f" ({min(clocks):.0f}-{max(clocks):.0f} MHz, {len(clocks)} readings)"
    if values("power_w"):
        text += f", {statistics.median(values('power_w')):.0f} W"
    if values("temp_c"):
        text += f", {max(values('temp_c')):.0f} C"
    for key, label in (("power_cap", "power cap"), ("thermal", "thermal slowdown"), ("hw_slowdown", "hw slowdown")):
        known = values(key)
        if any(known):
            text += f", {label} {sum(known)}/{len(known)}"
    return text


class GpuState:
    """Reads the SM clock, board power, temperature and clock-event reasons of CUDA device ``index``:
    NVML through ``torch.cuda.clock_rate`` / ``power_draw`` / ``temperature`` (they need the nvidia-ml-py
    package), else ``nvidia-smi``; the first source that answers is kept, and once neither does,
    ``read()`` returns ``None`` without asking again (a missing tool costs nothing per sample)."""

    def __init__(self, index: int, cuda: bool):
        self.index, self.cuda = index, cuda
        self.source = None if cuda else "none"
        self._queries = list(SMI_QUERIES)

    def read(self) -> dict | None:
        if self.source in (None, "nvml"):
            try:
                reading = self._nvml()
                self.source = "nvml"
                return reading
            except Exception:   # no nvidia-ml-py (torch raises ModuleNotFoundError), no driver
                if self.source == "nvml":
                    return None
                self.source = "nvidia-smi"
        if self.source == "nvidia-smi":
            reading = self._nvidia_smi()
            if reading is None and not self._queries:
                self.source = "none"
            return reading
        return None

    def _nvml(self) -> dict:
        reading = {"sm_mhz": float(torch.cuda.clock_rate(self.index)),
                   "power_w": torch.cuda.power_draw(self.index) / 1000, "temp_c": float(torch.cuda.temperature(self.index))}
        try:   # the clock-event reasons: only through nvidia-ml-py itself
            import pynvml
            handle = torch.cuda._get_pynvml_handler(self.index)
            get = getattr(pynvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
                pynvml.nvmlDeviceGetCurrentClocksThrottleReasons
            reading.update(reasons_from_mask(int(get(handle))))
        except Exception:
            pass
        return reading

    def _nvidia_smi(self) -> dict | None:
        target = smi_target(self.index, os.environ.get("CUDA_VISIBLE_DEVICES"))
        while self._queries:
            fields = self._queries[0]
            try:
                out = subprocess.run(["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits",
                                      "-i", target], capture_output=True, text=True, timeout=5)
            except (OSError, subprocess.SubprocessError):   # no nvidia-smi, or it hangs: stop asking
                self._queries = []
                return None
            reading = parse_smi(out.stdout, fields) if out.returncode == 0 else None
            if reading is not None:
                return reading
            self._queries.pop(0)   # this driver does not know a field of the list: the next list
        return None


def gemm_kernel_names(fn) -> list:
    """The kernels one call of ``fn`` runs, as the PyTorch profiler names them (cuBLAS names carry the
    tile and cluster shape and the split-K / stream-K variant), in launch order."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    return [e.name for e in sorted(prof.events(), key=lambda e: e.time_range.start) if e.device_type == DeviceType.CUDA]


_NVJET = re.compile(r"nvjet_[a-z0-9]+_(?P<tile>\d+x\d+)_(?P<ktile>\d+)x(?P<stages>\d+)_(?P<cluster>\d+x\d+)")
_SHAPE_KEYS = (("tile", re.compile(r"tilesize(\d+x\d+)(?:x\d+)?")), ("cluster", re.compile(r"cgasize(\d+x\d+)(?:x\d+)?")),
               ("stages", re.compile(r"stages?_?(?:\d+x)?(\d+)")))
_CUTLASS_TILE = re.compile(r"_(\d+x\d+)_(\d+)x(\d+)_")
_LEGACY_TILE = re.compile(r"gemm\w*?_(\d+x\d+)_")


def parse_kernel_name(name: str) -> dict:
    """The tile (``MxN`` of the output tile), thread-block cluster (``MxN``), pipeline stages and K-splitting
    of one cuBLAS / CUTLASS kernel name, where the name says them (missing keys: it does not). Name
    patterns seen in public profiles of Hopper GPUs: ``nvjet_tst_128x256_64x4_1x2_h_bz_coopA_TNT`` (tile
    128x256, K tile 64 in 4 stages, cluster 1x2), ``..._splitK_TNT``; ``sm90_xmma_gemm_..._tilesize128x128x64_
    cgasize2x1x1_..._execute_segment_k_off_kernel__5x_cublas``; Ampere ``cutlass_80_tensorop_..._64x64_64x4_tn``
    and ``ampere_..._128x256_ldg8_f2f_stages_64x3_tn``; cuBLASLt's split-K reduction ``splitKreduce_kernel``."""
    info = {}
    nvjet = _NVJET.search(name)
    if nvjet:
        info.update(tile=nvjet["tile"], stages=int(nvjet["stages"]), cluster=nvjet["cluster"])
    else:
        for key, pattern in _SHAPE_KEYS:
            found = pattern.search(name)
            if found:
                info[key] = int(found[1]) if key == "stages" else found[1]
        cutlass = _CUTLASS_TILE.search(name)
        if cutlass and "tile" not in info:
            info.update(tile=cutlass[1], stages=int(cutlass[3]))
        legacy = _LEGACY_TILE.search(name)
        if legacy and "tile" not in info:
            info["tile"] = legacy[1]
    lower = name.lower()
    if "splitkreduce" in lower:
        info["split"] = "split-K reduce"
    elif re.search(r"(^|_)splitk(_|$)", lower):
        info["split"] = "split-K"
    elif "streamk" in lower or "stream_k" in lower:
        info["split"] = "stream-K"
    elif "segment_k_on" in lower:
        info["split"] = "segment-K"
    return info


def summarize_kernels(names) -> dict:
    """``tile``, ``cluster``, ``stages`` of the first named GEMM kernel and ``split`` (``split-K``,
    ``stream-K``, ``segment-K`` or ``none``) over all of them, for gemm_kernels.csv."""
    parsed = [parse_kernel_name(n) for n in names]
    main = next((p for p in parsed if "tile" in p), {})
    splits = [p["split"] for p in parsed if "split" in p]
    split = "split-K" if any(s.startswith("split-K") for s in splits) else splits[0] if splits else "none"
    return {"tile": main.get("tile", ""), "cluster": main.get("cluster", ""), "stages": main.get("stages", ""),
            "split": split}


def gemm_rows(timer, device, dtype, points, budget, results, sustain_s=0.0, label="", names=False, state=None):
    """One row per GEMM point: the median of 10 replays of a CUDA graph of calls over rotating weight
    copies, each replay timed alone; with ``sustain_s`` also a row timed under sustained load (replays
    back to back for about that long, the median of the second half), SM clock, power and clock-event
    reasons sampled while it runs (``state``, a :class:`GpuState`), in the ``variant`` column. ``names``:
    also record the kernels one call runs (``results.gemm_names``). False when the time limit stopped it."""
    for m, n, k in points:
        if not budget.allows(f"GEMM m={m} n={n} k={k} {label}".strip(), estimate_gemm_s(sustain_s, names)):
            return False
        e = torch.finfo(dtype).bits // 8
        x = torch.randn(m, k, device=device, dtype=dtype)
        ws = rotated(k * n * e, lambda: torch.randn(k, n, device=device, dtype=dtype), 2)

        def run():
            for w in ws:
                torch.matmul(x, w)
        flops, nbytes = 2 * m * n * k, (m * k + k * n + m * n) * e

        def row(variant, t):
            results.kernel({"kind": "gemm", "m": m, "n": n, "k": k, "variant": variant, "time_s": t, "flops": flops,
                            "bytes": nbytes, "tflops": flops / t / 1e12, "tbps": nbytes / t / 1e12})
            print(f"gemm m={m} n={n} k={k} {variant}: {t * 1e6:.2f} us ({flops / t / 1e12:.1f} TFLOP/s)", flush=True)
        row(label, timer.graph(run, reps=10) / len(ws))
        if sustain_s > 0 and timer.cuda:
            t, readings = timer.sustained(run, sustain_s, state.read if state else lambda: None)
            summary = format_state(readings)
            row((label + "; " if label else "") + f"sustained {sustain_s * 1e3:.0f} ms" + (f"; {summary}" if summary else ""),
                t / len(ws))
        if names and timer.cuda:
            kernels = gemm_kernel_names(lambda: torch.matmul(x, ws[0]))
            results.gemm_names({"m": m, "n": n, "k": k, "kernels": ";".join(kernels)} | summarize_kernels(kernels))
        del ws
    return True


def attention_rows(timer, device, dtype, points, head_dim, budget, results):
    for batch, heads, kv_heads, context in points:
        if not budget.allows(f"decode attention b={batch} h={heads}/{kv_heads} ctx={context}", ESTIMATE["attention_s"]):
            break
        e = torch.finfo(dtype).bits // 8
        kv_bytes = 2 * batch * kv_heads * context * head_dim * e
        q = torch.randn(batch, heads, 1, head_dim, device=device, dtype=dtype)
        caches = rotated(kv_bytes, lambda: (torch.randn(batch, kv_heads, context, head_dim, device=device, dtype=dtype),
                                            torch.randn(batch, kv_heads, context, head_dim, device=device, dtype=dtype)))
        gqa = kv_heads != heads

        def run():
            for k, v in caches:
                F.scaled_dot_product_attention(q, k, v, enable_gqa=gqa)
        t = timer.graph(run, reps=10) / len(caches)
        flops = 4 * batch * heads * context * head_dim
        results.kernel({"kind": "decode_attention", "batch": batch, "heads": heads, "kv_heads": kv_heads,
                        "context": context, "time_s": t, "flops": flops, "bytes": kv_bytes,
                        "tflops": flops / t / 1e12, "tbps": kv_bytes / t / 1e12})
        print(f"decode attention b={batch} h={heads}/{kv_heads} ctx={context}: {t * 1e6:.2f} us", flush=True)
        del caches


#: The ceilings' sizes: the copied / read buffer and the square GEMMs (smoke mode: SMOKE_CEILINGS).
CEILINGS = (2 ** 32, (4096, 8192))
SMOKE_CEILINGS = (2 ** 20, (64,))


def ceiling_rows(timer, device, dtype, size_bytes, gemm_sizes, results):
    e = torch.finfo(dtype).bits // 8
    a = torch.empty(size_bytes // e, device=device, dtype=dtype)
    b = torch.empty_like(a)
    t = timer.eager(lambda: b.copy_(a), reps=10)
    results.op({"model": "-", "phase": "ceiling", "op": "d2d_copy", "time_s": t, "bytes": 2 * a.numel() * e,
                "note": f"{2 * a.numel() * e / t / 1e12:.3f} TB/s read+write"})
    t = timer.eager(lambda: a.sum(dtype=torch.float32), reps=10)
    results.op({"model": "-", "phase": "ceiling", "op": "read_sum", "time_s": t, "bytes": a.numel() * e,
                "note": f"{a.numel() * e / t / 1e12:.3f} TB/s read"})
    del a, b
    for size in gemm_sizes:
        x = torch.randn(size, size, device=device, dtype=dtype)
        w = torch.randn(size, size, device=device, dtype=dtype)
        t = timer.eager(lambda: torch.matmul(x, w), reps=10)
        results.op({"model": "-", "phase": "ceiling", "op": f"gemm_{size}", "time_s": t, "flops": 2 * size ** 3,
                    "note": f"{2 * size ** 3 / t / 1e12:.1f} TFLOP/s"})


def count_kernels(fn) -> int:
    """GPU kernels one call of ``fn`` launches (the PyTorch profiler; copies and memsets not counted)."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    return sum(1 for e in prof.events() if e.device_type == DeviceType.CUDA
               and not e.name.startswith(("Memcpy", "Memset")))


#: What the run's estimate assumes (:func:`estimate_plan`): the rates a Llama step runs at on an H200
#: (about 600 TFLOP/s and 3.5 TB/s, hw/h200.yaml's fitted values rounded down), the fill rate of random
#: weights (float32 randn, then a cast), fixed costs per stage, set so that the three runs measure.py made
#: on an H200 are estimated at 1-2x their wall time (tests/test_gpu_measure.py; docs/silicon.md: 13, 16
#: and 12 s of measurement, plus start-up), and torch.compile's compiles, which no run has measured yet:
#: the first compiled case compiles the four fused functions (Inductor and Triton, cold), a later one
#: recompiles them for its new sizes (batch 1 -> 16, one token -> a prompt).
ESTIMATE = {"flops_per_s": 600e12, "bytes_per_s": 3.5e12, "fill_bytes_per_s": 1e12, "startup_s": 6.0,
            "ceilings_s": 2.0, "gemm_s": 0.2, "attention_s": 0.25, "case_s": 0.5, "op_s": 0.05,
            "profile_s": 0.5, "first_profile_s": 3.0, "first_compile_s": 60.0, "recompile_s": 30.0}


def estimate_gemm_s(sustain_s: float, profile: bool) -> float:
    """The estimated wall time of one GEMM point on a GPU: allocation of >= 256 MB of rotated operands,
    graph capture and 10 timed replays; the sustained load (``sustain_s``, plus its sampling); the profiler."""
    return ESTIMATE["gemm_s"] + 1.2 * sustain_s + (ESTIMATE["profile_s"] if profile else 0.0)


def estimate_case_s(shape: Shape, phase: str, batch: int, context: int, per_op: bool, eager: bool, compiled: bool,
                    reps: int, first_compiled: bool) -> float:
    """The estimated wall time of one LLM case on a GPU (``ESTIMATE``): allocating the weights and the KV
    cache, compiling, the whole-pass timings (and the profiler's pass), the per-op rows."""
    d, hd, kv, layers, e = shape.hidden, shape.head_dim, shape.kv_heads, shape.layers, 2
    params = layers * (2 * d * shape.heads * hd + 2 * d * kv * hd + 3 * d * shape.ffn) + d * shape.vocab
    cache = layers * 2 * batch * kv * context * hd * e
    tokens = 1 if phase == "decode" else context
    flops = 2 * params * batch * tokens + layers * 4 * batch * tokens * context * shape.heads * hd
    pass_s = flops / ESTIMATE["flops_per_s"] + (params * e + cache) / ESTIMATE["bytes_per_s"]
    alloc_s = (params * 4 + cache) / ESTIMATE["fill_bytes_per_s"]
    compile_s = (ESTIMATE["first_compile_s"] if first_compiled else ESTIMATE["recompile_s"]) if compiled else 0.0
    passes = 1 if phase == "decode" else 2
    timed = passes * (reps + 4) * pass_s + (10 * pass_s + 0.02 if eager else 0.0)
    ops = (2 * (reps + 3) * pass_s + 14 * ESTIMATE["op_s"]) if per_op else 0.0   # each op: a capture, reps
    return ESTIMATE["case_s"] + alloc_s + compile_s + timed + ops


def llm_rows(timer, device, dtype, shape, phase, batch, context, fused, per_op, eager_step, reps, results, budget,
             compiled=False):
    """Rows of one decode (``context`` attended positions) or prefill (``context`` prompt tokens) case,
    each handed to ``results`` when measured; stops early (what is measured is kept) at the time limit."""
    tokens = 1 if phase == "decode" else context
    model = decoder_cache.get(shape, batch, tokens, context, dtype, device, fused, compiled, timer.cuda)
    label = shape.name + ("+compiled" if compiled else "+fused" if fused else "")

    def row(op, t, note=""):
        results.op({"model": label, "phase": phase, "batch": batch, "context": context, "op": op, "time_s": t,
                    "note": note})
        print(f"{label} {phase} b={batch} ctx={context} {op}: {t * 1e3:.4f} ms", flush=True)

    def kernels_note(text):
        if not timer.cuda:
            return text
        model.forward()   # compiled functions are compiled (and warmed) before the profiler counts
        return f"{text}; {count_kernels(model.forward)} kernels (PyTorch profiler)"
    where = f"{label} {phase} b={batch} ctx={context}"
    if phase == "decode":
        model.set_position(context - 1, context, causal=False)
        note = kernels_note("whole step, CUDA graph")
        row("step", timer.graph(model.forward, reps=reps), note)
        if eager_step and budget.allows(f"{where} step_eager"):
            row("step_eager", timer.eager(model.forward, reps=5), "whole step, eager launches")
    else:
        for causal in (True, False):
            if not budget.allows(f"{where} {'pass_causal' if causal else 'pass_dense'}"):
                return
            model.set_position(0, context, causal=causal)
            note = kernels_note("whole prefill, causal flash" if causal else "whole prefill, non-causal")
            row("pass_causal" if causal else "pass_dense", timer.eager(model.forward, reps=reps), note)
    if not per_op:
        return
    model.set_position(context - tokens, context, causal=phase == "prefill")
    model.forward()   # fills every buffer an op reads
    for name, fn in model.layer_sequence():
        if name == "mlp.residual":
            continue   # the same kernel as attn.residual
        if not budget.allows(f"{where} per-op rows from {name}"):
            return
        run = model.each_layer(fn)
        if name == "attention" and phase == "prefill":
            for causal in (True, False):
                model.causal = causal
                row("attention_causal" if causal else "attention_dense", timer.eager(run, reps=reps))
            continue
        row(name, timer.graph(run, reps=reps) if phase == "decode" else timer.eager(run, reps=reps))
    if budget.allows(f"{where} lm_head"):
        head = model.lm_head_op()
        row("lm_head", timer.graph(head, reps=reps) if phase == "decode" else timer.eager(head, reps=reps),
            "final norm, lm_head and argmax on the last token")


class _DecoderCache:
    """Keeps one model's weights while its cases run (allocating 16 GB of weights takes a while)."""

    def __init__(self):
        self.key, self.model = None, None

    def get(self, shape, batch, tokens, context, dtype, device, fused, compiled=False, cuda=False):
        key = (shape, batch, tokens, context, fused, compiled)
        if key != self.key:
            self.drop(cuda)
            self.model, self.key = Decoder(shape, batch, tokens, context, dtype, device, fused, compiled), key
        return self.model

    def drop(self, cuda: bool):
        """Free the weights (before the next model, or after a failed case)."""
        self.key, self.model = None, None
        if cuda:
            torch.cuda.empty_cache()


decoder_cache = _DecoderCache()


CASE_FLAGS = ("fused", "compiled", "ops", "eager")


def parse_case(text: str):
    """``MODEL:PHASE:BATCH:CONTEXT[:fused|:compiled][:ops][:eager]``, e.g. ``llama3_8b:decode:16:2048:ops``:
    ``(model, phase, batch, context, fused, per_op, eager, compiled)``."""
    parts = text.split(":")
    usage = (f"--case {text!r}: expected MODEL:decode|prefill:BATCH:CONTEXT[:fused|:compiled][:ops][:eager] with "
             f"MODEL one of {', '.join(MODELS)}")
    if len(parts) < 4 or parts[0] not in MODELS or parts[1] not in ("decode", "prefill"):
        raise argparse.ArgumentTypeError(usage)
    try:
        batch, context = int(parts[2]), int(parts[3])
    except ValueError:
        raise argparse.ArgumentTypeError(f"{usage} (BATCH and CONTEXT are whole numbers)") from None
    if batch <= 0 or context <= 0:
        raise argparse.ArgumentTypeError(f"{usage} (BATCH and CONTEXT must be positive)")
    flags = set(parts[4:])
    unknown = flags - set(CASE_FLAGS)
    if unknown:
        raise argparse.ArgumentTypeError(f"--case {text!r}: unknown flag(s) {', '.join(sorted(unknown))}; "
                                         f"known: {', '.join(CASE_FLAGS)}")
    return (parts[0], parts[1], batch, context, "fused" in flags or "compiled" in flags, "ops" in flags,
            "eager" in flags, "compiled" in flags)


DEFAULT_CASES = ["llama2_7b:decode:1:2048:ops:eager", "llama2_7b:decode:16:2048:ops", "llama2_7b:decode:64:2048:ops",
                 "llama2_7b:decode:1:8192:ops", "llama2_7b:decode:1:32768:ops", "llama2_7b:prefill:1:2048:ops"]
DEFAULT_GEMMS = [(m, n, k) for n, k in ((4096, 4096), (11008, 4096), (4096, 11008), (1024, 4096), (32000, 4096))
                 for m in (1, 16, 64, 256, 1024, 4096)]
DEFAULT_ATTENTION = [(b, 32, 32, c) for b in (1, 16, 64) for c in (512, 2048, 8192)]
SMOKE_CASES = ["tiny:decode:2:64:ops:eager", "tiny:prefill:1:32:ops", "tiny:decode:2:64:fused:ops",
               "tiny:decode:2:64:compiled:ops", "tiny:prefill:1:32:compiled:ops"]


def parse_triples(text, size):
    values = [tuple(int(v) for v in item.split("x")) for item in text.split(",") if item]
    if any(len(v) != size for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated items of {size} numbers joined by 'x'")
    return values


def write_csv(path: Path, columns, rows):
    """``rows`` (dicts; missing columns empty) as a CSV file, written to a temporary file and renamed
    over ``path``, so that an interrupted write leaves the previous complete file."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=columns)
        out.writeheader()
        for r in rows:
            out.writerow({c: r.get(c, "") for c in columns})
    os.replace(tmp, path)


#: Named runs (``--preset``): what a session with a GPU should measure next, in one command.
#: ``fused-and-variance``: the fused variants (q/k/v and gate/up GEMMs; element-wise ops fused by
#: torch.compile) beside the unfused step in the same session, and the big GEMMs that miss the model
#: repeated in three rounds, each also under half a second of sustained load with the SM clock and power
#: sampled, with the cuBLAS kernel names (``--estimate``: 257 s on an H200, 180 s of them compiles).
PRESETS = {
    "fused-and-variance": {
        "case": ["llama2_7b:decode:1:2048:ops", "llama2_7b:decode:1:2048:fused:ops", "llama2_7b:decode:1:2048:compiled:ops",
                 "llama2_7b:decode:16:2048", "llama2_7b:decode:16:2048:compiled:ops",
                 "llama2_7b:decode:64:2048", "llama2_7b:decode:64:2048:compiled:ops",
                 "llama2_7b:prefill:1:2048", "llama2_7b:prefill:1:2048:compiled:ops",
                 "llama3_8b:decode:16:4096", "llama3_8b:decode:16:4096:compiled"],
        "gemms": "1024x4096x4096,2048x4096x4096,4096x4096x4096,8192x4096x4096,4096x11008x4096,4096x4096x11008,"
                 "1024x11008x4096,512x14336x4096,4096x32000x4096,512x128256x4096,1024x128256x4096,"
                 "128x1024x4096,256x4096x11008,256x11008x4096,256x22016x4096",
        "attention": "",
        "gemm_rounds": 3, "sustain": 0.5, "profile_gemms": True, "time_limit": 420.0,
    },
}


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--out", required=True, type=Path,
                    help="folder for kernels.csv, llm_ops.csv, setup.txt (and gemm_kernels.csv)")
    ap.add_argument("--smoke", action="store_true", help="tiny shapes and few repetitions (runs on a CPU in seconds)")
    ap.add_argument("--preset", choices=sorted(PRESETS), default=None,
                    help="a named run (its cases, GEMMs and options; options given as well win): "
                         + "; ".join(f"{k}: {', '.join(v['case'])}" for k, v in PRESETS.items()))
    ap.add_argument("--case", action="append", type=parse_case, default=None,
                    help="MODEL:decode|prefill:BATCH:CONTEXT[:fused|:compiled][:ops][:eager] (repeatable); fused: "
                         "q/k/v and gate/up one GEMM each; compiled: that plus the element-wise ops fused by "
                         f"torch.compile; default: {' '.join(DEFAULT_CASES)}")
    ap.add_argument("--gemms", type=lambda t: parse_triples(t, 3), default=None, metavar="MxNxK,...",
                    help="GEMM grid points (default: Llama-2-7B projections, m = 1..4096)")
    ap.add_argument("--attention", type=lambda t: parse_triples(t, 4), default=None, metavar="BxHxKVxCTX,...",
                    help="decode-attention grid points (default: batch 1/16/64, context 512/2048/8192, MHA 32 heads)")
    ap.add_argument("--gemm-rounds", type=_positive_int, default=None, metavar="N",
                    help="measure the GEMM grid N times, round after round (variant column 'round i/N'; default 1)")
    ap.add_argument("--sustain", type=float, default=None, metavar="SECONDS",
                    help="also time each GEMM under sustained load: CUDA-graph replays back to back for about "
                         "this long, SM clock and power sampled meanwhile (variant column; default 0: off)")
    ap.add_argument("--profile-gemms", action="store_true", default=None,
                    help="write gemm_kernels.csv: the kernels each GEMM point runs (PyTorch profiler names)")
    ap.add_argument("--head-dim", type=_positive_int, default=128)
    ap.add_argument("--no-ceilings", action="store_true", help="skip the copy / read / square-GEMM ceilings")
    ap.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                    help="seconds from the start (PyTorch's import included): no measurement starts after this, "
                         "nor one whose estimate does not fit; a hard stop interrupts the run max(15 s, 10%%) later. "
                         "Every row is written as soon as it is measured (default 300)")
    ap.add_argument("--reps", type=_positive_int, default=20, help="repetitions per timing (median)")
    ap.add_argument("--estimate", action="store_true",
                    help="print the run's stages and their estimated seconds on a GPU, and exit (needs no PyTorch)")
    return ap


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    """The command line with a ``--preset``'s values filled in where no option was given, and defaults."""
    ap = build_parser()
    args = ap.parse_args(argv)
    preset = PRESETS.get(args.preset, {})
    if args.case is None and "case" in preset:
        args.case = [parse_case(c) for c in preset["case"]]
    if args.gemms is None and "gemms" in preset:
        args.gemms = parse_triples(preset["gemms"], 3)
    if args.attention is None and "attention" in preset:
        args.attention = parse_triples(preset["attention"], 4)
    for key, default in (("gemm_rounds", 1), ("sustain", 0.0), ("profile_gemms", False), ("time_limit", 300.0)):
        if getattr(args, key) is None:
            setattr(args, key, preset.get(key, default))
    if args.sustain < 0:
        ap.error(f"--sustain: must be >= 0 seconds (got {args.sustain})")
    if args.time_limit <= 0:
        ap.error(f"--time-limit: must be > 0 seconds (got {args.time_limit})")
    return args


def resolve(args) -> tuple:
    """``(cases, gemms, attention)`` of the run: the options' or the preset's, else the defaults (smoke mode:
    the tiny ones)."""
    cases = args.case or [parse_case(c) for c in (SMOKE_CASES if args.smoke else DEFAULT_CASES)]
    gemms = args.gemms if args.gemms is not None else ([(4, 64, 32), (64, 128, 64)] if args.smoke else DEFAULT_GEMMS)
    attention = args.attention if args.attention is not None else (
        [(2, 4, 2, 64)] if args.smoke else DEFAULT_ATTENTION)
    return cases, gemms, attention


def estimate_plan(args) -> list:
    """``(what, seconds)`` for each stage of the run ``args`` asks for, in the order it runs them, estimated
    for a GPU with :func:`estimate_gemm_s`, :func:`estimate_case_s` and ``ESTIMATE`` (needs no PyTorch)."""
    cases, gemms, attention = resolve(args)
    plan = [("start-up (PyTorch, the CUDA context)", ESTIMATE["startup_s"])]
    if not args.no_ceilings:
        plan.append(("ceilings", ESTIMATE["ceilings_s"]))
    one_round = len(gemms) * estimate_gemm_s(args.sustain, False)
    if gemms:
        plan.append((f"GEMM grid, round 1 of {args.gemm_rounds} ({len(gemms)} points)",
                     len(gemms) * estimate_gemm_s(args.sustain, args.profile_gemms)
                     + (ESTIMATE["first_profile_s"] if args.profile_gemms else 0.0)))
    if attention:
        plan.append((f"decode-attention grid ({len(attention)} points)", ESTIMATE["attention_s"] * len(attention)))
    seen_compiled = False
    for model, phase, batch, context, fused, per_op, eager, compiled in cases:
        plan.append((f"{model}{'+compiled' if compiled else '+fused' if fused else ''} {phase} b={batch} ctx={context}",
                     estimate_case_s(MODELS[model], phase, batch, context, per_op, eager, compiled, args.reps,
                                     compiled and not seen_compiled)))
        seen_compiled = seen_compiled or compiled
    for r in range(2, args.gemm_rounds + 1):
        if gemms:
            plan.append((f"GEMM grid, round {r} of {args.gemm_rounds}", one_round))
    return plan


def pick_device():
    """``(device, cuda)``: the first CUDA GPU, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device()), True
    return torch.device("cpu"), False


def main(argv=None):
    started = time.monotonic()   # the time limit counts PyTorch's import too
    args = parse_args(argv)
    if args.estimate:
        plan = estimate_plan(args)
        for what, seconds in plan:
            print(f"{seconds:7.0f} s  {what}")
        total = sum(s for _, s in plan)
        print(f"{total:7.0f} s  estimated in all on a GPU; --time-limit {args.time_limit:.0f} s, hard stop "
              f"{args.time_limit + Budget(args.time_limit).grace_s:.0f} s")
        return
    _import_torch()
    device, cuda = pick_device()
    if not cuda and not args.smoke:
        build_parser().error("no CUDA device: run with --smoke for a CPU check of the script")
    code = run(args, device, cuda, started)
    if code:   # the hard stop interrupted a measurement: leave at once (no waiting on compile workers)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run(args, device, cuda: bool, started: float | None = None) -> int:
    """Measure what ``args`` asks for on ``device`` (``cuda``: a CUDA GPU, its events, graphs and profiler)
    and write the tables to ``args.out`` as rows come. Order: the ceilings, the first GEMM round (with
    the kernel names), the attention grid, the LLM cases, then the remaining GEMM rounds (minutes apart
    from the first, so that they show the session's drift). Returns 0, or 3 when the hard stop of the
    time limit interrupted a measurement (everything measured before is written)."""
    global L2_FLUSH_BYTES
    budget = Budget(args.time_limit, started)
    if args.smoke:
        L2_FLUSH_BYTES = 2 ** 16
    dtype = torch.bfloat16 if cuda else torch.float32
    reps = 3 if args.smoke else args.reps
    timer = Timer(device, reps, cuda)
    state = GpuState(device.index or 0, cuda)
    args.out.mkdir(parents=True, exist_ok=True)
    cases, gemms, attention = resolve(args)
    head_dim = 16 if args.smoke else args.head_dim
    plan = estimate_plan(args)
    estimate = sum(s for _, s in plan)

    name = torch.cuda.get_device_name(device) if cuda else "cpu"
    setup = [f"device: {name}", f"torch: {torch.__version__}", f"cuda: {torch.version.cuda}",
             f"dtype: {str(dtype).replace('torch.', '')}", f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             f"state at start: {format_state([state.read()]) or 'not read (no NVML, no nvidia-smi)'}",
             f"command: {' '.join(sys.argv)}",
             f"time limit: {args.time_limit:.0f} s (hard stop {args.time_limit + budget.grace_s:.0f} s); "
             f"estimate on a GPU: {estimate:.0f} s (" + "; ".join(f"{w} {t:.0f} s" for w, t in plan) + ")"]
    (args.out / "setup.txt").write_text("\n".join(setup) + "\n")
    print("\n".join(setup), flush=True)
    if estimate > args.time_limit and cuda:
        print(f"note: the estimate ({estimate:.0f} s) exceeds --time-limit {args.time_limit:.0f} s: the last stages "
              "may be skipped", flush=True)

    results = Results(args.out, args.profile_gemms)
    results.flush()

    def gemm_round(r):
        label = f"round {r}/{args.gemm_rounds}" if args.gemm_rounds > 1 else ""
        for point in gemms:
            try:
                if not gemm_rows(timer, device, dtype, [point], budget, results, args.sustain, label,
                                 names=args.profile_gemms and r == 1, state=state):
                    return
            except Exception as exc:   # keep the other points
                print(f"FAILED GEMM point {point}: {type(exc).__name__}: {exc}", flush=True)

    stopped = False
    budget.arm()
    try:
        if not args.no_ceilings and budget.allows("the ceilings", 0.0):
            size, squares = SMOKE_CEILINGS if args.smoke else CEILINGS
            ceiling_rows(timer, device, dtype, size, squares, results)
        gemm_round(1)
        for point in attention:
            try:
                attention_rows(timer, device, dtype, [point], head_dim, budget, results)
            except Exception as exc:   # keep the other points
                print(f"FAILED attention point {point}: {type(exc).__name__}: {exc}", flush=True)
        seen_compiled = False
        for model, phase, batch, context, fused, per_op, eager, compiled in cases:
            label = f"{model}{'+compiled' if compiled else '+fused' if fused else ''} {phase} b={batch} ctx={context}"
            first_compiled, seen_compiled = compiled and not seen_compiled, seen_compiled or compiled
            # the estimate's compile and allocation parts only: the case stops itself between its timings
            if not budget.allows(label, 0.5 * estimate_case_s(MODELS[model], phase, batch, context, False, False,
                                                                compiled, 0, first_compiled) if cuda else 0.0):
                continue
            try:
                llm_rows(timer, device, dtype, MODELS[model], phase, batch, context, fused, per_op, eager, reps,
                         results, budget, compiled)
            except Exception as exc:   # one failing case (out of memory, an unsupported kernel) keeps the others
                print(f"FAILED {label}: {type(exc).__name__}: {exc}", flush=True)
                decoder_cache.drop(cuda)
        decoder_cache.drop(cuda)
        for r in range(2, args.gemm_rounds + 1):
            gemm_round(r)
    except TimeLimit:
        stopped = True
        print(f"time limit: hard stop {args.time_limit + budget.grace_s:.0f} s after the start, during a "
              "measurement; everything measured before it is written", flush=True)
    finally:
        budget.disarm()
        results.flush()
    elapsed = time.monotonic() - budget.start
    end = [f"state at end: {format_state([state.read()]) or 'not read'}", f"wall time: {elapsed:.0f} s",
           f"skipped at the time limit: {'; '.join(budget.skipped) or 'nothing'}" + (" (hard stop)" if stopped else "")]
    with (args.out / "setup.txt").open("a") as fh:
        fh.write("\n".join(end) + "\n")
    print(f"wrote {args.out}/kernels.csv ({len(results.kernels)} rows) and llm_ops.csv ({len(results.ops)} rows)"
          + (f" and gemm_kernels.csv ({len(results.names)} rows)" if args.profile_gemms else "")
          + f" in {elapsed:.0f} s", flush=True)
    return 3 if stopped else 0


if __name__ == "__main__":
    main()
