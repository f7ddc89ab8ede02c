"""Canonical JSON: the same value gives the same text in every process, for ids and provenance."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from pathlib import PurePath
from typing import Any, Mapping

import numpy as np


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


def canonical_json(value: Any) -> str:
    """``value`` as compact canonical JSON text (sorted keys, see :func:`canonical`)."""
    return json.dumps(canonical(value), sort_keys=True, separators=(",", ":"))
