"""Bayesian optimisation (``bo``): the mixed GP, repeat-free discrete acquisition, failures, search quality."""

from __future__ import annotations

import math

import numpy as np
import pytest

from archgym.agents import make_agent
from archgym.agents._gp import MixedEncoding, MixedGP
from archgym.agents.bayesian import _log_h
from archgym.env import DSEEnv
from archgym.spaces import Categorical, DesignSpace, Integer, PowerOfTwo, Real


def test_encoding_keeps_categoricals_unordered_and_scales_ordered_parameters():
    space = DesignSpace([Categorical("op", ("conv", "pool", "skip")), PowerOfTwo("buf", 1, 64),
                         Integer("n", 1, 1000, log=True), Real("r", 0.0, 2.0)])
    enc = MixedEncoding(space.parameters)
    xo, xc = enc.encode([{"op": "skip", "buf": 8, "n": 1000, "r": 0.5}])
    assert xc.tolist() == [[2]]  # an index, compared only for equality by the kernel
    assert xo[0].tolist() == pytest.approx([3 / 6, 1.0, 0.25])  # rank of 8 among 7 powers of two


def test_gp_interpolates_and_learns_which_categorical_matters():
    """y depends on the first categorical only: its θ ends far above the irrelevant one's."""
    rng = np.random.default_rng(0)
    space = DesignSpace([Categorical("a", tuple("pqrst")), Categorical("b", tuple("pqrst"))])
    designs = [space.sample(rng) for _ in range(40)]
    y = np.array([{"p": 0.0, "q": 1.0, "r": 2.0, "s": -1.0, "t": 0.5}[d["a"]] for d in designs])
    gp = MixedGP(MixedEncoding(space.parameters))
    xo, xc = gp.encoding.encode(designs)
    gp.fit(xo, xc, y)
    mean, std = gp.predict(xo, xc)
    assert np.max(np.abs(mean - y)) < 0.1 and np.all(std < 0.3)
    theta_a, theta_b = np.exp(gp.hyper.log_theta)
    assert theta_a > 10 * theta_b


def test_log_expected_improvement_is_continuous_and_finite():
    z = np.linspace(-40, 5, 2000)
    h = _log_h(z)
    assert np.all(np.isfinite(h)) and np.all(np.diff(h) > 0)  # monotone: far candidates still ranked
    direct = np.log(np.exp(-0.5 * 4.9**2) / math.sqrt(2 * math.pi) - 4.9 * 0.5 * math.erfc(4.9 / math.sqrt(2)))
    assert _log_h(np.array([-4.9]))[0] == pytest.approx(direct, rel=1e-6)
    assert _log_h(np.array([-30.0]))[0] == pytest.approx(-0.5 * 900 - math.log(math.sqrt(2 * math.pi)) - 2 * math.log(30), abs=1e-2)


def test_never_proposes_a_design_twice_and_finds_the_optimum_of_a_small_space(space):
    """3 × 20 × 7 = 420 designs; the optimum (fast, 10, 16) is found and nothing is repeated."""
    def score(d):
        return -(abs(d["size"] - 10) + abs(math.log2(d["buffer"]) - 4) + 3 * (d["mode"] != "fast"))

    agent = make_agent("bo", space, seed=0, n_initial_points=5)
    seen = []
    for _ in range(40):
        s = agent.ask()
        seen.append(tuple(s.design.values()))
        agent.tell(s, score(s.design))
    assert len(set(seen)) == 40
    assert agent.result.best_reward == 0.0


def test_batches_are_distinct_and_avoid_pending_designs(mixed, mixed_reward, driver):
    agent = make_agent("bo", mixed, seed=1, n_initial_points=4)
    driver(agent, mixed_reward, 6)
    first = agent.ask(3)
    second = agent.ask(3)  # asked while the first batch is pending
    keys = [tuple(s.design.values()) for s in first + second]
    assert len(set(keys)) == 6
    assert all(mixed.validate(s.design) == s.design for s in first + second)


