"""The random walker moves along the neighbourhood graph; ``improving`` never steps downhill."""

from __future__ import annotations

from archgym.agents import make_agent
from archgym.agents.random_walk import RandomWalk


def is_neighbour(space, a, b) -> bool:
    return b in space.neighbours(a)


def test_pure_walk_moves_to_a_neighbour_every_step(mixed, mixed_reward, driver):
    agent = make_agent("random_walk", mixed, seed=0, accept="always", restart_probability=0.0)
    designs = [d for d, _ in driver(agent, mixed_reward, 60)]
    assert all(mixed.validate(d) == d for d in designs)
    assert all(is_neighbour(mixed, a, b) for a, b in zip(designs, designs[1:]))
    # it is a walk, not a single step back and forth: it wanders away from the start
    assert len({tuple(map(str, d.values())) for d in designs}) > 10


def test_pure_walk_ignores_rewards_like_archgym(mixed, driver):
    """accept="always" gives the same trajectory whatever the rewards; "improving" does not."""

    def walk(accept, reward):
        agent = make_agent("random_walk", mixed, seed=3, accept=accept, restart_probability=0.0)
        return [d for d, _ in driver(agent, reward, 40)]

    up, down = (lambda d: d["ratio"]), (lambda d: -d["ratio"])
    assert walk("always", up) == walk("always", down)
    assert walk("improving", up) != walk("improving", down)


def test_improving_walk_never_moves_downhill(mixed, mixed_reward):
    agent = make_agent("random_walk", mixed, seed=1, accept="improving", restart_probability=0.0)
    uphill = 0
    for _ in range(150):
        before, before_reward = agent.current, agent.current_reward
        suggestion = agent.ask()
        design = suggestion.design
        agent.tell(suggestion, mixed_reward(design))
        if before is not None and agent.current != before and is_neighbour(mixed, before, agent.current):
            assert agent.current_reward >= before_reward  # a step of the walk is never downhill
            uphill += agent.current_reward > before_reward
        elif before is not None and agent.current == before:
            assert mixed_reward(design) < before_reward  # rejected only when worse
    assert uphill >= 10
    assert agent.result.best_reward > agent.result.rewards[0] + 1


def test_improving_walk_proposes_each_neighbour_once_then_restarts(mixed):
    """At a local optimum every neighbour is proposed once; then the walk jumps elsewhere."""
    agent = RandomWalk(mixed, seed=2, accept="improving", restart_probability=0.0)
    first = agent.ask()
    start = first.design
    agent.tell(first, 0.0)
    neighbours = mixed.neighbours(start)
    proposals = []
    for _ in neighbours:
        proposal = agent.ask()
        proposals.append(proposal.design)
        agent.tell(proposal, -1.0)  # every neighbour is worse: start is a local optimum
    assert sorted(map(repr, proposals)) == sorted(map(repr, neighbours))
    assert agent.current == start
    jump = agent.ask().design
    assert jump != start and jump not in neighbours


def test_restarts_jump_off_the_neighbourhood(mixed, mixed_reward, driver):
    agent = make_agent("random_walk", mixed, seed=4, accept="always", restart_probability=0.5)
    designs = [d for d, _ in driver(agent, mixed_reward, 60)]
    jumps = sum(not is_neighbour(mixed, a, b) for a, b in zip(designs, designs[1:]))
    assert 15 <= jumps <= 45
