"""DRAM device presets, validation and DRAMSys memspec conversion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archgym.simulators.dram.device import (
    DEFAULT_MAPPING,
    DeviceSpec,
    device_from_memspec,
    list_devices,
    load_device,
)

DDR4 = "DDR4_8Gb_x8_2400"
DDR3 = "MICRON_1Gb_DDR3-1600_8bit_G"
MEMSPEC_DDR3 = {
    "memspec": {
        "memarchitecturespec": {"burstLength": 8, "dataRate": 2, "nbrOfBanks": 8,
                                "nbrOfColumns": 1024, "nbrOfRanks": 1, "nbrOfRows": 16384,
                                "width": 8, "nbrOfDevicesOnDIMM": 8, "nbrOfChannels": 1},
        "memoryId": "MICRON_1Gb_DDR3-1600_8bit_G",
        "memoryType": "DDR3",
        "mempowerspec": {"idd0": 70.0, "idd2n": 45.0, "idd3n": 45.0, "idd4r": 140.0,
                         "idd4w": 145.0, "idd5": 170.0, "vdd": 1.5},
        "memtimingspec": {"AL": 0, "CCD": 4, "CL": 10, "FAW": 24, "RAS": 28, "RC": 38,
                          "RCD": 10, "REFI": 6240, "RFC": 88, "RL": 10, "RP": 10, "RRD": 5,
                          "RTP": 6, "WL": 8, "WR": 12, "WTR": 6, "RTRS": 1, "clkMhz": 800},
    }
}


def test_presets_listed():
    names = list_devices()
    assert DDR4 in names and DDR3 in names
    assert "JEDEC_4Gb_DDR4-2400_8bit_A" in names


def test_ddr4_preset_has_dramsim3_figures():
    d = load_device(DDR4)
    expected = dict(
        standard="DDR4", channels=1, ranks=2, bankgroups=4, banks_per_group=4, rows=65536,
        columns=1024, device_width=8, bus_width=64, burst_length=8, tCK=0.83, CL=17, CWL=12,
        tRCD=17, tRP=17, tRAS=39, tRFC=420, tREFI=9360, tRRD_S=4, tRRD_L=6, tWTR_S=3,
        tWTR_L=9, tFAW=26, tWR=18, tRTP=9, tCCD_S=4, tCCD_L=6, tRTRS=1, VDD=1.2, IDD0=48,
        IDD2N=34, IDD3N=43, IDD4R=135, IDD4W=123, IDD5AB=250, IPP0=3.0, VPP=2.5,
    )
    for field, value in expected.items():
        assert getattr(d, field) == value, field
    assert d.default_mapping == "rochrababgco"
    assert "DRAMsim3" in d.source
    assert d.capacity_bytes == 16 * 2**30
    assert d.banks_per_rank == 16 and d.total_banks == 32
    assert d.bytes_per_burst == 64 and d.burst_cycles == 4 and d.devices_per_rank == 8
    assert d.tRC == 56
    assert d.peak_bandwidth_gbps == pytest.approx(8 * 2 / 0.83)
    assert 0 < d.tRFCpb < d.tRFC


def test_ddr3_preset_matches_archgym_device():
    d = load_device(DDR3)
    assert (d.standard, d.CL, d.CWL, d.tRCD, d.tRP, d.tCK) == ("DDR3", 10, 8, 10, 10, 1.25)
    assert (d.bankgroups, d.banks_per_group, d.total_banks) == (1, 8, 8)
    assert (d.tRRD_S, d.tRRD_L, d.tWTR_S, d.tWTR_L, d.tCCD_S, d.tCCD_L) == (5, 5, 6, 6, 4, 4)
    assert (d.IDD5AB, d.IDD0, d.VDD) == (170.0, 70.0, 1.5)
    assert d.capacity_bytes == 2**30
    assert d.bus_width == 64
    assert d.default_mapping == "rochrabgbaco"


def test_memspec_conversion(tmp_path: Path):
    path = tmp_path / "micron.json"
    path.write_text(json.dumps(MEMSPEC_DDR3))
    d = load_device(path)
    assert d.name == "MICRON_1Gb_DDR3-1600_8bit_G"
    assert (d.CL, d.tRCD, d.tCK, d.banks_per_rank) == (10, 10, 1.25, 8)
    assert d.tRFCpb == 44  # ceil(88 / 2), the documented estimate
    preset = load_device(DDR3)
    # same figures as the preset; the preset additionally names ArchGym's address mapping
    assert d.replace(name=preset.name, address_mapping=preset.address_mapping) == preset


def test_memspec_ddr4_bankgroups_and_vpp():
    memspec = json.loads(json.dumps(MEMSPEC_DDR3))
    spec = memspec["memspec"]
    spec["memoryType"] = "DDR4"
    spec["memarchitecturespec"].update(nbrOfBankGroups=4, nbrOfBanks=16)
    spec["memtimingspec"].update(RRD_S=4, RRD_L=6, CCD_S=4, CCD_L=6, WTR_S=3, WTR_L=9)
    spec["mempowerspec"].update(vdd2=2.5, idd02=4.05)
    d = device_from_memspec(memspec, name="ddr4")
    assert (d.bankgroups, d.banks_per_group) == (4, 4)
    assert (d.tRRD_S, d.tRRD_L, d.tCCD_L, d.tWTR_L) == (4, 6, 6, 9)
    assert (d.VPP, d.IPP0) == (2.5, 4.05)


def test_memspec_rejects_other_standards_and_missing_fields():
    memspec = json.loads(json.dumps(MEMSPEC_DDR3))
    memspec["memspec"]["memoryType"] = "LPDDR4"
    with pytest.raises(ValueError, match="LPDDR4"):
        device_from_memspec(memspec)
    memspec["memspec"]["memoryType"] = "DDR3"
    del memspec["memspec"]["memtimingspec"]["RCD"]
    with pytest.raises(ValueError, match="memtimingspec.RCD"):
        device_from_memspec(memspec)


def test_preset_style_json_roundtrip(tmp_path: Path):
    d = load_device(DDR4)
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(d.replace(name="mine", tCK=0.75).to_dict()))
    mine = load_device(path)
    assert mine.name == "mine" and mine.tCK == 0.75 and mine.CL == d.CL


def test_preset_style_json_unknown_key(tmp_path: Path):
    data = load_device(DDR4).to_dict()
    data["tRCDD"] = 3
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="tRCDD"):
        load_device(path)


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(ValueError) as info:
        load_device("DDR9_nope")
    assert "DDR9_nope" in str(info.value) and DDR4 in str(info.value) and DDR3 in str(info.value)


def test_load_device_passthrough_and_case_insensitive():
    d = load_device(DDR4)
    assert load_device(d) is d
    assert load_device(DDR4.lower()) == d


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("banks_per_group", 3, "power of two"),
        ("rows", 0, "power of two"),
        ("ranks", -2, "power of two"),
        ("tRCD", 0, "positive"),
        ("tRTRS", -1, "non-negative"),
        ("CL", 16.5, "integer"),
        ("tCK", 0.0, "positive"),
        ("IDD0", -1.0, "non-negative"),
        ("tREFI", 100, "tRFC"),
        ("address_mapping", "rorochbabgco", "twice"),
        ("burst_length", 2048, "at most 64"),
    ],
)
def test_validation_names_field_value_and_expectation(field, value, expected):
    with pytest.raises(ValueError) as info:
        load_device(DDR4).replace(**{field: value})
    message = str(info.value)
    assert repr(field) in message and str(value) in message and expected in message


def test_integral_values_are_coerced_to_int():
    d = load_device(DDR4).replace(CL=18.0)
    assert d.CL == 18 and isinstance(d.CL, int)


def test_default_mapping_fallback():
    d = load_device(DDR4).replace(address_mapping=None)
    assert d.default_mapping == DEFAULT_MAPPING


def test_every_preset_loads_and_is_consistent():
    for name in list_devices():
        d = load_device(name)
        assert isinstance(d, DeviceSpec) and d.name == name
        assert d.source
        assert d.capacity_bytes & (d.capacity_bytes - 1) == 0
