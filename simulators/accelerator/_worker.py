"""Run per-layer simulator jobs in child processes: isolation, parallelism and time limits.

The external back-ends (ZigZag, SCALE-Sim) are pure-Python packages that print to stdout,
may write files into the current directory and can run for minutes on a large layer. Running
them inside the caller's process would make a hung layer hang the search, mix their output
into the caller's, and let two evaluations running at once clobber each other's files. So each
:class:`WorkerPool` keeps up to ``processes`` long-lived child interpreters
(``python -m archgym.simulators.accelerator._worker``), each started in a private temporary
directory of its own (the parent never changes directory), and sends them jobs over a pipe:

* a job is ``(target, payload)``: ``target`` is ``"package.module:function"`` (a module-level
  function that takes one picklable payload and returns a picklable result);
* the child imports the ``preload`` modules before it reports ready, and a job's target on
  first use (import costs are paid once per child, not per job, and preloaded ones not
  against a job's time limit); it runs the job with its stdout pointed at ``os.devnull`` and
  answers ``("ok", result)``, ``("rejected", message)`` when the job raised
  :class:`~archgym.simulator.SimulationError` itself (its verdict, e.g. an infeasible design,
  re-raised in the parent as :class:`JobRejected` ``"<what>: <message>"``) or ``("error", message)``
  for any other exception (``SimulationError("<what> failed: <type>: <message>")``);
* the parent waits at most ``timeout_s`` seconds per job; past that it kills that child (a
  fresh one is started for the next job) and raises
  :class:`~archgym.simulator.SimulationError`, as it does for a job that raised or a child that
  died.

A plain ``subprocess`` (not :mod:`multiprocessing`) is used so that no start method re-imports
the caller's ``__main__``: scripts without an ``if __name__ == "__main__"`` guard work too.
Children exit by themselves when the parent goes away (their stdin closes).
"""

from __future__ import annotations

import os
import pickle
import queue
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO, Sequence

from archgym.simulator import SimulationError

__all__ = ["WorkerPool", "JobRejected", "run_job"]

_HEADER = struct.Struct("<Q")
#: seconds a new child may take to start and import its preloaded modules
_STARTUP_TIMEOUT_S = 300.0


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


def _write_message(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read_message(stream: BinaryIO) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("worker pipe closed")
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("worker pipe closed mid-message")
    return pickle.loads(data)


def _resolve(target: str) -> Any:
    module_name, _, function_name = target.partition(":")
    module = __import__(module_name, fromlist=[function_name])
    return getattr(module, function_name)


def run_job(target: str, payload: Any) -> Any:
    """Run one job in this process (what a child does; used directly when isolation is off)."""
    return _resolve(target)(payload)


class _Child:
    """One child interpreter, its private working directory and a thread reading its answers."""

    def __init__(self, tag: str, preload: Sequence[str] = ()) -> None:
        self.workdir = tempfile.mkdtemp(prefix=f"archgym-{tag}-")
        env = dict(os.environ)
        # the child must import exactly what the parent imports (editable installs, sys.path edits)
        paths = [p for p in sys.path if p]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env.setdefault("OMP_NUM_THREADS", "1")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, *preload],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=self.workdir,
                env=env,
            )
        except OSError:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        self.answers: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.reader = threading.Thread(target=self._read_answers, name=f"archgym-{tag}-reader", daemon=True)
        self.reader.start()
        # the child answers once it has imported `preload`, so start-up never counts against a job's time
        status, value = self._wait(_STARTUP_TIMEOUT_S)
        if status != "ready":
            self.close(kill=True)
            detail = value if status == "error" else f"no answer ({status})"
            raise SimulationError(f"could not start a {tag} worker process: {detail}")

    def _wait(self, timeout_s: float | None) -> tuple[str, Any]:
        try:
            return self.answers.get(timeout=timeout_s)
        except queue.Empty:
            return "timeout", None

    def _read_answers(self) -> None:
        assert self.process.stdout is not None
        while True:
            try:
                message = _read_message(self.process.stdout)
            except Exception:  # EOF or a broken pipe: the child is gone
                self.answers.put(("died", None))
                return
            self.answers.put(message)

    def call(self, target: str, payload: Any, timeout_s: float | None) -> tuple[str, Any]:
        """Send one job; return ``(status, value)``: ``ok``, ``rejected``, ``error``, ``timeout`` or ``died``."""
        assert self.process.stdin is not None
        try:
            _write_message(self.process.stdin, (target, payload))
        except (BrokenPipeError, OSError):
            return "died", None
        return self._wait(timeout_s)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, kill: bool = False) -> None:
        try:
            if kill:
                self.process.kill()
            elif self.process.stdin is not None:
                self.process.stdin.close()  # the child exits at EOF
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        except Exception:
            pass
        finally:
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except Exception:
                    pass
            shutil.rmtree(self.workdir, ignore_errors=True)


