"""``timing: zigzag`` (accelsim/loopnest/timing_zigzag.py), ZigZag 3.9.1's latency model, on hand-computed
cases; the ZigZag runs themselves are compared part by part in test_import_zigzag.py."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accelsim.errors import SpecError
from accelsim.kernels.treetiming import window_union
from accelsim.loopnest.tree import evaluate_tree, tree_mapping_from_dict
from accelsim.spec.arch import arch_from_dict
from accelsim.spec.workload import workload_from_dict


def _tree(buf_words=64, buf_ports=None):
    """DRAM (one 8-bit read-write port) -> buf -> one MAC (int8 inputs, 16-bit partial sums)."""
    store = {"kind": "storage", "operands": ["ifmap", "filter", "ofmap"], "read_energy_pj": 1, "write_energy_pj": 1}
    buf = {"name": "buf", **store, "size_words": buf_words}
    if buf_ports:
        buf.update(buf_ports)
    return {"name": "hand", "precision": "int8", "clock_mhz": 1000, "timing": "zigzag", "levels": [
        {"name": "DRAM", **store, "bandwidth_bytes_per_cycle": 1},
        buf,
        {"name": "mac", "kind": "compute", "precision": "int8", "accumulator_bits": 16, "energy_pj": 0}]}


def _cost(tree, temporal, C=4):
    layer = workload_from_dict({"name": "w", "layers": [{"name": "l", "type": "conv", "C": C, "M": 1, "H": 1, "W": 1,
                                                         "R": 1, "S": 1}]}).layers[0]
    tree = arch_from_dict(tree)
    return evaluate_tree(tree, layer, tree_mapping_from_dict({"buf": {"temporal": temporal}}, tree))


def test_hand_computed_dot_product():
    """C = 4 MACs into one output, C looped at buf (4 steps). ifmap and filter: buf's first tile (4
    words) loads from DRAM once before the first step, 4 x 8 bits / 8 bits per cycle = 4 cycles each
    (buf's own ports are unbounded: 0). DRAM's one port and buf's ports each serve both inputs, so
    ZigZag loads the two one after the other (cost_model.py 969-1021, "completely shared"): 8. The
    ofmap's one final 8-bit word leaves buf for DRAM at the end: 1 cycle. Every transfer fits its
    window (buf's tiles use 24 of its 512 bits: double-buffered; DRAM's transfers happen once): no
    stall. 4 + 0 + 8 + 1 = 13, the transfers charged to buf (the level they fill and drain)."""
    cost = _cost(_tree(), [["C", 4]])
    assert cost.latency_parts == {"ideal": 4, "stall": 0, "onloading": 8, "offloading": 1, "systolic_drain": 0}
    assert cost.total_cycles == 13 and cost.compute_cycles == 4 and cost.stall_cycles == 9
    assert cost.stall_by_level == {"buf": 9}


def test_hand_computed_port_stall():
    """The same layer with buf's one read and one write port 8 bits wide. Each step reads an ifmap and a
    filter word for the MAC and reads back the 16-bit partial sum, all on the read port, each with a
    1-cycle window (the MAC holds no buffer): the partial sum takes 2 cycles, (2 - 1) x (4 - 1) = 3
    cycles of stall, and the three transfers' windows, 3 x (1 x 3) cycles, exceed their union, 1 cycle
    of each of the 4 periods, by 5: 3 + 5 = 8 (cost_model.py 769-807). The write port: the partial
    sum written back, 3, the tiles from DRAM within their double-buffered windows. Stall = the larger
    port's, 8, charged to buf."""
    cost = _cost(_tree(9, {"read_bandwidth_bytes_per_cycle": 1, "write_bandwidth_bytes_per_cycle": 1}), [["C", 4]])
    assert cost.latency_parts["stall"] == 8
    assert cost.stall_by_level["buf"] >= 8


def _naive_union(period, allowed, count):
    """The windows' union by brute force over the whole run: a cycle is in it when some transfer's
    window covers it; ZigZag normalises to the longest period (cost_model.py 396-439)."""
    if any(p == a for p, a in zip(period, allowed)):
        i = next(i for i, (p, a) in enumerate(zip(period, allowed)) if p == a)
        return period[i] * count[i]
    first = int(np.argmax(period))
    longest = period[first]
    cycles = {c for p, a in zip(period, allowed) for start in range(0, longest, p) for c in range(start, start + a)}
    return len(cycles) * count[first]


@pytest.mark.parametrize("seed", range(20))
def test_window_union_kernel_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 5))
    base = int(rng.integers(1, 5))
    period = np.array([base * int(rng.choice([1, 2, 4, 8])) for _ in range(n)], dtype=np.int64)
    allowed = np.array([int(rng.integers(0, p)) for p in period], dtype=np.int64)
    count = np.array([int(64 // p) or 1 for p in period], dtype=np.int64)
    assert window_union(period, allowed, count) == _naive_union(list(period), list(allowed), list(count))


def test_timing_zigzag_validated():
    bad = _tree()
    bad["timing"] = "zigzg"
    with pytest.raises(SpecError) as err:
        arch_from_dict(bad, "t.yaml")
    assert "timing" in str(err.value) and "zigzag" in str(err.value)


# ------------------------------------------------------------------- the kernel against the oracle

def _candidates(tree, layer, monkeypatch):
    """Every batch of candidates the tree mapper times on ``tree`` for ``layer`` (objective cycles)."""
    from accelsim import spec
    from accelsim.loopnest import tree_timing
    from accelsim.loopnest.tree_mapper import map_layer

    seen, kernel = [], tree_timing.zigzag_batch

    def spy(tree, rows, n_rows, problem, cuts=None):
        seen.append((tree, rows.copy(), problem.copy()))
        return kernel(tree, rows, n_rows, problem, cuts)

    monkeypatch.setattr(tree_timing, "zigzag_batch", spy)
    map_layer(tree, layer, spec.energy_table_for(tree, None), "cycles", restarts=1)
    return seen


def _zigzag_trees():
    """ZigZag's shipped tpu_like, eyeriss_like and ascend_like imported (their port maps), and two
    accelsim presets under ``timing: zigzag`` (ports from bandwidth keys; a partitioned level)."""
    import yaml

    from accelsim import spec
    from accelsim.importers.zigzag import import_zigzag
    from accelsim.spec.arch import load_arch
    from accelsim.spec.arch_shorthand import arch_to_dict

    data = Path(__file__).parent / "data" / "zigzag"
    trees = []
    for name in ("tpu_like", "eyeriss_like", "ascend_like"):
        hw = import_zigzag(data / "hardware" / f"{name}.yaml").hw
        trees.append(arch_from_dict(yaml.safe_load(yaml.safe_dump(hw)), f"{name}.yaml"))
    for name in ("simba_like", "eyeriss"):
        d = arch_to_dict(load_arch(spec.ROOT / "hw" / "trees" / f"{name}.yaml"))
        trees.append(arch_from_dict(dict(d, timing="zigzag"), f"{name}.yaml"))
    return trees


LAYERS = [dict(C=32, M=32, H=14, W=14, R=3, S=3, padding=1),      # 3x3
          dict(C=24, M=40, H=13, W=13, R=1, S=1),                   # odd sizes: partial tiles, integer unrolling
          dict(C=16, M=32, H=15, W=15, R=3, S=3, stride=2)]          # strided window


@pytest.mark.parametrize("index", range(len(LAYERS)))
def test_kernel_equals_the_oracle_on_mapper_candidates(index, monkeypatch):
    """Every 7th candidate the tree mapper times, on 5 trees and 3 layers: the numba kernel's parts and
    charged levels equal tests/naive_timing_zigzag.py's step-by-step model."""
    from naive_timing_zigzag import latency

    from accelsim.loopnest.timing_zigzag import zigzag_latency

    layer = workload_from_dict({"name": "w", "layers": [{"name": "l", "type": "conv", **LAYERS[index]}]}).layers[0]
    checked = 0
    for tree in _zigzag_trees():
        for sub, rows, problem in _candidates(tree, layer, monkeypatch):
            for b in range(0, rows.shape[0], 7):
                assert zigzag_latency(sub, rows[b], problem) == latency(sub, rows[b], problem), (tree.name, b)
                checked += 1
    assert checked > 300
