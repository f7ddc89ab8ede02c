"""``DRAMSimulator``: the memory-controller design space evaluated by the cycle-level engine.

A design is a dict of the ten DRAMSys ``mcconfig`` knobs (:mod:`.config`); a workload is a
trace name, file or generator spec (:mod:`.traces`). :meth:`DRAMSimulator.evaluate` streams the
trace through :class:`.engine.Engine` chunk by chunk and returns the metrics declared in
:attr:`DRAMSimulator.metrics`. Definitions (see :mod:`.engine` for the model):

* latency: from the request's acceptance by the memory system to its response at the
  initiator (its last data beat when nothing else delays the response); ``avg_*`` are means,
  ``p99_*`` the 99th percentile of a fixed-bin histogram (exact below 16,384 cycles);
* ``backpressure_ns``: mean wait of a request at the initiator before the memory system
  accepted it (trace cycle to acceptance) — where a full buffer shows up;
* ``avg_read_total_latency_ns``: what the requester sees, trace cycle to response (read
  back-pressure plus read latency). A design that throttles admission (e.g. one outstanding
  transaction) looks fast by ``avg_read_latency_ns`` alone; this metric charges the wait;
* ``sim_cycles``: the cycle of the last response, counted from cycle 0 (trace cycles are
  absolute); ``bandwidth_gbps`` = requests x bytes per burst / simulated time (1e9 B/s);
* ``row_hit_rate``: column commands that were not the first after their bank's ACT, over all
  column commands (0 with a Closed page policy, where every access opens its row);
* energy: :mod:`.power` over the whole simulated time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from archgym.errors import UserError
from archgym.simulator import Metric, Metrics, SimulationError, Simulator

from .config import ControllerConfig
from .device import DeviceSpec, load_device
from .batch import decode_trace, simulate_batch
from .engine import EngineResult, check_kernel, check_write_drain, simulate_chunks, simulate_decoded
from .mapping import AddressMapping, get_mapping
from .power import EnergyBreakdown, energy
from .traces import TraceChunk, open_workload, workload_fingerprint

__all__ = ["DRAMSimulator", "SimulationResult"]

log = logging.getLogger(__name__)


def _usable_cpus() -> int:
    """CPUs this process may use, capped by ``NUMBA_NUM_THREADS`` when set (the knob users
    already turn to keep numba code from oversubscribing a shared machine)."""
    try:
        cpus = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        cpus = max(1, os.cpu_count() or 1)
    cap = os.environ.get("NUMBA_NUM_THREADS", "")
    if cap.isdigit() and int(cap) > 0:
        cpus = min(cpus, int(cap))
    return cpus


@dataclass(frozen=True)
class SimulationResult:
    """Everything one simulation produced: the metrics, the raw counters and the energy."""

    metrics: dict[str, float]
    raw: EngineResult
    energy: EnergyBreakdown
    config: ControllerConfig

    @property
    def commands(self) -> np.ndarray | None:
        """The command log (:data:`.engine.COMMAND_DTYPE`) when recorded, else ``None``."""
        return self.raw.commands


class DRAMSimulator(Simulator):
    """Cycle-level, trace-driven DDR memory-controller simulator (DRAMSys' design space).

    ``device``: a preset name, a JSON path or a :class:`DeviceSpec`. ``address_mapping``: a
    field string, a DRAMSys mapping JSON/name or an :class:`AddressMapping` (``None``: the
    device's default). ``max_requests``: simulate at most this many requests of each workload.
    ``chunk_size``: requests read from the trace at a time (does not change results).
    ``workers``: threads :meth:`evaluate_batch` simulates designs on (default: the CPUs this
    process may use, at most ``NUMBA_NUM_THREADS`` when that is set); results do not depend
    on it. ``write_drain``: ``(high, low)`` — not a DRAMSys knob, and off by default (DRAMSys'
    schedulers have no write drain): when a channel buffers ``high`` writes, each bank serves
    its writes first (row hits first, never past an older access to the same address) until
    ``low`` remain, as DRAMsim3 batches writes. It changes results (it is in the fingerprint).
    ``kernel``: ``"compiled"`` (numba), ``"python"`` (the same engine code run as plain Python:
    no numba import, for a few hundred requests) or ``"auto"`` (default: Python for short runs
    while numba is not imported, within a per-process budget; see
    :data:`.engine.AUTO_PYTHON_REQUESTS`). Results do not depend on it.
    """

    name = "dram"
    #: 1.3: energy and power over DRAMPower's window (to the last command's completion, not the
    #: last response), PRE energy counted per precharge (rows left open cost none), a refresh
    #: in active standby for tRFC - tRP; 1.2: DRAMSys-exact buffer, refresh and arbiter rules
    version = "1.3"
    metrics = (
        Metric("avg_read_latency_ns", "ns", "minimize", "mean read latency"),
        Metric("avg_read_latency_cycles", "cycles", "minimize", "mean read latency"),
        Metric("p99_read_latency_ns", "ns", "minimize", "99th-percentile read latency"),
        Metric("p99_read_latency_cycles", "cycles", "minimize", "99th-percentile read latency"),
        Metric("avg_write_latency_ns", "ns", "minimize", "mean write latency"),
        Metric("avg_write_latency_cycles", "cycles", "minimize", "mean write latency"),
        Metric("backpressure_ns", "ns", "minimize",
               "mean wait of a request before the memory system accepted it"),
        Metric("avg_read_total_latency_ns", "ns", "minimize",
               "mean read latency seen by the requester: back-pressure wait plus memory latency"),
        Metric("bandwidth_gbps", "GB/s", "maximize", "data moved per simulated second (1e9 B/s)"),
        Metric("row_hit_rate", "fraction", "maximize", "column commands served by an open row"),
        Metric("energy_nj", "nJ", "minimize", "DRAM energy (IDD model, DRAMPower's window)"),
        Metric("avg_power_mw", "mW", "minimize", "DRAM energy / DRAMPower's energy window"),
        Metric("sim_cycles", "cycles", "minimize", "cycle of the last response"),
        Metric("sim_time_ns", "ns", "minimize", "simulated time"),
        Metric("reads", "requests", "maximize", "reads served"),
        Metric("writes", "requests", "maximize", "writes served"),
        Metric("refreshes", "commands", "minimize", "REF plus REFpb commands"),
        Metric("activates", "commands", "minimize", "ACT commands"),
    )

    #: decoded requests kept in memory across evaluations (about 17 bytes each)
    TRACE_CACHE_REQUESTS = 4_000_000
    #: requests also kept in the engine's decoded form (40 bytes each) so that a repeated
    #: ``evaluate`` skips the address decoding (about a tenth of a 10k-request evaluation)
    DECODED_CACHE_REQUESTS = 1 << 20

    def __init__(self, device: str | os.PathLike[str] | DeviceSpec = "DDR4_8Gb_x8_2400",
                 address_mapping: str | os.PathLike[str] | AddressMapping | None = None,
                 max_requests: int | None = None, chunk_size: int = 65536,
                 workers: int | None = None,
                 write_drain: tuple[int, int] | None = None, kernel: str = "auto") -> None:
        try:
            self.kernel = check_kernel(kernel)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        self.device = load_device(device)
        self.mapping = get_mapping(address_mapping, self.device)
        if max_requests is not None and (isinstance(max_requests, bool) or int(max_requests) < 1):
            raise UserError(f"max_requests = {max_requests!r}: expected a positive integer or None")
        self.max_requests = None if max_requests is None else int(max_requests)
        if isinstance(chunk_size, bool) or int(chunk_size) < 1:
            raise UserError(f"chunk_size = {chunk_size!r}: expected a positive integer")
        self.chunk_size = int(chunk_size)
        if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
            raise ValueError(f"workers = {workers!r}: expected a positive integer or None")
        self.workers = _usable_cpus() if workers is None else int(workers)
        self.write_drain = None if write_drain is None else check_write_drain(write_drain)
        self._trace_cache: OrderedDict[str, list[TraceChunk]] = OrderedDict()
        self._decoded_cache: OrderedDict[str, list[tuple[np.ndarray, ...]]] = OrderedDict()
        self._workload_keys: dict[tuple[Any, ...], str] = {}

    def __repr__(self) -> str:
        drain = "" if self.write_drain is None else f", write_drain={self.write_drain}"
        return (f"DRAMSimulator(device={self.device.name!r}, address_mapping="
                f"{self.mapping.fields!r}, max_requests={self.max_requests}{drain})")

    # -- the Simulator contract ------------------------------------------------------------
    def evaluate(self, design: Mapping[str, Any], workload: str) -> Metrics:
        """Simulate ``workload`` under ``design``; unknown knobs/values raise ``ValueError``."""
        return self.simulate(design, workload).metrics

    #: attributes the fingerprint depends on; assigning one forgets the memoised fingerprint
    _SETUP_ATTRIBUTES = frozenset({"device", "mapping", "max_requests", "write_drain"})

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._SETUP_ATTRIBUTES:
            self.__dict__.pop("_fingerprint", None)
            if "_decoded_cache" in self.__dict__:  # decoded with the old device / mapping / limit
                self._decoded_cache.clear()
        super().__setattr__(name, value)

    def fingerprint(self) -> str:
        """``dram@version`` plus a hash of the device, the mapping and ``max_requests``.

        Memoised (an environment asks for it on every step): hashing the device description
        costs far more than a cached step. Reassigning ``device``, ``mapping`` or
        ``max_requests`` recomputes it.
        """
        cached = self.__dict__.get("_fingerprint")
        if cached is not None:
            return cached
        setup = {"device": self.device.to_dict(), "mapping": self.mapping.fields,
                 "max_requests": self.max_requests}
        if self.write_drain is not None:  # absent by default: DRAMSys-exact setups keep their key
            setup["write_drain"] = list(self.write_drain)
        setup["device"].pop("source", None)
        digest = hashlib.sha256(json.dumps(setup, sort_keys=True).encode()).hexdigest()[:16]
        self.__dict__["_fingerprint"] = value = f"{self.identity}:{digest}"
        return value

    def evaluate_batch(self, designs: Sequence[Mapping[str, Any]],
                       workload: str) -> list[Metrics | SimulationError]:  # type: ignore[override]
        """Evaluate many designs on one workload in one pass over the trace.

        The trace is decoded once and shared; the designs are simulated side by side on
        :attr:`workers` threads (the compiled engine runs without the GIL). Results come in
        the order of ``designs`` and equal :meth:`evaluate`'s. A design that cannot be
        evaluated (unknown knob, bad value, a stalled simulation) does not fail the batch: its
        entry is the :class:`~archgym.simulator.SimulationError` (not raised) naming the design's
        index and the reason; check entries with ``isinstance(r, Exception)``. An unknown or
        malformed workload raises for the whole batch.
        """
        results: list[Metrics | SimulationError | None] = [None] * len(designs)
        configs: list[ControllerConfig] = []
        index: list[int] = []
        for i, design in enumerate(designs):
            try:
                config = design if isinstance(design, ControllerConfig) else ControllerConfig.from_design(design)
            except (TypeError, ValueError) as exc:
                results[i] = SimulationError(f"design {i}: {exc}")
                continue
            configs.append(config)
            index.append(i)
        if configs:
            chunks = self._chunks(workload)
            # metrics are computed in the worker threads (overlapping the other threads'
            # simulations); merged designs share one dict, so each gets its own copy
            outcomes = simulate_batch(self.device, configs, self.mapping, chunks,
                                      max_requests=self.max_requests, workers=self.workers,
                                      write_drain=self.write_drain, kernel=self.kernel,
                                      finalize=lambda raw: self._raw_metrics(raw, workload),
                                      decoded=self._decoded_arrays(workload))
            for i, outcome in zip(index, outcomes):
                if isinstance(outcome, SimulationError):
                    results[i] = SimulationError(f"design {i}: {outcome}")
                else:
                    results[i] = dict(outcome)
        return results  # type: ignore[return-value]

    def workload_key(self, workload: str) -> str:
        """The workload's content fingerprint; an unknown workload raises ``ValueError``."""
        return self._workload_key(workload)

    def _workload_key(self, workload: str | os.PathLike[str]) -> str:
        """:func:`.traces.workload_fingerprint`, remembered per file identity.

        A shipped trace or generator spec never changes; a file is re-hashed when its path,
        size or modification time changes (a stat costs microseconds, hashing a trace about
        a millisecond per 10,000 requests).
        """
        ident: tuple[Any, ...]
        path = os.fspath(workload) if isinstance(workload, (str, os.PathLike)) else None
        if path is not None and os.path.isfile(path):
            st = os.stat(path)
            ident = ("file", os.path.abspath(path), st.st_size, st.st_mtime_ns)
        else:
            ident = ("name", workload)
        key = self._workload_keys.get(ident)
        if key is None:
            key = workload_fingerprint(workload)
            if len(self._workload_keys) > 1024:
                self._workload_keys.clear()
            self._workload_keys[ident] = key
        return key

    # -- richer entry point ----------------------------------------------------------------
    def simulate(self, design: Mapping[str, Any] | ControllerConfig,
                 workload: str | os.PathLike[str] | TraceChunk | Iterable[TraceChunk], *,
                 record_commands: bool | int = False) -> SimulationResult:
        """Simulate and return metrics, raw counters, energy breakdown and (optionally) the
        command log. ``workload`` may also be a :class:`TraceChunk` or an iterable of them."""
        config = design if isinstance(design, ControllerConfig) else ControllerConfig.from_design(design)
        decoded = self._decoded_arrays(workload)
        try:
            if decoded is not None:
                raw = simulate_decoded(self.device, config, self.mapping, decoded,
                                       record_commands=record_commands,
                                       write_drain=self.write_drain, kernel=self.kernel)
            else:
                raw = simulate_chunks(self.device, config, self.mapping, self._chunks(workload),
                                      record_commands=record_commands,
                                      max_requests=self.max_requests,
                                      write_drain=self.write_drain, kernel=self.kernel)
        except (SimulationError, ValueError):
            raise
        except Exception as exc:  # any other engine failure is a failed evaluation
            raise SimulationError(f"DRAM simulation failed: {type(exc).__name__}: {exc}") from exc
        return self._result(raw, config, workload)

    def _result(self, raw: EngineResult, config: ControllerConfig, workload: Any) -> SimulationResult:
        breakdown = self._energy(raw, workload)
        return SimulationResult(self._metrics(raw, breakdown), raw, breakdown, config)

    def _energy(self, raw: EngineResult, workload: Any) -> EnergyBreakdown:
        if raw.requests == 0:
            log.warning("DRAM workload %r contains no requests", workload)
        return energy(
            self.device, sim_cycles=list(raw.window_cycles), active_cycles=list(raw.active_cycles),
            activates=raw.activates, precharges=raw.activates - raw.open_banks,
            reads=raw.read_commands, writes=raw.write_commands,
            refreshes_all_bank=raw.refreshes_all_bank, refreshes_per_bank=raw.refreshes_per_bank)

    def _raw_metrics(self, raw: EngineResult, workload: Any) -> dict[str, float]:
        """The metrics of a finished simulation (what :meth:`evaluate` returns)."""
        return self._metrics(raw, self._energy(raw, workload))

    def _chunks(self, workload: Any) -> Iterable[TraceChunk]:
        if isinstance(workload, TraceChunk):
            return [workload]
        if isinstance(workload, (str, os.PathLike)):
            return self._decoded(workload)
        return workload

    def _decoded(self, workload: str | os.PathLike[str]) -> Iterable[TraceChunk]:
        """The workload's requests, parsed once per content and kept in memory when small.

        Parsing a trace costs far more than simulating a short one (about 15 ms against 1 ms
        for ArchGym's 10,000-request traces cut to a few hundred requests), and a search
        evaluates the same workload hundreds of times. Decoded chunks are kept per content
        fingerprint (an edited file is re-read), only up to ``max_requests`` requests, read-only,
        for at most :attr:`TRACE_CACHE_REQUESTS` requests in all (least recently used first out);
        a larger workload is streamed from disk on every evaluation as before.
        """
        key = self._workload_key(workload)
        cached = self._trace_cache.get(key)
        if cached is not None:
            self._trace_cache.move_to_end(key)
            return cached
        chunks: list[TraceChunk] = []
        kept = 0
        stream = open_workload(workload, device=self.device, chunk_size=self.chunk_size)
        for chunk in stream:
            chunks.append(chunk)
            kept += chunk.size
            if self.max_requests is not None and kept >= self.max_requests:
                break
            if kept > self.TRACE_CACHE_REQUESTS:  # too big to keep: stream it, from the start
                return open_workload(workload, device=self.device, chunk_size=self.chunk_size)
        for chunk in chunks:
            for array in chunk:
                array.flags.writeable = False
        self._trace_cache[key] = chunks
        while sum(c.size for kept_chunks in self._trace_cache.values() for c in kept_chunks) > self.TRACE_CACHE_REQUESTS:
            self._trace_cache.popitem(last=False)
        return chunks

    def _decoded_arrays(self, workload: Any) -> list[tuple[np.ndarray, ...]] | None:
        """The engine's decoded arrays of a named workload kept in memory (see :meth:`_decoded`),
        decoded on first use and kept for at most :attr:`DECODED_CACHE_REQUESTS` requests in
        all (least recently used first out); ``None`` for a workload that is not kept (a
        streamed file, chunks passed in) or too large."""
        if not isinstance(workload, (str, os.PathLike)):
            return None
        chunks = self._decoded(workload)
        if not isinstance(chunks, list):
            return None
        key = self._workload_key(workload)
        decoded = self._decoded_cache.get(key)
        if decoded is not None:
            self._decoded_cache.move_to_end(key)
            return decoded
        if sum(chunk.size for chunk in chunks) > self.DECODED_CACHE_REQUESTS:
            return None
        decoded = decode_trace(self.device, self.mapping, chunks, self.max_requests)
        self._decoded_cache[key] = decoded
        while sum(int(a[0].size) for d in self._decoded_cache.values() for a in d) > self.DECODED_CACHE_REQUESTS:
            self._decoded_cache.popitem(last=False)
        return decoded

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_trace_cache"] = OrderedDict()  # decoded traces are re-read in the receiving process
        state["_decoded_cache"] = OrderedDict()
        state["_workload_keys"] = {}
        return state

    def _metrics(self, raw: EngineResult, e: EnergyBreakdown) -> dict[str, float]:
        tck = self.device.tCK
        cycles = raw.sim_cycles
        reads, writes = raw.reads, raw.writes
        avg_rd = raw.read_latency_sum / reads if reads else 0.0
        avg_wr = raw.write_latency_sum / writes if writes else 0.0
        p99 = raw.read_latency_percentile(0.99)
        requests = reads + writes
        time_ns = cycles * tck
        column = raw.read_commands + raw.write_commands
        metrics = {
            "avg_read_latency_ns": avg_rd * tck,
            "avg_read_latency_cycles": avg_rd,
            "p99_read_latency_ns": p99 * tck,
            "p99_read_latency_cycles": p99,
            "avg_write_latency_ns": avg_wr * tck,
            "avg_write_latency_cycles": avg_wr,
            "backpressure_ns": (raw.backpressure_sum / requests * tck) if requests else 0.0,
            "avg_read_total_latency_ns": (avg_rd + raw.read_backpressure_sum / reads) * tck if reads else 0.0,
            "bandwidth_gbps": requests * self.device.bytes_per_burst / time_ns if time_ns else 0.0,
            "row_hit_rate": raw.row_hits / column if column else 0.0,
            "energy_nj": e.total_nj,
            "avg_power_mw": e.average_power_mw,
            "sim_cycles": float(cycles),
            "sim_time_ns": time_ns,
            "reads": float(reads),
            "writes": float(writes),
            "refreshes": float(raw.refreshes_all_bank + raw.refreshes_per_bank),
            "activates": float(raw.activates),
        }
        for key, value in metrics.items():
            if not math.isfinite(value):
                raise SimulationError(f"DRAM metric {key} is not finite ({value})")
        return {k: float(v) for k, v in metrics.items()}
