"""A generational genetic algorithm with tournament selection, uniform crossover and elitism."""

from __future__ import annotations

from typing import Any

from archgym.agents import _operators as ops
from archgym.agents.base import Agent, Outcome
from archgym.spaces import Design, DesignSpace, Integer, Real

#: how many extra one-gene mutations a child gets, at most, to differ from every known design
_MAX_DEDUPLICATION_TRIES = 8


class GeneticAlgorithm(Agent):
    """Genetic algorithm (Holland, 1975; Goldberg, 1989) as ArchGym tunes it.

    Generation 0 is ``population`` uniformly random designs. Each later generation keeps the
    ``elite`` best designs of the previous one (elitism: they are carried over with their known
    rewards, not evaluated again) and evaluates ``population − elite`` children. A child is bred by
    picking a parent with a tournament (the best of ``tournament_size`` members drawn with
    replacement); with ``crossover_probability`` a second tournament parent is drawn and the two
    are combined by uniform crossover. Then every gene mutates with ``mutation_probability``: it
    takes a uniformly random other value, or — on ordered parameters, with probability
    ``neighbour_mutation`` — steps to an adjacent value (a Gaussian step for reals).

    Instead of a per-gene mutation floor of ``1/n_params``, a child identical to a design already
    evaluated (or already queued) gets extra one-gene mutations until it is new (a few tries; then
    a random unseen design replaces it), so no evaluation is spent re-measuring a known design; ArchGym's small mutation rates
    (0.001–0.1) would otherwise make most children clones.

    :meth:`run` asks for a whole generation at a time (a simulator with ``evaluate_batch``
    evaluates it in one call). A failed child (``feasible=False``) is never a parent, and
    generation 0 is drawn without repeats.

    Generations are as many as the budget allows: the agent breeds a new one whenever all members
    of the current one have been told, and the run simply stops mid-generation at the budget.
    ``elite`` is capped at ``population − 1`` so every generation evaluates at least one child.

    Defaults (a small population, strong selection, 4 elites) were tuned for budgets of a few
    hundred evaluations on ``archgym/Synthetic-v0`` and its 20-parameter variant; larger
    populations suit larger budgets.

    References: J. H. Holland, "Adaptation in Natural and Artificial Systems", 1975;
    D. E. Goldberg, "Genetic Algorithms in Search, Optimization and Machine Learning", 1989;
    hyperparameter ranges after the GA sweeps of ArchGym (Krishnan et al., ISCA 2023).
    """

    name = "ga"
    hyperparameter_space = DesignSpace(
        [
            Integer("population", 2, 64, default=10),
            Real("mutation_probability", 0.001, 0.1, log=True, default=0.05),
            Real("crossover_probability", 0.0, 1.0, default=0.9),
            Integer("tournament_size", 2, 8, default=5),
            Integer("elite", 0, 8, default=4),
            Real("neighbour_mutation", 0.0, 1.0, default=0.5),
        ]
    )

    def __init__(self, design_space: DesignSpace, seed: int | None = None, **hyperparameters: Any) -> None:
        super().__init__(design_space, seed=seed, **hyperparameters)
        hp = self.hyperparameters
        self.population_size: int = hp["population"]
        self.elite: int = min(hp["elite"], self.population_size - 1)
        #: the current parents, as (design, reward); empty before generation 0 is evaluated
        self.population: list[tuple[Design, float]] = []
        #: index of the generation being evaluated (0 = the random initial population)
        self.generation = 0
        self._queue: list[Design] = []
        self._outstanding = 0
        self._children: list[tuple[Design, float]] = []

    # -- ask/tell ------------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        """The rest of the current generation (a whole generation once the last was told)."""
        if self._queue:
            return len(self._queue)
        if self._outstanding:
            return 1
        return self.population_size - (min(self.elite, len(self.population)) if self.population else 0)

    def propose(self, n: int) -> list[Design]:
        designs: list[Design] = []
        while len(designs) < n:
            if not self._queue:
                # a generation is bred from told parents; asked for more before it was told, the
                # current parents breed extra children of the same generation
                self._queue = self._breed()
            take = min(n - len(designs), len(self._queue))
            designs += self._queue[:take]
            del self._queue[:take]
        self._outstanding += len(designs)
        return designs

    def update(self, outcome: Outcome) -> None:
        self._outstanding = max(0, self._outstanding - 1)
        if outcome.feasible:  # a failed child never becomes a parent
            self._children.append((dict(outcome.design), outcome.reward))
        if not self._queue and self._outstanding == 0:
            self._advance()

    # -- the generation cycle ----------------------------------------------------------------
    def _advance(self) -> None:
        """Replace the population by its elite plus the children just evaluated."""
        ranked_parents = sorted(self.population, key=lambda member: member[1], reverse=True)
        ranked_children = sorted(self._children, key=lambda member: member[1], reverse=True)
        elite = ranked_parents[: self.elite]
        self.population = elite + ranked_children[: max(self.population_size - len(elite), 0)]
        self._children = []
        self.generation += 1

    def _breed(self) -> list[Design]:
        if not self.population:
            return [self.fresh(lambda: self.design_space.sample(self.rng)) for _ in range(self.population_size)]
        n_children = self.population_size - min(self.elite, len(self.population))
        children: list[Design] = []
        for _ in range(n_children):
            child = self._make_child()
            for _ in range(_MAX_DEDUPLICATION_TRIES):
                if not self.seen(child):
                    break
                child = ops.mutate_one(self.design_space, child, self.rng, self.hyperparameters["neighbour_mutation"])
            # still a known design (a converged population): a random immigrant instead
            children.append(self.fresh(lambda c=child: c, tries=1))
        return children

    def _make_child(self) -> Design:
        hp = self.hyperparameters
        first = self._tournament()
        if self.rng.random() < hp["crossover_probability"]:
            child = ops.uniform_crossover(self.design_space, first, self._tournament(), self.rng)
        else:
            child = dict(first)
        return ops.mutate_genes(
            self.design_space, child, self.rng, hp["mutation_probability"], hp["neighbour_mutation"]
        )

    def _tournament(self) -> Design:
        """The best of ``tournament_size`` population members drawn with replacement."""
        entrants = self.rng.integers(len(self.population), size=self.hyperparameters["tournament_size"])
        winner = max(entrants, key=lambda i: self.population[i][1])
        return self.population[winner][0]
