"""The shared evaluation dataset: one Parquet record per simulator evaluation.

Every evaluation from every agent, in every process on every machine, is appended to one
*dataset folder* of Parquet shards. The folder is the whole database: there is no server,
no lock file and no index, so studies can fan out over a process pool or a cluster and all
write into the same folder, and the result is read back with :func:`load` (pandas),
:func:`query` (DuckDB SQL), or directly by ``pyarrow.dataset`` / DuckDB / Spark.

Layout and guarantees
---------------------
* Each :class:`DatasetWriter` owns its shard files, named
  ``part-<writer_id>-<seq:06d>.parquet`` where ``writer_id`` is unique per writer
  (hostname, pid and a random token), so writers never touch each other's files.
* A shard is written to a hidden temporary file in the same folder (``.part-….tmp``),
  fsynced, and only then *published* under its final name by an atomic hard link (falling
  back to ``os.replace`` on file systems without hard links). Readers therefore see either
  a complete shard or nothing; a published shard is never overwritten.
* Rows are buffered in memory and flushed when ``buffer_size`` rows are held, when
  ``flush_interval_s`` has passed since the last flush (checked on each append), on
  :meth:`DatasetWriter.close`, when the writer is garbage collected and at interpreter
  exit. A killed process loses at most its unflushed buffer; a leftover hidden temp file
  is ignored by every reader.
* Readers ignore names beginning with ``.`` or ``_`` (the Hadoop/Arrow convention). Any
  other file that is not a readable shard -- a corrupt Parquet file, ``notes.txt``, a
  stray directory -- is *reported by name*: :func:`load` raises :class:`DatasetError`
  (``on_error="raise"``) or warns and loads the rest (``on_error="warn"``); it is never
  silently dropped.

Record format
-------------
:meth:`DatasetWriter.append` takes one flat mapping of core fields plus two nested
mappings, ``design`` and ``metrics``::

    writer.append({
        "study": "lottery-1", "run": "rs-0", "env_id": "archgym/DRAM-v0",
        "workload": "stream", "simulator": "dram", "simulator_version": "1.0",
        "agent": "random", "agent_params": {"batch": 4}, "seed": 0, "step": 3,
        "reward": 0.7, "feasible": True, "error": None, "wall_time_s": 0.012,
        "design": {"pagepolicy": "Open", "max_active_transactions": 16},
        "metrics": {"latency_ns": 41.5, "power_mw": 812.0},
    })

The design is stored as one column per parameter, ``design.<name>`` (int64, float64,
bool or string as the values are), and the metrics as ``metric.<name>`` (float64).
Already-flattened ``"design.<name>"`` / ``"metric.<name>"`` keys are accepted too. Missing
core fields are stored as null, except ``schema_version`` (always :data:`SCHEMA_VERSION`)
and ``timestamp`` (the time of the append, UTC). See :data:`CORE_COLUMNS` for the types.
"""

from __future__ import annotations

import errno
import json
import numbers
import os
import re
import secrets
import socket
import threading
import time
import warnings
import weakref
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "CORE_COLUMNS",
    "DESIGN_PREFIX",
    "METRIC_PREFIX",
    "SCHEMA_VERSION",
    "SHARD_GLOB",
    "DatasetError",
    "DatasetInfo",
    "DatasetWarning",
    "DatasetWriter",
    "info",
    "load",
    "load_table",
    "normalize_record",
    "query",
    "read_schema",
]

#: Version of the record layout; stored in every row and in each shard's metadata.
SCHEMA_VERSION: int = 1

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
    "agent": pa.string(),
    "agent_params": pa.string(),  # JSON text
    "seed": pa.int64(),
    "step": pa.int64(),
    "reward": pa.float64(),
    "feasible": pa.bool_(),
    "error": pa.string(),
    "wall_time_s": pa.float64(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}

#: Glob matching published shards inside a dataset folder (for DuckDB, Spark, …).
SHARD_GLOB = "part-*.parquet"