def test_failures_are_excluded_from_the_model_and_their_region_avoided(simulator, space):
    """Designs with mode 'fail' fail. The GP sees only successes; after the random start, bo
    rarely proposes the failing mode again (feasibility-weighted EI)."""
    env = DSEEnv(simulator, space, "light", targets={"cost": 1.0})
    agent = make_agent("bo", space, seed=0, n_initial_points=8)
    result = agent.run(env, budget=40)
    assert result.feasible.count(False) >= 1
    assert len(agent._train[2]) == result.feasible.count(True) - (result.feasible[-1] is True)  # last tell after the fit
    late_failures = result.feasible[20:].count(False)
    assert late_failures <= 3
    assert result.best_design["mode"] != "fail"


def test_single_design_space_and_same_seed_same_proposals(mixed, mixed_reward, driver):
    only = DesignSpace([Integer("x", 3, 3)])
    agent = make_agent("bo", only, seed=0)
    s = agent.ask()
    assert s.design == {"x": 3}
    agent.tell(s, 1.0)

    def proposals(seed):
        return [d for d, _ in driver(make_agent("bo", mixed, seed=seed, n_initial_points=3), mixed_reward, 8)]

    assert proposals(4) == proposals(4) != proposals(5)


@pytest.mark.slow
def test_beats_random_search_on_the_synthetic_env():
    import gymnasium as gym

    import archgym  # noqa: F401

    def best(name, seed):
        env = gym.make("archgym/Synthetic-v0")
        return make_agent(name, env.unwrapped.design_space, seed=seed).run(env, budget=60).best_reward

    assert np.median([best("bo", s) for s in range(3)]) > np.median([best("random", s) for s in range(3)])


def _latency(design) -> float:
    """A smooth metric: 10 + x (mode a) or 10 + 2x (mode b)."""
    return 10.0 + design["x"] * (1.0 if design["mode"] == "a" else 2.0)


def test_composite_bo_models_the_metric_and_homes_in_on_a_target():
    """Target-distance reward t/|m − t| is spiky in the design, the metric under it is smooth.
    Composite BO models the metric and pushes its posterior through the known reward, so it
    lands within 1 % of the target a few steps after its random start."""
    from archgym.objectives import make_objective
    from archgym.simulator import Metric

    space = DesignSpace([Integer("x", 0, 400), Categorical("mode", ("a", "b"))])
    objective = make_objective("target_distance", {"latency": Metric("latency", "ns")}, {"latency": 271.0})
    agent = make_agent("bo", space, seed=0, n_initial_points=5)
    agent.use_objective(objective)
    for _ in range(15):
        s = agent.ask()
        metrics = {"latency": _latency(s.design)}
        agent.tell(s, objective(metrics), metrics)
    assert agent._composite_now and len(agent._models) == 1
    assert abs(_latency(agent.result.best_design) - 271.0) <= 2.71


def test_model_choice_auto_reward_and_composite_without_objective():
    from archgym.errors import UserError
    from archgym.objectives import make_objective
    from archgym.simulator import Metric

    space = DesignSpace([Integer("x", 0, 400), Categorical("mode", ("a", "b"))])
    metric = {"latency": Metric("latency", "ns")}

    def steps(agent, objective, n=4):
        for _ in range(n):
            s = agent.ask()
            metrics = {"latency": _latency(s.design)}
            agent.tell(s, objective(metrics) if objective else -metrics["latency"], metrics)

    # one metric, monotone reward: auto models the reward itself (same order, no gain)
    monotone = make_objective("normalized_excess", metric, {"latency": 1.0})
    agent = make_agent("bo", space, seed=0, n_initial_points=2)
    agent.use_objective(monotone)
    steps(agent, monotone)
    assert not agent._composite_now
    # model="reward" switches composite off even for a target
    target = make_objective("target_distance", metric, {"latency": 100.0})
    agent = make_agent("bo", space, seed=0, n_initial_points=2, model="reward")
    agent.use_objective(target)
    steps(agent, target)
    assert not agent._composite_now
    # model="composite" with no objective: a clear error
    agent = make_agent("bo", space, seed=0, n_initial_points=2, model="composite")
    with pytest.raises(UserError, match="composite.*objective"):
        steps(agent, None)
    with pytest.raises(UserError, match="needs an archgym Objective"):
        agent.use_objective(lambda metrics: 0.0)


def test_run_takes_the_envs_objective(simulator, space):
    env = DSEEnv(simulator, space, "light", reward="target_distance", targets={"cost": 3.0})
    agent = make_agent("bo", space, seed=0, n_initial_points=4)
    agent.run(env, budget=8)
    assert agent._objective is env.objective and agent._composite_now
