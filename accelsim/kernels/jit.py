"""``njit`` for accelsim's kernels: numba's, with a compile cache that follows every source it inlines.

numba keys a cached function on its own source file only (its path, modification time and size).
A kernel that inlines or calls a helper from another file (``fold_cycles`` of kernels/timing.py,
say) keeps the old machine code when only the helper changes. accelsim therefore keeps its numba
cache in a directory named after a hash of accelsim's version, numba's version and the source
of every module that defines numba functions (:data:`JIT_SOURCES`): any change to any of them is
a new, empty directory, and nothing stale can load.

Where: ``$ACCELSIM_CACHE_DIR``, else ``$NUMBA_CACHE_DIR``, else ``$XDG_CACHE_HOME/accelsim``
(``~/.cache/accelsim``), then ``numba-<hash>/``. If that cannot be written, numba's own
locations are used (its per-file keys then apply).

Every module that defines numba functions imports ``njit`` from here (tests/test_jit_cache.py
holds the rule) and is matched by :data:`JIT_SOURCES`.

A compile that the cache cannot serve calls accelsim.notices.compiling, once per process and kind
of kernel (the CLI prints "compiling kernels, first run only, ~N s (engine)").
"""
from __future__ import annotations

import hashlib
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numba
from numba.core.caching import (CompileResultCacheImpl, FunctionCache, InTreeCacheLocator,
                                UserProvidedCacheLocator, UserWideCacheLocator)
from numba.core.runtime import rtsys

from ..notices import compiling
from ..version import __version__

PACKAGE = Path(__file__).resolve().parents[1]
#: Modules (globs relative to the package) whose numba functions may call or inline each other.
JIT_SOURCES = ("kernels/*.py", "rtl/model.py", "serve/kernel.py")

#: What each numba source compiles for (the first-run notice names it; a ``file.function`` key gives
#: one function a kind of its own) and its first-run compile time in CPU seconds, each kind's own
#: (benchmarks/bench_compile.py: exclusive compile CPU per function, numba's own helpers counted in
#: their caller), with an empty cache on the 2-core CI machine kind at load 1-2, one ResNet-18 3x3
#: layer. A run prints one notice per kind it compiles, so the notices of a path add up to its
#: first run: systolic (edge_16x16, ws) engine 6.0 s; ``--fidelity cycle`` engine 6.1 + cycle
#: level 3.4 s; a loop-nest dataflow (eyeriss, rs) mapper 14.1 + N-level (tree) engine 10.5 + two-level
#: engine 4.5 s (30.8 s in all; 33.9 s at load 2, 41.4 s while the multicast search also compiled
#: the exhaustive one, 27.9 s when the search costed with its closed form); an architecture tree
#: (simba_like, pinned or mapped) tree engine 10.3-11.7 s; under ``timing: zigzag`` its latency
#: kernel 9.3 s more; the serving scheduler 15-26 s, docs/serving.md. None where not measured.
KIND = {"systolic": ("engine", 6), "loopnest": ("engine", 6), "timing": ("engine", 6), "intmath": ("engine", 6),
        "cycle": ("cycle level", 4), "mapspace": ("mapper", 15), "mapsearch": ("mapper", 15), "shorthand": ("mapper", 15),
        "nest": ("tree engine", 11), "treetiming": ("tree engine", 11), "model": ("RTL model", None),
        "kernel": ("serving scheduler", 20),
        **dict.fromkeys(("treetiming.zigzag_batch", "treetiming._zz_footprint", "treetiming._zz_top",
                         "treetiming._zz_reduce_ordered"), ("zigzag timing", 10))}


def kind_of(py_file: str, name: str) -> tuple:
    """(what, seconds) of the notice for function ``name`` of source ``py_file``: :data:`KIND`'s
    entry for ``stem.name`` (a kind of its own within a file), else for the file's stem."""
    stem = Path(py_file).stem
    return KIND.get(f"{stem}.{name}") or KIND.get(stem, ("other", None))


def source_files() -> list[Path]:
    return sorted({p for pattern in JIT_SOURCES for p in PACKAGE.glob(pattern)})