_SHARD_RE = re.compile(r"^part-(?P<writer>[A-Za-z0-9_.\-]+)-(?P<seq>\d{6,})\.parquet$")
_WRITER_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_STRING_FIELDS = frozenset(
    {"study", "run", "env_id", "workload", "simulator", "simulator_version", "agent"}
)
_METADATA_VERSION_KEY = b"archgym.schema_version"
_METADATA_WRITER_KEY = b"archgym.writer_id"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

OnError = Literal["raise", "warn"]
Filters = Union[pc.Expression, Sequence[Any], None]


class DatasetError(Exception):
    """A dataset folder cannot be read or written as asked (missing, corrupt or foreign files, …)."""


class DatasetWarning(UserWarning):
    """Emitted by ``load(..., on_error="warn")`` for each batch of files it had to skip."""


# ---------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------


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
    if key == "agent_params":
        if isinstance(value, str):
            return str(value)
        if isinstance(value, Mapping):
            return json.dumps(dict(value), sort_keys=True, default=_json_default)
        raise ValueError(
            f"record field 'agent_params' must be a mapping or JSON text, got {_describe(value)}"
        )
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
    if key == "feasible":
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"record field 'feasible' must be a bool, got {_describe(value)}")
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
    ``agent_params`` may be a mapping (stored as sorted JSON); ``error`` may be an
    exception (stored as ``"Type: message"``). :meth:`DatasetWriter.append` calls this.
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


# ---------------------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------------------


def _new_writer_id() -> str:
    host = re.sub(r"[^A-Za-z0-9.\-]+", "-", socket.gethostname()).strip("-.") or "host"
    return f"{host[:40]}-{os.getpid()}-{secrets.token_hex(4)}"


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (POSIX); silently skipped where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _publish(tmp: Path, final: Path) -> bool:
    """Atomically give ``tmp`` the name ``final`` without ever overwriting; False if taken."""
    try:
        os.link(tmp, final)
    except FileExistsError:
        return False
    except OSError as exc:  # no hard links here (some network / FUSE file systems)
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.EACCES):
            raise
        if final.exists():
            return False
        os.replace(tmp, final)
        return True
    tmp.unlink()
    return True


