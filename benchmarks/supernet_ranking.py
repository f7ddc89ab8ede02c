"""Does the weight-sharing supernet rank NAS-Bench-201 cells better than counting their parameters?

Setup (CPU, one thread):

1. Cells: ``--archs`` distinct cells drawn uniformly from the 15,625 (seeded), skipping cells
   whose output does not depend on the input (chance level under any estimator: trivial pairs)
   and isomorphic duplicates (:func:`nb201.canonical_key`).
2. Ground truths:

   * NAS-Bench-201's 200-epoch CIFAR-10 validation accuracy (its ``cifar10-valid`` split, mean
     of 3 seeds; the shipped exact table, :mod:`archgym.simulators.nas.tabular`), for every cell;
   * stand-alone training on the supernet's own data (scikit-learn's digits, the same seeded
     split): the first ``--standalone-archs`` cells trained from scratch with
     ``--standalone-seeds`` seeds each (mean validation accuracy). The mean τ between pairs of
     single seeds is that truth's own noise level.

3. Estimators: the parameter count (the trivial baseline) and FLOPs of each cell, and
   ``archgym/Supernet-v0``, ``-v1`` and ``-v2`` built with their registered defaults (trained on
   digits into a fresh cache folder, so the construction time is real, unless ``--cache-dir``
   names a checkpoint folder) scoring every cell with inherited weights exactly as the env does:
   the env's default reward (validation accuracy for v0 and v1, negated validation loss for v2).
   ``--reuse-estimates [ENV_ID ...]`` takes the named envs' scores (no ids: every env's) from the
   results file when it holds the same cells and the same env settings (weights and scores are
   seeded, so they would come out equal).
4. Kendall τ and Spearman ρ of every estimator against both truths, on the same cells.
5. What a CIFAR-10 run would cost: seconds per training batch of each env's supernet on
   CIFAR-10-sized inputs (random pixels; the time does not depend on the values), measured here,
   times the batches of its training run on NAS-Bench-201's 25,000-image train half. An
   estimate, not a measured CIFAR-10 run.

Run: ``python benchmarks/supernet_ranking.py`` (about 10 CPU-minutes with the stand-alone truth
reused from the results file via ``--reuse-standalone``; stand-alone training adds about 20 s per
cell and seed on a shared core). ``--quick``: a smoke run that writes nothing.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import json
import tempfile
import time

import gymnasium as gym
import numpy as np
import torch
from scipy.stats import kendalltau, spearmanr

import archgym  # noqa: F401  (registers the envs)
from archgym.envs.supernet import SupernetEnv
from archgym.simulators.nas import nb201
from archgym.simulators.nas.data_loaders import load_dataset
from archgym.simulators.nas.layers import count_flops, count_params, skeleton_for
from archgym.simulators.nas.sampling import steps_per_epoch
from archgym.simulators.nas.supernet import TrainConfig, build_network, train_standalone
from archgym.simulators.nas.tabular import load_table
from results_io import RESULTS_DIR, save_results  # benchmarks/results_io.py, beside this script

NAME = "supernet_ranking"
#: the env versions compared
ENV_IDS: tuple[str, ...] = ("archgym/Supernet-v0", "archgym/Supernet-v1", "archgym/Supernet-v2")
#: NAS-Bench-201's CIFAR-10 train half (its cifar10-valid split), the images one epoch trains on
NB201_TRAIN_IMAGES = 25_000
#: the arguments that decide the stand-alone ground truth
STANDALONE_ARGS: tuple[str, ...] = ("standalone_seeds", "standalone_epochs", "seed")


def sample_cells(count: int, seed: int) -> list[tuple[str, ...]]:
    """``count`` connected, pairwise non-isomorphic cells drawn uniformly (seeded); a shorter
    list is a prefix of a longer one with the same seed."""
    rng = np.random.default_rng(seed)
    cells, keys = [], set()
    while len(cells) < count:
        ops = nb201.arch_from_index(int(rng.integers(nb201.NUM_ARCHS)))
        key = nb201.canonical_key(ops)
        if nb201.is_connected(ops) and key not in keys:
            keys.add(key)
            cells.append(ops)
    return cells


def correlation(estimate: list[float], truth: list[float]) -> dict[str, float]:
    return {"kendall_tau": float(kendalltau(estimate, truth).statistic),
            "spearman_rho": float(spearmanr(estimate, truth).statistic)}


#: the constructor arguments that decide an env's scores
SETTINGS: tuple[str, ...] = (
    "mode", "dataset", "channels", "cells_per_stage", "epochs", "seed", "ensemble", "bn_batches", "split", "train_kwargs",
    "targets",
)


def env_defaults() -> dict:
    """SupernetEnv's constructor defaults."""
    return {name: p.default for name, p in inspect.signature(SupernetEnv).parameters.items()
            if p.default is not inspect.Parameter.empty}


