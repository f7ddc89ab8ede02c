"""ProxySimulator: the Simulator contract, identity, and safe save/load."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from archgym.proxy import ProxySchemaError, ProxySimulator, fit_proxy
from archgym.spaces import Categorical, DesignSpace, Integer, PowerOfTwo, Real


@pytest.fixture
def designs(space):
    rng = np.random.default_rng(7)
    return [space.sample(rng) for _ in range(50)]


@pytest.fixture(params=["rf", "gbt", "mlp"])
def proxy(request, known_frame, space, known_metrics) -> ProxySimulator:
    small = {"rf": {"n_estimators": 20}, "gbt": {"max_iter": 50}, "mlp": {"max_iter": 300}}[request.param]
    return fit_proxy(known_frame, space, known_metrics, kind=request.param, seed=0, model_params=small)


def test_identity_differs_from_the_real_simulator(proxy, source):
    assert proxy.name == f"proxy-{proxy.kind}:{source['simulator']}"
    assert proxy.version.startswith(source["simulator_version"] + "+")
    assert proxy.fingerprint() != f"{source['simulator']}@{source['simulator_version']}"
    assert proxy.metric_names == ("latency", "power")


def test_evaluate_matches_evaluate_batch_and_rejects_foreign_designs_and_workloads(proxy, designs):
    batch = proxy.evaluate_batch(designs, "w")
    for design, expected in zip(designs[:5], batch):  # BLAS may round a batch differently in the last bit
        assert proxy.evaluate(design, "w") == pytest.approx(expected, rel=1e-12)
    assert all(v["latency"] > 0 for v in batch)
    with pytest.raises(ValueError, match="unknown parameter"):
        proxy.evaluate({**designs[0], "extra": 1}, "w")
    with pytest.raises(ProxySchemaError, match="trained on workload 'w'"):
        proxy.evaluate(designs[0], "other")


def test_save_load_round_trip_gives_identical_predictions(proxy, designs, tmp_path, space, source):
    path = proxy.save(tmp_path / "model.proxy")
    loaded = ProxySimulator.load(path, design_space=space)
    assert loaded.evaluate_batch(designs, "w") == proxy.evaluate_batch(designs, "w")
    assert (loaded.name, loaded.version, loaded.source) == (proxy.name, proxy.version, proxy.source)
    assert loaded.metrics == proxy.metrics and loaded.training["test"] == proxy.training["test"]
    meta = json.loads(zipfile.ZipFile(path).read("proxy.json"))
    assert meta["source"]["env_id"] == source["env_id"] and meta["model"]["kind"] == proxy.kind
    assert [m["name"] for m in meta["metrics"]] == ["latency", "power"]
    assert meta["features"][0] == "mode=slow"


@pytest.fixture
def saved(known_frame, tmp_path, space, known_metrics):
    proxy = fit_proxy(known_frame, space, known_metrics, kind="rf", seed=0, model_params={"n_estimators": 5})
    return proxy.save(tmp_path / "model.proxy")


def test_loading_against_another_design_space_is_a_clear_error(saved):
    narrower = DesignSpace([Categorical("mode", ("slow", "fast", "eco")), PowerOfTwo("buffer", 1, 128),
                            Integer("size", 1, 20), Real("clock", 0.5, 2.0)])
    with pytest.raises(ProxySchemaError, match="buffer: one of 1, 2, .*256 vs expected one of 1, 2, .*128"):
        ProxySimulator.load(saved, design_space=narrower)
    renamed = DesignSpace([Categorical("mode", ("slow", "fast", "eco")), Integer("size", 1, 20)])
    with pytest.raises(ProxySchemaError, match="parameters"):
        ProxySimulator.load(saved, design_space=renamed)


def test_keep_estimators_gives_scikit_learns_models_with_equal_predictions(known_frame, space, known_metrics, designs):
    proxy = fit_proxy(known_frame, space, known_metrics, kind="gbt", seed=0, model_params={"max_iter": 20},
                      keep_estimators=True)
    features = proxy.encoder.transform(designs)
    predicted = proxy.predict_array(features)
    for j, target in enumerate(proxy.targets):
        raw = proxy.estimators[target.metric.name].predict(features)
        expected = np.exp(raw) if target.log_target else raw
        if target.lower is not None:
            expected = np.maximum(expected, target.lower)
        np.testing.assert_allclose(predicted[:, j], expected, rtol=1e-15)
    saved_metadata = proxy.metadata()
    assert "estimators" not in json.dumps(saved_metadata)
