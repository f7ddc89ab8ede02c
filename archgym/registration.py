"""Environment registration: gymnasium's registry plus a catalogue of static metadata.

archgym's own ids follow ``archgym/<Name>-v<N>``; bump ``N`` whenever rewards, observations or
dynamics change. Variants are ``gym.make`` keyword arguments, never extra ids. A user's own env
may live in any namespace (``mylab/Cache-v0``) or none (``Cache-v0``).

Every id can carry a *metadata factory*: a light function (``"module:function"``, imported
on first use) returning the env's :class:`EnvMetadata` — design space, declared metrics,
default objective and observed metrics — without constructing the env (no baseline simulation,
no supernet training). :func:`spec_metadata` reads it; ``archgym list envs --details`` and
``archgym describe ID`` show it.
"""

from __future__ import annotations

import importlib
import inspect
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from archgym.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    import gymnasium as gym

    from archgym.simulator import Metric
    from archgym.spaces import DesignSpace


@dataclass(frozen=True)
class EnvMetadata:
    """What an env declares, known without constructing it.

    ``targets`` maps each targeted metric to its default target: a number, or a text saying how
    the env derives it when it is built (e.g. ``"10% below the baseline design"``).
    """

    design_space: DesignSpace
    metrics: tuple[Metric, ...]
    reward: str
    targets: Mapping[str, float | str]
    observed_metrics: tuple[str, ...]
    #: the objectives of the vector reward (metric, sense, unit): :class:`archgym.objectives.ObjectiveSpec`
    objectives: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (``archgym describe --json``)."""
        return {
            "design_space": [
                {"name": p.name, "kind": type(p).__name__, "values": p.describe(), "default": p.default_value()}
                for p in self.design_space
            ],
            "design_space_size": self.design_space.size if math.isfinite(self.design_space.size) else None,
            "metrics": [{"name": m.name, "unit": m.unit, "goal": m.goal, "description": m.description}
                        for m in self.metrics],
            "reward": self.reward,
            "targets": dict(self.targets),
            "observed_metrics": list(self.observed_metrics),
            "objectives": [{"metric": o.metric, "sense": o.sense, "unit": o.unit} for o in self.objectives],
        }


def default_targets_text(reward: str, target_metrics: tuple[str, ...], objectives: tuple[Any, ...],
                         improvement: float) -> dict[str, float | str]:
    """How an env that derives its default targets from its baseline design describes them statically:
    ``log_ratio``/``vector`` rewards are measured against the baseline itself, other rewards against
    targets ``improvement`` below it."""
    if reward in ("log_ratio", "vector"):
        return {o.metric: "the baseline design's value" for o in objectives}
    return {m: f"{improvement:.0%} below the baseline design" for m in target_metrics}


@dataclass(frozen=True)
class EnvEntry:
    """What ``archgym list envs`` shows about a registered environment."""

    id: str
    entry_point: str | Callable[..., gym.Env]
    max_episode_steps: int
    description: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: ``"module:function"`` or a callable returning :class:`EnvMetadata`; ``None`` if not declared
    metadata_factory: str | Callable[..., EnvMetadata] | None = None

    def metadata(self, **env_kwargs: Any) -> EnvMetadata:
        """The env's static metadata (see :func:`spec_metadata`)."""
        if self.metadata_factory is None:
            raise UserError(f"{self.id} declares no static metadata (register it with metadata=...)")
        factory = _resolve(self.metadata_factory)
        accepted = inspect.signature(factory).parameters
        relevant = {k: v for k, v in {**self.kwargs, **env_kwargs}.items() if k in accepted}
        return factory(**relevant)


_CATALOGUE: dict[str, EnvEntry] = {}


def _resolve(target: str | Callable[..., Any]) -> Callable[..., Any]:
    if callable(target):
        return target
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _same_target(a: str | Callable[..., Any] | None, b: str | Callable[..., Any] | None) -> bool:
    """Strings compare by value, callables by identity (a new lambda is a different entry point)."""
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return a is b


