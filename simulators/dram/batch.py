"""Many controller configurations on one trace: the population driver behind
:meth:`DRAMSimulator.evaluate_batch <archgym.simulators.dram.DRAMSimulator.evaluate_batch>`.

A design-space search evaluates a population of designs on one workload. This driver

* checks and decodes each trace chunk once and feeds the same arrays to every engine;
* runs the engines on ``workers`` threads: the compiled core releases the GIL, so the
  designs of a population spread over the cores (the plain-Python kernel, which
  ``kernel="auto"`` picks only for a small batch, does not);
* simulates behaviourally identical designs once (:func:`behaviour_key`), exact by
  construction: two configurations are merged only when the engine provably cannot tell them
  apart (see :func:`behaviour_key` for the rules and why each is exact).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import numpy as np

from archgym.simulator import SimulationError

from ._pykernel import (ARB_SIMPLE, P_ARB, P_MAXACT, P_MAXPOST, P_MAXPULL, P_REFPOL, P_WATCHDOG,
                      REF_NONE)
from .engine import Engine, EngineResult, decode_chunk, known_requests, resolve_kernel

if TYPE_CHECKING:
    from .config import ControllerConfig
    from .device import DeviceSpec
    from .mapping import AddressMapping
    from .traces import TraceChunk


def behaviour_key(engine: Engine) -> bytes:
    """A key equal for two fresh engines (same device, mapping, options) that produce the same
    simulation, up to the watchdog threshold.

    The engine's whole behaviour is its parameter vector ``P`` (knob codes, timings, sizes):
    the initial state is a function of ``P`` alone. Fields a configuration provably never
    reads are blanked:

    * ``Arbiter=Simple``: ``MaxActiveTransactions`` is read only by the Fifo/Reorder arbiter
      (front end, under ``arb != ARB_SIMPLE``), and the request pool counts it only for those
      arbiters, so the state arrays are the same size too.
    * ``RefreshPolicy=NoRefresh``: ``RefreshMaxPostponed`` / ``RefreshMaxPulledin`` are read
      only by the refresh managers, which never run. They also enter the watchdog threshold
      (``P_WATCHDOG``), which decides only whether a run is aborted as stalled; it is blanked
      here and handled by :func:`simulate_batch` (the member with the smallest threshold
      runs; see there).
    """
    P = engine.P.copy()
    if P[P_ARB] == ARB_SIMPLE:
        P[P_MAXACT] = 0
    if P[P_REFPOL] == REF_NONE:
        P[P_MAXPOST] = P[P_MAXPULL] = P[P_WATCHDOG] = 0
    return P.tobytes()


def _limited(chunks: Iterable["TraceChunk"], max_requests: int | None) -> Iterable["TraceChunk"]:
    left = max_requests
    for chunk in chunks:
        if left is not None:
            if left <= 0:
                return
            if chunk.cycle.shape[0] > left:
                chunk = type(chunk)(*(a[:left] for a in chunk))
            left -= chunk.cycle.shape[0]
        yield chunk


#: requests decoded ahead and handed to every engine as one task (bounds the decoded arrays
#: kept at once to ~40 MB while a 10,000-request trace is a single task per design)
WINDOW_REQUESTS = 1 << 20


def _decoded(device: "DeviceSpec", mapping: "AddressMapping", chunks: Iterable["TraceChunk"],
             max_requests: int | None) -> Iterator[tuple[np.ndarray, ...]]:
    """The trace's non-empty chunks (at most ``max_requests`` requests), checked and decoded, in order."""
    last = -1
    for chunk in _limited(chunks, max_requests):
        if chunk.cycle.shape[0] == 0:
            continue
        arrays = decode_chunk(device, mapping, chunk, last)
        last = int(arrays[0][-1])
        yield arrays


def _windows(decoded: Iterable[tuple[np.ndarray, ...]]) -> Iterator[list[tuple[np.ndarray, ...]]]:
    """Decoded chunks grouped into windows of at most :data:`WINDOW_REQUESTS` requests (a chunk
    larger than that is a window of its own)."""
    window: list[tuple[np.ndarray, ...]] = []
    size = 0
    for arrays in decoded:
        if window and size + arrays[0].size > WINDOW_REQUESTS:
            yield window
            window, size = [], 0
        window.append(arrays)
        size += arrays[0].size
    yield window


def decode_trace(device: "DeviceSpec", mapping: "AddressMapping", chunks: Iterable["TraceChunk"],
                 max_requests: int | None = None) -> list[tuple[np.ndarray, ...]]:
    """Every chunk of a trace (at most ``max_requests`` requests) checked and decoded, in order."""
    return list(_decoded(device, mapping, chunks, max_requests))


_POOLS: dict[int, tuple[int, ThreadPoolExecutor]] = {}


def _thread_pool(workers: int) -> ThreadPoolExecutor:
    """This process's pool of ``workers`` threads, started on first use and kept: starting and
    joining two threads costs about half a millisecond, 1 % of a 32-design batch. A pool
    inherited through ``fork`` has no threads, so each process makes its own."""
    pid = os.getpid()
    entry = _POOLS.get(workers)
    if entry is None or entry[0] != pid:
        entry = _POOLS[workers] = (pid, ThreadPoolExecutor(workers, thread_name_prefix=f"archgym-dram-{workers}"))
    return entry[1]


