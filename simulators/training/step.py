"""One training step of a parallelised model on a multi-dimensional network.

The step model (Megatron-LM-style 3-D parallelism; assumptions stated so they can be judged):

* ``NPUs = DP × TP × PP``. Groups are laid on the network from the fastest-varying NPU index:
  tensor-parallel groups take the first dimensions, pipeline groups the next, data-parallel
  groups the rest (Megatron-LM's rank order, so TP traffic stays on the innermost, usually
  fastest, dimensions). A group boundary inside a Switch or FullyConnected dimension splits it
  into two dimensions of the same kind, bandwidth and latency (a subset of a switch or of a
  fully connected group is one too), as ASTRA-sim's ``Sys::break_dimension`` does. Inside a
  Ring dimension it is infeasible: ASTRA-sim would treat both parts as rings at full link
  bandwidth, but a segment of a ring is not a ring (its closing hop crosses the other NPUs) and a
  strided sub-ring shares links, so that would flatter rings. A dimension that the group size
  does not divide is infeasible too.
* Layers are cut into ``PP`` contiguous stages balancing forward FLOPs. Per micro-batch a
  stage computes forward and backward (backward = 2 × forward), runs one blocking all-reduce per
  TP-communicating layer in each direction, and sends its boundary activation to the next stage
  (the gradient comes back the same way; 1/TP of it, Megatron's scatter/gather optimisation):
  one message of ``⌊hops · latency + bytes / bandwidth⌋`` over the PP group's first dimension,
  the sender waiting for it (ASTRA-sim's native send/recv over the analytical network).
* Schedule: ``m = global_batch / (DP · micro_batch)`` micro-batches, GPipe (all forwards, then
  all backwards); each NPU runs its work in order, one thing at a time. With stage ``s``'s
  per-micro-batch forward time ``p_s`` (compute + TP all-reduces + its send) and backward time
  ``q_s``, the micro-batches flow through the stages as identical jobs through a flow shop:
  the forwards end at ``T_f = Σ p_s + (m − 1) · max p_s`` and stage ``s``'s last backward at
  ``E_s = T_f + Σ_{l≥s} q_l + (m − 1) · max_{l≥s} q_l``. Stages are not assumed balanced: the
  slowest one paces the pipeline, the others add their fill and drain. Then each stage's
  data-parallel gradient all-reduce (16-bit gradients of its shard), not overlapped with
  compute (an upper bound on exposed DP time): ``step = max_s (E_s + DP_s)``. This is exactly
  what ASTRA-sim computes for the same schedule (``benchmarks/training_end_to_end.py``).
* Compute per layer (roofline): ``max(FLOPs / (peak · efficiency), bytes / memory bandwidth)``
  with bytes = the 16-bit weights of the shard + the layer's input and output activations.
* Memory per NPU: mixed-precision Adam, 16 bytes per parameter of the shard (16-bit weights and
  gradients, fp32 master weights and two moments), plus stored activations of
  ``min(m, PP)`` micro-batches in flight (as 1F1B would keep; GPipe would keep all ``m``), for
  the stage that needs most. Above the NPU's memory: infeasible.
* Collectives: :func:`archgym.simulators.training.collectives.collective_time`'s model
  (ASTRA-sim analytical, congestion-unaware by default), evaluated vectorised over designs.

Metrics: ``step_time_ms`` = ``compute_time_ms + exposed_comm_ms + bubble_ms``, with the
bottleneck stage ``c`` (largest ``p_c + q_c``): ``compute_time_ms`` = ``m`` × its forward +
backward compute, ``tp_comm_ms`` / ``pp_comm_ms`` = ``m`` × its TP all-reduces / transfers,
``dp_comm_ms`` = the step's end minus the last backward's (``E_0``), ``bubble_ms`` = the rest
(fill, drain and the imbalance of the other stages); ``exposed_comm_ms`` = TP + PP + DP; ``network_cost`` in
link-GB/s (:mod:`~archgym.simulators.training.network`). No energy metric: without a validated
per-byte link energy or NPU power model it would be a guess.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from archgym.simulator import Metric, SimulationError, Simulator
from archgym.simulators.training.collectives import (
    ALGORITHMS,
    HD,
    CollectiveError,
    SystemConfig,
    algorithm_code,
    collective_time,
    phase_time,
    schedule_chunks,
)
from archgym.simulators.training.network import (
    TOPOLOGY_KINDS,
    Dim,
    Topology,
    TopologyError,
    bytes_per_ns,
    _KIND_CODES,
    check_dim,
    links_per_group,
    parse_shape,
)
from archgym.simulators.training.workloads import (
    BYTES_PER_VALUE,
    TrainingWorkload,
    TrainingWorkloadError,
    load_training_workload,
)

MAX_DIMS = 3
_KEYS = tuple((f"kind{i}", f"bw{i}", f"lat{i}", f"alg{i}") for i in range(MAX_DIMS))
#: sub-dimensions one parallel group can span after splits
_GROUP_DIMS = MAX_DIMS + 1
OPTIMIZER_BYTES_PER_PARAM = 16

TRAINING_METRICS: tuple[Metric, ...] = (
    Metric("step_time_ms", "ms", "minimize", "time of one training step (compute + exposed communication + bubble)"),
    Metric("compute_time_ms", "ms", "minimize", "forward + backward compute of the slowest pipeline stage"),
    Metric("exposed_comm_ms", "ms", "minimize", "TP + PP + DP communication on the critical path"),
    Metric("bubble_ms", "ms", "minimize", "pipeline fill/drain and stage imbalance"),
    Metric("tp_comm_ms", "ms", "minimize", "tensor-parallel all-reduces on the critical path"),
    Metric("pp_comm_ms", "ms", "minimize", "pipeline boundary transfers on the critical path"),
    Metric("dp_comm_ms", "ms", "minimize", "data-parallel gradient all-reduce"),
    Metric("network_cost", "link-GB/s", "minimize", "sum over dimensions of links x link bandwidth"),
    Metric("memory_gib", "GiB", "minimize", "memory needed per NPU"),
    Metric("throughput", "samples/s", "maximize", "global batch / step time"),
)


@dataclass(frozen=True)
class NPUConfig:
    """The compute node: roofline parameters and memory (defaults: an A100-80GB, BF16 dense)."""

    peak_tflops: float = 312.0
    mem_bw_gbps: float = 2039.0  # GB/s, 1 GB = 1e9 B (HBM datasheet convention)
    memory_gib: float = 80.0
    efficiency: float = 1.0  # fraction of peak FLOP/s reached by the kernels

    def __post_init__(self) -> None:
        for name in ("peak_tflops", "mem_bw_gbps", "memory_gib"):
            if not getattr(self, name) > 0:
                raise ValueError(f"NPU {name} must be positive, got {getattr(self, name)!r}")
        if not 0 < self.efficiency <= 1:
            raise ValueError(f"NPU efficiency must be in (0, 1], got {self.efficiency!r}")


@dataclass(frozen=True)
class _Stages:
    """Every pipeline stage of a (workload, TP, PP) split, per micro-batch (arrays of length PP)."""

    fwd_ns: np.ndarray  # forward compute
    bwd_ns: np.ndarray  # backward compute
    tp_sizes: tuple[float, ...]  # distinct TP all-reduce sizes (bytes)
    tp_counts: np.ndarray  # (len(tp_sizes), PP): all-reduces of each size per stage, per direction
    boundary_bytes: np.ndarray  # activation a stage sends to the next (the last stage's: unused)
    grad_sizes: tuple[float, ...]  # distinct gradient sizes (bytes)
    grad_index: np.ndarray  # stage -> index into grad_sizes
    param_bytes: np.ndarray  # parameters + optimizer state of each stage's shard
    activation_bytes: np.ndarray  # stored activations per micro-batch


def _stage_cuts(flops: np.ndarray, pp: int) -> list[tuple[int, int]]:
    """Contiguous ``pp`` stages of roughly equal forward FLOPs (each at least one layer)."""
    n = len(flops)
    cum = np.cumsum(flops)
    total = cum[-1] if cum[-1] > 0 else 1.0
    bounds = [0]
    for k in range(1, pp):
        target = total * k / pp
        cut = int(np.searchsorted(cum, target)) + 1
        if cut > 1 and abs(cum[cut - 2] - target) <= abs(cum[min(cut - 1, n - 1)] - target):
            cut -= 1
        cut = min(max(cut, bounds[-1] + 1), n - (pp - k))
        bounds.append(cut)
    bounds.append(n)
    return list(zip(bounds[:-1], bounds[1:]))


class TrainingSimulator(Simulator):
    """Step time of a parallelised training workload on an ASTRA-sim-style network.

    A design is a dict with ``shape`` (e.g. ``"4x4x16"``, dim 0 first), per dimension ``i``
    ``kind{i}`` (Ring | FullyConnected | Switch), ``bw{i}`` (GB/s per link, 1 GB = 2^30 B),
    ``alg{i}`` (ring | direct | halvingDoubling) and optionally ``lat{i}`` (ns), plus
    ``chunks`` (collective splits), ``tp`` and ``pp`` (``dp`` = NPUs / (tp·pp)). Keys of unused
    dimensions are ignored. See the module docstring for the model.
    """

    name = "training"
    version = "1.1"
    metrics = TRAINING_METRICS

    def __init__(
        self,
        npus: int | None = None,
        npu: NPUConfig | None = None,
        latency_ns: float = 500.0,
        endpoint_delay_ns: float = 10.0,
        local_mem_bw_gbps: float = 1600.0,
        congestion_aware: bool = False,
        accelerator: Mapping[str, Any] | None = None,
    ) -> None:
        """
        Args:
            npus: NPU count designs must have (``None``: any).
            npu: roofline parameters and memory of one NPU.
            latency_ns: per-hop link latency of a dimension whose design has no ``lat{i}``.
            endpoint_delay_ns, local_mem_bw_gbps: ASTRA-sim system settings (see :mod:`.collectives`).
            congestion_aware: share links (FIFO) instead of the congestion-unaware model.
            accelerator: an ``archgym/Accelerator-v0`` design; per-layer compute then comes from
                its analytical model (the layers' ``kernels``, one sample each, scaled by the
                micro-batch and divided by TP) instead of the roofline; memory stays ``npu``'s.
        """
        if npus is not None and (isinstance(npus, bool) or not isinstance(npus, int) or npus < 2):
            raise ValueError(f"npus must be an integer >= 2, got {npus!r}")
        if not latency_ns > 0:
            raise ValueError(f"latency_ns must be positive, got {latency_ns!r}")
        self.npus = npus
        self.npu = npu or NPUConfig()
        self.latency_ns = float(latency_ns)
        self.system = SystemConfig(endpoint_delay_ns, 4, local_mem_bw_gbps, congestion_aware)
        self.accelerator = None
        if accelerator is not None:
            from archgym.simulators.accelerator.hardware import AcceleratorDesign

            self.accelerator = AcceleratorDesign.from_mapping(accelerator).to_dict()  # validates, fills defaults
        self._stages: dict[tuple[str, int, int], _Stages] = {}
        self._workloads: dict[Any, TrainingWorkload] = {}
        self._topologies: dict[tuple, tuple] = {}
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._splits: dict[tuple, Any] = {}
        self._groups: dict[tuple, list] = {}
        self._accel_times: dict[str, np.ndarray] = {}

    def fingerprint(self) -> str:
        accel = "" if self.accelerator is None else f"|accelerator={sorted(self.accelerator.items())}"
        return f"{self.identity}|npus={self.npus}|{self.npu}|lat={self.latency_ns}|{self.system}{accel}"

    def workload_key(self, workload: str) -> str:
        return self._workload(workload).key

    # -- design handling ---------------------------------------------------------------------
    def _workload(self, workload: str | TrainingWorkload) -> TrainingWorkload:
        if isinstance(workload, TrainingWorkload):
            return workload
        key: Any = workload
        if workload not in ("gpt3-1.3b", "gpt3-2.7b", "gpt3-13b", "resnet50") and os.path.isfile(workload):
            stat = os.stat(workload)
            key = (workload, stat.st_mtime_ns, stat.st_size)  # an edited file is read again
        cached = self._workloads.get(key)
        if cached is None:
            cached = self._workloads[key] = load_training_workload(workload)
        return cached

    def topology(self, design: Mapping[str, Any]) -> Topology:
        """The design's network as a :class:`Topology` (raises :class:`SimulationError` on a malformed one)."""
        return self._topology(design)

    def _topology(self, design: Mapping[str, Any]) -> Topology:
        try:
            shape = parse_shape(design["shape"])
            if len(shape) > MAX_DIMS:
                raise TopologyError(f"at most {MAX_DIMS} dimensions, got shape {design['shape']!r}")
            dims = tuple(
                Dim(design[f"kind{i}"], size, float(design[f"bw{i}"]), float(design.get(f"lat{i}", self.latency_ns)))
                for i, size in enumerate(shape)
            )
            topo = Topology(dims)
        except KeyError as exc:
            raise SimulationError(f"design lacks {exc.args[0]!r} (needed for shape {design.get('shape')!r})") from None
        except (TopologyError, TypeError, ValueError) as exc:
            raise SimulationError(str(exc)) from None
        if self.npus is not None and topo.npus != self.npus:
            raise SimulationError(
                f"topology sizes {design['shape']} multiply to {topo.npus}, expected {self.npus} NPUs"
            )
        return topo

    def _dims(self, design: Mapping[str, Any]) -> tuple[list[tuple], int, float]:
        """``([(kind code, size, B/ns, latency ns, algorithm code) per dim], NPUs, network cost)``.

        The fast path of :meth:`topology` (same checks and messages, no objects), cached by the
        design's network keys.
        """
        shape_text = design.get("shape")
        if shape_text is None:
            raise SimulationError("design lacks 'shape' (e.g. '4x4x16')")
        shape = self._shapes.get(shape_text) if isinstance(shape_text, str) else None
        if shape is None:
            try:
                shape = parse_shape(shape_text)
            except (TopologyError, TypeError, ValueError) as exc:
                raise SimulationError(str(exc)) from None
            if len(shape) > MAX_DIMS:
                raise SimulationError(f"at most {MAX_DIMS} dimensions, got shape {shape_text!r}")
            if isinstance(shape_text, str):
                self._shapes[shape_text] = shape
        key = [shape]
        for i in range(len(shape)):
            k = _KEYS[i]
            try:
                key.append((design[k[0]], design[k[1]], design.get(k[2], self.latency_ns), design[k[3]]))
            except KeyError as exc:
                raise SimulationError(f"design lacks {exc.args[0]!r} (needed for shape {shape_text!r})") from None
        key = tuple(key)
        hit = self._topologies.get(key)
        if hit is not None:
            return hit
        npus = math.prod(shape)
        if self.npus is not None and npus != self.npus:
            raise SimulationError(f"topology sizes {'x'.join(map(str, shape))} multiply to {npus}, expected {self.npus} NPUs")
        dims, cost = [], 0.0
        for size, (kind, bw, lat, alg) in zip(shape, key[1:]):
            try:
                code = _KIND_CODES.get(kind)
                if code is None or type(bw) not in (int, float) or not 0 < bw < math.inf or not 0 < lat < math.inf:
                    code, size, bw, lat = check_dim(kind, size, bw, lat)
                alg_code = algorithm_code(alg)
            except (TopologyError, CollectiveError) as exc:
                raise SimulationError(str(exc)) from None
            dims.append((code, size, bytes_per_ns(bw), lat, alg_code))
            cost += links_per_group(code, size) * (npus // size) * bw
        hit = (tuple(dims), npus, cost)
        if len(self._topologies) < 200_000:
            self._topologies[key] = hit
        return hit

    def _stage(self, wl: TrainingWorkload, tp: int, pp: int) -> _Stages:
        key = (wl.key, tp, pp)
        stages = self._stages.get(key)
        if stages is not None:
            return stages
        b = wl.micro_batch
        layers = wl.layers
        div = np.array([tp if layer.tp_split else 1 for layer in layers], dtype=float)
        flops = np.array([layer.fwd_flops for layer in layers]) * b / div
        params = np.array([layer.params for layer in layers]) / div
        boundary = np.array([layer.boundary_bytes for layer in layers]) * b / div
        traffic = params * BYTES_PER_VALUE + 2 * boundary
        if self.accelerator is None:
            fwd = np.maximum(flops / (self.npu.peak_tflops * 1e3 * self.npu.efficiency), traffic / self.npu.mem_bw_gbps)
        else:
            fwd = self._accelerator_times(wl) * b / div
        tp_bytes = np.array([layer.tp_comm_bytes * b if (tp > 1 and layer.tp_split) else 0.0 for layer in layers])
        acts = np.array([layer.activation_bytes for layer in layers]) * b / div
        cuts = _stage_cuts(np.array([layer.fwd_flops for layer in layers]), pp)
        tp_sizes = tuple(sorted({float(x) for x in tp_bytes if x > 0}))
        tp_counts = np.zeros((len(tp_sizes), pp))
        for s_idx, (lo, hi) in enumerate(cuts):
            for k, size in enumerate(tp_sizes):
                tp_counts[k, s_idx] = np.count_nonzero(tp_bytes[lo:hi] == size)
        grads = [float(params[lo:hi].sum() * BYTES_PER_VALUE) for lo, hi in cuts]
        grad_sizes = tuple(sorted(set(grads)))
        fwd_s = np.array([fwd[lo:hi].sum() for lo, hi in cuts])
        stages = _Stages(
            fwd_ns=fwd_s,
            bwd_ns=2.0 * fwd_s,
            tp_sizes=tp_sizes,
            tp_counts=tp_counts,
            boundary_bytes=np.array([boundary[hi - 1] for _, hi in cuts]),
            grad_sizes=grad_sizes,
            grad_index=np.array([grad_sizes.index(g) for g in grads]),
            param_bytes=np.array([params[lo:hi].sum() * OPTIMIZER_BYTES_PER_PARAM for lo, hi in cuts]),
            activation_bytes=np.array([acts[lo:hi].sum() for lo, hi in cuts]),
        )
        self._stages[key] = stages
        return stages

    def _accelerator_times(self, wl: TrainingWorkload) -> np.ndarray:
        """Forward time (ns) of one sample per layer on the accelerator design (analytical model)."""
        cached = self._accel_times.get(wl.key)
        if cached is not None:
            return cached
        import dataclasses

        from archgym.simulators.accelerator.analytical import AnalyticalAccelerator
        from archgym.simulators.accelerator.layers import Workload

        unique = list(dict.fromkeys(wl.layers))
        missing = [layer.name for layer in unique if layer.fwd_flops > 0 and not layer.kernels]
        if missing:
            raise SimulationError(
                f"workload {wl.name!r} has layers without accelerator kernels ({', '.join(missing[:3])}); "
                "use the roofline (no accelerator=)"
            )
        kernels, owner = [], []
        for i, layer in enumerate(unique):
            for j, kernel in enumerate(layer.kernels):
                kernels.append(dataclasses.replace(kernel, name=f"{i}.{j}.{kernel.name}"))
                owner.append(i)
        per_layer = np.zeros(len(unique))
        if kernels:
            breakdown = AnalyticalAccelerator().breakdown(self.accelerator, Workload.from_layers(wl.name, kernels))
            ns_per_cycle = 1e3 / float(self.accelerator["clock_mhz"])
            for i, row in zip(owner, breakdown.layers):
                per_layer[i] += row["cycles"] * row["repeat"] * ns_per_cycle
        index = {layer: i for i, layer in enumerate(unique)}
        times = np.array([per_layer[index[layer]] for layer in wl.layers])
        self._accel_times[wl.key] = times
        return times

    def _parallel_split(self, wl: TrainingWorkload, npus: int, tp: int, pp: int) -> tuple[int, int, _Stages, float]:
        """Checks of a DP x TP x PP split that do not depend on the network; ``(dp, micro-batches, stage, memory)``."""
        if tp < 1 or pp < 1:
            raise SimulationError(f"tp and pp must be >= 1, got tp={tp}, pp={pp}")
        if npus % (tp * pp):
            raise SimulationError(f"TP x PP = {tp}x{pp} = {tp * pp} does not divide the {npus} NPUs")
        dp = npus // (tp * pp)
        if tp > 1 and not any(layer.tp_split for layer in wl.layers):
            raise SimulationError(f"workload {wl.name!r} has no tensor-parallel layers; tp must be 1, got {tp}")
        if wl.heads is not None and wl.heads % tp:
            raise SimulationError(f"TP={tp} does not divide the {wl.heads} attention heads")
        if pp > len(wl.layers):
            raise SimulationError(f"PP={pp} exceeds the {len(wl.layers)} layers of {wl.name!r}")
        if wl.global_batch % (dp * wl.micro_batch):
            raise SimulationError(
                f"global batch {wl.global_batch} is not a multiple of DP x micro-batch = {dp} x {wl.micro_batch}"
            )
        micro = wl.global_batch // (dp * wl.micro_batch)
        stage = self._stage(wl, tp, pp)
        memory = float((stage.param_bytes + stage.activation_bytes * min(micro, pp)).max())
        if memory > self.npu.memory_gib * 2**30:
            raise SimulationError(
                f"needs {memory / 2**30:.1f} GiB per NPU (TP={tp}, PP={pp}, DP={dp}), more than the NPU's {self.npu.memory_gib:g} GiB"
            )
        return dp, micro, stage, memory

    def _prepare(self, design: Mapping[str, Any], wl: TrainingWorkload) -> dict[str, Any]:
        """Scalar checks and the per-design numbers the vectorised model needs."""
        dims, npus, cost = self._dims(design)
        try:
            tp, pp = int(design["tp"]), int(design["pp"])
            chunks = int(design.get("chunks", self.system.chunks))
        except KeyError as exc:
            raise SimulationError(f"design lacks {exc.args[0]!r}") from None
        if chunks < 1:
            raise SimulationError(f"chunks must be >= 1, got {chunks}")
        split = self._splits.get((wl.key, npus, tp, pp))
        if split is None:
            try:
                split = self._parallel_split(wl, npus, tp, pp)
            except SimulationError as exc:
                split = exc
            self._splits[(wl.key, npus, tp, pp)] = split
        if isinstance(split, SimulationError):
            raise SimulationError(str(split))
        dp, micro, stage, memory = split
        gkey = (dims, tp, pp)
        groups = self._groups.get(gkey)
        if groups is None:
            groups = _split_groups(dims, (tp, pp, dp))
            for group in groups:
                for kind, n, _, _, alg in group:
                    if alg == HD and n & (n - 1):
                        raise SimulationError(f"halvingDoubling needs power-of-two group dimensions, got a dimension of {n}")
            if len(self._groups) < 200_000:
                self._groups[gkey] = groups
        return dict(tp=tp, pp=pp, dp=dp, micro=micro, chunks=chunks, stage=stage, groups=groups,
                    memory=memory, cost=cost)

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, design: Mapping[str, Any], workload: str) -> dict[str, float]:
        out = self.evaluate_batch([design], workload, errors="raise")
        return out[0]

    def evaluate_batch(self, designs: Sequence[Mapping[str, Any]], workload: str, errors: str = "raise") -> list[Any]:
        """Vectorised evaluation. ``errors="raise"`` raises the first :class:`SimulationError`;
        ``errors="return"`` puts the exception in that design's slot instead."""
        try:
            wl = self._workload(workload)
        except TrainingWorkloadError as exc:
            raise SimulationError(str(exc)) from None
        prepared: list[Any] = []
        for design in designs:
            try:
                prepared.append(self._prepare(design, wl))
            except SimulationError as exc:
                if errors == "raise":
                    raise
                prepared.append(exc)
        ok = [p for p in prepared if not isinstance(p, Exception)]
        results = iter(self._model(ok, wl) if ok else [])
        return [p if isinstance(p, Exception) else next(results) for p in prepared]

    def _model(self, items: list[dict[str, Any]], wl: TrainingWorkload) -> list[dict[str, float]]:
        """The vectorised part: every all-reduce of every design at once, then the pipeline formula."""
        D = len(items)
        pad = (0, 1, 1.0, 0.0, 0)  # a size-1 dimension: not involved
        P = max(it["pp"] for it in items)
        owner, size, rows, chunks = [], [], [], []
        tp_at, dp_at = [], []  # per design: index of its first TP / DP entry (or -1)
        sig = np.zeros((D, P))  # send time of each stage's boundary (last stage: none)
        fwd, bwd, valid = np.zeros((D, P)), np.zeros((D, P)), np.zeros((D, P), dtype=bool)
        for i, it in enumerate(items):
            st, groups, pp = it["stage"], it["groups"], it["pp"]
            fwd[i, :pp], bwd[i, :pp], valid[i, :pp] = st.fwd_ns, st.bwd_ns, True
            tp_at.append(len(owner) if it["tp"] > 1 and st.tp_sizes else -1)
            if tp_at[-1] >= 0:
                tp_row = list(groups[0]) + [pad] * (_GROUP_DIMS - len(groups[0]))
                for nbytes in st.tp_sizes:
                    owner.append(i); size.append(nbytes); rows.append(tp_row); chunks.append(it["chunks"])
            dp_at.append(len(owner) if it["dp"] > 1 else -1)
            if dp_at[-1] >= 0:
                dp_row = list(groups[2]) + [pad] * (_GROUP_DIMS - len(groups[2]))
                for nbytes in st.grad_sizes:
                    owner.append(i); size.append(nbytes); rows.append(dp_row); chunks.append(it["chunks"])
            if pp > 1:
                # pipeline boundary: one message over the PP group's first dimension to the neighbour
                # stage, one hop (two through a switch); the sender waits for its arrival
                kind, n, bw, lat, _ = groups[1][0]
                hop = 2 if kind == 2 else 1
                sig[i, : pp - 1] = np.floor(hop * lat + st.boundary_bytes[: pp - 1] / bw)
        times = np.zeros(0)
        if owner:
            times = self._allreduce_batch(np.asarray(rows, dtype=float), np.asarray(size, dtype=float),
                                          np.asarray(chunks, dtype=float))
        tp = np.zeros((D, P))
        dp = np.zeros((D, P))
        for i, it in enumerate(items):
            st, pp = it["stage"], it["pp"]
            if tp_at[i] >= 0:
                tp[i, :pp] = times[tp_at[i]: tp_at[i] + len(st.tp_sizes)] @ st.tp_counts
            if dp_at[i] >= 0:
                dp[i, :pp] = times[dp_at[i] + st.grad_index]
        m = np.asarray([it["micro"] for it in items], dtype=float)
        sig_in = np.concatenate([np.zeros((D, 1)), sig[:, :-1]], axis=1)  # the gradient coming back
        p = np.where(valid, fwd + tp + sig, 0.0)
        q = np.where(valid, bwd + tp + sig_in, 0.0)
        t_fwd = p.sum(axis=1) + (m - 1) * p.max(axis=1)
        q_sum = np.cumsum(q[:, ::-1], axis=1)[:, ::-1]
        q_max = np.maximum.accumulate(q[:, ::-1], axis=1)[:, ::-1]
        ends = t_fwd[:, None] + q_sum + (m - 1)[:, None] * q_max  # each stage's last backward
        step = np.where(valid, ends + dp, -np.inf).max(axis=1)
        c = np.where(valid, p + q, -np.inf).argmax(axis=1)  # the bottleneck stage
        r = np.arange(D)
        compute = m * (fwd[r, c] + bwd[r, c])
        tp_ns = m * 2 * tp[r, c]
        pp_ns = m * (sig[r, c] + sig_in[r, c])
        # the last backward ends at E_0 = (Σp − max p) + (Σq − max q) + m·(max p + max q): the
        # bottleneck's own m·(p_c + q_c), the rest is fill, drain and imbalance (0 without PP)
        p_max, q_max0 = p.max(axis=1), q.max(axis=1)
        bubble = (p.sum(axis=1) - p_max) + (q.sum(axis=1) - q_max0) + m * ((p_max - p[r, c]) + (q_max0 - q[r, c]))
        parts = compute + tp_ns + pp_ns + bubble
        has_dp = np.asarray([it["dp"] > 1 for it in items])
        dp_ns = np.where(has_dp, np.maximum(step - parts, 0.0), 0.0)
        step = parts + dp_ns
        columns = {
            "step_time_ms": step / 1e6,
            "compute_time_ms": compute / 1e6,
            "exposed_comm_ms": (tp_ns + pp_ns + dp_ns) / 1e6,
            "bubble_ms": bubble / 1e6,
            "tp_comm_ms": tp_ns / 1e6,
            "pp_comm_ms": pp_ns / 1e6,
            "dp_comm_ms": dp_ns / 1e6,
            "network_cost": np.asarray([it["cost"] for it in items], float),
            "memory_gib": np.asarray([it["memory"] for it in items], float) / 2**30,
            "throughput": wl.global_batch / (step / 1e9),
            "dp": np.asarray([it["dp"] for it in items], float),
            "micro_batches": m,
        }
        names = list(columns)
        return [dict(zip(names, values)) for values in zip(*(columns[n].tolist() for n in names))]

    def _allreduce_batch(self, sub: np.ndarray, size: np.ndarray, chunks: np.ndarray) -> np.ndarray:
        """All-reduce times (ns) of entries ``sub[e, j] = (kind, n, bw, lat, alg)`` (padded with n = 1)."""
        if self.system.congestion_aware:
            out = np.zeros(len(size))
            for e_idx in range(len(size)):
                dims = [Dim(TOPOLOGY_KINDS[int(k)], int(n), b / bytes_per_ns(1.0), l) for k, n, b, l, _ in sub[e_idx] if n > 1]
                if dims:
                    algs = [ALGORITHMS[int(a)] for k, n, b, l, a in sub[e_idx] if n > 1]
                    system = SystemConfig(self.system.endpoint_delay_ns, int(chunks[e_idx]), self.system.local_mem_bw_gbps, True)
                    out[e_idx] = collective_time(Topology(tuple(dims)), "all_reduce", size[e_idx], algs, system)
            return out
        return allreduce_batch(sub, size, chunks, self.system)


