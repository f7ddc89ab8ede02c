"""DRAM device descriptions: organisation, timings (in clock cycles) and IDD currents.

A :class:`DeviceSpec` is an immutable, validated record of one memory system — one or more
channels of a DIMM-like rank organisation built from identical DRAM chips. Timings are in
memory-clock cycles (``tCK`` is the only value in nanoseconds), currents are per chip in mA,
voltages in V, exactly as DRAMsim3's ``.ini`` files and DRAMSys' memspecs give them.

Devices come from three places, all through :func:`load_device`:

* a shipped preset by name (``list_devices()``; JSON files in ``presets/``, each naming its source),
* a preset-style JSON file of your own (the same flat keys as the dataclass fields),
* a DRAMSys memspec JSON of a DDR3 or DDR4 device (``{"memspec": {...}}``), converted as follows:

  ========================  ===============================================================
  DeviceSpec                DRAMSys memspec
  ========================  ===============================================================
  ``bankgroups``            ``nbrOfBankGroups`` (1 when absent, e.g. DDR3)
  ``banks_per_group``       ``nbrOfBanks // nbrOfBankGroups`` (``nbrOfBanks``: banks per rank)
  ``device_width``          ``width``
  ``bus_width``             ``width * nbrOfDevicesOnDIMM`` (devices per rank; 64 when absent)
  ``tCK``                   ``1000 / clkMhz``
  ``CL`` / ``CWL``          ``RL`` / ``WL`` (falling back to ``CL``; RL = CL + AL)
  ``tRRD_S`` / ``tRRD_L``   ``RRD_S`` / ``RRD_L``, or both ``RRD`` (no bank groups)
  ``tWTR_S`` / ``tWTR_L``   ``WTR_S`` / ``WTR_L``, or both ``WTR``
  ``tCCD_S`` / ``tCCD_L``   ``CCD_S`` / ``CCD_L``, or both ``CCD``
  ``tRFCpb``                ``RFCPB`` if present, else the estimate ``ceil(tRFC / 2)`` (below)
  ``IDD5AB``                ``idd5``
  ``VPP`` / ``IPP0``        ``vdd2`` / ``idd02`` (DDR4's pump supply), else ``vpp``/``ipp0``, else 0
  ========================  ===============================================================

DDR3 and DDR4 have no per-bank refresh, but the controller design space offers a ``PerBank``
refresh policy (as ArchGym's DRAMSys configuration does). For such devices ``tRFCpb`` is
estimated as ``ceil(tRFC / 2)``: per-bank refresh refreshes one bank's rows instead of all the
rank's, and in the standards that do define it (LPDDR4: tRFCab 280 ns vs tRFCpb 140 ns for
8 Gb) it takes about half the all-bank time.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from archgym.errors import UserError

__all__ = ["DeviceSpec", "load_device", "list_devices", "device_from_memspec"]

#: The mapping used when a device does not name one: DRAMsim3's default DDR4 layout.
DEFAULT_MAPPING = "rochrababgco"

_PRESET_DIR = "presets"
#: Keys a preset-style JSON may carry besides the dataclass fields (documentation only).
_PRESET_META_KEYS = {"notes", "license", "$comment"}

_POW2_FIELDS = ("channels", "ranks", "bankgroups", "banks_per_group", "rows", "columns",
                "device_width", "bus_width", "burst_length")
_TIMING_FIELDS = ("CL", "CWL", "tRCD", "tRP", "tRAS", "tRFC", "tREFI", "tRRD_S", "tRRD_L",
                  "tWTR_S", "tWTR_L", "tFAW", "tWR", "tRTP", "tCCD_S", "tCCD_L", "tRTRS", "tRFCpb")
#: Timings that must be at least one cycle (the others may be 0).
_POSITIVE_TIMINGS = ("CL", "tRCD", "tRP", "tRAS", "tRFC", "tREFI", "tCCD_S", "tCCD_L", "tRFCpb")
#: Upper bounds: a timing above 2**20 cycles (CL = 10**12, say) or an absurd geometry would
#: make one simulation run for hours or allocate gigabytes; real devices stay far below.
MAX_TIMING_CYCLES = 1 << 20
_POW2_LIMITS = {"channels": 64, "ranks": 16, "bankgroups": 16, "banks_per_group": 64,
                "rows": 1 << 24, "columns": 1 << 16, "device_width": 1024, "bus_width": 4096,
                "burst_length": 64}
_CURRENT_FIELDS = ("IDD0", "IDD2N", "IDD3N", "IDD4R", "IDD4W", "IDD5AB", "IPP0")


def _is_pow2(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


@dataclass(frozen=True)
class DeviceSpec:
    """One DRAM memory system: organisation, timings in clock cycles, power figures.

    Counts are per channel (``ranks``), per rank (``bankgroups``) and per bank group
    (``banks_per_group``); ``rows`` and ``columns`` are per bank, ``columns`` in units of
    ``device_width``-bit chip columns (so a row of one rank holds ``columns * bus_width / 8``
    bytes). Currents are per chip (mA) at ``VDD``; ``IPP0`` is the ``VPP`` (word-line pump)
    current during ACT/PRE cycling, 0 for standards without a VPP rail.

    Construction validates every field and raises :class:`ValueError` naming the field, the
    value and what was expected.
    """

    name: str
    standard: str
    channels: int
    ranks: int
    bankgroups: int
    banks_per_group: int
    rows: int
    columns: int
    device_width: int
    bus_width: int
    burst_length: int
    tCK: float
    CL: int
    CWL: int
    tRCD: int
    tRP: int
    tRAS: int
    tRFC: int
    tREFI: int
    tRRD_S: int
    tRRD_L: int
    tWTR_S: int
    tWTR_L: int
    tFAW: int
    tWR: int
    tRTP: int
    tCCD_S: int
    tCCD_L: int
    tRTRS: int
    tRFCpb: int
    VDD: float
    IDD0: float
    IDD2N: float
    IDD3N: float
    IDD4R: float
    IDD4W: float
    IDD5AB: float
    VPP: float = 0.0
    IPP0: float = 0.0
    #: Address-mapping field string (see :mod:`.mapping`); ``None`` = :data:`DEFAULT_MAPPING`.
    address_mapping: str | None = None
    #: Where the figures come from (free text; not part of equality).
    source: str = field(default="", compare=False)

    # -- validation --------------------------------------------------------------------------
    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise UserError(
                f"DeviceSpec field 'name' = {self.name!r}: expected a non-empty string"
            )
        if not isinstance(self.standard, str) or not self.standard:
            raise UserError(
                f"DeviceSpec field 'standard' = {self.standard!r}: expected a non-empty string "
                "such as 'DDR4'"
            )
        for name in _POW2_FIELDS:
            value = self._coerce_int(name)
            if not _is_pow2(value) or value > _POW2_LIMITS[name]:
                raise UserError(
                    f"DeviceSpec {self.name!r}: field {name!r} = {value!r}: expected a positive "
                    f"power of two, at most {_POW2_LIMITS[name]}"
                )
        for name in _TIMING_FIELDS:
            value = self._coerce_int(name)
            minimum = 1 if name in _POSITIVE_TIMINGS else 0
            if value < minimum or value > MAX_TIMING_CYCLES:
                what = "a positive" if minimum else "a non-negative"
                raise UserError(
                    f"DeviceSpec {self.name!r}: field {name!r} = {value!r}: expected {what} "
                    f"integer number of clock cycles, at most {MAX_TIMING_CYCLES} (2**20)"
                )
        self._check_real("tCK", positive=True)
        self._check_real("VDD", positive=True)
        self._check_real("VPP", positive=False)
        for name in _CURRENT_FIELDS:
            self._check_real(name, positive=False)
        if self.bus_width < self.device_width:
            raise UserError(
                f"DeviceSpec {self.name!r}: field 'bus_width' = {self.bus_width}: expected at "
                f"least device_width ({self.device_width})"
            )
        if self.burst_length > self.columns:
            raise UserError(
                f"DeviceSpec {self.name!r}: field 'burst_length' = {self.burst_length}: expected "
                f"at most columns ({self.columns})"
            )
        if self.tREFI <= self.tRFC:
            raise UserError(
                f"DeviceSpec {self.name!r}: field 'tREFI' = {self.tREFI}: expected more than "
                f"tRFC ({self.tRFC}) cycles, or the rank would never leave refresh"
            )
        if self.address_mapping is not None:
            if not isinstance(self.address_mapping, str):
                raise UserError(
                    f"DeviceSpec {self.name!r}: field 'address_mapping' = "
                    f"{self.address_mapping!r}: expected a field string such as 'rochrababgco'"
                )
            from .mapping import AddressMapping  # local: mapping imports this module

            try:
                AddressMapping.from_string(self.address_mapping, self)
            except ValueError as exc:
                raise UserError(
                    f"DeviceSpec {self.name!r}: field 'address_mapping' = "
                    f"{self.address_mapping!r}: {exc}"
                ) from None
        if not isinstance(self.source, str):
            raise UserError(f"DeviceSpec field 'source' = {self.source!r}: expected a string")

    def _coerce_int(self, name: str) -> int:
        """Return the field as a plain ``int`` (accepting numpy ints and integral floats)."""
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise UserError(
                f"DeviceSpec {self.name!r}: field {name!r} = {value!r}: expected an integer"
            )
        if not isinstance(value, numbers.Integral):
            if not float(value).is_integer():
                raise UserError(
                    f"DeviceSpec {self.name!r}: field {name!r} = {value!r}: expected an integer"
                )
        value = int(value)
        object.__setattr__(self, name, value)
        return value

    def _check_real(self, name: str, *, positive: bool) -> None:
        value = getattr(self, name)
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if ok:
            value = float(value)
            ok = math.isfinite(value) and (value > 0 if positive else value >= 0)
        if not ok:
            what = "a positive" if positive else "a non-negative"
            raise UserError(
                f"DeviceSpec {self.name!r}: field {name!r} = {getattr(self, name)!r}: expected "
                f"{what} finite number"
            )
        object.__setattr__(self, name, value)

    # -- derived quantities ------------------------------------------------------------------
    @property
    def banks_per_rank(self) -> int:
        return self.bankgroups * self.banks_per_group

    @property
    def total_banks(self) -> int:
        """Banks per channel: ``ranks * bankgroups * banks_per_group``."""
        return self.ranks * self.bankgroups * self.banks_per_group

    @property
    def burst_cycles(self) -> int:
        """Clock cycles one burst occupies the data bus (double data rate: BL / 2)."""
        return self.burst_length // 2

    @property
    def bytes_per_burst(self) -> int:
        """Bytes one read or write moves over a channel (bus bytes x burst length)."""
        return self.bus_width // 8 * self.burst_length

    @property
    def devices_per_rank(self) -> int:
        return self.bus_width // self.device_width

    @property
    def capacity_bytes(self) -> int:
        """Total bytes over all channels."""
        return (self.channels * self.ranks * self.banks_per_rank * self.rows * self.columns
                * self.bus_width // 8)

    @property
    def row_bytes(self) -> int:
        """Bytes in one row across a rank (the page size the controller sees)."""
        return self.columns * self.bus_width // 8

    @property
    def clock_mhz(self) -> float:
        return 1000.0 / self.tCK

    @property
    def peak_bandwidth_gbps(self) -> float:
        """Peak data bandwidth over all channels in GB/s (1e9 bytes/s): 2 transfers per tCK."""
        return self.channels * (self.bus_width / 8) * 2.0 / self.tCK

    @property
    def tRC(self) -> int:
        """ACT-to-ACT time in the same bank: ``tRAS + tRP``."""
        return self.tRAS + self.tRP

    @property
    def default_mapping(self) -> str:
        """The address-mapping field string to use when none is given."""
        return self.address_mapping or DEFAULT_MAPPING

    # -- conversion --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """All fields as a JSON-ready dict (the preset format)."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> "DeviceSpec":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(DeviceSpec))


