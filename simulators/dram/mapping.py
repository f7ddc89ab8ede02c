"""Physical address -> (channel, rank, bank group, bank, row, column), vectorised.

Two ways to describe a mapping, both giving an :class:`AddressMapping`:

**Field strings** (DRAMsim3's ``address_mapping``). Six fields listed from the most to the
least significant bits, as two-letter codes — ``ro`` row, ``ch`` channel, ``ra`` rank,
``ba`` bank, ``bg`` bank group, ``co`` column — concatenated (``"rochrababgco"``) or as
hyphen-separated names (``"row-channel-rank-bank-bankgroup-column"``; codes are accepted in
that form too). Every field appears exactly once. As in DRAMsim3:

* the address is first shifted right by ``log2(bytes_per_burst)`` bits (the byte offset inside
  one burst: bus bytes x burst length, 64 B for a 64-bit DDR bus with BL8);
* the column field then has ``log2(columns) - log2(burst_length)`` bits, i.e. it counts
  *bursts* within a row, not chip columns; the row, rank, bank ... fields have ``log2(count)``
  bits (a field of count 1 has no bits and decodes to 0);
* the decoded ``column`` is that **burst index** (DRAMsim3's convention). The chip column of
  the burst's first beat is ``column * burst_length``.

**Bit lists** (DRAMSys' ``CONGEN`` address-mapping JSON): ``BYTE_BIT``, ``COLUMN_BIT``,
``BANK_BIT``, ``ROW_BIT`` and, where the device has more than one, ``BANKGROUP_BIT``,
``RANK_BIT``, ``CHANNEL_BIT`` list the address bits of each field, least significant first;
an optional ``XOR`` list of ``{"FIRST": f, "SECOND": s}`` pairs replaces bit ``f`` by
``f XOR s`` before decoding (DRAMSys' bank/channel hashing). DRAMSys counts the column in
chip columns, so its lowest ``log2(burst_length)`` column bits select a beat inside the burst:
the byte bits followed by the column bits (in list order) are taken together and their lowest
``log2(bytes_per_burst)`` bits are treated as the in-burst offset; the remaining column bits
form the burst index, as for field strings. ``BANK_BIT`` has ``log2(banks_per_group)`` bits.

**Capacity.** Bits outside every field are ignored, so an address beyond the device capacity
wraps around modulo the capacity (for a mapping that uses the bits just above the burst offset,
as every field string does). With ``DDR4_8Gb_x8_2400`` (16 GiB) bits 34 and up are ignored.

Decoding and encoding are pure numpy shift/mask operations on ``uint64`` arrays.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from archgym.errors import UserError
from .device import DeviceSpec

__all__ = ["AddressMapping", "FIELDS", "get_mapping", "list_mappings"]

#: Decoded fields, in the order :meth:`AddressMapping.decode` returns them.
FIELDS = ("channel", "rank", "bankgroup", "bank", "row", "column")
_CODES = {"ch": "channel", "ra": "rank", "bg": "bankgroup", "ba": "bank", "ro": "row",
          "co": "column"}
_CODE_OF = {v: k for k, v in _CODES.items()}
_CONGEN_KEYS = {"CHANNEL_BIT": "channel", "RANK_BIT": "rank", "BANKGROUP_BIT": "bankgroup",
                "BANK_BIT": "bank", "ROW_BIT": "row", "COLUMN_BIT": "column"}
_MAPPING_DIR = "mappings"


def _log2(n: int) -> int:
    return n.bit_length() - 1


def field_widths(device: DeviceSpec) -> dict[str, int]:
    """Bits of each field for ``device`` (the column in bursts), DRAMsim3's rule."""
    return {
        "channel": _log2(device.channels),
        "rank": _log2(device.ranks),
        "bankgroup": _log2(device.bankgroups),
        "bank": _log2(device.banks_per_group),
        "row": _log2(device.rows),
        "column": _log2(device.columns) - _log2(device.burst_length),
    }


