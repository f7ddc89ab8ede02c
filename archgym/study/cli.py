"""``archgym lottery``: run a hyperparameter-lottery study and print its report.

    archgym lottery --env ID [--env-arg K=V]... --agents a,b,c --draws N --seeds N --budget N
                    [--workers N] [--backend process|ray|serial] [--address A]
                    [--dataset DIR] [--report DIR] [--study NAME] [--sampler-seed S] [--json]

Runs every unfinished run (a rerun resumes), shows a progress bar over runs, then prints the
per-agent table and where the dataset, report tables and plots are. Exits with 1 when some
runs failed (each is listed; a rerun retries them), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from archgym.cli import UserError, _emit_json, parse_assignments

#: exit status when the study completed but some runs failed (they are listed; a rerun retries them)
EXIT_RUNS_FAILED = 1


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``lottery`` command to the ``archgym`` sub-command parsers."""
    p = subparsers.add_parser("lottery", help="hyperparameter-lottery study: agents x draws x seeds at one budget")
    p.add_argument("--env", required=True, help="environment id, e.g. archgym/DRAM-v0")
    p.add_argument("--env-arg", action="append", metavar="K=V", help="gym.make keyword (repeatable; JSON values)")
    p.add_argument("--workloads", default=None,
                   help="comma-separated workloads: a study axis (one report panel per workload)")
    p.add_argument("--axis", action="append", metavar="K=V1,V2",
                   help="a study axis over any gym.make keyword (repeatable; values JSON or text)")
    p.add_argument("--agents", required=True, help="comma-separated agent names; 'random' (the baseline) is added")
    p.add_argument("--draws", type=int, default=4, help="hyperparameter draws per agent (default 4)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per draw (default 3)")
    p.add_argument("--budget", type=int, required=True, help="evaluations per run")
    p.add_argument("--workers", type=int, default=1, help="parallel runs (default 1)")
    p.add_argument("--backend", default="process", choices=("process", "ray", "serial"), help="where runs execute")
    p.add_argument("--address", default=None, help="Ray cluster address (auto or HOST:PORT); default: a local instance")
    p.add_argument("--dataset", default="archgym-lottery/dataset", help="dataset folder (default %(default)s)")
    p.add_argument("--report", default="archgym-lottery/report", help="report folder (default %(default)s)")
    p.add_argument("--study", default=None, help="study name in the dataset (default: derived from env and budget)")
    p.add_argument("--sampler-seed", type=int, default=0, help="seed of the hyperparameter draws")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_lottery)
    return p


def _parse_axes(workloads: str | None, axes: list[str] | None) -> dict[str, list[Any]]:
    """``--workloads a,b`` and ``--axis K=V1,V2`` as a study axis ``{K: [V1, V2]}``."""
    import json

    result: dict[str, list[Any]] = {}
    if workloads is not None:
        result["workload"] = [w.strip() for w in workloads.split(",") if w.strip()]
    for item in axes or ():
        key, sep, raw = item.partition("=")
        if not sep or not key or not raw:
            raise UserError(f"--axis expects KEY=V1,V2,..., got {item!r}")
        if key in result:
            raise UserError(f"study axis {key!r} given twice")
        values: list[Any] = []
        for text in raw.split(","):
            try:
                values.append(json.loads(text))
            except json.JSONDecodeError:
                values.append(text.strip())
        result[key.strip()] = values
    return result


def cmd_lottery(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from archgym.study.report import lottery_report
    from archgym.study.run import run_study
    from archgym.study.spec import Study

    for option in ("draws", "seeds", "budget", "workers"):
        if getattr(args, option) < 1:
            raise UserError(f"--{option} must be a positive integer, got {getattr(args, option)}")
    if args.address is not None and args.backend != "ray":
        raise UserError(f"--address only applies to --backend ray (got --backend {args.backend})")
    study = Study(
        args.env, args.agents, args.budget, draws=args.draws, seeds=args.seeds,
        env_kwargs=parse_assignments(args.env_arg, "--env-arg"), sampler_seed=args.sampler_seed, name=args.study,
        axis=_parse_axes(args.workloads, args.axis),
    )
    bar: Any = None

    def on_start(todo: int, skipped: int) -> None:
        nonlocal bar
        if skipped:
            print(f"resuming {study.name}: {skipped} finished run(s) skipped", file=sys.stderr)
        bar = tqdm(total=todo, desc=study.name, unit="run", disable=args.no_progress or args.json, file=sys.stderr)

    def on_run(outcome: Any) -> None:
        bar.update(1)
        if not outcome.ok:
            bar.write(f"run {outcome.run_id} failed: {outcome.error.splitlines()[0]}", file=sys.stderr)

    try:
        result = run_study(study, args.dataset, backend=args.backend, workers=args.workers, address=args.address,
                           on_start=on_start, on_run=on_run)
    finally:
        if bar is not None:
            bar.close()
    if result.executed + result.skipped == 0:
        raise UserError(f"every run of {study.name} failed; first error: {result.failed[0].error}")
    try:
        report = lottery_report(args.dataset, study, args.report)
    except ImportError as exc:  # matplotlib missing: say how to install it, no traceback
        raise UserError(str(exc)) from exc
    setups = None
    if study.axis:
        from archgym.study.report import cross_setup_report

        setups = cross_setup_report(args.dataset, study, args.report)
    if args.json:
        _emit_json({
            "study": study.name, "dataset": args.dataset, "report": args.report, "budget": report.budget,
            "setups": None if setups is None else setups.outcomes.to_dict(orient="records"),
            "runs": {"planned": result.planned, "skipped": result.skipped, "executed": result.executed,
                     "failed": [{"run": o.run_id, "agent": o.agent, "error": o.error} for o in result.failed]},
            "wall_s": result.wall_s,
            "summary": report.summary.reset_index().to_dict(orient="records"),
        })
        return EXIT_RUNS_FAILED if result.failed else 0
    print(report.to_text() if setups is None else setups.to_text())
    if setups is not None:
        print("\nbest design of each agent per setup, objectives against the baseline design (+% = better)")
        print(setups.best_text())
    print(f"\n{result.executed} run(s) executed, {result.skipped} skipped (finished before), "
          f"{len(result.failed)} failed, in {result.wall_s:.1f} s")
    print(f"dataset: {args.dataset}\nreport:  {args.report} (summary.csv, runs.csv, draws.csv, curves.csv, "
          "best_designs.csv, outcomes.png, best_so_far.png"
          + (", lottery_by_setup.png/.csv, pareto_fronts.png/.csv, hypervolume.png/.csv, best_vs_baseline.csv)"
             if setups is not None else ")"))
    return EXIT_RUNS_FAILED if result.failed else 0
