"""CLI start-up time and core install size, this checkout side by side with a baseline revision.

    python benchmarks/cli_startup.py [--baseline REV] [--rounds N] [--fresh-venv]

* Start-up: wall time of ``archgym --help``, ``archgym list agents``, ``archgym simulate dram
  --help`` and ``archgym simulate dram`` on a 10-request trace, warm (one discarded run first),
  median of ``--rounds`` interleaved rounds; plus which heavy modules each command imported, and
  the floors ``python -c pass`` / ``import numpy`` / ``import gymnasium``. The baseline
  revision is built as a wheel (no dependencies) into a temporary folder and run with the same
  interpreter and dependencies, exactly as ``tests/test_packaging.py`` runs the wheel. pip
  compiles the wheel's bytecode on install; the current checkout gets the same first
  (``compileall`` into its git-ignored ``__pycache__`` folders), so that neither side pays for
  compiling sources when ``PYTHONDONTWRITEBYTECODE`` is set, as it is on some machines.
* Install size: the size on disk of each revision's core dependency closure (its
  ``[project] dependencies`` and everything they require), read from the installed
  distributions' RECORD files of this environment — the same method for both. With
  ``--fresh-venv`` also a real ``pip install .`` into a fresh venv (needs the package index).

* Breakdown of ``archgym simulate dram`` (10 requests), in a fresh process per round, twice: with
  the default ``kernel="auto"`` (which runs such a short trace in plain Python, without numba):
  ``import archgym.cli``, ``import numpy``, importing the DRAM simulator, the first and second
  ``evaluate``; and with ``kernel="compiled"``: CPU and
  wall time of each stage -- interpreter, ``import archgym.cli``, ``import numpy``, ``import
  numba``, importing the DRAM simulator, the compiled kernel (its dispatchers), numba's
  target initialisation (which the first call of any cached function performs: it imports
  ``numba.np.arraymath``, whose BLAS check imports ``scipy.linalg``, and the typing registries),
  loading the engine's machine code from numba's disk cache on the first ``evaluate``, and a
  second ``evaluate`` -- plus the number of compiled (``njit``) functions the engine defines
  and the number of cached signatures it loaded. CPU times are the honest figure on a loaded
  machine; wall times are what a user waits.

Writes ``benchmarks/results/cli_startup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "cli_startup.json"
HEAVY = ("torch", "sklearn", "pandas", "numba", "scipy", "stable_baselines3", "skopt", "pettingzoo", "matplotlib", "ray")
#: a 10-request DRAMSys trace (cycle, command, address)
TRACE = "".join(f"{4 * i}:\t{op}\t{hex(addr)}\n" for i, (op, addr) in enumerate(
    [("read", 0x0), ("read", 0x40), ("write", 0x80), ("read", 0x1000), ("read", 0x2000),
     ("write", 0x40), ("read", 0x3000), ("read", 0x80), ("write", 0x4000), ("read", 0x0)]))


def commands(trace: Path) -> dict[str, list[str]]:
    return {
        "archgym --help": ["--help"],
        "archgym list agents": ["list", "agents"],
        "archgym simulate dram --help": ["simulate", "dram", "--help"],
        "archgym simulate dram (10 requests)": ["simulate", "dram", "--trace", str(trace)],
    }


def _cli_code(argv: list[str]) -> str:
    """Run the CLI in-process and report the heavy modules it imported (on stderr, last line)."""
    return (
        "import sys, json\n"
        "from archgym.cli import main\n"
        "try:\n"
        f"    code = main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.stderr)\n"
        "sys.exit(code or 0)\n"
    )


#: run in a fresh interpreter: cumulative (CPU s, wall s) after each stage of a 10-request simulate
#: with the kernel named by argv[2]; the numba stages are timed apart only for "compiled"
BREAKDOWN = r"""
import json, sys, time
kernel = sys.argv[2]
marks = [("interpreter start", time.process_time(), None)]
wall0 = time.perf_counter()
def mark(name):
    marks.append((name, time.process_time(), time.perf_counter() - wall0))
import archgym.cli
mark("import archgym.cli")
import numpy
mark("import numpy")
if kernel == "compiled":
    import numba
    mark("import numba")
from archgym.simulators.dram import DRAMSimulator
mark("import the DRAM simulator")
if kernel == "compiled":
    from archgym.simulators.dram import _kernel
    mark("import the compiled kernel")
    from numba.core.registry import cpu_target
    cpu_target.target_context.refresh()
    cpu_target.typing_context.refresh()
    mark("numba target initialisation")
