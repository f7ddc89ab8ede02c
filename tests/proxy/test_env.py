"""A proxy swapped into a real env: agents run on it and the dataset records its identity."""

from __future__ import annotations

import gymnasium as gym
import pytest

import archgym  # noqa: F401
from archgym.dataset import load
from archgym.envs.dram import controller_design_space
from archgym.proxy import ProxySchemaError, ProxySimulator, train_proxy
from archgym.runner import run_agent


@pytest.fixture(scope="module")
def dram_proxy(dram_dataset, dram_kwargs) -> ProxySimulator:
    return train_proxy(dram_dataset, "archgym/DRAM-v0", kind="rf", seed=0, model_params={"n_estimators": 20},
                       env_kwargs=dram_kwargs)


def test_trained_on_the_env_schema_and_source(dram_proxy):
    assert dram_proxy.design_space == controller_design_space()
    assert dram_proxy.source.env_id == "archgym/DRAM-v0" and dram_proxy.source.workload == "random"
    assert dram_proxy.source.simulator == "dram"
    assert "avg_power_mw" in dram_proxy.metric_names and dram_proxy.metric("bandwidth_gbps").goal == "maximize"
    assert dram_proxy.training["designs"] <= 60


@pytest.mark.slow
def test_an_agent_runs_on_the_proxy_env_and_rows_carry_the_proxy_identity(dram_proxy, dram_dataset, tmp_path):
    env = gym.make("archgym/DRAM-v0", workload="random", simulator=dram_proxy)
    assert env.unwrapped.simulator is dram_proxy
    env.close()
    result = run_agent("archgym/DRAM-v0", "ga", 30, seed=0, dataset=tmp_path,
                       env_kwargs={"workload": "random", "simulator": dram_proxy})
    assert result.evaluations == 30 and result.best_design is not None
    rows = load(tmp_path)
    assert len(rows) == 30
    assert set(rows["simulator"]) == {dram_proxy.name} and set(rows["simulator_version"]) == {dram_proxy.version}
    assert rows["feasible"].all() and rows["metric.avg_power_mw"].gt(0).all()
    real = load(dram_dataset)
    assert not set(real["simulator"]) & set(rows["simulator"])


def test_a_proxy_for_another_workload_is_refused_at_construction(dram_proxy):
    with pytest.raises(ProxySchemaError, match="trained on workload 'random'"):
        gym.make("archgym/DRAM-v0", workload="stream", simulator=dram_proxy)


def test_the_cache_never_mixes_proxy_and_real_results(dram_proxy, dram_kwargs):
    env = gym.make("archgym/DRAM-v0", **dram_kwargs)
    try:
        real = env.unwrapped.simulator
        assert dram_proxy.fingerprint() != real.fingerprint()
        assert dram_proxy.identity != real.identity
    finally:
        env.close()


def test_the_accelerator_env_takes_a_proxy_too(tmp_path):
    kwargs = {"backend": "analytical", "workload": "alexnet"}
    run_agent("archgym/Accelerator-v0", "random", 80, seed=0, env_kwargs=kwargs, dataset=tmp_path)
    proxy = train_proxy(tmp_path, "archgym/Accelerator-v0", kind="mlp", seed=0, model_params={"max_iter": 200},
                        metrics=["latency_ms", "energy_uj", "area_mm2", "utilization"])
    env = gym.make("archgym/Accelerator-v0", workload="alexnet", simulator=proxy)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(env.unwrapped.design_space.default())
    assert info["feasible"] and info["metrics"]["latency_ms"] > 0 and reward > 0
    assert env.unwrapped.simulator.name == "proxy-mlp:accelerator-analytical"
    env.close()


def test_a_proxy_for_another_design_space_is_refused_at_construction(dram_proxy):
    from archgym.env import DSEEnv
    from archgym.spaces import Categorical, DesignSpace

    one_knob = DesignSpace([Categorical("PagePolicy", ["Open", "Closed"])])
    with pytest.raises(ValueError, match="design space"):
        DSEEnv(dram_proxy, one_knob, "random", targets={"avg_power_mw": 100.0})
