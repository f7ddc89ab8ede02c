"""Every registered archgym id passes gymnasium's and stable-baselines3's environment checkers."""

import importlib.util

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import archgym
from archgym.agents import list_agents, make_agent
from archgym.registration import list_envs

#: the optuna_* agents need the optional extra (pip install 'archgym[optuna]')
HAS_OPTUNA = importlib.util.find_spec("optuna") is not None

#: keep the checkers fast: small variants of each env (still the real simulator)
FAST_KWARGS = {
    "archgym/DRAM-v0": {"max_requests": 500},
    "archgym/DRAM-v1": {"max_requests": 500},
    "archgym/Supernet-v0": {"channels": 4, "epochs": 1, "progress": False},
    "archgym/Supernet-v1": {"channels": 4, "epochs": 1, "bn_batches": 1, "progress": False},
    "archgym/Supernet-v2": {"channels": 4, "epochs": 1, "bn_batches": 1, "progress": False},
}

IDS = [e.id for e in list_envs()]


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_check_env(env_id):
    env = gym.make(env_id, **FAST_KWARGS.get(env_id, {}))
    gym_check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("env_id", IDS)
def test_sb3_check_env(env_id):
    from stable_baselines3.common.env_checker import check_env

    check_env(gym.make(env_id, **FAST_KWARGS.get(env_id, {})).unwrapped, warn=True)


@pytest.mark.parametrize("env_id", IDS)
def test_docstring_has_gymnasium_sections(env_id):
    env = gym.make(env_id, **FAST_KWARGS.get(env_id, {}))
    doc = type(env.unwrapped).__doc__
    for section in ("Description", "Action Space", "Observation Space", "Rewards", "Episode End", "Arguments", "Version History"):
        assert f"## {section}" in doc, f"{env_id} docstring lacks '## {section}'"


@pytest.mark.slow
@pytest.mark.parametrize("agent", list_agents(optional=HAS_OPTUNA))
@pytest.mark.parametrize("env_id", IDS)
def test_every_agent_runs_on_every_env(env_id, agent, counting_wrapper):
    """The same step/reward interface serves every agent on every registered env (tiny budgets).

    The one documented refusal: an agent with one discrete action per design (``dqn``) on a
    design space too large to flatten, before any evaluation.
    """
    env = counting_wrapper(gym.make(env_id, **FAST_KWARGS.get(env_id, {})))
    space = env.unwrapped.design_space
    searcher = make_agent(agent, space, seed=0)
    if getattr(searcher, "discrete_actions", False) and space.size > searcher.max_flat_actions:
        with pytest.raises(ValueError, match="design space is too large"):
            searcher.run(env, budget=8)
        assert env.steps == 0
        return
    result = searcher.run(env, budget=8)
    assert env.steps == 8 == result.evaluations
    assert space.validate(result.best_design) == result.best_design
    assert result.best_reward == max(result.rewards)
