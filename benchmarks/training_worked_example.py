"""Worked example: the best 3-D network for GPT-3 13B on 256 NPUs under a network budget.

Exhaustive over a slice of ``archgym/Training-v0``'s space (256 NPUs): every ordered 3-D
shape, every building block per dimension, link bandwidths {50, 100, 200, 400} GB/s per
dimension, each block's natural algorithm (Ring → ring, FullyConnected → direct, Switch →
halvingDoubling), 4 chunks, TP and PP in {1, 2, 4, 8}; budget 300 link-GB/s per NPU
(76,800 link-GB/s). Evaluated with the vectorised simulator, then compared with what a
search agent finds through the env in a small budget.

    OMP_NUM_THREADS=1 python benchmarks/training_worked_example.py

Writes ``benchmarks/results/training_worked_example.json``.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import gymnasium as gym

import archgym  # noqa: F401
from archgym.agents import make_agent
from archgym.simulators.training.collectives import NATURAL_ALGORITHM
from archgym.simulators.training.network import TOPOLOGY_KINDS, factorizations
from archgym.simulators.training.step import TrainingSimulator

NPUS, WORKLOAD, BUDGET = 256, "gpt3-13b", 300.0 * 256
OUT = Path(__file__).resolve().parent / "results" / "training_worked_example.json"


def main() -> None:
    sim = TrainingSimulator(npus=NPUS)
    shapes = ["x".join(map(str, s)) for s in factorizations(NPUS, 3) if len(s) == 3]
    designs = []
    for shape, kinds, bws, tp, pp in itertools.product(
        shapes, itertools.product(TOPOLOGY_KINDS, repeat=3), itertools.product((50, 100, 200, 400), repeat=3),
        (1, 2, 4, 8), (1, 2, 4, 8),
    ):
        d = {"shape": shape, "chunks": 4, "tp": tp, "pp": pp}
        for i in range(3):
            d[f"kind{i}"], d[f"bw{i}"], d[f"alg{i}"] = kinds[i], bws[i], NATURAL_ALGORITHM[kinds[i]]
        designs.append(d)
    start = time.process_time()
    results = []
    for lo in range(0, len(designs), 50_000):
        results += sim.evaluate_batch(designs[lo: lo + 50_000], WORKLOAD, errors="return")
    cpu = time.process_time() - start
    ok = [(d, m) for d, m in zip(designs, results) if not isinstance(m, Exception)]
    within = sorted((x for x in ok if x[1]["network_cost"] <= BUDGET), key=lambda x: x[1]["step_time_ms"])
    print(f"{len(designs):,} designs, {len(ok):,} feasible, {len(within):,} within budget; {cpu:.1f} CPU-s "
          f"({len(designs) / cpu:,.0f} designs per CPU-second)")

    def show(d, m):
        net = " / ".join(f"{d[f'kind{i}']} {s}@{d[f'bw{i}']}" for i, s in enumerate(d["shape"].split("x")))
        return (f"{d['shape']:8} {net:52} TP{d['tp']} PP{d['pp']}  step {m['step_time_ms']:8.1f} ms  "
                f"exposed comm {m['exposed_comm_ms']:7.1f} ms  bubble {m['bubble_ms']:6.1f} ms  cost {m['network_cost']:,.0f}")

    print("best within budget:")
    for d, m in within[:5]:
        print("  " + show(d, m))
    unconstrained = min(ok, key=lambda x: x[1]["step_time_ms"])
    print("best without budget:\n  " + show(*unconstrained))
    cheapest = min(within, key=lambda x: (x[1]["network_cost"], x[1]["step_time_ms"]))

    # the same question through the env and a search agent (full design space, 1000 evaluations)
    env = gym.make("archgym/Training-v0", npus=NPUS, workload=WORKLOAD)
    agent_runs = {}
    for name in ("random", "ga"):
        agent = make_agent(name, env.unwrapped.design_space, seed=0)
        res = agent.run(env, budget=1000)
        m = env.unwrapped.simulator.evaluate(res.best_design, WORKLOAD)
        agent_runs[name] = dict(design=res.best_design, metrics=m, reward=res.best_reward)
        print(f"{name} (1000 evaluations through the env): " + show(res.best_design, m))

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(dict(
        npus=NPUS, workload=WORKLOAD, budget=BUDGET, designs=len(designs), feasible=len(ok), within_budget=len(within),
        cpu_seconds=cpu, best=[dict(design=d, metrics=m) for d, m in within[:20]],
        best_unconstrained=dict(design=unconstrained[0], metrics=unconstrained[1]),
        cheapest=dict(design=cheapest[0], metrics=cheapest[1]), agents=agent_runs,
    ), indent=1, default=str))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
