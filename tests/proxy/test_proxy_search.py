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
