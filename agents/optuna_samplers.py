"""Optuna's samplers as archgym agents: one adapter from a DesignSpace to Optuna's ask/tell.

``optuna`` is an optional extra (``pip install 'archgym[optuna]'``); it is imported only when an
agent is built, so listing agents works without it.

The adapter maps each design parameter to an Optuna distribution (:func:`optuna_distributions`):

* :class:`~archgym.spaces.Categorical` → ``CategoricalDistribution`` (choices must be
  ``None``/bool/int/float/str, as Optuna stores them);
* :class:`~archgym.spaces.Values` (ordered numbers) → ``IntDistribution(low, high, step)`` when
  they are evenly spaced integers, otherwise an ``IntDistribution`` over their *rank*
  (0 … n−1), which keeps the order samplers such as CMA-ES and the GP exploit (powers of two
  become evenly spaced, i.e. log-scaled);
* :class:`~archgym.spaces.Integer` → ``IntDistribution(low, high, log=log)``;
* :class:`~archgym.spaces.Real` → ``FloatDistribution(low, high, log=log)``;
* anything else → ``TypeError`` naming the parameter.

:class:`OptunaAgent` runs any of the samplers in :data:`SAMPLERS` through ``Study.ask`` /
``Study.tell``: a feasible outcome is told as its value(s), a failed design as a ``FAIL``ed
trial (samplers ignore it: it is not a number). With ``objectives=[(metric, "minimize" |
"maximize"), ...]`` the study is multi-objective and each trial is told the vector of those
metrics (the shared path for multi-objective agents); otherwise it maximises the env's reward.

No design is evaluated twice: when a sampler proposes a design already told, the trial is
completed at once with the known outcome (Optuna's history stays faithful, no evaluation is
spent) and the sampler is asked again; after :data:`MAX_RETRIES` proposals of known designs a
random unseen design is enqueued instead.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, ClassVar, Hashable, Iterator, Mapping, Sequence

from archgym.agents.base import Agent, Outcome
from archgym.spaces import Categorical, Design, DesignSpace, Integer, Real, Values

#: sampler proposals of already-evaluated designs tolerated per ask before a random one is used
MAX_RETRIES = 20

_INSTALL_HINT = "pip install 'archgym[optuna]'"


def require_optuna() -> Any:
    """The ``optuna`` module, or an ``ImportError`` saying how to install the extra."""
    try:
        import optuna
    except ImportError:
        raise ImportError(f"the Optuna sampler agents need the optional extra: {_INSTALL_HINT}") from None
    return optuna


# -- DesignSpace <-> Optuna --------------------------------------------------------------------
def _evenly_spaced_integers(values: Sequence[Any]) -> int | None:
    """The common step of ``values`` if they are integers in arithmetic progression, else None."""
    if not all(float(v) == int(v) for v in values):
        return None
    if len(values) == 1:
        return 1
    step = int(values[1]) - int(values[0])
    ok = step > 0 and all(int(b) - int(a) == step for a, b in zip(values, values[1:]))
    return step if ok else None


def optuna_distributions(space: DesignSpace) -> dict[str, Any]:
    """One Optuna distribution per parameter of ``space`` (see the module docstring)."""
    optuna = require_optuna()
    d = optuna.distributions
    out: dict[str, Any] = {}
    for p in space.parameters:
        if isinstance(p, Real):
            out[p.name] = d.FloatDistribution(float(p.low), float(p.high), log=p.log)
        elif isinstance(p, Integer):
            out[p.name] = d.IntDistribution(int(p.low), int(p.high), log=p.log)
        elif isinstance(p, Values):
            step = _evenly_spaced_integers(p.choices)
            if step is not None:
                out[p.name] = d.IntDistribution(int(p.choices[0]), int(p.choices[-1]), step=step)
            else:
                out[p.name] = d.IntDistribution(0, p.n - 1)
        elif isinstance(p, Categorical):
            bad = [c for c in p.choices if c is not None and not isinstance(c, (bool, int, float, str))]
            if bad:
                raise TypeError(
                    f"parameter {p.name!r}: Optuna stores categorical choices as None, bool, int, float or str; "
                    f"cannot map {bad[0]!r} ({type(bad[0]).__name__})"
                )
            out[p.name] = d.CategoricalDistribution(p.choices)
        else:
            raise TypeError(
                f"parameter {getattr(p, 'name', p)!r} of kind {type(p).__name__} has no Optuna distribution; "
                "expected Categorical, Values, Integer or Real"
            )
    return out


def _rank_coded(p: Any) -> bool:
    return isinstance(p, Values) and _evenly_spaced_integers(p.choices) is None


def to_optuna_params(space: DesignSpace, design: Mapping[str, Any]) -> dict[str, Any]:
    """A design as the parameter values of :func:`optuna_distributions`."""
    design = space.validate(design)
    return {p.name: p.index(design[p.name]) if _rank_coded(p) else design[p.name] for p in space.parameters}


def from_optuna_params(space: DesignSpace, params: Mapping[str, Any]) -> Design:
    """Optuna parameter values back to a validated design."""
    return space.validate({p.name: p.value(params[p.name]) if _rank_coded(p) else params[p.name] for p in space.parameters})


@contextlib.contextmanager
def _quiet(optuna: Any) -> Iterator[None]:
    """Silence Optuna's per-trial log lines and its experimental/independent-sampling warnings."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=optuna.exceptions.ExperimentalWarning)
            warnings.filterwarnings("ignore", message=".*independent sampl.*")
            warnings.filterwarnings("ignore", message=".*does not support.*")
            yield
    finally:
        optuna.logging.set_verbosity(level)


