"""Design spaces: the single source of truth for what a design is.

A :class:`DesignSpace` is an ordered list of named parameters. It converts between a design
(a ``dict`` of parameter name to value) and the vector an RL policy sees, provides the
gymnasium space, uniform sampling, local neighbourhoods for local search, its cardinality,
scikit-optimize dimensions, and validation with clear errors. Agent hyperparameters are
declared as design spaces too, so studies sample them with the same machinery.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence, Union

import numpy as np
from gymnasium import spaces

from archgym.errors import UserError, import_optional

Design = dict[str, Any]


class _Parameter:
    """Behaviour shared by every parameter kind (the fields live on the dataclasses)."""

    name: str

    @property
    def is_discrete(self) -> bool:
        return True

    def _reject(self, value: Any) -> UserError:
        return UserError(f"invalid value {value!r} for parameter {self.name!r}; expected {self.describe()}")

    def describe(self) -> str:
        """What values the parameter allows, for error messages (every kind overrides it)."""
        return "a valid value"


@dataclass(frozen=True)
class Categorical(_Parameter):
    """An unordered choice among ``choices`` (strings, numbers or booleans)."""

    name: str
    choices: tuple[Any, ...]
    default: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(self.choices))
        if len(self.choices) < 1:
            raise UserError(f"parameter {self.name!r}: needs at least one choice")
        if len(set(self.choices)) != len(self.choices):
            raise UserError(f"parameter {self.name!r}: duplicate choices in {self.choices!r}")
        if self.default is not None and self.default not in self.choices:
            raise UserError(f"parameter {self.name!r}: default {self.default!r} is not one of {self.choices!r}")

    @property
    def n(self) -> int:
        return len(self.choices)

    @property
    def ordered(self) -> bool:
        return False

    def describe(self) -> str:
        return "one of " + ", ".join(map(repr, self.choices))

    def index(self, value: Any) -> int:
        for i, choice in enumerate(self.choices):
            if value == choice and type(value) is not bool or value is choice:
                return i
        # accept the string form of a non-string choice (command-line input)
        if isinstance(value, str):
            for i, choice in enumerate(self.choices):
                if str(choice) == value:
                    return i
        raise self._reject(value)

    def value(self, index: int) -> Any:
        return self.choices[int(index)]

    def default_value(self) -> Any:
        return self.choices[0] if self.default is None else self.default


@dataclass(frozen=True)
class Values(Categorical):
    """An ordered list of numeric values, e.g. buffer sizes ``(1, 2, 4, ..., 128)``.

    Neighbours are the adjacent values; scikit-optimize sees it as an ordered categorical.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        if not all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in self.choices):
            raise UserError(f"parameter {self.name!r}: Values needs numbers, got {self.choices!r}")
        if list(self.choices) != sorted(self.choices):
            raise UserError(f"parameter {self.name!r}: values must be increasing, got {self.choices!r}")

    @property
    def ordered(self) -> bool:
        return True

    def index(self, value: Any) -> int:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self._reject(value) from None
        for i, choice in enumerate(self.choices):
            if number == float(choice):
                return i
        raise self._reject(value)


def PowerOfTwo(name: str, low: int, high: int, default: int | None = None) -> Values:
    """The powers of two from ``low`` to ``high`` inclusive, as an ordered :class:`Values`."""
    if low < 1 or high < low or low & (low - 1) or high & (high - 1):
        raise UserError(f"parameter {name!r}: PowerOfTwo needs powers of two 1 <= low <= high, got {low}, {high}")
    values = tuple(2**k for k in range(int(math.log2(low)), int(math.log2(high)) + 1))
    return Values(name, values, default)


@dataclass(frozen=True)
class Integer(_Parameter):
    """An integer in ``[low, high]`` (inclusive); ``log`` makes sampling log-uniform."""

    name: str
    low: int
    high: int
    log: bool = False
    default: int | None = None

    def __post_init__(self) -> None:
        if int(self.low) != self.low or int(self.high) != self.high or self.high < self.low:
            raise UserError(f"parameter {self.name!r}: Integer needs integers low <= high, got {self.low}, {self.high}")
        if self.log and self.low < 1:
            raise UserError(f"parameter {self.name!r}: a log-scaled Integer needs low >= 1, got {self.low}")
        if self.default is not None and not self.low <= self.default <= self.high:
            raise UserError(f"parameter {self.name!r}: default {self.default} outside [{self.low}, {self.high}]")

    @property
    def n(self) -> int:
        return int(self.high - self.low + 1)

    @property
    def ordered(self) -> bool:
        return True

    def describe(self) -> str:
        return f"an integer in [{self.low}, {self.high}]"

    def index(self, value: Any) -> int:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self._reject(value) from None
        if number != int(number) or not self.low <= number <= self.high:
            raise self._reject(value)
        return int(number) - self.low

    def value(self, index: int) -> int:
        return int(self.low + int(index))

    def default_value(self) -> int:
        return self.low if self.default is None else int(self.default)

    @property
    def choices(self) -> tuple[int, ...]:
        return tuple(range(self.low, self.high + 1))


