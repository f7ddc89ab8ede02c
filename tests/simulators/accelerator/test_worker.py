"""WorkerPool: jobs in child processes with private directories, errors and time limits.

Uses standard-library one-argument targets (``math:sqrt``, ``time:sleep``,
``os.path:abspath``) so it needs no optional dependency.
"""

from __future__ import annotations

import os
import time

import pytest

from archgym.simulator import SimulationError
from archgym.simulators.accelerator._worker import WorkerPool, run_job


def child_pid(pool: WorkerPool) -> str:
    """The answering child's pid, read through /proc/self (Linux)."""
    return os.path.basename(pool.run("os.path:realpath", "/proc/self"))


needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self"), reason="needs /proc/self (Linux) to read a pid")


@pytest.fixture
def pool():
    with WorkerPool(processes=2, tag="test") as p:
        yield p


def test_runs_a_job_in_a_child(pool):
    assert pool.run("math:sqrt", 16.0) == 4.0


@needs_proc
def test_the_job_runs_in_another_process(pool):
    assert child_pid(pool) != str(os.getpid())


def test_child_works_in_its_own_directory_and_parent_does_not_move(pool):
    before = os.getcwd()
    workdir = pool.run("os.path:abspath", ".")
    assert os.getcwd() == before
    assert workdir != before and os.path.basename(workdir).startswith("archgym-test-")
    assert os.path.isdir(workdir)
    pool.close()
    assert not os.path.exists(workdir)  # removed with the child


def test_job_error_becomes_simulation_error_and_pool_survives(pool):
    with pytest.raises(SimulationError, match=r"sqrt of -1 failed: ValueError"):
        pool.run("math:sqrt", -1.0, what="sqrt of -1")
    assert pool.run("math:sqrt", 9.0) == 3.0


@needs_proc
def test_timeout_kills_the_child_and_a_fresh_one_takes_the_next_job():
    with WorkerPool(processes=1, tag="test") as single:
        pid = child_pid(single)
        start = time.perf_counter()
        with pytest.raises(SimulationError, match=r"slow job timed out after 0.3 s"):
            single.run("time:sleep", 30, timeout_s=0.3, what="slow job")
        assert time.perf_counter() - start < 10
        assert single.run("math:sqrt", 4.0, timeout_s=30) == 2.0
        assert child_pid(single) != pid


def test_a_simulation_error_raised_by_the_job_is_passed_on_as_is(pool):
    code = "from archgym.simulator import SimulationError\nraise SimulationError('infeasible: too small')"
    with pytest.raises(SimulationError, match=r"^the job: infeasible: too small$"):
        pool.run("builtins:exec", code, what="the job")


def test_map_keeps_order(pool):
    assert pool.map("math:sqrt", [1.0, 4.0, 9.0, 16.0]) == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.perf
def test_map_runs_in_parallel(pool):
    start = time.perf_counter()
    assert pool.map("time:sleep", [3.0, 3.0]) == [None, None]
    # both children slept at once: serial would take >= 6 s; the margin absorbs a loaded machine
    assert time.perf_counter() - start < 5.0


def test_map_raises_the_first_failure(pool):
    with pytest.raises(SimulationError, match="job 1 failed"):
        pool.map("math:sqrt", [1.0, -1.0, 4.0])


def test_preload_failure_is_reported():
    with WorkerPool(tag="test", preload=("archgym_no_such_module",)) as bad:
        with pytest.raises(SimulationError, match="could not start a test worker process.*archgym_no_such_module"):
            bad.run("math:sqrt", 1.0)


def test_child_prints_do_not_break_the_protocol(pool):
    assert pool.run("builtins:print", "noise on stdout") is None
    assert pool.run("math:sqrt", 25.0) == 5.0


def test_run_job_in_process():
    assert run_job("math:sqrt", 4.0) == 2.0


def test_invalid_pool_size():
    with pytest.raises(ValueError):
        WorkerPool(processes=0)
