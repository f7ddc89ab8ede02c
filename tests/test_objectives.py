import pytest

from archgym.objectives import OBJECTIVES, make_objective
from archgym.simulator import Metric

METRICS = (Metric("latency", "ns", "minimize"), Metric("power", "mW", "minimize"), Metric("bw", "GB/s", "maximize"))


def test_target_distance_is_archgym_product_form():
    objective = make_objective("target_distance", METRICS, {"latency": 10.0, "power": 100.0})
    # 10/|12-10| * 100/|50-100| = 5 * 2
    assert objective({"latency": 12.0, "power": 50.0, "bw": 1.0}) == pytest.approx(10.0)
    # hitting a target exactly is capped by the tolerance, not infinite
    assert objective({"latency": 10.0, "power": 50.0}) == pytest.approx(1000.0 * 2)


def test_normalized_excess_zero_when_targets_met_and_respects_goal():
    objective = make_objective("normalized_excess", METRICS, {"latency": 10.0, "bw": 4.0})
    assert objective({"latency": 9.0, "bw": 5.0}) == 0.0
    # latency 20% over, bandwidth 50% short
    assert objective({"latency": 12.0, "bw": 2.0}) == pytest.approx(-(0.2 + 0.5))


def test_weighted_sum_signs_and_weights():
    objective = make_objective("weighted_sum", METRICS, {"latency": 10.0, "bw": 2.0}, weights={"latency": 2.0})
    assert objective({"latency": 5.0, "bw": 4.0}) == pytest.approx(-2.0 * 0.5 + 1.0 * 2.0)


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_unknown_metric_and_bad_targets_are_rejected(name):
    with pytest.raises(ValueError, match="unknown metric 'latncy'"):
        make_objective(name, METRICS, {"latncy": 1.0})
    with pytest.raises(ValueError, match="positive"):
        make_objective(name, METRICS, {"latency": 0.0})
    with pytest.raises(ValueError, match="positive"):
        make_objective(name, METRICS, {"latency": -3.0})
    with pytest.raises(ValueError, match="at least one target"):
        make_objective(name, METRICS, {})


def test_unknown_reward_name_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown reward 'best'.*target_distance"):
        make_objective("best", METRICS, {"latency": 1.0})


def test_failure_rewards_are_below_any_real_reward():
    td = make_objective("target_distance", METRICS, {"latency": 10.0})
    ne = make_objective("normalized_excess", METRICS, {"latency": 10.0})
    assert td.failure_reward <= td({"latency": 1e9})
    assert ne.failure_reward < ne({"latency": 1e3})
    assert make_objective("normalized_excess", METRICS, {"latency": 10.0}, failure_reward=-5).failure_reward == -5


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_reward_batch_matches_reward_elementwise(name):
    """The vectorised form (used by composite-objective BO) gives the scalar form's values,
    including on and around the targets and for non-positive values."""
    import numpy as np

    metrics = {"latency": Metric("latency", "ns"), "accuracy": Metric("accuracy", "%", "maximize")}
    objective = make_objective(name, metrics, {"latency": 50.0, "accuracy": 80.0}, {"latency": 2.0})
    rng = np.random.default_rng(0)
    latency = np.concatenate([[50.0, 50.01, 0.0, -3.0], rng.uniform(1, 200, 40)]).reshape(4, 11)
    accuracy = np.concatenate([[80.0, 79.9, 0.0, 100.0], rng.uniform(1, 100, 40)]).reshape(4, 11)
    batch = objective.reward_batch({"latency": latency, "accuracy": accuracy})
    assert batch.shape == (4, 11)
    expected = [objective({"latency": a, "accuracy": b}) for a, b in zip(latency.ravel(), accuracy.ravel())]
    np.testing.assert_allclose(batch.ravel(), expected, rtol=1e-6, atol=1e-7)  # log_ratio: float32 vector
