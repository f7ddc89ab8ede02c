"""Resuming studies: finished runs are skipped, unfinished runs leave no rows, SIGKILL is survivable."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from archgym.dataset import load
from archgym.study import Study, finished_runs, remove_abandoned, run_study
from archgym.study import execute

ENV = "archgym/Synthetic-v0"


def _rows(folder):
    return load(folder).sort_values(["run", "step"], ignore_index=True)


def test_rerun_skips_finished_runs_and_adds_no_rows(tmp_path):
    study = Study(ENV, ["ga", "random_walk"], budget=15, draws=2, seeds=2)
    first = run_study(study, tmp_path, backend="serial")
    # ga, random_walk: 2 draws x 2 seeds; random: as many runs (4 seeds)
    assert first.planned == first.executed == 12 and first.skipped == 0
    before = _rows(tmp_path)
    assert len(before) == 12 * 15 and not before.duplicated(["run", "step"]).any()
    again = run_study(study, tmp_path, backend="serial")
    assert again.skipped == 12 and again.outcomes == []
    assert len(_rows(tmp_path)) == len(before)
    grown = Study(ENV, ["ga", "random_walk"], budget=15, draws=3, seeds=2)
    more = run_study(grown, tmp_path, backend="serial")
    assert more.skipped == 12 and more.executed == 6  # the new draw of each agent (and 2 random seeds), on both seeds
    assert not _rows(tmp_path).duplicated(["run", "step"]).any()


def test_each_run_is_one_shard_named_by_its_run_id(tmp_path):
    study = Study(ENV, ["aco"], budget=7, draws=2, seeds=1)
    run_study(study, tmp_path, backend="serial")
    ids = {s.run_id for s in study.runs()}
    shards = sorted(p.name for p in tmp_path.glob("part-*.parquet"))
    assert len(shards) == len(ids) and all(any(name.startswith(f"part-{i}-") for i in ids) for name in shards)
    assert finished_runs(tmp_path, study.name) == ids
    assert finished_runs(tmp_path, "other-study") == set()
    assert finished_runs(tmp_path / "missing", study.name) == set()


def test_a_run_that_fails_mid_way_publishes_nothing_and_is_retried(tmp_path, monkeypatch):
    study = Study(ENV, ["random"], budget=10, seeds=3)
    real_make_agent = execute.make_agent

    def make_agent_failing_for_seed_1(name, space, seed=None, **params):  # test double around the real agent
        agent = real_make_agent(name, space, seed=seed, **params)
        if seed == 1:
            def update(outcome):
                if agent.result.evaluations == 4:
                    raise RuntimeError("simulated crash after 4 evaluations")
            agent.update = update
        return agent

    monkeypatch.setattr(execute, "make_agent", make_agent_failing_for_seed_1)
    result = run_study(study, tmp_path, backend="serial")
    assert [o.seed for o in result.failed] == [1] and "simulated crash" in result.failed[0].error
    assert sorted(_rows(tmp_path)["seed"].unique()) == [0, 2]  # none of the failed run's 4 evaluations
    monkeypatch.setattr(execute, "make_agent", real_make_agent)
    retry = run_study(study, tmp_path, backend="serial")
    assert retry.skipped == 2 and retry.executed == 1
    rows = _rows(tmp_path)
    assert rows.groupby("seed")["step"].count().to_dict() == {0: 10, 1: 10, 2: 10}


def test_remove_abandoned_deletes_only_the_given_runs_temp_files(tmp_path):
    (tmp_path / ".part-ga-abc-000000.parquet.1234.tmp").write_bytes(b"partial")
    (tmp_path / ".part-aco-def-000000.parquet.5678.tmp").write_bytes(b"partial")
    removed = remove_abandoned(tmp_path, ["ga-abc"])
    assert [p.name for p in removed] == [".part-ga-abc-000000.parquet.1234.tmp"]
    assert (tmp_path / ".part-aco-def-000000.parquet.5678.tmp").exists()


SCRIPT = textwrap.dedent(
    """
    import sys
    from archgym.study import Study, run_study
    study = Study("archgym/Synthetic-v0", ["ga", "aco", "random_walk"], budget=200, draws=3, seeds=3)
    run_study(study, sys.argv[1], backend=sys.argv[2], workers=2)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["process", "serial"])
def test_sigkill_mid_study_then_rerun_equals_an_uninterrupted_run(tmp_path, backend):
    study = Study(ENV, ["ga", "aco", "random_walk"], budget=200, draws=3, seeds=3)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(killed), backend], start_new_session=True,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(killed.glob("part-*.parquet"))) < 4 and proc.poll() is None:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the study and its pool workers, all at once
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    partial = finished_runs(killed, study.name)
    total = len(study.runs())
    assert 4 <= len(partial) < total, "the kill must land mid-study"
    assert not _rows(killed).duplicated(["run", "step"]).any()

    resumed = run_study(study, killed, backend="serial")
    assert resumed.skipped == len(partial) and resumed.executed == total - len(partial)
    assert not list(killed.glob(".part-*.tmp"))

    reference = tmp_path / "reference"
    run_study(study, reference, backend="serial")
    got, want = _rows(killed), _rows(reference)
    assert set(got["run"]) == set(want["run"]) and len(set(got["run"])) == total
    assert not got.duplicated(["run", "step"]).any()
    assert got.groupby("run")["step"].count().to_dict() == want.groupby("run")["step"].count().to_dict()
    assert got["reward"].tolist() == want["reward"].tolist()  # same runs, same results


def test_publishing_a_run_with_an_invalid_record_leaves_nothing(tmp_path):
    records = execute.RunRecords()
    records.append({"study": "s", "run": "r", "step": 0, "reward": 1.0, "design": {"x": 1}})
    records.append({"study": "s", "run": "r", "step": 1, "reward": 2.0, "design": {"x": "text after numbers"}})
    with pytest.raises(ValueError, match="design parameter 'x'"):
        records.publish(tmp_path, writer_id="r")
    assert list(tmp_path.iterdir()) == []