class _WriterState:
    """Everything a writer needs to flush, kept apart from the writer so finalizers can hold it."""

    def __init__(self, path: Path, writer_id: str | None, buffer_size: int, flush_interval_s: float | None):
        self.path = path
        self.explicit_id = writer_id is not None
        self.writer_id = writer_id if writer_id is not None else _new_writer_id()
        self.buffer_size = buffer_size
        self.flush_interval_s = flush_interval_s
        self.lock = threading.RLock()
        self.buffer: list[dict[str, Any]] = []
        self.columns: dict[str, None] = dict.fromkeys(CORE_COLUMNS)  # ordered set
        self.kinds: dict[str, set[str]] = {}  # design column -> kinds of its values so far
        self.seq = 0
        self.rows_written = 0
        self.shards: list[Path] = []
        self.last_flush = time.monotonic()
        self.closed = False
        self.pid = os.getpid()

    def after_fork_in_child(self) -> None:
        # The parent still owns its buffered rows and its shard names: a forked child
        # starts empty under a fresh identity so that nothing is written twice.
        self.lock = threading.RLock()
        self.buffer = []
        self.seq = 0
        self.rows_written = 0
        self.shards = []
        self.last_flush = time.monotonic()
        self.pid = os.getpid()
        self.writer_id = (
            f"{self.writer_id}-fork{os.getpid()}-{secrets.token_hex(2)}" if self.explicit_id else _new_writer_id()
        )

    def check_kinds(self, row: Mapping[str, Any]) -> dict[str, str]:
        """Kinds of the row's design values; refuse text where numbers came before (or vice versa)."""
        new: dict[str, str] = {}
        for name, value in row.items():
            if not name.startswith(DESIGN_PREFIX) or value is None:
                continue
            kind = _kind(value)
            assert kind is not None
            seen = self.kinds.get(name)
            if seen and (("str" in seen) != (kind == "str")):
                raise ValueError(
                    f"design parameter {name[len(DESIGN_PREFIX):]!r} got {_describe(value)} but earlier"
                    f" records of this writer gave {'text' if 'str' in seen else 'numbers'}"
                )
            new[name] = kind
        return new

    def append(self, record: Mapping[str, Any]) -> None:
        row = normalize_record(record)
        with self.lock:
            if self.closed:
                raise DatasetError(f"cannot append to a closed DatasetWriter ({self.path})")
            for name, kind in self.check_kinds(row).items():
                self.kinds.setdefault(name, set()).add(kind)
            for name in row:
                if name not in self.columns:
                    self.columns[name] = None
            self.buffer.append(row)
            due = len(self.buffer) >= self.buffer_size or (
                self.flush_interval_s is not None
                and time.monotonic() - self.last_flush >= self.flush_interval_s
            )
            if due:
                self.flush()

    def flush(self) -> Path | None:
        with self.lock:
            if not self.buffer:
                self.last_flush = time.monotonic()
                return None
            rows = self.buffer
            present = {name for row in rows for name in row}
            table = _rows_to_table(rows, [c for c in self.columns if c in present], self.kinds, self.writer_id)
            self.path.mkdir(parents=True, exist_ok=True)
            while True:
                final = self.path / f"part-{self.writer_id}-{self.seq:06d}.parquet"
                tmp = self.path / f".{final.name}.{secrets.token_hex(4)}.tmp"
                try:
                    with open(tmp, "wb") as fh:
                        pq.write_table(table, fh)
                        fh.flush()
                        os.fsync(fh.fileno())
                    published = _publish(tmp, final)
                finally:
                    if tmp.exists():
                        tmp.unlink()
                self.seq += 1
                if published:
                    break
            _fsync_dir(self.path)
            # Only now that the shard is durable and visible do the rows leave the buffer:
            # if writing fails, they stay and the next flush retries them.
            self.buffer = []
            self.rows_written += table.num_rows
            self.shards.append(final)
            self.last_flush = time.monotonic()
            return final

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            try:
                self.flush()
            finally:
                self.closed = True

    def close_at_exit(self) -> None:
        """Finalizer: flush what is left; never raise during garbage collection or shutdown."""
        if os.getpid() != self.pid:
            return
        try:
            self.close()
        except Exception as exc:  # pragma: no cover - depends on the file system failing
            warnings.warn(
                f"archgym.dataset: could not flush {len(self.buffer)} buffered row(s) to {self.path}: {exc}",
                DatasetWarning,
                stacklevel=1,
            )


_LIVE_STATES: "weakref.WeakSet[_WriterState]" = weakref.WeakSet()


def _reset_states_after_fork() -> None:
    for state in list(_LIVE_STATES):
        state.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_states_after_fork)


