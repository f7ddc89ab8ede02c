"""From dataset rows to a regression problem: row selection, design encoding, a leak-free split.

* :func:`select_rows` keeps the rows of exactly one (env, workload, simulator, version) and
  one setup (:mod:`archgym.dataset.setups`: gym.make kwargs, simulator fingerprint, workload
  key, objective): a proxy models one simulator configuration on one workload, so a mixed
  selection is refused, listing what the dataset holds or which fields differ.
* :class:`FeatureEncoder` turns designs of a :class:`~archgym.spaces.DesignSpace` into a float
  matrix: unordered categorical knobs one-hot, ordered numeric knobs as their value (``log2``
  for powers of two and log-scaled ranges, where ratios matter more than differences).
* :func:`split_by_design` holds out whole designs, so a design evaluated twice (agents revisit
  designs) never lands in both the training and the test set.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from archgym.dataset import DESIGN_PREFIX, LEGACY_SETUP, METRIC_PREFIX, SETUP_FIELDS, MixedSetupsError, require_one_setup
from archgym.dataset.setups import describe_differences, row_setups, setup_table
from archgym.errors import UserError
from archgym.spaces import Categorical, DesignSpace, Integer, Real, Values

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: the columns that identify one simulator on one workload
SOURCE_COLUMNS: tuple[str, ...] = ("env_id", "workload", "simulator", "simulator_version")


@dataclass(frozen=True)
class Source:
    """Which evaluations a proxy imitates: one env, workload and simulator version, and one setup.

    The setup fields are ``None`` for rows that do not record them (dataset schema 1) and
    for proxies saved before they existed.
    """

    env_id: str
    workload: str
    simulator: str
    simulator_version: str
    setup: str | None = None
    env_kwargs: str | None = None
    simulator_fingerprint: str | None = None
    workload_key: str | None = None
    objective: str | None = None

    def describe(self) -> str:
        return f"{self.env_id} / workload {self.workload!r} / {self.simulator}@{self.simulator_version}"


def select_rows(
    frame: "pd.DataFrame",
    *,
    env_id: str | None = None,
    workload: str | None = None,
    simulator: str | None = None,
    simulator_version: str | None = None,
    setup: str | None = None,
    **setup_fields: str | None,
) -> tuple["pd.DataFrame", Source]:
    """The rows of one env/workload/simulator version and one setup, and that source.

    Each given argument filters; the filtered rows must then come from exactly one source,
    otherwise a ``ValueError`` lists every source found with its row count (so the caller
    knows which ``workload=``/``simulator_version=`` to pass), and from one setup, otherwise a
    :class:`~archgym.dataset.MixedSetupsError` lists the fields that differ (pass ``setup=``
    to pick one). With ``setup`` and the setup's fields (``env_kwargs=``,
    ``simulator_fingerprint=``, … as a :class:`Source` holds them, e.g. a saved proxy's), rows
    of another setup are refused naming how they differ from it.
    """
    unknown = [k for k in setup_fields if k not in SETUP_FIELDS]
    if unknown:
        raise TypeError(f"select_rows() got unexpected keyword argument(s) {', '.join(unknown)}")
    missing = [c for c in SOURCE_COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(f"the dataset lacks column(s) {', '.join(missing)}; is it an archgym dataset?")
    wanted = {"env_id": env_id, "workload": workload, "simulator": simulator, "simulator_version": simulator_version}
    mask = np.ones(len(frame), dtype=bool)
    for column, value in wanted.items():
        if value is not None:
            mask &= (frame[column] == value).to_numpy()
    selected = frame[mask]
    asked = ", ".join(f"{k}={v!r}" for k, v in wanted.items() if v is not None)
    if selected.empty:
        raise UserError(f"no dataset rows match {asked or 'the selection'}; the dataset holds:\n{_list_sources(frame)}")
    sources = selected.groupby(list(SOURCE_COLUMNS), dropna=False).size()
    if len(sources) > 1:
        raise UserError(
            f"the {'rows matching ' + asked if asked else 'dataset rows'} mix {len(sources)} sources; a proxy models one env, workload and "
            f"simulator version — narrow the selection (e.g. with a workload). Found:\n{_list_sources(selected)}"
        )
    values = [str(v) for v in sources.index[0]]
    if setup is not None:
        matching = selected[(row_setups(selected) == setup).to_numpy()]
        if matching.empty:
            wanted_entry = {"setup": setup, "env_id": values[0], **setup_fields, "rows": 0, "runs": 0}
            table = setup_table(selected)
            import pandas as pd

            both = pd.concat([pd.DataFrame([wanted_entry]), table], ignore_index=True)
            raise MixedSetupsError(
                f"no rows of {Source(*values).describe()} come from setup {setup} (the proxy's); the rows' "
                f"setups differ from it in:\n{describe_differences(both)}"
            )
        selected = matching
    chosen = require_one_setup(
        selected, f"the rows of {Source(*values).describe()}", hint="pick one setup (archgym proxy train --setup ID)"
    )
    first = selected.iloc[0]
    recorded = {
        name: (None if chosen == LEGACY_SETUP or name not in selected.columns else str(first[name]))
        for name in SETUP_FIELDS[1:]
    }
    return selected, Source(*values, setup=None if chosen == LEGACY_SETUP else chosen, **recorded)


def _list_sources(frame: "pd.DataFrame") -> str:
    if frame.empty:
        return "  (no rows)"
    counts = frame.groupby(list(SOURCE_COLUMNS), dropna=False).size()
    return "\n".join(f"  {env} / workload {wl!r} / {sim}@{ver}: {n} rows" for (env, wl, sim, ver), n in counts.items())


@dataclass(frozen=True)
class _Column:
    """One parameter's contribution to the feature matrix."""

    parameter: str
    kind: str  # "onehot" | "value" | "log2"
    names: tuple[str, ...]


