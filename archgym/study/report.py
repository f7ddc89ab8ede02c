"""The lottery report: what each agent finds at a fixed budget, over draws and seeds.

Built from the dataset alone (any study's rows, wherever they were computed). All agents are
compared at the same budget: the shortest run length among the study's runs (every run of a
:class:`~archgym.study.Study` has the same budget, so normally that budget). The outcome of a
run is its *best-found reward*: the maximum reward over its evaluations.

Tables (pandas DataFrames):

* ``summary`` — per agent: runs, distinct hyperparameter draws, seeds; the distribution of
  outcomes (median, 25th/75th percentile, IQR, best, worst); ``p_beats_random``: the
  probability that one of the agent's runs beats one random-search run,
  ``P(X > Y) + ½·P(X = Y)`` over all pairs (the Mann–Whitney common-language effect size);
  ``rel_improvement_pct``: the relative improvement of the agent's median outcome over random
  search's, ``100·(median − median_random) / |median_random|`` (Yang et al., "NAS evaluation is
  frustratingly hard", ICLR 2020; ``NaN`` when the baseline median is 0).
  ``unique_designs``: the median number of distinct designs a run evaluated (agents revisit
  designs; the rest of the budget bought nothing new); ``infeasible_pct``: the share of the
  agent's evaluations that failed (infeasible or not simulable designs).
* ``runs`` — per run: agent, hyperparameters, seed, evaluations, distinct designs, infeasible
  evaluations, best reward and when it was found.
* ``draws`` — per agent and hyperparameter setting: the outcome over its seeds (the lottery).
* ``curves`` — per agent and evaluation count: median and IQR over runs of the best-so-far reward.
* ``best_designs`` — per agent, its best evaluation with its design and metrics.

Plots (PNG, with ``write``): ``outcomes.png`` (box plot of outcomes per agent, every run as a
dot, the random-search median as a line) and ``best_so_far.png`` (median best-so-far curve with
its IQR band per agent).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from archgym.dataset import DESIGN_PREFIX, METRIC_PREFIX, load, require_one_setup
from archgym.dataset.reader import register_non_shards
from archgym.errors import UserError, import_optional
from archgym.study.spec import BASELINE_AGENT, Study

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


@dataclass
class LotteryReport:
    """The report's tables (see the module docstring) and the budget they compare at."""

    study: str
    budget: int
    summary: pd.DataFrame
    runs: pd.DataFrame
    draws: pd.DataFrame
    curves: pd.DataFrame
    best_designs: pd.DataFrame

    def to_text(self) -> str:
        """The summary as a short fixed-width table."""
        columns = ["runs", "draws", "median", "iqr", "best", "worst", "p_beats_random", "rel_improvement_pct",
                   "unique_designs", "infeasible_pct"]
        table = self.summary[columns].rename(columns={
            "p_beats_random": "P(>random)", "rel_improvement_pct": "vs random %", "unique_designs": "unique designs",
            "infeasible_pct": "infeasible %"})
        text = table.to_string(float_format=lambda v: f"{v:.4g}")
        failed, total = self.infeasible
        share = f"{100 * failed / total:.1f} %" if total else "-"
        return (f"study {self.study}: best reward found in {self.budget} evaluations\n{text}\n"
                f"infeasible evaluations: {failed} of {total} ({share})")

    @property
    def infeasible(self) -> tuple[int, int]:
        """(infeasible evaluations, all evaluations) over the compared runs."""
        return int(self.runs["infeasible"].sum()), int(self.runs["evaluations"].sum())

    def write(self, folder: str | os.PathLike[str]) -> dict[str, Path]:
        """Write every table as CSV and both plots as PNG into ``folder``; return the paths by name."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for name in ("summary", "runs", "draws", "curves", "best_designs"):
            path = out / f"{name}.csv"
            getattr(self, name).to_csv(path, index=name == "summary")
            paths[name] = path
        for name, figure in (("outcomes", self.plot_outcomes()), ("best_so_far", self.plot_curves())):
            path = out / f"{name}.png"
            figure.savefig(path, dpi=120, bbox_inches="tight")
            paths[name] = path
        # listed as archgym's own non-data files, so the folder still loads if it is also a dataset folder
        register_non_shards(out, [p.name for p in paths.values()])
        return paths

    # -- plots ----------------------------------------------------------------------------
    def plot_outcomes(self) -> Figure:
        """Box plot of best-found reward per agent (every run a dot; random-search median dashed)."""
        figure = _figure()
        ax = figure.subplots()
        agents = list(self.summary.index)
        groups = [self.runs.loc[self.runs["agent"] == a, "best_reward"].to_numpy() for a in agents]
        ax.boxplot(groups, tick_labels=agents, showfliers=False)
        jitter = np.random.default_rng(0)  # fixed: the same report draws the same picture
        for i, values in enumerate(groups, start=1):
            ax.plot(i + jitter.uniform(-0.12, 0.12, len(values)), values, "o", ms=3, alpha=0.5, color="tab:blue")
        if BASELINE_AGENT in self.summary.index:
            ax.axhline(self.summary.loc[BASELINE_AGENT, "median"], ls="--", color="grey", lw=1, label="random search (median)")
            ax.legend(loc="best", fontsize=8)
        ax.set_ylabel(f"best reward in {self.budget} evaluations")
        ax.set_title(f"hyperparameter lottery: {self.study}")
        return figure

    def plot_curves(self) -> Figure:
        """Median best-so-far reward against evaluations per agent, with the IQR shaded."""
        figure = _figure()
        ax = figure.subplots()
        for agent, curve in self.curves.groupby("agent", sort=False):
            line = ax.plot(curve["evaluations"], curve["median"], label=agent)[0]
            ax.fill_between(curve["evaluations"], curve["q25"], curve["q75"], color=line.get_color(), alpha=0.15)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("best reward so far (median, IQR shaded)")
        ax.set_title(f"best-so-far: {self.study}")
        ax.legend(loc="best", fontsize=8)
        return figure


def _figure() -> Figure:
    Figure = import_optional("matplotlib.figure", "plot", "the lottery plots").Figure
    return Figure(figsize=(7, 4.5))  # no pyplot: no global state, no GUI backend needed


def load_study(dataset: str | os.PathLike[str], study: str, run_ids: set[str] | None = None) -> pd.DataFrame:
    """The study's rows from ``dataset`` (optionally only the given runs), ordered by run and step.

    The rows must come from one setup (:mod:`archgym.dataset.setups`): a study compared
    across different devices, workloads or objectives is refused, naming what differs.
    """
    rows = load(dataset, filters=pc.field("study") == study)
    if run_ids is not None:
        rows = rows[rows["run"].isin(run_ids)]
    if rows.empty:
        raise UserError(f"dataset {str(dataset)!r} has no rows of study {study!r}")
    require_one_setup(rows, f"the rows of study {study!r} in {str(dataset)!r}",
                      hint="give each setup its own study name (archgym lottery --study NAME)")
    return rows.sort_values(["run", "step"], kind="stable").reset_index(drop=True)


def _unique_designs(rows: pd.DataFrame) -> pd.Series:
    """Distinct designs per run: from ``new_design`` where recorded, else from the design columns."""
    if "new_design" in rows.columns and rows["new_design"].notna().all():
        return rows.groupby("run")["new_design"].sum().astype(int)
    design_cols = [c for c in rows.columns if c.startswith(DESIGN_PREFIX)]
    if not design_cols:
        return rows.groupby("run")["step"].count()
    return rows[["run", *design_cols]].astype(str).drop_duplicates().groupby("run").size()


def _p_beats(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) + ½ P(X = Y) over all pairs."""
    if not len(x) or not len(y):
        return float("nan")
    diff = x[:, None] - y[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def summarise(rows: pd.DataFrame, study: str = "study") -> LotteryReport:
    """Build the report from a study's evaluation rows (as :func:`load_study` returns them)."""
    budget = int(rows.groupby("run")["step"].count().min())
    rows = rows[rows["step"] < budget].copy()
    rows["best_so_far"] = rows.groupby("run")["reward"].cummax()

    infeasible = (rows["feasible"] == False).groupby(rows["run"]).sum().astype(int)  # noqa: E712 (null: unknown)
    best_idx = rows.groupby("run")["reward"].idxmax()
    best = rows.loc[best_idx]
    runs = pd.DataFrame(
        {
            "run": best["run"].to_numpy(),
            "agent": best["agent"].to_numpy(),
            "agent_params": best["agent_params"].to_numpy(),
            "seed": best["seed"].to_numpy(),
            "evaluations": rows.groupby("run")["step"].count().loc[best["run"]].to_numpy(),
            "unique_designs": _unique_designs(rows).loc[best["run"]].to_numpy(),
            "infeasible": infeasible.loc[best["run"]].to_numpy(),
            "best_reward": best["reward"].to_numpy(),
            "best_step": best["step"].to_numpy(),
        }
    )

    baseline = runs.loc[runs["agent"] == BASELINE_AGENT, "best_reward"].to_numpy()
    baseline_median = float(np.median(baseline)) if len(baseline) else float("nan")
    scale = abs(baseline_median) if baseline_median != 0 else float("nan")
    stats = []
    for agent, group in runs.groupby("agent", sort=False):
        outcome = group["best_reward"].to_numpy()
        q25, median, q75 = np.percentile(outcome, [25, 50, 75])
        stats.append(
            {
                "agent": agent,
                "runs": len(group),
                "draws": group["agent_params"].nunique(),
                "seeds": group["seed"].nunique(),
                "median": median,
                "q25": q25,
                "q75": q75,
                "iqr": q75 - q25,
                "best": outcome.max(),
                "worst": outcome.min(),
                "p_beats_random": _p_beats(outcome, baseline),
                "rel_improvement_pct": 100 * (median - baseline_median) / scale,
                "unique_designs": float(group["unique_designs"].median()),
                "infeasible_pct": 100 * group["infeasible"].sum() / group["evaluations"].sum(),
            }
        )
    summary = pd.DataFrame(stats).set_index("agent").sort_values("median", ascending=False)

    draws = (
        runs.groupby(["agent", "agent_params"], sort=False)["best_reward"]
        .agg(seeds="count", median="median", best="max", worst="min")
        .reset_index()
        .sort_values(["agent", "median"], ascending=[True, False], ignore_index=True)
    )

    curves = (
        rows.groupby(["agent", "step"], sort=False)["best_so_far"]
        .quantile([0.25, 0.5, 0.75])
        .unstack()
        .rename(columns={0.25: "q25", 0.5: "median", 0.75: "q75"})
        .reset_index()
    )
    curves.insert(1, "evaluations", curves.pop("step") + 1)
    order = {agent: i for i, agent in enumerate(summary.index)}
    curves = curves.sort_values(["agent", "evaluations"], key=lambda c: c.map(order) if c.name == "agent" else c,
                                ignore_index=True)

    design_cols = [c for c in rows.columns if c.startswith((DESIGN_PREFIX, METRIC_PREFIX))]
    top = rows.loc[rows.groupby("agent")["reward"].idxmax()]
    best_designs = (
        top[["agent", "run", "seed", "agent_params", "step", "reward", *design_cols]]
        .dropna(axis="columns", how="all")
        .set_index("agent")
        .loc[summary.index]
        .reset_index()
    )
    return LotteryReport(study, budget, summary, runs.sort_values(["agent", "seed", "run"], ignore_index=True),
                         draws, curves, best_designs)


def lottery_report(
    dataset: str | os.PathLike[str],
    study: str | Study,
    out_dir: str | os.PathLike[str] | None = None,
) -> LotteryReport:
    """The report of ``study`` (a name, or a :class:`Study` to restrict it to that spec's runs).

    With ``out_dir`` the tables (CSV) and plots (PNG) are written there too.
    """
    if isinstance(study, Study):
        from archgym.study.run import plan

        name = study.name
        rows = load_study(dataset, name, {spec.run_id for spec in plan(study)})  # type: ignore[arg-type]
    else:
        name = study
        rows = load_study(dataset, name)
    result = summarise(rows, name)  # type: ignore[arg-type]
    if out_dir is not None:
        result.write(out_dir)
    return result
