"""The proxy file: one zip archive of a JSON header and raw little-endian numeric arrays.

Reading is bounded and executes nothing from the file:

* the archive's central directory is checked first: at most :data:`MAX_MEMBERS` members, no
  duplicate or encrypted ones, and the *declared* uncompressed size of all members together
  at most ``max_bytes`` (default :data:`DEFAULT_MAX_BYTES`) -- so a small file that would
  inflate to gigabytes is refused before a byte is decompressed (and zip reading never
  returns more than a member's declared size);
* the header (``proxy.json``, at most :data:`MAX_HEADER_BYTES`) is plain JSON;
* each array is named by the header with its member, dtype (from a short allow-list), shape
  and SHA-256; the member's size must equal ``prod(shape) * itemsize`` and its hash must
  match before :func:`numpy.frombuffer` turns it into an array.

Members are read into memory, never extracted to disk. What the arrays *mean* (tree indices
in range, layer shapes) is checked by :mod:`archgym.proxy.predictors`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

#: the JSON header's member name
HEADER = "proxy.json"
#: largest header accepted (bytes, uncompressed)
MAX_HEADER_BYTES = 16 * 2**20
#: most members an archive may list
MAX_MEMBERS = 4096
#: default bound on the uncompressed size of a whole proxy file (bytes); pass ``max_bytes`` to raise it
DEFAULT_MAX_BYTES = 2**30
#: the array dtypes a proxy file may hold
DTYPES: tuple[str, ...] = ("<f8", "<i8", "<i4", "|u1")


class ArchiveError(ValueError):
    """The file is not a well-formed, unmodified proxy archive (the message says what is wrong)."""


def write(path: str | os.PathLike[str], header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``header`` plus ``arrays`` to one archive at ``path`` (atomically: write, then rename).

    Every array becomes member ``arrays/<key>.bin``; ``header["arrays"]`` maps each key to its
    member, dtype, shape and SHA-256 (keys are chosen by the caller, e.g. ``"0/left"``).
    """
    path = Path(path)
    refs, members = {}, {}
    for key, array in arrays.items():
        array = np.ascontiguousarray(array)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if dtype.str not in DTYPES:
            raise ArchiveError(f"array {key!r} has dtype {array.dtype}; a proxy file stores {', '.join(DTYPES)}")
        data = array.astype(dtype, copy=False).tobytes()
        member = f"arrays/{key}.bin"
        refs[key] = {"member": member, "dtype": dtype.str, "shape": list(array.shape),
                     "sha256": hashlib.sha256(data).hexdigest()}
        members[member] = data
    document = json.dumps({**header, "arrays": refs}, indent=1, default=_json_default).encode()
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(HEADER, document)
            for member, data in members.items():
                archive.writestr(member, data)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def read(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES,
         check_header: Any = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and arrays of the archive at ``path``, with every bound above enforced.

    ``check_header(header)`` runs after the header is parsed and before any array is read (to
    refuse a foreign format or version cheaply). Raises :class:`ArchiveError`.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = _check_directory(archive, path, max_bytes)
            header = _read_header(archive, infos, path)
            if check_header is not None:
                check_header(header)
            arrays = {key: _read_array(archive, infos, key, ref, path) for key, ref in _refs(header, path).items()}
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"{str(path)!r} is not an archgym proxy file (not a readable zip archive: {exc})") from None
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ArchiveError(f"{str(path)!r}: cannot read the archive ({type(exc).__name__}: {exc})") from None
    return header, arrays


def _check_directory(archive: zipfile.ZipFile, path: Path, max_bytes: int) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ArchiveError(f"{str(path)!r} lists {len(infos)} members; a proxy file has at most {MAX_MEMBERS}")
    by_name: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if info.filename in by_name:
            raise ArchiveError(f"{str(path)!r} lists member {info.filename!r} twice")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"{str(path)!r}: member {info.filename!r} is encrypted")
        by_name[info.filename] = info
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        raise ArchiveError(
            f"{str(path)!r} would inflate to {_size(total)} ({_size(path.stat().st_size)} on disk), over the {_size(max_bytes)} limit for a proxy file; if you trust it and it really is "
            "that large, load it with ProxySimulator.load(..., max_bytes=...)"
        )
    return by_name


def _read_header(archive: zipfile.ZipFile, infos: Mapping[str, zipfile.ZipInfo], path: Path) -> dict[str, Any]:
    info = infos.get(HEADER)
    if info is None:
        raise ArchiveError(f"{str(path)!r} is not an archgym proxy file (no {HEADER} member)")
    if info.file_size > MAX_HEADER_BYTES:
        raise ArchiveError(f"{str(path)!r}: {HEADER} is {_size(info.file_size)}, over the {_size(MAX_HEADER_BYTES)} limit")
    try:
        header = json.loads(archive.read(info))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ArchiveError(f"{str(path)!r}: {HEADER} is not valid JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(header, dict):
        raise ArchiveError(f"{str(path)!r}: {HEADER} holds a {type(header).__name__}, not an object")
    return header


def _refs(header: Mapping[str, Any], path: Path) -> dict[str, Mapping[str, Any]]:
    refs = header.get("arrays")
    if not isinstance(refs, dict) or not all(isinstance(r, dict) for r in refs.values()):
        raise ArchiveError(f"{str(path)!r}: {HEADER} lacks its table of arrays")
    return refs


def _read_array(archive: zipfile.ZipFile, infos: Mapping[str, zipfile.ZipInfo], key: str,
                ref: Mapping[str, Any], path: Path) -> np.ndarray:
    where = f"{str(path)!r}: array {key!r}"
    member, dtype, shape, digest = (ref.get(k) for k in ("member", "dtype", "shape", "sha256"))
    if dtype not in DTYPES:
        raise ArchiveError(f"{where} has dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    if (not isinstance(shape, list) or len(shape) > 4
            or not all(type(n) is int and 0 <= n < 2**40 for n in shape)):
        raise ArchiveError(f"{where} has shape {shape!r}; expected a list of up to 4 non-negative integers")
    info = infos.get(member) if isinstance(member, str) else None
    if info is None:
        raise ArchiveError(f"{where}: member {member!r} is missing from the archive")
    expected = math.prod(shape) * np.dtype(dtype).itemsize
    if info.file_size != expected:
        raise ArchiveError(
            f"{where}: member {member!r} holds {info.file_size} bytes; shape {shape} of {dtype} needs {expected}"
        )
    data = archive.read(info)
    if len(data) != expected:
        raise ArchiveError(f"{where}: member {member!r} is truncated ({len(data)} of {expected} bytes)")
    if hashlib.sha256(data).hexdigest() != digest:
        raise ArchiveError(f"{where} fails its integrity check (SHA-256 mismatch): the file was modified after it was saved")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} {value!r} in a proxy file's header")
