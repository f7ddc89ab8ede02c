"""``archgym/Accelerator-v0``: DNN-accelerator design space exploration (Timeloop/MAESTRO-style)."""

from __future__ import annotations

import os
from typing import Any, Mapping

from archgym.cache import EvaluationCache
from archgym.env import DSEEnv
from archgym.registration import EnvMetadata, default_targets_text
from archgym.objectives import Objective, ObjectiveSpec, resolve_objectives, targets_below_baseline
from archgym.simulator import Simulator
from archgym.simulators.accelerator.hardware import ACCELERATOR_METRICS, BASELINE_DESIGN, PARAMETER_KINDS, PARAMETER_VALUES
from archgym.spaces import Categorical, DesignSpace, PowerOfTwo, Values

#: the metrics the default reward targets (ArchGym's Timeloop/MAESTRO envs: latency and energy)
DEFAULT_TARGET_METRICS: tuple[str, ...] = ("latency_ms", "energy_uj")
#: default targets sit this fraction below the baseline design (ArchGym's "x% below" form)
DEFAULT_IMPROVEMENT = 0.10
#: the objectives of the vector reward (and of ``log_ratio``): latency and energy of one inference
DEFAULT_OBJECTIVES: tuple[ObjectiveSpec, ...] = (
    ObjectiveSpec("latency_ms", "minimize", "ms"),
    ObjectiveSpec("energy_uj", "minimize", "uJ"),
)
#: what the agent observes after each step
OBSERVED_METRICS: tuple[str, ...] = ("latency_ms", "energy_uj", "area_mm2", "utilization")
#: observation scales when the baseline is not evaluated (user targets): ResNet-18-sized magnitudes
DEFAULT_SCALES: dict[str, float] = {"latency_ms": 20.0, "energy_uj": 5000.0, "area_mm2": 6.5, "utilization": 0.5}


def accelerator_design_space() -> DesignSpace:
    """The accelerator template's nine parameters (:mod:`archgym.simulators.accelerator.hardware`),
    defaults = the baseline design."""
    parameters = []
    for name, values in PARAMETER_VALUES.items():
        kind, default = PARAMETER_KINDS[name], BASELINE_DESIGN[name]
        if kind == "categorical":
            parameters.append(Categorical(name, values, default=default))
        elif kind == "power_of_two":
            parameters.append(PowerOfTwo(name, values[0], values[-1], default=default))
        else:
            parameters.append(Values(name, values, default=default))
    return DesignSpace(parameters)


def metadata(reward: str = "target_distance") -> EnvMetadata:
    """Design space, metrics and default objective of ``archgym/Accelerator-v0`` (every back-end
    declares :data:`~archgym.simulators.accelerator.hardware.ACCELERATOR_METRICS`), without evaluating."""
    return EnvMetadata(
        accelerator_design_space(), ACCELERATOR_METRICS, reward,
        default_targets_text(reward, DEFAULT_TARGET_METRICS, DEFAULT_OBJECTIVES, DEFAULT_IMPROVEMENT), OBSERVED_METRICS,
        objectives=DEFAULT_OBJECTIVES,
    )