class DatasetWriter:
    """Append evaluation records to a dataset folder as atomically published Parquet shards.

    Args:
        path: the dataset folder; created if missing. Must not be an existing file.
        buffer_size: rows held in memory before a shard is written. Larger shards read
            faster; smaller ones lose less if the process is killed.
        flush_interval_s: also flush when this many seconds have passed since the last
            flush (checked on each :meth:`append`; there is no background thread). ``None``
            flushes on size only.
        writer_id: the name stem of this writer's shards; default ``<host>-<pid>-<random>``.
            Must be unique among writers of the folder (published shards are never
            overwritten: a taken name moves on to the next sequence number).

    Use it as a context manager, or call :meth:`close`; remaining rows are also flushed
    when the writer is garbage collected and at normal interpreter exit (not after
    ``SIGKILL`` or ``os._exit``, which is why the buffer is bounded). Thread-safe. A child
    created by ``fork`` starts with an empty buffer and a fresh ``writer_id``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        buffer_size: int = 256,
        flush_interval_s: float | None = 30.0,
        writer_id: str | None = None,
    ) -> None:
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise DatasetError(f"dataset path {str(folder)!r} exists and is not a folder")
        if isinstance(buffer_size, bool) or not isinstance(buffer_size, int) or buffer_size < 1:
            raise ValueError(f"buffer_size must be a positive integer, got {buffer_size!r}")
        if flush_interval_s is not None and not (_is_real(flush_interval_s) and flush_interval_s >= 0):
            raise ValueError(f"flush_interval_s must be a number >= 0 or None, got {flush_interval_s!r}")
        if writer_id is not None and not (isinstance(writer_id, str) and _WRITER_ID_RE.match(writer_id)):
            raise ValueError(f"writer_id must be a non-empty string of letters, digits, '_', '.', '-'; got {writer_id!r}")
        folder.mkdir(parents=True, exist_ok=True)
        self._state = _WriterState(folder, writer_id, buffer_size, flush_interval_s)
        _LIVE_STATES.add(self._state)
        self._finalizer = weakref.finalize(self, self._state.close_at_exit)

    @property
    def path(self) -> Path:
        """The dataset folder."""
        return self._state.path

    @property
    def writer_id(self) -> str:
        """The name stem of this writer's shards."""
        return self._state.writer_id

    @property
    def rows_written(self) -> int:
        """Rows published in shards by this writer (buffered rows are not counted)."""
        return self._state.rows_written

    @property
    def rows_buffered(self) -> int:
        """Rows appended but not yet published."""
        return len(self._state.buffer)

    @property
    def shards(self) -> list[Path]:
        """The shard files this writer has published, in order."""
        return list(self._state.shards)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._state.closed

    def append(self, record: Mapping[str, Any]) -> None:
        """Validate one evaluation record (see :func:`normalize_record`) and buffer it.

        Flushes when the buffer is full or the flush interval has elapsed. Raises
        :class:`ValueError` for an invalid record (nothing is buffered then) and
        :class:`DatasetError` after :meth:`close`.
        """
        self._state.append(record)

    def flush(self) -> Path | None:
        """Publish the buffered rows as one new shard; return its path (``None`` if empty)."""
        return self._state.flush()

    def close(self) -> None:
        """Flush the remaining rows and refuse further appends. Idempotent."""
        self._state.close()
        self._finalizer.detach()

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"DatasetWriter({str(self.path)!r}, writer_id={self.writer_id!r}, rows_written={self.rows_written},"
            f" rows_buffered={self.rows_buffered}{', closed' if self.closed else ''})"
        )


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


@dataclass
class _Shard:
    path: Path
    schema: pa.Schema
    rows: int
    bytes: int


@dataclass
class _Scan:
    shards: list[_Shard]
    bad: dict[str, str]  # file name -> reason
    temp_files: int


def _inspect(path: Path) -> _Shard | str:
    """Read one shard's footer; return the shard or the reason it is unusable."""
    try:
        meta = pq.read_metadata(path)
        schema = meta.schema.to_arrow_schema()
        size = path.stat().st_size
    except Exception as exc:  # noqa: BLE001 - any failure to parse means "unreadable"
        return f"unreadable Parquet file ({type(exc).__name__}: {str(exc).strip()})"
    if "schema_version" not in schema.names:
        return "Parquet file without archgym columns (no 'schema_version')"
    version = (schema.metadata or {}).get(_METADATA_VERSION_KEY)
    if version is not None:
        try:
            newer = int(version) > SCHEMA_VERSION
        except ValueError:
            newer = False
        if newer:
            return f"written with schema version {int(version)}; this archgym reads up to {SCHEMA_VERSION}"
    return _Shard(path, schema, meta.num_rows, size)


