"""Fixtures for proxy tests: a synthetic dataset with a known metric function, and a small real DRAM dataset."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import pytest

from archgym.simulator import Metric
from archgym.spaces import Categorical, DesignSpace, Integer, PowerOfTwo, Real

#: the source columns every synthetic row carries
SOURCE = {"env_id": "archgym/Test-v0", "workload": "w", "simulator": "known-function", "simulator_version": "1"}


def known_space() -> DesignSpace:
    return DesignSpace(
        [
            Categorical("mode", ("slow", "fast", "eco")),
            PowerOfTwo("buffer", 1, 256),
            Integer("size", 1, 20),
            Real("clock", 0.5, 2.0),
        ]
    )


def known_function(design: Mapping[str, Any]) -> dict[str, float]:
    """A smooth, non-linear function of every parameter (the 'simulator' the proxy must learn)."""
    mode = {"slow": 3.0, "fast": 1.0, "eco": 2.0}[design["mode"]]
    latency = mode * (10 + 5 * abs(math.log2(design["buffer"]) - 4)) / design["clock"] + 0.3 * design["size"]
    power = 50 + 20 * design["clock"] ** 2 + 2 * math.log2(design["buffer"]) - 5 * (design["mode"] == "eco")
    return {"latency": latency, "power": power}


KNOWN_METRICS = (Metric("latency", "ns", "minimize"), Metric("power", "mW", "minimize"))


def rows_frame(designs: list[dict], fn: Callable[[Mapping[str, Any]], dict[str, float]], **source: str) -> pd.DataFrame:
    """Dataset-shaped rows (as :func:`archgym.dataset.load` returns them) for ``designs``."""
    records = []
    for design in designs:
        metrics = fn(design)
        records.append({**SOURCE, **source, "feasible": True,
                        **{f"design.{k}": v for k, v in design.items()},
                        **{f"metric.{k}": v for k, v in metrics.items()}})
    return pd.DataFrame.from_records(records)


@pytest.fixture
def space() -> DesignSpace:
    return known_space()


@pytest.fixture
def known_frame() -> pd.DataFrame:
    """400 random designs of :func:`known_space` (with some repeats) and their known metrics."""
    rng = np.random.default_rng(0)
    space = known_space()
    designs = [space.sample(rng) for _ in range(360)]
    designs += designs[:40]  # agents revisit designs: duplicates must not straddle the split
    return rows_frame(designs, known_function)


DRAM_KWARGS = {"workload": "random", "max_requests": 400}


@pytest.fixture(scope="session")
def dram_dataset(tmp_path_factory, dram_kwargs) -> str:
    """A real (small) DRAM-v0 dataset: 60 random designs on the first 400 requests of ``random`` (``dram_kwargs``)."""
    from archgym.runner import run_agent

    folder = tmp_path_factory.mktemp("dram-dataset")
    run_agent("archgym/DRAM-v0", "random", 60, seed=0, env_kwargs=dram_kwargs, dataset=folder)
    return str(folder)


# fixtures are how test modules share helpers here (no imports from conftest)
@pytest.fixture
def known_metrics() -> tuple[Metric, ...]:
    return KNOWN_METRICS


@pytest.fixture
def truth() -> Callable[[Mapping[str, Any]], dict[str, float]]:
    """:func:`known_function`, the metric function synthetic proxies must recover."""
    return known_function


@pytest.fixture
def make_rows() -> Callable[..., pd.DataFrame]:
    """:func:`rows_frame`: dataset-shaped rows for a list of designs."""
    return rows_frame


@pytest.fixture
def source() -> dict[str, str]:
    return dict(SOURCE)


@pytest.fixture(scope="session")
def dram_kwargs() -> dict[str, Any]:
    return dict(DRAM_KWARGS)


@pytest.fixture
def discrete(space, known_frame):
    """The known space with 'clock' made discrete (a Real has no table of choices; 2,160 designs),
    and matching rows."""
    from archgym.spaces import DesignSpace, Values

    discrete = DesignSpace([p if p.name != "clock" else Values("clock", (0.5, 1.0, 1.5, 2.0)) for p in space])
    frame = known_frame.copy()
    frame["design.clock"] = np.round(frame["design.clock"] * 2) / 2
    return discrete, frame
