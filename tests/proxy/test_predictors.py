"""Portable models: conversion from scikit-learn, equality of predictions, validation of structure."""

from __future__ import annotations

import numpy as np
import pytest

from archgym.proxy import make_regressor
from archgym.proxy.features import FeatureEncoder
from archgym.proxy.predictors import (
    CompiledForest,
    Output,
    Perceptron,
    PredictorError,
    compile_models,
    from_parts,
    from_sklearn,
)

SMALL = {"rf": {"n_estimators": 15}, "gbt": {"max_iter": 30}, "mlp": {"max_iter": 60}}


def _data(seed: int = 0, n: int = 300, nan: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 6)) * [1, 10, 100, 1, 1, 1000]
    y = x @ rng.random(6) + 20 * np.sin(4 * x[:, 0])
    if nan:  # trees learn where missing values go; the walk must follow the same way
        x[::7, 1] = np.nan
    return x, y


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", ["rf", "gbt", "mlp"])
def test_predictions_equal_scikit_learns_on_the_same_model(kind):
    x, y = _data()
    estimator = make_regressor(kind, 0, **SMALL[kind]).fit(x, y)
    model = from_sklearn(estimator)
    fresh, _ = _data(seed=1)
    predictor = compile_models([model], [Output()])
    for rows in (fresh, fresh[:1], x[17:18]):
        expected = estimator.predict(rows)
        got = predictor.predict(rows)[:, 0]
        if kind == "mlp":  # BLAS may sum a batch in another order: float tolerance
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        else:  # trees: same comparisons, same order of sums, so bit-equal
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("kind", ["rf", "gbt"])
def test_missing_values_follow_scikit_learns_learned_direction(kind):
    x, y = _data(nan=True)
    estimator = make_regressor(kind, 0, **SMALL[kind]).fit(x, y)
    fresh, _ = _data(seed=2, nan=True)
    got = compile_models([from_sklearn(estimator)], [Output()]).predict(fresh)[:, 0]
    np.testing.assert_array_equal(got, estimator.predict(fresh))


def test_many_outputs_in_one_call_equal_each_model_alone():
    x, y = _data()
    rf = from_sklearn(make_regressor("rf", 0, n_estimators=7).fit(x, y))
    rf2 = from_sklearn(make_regressor("rf", 1, n_estimators=9).fit(x, y * 2))
    outputs = [Output(), Output(log_target=True, lower=None), Output(lower=50.0)]
    both = CompiledForest([rf, rf2, rf], outputs).predict(x)
    for k, (model, out) in enumerate(zip([rf, rf2, rf], outputs)):
        alone = CompiledForest([model], [Output()]).predict(x)[:, 0]
        expected = np.maximum(np.exp(alone) if out.log_target else alone, out.lower or -np.inf)
        np.testing.assert_allclose(both[:, k], expected, rtol=1e-15)


def test_a_bad_input_shape_is_named():
    x, y = _data()
    predictor = compile_models([from_sklearn(make_regressor("rf", 0, n_estimators=2).fit(x, y))], [Output()])
    with pytest.raises(ValueError, match=r"shape \(n, 6\), got \(3, 5\)"):
        predictor.predict(np.zeros((3, 5)))


def test_parts_round_trip_and_unknown_types_are_refused():
    x, y = _data()
    for kind in ("rf", "gbt"):
        model = from_sklearn(make_regressor(kind, 0, **SMALL[kind]).fit(x, y))
        copy = from_parts(model.params(), model.arrays())
        np.testing.assert_array_equal(compile_models([copy], [Output()]).predict(x),
                                      compile_models([model], [Output()]).predict(x))
    with pytest.raises(PredictorError, match="unknown model type 'pickle'"):
        from_parts({"type": "pickle"}, {})


def test_other_estimators_do_not_convert():
    from sklearn.linear_model import LinearRegression

    x, y = _data()
    with pytest.raises(PredictorError, match="cannot convert a LinearRegression"):
        from_sklearn(LinearRegression().fit(x, y))


