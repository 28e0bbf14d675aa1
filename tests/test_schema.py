"""JSON Schemas (schemas/*.json): generated from the spec readers, committed copies up to date,
every shipped YAML valid and referenced, and the schema rejecting what the readers reject."""
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from accelsim import schema, spec
from accelsim.cli import main
from accelsim.errors import SpecError
from accelsim.spec.workload import workload_from_dict

SCHEMAS = spec.ROOT / "schemas"


def validator(kind):
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / f"{kind}.json").read_text()))


@pytest.mark.parametrize("kind", schema.KINDS)
def test_committed_schema_is_the_generated_one(kind):
    """Regenerate with `accelsim schema all --out schemas/` when a reader changes."""
    assert json.loads((SCHEMAS / f"{kind}.json").read_text()) == schema.generate(kind)
    jsonschema.Draft202012Validator.check_schema(schema.generate(kind))


SHIPPED = [(kind, path) for kind in schema.KINDS for path in schema.builtin_files(kind)]


@pytest.mark.parametrize("kind,path", SHIPPED, ids=[str(p.relative_to(spec.ROOT)) for _, p in SHIPPED])
def test_every_shipped_yaml_is_valid_and_references_its_schema(kind, path):
    first = path.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    ref = (path.parent / first.split("$schema=")[1]).resolve()
    assert ref == (SCHEMAS / f"{kind}.json").resolve()
    validator(kind).validate(yaml.safe_load(path.read_text()))


LAYER = {"name": "c", "type": "conv", "C": 3, "H": 8, "W": 8, "M": 4, "R": 3, "S": 3}


@pytest.mark.parametrize("layer", [
    {**LAYER, "stide": 1},                                    # unknown key
    {"name": "g", "type": "gemm", "M": 1, "N": 2, "K": 3, "stride": 2},   # a conv key on a gemm
    {**LAYER, "type": "convv"},                               # unknown type
    {k: v for k, v in LAYER.items() if k != "C"},             # required key missing
    {**LAYER, "padding": -1},                                 # below the minimum
    {**LAYER, "nm": "2-4"},                                   # not n:m
    {"name": "a", "type": "add", "inputs": ["c"]},            # fewer than two inputs
])
def test_schema_rejects_what_the_reader_rejects(layer):
    doc = {"name": "w", "layers": [LAYER, layer] if layer["name"] != "c" else [layer]}
    assert not validator("workloads").is_valid(doc)
    with pytest.raises(SpecError):
        workload_from_dict(doc)


def test_schema_accepts_every_layer_type_and_annotation():
    doc = {"name": "w", "layers": [
        {**LAYER, "dilation": [1, 2], "precision": "fp16", "nm": [2, 4], "activation_density": 0.5, "bias": False},
        {"name": "bn", "type": "batchnorm"},
        {"name": "p", "type": "maxpool", "R": 2, "S": 2, "stride": 2, "ceil_mode": True},
        {"name": "q", "type": "avgpool", "input": "c"},
        {"name": "cat", "type": "concat", "inputs": ["p", "p"]},
        {"name": "g", "type": "gemm", "M": 1, "N": 2, "K": 8, "weight_density": 0.3}]}
    validator("workloads").validate(doc)
    workload_from_dict(doc)


def test_hw_and_dataflow_schemas_check_nested_keys():
    hw = yaml.safe_load((spec.ROOT / "hw" / "edge_16x16.yaml").read_text())
    v = validator("hw")
    assert v.is_valid({**hw, "sparsity": {"nm": [2, 4], "zero_skipping": True}})
    assert not v.is_valid({**hw, "sparsity": {"nm": [2, 4], "skip": True}})
    assert not v.is_valid({**hw, "dram": {"bandwidth_bytes_per_cycle": "fast"}})
    assert v.is_valid({**hw, "dram": {"bandwidth_bytes_per_cycle": "unlimited"}})
    rs = yaml.safe_load((spec.ROOT / "dataflows" / "rs.yaml").read_text())
    ws = yaml.safe_load((spec.ROOT / "dataflows" / "ws.yaml").read_text())
    assert not validator("dataflows").is_valid({**ws, "keep": ["ifmap"]})   # a loop-nest key on a systolic file
    assert not validator("dataflows").is_valid({**rs, "stationary": "ifmap"})


def test_cli_prints_and_writes(tmp_path):
    runner = CliRunner()
    out = runner.invoke(main, ["schema", "energy"])
    assert out.exit_code == 0 and json.loads(out.stdout) == schema.generate("energy")
    wrote = runner.invoke(main, ["schema", "all", "--out", str(tmp_path)])
    assert wrote.exit_code == 0 and sorted(p.name for p in Path(tmp_path).iterdir()) == sorted(
        f"{k}.json" for k in schema.KINDS)
    bad = runner.invoke(main, ["schema", "all"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: ")
    # one kind with --out: written there, not printed with --out ignored
    one = runner.invoke(main, ["schema", "hw", "--out", str(tmp_path / "one")])
    assert one.exit_code == 0 and one.output == f"wrote {tmp_path / 'one' / 'hw.json'}\n"
    assert json.loads((tmp_path / "one" / "hw.json").read_text()) == schema.generate("hw")
