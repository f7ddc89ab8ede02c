"""Studies: the hyperparameter lottery on the shared dataset.

A :class:`Study` is an env (+ kwargs) × agents × hyperparameter draws × seeds, every run with
the same evaluation budget, all logged to one dataset folder. :func:`run_study` executes it on
a local process pool or a Ray cluster and resumes where a previous attempt stopped;
:func:`lottery_report` turns the dataset into per-agent DataFrames and PNG plots::

    from archgym.study import Study, lottery_report, run_study

    study = Study("archgym/Synthetic-v0", agents=["ga", "evolution"], draws=4, seeds=3, budget=200)
    run_study(study, "data/", workers=2)
    print(lottery_report("data/", study).summary)

Modules: :mod:`~archgym.study.spec` (what a study is, hyperparameter draws, run ids),
:mod:`~archgym.study.execute` (one run in a worker, published atomically),
:mod:`~archgym.study.resume` (what is finished), :mod:`~archgym.study.backends` (process pool,
Ray, serial), :mod:`~archgym.study.run` (:func:`run_study`), :mod:`~archgym.study.report`
(DataFrames and plots), :mod:`~archgym.study.cli` (``archgym lottery``).

Names are imported lazily (like :mod:`archgym.agents`), so the command line stays quick to start.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "BACKENDS": "backends",
    "Backend": "backends",
    "make_backend": "backends",
    "WorkerStartupError": "backends",
    "StudyLockedError": "lock",
    "RunOutcome": "execute",
    "execute_run": "execute",
    "LotteryReport": "report",
    "lottery_report": "report",
    "finished_runs": "resume",
    "remove_abandoned": "resume",
    "StudyResult": "run",
    "plan": "run",
    "run_study": "run",
    "BASELINE_AGENT": "spec",
    "RunSpec": "spec",
    "Study": "spec",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archgym.study' has no attribute {name!r}")
    return getattr(importlib.import_module(f"archgym.study.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = sorted(_EXPORTS)
