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

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

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


def load_study(dataset: str | os.PathLike[str], study: str, run_ids: set[str] | None = None,
               one_setup: bool = True) -> pd.DataFrame:
    """The study's rows from ``dataset`` (optionally only the given runs), ordered by run and step.

    With ``one_setup`` the rows must come from one setup (:mod:`archgym.dataset.setups`): a study
    compared across different devices, workloads or objectives is refused, naming what differs.
    A study with an axis checks that per axis point instead (:func:`cross_setup_report`).
    """
    rows = load(dataset, filters=pc.field("study") == study)
    if run_ids is not None:
        rows = rows[rows["run"].isin(run_ids)]
    if rows.empty:
        raise UserError(f"dataset {str(dataset)!r} has no rows of study {study!r}")
    if one_setup:
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


# ==================================================================================================
# Studies across setups (a workload axis): one panel per setup, Pareto fronts, hypervolume curves.
# ==================================================================================================

#: fixed colours: an agent keeps its colour in every plot of every report
AGENT_COLOURS: dict[str, str] = {
    "ga": "tab:blue", "aco": "tab:orange", "bo": "tab:green", "random_walk": "tab:red", "evolution": "tab:purple",
    "sa": "tab:brown", "nsga2": "tab:pink", "tpe": "tab:olive", "ppo": "tab:cyan", "dqn": "navy", "random": "dimgray",
}
#: the hypervolume reference point, per objective: this factor times the baseline design's value
#: (divided by it for a maximised metric). With 2, the baseline design's own hypervolume is 1.
REFERENCE_FACTOR = 2.0
#: outcomes spanning more than this factor (all positive) are shown as a fraction of the best on a log axis
HEAVY_TAIL_RATIO = 100.0


def agent_colour(agent: str, order: list[str]) -> str:
    """The agent's fixed colour (a palette entry by its place in ``order`` for agents not listed)."""
    if agent in AGENT_COLOURS:
        return AGENT_COLOURS[agent]
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive"]
    return palette[order.index(agent) % len(palette)] if agent in order else "black"


@dataclass(frozen=True)
class SetupContext:
    """What a setup's (axis point's) panel needs besides the dataset: its objectives and baseline."""

    label: str
    objectives: tuple  # of archgym.objectives.ObjectiveSpec
    baseline: dict  # metric -> the baseline design's value
    baseline_reward: float


def setup_contexts(study: Study) -> dict[str, SetupContext]:
    """Make each axis point's env once: its objectives, baseline metrics and the baseline's reward."""
    import gymnasium as gym

    from archgym.study.spec import axis_label

    contexts = {}
    for point in study.axis_points():
        env = gym.make(study.env_id, disable_env_checker=True, **study.env_kwargs_for(point)).unwrapped
        try:
            try:
                baseline = env._baseline_or_raise()
                reward = float(env.objective(baseline))
            except (ValueError, KeyError):
                baseline, reward = {}, float("nan")
            contexts[axis_label(point)] = SetupContext(axis_label(point), tuple(env.objectives), dict(baseline), reward)
        finally:
            env.close()
    return contexts


def _agent_order(agents: list[str], preferred: list[str] | None) -> list[str]:
    order = [a for a in (preferred or []) if a in agents] + sorted(a for a in agents if a not in (preferred or []))
    if BASELINE_AGENT in order:  # the baseline last: the reference column
        order.remove(BASELINE_AGENT)
        order.append(BASELINE_AGENT)
    return order


