"""``bo``'s cost per step (``ask`` + ``tell``, simulator excluded) with 100 and 500 points in its model.

Instead of running 500 BO steps to get there (hours of simulator time on DRAM-v0), the agent is
told ``points`` uniformly random designs with their real simulated outcomes, then ``--steps``
BO steps are timed (each ``ask`` conditions the GP(s) on everything told and optimises the
acquisition; the first also re-optimises the GP hyperparameters, which above 150 points happens
only when the history has grown by 5 %, so later steps show the usual cost). Problems: NASBench201-v0 (one reward GP: its reward is a monotone function of
accuracy) and DRAM-v0 ``random`` cut to 1,000 requests (composite BO: one GP per metric, the
target-distance reward applied to their posteriors), and the same DRAM task with
``model="reward"`` for comparison.

    python benchmarks/bo_step_cost.py [--points 100,500] [--steps 5]

Writes ``benchmarks/results/bo_step_cost.json``; the machine's load (``os.getloadavg``) is printed
beside the figures because the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import warnings

import numpy as np

from bo_goal import agent_step_seconds
from results_io import RESULTS_DIR, setup

CASES = {
    "nasbench201 (reward GP)": ("archgym/NASBench201-v0", {}, {}),
    "dram-random (composite)": ("archgym/DRAM-v0", {"workload": "random", "max_requests": 1000}, {}),
    "dram-random (model=reward)": ("archgym/DRAM-v0", {"workload": "random", "max_requests": 1000}, {"model": "reward"}),
}


def cost(env_id: str, kwargs: dict, hyperparameters: dict, points: int, steps: int) -> dict:
    import gymnasium as gym

    import archgym  # noqa: F401
    from archgym.agents import make_agent

    env = gym.make(env_id, **kwargs).unwrapped
    agent = make_agent("bo", env.design_space, seed=0, **hyperparameters)
    if hyperparameters.get("model") != "reward":
        agent.use_objective(env.objective)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(points):  # a history of `points` random designs with their real outcomes
        design = env.design_space.sample(rng)
        while agent.seen(design):
            design = env.design_space.sample(rng)
        _, reward, _, _, info = env.step(design)
        # what tell() does, without an ask(): the run's bookkeeping, then the model's update
        agent._record(design, reward, info["metrics"], info["feasible"])
        agent.update(_outcome(design, reward, info))
    seconds = []
    for _ in range(steps):
        seconds.append(agent_step_seconds(agent, env))
    return {"points": points, "steps": steps, "ms_per_step": 1e3 * float(np.mean(seconds)),
            "ms_each": [round(1e3 * x, 1) for x in seconds],
            "composite": bool(getattr(agent, "_composite_now", False)), "load_1min": os.getloadavg()[0]}


def _outcome(design: dict, reward: float, info: dict):
    from archgym.agents.base import Outcome, Suggestion

    return Outcome(Suggestion(-1, dict(design)), float(reward), dict(info["metrics"]), bool(info["feasible"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", default="100,500")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    rows = []
    for name, (env_id, kwargs, hp) in CASES.items():
        for points in map(int, args.points.split(",")):
            row = {"case": name, **cost(env_id, kwargs, hp, points, args.steps)}
            rows.append(row)
            print(f"{name:<28} {points:>4} points: {row['ms_per_step']:>7.0f} ms/step "
                  f"(each: {row['ms_each']}; composite={row['composite']}, load {row['load_1min']:.1f})", flush=True)
    path = RESULTS_DIR / "bo_step_cost.json"
    path.write_text(json.dumps({"setup": setup(), "rows": rows}, indent=1) + "\n")
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
