"""Where a study's runs execute: one small interface over existing engines.

A backend maps a function over run specs and yields results as they complete. The engines do
the scheduling, retries of lost workers and data transport; nothing here schedules by hand.

* ``process`` (default): ``workers`` local processes (``spawn`` start method: no fork of a
  process that may hold numba or torch threads), each running one run at a time. A worker
  that crashes (segfault, ``os._exit``) or runs past a timeout fails only its own run, which
  is reported as failed with the reason; a fresh worker takes its place. Workers die with the
  process that started them, so killing only the study's parent stops them too.
* ``ray``: the same runs as Ray tasks (one CPU each) on a Ray cluster — ``address="auto"`` (the
  cluster this machine belongs to) or ``"HOST:PORT"``; with no address, a local Ray instance with
  ``workers`` CPUs is started and shut down afterwards. An already initialised Ray session is
  used as it is. Ray is an optional dependency (``pip install 'archgym[ray]'``), imported only here.
* ``serial``: in the calling process, one run after the other (debugging, notebooks, tests).
"""

from __future__ import annotations

import abc
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait as mp_wait
from typing import Any, Callable, Iterable, Iterator, TypeVar

from archgym.errors import UserError, import_optional

T = TypeVar("T")
R = TypeVar("R")

BACKENDS = ("process", "ray", "serial")


class Backend(abc.ABC):
    """Runs ``fn(item, *args)`` for every item; results come back in completion order."""

    @abc.abstractmethod
    def imap_unordered(
        self, fn: Callable[..., R], items: Iterable[T], *args: Any, on_failure: Callable[[T, str], R] | None = None
    ) -> Iterator[R]:
        """Yield ``fn(item, *args)`` for each item as soon as it is done.

        Where the engine can tell that an item's worker died or timed out, it yields
        ``on_failure(item, reason)`` for it instead (or raises without ``on_failure``).
        """

    def close(self) -> None:
        """Release workers / cluster connections (idempotent)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SerialBackend(Backend):
    """Everything in this process, in order."""

    def imap_unordered(
        self, fn: Callable[..., R], items: Iterable[T], *args: Any, on_failure: Callable[[T, str], R] | None = None
    ) -> Iterator[R]:
        for item in items:
            yield fn(item, *args)


class WorkerStartupError(RuntimeError):
    """The process pool's workers could not start (most often: a script without a ``__main__`` guard)."""


#: exit status of a worker whose start-up re-ran a study (see :func:`refuse_in_worker_startup`)
GUARD_EXIT_STATUS = 87

_GUARD_ADVICE = (
    "the study's worker processes re-ran the script that starts the study: worker processes are "
    "started with 'spawn', which imports the main script again in each worker. Put the code that "
    "starts the study under\n\n    if __name__ == \"__main__\":\n        run_study(...)\n\n"
    "(see https://docs.python.org/3/library/multiprocessing.html#the-spawn-and-forkserver-start-methods), "
    "or use backend='serial'"
)


def refuse_in_worker_startup() -> None:
    """End a spawned worker that is importing the main script and reached a study: say what to add.

    Called at the start of :func:`archgym.study.run_study`. In the parent, nothing happens. In a
    worker still importing the main script (a script without ``if __name__ == "__main__":``) it
    exits with :data:`GUARD_EXIT_STATUS`; the parent recognises it and raises
    :class:`WorkerStartupError` with the advice (one message, from the process the user runs).
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SystemExit(GUARD_EXIT_STATUS)


# -- inside a worker process ----------------------------------------------------------------
#: shared [start time of the running evaluation (0: none), its step] of this worker; None outside one
_BEAT: Any = None


def evaluation_started(step: int) -> None:
    """Mark the start of an evaluation, for the per-evaluation timeout (no-op outside a pool worker)."""
    if _BEAT is not None:
        _BEAT[1] = float(step)
        _BEAT[0] = time.monotonic()


def evaluation_finished() -> None:
    """Mark the end of the running evaluation (no-op outside a pool worker)."""
    if _BEAT is not None:
        _BEAT[0] = 0.0


def _die_with_parent(parent_pid: int) -> None:
    """End this worker as soon as the process that started it is gone (killed, crashed or exited).

    On Linux the kernel sends SIGKILL on the parent's death (``PR_SET_PDEATHSIG``); everywhere a
    watcher thread also checks the parent id twice a second, so a worker never keeps running
    (and publishing) runs of a study whose parent was killed.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watcher thread remains
            pass

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)
    threading.Thread(target=watch, name="archgym-parent-watch", daemon=True).start()


