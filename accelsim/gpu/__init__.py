"""GPU-class devices: kernel costs (:mod:`.kernels`), measurement tables (:mod:`.measurements`) and
``accelsim calibrate`` (:mod:`.calibrate`, :mod:`.command`); docs/silicon.md."""