def _tree(**changes) -> dict:
    """A valid two-tree ensemble's parts (3 nodes, then 1), with ``changes`` applied to its arrays."""
    arrays = {
        "offsets": np.array([0, 3, 4], dtype="<i8"),
        "left": np.array([1, -1, -1, -1], dtype="<i4"),
        "right": np.array([2, -1, -1, -1], dtype="<i4"),
        "feature": np.array([1, 0, 0, 0], dtype="<i4"),
        "threshold": np.array([0.5, 0, 0, 0], dtype="<f8"),
        "missing_left": np.zeros(4, dtype="|u1"),
        "value": np.array([0, 1.0, 2.0, 10.0], dtype="<f8"),
    }
    for name, edits in changes.items():
        array = arrays[name].copy()
        for index, value in edits.items():
            array[index] = value
        arrays[name] = array
    params = {"type": "trees", "n_features": 2, "combine": "sum", "baseline": 0.5, "link": "identity",
              "float32_input": False}
    return params, arrays


def test_a_hand_built_ensemble_predicts_as_written():
    predictor = compile_models([from_parts(*_tree())], [Output()])
    np.testing.assert_array_equal(predictor.predict(np.array([[0, 0.2], [0, 0.9]]))[:, 0], [11.5, 12.5])


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"left": {0: 7}}, "left child 7 points outside its tree"),
        ({"right": {0: 3}}, "right child 3 points outside its tree"),  # into the next tree
        ({"left": {0: 0}}, "left child 0 points to itself"),
        ({"left": {1: 0}, "right": {1: 2}}, "node 1's left child 0 points back to an earlier node"),
        ({"left": {0: -5}}, "left child -5 points outside its tree"),
        ({"right": {0: 1}}, "node 1 has 2 parent"),  # both children the same node
        ({"left": {1: -1}, "right": {1: 2}}, "node 1 has left child -1 .* but right child 2"),
        ({"feature": {0: 2}}, "splits on feature 2; expected 0..1"),
        ({"feature": {0: -1}}, "splits on feature -1"),
        ({"threshold": {0: np.nan}}, "node 0 has a NaN threshold"),
        ({"value": {2: np.inf}}, "leaf 2 has a non-finite value"),
        ({"offsets": {1: 4}}, "offsets must rise strictly"),
        ({"missing_left": {0: 2}}, "missing_left must be 0 or 1"),
    ],
)
def test_malformed_trees_are_refused_before_any_prediction(changes, message):
    with pytest.raises(PredictorError, match=message):
        from_parts(*_tree(**changes))


def test_malformed_tree_parameters_and_arrays_are_refused():
    params, arrays = _tree()
    with pytest.raises(PredictorError, match="link 'log' is not one of"):
        from_parts({**params, "link": "log"}, arrays)
    with pytest.raises(PredictorError, match="baseline must be a finite number"):
        from_parts({**params, "baseline": float("nan")}, arrays)
    with pytest.raises(PredictorError, match="unexpected \\['code'\\]"):
        from_parts({**params, "code": "print(1)"}, arrays)
    with pytest.raises(PredictorError, match="array 'left' must be 1-D <i4"):
        from_parts(params, {**arrays, "left": arrays["left"].astype("<f8")})
    with pytest.raises(PredictorError, match="node arrays differ in length"):
        from_parts(params, {**arrays, "value": arrays["value"][:2]})


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_malformed_networks_are_refused():
    x, y = _data()
    network = from_sklearn(make_regressor("mlp", 0, hidden_layer_sizes=(8,), max_iter=20).fit(x, y))
    assert isinstance(network, Perceptron)
    params, arrays = network.params(), network.arrays()
    with pytest.raises(PredictorError, match="activation 'eval' is not one of"):
        from_parts({**params, "activation": "eval"}, arrays)
    with pytest.raises(PredictorError, match="layer 1 has weights"):
        from_parts(params, {**arrays, "weight1": np.zeros((3, 1))})
    with pytest.raises(PredictorError, match="'bias0' holds non-finite"):
        from_parts(params, {**arrays, "bias0": np.full(8, np.nan)})
    with pytest.raises(PredictorError, match="missing \\['bias1'\\]"):
        from_parts(params, {k: v for k, v in arrays.items() if k != "bias1"})


