"""Dataset schema and records: column layout, shard naming, errors and record validation.

:func:`normalize_record` turns one evaluation record into a flat row, and
:func:`_rows_to_table` turns a writer's rows into one shard's Arrow table.
"""

from __future__ import annotations

import json
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyarrow as pa

from archgym.errors import UserError

#: Version of the record layout; stored in every row and in each shard's metadata.
#: 1: the first layout. 2: adds the provenance columns (``simulator_fingerprint``,
#: ``env_kwargs``, ``workload_key``, ``objective``, ``setup``, ``archgym_version``) and
#: ``new_design``. Shards of version 1 still load: their new columns read as null.
SCHEMA_VERSION: int = 2

#: Column-name prefix of design parameters (``design.<name>``).
DESIGN_PREFIX = "design."
#: Column-name prefix of metrics (``metric.<name>``).
METRIC_PREFIX = "metric."

#: The core columns, in order, with their Arrow types. All are nullable except
#: ``schema_version`` and ``timestamp``, which the writer always fills.
CORE_COLUMNS: dict[str, pa.DataType] = {
    "schema_version": pa.int32(),
    "study": pa.string(),
    "run": pa.string(),
    "env_id": pa.string(),
    "workload": pa.string(),
    "simulator": pa.string(),
    "simulator_version": pa.string(),
    "simulator_fingerprint": pa.string(),  # Simulator.fingerprint(): name, version and configuration
    "env_kwargs": pa.string(),  # canonical JSON of the gym.make keyword arguments
    "workload_key": pa.string(),  # Simulator.workload_key(workload): the workload's content identity
    "objective": pa.string(),  # canonical JSON: name, targets, weights, senses, failure reward
    "setup": pa.string(),  # short hash of env id + the four fields above (archgym.dataset.setup_id)
    "archgym_version": pa.string(),
    "agent": pa.string(),
    "agent_params": pa.string(),  # JSON text
    "seed": pa.int64(),
    "step": pa.int64(),
    "reward": pa.float64(),
    "feasible": pa.bool_(),
    "new_design": pa.bool_(),  # False when the run evaluated this design before (a repeat)
    "error": pa.string(),
    "wall_time_s": pa.float64(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}

#: A file listing other files that archgym wrote into a folder that are not shards (e.g. a
#: lottery report written into the dataset folder): readers skip the files it names.
NON_SHARD_MANIFEST = "_archgym-files.json"

#: Glob matching published shards inside a dataset folder (for DuckDB, Spark, …).
SHARD_GLOB = "part-*.parquet"

_SHARD_RE = re.compile(r"^part-(?P<writer>[A-Za-z0-9_.\-]+)-(?P<seq>\d{6,})\.parquet$")
_WRITER_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_STRING_FIELDS = frozenset(
    {"study", "run", "env_id", "workload", "simulator", "simulator_version", "agent",
     "simulator_fingerprint", "workload_key", "setup", "archgym_version"}
)
#: core fields holding JSON text; a mapping given for one is stored as canonical JSON
_JSON_FIELDS = frozenset({"agent_params", "env_kwargs", "objective"})
_METADATA_VERSION_KEY = b"archgym.schema_version"
_METADATA_WRITER_KEY = b"archgym.writer_id"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class DatasetError(UserError):
    """A dataset folder cannot be read or written as asked (missing, corrupt or foreign files, …)."""


class DatasetWarning(UserWarning):
    """Emitted by ``load(..., on_error="warn")`` for each batch of files it had to skip."""


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _check_int64(key: str, value: Any) -> int:
    ivalue = int(value)
    if not _INT64_MIN <= ivalue <= _INT64_MAX:
        raise ValueError(f"{key!r} = {ivalue} does not fit in a 64-bit integer")
    return ivalue


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _json_default(value: Any) -> Any:
    """JSON fallback for agent hyperparameters: NumPy scalars/arrays as numbers, the rest as text."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return str(value)


def _normalize_core(key: str, value: Any) -> Any:
    """Validate one core field and convert it to the Python value stored in its column."""
    if value is None:
        if key == "schema_version":
            return SCHEMA_VERSION
        if key == "timestamp":
            return datetime.now(timezone.utc)
        return None
    if key in _STRING_FIELDS:
        if not isinstance(value, str):
            raise ValueError(f"record field {key!r} must be a string, got {_describe(value)}")
        return str(value)
    if key in _JSON_FIELDS:
        if isinstance(value, str):
            return str(value)
        if isinstance(value, Mapping):
            return json.dumps(dict(value), sort_keys=True, default=_json_default)
        raise ValueError(f"record field {key!r} must be a mapping or JSON text, got {_describe(value)}")
    if key == "error":
        if isinstance(value, BaseException):
            return f"{type(value).__name__}: {value}"
        if not isinstance(value, str):
            raise ValueError(f"record field 'error' must be a string or None, got {_describe(value)}")
        return str(value)
    if key in ("seed", "step"):
        if not _is_int(value):
            raise ValueError(f"record field {key!r} must be an integer, got {_describe(value)}")
        return _check_int64(key, value)
    if key in ("reward", "wall_time_s"):
        if not _is_real(value):
            raise ValueError(f"record field {key!r} must be a number, got {_describe(value)}")
        return float(value)
    if key in ("feasible", "new_design"):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"record field {key!r} must be a bool, got {_describe(value)}")
        return bool(value)
    if key == "schema_version":
        if not _is_int(value) or int(value) != SCHEMA_VERSION:
            raise ValueError(
                f"record field 'schema_version' must be {SCHEMA_VERSION} (it is filled in for you),"
                f" got {_describe(value)}"
            )
        return SCHEMA_VERSION
    if key == "timestamp":
        if not isinstance(value, datetime):
            raise ValueError(f"record field 'timestamp' must be a datetime, got {_describe(value)}")
        # Naive datetimes are taken to be UTC; aware ones are converted.
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    raise AssertionError(key)  # pragma: no cover - every core key is handled above


def _design_value(column: str, value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value if value is None else str(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if _is_int(value):
        return _check_int64(column, value)
    if _is_real(value):
        return float(value)
    raise ValueError(
        f"design parameter {column[len(DESIGN_PREFIX):]!r} must be an int, float, bool or str,"
        f" got {_describe(value)}"
    )


def _metric_value(column: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or _is_real(value):
        return float(value)
    raise ValueError(f"metric {column[len(METRIC_PREFIX):]!r} must be a number, got {_describe(value)}")


def _put(row: dict[str, Any], column: str, value: Any) -> None:
    if column in row:
        raise ValueError(f"record gives {column!r} twice (nested and flattened)")
    if column.startswith(DESIGN_PREFIX):
        row[column] = _design_value(column, value)
    else:
        row[column] = _metric_value(column, value)


def _nested(record: Mapping[str, Any], key: str, prefix: str, row: dict[str, Any]) -> None:
    values = record[key]
    if values is None:
        return
    if not isinstance(values, Mapping):
        raise ValueError(f"record field {key!r} must be a mapping of name -> value, got {_describe(values)}")
    for name, value in values.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"record field {key!r} has an invalid name {name!r} (need a non-empty string)")
        _put(row, prefix + name, value)


def normalize_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one evaluation record and return it as a flat row (column name -> value).

    Accepts the core fields of :data:`CORE_COLUMNS`, a ``design`` mapping, a ``metrics``
    mapping, and already-flattened ``design.<name>`` / ``metric.<name>`` keys. Raises
    :class:`ValueError` naming the offending key for an unknown key, a core field of the
    wrong type, a metric that is not a number or a design value that is not a scalar.
    ``agent_params``, ``env_kwargs`` and ``objective`` may be mappings (stored as sorted
    JSON); ``error`` may be an exception (stored as ``"Type: message"``). :meth:`DatasetWriter.append` calls this.
    """
    if not isinstance(record, Mapping):
        raise ValueError(f"a record must be a mapping, got {_describe(record)}")
    unknown = [
        k
        for k in record
        if not (
            isinstance(k, str)
            and (
                k in CORE_COLUMNS
                or k in ("design", "metrics")
                or (k.startswith(DESIGN_PREFIX) and len(k) > len(DESIGN_PREFIX))
                or (k.startswith(METRIC_PREFIX) and len(k) > len(METRIC_PREFIX))
            )
        )
    ]
    if unknown:
        raise ValueError(
            f"unknown record key(s) {', '.join(repr(k) for k in unknown)}; allowed are the core fields"
            f" ({', '.join(CORE_COLUMNS)}), 'design' and 'metrics' (mappings), and flattened"
            f" '{DESIGN_PREFIX}<name>' / '{METRIC_PREFIX}<name>' keys"
        )
    row: dict[str, Any] = {key: _normalize_core(key, record.get(key)) for key in CORE_COLUMNS}
    if "design" in record:
        _nested(record, "design", DESIGN_PREFIX, row)
    if "metrics" in record:
        _nested(record, "metrics", METRIC_PREFIX, row)
    for key, value in record.items():
        if key.startswith(DESIGN_PREFIX) or key.startswith(METRIC_PREFIX):
            _put(row, key, value)
    return row


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def _arrow_type_for_kinds(kinds: set[str]) -> pa.DataType:
    """The Arrow type of a design column holding values of the given kinds."""
    if not kinds:
        return pa.null()
    if kinds == {"str"}:
        return pa.string()
    if kinds == {"bool"}:
        return pa.bool_()
    if "float" in kinds:
        return pa.float64()
    return pa.int64()


def _rows_to_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Iterable[str],
    design_kinds: Mapping[str, set[str]],
    writer_id: str,
) -> pa.Table:
    """Build one shard's table; a column missing from some rows is null there.

    A design column's type follows every value this writer has seen for it (so a writer
    does not flip between int and float shards); a design column that is null in every
    row of the shard is left out, which readers treat the same as null, so that no shard
    carries an untyped (Arrow ``null``) column that plain ``pyarrow.dataset`` cannot cast.
    """
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for name in columns:
        values = [row.get(name) for row in rows]
        if name in CORE_COLUMNS:
            type_ = CORE_COLUMNS[name]
        elif name.startswith(METRIC_PREFIX):
            type_ = pa.float64()
        else:
            if all(v is None for v in values):
                continue
            type_ = _arrow_type_for_kinds(design_kinds.get(name, set()))
            if type_ == pa.float64():
                values = [None if v is None else float(v) for v in values]
            elif type_ == pa.int64():
                values = [None if v is None else int(v) for v in values]
        arrays.append(pa.array(values, type=type_))
        fields.append(pa.field(name, type_, nullable=True))
    metadata = {_METADATA_VERSION_KEY: str(SCHEMA_VERSION).encode(), _METADATA_WRITER_KEY: writer_id.encode()}
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata))