def _scan(path: str | os.PathLike[str]) -> _Scan:
    folder = Path(path)
    if not folder.exists():
        raise DatasetError(f"dataset folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise DatasetError(f"dataset path {str(folder)!r} is not a folder")
    candidates: list[Path] = []
    bad: dict[str, str] = {}
    temp_files = 0
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        name = entry.name
        if name.startswith((".", "_")):
            temp_files += name.startswith(".part-") and name.endswith(".tmp")
            continue
        if entry.is_dir():
            bad[name] = "unexpected folder inside the dataset"
        elif not _SHARD_RE.match(name):
            bad[name] = "foreign file (archgym shards are named part-<writer>-<seq>.parquet)"
        else:
            candidates.append(Path(entry.path))
    shards: list[_Shard] = []
    if candidates:
        with ThreadPoolExecutor(max_workers=min(16, len(candidates))) as pool:
            for candidate, result in zip(candidates, pool.map(_inspect, candidates)):
                if isinstance(result, str):
                    bad[candidate.name] = result
                else:
                    shards.append(result)
    return _Scan(shards, dict(sorted(bad.items())), temp_files)


def _report(folder: str | os.PathLike[str], bad: Mapping[str, str], on_error: str) -> None:
    """Raise or warn about unusable files, naming every one of them."""
    if not bad:
        return
    lines = "\n".join(f"  {name}: {reason}" for name, reason in bad.items())
    message = f"dataset {str(folder)!r}: {len(bad)} file(s) could not be read:\n{lines}"
    if on_error == "raise":
        raise DatasetError(message + "\n(pass on_error='warn' to load the remaining files)")
    if on_error == "warn":
        warnings.warn(message + "\n(these files were skipped)", DatasetWarning, stacklevel=3)
        return
    if on_error != "ignore":  # "ignore" is internal: info() lists bad files itself
        raise ValueError(f"on_error must be 'raise' or 'warn', got {on_error!r}")


_NUMERIC_RANK = {"bool": 0, "int": 1, "float": 2}


def _type_family(type_: pa.DataType) -> str:
    if pa.types.is_boolean(type_):
        return "bool"
    if pa.types.is_integer(type_):
        return "int"
    if pa.types.is_floating(type_):
        return "float"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "str"
    return "other"


def _unify_types(types: Sequence[pa.DataType]) -> pa.DataType:
    """One type all shards' versions of a column cast to: ints widen to float, mixes to text."""
    types = [t for t in types if not pa.types.is_null(t)]
    if not types:
        return pa.null()
    if all(t == types[0] for t in types):
        return types[0]
    families = {_type_family(t) for t in types}
    if families <= {"bool", "int", "float"}:
        top = max(families, key=_NUMERIC_RANK.__getitem__)
        return {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64()}[top]
    if families <= {"bool", "int", "float", "str"}:
        return pa.string()
    try:
        return pa.unify_schemas([pa.schema([("x", t)]) for t in types], promote_options="permissive").field("x").type
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.string()


def _column_order(name: str) -> int:
    if name in CORE_COLUMNS:
        return 0
    if name.startswith(DESIGN_PREFIX):
        return 1
    if name.startswith(METRIC_PREFIX):
        return 2
    return 3


def _unified_schema(shards: Sequence[_Shard]) -> pa.Schema:
    seen: dict[str, list[pa.DataType]] = {name: [] for name in CORE_COLUMNS}
    for shard in shards:
        for f in shard.schema:
            seen.setdefault(f.name, []).append(f.type)
    fields = []
    for name in sorted(seen, key=_column_order):  # stable: first-seen order within each group
        type_ = CORE_COLUMNS[name] if name in CORE_COLUMNS else _unify_types(seen[name])
        fields.append(pa.field(name, type_))
    return pa.schema(fields)


def _empty_core_table(columns: Sequence[str] | None) -> pa.Table:
    schema = pa.schema([pa.field(n, t) for n, t in CORE_COLUMNS.items()])
    if columns is not None:
        schema = pa.schema([schema.field(c) if c in CORE_COLUMNS else pa.field(c, pa.null()) for c in columns])
    return schema.empty_table()


def _to_expression(filters: Filters) -> pc.Expression | None:
    if filters is None:
        return None
    if isinstance(filters, pc.Expression):
        return filters
    try:
        return pq.filters_to_expression(filters)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"invalid filters {filters!r}: {exc}") from exc