def env_settings(env_id: str) -> dict:
    """The constructor arguments ``gym.make(env_id)`` uses: SupernetEnv's defaults plus the registration's."""
    settings = {**env_defaults(), **gym.spec(env_id).kwargs}
    return {name: settings[name] for name in SETTINGS}


def previous_standalone(cells: list[tuple[str, ...]], args: argparse.Namespace) -> list | None:
    """Stand-alone runs of exactly these cells and settings from the results file (its current
    layout, or the earlier one that stored ``args``/``cells``/``standalone`` at the top level)."""
    path = RESULTS_DIR / f"{NAME}.json"
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    saved = saved.get("results", saved)
    settings = saved.get("standalone_settings") or {k: saved["args"].get(k) for k in STANDALONE_ARGS}
    wanted = [nb201.format_arch(c) for c in cells]
    if any(settings.get(k) != getattr(args, k) for k in STANDALONE_ARGS):
        return None
    if saved.get("standalone_size", {"channels": 8, "cells_per_stage": 1}) != STANDALONE_SIZE:
        return None
    if saved["cells"][: len(wanted)] != wanted or len(saved["standalone"]) < len(wanted):
        return None
    return saved["standalone"][: len(wanted)]


def previous_estimates(env_id: str, cells: list[tuple[str, ...]]) -> tuple[list[float], dict] | None:
    """``env_id``'s scores of exactly these cells and its timing record, from the results file,
    when they were made with the env settings it has now."""
    path = RESULTS_DIR / f"{NAME}.json"
    if not path.exists():
        return None
    saved = json.loads(path.read_text()).get("results", {})
    info, estimate = saved.get("envs", {}).get(env_id), saved.get("estimates", {}).get(env_id)
    wanted = [nb201.format_arch(c) for c in cells]
    if info is None or estimate is None or saved.get("cells", [])[: len(wanted)] != wanted:
        return None
    # a setting missing from an older record did not exist then: the env ran at today's default
    defaults = env_defaults()
    saved_settings = {k: info["settings"].get(k, defaults[k]) for k in SETTINGS}
    if json.loads(json.dumps(saved_settings)) != json.loads(json.dumps(env_settings(env_id))):
        return None
    return estimate[: len(wanted)], {**info, "reused": True}


#: network size of the stand-alone ground truth (Supernet-v0's)
STANDALONE_SIZE = {"channels": 8, "cells_per_stage": 1}


