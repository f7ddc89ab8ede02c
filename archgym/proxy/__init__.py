"""Proxy cost models: learned stand-ins for slow simulators, trained on the shared dataset.

ArchGym showed that a random forest fitted to logged evaluations predicts a simulator's
metrics closely at a fraction of its cost. Here a fitted proxy *is* a
:class:`~archgym.simulator.Simulator`, so ``gym.make(env_id, simulator=proxy)`` runs any agent
on it, and the dataset records the proxy's identity as the simulator.

* :mod:`~archgym.proxy.features`: row selection, design encoding, split by design.
* :mod:`~archgym.proxy.models`: the regressors (``rf``, ``gbt``, ``mlp``) and accuracy scores.
* :mod:`~archgym.proxy.predictors`: fitted models as validated plain arrays, compiled prediction.
* :mod:`~archgym.proxy.archive`: the bounded proxy file (JSON header + raw arrays in a zip).
* :mod:`~archgym.proxy.simulator`: :class:`ProxySimulator`, training and safe save/load.
* :mod:`~archgym.proxy.search`: proxy-assisted search (the proxy proposes, the real simulator confirms).
* :mod:`~archgym.proxy.multifidelity`: a cheap low-fidelity simulator corrected by the nearest real runs.
* :mod:`~archgym.proxy.cli`: ``archgym proxy train|eval|search``.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> submodule; imported on first use so ``archgym --help`` stays fast (PEP 562)
_EXPORTS: dict[str, str] = {
    "FeatureEncoder": "features",
    "Source": "features",
    "select_rows": "features",
    "split_by_design": "features",
    "MODEL_KINDS": "models",
    "make_regressor": "models",
    "score": "models",
    "ProxyError": "simulator",
    "ProxyFormatError": "simulator",
    "ProxySchemaError": "simulator",
    "ProxySimulator": "simulator",
    "env_schema": "simulator",
    "evaluate_proxy": "simulator",
    "fit_proxy": "simulator",
    "train_proxy": "simulator",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"archgym.proxy.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'archgym.proxy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "MODEL_KINDS",
    "FeatureEncoder",
    "ProxyError",
    "ProxyFormatError",
    "ProxySchemaError",
    "ProxySimulator",
    "Source",
    "env_schema",
    "evaluate_proxy",
    "fit_proxy",
    "make_regressor",
    "score",
    "select_rows",
    "split_by_design",
    "train_proxy",
]
