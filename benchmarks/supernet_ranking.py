"""How well does a weight-sharing supernet rank NAS-Bench-201 cells? Kendall τ against stand-alone training.

Setup (all on scikit-learn's 8×8 digits, the same seeded train/validation split, CPU, one thread):

1. Sample ``--archs`` distinct cells uniformly from the 15,625 (seeded), skipping cells whose
   output does not depend on the input (they sit at chance level under any estimator and
   would inflate τ with trivial pairs) and isomorphic duplicates (:func:`nb201.canonical_key`).
2. Train every cell stand-alone from scratch with ``--standalone-seeds`` seeds; the mean
   validation accuracy (and mean validation loss) is the ground truth. The mean τ between
   pairs of single stand-alone seeds is the noise level: on digits the cells' stand-alone
   accuracies lie within about two points, so seed noise is of the same size as the
   differences being ranked (the loss, which is not quantised to 1/450, is less noisy).
3. Train one supernet per mode of ``--modes`` — SPOS, first-order DARTS, GDAS (same network
   size and data) — and score every cell with inherited weights, with the supernet's BatchNorm
   statistics and after recalibrating them on ``--bn-batches`` train batches.
4. Report Kendall τ and Spearman ρ between each estimate and the ground truth (accuracy vs
   accuracy, and loss vs loss), the
   stand-alone accuracy of each supernet's top-ranked sampled cell, and the selected cells
   trained stand-alone (DARTS: argmax α and perturbation-based selection; GDAS: argmax α).

Whatever comes out is reported as measured. Run: ``python benchmarks/supernet_ranking.py``
(about 8 CPU-minutes at the defaults; ``--quick`` for a smoke run). ``--modes gdas
--reuse-standalone`` adds one mode's rows to the results file without retraining the
stand-alone ground truth, which it takes from that file (only if made for the same cells and
stand-alone settings; the other modes' rows there are kept).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

from archgym.simulators.nas import nb201
from archgym.simulators.nas.data_loaders import load_dataset
from archgym.simulators.nas.supernet import SupernetConfig, TrainConfig, train_standalone, train_supernet

RESULTS = Path(__file__).parent / "results" / "supernet_ranking.json"
#: the supernet modes this benchmark can run, in table order
MODES: tuple[str, ...] = ("spos", "darts", "gdas")
#: the arguments that decide the sampled cells and their stand-alone ground truth
STANDALONE_ARGS: tuple[str, ...] = (
    "archs", "standalone_seeds", "standalone_epochs", "channels", "cells_per_stage", "seed",
)


def sample_cells(count: int, seed: int) -> list[tuple[str, ...]]:
    """``count`` connected, pairwise non-isomorphic cells drawn uniformly (seeded)."""
    rng = np.random.default_rng(seed)
    cells, keys = [], set()
    while len(cells) < count:
        ops = nb201.arch_from_index(int(rng.integers(nb201.NUM_ARCHS)))
        key = nb201.canonical_key(ops)
        if nb201.is_connected(ops) and key not in keys:
            keys.add(key)
            cells.append(ops)
    return cells


def correlation(estimate: list[float], truth: list[float]) -> tuple[float, float]:
    return float(kendalltau(estimate, truth).statistic), float(spearmanr(estimate, truth).statistic)


def previous_results(args: argparse.Namespace, cells: list[tuple[str, ...]]) -> dict:
    """The results file, checked to hold the stand-alone runs of exactly these cells and settings."""
    if not RESULTS.exists():
        raise SystemExit(f"--reuse-standalone: no results file at {RESULTS}; run without it first")
    previous = json.loads(RESULTS.read_text())
    differing = [f"--{k.replace('_', '-')} {previous['args'].get(k)} there, {getattr(args, k)} here"
                 for k in STANDALONE_ARGS if previous["args"].get(k) != getattr(args, k)]
    if differing or previous["cells"] != [nb201.format_arch(c) for c in cells]:
        reason = "; ".join(differing) or "cell list"
        raise SystemExit(f"--reuse-standalone: {RESULTS} was made for other cells ({reason})")
    return previous


def row_mode(row: dict) -> str | None:
    """The supernet mode a result row belongs to (``None`` for the seed-noise row)."""
    mode = row["estimator"].split()[0]
    return mode if mode in MODES else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=24)
    parser.add_argument("--standalone-seeds", type=int, default=3)
    parser.add_argument("--standalone-epochs", type=int, default=8)
    parser.add_argument("--spos-epochs", type=int, default=40)
    parser.add_argument("--darts-epochs", type=int, default=15)
    parser.add_argument("--gdas-epochs", type=int, default=15)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="supernet modes to run")
    parser.add_argument("--reuse-standalone", action="store_true",
                        help="take the stand-alone results from the results file and merge the new rows into it")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--cells-per-stage", type=int, default=1)
    parser.add_argument("--bn-batches", type=int, default=4)
    parser.add_argument("--finetune-epochs", type=int, default=1, help="perturbation selection: tuning after each edge")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.archs, args.standalone_seeds, args.standalone_epochs = 4, 1, 1
        args.spos_epochs = args.darts_epochs = args.gdas_epochs = 1
        args.finetune_epochs = 0

    data = load_dataset("digits")
    size = dict(channels=args.channels, cells_per_stage=args.cells_per_stage)
    cells = sample_cells(args.archs, args.seed)
    print(f"digits: {len(data.train_y)} train / {len(data.valid_y)} valid images; C={args.channels}, "
          f"N={args.cells_per_stage}; {len(cells)} cells; {args.standalone_seeds} stand-alone seed(s) x "
          f"{args.standalone_epochs} epochs", flush=True)

    def standalone(ops: tuple[str, ...]) -> list[dict[str, float]]:
        return [train_standalone(ops, data, TrainConfig(epochs=args.standalone_epochs, seed=s, **size))
                for s in range(args.standalone_seeds)]

    previous = previous_results(args, cells) if args.reuse_standalone else None
    start = time.perf_counter()
    runs = previous["standalone"] if previous else [standalone(ops) for ops in cells]
    truth = [float(np.mean([r["accuracy"] for r in run])) for run in runs]
    truth_loss = [float(np.mean([r["loss"] for r in run])) for run in runs]
    timings = dict(previous["timings_s"]) if previous else {"standalone_s": time.perf_counter() - start}
    reused = f" (reused from {RESULTS})" if previous else ""
    print(f"stand-alone training: {timings['standalone_s']:.0f} s{reused}; accuracy {min(truth):.3f}..{max(truth):.3f}",
          flush=True)

    rows: list[dict] = []
    pairs = list(itertools.combinations(range(args.standalone_seeds), 2))
    if pairs:
        def seed_agreement(metric: str) -> tuple[float, float]:
            values = [correlation([run[a][metric] for run in runs], [run[b][metric] for run in runs]) for a, b in pairs]
            return tuple(float(np.mean(v)) for v in zip(*values))  # type: ignore[return-value]

        (tau, rho), (tau_loss, rho_loss) = seed_agreement("accuracy"), seed_agreement("loss")
        rows.append({"estimator": "another stand-alone seed (noise level, mean over seed pairs)", "kendall_tau": tau,
                     "spearman_rho": rho, "kendall_tau_loss": tau_loss, "spearman_rho_loss": rho_loss})

    if previous:  # the modes not rerun keep their rows and selections
        rows += [row for row in previous["rows"] if row_mode(row) not in (None, *args.modes)]
        # files written before GDAS named the DARTS selections without their mode
        kept = {(key if key.split()[0] in MODES else f"darts {key}"): value
                for key, value in previous["selections"].items()}
        selections: dict[str, dict] = {key: value for key, value in kept.items() if key.split()[0] not in args.modes}
    else:
        selections = {}
    for mode in sorted(args.modes, key=MODES.index):
        epochs = getattr(args, f"{mode}_epochs")
        start = time.perf_counter()
        supernet = train_supernet(SupernetConfig(mode=mode, epochs=epochs, seed=args.seed, **size), data)
        timings[f"{mode}_train_s"] = time.perf_counter() - start
        print(f"{mode}: {epochs} epochs in {timings[f'{mode}_train_s']:.0f} s", flush=True)
        for bn in (0, args.bn_batches):
            metrics = [supernet.evaluate(ops, bn_batches=bn) for ops in cells]
            estimate = [m["accuracy"] for m in metrics]
            tau, rho = correlation(estimate, truth)
            tau_loss, rho_loss = correlation([m["loss"] for m in metrics], truth_loss)
            top = int(np.argmax(estimate))
            rows.append({
                "estimator": f"{mode} supernet, BN {'recalibrated on ' + str(bn) + ' batches' if bn else 'running stats'}",
                "kendall_tau": tau, "spearman_rho": rho, "kendall_tau_loss": tau_loss, "spearman_rho_loss": rho_loss,
                "top1_standalone": truth[top], "estimate_range": [min(estimate), max(estimate)],
            })
        methods = {"argmax α": supernet.select_argmax} if supernet.alpha is not None else {}
        if mode == "darts":
            methods["perturbation"] = lambda: supernet.select_perturbation(finetune_epochs=args.finetune_epochs,
                                                                           seed=args.seed)
        for method, select in methods.items():
            ops = select()
            accuracy = float(np.mean([r["accuracy"] for r in standalone(ops)]))
            selections[f"{mode} {method}"] = {
                "arch": nb201.format_arch(ops), "standalone_accuracy": accuracy,
                "better_than_sampled": float(np.mean([accuracy > t for t in truth])),
            }

    print("\n| estimator | Kendall τ (acc.) | Spearman ρ (acc.) | Kendall τ (loss) | Spearman ρ (loss) "
          "| stand-alone acc. of its top-1 cell |")
    print("|---|---|---|---|---|---|")
    rows.sort(key=lambda row: -1 if row_mode(row) is None else MODES.index(row_mode(row)))
    for row in rows:
        top = f"{row['top1_standalone']:.3f}" if "top1_standalone" in row else "—"
        print(f"| {row['estimator']} | {row['kendall_tau']:.3f} | {row['spearman_rho']:.3f} | "
              f"{row['kendall_tau_loss']:.3f} | {row['spearman_rho_loss']:.3f} | {top} |")
    print(f"\nbest sampled cell stand-alone: {max(truth):.3f}; median {float(np.median(truth)):.3f}")
    print("\n| selection | cell | stand-alone acc. | share of sampled cells it beats |")
    print("|---|---|---|---|")
    for method, sel in selections.items():
        print(f"| {method} | `{sel['arch']}` | {sel['standalone_accuracy']:.3f} | {sel['better_than_sampled']:.0%} |")
    print("\ntimings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))

    if not args.quick:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps({
            # after a merge, the modes whose rows the file holds (each with its --<mode>-epochs)
            "args": {**vars(args), "modes": sorted({row_mode(r) for r in rows} - {None}, key=MODES.index)},
            "cells": [nb201.format_arch(c) for c in cells], "standalone": runs,
            "rows": rows, "selections": selections, "timings_s": timings,
        }, indent=1))
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
