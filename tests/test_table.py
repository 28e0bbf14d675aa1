"""accelsim/table.py writes, sums and prints exactly what pandas does for the same frame."""
from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from accelsim.table import Table, concat, group_sums, json_number, to_string


def _floats(seed: int, n: int = 400) -> np.ndarray:
    rng = np.random.default_rng(seed)
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e16, 1e16 - 2, 1e15, 123456789012345678.0, 0.1, 1 / 3, 5e-324,
               1e-5, 1e-4, 1e-15, 9e-16, 2.5, 3.0, 0.5, 1.25e-10, 99999999.99999999, 12345678901.123456, 0.99999999999]
    values = rng.random(n) * 10.0 ** rng.integers(-20, 20, n) * rng.choice([-1, 1], n)
    return np.concatenate([values, special])


def test_to_csv_is_pandas_to_csv(tmp_path):
    floats = _floats(0)
    n = len(floats)
    rng = np.random.default_rng(1)
    text = np.array([["conv", 'a "quoted", b', "", None, np.nan, "x\ny", 3, 2.5][i % 8] for i in range(n)], dtype=object)
    table = Table({"f": floats, "i": rng.integers(-2**62, 2**62, n), "b": rng.random(n) > 0.5, "t": text,
                   "s": "same"})
    table.to_csv(tmp_path / "table.csv")
    pd.DataFrame({name: table[name] for name in table.columns}).to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "table.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    # one column: an empty field is written as "" (pandas and the csv module)
    single = Table({"f": np.array([1.5, np.nan])})
    single.to_csv(tmp_path / "one.csv")
    pd.DataFrame({"f": [1.5, np.nan]}).to_csv(tmp_path / "one_pandas.csv", index=False)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "one_pandas.csv").read_bytes()


def test_json_number_is_pandas_to_json():
    floats = _floats(2)
    frame = pd.DataFrame({f"c{i}": [v] for i, v in enumerate(floats)} | {"n": [2**62], "z": [0]})
    expected = json.loads(frame.to_json(orient="records"))[0]
    got = {f"c{i}": json_number(v) for i, v in enumerate(floats)} | {"n": json_number(np.int64(2**62)),
                                                                      "z": json_number(0)}
    assert json.dumps(got) == json.dumps(expected)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("contiguous", [False, True])
@pytest.mark.parametrize("with_nan", [False, True])
def test_group_sums_is_pandas_groupby_sum(seed, contiguous, with_nan):
    """pandas sums floats two ways (np.add.reduceat for contiguous groups without NaN, else
    compensated summation): every case, on values whose sums round differently each way."""
    rng = np.random.default_rng(seed)
    n = 300
    floats = rng.random(n) * 10.0 ** rng.integers(-8, 14, n)
    if with_nan:
        floats[rng.integers(0, n, 10)] = np.nan
    codes = rng.integers(0, 3, n)
    keys = np.array(["b", "a", "c"], dtype=object)[np.sort(codes) if contiguous else codes]
    table = Table({"k": keys, "k2": "x", "f": floats, "i": rng.integers(0, 2**40, n)})
    frame = pd.DataFrame({name: table[name] for name in table.columns})
    expected = frame.groupby(["k", "k2"], sort=False)[["f", "i"]].sum().reset_index()
    got = group_sums(table, ["k", "k2"], ["f", "i"])
    assert list(got["k"]) == list(expected["k"])
    assert got["f"].tobytes() == expected["f"].to_numpy().tobytes()
    assert got["i"].tolist() == expected["i"].tolist()


def test_concat_is_pandas_concat():
    a = Table({"x": np.array([1, 2]), "t": ["p", "q"], "f": np.array([0.5, 1.5]), "b": np.array([True, False])})
    b = Table({"x": np.array([3]), "y": np.array([7]), "f": np.array([2.5])})
    frames = [pd.DataFrame({name: part[name] for name in part.columns}) for part in (a, b)]
    expected = pd.concat(frames, ignore_index=True)
    got = concat([a, b])
    assert got.columns == list(expected.columns)
    for name in got.columns:
        assert got[name].dtype.kind == ("O" if expected[name].dtype.kind in "OT" or str(expected[name].dtype) == "str"
                                        else expected[name].dtype.kind), name
        pd.testing.assert_series_equal(pd.Series(got[name], name=name), expected[name], check_dtype=False)


