"""``accelsim calibrate``: fit a GPU device's measured parameters (``gpu.fitted``) to measurement tables.

The parameters fall into groups, each fitted to the rows that measure it, the others held (docs/silicon.md):

==================  ============================================================  ==============================
group               parameters                                                    rows
==================  ============================================================  ==============================
gemm                sustained_tflops, gemm_bandwidth_gb_per_s, gemm_kernel_us,    kernel grid, ``kind=gemm``
                    memory_ramp_us, split_k_reduce_us,
                    gemm_l2_bandwidth_gb_per_s, power_limited_tflops,
                    power_limited_hbm_gb_per_s
decode attention    attention_bandwidth_gb_per_s, attention_kernel_us,            kernel grid, ``decode_attention``
                    attention_combine_us
prefill attention   prefill_attention_tflops / causal_attention_tflops            ``attention_dense`` / ``_causal``
norm                norm_kernel_us, norm_bandwidth_gb_per_s                       ``attn_norm``, ``mlp_norm``
argmax              argmax_kernel_us                                              ``lm_head`` (decode)
element-wise        elementwise_kernel_us, elementwise_bandwidth_gb_per_s         ``*.residual``, ``mlp.act_fn``
strided             strided_kernel_us, strided_bandwidth_gb_per_s                 ``attn.rope``, ``kv_cache.write``
graph launches      graph_gap_us                                                  ``step``
eager launches      eager_launch_us                                               ``step_eager``
==================  ============================================================  ==============================

Each group minimises the squared log-ratios predicted / measured (relative errors, so a 10 us kernel and
a 10 ms step weigh alike) with :func:`scipy.optimize.least_squares` (trust-region reflective; Branch,
Coleman and Li, SIAM J. Sci. Comput. 21(1), 1999), parameters in log space (positive) starting from the
base device's values. The groups are fitted in the order above, and the sweep repeats until no
parameter moves by more than 1e-4 (relative), at most ``max_sweeps`` times: a fixed point, so
calibrating a calibrated device on the same measurements reproduces its values. A group without rows
keeps the base value; a group with fewer rows than parameters is an error.
"""
from __future__ import annotations

import dataclasses
import datetime
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AccelsimError
from ..spec.gpu import OPTIONAL_FITTED
from .measurements import predict

GROUPS = (
    ("gemm", ("sustained_tflops", "gemm_bandwidth_gb_per_s", "gemm_kernel_us", "memory_ramp_us",
              "split_k_reduce_us", "gemm_l2_bandwidth_gb_per_s", "power_limited_tflops",
              "power_limited_hbm_gb_per_s"),
     lambda f: _kind(f, "gemm")),
    ("decode attention", ("attention_bandwidth_gb_per_s", "attention_kernel_us", "attention_combine_us"),
     lambda f: _kind(f, "decode_attention")),
    ("dense prefill attention", ("prefill_attention_tflops",), lambda f: _ops(f, ("attention_dense",))),
    ("causal prefill attention", ("causal_attention_tflops",), lambda f: _ops(f, ("attention_causal",))),
    ("norm kernels", ("norm_kernel_us", "norm_bandwidth_gb_per_s"), lambda f: _ops(f, ("attn_norm", "mlp_norm"))),
    # the lm_head row: final norm, lm_head GEMM and the argmax, each fitted but the argmax in other groups;
    # decode rows only (replayed from a CUDA graph: prefill's per-op rows are eager, their host time in them)
    ("argmax reductions", ("argmax_kernel_us",), lambda f: _ops(f, ("lm_head",), phase="decode")),
    ("contiguous element-wise kernels", ("residual_kernel_us", "activation_kernel_us",
                                         "elementwise_bandwidth_gb_per_s", "l2_bandwidth_gb_per_s"),
     lambda f: _ops(f, ("attn.residual", "mlp.residual", "mlp.act_fn"))),
    ("strided kernels", ("rope_kernel_us", "copy_kernel_us", "strided_bandwidth_gb_per_s"),
     lambda f: _ops(f, ("attn.rope", "kv_cache.write"))),
    ("CUDA-graph launch gaps", ("graph_gap_us",), lambda f: _ops(f, ("step",))),
    ("eager launches", ("eager_launch_us",), lambda f: _ops(f, ("step_eager",))),
)
#: Lower bound of every fitted value (a fixed cost of 0 is allowed: log space needs a floor).
_FLOOR = 1e-3


