"""One child process that serves requests one at a time, each with an optional deadline.

Studies (a run per request), :class:`~archgym.timeout.TimeLimitedSimulator` (an evaluation per
request) and the accelerator's external back-ends (a layer job per request) all need the same
thing: work in another process, so that a hang can be stopped (compiled loops ignore signals and
exceptions; only ending the process stops them) and a crash fails one request, not the caller.
:class:`ChildWorker` is that one mechanism:

* **What runs.** ``ChildWorker(factory, *args)``: the child calls ``factory(*args)`` once (imports,
  unpickling a simulator, preloading modules — none of it counted against a request's time) and
  gets back a *handler*; each request is answered with ``handler(request)``. ``factory`` must be
  importable by name (a module-level function); ``args`` and requests and replies are pickled.
* **How it starts.** ``start_method="spawn"`` (default; also ``"forkserver"``/``"fork"``) uses
  :mod:`multiprocessing`: the child re-imports the caller's ``__main__``, so classes defined in the
  script unpickle there, and ``args`` may hold shared memory (``RawArray``). ``"interpreter"`` runs
  a fresh ``python -m archgym.child`` instead: nothing of ``__main__`` is imported, so a script
  without an ``if __name__ == "__main__":`` guard still works. Either way the child may get a
  private temporary working directory (``workdir_prefix``, removed with the child), ``quiet=True``
  sends its stdout/stderr to ``os.devnull``, it ignores Ctrl-C (the caller handles it) and it ends
  when its parent does (Linux ``PR_SET_PDEATHSIG`` plus a watcher thread).
* **Errors are typed.** :class:`ChildTimeout` (the request overran; the child was killed),
  :class:`ChildDied` (it crashed: segfault, ``os._exit``, out of memory), :class:`ChildStartupError`
  (it ended or failed before taking requests; e.g. a spawned script without a ``__main__`` guard),
  :class:`ChildRaised` (the handler raised: its type, message and traceback; the child serves on).
  After a timeout or a death the next request starts a fresh child; :meth:`ChildWorker.close` is
  idempotent and a closed worker restarts on its next request too.

Blocking use is ``worker.call(request, timeout_s)``. A caller that drives several workers from one
thread uses :meth:`~ChildWorker.submit`, :func:`wait_any` and :meth:`~ChildWorker.poll` instead.
The protocol is one duplex pipe (:func:`multiprocessing.Pipe`) carrying pickled messages; a round
trip costs tens of microseconds.
"""

from __future__ import annotations

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
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as _mp_wait
from typing import Any, Callable, Iterable, Sequence

__all__ = [
    "ChildDied", "ChildError", "ChildRaised", "ChildStartupError", "ChildTimeout", "ChildWorker",
    "close_all", "describe_exit", "die_with_parent", "wait_any",
]

#: seconds a child may take to start and run its factory, unless the worker says otherwise
STARTUP_TIMEOUT_S = 300.0


def describe_exit(exitcode: int | None) -> str:
    """How a process ended, in words (``-11`` -> ``killed by signal SIGSEGV``)."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return f"killed by signal {name}"
    return f"exited with status {exitcode}"


class ChildError(RuntimeError):
    """Something went wrong in or with a :class:`ChildWorker`'s child (see the subclasses)."""


class ChildStartupError(ChildError):
    """The child ended, failed or did not answer before it took requests; :attr:`detail` says how."""

    def __init__(self, detail: str, exitcode: int | None = None) -> None:
        super().__init__(f"the child process did not start: {detail}")
        self.detail, self.exitcode = detail, exitcode


class ChildTimeout(ChildError):
    """A request ran past its deadline; the child was killed (the next request starts a new one)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"the request took longer than {timeout_s:g} s; the child process was stopped")
        self.timeout_s = timeout_s


class ChildDied(ChildError):
    """The child ended while serving (or waiting for) a request; :attr:`exitcode` says how."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"the child process died: {describe_exit(exitcode)}")
        self.exitcode = exitcode


