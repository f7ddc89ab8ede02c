"""The wheel maps envs/, agents/, simulators/ into the archgym namespace and ships its data."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_every_subpackage_and_data(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
    )
    wheel = next(tmp_path.glob("archgym-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert not any(n.startswith(("envs/", "agents/", "simulators/")) for n in names), "bare top-level package in wheel"
    assert "archgym/simulators/dram/traces/stream.stl" in names
    assert "archgym/simulators/dram/traces/LICENSE" in names
    assert "archgym/simulators/accelerator/workloads/resnet18.csv" in names
    assert "archgym/simulators/nas/data/nb201.npz" in names
    assert "archgym/simulators/nas/data/HELP.LICENSE" in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    code = (
        "import archgym, archgym.envs, archgym.agents, archgym.simulators, archgym.simulators.dram, archgym.envs.dram;"
        "import archgym.dataset, archgym.simulators.accelerator, archgym.envs.accelerator, archgym.envs.multi_agent;"
        "import archgym.study, archgym.study.cli, archgym.proxy, archgym.proxy.cli, archgym.simulators.nas.supernet;"
        "import gymnasium as gym;"
        "gym.make('archgym/Accelerator-v0', workload='resnet18');"
        "import archgym.simulators.training.step, archgym.envs.training; gym.make('archgym/Training-v0');"
        "nas = gym.make('archgym/NASBench201-v0', device='eyeriss'); nas.reset(seed=0); nas.step([3] * 6);"
        f"assert archgym.__file__.startswith({str(target)!r}), archgym.__file__;"
        "assert archgym.simulators.dram.__file__.startswith(archgym.__file__.rsplit('/', 1)[0]);"
        "from archgym.simulators.dram import list_workloads; assert 'stream' in list_workloads();"
        "print('ok')"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# -- the slim core and its extras (issue 10) ------------------------------------------------------
import ast  # noqa: E402
import re  # noqa: E402
import tomllib  # noqa: E402

from archgym.errors import EXTRAS  # noqa: E402

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements):
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_core_needs_no_torch_or_learning_libraries():
    core = _names(PROJECT["dependencies"])
    assert not core & {"torch", "stable-baselines3", "scikit-optimize", "scikit-learn", "pettingzoo", "skops",
                       "matplotlib", "ray"}
    assert not any("<" in r for r in PROJECT["dependencies"] if r.lower().startswith("numpy")), "numpy cap in the core"


def test_every_feature_extra_is_declared_and_all_covers_them():
    extras = PROJECT["optional-dependencies"]
    assert set(EXTRAS) == set(extras) - {"all", "dev"}
    covered = set(re.search(r"\[(.*)\]", extras["all"][0]).group(1).split(","))
    assert covered == set(EXTRAS)
    assert "archgym[all]" in extras["dev"]
    assert any(r.startswith("matplotlib>=3.9") for r in extras["plot"])  # Axes.boxplot(tick_labels=...)


def test_every_optional_import_names_a_declared_extra():
    """``import_optional(module, extra)`` calls across the package name extras pyproject declares."""
    calls = []
    for folder in ("archgym", "envs", "agents", "simulators"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "import_optional":
                    extra = node.args[1]
                    if isinstance(extra, ast.Constant):
                        calls.append(extra.value)
    assert len(calls) >= 8 and set(calls) <= set(EXTRAS)
    from archgym.agents import AGENT_INFO

    assert {info.extra for info in AGENT_INFO.values()} - {None} <= set(EXTRAS)


TORCHLESS = (
    "import sys, json\n"
    "for name in ('torch', 'stable_baselines3', 'pettingzoo', 'skopt', 'sklearn', 'scipy', 'optuna'):\n"
    "    sys.modules[name] = None  # test double: a core install without the extras\n"
    "from archgym.cli import main\n"
    "print(json.dumps(main(sys.argv[1:])))\n"
)


@pytest.mark.slow  # one interpreter per case, each importing archgym (about 3 s apiece on 2 busy cores)
@pytest.mark.parametrize("argv, extra", [
    (["run", "--env", "archgym/Synthetic-v0", "--agent", "ppo", "--budget", "2"], "rl"),
    (["run", "--env", "archgym/Synthetic-v0", "--agent", "bo", "--budget", "2"], "bo"),
    (["run", "--env", "archgym/Synthetic-v0", "--agent", "marl", "--budget", "2"], "marl"),
    (["run", "--env", "archgym/Supernet-v2", "--agent", "random", "--budget", "2"], "nas"),  # newest: no deprecation line
    (["describe", "archgym/Supernet-v0"], None),
])
def test_a_missing_extra_is_one_line_naming_it(argv, extra):
    out = subprocess.run([sys.executable, "-c", TORCHLESS, *argv], capture_output=True, text=True, cwd=ROOT)
    if extra is None:  # listing still works; the details say what is missing
        assert out.returncode == 0 and "pip install 'archgym[nas]'" in out.stdout
        return
    assert out.stdout.strip() == "2", out.stderr
    err = out.stderr.strip()
    assert len(err.splitlines()) == 1 and f"pip install 'archgym[{extra}]'" in err, err


def test_core_commands_run_without_the_extras():
    argv = ["run", "--env", "archgym/Synthetic-v0", "--agent", "ga", "--budget", "5", "--no-progress"]
    out = subprocess.run([sys.executable, "-c", TORCHLESS, *argv], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip().splitlines()[-1] == "0", out.stderr
