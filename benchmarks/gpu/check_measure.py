"""Run measure.py's GPU-only code on a CPU, with stand-ins for what only a CUDA GPU has, and check what it writes.

measure.py's ``--smoke`` mode runs on a CPU but skips everything that needs CUDA: events, graphs, the
sustained-load timing with the SM clock sampled, the profiler's kernel names and counts, the hard stop of
the time limit. This script runs those paths, the prepared ``--preset fused-and-variance`` run end to end
on scaled-down shapes, with these stand-ins installed on ``torch.cuda`` (each call is first bound to the
real function's signature, so a call the real API would reject fails here too):

- ``Event``: ``record`` notes ``time.perf_counter()``; ``elapsed_time`` returns milliseconds, as CUDA's;
- ``CUDAGraph`` / ``graph``: capture records the function the capturing frame calls as ``fn`` and
  ``replay`` calls it again; during a capture, ``synchronize``, ``empty_cache``, an event's
  ``synchronize`` / ``query`` and a tensor's ``item`` / ``tolist`` / ``cpu`` / ``numpy`` / ``bool`` raise,
  as they do on a GPU ("operation not permitted when stream is capturing"), and so does a torch.compile
  compile inside the capture (on a GPU it reads the CUDA RNG state and may benchmark kernels);
- ``Stream`` / ``current_stream`` / ``stream``: no-op streams; ``get_device_name``: ``NVIDIA H200``;
- ``torch.profiler.profile``: the real profiler on the CPU (with Inductor's C++ kernels named), each op
  that would launch GPU kernels turned into ``FunctionEvent`` objects of device type CUDA named as on a
  Hopper GPU (``nvjet_tst_128x256_64x4_1x2_h_bz_coopA_TNT``; m <= 64 a split-K GEMM plus cuBLASLt's
  ``splitKreduce_kernel`` and a ``Memset (Device)``; Inductor's kernels as ``triton_*_fused_*``), beside
  the CPU events a real profile also has;
- ``nvidia-smi``: a script on ``PATH`` that prints ``--query-gpu ... --format=csv,noheader,nounits`` lines
  (``1755, 690.12, 71, Active, ...``), rejecting the ``clocks_event_reasons.*`` names as drivers before
  R535 do, so the fallback to ``clocks_throttle_reasons.*`` runs; NVML through ``torch.cuda.clock_rate``
  and the bit masks of ``pynvml`` in a second pass.

    python benchmarks/gpu/check_measure.py --out /tmp/check     # needs PyTorch (a CPU build will do) and a C compiler
    python benchmarks/gpu/check_measure.py --load /tmp/check                          # accelsim: calibrate, silicon_table

The first command exits 1 listing every failed check; the second reads the files with accelsim's
measurement reader, predicts every row, prints silicon_table.py's tables and calibrates on them. The
numbers are CPU times: only the formats, the row names and the control flow are checked.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import inspect
import os
import stat
import sys
import tempfile
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: The preset's models at toy size, under their own names (rows say llama2_7b, llama3_8b as on a GPU).
TOY_SHAPES = {"llama2_7b": (2, 128, 4, 4, 344, 1000), "llama3_8b": (2, 128, 4, 1, 448, 2000)}
FAKE_SMI = '''#!{python}
"""Stand-in for nvidia-smi --query-gpu (check_measure.py): a driver that knows clocks_throttle_reasons.*"""
import sys, time
args = dict(a.split("=", 1) if "=" in a else (a, "") for a in sys.argv[1:])
fields = args.get("--query-gpu", "").split(",")
bad = [f for f in fields if f.startswith("clocks_event_reasons.")]
if bad:
    print(f'Field "{{bad[0]}}" is not a valid field to query.')
    print("")
    print("Try 'nvidia-smi --help-query-gpu' for more information.")
    sys.exit(2)
hot = int(time.time() * 10) % 2
values = {{"clocks.sm": "1755" if hot else "1980", "power.draw": "699.87" if hot else "612.40", "temperature.gpu": "71",
          "clocks_throttle_reasons.sw_power_cap": "Active" if hot else "Not Active",
          "clocks_throttle_reasons.sw_thermal_slowdown": "Not Active", "clocks_throttle_reasons.hw_slowdown": "[N/A]"}}
print(", ".join(values[f] for f in fields))
'''


def load_measure():
    spec = importlib.util.spec_from_file_location("accelsim_measure_script", HERE / "measure.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Problems(list):
    def check(self, ok, what):
        print(("ok    " if ok else "FAIL  ") + what, flush=True)
        if not ok:
            self.append(what)


# -- stand-ins for torch.cuda ----------------------------------------------------------------------------

class CaptureError(RuntimeError):
    pass


class FakeCuda:
    """Installs the stand-ins of the module docstring on ``torch.cuda`` / ``torch.profiler`` and undoes them."""

    SYNCING = ("item", "tolist", "cpu", "numpy", "__bool__")

    def __init__(self, torch, nvml: bool):
        self.torch, self.nvml = torch, nvml
        self.capturing = False
        self.captures = self.replays = self.profiles = 0
        self.saved = []

    def _no_capture(self, what):
        if self.capturing:
            raise CaptureError(f"{what}: operation not permitted when stream is capturing")

    def _set(self, owner, name, value, checked=True):
        real = getattr(owner, name)
        if checked and callable(value) and not isinstance(value, type):
            value = self._bound(real, value, f"{owner.__name__}.{name}")
        self.saved.append((owner, name, real))
        setattr(owner, name, value)

    @staticmethod
    def _bound(real, fake, label):
        try:
            signature = inspect.signature(real)
        except (TypeError, ValueError):   # a C function without a signature: nothing to bind against
            return fake

        def call(*args, **kwargs):
            try:
                signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"{label}: the real API rejects this call ({exc})") from None
            return fake(*args, **kwargs)
        return call

    def __enter__(self):
        torch, fake = self.torch, self
        cuda = torch.cuda

        class Event:
            def __init__(self, enable_timing=False, blocking=False, interprocess=False, external=False):
                inspect.signature(fake_real_event).bind(enable_timing=enable_timing, blocking=blocking,
                                                        interprocess=interprocess, external=external)
                self.enable_timing, self.t = enable_timing, None

            def record(self, stream=None):
                self.t = time.perf_counter()

            def query(self):
                fake._no_capture("Event.query")
                return self.t is not None

            def synchronize(self):
                fake._no_capture("Event.synchronize")

            def elapsed_time(self, end):
                fake._no_capture("Event.elapsed_time")
                if not (self.enable_timing and end.enable_timing):
                    raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
                if self.t is None or end.t is None:
                    raise RuntimeError("Both events must be recorded before calculating elapsed time.")
                return (end.t - self.t) * 1e3

        fake_real_event = cuda.Event
        for method in ("record", "query", "synchronize", "elapsed_time"):
            assert hasattr(fake_real_event, method), method

        class Stream:
            def __init__(self, device=None, priority=0, **kwargs):
                pass

            def wait_stream(self, stream):
                pass

            def synchronize(self):
                fake._no_capture("Stream.synchronize")

        default_stream = Stream()

        class CUDAGraph:
            def __init__(self, keep_graph=False):
                self.fn = None

            def replay(self):
                if self.fn is None:
                    raise RuntimeError("replay of a graph that captured nothing")
                fake.replays += 1
                self.fn()

        @contextlib.contextmanager
        def graph(cuda_graph, pool=None, stream=None, capture_error_mode="global", **kwargs):
            frame = inspect.currentframe().f_back.f_back   # contextmanager's __enter__, then the capturing frame
            fn = frame.f_locals.get("fn")
            if not callable(fn):
                raise AssertionError("stand-in graph: the capturing frame has no callable `fn` to replay")
            saved = {name: getattr(torch.Tensor, name) for name in FakeCuda.SYNCING}
            for name in FakeCuda.SYNCING:
                def refuse(self, *args, _name=name, **kwargs):
                    raise CaptureError(f"Tensor.{_name} (a device-to-host sync): operation not permitted when "
                                       "stream is capturing")
                setattr(torch.Tensor, name, refuse)
            from torch._dynamo.utils import counters
            compiled_before = counters["stats"]["unique_graphs"]
            fake.capturing = True
            try:
                yield
            finally:
                fake.capturing = False
                for name, method in saved.items():
                    setattr(torch.Tensor, name, method)
            if counters["stats"]["unique_graphs"] != compiled_before:   # on a GPU: RNG state reads, autotuning
                raise CaptureError("torch.compile compiled during a CUDA-graph capture (the warm-up before it "
                                   "should have): operation not permitted when stream is capturing")
            cuda_graph.fn = fn
            fake.captures += 1

        def synchronize(device=None):
            fake._no_capture("torch.cuda.synchronize")

        def empty_cache():
            fake._no_capture("torch.cuda.empty_cache")

        self._set(cuda, "Event", Event, checked=False)
        self._set(cuda, "Stream", Stream, checked=False)
        self._set(cuda, "CUDAGraph", CUDAGraph, checked=False)
        self._set(cuda, "graph", graph)
        self._set(cuda, "current_stream", lambda device=None: default_stream)
        self._set(cuda, "stream", lambda stream: contextlib.nullcontext())
        self._set(cuda, "synchronize", synchronize)
        self._set(cuda, "empty_cache", empty_cache)
        self._set(cuda, "get_device_name", lambda device=None: "NVIDIA H200")
        if self.nvml:   # NVML answers (torch.cuda's functions use nvidia-ml-py), reasons: SwPowerCap
            self._set(cuda, "clock_rate", lambda device=None: 1755)
            self._set(cuda, "power_draw", lambda device=None: 699870)
            self._set(cuda, "temperature", lambda device=None: 71)
            self._set(cuda, "_get_pynvml_handler", lambda device=None: "handle", checked=False)
            pynvml = types.ModuleType("pynvml")
            pynvml.nvmlDeviceGetCurrentClocksEventReasons = lambda handle: 0x4
            self.saved.append((sys.modules, "pynvml", sys.modules.get("pynvml")))
            sys.modules["pynvml"] = pynvml
        self._set(torch.profiler, "profile", self._profile_class(), checked=False)
        return self

    def __exit__(self, *exc):
        for owner, name, value in reversed(self.saved):
            if owner is sys.modules:
                if value is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = value
            else:
                setattr(owner, name, value)
        self.saved.clear()

    def _profile_class(self):
        torch, fake = self.torch, self
        real_profile = torch.profiler.profile
        from torch.autograd import DeviceType
        from torch.autograd.profiler_util import EventList, FunctionEvent
        from torch.profiler import ProfilerActivity
        import torch._inductor.config as inductor_config
        inductor_config.cpp.enable_kernel_profile = True   # Inductor's C++ kernels appear as named events
        gemm_ops = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")
        no_kernel = ("aten::view", "aten::reshape", "aten::_unsafe_view", "aten::transpose", "aten::t", "aten::slice",
                     "aten::select", "aten::split", "aten::split_with_sizes", "aten::chunk", "aten::narrow",
                     "aten::as_strided", "aten::expand", "aten::unsqueeze", "aten::squeeze", "aten::permute",
                     "aten::empty", "aten::empty_strided", "aten::empty_like", "aten::detach", "aten::alias",
                     "aten::lift_fresh", "aten::resolve_conj", "aten::resolve_neg", "aten::result_type", "aten::to",
                     "aten::_to_copy", "aten::contiguous", "aten::clone", "aten::zeros", "aten::ones", "aten::arange",
                     "aten::index", "aten::matmul", "aten::rms_norm", "aten::scaled_dot_product_attention")

        def device_names(event):
            name = event.name
            if name in gemm_ops:
                m, n = (event.input_shapes[0] or [1, 1])[-2], (event.input_shapes[1] or [1, 1])[-1]
                if m <= 64:
                    return ["Memset (Device)", f"nvjet_tst_64x{min(n, 64)}_64x8_2x1_v_bz_splitK_TNT",
                            "void cublasLt::splitKreduce_kernel<32, 16, int, float, __nv_bfloat16, float, "
                            "__nv_bfloat16, true, false, false>(cublasLt::cublasSplitKParams<float>, float const*, "
                            "__nv_bfloat16 const*, __nv_bfloat16*, float const*, float const*, __nv_bfloat16 const*)"]
                if m >= 4096:
                    return ["sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x256x64_cgasize2x1x1_warpgroupsize2x1x1"
                            "_execute_segment_k_off_kernel__5x_cublas"]
                return ["nvjet_tst_128x256_64x4_1x2_h_bz_coopA_TNT"]
            if "cpp_fused_" in name:
                fused = name.split("cpp_fused_", 1)[1]
                return [("triton_red_fused_" if "mean" in fused or "sum" in fused else "triton_poi_fused_") + fused]
            if "scaled_dot_product" in name:
                return ["void pytorch_flash::flash_fwd_splitkv_kernel<Flash_fwd_kernel_traits<128, 64, 128, 4, false, "
                        "false, cutlass::bfloat16_t, Flash_kernel_traits<128, 64, 128, 4, cutlass::bfloat16_t> >, "
                        "false, false, false, false, true, true, false, false>(flash::Flash_fwd_params)"]
            if name == "aten::copy_":
                return ["void at::native::elementwise_kernel<128, 4, at::native::gpu_kernel_impl_nocast<"
                        "at::native::direct_copy_kernel_cuda(at::TensorIteratorBase&)::{lambda()#3}::operator()() "
                        "const::{lambda()#7}::operator()() const::{lambda(c10::BFloat16)#1}>(at::TensorIteratorBase&, "
                        "at::native::direct_copy_kernel_cuda(at::TensorIteratorBase&)::{lambda()#3}::operator()() "
                        "const::{lambda()#7}::operator()() const::{lambda(c10::BFloat16)#1} const&)::{lambda(int)#1}>"
                        "(int, at::native::gpu_kernel_impl_nocast<...>)"]
            if name.startswith("aten::") and name not in no_kernel and not event.cpu_children:
                op = name[len("aten::"):].rstrip("_")
                return [f"void at::native::vectorized_elementwise_kernel<4, at::native::{op}_kernel_cuda(at::"
                        f"TensorIteratorBase&)::{{lambda()#1}}::operator()() const, std::array<char*, 3ul> >(int, ...)"]
            return []

        class Profile:
            def __init__(self, activities=None, **kwargs):
                if ProfilerActivity.CUDA not in (activities or []):
                    raise AssertionError("stand-in profiler: measure.py asks for the CUDA activity")
                self.inner = real_profile(activities=[ProfilerActivity.CPU], record_shapes=True)

            def __enter__(self):
                fake._no_capture("torch.profiler.profile")
                self.inner.__enter__()
                return self

            def __exit__(self, *exc):
                fake.profiles += 1
                return self.inner.__exit__(*exc)

            def events(self):
                cpu = list(self.inner.events())
                out, skip = [], set()
                for event in cpu:
                    parent = event.cpu_parent
                    while parent is not None and id(parent) not in skip:
                        parent = parent.cpu_parent
                    if parent is not None:
                        skip.add(id(event))
                        continue
                    names = device_names(event)
                    if names and (event.name in gemm_ops or "scaled_dot_product" in event.name):
                        skip.add(id(event))   # its children are this kernel's, not kernels of their own
                    out.append(event)
                    for name in names:
                        out.append(FunctionEvent(id=event.id, name=name, thread=0, start_us=event.time_range.start,
                                                 end_us=event.time_range.end, device_type=DeviceType.CUDA,
                                                 device_index=0))
                    if names:
                        out.append(FunctionEvent(id=event.id, name="cudaLaunchKernel", thread=event.thread,
                                                 start_us=event.time_range.start, end_us=event.time_range.start + 2))
                return EventList(out)
        return Profile


@contextlib.contextmanager
def fake_nvidia_smi():
    """A directory with the nvidia-smi stand-in first on PATH."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "nvidia-smi"
        script.write_text(FAKE_SMI.format(python=sys.executable))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        old = os.environ.get("PATH", "")
        os.environ["PATH"] = folder + os.pathsep + old
        try:
            yield
        finally:
            os.environ["PATH"] = old


