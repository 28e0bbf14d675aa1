"""Bad input of every kind gets one `Error:` line naming the file, key or flag and exit code 1:
sizes beyond what 64-bit counts hold, deep nesting, huge integers, duplicate keys, non-regular
files, and values too long to echo in full."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from accelsim.cli import main
from accelsim.errors import SHOWN_CHARS, shown

ROOT = Path(__file__).resolve().parent.parent
EDGE = (ROOT / "hw" / "edge_16x16.yaml").read_text()


def _invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output and not isinstance(result.exception, (RecursionError, OverflowError,
                                                                                   ValueError, OSError)), result.output
    return result


def _user_error(*args):
    result = _invoke(*args)
    assert result.exit_code == 1 and "\nError: " in "\n" + result.output, result.output
    return result.output[result.output.index("Error: "):]


def _hw(tmp_path, old, new, name="big.yaml"):
    assert old in EDGE
    path = tmp_path / name
    path.write_text(EDGE.replace(old, new))
    return path


@pytest.mark.parametrize("size", ["1.0e+30", str(2**70), "1073741825"])
def test_sram_sizes_beyond_the_bound_are_refused_in_validate(tmp_path, size):
    path = _hw(tmp_path, "ifmap:  {size_kib: 32}", f"ifmap:  {{size_kib: {size}}}")
    out = _user_error("validate", path)
    assert f"{path}: sram.ifmap.size_kib: must be at most 1,073,741,824" in out


def test_the_largest_admitted_sizes_run(tmp_path):
    """SRAM buffers of 2^30 KiB, a 4096-row array and the slowest DRAM validate and run."""
    path = _hw(tmp_path, "ifmap:  {size_kib: 32}", "ifmap:  {size_kib: 1073741824}")
    path.write_text(path.read_text().replace("rows: 16", "rows: 4096").replace("bandwidth_bytes_per_cycle: 8",
                                                                                "bandwidth_bytes_per_cycle: 0.25"))
    assert _invoke("validate", path).exit_code == 0
    for dataflow in ("ws", "os", "is"):
        result = _invoke("run", "--hw", path, "--workload", "alexnet", "--dataflow", dataflow, "--quiet",
                         "--out", tmp_path / dataflow)
        assert result.exit_code == 0, result.output
        assert "-" not in result.output.split("MACs in")[1].split("cycles")[0]       # no wrapped count


@pytest.mark.parametrize("old,new,where", [
    ("rows: 16", "rows: 4097", "array.rows: must be <= 4096"),
    ("bandwidth_bytes_per_cycle: 8", "bandwidth_bytes_per_cycle: 0.001", "dram.bandwidth_bytes_per_cycle: must be a number > 0 or the string unlimited (numbers from 0.25"),
    ("bandwidth_bytes_per_cycle: 8", f"bandwidth_bytes_per_cycle: {2**70}", "to 2^40; got 1180591620717411303424"),
    ("clock_mhz: 500", f"clock_mhz: {2**70}", "clock_mhz: must be at most"),
])
def test_hw_bounds(tmp_path, old, new, where):
    assert where in _user_error("validate", _hw(tmp_path, old, new))


@pytest.mark.parametrize("flag,value,message", [
    ("--sram-kb", "1e30", "sram_kb: sizes must be > 0, at most 1073741824 KiB"),
    ("--array", f"{2**70}x8", "array: rows and cols must be from 1 to 4096"),
    ("--dram-bw", "1e-9", "dram_bw: must be bytes per cycle > 0 or unlimited (numbers from 0.25"),
])
def test_sweep_axes_bounded_like_validate(tmp_path, flag, value, message):
    out = _user_error("sweep", "--hw", "edge_16x16", "--workload", "alexnet", "--dataflow", "ws", flag, value,
                      "--out", tmp_path / "s")
    assert message in out and not (tmp_path / "s").exists()


def test_echoed_values_are_truncated(tmp_path):
    long = "x" * 100_000
    out = _user_error("validate", _hw(tmp_path, "precision: int8", f"precision: {long}"))
    assert "precision: must be one of" in out and "\u2026" in out and len(out) < 1000
    assert shown(long).endswith("\u2026") and len(shown(long)) == SHOWN_CHARS
    assert shown(10**5000) == "an integer of about 5,001 digits"


# -- tracebacks that became `Error:` lines ---------------------------------------------------------

def test_energy_table_name_longer_than_a_file_name(tmp_path):
    path = _hw(tmp_path, "energy_table: horowitz_45nm", "energy_table: " + "e" * 300)
    for args in (["validate", path], ["run", "--hw", path, "--workload", "alexnet", "--dataflow", "ws",
                                      "--out", tmp_path / "o"]):
        out = _user_error(*args)
        assert f"{path}: energy_table: 'eeeee" in out and "\u2026" in out and len(out) < 2000
    assert "no such file" in _user_error("run", "--hw", "x" * 5000, "--workload", "alexnet", "--dataflow", "ws")
    assert "no built-in hw preset" in _user_error("run", "--hw", "a\0b", "--workload", "alexnet", "--dataflow", "ws")


@pytest.mark.parametrize("text", ["a: " + "[" * 5000 + "]" * 5000, "a:\n" + "".join(" " * i + "- \n" for i in range(1, 300)),
                                  '{"a": ' + "[" * 5000 + "]" * 5000 + "}"])
def test_deep_nesting(tmp_path, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    assert f"{path}: nested more than" in _user_error("validate", path)


def test_deep_nesting_in_a_hugging_face_config(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"model_type": "llama", "x": ' + "[" * 5000 + "]" * 5000 + "}")
    assert f"{path}: nested more than" in _user_error("llm", "--model", path, "--hw", "ideal_a100", "--prompt", 8,
                                                      "--generate", 2)


def test_five_thousand_digit_integer(tmp_path):
    path = _hw(tmp_path, "rows: 16", "rows: " + "9" * 5000)
    out = _user_error("validate", path)
    assert f"{path}: not valid YAML at line" in out and "digits" in out and len(out) < 1000
    json_path = tmp_path / "config.json"
    json_path.write_text('{"model_type": "llama", "hidden_size": ' + "9" * 5000 + "}")
    out = _user_error("llm", "--model", json_path, "--hw", "ideal_a100", "--prompt", 8, "--generate", 2)
    assert str(json_path) in out and len(out) < 1000


def test_energy_scale_beyond_the_bound(tmp_path):
    table = (ROOT / "hw" / "energy" / "horowitz_45nm.yaml").read_text()
    path = tmp_path / "energy.yaml"
    path.write_text(table + f"\nscale_pj: {2**70}\n" if "scale_pj" not in table else table)
    out = _user_error("run", "--hw", "edge_16x16", "--workload", "alexnet", "--dataflow", "ws", "--energy", path,
                      "--out", tmp_path / "o")
    assert f"{path}: scale_pj: must be at most" in out


def test_sweep_scheduler_that_is_no_address(tmp_path):
    out = _user_error("sweep", "--hw", "edge_16x16", "--workload", "alexnet", "--dataflow", "ws",
                      "--scheduler", "banana", "--out", tmp_path / "s", "--quiet")
    assert "--scheduler banana" in out


# -- silent acceptances ----------------------------------------------------------------------------

def test_duplicate_keys_name_both_lines(tmp_path):
    path = _hw(tmp_path, "precision: int8\n", "precision: int8\nclock_mhz: 700\n")
    text = path.read_text().splitlines()
    first = 1 + next(i for i, line in enumerate(text) if line.startswith("clock_mhz: 500"))
    second = 1 + next(i for i, line in enumerate(text) if line.startswith("clock_mhz: 700"))
    first, second = sorted((first, second))
    out = _user_error("validate", path)
    assert f"{path}: not valid YAML at line {second}" in out and f"'clock_mhz' given twice (lines {first} and {second})" in out
    nested = tmp_path / "nested.yaml"
    nested.write_text(EDGE.replace("ifmap:  {size_kib: 32}", "ifmap:  {size_kib: 32, size_kib: 64}"))
    assert "'size_kib' given twice" in _user_error("validate", nested)


@pytest.mark.parametrize("flag,value", [("--array", ""), ("--dram-bw", ""), ("--array", "8x8,,16x16"),
                                        ("--sram-kb", "64,"), ("--dataflow", "ws,,os")])
def test_empty_list_items_are_errors(tmp_path, flag, value):
    args = {"--hw": "edge_16x16", "--workload": "alexnet", "--dataflow": "ws", flag: value}
    out = _user_error("sweep", *[x for kv in args.items() for x in kv], "--out", tmp_path / "s")
    assert f"{flag[2:].replace('-', '_')}" in out and "empty" in out


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_time_limit_must_be_a_finite_number(tmp_path, value):
    for command in (["run", "--out", tmp_path / "o"], ["sweep", "--out", tmp_path / "s"]):
        result = _invoke(*command, "--hw", "eyeriss", "--workload", "alexnet", "--dataflow", "rs",
                         "--time-limit", value)
        assert result.exit_code == 2 and "--time-limit" in result.output, result.output


def test_validate_checks_the_energy_table_exists(tmp_path):
    out = _user_error("validate", _hw(tmp_path, "energy_table: horowitz_45nm", "energy_table: horowitz_54nm"))
    assert "energy_table: horowitz_54nm" in out and "did you mean 'horowitz_45nm'" in out


@pytest.mark.parametrize("key,value", [("type_vocab_size", '"abc"'), ("type_vocab_size", "null"),
                                       ("tie_word_embeddings", '"false"'), ("num_local_experts", "0")])
def test_hugging_face_values(tmp_path, key, value):
    import json
    family = {"num_local_experts": "mixtral", "tie_word_embeddings": "llama"}.get(key, "bert")
    cfg = {"model_type": family, "hidden_size": 64,
           "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 128, "vocab_size": 100,
           "max_position_embeddings": 64, "hidden_act": "gelu"}
    if family != "bert":
        cfg.update(num_key_value_heads=4, hidden_act="silu")
    if family == "mixtral":
        cfg.update(num_experts_per_tok=2)
    text = json.dumps(cfg)[:-1] + f', "{key}": {value}}}'
    path = tmp_path / "config.json"
    path.write_text(text)
    args = ("llm", "--model", path, "--hw", "ideal_a100", "--prompt", 8, "--generate", 2)
    if value == "null":     # JSON null is an absent key in a Hugging Face config: the default applies
        assert _invoke(*args).exit_code == 0
        return
    assert f"{path}: {key}: must be" in _user_error(*args)


def test_long_values_in_any_error_are_cut(tmp_path):
    """The CLI cuts every line of an error message, whoever wrote it, to a readable length."""
    path = tmp_path / "config.json"
    path.write_text('{"model_type": "llama", "hidden_act": "' + "g" * 100_000 + '"}')
    out = _user_error("llm", "--model", path, "--hw", "ideal_a100", "--prompt", 8, "--generate", 2)
    assert "\u2026" in out and max(map(len, out.splitlines())) <= 500


# -- non-regular files -----------------------------------------------------------------------------

def test_fifo_and_devices_are_refused_before_reading(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "accelsim.cli", "validate", str(fifo)], cwd=ROOT, timeout=60,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1 and f"{fifo}: not a regular file" in done.stderr, done.stderr   # no blocking open()
    assert "/dev/zero: not a regular file" in _user_error("validate", "/dev/zero")
    assert "not a regular file" in _user_error("run", "--hw", "/dev/zero", "--workload", "alexnet", "--dataflow", "ws")
    assert "is a folder" in _user_error("validate", tmp_path)


def test_a_folder_named_like_a_preset_does_not_hide_it(tmp_path, monkeypatch):
    """An earlier `--out ws` leaves a folder named ws; `--dataflow ws` still means the preset (a folder
    was refused as 'cannot read file (it is a folder)'); a folder no preset is named after still is."""
    monkeypatch.chdir(tmp_path)
    for name in ("ws", "edge_16x16", "alexnet"):
        (tmp_path / name).mkdir()
    run = _invoke("run", "--hw", "edge_16x16", "--workload", "alexnet", "--dataflow", "ws", "--out", tmp_path / "out")
    assert run.exit_code == 0, run.output
    (tmp_path / "mine").mkdir()
    assert "is a folder" in _user_error("run", "--hw", "edge_16x16", "--workload", "alexnet", "--dataflow", "mine")


def test_huge_files_are_refused(tmp_path):
    from accelsim.spec.common import MAX_FILE_BYTES
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)                 # sparse: no disk used
    assert f"{path}: " in _user_error("validate", path) and "MiB" in _user_error("validate", path)


# -- accelsim llm: sizes that cannot finish or cannot be counted -----------------------------------

def test_llm_refuses_a_decode_it_cannot_hold_in_memory():
    import time
    start = time.perf_counter()
    out = _user_error("llm", "--model", "llama2_7b", "--hw", "ideal_a100", "--prompt", 16, "--generate", 10**9)
    assert time.perf_counter() - start < 30
    assert "--generate 1,000,000,000" in out and "GiB" in out and "at most 1,048,576" in out
    long = CliRunner().invoke(main, ["llm", "--model", "llama2_7b", "--hw", "ideal_a100", "--prompt", "16",
                                     "--generate", "60000", "--format", "json"])
    assert long.exit_code == 0 and "60,000 decode steps are costed one by one: up to 0.3 GiB" in long.output
    # rotary positions go on past the trained context: costed, and said so
    assert "note: 60,015 tokens exceed llama2_7b's max_position 4,096" in long.output


def test_a_run_past_a_learned_position_table_is_refused():
    """GPT-2 has 1,024 position rows: the 1,025th token has no embedding (HF raises an index error)."""
    assert _invoke("llm", "--model", "gpt2_small", "--hw", "ideal_a100", "--prompt", 1000, "--generate", 25,
                   "--format", "json").exit_code == 0
    out = _user_error("llm", "--model", "gpt2_small", "--hw", "ideal_a100", "--prompt", 1000, "--generate", 26)
    assert ("gpt2_small.yaml: max_position: gpt2_small has 1,024 learned positions (HF max_position_embeddings), "
            "but --prompt 1,000 + --generate 26 feeds 1,025 tokens; shorten the prompt or the generation") in out
    out = _user_error("serve", "--model", "gpt2_small", "--hw", "ideal_a100", "--requests", 5, "--prompt-tokens",
                      1000, "--output-tokens", 100)
    assert "request 0 (1000 prompt + 100 output tokens) feeds 1,099 tokens, but gpt2_small has 1,024 learned" in out


@pytest.mark.parametrize("args,flag", [(("--prompt", 2**70, "--generate", 1), "--prompt"),
                                       (("--prompt", 2**24, "--generate", 1), "--prompt"),
                                       (("--prompt", 8, "--generate", 1, "--batch", 2**40), "--batch")])
def test_llm_sizes_beyond_exact_counts(args, flag):
    out = _user_error("llm", "--model", "llama2_7b", "--hw", "ideal_a100", *args)
    assert flag in out and "at most" in out


def test_llm_on_a_pe_array_refuses_counts_beyond_int64():
    out = _user_error("llm", "--model", "llama2_7b", "--hw", "edge_16x16", "--prompt", 2**23, "--generate", 1,
                      "--batch", 64)
    assert "64-bit" in out


def test_architecture_tree_sizes_are_bounded(tmp_path):
    tree = (ROOT / "hw" / "trees" / "simba_like.yaml").read_text()
    import re
    big = tmp_path / "tree.yaml"
    big.write_text(re.sub(r"size_kib: [0-9.]+", f"size_kib: {2**40}", tree, count=1))
    assert "size_kib: must be at most 1,073,741,824 KiB" in _user_error("validate", big)
    wide = tmp_path / "wide.yaml"
    wide.write_text(re.sub(r"fanout_x: [0-9]+", "fanout_x: 5000", tree, count=1))
    assert "fanout_x: must be <= 4096" in _user_error("validate", wide)


def test_four_hundred_digit_numbers(tmp_path):
    """Integers YAML and JSON still parse (< 4,300 digits) but no float holds: Error lines."""
    assert "clock_mhz: must be at most" in _user_error("validate", _hw(tmp_path, "clock_mhz: 500",
                                                                          "clock_mhz: " + "9" * 400))
    path = tmp_path / "config.json"
    path.write_text('{"model_type": "phi3", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2, '
                    '"intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 64, "hidden_act": "silu", '
                    '"num_key_value_heads": 4, "partial_rotary_factor": ' + "9" * 400 + "}")
    assert "partial_rotary_factor: must be a positive number" in _user_error("llm", "--model", path, "--hw", "ideal_a100",
                                                                  "--prompt", 8, "--generate", 2)


def test_scalesim_import_refuses_a_fifo(tmp_path):
    fifo = tmp_path / "scale.cfg"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "accelsim.cli", "import", "scalesim", "--config", str(fifo),
                           "--topology", str(fifo), "--out", str(tmp_path / "o")], cwd=ROOT, timeout=60,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1 and f"{fifo}: not a regular file" in done.stderr, done.stderr


@pytest.mark.parametrize("module", ["timeloop_files", "zigzag_files"])
def test_timeloop_and_zigzag_readers_refuse_a_fifo(tmp_path, module):
    fifo = tmp_path / "arch.yaml"
    os.mkfifo(fifo)
    call = ("load_files([p])" if module == "timeloop_files" else "load_yaml(p)")
    code = (f"from pathlib import Path; from accelsim.errors import AccelsimError\n"
            f"from accelsim.importers.{module} import *\np = Path({str(fifo)!r})\n"
            f"try:\n    {call}\nexcept AccelsimError as exc:\n    print(exc)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert f"{fifo}: not a regular file" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("flag", [["--dataflow", "ws"], ["--array", "8x8"], ["--sram-kb", "64"], ["--dram-bw", "8"],
                                  ["--energy", "horowitz_45nm"], ["--timing", "scalesim"], ["--fidelity", "cycle"],
                                  ["--objective", "energy"], ["--time-limit", "3"]])
def test_a_gpu_run_refuses_the_options_it_does_not_use(tmp_path, flag):
    """`run --hw h200` costs each layer as kernels: a PE-array option would be silently ignored."""
    result = _invoke("run", "--hw", "h200", "--workload", "alexnet", *flag, "--out", tmp_path / "o")
    assert result.exit_code == 2, result.output
    assert f"Error: {flag[0]}: not used by a GPU device run" in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flag", [["--objective", "energy"], ["--time-limit", "3"]])
def test_a_fixed_dataflow_refuses_mapper_options(tmp_path, flag):
    """ws/os/is fix the mapping: the mapper's --objective and --time-limit would be silently ignored."""
    result = _invoke("run", "--hw", "tpu_v1", "--workload", "alexnet", "--dataflow", "ws", *flag,
                     "--out", tmp_path / "o")
    assert result.exit_code == 2, result.output
    assert f"Error: {flag[0]}: not used by dataflow ws, whose mapping is fixed" in result.output
    # the mappers take them
    mapped = _invoke("run", "--hw", "eyeriss", "--workload", "alexnet", "--dataflow", "rs", *flag, "--quiet",
                     "--out", tmp_path / "rs")
    assert mapped.exit_code == 0, mapped.output