def source_hash() -> str:
    """sha256 over accelsim's and numba's versions and every file of :data:`JIT_SOURCES`."""
    digest = hashlib.sha256(f"accelsim {__version__} numba {numba.__version__}\n".encode())
    for path in source_files():
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\n")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_root() -> Path:
    base = os.environ.get("ACCELSIM_CACHE_DIR") or os.environ.get("NUMBA_CACHE_DIR")
    if not base:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "accelsim"
    return Path(base) / f"numba-{source_hash()[:16]}"


CACHE_DIR = cache_root()


@contextmanager
def _without_blas_probe():
    """Inside, numba's numpy support (numba.np.arraymath) imports without its start-up BLAS probe.

    When first imported, numba.np.arraymath imports scipy.linalg (0.13-0.15 s of CPU, a sixth of
    a warm one-layer ``accelsim run``) only to decide whether its private inner-product helper
    (np.convolve, np.correlate) may call BLAS. accelsim's kernels use no BLAS. With the probe
    failing, that helper loops in numba-compiled code instead; np.dot and np.linalg still find BLAS
    when a function that uses them compiles. Nothing changes when numba's numpy support or
    scipy.linalg is already imported."""
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        yield
        return
    sys.modules["scipy.linalg.cython_blas"] = None    # makes `import scipy.linalg.cython_blas` fail
    try:
        yield
    finally:
        sys.modules.pop("scipy.linalg.cython_blas", None)


def _import_numba_numpy_support() -> None:
    """Import numba's numpy support without its BLAS probe (called before a cache miss compiles;
    loading a cached function imports only the numba modules its code refers to)."""
    with _without_blas_probe():
        import numba.np.arraymath  # noqa: F401


class _KeyedLocator(UserProvidedCacheLocator):
    """numba's user-directory locator, rooted at :data:`CACHE_DIR` whatever numba's config says."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = str(CACHE_DIR / self.get_suitable_cache_subpath(py_file))

    @classmethod
    def from_function(cls, py_func, py_file):
        # skip UserProvidedCacheLocator's check of numba's CACHE_DIR setting
        return super(UserProvidedCacheLocator, cls).from_function(py_func, py_file)


class _KeyedImpl(CompileResultCacheImpl):
    _locator_classes = [_KeyedLocator, InTreeCacheLocator, UserWideCacheLocator]


#: Whether this numba has the private methods the fast cached load uses (numba 0.60-0.68 do); a
#: later numba without them loads through FunctionCache.load_overload, only ~0.15 s slower.
FAST_LOAD = all(hasattr(FunctionCache, name) for name in ("_load_overload", "_guard_against_spurious_io_errors"))


class _KeyedCache(FunctionCache):
    _impl_class = _KeyedImpl

    def load_overload(self, sig, target_context):
        # numba's FunctionCache.load_overload first refreshes the target context: it imports and
        # installs every typing and lowering registry (~100 modules, 0.15 s of CPU per process),
        # which only compiling needs (the compiler refreshes both contexts itself, so a later
        # compile in the same process still sees them). Rebuilding a cached function needs none.
        # A cached function's environments import the numba modules its code came from: a kernel
        # with an array reduction (``a.max()``, ``a.sum()``) imports numba.np.arraymath, hence
        # scipy.linalg unless the BLAS probe is off (the tree engine's kernels: 0.13 s a run).
        with _without_blas_probe():
            if FAST_LOAD:
                rtsys.initialize(target_context)   # what cached code does need: the runtime's allocator
                with self._guard_against_spurious_io_errors():
                    result = self._load_overload(sig, target_context)
            else:   # a numba without these private methods: its public path, registries refreshed
                result = super().load_overload(sig, target_context)
        if result is None:   # numba compiles next
            _import_numba_numpy_support()
            compiling(*kind_of(self._impl.locator._py_file, self._py_func.__name__))
        return result


def njit(*args, cache: bool = False, **options):
    """numba.njit; ``cache=True`` caches in :data:`CACHE_DIR` (see the module docstring)."""
    if args and callable(args[0]):
        return njit(cache=cache, **options)(args[0])

    def decorate(func):
        dispatcher = numba.njit(*args, **options)(func)
        if cache:
            dispatcher._cache = _KeyedCache(func)   # what Dispatcher.enable_caching does
        return dispatcher
    return decorate
