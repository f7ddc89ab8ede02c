"""Sample efficiency of every agent: best-so-far after 25/50/100/200/500 evaluations (issue 12 §4).

Each (problem, agent, seed) cell is one ``agent.run(env, budget)`` with the agent's default
hyperparameters and ``seed`` as its seed (seeds 0 … ``--seeds``−1, so every rerun is the same
experiment). For each cell the script keeps the best-so-far curve (as its improvement points),
the unique designs evaluated, the best design and the wall time, in
``benchmarks/results/<name>.json``; a rerun skips every cell already there (resume), so the
benchmark can be stopped and continued, or widened (more agents, seeds, problems) later.

Each cell records the simulator that scored it (``simulator``: its fingerprint, name@version plus
configuration, and the workload key, see :func:`simulator_identity`). A cell whose simulator is not
the current one is stale: a run re-runs it, and the tables and plot leave it out (and say how many
they left out), so no table ever mixes simulator versions.

Problems:

* ``nasbench201``: ``archgym/NASBench201-v0``, scored as best 200-epoch CIFAR-10 validation
  accuracy (%); reference line: the table's optimum, 91.61 %.
* ``accelerator``: ``archgym/Accelerator-v0`` (analytical back-end, ArchGym's ``target_distance``
  reward: latency and energy 10 % below the baseline; capped at 1e6 when both are within 0.1 %).
* ``codesign``: ``archgym/CoDesign-v0`` (``normalized_excess``: −(100 − accuracy)/100 minus the
  relative excess of latency, energy and area over targets 10 % below the baseline); reference
  line: exhaustive over all 15,625 cells on each of the best accelerators the agents found
  (``--reference``), an exhaustive-subset optimum.
* ``dram-random`` / ``dram-cloud-1``: ``archgym/DRAM-v0`` on the ``random`` / ``cloud-1`` trace
  cut to the first ``--dram-requests`` requests (default 1,000 of 10,000) to fit the machine.

    python benchmarks/agents_sample_efficiency.py [--seeds 20] [--budget 500] [--workers 2]
        [--agents random,ga,...] [--problems nasbench201,accelerator,...] [--dram-requests 1000]
        [--reference] [--report] [--name agents_sample_efficiency]

``--report`` only prints the tables and redraws the plot from the saved cells.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np

from results_io import RESULTS_DIR, _jsonable, setup

CHECKPOINTS = (25, 50, 100, 200, 500)
#: NAS-Bench-201's best 200-epoch CIFAR-10 validation accuracy, %
NAS_OPTIMUM = 91.61
#: agents whose steps are costly (RL, GP models): scheduled first so the two workers end together
SLOW_AGENTS = ("bo", "optuna_gp", "ppo", "a2c", "dqn", "marl")


def problems(dram_requests: int) -> dict[str, tuple[str, dict]]:
    return {
        "nasbench201": ("archgym/NASBench201-v0", {}),
        "accelerator": ("archgym/Accelerator-v0", {}),
        "codesign": ("archgym/CoDesign-v0", {}),
        "dram-random": ("archgym/DRAM-v0", {"workload": "random", "max_requests": dram_requests}),
        "dram-cloud-1": ("archgym/DRAM-v0", {"workload": "cloud-1", "max_requests": dram_requests}),
    }


def cell_key(problem: str, agent: str, seed: int) -> str:
    return f"{problem}|{agent}|{seed}"


def simulator_identity(env: Any) -> str:
    """What scored a cell: the simulator's fingerprint (name@version and configuration) and the
    workload's key (trace content hash), e.g. ``dram@1.2:a9d0c8857c826394|random:3a450c5f9caa5441``."""
    unwrapped = env.unwrapped
    return f"{unwrapped.simulator.fingerprint()}|{unwrapped.workload_key}"


def current_identities(catalogue: dict[str, tuple[str, dict]], names: list[str]) -> dict[str, str]:
    """:func:`simulator_identity` of each problem's env as built now (construction only, no evaluation)."""
    import warnings

    import gymnasium as gym

    import archgym  # noqa: F401

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    identities = {}
    for problem in names:
        env_id, kwargs = catalogue[problem]
        env = gym.make(env_id, **kwargs)
        identities[problem] = simulator_identity(env)
        env.close()
    return identities