def test_one_design_encoding_equals_the_batch_encoding(space):
    encoder = FeatureEncoder(space)
    rng = np.random.default_rng(3)
    designs = [space.sample(rng) for _ in range(40)]
    designs += [{**designs[0], "buffer": 16.0}, {**designs[1], "size": "7"}, {**designs[2], "buffer": np.int64(8)}]
    for design in designs:
        np.testing.assert_array_equal(encoder.encode_one(design), encoder.transform([design]))
    with pytest.raises(ValueError, match="invalid value 3 for parameter 'buffer'"):
        encoder.encode_one({**designs[0], "buffer": 3})
    with pytest.raises(ValueError, match="unknown parameter"):
        encoder.encode_one({**designs[0], "extra": 1})
    with pytest.raises(ValueError, match="missing parameter"):
        encoder.encode_one({k: v for k, v in designs[0].items() if k != "mode"})
    with pytest.raises(ValueError, match="invalid value True for parameter 'mode'"):
        encoder.encode_one({**designs[0], "mode": True})



@pytest.mark.parametrize("kind, params", [("gbt", {"max_iter": 40}), ("rf", {"n_estimators": 10, "max_leaf_nodes": 40})])
def test_choice_masks_give_the_walks_predictions(kind, params, discrete, known_metrics):
    """Designs looked up by their choices (QuickScorer masks) get exactly the walk's numbers."""
    from archgym.proxy import fit_proxy

    space, frame = discrete
    proxy = fit_proxy(frame, space, known_metrics, kind=kind, seed=0, model_params=params)
    assert proxy._by_choices
    rng = np.random.default_rng(4)
    designs = [space.sample(rng) for _ in range(200)]
    walked = proxy.predictor.predict(proxy.encoder.transform(designs))
    index = np.array([proxy.encoder.choice_index_one(d) for d in designs])
    np.testing.assert_array_equal(proxy.predictor.predict_choices(index), walked)
    assert [list(proxy.evaluate(d, "w").values()) for d in designs] == walked.tolist()
    assert [list(m.values()) for m in proxy.evaluate_batch(designs, "w")] == walked.tolist()


def test_without_a_table_or_with_over_64_leaves_a_tree_proxies_walk(discrete, space, known_frame, known_metrics):
    from archgym.proxy import fit_proxy

    discrete_space, frame = discrete
    big_trees = fit_proxy(frame, discrete_space, known_metrics, kind="rf", seed=0, model_params={"n_estimators": 3})
    assert max(t.model.n_nodes / t.model.n_trees for t in big_trees.targets) > 127 and not big_trees._by_choices
    real_valued = fit_proxy(known_frame, space, known_metrics, kind="gbt", seed=0, model_params={"max_iter": 5})
    assert real_valued.encoder.choice_rows() is None and not real_valued._by_choices


def test_choice_lookup_leaves_other_value_forms_to_validation(discrete, known_metrics):
    """Only a dict of exactly the space's names with str/int/float values is looked up directly;
    other forms take the validating path, with the same numbers or the usual error."""
    from archgym.proxy import fit_proxy

    space, frame = discrete
    proxy = fit_proxy(frame, space, known_metrics, kind="gbt", seed=0, model_params={"max_iter": 10})
    design = space.sample(np.random.default_rng(5))
    encoder = proxy.encoder
    assert encoder.choice_index_one(design) is not None
    numpy_int = {**design, "size": np.int64(design["size"])}
    missing = {k: v for k, v in design.items() if k != "size"}
    for other in (numpy_int, {**design, "extra": 1}, missing, {**design, "mode": True}):
        assert encoder.choice_index_one(other) is None
    assert encoder.choice_index_one({**design, "size": 99}) is None  # not a choice: validation names it
    assert proxy.evaluate(numpy_int, "w") == proxy.evaluate(design, "w")
    for bad in ({**design, "extra": 1}, missing, {**design, "size": 99}):
        with pytest.raises(ValueError):
            proxy.evaluate(bad, "w")