@dataclass
class CrossSetupReport:
    """A study over several setups (e.g. workloads): per-run outcomes normalised per setup,
    Pareto fronts per agent, hypervolume against evaluations. Every plot has a CSV behind it."""

    study: str
    budget: int
    agents: list[str]
    setups: list[str]
    outcomes: pd.DataFrame
    fronts: pd.DataFrame
    hv_curves: pd.DataFrame
    best_vs_baseline: pd.DataFrame
    scales: dict[str, str]
    objectives: dict[str, list[str]]

    def best_text(self) -> str:
        """Each agent's best design per setup: every objective's value and its change against the baseline."""
        lines = []
        for setup in self.setups:
            names = self.objectives.get(setup, [])
            lines.append(f"{setup}: baseline " + ", ".join(
                f"{m} {self.best_vs_baseline.loc[self.best_vs_baseline['setup'] == setup, f'baseline.{m}'].iloc[0]:.4g}"
                for m in names))
            for row in self.best_vs_baseline[self.best_vs_baseline["setup"] == setup].to_dict(orient="records"):
                cells = ", ".join(f"{row[m]:.4g} ({row[f'better_%.{m}']:+.1f}%)" for m in names)
                lines.append(f"  {row['agent']:<12} reward {row['best_reward']:.4g}: {cells}")
        return "\n".join(lines)

    def to_text(self) -> str:
        ordered = self.outcomes.assign(agent=pd.Categorical(self.outcomes["agent"], self.agents),
                                       setup=pd.Categorical(self.outcomes["setup"], self.setups))
        table = (ordered.groupby(["setup", "agent"], sort=True, observed=True)
                 .agg(runs=("run", "count"), median=("normalised", "median"), best=("normalised", "max"),
                      hv_median=("hypervolume", "median"), p_beats_random=("p_beats_random", "first"))
                 .reset_index())
        text = table.to_string(index=False, float_format=lambda v: f"{v:.3g}")
        return (f"study {self.study}: {self.budget} evaluations per run; 'median'/'best': normalised outcome per setup "
                f"(1 = best known; {', '.join(f'{k}: {v}' for k, v in self.scales.items())}); hv: hypervolume / the "
                f"baseline design's\n{text}")

    def write(self, folder: str | os.PathLike[str]) -> dict[str, Path]:
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for name, table in (("lottery_by_setup", self.outcomes), ("pareto_fronts", self.fronts),
                            ("hypervolume", self.hv_curves), ("best_vs_baseline", self.best_vs_baseline)):
            paths[f"{name}.csv"] = out / f"{name}.csv"
            table.to_csv(paths[f"{name}.csv"], index=False)
        for name, figure in (("lottery_by_setup", self.plot_lottery()), ("pareto_fronts", self.plot_fronts()),
                             ("hypervolume", self.plot_hypervolume())):
            paths[f"{name}.png"] = out / f"{name}.png"
            figure.savefig(paths[f"{name}.png"], dpi=120, bbox_inches="tight")
        return paths

    # -- plots ----------------------------------------------------------------------------
    def _panels(self, height: float = 3.6):
        from matplotlib.figure import Figure

        n = len(self.setups)
        cols = min(n, 4)
        rows = -(-n // cols)
        figure = Figure(figsize=(4.2 * cols, height * rows), layout="constrained")
        axes = figure.subplots(rows, cols, squeeze=False).ravel()
        for ax in axes[n:]:
            ax.set_visible(False)
        return figure, axes[:n]

    def plot_lottery(self):
        """Per setup: every run's normalised outcome per agent, coloured by hyperparameter draw."""
        import matplotlib

        figure, axes = self._panels()
        draw_colours = matplotlib.colormaps["tab10"]
        jitter = np.random.default_rng(0)
        for ax, setup in zip(axes, self.setups):
            data = self.outcomes[self.outcomes["setup"] == setup]
            log = self.scales.get(setup, "").startswith("fraction")
            for i, agent in enumerate(self.agents):
                runs = data[data["agent"] == agent]
                values = runs["normalised"].to_numpy(dtype=float)
                if len(values) == 0:
                    continue
                box = ax.boxplot([values], positions=[i], widths=0.6, showfliers=False, patch_artist=True,
                                 medianprops={"color": "black"})
                for patch in box["boxes"]:
                    patch.set(facecolor=agent_colour(agent, self.agents), alpha=0.25)
                x = i + jitter.uniform(-0.2, 0.2, len(values))
                if agent == BASELINE_AGENT:
                    ax.scatter(x, values, s=12, color="dimgray", alpha=0.7, zorder=3)
                else:
                    ax.scatter(x, values, s=14, c=[draw_colours(d % 10) for d in runs["draw"]], alpha=0.85, zorder=3,
                               edgecolors="none")
            rnd = data.loc[data["agent"] == BASELINE_AGENT, "normalised"]
            if len(rnd):
                ax.axhline(float(rnd.median()), ls="--", lw=1, color="dimgray")
            ax.axhline(1.0, ls=":", lw=0.8, color="black")
            if log:
                ax.set_yscale("log")
            if self.scales.get(setup, "").startswith("degenerate"):
                ax.text(0.5, 0.5, "degenerate task:\nno run beat the baseline", transform=ax.transAxes, ha="center",
                        va="center", fontsize=9, color="firebrick")
            ax.set_xticks(range(len(self.agents)), self.agents, rotation=30)
            ax.set_title(setup, fontsize=10)
            ax.set_ylabel("fraction of best-known reward (log)" if log else "0 = baseline, 1 = best known", fontsize=8)
        n_draws = int(self.outcomes.loc[self.outcomes["agent"] != BASELINE_AGENT, "draw"].max() + 1) \
            if len(self.outcomes) else 0
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], marker="o", ls="none", color=draw_colours(d % 10), label=f"draw {d}")
                   for d in range(min(n_draws, 10))]
        if handles:
            axes[0].legend(handles=handles, fontsize=7, loc="upper right", title="hyperparameters", title_fontsize=7)
        figure.suptitle(f"hyperparameter lottery, {self.budget} evaluations per run: dots = runs, colour = "
                        "hyperparameter draw (grey: random search; dashed: its median)", fontsize=9)
        return figure

    def plot_fronts(self):
        """Per setup: each agent's Pareto front (union over its runs), first two objectives, as ratios
        to the baseline design (1, 1), both lower-is-better."""
        figure, axes = self._panels(height=4.0)
        for ax, setup in zip(axes, self.setups):
            data = self.fronts[self.fronts["setup"] == setup]
            names = self.objectives.get(setup, [])
            if len(names) < 2:
                ax.set_title(f"{setup}: one objective, no front", fontsize=10)
                continue
            qx, qy = f"ratio.{names[0]}", f"ratio.{names[1]}"
            for agent in self.agents:
                pts = data[data["agent"] == agent][[qx, qy]].to_numpy(dtype=float)
                if len(pts) == 0:
                    continue
                from archgym.pareto import pareto_front

                pts = pts[pareto_front(pts, ("minimize", "minimize"))]
                pts = pts[np.argsort(pts[:, 0])]
                ax.step(pts[:, 0], pts[:, 1], where="post", color=agent_colour(agent, self.agents), lw=1.2, label=agent)
                ax.plot(pts[:, 0], pts[:, 1], "o", ms=3, color=agent_colour(agent, self.agents))
            ax.plot([1.0], [1.0], marker="*", ms=12, color="black", ls="none", label="baseline")
            _log_ratio_axes(ax)
            ax.set_xlabel(f"{names[0]} / baseline", fontsize=8)
            ax.set_ylabel(f"{names[1]} / baseline", fontsize=8)
            ax.set_title(setup, fontsize=10)
            ax.legend(fontsize=7, loc="best")
        figure.suptitle("Pareto fronts per agent (union over runs; lower-left is better; maximised objectives as "
                        "baseline / value)", fontsize=9)
        return figure

    def plot_hypervolume(self):
        """Per setup: median hypervolume (IQR shaded) against evaluations, per agent."""
        figure, axes = self._panels()
        for ax, setup in zip(axes, self.setups):
            data = self.hv_curves[self.hv_curves["setup"] == setup]
            for agent in self.agents:
                curve = data[data["agent"] == agent]
                if curve.empty:
                    continue
                colour = agent_colour(agent, self.agents)
                ax.plot(curve["evaluations"], curve["median"], color=colour, label=agent)
                ax.fill_between(curve["evaluations"], curve["q25"], curve["q75"], color=colour, alpha=0.15)
            ax.axhline(1.0, ls=":", lw=0.8, color="black")
            ax.set_xlabel("evaluations", fontsize=8)
            ax.set_ylabel("hypervolume / baseline design's", fontsize=8)
            ax.set_title(setup, fontsize=10)
            ax.legend(fontsize=7, loc="lower right")
        figure.suptitle(f"hypervolume against evaluations (median over runs, IQR shaded); reference point = "
                        f"{REFERENCE_FACTOR:g}x the baseline on every objective", fontsize=9)
        return figure


