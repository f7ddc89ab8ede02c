"""Study specs: deterministic hyperparameter draws, valid combinations, stable run ids."""

import subprocess
import sys

import numpy as np
import pytest

from archgym.agents import agent_class
from archgym.envs.synthetic import synthetic_design_space
from archgym.runner import canonical, run_id
from archgym.study import Study
from archgym.study.spec import MAX_REDRAWS, RUNTIME_HYPERPARAMETERS

ENV = "archgym/Synthetic-v0"


def test_draws_are_deterministic_and_depend_on_the_sampler_seed():
    a = Study(ENV, ["ga", "aco"], budget=10, draws=5)
    b = Study(ENV, ["ga", "aco"], budget=10, draws=5)
    c = Study(ENV, ["ga", "aco"], budget=10, draws=5, sampler_seed=1)
    assert a.hyperparameter_draws("ga") == b.hyperparameter_draws("ga")
    assert a.hyperparameter_draws("ga") != c.hyperparameter_draws("ga")
    draws = a.hyperparameter_draws("ga")
    assert len({repr(sorted(d.items())) for d in draws}) == 5  # real-valued knobs: all distinct
    space = agent_class("ga").hyperparameter_space
    for d in draws:
        assert space.validate(d) == d


def test_growing_a_study_keeps_its_existing_draws_and_run_ids():
    small = Study(ENV, ["ga"], budget=10, draws=2, seeds=2)
    grown = Study(ENV, ["aco", "ga", "evolution"], budget=10, draws=4, seeds=3)
    assert small.name == grown.name  # default name: env, kwargs and budget only
    assert grown.hyperparameter_draws("ga")[:2] == small.hyperparameter_draws("ga")
    assert {s.run_id for s in small.runs()} <= {s.run_id for s in grown.runs()}


def test_random_baseline_is_added_once_and_runs_as_often_as_each_agent():
    study = Study(ENV, ["ga"], budget=10, draws=3, seeds=[4, 7])
    assert study.agents == ["ga", "random"]
    runs = study.runs()
    random_runs = [r for r in runs if r.agent == "random"]
    # draws x seeds runs like ga: the study's seeds first, then the next integers above them
    assert sorted(r.seed for r in random_runs) == [4, 7, 8, 9, 10, 11] and all(r.params == {} for r in random_runs)
    assert len([r for r in runs if r.agent == "ga"]) == 6
    assert len({r.run_id for r in runs}) == len(runs) == 12
    # growing the draws keeps random's earlier runs
    grown = Study(ENV, ["ga"], budget=10, draws=4, seeds=[4, 7])
    assert {r.run_id for r in random_runs} <= {r.run_id for r in grown.runs() if r.agent == "random"}
    assert Study(ENV, ["ga"], budget=10, include_random=False).agents == ["ga"]


def test_invalid_combinations_are_redrawn_deterministically():
    space = synthetic_design_space()

    def check(params):
        agent_class("evolution")(space, seed=0, **params)

    study = Study(ENV, ["evolution"], budget=10, draws=30)
    draws = study.hyperparameter_draws("evolution", check)
    assert all(d["sample_size"] <= d["population"] for d in draws)
    assert draws == study.hyperparameter_draws("evolution", check)
    # without the check the declared space does produce invalid pairs: the check is what removes them
    assert any(d["sample_size"] > d["population"] for d in study.hyperparameter_draws("evolution"))


def test_a_draw_that_can_never_be_valid_is_a_clear_error():
    def reject(params):
        raise ValueError("nope")

    with pytest.raises(ValueError, match=f"no valid hyperparameters in {MAX_REDRAWS} draw.*nope"):
        Study(ENV, ["ga"], budget=10).hyperparameter_draws("ga", reject)


@pytest.mark.slow  # imports torch and stable-baselines3 for ppo
def test_runtime_knobs_are_not_sampled_and_fixed_values_hold():
    study = Study(ENV, ["ppo"], budget=10, draws=6, fixed={"ppo": {"n_epochs": 3}})
    draws = study.hyperparameter_draws("ppo")
    assert "torch_threads" in RUNTIME_HYPERPARAMETERS
    assert {d["torch_threads"] for d in draws} == {1} and {d["n_epochs"] for d in draws} == {3}
    assert len({d["learning_rate"] for d in draws}) == 6


