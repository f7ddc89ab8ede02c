"""Multi-dimensional NPU networks as ASTRA-sim's analytical backend describes them.

A :class:`Topology` is a list of :class:`Dim` — one per network dimension, each a building
block (``Ring``, ``FullyConnected`` or ``Switch``) with its size (NPUs along it), link
bandwidth and per-hop latency — exactly the ``topology / npus_count / bandwidth / latency``
lists of an ASTRA-sim network YAML. Dimension 0 is the fastest-varying NPU index
(astra-network-analytical ``MultiDimTopology::translate_address``).

Units follow ASTRA-sim: bandwidth in GB/s with **1 GB = 2^30 bytes** (``bw_GBps_to_Bpns`` in
astra-network-analytical ``common/NetworkFunction.cpp``), latency in ns, and 1 cycle = 1 ns.

Hop counts (congestion-unaware ``compute_hops_count`` of ``Ring.cpp`` / ``Switch.cpp`` /
``FullyConnected.cpp``): a bidirectional ring takes the shorter way round; a switch is always
two hops (NPU → switch → NPU); a fully connected dimension is one hop.

Network cost model (ours, not ASTRA-sim's): the sum over dimensions of (number of NPU-side
links) × (link bandwidth in GB/s), in "link-GB/s". Per group of ``n`` NPUs along a dimension a
bidirectional ring has ``n`` links, a fully connected group ``n(n-1)/2`` and a switch ``n``
(NPU-to-switch) links; there are ``N / n`` such groups for ``N`` NPUs. It prices wires and
SerDes, which scale with links × bandwidth; switch silicon is not priced separately.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

#: the building blocks of astra-network-analytical (``TopologyBuildingBlock``)
TOPOLOGY_KINDS: tuple[str, ...] = ("Ring", "FullyConnected", "Switch")
#: 1 GB/s in bytes per ns (ASTRA-sim's GB is 2^30 bytes)
GBPS_TO_BPNS = float(1 << 30) / 1e9


class TopologyError(ValueError):
    """A malformed network description (names the bad value and what was expected)."""


def bytes_per_ns(bandwidth_gbps: float | np.ndarray) -> float | np.ndarray:
    """GB/s → B/ns with ASTRA-sim's 2^30-byte GB."""
    return bandwidth_gbps * GBPS_TO_BPNS


_KIND_CODES = {k.lower(): i for i, k in enumerate(TOPOLOGY_KINDS)} | {k: i for i, k in enumerate(TOPOLOGY_KINDS)}


def kind_code(kind: str) -> int:
    """Index of a building block name in :data:`TOPOLOGY_KINDS` (case-insensitive)."""
    code = _KIND_CODES.get(kind)
    if code is None:
        code = _KIND_CODES.get(str(kind).lower())
        if code is None:
            raise TopologyError(f"unknown topology kind {kind!r}; expected one of {', '.join(TOPOLOGY_KINDS)}")
    return code


def check_dim(kind: str, size: int, bandwidth_gbps: float, latency_ns: float) -> tuple[int, int, float, float]:
    """Validate one dimension; returns ``(kind code, size, bandwidth GB/s, latency ns)``."""
    code = kind_code(kind)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2:
        raise TopologyError(f"dimension size must be an integer >= 2, got {size!r}")
    try:
        bandwidth_gbps, latency_ns = float(bandwidth_gbps), float(latency_ns)
    except (TypeError, ValueError):
        raise TopologyError(f"bandwidth and latency must be numbers, got {bandwidth_gbps!r} and {latency_ns!r}") from None
    if not 0 < bandwidth_gbps < math.inf:
        raise TopologyError(f"link bandwidth must be positive (GB/s), got {bandwidth_gbps!r}")
    if not 0 < latency_ns < math.inf:
        raise TopologyError(f"link latency must be positive (ns), got {latency_ns!r}")
    return code, int(size), bandwidth_gbps, latency_ns


def links_per_group(code: int, size: int) -> int:
    """NPU-side links in one group of ``size`` NPUs along a dimension of kind ``code``."""
    return size * (size - 1) // 2 if code == 1 else size


