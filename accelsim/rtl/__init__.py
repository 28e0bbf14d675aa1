"""RTL co-simulation: PyRTL systolic arrays checked bit- and cycle-exactly against accelsim.

- :mod:`accelsim.rtl.timing`: the per-fold cycle count (one source of truth for the formula).
- :mod:`accelsim.rtl.array`: the PyRTL generators (weight-, output- and input-stationary).
- :mod:`accelsim.rtl.model`: the numpy/numba functional and register-level model of the same array.
- :mod:`accelsim.rtl.cosim`: the harness that drives a GEMM through both and compares them.
- :mod:`accelsim.rtl.verilog`: Verilog export and the Icarus Verilog replay (second simulator).
- :mod:`accelsim.rtl.memplan` / :mod:`accelsim.rtl.memsys`: the DMA program of a GEMM layer and the
  memory system (DMA engine, double-buffered SRAM, fold sequencer around an array), checked cycle
  for cycle against the cycle-level simulator.
- :mod:`accelsim.rtl.guard`: time and memory estimate of a co-simulation, checked before building.

See docs/rtl.md.
"""