def current_cells(cells: dict, identities: dict[str, str]) -> tuple[dict, list[str]]:
    """The cells scored by the current simulator of their problem, and the keys of the stale ones
    (another simulator version or configuration, or no record of one)."""
    fresh, stale = {}, []
    for key, cell in cells.items():
        problem = key.split("|", 1)[0]
        if problem in identities and cell.get("simulator") != identities[problem]:
            stale.append(key)
        else:
            fresh[key] = cell
    return fresh, stale


def _setup_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


def one_run(task: tuple[str, str, dict, str, int, int]) -> dict[str, Any]:
    """Run one agent on one problem with one seed.

    Returns the best-so-far curve as improvement points ``[[step, best], ...]`` (steps from 1),
    unique designs, best design and wall time; ``skipped`` names why an agent cannot run here
    (``dqn`` on a design space too large to flatten into one action per design).
    """
    _setup_worker()
    import warnings

    import gymnasium as gym

    import archgym  # noqa: F401
    from archgym.agents import make_agent

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    problem, env_id, kwargs, agent, seed, budget = task
    env = gym.make(env_id, **kwargs)
    best: dict[str, Any] = {"reward": -np.inf, "design": None}

    def track(step: int, design: dict, reward: float, info: dict) -> None:
        if reward > best["reward"]:
            best.update(reward=float(reward), design=dict(design))

    start = time.perf_counter()
    identity = simulator_identity(env)
    try:
        runner = make_agent(agent, env.unwrapped.design_space, seed=seed)
        result = runner.run(env, budget, callback=track)
    except ValueError as exc:
        if "too large" not in str(exc):
            raise
        return {"skipped": str(exc), "simulator": identity}
    wall = time.perf_counter() - start
    curve = np.maximum.accumulate(np.asarray(result.rewards, dtype=np.float64))
    improved = np.flatnonzero(np.r_[True, curve[1:] > curve[:-1]])
    return {
        "improvements": [[int(i) + 1, float(curve[i])] for i in improved],
        "evaluations": len(result.rewards),
        "unique_designs": int(result.unique_designs),
        "best_design": _jsonable(best["design"]),
        "wall_s": round(wall, 3),
        "simulator": identity,
        "hyperparameters": _jsonable(getattr(runner, "hyperparameters", {})),
    }


def best_at(cell: dict, step: int) -> float:
    """Best reward within the first ``step`` evaluations, from a cell's improvement points."""
    value = -np.inf
    for at, best in cell["improvements"]:
        if at > step:
            break
        value = best
    return value


def score(problem: str, reward: float) -> float:
    """What the tables show: NAS rewards as accuracy in % (reward = accuracy/100 − 1), else the reward."""
    return 100.0 + 100.0 * reward if problem == "nasbench201" else reward


def codesign_reference(cells: dict, top: int = 3) -> dict[str, Any]:
    """Exhaustive over all 15,625 NAS-Bench-201 cells on each of the ``top`` best distinct
    accelerators the agents found on CoDesign-v0: the best reward of that subset (a lower bound
    of the true optimum, and an upper bound of what a better accelerator search alone could add
    on these accelerators)."""
    import itertools
    import warnings

    import gymnasium as gym

    import archgym  # noqa: F401
    from archgym.envs.nasbench201 import cell_design_space

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    env = gym.make("archgym/CoDesign-v0").unwrapped
    cell_space = cell_design_space()
    found = sorted(((best_at(c, c["evaluations"]), c["best_design"]) for k, c in cells.items()
                    if k.startswith("codesign|") and c.get("best_design")), key=lambda x: -x[0])
    accelerators: list[dict] = []
    for _, design in found:
        hw = {k: v for k, v in design.items() if k not in cell_space.names}
        if hw not in accelerators:
            accelerators.append(hw)
        if len(accelerators) == top:
            break
    ops = [p.choices for p in cell_space.parameters]
    start = time.perf_counter()
    best = {"reward": -np.inf}
    per_accelerator = []
    for hw in accelerators:
        designs = [{**dict(zip(cell_space.names, combo)), **hw} for combo in itertools.product(*ops)]
        env.prefetch(designs)
        env.reset(seed=0)
        local = {"reward": -np.inf}
        for design in designs:
            _, reward, _, _, info = env.step(design)
            if reward > local["reward"]:
                local = {"reward": float(reward), "design": design, "metrics": info["metrics"]}
        per_accelerator.append({"accelerator": hw, "best_reward": local["reward"], "cells": len(designs)})
        if local["reward"] > best["reward"]:
            best = local
    return {"best_reward": best["reward"], "best_design": best.get("design"), "best_metrics": best.get("metrics"),
            "accelerators": per_accelerator, "seconds": round(time.perf_counter() - start, 1)}


