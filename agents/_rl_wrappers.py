"""Gymnasium wrappers that let stable-baselines3 drive a DSEEnv within an exact evaluation budget."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import gymnasium as gym
import numpy as np

from archgym.spaces import Design, DesignSpace, Real

#: ``record(design, reward, metrics, feasible)`` of the agent that owns the budget
Teller = Callable[[Design, float, Mapping[str, float], bool], None]
StepCallback = Callable[[int, Design, float, Mapping[str, Any]], None]


class BudgetExhausted(RuntimeError):
    """Raised when a learner steps the env more often than the budget allows."""


class BudgetedEnv(gym.Wrapper):
    """Counts evaluations, reports each to the agent, and refuses any beyond ``budget``.

    Every ``step`` is one evaluation: the agent records ``info["design"]``, the reward, metrics and
    feasibility, so
    its best-design bookkeeping works whatever the learner does. The last observation is kept
    for sampling the trained policy afterwards.
    """

    def __init__(self, env: gym.Env, budget: int, tell: Teller, callback: StepCallback | None = None) -> None:
        super().__init__(env)
        self.budget = int(budget)
        self.count = 0
        self.last_observation: Any = None
        self._tell = tell
        self._callback = callback

    @property
    def exhausted(self) -> bool:
        return self.count >= self.budget

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        observation, info = self.env.reset(**kwargs)
        self.last_observation = observation
        return observation, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self.exhausted:
            raise BudgetExhausted(f"the evaluation budget of {self.budget} is spent; no further env.step allowed")
        observation, reward, terminated, truncated, info = self.env.step(action)
        step = self.count
        self.count += 1
        self.last_observation = observation
        self._tell(info["design"], float(reward), info.get("metrics", {}), bool(info.get("feasible", True)))
        if self._callback is not None:
            self._callback(step, info["design"], float(reward), info)
        return observation, reward, terminated, truncated, info


class FlatDesignActions(gym.ActionWrapper):
    """``Discrete(size)`` over every design of an all-discrete space (for value-based agents).

    Action ``k`` is the design whose index vector is ``np.unravel_index(k, nvec)``.
    """

    def __init__(self, env: gym.Env, design_space: DesignSpace) -> None:
        super().__init__(env)
        self._nvec = tuple(int(n) for n in design_space.nvec)
        self.action_space = gym.spaces.Discrete(int(math.prod(self._nvec)))

    def action(self, action: Any) -> np.ndarray:
        return np.array(np.unravel_index(int(action), self._nvec), dtype=np.int64)


class UnitBoxDesignActions(gym.ActionWrapper):
    """``Box(-1, 1, (n,))`` for spaces with a real-valued parameter (continuous-action agents).

    Each coordinate maps linearly (log-linearly for ``log`` reals) onto its parameter's range;
    discrete parameters take the bin the coordinate falls in. Produces a design dict.
    """

    def __init__(self, env: gym.Env, design_space: DesignSpace) -> None:
        super().__init__(env)
        self._space = design_space
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(len(design_space),), dtype=np.float32)

    def action(self, action: Any) -> Design:
        unit = (np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0) + 1.0) / 2.0
        design: Design = {}
        for p, u in zip(self._space, unit):
            if isinstance(p, Real):
                if p.log:
                    value = math.exp(math.log(p.low) + u * (math.log(p.high) - math.log(p.low)))
                else:
                    value = p.low + u * (p.high - p.low)
                design[p.name] = min(max(value, p.low), p.high)
            else:
                design[p.name] = p.value(min(int(u * p.n), p.n - 1))
        return design
