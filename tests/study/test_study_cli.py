"""``archgym lottery``: runs, resumes, reports; user mistakes are one line."""

import json

import pytest

from archgym.cli import main
from archgym.dataset import load


def _argv(tmp_path, *extra):
    return ["lottery", "--env", "archgym/Synthetic-v0", "--env-arg", "function_seed=3", "--agents", "ga,random_walk",
            "--draws", "2", "--seeds", "2", "--budget", "12", "--backend", "serial",
            "--dataset", str(tmp_path / "ds"), "--report", str(tmp_path / "rep"), *extra]


def test_lottery_runs_reports_and_resumes(tmp_path, capsys):
    assert main(_argv(tmp_path, "--json")) == 0
    out = json.loads(capsys.readouterr().out)
    # ga and random_walk: 2 draws x 2 seeds; random as many (4 seeds)
    assert out["runs"] == {"planned": 12, "skipped": 0, "executed": 12, "failed": []}
    assert {row["agent"] for row in out["summary"]} == {"ga", "random_walk", "random"}
    assert (tmp_path / "rep" / "outcomes.png").exists() and (tmp_path / "rep" / "summary.csv").exists()
    rows = load(tmp_path / "ds")
    assert len(rows) == 12 * 12 and set(rows["env_id"]) == {"archgym/Synthetic-v0"}

    assert main(_argv(tmp_path)) == 0
    captured = capsys.readouterr()
    assert "12 finished run(s) skipped" in captured.err
    assert "P(>random)" in captured.out and "0 run(s) executed, 12 skipped" in captured.out
    assert len(load(tmp_path / "ds")) == 12 * 12


@pytest.mark.slow  # imports torch for dqn
def test_failed_runs_are_listed_and_exit_1(tmp_path, capsys):
    # dqn needs one action per design: Synthetic-v0's 1,048,576 designs are too many, so every dqn run fails
    argv = _argv(tmp_path, "--no-progress")
    argv[argv.index("ga,random_walk")] = "dqn"
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "failed: ValueError: the design space is too large for 'dqn'" in captured.err
    assert "random" in captured.out and "4 failed" in captured.out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--workers", "0"], "--workers must be a positive integer"),
        (["--address", "auto"], "--address only applies to --backend ray"),
        (["--env-arg", "colour=3"], "colour"),
    ],
)
def test_user_errors(tmp_path, capsys, extra, message):
    assert main(_argv(tmp_path, *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("archgym: error:") and message in err and len(err.splitlines()) == 1


def test_unknown_agent_is_a_user_error(tmp_path, capsys):
    argv = _argv(tmp_path)
    argv[argv.index("ga,random_walk")] = "ga,annealing"
    assert main(argv) == 2
    assert "unknown agent 'annealing'" in capsys.readouterr().err
