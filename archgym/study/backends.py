"""Where a study's runs execute: one small interface over existing engines.

A backend maps a function over run specs and yields results as they complete. The engines do
the scheduling, retries of lost workers and data transport; nothing here schedules by hand.

* ``process`` (default): :class:`concurrent.futures.ProcessPoolExecutor` with ``workers``
  processes (``spawn`` start method: no fork of a process that may hold numba or torch threads).
* ``ray``: the same runs as Ray tasks (one CPU each) on a Ray cluster — ``address="auto"`` (the
  cluster this machine belongs to) or ``"HOST:PORT"``; with no address, a local Ray instance with
  ``workers`` CPUs is started and shut down afterwards. An already initialised Ray session is
  used as it is. Ray is an optional dependency (``pip install 'archgym[ray]'``), imported only here.
* ``serial``: in the calling process, one run after the other (debugging, notebooks, tests).
"""

from __future__ import annotations

import abc
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator, TypeVar

from archgym.errors import UserError, import_optional

T = TypeVar("T")
R = TypeVar("R")

BACKENDS = ("process", "ray", "serial")


class Backend(abc.ABC):
    """Runs ``fn(item, *args)`` for every item; results come back in completion order."""

    @abc.abstractmethod
    def imap_unordered(self, fn: Callable[..., R], items: Iterable[T], *args: Any) -> Iterator[R]:
        """Yield ``fn(item, *args)`` for each item as soon as it is done."""

    def close(self) -> None:
        """Release workers / cluster connections (idempotent)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SerialBackend(Backend):
    """Everything in this process, in order."""

    def imap_unordered(self, fn: Callable[..., R], items: Iterable[T], *args: Any) -> Iterator[R]:
        for item in items:
            yield fn(item, *args)


class ProcessBackend(Backend):
    """A local process pool of ``workers`` processes."""

    def __init__(self, workers: int, start_method: str = "spawn") -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(start_method))

    def imap_unordered(self, fn: Callable[..., R], items: Iterable[T], *args: Any) -> Iterator[R]:
        pending: set[Future[R]] = {self._pool.submit(fn, item, *args) for item in items}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


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

    def imap_unordered(self, fn: Callable[..., R], items: Iterable[T], *args: Any) -> Iterator[R]:
        ray = self._ray
        remote = ray.remote(num_cpus=1)(fn)
        shared = [ray.put(a) for a in args]
        pending = [remote.remote(item, *shared) for item in items]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    yield ray.get(ref)
        finally:
            for ref in pending:
                ray.cancel(ref)

    def close(self) -> None:
        if self._owns_session:
            self._ray.shutdown()
            self._owns_session = False


def check_backend(name: str, workers: int, address: str | None) -> None:
    """Raise ``ValueError`` for an unknown backend, a bad worker count or a misplaced address."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UserError(f"workers must be a positive integer, got {workers!r}")
    if name not in BACKENDS:
        raise UserError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")
    if address is not None and name != "ray":
        raise UserError(f"an address ({address!r}) only applies to the 'ray' backend, not {name!r}")


def make_backend(name: str, workers: int = 1, address: str | None = None) -> Backend:
    """The backend called ``name`` (``process``, ``ray`` or ``serial``) with ``workers`` parallel runs."""
    check_backend(name, workers, address)
    if name == "process":
        return ProcessBackend(workers)
    if name == "ray":
        return RayBackend(workers, address)
    return SerialBackend()
