"""archgym/NASBench201-v0: exact lookups through the env, rewards, variants, every agent."""

import importlib.util

import gymnasium as gym
import numpy as np
import pytest

import archgym  # noqa: F401  (registers the envs)
from archgym.agents import list_agents, make_agent
from archgym.envs.nasbench201 import OBSERVED_METRICS, NASBench201Env, cell_design_space
from archgym.simulators.nas.nb201 import EDGE_NAMES, OP_NAMES, RESNET_ARCH, arch_to_design, parse_arch
from archgym.simulators.nas.tabular import NB201Tabular, load_table

#: the optuna_* agents need the optional extra (pip install 'archgym[optuna]')
HAS_OPTUNA = importlib.util.find_spec("optuna") is not None

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def test_design_space_is_the_cell_with_the_resnet_default():
    space = cell_design_space()
    assert space.names == EDGE_NAMES and list(space.nvec) == [5] * 6 and space.size == 15625
    assert space.default() == arch_to_design(RESNET_ARCH)
    assert all(space[name].choices == OP_NAMES for name in EDGE_NAMES)


def test_step_returns_the_table_values_and_minus_the_validation_error():
    env = gym.make("archgym/NASBench201-v0")
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(arch_to_design(parse_arch(BEST)))
    table = load_table()
    row = table.benchmark_index(BEST)
    assert info["metrics"]["valid_acc"] == table.column("cifar10-valid-200.valid_acc")[row] == 91.6067
    assert info["metrics"]["latency_ms"] == table.column("latency.pixel3")[row]
    assert reward == pytest.approx(info["metrics"]["valid_acc"] / 100 - 1)
    assert info["feasible"] and info["workload"] == "cifar10" and not terminated and not truncated
    assert env.observation_space.contains(obs) and env.unwrapped.observed_metrics == OBSERVED_METRICS


def test_actions_are_edge_indices_and_the_baseline_reads_one_half():
    env = gym.make("archgym/NASBench201-v0")
    env.reset(seed=0)
    obs, *_ = env.step(np.array([OP_NAMES.index(op) for op in RESNET_ARCH]))
    assert obs == pytest.approx([90.86 / (90.86 + 100), 0.5, 0.5, 0.5])


def test_hardware_aware_reward_penalises_only_the_excess():
    env = gym.make("archgym/NASBench201-v0", device="eyeriss", latency_target=5.0, flops_target=50.0).unwrapped
    assert env.objective.targets == {"valid_acc": 100.0, "latency_ms": 5.0, "flops_m": 50.0}
    env.reset(seed=0)
    for arch in (BEST, "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"):
        _, reward, _, _, info = env.step(arch_to_design(parse_arch(arch)))
        m = info["metrics"]
        excess = max(m["latency_ms"] / 5.0 - 1, 0) + max(m["flops_m"] / 50.0 - 1, 0)
        assert reward == pytest.approx(m["valid_acc"] / 100 - 1 - excess)
    assert excess == 0  # the small cell meets both budgets


@pytest.mark.parametrize("dataset, epochs", [("cifar100", None), ("ImageNet16-120", 12), ("cifar10", 12)])
def test_dataset_and_epochs_variants(dataset, epochs):
    env = gym.make("archgym/NASBench201-v0", dataset=dataset, epochs=epochs, device="fpga")
    env.reset(seed=1)
    _, _, _, _, info = env.step(env.action_space.sample())
    design = info["design"]
    assert info["metrics"] == NB201Tabular(epochs=12, device="fpga").evaluate(design, dataset)
    assert info["workload"] == dataset


def test_bad_arguments_list_the_valid_ones():
    with pytest.raises(ValueError, match="unknown latency device 'tpu'; expected one of .*pixel3"):
        gym.make("archgym/NASBench201-v0", device="tpu")
    with pytest.raises(ValueError, match="unknown NAS-Bench-201 dataset 'svhn'; expected one of cifar10, cifar100"):
        gym.make("archgym/NASBench201-v0", dataset="svhn")
    with pytest.raises(ValueError, match="no 200-epoch results for 'cifar100'"):
        gym.make("archgym/NASBench201-v0", dataset="cifar100", epochs=200)
    with pytest.raises(ValueError, match="either targets= or latency_target="):
        gym.make("archgym/NASBench201-v0", targets={"valid_acc": 90.0}, latency_target=3.0)
    env = gym.make("archgym/NASBench201-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid value 'conv' for parameter 'edge_1_0'"):
        env.step({**arch_to_design(RESNET_ARCH), "edge_1_0": "conv"})


def test_cache_and_fingerprint():
    env = gym.make("archgym/NASBench201-v0", device="raspi4")
    env.reset(seed=0)
    action = env.action_space.sample()
    first = env.step(action)
    second = env.step(action)
    assert env.unwrapped.last_evaluation.cached and first[1] == second[1]
    key = next(iter(env.unwrapped.cache._entries))
    assert key[0] == "nb201-tabular@1.0:epochs=200:device=raspi4" and key[1] == "cifar10"


def test_isomorphic_cells_keep_their_own_entries():
    env = NASBench201Env()
    via_1 = parse_arch("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|")
    via_2 = parse_arch("|skip_connect~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|")
    a = env.step(arch_to_design(via_1))[4]["metrics"]
    b = env.step(arch_to_design(via_2))[4]["metrics"]
    table = load_table()
    assert a["valid_acc"] == table.value("cifar10-valid-200.valid_acc", via_1)
    assert b["valid_acc"] == table.value("cifar10-valid-200.valid_acc", via_2)
    assert a["params_m"] == b["params_m"] and a["valid_acc"] != b["valid_acc"]


@pytest.mark.parametrize("name", list_agents(optional=HAS_OPTUNA))
def test_every_agent_runs(name, counting_wrapper):
    env = counting_wrapper(gym.make("archgym/NASBench201-v0"))
    space = env.unwrapped.design_space
    result = make_agent(name, space, seed=0).run(env, budget=12)
    assert env.steps == 12 == result.evaluations
    assert space.validate(result.best_design) == result.best_design
    assert -1.0 <= result.best_reward == max(result.rewards) <= 0.0
    assert result.best_metrics["valid_acc"] == pytest.approx(100 * (1 + result.best_reward))


def test_zero_cost_proxy_metric_searches_on_the_proxy_score():
    from archgym.simulators.nas.nb201 import RESNET_ARCH, arch_to_design

    env = gym.make("archgym/NASBench201-v0", metric="naswot",
                   proxy_kwargs={"channels": 4, "cells_per_stage": 1, "batch_size": 8})
    env.reset(seed=0)
    _, reward, _, _, info = env.step(arch_to_design(RESNET_ARCH))
    assert set(info["metrics"]) == {"naswot"} and reward == pytest.approx(1.0)  # the ResNet cell scores +1
    _, reward, _, _, info = env.step(arch_to_design(["none"] * 6))  # no signal reaches the output
    assert not info["feasible"] and "error" in info
    env.close()


@pytest.mark.parametrize("kwargs, match", [
    ({"metric": "naswot", "latency_target": 5.0}, "neither"),
    ({"proxy_kwargs": {"channels": 4}}, "metric="),
    ({"metric": "accuracy_at_birth"}, "synflow"),
])
def test_bad_proxy_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make("archgym/NASBench201-v0", **kwargs)
