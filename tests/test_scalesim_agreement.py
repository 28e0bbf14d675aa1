"""SCALE-Sim 3.0.0 agreement (every reference case, exact) and the SCALE-Sim importer's unit tests.

The reference cases live in tests/data/scalesim/ (see its README.md). Each one is imported with
accelsim.importers.scalesim and simulated in ``timing: scalesim`` mode; compute cycles and SRAM
access counts must equal SCALE-Sim's own reports exactly, the two percentages to 1e-9 relative.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

import accelsim
from accelsim import AccelsimError
from accelsim.importers import scalesim
from accelsim.spec import load_hardware, load_workload

DATA = Path(__file__).parent / "data" / "scalesim"
CASES = sorted(p.name for p in (DATA / "cases").iterdir() if p.is_dir())


def read_report(path: Path) -> list[dict[str, str]]:
    """Rows of a SCALE-Sim report CSV (trailing comma on every line, spaces after commas)."""
    lines = [[cell.strip() for cell in line.split(",")] for line in path.read_text().splitlines()
             if line.strip()]
    header = [cell for cell in lines[0] if cell]
    return [dict(zip(header, row)) for row in lines[1:]]


# -- agreement with SCALE-Sim ----------------------------------------------------------------------

def test_every_reference_run_has_a_case_folder():
    with open(DATA / "results.csv", newline="") as handle:
        run_ids = sorted(row["run_id"] for row in csv.DictReader(handle))
    assert run_ids == CASES
    assert len(CASES) == 50


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_matches_scalesim_exactly(case, tmp_path):
    folder = DATA / "cases" / case
    hw_path, workload_path, dataflow = scalesim.import_files(folder / "cfg.cfg", folder / "topo.csv", tmp_path)
    table = accelsim.simulate(load_hardware(hw_path), load_workload(workload_path), dataflow)
    compute = read_report(folder / "COMPUTE_REPORT.csv")
    access = read_report(folder / "DETAILED_ACCESS_REPORT.csv")
    assert len(table) == len(compute) == len(access)
    for (_, ours), theirs, counts in zip(table.iterrows(), compute, access):
        stalls = int(theirs["Stall Cycles"])
        if case.startswith("calc"):
            assert stalls == 0  # CALC mode: Total Cycles is the compute time
        assert {
            "compute_cycles": ours.compute_cycles,
            "sram_ifmap_reads": ours.sram_ifmap_reads,
            "sram_filter_reads": ours.sram_filter_reads,
            "sram_ofmap_writes": ours.sram_ofmap_writes,
        } == {
            "compute_cycles": int(theirs["Total Cycles"]) - stalls,
            "sram_ifmap_reads": int(counts["SRAM IFMAP Reads"]),
            "sram_filter_reads": int(counts["SRAM Filter Reads"]),
            "sram_ofmap_writes": int(counts["SRAM OFMAP Writes"]),
        }
        assert math.isclose(ours.mapping_efficiency * 100, float(theirs["Mapping Efficiency %"]), rel_tol=1e-9)
        assert math.isclose(ours.compute_utilization * 100, float(theirs["Compute Util %"]), rel_tol=1e-9)


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_imported_hw_follows_the_config(case):
    folder = DATA / "cases" / case
    imported = scalesim.read_config(folder / "cfg.cfg")
    expected_df = case.rsplit("_", 1)[1]
    rows, cols = (int(x) for x in case.rsplit("_", 2)[1].split("x"))
    hw = imported.hw
    assert imported.dataflow == expected_df
    assert (hw["array"]["rows"], hw["array"]["cols"]) == (rows, cols)
    assert hw["timing"] == "scalesim" and hw["precision"] == "int8"
    bandwidth = hw["dram"]["bandwidth_bytes_per_cycle"]
    if case.startswith("user_bw"):
        assert bandwidth == int(case.split("_")[1][2:])
    else:
        assert bandwidth == "unlimited"


# -- importer: config ------------------------------------------------------------------------------

CFG = """\
[general]
run_name = {run_name}

