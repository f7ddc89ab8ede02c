"""Evaluation speed of the analytical accelerator model, one core.

Designs: 10,000 drawn uniformly from the Accelerator-v0 design space, restricted to
``rf_bytes >= 64`` so that every one maps ResNet-18 (its 7x7 conv1 needs 54 B per PE under the
weight- and input-stationary dataflows). Workloads: ResNet-18 as a whole network (12 distinct
layers, 21 with repeats) and a single layer of it (layer2.0.conv2, 3x3 128->128 at 28x28).
Each figure is the best of ``REPEAT`` runs:

* ``evaluate_batch``: the vectorised path, metrics dicts included (target: >= 10,000
  whole-network evaluations/s);
* ``evaluate_arrays``: the same, metrics left as numpy arrays;
* ``evaluate``: one design per call (what an env step costs without the cache);
* ``env.step``: ``archgym/Accelerator-v0`` steps with the cache off.

Run: ``python benchmarks/accelerator_speed.py``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core; set before numpy is imported

import time  # noqa: E402

import numpy as np  # noqa: E402

from archgym.simulators.accelerator import (  # noqa: E402
    PARAMETER_VALUES, AnalyticalAccelerator, Workload, load_workload,
)

N = 10_000
N_SINGLE = 2_000
REPEAT = 3
TARGET = 10_000


def sample_designs(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    values = {**PARAMETER_VALUES, "rf_bytes": tuple(v for v in PARAMETER_VALUES["rf_bytes"] if v >= 64)}
    return [{k: v[rng.integers(len(v))] for k, v in values.items()} for _ in range(n)]


def best_rate(fn, count: int) -> float:
    best = float("inf")
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> None:
    import gymnasium as gym

    import archgym  # noqa: F401

    sim = AnalyticalAccelerator()
    network = load_workload("resnet18")
    layer = Workload.from_layers("layer2.0.conv2", [l for l in network.layers if l.name == "layer2.0.conv2"])
    designs = sample_designs(N)
    single = designs[:N_SINGLE]
    for workload in (network, layer):
        assert sim.evaluate_arrays(designs, workload).feasible.all()

    print(f"analytical accelerator model, {N:,} random designs, one core\n")
    header = f"{'path':<16} {'workload':<28} {'evaluations/s':>14}"
    print(header)
    print("-" * len(header))
    rates = {}
    for label, workload in (("ResNet-18 (whole network)", network), ("ResNet-18 layer2.0.conv2", layer)):
        rates[("batch", label)] = best_rate(lambda: sim.evaluate_batch(designs, workload), N)
        rates[("arrays", label)] = best_rate(lambda: sim.evaluate_arrays(designs, workload), N)
        rates[("single", label)] = best_rate(lambda: [sim.evaluate(d, workload) for d in single], N_SINGLE)
        for path, name in (("batch", "evaluate_batch"), ("arrays", "evaluate_arrays"), ("single", "evaluate")):
            print(f"{name:<16} {label:<28} {rates[(path, label)]:>14,.0f}")

    env = gym.make("archgym/Accelerator-v0", cache=False)
    env.reset(seed=0)
    steps = sample_designs(N_SINGLE, seed=1)
    rate = best_rate(lambda: [env.step(d) for d in steps], N_SINGLE)
    print(f"{'env.step':<16} {'ResNet-18 (whole network)':<28} {rate:>14,.0f}")

    batch = rates[("batch", "ResNet-18 (whole network)")]
    verdict = "meets" if batch >= TARGET else "MISSES"
    print(f"\nevaluate_batch on the whole network: {batch:,.0f}/s, {batch / TARGET:.1f}x the target of "
          f"{TARGET:,}/s ({verdict} it)")


if __name__ == "__main__":
    main()