def _read(
    path: str | os.PathLike[str],
    columns: Sequence[str] | None,
    filters: Filters,
    on_error: str,
) -> tuple[pa.Table, _Scan]:
    if on_error not in ("raise", "warn", "ignore"):
        raise ValueError(f"on_error must be 'raise' or 'warn', got {on_error!r}")
    scan = _scan(path)
    _report(path, scan.bad, on_error)
    columns = list(columns) if columns is not None else None
    if not scan.shards:
        return _empty_core_table(columns), scan
    schema = _unified_schema(scan.shards)
    if columns is not None:
        missing = [c for c in columns if c not in schema.names]
        if missing:
            raise DatasetError(
                f"column(s) {', '.join(map(repr, missing))} not found in dataset {str(path)!r};"
                f" it has: {', '.join(schema.names)}"
            )
    expression = _to_expression(filters)
    if expression is not None:
        try:
            schema.empty_table().filter(expression)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError) as exc:
            raise DatasetError(f"invalid filters for dataset {str(path)!r}: {exc}") from exc

    def read(paths: Sequence[Path]) -> pa.Table:
        dataset = pads.dataset([str(p) for p in paths], schema=schema, format="parquet")
        return dataset.to_table(columns=columns, filter=expression)

    try:
        table = read([s.path for s in scan.shards])
    except (pa.ArrowException, OSError):
        # Some shard's footer was fine but its data is not: find the culprits one by one.
        tables, late_bad = [], {}
        for shard in scan.shards:
            try:
                tables.append(read([shard.path]))
            except (pa.ArrowException, OSError) as exc:
                late_bad[shard.path.name] = f"unreadable Parquet data ({type(exc).__name__}: {str(exc).strip()})"
        _report(path, late_bad, on_error)
        scan.bad.update(late_bad)
        scan.shards = [s for s in scan.shards if s.path.name not in late_bad]
        table = pa.concat_tables(tables) if tables else read([])  # type: ignore[arg-type]
    return table, scan


def read_schema(path: str | os.PathLike[str], *, on_error: OnError = "raise") -> pa.Schema:
    """The unified Arrow schema of a dataset folder (from the shard footers only).

    Pass it to ``pyarrow.dataset.dataset(path, schema=..., format="parquet")`` to read a
    folder whose shards have different columns (plain ``pyarrow.dataset`` takes the first
    shard's schema and would miss columns only later shards have). Bad files are handled
    as in :func:`load`.
    """
    scan = _scan(path)
    _report(path, scan.bad, on_error)
    if not scan.shards:
        return _empty_core_table(None).schema
    return _unified_schema(scan.shards)


def load_table(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    filters: Filters = None,
    on_error: OnError = "raise",
) -> pa.Table:
    """Read a dataset folder into one :class:`pyarrow.Table` (see :func:`load` for the arguments)."""
    return _read(path, columns, filters, on_error)[0]