# -- loading ---------------------------------------------------------------------------------
def list_devices() -> list[str]:
    """Names of the shipped device presets."""
    folder = resources.files(__package__) / _PRESET_DIR
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def load_device(name_or_path: str | os.PathLike[str] | DeviceSpec) -> DeviceSpec:
    """Return a device: a :class:`DeviceSpec` as is, a preset by name, or a JSON file.

    A file may be preset-style (flat keys named like the :class:`DeviceSpec` fields) or a
    DRAMSys memspec of a DDR3/DDR4 device. Preset names take precedence over same-named files;
    a name matching a preset apart from letter case is accepted.
    """
    if isinstance(name_or_path, DeviceSpec):
        return name_or_path
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise UserError(
            f"cannot load a DRAM device from {name_or_path!r}: expected a preset name, a JSON "
            "path or a DeviceSpec"
        )
    presets = list_devices()
    text = os.fspath(name_or_path)
    if isinstance(name_or_path, str):
        folded = {p.lower(): p for p in presets}
        key = text[:-5] if text.endswith(".json") else text
        if key.lower() in folded:
            preset = folded[key.lower()]
            resource = resources.files(__package__) / _PRESET_DIR / f"{preset}.json"
            return _device_from_json(json.loads(resource.read_text(encoding="utf-8")),
                                     origin=f"preset {preset!r}", default_name=preset)
    path = Path(text)
    if not path.is_file():
        raise UserError(
            f"unknown DRAM device {text!r}: not a preset and no such file; valid presets: "
            f"{', '.join(presets)}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read DRAM device file {str(path)!r}: {exc}") from None
    return _device_from_json(data, origin=f"file {str(path)!r}", default_name=path.stem)


