"""A fitted proxy cost model *is* a :class:`~archgym.simulator.Simulator`.

:func:`fit_proxy` trains one regressor per metric on dataset rows of one source (env,
workload, simulator version) and returns a :class:`ProxySimulator`, which any env takes as
``simulator=``::

    proxy = train_proxy("runs/dram", "archgym/DRAM-v0", workload="random", kind="rf")
    env = gym.make("archgym/DRAM-v0", workload="random", simulator=proxy)

Its identity differs from the real simulator's (name ``proxy-<kind>:<simulator>``, version
``<simulator version>+<digest>`` where the digest covers the training data and
configuration), so the evaluation cache never mixes proxy and real results and the dataset
records which proxy produced each row.

File format (:meth:`ProxySimulator.save` / :meth:`ProxySimulator.load`, version 2): one zip
archive holding ``proxy.json`` (format marker and version, source, design space, feature names,
metrics, model kind and parameters, training statistics, and per metric its model's scalar
parameters) and each model's numeric arrays as raw little-endian members, each with its dtype,
shape and SHA-256 in the header (:mod:`archgym.proxy.archive`). Nothing in the file is
executed or unpickled; sizes are bounded before anything is decompressed; every model is
validated in full (:mod:`archgym.proxy.predictors`) before it can predict. Foreign, corrupt,
tampered or oversized files, and files of another format version, raise
:class:`ProxyFormatError`.

Prediction runs on the converted arrays, not on scikit-learn: trees through one compiled walk
of every metric's trees (equal to scikit-learn's predictions bit for bit), MLPs as a numpy
forward pass; :meth:`ProxySimulator.evaluate` encodes a single design without building
intermediate arrays, so one design costs microseconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archgym.errors import UserError, import_optional
from archgym.proxy import archive
from archgym.proxy.features import FeatureEncoder, Source, metric_matrix, select_rows, split_by_design
from archgym.proxy.models import MODEL_KINDS, make_regressor, score
from archgym.proxy.predictors import (
    CompiledForest,
    Output,
    Perceptron,
    PredictorError,
    TreeEnsemble,
    compile_models,
    from_parts,
    from_sklearn,
)
from archgym.proxy.table import AUTO_TABLE_BYTES, TablePolicy, build_table, table_bytes
from archgym.simulator import Metric, Metrics, Simulator
from archgym.spaces import Categorical, DesignSpace, Integer, Real, Values

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

FORMAT = "archgym-proxy"
#: version 2: models as validated plain arrays (version 1 held skops-serialised scikit-learn objects)
FORMAT_VERSION = 2
DEFAULT_MAX_BYTES = archive.DEFAULT_MAX_BYTES
#: the largest prediction table :meth:`ProxySimulator.tabulate` builds unless told otherwise
DEFAULT_TABLE_BYTES = 256 * 2**20


class ProxyError(UserError):
    """Base class of proxy errors (about the user's files or requests: one line in the CLI)."""


class ProxyFormatError(ProxyError):
    """A file is not a proxy archgym can load: foreign, corrupt, tampered with, or a newer format."""


class ProxySchemaError(ProxyError, ValueError):
    """A proxy was asked about a design space (or workload) other than the one it was trained on."""


@dataclass(frozen=True)
class TargetModel:
    """One metric's model and how its output maps back to the metric.

    ``model``: the metric's regressor in portable form (:class:`~archgym.proxy.predictors.TreeEnsemble`
    or :class:`~archgym.proxy.predictors.Perceptron`). ``log_target``: the model predicts
    ``log(metric)`` (metrics spanning decades, all positive, are fitted in log space so relative
    errors weigh equally); ``lower``: predictions are clipped at this bound (0 for metrics never
    negative in training, else ``None``).
    """

    metric: Metric
    model: TreeEnsemble | Perceptron
    log_target: bool
    lower: float | None

    @property
    def output(self) -> Output:
        return Output(self.log_target, self.lower)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """This metric alone (whole proxies predict all metrics in one call: :meth:`ProxySimulator.predict`)."""
        return compile_models([self.model], [self.output]).predict(features)[:, 0]


class ProxySimulator(Simulator):
    """A learned stand-in for a simulator on one workload (build it with :func:`fit_proxy`).

    It answers for designs of its design space only (others raise ``ValueError``) and for its
    training workload only (others raise :class:`ProxySchemaError`); :meth:`evaluate_batch`
    predicts many designs in one vectorised call.
    """

    def __init__(
        self,
        design_space: DesignSpace,
        source: Source,
        kind: str,
        targets: Sequence[TargetModel],
        *,
        model_params: Mapping[str, Any] | None = None,
        seed: int | None = None,
        training: Mapping[str, Any] | None = None,
        digest: str,
    ) -> None:
        if kind not in MODEL_KINDS:
            raise UserError(f"unknown proxy model kind {kind!r}; expected one of {', '.join(MODEL_KINDS)}")
        if not targets:
            raise UserError("a proxy needs at least one metric")
        self.design_space = design_space
        self.encoder = FeatureEncoder(design_space)
        self.source = source
        self.kind = kind
        self.targets = tuple(targets)
        self.model_params = dict(model_params or {})
        self.seed = seed
        self.training = dict(training or {})
        self.digest = digest
        self.name = f"proxy-{kind}:{source.simulator}"
        self.version = f"{source.simulator_version}+{digest[:12]}"
        self.metrics = tuple(t.metric for t in self.targets)
        self._names = tuple(m.name for m in self.metrics)
        n_features = len(self.encoder.feature_names)
        for t in self.targets:
            if t.model.n_features != n_features:
                raise ValueError(f"the model of metric {t.metric.name!r} takes {t.model.n_features} features; "
                                 f"the design space encodes to {n_features}")
        self._predictor = compile_models([t.model for t in self.targets], [t.output for t in self.targets])
        # designs made of their parameters' own choices skip the walk: see CompiledForest.enable_choices
        rows = self.encoder.choice_rows()
        self._by_choices = isinstance(self._predictor, CompiledForest) and rows is not None and \
            self._predictor.enable_choices(rows, self.encoder.choice_sizes)
        # designs as one integer each (spaces of fewer than 2**62 designs): the cheapest compiled call
        self._by_number = self._by_choices and self._predictor.numbered
        # bound once: a single prediction (evaluate) is a few microseconds, attribute lookups included
        self._workload = source.workload
        self._choice_index_one = self.encoder.choice_index_one
        self._choice_number_one = self.encoder.choice_number_one
        self._predict_choice_row = getattr(self._predictor, "predict_choice_row", None)
        self._choice_number_values = getattr(self._predictor, "choice_number_values", None)
        #: the fitted scikit-learn estimators (only when ``fit_proxy(..., keep_estimators=True)``; never saved)
        self.estimators: dict[str, Any] | None = None
        #: every design's predictions by design number once :meth:`tabulate` ran, else ``None``
        self.table: np.ndarray | None = None
        #: when the proxy tabulates itself (:class:`archgym.proxy.table.TablePolicy`: after answering as many
        #: designs as its space holds, if the table fits 64 MiB); ``table_policy.after = None`` turns it off
        self.table_policy = TablePolicy.for_space(self.encoder.n_designs, len(self.targets))

    def __getstate__(self) -> dict[str, Any]:
        """A pickled copy (e.g. for a worker process) leaves the table behind and counts afresh."""
        state = self.__dict__.copy()
        state["table"] = None
        state["table_policy"] = TablePolicy.for_space(self.encoder.n_designs, len(self.targets))
        return state

    # -- tabulation ---------------------------------------------------------------------
    def tabulate(self, max_bytes: int = DEFAULT_TABLE_BYTES, *, threads: int | None = None) -> np.ndarray:
        """Predict every design of the space now, and answer every later design from that table.

        Single predictions then cost a row lookup (see :mod:`archgym.proxy.table`). A tree
        proxy's rows equal its untabulated predictions bit for bit (the same compiled kernel);
        an MLP's come from batched matrix products and may differ in the last bit. ``threads``: threads predicting the table
        (default: the CPUs this process may use). Raises :class:`ProxyError` when the space has
        no design numbers (a :class:`~archgym.spaces.Real` parameter, or 2**62 designs or more)
        or the table would exceed ``max_bytes``. Returns the table (rows: design numbers,
        :meth:`~archgym.proxy.features.FeatureEncoder.choice_number_one`; columns: :attr:`metrics`).
        """
        if self.table is not None:
            return self.table
        n_designs, n_metrics = self.encoder.n_designs, len(self.targets)
        if n_designs is None:
            raise ProxyError("this proxy's design space cannot be tabulated: a parameter has no finite table of "
                             "choices, or the space holds 2**62 designs or more")
        needed = table_bytes(n_designs, n_metrics)
        if needed > max_bytes:
            raise ProxyError(f"a table of {n_designs:,} designs x {n_metrics} metrics takes {needed / 2**20:,.1f} MiB, "
                             f"over max_bytes={max_bytes:,} ({max_bytes / 2**20:,.1f} MiB)")
        if self._by_number:
            predict = self._predictor._predict_numbers
        else:
            def predict(numbers: np.ndarray) -> np.ndarray:
                return self._predictor.predict(self.encoder.number_features(numbers))
        self.table = build_table(predict, n_designs, n_metrics, threads=threads)
        self.table_policy.after = None
        return self.table

    def _tabulate_on_schedule(self, designs: int) -> None:
        """Count ``designs`` answered untabulated; build the table when :attr:`table_policy` says so."""
        if self.table_policy.count(designs):
            self.tabulate(AUTO_TABLE_BYTES)

    # -- the Simulator contract ---------------------------------------------------------
    def workload_key(self, workload: str) -> str:
        if str(workload) != self.source.workload:
            raise ProxySchemaError(
                f"this proxy was trained on workload {self.source.workload!r} of {self.source.env_id}, "
                f"not {str(workload)!r}; pass workload={self.source.workload!r} (or train a proxy for {str(workload)!r})"
            )
        return str(workload)

    def evaluate(self, design: Mapping[str, Any], workload: str) -> Metrics:
        if workload != self._workload:
            self.workload_key(workload)  # raises unless equal as a string
        table = self.table
        if table is not None:
            number = self._choice_number_one(design)
            if number is None:  # another form of a value (numpy scalar, ...), or a bad design: validation says which
                number = self._choice_number_one(self.design_space.validate(design))
            if number is not None:
                return dict(zip(self._names, table[number].tolist()))
        elif self.table_policy.after is not None:
            self._tabulate_on_schedule(1)
        if self._by_number:
            number = self._choice_number_one(design)
            if number is not None:
                return dict(zip(self._names, self._choice_number_values(number)))  # zip: the outputs only
        elif self._by_choices:
            index = self._choice_index_one(design)
            if index is not None:
                return dict(zip(self._names, self._predict_choice_row(index)))
        values = self._predictor.predict(self.encoder.encode_one(design))
        return dict(zip(self._names, values[0].tolist()))

    def evaluate_batch(self, designs: Sequence[Mapping[str, Any]], workload: str) -> list[Metrics]:
        self.workload_key(workload)
        if self.table is None and designs and self.table_policy.after is not None:
            self._tabulate_on_schedule(len(designs))
        if self.table is not None and designs:
            numbers = list(map(self._choice_number_one, designs))
            if None in numbers:
                validate = self.design_space.validate
                numbers = [self._choice_number_one(validate(d)) if n is None else n for n, d in zip(numbers, designs)]
            if None not in numbers:
                return [dict(zip(self._names, row)) for row in self.table[numbers].tolist()]
        if self._by_number and designs:
            numbers = list(map(self._choice_number_one, designs))
            if None not in numbers:
                values = self._predictor._predict_numbers(np.array(numbers, dtype=np.int64))
                return [dict(zip(self._names, row)) for row in values.tolist()]
        elif self._by_choices and designs:
            index = list(map(self._choice_index_one, designs))
            if None not in index:
                values = self._predictor._predict_choices(np.array(index, dtype=np.int64))
                return [dict(zip(self._names, row)) for row in values.tolist()]
        return self.predict(self.encoder.transform(designs))

    def predict(self, features: np.ndarray) -> list[Metrics]:
        """Metrics for already-encoded designs (rows of :attr:`encoder`'s feature matrix)."""
        return [dict(zip(self._names, row)) for row in self.predict_array(features).tolist()]

    def predict_array(self, features: np.ndarray) -> np.ndarray:
        """``(n_designs, n_metrics)`` predictions for encoded designs, metrics in :attr:`metrics` order."""
        return self._predictor.predict(features)

    @property
    def predictor(self) -> Any:
        """The compiled whole-proxy predictor (``CompiledForest`` for trees, ``PerceptronStack`` for MLPs)."""
        return self._predictor

    # -- checks -------------------------------------------------------------------------
    def check_design_space(self, space: DesignSpace) -> None:
        """Raise :class:`ProxySchemaError` naming the differences if ``space`` is not the proxy's."""
        if space != self.design_space:
            raise ProxySchemaError(
                f"the proxy's design space differs from the expected one: {_space_difference(self.design_space, space)}"
            )

    # -- persistence --------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """What :meth:`save` writes to ``proxy.json`` (besides the member hashes)."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "source": asdict(self.source),
            "design_space": space_to_json(self.design_space),
            "features": list(self.encoder.feature_names),
            "model": {"kind": self.kind, "params": self.model_params, "seed": self.seed},
            "metrics": [
                {**asdict(t.metric), "log_target": t.log_target, "lower": t.lower, "predictor": t.model.params()}
                for t in self.targets
            ],
            "training": self.training,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the proxy to one archive at ``path`` (atomically: write, then rename)."""
        arrays = {f"{i}/{name}": array for i, t in enumerate(self.targets) for name, array in t.model.arrays().items()}
        return archive.write(path, self.metadata(), arrays)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        design_space: DesignSpace | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> "ProxySimulator":
        """Read a proxy written by :meth:`save`, executing no code from the file.

        With ``design_space`` the proxy must have been trained on exactly that space
        (:class:`ProxySchemaError` otherwise). Foreign, corrupt, tampered or malformed files,
        files of another format version, and files that would inflate beyond ``max_bytes``
        raise :class:`ProxyFormatError` naming the fault.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"proxy file {str(path)!r} does not exist")
        where = repr(str(path))
        try:
            metadata, arrays = archive.read(path, max_bytes=max_bytes, check_header=lambda h: _check_format(h, path))
            space = space_from_json(metadata["design_space"])
            source, model, digest = Source(**metadata["source"]), metadata["model"], str(metadata["digest"])
            targets = []
            for i, entry in enumerate(metadata["metrics"]):
                metric = Metric(entry["name"], entry["unit"], entry["goal"], entry.get("description", ""))
                prefix = f"{i}/"
                parts = {k[len(prefix):]: a for k, a in arrays.items() if k.startswith(prefix)}
                try:
                    predictor = from_parts(entry["predictor"], parts)
                except PredictorError as exc:
                    raise ProxyFormatError(f"{where}: the model of metric {metric.name!r} is malformed: {exc}") from None
                lower = entry["lower"]
                if lower is not None and (type(lower) not in (int, float) or not np.isfinite(lower)):
                    raise ProxyFormatError(f"{where}: metric {metric.name!r} has a bad lower bound {lower!r}")
                targets.append(TargetModel(metric, predictor, _strict_bool(entry["log_target"], "log_target"), lower))
            if len(arrays) != sum(len(t.model.arrays()) for t in targets):
                raise ProxyFormatError(f"{where}: {HEADER_NAME} lists arrays that no metric uses")
            proxy = cls(space, source, model["kind"], targets, model_params=model.get("params"), seed=model.get("seed"),
                        training=metadata.get("training"), digest=digest)
            if list(metadata["features"]) != list(proxy.encoder.feature_names):
                raise ProxyFormatError(
                    f"{where}: the file's features {metadata['features']} differ from this archgym's encoding of its "
                    f"design space {list(proxy.encoder.feature_names)}; retrain the proxy"
                )
        except (ProxyFormatError, ProxySchemaError):
            raise
        except archive.ArchiveError as exc:
            raise ProxyFormatError(str(exc)) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProxyFormatError(f"{where} is not a valid archgym proxy file ({type(exc).__name__}: {exc})") from None
        if design_space is not None:
            proxy.check_design_space(design_space)
        return proxy


