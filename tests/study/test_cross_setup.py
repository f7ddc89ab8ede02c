"""A study across workloads, end to end at a tiny budget: runs, report tables, figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from archgym.cli import main
from archgym.study.report import SetupContext, _normalise_outcomes, summarise_setups
from archgym.objectives import ObjectiveSpec


@pytest.mark.slow  # about 15 s: 36 short DRAM runs on 3 traces
def test_cross_workload_lottery_end_to_end(tmp_path, capsys):
    argv = ["lottery", "--env", "archgym/DRAM-v1", "--workloads", "stream,random,cloud-1",
            "--env-arg", "max_requests=300", "--agents", "ga,random_walk", "--draws", "2", "--seeds", "2",
            "--budget", "6", "--backend", "serial", "--no-progress",
            "--dataset", str(tmp_path / "ds"), "--report", str(tmp_path / "rep")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "lottery-DRAM-v1-stream+random+cloud-1-max_requests=300-b6" in out
    assert "workload=cloud-1: baseline avg_read_total_latency_ns" in out
    rep = tmp_path / "rep"
    for name in ("lottery_by_setup", "pareto_fronts", "hypervolume"):
        assert (rep / f"{name}.png").stat().st_size > 10_000
        assert (rep / f"{name}.csv").exists()
    outcomes = pd.read_csv(rep / "lottery_by_setup.csv")
    # every agent, random included, has draws x seeds = 4 runs on each of the 3 workloads
    assert outcomes.groupby(["setup", "agent"]).size().tolist() == [4] * 9
    assert (outcomes["hypervolume"] >= 0).all()
    curves = pd.read_csv(rep / "hypervolume.csv")
    assert curves.groupby(["setup", "agent"])["median"].apply(lambda c: bool(np.all(np.diff(c) >= -1e-12))).all()


def _rows(runs):
    records = []
    for run, (agent, params, values) in runs.items():
        for step, (lat, pw, reward) in enumerate(values):
            records.append({"run": run, "agent": agent, "agent_params": params, "seed": 0, "step": step,
                            "reward": reward, "metric.lat": lat, "metric.pw": pw, "feasible": True})
    return pd.DataFrame(records)


def test_hypervolume_and_normalised_outcomes_by_hand():
    objectives = (ObjectiveSpec("lat", "minimize", "ns"), ObjectiveSpec("pw", "minimize", "mW"))
    context = SetupContext("w", objectives, {"lat": 100.0, "pw": 10.0}, 0.0)
    rows = _rows({
        "g0": ("ga", "{}", [(100.0, 10.0, 0.0), (50.0, 10.0, 0.3)]),   # (0.5, 1) ratios: hv box (2-.5)(2-1) = 1.5
        "r0": ("random", "{}", [(300.0, 1.0, -0.5), (100.0, 5.0, 0.2)]),  # (3, .1) outside; (1, .5): (1)(1.5) = 1.5
    })
    report = summarise_setups(rows, {"w": context}, {"g0": "w", "r0": "w"}, "hand")
    hv = report.outcomes.set_index("run")["hypervolume"]
    assert hv["g0"] == pytest.approx(1.5) and hv["r0"] == pytest.approx(1.5)
    norm = report.outcomes.set_index("run")["normalised"]
    assert norm["g0"] == pytest.approx(1.0) and norm["r0"] == pytest.approx(0.2 / 0.3)
    curve = report.hv_curves.set_index(["agent", "evaluations"])["median"]
    assert curve[("ga", 1)] == pytest.approx(1.0) and curve[("random", 1)] == 0.0
    fronts = report.fronts
    assert set(fronts.loc[fronts["agent"] == "random", "lat"]) == {300.0, 100.0}


def test_heavy_tailed_outcomes_become_fractions_of_the_best():
    values, scale = _normalise_outcomes(np.array([81.0, 563.0, 7526.0, 2.0]), 81.0)
    assert scale.startswith("fraction") and values.max() == 1.0 and values.min() == pytest.approx(2.0 / 7526.0)
    values, scale = _normalise_outcomes(np.array([0.0, 0.0]), 0.0)
    assert scale.startswith("degenerate") and values.tolist() == [0.0, 0.0]


def test_axis_mistakes_are_one_line_errors(tmp_path, capsys):
    base = ["lottery", "--env", "archgym/NASBench201-v0", "--agents", "ga", "--budget", "3", "--backend", "serial",
            "--dataset", str(tmp_path / "ds"), "--report", str(tmp_path / "rep"), "--no-progress"]
    assert main([*base, "--axis", "dataset"]) == 2
    assert "--axis expects KEY=V1,V2" in capsys.readouterr().err
    assert main([*base, "--axis", "dataset=cifar10,mnist"]) == 2
    assert "study axis value dataset='mnist' is rejected" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()  # nothing ran