def _kind(frame: pd.DataFrame, kind: str) -> pd.Series:
    if "kind" not in frame:
        return pd.Series(False, index=frame.index)
    rows = (frame["format"] == "kernels") & (frame["kind"] == kind)
    if "variant" in frame:
        # rows timed under sustained load (measure.py --sustain: variant '...sustained N ms...') test the power
        # limit in a different state of the board than the grid's replays; the fit uses the grid's rows (and
        # their repeats, 'round i/N'), as a fused model's rows are left to validation
        rows &= ~frame["variant"].fillna("").astype(str).str.contains("sustained", regex=False)
    return rows


def _ops(frame: pd.DataFrame, names, phase: str | None = None) -> pd.Series:
    if "op" not in frame:
        return pd.Series(False, index=frame.index)
    # rows of fused variants (model+fused, model+compiled) validate the fused model; the fit uses unfused rows
    rows = (frame["format"] == "ops") & frame["op"].isin(names) & ~frame["model"].astype(str).str.contains("+", regex=False)
    return rows & (frame["phase"] == phase) if phase else rows


@dataclasses.dataclass
class GroupFit:
    """One group's fit: its parameters before and after, rows used, RMS of the log errors, status."""

    name: str
    params: tuple
    before: dict
    after: dict
    rows: int
    rms_log_error: float
    message: str


def _with(dev, values: dict):
    return dataclasses.replace(dev, fitted=dataclasses.replace(dev.fitted, **values))


def fit(dev, frame: pd.DataFrame, max_evaluations: int = 200, max_sweeps: int = 20):
    """The calibrated device and one :class:`GroupFit` per group. Raises :class:`AccelsimError` when a
    group has too few rows or a fit does not converge."""
    from scipy.optimize import least_squares
    masks = [(name, params, np.asarray(select(frame), dtype=bool)) for name, params, select in GROUPS]
    if not any(mask.any() for _, _, mask in masks):
        raise AccelsimError("too few rows to fit: no row measures a fitted parameter (kernel-grid rows "
                            "kind=gemm or decode_attention, or decode/prefill per-op and step rows); "
                            "benchmarks/gpu/measure.py writes them")
    for name, params, mask in masks:
        if 0 < mask.sum() < len(params):
            first = frame[mask].iloc[0]
            raise AccelsimError(f"{first['file']}: too few rows to fit the {name} ({', '.join(params)}): "
                                f"{int(mask.sum())} row(s), at least {len(params)} needed")
    start = dev.fitted.as_dict()
    for sweep in range(max_sweeps):
        before_sweep = dev.fitted.as_dict()
        results = []
        for name, params, mask in masks:
            before = {p: getattr(dev.fitted, p) for p in params}
            if not mask.any():
                results.append(GroupFit(name, params, before, before, 0, float("nan"), "no rows: kept"))
                continue
            rows = frame[mask]
            measured = rows["time_s"].to_numpy(dtype=np.float64)

            def residuals(x, params=params, rows=rows, measured=measured):
                with np.errstate(over="ignore"):   # a start far off may step to huge values: inf, rejected
                    values = np.exp(x)
                trial = _with(dev, dict(zip(params, values)))
                return np.log(predict(trial, rows)["predicted_s"].to_numpy(dtype=np.float64) / measured)

            result = None
            for origin in _starts(dev, params, before):   # the base values; alternatives for unmodelled ones
                trial = least_squares(residuals, np.log(np.maximum(origin, _FLOOR)), method="trf", diff_step=1e-4,
                                      x_scale=1.0, max_nfev=max_evaluations, bounds=(np.log(_FLOOR), np.inf))
                if result is None or (trial.success and (not result.success or trial.cost < result.cost)):
                    result = trial
            with np.errstate(over="ignore"):
                values = np.exp(result.x)
            if not result.success or not np.all(np.isfinite(values)):   # a parameter ran off to infinity
                raise AccelsimError(f"the {name} fit did not converge ({result.message.strip().rstrip('.')}"
                                    + ("" if np.all(np.isfinite(values)) else
                                       f"; {', '.join(p for p, v in zip(params, values) if not np.isfinite(v))} "
                                       "grew without bound") + "); nothing written. Check the rows it uses, or raise "
                                    "--max-evaluations")
            after = {p: float(_round(v)) for p, v in zip(params, values)}
            dev = _with(dev, after)
            rms = float(np.sqrt(np.mean(residuals(np.log(np.maximum([after[p] for p in params], _FLOOR))) ** 2)))
            results.append(GroupFit(name, params, {p: start[p] for p in params}, after, int(mask.sum()), rms,
                                    f"converged ({result.nfev} evaluations)"))
        moved = max(abs(dev.fitted.as_dict()[k] / max(v, _FLOOR) - 1) for k, v in before_sweep.items())
        if moved <= 1e-4:
            break
    else:
        raise AccelsimError(f"the fit did not settle after {max_sweeps} sweeps over the groups (a parameter still "
                            f"moved by {moved:.2g}); nothing written")
    return dev, results