[architecture_presets]
ArrayHeight:    16
ArrayWidth:     8
IfmapSramSzkB:   64
FilterSramSzkB:  32
OfmapSramSzkB:   16
Bandwidth : {bandwidth}
Dataflow : {dataflow}

[layout]
IfmapSRAMBankBandwidth: 4
FilterSRAMBankBandwidth: 6

[run_presets]
InterfaceBandwidth: {mode}
"""

CONV_TOPO = """\
Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
Conv1,224,224,11,11,3,96,4,
Conv2, 27, 27, 5, 5, 96, 256, 1,
"""

GEMM_TOPO = """\
Layer Name, M, N, K,
G128, 128, 64, 32,
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def cfg(tmp_path, run_name="my run", bandwidth="10", dataflow="os", mode="CALC", name="c.cfg") -> Path:
    return write(tmp_path / name, CFG.format(run_name=run_name, bandwidth=bandwidth,
                                             dataflow=dataflow, mode=mode))


def test_config_calc_mode(tmp_path):
    imported = scalesim.read_config(cfg(tmp_path))
    hw = imported.hw
    assert imported.dataflow == "os"
    assert hw["name"] == "my_run"  # sanitised run_name
    assert hw["array"] == {"rows": 16, "cols": 8, "interconnect": "systolic"}
    assert [hw["sram"][b]["size_kib"] for b in ("ifmap", "filter", "ofmap")] == [64, 32, 16]
    assert hw["sram"]["double_buffered"] is True
    assert hw["dram"]["bandwidth_bytes_per_cycle"] == "unlimited"
    assert (hw["precision"], hw["clock_mhz"], hw["timing"]) == ("int8", 1000, "scalesim")
    assert "c.cfg" in hw["source"] and "imported" in hw["source"]
    assert "no clock" in hw["description"]


def test_config_user_mode_uses_bandwidth_and_explains_the_bank_bandwidths(tmp_path):
    hw = scalesim.hw_from_config(cfg(tmp_path, mode="USER", bandwidth="2"))
    assert hw["dram"]["bandwidth_bytes_per_cycle"] == 2
    assert "IfmapSRAMBankBandwidth" in hw["description"] and "4/6" in hw["description"]
    hw = scalesim.hw_from_config(cfg(tmp_path, mode="USER", bandwidth="8, 4"))
    assert hw["dram"]["bandwidth_bytes_per_cycle"] == 4


def test_config_without_run_presets_is_calc(tmp_path):
    text = CFG.format(run_name="r", bandwidth=10, dataflow="ws", mode="CALC").split("[run_presets]")[0]
    assert scalesim.hw_from_config(write(tmp_path / "c.cfg", text))["dram"]["bandwidth_bytes_per_cycle"] == "unlimited"


def test_config_keys_and_sections_are_case_insensitive_and_both_separators_work(tmp_path):
    text = ("[General]\nRUN_NAME: x\n[Architecture_Presets]\narrayheight = 4\nARRAYWIDTH: 4\n"
            "ifmapsramszkb = 1\nfiltersramszkb = 1\nofmapsramszkb = 1\ndataflow = IS\n")
    imported = scalesim.read_config(write(tmp_path / "c.cfg", text))
    assert imported.dataflow == "is"
    assert imported.hw["array"]["rows"] == 4


def test_config_missing_file(tmp_path):
    with pytest.raises(AccelsimError, match=r"nope\.cfg: file not found"):
        scalesim.hw_from_config(tmp_path / "nope.cfg")


def test_config_missing_section(tmp_path):
    text = CFG.format(run_name="r", bandwidth=10, dataflow="ws", mode="CALC").replace("[general]\nrun_name = r\n", "")
    with pytest.raises(AccelsimError, match=r"c\.cfg: \[general\]: section is missing; add it"):
        scalesim.hw_from_config(write(tmp_path / "c.cfg", text))


def test_config_missing_key(tmp_path):
    text = CFG.format(run_name="r", bandwidth=10, dataflow="ws", mode="CALC").replace("ArrayWidth:     8\n", "")
    with pytest.raises(AccelsimError, match=r"c\.cfg: \[architecture_presets\] ArrayWidth: required key is missing; add a line"):
        scalesim.hw_from_config(write(tmp_path / "c.cfg", text))