# -- the agents ---------------------------------------------------------------------------------
_FLAG = (False, True)


class OptunaAgent(Agent):
    """An Optuna sampler driven through ``Study.ask``/``Study.tell`` (see the module docstring).

    Subclasses name the sampler (:attr:`sampler_class`) and declare its hyperparameters.
    ``objectives`` (constructor argument, not a hyperparameter) makes the study multi-objective:
    a list of ``(metric, "minimize" | "maximize")``.
    """

    #: the ``optuna.samplers`` class this agent runs
    sampler_class: ClassVar[str] = ""
    #: whether the sampler handles several objectives
    multi_objective: ClassVar[bool] = True

    def __init__(
        self,
        design_space: DesignSpace,
        seed: int | None = None,
        objectives: Sequence[tuple[str, str]] | None = None,
        **hyperparameters: Any,
    ) -> None:
        super().__init__(design_space, seed=seed, **hyperparameters)
        self._optuna = optuna = require_optuna()
        self.objectives = [(str(m), str(g)) for m, g in objectives] if objectives else None
        if self.objectives is not None:
            bad = [g for _, g in self.objectives if g not in ("minimize", "maximize")]
            if bad:
                raise ValueError(f"objective direction {bad[0]!r}; expected 'minimize' or 'maximize'")
            if len(self.objectives) > 1 and not self.multi_objective:
                raise ValueError(f"agent {self.name!r} ({self.sampler_class}) optimises one objective, got {len(self.objectives)}")
        self.distributions = optuna_distributions(design_space)
        directions = [g for _, g in self.objectives] if self.objectives else ["maximize"]
        with _quiet(optuna):
            sampler = getattr(optuna.samplers, self.sampler_class)(**self.sampler_kwargs(int(self.rng.integers(2**31))))
            self.study = optuna.create_study(directions=directions, sampler=sampler)
        self._trials: dict[Hashable, Any] = {}
        #: told designs: key -> objective value(s), or None for a failure
        self._values: dict[Hashable, Any] = {}

    def sampler_kwargs(self, seed: int) -> dict[str, Any]:
        """Keyword arguments of :attr:`sampler_class` (default: the hyperparameters as they are)."""
        return {**self.hyperparameters, "seed": seed}

    # -- ask / tell ------------------------------------------------------------------------------
    def propose_one(self) -> Design:
        optuna = self._optuna
        with _quiet(optuna):
            for _ in range(MAX_RETRIES):
                trial = self.study.ask(self.distributions)
                design = from_optuna_params(self.design_space, trial.params)
                key = self.key(design)
                if key not in self._seen:
                    break
                # a known design: complete the trial with what we know, spend no evaluation
                known = self._values.get(key)
                if known is None:
                    self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                else:
                    self.study.tell(trial, known)
            else:
                design = self.fresh(lambda: self.design_space.sample(self.rng))
                self.study.enqueue_trial(to_optuna_params(self.design_space, design))
                trial = self.study.ask(self.distributions)
                design = from_optuna_params(self.design_space, trial.params)
                key = self.key(design)
        self._seen.add(key)
        self._trials[key] = trial
        return design

    def update(self, outcome: Outcome) -> None:
        key = self.key(outcome.design)
        trial = self._trials.pop(key)
        values = self.objective_values(outcome) if outcome.feasible else None
        self._values[key] = values
        with _quiet(self._optuna):
            if values is None:
                self.study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(trial, values)

    def objective_values(self, outcome: Outcome) -> float | list[float]:
        """What the study is told for a feasible outcome: the reward, or the objectives' metrics."""
        if self.objectives is None:
            return outcome.reward
        missing = [m for m, _ in self.objectives if m not in outcome.metrics]
        if missing:
            raise ValueError(
                f"objective metric {missing[0]!r} is not among the told metrics ({', '.join(outcome.metrics) or 'none'})"
            )
        return [float(outcome.metrics[m]) for m, _ in self.objectives]


class OptunaTPE(OptunaAgent):
    """Tree-structured Parzen Estimator (Optuna's default sampler; multivariate TPE).

    Models good and bad designs with Parzen estimators and proposes where their density ratio
    is highest; ``constant_liar`` keeps batch/pending proposals apart. Handles categorical
    parameters natively. References: Bergstra et al., NeurIPS 2011; Watanabe, "Tree-structured
    Parzen estimator: understanding its algorithm components", 2023; Optuna (Akiba et al., KDD 2019).
    """

    name = "optuna_tpe"
    sampler_class = "TPESampler"
    hyperparameter_space = DesignSpace(
        [
            Integer("n_startup_trials", 1, 50, default=10),
            Integer("n_ei_candidates", 4, 256, log=True, default=24),
            Categorical("group", _FLAG, default=False),
            Categorical("constant_liar", _FLAG, default=True),
        ]
    )