def summarise(cells: dict, problem: str, agents: list[str], seeds: int, budget: int) -> dict[str, Any]:
    """Median and IQR of best-so-far at each checkpoint, and of unique designs, per agent."""
    table: dict[str, Any] = {}
    for agent in agents:
        mine = [cells[k] for s in range(seeds) if (k := cell_key(problem, agent, s)) in cells]
        if not mine:
            continue
        if "skipped" in mine[0]:
            table[agent] = {"skipped": mine[0]["skipped"]}
            continue
        row: dict[str, Any] = {"seeds": len(mine)}
        evaluations = min(cell["evaluations"] for cell in mine)
        row["evaluations"] = evaluations
        for c in (c for c in CHECKPOINTS if c <= min(budget, evaluations)):
            q1, med, q3 = np.percentile([score(problem, best_at(cell, c)) for cell in mine], [25, 50, 75])
            row[f"@{c}"] = {"median": med, "q1": q1, "q3": q3}
        q1, med, q3 = np.percentile([cell["unique_designs"] for cell in mine], [25, 50, 75])
        row["unique_designs"] = {"median": med, "q1": q1, "q3": q3}
        row["wall_s_mean"] = float(np.mean([cell["wall_s"] for cell in mine]))
        table[agent] = row
    return table


def fmt(problem: str, value: float) -> str:
    if problem == "nasbench201":
        return f"{value:.2f}"
    if problem == "codesign":
        return f"{value:.4f}"
    return f"{value:.4g}"


def print_tables(summary: dict, reference: dict) -> None:
    for problem, table in summary.items():
        print(f"\n{problem}: best-so-far, median (IQR) over seeds; reference: {reference.get(problem, 'n/a')}")
        print(f"{'agent':<14}" + "".join(f"{'@' + str(c):>28}" for c in CHECKPOINTS) + f"{'unique@end':>12}{'s/run':>8}")
        for agent, row in table.items():
            if "skipped" in row:
                print(f"{agent:<14}  n/a: {row['skipped'][:90]}")
                continue
            cells = []
            for c in CHECKPOINTS:
                cell = row.get(f"@{c}")
                cells.append(("" if cell is None else
                              f"{fmt(problem, cell['median'])} ({fmt(problem, cell['q1'])}–{fmt(problem, cell['q3'])})").rjust(28))
            print(f"{agent:<14}" + "".join(cells) + f"{row['unique_designs']['median']:>12.0f}{row['wall_s_mean']:>8.1f}")


def markdown(summary: dict, reference: dict) -> str:
    """The README tables: per problem, agents as rows, median (IQR) at each checkpoint."""
    out = []
    for problem, table in summary.items():
        out.append(f"\n{problem} (reference: {reference.get(problem, 'none')})\n")
        out.append("| agent | " + " | ".join(f"@{c}" for c in CHECKPOINTS) + " | unique / evaluated | s/run |")
        out.append("|---" * (len(CHECKPOINTS) + 3) + "|")
        for agent, row in table.items():
            if "skipped" in row:
                out.append(f"| {agent} | n/a: too many designs for one action per design |" + " |" * (len(CHECKPOINTS) + 1))
                continue
            cells = []
            for c in CHECKPOINTS:
                cell = row.get(f"@{c}")
                cells.append("—" if cell is None else
                             f"{fmt(problem, cell['median'])} ({fmt(problem, cell['q1'])}–{fmt(problem, cell['q3'])})")
            notes = [f"{row['seeds']} seeds"] if row["seeds"] < 20 else []
            if row["evaluations"] < max(CHECKPOINTS):
                notes.append(f"cap {row['evaluations']}")
            name = agent if not notes else f"{agent} ({', '.join(notes)})"
            out.append(f"| {name} | " + " | ".join(cells) + f" | {row['unique_designs']['median']:.0f} / {row['evaluations']} | {row['wall_s_mean']:.1f} |")
    return "\n".join(out)


