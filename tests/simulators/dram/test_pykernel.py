"""The plain-Python kernel (``_pykernel``, the code of ``_kernel.py`` without numba) against the
compiled one: every counter, histogram and the whole command log must be identical, over every
scheduler, buffer, refresh policy, arbiter, page policy, response queue and write drain, on
traces that fill the buffers, idle long enough to pull refreshes in, span two ranks and two
channels; a watchdog stop fails alike; ``kernel="auto"`` stays off numba only for short work."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from archgym.errors import UserError
from archgym.simulator import SimulationError
from archgym.simulators.dram import DRAMSimulator
from archgym.simulators.dram import engine as E
from archgym.simulators.dram.config import ControllerConfig
from archgym.simulators.dram.device import load_device
from archgym.simulators.dram.mapping import get_mapping
from archgym.simulators.dram.traces import TraceChunk, generate_trace

DDR4 = "DDR4_8Gb_x8_2400"
DDR3 = "MICRON_1Gb_DDR3-1600_8bit_G"


def dense(n: int = 240, seed: int = 3) -> TraceChunk:
    """Back-to-back requests: buffers fill, back-pressure, row hits and conflicts."""
    return generate_trace("mixed", n, seed=seed, read_fraction=0.6, interval=1.5, address_space=1 << 24)


def sparse(n: int = 120, seed: int = 5) -> TraceChunk:
    """Bursts with idle gaps: refreshes are postponed, forced and pulled in."""
    trace = generate_trace("mixed", n, seed=seed, read_fraction=0.5, interval=2.0, address_space=1 << 26)
    gaps = np.repeat(np.arange(n // 20 + 1, dtype=np.int64) * 1500, 20)[:n]
    return TraceChunk(trace.cycle + gaps, trace.is_write, trace.address)


def fields(r: E.EngineResult) -> dict:
    """Every attribute of an EngineResult, arrays as lists (the command log field by field)."""
    out = {}
    for name, value in vars(r).items():
        if isinstance(value, np.ndarray) and value.dtype.names:
            out[name] = {f: value[f].tolist() for f in value.dtype.names}
        elif isinstance(value, np.ndarray):
            out[name] = value.tolist()
        else:
            out[name] = value
    return out


def both(device, trace, *, write_drain=None, chunks=1, **knobs) -> tuple[dict, dict]:
    d = device if not isinstance(device, str) else load_device(device)
    m = get_mapping(None, d)
    size = -(-trace.size // chunks)
    parts = [TraceChunk(*(a[i:i + size] for a in trace)) for i in range(0, trace.size, size)]
    results = [E.simulate_chunks(d, ControllerConfig(**knobs), m, parts, record_commands=True,
                                 write_drain=write_drain, kernel=k) for k in ("python", "compiled")]
    return fields(results[0]), fields(results[1])


CASES = [
    {},
    {"Scheduler": "Fifo", "SchedulerBuffer": "Bankwise", "RequestBufferSize": 2},
    {"Scheduler": "FrFcfs", "SchedulerBuffer": "ReadWrite", "RequestBufferSize": 4},
    {"Scheduler": "FrFcfsGrp", "SchedulerBuffer": "Shared", "RequestBufferSize": 8},
    {"Scheduler": "FrFcfsGrp", "SchedulerBuffer": "Bankwise", "RequestBufferSize": 1, "PagePolicy": "Closed"},
    {"PagePolicy": "OpenAdaptive", "RespQueue": "Reorder"},
    {"PagePolicy": "ClosedAdaptive", "Arbiter": "Fifo", "MaxActiveTransactions": 4},
    {"Arbiter": "Reorder", "MaxActiveTransactions": 16, "RespQueue": "Reorder", "SchedulerBuffer": "ReadWrite"},
    {"Arbiter": "Fifo", "MaxActiveTransactions": 1, "Scheduler": "Fifo"},
    {"RefreshPolicy": "NoRefresh"},
    {"RefreshPolicy": "PerBank", "RefreshMaxPostponed": 1, "RefreshMaxPulledin": 8},
    {"RefreshPolicy": "PerBank", "RefreshMaxPostponed": 8, "RefreshMaxPulledin": 1, "Arbiter": "Reorder"},
    {"RefreshPolicy": "AllBank", "RefreshMaxPostponed": 1, "RefreshMaxPulledin": 1, "PagePolicy": "Closed"},
]


def _id(knobs: dict) -> str:
    return "-".join(f"{k}={v}" for k, v in knobs.items()) or "default"


@pytest.mark.parametrize("knobs", CASES, ids=_id)
@pytest.mark.parametrize("workload", ["dense", "sparse"])
def test_python_kernel_equals_compiled(knobs, workload):
    # a short refresh interval puts many refreshes into a short trace
    d = load_device(DDR4).replace(name="fast-refresh", tREFI=1200)
    python, compiled = both(d, dense() if workload == "dense" else sparse(), **knobs)
    assert python["commands"]["cycle"], "the case issued no command"
    assert python == compiled


@pytest.mark.parametrize("write_drain", [(8, 2), (2, 1)])
def test_python_kernel_equals_compiled_with_write_drain(write_drain):
    python, compiled = both(DDR4, dense(seed=11), write_drain=write_drain, RequestBufferSize=16)
    assert python == compiled


def test_python_kernel_equals_compiled_on_ddr3_two_channels_and_chunks():
    python, compiled = both(DDR3, dense(200, seed=7), chunks=7, RefreshPolicy="PerBank")
    assert python == compiled
    d = load_device(DDR4).replace(name="two-channel", channels=2)
    trace = generate_trace("random", 200, seed=1, read_fraction=0.7, address_space=d.capacity_bytes)
    python, compiled = both(d, trace, Arbiter="Fifo", MaxActiveTransactions=8)
    assert set(python["commands"]["channel"]) == {0, 1}
    assert python == compiled


def test_switching_kernels_between_chunks_is_exact():
    d = load_device(DDR4)
    m = get_mapping(None, d)
    trace = dense(300, seed=13)
    parts = [TraceChunk(*(a[i:i + 100] for a in trace)) for i in (0, 100, 200)]
    reference = E.simulate_chunks(d, ControllerConfig(), m, parts, record_commands=True, kernel="compiled")
    engine = E.Engine(d, ControllerConfig(), m, record_commands=True, kernel="python")
    for part, kernel in zip(parts, ("python", "compiled", "python")):
        engine.kernel = kernel
        engine.feed(part)
        assert engine.kernel_used == kernel
    assert fields(engine.finish()) == fields(reference)


def test_watchdog_stops_both_kernels_alike():
    d = load_device(DDR4)
    stops = []
    for kernel in ("python", "compiled"):
        engine = E.Engine(d, ControllerConfig(), get_mapping(None, d), kernel=kernel)
        engine.P[E.P_WATCHDOG] = 5  # far below any real request latency
        with pytest.raises(SimulationError, match="watchdog") as info:
            engine.feed(dense(60))
            engine.finish()
        stops.append((str(info.value), engine.S.tolist(), engine.SL.tolist(), engine.BK.tolist()))
    assert "in flight" in stops[0][0]
    assert stops[0] == stops[1]


def test_bad_kernel_names_the_value():
    d = load_device(DDR4)
    with pytest.raises(ValueError, match="kernel = 'fast'"):
        E.Engine(d, ControllerConfig(), get_mapping(None, d), kernel="fast")
    with pytest.raises(UserError, match="kernel = 'numba'"):
        DRAMSimulator(kernel="numba")


def test_simulator_results_do_not_depend_on_the_kernel():
    metrics = [DRAMSimulator(max_requests=150, kernel=k).evaluate({"Arbiter": "Fifo"}, "cloud-1")
               for k in ("python", "compiled", "auto")]
    assert metrics[0] == metrics[1] == metrics[2]
    batch = DRAMSimulator(max_requests=150, kernel="python").evaluate_batch([{"Arbiter": "Fifo"}, {}], "cloud-1")
    assert batch[0] == metrics[0]


def test_auto_once_numba_is_imported_is_compiled():
    import numba  # noqa: F401

    assert E.resolve_kernel("auto", 10) == "compiled"
    assert E.resolve_kernel("python", 10**9) == "python"


#: in a fresh process: short runs in Python without importing numba, until the process budget is
#: spent; a run known to be long goes compiled at once; then everything is compiled
AUTO = r"""
import json, sys
from archgym.simulators.dram import engine as E
from archgym.simulators.dram.config import ControllerConfig
from archgym.simulators.dram.device import load_device
from archgym.simulators.dram.mapping import get_mapping
from archgym.simulators.dram.traces import generate_trace
d = load_device("DDR4_8Gb_x8_2400"); m = get_mapping(None, d)
E.AUTO_PYTHON_REQUESTS = 250
seen = []
def run(n, as_list=True):
    trace = generate_trace("random", n, seed=n)
    engine = E.Engine(d, ControllerConfig(), m, kernel=E.resolve_kernel("auto", n if as_list else None))
    engine.feed(trace)
    engine.finish()
    seen.append([n, engine.kernel_used, "numba" in sys.modules])
long = E.resolve_kernel("auto", 10**6)  # known to be long: compiled, decided up front
run(100); run(100); run(60, as_list=False); run(30)
print(json.dumps([long, seen]))
"""


def test_auto_uses_python_for_short_work_within_the_process_budget():
    out = subprocess.run([sys.executable, "-c", AUTO], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["compiled", [
        [100, "python", False], [100, "python", False],  # 200 of 250 booked
        [60, "compiled", True],  # 60 more would pass the budget: this chunk goes compiled
        [30, "compiled", True],  # numba is imported now: compiled from here on
    ]]
