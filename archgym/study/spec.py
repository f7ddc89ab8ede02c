"""What a study is: an env × agents × hyperparameter draws × seeds, each run with one budget.

A :class:`Study` expands into :class:`RunSpec` objects, one per run, each with a deterministic
:attr:`RunSpec.run_id` (from :func:`archgym.runner.run_id`), so a rerun of the same study
recognises the runs it has already finished.

Hyperparameter draws
--------------------
Draw ``d`` of agent ``a`` is sampled from ``agent_class(a).hyperparameter_space`` with a
generator seeded by ``(sampler_seed, crc32(a), d)``: it depends on nothing else, so adding
agents, draws or seeds to a study leaves the existing draws (and their run ids) unchanged and
the grown study resumes where the smaller one stopped. Instead of random draws an agent can be
given a ``grid`` (every combination of the listed values, in order) or ``fixed`` values (held
constant, not sampled).

* An agent with no hyperparameters (``random``) gets a single draw: its runs differ by seed only.
* Runtime knobs that change speed but not results (:data:`RUNTIME_HYPERPARAMETERS`, e.g.
  ``torch_threads``) are not sampled; they keep their default unless ``fixed`` sets them.
* A declared space may allow combinations an agent rejects (``evolution``: ``sample_size``
  larger than ``population``). Each sampled draw is checked by building the agent on the env's
  design space; a rejected draw is resampled from the same generator, at most
  :data:`MAX_REDRAWS` times (deterministic, so the same draw comes out every time), after which
  the last error is raised. A grid point the agent rejects is an error naming the point.
* Two draws that happen to be identical give the same run: duplicates are dropped.

The random-search baseline: the report compares every agent with the ``random`` agent at the
same budget, so :class:`Study` adds ``random`` to the agents when it is not listed
(``include_random=False`` turns that off). An agent without hyperparameters (``random``) gets
as many runs as every other agent: ``draws × seeds``, its "draws" being further seeds (the
study's seeds, then the next integers above the largest), so P(beats random) compares
samples of the same size.

Study axes
----------
``axis={"workload": ["stream", "random", ...]}`` (any ``gym.make`` keyword; several keywords
give their Cartesian product) runs the whole study once per value, with the same draws and
seeds: the cross-workload lottery of ArchGym's DRAM study is one study. Each run's
:attr:`RunSpec.env_kwargs` holds its value and :attr:`RunSpec.setup` names it
(``workload=random``). The default study name is readable:
``lottery-<Env-vN>[-<axis values>][-<other kwargs>]-b<budget>``, e.g.
``lottery-DRAM-v1-stream+random+cloud-1+cloud-2-b100`` (kwargs too long to read become a hash).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from archgym.errors import UserError
from archgym.agents import agent_class
from archgym.runner import canonical, run_id
from archgym.spaces import Design, DesignSpace

#: hyperparameters that change how fast an agent runs, never what it finds: not sampled
RUNTIME_HYPERPARAMETERS: frozenset[str] = frozenset({"torch_threads"})
#: how many times a draw the agent rejects is resampled before the study gives up
MAX_REDRAWS = 100
#: the agent every other one is compared with
BASELINE_AGENT = "random"


@dataclass(frozen=True)
class RunSpec:
    """One run of a study: everything a worker needs to execute it, and its identity."""

    study: str
    env_id: str
    env_kwargs: Mapping[str, Any]
    agent: str
    params: Mapping[str, Any]
    draw: int
    seed: int
    budget: int
    #: the study-axis values of this run, e.g. ``{"workload": "random"}`` (empty without an axis)
    axis: Mapping[str, Any] = field(default_factory=dict)

    @property
    def setup(self) -> str:
        """A readable label of the run's axis point, e.g. ``"workload=random"`` (``""`` without an axis)."""
        return axis_label(self.axis)

    @property
    def run_id(self) -> str:
        """Deterministic: the same env, kwargs, agent, hyperparameters, seed and budget give the same id."""
        return run_id(self.env_id, self.env_kwargs, self.agent, self.params, self.seed, self.budget)


def axis_label(point: Mapping[str, Any]) -> str:
    """``{"workload": "random"}`` -> ``"workload=random"``; several keys joined by ``,``."""
    return ",".join(f"{k}={v}" for k, v in point.items())


