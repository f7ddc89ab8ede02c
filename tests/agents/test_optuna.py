"""The Optuna adapter: DesignSpace -> distributions, sampler agents, multi-objective, failures, errors."""

from __future__ import annotations

import sys

import pytest

optuna = pytest.importorskip("optuna")

from archgym.agents import make_agent  # noqa: E402
from archgym.agents.optuna_samplers import (  # noqa: E402
    SAMPLERS,
    from_optuna_params,
    make_optuna_agent,
    optuna_distributions,
    require_optuna,
    to_optuna_params,
)
from archgym.spaces import Categorical, DesignSpace, Integer, PowerOfTwo, Real, Values  # noqa: E402

D = optuna.distributions


def test_every_parameter_kind_maps_to_a_distribution(mixed):
    space = DesignSpace([*mixed.parameters, Values("step", (2, 4, 6, 8)), PowerOfTwo("buf", 1, 64)])
    dists = optuna_distributions(space)
    assert dists["kind"] == D.CategoricalDistribution(("a", "b", "c"))
    assert dists["flag"] == D.CategoricalDistribution((True, False))
    assert dists["depth"] == D.IntDistribution(1, 1000, log=True)
    assert dists["rate"] == D.FloatDistribution(1e-4, 1e-1, log=True)
    assert dists["ratio"] == D.FloatDistribution(0.0, 1.0)
    assert dists["step"] == D.IntDistribution(2, 8, step=2)  # evenly spaced integers keep their values
    assert dists["buf"] == D.IntDistribution(0, 6)  # powers of two: by rank, i.e. log-spaced
    assert dists["fixed"] == D.IntDistribution(5, 5)
    design = {**mixed.default(), "step": 6, "buf": 16}
    params = to_optuna_params(space, design)
    assert params["buf"] == 4 and params["step"] == 6
    assert from_optuna_params(space, params) == space.validate(design)


def test_unmappable_parameters_are_named():
    class Odd:  # not a DesignSpace parameter kind
        name = "odd"
        n = 2
        ordered = False
        is_discrete = True

    with pytest.raises(TypeError, match="'odd' of kind Odd"):
        optuna_distributions(DesignSpace([Odd()]))  # type: ignore[list-item]
    with pytest.raises(TypeError, match="'shape'.*\\(1, 2\\)"):
        optuna_distributions(DesignSpace([Categorical("shape", ((1, 2), (3, 4)))]))


def test_unknown_sampler_and_hyperparameter_are_named(mixed):
    with pytest.raises(ValueError, match="unknown Optuna sampler 'bohb'.*tpe"):
        make_optuna_agent("bohb", mixed)
    with pytest.raises(ValueError, match="no_such_knob.*optuna_tpe"):
        make_optuna_agent("tpe", mixed, no_such_knob=3)
    with pytest.raises(ValueError, match="direction 'up'"):
        make_optuna_agent("tpe", mixed, objectives=[("cost", "up")])
    with pytest.raises(ValueError, match="one objective"):
        make_optuna_agent("cmaes", mixed, objectives=[("a", "minimize"), ("b", "maximize")])


def test_missing_extra_is_one_line_naming_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'archgym\[optuna\]'"):
        require_optuna()


@pytest.mark.parametrize("sampler", [s for s in SAMPLERS if s != "gp"])
def test_samplers_search_seeded_without_repeats(sampler, mixed, mixed_reward, driver):
    def run(seed):
        return driver(make_optuna_agent(sampler, mixed, seed=seed), mixed_reward, 20)

    history = run(0)
    assert history == run(0)
    keys = [tuple(d.values()) for d, _ in history]
    assert len(set(keys)) == len(keys)
    assert all(mixed.validate(d) == d for d, _ in history)


@pytest.mark.slow
def test_gp_sampler_runs_a_few_model_based_steps(mixed, mixed_reward, driver):
    agent = make_agent("optuna_gp", mixed, seed=0, n_startup_trials=4)
    history = driver(agent, mixed_reward, 7)
    assert len({tuple(d.values()) for d, _ in history}) == 7
    assert len(agent.study.trials) >= 7


def test_known_designs_are_answered_from_memory_not_re_evaluated():
    """A 6-design space: TPE keeps proposing known designs; they are told to Optuna at once and
    the agent still only hands out new designs until the space is exhausted."""
    tiny = DesignSpace([Categorical("a", ("x", "y", "z")), Integer("b", 0, 1)])
    agent = make_optuna_agent("tpe", tiny, seed=0, n_startup_trials=2)
    designs = []
    for _ in range(6):
        s = agent.ask()
        designs.append(tuple(s.design.values()))
        agent.tell(s, float(s.design["b"]))
    assert len(set(designs)) == 6
    complete = [t for t in agent.study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) >= 6


def test_failures_are_failed_trials_and_objectives_are_metric_vectors(mixed):
    agent = make_optuna_agent("nsga2", mixed, seed=0, objectives=[("latency", "minimize"), ("area", "minimize")])
    assert agent.study.directions == [optuna.study.StudyDirection.MINIMIZE] * 2
    assert agent.batch_size == 20
    batch = agent.ask(4)
    agent.tell(batch[0], -1000.0, {}, feasible=False)
    agent.tell(batch[1], 0.5, {"latency": 2.0, "area": 3.0})
    with pytest.raises(ValueError, match="'area' is not among the told metrics"):
        agent.tell(batch[2], 0.5, {"latency": 2.0})
    states = [t.state for t in agent.study.trials]
    assert states.count(optuna.trial.TrialState.FAIL) == 1
    assert [t.values for t in agent.study.trials if t.state == optuna.trial.TrialState.COMPLETE] == [[2.0, 3.0]]