def test_to_string_is_pandas_to_string():
    table = Table({"layer": ["conv1", "bn1_long_name", "x"], "layer_type": ["conv", "batchnorm", "gemm"],
                   "macs": np.array([118013952, 0, -5]), "folds": np.array([12, 0, 3]),
                   "pe_util": ["23.9%", "0.000%", "nan%"], "mapping": ["a b", "", None]})
    frame = pd.DataFrame({name: table[name] for name in table.columns})
    assert to_string(table) == frame.to_string(index=False)
    one = Table({"layer": ["c"], "m": np.array([1])})
    assert to_string(one) == pd.DataFrame({"layer": ["c"], "m": [1]}).to_string(index=False)


@pytest.mark.parametrize("seed", range(4))
def test_float_columns_print_as_pandas_prints_them(seed):
    """to_string of float columns (fixed decimals with shared zeros trimmed, or scientific) equals
    pandas' on columns of every magnitude, with NaN, infinities, zeros and negatives mixed in."""
    rng = np.random.default_rng(seed)
    floats = _floats(seed, 60)
    columns = {"layer": np.array([f"l{i}" for i in range(len(floats))], dtype=object), "all": floats}
    for k in range(12):     # short columns in one range each: fixed or scientific, trimmed or not
        n = int(rng.integers(1, 6))
        values = np.round(rng.random(n) * 10.0 ** int(rng.integers(-8, 10)), int(rng.integers(0, 8)))
        values[rng.random(n) < 0.2] = [np.nan, 0.0, -1.5, 1e6, 1000000.5][k % 5]
        columns[f"c{k}"] = np.resize(values, len(floats))
    columns["ints"] = rng.integers(-5, 10**9, len(floats))
    columns["bools"] = rng.random(len(floats)) > 0.5
    table = Table(columns)
    frame = pd.DataFrame({name: table[name] for name in table.columns})
    assert to_string(table) == frame.to_string(index=False)
    for name in table.columns:       # one column alone (its own width and format)
        assert to_string(table[[name]]) == frame[[name]].to_string(index=False), name
    for spec in (".4g", ".3f", ".2e"):     # a float_format (the GPU run's .4g): applied as is, untrimmed
        assert to_string(table, float_format=lambda v: format(v, spec)) == \
            frame.to_string(index=False, float_format=lambda v: format(v, spec)), spec