@pytest.mark.parametrize("kind", ["gbt", "rf"])
@pytest.mark.parametrize("n_outputs", [3, 11])  # sums in registers (at most 8 outputs) and the wider loop
def test_choice_path_equals_scikit_learn_per_output_with_unequal_tree_counts(kind, n_outputs):
    """Outputs with different tree counts (padded columns in the interleaved layout), one-hot and
    numeric features: the batch and the one-design choice paths give scikit-learn's numbers exactly."""
    from archgym.spaces import Categorical, DesignSpace, PowerOfTwo, Values

    space = DesignSpace([Categorical("mode", ("a", "b", "c")), PowerOfTwo("buffer", 1, 64),
                         Values("level", (1, 2, 3)), Categorical("queue", ("fifo", "lifo"))])
    encoder = FeatureEncoder(space)
    rng = np.random.default_rng(0)
    x = encoder.transform([space.sample(rng) for _ in range(400)])
    estimators = []
    for k in range(n_outputs):
        y = x @ rng.normal(size=x.shape[1]) + np.sin(3 * x[:, 3] + k) + rng.normal(scale=0.1, size=len(x))
        params = {"max_iter": 3 + 2 * k} if kind == "gbt" else {"n_estimators": 2 + k, "max_leaf_nodes": 48}
        estimators.append(make_regressor(kind, k, **params).fit(x, y))
    forest = CompiledForest([from_sklearn(e) for e in estimators], [Output()] * n_outputs)
    assert forest.enable_choices(encoder.choice_rows(), encoder.choice_sizes)
    fresh = [space.sample(rng) for _ in range(300)]
    expected = np.column_stack([e.predict(encoder.transform(fresh)) for e in estimators])
    index = [encoder.choice_index_one(d) for d in fresh]
    np.testing.assert_array_equal(forest.predict_choices(np.array(index)), expected)
    assert [forest.predict_choice_row(i) for i in index] == expected.tolist()
    assert forest.numbered  # and by design number: a tuple of 8 floats (3 outputs) or an array (11)
    assert [forest.predict_choice_number(encoder.choice_number_one(d)) for d in fresh] == expected.tolist()


def test_design_numbers_are_mixed_radix_choice_positions(discrete, known_metrics):
    """choice_number_one: the choices' positions as digits (last parameter fastest), None where
    choice_index_one is None; numbers and choice rows predict the same."""
    from archgym.proxy import fit_proxy

    space, frame = discrete
    encoder = FeatureEncoder(space)
    sizes = encoder.choice_sizes
    assert sizes == tuple(p.n for p in space)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rng = np.random.default_rng(6)
    designs = [space.sample(rng) for _ in range(300)]
    for design in designs:
        digits = np.array(encoder.choice_index_one(design)) - starts
        expected = 0
        for digit, size in zip(digits, sizes):
            expected = expected * size + int(digit)
        assert encoder.choice_number_one(design) == expected
    assert encoder.choice_number_one({**designs[0], "size": np.int64(designs[0]["size"])}) is None
    proxy = fit_proxy(frame, space, known_metrics, kind="gbt", seed=0, model_params={"max_iter": 20})
    assert proxy._by_number
    numbers = np.array([encoder.choice_number_one(d) for d in designs])
    index = np.array([encoder.choice_index_one(d) for d in designs])
    np.testing.assert_array_equal(proxy.predictor._predict_numbers(numbers), proxy.predictor.predict_choices(index))
    assert [proxy.predictor.predict_choice_number(int(n)) for n in numbers] == \
        [proxy.predictor.predict_choice_row(tuple(i)) for i in index.tolist()]


def test_a_space_too_large_to_number_uses_choice_rows():
    """2**64 designs: no design numbers (int64), the choice-row path still gives scikit-learn's numbers."""
    from archgym.spaces import Categorical, DesignSpace

    space = DesignSpace([Categorical(f"bit{i}", ("off", "on")) for i in range(64)])
    encoder = FeatureEncoder(space)
    rng = np.random.default_rng(7)
    x = encoder.transform([space.sample(rng) for _ in range(300)])
    y = x[:, ::2] @ rng.normal(size=64) + x[:, 0] * x[:, 2]
    estimator = make_regressor("gbt", 0, max_iter=15).fit(x, y)
    forest = CompiledForest([from_sklearn(estimator)], [Output()])
    assert forest.enable_choices(encoder.choice_rows(), encoder.choice_sizes) and not forest.numbered
    fresh = [space.sample(rng) for _ in range(200)]
    expected = estimator.predict(encoder.transform(fresh))
    assert [forest.predict_choice_row(encoder.choice_index_one(d))[0] for d in fresh] == expected.tolist()