HEADER_NAME = archive.HEADER


def _check_format(metadata: Any, path: Path) -> None:
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ProxyFormatError(f"{str(path)!r} is not an archgym proxy file (no {FORMAT!r} marker in {HEADER_NAME})")
    version = metadata.get("format_version")
    if version == 1:
        raise ProxyFormatError(
            f"{str(path)!r} is a proxy file of format version 1 (scikit-learn models serialised with skops), which this "
            f"archgym no longer reads: its models could not be checked before use. Retrain it with "
            f"'archgym proxy train' to write format version {FORMAT_VERSION}"
        )
    if version != FORMAT_VERSION:
        raise ProxyFormatError(
            f"{str(path)!r} has proxy format version {version!r}; this archgym reads version {FORMAT_VERSION}"
        )


def _strict_bool(value: Any, name: str) -> bool:
    if type(value) is not bool:
        raise ProxyFormatError(f"{name} must be true or false, got {value!r}")
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} {value!r} in proxy metadata")


# -- design spaces as JSON ------------------------------------------------------------------
_KINDS: dict[str, type] = {"categorical": Categorical, "values": Values, "integer": Integer, "real": Real}


def space_to_json(space: DesignSpace) -> list[dict[str, Any]]:
    """A JSON-able description of ``space`` that :func:`space_from_json` turns back into an equal space."""
    result = []
    for p in space:
        kind = next(k for k, cls in _KINDS.items() if type(p) is cls)
        entry = {"kind": kind, **{k: v for k, v in asdict(p).items()}}
        if "choices" in entry:
            entry["choices"] = list(entry["choices"])
        result.append(entry)
    return result