def _log_ratio_axes(ax) -> None:
    """Log axes for ratios, labelled as plain numbers (0.5, 1, 2) rather than powers of ten."""
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(plain)
        axis.set_tick_params(which="minor", labelsize=6)


def _normalise_outcomes(best: np.ndarray, baseline_reward: float) -> tuple[np.ndarray, str]:
    """Per setup: ``(r − r0)/(r* − r0)`` (0 = baseline, 1 = best known), or ``r/r*`` on a log axis when
    the outcomes are positive and heavy-tailed (ArchGym's ``target_distance``)."""
    finite = best[np.isfinite(best)]
    if len(finite) and np.all(finite > 0) and finite.max() / finite.min() > HEAVY_TAIL_RATIO:
        return best / finite.max(), "fraction of best known (log axis: heavy-tailed)"
    r0 = baseline_reward if math.isfinite(baseline_reward) else (finite.min() if len(finite) else 0.0)
    top = max(finite.max() if len(finite) else r0, r0)
    if top <= r0:
        return np.zeros_like(best), "degenerate: nothing beat the baseline"
    return (best - r0) / (top - r0), "gain over baseline / best-known gain"


def summarise_setups(
    rows: pd.DataFrame,
    contexts: Mapping[str, SetupContext],
    run_setups: Mapping[str, str],
    study: str = "study",
    agent_order: list[str] | None = None,
) -> CrossSetupReport:
    """Build the cross-setup report from a study's rows, each run's setup label and each setup's context."""
    from archgym.baseline import better_pct
    from archgym.pareto import hypervolume_curve, normalise_to_baseline, pareto_front

    budget = int(rows.groupby("run")["step"].count().min())
    rows = rows[rows["step"] < budget].copy()
    rows["setup"] = rows["run"].map(run_setups)
    missing = rows.loc[rows["setup"].isna(), "run"].unique()
    if len(missing):
        raise UserError(f"runs without a setup label: {', '.join(map(str, missing[:5]))}")
    agents = _agent_order(list(rows["agent"].unique()), agent_order)
    setups = [s for s in contexts if s in set(rows["setup"])]
    outcome_rows, front_rows, curve_rows, best_rows = [], [], [], []
    scales: dict[str, str] = {}
    objective_names: dict[str, list[str]] = {}
    for setup in setups:
        context = contexts[setup]
        names = [o.metric for o in context.objectives]
        senses = [o.sense for o in context.objectives]
        objective_names[setup] = names
        data = rows[rows["setup"] == setup]
        per_run = []
        base = [context.baseline.get(m, math.nan) for m in names]
        can_hv = all(math.isfinite(b) and b > 0 for b in base)
        ref = [REFERENCE_FACTOR] * len(names)
        for run, group in data.groupby("run", sort=False):
            group = group.sort_values("step")
            hv_curve = np.zeros(len(group))
            if can_hv and all(f"{METRIC_PREFIX}{m}" in group for m in names):
                values = group[[f"{METRIC_PREFIX}{m}" for m in names]].to_numpy(dtype=float)
                ok = np.all(np.isfinite(values), axis=1)
                q = np.full_like(values, np.inf)
                if ok.any():
                    q[ok] = normalise_to_baseline(values[ok], base, senses)
                finite = np.all(np.isfinite(q), axis=1)
                if finite.any():
                    # infeasible designs add nothing: the curve holds its value over them
                    partial = hypervolume_curve(q[finite], ref, ["minimize"] * len(names))
                    for k, j in enumerate(np.flatnonzero(finite)):
                        hv_curve[j:] = partial[k]
            first = group.iloc[0]
            per_run.append({"setup": setup, "agent": first["agent"], "run": run, "seed": first["seed"],
                            "agent_params": first["agent_params"], "best_reward": float(group["reward"].max()),
                            "hypervolume": float(hv_curve[-1]) if len(hv_curve) else 0.0})
            for k, value in enumerate(hv_curve):
                curve_rows.append({"setup": setup, "agent": first["agent"], "run": run, "evaluations": k + 1, "hv": value})
        table = pd.DataFrame(per_run)
        table["draw"] = table.groupby("agent")["agent_params"].transform(lambda p: pd.factorize(p)[0])
        normalised, scales[setup] = _normalise_outcomes(table["best_reward"].to_numpy(dtype=float), context.baseline_reward)
        table["normalised"] = normalised
        rnd = table.loc[table["agent"] == BASELINE_AGENT, "normalised"].to_numpy()
        table["p_beats_random"] = table["agent"].map(
            {a: _p_beats(table.loc[table["agent"] == a, "normalised"].to_numpy(), rnd) for a in table["agent"].unique()})
        table["baseline_reward"] = context.baseline_reward
        outcome_rows.append(table)
        # Pareto fronts (union over each agent's runs) and each agent's best design vs the baseline
        for agent in agents:
            mine = data[(data["agent"] == agent)]
            if mine.empty:
                continue
            top = mine.loc[mine["reward"].idxmax()]
            best = {"setup": setup, "agent": agent, "best_reward": float(top["reward"]),
                    "baseline_reward": context.baseline_reward}
            for m, sense in zip(names, senses):
                value = float(top.get(f"{METRIC_PREFIX}{m}", math.nan))
                best[m] = value
                best[f"baseline.{m}"] = context.baseline.get(m, math.nan)
                best[f"better_%.{m}"] = better_pct(value, context.baseline.get(m, math.nan), sense)
            best_rows.append(best)
            if not can_hv:
                continue
            values = mine[[f"{METRIC_PREFIX}{m}" for m in names]].to_numpy(dtype=float)
            keep = np.all(np.isfinite(values), axis=1)
            if not keep.any():
                continue
            q = normalise_to_baseline(values[keep], base, senses)
            finite = np.all(np.isfinite(q), axis=1)
            values, q = values[keep][finite], q[finite]
            for i in pareto_front(q, ["minimize"] * len(names)):
                front_rows.append({"setup": setup, "agent": agent,
                                   **{m: values[i, j] for j, m in enumerate(names)},
                                   **{f"ratio.{m}": q[i, j] for j, m in enumerate(names)}})
    outcomes = pd.concat(outcome_rows, ignore_index=True) if outcome_rows else pd.DataFrame()
    curves = pd.DataFrame(curve_rows)
    if not curves.empty:
        curves = (curves.groupby(["setup", "agent", "evaluations"], sort=False)["hv"]
                  .quantile([0.25, 0.5, 0.75]).unstack()
                  .rename(columns={0.25: "q25", 0.5: "median", 0.75: "q75"}).reset_index())
    return CrossSetupReport(study, budget, agents, setups, outcomes, pd.DataFrame(front_rows), curves,
                            pd.DataFrame(best_rows), scales, objective_names)


def cross_setup_report(
    dataset: str | os.PathLike[str], study: Study, out_dir: str | os.PathLike[str] | None = None,
) -> CrossSetupReport:
    """The cross-setup report of ``study`` (its axis points are the panels); written to ``out_dir``."""
    from archgym.study.run import plan

    specs = plan(study)
    rows = load_study(dataset, study.name, {s.run_id for s in specs}, one_setup=False)  # type: ignore[arg-type]
    run_setups = {s.run_id: (s.setup or "default") for s in specs}
    for label, panel in rows.groupby(rows["run"].map(run_setups)):  # each panel: exactly one setup
        require_one_setup(panel, f"the rows of axis point {label!r} of study {study.name!r} in {str(dataset)!r}")
    contexts = {(label or "default"): ctx for label, ctx in setup_contexts(study).items()}
    report = summarise_setups(rows, contexts, run_setups, study.name, agent_order=list(study.agents))  # type: ignore[arg-type]
    if out_dir is not None:
        report.write(out_dir)
    return report
