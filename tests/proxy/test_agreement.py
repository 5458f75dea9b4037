"""Rank agreement statistics (evosnn.proxy.agreement): partial correlation with energy removed, ceiling,
top-k overlap, per-bin bias, and the refusals that keep a wrong number from being reported."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata

from evosnn.core.errors import EvosnnError
from evosnn.proxy.agreement import (
    agreement,
    bias_tilt,
    bias_trend,
    energy_bias,
    partial_spearman,
    seed_ceiling,
    top_k_overlap,
)


def _floats(values: np.ndarray) -> list[float]:
    """The plain floats the statistics take (the module's contract), from a generated array."""
    return [float(v) for v in values]


def _residual_correlation(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """The partial correlation the long way: correlate what is left after regressing on z."""
    rx, ry, rz = rankdata(x), rankdata(y), rankdata(z)
    design = np.column_stack([np.ones_like(rz), rz])
    left = [r - design @ np.linalg.lstsq(design, r, rcond=None)[0] for r in (rx, ry)]
    return float(np.corrcoef(left[0], left[1])[0, 1])


def test_energy_alone_agreement_vanishes_once_energy_is_removed() -> None:
    rng = np.random.default_rng(0)
    energy = rng.uniform(0, 1, 300)
    proxy = energy + rng.normal(0, 0.1, 300)  # both follow size, nothing else in common
    reference = energy + rng.normal(0, 0.1, 300)
    a = agreement(_floats(proxy), _floats(reference), _floats(energy), top_k=30)
    assert a.spearman_rho > 0.8 and a.kendall_tau > 0.6  # looks good...
    assert a.partial_rho is not None and a.partial_p is not None  # energy given: both computed
    assert abs(a.partial_rho) < 0.15 and a.partial_p > 0.01  # ...but knows nothing beyond size
    assert a.partial_rho == pytest.approx(_residual_correlation(proxy, reference, energy))


def test_shared_signal_beyond_energy_is_found() -> None:
    rng = np.random.default_rng(1)
    energy, quality = rng.uniform(0, 1, 100), rng.normal(0, 0.2, 100)
    proxy = energy + quality + rng.normal(0, 0.05, 100)
    reference = energy + quality + rng.normal(0, 0.05, 100)
    rho, p = partial_spearman(_floats(proxy), _floats(reference), _floats(energy))
    assert rho > 0.8 and p < 1e-6
    assert rho == pytest.approx(_residual_correlation(proxy, reference, energy))


def test_seed_ceiling_is_the_mean_partial_correlation_between_runs() -> None:
    rng = np.random.default_rng(2)
    energy, quality = rng.uniform(0, 1, 50), rng.normal(0, 0.2, 50)
    arrays = [energy + quality + rng.normal(0, 0.1, 50) for _ in range(3)]
    runs = [_floats(run) for run in arrays]
    mean, spread = seed_ceiling(runs, _floats(energy))
    pairs = [
        partial_spearman(runs[i], runs[j], _floats(energy))[0] for i, j in ((0, 1), (0, 2), (1, 2))
    ]
    assert mean == pytest.approx(np.mean(pairs)) and spread == pytest.approx(np.std(pairs, ddof=1))
    with pytest.raises(EvosnnError, match="at least two runs"):
        seed_ceiling(runs[:1], _floats(energy))


def test_top_k_overlap_and_energy_bins() -> None:
    assert top_k_overlap([5, 4, 3, 2, 1, 0], [5, 4, 0, 1, 2, 3], 2) == 1.0
    assert top_k_overlap([5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5], 3) == 0.0
    energy = [6.0, 1.0, 5.0, 2.0, 4.0, 3.0]
    proxy = [0.9, 0.5, 0.9, 0.6, 0.9, 0.7]
    reference = [0.9, 0.7, 0.9, 0.8, 0.9, 0.8]  # the proxy under-rates the small ones
    low, high = energy_bias(proxy, reference, energy, bins=2)
    assert (low.energy_low, low.energy_high, low.n) == (1.0, 3.0, 3)
    assert low.bias == pytest.approx(-0.5 / 3) and high.bias == pytest.approx(0.0)
    # the offset is the mean bias over all six subnets; the tilt is what is left per bin
    offset, tilt = bias_tilt([low, high])
    assert offset == pytest.approx(-0.5 / 6)
    assert tilt == pytest.approx([-0.5 / 6, 0.5 / 6])


def test_an_offset_common_to_all_subnets_has_no_tilt() -> None:
    energy = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    reference = [0.5, 0.6, 0.55, 0.7, 0.65, 0.8, 0.75, 0.9]
    proxy = [r - 0.3 for r in reference]  # every subnet 30 points low
    offset, tilt = bias_tilt(energy_bias(proxy, reference, energy, bins=4))
    assert offset == pytest.approx(-0.3) and tilt == pytest.approx([0.0] * 4)
    with pytest.raises(EvosnnError, match="no energy bins"):
        bias_tilt([])


def test_the_bias_trend_pools_subnets_that_bins_of_few_leave_to_chance() -> None:
    rng = np.random.default_rng(3)
    energy_array = np.exp(rng.uniform(-1.5, 1.0, 8))
    reference_array = rng.uniform(0.8, 0.9, 8)
    energy, reference = _floats(energy_array), _floats(reference_array)
    # 2 points more per doubling
    linear = _floats(reference_array - 0.15 + 0.02 * np.log2(energy_array))
    trend = bias_trend(linear, reference, energy, bins=4)
    assert trend.slope == pytest.approx(0.02) and trend.residual_sd == pytest.approx(0, abs=1e-12)
    # an exactly linear bias: the trend's tilt is the bins' whole tilt
    assert trend.tilt == pytest.approx(bias_tilt(energy_bias(linear, reference, energy, bins=4))[1])
    # each subnet's own error, no trend (symmetric in log energy): bins of two show a tilt, the
    # trend none
    energy = _floats(2.0 ** np.arange(8) / 8)
    own = np.array([0.04, 0.04, -0.04, -0.04, -0.04, -0.04, 0.04, 0.04])
    flat = _floats(reference_array - 0.15 + own)
    tilt = bias_tilt(energy_bias(flat, reference, energy, bins=4))[1]
    trend = bias_trend(flat, reference, energy, bins=4)
    assert max(abs(t) for t in tilt) > 0.03
    assert trend.slope == pytest.approx(0, abs=1e-12)
    assert trend.tilt == pytest.approx([0.0] * 4, abs=1e-12)
    assert trend.residual_sd > 0.03
    with pytest.raises(EvosnnError, match="not positive"):
        bias_trend(linear, reference, [0.0, *energy[1:]])


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (([1, 2, 3], [1, 2, 3], [1, 2, 3]), "3 subnets are too few"),
        (([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6]), "different lengths"),
        (([1, 2, 3, 4, 5, float("nan")], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]), "NaN"),
        (([1, 1, 1, 1, 1, 1], [1, 2, 3, 4, 5, 6], [6, 1, 2, 3, 4, 5]), "constant"),
        (([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5], [1, 2, 3, 4, 5, 6]), "determined by energy"),
    ],
)
def test_too_little_or_degenerate_data_is_refused(columns: tuple, message: str) -> None:
    with pytest.raises(EvosnnError, match=message):
        partial_spearman(*columns)


def test_ranking_by_energy_alone_has_no_partial_correlation() -> None:
    energy = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    a = agreement(energy, [0.5, 0.6, 0.8, 0.7, 0.9, 0.95], None, top_k=2)
    assert a.partial_rho is None and a.partial_p is None
    assert a.spearman_rho == pytest.approx(0.9428571428571428) and a.top_k_overlap == 1.0
