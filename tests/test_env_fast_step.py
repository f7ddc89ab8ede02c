"""The cached-step fast path of :class:`archgym.env.DSEEnv` returns exactly what the slow path does."""

import numpy as np
import pytest

from archgym.cache import EvaluationCache
from archgym.env import DSEEnv
from archgym.errors import UserError
from archgym.objectives import make_objective


def make_env(simulator, space, **kwargs):
    kwargs.setdefault("targets", {"cost": 2.0})
    return DSEEnv(simulator, space, "light", observed_metrics=("cost", "speed"), **kwargs)


def same_step(a, b):
    obs_a, reward_a, term_a, trunc_a, info_a = a
    obs_b, reward_b, term_b, trunc_b, info_b = b
    assert np.array_equal(obs_a, obs_b) and obs_a.dtype == obs_b.dtype
    assert reward_a == reward_b and (term_a, trunc_a) == (term_b, trunc_b)
    assert info_a.keys() == info_b.keys()
    for key in info_a:
        if isinstance(info_a[key], np.ndarray):
            assert np.array_equal(info_a[key], info_b[key])
        else:
            assert info_a[key] == info_b[key], key


@pytest.mark.parametrize("as_dict", [False, True])
@pytest.mark.parametrize("reward", ["target_distance", "vector", "log_ratio"])
def test_repeated_step_equals_an_uncached_env(simulator, space, as_dict, reward):
    cached = make_env(simulator, space, reward=reward)
    fresh = make_env(simulator, space, reward=reward, cache=False)
    designs = [{"mode": "slow", "size": 3, "buffer": 2}, {"mode": "fast", "size": 10, "buffer": 16},
               {"mode": "fail", "size": 1, "buffer": 1}]
    actions = designs if as_dict else [space.encode(d) for d in designs]
    for _ in range(3):
        for action in actions:
            same_step(cached.step(action), fresh.step(action))
    assert cached.last_evaluation.cached


def test_outputs_are_fresh_copies(simulator, space):
    env = make_env(simulator, space, reward="vector")
    action = space.encode({"mode": "slow", "size": 3, "buffer": 2})
    first = env.step(action)
    expected = (first[0].copy(), first[1].copy(), dict(first[4]["design"]), dict(first[4]["metrics"]))
    for _ in range(2):  # the caller scribbles over everything it got
        obs, vector, _, _, info = env.step(action)
        obs[:] = 9
        vector[:] = 9
        info["design"]["size"] = 99
        info["metrics"]["cost"] = -1.0
    obs, vector, _, _, info = env.step(action)
    assert np.array_equal(obs, expected[0]) and np.array_equal(vector, expected[1])
    assert info["design"] == expected[2] and info["metrics"] == expected[3]


def test_cleared_cache_simulates_again_and_counts_one_miss(simulator, space):
    env = make_env(simulator, space)
    design = {"mode": "slow", "size": 3, "buffer": 2}
    env.step(design)
    env.step(design)
    assert simulator.calls == 1 and env.cache.hits == 1 and env.cache.misses == 1
    env.cache.clear()
    env.step(design)
    assert simulator.calls == 2 and not env.last_evaluation.cached
    assert env.cache.misses == 1 and env.cache.hits == 0
    env.step(design)
    assert env.last_evaluation.cached and env.cache.hits == 1


def test_invalid_actions_are_refused_every_time(simulator, space):
    env = make_env(simulator, space)
    for _ in range(2):
        with pytest.raises(UserError, match="size"):
            env.step({"mode": "slow", "size": 30, "buffer": 2})
        with pytest.raises(UserError, match="invalid index"):
            env.step(np.array([0, 25, 0]))


def test_a_bool_is_not_served_as_the_int_it_equals(simulator, space):
    from archgym.spaces import Categorical, DesignSpace

    sizes = DesignSpace([Categorical("mode", ("slow", "fast")), Categorical("size", (1, 2)),
                         Categorical("buffer", (4,))])
    env = DSEEnv(simulator, sizes, "light", targets={"cost": 2.0})
    assert env.step({"mode": "slow", "size": 1, "buffer": 4})[4]["feasible"]
    with pytest.raises(UserError, match="True"):  # equal to 1 and hashed alike, yet refused by validation
        env.step({"mode": "slow", "size": True, "buffer": 4})


def test_a_new_objective_or_simulator_setup_is_honoured(simulator, space):
    env = make_env(simulator, space)
    action = space.encode({"mode": "slow", "size": 3, "buffer": 2})
    _, before, _, _, info = env.step(action)
    cost = info["metrics"]["cost"]
    declared = {m.name: m for m in simulator.metrics}
    env.objective = make_objective("target_distance", declared, {"cost": 7.0})
    after = env.step(action)[1]
    assert env.last_evaluation.cached and after != before
    assert after == pytest.approx(7.0 / abs(cost - 7.0))
    env.simulator.fingerprint = lambda: "another-setup"  # e.g. the device was reassigned
    env.step(action)
    assert not env.last_evaluation.cached


def test_shared_cache_between_envs_still_serves_hits(simulator, space):
    shared = EvaluationCache()
    a = make_env(simulator, space, cache=shared)
    b = make_env(simulator, space, cache=shared)
    design = {"mode": "fast", "size": 10, "buffer": 16}
    a.step(design)
    b.step(design)
    b.step(design)
    assert simulator.calls == 1 and b.last_evaluation.cached


def test_observation_equals_the_numpy_squash(simulator, space):
    env = make_env(simulator, space)
    scales = np.array([2.0, 1.0])  # cost: its target; speed: the default scale
    for cost, speed in [(1.0, 100.0), (0.0, -3.5), (np.inf, 1e308), (-np.inf, np.nan), (1e-300, -1e300)]:
        values = np.array([cost, speed])
        with np.errstate(invalid="ignore"):
            expected = np.clip(np.nan_to_num(values / (np.abs(values) + scales), nan=1.0), -1.0, 1.0).astype(np.float32)
        got = env._observe({"cost": cost, "speed": speed})
        assert got.dtype == np.float32 and np.array_equal(got, expected)
