"""``archgym proxy train|eval|search``: fit a proxy, score a saved one, or search with one.

    archgym proxy train --dataset DIR --env ID [--workload W] --model rf|gbt|mlp --out FILE [--json]
    archgym proxy eval --model FILE --dataset DIR [--json]
    archgym proxy search --env ID [--env-arg K=V]... --budget N [--low-fidelity K=V]... [--seed S]
                         [--dataset DIR] [--json]

``search`` is :func:`archgym.proxy.search.proxy_assisted_search`: ``--budget`` counts real
simulations only, each of them logged to ``--dataset`` like ``archgym run``. ``--low-fidelity
K=V`` (repeatable) builds a second env from the same id and ``--env-arg`` values with these
overridden (e.g. ``backend=analytical`` for the ZigZag back-end) and searches with the
multi-fidelity proxy of :mod:`archgym.proxy.multifidelity` on it.

Wired into :mod:`archgym.cli` by :func:`add_parser`; errors surface there as one line and exit 2.
"""

from __future__ import annotations

import argparse
import math
from typing import Any, Mapping

#: the score columns printed, with their headings
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rmse_pct_range", "RMSE %range"),
    ("rmse_pct_mean", "RMSE %mean"),
    ("mape", "MAPE %"),
    ("r2", "R2"),
    ("kendall_tau", "tau"),
)


def add_parser(subparsers: Any) -> None:
    """Add the ``proxy`` command (``train`` and ``eval``) to ``archgym``'s sub-parsers."""
    from archgym.proxy.models import MODEL_KINDS  # light: sklearn is imported only when a model is built

    p = subparsers.add_parser("proxy", help="train or evaluate a proxy cost model")
    actions = p.add_subparsers(dest="action", required=True)

    t = actions.add_parser("train", help="fit a proxy on a dataset and save it")
    t.add_argument("--dataset", required=True, help="dataset folder (archgym run/lottery --dataset)")
    t.add_argument("--env", required=True, help="environment id whose rows to use, e.g. archgym/DRAM-v0")
    t.add_argument("--workload", help="workload whose rows to use (required when the dataset holds several)")
    t.add_argument("--simulator-version", help="simulator version whose rows to use")
    t.add_argument("--setup", help="setup whose rows to use (archgym dataset info lists them)")
    t.add_argument("--model", required=True, choices=tuple(MODEL_KINDS), help="regressor kind")
    t.add_argument("--metric", action="append", help="metric to model (repeatable; default: all declared)")
    t.add_argument("--env-arg", action="append", metavar="K=V", help="gym.make keyword for the env's schema")
    t.add_argument("--param", action="append", metavar="K=V", help="regressor parameter, e.g. n_estimators=300")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--test-fraction", type=float, default=0.2, help="share of distinct designs held out")
    t.add_argument("--out", required=True, help="file to write the proxy to")
    t.add_argument("--json", action="store_true", help="machine-readable output")
    t.set_defaults(func=cmd_train)

    e = actions.add_parser("eval", help="score a saved proxy on a dataset")
    e.add_argument("--model", required=True, help="proxy file written by 'archgym proxy train'")
    e.add_argument("--dataset", required=True, help="dataset folder holding rows of the proxy's source")
    e.add_argument("--json", action="store_true", help="machine-readable output")
    e.set_defaults(func=cmd_eval)

    s = actions.add_parser("search", help="proxy-assisted search: the proxy proposes, the real simulator confirms")
    s.add_argument("--env", required=True, help="environment id, e.g. archgym/Accelerator-v0")
    s.add_argument("--env-arg", action="append", metavar="K=V", help="gym.make keyword (repeatable; JSON values)")
    s.add_argument("--budget", type=int, required=True, help="number of real simulations")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--model", default="rf", choices=tuple(MODEL_KINDS), help="proxy regressor kind (default rf)")
    s.add_argument("--initial", type=int, default=20, help="random designs simulated before the first fit")
    s.add_argument("--batch", type=int, default=10, help="real simulations per round (one refit each)")
    s.add_argument("--pool", type=int, default=None,
                   help="random candidates scored on the proxy (default 3000 per round; 100000 drawn once "
                        "with --low-fidelity)")
    s.add_argument("--low-fidelity", action="append", metavar="K=V",
                   help="gym.make keyword overriding --env-arg for a cheap low-fidelity env of the same design "
                        "space (repeatable), e.g. backend=analytical")
    s.add_argument("--explore", type=float, default=0.3,
                   help="share of each batch spent on the best design's neighbours (default 0.3)")
    s.add_argument("--dataset", help="dataset folder to log every real evaluation to")
    s.add_argument("--study", default="adhoc", help="study name recorded in the dataset")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=cmd_search)


