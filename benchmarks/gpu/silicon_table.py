"""Print the predicted / measured / error tables of docs/silicon.md for a GPU device and measurement files.

    python benchmarks/gpu/silicon_table.py --hw h200 tests/data/silicon/h200/kernels.csv tests/data/silicon/h200/llm_ops.csv

One markdown table per group of rows (whole passes, per-op rows, GEMM grid, decode-attention grid), every
row with its error; rows beyond the validation thresholds are marked. Re-run it after a recalibration and
paste the output into docs/silicon.md.
"""
from __future__ import annotations

import argparse

from accelsim import spec
from accelsim.gpu.measurements import describe_row, predict, read_measurements

GROUPS = (("whole decode steps and prefills", lambda r: r["format"] == "ops" and r["op"] in (
              "step", "step_eager", "pass_causal", "pass_dense"), 0.10),
          ("per-op rows (all layers)", lambda r: r["format"] == "ops" and r["phase"] != "ceiling" and r["op"] not in (
              "step", "step_eager", "pass_causal", "pass_dense"), 0.15),
          ("GEMM grid", lambda r: r["format"] == "kernels" and r["kind"] == "gemm", 0.10),
          ("decode-attention grid", lambda r: r["format"] == "kernels" and r["kind"] == "decode_attention", 0.15))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hw", default="h200")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv)
    dev = spec.load("hw", args.hw)
    table = predict(dev, read_measurements(args.files))
    records = [r for r in table.to_dict(orient="records") if r["predicted_s"] == r["predicted_s"]]
    for title, select, limit in GROUPS:
        rows = [r for r in records if select(r)]
        if not rows:
            continue
        worst = max(abs(r["error"]) for r in rows)
        print(f"\n**{title}** ({len(rows)} rows, worst {100 * worst:.1f}%; marked: beyond {100 * limit:.0f}%"
              + ("; GEMMs with m < 64 are outside the target" if "GEMM" in title else "") + ")\n")
        print("| case | measured (ms) | predicted (ms) | error |")
        print("|---|---:|---:|---:|")
        for r in rows:
            flag = " **miss**" if abs(r["error"]) > limit and not (r.get("kind") == "gemm" and r["m"] < 64) else ""
            variant = f" ({r['variant']})" if isinstance(r.get("variant"), str) and r["variant"] else ""
            print(f"| {describe_row(r)}{variant} | {r['time_s'] * 1e3:.4f} | {r['predicted_s'] * 1e3:.4f} | "
                  f"{100 * r['error']:+.1f}%{flag} |")


if __name__ == "__main__":
    main()
