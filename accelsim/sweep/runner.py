"""Run a sweep: chunks to local worker processes or a Dask cluster, parts to disk as they finish.

Only this process writes files: workers return each chunk as Parquet bytes (so a Dask worker on
another machine needs no shared folder), and the parts are written atomically in the order they
finish. Which worker evaluated a chunk, and when, never changes its bytes, so the consolidated
tables are byte-identical for any number of workers and any history of interruptions.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..errors import AccelsimError
from . import store
from .evaluate import evaluate_chunk
from .space import Space

_SPACE: Space | None = None     # the space, in a worker process (set once by _init_worker)


def chunk_bytes(space: Space, chunk: int) -> tuple[int, bytes]:
    """Evaluate one chunk and encode it as a tagged Parquet part (runs in a worker)."""
    lo, hi = space.chunk_range(chunk)
    return chunk, store.part_bytes(evaluate_chunk(space, chunk), space.digest(), chunk, lo, hi)


def _init_worker(space: Space, parent_pipe) -> None:
    """Keep the space, and exit as soon as the sweep process is gone: a SIGKILLed sweep must not
    leave its workers behind (they would wait for work forever). ``parent_pipe`` is the read end
    of a pipe whose only write end the sweep process holds: the kernel closes it when that process
    dies, so the read returns end-of-file then, even while the dead process is not yet reaped
    (polling its pid would still find the zombie)."""
    global _SPACE
    _SPACE = space
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is the sweep process's to handle

    def watch():
        try:
            parent_pipe.recv_bytes()                 # the sweep never writes: this returns only at EOF
        except (EOFError, OSError):
            pass
        os._exit(1)

    threading.Thread(target=watch, name="accelsim-sweep-parent-watch", daemon=True).start()


def _worker_task(chunk: int) -> tuple[int, bytes]:
    return chunk_bytes(_SPACE, chunk)


def _run_inline(space, pending, done):
    for chunk in pending:
        done(*chunk_bytes(space, chunk))


def _run_processes(space, pending, done, workers):
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["accelsim.sweep.runner"])
    queue = list(reversed(pending))
    watch_r, watch_w = context.Pipe(duplex=False)     # workers get the read end; see _init_worker
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                                 initargs=(space, watch_r)) as pool:
            running = set()
            try:
                while queue or running:
                    while queue and len(running) < 2 * workers:      # bounded: results stream to disk
                        running.add(pool.submit(_worker_task, queue.pop()))
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        done(*future.result())
            except BaseException:
                for future in running:
                    future.cancel()
                raise
    finally:                # the pool has joined its workers: closing the pipe now stops no one
        watch_w.close()
        watch_r.close()


def check_scheduler(scheduler: str) -> None:
    """Refuse a --scheduler that is no Dask address before anything is written."""
    from distributed.comm.addressing import get_address_host_port, parse_address
    try:
        if parse_address(scheduler)[0] in ("tcp", "tls", "ws", "wss"):
            get_address_host_port(scheduler)
    except ValueError as exc:
        raise AccelsimError(f"--scheduler {scheduler[:80]}: not a Dask scheduler address ({exc}); give "
                            "tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786") from None


def _run_dask(space, pending, done, scheduler):
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover -- dask[distributed] is an install requirement
        raise AccelsimError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise AccelsimError(f"--scheduler {scheduler}: cannot connect to the Dask scheduler ({exc}); start one "
                            "with `dask scheduler` and workers with `dask worker ADDRESS`") from None
    with client:
        remote_space = client.scatter(space, broadcast=True)
        prefix = f"accelsim-sweep-{space.digest()[:16]}"
        futures = [client.submit(chunk_bytes, remote_space, chunk, key=f"{prefix}-{chunk}", retries=2)
                   for chunk in pending]
        for future in as_completed(futures):
            done(*future.result())
            future.release()


def run_sweep(space: Space, out_dir: Path, workers: int | None = None, scheduler: str | None = None,
              resume: bool = False, progress: bool = True, force: bool = False) -> dict:
    """Evaluate every point of ``space`` into ``out_dir`` (see accelsim/sweep/store.py for the
    files) and return what was done: counts, errors, paths, seconds. ``workers`` local processes
    (default: all cores), or the Dask cluster at ``scheduler``; ``resume`` continues a sweep
    (``force``: also one whose finished chunks another accelsim source computed)."""
    from tqdm import tqdm

    started = time.perf_counter()
    out_dir = Path(out_dir)
    if scheduler:
        check_scheduler(scheduler)
    pending = store.prepare(out_dir, space, resume, force)
    workers = workers or os.cpu_count() or 1
    done_points = space.num_points - sum(hi - lo for lo, hi in map(space.chunk_range, pending))
    bar = tqdm(total=space.num_points, initial=done_points, unit="pt", desc=space.name, file=sys.stderr,
               disable=not progress, dynamic_ncols=True, smoothing=0.05)

    def done(chunk: int, data: bytes) -> None:
        store.write_part(out_dir, chunk, data)
        lo, hi = space.chunk_range(chunk)
        bar.update(hi - lo)

    how = "dask" if scheduler else "inline" if workers == 1 or len(pending) <= 1 else "processes"
    try:
        if how == "dask":
            _run_dask(space, pending, done, scheduler)
        elif how == "inline":
            _run_inline(space, pending, done)
        else:
            _run_processes(space, pending, done, min(workers, len(pending)))
    except KeyboardInterrupt:
        raise AccelsimError(f"interrupted; the finished chunks are saved in {out_dir}: rerun the same command "
                            "with --resume to finish the sweep") from None
    except BrokenProcessPool:
        raise AccelsimError(f"a worker process died (killed or out of memory); the finished chunks are saved in "
                            f"{out_dir}: rerun the same command with --resume to finish the sweep") from None
    finally:
        bar.close()
    try:
        summary = store.consolidate(out_dir, space)
    except KeyboardInterrupt:
        raise AccelsimError(f"interrupted while writing the tables; every chunk is saved in {out_dir}: rerun the "
                            "same command with --resume to write them") from None
    seconds = time.perf_counter() - started
    run = {"executor": how, "workers": None if how == "dask" else (1 if how == "inline" else workers),
           "scheduler": scheduler, "resumed": bool(resume), "chunks_evaluated": len(pending),
           "chunks_reused": space.num_chunks - len(pending), "seconds": round(seconds, 3)}
    manifest = store.write_manifest(out_dir, space, summary, run)
    return {**summary, "run": run, "out_dir": out_dir, "manifest": manifest}
