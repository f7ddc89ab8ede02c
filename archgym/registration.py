"""Environment registration: gymnasium's registry plus a small catalogue for listing.

Ids follow ``archgym/<Name>-v<N>``; bump ``N`` whenever rewards, observations or dynamics
change. Variants are ``gym.make`` keyword arguments, never extra ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import gymnasium as gym


@dataclass(frozen=True)
class EnvEntry:
    """What ``archgym list envs`` shows about a registered environment."""

    id: str
    entry_point: str | Callable[..., gym.Env]
    max_episode_steps: int
    description: str
    kwargs: dict[str, Any] = field(default_factory=dict)


_CATALOGUE: dict[str, EnvEntry] = {}


def register(
    id: str,
    entry_point: str | Callable[..., gym.Env],
    *,
    max_episode_steps: int,
    description: str,
    kwargs: dict[str, Any] | None = None,
) -> None:
    """Register ``id`` with gymnasium and the catalogue.

    ``entry_point`` is a ``"module:Class"`` string (imported lazily, as archgym's own envs) or
    any callable returning an env (handy for a user's own simulator).
    """
    if not id.startswith("archgym/"):
        raise ValueError(f"archgym env ids live in the 'archgym/' namespace, got {id!r}")
    if id in _CATALOGUE:
        return  # importing the package twice must not re-register
    gym.register(id=id, entry_point=entry_point, max_episode_steps=max_episode_steps, kwargs=dict(kwargs or {}))
    _CATALOGUE[id] = EnvEntry(id, entry_point, max_episode_steps, description, dict(kwargs or {}))


def list_envs() -> list[EnvEntry]:
    """All archgym environments, sorted by id."""
    return [_CATALOGUE[key] for key in sorted(_CATALOGUE)]
