"""DRAMSimulator: the Simulator contract, metrics, every knob (smoke + effect), workloads."""

from __future__ import annotations

import math

import numpy as np
import pytest

from archgym.simulator import Metric, SimulationError, Simulator
from archgym.simulators.dram import (
    KNOB_VALUES,
    ControllerConfig,
    DRAMSimulator,
    TraceChunk,
    generate_trace,
    load_device,
)
from archgym.simulators.dram import simulator as simulator_module
from archgym.simulators.dram.mapping import get_mapping

DDR4 = "DDR4_8Gb_x8_2400"
REQUIRED = ("avg_read_latency_ns", "avg_read_latency_cycles", "p99_read_latency_ns",
            "p99_read_latency_cycles", "bandwidth_gbps", "row_hit_rate", "energy_nj",
            "avg_power_mw", "sim_cycles", "sim_time_ns", "reads", "writes",
            "avg_write_latency_ns", "refreshes", "activates")
SMOKE = "gen:mixed?n=1500&seed=2&read_fraction=0.6&interval=2&address_space=67108864"


@pytest.fixture(scope="module")
def sim() -> DRAMSimulator:
    return DRAMSimulator(DDR4)


def test_contract(sim):
    assert isinstance(sim, Simulator)
    assert sim.name == "dram" and isinstance(sim.version, str) and sim.version
    assert all(isinstance(m, Metric) for m in sim.metrics)
    names = sim.metric_names
    assert set(REQUIRED) <= set(names)
    assert sim.metric("bandwidth_gbps").goal == "maximize"
    assert sim.metric("row_hit_rate").goal == "maximize"
    assert sim.metric("avg_read_latency_ns").goal == "minimize"


def test_evaluate_returns_every_declared_metric_as_finite_float(sim):
    m = sim.evaluate({}, SMOKE)
    assert set(m) == set(sim.metric_names)
    assert all(isinstance(v, float) and math.isfinite(v) for v in m.values())
    assert m["reads"] + m["writes"] == 1500
    assert m["sim_time_ns"] == pytest.approx(m["sim_cycles"] * sim.device.tCK)
    assert m["avg_read_latency_ns"] == pytest.approx(m["avg_read_latency_cycles"] * sim.device.tCK)
    assert m["p99_read_latency_cycles"] >= m["avg_read_latency_cycles"] * 0.5
    # power is over DRAMPower's energy window, which ends within a few cycles of the last response
    assert m["avg_power_mw"] == pytest.approx(m["energy_nj"] / m["sim_time_ns"] * 1e3, rel=1e-3)
    assert 0.0 <= m["row_hit_rate"] <= 1.0
    assert 0.0 < m["bandwidth_gbps"] <= sim.device.peak_bandwidth_gbps


def test_deterministic(sim):
    design = {"PagePolicy": "OpenAdaptive", "Scheduler": "FrFcfsGrp", "Arbiter": "Reorder"}
    assert sim.evaluate(design, SMOKE) == sim.evaluate(design, SMOKE)


def test_chunk_size_does_not_change_results():
    a = DRAMSimulator(DDR4, chunk_size=97).evaluate({}, SMOKE)
    b = DRAMSimulator(DDR4, chunk_size=1 << 16).evaluate({}, SMOKE)
    assert a == b


def test_bad_designs_raise_value_error(sim):
    with pytest.raises(ValueError, match="PagePolicy"):
        sim.evaluate({"PagePolicy": "Sometimes"}, SMOKE)
    with pytest.raises(ValueError, match="unknown"):
        sim.evaluate({"Banana": 1}, SMOKE)
    with pytest.raises(ValueError):
        sim.evaluate({"RequestBufferSize": 3}, SMOKE)


def test_engine_failure_becomes_simulation_error(sim, monkeypatch):
    def broken(*args, **kwargs):
        raise IndexError("boom")

    monkeypatch.setattr(simulator_module, "simulate_chunks", broken)
    monkeypatch.setattr(simulator_module, "simulate_decoded", broken)  # a named workload's path
    with pytest.raises(SimulationError, match="boom"):
        sim.evaluate({}, SMOKE)