def space_from_json(data: Sequence[Mapping[str, Any]]) -> DesignSpace:
    """The :class:`DesignSpace` described by :func:`space_to_json`'s output."""
    parameters = []
    for entry in data:
        fields = dict(entry)
        kind = fields.pop("kind")
        if kind not in _KINDS:
            raise ProxyFormatError(f"unknown parameter kind {kind!r} in a proxy's design space")
        if "choices" in fields:
            fields["choices"] = tuple(fields["choices"])
        parameters.append(_KINDS[kind](**fields))
    return DesignSpace(parameters)


def _space_difference(have: DesignSpace, want: DesignSpace) -> str:
    if have.names != want.names:
        return f"parameters {list(have.names)} vs expected {list(want.names)}"
    diffs = [f"{a.name}: {a.describe()} vs expected {b.describe()}" for a, b in zip(have, want) if a != b]
    return "; ".join(diffs) or "parameter kinds or defaults differ"


# -- training ---------------------------------------------------------------------------------
def fit_proxy(
    frame: "pd.DataFrame",
    design_space: DesignSpace,
    metrics: Sequence[Metric],
    *,
    kind: str = "rf",
    seed: int | None = 0,
    test_fraction: float = 0.2,
    model_params: Mapping[str, Any] | None = None,
    source: Source | None = None,
    keep_estimators: bool = False,
) -> ProxySimulator:
    """Fit a proxy of ``kind`` on dataset rows and score it on held-out designs.

    ``frame``: rows as :func:`archgym.dataset.load` returns them; rows of several sources are
    refused unless ``source`` names one (see :func:`~archgym.proxy.features.select_rows`).
    Only feasible rows are used (a proxy predicts metrics, not failures). A random
    ``test_fraction`` of the distinct designs is held out and scored per metric
    (:func:`~archgym.proxy.models.score`, stored in ``proxy.training["test"]``); the returned
    proxy is then refitted on all designs. Repeated designs are averaged into one sample.
    Each fitted scikit-learn regressor is converted to plain arrays
    (:func:`~archgym.proxy.predictors.from_sklearn`); ``keep_estimators`` also keeps the final
    regressors in ``proxy.estimators`` (metric name -> estimator; for comparisons, never saved).
    """
    if source is None:
        frame, source = select_rows(frame)
    else:
        frame, source = select_rows(frame, **asdict(source))
    selected_rows = len(frame)
    if "feasible" in frame.columns:
        frame = frame[frame["feasible"].fillna(False).astype(bool)]
    metrics = tuple(metrics)
    if not metrics:
        raise UserError("fit_proxy needs at least one metric to model")
    encoder = FeatureEncoder(design_space)
    features = encoder.transform_frame(frame)
    values = metric_matrix(frame, [m.name for m in metrics])
    complete = np.isfinite(values).all(axis=1)
    features, values = features[complete], values[complete]
    features, values = _average_duplicates(features, values)
    if len(features) < 10:
        raise UserError(f"{source.describe()}: {len(features)} distinct feasible designs; a proxy needs at least 10")
    train, test = split_by_design(features, test_fraction, seed)
    params = dict(model_params or {})
    start = time.perf_counter()
    held_out = {}
    for j, metric in enumerate(metrics):
        log_target, lower = _target_transform(values[train, j])
        fitted = _fit(kind, seed, params, features[train], values[train, j], log_target)
        probe = TargetModel(metric, from_sklearn(fitted), log_target, lower)
        held_out[metric.name] = score(values[test, j], probe.predict(features[test]))
    targets, estimators = [], {}
    for j, metric in enumerate(metrics):
        log_target, lower = _target_transform(values[:, j])
        estimators[metric.name] = _fit(kind, seed, params, features, values[:, j], log_target)
        targets.append(TargetModel(metric, from_sklearn(estimators[metric.name]), log_target, lower))
    training = {
        "rows": int(selected_rows),
        "feasible_rows": int(len(frame)),
        "designs": int(len(features)),
        "train_designs": int(len(train)),
        "test_designs": int(len(test)),
        "test_fraction": test_fraction,
        "fit_time_s": time.perf_counter() - start,
        "test": held_out,
        "sklearn_version": _sklearn_version(),
    }
    digest = hashlib.sha256(
        json.dumps([asdict(source), space_to_json(design_space), kind, params, seed, [m.name for m in metrics]],
                   default=_json_default).encode()
        + np.ascontiguousarray(features).tobytes()
        + np.ascontiguousarray(values).tobytes()
    ).hexdigest()
    proxy = ProxySimulator(design_space, source, kind, targets, model_params=params, seed=seed, training=training,
                           digest=digest)
    if keep_estimators:
        proxy.estimators = estimators
    return proxy


