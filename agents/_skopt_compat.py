"""Work-arounds that keep scikit-optimize 0.10.2 working (and fast) with current scikit-learn/NumPy.

scikit-optimize's last release (0.10.2, 2024) predates two upstream changes that break its
``"GBRT"`` surrogate (the other surrogates, ``GP``/``RF``/``ET``, are unaffected):

* scikit-learn ≥ 1.6 decides :func:`sklearn.base.is_regressor` from ``__sklearn_tags__``, and
  ``skopt.learning.GradientBoostingQuantileRegressor`` lists ``RegressorMixin`` *after*
  ``BaseEstimator``, so its tags say "not a regressor" and ``skopt.Optimizer`` rejects it
  ("... has to be a regressor").
* NumPy 2.4 removed ``np.in1d``, which its ``predict(return_std=True)`` calls.

:class:`QuantileGBRT` fixes both by subclassing; nothing is monkey-patched. Pinning instead
(``scikit-learn<1.6``, ``numpy<2.4``) would hold the whole project back for one surrogate.

:class:`FastGP` is skopt's Gaussian process with a BLAS-backed predictive variance: skopt computes
it with a three-operand ``np.einsum`` that NumPy does not hand to BLAS (0.6 s for 2,000
candidates against 500 observations, 80 % of a BO step); the result is the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.utils import check_array
from skopt.learning import GaussianProcessRegressor, GradientBoostingQuantileRegressor
from skopt.space import Space
from skopt.utils import cook_estimator

#: the quantiles skopt's GBRT surrogate predicts; std ≈ (q84 − q16) / 2
_STD_QUANTILES = (0.16, 0.5, 0.84)


class QuantileGBRT(GradientBoostingQuantileRegressor):
    """skopt's gradient-boosted quantile surrogate, declared a regressor and NumPy-2.4 safe."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        try:  # scikit-learn >= 1.6
            from sklearn.utils import RegressorTags

            tags.regressor_tags = RegressorTags()
        except ImportError:  # pragma: no cover - older scikit-learn reads _estimator_type instead
            pass
        return tags

    def predict(self, X: Any, return_std: bool = False, return_quantiles: bool = False) -> Any:
        if return_quantiles:
            return np.asarray([rgr.predict(X) for rgr in self.regressors_]).T
        quantiles = list(self.quantiles)
        mean = self.regressors_[quantiles.index(0.5)].predict(X)
        if not return_std:
            return mean
        if not np.all(np.isin(_STD_QUANTILES, quantiles)):
            raise ValueError("return_std works only if the quantiles during instantiation include 0.16, 0.5 and 0.84")
        low = self.regressors_[quantiles.index(0.16)].predict(X)
        high = self.regressors_[quantiles.index(0.84)].predict(X)
        return mean, (high - low) / 2.0


def gbrt_surrogate(random_state: int) -> QuantileGBRT:
    """The surrogate skopt builds for ``base_estimator="GBRT"``, with the fixes above."""
    return QuantileGBRT(
        base_estimator=GradientBoostingRegressor(n_estimators=30, loss="quantile"),
        random_state=random_state,
        n_jobs=1,
    )


class FastGP(GaussianProcessRegressor):
    """skopt's GP surrogate; ``predict(X, return_std=True)`` computes the variance with BLAS."""

    def predict(
        self,
        X: Any,
        return_std: bool = False,
        return_cov: bool = False,
        return_mean_grad: bool = False,
        return_std_grad: bool = False,
    ) -> Any:
        if not return_std or return_cov or return_mean_grad or return_std_grad or not hasattr(self, "X_train_"):
            return super().predict(X, return_std, return_cov, return_mean_grad, return_std_grad)
        X = check_array(X)
        K_trans = self.kernel_(X, self.X_train_)
        y_mean = self.y_train_std_ * K_trans.dot(self.alpha_) + self.y_train_mean_
        # diag(K** − K* K⁻¹ K*ᵀ), as skopt's einsum("ki,kj,ij->k") but through a matrix product
        y_var = self.kernel_.diag(X) - np.einsum("ij,ij->i", K_trans @ self.K_inv_, K_trans)
        y_var = np.maximum(y_var, 0.0) * self.y_train_std_**2
        return y_mean, np.sqrt(y_var)


def gp_surrogate(dimensions: list[Any], random_state: int) -> FastGP:
    """The surrogate skopt builds for ``base_estimator="GP"`` (Matern or Hamming kernel), as :class:`FastGP`."""
    gp = cook_estimator("GP", space=Space(dimensions), random_state=random_state)
    return FastGP(**gp.get_params(deep=False))