def _starts(dev, params, before: dict) -> list:
    """Starting points of a group's fit: the base device's values. A parameter the base leaves at 0 ("not
    modelled") starts from the floor, except those with alternatives (:data:`_ALTERNATIVES`): the GEMM
    operand rate through L2 starts from 1, 1.5 and 2 times the element-wise kernels' L2 bandwidth, the
    power-limited rates from two multiples each of the sustained rate and of the GEMM HBM bandwidth;
    every combination is a start and the fit keeps the best (from a single start it can settle in a
    worse local minimum)."""
    starts = [[before[p] for p in params]]
    for key, (reference, factors) in _ALTERNATIVES.items():
        if key not in params or before[key] > 0:
            continue
        where = params.index(key)
        value = reference(dev)
        starts = [start[:where] + [factor * value] + start[where + 1:] for start in starts for factor in factors]
    return starts


#: Starting points of the parameters a base file may leave at 0: (reference value, factors of it).
_ALTERNATIVES = {
    "gemm_l2_bandwidth_gb_per_s": (lambda dev: dev.fitted.l2_bandwidth_gb_per_s or 2 * dev.dram_bandwidth_bytes_per_s / 1e9,
                                   (1.0, 1.5, 2.0)),
    "power_limited_tflops": (lambda dev: dev.fitted.sustained_tflops, (1.05, 1.4)),
    "power_limited_hbm_gb_per_s": (lambda dev: dev.fitted.gemm_bandwidth_gb_per_s, (1.2, 5.0)),
}


def _round(value: float, digits: int = 4) -> float:
    """Values as written to the hw file: 4 significant digits."""
    return float(f"{value:.{digits}g}")


def write_hw(base_path: Path, dev, measurement_files, out_path: Path, name: str | None = None) -> str:
    """The base hw file's text with ``gpu.fitted`` replaced by ``dev``'s values; each fitted line and a
    ``calibration`` key name the measurement files and the date."""
    text = Path(base_path).read_text()
    files = ", ".join(str(p) for p in measurement_files)
    today = datetime.date.today().isoformat()
    note = f"fitted by accelsim calibrate on {files} ({today})"
    for key, value in dev.fitted.as_dict().items():
        pattern = re.compile(rf"^(\s+){re.escape(key)}:[^\n]*$", re.MULTILINE)
        if not pattern.search(text) and key in OPTIONAL_FITTED:   # a file from before the key existed
            anchor = {"attention_combine_us": "attention_kernel_us", "split_k_reduce_us": "memory_ramp_us",
                      "gemm_l2_bandwidth_gb_per_s": "split_k_reduce_us",
                      "power_limited_tflops": "gemm_l2_bandwidth_gb_per_s",
                      "power_limited_hbm_gb_per_s": "power_limited_tflops",
                      "argmax_kernel_us": "norm_bandwidth_gb_per_s"}[key]
            text = re.sub(rf"^(\s+){anchor}:[^\n]*$",
                          lambda m, key=key: f"{m.group(0)}\n{m.group(1)}{key}: 0", text, count=1, flags=re.MULTILINE)
        if not pattern.search(text):
            raise AccelsimError(f"{base_path}: gpu.fitted.{key} not found as one line of the file; cannot rewrite it")
        text = pattern.sub(lambda m, key=key, value=value: f"{m.group(1)}{key}: {value:g}   # fitted (calibration)",
                           text, count=1)
    calibration = f'calibration: "{note}"'
    if re.search(r"^calibration:.*$", text, re.MULTILINE):
        text = re.sub(r"^calibration:.*$", calibration, text, count=1, flags=re.MULTILINE)
    else:
        text = re.sub(r"^(precision:.*)$", rf"\1\n{calibration}", text, count=1, flags=re.MULTILINE)
    if name:
        text = re.sub(r"^name:.*$", f"name: {name}", text, count=1, flags=re.MULTILINE)
    text = re.sub(r"^# Calibrated from [^\n]*\n", "", text, flags=re.MULTILINE)
    header = f"# Calibrated from {Path(base_path).name}: {note}.\n"
    first, _, rest = text.partition("\n")
    if first.startswith("# yaml-language-server:"):   # that line stays first (editors read it there)
        return f"{first}\n{header}{rest}"
    return header + text
