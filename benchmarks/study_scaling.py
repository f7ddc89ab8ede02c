"""Parallel efficiency of studies: runs per second at 1 and 2 workers, and the ratio.

A lottery study on ``archgym/Synthetic-v0`` (cheap evaluations, so the figure shows the study
machinery's own overhead: process start-up, env construction, agent construction, one shard
per run) run twice with the local process pool, once with 1 worker and once with 2, each
into a fresh dataset. The wall time includes planning and the pool's start-up (``spawn``: each
worker imports archgym once). CPU time (this process plus the pool's workers) per run shows the
overhead independently of other load on the machine. Both runs must produce the same
evaluations; that is checked.

Run: ``python benchmarks/study_scaling.py [--budget N] [--draws N] [--seeds N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

from archgym.dataset import load
from archgym.study import Study, run_study
from results_io import save_results  # benchmarks/results_io.py, beside this script


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the pool's workers, once shut down)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(study: Study, workers: int) -> tuple[float, float, int, list[float]]:
    """(wall s, CPU s, runs executed, rewards in run/step order) of one fresh run of ``study``."""
    with tempfile.TemporaryDirectory() as folder:
        cpu, start = _cpu_seconds(), time.perf_counter()
        result = run_study(study, folder, backend="process", workers=workers)
        wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
        if result.failed:
            raise RuntimeError(f"{len(result.failed)} run(s) failed: {result.failed[0].error}")
        rewards = load(folder).sort_values(["run", "step"])["reward"].tolist()
    return wall, cpu, result.executed, rewards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    study = Study("archgym/Synthetic-v0", ["ga", "evolution", "aco", "random_walk"], budget=args.budget,
                  draws=args.draws, seeds=args.seeds)
    print(f"study: {len(study.runs())} runs of {args.budget} evaluations on archgym/Synthetic-v0 "
          f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    rates = {}
    results = {}
    rows = []
    for workers in (1, 2):
        wall, cpu, runs, rewards = measure(study, workers)
        rates[workers] = runs / wall
        results[workers] = rewards
        rows.append({"workers": workers, "runs": runs, "wall_s": wall, "cpu_s": cpu, "runs_per_s": runs / wall})
        print(f"  {workers} worker(s): {runs} runs in {wall:6.2f} s = {rates[workers]:6.2f} runs/s "
              f"({runs * args.budget / wall:,.0f} evaluations/s); CPU {cpu:.1f} s = {1e3 * cpu / runs:.0f} ms per run")
    assert results[1] == results[2], "1 and 2 workers must produce the same evaluations"
    print(f"  speed-up 2 vs 1 worker: {rates[2] / rates[1]:.2f}x (parallel efficiency {rates[2] / rates[1] / 2:.0%})")
    save_results("study_scaling", {"study": {"env": study.env_id,
                                             "budget": args.budget, "draws": args.draws, "seeds": args.seeds},
                                   "measurements": rows, "speedup_2_vs_1": rates[2] / rates[1]})
    print(f"  load average now {os.getloadavg()[0]:.1f}: the speed-up is only meaningful with 2 idle cores")


if __name__ == "__main__":
    main()
