"""Does ``bo`` earn its cost? Its goals from issue 12, measured side by side with ``random`` and ``ga``.

* ``archgym/NASBench201-v0``: median best 200-epoch CIFAR-10 validation accuracy after 100
  evaluations over ≥ 20 seeds must reach 91.34 % (random search needs ~500 evaluations for it);
* ``archgym/DRAM-v0`` on the ``random`` and ``cloud-1`` traces: median best reward @100 at
  least GA's (traces cut to ``--dram-requests`` requests, default 2,000, to fit the machine);
* per-step cost (``ask`` + ``tell``, simulator excluded) around 100 and 500 evaluations, on
  NASBench201-v0 (6 categorical parameters) and Synthetic-v0 (10 mixed parameters).

    python benchmarks/bo_goal.py [--seeds 20] [--budget 100] [--workers 2] [--agents bo,ga,random]
        [--problems nasbench201,dram-random,dram-cloud-1] [--dram-requests 2000] [--cost-agents bo]
        [--out benchmarks/results] [--name bo_goal] [--seed-from 0] [--merge STEM,...] [--report]

Writes ``benchmarks/results/<name>.json`` (every run's reward trajectory, unique designs and
wall time; the per-step costs) and prints the tables. Resumable: each run is saved as it ends
and a rerun with the same budget and trace cut skips it. To split the seeds over processes, give
each a ``--seed-from`` and its own ``--name``, then join them with ``--merge`` (``--report``
summarises without running anything). Rows say how many seeds (``n``) they hold.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

CHECKPOINTS = (25, 50, 100)
NAS_GOAL = 91.34


def problems(dram_requests: int) -> dict[str, tuple[str, dict]]:
    return {
        "nasbench201": ("archgym/NASBench201-v0", {}),
        "dram-random": ("archgym/DRAM-v0", {"workload": "random", "max_requests": dram_requests}),
        "dram-cloud-1": ("archgym/DRAM-v0", {"workload": "cloud-1", "max_requests": dram_requests}),
    }


def _setup() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


def one_run(task: tuple[str, str, dict, str, int, int]) -> dict:
    _setup()
    import gymnasium as gym

    import archgym  # noqa: F401
    from archgym.agents import make_agent

    problem, env_id, kwargs, agent, seed, budget = task
    env = gym.make(env_id, **kwargs)
    start = time.perf_counter()
    result = make_agent(agent, env.unwrapped.design_space, seed=seed).run(env, budget)
    return {"problem": problem, "agent": agent, "seed": seed, "rewards": result.rewards,
            "unique_designs": result.unique_designs, "wall_s": time.perf_counter() - start}



def agent_step_seconds(agent, env) -> float:
    """One ask() / env.step / tell() round; returns the agent's seconds (the simulator excluded)."""
    t0 = time.perf_counter()
    suggestion = agent.ask()
    t1 = time.perf_counter()
    _, reward, _, _, info = env.step(suggestion.design)
    t2 = time.perf_counter()
    agent.tell(suggestion, reward, info["metrics"], info["feasible"])
    return (t1 - t0) + (time.perf_counter() - t2)