def _line_style(agent: str) -> dict[str, Any]:
    """Line style per agent family, so 15 curves stay apart: random search a thick dashed black
    baseline, Optuna samplers dash-dotted, RL agents dotted, the others solid."""
    if agent == "random":
        return {"ls": "--", "lw": 2.0}
    if agent.startswith("optuna_"):
        return {"ls": "-.", "lw": 1.4}
    if agent in ("ppo", "a2c", "dqn", "marl"):
        return {"ls": ":", "lw": 1.8}
    return {"ls": "-", "lw": 1.4}


def plot(cells: dict, summary: dict, reference: dict, seeds: int, budget: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary)
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.2 * columns, 4.6 * rows), squeeze=False)
    x = np.arange(1, budget + 1)
    every = sorted({agent for table in summary.values() for agent in table})
    colours = {agent: plt.get_cmap("tab20")((2 * i) % 20 + (2 * i) // 20 % 2) for i, agent in enumerate(every)}
    for ax, problem in zip(axes.flat, names):
        for agent, row in summary[problem].items():
            if "skipped" in row:
                continue
            mine = [cells[k] for s in range(seeds) if (k := cell_key(problem, agent, s)) in cells]
            steps = x[: row["evaluations"]]
            runs = np.array([[score(problem, best_at(c, step)) for step in steps] for c in mine])
            style = _line_style(agent)
            colour = "k" if agent == "random" else colours[agent]
            line, = ax.plot(steps, np.median(runs, axis=0), label=agent, color=colour, **style)
            ax.fill_between(steps, *np.percentile(runs, [25, 75], axis=0), color=line.get_color(), alpha=0.08)
        if problem in reference and isinstance(reference[problem], (int, float)):
            ax.axhline(reference[problem], color="k", lw=0.8, ls=":", label="reference")
        ax.set_xscale("log")
        ax.set_title(problem)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("best so far (median, IQR)" if problem != "nasbench201" else "best validation accuracy, %")
        if problem == "accelerator" or problem.startswith("dram"):
            ax.set_yscale("log")  # target_distance rewards span orders of magnitude
        if problem.startswith("dram"):
            ax.set_ylim(bottom=30)  # the first few evaluations sit near 1; the race is above 100
        if problem == "codesign":
            ax.set_ylim(-0.5, 0.0)  # the first few evaluations reach −10; the race is near −0.1
        if problem == "nasbench201":
            ax.set_ylim(89.5, 91.8)
        ax.grid(alpha=0.3)
    spare = list(axes.flat)[len(names):]
    for ax in spare:
        ax.axis("off")
    handles = {label: handle for ax in axes.flat for handle, label in zip(*ax.get_legend_handles_labels())}
    handles = {**{k: v for k, v in handles.items() if k != "reference"},
               **({"reference": handles["reference"]} if "reference" in handles else {})}  # reference last
    if spare:  # an empty panel holds the legend, in large type
        spare[0].legend(handles.values(), handles.keys(), loc="center", ncol=2, fontsize=11, frameon=False)
        fig.tight_layout()
    else:
        fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=min(9, len(handles)), fontsize=8)
        fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=100)


def load(path: Path) -> dict[str, Any]:
    if path.exists():
        return json.loads(path.read_text())["results"]
    return {"cells": {}, "reference": {}}


def save(path: Path, results: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"setup": setup(), "results": _jsonable(results)}, allow_nan=False) + "\n")
    tmp.replace(path)  # atomic: an interrupted run never leaves a half-written file


