"""Reading: scanning a dataset folder, unifying shard schemas, :func:`load`, :func:`query`."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from archgym.dataset.records import (
    NON_SHARD_MANIFEST,
    _METADATA_VERSION_KEY,
    _SHARD_RE,
    CORE_COLUMNS,
    DESIGN_PREFIX,
    METRIC_PREFIX,
    SCHEMA_VERSION,
    DatasetError,
    DatasetWarning,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

OnError = Literal["raise", "warn"]
Filters = Union[pc.Expression, Sequence[Any], None]


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


def _known_non_shards(folder: Path) -> frozenset[str]:
    """Names archgym listed in the folder's :data:`NON_SHARD_MANIFEST` (files it wrote that are not data)."""
    try:
        names = json.loads((folder / NON_SHARD_MANIFEST).read_text())
    except (OSError, ValueError):
        return frozenset()
    return frozenset(n for n in names if isinstance(n, str)) if isinstance(names, list) else frozenset()


def register_non_shards(folder: str | os.PathLike[str], names: Sequence[str]) -> None:
    """Add ``names`` (files archgym writes into ``folder`` that are not shards) to its manifest."""
    folder = Path(folder)
    listed = sorted(_known_non_shards(folder) | {n for n in names if not _SHARD_RE.match(n)})
    tmp = folder / f".{NON_SHARD_MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(listed, indent=1))
    os.replace(tmp, folder / NON_SHARD_MANIFEST)


def _scan(path: str | os.PathLike[str]) -> _Scan:
    folder = Path(path)
    if not folder.exists():
        raise DatasetError(f"dataset folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise DatasetError(f"dataset path {str(folder)!r} is not a folder")
    candidates: list[Path] = []
    bad: dict[str, str] = {}
    temp_files = 0
    known = _known_non_shards(folder)
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        name = entry.name
        if name in known and not _SHARD_RE.match(name):
            continue
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


#: Parquet reading with page checksums verified (shards written since schema version 2 carry them)
_PARQUET = pads.ParquetFileFormat(
    default_fragment_scan_options=pads.ParquetFragmentScanOptions(page_checksum_verification=True)
)


def _verify(shard: _Shard) -> str | None:
    """Decode every page of a shard (checksums verified); the reason it is corrupt, or None."""
    try:
        reader = pq.ParquetFile(shard.path, page_checksum_verification=True)
        for _ in reader.iter_batches(batch_size=65536):
            pass
    except Exception as exc:  # noqa: BLE001 - any failure to decode means "corrupt data"
        return f"unreadable Parquet data ({type(exc).__name__}: {str(exc).strip()})"
    return None


def _verify_all(scan: _Scan) -> None:
    """Move every shard whose data (not only its footer) is unreadable from ``scan.shards`` to ``scan.bad``."""
    if not scan.shards:
        return
    with ThreadPoolExecutor(max_workers=min(8, len(scan.shards))) as pool:
        reasons = list(pool.map(_verify, scan.shards))
    for shard, reason in zip(scan.shards, reasons):
        if reason is not None:
            scan.bad[shard.path.name] = reason
    scan.shards = [s for s, r in zip(scan.shards, reasons) if r is None]
    scan.bad = dict(sorted(scan.bad.items()))


def _read(
    path: str | os.PathLike[str],
    columns: Sequence[str] | None,
    filters: Filters,
    on_error: str,
    scan: _Scan | None = None,
) -> tuple[pa.Table, _Scan]:
    if on_error not in ("raise", "warn", "ignore"):
        raise ValueError(f"on_error must be 'raise' or 'warn', got {on_error!r}")
    if scan is None:
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
        dataset = pads.dataset([str(p) for p in paths], schema=schema, format=_PARQUET)
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
    from archgym.errors import import_optional

    duckdb = import_optional("duckdb", "query", "archgym.dataset.query")
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
