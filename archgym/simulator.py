"""The simulator contract shared by every cost model in :mod:`archgym.simulators`.

A simulator maps ``(design, workload)`` to a dict of named metrics. It is a plain Python
object (no gymnasium here) so it can be used on its own, from the CLI, or wrapped by an
environment. Simulators must be deterministic for identical inputs and must change
``version`` whenever results could change: the version keys the evaluation cache and is
written to the dataset.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence

if TYPE_CHECKING:
    from archgym.spaces import DesignSpace

Design = dict[str, Any]
Metrics = dict[str, float]


class SimulationError(RuntimeError):
    """Raised by a simulator when a design cannot be evaluated (infeasible, stalled, crashed).

    Environments turn it into the objective's penalty and ``info["error"]``; it never escapes
    ``env.step``.
    """


@dataclass(frozen=True)
class Metric:
    """A metric a simulator reports: its name, unit and the direction that is better."""

    name: str
    unit: str
    goal: Literal["minimize", "maximize"] = "minimize"
    description: str = ""

    def __post_init__(self) -> None:
        if self.goal not in ("minimize", "maximize"):
            raise ValueError(f"Metric {self.name!r}: goal must be 'minimize' or 'maximize', got {self.goal!r}")


class Simulator(abc.ABC):
    """Base class of every cost model.

    Subclasses set :attr:`name`, :attr:`version` and :attr:`metrics` and implement
    :meth:`evaluate`. :meth:`evaluate_batch` may be overridden by vectorised models.
    """

    #: short identifier, e.g. ``"dram"``; logged with every evaluation
    name: str = "simulator"
    #: changes whenever results for the same inputs could change
    version: str = "0"
    #: the metrics :meth:`evaluate` returns (it may return extra, undeclared ones)
    metrics: tuple[Metric, ...] = ()

    @abc.abstractmethod
    def evaluate(self, design: Mapping[str, Any], workload: str) -> Metrics:
        """Evaluate one design on one workload; raise :class:`SimulationError` on failure."""

    def evaluate_batch(self, designs: Sequence[Mapping[str, Any]], workload: str) -> list[Metrics | SimulationError]:
        """Evaluate many designs; the default loops over :meth:`evaluate` (and raises at the first failure).

        An override may instead return, in a failed design's slot, the :class:`SimulationError`
        itself (not raised), so one bad design never fails the batch (the DRAM simulator does);
        :class:`~archgym.env.DSEEnv` accepts both: a batch that raises is re-run design by design.
        """
        return [self.evaluate(design, workload) for design in designs]

    def fingerprint(self) -> str:
        """Everything besides design and workload that determines results (default: identity).

        Simulators with construction options (device, mapping, ...) include them, so a cache
        shared between differently configured simulators never mixes their results.
        """
        return self.identity

    def workload_key(self, workload: str) -> str:
        """A stable identity of ``workload`` for caching (override to hash file contents)."""
        return str(workload)

    def check_design_space(self, space: DesignSpace) -> None:
        """Raise ``ValueError`` if this simulator cannot evaluate designs of ``space``.

        Called by :class:`~archgym.env.DSEEnv` at construction, so a mismatch (e.g. a proxy
        trained on another design space) is reported by ``gym.make``, not by a later ``step``.
        The default accepts any space: most simulators validate each design as they evaluate it.
        """

    def metric(self, name: str) -> Metric:
        """Return the declared metric called ``name`` or raise a ``KeyError`` listing them all."""
        for metric in self.metrics:
            if metric.name == name:
                return metric
        known = ", ".join(m.name for m in self.metrics)
        raise KeyError(f"unknown metric {name!r} for simulator {self.name!r}; known metrics: {known}")

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    @property
    def identity(self) -> str:
        """``name@version``: what the dataset records as the simulator."""
        return f"{self.name}@{self.version}"
