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
with the SM clock and power sampled, and record the kernels cuBLAS runs (``gemm_kernels.csv``);
``--preset fused-and-variance`` is the prepared run of docs/silicon.md (an estimated 4-5 minutes on an H200).

Needs PyTorch (``pip install 'accelsim[gpu]'``) to measure; its tests import it without (argument
parsing, presets, the CSV writer). Never imported by accelsim itself.

    python benchmarks/gpu/measure.py --out results/my_gpu            # full run on a CUDA GPU (~5 min)
    python benchmarks/gpu/measure.py --preset fused-and-variance --out h200_fused
    python benchmarks/gpu/measure.py --smoke --out /tmp/smoke        # tiny shapes, runs on a CPU
    accelsim calibrate --measurements results/my_gpu/kernels.csv \\
        --measurements results/my_gpu/llm_ops.csv --hw h200 -o hw/my_gpu.yaml
"""
from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
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
GEMM_KERNEL_COLUMNS = ["m", "n", "k", "kernels"]
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


class Timer:
    """Median times of a callable: CUDA events around CUDA-graph replays or eager calls; on a CPU,
    ``time.perf_counter`` (the smoke mode)."""

    def __init__(self, device: torch.device, reps: int):
        self.device, self.reps, self.cuda = device, reps, device.type == "cuda"

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
        """``fn`` captured in a CUDA graph and replayed back to back for about ``seconds`` (at most 2000
        replays) with no synchronisation between replays: ``(median seconds of the second half's replays,
        the last reading of sample() while they ran)``."""
        graph = self._capture(fn)
        one = self._median(graph.replay, 3)
        count = int(min(2000, max(4, seconds / max(one, 1e-7))))
        events = [torch.cuda.Event(enable_timing=True) for _ in range(count + 1)]
        events[0].record()
        for event in events[1:]:
            graph.replay()
            event.record()
        state = ""
        while not events[-1].query():
            state = sample() or state
            time.sleep(0.01)
        events[-1].synchronize()
        times = [events[i].elapsed_time(events[i + 1]) * 1e-3 for i in range(count)]
        return statistics.median(times[count // 2:]), state

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


def compiled(fn):
    """``fn`` compiled by torch.compile (default mode: Inductor kernels, no CUDA graphs of its own), once."""
    if fn not in _COMPILED:
        # one compiled entry per shape family (decode batches, the prompt, the lm_head's last-token slice):
        # room for all of them, so no case falls back to eager kernels
        torch._dynamo.config.cache_size_limit = max(64, torch._dynamo.config.cache_size_limit)
        _COMPILED[fn] = torch.compile(fn, fullgraph=True)
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


def gpu_state(device) -> str:
    """The SM clock and board power now (NVML through torch.cuda.clock_rate / power_draw, else
    ``nvidia-smi``), or ``""`` when neither answers."""
    if device.type != "cuda":
        return ""
    try:
        return f"sm {torch.cuda.clock_rate(device)} MHz, {torch.cuda.power_draw(device) / 1000:.0f} W"
    except Exception:   # no pynvml: ask nvidia-smi
        pass
    import subprocess
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=clocks.sm,power.draw", "--format=csv,noheader,nounits",
                              "-i", str(device.index or 0)], capture_output=True, text=True, timeout=5).stdout
        clock, power = (float(v) for v in out.strip().split(","))
        return f"sm {clock:.0f} MHz, {power:.0f} W"
    except (OSError, ValueError, subprocess.SubprocessError):   # no nvidia-smi either: the times alone
        return ""


def gemm_kernel_names(fn) -> str:
    """The kernels one call of ``fn`` runs, as the PyTorch profiler names them (cuBLAS names carry the
    tile and cluster shape and the split-K / stream-K variant), joined by ``;``."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    return ";".join(e.name for e in prof.events() if e.device_type == DeviceType.CUDA)