def load(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    filters: Filters = None,
    on_error: OnError = "raise",
    dtype_backend: Literal["numpy_nullable", "pyarrow"] | None = None,
) -> "pd.DataFrame":
    """Read every published shard of a dataset folder into one pandas DataFrame.

    Shards with different columns (different envs, design spaces or metrics) are unified:
    a column missing from a shard is null in its rows; a column that is integer in one
    shard and float in another becomes float64, and one mixing text and numbers becomes
    text. Core columns come first, then ``design.*``, then ``metric.*``. Rows of one
    writer keep their order; the order across writers is by shard name -- sort by
    ``timestamp`` or ``step`` when it matters.

    Args:
        path: the dataset folder.
        columns: only these columns (names must exist in at least one shard).
        filters: a ``pyarrow.compute`` expression, e.g. ``pc.field("study") == "s1"``, or
            the DNF list form of ``pyarrow.parquet`` (``[("step", "<", 10)]``). Pushed
            down to the Parquet reader.
        on_error: what to do with files that are not readable shards (corrupt Parquet,
            foreign files such as ``notes.txt``, stray folders): ``"raise"`` a
            :class:`DatasetError` naming every one, or ``"warn"`` (a
            :class:`DatasetWarning` naming them) and load the rest. Hidden names
            (``.``/``_`` prefix, e.g. a writer's in-progress temp file) are ignored.
        dtype_backend: as in :func:`pandas.read_parquet`: ``None`` for NumPy dtypes (an
            integer column holding nulls becomes float64), ``"numpy_nullable"`` for
            pandas' nullable dtypes, ``"pyarrow"`` for ``pd.ArrowDtype``.

    Returns an empty DataFrame with the core columns for an empty folder; raises
    :class:`DatasetError` if the folder does not exist.
    """
    import pandas as pd

    table = load_table(path, columns=columns, filters=filters, on_error=on_error)
    if dtype_backend is None:
        return table.to_pandas()
    if dtype_backend == "pyarrow":
        return table.to_pandas(types_mapper=pd.ArrowDtype)
    if dtype_backend == "numpy_nullable":
        mapping = {
            pa.int32(): pd.Int32Dtype(),
            pa.int64(): pd.Int64Dtype(),
            pa.float64(): pd.Float64Dtype(),
            pa.bool_(): pd.BooleanDtype(),
            pa.string(): pd.StringDtype(),
        }
        return table.to_pandas(types_mapper=mapping.get)
    raise ValueError(f"dtype_backend must be None, 'numpy_nullable' or 'pyarrow', got {dtype_backend!r}")


# ---------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------