class ChildRaised(ChildError):
    """The handler raised. :attr:`type_name`, :attr:`message`, :attr:`traceback` (its last frames)
    and :attr:`location` (``file:line`` of the raising frame) describe the exception; the child is fine."""

    def __init__(self, type_name: str, message: str, traceback_text: str, location: str, kinds: Sequence[str]) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name, self.message, self.traceback, self.location = type_name, message, traceback_text, location
        self._kinds = frozenset(kinds)

    def raised_a(self, cls: type) -> bool:
        """Whether the child's exception was an instance of ``cls`` (compared by qualified name)."""
        return f"{cls.__module__}.{cls.__qualname__}" in self._kinds


# -- inside the child ----------------------------------------------------------------------------------
def die_with_parent(parent_pid: int) -> None:
    """End this process as soon as ``parent_pid`` (its parent) is gone: killed, crashed or exited.

    On Linux the kernel sends SIGKILL on the parent's death (``PR_SET_PDEATHSIG``); everywhere a
    watcher thread also checks the parent id twice a second.
    """
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
    kinds = [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__]
    return type(exc).__name__, str(exc), text, location, kinds


def _serve(conn: Connection, factory: Callable[..., Callable[[Any], Any]], args: tuple, workdir: str | None,
           parent_pid: int) -> None:
    """The child's loop: set up, say ready, then answer requests until told to stop or the pipe closes."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the child
    if workdir is not None:
        os.chdir(workdir)
    try:
        handler = factory(*args)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as a start-up failure
        conn.send(("setup-failed", f"{type(exc).__name__}: {exc}"))
        return
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
        except (BrokenPipeError, ConnectionError, EOFError):
            return
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
            conn.send(("raised", _describe(exc)))


def _interpreter_main() -> None:
    """``python -m archgym.child FD PARENT_PID``: the set-up arrives as the first message on FD."""
    fd, parent_pid = int(sys.argv[1]), int(sys.argv[2])
    conn = Connection(fd)
    factory, args, workdir = conn.recv()
    _serve(conn, factory, args, workdir, parent_pid)


# -- in the parent -------------------------------------------------------------------------------------
class _Started:
    """One started child: its process, the parent's end of the pipe, its working directory."""

    def __init__(self, process: Any, conn: Connection, workdir: str | None) -> None:
        self.process, self.conn, self.workdir = process, conn, workdir

    @property
    def exitcode(self) -> int | None:
        p = self.process
        return p.poll() if isinstance(p, subprocess.Popen) else p.exitcode

    def reap(self, timeout_s: float) -> int | None:
        """Wait up to ``timeout_s`` for the process to end; its exit code (None: still running)."""
        p = self.process
        if isinstance(p, subprocess.Popen):
            try:
                p.wait(timeout_s)
            except subprocess.TimeoutExpired:
                pass
        else:
            p.join(timeout_s)
        return self.exitcode

    def kill(self) -> None:
        """Kill the process (if still running), wait for it, release the pipe and the directory (idempotent)."""
        try:
            if self.exitcode is None:
                self.process.kill()
            self.reap(5)
        except (OSError, ValueError):  # already reaped or closed
            pass
        self.conn.close()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


