"""Proxy-assisted search: only real simulations count, and the proxy's picks beat random picks."""

import gymnasium as gym
import numpy as np
import pytest

import archgym  # noqa: F401
from archgym.agents import design_space_of, make_agent
from archgym.proxy.search import proxy_assisted_search


class CountingEnv(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.steps = 0

    def step(self, action):
        self.steps += 1
        return self.env.step(action)


def test_budget_is_real_simulations_and_the_curve_is_the_best_so_far():
    env = CountingEnv(gym.make("archgym/Synthetic-v0", disable_env_checker=True))
    result = proxy_assisted_search(env, 60, initial=20, batch=10, pool=500, seed=0)
    assert env.steps == result.real_evaluations == 60 == len(result.curve)
    assert result.rounds == 4
    assert np.all(np.diff(result.curve) >= 0) and result.curve[-1] == result.best_reward
    # the best design is a real evaluation: re-simulating it gives the same reward
    assert env.unwrapped.step(result.best_design)[1] == result.best_reward


@pytest.mark.slow  # six searches: ~15 s on a shared core
def test_proxy_picks_beat_random_search_at_equal_real_budget():
    wins = 0
    for seed in range(3):
        env = gym.make("archgym/Synthetic-v0", disable_env_checker=True)
        proxy = proxy_assisted_search(env, 80, initial=20, batch=10, pool=1000, seed=seed).best_reward
        env = gym.make("archgym/Synthetic-v0", disable_env_checker=True)
        rnd = make_agent("random", design_space_of(env), seed=seed).run(env, 80).best_reward
        wins += proxy > rnd
    assert wins == 3


def test_bad_budget():
    env = gym.make("archgym/Synthetic-v0", disable_env_checker=True)
    with pytest.raises(ValueError, match="real_budget must be a positive integer, got 0"):
        proxy_assisted_search(env, 0)


class RecordingEnv(gym.Wrapper):
    """Records every simulated design with its reward (a test double around the real env)."""

    def __init__(self, env):
        super().__init__(env)
        self.log = []

    def step(self, action):
        out = self.env.step(action)
        self.log.append((dict(action), float(out[1])))
        return out


def test_local_checks_are_neighbours_of_the_best_real_design():
    env = RecordingEnv(gym.make("archgym/Synthetic-v0", disable_env_checker=True))
    space = design_space_of(env)
    initial, batch = 10, 4
    proxy_assisted_search(env, 30, initial=initial, batch=batch, pool=200, explore=1.0, seed=1)
    for start in range(initial, 30, batch):
        best = max(env.log[:start], key=lambda item: item[1])[0]
        neighbours = [n for n in space.neighbours(best)]
        for design, _ in env.log[start:start + batch]:
            assert design in neighbours


def test_no_design_is_simulated_twice():
    env = RecordingEnv(gym.make("archgym/Synthetic-v0", disable_env_checker=True))
    proxy_assisted_search(env, 40, initial=10, batch=10, pool=200, seed=2)
    keys = [tuple(sorted(d.items())) for d, _ in env.log]
    assert len(keys) == len(set(keys)) == 40


def test_bad_explore():
    env = gym.make("archgym/Synthetic-v0", disable_env_checker=True)
    with pytest.raises(ValueError, match="explore must be a fraction in \\[0, 1\\], got 1.5"):
        proxy_assisted_search(env, 10, explore=1.5)
