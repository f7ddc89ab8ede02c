import json

import pandas as pd

from archgym.dataset import DatasetWriter, load
from archgym.env import DSEEnv
from archgym.recording import RecordEvaluations
from archgym.registration import register
from archgym.runner import run_agent, run_id


def test_every_step_becomes_a_record_with_run_identity(simulator, space, tmp_path):
    env = DSEEnv(simulator, space, "light", targets={"cost": 2.0})
    with DatasetWriter(tmp_path) as writer:
        logged = RecordEvaluations(env, writer, study="s1", run="r1", agent="manual", agent_params={"x": 1}, seed=9)
        logged.reset(seed=0)
        logged.step({"mode": "fast", "size": 10, "buffer": 16})
        logged.step({"mode": "fail", "size": 1, "buffer": 1})
        logged.step({"mode": "fast", "size": 10, "buffer": 16})  # cached, still logged
    df = load(tmp_path).sort_values("step")
    assert list(df["step"]) == [0, 1, 2]
    assert set(df["study"]) == {"s1"} and set(df["run"]) == {"r1"} and set(df["seed"]) == {9}
    assert json.loads(df["agent_params"].iloc[0]) == {"x": 1}
    assert list(df["feasible"]) == [True, False, True]
    assert "synthetic failure" in df["error"].iloc[1] and pd.isna(df["error"].iloc[0])
    assert df["metric.cost"].iloc[0] == 1.0 and pd.isna(df["metric.cost"].iloc[1])
    assert list(df["design.mode"]) == ["fast", "fail", "fast"]
    assert set(df["simulator"]) == {"synthetic-test"} and set(df["simulator_version"]) == {"1"}


def test_run_agent_logs_budget_rows_with_deterministic_run_id(simulator, space, tmp_path):
    register("archgym/SyntheticRecord-v0", entry_point="archgym.env:DSEEnv", max_episode_steps=7, description="test double")
    kwargs = {"simulator": simulator, "design_space": space, "workload": "light", "targets": {"cost": 2.0}}
    result = run_agent("archgym/SyntheticRecord-v0", "random", 25, seed=4, env_kwargs=kwargs, dataset=tmp_path, study="t")
    df = load(tmp_path)
    assert len(df) == 25 == result.evaluations
    assert df["reward"].max() == result.best_reward
    assert set(df["env_id"]) == {"archgym/SyntheticRecord-v0"} and set(df["agent"]) == {"random"}
    assert df["run"].nunique() == 1
    assert run_id("e", {}, "random", {}, 1, 10) == run_id("e", {}, "random", {}, 1, 10) != run_id("e", {}, "random", {}, 2, 10)