def test_grid_runs_every_combination_and_rejects_invalid_points():
    study = Study(ENV, ["evolution"], budget=10, seeds=2, grid={"evolution": {"population": [8, 16], "sample_size": [2, 4]}})
    draws = study.hyperparameter_draws("evolution")
    assert [(d["population"], d["sample_size"]) for d in draws] == [(8, 2), (8, 4), (16, 2), (16, 4)]
    assert len([r for r in study.runs() if r.agent == "evolution"]) == 8
    bad = Study(ENV, ["evolution"], budget=10, grid={"evolution": {"population": [4], "sample_size": [8]}})
    with pytest.raises(ValueError, match="rejects grid point"):
        bad.runs(synthetic_design_space())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"agents": ["annealing"]}, "unknown agent 'annealing'"),
        ({"agents": []}, "at least one agent"),
        ({"agents": ["ga"], "draws": 0}, "draws must be an integer >= 1"),
        ({"agents": ["ga"], "seeds": [1, 1]}, "distinct"),
        ({"agents": ["ga"], "grid": {"aco": {"ant_count": [2]}}}, "grid names agent"),
        ({"agents": ["ga"], "budget": 0}, "budget must be"),
    ],
)
def test_bad_study_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Study(ENV, **{"budget": 10, **kwargs})


def test_unknown_fixed_hyperparameter_is_rejected():
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        Study(ENV, ["ga"], budget=5, fixed={"ga": {"colour": 1}}).runs()


class _Thing:
    def __init__(self):
        self.size = np.int64(3)
        self.tags = ("a", "b")


def test_run_ids_are_stable_for_non_json_kwargs():
    kwargs = {"n": np.int64(4), "shape": (1, 2), "obj": _Thing(), "tags": {"b", "a"}}
    first = run_id(ENV, kwargs, "ga", {"p": np.float64(0.5)}, 0, 10)
    assert first == run_id(ENV, {**kwargs, "obj": _Thing()}, "ga", {"p": 0.5}, 0, 10)
    assert first != run_id(ENV, kwargs, "ga", {"p": 0.5}, 1, 10)
    assert canonical({"x": float("nan")}) == {"x": "nan"}
    with pytest.raises(TypeError, match="stable run id"):
        canonical(object())


def test_run_ids_are_the_same_in_another_process():
    study = Study(ENV, ["ga", "aco"], budget=10, draws=2, env_kwargs={"function_seed": np.int64(2)})
    code = (
        "import numpy as np; from archgym.study import Study;"
        "s = Study('archgym/Synthetic-v0', ['ga', 'aco'], budget=10, draws=2, env_kwargs={'function_seed': np.int64(2)});"
        "print(' '.join(r.run_id for r in s.runs()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [r.run_id for r in study.runs()]


def test_a_workload_axis_multiplies_the_runs_and_names_the_study():
    study = Study("archgym/DRAM-v1", ["ga"], budget=10, draws=2, seeds=2, axis={"workload": "stream,random"})
    assert study.name == "lottery-DRAM-v1-stream+random-b10"
    runs = study.runs()
    assert len(runs) == 2 * (4 + 4)
    assert {r.setup for r in runs} == {"workload=stream", "workload=random"}
    assert all(r.env_kwargs["workload"] == r.axis["workload"] for r in runs)
    # the same draws and seeds on every workload
    per_setup = {label: sorted((r.agent, r.draw, r.seed) for r in runs if r.setup == label) for label in ("workload=stream", "workload=random")}
    assert per_setup["workload=stream"] == per_setup["workload=random"]
    assert Study(ENV, ["ga"], budget=5, env_kwargs={"function_seed": 3}).name == "lottery-Synthetic-v0-function_seed=3-b5"


def test_bad_axes_are_clear_errors():
    with pytest.raises(ValueError, match="both a study axis and a fixed env kwarg"):
        Study(ENV, ["ga"], budget=5, env_kwargs={"function_seed": 1}, axis={"function_seed": [1, 2]})
    with pytest.raises(ValueError, match="repeats a value"):
        Study(ENV, ["ga"], budget=5, axis={"function_seed": [1, 1]})
    with pytest.raises(ValueError, match="has no values"):
        Study(ENV, ["ga"], budget=5, axis={"function_seed": []})


def test_an_axis_value_the_env_rejects_is_named_before_any_run():
    from archgym.study.run import plan

    study = Study("archgym/NASBench201-v0", ["ga"], budget=5, axis={"dataset": ["cifar10", "mnist"]})
    with pytest.raises(ValueError, match="study axis value dataset='mnist' is rejected by archgym/NASBench201-v0"):
        plan(study)
