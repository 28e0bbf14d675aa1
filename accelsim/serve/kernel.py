"""The continuous-batching scheduler loop as a numba kernel: arrays and scalars in, arrays out.

accelsim/serve/simulate.py documents the model (docs/serving.md has a worked example); in short,
one iteration of the loop is one engine step, in vLLM's order (vllm-project/vllm,
``vllm/v1/core/sched/scheduler.py`` and, for swapping, ``vllm/core/scheduler.py`` [vllm]):

1. requests that arrived by the clock join the waiting queue;
2. running requests, in admission order, get their next tokens within the step's token budget:
   a prefill chunk of ``min(remaining prompt, budget)`` or one decode token (``k + 1`` tokens to
   verify with speculative decoding), and the KV blocks those tokens need; when blocks run out,
   the last-admitted running request is preempted (recompute: its blocks freed, it goes to the
   front of the waiting queue and later prefills prompt + generated tokens again; swap: its
   blocks copied to host memory), until the request fits or is itself preempted;
3. only if nothing was preempted: swapped requests come back (oldest first), then waiting
   requests (preempted first, most recent first, then new ones in arrival order) are admitted
   while sequences, budget and free blocks for their first chunk allow;
4. the step's time is its cost (:mod:`accelsim.serve.costs`) plus the draft model's passes and
   swap transfers; tokens are emitted at the end of the step (a finished prefill samples the
   first token), finished requests free their blocks.

State lives in arrays so the loop can stop after ``max_steps`` and resume (progress output).
"""
from __future__ import annotations

import numpy as np

from ..kernels.jit import njit

# integer parameters
P_BLOCK, P_BLOCKS, P_BUDGET, P_MAX_SEQS, P_SWAP, P_SWAP_BLOCKS, P_SPEC_K, P_SEED = range(8)
N_P = 8
# float parameters
F_ACCEPT, F_SWAP_S_PER_BLOCK, F_CHUNK_FIXED_S, F_D_CHUNK_FIXED_S = range(4)
# integer state
(S_RUNNING, S_FRONT, S_SWP_HEAD, S_SWAPPED, S_NEXT_NEW, S_ARRIVED, S_FREE, S_SWAP_FREE, S_STEPS,
 S_FINISHED) = range(10)
# request states
WAITING, RUNNING, SWAPPED, FINISHED = 0, 1, 2, 3
# timeline columns: floats, ints
TF_START, TF_DURATION = range(2)
(TI_BATCH, TI_PREFILL_TOKENS, TI_DECODE_SEQS, TI_TOKENS, TI_KV_BLOCKS, TI_WAITING, TI_SWAPPED, TI_PREEMPTED,
 TI_RUNNING, TI_EMITTED) = range(10)
N_TF, N_TI = 2, 10


@njit(cache=True)
def ceil_div(a, b):
    return -(-a // b)


@njit(cache=True)
def causal_pairs(cached, new, window):
    """(query, key) pairs of ``new`` tokens after ``cached`` ones, causal: query ``i`` (1-based)
    attends ``min(i, window)`` keys (all ``i`` without a window)."""
    lo, hi = cached + 1, cached + new
    if window <= 0 or hi <= window:
        return (lo + hi) * new // 2
    if lo > window:
        return new * window
    return (lo + window) * (window - lo + 1) // 2 + (hi - window) * window


@njit(cache=True)
def chunk_reads(cached, new, window):
    """Cached positions a chunk reads: every position its queries attend (its own K/V written,
    then read back, as the llm layer's prefill)."""
    if window <= 0:
        return cached + new
    return min(cached + new, window + new - 1)


@njit(cache=True)
def decode_keys(context, window):
    """Keys a decode step at ``context`` attends (the llm layer's convention: ``context`` positions)."""
    if window <= 0:
        return context
    return min(context, window)


@njit(cache=True)
def accept_uniform(seed, request, position):
    """A uniform in [0, 1) for the draft token at output ``position`` of ``request``: splitmix64
    (Steele, Lea and Flood, OOPSLA 2014) of the three, so acceptances do not depend on the order of
    requests in a step."""
    z = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(request) * np.uint64(0xBF58476D1CE4E5B9) \
        + np.uint64(position) * np.uint64(0x94D049BB133111EB) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) / 9007199254740992.0


