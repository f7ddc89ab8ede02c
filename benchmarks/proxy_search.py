"""Proxy-assisted search against a GA with 10x the real simulations.

For each problem: a GA (default hyperparameters, seed 0) gets ``GA_BUDGET`` real simulations;
:func:`archgym.proxy.search.proxy_assisted_search` gets ``PROXY_BUDGET`` (10 %), over
``SEEDS`` seeds. A problem with a low-fidelity model (``LOW_FIDELITY``: env kwargs overriding
the problem's, e.g. ZigZag -> the analytical back-end) is searched with the multi-fidelity
proxy (:mod:`archgym.proxy.multifidelity`); its low-fidelity evaluations are free here (the
analytical model scores ~1e5 designs/s) and are not counted, only real simulations are. Printed: the best real reward of each, the proxy search's best as a fraction
of the GA's, and how many real simulations the proxy search needed to reach 95 % of the GA's
best (if it did). For ``log_ratio`` (0 = baseline) the fraction is of the gain over the
baseline. Every proxy-search row also keeps its curve: the best real reward after each real
simulation.

The GA reference is the expensive part (1,000 ZigZag evaluations take minutes), so it is
cached in ``benchmarks/results/proxy_search_ga_reference.json`` keyed by problem, budget and
seed, and reused by later runs; delete the file (or pass ``--rerun-ga``) to measure it again.
Results: ``benchmarks/results/proxy_search.json``.

Run: ``python benchmarks/proxy_search.py [--problem SUBSTRING ...] [--seeds N] [--rerun-ga] [--ga-only]``.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import gymnasium as gym
import numpy as np
from results_io import RESULTS_DIR, save_results, setup

import archgym  # noqa: F401
from archgym.agents import design_space_of, make_agent
from archgym.proxy.search import proxy_assisted_search

GA_BUDGET = 1000
#: the GA reference is the median best over GA seeds 0..N-1 (``--ga-seeds``; default 1: seed 0)
GA_SEED = 0
PROXY_BUDGET = 100
SEEDS = (0, 1, 2)
PROBLEMS: dict[str, tuple[str, dict[str, Any]]] = {
    "DRAM-v0 random (target_distance)": ("archgym/DRAM-v0", {"workload": "random"}),
    "DRAM-v1 cloud-1 (log_ratio)": ("archgym/DRAM-v1", {}),
    "Accelerator-v0 ZigZag (target_distance)": ("archgym/Accelerator-v0", {"backend": "zigzag"}),
}
#: problems searched with a low-fidelity model: env kwargs that override the problem's
LOW_FIDELITY: dict[str, dict[str, Any]] = {
    "Accelerator-v0 ZigZag (target_distance)": {"backend": "analytical"},
}
GA_CACHE = RESULTS_DIR / "proxy_search_ga_reference.json"
RESULTS = RESULTS_DIR / "proxy_search.json"


def _make(env_id: str, kwargs: dict[str, Any]) -> gym.Env:
    """A fresh env (fresh evaluation cache: every simulation counts)."""
    return gym.make(env_id, disable_env_checker=True, **kwargs)


def ga_reference(label: str, rerun: bool = False, wait_s: float = 0.0, seed: int = GA_SEED) -> dict[str, Any]:
    """The GA's (seed ``seed``) best real reward with ``GA_BUDGET`` simulations on ``label``, cached on disk.

    ``wait_s``: first wait up to this long for another process (``--ga-only``) to cache it.
    The key names the simulator's fingerprint (name, version, options), so a reference measured
    on an older simulator version is never compared with a search on the current one.
    """
    env_id, kwargs = PROBLEMS[label]
    probe = _make(env_id, kwargs)
    try:
        simulator = probe.unwrapped.simulator.fingerprint()
    finally:
        probe.close()
    key = f"{label} | budget={GA_BUDGET} | seed={seed} | {simulator}"
    deadline = time.monotonic() + wait_s
    while True:
        cache = json.loads(GA_CACHE.read_text()) if GA_CACHE.exists() else {}
        if key in cache and not rerun:
            return cache[key]
        if rerun or time.monotonic() >= deadline:
            break
        time.sleep(10)
    env = _make(env_id, kwargs)
    start = time.perf_counter()
    try:
        ga = make_agent("ga", design_space_of(env), seed=seed).run(env, GA_BUDGET)
    finally:
        env.close()
    entry = {"simulator": simulator, "ga_best": float(ga.best_reward), "ga_wall_s": round(time.perf_counter() - start, 1),
                  "ga_best_design": {k: (v.item() if hasattr(v, "item") else v) for k, v in dict(ga.best_design).items()}
                  if getattr(ga, "best_design", None) is not None else None}
    cache = json.loads(GA_CACHE.read_text()) if GA_CACHE.exists() else {}  # again: another run may have added one
    cache[key] = entry
    GA_CACHE.write_text(json.dumps(cache, indent=2, default=str) + "\n")
    return entry


def proxy_rows(label: str, seeds_run: tuple[int, ...] = SEEDS) -> list[dict[str, Any]]:
    """Proxy-assisted search over ``seeds_run`` on ``label``: best real reward and its curve."""
    env_id, kwargs = PROBLEMS[label]
    seeds = []
    for seed in seeds_run:
        start = time.perf_counter()
        env = _make(env_id, kwargs)
        low = _make(env_id, {**kwargs, **LOW_FIDELITY[label]}) if label in LOW_FIDELITY else None
        try:
            result = proxy_assisted_search(env, PROXY_BUDGET, seed=seed, low_fidelity=low)
        finally:
            env.close()  # ends a back-end's worker process
            if low is not None:
                low.close()
        seeds.append({"seed": seed, "best": result.best_reward, "failed_simulations": result.failed,
                      "best_metrics": result.best_metrics, "best_design": result.best_design,
                      "curve": result.curve, "wall_s": round(time.perf_counter() - start, 1)})
    return seeds


def ga_summary(gas: list[dict[str, Any]]) -> dict[str, Any]:
    """The GA reference over its seeds: ``ga_best`` is the median best (the GA's own spread over
    seeds is large on needle-shaped rewards, so one GA seed is a lottery ticket, not a bar), with
    every seed's best and how many GA seeds themselves reach 95 % of that median."""
    bests = [g["ga_best"] for g in gas]
    median = float(np.median(bests))
    return {"ga_seeds": list(range(len(gas))), "ga_best": median, "ga_bests": bests,
            "ga_seeds_at_95pct": int(sum(b >= 0.95 * median for b in bests)),
            "ga_wall_s": [g["ga_wall_s"] for g in gas], "ga_best_design": gas[int(np.argmax(bests))]["ga_best_design"],
            "simulator": gas[0]["simulator"]}