def _segments(bits: Sequence[int]) -> tuple[tuple[int, int, int], ...]:
    """Group a field's bit positions into runs: (source shift, mask, destination shift)."""
    runs: list[tuple[int, int, int]] = []
    start = 0
    while start < len(bits):
        end = start + 1
        while end < len(bits) and bits[end] == bits[end - 1] + 1:
            end += 1
        runs.append((bits[start], (1 << (end - start)) - 1, start))
        start = end
    return tuple(runs)


class AddressMapping:
    """A decoder from byte addresses to DRAM coordinates for one :class:`DeviceSpec`.

    Build one with :meth:`from_string` or :meth:`from_dramsys_json` (or :func:`get_mapping`).
    ``fields`` is a canonical string that :meth:`from_string` accepts back: the two-letter
    field string when the layout has one, else a ``bits:`` description (see
    :meth:`from_string`). Two mappings are equal when they decode every address identically.
    """

    def __init__(self, device: DeviceSpec, bits: Mapping[str, Sequence[int]],
                 xor: Iterable[tuple[int, int]] = (), fields: str | None = None) -> None:
        """``bits[field]`` = the field's byte-address bit positions, least significant first.

        ``field`` ranges over :data:`FIELDS` (the column's bits are its burst-index bits).
        Prefer the class-method constructors; this one checks the widths and overlaps.
        """
        self.device = device
        widths = field_widths(device)
        unknown = sorted(set(bits) - set(FIELDS))
        if unknown:
            raise UserError(f"unknown address field(s) {', '.join(unknown)}; expected "
                             f"{', '.join(FIELDS)}")
        layout: dict[str, tuple[int, ...]] = {}
        seen: dict[int, str] = {}
        for name in FIELDS:
            positions = tuple(int(b) for b in bits.get(name, ()))
            if len(positions) != widths[name]:
                raise UserError(
                    f"address field {name!r} has {len(positions)} bit(s) {list(positions)}; "
                    f"device {device.name!r} needs {widths[name]}"
                )
            for b in positions:
                if not 0 <= b < 64:
                    raise UserError(f"address field {name!r}: bit {b} is outside 0..63")
                if b in seen:
                    raise UserError(f"address bit {b} is used by both {seen[b]!r} and {name!r}")
                seen[b] = name
            layout[name] = positions
        self._bits = layout
        self._xor = tuple((int(f), int(s)) for f, s in xor)
        for f, s in self._xor:
            if not (0 <= f < 64 and 0 <= s < 64) or f == s:
                raise UserError(f"XOR pair ({f}, {s}): expected two different bits in 0..63")
        firsts = {f for f, _ in self._xor}
        if firsts & {s for _, s in self._xor}:
            raise UserError("XOR pairs: a bit that is XOR-ed into must not be a source bit too")
        self._segs = {name: _segments(layout[name]) for name in FIELDS}
        self.fields = fields or self._canonical()

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def from_string(cls, fields: str, device: DeviceSpec) -> "AddressMapping":
        """Parse a DRAMsim3 field string (MSB to LSB), compact or hyphenated.

        Also accepts the ``bits:`` form that :attr:`fields` uses for layouts no field string
        can express: ``bits:ch=;ra=;bg=;ba=13,14;ro=16-29;co=6-12;xor=13^16``, each field's
        bit positions least significant first (``a-b`` is an ascending run).
        """
        if not isinstance(fields, str):
            raise UserError(f"address mapping {fields!r}: expected a string such as "
                             "'rochrababgco'")
        text = fields.strip().lower()
        if text.startswith("bits:"):
            return cls._from_bits_string(text, device)
        if "-" in text or "_" in text:
            tokens = [t for t in text.replace("_", "-").split("-") if t]
        elif len(text) == 12:
            tokens = [text[i:i + 2] for i in range(0, 12, 2)]
        else:
            raise UserError(
                f"address mapping {fields!r}: expected six two-letter fields (ro, ch, ra, ba, "
                "bg, co) such as 'rochrababgco', or hyphenated names such as "
                "'row-channel-rank-bank-bankgroup-column'"
            )
        order: list[str] = []
        for token in tokens:
            name = _CODES.get(token, token if token in _CODE_OF else None)
            if name is None:
                raise UserError(
                    f"address mapping {fields!r}: unknown field {token!r}; expected ro/row, "
                    "ch/channel, ra/rank, ba/bank, bg/bankgroup, co/column"
                )
            if name in order:
                raise UserError(f"address mapping {fields!r}: field {name!r} appears twice")
            order.append(name)
        missing = [n for n in FIELDS if n not in order]
        if missing:
            raise UserError(
                f"address mapping {fields!r}: missing field(s) {', '.join(missing)}; each of "
                "ro, ch, ra, ba, bg, co must appear exactly once"
            )
        widths = field_widths(device)
        pos = _log2(device.bytes_per_burst)
        bits: dict[str, list[int]] = {}
        for name in reversed(order):  # least significant field first
            bits[name] = list(range(pos, pos + widths[name]))
            pos += widths[name]
        return cls(device, bits, fields="".join(_CODE_OF[n] for n in order))

    @classmethod
    def from_dramsys_json(cls, path: str | os.PathLike[str], device: DeviceSpec
                          ) -> "AddressMapping":
        """Read a DRAMSys ``CONGEN`` address-mapping JSON (a path or a shipped mapping name)."""
        text = os.fspath(path)
        name = text[:-5] if text.endswith(".json") else text
        if not Path(text).is_file() and name in list_mappings():
            resource = resources.files(__package__) / _MAPPING_DIR / f"{name}.json"
            data = json.loads(resource.read_text(encoding="utf-8"))
        else:
            p = Path(text)
            if not p.is_file():
                raise UserError(f"address mapping file {text!r} does not exist; shipped "
                                 f"mappings: {', '.join(list_mappings())}")
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise UserError(f"cannot read address mapping file {text!r}: {exc}") from None
        try:
            return cls.from_congen(data, device)
        except ValueError as exc:
            raise UserError(f"address mapping {text!r}: {exc}") from None

    @classmethod
    def from_congen(cls, data: Mapping[str, Any], device: DeviceSpec) -> "AddressMapping":
        """Build from a parsed DRAMSys ``CONGEN`` object (see the module docstring)."""
        congen = data.get("CONGEN", data.get("addressmapping", data))
        if not isinstance(congen, Mapping):
            raise UserError("expected a JSON object with a 'CONGEN' key")
        known = set(_CONGEN_KEYS) | {"BYTE_BIT", "XOR"}
        unknown = sorted(set(congen) - known)
        if unknown:
            raise UserError(f"unknown CONGEN key(s) {', '.join(unknown)}; expected "
                             f"{', '.join(sorted(known))}")

        def bit_list(key: str) -> list[int]:
            value = congen.get(key, [])
            if not isinstance(value, list) or not all(
                    isinstance(b, int) and not isinstance(b, bool) for b in value):
                raise UserError(f"CONGEN {key} = {value!r}: expected a list of bit numbers")
            return list(value)

        for key in ("BYTE_BIT", "COLUMN_BIT", "ROW_BIT"):
            if key not in congen:
                raise UserError(f"CONGEN is missing {key}")
        low = bit_list("BYTE_BIT") + bit_list("COLUMN_BIT")
        offset = _log2(device.bytes_per_burst)
        if len(low) < offset:
            raise UserError(
                f"CONGEN BYTE_BIT + COLUMN_BIT have {len(low)} bits; device {device.name!r} "
                f"needs {offset} for the {device.bytes_per_burst}-byte burst plus the column"
            )
        bits: dict[str, list[int]] = {"column": low[offset:]}
        for key, name in _CONGEN_KEYS.items():
            if name != "column":
                bits[name] = bit_list(key)
        xor = []
        for pair in congen.get("XOR", []):
            if not isinstance(pair, Mapping) or not {"FIRST", "SECOND"} <= set(pair):
                raise UserError(f"CONGEN XOR entry {pair!r}: expected {{'FIRST': f, 'SECOND': s}}")
            xor.append((pair["FIRST"], pair["SECOND"]))
        used = set(low[:offset])
        clash = used & {b for v in bits.values() for b in v}
        if clash:
            raise UserError(f"CONGEN bit(s) {sorted(clash)} used twice")
        return cls(device, bits, xor=xor)

    @classmethod
    def _from_bits_string(cls, text: str, device: DeviceSpec) -> "AddressMapping":
        bits: dict[str, list[int]] = {}
        xor: list[tuple[int, int]] = []
        for part in text[len("bits:"):].split(";"):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            key = key.strip()
            try:
                if key == "xor":
                    for pair in filter(None, value.split(",")):
                        f, s = pair.split("^")
                        xor.append((int(f), int(s)))
                    continue
                name = _CODES.get(key, key)
                if not sep or name not in FIELDS:
                    raise UserError
                positions: list[int] = []
                for item in filter(None, value.split(",")):
                    lo, dash, hi = item.partition("-")
                    positions.extend(range(int(lo), int(hi) + 1) if dash else [int(lo)])
                bits[name] = positions
            except ValueError:
                raise UserError(f"address mapping {text!r}: cannot parse {part!r}; expected "
                                 "'<field>=<bits>' or 'xor=<f>^<s>,...'") from None
        return cls(device, bits, xor=xor)

    # -- canonical form ----------------------------------------------------------------------
    def _canonical(self) -> str:
        """The two-letter field string for this layout, or the ``bits:`` form."""
        offset = _log2(self.device.bytes_per_burst)
        placed = sorted((b[0], n) for n, b in self._bits.items() if b)
        pos = offset
        expressible = not self._xor
        for start, name in placed:
            bits = self._bits[name]
            if start != pos or bits != tuple(range(start, start + len(bits))):
                expressible = False
                break
            pos += len(bits)
        if expressible:
            empty = [n for n in FIELDS if not self._bits[n]]
            order = empty + [n for _, n in reversed(placed)]  # MSB first; empty fields on top
            return "".join(_CODE_OF[n] for n in order)
        parts = []
        for name in FIELDS:
            runs = [f"{s}-{s + m.bit_length() - 1}" if m > 1 else str(s)
                    for s, m, _ in self._segs[name]]
            parts.append(f"{_CODE_OF[name]}={','.join(runs)}")
        if self._xor:
            parts.append("xor=" + ",".join(f"{f}^{s}" for f, s in self._xor))
        return "bits:" + ";".join(parts)

    # -- decoding ----------------------------------------------------------------------------
    def decode(self, addresses: Any) -> tuple[np.ndarray, ...]:
        """Decode byte addresses into ``(channel, rank, bankgroup, bank, row, column)``.

        ``addresses`` is anything ``np.asarray`` turns into non-negative integers; the result
        is six ``int64`` arrays of its shape. ``column`` is the burst index within the row
        (see the module docstring).
        """
        a = np.asarray(addresses)
        if a.dtype != np.uint64:
            if a.dtype.kind not in "iu":
                raise UserError(f"addresses must be integers, got dtype {a.dtype}")
            if a.dtype.kind == "i" and a.size and a.min() < 0:
                raise UserError("addresses must be non-negative")
            a = a.astype(np.uint64)
        for f, s in self._xor:
            a = a ^ (((a >> np.uint64(s)) & np.uint64(1)) << np.uint64(f))
        return tuple(self._extract(a, name) for name in FIELDS)

    def _extract(self, a: np.ndarray, name: str) -> np.ndarray:
        segs = self._segs[name]
        if not segs:
            return np.zeros(a.shape, dtype=np.int64)
        out = None
        for src, mask, dst in segs:
            part = (a >> np.uint64(src)) & np.uint64(mask)
            if dst:
                part <<= np.uint64(dst)
            out = part if out is None else (out | part)
        return out.astype(np.int64)

    def encode(self, channel: Any = 0, rank: Any = 0, bankgroup: Any = 0, bank: Any = 0,
               row: Any = 0, column: Any = 0) -> np.ndarray:
        """Compose burst-aligned byte addresses (``uint64``) from coordinates; inverse of decode.

        ``column`` is the burst index. Values outside a field's range raise ``ValueError``.
        """
        values = dict(zip(FIELDS, (channel, rank, bankgroup, bank, row, column)))
        arrays = {k: np.asarray(v, dtype=np.int64) for k, v in values.items()}
        shape = np.broadcast_shapes(*(v.shape for v in arrays.values()))
        out = np.zeros(shape, dtype=np.uint64)
        for name in FIELDS:
            v = arrays[name]
            limit = 1 << len(self._bits[name])
            if v.size and (v.min() < 0 or v.max() >= limit):
                raise UserError(f"{name} values must lie in 0..{limit - 1} for "
                                 f"device {self.device.name!r}")
            u = v.astype(np.uint64)
            for src, mask, dst in self._segs[name]:
                out |= ((u >> np.uint64(dst)) & np.uint64(mask)) << np.uint64(src)
        for f, s in reversed(self._xor):
            out ^= ((out >> np.uint64(s)) & np.uint64(1)) << np.uint64(f)
        return out

    # -- introspection -----------------------------------------------------------------------
    @property
    def bits(self) -> dict[str, tuple[int, ...]]:
        """Each field's byte-address bit positions, least significant first."""
        return dict(self._bits)

    @property
    def xor(self) -> tuple[tuple[int, int], ...]:
        return self._xor

    def _key(self) -> tuple:
        return (self.device, tuple(self._bits[n] for n in FIELDS), self._xor)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AddressMapping):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        def describe(name: str) -> str:
            bits = self._bits[name]
            if not bits:
                return f"{_CODE_OF[name]}=-"
            runs = [f"[{s + m.bit_length() - 1}:{s}]" if m > 1 else f"[{s}]"
                    for s, m, _ in reversed(self._segs[name])]
            return f"{_CODE_OF[name]}={''.join(runs)}"

        offset = _log2(self.device.bytes_per_burst)
        layout = " ".join(describe(n) for n in FIELDS)
        xor = f" xor={list(self._xor)}" if self._xor else ""
        return (f"AddressMapping({self.fields!r}, device={self.device.name!r}: {layout}, "
                f"offset=[{offset - 1}:0]{xor})")


def list_mappings() -> list[str]:
    """Names of the shipped DRAMSys address-mapping JSON files."""
    folder = resources.files(__package__) / _MAPPING_DIR
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def get_mapping(mapping: "str | os.PathLike[str] | AddressMapping | None",
                device: DeviceSpec) -> AddressMapping:
    """Resolve a mapping given in any supported form for ``device``.

    ``None`` -> ``device.default_mapping``; an :class:`AddressMapping` as is (it must be for
    the same device); a ``.json`` path or a shipped mapping name -> :meth:`from_dramsys_json`;
    any other string -> :meth:`from_string`.
    """
    if mapping is None:
        return AddressMapping.from_string(device.default_mapping, device)
    if isinstance(mapping, AddressMapping):
        if mapping.device != device:
            raise UserError(f"address mapping {mapping.fields!r} was built for device "
                             f"{mapping.device.name!r}, not {device.name!r}")
        return mapping
    text = os.fspath(mapping)
    if text.endswith(".json") or text in list_mappings():
        return AddressMapping.from_dramsys_json(text, device)
    return AddressMapping.from_string(text, device)
