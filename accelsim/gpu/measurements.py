"""Measurement tables (the format ``benchmarks/gpu/measure.py`` writes) and the model's prediction of
every row.

Two CSV formats, told apart by their header (docs/silicon.md):

- kernel grids, ``kind,m,n,k,batch,heads,kv_heads,context,variant,time_s,...``: ``kind=gemm`` (one GEMM
  ``[m x k] @ [k x n]``) and ``kind=decode_attention`` (one query token per sequence over ``context``
  cached positions, ``bytes`` = K + V read);
- LLM ops, ``model,phase,batch,context,op,time_s,...``: ``phase=ceiling`` rows (informative, not
  fitted), ``phase=decode`` (``step`` in a CUDA graph, ``step_eager``, per-op rows for all layers,
  each in its own CUDA graph) and ``phase=prefill`` (``pass_causal``, ``pass_dense``, per-op rows,
  eager). ``model`` names an accelsim LLM config (``workloads/llm``); ``+fused`` after it: the
  measurement ran fused q/k/v and gate/up GEMMs (the rest unfused); ``+compiled``: those and the
  element-wise ops fused (``accelsim llm --kernels fused``; measure.py fuses them with torch.compile), its
  ``attn_norm`` and ``mlp_norm`` rows each with the residual add before it.

:func:`read_measurements` validates (every problem with file, line and column) and
:func:`predict` adds ``predicted_s`` and ``error`` (predicted / measured - 1) to each row.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AccelsimError, did_you_mean
from .kernels import decode_attention_cost, elementwise_cost, gemm_cost

KERNEL_REQUIRED = ("kind", "m", "n", "k", "batch", "heads", "kv_heads", "context", "time_s", "bytes")
OPS_REQUIRED = ("model", "phase", "batch", "context", "op", "time_s")
KINDS = ("gemm", "decode_attention")
PHASES = ("ceiling", "decode", "prefill")
#: Per-op row names (as ``accelsim llm`` names its ops) and the whole-pass rows.
LAYER_OPS = ("attn_norm", "attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.qkv_proj", "attn.rope", "kv_cache.write",
             "attention", "attention_causal", "attention_dense", "attn.o_proj", "attn.residual", "mlp_norm",
             "mlp.gate_proj", "mlp.up_proj", "mlp.gate_up_proj", "mlp.act_fn", "mlp.down_proj", "mlp.residual",
             "lm_head")
WHOLE_OPS = ("step", "step_eager", "pass_causal", "pass_dense")
CEILING_OPS = ("d2d_copy", "read_sum")


def _number(text):
    try:
        return float(text) if text not in ("", None) else None
    except ValueError:
        return "bad"


def read_measurements(paths) -> pd.DataFrame:
    """All rows of the measurement files, validated; one frame with ``format`` (kernels | ops),
    ``file`` and ``line`` columns. Raises :class:`AccelsimError` listing every problem."""
    problems, frames = [], []
    for path in map(Path, paths):
        try:
            with path.open(newline="") as fh:
                rows = list(csv.DictReader(fh))
                header = rows and list(rows[0].keys()) or _header(path)
        except OSError as exc:
            problems.append(f"{path}: cannot read ({exc.strerror})")
            continue
        except (csv.Error, UnicodeDecodeError) as exc:
            problems.append(f"{path}: not a CSV file ({exc})")
            continue
        fmt = "kernels" if "kind" in header else "ops" if "op" in header else None
        if fmt is None:
            problems.append(f"{path}: line 1: not a measurement table: the header needs either the kernel-grid "
                            f"columns ({', '.join(KERNEL_REQUIRED)}) or the LLM-op columns ({', '.join(OPS_REQUIRED)}); "
                            "benchmarks/gpu/measure.py writes both")
            continue
        required = KERNEL_REQUIRED if fmt == "kernels" else OPS_REQUIRED
        missing = [c for c in required if c not in header]
        if missing:
            problems.append(f"{path}: line 1: missing column(s) {', '.join(missing)} (a {fmt} table needs "
                            f"{', '.join(required)})")
            continue
        if not rows:
            problems.append(f"{path}: no rows after the header")
            continue
        records = []
        for line, row in enumerate(rows, start=2):
            record = {"format": fmt, "file": str(path), "line": line}
            time_s = _number(row.get("time_s"))
            if time_s is None or time_s == "bad" or not np.isfinite(time_s) or time_s <= 0:
                problems.append(f"{path}: line {line}: column time_s: must be a positive number of seconds "
                                f"(got {row.get('time_s')!r})")
                continue
            record["time_s"] = time_s
            ok = True
            if fmt == "kernels":
                kind = row.get("kind", "")
                if kind not in KINDS:
                    problems.append(f"{path}: line {line}: column kind: unknown kind {kind!r}{did_you_mean(kind, KINDS)}; "
                                    f"known: {', '.join(KINDS)}")
                    continue
                need = ("m", "n", "k") if kind == "gemm" else ("batch", "heads", "kv_heads", "context", "bytes")
                for column in need:
                    value = _number(row.get(column))
                    if value is None or value == "bad" or value <= 0:
                        problems.append(f"{path}: line {line}: column {column}: a {kind} row needs a positive "
                                        f"number (got {row.get(column)!r})")
                        ok = False
                    else:
                        record[column] = value
                record["kind"] = kind
                record["variant"] = row.get("variant", "") or ""
            else:
                phase, op = row.get("phase", ""), row.get("op", "")
                if phase not in PHASES:
                    problems.append(f"{path}: line {line}: column phase: unknown phase {phase!r}"
                                    f"{did_you_mean(phase, PHASES)}; known: {', '.join(PHASES)}")
                    continue
                known = CEILING_OPS if phase == "ceiling" else LAYER_OPS + WHOLE_OPS
                if phase == "ceiling" and op.startswith("gemm_"):
                    known = (op,)
                if op not in known:
                    problems.append(f"{path}: line {line}: column op: unknown {phase} op {op!r}{did_you_mean(op, known)}; "
                                    f"known: {', '.join(known)}")
                    continue
                record.update(model=row.get("model", ""), phase=phase, op=op)
                if phase != "ceiling":
                    for column in ("batch", "context"):
                        value = _number(row.get(column))
                        if value is None or value == "bad" or value <= 0 or value != int(value):
                            problems.append(f"{path}: line {line}: column {column}: must be a positive integer "
                                            f"(got {row.get(column)!r})")
                            ok = False
                        else:
                            record[column] = int(value)
            if ok:
                records.append(record)
        frames.append(pd.DataFrame(records))
    if problems:
        raise AccelsimError("bad measurement file(s):\n  " + "\n  ".join(problems))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _header(path: Path) -> list:
    with path.open(newline="") as fh:
        return next(csv.reader(fh), [])


#: The entry of a case's costs that is not an op: the final norm of one token per sequence.
LAST_TOKEN_NORM = "final_norm (last token)"


class _Cases:
    """Per-op predictions of LLM cases, computed once per (model, phase, batch, context, options)."""

    def __init__(self, dev):
        self.dev, self.cache = dev, {}

    def costs(self, model: str, phase: str, batch: int, context: int, causal: bool, kernels: str, launch: str):
        key = (model, phase, batch, context, causal, kernels, launch)
        if key not in self.cache:
            from ..llm.gpu import op_costs
            from ..llm.lower import resolve_llm_config
            from ..llm.phases import decode_ops, prefill_ops
            from ..llm.variants import LLMOptions
            from ..spec.hw import PRECISION_BITS
            try:
                cfg = resolve_llm_config(model)
            except AccelsimError as exc:
                raise AccelsimError(f"model {model!r} of a measurement row: {exc}") from None
            opts = LLMOptions(causal=causal)
            e = PRECISION_BITS[self.dev.precision] / 8
            if phase == "decode":
                ops = decode_ops(cfg, opts, context, 1, batch, e, e)[1]
            else:
                ops = prefill_ops(cfg, opts, context, batch, e, e)
            self.cache[key] = {name: float(np.sum(cost.time_s)) * layers
                               for name, _, layers, cost, _ in op_costs(ops, self.dev, cfg, opts, phase == "decode", e,
                                                                        kernels, launch)}
            # measure.py's lm_head row normalises the last token of each sequence only (its final norm
            # on x[:, -1]), read and written once; in decode that is the whole final_norm op
            self.cache[key][LAST_TOKEN_NORM] = float(elementwise_cost(
                self.dev, "norm", 2 * batch * cfg.hidden_size * e, 1).time_s) if cfg.final_norm else 0.0
        return self.cache[key]


#: Model suffixes of measurement rows: the fused GEMMs only, or every fusion of ``--kernels fused``.
MODEL_VARIANTS = ("fused", "compiled")


def _op_prediction(cases: _Cases, row) -> float:
    model, _, variant = str(row["model"]).partition("+")
    if variant and variant not in MODEL_VARIANTS:
        raise AccelsimError(f"{row['file']}: line {row['line']}: column model: unknown variant +{variant}"
                            f"{did_you_mean(variant, MODEL_VARIANTS)}; known: "
                            + ", ".join("+" + v for v in MODEL_VARIANTS))
    fused = variant == "fused"
    phase, op, batch, context = row["phase"], row["op"], int(row["batch"]), int(row["context"])
    # whole passes: a decode step replayed from a CUDA graph or launched eagerly, a prefill eagerly;
    # per-op rows: each op timed by itself (its GPU time)
    launch = {"step": "graph", "step_eager": "eager", "pass_causal": "eager", "pass_dense": "eager"}.get(op, "none")
    causal = op in ("pass_causal", "attention_causal") or (phase == "prefill" and op not in ("pass_dense",
                                                                                              "attention_dense"))
    if variant == "compiled":   # every fusion; a norm row times the residual add fused into it
        costs = dict(cases.costs(model, phase, batch, context, causal, "fused", launch))
        for norm, residual in (("attn_norm", "mlp.residual"), ("mlp_norm", "attn.residual")):
            if op == norm and residual in costs:
                return costs[norm] + costs[residual]
    else:
        costs = cases.costs(model, phase, batch, context, causal, "unfused", launch)
    if fused:   # fused q/k/v and gate/up GEMMs only: the unfused ops, with those two merged
        merged = cases.costs(model, phase, batch, context, causal, "fused", launch)
        costs = dict(costs)
        for name in ("attn.qkv_proj", "mlp.gate_up_proj"):
            costs[name] = merged[name]
        for name in ("attn.q_proj", "attn.k_proj", "attn.v_proj", "mlp.gate_proj", "mlp.up_proj"):
            costs.pop(name, None)
    if op in WHOLE_OPS:
        return float(sum(v for name, v in costs.items() if name != LAST_TOKEN_NORM))
    if op in ("attention_causal", "attention_dense"):
        return costs["attention"]
    if op == "lm_head":   # final norm, lm_head GEMM and argmax on the last token
        norm = costs[LAST_TOKEN_NORM] if phase == "prefill" else costs.get("final_norm", 0.0)
        return norm + sum(costs.get(name, 0.0) for name in ("lm_head", "sampling.argmax"))
    if op not in costs:
        raise AccelsimError(f"{row['file']}: line {row['line']}: column op: {op!r} is not an op of {model} "
                            f"({phase}); its ops: {', '.join(n for n in costs if n != LAST_TOKEN_NORM)}")
    return costs[op]


def predict(dev, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``predicted_s`` (NaN for ceiling rows) and ``error`` = predicted / measured - 1."""
    cases = _Cases(dev)
    predicted = []
    e = dev.word_bytes
    for row in frame.to_dict(orient="records"):
        if row["format"] == "kernels" and row["kind"] == "gemm":
            value = float(gemm_cost(dev, row["m"], row["n"], row["k"], 1, e).time_s)
        elif row["format"] == "kernels":
            head_dim = row["bytes"] / (2 * row["batch"] * row["kv_heads"] * row["context"] * e)
            grouped = row["kv_heads"] if row["kv_heads"] < row["heads"] else row["heads"]
            value = float(decode_attention_cost(dev, row["bytes"], 2 * row["batch"] * row["heads"] * head_dim * e,
                                                4 * row["batch"] * row["heads"] * row["context"] * head_dim,
                                                row["batch"] * grouped, row["context"]).time_s)
        elif row["phase"] == "ceiling":
            value = float("nan")
        else:
            value = _op_prediction(cases, row)
        predicted.append(value)
    out = frame.copy()
    out["predicted_s"] = predicted
    out["error"] = out["predicted_s"] / out["time_s"] - 1
    return out


def describe_row(row) -> str:
    """A short label of a measurement row for printed tables."""
    if row["format"] == "kernels" and row["kind"] == "gemm":
        return f"gemm m={int(row['m'])} n={int(row['n'])} k={int(row['k'])}"
    if row["format"] == "kernels":
        return (f"decode_attention b={int(row['batch'])} heads={int(row['heads'])}/{int(row['kv_heads'])} "
                f"ctx={int(row['context'])}")
    if row["phase"] == "ceiling":
        return f"ceiling {row['op']}"
    return f"{row['model']} {row['phase']} b={int(row['batch'])} ctx={int(row['context'])} {row['op']}"
