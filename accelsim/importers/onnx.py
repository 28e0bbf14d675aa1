"""Import an ONNX model as an accelsim workload YAML (``accelsim import onnx MODEL.onnx --out FILE``).

Shapes come from ``onnx.shape_inference.infer_shapes`` (a symbolic or unknown batch dimension is
taken as ``batch``). Nodes are read in graph order (ONNX graphs are topologically sorted, ONNX IR
spec, "Graphs"). What maps to what:

=====================================  ===========================================================
ONNX operator                          accelsim layer
=====================================  ===========================================================
Conv                                   ``conv``: groups, dilations, strides, pads (symmetric per
                                       axis, or asymmetric when a symmetric padding gives the same
                                       output size), auto_pad; ``bias`` = it has a B input
Gemm                                   ``gemm`` M x N x K (transA / transB honoured); ``bias`` = C
MatMul                                 ``gemm``: the left operand's leading dims fold into M; the
                                       right operand must be 2-D (a weight matrix)
MaxPool, AveragePool                   ``maxpool`` / ``avgpool``: kernel_shape, strides, pads,
                                       ceil_mode
GlobalAveragePool, GlobalMaxPool       ``avgpool`` / ``maxpool`` over the whole input
BatchNormalization                     ``batchnorm`` (folded into a conv / GEMM that produces its
                                       input, else on the vector unit)
Add, Sum (of activations)              ``add`` with its ``inputs``; an Add of a constant (a bias)
                                       is fused into its producer
Concat (axis 1, channels)              ``concat``
Relu, LeakyRelu, PRelu, Clip,          fused into the producing layer (an activation applied as
Sigmoid, Tanh, HardSigmoid,            the output leaves the array or vector unit, as TPU v1's
HardSwish, Elu, Selu, Softplus         activation pipeline does, Jouppi et al. ISCA 2017, sec. 2):
                                       no layer, no cost
Flatten, Reshape, Squeeze, Unsqueeze,  no-ops (layout only): no layer
Identity, Dropout
=====================================  ===========================================================

Anything else is an error that lists every unsupported operator of the model at once.
A pool or batchnorm whose input is the graph input gets an explicit C, H, W (an external tensor);
an add or concat must read layers.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import yaml

from ..errors import AccelsimError
from ..spec.workload import conv_output_size, workload_from_dict

FUSED = ("Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu", "Selu",
         "Softplus")
NO_OPS = ("Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout")
MAPPED = ("Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
          "BatchNormalization", "Add", "Sum", "Concat")


def _onnx():
    try:
        import onnx
    except ImportError:
        raise AccelsimError("the ONNX importer needs the onnx package: pip install 'accelsim[onnx]' "
                            "(or pip install onnx)") from None
    return onnx


def _attrs(node) -> dict:
    onnx = _onnx()
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


class _Graph:
    """Shapes, constants and the tensor -> producing-layer map while walking the nodes."""

    def __init__(self, model, batch: int):
        onnx = _onnx()
        try:
            model = onnx.shape_inference.infer_shapes(model)
        except Exception as exc:  # onnx raises its own InferenceError / ValidationError types
            raise AccelsimError(f"ONNX shape inference failed: {exc}") from None
        self.graph = model.graph
        self.constants = {t.name: tuple(t.dims) for t in self.graph.initializer}
        self.shapes = dict(self.constants)
        for info in list(self.graph.input) + list(self.graph.value_info) + list(self.graph.output):
            dims = info.type.tensor_type.shape.dim
            shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)
            if shape and shape[0] == -1:
                shape = (batch,) + shape[1:]
            self.shapes.setdefault(info.name, shape)
        for node in self.graph.node:
            if node.op_type == "Constant":
                self.constants[node.output[0]] = ()
        self.producer: dict[str, str | None] = {}   # tensor -> accelsim layer name (None: graph input)

    def shape(self, tensor: str, node) -> tuple:
        shape = self.shapes.get(tensor)
        if shape is None or any(d <= 0 for d in shape):
            raise AccelsimError(f"ONNX node {node.name or node.op_type}: the shape of {tensor!r} is unknown "
                                f"after shape inference ({shape}); export the model with static input shapes")
        return shape


def _conv_padding(node, attrs, in_hw, kernel, strides, dilations, out_hw, ceil=False):
    """Per-axis symmetric padding giving ONNX's output size, from pads or auto_pad."""
    pads = list(attrs.get("pads", [0] * 4))
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    result = []
    for axis in range(2):
        extent = dilations[axis] * (kernel[axis] - 1) + 1
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            total = max(0, (out_hw[axis] - 1) * strides[axis] + extent - in_hw[axis])
        elif auto == "VALID":
            total = 0
        else:
            total = pads[axis] + pads[axis + 2]
        for pad in (total // 2, -(-total // 2)):
            if conv_output_size(in_hw[axis], kernel[axis], strides[axis], pad, dilations[axis], ceil) == out_hw[axis]:
                result.append(pad)
                break
        else:
            raise AccelsimError(f"ONNX node {node.name or node.op_type}: padding {pads} cannot be written as a "
                                f"symmetric padding with the same output size ({out_hw})")
    return result


def _pair(values):
    return values[0] if values[0] == values[1] else list(values)


def workload_from_onnx(model, name: str, batch: int = 1) -> dict:
    """The workload YAML mapping (validated by accelsim's workload reader) for an ONNX ModelProto."""
    unsupported = sorted({n.op_type for n in model.graph.node if n.op_type not in MAPPED + FUSED + NO_OPS
                          and n.op_type != "Constant"})
    if unsupported:
        raise AccelsimError(f"the model has operators accelsim cannot import: {', '.join(unsupported)}. "
                            f"Supported: {', '.join(MAPPED)}; fused activations: {', '.join(FUSED)}; "
                            f"no-ops: {', '.join(NO_OPS)}. Remove or replace them and export again")
    g = _Graph(model, batch)
    for tensor in model.graph.input:
        g.producer[tensor.name] = None
    layers: list[dict] = []
    used: set[str] = set()
    first_shape = None

    def new_name(node, index):
        base = _name(node.name) if node.name else f"{node.op_type.lower()}_{index}"
        out, k = base, 1
        while out in used:
            k += 1
            out = f"{base}_{k}"
        used.add(out)
        return out

    def source(node, tensor) -> dict:
        """``input: <layer>`` (omitted when it is the previous layer) or the explicit input shape."""
        producer = g.producer.get(tensor)
        if producer is None:
            n, c, h, w = g.shape(tensor, node)
            return {"C": c, "H": h, "W": w} if n == batch else {"N": n, "C": c, "H": h, "W": w}
        return {} if layers and layers[-1]["name"] == producer else {"input": producer}

    for index, node in enumerate(model.graph.node):
        op, attrs = node.op_type, _attrs(node)
        if op == "Constant":
            continue
        activations = [t for t in node.input if t and t not in g.constants]
        if op in FUSED or op in NO_OPS or (op == "Add" and len(activations) == 1):
            g.producer[node.output[0]] = g.producer.get(activations[0]) if activations else None
            continue
        lname = new_name(node, index)
        if op == "Conv":
            n, c, h, w = g.shape(node.input[0], node)
            m, _, r, s = g.shape(node.input[1], node)
            out = g.shape(node.output[0], node)
            strides = list(attrs.get("strides", [1, 1]))
            dilations = list(attrs.get("dilations", [1, 1]))
            pads = _conv_padding(node, attrs, (h, w), (r, s), strides, dilations, out[2:])
            layer = {"name": lname, "type": "conv"}
            if n != batch:
                layer["N"] = n
            layer.update({"C": c, "H": h, "W": w, "M": m, "R": r, "S": s, "stride": _pair(strides),
                          "padding": _pair(pads), "groups": int(attrs.get("group", 1))})
            if dilations != [1, 1]:
                layer["dilation"] = _pair(dilations)
            layer["bias"] = len(node.input) > 2 and bool(node.input[2])
            first_shape = first_shape or (n, c, h, w)
        elif op in ("Gemm", "MatMul"):
            a, b = g.shape(node.input[0], node), g.shape(node.input[1], node)
            if len(b) != 2:
                raise AccelsimError(f"ONNX node {node.name or op}: a MatMul whose right operand is not 2-D "
                                    f"({b}) is not a layer with weights; accelsim imports 2-D weight matrices only")
            if op == "Gemm":
                k_dim, rows = (a[0], a[1]) if attrs.get("transA", 0) else (a[1], a[0])
                cols = b[0] if attrs.get("transB", 0) else b[1]
            else:
                rows, k_dim, cols = math.prod(a[:-1]), a[-1], b[1]
            layer = {"name": lname, "type": "gemm", "M": rows, "N": cols, "K": k_dim,
                     "bias": op == "Gemm" and len(node.input) > 2 and bool(node.input[2])}
        elif op in ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"):
            kind = "maxpool" if "Max" in op else "avgpool"
            layer = {"name": lname, "type": kind, **source(node, node.input[0])}
            if not op.startswith("Global"):
                if list(attrs.get("dilations", [1, 1])) != [1, 1]:
                    raise AccelsimError(f"ONNX node {node.name or op}: dilated pooling is not supported")
                n, c, h, w = g.shape(node.input[0], node)
                r, s = attrs["kernel_shape"]
                strides = list(attrs.get("strides", [1, 1]))
                ceil = bool(attrs.get("ceil_mode", 0))
                out = g.shape(node.output[0], node)[2:]
                pads = _conv_padding(node, attrs, (h, w), (r, s), strides, (1, 1), out, ceil)
                layer.update({"R": r, "S": s, "stride": _pair(strides), "padding": _pair(pads)})
                if ceil:
                    layer["ceil_mode"] = True
        elif op == "BatchNormalization":
            layer = {"name": lname, "type": "batchnorm", **source(node, node.input[0])}
        elif op in ("Add", "Sum", "Concat"):
            if op == "Concat" and attrs.get("axis") not in (1, -3):
                raise AccelsimError(f"ONNX node {node.name or op}: only channel concatenation (axis 1) is "
                                    f"supported (got axis {attrs.get('axis')})")
            producers = [g.producer.get(t) for t in activations]
            if None in producers:
                raise AccelsimError(f"ONNX node {node.name or op}: an {op} that reads the graph input directly "
                                    f"cannot be expressed (its inputs must be layers)")
            layer = {"name": lname, "type": "concat" if op == "Concat" else "add", "inputs": producers}
        g.producer[node.output[0]] = lname
        layers.append(layer)
    if not layers:
        raise AccelsimError("the ONNX model has no layers accelsim can import (no Conv, Gemm, MatMul, pooling, "
                            "BatchNormalization, Add or Concat)")
    data = {"name": name, "description": f"imported from ONNX ({len(layers)} layers)",
            "source": "accelsim import onnx", "batch": batch, "layers": layers}
    workload_from_dict(data, f"<{name} imported from ONNX>")  # an importer bug must not write a bad file
    return data


def dump(data: dict) -> str:
    """YAML text with one layer per line (flow style), like the zoo files."""
    head = {k: v for k, v in data.items() if k != "layers"}
    text = yaml.safe_dump(head, sort_keys=False, width=10**6) + "layers:\n"
    for layer in data["layers"]:
        text += "  - " + yaml.safe_dump(layer, default_flow_style=True, sort_keys=False, width=10**6).strip() + "\n"
    return text


def onnx_workload_text(model_path, name: str, batch: int = 1) -> str:
    """The workload YAML of the ONNX model at ``model_path``. Only shapes are read: a model whose
    weights sit in an external data file (ZigZag's shipped resnet18.onnx names a
    ``resnet18.external`` it does not ship) imports without that file."""
    onnx = _onnx()
    model_path = Path(model_path)
    if not model_path.is_file():
        raise AccelsimError(f"{model_path}: file not found")
    try:
        model = onnx.load(str(model_path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError and friends
        raise AccelsimError(f"{model_path}: not a readable ONNX model ({exc})") from None
    return f"# Imported from {model_path.name} by accelsim import onnx (see docs/onnx.md).\n" + dump(
        workload_from_onnx(model, name, batch))


def import_onnx(model_path, out_path, name: str | None = None, batch: int = 1, overwrite: bool = True) -> Path:
    """Read ``model_path`` (.onnx), write the workload YAML to ``out_path``; returns the path.
    ``overwrite=False`` refuses to replace an existing file (``accelsim import onnx`` without ``--force``)."""
    out_path = Path(out_path)
    text = onnx_workload_text(model_path, name or _name(out_path.stem), batch)
    if out_path.exists() and not overwrite:
        raise AccelsimError(f"{out_path}: exists; add --force to replace it, or choose another --out")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text, encoding="utf-8")
    return out_path
