"""Writing an import's files: hw.yaml, workload.yaml and mapping.yaml into one folder."""
from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import AccelsimError


def write_import(out_dir, hw: dict, workload: dict | None, mapping: dict | None, force: bool = False) -> list[Path]:
    """Write the files that are not None; a non-empty ``out_dir`` is refused unless ``force``."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise AccelsimError(f"{out_dir}: folder is not empty; pass --force to overwrite its files")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in (("hw.yaml", hw), ("workload.yaml", workload), ("mapping.yaml", mapping)):
        if content is not None:
            path = out_dir / name
            path.write_text(yaml.safe_dump(content, sort_keys=False, default_flow_style=None))
            written.append(path)
    return written
