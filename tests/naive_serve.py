"""Slow, obviously-correct discrete-event simulation of continuous batching (the kernel's oracle).

Written from the rules in accelsim/serve/kernel.py's docstring with Python lists and objects: one
event per engine step. Each step's time comes straight from the llm layer: the ops of the step
(:func:`accelsim.llm.ops.pass_ops` with the step's tokens, pairs, cached positions and sampled
rows) timed by :func:`accelsim.llm.roofline.roofline_op_times`; accelsim.serve's tables and
kernel are not imported. Attention pairs and reads are summed by explicit loops over queries.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accelsim.llm.ops import pass_ops
from accelsim.llm.roofline import roofline_op_times
from accelsim.llm.variants import layer_groups

MASK = (1 << 64) - 1


def uniform(seed: int, request: int, position: int) -> float:
    """splitmix64 of (seed, request, position), the kernel's acceptance draw, in plain integers."""
    z = (seed * 0x9E3779B97F4A7C15 + request * 0xBF58476D1CE4E5B9 + position * 0x94D049BB133111EB
         + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    return (z >> 11) / 2.0 ** 53


def keys(position: int, window: int) -> int:
    return position if window <= 0 else min(position, window)


HEAD_OPS = ("lm_head", "lm_head.bias", "lm_head.softcap", "tp.logits_gather", "sampling.argmax")


def windows_of(cfg, opts) -> list[int]:
    """Each attention layer group's window (0: full attention)."""
    return [w or 0 for _, w in layer_groups(cfg, opts)]


def pass_seconds(cfg, opts, device, e, kv_e, tokens, seqs, pairs, reads) -> float:
    """One pass over the step's tokens on the roofline, op by op, from the llm layer; ``pairs`` and
    ``reads``: per attention layer group (numbers or lists)."""
    if tokens == 0:
        return 0.0
    pairs, reads = np.atleast_1d(pairs), np.atleast_1d(reads)
    one = lambda x: np.array([float(x)])   # noqa: E731
    groups = [(layers, one(pairs[g]), one(reads[g]), one(tokens)) for g, (layers, _) in
              enumerate(layer_groups(cfg, opts))]
    ops = pass_ops(cfg, opts, 1, one(tokens), one(pairs[0]), one(reads[0]), one(tokens), e, kv_e, decode=True,
                   head_rows=float(seqs), groups=groups)
    times = roofline_op_times(ops, device, kv_on_chip=False)
    return sum(float(times[op.name][0]) * op.layers for op in ops if seqs > 0 or op.name not in HEAD_OPS)


@dataclass
class Req:
    index: int
    arrival: float
    prompt: int
    output: int
    computed: int = 0
    emitted: int = 0
    blocks: int = 0
    prefilling: bool = True
    target: int = 0
    state: str = "pending"
    preemptions: int = 0
    first: float = -1.0
    finish: float = -1.0


def simulate(requests, cfg, opts, device, e, kv_e, block_size, kv_blocks, budget, max_batch,
             swap=False, swap_blocks=0, swap_s_per_block=0.0, draft=None, spec_k=0, acceptance=0.0, seed=0):
    """Returns (requests as Req objects, steps as dicts). ``requests``: (arrival, prompt, output)
    sorted by arrival; ``cfg``: one tensor-parallel rank's model; ``draft``: (cfg, e, kv_e) of the
    draft model or None."""
    windows = windows_of(cfg, opts)
    d_windows = windows_of(draft[0], opts) if draft is not None else []
    reqs = [Req(i, a, p, o, target=p) for i, (a, p, o) in enumerate(requests)]
    pending = list(reqs)             # not arrived yet, in arrival order
    new_waiting, front, running, swapped = [], [], [], []
    free, swap_free, clock, steps = kv_blocks, swap_blocks, 0.0, []
    while any(r.state != "finished" for r in reqs):
        while pending and pending[0].arrival <= clock:
            r = pending.pop(0)
            r.state = "waiting"
            new_waiting.append(r)
        if not running and not front and not new_waiting and not swapped:
            clock = pending[0].arrival
            continue
        left, plan, preempted, moved = budget, [], 0, 0

        def wanted(r):
            if r.prefilling:
                return min(r.target - r.computed, left)
            return min(min(spec_k, r.output - r.emitted - 1) + 1, left)

        i = 0
        while i < len(running) and left > 0:
            r = running[i]
            q = wanted(r)
            need = max(math.ceil((r.computed + q) / block_size) - r.blocks, 0)
            gone = False
            while need > free:
                v = running.pop()
                v.preemptions += 1
                preempted += 1
                free += v.blocks
                if swap and swap_free >= v.blocks:
                    swap_free -= v.blocks
                    moved += v.blocks
                    v.state = "swapped"
                    swapped.append(v)
                else:
                    v.blocks, v.computed, v.prefilling, v.target, v.state = 0, 0, True, v.prompt + v.emitted, "waiting"
                    front.append(v)
                if v is r:
                    gone = True
                    break
            if gone:
                break
            r.blocks += need
            free -= need
            plan.append((r, q))
            left -= q
            i += 1
        if not preempted:
            while swapped and len(running) < max_batch and left > 0:
                r = swapped[0]
                q = wanted(r)
                need = max(math.ceil((r.computed + q) / block_size) - r.blocks, 0)
                if r.blocks + need > free:
                    break
                swapped.pop(0)
                swap_free += r.blocks
                moved += r.blocks
                free -= r.blocks + need
                r.blocks += need
                r.state = "running"
                running.append(r)
                plan.append((r, q))
                left -= q
            while len(running) < max_batch and left > 0 and (front or new_waiting):
                r = front[-1] if front else new_waiting[0]
                q = min(r.target - r.computed, left)
                need = math.ceil(q / block_size)
                if need > free:
                    break
                (front if front else new_waiting).remove(r)
                r.state, r.blocks = "running", need
                free -= need
                running.append(r)
                plan.append((r, q))
                left -= q
        tokens = seqs = 0
        pairs, reads = [0] * len(windows), [0] * len(windows)
        draft_passes = [[0, 0, [0] * len(d_windows), [0] * len(d_windows)] for _ in range(max(spec_k, 1))]

        def add_chunk(into_pairs, into_reads, group_windows, c, q):
            for g, w in enumerate(group_windows):
                into_pairs[g] += sum(keys(position, w) for position in range(c + 1, c + q + 1))
                into_reads[g] += c + q if w <= 0 else min(c + q, w + q - 1)

        def add_decode(into_pairs, into_reads, group_windows, t):
            for g, w in enumerate(group_windows):
                into_pairs[g] += keys(t, w)
                into_reads[g] += keys(t, w)

        for r, q in plan:
            c = r.computed
            if r.prefilling:
                tokens += q
                add_chunk(pairs, reads, windows, c, q)
                seqs += c + q == r.target
                if draft is not None:
                    draft_passes[0][0] += q
                    add_chunk(draft_passes[0][2], draft_passes[0][3], d_windows, c, q)
            elif q == 1:
                tokens, seqs = tokens + 1, seqs + 1
                add_decode(pairs, reads, windows, c)
            else:
                tokens, seqs = tokens + q, seqs + q
                add_chunk(pairs, reads, windows, c, q)
                for j in range(q - 1):
                    draft_passes[j][0] += 1
                    draft_passes[j][1] += 1
                    add_decode(draft_passes[j][2], draft_passes[j][3], d_windows, c + j)
        seconds = pass_seconds(cfg, opts, device, e, kv_e, tokens, seqs, pairs, reads)
        if draft is not None:
            d_cfg, d_e, d_kv_e = draft
            seconds += sum(pass_seconds(d_cfg, opts, device, d_e, d_kv_e, *p) for p in draft_passes)
        seconds += moved * swap_s_per_block
        used = kv_blocks - free
        clock += seconds
        emitted_now = 0
        for r, q in plan:
            if r.prefilling:
                r.computed += q
                if r.computed == r.target:
                    r.prefilling = False
                    r.emitted += 1
                    emitted_now += 1
            else:
                accepted = 0
                while accepted < q - 1 and uniform(seed, r.index, r.emitted + accepted) < acceptance:
                    accepted += 1
                r.computed += accepted + 1
                r.emitted += accepted + 1
                emitted_now += accepted + 1
            if r.emitted and r.first < 0:
                r.first = clock
            if r.emitted == r.output:
                r.state, r.finish = "finished", clock
                free += r.blocks
                r.blocks = 0
        running = [r for r in running if r.state == "running"]
        steps.append({"start_s": clock - seconds, "duration_s": seconds, "batch_size": len(plan), "tokens": tokens,
                      "kv_blocks_used": used, "preempted": preempted, "emitted_tokens": emitted_now,
                      "running": len(running), "waiting": len(front) + len(new_waiting), "swapped": len(swapped),
                      "held_blocks": sum(r.blocks for r in reqs if r.state == "running") + 0})
    return reqs, steps
