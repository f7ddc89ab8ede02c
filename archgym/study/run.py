"""Running a study: expand it into runs, skip the finished ones, fan the rest out to a backend.

One process per study and dataset (:mod:`archgym.study.lock`); a run whose worker crashes or
times out is recorded as failed with the reason and the study goes on (a rerun retries it).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import gymnasium as gym

import archgym  # noqa: F401  (registers the environments)
from archgym.agents import design_space_of
from archgym.errors import UserError
from archgym.registration import check_env_kwargs, declared_metadata
from archgym.study.backends import check_backend, make_backend, refuse_in_worker_startup
from archgym.study.execute import RunOutcome, execute_run, failed_outcome
from archgym.study.lock import study_lock
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

    @property
    def duplicates(self) -> int:
        """Runs completed here whose rows another process had already published (kept once)."""
        return sum(o.ok and not o.published for o in self.outcomes)


def plan(study: Study) -> list[RunSpec]:
    """The study's runs, with every sampled hyperparameter setting checked on the env's design space.

    The design space comes from the env's static metadata (no baseline simulation, no supernet
    training in this process); an env registered without metadata is built once instead. With a
    study axis, every axis point's env is made once first, so a value the env rejects is an error
    naming it before any run starts.
    """
    space = None
    for point in study.axis_points():
        kwargs = study.env_kwargs_for(point)
        try:
            check_env_kwargs(study.env_id, kwargs)
            metadata = declared_metadata(study.env_id, kwargs) if not point else None
            if metadata is not None:
                space = space or metadata.design_space
                continue
            env = gym.make(study.env_id, **kwargs)
        except Exception as exc:
            if not point:
                raise
            label = ", ".join(f"{k}={v!r}" for k, v in point.items())
            raise UserError(f"study axis value {label} is rejected by {study.env_id}: {exc}") from exc
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
    run_timeout_s: float | None = None,
    eval_timeout_s: float | None = None,
) -> StudyResult:
    """Execute every unfinished run of ``study``, logging all evaluations to ``dataset``.

    Args:
        backend, workers, address: see :func:`archgym.study.backends.make_backend`.
        on_start: called once with (runs to execute, runs skipped as finished) — e.g. to size
            a progress bar.
        on_run: called with each run's :class:`RunOutcome` as it completes.
        run_timeout_s, eval_timeout_s: (``process`` backend) a run, or a single evaluation
            in it, that takes longer is stopped and recorded as failed ("timed out ...").

    Failed runs (see :attr:`StudyResult.failed`, each with its reason: an exception, a worker
    that died, a timeout) publish nothing; rerunning retries them. Raises
    :class:`~archgym.study.lock.StudyLockedError` when another process runs this study on
    ``dataset``, and :class:`~archgym.study.backends.WorkerStartupError` (saying what to add)
    when started from a script without an ``if __name__ == "__main__":`` guard.
    """
    refuse_in_worker_startup()
    check_backend(backend, workers, address, run_timeout_s, eval_timeout_s)
    start = time.perf_counter()
    folder = str(Path(dataset))
    specs = plan(study)
    with study_lock(folder, study.name):  # type: ignore[arg-type]  # set in __post_init__
        done = finished_runs(folder, study.name)  # type: ignore[arg-type]
        todo = [s for s in specs if s.run_id not in done]
        remove_abandoned(folder, [s.run_id for s in todo])
        result = StudyResult(study.name, folder, planned=len(specs), skipped=len(specs) - len(todo))  # type: ignore[arg-type]
        if on_start is not None:
            on_start(len(todo), result.skipped)
        if todo:
            with make_backend(backend, min(workers, len(todo)), address,
                              run_timeout_s=run_timeout_s, eval_timeout_s=eval_timeout_s) as pool:
                for outcome in pool.imap_unordered(execute_run, todo, folder, on_failure=failed_outcome):
                    result.outcomes.append(outcome)
                    if on_run is not None:
                        on_run(outcome)
    result.wall_s = time.perf_counter() - start
    return result