def _device_from_json(data: Any, *, origin: str, default_name: str) -> DeviceSpec:
    if not isinstance(data, dict):
        raise UserError(f"DRAM device {origin}: expected a JSON object")
    if "memspec" in data:
        return device_from_memspec(data, name=None, origin=origin)
    unknown = sorted(set(data) - set(_FIELD_NAMES) - _PRESET_META_KEYS)
    if unknown:
        raise UserError(
            f"DRAM device {origin}: unknown key(s) {', '.join(unknown)}; expected the DeviceSpec "
            f"fields {', '.join(_FIELD_NAMES)} (or a DRAMSys memspec with a 'memspec' key)"
        )
    values = {k: v for k, v in data.items() if k in _FIELD_NAMES}
    values.setdefault("name", default_name)
    if "tRFCpb" not in values and isinstance(values.get("tRFC"), int):
        values["tRFCpb"] = -(-values["tRFC"] // 2)
    missing = [f.name for f in dataclasses.fields(DeviceSpec)
               if f.name not in values and f.default is dataclasses.MISSING]
    if missing:
        raise UserError(f"DRAM device {origin}: missing field(s) {', '.join(missing)}")
    try:
        return DeviceSpec(**values)
    except ValueError as exc:
        raise UserError(f"DRAM device {origin}: {exc}") from None


#: first memspec timing key -> DeviceSpec field (for error messages)
_TIMING_OF = {"RL": "CL", "WL": "CWL", "RCD": "tRCD", "RP": "tRP", "RAS": "tRAS", "RFC": "tRFC",
              "REFI": "tREFI", "RRD_S": "tRRD_S", "RRD_L": "tRRD_L", "WTR_S": "tWTR_S",
              "WTR_L": "tWTR_L", "FAW": "tFAW", "WR": "tWR", "RTP": "tRTP", "CCD_S": "tCCD_S",
              "CCD_L": "tCCD_L"}


def device_from_memspec(memspec: Mapping[str, Any], *, name: str | None = None,
                        origin: str = "memspec") -> DeviceSpec:
    """Convert a parsed DRAMSys memspec (DDR3 or DDR4) into a :class:`DeviceSpec`.

    ``memspec`` is the whole JSON document (with its top-level ``"memspec"`` key) or its
    inner object. The field correspondence is in the module docstring. ``name`` defaults to
    the memspec's ``memoryId``.
    """
    spec = memspec.get("memspec", memspec)
    if not isinstance(spec, Mapping):
        raise UserError(f"DRAMSys {origin}: 'memspec' is not a JSON object")
    standard = str(spec.get("memoryType", ""))
    if standard.upper() not in ("DDR3", "DDR4"):
        raise UserError(
            f"DRAMSys {origin}: memoryType {standard!r} is not supported; expected DDR3 or DDR4"
        )
    standard = standard.upper()

    def section(key: str) -> Mapping[str, Any]:
        value = spec.get(key)
        if not isinstance(value, Mapping):
            raise UserError(f"DRAMSys {origin}: missing section {key!r}")
        return value

    arch, timing, power = section("memarchitecturespec"), section("memtimingspec"), section(
        "mempowerspec")

    def get(table: Mapping[str, Any], sect: str, *keys: str, default: Any = None) -> Any:
        for key in keys:
            if key in table:
                return table[key]
        if default is not None:
            return default
        raise UserError(f"DRAMSys {origin}: missing {sect}.{keys[0]}")

    data_rate = get(arch, "memarchitecturespec", "dataRate", default=2)
    if data_rate != 2:
        raise UserError(
            f"DRAMSys {origin}: memarchitecturespec.dataRate = {data_rate!r}: expected 2 (DDR)"
        )
    bankgroups = int(get(arch, "memarchitecturespec", "nbrOfBankGroups", default=1))
    banks = int(get(arch, "memarchitecturespec", "nbrOfBanks"))
    if bankgroups <= 0 or banks % bankgroups:
        raise UserError(
            f"DRAMSys {origin}: memarchitecturespec.nbrOfBanks = {banks} is not a multiple of "
            f"nbrOfBankGroups = {bankgroups}"
        )
    width = int(get(arch, "memarchitecturespec", "width"))
    devices = arch.get("nbrOfDevicesOnDIMM", arch.get("nbrOfDevices"))
    bus_width = width * int(devices) if devices is not None else 64
    clk_mhz = float(get(timing, "memtimingspec", "clkMhz"))
    if clk_mhz <= 0:
        raise UserError(f"DRAMSys {origin}: memtimingspec.clkMhz = {clk_mhz}: expected > 0")

    used: dict[str, str] = {}  # DeviceSpec field -> the memspec key it came from

    def t(*keys: str) -> Any:
        for key in keys:
            if key in timing:
                used[f"'{_TIMING_OF.get(keys[0], keys[0])}'"] = f"memtimingspec.{key}"
                break
        return get(timing, "memtimingspec", *keys)

    tRFC = t("RFC", "RFC1")
    values: dict[str, Any] = {
        "name": name or str(spec.get("memoryId") or "memspec"),
        "standard": standard,
        "channels": get(arch, "memarchitecturespec", "nbrOfChannels", default=1),
        "ranks": get(arch, "memarchitecturespec", "nbrOfRanks", default=1),
        "bankgroups": bankgroups,
        "banks_per_group": banks // bankgroups,
        "rows": get(arch, "memarchitecturespec", "nbrOfRows"),
        "columns": get(arch, "memarchitecturespec", "nbrOfColumns"),
        "device_width": width,
        "bus_width": bus_width,
        "burst_length": get(arch, "memarchitecturespec", "burstLength"),
        "tCK": 1000.0 / clk_mhz,
        "CL": t("RL", "CL"),
        "CWL": t("WL", "CWL"),
        "tRCD": t("RCD"),
        "tRP": t("RP", "RPAB"),
        "tRAS": t("RAS"),
        "tRFC": tRFC,
        "tREFI": t("REFI"),
        "tRRD_S": t("RRD_S", "RRD"),
        "tRRD_L": t("RRD_L", "RRD"),
        "tWTR_S": t("WTR_S", "WTR"),
        "tWTR_L": t("WTR_L", "WTR"),
        "tFAW": t("FAW"),
        "tWR": t("WR"),
        "tRTP": t("RTP"),
        "tCCD_S": t("CCD_S", "CCD"),
        "tCCD_L": t("CCD_L", "CCD"),
        "tRTRS": get(timing, "memtimingspec", "RTRS", default=1),
        "tRFCpb": timing.get("RFCPB", timing.get("RFCpb", -(-int(tRFC) // 2))),
        "VDD": get(power, "mempowerspec", "vdd"),
        "IDD0": get(power, "mempowerspec", "idd0"),
        "IDD2N": get(power, "mempowerspec", "idd2n"),
        "IDD3N": get(power, "mempowerspec", "idd3n"),
        "IDD4R": get(power, "mempowerspec", "idd4r"),
        "IDD4W": get(power, "mempowerspec", "idd4w"),
        "IDD5AB": get(power, "mempowerspec", "idd5", "idd5ab"),
        "VPP": power.get("vdd2", power.get("vpp", 0.0)),
        "IPP0": power.get("idd02", power.get("ipp0", 0.0)),
        "source": f"converted from DRAMSys {origin}",
    }
    try:
        return DeviceSpec(**values)
    except ValueError as exc:
        message = str(exc)
        for field_name, key in used.items():
            if f"field {field_name} " in message:
                message = f"{key}: {message}"
                break
        raise UserError(f"DRAMSys {origin}: {message}") from None
