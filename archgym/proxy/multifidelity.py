"""Multi-fidelity proxy: a cheap low-fidelity simulator corrected by the nearest real simulations.

A learned proxy fitted on ~100 scattered designs predicts metrics to tens of percent, and a
needle-shaped reward such as ArchGym's ``target_distance`` (GA's best Accelerator-v0/ZigZag
design is within 0.6 % of both targets) needs them to well under one percent. A cheap
simulator of the same design space -- archgym's analytical accelerator model for ZigZag on
ResNet-18 -- is no better globally: the log-ratio ZigZag / analytical of whole-network latency
has a standard deviation of 0.34 and of energy 0.26 over 454 designs (random ones and ones the
analytical model puts near the targets). But that *error* is smooth: over the 59 one-step
neighbours of four near-target designs, carrying over the log-ratio of the design next door
predicted ZigZag's latency with a median error of 0.5 % and its energy of 0.3 %, both within
1 % for half of them. So the real metrics of a design are predicted as

    log m_real(d) ≈ log m_low(d) + gap(nearest real designs to d),   gap = log m_real − log m_low,

with "nearest" counted in parameters that differ (Hamming distance) and ties averaged: an
additive fidelity-gap correction in log space whose reference is the closest real simulation
(the discrete analogue of Kennedy & O'Hagan's additive discrepancy, with a nearest-neighbour
discrepancy model). Its uncertainty is measured, not assumed: :meth:`FidelityGap.sigma` is, per
distance ``k``, the RMS difference of the gaps of real design pairs ``k`` parameters apart (how
wrong the correction was on the designs already simulated), made non-decreasing in ``k``.

* :class:`LowFidelity`: a simulator + workload evaluated in batches, log metrics with NaN
  for designs it cannot evaluate; an env (``gym.make(id, backend="analytical")``) gives both.
* :class:`FidelityGap`: the correction fitted on real evaluations; predicts log metrics and
  their standard deviation for many candidates at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from archgym.errors import UserError
from archgym.simulator import SimulationError, Simulator
from archgym.spaces import DesignSpace

#: distance-1 standard deviation of the log fidelity gap used until real pairs measure it (10 %)
DEFAULT_SIGMA = 0.1
#: fewest real design pairs at one distance for their RMS to count as a measurement
MIN_PAIRS = 3


class LowFidelity:
    """A cheap simulator of the same design space, evaluated in batches (see module docstring).

    ``log_metrics(designs)`` returns ``(n, len(metrics))`` log metric values, NaN where the
    low-fidelity simulator cannot evaluate a design (or reports a non-positive value). A
    simulator offering ``evaluate_arrays`` (archgym's analytical accelerator: metrics as arrays
    with NaN for unmappable designs, ~1e5 designs/s) is called through it; any other through
    ``evaluate_batch``, design by design where a batch raises. Results are cached per design.
    """

    def __init__(self, simulator: Simulator, workload: str, metrics: Sequence[str], space: DesignSpace) -> None:
        declared = set(simulator.metric_names)
        missing = [m for m in metrics if m not in declared]
        if missing:
            raise UserError(f"the low-fidelity simulator {simulator.identity} does not report {', '.join(missing)}; "
                            f"it declares {', '.join(sorted(declared))}")
        self.simulator = simulator
        self.workload = workload
        self.metrics = tuple(metrics)
        self.space = space
        self._cache: dict[tuple, np.ndarray] = {}

    @classmethod
    def from_env(cls, env: gym.Env, metrics: Sequence[str], space: DesignSpace) -> "LowFidelity":
        """The simulator and workload of archgym env ``env`` (its design space must equal ``space``)."""
        base = env.unwrapped
        simulator, workload = getattr(base, "simulator", None), getattr(base, "workload", None)
        low_space = getattr(base, "design_space", None)
        if not isinstance(simulator, Simulator) or not isinstance(low_space, DesignSpace):
            raise UserError(f"a low-fidelity model must be an archgym env with a simulator, got {type(base).__name__}")
        if low_space.names != space.names:
            raise UserError(f"the low-fidelity env's design space ({', '.join(low_space.names)}) differs from the "
                            f"searched one ({', '.join(space.names)})")
        return cls(simulator, workload, metrics, space)

    def log_metrics(self, designs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        keys = [design_key(d) for d in designs]
        todo: dict[tuple, Mapping[str, Any]] = {}
        for key, design in zip(keys, designs):
            if key not in self._cache:
                todo.setdefault(key, design)
        if todo:
            for key, row in zip(todo, self._evaluate(list(todo.values()))):
                self._cache[key] = row
        out = np.empty((len(designs), len(self.metrics)))
        for i, key in enumerate(keys):
            out[i] = self._cache[key]
        return out

    def _evaluate(self, designs: list[Mapping[str, Any]]) -> np.ndarray:
        values = np.full((len(designs), len(self.metrics)), np.nan)
        arrays = getattr(self.simulator, "evaluate_arrays", None)
        if callable(arrays):
            result = arrays(designs, self.workload)
            for j, m in enumerate(self.metrics):
                values[:, j] = np.where(result.feasible, result.metrics[m], np.nan)
        else:
            try:
                rows: list[Any] = list(self.simulator.evaluate_batch(designs, self.workload))
            except SimulationError:
                rows = []
                for design in designs:
                    try:
                        rows.append(self.simulator.evaluate(design, self.workload))
                    except SimulationError as exc:
                        rows.append(exc)
            for i, row in enumerate(rows):
                if not isinstance(row, SimulationError):
                    values[i] = [float(row[m]) for m in self.metrics]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)


def design_key(design: Mapping[str, Any]) -> tuple:
    """A hashable identity of a design (parameter order does not matter)."""
    return tuple(sorted((k, str(v)) for k, v in design.items()))


class DesignCodes:
    """Designs as integer matrices (one column per parameter) for fast Hamming distances."""

    def __init__(self, space: DesignSpace) -> None:
        self.names = tuple(space.names)
        self._codes: list[dict[str, int]] = [{} for _ in self.names]

    def __call__(self, designs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        out = np.empty((len(designs), len(self.names)), dtype=np.int32)
        for j, (name, codes) in enumerate(zip(self.names, self._codes)):
            for i, design in enumerate(designs):
                out[i, j] = codes.setdefault(str(design[name]), len(codes))
        return out


class FidelityGap:
    """``log m_real − log m_low`` of the real evaluations, carried to candidates by their nearest
    real designs (module docstring). Fit with the real designs' codes and both log metrics."""

    def __init__(self, codes: np.ndarray, low: np.ndarray, real: np.ndarray) -> None:
        if len(codes) == 0:
            raise ValueError("the fidelity gap needs at least one real evaluation")
        self.codes = np.asarray(codes)
        self.gap = np.asarray(real, dtype=float) - np.asarray(low, dtype=float)
        self.sigma_by_distance = self._sigma_table()

    def _sigma_table(self) -> np.ndarray:
        """``table[k]``: standard deviation of the gap transferred over ``k`` parameters
        (``table[0] = 0``: a simulated design is known), per metric, non-decreasing in ``k``."""
        n, p = self.codes.shape
        table = np.full((p + 1, self.gap.shape[1]), np.nan)
        table[0] = 0.0
        if n > 1:
            i, j = np.triu_indices(n, 1)
            distance = (self.codes[i] != self.codes[j]).sum(axis=1)
            diff = self.gap[i] - self.gap[j]
            for k in range(1, p + 1):
                at = distance == k
                if at.sum() >= MIN_PAIRS:
                    table[k] = np.sqrt((diff[at] ** 2).mean(axis=0))
        measured = [k for k in range(1, p + 1) if np.isfinite(table[k]).all()]
        for m in range(table.shape[1]):
            if not measured:  # nothing measured yet: DEFAULT_SIGMA per parameter changed
                table[1:, m] = DEFAULT_SIGMA * np.arange(1, p + 1)
                continue
            first = measured[0]
            for k in range(1, first):  # closer than any measured pair: scale down linearly
                table[k, m] = table[first, m] * k / first
            for k in range(first + 1, p + 1):  # unmeasured beyond: the last measured value
                if not np.isfinite(table[k, m]):
                    table[k, m] = table[k - 1, m]
            table[:, m] = np.maximum.accumulate(table[:, m])
        return table

    def predict(self, codes: np.ndarray, low: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predicted log metrics, their standard deviations and the distance to the nearest real
        design, for candidates given by their codes and low-fidelity log metrics."""
        codes = np.asarray(codes)
        mean = np.empty((len(codes), self.gap.shape[1]))
        distance = np.empty(len(codes), dtype=np.int64)
        for start in range(0, len(codes), chunk):
            block = codes[start:start + chunk]
            d = (block[:, None, :] != self.codes[None, :, :]).sum(axis=2)  # (block, real)
            nearest = d.min(axis=1)
            ties = d == nearest[:, None]
            mean[start:start + chunk] = (ties @ self.gap) / ties.sum(axis=1, keepdims=True)
            distance[start:start + chunk] = nearest
        return low + mean, self.sigma_by_distance[distance], distance


def expected_reward(objective: Any, metrics: Sequence[str], mean: np.ndarray, sigma: np.ndarray,
                    draws: np.ndarray) -> np.ndarray:
    """Monte-Carlo mean of ``objective`` over log-normal metric draws ``exp(mean + sigma * z)``,
    one value per row; ``draws`` (``(samples, metrics)`` standard normals) is shared by all rows
    so that candidates are ranked on common random numbers."""
    out = np.empty(len(mean))
    for i in range(len(mean)):
        values = np.exp(mean[i] + sigma[i] * draws)
        out[i] = sum(objective(dict(zip(metrics, row))) for row in values.tolist()) / len(values)
    return out


def finite_rows(values: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``values`` with every entry finite."""
    return np.isfinite(values).all(axis=1) if values.size else np.zeros(len(values), dtype=bool)


__all__ = ["DEFAULT_SIGMA", "DesignCodes", "FidelityGap", "LowFidelity", "design_key", "expected_reward",
           "finite_rows"]
