"""DNN layers as canonical loop nests, and the workload tables that list them.

A workload is a network: an ordered table of layers. Every back-end (analytical, ZigZag,
SCALE-Sim) reads the same :class:`Layer` objects, so the networks are defined once.

Canonical loop bounds
---------------------
A :class:`Layer` is the 7-deep convolution loop nest used by Timeloop, MAESTRO and ZigZag::

    for g in G:  for k in K:  for c in C:  for oy in OY:  for ox in OX:  for fy in FY:  for fx in FX:
        out[g, k, oy, ox] += w[g, k, c, fy, fx] * in[g, c, oy*stride + fy, ox*stride + fx]

``K`` output channels and ``C`` input channels are *per group* (a depthwise conv has ``G`` =
channels and ``K = C = 1``); ``macs = G*K*C*OY*OX*FY*FX`` for one instance of the layer, and
``total_macs = macs * repeat``. A GEMM ``(M x K_g) . (K_g x N)`` maps to ``C = K_g``, ``K = N``,
``OX = M``, ``OY = FY = FX = G = stride = 1``.

:attr:`Layer.IY` / :attr:`Layer.IX` are the input extent the outputs read, ``(O - 1)*stride + F``
(padding included): the "valid-padding" input size that reproduces ``OY x OX``, which is what a
back-end that takes input sizes (SCALE-Sim's topology files) must be given.

Table format (CSV)
------------------
One header line with exactly these columns (any order)::

    name,type,in_h,in_w,filter_h,filter_w,in_channels,out_channels,stride,groups,M,N,K,repeat

* ``type`` is ``conv`` or ``gemm``.
* ``conv`` rows fill ``in_h, in_w, filter_h, filter_w, in_channels, out_channels, stride,
  groups`` (channels are totals over all groups and must be divisible by ``groups``) and leave
  ``M, N, K`` empty. Padding is 'same'-style (TensorFlow's ``SAME``): the output is
  ``out_h = ceil(in_h / stride)``, ``out_w = ceil(in_w / stride)``, whatever the filter size. A
  layer with 'valid' padding is written with the input extent that gives its published output
  (e.g. AlexNet's conv1, 227 -> 55 at stride 4, is listed with ``in_h = 220``).
* ``gemm`` rows fill ``M, N, K`` for ``(M x K) . (K x N)`` and leave the conv columns empty.
  Fully connected layers are GEMMs with ``M`` = batch size.
* ``repeat`` (empty = 1) counts identical layers; back-ends multiply a layer's cost by it.
* Blank lines and lines starting with ``#`` are comments. All numbers are positive integers.

Layers are independent: every back-end runs them one after another (no layer fusion), so
their order does not change any result. A malformed table raises :class:`WorkloadError` naming
the file and line.

Shipped networks (batch 1; sources and MAC totals in each file's header): ``alexnet``,
``vgg16``, ``resnet18``, ``resnet50``, ``mobilenetv2``, ``bert-base``.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import math
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable

from archgym.errors import UserError

__all__ = [
    "Layer",
    "Workload",
    "WorkloadError",
    "COLUMNS",
    "BUILTIN_WORKLOADS",
    "list_workloads",
    "load_workload",
    "parse_workload",
]

#: the columns of a workload table, in the order the shipped files use
COLUMNS: tuple[str, ...] = (
    "name", "type", "in_h", "in_w", "filter_h", "filter_w", "in_channels", "out_channels",
    "stride", "groups", "M", "N", "K", "repeat",
)
_CONV_COLUMNS = ("in_h", "in_w", "filter_h", "filter_w", "in_channels", "out_channels", "stride", "groups")
_GEMM_COLUMNS = ("M", "N", "K")

#: shipped network name -> file in ``workloads/``
BUILTIN_WORKLOADS: dict[str, str] = {
    "alexnet": "alexnet.csv",
    "vgg16": "vgg16.csv",
    "resnet18": "resnet18.csv",
    "resnet50": "resnet50.csv",
    "mobilenetv2": "mobilenetv2.csv",
    "bert-base": "bert-base.csv",
}


class WorkloadError(UserError):
    """A workload that cannot be read: unknown name, missing file or malformed table."""


@dataclass(frozen=True)
class Layer:
    """One layer (or ``repeat`` identical layers) as canonical loop bounds; see the module doc."""

    name: str
    type: str  # "conv" | "gemm"
    K: int
    C: int
    OY: int
    OX: int
    FY: int = 1
    FX: int = 1
    G: int = 1
    stride: int = 1
    repeat: int = 1

    def __post_init__(self) -> None:
        if self.type not in ("conv", "gemm"):
            raise UserError(f"layer {self.name!r}: type must be 'conv' or 'gemm', got {self.type!r}")
        for field in ("K", "C", "OY", "OX", "FY", "FX", "G", "stride", "repeat"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"layer {self.name!r}: {field} must be a positive integer, got {value!r}")

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def conv(cls, name: str, in_h: int, in_w: int, filter_h: int, filter_w: int, in_channels: int,
             out_channels: int, stride: int = 1, groups: int = 1, repeat: int = 1) -> "Layer":
        """A convolution in table terms ('same' padding: ``out = ceil(in / stride)``)."""
        if in_channels % groups or out_channels % groups:
            raise UserError(
                f"layer {name!r}: in_channels ({in_channels}) and out_channels ({out_channels}) "
                f"must be divisible by groups ({groups})"
            )
        return cls(name, "conv", K=out_channels // groups, C=in_channels // groups,
                   OY=math.ceil(in_h / stride), OX=math.ceil(in_w / stride), FY=filter_h, FX=filter_w,
                   G=groups, stride=stride, repeat=repeat)

    @classmethod
    def gemm(cls, name: str, M: int, N: int, K: int, repeat: int = 1) -> "Layer":
        """``(M x K) . (K x N)`` as loop bounds: ``C = K``, ``K = N``, ``OX = M``."""
        return cls(name, "gemm", K=N, C=K, OY=1, OX=M, repeat=repeat)

    # -- derived sizes ---------------------------------------------------------------------
    @property
    def P(self) -> int:
        """Output pixels per channel, ``OY * OX`` (GEMM: ``M``)."""
        return self.OY * self.OX

    @property
    def IY(self) -> int:
        """Input rows the outputs read, ``(OY - 1) * stride + FY`` (padding included)."""
        return (self.OY - 1) * self.stride + self.FY

    @property
    def IX(self) -> int:
        """Input columns the outputs read, ``(OX - 1) * stride + FX`` (padding included)."""
        return (self.OX - 1) * self.stride + self.FX

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one instance: ``G*K*C*OY*OX*FY*FX``."""
        return self.G * self.K * self.C * self.OY * self.OX * self.FY * self.FX

    @property
    def total_macs(self) -> int:
        """``macs * repeat``."""
        return self.macs * self.repeat

    @property
    def weight_elements(self) -> int:
        return self.G * self.K * self.C * self.FY * self.FX

    @property
    def input_elements(self) -> int:
        """Input elements read (``G*C*IY*IX``, padding included)."""
        return self.G * self.C * self.IY * self.IX

    @property
    def output_elements(self) -> int:
        return self.G * self.K * self.OY * self.OX

    @property
    def gemm_shape(self) -> tuple[int, int, int]:
        """``(M, N, K)`` of the equivalent GEMM per group (im2col for a conv)."""
        return self.P, self.K, self.C * self.FY * self.FX


