"""``archgym/CoDesign-v0``: a NAS-Bench-201 cell and a DNN accelerator designed together (NASAIC)."""

from __future__ import annotations

from typing import Any, Mapping

from archgym.cache import EvaluationCache
from archgym.env import DSEEnv
from archgym.envs.accelerator import accelerator_design_space
from archgym.envs.nasbench201 import accuracy_targets, cell_design_space
from archgym.registration import EnvMetadata, default_targets_text
from archgym.objectives import Objective, ObjectiveSpec, resolve_objectives, targets_below_baseline
from archgym.simulator import Simulator
from archgym.spaces import DesignSpace

#: the hardware metrics the default reward targets (NASAIC's latency, energy and area specs)
DEFAULT_HARDWARE_METRICS: tuple[str, ...] = ("latency_ms", "energy_uj", "area_mm2")
#: default hardware targets sit this fraction below the baseline (as Accelerator-v0)
DEFAULT_IMPROVEMENT = 0.10
#: the objectives of the vector reward (and of ``log_ratio``): NASAIC's accuracy and hardware specs
DEFAULT_OBJECTIVES: tuple[ObjectiveSpec, ...] = (
    ObjectiveSpec("valid_acc", "maximize", "%"),
    ObjectiveSpec("latency_ms", "minimize", "ms"),
    ObjectiveSpec("energy_uj", "minimize", "uJ"),
    ObjectiveSpec("area_mm2", "minimize", "mm2"),
)
#: what the agent observes after each step
OBSERVED_METRICS: tuple[str, ...] = ("valid_acc", "latency_ms", "energy_uj", "area_mm2")
#: observation scales without a baseline (user targets): the cifar10 baseline's magnitudes
DEFAULT_SCALES: dict[str, float] = {"valid_acc": 100.0, "latency_ms": 0.8, "energy_uj": 370.0, "area_mm2": 6.5}


def codesign_design_space() -> DesignSpace:
    """The cell's six edges followed by the accelerator's nine knobs; defaults = the baseline
    (NAS-Bench-201's ResNet cell on Accelerator-v0's baseline accelerator)."""
    return DesignSpace(cell_design_space().parameters + accelerator_design_space().parameters)


def metadata(reward: str = "normalized_excess") -> EnvMetadata:
    """Design space, metrics and default objective of ``archgym/CoDesign-v0``, without evaluating."""
    from archgym.simulators.accelerator.hardware import ACCELERATOR_METRICS
    from archgym.simulators.nas.codesign import NETWORK_METRICS
    from archgym.simulators.nas.tabular import NB201Tabular

    table = {m.name: m for m in NB201Tabular(epochs=12).metrics}
    metrics = tuple(table[name] for name in NETWORK_METRICS) + tuple(ACCELERATOR_METRICS)
    targets: dict[str, float | str] = {**accuracy_targets(), **{
        m: f"{DEFAULT_IMPROVEMENT:.0%} below the baseline design" for m in DEFAULT_HARDWARE_METRICS}}
    if reward in ("log_ratio", "vector"):
        targets = default_targets_text(reward, (), DEFAULT_OBJECTIVES, DEFAULT_IMPROVEMENT)
    return EnvMetadata(codesign_design_space(), metrics, reward, targets, OBSERVED_METRICS, objectives=DEFAULT_OBJECTIVES)


