"""Network/accelerator co-design: a NAS-Bench-201 cell and an accelerator, costed together.

After NASAIC (Yang et al., "Co-Exploration of Neural Architectures and Heterogeneous ASIC
Accelerator Designs Targeting Multiple Tasks", DAC 2020): one design is a cell
(:data:`.nb201.EDGE_NAMES`) plus the accelerator template's knobs
(:data:`archgym.simulators.accelerator.PARAMETER_VALUES`). The cell's network is expanded into
its layer table (:func:`.layers.network_workload`, cached per distinct table) and run through
an accelerator back-end (analytical by default) for latency, energy, area and the rest of
:data:`~archgym.simulators.accelerator.ACCELERATOR_METRICS`; accuracy, parameters and FLOPs
come from :class:`.tabular.NB201Tabular`. The workload is the NAS-Bench-201 dataset, which fixes
both the accuracy column and the network's input size and classifier.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from archgym.errors import UserError
from archgym.simulator import Metrics, Simulator
from archgym.simulators.accelerator import ACCELERATOR_METRICS, PARAMETER_VALUES

from .layers import network_workload, skeleton_for
from .nb201 import EDGE_NAMES, ArchError, design_to_arch
from .tabular import NB201Tabular, check_dataset, default_epochs

__all__ = ["CoDesignSimulator", "NETWORK_METRICS"]

#: what the co-design simulator takes from the table (besides the accelerator's metrics)
NETWORK_METRICS: tuple[str, ...] = ("valid_acc", "test_acc", "params_m", "flops_m")


class CoDesignSimulator(Simulator):
    """A cell + accelerator design on a NAS-Bench-201 dataset (module doc).

    ``accelerator``: the back-end (any :class:`~archgym.simulators.accelerator.AcceleratorSimulator`,
    e.g. from :func:`~archgym.simulators.accelerator.make_accelerator_simulator`); default the
    analytical model. ``epochs``: the accuracy's training schedule (default: the longest the
    table has for the dataset, 200 for cifar10, 12 otherwise). Designs the accelerator cannot
    map raise :class:`~archgym.simulator.SimulationError` (from the back-end).
    """

    name = "nb201-codesign"
    version = "1.0"

    def __init__(self, accelerator: Simulator | None = None, epochs: int | None = None) -> None:
        if accelerator is None:
            from archgym.simulators.accelerator import AnalyticalAccelerator

            accelerator = AnalyticalAccelerator()
        if epochs is not None and epochs not in (200, 12):
            raise UserError(f"epochs must be 200, 12 or None (the dataset's longest schedule), got {epochs!r}")
        self.accelerator = accelerator
        self.epochs = epochs
        self._tables = {e: NB201Tabular(epochs=e) for e in (200, 12)}
        table_metrics = {m.name: m for m in self._tables[12].metrics}
        self.metrics = tuple(table_metrics[name] for name in NETWORK_METRICS) + ACCELERATOR_METRICS

    def _epochs(self, dataset: str) -> int:
        return default_epochs(dataset) if self.epochs is None else self.epochs

    def workload_key(self, workload: str) -> str:
        check_dataset(workload, self._epochs(workload))
        return workload

    def fingerprint(self) -> str:
        return f"{self.identity}:epochs={self.epochs}:{self.accelerator.fingerprint()}"

    def evaluate(self, design: Mapping[str, Any], workload: str) -> Metrics:
        network = self._network_metrics(design, workload)
        hardware = {k: v for k, v in design.items() if k in PARAMETER_VALUES}
        costs = self.accelerator.evaluate(hardware, network_workload(design_to_arch(design), skeleton_for(workload)))
        return {**network, **costs}

    def evaluate_batch(self, designs: Sequence[Mapping[str, Any]], workload: str) -> list[Metrics]:
        """Many designs at once: one :meth:`evaluate_batch` call of the back-end per distinct
        network (vectorised over designs on the analytical back-end); raises on the first
        design that fails, like the back-end."""
        results: list[Metrics | None] = [None] * len(designs)
        groups: dict[Any, list[int]] = {}
        skeleton = skeleton_for(workload)
        for i, design in enumerate(designs):
            groups.setdefault(network_workload(design_to_arch(design), skeleton), []).append(i)
        for network, indices in groups.items():
            hardware = [{k: v for k, v in designs[i].items() if k in PARAMETER_VALUES} for i in indices]
            for i, costs in zip(indices, self.accelerator.evaluate_batch(hardware, network)):
                results[i] = {**self._network_metrics(designs[i], workload), **costs}
        return results  # type: ignore[return-value]

    def _network_metrics(self, design: Mapping[str, Any], workload: str) -> Metrics:
        unknown = [k for k in design if k not in EDGE_NAMES and k not in PARAMETER_VALUES]
        if unknown:
            raise ArchError(f"unknown co-design parameter(s) {', '.join(map(repr, unknown))}; expected the cell's "
                            f"{', '.join(EDGE_NAMES)} and the accelerator's {', '.join(PARAMETER_VALUES)}")
        network = self._tables[self._epochs(workload)].lookup(design_to_arch(design), workload)
        return {name: network[name] for name in NETWORK_METRICS}

    def __repr__(self) -> str:
        return f"CoDesignSimulator(accelerator={self.accelerator!r}, epochs={self.epochs!r})"