@dataclass(frozen=True)
class Workload:
    """A network: its layers, where it came from and a digest of the table's content."""

    name: str
    layers: tuple[Layer, ...]
    source: str
    digest: str

    @classmethod
    def from_layers(cls, name: str, layers: Iterable[Layer]) -> "Workload":
        """A workload built in code (its digest hashes the layers, so caches tell them apart)."""
        layers = tuple(layers)
        if not layers:
            raise WorkloadError(f"workload {name!r} has no layers")
        return cls(name, layers, "code", _digest(repr(layers)))

    @property
    def total_macs(self) -> int:
        return sum(layer.total_macs for layer in self.layers)

    @property
    def key(self) -> str:
        """Cache identity: the network name for a shipped one, else ``name:sha256[:16]``."""
        return self.name if self.source == "builtin" else f"{self.name}:{self.digest[:16]}"

    def __len__(self) -> int:
        return len(self.layers)


def list_workloads() -> list[str]:
    """Names of the shipped networks."""
    return list(BUILTIN_WORKLOADS)


def load_workload(spec: str | os.PathLike[str] | Workload) -> Workload:
    """A shipped network by name (case-insensitive) or a workload table by path.

    Raises :class:`WorkloadError` (a ``ValueError``) for an unknown name, a missing file or a
    malformed table.
    """
    if isinstance(spec, Workload):
        return spec
    text = os.fspath(spec)
    if text.lower() in BUILTIN_WORKLOADS:
        return _load_builtin(text.lower())
    path = Path(text).expanduser()
    if path.is_file():
        stat = path.stat()
        return _load_file(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    raise WorkloadError(
        f"unknown accelerator workload {text!r}: not a shipped network ({', '.join(BUILTIN_WORKLOADS)}) "
        f"nor an existing table file"
    )


@functools.lru_cache(maxsize=None)
def _load_builtin(name: str) -> Workload:
    content = resources.files(__package__).joinpath("workloads", BUILTIN_WORKLOADS[name]).read_text("utf-8")
    return Workload(name, parse_workload(content, f"{name} ({BUILTIN_WORKLOADS[name]})"), "builtin", _digest(content))


@functools.lru_cache(maxsize=64)
def _load_file(path: str, mtime_ns: int, size: int) -> Workload:
    try:
        content = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(f"cannot read workload table {path}: {exc}") from exc
    return Workload(Path(path).stem, parse_workload(content, path), path, _digest(content))


def _digest(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def parse_workload(content: str, source: str = "<string>") -> tuple[Layer, ...]:
    """Parse a workload table (the CSV format of the module doc); ``source`` names it in errors."""
    rows = [(n, line) for n, line in enumerate(content.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise WorkloadError(f"{source}: empty workload table (expected a header line and layer rows)")
    header_line, header_text = rows[0]
    header = [h.strip() for h in next(csv.reader([header_text]))]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in COLUMNS if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        problems = []
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if len(set(header)) != len(header):
            problems.append("duplicate columns")
        raise WorkloadError(f"{source}, line {header_line}: bad header ({'; '.join(problems)}); "
                            f"expected {','.join(COLUMNS)}")
    layers = [_parse_row(header, values, source, n) for n, values in _split(rows[1:])]
    if not layers:
        raise WorkloadError(f"{source}: workload table has a header but no layers")
    return tuple(layers)


def _split(rows: Iterable[tuple[int, str]]) -> Iterable[tuple[int, list[str]]]:
    for n, line in rows:
        yield n, [v.strip() for v in next(csv.reader(io.StringIO(line)))]


def _parse_row(header: list[str], values: list[str], source: str, line: int) -> Layer:
    where = f"{source}, line {line}"
    if len(values) != len(header):
        raise WorkloadError(f"{where}: expected {len(header)} fields, got {len(values)}")
    row = dict(zip(header, values))
    name, kind = row["name"], row["type"].lower()
    if not name:
        raise WorkloadError(f"{where}: empty layer name")

    def number(column: str) -> int:
        raw = row[column]
        try:
            value = int(raw)
        except ValueError:
            raise WorkloadError(f"{where} (layer {name!r}): {column} = {raw!r} is not an integer") from None
        if value < 1:
            raise WorkloadError(f"{where} (layer {name!r}): {column} must be >= 1, got {value}")
        return value

    repeat = number("repeat") if row["repeat"] else 1
    if kind == "conv":
        own, other = _CONV_COLUMNS, _GEMM_COLUMNS
    elif kind == "gemm":
        own, other = _GEMM_COLUMNS, _CONV_COLUMNS
    else:
        raise WorkloadError(f"{where} (layer {name!r}): type must be 'conv' or 'gemm', got {row['type']!r}")
    empty = [c for c in own if not row[c]]
    if empty:
        raise WorkloadError(f"{where} (layer {name!r}): a {kind} row needs {', '.join(empty)}")
    stray = [c for c in other if row[c]]
    if stray:
        raise WorkloadError(f"{where} (layer {name!r}): a {kind} row leaves {', '.join(stray)} empty")
    try:
        if kind == "gemm":
            return Layer.gemm(name, number("M"), number("N"), number("K"), repeat)
        return Layer.conv(name, number("in_h"), number("in_w"), number("filter_h"), number("filter_w"),
                          number("in_channels"), number("out_channels"), number("stride"), number("groups"),
                          repeat)
    except WorkloadError:
        raise
    except ValueError as exc:
        raise WorkloadError(f"{where}: {exc}") from None
