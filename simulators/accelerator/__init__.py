"""DNN-accelerator design-space exploration: a spatial-array template, workloads, back-ends.

* :mod:`.hardware` — the design space as plain data (:data:`PARAMETER_VALUES`,
  :data:`BASELINE_DESIGN`), :class:`AcceleratorDesign`, the shared metrics;
* :mod:`.layers` — :class:`Layer` (canonical loop bounds), :class:`Workload` and the workload
  table format; shipped networks: AlexNet, VGG-16, ResNet-18, ResNet-50, MobileNetV2, BERT-base;
* :mod:`.energy` — per-access energies and component areas (45 nm, documented sources);
* :mod:`.base` — :class:`AcceleratorSimulator`, the base class of every back-end;
* :mod:`.analytical` — :class:`AnalyticalAccelerator`, the closed-form loop-nest model;
* :mod:`.backends` — :func:`make_accelerator_simulator` ("analytical", "zigzag", "scalesim").

Writing another back-end: subclass :class:`AcceleratorSimulator`, implement
``simulate(design: AcceleratorDesign, workload: Workload) -> dict`` returning every metric of
:data:`ACCELERATOR_METRICS` (use :func:`derived_metrics`), multiply each layer's cost by its
``repeat``, raise :class:`archgym.simulator.SimulationError` for a design that cannot be mapped,
put result-changing constructor options in ``options()``, and add it to :data:`.backends.BACKENDS`.
"""

from .analytical import AnalyticalAccelerator, BatchResult, Breakdown
from .backends import BACKENDS, list_backends, make_accelerator_simulator
from .base import AcceleratorSimulator
from .hardware import (ACCELERATOR_METRICS, BASELINE_DESIGN, DATAFLOWS, GLB_BANK_BYTES_PER_CYCLE, PARAMETER_KINDS,
                       PARAMETER_VALUES, PSUM_BYTES, AcceleratorDesign, derived_metrics)
from .layers import COLUMNS, Layer, Workload, WorkloadError, list_workloads, load_workload, parse_workload

__all__ = [
    "AcceleratorSimulator",
    "AnalyticalAccelerator",
    "BatchResult",
    "Breakdown",
    "make_accelerator_simulator",
    "list_backends",
    "BACKENDS",
    "AcceleratorDesign",
    "ACCELERATOR_METRICS",
    "BASELINE_DESIGN",
    "DATAFLOWS",
    "PSUM_BYTES",
    "GLB_BANK_BYTES_PER_CYCLE",
    "PARAMETER_KINDS",
    "PARAMETER_VALUES",
    "derived_metrics",
    "Layer",
    "Workload",
    "WorkloadError",
    "COLUMNS",
    "list_workloads",
    "load_workload",
    "parse_workload",
]
