import json

import pytest

from archgym.cli import main, parse_assignments, UserError


def test_parse_assignments_json_values():
    assert parse_assignments(["a=1", "b=x", 'c={"k": 2}', "d=1.5"], "--x") == {"a": 1, "b": "x", "c": {"k": 2}, "d": 1.5}
    with pytest.raises(UserError, match="KEY=VALUE"):
        parse_assignments(["novalue"], "--env-arg")


def test_list_envs_and_agents(capsys):
    assert main(["list", "envs"]) == 0
    assert "archgym/DRAM-v0" in capsys.readouterr().out
    assert main(["list", "agents", "--json"]) == 0
    names = [a["name"] for a in json.loads(capsys.readouterr().out)]
    assert "random" in names


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--env", "archgym/Nope-v0", "--agent", "random", "--budget", "2"], "Nope"),
        (["run", "--env", "archgym/DRAM-v0", "--agent", "annealing", "--budget", "2"], "unknown agent 'annealing'"),
        (["run", "--env", "archgym/DRAM-v0", "--agent", "random", "--budget", "0"], "--budget"),
        (["run", "--env", "archgym/DRAM-v0", "--env-arg", "targets={\"x\": 1}", "--agent", "random", "--budget", "1"],
         "unknown metric 'x'"),
        (["dataset", "info", "/nonexistent/folder"], "nonexistent"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("archgym: error:") and message in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
