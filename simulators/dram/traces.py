"""Memory-request traces: shipped workloads, trace files and synthetic generators, streamed.

A workload is consumed as an iterator of :class:`TraceChunk` (arrays of arrival cycle, read or
write, byte address), so memory stays bounded by the chunk size however long the trace is.
:func:`open_workload` accepts three kinds of workload:

**Shipped traces** — ``stream``, ``random``, ``cloud-1``, ``cloud-2`` (:func:`list_workloads`):
the four DRAMSys traces ArchGym's DRAM experiments use, 10,000 reads each (from
srivatsankrishnan/oss-arch-gym, Apache-2.0). Shipped names take precedence over files.

**Trace files**, format chosen by ``format=`` or else by extension (``.stl`` / ``.rstl``) or
else by the first request line:

* DRAMSys ``stl``: ``<cycle>:<ws><read|write><ws><hex address>[<ws><length>][<ws><hex data>]``.
  DRAMSys' own placement of the length, ``(<length>)`` before the command, is accepted too.
  ``.rstl`` (or ``format="rstl"``) files hold the delay since the previous request instead of an
  absolute cycle (DRAMSys' relative traces). The colon after the cycle is optional; the data
  field (``0x``-prefixed hex) is checked and ignored.
* DRAMsim3: ``<hex address> <READ|WRITE> <cycle>`` (also DRAMsim3's ``P_MEM_RD``, ``P_FETCH``
  reads and ``P_MEM_WR`` writes; case-insensitive).

Whole-line ``#`` comments and blank lines are skipped. Commands, hex addresses and fields are
checked; cycles must be non-decreasing. Any violation raises :class:`TraceFormatError` naming
the file, the 1-based line number and the line.

**Generator specs** — ``gen:<kind>[?key=value[&key=value...]]`` with ``kind`` one of
``sequential``, ``random``, ``strided``, ``mixed`` and keys the keyword arguments of
:func:`generate_trace`: ``n``, ``seed``, ``read_fraction``, ``interval``, ``address_space``,
``start`` for every kind, ``stride`` for ``strided`` and ``run_length`` for ``mixed``, e.g.
``gen:random?n=100000&seed=1&read_fraction=0.67&interval=1``. Integers may be written in
decimal, ``0x`` hex or as integral floats (``1e5``); ``n`` defaults to 10,000. Unknown keys or
kinds raise ``ValueError``.

**Semantics shared by all sources.**

* *Timestamps*: DRAMSys trace cycles are counted in the trace player's clock (ArchGym's setup
  runs the player at the memory clock, 800 MHz); they are interpreted here as memory-controller
  clock cycles of the device being simulated. DRAMsim3 cycles already are.
* *Bursts*: every request moves one burst of ``bytes_per_burst`` bytes (of ``device``, 64 B when
  no device is given). A request whose length field exceeds that becomes
  ``ceil(length / bytes_per_burst)`` requests with the same cycle and command at consecutive
  burst-aligned addresses, starting at the burst holding the request's address; a shorter or
  absent length is one burst. Lengths above 1 MiB are rejected as malformed, and long requests
  are split lazily, so memory stays bounded by ``chunk_size`` bursts whatever the lengths.
  Request cycles above :data:`MAX_TRACE_CYCLE` (2**36) are rejected, naming the file and line.
* *Alignment*: emitted addresses are aligned down to the burst size (the low bits select bytes
  within a burst and never reach the DRAM).
* *Chunks*: each chunk holds between 1 and ``chunk_size`` requests (reading at most
  ``chunk_size`` lines at a time); chunk boundaries carry no meaning.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from importlib import resources
from itertools import islice, repeat
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, NamedTuple

import numpy as np

from archgym.errors import UserError
from .device import DeviceSpec

__all__ = [
    "TraceChunk",
    "TraceFormatError",
    "GENERATOR_KINDS",
    "WORKLOADS",
    "generate_trace",
    "list_workloads",
    "load_workload",
    "open_workload",
    "parse_generator_spec",
    "workload_fingerprint",
    "write_trace",
]

#: Shipped DRAMSys traces (``traces/<name>.stl``).
WORKLOADS = ("stream", "random", "cloud-1", "cloud-2")
GENERATOR_KINDS = ("sequential", "random", "strided", "mixed")
TRACE_FORMATS = ("stl", "rstl", "dramsim3")

_TRACE_DIR = "traces"
_GEN_PREFIX = "gen:"
_GEN_BLOCK = 1 << 16  # generators draw in fixed blocks so results do not depend on chunk_size
_GEN_BURST = 64  # generator address granularity
_MAX_LENGTH = 1 << 20  # bytes in one trace request (1 MiB); longer is surely a typo
#: largest request cycle a trace may hold (2**36 cycles, 86 s at 800 MHz); the engine still
#: runs refresh every tREFI over idle time, so a cycle of 10**18 would never finish
MAX_TRACE_CYCLE = 1 << 36
_COMMON_KEYS = ("n", "seed", "read_fraction", "interval", "address_space", "start")
_KIND_KEYS = {"sequential": (), "random": (), "strided": ("stride",), "mixed": ("run_length",)}
_GEN_DEFAULTS: dict[str, Any] = {"n": 10_000, "seed": 0, "read_fraction": 1.0, "interval": 1.0,
                                 "address_space": 1 << 34, "start": 0, "stride": 64,
                                 "run_length": 8.0}
_INT_KEYS = {"n", "seed", "address_space", "start", "stride"}
_DS3_READ = {"READ", "P_MEM_RD", "P_FETCH"}
_DS3_WRITE = {"WRITE", "P_MEM_WR"}


class TraceChunk(NamedTuple):
    """A batch of requests: parallel arrays, sorted by (non-decreasing) ``cycle``."""

    cycle: np.ndarray  # int64, arrival cycle in memory-controller clock cycles
    is_write: np.ndarray  # bool
    address: np.ndarray  # uint64 byte address, burst aligned

    @property
    def size(self) -> int:
        """Number of requests."""
        return int(self.cycle.shape[0])


def _empty_chunk() -> TraceChunk:
    return TraceChunk(np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.uint64))


def _concat(chunks: Iterable[TraceChunk]) -> TraceChunk:
    chunks = list(chunks)
    if not chunks:
        return _empty_chunk()
    return TraceChunk(*(np.concatenate([c[i] for c in chunks]) for i in range(3)))


class TraceFormatError(UserError):
    """A malformed trace line; the message names the file, the 1-based line and the line."""

    def __init__(self, source: str, lineno: int, line: str, reason: str) -> None:
        self.source, self.lineno, self.line, self.reason = source, lineno, line, reason
        super().__init__(f"{source}, line {lineno}: {reason}: {line.rstrip()!r}")


class _BadLine(Exception):
    """Internal: one line failed to parse (wrapped into TraceFormatError with its position)."""


# -- workload resolution ---------------------------------------------------------------------
def list_workloads() -> list[str]:
    """The shipped trace names."""
    return list(WORKLOADS)


@dataclass(frozen=True)
class _Source:
    kind: str  # "shipped" | "file" | "gen"
    label: str  # for messages
    path: Path | None = None
    name: str = ""
    gen: tuple[tuple[str, Any], ...] = ()


def _unknown(workload: Any) -> UserError:
    return UserError(
        f"unknown workload {workload!r}: not a shipped trace, an existing file or a "
        f"'{_GEN_PREFIX}' spec; shipped traces: {', '.join(WORKLOADS)}; generator specs look "
        f"like 'gen:random?n=100000&seed=1' (kinds: {', '.join(GENERATOR_KINDS)})"
    )


def _resolve(workload: str | os.PathLike[str]) -> _Source:
    if isinstance(workload, str):
        if workload in WORKLOADS:
            return _Source("shipped", f"shipped trace {workload!r}", name=workload)
        if workload.startswith(_GEN_PREFIX):
            kind, params = parse_generator_spec(workload)
            return _Source("gen", workload, name=kind, gen=tuple(params.items()))
    elif not isinstance(workload, os.PathLike):
        raise _unknown(workload)
    path = Path(os.fspath(workload))
    if path.is_file():
        return _Source("file", str(path), path=path)
    stem = path.name[:-4] if path.name.endswith(".stl") else None
    if isinstance(workload, str) and stem in WORKLOADS and str(path) == path.name:
        return _Source("shipped", f"shipped trace {stem!r}", name=stem)
    raise _unknown(workload)


def _shipped_resource(name: str) -> Any:
    return resources.files(__package__) / _TRACE_DIR / f"{name}.stl"


def _open_text(src: _Source) -> IO[str]:
    if src.kind == "shipped":
        return _shipped_resource(src.name).open("r", encoding="utf-8")
    assert src.path is not None
    return open(src.path, "r", encoding="utf-8", errors="strict")


# -- generator specs -------------------------------------------------------------------------
def _as_int(key: str, value: Any) -> int:
    if isinstance(value, bool):
        raise UserError(f"generator parameter {key!r} = {value!r}: expected an integer")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            pass
    try:
        f = float(value)
    except (TypeError, ValueError):
        f = math.nan
    if not math.isfinite(f) or not f.is_integer():
        raise UserError(f"generator parameter {key!r} = {value!r}: expected an integer")
    return int(f)


def _as_float(key: str, value: Any) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        f = math.nan
    if isinstance(value, bool) or not math.isfinite(f):
        raise UserError(f"generator parameter {key!r} = {value!r}: expected a finite number")
    return f


def _check_gen_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise generator parameters (types, ranges); returns a new dict."""
    if kind not in GENERATOR_KINDS:
        raise UserError(f"unknown trace generator kind {kind!r}; expected one of "
                         f"{', '.join(GENERATOR_KINDS)}")
    out: dict[str, Any] = {}
    for key, value in params.items():
        out[key] = _as_int(key, value) if key in _INT_KEYS else _as_float(key, value)
    checks = {
        "n": (lambda v: v >= 1, "a positive integer"),
        "seed": (lambda v: v >= 0, "a non-negative integer"),
        "read_fraction": (lambda v: 0.0 <= v <= 1.0, "a number in [0, 1]"),
        "interval": (lambda v: v >= 0.0, "a non-negative number of cycles"),
        "address_space": (lambda v: _GEN_BURST <= v <= 1 << 63,
                          f"an integer number of bytes in [{_GEN_BURST}, 2**63]"),
        "start": (lambda v: 0 <= v < 1 << 63, "a non-negative integer byte address"),
        "stride": (lambda v: 0 <= v < 1 << 63, "a non-negative integer number of bytes"),
        "run_length": (lambda v: v >= 1.0, "a number >= 1 (mean requests per sequential run)"),
    }
    for key, value in out.items():
        ok, expected = checks[key]
        if not ok(value):
            raise UserError(f"generator parameter {key!r} = {value!r}: expected {expected}")
    return out


