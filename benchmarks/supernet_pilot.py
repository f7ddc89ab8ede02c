"""Pilot for ``supernet_ranking.py``: how well does one supernet configuration rank the benchmark's cells?

Trains (or loads from ``--cache-dir``) one SPOS/FairNAS/DARTS/GDAS supernet on digits with the
:class:`~archgym.simulators.nas.supernet.SupernetConfig` fields given as JSON, scores the first
``--archs`` cells of ``supernet_ranking.py``'s sample (:func:`supernet_ranking.sample_cells`, the
same seeded cells) with inherited weights, and reports Kendall τ of three scores — validation
accuracy, negated validation loss (``--split all``: both on the train and validation images
together), and the cell's parameter count (the baseline) — against
NAS-Bench-201's CIFAR-10 validation accuracy, and against the stand-alone digits truth stored in
``results/supernet_ranking.json`` (its first cells). Each run is added under ``--name`` to
``results/supernet_pilot.json`` (with its own command, time and 1-minute load).

Example: ``python benchmarks/supernet_pilot.py --name fair20 --config '{"epochs": 20, "sampling": "fair"}'``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone

import numpy as np
import torch
from scipy.stats import kendalltau

from archgym.simulators.nas.data_loaders import load_dataset
from archgym.simulators.nas.layers import count_params, skeleton_for
from archgym.simulators.nas.supernet import SupernetConfig, load_or_train_supernet
from archgym.simulators.nas.tabular import load_table
from results_io import RESULTS_DIR, save_results  # benchmarks/, beside this script
from supernet_ranking import previous_standalone, sample_cells

NAME = "supernet_pilot"


def tau(estimate: list[float], truth: list[float]) -> float:
    return float(kendalltau(estimate, truth).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="the run's key in results/supernet_pilot.json")
    parser.add_argument("--config", default="{}", help="SupernetConfig fields as a JSON object")
    parser.add_argument("--bn", type=int, default=16, help="BatchNorm recalibration batches per cell")
    parser.add_argument("--split", default="valid", help="the images cells are scored on: valid | all (train + valid)")
    parser.add_argument("--archs", type=int, default=100, help="the first cells of supernet_ranking's sample")
    parser.add_argument("--cache-dir", default=None, help="supernet checkpoint folder (default: the user cache)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    config = SupernetConfig(**json.loads(args.config))
    data = load_dataset("digits")
    cells = sample_cells(args.archs, seed=0)
    table = load_table()
    truth = [table.value("cifar10-valid-200.valid_acc", c) for c in cells]
    solo_args = argparse.Namespace(standalone_seeds=3, standalone_epochs=8, seed=0)
    standalone = None
    for count in range(min(args.archs, 24), 2, -1):  # the longest stored prefix of these cells
        standalone = previous_standalone(cells[:count], solo_args)
        if standalone is not None:
            break
    solo = [float(np.mean([r["accuracy"] for r in run])) for run in standalone or []]

    start = time.perf_counter()
    supernet = load_or_train_supernet(config, data, cache_dir=args.cache_dir)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    metrics = [supernet.evaluate(c, bn_batches=args.bn, split=args.split) for c in cells]
    eval_s = (time.perf_counter() - start) / len(cells)
    cifar10 = skeleton_for("cifar10")
    scores = {
        "parameter count": [float(count_params(c, cifar10)) for c in cells],
        "accuracy": [m["accuracy"] for m in metrics],
        "-loss": [-m["loss"] for m in metrics],
    }
    k = len(solo)
    run = {
        "command": " ".join(["python", *sys.argv]), "utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_1min": os.getloadavg()[0], "config": json.loads(args.config), "bn_batches": args.bn, "split": args.split,
        "archs": args.archs, "from_cache": supernet.from_cache, "training_s": train_s, "evaluation_s_per_cell": eval_s,
        "kendall_tau_nb201": {name: tau(s, truth) for name, s in scores.items()},
        "kendall_tau_standalone": {name: tau(s[:k], solo) for name, s in scores.items()} if k > 2 else None,
        "standalone_cells": k, "accuracy": scores["accuracy"], "loss": [-v for v in scores["-loss"]],
    }
    print(f"{args.name}: τ vs NB201 ({args.archs} cells) {run['kendall_tau_nb201']}; "
          f"vs stand-alone ({k} cells) {run['kendall_tau_standalone']}; "
          f"training {train_s:.0f} s{' (cached)' if supernet.from_cache else ''}, {eval_s * 1000:.0f} ms per cell")
    path = RESULTS_DIR / f"{NAME}.json"
    runs = json.loads(path.read_text())["results"]["runs"] if path.exists() else {}
    runs[args.name] = run
    save_results(NAME, {"runs": runs})


if __name__ == "__main__":
    main()
