"""archgym/Accelerator-v0 on the analytical back-end."""

import json

import gymnasium as gym
import numpy as np
import pytest

import archgym  # noqa: F401  (registers the envs)
from archgym.cli import main
from archgym.envs.accelerator import (
    DEFAULT_IMPROVEMENT, DEFAULT_TARGET_METRICS, OBSERVED_METRICS, AcceleratorEnv, accelerator_design_space,
)
from archgym.simulators.accelerator import BASELINE_DESIGN, PARAMETER_VALUES, AnalyticalAccelerator


def test_design_space_is_the_plain_data_with_the_baseline_as_default():
    space = accelerator_design_space()
    assert space.names == tuple(PARAMETER_VALUES)
    assert space.default() == BASELINE_DESIGN
    assert list(space.nvec) == [6, 6, 3, 7, 8, 6, 8, 7, 5]
    for name, values in PARAMETER_VALUES.items():
        assert space[name].choices == values


def test_default_targets_are_ten_percent_below_the_baseline():
    env = gym.make("archgym/Accelerator-v0", workload="mobilenetv2").unwrapped
    baseline = AnalyticalAccelerator().evaluate(BASELINE_DESIGN, "mobilenetv2")
    assert env.baseline_metrics == baseline
    assert env.objective.targets == {m: (1 - DEFAULT_IMPROVEMENT) * baseline[m] for m in DEFAULT_TARGET_METRICS}
    assert env.observed_metrics == OBSERVED_METRICS


def test_step_reports_metrics_reward_and_observation():
    env = gym.make("archgym/Accelerator-v0")
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.unwrapped.design_space.default())
    metrics = info["metrics"]
    assert info["feasible"] and info["workload"] == "resnet18" and not terminated and not truncated
    t = env.unwrapped.objective.targets
    assert reward == pytest.approx(np.prod([t[m] / abs(metrics[m] - t[m]) for m in t]))  # 9 x 9
    assert reward == pytest.approx(81.0)
    assert env.observation_space.contains(obs)
    assert obs[2] == pytest.approx(0.5) and obs[3] == pytest.approx(0.5)  # area, utilisation at their baseline


def test_infeasible_design_gets_the_failure_reward():
    env = gym.make("archgym/Accelerator-v0", reward="normalized_excess")
    env.reset(seed=0)
    _, reward, _, _, info = env.step({**BASELINE_DESIGN, "rf_bytes": 16})
    assert not info["feasible"] and "rf_bytes=16" in info["error"] and info["metrics"] == {}
    assert reward == env.unwrapped.objective.failure_reward


def test_random_actions_and_cache():
    env = gym.make("archgym/Accelerator-v0", workload="bert-base")
    env.reset(seed=3)
    action = env.action_space.sample()
    first = env.step(action)
    assert not env.unwrapped.last_evaluation.cached
    second = env.step(action)
    assert env.unwrapped.last_evaluation.cached and first[1] == second[1]
    key = next(iter(env.unwrapped.cache._entries))
    assert key[0].startswith("accelerator-analytical@") and key[1] == "bert-base"


def test_variants_are_make_kwargs(tmp_path):
    path = tmp_path / "mlp.csv"
    path.write_text("name,type,in_h,in_w,filter_h,filter_w,in_channels,out_channels,stride,groups,M,N,K,repeat\n"
                    "fc1,gemm,,,,,,,,,64,256,784,1\nfc2,gemm,,,,,,,,,64,10,256,1\n")
    env = gym.make("archgym/Accelerator-v0", workload=str(path), targets={"edp": 1.0, "area_mm2": 5.0},
                   reward="weighted_sum")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(env.unwrapped.design_space.default())
    assert info["feasible"] and reward < 0 and env.unwrapped.baseline_metrics is None


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown accelerator backend 'maestro'"):
        gym.make("archgym/Accelerator-v0", backend="maestro")
    with pytest.raises(ValueError, match="resnet18"):
        gym.make("archgym/Accelerator-v0", workload="resnet-9000")
    with pytest.raises(ValueError, match="unknown metric 'power'"):
        gym.make("archgym/Accelerator-v0", targets={"power": 1.0})
    path = tmp_path / "big_filter.csv"
    path.write_text("name,type,in_h,in_w,filter_h,filter_w,in_channels,out_channels,stride,groups,M,N,K,repeat\n"
                    "c,conv,32,32,17,17,8,8,1,1,,,,1\n")  # 289 weights > the baseline's 256-B RF
    with pytest.raises(ValueError, match="baseline design cannot run .* targets="):
        AcceleratorEnv(workload=str(path))


def test_cli_simulate_accelerator(capsys):
    argv = ["simulate", "accelerator", "--workload", "alexnet", "--param", "dataflow=os", "--param", "pe_rows=64",
            "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["design"]["dataflow"] == "output_stationary" and out["design"]["pe_rows"] == 64
    expected = AnalyticalAccelerator().evaluate({"dataflow": "os", "pe_rows": 64}, "alexnet")
    assert out["metrics"] == pytest.approx(expected)
    assert main(["simulate", "accelerator", "--workload", "alexnet"]) == 0
    assert "latency_ms" in capsys.readouterr().out
    assert main(["simulate", "accelerator", "--param", "rf_bytes=16"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("archgym: error: infeasible: rf_bytes=16") and len(err.splitlines()) == 1
