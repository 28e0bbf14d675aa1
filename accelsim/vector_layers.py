"""Engine rows for the layers without MACs: pooling, batch norm, residual add, concatenation.

They run on the vector unit (accelsim/vector.py) beside the PE array, or nowhere:

* ``maxpool`` / ``avgpool`` / ``add`` / an unfolded ``batchnorm``: ``compute_cycles`` =
  ceil(vector ops / ``hw.vector_lanes``), the ops per output element as
  :attr:`accelsim.spec.Layer.vector_ops` states them (max pool R*S - 1 compares, avg pool R*S, add of
  k inputs k - 1, batchnorm 2). Traffic, in words at the layer's precision: every input element is
  read once from DRAM into the ifmap buffer and once from it (an add reads each input); every output
  element is written once to the ofmap buffer and once to DRAM, as for the array's layers (no
  fusion across layers is assumed); an unfolded batchnorm also reads 2*C per-channel constants
  (scale alpha/sigma and shift beta - alpha*mu/sigma, [jacob2018] 3.2) through the filter buffer.
  A streaming unit overlaps its DRAM transfers with its compute, so the layer takes
  max(compute, DRAM transfer) cycles; the excess is ``stall_bandwidth_cycles`` (the roofline bound,
  Williams et al., CACM 2009). The global buffer's bandwidth bound is applied afterwards, as for
  every layer (accelsim/model.py's apply_bandwidth_limits).
* ``concat`` is a layout op: its producers write their outputs at channel offsets of one buffer,
  so it moves and computes nothing (zero cycles, zero traffic; ``unit`` = none).
* a ``batchnorm`` after a conv or GEMM is folded into it at inference ([jacob2018] 3.2: W' = W*alpha/sigma,
  b' = beta - alpha*mu/sigma), so it has zero cycles and traffic too (``folded_into`` names the conv).
"""
from __future__ import annotations

from .energy import ACTION_COLUMNS  # register-file and PE-to-PE actions: zero for vector rows
from .kernels import systolic as k
from .kernels.timing import transfer_cycles
from .spec import Hardware, Layer
from .table import Table
from .vector import vector_cycles


def _traffic(layer: Layer) -> tuple[int, int, int]:
    """(input words, per-channel constant words, output words) the layer moves."""
    if layer.unit != "vector":
        return 0, 0, 0
    constants = 2 * layer.C if layer.kind == "batchnorm" else 0
    return layer.ifmap_words, constants, layer.ofmap_words


def vector_row(layer: Layer, hw: Hardware, bits: int) -> dict:
    """The results-table columns (accelsim/model.py RESULT_COLUMNS) of one non-MAC layer, with
    tensors of ``bits`` per element."""
    words_in, words_const, words_out = _traffic(layer)
    compute = vector_cycles(layer.vector_ops, hw.vector_lanes)
    transfer = int(transfer_cycles(words_in + words_const + words_out, bits, hw.dram_bandwidth_bytes_per_cycle))
    stall = max(0, transfer - compute)
    row = dict.fromkeys(k.INT_OUTPUTS, 0)
    row.update({"E": layer.E, "F": layer.F, "groups": layer.groups, "gemm_p": layer.N * layer.E * layer.F,
                "compute_cycles": compute, "stall_bandwidth_cycles": stall, "stall_cycles": stall,
                "total_cycles": compute + stall,
                "sram_ifmap_reads": words_in, "sram_filter_reads": words_const, "sram_ofmap_writes": words_out,
                "dram_ifmap_reads": words_in, "dram_filter_reads": words_const, "dram_ofmap_writes": words_out})
    row.update(dict.fromkeys(k.FLOAT_OUTPUTS, 0.0))
    row.update(dict.fromkeys(ACTION_COLUMNS, 0))
    return row


def vector_frame(layers, hw: Hardware, bits: list[int]) -> Table:
    """One row per non-MAC layer: the count columns of :func:`vector_row` (the caller adds the
    identifying columns), as an accelsim.table.Table."""
    return Table.from_rows([vector_row(layer, hw, b) for layer, b in zip(layers, bits)])