def test_config_non_integer_value(tmp_path):
    text = CFG.format(run_name="r", bandwidth=10, dataflow="ws", mode="CALC").replace("ArrayHeight:    16", "ArrayHeight: 16.5")
    with pytest.raises(AccelsimError, match=r"c\.cfg: \[architecture_presets\] ArrayHeight: must be a whole number >= 1 \(got '16\.5'\)"):
        scalesim.hw_from_config(write(tmp_path / "c.cfg", text))


def test_config_unknown_dataflow(tmp_path):
    with pytest.raises(AccelsimError, match=r"c\.cfg: \[architecture_presets\] Dataflow: must be one of ws, os, is \(got 'wss'\) \(did you mean 'ws'\?\)"):
        scalesim.dataflow_from_config(cfg(tmp_path, dataflow="wss"))


def test_config_bad_bandwidth_mode_and_bandwidth(tmp_path):
    with pytest.raises(AccelsimError, match=r"\[run_presets\] InterfaceBandwidth: must be CALC or USER"):
        scalesim.hw_from_config(cfg(tmp_path, mode="FAST"))
    with pytest.raises(AccelsimError, match=r"\[architecture_presets\] Bandwidth: must be a whole number"):
        scalesim.hw_from_config(cfg(tmp_path, mode="USER", bandwidth="lots"))


def test_config_reports_every_problem_at_once(tmp_path):
    text = CFG.format(run_name="r", bandwidth=10, dataflow="xs", mode="CALC").replace("ArrayWidth:     8", "ArrayWidth: 0")
    with pytest.raises(AccelsimError) as info:
        scalesim.hw_from_config(write(tmp_path / "c.cfg", text))
    assert "2 problem(s)" in str(info.value)
    assert "ArrayWidth" in str(info.value) and "Dataflow" in str(info.value)


def test_config_not_an_ini_file(tmp_path):
    with pytest.raises(AccelsimError, match=r"c\.cfg: line 1: text before the first \[section\] header"):
        scalesim.hw_from_config(write(tmp_path / "c.cfg", "ArrayHeight: 3\n"))


# -- importer: topology ----------------------------------------------------------------------------

def test_conv_header_detected_and_rows_become_unpadded_batch1_convs(tmp_path):
    wl = scalesim.workload_from_topology(write(tmp_path / "net.csv", CONV_TOPO))
    assert wl["name"] == "net"
    assert wl["layers"][0] == {"name": "Conv1", "type": "conv", "N": 1, "C": 3, "H": 224, "W": 224,
                               "M": 96, "R": 11, "S": 11, "stride": 4, "padding": 0, "groups": 1}
    assert wl["layers"][1]["C"] == 96 and wl["layers"][1]["stride"] == 1
    assert "net.csv" in wl["source"] and "conv" in wl["source"]


def test_gemm_header_detected(tmp_path):
    wl = scalesim.workload_from_topology(write(tmp_path / "g.csv", GEMM_TOPO))
    assert wl["layers"] == [{"name": "G128", "type": "gemm", "M": 128, "N": 64, "K": 32}]


