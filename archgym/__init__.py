"""archgym: Gymnasium environments and agents for ML-driven computer-architecture design space exploration.

``import archgym`` registers every environment with gymnasium::

    import gymnasium as gym, archgym
    env = gym.make("archgym/DRAM-v0", workload="stream")

Importing archgym itself is light: the names below are imported on first use, and the
environments are registered as soon as gymnasium is imported, before or after archgym
(:mod:`archgym._gymnasium_hook`). This keeps the ``archgym`` command's start-up small.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it (imported on first access)
_EXPORTS = {
    "Metric": "archgym.simulator",
    "SimulationError": "archgym.simulator",
    "Simulator": "archgym.simulator",
    "Categorical": "archgym.spaces",
    "DesignSpace": "archgym.spaces",
    "Integer": "archgym.spaces",
    "PowerOfTwo": "archgym.spaces",
    "Real": "archgym.spaces",
    "Values": "archgym.spaces",
    "DSEEnv": "archgym.env",
    "MissingExtraError": "archgym.errors",
    "UserError": "archgym.errors",
    "EnvMetadata": "archgym.registration",
    "list_envs": "archgym.registration",
    "register": "archgym.registration",
    "spec_metadata": "archgym.registration",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from archgym.env import DSEEnv
    from archgym.errors import MissingExtraError, UserError
    from archgym.registration import EnvMetadata, list_envs, register, spec_metadata
    from archgym.simulator import Metric, SimulationError, Simulator
    from archgym.spaces import Categorical, DesignSpace, Integer, PowerOfTwo, Real, Values


def __getattr__(name: str) -> Any:
    """A public name, or a subpackage (``archgym.envs``), imported on first access."""
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif not name.startswith("__"):
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


from archgym import _gymnasium_hook  # noqa: E402

_gymnasium_hook.install()