def parse_generator_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Parse ``gen:<kind>?k=v&...`` into ``(kind, params)`` with every relevant key filled in."""
    if not spec.startswith(_GEN_PREFIX):
        raise UserError(f"generator spec {spec!r} must start with {_GEN_PREFIX!r}")
    kind, _, query = spec[len(_GEN_PREFIX):].partition("?")
    kind = kind.strip()
    if kind not in GENERATOR_KINDS:
        raise UserError(f"generator spec {spec!r}: unknown kind {kind!r}; expected one of "
                         f"{', '.join(GENERATOR_KINDS)}")
    allowed = _COMMON_KEYS + _KIND_KEYS[kind]
    given: dict[str, str] = {}
    for item in filter(None, query.split("&")):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not value.strip():
            raise UserError(f"generator spec {spec!r}: {item!r} is not 'key=value'")
        if key not in allowed:
            raise UserError(f"generator spec {spec!r}: unknown key {key!r} for kind {kind!r}; "
                             f"expected {', '.join(allowed)}")
        if key in given:
            raise UserError(f"generator spec {spec!r}: key {key!r} given twice")
        given[key] = value.strip()
    params = {k: given.get(k, _GEN_DEFAULTS[k]) for k in allowed}
    try:
        return kind, _check_gen_params(kind, params)
    except ValueError as exc:
        raise UserError(f"generator spec {spec!r}: {exc}") from None


def _canonical_spec(kind: str, params: dict[str, Any]) -> str:
    allowed = _COMMON_KEYS + _KIND_KEYS[kind]
    return _GEN_PREFIX + kind + "?" + "&".join(f"{k}={params[k]!r}" for k in allowed)


def _generate_blocks(kind: str, n: int, seed: int, read_fraction: float, interval: float,
                     address_space: int, start: int, stride: int, run_length: float
                     ) -> Iterator[TraceChunk]:
    """Yield the generated trace in fixed blocks of ``_GEN_BLOCK`` requests."""
    addr_seed, rw_seed = np.random.SeedSequence(seed).spawn(2)
    addr_rng, rw_rng = np.random.default_rng(addr_seed), np.random.default_rng(rw_seed)
    space = np.uint64(address_space)
    bursts = address_space // _GEN_BURST
    mask = np.uint64(~(_GEN_BURST - 1) & 0xFFFF_FFFF_FFFF_FFFF)
    burst = np.uint64(_GEN_BURST)
    carry = np.uint64(0)  # mixed: offset the next sequential request would use
    for i0 in range(0, n, _GEN_BLOCK):
        k = min(n, i0 + _GEN_BLOCK) - i0
        idx = np.arange(i0, i0 + k, dtype=np.uint64)
        if kind == "sequential":
            offset = idx * burst
        elif kind == "strided":
            offset = idx * np.uint64(stride)
        elif kind == "random":
            offset = addr_rng.integers(0, bursts, size=k, dtype=np.uint64) * burst
        else:  # mixed: sequential runs, each request jumps with probability 1 / run_length
            jumps = addr_rng.random(k) < 1.0 / run_length
            targets = addr_rng.integers(0, bursts, size=k, dtype=np.uint64) * burst
            seg = np.cumsum(jumps)
            seg_base = np.concatenate(([carry], targets[jumps]))
            seg_start = np.concatenate(([0], np.flatnonzero(jumps))).astype(np.uint64)
            local = np.arange(k, dtype=np.uint64)
            offset = seg_base[seg] + (local - seg_start[seg]) * burst
            carry = offset[-1] + burst
        address = ((np.uint64(start) + offset) % space) & mask
        cycle = np.floor(np.arange(i0, i0 + k, dtype=np.float64) * interval).astype(np.int64)
        is_write = rw_rng.random(k) >= read_fraction
        yield TraceChunk(cycle, is_write, address)


def generate_trace(kind: str, n: int, *, seed: int = 0, read_fraction: float = 1.0,
                   interval: float = 1.0, stride: int = 64, address_space: int = 1 << 34,
                   start: int = 0, run_length: float = 8.0) -> TraceChunk:
    """Generate a synthetic trace of ``n`` requests, deterministic for a given ``seed``.

    * ``sequential``: consecutive 64-B bursts, ``start, start+64, ...``;
    * ``strided``: ``start + i * stride``;
    * ``random``: uniform over the 64-B bursts of ``[0, address_space)``, offset by ``start``;
    * ``mixed``: sequential runs interleaved with random jumps — each request jumps to a
      uniformly random burst with probability ``1 / run_length`` (geometric runs of mean
      ``run_length`` requests), else continues 64 B after the previous one.

    Every address is taken modulo ``address_space`` and aligned down to 64 B. Request ``i``
    arrives at cycle ``floor(i * interval)`` (``interval`` = cycles between requests; fractional
    values give a steady average rate). A request is a read with probability ``read_fraction``.
    Addresses and read/write choices come from two independent streams spawned from
    ``numpy.random.SeedSequence(seed)``, so changing ``read_fraction`` keeps the addresses.
    """
    params = _check_gen_params(kind, {
        "n": n, "seed": seed, "read_fraction": read_fraction, "interval": interval,
        "address_space": address_space, "start": start, "stride": stride,
        "run_length": run_length})
    return _concat(_generate_blocks(kind, **params))


# -- parsing ---------------------------------------------------------------------------------
def _parse_hex(token: str) -> int:
    try:
        value = int(token, 16)
    except ValueError:
        raise _BadLine(f"bad hex address {token!r}") from None
    if value < 0 or value >= 1 << 64 or "_" in token:
        raise _BadLine(f"bad hex address {token!r}")
    return value


def _parse_uint(token: str, what: str) -> int:
    if not (token.isascii() and token.isdigit()) or len(token) > 18:
        raise _BadLine(f"bad {what} {token!r} (expected a decimal integer in 0..10**18)")
    return int(token)


def _parse_stl_line(t: list[str]) -> tuple[int, bool, int, int | None]:
    """One DRAMSys line's tokens -> (cycle, is_write, address, length or None)."""
    if len(t) < 3:
        raise _BadLine("missing field(s): expected "
                       "'<cycle>: <read|write> <hex address> [length] [hex data]'")
    c = t[0][:-1] if t[0].endswith(":") else t[0]
    cycle = _parse_uint(c, "cycle")
    i, length = 1, None
    if t[1].startswith("("):
        length = _parse_uint(t[1].strip("()"), "length")
        i = 2
    if len(t) < i + 2:
        raise _BadLine("missing field: expected '<cycle>: [(length)] <read|write> <hex address>'")
    cmd = t[i].lower()
    if cmd not in ("read", "write"):
        raise _BadLine(f"unknown command {t[i]!r} (expected read or write)")
    address = _parse_hex(t[i + 1])
    rest = t[i + 2:]
    if rest and length is None and not rest[0].lower().startswith("0x"):
        length = _parse_uint(rest[0], "length")
        rest = rest[1:]
    if rest and rest[0].lower().startswith("0x"):
        _check_hex_data(rest[0])
        rest = rest[1:]
    if rest:
        raise _BadLine(f"unexpected extra field(s) {' '.join(rest)!r}")
    if length is not None and length > _MAX_LENGTH:
        raise _BadLine(f"request length {length} exceeds {_MAX_LENGTH} bytes")
    return cycle, cmd == "write", address, length


