"""The cycle-level simulator (fidelity ``cycle``): accelsim/sim/cycle.py, traces in trace.py."""
