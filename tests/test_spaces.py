import math

import numpy as np
import pytest

from archgym.spaces import Categorical, DesignSpace, Integer, PowerOfTwo, Real, Values


def mixed_space() -> DesignSpace:
    return DesignSpace(
        [
            Categorical("policy", ("Open", "Closed")),
            PowerOfTwo("buffer", 1, 128),
            Integer("depth", 1, 10, log=True),
            Real("clock", 0.5, 2.0),
        ]
    )


def test_encode_decode_round_trip_discrete(space):
    rng = np.random.default_rng(0)
    for _ in range(50):
        design = space.sample(rng)
        vector = space.encode(design)
        assert vector.dtype == np.int64
        assert space.decode(vector) == design


def test_round_trip_mixed_and_box_space():
    space = mixed_space()
    rng = np.random.default_rng(1)
    gym_space = space.gym_space()
    for _ in range(20):
        design = space.sample(rng)
        assert space.decode(space.encode(design)) == design
        assert gym_space.contains(space.encode(design))


def test_gym_space_is_multidiscrete_with_cardinalities(space):
    gym_space = space.gym_space()
    assert list(gym_space.nvec) == [3, 20, 7]
    assert space.size == 3 * 20 * 7
    sample = gym_space.sample()
    assert space.validate(space.decode(sample))


def test_validate_rejects_unknown_missing_and_out_of_range(space):
    with pytest.raises(ValueError, match="unknown parameter.*'colour'"):
        space.validate({"mode": "fast", "size": 3, "buffer": 4, "colour": 1})
    with pytest.raises(ValueError, match="missing parameter.*buffer"):
        space.validate({"mode": "fast", "size": 3})
    with pytest.raises(ValueError, match=r"invalid value 21 for parameter 'size'.*\[1, 20\]"):
        space.validate({"mode": "fast", "size": 21, "buffer": 4})
    with pytest.raises(ValueError, match="invalid value 3 for parameter 'buffer'"):
        space.validate({"mode": "fast", "size": 2, "buffer": 3})


def test_validate_accepts_string_forms_from_the_command_line(space):
    assert space.validate({"mode": "fast", "size": "3", "buffer": "8"}) == {"mode": "fast", "size": 3, "buffer": 8}


def test_decode_rejects_bad_vectors(space):
    with pytest.raises(ValueError, match="shape"):
        space.decode([0, 1])
    with pytest.raises(ValueError, match="parameter 'mode'"):
        space.decode([3, 0, 0])
    with pytest.raises(ValueError, match="parameter 'size'"):
        space.decode([0, 0.5, 0])


def test_sampling_is_seeded_and_covers_choices(space):
    a = [space.sample(np.random.default_rng(7)) for _ in range(1)]
    b = [space.sample(np.random.default_rng(7)) for _ in range(1)]
    assert a == b
    rng = np.random.default_rng(0)
    seen = {space.sample(rng)["buffer"] for _ in range(300)}
    assert seen == {1, 2, 4, 8, 16, 32, 64}


def test_log_integer_sampling_stays_in_range_and_favours_small_values():
    space = DesignSpace([Integer("n", 1, 1000, log=True)])
    rng = np.random.default_rng(0)
    draws = np.array([space.sample(rng)["n"] for _ in range(2000)])
    assert draws.min() >= 1 and draws.max() <= 1000
    assert np.median(draws) < 100  # log-uniform median is ~sqrt(1000) ≈ 32


def test_neighbours_move_one_parameter_one_step(space):
    design = {"mode": "fast", "size": 1, "buffer": 64}
    neighbours = space.neighbours(design)
    assert {"mode": "slow", "size": 1, "buffer": 64} in neighbours
    assert {"mode": "fast", "size": 2, "buffer": 64} in neighbours
    assert {"mode": "fast", "size": 1, "buffer": 32} in neighbours
    assert len(neighbours) == 2 + 1 + 1  # two other modes, size up only, buffer down only
    for n in neighbours:
        assert sum(n[k] != design[k] for k in design) == 1


def test_real_parameter_size_is_infinite_and_skopt_dimensions():
    space = mixed_space()
    assert math.isinf(space.size)
    dims = space.to_skopt()
    assert [d.name for d in dims] == ["policy", "buffer", "depth", "clock"]


def test_invalid_parameter_declarations():
    with pytest.raises(ValueError, match="duplicate parameter"):
        DesignSpace([Integer("a", 0, 1), Integer("a", 0, 2)])
    with pytest.raises(ValueError, match="powers of two"):
        PowerOfTwo("b", 3, 8)
    with pytest.raises(ValueError, match="increasing"):
        Values("v", (4, 2))
    with pytest.raises(ValueError, match="low < high"):
        Real("r", 1.0, 1.0)


def test_default_design_uses_declared_defaults():
    space = DesignSpace([Categorical("p", ("a", "b"), default="b"), Integer("n", 1, 5)])
    assert space.default() == {"p": "b", "n": 1}


def _slow_validate(space: DesignSpace, design):
    """validate() without its lookup fast path (the per-parameter loop alone)."""
    canonical = space._canonical
    object.__setattr__(space, "_canonical", None)
    try:
        return space.validate(design)
    finally:
        object.__setattr__(space, "_canonical", canonical)


def test_validate_fast_path_equals_the_per_parameter_loop():
    """The lookup of plain str/int/float choices gives the loop's canonical values (4.0 -> 4),
    and every other form (numpy scalars, bools, strings of numbers, non-choices, extra or missing
    names) reaches the loop: same values or the same error."""
    space = DesignSpace([Categorical("policy", ("Open", "Closed")), PowerOfTwo("buffer", 1, 8),
                         Values("clock", (0.5, 1.0, 2.0)), Categorical("ids", (1, 2, 3))])
    assert space._canonical is not None
    good = {"policy": "Closed", "buffer": 4, "clock": 1.0, "ids": 2}
    variants = [good, {**good, "buffer": 4.0}, {**good, "clock": 1}, {**good, "buffer": np.int64(4)},
                {**good, "buffer": "4"}, {**good, "ids": "2"}, {**good, "ids": 2.0}, {**good, "clock": np.float32(0.5)}]
    for design in variants:
        fast = space.validate(design)
        assert fast == _slow_validate(space, design) and list(fast) == list(space.names)
        assert [type(v) for v in fast.values()] == [type(v) for v in _slow_validate(space, design).values()]
    assert type(space.validate({**good, "buffer": 4.0})["buffer"]) is int
    for bad in ({**good, "buffer": 3}, {**good, "policy": "open"}, {**good, "extra": 1},
                {k: v for k, v in good.items() if k != "clock"}, {**good, "ids": True}, {**good, "clock": math.nan}):
        with pytest.raises(ValueError) as fast_error:
            space.validate(bad)
        with pytest.raises(ValueError) as slow_error:
            _slow_validate(space, bad)
        assert str(fast_error.value) == str(slow_error.value)


def test_validate_fast_path_only_for_choices_that_hash_apart():
    assert DesignSpace([Categorical("x", (1, 1.0 + 1e-9))])._canonical is not None
    assert DesignSpace([Categorical("x", (True, 2))])._canonical is None  # bool choice: not a plain type
    assert DesignSpace([Integer("n", 1, 4)])._canonical is None
    assert DesignSpace([Real("r", 0.0, 1.0)])._canonical is None