def step_cost(task: tuple[str, str, int]) -> dict:
    """Seconds of ask()+tell() per step around 100 and 500 evaluations (simulator excluded)."""
    _setup()
    import gymnasium as gym

    import archgym  # noqa: F401
    from archgym.agents import make_agent

    agent_name, env_id, last = task
    env = gym.make(env_id).unwrapped  # no time limit: one long history
    agent = make_agent(agent_name, env.design_space, seed=0)
    env.reset(seed=0)
    costs = []
    for _ in range(last):
        costs.append(agent_step_seconds(agent, env))
    window = 10
    return {"agent": agent_name, "env": env_id,
            "at_100_s": float(np.mean(costs[100 - window // 2: 100 + window // 2])),
            "at_500_s": float(np.mean(costs[last - window:])) if last >= 500 else None,
            "total_s": float(np.sum(costs))}


def score(problem: str, rewards: list[float], at: int) -> float:
    best = float(np.max(rewards[:at]))
    return 100.0 + 100.0 * best if problem == "nasbench201" else best  # NAS reward = accuracy/100 - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--seed-from", type=int, default=0, help="run seeds seed-from … seeds−1 (split a run across processes)")
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--agents", default="bo,ga,random")
    parser.add_argument("--problems", default="nasbench201,dram-random,dram-cloud-1")
    parser.add_argument("--dram-requests", type=int, default=2000)
    parser.add_argument("--cost-agents", default="bo", help="agents whose per-step cost is measured ('' for none)")
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--name", default="bo_goal", help="file stem of the raw results (one per trace cut)")
    parser.add_argument("--merge", default="", help="comma-separated file stems whose runs (same setup) join --name's")
    parser.add_argument("--report", action="store_true", help="run nothing: summarise the saved runs")
    args = parser.parse_args()

    catalogue = problems(args.dram_requests)
    agents, names = args.agents.split(","), args.problems.split(",")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{args.name}.json"
    # resumable: finished runs of the same setup (budget, trace cut) are kept and skipped
    saved = json.loads(path.read_text()) if path.exists() else {}
    same = saved.get("args", {}).get("budget") == args.budget and saved.get("args", {}).get("dram_requests") == args.dram_requests
    done = {(r["problem"], r["agent"], r["seed"]): r for r in saved.get("runs", [])} if same else {}
    for stem in filter(None, args.merge.split(",")):
        other = json.loads((out / f"{stem}.json").read_text())
        if (other["args"]["budget"], other["args"]["dram_requests"]) != (args.budget, args.dram_requests):
            raise SystemExit(f"{stem}.json holds another setup (budget, dram_requests) than --budget/--dram-requests")
        done.update({(r["problem"], r["agent"], r["seed"]): r for r in other["runs"]})
    # seed-major order: an interrupted run still has the first seeds of every (problem, agent)
    tasks = [(p, *catalogue[p], a, s, args.budget) for s in range(args.seed_from, args.seeds) for p in names for a in agents
             if (p, a, s) not in done and not args.report]
    cost_tasks = [(a, env, 505) for a in filter(None, args.cost_agents.split(","))
                  for env in ("archgym/NASBench201-v0", "archgym/Synthetic-v0") if not args.report]
    costs = saved.get("step_costs", []) if same and not cost_tasks else []

    def save() -> None:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"args": vars(args), "step_costs": costs, "runs": list(done.values())}))
        tmp.replace(path)

    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        costs_future = [pool.submit(step_cost, t) for t in cost_tasks]
        for i, run in enumerate(pool.map(one_run, tasks)):  # in task order, saved as they come
            done[(run["problem"], run["agent"], run["seed"])] = run
            save()
            print(f"  {run['problem']:<14}{run['agent']:<8}seed {run['seed']:<3} best@{args.budget} "
                  f"{max(run['rewards']):.4g}  {run['wall_s']:.0f} s  [{i + 1}/{len(tasks)}]", flush=True)
        if cost_tasks:
            costs = [f.result() for f in costs_future]
    runs = [r for r in done.values() if r["problem"] in names and r["agent"] in agents and r["seed"] < args.seeds]
    print(f"{len(tasks)} runs of {args.budget} evaluations + {len(cost_tasks)} cost runs in "
          f"{time.perf_counter() - start:.0f} s ({args.workers} workers); DRAM traces cut to {args.dram_requests} "
          f"requests; {len(runs)} runs in the results (uptime load: {os.getloadavg()[0]:.1f})")

    checkpoints = [c for c in CHECKPOINTS if c <= args.budget]
    summary: dict = {}
    for problem in names:
        unit = "best validation accuracy, %" if problem == "nasbench201" else "best reward"
        print(f"\n{problem}: {unit}, median [IQR] over the seeds run (n)")
        print(f"{'agent':<14}" + "".join(f"{'@' + str(c):>26}" for c in checkpoints) + f"{'unique designs':>16}{'s/run':>8}{'n':>4}")
        for agent in agents:
            mine = [r for r in runs if r["problem"] == problem and r["agent"] == agent]
            if not mine:
                continue
            cells = []
            for c in checkpoints:
                values = [score(problem, r["rewards"], c) for r in mine]
                q1, med, q3 = np.percentile(values, [25, 50, 75])
                summary.setdefault(problem, {}).setdefault(agent, {})[f"@{c}"] = {"median": med, "q1": q1, "q3": q3}
                cells.append(f"{med:>12.5g} [{q1:.5g}, {q3:.5g}]".rjust(26))
            unique = np.median([r["unique_designs"] for r in mine])
            wall = np.mean([r["wall_s"] for r in mine])
            summary[problem][agent]["seeds"] = len(mine)
            print(f"{agent:<14}" + "".join(cells) + f"{unique:>16.0f}{wall:>8.1f}{len(mine):>4}")
    if "nasbench201" in summary and "bo" in summary["nasbench201"]:
        med = summary["nasbench201"]["bo"][f"@{checkpoints[-1]}"]["median"]
        print(f"\nNASBench201 goal (median @100 >= {NAS_GOAL}): bo {med:.2f} -> {'met' if med >= NAS_GOAL else 'NOT met'}")
    for problem in ("dram-random", "dram-cloud-1"):
        if problem in summary and {"bo", "ga"} <= set(summary[problem]):
            bo, ga = (summary[problem][a][f"@{checkpoints[-1]}"]["median"] for a in ("bo", "ga"))
            print(f"{problem} goal (bo >= ga @{checkpoints[-1]}): bo {bo:.4g} vs ga {ga:.4g} -> {'met' if bo >= ga else 'NOT met'}")
    if costs:
        print("\nper-step cost (ask + tell, simulator excluded), ms")
        for c in costs:
            at500 = "n/a" if c["at_500_s"] is None else f"{c['at_500_s'] * 1e3:.0f}"
            print(f"{c['agent']:<8}{c['env']:<26} @100 {c['at_100_s'] * 1e3:>7.0f}   @500 {at500:>7}   "
                  f"505 steps: {c['total_s']:.0f} s")

    path.write_text(json.dumps({"args": vars(args), "summary": summary, "step_costs": costs, "runs": list(done.values())}))
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    main()
