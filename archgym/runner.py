"""Run one agent on one environment for a budget of evaluations, logging to a dataset.

This is what ``archgym run`` calls; studies (many runs) build on it.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
from contextlib import ExitStack
from pathlib import Path, PurePath
from typing import Any, Callable, Mapping

import gymnasium as gym
import numpy as np

import archgym  # noqa: F401  (registers the environments)
from archgym.agents import RunResult, design_space_of, make_agent
from archgym.dataset import DatasetWriter
from archgym.recording import RecordEvaluations


def canonical(value: Any) -> Any:
    """``value`` as plain JSON data that is the same in every process, for hashing into ids.

    ``json.dumps(default=str)`` is not enough: an object's default ``str`` holds its memory
    address, so an id built from it changes from run to run. Here mappings get sorted string
    keys, tuples and sets become lists, NumPy scalars and arrays become numbers, paths become
    text, a simulator (anything with ``name`` and ``version``) becomes ``{"simulator": name,
    "version": version}`` -- what its results depend on -- and other objects become their
    class's qualified name plus their canonical attributes. Anything else raises ``TypeError``
    naming the value, rather than producing an id that would never match again.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (np.generic, np.ndarray)):
        return canonical(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda item: str(item[0]))}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, enum.Enum):
        return canonical(value.value)
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    name, version = getattr(value, "name", None), getattr(value, "version", None)
    if isinstance(name, str) and isinstance(version, str):
        return {"simulator": name, "version": version, "type": kind}
    if isinstance(value, type) or callable(value) and hasattr(value, "__qualname__"):
        return {"callable": f"{value.__module__}.{value.__qualname__}"}
    if dataclasses.is_dataclass(value):
        return {"type": kind, "fields": canonical(dataclasses.asdict(value))}
    if hasattr(value, "__dict__"):
        public = {k: v for k, v in vars(value).items() if not k.startswith("_")}
        return {"type": kind, "attributes": canonical(public)}
    raise TypeError(f"cannot form a stable run id from {value!r} ({kind}); pass JSON-like values (numbers, text, lists, dicts)")


def run_id(env_id: str, env_kwargs: Mapping[str, Any], agent: str, agent_params: Mapping[str, Any], seed: int | None, budget: int) -> str:
    """A deterministic id for a run: the same configuration always gets the same id.

    Stable across processes and machines (see :func:`canonical`): studies rely on it to
    recognise finished runs when they are resumed.
    """
    payload = json.dumps(
        canonical({"env": env_id, "env_kwargs": env_kwargs, "agent": agent, "params": agent_params, "seed": seed, "budget": budget}),
        sort_keys=True,
    )
    return f"{agent}-{hashlib.sha256(payload.encode()).hexdigest()[:12]}"


def run_agent(
    env_id: str,
    agent: str,
    budget: int,
    *,
    seed: int | None = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    agent_params: Mapping[str, Any] | None = None,
    dataset: str | Path | DatasetWriter | None = None,
    study: str = "adhoc",
    callback: Callable[[int, dict, float, Mapping[str, Any]], None] | None = None,
) -> RunResult:
    """Make ``env_id``, build ``agent`` on its design space and run it for ``budget`` evaluations.

    With ``dataset`` (a folder or an open writer) every evaluation is recorded there.
    """
    env_kwargs = dict(env_kwargs or {})
    env = gym.make(env_id, **env_kwargs)
    try:
        searcher = make_agent(agent, design_space_of(env), seed=seed, **dict(agent_params or {}))
        with ExitStack() as stack:
            if dataset is not None:
                writer = dataset if isinstance(dataset, DatasetWriter) else stack.enter_context(DatasetWriter(dataset))
                env = RecordEvaluations(
                    env,
                    writer,
                    study=study,
                    run=run_id(env_id, env_kwargs, agent, searcher.hyperparameters, seed, budget),
                    agent=agent,
                    agent_params=searcher.hyperparameters,
                    seed=seed,
                )
            return searcher.run(env, budget, callback=callback)
    finally:
        env.close()
