"""``archgym/Training-v0``: network and parallelism design for distributed training (after ASTRA-sim)."""

from __future__ import annotations

import math
from typing import Any, Mapping

from archgym.cache import EvaluationCache
from archgym.env import DSEEnv
from archgym.objectives import Metrics, Objective, ObjectiveSpec, resolve_objectives
from archgym.registration import EnvMetadata
from archgym.simulator import SimulationError, Simulator
from archgym.simulators.training.collectives import ALGORITHMS
from archgym.simulators.training.network import TOPOLOGY_KINDS, factorizations
from archgym.simulators.training.step import MAX_DIMS, NPUConfig, TrainingSimulator
from archgym.simulators.training.workloads import load_training_workload
from archgym.spaces import Categorical, DesignSpace, PowerOfTwo, Values

#: link bandwidths a dimension may get (GB/s per link, ASTRA-sim's 2^30-byte GB)
BANDWIDTHS_GBPS: tuple[int, ...] = (25, 50, 100, 200, 400)
#: default network budget per NPU, link-GB/s (e.g. three dimensions of 100 GB/s rings or switches)
BUDGET_PER_NPU = 300.0
OBSERVED_METRICS: tuple[str, ...] = ("step_time_ms", "exposed_comm_ms", "network_cost", "memory_gib")


#: the objectives of the vector reward: step time and network cost (the budgeted pair)
DEFAULT_OBJECTIVES: tuple[ObjectiveSpec, ...] = (
    ObjectiveSpec("step_time_ms", "minimize", "ms"),
    ObjectiveSpec("network_cost", "minimize", "link-GB/s"),
)


def metadata(npus: int = 64, budget: float | None = None, reward: str = "step_time_under_budget") -> EnvMetadata:
    """Design space, metrics and default objective of ``archgym/Training-v0``, without evaluating.

    The design space's default is the TP = 4, PP = 2 baseline; a workload for which that split is
    infeasible (e.g. ``resnet50``) gets another default at construction (same values otherwise).
    """
    from archgym.simulators.training.step import TRAINING_METRICS

    if reward == "step_time_under_budget":
        targets: dict[str, float | str] = {"step_time_ms": "the baseline design's value (scale)",
                                           "network_cost": float(BUDGET_PER_NPU * npus if budget is None else budget)}
    else:
        targets = {o.metric: "given with targets=" for o in DEFAULT_OBJECTIVES}
    return EnvMetadata(training_design_space(npus), TRAINING_METRICS, reward, targets, OBSERVED_METRICS,
                       objectives=DEFAULT_OBJECTIVES)


def _default_shape(npus: int) -> str:
    """The most cubic 3-D factorisation (ties: larger dims last)."""
    shapes = [s for s in factorizations(npus, MAX_DIMS) if len(s) == min(MAX_DIMS, len(max(factorizations(npus, MAX_DIMS), key=len)))]
    best = min(shapes, key=lambda s: (max(s) / min(s), s[::-1]))
    return "x".join(str(x) for x in sorted(best))


def training_design_space(npus: int = 64, max_parallel: int = 16, tp: int = 4, pp: int = 2) -> DesignSpace:
    """Topology shape, per-dimension kind / bandwidth / algorithm, chunks, TP and PP for ``npus`` NPUs.

    ``tp`` / ``pp`` are the defaults of those parameters (the baseline design's split).
    """
    shapes = ["x".join(str(x) for x in s) for s in factorizations(npus, MAX_DIMS)]
    default_shape = _default_shape(npus)
    params: list[Any] = [Categorical("shape", tuple(shapes), default=default_shape)]
    defaults = ("Ring", "Switch", "Switch")
    for i in range(MAX_DIMS):
        params.append(Categorical(f"kind{i}", TOPOLOGY_KINDS, default=defaults[i]))
    for i in range(MAX_DIMS):
        params.append(Values(f"bw{i}", BANDWIDTHS_GBPS, default=100))
    for i in range(MAX_DIMS):
        params.append(Categorical(f"alg{i}", ALGORITHMS, default="ring"))
    params.append(Values("chunks", (1, 2, 4, 8, 16), default=4))
    params.append(PowerOfTwo("tp", 1, max_parallel, default=tp))
    params.append(PowerOfTwo("pp", 1, max_parallel, default=pp))
    return DesignSpace(params)


