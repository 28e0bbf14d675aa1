"""A loop-nest mapping as a value: loops, spatial unrolling and per-operand cuts, with a readable
form and the kernel's array form."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels import loopnest as ln

DIM_INDEX = {d: i for i, d in enumerate(ln.DIMS)}
OPS = ("ifmap", "filter", "ofmap")


@dataclass(frozen=True)
class Mapping:
    """``loops``: ((dim, trip), ...) outermost first, all temporal levels; loops at positions
    >= ``glb_cut[op]`` are inside operand op's global-buffer tile, >= ``rf_cut[op]`` inside its
    per-PE register-file tile. ``rows`` / ``cols``: ((dim, factor), ...) spatial unrolling."""

    loops: tuple[tuple[str, int], ...]
    rows: tuple[tuple[str, int], ...]
    cols: tuple[tuple[str, int], ...]
    glb_cut: tuple[int, int, int]
    rf_cut: tuple[int, int, int]

    def arrays(self):
        """(loops [MAX_LOOPS, 2], n_loops, spatial [2, 7], cuts [2, 3]) for the kernel."""
        loops = np.zeros((ln.MAX_LOOPS, 2), dtype=np.int64)
        loops[:, 1] = 1
        for i, (dim, trip) in enumerate(self.loops):
            loops[i] = (DIM_INDEX[dim], trip)
        spatial = np.ones((2, 7), dtype=np.int64)
        for axis, unroll in enumerate((self.rows, self.cols)):
            for dim, factor in unroll:
                spatial[axis, DIM_INDEX[dim]] *= factor
        cuts = np.array([self.glb_cut, self.rf_cut], dtype=np.int64)
        return loops, len(self.loops), spatial, cuts

    @classmethod
    def from_arrays(cls, loops, n_loops, spatial, cuts) -> "Mapping":
        return cls(
            loops=tuple((ln.DIMS[int(loops[i, 0])], int(loops[i, 1])) for i in range(int(n_loops))),
            rows=tuple((ln.DIMS[d], int(spatial[0, d])) for d in range(7) if spatial[0, d] > 1),
            cols=tuple((ln.DIMS[d], int(spatial[1, d])) for d in range(7) if spatial[1, d] > 1),
            glb_cut=tuple(int(c) for c in cuts[0]), rf_cut=tuple(int(c) for c in cuts[1]))

    def describe(self) -> str:
        """One line, outermost first: ``DRAM[..] GLB[..] rows[..] cols[..] RF[..]`` when every
        operand shares its cuts, else the loops with each operand's cut marks."""
        def loops_text(part):
            return " ".join(f"{d}{t}" for d, t in part if t > 1) or "-"
        spatial = (f"rows[{' '.join(f'{d}{f}' for d, f in self.rows) or '-'}] "
                   f"cols[{' '.join(f'{d}{f}' for d, f in self.cols) or '-'}]")
        if len(set(self.glb_cut)) == 1 and len(set(self.rf_cut)) == 1:
            g, r = self.glb_cut[0], self.rf_cut[0]
            return (f"DRAM[{loops_text(self.loops[:g])}] GLB[{loops_text(self.loops[g:r])}] "
                    f"{spatial} RF[{loops_text(self.loops[r:])}]")
        marks = []
        for i, (d, t) in enumerate(self.loops):
            tags = [f"|{op[0]}G" for k, op in enumerate(OPS) if self.glb_cut[k] == i]
            tags += [f"|{op[0]}R" for k, op in enumerate(OPS) if self.rf_cut[k] == i]
            marks.append("".join(tags) + f" {d}{t}")
        return ("loops[" + "".join(marks).strip() + "] " + spatial)