class OptunaCMAES(OptunaAgent):
    """CMA-ES (covariance matrix adaptation evolution strategy) through Optuna.

    Integers and ordered value lists are searched as a continuous space (``with_margin`` keeps
    the discretised search from collapsing, Hamano et al., GECCO 2022); **categorical parameters
    are not modelled** — Optuna samples them independently at random — so on an all-categorical
    space (NAS-Bench-201) this is random search. Single-objective only. References: Hansen,
    "The CMA evolution strategy: a tutorial", 2016; Optuna's ``CmaEsSampler``.
    """

    name = "optuna_cmaes"
    sampler_class = "CmaEsSampler"
    multi_objective = False
    hyperparameter_space = DesignSpace(
        [
            Integer("n_startup_trials", 0, 50, default=1),
            Integer("popsize", 0, 256, default=0),
            Categorical("with_margin", _FLAG, default=True),
            Categorical("use_separable_cma", _FLAG, default=False),
            Categorical("lr_adapt", _FLAG, default=False),
        ]
    )

    def sampler_kwargs(self, seed: int) -> dict[str, Any]:
        kwargs = super().sampler_kwargs(seed)
        kwargs["popsize"] = kwargs["popsize"] or None  # 0: Optuna's default, 4 + ⌊3 ln d⌋
        return {**kwargs, "warn_independent_sampling": False}


class OptunaGP(OptunaAgent):
    """Optuna's Gaussian-process sampler (Matérn-5/2 with ARD, log EI; Hamming for categoricals).

    ``deterministic_objective`` (our simulators are deterministic) fixes the noise near zero.
    Compare with archgym's own ``bo``, which also excludes evaluated designs from its acquisition
    search and models failures. Reference: Optuna's ``GPSampler`` (Optuna ≥ 3.6).
    """

    name = "optuna_gp"
    sampler_class = "GPSampler"
    hyperparameter_space = DesignSpace(
        [
            Integer("n_startup_trials", 1, 50, default=10),
            Categorical("deterministic_objective", _FLAG, default=True),
        ]
    )

    def sampler_kwargs(self, seed: int) -> dict[str, Any]:
        return {**super().sampler_kwargs(seed), "warn_independent_sampling": False}


class OptunaQMC(OptunaAgent):
    """Quasi-Monte Carlo sampling (scrambled Sobol' or Halton sequences) through Optuna.

    A space-filling replacement for random search: no learning, low-discrepancy coverage.
    Reference: Bergstra & Bengio, JMLR 2012 (quasi-random search); Owen, "Scrambling Sobol' and
    Niederreiter–Xing points", 1998; Optuna's ``QMCSampler``.
    """

    name = "optuna_qmc"
    sampler_class = "QMCSampler"
    hyperparameter_space = DesignSpace(
        [
            Categorical("qmc_type", ("sobol", "halton"), default="sobol"),
            Categorical("scramble", _FLAG, default=True),
        ]
    )

    def sampler_kwargs(self, seed: int) -> dict[str, Any]:
        return {**super().sampler_kwargs(seed), "warn_independent_sampling": False, "warn_asynchronous_seeding": False}


class OptunaNSGA2(OptunaAgent):
    """NSGA-II (non-dominated sorting genetic algorithm) through Optuna.

    Made for several objectives (``objectives=[...]``: Pareto ranks and crowding distance);
    with one it is a generational GA. :meth:`run` asks for one generation
    (``population_size``) at a time. Reference: Deb et al., "A fast and elitist multiobjective
    genetic algorithm: NSGA-II", IEEE TEC 2002; Optuna's ``NSGAIISampler``.
    """

    name = "optuna_nsga2"
    sampler_class = "NSGAIISampler"
    hyperparameter_space = DesignSpace(
        [
            Integer("population_size", 4, 256, default=20),
            Real("crossover_prob", 0.0, 1.0, default=0.9),
            Real("swapping_prob", 0.0, 1.0, default=0.5),
        ]
    )

    @property
    def batch_size(self) -> int:
        return int(self.hyperparameters["population_size"])


#: sampler name (as in ``make_optuna_agent``) -> agent class
SAMPLERS: dict[str, type[OptunaAgent]] = {
    "tpe": OptunaTPE,
    "cmaes": OptunaCMAES,
    "gp": OptunaGP,
    "qmc": OptunaQMC,
    "nsga2": OptunaNSGA2,
}


def make_optuna_agent(sampler: str, design_space: DesignSpace, seed: int | None = None, **kwargs: Any) -> OptunaAgent:
    """An Optuna sampler agent by sampler name (``tpe``, ``cmaes``, ``gp``, ``qmc``, ``nsga2``)."""
    try:
        cls = SAMPLERS[sampler]
    except KeyError:
        raise ValueError(f"unknown Optuna sampler {sampler!r}; expected one of {', '.join(SAMPLERS)}") from None
    return cls(design_space, seed=seed, **kwargs)
