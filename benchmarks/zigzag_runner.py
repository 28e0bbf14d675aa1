"""Run ZigZag 3.9 on its own shipped hardware and mapping files and record what it reports.

Run with the interpreter that has ZigZag installed, in a virtual environment of its own
(``python -m venv zz && zz/bin/pip install zigzag-dse six``); it does not import accelsim and is
never part of the test suite. Usage::

    zz/bin/python benchmarks/zigzag_runner.py OUT_DIR [HARDWARE or CONVENTION RUN ...] [--parts]
    zz/bin/python benchmarks/zigzag_runner.py OUT_DIR --strided [HARDWARE ...]

For every hardware name (default: the shipped ``tpu_like``, ``eyeriss_like``, ``edge_tpu_like``,
``ascend_like``, ``meta_prototype``, ``tesla_npu_like``) and every layer in ``LAYERS``, and for the ``CONVENTION_RUNS``
(named, or all by default), it runs
``zigzag.api.get_hardware_performance_zigzag`` (latency-optimal temporal mapping, LOMA search)
with the shipped ``inputs/mapping/<name>.yaml`` (``meta_prototype_like.yaml`` for ``meta_prototype``) (``default.yaml`` where none ships), and writes
``OUT_DIR/<hardware>__<layer>.json``: ZigZag's version, the input files, the layer, the spatial
and temporal mapping ZigZag chose (per operand, per memory level, innermost loop first), its word
accesses per operand and level, energy per operand and level, MAC energy, latency parts (the
report's, and ``latency_parts``: ideal steps, port stall, on-loading, off-loading and systolic drain
from the cost model evaluation itself) and the wall time of the run; ``--parts`` refreshes only
``latency_parts`` of the records already in OUT_DIR. tests/data/zigzag/ holds the files this script wrote; the agreement tests
import the same hardware files with ``accelsim import zigzag`` and pin ZigZag's chosen mapping.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

HARDWARE = ("tpu_like", "eyeriss_like", "edge_tpu_like", "ascend_like", "meta_prototype", "tesla_npu_like")
#: Shipped mapping file per hardware, where the names differ.
MAPPING_FILE = {"meta_prototype": "meta_prototype_like"}
#: (name, loop sizes B K C OY OX FY FX): a ResNet-18 3x3 layer and a 1x1 pointwise layer (He et al.,
#: CVPR 2016, table 1: conv3_x and a conv4_x projection).
LAYERS = (
    ("resnet18_conv3_3x3", dict(B=1, K=128, C=128, OY=28, OX=28, FY=3, FX=3)),
    ("resnet18_conv4_1x1", dict(B=1, K=256, C=128, OY=14, OX=14, FY=1, FX=1)),
)
#: Runs that exercise ZigZag's counting conventions (docs/import.md), on the hardware named:
#: (hardware, name, loop sizes, temporal ordering innermost first or None for ZigZag's own search).
#: The first layer of the CIFAR-10 ResNets (He et al., CVPR 2016, section 4.2: 3x3, 16 filters over
#: the 3 colour channels of a 32 x 32 image) moves 3 input words a cycle, less than one 64-bit SRAM
#: access; the ResNet-18 1x1 layer with K innermost keeps each input at the SRAM's pins for 8 cycles.
CONVENTION_RUNS = (
    ("tpu_like", "resnet_cifar_conv1", dict(B=1, K=16, C=3, OY=32, OX=32, FY=3, FX=3), None),
    ("tpu_like", "resnet18_conv4_1x1_k_inner", dict(B=1, K=256, C=128, OY=14, OX=14, FY=1, FX=1),
     [["K", 8], ["C", 4], ["OX", 14], ["OY", 14]]),
)
#: Runs of a ZigZag workload file as published (hardware, workload file): ZigZag's GEMM accelerators
#: with the GEMM layer their own tests run (tests/main/test_origin/test_gemm_l1.py and
#: test_gemm_l1_l3.py upstream; the workload, zigzag/inputs/workload/gemm_layer.yaml, is not in the
#: PyPI package: tests/data/zigzag/workload/ keeps a copy).
WORKLOAD_RUNS = (
    ("gemm_l1", "gemm_layer.yaml"),
    ("gemm_l1_l3", "gemm_layer.yaml"),
)
WORKLOAD_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "zigzag" / "workload"
#: Strided layers, run on every HARDWARE with ``--strided`` (name, loop sizes, stride): ResNet-18's
#: conv3_1, a 3x3 stride-2 layer from 56 x 56 to 28 x 28, and its 1x1 stride-2 projection (He et al.,
#: CVPR 2016, table 1 and section 3.3). Each run's workload, written as ZigZag ran it, goes to
#: OUT_DIR/workload/<name>.yaml (its dimension_relations carry the stride, which the record does not).
STRIDED_LAYERS = (
    ("resnet18_conv3_1_3x3_s2", dict(B=1, K=128, C=64, OY=28, OX=28, FY=3, FX=3), 2),
    ("resnet18_conv3_1_1x1_s2", dict(B=1, K=128, C=64, OY=28, OX=28, FY=1, FX=1), 2),
)


def workload_yaml(name: str, sizes: dict, stride: int = 1) -> str:
    dims = list(sizes)
    return (f"- id: 0\n  name: {name}\n  operator_type: Conv\n"
            "  equation: O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]\n"
            f"  dimension_relations: [ix={stride}*ox+1*fx, iy={stride}*oy+1*fy]\n"
            f"  loop_dims: [{', '.join(dims)}]\n  loop_sizes: [{', '.join(str(sizes[d]) for d in dims)}]\n"
            "  operand_precision:\n    W: 8\n    I: 8\n    O: 16\n    O_final: 8\n"
            "  operand_source:\n    I: 0\n    W: 0\n")


def run_one(zigzag_inputs: Path, hardware: str, layer: str, sizes: dict, out_dir: Path, ordering=None,
            workload: Path | None = None, stride: int = 1) -> dict:
    """One ZigZag run of ``layer`` (loop ``sizes`` in ZigZag's conv dims), or of the first layer of
    the ZigZag ``workload`` file as it is (``layer`` then names the record and must be its name, or
    its id where it has none)."""
    from zigzag import __version__ as zz_version  # noqa: F401 -- older releases lack it
    from zigzag.api import get_hardware_performance_zigzag

    hw_file = zigzag_inputs / "hardware" / f"{hardware}.yaml"
    map_file = zigzag_inputs / "mapping" / f"{MAPPING_FILE.get(hardware, hardware)}.yaml"
    if not map_file.exists():
        map_file = zigzag_inputs / "mapping" / "default.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        if ordering:      # the shipped mapping, plus an entry for this layer with its temporal ordering
            import yaml
            entries = yaml.safe_load(map_file.read_text())
            default = next(e for e in entries if e["name"] == "default")
            entries.append({**default, "name": layer, "temporal_ordering": ordering})
            map_file = Path(tmp) / map_file.name
            map_file.write_text(yaml.safe_dump(entries))
        wl = workload or Path(tmp) / "workload.yaml"
        if workload is None:
            wl.write_text(workload_yaml(layer, sizes, stride))
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            get_hardware_performance_zigzag(workload=str(wl), accelerator=str(hw_file), mapping=str(map_file),
                                            opt="latency", dump_folder=str(Path(tmp) / "out"),
                                            pickle_filename=str(Path(tmp) / "out" / "cme.pickle"))
        seconds = time.perf_counter() - start
        report = json.loads((Path(tmp) / "out" / f"{layer}_complete.json").read_text())
        parts = latency_parts(Path(tmp) / "out" / "cme.pickle")
    inputs, outputs = report["inputs"], report["outputs"]
    record = {
        "source": "ZigZag (KULeuven-MICAS/zigzag) zigzag-dse " + _version() + ", get_hardware_performance_zigzag, "
                  "opt=latency; hardware and mapping files as shipped in zigzag/inputs/",
        "hardware_file": f"zigzag/inputs/hardware/{hardware}.yaml",
        "mapping_file": f"zigzag/inputs/mapping/{map_file.name}",
        **({"temporal_ordering": ordering} if ordering else {}),
        **({"workload_file": f"zigzag/inputs/workload/{workload.name}"} if workload else {}),
        "layer": {"name": layer, "loop_sizes": sizes, "operand_precision": inputs["layer"]["operand_precision"],
                  **({"stride": stride} if stride != 1 else {}),
                  **({"equation": inputs["layer"]["equation"]} if workload else {})},
        "memory_operand_links": inputs["layer"]["memory_operand_links"],
        "spatial_mapping": inputs["spatial_mapping"],
        "temporal_mapping": inputs["temporal_mapping"],
        "word_accesses": outputs["memory"]["word_accesses"],
        "energy": outputs["energy"],
        "latency": outputs["latency"],
        "latency_parts": parts,
        "seconds": seconds,
    }
    (out_dir / f"{hardware}__{layer}.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


def latency_parts(pickle_file: Path) -> dict:
    """The parts of ZigZag's latency (zigzag/cost_model/cost_model.py ``calc_overall_latency``) of the
    one cost model evaluation in ``pickle_file``: ``ideal_temporal_cycle``, ``stall_slack_comb``,
    ``data_onloading_cycle``, ``data_offloading_cycle``, ``systolic_drain_cycle``, ``latency_total2``."""
    import pickle

    cme = pickle.loads(pickle_file.read_bytes())
    while isinstance(cme, (list, tuple)):
        cme = cme[0]
    keys = ("ideal_temporal_cycle", "stall_slack_comb", "data_onloading_cycle", "data_offloading_cycle",
            "systolic_drain_cycle", "latency_total2")
    return {key: float(getattr(cme, key)) for key in keys}


def _version() -> str:
    from importlib.metadata import version
    return version("zigzag-dse")


#: ZigZag's shipped ONNX models whose layers ZigZag's own ONNX parser reads (alexnet.onnx too; accelsim
#: refuses its LRN and Softmax)
ONNX_MODELS = ("resnet18", "mobilenetv2", "alexnet")


def onnx_layer_macs(inputs: Path, out_dir: Path) -> None:
    """``OUT_DIR/onnx_layer_macs.json``: each MAC layer (Conv, Gemm, MatMul) of the shipped ONNX
    models as ZigZag's ONNX parser reads it (zigzag/parser/onnx/onnx_model_parser.py), with its MACs
    (``LayerNode.total_mac_count``), in ZigZag's topological order."""
    from zigzag.parser.onnx.onnx_model_parser import ONNXModelParser
    from zigzag.workload.layer_node import LayerNode

    out = {"source": f"ZigZag (KULeuven-MICAS/zigzag) zigzag-dse {_version()}, ONNXModelParser on "
                     "zigzag/inputs/workload/<model>.onnx with zigzag/inputs/mapping/tpu_like.yaml"}
    for model in ONNX_MODELS:
        workload = ONNXModelParser(str(inputs / "workload" / f"{model}.onnx"),
                                   str(inputs / "mapping" / "tpu_like.yaml")).run()
        out[model] = [{"name": node.name, "type": node.type, "macs": int(node.total_mac_count)}
                      for node in workload.topological_sort()
                      if isinstance(node, LayerNode) and node.type in ("Conv", "Gemm", "MatMul")]
    (out_dir / "onnx_layer_macs.json").write_text(json.dumps(out, indent=1) + "\n")


def main(argv) -> None:
    import zigzag

    logging.disable(logging.CRITICAL)
    if argv[1:] == ["onnx_macs"]:
        Path(argv[0]).mkdir(parents=True, exist_ok=True)
        onnx_layer_macs(Path(zigzag.__file__).parent / "inputs", Path(argv[0]))
        return
    parts_only = "--parts" in argv
    if "--strided" in argv:
        out_dir = Path(argv[0])
        (out_dir / "workload").mkdir(parents=True, exist_ok=True)
        inputs = Path(zigzag.__file__).parent / "inputs"
        for hardware in [a for a in argv[1:] if a != "--strided"] or HARDWARE:
            for layer, sizes, stride in STRIDED_LAYERS:
                (out_dir / "workload" / f"{layer}.yaml").write_text(workload_yaml(layer, sizes, stride))
                rec = run_one(inputs, hardware, layer, sizes, out_dir, None, stride=stride)
                print(json.dumps({"hardware": hardware, "layer": layer, "latency": rec["latency"]}), flush=True)
        return
    argv = [a for a in argv if a != "--parts"]
    out_dir = Path(argv[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = Path(zigzag.__file__).parent / "inputs"
    chosen = argv[1:]
    hardware_names = [h for h in chosen if h not in {name for _, name, _, _ in CONVENTION_RUNS}
                      and h not in {hw for hw, _ in WORKLOAD_RUNS}]
    runs = [(hw, layer, sizes, None) for hw in (hardware_names if chosen else HARDWARE) for layer, sizes in LAYERS
            if hw in HARDWARE]
    runs += [run for run in CONVENTION_RUNS if not chosen or run[1] in chosen]
    for hardware, layer, sizes, ordering in runs:
        target = out_dir / f"{hardware}__{layer}.json"
        before = json.loads(target.read_text()) if parts_only and target.exists() else None
        rec = run_one(inputs, hardware, layer, sizes, out_dir, ordering)
        if before is not None:          # --parts: refresh only the latency parts of an existing record
            before["latency_parts"] = rec["latency_parts"]
            target.write_text(json.dumps(before, indent=1, sort_keys=True) + "\n")
        print(json.dumps({"hardware": hardware, "layer": layer, "energy_pj": rec["energy"]["energy_total"],
                          "latency": rec["latency"], "seconds": round(rec["seconds"], 2)}), flush=True)
    for hardware, workload in [run for run in WORKLOAD_RUNS if not chosen or run[0] in chosen]:
        import yaml
        first = yaml.safe_load((WORKLOAD_DIR / workload).read_text())[0]
        layer = str(first.get("name") or f"Layer{first['id']}")   # ZigZag's own default name
        sizes = dict(zip(first["loop_dims"], first["loop_sizes"]))
        target = out_dir / f"{hardware}__{layer}.json"
        before = json.loads(target.read_text()) if parts_only and target.exists() else None
        rec = run_one(inputs, hardware, layer, sizes, out_dir, None, WORKLOAD_DIR / workload)
        if before is not None:
            before["latency_parts"] = rec["latency_parts"]
            target.write_text(json.dumps(before, indent=1, sort_keys=True) + "\n")
        print(json.dumps({"hardware": hardware, "layer": layer, "energy_pj": rec["energy"]["energy_total"],
                          "latency": rec["latency"], "seconds": round(rec["seconds"], 2)}), flush=True)

if __name__ == "__main__":
    main(sys.argv[1:])
