"""Pareto dominance, non-dominated sorting, hypervolume and attainment for multi-objective DSE.

One home for the multi-objective arithmetic that envs, study reports, agents and benchmarks
share. The exact algorithms come from `moocore <https://multi-objective.github.io/moocore/>`_
(C implementations: ``O(n log n)`` non-dominated filtering and hypervolume in 2-D and 3-D, exact
WFG-style hypervolume beyond); this module only adds what DSE needs around them:

* **Senses.** Every function takes ``senses``, one of ``"minimize"``/``"maximize"`` per column
  (as :class:`archgym.objectives.ObjectiveSpec` declares them), instead of assuming minimisation.
* **A reference point from the baseline design.** :func:`baseline_reference` makes the baseline
  design's own metric values the reference point, so the hypervolume measures the part of
  objective space that the search found *better than the baseline on every objective*. With
  ``normalise=True`` (:func:`normalise_to_baseline`) every objective is first divided by the
  baseline's value (``x/b`` for a metric to minimise, ``b/x`` for one to maximise, both then
  minimised): the reference becomes ``(1, …, 1)``, the ideal ``(0, …, 0)``, and the hypervolume
  is the dimensionless fraction of that unit box dominated by the front — comparable across
  workloads whose metrics differ by orders of magnitude. 0 means nothing beat the baseline on
  every objective at once.
* **Reference-point checks.** The hypervolume is only defined for points that strictly improve
  on the reference in every objective. :func:`hypervolume` raises a ``ValueError`` naming the
  first front point that does not (``outside="error"``, the default), or counts only the points
  that do (``outside="ignore"``, what the study reports use with the baseline reference).
* **Attainment.** :func:`attainment_surfaces` gives the empirical attainment function's
  k%-surfaces over several runs' fronts (the best, median and worst front a run attains).
"""

from __future__ import annotations

from typing import Literal, Mapping, Sequence

import numpy as np

from archgym.errors import UserError

Sense = Literal["minimize", "maximize"]
_SENSES = ("minimize", "maximize")


def _moocore():
    try:
        import moocore
    except ImportError as exc:  # pragma: no cover - moocore is a dependency
        raise ImportError("archgym.pareto needs moocore: pip install moocore") from exc
    return moocore


def check_senses(senses: Sequence[str], n_objectives: int | None = None) -> tuple[str, ...]:
    """``senses`` as a tuple, each ``"minimize"`` or ``"maximize"``; a ``ValueError`` names a bad one."""
    if isinstance(senses, str):
        senses = (senses,)
    senses = tuple(senses)
    for sense in senses:
        if sense not in _SENSES:
            raise UserError(f"unknown objective sense {sense!r}; expected 'minimize' or 'maximize'")
    if n_objectives is not None and len(senses) != n_objectives:
        raise UserError(f"{len(senses)} sense(s) {senses} for {n_objectives} objective column(s)")
    return senses


def _points(points: np.ndarray | Sequence[Sequence[float]], senses: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, len(tuple(senses)) if not isinstance(senses, str) else 1)
    if array.ndim != 2:
        raise UserError(f"points must be a 2-D array (one row per design), got shape {array.shape}")
    senses = check_senses(senses, array.shape[1])
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise UserError(f"point {bad[0]} has a non-finite value {array[bad[0], bad[1]]!r} in objective {bad[1]}")
    return array, senses


def _minimised(points: np.ndarray, senses: Sequence[str]) -> np.ndarray:
    """Every column turned into one to minimise (maximised columns negated)."""
    sign = np.array([1.0 if s == "minimize" else -1.0 for s in senses])
    return points * sign


def dominates(a: Sequence[float], b: Sequence[float], senses: Sequence[str]) -> bool:
    """``True`` if ``a`` is at least as good as ``b`` in every objective and better in one."""
    pair, senses = _points([a, b], senses)
    x, y = _minimised(pair, senses)
    return bool(np.all(x <= y) and np.any(x < y))


def nondominated(points: np.ndarray | Sequence[Sequence[float]], senses: Sequence[str]) -> np.ndarray:
    """Boolean mask of the points no other point dominates (duplicates of a front point all kept)."""
    array, senses = _points(points, senses)
    if len(array) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(_moocore().is_nondominated(_minimised(array, senses), keep_weakly=True), dtype=bool)


