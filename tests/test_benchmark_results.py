"""The committed sample-efficiency results were scored by the simulators archgym ships now.

``benchmarks/agents_sample_efficiency.py`` records in each cell the simulator that scored it
(fingerprint, i.e. name@version and configuration, plus the workload key) and re-runs or leaves
out cells of another simulator. This test holds the committed JSON (behind the README's tables)
to the same rule: a simulator version bump without a re-run fails here, not silently in the README.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import gymnasium as gym
import pytest

import archgym  # noqa: F401

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "agents_sample_efficiency.json"


def _envs(dram_requests: int) -> dict[str, tuple[str, dict]]:
    return {
        "nasbench201": ("archgym/NASBench201-v0", {}),
        "accelerator": ("archgym/Accelerator-v0", {}),
        "codesign": ("archgym/CoDesign-v0", {}),
        "dram-random": ("archgym/DRAM-v0", {"workload": "random", "max_requests": dram_requests}),
        "dram-cloud-1": ("archgym/DRAM-v0", {"workload": "cloud-1", "max_requests": dram_requests}),
    }


@pytest.fixture(scope="module")
def results() -> dict:
    return json.loads(RESULTS.read_text())["results"]


def test_every_cell_records_the_current_simulator(results: dict) -> None:
    envs = _envs(results["config"]["dram_requests"])
    cells = results["cells"]
    problems = sorted({key.split("|", 1)[0] for key in cells})
    assert set(problems) <= set(envs), f"cells of unknown problems: {set(problems) - set(envs)}"
    current = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for problem in problems:
            env_id, kwargs = envs[problem]
            env = gym.make(env_id, **kwargs).unwrapped
            current[problem] = f"{env.simulator.fingerprint()}|{env.workload_key}"
            env.close()
    stale = {key: cell.get("simulator") for key, cell in cells.items()
             if cell.get("simulator") != current[key.split("|", 1)[0]]}
    assert not stale, (f"{len(stale)} cells scored by another simulator than the current one, e.g. "
                       f"{next(iter(stale.items()))}; current: {current}. "
                       "Re-run benchmarks/agents_sample_efficiency.py")
