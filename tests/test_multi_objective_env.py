"""Multi-objective envs: declared objectives, vector rewards (MO-Gymnasium conventions), log_ratio."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import archgym  # noqa: F401
from archgym.env import DSEEnv
from archgym.objectives import LOG_RATIO_BOUND, ObjectiveSpec, log_ratio_vector, make_objective, resolve_objectives

BEST = {"mode": "fast", "size": 10, "buffer": 16}  # cost 1, speed 100 (tests/conftest.py)
BASE = {"mode": "slow", "size": 1, "buffer": 1}  # the space's defaults: cost 17, speed 100/17


def mo_env(simulator, space, **kwargs):
    return DSEEnv(simulator, space, "light", objectives=[("cost", "min"), "speed"], **kwargs)


def test_objectives_are_resolved_with_units_and_senses(simulator, space):
    env = mo_env(simulator, space, reward="vector")
    assert env.objectives == (ObjectiveSpec("cost", "minimize", "units"), ObjectiveSpec("speed", "maximize", "units"))
    assert env.reward_dim == 2
    assert env.reward_space == gym.spaces.Box(-LOG_RATIO_BOUND, LOG_RATIO_BOUND, (2,), np.float32)


def test_vector_reward_is_the_signed_log_ratio_to_the_baseline(simulator, space):
    env = mo_env(simulator, space, reward="vector")
    assert space.default() == BASE
    env.reset(seed=0)
    _, base_vector, *_ = env.step(BASE)
    assert base_vector.dtype == np.float32 and base_vector.shape == (2,)
    assert base_vector.tolist() == [0.0, 0.0]
    _, vector, _, _, info = env.step(BEST)
    # cost 17 -> 1 (minimise): +ln 17; speed 100/17 -> 100 (maximise): +ln 17; soft-clipped at L = 5
    expected = LOG_RATIO_BOUND * math.tanh(math.log(17.0) / LOG_RATIO_BOUND)
    assert vector.tolist() == pytest.approx([expected, expected], rel=1e-6)
    assert env.reward_space.contains(vector)
    assert info["scalar_reward"] == pytest.approx(expected, rel=1e-6)
    # a design that fails gets the worst vector
    _, failed, _, _, info = env.step({"mode": "fail", "size": 1, "buffer": 1})
    assert not info["feasible"] and failed.tolist() == [-LOG_RATIO_BOUND] * 2


def test_log_ratio_scalar_is_linear_reward_of_the_vector(simulator, space):
    """MO-Gymnasium's LinearReward with weights w/Σw on the vector gives back the scalar log_ratio."""
    weights = {"cost": 3.0, "speed": 1.0}
    scalar_env = mo_env(simulator, space, reward="log_ratio", weights=weights)
    vector_env = mo_env(simulator, space, reward="vector")
    w = np.array([0.75, 0.25])
    for design in (BEST, {"mode": "fast", "size": 7, "buffer": 4}, {"mode": "slow", "size": 15, "buffer": 64}):
        _, scalar, _, _, info = scalar_env.step(design)
        _, vector, *_ = vector_env.step(design)
        assert scalar == pytest.approx(float(np.dot(vector, w)), rel=1e-6)
        assert info["vector_reward"].tolist() == vector.tolist()
    assert scalar_env.step(BASE)[1] == 0.0


def test_log_ratio_is_about_the_relative_improvement_and_bounded():
    from archgym.simulator import Metric

    metrics = {"lat": Metric("lat", "ns"), "acc": Metric("acc", "%", "maximize")}
    objective = make_objective("log_ratio", metrics, {"lat": 100.0, "acc": 80.0})
    assert objective({"lat": 100.0, "acc": 80.0}) == 0.0
    # 10 % better on both objectives reads ~ +0.1
    assert objective({"lat": 100.0 / 1.1, "acc": 88.0}) == pytest.approx(math.log(1.1), rel=1e-3)
    assert objective({"lat": 100.0 * 1.1, "acc": 80.0 / 1.1}) == pytest.approx(-math.log(1.1), rel=1e-3)
    # smooth and bounded: no singularity at any value, saturates at the bound
    assert objective({"lat": 0.0, "acc": 1e30}) == LOG_RATIO_BOUND
    assert objective({"lat": 1e30, "acc": 0.0}) == -LOG_RATIO_BOUND
    assert abs(objective({"lat": 1e3, "acc": 8.0})) < LOG_RATIO_BOUND  # 10x worse: large, still inside
    assert objective.failure_reward == -LOG_RATIO_BOUND
    assert objective.reward_range() == (-LOG_RATIO_BOUND, LOG_RATIO_BOUND)
    vector = log_ratio_vector({"lat": 50.0, "acc": 80.0}, objective.specs, objective.targets)
    assert vector.tolist() == pytest.approx([LOG_RATIO_BOUND * math.tanh(math.log(2) / LOG_RATIO_BOUND), 0.0])


@pytest.mark.parametrize(
    "objectives, message",
    [
        (["latency"], "unknown objective metric 'latency'; expected one of cost, speed"),
        ([("cost", "smallest")], "objective 'cost': unknown sense 'smallest'"),
        ([("speed", "minimize")], "objective 'speed': cannot minimize it"),
        (["cost", "cost"], "listed twice"),
        ([], "at least one objective"),
    ],
)
def test_bad_objectives_fail_before_any_simulation(simulator, space, objectives, message):
    with pytest.raises(ValueError, match=message):
        DSEEnv(simulator, space, "light", objectives=objectives, reward="vector")
    assert simulator.calls == 0


