"""The package's layers (STYLE.md "Layers"): no import circle, every import points down, and the
command line's help stays light.

Imports are read from the source (every ``import`` statement, at module level or inside a
function: a deferred import is still a dependency). Layers, bottom to top:

0 base      errors, version, small pure helpers (vector, sparsity)
1 spec      load + validate (accelsim.spec, the LLM config reader, the JSON schema generator)
2 lower     importers (produce specs) and workload counts
3 engine    numba kernels (accelsim.kernels)
4 sim       row encodings, shared columns, energy, the fidelity levels (analytical, loop-nest and
            mapper, cycle-level, RTL), the dispatch (model) and the Python entry point (api)
5 apps      llm, sweep, report, results tables
6 cli       the click commands and the package facade
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "accelsim"

#: Module-name prefixes and their layer; the longest matching prefix wins.
LAYERS = {
    "accelsim.errors": 0, "accelsim.version": 0, "accelsim.notices": 0, "accelsim.vector": 0, "accelsim.sparsity": 0,
    "accelsim.table": 0,
    "accelsim.spec": 1, "accelsim.llm.config": 1, "accelsim.schema": 1,
    "accelsim.importers": 2, "accelsim.workload_stats": 2,
    "accelsim.kernels": 3,
    "accelsim.encoding": 4, "accelsim.columns": 4, "accelsim.energy": 4, "accelsim.vector_layers": 4,
    "accelsim.analytical": 4, "accelsim.loopnest": 4, "accelsim.sim": 4, "accelsim.rtl": 4,
    "accelsim.model": 4, "accelsim.api": 4, "accelsim.gpu": 4,
    "accelsim.gpu.measurements": 5, "accelsim.gpu.calibrate": 5,
    "accelsim.llm": 5, "accelsim.sweep": 5, "accelsim.report": 5, "accelsim.results": 5, "accelsim.serve": 5,
    "accelsim.cli": 6, "accelsim.report.cli": 6, "accelsim.sweep.cli": 6, "accelsim.llm.command": 6,
    "accelsim.serve.command": 6, "accelsim.gpu.command": 6, "accelsim.loopnest.command": 6,
    "accelsim": 6,
}
#: Libraries that ``--help`` must not import (numpy is allowed: the LLM options use it).
HEAVY_MODULES = ("numpy", "pandas", "numba", "pyarrow", "plotly", "pyrtl", "scipy", "dask")


def modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the accelsim modules it imports (sub-modules when named, else the package)."""
    mods = modules()

    def owner(name: str) -> str:
        while name not in mods and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    graph = {}
    for name, (path, is_package) in mods.items():
        package = name if is_package else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps |= {owner(a.name) for a in node.names if a.name.split(".")[0] == "accelsim"}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != "accelsim":
                    continue
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    deps.add(full if full in mods else owner(target))
        deps.discard(name)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer_of(module: str) -> int | None:
    prefix = module
    while True:
        if prefix in LAYERS:
            return LAYERS[prefix]
        if "." not in prefix:
            return None
        prefix = prefix.rsplit(".", 1)[0]


def test_the_graph_sees_known_imports():
    graph = import_graph()
    assert "accelsim.kernels.systolic" in graph["accelsim.encoding"]
    assert "accelsim.sim.cycle" in graph["accelsim.model"]          # an import inside a function
    assert "accelsim.errors" in graph["accelsim.sweep.cli"]


def test_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    found = cycles(import_graph())
    assert not found, "import circles (a helper both need moves down; see STYLE.md Layers): " + "; ".join(
        " <-> ".join(c) for c in found)


def test_every_module_has_a_layer():
    missing = sorted(m for m in import_graph() if layer_of(m) is None)
    assert not missing, f"give these modules a layer in tests/test_layers.py LAYERS: {missing}"


def test_imports_point_down():
    graph = import_graph()
    upward = [f"{m} (layer {layer_of(m)}) imports {d} (layer {layer_of(d)})"
              for m, deps in sorted(graph.items()) for d in sorted(deps)
              if d != "accelsim" and layer_of(m) is not None and layer_of(d) is not None and layer_of(d) > layer_of(m)]
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_nothing_imports_the_package_facade_or_the_cli():
    graph = import_graph()
    offenders = sorted(m for m, deps in graph.items() if deps & {"accelsim", "accelsim.cli"})
    assert not offenders, f"import from the module that defines it instead (e.g. accelsim.version): {offenders}"


HELP_PROBE = """
import json, sys
from click.testing import CliRunner
from accelsim.cli import main
commands = [[]] + [[name] for name in main.list_commands(None)]
for group in ("import", "workload"):
    commands += [[group, sub] for sub in main.get_command(None, group).list_commands(None)]
codes = [CliRunner().invoke(main, args + ["--help"]).exit_code for args in commands]
print(json.dumps({"codes": codes, "commands": commands, "modules": sorted(sys.modules)}))
"""


def test_help_imports_no_heavy_module():
    """``accelsim --help`` and every command's --help load no numerical or plotting library
    (the start-up budget: benchmarks/bench_startup.py)."""
    done = subprocess.run([sys.executable, "-c", HELP_PROBE], capture_output=True, text=True, cwd=ROOT, check=True)
    probe = json.loads(done.stdout)
    assert probe["codes"] == [0] * len(probe["commands"]), probe
    assert len(probe["commands"]) >= 10
    heavy = sorted({m.split(".")[0] for m in probe["modules"]} & set(HEAVY_MODULES) - {"numpy"})
    assert not heavy, f"--help imports {heavy}: import them inside the command function"


