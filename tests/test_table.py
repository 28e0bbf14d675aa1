"""accelsim/table.py writes, sums and prints exactly what pandas does for the same frame."""
from __future__ import annotations

import json

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


@pytest.mark.parametrize("hw, workload, dataflow", [("tpu_v1", "resnet18", "ws"), ("edge_16x16", "mobilenet_v1", "os")])
def test_run_writes_what_pandas_wrote(tmp_path, hw, workload, dataflow):
    """``accelsim run`` writes its Table: layers.csv, accesses.csv, the manifest's totals and the
    printed summary are what the pandas path (model.simulate's DataFrame, groupby, to_json,
    to_string) gives for the same rows (layers with and without MACs)."""
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
    assert (out / "layers.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
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