def _run_engines(engines: list[Engine], windows: Iterator[list[tuple[np.ndarray, ...]]], workers: int,
                 finalize: Callable[[EngineResult], Any] | None = None) -> list[Any]:
    """Run every engine over the whole trace (its decoded ``windows``) on ``workers`` threads and finish it.

    Each engine is one task per window (no barrier per chunk), so the threads stay busy and
    pull designs as they free up; ``finalize`` (e.g. metrics from the counters) runs in the
    worker thread right after an engine finishes, overlapping its Python work with the
    compiled runs of the other threads. A :class:`SimulationError` (from the engine or from
    ``finalize``) becomes that engine's entry.
    """
    results: list[Any] = [None] * len(engines)
    live: list[Engine | None] = list(engines)

    def step(i: int, window: list[tuple[np.ndarray, ...]], final: bool) -> None:
        engine = live[i]
        if engine is None:
            return
        try:
            for arrays in window:
                engine.feed_decoded(arrays)
            if final:
                raw = engine.finish()
                results[i] = raw if finalize is None else finalize(raw)
        except SimulationError as exc:
            results[i], live[i] = exc, None

    workers = max(1, min(int(workers), len(engines)))
    pool = _thread_pool(workers) if workers > 1 else None
    window = next(windows)
    while True:
        following = next(windows, None)  # look ahead: the last window also finishes
        final = following is None
        if pool is None:
            for i in range(len(engines)):
                step(i, window, final)
        else:
            list(pool.map(lambda i: step(i, window, final), range(len(engines))))
        if final:
            return results
        window = following


def simulate_batch(device: "DeviceSpec", configs: "list[ControllerConfig]",
                   mapping: "AddressMapping", chunks: Iterable["TraceChunk"], *,
                   max_requests: int | None = None, workers: int = 1,
                   write_drain: tuple[int, int] | None = None, dedupe: bool = True,
                   kernel: str = "auto",
                   finalize: Callable[[EngineResult], Any] | None = None,
                   decoded: list[tuple[np.ndarray, ...]] | None = None) -> list[Any]:
    """Simulate many controller configurations on one trace; results in ``configs`` order.

    Each chunk is checked and decoded once and fed to every engine; ``workers`` threads
    simulate configurations in parallel. With ``dedupe`` (default) configurations with the
    same :func:`behaviour_key` are simulated once and share one :class:`EngineResult` (treat
    it as read-only). Of such a group the member with the smallest watchdog threshold runs:
    the others would follow the same trajectory, and a run that completes under the smallest
    threshold completes under every larger one. If that run fails, every other member is
    simulated on its own (its failure may differ only in when the watchdog fires).

    A configuration that fails (stall, watchdog) gets its
    :class:`~archgym.simulator.SimulationError` in its place; the others go on. A bad trace
    (e.g. decreasing cycles) raises ``ValueError`` for the whole batch. ``chunks`` must be
    a list to allow that second pass; from a one-pass stream only configurations with equal
    thresholds are merged (they fail alike).

    ``kernel``: see :class:`~.engine.Engine`; with ``"auto"`` the Python budget is weighed
    against the requests times the configurations actually simulated.

    ``finalize``, when given, maps each successful :class:`EngineResult` to what the caller
    wants (metrics, say) inside the worker thread that ran it, and its value takes the
    result's place (shared by merged configurations like the result itself); a
    :class:`SimulationError` it raises becomes the entry.

    ``decoded``: the trace already decoded (:func:`decode_trace` of ``chunks`` for this device,
    mapping and ``max_requests``, e.g. kept by the simulator across calls); ``chunks`` is then
    not read.
    """
    engines = [Engine(device, c, mapping, write_drain=write_drain, kernel=kernel) for c in configs]
    reiterable = decoded is not None or isinstance(chunks, (list, tuple))
    groups: dict[bytes, list[int]] = {}
    for i, engine in enumerate(engines):
        key = i.to_bytes(8, "little")
        if dedupe:
            key = behaviour_key(engine)
            if not reiterable:  # no second pass: merge only identical watchdogs too
                key += engine.P[P_WATCHDOG].tobytes()
        groups.setdefault(key, []).append(i)
    leaders = [min(g, key=lambda i: int(engines[i].P[P_WATCHDOG])) for g in groups.values()]
    requests = (sum(int(arrays[0].size) for arrays in decoded) if decoded is not None
                else known_requests(chunks, max_requests))
    resolved = resolve_kernel(kernel, None if requests is None else requests * len(leaders))
    for engine in engines:
        engine.kernel = resolved

    def windows() -> Iterator[list[tuple[np.ndarray, ...]]]:
        return _windows(decoded if decoded is not None else _decoded(device, mapping, chunks, max_requests))

    first = _run_engines([engines[i] for i in leaders], windows(), workers, finalize)
    results: list[Any] = [None] * len(configs)
    retry: list[int] = []
    for group, leader, result in zip(groups.values(), leaders, first):
        results[leader] = result
        for i in group:
            if i == leader:
                continue
            if isinstance(result, SimulationError) and reiterable:
                retry.append(i)
            else:
                results[i] = result
    if retry:
        again = _run_engines([engines[i] for i in retry], windows(), workers, finalize)
        for i, result in zip(retry, again):
            results[i] = result
    return results  # type: ignore[return-value]
