"""Writing: :class:`DatasetWriter`, atomic shard publication and fork / exit handling."""

from __future__ import annotations

import errno
import os
import re
import secrets
import socket
import threading
import time
import warnings
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from archgym.dataset.records import (
    CORE_COLUMNS,
    DESIGN_PREFIX,
    _WRITER_ID_RE,
    DatasetError,
    DatasetWarning,
    _describe,
    _is_real,
    _kind,
    _rows_to_table,
    normalize_record,
)


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

    def __init__(
        self, path: Path, writer_id: str | None, buffer_size: int, flush_interval_s: float | None, exclusive: bool = False
    ):
        self.path = path
        self.exclusive = exclusive
        self.refused: list[Path] = []
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
                        # page checksums let readers tell corrupt data from valid data
                        pq.write_table(table, fh, write_page_checksum=True)
                        fh.flush()
                        os.fsync(fh.fileno())
                    published = _publish(tmp, final)
                finally:
                    if tmp.exists():
                        tmp.unlink()
                self.seq += 1
                if published:
                    break
                if self.exclusive:
                    # the name is taken: these rows were published before (e.g. by another process
                    # running the same study run); publishing them again would duplicate them
                    self.refused.append(final)
                    self.buffer = []
                    self.last_flush = time.monotonic()
                    return None
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
        exclusive: publish each shard under its name or not at all: when the name is already
            taken the rows are dropped (and the name listed in :attr:`refused`). With a
            deterministic ``writer_id`` this makes publication idempotent: the same rows
            published twice, by two processes or a rerun, end up in the folder once.

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
        exclusive: bool = False,
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
        self._state = _WriterState(folder, writer_id, buffer_size, flush_interval_s, exclusive)
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
    def refused(self) -> list[Path]:
        """Shard names an ``exclusive`` writer found taken, so did not publish (their rows were dropped)."""
        return list(self._state.refused)

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
