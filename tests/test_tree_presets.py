"""The tree presets' headline numbers against the public figures they cite (docs/references.md):
hw/trees/tpu_v4_like.yaml against Google's Cloud TPU v4 page ([jouppi2023]: 275 TFLOP/s bf16 per
chip of two TensorCores, 32 GiB HBM2 at 1200 GBps) and hw/trees/simba_like.yaml against Simba's
published peak ([shao2019]: 4 TOPS per chiplet; 4.01 TOPS for one chip in its VLSI 2019
companion) and buffer sizes. A preset edit that breaks a cited figure fails here."""
from __future__ import annotations

import pytest

from accelsim import spec
from accelsim.spec.arch import load_arch

TREES = spec.ROOT / "hw" / "trees"
KIB_BITS = 8 * 1024


def level(tree, name):
    return next(lv for lv in tree.levels if lv.name == name)


def test_tpu_v4_like_matches_the_cloud_tpu_v4_figures():
    tree = load_arch(TREES / "tpu_v4_like.yaml")
    cores = 2                                              # two TensorCores per chip (cloud.google.com/tpu/docs/v4)
    mxus, mxu = level(tree, "MXUs"), level(tree, "MXU")
    assert (mxus.fanout_x * mxus.fanout_y, mxu.fanout_x, mxu.fanout_y) == (4, 128, 128)
    peak_tflops = cores * tree.num_macs * 2 * tree.clock_mhz * 1e6 / 1e12
    assert peak_tflops == pytest.approx(275, rel=0.002)   # 275.3 at 1050 MHz
    hbm = level(tree, "HBM").bandwidth_bytes_per_cycle * tree.clock_mhz * 1e6 * cores / 1e9
    assert hbm == pytest.approx(1200, rel=0.002)          # 1199.1 GB/s: 571 bytes a cycle per core
    assert level(tree, "VMEM").size_bits == 16 * 1024 * KIB_BITS
    assert level(tree, "CMEM").size_bits == 128 * 1024 * KIB_BITS
    assert tree.compute.precision == "bf16"


def test_simba_like_matches_the_simba_chiplet():
    tree = load_arch(TREES / "simba_like.yaml")
    pes, lanes = level(tree, "PEs"), level(tree, "VectorMACs")
    assert pes.fanout_x * pes.fanout_y == 16 and (lanes.fanout_x, lanes.fanout_y) == (8, 8)
    tops = tree.num_macs * 2 * tree.clock_mhz * 1e6 / 1e12
    assert tops == pytest.approx(4.01, rel=0.025)         # 4.096 at 2.0 GHz; 4.01 implies 1.96 GHz
    # the 36-chiplet package's 127.8 TOPS is 3.55 per chiplet (1.73 GHz): the preset is one chiplet
    # at its own top clock, not a chiplet of the package
    assert 36 * tops > 127.8 * 1.1
    buffers = level(tree, "PEBuffers").size_bits_by_operand
    assert (buffers["filter"], buffers["ifmap"], buffers["ofmap"]) == (32 * KIB_BITS, 8 * KIB_BITS, 3 * KIB_BITS)
    assert level(tree, "PEBuffers").word_bits["ofmap"] == 24
    assert level(tree, "GlobalBuffer").size_bits == 64 * KIB_BITS
