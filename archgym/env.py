"""The generic design-space-exploration environment: DesignSpace + Simulator + Objective + workload.

Every archgym environment is a :class:`DSEEnv` (concrete envs in :mod:`archgym.envs` only
choose the simulator, design space, default objective and workloads).
"""

from __future__ import annotations

import time
from collections import abc
from dataclasses import dataclass
from typing import Any, ClassVar, Hashable, Mapping, Sequence

import gymnasium as gym
import numpy as np

from archgym.cache import CachedResult, EvaluationCache
from archgym.errors import UserError
from archgym.objectives import (
    LOG_RATIO_BOUND,
    LogRatio,
    Objective,
    ObjectiveSpec,
    log_ratio_vector,
    make_objective,
    resolve_objectives,
)
from archgym.simulator import SimulationError, Simulator
from archgym.spaces import Design, DesignSpace


@dataclass(frozen=True)
class EvaluationStats:
    """How the last step was served: from the cache or simulated, and the simulation wall time."""

    cached: bool = False
    eval_time_s: float = 0.0


#: what every cache hit reports (immutable, so one instance serves them all)
_CACHED = EvaluationStats(cached=True, eval_time_s=0.0)
#: raw actions remembered by the step memo before it starts afresh (a Box space sees few repeats)
_MEMO_SIZE = 65_536


def _raw_action_key(action: Any) -> Hashable | None:
    """A hashable identity of an action exactly as given, or ``None`` when it has none cheaply.

    Numeric arrays by dtype, shape and bytes; mappings by their (name, value) items, in order,
    plus the values' types (which keep ``True``, ``1`` and ``1.0`` apart, as validation does).
    Equal keys mean equal inputs to :meth:`DSEEnv.to_design`, so its result can be reused.
    """
    kind = type(action)
    if kind is np.ndarray:
        if action.dtype.kind in "biuf":
            return action.dtype.char, action.shape, action.tobytes()
        return None
    if kind is dict or isinstance(action, abc.Mapping):
        key = (tuple(action.items()), tuple(map(type, action.values())))
        try:
            hash(key)
        except TypeError:  # an unhashable value: the slow path validates it
            return None
        return key
    return None


class _Memo:
    """What one raw action led to last time: its validated design and evaluation-cache key, and
    the reward, vector reward and observation computed from one cached result."""

    __slots__ = ("design", "fingerprint", "key", "result", "objective", "reference", "reward", "vector",
                 "observation")

    def __init__(self, design: Design, fingerprint: str, key: Hashable) -> None:
        self.design = design
        self.fingerprint = fingerprint
        self.key = key
        self.result: CachedResult | None = None  # the cache entry the outputs below were computed from
        self.objective: Any = None
        self.reference: Any = None
        self.reward = 0.0
        self.vector: np.ndarray | None = None
        self.observation: np.ndarray | None = None