def allreduce_batch(sub: np.ndarray, size: np.ndarray, chunks: np.ndarray, system: SystemConfig) -> np.ndarray:
    """Vectorised congestion-unaware all-reduce over padded per-entry dimensions (see :mod:`.collectives`)."""
    kind, n = sub[..., 0].astype(np.int64), sub[..., 1].astype(np.int64)
    bw, lat, alg = sub[..., 2], sub[..., 3], sub[..., 4].astype(np.int64)
    active = n > 1
    group_npus = np.prod(n, axis=1)
    chunk = np.floor(size / chunks)
    small = group_npus > chunk
    chunk = np.where(small, group_npus, chunk)
    total = np.where(small, chunks * chunk, size)
    count = np.ceil(total / np.maximum(chunk, 1))
    K = sub.shape[1]
    idx = np.arange(K)
    last = np.where(active.any(axis=1), (active * (idx + 1)).max(axis=1) - 1, -1)
    phases, phase_dims = [], []
    c = chunk.copy()
    for j in range(K):
        t_rs, out_rs = phase_time("reduce_scatter", alg[:, j], kind[:, j], n[:, j], bw[:, j], lat[:, j], c, system)
        t_ar, _ = phase_time("all_reduce", alg[:, j], kind[:, j], n[:, j], bw[:, j], lat[:, j], c, system)
        is_rs, is_ar = j < last, j == last
        phases.append(np.where(is_rs, t_rs, np.where(is_ar, t_ar, 0.0)))
        phase_dims.append(j)
        c = np.where(is_rs, out_rs, c)
    for j in reversed(range(K - 1)):
        t_ag, out_ag = phase_time("all_gather", alg[:, j], kind[:, j], n[:, j], bw[:, j], lat[:, j], c, system)
        is_ag = j < last
        phases.append(np.where(is_ag, t_ag, 0.0))
        phase_dims.append(j)
        c = np.where(is_ag, out_ag, c)
    durations = np.stack(phases, axis=-1)
    # one active dimension or one chunk: back to back; else the dimensions' queues (schedule_chunks)
    times = np.where(last >= 0, durations.sum(axis=-1) * count, 0.0)
    multi = (last >= 1) & (count > 1)
    # grouped by active dimensions and chunk count: fewer phases and scheduling rounds per group
    for top, n_chunks in {(int(t), float(k)) for t, k in zip(last[multi], count[multi])}:
        rows = multi & (last == top) & (count == n_chunks)
        keep = [p for p, d in enumerate(phase_dims) if d <= top]
        times[rows] = schedule_chunks(durations[rows][:, keep], np.broadcast_to(np.asarray(phase_dims)[keep], (int(rows.sum()), len(keep))), count[rows])
    return times


