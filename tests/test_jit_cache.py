"""The kernels' compile cache follows every source a kernel inlines (accelsim/kernels/jit.py).

numba keys a cached function on its own file: change a helper it inlines from another file and
the old machine code loads. accelsim's cache directory is named after a hash of every numba
source, so a changed helper means a fresh compile.
"""
from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from accelsim.kernels import jit

ROOT = Path(__file__).resolve().parents[1]
PROBE = '''from .jit import njit
from .timing import fold_cycles


@njit(cache=True)
def probe():
    return fold_cycles(4, 4, 10, False, False)
'''
RUN = ("from accelsim.kernels.probe import probe; v = probe(); "
       "print(v, sum(probe.stats.cache_hits.values()), sum(probe.stats.cache_misses.values()))")


def _copy_package(tmp_path) -> Path:
    target = tmp_path / "pkg"
    shutil.copytree(ROOT / "accelsim", target / "accelsim", ignore=shutil.ignore_patterns("__pycache__"))
    (target / "accelsim" / "kernels" / "probe.py").write_text(PROBE)
    return target


def _run(pkg: Path, cache: Path) -> tuple[int, int, int]:
    env = dict(os.environ, PYTHONPATH=str(pkg), ACCELSIM_CACHE_DIR=str(cache))
    env.pop("NUMBA_DISABLE_JIT", None)
    done = subprocess.run([sys.executable, "-c", RUN], capture_output=True, text=True, env=env, cwd=pkg, check=True)
    value, hits, misses = (int(x) for x in done.stdout.split())
    return value, hits, misses


def test_changing_an_inlined_helper_recompiles(tmp_path):
    pkg = _copy_package(tmp_path)
    cache = tmp_path / "cache"
    assert _run(pkg, cache) == (20, 0, 1)            # 2*4 + 4 + 10 - 2, compiled
    assert _run(pkg, cache) == (20, 1, 0)            # loaded from the cache
    timing = pkg / "accelsim" / "kernels" / "timing.py"
    text = timing.read_text()
    assert "return 2 * rows + cols + t - 2" in text
    timing.write_text(text.replace("return 2 * rows + cols + t - 2", "return 2 * rows + cols + t - 2 + 1000"))
    # probe.py itself is unchanged: numba's own per-file key would load the stale 20
    assert _run(pkg, cache) == (1020, 0, 1)
    assert len(list(cache.iterdir())) == 2           # one directory per source hash


def test_hash_covers_every_module_with_numba_functions():
    covered = set(jit.source_files())
    users = {p for p in (ROOT / "accelsim").rglob("*.py")
             if "__pycache__" not in p.parts and re.search(r"^\s*@njit", p.read_text(encoding="utf-8"), re.M)}
    assert users and users <= {p.resolve() for p in covered}, sorted(str(p) for p in users - covered)


def test_kernels_use_the_keyed_njit():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "accelsim").rglob("*.py")
                 if "__pycache__" not in p.parts and p.name != "jit.py"
                 and re.search(r"^from numba import .*\bnjit\b|numba\.njit", p.read_text(encoding="utf-8"), re.M)]
    assert not offenders, f"import njit from accelsim.kernels.jit: {offenders}"


def test_cache_directory_is_keyed_by_the_source_hash(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(tmp_path))
    assert jit.cache_root() == tmp_path / f"numba-{jit.source_hash()[:16]}"
    monkeypatch.delenv("ACCELSIM_CACHE_DIR")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert jit.cache_root().parent == tmp_path / "xdg" / "accelsim"


NOTICE_RUN = ("from accelsim import notices; notices.set_compile_notice(lambda w, s: print('NOTICE', w, s)); "
              "from accelsim.kernels.probe import probe; probe(); probe()")


