"""Objectives: how a simulator's metrics become a scalar reward (higher is always better).

Select one with ``gym.make(env_id, reward=NAME, targets={...}, weights={...})``.

=====================  ======================================================================
name                   reward
=====================  ======================================================================
``target_distance``    ArchGym's form: ``Π_m t_m / max(|x_m − t_m|, tol·t_m)`` over the chosen
                       metrics ``m`` with value ``x_m`` and target ``t_m``. Grows without bound as
                       every metric approaches its target, so ``tol`` (default 1e-3) caps each
                       factor at ``1/tol``. Note it rewards *closeness*, also from the good side.
``normalized_excess``  ``−Σ_m max(e_m, 0)`` with ``e_m = (x_m − t_m)/t_m`` for a metric to
                       minimise and ``(t_m − x_m)/t_m`` for one to maximise: 0 once every target
                       is met, negative by the relative shortfall otherwise.
``weighted_sum``       ``Σ_m w_m · s_m · x_m / t_m`` with ``s_m = −1`` for minimised and ``+1`` for
                       maximised metrics; targets act as normalisers (scales), weights default 1.
=====================  ======================================================================

A design the simulator cannot evaluate gets :attr:`Objective.failure_reward` (documented per
class and overridable) and the error message in ``info["error"]``.
"""

from __future__ import annotations

import abc
import math
from typing import Any, Callable, Mapping

from archgym.errors import UserError
from archgym.simulator import Metric, SimulationError, Simulator

Metrics = Mapping[str, float]


class Objective(abc.ABC):
    """Base class: turns metrics into a reward against per-metric targets."""

    name: str = "objective"
    #: reward given to a design that failed to simulate
    default_failure_reward: float = 0.0

    def __init__(
        self,
        metrics: Mapping[str, Metric],
        targets: Mapping[str, float],
        weights: Mapping[str, float] | None = None,
        failure_reward: float | None = None,
    ) -> None:
        """
        Args:
            metrics: the declared metrics of the simulator, by name (for their goal).
            targets: metric name -> positive target (or scale, for ``weighted_sum``).
            weights: metric name -> weight (``weighted_sum`` only; default 1 each).
            failure_reward: reward for a failed design; defaults to the class' documented value.
        """
        if not targets:
            raise UserError(f"objective {self.name!r} needs at least one target; known metrics: {', '.join(metrics)}")
        for metric, target in targets.items():
            if metric not in metrics:
                raise UserError(f"unknown metric {metric!r} in targets; expected one of {', '.join(metrics)}")
            if not isinstance(target, (int, float)) or isinstance(target, bool) or not math.isfinite(target) or target <= 0:
                raise UserError(f"target for {metric!r} must be a positive finite number, got {target!r}")
        weights = dict(weights or {})
        for metric, weight in weights.items():
            if metric not in targets:
                raise UserError(f"weight given for {metric!r}, which has no target; targets: {', '.join(targets)}")
            if not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
                raise UserError(f"weight for {metric!r} must be a non-negative finite number, got {weight!r}")
        self.metrics = {name: metrics[name] for name in targets}
        self.targets = {name: float(value) for name, value in targets.items()}
        self.weights = {name: float(weights.get(name, 1.0)) for name in targets}
        self.failure_reward = self.default_failure_reward if failure_reward is None else float(failure_reward)

    def __call__(self, values: Metrics) -> float:
        missing = [m for m in self.targets if m not in values]
        if missing:
            raise KeyError(f"objective {self.name!r}: metrics missing from the simulator's result: {', '.join(missing)}")
        return float(self.reward(values))

    @abc.abstractmethod
    def reward(self, values: Metrics) -> float:
        """The reward of ``values`` (all target metrics present)."""

    def reward_range(self) -> tuple[float, float]:
        """Bounds of the reward (may be infinite)."""
        return (-math.inf, math.inf)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(targets={self.targets})"


class TargetDistance(Objective):
    """ArchGym's target-distance reward: ``Π_m t_m / max(|x_m − t_m|, tol·t_m)``.

    Failure reward: 0 (the infimum of this reward).
    """

    name = "target_distance"
    default_failure_reward = 0.0

    def __init__(self, *args, tolerance: float = 1e-3, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not 0 < tolerance < 1:
            raise UserError(f"tolerance must be in (0, 1), got {tolerance!r}")
        self.tolerance = tolerance

    def reward(self, values: Metrics) -> float:
        product = 1.0
        for metric, target in self.targets.items():
            product *= target / max(abs(values[metric] - target), self.tolerance * target)
        return product

    def reward_range(self) -> tuple[float, float]:
        return (0.0, (1.0 / self.tolerance) ** len(self.targets))


class NormalizedExcess(Objective):
    """Negated normalised excess over the targets: ``−Σ_m max(e_m, 0)``; 0 = all targets met.

    Failure reward: −1000 (far below any design that simulates).
    """

    name = "normalized_excess"
    default_failure_reward = -1000.0

    def reward(self, values: Metrics) -> float:
        total = 0.0
        for metric, target in self.targets.items():
            value = values[metric]
            excess = (value - target) / target if self.metrics[metric].goal == "minimize" else (target - value) / target
            total += max(excess, 0.0)
        return -total

    def reward_range(self) -> tuple[float, float]:
        return (-math.inf, 0.0)


class WeightedSum(Objective):
    """Weighted normalised sum: ``Σ_m w_m · s_m · x_m / t_m`` (``s_m`` = −1 minimise, +1 maximise).

    Failure reward: −1000.
    """

    name = "weighted_sum"
    default_failure_reward = -1000.0

    def reward(self, values: Metrics) -> float:
        total = 0.0
        for metric, scale in self.targets.items():
            sign = -1.0 if self.metrics[metric].goal == "minimize" else 1.0
            total += self.weights[metric] * sign * values[metric] / scale
        return total


OBJECTIVES: dict[str, Callable[..., Objective]] = {
    cls.name: cls for cls in (TargetDistance, NormalizedExcess, WeightedSum)
}


def make_objective(
    name: str,
    metrics: Mapping[str, Metric] | tuple[Metric, ...],
    targets: Mapping[str, float],
    weights: Mapping[str, float] | None = None,
    **kwargs,
) -> Objective:
    """Build the objective called ``name`` (see the module table); unknown names list the valid ones."""
    if not isinstance(metrics, Mapping):
        metrics = {m.name: m for m in metrics}
    try:
        cls = OBJECTIVES[name]
    except KeyError:
        raise UserError(f"unknown reward {name!r}; expected one of {', '.join(OBJECTIVES)}") from None
    return cls(metrics, targets, weights, **kwargs)


def targets_below_baseline(
    simulator: Simulator,
    baseline_design: Mapping[str, Any],
    workload: str,
    metrics: tuple[str, ...],
    improvement: float,
) -> tuple[dict[str, float], dict[str, float]]:
    """ArchGym's "x% below the baseline" targets: ``(1 − improvement) × baseline`` per metric.

    Evaluates ``baseline_design`` once on ``workload``; returns ``(targets, baseline_metrics)``.
    A baseline that cannot run the workload is a ``ValueError`` asking for explicit targets.
    """
    if not 0 <= improvement < 1:
        raise UserError(f"improvement must be in [0, 1), got {improvement!r}")
    try:
        baseline = simulator.evaluate(baseline_design, workload)
    except SimulationError as exc:
        raise UserError(
            f"the baseline design cannot run workload {workload!r} ({exc}); pass explicit targets= for this workload"
        ) from exc
    return {m: (1 - improvement) * baseline[m] for m in metrics}, baseline
