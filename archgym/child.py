"""One child process serving requests one at a time, each with an optional deadline.

Studies (a run per request), :class:`~archgym.timeout.TimeLimitedSimulator` (an evaluation per
request) and the accelerator's external back-ends (a layer job per request) need work done in
another process, so that a hang can be stopped (compiled loops ignore signals and exceptions: only
ending the process stops them) and a crash fails one request, not the caller. :class:`ChildWorker`
is that one mechanism; :func:`imap` runs many requests over several workers from one thread.

* **What runs.** The child calls ``factory(*args)`` once (imports, unpickling a simulator: not
  counted against any request's time) and answers each request with the handler it returned.
  ``factory`` is a module-level function; ``args``, requests and replies are pickled over one duplex
  pipe (a round trip: tens of microseconds).
* **How it starts.** ``start_method="spawn"`` (default) uses :mod:`multiprocessing`: the child
  re-imports the caller's ``__main__``, so classes defined in a script unpickle there, and ``args``
  may hold shared memory (``RawArray``). ``"interpreter"`` runs a fresh ``python -m archgym.child``
  that imports nothing of ``__main__``: scripts without an ``if __name__ == "__main__":`` guard work
  too. Children ignore Ctrl-C (the caller handles it) and end with their parent (Linux
  ``PR_SET_PDEATHSIG`` + a watcher thread).
* **Typed errors.** :class:`ChildTimeout` (the request overran: the child was killed),
  :class:`ChildDied` (segfault, ``os._exit``, out of memory), :class:`ChildStartupError` (it ended,
  failed or hung before taking requests, e.g. a spawned script without a ``__main__`` guard) and
  :class:`ChildRaised` (the handler raised; the child serves on). After a timeout or a death the
  next request starts a fresh child; :meth:`~ChildWorker.close` is idempotent.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import weakref
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as _mp_wait
from typing import Any, Callable, Iterable, Iterator, NoReturn, Sequence

__all__ = ["ChildDied", "ChildError", "ChildRaised", "ChildStartupError", "ChildTimeout", "ChildWorker",
           "close_all", "describe_exit", "die_with_parent", "imap"]

#: seconds a child may take to start and run its factory (by default)
STARTUP_TIMEOUT_S = 300.0


def describe_exit(exitcode: int | None) -> str:
    """How a process ended, in words (``-11`` -> ``killed by signal SIGSEGV``)."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode}"


class ChildError(RuntimeError):
    """Something went wrong in or with a :class:`ChildWorker`'s child (see the subclasses)."""


class ChildStartupError(ChildError):
    """The child ended, failed or did not answer before taking requests; :attr:`detail` says how."""

    def __init__(self, detail: str, exitcode: int | None = None) -> None:
        super().__init__(f"the child process did not start: {detail}")
        self.detail, self.exitcode = detail, exitcode


class ChildTimeout(ChildError):
    """A request ran past :attr:`timeout_s` (``None``: :func:`imap`'s ``overdue`` ended it); the child was killed."""

    def __init__(self, timeout_s: float | None, reason: str = "") -> None:
        super().__init__(reason or f"the request took longer than {timeout_s:g} s; the child process was stopped")
        self.timeout_s = timeout_s


class ChildDied(ChildError):
    """The child ended while serving or awaiting a request; :attr:`exitcode` says how."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"the child process died: {describe_exit(exitcode)}")
        self.exitcode = exitcode


class ChildRaised(ChildError):
    """The handler raised: :attr:`type_name`, :attr:`message`, :attr:`traceback` (its last frames) and
    :attr:`location` (``file:line`` where it was raised) describe the exception."""

    def __init__(self, type_name: str, message: str, traceback_text: str, location: str, kinds: Sequence[str]) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name, self.message, self.traceback, self.location = type_name, message, traceback_text, location
        self._kinds = frozenset(kinds)

    def raised_a(self, cls: type) -> bool:
        """Whether the child's exception was an instance of ``cls`` (compared by qualified name)."""
        return f"{cls.__module__}.{cls.__qualname__}" in self._kinds