def pareto_front(points: np.ndarray | Sequence[Sequence[float]], senses: Sequence[str]) -> np.ndarray:
    """Indices of the non-dominated points, in input order."""
    return np.flatnonzero(nondominated(points, senses))


def pareto_ranks(points: np.ndarray | Sequence[Sequence[float]], senses: Sequence[str]) -> np.ndarray:
    """Non-dominated sorting (NSGA-II's fronts): rank 0 = the Pareto front, rank 1 = the front once
    rank 0 is removed, and so on. Equal points get equal ranks."""
    array, senses = _points(points, senses)
    if len(array) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(_moocore().pareto_rank(_minimised(array, senses)), dtype=np.int64)


def normalise_to_baseline(
    points: np.ndarray | Sequence[Sequence[float]], baseline: Sequence[float], senses: Sequence[str]
) -> np.ndarray:
    """Points as ratios to the baseline, every column to minimise: ``x/b`` (minimised objective) or
    ``b/x`` (maximised). The baseline maps to 1, a design 10 % better on an objective to ~0.9.

    Needs positive baseline values (a ratio of a zero or negative value means nothing); a
    non-positive value of a maximised objective maps to ``inf`` (infinitely worse).
    """
    array, senses = _points(points, senses)
    base = np.asarray(baseline, dtype=np.float64)
    if base.shape != (array.shape[1],):
        raise UserError(f"baseline has {base.size} value(s) for {array.shape[1]} objective(s)")
    for j, value in enumerate(base):
        if not (np.isfinite(value) and value > 0):
            raise UserError(f"objective {j}: the baseline value {value!r} must be positive and finite to normalise by it")
    out = np.empty_like(array)
    for j, sense in enumerate(senses):
        if sense == "minimize":
            out[:, j] = array[:, j] / base[j]
        else:
            with np.errstate(divide="ignore"):
                out[:, j] = np.where(array[:, j] > 0, base[j] / np.where(array[:, j] > 0, array[:, j], 1.0), np.inf)
    return out


def baseline_reference(baseline: Mapping[str, float], objectives: Sequence[str]) -> np.ndarray:
    """The reference point: the baseline design's value of each objective metric, in order.

    A missing metric is a ``KeyError`` naming it and the metrics the baseline has.
    """
    missing = [m for m in objectives if m not in baseline]
    if missing:
        raise KeyError(f"baseline has no value for objective metric(s) {', '.join(missing)}; it has {', '.join(baseline)}")
    return np.array([float(baseline[m]) for m in objectives], dtype=np.float64)


