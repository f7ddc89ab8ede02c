"""The agent interface: ``ask`` for suggestions, ``tell`` their outcome, ``run`` the loop on an env.

Agents know design spaces, never specific environments. Each declares its hyperparameters as
a :class:`~archgym.spaces.DesignSpace` (so studies sample them with the same machinery), takes a
seed, and names its algorithm and reference in its docstring.

The contract (after Optuna's ask/tell):

* ``ask()`` returns one :class:`Suggestion` (a design with an id), ``ask(n)`` a list of ``n``
  (a batch, for parallel or vectorised evaluation);
* ``tell(suggestion, reward, metrics, feasible)`` reports its outcome. A design the simulator
  could not evaluate is told with ``feasible=False``: it is recorded (the run's reward curve
  keeps the env's penalty) but learners see it as a failure, never as a very bad reward;
* an agent does not propose a design it has already been told about (or has pending) unless
  its algorithm means to, which its docstring then says.
"""

from __future__ import annotations

import abc
import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Hashable, Mapping, overload

import gymnasium as gym
import numpy as np

from archgym.errors import UserError
from archgym.spaces import Design, DesignSpace

#: how many draws :meth:`Agent.fresh` tries before accepting a design it has seen
FRESH_TRIES = 100


@dataclass(frozen=True)
class Suggestion:
    """A design proposed by :meth:`Agent.ask`; ``id`` is what :meth:`Agent.tell` refers to."""

    id: int
    design: Design


@dataclass(frozen=True)
class Outcome:
    """What :meth:`Agent.update` learns from: a told suggestion and its result.

    ``reward`` is the env's reward (its failure penalty when ``feasible`` is false, which
    learners must not treat as a measurement); ``metrics`` is empty for a failed design.
    """

    suggestion: Suggestion
    reward: float
    metrics: Mapping[str, float]
    feasible: bool

    @property
    def design(self) -> Design:
        return self.suggestion.design


