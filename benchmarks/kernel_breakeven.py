"""Where the plain-Python DRAM kernel stops paying off against the numba-compiled one.

    python benchmarks/kernel_breakeven.py [--rounds N] [--requests 300,1000,3000]

All times are CPU seconds of the measuring process (``time.process_time``): on a shared,
loaded machine they stay close to what a quiet machine's wall clock shows, where wall times
would charge each side the waiting it happened to meet.

* Start-up: in a fresh process per round (interleaved), the CPU time of the first
  ``DRAMSimulator(kernel=K).evaluate`` on a 10-request trace, after the simulator is imported.
  For ``compiled`` it includes importing numba, initialising its target and loading the engine
  from numba's disk cache (a discarded round first fills that cache); the difference to
  ``python`` is what a short run saves by staying in Python.
* Per request: in one warm process, the CPU time of ``evaluate`` on the shipped workloads cut to
  ``--requests`` requests, both kernels interleaved, for the default design and a
  slow-draining one (Closed page, Fifo scheduler, small buffers). The Python kernel's extra
  seconds per request is the slope between the smallest and largest request counts.
* Break-even: start-up saving / extra seconds per request, per workload and design; the engine's
  :data:`~archgym.simulators.dram.engine.AUTO_PYTHON_REQUESTS` is chosen at or below the
  smallest of them, so ``kernel="auto"`` never spends longer in Python than numba would have
  cost.

Writes ``benchmarks/results/kernel_breakeven.json`` (with the 1-min load average: both kernels
are measured side by side, so load hits both alike).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "kernel_breakeven.json"

#: a 10-request DRAMSys trace, as benchmarks/cli_startup.py uses
TRACE = "".join(f"{4 * i}:\tread\t{hex(0x40 * i)}\n" for i in range(10))

FIRST_EVALUATE = r"""
import sys, time
from archgym.simulators.dram import DRAMSimulator
simulator = DRAMSimulator(kernel=sys.argv[2])
start = time.process_time()
simulator.evaluate({}, sys.argv[1])
print(time.process_time() - start, "numba" in sys.modules)
"""

DESIGNS = {"default": {},
           "closed-fifo-small": {"PagePolicy": "Closed", "Scheduler": "Fifo", "RequestBufferSize": 2}}
WORKLOADS = ("cloud-1", "cloud-2", "stream", "random")


def startup(trace: Path, rounds: int, env: dict[str, str]) -> dict[str, object]:
    times: dict[str, list[float]] = {"python": [], "compiled": []}
    for round_ in range(rounds + 1):  # round 0 warms the caches and is discarded
        for kernel in times:
            out = subprocess.run([sys.executable, "-c", FIRST_EVALUATE, str(trace), kernel], env=env,
                                 capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
            seconds, numba = out.stdout.split()
            assert (numba == "True") == (kernel == "compiled"), (kernel, numba)
            if round_:
                times[kernel].append(float(seconds))
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {"first_evaluate_s": {k: round(v, 4) for k, v in medians.items()},
            "all_s": {k: [round(x, 4) for x in v] for k, v in times.items()},
            "saving_s": round(medians["compiled"] - medians["python"], 4)}


def per_request(counts: list[int], rounds: int) -> dict[str, object]:
    from archgym.simulators.dram import DRAMSimulator

    rows = {}
    for workload in WORKLOADS:
        for design_name, design in DESIGNS.items():
            seconds: dict[str, dict[int, list[float]]] = {k: {n: [] for n in counts} for k in ("python", "compiled")}
            simulators = {(k, n): DRAMSimulator(max_requests=n, kernel=k) for k in seconds for n in counts}
            for round_ in range(rounds + 1):  # round 0 parses the trace (kept per simulator), discarded
                for n in counts:
                    for kernel in seconds:
                        start = time.process_time()
                        simulators[kernel, n].evaluate(design, workload)
                        if round_:
                            seconds[kernel][n].append(time.process_time() - start)
            med = {k: {n: statistics.median(v) for n, v in per.items()} for k, per in seconds.items()}
            lo, hi = counts[0], counts[-1]
            slope = {k: (med[k][hi] - med[k][lo]) / (hi - lo) for k in med}
            rows[f"{workload} / {design_name}"] = {
                "seconds": {k: {str(n): round(v, 5) for n, v in per.items()} for k, per in med.items()},
                "python_us_per_request": round(slope["python"] * 1e6, 1),
                "compiled_us_per_request": round(slope["compiled"] * 1e6, 2),
            }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--requests", default="300,1000,3000", help="request counts of the per-request fit")
    args = parser.parse_args()
    counts = sorted(int(x) for x in args.requests.split(","))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "ten.stl"
        trace.write_text(TRACE)
        start = startup(trace, args.rounds, env)
    rows = per_request(counts, args.rounds)
    saving = start["saving_s"]
    for row in rows.values():
        extra = (row["python_us_per_request"] - row["compiled_us_per_request"]) * 1e-6
        row["breakeven_requests"] = int(saving / extra) if extra > 0 else None
    from archgym.simulators.dram.engine import AUTO_PYTHON_REQUESTS

    results = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "rounds": args.rounds,
               "startup": start, "per_request": rows,
               "min_breakeven_requests": min(r["breakeven_requests"] for r in rows.values() if r["breakeven_requests"]),
               "AUTO_PYTHON_REQUESTS": AUTO_PYTHON_REQUESTS, "load_average": list(os.getloadavg())}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"median of {args.rounds} rounds; load average {results['load_average'][0]:.1f} on {os.cpu_count()} CPUs")
    first = start["first_evaluate_s"]
    print(f"CPU seconds; first evaluate in a fresh process (10 requests): python {first['python']:.3f} s, compiled "
          f"{first['compiled']:.3f} s -> numba start-up {saving:.3f} s")
    print(f"{'workload / design':<34}{'python us/req':>15}{'compiled us/req':>17}{'break-even req':>16}")
    for name, row in rows.items():
        print(f"{name:<34}{row['python_us_per_request']:>15.1f}{row['compiled_us_per_request']:>17.2f}"
              f"{row['breakeven_requests'] or '-':>16}")
    print(f"smallest break-even: {results['min_breakeven_requests']} requests; "
          f"AUTO_PYTHON_REQUESTS = {AUTO_PYTHON_REQUESTS}")
    print(f"raw results: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