def test_repeated_evaluations_reuse_the_decoded_trace_and_forget_it_on_a_new_mapping(monkeypatch):
    sim = DRAMSimulator(DDR4)
    first = sim.evaluate({}, SMOKE)
    calls = []
    real = simulator_module.decode_trace
    monkeypatch.setattr(simulator_module, "decode_trace", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert sim.evaluate({}, SMOKE) == first and calls == []  # decoded once, kept
    assert sim.evaluate({}, SMOKE) == DRAMSimulator(DDR4, kernel="compiled").simulate(
        {}, list(DRAMSimulator(DDR4)._decoded(SMOKE))).metrics  # same as feeding the chunks
    sim.mapping = get_mapping("rochrababgco", sim.device)
    sim.evaluate({}, SMOKE)
    assert calls == [1]  # the old decoding was dropped with the old mapping


def test_max_requests_truncates():
    m = DRAMSimulator(DDR4, max_requests=321).evaluate({}, SMOKE)
    assert m["reads"] + m["writes"] == 321


def test_trace_chunks_and_shipped_workloads():
    sim = DRAMSimulator("MICRON_1Gb_DDR3-1600_8bit_G", max_requests=2000)
    for workload in ("stream", "random", "cloud-1", "cloud-2"):
        m = sim.evaluate({}, workload)
        assert m["reads"] == 2000
    trace = generate_trace("sequential", 500)
    result = sim.simulate(ControllerConfig(), trace, record_commands=True)
    assert result.metrics["reads"] == 500 and len(result.commands) > 500


def test_decoded_traces_are_reused_and_refreshed_when_the_file_changes(tmp_path, monkeypatch):
    from archgym.simulators.dram import traces as traces_module

    trace = tmp_path / "t.stl"
    trace.write_text("".join(f"{4 * i}:\tread\t0x{64 * i:x}\n" for i in range(200)))
    opened = []
    real_open = simulator_module.open_workload
    monkeypatch.setattr(simulator_module, "open_workload", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    sim = DRAMSimulator(DDR4)
    first = sim.evaluate({}, str(trace))
    assert sim.evaluate({}, str(trace)) == first and len(opened) == 1  # parsed once
    assert DRAMSimulator(DDR4).evaluate({}, str(trace)) == first  # a fresh simulator (parses again) agrees
    cached = sim._trace_cache[traces_module.workload_fingerprint(str(trace))]
    with pytest.raises(ValueError):  # kept requests cannot be modified by a later evaluation
        cached[0].address[0] = 0
    trace.write_text("".join(f"{4 * i}:\twrite\t0x{64 * i:x}\n" for i in range(200)))
    edited = sim.evaluate({}, str(trace))
    assert len(opened) == 3 and edited["writes"] == 200 and edited["reads"] == 0
    import pickle

    assert not pickle.loads(pickle.dumps(sim))._trace_cache  # decoded traces stay in their process


def test_trace_cache_keeps_only_max_requests_and_respects_its_limit(monkeypatch):
    sim = DRAMSimulator(DDR4, max_requests=300, chunk_size=100)
    sim.evaluate({}, SMOKE)
    assert sum(c.size for c in next(iter(sim._trace_cache.values()))) == 300  # not the trace's 1,500
    monkeypatch.setattr(DRAMSimulator, "TRACE_CACHE_REQUESTS", 1000)
    small = DRAMSimulator(DDR4)
    full = small.evaluate({}, SMOKE)  # 1,500 requests > the limit: streamed, not kept
    assert not small._trace_cache and full["reads"] + full["writes"] == 1500


@pytest.mark.parametrize("design", [{}, {"Arbiter": "Fifo"}, {"Arbiter": "Reorder", "RespQueue": "Reorder"},
                                    {"PagePolicy": "Closed", "SchedulerBuffer": "Shared"}])
def test_single_read_metrics(sim, design):
    d = sim.device
    one = TraceChunk(np.zeros(1, np.int64), np.zeros(1, bool), np.zeros(1, np.uint64))
    m = sim.evaluate(design, one)
    assert m["avg_read_latency_cycles"] == d.tRCD + d.CL + d.burst_cycles
    assert m["p99_read_latency_cycles"] == d.tRCD + d.CL + d.burst_cycles
    assert m["bandwidth_gbps"] == pytest.approx(64 / ((d.tRCD + d.CL + d.burst_cycles) * d.tCK))


def test_closed_page_row_hit_rate_is_zero(sim):
    m = sim.evaluate({"PagePolicy": "Closed"}, "gen:sequential?n=3000")
    assert m["row_hit_rate"] == 0.0
    assert sim.evaluate({"PagePolicy": "Open"}, "gen:sequential?n=3000")["row_hit_rate"] > 0.95


# -- every knob value runs (and drains) on a short trace --------------------------------------
@pytest.mark.parametrize("knob,value", [(k, v) for k, vs in KNOB_VALUES.items() for v in vs])
def test_every_knob_value_runs(sim, knob, value):
    design = {knob: value}
    if knob == "MaxActiveTransactions":
        design["Arbiter"] = "Fifo"  # only the Fifo/Reorder arbiters use it (as in DRAMSys)
    m = sim.evaluate(design, SMOKE)
    assert m["reads"] + m["writes"] == 1500


@pytest.mark.parametrize("seed", range(4))
def test_random_designs_drain(sim, seed):
    rng = np.random.default_rng(seed)
    for _ in range(10):
        design = {k: vs[rng.integers(len(vs))] for k, vs in KNOB_VALUES.items()}
        m = sim.evaluate(design, SMOKE)
        assert m["reads"] + m["writes"] == 1500, design


# -- every knob changes behaviour where DRAMSys' does -----------------------------------------
# (knob, value a, value b, base design, workload, metric that must differ)
BURSTY = "gen:mixed?n=6000&seed=4&read_fraction=0.7&interval=40&run_length=4"
DENSE = "gen:random?n=4000&seed=1&read_fraction=0.67&interval=1"
CONFLICTS = "gen:mixed?n=4000&seed=5&read_fraction=0.6&interval=2&address_space=16777216&run_length=3"


def _two_rows_one_bank() -> TraceChunk:
    """Two interleaved sequential streams in different rows of one bank: FR-FCFS serves each
    row's hits together, FIFO alternates rows (a miss every access)."""
    d = load_device(DDR4)
    from archgym.simulators.dram.mapping import get_mapping

    m = get_mapping(None, d)
    i = np.arange(2000)
    addr = m.encode(row=i % 2, column=(i // 2) % 64)
    return TraceChunk(i.astype(np.int64), np.zeros(i.size, bool), addr)


def _bursts_with_idle_gaps() -> TraceChunk:
    """Bursts of 300 requests separated by 30,000 idle cycles (> 3 tREFI)."""
    parts = [generate_trace("random", 300, seed=s, read_fraction=0.7, address_space=1 << 30)
             for s in range(8)]
    return TraceChunk(np.concatenate([p.cycle + k * 30000 for k, p in enumerate(parts)]),
                      np.concatenate([p.is_write for p in parts]),
                      np.concatenate([p.address for p in parts]))


TWO_ROWS = _two_rows_one_bank()
IDLE_GAPS = _bursts_with_idle_gaps()
EFFECTS = [
    ("PagePolicy", "Open", "Closed", {}, SMOKE, "row_hit_rate"),
    ("PagePolicy", "Open", "OpenAdaptive", {}, CONFLICTS, "avg_read_latency_cycles"),
    ("PagePolicy", "Closed", "ClosedAdaptive", {}, CONFLICTS, "row_hit_rate"),
    ("Scheduler", "Fifo", "FrFcfs", {}, TWO_ROWS, "row_hit_rate"),
    ("Scheduler", "FrFcfs", "FrFcfsGrp", {}, CONFLICTS, "avg_read_latency_cycles"),
    ("SchedulerBuffer", "Bankwise", "Shared", {}, DENSE, "avg_read_latency_cycles"),
    ("SchedulerBuffer", "Bankwise", "ReadWrite", {}, DENSE, "avg_read_latency_cycles"),
    ("RequestBufferSize", 1, 8, {}, DENSE, "bandwidth_gbps"),
    ("RespQueue", "Fifo", "Reorder", {}, DENSE, "avg_read_latency_cycles"),
    ("RefreshPolicy", "AllBank", "PerBank", {}, BURSTY, "refreshes"),
    ("RefreshPolicy", "AllBank", "NoRefresh", {}, BURSTY, "refreshes"),
    ("RefreshMaxPostponed", 1, 8, {}, "gen:random?n=30000&seed=3&interval=1", "refreshes"),
    ("RefreshMaxPulledin", 1, 8, {}, IDLE_GAPS, "refreshes"),
    ("Arbiter", "Simple", "Fifo", {}, DENSE, "avg_read_latency_cycles"),
    ("Arbiter", "Fifo", "Reorder", {"RespQueue": "Fifo"}, DENSE, "avg_read_latency_cycles"),
    ("MaxActiveTransactions", 1, 128, {"Arbiter": "Fifo"}, DENSE, "bandwidth_gbps"),
]


@pytest.mark.parametrize("knob,a,b,base,workload,metric", EFFECTS,
                         ids=[f"{e[0]}:{e[1]}-{e[2]}" for e in EFFECTS])
def test_knob_changes_behaviour(sim, knob, a, b, base, workload, metric):
    ma = sim.evaluate({**base, knob: a}, workload)
    mb = sim.evaluate({**base, knob: b}, workload)
    assert ma[metric] != mb[metric]


def test_max_active_transactions_is_ignored_by_the_simple_arbiter(sim):
    # as in DRAMSys: only the Fifo and Reorder arbiters limit outstanding transactions
    a = sim.evaluate({"Arbiter": "Simple", "MaxActiveTransactions": 1}, SMOKE)
    b = sim.evaluate({"Arbiter": "Simple", "MaxActiveTransactions": 128}, SMOKE)
    assert a == b


def test_bandwidth_never_exceeds_peak_over_many_designs(sim):
    rng = np.random.default_rng(11)
    peak = load_device(DDR4).peak_bandwidth_gbps
    for _ in range(12):
        design = {k: vs[rng.integers(len(vs))] for k, vs in KNOB_VALUES.items()}
        for workload in ("gen:sequential?n=2000", DENSE):
            assert sim.evaluate(design, workload)["bandwidth_gbps"] <= peak


def test_fingerprint_and_workload_key():
    a, b = DRAMSimulator(DDR4), DRAMSimulator("MICRON_1Gb_DDR3-1600_8bit_G")
    assert a.fingerprint().startswith("dram@") and a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == DRAMSimulator(DDR4).fingerprint()
    assert a.fingerprint() != DRAMSimulator(DDR4, max_requests=10).fingerprint()
    assert a.fingerprint() != DRAMSimulator(DDR4, address_mapping="rochrabgbaco").fingerprint()
    assert a.workload_key("stream") == b.workload_key("stream")
    with pytest.raises(ValueError, match="stream"):
        a.workload_key("no-such-trace")


# --------------------------------------------------------------------------------------------
# evaluate_batch
# --------------------------------------------------------------------------------------------
def test_evaluate_batch_equals_evaluate_and_isolates_bad_designs():
    from archgym.simulator import SimulationError

    sim = DRAMSimulator("MICRON_1Gb_DDR3-1600_8bit_G", max_requests=600, workers=2)
    designs = [
        {},
        {"PagePolicy": "Closed", "Scheduler": "Fifo", "RefreshPolicy": "NoRefresh"},
        {"PagePolicy": "Bogus"},  # invalid value
        {"SchedulerBuffer": "Bankwise", "RequestBufferSize": 1, "Arbiter": "Fifo",
         "MaxActiveTransactions": 2},
        {"NoSuchKnob": 1},  # unknown knob
    ]
    batch = sim.evaluate_batch(designs, "random")
    assert len(batch) == len(designs)
    for i in (0, 1, 3):
        assert batch[i] == sim.evaluate(designs[i], "random")
    for i, word in ((2, "Bogus"), (4, "NoSuchKnob")):
        assert isinstance(batch[i], SimulationError)
        assert f"design {i}" in str(batch[i]) and word in str(batch[i])
    assert sim.evaluate_batch([], "random") == []
    one_thread = DRAMSimulator("MICRON_1Gb_DDR3-1600_8bit_G", max_requests=600, workers=1)
    assert one_thread.evaluate_batch(designs, "random")[:2] == batch[:2]


def test_evaluate_batch_stalled_design_fails_alone(monkeypatch):
    from archgym.simulator import SimulationError
    from archgym.simulators.dram import engine as E

    real = E.Engine._run

    def stall_closed(self, arrays, final):  # a mock stall for one configuration only
        if self.config.PagePolicy == "Closed":
            raise SimulationError("mock stall")
        return real(self, arrays, final)

    monkeypatch.setattr(E.Engine, "_run", stall_closed)
    sim = DRAMSimulator("MICRON_1Gb_DDR3-1600_8bit_G", max_requests=300, workers=2)
    out = sim.evaluate_batch([{"PagePolicy": "Closed"}, {"PagePolicy": "Open"}], "stream")
    assert isinstance(out[0], SimulationError) and "mock stall" in str(out[0])
    assert isinstance(out[1], dict) and out[1]["reads"] == 300


def test_fingerprint_is_memoised_and_follows_setup_changes():
    sim = DRAMSimulator("MICRON_1Gb_DDR3-1600_8bit_G")
    first = sim.fingerprint()
    assert sim.fingerprint() is first
    sim.max_requests = 10
    assert sim.fingerprint() != first
    assert DRAMSimulator("MICRON_1Gb_DDR3-1600_8bit_G", max_requests=10).fingerprint() == sim.fingerprint()


def test_workload_key_follows_file_edits(tmp_path):
    import os

    sim = DRAMSimulator("MICRON_1Gb_DDR3-1600_8bit_G")
    path = tmp_path / "t.stl"
    path.write_text("0:\tread\t0x0\n")
    first = sim.workload_key(str(path))
    path.write_text("0:\tread\t0x40\n1:\tread\t0x80\n")
    os.utime(path, ns=(1, 10**18))
    assert sim.workload_key(str(path)) != first