def toy_args(measure, out: Path, extra=()):
    """``--preset fused-and-variance`` with the shapes scaled down: GEMMs / 64, contexts / 16, toy models."""
    args = measure.parse_args(["--out", str(out), "--preset", "fused-and-variance", "--sustain", "0.02", "--reps", "3",
                               *extra])
    args.gemms = [(max(1, m // 64), max(8, n // 64), max(8, k // 64)) for m, n, k in args.gemms]
    args.case = [(model, phase, batch, max(16, context // 16), *flags) for model, phase, batch, context, *flags in args.case]
    return args


def read_rows(path: Path) -> list:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def check_run(out: Path, quick: bool = False) -> Problems:
    import torch
    measure = load_measure()
    measure._import_torch()
    if quick:
        measure.COMPILE_OPTIONS = dict(measure.COMPILE_OPTIONS, backend="aot_eager")
    for name, dims in TOY_SHAPES.items():
        measure.MODELS[name] = measure.Shape(name, *dims)
    measure.CEILINGS = measure.SMOKE_CEILINGS
    measure.L2_FLUSH_BYTES = 2 ** 18
    problems = Problems()
    device = torch.device("cpu")

    # 1. GPU state: the nvidia-smi fallback chain, NVML, and no tool at all
    with fake_nvidia_smi(), FakeCuda(torch, nvml=False):
        state = measure.GpuState(0, cuda=True)
        reading = state.read()
        problems.check(state.source == "nvidia-smi" and reading is not None and reading["sm_mhz"] in (1755, 1980)
                       and state._queries[0][3].startswith("clocks_throttle_reasons"),
                       f"nvidia-smi: falls back to clocks_throttle_reasons.* ({reading})")
    with FakeCuda(torch, nvml=True):
        state = measure.GpuState(0, cuda=True)
        reading = state.read()
        problems.check(state.source == "nvml" and reading == {"sm_mhz": 1755.0, "power_w": 699.87, "temp_c": 71.0,
                                                              "power_cap": True, "thermal": False,
                                                              "hw_slowdown": False}, f"NVML reading {reading}")
    saved_path = os.environ["PATH"]
    os.environ["PATH"] = ""
    try:
        with FakeCuda(torch, nvml=False):
            state = measure.GpuState(0, cuda=True)
            problems.check(state.read() is None and state.source == "none" and state.read() is None,
                           "no NVML and no nvidia-smi: no reading, asked once")
    finally:
        os.environ["PATH"] = saved_path

    # 2. the prepared run, end to end (the nvidia-smi stand-in answers the samples)
    with fake_nvidia_smi(), FakeCuda(torch, nvml=False) as fake:
        args = toy_args(measure, out)
        t0 = time.monotonic()
        code = measure.run(args, device, True, t0)
        wall = time.monotonic() - t0
    from torch._dynamo.utils import counters
    print(f"prepared run on the CPU: {wall:.1f} s wall, {fake.captures} graph captures, {fake.replays} replays, "
          f"{fake.profiles} profiles, {counters['stats']['unique_graphs']} graphs compiled by torch.compile", flush=True)
    problems.check(code == 0, f"run returns 0 (got {code})")
    kernels, ops = read_rows(out / "kernels.csv"), read_rows(out / "llm_ops.csv")
    names = read_rows(out / "gemm_kernels.csv")
    points, rounds = len(args.gemms), args.gemm_rounds
    problems.check(len(kernels) == 2 * points * rounds,
                   f"kernels.csv: {len(kernels)} rows = {points} GEMMs x {rounds} rounds x (replays, sustained)")
    sustained = [r["variant"] for r in kernels if "sustained" in r["variant"]]
    problems.check(len(sustained) == points * rounds and all("MHz" in v and " W" in v for v in sustained),
                   f"sustained rows carry the SM clock and power, e.g. {sustained[:1]}")
    problems.check({r["variant"].split(";")[0] for r in kernels} == {f"round {i}/{rounds}" for i in range(1, rounds + 1)},
                   "every round labelled in the variant column")
    problems.check(len(names) == points and all(r["tile"] and r["split"] for r in names)
                   and any(r["split"] == "split-K" for r in names) and any(r["cluster"] == "2x1" for r in names),
                   f"gemm_kernels.csv: {len(names)} rows, tiles / clusters / split-K parsed "
                   f"({sorted({(r['tile'], r['cluster'], r['split']) for r in names})})")
    for model, phase, batch, context, fused, per_op, eager, compiled in args.case:
        label = model + ("+compiled" if compiled else "+fused" if fused else "")
        rows = [r for r in ops if r["model"] == label and r["phase"] == phase and int(r["batch"]) == batch
                and int(r["context"]) == context]
        whole = [r for r in rows if r["op"] in ("step", "pass_causal", "pass_dense")]
        problems.check(whole and all("kernels (PyTorch profiler)" in r["note"] for r in whole),
                       f"{label} {phase} b={batch}: whole-pass rows with the profiler's kernel count "
                       f"({[r['note'] for r in whole]})")
        if per_op:
            got = {r["op"] for r in rows} - {"step", "pass_causal", "pass_dense"}
            want = {"attn_norm", "attn.rope", "kv_cache.write", "attn.o_proj", "mlp_norm", "mlp.act_fn",
                    "mlp.down_proj", "lm_head"} | ({"attn.qkv_proj", "mlp.gate_up_proj"} if fused else
                                                   {"attn.q_proj", "attn.k_proj", "attn.v_proj"})
            want |= {"attention_causal", "attention_dense"} if phase == "prefill" else {"attention"}
            problems.check(want <= got, f"{label} {phase} b={batch}: per-op rows ({len(got)}; missing {want - got})")
    counts = {r["model"]: int(r["note"].split("; ")[1].split()[0]) for r in ops
              if r["op"] == "step" and int(r["batch"]) == 1 and r["phase"] == "decode"}
    problems.check(counts.get("llama2_7b+compiled", 1e9) < counts.get("llama2_7b", 0),
                   f"the compiled step launches fewer kernels than the unfused one ({counts})")
    setup = (out / "setup.txt").read_text()
    problems.check("state at start: sm " in setup and "state at end: sm " in setup and "estimate on a GPU" in setup,
                   "setup.txt: GPU state at start and end, the estimate")

    # 3. the default run's other GPU paths: the decode-attention grid (GQA), the eager step, one round
    default = out / "default_paths"
    with fake_nvidia_smi(), FakeCuda(torch, nvml=True):
        args = measure.parse_args(["--out", str(default), "--reps", "3", "--gemms", "16x64x64",
                                   "--attention", "2x8x2x64,1x4x4x128", "--case", "llama3_8b:decode:1:64:ops:eager"])
        code = measure.run(args, device, True, time.monotonic())
    kernels, ops = read_rows(default / "kernels.csv"), read_rows(default / "llm_ops.csv")
    attention = [r for r in kernels if r["kind"] == "decode_attention"]
    problems.check(code == 0 and len(attention) == 2 and all(float(r["time_s"]) > 0 and int(r["bytes"]) > 0
                                                             for r in attention),
                   f"default run: decode-attention rows ({len(attention)})")
    problems.check({"step", "step_eager", "attn.q_proj", "lm_head"} <= {r["op"] for r in ops}
                   and {r["op"] for r in ops if r["phase"] == "ceiling"} == {"d2d_copy", "read_sum", "gemm_64"},
                   "default run: the step in a graph and eager, per-op rows, the ceilings")
    problems.check(not (default / "gemm_kernels.csv").exists() and kernels[0]["variant"] == "",
                   "default run: one unlabelled round, no kernel names")

    # 4. the time limit: a sustained load longer than the limit is cut by the hard stop; rows so far are written
    hard = out / "hard_stop"
    measure.GRACE = (1.0, 0.0)
    estimate, measure.estimate_gemm_s = measure.estimate_gemm_s, lambda sustain_s, profile: 0.0   # fits, overruns
    with fake_nvidia_smi(), FakeCuda(torch, nvml=False):
        args = toy_args(measure, hard, ["--time-limit", "3", "--sustain", "30", "--no-ceilings"])
        args.gemms = [(512, 512, 512)]   # 2000 replays of ~10 ms on a CPU: a load far longer than the limit
        t0 = time.monotonic()
        code = measure.run(args, device, True, t0)
        wall = time.monotonic() - t0
    measure.estimate_gemm_s = estimate
    kernels = read_rows(hard / "kernels.csv")
    problems.check(code == 3 and wall < 3 + 1 + 2, f"hard stop: returns 3 after {wall:.1f} s (limit 3 s + 1 s grace)")
    problems.check(len(kernels) == 1 and kernels[0]["variant"] == "round 1/3",
                   f"hard stop: the row measured before it is written ({len(kernels)} rows)")
    problems.check("(hard stop)" in (hard / "setup.txt").read_text(), "hard stop: setup.txt says so")
    soft = out / "soft_limit"
    measure.GRACE = (600.0, 0.0)   # no hard stop: only the soft limit acts
    with fake_nvidia_smi(), FakeCuda(torch, nvml=False):
        args = toy_args(measure, soft, ["--time-limit", "1", "--sustain", "0", "--no-ceilings"])
        code = measure.run(args, device, True, time.monotonic())
    text = (soft / "setup.txt").read_text()
    problems.check(code == 0 and "skipped at the time limit: GEMM" in text,
                   "soft limit: the stages that do not fit are skipped and listed in setup.txt")
    return problems


def check_load(out: Path) -> Problems:
    """The files read by accelsim: every row predicted, silicon_table.py's tables, calibrate."""
    import contextlib
    import io

    from click.testing import CliRunner

    from accelsim import spec
    from accelsim.cli import main as cli
    from accelsim.gpu.measurements import predict, read_measurements
    problems = Problems()
    files = [out / "kernels.csv", out / "llm_ops.csv"]
    table = predict(spec.load("hw", "h200"), read_measurements(files))
    rows = table[table["predicted_s"].notna()]
    problems.check(len(rows) == len(table[table["phase"].ne("ceiling")]) if "phase" in table else len(rows) == len(table),
                   f"every non-ceiling row predicted ({len(rows)} of {len(table)})")
    compiled = rows[rows.get("model", "").astype(str).str.endswith("+compiled")] if "model" in rows else rows[:0]
    problems.check(len(compiled) > 0, f"{len(compiled)} llama2_7b+compiled / llama3_8b+compiled rows predicted")
    spec_ = importlib.util.spec_from_file_location("silicon_table", HERE / "silicon_table.py")
    silicon = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(silicon)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        silicon.main(["--hw", "h200", *map(str, files)])
    text = printed.getvalue()
    problems.check("round 2/3; sustained" in text and "llama2_7b+compiled" in text,
                   "silicon_table.py prints the variant rows apart and the compiled rows")
    shipped = [spec.ROOT / "tests" / "data" / "silicon" / "h200" / name for name in ("kernels.csv", "llm_ops.csv")]
    for label, inputs in (("the run's files", files), ("the shipped files and the run's", shipped + files)):
        result = CliRunner().invoke(cli, ["calibrate", *[a for f in inputs for a in ("--measurements", str(f))],
                                          "--hw", "h200", "-o", str(out / "calibrated.yaml"), "--force"])
        clean = result.exception is None or isinstance(result.exception, SystemExit)
        last = result.output.strip().splitlines()[-1] if result.output.strip() else ""
        problems.check(clean and result.exit_code in (0, 1),
                       f"accelsim calibrate on {label}: exit {result.exit_code}, no traceback ({last[:160]})")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="run measure.py's GPU paths with the stand-ins; files go here")
    ap.add_argument("--load", type=Path, help="read a folder the first step wrote with accelsim")
    ap.add_argument("--quick", action="store_true",
                    help="torch.compile's aot_eager backend instead of Inductor (the same tracing, guards and "
                         "recompiles, no C++ code generated: a third of the time)")
    args = ap.parse_args(argv)
    if not (args.out or args.load):
        ap.error("give --out (needs PyTorch) or --load (needs accelsim)")
    problems = check_run(args.out, args.quick) if args.out else check_load(args.load)
    print(f"\n{len(problems)} failed check(s)" + ("".join(f"\n  {p}" for p in problems) if problems else ""))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
