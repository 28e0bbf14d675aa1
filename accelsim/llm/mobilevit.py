"""MobileViT (Mehta and Rastegari, ICLR 2022): a hybrid of MobileNetV2 convolutions and transformers.

:func:`mobilevit_workload` expands a :class:`MobileViTConfig` into an accelsim workload: the conv
layers of the workload library (stem, inverted residuals with depthwise 3x3, the MobileViT block's
local 3x3 / 1x1 convs, projection and fusion) and the transformer's GEMMs, with the attention
products as grouped GEMMs (one group per patch position and head). :func:`mobilevit_params`
counts every parameter (conv weights, BatchNorm scale and shift, LayerNorms, linear weights and
biases), as ``sum(p.numel())`` over the model does.

Architecture (Mehta and Rastegari 2022, Sec. 3.1, Fig. 1b, Table 4; Hugging Face
``MobileViTModel`` / timm ``mobilevit_*``): stem 3x3/2 conv; layer1 one MV2 block; layer2 three MV2
blocks (the first stride 2); layers 3-5 an MV2 block of stride 2 then a MobileViT block: 3x3 conv,
1x1 conv to the transformer width ``d``, (resize up to a multiple of the patch size,) unfold
into ``p x p = 4`` interleaved sequences of ``H W / 4`` patches, ``L`` transformer layers (pre-norm, ``d -> 2d -> d`` SiLU MLP), LayerNorm,
fold, 1x1 projection back, concatenation with the block input and a 3x3 fusion conv; a final 1x1
conv to ``4 x`` the last width, global pooling and the classifier. Convs have no bias and are
followed by BatchNorm; an MV2 block expands by ``expand_ratio`` (rounded to a multiple of 8).

Checks (tests/test_mobilevit.py): XXS at 192x192, XS at 224, S at 256 have 1,272,024 / 2,317,848 /
5,578,632 parameters and 210,041,600 / 772,340,288 / 2,000,831,488 MACs (attention QK^T and AV
included), the totals of the instantiated timm models (paper, Table 1: 1.3M, 2.3M, 5.6M).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import yaml

PATCH = 2   # patch height and width (paper: h = w = 2)


@dataclass(frozen=True)
class MobileViTConfig:
    """Widths as in the Hugging Face config (``neck_hidden_sizes``, ``hidden_sizes``)."""

    name: str
    image_size: int
    channels: tuple          # stem, layer1..layer5 outputs, final 1x1 conv (7 entries)
    hidden_sizes: tuple      # transformer width d of layers 3-5
    transformer_layers: tuple = (2, 4, 3)
    expand_ratio: float = 4.0
    mlp_ratio: float = 2.0
    num_heads: int = 4
    num_labels: int = 1000


#: Mehta and Rastegari 2022, Table 4 / HF apple/mobilevit-* config.json, at the paper's input sizes.
CONFIGS = {
    "mobilevit_xxs": MobileViTConfig("mobilevit_xxs", 192, (16, 16, 24, 48, 64, 80, 320), (64, 80, 96),
                                     expand_ratio=2.0),
    "mobilevit_xs": MobileViTConfig("mobilevit_xs", 224, (16, 32, 48, 64, 80, 96, 384), (96, 120, 144)),
    "mobilevit_s": MobileViTConfig("mobilevit_s", 256, (16, 32, 64, 96, 128, 160, 640), (144, 192, 240)),
}


def _divisible(value: float, divisor: int = 8) -> int:
    """MobileNetV2's channel rounding (Sandler et al. 2018; torchvision ``_make_divisible``)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


