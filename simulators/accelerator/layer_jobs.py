"""What the external-simulator back-ends (ZigZag, SCALE-Sim) share: per-layer jobs.

Such a back-end simulates one layer shape at a time, in child processes (:mod:`._worker`)
bounded by a timeout, and caches each layer result — or the deterministic "infeasible"
verdict — keyed by the hardware parameters that matter to it and the layer's shape.
Subclasses say how a job is built and named; this class runs, caches and pickles them.
"""

from __future__ import annotations

import abc
import threading
from collections import OrderedDict
from typing import Any, ClassVar

from archgym.simulator import Metrics, SimulationError

from ._worker import JobRejected, WorkerPool, run_job
from .base import AcceleratorSimulator
from .energy import area_breakdown_mm2
from .hardware import AcceleratorDesign, derived_metrics
from .layers import Layer, Workload


def design_area_mm2(design: AcceleratorDesign) -> float:
    """Total area of ``design`` from the shared area model (every back-end reports the same area)."""
    parts = area_breakdown_mm2(design.pe_rows, design.pe_cols, design.rf_bytes, design.glb_kib, design.glb_banks,
                               design.noc_bw, design.dram_bw)
    return float(sum(float(v) for v in parts.values()))


class LayerJobSimulator(AcceleratorSimulator):
    """Runs one job per distinct layer shape, in isolated workers, with an LRU result cache.

    ``timeout_s`` bounds each layer (``None``: no limit); ``processes`` runs that many layers
    at once; ``isolate=False`` runs jobs in this process (no time limit, no parallelism);
    ``cache_size`` layer results are kept.
    """

    #: ``"module:function"`` the worker runs on each payload
    job: ClassVar[str]
    #: modules a worker imports before its first job's clock starts
    preload: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, timeout_s: float | None, processes: int = 1, isolate: bool = True,
                 cache_size: int = 65536) -> None:
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive or None, got {timeout_s}")
        if processes < 1:
            raise ValueError(f"processes must be >= 1, got {processes}")
        self.timeout_s = timeout_s
        self.processes = int(processes)
        self.isolate = bool(isolate)
        self.cache_size = int(cache_size)
        self._init_runtime()

    # -- hooks -----------------------------------------------------------------------------
    @abc.abstractmethod
    def hardware_key(self, design: AcceleratorDesign) -> tuple:
        """The design parameters this simulator's layer results depend on."""

    @abc.abstractmethod
    def layer_key(self, layer: Layer) -> tuple:
        """The layer shape this simulator's layer results depend on."""

    @abc.abstractmethod
    def payload(self, design: AcceleratorDesign, layer: Layer) -> dict[str, Any]:
        """The (picklable) job for one layer."""

    @abc.abstractmethod
    def job_name(self, layer: Layer) -> str:
        """How errors name a layer's job."""

    # -- runtime state (not pickled: children, locks and caches stay in their process) ---
    def _init_runtime(self) -> None:
        self._cache: OrderedDict[tuple, Any] = OrderedDict()  # layer results or JobRejected verdicts
        self._lock = threading.Lock()
        self._pool: WorkerPool | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_cache", "_lock", "_pool")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def close(self) -> None:
        """Stop the child processes (they are restarted if the simulator is used again)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    @staticmethod
    def network_metrics(design: AcceleratorDesign, workload: Workload, *, latency_cycles: float, energy_pj: float,
                        dram_bytes: float) -> Metrics:
        """Every accelerator metric from whole-network totals (area from the shared model)."""
        return derived_metrics(latency_cycles=float(latency_cycles), energy_pj=float(energy_pj),
                               area_mm2=design_area_mm2(design), macs=float(workload.total_macs),
                               num_pes=float(design.num_pes), clock_mhz=float(design.clock_mhz),
                               dram_bytes=float(dram_bytes))

    # -- running layers ---------------------------------------------------------------------
    def layer_results(self, design: AcceleratorDesign, workload: Workload) -> list[dict[str, float]]:
        """One result per layer of ``workload``; an infeasible layer raises its verdict."""
        hw = self.hardware_key(design)
        keys = [(hw, self.layer_key(layer)) for layer in workload.layers]
        with self._lock:
            known = {key: self._cache[key] for key in keys if key in self._cache}
            for key in known:
                self._cache.move_to_end(key)
        todo: dict[tuple, Layer] = {}
        for key, layer in zip(keys, workload.layers):
            if key not in known and key not in todo:
                todo[key] = layer
        if todo:
            payloads = [self.payload(design, layer) for layer in todo.values()]
            names = [self.job_name(layer) for layer in todo.values()]
            results = self._run(payloads, names)
            with self._lock:
                for key, result in zip(todo, results):
                    known[key] = result
                    self._cache[key] = result  # a rejection (infeasible) is as deterministic as a result
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        for key, layer in zip(keys, workload.layers):
            if isinstance(known[key], JobRejected):  # named after this workload's layer, not the cached one's
                raise JobRejected.make(self.job_name(layer), known[key].reason)
        return [known[key] for key in keys]

    def _run(self, payloads: list[dict[str, Any]], names: list[str]) -> list[Any]:
        """Each job's result, or the :class:`JobRejected` verdict it gave; crashes and time-outs raise."""
        if not self.isolate:
            results = []
            for payload, name in zip(payloads, names):
                try:
                    results.append(run_job(self.job, payload))
                except SimulationError as exc:
                    results.append(JobRejected.make(name, str(exc)))
                except Exception as exc:
                    raise SimulationError(f"{name} failed: {type(exc).__name__}: {exc}") from exc
            return results
        if self._pool is None:
            self._pool = WorkerPool(self.processes, tag=self.name, preload=self.preload)
        return self._pool.map(self.job, payloads, self.timeout_s, names, return_rejected=True)
