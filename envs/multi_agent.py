"""A PettingZoo ``ParallelEnv`` over any archgym design env: one agent per parameter (or group).

The multi-agent formulation of design space exploration from Krishnan et al., "Multi-Agent
Reinforcement Learning for Microprocessor Design Space Exploration" (arXiv:2211.16385, 2022),
where every agent of a memory controller's design owns one knob and all agents share the
reward of the joint design. PettingZoo is a core dependency::

    import archgym
    from archgym.envs.multi_agent import DesignParallelEnv

    env = DesignParallelEnv("archgym/DRAM-v0", max_requests=300)
    observations, infos = env.reset(seed=0)
    actions = {agent: env.action_space(agent).sample() for agent in env.agents}
    observations, rewards, terminations, truncations, infos = env.step(actions)
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import gymnasium as gym
import numpy as np

from archgym.errors import import_optional
from archgym.partition import Groups, partition, require_discrete
from archgym.spaces import Design, DesignSpace

#: episode length when neither ``max_cycles`` nor the wrapped env's spec gives one
DEFAULT_MAX_CYCLES = 100


#: PettingZoo's base class; a missing package is reported as the ``marl`` extra
ParallelEnv = import_optional("pettingzoo", "marl", "archgym.envs.multi_agent").ParallelEnv


class DesignParallelEnv(ParallelEnv):
    """Design space exploration as a cooperative multi-agent game (PettingZoo Parallel API).

    ## Description
    Wraps any archgym :class:`~archgym.env.DSEEnv` (an instance, possibly wrapped, or a
    registered id). Each agent owns one design parameter (default; the agent is named like the
    parameter) or a declared group of parameters. At every step each live agent picks values
    for its parameters; the joint action is one design, evaluated by one ``step`` of the
    wrapped env — one evaluation per parallel step — and every agent receives its reward.
    After Krishnan et al. 2022 (multi-agent RL for memory-controller design).

    ## Action Space
    Per agent: ``Discrete(n)`` (choice index) when it owns one parameter of ``n`` values,
    ``MultiDiscrete`` over its parameters, in the order its group lists them, when it owns
    several. Real-valued parameters are not supported (``ValueError``). :meth:`actions_from_design`
    and :meth:`design_from_actions` convert between the per-agent actions and a design dict.

    ## Observation Space
    Per agent, the wrapped env's observation (shared by all agents: for a ``DSEEnv`` the last
    design's normalised metrics, ``Box(-1, 1, (k,), float32)``). With
    ``observe_own_action=True`` the agent's own last choice for each of its parameters is
    appended, as ``index / (n − 1)`` in ``[0, 1]`` (``-1`` before its first action).
    :meth:`state` is the shared observation.

    ## Rewards
    The wrapped env's reward for the joint design, identical for every agent.

    ## Episode End
    Every agent is truncated after ``max_cycles`` steps (which supersedes the wrapped env's own
    time limit: a truncation of the wrapped env before ``max_cycles`` silently resets it) and
    terminated when the wrapped env terminates (a ``DSEEnv`` never does). ``agents`` is then
    empty until :meth:`reset`.

    ## Info
    Per agent, the wrapped env's info (``design``, ``metrics``, ``workload``, ``feasible``,
    ``error`` for a ``DSEEnv``) plus ``cycle``, the step count of the episode.

    ## Arguments
    ``env``: a design env or a registered id (``gym.make(env, **make_kwargs)``).
    ``groups``: ``{"agent": ["ParamA", "ParamB"], ...}``; every parameter owned exactly once
    (default one agent per parameter). ``max_cycles``: episode length (default the wrapped
    env's ``spec.max_episode_steps``, else 100). ``observe_own_action``: append the agent's own
    last action to its observation. ``make_kwargs``: ``gym.make`` keyword arguments (only with
    an id), e.g. ``workload=`` or ``max_requests=``.

    ## Version History
    * v0: initial release.
    """

    metadata = {"render_modes": [], "name": "archgym_design_parallel_v0", "is_parallelizable": True}

    def __init__(
        self,
        env: gym.Env | str,
        groups: Mapping[str, Sequence[str] | str] | None = None,
        max_cycles: int | None = None,
        *,
        observe_own_action: bool = False,
        **make_kwargs: Any,
    ) -> None:
        if isinstance(env, str):
            env = gym.make(env, **make_kwargs)
        elif make_kwargs:
            raise TypeError(
                f"keyword arguments {', '.join(make_kwargs)} are gym.make arguments; pass an env id, not an env, to use them"
            )
        space = getattr(getattr(env, "unwrapped", env), "design_space", None)
        if not isinstance(space, DesignSpace):
            raise TypeError(
                f"{type(getattr(env, 'unwrapped', env)).__name__} has no archgym DesignSpace; DesignParallelEnv wraps "
                "archgym DSEEnv environments (an instance or a registered id such as 'archgym/DRAM-v0')"
            )
        require_discrete(space, "DesignParallelEnv")
        if not isinstance(env.observation_space, gym.spaces.Box):
            raise TypeError(f"the wrapped env's observation space must be a Box, got {env.observation_space}")
        self.env = env
        self.design_space = space
        #: agent name -> the parameters it owns
        self.groups: Groups = partition(space, groups)
        self.possible_agents: list[str] = list(self.groups)
        self.agents: list[str] = []
        if max_cycles is None:
            spec = getattr(env, "spec", None)
            max_cycles = (spec.max_episode_steps if spec is not None else None) or DEFAULT_MAX_CYCLES
        self.max_cycles = self._check_cycles(max_cycles)
        self.observe_own_action = bool(observe_own_action)

        self._action_spaces: dict[str, gym.spaces.Space] = {}
        self._observation_spaces: dict[str, gym.spaces.Box] = {}
        shared: gym.spaces.Box = env.observation_space
        for agent, params in self.groups.items():
            sizes = [int(space[p].n) for p in params]
            self._action_spaces[agent] = (
                gym.spaces.Discrete(sizes[0]) if len(sizes) == 1 else gym.spaces.MultiDiscrete(sizes)
            )
            if self.observe_own_action:
                low = np.concatenate([shared.low.ravel(), -np.ones(len(params))]).astype(np.float32)
                high = np.concatenate([shared.high.ravel(), np.ones(len(params))]).astype(np.float32)
                self._observation_spaces[agent] = gym.spaces.Box(low, high, dtype=np.float32)
            else:
                self._observation_spaces[agent] = shared
        #: the shared (global) state: the wrapped env's observation
        self.state_space = shared
        self._cycle = 0
        self._shared_obs: np.ndarray = np.zeros(shared.shape, dtype=shared.dtype)
        self._last_actions: dict[str, np.ndarray | None] = dict.fromkeys(self.possible_agents)

    # -- spaces -----------------------------------------------------------------------------
    def observation_space(self, agent: str) -> gym.spaces.Space:
        return self._observation_spaces[self._known(agent)]

    def action_space(self, agent: str) -> gym.spaces.Space:
        return self._action_spaces[self._known(agent)]

    # -- the Parallel API ----------------------------------------------------------------------
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        observation, info = self.env.reset(seed=seed, options=options)
        if seed is not None:
            for i, agent in enumerate(self.possible_agents):
                self._action_spaces[agent].seed(int(np.random.SeedSequence([seed, i]).generate_state(1)[0]))
        self.agents = list(self.possible_agents)
        self._cycle = 0
        self._shared_obs = np.asarray(observation)
        self._last_actions = dict.fromkeys(self.possible_agents)
        return {a: self._observe(a) for a in self.agents}, {a: _copy(info) for a in self.agents}

    def step(self, actions: Mapping[str, Any]) -> tuple[
        dict[str, np.ndarray], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict[str, Any]]
    ]:
        if not self.agents:
            raise RuntimeError("the episode is over (or never started): call reset() before step()")
        missing = [a for a in self.agents if a not in actions]
        unknown = [repr(a) for a in actions if a not in self.agents]
        if missing or unknown:
            raise ValueError(
                "step() needs one action per live agent"
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            )
        indices = {agent: self._indices(agent, actions[agent]) for agent in self.agents}
        design = self._design(indices)
        observation, reward, terminated, truncated, info = self.env.step(design)
        self._cycle += 1
        self._shared_obs = np.asarray(observation)
        self._last_actions.update(indices)
        done = self._cycle >= self.max_cycles
        if truncated and not terminated and not done:
            # max_cycles supersedes the wrapped env's own time limit (a DSEEnv episode has no state)
            self.env.reset()
        agents = self.agents
        observations = {a: self._observe(a) for a in agents}
        rewards = {a: float(reward) for a in agents}
        terminations = {a: bool(terminated) for a in agents}
        truncations = {a: bool(done and not terminated) for a in agents}
        infos = {a: {**_copy(info), "cycle": self._cycle} for a in agents}
        if terminated or done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        """The shared observation (the wrapped env's last observation)."""
        return self._shared_obs.copy()

    def render(self) -> None:
        return None

    def close(self) -> None:
        self.env.close()

    # -- designs <-> actions ---------------------------------------------------------------
    def design_from_actions(self, actions: Mapping[str, Any]) -> Design:
        """The design formed by one action of every agent (``ValueError`` for a bad action)."""
        missing = [a for a in self.possible_agents if a not in actions]
        if missing:
            raise ValueError(f"a design needs an action from every agent; missing: {', '.join(missing)}")
        return self._design({a: self._indices(a, actions[a]) for a in self.possible_agents})

    def actions_from_design(self, design: Mapping[str, Any]) -> dict[str, int | np.ndarray]:
        """Every agent's action that together form ``design`` (validated)."""
        design = self.design_space.validate(design)
        actions: dict[str, int | np.ndarray] = {}
        for agent, params in self.groups.items():
            indices = [self.design_space[p].index(design[p]) for p in params]
            actions[agent] = indices[0] if len(params) == 1 else np.array(indices, dtype=np.int64)
        return actions

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _check_cycles(max_cycles: Any) -> int:
        if isinstance(max_cycles, bool) or not isinstance(max_cycles, (int, np.integer)) or max_cycles < 1:
            raise ValueError(f"max_cycles must be a positive integer, got {max_cycles!r}")
        return int(max_cycles)

    def _known(self, agent: str) -> str:
        if agent not in self.groups:
            raise KeyError(f"unknown agent {agent!r}; expected one of {', '.join(self.possible_agents)}")
        return agent

    def _indices(self, agent: str, action: Any) -> np.ndarray:
        """``action`` of ``agent`` as a vector of choice indices, one per owned parameter."""
        space = self._action_spaces[agent]
        shape = () if isinstance(space, gym.spaces.Discrete) else space.shape
        array = np.asarray(action)
        if array.shape != shape or not (np.issubdtype(array.dtype, np.integer) or _is_integral(array)):
            raise ValueError(f"invalid action {action!r} for agent {agent!r}; expected an element of {space}")
        array = array.astype(np.int64).reshape(-1)
        if not space.contains(array[0] if shape == () else array):
            raise ValueError(f"invalid action {action!r} for agent {agent!r}; expected an element of {space}")
        return array

    def _design(self, indices: Mapping[str, np.ndarray]) -> Design:
        values = {
            p: self.design_space[p].value(int(i))
            for agent, params in self.groups.items()
            for p, i in zip(params, indices[agent])
        }
        return {name: values[name] for name in self.design_space.names}

    def _observe(self, agent: str) -> np.ndarray:
        shared = np.array(self._shared_obs, dtype=self._observation_spaces[agent].dtype).ravel()
        if not self.observe_own_action:
            return shared.reshape(self._observation_spaces[agent].shape)
        last = self._last_actions[agent]
        params = self.groups[agent]
        if last is None:
            own = -np.ones(len(params))
        else:
            sizes = np.array([self.design_space[p].n for p in params], dtype=np.float64)
            own = np.where(sizes > 1, last / np.maximum(sizes - 1, 1), 0.0)
        return np.concatenate([shared, own]).astype(np.float32)


def _copy(info: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``info`` whose dict values (design, metrics) are copies too, one per agent."""
    return {key: dict(value) if isinstance(value, dict) else value for key, value in info.items()}


def _is_integral(array: np.ndarray) -> bool:
    """Whether a float array holds whole numbers only (accepts ``3.0`` as an index)."""
    return np.issubdtype(array.dtype, np.floating) and bool(np.all(np.isfinite(array) & (array == np.round(array))))
