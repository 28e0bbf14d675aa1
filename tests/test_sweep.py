"""accelsim sweep: the space, rows equal to accelsim.simulate point by point, per-point totals equal
results.totals, errors recorded, byte-identical tables for any worker count, on Dask, and after
SIGKILLs at random instants followed by --resume."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import accelsim
from accelsim import results, spec
from accelsim.cli import main
from accelsim.errors import AccelsimError, SpecError
from accelsim.sweep.evaluate import COLUMNS
from accelsim.sweep.runner import run_sweep
from accelsim.sweep.space import build_space

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
TABLES = ("results.parquet", "results.csv", "points.parquet", "points.csv")
SMALL = {"hw": "tpu_v1,eyeriss", "workload": "alexnet,gemm_example", "dataflow": "ws,os,is",
         "array": "8x8,16x12,32x32", "sram_kb": "64,128/64/32", "dram_bw": "4,unlimited", "chunk_size": 7}


def _identical(a: Path, b: Path):
    for name in TABLES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "small"
    summary = run_sweep(build_space(dict(SMALL)), out, workers=1, progress=False)
    return out, summary


def test_points_in_documented_order():
    space = build_space(dict(SMALL))
    assert space.shape == (2, 2, 3, 2, 2, 3) and space.num_points == 144 and space.num_chunks == 21
    w, b, f, s, d, a = space.axis_indices(np.arange(144))
    assert list(a[:4]) == [0, 1, 2, 0] and list(d[:7]) == [0, 0, 0, 1, 1, 1, 0]       # array innermost
    assert list(f[[0, 11, 12, 35, 36]]) == [0, 0, 1, 2, 0] and b[35] == 0 and b[36] == 1
    assert w[71] == 0 and w[72] == 1                                                   # workload outermost
    assert space.point_hardware(13).array_rows == 16 and space.point_hardware(13).sram_ifmap.size_bytes == 65536
    hw = space.hardware(0, 1, 1, 0)
    assert (hw.array_rows, hw.array_cols, hw.dram_bandwidth_bytes_per_cycle) == (16, 12, 4.0)
    assert (hw.sram_ifmap.size_bytes, hw.sram_filter.size_bytes, hw.sram_ofmap.size_bytes) == (131072, 65536, 32768)
    assert space.chunk_range(20) == (140, 144)


def test_rows_equal_simulate_point_by_point(small_sweep):
    """Every point's rows are exactly what accelsim.simulate gives for its hw (the base with the
    swept fields replaced), computed one point at a time by the unbatched engine path."""
    out, _ = small_sweep
    space = build_space(dict(SMALL))
    table = pd.read_parquet(out / "results.parquet")
    ok = table[table["error"].isna()]
    assert ok["point"].nunique() == 72                                  # the systolic base's points
    for point, rows in ok.groupby("point"):
        w, b, f, s, d, a = (int(i[0]) for i in space.axis_indices(np.array([point])))
        hw = space.hardware(b, a, s, d)
        ref = accelsim.simulate(hw, space.workloads[w], space.dataflows[f], energy_table=space.energy_tables[b])
        assert list(rows["layer"]) == list(ref["layer"])
        assert (rows["array_rows"] == hw.array_rows).all() and (rows["num_pes"] == hw.num_pes).all()
        for col in ref.columns:
            if col in ("workload", "hw", "dataflow", "timing"):
                assert (rows[col].to_numpy() == ref[col].to_numpy()).all()
                continue
            np.testing.assert_array_equal(rows[col].to_numpy(), ref[col].to_numpy(), err_msg=f"{point} {col}")


def test_point_totals_equal_results_totals(small_sweep):
    out, _ = small_sweep
    points = pd.read_parquet(out / "points.parquet")
    rows = pd.read_parquet(out / "results.parquet")
    assert list(points["point"]) == list(range(144))
    for point in (0, 17, 71, 100, 143):
        sel = rows[rows["point"] == point]
        if sel["error"].notna().any():
            continue
        ref = results.totals(sel.drop(columns=["mapping", "mapper_objective"]), int(sel["num_pes"].iloc[0])).iloc[0]
        got = points.set_index("point").loc[point]
        for col in ("macs", "total_cycles", "compute_cycles", "stall_cycles", "dram_bytes", "energy_pj_mac"):
            assert got[col] == ref[col], col
        assert got["pe_utilization"] == ref["pe_utilization"]
        assert got["energy_pj"] == pytest.approx(ref["energy_pj"], rel=1e-12)
        assert got["layers"] == len(sel)


def test_errors_are_rows_and_the_sweep_goes_on(small_sweep):
    out, summary = small_sweep
    rows = pd.read_parquet(out / "results.parquet")
    failed = rows[rows["error"].notna()]
    assert set(failed["hw"]) == {"eyeriss"} and len(failed) == 72 == failed["point"].nunique()
    assert failed["error"].str.contains("array.interconnect is multicast").all()
    assert failed["layer"].isna().all() and failed["macs"].isna().all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"points": 144, "chunks": 21, "rows": 72 + 72 * 5 // 2 + 72 * 3 // 2, "error_points": 72}
    assert manifest["errors"][0]["point"] == 36 and "interconnect" in manifest["errors"][0]["error"]
    assert manifest["space"]["axes"] == ["workload", "hw", "dataflow", "sram_kb", "dram_bw", "array"]
    assert set(manifest["inputs"]) >= {"hw:tpu_v1", "hw:eyeriss", "workload:alexnet", "dataflow:ws",
                                       "energy:horowitz_45nm"}
    assert len(manifest["inputs"]["hw:tpu_v1"]["sha256"]) == 64
    assert manifest["space"]["array"] == ["8x8", "16x12", "32x32"] and manifest["space"]["points"] == 144
    assert summary["counts"]["error_points"] == 72


def test_columns_cover_accelsim_run():
    """The sweep table keeps every column of accelsim run except wall-clock mapper_seconds."""
    systolic = accelsim.simulate("tpu_v1", "alexnet", "ws").columns
    assert set(systolic) <= set(COLUMNS)
    assert {"mapping", "mapper_objective", "mapper_evaluated", "mapper_valid", "mapper_complete", "error",
            "point", "array_rows", "array_cols", "num_pes", "sram_ifmap_kib", "dram_bandwidth_bytes_per_cycle"} <= set(COLUMNS)
    assert "mapper_seconds" not in COLUMNS


def test_loopnest_points_equal_simulate(tmp_path):
    work = tmp_path / "tiny.yaml"
    work.write_text("name: tiny\nlayers:\n  - {name: c1, type: conv, N: 1, C: 4, H: 8, W: 8, M: 8, R: 3, S: 3}\n")
    space = build_space({"hw": "eyeriss", "workload": str(work), "dataflow": "rs,nlr", "array": "12x14,8x8"})
    run_sweep(space, tmp_path / "out", workers=1, progress=False)
    rows = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert rows["error"].isna().all() and len(rows) == 4
    for _, row in rows.iterrows():
        hw = space.hardware(0, 0 if row["array_rows"] == 12 else 1, 0, 0)
        ref = accelsim.simulate(hw, space.workloads[0], row["dataflow"]).iloc[0]
        for col in ("total_cycles", "macs", "dram_bytes", "mapping", "energy_pj"):
            assert row[col] == ref[col], col


def test_workers_invariance_and_dask(tmp_path, small_sweep):
    reference, _ = small_sweep
    space = build_space(dict(SMALL))
    summary = run_sweep(space, tmp_path / "w2", workers=2, progress=False)
    assert summary["run"]["executor"] == "processes"
    _identical(reference, tmp_path / "w2")
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        result = CliRunner().invoke(main, ["sweep", "--hw", SMALL["hw"], "--workload", SMALL["workload"],
                                           "--dataflow", SMALL["dataflow"], "--array", SMALL["array"],
                                           "--sram-kb", SMALL["sram_kb"], "--dram-bw", SMALL["dram_bw"],
                                           "--chunk-size", "7", "--quiet", "--out", str(tmp_path / "dask"),
                                           "--scheduler", cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    _identical(reference, tmp_path / "dask")
    assert json.loads((tmp_path / "dask" / "manifest.json").read_text())["run"]["executor"] == "dask"


def test_sweep_yaml_and_cli_output(tmp_path):
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: mini\nhw: edge_16x16\nworkload: [gemm_example]\ndataflow: [ws, os]\n"
                     "array: [8x8, [4, 16]]\ndram_bw: [unlimited]\n")
    out = tmp_path / "mini"
    result = CliRunner().invoke(main, ["sweep", str(sweep), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "4 points, 12 rows" in result.output
    table = pd.read_csv(out / "results.csv")
    assert list(table.columns) == COLUMNS and list(table["point"]) == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    assert list(table["array_cols"][::3]) == [8, 16, 8, 16] and list(table["dataflow"][::3]) == ["ws", "ws", "os", "os"]
    assert (table["dram_bandwidth_bytes_per_cycle"] == np.inf).all()
    again = CliRunner().invoke(main, ["sweep", str(sweep), "--out", str(out)])
    assert again.exit_code == 1 and "--resume" in again.output and "Traceback" not in again.output
    resumed = CliRunner().invoke(main, ["sweep", str(sweep), "--out", str(out), "--resume"])
    assert resumed.exit_code == 0 and "0 chunks evaluated, 1 reused" in resumed.output
    assert "mini: 100%" in resumed.output and "4/4" in resumed.output and "pt/s" in resumed.output   # progress bar
    other = CliRunner().invoke(main, ["sweep", str(sweep), "--out", str(out), "--resume", "--array", "8x8"])
    assert other.exit_code == 1 and "different sweep" in other.output


def test_bad_space_names_file_and_key(tmp_path):
    sweep = tmp_path / "bad.yaml"
    sweep.write_text("hw: tpu_v1\nworkload: resnet5\ndataflow: [ws]\narray: [8x8, 8by8]\nsram-kb: [64]\n"
                     "dram_bw: [-1]\n")
    result = CliRunner().invoke(main, ["sweep", str(sweep)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    text = result.output
    assert f"{sweep}: array[1]: must be ROWSxCOLS" in text
    assert f"{sweep}: sram-kb: unknown key (did you mean 'sram_kb'?)" in text
    assert f"{sweep}: dram_bw: must be bytes per cycle > 0" in text
    assert "resnet5: no such file" in text and "did you mean 'resnet50'" in text
    with pytest.raises(SpecError, match="command line: dataflow: required"):
        build_space({"hw": "tpu_v1", "workload": "alexnet"})
    with pytest.raises(SpecError, match="sram_kb: .*IFMAP/FILTER/OFMAP"):
        build_space({"hw": "tpu_v1", "workload": "alexnet", "dataflow": "ws", "sram_kb": "1/2"})
    with pytest.raises(AccelsimError, match="array: lists the same value twice"):
        build_space({"hw": "tpu_v1", "workload": "alexnet", "dataflow": "ws", "array": "8x8,8X8"})


def _sweep_cmd(out, *extra):
    return [sys.executable, "-m", "accelsim.cli", "sweep", "--hw", "tpu_v1", "--workload", "resnet50",
            "--dataflow", "ws,os,is", "--array", "8x8,16x16,24x24,32x32,48x48,64x64,128x128,256x256",
            "--sram-kb", "32,256", "--dram-bw", "4,16,unlimited", "--chunk-size", "3", "--quiet",
            "--out", str(out), *extra]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    reference = tmp_path_factory.mktemp("uninterrupted") / "out"
    done = subprocess.run(_sweep_cmd(reference, "--workers", "1"), cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return reference


def _wait_for_parts(out, count, proc):
    deadline = time.monotonic() + 120
    while len(list((out / "parts").glob("*.parquet"))) < count and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)


def _check_complete(out, reference):
    _identical(reference, out)
    rows = pq.read_table(out / "results.parquet").to_pandas()
    assert not rows.duplicated(["point", "layer_index"]).any()
    assert sorted(rows["point"].unique()) == list(range(144)) and len(rows) == 144 * len(spec.load("workloads", "resnet50").layers)
    assert not list(out.rglob("*.tmp"))


def test_sigkill_at_random_instants_then_resume(tmp_path, uninterrupted):
    """SIGKILL `accelsim sweep` (2 workers) at random moments, several times, resume each time;
    the final tables equal an uninterrupted single-worker run byte for byte, with no duplicate or
    missing row, and no worker outlives its killed sweep."""
    rng = random.Random(8)
    out = tmp_path / "killed"
    kills = 0
    children = []
    for i, target in enumerate(sorted(rng.sample(range(1, 40), 3)) + [None]):
        log = (tmp_path / f"stderr{i}.txt").open("w")
        proc = subprocess.Popen(_sweep_cmd(out, "--workers", "2", *(["--resume"] if i else [])), cwd=ROOT, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=log)
        if target is None:
            assert proc.wait(timeout=300) == 0, (tmp_path / f"stderr{i}.txt").read_text()
            break
        _wait_for_parts(out, target, proc)
        time.sleep(rng.uniform(0, 0.05))
        if proc.poll() is None:
            kills += 1
            children += psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert kills >= 2
    _, alive = psutil.wait_procs(children, timeout=10)   # workers notice the dead sweep and exit
    assert not alive
    _check_complete(out, uninterrupted)


def test_ctrl_c_and_worker_crash_then_resume(tmp_path, uninterrupted):
    out = tmp_path / "interrupted"
    proc = subprocess.Popen(_sweep_cmd(out, "--workers", "2"), cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_for_parts(out, 5, proc)
    proc.send_signal(signal.SIGINT)                       # Ctrl-C
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "Error: interrupted" in err and "--resume" in err and "Traceback" not in err
    proc = subprocess.Popen(_sweep_cmd(out, "--workers", "2", "--resume"), cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_parts(out, 15, proc)
    workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
               if p.ppid() != proc.pid]                   # the pool's processes (children of the forkserver)
    assert workers
    workers[0].kill()                                     # a worker crash
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "a worker process died" in err and "Traceback" not in err, err
    done = subprocess.run(_sweep_cmd(out, "--workers", "2", "--resume"), cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    _check_complete(out, uninterrupted)


def test_timing_and_energy_overrides_reach_every_row():
    """--timing scalesim and --energy TABLE: the batched rows equal accelsim.simulate with the same
    overrides (SCALE-Sim's cycle conventions and another energy table)."""
    from accelsim.sweep.evaluate import evaluate_chunk
    space = build_space({"hw": "scalesim_default", "workload": "alexnet", "dataflow": "ws,os,is",
                         "array": "8x8,32x16", "dram_bw": "2,unlimited", "timing": "scalesim",
                         "energy": "accelergy_65nm"})
    rows = evaluate_chunk(space, 0).to_pandas()
    assert set(rows["timing"]) == {"scalesim"} and set(rows["energy_table"]) == {"accelergy_65nm"}
    for point, got in rows.groupby("point"):
        hw = space.point_hardware(point)
        w, b, f, s, d, a = np.unravel_index(point, space.shape)
        ref = accelsim.simulate(hw, "alexnet", space.dataflows[f], timing="scalesim", energy_table="accelergy_65nm")
        for col in ("compute_cycles", "total_cycles", "sram_ifmap_reads", "dram_bytes", "energy_pj", "compute_utilization"):
            np.testing.assert_array_equal(got[col].to_numpy(), ref[col].to_numpy(), err_msg=f"{point} {col}")


def test_batched_group_equals_simulate_without_falling_back():
    # the batched path itself (not the one-point fallback it has for failing groups) gives every
    # point exactly what accelsim.simulate gives, on a network with vector-unit layers and with
    # finite array-side bandwidths (per-row PE counts scale the register-file limit)
    import dataclasses

    from accelsim.sweep import evaluate
    space = build_space({"hw": "tpu_v1", "workload": "resnet18", "dataflow": "ws", "array": "8x8,32x16"})
    base = dataclasses.replace(space.bases[0], sram_bandwidth_words_per_cycle=8.0, rf_bandwidth_words_per_cycle=0.25)
    space = dataclasses.replace(space, bases=(base,))
    ids = evaluate._point_columns(space, np.arange(2, dtype=np.int64))
    frame = evaluate._systolic_group(space, ids, 0, 0, 0, 0)
    for point in range(2):
        hw = space.hardware(0, point, 0, 0)
        ref = accelsim.simulate(hw, space.workloads[0], space.dataflows[0], energy_table=space.energy_tables[0])
        rows = frame[frame["point"] == point]
        for col in ("total_cycles", "stall_rf_bandwidth_cycles", "stall_sram_bandwidth_cycles", "energy_pj", "unit"):
            assert list(rows[col]) == list(ref[col]), col
    assert (frame["stall_rf_bandwidth_cycles"] > 0).any() and (frame["stall_sram_bandwidth_cycles"] > 0).any()


def test_all_points_failed_exits_1_and_keeps_the_tables(tmp_path):
    """Every point failing is a failed sweep (exit 1, the first error named); some failing is
    exit 0 with the count printed. The tables are written either way."""
    out = tmp_path / "all_failed"
    result = CliRunner().invoke(main, ["sweep", "--hw", "eyeriss", "--workload", "gemm_example", "--dataflow", "ws",
                                       "--array", "8x8,16x16", "--quiet", "--out", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "Error: all 2 points failed" in result.output and "interconnect" in result.output
    assert len(pd.read_parquet(out / "points.parquet")) == 2 and (out / "manifest.json").exists()
    some = CliRunner().invoke(main, ["sweep", "--hw", "eyeriss,edge_16x16", "--workload", "gemm_example",
                                     "--dataflow", "ws", "--quiet", "--out", str(tmp_path / "some")])
    assert some.exit_code == 0 and "1 point failed (their rows carry" in some.output, some.output


def test_internal_errors_propagate_user_errors_become_rows(monkeypatch):
    """A bug in the engine (any exception but AccelsimError) stops the sweep with its traceback,
    in the batched path and in the one-point path; a user error becomes the point's error row."""
    from accelsim import model
    from accelsim.sweep.evaluate import evaluate_chunk
    space = build_space({"hw": "edge_16x16", "workload": "gemm_example", "dataflow": "ws", "array": "8x8,16x16"})

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")
    monkeypatch.setattr(model, "simulate_points", bug)
    with pytest.raises(ZeroDivisionError):
        evaluate_chunk(space, 0)

    def user_error(*args, **kwargs):
        raise AccelsimError("cannot map this point")
    monkeypatch.setattr(model, "simulate_points", user_error)
    monkeypatch.setattr(model, "simulate", bug)
    with pytest.raises(ZeroDivisionError):
        evaluate_chunk(space, 0)
    monkeypatch.setattr(model, "simulate", user_error)
    rows = evaluate_chunk(space, 0).to_pandas()
    assert list(rows["error"]) == ["cannot map this point"] * 2


def test_workers_exit_when_the_sweep_is_killed_and_not_reaped(tmp_path):
    """SIGKILL the sweep process and leave it a zombie (nobody waits for it, so its pid stays taken):
    its workers notice through their pipe from it and exit, the forkserver with them."""
    out = tmp_path / "orphans"
    proc = subprocess.Popen(_sweep_cmd(out, "--workers", "2"), cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_for_parts(out, 2, proc)
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 3                         # the forkserver and two workers
        os.kill(proc.pid, signal.SIGKILL)                 # no proc.wait(): the sweep stays a zombie
        time.sleep(0.5)
        assert psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE
        _, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, [(p.pid, p.name()) for p in alive]
    finally:
        proc.kill()
        proc.wait()


def test_corrupted_or_tampered_parts_are_recomputed(tmp_path):
    """A part whose pages are damaged but whose footer is intact, and a valid Parquet part whose
    values were edited, both fail their checksum: --resume recomputes them and the tables equal the
    original run's; consolidating a damaged part names it instead of crashing."""
    import pyarrow as pa

    from accelsim.sweep import store
    values = {"hw": "edge_16x16", "workload": "alexnet", "dataflow": "ws,os", "array": "8x8,16x16", "chunk_size": 1}
    space = build_space(dict(values))
    reference = tmp_path / "reference"
    run_sweep(space, reference, workers=1, progress=False)
    out = tmp_path / "damaged"
    run_sweep(space, out, workers=1, progress=False)
    damaged, tampered = store.part_path(out, 1), store.part_path(out, 2)
    data = bytearray(damaged.read_bytes())
    data[100:160] = bytes(60)                             # pages zeroed, footer intact
    damaged.write_bytes(bytes(data))
    assert pq.read_metadata(damaged).num_rows > 0       # the footer still reads fine
    table = pq.read_table(tampered)
    cycles = pa.array(np.asarray(table["total_cycles"]) + 1)
    pq.write_table(table.set_column(table.schema.get_field_index("total_cycles"), "total_cycles", cycles),
                   tampered, **store.PARQUET_OPTIONS)   # a valid file, same tag, other values
    with pytest.raises(AccelsimError, match=str(damaged)):
        store.consolidate(out, space)
    summary = run_sweep(space, out, workers=1, progress=False, resume=True)
    assert summary["run"]["chunks_evaluated"] == 2 and summary["run"]["chunks_reused"] == 2
    _identical(reference, out)


def test_resume_refuses_results_of_another_source_without_force(tmp_path, monkeypatch):
    """The resume check covers accelsim's source, not only its version string: a sweep resumed
    after a code change would mix two versions' results, so it needs --force, which records both."""
    from accelsim.sweep import store
    from accelsim.version import source_hash
    values = {"hw": "tpu_v1", "workload": "gemm_example", "dataflow": "ws", "array": "8x8,16x16", "chunk_size": 1}
    out = tmp_path / "out"
    run_sweep(build_space(dict(values)), out, workers=1, progress=False)
    store.part_path(out, 1).unlink()                                 # an unfinished sweep
    assert json.loads((out / "sweep.json").read_text())["sources"] == [source_hash()]
    monkeypatch.setattr(store, "source_hash", lambda: "f" * 64)      # accelsim's code changed since
    with pytest.raises(AccelsimError, match="another accelsim source"):
        run_sweep(build_space(dict(values)), out, workers=1, resume=True, progress=False)
    result = CliRunner().invoke(main, ["sweep", "--hw", "tpu_v1", "--workload", "gemm_example", "--dataflow", "ws",
                                       "--array", "8x8,16x16", "--chunk-size", "1", "--out", str(out), "--resume",
                                       "--quiet"])
    assert result.exit_code == 1 and "--force" in result.output
    summary = run_sweep(build_space(dict(values)), out, workers=1, resume=True, progress=False, force=True)
    assert summary["run"]["chunks_evaluated"] == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["accelsim_sources"] == [source_hash(), "f" * 64]


def test_ctrl_c_while_writing_the_tables_says_how_to_finish(tmp_path, monkeypatch):
    """Ctrl-C after the last chunk, while the tables are written: the same `Error: interrupted ...
    --resume` as during the chunks (it was click's bare `Aborted!`), and --resume writes them."""
    from accelsim.sweep import store
    space = build_space({"hw": "tpu_v1", "workload": "alexnet", "dataflow": "ws,os", "array": "8x8,16x16"})
    consolidate = store.consolidate

    def interrupted(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(store, "consolidate", interrupted)
    with pytest.raises(AccelsimError, match=r"interrupted while writing the tables; every chunk is saved in .*"
                                            r"rerun the same command with --resume"):
        run_sweep(space, tmp_path / "out", workers=1, progress=False)
    monkeypatch.setattr(store, "consolidate", consolidate)
    done = run_sweep(space, tmp_path / "out", workers=1, progress=False, resume=True)
    assert done["run"]["chunks_evaluated"] == 0 and (tmp_path / "out" / "points.csv").exists()
