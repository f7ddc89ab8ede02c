"""ChildWorker: requests answered in a child process, deadlines, crashes, start-up failures, shutdown.

The handlers are test doubles written to a module on ``sys.path`` (children, spawned or fresh
interpreters, import them by name as they would a simulator's module).
"""

import os
import pickle
import textwrap
import time

import pytest

from archgym.child import (ChildDied, ChildRaised, ChildStartupError, ChildTimeout, ChildWorker, close_all,
                           describe_exit, imap)

HANDLERS = textwrap.dedent(
    """
    import os, time

    def tools(offset=0):
        '''Test double: answers ("op", arg) requests.'''
        def handle(request):
            op, arg = request
            if op == "add":
                return arg + offset
            if op == "sleep":
                time.sleep(arg)
                return arg
            if op == "exit":
                os._exit(arg)
            if op == "raise":
                raise KeyError(arg)
            if op == "pid":
                return os.getpid()
            if op == "cwd":
                return os.getcwd()
            if op == "print":
                print(arg, flush=True)
                return "printed"
            if op == "unpicklable":
                return lambda: None
        return handle

    def broken():
        raise ImportError("no module named 'a_missing_backend'")
    """
)


@pytest.fixture
def handlers(module_on_path):
    return module_on_path("archgym_child_handlers", HANDLERS)


@pytest.fixture(params=["spawn", "interpreter"])
def worker(handlers, request):
    with ChildWorker(handlers.tools, 10, start_method=request.param) as w:
        yield w


def test_requests_are_answered_in_the_child_in_order(worker):
    assert [worker.call(("add", i)) for i in range(5)] == [10, 11, 12, 13, 14]
    assert worker.call(("pid", None)) != os.getpid()


def test_a_timeout_kills_the_child_and_the_next_request_gets_a_fresh_one(worker):
    first = worker.call(("pid", None))
    start = time.monotonic()
    with pytest.raises(ChildTimeout, match="longer than 0.5 s"):
        worker.call(("sleep", 60), timeout_s=0.5)
    assert time.monotonic() - start < 10 and not worker.started
    assert worker.call(("add", 1), timeout_s=30) == 11
    assert worker.call(("pid", None)) != first


def test_a_crash_is_a_clear_error_and_the_worker_recovers(worker):
    with pytest.raises(ChildDied, match="exited with status 3") as died:
        worker.call(("exit", 3))
    assert died.value.exitcode == 3
    assert worker.call(("add", 2)) == 12


def test_an_exception_in_the_handler_is_raised_in_the_parent_and_the_child_serves_on(worker):
    pid = worker.call(("pid", None))
    with pytest.raises(ChildRaised, match="KeyError: 'bad key'") as raised:
        worker.call(("raise", "bad key"))
    error = raised.value
    assert error.type_name == "KeyError" and error.raised_a(LookupError) and not error.raised_a(ValueError)
    assert "archgym_child_handlers.py" in error.location and "raise KeyError" in error.traceback
    with pytest.raises(ChildRaised, match="pickle|Can't get local"):  # a reply that cannot be sent back
        worker.call(("unpicklable", None))
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):  # nor can such a request be sent
        worker.call(("add", lambda: None))
    assert worker.call(("pid", None)) == pid


@pytest.mark.parametrize("start_method", ["spawn", "interpreter"])
def test_a_failing_set_up_is_a_startup_error(handlers, start_method):
    with ChildWorker(handlers.broken, start_method=start_method) as bad:
        with pytest.raises(ChildStartupError, match="ImportError: no module named 'a_missing_backend'"):
            bad.call(("add", 1))
        assert not bad.started


def test_close_is_idempotent_and_a_closed_worker_starts_again(worker):
    assert worker.call(("add", 0)) == 10
    worker.close()
    worker.close()
    assert not worker.started
    assert worker.call(("add", 5)) == 15
    close_all([worker, worker])
    assert not worker.started


def test_interpreter_children_work_quietly_in_their_own_directory(handlers, capfd):
    before = os.getcwd()
    with ChildWorker(handlers.tools, start_method="interpreter", workdir_prefix="archgym-childtest-", quiet=True) as w:
        workdir = w.call(("cwd", None))
        assert os.path.basename(workdir).startswith("archgym-childtest-") and os.getcwd() == before
        assert w.call(("print", "noise")) == "printed"
    assert not os.path.exists(workdir)  # removed with the child
    assert "noise" not in capfd.readouterr().out


@pytest.mark.slow
def test_imap_runs_requests_on_several_workers_with_deadlines_and_checks(handlers):
    workers = [ChildWorker(handlers.tools, 100), ChildWorker(handlers.tools, 100, start_method="interpreter")]
    requests = [("sleep", 60), ("add", 1), ("raise", "k"), ("sleep", 0.3), ("exit", 4), ("add", 2)]
    try:
        start = time.monotonic()
        outcomes = {request: (reply, error) for request, reply, error in imap(workers, requests, timeout_s=2.0)}
        assert time.monotonic() - start < 20
        assert set(outcomes) == set(requests)
        assert isinstance(outcomes[("sleep", 60)][1], ChildTimeout) and outcomes[("sleep", 60)][1].timeout_s == 2.0
        assert isinstance(outcomes[("raise", "k")][1], ChildRaised)
        assert isinstance(outcomes[("exit", 4)][1], ChildDied) and outcomes[("exit", 4)][1].exitcode == 4
        assert [outcomes[r][0] for r in [("add", 1), ("sleep", 0.3), ("add", 2)]] == [101, 0.3, 102]

        def too_slow(worker):  # an outside check ending a request early (the study's per-evaluation limit)
            return "stopped by the check" if worker.request == ("sleep", 30) else None

        (request, reply, error), = imap(workers[:1], [("sleep", 30)], overdue=too_slow)
        assert isinstance(error, ChildTimeout) and str(error) == "stopped by the check" and error.timeout_s is None
        with pytest.raises(RuntimeError, match="not ready"):
            ChildWorker(handlers.tools).submit(("add", 1))
    finally:
        close_all(workers)


def test_describe_exit():
    assert describe_exit(-11) == "killed by signal SIGSEGV"
    assert describe_exit(3) == "exited with status 3" and describe_exit(None) == "still running"
