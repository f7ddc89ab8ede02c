"""The lottery report's numbers, checked by hand on a tiny hand-built dataset."""

import json

import numpy as np
import pytest

from archgym.dataset import DatasetWriter
from archgym.study import Study, lottery_report, run_study
from archgym.study.report import summarise, load_study

# run -> (agent, params, seed, rewards per step)
RUNS = {
    "r0": ("random", {}, 0, [1.0, 3.0, 2.0, 2.0]),
    "r1": ("random", {}, 1, [2.0, 2.0, 4.0, 1.0]),
    "a0": ("ga", {"population": 4}, 0, [0.0, 5.0, 1.0, 1.0]),
    "a1": ("ga", {"population": 4}, 1, [1.0, 1.0, 1.0, 3.0]),
    "a2": ("ga", {"population": 8}, 0, [4.0, 0.0, 0.0, 0.0]),
    "a3": ("ga", {"population": 8}, 1, [6.0, 0.0, 0.0, 0.0, 9.0]),  # longer: compared at the shared budget 4
}


@pytest.fixture
def dataset(tmp_path):
    with DatasetWriter(tmp_path / "ds") as writer:
        for run, (agent, params, seed, rewards) in RUNS.items():
            for step, reward in enumerate(rewards):
                writer.append({
                    "study": "hand", "run": run, "agent": agent, "agent_params": params, "seed": seed, "step": step,
                    "reward": reward, "design": {"x": step + 10 * seed}, "metrics": {"m": -reward},
                })
        writer.append({"study": "other", "run": "z", "agent": "ga", "seed": 0, "step": 0, "reward": 100.0})
    return tmp_path / "ds"


def test_summary_numbers(dataset):
    report = summarise(load_study(dataset, "hand"), "hand")
    assert report.budget == 4
    s = report.summary
    assert list(s.index) == ["ga", "random"]  # by median, best first
    ga, rnd = s.loc["ga"], s.loc["random"]
    # best-found rewards: random [3, 4]; ga [5, 3, 4, 6] (a3's 9 comes after the shared budget)
    assert (rnd["median"], rnd["best"], rnd["worst"]) == (3.5, 4.0, 3.0)
    assert (ga["runs"], ga["draws"], ga["seeds"]) == (4, 2, 2)
    assert ga["median"] == 4.5 and ga["best"] == 6.0 and ga["worst"] == 3.0
    assert ga["q25"] == np.percentile([5, 3, 4, 6], 25) and ga["iqr"] == ga["q75"] - ga["q25"]
    # pairs (ga, random): 5>3,5>4, 3<3?tie,3<4, 4>3,4=4 tie, 6>3,6>4 -> 5 wins + 2 ties of 8
    assert ga["p_beats_random"] == pytest.approx((5 + 0.5 * 2) / 8)
    assert rnd["p_beats_random"] == 0.5
    assert ga["rel_improvement_pct"] == pytest.approx(100 * (4.5 - 3.5) / 3.5)
    assert rnd["rel_improvement_pct"] == 0.0


def test_runs_draws_curves_and_best_designs(dataset):
    report = summarise(load_study(dataset, "hand"), "hand")
    runs = report.runs.set_index("run")
    assert runs.loc["a0", "best_reward"] == 5.0 and runs.loc["a0", "best_step"] == 1
    assert runs.loc["a3", "evaluations"] == 4
    draws = report.draws.set_index(["agent", "agent_params"])
    assert draws.loc[("ga", json.dumps({"population": 8})), "median"] == 5.0
    curve = report.curves[report.curves["agent"] == "random"].set_index("evaluations")
    # best-so-far: r0 [1, 3, 3, 3], r1 [2, 2, 4, 4]
    assert curve["median"].tolist() == [1.5, 2.5, 3.5, 3.5]
    assert list(report.curves["agent"].unique()) == ["ga", "random"]
    best = report.best_designs.set_index("agent")
    assert best.loc["ga", "run"] == "a3"
    assert best.loc["ga", "reward"] == 6.0 and best.loc["ga", "design.x"] == 10 and best.loc["ga", "metric.m"] == -6.0


def test_write_produces_tables_and_pngs(dataset, tmp_path):
    report = summarise(load_study(dataset, "hand"), "hand")
    paths = report.write(tmp_path / "rep")
    for name in ("summary", "runs", "draws", "curves", "best_designs", "outcomes", "best_so_far"):
        assert paths[name].exists() and paths[name].stat().st_size > 0
    assert paths["outcomes"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ga" in report.to_text() and "P(>random)" in report.to_text()


def test_unknown_study_is_a_clear_error(dataset):
    with pytest.raises(ValueError, match="no rows of study 'nope'"):
        lottery_report(dataset, "nope")


def test_report_of_a_study_object_covers_only_its_runs(tmp_path):
    small = Study("archgym/Synthetic-v0", ["ga"], budget=12, draws=2, seeds=2)
    run_study(Study("archgym/Synthetic-v0", ["ga"], budget=12, draws=3, seeds=2), tmp_path, backend="serial")
    assert lottery_report(tmp_path, small).summary.loc["ga", "runs"] == 4
    assert lottery_report(tmp_path, small.name).summary.loc["ga", "runs"] == 6


def test_unique_designs_and_infeasible_share(tmp_path):
    with DatasetWriter(tmp_path) as writer:
        # run p: designs 1, 2, 1, 3 (one repeat), the second evaluation infeasible; run q: all the same design
        for run, agent, xs, feasible in (("p", "ga", [1, 2, 1, 3], [True, False, True, True]),
                                         ("q", "random", [5, 5, 5, 5], [False] * 4)):
            seen = set()
            for step, (x, ok) in enumerate(zip(xs, feasible)):
                writer.append({"study": "u", "run": run, "agent": agent, "seed": 0, "step": step, "reward": float(x),
                               "feasible": ok, "new_design": x not in seen, "design": {"x": x}})
                seen.add(x)
    report = summarise(load_study(tmp_path, "u"), "u")
    runs = report.runs.set_index("run")
    assert runs.loc["p", "unique_designs"] == 3 and runs.loc["q", "unique_designs"] == 1
    assert runs.loc["p", "infeasible"] == 1 and runs.loc["q", "infeasible"] == 4
    assert report.summary.loc["ga", "infeasible_pct"] == 25.0 and report.summary.loc["random", "infeasible_pct"] == 100.0
    assert "infeasible evaluations: 5 of 8 (62.5 %)" in report.to_text()


def test_a_study_whose_rows_mix_setups_is_refused(tmp_path):
    from archgym.dataset import MixedSetupsError
    from archgym.runner import run_agent

    for function_seed in (1, 2):
        run_agent("archgym/Synthetic-v0", "random", 4, seed=0, env_kwargs={"function_seed": function_seed},
                  dataset=tmp_path, study="mixed")
    with pytest.raises(MixedSetupsError, match="env_kwargs.function_seed"):
        lottery_report(tmp_path, "mixed")
