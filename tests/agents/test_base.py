import numpy as np
import pytest

from archgym.agents import Agent, list_agents, make_agent
from archgym.env import DSEEnv


def test_random_agent_is_seeded(space):
    a = make_agent("random", space, seed=3)
    b = make_agent("random", space, seed=3)
    c = make_agent("random", space, seed=4)
    draws_a = [a.ask().design for _ in range(20)]
    assert draws_a == [b.ask().design for _ in range(20)]
    assert draws_a != [c.ask().design for _ in range(20)]
    assert all(space.validate(d) == d for d in draws_a)


def test_run_counts_budget_and_tracks_best(simulator, space):
    env = DSEEnv(simulator, space, "light", reward="normalized_excess", targets={"cost": 1.0})
    result = make_agent("random", space, seed=0).run(env, budget=60)
    assert result.evaluations == 60 and len(result.rewards) == 60
    assert result.best_reward == max(result.rewards)
    assert np.all(np.diff(result.best_so_far) >= 0)
    assert result.best_metrics["cost"] == pytest.approx(1.0 - result.best_reward)
    assert space.validate(result.best_design) == result.best_design


def test_same_seed_same_trajectory(simulator, space):
    def rewards(seed):
        env = DSEEnv(simulator, space, "light", targets={"cost": 1.0})
        return make_agent("random", space, seed=seed).run(env, budget=30).rewards

    assert rewards(5) == rewards(5)
    assert rewards(5) != rewards(6)


def test_unknown_agent_and_hyperparameters_are_rejected(space):
    with pytest.raises(ValueError, match="unknown agent 'simulated_annealing'.*random"):
        make_agent("simulated_annealing", space)
    with pytest.raises(ValueError, match="takes no hyperparameters"):
        make_agent("random", space, population=4)
    with pytest.raises(ValueError, match="budget"):
        make_agent("random", space).run(None, budget=0)


def test_every_registered_agent_subclasses_the_base(space):
    for name in list_agents():
        assert isinstance(make_agent(name, space, seed=0), Agent)