def test_header_detection():
    assert scalesim.detect_format("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                                  "Channels, Num Filter, Strides,") == "conv"
    assert scalesim.detect_format("Layer,M,N,K,") == "gemm"
    assert scalesim.detect_format("name, a, b, c,") is None


def test_trailing_comma_is_optional(tmp_path):
    with_commas = scalesim.workload_from_topology(write(tmp_path / "a.csv", CONV_TOPO))
    without = scalesim.workload_from_topology(write(tmp_path / "a.csv", CONV_TOPO.replace(",\n", "\n")))
    assert with_commas["layers"] == without["layers"]
    blank_lines = scalesim.workload_from_topology(write(tmp_path / "a.csv", CONV_TOPO.replace("\n", "\n\n")))
    assert blank_lines["layers"] == with_commas["layers"]


def test_dp_layer_is_imported_as_depthwise(tmp_path):
    text = CONV_TOPO.splitlines()[0] + "\nConvDP1,114,114,3,3,32,1,1,\nConvDP2,58,58,3,3,64,64,2,\n"
    wl = scalesim.workload_from_topology(write(tmp_path / "mb.csv", text))
    first, second = wl["layers"]
    assert (first["C"], first["M"], first["groups"]) == (32, 32, 32)
    assert (second["C"], second["M"], second["groups"], second["stride"]) == (64, 64, 64, 2)
    assert "groups = C = M" in wl["description"] and "ConvDP2 (Num Filter 64" in wl["description"]
    workload = load_workload(write(tmp_path / "mb.yaml", scalesim._dump(wl, [])))
    assert all(layer.is_depthwise for layer in workload.layers)


def test_dense_sparsity_column_is_accepted_and_sparse_is_an_error(tmp_path):
    dense = CONV_TOPO.replace("Conv1,224,224,11,11,3,96,4,", "Conv1,224,224,11,11,3,96,4,1:1,")
    assert scalesim.workload_from_topology(write(tmp_path / "t.csv", dense))["layers"][0]["M"] == 96
    sparse = CONV_TOPO.replace("Conv1,224,224,11,11,3,96,4,", "Conv1,224,224,11,11,3,96,4,2:4,")
    with pytest.raises(AccelsimError, match=r"t\.csv: line 2 \(Conv1\), N:M sparsity: asks for 2:4 structured sparsity"):
        scalesim.workload_from_topology(write(tmp_path / "t.csv", sparse))


def test_duplicate_layer_names_are_made_unique(tmp_path):
    text = GEMM_TOPO + "G128, 1, 2, 3,\n"
    wl = scalesim.workload_from_topology(write(tmp_path / "g.csv", text))
    assert [layer["name"] for layer in wl["layers"]] == ["G128", "G128_2"]


def test_topology_missing_file(tmp_path):
    with pytest.raises(AccelsimError, match=r"none\.csv: file not found"):
        scalesim.workload_from_topology(tmp_path / "none.csv")


def test_topology_empty_file_and_header_only(tmp_path):
    with pytest.raises(AccelsimError, match=r"e\.csv: empty file"):
        scalesim.workload_from_topology(write(tmp_path / "e.csv", "\n\n"))
    with pytest.raises(AccelsimError, match=r"h\.csv: no layers after the header line; add one line per layer"):
        scalesim.workload_from_topology(write(tmp_path / "h.csv", GEMM_TOPO.splitlines()[0] + "\n"))


def test_topology_non_integer_field_names_line_and_column(tmp_path):
    text = CONV_TOPO.replace("Conv2, 27, 27, 5, 5, 96,", "Conv2, 27, 27, 5, 5, many,")
    with pytest.raises(AccelsimError, match=r"n\.csv: line 3 \(Conv2\), Channels: must be a whole number >= 1 \(got 'many'\)"):
        scalesim.workload_from_topology(write(tmp_path / "n.csv", text))


def test_topology_reports_every_problem_at_once(tmp_path):
    text = CONV_TOPO.replace("224,224,11", "224,x,11").replace(" 5, 5, 96", " 50, 5, 96")
    with pytest.raises(AccelsimError) as info:
        scalesim.workload_from_topology(write(tmp_path / "n.csv", text))
    message = str(info.value)
    assert "2 problem(s)" in message
    assert "line 2 (Conv1), IFMAP Width" in message
    assert "line 3 (Conv2), Filter Height: 50 is larger than IFMAP Height 27" in message


def test_topology_wrong_number_of_columns(tmp_path):
    with pytest.raises(AccelsimError, match=r"s\.csv: line 2 \(G1\): has 2 value\(s\) after the name, expected 3 \(M, N, K\)"):
        scalesim.workload_from_topology(write(tmp_path / "s.csv", "Layer Name, M, N, K,\nG1, 4, 4,\n"))
    with pytest.raises(AccelsimError, match=r"line 2 \(G1\): has 6 values after the name"):
        scalesim.workload_from_topology(write(tmp_path / "s.csv", "Layer Name, M, N, K,\nG1, 4, 4, 4, 1:1, 7, 7,\n"))


def test_topology_unknown_header_needs_a_format(tmp_path):
    path = write(tmp_path / "u.csv", "name, a, b, c,\nG1, 4, 5, 6,\n")
    with pytest.raises(AccelsimError, match=r"u\.csv: line 1: cannot tell the topology format .* \(--format conv\|gemm\)"):
        scalesim.workload_from_topology(path)
    assert scalesim.workload_from_topology(path, "gemm")["layers"][0] == {"name": "G1", "type": "gemm", "M": 4, "N": 5, "K": 6}


def test_topology_format_disagreeing_with_header(tmp_path):
    with pytest.raises(AccelsimError, match=r"g\.csv: line 1: the header is SCALE-Sim's gemm format but format conv was asked for"):
        scalesim.workload_from_topology(write(tmp_path / "g.csv", GEMM_TOPO), "conv")
    with pytest.raises(AccelsimError, match=r"topology format must be conv or gemm \(got 'mnk'\)"):
        scalesim.workload_from_topology(write(tmp_path / "g.csv", GEMM_TOPO), "mnk")


def test_topology_without_header(tmp_path):
    with pytest.raises(AccelsimError, match=r"x\.csv: line 1: looks like a layer, not a header"):
        scalesim.workload_from_topology(write(tmp_path / "x.csv", "G1, 4, 5, 6,\n"))


# -- importer: files -------------------------------------------------------------------------------

def test_import_files_writes_loadable_yaml(tmp_path):
    out = tmp_path / "out" / "deeper"
    hw_path, workload_path, dataflow = scalesim.import_files(
        cfg(tmp_path, mode="USER", bandwidth="4"), write(tmp_path / "net.csv", CONV_TOPO), out)
    assert (hw_path, workload_path, dataflow) == (out / "my_run.yaml", out / "net.yaml", "os")
    hw = load_hardware(hw_path)
    assert (hw.array_rows, hw.array_cols, hw.dram_bandwidth_bytes_per_cycle, hw.timing) == (16, 8, 4.0, "scalesim")
    assert hw_path.read_text().startswith("# accelsim hw imported from SCALE-Sim config")
    assert "clock_mhz 1000 is a placeholder" in hw_path.read_text()
    assert [layer.name for layer in load_workload(workload_path).layers] == ["Conv1", "Conv2"]
    table = accelsim.simulate(hw_path, workload_path, dataflow)
    assert list(table["layer"]) == ["Conv1", "Conv2"]


def test_import_files_same_names_do_not_collide(tmp_path):
    hw_path, workload_path, _ = scalesim.import_files(
        cfg(tmp_path, run_name="net"), write(tmp_path / "net.csv", GEMM_TOPO), tmp_path / "o", "gemm")
    assert (hw_path.name, workload_path.name) == ("net_hw.yaml", "net.yaml")
    assert load_hardware(hw_path).name == "net_hw"


def test_import_files_bad_input_is_a_user_error(tmp_path):
    with pytest.raises(AccelsimError, match="file not found"):
        scalesim.import_files(tmp_path / "a.cfg", tmp_path / "b.csv", tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_import_cli_refuses_to_replace_files_without_force(tmp_path):
    """`accelsim import scalesim` into a folder that has the files already: refused, unchanged; --force replaces."""
    from click.testing import CliRunner

    from accelsim.cli import main
    args = ["import", "scalesim", "--config", str(cfg(tmp_path, mode="USER", bandwidth="4")),
            "--topology", str(write(tmp_path / "net.csv", CONV_TOPO)), "--out", str(tmp_path / "o")]
    assert CliRunner().invoke(main, args).exit_code == 0
    (tmp_path / "o" / "net.yaml").write_text("edited by hand")
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1, again.output
    assert (f"Error: {tmp_path / 'o' / 'my_run.yaml'}, {tmp_path / 'o' / 'net.yaml'}: exist; add --force to replace "
            "them, or choose another --out") in again.output
    assert (tmp_path / "o" / "net.yaml").read_text() == "edited by hand"
    assert CliRunner().invoke(main, args + ["--force"]).exit_code == 0
    assert load_workload(tmp_path / "o" / "net.yaml").name == "net"
