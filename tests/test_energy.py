"""Energy: action counts x per-action energy (accelsim/energy.py), tables in hw/energy/."""
import math

import pytest
import yaml

import accelsim
from accelsim import spec
from accelsim.energy import energy_columns, sram_access_pj
from accelsim.errors import AccelsimError, SpecError
from accelsim.spec.energy import energy_table_from_dict
from accelsim.spec.hw import Hardware, SramBuffer
from accelsim.spec.workload import Layer, Workload

UNIT = {  # every action costs 1 pJ per 8-bit access: energy per level = action count
    "name": "unit", "mac_pj": {"int8": 1},
    "rf": {"bits": 8, "ifmap": {"read_pj": 1, "write_pj": 1}, "filter": {"read_pj": 1, "write_pj": 1},
           "ofmap": {"read_pj": 1, "write_pj": 1}},
    "noc": {"bits": 8, "transfer_pj": 1},
    "sram": {"bits": 8, "points": [{"size_kib": 1, "read_pj": 1, "write_pj": 1}]},
    "dram": {"bits": 8, "read_pj": 1, "write_pj": 1},
}


def tiny_hw(sram_bytes=1 << 20, bandwidth=math.inf):
    buf = SramBuffer(sram_bytes)
    return Hardware(name="t", array_rows=2, array_cols=2, interconnect="systolic", precision="int8",
                    clock_mhz=1000.0, sram_ifmap=buf, sram_filter=buf, sram_ofmap=buf, double_buffered=True,
                    dram_bandwidth_bytes_per_cycle=bandwidth)


def gemm(m, n, k):
    return Workload(name="g", layers=(Layer(name="g", kind="gemm", N=m, C=k, H=1, W=1, M=n, R=1, S=1),))


def test_hand_computed_ws_gemm_with_unit_table():
    # GEMM M=4 (pixels), N=4 (filters), K=4 on a 2x2 WS array: rows take K (2 folds), cols take
    # the filters (2 folds), P=4 streams. MACs 64.
    # SRAM: ifmap reads P*K*col_folds = 32, filter reads K*M = 16, ofmap writes P*M*row_folds = 32,
    # psum reads P*M*(row_folds-1) = 16. DRAM (everything fits): ifmap 16, filter 16, ofmap 16.
    # RF (filter stationary): writes 16 (one per loaded weight), reads 64 (one per MAC).
    # NoC: ifmap 64 - 32 = 32 hops; psums 64 - 32 = 32 hops.
    # SRAM energy: ifmap 32 reads + 16 fills = 48; filter 16 + 16 = 32;
    # ofmap 32 writes + 16 psum reads + 16 drained to DRAM = 64. DRAM: 16 + 16 + 16 = 48.
    table = energy_table_from_dict(UNIT, "unit.yaml")
    row = accelsim.simulate(tiny_hw(), gemm(4, 4, 4), "ws", energy_table=table).iloc[0]
    expected = {
        "energy_pj_mac": 64, "energy_pj_rf_ifmap": 0, "energy_pj_rf_filter": 80, "energy_pj_rf_ofmap": 0,
        "energy_pj_noc_ifmap": 32, "energy_pj_noc_filter": 0, "energy_pj_noc_ofmap": 32,
        "energy_pj_sram_ifmap": 48, "energy_pj_sram_filter": 32, "energy_pj_sram_ofmap": 64,
        "energy_pj_dram_ifmap": 16, "energy_pj_dram_filter": 16, "energy_pj_dram_ofmap": 16,
    }
    for col, value in expected.items():
        assert row[col] == value, col
    assert row["energy_pj"] == sum(expected.values()) == 400
    assert row["energy_pj_per_mac"] == 400 / 64


def test_output_stationary_accumulator_and_two_moving_inputs():
    table = energy_table_from_dict(UNIT, "unit.yaml")
    row = accelsim.simulate(tiny_hw(), gemm(4, 4, 4), "os", energy_table=table).iloc[0]
    # OS: accumulator read + write per MAC; ifmap reads P*K*col_folds = 32 -> 32 hops; filter
    # reads K*M*row_folds = 32 -> 32 hops; the ofmap does not move.
    assert (row["rf_ofmap_reads"], row["rf_ofmap_writes"]) == (64, 64)
    assert (row["noc_ifmap_transfers"], row["noc_filter_transfers"], row["noc_ofmap_transfers"]) == (32, 32, 0)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_action_count_identities(dataflow):
    table = spec.load("energy", "horowitz_45nm")
    frame = accelsim.simulate("scalesim_default", "alexnet", dataflow, timing="physical", energy_table=table)
    stationary = spec.load("dataflows", dataflow).stationary
    edge = {"ifmap": "sram_ifmap_reads", "filter": "sram_filter_reads", "ofmap": "sram_ofmap_writes"}
    for op, col in edge.items():
        if op == stationary:
            assert (frame[f"rf_{op}_reads"] == frame["macs"]).all()
        else:
            assert (frame[f"noc_{op}_transfers"] + frame[col] == frame["macs"]).all()
    parts = energy_columns()[:-2]
    assert (frame[parts].sum(axis=1) - frame["energy_pj"]).abs().max() < 1e-6 * frame["energy_pj"].max()
    assert (frame[parts] >= 0).all().all()