def _check_hex_data(token: str) -> None:
    body = token[2:]
    try:
        if not body or "_" in body or body[:1] in "+-":
            raise UserError
        int(body, 16)
    except ValueError:
        shown = token if len(token) <= 40 else token[:40] + "..."
        raise _BadLine(f"bad hex data {shown!r}") from None


def _parse_ds3_line(t: list[str]) -> tuple[int, bool, int, int | None]:
    """One DRAMsim3 line's tokens -> (cycle, is_write, address, None)."""
    if len(t) != 3:
        raise _BadLine(f"{'missing' if len(t) < 3 else 'extra'} field(s): expected "
                       "'<hex address> <READ|WRITE> <cycle>'")
    address = _parse_hex(t[0])
    op = t[1].upper()
    if op in _DS3_READ:
        is_write = False
    elif op in _DS3_WRITE:
        is_write = True
    else:
        raise _BadLine(f"unknown command {t[1]!r} (expected READ or WRITE)")
    return _parse_uint(t[2], "cycle"), is_write, address, None


def _sniff(tokens: list[str]) -> str:
    if tokens[0].endswith(":") or (len(tokens) > 1 and (
            tokens[1].startswith("(") or tokens[1] in ("read", "write"))):
        return "stl"
    if len(tokens) > 1 and tokens[1].upper() in _DS3_READ | _DS3_WRITE:
        return "dramsim3"
    raise _BadLine("cannot tell the trace format: expected a DRAMSys line "
                   "'<cycle>: <read|write> <hex address>' or a DRAMsim3 line "
                   "'<hex address> <READ|WRITE> <cycle>'")