def _close_children(children: list[_Child]) -> None:
    while children:
        children.pop().close()


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
        self._idle: list[_Child] = []
        self._all: list[_Child] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(processes)
        self._finalizer = weakref.finalize(self, _close_children, self._all)

    def _acquire(self) -> _Child:
        self._slots.acquire()
        with self._lock:
            while self._idle:
                child = self._idle.pop()
                if child.alive:
                    return child
                self._all.remove(child)
                child.close(kill=True)
        try:
            child = _Child(self.tag, self.preload)
        except Exception:
            self._slots.release()
            raise
        with self._lock:
            self._all.append(child)
        return child

    def _release(self, child: _Child, broken: bool) -> None:
        with self._lock:
            if broken:
                if child in self._all:
                    self._all.remove(child)
            else:
                self._idle.append(child)
        if broken:
            child.close(kill=True)
        self._slots.release()

    def run(self, target: str, payload: Any, timeout_s: float | None = None, what: str = "job") -> Any:
        """Run one job in a child; raise :class:`SimulationError` (naming ``what``) if it fails or times out."""
        child = self._acquire()
        status, value = "died", None
        try:
            status, value = child.call(target, payload, timeout_s)
        finally:
            self._release(child, broken=status in ("timeout", "died"))
        if status == "ok":
            return value
        if status == "timeout":
            raise SimulationError(f"{what} timed out after {timeout_s:g} s (the worker process was stopped)")
        if status == "rejected":
            raise JobRejected.make(what, value)
        if status == "error":
            raise SimulationError(f"{what} failed: {value}")
        raise SimulationError(f"{what}: the worker process died unexpectedly")

    def map(self, target: str, payloads: Sequence[Any], timeout_s: float | None = None,
            what: Sequence[str] | None = None, return_rejected: bool = False) -> list[Any]:
        """Run many jobs, up to ``processes`` at a time, results in job order.

        The first failure (in job order) is raised, except that with ``return_rejected`` a
        :class:`JobRejected` takes the place of its job's result.
        """
        names = list(what) if what is not None else [f"job {i}" for i in range(len(payloads))]

        def one(payload: Any, name: str) -> Any:
            try:
                return self.run(target, payload, timeout_s, name)
            except JobRejected as rejected:
                if return_rejected:
                    return rejected
                raise

        if len(payloads) <= 1 or self.processes == 1:
            return [one(p, n) for p, n in zip(payloads, names)]
        with ThreadPoolExecutor(max_workers=min(self.processes, len(payloads))) as executor:
            futures = [executor.submit(one, p, n) for p, n in zip(payloads, names)]
            errors = [f.exception() for f in futures]
        for error in errors:
            if error is not None:
                raise error
        return [f.result() for f in futures]

    def close(self) -> None:
        """Stop every child and remove its directory (idempotent)."""
        with self._lock:
            children, self._idle = list(self._all), []
            self._all.clear()
        for child in children:
            child.close()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve() -> None:
    """The child's loop: read jobs from stdin, answer on the original stdout, print nothing."""
    protocol_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # libraries that print (or C code writing to fd 1) cannot corrupt the protocol
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")
    stdin = sys.stdin.buffer
    try:
        for module in sys.argv[1:]:
            __import__(module)
        ready: tuple[str, Any] = ("ready", None)
    except BaseException as exc:
        ready = ("error", f"importing {module}: {type(exc).__name__}: {exc}")
    _write_message(protocol_out, ready)
    if ready[0] != "ready":
        return
    while True:
        try:
            target, payload = _read_message(stdin)
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = ("ok", run_job(target, payload))
        except SimulationError as exc:  # the job's own verdict (e.g. an infeasible design): pass it on as is
            answer = ("rejected", str(exc))
        except BaseException as exc:  # report everything, keep serving
            last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
            where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
            answer = ("error", f"{type(exc).__name__}: {exc}{where}")
        try:
            _write_message(protocol_out, answer)
        except (BrokenPipeError, OSError):
            return


if __name__ == "__main__":
    _serve()