class _Net:
    def __init__(self):
        self.layers: list[dict] = []
        self.params = 0

    def conv(self, name, c, h, m, k=1, stride=1, groups=1, bn=True) -> int:
        """A bias-free conv (+ BatchNorm); returns the output size."""
        self.layers.append({"name": name, "type": "conv", "C": c, "H": h, "W": h, "M": m, "R": k, "S": k,
                            "stride": stride, "padding": (k - 1) // 2, "groups": groups})
        self.params += m * (c // groups) * k * k + (2 * m if bn else 0)
        return (h + 2 * ((k - 1) // 2) - k) // stride + 1

    def linear(self, name, rows, k, n, bias=True) -> None:
        self.layers.append({"name": name, "type": "gemm", "M": rows, "N": n, "K": k})
        self.params += k * n + (n if bias else 0)

    def batched(self, name, rows, k, cols, groups) -> None:
        """``groups`` activation-by-activation products ``[rows x k] @ [k x cols]`` (no parameters)."""
        self.layers.append({"name": name, "type": "conv", "C": groups * k, "H": rows, "W": 1, "M": groups * cols,
                            "R": 1, "S": 1, "groups": groups})

    def mv2(self, name, c, h, m, stride, ratio) -> int:
        hidden = _divisible(round(c * ratio))
        self.conv(f"{name}.expand_1x1", c, h, hidden)
        h = self.conv(f"{name}.conv_3x3_dw", hidden, h, hidden, 3, stride, groups=hidden)
        self.conv(f"{name}.reduce_1x1", hidden, h, m)
        return h


def _build(cfg: MobileViTConfig) -> _Net:
    net = _Net()
    ch = cfg.channels
    h = net.conv("stem", 3, cfg.image_size, ch[0], 3, 2)
    h = net.mv2("layer1.0", ch[0], h, ch[1], 1, cfg.expand_ratio)
    h = net.mv2("layer2.0", ch[1], h, ch[2], 2, cfg.expand_ratio)
    for i in (1, 2):
        h = net.mv2(f"layer2.{i}", ch[2], h, ch[2], 1, cfg.expand_ratio)
    for stage, (d, depth) in enumerate(zip(cfg.hidden_sizes, cfg.transformer_layers), start=3):
        c_in, c = ch[stage - 1], ch[stage]
        p = f"layer{stage}"
        h = net.mv2(f"{p}.downsample", c_in, h, c, 2, cfg.expand_ratio)
        net.conv(f"{p}.conv_kxk", c, h, c, 3)
        net.conv(f"{p}.conv_1x1", c, h, d, bn=False)
        # a map whose side is not a multiple of the patch is resized up to one before unfolding
        # (HF MobileViTLayer.unfolding: bilinear interpolation; XS at 224 has 7x7 -> 8x8 in layer5)
        patches = (-(-h // PATCH)) ** 2        # tokens per sequence
        sequences = PATCH * PATCH              # one sequence per position inside a patch
        tokens = sequences * patches
        ff, head_dim = int(d * cfg.mlp_ratio), d // cfg.num_heads
        for j in range(depth):
            t = f"{p}.transformer.{j}"
            net.params += 2 * d                                   # layernorm_before
            for proj in ("query", "key", "value"):
                net.linear(f"{t}.{proj}", tokens, d, d)
            net.batched(f"{t}.scores", patches, head_dim, patches, sequences * cfg.num_heads)
            net.batched(f"{t}.context", patches, patches, head_dim, sequences * cfg.num_heads)
            net.linear(f"{t}.output", tokens, d, d)
            net.params += 2 * d                                   # layernorm_after
            net.linear(f"{t}.ffn_1", tokens, d, ff)
            net.linear(f"{t}.ffn_2", tokens, ff, d)
        net.params += 2 * d                                       # final LayerNorm of the block
        net.conv(f"{p}.conv_projection", d, h, c)
        net.conv(f"{p}.fusion", 2 * c, h, c, 3)
    net.conv("conv_1x1_exp", ch[5], h, ch[6])
    net.linear("classifier", 1, ch[6], cfg.num_labels)
    return net


def mobilevit_params(cfg: MobileViTConfig) -> int:
    """Every parameter: conv weights, BatchNorm (2 per channel), LayerNorms, linear weights and biases."""
    return _build(cfg).params


def mobilevit_workload(cfg: MobileViTConfig) -> dict:
    """The workload (``workloads/*.yaml`` format, a dict): convs, transformer GEMMs and the
    attention products as grouped 1x1 convs over ``patches`` rows (their filter operand is the
    keys or values, activations, so it shows in the workload's ``weights`` column)."""
    net = _build(cfg)
    return {"name": cfg.name,
            "description": f"MobileViT-{cfg.name.split('_')[1].upper()} at {cfg.image_size}x{cfg.image_size}: "
                           "MV2 convs + transformer GEMMs + attention as grouped products; generated by "
                           "accelsim/llm/mobilevit.py",
            "source": "Mehta and Rastegari, MobileViT, ICLR 2022 (Sec. 3.1, Table 4); HF apple/mobilevit-* config.json",
            "batch": 1, "layers": net.layers}


#: The configs shipped as workload files (the others are checked through the builder only).
PRESETS = ("mobilevit_s",)


def main(argv=None) -> None:
    """Write ``workloads/<name>.yaml`` for :data:`PRESETS` (the explicit refresh of the golden file)."""
    parser = argparse.ArgumentParser(description="Write the MobileViT workload files.")
    parser.add_argument("--out", default="workloads", help="folder (default: workloads)")
    args = parser.parse_args(argv)
    for cfg in (CONFIGS[name] for name in PRESETS):
        path = Path(args.out) / f"{cfg.name}.yaml"
        header = ("# yaml-language-server: $schema=../schemas/workloads.json\n"
                  f"# Generated by `python -m accelsim.llm.mobilevit` from its config (do not edit by hand).\n"
                  f"# {mobilevit_params(cfg):,} parameters (incl. BatchNorm, LayerNorm, biases); MACs in workloads/README.md.\n")
        path.write_text(header + yaml.safe_dump(mobilevit_workload(cfg), sort_keys=False, width=200,
                                                   default_flow_style=None))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
