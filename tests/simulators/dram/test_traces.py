"""Workloads: shipped traces, trace files in both formats, generators, streaming, errors."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from archgym.simulators.dram.device import load_device
from archgym.simulators.dram.traces import (
    TraceChunk,
    TraceFormatError,
    generate_trace,
    list_workloads,
    load_workload,
    open_workload,
    parse_generator_spec,
    workload_fingerprint,
    write_trace,
)


def chunks_equal(a: TraceChunk, b: TraceChunk) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_shipped_names():
    assert list_workloads() == ["stream", "random", "cloud-1", "cloud-2"]


def test_stream_is_10000_sequential_reads():
    t = load_workload("stream")
    assert t.size == 10_000
    assert t.cycle.dtype == np.int64 and t.is_write.dtype == bool and t.address.dtype == np.uint64
    np.testing.assert_array_equal(t.address, np.arange(10_000, dtype=np.uint64) * 64)
    np.testing.assert_array_equal(t.cycle, np.arange(10_000))
    assert not t.is_write.any()


@pytest.mark.parametrize("name", ["random", "cloud-1", "cloud-2"])
def test_other_shipped_traces(name):
    t = load_workload(name)
    assert t.size == 10_000 and not t.is_write.any()
    assert (np.diff(t.cycle) >= 0).all()
    assert (t.address % 64 == 0).all()
    assert workload_fingerprint(name).startswith(f"{name}:")


def test_first_lines_of_random_trace():
    t = load_workload("random")
    assert [hex(a) for a in t.address[:3].tolist()] == ["0x3b22edc0", "0x2956d100", "0x1cea3900"]


def test_both_formats_parse_the_same(tmp_path: Path):
    stl = tmp_path / "t.stl"
    ds3 = tmp_path / "t.trace"
    stl.write_text("# a comment\n0:\tread\t0x0\n\n3:\twrite\t0x1C0\n"
                   "3:\tread\t0x40\n10:\tread\t0xFFC0\n")
    ds3.write_text("0x0 READ 0\n0x1C0 WRITE 3\n0x40 READ 3\n0xffc0 read 10\n")
    a, b = load_workload(stl), load_workload(ds3)
    assert chunks_equal(a, b)
    np.testing.assert_array_equal(a.cycle, [0, 3, 3, 10])
    np.testing.assert_array_equal(a.is_write, [False, True, False, False])
    np.testing.assert_array_equal(a.address, [0, 0x1C0, 0x40, 0xFFC0])


def test_format_detected_by_content_and_forced(tmp_path: Path):
    path = tmp_path / "noext"
    path.write_text("5: write 0x80\n")
    assert load_workload(path).is_write.tolist() == [True]
    rel = tmp_path / "t.rstl"
    rel.write_text("2:\tread\t0x0\n3:\tread\t0x40\n0:\tread\t0x80\n")
    assert load_workload(rel).cycle.tolist() == [2, 5, 5]
    assert load_workload(path, format="stl").cycle.tolist() == [5]
    with pytest.raises(ValueError, match="trace format"):
        open_workload(path, format="csv")


def test_write_trace_roundtrip(tmp_path: Path):
    g = generate_trace("mixed", 3000, seed=5, read_fraction=0.5, interval=0.7)
    for fmt, name in (("stl", "g.stl"), ("dramsim3", "g.trace")):
        path = tmp_path / name
        assert write_trace(path, g, format=fmt) == 3000
        assert chunks_equal(load_workload(path), g)


@pytest.mark.parametrize(
    "content, lineno, reason",
    [
        ("0:\tread\t0x0\n1:\tread\t0xZZ\n", 2, "bad hex address"),
        ("0:\tread\t0x0\n# c\n2:\tfetch\t0x40\n", 3, "unknown command"),
        ("0:\tread\t0x0\n1:\tread\n", 2, "missing field"),
        ("0:\tread\t0x0\nx:\tread\t0x40\n", 2, "bad cycle"),
        ("5:\tread\t0x0\n4:\tread\t0x40\n", 2, "earlier than the previous"),
        ("0:\tread\t0x0\t64\textra\n", 1, "extra field"),
        ("0:\tread\t0x0\n1:\tread\t-0x40\n", 2, "bad hex address"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, content, lineno, reason):
    path = tmp_path / "bad.stl"
    path.write_text(content)
    with pytest.raises(TraceFormatError) as info:
        load_workload(path)
    err = info.value
    assert err.lineno == lineno
    message = str(err)
    assert str(path) in message and f"line {lineno}" in message and reason in message
    assert content.splitlines()[lineno - 1].strip() in message.replace("\\t", "\t")


def test_malformed_dramsim3_line(tmp_path: Path):
    path = tmp_path / "bad.trace"
    path.write_text("0x0 READ 0\n0x40 READ\n")
    with pytest.raises(TraceFormatError, match=r"line 2"):
        load_workload(path)


def test_error_line_number_across_chunks(tmp_path: Path):
    lines = [f"{i}:\tread\t0x{64 * i:X}" for i in range(250)]
    lines[199] = "199:\tread\tnothex"
    path = tmp_path / "long.stl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceFormatError) as info:
        list(open_workload(path, chunk_size=64))
    assert info.value.lineno == 200


def test_decreasing_cycle_across_chunk_boundary(tmp_path: Path):
    path = tmp_path / "dec.stl"
    path.write_text("".join(f"{c}:\tread\t0x0\n" for c in [0, 1, 2, 3, 2, 5]))
    with pytest.raises(TraceFormatError) as info:
        list(open_workload(path, chunk_size=4))
    assert info.value.lineno == 5


def test_long_requests_are_split_into_bursts(tmp_path: Path):
    path = tmp_path / "len.stl"
    path.write_text("0:\tread\t0x1000\t256\n"
                    "1:\t(128)\twrite\t0x2010\n"
                    "2:\tread\t0x3000\t32\n"
                    "3:\twrite\t0x4000\t0xdeadbeef\n")
    t = load_workload(path)
    np.testing.assert_array_equal(
        t.address, [0x1000, 0x1040, 0x1080, 0x10C0, 0x2000, 0x2040, 0x3000, 0x4000])
    np.testing.assert_array_equal(t.cycle, [0, 0, 0, 0, 1, 1, 2, 3])
    np.testing.assert_array_equal(t.is_write, [False] * 4 + [True, True, False, True])
    # with a device whose burst is 32 B the same 256-B request becomes 8 bursts
    narrow = load_device("DDR4_8Gb_x8_2400").replace(bus_width=32)
    assert narrow.bytes_per_burst == 32
    t32 = load_workload(path, device=narrow)
    assert (t32.cycle == 0).sum() == 8 and (t32.address % 32 == 0).all()


def test_unaligned_addresses_are_aligned_down(tmp_path: Path):
    path = tmp_path / "u.stl"
    path.write_text("0:\tread\t0x7F\n")
    assert load_workload(path).address.tolist() == [0x40]


def test_unknown_workload_lists_shipped_names():
    with pytest.raises(ValueError) as info:
        open_workload("no-such-workload")
    message = str(info.value)
    for name in list_workloads():
        assert name in message
    with pytest.raises(ValueError, match="stream"):
        open_workload(Path("/nonexistent/trace.stl"))


def test_generator_spec_grammar():
    kind, params = parse_generator_spec("gen:random?n=1e3&seed=0x10&read_fraction=0.67")
    assert kind == "random" and params["n"] == 1000 and params["seed"] == 16
    assert params["read_fraction"] == 0.67 and params["interval"] == 1.0
    t = load_workload("gen:random?n=1000&seed=16&read_fraction=0.67")
    assert chunks_equal(t, generate_trace("random", 1000, seed=16, read_fraction=0.67))
    assert load_workload("gen:sequential").size == 10_000
    for bad, message in [
        ("gen:random?nn=5", "unknown key 'nn'"),
        ("gen:random?stride=128", "unknown key 'stride'"),
        ("gen:zigzag", "unknown kind"),
        ("gen:random?n=-1", "'n'"),
        ("gen:random?read_fraction=1.5", "read_fraction"),
        ("gen:random?n", "key=value"),
        ("gen:random?n=1&n=2", "twice"),
    ]:
        with pytest.raises(ValueError, match=message):
            open_workload(bad)


@pytest.mark.parametrize("kind", ["sequential", "random", "strided", "mixed"])
def test_generators_deterministic_per_seed(kind):
    a = generate_trace(kind, 5000, seed=1, read_fraction=0.5)
    b = generate_trace(kind, 5000, seed=1, read_fraction=0.5)
    c = generate_trace(kind, 5000, seed=2, read_fraction=0.5)
    assert chunks_equal(a, b)
    assert not chunks_equal(a, c)
    assert (a.address % 64 == 0).all() and (a.address < 1 << 34).all()
    assert (np.diff(a.cycle) >= 0).all()


def test_generator_shapes():
    seq = generate_trace("sequential", 100, start=4096)
    np.testing.assert_array_equal(seq.address, 4096 + 64 * np.arange(100))
    strided = generate_trace("strided", 100, stride=4096, address_space=1 << 16)
    np.testing.assert_array_equal(strided.address, (4096 * np.arange(100)) % (1 << 16))
    mixed = generate_trace("mixed", 100_000, seed=3, run_length=8)
    sequential_steps = (np.diff(mixed.address.astype(np.int64)) == 64).mean()
    assert 0.85 < sequential_steps < 0.9  # 1 - 1/8 of steps continue the run
    rnd = generate_trace("random", 100_000, seed=3, address_space=1 << 20)
    assert rnd.address.max() < 1 << 20 and len(np.unique(rnd.address)) > 16_000  # of 2**14 bursts


def test_interval_uses_cumulative_floor():
    t = generate_trace("sequential", 8, interval=0.5)
    assert t.cycle.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert generate_trace("sequential", 4, interval=2.5).cycle.tolist() == [0, 2, 5, 7]


def test_read_fraction_statistics_and_address_independence():
    t = generate_trace("random", 100_000, seed=4, read_fraction=0.67)
    assert abs((~t.is_write).mean() - 0.67) < 0.01
    assert not generate_trace("random", 1000, read_fraction=1.0).is_write.any()
    assert generate_trace("random", 1000, read_fraction=0.0).is_write.all()
    u = generate_trace("random", 100_000, seed=4, read_fraction=0.2)
    np.testing.assert_array_equal(t.address, u.address)


def test_generator_chunks_do_not_depend_on_chunk_size():
    spec = "gen:mixed?n=200000&seed=9&read_fraction=0.5"
    small = list(open_workload(spec, chunk_size=1000))
    assert max(c.size for c in small) == 1000
    whole = load_workload(spec)
    assert chunks_equal(TraceChunk(*(np.concatenate(x) for x in zip(*small))), whole)


def test_large_file_is_streamed_in_bounded_chunks(tmp_path: Path):
    path = tmp_path / "big.stl"
    n = 300_000
    spec = f"gen:random?n={n}&seed=1&read_fraction=0.7"
    write_trace(path, open_workload(spec, chunk_size=50_000))
    sizes, total, last = [], 0, -1
    for chunk in open_workload(path, chunk_size=4096):
        sizes.append(chunk.size)
        total += chunk.size
        assert chunk.cycle[0] >= last
        last = int(chunk.cycle[-1])
    assert total == n and max(sizes) <= 4096 and len(sizes) >= n // 4096


@pytest.mark.perf
def test_parsing_is_fast(tmp_path: Path):
    path = tmp_path / "fast.stl"
    write_trace(path, generate_trace("random", 100_000, seed=0, read_fraction=0.5))
    start = time.perf_counter()
    t = load_workload(path)
    elapsed = time.perf_counter() - start
    assert t.size == 100_000
    assert elapsed < 1.0  # ~0.1 s on one laptop core


def test_fingerprints(tmp_path: Path):
    path = tmp_path / "w.stl"
    path.write_text("0:\tread\t0x0\n")
    first = workload_fingerprint(path)
    copy = tmp_path / "renamed.stl"
    copy.write_text("0:\tread\t0x0\n")
    assert workload_fingerprint(copy) == first
    path.write_text("0:\tread\t0x40\n")
    assert workload_fingerprint(path) != first
    assert workload_fingerprint("stream") == workload_fingerprint("stream")
    assert workload_fingerprint("stream") != workload_fingerprint("random")
    a = workload_fingerprint("gen:random?seed=1&n=100")
    assert a == workload_fingerprint("gen:random?n=100&seed=1&read_fraction=1")
    assert a != workload_fingerprint("gen:random?n=100&seed=2")
    assert a.startswith("gen:random?")
