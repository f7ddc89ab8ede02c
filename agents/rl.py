"""Single-agent reinforcement learning with stable-baselines3, driving the DSEEnv itself.

The env is a bandit in RL clothing: an action is a whole design, the reward its score, and the
observation (the last design's metrics) does not change what the next design will score. So the
discount ``gamma`` defaults to 0 (each design is judged on its own reward; the critic learns the
average reward and advantages are reward minus that baseline); it stays a hyperparameter for
lottery studies and for envs whose observation does carry information.

Every env step is one evaluation. :meth:`StableBaselinesAgent.run` wraps the env so that each
evaluation is told to the agent (best-design tracking as for every agent) and stops learning after
exactly ``budget`` steps: a stable-baselines3 callback ends training when the budget is reached
(also mid-rollout) and the wrapper refuses any further step.
"""

from __future__ import annotations

import abc

import math
from typing import Any, Callable, ClassVar, Mapping

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from archgym.agents._rl_wrappers import BudgetedEnv, FlatDesignActions, UnitBoxDesignActions
from archgym.agents.base import Agent, RunResult
from archgym.spaces import Design, DesignSpace, Integer, Parameter, Real, Values

ROLLOUT_STEPS = (8, 16, 32, 64, 128, 256)
NET_WIDTHS = (16, 32, 64, 128, 256)


def _learning_rate(default: float) -> Real:
    return Real("learning_rate", 1e-5, 1e-2, log=True, default=default)


def _network_and_runtime() -> list[Parameter]:
    """Hyperparameters every SB3 agent shares after its algorithm-specific ones."""
    return [
        Values("net_width", NET_WIDTHS, default=64),
        Real("gamma", 0.0, 0.99, default=0.0),
        Integer("torch_threads", 1, 16, default=1),
    ]


class _StopAtBudget(BaseCallback):
    """Ends ``learn`` as soon as the budgeted env has spent its budget (mid-rollout too)."""

    def __init__(self, env: BudgetedEnv) -> None:
        super().__init__()
        self._env = env

    def _on_step(self) -> bool:
        return not self._env.exhausted


class StableBaselinesAgent(Agent):
    """Shared machinery of the stable-baselines3 agents (see the module docstring).

    Subclasses set :attr:`algorithm` and :attr:`hyperparameter_space` and map hyperparameters to
    the algorithm's keyword arguments in :meth:`algorithm_kwargs`.

    ``ask()`` samples the trained policy on the last observation, so it is available once
    :meth:`run` has trained a model; RL agents learn only by driving the env themselves, so
    ``tell()`` from outside records the result but does not train. The policy is sampled, so
    designs are proposed again (on-policy learning means it: a repeat is a sample of the
    reward the policy is trained on); a failed design reaches the learner as the env's penalty
    reward, because SB3 learns from env rewards, but is recorded as a failure.
    """

    algorithm: ClassVar[type[BaseAlgorithm]]
    #: whether the algorithm needs a ``Discrete`` action space (value-based methods)
    discrete_actions: ClassVar[bool] = False
    #: the largest design space a flat ``Discrete`` action space may enumerate
    max_flat_actions: ClassVar[int] = 100_000

    def __init__(self, design_space: DesignSpace, seed: int | None = None, **hyperparameters: Any) -> None:
        super().__init__(design_space, seed=seed, **hyperparameters)
        self.model: BaseAlgorithm | None = None
        self._budgeted: BudgetedEnv | None = None
        self._to_env_action: Callable[[Any], Any] | None = None

    # -- hooks ------------------------------------------------------------------------------
    @abc.abstractmethod
    def algorithm_kwargs(self, budget: int) -> dict[str, Any]:
        """Keyword arguments for :attr:`algorithm` beyond policy, env, seed and network."""

    def check_action_space(self) -> None:
        """Reject a design space this algorithm cannot act in (before any evaluation)."""
        if not self.discrete_actions:
            return
        size = self.design_space.size
        if not self.design_space.is_discrete or size > self.max_flat_actions:
            shown = "infinitely many (a parameter is real-valued)" if math.isinf(size) else f"{int(size):,}"
            raise ValueError(
                f"the design space is too large for {self.name!r}: it has {shown} designs and {self.name} needs "
                f"one discrete action per design (at most {self.max_flat_actions:,}); use 'ppo' or 'a2c', whose "
                "policies factorise over parameters, or shrink the design space"
            )

    # -- the ask/tell surface ---------------------------------------------------------------
    def propose_one(self) -> Design:
        if self.model is None or self._budgeted is None or self._to_env_action is None:
            raise RuntimeError(
                f"agent {self.name!r} learns by driving the env itself: call run(env, budget) first; "
                "afterwards ask() samples the trained policy"
            )
        action, _ = self.model.predict(self._budgeted.last_observation, deterministic=False)
        env_action = self._to_env_action(action)
        if isinstance(env_action, Mapping):
            return self.design_space.validate(env_action)
        return self.design_space.decode(env_action)

    # -- the loop -----------------------------------------------------------------------------
    def run(
        self,
        env: gym.Env,
        budget: int,
        callback: Callable[[int, Design, float, Mapping[str, Any]], None] | None = None,
    ) -> RunResult:
        """Train on ``env`` for exactly ``budget`` evaluations; returns the best design seen."""
        self.check_budget(budget)
        self.check_env(env)
        self.check_action_space()
        hp = self.hyperparameters
        threads = torch.get_num_threads()
        torch.set_num_threads(hp["torch_threads"])
        try:
            self._budgeted = BudgetedEnv(env, budget, self._record, callback)
            learner_env = self._learner_env(self._budgeted)
            self.model = self.algorithm(
                "MlpPolicy",
                learner_env,
                seed=self.seed,
                device="cpu",
                verbose=0,
                policy_kwargs={"net_arch": [hp["net_width"], hp["net_width"]]},
                gamma=hp["gamma"],
                learning_rate=hp["learning_rate"],
                **self.algorithm_kwargs(budget),
            )
            self.model.learn(total_timesteps=budget, callback=_StopAtBudget(self._budgeted))
        finally:
            torch.set_num_threads(threads)
        return self.result

    def _learner_env(self, env: BudgetedEnv) -> gym.Env:
        """The action space the algorithm sees: MultiDiscrete designs, flat Discrete, or a unit Box."""
        wrapped: gym.Env
        if self.discrete_actions:
            wrapped = FlatDesignActions(env, self.design_space)
        elif not self.design_space.is_discrete:
            wrapped = UnitBoxDesignActions(env, self.design_space)
        else:
            self._to_env_action = lambda action: np.asarray(action, dtype=np.int64)
            return env
        self._to_env_action = wrapped.action
        return wrapped


