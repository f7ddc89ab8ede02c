"""A time limit per evaluation: a simulator that hangs ends as a failed evaluation, not a hung run.

Simulators run compiled loops (numba) that no signal or exception can interrupt, so the only
reliable way to stop a hanging evaluation is to end the process running it.
:class:`TimeLimitedSimulator` therefore evaluates in a helper process of its own (started on
first use, kept for later evaluations) and, when an evaluation takes longer than the limit,
kills that process and raises :class:`~archgym.simulator.SimulationError` ("timed out after
… s"), which the env turns into the objective's failure reward and ``info["error"]``. The next
evaluation starts a fresh helper.

Use it through :func:`limit_evaluation_time` (what ``archgym run --eval-timeout S`` does) or
wrap a simulator yourself. Studies have the same limit per evaluation without a helper process
(``run_study(eval_timeout_s=...)``: the worker running the run is ended instead, failing the run).
The cost is one inter-process round trip per evaluation (tens of microseconds), negligible for
the slow simulators that need a limit.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from typing import Any, Mapping, Sequence

import gymnasium as gym

from archgym.simulator import Metrics, SimulationError, Simulator

#: how long the helper process may take to start (imports, unpickling the simulator)
STARTUP_TIMEOUT_S = 300.0


def _serve(conn: Any, parent_pid: int) -> None:
    """The helper process: receive the simulator, then evaluate designs until told to stop."""
    from archgym.study.backends import _die_with_parent

    _die_with_parent(parent_pid)
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends this process
    simulator = conn.recv()
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        design, workload = message
        try:
            conn.send(("ok", simulator.evaluate(design, workload)))
        except SimulationError as exc:
            conn.send(("failed", str(exc)))
        except Exception as exc:  # noqa: BLE001 - re-raised in the parent with its type and message
            conn.send(("error", (type(exc).__name__, str(exc), isinstance(exc, ValueError))))


class TimeLimitedSimulator(Simulator):
    """``simulator`` with each evaluation limited to ``timeout_s`` seconds (see the module docstring).

    Name, version, metrics, fingerprint and workload keys are the wrapped simulator's, so
    datasets and caches see the same simulator. ``simulator`` must be picklable.
    """

    def __init__(self, simulator: Simulator, timeout_s: float) -> None:
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not 0 < timeout_s < math.inf:
            raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
        self.simulator = simulator
        self.timeout_s = float(timeout_s)
        self.name, self.version, self.metrics = simulator.name, simulator.version, simulator.metrics
        self._process: Any = None
        self._conn: Any = None

    def fingerprint(self) -> str:
        return self.simulator.fingerprint()

    def workload_key(self, workload: str) -> str:
        return self.simulator.workload_key(workload)

    def check_design_space(self, space: Any) -> None:
        self.simulator.check_design_space(space)

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, os.getpid()), name="archgym-evaluator", daemon=True)
        self._process.start()
        child.close()
        self._conn.send(self.simulator)
        # start-up (imports, unpickling the simulator) is not part of any evaluation's time
        try:
            started = self._conn.poll(STARTUP_TIMEOUT_S) and self._conn.recv()[0] == "ready"
        except (EOFError, OSError):
            started = False
        if not started:
            code = self._process.exitcode
            self.close()
            raise SimulationError(f"the evaluator process did not start ({'exit status ' + str(code) if code is not None else 'no answer'})")

    def evaluate(self, design: Mapping[str, Any], workload: str) -> Metrics:
        if self._process is None or not self._process.is_alive():
            self._start()
        self._conn.send((dict(design), workload))
        if not self._conn.poll(self.timeout_s):
            self.close()
            raise SimulationError(
                f"evaluation timed out after {self.timeout_s:g} s (simulator {self.simulator.identity} on workload "
                f"{workload!r}); the evaluator process was stopped"
            )
        try:
            kind, value = self._conn.recv()
        except (EOFError, OSError):
            code = self._process.exitcode if self._process is not None else None
            self.close()
            raise SimulationError(f"the evaluator process died during the evaluation (exit status {code})") from None
        if kind == "ok":
            return value
        if kind == "failed":
            raise SimulationError(value)
        name, message, is_value_error = value
        raise (ValueError if is_value_error else RuntimeError)(f"{name}: {message}" if not is_value_error else message)

    def evaluate_batch(self, designs: Sequence[Mapping[str, Any]], workload: str) -> list[Metrics]:
        return [self.evaluate(design, workload) for design in designs]

    def close(self) -> None:
        """Stop the helper process (a later evaluation starts a new one)."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(5)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass

    def __getstate__(self) -> dict[str, Any]:
        return {"simulator": self.simulator, "timeout_s": self.timeout_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["simulator"], state["timeout_s"])  # type: ignore[misc]


def limit_evaluation_time(env: gym.Env, timeout_s: float | None) -> gym.Env:
    """Limit each evaluation of ``env`` to ``timeout_s`` seconds (``None``: no limit); returns ``env``."""
    if timeout_s is None:
        return env
    unwrapped = env.unwrapped
    if not isinstance(unwrapped.simulator, TimeLimitedSimulator):
        unwrapped.simulator = TimeLimitedSimulator(unwrapped.simulator, timeout_s)
    return env
