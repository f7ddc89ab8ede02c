"""Ant colony optimisation over the parameter graph of a design space."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from archgym.agents.base import Agent, Outcome
from archgym.spaces import Design, DesignSpace, Integer, Parameter, Real

#: ordered discrete parameters with more values than this are grouped into this many bins
MAX_NODES = 32
#: a real parameter's range is split into this many bins (log-spaced for ``log`` parameters)
REAL_BINS = 16
#: no sampling weight τ^α falls below this fraction of its parameter's largest (MAX–MIN ant system)
PHEROMONE_FLOOR = 0.02
#: ant walks tried before a design seen before is accepted (each walk lowers the pheromone it used)
_CONSTRUCTION_TRIES = 50
#: pheromone stays positive even under full evaporation (``evaporation=1``)
_TAU_MIN = 1e-12


class _Trail:
    """The nodes one parameter offers an ant, and its pheromone vector over them.

    A node is one choice for categorical parameters and for ordered ones with at most
    :data:`MAX_NODES` values; larger ordered ranges are split into :data:`MAX_NODES` contiguous
    bins and reals into :data:`REAL_BINS` equal (log-)width bins, an ant picking a bin and then a
    uniformly random value inside it.
    """

    def __init__(self, parameter: Parameter, pheromone_init: float) -> None:
        self.parameter = parameter
        self._edges: np.ndarray | None = None  # bin edges in (log-)value space, reals only
        self._starts: np.ndarray | None = None  # first index of each bin, binned discrete only
        if isinstance(parameter, Real):
            low, high = parameter.low, parameter.high
            if parameter.log:
                low, high = math.log(low), math.log(high)
            self._edges = np.linspace(low, high, REAL_BINS + 1)
            n_nodes = REAL_BINS
        elif parameter.ordered and parameter.n > MAX_NODES:
            self._starts = np.array([chunk[0] for chunk in np.array_split(np.arange(parameter.n), MAX_NODES)])
            n_nodes = MAX_NODES
        else:
            n_nodes = parameter.n
        self.tau = np.full(n_nodes, float(pheromone_init))

    def node_of(self, value: Any) -> int:
        """The node a value belongs to."""
        p = self.parameter
        if self._edges is not None:
            x = math.log(value) if p.log else float(value)
            return int(np.clip(np.searchsorted(self._edges, x, side="right") - 1, 0, len(self.tau) - 1))
        index = p.index(value)
        if self._starts is not None:
            return int(np.searchsorted(self._starts, index, side="right") - 1)
        return index

    def value_of(self, node: int, rng: np.random.Generator) -> Any:
        """A value of the parameter in ``node`` (uniform within a bin)."""
        p = self.parameter
        if self._edges is not None:
            x = float(rng.uniform(self._edges[node], self._edges[node + 1]))
            x = math.exp(x) if p.log else x
            return float(min(max(x, p.low), p.high))
        if self._starts is not None:
            end = self._starts[node + 1] if node + 1 < len(self._starts) else p.n
            return p.value(int(rng.integers(self._starts[node], end)))
        return p.value(node)


class AntColony(Agent):
    """Ant colony optimisation (Dorigo & Stützle, 2004) over the parameter graph.

    Every parameter carries a pheromone vector τ over its choices (see :class:`_Trail` for how
    reals and very large integer ranges become a finite set of bins), initialised to
    ``pheromone_init``. An ant builds a design parameter by parameter: with probability
    ``greediness`` (q0, the pseudo-random proportional rule of the Ant Colony System) it takes the
    choice of highest pheromone, otherwise it samples a choice with probability ∝ τ^``alpha``.
    The heuristic factor η^β of ACO is 1 here: a generic design space carries no problem-specific
    desirability, and agents never special-case an env. After each choice the ACS local update
    ``τ ← (1 − decay)·τ + decay·pheromone_init`` makes the next ants of the same iteration less
    likely to repeat it.

    An iteration is ``ant_count`` ants. Once all of them have been told, pheromone evaporates,
    ``τ ← (1 − evaporation)·τ``, and is deposited by *rank* (rank-based Ant System, Bullnheimer,
    Hartl & Strauss 1999): with w = ⌈ant_count / 2⌉, the iteration's r-th best ant (r < w)
    deposits ∝ w − r on each of its choices and the best design found so far deposits ∝ w;
    deposits sum to 1 per parameter per iteration. Ranks make the update independent of the
    reward's scale and sign (rewards here are often negative). The budget may end mid-iteration.

    No design is evaluated twice: an ant whose walk ends on a design already proposed walks
    again (each walk's local update makes the same path less likely; up to 50 walks), which
    matters once the pheromone has converged — the plain colony spent 71 % of 200 evaluations on
    NAS-Bench-201 re-querying designs. A failed ant deposits nothing. :meth:`run` asks for an
    iteration's ants as one batch.

    The sampling weights τ^α are floored at :data:`PHEROMONE_FLOOR` × their largest (the MAX–MIN
    bound, Stützle & Hoos 2000, applied after the exponent so it holds for every ``alpha``): no
    choice ever becomes unreachable. Defaults (few ants, moderate evaporation, α = 1.5) were
    tuned for budgets of a few hundred evaluations on ``archgym/Synthetic-v0`` and its
    20-parameter variant.

    References: M. Dorigo, T. Stützle, "Ant Colony Optimization", MIT Press 2004; M. Dorigo,
    L. M. Gambardella, "Ant Colony System", IEEE TEC 1997; ArchGym's ACO agent (Krishnan et al.,
    ISCA 2023), whose knobs (ant count, greediness, evaporation, decay, initial pheromone) this
    mirrors.
    """

    name = "aco"
    hyperparameter_space = DesignSpace(
        [
            Integer("ant_count", 2, 64, default=4),
            Real("greediness", 0.0, 1.0, default=0.2),
            Real("evaporation", 0.1, 1.0, default=0.3),
            Real("pheromone_init", 0.01, 10.0, log=True, default=1.0),
            Real("alpha", 0.5, 4.0, default=1.5),
            Real("decay", 0.0, 0.5, default=0.2),
        ]
    )

    def __init__(self, design_space: DesignSpace, seed: int | None = None, **hyperparameters: Any) -> None:
        super().__init__(design_space, seed=seed, **hyperparameters)
        hp = self.hyperparameters
        self.trails: dict[str, _Trail] = {p.name: _Trail(p, hp["pheromone_init"]) for p in design_space.parameters}
        #: completed pheromone updates
        self.iteration = 0
        self._ants: list[tuple[Design, float]] = []
        self._told_in_iteration = 0
        self._asked_in_iteration = 0

    # -- ask/tell ------------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        """The ants of the current iteration not yet asked for."""
        return max(1, self.hyperparameters["ant_count"] - self._asked_in_iteration)

    def propose_one(self) -> Design:
        self._asked_in_iteration += 1
        return self.fresh(self._construct, tries=_CONSTRUCTION_TRIES)

    def _construct(self) -> Design:
        """One ant's walk through the parameter graph (with the ACS local pheromone update)."""
        hp = self.hyperparameters
        design: Design = {}
        for name, trail in self.trails.items():
            node = self._choose(trail.tau)
            if hp["decay"] > 0:
                trail.tau[node] = (1 - hp["decay"]) * trail.tau[node] + hp["decay"] * hp["pheromone_init"]
            design[name] = trail.value_of(node, self.rng)
        return design

    def update(self, outcome: Outcome) -> None:
        self._told_in_iteration += 1
        if outcome.feasible:  # a failed ant deposits nothing
            self._ants.append((dict(outcome.design), outcome.reward))
        if self._told_in_iteration >= self.hyperparameters["ant_count"]:
            self._update_pheromone()

    # -- the colony ------------------------------------------------------------------------
    def _choose(self, tau: np.ndarray) -> int:
        if self.rng.random() < self.hyperparameters["greediness"]:
            best = np.flatnonzero(tau == tau.max())
            return int(best[self.rng.integers(len(best))])
        weights = tau ** self.hyperparameters["alpha"]
        weights = np.maximum(weights, PHEROMONE_FLOOR * weights.max())
        return int(self.rng.choice(len(tau), p=weights / weights.sum()))

    def deposits(self) -> list[tuple[Design, float]]:
        """The (design, weight) pairs of this iteration's rank-based deposit; weights sum to 1."""
        ranked = sorted(self._ants, key=lambda ant: ant[1], reverse=True)
        w = max(1, math.ceil(self.hyperparameters["ant_count"] / 2))
        weighted = [(design, float(w - r)) for r, (design, _) in enumerate(ranked[: w - 1], start=1)]
        if self.result.best_design is not None:
            weighted.append((self.result.best_design, float(w)))
        total = sum(weight for _, weight in weighted)
        if total <= 0:
            return []
        return [(design, weight / total) for design, weight in weighted]

    def _update_pheromone(self) -> None:
        deposits = self.deposits()
        for name, trail in self.trails.items():
            trail.tau *= 1.0 - self.hyperparameters["evaporation"]
            for design, weight in deposits:
                trail.tau[trail.node_of(design[name])] += weight
            np.maximum(trail.tau, _TAU_MIN, out=trail.tau)
        self._ants = []
        self._told_in_iteration = 0
        self._asked_in_iteration = max(0, self._asked_in_iteration - self.hyperparameters["ant_count"])
        self.iteration += 1
