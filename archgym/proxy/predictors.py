"""Fitted proxy models as plain arrays: converted from scikit-learn, validated in full, compiled.

A proxy file stores no Python objects. Each metric's model is a handful of numeric arrays:

* :class:`TreeEnsemble` -- a random forest (the mean of its trees) or histogram gradient-boosted
  trees (a baseline plus the sum of its trees, then the loss's inverse link). Per node:
  ``left``/``right`` child (-1 at a leaf), split ``feature`` and ``threshold`` (go left when
  ``x[feature] <= threshold``), ``missing_left`` (where a NaN goes) and ``value`` (at leaves).
* :class:`Perceptron` -- a multi-layer perceptron between two standard scalers (the
  ``mlp`` kind): feature mean/scale, weight matrices and biases, target mean/scale.

:meth:`TreeEnsemble.validate` and :meth:`Perceptron.validate` check everything a crafted file
could get wrong before any prediction runs: array shapes and dtypes, every child index inside
its own tree and greater than its parent's (so every walk from the root ends at a leaf within
the tree's node count: no cycle, no self-loop, no out-of-range read), every node but the root
with exactly one parent, every split feature below ``n_features``, no NaN threshold, finite
values, known activations and links.

Prediction of a whole proxy (all its metrics at once) is compiled: :class:`CompiledForest`
packs every tree of every metric into one node table and walks them with numba, many trees
side by side so the CPU overlaps their memory loads; leaves point to themselves *in memory
only* so a walk needs no branch to stop. The sums run in scikit-learn's order (trees in
sequence after the baseline, the forest's sum divided by its tree count), so predictions equal
scikit-learn's bit for bit on the same inputs. Designs made of known discrete choices skip the
walk where every tree has at most 64 leaves: bit masks per choice, ANDed
(:mod:`archgym.proxy.quickscorer`). MLPs run as a numpy forward pass (:class:`PerceptronStack`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from archgym.proxy.quickscorer import (
    _REGISTER_SUMS,
    _choice_masks,
    _finish_row,
    _forest_choices_index,
    _forest_choices_number,
    _forest_choices_number_tuple,
    _forest_predict_choices,
    _group_masks,
    _leaf_counts,
)

#: hidden-layer activations a stored MLP may use (scikit-learn's names)
ACTIVATIONS: tuple[str, ...] = ("identity", "logistic", "tanh", "relu")
#: inverse links a stored tree ensemble may apply to its raw sum
LINKS: tuple[str, ...] = ("identity", "exp")
#: how a tree ensemble combines its trees: the forest's mean or boosting's baseline plus sum
COMBINES: tuple[str, ...] = ("mean", "sum")
#: trees walked side by side by the compiled predictor
BLOCK_TREES = 16


class PredictorError(ValueError):
    """A model's arrays or parameters are malformed (the message names the array and the fault)."""


