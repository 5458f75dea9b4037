"""How well a proxy ranks subnets: agreement with a reference, with and without energy's effect.

A one-shot search is only as good as its proxy (inherited-weight accuracy). Agreeing with
stand-alone training is not enough on its own: when both mostly say "larger networks are more
accurate", ranking by energy alone agrees as well. So next to Kendall tau and Spearman rho this
module gives the **partial** Spearman correlation with energy removed (does the proxy know
anything beyond size?), the same statistic between reference runs of different seeds (the
**ceiling**: how much signal beyond size the reference itself carries), the top-k overlap, and
the proxy's bias per energy bin (does it under-rate small subnets?) and its trend in energy.

Plain floats in, plain values out; no torch. The records it returns (:class:`Agreement`,
:class:`BinBias`, :class:`BiasTrend`) and :func:`bias_tilt` are defined with the summary they end
up in, :mod:`evosnn.core.rank_summary`, and re-exported here.

Example:
    >>> energy = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    >>> proxy = [0.90, 0.93, 0.91, 0.95, 0.96, 0.94]
    >>> reference = [0.91, 0.94, 0.92, 0.96, 0.97, 0.95]
    >>> a = agreement(proxy, reference, energy, top_k=2)
    >>> round(a.kendall_tau, 2), a.top_k_overlap
    (1.0, 1.0)
    >>> bins = energy_bias(proxy, reference, energy, bins=2)
    >>> [round(b.bias, 3) for b in bins]
    [-0.01, -0.01]
    >>> offset, tilt = bias_tilt(bins)
    >>> round(offset, 3), max(abs(t) for t in tilt) < 1e-9  # an even offset: no tilt
    (-0.01, True)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import kendalltau, rankdata, spearmanr
from scipy.stats import t as student_t

from evosnn.core.errors import EvosnnError
from evosnn.core.rank_summary import Agreement, BiasTrend, BinBias, bias_tilt

__all__ = [
    "MIN_SUBNETS",
    "Agreement",
    "BiasTrend",
    "BinBias",
    "agreement",
    "bias_tilt",
    "bias_trend",
    "energy_bias",
    "partial_spearman",
    "seed_ceiling",
    "top_k_overlap",
]

#: Fewest subnets for which a (partial) correlation is reported at all.
MIN_SUBNETS = 6


def _check(name: str, *columns: Sequence[float]) -> list[np.ndarray]:
    arrays = [np.asarray(c, dtype=float) for c in columns]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise EvosnnError(f"{name}: the columns have different lengths {[len(a) for a in arrays]}")
    if n < MIN_SUBNETS:
        raise EvosnnError(
            f"{name}: {n} subnets are too few for a correlation (need at least {MIN_SUBNETS})"
        )
    for a in arrays:
        if not np.all(np.isfinite(a)):
            raise EvosnnError(f"{name}: a value is NaN or infinite")
        if np.ptp(a) == 0:
            raise EvosnnError(f"{name}: a column is constant, so it ranks nothing")
    return arrays


def partial_spearman(
    x: Sequence[float], y: Sequence[float], z: Sequence[float]
) -> tuple[float, float]:
    """Spearman correlation of ``x`` and ``y`` with ``z``'s effect removed, and its p-value.

    The Pearson partial correlation of the ranks; the p-value from Student's t with ``n - 3``
    degrees of freedom.

    Raises:
        EvosnnError: fewer than :data:`MIN_SUBNETS` values, NaN, a constant column, or ``x`` or
            ``y`` fully determined by ``z`` (nothing is left to correlate).
    """
    rx, ry, rz = (rankdata(a) for a in _check("partial correlation", x, y, z))
    r = np.corrcoef(np.vstack([rx, ry, rz]))
    rxy, rxz, ryz = r[0, 1], r[0, 2], r[1, 2]
    denominator = math.sqrt(max(0.0, (1 - rxz**2) * (1 - ryz**2)))
    if denominator < 1e-12:
        raise EvosnnError("partial correlation: a ranking is fully determined by energy")
    rho = float(np.clip((rxy - rxz * ryz) / denominator, -1.0, 1.0))
    dof = len(rx) - 3
    if abs(rho) == 1.0:
        return rho, 0.0
    t = rho * math.sqrt(dof / (1 - rho**2))
    return rho, float(2 * student_t.sf(abs(t), dof))


def top_k_overlap(ranking: Sequence[float], reference: Sequence[float], k: int) -> float:
    """Share of the ``k`` highest of ``reference`` that are among the ``k`` highest of ``ranking``
    (ties broken by position)."""
    if not 1 <= k <= len(reference):
        raise EvosnnError(f"top-k: k={k} must be between 1 and {len(reference)}")
    best = set(np.argsort(-np.asarray(ranking, dtype=float), kind="stable")[:k].tolist())
    truth = set(np.argsort(-np.asarray(reference, dtype=float), kind="stable")[:k].tolist())
    return len(best & truth) / k


def agreement(
    ranking: Sequence[float],
    reference: Sequence[float],
    energy: Sequence[float] | None,
    *,
    top_k: int,
) -> Agreement:
    """Every agreement statistic of ``ranking`` with ``reference`` over the same subnets (the
    partial one only when ``energy`` is given)."""
    a, b = _check("agreement", ranking, reference)
    tau = kendalltau(a, b)
    rho = spearmanr(a, b)
    partial, partial_p = (
        partial_spearman(ranking, reference, energy) if energy is not None else (None, None)
    )
    return Agreement(
        n=len(a),
        kendall_tau=float(tau.statistic),
        kendall_p=float(tau.pvalue),
        spearman_rho=float(rho.statistic),
        spearman_p=float(rho.pvalue),
        partial_rho=partial,
        partial_p=partial_p,
        k=top_k,
        top_k_overlap=top_k_overlap(ranking, reference, top_k),
    )


def _energy_bins(name: str, energy: np.ndarray, bins: int) -> list[np.ndarray]:
    """Indices of ``bins`` equal-count bins of ``energy``, low energy first."""
    if not 1 <= bins <= len(energy):
        raise EvosnnError(f"{name}: {bins} bins for {len(energy)} subnets")
    return np.array_split(np.argsort(energy, kind="stable"), bins)


def energy_bias(
    proxy: Sequence[float], reference: Sequence[float], energy: Sequence[float], *, bins: int = 4
) -> list[BinBias]:
    """Mean ``proxy - reference`` in ``bins`` equal-count bins of energy, low energy first."""
    p, r, e = _check("energy bias", proxy, reference, energy)
    out = []
    for part in _energy_bins("energy bias", e, bins):
        out.append(
            BinBias(
                energy_low=float(e[part].min()),
                energy_high=float(e[part].max()),
                n=len(part),
                bias=float(np.mean(p[part] - r[part])),
            )
        )
    return out


def bias_trend(
    proxy: Sequence[float], reference: Sequence[float], energy: Sequence[float], *, bins: int = 4
) -> BiasTrend:
    """The linear trend of ``proxy - reference`` in log2 energy, and its tilt per energy bin.

    Example:
        >>> reference = [0.6, 0.5, 0.6, 0.5, 0.6, 0.5]
        >>> proxy = [0.35, 0.35, 0.55, 0.55, 0.75, 0.75]  # 10 points more per doubling
        >>> trend = bias_trend(proxy, reference, [1, 2, 4, 8, 16, 32], bins=2)
        >>> round(trend.slope, 3), [round(t, 3) for t in trend.tilt], round(trend.residual_sd, 3)
        (0.1, [-0.15, 0.15], 0.0)
    """
    p, r, e = _check("bias trend", proxy, reference, energy)
    if np.any(e <= 0):
        raise EvosnnError("bias trend: an energy is not positive")
    parts = _energy_bins("bias trend", e, bins)
    x, bias = np.log2(e), p - r
    slope, intercept = np.polyfit(x, bias, 1)
    residual = bias - (intercept + slope * x)
    tilt = [float(slope * (x[part].mean() - x.mean())) for part in parts]
    return BiasTrend(
        slope=float(slope),
        tilt=tilt,
        residual_sd=float(np.sqrt(np.sum(residual**2) / max(len(e) - 2, 1))),
    )


def seed_ceiling(runs: Sequence[Sequence[float]], energy: Sequence[float]) -> tuple[float, float]:
    """The reference's own agreement beyond energy: the mean and spread (sd) of the partial
    Spearman correlation between every pair of its runs (e.g. stand-alone training seeds).

    A proxy cannot be shown to rank better than this; with one run there is no ceiling.

    Raises:
        EvosnnError: fewer than two runs, or a run :func:`partial_spearman` refuses.
    """
    if len(runs) < 2:
        raise EvosnnError("the reference's ceiling needs at least two runs (seeds)")
    values = [partial_spearman(a, b, energy)[0] for a, b in itertools.combinations(runs, 2)]
    spread = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return float(np.mean(values)), spread