def _strictly_better(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Mask of (minimised) points strictly better than ``reference`` in every objective."""
    return np.all(points < reference, axis=1)


def hypervolume(
    points: np.ndarray | Sequence[Sequence[float]],
    reference: Sequence[float],
    senses: Sequence[str],
    *,
    outside: Literal["error", "ignore"] = "error",
) -> float:
    """Exact hypervolume dominated by ``points`` and bounded by ``reference`` (moocore).

    Args:
        points: one row per design, one column per objective, in physical units.
        reference: the reference point, e.g. :func:`baseline_reference`. It must be worse than
            every point of the front in every objective (the reference is *dominated by* the front).
        senses: ``"minimize"``/``"maximize"`` per column.
        outside: what to do when a non-dominated point is not strictly better than the reference
            in every objective: ``"error"`` raises a ``ValueError`` naming it; ``"ignore"``
            leaves it out (it dominates no volume inside the reference box).

    Dominated points never change the hypervolume and are not checked.
    """
    array, senses = _points(points, senses)
    ref = np.asarray(reference, dtype=np.float64)
    if ref.shape != (array.shape[1],):
        raise UserError(f"reference point has {ref.size} value(s) for {array.shape[1]} objective(s)")
    if not np.all(np.isfinite(ref)):
        raise UserError(f"reference point must be finite, got {ref.tolist()}")
    if outside not in ("error", "ignore"):
        raise UserError(f"outside must be 'error' or 'ignore', got {outside!r}")
    if len(array) == 0:
        return 0.0
    minimised, ref_min = _minimised(array, senses), _minimised(ref[None, :], senses)[0]
    front = nondominated(array, senses)
    inside = _strictly_better(minimised, ref_min)
    if outside == "error" and not np.all(inside[front]):
        i = int(np.flatnonzero(front & ~inside)[0])
        worse = [j for j in range(len(ref)) if not minimised[i, j] < ref_min[j]]
        raise UserError(
            f"the reference point {ref.tolist()} does not bound the front: front point {i} {array[i].tolist()} "
            f"is not strictly better than it in objective(s) {worse} (senses {list(senses)}); choose a worse "
            "reference point, or pass outside='ignore' to count only the points that beat it"
        )
    kept = minimised[inside]
    if len(kept) == 0:
        return 0.0
    return float(_moocore().hypervolume(kept, ref=ref_min))


def hypervolume_curve(
    points: np.ndarray | Sequence[Sequence[float]],
    reference: Sequence[float],
    senses: Sequence[str],
    *,
    outside: Literal["error", "ignore"] = "ignore",
) -> np.ndarray:
    """Hypervolume of the first ``k`` points for ``k = 1 … n`` (points in evaluation order).

    Non-decreasing by construction; ``outside`` as :func:`hypervolume` (default ``"ignore"``:
    in a search many early designs do not beat the reference). Recomputes only when a point
    enters the front, so it costs ``O(front changes × hypervolume)``.
    """
    array, senses = _points(points, senses)
    curve = np.zeros(len(array))
    ref = np.asarray(reference, dtype=np.float64)
    minimised, ref_min = _minimised(array, senses), _minimised(ref[None, :], senses)[0]
    current = 0.0
    front = np.zeros((0, array.shape[1]))
    for k in range(len(array)):
        point = minimised[k]
        inside = bool(np.all(point < ref_min))
        if not inside and outside == "error":
            hypervolume(array[: k + 1], reference, senses, outside="error")  # raises with the message
        if inside and not np.any(np.all(front <= point, axis=1)):
            front = np.vstack([front[~np.all(point <= front, axis=1)], point])
            current = float(_moocore().hypervolume(front, ref=ref_min))
        curve[k] = current
    return curve


def attainment_surfaces(
    fronts: Sequence[np.ndarray | Sequence[Sequence[float]]],
    senses: Sequence[str],
    percentiles: Sequence[float] = (0.0, 50.0, 100.0),
) -> dict[float, np.ndarray]:
    """The empirical attainment function's surfaces over several runs (moocore's exact EAF).

    The ``p``-% attainment surface is the boundary of the region of objective space that at
    least ``p`` % of the runs reach (some point of the run's front is at least as good):
    ``100`` is the worst-case front (attained by every run), ``50`` the median front, and the
    smallest percentile above 0 (``100/n_runs``) the best case (attained by at least one run;
    ``0`` is read as that). Returns ``{percentile: points}`` with points in the input's units
    and senses, sorted by the first objective.
    """
    if len(fronts) == 0:
        raise UserError("attainment needs at least one run's points")
    arrays = []
    senses_checked: tuple[str, ...] | None = None
    for run in fronts:
        array, senses_checked = _points(run, senses)
        arrays.append(array)
    assert senses_checked is not None
    n_runs = len(arrays)
    wanted = [float(p) for p in percentiles]
    for p in wanted:
        if not 0 <= p <= 100:
            raise UserError(f"percentiles must be within [0, 100], got {p}")
    resolved = {p: max(p, 100.0 / n_runs) for p in wanted}
    nonempty = [(i, a) for i, a in enumerate(arrays) if len(a)]
    out: dict[float, np.ndarray] = {}
    if not nonempty:
        return {p: np.zeros((0, len(senses_checked))) for p in wanted}
    stacked = np.vstack([_minimised(a, senses_checked) for _, a in nonempty])
    sets = np.concatenate([np.full(len(a), i + 1) for i, a in nonempty])
    table = np.asarray(_moocore().eaf(stacked, sets), dtype=np.float64)  # last column: attained %
    levels = table[:, -1] * len(nonempty) / n_runs  # moocore's % is of the runs it saw
    for p, level_wanted in resolved.items():
        # runs with no points attain nothing: the level the data can show is relative to all runs
        level = np.min(levels[levels >= level_wanted - 1e-9]) if np.any(levels >= level_wanted - 1e-9) else None
        surface = table[np.isclose(levels, level), :-1] if level is not None else np.zeros((0, len(senses_checked)))
        surface = _minimised(surface, senses_checked)  # back to the input's senses
        out[p] = surface[np.argsort(surface[:, 0], kind="stable")] if len(surface) else surface
    return out