def register(
    id: str,
    entry_point: str | Callable[..., gym.Env],
    *,
    max_episode_steps: int,
    description: str,
    kwargs: dict[str, Any] | None = None,
    metadata: str | Callable[..., EnvMetadata] | None = None,
) -> None:
    """Register ``id`` with gymnasium and the catalogue.

    ``entry_point`` is a ``"module:Class"`` string (imported lazily, as archgym's own envs) or
    any callable returning an env (handy for a user's own simulator). ``metadata`` is the env's
    metadata factory (``"module:function"`` or a callable): its parameters are exactly the
    ``gym.make`` keywords that change the design space, metrics or objective.

    Registering an id again with the same entry point is a no-op (importing a package twice
    is harmless); with a different entry point it is an error, never a silent replacement.
    """
    import gymnasium as gym  # here, not at the top: importing archgym.registration stays light

    if not isinstance(id, str) or not id:
        raise UserError(f"env id must be a non-empty string, got {id!r}")
    existing = _CATALOGUE.get(id)
    if existing is not None:
        if _same_target(existing.entry_point, entry_point):
            return
        raise UserError(f"env id {id!r} is already registered with entry point {existing.entry_point!r}; "
                        f"refusing to replace it with {entry_point!r} (choose another id or bump its version)")
    if id in gym.registry:
        spec = gym.registry[id]
        if not _same_target(spec.entry_point, entry_point):
            raise UserError(f"env id {id!r} is already registered with gymnasium (entry point "
                            f"{spec.entry_point!r}); refusing to replace it with {entry_point!r}")
    else:
        gym.register(id=id, entry_point=entry_point, max_episode_steps=max_episode_steps, kwargs=dict(kwargs or {}))
    _CATALOGUE[id] = EnvEntry(id, entry_point, max_episode_steps, description, dict(kwargs or {}), metadata)


def _ensure_catalogue() -> None:
    """Import :mod:`archgym.envs` (which registers archgym's own ids) if nothing has yet."""
    importlib.import_module("archgym.envs")


def list_envs() -> list[EnvEntry]:
    """All environments registered through archgym, sorted by id."""
    _ensure_catalogue()
    return [_CATALOGUE[key] for key in sorted(_CATALOGUE)]


def env_entry(id: str) -> EnvEntry:
    """The catalogue entry of ``id``; an unknown id lists the registered ones."""
    _ensure_catalogue()
    try:
        return _CATALOGUE[id]
    except KeyError:
        raise UserError(f"unknown env {id!r}; expected one of {', '.join(sorted(_CATALOGUE))}") from None


#: keywords ``gym.make`` itself takes (not passed to the env)
_MAKE_KEYWORDS: tuple[str, ...] = ("max_episode_steps", "disable_env_checker")


def _import_module_of(id: str) -> str:
    """Gymnasium's ``"module:Env-v0"`` form: import ``module`` (which registers the env) and return
    the bare id, as ``gym.make`` does."""
    if ":" not in id:
        return id
    module, _, name = id.partition(":")
    importlib.import_module(module)
    return name


def check_env_kwargs(id: str, env_kwargs: Mapping[str, Any]) -> None:
    """Refuse ``gym.make`` keywords that env ``id``'s entry point does not take, naming the ones it
    does (instead of the ``TypeError`` construction would raise). Imports the env's module only."""
    import gymnasium as gym

    _ensure_catalogue()
    spec = gym.spec(_import_module_of(id))  # an unknown id raises gymnasium's own error, naming it
    entry_point = _resolve(spec.entry_point)
    parameters = inspect.signature(entry_point).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    accepted = [name for name, p in parameters.items()
                if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    accepted += [name for name in _MAKE_KEYWORDS if name not in accepted]
    unknown = [name for name in env_kwargs if name not in accepted]
    if unknown:
        raise UserError(f"{id} takes no keyword(s) {', '.join(map(repr, unknown))}; expected some of {', '.join(accepted)}")


def spec_metadata(id: str, **env_kwargs: Any) -> EnvMetadata:
    """The design space, metrics and default objective of env ``id`` without constructing it.

    ``env_kwargs`` are ``gym.make`` keywords; those that do not change the schema are ignored.
    """
    return env_entry(id).metadata(**env_kwargs)


def declared_metadata(id: str, env_kwargs: Mapping[str, Any] | None = None) -> EnvMetadata | None:
    """:func:`spec_metadata` for ids registered through archgym with a metadata factory, else
    ``None`` (the caller then builds the env to learn its schema)."""
    _ensure_catalogue()
    entry = _CATALOGUE.get(_import_module_of(id))
    if entry is None or entry.metadata_factory is None:
        return None
    return entry.metadata(**dict(env_kwargs or {}))
