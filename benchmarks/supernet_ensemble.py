"""Does a seed ensemble of ``archgym/Supernet-v2`` supernets rank NAS-Bench-201 cells better than parameter count?

Trains (or loads from ``--cache-dir``) ``--seeds`` supernets with v2's registered settings and seeds
0 .. N-1 (:func:`~archgym.simulators.nas.supernet_simulator.ensemble_configs`, as ``ensemble=N``
builds them), scores ``supernet_ranking.py``'s 200 cells with each member exactly as v2 does
(BatchNorm recalibration, ``split``, loss), and reports Kendall τ against NAS-Bench-201's CIFAR-10
validation accuracy for: each single seed, the ensembles of seeds 0 .. K-1 and of every window of
consecutive seeds (K = 2 .. N), combined by the mean loss (what ``ensemble=K`` scores) or by the
mean rank of the members' losses (within the cells ranked), and the parameter count — on the first
``--select`` cells (where K and the rule are chosen) and, held out, on the rest and on all.

Held-out discipline: the choice reads only the ``selection`` block; ``held_out`` and ``all`` are
measured afterwards. Results go to ``results/supernet_ensemble.json``.

Run: ``python benchmarks/supernet_ensemble.py --cache-dir DIR`` (about 270 s of training per
uncached member on a quiet core, 0.5 s per cell and member to score; ``--jobs 2`` scores two
members at a time).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone

import numpy as np
import torch
from scipy.stats import kendalltau, rankdata

import archgym  # noqa: F401  (registers the envs)
from archgym.simulators.nas.data_loaders import load_dataset
from archgym.simulators.nas.layers import count_params, skeleton_for
from archgym.simulators.nas.supernet import SupernetConfig, load_or_train_supernet
from archgym.simulators.nas.supernet_simulator import ensemble_configs
from archgym.simulators.nas.tabular import load_table
from results_io import save_results  # benchmarks/, beside this script
from supernet_ranking import env_settings, sample_cells

NAME = "supernet_ensemble"
ENV_ID = "archgym/Supernet-v2"
RULES = ("mean loss", "mean rank")


def member_losses(config: SupernetConfig, cells: list[tuple[str, ...]], cache_dir: str | None) -> tuple[list[float], float, bool]:
    """One member's loss on every cell, scored as v2 scores (its bn_batches and split); with its training time."""
    torch.set_num_threads(1)
    settings = env_settings(ENV_ID)
    start = time.perf_counter()
    supernet = load_or_train_supernet(config, load_dataset(settings["dataset"]), cache_dir=cache_dir)
    train_s = time.perf_counter() - start
    losses = [supernet.evaluate(c, bn_batches=settings["bn_batches"], split=settings["split"])["loss"] for c in cells]
    return losses, train_s, supernet.from_cache


def combined(losses: np.ndarray, rule: str) -> np.ndarray:
    """Score (higher = better) of each cell from the members' losses (members × cells)."""
    if rule == "mean loss":
        return -losses.mean(axis=0)
    return -np.mean([rankdata(member) for member in losses], axis=0)


def taus(losses: np.ndarray, params: np.ndarray, truth: np.ndarray) -> dict:
    """τ of every estimator on these cells (losses: members × cells)."""
    def tau(score: np.ndarray) -> float:
        return float(kendalltau(score, truth).statistic)

    seeds = len(losses)
    out: dict = {"parameter count": tau(params), "single seed": [tau(-member) for member in losses]}
    for k in range(2, seeds + 1):
        for rule in RULES:
            windows = [tau(combined(losses[start:start + k], rule)) for start in range(seeds - k + 1)]
            out[f"K={k} {rule}"] = {"seeds 0..K-1": windows[0], "windows": windows, "window mean": float(np.mean(windows))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="members trained: seeds 0 .. N-1")
    parser.add_argument("--archs", type=int, default=200, help="cells of supernet_ranking's sample")
    parser.add_argument("--select", type=int, default=100, help="the first cells, on which K and the rule are chosen")
    parser.add_argument("--cache-dir", default=None, help="supernet checkpoint folder (default: the user cache)")
    parser.add_argument("--jobs", type=int, default=1, help="members trained/scored at once (one thread each)")
    args = parser.parse_args()
    if not 0 < args.select < args.archs:
        parser.error(f"--select must lie between 0 and --archs ({args.archs}), got {args.select}")

    settings = env_settings(ENV_ID)
    base = SupernetConfig(mode=settings["mode"], channels=settings["channels"], cells_per_stage=settings["cells_per_stage"],
                          epochs=settings["epochs"], seed=settings["seed"], **dict(settings["train_kwargs"] or {}))
    configs = ensemble_configs(base, args.seeds)
    cells = sample_cells(args.archs, seed=0)
    table = load_table()
    truth = np.array([table.value("cifar10-valid-200.valid_acc", c) for c in cells])
    cifar10 = skeleton_for("cifar10")
    params = np.array([float(count_params(c, cifar10)) for c in cells])

    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(member_losses, configs, [cells] * len(configs), [args.cache_dir] * len(configs)))
    wall_s = time.perf_counter() - start
    losses = np.array([run[0] for run in runs])
    ranges = {"selection": slice(0, args.select), "held_out": slice(args.select, args.archs), "all": slice(0, args.archs)}
    result = {
        "command": " ".join(["python", *sys.argv]), "utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_1min": os.getloadavg()[0], "env_settings": settings, "seeds": [c.seed for c in configs],
        "cells": {name: [sl.start + 1, sl.stop] for name, sl in ranges.items()},
        "training_s": [run[1] for run in runs], "from_cache": [run[2] for run in runs], "wall_s": wall_s,
        "kendall_tau_nb201": {name: taus(losses[:, sl], params[sl], truth[sl]) for name, sl in ranges.items()},
        "loss": losses.tolist(),
    }
    # the choice: the ensemble size and rule with the best mean τ over seed windows on the selection cells only
    selection = result["kendall_tau_nb201"]["selection"]
    chosen = max((key for key in selection if key.startswith("K=")), key=lambda key: selection[key]["window mean"])
    result["chosen_on_selection"] = chosen
    for name, block in result["kendall_tau_nb201"].items():
        print(f"{name} (cells {result['cells'][name]}): parameter count {block['parameter count']:.3f}; single seeds "
              f"{[round(t, 3) for t in block['single seed']]}; chosen {chosen}: seeds 0..K-1 "
              f"{block[chosen]['seeds 0..K-1']:.3f}, window mean {block[chosen]['window mean']:.3f}")
    save_results(NAME, result)


if __name__ == "__main__":
    main()
