"""A synthetic cost model with a known optimum, for testing and benchmarking search agents.

Real architecture simulators never tell you how far a design is from the best one; this one
does. Its cost is a separable sum over parameters, ``cost(d) = 1 + Σ_i c_i[d_i]``, where each
parameter's table ``c_i`` is drawn once from a seeded generator (values in [0, 1], one entry 0),
so the optimum cost is exactly 1 and is reached by taking every parameter's zero entry. Ordered
(integer) parameters get smooth tables (a bowl around a random centre) so local search can
follow gradients; categorical parameters get unstructured ones. ``regret = cost − 1``.

The default space has 5 categorical and 5 integer parameters of 4 values each: 4^10 = 1,048,576
designs.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from archgym.simulator import Metric, Simulator


class SeparableSimulator(Simulator):
    """``cost = 1 + Σ_i table_i[index of d_i]`` with a known optimum of 1 (see module docstring)."""

    name = "synthetic-separable"
    version = "1"
    metrics = (
        Metric("cost", "units", "minimize", "separable cost; optimum 1"),
        Metric("regret", "units", "minimize", "cost minus the known optimum"),
    )

    def __init__(self, choices: Mapping[str, tuple[Any, ...]], ordered: Mapping[str, bool], function_seed: int = 0) -> None:
        rng = np.random.default_rng(function_seed)
        self.function_seed = function_seed
        self._index: dict[str, dict[Any, int]] = {}
        self._tables: dict[str, np.ndarray] = {}
        for name, values in choices.items():
            n = len(values)
            if ordered[name]:
                centre = rng.integers(n)
                table = (np.arange(n) - centre) ** 2 / max(centre, n - 1 - centre, 1) ** 2
            else:
                table = rng.uniform(0.2, 1.0, size=n)
                table[rng.integers(n)] = 0.0
            self._tables[name] = table
            self._index[name] = {v: i for i, v in enumerate(values)}
        # fixed at construction, as the tables are (an env asks for it on every step)
        self._fingerprint = f"{self.identity}:seed={function_seed}:{sorted((k, len(v)) for k, v in self._index.items())}"

    def optimum(self) -> dict[str, Any]:
        """The design of minimum cost (cost exactly 1)."""
        return {
            name: next(v for v, i in index.items() if self._tables[name][i] == 0.0)
            for name, index in self._index.items()
        }

    def fingerprint(self) -> str:
        """Identity, function seed and the choices' counts: what the cost tables were built from."""
        return self._fingerprint

    def evaluate(self, design: Mapping[str, Any], workload: str) -> dict[str, float]:
        cost = 1.0 + sum(float(self._tables[name][self._index[name][design[name]]]) for name in self._index)
        return {"cost": cost, "regret": cost - 1.0}
