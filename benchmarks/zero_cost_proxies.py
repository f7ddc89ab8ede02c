"""How well do zero-cost proxies rank NAS-Bench-201 cells? Spearman ρ and Kendall τ vs trained accuracy.

Scores a seeded random sample of the 15,625 NB201 cells with every proxy of
:mod:`archgym.simulators.nas.proxies` and correlates each with the 200-epoch CIFAR-10
(``cifar10-valid`` split, mean of 3 seeds) validation accuracy of the shipped NAS-Bench-201 table
(:mod:`archgym.simulators.nas.tabular`); the
test accuracy of the same split (what Abdelfattah et al.'s reference notebook correlates) is
shown alongside. Cost on one CPU core decides the network sizes:

* data-free proxies (``synflow``, ``params``) run on NB201's own network (C=16, N=5);
* data-based proxies (``snip``, ``grad_norm``, ``jacob_cov``, ``naswot``) run on a reduced
  network (default C=16, N=1: one cell per stage) with one batch of 32 CIFAR-shaped
  upsampled ``load_digits`` images (:func:`~archgym.simulators.nas.proxies.proxy_batch`).
  The full network with a batch of 64 (``--cells-per-stage 5 --batch-size 64``) costs ~6x more
  (5.9 vs 1.0 s per cell for all six proxies); the published figures used real CIFAR-10
  batches of 64 on the full network.

Scores are appended to a CSV under ``benchmarks/results/`` named after the configuration, so a
rerun resumes where an interrupted one stopped and a finished one only prints the table.

Run: ``python benchmarks/zero_cost_proxies.py [--n 1000] [--seed 0]`` (17 minutes on one shared core).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core; set before numpy / torch are imported

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from archgym.simulators.nas.nb201 import arch_from_index, format_arch  # noqa: E402
from archgym.simulators.nas.proxies import PROXIES, score  # noqa: E402
from archgym.simulators.nas.tabular import load_table  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
#: Spearman |ρ| over all 15,625 cells on NB201 CIFAR-10 (test accuracy of the cifar10-valid split,
#: real CIFAR-10 batch of 64, full network), from the reference code's notebook
#: (SamsungLabs/zero-cost-nas, notebooks/nasbench201_correlations.ipynb, "Table 1"); Abdelfattah et al.
#: (ICLR 2021) round them to 0.59/0.60/0.74/0.73.
PUBLISHED_RHO = {"grad_norm": 0.594, "snip": 0.596, "synflow": 0.737, "jacob_cov": 0.731}
DATA_FREE = tuple(name for name, proxy in PROXIES.items() if not proxy.needs_data)


def load_accuracies() -> list[dict]:
    """Every NB201 cell in NAS-Bench-201's own index order: ops, arch string, valid and test accuracy."""
    table = load_table()
    valid = table.column("cifar10-valid-200.valid_acc")
    test = table.column("cifar10-valid-200.test_acc")
    cells = []
    for row, code in enumerate(table.codes):
        ops = arch_from_index(int(code))
        cells.append({"arch": format_arch(ops), "ops": ops, "valid_acc": float(valid[row]), "test_acc": float(test[row])})
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="architectures to score (seeded sample)")
    parser.add_argument("--first", type=int, default=None,
                        help="score only the first FIRST of the n sampled (e.g. to compare network sizes on a subset)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the sample, the initialisations and the batch")
    parser.add_argument("--channels", type=int, default=16, help="C of the network for data-based proxies")
    parser.add_argument("--cells-per-stage", type=int, default=1, help="N of the network for data-based proxies")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data", default="digits", choices=("digits", "gaussian"))
    args = parser.parse_args()

    table = load_accuracies()
    sample = [table[i] for i in np.random.default_rng(args.seed).choice(len(table), size=args.n, replace=False)]
    sample = sample[: args.first]
    data_options = dict(channels=args.channels, cells_per_stage=args.cells_per_stage, batch_size=args.batch_size, data=args.data)
    tag = f"seed{args.seed}_C{args.channels}N{args.cells_per_stage}B{args.batch_size}_{args.data}"
    path = RESULTS / f"zero_cost_scores_{tag}.csv"
    fields = ["arch", *PROXIES, *(f"{name}_s" for name in PROXIES)]
    done = {}
    if path.exists():
        with path.open(newline="") as handle:
            done = {row["arch"]: row for row in csv.DictReader(handle)}
    print(f"{sum(entry['arch'] in done for entry in sample)} of {len(sample)} architectures already scored in {path}", flush=True)

    RESULTS.mkdir(exist_ok=True)
    fresh = not path.exists()
    start = time.perf_counter()
    todo = [entry for entry in sample if entry["arch"] not in done]
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        if fresh:
            writer.writeheader()
        for count, entry in enumerate(todo, 1):
            row = {"arch": entry["arch"]}
            for name in PROXIES:
                options = {} if name in DATA_FREE else data_options  # data-free: NB201's full network
                t0 = time.perf_counter()
                row[name] = repr(score(entry["ops"], name, seed=args.seed, **options))
                row[f"{name}_s"] = f"{time.perf_counter() - t0:.4f}"
            writer.writerow(row)
            handle.flush()
            done[entry["arch"]] = row
            if count % 25 == 0 or count == len(todo):
                rate = (time.perf_counter() - start) / count
                print(f"{count}/{len(todo)} scored, {rate:.2f} s/arch, ~{rate * (len(todo) - count) / 60:.1f} min left", flush=True)

    rows = [done[entry["arch"]] for entry in sample]
    valid = np.array([entry["valid_acc"] for entry in sample])
    test = np.array([entry["test_acc"] for entry in sample])
    summary = {"n": len(sample), "seed": args.seed, "data_based_network": data_options, "proxies": {}}
    print(f"\nNAS-Bench-201 CIFAR-10, {len(sample)} architectures (seed {args.seed}); data-based proxies on "
          f"C={args.channels}, N={args.cells_per_stage}, batch {args.batch_size} ({args.data}); data-free on C=16, N=5\n")
    print("| proxy | network | Spearman ρ (valid) | Kendall τ (valid) | Spearman ρ (test) | published ρ (test) | non-finite | ms/arch |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name in PROXIES:
        values = np.array([float(row[name]) for row in rows])
        seconds = np.array([float(row[f"{name}_s"]) for row in rows])
        rho = stats.spearmanr(values, valid).statistic
        tau = stats.kendalltau(values, valid).statistic
        rho_test = stats.spearmanr(values, test).statistic
        network = "C16 N5" if name in DATA_FREE else f"C{args.channels} N{args.cells_per_stage} B{args.batch_size}"
        published = PUBLISHED_RHO.get(name)
        nonfinite = int(np.sum(~np.isfinite(values)))
        print(f"| {name} | {network} | {rho:.3f} | {tau:.3f} | {rho_test:.3f} | "
              f"{'—' if published is None else f'{published:.3f}'} | {nonfinite} | {1000 * seconds.mean():.0f} |")
        summary["proxies"][name] = {
            "spearman_valid": float(rho), "kendall_valid": float(tau), "spearman_test": float(rho_test),
            "published_spearman_test": published,
            "non_finite": nonfinite, "mean_seconds": float(seconds.mean()), "network": network,
        }
    print("\nnon-finite: cells that pass no signal, scored -inf and ranked last (jacob_cov: the output does not "
          "depend on the input; naswot: every image has the same ReLU code).\npublished: Spearman |ρ| over all 15,625 "
          "cells, real CIFAR-10 batch of 64, full network (Abdelfattah et al. ICLR 2021, reference notebook).")
    (RESULTS / f"zero_cost_proxies_{tag}_n{len(sample)}.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