# -- inside the child ---------------------------------------------------------------------------
def die_with_parent(parent_pid: int) -> None:
    """End this process as soon as its parent ``parent_pid`` is gone: on Linux the kernel sends
    SIGKILL (``PR_SET_PDEATHSIG``); everywhere a watcher thread checks the parent twice a second."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watcher thread remains
            pass

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)
    threading.Thread(target=watch, name="archgym-parent-watch", daemon=True).start()


def _describe(exc: BaseException) -> tuple[str, str, str, str, list[str]]:
    frames = traceback.extract_tb(exc.__traceback__)
    location = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))
    return type(exc).__name__, str(exc), text, location, [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__]


def _serve(conn: Connection, factory: Callable[..., Callable[[Any], Any]], args: tuple, workdir: str | None,
           quiet: bool, parent_pid: int) -> None:
    """The child: set up, say ready, then answer requests until told to stop (``None``) or the pipe closes."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the child
    if quiet:  # at the descriptor level: C code and libraries that print are silenced too
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    if workdir is not None:
        os.chdir(workdir)
    try:
        handler = factory(*args)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as a start-up failure
        return conn.send(("setup-failed", f"{type(exc).__name__}: {exc}"))
    conn.send(("ready", os.getpid()))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            reply: tuple[str, Any] = ("ok", handler(request))
        except BaseException as exc:  # noqa: BLE001 - the request's failure, re-raised in the parent
            reply = ("raised", _describe(exc))
        try:
            conn.send(reply)
        except (OSError, EOFError):
            return
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
            conn.send(("raised", _describe(exc)))


# -- in the parent ------------------------------------------------------------------------------
class _Interpreter(subprocess.Popen):
    """A ``python -m archgym.child`` child, with the :class:`multiprocessing.Process` members used here."""

    sentinel = None

    @property
    def exitcode(self) -> int | None:
        return self.poll()

    def join(self, timeout: float | None = None) -> None:
        try:
            self.wait(timeout)
        except subprocess.TimeoutExpired:
            pass


def _end(process: Any, conn: Connection, workdir: str | None) -> None:
    """Kill ``process`` if it still runs, reap it, release its pipe and directory."""
    if process.exitcode is None:
        process.kill()
    process.join(5)
    conn.close()
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


