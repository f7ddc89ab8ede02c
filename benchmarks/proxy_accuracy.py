"""Proxy cost models: held-out accuracy and per-evaluation speed-up against the real simulator.

For each source -- ``archgym/DRAM-v0`` on workloads ``random`` and ``cloud-1``, and
``archgym/Accelerator-v0`` with the ZigZag back-end on ResNet-18 -- a dataset is collected with
:func:`archgym.runner.run_agent` and the ``random`` agent (cached under ``--cache``, reused by
later runs). Then for each model kind (``rf``, ``gbt``, ``mlp``) a proxy of the env's observed
metrics is trained on 80 % of the distinct designs and scored on the other 20 %
(:func:`archgym.proxy.fit_proxy`; designs never straddle the split). The table shows the
env's two target metrics: samples (distinct feasible designs, train/test), RMSE as % of the
metric's range and of its mean, MAPE, R², Kendall τ.

Learning curve (``--curve``, DRAM-v0 only): a fixed 20 % of the distinct designs of each DRAM
dataset is the test set; proxies are trained on the first 500, 1,500, 5,000 and 10,000
random-search evaluations (``--curve-sizes``) minus the test designs, for each configuration in
:data:`CURVE_CONFIGS`. Per size the configuration with the lowest RMSE on the proxy's own
validation split (the 20 % of the *training* designs that :func:`archgym.proxy.fit_proxy` holds
out) is marked as chosen; the test set never picks a model.

Speed, measured side by side in the same process on the same fresh random designs: the real
simulator's ``evaluate`` (one design per call, no cache; ``--speed-designs`` of them) against
each proxy's ``evaluate`` (one per call, the same designs) and ``evaluate_batch``
(``--batch-designs`` in one call); the ratios are speed-ups per evaluation.

ArchGym reports 0.61 % RMSE and a 2,000x cut in simulation time for its random-forest proxy.

Run: ``python benchmarks/proxy_accuracy.py [--curve]``; raw results in
``benchmarks/results/proxy_accuracy.json`` (``proxy_accuracy_quick.json`` with ``--quick``). The first run collects the datasets
(about 22 minutes on one core: 4-5 minutes per 10,000 DRAM evaluations, 12 minutes for ZigZag's
800); later runs reuse them. ``--quick`` collects a tenth as much (a smoke run).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core per process; set before numpy is imported

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

from results_io import save_results  # noqa: E402  (benchmarks/results_io.py, beside this script)

import archgym  # noqa: E402, F401  (registers the environments)
from archgym.dataset import load  # noqa: E402
from archgym.proxy import (  # noqa: E402
    FeatureEncoder,
    ProxySimulator,
    env_schema,
    evaluate_proxy,
    split_by_design,
    train_proxy,
)
from archgym.runner import run_agent  # noqa: E402
from archgym.simulator import SimulationError  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass(frozen=True)
class Case:
    """One source to collect and model."""

    label: str
    env_id: str
    env_kwargs: dict[str, Any]
    samples: int
    target_metrics: tuple[str, ...]
    observed_metrics: tuple[str, ...] = field(default=())


def cases(scale: float) -> list[Case]:
    from archgym.envs import accelerator, dram

    def n(x: int) -> int:
        return max(40, int(x * scale))

    return [
        Case("DRAM random", "archgym/DRAM-v0", {"workload": "random"}, n(10000),
             dram.DEFAULT_TARGET_METRICS, dram.OBSERVED_METRICS),
        Case("DRAM cloud-1", "archgym/DRAM-v0", {"workload": "cloud-1"}, n(10000),
             dram.DEFAULT_TARGET_METRICS, dram.OBSERVED_METRICS),
        Case("Accel. ZigZag resnet18", "archgym/Accelerator-v0", {"backend": "zigzag", "workload": "resnet18"},
             n(800), accelerator.DEFAULT_TARGET_METRICS, accelerator.OBSERVED_METRICS),
    ]


#: the learning curve's model configurations: name -> (kind, model_params). Defaults, more trees,
#: and boosting with many rounds stopped early on an internal validation split (scikit-learn's
#: ``early_stopping``), so no round count is tuned by hand.
CURVE_CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "rf": ("rf", {}),
    "rf-500": ("rf", {"n_estimators": 500}),
    "gbt": ("gbt", {}),
    "gbt-es": ("gbt", {"max_iter": 3000, "learning_rate": 0.05, "early_stopping": True, "n_iter_no_change": 50}),
}


def collect(case: Case, cache: Path, seed: int) -> tuple[Path, float]:
    """The case's dataset folder (collected unless cached) and the collection time (0 if cached)."""
    slug = "-".join([case.env_id.split("/")[-1], *(f"{k}={v}" for k, v in sorted(case.env_kwargs.items())),
                     f"n={case.samples}", f"seed={seed}"])
    folder = cache / slug
    done = folder / "_complete"  # readers ignore '_' names
    if done.exists():
        return folder, 0.0
    start = time.perf_counter()
    run_agent(case.env_id, "random", case.samples, seed=seed, env_kwargs=case.env_kwargs, dataset=folder,
              study="proxy-benchmark")
    elapsed = time.perf_counter() - start
    done.write_text(json.dumps({"seconds": elapsed}))
    return folder, elapsed


