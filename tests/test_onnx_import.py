"""ONNX import: models built here with onnx.helper (no downloads) import to the layers of the
hand-written YAML (GoogLeNet's bottleneck inception module, ResNet-18), op by op by hand, and
unsupported operators are one clear error."""
import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from accelsim import spec
from accelsim.cli import main
from accelsim.errors import AccelsimError
from accelsim.importers.onnx import workload_from_onnx
from accelsim.spec.workload import workload_from_dict


class Net:
    """A tiny graph builder: float32 tensors, zero-filled weights, names as the YAML's layers."""

    def __init__(self, shape):
        self.nodes, self.inits = [], []
        self.input = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))

    def _init(self, name, shape, values=None):
        array = np.zeros(shape, dtype=np.float32) if values is None else np.asarray(values)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def conv(self, name, x, c, m, k, stride=1, pad=0, groups=1, dilation=1, bias=True, relu=True, **extra):
        inputs = [x, self._init(f"{name}.w", (m, c // groups, k, k))]
        if bias:
            inputs.append(self._init(f"{name}.b", (m,)))
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], group=groups, dilations=[dilation] * 2, **extra)
        if "auto_pad" not in extra:
            attrs["pads"] = [pad] * 4
        self.nodes.append(helper.make_node("Conv", inputs, [name], name=name, **attrs))
        return self.relu(name) if relu else name

    def bn(self, name, x, c, relu=True):
        params = [self._init(f"{name}.{p}", (c,)) for p in ("scale", "bias", "mean", "var")]
        self.nodes.append(helper.make_node("BatchNormalization", [x] + params, [name], name=name))
        return self.relu(name) if relu else name

    def relu(self, x):
        self.nodes.append(helper.make_node("Relu", [x], [x + ".relu"]))
        return x + ".relu"

    def op(self, op, name, inputs, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def gemm(self, name, x, k, n):
        return self.op("Gemm", name, [x, self._init(f"{name}.w", (n, k)), self._init(f"{name}.b", (n,))], transB=1)

    def model(self, out):
        output = helper.make_tensor_value_info(out, TensorProto.FLOAT, None)
        graph = helper.make_graph(self.nodes, "g", [self.input], [output], self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def imported(model, name="m", batch=1):
    return workload_from_dict(workload_from_onnx(model, name, batch)).layers


def bottleneck_inception():
    """GoogLeNet's inception module with 1x1 bottlenecks on 28x28x256 (Szegedy et al. Fig. 2(b))."""
    net, x = Net((1, 256, 28, 28)), "x"
    b1 = net.conv("inception_bottleneck_1x1", x, 256, 128, 1)
    r3 = net.conv("inception_bottleneck_3x3_reduce", x, 256, 64, 1)
    b3 = net.conv("inception_bottleneck_3x3", r3, 64, 192, 3, pad=1)
    r5 = net.conv("inception_bottleneck_5x5_reduce", x, 256, 64, 1)
    b5 = net.conv("inception_bottleneck_5x5", r5, 64, 96, 5, pad=2)
    p = net.op("MaxPool", "inception_bottleneck_pool", [x], kernel_shape=[3, 3], strides=[1, 1], pads=[1] * 4)
    pp = net.conv("inception_bottleneck_pool_proj", p, 256, 64, 1)
    return net.model(net.op("Concat", "inception_bottleneck", [b1, b3, b5, pp], axis=1))


def test_bottleneck_inception_round_trip():
    yaml_layers = [l for l in spec.load("workloads", "lecture_examples").layers
                   if l.name.startswith("inception_bottleneck")]
    assert list(imported(bottleneck_inception())) == yaml_layers


def resnet18():
    """torchvision ResNet-18 (He et al. 2016, Table 1; option B shortcuts), built from the architecture."""
    net = Net((1, 3, 224, 224))
    x = net.bn("conv1_bn", net.conv("conv1", "x", 3, 64, 7, stride=2, pad=3, bias=False, relu=False), 64)
    x = net.op("MaxPool", "pool1", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)
    c = 64
    for stage, width in zip((2, 3, 4, 5), (64, 128, 256, 512)):
        for block in (1, 2):
            stride = 2 if (stage > 2 and block == 1) else 1
            name = f"conv{stage}_{block}"
            y = net.bn(f"{name}a_bn", net.conv(f"{name}a", x, c, width, 3, stride, 1, bias=False, relu=False), width)
            y = net.bn(f"{name}b_bn", net.conv(f"{name}b", y, width, width, 3, 1, 1, bias=False, relu=False), width,
                       relu=False)
            short = x
            if stride == 2:
                short = net.bn(f"{name}_proj_bn", net.conv(f"{name}_proj", x, c, width, 1, 2, 0, bias=False,
                                                           relu=False), width, relu=False)
            x = net.relu(net.op("Add", name, [y, short]))
            c = width
    x = net.op("Flatten", "flatten", [net.op("GlobalAveragePool", "avgpool", [x])])
    return net.model(net.gemm("fc", x, 512, 1000))


def test_resnet18_round_trip():
    assert list(imported(resnet18(), "resnet18")) == list(spec.load("workloads", "resnet18").layers)


def test_conv_attributes_dilation_groups_same_padding_and_matmul():
    net = Net((1, 8, 15, 15))
    a = net.conv("dil", "x", 8, 8, 3, pad=2, dilation=2)
    b = net.conv("grp", a, 8, 16, 3, groups=4, stride=2, auto_pad="SAME_UPPER")   # 15 -> 8, pads 1+1
    v = net.conv("valid", b, 16, 16, 2, auto_pad="VALID", bias=False)            # 8 -> 7
    f = net.op("Reshape", "r", [v, net._init("shape", (3,), np.array([1, 16, 49], dtype=np.int64))])
    layers = {l.name: l for l in imported(net.model(net.op("MatMul", "mm", [f, net._init("mm.w", (49, 10))])))}
    assert (layers["dil"].dilation_h, layers["dil"].pad_h, layers["dil"].E) == (2, 2, 15)
    assert (layers["grp"].groups, layers["grp"].stride_h, layers["grp"].pad_h, layers["grp"].E) == (4, 2, 1, 8)
    assert (layers["valid"].E, layers["valid"].bias) == (7, False)
    assert (layers["mm"].kind, layers["mm"].N, layers["mm"].C, layers["mm"].M) == ("gemm", 16, 49, 10)  # M=16 rows


def test_unsupported_operators_are_listed_together():
    net = Net((1, 3, 8, 8))
    x = net.op("LRN", "lrn", [net.conv("c", "x", 3, 4, 3)], size=3)
    model = net.model(net.op("Softmax", "sm", [net.op("Gelu", "g", [x])]))
    with pytest.raises(AccelsimError, match=r"operators accelsim cannot import: Gelu, LRN, Softmax\."):
        workload_from_onnx(model, "m")


def test_bias_add_is_fused_and_pools_with_ceil_mode():
    net = Net((1, 4, 9, 9))
    c = net.conv("c", "x", 4, 4, 3, bias=False, relu=False)
    c = net.op("Add", "biasadd", [c, net._init("b", (1, 4, 1, 1))])
    p = net.op("AveragePool", "p", [c], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
    layers = imported(net.model(net.op("BatchNormalization", "bn", [p] + [net._init(f"bn{i}", (4,)) for i in range(4)])))
    assert [l.kind for l in layers] == ["conv", "avgpool", "batchnorm"]
    assert layers[1].ceil_mode and layers[1].E == 4        # ceil((7 - 2) / 2) + 1
    assert layers[2].folded_into == "" and layers[2].unit == "vector"   # after a pool: not foldable


def test_symbolic_batch_and_the_cli(tmp_path):
    model = bottleneck_inception()
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    path = tmp_path / "inception.onnx"
    onnx.save(model, str(path))
    out = tmp_path / "wl" / "inception.yaml"
    result = CliRunner().invoke(main, ["import", "onnx", str(path), "--out", str(out), "--batch", "2"])
    assert result.exit_code == 0, result.output
    wl = spec.load("workloads", out)
    assert wl.name == "inception" and wl.macs == 2 * 271_351_808
    again = CliRunner().invoke(main, ["import", "onnx", str(path), "--out", str(out)])     # batch 1 would replace it
    assert again.exit_code == 1 and f"Error: {out}: exists; add --force to replace it" in again.output
    assert spec.load("workloads", out).macs == 2 * 271_351_808
    forced = CliRunner().invoke(main, ["import", "onnx", str(path), "--out", str(out), "--force"])
    assert forced.exit_code == 0 and spec.load("workloads", out).macs == 271_351_808
    missing = CliRunner().invoke(main, ["import", "onnx", str(tmp_path / "none.onnx"), "--out", str(out)])
    assert missing.exit_code == 1 and missing.output.startswith("Error: ") and "file not found" in missing.output
    (tmp_path / "bad.onnx").write_text("not a model")
    bad = CliRunner().invoke(main, ["import", "onnx", str(tmp_path / "bad.onnx"), "--out", str(out)])
    assert bad.exit_code == 1 and "not a readable ONNX model" in bad.output