def test_eyeriss_table_keeps_table_iv_ratios():
    # Chen et al. ISCA 2016 Table IV: RF 1, PE-to-PE 2, global buffer 6, DRAM 200 x one MAC
    t = spec.load("energy", "eyeriss_isca2016")
    mac = t.mac_pj["int16"]
    read, _ = sram_access_pj(t, 108)
    ratios = (t.rf["ifmap"].read_pj / mac, t.noc_transfer_pj / mac, read / mac, t.dram.read_pj / mac)
    assert ratios == pytest.approx((1, 2, 6, 200))
    assert mac == pytest.approx(0.207692)


def test_horowitz_sram_by_size():
    t = spec.load("energy", "horowitz_45nm")
    assert sram_access_pj(t, 8)[0] == pytest.approx(10)      # 8 KB: 10 pJ per 64b
    assert sram_access_pj(t, 32)[0] == pytest.approx(20)     # 32 KB: 20 pJ
    assert sram_access_pj(t, 1024)[0] == pytest.approx(100)  # 1 MB: 100 pJ
    assert sram_access_pj(t, 16)[0] == pytest.approx(math.sqrt(10 * 20))   # log-log midpoint
    assert sram_access_pj(t, 4)[0] == pytest.approx(10) and sram_access_pj(t, 4096)[0] == pytest.approx(100)
    assert t.mac_pj["int8"] == pytest.approx(0.3) and t.mac_pj["fp32"] == pytest.approx(4.6)


def test_dram_energy_scales_with_word_size():
    # 64 int8 words over a 64-bit-access DRAM cost 8 accesses' worth: 8 x 1950 pJ
    t = spec.load("energy", "horowitz_45nm")
    row = accelsim.simulate(tiny_hw(), gemm(8, 1, 8), "ws", energy_table=t).iloc[0]
    assert row["dram_ifmap_reads"] == 64
    assert row["energy_pj_dram_ifmap"] == pytest.approx(64 * 1950 / 8)


def test_every_energy_table_loads_and_covers_the_presets():
    for name in spec.builtin_names("energy"):
        table = spec.load("energy", name)
        assert table.mac_pj and table.sram_points
    for name in spec.builtin_names("hw"):
        hw = spec.load("hw", name)
        table = spec.energy_table_for(hw)
        assert hw.precision in table.mac_pj


def test_missing_precision_names_table_and_key():
    t = energy_table_from_dict(dict(UNIT, mac_pj={"int16": 1}), "mine.yaml")
    with pytest.raises(AccelsimError, match=r"mine.yaml: mac_pj.int8: no MAC energy for int8"):
        accelsim.simulate(tiny_hw(), gemm(2, 2, 2), "ws", energy_table=t)


def test_unknown_energy_table_suggests():
    with pytest.raises(AccelsimError, match="did you mean 'horowitz_45nm'"):
        accelsim.simulate("tpu_v1", "alexnet", "ws", energy_table="horowitz_45")


def test_hw_energy_table_relative_to_hw_file(tmp_path):
    (tmp_path / "my_table.yaml").write_text(yaml.safe_dump(UNIT))
    hw = yaml.safe_load((spec.ROOT / "hw" / "edge_16x16.yaml").read_text())
    hw["energy_table"] = "my_table.yaml"
    (tmp_path / "edge.yaml").write_text(yaml.safe_dump(hw))
    frame = accelsim.simulate(tmp_path / "edge.yaml", "alexnet", "ws")
    assert (frame["energy_pj_mac"] == frame["macs"]).all()


def test_energy_table_validation_reports_everything():
    bad = yaml.safe_load(yaml.safe_dump(UNIT))
    bad["mac_pj"] = {"int9": 1}
    bad["rf"]["filter"] = {"read_pj": -1, "write_pj": 1}
    bad["sram"]["points"] = [{"size_kib": 32, "read_pj": 1, "write_pj": 1},
                             {"size_kib": 8, "read_pj": 1, "write_pj": 1}]
    del bad["dram"]["bits"]
    bad["colour"] = "red"
    with pytest.raises(SpecError) as err:
        energy_table_from_dict(bad, "e.yaml")
    text = str(err.value)
    for needle in ("e.yaml: mac_pj.int9: unknown key (did you mean 'int8'?)", "rf.filter.read_pj: must be >= 0",
                   "sram.points: sizes must be distinct and in ascending order", "dram.bits: required key is missing",
                   "colour: unknown key"):
        assert needle in text, needle


@pytest.mark.parametrize("path,value", [("noc.transfer_pj", -1), ("dram.read_pj", -2), ("mac_pj.int8", -0.5)])
def test_negative_energies_are_rejected(path, value):
    bad = yaml.safe_load(yaml.safe_dump(UNIT))
    section, key = path.split(".")
    bad[section][key] = value
    with pytest.raises(SpecError, match=rf"e.yaml: {path}: must be >= 0"):
        energy_table_from_dict(bad, "e.yaml")


def test_negative_sram_point_is_rejected():
    bad = yaml.safe_load(yaml.safe_dump(UNIT))
    bad["sram"]["points"][0]["write_pj"] = -3
    with pytest.raises(SpecError, match=r"sram.points\[0\].write_pj: must be >= 0"):
        energy_table_from_dict(bad, "e.yaml")