def _baseline(simulator: Simulator, npus: int, workload: str) -> tuple[DesignSpace, dict[str, float]]:
    """The design space whose default (the baseline) is feasible for ``workload``: TP = 4, PP = 2
    if possible, else the first feasible of (4, 1), (1, 4), (1, 1), (4, 4), (4, 8)."""
    errors = []
    for tp, pp in ((4, 2), (4, 1), (1, 4), (1, 1), (4, 4), (4, 8)):
        space = training_design_space(npus, tp=tp, pp=pp)
        try:
            return space, simulator.evaluate(space.default(), workload)
        except SimulationError as exc:
            errors.append(f"tp={tp}, pp={pp}: {exc}")
    raise ValueError(f"no feasible baseline design for workload {workload!r} on {npus} NPUs: " + "; ".join(errors))


class StepTimeUnderBudget(Objective):
    """Minimise step time subject to a network-cost budget.

    ``reward = −x_t / t_t − penalty · max(0, x_c / t_c − 1)`` with ``x_t`` the step time, ``t_t``
    its scale (target), ``x_c`` the network cost and ``t_c`` the budget: designs within budget
    are ranked by step time alone; each 1 % over budget costs ``penalty`` % of the scale.
    Failure reward: −1000.
    """

    name = "step_time_under_budget"
    default_failure_reward = -1000.0

    def __init__(self, metrics, targets, weights=None, failure_reward=None, penalty: float = 10.0) -> None:
        if set(targets) != {"step_time_ms", "network_cost"}:
            raise ValueError(
                f"{self.name} needs exactly the targets step_time_ms (scale) and network_cost (budget), got {sorted(targets)}"
            )
        if not penalty >= 0:
            raise ValueError(f"penalty must be >= 0, got {penalty!r}")
        super().__init__(metrics, targets, weights, failure_reward)
        self.penalty = float(penalty)

    def reward(self, values: Metrics) -> float:
        over = max(0.0, values["network_cost"] / self.targets["network_cost"] - 1.0)
        return -values["step_time_ms"] / self.targets["step_time_ms"] - self.penalty * over

    def reward_range(self) -> tuple[float, float]:
        return (-math.inf, 0.0)