@njit(cache=True)
def step_seconds(tokens, seqs, pairs, reads, token_s, head_s, attn_c, attn_m, attn_group):
    """A step's seconds: token-level table + head table + each attention op's roofline max, the op's
    layer group's pairs and reads (``pairs[g]``, ``reads[g]``)."""
    total = token_s[tokens] + head_s[seqs]
    for o in range(attn_c.shape[0]):
        g = attn_group[o]
        c = attn_c[o, 0] * tokens + attn_c[o, 1] * pairs[g] + attn_c[o, 2] * reads[g]
        m = attn_m[o, 0] * tokens + attn_m[o, 1] * pairs[g] + attn_m[o, 2] * reads[g]
        total += max(c, m)
    return total


@njit(cache=True)
def _add_chunk(pairs, reads, windows, cached, new):
    """A chunk of ``new`` tokens after ``cached`` ones, in every layer group (its window)."""
    for g in range(windows.size):
        pairs[g] += causal_pairs(cached, new, windows[g])
        reads[g] += chunk_reads(cached, new, windows[g])


@njit(cache=True)
def _add_decode(pairs, reads, windows, context):
    """A decode token at ``context``, in every layer group."""
    for g in range(windows.size):
        keys = decode_keys(context, windows[g])
        pairs[g] += keys
        reads[g] += keys


@njit(cache=True)
def interp(grid, values, x):
    """Linear interpolation in an ascending grid (clamped at both ends)."""
    n = grid.size
    if x <= grid[0]:
        return values[0]
    if x >= grid[n - 1]:
        return values[n - 1]
    i = np.searchsorted(grid, x)
    w = (x - grid[i - 1]) / (grid[i] - grid[i - 1])
    return values[i - 1] * (1.0 - w) + values[i] * w


@njit(cache=True)
def interp2(rows_grid, cols_grid, table, r, c):
    """Bilinear interpolation in ``table[rows_grid, cols_grid]`` (clamped)."""
    n = rows_grid.size
    if r <= rows_grid[0]:
        return interp(cols_grid, table[0], c)
    if r >= rows_grid[n - 1]:
        return interp(cols_grid, table[n - 1], c)
    i = np.searchsorted(rows_grid, r)
    w = (r - rows_grid[i - 1]) / (rows_grid[i] - rows_grid[i - 1])
    return interp(cols_grid, table[i - 1], c) * (1.0 - w) + interp(cols_grid, table[i], c) * w


@njit(cache=True)
def _wanted(r, budget, computed, emitted, target, prefilling, output, spec_k):
    """Tokens request ``r`` computes next, within ``budget``."""
    if prefilling[r]:
        return min(target[r] - computed[r], budget)
    drafts = min(spec_k, output[r] - emitted[r] - 1)
    return min(drafts + 1, budget)


@njit(cache=True)
def _preempt(v, ip, istate, state, prompt, computed, emitted, alloc, prefilling, target, preempts, front, swapped):
    """Preempt request ``v``: swap its blocks out when swapping and host space allows (returns the
    blocks moved), else free them; it then prefills prompt + generated tokens again (returns 0)."""
    preempts[v] += 1
    blocks = alloc[v]
    istate[S_FREE] += blocks
    if ip[P_SWAP] and istate[S_SWAP_FREE] >= blocks:
        istate[S_SWAP_FREE] -= blocks
        state[v] = SWAPPED
        swapped[(istate[S_SWP_HEAD] + istate[S_SWAPPED]) % prompt.size] = v
        istate[S_SWAPPED] += 1
        return blocks
    alloc[v] = 0
    computed[v] = 0
    prefilling[v] = 1
    target[v] = prompt[v] + emitted[v]
    state[v] = WAITING
    front[istate[S_FRONT]] = v
    istate[S_FRONT] += 1
    return 0


