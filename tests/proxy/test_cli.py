"""``archgym proxy train|eval``."""

from __future__ import annotations

import json

import pytest

from archgym.cli import main
from archgym.proxy import ProxySimulator


@pytest.mark.slow
def test_train_then_eval(dram_dataset, tmp_path, capsys):
    out = tmp_path / "dram.proxy"
    code = main(["proxy", "train", "--dataset", dram_dataset, "--env", "archgym/DRAM-v0", "--model", "gbt",
                 "--param", "max_iter=30", "--metric", "avg_power_mw", "--metric", "bandwidth_gbps",
                 "--env-arg", "max_requests=400", "--env-arg", "workload=random", "--out", str(out), "--json"])
    assert code == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["path"] == str(out) and trained["simulator"].startswith("proxy-gbt:dram@")
    assert set(trained["training"]["test"]) == {"avg_power_mw", "bandwidth_gbps"}
    assert ProxySimulator.load(out).metric_names == ("avg_power_mw", "bandwidth_gbps")

    assert main(["proxy", "eval", "--model", str(out), "--dataset", dram_dataset]) == 0
    text = capsys.readouterr().out
    assert "avg_power_mw" in text and "RMSE %range" in text
    assert main(["proxy", "eval", "--model", str(out), "--dataset", dram_dataset, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # scored on every design it was trained on: a near-perfect in-sample fit
    assert report["designs"] == trained["training"]["designs"]
    assert report["metrics"]["avg_power_mw"]["r2"] > 0.9


@pytest.mark.parametrize(
    "argv, message",
    [
        (["proxy", "train", "--dataset", "{missing}", "--env", "archgym/DRAM-v0", "--model", "rf", "--out", "x"],
         "does not exist"),
        (["proxy", "train", "--dataset", "{data}", "--env", "archgym/DRAM-v0", "--workload", "stream", "--model", "rf",
          "--out", "x"], "no dataset rows match"),
        (["proxy", "train", "--dataset", "{data}", "--env", "archgym/DRAM-v0", "--model", "rf", "--metric", "nope",
          "--env-arg", "max_requests=400", "--out", "x"], "unknown metric(s) nope"),
        (["proxy", "eval", "--model", "{foreign}", "--dataset", "{data}"], "is not an archgym proxy file"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(argv, message, dram_dataset, tmp_path, capsys):
    foreign = tmp_path / "foreign.proxy"
    foreign.write_text("hello")
    paths = {"missing": str(tmp_path / "none"), "data": dram_dataset, "foreign": str(foreign)}
    argv = [a.format(**paths) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("archgym: error:") and "Traceback" not in err
