"""``archgym proxy train|eval``: fit a proxy from a dataset folder, or score a saved one.

    archgym proxy train --dataset DIR --env ID [--workload W] --model rf|gbt|mlp --out FILE [--json]
    archgym proxy eval --model FILE --dataset DIR [--json]

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
