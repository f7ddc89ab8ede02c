"""Run per-layer simulator jobs in child processes: isolation, parallelism and time limits.

The external back-ends (ZigZag, SCALE-Sim) are pure-Python packages that print, may write files
into the current directory and can run for minutes on a large layer: in the caller's process a
hung layer would hang the search and two evaluations at once could clobber each other's files.
A :class:`WorkerPool` keeps up to ``processes`` long-lived :class:`archgym.child.ChildWorker`
children, fresh ``python -m`` interpreters (so scripts without a ``__main__`` guard work), each
silenced and in a private temporary directory (the parent never changes directory):

* a job is ``(target, payload)``: ``target`` is ``"package.module:function"`` (a module-level
  function that takes one picklable payload and returns a picklable result);
* a child imports the ``preload`` modules before it takes jobs, and a job's target on first use
  (import costs are paid once per child, and preloaded ones not against a job's time limit);
* a job that raises :class:`~archgym.simulator.SimulationError` itself gives its verdict (e.g.
  an infeasible design), re-raised as :class:`JobRejected` ``"<what>: <message>"``; any other
  exception becomes ``SimulationError("<what> failed: <type>: <message> (at <file:line>)")``;
* past ``timeout_s`` seconds the child is killed (a fresh one takes the next job) and
  :class:`~archgym.simulator.SimulationError` is raised, as for a child that died.
"""

from __future__ import annotations

import queue
from typing import Any, Callable, Sequence

from archgym.child import (ChildDied, ChildError, ChildRaised, ChildStartupError, ChildTimeout, ChildWorker, close_all,
                           imap)
from archgym.simulator import SimulationError

__all__ = ["WorkerPool", "JobRejected", "run_job"]


class JobRejected(SimulationError):
    """A job raised :class:`SimulationError` itself: its deterministic verdict (e.g. an infeasible
    design), as opposed to a crash or a time-out; callers may cache it like a result.

    The message is ``"<what>: <reason>"``; :attr:`reason` is the job's own message.
    """

    reason: str = ""

    @classmethod
    def make(cls, what: str, reason: str) -> "JobRejected":
        error = cls(f"{what}: {reason}")
        error.reason = reason
        return error


def _resolve(target: str) -> Any:
    module_name, _, function_name = target.partition(":")
    module = __import__(module_name, fromlist=[function_name])
    return getattr(module, function_name)


def run_job(target: str, payload: Any) -> Any:
    """Run one job in this process (what a child does; used directly when isolation is off)."""
    return _resolve(target)(payload)


def _job_server(preload: Sequence[str]) -> Callable[[tuple[str, Any]], Any]:
    """A child's set-up: import ``preload``, then run each ``(target, payload)`` job."""
    for module in preload:
        __import__(module)
    return lambda job: run_job(*job)


def _failure(what: str, error: ChildError, tag: str) -> SimulationError:
    """What a job's failure in its child means to the caller (see the module docstring)."""
    if isinstance(error, ChildStartupError):
        return SimulationError(f"could not start a {tag} worker process: {error.detail}")
    if isinstance(error, ChildTimeout):
        return SimulationError(f"{what} timed out after {error.timeout_s:g} s (the worker process was stopped)")
    if isinstance(error, ChildDied):
        return SimulationError(f"{what}: the worker process died unexpectedly")
    assert isinstance(error, ChildRaised)
    if error.raised_a(SimulationError):
        return JobRejected.make(what, error.message)
    where = f" (at {error.location})" if error.location else ""
    return SimulationError(f"{what} failed: {error.type_name}: {error.message}{where}")


class WorkerPool:
    """Up to ``processes`` child interpreters that run jobs with a per-job time limit.

    Thread-safe. Children start on first use and are reused; :meth:`close` (also run when the
    pool is garbage-collected or the interpreter exits) stops them and removes their
    directories. ``tag`` names the temporary directories (``archgym-<tag>-*``); ``preload``
    lists modules each child imports before it takes jobs (so their import time is not
    counted against a job's time limit).
    """

    def __init__(self, processes: int = 1, tag: str = "worker", preload: Sequence[str] = ()) -> None:
        if processes < 1:
            raise ValueError(f"processes must be >= 1, got {processes}")
        self.processes = processes
        self.tag = tag
        self.preload = tuple(preload)
        self._children = [ChildWorker(_job_server, self.preload, start_method="interpreter",
                                      workdir_prefix=f"archgym-{tag}-", quiet=True) for _ in range(processes)]
        self._idle: queue.SimpleQueue[ChildWorker] = queue.SimpleQueue()
        for child in self._children:
            self._idle.put(child)

    def run(self, target: str, payload: Any, timeout_s: float | None = None, what: str = "job") -> Any:
        """Run one job in a child; raise :class:`SimulationError` (naming ``what``) if it fails or times out."""
        child = self._idle.get()
        try:
            return child.call((target, payload), timeout_s)
        except ChildError as exc:
            raise _failure(what, exc, self.tag) from None
        finally:
            self._idle.put(child)

    def map(self, target: str, payloads: Sequence[Any], timeout_s: float | None = None,
            what: Sequence[str] | None = None, return_rejected: bool = False) -> list[Any]:
        """Run many jobs, up to ``processes`` at a time (as many as are free), results in job order.

        The first failure (in job order) is raised, except that with ``return_rejected`` a
        :class:`JobRejected` takes the place of its job's result.
        """
        names = list(what) if what is not None else [f"job {i}" for i in range(len(payloads))]
        jobs = [(target, payload) for payload in payloads]
        index = {id(job): i for i, job in enumerate(jobs)}
        results: list[Any] = [None] * len(jobs)
        children = [self._idle.get()]  # wait for one free child, take the others that are free
        try:
            while len(children) < len(jobs):
                children.append(self._idle.get_nowait())
        except queue.Empty:
            pass
        try:
            for job, result, error in imap(children, jobs, timeout_s):
                results[index[id(job)]] = result if error is None else _failure(names[index[id(job)]], error, self.tag)
        except ChildStartupError as exc:
            raise _failure("", exc, self.tag) from None
        finally:
            for child in children:
                self._idle.put(child)
        for result in results:
            if isinstance(result, SimulationError) and not (return_rejected and isinstance(result, JobRejected)):
                raise result
        return results

    def close(self) -> None:
        """Stop every child and remove its directory (idempotent; a later job starts them again)."""
        close_all(self._children)

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
