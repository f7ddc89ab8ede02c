"""The ``marl`` agent: independent REINFORCE learners behind the ask/tell interface."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import archgym  # noqa: F401  (registers the ids)
from archgym.agents import make_agent
from archgym.agents.marl import MultiAgentRL
from archgym.env import DSEEnv
from archgym.spaces import DesignSpace, Real

torch.set_num_threads(1)

SYNTHETIC = "archgym/Synthetic-v0"
GROUPS = {"front": ["cat0", "int0"], "back": ["cat1", "cat2", "cat3", "cat4", "int1", "int2", "int3", "int4"]}


def synthetic() -> gym.Env:
    return gym.make(SYNTHETIC)


def space() -> DesignSpace:
    return synthetic().unwrapped.design_space


@pytest.mark.slow
def test_mean_reward_improves_over_training():
    budget = 1000
    result = make_agent("marl", space(), seed=0).run(synthetic(), budget=budget)
    rewards = np.array(result.rewards)
    first, last = rewards[: budget // 5].mean(), rewards[-budget // 5 :].mean()
    # measured: first 20% ≈ −2.2, last 20% ≈ −0.01 (regret of a random design ≈ 4)
    assert last > first + 1.0, (first, last)
    assert last > -0.5
    assert result.best_reward == pytest.approx(0.0)  # the known optimum


def test_beats_random_search_in_300_evaluations():
    def best(agent: str, seed: int) -> float:
        return make_agent(agent, space(), seed=seed).run(synthetic(), budget=300).best_reward

    marl = np.median([best("marl", s) for s in range(3)])
    random = np.median([best("random", s) for s in range(3)])
    assert marl > random and marl > -0.5, (marl, random)


def test_updates_every_batch_and_sharpens_the_policies():
    agent = make_agent("marl", space(), seed=0, batch_size=5)
    agent.run(synthetic(), budget=200)
    assert agent.updates == 40
    assert set(agent.learners) == set(space().names)  # one independent learner per parameter
    entropy = [-(lp.exp() * lp).sum().item() for lr in agent.learners.values() for lp in lr.log_probs(torch.zeros(1, 0))]
    assert np.mean(entropy) < 0.8 * np.log(4)


def test_run_and_run_parallel_give_the_same_trajectory():
    from archgym.envs.multi_agent import DesignParallelEnv

    for hidden in (0, 16):
        plain = make_agent("marl", space(), seed=3, hidden=hidden).run(synthetic(), budget=120)
        parallel = make_agent("marl", space(), seed=3, hidden=hidden).run_parallel(DesignParallelEnv(SYNTHETIC), budget=120)
        assert parallel.evaluations == 120 == len(parallel.rewards)
        assert parallel.rewards == plain.rewards


def test_grouped_learners_drive_a_grouped_parallel_env():
    from archgym.envs.multi_agent import DesignParallelEnv

    env = DesignParallelEnv(SYNTHETIC, groups=GROUPS, observe_own_action=True, max_cycles=50)
    agent = make_agent("marl", space(), seed=0, groups=GROUPS, hidden=16)
    result = agent.run_parallel(env, budget=130)  # crosses two episode ends
    assert result.evaluations == 130 and set(agent.learners) == {"front", "back"}
    assert agent.learners["front"].obs_dim == 1 + 2 and agent.learners["back"].obs_dim == 1 + 8
    with pytest.raises(ValueError, match="groups=parallel_env.groups"):
        make_agent("marl", space(), seed=0).run_parallel(env, budget=5)
    with pytest.raises(TypeError, match="DesignParallelEnv"):
        make_agent("marl", space(), seed=0).run_parallel(synthetic(), budget=5)


def test_observation_conditioned_policy_is_seeded():
    def rewards(seed: int) -> list[float]:
        return make_agent("marl", space(), seed=seed, hidden=32).run(synthetic(), budget=60).rewards

    assert rewards(4) == rewards(4) != rewards(5)


def test_leaves_torch_global_rng_alone():
    state = torch.get_rng_state()
    make_agent("marl", space(), seed=0, hidden=16).run(synthetic(), budget=20)
    assert torch.equal(state, torch.get_rng_state())


def test_failed_designs_are_recorded_but_not_learnt_from():
    agent = make_agent("marl", space(), seed=0, batch_size=2)
    for i in range(6):
        suggestion = agent.ask()
        agent.tell(suggestion, -1000.0, {}, feasible=i % 3 != 0)  # steps 0 and 3 fail
    assert agent.updates == 2 and agent.result.evaluations == 6
    assert agent.result.feasible == [False, True, True, False, True, True]


def test_rejects_real_parameters_and_bad_groups(simulator, space):
    mixed = DesignSpace([*space.parameters, Real("ratio", 0.0, 1.0)])
    with pytest.raises(ValueError, match="discrete parameters only.*ratio"):
        MultiAgentRL(mixed)
    with pytest.raises(ValueError, match="owned by no agent"):
        MultiAgentRL(space, groups={"a": ["mode"]})


def test_drives_a_small_dseenv(simulator, space):
    env = DSEEnv(simulator, space, "light", reward="normalized_excess", targets={"cost": 1.0})
    result = MultiAgentRL(space, seed=0).run(env, budget=150)
    assert result.evaluations == 150
    assert result.best_reward > np.mean(result.rewards[:30])
