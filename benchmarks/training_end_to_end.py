"""End-to-end step times of random Training-v0 designs: archgym vs ASTRA-sim.

For random feasible designs of ``archgym/Training-v0``'s design space (64 NPUs by default) and the
workloads GPT-3 1.3B (global batch 64) and ``resnet50``, the whole training step is written as ASTRA-sim inputs
(:mod:`archgym.simulators.training.astrasim`: per-NPU Chakra traces with roofline compute nodes,
TP / DP all-reduces over their network dimensions, GPipe send/recv) and simulated by ASTRA-sim's
congestion-unaware analytical backend; archgym's :class:`TrainingSimulator` (with ASTRA-sim's
single local memory bandwidth, :func:`~archgym.simulators.training.astrasim.matching_simulator`)
evaluates the same designs. Printed: Spearman ρ and Kendall τ of the step times, the
archgym / ASTRA-sim ratio (median, worst), per workload and overall, and the cost of one
ASTRA-sim run beside one archgym evaluation.

Two modes::

    # run ASTRA-sim (built from source, see tests/data/astrasim_reference/README.md) and store the
    # reference step times in tests/data/astrasim_reference/end_to_end.csv
    python benchmarks/training_end_to_end.py --astrasim /path/to/astra-sim [--designs 20]

    # compare against the stored reference only (no ASTRA-sim needed; what the tests check)
    python benchmarks/training_end_to_end.py

Raw results: ``benchmarks/results/training_end_to_end.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from archgym.envs.training import training_design_space
from archgym.simulator import SimulationError
from archgym.simulators.training.astrasim import (
    ASTRASIM_COMMIT,
    export_design,
    load_chakra_schema,
    matching_simulator,
    run_astrasim,
    write_inputs,
)
from results_io import save_results  # benchmarks/results_io.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "astrasim_reference" / "end_to_end.csv"
#: GPT-3 1.3B's shape (24 layers, hidden 2048, 16 heads, sequence 2048) with a global batch of 64 sequences
#: instead of 512: ASTRA-sim's run time grows with the micro-batches in flight, and 64 keeps one run
#: within seconds to minutes on 2 cores; ResNet-50 as built in (batch 4096, micro-batch 16)
GPT = "gpt:layers=24,hidden=2048,heads=16,seq=2048,batch=64"
WORKLOADS = (GPT, "resnet50")
BINARY = "build/astra_analytical/build/bin/AstraSim_Analytical_Congestion_Unaware"
FIELDS = ("workload", "npus", "design", "astrasim_step_ns", "astrasim_min_finish_ns", "astrasim_cpu_s", "et_nodes",
          "write_s")


def _label(workload: str) -> str:
    return "gpt-1.3b" if workload == GPT else workload


def sample_designs(workload: str, npus: int, count: int, seed: int) -> list[dict]:
    """``count`` random designs of Training-v0's space that archgym finds feasible for ``workload``."""
    sim = matching_simulator(npus=npus)
    space = training_design_space(npus)
    rng = np.random.default_rng(seed)
    out, seen, tries = [], set(), 0
    while len(out) < count:
        tries += 1
        if tries > 200_000:
            raise RuntimeError(f"found only {len(out)} feasible designs for {workload}")
        design = space.sample(rng)
        key = json.dumps(design, sort_keys=True)
        if key in seen:
            continue
        try:
            export_design(sim, design, workload)
        except SimulationError:
            continue
        seen.add(key)
        out.append(design)
    return out


def run_reference(astrasim: Path, npus: int, designs_per_workload: int, seed: int, limit_s: float,
                  cache: Path) -> tuple[list[dict], list[dict]]:
    """Simulate sampled designs in ASTRA-sim; ``(rows, skipped)``: one row per design (see
    :data:`FIELDS`), and the designs whose run took longer than ``limit_s`` seconds. Finished runs are
    kept in ``cache`` (JSON lines), so an interrupted benchmark resumes where it stopped."""
    binary = astrasim / BINARY
    schema = load_chakra_schema(astrasim)
    sim = matching_simulator(npus=npus)
    done = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            entry = json.loads(line)
            done[(entry["workload"], entry["npus"], entry["design"])] = entry
    rows, skipped = [], []
    for w, workload in enumerate(WORKLOADS):
        for i, design in enumerate(sample_designs(workload, npus, designs_per_workload, seed + w)):
            key = (workload, npus, json.dumps(design, sort_keys=True))
            entry = done.get(key)
            if entry is None:
                entry = _run_one(binary, schema, sim, design, workload, npus, limit_s)
                with open(cache, "a") as fh:
                    fh.write(json.dumps(entry) + "\n")
            if entry.get("skipped"):
                skipped.append(entry)
                print(f"{_label(workload):10} {i:3d} tp={design['tp']:<2} pp={design['pp']:<2} {design['shape']:8} "
                      f"skipped: {entry['skipped']}", flush=True)
                continue
            rows.append({k: entry[k] for k in FIELDS})
            print(f"{_label(workload):10} {i:3d} tp={design['tp']:<2} pp={design['pp']:<2} {design['shape']:8} "
                  f"ASTRA-sim {entry['astrasim_step_ns'] / 1e6:10.3f} ms  ({entry['astrasim_cpu_s']:6.2f} CPU-s, "
                  f"{entry['et_nodes']:,} nodes)", flush=True)
    return rows, skipped


