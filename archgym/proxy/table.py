"""A proxy's whole design space predicted once, so a single prediction becomes one row lookup.

A proxy over a finite design space (every parameter a finite table of choices: DRAM-v0 holds
663,552 designs) can predict every design up front, as a tabular benchmark (NAS-Bench-201)
stores every architecture's result. That costs the space's size in batched predictions once
(about 1 s for DRAM-v0's gradient-boosted proxy on two cores) and ``designs x metrics x 8``
bytes (27 MB for DRAM-v0's five metrics); afterwards a design's prediction is the table row at
its number, a few hundred nanoseconds instead of a compiled walk over every tree. The rows are
computed by the same predictor: a tree proxy's equal its untabulated predictions bit for bit
(the same compiled kernel), an MLP's may differ in the last bit (batched matrix products).

Whether that pays depends on how many predictions follow, so :class:`TablePolicy` decides as a
ski-rental rule: a proxy answers untabulated until it has answered as many designs as its space
holds (about what the table costs to build), then builds the table -- never more than about
twice the cost of the better choice made in hindsight.
:meth:`archgym.proxy.ProxySimulator.tabulate` builds it at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

#: designs predicted per chunk while tabulating (a chunk's intermediate arrays stay small)
CHUNK_DESIGNS = 1 << 15
#: the largest table built automatically (:class:`TablePolicy`); :meth:`ProxySimulator.tabulate` takes its own bound
AUTO_TABLE_BYTES = 64 * 2**20


def table_bytes(n_designs: int, n_outputs: int) -> int:
    """Memory of a table of ``n_designs`` rows of ``n_outputs`` float64 predictions."""
    return n_designs * n_outputs * 8


def build_table(
    predict_numbers: Callable[[np.ndarray], np.ndarray],
    n_designs: int,
    n_outputs: int,
    *,
    threads: int | None = None,
) -> np.ndarray:
    """``(n_designs, n_outputs)`` predictions of designs ``0 .. n_designs - 1``.

    ``predict_numbers(numbers)`` predicts a chunk of design numbers (it must release the GIL to
    gain from ``threads``: the compiled forest and numpy's matrix products do). ``threads``
    defaults to the CPUs this process may use.
    """
    if n_designs < 1 or n_outputs < 1:
        raise ValueError(f"a prediction table needs designs and outputs, got {n_designs} x {n_outputs}")
    threads = max(1, threads if threads is not None else len(os.sched_getaffinity(0)))
    table = np.empty((n_designs, n_outputs))

    def fill(start: int) -> None:
        stop = min(start + CHUNK_DESIGNS, n_designs)
        table[start:stop] = predict_numbers(np.arange(start, stop, dtype=np.int64))

    starts = range(0, n_designs, CHUNK_DESIGNS)
    if threads == 1 or len(starts) == 1:
        for start in starts:
            fill(start)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(fill, starts))  # list(): re-raises a chunk's error here
    return table


@dataclass
class TablePolicy:
    """When a proxy tabulates itself on its own (see the module docstring).

    ``after``: the number of designs answered untabulated after which the table is built (the
    space's size; ``None``: never -- the space has no numbering, or the table would take more
    than :data:`AUTO_TABLE_BYTES`). ``answered``: designs answered so far untabulated.
    """

    after: int | None
    answered: int = 0

    @classmethod
    def for_space(cls, n_designs: int | None, n_outputs: int, max_bytes: int = AUTO_TABLE_BYTES) -> "TablePolicy":
        fits = n_designs is not None and table_bytes(n_designs, n_outputs) <= max_bytes
        return cls(n_designs if fits else None)

    def count(self, designs: int) -> bool:
        """Record ``designs`` more answers; ``True`` when it is time to build the table."""
        self.answered += designs
        return self.after is not None and self.answered >= self.after
