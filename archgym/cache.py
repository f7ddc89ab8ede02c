"""An in-memory LRU cache of simulator results.

Keyed by the simulator's fingerprint (name, version and configuration), the workload's identity and the canonical
design, so identical evaluations are served without re-simulating, and any change of
simulator version or workload content misses. Failures are cached too (as their error
message): a deterministic simulator fails the same way again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Hashable, Mapping


@dataclass(frozen=True)
class CachedResult:
    metrics: dict[str, float] | None
    error: str | None


class EvaluationCache:
    """Least-recently-used map from an evaluation key to a :class:`CachedResult`."""

    def __init__(self, maxsize: int = 100_000) -> None:
        if maxsize < 1:
            raise ValueError(f"cache maxsize must be >= 1, got {maxsize}")
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, CachedResult] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(simulator_fingerprint: str, workload_key: str, design: Mapping[str, Any]) -> Hashable:
        return (simulator_fingerprint, workload_key, tuple(sorted((k, repr(v)) for k, v in design.items())))

    def get(self, key: Hashable) -> CachedResult | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: Hashable, result: CachedResult) -> None:
        self._entries[key] = result
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self.hits = self.misses = 0