class _OnPolicyAgent(StableBaselinesAgent):
    """PPO/A2C: rollouts of ``n_steps`` evaluations (never more than the budget)."""

    def algorithm_kwargs(self, budget: int) -> dict[str, Any]:
        hp = self.hyperparameters
        return {"n_steps": max(2, min(hp["n_steps"], budget)), "ent_coef": hp["ent_coef"]}


class PPOAgent(_OnPolicyAgent):
    """Proximal Policy Optimisation over the design vector (stable-baselines3 ``PPO``).

    The policy is a product of categoricals, one per design parameter (``MultiDiscrete``), so it
    scales to any discrete design space; spaces with a real parameter get a Gaussian policy on a
    unit box. Each rollout of ``n_steps`` evaluations is one minibatch, optimised for ``n_epochs``
    epochs with the clipped surrogate objective.

    Reference: Schulman et al., "Proximal Policy Optimization Algorithms", arXiv:1707.06347, 2017.
    ArchGym (Krishnan et al., ISCA 2023) trains PPO agents (via ACME / stable-baselines3) on the
    same one-step design formulation.
    """

    name = "ppo"
    algorithm = PPO
    hyperparameter_space = DesignSpace(
        [
            _learning_rate(3e-3),
            Real("ent_coef", 0.0, 0.1, default=0.01),
            Real("clip_range", 0.1, 0.4, default=0.2),
            Values("n_steps", ROLLOUT_STEPS, default=32),
            Integer("n_epochs", 1, 20, default=10),
            *_network_and_runtime(),
        ]
    )

    def algorithm_kwargs(self, budget: int) -> dict[str, Any]:
        kwargs = super().algorithm_kwargs(budget)
        hp = self.hyperparameters
        return {**kwargs, "batch_size": kwargs["n_steps"], "n_epochs": hp["n_epochs"], "clip_range": hp["clip_range"]}


class A2CAgent(_OnPolicyAgent):
    """Advantage Actor-Critic over the design vector (stable-baselines3 ``A2C``).

    One synchronous policy-gradient step per rollout of ``n_steps`` evaluations, with the critic
    as baseline; same action parametrisation as :class:`PPOAgent`.

    Reference: Mnih et al., "Asynchronous Methods for Deep Reinforcement Learning", ICML 2016
    (A3C; A2C is its synchronous variant).
    """

    name = "a2c"
    algorithm = A2C
    hyperparameter_space = DesignSpace(
        [
            _learning_rate(3e-3),
            Real("ent_coef", 0.0, 0.1, default=0.01),
            Values("n_steps", ROLLOUT_STEPS, default=8),
            *_network_and_runtime(),
        ]
    )


class DQNAgent(StableBaselinesAgent):
    """Deep Q-Network over a flat enumeration of the designs (stable-baselines3 ``DQN``).

    Q-learning needs one output per action, so every design is one ``Discrete`` action; this is
    only possible for spaces of at most :attr:`max_flat_actions` designs (``run`` raises a
    ``ValueError`` naming the size otherwise — PPO/A2C factorise over parameters instead).
    ε-greedy exploration decays over ``exploration_fraction`` of the budget.

    Reference: Mnih et al., "Human-level control through deep reinforcement learning",
    Nature 2015.
    """

    name = "dqn"
    algorithm = DQN
    discrete_actions = True
    hyperparameter_space = DesignSpace(
        [
            _learning_rate(1e-3),
            Integer("learning_starts", 0, 1000, default=50),
            Values("batch_size", (16, 32, 64, 128), default=32),
            Integer("train_freq", 1, 16, default=1),
            Values("target_update_interval", (1, 10, 100, 1000), default=100),
            Real("exploration_fraction", 0.05, 0.9, default=0.5),
            Real("exploration_final_eps", 0.01, 0.3, default=0.05),
            *_network_and_runtime(),
        ]
    )

    def algorithm_kwargs(self, budget: int) -> dict[str, Any]:
        hp = self.hyperparameters
        return {
            "buffer_size": max(1, budget),
            "learning_starts": hp["learning_starts"],
            "batch_size": hp["batch_size"],
            "train_freq": hp["train_freq"],
            "target_update_interval": hp["target_update_interval"],
            "exploration_fraction": hp["exploration_fraction"],
            "exploration_final_eps": hp["exploration_final_eps"],
        }
