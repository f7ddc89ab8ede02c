"""Design encoding, dataset row selection and the by-design split."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from archgym.proxy import FeatureEncoder, select_rows, split_by_design
from archgym.proxy.features import design_groups
from archgym.spaces import Categorical, DesignSpace, Integer, Real, Values


def test_encoding_one_hot_categorical_log2_powers_of_two_and_values(space):
    encoder = FeatureEncoder(space)
    assert encoder.feature_names == ("mode=slow", "mode=fast", "mode=eco", "buffer", "size", "clock")
    x = encoder.transform([{"mode": "eco", "buffer": 64, "size": 7, "clock": 1.5}])
    np.testing.assert_array_equal(x, [[0, 0, 1, 6, 7, 1.5]])


def test_ordered_values_that_are_not_powers_of_two_stay_raw_and_log_scaled_ranges_use_log2():
    space = DesignSpace([Values("clock", (200, 400, 600)), Integer("n", 1, 64, log=True), Real("r", 1.0, 8.0, log=True),
                         Categorical("flag", (True, False))])
    x = FeatureEncoder(space).transform([{"clock": 600, "n": 16, "r": 4.0, "flag": False}])
    np.testing.assert_array_equal(x, [[600, 4, 2, 0, 1]])


def test_transform_rejects_designs_outside_the_space(space):
    with pytest.raises(ValueError, match="buffer"):
        FeatureEncoder(space).transform([{"mode": "fast", "buffer": 3, "size": 1, "clock": 1.0}])


def test_transform_frame_names_missing_design_columns(space, known_frame):
    with pytest.raises(ValueError, match="design.size"):
        FeatureEncoder(space).transform_frame(known_frame.drop(columns=["design.size"]))


def test_select_rows_keeps_one_source_and_refuses_a_mix_listing_what_it_found(space, known_frame, make_rows, truth, source):
    other = make_rows([space.default()] * 3, truth, workload="other")
    frame = pd.concat([known_frame, other], ignore_index=True)
    with pytest.raises(ValueError, match="mix 2 sources") as error:
        select_rows(frame)
    assert "workload 'w' / known-function@1: 400 rows" in str(error.value)
    assert "workload 'other' / known-function@1: 3 rows" in str(error.value)
    rows, chosen = select_rows(frame, workload="other")
    assert len(rows) == 3 and chosen.workload == "other" and chosen.env_id == source["env_id"]
    with pytest.raises(ValueError, match="no dataset rows match workload='nope'"):
        select_rows(frame, workload="nope")


def test_split_by_design_never_puts_one_design_on_both_sides(space, known_frame):
    x = FeatureEncoder(space).transform_frame(known_frame)
    groups = design_groups(x)
    assert len(np.unique(groups)) == 360  # the 40 repeats share their design's group
    train, test = split_by_design(x, 0.25, seed=3)
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(x)
    assert not set(groups[train]) & set(groups[test])
    assert abs(len(set(groups[test])) - 90) <= 1
    again = split_by_design(x, 0.25, seed=3)
    np.testing.assert_array_equal(test, again[1])
    assert not np.array_equal(test, split_by_design(x, 0.25, seed=4)[1])


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_split_rejects_bad_fractions(space, known_frame, fraction):
    x = FeatureEncoder(space).transform_frame(known_frame)
    with pytest.raises(ValueError, match="test_fraction"):
        split_by_design(x, fraction)


def test_a_one_parameter_space_numbers_its_designs_and_pickles():
    encoder = pickle.loads(pickle.dumps(FeatureEncoder(DesignSpace([Values("a", (1, 2, 4))]))))
    assert [encoder.choice_number_one({"a": v}) for v in (1, 2, 4)] == [0, 1, 2]
    assert encoder.choice_index_one({"a": 2}) == (1,)
    for other in ({"b": 4}, {"a": True}, {"a": 3}, {"a": 1, "b": 1}):
        assert encoder.choice_number_one(other) is None