def _run_one(binary: Path, schema, sim, design: dict, workload: str, npus: int, limit_s: float) -> dict:
    inputs = export_design(sim, design, workload)
    entry = dict(workload=workload, npus=npus, design=json.dumps(design, sort_keys=True), et_nodes=inputs.node_count())
    with tempfile.TemporaryDirectory(dir=os.environ.get("ASTRASIM_TMP")) as tmp:
        start = time.perf_counter()
        paths = write_inputs(inputs, tmp, schema)
        entry["write_s"] = round(time.perf_counter() - start, 3)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            step, finish = run_astrasim(binary, paths, timeout=limit_s)
        except subprocess.TimeoutExpired:
            entry["skipped"] = f"ASTRA-sim ran over {limit_s:g} s (wall)"
            return entry
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    entry.update(astrasim_step_ns=int(step), astrasim_min_finish_ns=int(min(finish.values())),
                 astrasim_cpu_s=round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 3))
    return entry


def read_reference(path: Path = REFERENCE) -> list[dict]:
    with open(path) as fh:
        return [r for r in csv.DictReader(line for line in fh if not line.startswith("#"))]


def write_reference(rows: list[dict], path: Path = REFERENCE) -> None:
    with open(path, "w", newline="") as fh:
        fh.write(f"# ASTRA-sim {ASTRASIM_COMMIT} congestion-unaware analytical backend; inputs from "
                 "archgym.simulators.training.astrasim (see README.md)\n")
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def compare(rows: list[dict]) -> dict:
    """archgym's step time for every stored design beside ASTRA-sim's; rank statistics and ratios."""
    from scipy.stats import kendalltau, spearmanr

    sims: dict[int, object] = {}
    out = []
    for r in rows:
        npus = int(r["npus"])
        sim = sims.setdefault(npus, matching_simulator(npus=npus))
        design = json.loads(r["design"])
        start = time.process_time()
        m = sim.evaluate(design, r["workload"])
        ours_s = time.process_time() - start
        ref = float(r["astrasim_step_ns"]) / 1e6
        out.append(dict(workload=r["workload"], design=design, astrasim_ms=ref, archgym_ms=m["step_time_ms"],
                        ratio=m["step_time_ms"] / ref, astrasim_cpu_s=float(r["astrasim_cpu_s"]), archgym_cpu_s=ours_s,
                        tp_comm_ms=m["tp_comm_ms"], dp_comm_ms=m["dp_comm_ms"], pp_comm_ms=m["pp_comm_ms"],
                        bubble_ms=m["bubble_ms"], compute_ms=m["compute_time_ms"]))

    def stats(sel: list[dict]) -> dict:
        a = [r["astrasim_ms"] for r in sel]
        b = [r["archgym_ms"] for r in sel]
        ratios = np.array([r["ratio"] for r in sel])
        worst = ratios[np.argmax(np.abs(np.log(ratios)))]
        return dict(designs=len(sel), spearman=float(spearmanr(a, b)[0]), kendall=float(kendalltau(a, b)[0]),
                    median_ratio=float(np.median(ratios)), worst_ratio=float(worst),
                    within_5pct=int(np.sum(np.abs(ratios - 1) <= 0.05)))

    summary = {w: stats([r for r in out if r["workload"] == w]) for w in sorted({r["workload"] for r in out})}
    summary["all"] = stats(out)
    return dict(rows=out, summary=summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--astrasim", type=Path, default=None,
                        help="ASTRA-sim source tree, built (runs ASTRA-sim and rewrites the stored reference)")
    parser.add_argument("--designs", type=int, default=20, help="random designs per workload (with --astrasim)")
    parser.add_argument("--npus", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--limit", type=float, default=240.0,
                        help="seconds one ASTRA-sim run may take (wall); slower designs are skipped and listed")
    parser.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / "results" / "training_end_to_end_runs.jsonl",
                        help="finished ASTRA-sim runs (JSON lines), reused when the benchmark is run again")
    args = parser.parse_args()

    skipped: list[dict] = []
    if args.astrasim is not None:
        rows, skipped = run_reference(args.astrasim, args.npus, args.designs, args.seed, args.limit, args.cache)
        write_reference(rows, args.reference)
        print(f"wrote {args.reference}; {len(skipped)} design(s) skipped (ASTRA-sim over {args.limit:g} s)")
    rows = read_reference(args.reference)
    result = compare(rows)
    for r in result["rows"]:
        d = r["design"]
        print(f"{_label(r['workload']):10} {d['shape']:8} tp={d['tp']:<2} pp={d['pp']:<2} chunks={d['chunks']:<2} "
              f"ASTRA-sim {r['astrasim_ms']:10.3f} ms  archgym {r['archgym_ms']:10.3f} ms  ratio {r['ratio']:.4f}")
    print(f"{'workload':10} {'designs':>7} {'Spearman':>8} {'Kendall':>8} {'median ratio':>12} {'worst ratio':>11} {'within 5 %':>10}")
    for w, s in result["summary"].items():
        print(f"{_label(w):10} {s['designs']:7d} {s['spearman']:8.4f} {s['kendall']:8.4f} {s['median_ratio']:12.4f} "
              f"{s['worst_ratio']:11.4f} {s['within_5pct']:10d}")
    astra = np.array([r["astrasim_cpu_s"] for r in result["rows"]])
    ours = np.array([r["archgym_cpu_s"] for r in result["rows"]])
    print(f"cost per design: ASTRA-sim {np.median(astra):.2f} CPU-s median (max {astra.max():.1f}; trace writing not "
          f"counted), archgym {np.median(ours) * 1e3:.2f} CPU-ms median (scalar evaluate, cold caches) -> "
          f"{np.median(astra) / np.median(ours):,.0f}x; load average {os.getloadavg()[0]:.1f}")
    save_results("training_end_to_end", dict(reference=str(args.reference.relative_to(ROOT)) if args.reference.is_relative_to(ROOT)
                                             else str(args.reference), astrasim_commit=ASTRASIM_COMMIT, skipped=skipped, **result))


if __name__ == "__main__":
    main()