def against(seeds: list[dict[str, Any]], reference: float) -> list[dict[str, Any]]:
    """Each seed's best as a fraction of the GA's ``reference``, and the simulations it took to
    reach 95 % of it (None: never)."""
    for row in seeds:
        hit = np.flatnonzero(np.asarray(row["curve"]) >= 0.95 * reference)
        row["fraction_of_ga"] = row["best"] / reference
        row["simulations_to_95pct"] = int(hit[0]) + 1 if len(hit) else None
    return seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", action="append", help="run only problems whose label contains this")
    parser.add_argument("--seeds", type=int, default=len(SEEDS), metavar="N",
                        help=f"proxy-search seeds 0..N-1 (default {len(SEEDS)})")
    parser.add_argument("--ga-seeds", type=int, default=1, metavar="N",
                        help="GA reference = median best over GA seeds 0..N-1 (default 1: seed 0 alone)")
    parser.add_argument("--rerun-ga", action="store_true", help="measure the GA reference again")
    parser.add_argument("--ga-only", action="store_true", help="only compute (and cache) the GA references")
    parser.add_argument("--wait-ga", type=float, default=0.0, metavar="S",
                        help="wait up to S seconds for a GA reference another run (--ga-only) is computing")
    args = parser.parse_args()
    labels = [p for p in PROBLEMS if not args.problem or any(s.lower() in p.lower() for s in args.problem)]
    rows = []
    print(f"{'problem':<40} {'GA best':>9} {'proxy best (per seed)':>30} {'fraction':>18} {'sims to 95%':>14}")
    for label in labels:
        if args.ga_only:
            for ga_seed in range(args.ga_seeds):
                ga = ga_reference(label, rerun=args.rerun_ga, seed=ga_seed)
                print(f"{label:<40} seed {ga_seed}: {ga['ga_best']:>9.4g}  ({ga['ga_wall_s']} s)", flush=True)
            continue
        seeds = proxy_rows(label, tuple(range(args.seeds)))  # first: a GA reference being computed elsewhere has time to land
        gas = [ga_reference(label, rerun=args.rerun_ga, wait_s=args.wait_ga, seed=s) for s in range(args.ga_seeds)]
        reference = ga_summary(gas)
        row = {"problem": label, "ga_budget": GA_BUDGET, **reference,
               "proxy_budget": PROXY_BUDGET, "low_fidelity": LOW_FIDELITY.get(label),
               "seeds": against(seeds, reference["ga_best"]),
               "measured_by": setup()}  # per row: --problem reruns merge rows of different runs
        rows.append(row)
        best = ", ".join(f"{s['best']:.4g}" for s in seeds)
        fraction = ", ".join(f"{s['fraction_of_ga']:.2f}" for s in seeds)
        reached = ", ".join(str(s["simulations_to_95pct"]) for s in seeds)
        print(f"{label:<40} {reference['ga_best']:>9.4g} {best:>30} {fraction:>18} {reached:>14}", flush=True)
        if len(gas) > 1:
            print(f"{'':<40} GA seeds 0-{len(gas) - 1}: {', '.join(f'{g:.4g}' for g in reference['ga_bests'])}; "
                  f"seeds reaching 95 % of the GA median: GA {reference['ga_seeds_at_95pct']}/{len(gas)}, "
                  f"proxy search {sum(s['fraction_of_ga'] >= 0.95 for s in seeds)}/{len(seeds)}", flush=True)
    if rows:
        save_results("proxy_search", _merge(rows))


def _merge(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` plus the rows of problems not rerun now, kept from the last results file
    (``--problem`` reruns one problem without losing the others)."""
    try:
        previous = json.loads(RESULTS.read_text())["results"]
    except (OSError, ValueError, KeyError, TypeError):
        previous = []
    fresh = {row["problem"] for row in rows}
    kept = [row for row in previous if isinstance(row, dict) and row.get("problem") not in fresh and "seeds" in row]
    return sorted(kept + rows, key=lambda row: list(PROBLEMS).index(row["problem"]) if row["problem"] in PROBLEMS else 99)


if __name__ == "__main__":
    main()
