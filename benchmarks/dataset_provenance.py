"""What provenance and fault tolerance cost: recording per step, ``dataset info``, the study pool.

Three measurements, each side by side in one run (best of ``--repeat``):

1. **Recording per step** on ``archgym/Synthetic-v0`` (cheap evaluations, so the machinery
   shows): ``env.step`` alone; wrapped by :class:`~archgym.recording.RecordEvaluations` into an
   in-memory sink (identity + provenance fields + ``new_design``, what a study run does); and
   into a :class:`~archgym.dataset.DatasetWriter` (Parquet shards on disk). Plus the one-off
   cost of :func:`~archgym.recording.env_provenance` per run.
2. **``dataset info``** on a dataset of ``--rows`` rows in 20 shards: reading the footers and the
   summary columns only (what it did before, which counted shards with corrupt data as
   readable) against decoding every page with checksums verified (what it does now).
3. **The study pool**: the same runs (``--runs`` × ``--budget`` evaluations, 2 workers) on
   ``concurrent.futures.ProcessPoolExecutor`` (the previous backend, which a crashing worker
   breaks as a whole) and on :class:`~archgym.study.backends.ProcessBackend` (one run per worker
   at a time, crash/timeout isolation, parent-death watch, per-evaluation heartbeat).

Writes ``benchmarks/results/dataset_provenance.json``. Run:
``python benchmarks/dataset_provenance.py`` (about a minute or two on 2 cores).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import archgym  # noqa: E402,F401
from archgym.dataset import DatasetWriter, info  # noqa: E402
from archgym.dataset.reader import _read  # noqa: E402
from archgym.dataset.setups import SETUP_FIELDS  # noqa: E402
from archgym.recording import RecordEvaluations, env_provenance  # noqa: E402
from archgym.study import Study  # noqa: E402
from archgym.study.backends import ProcessBackend  # noqa: E402
from archgym.study.execute import execute_run, failed_outcome  # noqa: E402

ENV = "archgym/Synthetic-v0"
RESULTS = Path(__file__).parent / "results" / "dataset_provenance.json"


class _Sink:
    def __init__(self) -> None:
        self.records: list[dict] = []

    def append(self, record: dict) -> None:
        self.records.append(record)


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def recording(steps: int, repeat: int) -> dict:
    env = gym.make(ENV).unwrapped
    rng = np.random.default_rng(0)
    designs = [env.design_space.sample(rng) for _ in range(steps)]

    def bare() -> None:
        env.cache.clear()
        for design in designs:
            env.step(design)

    def sink() -> None:
        env.cache.clear()
        wrapped = RecordEvaluations(env, _Sink(), run="r")  # type: ignore[arg-type]
        for design in designs:
            wrapped.step(design)

    def parquet() -> None:
        env.cache.clear()
        with tempfile.TemporaryDirectory() as folder, DatasetWriter(folder, buffer_size=4096) as writer:
            wrapped = RecordEvaluations(env, writer, run="r")
            for design in designs:
                wrapped.step(design)

    t_bare, t_sink, t_parquet = (_best(f, repeat) for f in (bare, sink, parquet))
    t_prov = _best(lambda: env_provenance(gym.make(ENV)), repeat) - _best(lambda: gym.make(ENV), repeat)
    return {
        "steps": steps,
        "us_per_step_env_only": 1e6 * t_bare / steps,
        "us_per_step_recorded_in_memory": 1e6 * t_sink / steps,
        "us_per_step_recorded_to_parquet": 1e6 * t_parquet / steps,
        "ms_env_provenance_per_run": 1e3 * max(t_prov, 0.0),
    }


def dataset_info(rows: int, repeat: int) -> dict:
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as folder:
        per_shard = rows // 20
        for shard in range(20):
            with DatasetWriter(folder, buffer_size=per_shard + 1, flush_interval_s=None) as writer:
                for i in range(per_shard):
                    writer.append({
                        "study": "bench", "run": f"r{shard}", "env_id": ENV, "step": i, "reward": float(rng.random()),
                        "feasible": True, "new_design": True, "setup": "s", "env_kwargs": "{}",
                        "design": {f"p{j}": int(rng.integers(0, 8)) for j in range(10)},
                        "metrics": {"cost": float(rng.random()), "power": float(rng.random())},
                    })
        columns = ["study", "run", "env_id", "workload", "agent", "simulator", "simulator_version",
                   "schema_version", "timestamp", *SETUP_FIELDS, "setup"]
        t_old = _best(lambda: _read(folder, list(dict.fromkeys(columns)), None, "ignore"), repeat)
        t_new = _best(lambda: info(folder), repeat)
        size = sum(p.stat().st_size for p in Path(folder).glob("part-*.parquet"))
    return {"rows": 20 * per_shard, "bytes": size, "s_summary_columns_only": t_old, "s_every_page_verified": t_new,
            "ratio_new_over_old": t_new / t_old}


def pool(runs: int, budget: int, repeat: int) -> dict:
    study = Study(ENV, ["random_walk"], budget=budget, draws=1, seeds=runs, include_random=False)
    specs = study.runs()

    def executor() -> None:
        with tempfile.TemporaryDirectory() as folder:
            with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
                outcomes = list(ex.map(execute_run, specs, [folder] * len(specs)))
            assert all(o.ok for o in outcomes)

    def backend() -> None:
        with tempfile.TemporaryDirectory() as folder:
            with ProcessBackend(2) as ex:
                outcomes = list(ex.imap_unordered(execute_run, specs, folder, on_failure=failed_outcome))
            assert all(o.ok for o in outcomes)

    t_executor, t_backend = _best(executor, repeat), _best(backend, repeat)
    return {"runs": len(specs), "budget": budget, "workers": 2, "s_process_pool_executor": t_executor,
            "s_process_backend": t_backend, "ratio_backend_over_executor": t_backend / t_executor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=24)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = {"machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.python_version()}",
               "recording": recording(args.steps, args.repeat),
               "dataset_info": dataset_info(args.rows, args.repeat),
               "pool": pool(args.runs, args.budget, args.repeat)}
    r, d, p = results["recording"], results["dataset_info"], results["pool"]
    print(f"recording, per step on {ENV} ({r['steps']} steps):")
    print(f"  env.step alone                 {r['us_per_step_env_only']:8.1f} us")
    print(f"  + RecordEvaluations (memory)   {r['us_per_step_recorded_in_memory']:8.1f} us")
    print(f"  + RecordEvaluations (Parquet)  {r['us_per_step_recorded_to_parquet']:8.1f} us")
    print(f"  env_provenance once per run    {r['ms_env_provenance_per_run']:8.2f} ms")
    print(f"dataset info on {d['rows']:,} rows ({d['bytes'] / 2**20:.1f} MiB, 20 shards):")
    print(f"  summary columns only (before)  {d['s_summary_columns_only']:8.3f} s")
    print(f"  every page verified (now)      {d['s_every_page_verified']:8.3f} s   ratio {d['ratio_new_over_old']:.2f}")
    print(f"study pool, {p['runs']} runs x {p['budget']} evaluations, 2 workers:")
    print(f"  ProcessPoolExecutor (before)   {p['s_process_pool_executor']:8.2f} s")
    print(f"  ProcessBackend (now)           {p['s_process_backend']:8.2f} s   ratio {p['ratio_backend_over_executor']:.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"raw results: {RESULTS}")


if __name__ == "__main__":
    main()