def test_from_records_is_pandas_dataframe_of_records(tmp_path):
    """Records whose keys differ (a layer without MACs lacks the per-level columns), with None,
    bools, numpy scalars and text: the same columns, order, types and CSV bytes as pandas'."""
    records = [{"layer": "a", "macs": 5, "e": 1.5, "ok": True, "n": np.int64(3), "t": "x", "z": None, "m": 1},
               {"layer": "b", "macs": 0, "ok": False, "extra": 7, "t": None, "m": 2.5, "z": None},
               {"layer": "c", "macs": 2, "e": np.float64(2.25), "n": np.int64(4), "extra": 8, "t": "y", "m": 3,
                "z": None, "late": "q", "flag": True}]
    for rows in (records, records[:1], records[1:], [records[0], records[0]]):
        got = Table.from_records(rows)
        expected = pd.DataFrame(rows)
        assert got.columns == list(expected.columns)
        for name in got.columns:
            kind = expected[name].dtype.kind
            assert got[name].dtype.kind == ("O" if kind in "OT" or str(expected[name].dtype) == "str" else kind), name
            pd.testing.assert_series_equal(got.to_pandas()[name], expected[name], check_dtype=False)
        got.to_csv(tmp_path / "got.csv")
        expected.to_csv(tmp_path / "expected.csv", index=False)
        assert (tmp_path / "got.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()
    named = Table.from_records([], columns=["layer", "reads"])
    assert named.columns == ["layer", "reads"] and len(named) == 0


@pytest.mark.parametrize("hw, workload, dataflow", [("tpu_v1", "resnet18", "ws"), ("edge_16x16", "mobilenet_v1", "os"),
                                                    ("eyeriss", "resnet18", "rs"), ("eyeriss", "alexnet", "os_multicast")])
def test_run_writes_what_pandas_wrote(tmp_path, hw, workload, dataflow):
    """``accelsim run`` writes its Table: layers.csv, accesses.csv, the manifest's totals and the
    printed summary are what the pandas path (model.simulate's DataFrame, groupby, to_json,
    to_string) gives for the same rows (layers with and without MACs; systolic, and loop-nest
    dataflows through the mapper, whose ``mapper_seconds`` timing alone may differ)."""
    from click.testing import CliRunner

    from accelsim import model, results, spec
    from accelsim.cli import main

    out = tmp_path / "run"
    done = CliRunner().invoke(main, ["run", "--hw", hw, "--workload", workload, "--dataflow", dataflow, "--out", str(out)])
    assert done.exit_code == 0, done.output
    machine = spec.load_hardware(spec.resolve("hw", hw))
    frame = model.simulate(machine, spec.load_workload(spec.resolve("workloads", workload)),
                           spec.load_dataflow(spec.resolve("dataflows", dataflow)),
                           energy_table=spec.energy_table_for(machine, None))
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    got, expected = ((path / name).read_bytes() for path, name in ((out, "layers.csv"), (tmp_path, "pandas.csv")))
    if "mapper_seconds" in frame:
        j = list(frame.columns).index("mapper_seconds")
        got, expected = ([row[:j] + row[j + 1:] for row in csv.reader(text.decode().splitlines())]
                         for text in (got, expected))
    assert got == expected
    accesses = results.accesses_from_layers(Table.from_pandas(frame), machine)
    accesses.to_pandas().to_csv(tmp_path / "accesses.csv", index=False)
    assert (out / "accesses.csv").read_bytes() == (tmp_path / "accesses.csv").read_bytes()
    keys = ["workload", "hw", "dataflow", "timing"]
    total = frame.groupby(keys, sort=False)[[c for c in results.SUM_COLUMNS if c in frame]].sum().reset_index()
    total["pe_utilization"] = total["macs"] / (total["total_cycles"] * machine.num_pes)
    total["compute_utilization"] = total["macs"] / (total["compute_cycles"] * machine.num_pes)
    total["energy_pj_per_mac"] = total["energy_pj"] / total["macs"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert json.dumps(manifest["totals"]) == json.dumps(json.loads(total.to_json(orient="records"))[0])
    view = frame[[c for c in results.SUMMARY_COLUMNS if c in frame]].copy()
    view["energy_pj"] = view["energy_pj"].map("{:.4g}".format)
    for col in ("pe_utilization", "mapping_efficiency"):
        view[col] = (100 * view[col]).map(lambda pct: f"{pct:.1f}%" if pct >= 1 else f"{pct:.3f}%")
    view = view.rename(columns={"pe_utilization": "pe_util", "mapping_efficiency": "map_eff"})
    assert done.stdout.startswith(view.to_string(index=False) + "\n\n")   # stderr may hold a compile notice


TREE_RUNS = {   # pinned (one layer: docs/architecture.md's worked example), mapped with layers without MACs,
    # --map-tiles (the dataflow's columns: nullable ints and bools), and timing zigzag's columns
    "pinned": ("--hw", "simba_like", "--mapping", "{mapping}", "--workload", "{one}"),
    "zigzag": ("--hw", "{zigzag}", "--mapping", "{mapping}", "--workload", "{one}"),
    "mapped": ("--hw", "simba_like", "--workload", "resnet18", "--objective", "cycles"),
    "map_tiles": ("--hw", "edge_16x16", "--dataflow", "ws", "--workload", "mobilenet_v1", "--map-tiles"),
}


@pytest.mark.parametrize("case", list(TREE_RUNS))
def test_tree_run_writes_what_pandas_writes(tmp_path, case):
    """``accelsim run`` on an architecture tree builds Tables (no pandas on its path): what it writes
    and prints is what pandas writes and prints for the same tables as the Python API's DataFrames
    (layers.csv, accesses.csv, area.csv, pareto.csv, the manifest's totals, the per-layer summary)."""
    from click.testing import CliRunner

    import accelsim
    from accelsim import spec
    from accelsim.cli import main
    from accelsim.spec.workload import load_workload

    text = (spec.ROOT / "docs" / "architecture.md").read_text()
    (tmp_path / "mapping.yaml").write_text(
        text.split("A mapping gives each storage level", 1)[1].split("```yaml", 1)[1].split("```", 1)[0])
    (tmp_path / "one.yaml").write_text("name: one_conv\nbatch: 1\nlayers:\n  - {name: conv, type: conv, C: 64, H: 56, "
                                       "W: 56, M: 64, R: 3, S: 3, stride: 1, padding: 1}\n")
    (tmp_path / "zz.yaml").write_text(spec.resolve("hw", "simba_like").read_text().replace(
        "\ntiming: physical", "").replace("\nlevels:", "\ntiming: zigzag\nlevels:", 1))
    args = [a.format(mapping=tmp_path / "mapping.yaml", one=tmp_path / "one.yaml", zigzag=tmp_path / "zz.yaml")
            for a in TREE_RUNS[case]]
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["run", *args, "--out", str(out)])
    assert done.exit_code == 0, done.output
    options = dict(zip(args[:-1:2], args[1::2]))
    if "--map-tiles" in args:    # the Python API has no --map-tiles: the command's own columns, typed as pandas typed them
        from accelsim.loopnest.command import _dataflow_columns, _dataflow_tree
        from accelsim.loopnest.tree_run import load_tree, run_workload
        tree = load_tree(spec.resolve("hw", options["--hw"]))
        workload = load_workload(spec.resolve("workloads", options["--workload"]))
        dataflow = spec.load_dataflow(spec.resolve("dataflows", options["--dataflow"]))
        tree, starts = _dataflow_tree(tree, dataflow, options["--dataflow"])
        table = spec.energy_table_for(tree, None)
        run = run_workload(tree, workload, table, starts=starts)
        run = replace(run, layers=_dataflow_columns(run.layers, tree, workload, table, dataflow, starts)).to_pandas()
        run.layers["dataflow_tiling_total_cycles"] = run.layers["dataflow_tiling_total_cycles"].astype("Int64")
        run.layers["dataflow_tiling_in_mapspace"] = run.layers["dataflow_tiling_in_mapspace"].astype("boolean")
    else:
        run = accelsim.simulate_tree(options["--hw"], options["--workload"], mapping=options.get("--mapping"),
                                     objective=options.get("--objective", "edp"))
    written = {"layers": run.layers, "accesses": run.accesses, "area": run.area, "pareto": run.pareto}
    for name, frame in written.items():
        if frame is None:
            assert not (out / f"{name}.csv").exists()
            continue
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        got, expected = ((path / f"{name}.csv").read_bytes() for path in (out, tmp_path))
        if "mapper_seconds" in frame:    # a timing: the rest of each row byte for byte
            j = list(frame.columns).index("mapper_seconds")
            got, expected = ([row[:j] + row[j + 1:] for row in csv.reader(text.decode().splitlines())]
                             for text in (got, expected))
        assert got == expected, name
    layers = run.layers
    total = pd.DataFrame([{"workload": layers["workload"][0], "hw": layers["hw"][0], "macs": int(layers["macs"].sum()),
                           "total_cycles": int(layers["total_cycles"].sum()),
                           "compute_cycles": int(layers["compute_cycles"].sum()),
                           "stall_cycles": int(layers["stall_cycles"].sum()), "energy_pj": float(layers["energy_pj"].sum())}])
    manifest = json.loads((out / "manifest.json").read_text())
    assert json.dumps(manifest["totals"]) == json.dumps(json.loads(total.to_json(orient="records"))[0])
    view = layers[layers["macs"] > 0][["layer", "macs", "compute_cycles", "stall_cycles", "total_cycles", "binding_level",
                                       "energy_pj"]]
    assert done.stdout.startswith(view.to_string(index=False) + "\n")
    t = total.iloc[0]
    assert f"{t.macs:,} MACs in {t.total_cycles:,} cycles ({t.compute_cycles:,} compute, {t.stall_cycles:,} stall); " \
           f"energy {t.energy_pj / 1e6:,.2f} uJ" in done.stdout
