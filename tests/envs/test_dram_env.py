import gymnasium as gym
import numpy as np
import pytest

import archgym
from archgym.simulator import SimulationError

SMALL = {"max_requests": 1000}


def test_step_reports_latency_power_energy_and_reward():
    env = gym.make("archgym/DRAM-v0", workload="stream", **SMALL)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.unwrapped.design_space.default())
    metrics = info["metrics"]
    for key in ("avg_read_latency_ns", "avg_power_mw", "energy_nj", "bandwidth_gbps", "row_hit_rate"):
        assert key in metrics and np.isfinite(metrics[key])
    assert metrics["reads"] == 1000 and metrics["avg_read_latency_ns"] > 0
    assert reward > 0 and info["feasible"] and env.observation_space.contains(obs)
    t = env.unwrapped.objective.targets
    expected = np.prod([t[m] / max(abs(metrics[m] - t[m]), 1e-3 * t[m]) for m in t])
    assert reward == pytest.approx(expected)


def test_deterministic_and_cached():
    env_a = gym.make("archgym/DRAM-v0", workload="random", **SMALL)
    env_b = gym.make("archgym/DRAM-v0", workload="random", **SMALL)
    env_a.reset(seed=1)
    env_b.reset(seed=1)
    action = env_a.action_space.sample()
    a = env_a.step(action)
    b = env_b.step(action)
    assert a[1] == b[1] and a[4]["metrics"] == b[4]["metrics"]
    env_a.step(action)
    assert env_a.unwrapped.last_evaluation.cached


def test_page_policy_changes_metrics():
    env = gym.make("archgym/DRAM-v0", workload="stream", **SMALL)
    env.reset(seed=0)
    base = env.unwrapped.design_space.default()
    open_page = env.step({**base, "PagePolicy": "Open"})[4]["metrics"]
    closed_page = env.step({**base, "PagePolicy": "Closed"})[4]["metrics"]
    assert open_page["row_hit_rate"] > 0.5 and closed_page["row_hit_rate"] == 0.0


def test_invalid_action_is_a_clear_error():
    env = gym.make("archgym/DRAM-v0", **SMALL)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="RequestBufferSize"):
        env.step({**env.unwrapped.design_space.default(), "RequestBufferSize": 3})
    with pytest.raises(ValueError, match="parameter 'PagePolicy'"):
        env.step(np.array([9, 0, 0, 0, 0, 0, 0, 0, 0, 0]))


def test_simulator_failure_gives_penalty_and_run_goes_on(monkeypatch):
    env = gym.make("archgym/DRAM-v0", reward="normalized_excess", **SMALL)
    env.reset(seed=0)
    simulator = env.unwrapped.simulator

    def stalled(design, workload):
        raise SimulationError("watchdog: no request completed for 10^6 cycles")

    monkeypatch.setattr(simulator, "evaluate", stalled)
    _, reward, _, _, info = env.step(env.action_space.sample())
    assert reward == env.unwrapped.objective.failure_reward
    assert not info["feasible"] and "watchdog" in info["error"]


def test_unknown_workload_and_target_rejected():
    with pytest.raises(ValueError, match="stream"):
        gym.make("archgym/DRAM-v0", workload="no-such-trace")
    with pytest.raises(ValueError, match="unknown metric 'latency'"):
        gym.make("archgym/DRAM-v0", targets={"latency": 10})
