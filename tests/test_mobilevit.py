"""MobileViT (accelsim/llm/mobilevit.py, workloads/mobilevit_s.yaml): exact parameters and MACs.

Independent numbers: the instantiated timm models (XXS at 192, XS at 224, S at 256) have
1,272,024 / 2,317,848 / 5,578,632 parameters and 210,041,600 / 772,340,288 / 2,000,831,488 MACs
with attention QK^T and AV (MobileViT paper, Table 1: 1.3M / 2.3M / 5.6M). MobileViT-S's
transformer and attention MACs are also computed by hand below.
"""
from __future__ import annotations

import pytest
import yaml

import accelsim
from accelsim import spec
from accelsim.llm.mobilevit import CONFIGS, PRESETS, main, mobilevit_params, mobilevit_workload
from accelsim.spec.workload import workload_from_dict


@pytest.mark.parametrize("name,params,macs", [("mobilevit_xxs", 1_272_024, 210_041_600),
                                              ("mobilevit_xs", 2_317_848, 772_340_288),
                                              ("mobilevit_s", 5_578_632, 2_000_831_488)])
def test_params_and_macs_exact(name, params, macs):
    cfg = CONFIGS[name]
    assert mobilevit_params(cfg) == params
    assert workload_from_dict(mobilevit_workload(cfg)).macs == macs


def test_mobilevit_s_transformer_by_hand():
    w = workload_from_dict(mobilevit_workload(CONFIGS["mobilevit_s"]))
    layers = {layer.name: layer for layer in w.layers}
    # layer3 at 32x32: 4 sequences of 256 patches, d = 144, 4 heads of 36
    assert layers["layer3.transformer.0.query"].macs == 1024 * 144 * 144
    assert layers["layer3.transformer.0.scores"].macs == 16 * 256 * 36 * 256
    attention = sum(x.macs for x in w.layers if x.name.endswith((".scores", ".context")))
    # 4 x 2 x N^2 x d per transformer layer: N = 256, 64, 16; d = 144, 192, 240; 2, 4, 3 layers
    assert attention == 4 * 2 * (256 ** 2 * 144 * 2 + 64 ** 2 * 192 * 4 + 16 ** 2 * 240 * 3)
    convs = [x for x in w.layers if x.kind == "conv" and not x.name.endswith((".scores", ".context"))]
    assert sum(x.macs for x in convs) + attention + sum(x.macs for x in w.layers if x.kind == "gemm") == w.macs
    assert layers["layer5.fusion"].C == 2 * 160 and layers["layer5.fusion"].R == 3


def test_xs_resizes_the_odd_map_before_unfolding():
    w = workload_from_dict(mobilevit_workload(CONFIGS["mobilevit_xs"]))
    query = next(x for x in w.layers if x.name == "layer5.transformer.0.query")
    assert query.N == 4 * 16               # 7x7 map resized to 8x8: 4 sequences of 16 patches


def test_committed_workload_is_the_builders(tmp_path):
    for name in PRESETS:
        committed = yaml.safe_load((spec.ROOT / "workloads" / f"{name}.yaml").read_text())
        assert committed == mobilevit_workload(CONFIGS[name]), "refresh with: python -m accelsim.llm.mobilevit"
    main(["--out", str(tmp_path)])
    assert (tmp_path / "mobilevit_s.yaml").read_text() == (spec.ROOT / "workloads" / "mobilevit_s.yaml").read_text()


def test_hybrid_runs_on_the_engine():
    table = accelsim.simulate("tpu_v1", "mobilevit_s", "ws")
    assert int(table["macs"].sum()) == 2_000_831_488
    assert (table["total_cycles"] > 0).all()
