"""``import archgym`` registers archgym's environments with gymnasium, without importing gymnasium.

Registering needs gymnasium's registry, and importing gymnasium (with numpy) costs more than
everything else a light command of the ``archgym`` CLI does (``--help``, ``simulate``). So
:func:`install` registers at once when gymnasium is already imported, and otherwise adds one
finder to ``sys.meta_path`` that waits for gymnasium's own import: it lets the normal
machinery find and load gymnasium, then imports :mod:`archgym.envs` (whose ``register`` calls
fill gymnasium's registry) before ``import gymnasium`` returns, and removes itself. Either way,
by the time user code can call ``gym.make("archgym/...")``, the ids are there.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any, Sequence

# the finder and loader below follow importlib's protocols by duck typing: subclassing
# importlib.abc's classes would import importlib.resources (tempfile, shutil, ...) at start-up

_TRIGGER = "gymnasium"


def register_envs() -> None:
    """Import :mod:`archgym.envs`: each ``register`` call there adds one id to gymnasium's registry."""
    importlib.import_module("archgym.envs")


def install() -> None:
    """Register now if gymnasium is imported, else right after gymnasium's import (once)."""
    if _TRIGGER in sys.modules:
        register_envs()
    elif not any(isinstance(finder, _AfterGymnasium) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterGymnasium())


class _AfterGymnasium:
    """Finds nothing itself: wraps gymnasium's real loader so that registration follows its import."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname != _TRIGGER:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # one use; the real finders do the finding
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _RegisterAfter(spec.loader)
        return spec


class _RegisterAfter:
    """gymnasium's own loader, followed by :func:`register_envs`."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader  # the module keeps its real loader (resources, reload)
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        register_envs()
