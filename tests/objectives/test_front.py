"""Pareto masks, hypervolume and its curve against brute force."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from evosnn.objectives.front import hypervolume, hypervolume_curve, knee_index, pareto_mask

coarse = st.lists(  # few distinct values: many ties and exact duplicates
    st.tuples(st.sampled_from([0.1, 0.5, 0.9, 1.0]), st.sampled_from([1.0, 2.0, 3.0])),
    max_size=15,
)


def brute_force(points: list[tuple[float, float]]) -> list[bool]:
    return [
        not any(
            a >= acc and e <= energy and (a > acc or e < energy)
            for j, (a, e) in enumerate(points)
            if j != i
        )
        for i, (acc, energy) in enumerate(points)
    ]


@given(coarse)
def test_pareto_mask_matches_brute_force(points: list[tuple[float, float]]) -> None:
    assert pareto_mask(points) == brute_force(points)


@given(coarse)
def test_hypervolume_curve_is_monotonic_and_ends_at_the_hypervolume(
    points: list[tuple[float, float]],
) -> None:
    curve = hypervolume_curve(points, ref_energy=2.5, samples=4)
    assert [n for n, _ in curve] == sorted({n for n, _ in curve})
    values = [hv for _, hv in curve]
    assert values == sorted(values)
    if points:
        assert curve[-1] == (len(points), hypervolume(points, 2.5))


def test_hypervolume_by_hand() -> None:
    # two points, accuracy 0.5 at 1 mJ and 1.0 at 2 mJ, reference energy 3: 0.5*2 + 0.5*1
    assert hypervolume([(0.5, 1.0), (1.0, 2.0), (0.4, 2.5)], 3.0) == 1.5
    assert hypervolume([(0.9, 4.0)], 3.0) == 0.0  # beyond the reference


def test_knee_falls_back_to_the_best_score() -> None:
    assert knee_index([(0.9, 2.0), (0.5, 1.0)], [0.1, 0.7]) == 1
    convex = [(1.0, 10.0), (0.95, 1.0), (0.2, 0.5)]  # the middle point trades little for much
    assert knee_index(convex, [0.0, 0.0, 0.0]) == 1
