"""The ``archgym`` command line.

    archgym [--debug] COMMAND ...
    archgym list envs|agents [--details] [--json]
    archgym describe ENV_ID [--env-arg K=V]... [--json]
    archgym run --env ID [--env-arg K=V]... --agent NAME [--agent-arg K=V]... --budget N --seed S [--dataset DIR]
                (--env-arg simulator=FILE.proxy runs the agent on a proxy written by 'archgym proxy train')
    archgym simulate dram --trace PATH|NAME [--device NAME] [--param K=V]... [--kernel K] [--json]
    archgym simulate accelerator [--backend B] [--workload W] [--param K=V]... [--json]
    archgym simulate nas --arch STR [--dataset D] [--epochs E] [--device DEV] [--proxy NAME]... [--json]
    archgym simulate training [--workload W] [--npus N] [--param K=V]... [--congestion-aware] [--json]
    archgym dataset info DIR [--json]
    archgym proxy train --dataset DIR --env ID [--workload W] --model rf|gbt|mlp --out FILE [--json]
    archgym proxy eval --model FILE --dataset DIR [--json]
    archgym proxy search --env ID [--env-arg K=V]... --budget N [--seed S] [--dataset DIR] [--json]
    archgym lottery --env ID --agents a,b,c --draws N --seeds N --budget N [--workers N] [--backend process|ray] ...

User mistakes (:class:`archgym.errors.UserError` and its subclasses, a missing file, an unknown
env id, a design the simulator rejects) end with one ``archgym: error: ...`` line and exit
status 2; anything else is a bug and shows its traceback. ``--debug`` shows the traceback of
user errors too.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import traceback
from pathlib import Path
from typing import Any, Sequence

from archgym.errors import UserError

EXIT_USER_ERROR = 2
#: exceptions reported as one line (exit 2): the user's mistake, not archgym's
USER_ERRORS: tuple[type[BaseException], ...] = (UserError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
                                                PermissionError)


class _NonFinite(Exception):
    """A JSON number that does not fit a float (``1e400``) or a non-finite constant (``NaN``)."""


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(text)
    return value


def _non_finite_constant(name: str) -> Any:
    raise _NonFinite(name)  # JSON's Infinity, -Infinity, NaN


def parse_assignments(items: Sequence[str] | None, option: str) -> dict[str, Any]:
    """``["k=v", ...]`` -> dict; values are parsed as JSON when they can be (numbers, lists, dicts).

    Non-finite numbers (``Infinity``, ``NaN``, ``1e400``, also inside lists) are refused: no
    design parameter, hyperparameter or option of archgym takes one.
    """
    result: dict[str, Any] = {}
    for item in items or ():
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{option} expects KEY=VALUE, got {item!r}")
        try:
            value: Any = json.loads(raw, parse_float=_finite_float, parse_constant=_non_finite_constant)
        except _NonFinite as exc:
            raise UserError(f"{option} {item}: {exc} is not a finite number") from None
        except (ValueError, RecursionError):  # not JSON (JSONDecodeError), or an int too long to convert
            value = raw
            try:
                number = float(raw)
            except ValueError:
                pass
            else:
                if not math.isfinite(number):
                    raise UserError(f"{option} {item}: {raw.strip()} is not a finite number") from None
        result[key.strip()] = value
    return result


def resolve_env_kwargs(env_id: str, env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``--env-arg`` values for ``gym.make(env_id, ...)``: unknown keywords refused up front, and
    ``simulator=PATH`` (a proxy file) replaced by the proxy loaded through
    :meth:`archgym.proxy.ProxySimulator.load`."""
    from archgym.registration import check_env_kwargs

    check_env_kwargs(env_id, env_kwargs)
    value = env_kwargs.get("simulator")
    if value is None or not isinstance(value, str):
        return env_kwargs
    path = Path(value)
    if not path.is_file():
        raise UserError(f"--env-arg simulator={value}: expected a proxy file written by 'archgym proxy train' "
                        "(no such file)")
    from archgym.proxy import ProxySimulator

    return {**env_kwargs, "simulator": ProxySimulator.load(path)}


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        if value == 0 or (1e-3 <= abs(value) < 1e7):
            return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.1f}"
        return f"{value:.4e}"
    return str(value)


