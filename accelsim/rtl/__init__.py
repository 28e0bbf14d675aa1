"""RTL co-simulation: PyRTL systolic arrays checked bit- and cycle-exactly against accelsim.

- :mod:`accelsim.rtl.timing`: the per-fold cycle count (one source of truth for the formula).
- :mod:`accelsim.rtl.array`: the PyRTL generators (weight- and output-stationary).
- :mod:`accelsim.rtl.model`: the numpy/numba functional and register-level model of the same array.
- :mod:`accelsim.rtl.cosim`: the harness that drives a GEMM through both and compares them.
- :mod:`accelsim.rtl.verilog`: Verilog export and the Icarus Verilog replay (second simulator).

See docs/rtl.md.
"""
