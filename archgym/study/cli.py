"""``archgym lottery``: run a hyperparameter-lottery study and print its report.

    archgym lottery --env ID [--env-arg K=V]... --agents a,b,c --draws N --seeds N --budget N
                    [--workers N] [--backend process|ray|serial] [--address A]
                    [--dataset DIR] [--report DIR] [--study NAME] [--sampler-seed S]
                    [--run-timeout S] [--eval-timeout S] [--json]

Runs every unfinished run (a rerun resumes), shows a progress bar over runs, then prints the
per-agent table and where the dataset, report tables and plots are. Exits with 1 when some
runs failed (each is listed with its reason: an error, a crashed worker, a timeout; a rerun
retries them), 2 for a usage error or when another process is running the same study.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from archgym.cli import UserError, _emit_json, parse_assignments, resolve_env_kwargs

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
    p.add_argument("--run-timeout", type=float, default=None, metavar="S",
                   help="a run taking longer than S seconds fails (process backend)")
    p.add_argument("--eval-timeout", type=float, default=None, metavar="S",
                   help="a run whose single evaluation takes longer than S seconds fails (process backend)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_lottery)
    return p


def check_report_folder(dataset: str, report: str) -> None:
    """Refuse a report folder that is the dataset folder or inside it: its CSV and PNG files would
    sit among the shards and break every later load of the dataset."""
    data, out = Path(dataset).resolve(), Path(report).resolve()
    if out == data or data in out.parents:
        raise UserError(f"--report {report} is {'the dataset folder' if out == data else 'inside the dataset folder'} "
                        f"(--dataset {dataset}); give the report its own folder, e.g. --report {Path(dataset).parent / 'report'}")


def _parse_axes(workloads: str | None, axes: list[str] | None) -> dict[str, list[Any]]:
    """``--workloads a,b`` and ``--axis K=V1,V2`` as a study axis ``{K: [V1, V2]}``; each value is
    parsed as ``--env-arg`` parses one (JSON when it can be, non-finite numbers refused)."""
    result: dict[str, list[Any]] = {}
    if workloads is not None:
        result["workload"] = [w.strip() for w in workloads.split(",") if w.strip()]
    for item in axes or ():
        key, sep, raw = item.partition("=")
        if not sep or not key or not raw:
            raise UserError(f"--axis expects KEY=V1,V2,..., got {item!r}")
        if key in result:
            raise UserError(f"study axis {key!r} given twice")
        values = [parse_assignments([f"{key}={text.strip()}"], "--axis")[key.strip()] for text in raw.split(",")]
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
    check_report_folder(args.dataset, args.report)
    for option in ("run_timeout", "eval_timeout"):
        value = getattr(args, option)
        if value is not None and args.backend != "process":
            raise UserError(f"--{option.replace('_', '-')} needs --backend process (got --backend {args.backend})")
        if value is not None and not 0 < value < 1e9:
            raise UserError(f"--{option.replace('_', '-')} must be a positive number of seconds, got {value}")
    study = Study(
        args.env, args.agents, args.budget, draws=args.draws, seeds=args.seeds,
        env_kwargs=resolve_env_kwargs(args.env, parse_assignments(args.env_arg, "--env-arg")), sampler_seed=args.sampler_seed, name=args.study,
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
                           on_start=on_start, on_run=on_run, run_timeout_s=args.run_timeout,
                           eval_timeout_s=args.eval_timeout)
    finally:
        if bar is not None:
            bar.close()
    if result.executed + result.skipped == 0:
        raise UserError(f"every run of {study.name} failed; first error: {result.failed[0].error}")
    # one setup: the lottery report; a study axis spans setups, whose outcomes are not comparable
    # pooled, so it gets the cross-setup report only (a panel per setup)
    report = setups = None
    if study.axis:
        from archgym.study.report import cross_setup_report

        setups = cross_setup_report(args.dataset, study, args.report)
    else:
        report = lottery_report(args.dataset, study, args.report)  # matplotlib missing: a MissingExtraError
    if args.json:
        _emit_json({
            "study": study.name, "dataset": args.dataset, "report": args.report, "budget": study.budget,
            "setups": None if setups is None else setups.outcomes.to_dict(orient="records"),
            "runs": {"planned": result.planned, "skipped": result.skipped, "executed": result.executed,
                     "failed": [{"run": o.run_id, "agent": o.agent, "draw": o.draw, "seed": o.seed, "error": o.error}
                       for o in result.failed]},
            "wall_s": result.wall_s,
            "infeasible_evaluations": None if report is None else dict(zip(("count", "of"), report.infeasible)),
            "summary": None if report is None else report.summary.reset_index().to_dict(orient="records"),
        })
        return EXIT_RUNS_FAILED if result.failed else 0
    if setups is not None:
        print(setups.to_text())
        print("\nbest design of each agent per setup, objectives against the baseline design (+% = better)")
        print(setups.best_text())
    else:
        print(report.to_text())
    print(f"\n{result.executed} run(s) executed, {result.skipped} skipped (finished before), "
          f"{len(result.failed)} failed, in {result.wall_s:.1f} s")
    if result.failed:
        print("failed runs (not in the dataset; a rerun retries them):")
        for o in result.failed:
            print(f"  {o.run_id} ({o.agent}, draw {o.draw}, seed {o.seed}): {o.error.splitlines()[0]}")
    files = ("lottery_by_setup.png/.csv, pareto_fronts.png/.csv, hypervolume.png/.csv, best_vs_baseline.csv"
             if setups is not None else "summary.csv, runs.csv, draws.csv, curves.csv, best_designs.csv, outcomes.png, "
             "best_so_far.png")
    print(f"dataset: {args.dataset}\nreport:  {args.report} ({files})")
    return EXIT_RUNS_FAILED if result.failed else 0