def _readable(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(canonical(value), sort_keys=True, separators=(",", ":"))


def default_name(env_id: str, env_kwargs: Mapping[str, Any], axis: Mapping[str, Sequence[Any]], budget: int) -> str:
    """``lottery-<Env-vN>[-<axis values>][-<kwargs>]-b<budget>``: readable, and the same for a grown study."""
    parts = ["lottery", env_id.rsplit("/", 1)[-1]]
    parts += ["+".join(_readable(v) for v in values) for values in axis.values()]
    if env_kwargs:
        text = ",".join(f"{k}={_readable(v)}" for k, v in sorted(env_kwargs.items()))
        if len(text) > 40 or any(c in text for c in "/\\ "):
            text = hashlib.sha256(json.dumps(canonical(env_kwargs), sort_keys=True).encode()).hexdigest()[:8]
        parts.append(text)
    parts.append(f"b{budget}")
    return "-".join(parts)


def _check_count(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise UserError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _stable_name_seed(name: str) -> int:
    return zlib.crc32(name.encode())


def _build_agent(agent: str, design_space: DesignSpace, params: Design) -> None:
    """Build ``agent`` with ``params`` on ``design_space``: raises ``ValueError`` if it rejects them."""
    agent_class(agent)(design_space, seed=0, **params)


@dataclass
class Study:
    """A hyperparameter-lottery study.

    Args:
        env_id: a registered env id, e.g. ``"archgym/DRAM-v0"``.
        agents: agent names (``archgym list agents``); ``random`` is added unless listed or
            ``include_random=False``.
        budget: evaluations per run (the same for every run).
        draws: hyperparameter draws per agent (ignored for agents given a ``grid``).
        seeds: number of seeds (``0 .. seeds-1``) or an explicit list of seeds.
        env_kwargs: ``gym.make`` keyword arguments.
        axis: ``{kwarg: [values...]}``: run the study once per value (Cartesian product over
            several kwargs), e.g. ``{"workload": ["stream", "random"]}``.
        grid: per agent, ``{hyperparameter: [values...]}``; the agent runs every combination.
        fixed: per agent, hyperparameters held at the given value (not sampled).
        sampler_seed: seeds the hyperparameter draws.
        name: the study's name in the dataset; default :func:`default_name` of the env, its
            kwargs, axis and budget, so growing a study (more agents, draws or seeds) resumes it.
        include_random: add the random-search baseline if it is not among ``agents``.
    """

    env_id: str
    agents: Sequence[str]
    budget: int
    draws: int = 1
    seeds: int | Sequence[int] = 1
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, Mapping[str, Sequence[Any]]] = field(default_factory=dict)
    fixed: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sampler_seed: int = 0
    name: str | None = None
    include_random: bool = True
    axis: Mapping[str, Sequence[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.budget = _check_count("budget", self.budget)
        self.draws = _check_count("draws", self.draws)
        self.sampler_seed = _check_count("sampler_seed", self.sampler_seed, minimum=0)
        if isinstance(self.agents, str):
            self.agents = [a.strip() for a in self.agents.split(",") if a.strip()]
        agents = list(dict.fromkeys(self.agents))
        if not agents:
            raise UserError("a study needs at least one agent")
        for agent in agents:
            agent_class(agent)  # unknown names raise, listing the valid ones
        if self.include_random and BASELINE_AGENT not in agents:
            agents.append(BASELINE_AGENT)
        self.agents = agents
        for option in ("grid", "fixed"):
            stray = [a for a in getattr(self, option) if a not in agents]
            if stray:
                raise UserError(f"{option} names agent(s) not in the study: {', '.join(stray)}; agents: {', '.join(agents)}")
        if isinstance(self.seeds, (int, np.integer)) and not isinstance(self.seeds, bool):
            self.seeds = list(range(_check_count("seeds", self.seeds)))
        else:
            seeds = [_check_count("seed", s, minimum=0) for s in self.seeds]
            if not seeds or len(set(seeds)) != len(seeds):
                raise UserError(f"seeds must be a count or a list of distinct integers >= 0, got {self.seeds!r}")
            self.seeds = seeds
        self.env_kwargs = dict(self.env_kwargs)
        axis: dict[str, list[Any]] = {}
        for key, values in dict(self.axis).items():
            values = [v.strip() for v in values.split(",") if v.strip()] if isinstance(values, str) else list(values)
            if not values:
                raise UserError(f"study axis {key!r} has no values")
            if len({json.dumps(canonical(v), sort_keys=True) for v in values}) != len(values):
                raise UserError(f"study axis {key!r} repeats a value: {values}")
            if key in self.env_kwargs:
                raise UserError(f"{key!r} is both a study axis and a fixed env kwarg ({self.env_kwargs[key]!r})")
            axis[str(key)] = values
        self.axis = axis
        if self.name is None:
            self.name = default_name(self.env_id, self.env_kwargs, self.axis, self.budget)

    def axis_points(self) -> list[dict[str, Any]]:
        """Every combination of the axis values, in order (``[{}]`` without an axis)."""
        keys = list(self.axis)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.axis[k] for k in keys))]

    def env_kwargs_for(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """The ``gym.make`` kwargs of one axis point."""
        return {**self.env_kwargs, **point}

    # -- hyperparameters ------------------------------------------------------------------
    def hyperparameter_draws(self, agent: str, check: Callable[[Design], None] | None = None) -> list[Design]:
        """The hyperparameter settings ``agent`` runs with, in draw order.

        ``check(params)`` raises ``ValueError`` for a combination the agent rejects (see the
        module docstring); :meth:`runs` passes one that builds the agent on the env's space.
        """
        cls = agent_class(agent)
        space = cls.hyperparameter_space
        fixed = dict(self.fixed.get(agent, {}))
        if space is None:
            if fixed or agent in self.grid:
                raise UserError(f"agent {agent!r} has no hyperparameters to fix or grid over")
            return [{}]
        cls.resolve_hyperparameters(fixed)  # unknown names / bad values raise here
        if agent in self.grid:
            return self._grid(agent, space, fixed, check)
        free = [p for p in space if p.name not in fixed and p.name not in RUNTIME_HYPERPARAMETERS]
        sampled = DesignSpace(free) if free else None
        draws = []
        for draw in range(self.draws):
            rng = np.random.default_rng([self.sampler_seed, _stable_name_seed(agent), draw])
            error: ValueError | None = None
            attempts = MAX_REDRAWS if sampled is not None else 1  # nothing to resample: one try
            for _ in range(attempts):
                params = cls.resolve_hyperparameters({**(sampled.sample(rng) if sampled else {}), **fixed})
                try:
                    if check is not None:
                        check(params)
                except ValueError as exc:
                    error = exc
                    continue
                draws.append(params)
                break
            else:
                raise UserError(f"agent {agent!r}: no valid hyperparameters in {attempts} draw(s); last error: {error}")
        return draws

    def _grid(self, agent: str, space: DesignSpace, fixed: Design, check: Callable[[Design], None] | None) -> list[Design]:
        grid = self.grid[agent]
        cls = agent_class(agent)
        names = list(grid)
        points = []
        for values in itertools.product(*(list(grid[n]) for n in names)):
            params = cls.resolve_hyperparameters({**fixed, **dict(zip(names, values))})
            if check is not None:
                try:
                    check(params)
                except ValueError as exc:
                    raise UserError(f"agent {agent!r} rejects grid point {dict(zip(names, values))}: {exc}") from None
            points.append(params)
        return points

    # -- runs -----------------------------------------------------------------------------
    def runs(self, design_space: DesignSpace | None = None) -> list[RunSpec]:
        """Every run of the study (agents × draws × seeds), duplicates removed, in a stable order.

        ``design_space`` (the env's) is used to check sampled hyperparameters by building the
        agent; without it only the declared ranges are checked.
        """
        specs: dict[str, RunSpec] = {}
        draws = {}
        for agent in self.agents:
            check = None if design_space is None else functools.partial(_build_agent, agent, design_space)
            draws[agent] = self.hyperparameter_draws(agent, check)
        for point in self.axis_points():
            kwargs = self.env_kwargs_for(point)
            for agent in self.agents:
                for draw, params, seed in self._replicates(draws[agent]):
                    spec = RunSpec(self.name, self.env_id, kwargs, agent, params, draw, seed, self.budget, point)
                    specs.setdefault(spec.run_id, spec)
        return list(specs.values())

    def _replicates(self, draws: list[Design]) -> list[tuple[int, Design, int]]:
        """(draw, params, seed) of an agent's runs: draws × seeds; a single-draw agent (no
        hyperparameters) gets ``self.draws × len(seeds)`` seeds instead, so it runs as often."""
        seeds = list(self.seeds)  # type: ignore[arg-type]
        if len(draws) == 1 and self.draws > 1:
            extra = range(max(seeds) + 1, max(seeds) + 1 + (self.draws - 1) * len(seeds))
            all_seeds = seeds + list(extra)
            return [(i // len(seeds), draws[0], seed) for i, seed in enumerate(all_seeds)]
        return [(draw, params, seed) for draw, params in enumerate(draws) for seed in seeds]