simulator = DRAMSimulator(kernel=kernel)
simulator.evaluate({}, sys.argv[1])
mark("first evaluate (cache load)" if kernel == "compiled" else "first evaluate")
simulator.evaluate({}, sys.argv[1])
mark("second evaluate")
dispatchers, loaded = 0, 0
if "numba" in sys.modules:
    import numba
    from archgym.simulators.dram import _kernel
    dispatchers = [v for v in vars(_kernel).values() if isinstance(v, numba.core.registry.CPUDispatcher)]
    loaded = sum(len(d.overloads) for d in dispatchers)
    dispatchers = len(dispatchers)
heavy = sorted(m for m in ("numba", "scipy", "cffi", "pycparser", "gymnasium", "pandas", "pyarrow") if m in sys.modules)
print(json.dumps({"marks": marks, "dispatchers": dispatchers, "signatures_loaded": loaded, "heavy": heavy}))
"""


def breakdown(trace: Path, env: dict[str, str], rounds: int, kernel: str = "auto") -> dict[str, object]:
    """Median per-stage CPU and wall seconds of a 10-request simulate (see the module docstring)."""
    runs = []
    for round_ in range(rounds + 1):  # round 0 warms the caches and is discarded
        out = subprocess.run([sys.executable, "-c", BREAKDOWN, str(trace), kernel], env=env, capture_output=True,
                             text=True, cwd=tempfile.gettempdir())
        if out.returncode != 0:
            raise RuntimeError(f"breakdown failed: {out.stderr[-2000:]}")
        if round_:
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    stages = [name for name, _, _ in runs[0]["marks"][1:]]
    per_stage = {}
    for i, name in enumerate(stages, start=1):
        cpu = [r["marks"][i][1] - r["marks"][i - 1][1] for r in runs]
        wall = [r["marks"][i][2] - (r["marks"][i - 1][2] or 0.0) for r in runs]
        per_stage[name] = {"cpu_s": round(statistics.median(cpu), 3), "wall_s": round(statistics.median(wall), 3)}
    first = runs[0]
    return {"kernel": kernel, "interpreter_start_cpu_s": round(statistics.median(r["marks"][0][1] for r in runs), 3),
            "stages": per_stage, "engine_njit_functions": first["dispatchers"],
            "engine_signatures_loaded": first["signatures_loaded"], "heavy_modules": first["heavy"]}


def run_once(code: str, env: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, its last stderr line)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        raise RuntimeError(f"command failed ({out.returncode}): {out.stderr[-2000:]}")
    return elapsed, cpu, out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ""


def build_baseline(rev: str, folder: Path) -> Path:
    """The baseline revision's wheel installed (without dependencies) into ``folder/site``."""
    source = folder / "src"
    source.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(folder),
                    str(source)], check=True, capture_output=True)  # quiet: setuptools' data-folder warnings
    wheel = next(folder.glob("archgym-*.whl"))
    site = folder / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)], check=True)
    return site


def closure_size(requirements: list[str]) -> tuple[int, list[str]]:
    """Bytes on disk of the installed distributions that ``requirements`` pull in (no extras)."""
    seen: dict[str, int] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name in seen:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            seen[name] = 0
            continue
        seen[name] = sum((f.size or 0) for f in (dist.files or ()))
        todo.extend(Requirement(r) for r in (dist.requires or ()))
    return sum(seen.values()), sorted(seen)


def core_requirements(rev: str | None) -> list[str]:
    text = (ROOT / "pyproject.toml").read_text() if rev is None else subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:pyproject.toml"], check=True, capture_output=True, text=True).stdout
    return tomllib.loads(text)["project"]["dependencies"]


