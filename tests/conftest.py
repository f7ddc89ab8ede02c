"""Shared fixtures: a tiny synthetic simulator with a known optimum (a test double, not a real model)."""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import Any, Mapping

import gymnasium as gym
import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

from archgym.simulator import Metric, SimulationError, Simulator  # noqa: E402
from archgym.spaces import Categorical, DesignSpace, Integer, PowerOfTwo  # noqa: E402


@pytest.fixture
def module_on_path(tmp_path, monkeypatch):
    """``write(name, source)``: a test-double module written to a folder on ``sys.path`` and imported.

    Child processes (spawned, or fresh interpreters given the parent's ``sys.path``) import it by
    name too, as they would a real simulator's or env's module.
    """
    folder = tmp_path / "modules"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))

    def write(name: str, source: str) -> ModuleType:
        (folder / f"{name}.py").write_text(source)
        importlib.invalidate_caches()
        sys.modules.pop(name, None)  # this test's file, not an earlier test's
        return importlib.import_module(name)

    return write


@pytest.fixture(scope="session", autouse=True)
def _private_archgym_cache(tmp_path_factory):
    """Tests never read or write the user's cache (trained supernets): each session gets its own."""
    previous = os.environ.get("ARCHGYM_CACHE_DIR")
    os.environ["ARCHGYM_CACHE_DIR"] = str(tmp_path_factory.mktemp("archgym-cache"))
    yield
    if previous is None:
        os.environ.pop("ARCHGYM_CACHE_DIR", None)
    else:
        os.environ["ARCHGYM_CACHE_DIR"] = previous


class SyntheticTestSimulator(Simulator):
    """Separable test function: cost = Σ distance of each parameter from its optimum.

    ``speed`` maximises; ``cost`` minimises; the design ``{"mode": "fail"}`` raises
    SimulationError so failure handling can be tested. Counts its calls.
    """

    name = "synthetic-test"
    version = "1"
    metrics = (
        Metric("cost", "units", "minimize"),
        Metric("speed", "units", "maximize"),
    )

    def __init__(self) -> None:
        self.calls = 0

    def evaluate(self, design: Mapping[str, Any], workload: str) -> dict[str, float]:
        self.calls += 1
        if design["mode"] == "fail":
            raise SimulationError("synthetic failure requested by the design")
        cost = abs(design["size"] - 10) + abs(np.log2(design["buffer"]) - 4) + (design["mode"] != "fast") * 3
        cost += 0.5 if workload == "heavy" else 0.0
        return {"cost": float(cost) + 1.0, "speed": 100.0 / (1.0 + cost)}


def synthetic_space() -> DesignSpace:
    return DesignSpace(
        [
            Categorical("mode", ("slow", "fast", "fail")),
            Integer("size", 1, 20),
            PowerOfTwo("buffer", 1, 64),
        ]
    )


@pytest.fixture
def simulator() -> SyntheticTestSimulator:
    return SyntheticTestSimulator()


@pytest.fixture
def space() -> DesignSpace:
    return synthetic_space()


class CountingWrapper(gym.Wrapper):
    """Counts env.step calls, to check that budgets are respected exactly."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.steps = 0

    def step(self, action):
        self.steps += 1
        return self.env.step(action)


@pytest.fixture
def counting_wrapper() -> type[CountingWrapper]:
    """The :class:`CountingWrapper` class (fixtures are how test modules share helpers here)."""
    return CountingWrapper