@njit(cache=True)
def _resume(r, blocks, q, slot, state, alloc, running, istate, sched_r, sched_q):
    """Request ``r`` joins the running requests holding ``blocks`` blocks (taken from the free
    ones) and computes ``q`` tokens in this step (schedule slot ``slot``)."""
    state[r] = RUNNING
    istate[S_FREE] -= blocks
    alloc[r] = blocks
    running[istate[S_RUNNING]] = r
    istate[S_RUNNING] += 1
    sched_r[slot] = r
    sched_q[slot] = q


@njit(cache=True)
def run_steps(arrival, prompt, output,
              token_s, head_s, attn_c, attn_m, attn_group, windows, dec_tab, chunk_tab, ctx_grid, q_grid, b_grid,
              d_token_s, d_head_s, d_attn_c, d_attn_m, d_attn_group, d_windows, d_dec_tab, d_chunk_tab, d_ctx_grid,
              d_q_grid, d_b_grid, ip, fp, state, computed, emitted, alloc, prefilling, target, preempts, first_s, finish_s,
              running, front, swapped, istate, clock, tl_f, tl_i, max_steps):
    """Run up to ``max_steps`` steps (or until every request finished); returns the steps run.

    ``clock`` is a one-element array (seconds). Timeline rows ``0..returned-1`` of ``tl_f``/``tl_i``
    are this call's steps. Draft tables with ``d_token_s.size == 0`` mean no speculation. Attention
    is exact (coefficients ``attn_c``, ``attn_m``) or bucketed (``dec_tab`` non-empty: decode per
    (sequences ``b_grid``, mean context ``ctx_grid``), chunks per (tokens ``q_grid``, cached);
    accelsim/serve/costs.py). A step's chunks (prefill chunks and verifications) run as one
    variable-length attention kernel: their entries are summed and all but one kernel's fixed cost
    (``fp[F_CHUNK_FIXED_S]``, the draft's ``fp[F_D_CHUNK_FIXED_S]``) taken off.
    """
    n = arrival.size
    block, budget0 = ip[P_BLOCK], ip[P_BUDGET]
    spec_k = ip[P_SPEC_K] if d_token_s.size > 0 else 0
    accept = fp[F_ACCEPT]
    sched_r = np.empty(n, dtype=np.int64)
    sched_q = np.empty(n, dtype=np.int64)
    d_tokens = np.zeros(max(spec_k, 1), dtype=np.int64)
    d_seqs = np.zeros(max(spec_k, 1), dtype=np.int64)
    pairs = np.zeros(windows.size, dtype=np.float64)
    reads = np.zeros(windows.size, dtype=np.float64)
    d_pairs = np.zeros((max(spec_k, 1), max(d_windows.size, 1)), dtype=np.float64)
    d_reads = np.zeros((max(spec_k, 1), max(d_windows.size, 1)), dtype=np.float64)
    d_context = np.zeros(max(spec_k, 1), dtype=np.float64)
    bucketed = dec_tab.shape[0] > 0
    done = 0
    while istate[S_FINISHED] < n and done < max_steps:
        while istate[S_ARRIVED] < n and arrival[istate[S_ARRIVED]] <= clock[0]:
            istate[S_ARRIVED] += 1
        waiting_new = istate[S_ARRIVED] - istate[S_NEXT_NEW]
        if istate[S_RUNNING] == 0 and istate[S_FRONT] == 0 and waiting_new == 0 and istate[S_SWAPPED] == 0:
            clock[0] = arrival[istate[S_ARRIVED]]   # idle until the next arrival
            continue
        budget = budget0
        count = 0
        preempted = 0
        moved = 0
        # 2. running requests, in admission order
        i = 0
        while i < istate[S_RUNNING] and budget > 0:
            r = running[i]
            q = _wanted(r, budget, computed, emitted, target, prefilling, output, spec_k)
            need = max(ceil_div(computed[r] + q, block) - alloc[r], 0)
            self_preempted = False
            while need > istate[S_FREE]:
                istate[S_RUNNING] -= 1
                v = running[istate[S_RUNNING]]
                moved += _preempt(v, ip, istate, state, prompt, computed, emitted, alloc, prefilling, target,
                                  preempts, front, swapped)
                preempted += 1
                if v == r:
                    self_preempted = True
                    break
            if self_preempted:
                break
            alloc[r] += need
            istate[S_FREE] -= need
            sched_r[count] = r
            sched_q[count] = q
            count += 1
            budget -= q
            i += 1
        # 3. swapped back in, then waiting requests admitted, only when nothing was preempted
        if preempted == 0:
            while istate[S_SWAPPED] > 0 and istate[S_RUNNING] < ip[P_MAX_SEQS] and budget > 0:
                r = swapped[istate[S_SWP_HEAD]]
                q = _wanted(r, budget, computed, emitted, target, prefilling, output, spec_k)
                need = max(ceil_div(computed[r] + q, block) - alloc[r], 0)
                if alloc[r] + need > istate[S_FREE]:
                    break
                istate[S_SWP_HEAD] = (istate[S_SWP_HEAD] + 1) % n
                istate[S_SWAPPED] -= 1
                istate[S_SWAP_FREE] += alloc[r]
                moved += alloc[r]
                _resume(r, alloc[r] + need, q, count, state, alloc, running, istate, sched_r, sched_q)
                count += 1
                budget -= q
            while istate[S_RUNNING] < ip[P_MAX_SEQS] and budget > 0:
                if istate[S_FRONT] > 0:
                    r = front[istate[S_FRONT] - 1]
                elif istate[S_NEXT_NEW] < istate[S_ARRIVED]:
                    r = istate[S_NEXT_NEW]
                else:
                    break
                q = min(target[r] - computed[r], budget)
                need = ceil_div(q, block)
                if need > istate[S_FREE]:
                    break
                if istate[S_FRONT] > 0:
                    istate[S_FRONT] -= 1
                else:
                    istate[S_NEXT_NEW] += 1
                _resume(r, need, q, count, state, alloc, running, istate, sched_r, sched_q)
                count += 1
                budget -= q
        # 4. the step's cost
        tokens = 0
        seqs = 0
        prefill_tokens = 0
        decoders = 0
        plain_decoders = 0
        pairs[:] = 0.0
        reads[:] = 0.0
        d_tokens[:] = 0
        d_seqs[:] = 0
        d_pairs[:, :] = 0.0
        d_reads[:, :] = 0.0
        d_context[:] = 0.0
        decode_context = 0.0
        extra = 0.0         # bucketed attention of chunks and verifications
        d_extra = 0.0       # the draft's, in its first pass
        chunks = 0
        d_chunks = 0
        for s in range(count):
            r, q, c = sched_r[s], sched_q[s], computed[sched_r[s]]
            if prefilling[r]:
                tokens += q
                prefill_tokens += q
                _add_chunk(pairs, reads, windows, c, q)
                if c + q == target[r]:
                    seqs += 1
                if bucketed:
                    extra += interp2(q_grid, ctx_grid, chunk_tab, q, c)
                    chunks += 1
                if spec_k > 0:   # the draft keeps its own cache of the same tokens, in its first pass
                    d_tokens[0] += q
                    _add_chunk(d_pairs[0], d_reads[0], d_windows, c, q)
                    if bucketed:
                        d_extra += interp2(d_q_grid, d_ctx_grid, d_chunk_tab, q, c)
                        d_chunks += 1
            elif q == 1:
                tokens += 1
                seqs += 1
                _add_decode(pairs, reads, windows, c)
                decoders += 1
                plain_decoders += 1
                decode_context += c
            else:   # verify q - 1 drafted tokens and the last emitted one: q rows sampled
                tokens += q
                seqs += q
                _add_chunk(pairs, reads, windows, c, q)
                decoders += 1
                if bucketed:
                    extra += interp2(q_grid, ctx_grid, chunk_tab, q, c)
                    chunks += 1
                for j in range(q - 1):   # draft pass j proposes the token at context c + j
                    d_tokens[j] += 1
                    d_seqs[j] += 1
                    _add_decode(d_pairs[j], d_reads[j], d_windows, c + j)
                    d_context[j] += c + j
        seconds = step_seconds(tokens, seqs, pairs, reads, token_s, head_s, attn_c, attn_m, attn_group)
        if bucketed:
            seconds += extra - max(chunks - 1, 0) * fp[F_CHUNK_FIXED_S]
            if plain_decoders > 0:
                seconds += interp2(b_grid, ctx_grid, dec_tab, plain_decoders, decode_context / plain_decoders)
        if spec_k > 0:
            for j in range(spec_k):
                if d_tokens[j] > 0:
                    seconds += step_seconds(d_tokens[j], d_seqs[j], d_pairs[j], d_reads[j], d_token_s, d_head_s,
                                            d_attn_c, d_attn_m, d_attn_group)
                    if bucketed and d_seqs[j] > 0:
                        seconds += interp2(d_b_grid, d_ctx_grid, d_dec_tab, d_seqs[j], d_context[j] / d_seqs[j])
            seconds += d_extra - max(d_chunks - 1, 0) * fp[F_D_CHUNK_FIXED_S]
        seconds += moved * fp[F_SWAP_S_PER_BLOCK]
        used = ip[P_BLOCKS] - istate[S_FREE]   # before finished requests free theirs: the step's peak
        start = clock[0]
        clock[0] = start + seconds
        # 5. tokens emitted at the end of the step
        emitted_now = 0
        for s in range(count):
            r, q = sched_r[s], sched_q[s]
            if prefilling[r]:
                computed[r] += q
                if computed[r] == target[r]:
                    prefilling[r] = 0
                    emitted[r] += 1
                    emitted_now += 1
            else:
                accepted = 0
                while accepted < q - 1 and accept_uniform(ip[P_SEED], r, emitted[r] + accepted) < accept:
                    accepted += 1
                computed[r] += accepted + 1
                emitted[r] += accepted + 1
                emitted_now += accepted + 1
            if emitted[r] > 0 and first_s[r] < 0:
                first_s[r] = clock[0]
            if emitted[r] == output[r]:
                state[r] = FINISHED
                finish_s[r] = clock[0]
                istate[S_FREE] += alloc[r]
                alloc[r] = 0
                istate[S_FINISHED] += 1
        kept = 0
        for i in range(istate[S_RUNNING]):
            r = running[i]
            if state[r] == RUNNING:
                running[kept] = r
                kept += 1
        istate[S_RUNNING] = kept
        row = done
        tl_f[row, TF_START] = start
        tl_f[row, TF_DURATION] = seconds
        tl_i[row, TI_BATCH] = count
        tl_i[row, TI_PREFILL_TOKENS] = prefill_tokens
        tl_i[row, TI_DECODE_SEQS] = decoders
        tl_i[row, TI_TOKENS] = tokens
        tl_i[row, TI_KV_BLOCKS] = used
        tl_i[row, TI_WAITING] = istate[S_FRONT] + istate[S_ARRIVED] - istate[S_NEXT_NEW]
        tl_i[row, TI_SWAPPED] = istate[S_SWAPPED]
        tl_i[row, TI_PREEMPTED] = preempted
        tl_i[row, TI_RUNNING] = kept
        tl_i[row, TI_EMITTED] = emitted_now
        istate[S_STEPS] += 1
        done += 1
    return done
