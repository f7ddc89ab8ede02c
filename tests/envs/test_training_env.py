"""archgym/Training-v0: defaults, budget reward, infeasible designs, variants."""

import math

import gymnasium as gym
import pytest

import archgym  # noqa: F401  (registers the envs)
from archgym.envs.training import BUDGET_PER_NPU, StepTimeUnderBudget, training_design_space


@pytest.fixture(scope="module")
def env():
    e = gym.make("archgym/Training-v0")
    e.reset(seed=0)
    return e


def test_default_design_is_feasible_and_on_budget(env):
    space = env.unwrapped.design_space
    _, reward, _, _, info = env.step(space.default())
    assert info["feasible"] and not info.get("error")
    assert info["metrics"]["network_cost"] == pytest.approx(BUDGET_PER_NPU * 64)
    assert reward == pytest.approx(-1.0)  # the baseline's step time is the scale


def test_over_budget_is_penalised(env):
    space = env.unwrapped.design_space
    rich = dict(space.default(), bw0=400, bw1=400, bw2=400)
    _, reward, _, _, info = env.step(rich)
    m = info["metrics"]
    scale = env.unwrapped.baseline_metrics["step_time_ms"]
    assert m["network_cost"] > env.unwrapped.budget
    assert reward == pytest.approx(-m["step_time_ms"] / scale - 10 * (m["network_cost"] / env.unwrapped.budget - 1))
    assert reward < -m["step_time_ms"] / scale


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(tp=16, pp=16), "does not divide the 64 NPUs"),
        (dict(tp=16, pp=1, shape="64", kind0="Switch"), None),  # feasible: 16 divides heads 16; a switch splits
        (dict(tp=16, pp=1, shape="64", kind0="Ring"), "would split a Ring dimension"),
        (dict(shape="3x3x7"), "not one of|shape"),
    ],
)
def test_infeasible_designs_do_not_crash(env, change, match):
    design = dict(env.unwrapped.design_space.default(), **change)
    if change.get("shape") == "3x3x7":
        with pytest.raises(ValueError):  # not in the design space at all: an action error
            env.step(design)
        return
    obs, reward, term, trunc, info = env.step(design)
    assert env.observation_space.contains(obs)
    if match is None:
        assert not info.get("error")
    else:
        assert reward == -1000.0 and not info["feasible"]
        assert match in info["error"]


def test_256_npus_space_and_other_rewards():
    space = training_design_space(256)
    shapes = space["shape"].choices
    assert "4x8x8" in shapes and "256" in shapes
    for shape in shapes:
        assert math.prod(int(x) for x in shape.split("x")) == 256
    env = gym.make("archgym/Training-v0", npus=256, workload="gpt3-13b", reward="normalized_excess",
                   targets={"step_time_ms": 1000.0, "network_cost": 256 * 300.0})
    env.reset(seed=1)
    _, reward, _, _, info = env.step(env.action_space.sample())
    assert reward <= 0 or reward == -1000.0


def test_resnet_rejects_tensor_parallelism():
    env = gym.make("archgym/Training-v0", workload="resnet50")
    env.reset(seed=0)
    design = dict(env.unwrapped.design_space.default(), tp=2, pp=1)
    _, reward, _, _, info = env.step(design)
    assert "no tensor-parallel layers" in info["error"] and reward == -1000.0
    _, reward, _, _, info = env.step(dict(design, tp=1, pp=1))
    assert not info.get("error") and reward < 0


def test_budget_objective_validation():
    from archgym.simulators.training.step import TRAINING_METRICS

    metrics = {m.name: m for m in TRAINING_METRICS}
    with pytest.raises(ValueError, match="needs exactly the targets"):
        StepTimeUnderBudget(metrics, {"step_time_ms": 1.0})
    with pytest.raises(ValueError, match="budget must be positive"):
        gym.make("archgym/Training-v0", budget=-1)
    with pytest.raises(ValueError, match="npus must be an integer"):
        gym.make("archgym/Training-v0", npus=2.5)
    with pytest.raises(ValueError, match="unknown training workload 'gpt5'"):
        gym.make("archgym/Training-v0", workload="gpt5")


def test_malformed_workload_file_is_reported(tmp_path):
    path = tmp_path / "model.csv"
    path.write_text("# global_batch: 64\n# micro_batch: 1\nname,fwd_flops,params,activation_bytes,boundary_bytes,"
                    "tp_split,tp_comm_bytes\nblock,1e9,1e6,1e5,1e5,2,0\n")
    with pytest.raises(ValueError, match="model.csv:4: tp_split must be 0 or 1"):
        gym.make("archgym/Training-v0", workload=str(path))


def test_readme_example_runs(capsys):
    """The README's Training-v0 snippet runs as shown (with a smaller budget)."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Distributed training systems (`archgym/Training-v0`)", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "budget=1000" in code
    exec(compile(code.replace("budget=1000", "budget=20"), "README[training]", "exec"), {})
    assert "shape" in capsys.readouterr().out
