"""Fixtures for agent tests: a mixed design space and an ask/tell driver without an env."""

from __future__ import annotations

import math
from typing import Callable

import pytest

from archgym.agents import Agent
from archgym.spaces import Categorical, Design, DesignSpace, Integer, Real, Values

RewardFn = Callable[[Design], float]


def mixed_space() -> DesignSpace:
    """Every parameter kind: categorical (str, bool), ordered values, a log integer wide enough
    to be binned, reals (linear and log) and a parameter with a single value."""
    return DesignSpace(
        [
            Categorical("kind", ("a", "b", "c")),
            Values("width", (8, 16, 32, 64)),
            Integer("depth", 1, 1000, log=True),
            Real("rate", 1e-4, 1e-1, log=True),
            Real("ratio", 0.0, 1.0),
            Categorical("flag", (True, False)),
            Integer("fixed", 5, 5),
        ]
    )


def distance_reward(design: Design) -> float:
    """Negative distance from (b, 32, 100, 1e-2, 0.3, False, 5); 0 is best."""
    return -(
        (design["kind"] != "b")
        + abs(math.log2(design["width"]) - 5)
        + abs(math.log10(design["depth"]) - 2)
        + abs(math.log10(design["rate"]) + 2)
        + abs(design["ratio"] - 0.3)
        + (design["flag"] is True)
    )


def drive(agent: Agent, reward: RewardFn, n: int) -> list[tuple[Design, float]]:
    """Ask and tell ``n`` times with ``reward``; returns what was evaluated, in order."""
    history: list[tuple[Design, float]] = []
    for _ in range(n):
        suggestion = agent.ask()
        design = suggestion.design
        value = reward(design)
        agent.tell(suggestion, value)
        history.append((design, value))
    return history


@pytest.fixture
def mixed() -> DesignSpace:
    return mixed_space()


@pytest.fixture
def mixed_reward() -> RewardFn:
    return distance_reward


@pytest.fixture
def driver() -> Callable[[Agent, RewardFn, int], list[tuple[Design, float]]]:
    return drive
