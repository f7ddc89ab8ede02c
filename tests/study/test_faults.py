"""Studies under faults: crashing and hanging workers, a killed parent, two processes on one study.

The faulty env is a test double: :class:`SyntheticEnv` whose run with seed ``crash_seed``
segfaults, calls ``os._exit`` or hangs. It lives in a module written to a temporary folder
on ``sys.path`` (spawned workers get the parent's ``sys.path``) and is made with gymnasium's
``"module:EnvId"`` form, which imports that module in each worker.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from archgym.dataset import info, load
from archgym.study import Study, StudyLockedError, execute, finished_runs, run_study
from archgym.study.lock import study_lock

FAULTY = textwrap.dedent(
    """
    import os, signal, time
    import gymnasium as gym
    from archgym.envs.synthetic import SyntheticEnv

    class FaultyEnv(SyntheticEnv):
        '''Test double: the run reset with seed ``crash_seed`` fails as ``mode`` says.'''

        def __init__(self, crash_seed=1, mode="segv", **kwargs):
            super().__init__(**kwargs)
            self.crash_seed, self.mode, self.faulty = crash_seed, mode, False

        def reset(self, *, seed=None, options=None):
            if seed is not None:
                self.faulty = seed == self.crash_seed
            if self.faulty and self.mode == "segv":
                os.kill(os.getpid(), signal.SIGSEGV)
            if self.faulty and self.mode == "exit":
                os._exit(3)
            return super().reset(seed=seed, options=options)

        def prefetch(self, designs):
            if self.faulty and self.mode == "hang-batch":
                time.sleep(3600)
            return super().prefetch(designs)

        def step(self, action):
            if self.faulty and self.mode == "hang":
                time.sleep(3600)
            if self.mode == "slow":
                time.sleep(0.02)
            return super().step(action)

    if "FaultyTest-v0" not in gym.registry:
        gym.register("FaultyTest-v0", entry_point="archgym_faulty_env:FaultyEnv", max_episode_steps=100)
    """
)
FAULTY_ID = "archgym_faulty_env:FaultyTest-v0"


@pytest.fixture
def faulty_env(module_on_path):
    module_on_path("archgym_faulty_env", FAULTY)
    return FAULTY_ID


def _rows(folder):
    return load(folder).sort_values(["run", "step"], ignore_index=True)


@pytest.mark.slow
@pytest.mark.parametrize("mode, reason", [("segv", "killed by signal SIGSEGV"), ("exit", "exited with status 3")])
def test_a_crashing_worker_fails_only_its_run(faulty_env, tmp_path, mode, reason):
    study = Study(faulty_env, ["random"], budget=8, seeds=3, env_kwargs={"crash_seed": 1, "mode": mode})
    result = run_study(study, tmp_path / "d", backend="process", workers=2)
    assert [o.seed for o in result.failed] == [1] and result.executed == 2
    assert "worker process died" in result.failed[0].error and reason in result.failed[0].error
    assert sorted(_rows(tmp_path / "d")["seed"].unique()) == [0, 2]


@pytest.mark.slow
@pytest.mark.parametrize("agent, mode", [("random", "hang"), ("ga", "hang-batch")])  # ga evaluates batches
def test_a_hanging_evaluation_times_out_and_the_study_goes_on(faulty_env, tmp_path, agent, mode):
    study = Study(faulty_env, [agent], budget=5, seeds=3, env_kwargs={"crash_seed": 2, "mode": mode},
                  include_random=False)
    start = time.monotonic()
    result = run_study(study, tmp_path / "d", backend="process", workers=2, eval_timeout_s=1.5)
    assert time.monotonic() - start < 60
    assert [o.seed for o in result.failed] == [2] and result.executed == 2
    assert "timed out: the evaluation at step 0 ran longer than 1.5 s" in result.failed[0].error


@pytest.mark.slow
def test_a_run_past_its_time_limit_fails_and_the_study_goes_on(faulty_env, tmp_path):
    study = Study(faulty_env, ["random"], budget=5, seeds=2, env_kwargs={"crash_seed": 1, "mode": "hang"},
                  include_random=False)
    result = run_study(study, tmp_path / "d", backend="process", workers=2, run_timeout_s=10)
    assert [o.seed for o in result.failed] == [1] and result.executed == 1, [(o.seed, o.error) for o in result.failed]
    assert "timed out: the run took longer than 10 s" in result.failed[0].error


def test_timeouts_need_the_process_backend(tmp_path):
    study = Study("archgym/Synthetic-v0", ["random"], budget=3)
    with pytest.raises(ValueError, match="needs the 'process' backend"):
        run_study(study, tmp_path, backend="serial", eval_timeout_s=1)
    with pytest.raises(ValueError, match="positive number of seconds"):
        run_study(study, tmp_path, run_timeout_s=-1)


def test_a_run_is_published_once_however_often_it_is_executed(tmp_path):
    study = Study("archgym/Synthetic-v0", ["ga"], budget=12, seeds=1)
    spec = study.runs()[0]
    first = execute.execute_run(spec, str(tmp_path))
    second = execute.execute_run(spec, str(tmp_path))  # e.g. an orphaned worker or a second process
    assert first.ok and first.published and second.ok and not second.published
    rows = _rows(tmp_path)
    assert len(rows) == 12 and not rows.duplicated(["run", "step"]).any()
    assert len(list(tmp_path.glob("part-*.parquet"))) == 1
    other = Study("archgym/Synthetic-v0", ["ga"], budget=12, seeds=1, name="another-study").runs()[0]
    assert other.run_id == spec.run_id  # the same run in another study is published too
    assert execute.execute_run(other, str(tmp_path)).published and len(_rows(tmp_path)) == 24


def test_one_process_per_study(tmp_path):
    study = Study("archgym/Synthetic-v0", ["random"], budget=4, seeds=2)
    with study_lock(tmp_path, study.name):
        with pytest.raises(StudyLockedError, match=f"already running .*process {os.getpid()}"):
            run_study(study, tmp_path, backend="serial")
    assert run_study(study, tmp_path, backend="serial").executed == 2  # released: runs now


def test_a_lock_left_by_a_dead_process_is_not_in_the_way(tmp_path):
    study = Study("archgym/Synthetic-v0", ["random"], budget=4, seeds=1)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from archgym.study.lock import study_lock\n"
         f"with study_lock(sys.argv[1], {study.name!r}):\n print('locked', flush=True); time.sleep(60)",
         str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(StudyLockedError, match=f"process {holder.pid}"):
        run_study(study, tmp_path, backend="serial")
    holder.kill()
    holder.wait()
    assert run_study(study, tmp_path, backend="serial").executed == 1


LOTTERY = ["lottery", "--env", FAULTY_ID, "--env-arg", "mode=slow", "--agents", "ga", "--draws", "2", "--seeds", "2",
           "--budget", "25", "--workers", "1", "--backend", "serial", "--no-progress"]


@pytest.mark.slow
def test_two_identical_lottery_commands_do_not_double_rows(faulty_env, tmp_path):
    args = [*LOTTERY, "--dataset", str(tmp_path / "d"), "--report", str(tmp_path / "r")]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    first = subprocess.Popen([sys.executable, "-m", "archgym.cli", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=environment)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "d").glob("_lock-*.lock")) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = subprocess.run([sys.executable, "-m", "archgym.cli", *args], capture_output=True, text=True,
                            env=environment)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 2 and "is already running" in second.stderr and "Traceback" not in second.stderr
    rows = _rows(tmp_path / "d")
    assert len(rows) == 8 * 25 and not rows.duplicated(["run", "step"]).any()  # ga 2x2 + random 2x2 runs (as many as each agent)


PARENT = textwrap.dedent(
    """
    import sys
    from archgym.study import Study, run_study
    if __name__ == "__main__":
        study = Study("archgym/Synthetic-v0", ["ga", "random_walk"], budget=300, draws=2, seeds=2)
        run_study(study, sys.argv[1], backend="process", workers=2)
    """
)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its exit status waits to be collected


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the workers")
def test_killing_only_the_parent_ends_its_workers(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    folder = tmp_path / "d"
    proc = subprocess.Popen([sys.executable, str(script), str(folder)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(folder.glob("part-*.parquet"))) < 2 and proc.poll() is None:
        time.sleep(0.01)
    workers = [p for p in _children(proc.pid) if "archgym" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")
               or "multiprocessing" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")]
    assert workers, "the study's workers must be running"
    os.kill(proc.pid, signal.SIGKILL)  # the parent alone (SIGTERM, unhandled, ends it the same way)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in workers), "workers outlived their parent"
    shards = sorted(p.name for p in folder.glob("part-*.parquet"))
    time.sleep(1.0)
    assert sorted(p.name for p in folder.glob("part-*.parquet")) == shards  # nobody publishes any more

    study = Study("archgym/Synthetic-v0", ["ga", "random_walk"], budget=300, draws=2, seeds=2)
    done = finished_runs(folder, study.name)
    resumed = run_study(study, folder, backend="serial")
    assert 2 <= len(done) < len(study.runs()), "the kill must land mid-study"
    assert resumed.skipped == len(done) and resumed.executed == len(study.runs()) - len(done)
    rows = _rows(folder)
    assert len(rows) == 300 * len(study.runs()) and not rows.duplicated(["run", "step"]).any()


NO_GUARD = textwrap.dedent(
    """
    import sys
    from archgym.study import Study, run_study
    run_study(Study("archgym/Synthetic-v0", ["random"], budget=3, seeds=1), sys.argv[1], backend="process", workers=1)
    """
)


@pytest.mark.slow
def test_a_script_without_main_guard_is_told_what_to_add(tmp_path):
    script = tmp_path / "no_guard.py"
    script.write_text(NO_GUARD)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "d")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert "WorkerStartupError" in proc.stderr and 'if __name__ == "__main__":' in proc.stderr
    assert "BrokenProcessPool" not in proc.stderr


def test_the_same_run_command_twice_gives_two_runs(tmp_path, capsys):
    from archgym.cli import main

    argv = ["run", "--env", "archgym/Synthetic-v0", "--agent", "random", "--budget", "5", "--seed", "1",
            "--dataset", str(tmp_path), "--no-progress"]
    assert main(argv) == 0 and main(argv) == 0
    rows = _rows(tmp_path)
    assert rows["run"].nunique() == 2 and len(rows) == 10
    assert rows.groupby("run")["step"].apply(list).tolist() == [list(range(5))] * 2
    first, second = (group["reward"].tolist() for _, group in rows.groupby("run"))
    assert first == second  # same seed, same rows
    assert len(info(tmp_path).runs) == 2
    assert json.loads(rows["env_kwargs"].iloc[0])["function_seed"] == 0


def test_a_report_written_into_the_dataset_folder_does_not_break_loading(tmp_path):
    from archgym.study import lottery_report

    study = Study("archgym/Synthetic-v0", ["random"], budget=4, seeds=2)
    run_study(study, tmp_path, backend="serial")
    lottery_report(tmp_path, study, tmp_path)  # --report and --dataset the same folder
    assert (tmp_path / "summary.csv").exists() and len(load(tmp_path)) == 8
    assert info(tmp_path).bad_files == {}
    (tmp_path / "notes.txt").write_text("a foreign file is still reported")
    assert list(info(tmp_path).bad_files) == ["notes.txt"]


def test_lottery_timeouts_need_the_process_backend(tmp_path, capsys):
    from archgym.cli import main

    argv = ["lottery", "--env", "archgym/Synthetic-v0", "--agents", "random", "--budget", "3", "--backend", "serial",
            "--eval-timeout", "5", "--dataset", str(tmp_path)]
    assert main(argv) == 2 and "--eval-timeout needs --backend process" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_ends_a_lottery_with_130_and_no_partial_run(tmp_path):
    folder = tmp_path / "d"
    proc = subprocess.Popen(
        [sys.executable, "-m", "archgym.cli", "lottery", "--env", "archgym/Synthetic-v0", "--agents", "ga",
         "--draws", "2", "--seeds", "2", "--budget", "400", "--workers", "2", "--dataset", str(folder),
         "--report", str(tmp_path / "r"), "--no-progress"],
        stderr=subprocess.PIPE, text=True, start_new_session=True,
        # as an interactive shell starts it: a test run launched in the background by a shell
        # without job control ignores SIGINT, and a child would inherit that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(folder.glob("part-*.parquet")) and proc.poll() is None:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    rows = _rows(folder)
    assert len(rows) and (rows.groupby("run")["step"].count() == 400).all()  # whole runs only
