"""Simulation speed of the DRAM simulator: simulated requests per second, one core.

Traces: 100,000 requests each — sequential 64-B reads, uniform random (2:1 reads:writes, over
16 GiB) and strided (4 KiB stride, reads), one request per cycle; DDR4_8Gb_x8_2400 with the
default controller (DRAMSys' FR-FCFS example: Open page, Bankwise 8) and with the validation
configuration (ReadWrite 32). Each figure is the best of ``REPEAT`` runs of
``DRAMSimulator.simulate`` (trace decoding included, trace generation and numba compilation
excluded). The numba compile time is measured separately in a fresh process with an empty
cache directory; with ``cache=True`` it is paid once per installation, later processes only
load the cached machine code (also reported).

Reference speeds of the C++ simulators on one core (from the project issue): DRAMsim3 about
180-290 k requests/s, Ramulator 2 about 175-310 k requests/s.

Run: ``python benchmarks/dram_throughput.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from archgym.simulators.dram import DRAMSimulator, generate_trace

N = 100_000
REPEAT = 3
CONFIGS = {
    "default (Bankwise 8)": {},
    "validation (ReadWrite 32)": {"SchedulerBuffer": "ReadWrite", "RequestBufferSize": 32},
}
_FIRST_CALL = (
    "import time; t = time.perf_counter();"
    "from archgym.simulators.dram import DRAMSimulator, generate_trace;"
    "t1 = time.perf_counter();"
    "DRAMSimulator().simulate({}, generate_trace('sequential', 1));"
    "print(t1 - t, time.perf_counter() - t1)"
)


def first_call_seconds(cache_dir: str | None) -> tuple[float, float]:
    """(import time, first simulation time) in a fresh interpreter."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", _FIRST_CALL], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    with tempfile.TemporaryDirectory() as empty:
        _, compile_s = first_call_seconds(empty)
        _, cached_s = first_call_seconds(empty)  # the same directory now holds the cache
    print(f"numba compile (fresh cache): {compile_s:.1f} s; "
          f"first call with a warm cache: {cached_s:.2f} s\n")

    traces = {
        "sequential": generate_trace("sequential", N),
        "random": generate_trace("random", N, seed=1, read_fraction=2 / 3, address_space=1 << 34),
        "strided 4K": generate_trace("strided", N, stride=4096),
    }
    sim = DRAMSimulator("DDR4_8Gb_x8_2400", address_mapping="rochrababgco")
    sim.simulate({}, generate_trace("sequential", 10))  # load the compiled engine
    header = (f"{'config':<27} {'trace':<11} {'k req/s':>8} {'M cycles/s':>11} "
              f"{'events/req':>10} {'wall s':>7}")
    print(header)
    print("-" * len(header))
    for label, design in CONFIGS.items():
        for name, trace in traces.items():
            best = float("inf")
            for _ in range(REPEAT):
                t = time.perf_counter()
                result = sim.simulate(design, trace)
                best = min(best, time.perf_counter() - t)
            raw = result.raw
            print(f"{label:<27} {name:<11} {N / best / 1e3:>8.0f} "
                  f"{raw.sim_cycles / best / 1e6:>11.1f} {raw.steps / N:>10.2f} {best:>7.3f}")
    print("\nreference (one core): DRAMsim3 ~180-290 k req/s, Ramulator 2 ~175-310 k req/s")


if __name__ == "__main__":
    main()
