"""numba kernels: arrays and scalars in, arrays out; no dataclasses, no user-facing errors."""
