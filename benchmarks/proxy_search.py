"""Proxy-assisted search against a GA with 10x the real simulations.

For each problem: a GA (default hyperparameters) gets ``GA_BUDGET`` real simulations (seed 0);
:func:`archgym.proxy.search.proxy_assisted_search` gets ``PROXY_BUDGET`` (10 %), over
``SEEDS`` seeds. Printed: the best real reward of each, the proxy search's best as a fraction
of the GA's, and how many real simulations the proxy search needed to reach 95 % of the GA's
best (if it did). For ``log_ratio`` (0 = baseline) the fraction is of the gain over the
baseline. Results: ``benchmarks/results/proxy_search.json``.

Run: ``python benchmarks/proxy_search.py``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import archgym  # noqa: F401
from archgym.agents import design_space_of, make_agent
from archgym.proxy.search import proxy_assisted_search

GA_BUDGET = 1000
PROXY_BUDGET = 100
SEEDS = (0, 1, 2)
PROBLEMS = {
    "DRAM-v0 random (target_distance)": ("archgym/DRAM-v0", {"workload": "random"}),
    "DRAM-v1 cloud-1 (log_ratio)": ("archgym/DRAM-v1", {}),
}
RESULTS = Path(__file__).parent / "results" / "proxy_search.json"


def main() -> None:
    rows = []
    print(f"{'problem':<34} {'GA best':>9} {'proxy best (per seed)':>30} {'fraction':>18} {'sims to 95%':>14}")
    for label, (env_id, kwargs) in PROBLEMS.items():
        env = gym.make(env_id, disable_env_checker=True, **kwargs)
        start = time.perf_counter()
        ga = make_agent("ga", design_space_of(env), seed=0).run(env, GA_BUDGET)
        ga_s = time.perf_counter() - start
        proxies, fractions, reached = [], [], []
        for seed in SEEDS:
            env = gym.make(env_id, disable_env_checker=True, **kwargs)  # fresh cache: every simulation counts
            start = time.perf_counter()
            result = proxy_assisted_search(env, PROXY_BUDGET, seed=seed)
            proxies.append(result.best_reward)
            fractions.append(result.best_reward / ga.best_reward)
            curve = np.asarray(result.curve)
            hit = np.flatnonzero(curve >= 0.95 * ga.best_reward)
            reached.append(int(hit[0]) + 1 if len(hit) else None)
        rows.append({"problem": label, "ga_budget": GA_BUDGET, "ga_best": ga.best_reward, "ga_wall_s": round(ga_s, 1),
                     "proxy_budget": PROXY_BUDGET, "proxy_best": proxies, "fraction_of_ga": fractions,
                     "simulations_to_95pct": reached})
        print(f"{label:<34} {ga.best_reward:>9.4g} {', '.join(f'{p:.4g}' for p in proxies):>30} "
              f"{', '.join(f'{f:.2f}' for f in fractions):>18} {', '.join(str(r) for r in reached):>14}", flush=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"results: {RESULTS}")


if __name__ == "__main__":
    main()
