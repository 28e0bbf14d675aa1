"""accelsim's version string and source hash (a module of its own so that every layer may import it)."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

__version__ = "0.1.0"


@functools.lru_cache(maxsize=None)
def source_hash() -> str:
    """SHA-256 of the version and every Python source of the package: two runs with the same hash
    computed with the same code (the version string alone does not change with every edit)."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(__version__.encode() + b"\n")
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
