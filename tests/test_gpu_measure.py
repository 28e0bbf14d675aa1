"""benchmarks/gpu/measure.py's pure-Python parts, without PyTorch: nvidia-smi and NVML readings, cuBLAS kernel
names, the time limit (soft and hard), the row sink, the run's estimate. Its GPU-only paths run on a CPU with
stand-ins in benchmarks/gpu/check_measure.py (needs PyTorch; not part of the suite)."""
from __future__ import annotations

import csv
import importlib.util
import sys
import time

import pytest

from accelsim import spec


@pytest.fixture(scope="module")
def measure():
    path = spec.ROOT / "benchmarks" / "gpu" / "measure.py"
    module_spec = importlib.util.spec_from_file_location("accelsim_measure_script_pure", path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module   # its dataclasses look their module up there
    module_spec.loader.exec_module(module)
    assert module.torch is None
    return module


def test_nvidia_smi_lines_parse_as_the_driver_prints_them(measure):
    """``--format=csv,noheader,nounits``: comma-separated values, ``[N/A]`` where unsupported, the clock-event
    reasons as ``Active`` / ``Not Active`` (nvidia-smi(1), the query-gpu section)."""
    fields = measure.SMI_QUERIES[0]
    assert measure.parse_smi("1755, 699.87, 71, Active, Not Active, [N/A]\n", fields) == {
        "sm_mhz": 1755.0, "power_w": 699.87, "temp_c": 71.0, "power_cap": True, "thermal": False, "hw_slowdown": None}
    assert measure.parse_smi("1980, 612.40\n", measure.SMI_QUERIES[2]) == {"sm_mhz": 1980.0, "power_w": 612.4}
    old = measure.SMI_QUERIES[1]
    assert measure.parse_smi("1980, 612.40, 65, Not Active, Not Active, Not Active", old)["power_cap"] is False
    # what a driver without a field prints, an empty answer, a wrong column count, no SM clock
    assert measure.parse_smi('Field "clocks_event_reasons.sw_power_cap" is not a valid field to query.\n\n', fields) is None
    assert measure.parse_smi("", fields) is None
    assert measure.parse_smi("1980, 612.40", fields) is None
    assert measure.parse_smi("[N/A], 612.40", measure.SMI_QUERIES[2]) is None


def test_nvml_reason_bits_and_the_nvidia_smi_device(measure):
    """nvml.h's clock-event reason bits: SwPowerCap 0x4, HwSlowdown 0x8, SwThermal 0x20, HwThermal 0x40,
    HwPowerBrake 0x80; nvidia-smi numbers GPUs ignoring CUDA_VISIBLE_DEVICES, so the index is mapped."""
    assert measure.reasons_from_mask(0x4) == {"power_cap": True, "thermal": False, "hw_slowdown": False}
    assert measure.reasons_from_mask(0x40 | 0x80) == {"power_cap": False, "thermal": True, "hw_slowdown": True}
    assert measure.reasons_from_mask(0x1) == {"power_cap": False, "thermal": False, "hw_slowdown": False}   # idle
    assert measure.smi_target(0, None) == "0"
    assert measure.smi_target(0, "3,5") == "3"
    assert measure.smi_target(1, "GPU-6f1c, GPU-8a2d") == "GPU-8a2d"
    assert measure.smi_target(2, "3") == "2"


def test_gpu_state_summary(measure):
    readings = [{"sm_mhz": 1980.0, "power_w": 612.4, "temp_c": 65.0, "power_cap": False},
                {"sm_mhz": 1755.0, "power_w": 699.9, "temp_c": 71.0, "power_cap": True},
                None,
                {"sm_mhz": 1740.0, "power_w": 700.1, "temp_c": 72.0, "power_cap": True}]
    assert measure.format_state(readings) == "sm 1755 MHz (1740-1980 MHz, 3 readings), 700 W, 72 C, power cap 2/3"
    assert measure.format_state([{"sm_mhz": 1980.0, "power_w": 612.4}]) == "sm 1980 MHz, 612 W"
    assert measure.format_state([]) == measure.format_state([None]) == ""


def test_gpu_state_without_a_gpu_reads_nothing(measure):
    state = measure.GpuState(0, cuda=False)
    assert state.read() is None and state.source == "none"


@pytest.mark.parametrize("name, expected", [
    # names of cuBLAS 12 kernels on Hopper GPUs as the PyTorch profiler prints them (public profiles)
    ("nvjet_tst_128x256_64x4_1x2_h_bz_coopA_TNT", {"tile": "128x256", "stages": 4, "cluster": "1x2"}),
    ("nvjet_tst_64x64_64x8_2x1_v_bz_splitK_TNT", {"tile": "64x64", "stages": 8, "cluster": "2x1", "split": "split-K"}),
    ("nvjet_tst_64x32_64x16_2x2_2cta_h_bz_splitK_TNT", {"tile": "64x32", "stages": 16, "cluster": "2x2",
                                                       "split": "split-K"}),
    ("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64_warpgroupsize1x1x1_execute_segment_k_off_kernel__5x_cublas",
     {"tile": "128x128"}),
    ("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize256x128x64_cgasize2x1x1_warpgroupsize2x1x1"
     "_execute_segment_k_on_kernel__5x_cublas", {"tile": "256x128", "cluster": "2x1", "split": "segment-K"}),
    ("sm80_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize256x128x32_stage3_warpsize4x2x1_tensor16x8x16_kernel",
     {"tile": "256x128", "stages": 3}),
    ("cutlass_80_tensorop_bf16_s16816gemm_relu_bf16_64x64_64x4_tn_align8", {"tile": "64x64", "stages": 4}),
    ("ampere_bf16_s16816gemm_bf16_128x256_ldg8_f2f_stages_64x3_tn", {"tile": "128x256", "stages": 3}),
    ("void cublasLt::splitKreduce_kernel<32, 16, int, float, __nv_bfloat16, float, __nv_bfloat16, true, false, false>"
     "(cublasLt::cublasSplitKParams<float>, float const*)", {"split": "split-K reduce"}),
    ("nvjet_tst_TNN", {}),
    ("Memset (Device)", {}),
])
def test_kernel_names_give_tile_cluster_and_k_splitting(measure, name, expected):
    assert measure.parse_kernel_name(name) == expected


def test_kernel_summary_of_one_gemm_call(measure):
    split = ["Memset (Device)", "nvjet_tst_64x64_64x8_2x1_v_bz_splitK_TNT",
             "void cublasLt::splitKreduce_kernel<32, 16, int, float>(cublasLt::cublasSplitKParams<float>)"]
    assert measure.summarize_kernels(split) == {"tile": "64x64", "cluster": "2x1", "stages": 8, "split": "split-K"}
    assert measure.summarize_kernels(["nvjet_tst_128x256_64x4_1x2_h_bz_coopA_TNT"])["split"] == "none"
    assert measure.summarize_kernels([]) == {"tile": "", "cluster": "", "stages": "", "split": "none"}


def test_soft_time_limit_skips_what_does_not_fit(measure, capsys):
    budget = measure.Budget(10.0)
    assert budget.allows("a GEMM", 1.0)
    assert not budget.allows("a long case", 60.0)
    assert budget.skipped == ["a long case"] and "skipped a long case (estimated 60 s" in capsys.readouterr().out
    late = measure.Budget(1.0, start=time.monotonic() - 2.0)
    assert not late.allows("anything") and late.grace_s == measure.GRACE[0]
    assert measure.Budget(420.0).grace_s == pytest.approx(max(measure.GRACE[0], 42.0))


def test_hard_stop_interrupts_a_running_measurement(measure):
    """The hard stop fires grace seconds after the limit, inside whatever runs, as a BaseException that
    the per-point ``except Exception`` handlers do not swallow."""
    assert not issubclass(measure.TimeLimit, Exception)
    budget = measure.Budget(0.2, grace_s=0.1)
    start = time.monotonic()
    budget.arm()
    try:
        with pytest.raises(measure.TimeLimit):
            while time.monotonic() - start < 5:
                try:
                    sum(range(1000))
                except Exception:   # noqa: BLE001 - as measure.py's loops do
                    pass
    finally:
        budget.disarm()
    assert 0.25 < time.monotonic() - start < 1.5


def test_rows_are_written_as_they_come(measure, tmp_path):
    results = measure.Results(tmp_path, profile_gemms=True)
    results.flush()
    for name in ("kernels.csv", "llm_ops.csv", "gemm_kernels.csv"):
        assert (tmp_path / name).read_text().count("\n") == 1   # the header, before anything is measured
    results.kernel({"kind": "gemm", "m": 64, "n": 4096, "k": 4096, "time_s": 1e-5, "variant": "round 1/3"})
    with (tmp_path / "kernels.csv").open() as fh:
        assert [r["variant"] for r in csv.DictReader(fh)] == ["round 1/3"]
    results.gemm_names({"m": 64, "n": 4096, "k": 4096, "kernels": "a;b"} | measure.summarize_kernels(["a", "b"]))
    with (tmp_path / "gemm_kernels.csv").open() as fh:
        assert next(csv.reader(fh)) == measure.GEMM_KERNEL_COLUMNS
    assert not list(tmp_path.glob("*.tmp"))


def test_the_prepared_run_fits_its_time_limit_and_hard_stop(measure, tmp_path, capsys):
    """The preset's estimate on a GPU and its time limit: the hard stop ends it inside the device tool's
    10-minute command limit, PyTorch's import included."""
    args = measure.parse_args(["--out", str(tmp_path), "--preset", "fused-and-variance"])
    plan = measure.estimate_plan(args)
    assert [w for w, _ in plan][:3] == ["start-up (PyTorch, the CUDA context)", "ceilings",
                                        "GEMM grid, round 1 of 3 (15 points)"]
    assert all(seconds > 0 for _, seconds in plan) and len(plan) == 3 + len(args.case) + 2
    assert sum(seconds for _, seconds in plan) < args.time_limit   # the whole run is planned to fit
    assert args.time_limit + measure.Budget(args.time_limit).grace_s <= 540
    measure.main(["--out", str(tmp_path), "--preset", "fused-and-variance", "--estimate"])
    out = capsys.readouterr().out
    assert "estimated in all on a GPU; --time-limit" in out and measure.torch is None
    assert not list(tmp_path.iterdir())   # --estimate measures and writes nothing


@pytest.mark.parametrize("bad", [["--time-limit", "0"], ["--reps", "0"], ["--head-dim", "-1"], ["--sustain", "-1"]])
def test_bad_options_are_usage_errors(measure, tmp_path, bad):
    with pytest.raises(SystemExit) as exit_info:
        measure.parse_args(["--out", str(tmp_path), *bad])
    assert exit_info.value.code == 2


def test_calibrate_says_so_when_a_parameter_runs_off_to_infinity(tmp_path):
    """GEMM rows far faster than any finite rate allows (CPU times of toy shapes labelled as an H200's
    GEMMs, as a wrong file would be): the fit fails with a clear error, not a NaN traceback, and writes
    nothing."""
    from click.testing import CliRunner

    from accelsim.cli import main
    kernels = tmp_path / "kernels.csv"
    with kernels.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["kind", "m", "n", "k", "batch", "heads", "kv_heads", "context", "variant", "time_s", "bytes"])
        for m in (1, 4, 16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384):
            out.writerow(["gemm", m, 4096, 4096, "", "", "", "", "", 1e-12 * m, ""])
    target = tmp_path / "mine.yaml"
    result = CliRunner().invoke(main, ["calibrate", "--measurements", str(kernels), "--hw", "h200", "-o", str(target)])
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert "the gemm fit did not converge" in result.output and "grew without bound" in result.output
    assert "nothing written" in result.output and not target.exists()


def test_the_estimate_matches_the_runs_made_on_an_h200(measure):
    """The three runs measure.py made on an H200 (docs/silicon.md: the held-out runs took 16 s and 12 s of
    measurement, the first 22 s with start-up; the repeat of the default run 13 s) are estimated at 1-2x
    their wall time with start-up: the estimate errs long, never short, and not by much."""
    import shlex
    doc = (spec.ROOT / "docs" / "silicon.md").read_text()
    start = doc.index("## Held-out measurements: commands")
    block = doc[start:doc.index("The first run took", start)]
    heldout = [shlex.split(c.replace("\\\n", " ")) for c in block.split("python3 benchmarks/gpu/measure.py")[1:]]
    assert len(heldout) == 2   # and the repeat: the default run, `--out OUT --time-limit 240`
    for argv, measured_s in ((heldout[0], 16.0), (heldout[1], 12.0), (["--out", "OUT", "--time-limit", "240"], 13.0)):
        estimate = sum(seconds for _, seconds in measure.estimate_plan(measure.parse_args(argv)))
        ratio = estimate / (measured_s + 6.0)
        assert ratio >= 1.0 and ratio <= 2.0, (argv[:4], estimate, ratio)