def _average_duplicates(features: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, inverse = np.unique(features, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    sums = np.zeros((len(unique), values.shape[1]))
    np.add.at(sums, inverse, values)
    counts = np.bincount(inverse, minlength=len(unique)).reshape(-1, 1)
    return unique, sums / counts


def _target_transform(y: np.ndarray) -> tuple[bool, float | None]:
    """Fit in log space when the metric is positive and spans at least a decade; clip at 0 if never negative."""
    positive = bool(np.all(y > 0))
    log_target = positive and float(np.max(y) / np.min(y)) >= 10
    return log_target, 0.0 if np.all(y >= 0) else None


def _fit(kind: str, seed: int | None, params: Mapping[str, Any], x: np.ndarray, y: np.ndarray, log_target: bool) -> Any:
    from sklearn.exceptions import ConvergenceWarning

    estimator = make_regressor(kind, seed, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the MLP's budget, not an error
        estimator.fit(x, np.log(y) if log_target else y)
    return estimator


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


# -- from a dataset folder ----------------------------------------------------------------------
def env_schema(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> tuple[DesignSpace, tuple[Metric, ...]]:
    """The design space and declared metrics of a registered env: from its static metadata (nothing
    built) when it declares one and no ``simulator=`` replaces its own, else made once and closed."""
    import gymnasium as gym

    import archgym  # noqa: F401  (registers the environments)
    from archgym.registration import declared_metadata

    if "simulator" not in (env_kwargs or {}):
        metadata = declared_metadata(env_id, env_kwargs)
        if metadata is not None:
            return metadata.design_space, tuple(metadata.metrics)
    env = gym.make(env_id, **dict(env_kwargs or {}))
    try:
        unwrapped = env.unwrapped
        return unwrapped.design_space, tuple(unwrapped.simulator.metrics)
    finally:
        env.close()


def train_proxy(
    dataset: str | os.PathLike[str] | "pd.DataFrame",
    env_id: str,
    *,
    workload: str | None = None,
    simulator_version: str | None = None,
    setup: str | None = None,
    kind: str = "rf",
    metrics: Sequence[str] | None = None,
    seed: int | None = 0,
    test_fraction: float = 0.2,
    model_params: Mapping[str, Any] | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    keep_estimators: bool = False,
) -> ProxySimulator:
    """Fit a proxy for ``env_id`` from a dataset folder (or an already loaded frame).

    The design space and the metric declarations come from the env itself (``env_kwargs``
    are passed to ``gym.make``); ``metrics`` picks some of them (default: every declared metric
    the rows hold). Rows are those of ``env_id`` and, if given, ``workload`` and
    ``simulator_version``; they must come from one source. ``keep_estimators``: see :func:`fit_proxy`.
    """
    from archgym.dataset import METRIC_PREFIX, load

    frame = dataset if not isinstance(dataset, (str, os.PathLike)) else load(dataset)
    rows, source = select_rows(frame, env_id=env_id, workload=workload, simulator_version=simulator_version, setup=setup)
    space, declared = env_schema(env_id, env_kwargs)
    by_name = {m.name: m for m in declared}
    if metrics is None:
        chosen = [m for m in declared if METRIC_PREFIX + m.name in rows.columns and rows[METRIC_PREFIX + m.name].notna().any()]
    else:
        unknown = [m for m in metrics if m not in by_name]
        if unknown:
            raise UserError(f"unknown metric(s) {', '.join(unknown)} for {env_id}; expected some of {', '.join(by_name)}")
        chosen = [by_name[m] for m in metrics]
    return fit_proxy(rows, space, chosen, kind=kind, seed=seed, test_fraction=test_fraction,
                     model_params=model_params, source=source, keep_estimators=keep_estimators)


def evaluate_proxy(proxy: ProxySimulator, dataset: str | os.PathLike[str] | "pd.DataFrame") -> dict[str, Any]:
    """Score a proxy on every feasible row of its source in ``dataset`` (e.g. freshly collected data).

    Returns ``{"rows", "designs", "metrics": {name: score}}``; rows of other sources are ignored.
    """
    from archgym.dataset import load

    frame = dataset if not isinstance(dataset, (str, os.PathLike)) else load(dataset)
    rows, _ = select_rows(frame, **asdict(proxy.source))
    if "feasible" in rows.columns:
        rows = rows[rows["feasible"].fillna(False).astype(bool)]
    features = proxy.encoder.transform_frame(rows)
    names = [m.name for m in proxy.metrics]
    values = metric_matrix(rows, names)
    complete = np.isfinite(values).all(axis=1)
    features, values = _average_duplicates(features[complete], values[complete])
    if len(features) < 2:
        raise ValueError(f"{proxy.source.describe()}: {len(features)} feasible design(s) to score; need at least 2")
    predicted = proxy.predict_array(features)
    return {
        "rows": int(complete.sum()),
        "designs": int(len(features)),
        "metrics": {n: score(values[:, j], predicted[:, j]) for j, n in enumerate(names)},
    }
