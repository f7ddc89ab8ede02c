"""Ant colony: pheromone follows good choices, rank-based deposits, bins for reals and wide ranges."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from archgym.agents import make_agent
from archgym.agents.aco import MAX_NODES, REAL_BINS, AntColony, _Trail
from archgym.spaces import Categorical, DesignSpace, Integer, Real

GOOD = {"p0": "b", "p1": "d", "p2": "a"}
SPACE = DesignSpace([Categorical(name, ("a", "b", "c", "d", "e")) for name in GOOD])


def matches(design) -> float:
    return float(sum(design[n] == v for n, v in GOOD.items()))


def test_pheromone_concentrates_on_the_rewarded_choices(driver):
    agent = make_agent("aco", SPACE, seed=0, ant_count=6)
    driver(agent, matches, 120)
    assert agent.iteration == 20
    for name, good in GOOD.items():
        trail = agent.trails[name]
        assert int(np.argmax(trail.tau)) == SPACE[name].index(good)
    # the colony found the optimum and, on a 125-design space, evaluated nothing twice
    assert agent.result.best_reward == 3.0
    assert agent.result.unique_designs == 120



def test_deposits_depend_on_reward_rank_only(driver):
    """Shifted, scaled (and negative) rewards give the same colony: deposits use ranks."""

    def trajectory(transform):
        agent = make_agent("aco", SPACE, seed=5, ant_count=4)
        return [d for d, _ in driver(agent, lambda d: transform(matches(d)), 60)]

    assert trajectory(lambda r: r) == trajectory(lambda r: 1000.0 * r - 1e6)


def test_pheromone_updates_once_per_iteration_of_ant_count_ants(mixed, mixed_reward, driver):
    agent = make_agent("aco", mixed, seed=1, ant_count=5, decay=0.0)
    before = {n: t.tau.copy() for n, t in agent.trails.items()}
    driver(agent, mixed_reward, 4)
    assert agent.iteration == 0
    assert all(np.array_equal(before[n], t.tau) for n, t in agent.trails.items())
    driver(agent, mixed_reward, 1)
    assert agent.iteration == 1
    assert any(not np.array_equal(before[n], t.tau) for n, t in agent.trails.items())


def test_deposit_weights_sum_to_one_and_favour_better_ranks(driver):
    agent = AntColony(SPACE, seed=2, ant_count=8)
    driver(agent, matches, 7)  # one ant short of an iteration: the 7 ants are pending
    weights = agent.deposits()
    assert sum(w for _, w in weights) == pytest.approx(1.0)
    *ranked, (best_so_far, best_weight) = weights  # w = 4: the 3 best ants, then the best-so-far
    assert len(ranked) == 3
    assert [w for _, w in ranked] == sorted((w for _, w in ranked), reverse=True)
    assert best_so_far == agent.result.best_design and best_weight > ranked[0][1]
    rewards = sorted((matches(d) for d, _ in agent._ants), reverse=True)
    assert [matches(d) for d, _ in ranked] == rewards[:3]


def test_no_choice_becomes_unreachable():
    agent = make_agent("aco", SPACE, seed=3, ant_count=2, evaporation=1.0, greediness=0.0, decay=0.0, alpha=4.0)
    for _ in range(50):
        suggestion = agent.ask()
        agent.tell(suggestion, matches(suggestion.design))
    counts = Counter(agent.ask().design["p0"] for _ in range(600))
    assert set(counts) == set(SPACE["p0"].choices)


def test_reals_and_wide_integers_are_binned_and_stay_valid(mixed, mixed_reward, driver):
    agent = make_agent("aco", mixed, seed=4)
    assert len(agent.trails["rate"].tau) == REAL_BINS
    assert len(agent.trails["depth"].tau) == MAX_NODES  # 1000 values -> bins
    assert len(agent.trails["width"].tau) == 4 and len(agent.trails["fixed"].tau) == 1
    designs = [d for d, _ in driver(agent, mixed_reward, 150)]
    assert all(mixed.validate(d) == d for d in designs)
    assert agent.result.best_reward > max(agent.result.rewards[:4]) + 0.5


def test_trail_nodes_round_trip():
    rng = np.random.default_rng(0)
    parameters = (
        Real("r", 1e-3, 1.0, log=True), Real("x", -2.0, 3.0), Integer("i", 0, 99), Integer("w", 1, 10**6, log=True)
    )
    for parameter in parameters:
        trail = _Trail(parameter, 1.0)
        for node in range(len(trail.tau)):
            for _ in range(5):
                value = trail.value_of(node, rng)
                assert DesignSpace([parameter]).validate({parameter.name: value})
                assert trail.node_of(value) == node