@pytest.mark.parametrize("flag,given,kind,hint", [
    ("--hw", ROOT / "workloads" / "alexnet.yaml", "a workloads file (it has `layers`), not a hw file", "--workload"),
    ("--workload", ROOT / "hw" / "tpu_v1.yaml", "a hw file (it has `array`), not a workloads file", "--hw"),
    ("--dataflow", ROOT / "hw" / "trees" / "simba_like.yaml", "a hw file (it has `levels`), not a dataflows file",
     "--hw"),
    ("--workload", ROOT / "dataflows" / "ws.yaml", "a dataflows file (it has `stationary`), not a workloads file",
     "--dataflow"),
    ("--workload", ROOT / "workloads" / "llm" / "llama2_7b.yaml", "an LLM config file (it has `hidden_size`)",
     "`accelsim llm --model`"),
    ("--hw", ROOT / "hw" / "energy" / "horowitz_45nm.yaml", "an energy table file (it has `mac_pj`), not a hw file",
     "--energy"),
    ("--energy", ROOT / "hw" / "tpu_v1.yaml", "a hw file (it has `array`), not an energy table file", "--hw"),
])
def test_a_file_given_to_the_wrong_option_says_so(tmp_path, flag, given, kind, hint):
    """One line naming what the file is and where it goes, not every key reported missing or unknown."""
    args = {"--hw": "tpu_v1", "--workload": "alexnet", "--dataflow": "ws"}
    args[flag] = given
    out = _user_error("run", *[x for pair in args.items() for x in pair], "--out", tmp_path / "o")
    assert out.startswith(f"Error: {given}: this is {kind}") and out.strip().endswith(f"; give it to {hint}"), out
    assert len(out.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("hw,flag,what", [
    ("ideal_a100", ["--dataflow", "os"], "ideal_a100, an ideal-roofline device"),
    ("h200", ["--dataflow", "ws"], "h200, a GPU device (its GEMMs run as kernels)"),
    ("ideal_a100", ["--kernels", "fused"], "ideal_a100, not a GPU device"),
    ("tpu_v1", ["--launch", "eager"], "tpu_v1, not a GPU device"),
    ("ideal_a100", ["--micro-batches", "4"], "a run without pipeline stages (give --pp)"),
    ("ideal_a100", ["--collective", "tree"], "a run on one device (no --tp, --pp or --ep: no collectives)"),
])
def test_llm_refuses_options_the_run_does_not_use(hw, flag, what):
    """`accelsim llm` options that this device or parallelism never reads: a usage error, not ignored."""
    result = _invoke("llm", "--model", "gpt2_small", "--hw", hw, "--prompt", 16, "--generate", 2, *flag)
    assert result.exit_code == 2, result.output
    assert f"Error: {flag[0]}: not used by {what}" in result.output
    # where they are used, they run
    used = {"--dataflow": ["--hw", "tpu_v1"], "--kernels": ["--hw", "h200"], "--launch": ["--hw", "h200"],
            "--micro-batches": ["--hw", hw, "--pp", "2"], "--collective": ["--hw", hw, "--tp", "2"]}[flag[0]]
    ok = _invoke("llm", "--model", "gpt2_small", "--prompt", 16, "--generate", 2, *used, *flag, "--format", "json")
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize("flag,what", [
    (["--swap-gib", "8"], "--preemption recompute (host swap is for --preemption swap)"),
    (["--swap-gb-per-s", "32"], "--preemption recompute"),
    (["--kv-capacity-gib", "1", "--memory-gib", "40"], "a run with --kv-capacity-gib"),
    (["--kv-capacity-gib", "1", "--memory-utilization", "0.8"], "a run with --kv-capacity-gib"),
    (["--collective", "tree"], "a run on one device (no --tp, --pp or --ep: no collectives)"),
])
def test_serve_refuses_options_the_run_does_not_use(flag, what):
    result = _invoke("serve", "--model", "gpt2_small", "--hw", "ideal_a100", "--requests", 5, *flag)
    assert result.exit_code == 2, result.output
    assert f"not used by {what}" in result.output and "remove it" in result.output


def test_existing_output_files_are_not_replaced_without_force(tmp_path):
    """`report -o`, `llm --report` and `run --trace` to a file that exists: refused before any work,
    the file untouched; --force replaces it (as `compare`, `serve --report` and every --out folder)."""
    keep = "a file the user wrote"
    for name in ("r.html", "l.html", "t.csv.gz"):
        (tmp_path / name).write_text(keep)
    run = ["run", "--hw", "edge_16x16", "--workload", "alexnet", "--dataflow", "ws", "--quiet"]
    assert _invoke(*run, "--out", tmp_path / "run").exit_code == 0
    cases = [(["report", tmp_path / "run", "-o", tmp_path / "r.html"], "r.html", "-o"),
             (["llm", "--model", "gpt2_small", "--hw", "ideal_a100", "--prompt", 16, "--generate", 2,
               "--report", tmp_path / "l.html"], "l.html", "--report"),
             (run + ["--fidelity", "cycle", "--trace", tmp_path / "t.csv.gz", "--out", tmp_path / "cyc"], "t.csv.gz",
              "--trace")]
    for args, name, flag in cases:
        out = _user_error(*args)
        assert f"Error: {tmp_path / name}: exists; " in out and "--force" in out and flag in out, out
        assert (tmp_path / name).read_text() == keep and not (tmp_path / "cyc").exists()
        assert _invoke(*args, "--force").exit_code == 0
        assert (tmp_path / name).read_bytes() != keep.encode()


@pytest.mark.parametrize("layer,message", [
    ("{name: c, type: conv, C: 8, H: 8, W: 8, M: 8, R: 3, S: 3, padding: same}",
     "layers[0].padding: must be an integer or [pad_h, pad_w] (got 'same'); 'same' padding for an odd R at stride 1 "
     "is padding: (R-1)/2 = 1 for R=3"),
    ("{name: c, type: conv, C: 8, H: 8, W: 8, M: 8, R: 3, S: 3, padding: VALID}", "'valid' padding is padding: 0"),
    ("{name: d, type: depthwise, C: 8, H: 8, W: 8, M: 8, R: 3, S: 3}",
     "(got 'depthwise'); a depthwise layer is type: conv with groups = C = M"),
    ("{name: f, type: Linear, M: 1, N: 10, K: 8}", "(got 'Linear'); a fully connected layer or matrix multiply is "
                                                   "type: gemm"),
    ("{name: r, type: relu}", "activations are not layers here"),
    ("{name: p, type: maxpool, C: 8, H: 8, W: 8, R: 2, S: 2, M: 8}", "layers[0].M: unknown key; allowed keys"),
])
def test_other_tools_words_in_a_workload_get_the_accelsim_form(tmp_path, layer, message):
    """What a PyTorch, Keras or ONNX user writes first: the error says what accelsim's file wants."""
    path = tmp_path / "w.yaml"
    path.write_text(f"name: w\nlayers:\n  - {layer}\n")
    out = _user_error("validate", path)
    assert message in out, out
    assert "did you mean 'nm'" not in out      # a one-letter key is not 'close' to a two-letter one


def test_a_clock_in_hz_is_refused_with_the_unit(tmp_path):
    """clock_mhz: 500000000 (500 MHz written in Hz) would make every latency a millionth of the truth."""
    path = _hw(tmp_path, "clock_mhz: 500", "clock_mhz: 500000000")
    out = _user_error("validate", path)
    assert f"{path}: clock_mhz: must be at most 100,000 (got 500000000); clock_mhz is in MHz (700 for 700 MHz)" in out
    tree = (ROOT / "hw" / "trees" / "simba_like.yaml").read_text()
    assert "clock_mhz: " in tree
    bad_tree = tmp_path / "tree.yaml"
    bad_tree.write_text(re.sub(r"clock_mhz: [0-9.]+", "clock_mhz: 2.0e+9", tree))
    assert "clock_mhz: must be at most 100,000" in _user_error("validate", bad_tree)
    assert _invoke("validate", _hw(tmp_path, "clock_mhz: 500", "clock_mhz: 100000", "fast.yaml")).exit_code == 0
