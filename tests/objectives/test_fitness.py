from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evosnn.objectives.fitness import f_aeb

energies = st.floats(1e-6, 1e3)


def test_at_target_it_is_the_accuracy() -> None:
    assert f_aeb(0.8, 1.0, 1.0) == 0.8


def test_hard_budget() -> None:
    assert f_aeb(0.9, 0.3, 1.0, alpha=0.0, beta=-1.0) == 0.9
    assert f_aeb(0.9, 2.0, 1.0, alpha=0.0, beta=-1.0) == pytest.approx(0.45)
    assert f_aeb(0.9, 4.0, 1.0, alpha=0.0, beta=-1.0) == pytest.approx(0.225)


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), energies, energies)
def test_monotonic_in_accuracy(a: float, b: float, energy: float, target: float) -> None:
    low, high = sorted((a, b))
    assert f_aeb(low, energy, target) <= f_aeb(high, energy, target)


@given(st.floats(0.01, 1.0), energies, energies, energies)
def test_decreasing_in_energy(acc: float, e1: float, e2: float, target: float) -> None:
    low, high = sorted((e1, e2))
    assert f_aeb(acc, high, target) <= f_aeb(acc, low, target) * (1 + 1e-12)


@pytest.mark.parametrize(
    ("acc", "energy"), [(1.5, 1.0), (float("nan"), 1.0), (0.5, 0.0), (0.5, float("inf"))]
)
def test_rejects_invalid_inputs(acc: float, energy: float) -> None:
    with pytest.raises(ValueError):
        f_aeb(acc, energy, 1.0)