@dataclass
class DatasetInfo:
    """A summary of a dataset folder, as shown by ``archgym dataset info DIR``.

    ``bad_files`` maps each file that is not a readable shard to the reason; ``temp_files``
    counts hidden in-progress (or abandoned) writer temp files, which readers ignore.
    """

    path: str
    rows: int
    shards: int
    bytes: int
    studies: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    env_ids: list[str] = field(default_factory=list)
    workloads: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    simulators: list[str] = field(default_factory=list)  # "name@version"
    schema_versions: list[int] = field(default_factory=list)
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    design_columns: list[str] = field(default_factory=list)
    metric_columns: list[str] = field(default_factory=list)
    bad_files: dict[str, str] = field(default_factory=dict)
    temp_files: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (timestamps as ISO 8601 text), for ``--json`` output."""
        data = asdict(self)
        for key in ("first_timestamp", "last_timestamp"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        return data

    def to_text(self, max_items: int = 8) -> str:
        """A short human-readable report; long lists are cut to ``max_items`` entries."""

        def items(values: Sequence[Any]) -> str:
            if not values:
                return "-"
            shown = ", ".join(str(v) for v in values[:max_items])
            more = len(values) - max_items
            return f"{shown}, … (+{more} more)" if more > 0 else shown

        def size(n: int) -> str:
            value = float(n)
            for unit in ("B", "KiB", "MiB", "GiB"):
                if value < 1024 or unit == "GiB":
                    return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
                value /= 1024
            raise AssertionError  # pragma: no cover

        def when(ts: datetime | None) -> str:
            return ts.isoformat(timespec="seconds") if ts is not None else "-"

        lines = [
            f"dataset:         {self.path}",
            f"rows:            {self.rows}",
            f"shards:          {self.shards} ({size(self.bytes)})",
            f"studies:         {items(self.studies)}",
            f"runs:            {len(self.runs)}",
            f"envs:            {items(self.env_ids)}",
            f"workloads:       {items(self.workloads)}",
            f"agents:          {items(self.agents)}",
            f"simulators:      {items(self.simulators)}",
            f"schema versions: {items(self.schema_versions)}",
            f"time span:       {when(self.first_timestamp)} .. {when(self.last_timestamp)}",
            f"design columns:  {items([c[len(DESIGN_PREFIX):] for c in self.design_columns])}",
            f"metric columns:  {items([c[len(METRIC_PREFIX):] for c in self.metric_columns])}",
        ]
        if self.temp_files:
            lines.append(f"temp files:      {self.temp_files} (in progress or abandoned; ignored)")
        if self.bad_files:
            lines.append(f"UNREADABLE FILES ({len(self.bad_files)}):")
            lines.extend(f"  {name}: {reason}" for name, reason in self.bad_files.items())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def _distinct(table: pa.Table, name: str) -> list[Any]:
    values = pc.unique(table.column(name).drop_null()).to_pylist()
    return sorted(values)


def info(path: str | os.PathLike[str]) -> DatasetInfo:
    """Summarise a dataset folder without loading design or metric data.

    Unreadable and foreign files do not make it fail: they are listed in
    :attr:`DatasetInfo.bad_files`. Raises :class:`DatasetError` if the folder does not exist.
    """
    summary_columns = [
        "study", "run", "env_id", "workload", "agent", "simulator", "simulator_version",
        "schema_version", "timestamp",
    ]
    table, scan = _read(path, summary_columns, None, "ignore")
    simulators = sorted(
        {
            f"{s}@{v}" if v is not None else s
            for s, v in zip(table.column("simulator").to_pylist(), table.column("simulator_version").to_pylist())
            if s is not None
        }
    )
    timestamps = table.column("timestamp")
    names = _unified_schema(scan.shards).names if scan.shards else list(CORE_COLUMNS)
    return DatasetInfo(
        path=str(path),
        rows=table.num_rows,
        shards=len(scan.shards),
        bytes=sum(s.bytes for s in scan.shards),
        studies=_distinct(table, "study"),
        runs=_distinct(table, "run"),
        env_ids=_distinct(table, "env_id"),
        workloads=_distinct(table, "workload"),
        agents=_distinct(table, "agent"),
        simulators=simulators,
        schema_versions=_distinct(table, "schema_version"),
        first_timestamp=pc.min(timestamps).as_py() if table.num_rows else None,
        last_timestamp=pc.max(timestamps).as_py() if table.num_rows else None,
        design_columns=[n for n in names if n.startswith(DESIGN_PREFIX)],
        metric_columns=[n for n in names if n.startswith(METRIC_PREFIX)],
        bad_files=dict(scan.bad),
        temp_files=scan.temp_files,
    )


# ---------------------------------------------------------------------------------------
# SQL
# ---------------------------------------------------------------------------------------


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def query(path: str | os.PathLike[str], sql: str, *, on_error: OnError = "raise") -> "pd.DataFrame":
    """Run DuckDB SQL over a dataset folder, exposed as the view ``evaluations``.

    Example: ``query(d, "SELECT agent, max(reward) FROM evaluations GROUP BY agent")``.
    The view reads the readable shards with ``read_parquet([...], union_by_name=true)``;
    bad files are handled as in :func:`load`. Needs the optional ``duckdb`` package
    (``pip install 'archgym[query]'``). Outside archgym, the same folder can be read with
    ``read_parquet('<dir>/part-*.parquet', union_by_name=true)``.
    """
    try:
        import duckdb
    except ImportError as exc:  # pragma: no cover - duckdb is a dev dependency
        raise ImportError(
            "archgym.dataset.query needs DuckDB: pip install 'archgym[query]' (or pip install duckdb)"
        ) from exc
    scan = _scan(path)
    _report(path, scan.bad, on_error)
    con = duckdb.connect(":memory:")
    try:
        if scan.shards:
            files = ", ".join(_sql_string(str(s.path)) for s in scan.shards)
            con.execute(f"CREATE VIEW evaluations AS SELECT * FROM read_parquet([{files}], union_by_name=true)")
        else:
            con.register("_archgym_empty", _empty_core_table(None))
            con.execute("CREATE VIEW evaluations AS SELECT * FROM _archgym_empty")
        return con.execute(sql).df()
    finally:
        con.close()
