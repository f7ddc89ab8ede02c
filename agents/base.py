"""The agent interface: ``ask`` for a design, ``tell`` its reward, ``run`` the loop on an env.

Agents know design spaces, never specific environments. Each declares its hyperparameters as
a :class:`~archgym.spaces.DesignSpace` (so studies sample them with the same machinery), takes a
seed, and names its algorithm and reference in its docstring.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping

import gymnasium as gym
import numpy as np

from archgym.errors import UserError
from archgym.spaces import Design, DesignSpace


@dataclass
class RunResult:
    """What an agent found within its budget."""

    agent: str
    evaluations: int = 0
    best_design: Design | None = None
    best_reward: float = -math.inf
    best_metrics: dict[str, float] = field(default_factory=dict)
    rewards: list[float] = field(default_factory=list)

    @property
    def best_so_far(self) -> np.ndarray:
        """Best reward after each evaluation (the sample-efficiency curve)."""
        return np.maximum.accumulate(np.asarray(self.rewards, dtype=np.float64)) if self.rewards else np.empty(0)


def design_space_of(env: gym.Env) -> DesignSpace:
    """The design space behind ``env`` (an archgym :class:`~archgym.env.DSEEnv`, possibly wrapped).

    Agents search design spaces; an env without one (a plain gymnasium env) is rejected with a
    clear error rather than guessed at.
    """
    space = getattr(getattr(env, "unwrapped", env), "design_space", None)
    if not isinstance(space, DesignSpace):
        raise TypeError(
            f"{type(getattr(env, 'unwrapped', env)).__name__} has no archgym DesignSpace (its action space is "
            f"{getattr(env, 'action_space', None)}); agents drive archgym DSEEnv environments — build one with "
            "archgym.env.DSEEnv(simulator, design_space, workload) or register it with archgym.register"
        )
    return space


class Agent(abc.ABC):
    """Base class of every search agent.

    Subclasses set :attr:`name`, optionally :attr:`hyperparameter_space`, and implement
    :meth:`ask` (and :meth:`update` if they learn from feedback).
    """

    #: registry name, e.g. ``"random"``
    name: ClassVar[str] = "agent"
    #: the agent's hyperparameters with their default ranges; ``None`` when it has none
    hyperparameter_space: ClassVar[DesignSpace | None] = None

    def __init__(self, design_space: DesignSpace, seed: int | None = None, **hyperparameters: Any) -> None:
        self.design_space = design_space
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.hyperparameters = self.resolve_hyperparameters(hyperparameters)
        self.result = RunResult(agent=self.name)

    @classmethod
    def resolve_hyperparameters(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``given``, validated against :attr:`hyperparameter_space`."""
        space = cls.hyperparameter_space
        if space is None:
            if given:
                raise UserError(f"agent {cls.name!r} takes no hyperparameters, got {', '.join(given)}")
            return {}
        unknown = [k for k in given if k not in space.names]
        if unknown:
            raise UserError(
                f"unknown hyperparameter(s) {', '.join(unknown)} for agent {cls.name!r}; expected: {', '.join(space.names)}"
            )
        return space.validate({**space.default(), **given})

    # -- the ask/tell surface -----------------------------------------------------------
    @abc.abstractmethod
    def ask(self) -> Design:
        """The next design to evaluate."""

    def tell(self, design: Design, reward: float, info: Mapping[str, Any] | None = None) -> None:
        """Report the reward of a design obtained from :meth:`ask`; keeps track of the best."""
        info = info or {}
        result = self.result
        result.evaluations += 1
        result.rewards.append(float(reward))
        if reward > result.best_reward:
            result.best_reward = float(reward)
            result.best_design = dict(design)
            result.best_metrics = dict(info.get("metrics", {}))
        self.update(design, float(reward), info)

    def update(self, design: Design, reward: float, info: Mapping[str, Any]) -> None:
        """Learn from one evaluation (default: nothing to learn)."""

    # -- the default loop -----------------------------------------------------------------
    @staticmethod
    def check_budget(budget: int) -> None:
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise UserError(f"budget must be a positive integer number of evaluations, got {budget!r}")

    def check_env(self, env: gym.Env) -> None:
        """Reject an env whose design space is not the one this agent was built for."""
        space = design_space_of(env)
        if space != self.design_space:
            raise UserError(
                f"agent {self.name!r} was built for a different design space ({', '.join(self.design_space.names)}) "
                f"than the env's ({', '.join(space.names)})"
            )

    def run(
        self,
        env: gym.Env,
        budget: int,
        callback: Callable[[int, Design, float, Mapping[str, Any]], None] | None = None,
    ) -> RunResult:
        """Evaluate ``budget`` designs on ``env`` through ``env.step`` and return the result.

        Episodes that end (``max_episode_steps``) are reset; every evaluation counts.
        """
        self.check_budget(budget)
        self.check_env(env)
        env.reset(seed=self.seed)
        for step in range(budget):
            design = self.ask()
            _, reward, terminated, truncated, info = env.step(design)
            self.tell(design, reward, info)
            if callback is not None:
                callback(step, design, reward, info)
            if terminated or truncated:
                env.reset()
        return self.result
