"""Address mapping: DRAMsim3 field strings and DRAMSys CONGEN bit lists."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from archgym.simulators.dram.device import load_device
from archgym.simulators.dram.mapping import FIELDS, AddressMapping, get_mapping, list_mappings

@pytest.fixture(scope="module")
def ddr4():
    return load_device("DDR4_8Gb_x8_2400")


@pytest.fixture(scope="module")
def ddr3():
    return load_device("MICRON_1Gb_DDR3-1600_8bit_G")


def decode_one(mapping, address):
    return dict(zip(FIELDS, (int(v[0]) for v in mapping.decode(np.array([address], np.uint64)))))


def test_dramsim3_layout_by_hand(ddr4):
    m = AddressMapping.from_string("rochrababgco", ddr4)
    # LSB first: 6 offset bits, co [12:6], bg [14:13], ba [16:15], ra [17], ro [33:18]
    assert decode_one(m, 0) == dict.fromkeys(FIELDS, 0)
    assert decode_one(m, 63)["column"] == 0
    assert decode_one(m, 64)["column"] == 1
    assert decode_one(m, 127 * 64)["column"] == 127
    assert decode_one(m, 1 << 13) == {**dict.fromkeys(FIELDS, 0), "bankgroup": 1}
    assert decode_one(m, 3 << 13)["bankgroup"] == 3
    assert decode_one(m, 1 << 15) == {**dict.fromkeys(FIELDS, 0), "bank": 1}
    assert decode_one(m, 1 << 17) == {**dict.fromkeys(FIELDS, 0), "rank": 1}
    assert decode_one(m, 1 << 18) == {**dict.fromkeys(FIELDS, 0), "row": 1}
    assert decode_one(m, (1 << 34) - 1) == dict(channel=0, rank=1, bankgroup=3, bank=3,
                                                 row=65535, column=127)


def test_addresses_wrap_modulo_capacity(ddr4):
    m = AddressMapping.from_string("rochrababgco", ddr4)
    addresses = np.array([5 << 13, (1 << 34) + (5 << 13), (7 << 40) + (5 << 13)], np.uint64)
    decoded = np.stack(m.decode(addresses))
    assert (decoded == decoded[:, :1]).all()


def test_hyphenated_form_is_equivalent(ddr4):
    a = AddressMapping.from_string("rochrababgco", ddr4)
    b = AddressMapping.from_string("row-channel-rank-bank-bankgroup-column", ddr4)
    c = AddressMapping.from_string("ro-ch-ra-ba-bg-co", ddr4)
    assert a == b == c
    assert a.fields == b.fields == "rochrababgco"
    addresses = np.random.default_rng(0).integers(0, 1 << 40, 1000, dtype=np.uint64)
    for x, y in zip(a.decode(addresses), b.decode(addresses)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("fields", ["rochrababgco", "chrobabgraco", "robabgchraco", "cochrabgbaro"])
def test_roundtrip_every_field(ddr4, fields):
    m = AddressMapping.from_string(fields, ddr4)
    rng = np.random.default_rng(1)
    n = 5000
    coords = dict(
        channel=np.zeros(n, np.int64),
        rank=rng.integers(0, ddr4.ranks, n),
        bankgroup=rng.integers(0, ddr4.bankgroups, n),
        bank=rng.integers(0, ddr4.banks_per_group, n),
        row=rng.integers(0, ddr4.rows, n),
        column=rng.integers(0, ddr4.columns // ddr4.burst_length, n),
    )
    addresses = m.encode(**coords)
    assert addresses.dtype == np.uint64
    assert (addresses % ddr4.bytes_per_burst == 0).all()
    assert (addresses < ddr4.capacity_bytes).all()
    for name, got in zip(FIELDS, m.decode(addresses)):
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, coords[name], err_msg=name)
    # and decode -> encode recovers any address's burst-aligned value below the capacity
    random_addresses = rng.integers(0, ddr4.capacity_bytes, n, dtype=np.uint64)
    back = m.encode(*m.decode(random_addresses))
    np.testing.assert_array_equal(back, random_addresses & ~np.uint64(63))


@pytest.mark.parametrize(
    "fields, message",
    [
        ("rorochbabgco", "twice"),
        ("rochrababg", "six two-letter"),
        ("row-channel-rank-bank-column", "missing field"),
        ("rochrababgxx", "unknown field 'xx'"),
        ("row-row-rank-bank-bankgroup-column", "twice"),
    ],
)
def test_bad_field_strings(ddr4, fields, message):
    with pytest.raises(ValueError, match=message):
        AddressMapping.from_string(fields, ddr4)


def test_congen_matches_field_string(ddr3):
    assert "am_ddr3_8x1Gbx8_dimm_p1KB_rbc" in list_mappings()
    shipped = AddressMapping.from_dramsys_json("am_ddr3_8x1Gbx8_dimm_p1KB_rbc", ddr3)
    default = get_mapping(None, ddr3)
    assert shipped == default
    assert shipped.bits["column"] == tuple(range(6, 13))
    assert shipped.bits["bank"] == (13, 14, 15)
    assert shipped.bits["row"] == tuple(range(16, 30))
    addresses = np.random.default_rng(2).integers(0, 1 << 32, 10000, dtype=np.uint64)
    for x, y in zip(shipped.decode(addresses), default.decode(addresses)):
        np.testing.assert_array_equal(x, y)


def test_congen_wrong_width_and_xor(tmp_path: Path, ddr3):
    good = {"CONGEN": {"BYTE_BIT": [0, 1, 2], "COLUMN_BIT": list(range(3, 13)),
                       "BANK_BIT": [13, 14, 15], "ROW_BIT": list(range(16, 30))}}
    bad = json.loads(json.dumps(good))
    bad["CONGEN"]["BANK_BIT"] = [13, 14]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="'bank' has 2 bit"):
        AddressMapping.from_dramsys_json(path, ddr3)
    hashed = json.loads(json.dumps(good))
    hashed["CONGEN"]["XOR"] = [{"FIRST": 13, "SECOND": 16}]
    path.write_text(json.dumps(hashed))
    m = AddressMapping.from_dramsys_json(path, ddr3)
    assert m.fields.startswith("bits:")
    assert AddressMapping.from_string(m.fields, ddr3) == m
    # bank bit 0 = address bit 13 XOR address bit 16 (row bit 0)
    assert decode_one(m, 1 << 16)["bank"] == 1 and decode_one(m, 1 << 16)["row"] == 1
    assert decode_one(m, (1 << 16) | (1 << 13))["bank"] == 0
    rng = np.random.default_rng(3)
    coords = [rng.integers(0, 2, 100) * 0, np.zeros(100, np.int64), np.zeros(100, np.int64),
              rng.integers(0, 8, 100), rng.integers(0, 16384, 100), rng.integers(0, 128, 100)]
    for got, want in zip(m.decode(m.encode(*coords)), coords):
        np.testing.assert_array_equal(got, want)


def test_get_mapping_forms(ddr4):
    default = get_mapping(None, ddr4)
    assert default.fields == "rochrababgco"
    assert get_mapping("row-channel-rank-bank-bankgroup-column", ddr4) == default
    assert get_mapping(default, ddr4) is default
    with pytest.raises(ValueError, match="built for device"):
        get_mapping(default, load_device("MICRON_1Gb_DDR3-1600_8bit_G"))


def test_repr_is_readable(ddr4):
    text = repr(AddressMapping.from_string("rochrababgco", ddr4))
    assert "rochrababgco" in text and "ro=[33:18]" in text and "co=[12:6]" in text


@pytest.mark.perf
def test_decode_is_fast(ddr4):
    m = AddressMapping.from_string("rochrababgco", ddr4)
    addresses = np.random.default_rng(4).integers(0, 1 << 40, 1_000_000, dtype=np.uint64)
    start = time.perf_counter()
    m.decode(addresses)
    assert time.perf_counter() - start < 1.0  # ~20 ms on a laptop core


def test_decode_rejects_negative(ddr4):
    m = AddressMapping.from_string("rochrababgco", ddr4)
    with pytest.raises(ValueError, match="non-negative"):
        m.decode(np.array([-64]))
    assert [int(v[0]) for v in m.decode([64])][-1] == 1