class DSEEnv(gym.Env):
    """A one-design-per-step environment over a cost simulator.

    ## Description
    Each step proposes one complete design (a point of the design space); the simulator
    evaluates it on the workload and the objective turns the metrics into a reward. The
    episode carries no other state: what an agent learns is which designs score well.

    ## Action Space
    The design space's gymnasium space: ``MultiDiscrete`` of choice indices when every
    parameter is discrete (else a ``Box``). ``step`` also accepts a design ``dict`` directly
    (what :mod:`archgym.agents` use). An action outside the space raises ``ValueError``.

    ## Observation Space
    ``Box(-1, 1, (k,), float32)``: the last design's observed metrics ``x``, each squashed as
    ``x / (|x| + s)`` with scale ``s`` (the metric's target where one is set, else its
    declared scale), which keeps order, is finite and reads 0.5 when ``x = s``. Before the
    first step (after ``reset``) it is all zeros; after a failed design it is the worst value
    of each metric (1 for a metric to minimise, 0 for one to maximise).

    ## Rewards
    From the objective (``reward=`` one of :data:`archgym.objectives.OBJECTIVES`, with
    ``targets=`` and optionally ``weights=``). A design the simulator cannot evaluate gets
    the objective's ``failure_reward`` and ``info["error"]``.

    Multi-objective (MO-Gymnasium's conventions): the env declares its objectives
    (:attr:`objectives`, a tuple of :class:`~archgym.objectives.ObjectiveSpec`; ``objectives=``
    chooses others) and has ``reward_space = Box(−L, L, (k,), float32)`` and ``reward_dim = k``.
    The vector reward is :func:`~archgym.objectives.log_ratio_vector`: per objective, the
    sense-signed log-ratio to the reference design (the baseline design, :attr:`reference`),
    soft-clipped to ``±L`` (higher is better, 0 = the baseline). ``reward="vector"`` makes
    ``step`` return it as the reward (a failed design gets ``−L`` in every component); in the
    scalar modes it is in ``info["vector_reward"]`` (as MO-Gymnasium's ``LinearReward``
    does) whenever the env has evaluated its baseline design (the DRAM, accelerator,
    co-design and NAS-Bench-201 envs do at construction; ``reward="vector"``/``"log_ratio"``
    always), else ``None``, as when the baseline design itself cannot be simulated. Gymnasium's
    passive env checker warns once that a vector reward is not a float; MO-Gymnasium's own
    ``make`` skips that checker, and ``gym.make(..., disable_env_checker=True)`` does the same. With
    ``reward="log_ratio"`` the scalar is the weighted mean of that vector.

    ## Episode End
    Never terminates on its own; the episode length is the registration's
    ``max_episode_steps`` (truncation by gymnasium's ``TimeLimit``).

    ## Info
    ``design``, ``metrics`` (all simulator metrics; empty on failure), ``workload``,
    ``feasible``, ``error`` (message or ``None``). Info is deterministic; how the last step
    was served (cache hit, simulation wall time) is in :attr:`last_evaluation`.

    ## Rendering
    ``render_mode=None`` (default) or ``"ansi"``: :meth:`render` then returns a text table of
    the last step's design, metrics, reward and error (or a line saying no step was taken).
    """

    # render_fps: gymnasium's checker asks for a rate; one text frame per step has no natural one
    metadata = {"render_modes": ["ansi"], "render_fps": 1}
    #: the env's default objectives (read without constructing the env; subclasses override)
    DEFAULT_OBJECTIVES: ClassVar[tuple[ObjectiveSpec, ...]] = ()

    def __init__(
        self,
        simulator: Simulator,
        design_space: DesignSpace,
        workload: str,
        *,
        reward: str | Objective = "target_distance",
        targets: Mapping[str, float] | None = None,
        weights: Mapping[str, float] | None = None,
        observed_metrics: Sequence[str] | None = None,
        metric_scales: Mapping[str, float] | None = None,
        cache: bool | EvaluationCache = True,
        reward_kwargs: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        objectives: Sequence[Any] | Mapping[str, str] | None = None,
        baseline_metrics: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__()
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise UserError(f"render_mode={render_mode!r}: expected None or one of "
                            f"{', '.join(map(repr, self.metadata['render_modes']))}")
        self.render_mode = render_mode
        self._last_step: dict[str, Any] | None = None  # what render() shows
        simulator.check_design_space(design_space)
        self.simulator = simulator
        self.design_space = design_space
        self.workload = workload
        if cache is True:
            self.cache: EvaluationCache | None = EvaluationCache()
        elif cache is False or cache is None:
            self.cache = None
        else:
            self.cache = cache
        #: the workload's identity for the cache; computing it up front rejects a bad workload early
        self.workload_key = simulator.workload_key(workload)
        self.last_evaluation = EvaluationStats()
        #: results of :meth:`prefetch`, consumed by the next ``step`` of the same design
        self._staged: dict[Any, tuple[dict[str, float], str | None, float]] = {}
        declared = {m.name: m for m in simulator.metrics}
        if objectives is None:
            objectives = self.DEFAULT_OBJECTIVES or (
                tuple(reward.targets) if isinstance(reward, Objective) else tuple(targets or ())
            )
            for name in objectives:  # derived from the targets: name the bad target as such
                if isinstance(name, str) and name not in declared:
                    raise ValueError(f"unknown metric {name!r} in targets; expected one of {', '.join(declared)}")
        #: the objectives of the vector reward, in order (metric, sense, unit)
        self.objectives: tuple[ObjectiveSpec, ...] = resolve_objectives(declared, objectives)
        #: ``"vector"`` (``step`` returns the vector reward) or ``"scalar"``
        self.reward_mode = "vector" if reward == "vector" else "scalar"
        if baseline_metrics is not None:
            self.baseline_metrics = dict(baseline_metrics)
        elif not isinstance(getattr(self, "baseline_metrics", None), Mapping):
            self.baseline_metrics = None  # evaluated on first use (see reference)
        self._reference: dict[str, float] | None = None
        if reward in ("vector", "log_ratio"):
            # the reference is needed now: the baseline design, with the user's targets overriding it
            given = dict(targets or {})
            base = {} if all(o.metric in given for o in self.objectives) else self._baseline_or_raise()
            self._reference = {o.metric: float(given.get(o.metric, base.get(o.metric, 0.0))) for o in self.objectives}
            if reward == "log_ratio":
                self.objective = LogRatio(declared, self._reference, weights, **dict(reward_kwargs or {}))
            else:
                self.objective = LogRatio(declared, self._reference)
        elif isinstance(reward, Objective):
            self.objective = reward
        else:
            self.objective = make_objective(reward, declared, targets or {}, weights, **dict(reward_kwargs or {}))

        observed = list(observed_metrics) if observed_metrics is not None else list(self.objective.targets)
        for name in observed:
            if name not in declared:
                raise ValueError(f"unknown observed metric {name!r}; expected one of {', '.join(declared)}")
        self.observed_metrics = tuple(observed)
        scales = {**dict(metric_scales or {}), **self.objective.targets}
        self._scales = np.array([float(scales.get(name, 1.0)) for name in observed], dtype=np.float64)
        self._scale_list = self._scales.tolist()
        if np.any(self._scales <= 0):
            raise ValueError(f"metric scales must be positive, got {dict(zip(observed, self._scales))}")
        self._worst = np.array(
            [1.0 if declared[name].goal == "minimize" else 0.0 for name in observed], dtype=np.float32
        )

        self.action_space = design_space.gym_space()
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(len(observed),), dtype=np.float32)
        #: MO-Gymnasium: the space of the vector reward, and its length
        self.reward_space = gym.spaces.Box(-LOG_RATIO_BOUND, LOG_RATIO_BOUND, shape=(len(self.objectives),), dtype=np.float32)
        self.reward_dim = len(self.objectives)
        #: raw action -> :class:`_Memo`: the fast path of a step served from the cache (see :meth:`step`)
        self._memo: dict[Hashable, _Memo] = {}
        self._memo_space = design_space

    # ------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._last_step = None
        if seed is not None:
            self.action_space.seed(seed)
        return np.zeros(self.observation_space.shape, dtype=np.float32), {"workload": self.workload}

    def step(self, action: Any):
        """Evaluate one design (see the class docstring).

        Fast path: an action seen before (the same array bytes or the same design dict) reuses
        its validated design and evaluation-cache key, and when the cache still holds the same
        result for it (and objective and reference are unchanged), the reward, vector reward and
        observation computed from that result. Outputs are fresh copies every time; what is
        checked, counted (cache hits and misses) and returned is the same as on the slow path.
        """
        raw = _raw_action_key(action)
        memo = None
        if raw is not None and self.cache is not None and not self._staged and self._memo_space is self.design_space:
            memo = self._memo.get(raw)
            if memo is not None and memo.fingerprint != self.simulator.fingerprint():
                memo = None
        hit = None if memo is None else self.cache.get(memo.key)
        if hit is not None:
            reward, info, observation = self._cached_outputs(memo, hit)
            self.last_evaluation = _CACHED
        else:
            if memo is not None:  # evicted or cleared since: simulate again (the miss is counted once)
                design = dict(memo.design)
                metrics, error, cached, elapsed = self._evaluate(design, memo.key, looked_up=True)
            else:
                design = self.to_design(action)
                if raw is not None and self.cache is not None:
                    memo = self._remember(raw, design)
                metrics, error, cached, elapsed = self._evaluate(design, None if memo is None else memo.key)
            reward, info = self._reward_info(design, metrics, error)
            observation = self._observe(metrics) if error is None else self._worst.copy()
            self.last_evaluation = EvaluationStats(cached=cached, eval_time_s=elapsed)
        self._last_step = {**info, "reward": reward}
        if self.reward_mode == "vector":
            vector = info.pop("vector_reward")
            info["scalar_reward"] = reward
            return observation, vector, False, False, info
        return observation, reward, False, False, info

    def render(self) -> str | None:
        """With ``render_mode="ansi"``, the last step as text; ``None`` without a render mode."""
        if self.render_mode is None:
            return None
        step = self._last_step
        if step is None:
            return f"{type(self).__name__} on {self.workload}: no design evaluated yet\n"
        width = max(map(len, [*step["design"], *step["metrics"], "reward"]))
        lines = [f"{type(self).__name__} on {step['workload']}: "
                 + ("feasible" if step["feasible"] else f"failed ({step['error']})"), "design:"]
        lines += [f"  {name.ljust(width)}  {value}" for name, value in step["design"].items()]
        if step["metrics"]:
            units = {m.name: m.unit for m in self.simulator.metrics}
            lines.append("metrics:")
            lines += [f"  {name.ljust(width)}  {value:.6g} {units.get(name, '')}".rstrip()
                      for name, value in step["metrics"].items()]
        lines.append(f"  {'reward'.ljust(width)}  {step['reward']:.6g}")
        return "\n".join(lines) + "\n"

    def _remember(self, raw: Hashable, design: Design) -> _Memo:
        """Memoise a raw action's validated design and cache key (the memo restarts when full)."""
        if self._memo_space is not self.design_space:  # the design space was replaced: forget its designs
            self._memo.clear()
            self._memo_space = self.design_space
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        fingerprint = self.simulator.fingerprint()
        memo = _Memo(dict(design), fingerprint, EvaluationCache.key(fingerprint, self.workload_key, design))
        self._memo[raw] = memo
        return memo

    def _cached_outputs(self, memo: _Memo, hit: CachedResult) -> tuple[float, dict[str, Any], np.ndarray]:
        """Reward, info and observation of a cache hit; computed once per (result, objective,
        reference) and copied out afterwards (objectives are functions of the metrics alone)."""
        reference = self._reference_if_known()
        if memo.result is not hit or memo.objective is not self.objective or memo.reference is not reference:
            metrics = dict(hit.metrics or {})
            reward, info = self._reward_info(dict(memo.design), metrics, hit.error)
            vector = info["vector_reward"]
            memo.reward, memo.vector = reward, None if vector is None else vector.copy()
            memo.observation = self._observe(metrics) if hit.error is None else self._worst.copy()
            memo.result, memo.objective, memo.reference = hit, self.objective, reference
            return reward, info, memo.observation.copy()
        vector = memo.vector
        info = {"design": memo.design.copy(), "metrics": dict(hit.metrics) if hit.metrics else {},
                "workload": self.workload, "feasible": hit.error is None, "error": hit.error,
                "vector_reward": None if vector is None else vector.copy()}
        return memo.reward, info, memo.observation.copy()

    # ------------------------------------------------------------------------------
    @property
    def reference(self) -> dict[str, float] | None:
        """The reference values of the vector reward, per objective metric: the baseline design's
        (``design_space.default()``), or the ``targets`` of a ``log_ratio`` reward. Evaluated on
        first use; ``None`` if the baseline design cannot be simulated."""
        if self._reference is None:
            try:
                base = self._baseline_or_raise()
            except ValueError:
                return None
            self._reference = {o.metric: float(base[o.metric]) for o in self.objectives}
        return self._reference

    def _reference_if_known(self) -> dict[str, float] | None:
        """The reference without simulating anything for it (a scalar-mode step costs one simulation)."""
        if self._reference is None and self.baseline_metrics is not None:
            return self.reference
        return self._reference

    def _baseline_or_raise(self) -> dict[str, float]:
        if self.baseline_metrics is None:
            metrics, error, _, _ = self._evaluate(self.design_space.default())
            if error is not None:
                raise ValueError(f"the baseline design cannot be simulated on {self.workload!r} ({error}); "
                                 "pass targets= with a reference value for every objective")
            self.baseline_metrics = dict(metrics)
        for o in self.objectives:
            value = self.baseline_metrics.get(o.metric)
            if value is None or not value > 0:
                raise ValueError(f"objective {o.metric!r}: the baseline design's value {value!r} is not positive, so "
                                 "it cannot be the log-ratio reference; pass targets= with a positive reference value")
        return dict(self.baseline_metrics)

    # ------------------------------------------------------------------------------
    def to_design(self, action: Any) -> Design:
        """An action (vector of the action space, or a design dict) as a validated design."""
        if type(action) is dict or isinstance(action, Mapping):  # a plain dict skips the ABC check
            return self.design_space.validate(action)
        return self.design_space.decode(action)

    def evaluate_many(self, designs: Sequence[Any]) -> list[tuple[float, dict[str, Any]]]:
        """``(reward, info)`` of every design, with the simulator's ``evaluate_batch`` when it has one.

        Not an env step (nothing is counted or recorded; see :meth:`prefetch` for that). Designs
        in the cache are served from it; the others go to ``Simulator.evaluate_batch`` in one call
        (duplicates once). Errors are per design: if the batch raises ``SimulationError``, its
        designs are evaluated one by one, so one failing design fails alone.
        """
        designs = [self.to_design(d) for d in designs]
        results = self._evaluate_designs(designs)
        return [self._reward_info(design, metrics, error) for design, (metrics, error, _, _) in zip(designs, results)]

    def prefetch(self, designs: Sequence[Any]) -> None:
        """Evaluate ``designs`` as one batch now; the next ``step`` of each is served from it.

        This is how :meth:`archgym.agents.Agent.run` hands a population to a vectorised
        simulator while every evaluation still goes through ``step`` (so time limits and
        :class:`~archgym.recording.RecordEvaluations` see each one). A step served from a
        prefetch reports ``cached=False`` and its share of the batch's wall time. Does nothing
        for simulators without their own ``evaluate_batch`` (there is nothing to gain).
        """
        if type(self.simulator).evaluate_batch is Simulator.evaluate_batch:
            return
        designs = [self.to_design(d) for d in designs]
        self._staged = {}
        for design, (metrics, error, cached, elapsed) in zip(designs, self._evaluate_designs(designs)):
            if not cached:
                self._staged[self._design_key(design)] = (metrics, error, elapsed)

    def _design_key(self, design: Design) -> Any:
        return EvaluationCache.key(self.simulator.fingerprint(), self.workload_key, design)

    def _evaluate_designs(self, designs: Sequence[Design]) -> list[tuple[dict[str, float], str | None, bool, float]]:
        """(metrics, error, cached, seconds) per design, simulating the uncached ones as one batch."""
        out: list[Any] = [None] * len(designs)
        todo: dict[Any, list[int]] = {}
        for i, design in enumerate(designs):
            hit = self.cache.get(self._design_key(design)) if self.cache is not None else None
            if hit is not None:
                out[i] = (dict(hit.metrics or {}), hit.error, True, 0.0)
            else:
                todo.setdefault(self._design_key(design), []).append(i)
        if not todo:
            return out
        unique = [designs[indices[0]] for indices in todo.values()]
        start = time.perf_counter()
        try:
            batch: list[tuple[dict[str, float], str | None]] = [
                ({}, f"{type(result).__name__}: {result}") if isinstance(result, SimulationError)
                else ({k: float(v) for k, v in result.items()}, None)
                for result in self.simulator.evaluate_batch(unique, self.workload)
            ]
        except SimulationError:  # a batch that raises: find which designs fail, one by one
            batch = [self._simulate(design) for design in unique]
        share = (time.perf_counter() - start) / len(unique)
        for (key, indices), (metrics, error) in zip(todo.items(), batch):
            if self.cache is not None:
                self.cache.put(key, CachedResult(metrics if error is None else None, error))
            out[indices[0]] = (metrics, error, False, share)
            for i in indices[1:]:
                out[i] = (dict(metrics), error, True, 0.0)
        return out

    def _simulate(self, design: Design) -> tuple[dict[str, float], str | None]:
        try:
            return {k: float(v) for k, v in self.simulator.evaluate(design, self.workload).items()}, None
        except SimulationError as exc:
            return {}, f"{type(exc).__name__}: {exc}"

    def _reward_info(self, design: Design, metrics: dict[str, float], error: str | None) -> tuple[float, dict[str, Any]]:
        """The scalar reward and the info of one evaluated design; the info carries the vector
        reward (``None`` while the baseline reference is unknown: no simulation is spent on it here)."""
        reference = self._reference_if_known()
        if error is None:
            reward = self.objective(metrics)
            vector = None if reference is None else log_ratio_vector(metrics, self.objectives, reference)
        else:
            reward = self.objective.failure_reward
            vector = np.full(self.reward_dim, -LOG_RATIO_BOUND, dtype=np.float32)
        info = {"design": design, "metrics": dict(metrics), "workload": self.workload, "feasible": error is None,
                "error": error, "vector_reward": vector}
        return float(reward), info

    def _evaluate(self, design: Design, key: Hashable | None = None,
                  looked_up: bool = False) -> tuple[dict[str, float], str | None, bool, float]:
        """(metrics, error, cached, seconds) of one design; ``key``: its cache key when known,
        ``looked_up``: the cache was already asked for it (and missed)."""
        if self._staged:
            staged = self._staged.pop(self._design_key(design), None)
            if staged is not None:
                metrics, error, elapsed = staged
                return dict(metrics), error, False, elapsed
        if self.cache is None:
            key = None
        else:
            if key is None:
                key = self._design_key(design)
            hit = None if looked_up else self.cache.get(key)
            if hit is not None:
                return dict(hit.metrics or {}), hit.error, True, 0.0
        start = time.perf_counter()
        metrics, error = self._simulate(design)
        elapsed = time.perf_counter() - start
        if key is not None:
            self.cache.put(key, CachedResult(metrics if error is None else None, error))
        return metrics, error, False, elapsed

    def _observe(self, metrics: Mapping[str, float]) -> np.ndarray:
        """``x / (|x| + s)`` per observed metric, NaN (from an infinite ``x``) as 1, in [-1, 1], float32.

        Python floats rather than numpy calls: the same IEEE double arithmetic, for a handful of
        metrics in a fraction of numpy's per-call overhead."""
        out = []
        for name, scale in zip(self.observed_metrics, self._scale_list):
            x = float(metrics[name])
            v = x / (abs(x) + scale)
            out.append(1.0 if v != v else min(1.0, max(-1.0, v)))
        return np.array(out, dtype=np.float32)
