"""The regressors a proxy can use, and how its accuracy is scored.

Three model kinds, one scikit-learn regressor per metric, all seeded:

* ``rf``: random forest, the model of ArchGym's proxy cost models.
* ``gbt``: histogram gradient-boosted trees (LightGBM-style), the predictor family of GBDT-NAS.
* ``mlp``: a multi-layer perceptron on standardised features and targets.

Accuracy (:func:`score`) is measured on held-out designs: RMSE as a percentage of the metric's
range and of its mean (ArchGym reports a relative RMSE), MAPE, R², and Kendall's τ between the
true and the predicted ranking — what a search agent driven by the proxy actually needs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

from archgym.errors import UserError, import_optional

#: the model kinds :func:`make_regressor` builds, with a one-line description
MODEL_KINDS: dict[str, str] = {
    "rf": "random forest (ArchGym's proxy model)",
    "gbt": "histogram gradient-boosted trees (as GBDT-NAS)",
    "mlp": "multi-layer perceptron on standardised features and targets",
}


def _random_forest(seed: int | None, **params: Any) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    # n_jobs=1: a proxy answers one design at a time inside an env; thread start-up would dominate
    return RandomForestRegressor(**{"n_estimators": 100, "n_jobs": 1, "random_state": seed, **params})


def _boosted_trees(seed: int | None, **params: Any) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    defaults = {"max_iter": 300, "learning_rate": 0.1, "min_samples_leaf": 5, "early_stopping": False}
    return HistGradientBoostingRegressor(**{**defaults, "random_state": seed, **params})


def _perceptron(seed: int | None, **params: Any) -> Any:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    defaults = {"hidden_layer_sizes": (64, 64), "max_iter": 2000, "alpha": 1e-4, "learning_rate_init": 1e-3}
    network = MLPRegressor(**{**defaults, "random_state": seed, **params})
    return TransformedTargetRegressor(regressor=make_pipeline(StandardScaler(), network), transformer=StandardScaler())


_BUILDERS: dict[str, Callable[..., Any]] = {"rf": _random_forest, "gbt": _boosted_trees, "mlp": _perceptron}


def make_regressor(kind: str, seed: int | None = 0, **params: Any) -> Any:
    """An unfitted scikit-learn regressor of ``kind`` (``rf``, ``gbt`` or ``mlp``).

    ``params`` override the defaults (e.g. ``n_estimators`` for ``rf``, ``max_iter`` for
    ``gbt``, ``hidden_layer_sizes`` for ``mlp``); ``seed`` is its ``random_state``.
    """
    try:
        builder = _BUILDERS[kind]
    except KeyError:
        raise UserError(f"unknown proxy model kind {kind!r}; expected one of {', '.join(MODEL_KINDS)}") from None
    import_optional("sklearn", "proxy", "proxy models")
    try:
        return builder(seed, **params)
    except TypeError as exc:
        raise UserError(f"invalid parameters {params!r} for proxy model {kind!r}: {exc}") from None


def predict(estimator: Any, features: np.ndarray) -> np.ndarray:
    """``estimator.predict(features)``, with a fast path for one design at a time.

    A single-output random forest is averaged over its trees' low-level ``tree_`` objects in
    scikit-learn's own order, which gives the same numbers as ``RandomForestRegressor.predict``
    without its per-call input validation and thread dispatch: about 10x faster for the
    one-design calls an env makes. Every other estimator uses its ``predict``.
    """
    import numpy as np  # here: listing the model kinds (the CLI's parser) stays light

    from sklearn.ensemble import RandomForestRegressor

    if type(estimator) is RandomForestRegressor and estimator.n_outputs_ == 1:
        x = np.ascontiguousarray(features, dtype=np.float32)
        total = np.zeros(len(x))
        for tree in estimator.estimators_:
            total += tree.tree_.predict(x).reshape(len(x))
        return total / len(estimator.estimators_)
    return np.asarray(estimator.predict(features), dtype=np.float64)


def score(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Held-out accuracy of one metric's predictions.

    Returns ``rmse``; ``rmse_pct_range`` = 100·RMSE / (max − min of ``y_true``); ``rmse_pct_mean``
    = 100·RMSE / |mean of ``y_true``|; ``mape`` = mean of 100·|ŷ − y| / |y| over rows with
    ``y ≠ 0``; ``r2``; ``kendall_tau`` (τ-b between true and predicted values). A figure
    whose denominator is zero (a constant metric) is NaN rather than infinite.
    """
    import numpy as np  # here: listing the model kinds (the CLI's parser) stays light

    from scipy.stats import kendalltau
    from sklearn.metrics import r2_score

    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) < 2:
        raise ValueError(f"score needs two 1-D arrays of equal length >= 2, got {y_true.shape} and {y_pred.shape}")
    rmse = float(np.sqrt(np.mean((y_pred - y_true) ** 2)))
    spread = float(np.ptp(y_true))
    mean = float(abs(np.mean(y_true)))
    nonzero = y_true != 0
    constant = spread == 0
    tau = math.nan if constant or np.ptp(y_pred) == 0 else float(kendalltau(y_true, y_pred).statistic)
    return {
        "rmse": rmse,
        "rmse_pct_range": 100 * rmse / spread if spread > 0 else math.nan,
        "rmse_pct_mean": 100 * rmse / mean if mean > 0 else math.nan,
        "mape": float(100 * np.mean(np.abs(y_pred[nonzero] - y_true[nonzero]) / np.abs(y_true[nonzero])))
        if nonzero.any() else math.nan,
        "r2": math.nan if constant else float(r2_score(y_true, y_pred)),
        "kendall_tau": tau,
    }
