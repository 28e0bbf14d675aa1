"""Exact counts against published tables (sources in docs/references.md)."""
import pytest

from accelsim import spec


def test_mobilenet_v1_totals_match_howard_2017_table1():
    wl = spec.load("workloads", "mobilenet_v1")
    assert wl.macs == 568_740_352
    assert wl.weights == 4_209_088
    assert sum(l.is_mac for l in wl.layers) == 28
    assert len(wl.layers) == 56  # + a BN after each of the 27 convs and the avg pool


def test_mobilenet_v1_breakdown():
    wl = spec.load("workloads", "mobilenet_v1")
    pw = sum(l.macs for l in wl.layers if l.kind == "conv" and l.R == 1)
    dw = sum(l.macs for l in wl.layers if l.is_depthwise)
    first = wl.layers[0].macs
    fc = sum(l.macs for l in wl.layers if l.kind == "gemm")
    assert (pw, dw, first, fc) == (539_492_352, 17_385_984, 10_838_016, 1_024_000)


ALEXNET = [  # Chen et al. JSSC 2017 / Sze et al. 2017 (MACs computed from the Eyeriss table's shapes)
    ("conv1", 55, 105_415_200, 34_848),
    ("conv2", 27, 223_948_800, 307_200),
    ("conv3", 13, 149_520_384, 884_736),
    ("conv4", 13, 112_140_288, 663_552),
    ("conv5", 13, 74_760_192, 442_368),
]


@pytest.mark.parametrize("name,e,macs,weights", ALEXNET)
def test_alexnet_layers(name, e, macs, weights):
    layer = {l.name: l for l in spec.load("workloads", "alexnet").layers}[name]
    assert (layer.E, layer.F, layer.macs, layer.weights) == (e, e, macs, weights)


def test_alexnet_totals():
    assert spec.load("workloads", "alexnet").macs == 665_784_864
    assert spec.load("workloads", "alexnet").weights == 2_332_704
    assert spec.load("workloads", "alexnet_full").macs == 724_406_816


def test_lecture_examples():
    layers = {l.name: l.macs for l in spec.load("workloads", "lecture_examples").layers}
    values = sorted(layers.values())
    for expected in (112_896_000, 1_505_280, 3_763_200, 25_690_112, 346_816_512, 481_689_600):
        assert expected in values
