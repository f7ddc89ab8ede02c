"""Collective communication times, after ASTRA-sim's system layer over its analytical network.

Everything here reproduces, in closed form, what ASTRA-sim (commit c459ab6) computes event by
event for the native collectives. References are to files of ``astra-sim/astra-sim``
(``astra-sim/system/...``) and ``astra-sim/astra-network-analytical`` (AN).

Chunking (``Sys::determine_chunk_size`` and ``Sys::generate_collective`` in ``Sys.cc``)
    A collective of ``size`` bytes is cut into chunks of ``size // splits`` bytes
    (``preferred-dataset-splits``; :attr:`SystemConfig.chunks`); except for all-gather, a
    chunk is at least ``npus`` bytes. ``ceil(size / chunk)`` equal chunks run.

Phases across dimensions (``Sys::generate_collective``, default ``Ascending`` inter-dimension
scheduling, ``localBWAware`` optimisation)
    Each chunk visits the dimensions in order (all-gather: reversed), one phase per
    dimension, each phase's output size being the next phase's input (``final_data_size``).
    An all-reduce becomes reduce-scatter on dims ``0..k-2``, all-reduce on the last dim,
    all-gather on ``k-2..0``. With ``active-chunks-per-dimension = 1`` a dimension handles one
    chunk at a time, so chunks flow through the phases like a pipeline (:func:`schedule_chunks`;
    a flow shop, ``Σ_p t_p + (chunks − 1) · max_p t_p``, when every phase has its own dimension);
    an all-reduce's reduce-scatter and all-gather share their dimension; on one dimension,
    chunks run back to back.

One phase (``astraccl/native_collectives/collective_algorithm/{Ring,AllToAll,HalvingDoubling}.cc``,
``PacketBundle.cc``, ``MemBus.cc``)
    A phase of ``S`` sequential message steps costs ``(S + 1) · endpoint_delay`` (every packet
    bundle crosses the NPU↔memory bus once per step plus once at the start, ``MemBus``
    ``communication_delay``), plus each step's network delay, plus ``3 · ⌊m / local_mem_bw⌋``
    for every received message that must be reduced (``PacketBundle::call``: one write and two
    reads of the message in local memory; ``local-mem-bw`` in GB/s with 1 GB = 1e9 B here).
    Network delay of a message of ``m`` bytes over ``h`` hops (AN congestion-unaware
    ``BasicTopology::compute_communication_delay``): ``⌊h · latency + m / bandwidth⌋`` ns.

    * ring (``Ring.cc``): all-reduce ``2(n-1)`` steps of ``c/n`` bytes, the first ``n-1``
      received messages reduced; reduce-scatter ``n-1`` steps of ``c/n``, all reduced;
      all-gather ``n-1`` steps of ``c`` (ASTRA-sim's all-gather size is the per-NPU input);
      all-to-all ``n(n-1)/2`` steps of ``c/n``. Each message goes to the ring neighbour.
    * direct (``AllToAll.cc``, window ``n-1``): every peer at once, so a step lasts as long
      as the farthest peer's message; all-reduce = 2 steps (reduce-scatter, then all-gather,
      one reduction in between), the others 1 step; message ``c/n`` (all-gather ``c``).
    * halving-doubling (``HalvingDoubling.cc``; ``n`` a power of two, ``k = log2 n``):
      reduce-scatter ``k`` steps of ``c/2, c/4, …`` to partners ``1, 2, 4, …`` apart, all but
      the first received message reduced; all-reduce adds the mirrored all-gather steps;
      all-gather ``k`` steps of ``c, 2c, …`` to partners ``n/2, n/4, …`` apart. It has no
      all-to-all (ASTRA-sim exits), so we raise :class:`CollectiveError`.

Congestion-aware mode (AN ``congestion_aware/network/Link.cpp``, ``basic-topology/*.cpp``)
    Each message is routed hop by hop over FIFO links (a ring goes anticlockwise only when
    strictly shorter; a switch is NPU → switch → NPU); a link is busy ``⌊m/bw⌋`` per message
    and delivers it ``⌊latency + m/bw⌋`` after it starts. A step lasts until its last message
    arrives; we simulate each step with all its messages injected together. ASTRA-sim's
    congestion-aware backend only takes 1-D networks; we apply it per dimension.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from archgym.simulators.training.network import TOPOLOGY_KINDS, Topology, _hops, bytes_per_ns, kind_code

COLLECTIVES: tuple[str, ...] = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all")
ALGORITHMS: tuple[str, ...] = ("ring", "direct", "halvingDoubling")
#: ASTRA-sim's customary pairing of building block and algorithm (the reference's "natural")
NATURAL_ALGORITHM: dict[str, str] = {"Ring": "ring", "FullyConnected": "direct", "Switch": "halvingDoubling"}

RING, DIRECT, HD = 0, 1, 2


class CollectiveError(ValueError):
    """Unknown collective or algorithm, or an algorithm that cannot run a collective/size."""


def collective_name(name: str) -> str:
    key = str(name).lower().replace("-", "_")
    if key not in COLLECTIVES:
        raise CollectiveError(f"unknown collective {name!r}; expected one of {', '.join(COLLECTIVES)}")
    return key


_ALG_CODES = {a: i for i, a in enumerate(ALGORITHMS)}


def algorithm_code(name: str) -> int:
    """Index of an algorithm name in :data:`ALGORITHMS` (case, ``-`` and ``_`` ignored)."""
    code = _ALG_CODES.get(name)
    if code is not None:
        return code
    for i, known in enumerate(ALGORITHMS):
        if str(name).lower().replace("-", "").replace("_", "") == known.lower():
            return i
    raise CollectiveError(f"unknown collective algorithm {name!r}; expected one of {', '.join(ALGORITHMS)}")


@dataclass(frozen=True)
class SystemConfig:
    """ASTRA-sim system-JSON settings that change collective times (defaults = the reference runs)."""

    #: ``endpoint-delay`` (ns): NPU↔memory-bus crossing per packet bundle
    endpoint_delay_ns: float = 10.0
    #: ``preferred-dataset-splits``: chunks per collective
    chunks: int = 4
    #: ``local-mem-bw`` (GB/s, 1 GB = 1e9 B): reduction cost of received messages
    local_mem_bw_gbps: float = 1600.0
    #: use the congestion-aware link model instead of the congestion-unaware one
    congestion_aware: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.chunks, bool) or int(self.chunks) != self.chunks or self.chunks < 1:
            raise CollectiveError(f"chunks must be a positive integer, got {self.chunks!r}")
        if not self.endpoint_delay_ns >= 0:
            raise CollectiveError(f"endpoint delay must be >= 0 ns, got {self.endpoint_delay_ns!r}")
        if not self.local_mem_bw_gbps > 0:
            raise CollectiveError(f"local memory bandwidth must be positive (GB/s), got {self.local_mem_bw_gbps!r}")


# ---------------------------------------------------------------------------------------------
# one phase, congestion-unaware, vectorised over designs
# ---------------------------------------------------------------------------------------------

def phase_time(
    collective: str,
    alg: np.ndarray,
    kind: np.ndarray,
    n: np.ndarray,
    bw_bpns: np.ndarray,
    lat_ns: np.ndarray,
    chunk: np.ndarray,
    system: SystemConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Time (ns) of one collective phase on one dimension per design, and its output size.

    All array arguments broadcast together; ``n <= 1`` gives time 0 (dimension not involved).
    ``alg`` / ``kind`` are codes of :data:`ALGORITHMS` / :data:`TOPOLOGY_KINDS`.
    """
    alg, kind, n, bw, lat, c = np.broadcast_arrays(
        np.asarray(alg), np.asarray(kind), np.asarray(n, dtype=np.int64), np.asarray(bw_bpns, dtype=float),
        np.asarray(lat_ns, dtype=float), np.asarray(chunk, dtype=np.float64),
    )
    e = system.endpoint_delay_ns
    mem = system.local_mem_bw_gbps  # bytes per ns with 1 GB = 1e9 B
    active = n > 1
    nn = np.maximum(n, 1)

    def net(h, m):
        return np.floor(h * lat + m / bw)

    def proc(m):
        return 3.0 * np.floor(m / mem)

    final = c.copy()
    m_n = np.floor(c / nn)
    if collective == "reduce_scatter":
        final = m_n
    elif collective == "all_gather":
        final = c * nn
    # ring
    h1 = _hops(kind, nn, 1)
    if collective == "all_reduce":
        ring = 2 * (nn - 1) * net(h1, m_n) + (nn - 1) * proc(m_n) + (2 * (nn - 1) + 1) * e
    elif collective == "reduce_scatter":
        ring = (nn - 1) * net(h1, m_n) + (nn - 1) * proc(m_n) + nn * e
    elif collective == "all_gather":
        ring = (nn - 1) * net(h1, c) + nn * e
    else:
        steps = nn * (nn - 1) // 2
        ring = steps * net(h1, m_n) + (steps + 1) * e
    # direct: farthest peer sets every step
    hmax = np.where(kind == 0, nn // 2, np.where(kind == 1, 1, 2))
    if collective == "all_reduce":
        direct = 2 * net(hmax, m_n) + proc(m_n) + 3 * e
        ring_rows = (kind == 0) & (alg == DIRECT) & active
        if ring_rows.any():
            direct = np.array(direct, dtype=float)
            pm = proc(m_n)
            for size in np.unique(nn[ring_rows]):
                rows = ring_rows & (nn == size)
                direct[rows] = _direct_all_reduce_on_ring(int(size), lat[rows], bw[rows], m_n[rows], pm[rows], e)
    elif collective == "reduce_scatter":
        direct = net(hmax, m_n) + proc(m_n) + 2 * e
    elif collective == "all_gather":
        direct = net(hmax, c) + 2 * e
    else:
        direct = net(hmax, m_n) + 2 * e
    # halving-doubling
    k = np.round(np.log2(nn)).astype(np.int64)
    hd = np.zeros(n.shape)
    if collective != "all_to_all":
        for j in range(int(k.max(initial=0))):
            live = j < k
            if collective == "all_gather":
                m = c * 2.0**j
                off = nn >> (j + 1)
                hd += np.where(live, net(_hops(kind, nn, off), m) + e, 0.0)
            else:
                m = np.floor(c / 2.0 ** (j + 1))
                step = net(_hops(kind, nn, 1 << j), m) + e
                if j > 0:
                    step = step + proc(m)
                if collective == "all_reduce":
                    step = step + net(_hops(kind, nn, 1 << j), m) + e
                hd += np.where(live, step, 0.0)
        hd += e
    time = np.where(alg == RING, ring, np.where(alg == DIRECT, direct, hd))
    return np.where(active, time, 0.0), np.where(active, final, c)


def _direct_all_reduce_on_ring(n: int, lat: np.ndarray, bw: np.ndarray, m: np.ndarray, p: np.ndarray, e: float) -> np.ndarray:
    """Direct all-reduce on a physical ring, where peers sit at different distances.

    ``AllToAll::run`` (``AllToAll.cc``) holds the all-gather half back until every
    reduce-scatter message has arrived, then sends on each later "packet processed" event as
    many messages as there are free packets (one per event so far), to receivers in rotation
    order ``+1, +2, …``. Near peers' reductions finish first, so part of the second half
    starts before the farthest peer's reduction is done; this reproduces that timing.
    """
    k = np.arange(1, n)
    dist = np.minimum(k, n - k).astype(float)  # rotation order = receiver offsets 1..n-1
    ser = (m / bw)[..., None]
    hop = np.floor(dist * lat[..., None] + ser)
    arrive = e + hop
    last = arrive.max(axis=-1, keepdims=True)
    general = np.sort(arrive + e + p[..., None], axis=-1)
    first_after = np.where(general >= last, general, np.inf).min(axis=-1, keepdims=True)
    send = np.maximum(general, first_after)
    return (send + hop).max(axis=-1) + e


def check_phase(collective: str, alg: int, n: int) -> None:
    """Raise :class:`CollectiveError` for combinations ASTRA-sim cannot run."""
    if n > 1 and alg == HD:
        if collective == "all_to_all":
            raise CollectiveError("halvingDoubling has no all_to_all (ASTRA-sim exits); use ring or direct")
        if n & (n - 1):
            raise CollectiveError(f"halvingDoubling needs a power-of-two dimension size, got {n}")


# ---------------------------------------------------------------------------------------------
# congestion-aware steps (a small FIFO link simulation per step)
# ---------------------------------------------------------------------------------------------

def _route(kind: int, n: int, src: int, dst: int) -> list[tuple]:
    """The links (as ``(from, to)`` device pairs) a message crosses (AN congestion-aware ``route``)."""
    if kind == 1:
        return [(src, dst)]
    if kind == 2:
        return [(src, "switch"), ("switch", dst)]
    cw = (dst - src) % n
    step = -1 if n - cw < cw else 1
    links, cur = [], src
    while cur != dst:
        nxt = (cur + step) % n
        links.append((cur, nxt))
        cur = nxt
    return links


def _aware_step(kind: int, n: int, bw: float, lat: float, pairs: Sequence[tuple[int, int]], m: float) -> float:
    """Arrival time of the last of ``pairs`` messages of ``m`` bytes injected together at t = 0."""
    ser = math.floor(m / bw)
    comm = math.floor(lat + m / bw)
    routes = [_route(kind, n, s, d) for s, d in pairs]
    free_at: dict[tuple, float] = {}
    queue: dict[tuple, list] = {}
    events: list = []
    seq = 0
    for i in range(len(routes)):
        heapq.heappush(events, (0.0, seq, i, 0))
        seq += 1
    last = 0.0
    while events:
        t, _, i, hop = heapq.heappop(events)
        if hop == len(routes[i]):
            last = max(last, t)
            continue
        link = routes[i][hop]
        start = max(t, free_at.get(link, 0.0))
        free_at[link] = start + ser
        heapq.heappush(events, (start + comm, seq, i, hop + 1))
        seq += 1
    return last


def _aware_phase(collective: str, alg: int, kind: int, n: int, bw: float, lat: float, c: float, system: SystemConfig) -> float:
    """Congestion-aware time of one phase (same steps as :func:`phase_time`, links shared)."""
    e, mem = system.endpoint_delay_ns, system.local_mem_bw_gbps
    proc = lambda m: 3.0 * math.floor(m / mem)  # noqa: E731
    nodes = range(n)
    if alg == RING:
        m = c if collective == "all_gather" else math.floor(c / n)
        steps = {"all_reduce": 2 * (n - 1), "reduce_scatter": n - 1, "all_gather": n - 1, "all_to_all": n * (n - 1) // 2}[collective]
        t = _aware_step(kind, n, bw, lat, [(i, (i + 1) % n) for i in nodes], m)
        reduced = n - 1 if collective in ("all_reduce", "reduce_scatter") else 0
        return steps * t + reduced * proc(m) + (steps + 1) * e
    if alg == DIRECT:
        m = c if collective == "all_gather" else math.floor(c / n)
        t = _aware_step(kind, n, bw, lat, [(i, (i + d) % n) for i in nodes for d in range(1, n)], m)
        if collective == "all_reduce":
            return 2 * t + proc(m) + 3 * e
        return t + (proc(m) if collective == "reduce_scatter" else 0.0) + 2 * e
    k = int(round(math.log2(n)))
    total = e

    def partner(i: int, off: int) -> int:
        return (i + off) % n if (i // off) % 2 == 0 else (i - off) % n

    for j in range(k):
        if collective == "all_gather":
            off, m = n >> (j + 1), c * 2**j
            total += _aware_step(kind, n, bw, lat, [(i, partner(i, off)) for i in nodes], m) + e
            continue
        off, m = 1 << j, math.floor(c / 2 ** (j + 1))
        t = _aware_step(kind, n, bw, lat, [(i, partner(i, off)) for i in nodes], m)
        total += t + e + (proc(m) if j > 0 else 0.0)
        if collective == "all_reduce":
            total += t + e
    return total


# ---------------------------------------------------------------------------------------------
# whole collectives
# ---------------------------------------------------------------------------------------------

def chunking(size: float, npus: int, collective: str, splits: int) -> tuple[float, int]:
    """``(chunk bytes, number of chunks)`` as ``Sys::determine_chunk_size`` / ``generate_collective``."""
    size = int(size)
    chunk = size // splits
    if collective != "all_gather" and npus > chunk:
        chunk = npus
        size = splits * chunk
    if chunk <= 0:
        raise CollectiveError(f"collective size must be >= {splits} bytes (one per chunk), got {size}")
    return float(chunk), int(math.ceil(size / chunk))


def phase_plan(collective: str, ndims: int) -> list[tuple[str, int]]:
    """``(phase collective, dimension)`` in execution order for an ``ndims``-D network."""
    if collective == "all_reduce":
        up = [("reduce_scatter", d) for d in range(ndims - 1)]
        return up + [("all_reduce", ndims - 1)] + [("all_gather", d) for d in reversed(range(ndims - 1))]
    dims = reversed(range(ndims)) if collective == "all_gather" else range(ndims)
    return [(collective, d) for d in dims]


def collective_time(
    topology: Topology,
    collective: str,
    size_bytes: float,
    algorithms: Sequence[str] | str | None = None,
    system: SystemConfig | None = None,
) -> float:
    """Finish time (ns) of one collective over all NPUs of ``topology``.

    ``algorithms``: one name per dimension (or one for all); ``None`` = each building block's
    natural algorithm (Ring → ring, FullyConnected → direct, Switch → halvingDoubling; for
    all-to-all halvingDoubling is replaced by direct, as ASTRA-sim users must).
    """
    system = system or SystemConfig()
    collective = collective_name(collective)
    if not size_bytes > 0:
        raise CollectiveError(f"collective size must be positive (bytes), got {size_bytes!r}")
    dims = topology.dims
    if algorithms is None:
        names = [NATURAL_ALGORITHM[d.kind] for d in dims]
        if collective == "all_to_all":
            names = ["direct" if a == "halvingDoubling" else a for a in names]
    elif isinstance(algorithms, str):
        names = [algorithms] * len(dims)
    else:
        names = list(algorithms)
        if len(names) != len(dims):
            raise CollectiveError(f"{len(names)} algorithms given for a {len(dims)}-D topology")
    codes = [algorithm_code(a) for a in names]
    chunk, count = chunking(size_bytes, topology.npus, collective, system.chunks)
    times, dims_used = [], []
    for phase_coll, d in phase_plan(collective, len(dims)):
        dim = dims[d]
        check_phase(phase_coll, codes[d], dim.size)
        bw = bytes_per_ns(dim.bandwidth_gbps)
        kcode = kind_code(dim.kind)
        if system.congestion_aware:
            t = _aware_phase(phase_coll, codes[d], kcode, dim.size, bw, dim.latency_ns, chunk, system)
            _, out = phase_time(phase_coll, codes[d], kcode, dim.size, bw, dim.latency_ns, chunk, system)
        else:
            t, out = phase_time(phase_coll, codes[d], kcode, dim.size, bw, dim.latency_ns, chunk, system)
        times.append(float(t))
        dims_used.append(d)
        chunk = float(out)
    return float(schedule_chunks(np.asarray([times]), np.asarray([dims_used]), np.asarray([count]))[0])


def pipeline_time(phase_times: np.ndarray, chunks: int | np.ndarray) -> np.ndarray | float:
    """Flow-shop makespan of ``chunks`` equal chunks through phases (last axis), each phase on its
    own dimension, one chunk at a time: ``Σ t + (chunks − 1) · max t``. Exact for every collective
    whose phases use distinct dimensions (all but multi-dimensional all-reduce)."""
    phase_times = np.asarray(phase_times, dtype=float)
    total = phase_times.sum(axis=-1) + (np.asarray(chunks) - 1) * phase_times.max(axis=-1, initial=0.0)
    return float(total) if np.ndim(total) == 0 else total


def schedule_chunks(durations: np.ndarray, dims: np.ndarray, chunks: np.ndarray) -> np.ndarray:
    """Makespan of ``chunks`` equal chunks through phases that may share a dimension.

    ``durations[e, p]`` and ``dims[e, p]`` give phase ``p``'s time and dimension for entry ``e``.
    A dimension runs one chunk-phase at a time (``active-chunks-per-dimension = 1``): a
    multi-dimensional all-reduce's reduce-scatter and all-gather on the same dimension queue
    for it, first come first served (``Sys::insert_stream``: a queue is FIFO among the streams of
    one collective). Greedy list scheduling, earliest possible start first; among equal starts
    the chunk-phase that arrived at its dimension first, then the lower chunk; vectorised over
    entries. It reproduces ASTRA-sim's multi-dimensional all-reduce times exactly. Phases of
    zero duration (dimensions an entry does not use) are skipped: they neither wait for their
    dimension nor change when a chunk arrives at the next one.
    """
    durations = np.asarray(durations, dtype=float)
    dims = np.asarray(dims, dtype=np.int64)
    chunks = np.asarray(chunks, dtype=np.int64)
    E, P = durations.shape
    order = np.argsort(durations <= 0, axis=1, kind="stable")  # real phases first, in order
    durations = np.take_along_axis(durations, order, axis=1)
    dims = np.take_along_axis(np.broadcast_to(dims, durations.shape), order, axis=1)
    last = (durations > 0).sum(axis=1)[:, None]  # phases each entry really runs
    P = max(int(last.max(initial=0)), 1)
    durations, dims = durations[:, :P], dims[:, :P]
    C = int(chunks.max(initial=1))
    rows = np.arange(E)
    col = rows[:, None]
    nxt = np.where(np.arange(C)[None, :] < chunks[:, None], 0, P)
    ready = np.zeros((E, C))
    free = np.zeros((E, int(dims.max(initial=0)) + 1))
    end = np.zeros(E)
    for _ in range(C * P):
        phase = np.minimum(nxt, P - 1)
        dim = dims[col, phase]
        start = np.where(nxt < last, np.maximum(ready, free[col, dim]), np.inf)
        # earliest start; among equal starts the chunk-phase that reached its dimension first
        # (ASTRA-sim's per-dimension queues are FIFO: Sys::insert_stream), then the lower chunk
        first = start == start.min(axis=1, keepdims=True)
        c = np.where(first, ready, np.inf).argmin(axis=1)
        s = start[rows, c]
        ok = np.isfinite(s)
        if not ok.any():
            break
        r, c, s = rows[ok], c[ok], s[ok]
        finish = s + durations[r, phase[r, c]]
        free[r, dim[r, c]] = finish
        ready[r, c] = finish
        nxt[r, c] += 1
        end[r] = np.maximum(end[r], finish)
    return end


__all__ = [
    "ALGORITHMS", "COLLECTIVES", "NATURAL_ALGORITHM", "TOPOLOGY_KINDS", "CollectiveError", "SystemConfig",
    "chunking", "collective_time", "phase_plan", "phase_time", "pipeline_time", "schedule_chunks",
]
