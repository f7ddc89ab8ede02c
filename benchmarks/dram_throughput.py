"""Speed of the DRAM simulator: per design evaluated and per request, side by side in one run.

1. **Population** (what a search does): 32 random designs (seed 0) on each of ArchGym's four
   10,000-request traces with ArchGym's device (MICRON_1Gb_DDR3-1600_8bit_G): a loop of
   ``DRAMSimulator.evaluate`` against one ``evaluate_batch`` call (trace decoded once, designs
   on ``workers`` threads). Reported per design: CPU time of this process and wall time.
   ArchGym's loop runs one DRAMSys process per design; its wall time per design is the median
   over the 60 random designs of ``/work/shared/data/dramsys_reference`` (``--reference``),
   measured with ArchGym's DRAMSys 4.0 binary on a 2-core x86-64 machine, process start
   included (that is how ArchGym pays for it).
2. **Single design**: ArchGym's default design, one ``evaluate`` per trace, against DRAMSys'
   wall time for that design from the same reference.
3. **Per request**: 100,000-request sequential, random (2:1 R:W over 16 GiB) and 4-KiB-strided
   traces on DDR4_8Gb_x8_2400 (``rochrababgco``), the default controller (DRAMSys' FR-FCFS
   example), one core, against DRAMsim3 / Ramulator 2 figures from the project's reference
   (DRAMsim3 180-290 k req/s, Ramulator 2 175-310 k req/s on one core; not rebuilt here), and
   the scaling of the random trace over 10k / 100k / 1M requests (time per request).

Every figure is the median of ``--rounds`` interleaved rounds (each round times every variant
once, so load on a shared machine hits all variants alike); trace decoding is included, trace
generation and numba compilation are not. ``--compile`` also times a fresh numba compile.
Raw results: ``benchmarks/results/dram_throughput.json``.

Run: ``python benchmarks/dram_throughput.py`` (a few minutes on one core).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from archgym.simulators.dram import KNOB_VALUES, DRAMSimulator, generate_trace

ARCHGYM_DEVICE = "MICRON_1Gb_DDR3-1600_8bit_G"
TRACES = ("stream", "random", "cloud-1", "cloud-2")
POPULATION = 32
PER_REQUEST_N = 100_000
SCALING_N = (10_000, 100_000, 1_000_000)
REFERENCE_KREQ = {"DRAMsim3": (180, 290), "Ramulator 2": (175, 310)}
OUT = Path(__file__).parent / "results" / "dram_throughput.json"
_FIRST_CALL = (
    "import time; t = time.perf_counter();"
    "from archgym.simulators.dram import DRAMSimulator, generate_trace;"
    "t1 = time.perf_counter();"
    "DRAMSimulator().simulate({}, generate_trace('sequential', 1));"
    "print(t1 - t, time.perf_counter() - t1)"
)


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def random_designs(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        design = {}
        for knob, values in KNOB_VALUES.items():
            v = values[int(rng.integers(len(values)))]
            design[knob] = int(v) if isinstance(v, (int, np.integer)) else str(v)
        out.append(design)
    return out


def dramsys_walls(folder: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Median DRAMSys wall seconds per design (random designs) and for the default design."""
    per: dict[str, list[float]] = {t: [] for t in TRACES}
    for row in csv.DictReader(open(folder / "sweep60.csv")):
        per[row["trace"]].append(float(row["wall_s_median"]))
    default = {row["trace"]: float(row["wall_s_median_of_20"])
               for row in csv.DictReader(open(folder / "default_design.csv"))}
    return {t: statistics.median(v) for t, v in per.items()}, default


