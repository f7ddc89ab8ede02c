"""Engine tests: exact latencies, JEDEC timing (independent checker), refresh accounting,
bandwidth bound, same-address ordering and the livelock case, watchdog, streaming, determinism."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from archgym.simulator import SimulationError
from archgym.simulators.dram import engine as E
from archgym.simulators.dram.config import KNOB_VALUES, ControllerConfig
from archgym.simulators.dram.device import load_device
from archgym.simulators.dram.mapping import get_mapping
from archgym.simulators.dram.traces import TraceChunk, generate_trace

DDR4 = "DDR4_8Gb_x8_2400"
DDR3 = "MICRON_1Gb_DDR3-1600_8bit_G"


# --------------------------------------------------------------------------------------------
# An independent DDR command-log checker. It shares no code with the engine: it keeps full
# per-bank/rank histories in plain Python and checks every command against the earlier
# commands that constrain it.
# --------------------------------------------------------------------------------------------
ACT, PRE, RD, WR, RDA, WRA, REF, REFPB, PREA = range(9)
NAMES = ("ACT", "PRE", "RD", "WR", "RDA", "WRA", "REF", "REFpb", "PREA")


def check_commands(log, d, *, max_violations: int = 20) -> list[str]:
    """Return a list of violations of ``log`` against device ``d`` (empty when clean)."""
    burst = d.burst_cycles
    bad: list[str] = []

    def fail(i: int, msg: str) -> None:
        if len(bad) < max_violations:
            c = log[i]
            bad.append(f"#{i} cycle {int(c['cycle'])} {NAMES[int(c['command'])]} "
                       f"ch{int(c['channel'])} r{int(c['rank'])} bg{int(c['bankgroup'])} "
                       f"b{int(c['bank'])}: {msg}")

    open_row: dict[tuple, int | None] = defaultdict(lambda: None)
    last_act: dict[tuple, int] = {}  # bank -> ACT cycle
    closed_at: dict[tuple, int] = {}  # bank -> effective precharge cycle
    last_ref: dict[tuple, int] = {}  # rank -> REF cycle
    last_refpb: dict[tuple, int] = {}  # bank -> REFpb cycle
    acts: dict[tuple, list[tuple[int, int]]] = defaultdict(list)  # rank -> [(cycle, bg)]
    cas: dict[tuple, list[tuple[int, int, bool]]] = defaultdict(list)  # rank -> [(cycle, bg, write)]
    last_rd_bank: dict[tuple, int] = {}
    last_wr_bank: dict[tuple, int] = {}
    bus: dict[int, list[tuple[int, int, tuple]]] = defaultdict(list)  # channel -> data bursts
    cmd_cycles: dict[int, int] = {}
    prev_cycle = -1
    for i in range(len(log)):
        c = log[i]
        t, cmd = int(c["cycle"]), int(c["command"])
        ch, rk = int(c["channel"]), int(c["rank"])
        rank = (ch, rk)
        if t < prev_cycle:
            fail(i, "log not in time order")
        prev_cycle = t
        key = (ch, t)
        if key in cmd_cycles:
            fail(i, "two commands in one cycle on one channel")
        cmd_cycles[key] = i
        bank = (ch, rk, int(c["bankgroup"]), int(c["bank"]))
        if cmd == ACT:
            if open_row[bank] is not None:
                fail(i, "ACT to an open bank")
            if bank in last_act and t - last_act[bank] < d.tRC:
                fail(i, f"tRC: {t - last_act[bank]} < {d.tRC}")
            if bank in closed_at and t - closed_at[bank] < d.tRP:
                fail(i, f"tRP: {t - closed_at[bank]} < {d.tRP}")
            if rank in last_ref and t - last_ref[rank] < d.tRFC:
                fail(i, f"tRFC: {t - last_ref[rank]} < {d.tRFC}")
            if bank in last_refpb and t - last_refpb[bank] < d.tRFCpb:
                fail(i, f"tRFCpb: {t - last_refpb[bank]} < {d.tRFCpb}")
            for t0, bg0 in acts[rank][-8:]:
                need = d.tRRD_L if bg0 == bank[2] else d.tRRD_S
                if t - t0 < need:
                    fail(i, f"tRRD_{'L' if bg0 == bank[2] else 'S'}: {t - t0} < {need}")
            window = [a for a, _ in acts[rank][-4:]]
            if len(window) == 4 and t - window[0] < d.tFAW:
                fail(i, f"tFAW: 5 ACTs within {t - window[0]} < {d.tFAW}")
            acts[rank].append((t, bank[2]))
            last_act[bank] = t
            open_row[bank] = int(c["row"])
        elif cmd in (PRE, PREA):
            banks = [bank] if cmd == PRE else [b for b in list(open_row) if b[:2] == rank
                                                  and open_row[b] is not None]
            for b in banks:
                if open_row[b] is None:
                    continue
                if t - last_act[b] < d.tRAS:
                    fail(i, f"tRAS: {t - last_act[b]} < {d.tRAS}")
                if b in last_rd_bank and t - last_rd_bank[b] < d.tRTP and last_rd_bank[b] >= last_act[b]:
                    fail(i, f"tRTP: {t - last_rd_bank[b]} < {d.tRTP}")
                if b in last_wr_bank and last_wr_bank[b] >= last_act[b]:
                    need = d.CWL + burst + d.tWR
                    if t - last_wr_bank[b] < need:
                        fail(i, f"write recovery: {t - last_wr_bank[b]} < {need}")
                open_row[b] = None
                closed_at[b] = t
        elif cmd in (RD, WR, RDA, WRA):
            write = cmd in (WR, WRA)
            if open_row[bank] is None:
                fail(i, "column command to a closed bank")
            elif open_row[bank] != int(c["row"]):
                fail(i, "column command to the wrong row")
            if bank in last_act and t - last_act[bank] < d.tRCD:
                fail(i, f"tRCD: {t - last_act[bank]} < {d.tRCD}")
            for t0, bg0, w0 in cas[rank][-8:]:
                same = bg0 == bank[2]
                need = d.tCCD_L if same else d.tCCD_S
                if w0 == write and t - t0 < need:
                    fail(i, f"tCCD_{'L' if same else 'S'}: {t - t0} < {need}")
                if w0 and not write:
                    need = d.CWL + burst + (d.tWTR_L if same else d.tWTR_S)
                    if t - t0 < need:
                        fail(i, f"tWTR_{'L' if same else 'S'}: {t - t0} < {need}")
                if not w0 and write:
                    need = d.CL + burst + 2 - d.CWL
                    if t - t0 < need:
                        fail(i, f"read-to-write: {t - t0} < {need}")
            cas[rank].append((t, bank[2], write))
            start = t + (d.CWL if write else d.CL)
            for s0, e0, r0 in bus[ch][-4:]:
                gap = d.tRTRS if r0 != rank else 0
                if start < e0 + gap and s0 < start + burst:
                    fail(i, f"data bus overlap with burst [{s0},{e0}) of rank {r0}")
            bus[ch].append((start, start + burst, rank))
            if write:
                last_wr_bank[bank] = t
            else:
                last_rd_bank[bank] = t
            if cmd in (RDA, WRA):
                pre = t + (d.CWL + burst + d.tWR if write else d.tRTP)
                pre = max(pre, last_act[bank] + d.tRAS)
                open_row[bank] = None
                closed_at[bank] = pre
        elif cmd == REF:
            for b, row in open_row.items():
                if b[:2] == rank and row is not None:
                    fail(i, f"REF with bank {b} open")
            for b, t0 in closed_at.items():
                if b[:2] == rank and t - t0 < d.tRP:
                    fail(i, f"REF before tRP of bank {b}")
            if rank in last_ref and t - last_ref[rank] < d.tRFC:
                fail(i, "REF during tRFC")
            last_ref[rank] = t
        elif cmd == REFPB:
            if open_row[bank] is not None:
                fail(i, "REFpb to an open bank")
            if bank in closed_at and t - closed_at[bank] < d.tRP:
                fail(i, "REFpb before tRP")
            last_refpb[bank] = t
        else:
            fail(i, f"unknown command code {cmd}")
    return bad


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def chunk(cycles, writes, addresses) -> TraceChunk:
    return TraceChunk(np.asarray(cycles, np.int64), np.asarray(writes, bool),
                      np.asarray(addresses, np.uint64))


def simulate(trace, device=DDR4, record=True, mapping=None, **knobs) -> E.EngineResult:
    d = load_device(device)
    chunks = trace if isinstance(trace, list) else [trace]
    return E.simulate_chunks(d, ControllerConfig(**knobs), get_mapping(mapping, d), chunks,
                             record_commands=record)


def mixed_trace(n=6000, seed=3, interval=3.0, read_fraction=0.6, space=1 << 26) -> TraceChunk:
    return generate_trace("mixed", n, seed=seed, read_fraction=read_fraction, interval=interval,
                          address_space=space)


def latencies(hist: np.ndarray) -> list[int]:
    return [int(i) for i in np.repeat(np.arange(hist.size), hist)]


# --------------------------------------------------------------------------------------------
# exact latencies
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", [DDR4, DDR3])
def test_read_to_idle_bank_takes_trcd_cl_burst(device):
    d = load_device(device)
    r = simulate(chunk([0], [False], [0]), device)
    assert latencies(r.read_histogram) == [d.tRCD + d.CL + d.burst_cycles]
    assert r.read_latency_sum == d.tRCD + d.CL + d.burst_cycles
    assert r.sim_cycles == d.tRCD + d.CL + d.burst_cycles
    assert [E.COMMAND_NAMES[c] for c in r.commands["command"]] == ["ACT", "RD"]


@pytest.mark.parametrize("device", [DDR4, DDR3])
def test_row_hit_takes_cl_burst(device):
    d = load_device(device)
    # second read: same row, next burst, long after the first finished -> a pure row hit
    r = simulate(chunk([0, 1000], [False, False], [0, 64]), device)
    assert sorted(latencies(r.read_histogram)) == [d.CL + d.burst_cycles,
                                                     d.tRCD + d.CL + d.burst_cycles]
    assert r.row_hits == 1 and r.activates == 1


def test_write_to_idle_bank_takes_trcd_cwl_burst():
    d = load_device(DDR4)
    r = simulate(chunk([0], [True], [0]))
    assert latencies(r.write_histogram) == [d.tRCD + d.CWL + d.burst_cycles]


def test_row_conflict_pays_precharge_and_activate():
    d = load_device(DDR4)
    m = get_mapping(None, d)
    a, b = m.encode(row=[0, 1])
    r = simulate(chunk([0, 1000], [False, False], [a, b]))
    # the second read must wait for PRE (tRAS long satisfied) + tRP + tRCD + CL + burst
    assert sorted(latencies(r.read_histogram)) == [
        d.tRCD + d.CL + d.burst_cycles, d.tRP + d.tRCD + d.CL + d.burst_cycles]


def test_closed_page_has_no_row_hits_and_auto_precharges():
    r = simulate(generate_trace("sequential", 3000), PagePolicy="Closed")
    assert r.row_hits == 0
    names = {E.COMMAND_NAMES[c] for c in r.commands["command"]}
    assert "RD" not in names and "RDA" in names and "PRE" not in names


def test_open_page_sequential_hits_rows():
    r = simulate(generate_trace("sequential", 3000), record=False)
    assert r.row_hits / r.requests > 0.95


# --------------------------------------------------------------------------------------------
# timing: every constraint, checked independently on the command log
# --------------------------------------------------------------------------------------------
TIMING_CASES = [
    {},
    {"PagePolicy": "Closed"},
    {"PagePolicy": "OpenAdaptive", "Scheduler": "FrFcfsGrp"},
    {"PagePolicy": "ClosedAdaptive", "Scheduler": "Fifo", "SchedulerBuffer": "Shared",
     "RequestBufferSize": 32},
    {"RefreshPolicy": "PerBank", "SchedulerBuffer": "ReadWrite", "RequestBufferSize": 16},
    {"RefreshMaxPostponed": 1, "RefreshMaxPulledin": 1, "Arbiter": "Reorder",
     "RespQueue": "Reorder", "MaxActiveTransactions": 64},
]


def _case_id(knobs: dict) -> str:
    return ",".join(f"{a}={b}" for a, b in knobs.items()) or "default"


@pytest.mark.parametrize("device", [DDR4, DDR3])
@pytest.mark.parametrize("knobs", TIMING_CASES, ids=_case_id)
def test_command_log_respects_every_timing_constraint(device, knobs):
    d = load_device(device)
    trace = mixed_trace(n=4000, interval=2.0)
    r = simulate(trace, device, **knobs)
    assert r.dropped_commands == 0
    assert r.requests == trace.size
    assert check_commands(r.commands, d) == []
    assert r.read_commands + r.write_commands == trace.size


def test_command_log_dense_random_traffic_both_ranks():
    d = load_device(DDR4)
    trace = generate_trace("random", 3000, seed=5, read_fraction=0.67, interval=1.0,
                           address_space=d.capacity_bytes)
    r = simulate(trace)
    assert set(np.unique(r.commands["rank"])) == {0, 1}
    assert check_commands(r.commands, d) == []


def test_checker_detects_violations():
    """The checker is only trustworthy if it rejects broken logs."""
    d = load_device(DDR4)
    r = simulate(mixed_trace(n=500))
    log = r.commands.copy()
    rd = np.flatnonzero(np.isin(log["command"], [E.RD, E.RDA]))[0]
    act_before = np.flatnonzero((log["command"] == E.ACT)[:rd])[-1]
    log["cycle"][rd] = log["cycle"][act_before] + d.tRCD - 1  # too early
    log = np.sort(log, order="cycle", kind="stable")
    assert any("tRCD" in v for v in check_commands(log, d))


@pytest.mark.parametrize("device", [DDR4, DDR3])
def test_bandwidth_never_exceeds_bus_peak(device):
    d = load_device(device)
    for trace in (generate_trace("sequential", 5000), generate_trace("strided", 5000, stride=8192),
                  generate_trace("random", 5000, seed=2, address_space=d.capacity_bytes)):
        for knobs in ({}, {"SchedulerBuffer": "Shared", "RequestBufferSize": 128}):
            r = simulate(trace, device, record=False, **knobs)
            bandwidth = r.requests * d.bytes_per_burst / (r.sim_cycles * d.tCK)
            assert 0 < bandwidth <= d.peak_bandwidth_gbps + 1e-9
            # and the data bus is never double-booked: bursts x BL/2 fit in the time
            assert r.requests * d.burst_cycles <= r.sim_cycles


# --------------------------------------------------------------------------------------------
# refresh
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("post,pull", [(8, 8), (1, 1), (4, 2)])
def test_all_bank_refresh_count_matches_time_over_trefi(post, pull):
    d = load_device(DDR4)
    trace = mixed_trace(n=20000, interval=12.0)  # ~240k cycles, both busy and idle periods
    r = simulate(trace, RefreshMaxPostponed=post, RefreshMaxPulledin=pull, record=False)
    expected = d.ranks * r.sim_cycles / d.tREFI
    assert r.refreshes_per_bank == 0
    assert abs(r.refreshes_all_bank - expected) <= d.ranks * (max(post, pull) + 1)


def test_busy_rank_postpones_then_forces_refresh():
    d = load_device(DDR4)
    # saturating traffic: the ranks are never idle, so refreshes are postponed up to the limit
    trace = generate_trace("random", 30000, seed=1, address_space=d.capacity_bytes)
    r = simulate(trace, RefreshMaxPostponed=8, record=False)
    triggers = d.ranks * r.sim_cycles / d.tREFI
    assert triggers - d.ranks * 9 <= r.refreshes_all_bank <= triggers - d.ranks * 7 + 1


@pytest.mark.parametrize("post,pull", [(8, 8), (1, 1)])
def test_per_bank_refresh_rate_and_no_refresh(post, pull):
    d = load_device(DDR4)
    trace = mixed_trace(n=10000, interval=12.0)
    r = simulate(trace, RefreshPolicy="PerBank", RefreshMaxPostponed=post,
                 RefreshMaxPulledin=pull, record=True)
    assert r.refreshes_all_bank == 0
    expected = d.ranks * r.sim_cycles / (d.tREFI // d.banks_per_rank)
    # DRAMSys' RefreshManagerPerBank counts the slack in per-bank refreshes: up to
    # RefreshMaxPostponed x banks postponed and RefreshMaxPulledin x banks pulled in per rank
    bpr = d.banks_per_rank
    assert expected - d.ranks * (post * bpr + 1) <= r.refreshes_per_bank
    assert r.refreshes_per_bank <= expected + d.ranks * (pull * bpr + 1)
    assert check_commands(r.commands, d) == []
    none = simulate(trace, RefreshPolicy="NoRefresh", record=False)
    assert none.refreshes_all_bank == none.refreshes_per_bank == 0


# --------------------------------------------------------------------------------------------
# ordering, livelock, watchdog
# --------------------------------------------------------------------------------------------
def per_address_order(commands, mapping, trace) -> tuple[dict, dict]:
    """Sequence of read/write kinds per address: issued (from the log) and requested."""
    _, rank, bg, bank, row, col = mapping.decode(trace.address)
    requested: dict[tuple, list[bool]] = defaultdict(list)
    for k in zip(rank, bg, bank, row, col, trace.is_write):
        requested[k[:5]].append(bool(k[5]))
    issued: dict[tuple, list[bool]] = defaultdict(list)
    for c in commands[np.isin(commands["command"], [E.RD, E.WR, E.RDA, E.WRA])]:
        key = (c["rank"], c["bankgroup"], c["bank"], c["row"], c["column"])
        issued[key].append(int(c["command"]) in (E.WR, E.WRA))
    return issued, requested


@pytest.mark.parametrize("scheduler", KNOB_VALUES["Scheduler"])
@pytest.mark.parametrize("buffer", KNOB_VALUES["SchedulerBuffer"])
def test_same_address_requests_are_served_in_order(scheduler, buffer):
    d = load_device(DDR4)
    m = get_mapping(None, d)
    rng = np.random.default_rng(7)
    # 24 addresses in 2 banks (several rows): lots of RAW / WAR / WAW hazards
    rows, cols, banks = rng.integers(0, 3, 3000), rng.integers(0, 4, 3000), rng.integers(0, 2, 3000)
    addr = m.encode(bank=banks, row=rows, column=cols)
    trace = chunk(np.arange(3000), rng.random(3000) < 0.5, addr)
    r = simulate(trace, Scheduler=scheduler, SchedulerBuffer=buffer, RequestBufferSize=4)
    issued, requested = per_address_order(r.commands, m, trace)
    assert issued == requested


@pytest.mark.parametrize("scheduler", KNOB_VALUES["Scheduler"])
def test_full_write_buffer_behind_older_read_to_same_address_does_not_livelock(scheduler):
    """DRAMsim3's livelock: the write buffer is full and its next write waits for an older,
    still-queued read to the same address. Here the read is served first and everything drains."""
    d = load_device(DDR4)
    m = get_mapping(None, d)
    x, y, z = m.encode(row=[5, 5, 9], column=[1, 2, 3])
    pattern_w = [False, True, True, True, False, True, True, True, True, False, True]
    pattern_a = [x, x, x, y, x, x, z, x, y, x, x]
    reps = 200
    trace = chunk(np.arange(len(pattern_w) * reps), pattern_w * reps, pattern_a * reps)
    for buffer, size in (("ReadWrite", 1), ("ReadWrite", 2), ("Shared", 1), ("Bankwise", 2)):
        r = simulate(trace, Scheduler=scheduler, SchedulerBuffer=buffer, RequestBufferSize=size)
        assert r.requests == trace.size
        issued, requested = per_address_order(r.commands, m, trace)
        assert issued == requested


def test_watchdog_raises_simulation_error():
    d = load_device(DDR4)
    engine = E.Engine(d, ControllerConfig(), get_mapping(None, d))
    engine.P[E.P_WATCHDOG] = 5  # far below any real request latency
    with pytest.raises(SimulationError, match="watchdog"):
        engine.feed(mixed_trace(n=200))
        engine.finish()


def test_minimal_resources_still_drain():
    trace = mixed_trace(n=3000, interval=1.0)
    for knobs in ({"SchedulerBuffer": "Shared", "RequestBufferSize": 1, "Arbiter": "Fifo",
                   "MaxActiveTransactions": 1},
                  {"SchedulerBuffer": "Bankwise", "RequestBufferSize": 1, "RespQueue": "Reorder",
                   "Arbiter": "Reorder", "MaxActiveTransactions": 1},
                  {"SchedulerBuffer": "ReadWrite", "RequestBufferSize": 1, "RefreshPolicy": "PerBank",
                   "RefreshMaxPostponed": 1, "RefreshMaxPulledin": 1}):
        r = simulate(trace, record=False, **knobs)
        assert r.requests == trace.size


def test_bad_trace_order_is_rejected():
    with pytest.raises(ValueError, match="non-decreasing"):
        simulate(chunk([5, 3], [False, False], [0, 64]))


def test_command_log_capacity_is_bounded():
    d = load_device(DDR4)
    engine = E.Engine(d, ControllerConfig(), get_mapping(None, d), record_commands=10)
    engine.feed(generate_trace("sequential", 100))
    r = engine.finish()
    assert len(r.commands) == 10 and r.dropped_commands > 0


# --------------------------------------------------------------------------------------------
# streaming and determinism
# --------------------------------------------------------------------------------------------
def result_state(r: E.EngineResult) -> tuple:
    scalars = {k: v for k, v in vars(r).items() if isinstance(v, int)}
    return (scalars, r.read_histogram.tolist(), r.write_histogram.tolist(),
            r.active_cycles.tolist(), r.window_cycles.tolist(),
            None if r.commands is None else r.commands.tolist())


@pytest.mark.parametrize("knobs", [{}, {"Arbiter": "Reorder", "RespQueue": "Reorder",
                                        "RefreshPolicy": "PerBank", "Scheduler": "FrFcfsGrp"}])
def test_streaming_across_chunk_boundaries_is_exact(knobs):
    trace = mixed_trace(n=8000, interval=2.5)
    whole = simulate(trace, **knobs)
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.choice(np.arange(1, trace.size), size=40, replace=False))
    pieces = [TraceChunk(*(a[i:j] for a in trace)) for i, j in zip([0, *cuts], [*cuts, trace.size])]
    pieces.insert(3, TraceChunk(*(a[:0] for a in trace)))  # an empty chunk is harmless
    split = simulate(pieces, **knobs)
    assert result_state(split) == result_state(whole)


def test_deterministic():
    trace = mixed_trace(n=4000, interval=1.5)
    assert result_state(simulate(trace)) == result_state(simulate(trace))


def test_a_finished_engine_returns_its_large_arrays_zeroed_and_reuse_changes_nothing():
    d = load_device(DDR4)
    trace = mixed_trace(n=20000, interval=0.2)  # saturating: latencies of hundreds of cycles
    engine = E.Engine(d, ControllerConfig(RequestBufferSize=1), get_mapping(None, d))
    engine.feed(trace)
    first = engine.finish()
    assert first.read_latency_max > 100 and first.write_latency_max > 100
    assert engine.finish() is first  # idempotent
    with pytest.raises(AttributeError, match="released"):
        engine.HIST
    pooled = [a for arrays in E._POOL._free.values() for a in arrays]
    assert pooled and all(not a.any() for a in pooled)
    again = E.simulate_chunks(d, ControllerConfig(RequestBufferSize=1), get_mapping(None, d),
                              [trace])  # runs on the recycled arrays
    assert result_state(again) == result_state(first)


def test_memory_does_not_grow_with_trace_length():
    d = load_device(DDR4)
    engine = E.Engine(d, ControllerConfig(), get_mapping(None, d))
    assert "S" not in vars(engine)  # the state is allocated on first use
    engine.feed(generate_trace("random", 10, seed=9, address_space=1 << 30))
    sizes = {k: v.nbytes for k, v in vars(engine).items() if isinstance(v, np.ndarray)}
    assert set(E.Engine.STATE_ARRAYS) <= set(sizes)
    for seed in range(3):
        part = generate_trace("random", 20000, seed=seed, address_space=1 << 30)
        engine.feed(part._replace(cycle=part.cycle + seed * 20000 + 100))
    after = {k: v.nbytes for k, v in vars(engine).items() if isinstance(v, np.ndarray)}
    assert after == sizes
    assert engine.finish().requests == 60010


def test_multi_channel_device():
    d = load_device(DDR4).replace(name="two-channel", channels=2)
    trace = generate_trace("random", 3000, seed=1, read_fraction=0.7, address_space=d.capacity_bytes)
    r = E.simulate_chunks(d, ControllerConfig(), get_mapping(None, d), [trace], record_commands=True)
    assert r.requests == 3000
    assert set(np.unique(r.commands["channel"])) == {0, 1}
    assert check_commands(r.commands, d) == []
