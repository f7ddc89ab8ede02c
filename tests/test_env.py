import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

from archgym.env import DSEEnv


def make_env(simulator, space, **kwargs):
    kwargs.setdefault("targets", {"cost": 2.0})
    return DSEEnv(simulator, space, "light", observed_metrics=("cost", "speed"), **kwargs)


def test_step_returns_metrics_reward_and_info(simulator, space):
    env = make_env(simulator, space)
    obs, info = env.reset(seed=0)
    assert np.all(obs == 0) and info["workload"] == "light"
    design = {"mode": "fast", "size": 10, "buffer": 16}
    obs, reward, terminated, truncated, info = env.step(space.encode(design))
    assert info["design"] == design and info["feasible"] and info["error"] is None
    assert info["metrics"] == {"cost": 1.0, "speed": 100.0}
    assert reward == pytest.approx(2.0 / 1.0)  # target_distance: t/|m-t|
    assert not terminated and not truncated
    assert env.observation_space.contains(obs)
    assert obs[0] == pytest.approx(1.0 / (1.0 + 2.0))


def test_design_dict_and_vector_actions_are_equivalent(simulator, space):
    env = make_env(simulator, space)
    design = {"mode": "slow", "size": 3, "buffer": 2}
    a = env.step(design)
    b = env.step(space.encode(design))
    assert a[1] == b[1] and a[4]["metrics"] == b[4]["metrics"]


def test_cache_serves_repeated_designs(simulator, space):
    env = make_env(simulator, space)
    design = {"mode": "slow", "size": 3, "buffer": 2}
    first = env.step(design)
    assert not env.last_evaluation.cached
    second = env.step(design)
    assert simulator.calls == 1
    assert env.last_evaluation.cached and env.last_evaluation.eval_time_s == 0.0
    assert first[1] == second[1]
    uncached = make_env(simulator, space, cache=False)
    uncached.step(design)
    uncached.step(design)
    assert simulator.calls == 3


def test_cache_key_includes_workload(simulator, space):
    from archgym.cache import EvaluationCache

    shared = EvaluationCache()
    design = {"mode": "fast", "size": 10, "buffer": 16}
    light = DSEEnv(simulator, space, "light", targets={"cost": 2.0}, cache=shared)
    heavy = DSEEnv(simulator, space, "heavy", targets={"cost": 2.0}, cache=shared)
    assert light.step(design)[4]["metrics"]["cost"] != heavy.step(design)[4]["metrics"]["cost"]
    assert simulator.calls == 2


def test_simulation_failure_gives_penalty_and_error_not_exception(simulator, space):
    env = make_env(simulator, space, reward="normalized_excess")
    obs, reward, _, _, info = env.step({"mode": "fail", "size": 1, "buffer": 1})
    assert reward == env.objective.failure_reward == -1000.0
    assert not info["feasible"] and "synthetic failure" in info["error"]
    assert info["metrics"] == {}
    assert obs[0] == 1.0 and obs[1] == 0.0  # worst: cost (minimise) high, speed (maximise) low


def test_invalid_action_is_a_clear_error(simulator, space):
    env = make_env(simulator, space)
    with pytest.raises(ValueError, match="parameter 'size'"):
        env.step(np.array([0, 25, 0]))
    with pytest.raises(ValueError, match="unknown parameter"):
        env.step({"mode": "fast", "size": 1, "buffer": 1, "extra": 2})


def test_unknown_target_metric_rejected(simulator, space):
    with pytest.raises(ValueError, match="unknown metric 'latency'"):
        make_env(simulator, space, targets={"latency": 1.0})


def test_env_passes_gymnasium_and_sb3_checkers(simulator, space):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = make_env(simulator, space)
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(make_env(simulator, space), warn=True)


def test_registered_env_through_gym_make_with_time_limit(simulator, space):
    from archgym.registration import register

    register(
        "archgym/SyntheticTest-v0",
        entry_point="archgym.env:DSEEnv",
        max_episode_steps=3,
        description="test double",
    )
    env = gym.make("archgym/SyntheticTest-v0", simulator=simulator, design_space=space, workload="light", targets={"cost": 2.0})
    env.reset(seed=0)
    truncated = [env.step(env.action_space.sample())[3] for _ in range(3)]
    assert truncated == [False, False, True]