def _fast_block(fmt: str, text: str, nlines: int) -> tuple[np.ndarray, ...] | None:
    """Vectorised parse of a block of plain 3-field lines; None when the slow path is needed.

    The block's lines are joined and split once, with a sentinel token after each line, which
    proves every line has exactly three fields; each column is then checked with a few C-level
    string operations. Anything unusual (comments, blank lines, optional fields, errors) returns
    None and the block is parsed line by line, which also pinpoints the bad line.
    """
    if "\x00" in text:
        return None
    if not text.endswith("\n"):
        text += "\n"
    tokens = text.replace("\n", " \x00 ").split()
    if len(tokens) != 4 * nlines or tokens[3::4].count("\x00") != nlines:
        return None
    if fmt == "dramsim3":
        addr_tok, cmd_tok, cyc_tok = tokens[0::4], tokens[1::4], tokens[2::4]
        commands = set(cmd_tok)
        if not {c.upper() for c in commands} <= _DS3_READ | _DS3_WRITE:
            return None
        writes = {c for c in commands if c.upper() in _DS3_WRITE}
    else:
        cyc_tok, cmd_tok, addr_tok = tokens[0::4], tokens[1::4], tokens[2::4]
        commands = set(cmd_tok)
        if not commands <= {"read", "write"}:
            return None
        writes = {"write"}
        joined = " ".join(cyc_tok)
        if ":" in joined:
            if (joined + " ").count(": ") != joined.count(":"):
                return None  # a colon that does not end its token
            cyc_tok = joined.replace(":", " ").split()
            if len(cyc_tok) != nlines:
                return None
    digits = "".join(cyc_tok)
    hexes = "".join(addr_tok)
    if not (digits.isascii() and digits.isdigit()) or not hexes.isascii() or any(
            ch in hexes for ch in "_+-"):
        return None
    try:
        cycles = np.array(list(map(int, cyc_tok)), dtype=np.int64)
        addresses = np.array(list(map(int, addr_tok, repeat(16))), dtype=np.uint64)
    except (ValueError, OverflowError):
        return None
    if len(writes) == 1:
        is_write = np.fromiter(map(next(iter(writes)).__eq__, cmd_tok), dtype=bool, count=nlines)
    else:
        is_write = np.fromiter(map(writes.__contains__, cmd_tok), dtype=bool, count=nlines)
    return cycles, is_write, addresses