def test_bad_objective_on_a_registered_env_fails_before_the_baseline_simulation():
    with pytest.raises(ValueError, match="unknown objective metric 'latency_ns'"):
        gym.make("archgym/DRAM-v1", objectives=["latency_ns"])
    with pytest.raises(ValueError, match="cannot maximize"):
        gym.make("archgym/Accelerator-v1", objectives={"latency_ms": "maximize"})


def test_scalar_env_keeps_the_vector_in_info_when_the_baseline_is_known(simulator, space):
    env = mo_env(simulator, space, targets={"cost": 2.0}, baseline_metrics={"cost": 17.0, "speed": 100 / 17})
    _, reward, _, _, info = env.step(BEST)
    assert reward == pytest.approx(2.0)  # target_distance, unchanged
    assert info["vector_reward"].shape == (2,)
    # without a known baseline no extra simulation is spent on it in scalar mode
    env = mo_env(simulator, space, targets={"cost": 2.0})
    calls = simulator.calls
    assert env.step(BEST)[4]["vector_reward"] is None
    assert simulator.calls == calls + 1


V1 = {"archgym/DRAM-v1": {"max_requests": 500}, "archgym/Accelerator-v1": {}, "archgym/CoDesign-v1": {}}


@pytest.mark.parametrize("env_id", sorted(V1))
def test_v1_envs_scalar_and_vector(env_id):
    env = gym.make(env_id, **V1[env_id])
    gym_check_env(env.unwrapped, skip_render_check=True)
    unwrapped = env.unwrapped
    assert unwrapped.objective.name == "log_ratio"
    env.reset(seed=0)
    _, reward, _, _, info = env.step(unwrapped.design_space.default())
    assert reward == 0.0 and info["vector_reward"].tolist() == [0.0] * unwrapped.reward_dim
    vector_env = gym.make(env_id, reward="vector", disable_env_checker=True, **V1[env_id])
    vector_env.reset(seed=0)
    for _ in range(3):
        _, vector, _, _, info = vector_env.step(vector_env.action_space.sample())
        assert isinstance(vector, np.ndarray) and vector.dtype == np.float32
        assert vector_env.unwrapped.reward_space.contains(vector)
        assert vector.shape == (len(unwrapped.objectives),)


def test_dram_v1_defaults_differ_from_v0_only_where_documented():
    v1 = gym.make("archgym/DRAM-v1", max_requests=500).unwrapped
    assert v1.workload == "cloud-1"
    assert [o.metric for o in v1.objectives] == ["avg_read_total_latency_ns", "avg_power_mw"]
    # ArchGym's reward stays available by name on v1
    v1_td = gym.make("archgym/DRAM-v1", max_requests=500, reward="target_distance").unwrapped
    assert v1_td.objective.name == "target_distance"
    assert v1_td.objective.targets["avg_power_mw"] == pytest.approx(0.9 * v1_td.baseline_metrics["avg_power_mw"])


def test_declared_objectives_are_readable_without_constructing_the_env():
    from archgym.envs.accelerator import AcceleratorEnv
    from archgym.envs.codesign import CoDesignEnv
    from archgym.envs.dram import DRAMEnv

    for cls in (DRAMEnv, AcceleratorEnv, CoDesignEnv):
        assert cls.DEFAULT_OBJECTIVES and all(isinstance(o, ObjectiveSpec) and o.unit for o in cls.DEFAULT_OBJECTIVES)


def test_resolve_objectives_accepts_a_mapping_and_aliases(simulator):
    specs = resolve_objectives(simulator.metrics, {"speed": "max", "cost": "minimise"})
    assert [(s.metric, s.sense) for s in specs] == [("speed", "maximize"), ("cost", "minimize")]


def test_baseline_table_in_physical_units_with_signed_percentages(simulator, space):
    from archgym.baseline import baseline_table, better_pct, format_table

    env = mo_env(simulator, space, reward="log_ratio")
    table = baseline_table(env, {"best": {"cost": 8.5, "speed": 100.0 / 8.5}}).set_index("metric")
    assert table.loc["cost", "baseline"] == 17.0 and table.loc["cost", "unit"] == "units"
    assert table.loc["cost", "best better_%"] == pytest.approx(50.0)  # half the cost: 50 % better
    assert table.loc["speed", "best better_%"] == pytest.approx(100.0)  # twice the speed
    assert np.isnan(table.loc["cost", "target"])  # log_ratio's "targets" are the baseline itself
    text = format_table(baseline_table(env, {"best": {"cost": 34.0, "speed": 1.0}}))
    assert "-100.0%" in text and "best vs baseline" in text
    assert better_pct(90.0, 100.0, "minimize") == pytest.approx(10.0)
    assert better_pct(90.0, 100.0, "maximize") == pytest.approx(-10.0)
    # ArchGym's reward shows its targets
    td = mo_env(simulator, space, targets={"cost": 2.0})
    assert baseline_table(td, {}).set_index("metric").loc["cost", "target"] == 2.0


@pytest.mark.parametrize("env_id", ["archgym/NASBench201-v0", "archgym/Synthetic-v0", "archgym/CoDesign-v0"])
def test_log_ratio_reference_is_the_baseline_design_on_every_env(env_id):
    env = gym.make(env_id, reward="log_ratio", disable_env_checker=True).unwrapped
    _, reward, _, _, info = env.step(env.design_space.default())
    assert reward == 0.0 and info["vector_reward"].tolist() == [0.0] * env.reward_dim
