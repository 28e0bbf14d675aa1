"""A Timeloop problem as an accelsim layer, and a Timeloop mapping as per-level loops in accelsim's dims.

Timeloop describes a problem by its dimensions and each data space's projection (Parashar et al.,
ISPASS 2019, section III; ``timeloop-v4`` in docs/references.md). accelsim's engine runs the conv
loop nest N, M, C, E, F, R, S (Sze et al. 2020 notation). The roles are read off the projections:

* the output is the ``read_write`` data space; the weights are the space named ``Weights`` (else
  the second input), the activations the other input (``Inputs``, else the first);
* a rank of two terms ``[[R, Wdilation], [P, Wstride]]`` is a sliding window: the output-side
  dimension becomes E (first window) or F (second), the filter-side one R or S; its coefficients
  give the stride and the dilation;
* a dimension indexing the output and the weights only becomes M (output channels); one indexing
  the activations and the output only (not windowed) becomes N, then E, F if free; one indexing
  the activations and the weights only becomes C (the reduction).

A dimension that fits none of these, or a second one for the same role, is reported as
unsupported. Timeloop counts an input window over its full extent (``(P-1)*stride + R``, padding
included); the imported layer therefore has no padding and an input of exactly that extent, so
both tools count the same words.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import Problem, SpecError
from . import timeloop_files as tf
from .timeloop_files import Directive, ProblemSpec

OPS = ("ifmap", "filter", "ofmap")


@dataclass(frozen=True)
class ImportedProblem:
    layer: dict                    # an accelsim workload layer (type conv)
    dim_map: dict                  # Timeloop dimension -> accelsim dim (N M C E F R S)
    roles: dict                    # Timeloop data-space name -> accelsim operand


def _roles(spec: ProblemSpec) -> dict:
    out = next(ds for ds in spec.data_spaces if ds.read_write)
    inputs = [ds for ds in spec.data_spaces if not ds.read_write]
    names = [ds.name for ds in inputs]
    if "Weights" in names:
        weights = inputs[names.index("Weights")]
        acts = inputs[1 - names.index("Weights")]
    else:
        acts, weights = inputs
    return {acts.name: "ifmap", weights.name: "filter", out.name: "ofmap"}


def import_problem(spec: ProblemSpec) -> ImportedProblem:
    problems: list[Problem] = []
    roles = _roles(spec)
    by_op = {roles[ds.name]: ds for ds in spec.data_spaces}
    dims_of = {op: {t[0] for rank in ds.projection for t in rank} for op, ds in by_op.items()}
    dim_map: dict = {}
    layer = {"name": spec.name, "type": "conv"}
    coef = spec.coefficients
    windows = [rank for rank in by_op["ifmap"].projection if len(rank) == 2]
    if len(windows) > 2:
        problems.append(Problem(spec.file, "problem.shape.data_spaces", "more than two sliding-window "
                                "ranks; accelsim's conv has two (height, width)"))
    for w, rank in enumerate(windows[:2]):
        out_terms = [t for t in rank if t[0] in dims_of["ofmap"]]
        red_terms = [t for t in rank if t[0] not in dims_of["ofmap"]]
        if len(out_terms) != 1 or len(red_terms) != 1:
            problems.append(Problem(spec.file, "problem.shape.data_spaces", f"window rank {rank} must pair "
                                    "one output dimension with one reduction dimension"))
            continue
        (od, oc), (rd, rc) = out_terms[0], red_terms[0]
        dim_map[od], dim_map[rd] = ("E", "R") if w == 0 else ("F", "S")
        layer[("stride_h", "stride_w")[w]] = int(coef.get(oc, 1)) if oc else 1
        layer[("dilation_h", "dilation_w")[w]] = int(coef.get(rc, 1)) if rc else 1
    for rank in by_op["ifmap"].projection:
        if len(rank) > 2:
            problems.append(Problem(spec.file, "problem.shape.data_spaces", f"projection rank {rank} has more "
                                    "than two terms; accelsim reads sums of at most two dimensions"))
    free = {"N": None, "E": None, "F": None}
    for d in spec.dimensions:
        if d in dim_map:
            continue
        in_ops = {op for op, ds in dims_of.items() if d in ds}
        if in_ops == {"filter", "ofmap"}:
            target = "M"
        elif in_ops == {"ifmap", "filter"}:
            target = "C"
        elif in_ops == {"ifmap", "ofmap"}:
            target = next((k for k in ("N", "E", "F") if free[k] is None and k not in dim_map.values()), None)
        elif not in_ops and spec.bounds.get(d, 1) == 1:
            continue
        else:
            target = None
        if (target is None or target in dim_map.values()) and spec.bounds.get(d, 1) == 1:
            continue        # a dimension of bound 1 iterates once: no loop (the dot product's M = 1)
        if target is None or target in dim_map.values():
            problems.append(Problem(spec.file, f"problem.shape.dimensions.{d}",
                                    f"dimension indexes {sorted(in_ops) or 'no data space'}: no matching "
                                    "dimension of accelsim's conv loop nest is left; not importable"))
            continue
        dim_map[d] = target
        if target in free:
            free[target] = d
    if problems:
        raise SpecError(problems)
    bound = {ours: spec.bounds[d] for d, ours in dim_map.items()}
    n, m, c = bound.get("N", 1), bound.get("M", 1), bound.get("C", 1)
    e, f, r, s = bound.get("E", 1), bound.get("F", 1), bound.get("R", 1), bound.get("S", 1)
    sh, sw = layer.pop("stride_h", 1), layer.pop("stride_w", 1)
    dh, dw = layer.pop("dilation_h", 1), layer.pop("dilation_w", 1)
    layer.update({"N": n, "C": c, "M": m, "R": r, "S": s,
                  "H": (e - 1) * sh + dh * (r - 1) + 1, "W": (f - 1) * sw + dw * (s - 1) + 1})
    if (sh, sw) != (1, 1):
        layer["stride"] = [sh, sw]
    if (dh, dw) != (1, 1):
        layer["dilation"] = [dh, dw]
    return ImportedProblem(layer, dim_map, roles)


@dataclass(frozen=True)
class LevelMapping:
    """One storage or spatial level's part of a pinned mapping, in accelsim dims. ``temporal``: loops
    outermost first; ``spatial_x`` / ``spatial_y``: fan-out factors below this level; ``keep``:
    operands this level stores (None: not said)."""

    level: str
    temporal: tuple[tuple[str, int], ...] = ()
    spatial_x: tuple[tuple[str, int], ...] = ()
    spatial_y: tuple[tuple[str, int], ...] = ()
    keep: tuple[str, ...] | None = None


def import_mapping(directives: list[Directive], problem: ImportedProblem, level_names, file: str) -> list[LevelMapping]:
    """Per-level loops of a Timeloop mapping (directives may come in any order). Loops of trip 1
    are dropped; permutations are innermost first in Timeloop and outermost first here; dimensions
    a permutation leaves out come outermost, in the problem's order, as in Timeloop."""
    problems: list[Problem] = []
    per: dict = {name: {"temporal": (), "x": (), "y": (), "keep": None} for name in level_names}
    dim_map = problem.dim_map
    for i, d in enumerate(directives):
        target = tf.level_of_target(d.target, per)
        if target is None:
            problems.append(Problem(file, f"mapping[{i}].target", f"'{d.target}' is not a level of the "
                                    f"architecture ({', '.join(level_names)}){tf.target_hint(d.target)}"))
            continue
        d = replace(d, target=target)
        if d.type == "bypass":
            keep = {problem.roles[x] for x in d.keep or () if x in problem.roles}
            unknown = [x for x in (*(d.keep or ()), *(d.bypass or ())) if x not in problem.roles]
            if unknown:
                problems.append(Problem(file, f"mapping[{i}]", f"unknown data spaces {unknown}"))
            bypass = {problem.roles[x] for x in d.bypass or () if x in problem.roles}
            known = set(per[d.target]["keep"] or ()) | keep
            per[d.target]["keep"] = tuple(op for op in OPS if op in known and op not in bypass)
            continue
        if d.max_factors or d.min_factors:
            problems.append(Problem(file, f"mapping[{i}].factors", "DIM<=N / DIM>=N bound a mapspace, a mapping "
                                    "gives exact factors: pass this file to `accelsim run --pin`"))
        unmapped = [k for k, v in d.factors.items() if v > 1 and k not in dim_map]
        if unmapped:
            problems.append(Problem(file, f"mapping[{i}].factors", f"factors on dimensions {unmapped} that "
                                    "the problem does not use"))
        order = list(d.permutation) + [k for k in d.factors if k not in d.permutation]
        loops = [(dim_map[k], d.factors[k]) for k in order if d.factors.get(k, 1) > 1 and k in dim_map]
        if d.type == "temporal":
            per[d.target]["temporal"] = tuple(reversed(loops))
        else:
            split = len(order) if d.split is None else d.split
            xs = [(dim_map[k], d.factors[k]) for k in order[:split] if d.factors.get(k, 1) > 1 and k in dim_map]
            ys = [(dim_map[k], d.factors[k]) for k in order[split:] if d.factors.get(k, 1) > 1 and k in dim_map]
            per[d.target]["x"], per[d.target]["y"] = tuple(xs), tuple(ys)
    if problems:
        raise SpecError(problems)
    return [LevelMapping(name, v["temporal"], v["x"], v["y"], v["keep"]) for name, v in per.items()]
