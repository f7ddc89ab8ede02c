"""Evaluation speed of the accelerator back-ends, one core: analytical, ZigZag and SCALE-Sim.

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

Then, in the same run, the reference back-ends on the same two workloads, one design per call
in one child process (what the env does; inter-process overhead included, the worker started
before timing; each distinct layer shape of a network runs once): ZigZag (``mapping="fixed"``)
on ``--zigzag-designs`` designs and SCALE-Sim on ``--scalesim-designs`` designs, the first
designs of :func:`reference_designs` (the baseline 16x16 array under each dataflow: every
back-end maps them). The last table gives evaluations/s of every back-end and the ratio
analytical : ZigZag : SCALE-Sim, for the analytical model both batched (``evaluate_batch``) and
one design per call (``evaluate``).

Run: ``python benchmarks/accelerator_speed.py`` (about 20 minutes on one core, 16 of them
SCALE-Sim on the whole network; ``--scalesim-designs 0`` skips SCALE-Sim).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core; set before numpy is imported

import argparse  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402
from results_io import save_results  # noqa: E402  (benchmarks/results_io.py, beside this script)

from archgym.simulators.accelerator import (  # noqa: E402
    BASELINE_DESIGN, DATAFLOWS, PARAMETER_VALUES, AnalyticalAccelerator, Layer, Workload, load_workload,
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


def reference_designs() -> list[dict[str, Any]]:
    """The baseline design under each dataflow (WS first)."""
    return [{**BASELINE_DESIGN, "dataflow": dataflow} for dataflow in DATAFLOWS]


def reference_rate(sim: Any, designs: list[dict[str, Any]], workload: Workload) -> float:
    """Evaluations/s of a layer-job back-end, one design per call, a fresh cache per design set."""
    sim.evaluate({**designs[0], "pe_rows": 3, "pe_cols": 3}, Workload.from_layers("warm", [Layer.gemm("w", 4, 4, 4)]))
    start = time.perf_counter()
    for design in designs:
        sim.evaluate(design, workload)
    return len(designs) / (time.perf_counter() - start)


def references(workloads: dict[str, Workload], n_zigzag: int, n_scalesim: int) -> dict[tuple[str, str], float]:
    rates: dict[tuple[str, str], float] = {}
    makers: list[tuple[str, int, Callable[[], Any]]] = []
    if n_zigzag:
        from archgym.simulators.accelerator.zigzag_backend import ZigZagAccelerator
        makers.append(("ZigZag fixed", n_zigzag, lambda: ZigZagAccelerator(timeout_s=None)))
    if n_scalesim:
        from archgym.simulators.accelerator.scalesim_backend import ScaleSimAccelerator
        makers.append(("SCALE-Sim", n_scalesim, lambda: ScaleSimAccelerator(timeout_s=None)))
    for backend, n, make in makers:
        designs = reference_designs()[:n]
        for label, workload in workloads.items():
            sim = make()  # a fresh cache: nothing measured here was evaluated before
            try:
                rates[(backend, label)] = reference_rate(sim, designs, workload)
            finally:
                sim.close()
            print(f"{backend:<16} {label:<28} {rates[(backend, label)]:>14,.4g}   ({n} design(s))", flush=True)
    return rates


def ratio_text(analytical: float, zigzag: float | None, scalesim: float | None) -> str:
    """``analytical : ZigZag : SCALE-Sim`` normalised to the slowest back-end measured."""
    rates = [r for r in (analytical, zigzag, scalesim) if r]
    return " : ".join(f"{r / rates[-1]:,.3g}" for r in rates) if len(rates) > 1 else "-"


def main(argv: list[str] | None = None) -> None:
    import gymnasium as gym

    import archgym  # noqa: F401

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zigzag-designs", type=int, default=3, choices=range(0, 4),
                        help="designs ZigZag evaluates per workload (0-3)")
    parser.add_argument("--scalesim-designs", type=int, default=1, choices=range(0, 4),
                        help="designs SCALE-Sim evaluates per workload (0-3)")
    args = parser.parse_args(argv)

    sim = AnalyticalAccelerator()
    network = load_workload("resnet18")
    layer = Workload.from_layers("layer2.0.conv2", [l for l in network.layers if l.name == "layer2.0.conv2"])
    workloads = {"ResNet-18 (whole network)": network, "ResNet-18 layer2.0.conv2": layer}
    designs = sample_designs(N)
    single = designs[:N_SINGLE]
    for workload in workloads.values():
        assert sim.evaluate_arrays(designs, workload).feasible.all()

    print(f"analytical accelerator model, {N:,} random designs, one core\n")
    header = f"{'path':<16} {'workload':<28} {'evaluations/s':>14}"
    print(header)
    print("-" * len(header))
    rates = {}
    for label, workload in workloads.items():
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
          f"{TARGET:,}/s ({verdict} it)\n")

    ref = references(workloads, args.zigzag_designs, args.scalesim_designs)
    print("\nevaluations/s per back-end in this run, and the ratio analytical : ZigZag : SCALE-Sim")
    header = (f"{'workload':<28} {'an. batch':>11} {'an. single':>11} {'ZigZag':>9} {'SCALE-Sim':>10}   "
              f"{'ratio (an. batch)':<26} ratio (an. single)")
    print(header)
    print("-" * len(header))
    for label in workloads:
        zz, ss = ref.get(("ZigZag fixed", label)), ref.get(("SCALE-Sim", label))
        batch, one = rates[("batch", label)], rates[("single", label)]
        print(f"{label:<28} {batch:>11,.0f} {one:>11,.0f} {zz or float('nan'):>9.3g} {ss or float('nan'):>10.3g}   "
              f"{ratio_text(batch, zz, ss):<26} {ratio_text(one, zz, ss)}")
    save_results("accelerator_speed", {
        "evaluations_per_s": [{"path": path, "workload": label, "rate": rate} for (path, label), rate in rates.items()],
        "env_step_per_s": rate,
        "references_per_s": [{"backend": b, "workload": label, "rate": r} for (b, label), r in ref.items()],
        "designs": N, "designs_single": N_SINGLE, "repeat": REPEAT,
    })


if __name__ == "__main__":
    main()