def speed(case: Case, proxies: dict[str, ProxySimulator], n_designs: int, n_batch: int, seed: int) -> dict[str, dict[str, float]]:
    """Seconds per evaluation, measured on the same fresh designs in this process.

    ``real_s``: the real simulator's ``evaluate`` (one design per call, no cache) on
    ``n_designs`` designs; per model kind, ``proxy_s``: the proxy's ``evaluate`` on the same
    designs, and ``proxy_batch_s``: its ``evaluate_batch`` on ``n_batch`` designs in one call.
    """
    env = gym.make(case.env_id, **case.env_kwargs, cache=False)
    try:
        real, space, workload = env.unwrapped.simulator, env.unwrapped.design_space, env.unwrapped.workload
        rng = np.random.default_rng(seed + 1)
        batch = [space.sample(rng) for _ in range(max(n_batch, n_designs))]
        designs = batch[:n_designs]
        start = time.perf_counter()
        for design in designs:
            try:
                real.evaluate(design, workload)
            except SimulationError:
                pass  # an infeasible design still costs the simulator its time
        real_s = (time.perf_counter() - start) / n_designs
    finally:
        env.close()
    result = {}
    for kind, proxy in proxies.items():
        proxy.evaluate(designs[0], workload)  # warm-up
        start = time.perf_counter()
        for design in designs:
            proxy.evaluate(design, workload)
        single_s = (time.perf_counter() - start) / n_designs
        start = time.perf_counter()
        proxy.evaluate_batch(batch, workload)
        result[kind] = {"real_s": real_s, "proxy_s": single_s, "proxy_batch_s": (time.perf_counter() - start) / len(batch)}
    return result


def learning_curve(case: Case, frame: "pd.DataFrame", sizes: list[int], seed: int) -> list[dict[str, Any]]:
    """Test scores of every :data:`CURVE_CONFIGS` entry trained on the first ``sizes`` evaluations.

    The test set is a fixed 20 % of the distinct feasible designs of ``frame`` (all rows of a
    design go to one side); each training set is the first ``n`` evaluations of the run, minus
    rows of test designs. One row per (size, configuration, target metric), with the proxy's
    validation score (``val_rmse_pct_range``) and ``chosen``: the configuration with the lowest
    mean validation RMSE (% of range) over the target metrics at that size.
    """
    if max(sizes) > len(frame):
        raise ValueError(f"{case.label}: learning-curve size {max(sizes)} exceeds the {len(frame)} "
                         "evaluations collected")
    frame = frame.sort_values("step", kind="stable").reset_index(drop=True)
    feasible = frame[frame["feasible"].fillna(False).astype(bool)]
    space, _ = env_schema(case.env_id, case.env_kwargs)
    features = FeatureEncoder(space).transform_frame(feasible)
    _, test = split_by_design(features, 0.2, seed)
    is_test = np.zeros(len(frame), dtype=bool)
    is_test[feasible.index[test]] = True
    test_frame = frame[is_test]
    rows: list[dict[str, Any]] = []
    for n in sizes:
        train_frame = frame.iloc[:n][~is_test[:n]]
        scored = []
        for name, (kind, params) in CURVE_CONFIGS.items():
            start = time.perf_counter()
            proxy = train_proxy(train_frame, case.env_id, workload=case.env_kwargs["workload"], kind=kind,
                                metrics=case.target_metrics, seed=seed, model_params=params, env_kwargs=case.env_kwargs)
            tested = evaluate_proxy(proxy, test_frame)
            seconds = time.perf_counter() - start
            validation = proxy.training["test"]
            scored.append((float(np.mean([validation[m]["rmse_pct_range"] for m in case.target_metrics])), name))
            for metric in case.target_metrics:
                rows.append({"source": case.label, "evaluations": n, "train": proxy.training["designs"],
                             "test": tested["designs"], "config": name, "metric": metric,
                             "val_rmse_pct_range": validation[metric]["rmse_pct_range"], **tested["metrics"][metric],
                             "fit_s": seconds, "chosen": False})
            print(f"  curve n={n} {name}: validation RMSE % range {scored[-1][0]:.3f} ({seconds:.1f} s)", flush=True)
        best = min(scored)[1]
        for row in rows:
            if row["evaluations"] == n and row["source"] == case.label and row["config"] == best:
                row["chosen"] = True
    return rows