def fresh_venv_size() -> dict[str, object]:
    """``pip install .`` (core only) into a fresh venv; the size of its site-packages."""
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        start = time.perf_counter()
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(ROOT)], check=True)
        elapsed = time.perf_counter() - start
        site = next((venv / "lib").glob("python*/site-packages"))
        size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file() and not p.is_symlink())
        names = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                               check=True, capture_output=True, text=True).stdout.split()
        return {"site_packages_mb": round(size / 2**20, 1), "install_s": round(elapsed, 1), "packages": names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision to compare with (e.g. the commit before the slim core)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per command (median)")
    parser.add_argument("--fresh-venv", action="store_true", help="also pip install the core into a fresh venv")
    args = parser.parse_args()

    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    # bytecode for the checkout, as pip writes it for the baseline wheel (see the docstring)
    subprocess.run([sys.executable, "-m", "compileall", "-q", *(str(ROOT / d) for d in ("archgym", "simulators",
                    "envs", "agents"))], check=True, capture_output=True)
    results: dict[str, object] = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "rounds": args.rounds}
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "ten.stl"
        trace.write_text(TRACE)
        variants = {"current": env}
        if args.baseline:
            site = build_baseline(args.baseline, Path(tmp) / "baseline")
            variants[f"baseline {args.baseline}"] = {**env, "PYTHONPATH": str(site)}
        floors = {"python -c pass": "pass", "import numpy": "import numpy", "import gymnasium": "import gymnasium"}
        times: dict[str, dict[str, list[float]]] = {v: {c: [] for c in [*commands(trace), *floors]} for v in variants}
        cpus: dict[str, dict[str, list[float]]] = {v: {c: [] for c in [*commands(trace), *floors]} for v in variants}
        heavy: dict[str, dict[str, str]] = {v: {} for v in variants}
        for round_ in range(args.rounds + 1):  # round 0 warms the caches and is discarded
            for variant, variant_env in variants.items():
                for name, argv in commands(trace).items():
                    elapsed, cpu, imported = run_once(_cli_code(argv), variant_env)
                    if round_:
                        times[variant][name].append(elapsed)
                        cpus[variant][name].append(cpu)
                    heavy[variant][name] = imported
                for name, code in floors.items():
                    elapsed, cpu, _ = run_once(code, variant_env)
                    if round_:
                        times[variant][name].append(elapsed)
                        cpus[variant][name].append(cpu)
        results["simulate_breakdown"] = breakdown(trace, env, args.rounds)
        results["simulate_breakdown_compiled"] = breakdown(trace, env, args.rounds, "compiled")
    startup = {v: {c: {"median_s": round(statistics.median(t), 3), "all_s": [round(x, 3) for x in t],
                       "median_cpu_s": round(statistics.median(cpus[v][c]), 3),
                       **({"heavy_modules": json.loads(heavy[v][c])} if c in heavy[v] else {})}
                   for c, t in per.items()} for v, per in times.items()}
    results["startup"] = startup
    results["load_average"] = list(os.getloadavg())

    size_now, names_now = closure_size(core_requirements(None))
    results["core_closure"] = {"current": {"mb": round(size_now / 2**20, 1), "distributions": names_now}}
    if args.baseline:
        size_before, names_before = closure_size(core_requirements(args.baseline))
        results["core_closure"][f"baseline {args.baseline}"] = {"mb": round(size_before / 2**20, 1),
                                                                 "distributions": names_before}
    if args.fresh_venv:
        results["fresh_venv_core_install"] = fresh_venv_size()

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    names = list(commands(Path("x"))) + ["python -c pass", "import numpy", "import gymnasium"]
    print(f"median of {args.rounds} rounds, wall (CPU) seconds; load average {results['load_average'][0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    header = f"{'command':<38}" + "".join(f"{v:>26}" for v in variants) + ("   ratio" if len(variants) == 2 else "")
    print(header)
    for name in names:
        cells = [startup[v][name]["median_s"] for v in variants]
        cpu_cells = [startup[v][name]["median_cpu_s"] for v in variants]
        ratio = f"   {cells[1] / cells[0]:5.1f}x" if len(cells) == 2 else ""
        print(f"{name:<38}" + "".join(f"{c:>12.3f} s ({u:.3f} s)" for c, u in zip(cells, cpu_cells)) + ratio)
    for variant, info in results["core_closure"].items():
        print(f"core dependency closure ({variant}): {info['mb']} MB, {len(info['distributions'])} distributions")
    for key in ("simulate_breakdown", "simulate_breakdown_compiled"):
        info = results[key]
        print(f"archgym simulate dram (10 requests, kernel={info['kernel']}), stage by stage (median of "
              f"{args.rounds}; interpreter start {info['interpreter_start_cpu_s']:.3f} s CPU):")
        for name, figures in info["stages"].items():
            print(f"  {name:<34}{figures['cpu_s']:>8.3f} s CPU{figures['wall_s']:>8.3f} s wall")
        numba_note = (f"numba: {info['engine_njit_functions']} njit functions, {info['engine_signatures_loaded']} "
                      "signature(s) loaded from the cache; " if info["engine_njit_functions"] else "")
        print(f"  {numba_note}imported: {', '.join(info['heavy_modules']) or 'nothing heavy'}")
    if args.fresh_venv:
        print(f"fresh venv, pip install . (core): {results['fresh_venv_core_install']['site_packages_mb']} MB")
    print(f"raw results: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
