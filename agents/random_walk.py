"""Random walk over a design space's neighbourhood graph (ArchGym's random walker)."""

from __future__ import annotations

from typing import Any

from archgym.agents.base import Agent, Outcome
from archgym.spaces import Categorical, Design, DesignSpace, Real


class RandomWalk(Agent):
    """Random walk: start at a random design and step to a random neighbour each evaluation.

    Neighbours are :meth:`DesignSpace.neighbours` — one parameter changed by one step (adjacent
    value for ordered parameters, any other choice for categorical ones). Hyperparameters:

    * ``accept="always"`` is the pure random walk of ArchGym: the walk moves to every proposed
      neighbour whatever its reward. ``accept="improving"`` moves only when the neighbour is not
      worse than the current design (equal rewards are accepted so the walk can cross
      plateaus) — a stochastic first-improvement hill climber. In that mode each neighbour of
      the current design is proposed at most once; when all have been rejected the current design
      is a local optimum and the walk restarts from a random design.
    * ``restart_probability``: chance, per step, of jumping to a fresh uniformly random design
      (which becomes the current design unconditionally).

    ``accept="always"`` re-proposes designs by design (it is a walk, revisits included).

    The default (``improving``, small restart probability) is the variant that beats random
    search; ``accept="always", restart_probability=0`` reproduces ArchGym's walker.

    Reference: S. Krishnan et al., "ArchGym: An Open-Source Gymnasium for Machine Learning
    Assisted Architecture Design", ISCA 2023.
    """

    name = "random_walk"
    hyperparameter_space = DesignSpace(
        [
            Real("restart_probability", 0.0, 0.5, default=0.01),
            Categorical("accept", ("always", "improving"), default="improving"),
        ]
    )

    def __init__(self, design_space: DesignSpace, seed: int | None = None, **hyperparameters: Any) -> None:
        super().__init__(design_space, seed=seed, **hyperparameters)
        self.restart_probability: float = self.hyperparameters["restart_probability"]
        self.improving: bool = self.hyperparameters["accept"] == "improving"
        #: the walk's position and its reward (``None`` until the position has been evaluated)
        self.current: Design | None = None
        self.current_reward: float | None = None
        #: neighbours of ``current`` not yet proposed (``improving`` mode)
        self._untried: list[Design] = []
        #: whether the last proposal was a jump to a random design rather than a neighbour
        self._jump = True
        #: keys of pending proposals that were jumps (a batch mixes jumps and neighbours)
        self._jumps: set = set()

    def propose_one(self) -> Design:
        design = self._propose()
        if self._jump:
            self._jumps.add(self.key(design))
        return design

    def _propose(self) -> Design:
        self._jump = self.current is None or self.rng.random() < self.restart_probability
        if self._jump:
            return self.fresh(lambda: self.design_space.sample(self.rng))
        if not self.improving:
            neighbours = self.design_space.neighbours(self.current)
            return neighbours[int(self.rng.integers(len(neighbours)))] if neighbours else dict(self.current)
        while self._untried:
            candidate = self._untried.pop(int(self.rng.integers(len(self._untried))))
            if not self.seen(candidate):
                return candidate
            known = self.told.get(self.key(candidate))
            if known is not None and known > self.current_reward:
                # already measured and better: move there without spending an evaluation
                self._move(candidate, known)
        # every neighbour was rejected (or is known not to improve): a local optimum
        self._jump = True
        return self.fresh(lambda: self.design_space.sample(self.rng))

    def update(self, outcome: Outcome) -> None:
        key = self.key(outcome.design)
        jump = key in self._jumps
        self._jumps.discard(key)
        if not outcome.feasible:
            return  # a failed design is never a position of the walk
        reward = outcome.reward
        if jump or not self.improving or self.current_reward is None or reward >= self.current_reward:
            self._move(outcome.design, reward)

    def _move(self, design: Design, reward: float) -> None:
        self.current = dict(design)
        self.current_reward = reward
        if self.improving:
            self._untried = self.design_space.neighbours(self.current)