def _worker_main(conn: Any, beat: Any, parent_pid: int) -> None:
    """A pool worker: run tasks from ``conn`` one at a time and send back each result or error."""
    global _BEAT
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the workers
    _BEAT = beat
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        task, fn, item, args = message
        try:
            reply = (task, True, fn(item, *args))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent as this task's failure
            reply = (task, False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}")
        evaluation_finished()
        conn.send(reply)


def describe_exit(exitcode: int | None) -> str:
    """How a worker process ended, in words (``-11`` -> ``killed by signal SIGSEGV``)."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return f"killed by signal {name}"
    return f"exited with status {exitcode}"


class TaskFailed(RuntimeError):
    """A task's worker process died or timed out (raised when no ``on_failure`` is given)."""


@dataclass
class _Worker:
    process: Any
    conn: Any
    beat: Any
    ready: bool = False
    task: int | None = None
    started: float = 0.0


class ProcessBackend(Backend):
    """A local pool of ``workers`` processes, each running one task at a time.

    Unlike :class:`concurrent.futures.ProcessPoolExecutor`, a worker that dies (segfault,
    ``os._exit``, out of memory) or runs past a timeout fails only its own task: the failure is
    reported for that item (``on_failure(item, reason)``) and a fresh worker takes its place.

    Args:
        workers: parallel processes.
        start_method: ``spawn`` (default: no fork of a process that may hold numba or torch threads).
        task_timeout_s: a task running longer is stopped (its worker killed) and fails.
        eval_timeout_s: a task whose current evaluation (marked by :func:`evaluation_started`)
            runs longer is stopped and fails: a hanging simulator ends as a failed run.

    Workers die with the process that started them (:func:`_die_with_parent`).
    """

    def __init__(
        self,
        workers: int,
        start_method: str = "spawn",
        task_timeout_s: float | None = None,
        eval_timeout_s: float | None = None,
    ) -> None:
        self.workers = workers
        self.task_timeout_s = task_timeout_s
        self.eval_timeout_s = eval_timeout_s
        self._context = multiprocessing.get_context(start_method)
        self._pool: list[_Worker] = []

    def _start_worker(self) -> _Worker:
        parent_conn, child_conn = self._context.Pipe()
        beat = self._context.RawArray("d", 2)
        process = self._context.Process(
            target=_worker_main, args=(child_conn, beat, os.getpid()), name="archgym-study-worker", daemon=True
        )
        process.start()
        child_conn.close()
        worker = _Worker(process, parent_conn, beat)
        self._pool.append(worker)
        return worker

    def _stop_worker(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        if worker in self._pool:
            self._pool.remove(worker)

    def _overdue(self, worker: _Worker, now: float) -> str | None:
        if worker.task is None:
            return None
        if self.task_timeout_s is not None and now - worker.started > self.task_timeout_s:
            return f"timed out: the run took longer than {self.task_timeout_s:g} s"
        began = worker.beat[0]
        if self.eval_timeout_s is not None and began > 0 and now - began > self.eval_timeout_s:
            return (f"timed out: the evaluation at step {int(worker.beat[1])} ran longer than "
                    f"{self.eval_timeout_s:g} s (a hanging simulator?)")
        return None

    def imap_unordered(
        self,
        fn: Callable[..., R],
        items: Iterable[T],
        *args: Any,
        on_failure: Callable[[T, str], R] | None = None,
    ) -> Iterator[R]:
        todo = deque(enumerate(items))
        tasks = dict(todo)
        try:
            while len(self._pool) < min(self.workers, len(todo)):
                self._start_worker()
            while todo or any(w.task is not None for w in self._pool):
                for worker in self._pool:
                    if worker.ready and worker.task is None and todo and worker.process.is_alive():
                        task, item = todo.popleft()
                        try:
                            worker.conn.send((task, fn, item, args))
                        except OSError:  # it died just now: the task goes back, the death is handled below
                            todo.appendleft((task, item))
                            continue
                        worker.task, worker.started = task, time.monotonic()
                timeouts = [t for t in (self.task_timeout_s, self.eval_timeout_s) if t is not None]
                wait_s = min([0.25, *timeouts]) if timeouts else None
                handles = [w.conn for w in self._pool] + [w.process.sentinel for w in self._pool]
                mp_wait(handles, timeout=wait_s)
                now = time.monotonic()
                for worker in list(self._pool):
                    failure: str | None = None
                    while worker.conn.poll():
                        try:
                            message = worker.conn.recv()
                        except (EOFError, OSError):
                            break
                        if message[0] == "ready":
                            worker.ready = True
                            continue
                        task, ok, value = message
                        worker.task = None
                        worker.beat[0] = 0.0
                        if ok:
                            yield value
                        elif on_failure is None:
                            raise TaskFailed(value)
                        else:
                            yield on_failure(tasks[task], value)
                    if not worker.process.is_alive():
                        worker.process.join()
                        if not worker.ready:
                            self._startup_failed(worker)
                        failure = f"the worker process died: {describe_exit(worker.process.exitcode)}"
                    else:
                        failure = self._overdue(worker, now)
                    if failure is None:
                        continue
                    task = worker.task
                    self._stop_worker(worker)
                    if task is not None:
                        if on_failure is None:
                            raise TaskFailed(failure)
                        yield on_failure(tasks[task], failure)
                    if todo and len(self._pool) < self.workers:
                        self._start_worker()
        finally:
            self.close()

    def _startup_failed(self, worker: _Worker) -> None:
        code = worker.process.exitcode
        self.close()
        if code == GUARD_EXIT_STATUS:
            raise WorkerStartupError(_GUARD_ADVICE)
        raise WorkerStartupError(
            f"a study worker process {describe_exit(code)} while starting, before running anything. If the "
            f"study is started from a script, check that it does so under 'if __name__ == \"__main__\":' "
            f"(workers import the script again); its error output is above"
        )

    def close(self) -> None:
        for worker in list(self._pool):
            if worker.process.is_alive() and worker.task is None:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
        deadline = time.monotonic() + 2
        for worker in list(self._pool):
            if worker.task is None:
                worker.process.join(max(0.0, deadline - time.monotonic()))
            self._stop_worker(worker)


class RayBackend(Backend):
    """Ray tasks on a cluster (``address``) or on a local instance started here."""

    def __init__(self, workers: int, address: str | None = None) -> None:
        ray = import_optional("ray", "ray", "the 'ray' study backend")
        self._ray = ray
        self._owns_session = False
        if not ray.is_initialized():
            if address is None:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
            self._owns_session = True

    def imap_unordered(
        self, fn: Callable[..., R], items: Iterable[T], *args: Any, on_failure: Callable[[T, str], R] | None = None
    ) -> Iterator[R]:
        ray = self._ray
        remote = ray.remote(num_cpus=1, max_retries=0)(fn)
        shared = [ray.put(a) for a in args]
        items_by_ref = {}
        for item in items:
            items_by_ref[remote.remote(item, *shared)] = item
        pending = list(items_by_ref)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.WorkerCrashedError as exc:  # the task's worker died (segfault, os._exit)
                        if on_failure is None:
                            raise
                        result = on_failure(items_by_ref[ref], f"the worker process died: {exc}")
                    yield result
        finally:
            for ref in pending:
                ray.cancel(ref)

    def close(self) -> None:
        if self._owns_session:
            self._ray.shutdown()
            self._owns_session = False


def check_backend(
    name: str, workers: int, address: str | None, run_timeout_s: float | None = None, eval_timeout_s: float | None = None
) -> None:
    """Raise ``ValueError`` for an unknown backend, a bad worker count, a misplaced address or timeout."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UserError(f"workers must be a positive integer, got {workers!r}")
    if name not in BACKENDS:
        raise UserError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")
    if address is not None and name != "ray":
        raise UserError(f"an address ({address!r}) only applies to the 'ray' backend, not {name!r}")
    for option, value in (("run_timeout_s", run_timeout_s), ("eval_timeout_s", eval_timeout_s)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e9:
            raise UserError(f"{option} must be a positive number of seconds, got {value!r}")
        if name != "process":
            raise UserError(
                f"{option} needs the 'process' backend (a hanging evaluation can only be stopped by ending "
                f"its process), not {name!r}"
            )


def make_backend(
    name: str,
    workers: int = 1,
    address: str | None = None,
    *,
    run_timeout_s: float | None = None,
    eval_timeout_s: float | None = None,
) -> Backend:
    """The backend called ``name`` (``process``, ``ray`` or ``serial``) with ``workers`` parallel runs.

    ``run_timeout_s`` / ``eval_timeout_s`` (``process`` only): a run, or one evaluation in it,
    that takes longer fails with a timeout (its worker is killed and replaced).
    """
    check_backend(name, workers, address, run_timeout_s, eval_timeout_s)
    if name == "process":
        return ProcessBackend(workers, task_timeout_s=run_timeout_s, eval_timeout_s=eval_timeout_s)
    if name == "ray":
        return RayBackend(workers, address)
    return SerialBackend()
