"""Workloads (``workloads/*.yaml``): named lists of layers.

Notation follows Sze et al. [sze2017]: N batch, M filters, C input
channels, H x W input, R x S filter, E x F output, U stride, G groups, D dilation.
A GEMM ``out[M x N] = A[M x K] @ B[K x N]`` (A activations, B weights) is lowered to a 1x1
convolution on a 1x1 input with batch M, C = K input channels and N filters, so one engine maps
both.

Layer types (workloads/README.md): ``conv`` and ``gemm`` are MAC layers (the PE array);
``maxpool``, ``avgpool``, ``batchnorm``, ``add`` and ``concat`` have no MACs. Every layer is a
:class:`Layer` in the same 7-D notation: a non-MAC layer keeps its input in N x C x H x W and its
output in N x M x E x F (M = C, except a concat, whose C is the sum of its inputs' channels).
Non-MAC layers take their input shape from the layer named by ``input`` (default: the previous
layer; explicit C, H, W without ``input``: a tensor from outside the file) or, for ``add`` and
``concat``, from the layers named by ``inputs``.
Per-layer annotations (precision, densities, N:M sparsity) are read by accelsim/spec/annotations.py.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .annotations import ANNOTATION_KEYS, Annotations, read_annotations
from ..errors import shown
from .common import MAX_LAYERS, MAX_VOLUME, Reader, check_kind, load_yaml

MAC_TYPES = ("conv", "gemm")
POOL_TYPES = ("maxpool", "avgpool")
LAYER_TYPES = MAC_TYPES + POOL_TYPES + ("batchnorm", "add", "concat")


def conv_output_size(size: int, filt: int, stride: int, pad: int, dilation: int = 1, ceil: bool = False) -> int:
    """Output rows of a convolution or pooling window: E = floor((H + 2P - D(R-1) - 1) / U) + 1.

    Source: Dumoulin & Visin, "A guide to convolution arithmetic" (2016), relationships 6 and 15
    (dilation D: the effective filter size is D(R-1)+1). ``ceil`` rounds the division up (pooling's ``ceil_mode``, as in PyTorch and ONNX;
    a window that would start in the right padding is dropped, as both do). Returns <= 0 when the
    filter does not fit.
    """
    span = size + 2 * pad - dilation * (filt - 1) - 1
    if not ceil:
        return span // stride + 1
    out = -(-span // stride) + 1
    if out > 1 and (out - 1) * stride >= size + pad:
        out -= 1
    return out


@dataclass(frozen=True)
class Layer:
    """One layer as a 7-D conv loop nest (plus groups). ``kind`` is its ``type`` in the YAML.

    ``dilation_h/w``: filter taps D apart. ``ceil_mode``: pooling output rounded up. ``inputs``:
    the layers an ``add`` / ``concat`` (or the one a pool / batchnorm) reads. ``folded_into``: the
    conv or GEMM a ``batchnorm`` is folded into at inference (empty: it runs on the vector unit).
    ``bias``: the MAC layer has M biases. ``annotations``: precision and sparsity.
    """

    name: str
    kind: str
    N: int
    C: int
    H: int
    W: int
    M: int
    R: int
    S: int
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 0
    pad_w: int = 0
    groups: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    ceil_mode: bool = False
    inputs: tuple[str, ...] = ()
    folded_into: str = ""
    bias: bool = False
    annotations: Annotations = Annotations()

    @property
    def E(self) -> int:
        return conv_output_size(self.H, self.R, self.stride_h, self.pad_h, self.dilation_h, self.ceil_mode)

    @property
    def F(self) -> int:
        return conv_output_size(self.W, self.S, self.stride_w, self.pad_w, self.dilation_w, self.ceil_mode)

    @property
    def is_mac(self) -> bool:
        return self.kind in MAC_TYPES

    @property
    def unit(self) -> str:
        """Where the layer runs: ``array`` (MACs), ``vector`` (element-wise work, accelsim/vector.py)
        or ``none`` (a concat, a layout op, and a batchnorm folded into its conv: no work)."""
        if self.is_mac:
            return "array"
        if self.kind == "concat" or self.folded_into:
            return "none"
        return "vector"

    @property
    def macs(self) -> int:
        """MACs = N*M*E*F*(C/G)*R*S (DESIGN.md notation; Sze et al., Proc. IEEE 2017, Eq. 2); 0 for
        a layer without MACs (pooling, batchnorm, add, concat)."""
        if not self.is_mac:
            return 0
        return self.N * self.M * self.E * self.F * (self.C // self.groups) * self.R * self.S

    @property
    def weights(self) -> int:
        """Filter weights M*(C/G)*R*S (biases and BN parameters excluded, as in the published tables)."""
        return self.M * (self.C // self.groups) * self.R * self.S if self.is_mac else 0

    @property
    def biases(self) -> int:
        """M biases when the MAC layer has a bias, else 0."""
        return self.M if (self.is_mac and self.bias) else 0

    @property
    def bn_params(self) -> int:
        """4*C for a batchnorm: alpha, beta, mu, sigma per channel, all fixed at inference ([ioffe2015])."""
        return 4 * self.C if self.kind == "batchnorm" else 0

    @property
    def params(self) -> int:
        """Weights + biases + BN parameters."""
        return self.weights + self.biases + self.bn_params

    @property
    def ifmap_words(self) -> int:
        """Input activations N*C*H*W, unpadded (padding zeros are generated, not stored); an
        ``add`` reads each of its inputs."""
        tensors = len(self.inputs) if self.kind == "add" else 1
        return tensors * self.N * self.C * self.H * self.W

    @property
    def ofmap_words(self) -> int:
        return self.N * self.M * self.E * self.F

    @property
    def vector_ops(self) -> int:
        """Elementary vector-unit operations (accelsim/vector.py), per output element:
        max pool R*S - 1 compares; avg pool R*S - 1 adds + 1 multiply by 1/(R*S) = R*S (the whole
        window, padding included: a fixed-function unit does not skip border taps); an add of k
        inputs k - 1 adds; an unfolded batchnorm 2 (one multiply by alpha/sigma and one add of
        beta - alpha*mu/sigma, precomputed per channel [jacob2018] 3.2); 0 otherwise."""
        if self.unit != "vector":
            return 0
        per_output = {"maxpool": self.R * self.S - 1, "avgpool": self.R * self.S, "batchnorm": 2,
                      "add": len(self.inputs) - 1}[self.kind]
        return self.ofmap_words * per_output

    @property
    def is_depthwise(self) -> bool:
        return self.kind == "conv" and self.groups > 1 and self.groups == self.C == self.M


@dataclass(frozen=True)
class Workload:
    name: str
    layers: tuple[Layer, ...]
    description: str = ""
    source: str = ""
    file: str = ""

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def weights(self) -> int:
        return sum(layer.weights for layer in self.layers)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)


#: Layer types of other tools (PyTorch, ONNX, Keras) and how accelsim writes them.
_TYPE_HINTS = {
    **dict.fromkeys(("depthwise", "dwconv", "depthwise_conv", "depthwiseconv2d"),
                    "a depthwise layer is type: conv with groups = C = M"),
    **dict.fromkeys(("fc", "linear", "dense", "matmul", "fully_connected", "innerproduct"),
                    "a fully connected layer or matrix multiply is type: gemm (M rows, N outputs, K inputs)"),
    **dict.fromkeys(("conv2d", "convolution"), "write type: conv"),
    **dict.fromkeys(("pool", "maxpool2d", "max_pool"), "write type: maxpool (or avgpool)"),
    **dict.fromkeys(("avgpool2d", "avg_pool", "globalaveragepool", "adaptiveavgpool2d"),
                    "write type: avgpool (R and S omitted: global pooling)"),
    **dict.fromkeys(("bn", "batchnorm2d", "batch_norm"), "write type: batchnorm"),
    **dict.fromkeys(("relu", "gelu", "silu", "activation", "softmax"),
                    "activations are not layers here: accelsim counts them fused into the layer before "
                    "(leave them out)"),
}
_PADDING_WORDS = {"same": "'same' padding for an odd R at stride 1 is padding: (R-1)/2",
                  "valid": "'valid' padding is padding: 0"}

_CONV_KEYS = ("name", "type", "N", "C", "H", "W", "M", "R", "S", "stride", "padding", "groups", "dilation",
              "bias") + ANNOTATION_KEYS
_GEMM_KEYS = ("name", "type", "M", "N", "K", "bias") + ANNOTATION_KEYS
_POOL_KEYS = ("name", "type", "input", "N", "C", "H", "W", "R", "S", "stride", "padding", "ceil_mode") + ANNOTATION_KEYS
_BN_KEYS = ("name", "type", "input", "N", "C", "H", "W") + ANNOTATION_KEYS
_MERGE_KEYS = ("name", "type", "inputs") + ANNOTATION_KEYS



def _check_output(r: Reader, h, w, fr, fs, stride, pad, dil, ceil=False) -> bool:
    ok = True
    for key, size, filt, axis in (("R", h, fr, 0), ("S", w, fs, 1)):
        if None in (size, filt, stride, pad, dil):
            continue
        if conv_output_size(size, filt, stride[axis], pad[axis], dil[axis], ceil) < 1:
            dim = "H" if key == "R" else "W"
            extent = f"dilated extent {dil[axis] * (filt - 1) + 1}" if dil[axis] > 1 else f"{key}={filt}"
            r.error(key, f"filter {extent} is larger than the padded input {dim}+2*padding="
                         f"{size + 2 * pad[axis]}: the layer has no output; use a smaller filter or more padding")
            ok = False
    return ok


def _padding(r: Reader):
    """``padding``: pixels per side; Keras' and ONNX's words 'same' and 'valid' get the number to write."""
    word = r.data.get("padding") if isinstance(r.data, dict) else None
    if isinstance(word, str) and word.lower() in _PADDING_WORDS:
        r.raw("padding", 0)
        fix = _PADDING_WORDS[word.lower()]
        size = r.data.get("R")
        if word.lower() == "same" and isinstance(size, int) and size % 2:
            fix += f" = {(size - 1) // 2} for R={size}"
        r.error("padding", f"must be an integer or [pad_h, pad_w] (got {shown(word)}); {fix}")
        return None
    return r.int_pair("padding", 0, minimum=0)


def _conv_layer(r: Reader, name: str, batch: int) -> Layer | None:
    n = r.integer("N", batch)
    c, h, w, m, fr, fs = (r.integer(k) for k in ("C", "H", "W", "M", "R", "S"))
    stride = r.int_pair("stride", 1, minimum=1)
    pad = _padding(r)
    dil = r.int_pair("dilation", 1, minimum=1)
    groups = r.integer("groups", 1)
    bias = r.boolean("bias", None)
    notes = read_annotations(r)
    r.reject_unknown(_CONV_KEYS)
    ok = None not in (n, c, h, w, m, fr, fs, stride, pad, dil, groups, notes)
    if groups is not None:
        for key, value in (("C", c), ("M", m)):
            if value is not None and value % groups:
                r.error("groups", f"must divide {key}={value} (got {groups}); depthwise uses groups = C = M")
                ok = False
    ok = _check_output(r, h, w, fr, fs, stride, pad, dil) and ok
    if not ok:
        return None
    layer = Layer(name=name, kind="conv", N=n, C=c, H=h, W=w, M=m, R=fr, S=fs,
                  stride_h=stride[0], stride_w=stride[1], pad_h=pad[0], pad_w=pad[1], groups=groups,
                  dilation_h=dil[0], dilation_w=dil[1], bias=bool(bias), annotations=notes)
    return _bounded(r, layer)


def size_problem(layer: Layer) -> str | None:
    """Why ``layer`` is too large for exact 64-bit counts (hw/README.md, "Bounds"), or None."""
    volume = layer.N * layer.M * layer.E * layer.F * layer.C * layer.R * layer.S
    if volume >= MAX_VOLUME or layer.ifmap_words >= MAX_VOLUME:
        return (f"the layer is too large to count exactly in 64-bit integers (loop-nest volume {volume:.3e} or "
                f"input size {layer.ifmap_words:.3e} >= 2^56)")
    return None


def _bounded(r: Reader, layer: Layer) -> Layer | None:
    problem = size_problem(layer)
    if problem:
        r.error("", problem + "; split it into smaller layers")
        return None
    return layer


def _gemm_layer(r: Reader, name: str) -> Layer | None:
    m, n, k = (r.integer(key) for key in ("M", "N", "K"))
    bias = r.boolean("bias", None)
    notes = read_annotations(r)
    r.reject_unknown(_GEMM_KEYS)
    if None in (m, n, k, notes):
        return None
    return _bounded(r, Layer(name=name, kind="gemm", N=m, C=k, H=1, W=1, M=n, R=1, S=1, bias=bool(bias),
                             annotations=notes))


def output_shape(layer: Layer) -> tuple[int, int, int, int]:
    """(N, C, H, W) of a layer's output tensor (a GEMM's M x N output is N=M, C=N, 1 x 1)."""
    return layer.N, layer.M, layer.E, layer.F


def _input_shape(r: Reader, kind: str, producer: Layer | None, batch: int):
    """(N, C, H, W) of a pool / batchnorm input: the producer's output, or explicit keys (which must
    then agree with the producer)."""
    explicit = {k: r.integer(k, None) for k in ("N", "C", "H", "W")}
    if producer is None:
        for k in ("C", "H", "W"):
            if explicit[k] is None and k not in r.data:
                r.error(k, f"required: this {kind} has no earlier layer to take its input shape from "
                           f"(give C, H and W, or name its producer with input:)")
        shape = (explicit["N"] or batch, explicit["C"], explicit["H"], explicit["W"])
        return None if None in shape else shape
    shape = output_shape(producer)
    for k, value in zip(("N", "C", "H", "W"), shape):
        if explicit[k] is not None and explicit[k] != value:
            r.error(k, f"is {explicit[k]} but the input {shown(producer.name)} outputs {k}={value}; "
                       f"remove the key (it is taken from the input) or fix it")
            return None
    return shape


def _producer(r: Reader, key_value, previous: Layer | None, by_name: dict[str, Layer | None]) -> Layer | None:
    """The layer a pool / batchnorm reads; None (reported, or silently when that layer is itself
    invalid and already reported) if there is none. ``by_name`` maps invalid layers to None."""
    if key_value is None:
        return previous
    if key_value not in by_name:
        r.error("input", f"no earlier layer is named {shown(key_value)}; a layer reads the output of a layer above it")
        return None
    return by_name[key_value]


#: Stands for a layer that failed validation (already reported) where a later layer refers to it.
_INVALID = Layer(name="", kind="invalid", N=0, C=0, H=0, W=0, M=0, R=1, S=1)


def _stated_shape(r: Reader, previous):
    """Explicit C/H/W without ``input``: the layer reads a tensor from outside the file (e.g. a
    module's input), not the previous layer."""
    return None if any(k in r.data for k in ("C", "H", "W")) else previous


def _pool_layer(r: Reader, name: str, kind: str, previous, by_name, batch) -> Layer | None:
    previous = _stated_shape(r, previous)
    src = r.string("input", None)
    producer = _producer(r, src, previous, by_name)
    if (src is not None or previous is _INVALID) and producer in (None, _INVALID):
        return None
    shape = _input_shape(r, kind, producer, batch)
    fr, fs = r.integer("R", None), r.integer("S", None)
    stride = r.int_pair("stride", 1, minimum=1)
    pad = _padding(r)
    ceil = r.boolean("ceil_mode", False)
    notes = read_annotations(r)
    r.reject_unknown(_POOL_KEYS)
    if None in (shape, stride, pad, ceil, notes):
        return None
    n, c, h, w = shape
    fr, fs = fr or h, fs or w  # no kernel size: global pooling over the whole input
    if not _check_output(r, h, w, fr, fs, stride, pad, (1, 1), ceil):
        return None
    return Layer(name=name, kind=kind, N=n, C=c, H=h, W=w, M=c, R=fr, S=fs, stride_h=stride[0],
                 stride_w=stride[1], pad_h=pad[0], pad_w=pad[1], groups=c, ceil_mode=ceil,
                 inputs=(producer.name,) if producer else (), annotations=notes)


def _bn_layer(r: Reader, name: str, previous, by_name, batch) -> Layer | None:
    previous = _stated_shape(r, previous)
    src = r.string("input", None)
    producer = _producer(r, src, previous, by_name)
    if (src is not None or previous is _INVALID) and producer in (None, _INVALID):
        return None
    shape = _input_shape(r, "batchnorm", producer, batch)
    notes = read_annotations(r)
    r.reject_unknown(_BN_KEYS)
    if None in (shape, notes):
        return None
    n, c, h, w = shape
    folded = producer.name if producer is not None and producer.is_mac else ""
    return Layer(name=name, kind="batchnorm", N=n, C=c, H=h, W=w, M=c, R=1, S=1, groups=c,
                 inputs=(producer.name,) if producer else (), folded_into=folded, annotations=notes)


def _merge_layer(r: Reader, name: str, kind: str, by_name) -> Layer | None:
    names = r.raw("inputs", schema={"type": "array", "items": {"type": "string"}, "minItems": 2})
    notes = read_annotations(r)
    r.reject_unknown(_MERGE_KEYS)
    if names is None:
        return None
    if not isinstance(names, list) or len(names) < 2 or not all(isinstance(x, str) for x in names):
        r.error("inputs", f"must be a list of at least two layer names (got {shown(names)})")
        return None
    missing = [x for x in names if x not in by_name]
    if missing:
        r.error("inputs", f"no earlier layer is named {', '.join(map(repr, missing))}; "
                          f"an {kind} reads the outputs of layers above it")
        return None
    if any(by_name[x] is _INVALID for x in names):
        return None  # an input is invalid itself, already reported
    shapes = [output_shape(by_name[x]) for x in names]
    n, c, h, w = shapes[0]
    for x, (n2, c2, h2, w2) in zip(names[1:], shapes[1:]):
        if (n2, h2, w2) != (n, h, w) or (kind == "add" and c2 != c):
            want = "N x C x H x W" if kind == "add" else "N, H and W"
            r.error("inputs", f"{shown(x)} outputs {n2}x{c2}x{h2}x{w2} but {shown(names[0])} outputs {n}x{c}x{h}x{w}: "
                              f"the inputs of an {kind} must agree in {want}")
            return None
    if kind == "concat":
        c = sum(s[1] for s in shapes)
    if notes is None:
        return None
    return Layer(name=name, kind=kind, N=n, C=c, H=h, W=w, M=c, R=1, S=1, groups=c, inputs=tuple(names),
                 annotations=notes)


def _with_bias_defaults(layers: list[Layer], raw_layers: list) -> list[Layer]:
    """A MAC layer without a ``bias`` key has a bias unless a batchnorm is folded into it (the BN's
    shift becomes its bias at inference, so frameworks build such convs without one)."""
    folded = {layer.folded_into for layer in layers if layer.folded_into}
    out = []
    for layer, raw in zip(layers, raw_layers):
        if layer.is_mac and "bias" not in raw:
            layer = replace(layer, bias=layer.name not in folded)
        out.append(layer)
    return out


def workload_from_dict(data, file: str = "<workload>") -> Workload:
    """Validate a parsed workload mapping and build a :class:`Workload`; all problems at once."""
    check_kind(data, file, "workloads")
    top = Reader(data, file)
    name = top.string("name")
    description = top.string("description", "")
    source = top.string("source", "")
    batch = top.integer("batch", 1)
    raw_layers = top.raw("layers", schema={"type": "array", "minItems": 1})
    top.reject_unknown(("name", "description", "source", "batch", "layers"))
    layers: list[Layer] = []
    kept_raw: list = []
    if raw_layers is not None and (not isinstance(raw_layers, list) or not raw_layers):
        top.error("layers", "must be a non-empty list of layers")
        raw_layers = []
    seen: dict[str, int] = {}
    by_name: dict[str, Layer] = {}
    last = None
    for index, raw in enumerate(raw_layers or []):
        r = Reader(raw, file, f"layers[{index}]", top.problems)
        lname = r.string("name")
        kind = r.choice("type", LAYER_TYPES, hints=_TYPE_HINTS)
        r.variant = ("type", kind, False)
        if lname is not None:
            if lname in seen:
                r.error("name", f"duplicate layer name {shown(lname)} (also layers[{seen[lname]}]); names must be unique")
            seen.setdefault(lname, index)
        previous = last
        if kind == "conv":
            layer = _conv_layer(r, lname, batch or 1)
        elif kind == "gemm":
            layer = _gemm_layer(r, lname)
        elif kind in POOL_TYPES:
            layer = _pool_layer(r, lname, kind, previous, by_name, batch or 1)
        elif kind == "batchnorm":
            layer = _bn_layer(r, lname, previous, by_name, batch or 1)
        elif kind in ("add", "concat"):
            layer = _merge_layer(r, lname, kind, by_name)
        else:
            layer = None
        if layer is not None and lname is not None:
            layers.append(layer)
            kept_raw.append(raw)
        if lname is not None:
            by_name.setdefault(lname, layer if layer is not None else _INVALID)
        last = layer if layer is not None else _INVALID
    if len(raw_layers or []) > MAX_LAYERS:
        top.error("layers", f"has {len(raw_layers):,} layers; at most {MAX_LAYERS:,} (hw/README.md, Bounds)")
    volume = sum(layer.N * layer.M * layer.E * layer.F * layer.C * layer.R * layer.S + layer.ifmap_words
                 for layer in layers)
    if volume >= MAX_VOLUME:
        top.error("layers", f"the workload is too large to count exactly in 64-bit integers (loop-nest volumes and "
                            f"input sizes sum to {volume:.3e} >= 2^56); split it into smaller workloads")
    top.raise_if_problems()
    return Workload(name=name, layers=tuple(_with_bias_defaults(layers, kept_raw)),
                    description=description or "", source=source or "", file=str(file))


def load_workload(path) -> Workload:
    """Load and validate one ``workloads/*.yaml`` file."""
    return workload_from_dict(load_yaml(Path(path)), str(path))