def gemm_rows(timer, device, dtype, points, deadline, sustain_s=0.0, label="", names=None):
    """One row per GEMM point: the median of 10 replays of a CUDA graph of calls over rotating weight
    copies, each replay timed alone; with ``sustain_s`` also a row timed under sustained load (replays
    back to back for about that long, the median of the second half), SM clock and power sampled while
    it runs, in the ``variant`` column. ``names``: a list to append ``(m, n, k, kernel names)`` to."""
    rows = []
    for m, n, k in points:
        if time.monotonic() > deadline:
            print(f"time limit: skipped the remaining GEMMs from m={m} n={n} k={k}", flush=True)
            break
        e = torch.finfo(dtype).bits // 8
        x = torch.randn(m, k, device=device, dtype=dtype)
        ws = rotated(k * n * e, lambda: torch.randn(k, n, device=device, dtype=dtype), 2)

        def run():
            for w in ws:
                torch.matmul(x, w)
        flops, nbytes = 2 * m * n * k, (m * k + k * n + m * n) * e
        timings = [(label, timer.graph(run, reps=10) / len(ws))]
        if sustain_s > 0 and timer.cuda:
            t, state = timer.sustained(run, sustain_s, lambda: gpu_state(device))
            timings.append(((label + "; " if label else "") + f"sustained {sustain_s * 1e3:.0f} ms"
                            + (f"; {state}" if state else ""), t / len(ws)))
        for variant, t in timings:
            rows.append({"kind": "gemm", "m": m, "n": n, "k": k, "variant": variant, "time_s": t, "flops": flops,
                         "bytes": nbytes, "tflops": flops / t / 1e12, "tbps": nbytes / t / 1e12})
            print(f"gemm m={m} n={n} k={k} {variant}: {t * 1e6:.2f} us ({flops / t / 1e12:.1f} TFLOP/s)", flush=True)
        if names is not None and timer.cuda:
            names.append((m, n, k, gemm_kernel_names(lambda: torch.matmul(x, ws[0]))))
        del ws
    return rows


def attention_rows(timer, device, dtype, points, head_dim, deadline):
    rows = []
    for batch, heads, kv_heads, context in points:
        if time.monotonic() > deadline:
            print("time limit: skipped the remaining attention points", flush=True)
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
        rows.append({"kind": "decode_attention", "batch": batch, "heads": heads, "kv_heads": kv_heads,
                     "context": context, "time_s": t, "flops": flops, "bytes": kv_bytes,
                     "tflops": flops / t / 1e12, "tbps": kv_bytes / t / 1e12})
        print(f"decode attention b={batch} h={heads}/{kv_heads} ctx={context}: {t * 1e6:.2f} us", flush=True)
        del caches
    return rows


