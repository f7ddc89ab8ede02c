"""Sample efficiency of every agent: best-so-far reward after 50/100/200/500 evaluations.

For each agent with default hyperparameters, several seeds, on the known-optimum
``archgym/Synthetic-v0``, on ``archgym/DRAM-v0`` (workloads ``stream`` and ``random``) and on
``archgym/NASBench201-v0`` (known optimum: reward −0.0839, i.e. 91.61% validation accuracy), prints
the median and inter-quartile range of the best reward found after each checkpoint, beside
``random``, and the per-``ask`` overhead of each agent (time of ask+tell at a given history
length, simulator excluded). Saves a PNG of the best-so-far curves.

    python benchmarks/agents_sample_efficiency.py [--seeds 5] [--budget 500] [--workers 2]
        [--agents random,ga,...] [--problems synthetic,nasbench201,...] [--dram-requests 2000]
        [--out benchmarks/results] [--name agents_sample_efficiency]

DRAM runs replay the first ``--dram-requests`` requests of each trace (default 2,000 of the
10,000) to keep the whole benchmark within tens of minutes on two cores; rankings between
designs are what the agents see, and they are stable at that length.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

CHECKPOINTS = (50, 100, 200, 500)


def problems(dram_requests: int) -> dict[str, tuple[str, dict]]:
    return {
        "synthetic": ("archgym/Synthetic-v0", {}),
        "dram-stream": ("archgym/DRAM-v0", {"workload": "stream", "max_requests": dram_requests}),
        "dram-random": ("archgym/DRAM-v0", {"workload": "random", "max_requests": dram_requests}),
        # exact NAS-Bench-201 lookups; the optimum (best 200-epoch CIFAR-10 validation accuracy,
        # 91.61%) is reward -0.0839
        "nasbench201": ("archgym/NASBench201-v0", {}),
    }


def one_run(task: tuple[str, str, dict, str, int, int]) -> tuple[str, str, int, list[float] | None, float]:
    """Run one agent on one problem with one seed; returns its reward trajectory and wall time.

    The trajectory is ``None`` when the agent cannot run on the problem (``dqn`` on a design
    space too large to flatten into one action per design).
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import gymnasium as gym
    import torch

    import archgym  # noqa: F401
    from archgym.agents import make_agent

    torch.set_num_threads(1)
    problem, env_id, kwargs, agent, seed, budget = task
    env = gym.make(env_id, **kwargs)
    start = time.perf_counter()
    try:
        result = make_agent(agent, env.unwrapped.design_space, seed=seed).run(env, budget)
    except ValueError as exc:
        if "too large" not in str(exc):
            raise
        return problem, agent, seed, None, 0.0
    return problem, agent, seed, result.rewards, time.perf_counter() - start


def ask_overhead(agent: str, history: int, repeats: int = 20) -> float | None:
    """Mean seconds of ask()+tell() after ``history`` evaluations on Synthetic-v0 (sim excluded)."""
    import gymnasium as gym

    import archgym  # noqa: F401
    from archgym.agents import make_agent

    env = gym.make("archgym/Synthetic-v0").unwrapped  # no time limit: one long history
    simulator = env.unwrapped.simulator
    searcher = make_agent(agent, env.unwrapped.design_space, seed=0)
    try:
        def evaluate_one() -> float:
            suggestion = searcher.ask()
            t0 = time.perf_counter()
            _, reward, _, _, info = env.step(suggestion.design)
            sim = time.perf_counter() - t0
            searcher.tell(suggestion, reward, info["metrics"], info["feasible"])
            return sim

        for _ in range(history):
            evaluate_one()
        start = time.perf_counter()
        sim_time = sum(evaluate_one() for _ in range(repeats))
        return (time.perf_counter() - start - sim_time) / repeats
    except (NotImplementedError, RuntimeError, TypeError):
        return None  # agents that only drive envs through run() (RL) have no standalone ask


