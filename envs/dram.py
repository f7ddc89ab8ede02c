"""``archgym/DRAM-v0``: memory-controller design space exploration on the DRAM simulator."""

from __future__ import annotations

from typing import Any, Mapping

from archgym.cache import EvaluationCache
from archgym.env import DSEEnv
from archgym.registration import EnvMetadata, default_targets_text
from archgym.objectives import Objective, ObjectiveSpec, resolve_objectives, targets_below_baseline
from archgym.simulator import Simulator
from archgym.spaces import Categorical, DesignSpace, Values
from archgym.simulators.dram.config import ControllerConfig, KNOB_VALUES

#: The metrics the default reward targets: ArchGym's latency-and-power form. The latency is the
#: requester-visible one (back-pressure included): with memory-side latency alone, throttling
#: admission to one outstanding request "wins" while the trace takes 9x longer.
DEFAULT_TARGET_METRICS: tuple[str, ...] = ("avg_read_total_latency_ns", "avg_power_mw")
#: Default targets sit this fraction below the baseline design (ArchGym's "x% below the
#: baseline" form). ArchGym's own fixed figures (0.1 ns, 1 mW) are physically out of reach,
#: which reduces its reward to "minimise both"; relative targets stay meaningful on any
#: workload and device.
DEFAULT_IMPROVEMENT = 0.10
#: the objectives of the vector reward (and of ``log_ratio``): requester-visible latency and power
DEFAULT_OBJECTIVES: tuple[ObjectiveSpec, ...] = (
    ObjectiveSpec("avg_read_total_latency_ns", "minimize", "ns"),
    ObjectiveSpec("avg_power_mw", "minimize", "mW"),
)
#: scales for observed metrics that have no target (a typical magnitude of each)
DEFAULT_SCALES: dict[str, float] = {
    "energy_nj": 1e5,
    "avg_power_mw": 1000.0,
    "avg_read_latency_ns": 50.0,
    "avg_read_total_latency_ns": 1e4,
    "bandwidth_gbps": 10.0,
}


#: what the agent observes after each step
OBSERVED_METRICS: tuple[str, ...] = (
    "energy_nj", "avg_power_mw", "avg_read_latency_ns", "avg_read_total_latency_ns", "bandwidth_gbps",
)


def controller_design_space() -> DesignSpace:
    """The 10 DRAMSys controller knobs as a design space (defaults = DRAMSys' FR-FCFS example)."""
    defaults = ControllerConfig().to_design()
    parameters = []
    for knob, values in KNOB_VALUES.items():
        if isinstance(values[0], str):
            parameters.append(Categorical(knob, values, default=defaults[knob]))
        else:
            parameters.append(Values(knob, values, default=defaults[knob]))
    return DesignSpace(parameters)


def metadata(reward: str = "target_distance") -> EnvMetadata:
    """Design space, metrics and default objective of ``archgym/DRAM-v0`` (``-v1``: ``reward="log_ratio"``),
    without simulating."""
    from archgym.simulators.dram.simulator import DRAMSimulator

    return EnvMetadata(
        controller_design_space(), tuple(DRAMSimulator.metrics), reward,
        default_targets_text(reward, DEFAULT_TARGET_METRICS, DEFAULT_OBJECTIVES, DEFAULT_IMPROVEMENT), OBSERVED_METRICS,
        objectives=DEFAULT_OBJECTIVES,
    )


