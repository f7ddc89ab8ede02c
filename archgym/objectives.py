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
``log_ratio``          The weighted log-ratio to a reference design (by default the env's
                       baseline design): ``Σ_m w_m · φ(s_m · ln(x_m / b_m)) / Σ_m w_m`` with
                       ``s_m = −1`` for minimised, ``+1`` for maximised metrics and the soft clip
                       ``φ(r) = L·tanh(r/L)``, ``L =`` :data:`LOG_RATIO_BOUND`. 0 = as good as the
                       reference, +0.1 ≈ 10 % better on the weighted average, −0.1 ≈ 10 % worse;
                       smooth everywhere (no target singularity), bounded by ``±L``. The
                       ``targets`` of this objective *are* the reference values ``b_m``.
=====================  ======================================================================

Objectives are vectors first: an env declares its objectives as :class:`ObjectiveSpec`
(metric, sense, unit); :func:`log_ratio_vector` is the multi-objective reward (one component
per objective, higher is better, MO-Gymnasium's convention) and ``log_ratio`` is its weighted
mean, so MO-Gymnasium's ``LinearReward`` with weights ``w/Σw`` on the vector reward gives back
exactly the scalar.

A design the simulator cannot evaluate gets :attr:`Objective.failure_reward` (documented per
class and overridable) and the error message in ``info["error"]``.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

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

    def reward_batch(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """The reward of many metric vectors at once: ``values[m]`` is an array (any shape, the
        same for every target metric); returns an array of that shape. Used by model-based agents
        that push posterior samples of the metrics through the reward (composite-objective BO).
        Subclasses vectorise it; this default calls :meth:`reward` element by element.
        """
        arrays = {m: np.asarray(values[m], dtype=np.float64) for m in self.targets}
        shape = next(iter(arrays.values())).shape
        flat = {m: a.reshape(-1) for m, a in arrays.items()}
        out = [self.reward({m: float(flat[m][i]) for m in flat}) for i in range(int(np.prod(shape)))]
        return np.asarray(out, dtype=np.float64).reshape(shape)

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

    def reward_batch(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        product = 1.0
        for metric, target in self.targets.items():
            x = np.asarray(values[metric], dtype=np.float64)
            product = product * (target / np.maximum(np.abs(x - target), self.tolerance * target))
        return np.asarray(product, dtype=np.float64)

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

    def reward_batch(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        total = 0.0
        for metric, target in self.targets.items():
            x = np.asarray(values[metric], dtype=np.float64)
            excess = (x - target) / target if self.metrics[metric].goal == "minimize" else (target - x) / target
            total = total + np.maximum(excess, 0.0)
        return -np.asarray(total, dtype=np.float64)

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

    def reward_batch(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        total = 0.0
        for metric, scale in self.targets.items():
            sign = -1.0 if self.metrics[metric].goal == "minimize" else 1.0
            total = total + self.weights[metric] * sign * np.asarray(values[metric], dtype=np.float64) / scale
        return np.asarray(total, dtype=np.float64)


#: ``L``: the log-ratio reward saturates smoothly at ``±L`` (``e^5`` ≈ 148x better or worse);
#: within a factor of 2 of the reference it differs from the plain log-ratio by under 0.7 %
LOG_RATIO_BOUND = 5.0
_SENSE_ALIASES = {"minimize": "minimize", "minimise": "minimize", "min": "minimize",
                  "maximize": "maximize", "maximise": "maximize", "max": "maximize"}


@dataclass(frozen=True)
class ObjectiveSpec:
    """One objective of a multi-objective env: a metric, whether lower or higher is better, its unit."""

    metric: str
    sense: str = "minimize"
    unit: str = ""

    def __post_init__(self) -> None:
        if self.sense not in ("minimize", "maximize"):
            raise UserError(f"objective {self.metric!r}: sense must be 'minimize' or 'maximize', got {self.sense!r}")

    @property
    def sign(self) -> float:
        """``+1`` for an objective to maximise, ``−1`` for one to minimise (higher ``sign·x`` is better)."""
        return 1.0 if self.sense == "maximize" else -1.0


def resolve_objectives(
    metrics: Mapping[str, Metric] | Sequence[Metric],
    objectives: Sequence[str | ObjectiveSpec | tuple[str, str]] | Mapping[str, str],
) -> tuple[ObjectiveSpec, ...]:
    """Check ``objectives`` against a simulator's declared metrics and fill in sense and unit.

    ``objectives`` is a list of metric names (sense = the metric's declared goal), of
    ``(metric, sense)`` pairs, of :class:`ObjectiveSpec`, or a ``{metric: sense}`` mapping;
    ``sense`` is ``minimize``/``maximize`` (``min``/``max`` accepted). Raises ``ValueError``
    before anything is simulated for an unknown metric, an unknown sense, a sense that
    contradicts the metric's declared goal (minimising an accuracy: no design is "best" at that
    in a meaningful way, and a typo is far likelier), a duplicate or an empty list.
    """
    declared = dict(metrics) if isinstance(metrics, Mapping) else {m.name: m for m in metrics}
    items: list[tuple[str, str | None]] = []
    if isinstance(objectives, str):
        objectives = [objectives]
    if isinstance(objectives, Mapping):
        items = [(str(k), v) for k, v in objectives.items()]
    else:
        for item in objectives:
            if isinstance(item, ObjectiveSpec):
                items.append((item.metric, item.sense))
            elif isinstance(item, str):
                items.append((item, None))
            elif isinstance(item, (tuple, list)) and len(item) == 2:
                items.append((str(item[0]), item[1]))
            else:
                raise UserError(f"an objective is a metric name, a (metric, sense) pair or an ObjectiveSpec, got {item!r}")
    if not items:
        raise UserError(f"at least one objective is needed; known metrics: {', '.join(declared)}")
    specs: list[ObjectiveSpec] = []
    for name, sense in items:
        if name not in declared:
            raise UserError(f"unknown objective metric {name!r}; expected one of {', '.join(declared)}")
        goal = declared[name].goal
        if sense is None:
            sense = goal
        resolved = _SENSE_ALIASES.get(str(sense).lower()) if isinstance(sense, str) else None
        if resolved is None:
            raise UserError(f"objective {name!r}: unknown sense {sense!r}; expected 'minimize' or 'maximize'")
        if resolved != goal:
            raise UserError(f"objective {name!r}: cannot {resolved} it, the simulator declares that "
                             f"{'lower' if goal == 'minimize' else 'higher'} is better ({goal})")
        if name in (s.metric for s in specs):
            raise UserError(f"objective {name!r} is listed twice")
        specs.append(ObjectiveSpec(name, resolved, declared[name].unit))
    return tuple(specs)


def log_ratio_vector(
    values: Mapping[str, float],
    objectives: Sequence[ObjectiveSpec],
    reference: Mapping[str, float],
    bound: float = LOG_RATIO_BOUND,
) -> np.ndarray:
    """The vector reward: ``φ(s_m · ln(x_m / b_m))`` per objective (see the module table), float32.

    Higher is better in every component; 0 = the reference. A non-positive value counts as
    infinitely good for a metric to minimise and infinitely bad for one to maximise, which
    ``φ`` maps to ``±bound``.
    """
    out = []  # Python floats (IEEE doubles, as numpy's): one array built at the end, not three numpy calls
    for spec in objectives:
        x, b = float(values[spec.metric]), float(reference[spec.metric])
        ratio = math.log(x / b) if x > 0 else -math.inf
        r = spec.sign * ratio
        # + 0.0: no "-0." for a minimised metric equal to its reference
        out.append((bound * math.tanh(r / bound) if math.isfinite(r) else math.copysign(bound, r)) + 0.0)
    return np.array(out, dtype=np.float32)


class LogRatio(Objective):
    """Weighted log-ratio to a reference design: ``Σ w_m φ(s_m ln(x_m/b_m)) / Σ w_m`` (module table).

    ``targets`` are the reference values ``b_m`` (positive). Failure reward: ``−L``, the worst
    value the reward can take (every objective infinitely worse than the reference).
    """

    name = "log_ratio"

    def __init__(self, *args, bound: float = LOG_RATIO_BOUND, **kwargs) -> None:
        if not (isinstance(bound, (int, float)) and math.isfinite(bound) and bound > 0):
            raise UserError(f"bound must be a positive finite number, got {bound!r}")
        self.bound = float(bound)
        self.default_failure_reward = -self.bound
        super().__init__(*args, **kwargs)
        total = sum(self.weights.values())
        if total <= 0:
            raise UserError(f"log_ratio needs a positive weight on some metric, got {self.weights}")
        self.specs = tuple(ObjectiveSpec(m, self.metrics[m].goal, self.metrics[m].unit) for m in self.targets)
        self._w = np.array([self.weights[s.metric] / total for s in self.specs])

    def reward(self, values: Metrics) -> float:
        return float(np.dot(self._w, log_ratio_vector(values, self.specs, self.targets, self.bound).astype(np.float64)))

    def reward_batch(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        total = 0.0
        for w, spec in zip(self._w, self.specs):
            x = np.asarray(values[spec.metric], dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                r = spec.sign * np.where(x > 0, np.log(np.where(x > 0, x, 1.0) / self.targets[spec.metric]), -np.inf)
            total = total + w * self.bound * np.tanh(r / self.bound)  # tanh(±inf) = ±1
        return np.asarray(total, dtype=np.float64) + 0.0

    def reward_range(self) -> tuple[float, float]:
        return (-self.bound, self.bound)


OBJECTIVES: dict[str, Callable[..., Objective]] = {
    cls.name: cls for cls in (TargetDistance, NormalizedExcess, WeightedSum, LogRatio)
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
