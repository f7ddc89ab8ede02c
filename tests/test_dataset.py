"""Tests of archgym.dataset: the shared Parquet evaluation dataset.

The multi-process tests start real interpreters with ``python -c`` (not fork) so that they
exercise exactly what separate study workers do: independent writers publishing into one
folder, and a writer killed with SIGKILL in the middle of its work.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from archgym import dataset as D
from archgym.dataset import (
    CORE_COLUMNS,
    SCHEMA_VERSION,
    DatasetError,
    DatasetInfo,
    DatasetWarning,
    DatasetWriter,
)


def record(step: int, run: str = "run-0", **overrides: object) -> dict:
    """A complete, valid record as the env-recording wrapper would append it."""
    rec = {
        "study": "study-a",
        "run": run,
        "env_id": "archgym/Test-v0",
        "workload": "stream",
        "simulator": "synthetic",
        "simulator_version": "1",
        "agent": "random",
        "agent_params": {"batch": 4, "lr": 0.5, "sizes": [1, 2]},
        "seed": 7,
        "step": step,
        "reward": step * 0.25,
        "feasible": step % 3 != 0,
        "error": None if step % 3 else "SimulationError: infeasible",
        "wall_time_s": 0.001 * step,
        "design": {"banks": 8 + step, "policy": "open" if step % 2 else "closed", "vdd": 0.9 + step / 100},
        "metrics": {"latency_ns": 40.0 + step, "power_mw": 800 + step},
    }
    rec.update(overrides)
    return rec


def shard_files(path: Path) -> list[Path]:
    return sorted(path.glob(D.SHARD_GLOB))


def run_python(code: str, *args: str, **kwargs: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], **kwargs)  # type: ignore[call-overload]


# --- round trip and schema ----------------------------------------------------------------


def test_round_trip_preserves_values_and_types(tmp_path: Path) -> None:
    stamp = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
    with DatasetWriter(tmp_path / "ds") as writer:
        for step in range(5):
            writer.append(record(step, timestamp=stamp + timedelta(seconds=step)))
    assert writer.rows_written == 5 and writer.closed

    df = D.load(tmp_path / "ds")
    assert list(df.columns[: len(CORE_COLUMNS)]) == list(CORE_COLUMNS)
    assert list(df.columns[len(CORE_COLUMNS):]) == [
        "design.banks", "design.policy", "design.vdd", "metric.latency_ns", "metric.power_mw",
    ]
    assert len(df) == 5
    assert df["schema_version"].dtype == np.int32 and (df["schema_version"] == SCHEMA_VERSION).all()
    for column in ("step", "seed", "design.banks"):
        assert df[column].dtype == np.int64, column
    for column in ("reward", "wall_time_s", "design.vdd", "metric.latency_ns", "metric.power_mw"):
        assert df[column].dtype == np.float64, column
    assert df["feasible"].dtype == bool
    assert pd.api.types.is_string_dtype(df["design.policy"]) and pd.api.types.is_string_dtype(df["run"])
    assert str(df["timestamp"].dtype) == "datetime64[us, UTC]"

    df = df.sort_values("step").reset_index(drop=True)
    for step in range(5):
        rec = record(step)
        for key in ("study", "run", "env_id", "workload", "simulator", "simulator_version", "agent", "seed"):
            assert df.loc[step, key] == rec[key], key
        assert df.loc[step, "step"] == step
        assert df.loc[step, "reward"] == rec["reward"] and df.loc[step, "wall_time_s"] == rec["wall_time_s"]
        assert df.loc[step, "design.banks"] == rec["design"]["banks"]
        assert df.loc[step, "design.policy"] == rec["design"]["policy"]
        assert df.loc[step, "design.vdd"] == pytest.approx(rec["design"]["vdd"])
        assert df.loc[step, "metric.power_mw"] == rec["metrics"]["power_mw"]
        assert bool(df.loc[step, "feasible"]) is rec["feasible"]
        assert (pd.isna(df.loc[step, "error"]) if rec["error"] is None else df.loc[step, "error"] == rec["error"])
        assert json.loads(df.loc[step, "agent_params"]) == rec["agent_params"]
        assert df.loc[step, "timestamp"] == pd.Timestamp(stamp + timedelta(seconds=step))


def test_missing_core_fields_are_null_and_timestamp_defaults_to_now(tmp_path: Path) -> None:
    before = datetime.now(timezone.utc)
    with DatasetWriter(tmp_path) as writer:
        writer.append({"metrics": {"m": 1.0}})
    df = D.load(tmp_path)
    assert len(df) == 1
    assert df["schema_version"].iloc[0] == SCHEMA_VERSION
    assert df[["study", "run", "seed", "step", "reward", "error"]].isna().all(axis=None)
    assert before - timedelta(seconds=1) <= df["timestamp"].iloc[0] <= datetime.now(timezone.utc)


def test_flattened_keys_and_numpy_scalars_are_accepted(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path) as writer:
        writer.append({
            "step": np.int64(3), "reward": np.float32(0.5), "feasible": np.bool_(True),
            "design.banks": np.int32(4), "metric.lat": np.float64(2.5), "design": {"mode": np.str_("x")},
        })
    df = D.load(tmp_path)
    assert df.loc[0, "step"] == 3 and df.loc[0, "design.banks"] == 4 and df.loc[0, "design.mode"] == "x"
    assert df["design.banks"].dtype == np.int64 and df.loc[0, "metric.lat"] == 2.5


def test_different_columns_within_one_buffer_and_across_shards_unify(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path, buffer_size=100) as writer:  # one buffer, two envs
        writer.append({"env_id": "A", "step": 0, "design": {"x": 1}, "metrics": {"lat": 1.0}})
        writer.append({"env_id": "B", "step": 1, "design": {"y": "big"}, "metrics": {"area": 2.0}})
    with DatasetWriter(tmp_path) as writer:  # another shard: z only here, x as a float here
        writer.append({"env_id": "C", "step": 2, "design": {"x": 2.5, "z": True}})
    assert len(shard_files(tmp_path)) == 2

    df = D.load(tmp_path).sort_values("step").reset_index(drop=True)
    assert len(df) == 3
    assert df["design.x"].dtype == np.float64  # int in one shard, float in another
    assert df["design.x"].tolist()[0] == 1.0 and pd.isna(df.loc[1, "design.x"]) and df.loc[2, "design.x"] == 2.5
    assert df.loc[1, "design.y"] == "big" and pd.isna(df.loc[0, "design.y"])
    assert df.loc[2, "design.z"] == True  # noqa: E712
    assert pd.isna(df.loc[0, "metric.area"]) and df.loc[1, "metric.area"] == 2.0
    schema = D.read_schema(tmp_path)
    assert schema.field("design.x").type == pa.float64() and schema.field("design.z").type == pa.bool_()


def test_text_and_numbers_mixed_across_shards_load_as_text(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path) as writer:
        writer.append({"step": 0, "design": {"size": 4}})
    with DatasetWriter(tmp_path) as writer:
        writer.append({"step": 1, "design": {"size": "large"}})
    df = D.load(tmp_path).sort_values("step")
    assert df["design.size"].tolist() == ["4", "large"]


def test_dtype_backends(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path) as writer:
        writer.append(record(0, seed=None))
        writer.append(record(1))
    assert D.load(tmp_path)["seed"].dtype == np.float64  # NumPy: an int column with nulls
    nullable = D.load(tmp_path, dtype_backend="numpy_nullable")
    assert nullable["seed"].dtype == pd.Int64Dtype() and nullable["seed"].isna().sum() == 1
    arrow = D.load(tmp_path, dtype_backend="pyarrow")
    assert arrow["seed"].dtype == pd.ArrowDtype(pa.int64())
    with pytest.raises(ValueError, match="dtype_backend"):
        D.load(tmp_path, dtype_backend="nope")  # type: ignore[arg-type]


def test_columns_and_filters(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path, buffer_size=4) as writer:
        for step in range(10):
            writer.append(record(step, run=f"run-{step % 2}"))
    df = D.load(tmp_path, columns=["run", "step"], filters=[("step", "<", 4)])
    assert list(df.columns) == ["run", "step"] and sorted(df["step"]) == [0, 1, 2, 3]
    df = D.load(tmp_path, filters=(pc.field("run") == "run-1") & (pc.field("design.banks") > 12))
    assert sorted(df["step"]) == [5, 7, 9]
    with pytest.raises(DatasetError, match="design.nope"):
        D.load(tmp_path, columns=["design.nope"])
    with pytest.raises(DatasetError, match="invalid filters"):
        D.load(tmp_path, filters=[("design.nope", "==", 1)])


# --- buffering ----------------------------------------------------------------------------


def test_nothing_is_published_before_the_buffer_fills(tmp_path: Path) -> None:
    writer = DatasetWriter(tmp_path, buffer_size=5, flush_interval_s=None)
    for step in range(4):
        writer.append(record(step))
    assert shard_files(tmp_path) == [] and writer.rows_written == 0 and writer.rows_buffered == 4
    assert len(D.load(tmp_path)) == 0

    writer.append(record(4))
    assert len(shard_files(tmp_path)) == 1 and writer.rows_written == 5 and writer.rows_buffered == 0
    assert shard_files(tmp_path)[0].name == f"part-{writer.writer_id}-000000.parquet"

    writer.append(record(5))
    writer.append(record(6))
    assert len(shard_files(tmp_path)) == 1
    writer.close()
    assert len(shard_files(tmp_path)) == 2 and writer.rows_written == 7
    assert sorted(D.load(tmp_path)["step"]) == list(range(7))
    assert writer.shards == shard_files(tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
    with pytest.raises(DatasetError, match="closed"):
        writer.append(record(7))
    writer.close()  # idempotent


def test_flush_returns_the_shard_or_none(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path, flush_interval_s=None) as writer:
        assert writer.flush() is None
        writer.append(record(0))
        shard = writer.flush()
        assert shard is not None and shard.exists() and shard.parent == tmp_path
        assert writer.flush() is None


def test_flush_interval(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path, buffer_size=1000, flush_interval_s=0.05) as writer:
        writer.append(record(0))
        assert writer.rows_written == 0
        time.sleep(0.1)
        writer.append(record(1))  # the interval has passed: this append flushes both rows
        assert writer.rows_written == 2 and len(shard_files(tmp_path)) == 1


def test_unclosed_writer_flushes_when_collected_and_at_exit(tmp_path: Path) -> None:
    writer = DatasetWriter(tmp_path / "gc")
    writer.append(record(0))
    del writer
    gc.collect()
    assert len(D.load(tmp_path / "gc")) == 1

    proc = run_python(
        """
        import sys
        from archgym.dataset import DatasetWriter
        w = DatasetWriter(sys.argv[1], buffer_size=100)
        for step in range(3):
            w.append({"run": "exit", "step": step})
        # no close(): the interpreter-exit hook must flush
        """,
        str(tmp_path / "exit"),
    )
    assert proc.wait(timeout=60) == 0
    assert sorted(D.load(tmp_path / "exit")["step"]) == [0, 1, 2]


def test_a_taken_writer_id_never_overwrites_a_published_shard(tmp_path: Path) -> None:
    for step in range(3):
        with DatasetWriter(tmp_path, writer_id="fixed") as writer:
            writer.append(record(step))
    assert [p.name for p in shard_files(tmp_path)] == [f"part-fixed-{i:06d}.parquet" for i in range(3)]
    assert sorted(D.load(tmp_path)["step"]) == [0, 1, 2]


def test_writer_ids_are_unique(tmp_path: Path) -> None:
    ids = {DatasetWriter(tmp_path).writer_id for _ in range(20)}
    assert len(ids) == 20 and all(str(os.getpid()) in i for i in ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_does_not_duplicate_the_parents_buffer(tmp_path: Path) -> None:
    writer = DatasetWriter(tmp_path, buffer_size=100)
    writer.append(record(0, run="parent"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork in a multi-threaded process
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            writer.append(record(1, run="child"))
            writer.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    writer.close()
    df = D.load(tmp_path)
    assert sorted(zip(df["run"], df["step"])) == [("child", 1), ("parent", 0)]
    assert len(shard_files(tmp_path)) == 2


# --- many processes -----------------------------------------------------------------------

_CONCURRENT_WRITER = """
import sys, time
from pathlib import Path
from archgym.dataset import DatasetWriter
folder, run, n, gate = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
while not gate.exists():
    time.sleep(0.005)