@dataclass
class RunResult:
    """What an agent found within its budget."""

    agent: str
    evaluations: int = 0
    best_design: Design | None = None
    best_reward: float = -math.inf
    best_metrics: dict[str, float] = field(default_factory=dict)
    rewards: list[float] = field(default_factory=list)
    #: per evaluation, whether the design was evaluated successfully
    feasible: list[bool] = field(default_factory=list)
    #: how many distinct designs the evaluations covered
    unique_designs: int = 0

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

    Subclasses set :attr:`name`, optionally :attr:`hyperparameter_space`, implement
    :meth:`propose_one` (or :meth:`propose` for batches) and :meth:`update` if they learn.
    Population agents override :attr:`batch_size` so :meth:`run` asks for a whole generation at
    once (and a simulator with ``evaluate_batch`` receives it whole).
    """

    #: registry name, e.g. ``"random"``
    name: ClassVar[str] = "agent"
    #: the agent's hyperparameters with their default ranges; ``None`` when it has none
    hyperparameter_space: ClassVar[DesignSpace | None] = None

    def __init__(self, design_space: DesignSpace, seed: int | None = None, **hyperparameters: Any) -> None:
        self.design_space = design_space
        self._names = design_space.names
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.hyperparameters = self.resolve_hyperparameters(hyperparameters)
        self.result = RunResult(agent=self.name)
        self._ids = itertools.count()
        self._pending: dict[int, Suggestion] = {}
        #: keys of every design proposed or told (what :meth:`fresh` avoids)
        self._seen: set[Hashable] = set()
        #: told designs: key -> reward (``None`` when the design failed)
        self.told: dict[Hashable, float | None] = {}

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
    @overload
    def ask(self) -> Suggestion: ...
    @overload
    def ask(self, n: int) -> list[Suggestion]: ...

    def ask(self, n: int | None = None) -> Suggestion | list[Suggestion]:
        """One suggestion, or a list of ``n`` (a batch to evaluate together)."""
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
            raise ValueError(f"ask(n) needs a positive integer number of suggestions, got {n!r}")
        count = 1 if n is None else int(n)
        designs = self.propose(count)
        if len(designs) != count:
            raise RuntimeError(f"agent {self.name!r} proposed {len(designs)} designs when asked for {count}")
        suggestions = [Suggestion(next(self._ids), dict(design)) for design in designs]
        for suggestion in suggestions:
            self._pending[suggestion.id] = suggestion
            self._seen.add(self.key(suggestion.design))
        return suggestions[0] if n is None else suggestions

    def propose(self, n: int) -> list[Design]:
        """``n`` designs to evaluate next (default: :meth:`propose_one` ``n`` times)."""
        designs = []
        for _ in range(n):
            design = self.propose_one()
            self._seen.add(self.key(design))  # so the rest of the batch avoids it too
            designs.append(design)
        return designs

    def propose_one(self) -> Design:
        """The next design to evaluate (subclasses implement this or :meth:`propose`)."""
        raise NotImplementedError(f"agent {type(self).__name__} implements neither propose_one() nor propose(n)")

    def tell(
        self,
        suggestion: Suggestion | int,
        reward: float | None,
        metrics: Mapping[str, float] | None = None,
        feasible: bool = True,
    ) -> None:
        """Report the outcome of a suggestion from :meth:`ask` (or its id).

        A non-finite reward counts as a failure. ``reward`` may be ``None`` only for a failure.
        """
        if isinstance(suggestion, Mapping):
            raise TypeError("tell() takes the Suggestion returned by ask() (or its id), not a design dict")
        sid = suggestion.id if isinstance(suggestion, Suggestion) else suggestion
        try:
            asked = self._pending.pop(sid)
        except (KeyError, TypeError):
            raise ValueError(
                f"unknown suggestion id {sid!r} for agent {self.name!r}: it was never returned by ask() or was "
                f"already told (pending ids: {sorted(self._pending)[:10]})"
            ) from None
        if reward is None:
            if feasible:
                self._pending[sid] = asked
                raise ValueError(f"suggestion {sid}: a feasible outcome needs a numeric reward, got None")
            reward = -math.inf
        reward = float(reward)
        feasible = bool(feasible) and math.isfinite(reward)
        outcome = Outcome(asked, reward, dict(metrics or {}), feasible)
        self._record(outcome.design, reward, outcome.metrics, feasible)
        self.update(outcome)

    def update(self, outcome: Outcome) -> None:
        """Learn from one told outcome (default: nothing to learn)."""

    def _record(self, design: Design, reward: float, metrics: Mapping[str, float], feasible: bool) -> None:
        """Bookkeeping of every evaluation: the reward curve, the best feasible design, what was seen."""
        result = self.result
        key = self.key(design)
        self._seen.add(key)
        self.told[key] = reward if feasible else None
        result.evaluations += 1
        result.rewards.append(reward)
        result.feasible.append(feasible)
        result.unique_designs = len(self.told)
        if feasible and reward > result.best_reward:
            result.best_reward = reward
            result.best_design = dict(design)
            result.best_metrics = dict(metrics)

    # -- helpers for subclasses ------------------------------------------------------------
    def key(self, design: Mapping[str, Any]) -> Hashable:
        """A hashable identity of a design (its values in the space's parameter order)."""
        return tuple(map(design.__getitem__, self._names))

    def seen(self, design: Mapping[str, Any]) -> bool:
        """Whether ``design`` was already proposed or told."""
        return self.key(design) in self._seen

    def fresh(self, draw: Callable[[], Design], tries: int = FRESH_TRIES) -> Design:
        """``draw()`` until it gives a design not seen yet (and reserve it).

        If ``tries`` draws all repeat known designs (a converged population), a uniformly random
        unseen design is taken instead (a "random immigrant"); only when that fails too — a
        (nearly) exhausted space — is a known design returned.
        """
        design = draw()
        for _ in range(tries - 1):
            if not self.seen(design):
                break
            design = draw()
        else:
            for _ in range(FRESH_TRIES):
                if not self.seen(design):
                    break
                design = self.design_space.sample(self.rng)
        self._seen.add(self.key(design))
        return design

    @property
    def batch_size(self) -> int:
        """How many suggestions :meth:`run` asks for at once (1: sequential agents)."""
        return 1

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

        Asks for :attr:`batch_size` suggestions at a time (never past the budget); a batch is
        handed to the env's :meth:`~archgym.env.DSEEnv.prefetch` first, so a simulator with
        ``evaluate_batch`` evaluates it whole, and then stepped design by design so every
        wrapper (time limit, dataset recording) sees each evaluation. Episodes that end
        (``max_episode_steps``) are reset; every evaluation counts.
        """
        self.check_budget(budget)
        self.check_env(env)
        prefetch = getattr(env.unwrapped, "prefetch", None)
        env.reset(seed=self.seed)
        step = 0
        while step < budget:
            suggestions = self.ask(max(1, min(int(self.batch_size), budget - step)))
            if len(suggestions) > 1 and prefetch is not None:
                prefetch([s.design for s in suggestions])
            for suggestion in suggestions:
                _, reward, terminated, truncated, info = env.step(suggestion.design)
                self.tell(suggestion, reward, info.get("metrics"), info.get("feasible", True))
                if callback is not None:
                    callback(step, suggestion.design, reward, info)
                step += 1
                if terminated or truncated:
                    env.reset()
        return self.result