def test_compile_notice_only_when_the_cache_cannot_serve(tmp_path):
    pkg = _copy_package(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(pkg), ACCELSIM_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("NUMBA_DISABLE_JIT", None)
    first, second = (subprocess.run([sys.executable, "-c", NOTICE_RUN], capture_output=True, text=True, env=env,
                                    cwd=pkg, check=True).stdout for _ in range(2))
    # the probe (no kind of its own) and the engine's fold_cycles it calls: one notice per kind
    assert first == f"NOTICE other None\nNOTICE engine {jit.KIND['timing'][1]}\n" and second == ""


def test_cli_prints_the_compile_notice(capsys):
    from accelsim import cli, notices
    from click.testing import CliRunner
    assert CliRunner().invoke(cli.main, ["list", "dataflows"]).exit_code == 0
    assert notices._compile["callback"] is cli._compile_notice
    cli._compile_notice("engine", 9)
    cli._compile_notice("tree engine", None)
    assert capsys.readouterr().err == ("compiling kernels, first run only, ~9 s (engine)\n"
                                       "compiling kernels, first run only (tree engine)\n")


def test_zigzag_timing_kernels_have_a_notice_of_their_own():
    """``timing: zigzag``'s kernel compiles ~10 s on top of the tree engine's ~11 s: its first run
    says so in a notice of its own (benchmarks/bench_compile.py measures both); the tree engine's
    kernels of the same file keep theirs. Every ``file.function`` key names a function there."""
    from accelsim.kernels import treetiming
    zigzag = [name for name in vars(treetiming) if name == "zigzag_batch" or name.startswith("_zz_")]
    assert len(zigzag) == 4
    for name in zigzag:
        assert jit.kind_of(treetiming.__file__, name)[0] == "zigzag timing"
    assert jit.kind_of(treetiming.__file__, "live_batch") == jit.KIND["treetiming"]
    assert jit.kind_of(treetiming.__file__, "zigzag_batch")[1] > 0
    assert jit.kind_of("accelsim/kernels/nowhere.py", "f") == ("other", None)
    for key in (k for k in jit.KIND if "." in k):
        stem, name = key.split(".")
        module = importlib.import_module(f"accelsim.kernels.{stem}")
        assert callable(getattr(module, name)), key


def test_loading_kernels_skips_numbas_blas_probe_and_blas_still_works():
    """Loading accelsim's kernels does not import scipy.linalg (numba's BLAS probe: 0.15 s CPU of
    every run); a user's numba function using np.dot afterwards still gets BLAS."""
    import importlib.util
    has_scipy = importlib.util.find_spec("scipy") is not None      # numba's np.dot needs it
    code = ("import sys, numpy as np, numba; from accelsim.kernels.timing import fold_cycles; "
            "assert fold_cycles(4, 4, 10, False, False) == 20; print('scipy.linalg' in sys.modules); "
            + ("f = numba.njit(lambda a, b: np.dot(a, b)); print(f(np.ones((2, 2)), np.ones((2, 2)))[0, 0])"
               if has_scipy else "print(2.0)"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split() == ["False", "2.0"]


def test_cached_kernels_load_with_and_without_the_fast_path(tmp_path):
    """The fast cached load uses numba internals (jit.FAST_LOAD says this numba has them); without
    them the public FunctionCache.load_overload serves the same cached code, with no recompile."""
    assert jit.FAST_LOAD   # the numba versions setup.cfg admits have them; the fallback is for later ones
    env = dict(os.environ, PYTHONPATH=str(ROOT), ACCELSIM_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("NUMBA_DISABLE_JIT", None)
    code = ("import accelsim.kernels.jit as j; j.FAST_LOAD = {fast}; from accelsim.kernels import timing; "
            "print(timing.fold_cycles(4, 4, 10, False, False), "
            "sum(timing.fold_cycles.stats.cache_hits.values()), sum(timing.fold_cycles.stats.cache_misses.values()))")
    runs = [subprocess.run([sys.executable, "-c", code.format(fast=fast)], capture_output=True, text=True,
                           env=env, check=True).stdout.split() for fast in (True, False, True)]
    assert runs[0] == ["20", "0", "1"]          # compiled into the empty cache
    assert runs[1] == runs[2] == ["20", "1", "0"]   # loaded, by either path
