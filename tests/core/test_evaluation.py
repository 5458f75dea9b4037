"""The Wilson interval against SciPy's implementation, and its edge cases."""

from __future__ import annotations

import pytest
import scipy.stats

from evosnn.core.evaluation import wilson_interval


@pytest.mark.parametrize(("correct", "total"), [(210, 216), (0, 10), (10, 10), (1, 3), (512, 1000)])
def test_matches_scipy(correct: int, total: int) -> None:
    expected = scipy.stats.binomtest(correct, total).proportion_ci(method="wilson")
    low, high = wilson_interval(correct, total)
    assert low == pytest.approx(expected.low, abs=1e-12)
    assert high == pytest.approx(expected.high, abs=1e-12)
    assert 0.0 <= low <= correct / total <= high <= 1.0


def test_narrows_with_more_images() -> None:
    small = wilson_interval(95, 100)
    large = wilson_interval(950, 1000)
    assert large[1] - large[0] < small[1] - small[0]


def test_no_images_is_the_whole_range() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
