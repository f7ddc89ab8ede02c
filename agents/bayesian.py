"""Bayesian optimisation over mixed discrete design spaces: a categorical-aware GP, EI, local search."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr
from scipy.stats import norm, qmc, rankdata

from archgym.agents import _operators as ops
from archgym.agents._gp import MixedEncoding, MixedGP
from archgym.agents.base import Agent, Outcome, RunResult
from archgym.errors import UserError
from archgym.objectives import TargetDistance
from archgym.spaces import Categorical, Design, DesignSpace, Integer, Real, Values

#: acquisition functions: expected improvement, upper confidence bound
ACQUISITIONS = ("EI", "UCB")
#: how the rewards are transformed before the GP sees them
OUTPUT_TRANSFORMS = ("copula", "standardize")
#: what the GP models: ``composite`` = each objective metric (the reward is computed from their
#: posteriors), ``reward`` = the reward itself, ``auto`` = composite when the objective is known
#: and is not a monotone function of one metric (several metrics, or a target to approach)
MODELS = ("auto", "composite", "reward")
#: a score below every positive log-EI, for candidates whose Monte Carlo EI is exactly zero
_NO_IMPROVEMENT = -1e6
#: hyperparameters are re-optimised every step up to this many observations, then when the
#: history has grown by :data:`REFIT_GROWTH` since the last optimisation
REFIT_ALWAYS_BELOW = 150
REFIT_GROWTH = 1.05
#: at most this many hill-climbing moves per local-search start
LOCAL_STEPS = 30
_SQRT_2PI = math.sqrt(2.0 * math.pi)
#: incumbents (best told designs) that always seed a local search
INCUMBENT_STARTS = 3


class BayesianOptimization(Agent):
    """Gaussian-process Bayesian optimisation for discrete and mixed design spaces.

    **Model.** A GP (:mod:`archgym.agents._gp`) with a Matérn-5/2 kernel on an ARD distance
    that treats categorical parameters by overlap (Hamming: two designs differ or not in a
    choice; no invented order) and ordered parameters (integers, value lists such as powers of
    two, reals; log-scaled where declared) by their position. Hyperparameters are fitted by
    maximum a-posteriori marginal likelihood. Rewards are transformed first: ``copula`` (the
    default) maps them by rank to normal quantiles, which makes the model indifferent to the
    reward's scale and to outliers (target-distance rewards span orders of magnitude;
    NAS-Bench-201 accuracies have a long tail of broken cells) — Salinas et al., ICML 2020;
    ``standardize`` keeps their shape.

    **Acquisition.** Expected improvement (``xi``; computed in log space so far-from-incumbent
    candidates are still ranked) or UCB (``kappa``), maximised over the *discrete* space:
    ``n_candidates`` unseen designs (half uniformly random, half 1–3 changes away from the best
    designs so far), then first-improvement hill climbing over
    :meth:`DesignSpace.neighbours` from the ``local_starts`` best candidates and the best
    designs evaluated so far (local search is what makes acquisition optimisation work on
    NAS-style spaces; White et al., "Local search is state of the art for NAS benchmarks",
    2020). The best design that has never been proposed wins: **no design is queried twice**.
    ``ask(n)`` fills a batch by the kriging believer (each pick is added to the model at its
    predicted mean before the next); pending suggestions are treated the same way.

    **Failures.** A failed design (``feasible=False``) is not a reward: the GP sees only
    successful designs. Once a failure has been seen, EI is multiplied by a probability of
    feasibility from a second GP of the same kind fitted to ±1 feasible/failed labels of every
    told design, P = Φ(μ/σ) (constrained EI, after Gardner et al., ICML 2014 and Gelbart et al.,
    UAI 2014); its own length scales learn which parameters decide failure.

    **Cost.** One step refits the hyperparameters (every step up to 150 evaluations, then when
    the history grew by 5 %) and scores a few thousand candidates; per-step cost is measured by
    ``benchmarks/bo_goal.py``. The first ``n_initial_points`` designs are random.

    **Why our own GP.** scikit-optimize (which this agent used) is unmaintained and its GP had
    to be patched through private functions; Optuna's GP sampler is offered as
    ``optuna_gp`` (:mod:`archgym.agents.optuna_samplers`) but is an optional extra, re-proposes
    evaluated designs and has no notion of failures beyond ignoring them. The model here is ~200
    lines of NumPy/SciPy (core dependencies), exact about categorical knobs, and the acquisition
    search is ours to make discrete and repeat-free.

    References: Snoek, Larochelle & Adams, NeurIPS 2012; Shahriari et al., Proc. IEEE 2016;
    Ru et al. (CoCaBO), ICML 2020; Wan et al. (CASMOPOLITAN), ICML 2021; Ginsbourger et al.,
    "Kriging is well-suited to parallelize optimization", 2010 (kriging believer).
    """

    name = "bo"
    hyperparameter_space = DesignSpace(
        [
            Integer("n_initial_points", 1, 50, default=10),
            Categorical("acquisition", ACQUISITIONS, default="EI"),
            Real("xi", 1e-4, 1.0, log=True, default=0.01),
            Real("kappa", 0.1, 10.0, log=True, default=1.96),
            Values("n_candidates", (250, 500, 1000, 2000, 5000), default=1000),
            Integer("local_starts", 0, 50, default=10),
            Categorical("output_transform", OUTPUT_TRANSFORMS, default="copula"),
            Categorical("model", MODELS, default="auto"),
            Values("mc_samples", (32, 64, 128, 256), default=128),
            Categorical("improvement", ("log", "raw"), default="log"),
        ]
    )

    def __init__(self, design_space: DesignSpace, seed: int | None = None, **hyperparameters: Any) -> None:
        super().__init__(design_space, seed=seed, **hyperparameters)
        #: the parameters the model searches (more than one value); the rest are fixed
        self._free = [p for p in design_space if p.n > 1]
        self._fixed = {p.name: p.default_value() for p in design_space if p.n <= 1}
        self._encoding = MixedEncoding(self._free)
        self._gp = MixedGP(self._encoding)
        #: told designs in order, with the reward (feasible) or None (failed)
        self._designs: list[Design] = []
        self._values: list[float | None] = []
        self._metrics: list[dict[str, float]] = []
        self._optimised_at = 0
        #: the env's reward function (an :class:`~archgym.objectives.Objective`), when known
        self._objective: Any = None
        #: one GP per objective metric (composite mode), created on first use
        self._metric_gps: dict[str, MixedGP] = {}

    # -- the objective -------------------------------------------------------------------------
    def use_objective(self, objective: Any) -> None:
        """Tell the agent how the env turns metrics into the reward, for composite-objective BO.

        ``objective`` is an :class:`~archgym.objectives.Objective` (the env's ``objective``
        attribute): it names its metrics in ``targets`` and computes rewards of metric arrays
        with ``reward_batch``. :meth:`run` calls this with the env's objective; ask/tell users
        call it themselves (or leave it: the agent then models the reward).
        """
        if objective is not None and not (isinstance(getattr(objective, "targets", None), dict)
                                          and objective.targets and callable(getattr(objective, "reward_batch", None))):
            raise UserError(f"use_objective() needs an archgym Objective (with targets and reward_batch), got {objective!r}")
        self._objective = objective

    def run(self, env: Any, budget: int, callback: Any = None) -> RunResult:
        """:meth:`Agent.run`, first taking the env's objective (when it exposes one) for composite BO."""
        if self._objective is None and self.hyperparameters["model"] != "reward":
            objective = getattr(getattr(env, "unwrapped", env), "objective", None)
            if objective is not None and callable(getattr(objective, "reward_batch", None)):
                self.use_objective(objective)
        return super().run(env, budget, callback)

    def _composite(self) -> bool:
        """Whether this step models the objective's metrics (composite BO) rather than the reward."""
        mode = self.hyperparameters["model"]
        if mode == "reward":
            return False
        objective = self._objective
        if objective is None:
            if mode == "composite":
                raise UserError("bo: model='composite' needs the env's objective; run the agent on an archgym env "
                                "or call use_objective(env.unwrapped.objective) before ask()")
            return False
        if mode == "auto" and len(objective.targets) < 2 and not isinstance(objective, TargetDistance):
            return False  # a monotone function of one metric: the reward model sees the same order
        names = list(objective.targets)
        return all(all(m in metrics for m in names)
                   for metrics, v in zip(self._metrics, self._values) if v is not None)

    # -- ask / tell ----------------------------------------------------------------------------
    def propose(self, n: int) -> list[Design]:
        if not self._free:
            return [self.design_space.validate(self._fixed) for _ in range(n)]
        feasible = [v for v in self._values if v is not None]
        if len(feasible) < max(2, self.hyperparameters["n_initial_points"]):
            return [self.fresh(lambda: self.design_space.sample(self.rng)) for _ in range(n)]
        self._refit()
        believed: list[Design] = [s.design for s in self._pending.values()]
        if believed:
            self._believe(believed)
        picks: list[Design] = []
        for i in range(n):
            pick = self._maximise_acquisition()
            self._seen.add(self.key(pick))
            picks.append(pick)
            if i + 1 < n:
                believed.append(pick)
                self._believe(believed)
        return picks

    def update(self, outcome: Outcome) -> None:
        self._designs.append(dict(outcome.design))
        self._values.append(outcome.reward if outcome.feasible else None)
        self._metrics.append(dict(outcome.metrics) if outcome.feasible else {})

    # -- the model ----------------------------------------------------------------------------
    def _training(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        designs = [d for d, v in zip(self._designs, self._values) if v is not None]
        y = np.array([v for v in self._values if v is not None], dtype=np.float64)
        if self.hyperparameters["output_transform"] == "copula":
            y = norm.ppf((rankdata(y) - 0.5) / len(y))
        else:
            y = (y - y.mean()) / (y.std() or 1.0)
        xo, xc = self._encoding.encode(designs)
        return xo, xc, y

    def _metric_training(self, metric: str) -> tuple[np.ndarray, tuple[bool, float, float]]:
        """A metric's observations, log-transformed when all positive, then standardised, with
        the transform ``(logged, mean, sd)`` that maps model values back to the metric."""
        x = np.array([m[metric] for m, v in zip(self._metrics, self._values) if v is not None], dtype=np.float64)
        logged = bool(np.all(x > 0))
        y = np.log(x) if logged else x
        mu, sd = float(y.mean()), float(y.std()) or 1.0
        return (y - mu) / sd, (logged, mu, sd)

    def _refit(self) -> None:
        xo, xc, y = self._training()
        self._y_best = float(y.max())
        n = len(y)
        optimise = n <= REFIT_ALWAYS_BELOW or n >= REFIT_GROWTH * self._optimised_at
        self._composite_now = self._composite()
        #: the GPs of this step, each with its training data: the reward's, or one per metric
        self._models: list[tuple[MixedGP, tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
        if self._composite_now:
            self._transforms = []
            for metric in self._objective.targets:
                ym, transform = self._metric_training(metric)
                gp = self._metric_gps.setdefault(metric, MixedGP(self._encoding))
                gp.fit(xo, xc, ym, optimise=optimise)
                self._models.append((gp, (xo, xc, ym)))
                self._transforms.append((metric, *transform))
            self._reward_best = max(v for v in self._values if v is not None)
            # a positive reward (target distance) is a product of factors: improve it in log space
            self._log_reward = (self.hyperparameters["improvement"] == "log" and self._reward_best > 0
                                and self._objective.reward_range()[0] >= 0)
            if not hasattr(self, "_z") or self._z.shape != (self.hyperparameters["mc_samples"], len(self._transforms)):
                # fixed quasi-random base samples (common random numbers): every candidate is
                # scored with the same draws, so the acquisition is a deterministic function
                sobol = qmc.Sobol(len(self._transforms), scramble=True, seed=self.rng)
                self._z = norm.ppf(np.clip(sobol.random(self.hyperparameters["mc_samples"]), 1e-9, 1 - 1e-9))
        else:
            self._gp.fit(xo, xc, y, optimise=optimise)
            self._models.append((self._gp, (xo, xc, y)))
        if optimise:
            self._optimised_at = n
        self._train = self._models[0][1]  # the first model's training data (features, targets)
        self._feasibility: MixedGP | None = None
        if any(v is None for v in self._values):
            every_o, every_c = self._encoding.encode(self._designs)
            labels = np.array([1.0 if v is not None else -1.0 for v in self._values])
            self._feasibility = MixedGP(self._encoding)
            self._feasibility.fit(every_o, every_c, labels)

    def _believe(self, designs: list[Design]) -> None:
        """Condition the GP(s) on ``designs`` at their predicted means (kriging believer)."""
        bo, bc = self._encoding.encode(designs)
        for gp, (xo, xc, y) in self._models:
            gp.fit(xo, xc, y, optimise=False)
            mean, _ = gp.predict(bo, bc)
            gp.fit(np.vstack([xo, bo]), np.vstack([xc, bc]), np.concatenate([y, mean]), optimise=False)

    def _reward_samples(self, xo: np.ndarray, xc: np.ndarray) -> np.ndarray:
        """Posterior samples of the reward, shape (designs, mc_samples): each metric's GP
        marginal at the shared base samples, mapped back to the metric, through the objective."""
        values = {}
        distances = self._models[0][0].distances(xo, xc)  # every metric GP has the same training designs
        for (gp, _), (metric, logged, mu, sd), z in zip(self._models, self._transforms, self._z.T):
            mean, std = gp.predict(xo, xc, distances)
            y = mu + sd * (mean[:, None] + std[:, None] * z[None, :])
            values[metric] = np.exp(np.minimum(y, 700.0)) if logged else y
        with np.errstate(over="ignore", invalid="ignore"):
            samples = self._objective.reward_batch(values)
        return np.nan_to_num(samples, nan=-np.inf, posinf=np.finfo(np.float64).max)

    def _composite_acquisition(self, xo: np.ndarray, xc: np.ndarray) -> np.ndarray:
        """Monte Carlo EI (or UCB) of the reward computed from the metric posteriors
        (composite-objective BO, Astudillo & Frazier, ICML 2019), as a log score."""
        hp = self.hyperparameters
        g = self._reward_samples(xo, xc)
        best = self._reward_best
        if self._log_reward:
            g, best = np.log(np.maximum(g, 1e-300)), math.log(best)
        if hp["acquisition"] == "UCB":
            return g.mean(axis=1) + hp["kappa"] * g.std(axis=1)
        threshold = best + hp["xi"] * abs(best)
        improvement = np.maximum(g - threshold, 0.0).mean(axis=1)
        # no sample improves: rank by how close the best sample comes, below every positive EI
        gap = (threshold - g.max(axis=1)) / (abs(threshold) + 1e-12)
        with np.errstate(divide="ignore"):
            return np.where(improvement > 0, np.log(improvement), _NO_IMPROVEMENT - np.clip(gap, 0.0, 1e5))

    def _acquisition(self, designs: list[Design]) -> np.ndarray:
        xo, xc = self._encoding.encode(designs)
        hp = self.hyperparameters
        if self._composite_now:
            score = self._composite_acquisition(xo, xc)
            if self._feasibility is not None:
                score = score + self._log_probability_feasible(xo, xc)
            return score
        mean, std = self._gp.predict(xo, xc)
        if hp["acquisition"] == "UCB":
            score = mean + hp["kappa"] * std
            # UCB is not a log quantity: keep its order but make the feasibility factor a penalty
            if self._feasibility is not None:
                score = score + self._log_probability_feasible(xo, xc)
            return score
        z = (mean - self._y_best - hp["xi"]) / std
        score = np.log(std) + _log_h(z)
        if self._feasibility is not None:
            score = score + self._log_probability_feasible(xo, xc)
        return score

    def _log_probability_feasible(self, xo: np.ndarray, xc: np.ndarray) -> np.ndarray:
        """log P(feasible) from the GP fitted to ±1 feasibility labels: log Φ(mean / sd)."""
        mean, std = self._feasibility.predict(xo, xc)
        return log_ndtr(mean / std)

    def _perturbations(self, m: int) -> list[Design]:
        """``m`` designs 1–3 parameter changes away from the best told designs (half the
        candidate pool: concentrates the acquisition search where good designs are, in the
        spirit of trust-region BO for categorical spaces, Wan et al. 2021)."""
        told = sorted(((v, d) for d, v in zip(self._designs, self._values) if v is not None), key=lambda t: t[0], reverse=True)
        parents = [d for _, d in told[:INCUMBENT_STARTS]]
        out = []
        for i in range(m):
            child = parents[i % len(parents)]
            for _ in range(int(self.rng.integers(1, 4))):
                child = ops.mutate_one(self.design_space, child, self.rng, 0.5)
            out.append(child)
        return out

    def _maximise_acquisition(self) -> Design:
        """The unseen design of highest acquisition: random candidates, then local search."""
        hp = self.hyperparameters
        candidates: list[Design] = []
        keys: set[Any] = set()
        pool = _sample_many(self.design_space, int(hp["n_candidates"]) // 2, self.rng) + self._perturbations(
            int(hp["n_candidates"]) - int(hp["n_candidates"]) // 2
        )
        for design in pool:
            key = self.key(design)
            if key not in keys and key not in self._seen:
                keys.add(key)
                candidates.append(design)
        scores = self._acquisition(candidates) if candidates else np.zeros(0)
        best_design, best_score = (candidates[int(np.argmax(scores))], float(scores.max())) if candidates else (None, -math.inf)

        starts = [candidates[i] for i in np.argsort(-scores)[: hp["local_starts"]]] if candidates else []
        told = [(v, d) for d, v in zip(self._designs, self._values) if v is not None]
        starts += [d for _, d in sorted(told, key=lambda t: t[0], reverse=True)[:INCUMBENT_STARTS]]
        scored: dict[Any, float] = dict(zip((self.key(c) for c in candidates), scores.tolist()))
        for start in starts:
            current = start
            current_score = scored.get(self.key(current))
            if current_score is None:
                current_score = scored[self.key(current)] = float(self._acquisition([current])[0])
            for _ in range(LOCAL_STEPS):
                neighbours = [d for d in self.design_space.neighbours(current) if self.key(d) not in scored]
                if neighbours:
                    for d, s in zip(neighbours, self._acquisition(neighbours).tolist()):
                        scored[self.key(d)] = s
                        if s > best_score and not self.seen(d):
                            best_design, best_score = d, s
                moves = [(scored[self.key(d)], d) for d in self.design_space.neighbours(current)]
                score, move = max(moves, key=lambda t: t[0]) if moves else (-math.inf, None)
                if move is None or score <= current_score:
                    break
                current, current_score = move, score
        if best_design is None:  # every design has been seen: the space is exhausted
            return self.fresh(lambda: self.design_space.sample(self.rng))
        return best_design


def _sample_many(space: DesignSpace, m: int, rng: np.random.Generator) -> list[Design]:
    """``m`` random designs drawn as :meth:`DesignSpace.sample` draws them, vectorised per parameter."""
    columns: list[list[Any]] = []
    for p in space.parameters:
        if isinstance(p, Real):
            if p.log:
                x = np.exp(rng.uniform(math.log(p.low), math.log(p.high), m))
            else:
                x = rng.uniform(p.low, p.high, m)
            columns.append(np.clip(x, p.low, p.high).tolist())
        elif isinstance(p, Integer) and p.log:
            x = np.floor(np.exp(rng.uniform(math.log(p.low), math.log(p.high + 1), m))).astype(np.int64)
            columns.append(np.minimum(x, p.high).tolist())
        elif isinstance(p, Integer):
            columns.append(rng.integers(p.low, p.high + 1, m).tolist())
        else:
            choices = p.choices
            columns.append([choices[i] for i in rng.integers(p.n, size=m).tolist()])
    names = space.names
    return [dict(zip(names, row)) for row in zip(*columns)]


def _log_h(z: np.ndarray) -> np.ndarray:
    """log(φ(z) + z Φ(z)), the log of expected improvement per unit standard deviation.

    Written with the scaled complementary error function for z < 0, so candidates far from
    improving stay ordered instead of all underflowing to −inf (the "LogEI" of Ament et al.,
    NeurIPS 2023, in closed form).
    """
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    high = z >= 0.0
    zh = z[high]
    out[high] = np.log(np.exp(-0.5 * zh**2) / _SQRT_2PI + zh * ndtr(zh))
    zl = z[~high]
    # h(z) = exp(−z²/2) (1/√(2π) + z/2 · erfcx(−z/√2)): no underflow, mild cancellation only
    bracket = 1.0 / _SQRT_2PI + 0.5 * zl * erfcx(-zl / math.sqrt(2.0))
    out[~high] = -0.5 * zl**2 + np.log(np.maximum(bracket, 1e-300))
    return out
