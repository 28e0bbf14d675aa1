"""Exact totals for the model zoo in workloads/ (batch 1), re-derived independently of the YAML files.

Each network is rebuilt here from its paper's table as a list of (output side E, C/G, M, R) conv
terms plus FC (K, N) terms, a different code path from the hand-checked YAML layer list; the two must
agree exactly. A second, independent check derives the weight totals from the published parameter
counts (torchvision / the papers) minus the biases and BN affine parameters, and the MAC totals are
compared with the published rounded figures within their rounding.
Convention (workloads/README.md): MACs = conv + FC multiply-accumulates; weights = conv + FC weight
tensors only; biases, BN, pooling, residual adds and concatenation are not counted (they are layers
without MACs; BN parameters and biases are counted in ``params``, tested at the end).
"""
import pytest

from accelsim import spec


def _totals(convs, fcs=()):
    """Sum (E, C_per_group, M, R) conv terms and (K, N) FC terms -> (MACs, weights)."""
    macs = sum(e * e * c * m * r * r for e, c, m, r in convs) + sum(k * n for k, n in fcs)
    weights = sum(c * m * r * r for _, c, m, r in convs) + sum(k * n for k, n in fcs)
    return macs, weights


def vgg16():
    convs, c = [], 3
    for e, widths in ((224, [64, 64]), (112, [128, 128]), (56, [256] * 3), (28, [512] * 3), (14, [512] * 3)):
        for m in widths:
            convs.append((e, c, m, 3))
            c = m
    return convs, [(25088, 4096), (4096, 4096), (4096, 1000)]


def resnet(depth, v15=True):
    """torchvision ResNet; v15=False moves the stride to the first 1x1 of a bottleneck (paper v1)."""
    convs, c, e = [(112, 3, 64, 7)], 64, 56
    blocks = {18: [2, 2, 2, 2], 50: [3, 4, 6, 3]}[depth]
    for stage, (n, w) in enumerate(zip(blocks, (64, 128, 256, 512))):
        for b in range(n):
            eo = e // 2 if (b == 0 and stage > 0) else e
            if depth == 18:
                convs += [(eo, c, w, 3), (eo, w, w, 3)]
                out = w
            else:
                first = eo if (b == 0 and not v15) else e
                mid = eo
                convs += [(first, c, w, 1), (mid, w, w, 3), (eo, w, 4 * w, 1)]
                out = 4 * w
            if b == 0 and (eo != e or c != out):
                convs.append((eo, c, out, 1))
            c, e = out, eo
    return convs, [(c, 1000)]