class ChildWorker:
    """A child process answering ``handler(request)``, ``handler = factory(*args)`` (see the module docstring).

    Args:
        factory, args: run once in the child; ``factory`` returns the request handler.
        start_method: a :mod:`multiprocessing` start method (``spawn``) or ``interpreter``.
        name: the process name (multiprocessing children).
        workdir_prefix: give each child a fresh temporary working directory named ``<prefix>*``.
        quiet: discard the child's stdout and stderr.
        startup_timeout_s: how long the child may take to start and run ``factory``.

    One thread drives a worker (a pool gives each of its threads its own).
    """

    def __init__(self, factory: Callable[..., Callable[[Any], Any]], *args: Any, start_method: str = "spawn",
                 name: str = "archgym-child", workdir_prefix: str | None = None, quiet: bool = False,
                 startup_timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        self.factory, self.args, self.start_method, self.name = factory, args, start_method, name
        self.workdir_prefix, self.quiet, self.startup_timeout_s = workdir_prefix, quiet, startup_timeout_s
        self.ready = False  #: the child has set up and takes requests
        self.busy = False  #: a request is in flight
        self.request: Any = None  #: the request in flight
        self._timeout_s: float | None = None
        self._deadline = math.inf
        self._process: Any = None
        self._conn: Any = None
        self._finalizer: Any = None

    @property
    def started(self) -> bool:
        """Whether a child process runs (or starts) for this worker."""
        return self._process is not None

    def start(self) -> None:
        """Start a child if none runs; returns at once (it takes requests once :attr:`ready`)."""
        if self._process is not None:
            return
        workdir = tempfile.mkdtemp(prefix=self.workdir_prefix) if self.workdir_prefix else None
        self._conn, child_conn = multiprocessing.Pipe()
        setup = (self.factory, self.args, workdir, self.quiet)
        try:
            if self.start_method == "interpreter":
                env = dict(os.environ)
                # the child must import exactly what the parent imports (editable installs, sys.path edits)
                paths = [*sys.path, *env.get("PYTHONPATH", "").split(os.pathsep)]
                env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
                env.setdefault("OMP_NUM_THREADS", "1")
                fd = child_conn.fileno()
                process: Any = _Interpreter([sys.executable, "-m", __name__, str(fd), str(os.getpid())], env=env,
                                            pass_fds=(fd,), stdin=subprocess.DEVNULL)
            else:
                process = multiprocessing.get_context(self.start_method).Process(
                    target=_serve, name=self.name, daemon=True, args=(child_conn, *setup, os.getpid()))
                process.start()
        except BaseException:
            self._conn.close()
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        finally:
            child_conn.close()
        self._process, self._deadline = process, time.monotonic() + self.startup_timeout_s
        # the child is also ended when this worker is dropped, and at interpreter exit
        self._finalizer = weakref.finalize(self, _end, process, self._conn, workdir)
        if self.start_method == "interpreter":
            try:
                self._conn.send(setup)
            except BaseException:  # e.g. unpicklable args
                self.kill()
                raise

    def kill(self) -> None:
        """Kill the child now (a later request starts a fresh one)."""
        if self._finalizer is not None:
            self._finalizer()  # runs _end once
        self._process = self._conn = self._finalizer = self.request = None
        self.ready = self.busy = False
        self._deadline = math.inf

    def restart(self) -> None:
        """Kill the child and start a fresh one."""
        self.kill()
        self.start()

    def close(self, grace_s: float = 2.0) -> None:
        """Stop the child: an idle one is asked to exit (``grace_s`` to do so), a busy one is killed (idempotent)."""
        close_all([self], grace_s)

    def __enter__(self) -> "ChildWorker":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def call(self, request: Any, timeout_s: float | None = None) -> Any:
        """``handler(request)`` in the child (started if needed) within ``timeout_s`` s, start-up not counted."""
        self.start()
        while not self.ready:
            self.poll(math.inf)
        self.submit(request, timeout_s)
        while True:
            done, reply = self.poll(math.inf)
            if done:
                return reply

    def submit(self, request: Any, timeout_s: float | None = None) -> None:
        """Send one request to the :attr:`ready`, idle child, with ``timeout_s`` seconds to answer; see :meth:`poll`.

        Raises :class:`ChildDied` if the child is found dead; an unpicklable request raises as
        :mod:`pickle` does and leaves the child as it was.
        """
        if self.busy or not self.ready:
            raise RuntimeError("the child is busy or not ready yet: poll it before sending a request")
        try:
            self._conn.send(request)
        except (BrokenPipeError, ConnectionError):
            self._died()
        self.busy, self.request, self._timeout_s = True, request, timeout_s
        self._deadline = math.inf if timeout_s is None else time.monotonic() + timeout_s

    def poll(self, wait_s: float = 0.0) -> tuple[bool, Any]:
        """Take in what the child sends within ``wait_s`` seconds (or by the deadline): ``(True, reply)`` once
        the request in flight is answered, else ``(False, None)`` (nothing yet, or it just became :attr:`ready`).

        Raises :class:`ChildRaised`, or :class:`ChildTimeout` / :class:`ChildDied` /
        :class:`ChildStartupError` (the child is then stopped).
        """
        if self._process is None:
            return False, None
        wait_s = min(wait_s, max(0.0, self._deadline - time.monotonic()))
        try:
            if not self._conn.poll(None if wait_s == math.inf else wait_s):
                if self._process.exitcode is not None:  # ended, but a forked grandchild holds the pipe open
                    self._died()
                if time.monotonic() >= self._deadline:
                    timeout_s, ready = self._timeout_s, self.ready
                    self.kill()
                    raise ChildTimeout(timeout_s) if ready else ChildStartupError(
                        f"no answer within {self.startup_timeout_s:g} s")
                return False, None
            kind, value = self._conn.recv()
        except (EOFError, OSError):
            self._died()
        if kind == "setup-failed":
            self.kill()
            raise ChildStartupError(value)
        self.busy, self.request, self._deadline = False, None, math.inf
        if kind == "ready":
            self.ready = True
            return False, None
        if kind == "raised":
            raise ChildRaised(*value)
        return True, value

    def _died(self) -> NoReturn:
        self._process.join(5)
        exitcode, was_ready = self._process.exitcode, self.ready
        self.kill()
        raise ChildDied(exitcode) if was_ready else ChildStartupError(describe_exit(exitcode), exitcode)


def _wait_any(workers: Sequence[ChildWorker], timeout_s: float | None) -> None:
    """Wait until one of ``workers`` has something to :meth:`~ChildWorker.poll` or a deadline passes."""
    workers, now = [w for w in workers if w.started], time.monotonic()
    limit = min([w._deadline - now for w in workers] + [math.inf if timeout_s is None else timeout_s])
    _mp_wait([h for w in workers for h in (w._conn, w._process.sentinel) if h is not None],
             None if limit == math.inf else max(0.0, limit))


def imap(workers: Sequence[ChildWorker], requests: Iterable[Any], timeout_s: float | None = None,
         overdue: Callable[[ChildWorker], str | None] | None = None) -> Iterator[tuple[Any, Any, ChildError | None]]:
    """Run ``requests`` on ``workers``, each worker taking the next request as soon as it is free.

    Yields ``(request, reply, None)`` or ``(request, None, error)`` in completion order, the error
    being the request's :class:`ChildRaised`, :class:`ChildTimeout` (past ``timeout_s``) or
    :class:`ChildDied`; a worker whose child was killed or died starts a fresh one for the next
    request. ``overdue(worker)``, asked every 0.25 s while a worker is busy, may end its request
    early: a reason kills the child and is yielded as a :class:`ChildTimeout` (``timeout_s=None``).
    A :class:`ChildStartupError` is raised. The workers are left running.
    """
    todo = deque(requests)
    while todo or any(w.busy for w in workers):
        for worker in workers:
            if todo and not worker.busy:
                worker.start()
                if worker.ready:
                    request = todo.popleft()
                    try:
                        worker.submit(request, timeout_s)
                    except ChildDied:  # it died just now: the request goes back, a new child comes next round
                        todo.appendleft(request)
        _wait_any(workers, 0.25 if overdue is not None else None)
        for worker in workers:
            request = worker.request
            try:
                done, reply = worker.poll()
                reason = overdue(worker) if overdue is not None and worker.busy else None
            except (ChildRaised, ChildTimeout, ChildDied) as error:
                if request is not None:
                    yield request, None, error
                continue
            if done:
                yield request, reply, None
            elif reason is not None:
                worker.kill()
                yield request, None, ChildTimeout(None, reason)


def close_all(workers: Iterable[ChildWorker], grace_s: float = 2.0) -> None:
    """Close several workers at once: idle children get ``grace_s`` in all to exit, then what is left is killed."""
    workers = [w for w in workers if w.started]
    for worker in workers:
        if not worker.busy:
            try:
                worker._conn.send(None)
            except (OSError, ValueError):
                pass
    deadline = time.monotonic() + grace_s
    for worker in workers:
        if worker.started and not worker.busy:  # (a worker listed twice is already closed)
            worker._process.join(max(0.0, deadline - time.monotonic()))
        worker.kill()


if __name__ == "__main__":  # a child started with start_method="interpreter": the set-up is the first message
    _connection = Connection(int(sys.argv[1]))
    _serve(_connection, *_connection.recv(), parent_pid=int(sys.argv[2]))