class ChildWorker:
    """A child process answering ``handler(request)`` for ``handler = factory(*args)`` (module docstring).

    Args:
        factory, args: run once in the child; ``factory`` returns the request handler.
        start_method: ``spawn`` / ``forkserver`` / ``fork`` (:mod:`multiprocessing`) or ``interpreter``.
        name: the process name (spawned children), for ``ps`` and error messages.
        workdir_prefix: give each child a fresh temporary working directory named ``<prefix>*``.
        quiet: discard the child's stdout and stderr.
        startup_timeout_s: how long the child may take to start and run ``factory``.

    Not thread-safe: one thread drives a worker (a pool gives each thread its own).
    """

    def __init__(self, factory: Callable[..., Callable[[Any], Any]], *args: Any, start_method: str = "spawn",
                 name: str = "archgym-child", workdir_prefix: str | None = None, quiet: bool = False,
                 startup_timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        if start_method != "interpreter" and start_method not in multiprocessing.get_all_start_methods():
            raise ValueError(f"unknown start_method {start_method!r}; expected 'interpreter' or one of "
                             f"{', '.join(multiprocessing.get_all_start_methods())}")
        self.factory, self.args, self.start_method, self.name = factory, args, start_method, name
        self.workdir_prefix, self.quiet, self.startup_timeout_s = workdir_prefix, quiet, startup_timeout_s
        self.ready = False  #: the child has set up and takes requests
        self.busy = False  #: a request is in flight
        self._child: _Started | None = None
        self._finalizer: Any = None

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        """Whether a child process is running (or starting) for this worker."""
        return self._child is not None

    @property
    def pid(self) -> int | None:
        return None if self._child is None else self._child.process.pid

    def start(self) -> None:
        """Start the child if none is running; returns at once (see :meth:`wait_ready`)."""
        if self._child is not None:
            return
        workdir = tempfile.mkdtemp(prefix=self.workdir_prefix) if self.workdir_prefix else None
        parent_conn, child_conn = multiprocessing.Pipe()
        try:
            process = self._launch(child_conn, workdir)
        except BaseException:
            parent_conn.close()
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        finally:
            child_conn.close()
        self._child = _Started(process, parent_conn, workdir)
        self._finalizer = weakref.finalize(self, self._child.kill)  # also at interpreter exit
        self.ready = self.busy = False
        if self.start_method == "interpreter":
            try:
                parent_conn.send((self.factory, self.args, workdir))
            except (BrokenPipeError, ConnectionError):
                pass  # it died at once: the next poll reports it

    def _launch(self, child_conn: Connection, workdir: str | None) -> Any:
        if self.start_method == "interpreter":
            env = dict(os.environ)
            # the child must import exactly what the parent imports (editable installs, sys.path edits)
            env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")]).strip(os.pathsep)
            env.setdefault("OMP_NUM_THREADS", "1")
            out = subprocess.DEVNULL if self.quiet else None
            fd = child_conn.fileno()
            return subprocess.Popen([sys.executable, "-m", __name__, str(fd), str(os.getpid())], pass_fds=(fd,),
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
        context = multiprocessing.get_context(self.start_method)
        process = context.Process(target=_quiet_serve if self.quiet else _serve, name=self.name, daemon=True,
                                  args=(child_conn, self.factory, self.args, workdir, os.getpid()))
        process.start()
        return process

    def kill(self) -> None:
        """Kill the child now (a later request starts a fresh one)."""
        if self._finalizer is not None:
            self._finalizer()  # runs _Started.kill once
        self._child = self._finalizer = None
        self.ready = self.busy = False

    def restart(self) -> None:
        """Kill the child and start a fresh one."""
        self.kill()
        self.start()

    def close(self, grace_s: float = 2.0) -> None:
        """Stop the child: an idle one is asked to exit (``grace_s`` to do so), a busy one is killed.

        Idempotent; a later request starts a fresh child.
        """
        close_all([self], grace_s)

    def _ask_to_stop(self) -> None:
        if self._child is not None and not self.busy:
            try:
                self._child.conn.send(None)
            except (OSError, ValueError):
                pass

    def __enter__(self) -> "ChildWorker":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- requests -----------------------------------------------------------------------------
    def wait_ready(self, timeout_s: float | None = None) -> None:
        """Start the child if needed and wait until it takes requests (``startup_timeout_s`` by default)."""
        self.start()
        if not self.ready:
            self.poll(self.startup_timeout_s if timeout_s is None else timeout_s)
        if not self.ready:
            self.kill()
            raise ChildStartupError(f"no answer within {self.startup_timeout_s if timeout_s is None else timeout_s:g} s")

    def submit(self, request: Any) -> None:
        """Send one request without waiting (the child must not be busy); collect it with :meth:`poll`.

        Raises :class:`ChildDied` if the child is found dead, ``TypeError``/``PicklingError`` for an
        unpicklable request (the child is unaffected).
        """
        if self.busy:
            raise RuntimeError("the child is busy: collect its reply before sending another request")
        self.start()
        assert self._child is not None
        try:
            self._child.conn.send(request)
        except (BrokenPipeError, ConnectionError):
            self._died()
        self.busy = True

    def poll(self, timeout_s: float | None = 0.0) -> tuple[bool, Any]:
        """Take in what the child sent within ``timeout_s`` (``None``: no limit).

        Returns ``(True, reply)`` once the request in flight is answered, else ``(False, None)``
        (still working, or just become :attr:`ready` with no request in flight). Raises
        :class:`ChildRaised`, :class:`ChildDied` or :class:`ChildStartupError`; the last two leave
        the worker stopped.
        """
        if self._child is None:
            return False, None
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                if not self._child.conn.poll(remaining):
                    if self._child.exitcode is not None:  # ended without closing the pipe (a forked grandchild holds it)
                        self._died()
                    return False, None
                kind, value = self._child.conn.recv()
            except (EOFError, OSError):
                self._died()
            if kind == "ready":
                self.ready = True
                if not self.busy:
                    return False, None
                continue
            if kind == "setup-failed":
                self.kill()
                raise ChildStartupError(value)
            self.busy = False
            if kind == "ok":
                return True, value
            raise ChildRaised(*value)

    def result(self, timeout_s: float | None = None) -> Any:
        """Wait for the reply to the request in flight; past ``timeout_s`` kill the child and raise :class:`ChildTimeout`."""
        done, value = self.poll(timeout_s)
        if not done:
            self.kill()
            raise ChildTimeout(float(timeout_s or 0.0))
        return value

    def call(self, request: Any, timeout_s: float | None = None) -> Any:
        """``handler(request)`` in the child, within ``timeout_s`` seconds (start-up not counted)."""
        self.wait_ready()
        self.submit(request)
        return self.result(timeout_s)

    def _died(self) -> None:
        assert self._child is not None
        exitcode, was_ready = self._child.reap(5), self.ready
        self.kill()
        if was_ready:
            raise ChildDied(exitcode)
        raise ChildStartupError(describe_exit(exitcode), exitcode)

    def _handles(self) -> list[Any]:
        if self._child is None:
            return []
        sentinel = getattr(self._child.process, "sentinel", None)
        return [self._child.conn] + ([sentinel] if sentinel is not None else [])


def _quiet_serve(*args: Any) -> None:
    """:func:`_serve` with stdout and stderr (file descriptors 1 and 2) pointed at ``os.devnull``."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    _serve(*args)


def wait_any(workers: Iterable[ChildWorker], timeout_s: float | None) -> None:
    """Block until one of ``workers`` has something to :meth:`~ChildWorker.poll` (a reply, start-up, death) or ``timeout_s`` passes."""
    handles = [h for w in workers for h in w._handles()]
    if handles:
        _mp_wait(handles, timeout=timeout_s)
    elif timeout_s:
        time.sleep(timeout_s)


def close_all(workers: Iterable[ChildWorker], grace_s: float = 2.0) -> None:
    """Close several workers at once: idle children get ``grace_s`` in all to exit, then everything left is killed."""
    workers = list(workers)
    for worker in workers:
        worker._ask_to_stop()
    deadline = time.monotonic() + grace_s
    for worker in workers:
        if worker._child is not None and not worker.busy:
            worker._child.reap(max(0.0, deadline - time.monotonic()))
        worker.kill()


if __name__ == "__main__":
    _interpreter_main()
