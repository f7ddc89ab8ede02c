"""Cached ``env.step``: microseconds per step served from the evaluation cache, several envs.

Every design stepped here was evaluated before (16 designs, stepped once first), so each timed
step is a cache hit: what remains is archgym's own overhead (action decoding and validation,
cache key, reward, observation, info). Per env, in ``--rounds`` interleaved rounds of
``--steps`` steps each, side by side:

* ``array``: a ``MultiDiscrete`` action (numpy array) through ``gym.make``'s wrappers
  (``TimeLimit``, ``OrderEnforcing``; env checker off) — the RL case, the fast path;
* ``array unwrapped``: the same on ``env.unwrapped`` (archgym's cost alone);
* ``dict``: the design as a dict (what archgym's agents pass), through the wrappers;
* ``list (slow path)``: the action as a Python list, which the fast path does not memoise:
  the full decode, cache-key and reward computation of every step (what every cached step
  cost before the fast path);
* ``array + recording``: ``array`` under :class:`archgym.recording.RecordEvaluations` writing
  to a dataset folder (buffered Parquet shards; flushes included).

Reported: median over rounds of wall-clock and CPU (``time.process_time``) µs per step, and the
machine's load average. Raw figures: ``benchmarks/results/env_step_speed.json``.

Run: ``python benchmarks/env_step_speed.py`` (about a minute).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable  # noqa: E402

import gymnasium as gym  # noqa: E402

import archgym  # noqa: E402,F401  (registers the envs)
from archgym.dataset import DatasetWriter  # noqa: E402
from archgym.recording import RecordEvaluations  # noqa: E402
from results_io import save_results  # noqa: E402

#: env id -> gym.make keywords (small workloads: the designs are simulated once, before timing)
ENVS: dict[str, dict[str, Any]] = {
    "archgym/DRAM-v0": {"workload": "gen:random?n=2000"},
    "archgym/DRAM-v1": {"workload": "gen:random?n=2000"},
    "archgym/Synthetic-v0": {},
    "archgym/Accelerator-v0": {},
}
DESIGNS = 16


def per_step(step: Callable[[Any], Any], actions: list[Any], steps: int) -> tuple[float, float]:
    """(wall µs, CPU µs) per call of ``step`` over ``steps`` calls cycling through ``actions``."""
    n = len(actions)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(steps):
        step(actions[i % n])
    return (time.perf_counter() - wall) / steps * 1e6, (time.process_time() - cpu) / steps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5000)
    args = parser.parse_args()

    cases: dict[str, tuple[Callable[[Any], Any], list[Any]]] = {}
    closers = []
    with tempfile.TemporaryDirectory() as tmp:
        for env_id, kwargs in ENVS.items():
            env = gym.make(env_id, disable_env_checker=True, **kwargs)
            env.reset(seed=0)
            env.action_space.seed(0)
            arrays = [env.action_space.sample() for _ in range(DESIGNS)]
            for action in arrays:
                env.step(action)
            dicts = [env.unwrapped.to_design(a) for a in arrays]
            lists = [a.tolist() for a in arrays]
            writer = DatasetWriter(os.path.join(tmp, env_id.replace("/", "_")))
            recorded = RecordEvaluations(gym.make(env_id, disable_env_checker=True, **kwargs), writer,
                                         study="bench", agent="none")
            recorded.reset(seed=0)
            for action in arrays:
                recorded.step(action)
            closers += [env.close, recorded.close, writer.close]
            cases[f"{env_id} | array"] = (env.step, arrays)
            cases[f"{env_id} | array unwrapped"] = (env.unwrapped.step, arrays)
            cases[f"{env_id} | dict"] = (env.step, dicts)
            cases[f"{env_id} | list (slow path)"] = (env.step, lists)
            cases[f"{env_id} | array + recording"] = (recorded.step, arrays)

        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (step, actions) in cases.items():
                samples[name].append(per_step(step, actions, args.steps))
        for close in closers:
            close()

    rows = {}
    print(f"cached env.step, µs per step: median of {args.rounds} interleaved rounds x {args.steps} steps "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"{'env | action':<48}{'wall µs':>10}{'CPU µs':>10}{'vs slow path (CPU)':>20}")
    for name, values in samples.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        rows[name] = {"wall_us": round(wall, 2), "cpu_us": round(cpu, 2),
                      "rounds_wall_us": [round(v[0], 2) for v in values], "rounds_cpu_us": [round(v[1], 2) for v in values]}
    for name, row in rows.items():
        slow = rows[name.split(" | ")[0] + " | list (slow path)"]["cpu_us"]
        print(f"{name:<48}{row['wall_us']:>10.1f}{row['cpu_us']:>10.1f}{slow / row['cpu_us']:>19.1f}x")
    save_results("env_step_speed", {"rounds": args.rounds, "steps": args.steps, "designs": DESIGNS,
                                    "envs": ENVS, "per_step": rows})


if __name__ == "__main__":
    main()
