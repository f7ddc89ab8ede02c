"""A small Gaussian process for mixed categorical/ordered design spaces (NumPy + SciPy).

Used by the ``bo`` agent. Designs are encoded by :class:`MixedEncoding`: ordered parameters
(reals, integers, ordered value lists) as a position in ``[0, 1]`` (log scale where the
parameter is log-scaled; a value list by its rank, so powers of two sit evenly), categorical
parameters as a choice index. The kernel is a Matérn-5/2 on the distance

    r² = Σ_ordered θ_j (x_j − x'_j)² + Σ_categorical θ_i [x_i ≠ x'_i]

— an ARD squared distance for ordered parameters and a weighted Hamming (overlap) distance for
categorical ones, so no order is ever invented between categorical choices (the kernel of
CoCaBO/CASMOPOLITAN-style mixed BO and of Optuna's GP sampler). Hyperparameters (one θ per
parameter, signal variance, noise) are fitted by maximising the log marginal likelihood plus
weak log-normal priors, with analytic gradients and L-BFGS-B, warm-started from the last fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize

from archgym.spaces import Design, Integer, Parameter, Real

_SQRT5 = math.sqrt(5.0)
#: bounds of the log hyperparameters: θ (per parameter), signal variance, noise variance
_LOG_THETA = (math.log(1e-3), math.log(1e3))
_LOG_SIGNAL = (math.log(0.05), math.log(20.0))
_LOG_NOISE = (math.log(1e-6), math.log(0.5))
#: weak priors (mean, sd) on the log hyperparameters: correlation ≈ 0.5 between designs one
#: categorical change (or the full ordered range) apart; small noise
_PRIOR_THETA = (0.0, 1.5)
_PRIOR_NOISE = (math.log(1e-2), 2.0)
_JITTER = 1e-8


class MixedEncoding:
    """Designs as ``(ordered features in [0, 1], categorical indices)``."""

    def __init__(self, parameters: Sequence[Parameter]) -> None:
        self.ordered = [p for p in parameters if p.ordered]
        self.categorical = [p for p in parameters if not p.ordered]
        # value -> index tables (a parameter whose choices collide as dict keys, e.g. 1 and True,
        # falls back to its own index())
        self._tables = {}
        for p in parameters:
            if not isinstance(p, (Real, Integer)):
                table = {choice: i for i, choice in enumerate(p.choices)}
                if len(table) == p.n:
                    self._tables[p.name] = table

    @property
    def n_dims(self) -> int:
        return len(self.ordered) + len(self.categorical)

    def encode(self, designs: Sequence[Design]) -> tuple[np.ndarray, np.ndarray]:
        m = len(designs)
        xo = np.empty((m, len(self.ordered)), dtype=np.float64)
        for j, p in enumerate(self.ordered):
            values = [d[p.name] for d in designs]
            if isinstance(p, (Real, Integer)):
                x = np.asarray(values, dtype=np.float64)
                low, high = float(p.low), float(p.high)
                if p.log:
                    x, low, high = np.log(x), math.log(low), math.log(high)
                xo[:, j] = (x - low) / (high - low) if high > low else 0.0
            else:
                xo[:, j] = np.asarray(self._indices(p, values), dtype=np.float64) / max(p.n - 1, 1)
        xc = np.empty((m, len(self.categorical)), dtype=np.int64)
        for j, p in enumerate(self.categorical):
            xc[:, j] = self._indices(p, [d[p.name] for d in designs])
        return xo, xc

    def _indices(self, p: Parameter, values: list) -> list[int]:
        table = self._tables.get(p.name)
        if table is None:
            return [p.index(v) for v in values]
        return [table[v] if v in table else p.index(v) for v in values]


def _matern52(s: np.ndarray) -> np.ndarray:
    r = np.sqrt(np.maximum(s, 0.0))
    return (1.0 + _SQRT5 * r + 5.0 / 3.0 * s) * np.exp(-_SQRT5 * r)


def _matern52_ds(s: np.ndarray) -> np.ndarray:
    """d Matérn52 / d(r²) — finite at r = 0."""
    r = np.sqrt(np.maximum(s, 0.0))
    return -5.0 / 6.0 * (1.0 + _SQRT5 * r) * np.exp(-_SQRT5 * r)


def _distances(ao: np.ndarray, ac: np.ndarray, bo: np.ndarray, bc: np.ndarray) -> np.ndarray:
    """Per-dimension squared distances (ordered) and mismatches (categorical), shape (d, m, n)."""
    parts = [(ao[:, None, j] - bo[None, :, j]) ** 2 for j in range(ao.shape[1])]
    parts += [(ac[:, None, j] != bc[None, :, j]).astype(np.float64) for j in range(ac.shape[1])]
    return np.stack(parts) if parts else np.zeros((0, len(ao), len(bo)))


@dataclass
class Hyperparameters:
    log_theta: np.ndarray
    log_signal: float = 0.0
    log_noise: float = math.log(1e-2)

    def vector(self) -> np.ndarray:
        return np.concatenate([self.log_theta, [self.log_signal, self.log_noise]])

    @classmethod
    def from_vector(cls, v: np.ndarray) -> "Hyperparameters":
        return cls(np.array(v[:-2]), float(v[-2]), float(v[-1]))


class MixedGP:
    """GP regression on :class:`MixedEncoding` features with a constant mean (see the module)."""

    def __init__(self, encoding: MixedEncoding) -> None:
        self.encoding = encoding
        self.hyper = Hyperparameters(np.zeros(encoding.n_dims))
        self._xo = np.zeros((0, len(encoding.ordered)))
        self._xc = np.zeros((0, len(encoding.categorical)), dtype=np.int64)

    # -- fitting --------------------------------------------------------------------------
    def fit(self, xo: np.ndarray, xc: np.ndarray, y: np.ndarray, optimise: bool = True) -> None:
        """Condition on ``(x, y)``; with ``optimise`` first refit the hyperparameters (MAP)."""
        self._xo, self._xc, y = xo, xc, np.asarray(y, dtype=np.float64)
        self.mean = float(y.mean()) if len(y) else 0.0
        self._y = y - self.mean
        if optimise and len(y) >= 2:
            distances = _distances(xo, xc, xo, xc)
            bounds = [_LOG_THETA] * self.encoding.n_dims + [_LOG_SIGNAL, _LOG_NOISE]
            start = np.clip(self.hyper.vector(), [b[0] for b in bounds], [b[1] for b in bounds])
            best = minimize(
                self._negative_log_posterior, start, args=(distances, self._y), jac=True,
                method="L-BFGS-B", bounds=bounds, options={"maxiter": 60},
            )
            if np.isfinite(best.fun):
                self.hyper = Hyperparameters.from_vector(best.x)
        self._condition()

    def _kernel(self, distances: np.ndarray, hyper: Hyperparameters) -> tuple[np.ndarray, np.ndarray]:
        theta = np.exp(hyper.log_theta)
        s = np.tensordot(theta, distances, axes=1) if len(theta) else np.zeros(distances.shape[1:])
        return math.exp(hyper.log_signal) * _matern52(s), s

    def _negative_log_posterior(self, v: np.ndarray, distances: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        hyper = Hyperparameters.from_vector(v)
        n = len(y)
        signal, noise = math.exp(hyper.log_signal), math.exp(hyper.log_noise)
        k, s = self._kernel(distances, hyper)
        k[np.diag_indices(n)] += noise + _JITTER
        try:
            chol = cholesky(k, lower=True)
        except np.linalg.LinAlgError:
            return math.inf, np.zeros_like(v)
        alpha = cho_solve((chol, True), y)
        log_likelihood = -0.5 * y @ alpha - np.log(np.diag(chol)).sum() - 0.5 * n * math.log(2 * math.pi)
        w = np.outer(alpha, alpha) - cho_solve((chol, True), np.eye(n))
        a = w * (signal * _matern52_ds(s))
        theta = np.exp(hyper.log_theta)
        grad_theta = 0.5 * theta * np.tensordot(distances, a, axes=([1, 2], [0, 1])) if len(theta) else np.zeros(0)
        grad_signal = 0.5 * float(np.sum(w * (k - np.eye(n) * (noise + _JITTER))))
        grad_noise = 0.5 * noise * float(np.trace(w))
        # log-normal priors
        mu_t, sd_t = _PRIOR_THETA
        mu_n, sd_n = _PRIOR_NOISE
        log_prior = -0.5 * np.sum(((hyper.log_theta - mu_t) / sd_t) ** 2) - 0.5 * ((hyper.log_noise - mu_n) / sd_n) ** 2
        grad_theta = grad_theta - (hyper.log_theta - mu_t) / sd_t**2
        grad_noise -= (hyper.log_noise - mu_n) / sd_n**2
        grad = np.concatenate([grad_theta, [grad_signal, grad_noise]])
        return -(log_likelihood + log_prior), -grad

    def _condition(self) -> None:
        distances = _distances(self._xo, self._xc, self._xo, self._xc)
        k, _ = self._kernel(distances, self.hyper)
        k[np.diag_indices(len(k))] += math.exp(self.hyper.log_noise) + _JITTER
        self._chol = cholesky(k, lower=True) if len(k) else np.zeros((0, 0))
        self._alpha = cho_solve((self._chol, True), self._y) if len(k) else np.zeros(0)

    # -- prediction -------------------------------------------------------------------------
    def distances(self, xo: np.ndarray, xc: np.ndarray) -> np.ndarray:
        """Per-dimension distances between ``x`` and the training points (reusable by
        :meth:`predict` of every GP trained on the same designs)."""
        return _distances(xo, xc, self._xo, self._xc)

    def correlation(self, xo: np.ndarray, xc: np.ndarray, distances: np.ndarray | None = None) -> np.ndarray:
        """Kernel correlation (signal variance divided out) between ``x`` and the training points."""
        k, _ = self._kernel(self.distances(xo, xc) if distances is None else distances, self.hyper)
        return k / math.exp(self.hyper.log_signal)

    def predict(self, xo: np.ndarray, xc: np.ndarray, distances: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent function at ``x`` (``distances``:
        :meth:`distances` of ``x``, when already computed)."""
        signal = math.exp(self.hyper.log_signal)
        if len(self._y) == 0:
            return np.full(len(xo), self.mean), np.full(len(xo), math.sqrt(signal))
        k = signal * self.correlation(xo, xc, distances)
        mean = self.mean + k @ self._alpha
        v = solve_triangular(self._chol, k.T, lower=True)
        var = np.maximum(signal - np.einsum("ij,ij->j", v, v), 1e-12)
        return mean, np.sqrt(var)