def _split_groups(dims: list[tuple], groups: Sequence[int]) -> list[list[tuple]]:
    """Assign consecutive (sub)dimensions to each group size, splitting a dimension if needed."""
    out: list[list[tuple]] = []
    queue = list(dims)
    for g in groups:
        mine: list[tuple] = []
        need = g
        while need > 1:
            if not queue:
                raise SimulationError(f"parallel group of {g} does not fit the network")
            kind, n, bw, lat, alg = queue[0]
            if n <= need:
                if need % n:
                    raise SimulationError(
                        f"a parallel group of {g} NPUs does not align with a network dimension of {n} "
                        f"(group sizes must split the dimensions, e.g. TP in powers that divide dim sizes)"
                    )
                mine.append(queue.pop(0))
                need //= n
            else:
                if n % need:
                    raise SimulationError(
                        f"a parallel group of {g} NPUs cannot split a network dimension of {n} (not a divisor)"
                    )
                if kind == 0:
                    raise SimulationError(
                        f"a parallel group of {g} NPUs would split a Ring dimension of {n}: part of a ring is not a "
                        f"ring; choose dimensions that the TP / PP groups fill exactly, or a Switch / FullyConnected one"
                    )
                mine.append((kind, need, bw, lat, alg))
                queue[0] = (kind, n // need, bw, lat, alg)
                need = 1
        out.append(mine)
    return out
