"""Export a training design as ASTRA-sim inputs, to run the same step in ASTRA-sim itself.

:func:`export_design` turns one ``archgym/Training-v0`` design and workload into what ASTRA-sim's
analytical backend (commit c459ab6) reads: a network YAML, a system JSON and, per NPU, a Chakra
execution trace (ET) of the whole training step. :func:`write_inputs` writes them (Chakra's
protobuf schema, loaded with :func:`load_chakra_schema` from an ASTRA-sim source tree; the
``protobuf`` package is needed only here), :func:`run_astrasim` runs the binary and returns its
finish time. ``benchmarks/training_end_to_end.py`` uses this to rank random designs by both
simulators.

What the traces encode (the same assumptions as :mod:`.step`, so the two should agree):

* Ranks: NPU ``r = t + TP·(s + PP·d)`` is tensor rank ``t`` of pipeline stage ``s`` of data-parallel
  replica ``d`` (TP on the innermost network dimensions, then PP, then DP, as :mod:`.step`).
* Network: the design's dimensions, with every dimension that a group boundary cuts written as
  two dimensions of the same kind, bandwidth and latency (what :mod:`.step` assumes; only Switch
  and FullyConnected dimensions may be cut). Collectives then name their group's dimensions with
  Chakra's ``involved_dim`` attribute, so ASTRA-sim runs them hierarchically over exactly those
  dimensions with the design's per-dimension algorithms. (ASTRA-sim's communicator groups,
  ``pg_name``, would not do: at this commit a group smaller than the system always runs one flat
  ring over its NPUs, ``CommunicatorGroup::get_collective_plan``.)
* Compute: one ``COMP_NODE`` per layer and micro-batch, forward and backward, with ``num_ops``
  (FLOPs) and ``tensor_size`` (bytes moved) so that ASTRA-sim's roofline (``roofline-enabled``,
  ``peak-perf``, ``local-mem-bw``) gives ``max(FLOPs / peak, bytes / bandwidth)``, the roofline of
  :mod:`.step`; backward is twice the forward (both counts doubled). A layer without FLOPs (the
  embedding) gets ``num_ops = 1``, i.e. its memory time.
* Tensor parallelism: an ``ALL_REDUCE`` after each layer that has one (Megatron-LM's two per
  transformer layer plus the embedding's), forward and backward, over the TP dimensions.
* Pipeline: GPipe; a stage receives the micro-batch's activation (``COMM_RECV_NODE``) from the
  previous stage, runs its layers, sends the result on (``COMM_SEND_NODE``); after all forwards,
  the backwards in reverse micro-batch order, gradients flowing back.
* Data parallelism: one ``ALL_REDUCE`` of the stage's 16-bit gradients over the DP dimensions
  after the last backward, not overlapped with compute.
* Every node of an NPU depends on the one before (one chain): compute, TP all-reduces and the
  pipeline transfers of a stage are serialised, as :mod:`.step` adds them up.

ASTRA-sim has a single ``local-mem-bw`` for the roofline and for reducing received collective
data, where :mod:`.step` has the NPU's memory bandwidth and ``local_mem_bw_gbps``; for a like-for-like
comparison build the :class:`~archgym.simulators.training.step.TrainingSimulator` with
``local_mem_bw_gbps`` equal to the NPU's ``mem_bw_gbps`` (:func:`matching_simulator`).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator, Mapping

import numpy as np

from archgym.simulator import SimulationError
from archgym.simulators.training.collectives import ALGORITHMS, HD
from archgym.simulators.training.network import TOPOLOGY_KINDS, parse_shape
from archgym.simulators.training.step import TrainingSimulator, _split_groups, _stage_cuts
from archgym.simulators.training.workloads import BYTES_PER_VALUE, TrainingWorkload

#: the ASTRA-sim commit these inputs are written for (astra-sim/astra-sim)
ASTRASIM_COMMIT = "c459ab61193bdb5b663ab61d2e923314dae8a77f"
#: settings of the system JSON that are not design parameters (the reference runs' values)
BASE_SYSTEM: dict[str, Any] = {
    "scheduling-policy": "LIFO",
    "endpoint-delay": 10,
    "active-chunks-per-dimension": 1,
    "collective-optimization": "localBWAware",
    "boost-mode": 0,
}
_FINISHED = re.compile(r"sys\[(\d+)\] finished, (\d+) cycles")


def matching_simulator(npus: int | None = None, **npu: float) -> TrainingSimulator:
    """A :class:`TrainingSimulator` whose settings ASTRA-sim can express: collective reductions at
    the NPU's memory bandwidth (ASTRA-sim's one ``local-mem-bw``), the default 500 ns, 10 ns
    endpoint delay. ``npu``: fields of :class:`~archgym.simulators.training.step.NPUConfig`."""
    from archgym.simulators.training.step import NPUConfig

    config = NPUConfig(**npu)
    return TrainingSimulator(npus=npus, npu=config, local_mem_bw_gbps=config.mem_bw_gbps)


@dataclass(frozen=True)
class StagePlan:
    """One pipeline stage: per layer its forward FLOPs and bytes (per micro-batch, per NPU) and
    the bytes of the TP all-reduce after it (0: none)."""

    flops: tuple[int, ...]
    traffic: tuple[int, ...]
    tp_bytes: tuple[int, ...]
    names: tuple[str, ...]
    boundary_bytes: int  # activation sent to the next stage per micro-batch
    grad_bytes: int  # 16-bit gradients of the stage's shard


@dataclass(frozen=True)
class AstraSimInputs:
    """Everything ASTRA-sim needs for one design (see the module docstring)."""

    network: dict[str, list]  # the network YAML's lists
    system: dict[str, Any]
    tp: int
    pp: int
    dp: int
    micro_batches: int
    stages: tuple[StagePlan, ...]
    tp_dims: tuple[bool, ...]  # involved_dim of a TP all-reduce
    dp_dims: tuple[bool, ...]

    @property
    def npus(self) -> int:
        return self.tp * self.pp * self.dp

    def network_yaml(self) -> str:
        n = self.network
        return (f"topology: [ {', '.join(n['topology'])} ]\n"
                f"npus_count: [ {', '.join(str(x) for x in n['npus_count'])} ]\n"
                f"bandwidth: [ {', '.join(repr(float(x)) for x in n['bandwidth'])} ]\n"
                f"latency: [ {', '.join(repr(float(x)) for x in n['latency'])} ]\n")

    def node_count(self) -> int:
        """ET nodes over all NPUs (a measure of ASTRA-sim's work)."""
        total = 0
        for s, st in enumerate(self.stages):
            per_mb = len(st.flops) + sum(1 for b in st.tp_bytes if b > 0 and self.tp > 1)
            per_mb = 2 * per_mb + (s > 0) * 2 + (s < self.pp - 1) * 2
            total += self.tp * self.dp * (per_mb * self.micro_batches + (self.dp > 1))
        return total


def export_design(simulator: TrainingSimulator, design: Mapping[str, Any], workload: str | TrainingWorkload) -> AstraSimInputs:
    """ASTRA-sim inputs for ``design`` on ``workload`` under ``simulator``'s NPU and system settings.

    Raises :class:`SimulationError` for a design the simulator finds infeasible, and for one
    that ASTRA-sim cannot run as archgym models it (an Accelerator-v0 compute model: ASTRA-sim
    only has the roofline; the congestion-aware model: multi-dimensional networks only run
    congestion-unaware in this ASTRA-sim).
    """
    if simulator.accelerator is not None:
        raise SimulationError("ASTRA-sim export needs the roofline compute model (no accelerator=)")
    if simulator.system.congestion_aware:
        raise SimulationError("ASTRA-sim export is for the congestion-unaware backend")
    wl = simulator._workload(workload)
    simulator.evaluate(design, wl)  # every feasibility check, with the simulator's messages
    prepared = simulator._prepare(design, wl)
    tp, pp, dp, micro = prepared["tp"], prepared["pp"], prepared["dp"], prepared["micro"]

    shape = parse_shape(design["shape"])
    dims = [(TOPOLOGY_KINDS.index(_kind(design[f"kind{i}"])), n, float(design[f"bw{i}"]),
             float(design.get(f"lat{i}", simulator.latency_ns)), _alg(design[f"alg{i}"]))
            for i, n in enumerate(shape)]
    groups = _split_groups(dims, (tp, pp, dp))
    flat = [d for g in groups for d in g]
    for kind, n, _, _, alg in flat:
        if alg == HD and n & (n - 1):
            raise SimulationError(f"halvingDoubling needs power-of-two group dimensions, got a dimension of {n}")
    network = dict(topology=[TOPOLOGY_KINDS[d[0]] for d in flat], npus_count=[d[1] for d in flat],
                   bandwidth=[d[2] for d in flat], latency=[d[3] for d in flat])
    algs = [ALGORITHMS[d[4]] for d in flat]
    a2a = ["direct" if a == "halvingDoubling" else a for a in algs]
    npu = simulator.npu
    system = dict(BASE_SYSTEM, **{
        "endpoint-delay": simulator.system.endpoint_delay_ns,
        "preferred-dataset-splits": prepared["chunks"],
        "local-mem-bw": npu.mem_bw_gbps,
        "roofline-enabled": 1,
        "peak-perf": npu.peak_tflops * npu.efficiency,
        "all-reduce-implementation": algs,
        "all-gather-implementation": algs,
        "reduce-scatter-implementation": algs,
        "all-to-all-implementation": a2a,
    })
    ntp, npp = len(groups[0]), len(groups[1])
    tp_dims = tuple(i < ntp for i in range(len(flat)))
    dp_dims = tuple(i >= ntp + npp for i in range(len(flat)))
    return AstraSimInputs(network, system, tp, pp, dp, micro, _stages(wl, tp, pp), tp_dims, dp_dims)


def _kind(name: str) -> str:
    for k in TOPOLOGY_KINDS:
        if str(name).lower() == k.lower():
            return k
    raise SimulationError(f"unknown topology kind {name!r}")


def _alg(name: str) -> int:
    from archgym.simulators.training.collectives import algorithm_code

    return algorithm_code(name)


def _stages(wl: TrainingWorkload, tp: int, pp: int) -> tuple[StagePlan, ...]:
    """Per stage, the layers' per-micro-batch FLOPs / bytes / TP all-reduce bytes (as :mod:`.step`)."""
    b = wl.micro_batch
    out = []
    for lo, hi in _stage_cuts(np.array([layer.fwd_flops for layer in wl.layers]), pp):
        flops, traffic, tp_bytes, names = [], [], [], []
        grad = 0.0
        for layer in wl.layers[lo:hi]:
            div = tp if layer.tp_split else 1
            params = layer.params / div
            boundary = layer.boundary_bytes * b / div
            flops.append(int(round(layer.fwd_flops * b / div)))
            traffic.append(int(round(params * BYTES_PER_VALUE + 2 * boundary)))
            tp_bytes.append(int(round(layer.tp_comm_bytes * b)) if (tp > 1 and layer.tp_split) else 0)
            names.append(layer.name)
            grad += params * BYTES_PER_VALUE
        last = wl.layers[hi - 1]
        boundary = last.boundary_bytes * b / (tp if last.tp_split else 1)
        out.append(StagePlan(tuple(flops), tuple(traffic), tuple(tp_bytes), tuple(names), int(round(boundary)),
                             int(round(grad))))
    return tuple(out)


# -- traces -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EtNode:
    """One Chakra node, schema-free: ``kind`` is a Chakra ``NodeType`` name, ``attrs`` name → value."""

    id: int
    name: str
    kind: str
    deps: tuple[int, ...]
    attrs: tuple[tuple[str, Any], ...]


def rank_nodes(inputs: AstraSimInputs, rank: int) -> Iterator[EtNode]:
    """The chain of Chakra nodes of NPU ``rank`` (module docstring), in id order."""
    tp, pp = inputs.tp, inputs.pp
    s = (rank // tp) % pp
    stage = inputs.stages[s]
    prev_rank, next_rank = rank - tp, rank + tp
    state = {"id": 0}

    def node(name: str, kind: str, **attrs: Any) -> EtNode:
        nid = state["id"]
        state["id"] += 1
        return EtNode(nid, name, kind, (nid - 1,) if nid else (), tuple(attrs.items()))

    def comp(name: str, flops: int, traffic: int, scale: int) -> EtNode:
        return node(name, "COMP_NODE", is_cpu_op=False, num_ops=max(flops, 1) * scale, tensor_size=traffic * scale)

    def allreduce(name: str, size: int, dims: tuple[bool, ...]) -> EtNode:
        return node(name, "COMM_COLL_NODE", is_cpu_op=False, comm_type="ALL_REDUCE", comm_size=size, involved_dim=dims)

    m = inputs.micro_batches
    layers = range(len(stage.flops))
    for mb in range(m):
        if s > 0:
            yield node(f"recv_act_mb{mb}", "COMM_RECV_NODE", is_cpu_op=False, comm_src=prev_rank, comm_dst=rank,
                       comm_size=inputs.stages[s - 1].boundary_bytes, comm_tag=2 * mb)
        for i in layers:
            yield comp(f"fwd_{i}_{stage.names[i]}_mb{mb}", stage.flops[i], stage.traffic[i], 1)
            if stage.tp_bytes[i]:
                yield allreduce(f"fwd_tp_ar_{i}_mb{mb}", stage.tp_bytes[i], inputs.tp_dims)
        if s < pp - 1:
            yield node(f"send_act_mb{mb}", "COMM_SEND_NODE", is_cpu_op=False, comm_src=rank, comm_dst=next_rank,
                       comm_size=stage.boundary_bytes, comm_tag=2 * mb)
    for mb in reversed(range(m)):
        if s < pp - 1:
            yield node(f"recv_grad_mb{mb}", "COMM_RECV_NODE", is_cpu_op=False, comm_src=next_rank, comm_dst=rank,
                       comm_size=stage.boundary_bytes, comm_tag=2 * mb + 1)
        for i in reversed(layers):
            yield comp(f"bwd_{i}_{stage.names[i]}_mb{mb}", stage.flops[i], stage.traffic[i], 2)
            if stage.tp_bytes[i]:
                yield allreduce(f"bwd_tp_ar_{i}_mb{mb}", stage.tp_bytes[i], inputs.tp_dims)
        if s > 0:
            yield node(f"send_grad_mb{mb}", "COMM_SEND_NODE", is_cpu_op=False, comm_src=rank, comm_dst=prev_rank,
                       comm_size=inputs.stages[s - 1].boundary_bytes, comm_tag=2 * mb + 1)
    if inputs.dp > 1:
        yield allreduce("dp_grad_ar", stage.grad_bytes, inputs.dp_dims)


# -- files ---------------------------------------------------------------------------------------

def load_chakra_schema(path: str | Path) -> ModuleType:
    """Chakra's generated ``et_def_pb2`` module from an ASTRA-sim source tree (or the file itself).

    ``path``: the ASTRA-sim checkout (its ``extern/graph_frontend/chakra/schema/protobuf/``
    holds ``et_def_pb2.py`` once ASTRA-sim's build script ran), that folder, or the ``.py`` file.
    Needs the ``protobuf`` package.
    """
    path = Path(path)
    candidates = [path, path / "et_def_pb2.py", path / "extern/graph_frontend/chakra/schema/protobuf/et_def_pb2.py"]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise FileNotFoundError(f"no Chakra et_def_pb2.py at {path} (run ASTRA-sim's build script, which generates it)")
    try:
        import google.protobuf  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("writing Chakra traces needs the 'protobuf' package (pip install protobuf)") from exc
    spec = importlib.util.spec_from_file_location("et_def_pb2", found)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _attr(pb: ModuleType, name: str, value: Any):
    a = pb.AttributeProto(name=name)
    if name in ("is_cpu_op",):
        a.bool_val = bool(value)
    elif name == "comm_type":
        a.int64_val = pb.CollectiveCommType.Value(value)
    elif name in ("comm_src", "comm_dst", "comm_tag"):
        a.int32_val = int(value)
    elif name in ("comm_size", "num_ops"):
        a.int64_val = int(value)
    elif name == "tensor_size":
        a.uint64_val = int(value)
    elif name == "involved_dim":
        a.bool_list.values.extend(bool(v) for v in value)
    else:  # pragma: no cover - only the names above are produced
        raise ValueError(f"unknown attribute {name!r}")
    return a


def _delimited(message) -> bytes:
    from google.protobuf.internal.encoder import _VarintBytes

    body = message.SerializeToString()
    return _VarintBytes(len(body)) + body


def write_inputs(inputs: AstraSimInputs, folder: str | Path, schema: ModuleType, name: str = "step") -> dict[str, Path]:
    """Write the network YAML, system JSON, remote-memory JSON and one ET per NPU into ``folder``.

    Returns the paths ASTRA-sim's command line takes (``workload`` is the ET prefix).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    network = folder / "network.yml"
    network.write_text(inputs.network_yaml())
    system = folder / "system.json"
    system.write_text(json.dumps(inputs.system, indent=1))
    memory = folder / "remote_memory.json"
    memory.write_text(json.dumps({"memory-type": "NO_MEMORY_EXPANSION"}))
    et_dir = folder / "et"
    et_dir.mkdir(exist_ok=True)
    meta = _delimited(schema.GlobalMetadata(version="0.0.4"))
    for rank in range(inputs.npus):
        chunks = [meta]
        for n in rank_nodes(inputs, rank):
            msg = schema.Node(id=n.id, name=n.name, type=schema.NodeType.Value(n.kind))
            msg.data_deps.extend(n.deps)
            msg.attr.extend(_attr(schema, k, v) for k, v in n.attrs)
            chunks.append(_delimited(msg))
        (et_dir / f"{name}.{rank}.et").write_bytes(b"".join(chunks))
    return dict(workload=et_dir / name, system=system, network=network, memory=memory)


def parse_finish_times(output: str) -> dict[int, int]:
    """``{NPU: finish ns}`` from ASTRA-sim's ``sys[i] finished, N cycles`` lines (1 cycle = 1 ns)."""
    return {int(r): int(t) for r, t in _FINISHED.findall(output)}


def run_astrasim(binary: str | Path, paths: Mapping[str, Path], timeout: float = 3600) -> tuple[float, dict[int, int]]:
    """Run ASTRA-sim on written inputs; ``(step time ns = the last NPU's finish, per-NPU finish)``."""
    cmd = [str(binary), f"--workload-configuration={paths['workload']}", f"--system-configuration={paths['system']}",
           f"--remote-memory-configuration={paths['memory']}", f"--network-configuration={paths['network']}"]
    with tempfile.TemporaryDirectory() as cwd:  # it writes its log folder into the working directory
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    finish = parse_finish_times(proc.stdout + proc.stderr)
    if proc.returncode or not finish:
        raise RuntimeError(f"ASTRA-sim failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-800:]}")
    return float(max(finish.values())), finish


__all__ = [
    "ASTRASIM_COMMIT", "AstraSimInputs", "EtNode", "StagePlan", "export_design", "load_chakra_schema",
    "matching_simulator", "parse_finish_times", "rank_nodes", "run_astrasim", "write_inputs",
]
