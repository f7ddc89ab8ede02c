"""Accelerator back-ends by name: ``make_accelerator_simulator("analytical" | "zigzag" | "scalesim")``.

=============  ======================================================================  ==========
name           class                                                                   needs
=============  ======================================================================  ==========
``analytical`` :class:`archgym.simulators.accelerator.analytical.AnalyticalAccelerator`  numpy only
``zigzag``     ``archgym.simulators.accelerator.zigzag_backend:ZigZagAccelerator``       ``zigzag``
``scalesim``   ``archgym.simulators.accelerator.scalesim_backend:ScaleSimAccelerator``   ``scalesim``
=============  ======================================================================  ==========

Back-ends are imported only when asked for, so an optional dependency is needed only by the
back-end that uses it. All share :class:`~.base.AcceleratorSimulator`'s design space, workloads
and metrics.
"""

from __future__ import annotations

import importlib
from typing import Any

from archgym.errors import UserError
from archgym.simulator import Simulator

__all__ = ["BACKENDS", "BackendUnavailableError", "list_backends", "make_accelerator_simulator"]

#: back-end name -> "module:Class" (imported lazily)
BACKENDS: dict[str, str] = {
    "analytical": "archgym.simulators.accelerator.analytical:AnalyticalAccelerator",
    "zigzag": "archgym.simulators.accelerator.zigzag_backend:ZigZagAccelerator",
    "scalesim": "archgym.simulators.accelerator.scalesim_backend:ScaleSimAccelerator",
}


class BackendUnavailableError(ImportError, UserError):
    """A back-end whose module or optional dependency is not installed (the message says which)."""


def list_backends() -> list[str]:
    return list(BACKENDS)


def make_accelerator_simulator(backend: str = "analytical", **kwargs: Any) -> Simulator:
    """Construct the back-end called ``backend`` with ``kwargs``.

    An unknown name raises ``ValueError`` listing the known ones; a back-end that cannot be
    imported (its optional dependency missing) raises :class:`BackendUnavailableError`.
    """
    try:
        target = BACKENDS[backend]
    except (KeyError, TypeError):
        raise UserError(f"unknown accelerator backend {backend!r}; expected one of {', '.join(BACKENDS)}") from None
    module_name, _, class_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
        return cls(**kwargs)
    except ImportError as exc:
        if isinstance(exc, BackendUnavailableError):
            raise
        raise BackendUnavailableError(f"accelerator backend {backend!r} is unavailable: {exc}") from exc
