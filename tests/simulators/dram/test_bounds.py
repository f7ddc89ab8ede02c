"""Bounded inputs (issue 10, section 7.6/7.7): traces, devices and mcconfig files that would make
a simulation run forever or allocate gigabytes are refused with an error naming the file and
line or field; long requests are expanded lazily."""

from __future__ import annotations

import json

import numpy as np
import pytest

from archgym.simulators.dram import DRAMSimulator, load_device
from archgym.simulators.dram.config import ControllerConfig
from archgym.simulators.dram.engine import decode_chunk
from archgym.simulators.dram.mapping import get_mapping
from archgym.simulators.dram.traces import MAX_TRACE_CYCLE, TraceChunk, open_workload

DDR3 = "MICRON_1Gb_DDR3-1600_8bit_G"


def test_trace_cycle_beyond_the_bound_names_file_and_line(tmp_path):
    path = tmp_path / "late.stl"
    path.write_text(f"0:\tread\t0x0\n{10**18}:\tread\t0x40\n")
    with pytest.raises(ValueError, match=r"late\.stl, line 2: cycle 1000000000000000000 is beyond"):
        DRAMSimulator(DDR3).evaluate({}, str(path))
    path.write_text(f"0:\tread\t0x0\n{MAX_TRACE_CYCLE}:\tread\t0x40\n")  # the bound itself is fine
    assert DRAMSimulator(DDR3).evaluate({"RefreshPolicy": "NoRefresh"}, str(path))["reads"] == 2


def test_in_memory_chunk_cycle_bound():
    d = load_device(DDR3)
    chunk = TraceChunk(np.array([0, MAX_TRACE_CYCLE + 1], np.int64), np.zeros(2, bool),
                       np.zeros(2, np.uint64))
    with pytest.raises(ValueError, match="beyond the supported maximum"):
        decode_chunk(d, get_mapping(None, d), chunk)


def test_request_length_bound_names_file_and_line(tmp_path):
    path = tmp_path / "huge.stl"
    path.write_text("0:\tread\t0x0\n1:\tread\t0x40\t16777216\n")
    with pytest.raises(ValueError, match=r"huge\.stl, line 2: request length 16777216 exceeds"):
        list(open_workload(str(path)))


def test_long_requests_expand_lazily_in_bounded_chunks(tmp_path):
    # 2,000 requests of 1 MiB = 32.8 M bursts; expanded eagerly that is ~0.5 GB of arrays
    path = tmp_path / "long.stl"
    path.write_text("".join(f"{i}:\tread\t0x{i * 64:x}\t1048576\n" for i in range(2000)))
    stream = open_workload(str(path), chunk_size=4096)
    first = next(stream)
    assert first.size <= 16384  # one 1 MiB request (16,384 bursts) at most
    assert np.all(np.diff(first.address.astype(np.int64)) == 64)
    sim = DRAMSimulator(DDR3, max_requests=500)
    assert sim.evaluate({}, str(path))["reads"] == 500


def _memspec(tmp_path, **timing):
    from .test_device import MEMSPEC_DDR3

    spec = json.loads(json.dumps(MEMSPEC_DDR3))
    spec["memspec"]["memtimingspec"].update(timing)
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def test_device_timing_bound_names_file_and_memspec_key(tmp_path):
    path = _memspec(tmp_path, RL=10**12, CL=10**12)
    with pytest.raises(ValueError, match=r"spec\.json.*memtimingspec\.RL.*'CL' = 1000000000000.*at most"):
        load_device(str(path))


def test_preset_style_device_bounds():
    d = load_device(DDR3)
    with pytest.raises(ValueError, match=r"field 'tREFI' = 2000000: .*at most 1048576"):
        d.replace(tREFI=2_000_000)
    with pytest.raises(ValueError, match=r"field 'channels' = 1024: .*at most 64"):
        d.replace(channels=1024)


def test_mcconfig_loader_names_file_and_field(tmp_path):
    path = tmp_path / "mc.json"
    path.write_text(json.dumps({"mcconfig": {"PagePolicy": "Closed", "CmdMux": "Oldest",
                                             "RequestBufferSize": 16}}))
    config = ControllerConfig.from_mcconfig(path)
    assert config.PagePolicy == "Closed" and config.RequestBufferSize == 16
    for field, value, words in (("Scheduler", "Lottery", "expected one of Fifo"),
                                ("RequestBufferSize", 3, "expected one of 1, 2, 4"),
                                ("RequestBufferSize", "8", "expected one of"),
                                ("CmdMux", "Strict", "models only 'Oldest'"),
                                ("Turbo", True, "not modelled")):
        path.write_text(json.dumps({"mcconfig": {field: value}}))
        with pytest.raises(ValueError, match=rf"mc\.json.*field '{field}'.*{words}"):
            ControllerConfig.from_mcconfig(path)
