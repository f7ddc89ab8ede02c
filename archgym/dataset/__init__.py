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

Provenance
----------
Since schema version 2 every row also says how it was produced: the canonical ``gym.make``
keyword arguments (``env_kwargs``), the simulator's fingerprint (configuration included), the
workload's content key, the objective (name, targets, weights, senses) and the archgym
version, plus ``setup``, a hash of what results depend on (see
:mod:`~archgym.dataset.setups`), and ``new_design`` (False when the run evaluated this design
before). :class:`~archgym.recording.RecordEvaluations` fills them in.

Modules
-------
:mod:`~archgym.dataset.records` (schema constants, errors, record normalisation),
:mod:`~archgym.dataset.writer` (:class:`DatasetWriter`, atomic publish, fork/exit
handling), :mod:`~archgym.dataset.reader` (scanning, schema unification, :func:`load`,
:func:`read_schema`, :func:`query`), :mod:`~archgym.dataset.setups` (grouping rows by
setup, refusing mixtures) and :mod:`~archgym.dataset.summary` (:func:`info`).
Import from ``archgym.dataset``; the submodules are an implementation detail.
"""

from __future__ import annotations

from archgym.dataset.reader import Filters, OnError, load, load_table, query, read_schema
from archgym.dataset.records import (
    CORE_COLUMNS,
    DESIGN_PREFIX,
    METRIC_PREFIX,
    SCHEMA_VERSION,
    SHARD_GLOB,
    DatasetError,
    DatasetWarning,
    normalize_record,
)
from archgym.dataset.setups import (
    LEGACY_SETUP,
    SETUP_FIELDS,
    MixedSetupsError,
    require_one_setup,
    setup_id,
    setup_table,
)
from archgym.dataset.summary import DatasetInfo, info
from archgym.dataset.writer import DatasetWriter

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
    "LEGACY_SETUP",
    "MixedSetupsError",
    "SETUP_FIELDS",
    "info",
    "load",
    "load_table",
    "normalize_record",
    "query",
    "read_schema",
    "require_one_setup",
    "setup_id",
    "setup_table",
]
