"""The ask/tell contract every ask/tell agent keeps: suggestions with ids, batches, failures, no repeats."""

from __future__ import annotations

import importlib.util
import math

import pytest

from archgym.agents import Suggestion, list_agents, make_agent
from archgym.spaces import Categorical, DesignSpace, Integer, PowerOfTwo

HAS_OPTUNA = importlib.util.find_spec("optuna") is not None
#: RL agents learn only inside run(); their ask() samples a trained policy (tests/agents/test_rl.py)
RUN_ONLY = {"ppo", "a2c", "dqn"}
ASK_TELL = [
    a for a in list_agents()
    if a not in RUN_ONLY and a != "optuna_gp" and (HAS_OPTUNA or not a.startswith("optuna_"))
]
#: agents whose algorithm re-proposes designs on purpose (documented in their docstrings)
REPEATS_BY_DESIGN = {"marl"}

#: 6 × 5 × 4 = 120 designs; rewards peak at (c3, 7, 16)
SMALL = DesignSpace(
    [
        Categorical("c", tuple(f"c{i}" for i in range(6))),
        Integer("i", 5, 9),
        PowerOfTwo("p", 2, 16),
    ]
)


def reward(design) -> float:
    return -((design["c"] != "c3") * 2.0 + abs(design["i"] - 7) + abs(math.log2(design["p"]) - 4))


@pytest.mark.parametrize("name", ASK_TELL)
def test_ask_gives_suggestions_with_ids_and_batches(name):
    agent = make_agent(name, SMALL, seed=0)
    one = agent.ask()
    assert isinstance(one, Suggestion) and SMALL.validate(one.design) == one.design
    batch = agent.ask(3)
    assert isinstance(batch, list) and len(batch) == 3
    assert len({s.id for s in [one, *batch]}) == 4
    for s in [one, *batch]:
        agent.tell(s, reward(s.design), {"m": 1.0})
    assert agent.result.evaluations == 4 and agent.result.best_reward == max(reward(s.design) for s in [one, *batch])


@pytest.mark.parametrize("name", ASK_TELL)
def test_bad_counts_and_unknown_ids_are_named(name):
    agent = make_agent(name, SMALL, seed=0)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match=f"ask\\(n\\).*{bad!r}"):
            agent.ask(bad)
    s = agent.ask()
    with pytest.raises(ValueError, match="unknown suggestion id 12345"):
        agent.tell(12345, 0.0)
    with pytest.raises(TypeError, match="Suggestion"):
        agent.tell(s.design, 0.0)
    agent.tell(s, 0.0)
    with pytest.raises(ValueError, match=f"unknown suggestion id {s.id}.*already told"):
        agent.tell(s, 0.0)


@pytest.mark.parametrize("name", ASK_TELL)
def test_failures_are_recorded_as_failures(name):
    """A failed design keeps the env's penalty in the reward curve but is never the best."""
    agent = make_agent(name, SMALL, seed=1)
    for k in range(30):
        s = agent.ask()
        failed = s.design["c"] == "c0"
        agent.tell(s, -1000.0 if failed else reward(s.design), {} if failed else {"m": 1.0}, feasible=not failed)
    result = agent.result
    assert len(result.feasible) == 30 and result.feasible.count(False) == result.rewards.count(-1000.0)
    assert result.best_design["c"] != "c0" and result.best_reward > -1000.0


@pytest.mark.parametrize("name", [a for a in ASK_TELL if a not in REPEATS_BY_DESIGN])
def test_no_design_is_proposed_twice(name):
    """100 of the 120 designs: agents that mean no repeats never re-propose one (batches included)."""
    agent = make_agent(name, SMALL, seed=2)
    seen = []
    while len(seen) < 100:
        for s in agent.ask(min(4, 100 - len(seen))) if len(seen) % 3 else [agent.ask()]:
            seen.append(tuple(s.design.values()))
            agent.tell(s, reward(s.design))
    assert len(set(seen)) == len(seen), f"{name} re-proposed {len(seen) - len(set(seen))} designs"
    assert agent.result.unique_designs == 100


def test_a_non_finite_reward_is_a_failure_and_none_needs_infeasible():
    agent = make_agent("random", SMALL, seed=0)
    s = agent.ask()
    agent.tell(s, math.nan)
    assert agent.result.feasible == [False] and agent.result.best_design is None
    s = agent.ask()
    with pytest.raises(ValueError, match="needs a numeric reward"):
        agent.tell(s, None)
    agent.tell(s, None, feasible=False)  # still pending after the error, so this is accepted
    assert agent.result.feasible == [False, False]
