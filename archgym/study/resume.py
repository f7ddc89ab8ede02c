"""Resuming a study: which runs are finished, and clearing what a killed run left behind.

The guarantee rests on how runs are written (:mod:`archgym.study.execute`): all rows of a run
are published as one atomically renamed shard at the run's end. So

* a run with rows in the dataset (for this study) is finished, complete, and skipped on rerun;
* a run killed mid-way (crash, Ctrl-C, ``SIGKILL``) has no published rows: at most a hidden
  ``.part-<run id>-…tmp`` file, which every reader ignores and :func:`remove_abandoned`
  deletes before the rerun executes the run again from scratch.

Hence rerunning never duplicates rows. One process runs a given study on a dataset at a time
(:mod:`archgym.study.lock`); a pool worker dies with its parent; and even a run executed twice
is published once (its shard name is created exclusively, :mod:`archgym.study.execute`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pyarrow.compute as pc

from archgym.dataset import load_table


def finished_runs(dataset: str | os.PathLike[str], study: str) -> set[str]:
    """Ids of the runs of ``study`` that have rows in ``dataset`` (empty if the folder is missing)."""
    if not Path(dataset).is_dir():
        return set()
    table = load_table(dataset, columns=["study", "run"], filters=pc.field("study") == study)
    return set(pc.unique(table.column("run").drop_null()).to_pylist())


def remove_abandoned(dataset: str | os.PathLike[str], run_ids: Iterable[str]) -> list[Path]:
    """Delete temporary shard files that killed attempts of ``run_ids`` left behind; return them.

    Only runs about to be executed again are passed in (so no live writer owns these files).
    """
    folder = Path(dataset)
    if not folder.is_dir():
        return []
    prefixes = tuple(f".part-{run}-" for run in run_ids)
    removed = []
    for entry in os.scandir(folder):
        if entry.name.endswith(".tmp") and entry.name.startswith(prefixes):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed
