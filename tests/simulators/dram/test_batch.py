"""The population driver: deduplicated batches equal the unduplicated run, design by design."""

from __future__ import annotations

import numpy as np
import pytest

from archgym.simulator import SimulationError
from archgym.simulators.dram import batch as B
from archgym.simulators.dram import engine as E
from archgym.simulators.dram.config import ControllerConfig
from archgym.simulators.dram.device import load_device
from archgym.simulators.dram.mapping import get_mapping
from archgym.simulators.dram.traces import generate_trace

DDR4 = "DDR4_8Gb_x8_2400"
FIELDS = ("sim_cycles", "reads", "writes", "read_latency_sum", "write_latency_sum",
          "read_latency_max", "write_latency_max", "backpressure_sum", "activates", "precharges",
          "precharge_all", "refreshes_all_bank", "refreshes_per_bank", "row_hits",
          "read_commands", "write_commands", "steps")


def state(r: E.EngineResult) -> tuple:
    return (tuple(getattr(r, f) for f in FIELDS), tuple(r.active_cycles),
            r.read_histogram.tobytes(), r.write_histogram.tobytes())


def population() -> list[ControllerConfig]:
    """Designs that differ only in knobs another knob makes irrelevant, plus ones that matter."""
    out = []
    for base in ({"Scheduler": "FrFcfs", "RequestBufferSize": 4},
                 {"Scheduler": "FrFcfsGrp", "SchedulerBuffer": "Shared", "RequestBufferSize": 8}):
        for maxact in (1, 16, 128):  # irrelevant under the Simple arbiter
            out.append(ControllerConfig(**base, Arbiter="Simple", MaxActiveTransactions=maxact))
        for post, pull in ((1, 1), (8, 2), (4, 8)):  # irrelevant without refresh
            out.append(ControllerConfig(**base, RefreshPolicy="NoRefresh",
                                        RefreshMaxPostponed=post, RefreshMaxPulledin=pull))
        for maxact in (1, 16):  # relevant: the Fifo arbiter limits requests in flight
            out.append(ControllerConfig(**base, Arbiter="Fifo", MaxActiveTransactions=maxact))
    return out


@pytest.fixture(scope="module")
def setup():
    d = load_device(DDR4)
    trace = generate_trace("random", 3000, seed=2, read_fraction=0.7, interval=2.0,
                           address_space=d.capacity_bytes)
    return d, get_mapping(None, d), [trace]


def test_behaviour_key_merges_only_irrelevant_knobs(setup):
    d, m, _ = setup
    keys = [B.behaviour_key(E.Engine(d, c, m)) for c in population()]
    # per base design: one Simple group, one NoRefresh group, two distinct Fifo designs
    assert len(set(keys)) == 2 * 4
    assert keys[0] == keys[1] == keys[2] and keys[3] == keys[4] == keys[5]
    assert keys[6] != keys[7] and keys[0] != keys[3]


def test_deduplicated_batch_equals_unduplicated_and_single_runs(setup):
    d, m, chunks = setup
    configs = population()
    merged = B.simulate_batch(d, configs, m, chunks, workers=2)
    plain = B.simulate_batch(d, configs, m, chunks, dedupe=False)
    singles = [E.simulate_chunks(d, c, m, chunks) for c in configs]
    assert [state(r) for r in merged] == [state(r) for r in plain] == [state(r) for r in singles]
    assert merged[0] is merged[1] is merged[2]  # simulated once
    assert plain[0] is not plain[1]


def test_a_batch_on_a_decoded_trace_equals_one_on_its_chunks(setup, monkeypatch):
    """decoded= (the simulator's decoded-trace cache) replaces decoding: same results, chunks
    never read, and a failed leader's group re-runs on the same decoded arrays."""
    d, m, chunks = setup
    configs = population()
    decoded = B.decode_trace(d, m, chunks)
    expected = [state(r) for r in B.simulate_batch(d, configs, m, chunks, workers=2)]
    monkeypatch.setattr(B, "decode_chunk", lambda *a, **k: pytest.fail("decoded again"))
    assert [state(r) for r in B.simulate_batch(d, configs, m, None, workers=2, decoded=decoded)] == expected
    assert [state(r) for r in B.simulate_batch(d, configs, m, iter(()), decoded=decoded)] == expected


def test_the_thread_pool_is_kept_per_process_and_size(setup):
    d, m, chunks = setup
    B.simulate_batch(d, population()[:4], m, chunks, workers=2)
    pool = B._thread_pool(2)
    assert B._thread_pool(2) is pool and B._thread_pool(3) is not pool
    B._POOLS[2] = (-1, pool)  # as a forked child inherits it: that process starts its own
    assert B._thread_pool(2) is not pool


def test_failed_leader_falls_back_to_individual_runs(setup, monkeypatch):
    """The member with the smallest watchdog runs for its group; if it fails, the others are
    simulated on their own and keep their own (successful) results."""
    d, m, chunks = setup

    class TightWatchdog(E.Engine):
        def __init__(self, device, config, mapping, **kw):
            super().__init__(device, config, mapping, **kw)
            if config.RefreshMaxPostponed == 1:
                self.P[E.P_WATCHDOG] = 5  # far below any real request latency

    monkeypatch.setattr(B, "Engine", TightWatchdog)
    configs = [ControllerConfig(RefreshPolicy="NoRefresh", RefreshMaxPostponed=p) for p in (8, 1, 4)]
    results = B.simulate_batch(d, configs, m, chunks)
    assert isinstance(results[1], SimulationError) and "watchdog" in str(results[1])
    expected = state(E.simulate_chunks(d, configs[0], m, chunks))
    assert state(results[0]) == state(results[2]) == expected


def test_bad_trace_fails_the_whole_batch(setup):
    d, m, _ = setup
    bad = generate_trace("random", 100, seed=1)
    bad = type(bad)(bad.cycle[::-1].copy(), bad.is_write, bad.address)
    if np.all(np.diff(bad.cycle) == 0):
        pytest.skip("trace without distinct cycles")
    with pytest.raises(ValueError, match="non-decreasing"):
        B.simulate_batch(d, [ControllerConfig()], m, [bad])
