"""Run one agent on one environment for a budget of evaluations, logging to a dataset.

This is what ``archgym run`` calls; studies (many runs) build on it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Mapping

import gymnasium as gym

import archgym  # noqa: F401  (registers the environments)
from archgym.agents import RunResult, design_space_of, make_agent
from archgym.canonical import canonical
from archgym.dataset import DatasetWriter
from archgym.recording import RecordEvaluations


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
    run: str | None = None,
) -> RunResult:
    """Make ``env_id``, build ``agent`` on its design space and run it for ``budget`` evaluations.

    With ``dataset`` (a folder or an open writer) every evaluation is recorded there, under
    the run id ``run``. By default each call is a run of its own: ``<run_id(...)>-<8 random hex
    digits>``, the configuration's deterministic id plus a token, so the same command twice
    into one folder gives two runs (steps 0..budget-1 each), never one run with every step
    twice; rows of one configuration still share the id's prefix. (Studies use the bare
    deterministic id: that is how a rerun recognises a finished run.)
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
                    run=run if run is not None else
                    f"{run_id(env_id, env_kwargs, agent, searcher.hyperparameters, seed, budget)}-{secrets.token_hex(4)}",
                    agent=agent,
                    agent_params=searcher.hyperparameters,
                    seed=seed,
                )
            return searcher.run(env, budget, callback=callback)
    finally:
        env.close()
