"""One process per study: a lock file in the dataset folder, released when its holder ends.

Two processes running the same study on one dataset would execute the same pending runs
twice. Publication is idempotent (:mod:`archgym.study.execute`), so no rows would be doubled,
but the work would be; :func:`study_lock` refuses the second process instead, naming the first.

The lock is ``_lock-<study>.lock`` in the dataset folder (readers ignore names starting with
``_``). Where ``fcntl`` exists it is an advisory ``flock`` on that file, which the operating
system releases when the holding process ends in any way (even ``SIGKILL``), so a stale lock
cannot outlive its process. Elsewhere the file is created exclusively and holds the owner's
host and pid; a lock left by a process of this host that no longer runs is taken over.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import time
from pathlib import Path
from typing import Iterator

from archgym.errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class StudyLockedError(UserError):
    """Another live process is running this study on this dataset (a user situation: one line, exit 2)."""


def lock_path(dataset: str | os.PathLike[str], study: str) -> Path:
    """The lock file of ``study`` in ``dataset`` (a safe file name; long or odd names hashed)."""
    safe = re.sub(r"[^A-Za-z0-9_.\-]+", "_", study)[:80]
    if safe != study:
        safe += "-" + hashlib.sha256(study.encode()).hexdigest()[:8]
    return Path(dataset) / f"_lock-{safe}.lock"


def _owner() -> dict[str, object]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _describe(text: str) -> str:
    try:
        owner = json.loads(text)
        return f"process {owner['pid']} on {owner['host']}, since {owner['since']}"
    except (ValueError, KeyError, TypeError):
        return "another process"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _refuse(study: str, dataset: str | os.PathLike[str], path: Path, holder: str) -> StudyLockedError:
    return StudyLockedError(
        f"study {study!r} is already running on dataset {str(dataset)!r} ({holder}); one process per study: "
        f"wait for it to finish (a rerun afterwards resumes), or stop it. Lock file: {path}"
    )


@contextlib.contextmanager
def study_lock(dataset: str | os.PathLike[str], study: str) -> Iterator[Path]:
    """Hold the lock of ``study`` on ``dataset`` for the ``with`` block; :class:`StudyLockedError` if taken."""
    path = lock_path(dataset, study)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is not None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _describe(os.pread(fd, 4096, 0).decode(errors="replace"))
            os.close(fd)
            raise _refuse(study, dataset, path, holder) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(_owner()).encode(), 0)
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)  # the file stays: removing a flock'ed file races with a process about to lock it
        return
    for _ in range(2):  # pragma: no cover - the fallback without flock (Windows)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            text = path.read_text(errors="replace")
            try:
                owner = json.loads(text)
                stale = owner["host"] == socket.gethostname() and not _pid_alive(int(owner["pid"]))
            except (ValueError, KeyError, TypeError):
                stale = False
            if stale:
                path.unlink(missing_ok=True)
                continue
            raise _refuse(study, dataset, path, _describe(text)) from None
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(_owner()))
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)
        return
    raise _refuse(study, dataset, path, "a process that keeps recreating the lock")  # pragma: no cover
