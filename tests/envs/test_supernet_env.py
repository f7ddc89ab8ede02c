"""archgym/Supernet-v0: a tiny supernet (C=4, N=1, one epoch on digits) in a per-test cache folder."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env

import archgym  # noqa: F401  (registers the envs)
from archgym.envs.nasbench201 import cell_design_space
from archgym.simulators.nas import nb201

torch.set_num_threads(1)

TINY = {"channels": 4, "cells_per_stage": 1, "epochs": 1, "bn_batches": 1, "progress": False}
CELL = ("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "none", "nor_conv_3x3")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("supernet-cache")


def make(cache_dir, **kwargs):
    return gym.make("archgym/Supernet-v0", cache_dir=cache_dir, **{**TINY, **kwargs})


def test_step_reward_is_the_inherited_weights_validation_accuracy(cache_dir):
    env = make(cache_dir)
    assert env.unwrapped.design_space == cell_design_space()
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(nb201.arch_to_design(CELL))
    metrics = info["metrics"]
    assert info["feasible"] and info["workload"] == "digits" and not terminated and not truncated
    assert reward == metrics["accuracy"] == env.unwrapped.supernet.evaluate(CELL, bn_batches=1)["accuracy"]
    assert env.observation_space.contains(obs)
    assert obs[0] == pytest.approx(metrics["accuracy"] / (metrics["accuracy"] + 1))
    _, _, _, _, info = env.step(env.unwrapped.design_space.encode(nb201.arch_to_design(("nor_conv_3x3",) * 6)))
    assert info["metrics"]["params"] > metrics["params"]


def test_second_construction_loads_the_checkpoint(cache_dir):
    first = make(cache_dir, seed=3).unwrapped.supernet
    second = make(cache_dir, seed=3).unwrapped.supernet
    assert second.from_cache and second.history.steps == 0 and second.checkpoint == first.checkpoint
    assert len(list(cache_dir.glob("*.pt"))) >= 1
    for a, b in zip(first.network.state_dict().values(), second.network.state_dict().values()):
        assert torch.equal(a, b)


def test_checkers_pass(cache_dir):
    from stable_baselines3.common.env_checker import check_env

    env = make(cache_dir)
    gym_check_env(env.unwrapped, skip_render_check=True)
    check_env(env.unwrapped, warn=True)


def test_darts_mode_exposes_the_selections(cache_dir):
    env = make(cache_dir, mode="darts")
    supernet = env.unwrapped.supernet
    assert supernet.config.mode == "darts" and supernet.alpha.shape == (6, 5)
    nb201.check_arch(supernet.select_argmax())
    env.reset(seed=1)
    _, reward, _, _, info = env.step(env.action_space.sample())
    assert 0 <= reward <= 1 and info["feasible"]


def test_gdas_mode_trains_its_own_checkpoint_and_selects_by_argmax(cache_dir):
    env = make(cache_dir, mode="gdas")
    supernet = env.unwrapped.supernet
    assert supernet.config.mode == "gdas" and supernet.alpha.shape == (6, 5)
    assert supernet.select_argmax() == tuple(nb201.OP_NAMES[i] for i in supernet.alpha.argmax(1).tolist())
    darts = make(cache_dir, mode="darts").unwrapped.supernet
    assert supernet.checkpoint != darts.checkpoint and supernet.key != darts.key  # modes never share a cache entry
    assert make(cache_dir, mode="gdas").unwrapped.supernet.from_cache
    env.reset(seed=1)
    _, reward, _, _, info = env.step(env.action_space.sample())
    assert 0 <= reward <= 1 and info["feasible"]


def test_objectives_and_targets_are_make_kwargs(cache_dir):
    env = make(cache_dir, reward="normalized_excess", targets={"accuracy": 1.0, "flops": 1e5})
    env.reset(seed=0)
    _, reward, _, _, info = env.step(nb201.arch_to_design(("nor_conv_3x3",) * 6))
    m = info["metrics"]
    assert reward == pytest.approx(-((1 - m["accuracy"]) + max(m["flops"] / 1e5 - 1, 0)))


def test_bad_arguments_are_named(cache_dir, tmp_path):
    with pytest.raises(ValueError, match="unknown supernet mode 'enas'"):
        make(cache_dir, mode="enas")
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        make(cache_dir, dataset="imagenet")
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        make(cache_dir, dataset="cifar10", data_dir=tmp_path)
    with pytest.raises(ValueError, match="bn_batches"):
        make(cache_dir, bn_batches=-1)
    with pytest.raises(ValueError, match="unknown device 'gpu'.*cpu, cuda, auto"):
        make(cache_dir, device="gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda' needs CUDA"):
            make(cache_dir, device="cuda")
    env = make(cache_dir)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="edge_1_0"):
        env.step({**nb201.arch_to_design(CELL), "edge_1_0": "conv_5x5"})
    assert np.all(env.unwrapped.design_space.nvec == 5)


def test_v1_changes_only_the_defaults_and_v0_keeps_its_own(cache_dir):
    import inspect

    from archgym.envs.supernet import SupernetEnv

    defaults = inspect.signature(SupernetEnv).parameters
    assert defaults["epochs"].default == 30 and defaults["bn_batches"].default == 0  # v0 unchanged
    v1 = gym.spec("archgym/Supernet-v1")
    assert v1.entry_point == gym.spec("archgym/Supernet-v0").entry_point and v1.max_episode_steps == 100
    assert v1.kwargs["epochs"] > defaults["epochs"].default and v1.kwargs["bn_batches"] > 0
    quick = {"channels": 4, "epochs": 1, "progress": False}  # keep each version's bn_batches default
    old = gym.make("archgym/Supernet-v0", cache_dir=cache_dir, **quick).unwrapped
    new = gym.make("archgym/Supernet-v1", cache_dir=cache_dir, **quick).unwrapped
    assert old.simulator.bn_batches == 0 and new.simulator.bn_batches == v1.kwargs["bn_batches"]
    assert old.simulator.fingerprint() != new.simulator.fingerprint()  # cached evaluations never mix


def test_fair_sampling_reaches_the_supernet_through_train_kwargs(cache_dir):
    fair = make(cache_dir, train_kwargs={"sampling": "fair"}).unwrapped
    uniform = make(cache_dir).unwrapped
    assert fair.supernet.config.sampling == "fair" and uniform.supernet.config.sampling == "uniform"
    assert fair.simulator.fingerprint() != uniform.simulator.fingerprint()  # cached evaluations never mix
    with pytest.raises(ValueError, match="unknown path sampling 'random'"):
        make(cache_dir, train_kwargs={"sampling": "random"})


def test_v2_scores_by_minus_the_loss_on_all_images(cache_dir):
    v2 = gym.spec("archgym/Supernet-v2")
    assert v2.entry_point == gym.spec("archgym/Supernet-v0").entry_point and v2.max_episode_steps == 100
    assert v2.kwargs["epochs"] > gym.spec("archgym/Supernet-v1").kwargs["epochs"] and v2.kwargs["bn_batches"] > 0
    env = gym.make("archgym/Supernet-v2", cache_dir=cache_dir, channels=4, epochs=1, progress=False)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(nb201.arch_to_design(CELL))
    supernet = env.unwrapped.supernet
    assert info["metrics"] == supernet.evaluate(CELL, bn_batches=v2.kwargs["bn_batches"], split="all")
    assert reward == pytest.approx(-info["metrics"]["loss"])
    assert env.unwrapped.simulator.fingerprint().endswith("|split=all")


def test_ensemble_trains_seeded_members_and_scores_their_mean(cache_dir):
    single = make(cache_dir).unwrapped
    one = make(cache_dir, ensemble=1).unwrapped
    assert one.simulator.fingerprint() == single.simulator.fingerprint() and one.supernet.key == single.supernet.key
    pair = make(cache_dir, seed=3, ensemble=2).unwrapped
    assert [m.config.seed for m in pair.supernets] == [3, 4] and pair.supernet is pair.supernets[0]
    assert pair.supernets[1].key == make(cache_dir, seed=4).unwrapped.supernet.key  # each member cached alone
    design = nb201.arch_to_design(CELL)
    each = [m.evaluate(CELL, bn_batches=TINY["bn_batches"]) for m in pair.supernets]
    metrics = pair.simulator.evaluate(design, "digits")
    assert metrics["loss"] == pytest.approx(sum(e["loss"] for e in each) / 2) and each[0]["loss"] != each[1]["loss"]
    assert pair.simulator.fingerprint() != make(cache_dir, seed=3).unwrapped.simulator.fingerprint()


def test_bad_ensemble_is_named_before_training(cache_dir, monkeypatch):
    from archgym.simulators.nas import supernet

    monkeypatch.setattr(supernet, "train_supernet", lambda *a, **k: pytest.fail("trained before checking ensemble"))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=f"ensemble must be a positive integer.*got {bad!r}"):
            make(cache_dir, seed=99, ensemble=bad)
