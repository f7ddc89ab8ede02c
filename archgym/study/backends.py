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
import time
from typing import Any, Callable, Iterable, Iterator, TypeVar

from archgym.child import (ChildDied, ChildRaised, ChildStartupError, ChildTimeout, ChildWorker, close_all,
                           describe_exit, imap)
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


def _task_runner(beat: Any) -> Callable[[tuple], Any]:
    """A pool worker's set-up (see :class:`~archgym.child.ChildWorker`): share the heartbeat, run tasks."""
    global _BEAT
    _BEAT = beat
    evaluation_finished()  # a killed predecessor may have left its evaluation marked
    return _run_task


def _run_task(message: tuple) -> Any:
    fn, item, args = message
    try:
        return fn(item, *args)
    finally:
        evaluation_finished()


class TaskFailed(RuntimeError):
    """A task's worker process died or timed out (raised when no ``on_failure`` is given)."""


class ProcessBackend(Backend):
    """A local pool of ``workers`` processes, each running one task at a time.

    Unlike :class:`concurrent.futures.ProcessPoolExecutor`, a worker that dies (segfault,
    ``os._exit``, out of memory) or runs past a timeout fails only its own task: the failure is
    reported for that item (``on_failure(item, reason)``) and a fresh worker takes its place.
    Workers are :class:`~archgym.child.ChildWorker` s, so they also die with this process.

    Args:
        workers: parallel processes.
        start_method: ``spawn`` (default: no fork of a process that may hold numba or torch threads).
        task_timeout_s: a task running longer is stopped (its worker killed) and fails.
        eval_timeout_s: a task whose current evaluation (marked by :func:`evaluation_started`)
            runs longer is stopped and fails: a hanging simulator ends as a failed run.
    """

    def __init__(self, workers: int, start_method: str = "spawn", task_timeout_s: float | None = None,
                 eval_timeout_s: float | None = None) -> None:
        self.workers, self.start_method = workers, start_method
        self.task_timeout_s, self.eval_timeout_s = task_timeout_s, eval_timeout_s
        self._pool: list[ChildWorker] = []

    def _overdue(self, worker: ChildWorker) -> str | None:
        beat = worker.args[0]  # the worker's heartbeat: [start of the running evaluation (0: none), its step]
        if self.eval_timeout_s is not None and beat[0] > 0 and time.monotonic() - beat[0] > self.eval_timeout_s:
            return (f"timed out: the evaluation at step {int(beat[1])} ran longer than "
                    f"{self.eval_timeout_s:g} s (a hanging simulator?)")
        return None

    def imap_unordered(
        self,
        fn: Callable[..., R],
        items: Iterable[T],
        *args: Any,
        on_failure: Callable[[T, str], R] | None = None,
    ) -> Iterator[R]:
        requests = [(fn, item, args) for item in items]
        context = multiprocessing.get_context(self.start_method)
        self._pool = [ChildWorker(_task_runner, context.RawArray("d", 2), start_method=self.start_method,
                                  name="archgym-study-worker") for _ in range(min(self.workers, len(requests)))]
        try:
            for request, value, error in imap(self._pool, requests, self.task_timeout_s, self._overdue):
                if error is None:
                    yield value
                    continue
                if isinstance(error, ChildRaised):
                    reason = f"{error.type_name}: {error.message}\n{error.traceback}"
                elif isinstance(error, ChildDied):
                    reason = f"the worker process died: {describe_exit(error.exitcode)}"
                elif isinstance(error, ChildTimeout) and error.timeout_s is not None:
                    reason = f"timed out: the run took longer than {error.timeout_s:g} s"
                else:
                    reason = str(error)
                if on_failure is None:
                    raise TaskFailed(reason)
                yield on_failure(request[1], reason)
        except ChildStartupError as exc:
            if exc.exitcode == GUARD_EXIT_STATUS:
                raise WorkerStartupError(_GUARD_ADVICE) from None
            raise WorkerStartupError(
                f"a study worker process {exc.detail} while starting, before running anything. If the "
                f"study is started from a script, check that it does so under 'if __name__ == \"__main__\":' "
                f"(workers import the script again); its error output is above"
            ) from None
        finally:
            self.close()

    def close(self) -> None:
        close_all(self._pool)


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
