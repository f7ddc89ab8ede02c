"""The batch path: DSEEnv.evaluate_many/prefetch hand populations to Simulator.evaluate_batch."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import gymnasium as gym

from archgym.agents import make_agent
from archgym.dataset import DatasetWriter, load
from archgym.env import DSEEnv
from archgym.recording import RecordEvaluations
import pytest

from archgym.simulator import SimulationError


@pytest.fixture
def batch_simulator(simulator):
    """Test double: the shared synthetic simulator with an ``evaluate_batch`` that records its
    calls and, like the real vectorised models, raises for the whole batch if one design fails."""

    class BatchCountingSimulator(type(simulator)):
        def __init__(self) -> None:
            super().__init__()
            self.batches: list[int] = []

        def evaluate_batch(self, designs: Sequence[Mapping[str, Any]], workload: str) -> list[dict[str, float]]:
            self.batches.append(len(designs))
            if any(d["mode"] == "fail" for d in designs):
                raise SimulationError("a design of the batch failed")
            return [self.evaluate(d, workload) for d in designs]

    return BatchCountingSimulator()


FAST = {"mode": "fast", "size": 10, "buffer": 16}
SLOW = {"mode": "slow", "size": 3, "buffer": 2}
FAIL = {"mode": "fail", "size": 1, "buffer": 1}


def test_evaluate_many_batches_uncached_designs_once_with_per_design_errors(space, batch_simulator):
    sim = batch_simulator
    env = DSEEnv(sim, space, "light", targets={"cost": 1.0})
    out = env.evaluate_many([FAST, SLOW, FAST])
    assert sim.batches == [2]  # the duplicate is simulated once
    assert [info["feasible"] for _, info in out] == [True, True, True] and out[0] == out[2]
    out = env.evaluate_many([FAST, FAIL, {**SLOW, "size": 4}])  # FAST is cached; the batch fails
    assert sim.batches == [2, 2]  # then each uncached design alone
    assert [info["feasible"] for _, info in out] == [True, False, True]
    assert out[1][0] == env.objective.failure_reward and "batch" not in out[1][1]["error"]
    _, _, _, _, info = env.step(FAIL)  # the failure was cached
    assert info["feasible"] is False and env.unwrapped.last_evaluation.cached


def test_a_batch_may_return_the_error_of_one_design_in_its_slot(space, simulator):
    """The DRAM simulator's convention: a failed design's entry is its SimulationError, not raised."""

    class SlotErrorSimulator(type(simulator)):
        batch_sizes: list[int] = []

        def evaluate_batch(self, designs, workload):
            self.batch_sizes.append(len(designs))
            return [SimulationError(f"design {i}: no such mode") if d["mode"] == "fail" else self.evaluate(d, workload)
                    for i, d in enumerate(designs)]

    sim = SlotErrorSimulator()
    env = DSEEnv(sim, space, "light", targets={"cost": 1.0})
    out = env.evaluate_many([FAST, FAIL, SLOW])
    assert sim.batch_sizes == [3]  # one call, nothing re-run one by one
    assert [info["feasible"] for _, info in out] == [True, False, True]
    assert out[1][1]["error"] == "SimulationError: design 1: no such mode"
    assert out[1][0] == env.objective.failure_reward


def test_prefetched_steps_are_served_from_the_batch_and_still_recorded(space, tmp_path, batch_simulator):
    sim = batch_simulator
    env = DSEEnv(sim, space, "light", targets={"cost": 1.0})
    with DatasetWriter(tmp_path) as writer:
        logged = RecordEvaluations(env, writer, agent="manual", seed=0)
        logged.reset(seed=0)
        env.prefetch([FAST, SLOW, FAIL])
        calls = sim.calls
        rewards = [logged.step(d)[1] for d in (FAST, SLOW, FAIL)]
        assert sim.calls == calls  # no new simulation: all three came from the prefetch
        assert not env.last_evaluation.cached
    df = load(tmp_path).sort_values("step")
    assert list(df["feasible"]) == [True, True, False] and list(df["reward"]) == rewards


def test_population_agents_hand_generations_to_evaluate_batch(space, tmp_path, counting_wrapper, batch_simulator):
    """GA asks for whole generations; with a time limit and recording on top, every evaluation
    is stepped (and logged) and the simulator receives the populations as batches."""
    from archgym.registration import register

    sim = batch_simulator
    register("archgym/BatchTest-v0", entry_point="archgym.env:DSEEnv", max_episode_steps=7, description="test double")
    env = counting_wrapper(gym.make("archgym/BatchTest-v0", simulator=sim, design_space=space, workload="light",
                                    targets={"cost": 1.0}))
    with DatasetWriter(tmp_path) as writer:
        logged = RecordEvaluations(env, writer, agent="ga", seed=0)
        result = make_agent("ga", space, seed=0, population=8, elite=2).run(logged, budget=30)
    assert env.steps == 30 == result.evaluations == len(load(tmp_path))
    assert sim.batches[0] == 8 and max(sim.batches) > 1
    assert result.best_reward == max(r for r, ok in zip(result.rewards, result.feasible) if ok)