def ceiling_rows(timer, device, dtype, size_bytes, gemm_sizes):
    rows = []
    e = torch.finfo(dtype).bits // 8
    a = torch.empty(size_bytes // e, device=device, dtype=dtype)
    b = torch.empty_like(a)
    t = timer.eager(lambda: b.copy_(a), reps=10)
    rows.append({"model": "-", "phase": "ceiling", "op": "d2d_copy", "time_s": t, "bytes": 2 * a.numel() * e,
                 "note": f"{2 * a.numel() * e / t / 1e12:.3f} TB/s read+write"})
    t = timer.eager(lambda: a.sum(dtype=torch.float32), reps=10)
    rows.append({"model": "-", "phase": "ceiling", "op": "read_sum", "time_s": t, "bytes": a.numel() * e,
                 "note": f"{a.numel() * e / t / 1e12:.3f} TB/s read"})
    del a, b
    for size in gemm_sizes:
        x = torch.randn(size, size, device=device, dtype=dtype)
        w = torch.randn(size, size, device=device, dtype=dtype)
        t = timer.eager(lambda: torch.matmul(x, w), reps=10)
        rows.append({"model": "-", "phase": "ceiling", "op": f"gemm_{size}", "time_s": t, "flops": 2 * size ** 3,
                     "note": f"{2 * size ** 3 / t / 1e12:.1f} TFLOP/s"})
    return rows


def count_kernels(fn) -> int:
    """GPU kernels one call of ``fn`` launches (the PyTorch profiler; copies and memsets not counted)."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    return sum(1 for e in prof.events() if e.device_type == DeviceType.CUDA
               and not e.name.startswith(("Memcpy", "Memset")))


def llm_rows(timer, device, dtype, shape, phase, batch, context, fused, per_op, eager_step, reps, compiled=False):
    """Rows of one decode (``context`` attended positions) or prefill (``context`` prompt tokens) case."""
    tokens = 1 if phase == "decode" else context
    model = decoder_cache.get(shape, batch, tokens, context, dtype, device, fused, compiled)
    label = shape.name + ("+compiled" if compiled else "+fused" if fused else "")
    rows = []

    def row(op, t, note=""):
        rows.append({"model": label, "phase": phase, "batch": batch, "context": context, "op": op, "time_s": t,
                     "note": note})
        print(f"{label} {phase} b={batch} ctx={context} {op}: {t * 1e3:.4f} ms", flush=True)
    def kernels_note(text):
        if not timer.cuda:
            return text
        model.forward()   # compiled functions are compiled (and warmed) before the profiler counts
        return f"{text}; {count_kernels(model.forward)} kernels (PyTorch profiler)"
    if phase == "decode":
        model.set_position(context - 1, context, causal=False)
        note = kernels_note("whole step, CUDA graph")
        row("step", timer.graph(model.forward, reps=reps), note)
        if eager_step:
            row("step_eager", timer.eager(model.forward, reps=5), "whole step, eager launches")
    else:
        for causal in (True, False):
            model.set_position(0, context, causal=causal)
            note = kernels_note("whole prefill, causal flash" if causal else "whole prefill, non-causal")
            row("pass_causal" if causal else "pass_dense", timer.eager(model.forward, reps=reps), note)
    if per_op:
        model.set_position(context - tokens, context, causal=phase == "prefill")
        model.forward()   # fills every buffer an op reads
        for name, fn in model.layer_sequence():
            run = model.each_layer(fn)
            if name == "attention" and phase == "prefill":
                for causal in (True, False):
                    model.causal = causal
                    row("attention_causal" if causal else "attention_dense", timer.eager(run, reps=reps))
                continue
            if name == "mlp.residual":
                continue   # the same kernel as attn.residual
            row(name, timer.graph(run, reps=reps) if phase == "decode" else timer.eager(run, reps=reps))
        head = model.lm_head_op()
        row("lm_head", timer.graph(head, reps=reps) if phase == "decode" else timer.eager(head, reps=reps),
            "final norm, lm_head and argmax on the last token")
    return rows


class _DecoderCache:
    """Keeps one model's weights while its cases run (allocating 16 GB of weights takes a while)."""

    def __init__(self):
        self.key, self.model = None, None

    def get(self, shape, batch, tokens, context, dtype, device, fused, compiled=False):
        key = (shape, batch, tokens, context, fused, compiled)
        if key != self.key:
            self.model = None
            if device.type == "cuda":
                torch.cuda.empty_cache()
            self.model, self.key = Decoder(shape, batch, tokens, context, dtype, device, fused, compiled), key
        return self.model


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
    with path.open("w", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=columns)
        out.writeheader()
        for r in rows:
            out.writerow({c: r.get(c, "") for c in columns})


#: Named runs (``--preset``): what a session with a GPU should measure next, in one command.
#: ``fused-and-variance``: the fused variants (q/k/v and gate/up GEMMs; element-wise ops fused by
#: torch.compile) beside the unfused step in the same session, and the big GEMMs that miss the model
#: repeated in three rounds, each also under half a second of sustained load with the SM clock and power
#: sampled, with the cuBLAS kernel names (an estimated 4-5 minutes on an H200).
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
    ap.add_argument("--head-dim", type=int, default=128)
    ap.add_argument("--no-ceilings", action="store_true", help="skip the copy / read / square-GEMM ceilings")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="seconds; stop starting new measurements after this (what is done is written; default 300)")
    ap.add_argument("--reps", type=int, default=20, help="repetitions per timing (median)")
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
    return args


