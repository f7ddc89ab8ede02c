"""archgym/CoDesign-v0: a cell and an accelerator, baseline-derived targets, every agent."""

import gymnasium as gym
import pytest

import archgym  # noqa: F401  (registers the envs)
from archgym.envs.accelerator import accelerator_design_space
from archgym.envs.codesign import (DEFAULT_HARDWARE_METRICS, DEFAULT_IMPROVEMENT, OBSERVED_METRICS,
                                   codesign_design_space)
from archgym.envs.nasbench201 import cell_design_space
from archgym.simulator import SimulationError
from archgym.simulators.accelerator import BASELINE_DESIGN, AnalyticalAccelerator
from archgym.simulators.nas.codesign import CoDesignSimulator
from archgym.simulators.nas.nb201 import RESNET_ARCH, arch_to_design

BASELINE = {**arch_to_design(RESNET_ARCH), **BASELINE_DESIGN}


def test_design_space_joins_the_cell_and_the_accelerator():
    space = codesign_design_space()
    assert space.names == cell_design_space().names + accelerator_design_space().names
    assert list(space.nvec) == [5] * 6 + [6, 6, 3, 7, 8, 6, 8, 7, 5]
    assert space.default() == BASELINE
    assert space.size == 15_625 * 10_160_640


def test_documented_baseline_figures_are_current():
    """CoDesignEnv's docstring quotes the cifar10 baseline on the analytical back-end."""
    m = gym.make("archgym/CoDesign-v0").unwrapped.baseline_metrics
    assert (m["latency_ms"], m["energy_uj"], m["area_mm2"]) == pytest.approx((0.79, 368, 6.48), rel=0.01)
    assert m["valid_acc"] == 90.86


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100"])
def test_default_targets_come_from_the_baseline(dataset):
    env = gym.make("archgym/CoDesign-v0", dataset=dataset).unwrapped
    baseline = CoDesignSimulator().evaluate(BASELINE, dataset)
    assert env.baseline_metrics == baseline
    assert env.objective.targets == {"valid_acc": 100.0,
                                     **{m: (1 - DEFAULT_IMPROVEMENT) * baseline[m] for m in DEFAULT_HARDWARE_METRICS}}
    env.reset(seed=0)
    obs, reward, _, _, info = env.step(env.design_space.default())
    # the baseline misses every hardware target by 1/0.9 - 1
    assert reward == pytest.approx(baseline["valid_acc"] / 100 - 1 - 3 * (1 / 0.9 - 1))
    assert info["metrics"] == baseline and env.observation_space.contains(obs)
    assert env.observed_metrics == OBSERVED_METRICS


def test_a_design_meeting_every_hardware_target_is_scored_by_accuracy_alone():
    env = gym.make("archgym/CoDesign-v0").unwrapped
    env.reset(seed=0)
    lean = {**BASELINE, "edge_1_0": "nor_conv_1x1", "edge_2_1": "nor_conv_1x1", "glb_kib": 128, "clock_mhz": 800}
    _, reward, _, _, info = env.step(lean)
    m, t = info["metrics"], env.objective.targets
    assert all(m[k] <= t[k] for k in DEFAULT_HARDWARE_METRICS), (m, t)
    assert reward == pytest.approx(m["valid_acc"] / 100 - 1)


def test_random_steps_cache_and_vector_actions():
    env = gym.make("archgym/CoDesign-v0", dataset="ImageNet16-120")
    env.reset(seed=3)
    action = env.action_space.sample()
    first = env.step(action)
    assert not env.unwrapped.last_evaluation.cached and first[4]["feasible"]
    second = env.step(action)
    assert env.unwrapped.last_evaluation.cached and first[1] == second[1]
    key = next(iter(env.unwrapped.cache._entries))
    assert key[0].startswith("nb201-codesign@") and "accelerator-analytical" in key[0] and key[1] == "ImageNet16-120"


def test_user_targets_and_other_objectives():
    env = gym.make("archgym/CoDesign-v0", reward="weighted_sum", targets={"valid_acc": 100.0, "edp": 100.0})
    env.reset(seed=0)
    _, reward, _, _, info = env.step(BASELINE)
    m = info["metrics"]
    assert reward == pytest.approx(m["valid_acc"] / 100 - m["edp"] / 100)
    assert env.unwrapped.baseline_metrics is None


class RejectingAcceleratorMock(AnalyticalAccelerator):
    """Test double: a back-end that cannot map any design."""

    def simulate(self, design, workload):
        raise SimulationError("mock: no mapping")


def test_unmappable_design_gets_the_failure_reward():
    env = gym.make("archgym/CoDesign-v0", simulator=CoDesignSimulator(RejectingAcceleratorMock()),
                   targets={"valid_acc": 100.0, "latency_ms": 1.0})
    env.reset(seed=0)
    obs, reward, _, _, info = env.step(BASELINE)
    assert not info["feasible"] and "mock: no mapping" in info["error"] and info["metrics"] == {}
    assert reward == env.unwrapped.objective.failure_reward
    assert obs.tolist() == [0.0, 1.0, 1.0, 1.0]  # worst: accuracy 0, hardware costs 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown accelerator backend 'maestro'"):
        gym.make("archgym/CoDesign-v0", backend="maestro")
    with pytest.raises(ValueError, match="unknown NAS-Bench-201 dataset 'mnist'"):
        gym.make("archgym/CoDesign-v0", dataset="mnist")
    with pytest.raises(ValueError, match="no 200-epoch results for 'cifar100'"):
        gym.make("archgym/CoDesign-v0", dataset="cifar100", epochs=200)
