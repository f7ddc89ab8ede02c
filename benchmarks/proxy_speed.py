"""Proxy speed: one design per call and batched, against the real DRAM simulator, in one run.

Proxies (``--models``, default ``gbt,rf``) are trained on a DRAM-v0 random-search dataset
(``--dataset``; by default the 10,000-evaluation ``random``-workload dataset that
``benchmarks/proxy_accuracy.py`` collects and caches, collected here if missing) for every
observed metric, exactly as ``archgym proxy train`` does. Then, in ``--rounds`` interleaved
rounds on the same fresh random designs, each round times per design:

* ``real``: the real simulator's ``evaluate`` (one design per call, no cache; ``--real-designs``);
* per model: ``evaluate`` (one design per call, the Simulator contract: lookup or validation,
  encoding, all metrics), ``choices_row`` (the compiled choice-mask prediction alone, for
  trees of at most 64 leaves, on one design's precomputed number -- or choice indices in a
  space too large to number -- as ``evaluate`` calls it), ``walk_row`` (the
  compiled tree walk alone on one encoded row), ``evaluate_batch`` (``--batch`` designs in one
  call), ``sklearn_row`` (the same fitted scikit-learn models, one ``predict`` per metric on
  one row: what predicting through scikit-learn costs; on ``--sklearn-designs`` designs) and
  ``env_step`` (``env.step`` of ``gym.make("archgym/DRAM-v0", simulator=proxy, cache=False)``
  with a design dict);
* per model, on a copy of the proxy that has tabulated its whole design space
  (:meth:`ProxySimulator.tabulate`: all 663,552 DRAM-v0 designs predicted once):
  ``tabulated_evaluate``, ``tabulated_batch`` and ``tabulated_env_step``, as above. The
  table's build time (on one thread and on every CPU, before the rounds), its size and the
  break-even -- single predictions after which the build has paid for itself -- are reported.
  The untabulated proxies have their automatic tabulation turned off;
* ``contract_floor``: what a single prediction costs through the Simulator contract with no
  model at all -- the design dict to its number, and a metrics dict of constants back: the
  part of ``evaluate`` no predictor can remove.

Reported: the median over rounds of wall-clock and CPU time per design, and speed-ups against
the real simulator. Raw per-round figures go to ``--json``
(default ``benchmarks/results/proxy_speed.json``). The machine is whatever this runs on
(shared 2-core machine for the committed results; its load average is recorded).

Run: ``python benchmarks/proxy_speed.py`` (about 7 minutes with a cached dataset: mostly
fitting the forest and tabulating it).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core per process; set before numpy is imported

import argparse  # noqa: E402
import json  # noqa: E402
import pickle  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import archgym  # noqa: E402, F401  (registers the environments)
from archgym.dataset import load  # noqa: E402
from archgym.envs import dram  # noqa: E402
from archgym.proxy import ProxySimulator, train_proxy  # noqa: E402
from archgym.runner import run_agent  # noqa: E402
from archgym.simulator import SimulationError  # noqa: E402

ENV_ID = "archgym/DRAM-v0"
WORKLOAD = "random"
DEFAULT_DATASET = Path(tempfile.gettempdir()) / "archgym-proxy-benchmark" / "DRAM-v0-workload=random-n=10000-seed=0"


def dataset(folder: Path, samples: int, seed: int) -> Path:
    """``folder`` holding a DRAM-v0 random-search dataset, collected now unless complete."""
    done = folder / "_complete"  # the marker proxy_accuracy.py writes
    if not done.exists():
        print(f"collecting {samples} evaluations into {folder} ...", flush=True)
        start = time.perf_counter()
        run_agent(ENV_ID, "random", samples, seed=seed, env_kwargs={"workload": WORKLOAD}, dataset=folder,
                  study="proxy-benchmark")
        done.write_text(json.dumps({"seconds": time.perf_counter() - start}))
    return folder


def per_design(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds per design of ``fn()``, which handles ``n`` designs."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--samples", type=int, default=10000, help="evaluations to collect if the dataset is missing")
    parser.add_argument("--models", default="gbt,rf", help="comma-separated model kinds (rf, gbt, mlp)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--designs", type=int, default=300, help="designs timed one per call, per round")
    parser.add_argument("--real-designs", type=int, default=10, help="designs the real simulator evaluates per round")
    parser.add_argument("--sklearn-designs", type=int, default=10, help="designs scikit-learn predicts per round")
    parser.add_argument("--batch", type=int, default=1000, help="designs in the timed evaluate_batch call")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "proxy_speed.json")
    args = parser.parse_args()

    frame = load(dataset(args.dataset, args.samples, args.seed))
    proxies: dict[str, ProxySimulator] = {}
    fit_s = {}
    for kind in args.models.split(","):
        start = time.perf_counter()
        proxies[kind] = train_proxy(frame, ENV_ID, workload=WORKLOAD, kind=kind, metrics=dram.OBSERVED_METRICS,
                                    seed=args.seed, env_kwargs={"workload": WORKLOAD}, keep_estimators=True)
        fit_s[kind] = time.perf_counter() - start
        size = getattr(proxies[kind].predictor, "n_nodes", None)
        print(f"{kind}: trained on {proxies[kind].training['designs']} designs in {fit_s[kind]:.0f} s"
              + (f" ({size:,} tree nodes)" if size else ""), flush=True)

    tabulated: dict[str, ProxySimulator] = {}
    tabulate_s: dict[str, dict[str, float]] = {}
    for kind, proxy in proxies.items():
        proxy.table_policy.after = None  # the untabulated figures stay untabulated
        tabulate_s[kind] = {}
        for threads in (1, len(os.sched_getaffinity(0))):
            copy = pickle.loads(pickle.dumps(proxy))
            start = time.perf_counter()
            copy.tabulate(threads=threads)
            tabulate_s[kind][f"threads={threads}"] = time.perf_counter() - start
        tabulated[kind] = copy
        print(f"{kind}: tabulated {len(copy.table):,} designs ({copy.table.nbytes / 2**20:.1f} MiB) in "
              + ", ".join(f"{s:.2f} s ({t})" for t, s in tabulate_s[kind].items()), flush=True)

    real_env = gym.make(ENV_ID, workload=WORKLOAD, cache=False)
    real, space = real_env.unwrapped.simulator, real_env.unwrapped.design_space
    rng = np.random.default_rng(args.seed + 1)
    designs = [space.sample(rng) for _ in range(max(args.designs, args.batch, args.real_designs))]
    envs = {kind: gym.make(ENV_ID, workload=WORKLOAD, simulator=proxy, cache=False) for kind, proxy in proxies.items()}
    tabulated_envs = {kind: gym.make(ENV_ID, workload=WORKLOAD, simulator=proxy, cache=False)
                      for kind, proxy in tabulated.items()}
    for env in [*envs.values(), *tabulated_envs.values()]:
        env.reset(seed=args.seed)

    def real_run() -> None:
        for design in designs[: args.real_designs]:
            try:
                real.evaluate(design, WORKLOAD)
            except SimulationError:
                pass  # an infeasible design still costs the simulator its time

    def timings(kind: str) -> dict[str, tuple[float, float]]:
        proxy, env = proxies[kind], envs[kind]
        chosen = designs[: args.designs]
        rows = [proxy.encoder.encode_one(d) for d in chosen]
        estimators = [proxy.estimators[m] for m in proxy.metric_names]
        few = rows[: args.sklearn_designs]

        def sklearn_rows() -> None:
            for row in few:
                for estimator in estimators:
                    estimator.predict(row)

        def steps() -> None:
            for design in chosen:
                env.step(design)

        def tabulated_steps() -> None:
            for design in chosen:
                tabulated_env.step(design)

        table_proxy, tabulated_env = tabulated[kind], tabulated_envs[kind]
        names, number_of = proxy.metric_names, proxy.encoder.choice_number_one
        constants = [1.0] * len(names)

        predictor = proxy.predictor
        result = {}
        if getattr(predictor, "_choice_masks", None) is not None:
            if predictor.numbered:
                numbers = [proxy.encoder.choice_number_one(d) for d in chosen]
                one = predictor.predict_choice_number
            else:
                numbers = [proxy.encoder.choice_index_one(d) for d in chosen]
                one = predictor.predict_choice_row
            result["choices_row"] = per_design(lambda: [one(n) for n in numbers], len(numbers))
        return result | {
            "evaluate": per_design(lambda: [proxy.evaluate(d, WORKLOAD) for d in chosen], len(chosen)),
            "walk_row": per_design(lambda: [predictor.predict(r) for r in rows], len(rows)),
            "evaluate_batch": per_design(lambda: proxy.evaluate_batch(designs[: args.batch], WORKLOAD), args.batch),
            "sklearn_row": per_design(sklearn_rows, len(few)),
            "env_step": per_design(steps, len(chosen)),
            "tabulated_evaluate": per_design(lambda: [table_proxy.evaluate(d, WORKLOAD) for d in chosen], len(chosen)),
            "tabulated_batch": per_design(lambda: table_proxy.evaluate_batch(designs[: args.batch], WORKLOAD), args.batch),
            "tabulated_env_step": per_design(tabulated_steps, len(chosen)),
            "contract_floor": per_design(lambda: [dict(zip(names, constants)) for _ in map(number_of, chosen)], len(chosen)),
        }

    first_call_s = {}
    for kind in proxies:  # warm-up: compile caches, first calls
        start = time.perf_counter()
        proxies[kind].evaluate(designs[0], WORKLOAD)
        first_call_s[kind] = time.perf_counter() - start  # numba: load from its cache (or compile, when cold)
        envs[kind].step(designs[0])
        tabulated_envs[kind].step(designs[0])
    rounds: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    for r in range(args.rounds):
        record: dict[str, Any] = {"round": r, "real": per_design(real_run, args.real_designs)}
        for kind in proxies:
            record[kind] = timings(kind)
        rounds.append(record)
        print(f"round {r}: real {1e3 * record['real'][0]:.1f} ms/design; "
              + "; ".join(f"{k} evaluate {1e6 * record[k]['evaluate'][0]:.1f} us" for k in proxies), flush=True)
    load_after = os.getloadavg()

    def median(kind: str | None, what: str, clock: int) -> float:
        return statistics.median((r["real"] if kind is None else r[kind][what])[clock] for r in rounds)

    real_wall, real_cpu = median(None, "", 0), median(None, "", 1)
    summary: dict[str, Any] = {"real": {"wall_s": real_wall, "cpu_s": real_cpu}}
    print(f"\nreal DRAM simulator ({WORKLOAD}, 10,000 requests): {1e3 * real_wall:.1f} ms wall, "
          f"{1e3 * real_cpu:.1f} ms CPU per design (median of {args.rounds} rounds)\n")
    print("| model | measurement | wall µs/design | CPU µs/design | speed-up vs real (wall) | speed-up (CPU) |")
    print("|---|---|---|---|---|---|")
    for kind in proxies:
        summary[kind] = {}
        for what in ("evaluate", "choices_row", "walk_row", "evaluate_batch", "env_step", "sklearn_row",
                     "tabulated_evaluate", "tabulated_batch", "tabulated_env_step", "contract_floor"):
            if what not in rounds[0][kind]:
                continue
            wall, cpu = median(kind, what, 0), median(kind, what, 1)
            summary[kind][what] = {"wall_s": wall, "cpu_s": cpu, "speedup_wall": real_wall / wall,
                                   "speedup_cpu": real_cpu / cpu if cpu > 0 else None}
            print(f"| {kind} | {what} | {1e6 * wall:,.1f} | {1e6 * cpu:,.1f} | {real_wall / wall:,.0f}× | "
                  + (f"{real_cpu / cpu:,.0f}× |" if cpu > 0 else "n/a |"))
    for kind in proxies:
        saved = summary[kind]["evaluate"]["wall_s"] - summary[kind]["tabulated_evaluate"]["wall_s"]
        build = min(tabulate_s[kind].values())
        summary[kind]["table"] = {"designs": len(tabulated[kind].table), "bytes": tabulated[kind].table.nbytes,
                                  "build_s": tabulate_s[kind], "break_even_predictions": build / saved if saved > 0 else None}
        print(f"{kind}: the table ({len(tabulated[kind].table):,} designs, {tabulated[kind].table.nbytes / 2**20:.1f} MiB) "
              f"took {build:.2f} s on {len(os.sched_getaffinity(0))} threads"
              + (f"; it pays for itself after {build / saved:,.0f} single predictions" if saved > 0 else ""))
    result = {
        "benchmark": "proxy_speed",
        "env": ENV_ID, "workload": WORKLOAD, "dataset_rows": len(frame),
        "models": {k: {"designs": p.training["designs"], "fit_s": fit_s[k], "first_call_s": first_call_s[k],
                       "tree_nodes": getattr(p.predictor, "n_nodes", None)} for k, p in proxies.items()},
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_before": load_before, "load_average_after": load_after},
        "summary": summary,
        "rounds": rounds,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(f"\nraw results: {args.json}")


if __name__ == "__main__":
    main()
