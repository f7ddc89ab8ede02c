"""archgym.pareto on fronts small enough to work out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from archgym.pareto import (
    attainment_surfaces,
    baseline_reference,
    dominates,
    hypervolume,
    hypervolume_curve,
    nondominated,
    normalise_to_baseline,
    pareto_front,
    pareto_ranks,
)

MIN2 = ("minimize", "minimize")


def test_dominance_and_front_with_mixed_senses():
    # latency (min), accuracy (max)
    senses = ("minimize", "maximize")
    points = [[1.0, 0.5], [2.0, 0.9], [2.0, 0.8], [3.0, 0.9], [0.5, 0.1]]
    assert dominates(points[1], points[2], senses)
    assert dominates(points[1], points[3], senses)
    assert not dominates(points[0], points[1], senses) and not dominates(points[1], points[0], senses)
    assert pareto_front(points, senses).tolist() == [0, 1, 4]
    assert nondominated(points, senses).tolist() == [True, True, False, False, True]


def test_nondominated_sorting_ranks():
    points = [[1, 3], [2, 2], [3, 1], [2, 3], [1, 4], [3, 3], [4, 4]]
    # front 0: (1,3) (2,2) (3,1); front 1: (2,3) [by (1,3),(2,2)], (1,4) [by (1,3)]; front 2: (3,3); 3: (4,4)
    assert pareto_ranks(points, MIN2).tolist() == [0, 0, 0, 1, 1, 2, 3]


def test_hypervolume_exact_2d_staircase():
    # boxes to (4,4): (1,3) -> 3x1, (2,2) adds 2x1... union area = 3 + 2 + 1 = 6
    assert hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4], MIN2) == pytest.approx(6.0)
    # a dominated point changes nothing
    assert hypervolume([[1, 3], [2, 2], [3, 1], [3, 3]], [4, 4], MIN2) == pytest.approx(6.0)


def test_hypervolume_maximised_objective_and_3d():
    senses = ("minimize", "maximize")
    # latency 1 -> 3 wide, accuracy 0.8 -> 0.3 above ref 0.5: 3*0.3 = 0.9; (2, 0.9): extra 2*0.1
    assert hypervolume([[1.0, 0.8], [2.0, 0.9]], [4.0, 0.5], senses) == pytest.approx(0.9 + 0.2)
    # 3-D: two unit-offset boxes to (2,2,2): each volume 1 (from (1,1,1)) ... union of [0,2]x[1,2]x[1,2] and
    # [1,2]x[0,2]x[1,2]: 2 + 2 - 1 = 3
    assert hypervolume([[0, 1, 1], [1, 0, 1]], [2, 2, 2], ("minimize",) * 3) == pytest.approx(3.0)


def test_reference_that_does_not_bound_the_front_is_an_error():
    with pytest.raises(ValueError, match=r"does not bound the front: front point 1 \[5.0, 1.0\].*objective\(s\) \[0\]"):
        hypervolume([[1, 3], [5, 1]], [4, 4], MIN2)
    # equal to the reference in one objective is not strictly better either
    with pytest.raises(ValueError, match="does not bound"):
        hypervolume([[4, 1]], [4, 4], MIN2)
    # ignoring: only (1,3) counts: 3 x 1
    assert hypervolume([[1, 3], [5, 1]], [4, 4], MIN2, outside="ignore") == pytest.approx(3.0)
    assert hypervolume([[5, 5]], [4, 4], MIN2, outside="ignore") == 0.0


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown objective sense 'smaller'"):
        hypervolume([[1, 2]], [3, 3], ("minimize", "smaller"))
    with pytest.raises(ValueError, match="1 sense"):
        pareto_front([[1, 2]], ("minimize",))
    with pytest.raises(ValueError, match="non-finite"):
        pareto_front([[1, np.nan]], MIN2)
    with pytest.raises(ValueError, match="reference point has 3"):
        hypervolume([[1, 2]], [3, 3, 3], MIN2)


def test_normalised_baseline_reference():
    baseline = {"latency": 100.0, "power": 50.0, "acc": 0.8}
    ref = baseline_reference(baseline, ["latency", "acc"])
    assert ref.tolist() == [100.0, 0.8]
    with pytest.raises(KeyError, match="energy"):
        baseline_reference(baseline, ["energy"])
    senses = ("minimize", "maximize")
    # 50 ns (ratio 0.5) at acc 1.0 (ratio 0.8): box 0.5 x 0.2
    q = normalise_to_baseline([[50.0, 1.0], [100.0, 0.8]], ref, senses)
    assert q.tolist() == [[0.5, pytest.approx(0.8)], [1.0, 1.0]]
    assert hypervolume(q, [1.0, 1.0], MIN2, outside="ignore") == pytest.approx(0.5 * 0.2)
    with pytest.raises(ValueError, match="must be positive"):
        normalise_to_baseline([[1.0, 1.0]], [0.0, 1.0], senses)


def test_hypervolume_curve_is_the_running_hypervolume():
    points = np.array([[5, 5], [3, 3], [3.5, 3.5], [1, 3.5], [3, 1]], dtype=float)
    curve = hypervolume_curve(points, [4, 4], MIN2)
    expected = [hypervolume(points[: k + 1], [4, 4], MIN2, outside="ignore") for k in range(len(points))]
    assert curve.tolist() == pytest.approx(expected)
    # by hand: nothing; 1x1; same; (1,3.5) adds 2x0.5; (3,1) adds 1x2
    assert curve.tolist() == pytest.approx([0.0, 1.0, 1.0, 2.0, 4.0])


def test_attainment_surfaces_best_median_worst():
    runs = [
        np.array([[1.0, 3.0], [3.0, 1.0]]),
        np.array([[2.0, 2.0]]),
        np.array([[3.0, 3.0]]),
    ]
    surfaces = attainment_surfaces(runs, MIN2, percentiles=(0, 50, 100))
    # best case: reached by at least one run
    assert surfaces[0].tolist() == [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]
    # attained by 2 of 3 runs (the smallest level >= 50 %): (2,3) and (3,2)
    assert surfaces[50].tolist() == [[2.0, 3.0], [3.0, 2.0]]
    # every run
    assert surfaces[100].tolist() == [[3.0, 3.0]]


def test_attainment_respects_maximised_objectives():
    runs = [np.array([[1.0, 0.9]]), np.array([[2.0, 0.5]])]
    surfaces = attainment_surfaces(runs, ("minimize", "maximize"), percentiles=(100,))
    assert surfaces[100].tolist() == [[2.0, 0.5]]
