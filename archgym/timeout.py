"""A time limit per evaluation: a simulator that hangs ends as a failed evaluation, not a hung run.

Compiled loops (numba) ignore signals and exceptions, so only ending the process running an
evaluation stops it. :class:`TimeLimitedSimulator` evaluates in a child process of its own
(:class:`archgym.child.ChildWorker`, started on first use and kept); an evaluation past the limit
kills it and raises :class:`~archgym.simulator.SimulationError` ("timed out after … s"), which the
env turns into the failure reward and ``info["error"]``; the next evaluation starts a fresh child.

Use it through :func:`limit_evaluation_time` (what ``archgym run --eval-timeout S`` does) or
wrap a simulator yourself. Studies limit evaluations without an extra process
(``run_study(eval_timeout_s=...)``: the worker running the run is ended, failing the run).
The cost is one inter-process round trip per evaluation (tens of microseconds).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import gymnasium as gym

from archgym.child import ChildDied, ChildRaised, ChildStartupError, ChildTimeout, ChildWorker
from archgym.simulator import Metrics, SimulationError, Simulator

def _evaluator(simulator: Simulator) -> Callable[[tuple], Metrics]:
    """The helper process's set-up: it answers ``(design, workload)`` with the simulator's metrics."""
    return lambda request: simulator.evaluate(*request)


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
        self._worker: ChildWorker | None = None

    def fingerprint(self) -> str:
        return self.simulator.fingerprint()

    def workload_key(self, workload: str) -> str:
        return self.simulator.workload_key(workload)

    def check_design_space(self, space: Any) -> None:
        self.simulator.check_design_space(space)

    def evaluate(self, design: Mapping[str, Any], workload: str) -> Metrics:
        if self._worker is None:
            self._worker = ChildWorker(_evaluator, self.simulator, name="archgym-evaluator")
        try:
            return self._worker.call((dict(design), workload), self.timeout_s)
        except ChildStartupError as exc:
            raise SimulationError(f"the evaluator process did not start ({exc.detail})") from None
        except ChildTimeout:
            raise SimulationError(
                f"evaluation timed out after {self.timeout_s:g} s (simulator {self.simulator.identity} on workload "
                f"{workload!r}); the evaluator process was stopped"
            ) from None
        except ChildDied as exc:
            raise SimulationError(
                f"the evaluator process died during the evaluation (exit status {exc.exitcode})") from None
        except ChildRaised as exc:
            if exc.raised_a(SimulationError):
                raise SimulationError(exc.message) from None
            if exc.raised_a(ValueError):
                raise ValueError(exc.message) from None
            raise RuntimeError(str(exc)) from None

    def evaluate_batch(self, designs: Sequence[Mapping[str, Any]], workload: str) -> list[Metrics]:
        return [self.evaluate(design, workload) for design in designs]

    def close(self) -> None:
        """Stop the helper process (a later evaluation starts a new one)."""
        if self._worker is not None:
            self._worker.close()

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