class AcceleratorEnv(DSEEnv):
    """DNN-accelerator design (a spatial PE array, its buffers and bandwidths) for one network.

    ## Description
    Each step picks one accelerator design, after ArchGym's Timeloop and MAESTRO design
    spaces: PE array shape, dataflow (weight/output/input stationary), PE register-file
    size, global-buffer size and banking, NoC and DRAM bandwidth, clock. The chosen back-end
    maps every layer of the workload onto it and reports latency, energy, area and
    utilisation for one inference (batch 1). The default back-end is archgym's analytical
    loop-nest model (:mod:`archgym.simulators.accelerator.analytical`); ``backend="zigzag"``
    and ``backend="scalesim"`` use those simulators where installed.

    ## Action Space
    ``MultiDiscrete([6, 6, 3, 7, 8, 6, 8, 7, 5])`` — ``pe_rows``, ``pe_cols`` (4..128),
    ``dataflow``, ``rf_bytes`` (16..1024), ``glb_kib`` (32..4096), ``glb_banks`` (1..32),
    ``noc_bw`` (8..1024 B/cycle), ``dram_bw`` (4..256 B/cycle), ``clock_mhz`` (200..1000);
    powers of two except the clock. ``step`` also takes a design dict.

    ## Observation Space
    ``Box(-1, 1, (4,))``: latency (ms), energy (uJ), area (mm2) and utilisation of the last
    design, each squashed as ``x / (|x| + s)`` (:class:`archgym.env.DSEEnv`) with ``s`` its
    target or, without one, the baseline design's value (so the baseline reads 0.5).

    ## Rewards
    Default ArchGym's target form: ``target_distance`` over ``latency_ms`` and ``energy_uj``
    with targets 10% below what the baseline design achieves on the chosen workload with the
    chosen back-end (one extra evaluation at construction; its metrics are kept in
    ``baseline_metrics``). Baseline: 16x16 PEs, weight stationary, 256-B RFs, 512 KiB GLB in
    8 banks, NoC 64 B/cycle, DRAM 16 B/cycle, 400 MHz
    (:data:`~archgym.simulators.accelerator.hardware.BASELINE_DESIGN`). Any objective of
    :mod:`archgym.objectives` via ``reward=``, ``targets=``, ``weights=``; every metric of
    :data:`~archgym.simulators.accelerator.hardware.ACCELERATOR_METRICS` can be targeted. A
    design that cannot be mapped (e.g. an RF too small for the dataflow's stationary data)
    gets the objective's failure reward and ``info["error"]``.

    ## Episode End
    Truncated after ``max_episode_steps`` (100 by registration).

    ## Arguments
    ``backend``: ``analytical`` (default) | ``zigzag`` | ``scalesim``. ``workload``: ``alexnet``
    | ``vgg16`` | ``resnet18`` (default) | ``resnet50`` | ``mobilenetv2`` | ``bert-base``, or the
    path of a workload table (format in :mod:`archgym.simulators.accelerator.layers`).
    ``backend_kwargs``: passed to the back-end's constructor. ``simulator``: any Simulator
    with the same metrics (e.g. a trained proxy) replaces the back-end. ``reward``,
    ``targets``, ``weights``, ``cache``, ``reward_kwargs``, ``render_mode``: as :class:`archgym.env.DSEEnv`; the
    cache is keyed by the back-end's fingerprint (name, version, options).

    ## Multi-objective
    Objectives (:data:`DEFAULT_OBJECTIVES`): latency (ms) and energy (uJ), both minimised;
    ``objectives=`` picks others (e.g. add ``("area_mm2", "minimize")``). ``reward="vector"``
    returns their log-ratios to the baseline design (:class:`archgym.env.DSEEnv`).

    ## Version History
    * v1: default reward ``log_ratio``: the mean log-ratio of latency and energy to the
      baseline design (0 = baseline, +0.1 ≈ 10 % better), bounded and smooth. Same
      back-ends, design space and observation.
    * v0: initial release (before the first archgym release the analytical model moved to
      version 1.1 — per-tap input re-reads, one register reuse per PE, dataflow-dependent DRAM
      traffic; cached and logged results carry the simulator version, so they never mix).
    """

    DEFAULT_OBJECTIVES = DEFAULT_OBJECTIVES

    def __init__(
        self,
        backend: str = "analytical",
        workload: str | os.PathLike[str] = "resnet18",
        reward: str | Objective = "target_distance",
        targets: Mapping[str, float] | None = None,
        weights: Mapping[str, float] | None = None,
        backend_kwargs: Mapping[str, Any] | None = None,
        simulator: Simulator | None = None,
        cache: bool | EvaluationCache = True,
        reward_kwargs: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        objectives: Any = None,
    ) -> None:
        if simulator is None:
            from archgym.simulators.accelerator.backends import make_accelerator_simulator

            simulator = make_accelerator_simulator(backend, **dict(backend_kwargs or {}))
        specs = resolve_objectives(simulator.metrics, DEFAULT_OBJECTIVES if objectives is None else objectives)
        self.backend = backend
        workload = os.fspath(workload)
        space = accelerator_design_space()
        #: metrics of the baseline design on this workload (set when default targets are used)
        self.baseline_metrics: dict[str, float] | None = None
        scales = dict(DEFAULT_SCALES)
        if targets is None:
            relative = reward in ("log_ratio", "vector")  # their targets are the baseline itself
            targets, self.baseline_metrics = targets_below_baseline(
                simulator, space.default(), workload, tuple(o.metric for o in specs),
                0.0 if relative else DEFAULT_IMPROVEMENT,
            )
            scales.update({m: self.baseline_metrics[m] for m in OBSERVED_METRICS if self.baseline_metrics[m] > 0})
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
        )