def _table(rows: Sequence[tuple[str, Any]], title: str | None = None) -> str:
    width = max((len(k) for k, _ in rows), default=0)
    lines = [title] if title else []
    lines += [f"  {k.ljust(width)}  {_format_value(v)}" for k, v in rows]
    return "\n".join(lines)


def _emit_json(data: Any) -> None:
    def default(obj: Any) -> Any:
        if hasattr(obj, "item"):
            return obj.item()
        return str(obj)

    print(json.dumps(data, indent=2, sort_keys=False, default=default))


# -- commands ------------------------------------------------------------------------
def _env_details(entry: Any, env_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The static metadata of a catalogue entry as data; a missing extra becomes a note."""
    from archgym.errors import MissingExtraError

    if entry.metadata_factory is None:
        return {"unavailable": "registered without static metadata (register(..., metadata=...))"}
    try:
        return entry.metadata(**(env_kwargs or {})).to_dict()
    except MissingExtraError as exc:
        return {"unavailable": str(exc)}


def _print_env_details(details: dict[str, Any]) -> None:
    if "unavailable" in details:
        print(f"  (details unavailable: {details['unavailable']})")
        return
    size = details["design_space_size"]
    print(f"  design space: {len(details['design_space'])} parameters, "
          + (f"{size:,} designs" if size is not None else "continuous"))
    width = max(len(p["name"]) for p in details["design_space"])
    for p in details["design_space"]:
        print(f"    {p['name'].ljust(width)}  {p['values']} (default {p['default']})")
    print(f"  metrics ({len(details['metrics'])}):")
    width = max(len(m["name"]) for m in details["metrics"])
    for m in details["metrics"]:
        print(f"    {m['name'].ljust(width)}  {m['unit']:<8} {m['goal']:<8}  {m['description']}")
    targets = ", ".join(f"{k}: {v}" for k, v in details["targets"].items())
    print(f"  default objective: {details['reward']} ({targets})")
    print(f"  observed: {', '.join(details['observed_metrics'])}")


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "envs":
        from archgym.registration import list_envs

        entries = list_envs()
        if args.json:
            _emit_json([{"id": e.id, "max_episode_steps": e.max_episode_steps, "description": e.description,
                         **({"details": _env_details(e)} if args.details else {})} for e in entries])
        else:
            for e in entries:
                print(f"{e.id:<24} {e.description}")
                if args.details:
                    _print_env_details(_env_details(e))
    else:
        from archgym.agents import agent_class, agent_info, list_agents

        infos = [agent_info(n) for n in list_agents()]
        if args.json:
            rows = []
            for info in infos:
                row = {"name": info.name, "family": info.family, "summary": info.summary, "reference": info.reference,
                       "extra": info.extra}
                if args.details:  # imports every agent (RL agents: torch)
                    space = agent_class(info.name).hyperparameter_space
                    row["hyperparameters"] = space.describe().splitlines() if space else []
                rows.append(row)
            _emit_json(rows)
        else:
            for info in infos:
                needs = f"  [archgym[{info.extra}]]" if info.extra else ""
                print(f"{info.name:<12} {info.family:<23} {info.summary}; {info.reference}{needs}")
                if args.details:
                    space = agent_class(info.name).hyperparameter_space
                    for line in (space.describe().splitlines() if space else []):
                        print(f"    {line}")
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    from archgym.registration import env_entry

    entry = env_entry(args.env)
    details = _env_details(entry, parse_assignments(args.env_arg, "--env-arg"))
    if args.json:
        _emit_json({"id": entry.id, "max_episode_steps": entry.max_episode_steps, "description": entry.description,
                    **details})
        return 0
    print(f"{entry.id}: {entry.description}")
    print(f"  max_episode_steps: {entry.max_episode_steps}")
    _print_env_details(details)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from archgym.runner import run_agent

    if args.budget < 1:
        raise UserError(f"--budget must be a positive number of evaluations, got {args.budget}")
    env_kwargs = resolve_env_kwargs(args.env, parse_assignments(args.env_arg, "--env-arg"))
    agent_params = parse_assignments(args.agent_arg, "--agent-arg")
    best = -math.inf
    progress = None  # created at the first evaluation, so set-up errors print alone

    def on_step(step: int, design: dict, reward: float, info: Any) -> None:
        nonlocal best, progress
        if progress is None:
            progress = tqdm(total=args.budget, desc=f"{args.agent} on {args.env}", unit="eval",
                            disable=args.no_progress or args.json, file=sys.stderr)
        best = max(best, reward)
        progress.update(1)
        progress.set_postfix(best=f"{best:.4g}")

    try:
        result = run_agent(
            args.env, args.agent, args.budget, seed=args.seed, env_kwargs=env_kwargs,
            agent_params=agent_params, dataset=args.dataset, study=args.study, callback=on_step,
            eval_timeout_s=args.eval_timeout,
        )
    finally:
        if progress is not None:
            progress.close()
    if args.json:
        _emit_json({"env": args.env, "agent": args.agent, "evaluations": result.evaluations,
                    "best_reward": result.best_reward, "best_design": result.best_design,
                    "best_metrics": result.best_metrics})
        return 0
    print(_table([("evaluations", result.evaluations), ("best reward", result.best_reward)],
                 f"{args.agent} on {args.env}"))
    print(_table(list((result.best_design or {}).items()), "best design"))
    print(_baseline_comparison(args.env, env_kwargs, result.best_metrics))
    print(_table(sorted(result.best_metrics.items()), "all its metrics"))
    if args.dataset:
        print(f"evaluations logged to {args.dataset}")
    return 0


def _baseline_comparison(env_id: str, env_kwargs: dict[str, Any], best_metrics: dict[str, float]) -> str:
    """The scored metrics of the best design against the baseline design (and the targets)."""
    import gymnasium as gym

    from archgym.baseline import baseline_table, format_table

    env = gym.make(env_id, disable_env_checker=True, **env_kwargs)  # the baseline is evaluated once, cached by the env
    try:
        objective = env.unwrapped.objective
        title = f"scored metrics (reward {objective.name}: 0 = baseline, +0.1 ~ 10% better)" if objective.name == "log_ratio" \
            else f"scored metrics (reward {objective.name})"
        return title + "\n" + format_table(baseline_table(env, {"best": best_metrics}))
    finally:
        env.close()


def cmd_simulate(args: argparse.Namespace) -> int:
    from archgym.simulators.dram import DRAMSimulator

    params = parse_assignments(args.param, "--param")
    simulator = DRAMSimulator(device=args.device, address_mapping=args.mapping, max_requests=args.max_requests,
                              kernel=args.kernel)
    metrics = simulator.evaluate(params, args.trace)
    if args.json:
        _emit_json(metrics)
    else:
        print(_table(sorted(metrics.items()), f"dram: {args.trace} on {args.device}"))
    return 0


def cmd_simulate_accelerator(args: argparse.Namespace) -> int:
    from archgym.simulators.accelerator import AcceleratorDesign, make_accelerator_simulator

    params = parse_assignments(args.param, "--param")
    simulator = make_accelerator_simulator(args.backend)
    design = AcceleratorDesign.from_mapping(params).to_dict()
    metrics = simulator.evaluate(design, args.workload)
    if args.json:
        _emit_json({"backend": args.backend, "workload": args.workload, "design": design, "metrics": metrics})
    else:
        print(_table(list(design.items()), f"accelerator ({args.backend}): {args.workload}"))
        print(_table([(m.name + f" [{m.unit}]", metrics[m.name]) for m in simulator.metrics], "metrics"))
    return 0


def cmd_simulate_training(args: argparse.Namespace) -> int:
    from archgym.envs.training import training_design_space
    from archgym.simulators.training.step import TrainingSimulator

    design = {**training_design_space(args.npus).default(), **parse_assignments(args.param, "--param")}
    simulator = TrainingSimulator(npus=args.npus, congestion_aware=args.congestion_aware)
    metrics = simulator.evaluate(design, args.workload)
    if args.json:
        _emit_json({"workload": args.workload, "npus": args.npus, "design": design, "metrics": metrics})
    else:
        print(_table(list(design.items()), f"training: {args.workload} on {args.npus} NPUs"))
        print(_table([(m.name + f" [{m.unit}]", metrics[m.name]) for m in simulator.metrics], "metrics"))
    return 0


def cmd_simulate_nas(args: argparse.Namespace) -> int:
    from archgym.simulators.nas.nb201 import arch_to_design, format_arch, parse_arch
    from archgym.simulators.nas.tabular import NB201Tabular, default_epochs

    ops = parse_arch(args.arch)
    simulator = NB201Tabular(epochs=default_epochs(args.dataset) if args.epochs is None else args.epochs, device=args.device)
    metrics = simulator.evaluate(arch_to_design(ops), args.dataset)
    units = {m.name: m.unit for m in simulator.metrics}
    if args.proxy:
        from archgym.simulators.nas.proxies import score

        for name in args.proxy:
            metrics[name] = score(ops, name, dataset=args.dataset)
            units[name] = "score"
    arch = format_arch(ops)
    if args.json:
        _emit_json({"arch": arch, "dataset": args.dataset, "epochs": simulator.epochs, "device": args.device, "metrics": metrics})
    else:
        print(_table([("arch", arch), ("epochs", simulator.epochs), ("device", args.device)], f"NAS-Bench-201: {args.dataset}"))
        print(_table([(f"{name} [{units[name]}]", value) for name, value in metrics.items()], "metrics"))
    return 0


def cmd_dataset_info(args: argparse.Namespace) -> int:
    from archgym.dataset import info

    summary = info(args.path)
    if args.json:
        _emit_json(summary.to_dict())
    else:
        print(summary.to_text())
    return 0


# -- parser ----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archgym", description="ML-driven computer-architecture design space exploration")
    parser.add_argument("--debug", action="store_true", help="show the traceback of every error, user errors too")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list registered environments or agents")
    p.add_argument("what", choices=("envs", "agents"))
    p.add_argument("--details", action="store_true",
                   help="envs: design space, metrics, default objective (no env is built); agents: hyperparameters")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("describe", help="an environment's design space, metrics and default objective (not built)")
    p.add_argument("env", help="environment id, e.g. archgym/DRAM-v0")
    p.add_argument("--env-arg", action="append", metavar="K=V", help="gym.make keyword that changes the schema (repeatable)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_describe)

    p = sub.add_parser("run", help="run one agent on one environment")
    p.add_argument("--env", required=True, help="environment id, e.g. archgym/DRAM-v0")
    p.add_argument("--env-arg", action="append", metavar="K=V", help="gym.make keyword (repeatable; JSON values)")
    p.add_argument("--agent", required=True, help="agent name (archgym list agents)")
    p.add_argument("--agent-arg", action="append", metavar="K=V", help="agent hyperparameter (repeatable)")
    p.add_argument("--budget", type=int, required=True, help="number of evaluations")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset", help="dataset folder to log every evaluation to")
    p.add_argument("--study", default="adhoc", help="study name recorded in the dataset")
    p.add_argument("--eval-timeout", type=float, default=None, metavar="S",
                   help="an evaluation taking longer than S seconds fails (the run goes on)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("simulate", help="run a simulator on its own")
    simulators = p.add_subparsers(dest="simulator", required=True)
    d = simulators.add_parser("dram", help="the DDR memory-controller simulator")
    d.add_argument("--trace", required=True, help="stream|random|cloud-1|cloud-2, a trace file, or gen:KIND?k=v")
    d.add_argument("--device", default="DDR4_8Gb_x8_2400", help="device preset or DRAMSys memspec path")
    d.add_argument("--mapping", default=None, help="address mapping field string, e.g. rochrababgco")
    d.add_argument("--param", action="append", metavar="K=V", help="controller knob (repeatable)")
    d.add_argument("--max-requests", type=int, default=None, help="replay only the first N requests")
    d.add_argument("--kernel", choices=("auto", "compiled", "python"), default="auto",
                   help="engine kernel: numba-compiled, plain Python (no numba start-up, for short traces) "
                        "or auto (Python up to a few thousand requests; identical results)")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=cmd_simulate)
    a = simulators.add_parser("accelerator", help="a DNN-accelerator back-end on one network")
    a.add_argument("--backend", default="analytical", help="analytical | zigzag | scalesim")
    a.add_argument("--workload", default="resnet18",
                   help="alexnet|vgg16|resnet18|resnet50|mobilenetv2|bert-base or a workload table (CSV)")
    a.add_argument("--param", action="append", metavar="K=V",
                   help="design parameter, e.g. pe_rows=32 or dataflow=os (repeatable; others: the baseline)")
    a.add_argument("--json", action="store_true", help="machine-readable output")
    a.set_defaults(func=cmd_simulate_accelerator)
    t = simulators.add_parser("training", help="one training step of a parallelised model on an NPU network")
    t.add_argument("--workload", default="gpt3-1.3b",
                   help="gpt3-1.3b|gpt3-2.7b|gpt3-13b|resnet50, 'gpt:layers=..,hidden=..' or a workload CSV")
    t.add_argument("--npus", type=int, default=64, help="NPU count (default 64)")
    t.add_argument("--param", action="append", metavar="K=V",
                   help="design parameter, e.g. shape=4x4x4, kind0=Switch, bw1=200, tp=8 (repeatable; others: "
                        "Training-v0's baseline)")
    t.add_argument("--congestion-aware", action="store_true", help="links shared FIFO (slower)")
    t.add_argument("--json", action="store_true", help="machine-readable output")
    t.set_defaults(func=cmd_simulate_training)
    n = simulators.add_parser("nas", help="a NAS-Bench-201 cell: table lookup (and optional zero-cost proxies)")
    n.add_argument("--arch", required=True, help="arch string, e.g. '|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|'")
    n.add_argument("--dataset", default="cifar10", help="cifar10 | cifar100 | ImageNet16-120")
    n.add_argument("--epochs", type=int, default=None, help="200 (cifar10 only) or 12; default the longest available")
    n.add_argument("--device", default="pixel3", help="latency device, e.g. eyeriss, fpga, raspi4, titan_rtx_1")
    n.add_argument("--proxy", action="append", metavar="NAME", help="also score a zero-cost proxy (repeatable), e.g. synflow")
    n.add_argument("--json", action="store_true", help="machine-readable output")
    n.set_defaults(func=cmd_simulate_nas)

    p = sub.add_parser("dataset", help="inspect an evaluation dataset")
    datasets = p.add_subparsers(dest="action", required=True)
    i = datasets.add_parser("info", help="summarise a dataset folder")
    i.add_argument("path")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.set_defaults(func=cmd_dataset_info)

    from archgym.study.cli import add_parser as add_lottery_parser

    add_lottery_parser(sub)

    from archgym.proxy.cli import add_parser as add_proxy_parser

    add_proxy_parser(sub)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """:data:`USER_ERRORS`, simulation errors and gymnasium's own errors (an unknown env id, ...);
    gymnasium's only when it was imported: a command that never imported it cannot raise them."""
    from archgym.simulator import SimulationError

    errors = (*USER_ERRORS, SimulationError)
    gymnasium = sys.modules.get("gymnasium")
    return errors if gymnasium is None else (*errors, gymnasium.error.Error)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; user errors print one line and return 2, anything else raises (traceback)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("archgym: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not isinstance(exc, _user_errors()):
            raise
        if args.debug:
            traceback.print_exc()
        message = " ".join(str(exc).split()) or type(exc).__name__  # one line, even for a multi-line message
        print(f"archgym: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