def summarise(curves: dict, agents: list[str], names: list[str], budget: int) -> str:
    lines = []
    checkpoints = [c for c in CHECKPOINTS if c <= budget]
    for problem in names:
        lines.append(f"\n{problem}: best-so-far reward, median [IQR] over seeds")
        header = f"{'agent':<12}" + "".join(f"{'@' + str(c):>24}" for c in checkpoints) + f"{'vs random @' + str(checkpoints[-1]):>18}"
        lines.append(header)
        lines.append("-" * len(header))
        ref = None
        if "random" in agents:
            ref = np.median([np.maximum.accumulate(r)[checkpoints[-1] - 1] for r in curves[problem]["random"]])
        for agent in agents:
            if not curves[problem][agent]:
                lines.append(f"{agent:<12}  n/a (design space too large for this agent)")
                continue
            runs = np.array([np.maximum.accumulate(r) for r in curves[problem][agent]])
            cells = []
            for c in checkpoints:
                q1, med, q3 = np.percentile(runs[:, c - 1], [25, 50, 75])
                cells.append(f"{med:>10.4g} [{q1:.3g}, {q3:.3g}]".rjust(24))
            last = np.median(runs[:, checkpoints[-1] - 1])
            versus = "" if ref is None else f"{last - ref:>+18.4g}"
            lines.append(f"{agent:<12}" + "".join(cells) + versus)
    return "\n".join(lines)


def plot(curves: dict, agents: list[str], names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(names), figsize=(6 * len(names), 4.5))
    for ax, problem in zip(np.atleast_1d(axes), names):
        for agent in agents:
            if not curves[problem][agent]:
                continue
            runs = np.array([np.maximum.accumulate(r) for r in curves[problem][agent]])
            x = np.arange(1, runs.shape[1] + 1)
            median = np.median(runs, axis=0)
            line, = ax.plot(x, median, label=agent, lw=2 if agent == "random" else 1.3,
                            ls="--" if agent == "random" else "-")
            ax.fill_between(x, *np.percentile(runs, [25, 75], axis=0), color=line.get_color(), alpha=0.12)
        ax.set_xscale("log")
        ax.set_title(problem)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("best reward so far (median, IQR)")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    from archgym.agents import list_agents

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--agents", default=",".join(list_agents()))
    parser.add_argument("--problems", default="synthetic,dram-stream,dram-random,nasbench201")
    parser.add_argument("--dram-requests", type=int, default=2000)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--name", default="agents_sample_efficiency", help="file stem of the plot and JSON")
    args = parser.parse_args()

    agents = args.agents.split(",")
    catalogue = problems(args.dram_requests)
    names = args.problems.split(",")
    # slowest agents first, so the pool's two workers finish together
    order = sorted(agents, key=lambda a: a not in ("bo", "ppo", "a2c", "marl"))
    tasks = [(p, *catalogue[p], a, s, args.budget) for a in order for p in names for s in range(args.seeds)]
    curves: dict = {p: {a: [] for a in agents} for p in names}
    wall: dict = {a: 0.0 for a in agents}
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        for problem, agent, seed, rewards, seconds in pool.map(one_run, tasks):
            if rewards is not None:
                curves[problem][agent].append(rewards)
            wall[agent] += seconds
    print(f"{len(tasks)} runs of {args.budget} evaluations in {time.perf_counter() - start:.0f} s "
          f"({args.workers} workers); DRAM traces cut to {args.dram_requests} requests")
    print(summarise(curves, agents, names, args.budget))

    print("\nper-ask overhead (ask + tell, simulator excluded, Synthetic-v0), ms")
    print(f"{'agent':<12}{'@100':>10}{'@500':>10}")
    for agent in agents:
        cells = []
        for history in (100, 500):
            seconds = ask_overhead(agent, history)
            cells.append(f"{'run-only':>10}" if seconds is None else f"{seconds * 1e3:>10.3f}")
        print(f"{agent:<12}" + "".join(cells))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot(curves, agents, names, out / f"{args.name}.png")
    (out / f"{args.name}.json").write_text(json.dumps(curves))
    print(f"\nplot: {out / f'{args.name}.png'}")


if __name__ == "__main__":
    main()
