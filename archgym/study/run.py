"""Running a study: expand it into runs, skip the finished ones, fan the rest out to a backend."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import gymnasium as gym

import archgym  # noqa: F401  (registers the environments)
from archgym.agents import design_space_of
from archgym.study.backends import check_backend, make_backend
from archgym.study.execute import RunOutcome, execute_run
from archgym.study.resume import finished_runs, remove_abandoned
from archgym.study.spec import RunSpec, Study


@dataclass
class StudyResult:
    """What :func:`run_study` did: runs planned, skipped as already finished, executed, failed."""

    study: str
    dataset: str
    planned: int
    skipped: int
    outcomes: list[RunOutcome] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def failed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def executed(self) -> int:
        return sum(o.ok for o in self.outcomes)


def plan(study: Study) -> list[RunSpec]:
    """The study's runs, with every sampled hyperparameter setting checked on the env's design space.

    Every axis point's env is made once first, so a value the env rejects is an error naming
    it before any run starts.
    """
    space = None
    for point in study.axis_points():
        try:
            env = gym.make(study.env_id, **study.env_kwargs_for(point))
        except Exception as exc:
            if not point:
                raise
            label = ", ".join(f"{k}={v!r}" for k, v in point.items())
            raise ValueError(f"study axis value {label} is rejected by {study.env_id}: {exc}") from exc
        try:
            space = space or design_space_of(env)
        finally:
            env.close()
    return study.runs(space)


def run_study(
    study: Study,
    dataset: str | os.PathLike[str],
    *,
    backend: str = "process",
    workers: int = 1,
    address: str | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_run: Callable[[RunOutcome], None] | None = None,
) -> StudyResult:
    """Execute every unfinished run of ``study``, logging all evaluations to ``dataset``.

    Args:
        backend, workers, address: see :func:`archgym.study.backends.make_backend`.
        on_start: called once with (runs to execute, runs skipped as finished) — e.g. to size
            a progress bar.
        on_run: called with each run's :class:`RunOutcome` as it completes.

    Failed runs (see :attr:`StudyResult.failed`) publish nothing; rerunning retries them.
    """
    check_backend(backend, workers, address)
    start = time.perf_counter()
    folder = str(Path(dataset))
    specs = plan(study)
    done = finished_runs(folder, study.name)  # type: ignore[arg-type]  # set in __post_init__
    todo = [s for s in specs if s.run_id not in done]
    remove_abandoned(folder, [s.run_id for s in todo])
    result = StudyResult(study.name, folder, planned=len(specs), skipped=len(specs) - len(todo))  # type: ignore[arg-type]
    if on_start is not None:
        on_start(len(todo), result.skipped)
    if todo:
        with make_backend(backend, min(workers, len(todo)), address) as pool:
            for outcome in pool.imap_unordered(execute_run, todo, folder):
                result.outcomes.append(outcome)
                if on_run is not None:
                    on_run(outcome)
    result.wall_s = time.perf_counter() - start
    return result
