"""What every accelerator back-end shares: metrics, design parsing, workload loading, identity.

A back-end subclasses :class:`AcceleratorSimulator`, sets ``name`` and ``version`` and
implements :meth:`AcceleratorSimulator.simulate`, which receives a validated
:class:`~.hardware.AcceleratorDesign` and a loaded :class:`~.layers.Workload` and returns
all of :data:`~.hardware.ACCELERATOR_METRICS` (compute the derived ones with
:func:`~.hardware.derived_metrics`). Construction options that change results go into
:meth:`AcceleratorSimulator.options`, which :meth:`fingerprint` hashes so the evaluation cache
never mixes differently configured back-ends. A design that cannot be mapped raises
:class:`archgym.simulator.SimulationError` with the reason.
"""

from __future__ import annotations

import abc
import hashlib
import json
import os
from typing import Any, Mapping

from archgym.simulator import Metrics, Simulator

from .hardware import ACCELERATOR_METRICS, AcceleratorDesign
from .layers import Workload, load_workload

__all__ = ["AcceleratorSimulator"]


class AcceleratorSimulator(Simulator):
    """Base class of the DNN-accelerator back-ends (analytical, ZigZag, SCALE-Sim).

    ``evaluate(design, workload)``: ``design`` is a dict of :data:`~.hardware.PARAMETER_VALUES`
    names (missing ones take the baseline's values); ``workload`` a shipped network name
    (:func:`~.layers.list_workloads`), the path of a workload table, or a
    :class:`~.layers.Workload` (e.g. :meth:`~.layers.Workload.from_layers`).
    """

    name = "accelerator"
    metrics = ACCELERATOR_METRICS

    def evaluate(self, design: Mapping[str, Any], workload: str | os.PathLike[str]) -> Metrics:
        return self.simulate(AcceleratorDesign.from_mapping(design), load_workload(workload))

    @abc.abstractmethod
    def simulate(self, design: AcceleratorDesign, workload: Workload) -> Metrics:
        """Evaluate one validated design on one loaded workload."""

    def options(self) -> dict[str, Any]:
        """Construction options that change results (JSON-serialisable); default none."""
        return {}

    def fingerprint(self) -> str:
        """``name@version``, plus a hash of :meth:`options` when there are any."""
        options = self.options()
        if not options:
            return self.identity
        digest = hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return f"{self.identity}:{digest}"

    def workload_key(self, workload: str | os.PathLike[str]) -> str:
        """The network name for a shipped workload, else name plus the table's content hash."""
        return load_workload(workload).key

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({options})"
