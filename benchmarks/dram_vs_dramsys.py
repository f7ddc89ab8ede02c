"""The DRAM simulator against ArchGym's own DRAMSys 4.0 binary, design by design.

Reference: ``/work/shared/data/dramsys_reference`` (``--reference`` to point elsewhere) — DRAMSys
4.0 as ArchGym ships and runs it (``ddr3-example.json``: MICRON_1Gb_DDR3-1600_8bit_G, address
mapping ``am_ddr3_8x1Gbx8_dimm_p1KB_rbc``, 800 MHz) on ArchGym's four 10,000-read traces, for
ArchGym's default design and 60 random designs over the 10 knobs. archgym simulates the same
design on the same trace, device and mapping (``DRAMSimulator("MICRON_1Gb_DDR3-1600_8bit_G")``).

Compared per trace (61 designs each): DRAMSys "Total Time" against ``sim_time_ns``, "Total
Energy" against ``energy_nj`` and "Average Power" against ``avg_power_mw``: Spearman rho and
Kendall tau over the designs, median / worst ratio (archgym / DRAMSys), the share of designs
within 1 % on both time and energy, and the time difference in memory cycles (1.25 ns).

Raw per-design results go to ``benchmarks/results/dram_vs_dramsys.json``.

Run: ``python benchmarks/dram_vs_dramsys.py`` (about a minute on one core).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

from archgym.simulators.dram import DRAMSimulator

KNOBS = ("PagePolicy", "Scheduler", "SchedulerBuffer", "RequestBufferSize", "RespQueue",
         "RefreshPolicy", "RefreshMaxPostponed", "RefreshMaxPulledin", "Arbiter",
         "MaxActiveTransactions")
TRACES = ("stream", "random", "cloud-1", "cloud-2")
DEVICE = "MICRON_1Gb_DDR3-1600_8bit_G"
TCK_NS = 1.25
QUANTITIES = {  # name: (archgym metric, scale to DRAMSys' unit, DRAMSys column)
    "total_time": ("sim_time_ns", 1.0, "total_time_ns"),
    "energy": ("energy_nj", 1000.0, "energy_pJ"),
    "power": ("avg_power_mw", 1.0, "power_mW"),
}
OUT = Path(__file__).parent / "results" / "dram_vs_dramsys.json"


def load_reference(folder: Path) -> list[dict]:
    rows = [dict(r) for r in csv.DictReader(open(folder / "sweep60.csv"))]
    for r in csv.DictReader(open(folder / "default_design.csv")):
        rows.append(dict(r, design_id="default"))
    return rows


def summary(ours: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    ratio = ours / ref
    worst = ratio[int(np.argmax(np.abs(ratio - 1.0)))]
    return {"spearman": float(spearmanr(ours, ref)[0]), "kendall": float(kendalltau(ours, ref)[0]),
            "median_ratio": float(np.median(ratio)), "worst_ratio": float(worst),
            "within_1pct": int(np.sum(np.abs(ratio - 1.0) <= 0.01))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", type=Path, default=Path("/work/shared/data/dramsys_reference"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rows = load_reference(args.reference)
    sim = DRAMSimulator(DEVICE)
    records = []
    start = time.perf_counter()
    for row in rows:
        design = {k: row[k] for k in KNOBS}
        metrics = sim.evaluate(design, row["trace"])
        rec = {"design_id": row["design_id"], "trace": row["trace"], "design": design}
        for name, (metric, scale, column) in QUANTITIES.items():
            rec[f"{name}_archgym"] = metrics[metric] * scale
            rec[f"{name}_dramsys"] = float(row[column])
        rec["time_diff_cycles"] = (rec["total_time_archgym"] - rec["total_time_dramsys"]) / TCK_NS
        records.append(rec)
    elapsed = time.perf_counter() - start

    per_trace = {}
    print(f"archgym ({sim.identity}) vs ArchGym's DRAMSys 4.0, {DEVICE}, "
          f"{len(rows) // len(TRACES)} designs per trace\n")
    header = (f"{'trace':<8} {'quantity':<10} {'spearman':>9} {'kendall':>8} {'median':>8} "
              f"{'worst':>8} {'within 1%':>10}")
    print(header)
    print("-" * len(header))
    for trace in TRACES:
        recs = [r for r in records if r["trace"] == trace]
        per_trace[trace] = {}
        for name in QUANTITIES:
            ours = np.array([r[f"{name}_archgym"] for r in recs])
            ref = np.array([r[f"{name}_dramsys"] for r in recs])
            s = summary(ours, ref)
            per_trace[trace][name] = s
            print(f"{trace:<8} {name:<10} {s['spearman']:>9.5f} {s['kendall']:>8.4f} "
                  f"{s['median_ratio']:>8.5f} {s['worst_ratio']:>8.5f} "
                  f"{s['within_1pct']:>6}/{len(recs)}")
        diffs = np.array([r["time_diff_cycles"] for r in recs])
        per_trace[trace]["exact_time"] = int(np.sum(diffs == 0))
    diffs = np.array([r["time_diff_cycles"] for r in records])
    both = sum(abs(r["total_time_archgym"] / r["total_time_dramsys"] - 1) <= 0.01
               and abs(r["energy_archgym"] / r["energy_dramsys"] - 1) <= 0.01 for r in records)
    exact = diffs == 0
    refresh = np.array([r["design"]["RefreshPolicy"] != "NoRefresh" for r in records])
    print(f"\nall {len(records)} runs: {both} within 1 % on time and energy; total time equal to "
          f"the cycle in {int(exact.sum())} ({int(exact[~refresh].sum())}/{int((~refresh).sum())} "
          f"NoRefresh runs, {int(exact[refresh].sum())}/{int(refresh.sum())} AllBank runs); "
          f"largest difference {int(np.max(np.abs(diffs)))} cycles "
          f"({max(abs(r['total_time_archgym'] / r['total_time_dramsys'] - 1) for r in records):.3%})")
    print(f"archgym simulated the {len(records)} runs in {elapsed:.1f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "simulator": sim.identity, "device": DEVICE, "reference": "DRAMSys 4.0 (ArchGym binary)",
        "command": "python benchmarks/dram_vs_dramsys.py", "per_trace": per_trace,
        "runs": records, "archgym_seconds": elapsed}, indent=1))
    print(f"raw results: {args.out}")


if __name__ == "__main__":
    main()