def print_curve(rows: list[dict[str, Any]]) -> None:
    """Print :func:`learning_curve` rows as a markdown table (validation and test scores side by side)."""
    header = ("| source | evaluations | designs (train/test) | config | metric | validation RMSE % range | "
              "test RMSE % range | RMSE % mean | MAPE % | R² | Kendall τ |")
    print()
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        mark = " (chosen)" if r["chosen"] else ""
        print(f"| {r['source']} | {r['evaluations']} | {r['train']}/{r['test']} | {r['config']}{mark} | "
              f"{r['metric']} | {r['val_rmse_pct_range']:.3f} | {r['rmse_pct_range']:.3f} | {r['rmse_pct_mean']:.3f} | "
              f"{r['mape']:.3f} | {r['r2']:.5f} | {r['kendall_tau']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "archgym-proxy-benchmark",
                        help="where collected datasets are kept between runs")
    parser.add_argument("--models", default="rf,gbt,mlp", help="comma-separated model kinds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed-designs", type=int, default=30, help="designs timed one per call")
    parser.add_argument("--batch-designs", type=int, default=1000, help="designs in the timed evaluate_batch call")
    parser.add_argument("--quick", action="store_true", help="a tenth of the samples (smoke run)")
    parser.add_argument("--curve", action="store_true", help="also run the DRAM learning curve (see the docstring)")
    parser.add_argument("--curve-sizes", default="500,1500,5000,10000",
                        help="comma-separated numbers of random-search evaluations to train the curve's proxies on")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)

    scale = 0.1 if args.quick else 1.0
    try:
        curve_sizes = sorted({max(40, int(int(s) * scale)) for s in args.curve_sizes.split(",")})
    except ValueError:
        parser.error(f"--curve-sizes must be comma-separated integers, got {args.curve_sizes!r}")
    rows, curve_rows = [], []
    for case in cases(scale):
        folder, seconds = collect(case, args.cache, args.seed)
        frame = load(folder)
        note = f"collected in {seconds:.0f} s" if seconds else "cached"
        print(f"{case.label}: {len(frame)} evaluations, {int(frame['feasible'].sum())} feasible ({note}; {folder})",
              flush=True)
        proxies = {}
        for kind in args.models.split(","):
            proxies[kind] = train_proxy(frame, case.env_id, workload=case.env_kwargs["workload"], kind=kind,
                                        metrics=case.observed_metrics, seed=args.seed, env_kwargs=case.env_kwargs)
            print(f"  {kind}: fitted {len(case.observed_metrics)} metrics twice (held-out, then all designs) in "
                  f"{proxies[kind].training['fit_time_s']:.1f} s", flush=True)
        timings = speed(case, proxies, args.speed_designs, args.batch_designs, args.seed)
        if args.curve and case.env_id == "archgym/DRAM-v0":
            curve_rows += learning_curve(case, frame, curve_sizes, args.seed)
        for kind, proxy in proxies.items():
            training = proxy.training
            for metric in case.target_metrics:
                rows.append({"source": case.label, "model": kind, "metric": metric,
                             "designs": training["designs"], "train": training["train_designs"],
                             "test": training["test_designs"], **training["test"][metric], **timings[kind],
                             "fit_s": training["fit_time_s"]})

    header = ("| source | model | metric | designs (train/test) | RMSE % range | RMSE % mean | MAPE % | R² | "
              "Kendall τ | real ms/eval | speed-up (evaluate) | speed-up (batch) |")
    print()
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        print(f"| {r['source']} | {r['model']} | {r['metric']} | {r['designs']} ({r['train']}/{r['test']}) | "
              f"{r['rmse_pct_range']:.2f} | {r['rmse_pct_mean']:.2f} | {r['mape']:.2f} | {r['r2']:.3f} | "
              f"{r['kendall_tau']:.3f} | {1e3 * r['real_s']:.1f} | {r['real_s'] / r['proxy_s']:.1f}x | "
              f"{r['real_s'] / r['proxy_batch_s']:.0f}x |")
    if curve_rows:
        print_curve(curve_rows)
    print("\nArchGym's bar for its random-forest proxy: 0.61 % RMSE, 2,000x less simulation time.")
    save_results("proxy_accuracy_quick" if args.quick else "proxy_accuracy", {"table": rows, "curve": curve_rows})
    if args.json:
        args.json.write_text(json.dumps({"table": rows, "curve": curve_rows}, indent=2))


if __name__ == "__main__":
    main()
