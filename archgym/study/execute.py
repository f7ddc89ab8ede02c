"""Executing one run of a study inside a worker, publishing its rows all at once at its end.

Why all at once: a study must be resumable after a crash, even ``SIGKILL``, without ever
holding a partial run in the dataset. The dataset's writers publish each shard atomically, so
:func:`execute_run` keeps the run's records in memory and writes them as *one* shard only after
the agent has spent its whole budget. A run is therefore either entirely in the dataset or not
at all, and "finished" simply means "has rows" (:mod:`archgym.study.resume`). A run that raises
publishes nothing and is retried by the next rerun.

Publication is idempotent: a run's shard has a fixed name (``part-<run id>-<study hash>-000000.parquet``)
and is published by exclusive creation of that name, so a run published once is never
published again -- not by a second study process on the same dataset, nor by a worker that
outlived its parent. The cost is one shard per run and a run's
records held in memory (a few kB per evaluation).

Per-run overhead is kept small: each worker process keeps the envs it has made (one per env id
and kwargs) and reuses them, reset, for its later runs, so imports, env construction (the DRAM
env simulates a baseline design) and numba's machine-code load are paid once per worker. The
env's evaluation cache then spans runs; simulators are deterministic, so this changes wall time,
never results.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import gymnasium as gym

import archgym  # noqa: F401  (registers the environments)
from archgym.agents import design_space_of, make_agent
from archgym.dataset import DatasetWriter
from archgym.recording import RecordEvaluations
from archgym.runner import canonical
from archgym.study.backends import evaluation_finished, evaluation_started
from archgym.study.spec import RunSpec

#: envs made by this worker process, by (env id, canonical kwargs)
_ENVS: dict[str, gym.Env] = {}


@dataclass
class RunOutcome:
    """What a worker reports back for one run (small, so it travels cheaply between processes)."""

    run_id: str
    agent: str
    draw: int
    seed: int
    ok: bool
    evaluations: int = 0
    best_reward: float | None = None
    wall_s: float = 0.0
    error: str | None = None
    best_design: dict[str, Any] = field(default_factory=dict)
    #: False when the run's rows were already in the dataset (published by another process)
    published: bool = True


def failed_outcome(spec: RunSpec, reason: str) -> RunOutcome:
    """The outcome of a run whose worker died or timed out (nothing was published)."""
    return RunOutcome(spec.run_id, spec.agent, spec.draw, spec.seed, ok=False, error=reason)


def _marked_prefetch(prefetch: Any, wrapper: "_MarkEvaluations") -> Any:
    def marked(designs: Any) -> Any:
        evaluation_started(wrapper.steps)  # a batch evaluated ahead of its steps counts as one evaluation
        try:
            return prefetch(designs)
        finally:
            evaluation_finished()

    marked.archgym_marked = prefetch  # type: ignore[attr-defined]
    return marked


class _MarkEvaluations(gym.Wrapper):
    """Marks the start and end of each evaluation for the pool's per-evaluation timeout.

    Covers ``step`` and the env's ``prefetch`` (population agents evaluate a whole batch there
    before stepping through it), which agents call on the unwrapped env: it is wrapped on the
    env instance for this run.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._step = 0
        unwrapped = env.unwrapped
        prefetch = getattr(unwrapped, "prefetch", None)
        if prefetch is not None:
            original = getattr(prefetch, "archgym_marked", prefetch)  # the env is reused by later runs
            unwrapped.prefetch = _marked_prefetch(original, self)

    @property
    def steps(self) -> int:
        """Steps taken so far in this run."""
        return self._step

    def step(self, action: Any):
        evaluation_started(self._step)
        try:
            return self.env.step(action)
        finally:
            evaluation_finished()
            self._step += 1


class RunRecords:
    """A writer-like sink for :class:`RecordEvaluations` that holds a run's records in memory."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def append(self, record: Mapping[str, Any]) -> None:
        self.records.append(dict(record))

    def publish(self, dataset: str | Path, writer_id: str) -> bool:
        """Write every record as one shard ``part-<writer_id>-000000.parquet``, unless that exists.

        Returns False (and writes nothing) when the shard is already there: publication is
        idempotent. Nothing is written when there are no records.
        """
        if not self.records:
            return False
        # One shard: the buffer holds every record, so the only flush is the one at close.
        writer = DatasetWriter(dataset, buffer_size=len(self.records) + 1, flush_interval_s=None,
                               writer_id=writer_id, exclusive=True)
        try:
            with writer:
                for record in self.records:
                    writer.append(record)
        except BaseException:
            # an invalid record part-way: closing flushed the rows before it; take them back
            for shard in writer.shards:
                shard.unlink(missing_ok=True)
            raise
        return not writer.refused


def shard_stem(spec: RunSpec) -> str:
    """The writer id of a run's one shard: ``<run id>-<hash of the study name>``.

    Deterministic, so publication is idempotent; the study's hash keeps two studies that
    contain the same run (same env, agent, hyperparameters, seed and budget) from taking each
    other's shard name. It starts with the run id, as :func:`~archgym.study.resume.remove_abandoned` expects.
    """
    return f"{spec.run_id}-{hashlib.sha256(spec.study.encode()).hexdigest()[:8]}"


def env_for(env_id: str, env_kwargs: Mapping[str, Any]) -> gym.Env:
    """This worker's env for ``env_id`` and ``env_kwargs``, made on first use."""
    key = json.dumps(canonical({"env": env_id, "kwargs": env_kwargs}), sort_keys=True)
    env = _ENVS.get(key)
    if env is None:
        env = _ENVS[key] = gym.make(env_id, **dict(env_kwargs))
    return env


def execute_run(spec: RunSpec, dataset: str) -> RunOutcome:
    """Run ``spec`` and publish its records to ``dataset`` in one shard; never raises for a failed run.

    Errors inside the run (an agent that cannot handle the space, a simulator failure that
    escapes the env) are returned in :attr:`RunOutcome.error`; nothing is published then.
    """
    start = time.perf_counter()
    outcome = RunOutcome(spec.run_id, spec.agent, spec.draw, spec.seed, ok=False)
    try:
        env = _MarkEvaluations(env_for(spec.env_id, spec.env_kwargs))
        agent = make_agent(spec.agent, design_space_of(env), seed=spec.seed, **dict(spec.params))
        records = RunRecords()
        recorded = RecordEvaluations(
            env, records,  # type: ignore[arg-type]  # duck-typed writer: only append() is used
            study=spec.study, run=spec.run_id, agent=spec.agent, agent_params=agent.hyperparameters, seed=spec.seed,
        )
        result = agent.run(recorded, spec.budget)
        outcome.published = records.publish(dataset, writer_id=shard_stem(spec))
    except Exception as exc:  # noqa: BLE001 - a failed run is reported, the study goes on
        outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.wall_s = time.perf_counter() - start
        if not isinstance(exc, (ValueError, TypeError)):
            outcome.error += "\n" + traceback.format_exc(limit=-3)
        return outcome
    outcome.ok = True
    outcome.evaluations = result.evaluations
    outcome.best_reward = result.best_reward
    outcome.best_design = dict(result.best_design or {})
    outcome.wall_s = time.perf_counter() - start
    return outcome
