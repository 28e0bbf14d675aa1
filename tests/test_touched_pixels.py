"""DRAM ifmap reads count the distinct input pixels the windows touch (a stride above the filter
extent skips pixels), in both timings and every engine: the analytical engine, the loop-nest view of
the systolic dataflows and the cycle-level simulator. Checked against SCALE-Sim 3.0.0's own reports
(tests/data/scalesim/strided/README.md), hand counts, and position-by-position enumeration."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from naive import touched_input_words

import accelsim
from accelsim.importers import scalesim
from accelsim.kernels.systolic import touched
from accelsim.spec.hw import hardware_from_dict
from accelsim.spec.workload import workload_from_dict

DATA = Path(__file__).parent / "data" / "scalesim" / "strided"


def scalesim_dram_ifmap_reads(case: str) -> int:
    rows = list(csv.reader((DATA / case / "DETAILED_ACCESS_REPORT.csv").open()))
    header = [c.strip() for c in rows[0]]
    return int(float(rows[1][header.index("DRAM IFMAP Reads")]))


@pytest.mark.parametrize("case,expected", [("t7x1", 512), ("t1x1", 200_704)])
@pytest.mark.parametrize("fidelity", ["analytical", "cycle"])
def test_scalesim_strided_dram_ifmap_reads(case, expected, fidelity):
    assert scalesim_dram_ifmap_reads(case) == expected
    hw = hardware_from_dict(scalesim.hw_from_config(DATA / case / "cfg.cfg"), "cfg.cfg")
    workload = workload_from_dict(scalesim.workload_from_topology(DATA / case / "topo.csv"), "topo.csv")
    table = accelsim.simulate(hw, workload, "ws", timing="scalesim", fidelity=fidelity)
    assert int(table["dram_ifmap_reads"].iloc[0]) == expected


def conv(h, w, r, s, stride, pad, c=3, dilation=1):
    return workload_from_dict({"name": "w", "layers": [{"name": "c", "type": "conv", "C": c, "H": h, "W": w, "M": 8,
                                                        "R": r, "S": s, "stride": stride, "padding": pad,
                                                        "dilation": dilation}]}, "w.yaml")


HW = hardware_from_dict({"name": "big", "array": {"rows": 8, "cols": 8}, "precision": "int8", "clock_mhz": 1000,
                         "sram": {"ifmap": {"size_kib": 1024}, "filter": {"size_kib": 1024},
                                  "ofmap": {"size_kib": 1024}}, "dram": {"bandwidth_bytes_per_cycle": 16}}, "big.yaml")


@pytest.mark.parametrize("timing", ["physical", "scalesim"])
@pytest.mark.parametrize("fidelity", ["analytical", "cycle"])
def test_hand_counted_7x1_stride_2(timing, fidelity):
    """16x16x3 input, 7 rows x 1 column filter, stride 2, no padding. Physical: E = 5 windows of rows
    0..14 -> 15 rows, F = 8 columns 0, 2, .., 14 -> 3 x 15 x 8 = 360. SCALE-Sim: E = 6 (rounded up),
    rows 0..16 clipped to 16, F = 9 with column 16 outside -> 3 x 16 x 8 = 384."""
    wl = conv(16, 16, 7, 1, 2, 0)
    table = accelsim.simulate(HW, wl, "ws", timing=timing, fidelity=fidelity)
    assert int(table["dram_ifmap_reads"].iloc[0]) == (360 if timing == "physical" else 384)


@pytest.mark.parametrize("timing", ["physical", "scalesim"])
def test_padding_is_not_read(timing):
    """A 3x3 stride-1 conv with padding 1 reads the whole 8x8x3 input once (192 words), and in
    SCALE-Sim timing the padded 10x10x3 it is given (300)."""
    table = accelsim.simulate(HW, conv(8, 8, 3, 3, 1, 1), "os", timing=timing)
    assert int(table["dram_ifmap_reads"].iloc[0]) == (192 if timing == "physical" else 300)


def test_touched_equals_enumeration():
    rng = np.random.default_rng(12)
    for _ in range(3000):
        size = int(rng.integers(1, 40))
        taps = int(rng.integers(1, 8))
        stride = int(rng.integers(1, 6))
        dilation = int(rng.integers(1, 4))
        offset = int(rng.integers(0, 5))
        out = int(rng.integers(1, 30))
        expected = len({o * stride + k * dilation - offset for o in range(out) for k in range(taps)}
                       & set(range(size)))
        assert touched(out, taps, stride, dilation, offset, size) == expected, (out, taps, stride, dilation,
                                                                               offset, size)


@pytest.mark.parametrize("h,r,stride,pad,dilation", [(16, 7, 2, 3, 1), (15, 1, 3, 0, 1), (20, 3, 4, 1, 1),
                                                     (17, 3, 2, 2, 2), (9, 2, 5, 0, 1)])
@pytest.mark.parametrize("timing", ["physical", "scalesim"])
def test_engine_equals_enumeration(h, r, stride, pad, dilation, timing):
    wl = conv(h, h + 1, r, 1, stride, pad, dilation=dilation)
    layer = wl.layers[0]
    table = accelsim.simulate(HW, wl, "ws", timing=timing)
    e, f = int(table["E"].iloc[0]), int(table["F"].iloc[0])
    assert int(table["dram_ifmap_reads"].iloc[0]) == min(touched_input_words(layer, e, f, timing == "scalesim"),
                                                         int(table["gemm_p"].iloc[0] * table["gemm_k"].iloc[0]))
