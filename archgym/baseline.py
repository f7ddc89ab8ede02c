"""Designs against the baseline design, in physical units: what ``archgym run`` and reports print.

A reward such as ArchGym's ``target_distance`` means nothing without its targets; a metric in
nanoseconds means little without the baseline's. :func:`baseline_table` lines up, per metric
that the env scores (its declared objectives and the scalar reward's targets): the unit, the
sense, the baseline design's value, the target (where the scalar reward has one other than the
baseline itself), each given design's value and its change against the baseline in percent,
signed so that a positive ``better_%`` is an improvement whatever the sense.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import pandas as pd


def scored_metrics(env: Any) -> list[tuple[str, str, str]]:
    """``(metric, unit, sense)`` of the env's objectives, then of its scalar reward's other targets."""
    env = getattr(env, "unwrapped", env)
    rows = [(o.metric, o.unit, o.sense) for o in getattr(env, "objectives", ())]
    objective = getattr(env, "objective", None)
    for name, metric in (getattr(objective, "metrics", None) or {}).items():
        if name not in {r[0] for r in rows}:
            rows.append((name, metric.unit, metric.goal))
    return rows


def better_pct(value: float, baseline: float, sense: str) -> float:
    """Improvement over the baseline in percent (positive = better): ``±100·(x − b)/|b|``."""
    if not (math.isfinite(value) and math.isfinite(baseline)) or baseline == 0:
        return math.nan
    change = 100.0 * (value - baseline) / abs(baseline)
    return (change if sense == "maximize" else -change) + 0.0  # + 0.0: no "-0.0"


def baseline_table(env: Any, designs: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """One row per scored metric: unit, sense, baseline, target, and per design label its value and
    ``better_%`` (``designs`` maps a label such as ``"best"`` to that design's metrics).

    The baseline is the env's ``baseline_metrics`` (evaluated here if the env has not yet).
    """
    env = getattr(env, "unwrapped", env)
    baseline = getattr(env, "baseline_metrics", None)
    if baseline is None and hasattr(env, "_baseline_or_raise"):
        try:
            baseline = env._baseline_or_raise()
        except ValueError:
            baseline = None
    baseline = baseline or {}
    objective = getattr(env, "objective", None)
    targets = {} if getattr(objective, "name", "") == "log_ratio" else dict(getattr(objective, "targets", {}) or {})
    records = []
    for metric, unit, sense in scored_metrics(env):
        row: dict[str, Any] = {"metric": metric, "unit": unit, "sense": sense,
                               "baseline": baseline.get(metric, math.nan), "target": targets.get(metric, math.nan)}
        for label, values in designs.items():
            value = float(values.get(metric, math.nan)) if values else math.nan
            row[label] = value
            row[f"{label} better_%"] = better_pct(value, row["baseline"], sense)
        records.append(row)
    return pd.DataFrame.from_records(records)


def format_table(table: pd.DataFrame) -> str:
    """The table as fixed-width text: values with 4 significant digits, percentages signed."""
    def fmt(column: str, value: Any) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "-"
            return f"{value:+.1f}%" if column.endswith("better_%") else f"{value:.4g}"
        return str(value)

    shown = table.rename(columns=lambda c: c.replace(" better_%", " vs baseline"))
    cells = [[fmt(c, v) for c, v in zip(table.columns, row)] for row in table.itertuples(index=False)]
    headers = list(shown.columns)
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
    return "\n".join(lines)