@dataclass(frozen=True)
class Dim:
    """One network dimension: building block, NPUs along it, link bandwidth (GB/s), latency (ns)."""

    kind: str
    size: int
    bandwidth_gbps: float
    latency_ns: float = 500.0

    def __post_init__(self) -> None:
        code, _, _, _ = check_dim(self.kind, self.size, self.bandwidth_gbps, self.latency_ns)
        object.__setattr__(self, "kind", TOPOLOGY_KINDS[code])

    @property
    def links_per_group(self) -> int:
        """NPU-side links in one group of ``size`` NPUs (see the module's cost model)."""
        return links_per_group(kind_code(self.kind), self.size)


@dataclass(frozen=True)
class Topology:
    """A multi-dimensional network; dimension 0 varies fastest in the NPU id."""

    dims: tuple[Dim, ...]
    #: product of the dimension sizes (set at construction)
    npus_count: int = field(init=False, repr=False, compare=False)
    #: :meth:`cost`, computed once
    network_cost: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.dims:
            raise TopologyError("a topology needs at least one dimension")
        object.__setattr__(self, "dims", tuple(self.dims))
        object.__setattr__(self, "npus_count", math.prod(d.size for d in self.dims))
        object.__setattr__(self, "network_cost", self.cost())

    @classmethod
    def from_lists(
        cls,
        kinds: Sequence[str],
        sizes: Sequence[int],
        bandwidths_gbps: Sequence[float],
        latencies_ns: Sequence[float] | float = 500.0,
        npus: int | None = None,
    ) -> "Topology":
        """Build from ASTRA-sim-style per-dimension lists; ``npus`` (if given) must equal the product."""
        if isinstance(latencies_ns, (int, float)):
            latencies_ns = [latencies_ns] * len(sizes)
        lengths = {len(kinds), len(sizes), len(bandwidths_gbps), len(latencies_ns)}
        if len(lengths) != 1:
            raise TopologyError(
                f"per-dimension lists differ in length: kinds {len(kinds)}, sizes {len(sizes)}, "
                f"bandwidths {len(bandwidths_gbps)}, latencies {len(latencies_ns)}"
            )
        topo = cls(tuple(Dim(k, int(s), float(b), float(l)) for k, s, b, l in zip(kinds, sizes, bandwidths_gbps, latencies_ns)))
        if npus is not None and topo.npus != npus:
            raise TopologyError(
                f"topology sizes {'x'.join(str(s) for s in sizes)} multiply to {topo.npus}, expected {npus} NPUs"
            )
        return topo

    @property
    def npus(self) -> int:
        return math.prod(d.size for d in self.dims)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(d.size for d in self.dims)

    def cost(self) -> float:
        """Network cost in link-GB/s (module docstring)."""
        n = self.npus
        return float(sum(d.links_per_group * (n // d.size) * d.bandwidth_gbps for d in self.dims))


def hops(kind: str, n: int, offset: int) -> int:
    """Congestion-unaware hop count between NPUs ``offset`` apart along a dimension of ``n``."""
    code = kind_code(kind)
    return int(_hops(np.int64(code), np.int64(n), np.int64(offset)))


def _hops(code: np.ndarray, n: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Vectorised hop count: Ring = min(d, n-d), FullyConnected = 1, Switch = 2."""
    d = np.mod(offset, n)
    ring = np.minimum(d, n - d)
    return np.where(code == 0, ring, np.where(code == 1, 1, 2))


def factorizations(n: int, max_dims: int = 3, min_size: int = 2) -> list[tuple[int, ...]]:
    """Every ordered factorisation of ``n`` into 1..``max_dims`` factors, each >= ``min_size``."""
    out: list[tuple[int, ...]] = []

    def rec(rest: int, prefix: tuple[int, ...]) -> None:
        if rest == 1 and prefix:
            out.append(prefix)
            return
        if len(prefix) == max_dims:
            return
        for f in range(min_size, rest + 1):
            if rest % f == 0:
                rec(rest // f, prefix + (f,))

    rec(n, ())
    return sorted(out, key=lambda s: (len(s), s))


def parse_shape(text: str | Iterable[int]) -> tuple[int, ...]:
    """``"4x4x16"`` → ``(4, 4, 16)``; a clear error for anything else."""
    if not isinstance(text, str):
        return tuple(int(x) for x in text)
    try:
        shape = tuple(int(x) for x in text.lower().split("x"))
    except ValueError:
        raise TopologyError(f"topology shape {text!r} is not of the form AxBxC (positive integers)") from None
    if not shape or any(s < 2 for s in shape):
        raise TopologyError(f"topology shape {text!r}: every dimension must have size >= 2")
    return shape
