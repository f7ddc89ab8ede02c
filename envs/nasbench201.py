"""``archgym/NASBench201-v0``: cell search on the NAS-Bench-201 tables, optionally hardware-aware."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from archgym.cache import EvaluationCache
from archgym.env import DSEEnv
from archgym.errors import import_optional
from archgym.registration import EnvMetadata
from archgym.objectives import Objective, ObjectiveSpec, resolve_objectives
from archgym.simulator import Simulator
from archgym.simulators.nas.nb201 import EDGE_NAMES, OP_NAMES, RESNET_ARCH, arch_to_design, check_arch
from archgym.simulators.nas.tabular import DEFAULT_DEVICE, NB201Tabular, default_epochs
from archgym.spaces import Categorical, DesignSpace

#: an accuracy target of 100% keeps ``normalized_excess``' accuracy term always active:
#: ``−(100 − valid_acc) / 100``, the validation error
ACCURACY_TARGET = 100.0
#: what the agent observes after each step
OBSERVED_METRICS: tuple[str, ...] = ("valid_acc", "latency_ms", "flops_m", "params_m")
#: the objectives of the vector reward: accuracy against device latency (hardware-aware NAS)
DEFAULT_OBJECTIVES: tuple[ObjectiveSpec, ...] = (
    ObjectiveSpec("valid_acc", "maximize", "%"),
    ObjectiveSpec("latency_ms", "minimize", "ms"),
)


def cell_design_space(default: Sequence[str] = RESNET_ARCH) -> DesignSpace:
    """The NAS-Bench-201 cell: one categorical parameter per edge (``edge_1_0`` … ``edge_3_2``),
    each over :data:`~archgym.simulators.nas.nb201.OP_NAMES`; defaults = ``default``'s ops
    (NAS-Bench-201's ResNet cell)."""
    return DesignSpace([Categorical(name, OP_NAMES, default=op) for name, op in zip(EDGE_NAMES, check_arch(default))])


def accuracy_targets(**limits: float | None) -> dict[str, float]:
    """``{"valid_acc": 100}`` plus every limit that is set, e.g. ``latency_ms=5.0``."""
    return {"valid_acc": ACCURACY_TARGET, **{metric: float(v) for metric, v in limits.items() if v is not None}}


def metadata(epochs: int | None = None, dataset: str = "cifar10", metric: str | None = None,
             latency_target: float | None = None, flops_target: float | None = None) -> EnvMetadata:
    """Design space, metrics and default objective of ``archgym/NASBench201-v0`` for these
    ``gym.make`` keywords (the ones that change them), without looking anything up."""
    if metric is not None:
        proxies = import_optional("archgym.simulators.nas.proxies", "nas", f"metric={metric!r}")
        simulator: Simulator = proxies.ProxyScoreSimulator(metric)
        proxy_objectives = tuple(resolve_objectives(simulator.metrics, (metric,)))
        return EnvMetadata(cell_design_space(), tuple(simulator.metrics), "weighted_sum",
                           {metric: "|score of NAS-Bench-201's ResNet cell|"}, (metric,), objectives=proxy_objectives)
    simulator = NB201Tabular(epochs=default_epochs(dataset) if epochs is None else epochs)
    targets = accuracy_targets(latency_ms=latency_target, flops_m=flops_target)
    return EnvMetadata(cell_design_space(), tuple(simulator.metrics), "normalized_excess", targets, OBSERVED_METRICS,
                       objectives=DEFAULT_OBJECTIVES)


class NASBench201Env(DSEEnv):
    """NAS-Bench-201 cell search with exact table lookups, plain or hardware-aware.

    ## Description
    Each step picks the operation of each of the 6 edges of the NAS-Bench-201 cell (Dong & Yang,
    ICLR 2020); the network is the benchmark's skeleton (C = 16, N = 5). The metrics are looked
    up in the benchmark's tables (:mod:`archgym.simulators.nas.tabular`), so a step is instant
    and exact: validation and test accuracy (%; 200-epoch CIFAR-10 by default, 12-epoch
    CIFAR-10/100 and ImageNet16-120 via ``dataset``/``epochs``), latency (ms) measured on the
    chosen ``device``, and parameters (M) and FLOPs (M) computed for the dataset's skeleton
    (:mod:`archgym.simulators.nas.layers`). Search on the validation accuracy; ``test_acc`` is
    in ``info["metrics"]`` for reporting. Isomorphic cells (the same function under different
    strings, :func:`~archgym.simulators.nas.nb201.canonical_key`; 4,930 classes) are distinct
    designs with their own table entries: the benchmark trained each string separately.

    ## Action Space
    ``MultiDiscrete([5, 5, 5, 5, 5, 5])``: the operation of ``edge_1_0``, ``edge_2_0``,
    ``edge_2_1``, ``edge_3_0``, ``edge_3_1``, ``edge_3_2`` (arch-string order), each one of
    ``none``, ``skip_connect``, ``nor_conv_1x1``, ``nor_conv_3x3``, ``avg_pool_3x3``;
    15,625 designs. ``step`` also takes a design dict.

    ## Observation Space
    ``Box(-1, 1, (4,))``: validation accuracy, latency, FLOPs and parameters of the last cell,
    each squashed as ``x / (|x| + s)`` (:class:`archgym.env.DSEEnv`) with ``s`` its target, else
    NAS-Bench-201's ResNet cell's value (so that cell reads 0.5).

    ## Rewards
    Default ``normalized_excess`` with an accuracy target of 100%:
    ``reward = −(100 − valid_acc)/100`` (minus the validation error), in ``[−1, 0]``.
    Hardware-aware NAS (as FBNet/ProxylessNAS): ``latency_target=`` (ms) and/or
    ``flops_target=`` (MFLOPs) add a target each, and the reward becomes
    ``−(100 − valid_acc)/100 − Σ max((x − t)/t, 0)``: accuracy, penalised by the relative excess
    over each budget (a cell 10% over its latency budget loses as much as 10 accuracy points).
    Any objective of :mod:`archgym.objectives` via ``reward=``, ``targets=`` (which replace the
    defaults), ``weights=``, over every metric of the simulator.

    ## Episode End
    Truncated after ``max_episode_steps`` (100 by registration).

    ## Arguments
    ``dataset``: ``cifar10`` (default) | ``cifar100`` | ``ImageNet16-120``. ``epochs``: 200 or 12
    (default the longest available: 200 for cifar10, 12 otherwise); 200-epoch results add
    training accuracy, losses and ``train_time_s``. ``device``: the latency column, one of
    :data:`~archgym.simulators.nas.tabular.DEVICES` (default ``pixel3``; e.g. ``eyeriss``,
    ``fpga``, ``raspi4``, ``titan_rtx_1``; latency is measured on the CIFAR-10 network whatever
    the dataset). ``latency_target``, ``flops_target``: hardware budgets (see Rewards).
    ``metric``: a zero-cost proxy of :mod:`archgym.simulators.nas.proxies` (``synflow``,
    ``snip``, ``grad_norm``, ``jacob_cov``, ``naswot``, ``params``) to search on instead of the
    tables: each step scores the cell's freshly initialised network (no training; 0.1-10 s on a
    CPU core, cached), the observation is that one score, and the default reward is
    ``weighted_sum``: the score divided by the absolute score of the ResNet cell (which so gets
    +1, or −1 for ``jacob_cov``, whose scores are negative).
    Cells that pass no signal from input to output fail (``info["error"]``, reward −1000).
    ``proxy_kwargs``: options of :class:`~archgym.simulators.nas.proxies.ProxyScoreSimulator`
    (``seed``, ``channels``, ``cells_per_stage``, ``batch_size``, ``data``, ``num_threads``).
    ``simulator``: any Simulator with the same metrics (e.g. a trained proxy). ``reward``,
    ``targets``, ``weights``, ``cache``, ``reward_kwargs``, ``render_mode``: as :class:`archgym.env.DSEEnv`.

    ## Multi-objective
    Objectives (:data:`DEFAULT_OBJECTIVES`): validation accuracy (%, maximise) and latency on
    ``device`` (ms, minimise); with ``metric=`` the proxy score alone. ``objectives=`` picks
    others. ``reward="vector"`` returns their log-ratios to the ResNet cell
    (:class:`archgym.env.DSEEnv`).

    ## Version History
    * v0: initial release.
    """

    DEFAULT_OBJECTIVES = DEFAULT_OBJECTIVES

    def __init__(
        self,
        dataset: str = "cifar10",
        epochs: int | None = None,
        device: str = DEFAULT_DEVICE,
        latency_target: float | None = None,
        flops_target: float | None = None,
        metric: str | None = None,
        proxy_kwargs: Mapping[str, Any] | None = None,
        reward: str | Objective | None = None,
        targets: Mapping[str, float] | None = None,
        weights: Mapping[str, float] | None = None,
        simulator: Simulator | None = None,
        cache: bool | EvaluationCache = True,
        reward_kwargs: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        objectives: Any = None,
    ) -> None:
        budgets = {"latency_ms": latency_target, "flops_m": flops_target}
        observed: Sequence[str] = OBSERVED_METRICS
        if metric is not None:
            if simulator is not None or any(v is not None for v in budgets.values()):
                raise ValueError(f"metric={metric!r} scores cells with a zero-cost proxy; it takes neither "
                                 "simulator= nor latency_target=/flops_target=")
            # torch only when a proxy is asked for
            proxies = import_optional("archgym.simulators.nas.proxies", "nas", f"metric={metric!r}")
            simulator = proxies.ProxyScoreSimulator(metric, **dict(proxy_kwargs or {}))
            observed = (metric,)
        elif proxy_kwargs is not None:
            raise ValueError("proxy_kwargs= needs metric=<zero-cost proxy>")
        if simulator is None:
            simulator = NB201Tabular(epochs=default_epochs(dataset) if epochs is None else epochs, device=device)
        if objectives is None:
            objectives = (metric,) if metric is not None else DEFAULT_OBJECTIVES
        specs = resolve_objectives(simulator.metrics, objectives)
        self.dataset = dataset
        space = cell_design_space()
        simulator.workload_key(dataset)  # an unknown dataset is reported before anything is evaluated
        #: metrics of NAS-Bench-201's ResNet cell (the default design), the observation scales
        self.baseline_metrics = simulator.evaluate(arch_to_design(RESNET_ARCH), dataset)
        if targets is not None and any(v is not None for v in budgets.values()):
            raise ValueError("pass either targets= or latency_target=/flops_target=, not both "
                             f"(targets={dict(targets)!r})")
        if metric is not None:
            targets = targets if targets is not None else {metric: abs(self.baseline_metrics[metric])}
            reward = "weighted_sum" if reward is None else reward
        elif targets is None and reward not in ("log_ratio", "vector"):  # those take the ResNet cell as reference
            targets = accuracy_targets(**budgets)
        reward = "normalized_excess" if reward is None else reward
        super().__init__(
            simulator,
            space,
            dataset,
            reward=reward,
            targets=targets,
            weights=weights,
            observed_metrics=observed,
            metric_scales={m: abs(self.baseline_metrics[m]) for m in observed},
            cache=cache,
            reward_kwargs=reward_kwargs,
            render_mode=render_mode,
            objectives=specs,
        )
