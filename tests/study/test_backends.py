"""Backends give the same dataset as running serially: the local process pool and a local Ray instance."""

import pytest

from archgym.dataset import load
from archgym.study import Study, make_backend, run_study
from archgym.study.backends import RayBackend

STUDY = Study("archgym/Synthetic-v0", ["ga", "evolution"], budget=20, draws=2, seeds=2)


def _rows(folder):
    return load(folder).sort_values(["run", "step"], ignore_index=True)[["run", "step", "agent", "seed", "reward"]]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serial")
    run_study(STUDY, folder, backend="serial")
    return _rows(folder)


@pytest.mark.parametrize(
    "args, message",
    [(("threads", 1, None), "unknown backend 'threads'"), (("process", 0, None), "workers must be"),
     (("process", 2, "auto"), "only applies to the 'ray' backend")],
)
def test_bad_backend_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        make_backend(*args)


@pytest.mark.slow
def test_process_pool_matches_serial(tmp_path, reference):
    result = run_study(STUDY, tmp_path, backend="process", workers=2)
    assert result.executed == len(reference["run"].unique()) and not result.failed
    assert _rows(tmp_path).equals(reference)


@pytest.mark.slow
def test_ray_local_instance_matches_serial(tmp_path, reference):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # a local instance, as a cluster would be
    try:
        result = run_study(STUDY, tmp_path, backend="ray", workers=2)
        assert ray.is_initialized()  # a session the caller started is left running
    finally:
        ray.shutdown()
    assert result.executed == len(reference["run"].unique()) and not result.failed
    assert _rows(tmp_path).equals(reference)


def test_ray_missing_is_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # test double: an environment without Ray
    with pytest.raises(ImportError, match=r"pip install 'archgym\[ray\]'"):
        RayBackend(1)