class TrainingEnv(DSEEnv):
    """Distributed-training system design: network topology, bandwidths, collectives, parallelism.

    ## Description
    Each step picks a multi-dimensional NPU network and a parallelisation of one training
    workload, after ASTRA-sim's design space: the topology shape (1 to 3 dimensions whose sizes
    multiply to ``npus``), per dimension its building block (Ring, FullyConnected, Switch), link
    bandwidth and collective algorithm (ring, direct, halvingDoubling), the number of chunks a
    collective is split into, and the tensor- and pipeline-parallel degrees (data parallelism
    takes the rest). :class:`~archgym.simulators.training.step.TrainingSimulator` returns the
    step time and its parts; collectives follow ASTRA-sim's analytical backend (validated in
    ``benchmarks/training_validation.py``), compute a roofline of the NPU.

    ## Action Space
    ``MultiDiscrete`` over ``shape`` (ordered factorisations of ``npus``, e.g. 16 for 64 NPUs),
    ``kind0..2`` (3), ``bw0..2`` (25..400 GB/s, 5), ``alg0..2`` (3), ``chunks`` (1..16, 5), ``tp``
    and ``pp`` (1..16, powers of two). Keys of dimensions the shape does not have are ignored.
    ``step`` also takes a design dict.

    ## Observation Space
    ``Box(-1, 1, (4,))``: step time (ms), exposed communication (ms), network cost (link-GB/s)
    and memory per NPU (GiB) of the last design, squashed as ``x / (|x| + s)``
    (:class:`archgym.env.DSEEnv`); scales are the baseline design's values. The baseline is
    the space's default: ``4x4x4`` (64 NPUs; the most cubic 3-D shape otherwise), Ring / Switch
    / Switch at 100 GB/s each, ring algorithms, 4 chunks, TP = 4 (filling the ring), PP = 2 (for
    a workload where that is infeasible, e.g. ``resnet50`` without TP, the first feasible of a
    short list).

    ## Rewards
    Default ``step_time_under_budget`` (:class:`StepTimeUnderBudget`): ``−step / baseline_step``
    minus 10 × the relative excess of network cost over the budget (default
    ``300 link-GB/s × npus``; the default design uses exactly that). Any objective of
    :mod:`archgym.objectives` via ``reward=`` and ``targets=`` over the simulator's metrics.
    Infeasible designs (TP not dividing the heads, TP·PP not dividing the NPUs, a parallel
    group not aligned with the dimensions, halving-doubling on a non-power-of-two group, the
    global batch not divisible, memory per NPU exceeded) get the failure reward and
    ``info["error"]``.

    ## Episode End
    Truncated after ``max_episode_steps`` (100 by registration).

    ## Arguments
    ``npus`` (64): NPU count. ``workload``: ``gpt3-1.3b`` (default) | ``gpt3-2.7b`` |
    ``gpt3-13b`` | ``resnet50`` | ``gpt:layers=..,hidden=..,heads=..,seq=..,vocab=..,batch=..,
    micro_batch=..`` | a workload CSV path (:mod:`archgym.simulators.training.workloads`).
    ``budget``: network cost budget (link-GB/s). ``npu``: :class:`~archgym.simulators.training.step.NPUConfig`
    or a dict of its fields. ``congestion_aware``: link-sharing model (slower, per design).
    ``accelerator``: an ``archgym/Accelerator-v0`` design dict; per-layer compute then comes
    from its analytical model instead of the roofline (accelerator and network co-design).
    ``simulator``: any Simulator with the same metrics (e.g. a proxy). ``reward``, ``targets``,
    ``weights``, ``cache``, ``reward_kwargs``: as :class:`archgym.env.DSEEnv`.

    ## Version History
    * v0: initial release.
    """

    DEFAULT_OBJECTIVES = DEFAULT_OBJECTIVES

    def __init__(
        self,
        npus: int = 64,
        workload: str = "gpt3-1.3b",
        budget: float | None = None,
        npu: NPUConfig | Mapping[str, float] | None = None,
        congestion_aware: bool = False,
        accelerator: Mapping[str, Any] | None = None,
        simulator: Simulator | None = None,
        reward: str | Objective = "step_time_under_budget",
        targets: Mapping[str, float] | None = None,
        weights: Mapping[str, float] | None = None,
        cache: bool | EvaluationCache = True,
        reward_kwargs: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        objectives: Any = None,
    ) -> None:
        if isinstance(npus, bool) or not isinstance(npus, int) or npus < 4:
            raise ValueError(f"npus must be an integer >= 4, got {npus!r}")
        if isinstance(npu, Mapping):
            npu = NPUConfig(**npu)
        if simulator is None:
            simulator = TrainingSimulator(npus=npus, npu=npu, congestion_aware=congestion_aware, accelerator=accelerator)
        self.npus = npus
        self.budget = float(BUDGET_PER_NPU * npus if budget is None else budget)
        if not self.budget > 0:
            raise ValueError(f"budget must be positive (link-GB/s), got {budget!r}")
        specs = resolve_objectives(simulator.metrics, DEFAULT_OBJECTIVES if objectives is None else objectives)
        load_training_workload(workload)  # an unknown name or malformed file: its own clear error, once
        space, self.baseline_metrics = _baseline(simulator, npus, workload)
        scales = {m: self.baseline_metrics[m] for m in OBSERVED_METRICS if self.baseline_metrics[m] > 0}
        if reward == "step_time_under_budget":
            metrics = {m.name: m for m in simulator.metrics}
            goal = targets or {"step_time_ms": self.baseline_metrics["step_time_ms"], "network_cost": self.budget}
            reward = StepTimeUnderBudget(metrics, goal, **dict(reward_kwargs or {}))
            targets = None
            reward_kwargs = None
        super().__init__(
            simulator,
            space,
            workload,
            reward=reward,
            targets=targets,
            weights=weights,
            observed_metrics=OBSERVED_METRICS,
            metric_scales=scales,
            cache=cache,
            reward_kwargs=reward_kwargs,
            render_mode=render_mode,
            objectives=specs,
            baseline_metrics=self.baseline_metrics,
        )