#: value types a design's value may have to be looked up in the encoder's tables directly
_PLAIN_TYPES = frozenset((str, int, float))

class FeatureEncoder:
    """Encode designs of one design space as rows of a float matrix (see module docstring).

    The encoding is a pure function of the space, so a saved proxy only stores the space.
    """

    #: a discrete parameter with at most this many values gets a lookup table for :meth:`encode_one`
    TABLE_LIMIT = 4096

    def __init__(self, space: DesignSpace) -> None:
        self.space = space
        self._columns = tuple(self._plan(p) for p in space)
        self._n_features = sum(len(c.names) for c in self._columns)
        # per parameter: {accepted value: its feature values}, built with _encode itself so the
        # one-design path and the batch path give identical numbers; None: no table (Real, huge Integer)
        self._tables = tuple(self._table(p, column) for p, column in zip(space, self._columns))
        # per parameter: {accepted value: its row in choice_rows()}, when every parameter has a table
        self._choice_index: tuple[dict[Any, int], ...] | None = None
        self._names = space.names
        # a design dict's values in parameter order (a tuple, or the value itself for one parameter)
        self._values_of = operator.itemgetter(*self._names)
        self._one_parameter = len(self._names) == 1
        # per parameter: {accepted value: its digit times its place} in the design's number
        self._choice_number: tuple[dict[Any, int], ...] | None = None
        # per parameter: its first row in choice_rows() and its place in the design's number
        self._first_rows: np.ndarray | None = None
        self._places: np.ndarray | None = None
        if all(t is not None for t in self._tables):
            offsets = np.cumsum([0] + [len(t) for t in self._tables])  # type: ignore[arg-type]
            self._choice_index = tuple({v: int(o) + i for i, v in enumerate(t)}  # type: ignore[union-attr]
                                       for o, t in zip(offsets, self._tables))
            places = [math.prod(len(t) for t in self._tables[p + 1:]) for p in range(len(self._tables))]  # type: ignore[arg-type]
            self._choice_number = tuple({v: i * place for i, v in enumerate(t)}  # type: ignore[union-attr]
                                        for place, t in zip(places, self._tables))
            self._first_rows = offsets[:-1].astype(np.int64)
            self._places = np.array([min(place, 2**62) for place in places], dtype=np.int64)  # unused past 2**62

    def _table(self, p: Any, column: _Column) -> dict[Any, tuple[float, ...]] | None:
        if isinstance(p, Real) or p.n > self.TABLE_LIMIT:
            return None
        choices = list(p.choices)
        block = FeatureEncoder._encode_column(p, column, choices, len(choices))
        return {choice: tuple(row) for choice, row in zip(choices, block.tolist())}

    @staticmethod
    def _plan(p: Any) -> _Column:
        if isinstance(p, Values):
            positive_powers = all(v > 0 and math.log2(v) == int(math.log2(v)) for v in p.choices)
            return _Column(p.name, "log2" if positive_powers else "value", (p.name,))
        if isinstance(p, Categorical):
            return _Column(p.name, "onehot", tuple(f"{p.name}={c}" for c in p.choices))
        if isinstance(p, (Integer, Real)):
            return _Column(p.name, "log2" if p.log else "value", (p.name,))
        raise TypeError(f"parameter {getattr(p, 'name', p)!r} has an unsupported kind {type(p).__name__}")

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(name for column in self._columns for name in column.names)

    def transform(self, designs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Designs -> ``(len(designs), n_features)`` floats; each design is validated first."""
        rows = [self.space.validate(d) for d in designs]
        return self._encode({p.name: [row[p.name] for row in rows] for p in self.space}, len(rows))

    def encode_one(self, design: Mapping[str, Any]) -> np.ndarray:
        """One design -> a ``(1, n_features)`` row, equal to ``transform([design])``.

        The common case -- every value given exactly as one of its parameter's choices (a
        ``str``, ``int`` or ``float``), no extra keys -- is a dictionary lookup per parameter.
        Anything else (other types, missing or unknown names, invalid values) goes through
        :meth:`transform`, which validates and raises the usual clear errors.
        """
        if type(design) is dict and len(design) == len(self._tables):
            values: list[float] = []
            try:
                for p, table in zip(self.space.parameters, self._tables):
                    v = design[p.name]
                    kind = type(v)
                    if table is not None and (kind is str or kind is int or kind is float):
                        values.extend(table[v])
                    else:
                        return self.transform([design])
            except (KeyError, TypeError):  # a name or value the tables do not hold: validate properly
                return self.transform([design])
            return np.array(values, dtype=np.float64).reshape(1, self._n_features)
        return self.transform([design])

    def choice_rows(self) -> np.ndarray | None:
        """Every (parameter, choice) as a feature row: that parameter's columns, NaN elsewhere.

        Row ``k`` is the choice :meth:`choice_index_one` numbers ``k``; a design's encoding is
        the union of its parameters' rows. ``None`` when a parameter has no finite table (a
        :class:`~archgym.spaces.Real` or a very wide :class:`~archgym.spaces.Integer`).
        """
        if self._choice_index is None:
            return None
        rows = []
        start = 0
        for table, column in zip(self._tables, self._columns):
            width = len(column.names)
            for block in table:  # type: ignore[union-attr]
                row = np.full(self._n_features, np.nan)
                row[start: start + width] = table[block]  # type: ignore[index]
                rows.append(row)
            start += width
        return np.array(rows)

    @property
    def choice_sizes(self) -> tuple[int, ...] | None:
        """Each parameter's number of :meth:`choice_rows` (``None`` where :meth:`choice_rows` is)."""
        return None if self._choice_index is None else tuple(map(len, self._choice_index))

    @property
    def n_designs(self) -> int | None:
        """How many designs the space holds when :meth:`choice_number_one` numbers them (every
        parameter has a table and there are fewer than 2**62 designs); ``None`` otherwise."""
        sizes = self.choice_sizes
        if sizes is None:
            return None
        count = math.prod(sizes)
        return count if count < 2**62 else None

    def number_features(self, numbers: np.ndarray) -> np.ndarray:
        """The encodings (``(len(numbers), n_features)``) of the designs numbered ``numbers``
        (:meth:`choice_number_one`'s numbering): equal to :meth:`encode_one` of each design."""
        n_designs = self.n_designs
        if n_designs is None:
            raise ValueError("this design space has no design numbers (a parameter without a finite table, "
                             "or 2**62 designs or more)")
        numbers = np.asarray(numbers, dtype=np.int64).reshape(-1)
        if numbers.size and (numbers.min() < 0 or numbers.max() >= n_designs):
            raise ValueError(f"design numbers must lie in 0..{n_designs - 1}")
        sizes = np.array(self.choice_sizes, dtype=np.int64)
        digits = (numbers[:, None] // self._places) % sizes  # type: ignore[operator]
        picked = self.choice_rows()[digits + self._first_rows]  # type: ignore[index, operator]
        # each feature column is set (not NaN) in exactly one of a design's choice rows
        return np.fmax.reduce(picked, axis=1)

    def choice_index_one(self, design: Mapping[str, Any]) -> tuple[int, ...] | None:
        """The :meth:`choice_rows` of one design's values, or ``None`` when the design is not in the
        common form :meth:`encode_one` looks up directly (then encode it with :meth:`encode_one`).

        Built with C-level ``map`` calls, no Python loop per parameter: this is most of a
        proxy's single prediction outside the compiled part.
        """
        values = self._plain_values(design)
        if values is None:
            return None
        try:
            return tuple(map(dict.__getitem__, self._choice_index, values))  # type: ignore[arg-type]
        except (KeyError, TypeError):
            return None

    def choice_number_one(self, design: Mapping[str, Any]) -> int | None:
        """The design's number: its choices' positions as the digits of one integer in mixed radix
        (the last parameter fastest; :meth:`choice_sizes` are the radices), or ``None`` as
        :meth:`choice_index_one` says. The one-integer form of a design a proxy's compiled
        prediction takes fastest."""
        values = self._plain_values(design)
        if values is None:
            return None
        try:
            return sum(map(dict.__getitem__, self._choice_number, values))  # type: ignore[arg-type]
        except (KeyError, TypeError):
            return None

    def _plain_values(self, design: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The design's values in parameter order when it is a dict of exactly the parameters' names
        with str/int/float values and every parameter has a table; ``None`` otherwise."""
        index = self._choice_index
        if index is None or type(design) is not dict or len(design) != len(index):
            return None
        try:
            values = self._values_of(design)  # one C-level call for every parameter
        except KeyError:
            return None
        if self._one_parameter:
            values = (values,)
        if not _PLAIN_TYPES.issuperset(map(type, values)):  # bool, numpy scalars, ...: not looked up
            return None
        return values

    def transform_frame(self, frame: "pd.DataFrame") -> np.ndarray:
        """Encode the ``design.<name>`` columns of dataset rows (values are validated)."""
        columns = [DESIGN_PREFIX + name for name in self.space.names]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            present = sorted(c for c in frame.columns if c.startswith(DESIGN_PREFIX))
            raise UserError(
                f"the dataset rows lack design column(s) {', '.join(missing)} of the design space; "
                f"they have {', '.join(present) or 'none'}"
            )
        designs = frame[columns].rename(columns=lambda c: c[len(DESIGN_PREFIX):]).to_dict("records")
        return self.transform(designs)

    def _encode(self, values: Mapping[str, list[Any]], n: int) -> np.ndarray:
        blocks = [self._encode_column(self.space[c.parameter], c, values[c.parameter], n) for c in self._columns]
        return np.hstack(blocks) if blocks else np.empty((n, 0))

    @staticmethod
    def _encode_column(p: Any, column: _Column, values: list[Any], n: int) -> np.ndarray:
        """The ``(n, len(column.names))`` block of one parameter for validated ``values``."""
        if column.kind == "onehot":
            block = np.zeros((n, p.n))
            block[np.arange(n), [p.index(v) for v in values]] = 1.0
            return block
        block = np.asarray(values, dtype=np.float64).reshape(n, 1)
        return np.log2(block) if column.kind == "log2" else block


def metric_matrix(frame: "pd.DataFrame", metrics: Sequence[str]) -> np.ndarray:
    """The ``metric.<name>`` columns of ``frame`` as a float matrix, one column per metric."""
    columns = [METRIC_PREFIX + m for m in metrics]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UserError(f"the dataset rows lack metric column(s) {', '.join(missing)}")
    return frame[columns].to_numpy(dtype=np.float64)


def design_groups(features: np.ndarray) -> np.ndarray:
    """An integer id per row; rows with identical features (the same design) share an id."""
    if len(features) == 0:
        return np.empty(0, dtype=np.int64)
    return np.unique(features, axis=0, return_inverse=True)[1].reshape(-1)


def split_by_design(
    features: np.ndarray, test_fraction: float = 0.2, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, test)``: a random ``test_fraction`` of the distinct designs is held out.

    Every row of a design goes to the same side (scikit-learn's ``GroupShuffleSplit`` with the
    design as group), so duplicates cannot leak test designs into training.
    """
    from sklearn.model_selection import GroupShuffleSplit

    if not 0 < test_fraction < 1:
        raise UserError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    groups = design_groups(features)
    n_designs = len(np.unique(groups))
    if n_designs < 2:
        raise UserError(f"a held-out split needs at least 2 distinct designs, the data has {n_designs}")
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
    train, test = next(splitter.split(features, groups=groups))
    return np.sort(train), np.sort(test)
