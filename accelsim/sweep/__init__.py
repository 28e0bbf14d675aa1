"""Design-space sweeps (docs/sweep.md): the space (space.py), batched chunk evaluation
(evaluate.py), the crash-safe folder (store.py) and the local / Dask runner (runner.py).

From Python::

    from accelsim.sweep import build_space, run_sweep
    space = build_space({"hw": "tpu_v1", "workload": "resnet50", "dataflow": "ws,os", "array": "16x16,32x32"})
    run_sweep(space, "results/my_sweep", workers=2)
"""


def __getattr__(name):  # lazy: `accelsim run` need not import pyarrow
    if name == "build_space":
        from .space import build_space
        return build_space
    if name == "run_sweep":
        from .runner import run_sweep
        return run_sweep
    raise AttributeError(name)
