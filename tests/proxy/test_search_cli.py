"""``archgym proxy search``: real simulations only, each logged, and one-line errors."""

from __future__ import annotations

import json

import pytest

from archgym.cli import main


def test_search_json_counts_real_simulations_and_logs_each(tmp_path, capsys):
    data = tmp_path / "runs"
    argv = ["proxy", "search", "--env", "archgym/Synthetic-v0", "--budget", "25", "--initial", "10",
            "--batch", "5", "--pool", "200", "--seed", "3", "--dataset", str(data), "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["real_evaluations"] == 25 == len(out["curve"])
    assert out["curve"] == sorted(out["curve"]) and out["curve"][-1] == out["best_reward"]
    assert main(["dataset", "info", str(data), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rows"] == 25
    assert "proxy_search" in json.dumps(info)


def test_search_text_shows_curve_and_baseline(capsys):
    argv = ["proxy", "search", "--env", "archgym/Synthetic-v0", "--budget", "20", "--initial", "10",
            "--batch", "5", "--pool", "200"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "best real reward by real simulations" in text
    assert "after 10" in text and "after 20" in text
    assert "best vs baseline" in text


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--budget", "0"], "--budget must be a positive integer, got 0"),
        (["--budget", "5", "--explore", "1.5"], "--explore must be a fraction in [0, 1], got 1.5"),
        (["--budget", "5", "--batch", "0"], "--batch must be a positive integer, got 0"),
        (["--budget", "5", "--env-arg", "no_such_kwarg=1"], "no_such_kwarg"),
    ],
)
def test_search_bad_input_is_one_line_exit_2(extra, message, capsys):
    assert main(["proxy", "search", "--env", "archgym/Synthetic-v0", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_search_with_a_low_fidelity_env(capsys):
    argv = ["proxy", "search", "--env", "archgym/Accelerator-v0", "--env-arg", 'backend_kwargs={"array": "systolic"}',
            "--low-fidelity", "backend_kwargs={}", "--budget", "15", "--initial", "5", "--batch", "5",
            "--pool", "500", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["real_evaluations"] == 15 == len(out["curve"]) and 0 <= out["failed"] < 15


def test_low_fidelity_that_is_the_real_simulator_is_refused(capsys):
    argv = ["proxy", "search", "--env", "archgym/Accelerator-v0", "--low-fidelity", "backend=analytical",
            "--budget", "5", "--initial", "2", "--batch", "2", "--pool", "50"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "runs the searched simulator itself" in err and len(err.splitlines()) == 1