def mobilenet_v2():
    convs, c, e = [(112, 3, 32, 3)], 32, 112
    for t, out, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                         (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            eo = e // s if i == 0 else e
            h = c * t
            if t > 1:
                convs.append((e, c, h, 1))
            convs += [(eo, 1, h, 3), (eo, h, out, 1)]  # depthwise: C/G = 1
            c, e = out, eo
    convs.append((7, 320, 1280, 1))
    return convs, [(1280, 1000)]


def squeezenet(version):
    # (spatial side, squeeze, expand) per fire module; sides from torchvision's ceil-mode pools
    if version == "1_0":
        first = (109, 3, 96, 7)
        fires = [(54, 16, 64), (54, 16, 64), (54, 32, 128), (27, 32, 128), (27, 48, 192), (27, 48, 192),
                 (27, 64, 256), (13, 64, 256)]
    else:
        first = (111, 3, 64, 3)
        fires = [(55, 16, 64), (55, 16, 64), (27, 32, 128), (27, 32, 128), (13, 48, 192), (13, 48, 192),
                 (13, 64, 256), (13, 64, 256)]
    convs, c = [first], first[2]
    for e, s, x in fires:
        convs += [(e, c, s, 1), (e, s, x, 1), (e, s, x, 3)]
        c = 2 * x
    convs.append((13, 512, 1000, 1))
    return convs, []


GOOGLENET_TABLE1 = [  # Szegedy et al. 2015 Table 1: side, #1x1, #3x3red, #3x3, #5x5red, #5x5, pool proj
    ("3a", 28, 64, 96, 128, 16, 32, 32), ("3b", 28, 128, 128, 192, 32, 96, 64),
    ("4a", 14, 192, 96, 208, 16, 48, 64), ("4b", 14, 160, 112, 224, 24, 64, 64),
    ("4c", 14, 128, 128, 256, 24, 64, 64), ("4d", 14, 112, 144, 288, 32, 64, 64),
    ("4e", 14, 256, 160, 320, 32, 128, 128), ("5a", 7, 256, 160, 320, 32, 128, 128),
    ("5b", 7, 384, 192, 384, 48, 128, 128)]


def _inception(c, e, n1, r3, n3, r5, n5, pp):
    return [(e, c, n1, 1), (e, c, r3, 1), (e, r3, n3, 3), (e, c, r5, 1), (e, r5, n5, 5), (e, c, pp, 1)]


def googlenet_rows():
    """Table 1 rows -> conv terms, keyed like the table (conv1, conv2, inception names, linear)."""
    rows, c = {"conv1": [(112, 3, 64, 7)], "conv2": [(56, 64, 64, 1), (56, 64, 192, 3)]}, 192
    for name, e, *widths in GOOGLENET_TABLE1:
        rows[name] = _inception(c, e, *widths)
        c = widths[0] + widths[2] + widths[4] + widths[5]
    return rows, c


def googlenet():
    rows, c = googlenet_rows()
    return [t for terms in rows.values() for t in terms], [(c, 1000)]


def shufflenet_v1_g3():
    """Zhang et al. 2018 Table 1 (g = 3, 1x) with Fig. 2 units; terms carry C/G for grouped convs."""
    g, convs, c, e = 3, [(112, 3, 24, 3)], 24, 56
    for out, n in ((240, 4), (480, 8), (960, 4)):
        mid = out // 4
        for i in range(n):
            eo = e // 2 if i == 0 else e
            branch = out - c if i == 0 else out  # stride-2 units concatenate the pooled input
            g1 = 1 if c == 24 else g
            convs += [(e, c // g1, mid, 1), (eo, 1, mid, 3), (eo, mid // g, branch, 1)]
            c, e = out, eo
    return convs, [(960, 1000)]


ZOO = {  # name: (derivation, exact MACs, exact weights, number of MAC layers)
    "vgg16": (vgg16, 15_470_264_320, 138_344_128, 16),
    "resnet18": (lambda: resnet(18), 1_814_073_344, 11_678_912, 21),
    "resnet50": (lambda: resnet(50), 4_089_184_256, 25_502_912, 54),
    "mobilenet_v2": (mobilenet_v2, 300_774_272, 3_469_760, 53),
    "squeezenet1_0": (lambda: squeezenet("1_0"), 818_924_576, 1_244_448, 26),
    "squeezenet1_1": (lambda: squeezenet("1_1"), 349_151_936, 1_231_552, 26),
    "googlenet": (googlenet, 1_582_671_872, 6_990_272, 58),
    "shufflenet_v1_g3": (shufflenet_v1_g3, 137_460_672, 1_840_248, 50),
}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_yaml_totals_are_exact(name):
    _, macs, weights, n_layers = ZOO[name]
    wl = spec.load("workloads", name)
    assert (wl.macs, wl.weights, sum(l.is_mac for l in wl.layers)) == (macs, weights, n_layers)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_independent_derivation_agrees(name):
    derive, macs, weights, n_layers = ZOO[name]
    convs, fcs = derive()
    assert _totals(convs, fcs) == (macs, weights)
    assert len(convs) + len(fcs) == n_layers


@pytest.mark.parametrize("name", sorted(ZOO))
def test_layers_have_square_outputs_from_a_224_input(name):
    wl = spec.load("workloads", name)
    for layer in wl.layers:
        assert layer.E >= 1 and layer.E == layer.F
    assert wl.layers[-1].kind == "gemm" or name.startswith("squeezenet")
    assert wl.layers[0].H == 224


# --- weights from published parameter counts (biases and BN affine parameters removed) -----------

def _bn_channels(convs):
    return sum(m for _, _, m, _ in convs)


@pytest.mark.parametrize("name,params,fc_bias", [
    ("resnet18", 11_689_512, 1000),      # torchvision resnet18: one BN after every conv
    ("resnet50", 25_557_032, 1000),      # torchvision resnet50
    ("mobilenet_v2", 3_504_872, 1000),   # torchvision mobilenet_v2
])
def test_weights_equal_torchvision_params_minus_bn_and_fc_bias(name, params, fc_bias):
    convs, _ = ZOO[name][0]()
    bn_affine = 2 * _bn_channels(convs)  # gamma and beta per output channel of every conv
    assert params - bn_affine - fc_bias == ZOO[name][2]


@pytest.mark.parametrize("name,params", [
    ("vgg16", 138_357_544),          # torchvision vgg16 = Simonyan & Zisserman's 138M, with biases
    ("squeezenet1_0", 1_248_424),    # Iandola et al. Table 1 / torchvision squeezenet1_0
    ("squeezenet1_1", 1_235_496),    # torchvision squeezenet1_1
])
def test_weights_equal_published_params_minus_biases(name, params):
    convs, fcs = ZOO[name][0]()
    biases = sum(m for _, _, m, _ in convs) + sum(n for _, n in fcs)
    assert params - biases == ZOO[name][2]


# --- published rounded figures -------------------------------------------------------------------

@pytest.mark.parametrize("name,macs_g,digits,weights_m,wdigits", [
    ("vgg16", 15.5, 1, 138, 0),            # 15.5 GMACs (conv + FC), Table 2: 138M params
    ("resnet18", 1.8, 1, 11.7, 1),         # He et al. Table 1: 1.8e9 FLOPs (multiply-adds)
    ("resnet50", 4.09, 2, 25.5, 1),        # v1.5; the paper's 3.8e9 is v1 (see test below)
    ("mobilenet_v2", 0.30, 2, 3.47, 2),    # Sandler et al. Table 4: 300M MAdds, 3.4M (3.47M) params
    ("squeezenet1_0", 0.82, 2, 1.2, 1),    # torchvision 0.82 GFLOPS (= MACs); paper 1.2M params
    ("squeezenet1_1", 0.35, 2, 1.2, 1),    # torchvision 0.35 GFLOPS (= MACs)
    ("googlenet", 1.6, 1, 7.0, 1),         # exact; Table 1 prints 1.5G / 6.8M (see googlenet tests)
    ("shufflenet_v1_g3", 0.14, 2, 1.8, 1), # Table 2: 140 MFLOPs (Table 1: 137M, test below)
])
def test_published_rounded_figures(name, macs_g, digits, weights_m, wdigits):
    _, macs, weights, _ = ZOO[name]
    assert round(macs / 1e9, digits) == pytest.approx(macs_g)
    assert round(weights / 1e6, wdigits) == pytest.approx(weights_m)


def test_vgg16_conv_only_is_the_other_cited_figure():
    convs, _ = vgg16()
    assert _totals(convs)[0] == 15_346_630_656  # "15.3 GMACs" = conv only


def test_resnet50_v1_matches_the_paper_3_8_gflops():
    macs, weights = _totals(*resnet(50, v15=False))
    assert macs == 3_857_973_248 and int(macs / 1e8) / 10 == 3.8  # truncated, as printed
    assert weights == 25_502_912  # moving the stride changes MACs, not weights


def test_resnet50_yaml_is_v1_5():
    layers = {l.name: l for l in spec.load("workloads", "resnet50").layers}
    for stage in (3, 4, 5):
        assert layers[f"conv{stage}_1a"].stride_h == 1
        assert layers[f"conv{stage}_1b"].stride_h == 2


@pytest.mark.parametrize("name,bn_elements,cited", [("resnet18", 2_483_712, 1.82), ("resnet50", 11_113_984, 4.11)])
def test_resnet_cited_gmacs_add_two_ops_per_bn_element(name, bn_elements, cited):
    """The often cited 1.82G / 4.11G (thop) = conv + FC MACs + 2 ops per BN output element."""
    convs, _ = ZOO[name][0]()
    assert sum(e * e * m for e, _, m, _ in convs) == bn_elements
    assert round((ZOO[name][1] + 2 * bn_elements) / 1e9, 2) == cited


# Szegedy et al. 2015, Table 1, per row: exact (MACs, weights) here, and the printed (params K, ops M).
GOOGLENET_ROWS = {
    "conv1": ((118_013_952, 9_408), (2.7, 34)),    # misprinted: 7x7x3x64 is 9,408 weights, 118M MACs
    "conv2": ((359_661_568, 114_688), (112, 360)),
    "3a": ((128_049_152, 163_328), (159, 128)),
    "3b": ((304_267_264, 388_096), (380, 304)),
    "4a": ((73_608_192, 375_552), (364, 73)),
    "4b": ((87_908_352, 448_512), (437, 88)),
    "4c": ((99_850_240, 509_440), (463, 100)),
    "4d": ((118_515_712, 604_672), (580, 119)),
    "4e": ((169_996_288, 867_328), (840, 170)),
    "5a": ((51_079_168, 1_042_432), (1072, 54)),   # printed ops 54M; exact 51.1M
    "5b": ((70_697_984, 1_442_816), (1388, 71)),
}


@pytest.mark.parametrize("row", sorted(GOOGLENET_ROWS))
def test_googlenet_table1_rows(row):
    rows, _ = googlenet_rows()
    (macs, weights), (_, ops_m) = GOOGLENET_ROWS[row]
    assert _totals(rows[row]) == (macs, weights)
    if row not in ("conv1", "5a"):  # the ops column matches to within its 1M printing
        assert abs(macs / 1e6 - ops_m) < 1


def test_googlenet_printed_columns_sum_to_the_published_totals():
    printed = [p for _, p in GOOGLENET_ROWS.values()] + [(1000, 1)]  # + linear 1024x1000
    assert round(sum(k for k, _ in printed) / 1e3, 1) == 6.8  # "6.8M" params (K of 1024-ish)
    assert sum(m for _, m in printed) == 1502  # "1.5G" ops
    assert round((1502 - 34 + 118) / 1e3, 2) == 1.59  # with conv1 corrected


def test_shufflenet_matches_table1_and_the_authors_repository():
    _, macs, weights, _ = ZOO["shufflenet_v1_g3"]
    assert round(macs / 1e6) == 137  # Table 1, g = 3: 137 MFLOPs (multiply-adds)
    convs, _ = shufflenet_v1_g3()
    params = weights + 2 * _bn_channels(convs)  # BN after every conv; FC without bias
    assert params == 1_864_728 and round(params / 1e6, 1) == 1.9  # megvii ShuffleNetV1 README: 1.9M
    wl = spec.load("workloads", "shufflenet_v1_g3")   # params counts 4 BN values per channel ([ioffe2015])
    assert wl.params == params + 2 * _bn_channels(convs)


# --- layers without MACs: structure, shapes and parameters ---------------------------------------

# name: (batchnorms, max pools, avg pools, adds, concats), counted from the architectures:
# ResNet: one BN per conv (21 / 54 convs minus the FC), 2 + 2 + 2 + 2 / 3 + 4 + 6 + 3 blocks;
# GoogLeNet: 4 stride-2 pools + one per inception module (9), 9 concats; VGG-16: 5 pools;
# MobileNet v1: 27 convs; v2: 52 convs, adds in the stride-1 blocks with equal widths (Table 2:
# n - 1 per row for rows 2..6, and none for the first and last rows): 1 + 2 + 3 + 2 + 2 = 10.
STRUCTURE = {
    "resnet18": (20, 1, 1, 8, 0), "resnet50": (53, 1, 1, 16, 0), "googlenet": (0, 13, 1, 0, 9),
    "vgg16": (0, 5, 0, 0, 0), "mobilenet_v1": (27, 0, 1, 0, 0), "mobilenet_v2": (52, 0, 1, 10, 0),
    # SqueezeNet: 3 max pools, one concat per fire module (8), global avg pool after conv10;
    # ShuffleNet g=3: one BN per conv (49), stride-2 units (3) pool + concat, stride-1 units (13) add
    "squeezenet1_0": (0, 3, 1, 0, 8), "squeezenet1_1": (0, 3, 1, 0, 8), "shufflenet_v1_g3": (49, 1, 4, 13, 3),
    "alexnet_full": (0, 3, 0, 0, 0),   # overlapping 3x3/2 max pools after conv1, conv2, conv5 (sec. 3.4)
}


@pytest.mark.parametrize("name", sorted(STRUCTURE))
def test_non_mac_layers(name):
    wl = spec.load("workloads", name)
    kinds = [layer.kind for layer in wl.layers]
    counts = tuple(kinds.count(k) for k in ("batchnorm", "maxpool", "avgpool", "add", "concat"))
    assert counts == STRUCTURE[name]
    # every BN follows its conv and is folded into it; none runs on the vector unit
    assert all(l.folded_into for l in wl.layers if l.kind == "batchnorm")
    # the classifier reads a 1x1 map of K channels: the pooled output
    pooled = [l for l in wl.layers if l.kind in ("avgpool", "maxpool")][-1]
    after = [l for l in wl.layers[wl.layers.index(pooled) + 1:] if l.is_mac]
    width = after[0].C if after else pooled.C   # the classifier's K (SqueezeNet ends with the pool)
    side = {"vgg16": 7, "alexnet_full": 6}.get(name, 1)   # VGG and AlexNet flatten a 7x7 / 6x6 map into FC6
    assert (pooled.E, pooled.M * pooled.E * pooled.F) == (side, width)
    # every concat's width is the next layer's input channels (fire modules, ShuffleNet units)
    for i, layer in enumerate(wl.layers[:-1]):
        if layer.kind == "concat":
            following = next(l for l in wl.layers[i + 1:] if l.is_mac)
            assert following.C == layer.M  # (a max pool may come between them)


def test_googlenet_concat_widths_are_table1_output_sizes():
    layers = {l.name: l for l in spec.load("workloads", "googlenet").layers}
    # Table 1 "output size" column: 28x28x256, 28x28x480, 14x14x512 ... 7x7x1024
    widths = {"3a": 256, "3b": 480, "4a": 512, "4b": 512, "4c": 512, "4d": 528, "4e": 832, "5a": 832, "5b": 1024}
    for row, width in widths.items():
        concat = layers[f"inc{row}"]
        assert concat.M == width and concat.E == (28 if row[0] == "3" else 14 if row[0] == "4" else 7)
        # the pool-proj conv reads the module's own pool branch, the pool reads the previous module
        assert layers[f"inc{row}_pool_proj"].C == layers[f"inc{row}_pool"].M
    assert layers["avgpool"].ofmap_words == 1024


@pytest.mark.parametrize("name,torchvision_params", [
    ("resnet18", 11_689_512), ("resnet50", 25_557_032), ("mobilenet_v2", 3_504_872)])
def test_params_are_torchvision_plus_the_bn_running_statistics(name, torchvision_params):
    """params = weights + biases + 4 BN values per channel ([ioffe2015]: alpha, beta, mu, sigma);
    torchvision's parameter count has the learnable two (gamma, beta), and only the FC has a bias."""
    wl = spec.load("workloads", name)
    bn_channels = sum(l.C for l in wl.layers if l.kind == "batchnorm")
    convs, _ = ZOO[name][0]()
    assert bn_channels == _bn_channels(convs)
    assert sum(l.biases for l in wl.layers) == 1000
    assert wl.params == torchvision_params + 2 * bn_channels


@pytest.mark.parametrize("name,params", [
    ("vgg16", 138_357_544),          # torchvision vgg16 / Simonyan & Zisserman's 138M
    ("squeezenet1_0", 1_248_424),    # Iandola et al. Table 1 / torchvision
    ("squeezenet1_1", 1_235_496),    # torchvision
    ("alexnet_full", 60_965_224),    # Krizhevsky et al. 2012 "60 million parameters": the exact two-tower count
])
def test_params_with_biases_equal_the_published_count(name, params):
    assert spec.load("workloads", name).params == params


LECTURE = {  # [szegedy2015] modules, MACs computed from the shapes
    "gnet_5x5_direct": 112_896_000, "gnet_bottleneck_1x1": 1_505_280, "gnet_bottleneck_5x5": 3_763_200,
    "inception_naive_1x1": 25_690_112, "inception_naive_3x3": 346_816_512, "inception_naive_5x5": 481_689_600,
}


def test_lecture_modules_exact_totals():
    layers = {l.name: l for l in spec.load("workloads", "lecture_examples").layers}
    for name, macs in LECTURE.items():
        assert layers[name].macs == macs
    # 28 * 28 * (128*256 + 192*9*256 + 96*25*256): the slide's 854M
    naive = sum(l.macs for n, l in layers.items() if n.startswith("inception_naive"))
    assert naive == 28 * 28 * 256 * (128 + 192 * 9 + 96 * 25) == 854_196_224 and round(naive / 1e6) == 854
    assert layers["inception_naive"].M == 128 + 192 + 96 + 256
    # the bottleneck module's slide terms ([cs231n2017]) sum to 271.35M, not the printed 358M
    terms = [28 * 28 * 64 * 256, 28 * 28 * 64 * 256, 28 * 28 * 128 * 256, 28 * 28 * 192 * 9 * 64,
             28 * 28 * 96 * 25 * 64, 28 * 28 * 64 * 256]
    bottleneck = sum(l.macs for n, l in layers.items() if n.startswith("inception_bottleneck"))
    assert bottleneck == sum(terms) == 271_351_808
    assert layers["inception_bottleneck"].M == 480
    # the 5x5 branch on 14x14x480: 1x1 bottleneck first cuts the MACs 21x
    assert layers["gnet_bottleneck_1x1"].macs + layers["gnet_bottleneck_5x5"].macs == 5_268_480