with DatasetWriter(folder, buffer_size=25, flush_interval_s=None) as w:
    for step in range(n):
        w.append({"run": run, "step": step, "design": {"x": step, run: 1}, "metrics": {"m": step / 2}})
"""


def test_two_processes_writing_one_folder_lose_no_row(tmp_path: Path) -> None:
    folder, gate, n = tmp_path / "shared", tmp_path / "go", 2000
    procs = [run_python(_CONCURRENT_WRITER, str(folder), run, str(n), str(gate)) for run in ("w-a", "w-b")]
    time.sleep(0.3)
    gate.touch()  # start both at once
    assert [p.wait(timeout=120) for p in procs] == [0, 0]

    df = D.load(folder)
    assert len(df) == 2 * n
    assert not df.duplicated(["run", "step"]).any()
    for run in ("w-a", "w-b"):
        assert sorted(df.loc[df["run"] == run, "step"]) == list(range(n))
    assert len(shard_files(folder)) == 2 * n // 25
    assert df["design.w-a"].notna().sum() == n  # each writer's private column survived the union


_KILLED_WRITER = """
import sys
from archgym.dataset import DatasetWriter
w = DatasetWriter(sys.argv[1], buffer_size=10, flush_interval_s=None)
step = 0
while True:
    before = w.rows_written
    w.append({"run": "doomed", "step": step, "design": {"x": step}, "metrics": {"m": 1.0}})
    step += 1
    if w.rows_written != before:
        print(w.rows_written, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkilled_writer_leaves_everything_it_flushed(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    proc = run_python(_KILLED_WRITER, str(folder), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen = 0
    deadline = time.monotonic() + 60
    while seen < 300 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, "the writer died on its own"
        seen = int(line)
    proc.send_signal(signal.SIGKILL)  # while it is busy appending and flushing
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    reported = [seen] + [int(line) for line in proc.stdout.read().split()]
    proc.stdout.close()
    last_reported = reported[-1]
    # A stale temp file, as a kill during a flush leaves; readers must not touch it.
    (folder / f".part-dead-000000.parquet.{os.getpid()}.tmp").write_bytes(b"half a parquet file")

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either: nothing is bad
        df = D.load(folder)
    rows = len(df)
    assert rows % 10 == 0
    assert rows in (last_reported, last_reported + 10)  # + one flush published just before the kill
    assert sorted(df["step"]) == list(range(rows))  # exactly the flushed prefix
    assert D.info(folder).temp_files >= 1 and not D.info(folder).bad_files


# --- bad files ----------------------------------------------------------------------------


@pytest.fixture()
def folder_with_rows(tmp_path: Path) -> Path:
    with DatasetWriter(tmp_path, buffer_size=5) as writer:
        for step in range(10):
            writer.append(record(step))
    return tmp_path


@pytest.mark.parametrize(
    "name, content",
    [
        ("part-garbage-000000.parquet", b"this is not parquet" * 20),
        ("notes.txt", b"some notes"),
        ("part-x.parquet", b"named almost like a shard"),
    ],
)
def test_bad_file_is_reported_by_name(folder_with_rows: Path, name: str, content: bytes) -> None:
    (folder_with_rows / name).write_bytes(content)
    with pytest.raises(DatasetError) as excinfo:
        D.load(folder_with_rows)
    assert name in str(excinfo.value)

    with pytest.warns(DatasetWarning, match=name.replace(".", r"\.")):
        df = D.load(folder_with_rows, on_error="warn")
    assert len(df) == 10
    assert name in D.info(folder_with_rows).bad_files
    assert name in D.info(folder_with_rows).to_text()
    with pytest.raises(DatasetError, match=name.replace(".", r"\.")):
        D.query(folder_with_rows, "SELECT 1")


def test_every_bad_file_is_named(folder_with_rows: Path) -> None:
    (folder_with_rows / "notes.txt").write_text("x")
    (folder_with_rows / "part-bad-000001.parquet").write_bytes(b"\0" * 100)
    (folder_with_rows / "subdir").mkdir()
    with pytest.raises(DatasetError) as excinfo:
        D.load(folder_with_rows)
    for name in ("notes.txt", "part-bad-000001.parquet", "subdir"):
        assert name in str(excinfo.value)


def test_shard_with_corrupt_data_pages_is_reported(folder_with_rows: Path) -> None:
    victim = shard_files(folder_with_rows)[0]
    data = bytearray(victim.read_bytes())
    data[100 : len(data) // 2] = b"\xab" * (len(data) // 2 - 100)  # footer intact, pages broken
    victim.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=victim.name):
        D.load(folder_with_rows)
    with pytest.warns(DatasetWarning, match=victim.name):
        df = D.load(folder_with_rows, on_error="warn")
    assert len(df) == 5


def test_foreign_parquet_named_like_a_shard_is_reported(folder_with_rows: Path) -> None:
    pq.write_table(pa.table({"a": [1, 2]}), folder_with_rows / "part-other-000000.parquet")
    with pytest.raises(DatasetError, match="part-other-000000.parquet"):
        D.load(folder_with_rows)


def test_hidden_files_are_ignored(folder_with_rows: Path) -> None:
    (folder_with_rows / ".DS_Store").write_bytes(b"junk")
    (folder_with_rows / "_SUCCESS").write_bytes(b"")
    assert len(D.load(folder_with_rows)) == 10


def test_missing_empty_and_file_paths(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        D.load(tmp_path / "nope")
    with pytest.raises(DatasetError, match="does not exist"):
        D.info(tmp_path / "nope")

    empty = D.load(tmp_path)
    assert empty.empty and list(empty.columns) == list(CORE_COLUMNS)
    assert D.info(tmp_path).rows == 0 and D.info(tmp_path).shards == 0
    assert len(D.query(tmp_path, "SELECT * FROM evaluations")) == 0

    a_file = tmp_path / "file.parquet"
    a_file.write_bytes(b"x")
    with pytest.raises(DatasetError, match="not a folder"):
        DatasetWriter(a_file)
    with pytest.raises(DatasetError, match="not a folder"):
        D.load(a_file)

    created = tmp_path / "new" / "nested"
    DatasetWriter(created).close()
    assert created.is_dir()


def test_on_error_is_checked(folder_with_rows: Path) -> None:
    with pytest.raises(ValueError, match="on_error"):
        D.load(folder_with_rows, on_error="ignore-please")  # type: ignore[arg-type]


# --- other readers ------------------------------------------------------------------------


def test_pyarrow_and_duckdb_read_the_folder(folder_with_rows: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    n = len(D.load(folder_with_rows))
    assert n == 10
    (folder_with_rows / ".part-x-000000.parquet.abc.tmp").write_bytes(b"in progress")  # ignored by all
    assert pads.dataset(folder_with_rows, format="parquet").count_rows() == n
    assert pq.read_table(folder_with_rows).num_rows == n
    glob = str(folder_with_rows / D.SHARD_GLOB).replace("'", "''")
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}', union_by_name=true)").fetchall() == [(n,)]
    out = D.query(folder_with_rows, "SELECT count(*) AS n, sum(\"metric.power_mw\") AS p FROM evaluations")
    assert out.loc[0, "n"] == n and out.loc[0, "p"] == sum(800 + s for s in range(10))


def test_pyarrow_and_duckdb_read_a_heterogeneous_folder(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    with DatasetWriter(tmp_path) as writer:
        writer.append({"step": 0, "design": {"x": 1, "gone": None}})
    with DatasetWriter(tmp_path) as writer:
        writer.append({"step": 1, "design": {"x": 2, "y": "b"}, "metrics": {"m": 3.0}})
    table = pads.dataset(tmp_path, format="parquet", schema=D.read_schema(tmp_path)).to_table()
    assert table.num_rows == 2 and sorted(table.column("design.y").drop_null().to_pylist()) == ["b"]
    glob = str(tmp_path / D.SHARD_GLOB).replace("'", "''")
    got = duckdb.sql(f"SELECT step, \"design.y\" FROM read_parquet('{glob}', union_by_name=true) ORDER BY step")
    assert got.fetchall() == [(0, None), (1, "b")]


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ({"stepp": 1}, "'stepp'"),
        ({"metric": {"a": 1.0}}, "'metric'"),
        ({"metrics": {"latency": "fast"}}, "metric 'latency' must be a number"),
        ({"metrics": {"latency": [1.0]}}, "metric 'latency'"),
        ({"metric.latency": "fast"}, "metric 'latency'"),
        ({"design": {"banks": [1, 2]}}, "design parameter 'banks'"),
        ({"design": {"banks": 2**70}}, "design.banks"),
        ({"design": "banks=4"}, "'design'"),
        ({"design": {"": 1}}, "'design'"),
        ({"step": "3"}, "'step'"),
        ({"step": 1.5}, "'step'"),
        ({"reward": "high"}, "'reward'"),
        ({"feasible": 1}, "'feasible'"),
        ({"study": 5}, "'study'"),
        ({"agent_params": 3}, "'agent_params'"),
        ({"timestamp": "yesterday"}, "'timestamp'"),
        ({"schema_version": 99}, "'schema_version'"),
        ({"design": {"x": 1}, "design.x": 2}, "design.x"),
    ],
)
def test_bad_records_are_rejected_with_the_key_named(tmp_path: Path, bad: dict, fragment: str) -> None:
    writer = DatasetWriter(tmp_path, flush_interval_s=None)
    with pytest.raises(ValueError) as excinfo:
        writer.append(bad)
    assert fragment in str(excinfo.value)
    assert writer.rows_buffered == 0  # nothing half-appended
    writer.close()


def test_non_mapping_record_is_rejected(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path) as writer, pytest.raises(ValueError, match="mapping"):
        writer.append([("step", 1)])  # type: ignore[arg-type]


def test_text_after_numbers_in_one_writer_is_rejected(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path) as writer:
        writer.append({"design": {"size": 4}})
        with pytest.raises(ValueError, match="'size'"):
            writer.append({"design": {"size": "large"}})
        writer.append({"design": {"size": 4.5}})  # int then float is fine: stored as float64
    assert D.load(tmp_path)["design.size"].tolist() == [4.0, 4.5]


def test_error_may_be_an_exception_and_agent_params_json_text(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path) as writer:
        writer.append({"error": RuntimeError("boom"), "agent_params": '{"a": 1}'})
        writer.append({"agent_params": {"lr": np.float32(0.5), "n": np.int64(3), "v": np.arange(2)}})
    df = D.load(tmp_path)
    assert df.loc[0, "error"] == "RuntimeError: boom" and df.loc[0, "agent_params"] == '{"a": 1}'
    assert json.loads(df.loc[1, "agent_params"]) == {"lr": 0.5, "n": 3, "v": [0, 1]}


def test_writer_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="buffer_size"):
        DatasetWriter(tmp_path, buffer_size=0)
    with pytest.raises(ValueError, match="flush_interval_s"):
        DatasetWriter(tmp_path, flush_interval_s=-1)
    with pytest.raises(ValueError, match="writer_id"):
        DatasetWriter(tmp_path, writer_id="a/b")


# --- info ---------------------------------------------------------------------------------


def test_info_summarises_the_folder(tmp_path: Path) -> None:
    stamp = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with DatasetWriter(tmp_path, buffer_size=3) as writer:
        for step in range(7):
            writer.append(record(step, run=f"r{step % 2}", agent="ga" if step > 4 else "random",
                                 timestamp=stamp + timedelta(minutes=step)))
        writer.append({"study": "study-b", "simulator": "other", "design": {"k": 1}, "metrics": {"q": 1},
                       "timestamp": stamp})
    summary = D.info(tmp_path)
    assert isinstance(summary, DatasetInfo)
    assert summary.rows == 8 and summary.shards == 3
    assert summary.bytes == sum(p.stat().st_size for p in shard_files(tmp_path))
    assert summary.studies == ["study-a", "study-b"] and summary.runs == ["r0", "r1"]
    assert summary.agents == ["ga", "random"] and summary.env_ids == ["archgym/Test-v0"]
    assert summary.simulators == ["other", "synthetic@1"] and summary.schema_versions == [SCHEMA_VERSION]
    assert summary.first_timestamp == stamp and summary.last_timestamp == stamp + timedelta(minutes=6)
    assert summary.design_columns == ["design.banks", "design.policy", "design.vdd", "design.k"]
    assert summary.metric_columns == ["metric.latency_ns", "metric.power_mw", "metric.q"]
    assert summary.bad_files == {} and summary.temp_files == 0
    text = str(summary)
    assert "rows:            8" in text and "study-a, study-b" in text and "latency_ns" in text
    assert json.loads(json.dumps(summary.to_dict()))["rows"] == 8
