"""Is any registered default task degenerate? Best of 300 random designs against the baseline.

A default task is *degenerate* when search cannot improve on the baseline design: then every
agent "wins" with the same number and a lottery study measures nothing (DRAM-v0's ``stream``:
every agent got 81 in 10 evaluations). For every registered id with its default ``gym.make``
kwargs this script evaluates the baseline design (``design_space.default()``) and ``N``
uniformly random designs (seed 0), and reports:

* ``baseline`` / ``best`` — the scalar reward of the baseline design and the best random one;
  the task passes when ``best > baseline`` strictly;
* ``better`` — how many of the ``N`` random designs beat the baseline's scalar reward;
* ``dominating`` — how many dominate the baseline on the env's declared objectives (every
  objective at least as good, one strictly better; :mod:`archgym.pareto`);
* ``hv`` — the normalised hypervolume of those designs with the baseline as the reference
  point (the fraction of the "better than baseline on every objective" box they dominate).

``Supernet-v0`` trains a supernet at construction (minutes on one core): included only with
``--supernet``. Results: ``benchmarks/results/degenerate_tasks.json``.

Run: ``python benchmarks/degenerate_tasks.py [--designs 300] [--supernet]``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import archgym  # noqa: F401
from archgym.pareto import dominates, hypervolume, normalise_to_baseline
from archgym.registration import list_envs

RESULTS = Path(__file__).parent / "results" / "degenerate_tasks.json"


def check(env_id: str, designs: int, seed: int = 0) -> dict:
    start = time.perf_counter()
    env = gym.make(env_id, disable_env_checker=True).unwrapped
    space = env.design_space
    rng = np.random.default_rng(seed)
    baseline_design = space.default()
    _, baseline_reward, _, _, info = env.step(baseline_design)
    senses = [o.sense for o in env.objectives]
    names = [o.metric for o in env.objectives]
    base_point = [info["metrics"][m] for m in names]
    rewards, points = [], []
    for _ in range(designs):
        _, reward, _, _, info = env.step(space.sample(rng))
        rewards.append(reward)
        if info["feasible"]:
            points.append([info["metrics"][m] for m in names])
    rewards = np.array(rewards)
    points_arr = np.array(points) if points else np.zeros((0, len(names)))
    dominating = sum(dominates(p, base_point, senses) for p in points_arr)
    hv = float("nan")
    if all(v > 0 for v in base_point):
        q = normalise_to_baseline(points_arr, base_point, senses)
        hv = hypervolume(q, [1.0] * len(names), ["minimize"] * len(names), outside="ignore")
    return {
        "env": env_id,
        "workload": str(env.workload),
        "reward": env.objective.name,
        "objectives": names,
        "baseline": float(baseline_reward),
        "best": float(rewards.max()),
        "better": int((rewards > baseline_reward).sum()),
        "dominating": int(dominating),
        "feasible": len(points),
        "hv": hv,
        "designs": designs,
        "degenerate": not bool(rewards.max() > baseline_reward),
        "wall_s": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=300)
    parser.add_argument("--supernet", action="store_true", help="also check Supernet-v0 (trains a supernet)")
    args = parser.parse_args()
    ids = [e.id for e in list_envs() if args.supernet or "Supernet" not in e.id]
    rows = []
    print(f"{'env':<24} {'workload':<10} {'reward':<18} {'baseline':>10} {'best':>10} {'better':>7} "
          f"{'dominate':>8} {'hv':>6}  verdict")
    for env_id in ids:
        row = check(env_id, args.designs)
        rows.append(row)
        print(f"{env_id:<24} {row['workload']:<10} {row['reward']:<18} {row['baseline']:>10.4g} {row['best']:>10.4g} "
              f"{row['better']:>7} {row['dominating']:>8} {row['hv']:>6.3f}  "
              f"{'DEGENERATE' if row['degenerate'] else 'ok'} ({row['wall_s']} s)", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"results: {RESULTS}")


if __name__ == "__main__":
    main()