def _slow_block(fmt: str, lines: list[str], first: int, label: str, bpb: int
                ) -> tuple[tuple[np.ndarray, ...], np.ndarray | None, list[int]] | None:
    """Parse a block line by line: (cycle, is_write, address), lengths or None, line numbers."""
    parse_line = _parse_stl_line if fmt == "stl" else _parse_ds3_line
    out, numbers = [], []
    for i, line in enumerate(lines):
        t = line.split()
        if not t or t[0][0] == "#":
            continue
        try:
            out.append(parse_line(t))
        except _BadLine as exc:
            raise TraceFormatError(label, first + i, line, str(exc)) from None
        numbers.append(first + i)
    if not out:
        return None
    cyc, wr, adr, lens = zip(*out)
    parsed = (np.array(cyc, dtype=np.int64), np.array(wr, dtype=bool),
              np.array(adr, dtype=np.uint64))
    lengths = None
    if any(x is not None for x in lens):
        lengths = np.array([bpb if x is None else x for x in lens], dtype=np.int64)
    return parsed, lengths, numbers


def _first_request_line(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        t = line.split()
        if t and t[0][0] != "#":
            return i
    return None


def _parse_file(src: _Source, fmt: str | None, chunk_size: int, bpb: int
                ) -> Iterator[TraceChunk]:
    relative = fmt == "rstl"
    if fmt is None and src.path is not None:
        suffix = src.path.suffix.lower()
        fmt = {".stl": "stl", ".rstl": "stl"}.get(suffix)
        relative = suffix == ".rstl"
    elif fmt is None:
        fmt = "stl"  # shipped traces
    elif fmt == "rstl":
        fmt = "stl"
    last_cycle = 0
    lineno = 0
    with _open_text(src) as handle:
        while True:
            try:
                lines = list(islice(handle, chunk_size))
            except UnicodeDecodeError as exc:
                raise TraceFormatError(src.label, lineno + 1, "", f"not a text file ({exc})"
                                       ) from None
            if not lines:
                return
            first = lineno + 1
            lineno += len(lines)
            if fmt is None:
                i = _first_request_line(lines)
                if i is None:
                    continue
                try:
                    fmt = _sniff(lines[i].split())
                except _BadLine as exc:
                    raise TraceFormatError(src.label, first + i, lines[i], str(exc)) from None
            parsed = _fast_block(fmt, "".join(lines), len(lines))
            lengths, numbers = None, None
            if parsed is None:
                slow = _slow_block(fmt, lines, first, src.label, bpb)
                if slow is None:
                    continue
                parsed, lengths, numbers = slow
            cycles, is_write, addresses = parsed
            if relative:
                cycles = last_cycle + np.cumsum(cycles)
            else:
                drops = np.flatnonzero(np.diff(cycles, prepend=last_cycle) < 0)
                if drops.size:
                    j = int(drops[0])
                    n = numbers[j] if numbers is not None else first + j
                    prev = last_cycle if j == 0 else int(cycles[j - 1])
                    raise TraceFormatError(
                        src.label, n, lines[n - first],
                        f"cycle {int(cycles[j])} is earlier than the previous request's "
                        f"cycle {prev} (cycles must be non-decreasing)")
            if cycles.size and int(cycles[-1]) > MAX_TRACE_CYCLE:  # non-decreasing: last is max
                j = int(np.flatnonzero(cycles > MAX_TRACE_CYCLE)[0])
                n = numbers[j] if numbers is not None else first + j
                raise TraceFormatError(
                    src.label, n, lines[n - first],
                    f"cycle {int(cycles[j])} is beyond the supported maximum {MAX_TRACE_CYCLE} "
                    "(2**36 cycles)")
            last_cycle = int(cycles[-1])
            yield from _expand_chunks(TraceChunk(cycles, is_write, addresses), lengths, bpb,
                                      chunk_size)


def _expand(chunk: TraceChunk, lengths: np.ndarray | None, bpb: int) -> TraceChunk:
    """Align addresses to bursts and split requests longer than one burst (see module doc)."""
    mask = np.uint64(~(bpb - 1) & 0xFFFF_FFFF_FFFF_FFFF)
    address = chunk.address & mask
    if lengths is None:
        return TraceChunk(chunk.cycle, chunk.is_write, address)
    counts = np.maximum(1, -(-lengths // bpb))
    if counts.max() == 1:
        return TraceChunk(chunk.cycle, chunk.is_write, address)
    starts = np.cumsum(counts) - counts
    step = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)
    return TraceChunk(np.repeat(chunk.cycle, counts), np.repeat(chunk.is_write, counts),
                      np.repeat(address, counts) + step.astype(np.uint64) * np.uint64(bpb))


def _expand_chunks(chunk: TraceChunk, lengths: np.ndarray | None, bpb: int, chunk_size: int
                   ) -> Iterator[TraceChunk]:
    """:func:`_expand` in pieces of at most ``chunk_size`` bursts (one request longer than
    that is one piece), so a few long requests never allocate more than a chunk; a consumer
    that stops early (``max_requests``) never expands the rest."""
    if lengths is None:
        yield from _split_chunk(_expand(chunk, None, bpb), chunk_size)
        return
    ends = np.cumsum(np.maximum(1, -(-lengths // bpb)))
    i, n, done = 0, chunk.size, 0
    while i < n:
        j = int(np.searchsorted(ends, done + chunk_size, side="right"))
        j = max(j, i + 1)
        yield from _split_chunk(_expand(TraceChunk(*(a[i:j] for a in chunk)), lengths[i:j], bpb),
                                chunk_size)
        done = int(ends[j - 1])
        i = j


def _split_chunk(chunk: TraceChunk, chunk_size: int) -> Iterator[TraceChunk]:
    n = chunk.size
    if 0 < n <= chunk_size:
        yield chunk
    elif n > chunk_size:
        for i in range(0, n, chunk_size):
            yield TraceChunk(*(a[i:i + chunk_size] for a in chunk))


def _generated(params: dict[str, Any], kind: str, chunk_size: int, bpb: int
               ) -> Iterator[TraceChunk]:
    full = {**_GEN_DEFAULTS, **params}
    for block in _generate_blocks(kind, **full):
        yield from _split_chunk(_expand(block, None, bpb), chunk_size)


# -- public entry points ---------------------------------------------------------------------
def open_workload(workload: str | os.PathLike[str], *, device: DeviceSpec | None = None,
                  chunk_size: int = 65536, format: str | None = None) -> Iterator[TraceChunk]:
    """Stream a workload as :class:`TraceChunk` s (see the module docstring for the sources).

    ``device`` sets the burst size used for alignment and splitting (64 B without one).
    ``format`` forces a file format (``"stl"``, ``"rstl"``, ``"dramsim3"``) instead of
    detecting it. Bad names, paths, specs and arguments raise ``ValueError`` here; malformed
    lines raise :class:`TraceFormatError` while iterating.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise UserError(f"chunk_size = {chunk_size!r}: expected a positive integer")
    if format is not None and format not in TRACE_FORMATS:
        raise UserError(f"trace format {format!r}: expected one of {', '.join(TRACE_FORMATS)}")
    bpb = device.bytes_per_burst if device is not None else _GEN_BURST
    src = _resolve(workload)
    if src.kind == "gen":
        return _generated(dict(src.gen), src.name, chunk_size, bpb)
    return _parse_file(src, format, chunk_size, bpb)


def load_workload(workload: str | os.PathLike[str], *, device: DeviceSpec | None = None,
                  format: str | None = None) -> TraceChunk:
    """The whole workload as one :class:`TraceChunk` (convenience for small traces)."""
    return _concat(open_workload(workload, device=device, format=format))


def workload_fingerprint(workload: str | os.PathLike[str]) -> str:
    """A stable identifier of a workload's content, for caching results.

    Shipped name -> ``"<name>:<sha256 prefix>"``; file -> ``"sha256:<prefix>"`` of its bytes
    (``"rstl-sha256:..."`` for relative-time ``.rstl`` files), so renaming a file keeps it and
    editing it changes it; generator spec -> the canonical spec with every parameter spelled
    out (``gen:random?n=10000&seed=0&...``), so equivalent specs agree.
    """
    src = _resolve(workload)
    if src.kind == "gen":
        return _canonical_spec(src.name, dict(src.gen))
    digest = hashlib.sha256()
    if src.kind == "shipped":
        digest.update(_shipped_resource(src.name).read_bytes())
        return f"{src.name}:{digest.hexdigest()[:16]}"
    assert src.path is not None
    with open(src.path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    tag = "rstl-sha256" if src.path.suffix.lower() == ".rstl" else "sha256"
    return f"{tag}:{digest.hexdigest()[:16]}"


def write_trace(path: str | os.PathLike[str], chunks: TraceChunk | Iterable[TraceChunk],
                format: str = "stl") -> int:
    """Write requests as a DRAMSys ``stl`` or a DRAMsim3 trace; returns the request count."""
    if format not in ("stl", "dramsim3"):
        raise UserError(f"trace format {format!r}: expected 'stl' or 'dramsim3'")
    if isinstance(chunks, TraceChunk):
        chunks = [chunks]
    count = 0
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for chunk in chunks:
            rows = zip(chunk.cycle.tolist(), chunk.is_write.tolist(), chunk.address.tolist())
            if format == "stl":
                handle.writelines(f"{c}:\t{'write' if w else 'read'}\t0x{a:X}\n"
                                  for c, w, a in rows)
            else:
                handle.writelines(f"0x{a:X} {'WRITE' if w else 'READ'} {c}\n"
                                  for c, w, a in rows)
            count += chunk.size
    return count
