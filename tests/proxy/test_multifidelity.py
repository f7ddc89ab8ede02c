"""Multi-fidelity proxy: the fidelity gap carried from the nearest real designs, and the search using it.

The "real" simulator in these tests is archgym's analytical accelerator in its systolic variant
and the low-fidelity one the default multicast variant: two real cost models that disagree by a
design-dependent amount, as ZigZag and the analytical model do, at no ZigZag cost.
"""

import gymnasium as gym
import numpy as np
import pytest

import archgym  # noqa: F401
from archgym.agents import design_space_of
from archgym.proxy.multifidelity import DEFAULT_SIGMA, DesignCodes, FidelityGap, LowFidelity, expected_reward
from archgym.proxy.search import proxy_assisted_search
from archgym.spaces import Categorical, DesignSpace, Values


def _space():
    return DesignSpace([Values("a", (1, 2, 4, 8)), Values("b", (1, 2, 4, 8)), Categorical("c", ("x", "y"))])


def test_gap_is_taken_from_the_nearest_real_design_and_ties_are_averaged():
    codes = DesignCodes(_space())
    real = [{"a": 1, "b": 1, "c": "x"}, {"a": 8, "b": 8, "c": "y"}, {"a": 8, "b": 8, "c": "x"}]
    low = np.zeros((3, 1))
    gap = FidelityGap(codes(real), low, np.array([[0.5], [1.0], [2.0]]))
    candidates = [{"a": 2, "b": 1, "c": "x"},   # 1 step from the first
                  {"a": 8, "b": 4, "c": "y"},   # 1 step from the second, 2 from the third
                  {"a": 8, "b": 8, "c": "x"},   # the third itself
                  {"a": 1, "b": 8, "c": "y"}]   # 1 from the second, 2 from the first and third
    mean, sigma, distance = gap.predict(codes(candidates), np.full((4, 1), 10.0))
    assert distance.tolist() == [1, 1, 0, 1]
    assert mean[:, 0].tolist() == [10.5, 11.0, 12.0, 11.0]
    assert sigma[2, 0] == 0.0 and (sigma[[0, 1, 3], 0] > 0).all()
    tie = FidelityGap(codes(real[:2]), np.zeros((2, 1)), np.array([[0.0], [1.0]]))
    m, _, d = tie.predict(codes([{"a": 2, "b": 8, "c": "x"}]), np.zeros((1, 1)))  # 2 steps from both
    assert d.tolist() == [2] and m[0, 0] == pytest.approx(0.5)


def test_sigma_is_measured_from_real_pairs_and_grows_with_distance():
    codes = DesignCodes(_space())
    rng = np.random.default_rng(0)
    space = _space()
    designs = list({tuple(sorted(d.items())): d for d in (space.sample(rng) for _ in range(40))}.values())
    # a gap that depends on one parameter only: designs differing in it disagree by 0.3
    real = np.array([[0.3 * (d["c"] == "y")] for d in designs])
    gap = FidelityGap(codes(designs), np.zeros_like(real), real)
    table = gap.sigma_by_distance[:, 0]
    assert table[0] == 0 and np.all(np.diff(table) >= 0)
    assert 0 < table[1] < 0.3 and table[-1] <= 0.3 + 1e-12
    single = FidelityGap(codes(designs[:1]), np.zeros((1, 1)), np.ones((1, 1)))
    assert single.sigma_by_distance[1, 0] == DEFAULT_SIGMA


def test_expected_reward_prefers_the_certain_candidate_at_equal_mean():
    env = gym.make("archgym/Accelerator-v0", disable_env_checker=True)
    objective = env.unwrapped.objective
    metrics = list(objective.targets)
    target = np.log([[objective.targets[m] * 1.01 for m in metrics]] * 2)
    sigma = np.array([[0.001, 0.001], [0.2, 0.2]])
    draws = np.random.default_rng(0).standard_normal((64, 2))
    sure, gamble = expected_reward(objective, metrics, target, sigma, draws)
    assert sure > gamble > 0


def test_low_fidelity_reports_nan_for_designs_it_cannot_evaluate_and_checks_metrics():
    env = gym.make("archgym/Accelerator-v0", disable_env_checker=True)
    space = design_space_of(env)
    low = LowFidelity.from_env(env, ["latency_ms", "energy_uj"], space)
    rng = np.random.default_rng(0)
    designs = [space.sample(rng) for _ in range(400)]
    values = low.log_metrics(designs)
    bad = ~np.isfinite(values).all(axis=1)
    assert 0 < bad.sum() < len(designs)  # the analytical model rejects some (RF too small, ...)
    one = env.unwrapped.simulator.evaluate(designs[int(np.flatnonzero(~bad)[0])], "resnet18")
    assert values[np.flatnonzero(~bad)[0], 0] == pytest.approx(np.log(one["latency_ms"]))
    with pytest.raises(ValueError, match="does not report no_such_metric"):
        LowFidelity.from_env(env, ["no_such_metric"], space)
    other = gym.make("archgym/Synthetic-v0", disable_env_checker=True)
    with pytest.raises(ValueError, match="design space"):
        LowFidelity.from_env(other, ["latency_ms"], space)


class _Recording(gym.Wrapper):
    """Records every simulated design (a test double around the real env)."""

    def __init__(self, env):
        super().__init__(env)
        self.log = []

    def step(self, action):
        out = self.env.step(action)
        self.log.append(dict(action))
        return out


def _systolic():
    return gym.make("archgym/Accelerator-v0", backend_kwargs={"array": "systolic"}, disable_env_checker=True)


def test_multifidelity_search_counts_real_simulations_only_and_never_repeats_one():
    env = _Recording(_systolic())
    low = gym.make("archgym/Accelerator-v0", disable_env_checker=True)
    result = proxy_assisted_search(env, 30, initial=10, batch=5, pool=2000, seed=0, low_fidelity=low)
    assert result.real_evaluations == len(env.log) == 30 == len(result.curve)
    assert len({tuple(sorted(d.items())) for d in env.log}) == 30
    assert result.curve == sorted(result.curve) and result.curve[-1] == result.best_reward
    assert env.unwrapped.step(result.best_design)[1] == result.best_reward


@pytest.mark.slow  # four searches of 40 analytical simulations: ~20 s on a shared core
def test_low_fidelity_model_beats_the_plain_proxy_on_a_needle_reward():
    wins = 0
    for seed in (0, 1):
        low = gym.make("archgym/Accelerator-v0", disable_env_checker=True)
        multi = proxy_assisted_search(_systolic(), 40, pool=5000, seed=seed, low_fidelity=low).best_reward
        plain = proxy_assisted_search(_systolic(), 40, pool=1000, seed=seed).best_reward
        wins += multi > plain
    assert wins == 2
