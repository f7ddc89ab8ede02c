"""Regularized evolution: aging (oldest dies), tournament parents, one-parameter mutations."""

from __future__ import annotations

import pytest

from archgym.agents import make_agent


def differing(space, a, b) -> list[str]:
    return [n for n in space.names if a[n] != b[n]]


def test_the_oldest_dies_not_the_worst(mixed):
    agent = make_agent("evolution", mixed, seed=0, population=4, sample_size=2)
    suggestions = agent.ask(4)
    designs = [s.design for s in suggestions]
    for suggestion, reward in zip(suggestions, (10.0, 1.0, 2.0, 3.0)):  # the oldest is the best
        agent.tell(suggestion, reward)
    suggestion = agent.ask()
    child = suggestion.design
    agent.tell(suggestion, -100.0)  # the newcomer is by far the worst
    members = [d for d, _ in agent.population]
    assert len(members) == 4
    assert designs[0] not in members  # the best died because it was the oldest
    assert child in members and members[-1] == child
    assert members[:3] == designs[1:]


def test_first_population_asks_are_random_then_children_change_one_parameter(mixed, mixed_reward):
    agent = make_agent("evolution", mixed, seed=1, population=8, sample_size=3)
    initial = agent.ask(8)  # no feedback needed for the random start
    for suggestion in initial:
        agent.tell(suggestion, mixed_reward(suggestion.design))
    for _ in range(60):
        living = [d for d, _ in agent.population]
        suggestion = agent.ask()
        child = suggestion.design
        assert mixed.validate(child) == child
        assert any(len(differing(mixed, parent, child)) == 1 for parent in living)
        agent.tell(suggestion, mixed_reward(child))


def test_full_tournament_always_mutates_the_best_member(mixed, mixed_reward, driver):
    agent = make_agent("evolution", mixed, seed=2, population=6, sample_size=6)
    driver(agent, mixed_reward, 6)
    for _ in range(30):
        top = max(r for _, r in agent.population)
        best = [d for d, r in agent.population if r == top]  # ties are possible
        suggestion = agent.ask()
        child = suggestion.design
        assert any(len(differing(mixed, b, child)) == 1 for b in best)
        agent.tell(suggestion, mixed_reward(child))


def test_sample_size_larger_than_population_is_rejected(mixed):
    with pytest.raises(ValueError, match="sample_size.*population"):
        make_agent("evolution", mixed, population=4, sample_size=5)


def test_improves_on_its_random_start(mixed, mixed_reward, driver):
    agent = make_agent("evolution", mixed, seed=3)
    history = driver(agent, mixed_reward, 200)
    start = max(r for _, r in history[: agent.population_size])
    assert agent.result.best_reward > start + 0.5