def cmd_train(args: argparse.Namespace) -> int:
    from archgym.cli import _emit_json, parse_assignments
    from archgym.proxy.simulator import train_proxy

    proxy = train_proxy(
        args.dataset,
        args.env,
        workload=args.workload,
        simulator_version=args.simulator_version,
        setup=args.setup,
        kind=args.model,
        metrics=args.metric,
        seed=args.seed,
        test_fraction=args.test_fraction,
        model_params=parse_assignments(args.param, "--param"),
        env_kwargs=parse_assignments(args.env_arg, "--env-arg"),
    )
    path = proxy.save(args.out)
    training = proxy.training
    if args.json:
        _emit_json(_finite({"path": str(path), "simulator": proxy.identity, "source": proxy.source.__dict__,
                            "training": training}))
        return 0
    print(f"{proxy.identity} for {proxy.source.describe()}")
    print(f"  {training['designs']} distinct designs ({training['rows']} rows); held out "
          f"{training['test_designs']}, fitted in {training['fit_time_s']:.1f} s")
    print(_score_table(training["test"]))
    print(f"saved to {path}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from archgym.cli import _emit_json
    from archgym.proxy.simulator import ProxySimulator, evaluate_proxy

    proxy = ProxySimulator.load(args.model)
    report = evaluate_proxy(proxy, args.dataset)
    if args.json:
        _emit_json(_finite({"simulator": proxy.identity, "source": proxy.source.__dict__, **report}))
        return 0
    print(f"{proxy.identity} on {report['designs']} designs ({report['rows']} rows) of {proxy.source.describe()}")
    print(_score_table(report["metrics"]))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    import secrets
    from contextlib import ExitStack

    import gymnasium as gym

    from archgym.cli import _baseline_comparison, _emit_json, _table, parse_assignments, resolve_env_kwargs
    from archgym.dataset import DatasetWriter
    from archgym.errors import UserError
    from archgym.proxy.search import proxy_assisted_search
    from archgym.recording import RecordEvaluations
    from archgym.runner import run_id

    for flag in ("budget", "initial", "batch", "pool"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UserError(f"--{flag} must be a positive integer, got {getattr(args, flag)}")
    if not 0 <= args.explore <= 1:
        raise UserError(f"--explore must be a fraction in [0, 1], got {args.explore}")
    env_kwargs = resolve_env_kwargs(args.env, parse_assignments(args.env_arg, "--env-arg"))
    params = {"initial": args.initial, "batch": args.batch, "pool": args.pool, "model": args.model,
              "explore": args.explore}
    low_fidelity = None
    if args.low_fidelity:
        overrides = parse_assignments(args.low_fidelity, "--low-fidelity")
        params["low_fidelity"] = overrides
        low_fidelity = gym.make(args.env, disable_env_checker=True,
                                **resolve_env_kwargs(args.env, {**env_kwargs, **overrides}))
    env = gym.make(args.env, disable_env_checker=True, **env_kwargs)
    try:
        with ExitStack() as stack:
            if args.dataset:
                writer = stack.enter_context(DatasetWriter(args.dataset))
                run = f"{run_id(args.env, env_kwargs, 'proxy_search', params, args.seed, args.budget)}-{secrets.token_hex(4)}"
                env = RecordEvaluations(env, writer, study=args.study, run=run, agent="proxy_search",
                                        agent_params=params, seed=args.seed)
            search_params = {k: v for k, v in params.items() if k != "low_fidelity"}
            result = proxy_assisted_search(env, args.budget, seed=args.seed, low_fidelity=low_fidelity, **search_params)
    finally:
        env.close()
        if low_fidelity is not None:
            low_fidelity.close()
    marks = _curve_marks(result.real_evaluations, args.initial, args.batch)
    if args.json:
        _emit_json(_finite({"env": args.env, "real_evaluations": result.real_evaluations, "rounds": result.rounds,
                            "failed": result.failed,
                            "best_reward": result.best_reward, "best_design": result.best_design,
                            "best_metrics": result.best_metrics, "curve": result.curve}))
        return 0
    print(_table([("real simulations", result.real_evaluations), ("of them failed", result.failed),
                  ("proxy refits", result.rounds),
                  ("best real reward", result.best_reward)], f"proxy-assisted search on {args.env}"))
    print(_table([(f"after {n}", result.curve[n - 1]) for n in marks], "best real reward by real simulations"))
    print(_table(list((result.best_design or {}).items()), "best design"))
    if result.best_metrics:
        print(_baseline_comparison(args.env, env_kwargs, result.best_metrics))
    if args.dataset:
        print(f"real evaluations logged to {args.dataset}")
    return 0


def _curve_marks(total: int, initial: int, batch: int, most: int = 12) -> list[int]:
    """Where to read the best-so-far curve: the end of the random start and of each round,
    thinned to at most ``most`` points (always keeping the last)."""
    marks = sorted({min(initial, total), *range(initial + batch, total, batch), total} - {0})
    step = max(1, math.ceil(len(marks) / most))
    return sorted(set(marks[::step]) | {total}) if total else []


def _score_table(scores: Mapping[str, Mapping[str, float]]) -> str:
    width = max(len("metric"), *(len(name) for name in scores))
    lines = ["  " + "metric".ljust(width) + "".join(f"{title:>13}" for _, title in _COLUMNS)]
    for name, values in scores.items():
        cells = "".join(f"{values[key]:>13.3f}" if math.isfinite(values[key]) else f"{'n/a':>13}" for key, _ in _COLUMNS)
        lines.append("  " + name.ljust(width) + cells)
    return "\n".join(lines)


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
