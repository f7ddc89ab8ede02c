"""The README's code runs as shown."""

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def python_block_after(heading: str) -> str:
    section = README.split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_bring_your_own_simulator_runs_every_agent(capsys):
    namespace: dict = {}
    exec(compile(python_block_after("## Bring your own simulator"), "README[byo]", "exec"), namespace)
    from archgym.agents import list_agents

    best = namespace["best"]
    assert set(best) == set(list_agents(optional=False)) and len(best) >= 10
    env = namespace["gym"].make("archgym/ToyCache-v0")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    median = np.median([env.step(namespace["space"].sample(rng))[1] for _ in range(200)])
    for name, reward in best.items():
        assert reward > median, f"{name} found nothing better than the median design"


def test_quick_start_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = python_block_after("## Quick start in code").replace('workload="random",', 'workload="random", max_requests=500,')
    namespace: dict = {}
    exec(compile(code, "README[quickstart]", "exec"), namespace)
    from archgym.dataset import load

    rows = load(tmp_path / "runs" / "quickstart")
    assert len(rows) == 50 and namespace["result"].evaluations == 50
    assert namespace["result"].best_reward == rows["reward"].max()


@pytest.mark.slow
def test_proxy_section_runs(tmp_path, monkeypatch):
    from archgym.agents import make_agent
    from archgym.runner import run_agent

    monkeypatch.chdir(tmp_path)
    run_agent("archgym/DRAM-v0", "random", 80, seed=0, dataset="runs/dram",
              env_kwargs={"workload": "random", "max_requests": 300})
    namespace: dict = {}
    exec(compile(python_block_after("## Proxy cost models"), "README[proxy]", "exec"), namespace)
    env = namespace["env"]
    assert env.unwrapped.simulator.name.startswith("proxy-rf")
    result = make_agent("ga", env.unwrapped.design_space, seed=0).run(env, 20)
    assert result.evaluations == 20 and np.isfinite(result.best_reward)
    assert (tmp_path / "dram-random.proxy").is_file()


def test_multi_objective_section_runs(capsys):
    exec(compile(python_block_after("## Multi-objective DSE"), "README[mo]", "exec"), {})
    out = capsys.readouterr().out
    assert "avg_read_total_latency_ns" in out and "Box(-5.0, 5.0, (3,), float32)" in out


ROOT = Path(__file__).resolve().parents[1]


def readme_paths(pattern: str) -> set[str]:
    """Every path of the form ``pattern`` the README names, in or out of backticks."""
    return set(re.findall(pattern, README))


def test_every_benchmark_named_in_the_readme_exists():
    """A figure's command names a script that is there, and the raw results it cites are there.

    Paths may end in ``*`` (a family of files): at least one file must match. Inside a git
    checkout the raw results must also be committed, not just lying in the working tree.
    """
    scripts = readme_paths(r"benchmarks/[A-Za-z0-9_]+\.py")
    assert len(scripts) >= 10, "the README should name the benchmarks behind its figures"
    missing = sorted(s for s in scripts if not (ROOT / s).is_file())
    assert not missing, f"README names benchmarks that do not exist: {missing}"

    results = {p.rstrip("/.") for p in readme_paths(r"benchmarks/results/[A-Za-z0-9_./*-]+")}
    assert results, "the README should name the raw results behind its figures"
    found = {p: sorted(ROOT.glob(p)) for p in results}
    absent = sorted(p for p, files in found.items() if not files)
    assert not absent, f"README names raw results that do not exist: {absent}"

    if (ROOT / ".git").exists():
        tracked = set(subprocess.run(["git", "ls-files", "benchmarks/results"], cwd=ROOT, capture_output=True,
                                     text=True, check=True).stdout.split())
        def committed(path: Path) -> bool:
            name = path.relative_to(ROOT).as_posix()
            return name in tracked or (path.is_dir() and any(t.startswith(name + "/") for t in tracked))

        uncommitted = sorted(p for p, files in found.items() if not any(committed(f) for f in files))
        assert not uncommitted, f"README names raw results that are not committed: {uncommitted}"