def main() -> None:
    from archgym.agents import list_agents

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--agents", default=",".join(list_agents()))
    parser.add_argument("--problems", default="nasbench201,accelerator,codesign,dram-random,dram-cloud-1")
    parser.add_argument("--dram-requests", type=int, default=1000)
    parser.add_argument("--cap", default="", help="per-agent budgets below --budget, e.g. 'bo=100,optuna_gp=200' "
                        "(costly agents; their later checkpoints are left blank)")
    parser.add_argument("--reference", action="store_true", help="compute CoDesign-v0's exhaustive-subset reference")
    parser.add_argument("--report", action="store_true", help="run no new cells: only summarise, print and plot")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as Markdown (README)")
    parser.add_argument("--name", default="agents_sample_efficiency", help="file stem of the JSON and plot")
    args = parser.parse_args()

    path = RESULTS_DIR / f"{args.name}.json"
    results = load(path)
    cells: dict = results["cells"]
    config = results.setdefault("config", {})
    for problem in args.problems.split(","):
        if problem.startswith("dram"):
            config.setdefault("dram_requests", args.dram_requests)
            if config["dram_requests"] != args.dram_requests:
                raise SystemExit(f"{path} holds DRAM cells with {config['dram_requests']} requests, "
                                 f"not --dram-requests {args.dram_requests}: use another --name")
    config.setdefault("budget", args.budget)
    if config["budget"] != args.budget:
        raise SystemExit(f"{path} holds cells with budget {config['budget']}, not {args.budget}: use another --name")

    catalogue = problems(args.dram_requests)
    agents, names = args.agents.split(","), args.problems.split(",")
    unknown = [p for p in names if p not in catalogue]
    if unknown:
        raise SystemExit(f"unknown problem(s) {unknown}; expected some of {', '.join(catalogue)}")
    order = sorted(agents, key=lambda a: a not in SLOW_AGENTS)
    caps = {a: int(b) for a, _, b in (item.partition("=") for item in filter(None, args.cap.split(",")))}
    identities = current_identities(catalogue, names)
    fresh, stale = current_cells(cells, identities)
    if stale:
        print(f"{len(stale)} cached cells were scored by another simulator than the current one "
              f"({', '.join(sorted({k.split('|', 1)[0] for k in stale}))}): "
              f"{'left out of the tables' if args.report else 're-run (overwritten) when selected, else left out'}",
              flush=True)
    tasks = [(p, *catalogue[p], a, s, min(args.budget, caps.get(a, args.budget))) for p in names for a in order
             for s in range(args.seeds) if cell_key(p, a, s) not in fresh]
    if tasks and not args.report:
        print(f"{len(tasks)} cells to run ({len(fresh)} current cached in {path.name})", flush=True)
        start = time.perf_counter()
        with ProcessPoolExecutor(args.workers) as pool:
            pending = {pool.submit(one_run, t): t for t in tasks}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    problem, _, _, agent, seed, _ = pending.pop(future)
                    key = cell_key(problem, agent, seed)
                    cells[key] = fresh[key] = future.result()
                    save(path, results)
                    print(f"  {problem:<13}{agent:<14}seed {seed:<3} {cells[key].get('wall_s', 'n/a')} s"
                          f"  [{len(pending)} left, {time.perf_counter() - start:.0f} s]", flush=True)

    reference: dict = results["reference"]
    reference["nasbench201"] = NAS_OPTIMUM
    if args.reference and "codesign" in names:
        results["codesign_reference"] = codesign_reference(fresh)
        reference["codesign"] = results["codesign_reference"]["best_reward"]
        print(f"CoDesign-v0 exhaustive-subset reference: {results['codesign_reference']}")
    summary = {p: summarise(fresh, p, agents, args.seeds, args.budget) for p in names}
    results["summary"] = summary
    save(path, results)
    print_tables(summary, reference)
    if args.markdown:
        print(markdown(summary, reference))
    plot(fresh, summary, reference, args.seeds, args.budget, RESULTS_DIR / f"{args.name}.png")
    print(f"\nraw results: {path}\nplot: {RESULTS_DIR / f'{args.name}.png'}")


if __name__ == "__main__":
    main()