def main(argv=None):
    args = parse_args(argv)
    _import_torch()
    global L2_FLUSH_BYTES
    if args.smoke:
        L2_FLUSH_BYTES = 2 ** 16
    t_start = time.monotonic()
    deadline = t_start + args.time_limit
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type != "cuda" and not args.smoke:
        build_parser().error("no CUDA device: run with --smoke for a CPU check of the script")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    reps = 3 if args.smoke else args.reps
    timer = Timer(device, reps)
    args.out.mkdir(parents=True, exist_ok=True)
    cases = args.case or [parse_case(c) for c in (SMOKE_CASES if args.smoke else DEFAULT_CASES)]
    gemms = args.gemms if args.gemms is not None else ([(4, 64, 32), (64, 128, 64)] if args.smoke else DEFAULT_GEMMS)
    attention = args.attention if args.attention is not None else (
        [(2, 4, 2, 64)] if args.smoke else DEFAULT_ATTENTION)
    head_dim = 16 if args.smoke else args.head_dim

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    setup = [f"device: {name}", f"torch: {torch.__version__}", f"cuda: {torch.version.cuda}",
             f"dtype: {str(dtype).replace('torch.', '')}", f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             f"state at start: {gpu_state(device) or 'not read (no NVML)'}", f"command: {' '.join(sys.argv)}"]
    (args.out / "setup.txt").write_text("\n".join(setup) + "\n")
    print("\n".join(setup), flush=True)

    kernel_rows, op_rows, names = [], [], []

    def flush():
        write_csv(args.out / "kernels.csv", KERNEL_COLUMNS, kernel_rows)
        write_csv(args.out / "llm_ops.csv", OP_COLUMNS, op_rows)
        if args.profile_gemms:
            write_csv(args.out / "gemm_kernels.csv", GEMM_KERNEL_COLUMNS,
                      [dict(zip(GEMM_KERNEL_COLUMNS, n)) for n in names])

    if not args.no_ceilings:
        op_rows += ceiling_rows(timer, device, dtype, 2 ** 20 if args.smoke else 2 ** 32,
                                (64,) if args.smoke else (4096, 8192))
        flush()
    for r in range(1, args.gemm_rounds + 1):
        label = f"round {r}/{args.gemm_rounds}" if args.gemm_rounds > 1 else ""
        for point in gemms:
            try:
                kernel_rows += gemm_rows(timer, device, dtype, [point], deadline, args.sustain, label,
                                         names if args.profile_gemms and r == 1 else None)
            except Exception as exc:   # keep the other points
                print(f"FAILED GEMM point {point}: {type(exc).__name__}: {exc}", flush=True)
        flush()
    for point in attention:
        try:
            kernel_rows += attention_rows(timer, device, dtype, [point], head_dim, deadline)
        except Exception as exc:   # keep the other points
            print(f"FAILED attention point {point}: {type(exc).__name__}: {exc}", flush=True)
    flush()
    for model, phase, batch, context, fused, per_op, eager, compiled in cases:
        if time.monotonic() > deadline:
            print(f"time limit: skipped {model} {phase} b={batch} ctx={context}", flush=True)
            continue
        try:
            op_rows += llm_rows(timer, device, dtype, MODELS[model], phase, batch, context, fused, per_op, eager, reps,
                                compiled)
        except Exception as exc:   # one failing case (out of memory, an unsupported kernel) keeps the others
            print(f"FAILED {model} {phase} b={batch} ctx={context}: {type(exc).__name__}: {exc}", flush=True)
            decoder_cache.model, decoder_cache.key = None, None
            if device.type == "cuda":
                torch.cuda.empty_cache()
        flush()
    print(f"wrote {args.out}/kernels.csv ({len(kernel_rows)} rows) and llm_ops.csv ({len(op_rows)} rows) "
          f"in {time.monotonic() - t_start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
