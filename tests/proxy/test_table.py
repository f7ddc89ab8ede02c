"""Prediction tables: a proxy's whole finite design space predicted once (archgym.proxy.table)."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest

from archgym.proxy import ProxyError, fit_proxy
from archgym.proxy.features import FeatureEncoder
from archgym.proxy.table import AUTO_TABLE_BYTES, TablePolicy, build_table

SMALL = {"gbt": {"max_iter": 30}, "rf": {"n_estimators": 8, "max_leaf_nodes": 40}, "mlp": {"max_iter": 80}}


def every_design(space):
    """Every design of a finite space, in design-number order (the last parameter fastest)."""
    return [dict(zip(space.names, values)) for values in itertools.product(*(p.choices for p in space))]


def test_design_numbers_encode_like_the_designs_they_number(discrete):
    space, _ = discrete
    encoder = FeatureEncoder(space)
    designs = every_design(space)
    assert encoder.n_designs == len(designs) == 2160
    assert [encoder.choice_number_one(d) for d in designs[:50]] == list(range(50))
    np.testing.assert_array_equal(encoder.number_features(np.arange(len(designs))), encoder.transform(designs))
    with pytest.raises(ValueError, match="design numbers must lie in 0..2159"):
        encoder.number_features(np.array([2160]))


def test_a_space_with_a_real_parameter_has_no_numbers(space):
    encoder = FeatureEncoder(space)
    assert encoder.n_designs is None
    with pytest.raises(ValueError, match="no design numbers"):
        encoder.number_features(np.array([0]))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", ["gbt", "rf", "mlp"])
def test_a_tabulated_proxy_answers_as_before(kind, discrete, known_metrics):
    """Every row of the table is the proxy's untabulated prediction of that design (bit for bit
    for trees, whose table comes from the same compiled kernel; an MLP's batched matrix products
    may round in another order), one design at a time and in batches."""
    space, frame = discrete
    proxy = fit_proxy(frame, space, known_metrics, kind=kind, seed=0, model_params=SMALL[kind])
    designs = every_design(space)
    before = np.array([list(proxy.evaluate(d, "w").values()) for d in designs])
    table = proxy.tabulate(threads=2)
    assert table is proxy.table and table.shape == (2160, 2)
    if kind == "mlp":
        np.testing.assert_allclose(table, before, rtol=1e-12)
        before = table  # from now on the proxy answers from the table: compare with it exactly
    else:
        np.testing.assert_array_equal(table, before)
    rng = np.random.default_rng(3)
    sample = [designs[i] for i in rng.integers(0, len(designs), 300)]
    expected = [dict(zip(("latency", "power"), before[proxy.encoder.choice_number_one(d)].tolist())) for d in sample]
    assert [proxy.evaluate(d, "w") for d in sample] == expected
    assert proxy.evaluate_batch(sample, "w") == expected
    # other value forms still go through validation (same numbers, or the usual error)
    assert proxy.evaluate({**sample[0], "size": np.int64(sample[0]["size"])}, "w") == expected[0]
    with pytest.raises(ValueError, match="size"):
        proxy.evaluate({**sample[0], "size": 99}, "w")


def test_one_or_two_threads_build_the_same_table(discrete, known_metrics, monkeypatch):
    import archgym.proxy.table as table_module

    monkeypatch.setattr(table_module, "CHUNK_DESIGNS", 500)  # several chunks, shared between threads
    space, frame = discrete
    proxy = fit_proxy(frame, space, known_metrics, kind="gbt", seed=0, model_params=SMALL["gbt"])
    one = proxy.tabulate(threads=1).copy()
    proxy.table = None
    np.testing.assert_array_equal(proxy.tabulate(threads=2), one)
    np.testing.assert_array_equal(one, proxy.predictor._predict_numbers(np.arange(2160)))


def test_a_proxy_tabulates_itself_after_answering_as_many_designs_as_its_space_holds(discrete, known_metrics):
    space, frame = discrete
    proxy = fit_proxy(frame, space, known_metrics, kind="gbt", seed=0, model_params=SMALL["gbt"])
    assert proxy.table_policy.after == 2160
    designs = every_design(space)
    first = proxy.evaluate_batch(designs[:2159], "w")
    assert proxy.table is None and proxy.table_policy.answered == 2159
    last = proxy.evaluate(designs[-1], "w")
    assert proxy.table is not None and proxy.table_policy.after is None
    assert proxy.evaluate_batch(designs, "w") == first + [last]

    never = fit_proxy(frame, space, known_metrics, kind="gbt", seed=0, model_params=SMALL["gbt"])
    never.table_policy.after = None
    never.evaluate_batch(designs * 2, "w")
    assert never.table is None


def test_the_policy_never_builds_a_table_over_its_bound():
    assert TablePolicy.for_space(1000, 5).after == 1000
    assert TablePolicy.for_space(AUTO_TABLE_BYTES // 40, 5).after == AUTO_TABLE_BYTES // 40
    assert TablePolicy.for_space(AUTO_TABLE_BYTES // 40 + 1, 5).after is None
    assert TablePolicy.for_space(None, 5).after is None
    policy = TablePolicy(after=10)
    assert not policy.count(9) and policy.count(1)


def test_tabulating_what_cannot_be_tabulated_says_why(discrete, space, known_frame, known_metrics):
    real_valued = fit_proxy(known_frame, space, known_metrics, kind="gbt", seed=0, model_params={"max_iter": 5})
    assert real_valued.table_policy.after is None
    with pytest.raises(ProxyError, match="no finite table of choices"):
        real_valued.tabulate()
    discrete_space, frame = discrete
    proxy = fit_proxy(frame, discrete_space, known_metrics, kind="gbt", seed=0, model_params={"max_iter": 5})
    with pytest.raises(ProxyError, match=r"2,160 designs x 2 metrics takes 0.0 MiB, over max_bytes=1,000"):
        proxy.tabulate(max_bytes=1000)
    assert proxy.table is None


def test_a_pickled_copy_leaves_the_table_behind(discrete, known_metrics):
    space, frame = discrete
    proxy = fit_proxy(frame, space, known_metrics, kind="gbt", seed=0, model_params=SMALL["gbt"])
    proxy.tabulate()
    proxy.table_policy.answered = 5
    copy = pickle.loads(pickle.dumps(proxy))
    assert proxy.table is not None and copy.table is None
    assert copy.table_policy == TablePolicy(after=2160, answered=0)
    design = every_design(space)[777]
    assert copy.evaluate(design, "w") == proxy.evaluate(design, "w")


def test_build_table_refuses_an_empty_table():
    with pytest.raises(ValueError, match="needs designs and outputs, got 0 x 2"):
        build_table(lambda numbers: np.zeros((len(numbers), 2)), 0, 2)
