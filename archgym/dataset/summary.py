"""Summary of a dataset folder: :class:`DatasetInfo` and :func:`info`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from archgym.dataset.reader import _read, _scan, _unified_schema, _verify_all
from archgym.dataset.records import CORE_COLUMNS, DESIGN_PREFIX, METRIC_PREFIX
from archgym.dataset.setups import SETUP_FIELDS, setup_table


@dataclass
class DatasetInfo:
    """A summary of a dataset folder, as shown by ``archgym dataset info DIR``.

    ``bad_files`` maps each file that is not a readable shard to the reason (a shard counts
    as readable only when all of its data decodes, page checksums verified); ``temp_files``
    counts hidden in-progress (or abandoned) writer temp files, which readers ignore.
    ``setups`` lists each setup (:mod:`archgym.dataset.setups`) with its fields, rows and runs.
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
    setups: list[dict[str, Any]] = field(default_factory=list)

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
            f"setups:          {len(self.setups)}",
        ]
        for entry in self.setups[:max_items]:
            lines.append(f"  setup {entry['setup']}: {entry['rows']} rows, {entry['runs']} run(s)")
            for name in SETUP_FIELDS:
                value = entry[name] if entry[name] is not None else "(not recorded: schema 1)"
                lines.append(f"    {name + ':':<23}{value}")
        if len(self.setups) > max_items:
            lines.append(f"  … (+{len(self.setups) - max_items} more setups)")
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
    """Summarise a dataset folder: rows, runs, setups, columns and files that cannot be read.

    Every shard's data is decoded once (page checksums verified, nothing kept in memory), so a
    shard whose footer is fine but whose data is corrupt is reported, not counted. Unreadable
    and foreign files do not make it fail: they are listed in :attr:`DatasetInfo.bad_files`.
    Raises :class:`DatasetError` if the folder does not exist.
    """
    summary_columns = list(dict.fromkeys([
        "study", "run", "env_id", "workload", "agent", "simulator", "simulator_version",
        "schema_version", "timestamp", *SETUP_FIELDS, "setup",
    ]))
    scan = _scan(path)
    _verify_all(scan)
    table, scan = _read(path, summary_columns, None, "ignore", scan)
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
        setups=setup_table(table.to_pandas()).to_dict(orient="records"),
    )
