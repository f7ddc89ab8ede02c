"""``archgym simulate training``: one design on its own, JSON output, one-line errors."""

import json

from archgym.cli import main


def test_simulate_training_json(capsys):
    argv = ["simulate", "training", "--npus", "64", "--param", "shape=8x8", "--param", "kind0=Switch",
            "--param", "alg0=halvingDoubling", "--param", "tp=8", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["design"]["shape"] == "8x8" and out["design"]["tp"] == 8
    m = out["metrics"]
    assert abs(m["step_time_ms"] - (m["compute_time_ms"] + m["exposed_comm_ms"] + m["bubble_ms"])) < 1e-6 * m["step_time_ms"]


def test_simulate_training_infeasible_is_one_line(capsys):
    assert main(["simulate", "training", "--param", "tp=3"]) == 2
    err = capsys.readouterr().err
    assert "TP x PP = 3x2 = 6 does not divide the 64 NPUs" in err and "Traceback" not in err
