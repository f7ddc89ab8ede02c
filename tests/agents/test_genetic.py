"""Genetic algorithm: generations, elitism, no re-evaluation, valid offspring on any space."""

from __future__ import annotations

import numpy as np
import pytest

from archgym.agents import _operators as ops
from archgym.agents import make_agent
from archgym.spaces import Categorical, DesignSpace, Integer, PowerOfTwo, Real


def test_generation_sizes_follow_population_and_elite(mixed, mixed_reward, driver):
    agent = make_agent("ga", mixed, seed=0, population=6, elite=2)
    driver(agent, mixed_reward, 6)  # generation 0: the random initial population
    assert agent.generation == 1 and len(agent.population) == 6
    driver(agent, mixed_reward, 3)
    assert agent.generation == 1  # mid-generation: 4 children are bred, 3 told
    driver(agent, mixed_reward, 1)
    assert agent.generation == 2 and len(agent.population) == 6


def test_elitism_keeps_the_best_design_ever_seen(mixed, mixed_reward, driver):
    agent = make_agent("ga", mixed, seed=1, population=8, elite=1, mutation_probability=0.1)
    generation = agent.generation
    for _ in range(120):
        driver(agent, mixed_reward, 1)
        if agent.generation != generation:
            generation = agent.generation
            assert max(r for _, r in agent.population) == agent.result.best_reward
            assert agent.result.best_design in [d for d, _ in agent.population]
    assert generation > 10


def test_without_elitism_the_population_is_the_last_generation(mixed, mixed_reward, driver):
    agent = make_agent("ga", mixed, seed=2, population=5, elite=0)
    history = driver(agent, mixed_reward, 15)  # three full generations
    assert agent.generation == 3
    assert [d for d, _ in agent.population] != []
    last = [d for d, _ in history[-5:]]
    assert sorted(map(repr, (d for d, _ in agent.population))) == sorted(map(repr, last))


def test_elite_is_capped_so_every_generation_evaluates_a_child(mixed, mixed_reward, driver):
    agent = make_agent("ga", mixed, seed=3, population=2, elite=8)
    driver(agent, mixed_reward, 2 + 5)
    assert agent.generation == 1 + 5  # generation 0, then one child per generation


def test_offspring_are_valid_on_a_mixed_space_and_never_re_evaluated(mixed, mixed_reward, driver):
    agent = make_agent("ga", mixed, seed=4, population=8, mutation_probability=0.001, crossover_probability=0.5)
    designs = [d for d, _ in driver(agent, mixed_reward, 200)]
    assert all(mixed.validate(d) == d for d in designs)
    keys = [ops.design_key(mixed, d) for d in designs]
    assert len(set(keys)) == len(keys)  # tiny mutation rate, yet no clone is evaluated twice
    assert agent.result.best_reward > np.median([r for r in agent.result.rewards[:8]]) + 1


def test_uniform_crossover_takes_every_gene_from_a_parent(mixed):
    rng = np.random.default_rng(0)
    a, b = mixed.sample(rng), mixed.sample(rng)
    children = [ops.uniform_crossover(mixed, a, b, rng) for _ in range(50)]
    for child in children:
        assert mixed.validate(child) == child
        assert all(child[n] in (a[n], b[n]) for n in mixed.names)
    # genes really mix: some child differs from both parents
    assert any(child != a and child != b for child in children)


@pytest.mark.parametrize(
    "parameter",
    [Categorical("c", ("x", "y", "z")), PowerOfTwo("p", 1, 64), Integer("i", -3, 3), Real("r", 0.5, 2.0),
     Real("l", 1e-3, 10.0, log=True), Categorical("b", (True, False))],
)
def test_mutation_operators_give_a_valid_different_value(parameter):
    space = DesignSpace([parameter])
    rng = np.random.default_rng(1)
    for _ in range(100):
        value = space.sample(rng)[parameter.name]
        other = ops.other_value(parameter, value, rng)
        step = ops.step_value(parameter, value, rng)
        for new in (other, step):
            assert space.validate({parameter.name: new}) == {parameter.name: new}
            assert new != value
        if parameter.ordered and not isinstance(parameter, Real):
            assert abs(parameter.index(step) - parameter.index(value)) == 1


def test_mutation_of_a_single_valued_parameter_is_a_no_op():
    space = DesignSpace([Integer("only", 4, 4), Categorical("c", ("x", "y"))])
    rng = np.random.default_rng(0)
    for _ in range(20):
        child = ops.mutate_one(space, {"only": 4, "c": "x"}, rng)
        assert child == {"only": 4, "c": "y"}  # the only changeable parameter changed
