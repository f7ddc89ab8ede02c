"""Exceptions that say *whose* mistake it is, and the one way archgym imports optional packages.

* :class:`UserError` — a bad value, file or name supplied by the user (an unknown env id,
  an out-of-range design parameter, a malformed trace). It subclasses :class:`ValueError`,
  so library callers that catch ``ValueError`` keep working; the ``archgym`` command prints
  it as one line and exits with status 2. Anything else escaping a command is a bug and is
  shown with its traceback.
* :class:`MissingExtraError` — an optional dependency is not installed. Raised by
  :func:`import_optional`, the single helper every optional import goes through, with the
  ``pip install 'archgym[<extra>]'`` line that fixes it.

This module imports nothing beyond the standard library: the CLI and every package import it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: extra -> what it enables (the extras are declared in pyproject.toml's optional-dependencies)
EXTRAS: dict[str, str] = {
    "rl": "reinforcement-learning agents (ppo, a2c, dqn): torch, stable-baselines3",
    "nas": "weight-sharing supernets and zero-cost proxies (archgym/Supernet-v0, NASBench201-v0 metric=): torch",
    "bo": "the Bayesian-optimisation agent (bo): scipy",
    "skopt": "DesignSpace.to_skopt (scikit-optimize dimensions): scikit-optimize",
    "optuna": "Optuna's samplers as agents (optuna_tpe, optuna_cmaes, optuna_gp, optuna_qmc, optuna_nsga2): optuna, cmaes",
    "marl": "the multi-agent env and agent (marl): pettingzoo, torch",
    "proxy": "proxy cost models (archgym proxy train|eval): scikit-learn",
    "ray": "the Ray study backend (archgym lottery --backend ray)",
    "plot": "lottery report plots: matplotlib",
    "zigzag": "the ZigZag accelerator back-end",
    "scalesim": "the SCALE-Sim accelerator back-end",
    "query": "SQL over a dataset folder (archgym.dataset.query): duckdb",
}


class UserError(ValueError):
    """A mistake in what the user supplied (value, file, name): one line, no traceback, exit 2."""


class MissingExtraError(ImportError, UserError):
    """An optional dependency is missing; the message names the ``pip install`` that fixes it.

    An :class:`ImportError` first (``except ImportError`` catches it); also a :class:`UserError`,
    because the user fixes it and the CLI reports it in one line."""

    def __init__(self, module: str, extra: str, purpose: str | None = None) -> None:
        self.module = module
        self.extra = extra
        needs = f"{purpose} needs the optional package {module!r}, which is" if purpose else \
            f"the optional package {module!r} is"
        super().__init__(f"{needs} not installed: pip install 'archgym[{extra}]'", name=module)


def import_optional(module: str, extra: str, purpose: str | None = None) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` naming ``archgym[extra]``.

    Only a *missing* module is translated (``ModuleNotFoundError``, including one missing
    deeper in ``module``'s own imports); any other import failure propagates unchanged, since
    it is a broken installation or a bug, not a missing extra (as is a missing archgym module).
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; expected one of {', '.join(EXTRAS)}")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or module
        if missing.partition(".")[0] == "archgym":
            raise  # one of archgym's own modules is missing: a broken install or a bug
        raise MissingExtraError(missing.partition(".")[0], extra, purpose) from exc


__all__ = ["EXTRAS", "MissingExtraError", "UserError", "import_optional"]
