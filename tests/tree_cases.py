"""Input files shared by tests that run a tree under pinned mappings from the CLI."""
from __future__ import annotations

import yaml


def simba_pinned_case(folder):
    """A conv layer (C = M = 8, 6x6, 3x3) and a maxpool, and a mapping of the conv onto
    hw/trees/simba_like.yaml, written into ``folder``; returns (workload path, mapping path)."""
    workload = folder / "w.yaml"
    workload.write_text(yaml.safe_dump({"name": "w", "layers": [
        {"name": "c", "type": "conv", "C": 8, "H": 6, "W": 6, "M": 8, "R": 3, "S": 3},
        {"name": "p", "type": "maxpool", "R": 2, "S": 2, "stride": 2}]}))
    mapping = folder / "m.yaml"
    mapping.write_text(yaml.safe_dump({"layers": {"c": {
        "PEs": {"x": {"M": 2}, "y": {"C": 2}}, "VectorMACs": {"x": {"M": 4}, "y": {"C": 4}},
        "PEBuffers": {"temporal": [["E", 4], ["F", 4], ["R", 3], ["S", 3]]}}}}))
    return workload, mapping