class CoDesignEnv(DSEEnv):
    """Neural-architecture / accelerator co-design: one NAS-Bench-201 cell and one accelerator.

    ## Description
    After NASAIC (Yang et al., DAC 2020), each step picks a network and the hardware that runs
    it: the operations of the 6 edges of a NAS-Bench-201 cell (as ``archgym/NASBench201-v0``)
    and the 9 knobs of the spatial-array accelerator (as ``archgym/Accelerator-v0``). The
    cell's network (skeleton C = 16, N = 5 for the dataset's input size) is expanded into its
    layer table and run on the accelerator by its back-end (the analytical model by default)
    for latency, energy, area and utilisation of one inference; accuracy, parameters and
    FLOPs come from the NAS-Bench-201 tables
    (:class:`archgym.simulators.nas.codesign.CoDesignSimulator`). A conv-free cell still runs
    its stem, reduction blocks and classifier on the accelerator.

    ## Action Space
    ``MultiDiscrete([5, 5, 5, 5, 5, 5, 6, 6, 3, 7, 8, 6, 8, 7, 5])``: ``edge_1_0`` …
    ``edge_3_2`` (NAS-Bench-201 ops), then ``pe_rows``, ``pe_cols``, ``dataflow``, ``rf_bytes``,
    ``glb_kib``, ``glb_banks``, ``noc_bw``, ``dram_bw``, ``clock_mhz`` (as Accelerator-v0);
    15,625 x 10,160,640 ≈ 1.6e11 designs. ``step`` also takes a design dict.

    ## Observation Space
    ``Box(-1, 1, (4,))``: validation accuracy, latency, energy and area of the last design,
    each squashed as ``x / (|x| + s)`` (:class:`archgym.env.DSEEnv`) with ``s`` its target, else
    the cifar10 baseline's magnitude (:data:`DEFAULT_SCALES`).

    ## Rewards
    Default ``normalized_excess``, NASAIC's "maximise accuracy under hardware specs": targets
    ``valid_acc`` 100% (always active: ``−(100 − valid_acc)/100``) and ``latency_ms``,
    ``energy_uj``, ``area_mm2`` each 10% below the baseline design — NAS-Bench-201's ResNet
    cell on Accelerator-v0's baseline accelerator, evaluated once at construction (its
    metrics are kept in ``baseline_metrics``): ``reward = −(100 − valid_acc)/100 −
    Σ_hw max((x − t)/t, 0)``. On cifar10 with the analytical back-end the baseline runs in
    0.79 ms for 368 uJ on 6.48 mm2 at 90.86% validation accuracy. Any objective via
    ``reward=``, ``targets=`` (over every metric: ``valid_acc``, ``test_acc``, ``params_m``,
    ``flops_m`` and the accelerator's), ``weights=``. A design the accelerator cannot map
    gets the objective's failure reward and ``info["error"]``.

    ## Episode End
    Truncated after ``max_episode_steps`` (100 by registration).

    ## Arguments
    ``dataset``: ``cifar10`` (default) | ``cifar100`` | ``ImageNet16-120`` (the accuracy column
    and the network's input size and classifier). ``epochs``: the accuracy's schedule, 200 or
    12 (default the longest available). ``backend``: ``analytical`` (default) | ``zigzag`` |
    ``scalesim``; ``backend_kwargs`` go to its constructor. ``simulator``: any Simulator with
    the same metrics replaces the composite. ``reward``, ``targets``, ``weights``, ``cache``,
    ``reward_kwargs``, ``render_mode``: as :class:`archgym.env.DSEEnv`.

    ## Multi-objective
    Objectives (:data:`DEFAULT_OBJECTIVES`): validation accuracy (%, maximise), latency (ms),
    energy (uJ) and area (mm2), minimised; ``objectives=`` picks others. ``reward="vector"``
    returns their log-ratios to the baseline design (:class:`archgym.env.DSEEnv`).

    ## Version History
    * v1: default reward ``log_ratio``: the mean log-ratio of accuracy, latency, energy and
      area to the baseline design (0 = baseline, +0.1 ≈ 10 % better), bounded and smooth.
    * v0: initial release.
    """

    DEFAULT_OBJECTIVES = DEFAULT_OBJECTIVES

    def __init__(
        self,
        dataset: str = "cifar10",
        epochs: int | None = None,
        backend: str = "analytical",
        backend_kwargs: Mapping[str, Any] | None = None,
        reward: str | Objective = "normalized_excess",
        targets: Mapping[str, float] | None = None,
        weights: Mapping[str, float] | None = None,
        simulator: Simulator | None = None,
        cache: bool | EvaluationCache = True,
        reward_kwargs: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        objectives: Any = None,
    ) -> None:
        if simulator is None:
            from archgym.simulators.accelerator.backends import make_accelerator_simulator
            from archgym.simulators.nas.codesign import CoDesignSimulator

            accelerator = make_accelerator_simulator(backend, **dict(backend_kwargs or {}))
            simulator = CoDesignSimulator(accelerator, epochs=epochs)
        specs = resolve_objectives(simulator.metrics, DEFAULT_OBJECTIVES if objectives is None else objectives)
        self.backend = backend
        self.dataset = dataset
        space = codesign_design_space()
        simulator.workload_key(dataset)  # an unknown dataset is reported before the baseline runs
        #: metrics of the baseline design on this dataset (set when default targets are used)
        self.baseline_metrics: dict[str, float] | None = None
        scales = dict(DEFAULT_SCALES)
        if targets is None and reward in ("log_ratio", "vector"):  # their targets are the baseline itself
            targets, self.baseline_metrics = targets_below_baseline(
                simulator, space.default(), dataset, tuple(o.metric for o in specs), 0.0
            )
        elif targets is None:
            hardware, self.baseline_metrics = targets_below_baseline(
                simulator, space.default(), dataset, DEFAULT_HARDWARE_METRICS, DEFAULT_IMPROVEMENT
            )
            targets = {**accuracy_targets(), **hardware}
        super().__init__(
            simulator,
            space,
            dataset,
            reward=reward,
            targets=targets,
            weights=weights,
            observed_metrics=OBSERVED_METRICS,
            metric_scales=scales,
            cache=cache,
            reward_kwargs=reward_kwargs,
            render_mode=render_mode,
            objectives=specs,
        )