def cifar10_batch_seconds(supernet, repeats: int = 10) -> float:
    """Seconds per SPOS training step (forward + backward + SGD) of ``supernet``'s network size on a
    CIFAR-10-sized batch (random pixels): the fastest of ``repeats`` steps after one warm-up, the
    one least slowed by other work on a shared machine."""
    config = supernet.config

    class Cifar:  # the shape of CIFAR-10, for build_network
        input_shape, num_classes = (3, 32, 32), 10

    network = build_network(config, Cifar())  # type: ignore[arg-type]
    optimiser = torch.optim.SGD(network.parameters(), lr=config.lr, momentum=config.momentum, nesterov=True)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(config.batch_size, 3, 32, 32, generator=generator)
    y = torch.randint(10, (config.batch_size,), generator=generator)
    times = []
    network.train()
    for step in range(repeats + 1):
        path = torch.randint(5, (6,), generator=generator).tolist()
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(network(x, path), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if step:
            times.append(time.perf_counter() - start)
    return float(np.min(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=200, help="cells ranked against NAS-Bench-201")
    parser.add_argument("--standalone-archs", type=int, default=24, help="the first cells also trained stand-alone")
    parser.add_argument("--standalone-seeds", type=int, default=3)
    parser.add_argument("--standalone-epochs", type=int, default=8)
    parser.add_argument("--reuse-standalone", action="store_true",
                        help="take the stand-alone runs from the results file when it holds these cells and settings")
    parser.add_argument("--reuse-estimates", nargs="*", metavar="ENV_ID", default=None,
                        help="take these envs' scores (no ids: every env's) from the results file when it holds "
                             "these cells and env settings")
    parser.add_argument("--cache-dir", default=None,
                        help="supernet checkpoint folder (default: a fresh temporary one, so every supernet is trained)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test; writes nothing")
    args = parser.parse_args()
    if args.quick:
        args.archs, args.standalone_archs, args.standalone_seeds, args.standalone_epochs = 6, 3, 2, 1
    if not 0 <= args.standalone_archs <= args.archs:
        raise SystemExit(f"--standalone-archs must be in 0..--archs ({args.archs}), got {args.standalone_archs}")
    torch.set_num_threads(1)

    data = load_dataset("digits")
    cells = sample_cells(args.archs, args.seed)
    table = load_table()
    nb201_acc = [table.value("cifar10-valid-200.valid_acc", c) for c in cells]
    print(f"{len(cells)} cells; NAS-Bench-201 CIFAR-10 validation accuracy {min(nb201_acc):.2f}..{max(nb201_acc):.2f} %; "
          f"first {args.standalone_archs} trained stand-alone on digits "
          f"({args.standalone_seeds} seeds x {args.standalone_epochs} epochs)", flush=True)

    # -- stand-alone ground truth ------------------------------------------------------------------
    solo_cells = cells[: args.standalone_archs]
    timings: dict[str, float] = {}
    runs = previous_standalone(solo_cells, args) if args.reuse_standalone else None
    if runs is None:
        start = time.perf_counter()
        runs = [[train_standalone(ops, data, TrainConfig(epochs=args.standalone_epochs, seed=s, **STANDALONE_SIZE))
                 for s in range(args.standalone_seeds)] for ops in solo_cells]
        timings["standalone_s"] = time.perf_counter() - start
        print(f"stand-alone training: {timings['standalone_s']:.0f} s", flush=True)
    else:
        print("stand-alone runs reused from the results file", flush=True)
    solo_acc = [float(np.mean([r["accuracy"] for r in run])) for run in runs]

    # -- estimators (parameters and FLOPs of the cell's NAS-Bench-201 CIFAR-10 network) --------------
    cifar10 = skeleton_for("cifar10")
    estimates: dict[str, list[float]] = {
        "parameter count": [float(count_params(c, cifar10)) for c in cells],
        "FLOPs": [float(count_flops(c, cifar10)) for c in cells],
    }
    envs: dict[str, dict] = {}
    for env_id in ENV_IDS:
        settings = env_settings(env_id)
        reuse = args.reuse_estimates is not None and (not args.reuse_estimates or env_id in args.reuse_estimates)
        reused = previous_estimates(env_id, cells) if reuse and not args.quick else None
        if reused is not None:
            estimates[env_id], envs[env_id] = reused
            print(f"{env_id}: scores reused from the results file", flush=True)
            continue
        with tempfile.TemporaryDirectory() as scratch:
            start = time.perf_counter()
            env = gym.make(env_id, cache_dir=args.cache_dir or scratch, progress=False,
                           **({"epochs": 1} if args.quick else {}))
            build_s = time.perf_counter() - start
        supernet, simulator = env.unwrapped.supernet, env.unwrapped.simulator
        members = len(env.unwrapped.supernets)  # a seed ensemble trains and scores with each member
        start = time.perf_counter()
        # the env's own simulator (its BN recalibration and evaluation split), without the env's result cache
        metrics = [simulator.evaluate(nb201.arch_to_design(ops), data.name) for ops in cells]
        eval_s = (time.perf_counter() - start) / len(cells)
        estimates[env_id] = [env.unwrapped.objective.reward(m) for m in metrics]  # the env's default reward
        batch_s = cifar10_batch_seconds(supernet)
        epochs = supernet.config.epochs
        cifar_steps = members * epochs * -(-NB201_TRAIN_IMAGES // supernet.config.batch_size)
        from_cache = all(member.from_cache for member in env.unwrapped.supernets)
        envs[env_id] = {
            "settings": settings, "construction_s": build_s, "from_cache": from_cache, "members": members,
            "evaluation_s_per_cell": eval_s,
            "digits_steps": members * epochs * steps_per_epoch(supernet.config, data),
            "cifar10_seconds_per_batch": batch_s, "cifar10_steps": cifar_steps,
            "cifar10_training_estimate_h": batch_s * cifar_steps / 3600,
        }
        print(f"{env_id}: {settings}; built in {build_s:.0f} s{' (from cache)' if from_cache else ''}, {eval_s * 1000:.0f} ms per cell; "
              f"CIFAR-10-sized batch {batch_s * 1000:.0f} ms", flush=True)

    rows = []
    pairs = list(itertools.combinations(range(args.standalone_seeds), 2))
    if pairs and solo_cells:
        noise = [correlation([run[a]["accuracy"] for run in runs], [run[b]["accuracy"] for run in runs])["kendall_tau"]
                 for a, b in pairs]
        rows.append({"estimator": "another stand-alone seed (noise level)", "nb201": None,
                     "standalone": {"kendall_tau": float(np.mean(noise)), "spearman_rho": None}})
    for name, estimate in estimates.items():
        rows.append({"estimator": name, "nb201": correlation(estimate, nb201_acc),
                     "standalone": correlation(estimate[: len(solo_cells)], solo_acc) if len(solo_cells) > 2 else None})

    def cell(block: dict | None, key: str) -> str:
        return "—" if block is None or block.get(key) is None else f"{block[key]:.3f}"

    print(f"\n| estimator | τ vs NB201 CIFAR-10 ({len(cells)} cells) | ρ | τ vs stand-alone digits "
          f"({len(solo_cells)} cells) | ρ |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['estimator']} | {cell(row['nb201'], 'kendall_tau')} | {cell(row['nb201'], 'spearman_rho')} | "
              f"{cell(row['standalone'], 'kendall_tau')} | {cell(row['standalone'], 'spearman_rho')} |")
    print("\n| env | construction on digits (s) | per cell (ms) | CIFAR-10 batch (ms) | CIFAR-10 training, estimated (h) |")
    print("|---|---|---|---|---|")
    for env_id, info in envs.items():
        print(f"| {env_id} | {info['construction_s']:.0f} | {info['evaluation_s_per_cell'] * 1000:.0f} | "
              f"{info['cifar10_seconds_per_batch'] * 1000:.0f} | {info['cifar10_training_estimate_h']:.1f} |")

    if not args.quick:
        save_results(NAME, {
            "args": vars(args), "cells": [nb201.format_arch(c) for c in cells], "nb201_valid_acc": nb201_acc,
            "standalone_settings": {k: getattr(args, k) for k in STANDALONE_ARGS},
            "standalone_size": STANDALONE_SIZE, "standalone": runs, "estimates": estimates,
            "rows": rows, "envs": envs, "timings_s": timings,
        })


if __name__ == "__main__":
    main()
