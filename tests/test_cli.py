"""One CliRunner test per command, plus the exit-code contract (0 ok, 1 user error, 2 usage)."""
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from accelsim import RESULT_COLUMNS
from accelsim.cli import main
from test_rtl import needs_iverilog

REQUIRED = ["layer", "macs", "compute_cycles", "stall_cycles", "total_cycles", "pe_utilization",
            "mapping_efficiency", "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes",
            "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes"]


@pytest.fixture
def runner():
    return CliRunner()


def test_run_mobilenet_writes_table_and_manifest(runner, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(main, ["run", "--hw", "tpu_v1", "--workload", "mobilenet_v1",
                                  "--dataflow", "ws", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "conv_dw_13" in result.output and "568,740,352 MACs" in result.output
    table = pd.read_csv(out / "layers.csv")
    assert set(REQUIRED) <= set(table.columns)
    assert list(table.columns[:len(RESULT_COLUMNS)]) == [c for c in RESULT_COLUMNS]
    assert len(table) == 56 and table["macs"].sum() == 568_740_352
    assert (table["unit"] == "array").sum() == 28 and (table["unit"] == "vector").sum() == 1  # avg pool
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["accelsim_version"]
    assert set(manifest["inputs"]) == {"hw", "workload", "dataflow", "energy_table"}
    assert len(manifest["inputs"]["hw"]["sha256"]) == 64
    assert "tpu_v1" in manifest["inputs"]["hw"]["content"]
    assert manifest["totals"]["macs"] == 568_740_352
    assert manifest["totals"]["total_cycles"] == int(table["total_cycles"].sum())


def test_run_default_out_dir_and_timing_override(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["run", "--hw", "scalesim_default", "--workload", "alexnet",
                                  "--dataflow", "os", "--timing", "physical", "--quiet"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "results" / "alexnet__scalesim_default__os" / "layers.csv")
    assert (table["timing"] == "physical").all()
    assert "physical timing" in result.output


def test_run_bad_hw_file_is_user_error(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\narray: {rows: 0, colls: 4}\nprecision: int9\n")
    result = runner.invoke(main, ["run", "--hw", str(bad), "--workload", "alexnet", "--dataflow", "ws",
                                  "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output
    assert "array.rows" in result.output and "did you mean 'cols'" in result.output
    assert "precision" in result.output and str(bad) in result.output
    assert not (tmp_path / "o").exists()


def test_run_unknown_preset_suggests(runner):
    result = runner.invoke(main, ["run", "--hw", "tpu_v2", "--workload", "alexnet", "--dataflow", "ws"])
    assert result.exit_code == 1
    assert "did you mean 'tpu_v1'" in result.output


def test_run_missing_option_is_usage_error(runner):
    result = runner.invoke(main, ["run", "--hw", "tpu_v1"])
    assert result.exit_code == 2


def test_validate(runner, tmp_path):
    good = runner.invoke(main, ["validate", "hw/tpu_v1.yaml", "workloads/alexnet.yaml", "dataflows/ws.yaml"])
    assert good.exit_code == 0, good.output
    assert good.output.count("ok ") == 3
    wl = tmp_path / "workloads" / "w.yaml"
    wl.parent.mkdir()
    wl.write_text("name: w\nlayers:\n  - {name: a, type: conv, C: 3, H: 8, W: 8, M: 4, R: 9, S: 3, groups: 2}\n")
    bad = runner.invoke(main, ["validate", "hw/tpu_v1.yaml", str(wl)])
    assert bad.exit_code == 1
    assert "ok  hw/tpu_v1.yaml" in bad.output
    assert "layers[0].groups" in bad.output and "layers[0].R" in bad.output


def test_list(runner):
    result = runner.invoke(main, ["list"])
    assert result.exit_code == 0
    for name in ("tpu_v1", "scalesim_default", "mobilenet_v1", "alexnet", "ws", "os", "is", "horowitz_45nm"):
        assert name in result.output
    assert "568,740,352 MACs" in result.output
    assert runner.invoke(main, ["list", "dataflows"]).exit_code == 0
    assert runner.invoke(main, ["list", "nope"]).exit_code == 2


@pytest.mark.parametrize("args", [[], ["run"], ["validate"], ["list"], ["import", "scalesim"], ["workload", "stats"], ["cosim"], ["llm"]])
def test_help_everywhere(runner, args):
    result = runner.invoke(main, args + ["--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_run_energy_option_and_manifest(runner, tmp_path):
    out = tmp_path / "e"
    result = runner.invoke(main, ["run", "--hw", "eyeriss_12x14", "--workload", "alexnet", "--dataflow", "ws",
                                  "--energy", "eyeriss_isca2016", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "pJ/MAC" in result.output
    table = pd.read_csv(out / "layers.csv")
    for col in ("energy_pj", "energy_pj_dram_ifmap", "energy_pj_sram_ofmap", "energy_pj_mac"):
        assert col in table
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["options"]["energy_table"] == "eyeriss_isca2016"
    assert "Table IV" in manifest["inputs"]["energy_table"]["content"]
    assert manifest["totals"]["energy_pj"] == pytest.approx(table["energy_pj"].sum())
    bad = runner.invoke(main, ["run", "--hw", "tpu_v1", "--workload", "alexnet", "--dataflow", "ws",
                               "--energy", "horowitz", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "did you mean 'horowitz_45nm'" in bad.output


def test_run_row_stationary_with_the_mapper(runner, tmp_path):
    out = tmp_path / "rs"
    result = runner.invoke(main, ["run", "--hw", "eyeriss", "--workload", "alexnet", "--dataflow", "rs",
                                  "--objective", "energy", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "rows[R11" in result.output          # conv1: all 11 filter rows down the PE rows
    table = pd.read_csv(out / "layers.csv")
    assert table["macs"].sum() == 665_784_864
    assert table["mapper_complete"].all()
    assert {"mapping", "mapper_evaluated", "energy_pj_rf_filter"} <= set(table.columns)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["options"]["objective"] == "energy"


def test_run_dataflow_on_the_wrong_array_is_a_user_error(runner):
    result = runner.invoke(main, ["run", "--hw", "tpu_v1", "--workload", "alexnet", "--dataflow", "rs"])
    assert result.exit_code == 1
    assert "multicast" in result.output and "Traceback" not in result.output


def test_workload_stats_json_and_table(runner):
    result = runner.invoke(main, ["workload", "stats", "mobilenet_v1", "--format", "json"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)["totals"]
    assert (totals["macs"], totals["weights"]) == (568_740_352, 4_209_088)
    table = runner.invoke(main, ["workload", "stats", "resnet50"])
    assert table.exit_code == 0 and "conv1" in table.output
    missing = runner.invoke(main, ["workload", "stats", "no_such_net"])
    assert missing.exit_code == 1 and missing.output.startswith("Error: ")
    assert runner.invoke(main, ["workload", "stats", "alexnet", "--precision", "int9"]).exit_code == 2


def test_cosim_command(runner):
    result = runner.invoke(main, ["cosim", "--hw", "edge_16x16", "--dataflow", "ws", "--gemm", "20x24x18"])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output
    bad = runner.invoke(main, ["cosim", "--hw", "edge_16x16", "--dataflow", "ws", "--gemm", "20x24"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: ")
    big = runner.invoke(main, ["cosim", "--hw", "tpu_v1", "--dataflow", "is"])
    assert big.exit_code == 1 and big.output.startswith("Error: cosim: 256x256 array")


@needs_iverilog
def test_cosim_verilog_replay(runner, tmp_path):
    out = tmp_path / "v"
    result = runner.invoke(main, ["cosim", "--hw", "edge_16x16", "--dataflow", "os", "--gemm", "8x8x8",
                                  "--verilog", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output
    assert (out / "array.v").is_file()


def test_validate_llm_configs_and_energy_tables(runner):
    from accelsim import spec
    files = sorted(str(p) for p in (spec.ROOT / "workloads" / "llm").glob("*.yaml"))
    files += sorted(str(p) for p in (spec.ROOT / "hw" / "energy").glob("*.yaml"))
    result = runner.invoke(main, ["validate", *files])
    assert result.exit_code == 0, result.output
    assert "(llm: llama2_7b)" in result.output and "(energy: horowitz_45nm)" in result.output


def test_llm_command_json_keys(runner):
    result = runner.invoke(main, ["llm", "--model", "gpt2_small", "--hw", "tpu_v1", "--prompt", "64",
                                  "--generate", "16", "--batch", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    for key in ("params", "kv_bytes_per_token", "ttft_s", "tpot_s", "tokens_per_s", "energy_per_token_j"):
        assert key in summary, key
    assert summary["params"] == 124_439_808
    assert summary["context_len"] == 64 + 7
    assert summary["tokens_per_s"] == pytest.approx(2 / summary["tpot_s"])
    assert summary["ttft_s"] > summary["tpot_s"] > 0
    table = runner.invoke(main, ["llm", "--model", "llama2_7b", "--hw", "tpu_v1", "--prompt", "16", "--generate", "4"])
    assert table.exit_code == 0 and "conventions" in table.output
    bad = runner.invoke(main, ["llm", "--model", "llama9", "--hw", "tpu_v1", "--prompt", "8", "--generate", "2"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: ")


def test_list_llm_and_misspelt_model(runner):
    result = runner.invoke(main, ["list", "llm"])
    assert result.exit_code == 0
    assert "llama2_7b" in result.output and "6,738,415,616 parameters" in result.output
    bad = runner.invoke(main, ["llm", "--model", "llama_7b", "--hw", "tpu_v1", "--prompt", "4", "--generate", "2"])
    assert bad.exit_code == 1 and "did you mean 'llama2_7b'" in bad.output


def test_run_refuses_a_non_empty_out_without_force(runner, tmp_path):
    """A second run into the same folder must not replace the first's table (or a sweep's
    manifest) silently; --force overwrites and drops the stale dashboard of the old table."""
    out = tmp_path / "o"
    args = ["run", "--hw", "edge_16x16", "--workload", "alexnet", "--dataflow", "ws", "--quiet", "--out", str(out)]
    assert runner.invoke(main, args).exit_code == 0
    (out / "report.html").write_text("old dashboard")
    before = (out / "layers.csv").read_bytes()
    again = runner.invoke(main, args[:6] + ["os"] + args[7:])
    assert again.exit_code == 1 and "Traceback" not in again.output
    assert str(out) in again.output and "--force" in again.output
    assert (out / "layers.csv").read_bytes() == before and (out / "report.html").exists()
    forced = runner.invoke(main, args[:6] + ["os"] + args[7:] + ["--force"])
    assert forced.exit_code == 0, forced.output
    assert (out / "layers.csv").read_bytes() != before and not (out / "report.html").exists()
    (tmp_path / "file").write_text("x")
    not_dir = runner.invoke(main, args[:-1] + [str(tmp_path / "file")])
    assert not_dir.exit_code in (1, 2) and "Traceback" not in not_dir.output
