"""Pareto fronts, hypervolume and the hypervolume curve over (accuracy up, energy down) points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymoo.indicators.hv import HV

__all__ = ["hypervolume", "hypervolume_curve", "knee_index", "pareto_mask"]


def pareto_mask(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For each ``(accuracy, energy)``, whether no other point is at least as good in both and
    better in one. Exact duplicates are all kept.

    A sort and one sweep (O(n log n)), so a 5,000-trial study takes milliseconds.
    """
    if not len(points):
        return []
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    acc, energy = pts[:, 0], pts[:, 1]
    order = np.lexsort((energy, -acc))  # accuracy descending, then energy ascending
    a, e = acc[order], energy[order]
    starts = np.r_[True, a[1:] != a[:-1]]  # first point of each equal-accuracy group
    group = np.cumsum(starts) - 1
    group_min = e[starts]  # lowest energy of each group (sorted by energy within it)
    # lowest energy among strictly more accurate points, per group
    above = np.r_[np.inf, np.minimum.accumulate(group_min)[:-1]]
    keep = (e == group_min[group]) & (group_min[group] < above[group])
    mask = np.empty(len(pts), dtype=bool)
    mask[order] = keep
    return mask.tolist()


def hypervolume(points: Sequence[tuple[float, float]], ref_energy: float) -> float:
    """Area dominated by the points, bounded by accuracy 0 and energy ``ref_energy``.

    Points above the reference energy contribute nothing. Computed with pymoo's HV indicator on
    ``[-accuracy, energy]`` with reference point ``[0, ref_energy]``, over the non-dominated points.
    """
    inside = [(a, e) for a, e in points if e <= ref_energy and a > 0]
    if not inside:
        return 0.0
    front = [(-a, e) for (a, e), keep in zip(inside, pareto_mask(inside), strict=True) if keep]
    return float(HV(ref_point=np.array([0.0, ref_energy])).do(np.array(front)))


def hypervolume_curve(
    points: Sequence[tuple[float, float]], ref_energy: float, *, samples: int = 200
) -> list[tuple[int, float]]:
    """``(evaluations, hypervolume)`` after the first n points, at up to ``samples`` values of n
    (always including the last), for points in evaluation order."""
    n = len(points)
    if n == 0:
        return []
    m = min(samples, n)
    counts = sorted({max(1, round(n * (i + 1) / m)) for i in range(m)})
    curve: list[tuple[int, float]] = []
    front: list[tuple[float, float]] = []  # only the running front: each step adds a few points
    start = 0
    for count in counts:
        candidates = front + list(points[start:count])
        front = [p for p, keep in zip(candidates, pareto_mask(candidates), strict=True) if keep]
        curve.append((count, hypervolume(front, ref_energy)))
        start = count
    return curve


def knee_index(front: Sequence[tuple[float, float]], scores: Sequence[float]) -> int:
    """The knee of a Pareto ``front`` of ``(accuracy, energy)`` points: its index.

    pymoo's HighTradeoffPoints on the front normalised to [0, 1] per objective (the point whose
    neighbours trade the most of one objective for the least of the other); with fewer than three
    points, or when it finds none, the point with the highest ``scores`` (F_AEB).
    """
    if not len(front):
        raise ValueError("an empty front has no knee")
    if len(front) >= 3:
        from pymoo.mcdm.high_tradeoff import HighTradeoffPoints

        f = np.array([[-a, e] for a, e in front])
        span = f.max(axis=0) - f.min(axis=0)
        normalised = (f - f.min(axis=0)) / np.where(span > 0, span, 1.0)
        found = HighTradeoffPoints().do(normalised)
        if found is not None and len(np.atleast_1d(found)):
            return int(np.atleast_1d(found)[0])
    return int(np.argmax(np.asarray(scores, dtype=float)))
