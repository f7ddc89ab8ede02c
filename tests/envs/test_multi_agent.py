"""The PettingZoo formulation: one agent per parameter (or group), one evaluation per step."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest


from pettingzoo.test import parallel_api_test, parallel_seed_test  # noqa: E402

import archgym  # noqa: E402,F401  (registers the ids)
from archgym.env import DSEEnv  # noqa: E402
from archgym.envs.multi_agent import DesignParallelEnv  # noqa: E402
from archgym.spaces import DesignSpace, Real  # noqa: E402

SYNTHETIC = "archgym/Synthetic-v0"
GROUPS = {"front": ["cat0", "int0"], "back": ["cat1", "cat2", "cat3", "cat4", "int1", "int2", "int3", "int4"]}




def random_actions(env: DesignParallelEnv) -> dict:
    return {agent: env.action_space(agent).sample() for agent in env.agents}


# -- the PettingZoo checkers ------------------------------------------------------------------
def test_parallel_api_on_synthetic():
    # 150 cycles: longer than the registration's 100-step time limit, which max_cycles supersedes
    parallel_api_test(DesignParallelEnv(SYNTHETIC), num_cycles=150)


def test_parallel_api_with_groups_and_own_actions():
    parallel_api_test(DesignParallelEnv(SYNTHETIC, groups=GROUPS, observe_own_action=True), num_cycles=30)


def test_parallel_api_on_dram():
    parallel_api_test(DesignParallelEnv("archgym/DRAM-v0", max_requests=300), num_cycles=15)


def test_pettingzoo_seed_test():
    parallel_seed_test(lambda: DesignParallelEnv(SYNTHETIC, observe_own_action=True), num_cycles=30)


def test_same_seed_same_sequence():
    def sequence(seed: int) -> tuple[list[np.ndarray], list[float]]:
        env = DesignParallelEnv(SYNTHETIC, groups=GROUPS, observe_own_action=True)
        observations, _ = env.reset(seed=seed)
        seen, rewards = [observations["front"], observations["back"]], []
        for _ in range(20):
            observations, reward, *_ = env.step(random_actions(env))  # action spaces seeded by reset
            seen += [observations["front"], observations["back"]]
            rewards.append(reward["front"])
        return seen, rewards

    (obs_a, rew_a), (obs_b, rew_b), (_, rew_c) = sequence(7), sequence(7), sequence(8)
    assert rew_a == rew_b and rew_a != rew_c
    assert len(obs_a) == len(obs_b) and all(np.array_equal(x, y) for x, y in zip(obs_a, obs_b))


# -- the formulation ---------------------------------------------------------------------------
def test_one_agent_per_parameter_by_default():
    env = DesignParallelEnv(SYNTHETIC)
    space = env.design_space
    assert env.possible_agents == list(space.names)
    for name in space.names:
        assert env.action_space(name) == gym.spaces.Discrete(4)
        assert env.observation_space(name) == env.env.observation_space
    assert env.max_cycles == 100  # the registration's max_episode_steps


def test_groups_get_multidiscrete_actions_in_listed_order():
    env = DesignParallelEnv(SYNTHETIC, groups=GROUPS, observe_own_action=True)
    assert env.possible_agents == ["front", "back"]
    assert env.action_space("front") == gym.spaces.MultiDiscrete([4, 4])
    assert env.observation_space("back").shape == (1 + 8,)
    observations, _ = env.reset(seed=0)
    assert np.all(observations["front"][1:] == -1)  # no own action yet
    actions = {"front": np.array([3, 1]), "back": np.zeros(8, dtype=np.int64)}
    observations, *_ = env.step(actions)
    np.testing.assert_allclose(observations["front"][1:], [1.0, 1 / 3], rtol=1e-6)
    assert env.design_from_actions(actions)["cat0"] == "c3"
    assert env.design_from_actions(actions)["int0"] == 1


def test_one_evaluation_per_step_and_shared_reward(counting_wrapper):
    inner = counting_wrapper(gym.make(SYNTHETIC))
    env = DesignParallelEnv(inner, groups=GROUPS)
    env.reset(seed=0)
    reference = gym.make(SYNTHETIC)
    reference.reset(seed=0)
    for step in range(1, 6):
        actions = random_actions(env)
        observations, rewards, terminations, truncations, infos = env.step(actions)
        design = env.design_from_actions(actions)
        observation, reward, *_ = reference.step(design)
        assert inner.steps == step
        assert set(rewards.values()) == {reward}
        assert all(info["design"] == design and info["cycle"] == step for info in infos.values())
        assert infos["front"]["metrics"]["cost"] == pytest.approx(1 - reward)
        assert all(np.array_equal(o, observation) for o in observations.values())
        np.testing.assert_array_equal(env.state(), observation)
        assert not any(terminations.values()) and not any(truncations.values())


def test_actions_round_trip_through_designs():
    env = DesignParallelEnv(SYNTHETIC, groups=GROUPS)
    design = env.design_space.sample(np.random.default_rng(0))
    assert env.design_from_actions(env.actions_from_design(design)) == design


def test_max_cycles_truncates_every_agent_then_requires_reset():
    env = DesignParallelEnv(SYNTHETIC, max_cycles=120)  # beyond the wrapped env's own 100-step limit
    env.reset(seed=0)
    for _ in range(119):
        _, _, terminations, truncations, _ = env.step(random_actions(env))
        assert not any(truncations.values()) and not any(terminations.values())
    _, _, _, truncations, _ = env.step(random_actions(env))
    assert all(truncations.values()) and env.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
    env.reset()
    assert env.agents == env.possible_agents


def test_wraps_a_dseenv_instance_and_reports_failures(simulator, space):
    env = DesignParallelEnv(DSEEnv(simulator, space, "light", targets={"cost": 1.0}), max_cycles=3)
    env.reset(seed=0)
    design = {"mode": "fail", "size": 10, "buffer": 16}
    _, rewards, _, _, infos = env.step(env.actions_from_design(design))
    assert infos["mode"]["feasible"] is False and infos["mode"]["error"]
    assert rewards["size"] == env.env.objective.failure_reward


# -- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ({"a": ["cat0", "nope"], "b": ["cat1"]}, "unknown parameter.*'nope'"),
        ({"a": ["cat0"], "b": ["cat0"]}, "more than one agent.*cat0"),
        ({"a": ["cat0"]}, "owned by no agent.*cat1"),
        ({"a": [], "b": list(DesignParallelEnv(SYNTHETIC).design_space.names)}, "owns no parameter"),
    ],
)
def test_bad_groups_are_named(groups, message):
    with pytest.raises(ValueError, match=message):
        DesignParallelEnv(SYNTHETIC, groups=groups)


def test_real_parameters_and_foreign_envs_are_rejected(simulator, space):
    mixed = DesignSpace([*space.parameters, Real("ratio", 0.0, 1.0)])
    with pytest.raises(ValueError, match="discrete parameters only.*ratio"):
        DesignParallelEnv(DSEEnv(simulator, mixed, "light", targets={"cost": 1.0}))
    with pytest.raises(TypeError, match="DesignSpace"):
        DesignParallelEnv("CartPole-v1")
    with pytest.raises(TypeError, match="gym.make"):
        DesignParallelEnv(gym.make(SYNTHETIC), function_seed=1)
    with pytest.raises(ValueError, match="max_cycles"):
        DesignParallelEnv(SYNTHETIC, max_cycles=0)


def test_bad_actions_are_named():
    env = DesignParallelEnv(SYNTHETIC, groups=GROUPS)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="missing: back"):
        env.step({"front": np.array([0, 0])})
    with pytest.raises(ValueError, match="unknown: 'x'"):
        env.step({**random_actions(env), "x": 0})
    with pytest.raises(ValueError, match="invalid action.*'front'"):
        env.step({"front": np.array([0, 4]), "back": np.zeros(8, dtype=np.int64)})
    with pytest.raises(KeyError, match="unknown agent"):
        env.action_space("x")


def test_make_kwargs_reach_the_wrapped_env():
    env = DesignParallelEnv(SYNTHETIC, function_seed=5)
    assert env.env.unwrapped.simulator.function_seed == 5


def test_docstring_has_gymnasium_sections():
    doc = DesignParallelEnv.__doc__
    sections = ("Description", "Action Space", "Observation Space", "Rewards", "Episode End", "Arguments", "Version History")
    for section in sections:
        assert f"## {section}" in doc