RUN_PROBE = """
import json, sys
from click.testing import CliRunner
from accelsim.cli import main
result = CliRunner().invoke(main, ["run", *sys.argv[2:], "--out", sys.argv[1]])
print(json.dumps({"code": result.exit_code, "output": result.output, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("how", [("--hw", "edge_16x16", "--dataflow", "ws"),        # systolic
                                 ("--hw", "simba_like", "--objective", "cycles"),    # a tree, mapped
                                 ("--hw", "edge_16x16", "--dataflow", "ws", "--map-tiles"),
                                 ("--hw", "eyeriss", "--dataflow", "rs"),            # the loop-nest mapper
                                 ("--hw", "h200"), ("--hw", "h100")])                # GPU kernels, with and without a tree
def test_run_imports_no_pandas(tmp_path, how):
    """``accelsim run`` (layers with and without MACs), systolic, loop-nest or on an architecture tree, builds,
    prints and writes its tables without pandas (accelsim/table.py): pandas and pyarrow cost a third
    of a warm run (0.23 s of a warm tree run's 0.66 s)."""
    done = subprocess.run([sys.executable, "-c", RUN_PROBE, str(tmp_path / "out"), "--workload", "resnet18", *how],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    probe = json.loads(done.stdout)
    assert probe["code"] == 0, probe["output"]
    assert (tmp_path / "out" / "layers.csv").exists()
    heavy = sorted({m.split(".")[0] for m in probe["modules"]} & set(HEAVY_MODULES) - {"numpy", "numba", "scipy"})
    assert not heavy, f"accelsim run imports {heavy}"


TREE_PROBE = """
import gc, json, sys
from pathlib import Path
from click.testing import CliRunner
from accelsim.cli import main
out = Path(sys.argv[1])
(out.parent / "w.yaml").write_text("name: w\\nlayers:\\n  - {name: conv, type: conv, C: 64, H: 56, W: 56, M: 64, R: 3, S: 3, padding: 1}\\n")
text = (Path("docs") / "architecture.md").read_text()
(out.parent / "m.yaml").write_text(text.split("A mapping gives each storage level", 1)[1].split("```yaml", 1)[1].split("```", 1)[0])
result = CliRunner().invoke(main, ["run", "--hw", "simba_like", "--workload", str(out.parent / "w.yaml"),
                                   "--mapping", str(out.parent / "m.yaml"), "--out", str(out), "--force"])
print(json.dumps({"code": result.exit_code, "output": result.output, "modules": sorted(sys.modules),
                  "gc": [gc.isenabled(), gc.get_freeze_count()]}))
"""


def test_warm_tree_run_start_up(tmp_path):
    """A warm pinned tree run (``--hw simba_like --mapping``) loads its cached kernels without
    scipy: the kernels' array reductions make numba import numba.np.arraymath, whose BLAS probe
    would import scipy.linalg (0.13 s a run; accelsim/kernels/jit.py). Its imports ran with the
    garbage collector off and their objects frozen (0.07-0.09 s of collections a run;
    accelsim/cli.py's _engine_imports), the collector on again afterwards. The first run may compile."""
    probes = [subprocess.run([sys.executable, "-c", TREE_PROBE, str(tmp_path / "out")], capture_output=True,
                             text=True, cwd=ROOT, check=True) for _ in range(2)]
    probe = json.loads(probes[-1].stdout)
    assert probe["code"] == 0, probe["output"]
    assert (tmp_path / "out" / "accesses.csv").exists()
    assert "numba.np.arraymath" in probe["modules"]   # what the probe guards is still there to guard
    assert not [m for m in probe["modules"] if m.startswith(("scipy.linalg", "pandas", "pyarrow"))]
    enabled, frozen = probe["gc"]
    assert enabled and frozen > 50_000   # numpy's and numba's objects: ~90,000 (~160,000 with pandas')


def test_cli_choices_match_the_engine():
    """The CLI spells a few engine constants out (importing the engine would cost start-up)."""
    from accelsim import cli, model, workload_stats
    assert cli.FIDELITY_CHOICES == model.FIDELITIES
    assert cli.STATS_FORMATS == workload_stats.FORMATS
    assert set(cli.TIMING_CHOICES.choices) == set(model.TIMINGS)


@pytest.mark.parametrize("name", ["llm", "report", "sweep"])
def test_lazy_commands_resolve(name):
    from accelsim.cli import main
    command = main.get_command(None, name)
    assert command is not None and command.name == name


def test_operand_dims_match_the_kernels_relevance():
    """accelsim.spec.arch.OPERAND_DIMS (for layers above the kernels' reach) says what the kernels'
    RELEVANCE table says."""
    from accelsim.kernels import loopnest as ln
    from accelsim.spec.arch import OPERAND_DIMS
    for op, index in (("ifmap", ln.OP_IFMAP), ("filter", ln.OP_FILTER), ("ofmap", ln.OP_OFMAP)):
        assert {d for i, d in enumerate(ln.DIMS) if ln.RELEVANCE[index, i]} | {"G"} == OPERAND_DIMS[op]