def first_call_seconds(cache_dir: str) -> tuple[float, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", _FIRST_CALL], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reference", type=Path, default=Path("/work/shared/data/dramsys_reference"))
    parser.add_argument("--compile", action="store_true", help="also time a fresh numba compile")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    results: dict = {"command": "python benchmarks/dram_throughput.py", "rounds": args.rounds,
                     "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()}

    # -- 1 + 2: per design on ArchGym's traces ------------------------------------------------
    sim = DRAMSimulator(ARCHGYM_DEVICE, workers=results["cpus"])  # every CPU, whatever NUMBA_NUM_THREADS
    designs = random_designs(POPULATION)
    walls, default_walls = dramsys_walls(args.reference)
    for trace in TRACES:  # warm up: compile, decode and cache the traces
        sim.evaluate({}, trace)
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    default = {k: v for k, v in next(csv.DictReader(open(args.reference / "default_design.csv"))).items()
               if k in KNOB_VALUES}
    for _ in range(args.rounds):
        for trace in TRACES:
            samples.setdefault(("loop", trace), []).append(
                timed(lambda: [sim.evaluate(d, trace) for d in designs]))
            samples.setdefault(("batch", trace), []).append(
                timed(lambda: sim.evaluate_batch(designs, trace)))
            samples.setdefault(("single", trace), []).append(
                timed(lambda: sim.evaluate(default, trace)))
    print(f"1. population of {POPULATION} random designs, ArchGym's 10k-request traces, "
          f"{ARCHGYM_DEVICE}; ms per design (median of {args.rounds} interleaved rounds), "
          f"evaluate_batch on {sim.workers} threads\n")
    header = (f"{'trace':<8} {'DRAMSys wall':>12} {'loop CPU':>9} {'loop wall':>10} "
              f"{'batch CPU':>10} {'batch wall':>11} {'speed-up (batch wall)':>22}")
    print(header)
    print("-" * len(header))
    population = {}
    for trace in TRACES:
        lw = statistics.median(s[0] for s in samples[("loop", trace)]) / POPULATION * 1e3
        lc = statistics.median(s[1] for s in samples[("loop", trace)]) / POPULATION * 1e3
        bw = statistics.median(s[0] for s in samples[("batch", trace)]) / POPULATION * 1e3
        bc = statistics.median(s[1] for s in samples[("batch", trace)]) / POPULATION * 1e3
        ref = walls[trace] * 1e3
        population[trace] = {"dramsys_wall_ms": ref, "loop_cpu_ms": lc, "loop_wall_ms": lw,
                             "batch_cpu_ms": bc, "batch_wall_ms": bw, "speedup_batch_wall": ref / bw}
        print(f"{trace:<8} {ref:>12.2f} {lc:>9.2f} {lw:>10.2f} {bc:>10.2f} {bw:>11.2f} "
              f"{ref / bw:>21.2f}x")
    results["population"] = population
    print(f"\n2. single design (ArchGym's default), ms per evaluation\n")
    header = f"{'trace':<8} {'DRAMSys wall':>12} {'CPU':>8} {'wall':>8} {'speed-up (wall)':>16}"
    print(header)
    print("-" * len(header))
    single = {}
    for trace in TRACES:
        w = statistics.median(s[0] for s in samples[("single", trace)]) * 1e3
        c = statistics.median(s[1] for s in samples[("single", trace)]) * 1e3
        ref = default_walls[trace] * 1e3
        single[trace] = {"dramsys_wall_ms": ref, "cpu_ms": c, "wall_ms": w, "speedup_wall": ref / w}
        print(f"{trace:<8} {ref:>12.2f} {c:>8.2f} {w:>8.2f} {ref / w:>15.2f}x")
    results["single"] = single

    # -- 3: per request -------------------------------------------------------------------------
    ddr4 = DRAMSimulator("DDR4_8Gb_x8_2400", address_mapping="rochrababgco")
    traces = {
        "sequential": generate_trace("sequential", PER_REQUEST_N),
        "random": generate_trace("random", PER_REQUEST_N, seed=1, read_fraction=2 / 3,
                                 address_space=1 << 34),
        "strided 4K": generate_trace("strided", PER_REQUEST_N, stride=4096),
    }
    scaling = {n: generate_trace("random", n, seed=1, read_fraction=2 / 3, address_space=1 << 34)
               for n in SCALING_N}
    ddr4.simulate({}, generate_trace("sequential", 10))
    per_req: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for name, trace in traces.items():
            per_req.setdefault(name, []).append(timed(lambda: ddr4.simulate({}, trace)))
    print(f"\n3. per request, {PER_REQUEST_N:,} requests, DDR4_8Gb_x8_2400, default controller, "
          f"one core (k requests per CPU second; wall beside)\n")
    header = f"{'trace':<11} {'k req/s CPU':>12} {'k req/s wall':>13} {'vs faster C++ ref. (CPU)':>25}"
    print(header)
    print("-" * len(header))
    request = {}
    best_ref = max(hi for _, hi in REFERENCE_KREQ.values())
    low_ref = max(lo for lo, _ in REFERENCE_KREQ.values())
    for name in traces:
        w = statistics.median(s[0] for s in per_req[name])
        c = statistics.median(s[1] for s in per_req[name])
        kc, kw = PER_REQUEST_N / c / 1e3, PER_REQUEST_N / w / 1e3
        request[name] = {"kreq_per_cpu_s": kc, "kreq_per_wall_s": kw,
                         "ratio_vs_best_reference": kc / best_ref, "ratio_vs_low_reference": kc / low_ref}
        print(f"{name:<11} {kc:>12.0f} {kw:>13.0f} {kc / best_ref:>12.2f}x-{kc / low_ref:.2f}x")
    print("   references (one core, not rebuilt here): "
          + ", ".join(f"{k} {lo}-{hi} k req/s" for k, (lo, hi) in REFERENCE_KREQ.items()))
    results["per_request"] = request
    results["per_request_references_kreq"] = REFERENCE_KREQ
    scale = {}
    for n, trace in scaling.items():
        w, c = timed(lambda: ddr4.simulate({}, trace))
        scale[n] = c / n * 1e6
    print("   scaling (random, CPU us per request): "
          + ", ".join(f"{n:,}: {v:.2f}" for n, v in scale.items()))
    results["scaling_us_per_request"] = scale

    if args.compile:
        with tempfile.TemporaryDirectory() as empty:
            _, compile_s = first_call_seconds(empty)
            _, cached_s = first_call_seconds(empty)
        print(f"\nnumba compile (fresh cache): {compile_s:.1f} s; first call with a warm cache: "
              f"{cached_s:.2f} s")
        results["compile_s"], results["first_call_warm_cache_s"] = compile_s, cached_s
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"\nraw results: {args.out}")


if __name__ == "__main__":
    main()
