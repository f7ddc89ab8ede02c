"""Log every evaluation an environment performs to the shared dataset.

:class:`RecordEvaluations` is a gymnasium wrapper (like ``RecordEpisodeStatistics``): whoever
drives the env — an agent's ask/tell loop, an RL library, a notebook — every ``step`` becomes
one dataset record with the run's identity (study, run, agent, hyperparameters, seed) and the
env's provenance (:func:`env_provenance`: what the results depend on besides the design).
"""

from __future__ import annotations

import inspect
import json
import time
from datetime import datetime, timezone
from typing import Any, Mapping

import gymnasium as gym

from archgym.canonical import canonical, canonical_json
from archgym.dataset import DatasetWriter, setup_id

#: ``gym.make`` keywords that change speed or presentation, never results: left out of a setup
RUNTIME_ENV_KWARGS: frozenset[str] = frozenset({"cache", "render_mode"})


def _entry_point(spec: gym.envs.registration.EnvSpec) -> Any:
    if callable(spec.entry_point):
        return spec.entry_point
    return gym.envs.registration.load_env_creator(spec.entry_point)


def canonical_env_kwargs(spec: gym.envs.registration.EnvSpec | None) -> dict[str, Any]:
    """The env's ``gym.make`` keywords as canonical JSON data, defaults filled in.

    The keywords given (registration defaults plus the caller's) are bound to the entry
    point's signature and its defaults applied, so ``gym.make(id)`` and ``gym.make(id,
    device=<the default device>)`` give the same kwargs. Runtime-only keywords
    (:data:`RUNTIME_ENV_KWARGS`) are left out. A simulator object becomes its name, version
    and type (its configuration is in the fingerprint).
    """
    if spec is None:
        return {}
    given = dict(spec.kwargs or {})
    try:
        signature = inspect.signature(_entry_point(spec))
        bound = signature.bind_partial(**given)
        bound.apply_defaults()
        full: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            kind = signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                full.update(value)
            elif kind is not inspect.Parameter.VAR_POSITIONAL:
                full[name] = value
    except (TypeError, ValueError, ImportError, AttributeError, gym.error.Error):
        full = given  # an entry point without a usable signature: the keywords as given
    result = {}
    for name, value in sorted(full.items()):
        if name in RUNTIME_ENV_KWARGS:
            continue
        try:
            result[name] = canonical(value)
        except TypeError:
            result[name] = {"unrecordable": f"{type(value).__module__}.{type(value).__qualname__}"}
    return result


def describe_objective(objective: Any) -> dict[str, Any]:
    """The objective's name, targets, weights, senses (per metric), failure reward and options."""
    metrics = getattr(objective, "metrics", {}) or {}
    description: dict[str, Any] = {
        "name": getattr(objective, "name", type(objective).__name__),
        "type": f"{type(objective).__module__}.{type(objective).__qualname__}",
        "targets": dict(getattr(objective, "targets", {}) or {}),
        "weights": dict(getattr(objective, "weights", {}) or {}),
        "senses": {name: getattr(metric, "goal", None) for name, metric in dict(metrics).items()},
        "failure_reward": getattr(objective, "failure_reward", None),
    }
    options = {
        key: value
        for key, value in vars(objective).items()
        if not key.startswith("_") and key not in description and key != "metrics"
        and isinstance(value, (bool, int, float, str))
    }
    if options:
        description["options"] = options
    return canonical(description)


def env_provenance(env: gym.Env) -> dict[str, str]:
    """The dataset's provenance fields of ``env``: the setup fields, ``setup`` and ``archgym_version``."""
    from archgym import __version__

    unwrapped = env.unwrapped
    simulator = unwrapped.simulator
    workload_key = getattr(unwrapped, "workload_key", None)
    fields = {
        "env_id": env.spec.id if env.spec is not None else type(unwrapped).__name__,
        "env_kwargs": json.dumps(canonical_env_kwargs(env.spec), sort_keys=True, separators=(",", ":")),
        "simulator_fingerprint": str(simulator.fingerprint()),
        "workload_key": str(workload_key if workload_key is not None else simulator.workload_key(unwrapped.workload)),
        "objective": canonical_json(describe_objective(unwrapped.objective)),
    }
    return {**fields, "setup": setup_id(fields), "archgym_version": __version__}


def design_key(design: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """A hashable identity of a design (the same one the evaluation cache uses)."""
    return tuple(sorted((str(k), repr(v)) for k, v in design.items()))


class RecordEvaluations(gym.Wrapper):
    """Append one record per ``step`` to a :class:`~archgym.dataset.DatasetWriter`.

    Each record carries the run's identity, the env's provenance (:func:`env_provenance`) and
    ``new_design``: False when this wrapper has already recorded the same design (the run
    revisits it; the evaluation cache usually serves such a step without simulating).
    """

    def __init__(
        self,
        env: gym.Env,
        writer: DatasetWriter,
        *,
        study: str = "adhoc",
        run: str = "run",
        agent: str = "",
        agent_params: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(env)
        self.writer = writer
        self._identity = {
            "study": study,
            "run": run,
            **env_provenance(env),
            "simulator": env.unwrapped.simulator.name,
            "simulator_version": env.unwrapped.simulator.version,
            "agent": agent,
            "agent_params": json.dumps(dict(agent_params or {}), sort_keys=True, default=str),
            "seed": seed,
        }
        self.steps = 0
        self._seen: set[tuple[tuple[str, str], ...]] = set()

    @property
    def setup(self) -> str:
        """The setup id recorded with every row (see :mod:`archgym.dataset.setups`)."""
        return self._identity["setup"]

    def step(self, action: Any):
        start = time.perf_counter()
        observation, reward, terminated, truncated, info = self.env.step(action)
        key = design_key(info["design"])
        new = key not in self._seen
        self._seen.add(key)
        self.writer.append(
            {
                **self._identity,
                "workload": str(info["workload"]),
                "step": self.steps,
                "reward": float(reward),
                "feasible": bool(info["feasible"]),
                "new_design": new,
                "error": info["error"],
                "wall_time_s": time.perf_counter() - start,
                "timestamp": datetime.now(timezone.utc),
                "design": info["design"],
                "metrics": info["metrics"],
            }
        )
        self.steps += 1
        return observation, reward, terminated, truncated, info