# -- tree ensembles ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class TreeEnsemble:
    """One metric's trees as flat arrays (see the module docstring for the node layout).

    Tree ``t`` owns nodes ``offsets[t]`` to ``offsets[t + 1] - 1``, its root first; child
    indices are global (into the flat arrays). ``combine="mean"`` divides the sum of the trees
    by their count (random forest); ``"sum"`` adds them to ``baseline`` (boosting). ``link``
    maps the result to the metric (``"exp"`` for a log-link loss). ``float32_input``: the
    features are rounded to float32 before comparison, as scikit-learn's decision trees do.
    """

    n_features: int
    offsets: np.ndarray  # int64 (n_trees + 1,)
    left: np.ndarray  # int32 (n_nodes,)
    right: np.ndarray  # int32 (n_nodes,)
    feature: np.ndarray  # int32 (n_nodes,)
    threshold: np.ndarray  # float64 (n_nodes,)
    missing_left: np.ndarray  # uint8 (n_nodes,)
    value: np.ndarray  # float64 (n_nodes,)
    combine: str = "mean"
    baseline: float = 0.0
    link: str = "identity"
    float32_input: bool = True

    ARRAYS = ("offsets", "left", "right", "feature", "threshold", "missing_left", "value")
    DTYPES = {"offsets": "<i8", "left": "<i4", "right": "<i4", "feature": "<i4", "threshold": "<f8",
              "missing_left": "|u1", "value": "<f8"}

    @property
    def n_trees(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_nodes(self) -> int:
        return len(self.left)

    def params(self) -> dict[str, Any]:
        """The scalar fields, as stored in a proxy file's JSON header."""
        return {"type": "trees", "n_features": self.n_features, "combine": self.combine,
                "baseline": self.baseline, "link": self.link, "float32_input": self.float32_input}

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.ARRAYS}

    @classmethod
    def from_parts(cls, params: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> "TreeEnsemble":
        """Rebuild from :meth:`params` and :meth:`arrays` (e.g. read from a file) and validate it."""
        _expect_keys("tree ensemble", params, {"type", "n_features", "combine", "baseline", "link", "float32_input"})
        _expect_keys("tree ensemble arrays", arrays, set(cls.ARRAYS))
        ensemble = cls(
            n_features=_integer(params["n_features"], "n_features"),
            combine=params["combine"], baseline=_number(params["baseline"], "baseline"), link=params["link"],
            float32_input=_flag(params["float32_input"], "float32_input"),
            **{name: arrays[name] for name in cls.ARRAYS},
        )
        ensemble.validate()
        return ensemble

    def validate(self) -> None:
        """Raise :class:`PredictorError` unless every walk from every root ends at a leaf in range."""
        if self.combine not in COMBINES:
            raise PredictorError(f"tree ensemble: combine {self.combine!r} is not one of {', '.join(COMBINES)}")
        if self.link not in LINKS:
            raise PredictorError(f"tree ensemble: link {self.link!r} is not one of {', '.join(LINKS)}")
        if not math.isfinite(self.baseline):
            raise PredictorError(f"tree ensemble: baseline {self.baseline!r} is not finite")
        if self.n_features < 1:
            raise PredictorError(f"tree ensemble: n_features must be >= 1, got {self.n_features}")
        for name in self.ARRAYS:
            array = getattr(self, name)
            if not isinstance(array, np.ndarray) or array.ndim != 1 or array.dtype != np.dtype(self.DTYPES[name]):
                found = f"{array.dtype} {array.shape}" if isinstance(array, np.ndarray) else type(array).__name__
                raise PredictorError(f"tree ensemble: array {name!r} must be 1-D {self.DTYPES[name]}, got {found}")
        n = self.n_nodes
        if any(len(getattr(self, name)) != n for name in self.ARRAYS if name != "offsets"):
            sizes = {name: len(getattr(self, name)) for name in self.ARRAYS if name != "offsets"}
            raise PredictorError(f"tree ensemble: node arrays differ in length: {sizes}")
        offsets = self.offsets
        if len(offsets) < 2 or offsets[0] != 0 or offsets[-1] != n or np.any(np.diff(offsets) < 1):
            raise PredictorError(
                f"tree ensemble: offsets must rise strictly from 0 to the node count {n} (one root per tree), "
                f"got {_preview(offsets)}"
            )
        if n >= np.iinfo(np.int32).max:
            raise PredictorError(f"tree ensemble: {n} nodes exceed the int32 index range")
        index = np.arange(n, dtype=np.int64)
        end = np.repeat(offsets[1:], np.diff(offsets))  # one past the last node of each node's tree
        left, right = self.left.astype(np.int64), self.right.astype(np.int64)
        leaf = left == -1
        bad_leaf = leaf & (right != -1)
        if bad_leaf.any():
            i = int(np.flatnonzero(bad_leaf)[0])
            raise PredictorError(f"tree ensemble: node {i} has left child -1 (a leaf) but right child {right[i]}")
        for side, child in (("left", left), ("right", right)):
            bad = ~leaf & ((child <= index) | (child >= end))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                what = "points to itself" if child[i] == i else (
                    "points back to an earlier node (a cycle)" if 0 <= child[i] < i else "points outside its tree")
                raise PredictorError(
                    f"tree ensemble: node {i}'s {side} child {child[i]} {what}; a child must lie after its parent "
                    f"within the same tree (nodes {i + 1}..{end[i] - 1})"
                )
        parents = np.bincount(np.concatenate([left[~leaf], right[~leaf]]), minlength=n)
        is_root = np.zeros(n, dtype=bool)
        is_root[offsets[:-1]] = True
        wrong = parents != np.where(is_root, 0, 1)
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            expected = "a root has none" if is_root[i] else "every other node has exactly one"
            raise PredictorError(f"tree ensemble: node {i} has {int(parents[i])} parent(s); {expected}")
        internal = ~leaf
        bad_feature = internal & ((self.feature < 0) | (self.feature >= self.n_features))
        if bad_feature.any():
            i = int(np.flatnonzero(bad_feature)[0])
            raise PredictorError(
                f"tree ensemble: node {i} splits on feature {int(self.feature[i])}; expected 0..{self.n_features - 1}"
            )
        bad_threshold = internal & np.isnan(self.threshold)
        if bad_threshold.any():
            raise PredictorError(f"tree ensemble: node {int(np.flatnonzero(bad_threshold)[0])} has a NaN threshold")
        bad_value = leaf & ~np.isfinite(self.value)
        if bad_value.any():
            i = int(np.flatnonzero(bad_value)[0])
            raise PredictorError(f"tree ensemble: leaf {i} has a non-finite value {self.value[i]!r}")
        if np.any(self.missing_left > 1):
            raise PredictorError("tree ensemble: missing_left must be 0 or 1")

    @classmethod
    def from_sklearn(cls, estimator: Any) -> "TreeEnsemble":
        """Convert a fitted single-output ``RandomForestRegressor``/``ExtraTreesRegressor`` or
        ``HistGradientBoostingRegressor`` (numeric features, no categorical splits)."""
        from sklearn.ensemble import ExtraTreesRegressor, HistGradientBoostingRegressor, RandomForestRegressor

        if isinstance(estimator, (RandomForestRegressor, ExtraTreesRegressor)):
            if estimator.n_outputs_ != 1:
                raise PredictorError(f"only single-output forests convert, this one has {estimator.n_outputs_} outputs")
            trees = [e.tree_ for e in estimator.estimators_]
            parts = [(t.children_left, t.children_right, t.feature, t.threshold,
                      t.missing_go_to_left, t.value[:, 0, 0]) for t in trees]
            return cls._assemble(parts, estimator.n_features_in_, combine="mean", baseline=0.0, link="identity",
                                 float32_input=True)
        if isinstance(estimator, HistGradientBoostingRegressor):
            if estimator.is_categorical_ is not None and np.any(estimator.is_categorical_):
                raise PredictorError("gradient-boosted trees with categorical splits do not convert")
            link = {"IdentityLink": "identity", "LogLink": "exp"}.get(type(estimator._loss.link).__name__)
            if link is None:
                raise PredictorError(f"loss {estimator.loss!r} has an unsupported link {type(estimator._loss.link).__name__}")
            parts = []
            for (predictor,) in estimator._predictors:
                nodes = predictor.nodes
                leaf = nodes["is_leaf"].astype(bool)
                left = np.where(leaf, -1, nodes["left"].astype(np.int64))
                right = np.where(leaf, -1, nodes["right"].astype(np.int64))
                parts.append((left, right, nodes["feature_idx"], nodes["num_threshold"], nodes["missing_go_to_left"],
                              nodes["value"]))
            baseline = float(np.asarray(estimator._baseline_prediction).reshape(-1)[0])
            return cls._assemble(parts, estimator.n_features_in_, combine="sum", baseline=baseline, link=link,
                                 float32_input=False)
        raise PredictorError(f"cannot convert a {type(estimator).__name__} to a tree ensemble")

    @classmethod
    def _assemble(cls, parts: Sequence[tuple[np.ndarray, ...]], n_features: int, **params: Any) -> "TreeEnsemble":
        sizes = np.array([len(p[0]) for p in parts], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

        def flat(k: int, dtype: str, shift: bool = False) -> np.ndarray:
            columns = []
            for start, part in zip(offsets[:-1], parts):
                column = np.asarray(part[k]).astype(np.int64) if shift else np.asarray(part[k])
                columns.append(np.where(column >= 0, column + start, -1) if shift else column)
            return np.concatenate(columns).astype(dtype)

        left, right = flat(0, "<i4", shift=True), flat(1, "<i4", shift=True)
        leaf = left == -1
        feature = np.where(leaf, 0, flat(2, "<i8")).astype("<i4")  # scikit-learn marks a leaf's feature -2
        threshold = np.where(leaf, 0.0, flat(3, "<f8"))
        ensemble = cls(int(n_features), offsets, left, right, feature, threshold, flat(4, "|u1"), flat(5, "<f8"), **params)
        ensemble.validate()
        return ensemble


# -- multi-layer perceptrons ----------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Perceptron:
    """One metric's MLP: ``y = net((x - x_mean) / x_scale) * y_scale + y_mean``.

    ``weights[i]`` has shape ``(inputs, outputs)`` of layer ``i``; the hidden layers apply
    ``activation``, the output layer none (a regressor's identity output).
    """

    n_features: int
    x_mean: np.ndarray
    x_scale: np.ndarray
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activation: str
    y_mean: float
    y_scale: float

    def params(self) -> dict[str, Any]:
        return {"type": "mlp", "n_features": self.n_features, "layers": len(self.weights),
                "activation": self.activation, "y_mean": self.y_mean, "y_scale": self.y_scale}

    def arrays(self) -> dict[str, np.ndarray]:
        result = {"x_mean": self.x_mean, "x_scale": self.x_scale}
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            result[f"weight{i}"], result[f"bias{i}"] = w, b
        return result

    @classmethod
    def from_parts(cls, params: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> "Perceptron":
        _expect_keys("mlp", params, {"type", "n_features", "layers", "activation", "y_mean", "y_scale"})
        layers = _integer(params["layers"], "layers")
        if not 1 <= layers <= 64:
            raise PredictorError(f"mlp: {layers} layers; expected 1..64")
        _expect_keys("mlp arrays", arrays, {"x_mean", "x_scale"} | {f"{k}{i}" for i in range(layers) for k in ("weight", "bias")})
        network = cls(
            n_features=_integer(params["n_features"], "n_features"),
            x_mean=arrays["x_mean"], x_scale=arrays["x_scale"],
            weights=tuple(arrays[f"weight{i}"] for i in range(layers)),
            biases=tuple(arrays[f"bias{i}"] for i in range(layers)),
            activation=params["activation"],
            y_mean=_number(params["y_mean"], "y_mean"), y_scale=_number(params["y_scale"], "y_scale"),
        )
        network.validate()
        return network

    def validate(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise PredictorError(f"mlp: activation {self.activation!r} is not one of {', '.join(ACTIVATIONS)}")
        if not (math.isfinite(self.y_mean) and math.isfinite(self.y_scale) and self.y_scale != 0):
            raise PredictorError(f"mlp: target scaling ({self.y_mean!r}, {self.y_scale!r}) must be finite, scale non-zero")
        arrays = {"x_mean": self.x_mean, "x_scale": self.x_scale, **self.arrays()}
        for name, array in arrays.items():
            if not isinstance(array, np.ndarray) or array.dtype != np.float64:
                raise PredictorError(f"mlp: array {name!r} must be float64")
            if not np.all(np.isfinite(array)):
                raise PredictorError(f"mlp: array {name!r} holds non-finite values")
        if self.x_mean.shape != (self.n_features,) or self.x_scale.shape != (self.n_features,):
            raise PredictorError(f"mlp: feature scaling must have shape ({self.n_features},), got "
                                 f"{self.x_mean.shape} and {self.x_scale.shape}")
        if np.any(self.x_scale == 0):
            raise PredictorError("mlp: a feature scale is zero")
        width = self.n_features
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if w.ndim != 2 or w.shape[0] != width or b.shape != (w.shape[1],):
                raise PredictorError(f"mlp: layer {i} has weights {w.shape} and bias {b.shape}; expected ({width}, k) and (k,)")
            width = w.shape[1]
        if width != 1:
            raise PredictorError(f"mlp: the last layer has {width} outputs; expected 1")

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions for the rows of ``x`` (as scikit-learn's pipeline computes them)."""
        h = (x - self.x_mean) / self.x_scale
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w
            h += b
            if i < last:
                h = _ACTIVATE[self.activation](h)
        return h[:, 0] * self.y_scale + self.y_mean

    @classmethod
    def from_sklearn(cls, estimator: Any) -> "Perceptron":
        """Convert ``TransformedTargetRegressor(make_pipeline(StandardScaler(), MLPRegressor()),
        transformer=StandardScaler())`` as :func:`archgym.proxy.models.make_regressor` builds it."""
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.neural_network import MLPRegressor
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        shape = "TransformedTargetRegressor(Pipeline(StandardScaler, MLPRegressor), StandardScaler)"
        if not isinstance(estimator, TransformedTargetRegressor) or not isinstance(estimator.regressor_, Pipeline):
            raise PredictorError(f"cannot convert a {type(estimator).__name__}; expected {shape}")
        steps = [step for _, step in estimator.regressor_.steps]
        target = estimator.transformer_
        if (len(steps) != 2 or not isinstance(steps[0], StandardScaler) or not isinstance(steps[1], MLPRegressor)
                or not isinstance(target, StandardScaler)):
            raise PredictorError(f"cannot convert this MLP pipeline; expected {shape}")
        scaler, network = steps
        if network.out_activation_ != "identity" or network.n_outputs_ != 1:
            raise PredictorError("only single-output MLP regressors convert")
        n = int(network.n_features_in_)

        def moments(s: Any, size: int) -> tuple[np.ndarray, np.ndarray]:
            mean = s.mean_ if s.with_mean else np.zeros(size)
            scale = s.scale_ if s.with_std else np.ones(size)
            return np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64)

        x_mean, x_scale = moments(scaler, n)
        y_mean, y_scale = moments(target, 1)
        result = cls(n, x_mean, x_scale, tuple(np.asarray(w, dtype=np.float64) for w in network.coefs_),
                     tuple(np.asarray(b, dtype=np.float64) for b in network.intercepts_), network.activation,
                     float(y_mean[0]), float(y_scale[0]))
        result.validate()
        return result


def _logistic(h: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(h)


_ACTIVATE = {"identity": lambda h: h, "logistic": _logistic, "tanh": np.tanh, "relu": lambda h: np.maximum(h, 0)}


def from_sklearn(estimator: Any) -> TreeEnsemble | Perceptron:
    """The portable form of a fitted regressor built by :func:`archgym.proxy.models.make_regressor`."""
    from sklearn.compose import TransformedTargetRegressor

    if isinstance(estimator, TransformedTargetRegressor):
        return Perceptron.from_sklearn(estimator)
    return TreeEnsemble.from_sklearn(estimator)


def from_parts(params: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> TreeEnsemble | Perceptron:
    """Rebuild and validate a model from its stored parameters and arrays."""
    if not isinstance(params, Mapping):
        raise PredictorError(f"a model description must be an object, got {type(params).__name__}")
    kind = params.get("type")
    if kind == "trees":
        return TreeEnsemble.from_parts(params, arrays)
    if kind == "mlp":
        return Perceptron.from_parts(params, arrays)
    raise PredictorError(f"unknown model type {kind!r}; expected 'trees' or 'mlp'")


# -- output transforms and whole-proxy prediction -------------------------------------------
@dataclass(frozen=True)
class Output:
    """How a model's prediction becomes a metric: ``exp`` if fitted in log space, clipped at ``lower``."""

    log_target: bool = False
    lower: float | None = None


class CompiledForest:
    """Every metric's tree ensemble in one node table, predicted by one compiled call.

    Built from validated :class:`TreeEnsemble` objects (one per output, same ``n_features`` and
    ``float32_input``). :meth:`predict` returns an ``(n_rows, n_outputs)`` array.

    In memory each tree is laid out breadth-first with the two children of a node side by
    side, so a node is 16 bytes (threshold, first child, feature) and a step is
    ``node = first_child + (x[feature] > threshold)`` with no branch. A leaf holds its value
    in the threshold slot, is its own first child and reads a feature slot fixed at -inf, so
    it stays put however many more steps its block takes.
    """

    def __init__(self, ensembles: Sequence[TreeEnsemble], outputs: Sequence[Output]) -> None:
        if not ensembles or len(ensembles) != len(outputs):
            raise ValueError("CompiledForest needs one output transform per ensemble, and at least one ensemble")
        first = ensembles[0]
        for e in ensembles:
            if e.n_features != first.n_features or e.float32_input != first.float32_input:
                raise ValueError("every ensemble of a proxy must take the same features the same way")
        self.n_features = first.n_features
        self.n_outputs = len(ensembles)
        self._cast32 = int(first.float32_input)
        node_base = np.cumsum([0] + [e.n_nodes for e in ensembles])
        n_nodes = int(node_base[-1])
        self._nodes = np.empty(n_nodes, dtype=_NODE)
        self._missing_left = np.empty(n_nodes, dtype=np.uint8)
        roots, owner, depths = [], [], []
        for k, (e, base) in enumerate(zip(ensembles, node_base)):
            root = np.empty(e.n_trees, dtype=np.int64)
            depth = np.empty(e.n_trees, dtype=np.int64)
            _pack(e.left, e.right, e.feature, e.threshold, e.value, e.missing_left, e.offsets, self.n_features,
                  int(base), self._nodes, self._missing_left, root, depth)
            roots.append(root)
            depths.append(depth)
            owner.append(np.full(e.n_trees, k))
        depth = np.concatenate(depths)
        self._trees = np.stack([np.concatenate(roots), np.concatenate(owner)], axis=1).astype(np.int64)
        self._plan = np.argsort(depth, kind="stable").astype(np.int64)  # walk trees of equal depth side by side
        starts = np.arange(0, len(depth), BLOCK_TREES)
        stops = np.minimum(starts + BLOCK_TREES, len(depth))
        self._blocks = np.stack([starts, stops, depth[self._plan][stops - 1]], axis=1).astype(np.int64)
        post = np.zeros((self.n_outputs, 5))
        for k, (e, out) in enumerate(zip(ensembles, outputs)):
            post[k] = (e.baseline, e.n_trees if e.combine == "mean" else 1, e.link == "exp", out.log_target,
                       -np.inf if out.lower is None else out.lower)
        self._post = post
        #: levels from each tree's root to its deepest leaf (trees of all outputs, in order)
        self.depth = depth
        self._ensembles = tuple(ensembles)
        self._choice_masks: np.ndarray | None = None
        self._leaf_values: np.ndarray | None = None
        #: designs can be given as numbers (see :meth:`enable_choices`)
        self.numbered = False

    def enable_choices(self, choice_rows: np.ndarray, sizes: Sequence[int]) -> bool:
        """Prepare :meth:`predict_choices` for inputs made of known discrete values; ``False`` if unsuitable.

        ``choice_rows``: one row per (parameter, choice) holding that choice's feature values and
        NaN elsewhere (:meth:`archgym.proxy.features.FeatureEncoder.choice_rows`); ``sizes``:
        each parameter's number of choices (its rows, in order). For every tree (at most 64
        leaves each) and every choice this precomputes which leaves the choice rules out: a
        split on one of its features that sends it right rules out the split's left subtree. A
        design's leaf in a tree is then the leftmost leaf no choice of the design rules out
        (QuickScorer, Lucchese et al., SIGIR 2015): an AND of a few bit masks per tree instead
        of a walk, and the same leaf, hence the same prediction, as the walk.

        Consecutive parameters with at most :data:`~archgym.proxy.quickscorer.GROUP_CHOICES` combinations share one mask
        per combination (the AND of their choices' masks), so a design ANDs one mask per group
        rather than one per parameter. When the space has fewer than 2**62 designs, a design can
        also be given as its number (:meth:`~archgym.proxy.features.FeatureEncoder.choice_number_one`,
        :meth:`predict_choice_number`): one integer argument for the compiled call.
        """
        if any(np.max(np.diff(e.offsets)) > 127 for e in self._ensembles):  # > 64 leaves possible
            leaves = [int(np.max(_leaf_counts(e.left, e.offsets))) for e in self._ensembles]
            if max(leaves) > 64:
                return False
        rows = np.ascontiguousarray(choice_rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self.n_features:
            raise ValueError(f"choice rows must have shape (k, {self.n_features}), got {rows.shape}")
        sizes = [int(n) for n in sizes]
        if not sizes or min(sizes) < 1 or sum(sizes) != len(rows):
            raise ValueError(f"parameter sizes {sizes} must be positive and add up to the {len(rows)} choice rows")
        if self._cast32:
            rows = rows.astype(np.float32).astype(np.float64)  # NaN stays NaN
        n_trees = len(self._trees)
        widest = max(int(np.max(_leaf_counts(e.left, e.offsets))) for e in self._ensembles)
        # 32-bit masks when they suffice (scikit-learn's boosted trees have at most 31 leaves by default)
        masks = np.empty((len(rows), n_trees), dtype=np.uint32 if widest <= 32 else np.uint64)
        leaf_values = np.zeros((n_trees, widest))
        first = 0
        for e in self._ensembles:
            _choice_masks(e.left, e.right, e.feature, e.threshold, e.value, e.offsets, rows,
                          masks[:, first: first + e.n_trees], leaf_values[first: first + e.n_trees])
            first += e.n_trees
        # interleave the outputs' trees (column i * n_outputs + m: output m's tree i) so the outputs'
        # sums advance side by side, each still in scikit-learn's order; an output with fewer trees
        # gets padding columns that keep every leaf (all ones) and add 0.0
        counts = np.array([e.n_trees for e in self._ensembles], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        tree = np.arange(int(counts.max()))[:, None]
        source = np.where(tree < counts, starts + tree, -1).reshape(-1)  # old column of each new one, -1: padding
        real = source >= 0
        per_choice = np.full((len(rows), len(source)), ~masks.dtype.type(0), dtype=masks.dtype)
        per_choice[:, real] = masks[:, source[real]]
        padded = np.zeros((len(source), widest))
        padded[real] = leaf_values[source[real]]
        self._leaf_values, self._leaf_width = padded.reshape(-1), widest  # flat: tree j's leaf k at j * widest + k
        self._choice_masks, self._weights, self._plan_groups = _group_masks(per_choice, sizes)
        self._n_choice_rows, self._n_parameters = len(rows), len(sizes)
        self.numbered = math.prod(sizes) < 2**62
        return True

    def predict_choices(self, indices: np.ndarray) -> np.ndarray:
        """``(n_rows, n_outputs)`` predictions for designs given as choice-row indices
        (``(n_rows, n_parameters)``; see :meth:`enable_choices`), equal to :meth:`predict` on their encodings."""
        if self._choice_masks is None:
            raise RuntimeError("predict_choices needs enable_choices() first")
        indices = np.asarray(indices, dtype=np.int64)
        n, k = self._n_choice_rows, self._n_parameters
        if indices.ndim != 2 or indices.shape[1] != k or indices.size and (indices.min() < 0 or indices.max() >= n):
            raise ValueError(f"choice indices must be a 2-D array, {k} per design (one per parameter), each 0..{n - 1}")
        return self._predict_choices(indices)

    def predict_choice_row(self, index: tuple[int, ...]) -> list[float]:
        """One design's outputs from its choice-row indices (a tuple, as
        :meth:`~archgym.proxy.features.FeatureEncoder.choice_index_one` gives them) as a list.
        The indices come from the encoder itself, so they are not checked here."""
        return _forest_choices_index(index, self._weights, self._plan_groups, self._choice_masks, self._leaf_values,
                                     self._leaf_width, self._post).tolist()

    def predict_choice_number(self, number: int) -> list[float]:
        """One design's outputs from its number (:meth:`~archgym.proxy.features.FeatureEncoder.choice_number_one`;
        only when :attr:`numbered`) as a list. Unchecked, like :meth:`predict_choice_row`."""
        return list(self.choice_number_values(number)[: self.n_outputs])

    def choice_number_values(self, number: int) -> Sequence[float]:
        """A single prediction's fast path: one compiled call whose only per-design argument is an
        integer. Returns at least :attr:`n_outputs` floats, the outputs first (with at most 8
        outputs a tuple of 8, cheaper to hand back than an array: zip it with the output names)."""
        if self.n_outputs <= _REGISTER_SUMS:
            return _forest_choices_number_tuple(number, self._plan_groups, self._choice_masks, self._leaf_values,
                                                self._leaf_width, self._post)
        return _forest_choices_number(number, self._plan_groups, self._choice_masks, self._leaf_values,
                                      self._leaf_width, self._post).tolist()

    def _predict_choices(self, indices: np.ndarray) -> np.ndarray:
        """:meth:`predict_choices` without its checks, for indices from the encoder itself."""
        groups = np.add.reduceat(self._weights[indices], self._plan_groups[:, 0], axis=1)
        return self._predict_groups(groups)

    def _predict_numbers(self, numbers: np.ndarray) -> np.ndarray:
        """``(n_rows, n_outputs)`` predictions for design numbers (only when :attr:`numbered`), unchecked."""
        plan = self._plan_groups
        groups = (np.asarray(numbers, dtype=np.int64)[:, None] // plan[:, 2]) % plan[:, 3] + plan[:, 4]
        return self._predict_groups(groups)

    def _predict_groups(self, groups: np.ndarray) -> np.ndarray:
        out = np.empty((len(groups), self.n_outputs))
        _forest_predict_choices(np.ascontiguousarray(groups, dtype=np.int64), self._choice_masks, self._leaf_values,
                                self._leaf_width, self._post, out)
        return out

    @property
    def n_nodes(self) -> int:
        return len(self._nodes)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``(n_rows, n_outputs)`` predictions for ``x`` of shape ``(n_rows, n_features)``."""
        x = _rows(x, self.n_features)
        out = np.empty((len(x), self.n_outputs))
        _forest_predict(x, self._cast32, self._nodes, self._missing_left, self._trees, self._plan, self._blocks,
                        self._post, out)
        return out


class PerceptronStack:
    """One :class:`Perceptron` per output, evaluated with numpy (:meth:`predict` as above)."""

    def __init__(self, networks: Sequence[Perceptron], outputs: Sequence[Output]) -> None:
        if not networks or len(networks) != len(outputs):
            raise ValueError("PerceptronStack needs one output transform per network, and at least one network")
        if len({n.n_features for n in networks}) != 1:
            raise ValueError("every network of a proxy must take the same features")
        self.n_features = networks[0].n_features
        self.n_outputs = len(networks)
        self._networks = tuple(networks)
        self._outputs = tuple(outputs)

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = _rows(x, self.n_features)
        out = np.empty((len(x), self.n_outputs))
        for k, (network, output) in enumerate(zip(self._networks, self._outputs)):
            out[:, k] = apply_output(network.predict(x), output)
        return out


def apply_output(values: np.ndarray, output: Output) -> np.ndarray:
    """``values`` mapped to the metric as ``output`` says (what the compiled forest does inside)."""
    if output.log_target:
        values = np.exp(values)
    return values if output.lower is None else np.maximum(values, output.lower)


def compile_models(models: Sequence[TreeEnsemble | Perceptron], outputs: Sequence[Output]) -> CompiledForest | PerceptronStack:
    """The fast whole-proxy predictor for ``models`` (all trees, or all MLPs)."""
    if all(isinstance(m, TreeEnsemble) for m in models):
        return CompiledForest(models, outputs)  # type: ignore[arg-type]
    if all(isinstance(m, Perceptron) for m in models):
        return PerceptronStack(models, outputs)  # type: ignore[arg-type]
    raise ValueError("a proxy's metrics must all use trees or all use MLPs")


def _rows(x: np.ndarray, n_features: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != n_features:
        raise ValueError(f"features must have shape (n, {n_features}), got {x.shape}")
    return np.ascontiguousarray(x)


# -- compiled kernels -------------------------------------------------------------------------
#: one packed node (16 bytes), in memory only, after validation: see :class:`CompiledForest`
_NODE = np.dtype([("threshold", "<f8"), ("first", "<i4"), ("feature", "<i4")])


@njit(cache=True, nogil=True)
def _pack(left, right, feature, threshold, value, missing_left, offsets, n_features, base, nodes, missing,
          roots, depths):  # pragma: no cover - compiled
    """Lay out each validated tree breadth-first, siblings adjacent, from ``nodes[base]`` on.

    Writes each tree's new root index to ``roots`` and its depth to ``depths``. Relies on the
    validation: every node but the root has exactly one parent, later in index order, within
    its tree -- so the breadth-first queue visits every node exactly once.
    """
    queue = np.empty(len(left), dtype=np.int64)  # old node index at each new position (minus base)
    level = np.empty(len(left), dtype=np.int64)
    for t in range(len(offsets) - 1):
        head = tail = offsets[t]
        queue[tail] = offsets[t]
        level[tail] = 0
        tail += 1
        deepest = 0
        while head < tail:
            old = queue[head]
            new = base + head
            if left[old] == -1:
                nodes[new].threshold = value[old]
                nodes[new].first = new
                nodes[new].feature = n_features  # the row's -inf slot: never greater than the value
                deepest = max(deepest, level[head])
            else:
                nodes[new].threshold = threshold[old]
                nodes[new].first = base + tail
                nodes[new].feature = feature[old]
                queue[tail], queue[tail + 1] = left[old], right[old]
                level[tail] = level[tail + 1] = level[head] + 1
                tail += 2
            missing[new] = missing_left[old]
            head += 1
        roots[t] = base + offsets[t]
        depths[t] = deepest



@njit(cache=True, nogil=True)
def _forest_predict(x, cast32, nodes, missing, trees, plan, blocks, post, out):  # pragma: no cover - compiled
    n_rows, n_features = x.shape
    n_trees = trees.shape[0]
    row = np.empty(n_features + 1)
    row[n_features] = -np.inf  # what every leaf reads
    leaf = np.empty(n_trees, dtype=np.int64)
    widest = 0
    for b in range(blocks.shape[0]):
        widest = max(widest, blocks[b, 1] - blocks[b, 0])
    cursor = np.empty(widest, dtype=np.int64)
    for r in range(n_rows):
        has_nan = False
        for f in range(n_features):
            row[f] = np.float64(np.float32(x[r, f])) if cast32 else x[r, f]
            has_nan |= row[f] != row[f]
        for b in range(blocks.shape[0]):
            start, stop, levels = blocks[b, 0], blocks[b, 1], blocks[b, 2]
            width = stop - start
            for k in range(width):
                cursor[k] = trees[plan[start + k], 0]
            if has_nan:  # a NaN goes where training sent missing values
                for _ in range(levels):
                    for k in range(width):
                        c = cursor[k]
                        v = row[nodes[c].feature]
                        right = (v > nodes[c].threshold) | ((v != v) & (missing[c] == 0))
                        cursor[k] = nodes[c].first + np.int64(right)
            else:
                for _ in range(levels):
                    for k in range(width):  # independent walks: the CPU overlaps their loads
                        c = cursor[k]
                        cursor[k] = nodes[c].first + np.int64(row[nodes[c].feature] > nodes[c].threshold)
            for k in range(width):
                leaf[plan[start + k]] = cursor[k]
        out[r, :] = post[:, 0]  # the baseline (0 for a forest), then the trees
        for t in range(n_trees):  # scikit-learn's order: each output's trees in sequence
            out[r, trees[t, 1]] += nodes[leaf[t]].threshold
        _finish_row(out[r], post)


# -- small parsing helpers --------------------------------------------------------------------
def _expect_keys(what: str, mapping: Mapping[str, Any], expected: set[str]) -> None:
    if not isinstance(mapping, Mapping):
        raise PredictorError(f"{what}: expected an object, got {type(mapping).__name__}")
    missing, extra = sorted(expected - set(mapping)), sorted(set(mapping) - expected)
    if missing or extra:
        raise PredictorError(f"{what}: missing {missing or 'nothing'}, unexpected {extra or 'nothing'}")


def _integer(value: Any, name: str) -> int:
    if type(value) is not int:
        raise PredictorError(f"{name} must be an integer, got {value!r}")
    return value


def _number(value: Any, name: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise PredictorError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _flag(value: Any, name: str) -> bool:
    if type(value) is not bool:
        raise PredictorError(f"{name} must be true or false, got {value!r}")
    return value


def _preview(array: np.ndarray, n: int = 6) -> str:
    items = ", ".join(str(v) for v in array[:n].tolist())
    return f"[{items}{', ...' if len(array) > n else ''}] ({len(array)} entries)"


__all__ = [
    "ACTIVATIONS",
    "CompiledForest",
    "Output",
    "Perceptron",
    "PerceptronStack",
    "PredictorError",
    "TreeEnsemble",
    "apply_output",
    "compile_models",
    "from_parts",
    "from_sklearn",
]