class DRAMEnv(DSEEnv):
    """Memory-controller design for a DDR device running a memory trace.

    ## Description
    Each step picks one value for each of ArchGym's ten DRAMSys controller knobs (page
    policy, scheduler, buffers, response queue, refresh, arbiter; see
    :mod:`archgym.simulators.dram.config` for their semantics). archgym's cycle-level
    simulator replays the workload trace through that controller and reports latency,
    bandwidth, row-buffer hit rate and IDD-model energy/power.

    ## Action Space
    ``MultiDiscrete([4, 3, 3, 8, 2, 3, 4, 4, 3, 8])`` — the knobs in the order of
    :data:`~archgym.simulators.dram.config.KNOB_VALUES`; ``step`` also takes a design dict.

    ## Observation Space
    ``Box(-1, 1, (5,))``: energy (nJ), average power (mW), memory-side and requester-visible
    average read latency (ns) and bandwidth (GB/s) of the last design, squashed as in
    :class:`archgym.env.DSEEnv`.

    ## Rewards
    Default ArchGym's latency-and-power target form: ``target_distance`` over the
    requester-visible read latency and the average power, with targets 10% below what the
    baseline design (DRAMSys' FR-FCFS example configuration,
    :class:`~archgym.simulators.dram.config.ControllerConfig` defaults) achieves on the chosen
    workload and device (one extra simulation at construction; its metrics are kept in
    ``baseline_metrics``). The baseline is already near the latency optimum, so the
    default task is a latency/power trade-off. Any objective of :mod:`archgym.objectives` via ``reward=``,
    ``targets=``, ``weights=``.

    ## Episode End
    Truncated after ``max_episode_steps`` (100 by registration).

    ## Arguments
    ``workload``: ``stream`` | ``random`` | ``cloud-1`` | ``cloud-2`` (ArchGym's traces), a trace
    file path (DRAMSys ``.stl`` or DRAMsim3 format) or a generator spec ``gen:KIND?k=v&...``.
    ``device``: a preset name (default ArchGym's ``MICRON_1Gb_DDR3-1600_8bit_G``) or a DRAMSys
    memspec path. ``address_mapping``: field string such as ``rochrababgco``.
    ``max_requests``: replay only the first N requests. ``simulator``: any Simulator with
    the same metrics (e.g. a trained proxy) replaces the built-in one.
    ``reward``, ``targets``, ``weights``, ``cache``, ``render_mode``: as :class:`archgym.env.DSEEnv`.

    ## Multi-objective
    Objectives (:data:`DEFAULT_OBJECTIVES`): requester-visible read latency (ns, minimise) and
    average power (mW, minimise); ``objectives=`` picks others. ``reward="vector"`` returns
    their log-ratios to the baseline design (:class:`archgym.env.DSEEnv`).

    ## Version History
    * v1: default workload ``cloud-1`` (``stream`` is degenerate: the FR-FCFS baseline already
      serves it at the latency optimum, see the README; of the other traces cloud-1 leaves
      the most room: best of 300 random designs 3.9 % better than the baseline, ``random``
      1.0 %; ``benchmarks/degenerate_tasks.py``) and default reward ``log_ratio``:
      the mean log-ratio of latency and power to the baseline design (0 = baseline, +0.1 ≈
      10 % better), bounded and smooth. Same simulator, design space and observation.
    * v0: initial release.
    """

    DEFAULT_OBJECTIVES = DEFAULT_OBJECTIVES

    def __init__(
        self,
        workload: str = "stream",
        device: str = "MICRON_1Gb_DDR3-1600_8bit_G",
        address_mapping: str | None = None,
        max_requests: int | None = None,
        reward: str | Objective = "target_distance",
        targets: Mapping[str, float] | None = None,
        weights: Mapping[str, float] | None = None,
        simulator: Simulator | None = None,
        cache: bool | EvaluationCache = True,
        reward_kwargs: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        objectives: Any = None,
    ) -> None:
        if simulator is None:
            from archgym.simulators.dram import DRAMSimulator

            simulator = DRAMSimulator(device=device, address_mapping=address_mapping, max_requests=max_requests)
        specs = resolve_objectives(simulator.metrics, DEFAULT_OBJECTIVES if objectives is None else objectives)
        space = controller_design_space()
        #: metrics of the baseline design on this workload (set when default targets are used)
        self.baseline_metrics: dict[str, float] | None = None
        if targets is None:
            relative = reward in ("log_ratio", "vector")  # their targets are the baseline itself
            targets, self.baseline_metrics = targets_below_baseline(
                simulator, space.default(), workload,
                tuple(o.metric for o in specs),
                0.0 if relative else DEFAULT_IMPROVEMENT,
            )
        super().__init__(
            simulator,
            space,
            workload,
            reward=reward,
            targets=targets,
            weights=weights,
            observed_metrics=OBSERVED_METRICS,
            metric_scales=DEFAULT_SCALES,
            cache=cache,
            reward_kwargs=reward_kwargs,
            render_mode=render_mode,
            objectives=specs,
        )
