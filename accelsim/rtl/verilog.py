"""Second and third simulators: the array exported to Verilog and replayed under Icarus Verilog
(:func:`replay_icarus`) or Verilator (:func:`replay_verilator`, compiled C++, the fast one).

:func:`replay_icarus` writes the module (``pyrtl.output_to_verilog`` with registers initialised to 0
and no reset port, so cycle 0 matches PyRTL's simulators), a testbench and the stimulus as one hex
word per cycle, runs ``iverilog`` + ``vvp`` and returns the output ports seen on every cycle.

Testbench cycle (same as one ``Simulation.step``): drive the cycle's inputs, wait 1 ns, write every
output port, then one rising clock edge. PyRTL's Verilog carries no ``signed`` keyword, so all
values are compared as bit patterns.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pyrtl

from ..errors import AccelsimError
from .array import SystolicArray


def _ports(array: SystolicArray, kind):
    return sorted(array.block.wirevector_subset(kind), key=lambda w: w.name)


def write_verilog(array: SystolicArray, path: str | Path) -> None:
    """The array as Verilog module ``toplevel``: registers start at 0, no reset port."""
    with open(path, "w") as f:
        pyrtl.output_to_verilog(f, add_reset=False, block=array.block, initialize_registers=True)


def _testbench(array: SystolicArray, n_steps: int, width: int, offsets: dict, outputs) -> str:
    conns = [".clk(clk)"]
    for w in _ports(array, pyrtl.Input):
        lo = offsets[w.name]
        conns.append(f".{w.name}(stim_word[{lo + w.bitwidth - 1}:{lo}])")
    wires = [f"    wire [{o.bitwidth - 1}:0] {o.name};" for o in outputs]
    conns += [f".{o.name}({o.name})" for o in outputs]
    fmt = " ".join(["%h"] * len(outputs))
    args = ", ".join(o.name for o in outputs)
    return f"""`timescale 1ns/1ps
module tb;
    reg clk = 0;
    reg [{width - 1}:0] stim [0:{n_steps - 1}];
    reg [{width - 1}:0] stim_word = 0;
{chr(10).join(wires)}
    toplevel dut({", ".join(conns)});
    integer s, fd;
    initial begin
        $readmemh("stim.hex", stim);
        fd = $fopen("out.txt", "w");
        for (s = 0; s < {n_steps}; s = s + 1) begin
            stim_word = stim[s];
            #1;
            $fwrite(fd, "{fmt}\\n", {args});
            clk = 1; #1; clk = 0;
        end
        $fclose(fd);
        $finish;
    end
endmodule
"""


def replay_icarus(array: SystolicArray, stimulus: list[dict], workdir: str | None = None) -> dict:
    """Run ``stimulus`` (one input dict per cycle) under Icarus Verilog.

    Returns {output port name: int64 array [cycles]} of the raw bit patterns. ``workdir`` keeps the
    generated files (array.v, tb.v, stim.hex, out.txt) for inspection.
    """
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        raise AccelsimError("cosim --verilog: Icarus Verilog not found (install it: "
                            "apt-get install -y iverilog)")
    inputs = _ports(array, pyrtl.Input)
    outputs = _ports(array, pyrtl.Output)
    offsets, width = {}, 0
    for w in inputs:
        offsets[w.name] = width
        width += w.bitwidth
    digits = -(-width // 4)
    lines = []
    for step in stimulus:
        word = 0
        for w in inputs:
            word |= (int(step.get(w.name, 0)) & ((1 << w.bitwidth) - 1)) << offsets[w.name]
        lines.append(f"{word:0{digits}x}")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(workdir or tmp)
        d.mkdir(parents=True, exist_ok=True)
        write_verilog(array, d / "array.v")
        (d / "tb.v").write_text(_testbench(array, len(stimulus), width, offsets, outputs))
        (d / "stim.hex").write_text("\n".join(lines) + "\n")
        for cmd in (["iverilog", "-o", "tb.vvp", "tb.v", "array.v"], ["vvp", "-n", "tb.vvp"]):
            proc = subprocess.run(cmd, cwd=d, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
        rows = [line.split() for line in (d / "out.txt").read_text().splitlines()]
    values = np.array([[int(x, 16) for x in row] for row in rows], dtype=np.int64)
    return {o.name: values[:, i] for i, o in enumerate(outputs)}


def _verilator_testbench(inputs, outputs) -> str:
    """C++ main: per cycle read one line of input values (port order), evaluate, write every
    output (decimal, port order), then one rising clock edge; the same cycle as ``step``."""
    reads = "\n".join(f"        if (std::fscanf(stim, \"%llu\", &v) != 1) break; top->{w.name} = v;"
                      for w in inputs)
    fmt = " ".join(["%llu"] * len(outputs))
    args = ", ".join(f"(unsigned long long)top->{o.name}" for o in outputs)
    return f"""#include <cstdio>
#include "Vtoplevel.h"
#include "verilated.h"
int main(int argc, char** argv) {{
    VerilatedContext* ctx = new VerilatedContext;
    ctx->commandArgs(argc, argv);
    Vtoplevel* top = new Vtoplevel{{ctx}};
    std::FILE* stim = std::fopen("stim.txt", "r");
    std::FILE* out = std::fopen("out.txt", "w");
    unsigned long long v;
    top->clk = 0;
    top->eval();
    while (true) {{
{reads}
        top->eval();
        std::fprintf(out, "{fmt}\\n", {args});
        top->clk = 1;
        top->eval();
        top->clk = 0;
        top->eval();
    }}
    std::fclose(out);
    std::fclose(stim);
    top->final();
    delete top;
    delete ctx;
    return 0;
}}
"""


def replay_verilator(array: SystolicArray, stimulus: list[dict], workdir: str | None = None,
                     timings: dict | None = None) -> dict:
    """Run ``stimulus`` (one input dict per cycle) on the array compiled by Verilator.

    Returns {output port name: int64 array [cycles]} of the raw bit patterns, like
    :func:`replay_icarus`. ``workdir`` keeps the files (array.v, tb.cpp, stim.txt, out.txt,
    obj_dir/); ``timings``, if given, receives ``compile_s`` and ``run_s``.
    """
    if shutil.which("verilator") is None:
        raise AccelsimError("cosim --verilator: Verilator not found (install it: apt-get install -y verilator)")
    inputs = _ports(array, pyrtl.Input)
    outputs = _ports(array, pyrtl.Output)
    wide = [w.name for w in inputs + outputs if w.bitwidth > 64]
    if wide:
        raise AccelsimError(f"cosim --verilator: ports wider than 64 bits are not supported ({', '.join(wide)})")
    lines = [" ".join(str(int(step.get(w.name, 0)) & ((1 << w.bitwidth) - 1)) for w in inputs)
             for step in stimulus]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(workdir or tmp)
        d.mkdir(parents=True, exist_ok=True)
        write_verilog(array, d / "array.v")
        (d / "tb.cpp").write_text(_verilator_testbench(inputs, outputs))
        (d / "stim.txt").write_text("\n".join(lines) + "\n")
        t0 = time.perf_counter()
        jobs = str(max(1, min(4, os.cpu_count() or 1)))
        cmd = ["verilator", "--cc", "array.v", "--exe", "tb.cpp", "--top-module", "toplevel", "--build",
               "-j", jobs, "-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-assign", "fast", "--x-initial", "fast",
               # the model at -O1, Verilator's runtime library unoptimised: a short compile
               "-MAKEFLAGS", "OPT_GLOBAL=-O0 OPT_FAST=-O1 OPT_SLOW=-O0"]
        proc = subprocess.run(cmd, cwd=d, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        t1 = time.perf_counter()
        proc = subprocess.run([str(d / "obj_dir" / "Vtoplevel")], cwd=d, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"Vtoplevel failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        t2 = time.perf_counter()
        values = np.loadtxt(d / "out.txt", dtype=np.uint64, ndmin=2).astype(np.int64)
    if timings is not None:
        timings.update(compile_s=t1 - t0, run_s=t2 - t1)
    return {o.name: values[:, i] for i, o in enumerate(outputs)}