@dataclass(frozen=True)
class Real(_Parameter):
    """A real number in ``[low, high]``; ``log`` makes sampling log-uniform."""

    name: str
    low: float
    high: float
    log: bool = False
    default: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.high <= self.low:
            raise UserError(f"parameter {self.name!r}: Real needs finite low < high, got {self.low}, {self.high}")
        if self.log and self.low <= 0:
            raise UserError(f"parameter {self.name!r}: a log-scaled Real needs low > 0, got {self.low}")

    @property
    def is_discrete(self) -> bool:
        return False

    @property
    def n(self) -> float:
        return math.inf

    @property
    def ordered(self) -> bool:
        return True

    def describe(self) -> str:
        return f"a real number in [{self.low}, {self.high}]"

    def check(self, value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self._reject(value) from None
        if not self.low <= number <= self.high:
            raise self._reject(value)
        return number

    def default_value(self) -> float:
        if self.default is not None:
            return float(self.default)
        return math.sqrt(self.low * self.high) if self.log else (self.low + self.high) / 2


Parameter = Union[Categorical, Values, Integer, Real]


#: value types :meth:`DesignSpace.validate` looks up directly (not bool: ``True == 1``; not numpy scalars)
_PLAIN_TYPES = frozenset((str, int, float))


def _canonical_tables(parameters: Sequence[Parameter]) -> tuple[dict[Any, Any], ...] | None:
    """``{choice: choice}`` per parameter for :meth:`DesignSpace.validate`'s fast path, or ``None``
    unless every parameter is a :class:`Categorical` (or :class:`Values`) of str/int/float
    choices that are pairwise unequal (``1`` and ``1.0`` would share a key and mislead a lookup)."""
    tables = []
    for p in parameters:
        if not isinstance(p, Categorical) or any(type(c) not in _PLAIN_TYPES for c in p.choices):
            return None
        table = {choice: choice for choice in p.choices}
        if len(table) != len(p.choices):
            return None
        tables.append(table)
    return tuple(tables)


@dataclass(frozen=True)
class DesignSpace:
    """An ordered collection of named parameters.

    Example::

        space = DesignSpace([Categorical("policy", ("Open", "Closed")), PowerOfTwo("buffer", 1, 128)])
        design = space.sample(np.random.default_rng(0))
        assert space.decode(space.encode(design)) == design
    """

    parameters: tuple[Parameter, ...]
    _by_name: dict[str, Parameter] = field(init=False, repr=False, compare=False)
    #: per parameter {choice: choice} when every parameter is a Categorical/Values whose choices
    #: hash apart (see :meth:`validate`'s fast path); ``None`` otherwise
    _canonical: tuple[dict[Any, Any], ...] | None = field(init=False, repr=False, compare=False)

    def __init__(self, parameters: Sequence[Parameter]):
        parameters = tuple(parameters)
        names = [p.name for p in parameters]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise UserError(f"duplicate parameter names in design space: {', '.join(duplicates)}")
        if not parameters:
            raise UserError("a design space needs at least one parameter")
        object.__setattr__(self, "parameters", parameters)
        object.__setattr__(self, "_by_name", {p.name: p for p in parameters})
        object.__setattr__(self, "_canonical", _canonical_tables(parameters))

    # -- basic container protocol -------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.parameters)

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"unknown parameter {name!r}; expected one of {', '.join(self.names)}") from None

    @property
    def is_discrete(self) -> bool:
        return all(p.is_discrete for p in self.parameters)

    @property
    def size(self) -> float:
        """Number of distinct designs (``math.inf`` when a parameter is real)."""
        return math.prod(p.n for p in self.parameters)

    @property
    def nvec(self) -> np.ndarray:
        """Cardinality of every parameter (discrete spaces only)."""
        if not self.is_discrete:
            raise TypeError("nvec is only defined for all-discrete design spaces")
        return np.array([p.n for p in self.parameters], dtype=np.int64)

    # -- validation and conversion ----------------------------------------------------
    def validate(self, design: Mapping[str, Any]) -> Design:
        """Return ``design`` with canonical values; raise ``ValueError`` naming what is wrong.

        Every parameter must be present and in range; unknown names are rejected.
        """
        canonical = self._canonical
        if canonical is not None and type(design) is dict and len(design) == len(canonical):
            # fast path: a dict of exactly the space's names, each value one of its choices as a str,
            # int or float (what agents and samplers pass) -- the same result as the loop below
            try:
                values = list(map(design.__getitem__, self._by_name))
                if _PLAIN_TYPES.issuperset(map(type, values)):
                    return dict(zip(self._by_name, map(dict.__getitem__, canonical, values)))
            except (KeyError, TypeError):
                pass  # a missing name or a value that is not a choice: the loop below names the fault
        if not isinstance(design, Mapping):
            raise TypeError(f"a design must be a mapping of parameter name to value, got {type(design).__name__}")
        unknown = [k for k in design if k not in self._by_name]
        if unknown:
            raise UserError(f"unknown parameter(s) {', '.join(map(repr, unknown))}; expected: {', '.join(self.names)}")
        missing = [n for n in self.names if n not in design]
        if missing:
            raise UserError(f"design is missing parameter(s): {', '.join(missing)}")
        result: Design = {}
        for p in self.parameters:
            if isinstance(p, Real):
                result[p.name] = p.check(design[p.name])
            else:
                result[p.name] = p.value(p.index(design[p.name]))
        return result

    def default(self) -> Design:
        """The design made of every parameter's default (its first choice when none is set)."""
        return {p.name: p.default_value() for p in self.parameters}

    def encode(self, design: Mapping[str, Any]) -> np.ndarray:
        """Design -> vector: choice indices (int64) for discrete spaces, floats otherwise."""
        design = self.validate(design)
        if self.is_discrete:
            return np.array([p.index(design[p.name]) for p in self.parameters], dtype=np.int64)
        return np.array(
            [design[p.name] if isinstance(p, Real) else p.index(design[p.name]) for p in self.parameters],
            dtype=np.float64,
        )

    def decode(self, vector: Any) -> Design:
        """Vector (as produced by :meth:`encode` or sampled from :meth:`gym_space`) -> design."""
        array = np.asarray(vector)
        if array.shape != (len(self.parameters),):
            raise UserError(
                f"action/vector has shape {array.shape}; expected ({len(self.parameters)},) — one entry per "
                f"parameter ({', '.join(self.names)})"
            )
        design: Design = {}
        for p, x in zip(self.parameters, array):
            if isinstance(p, Real):
                design[p.name] = p.check(x)
                continue
            if not np.isfinite(x) or float(x) != round(float(x)) or not 0 <= x < p.n:
                raise UserError(
                    f"invalid index {x!r} for parameter {p.name!r}; expected an integer in [0, {p.n - 1}] "
                    f"({p.describe()})"
                )
            design[p.name] = p.value(int(round(float(x))))
        return design

    def gym_space(self, seed: int | None = None) -> spaces.Space:
        """``MultiDiscrete`` when all-discrete, else a ``Box`` (indices for discrete entries)."""
        if self.is_discrete:
            return spaces.MultiDiscrete(self.nvec, seed=seed)
        low = np.array([p.low if isinstance(p, Real) else 0 for p in self.parameters], dtype=np.float64)
        high = np.array([p.high if isinstance(p, Real) else p.n - 1 for p in self.parameters], dtype=np.float64)
        return spaces.Box(low, high, dtype=np.float64, seed=seed)

    # -- sampling and local moves -------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Design:
        """A uniformly random design (log-uniform for ``log`` parameters)."""
        design: Design = {}
        for p in self.parameters:
            if isinstance(p, Real):
                if p.log:
                    design[p.name] = float(math.exp(rng.uniform(math.log(p.low), math.log(p.high))))
                else:
                    design[p.name] = float(rng.uniform(p.low, p.high))
            elif isinstance(p, Integer) and p.log:
                # log-uniform over [low, high + 1), floored: every integer keeps a non-zero share
                draw = math.exp(rng.uniform(math.log(p.low), math.log(p.high + 1)))
                design[p.name] = min(int(draw), p.high)
            else:
                design[p.name] = p.value(int(rng.integers(p.n)))
        return design

    def neighbours(self, design: Mapping[str, Any], real_step: float = 0.05) -> list[Design]:
        """Designs that differ from ``design`` in exactly one parameter by one step.

        Ordered parameters move to the adjacent value (reals by ``real_step`` of their range);
        categorical parameters move to every other choice.
        """
        design = self.validate(design)
        result: list[Design] = []
        for p in self.parameters:
            if isinstance(p, Real):
                step = real_step * (p.high - p.low)
                candidates = [min(p.high, design[p.name] + step), max(p.low, design[p.name] - step)]
                candidates = [c for c in candidates if c != design[p.name]]
            elif p.ordered:
                i = p.index(design[p.name])
                candidates = [p.value(j) for j in (i - 1, i + 1) if 0 <= j < p.n]
            else:
                candidates = [c for c in p.choices if c != design[p.name]]
            for value in candidates:
                result.append({**design, p.name: value})
        return result

    # -- interoperability -------------------------------------------------------------
    def to_skopt(self) -> list[Any]:
        """scikit-optimize dimensions, one per parameter, named like the parameters."""
        skopt_space = import_optional("skopt.space", "skopt", "DesignSpace.to_skopt")
        SkCategorical, SkInteger, SkReal = skopt_space.Categorical, skopt_space.Integer, skopt_space.Real

        dims: list[Any] = []
        for p in self.parameters:
            if isinstance(p, Real):
                dims.append(SkReal(p.low, p.high, prior="log-uniform" if p.log else "uniform", name=p.name))
            elif isinstance(p, Integer):
                dims.append(SkInteger(p.low, p.high, prior="log-uniform" if p.log else "uniform", name=p.name))
            else:
                dims.append(SkCategorical(list(p.choices), name=p.name))
        return dims

    def describe(self) -> str:
        """One line per parameter: name and allowed values."""
        return "\n".join(f"{p.name}: {p.describe()}" for p in self.parameters)
