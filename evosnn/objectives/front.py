"""Pareto fronts, non-dominated sorting and hypervolume: the one implementation in evosnn.

Two objectives throughout. The search's points are ``(accuracy, energy)``, accuracy maximised and
energy minimised; the surrogate engine's acquisition works on points minimised in both coordinates
(``(-accuracy, log energy)``). Every hypervolume here is the exact 2-D staircase area, computed
from the non-dominated points sorted once (``O(n log n)``).

Example:
    >>> points = [(0.9, 2.0), (0.8, 1.0), (0.85, 3.0), (0.9, 2.0)]
    >>> pareto_mask(points)  # (0.85, 3.0) is dominated by (0.9, 2.0); duplicates are kept
    [True, True, False, True]
    >>> round(hypervolume(points, ref_energy=4.0), 6)  # 0.9 x (4 - 2) + 0.8 x (2 - 1)
    2.6
    >>> front = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> float(hv_gain(front, np.array([[0.5, 0.5]]), np.array([2.0, 2.0]))[0])
    0.25
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

import numpy as np

__all__ = [
    "Scored",
    "greedy_hv",
    "hv_gain",
    "hypervolume",
    "hypervolume_2d",
    "hypervolume_curve",
    "igd_plus",
    "knee_index",
    "non_dominated_fronts",
    "pareto_indices",
    "pareto_mask",
    "pareto_records",
    "pareto_sum",
]


# ------------------------------------------------------------------ (accuracy up, energy down)
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
    return [bool(m) for m in mask]


def pareto_indices(accuracy: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated points (accuracy up, energy down), by rising energy.

    Of points with equal objectives one is kept (unlike :func:`pareto_mask`). ``O(n log n)``.
    """
    acc = np.asarray(accuracy, dtype=float)
    en = np.asarray(energy, dtype=float)
    if acc.size == 0:
        return np.zeros(0, dtype=int)
    order = np.lexsort((-acc, en))  # by energy, then by accuracy falling
    best = np.maximum.accumulate(acc[order])
    keep = np.ones(order.size, dtype=bool)
    keep[1:] = acc[order][1:] > best[:-1]
    return order[keep]


def pareto_sum(
    left: tuple[np.ndarray, np.ndarray], right: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The Pareto set of all sums ``left[i] + right[j]`` (accuracy up, energy down).

    Returns ``(accuracy, energy, i, j)`` of the non-dominated sums: the indices say which parts
    each one adds up.
    """
    la, le = left
    ra, re = right
    acc = (la[:, None] + ra[None, :]).ravel()
    en = (le[:, None] + re[None, :]).ravel()
    keep = pareto_indices(acc, en)
    i, j = np.divmod(keep, ra.size)
    return acc[keep], en[keep], i, j


def hypervolume_2d(
    accuracy: np.ndarray, energy: np.ndarray, reference: tuple[float, float]
) -> float:
    """Area dominated by the points, up to ``reference = (accuracy, energy)``.

    Accuracy is maximised and energy (or log energy: any monotone scale the caller chose)
    minimised; points not strictly better than the reference in both contribute nothing.
    """
    acc = np.asarray(accuracy, dtype=float)
    en = np.asarray(energy, dtype=float)
    inside = (acc > reference[0]) & (en < reference[1])
    acc, en = acc[inside], en[inside]
    if acc.size == 0:
        return 0.0
    front = pareto_indices(acc, en)
    a, e = acc[front], en[front]
    widths = np.diff(np.append(e, reference[1]))
    return float(np.sum(widths * (a - reference[0])))


def hypervolume(points: Sequence[tuple[float, float]], ref_energy: float) -> float:
    """Area dominated by ``(accuracy, energy)`` points, bounded by accuracy 0 and ``ref_energy``.

    Points above the reference energy contribute nothing. The largest possible value is
    ``ref_energy`` (accuracy 1 at energy 0), so ``hypervolume / ref_energy`` is the share of the
    reference box the front dominates.
    """
    if not len(points):
        return 0.0
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    return hypervolume_2d(pts[:, 0], pts[:, 1], (0.0, ref_energy))


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


def igd_plus(front: np.ndarray, points: np.ndarray, scale: np.ndarray) -> float:
    """IGD+ of ``points`` to the reference ``front``, both ``[n, 2]`` as (accuracy, log energy).

    Objectives are divided by ``scale`` (the front's range) first; IGD+ counts only the amount by
    which a point is worse than a front point (Ishibuchi et al. 2015), so it is Pareto-compliant.
    """
    z = np.column_stack([-front[:, 0], front[:, 1]]) / scale
    a = np.column_stack([-points[:, 0], points[:, 1]]) / scale
    worse = np.maximum(a[None, :, :] - z[:, None, :], 0.0)
    return float(np.mean(np.min(np.sqrt(np.sum(worse**2, axis=2)), axis=1)))


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


class Scored(Protocol):
    """A record that can stand on a front: a ledger record, for one."""

    @property
    def values(self) -> tuple[float, float] | None: ...

    @property
    def feasible(self) -> bool: ...


R = TypeVar("R", bound=Scored)


def pareto_records(records: Sequence[R]) -> list[R]:
    """The feasible records on the Pareto front of their ``values``, by accuracy then energy."""
    feasible = [r for r in records if r.feasible and r.values is not None]
    mask = pareto_mask([r.values for r in feasible if r.values is not None])
    front = [r for r, keep in zip(feasible, mask, strict=True) if keep]
    return sorted(front, key=lambda r: r.values or (0.0, 0.0))


# ------------------------------------------------------------------------- both minimised
def non_dominated_fronts(points: np.ndarray, *, first_only: bool = False) -> list[np.ndarray]:
    """Non-dominated sorting of ``[n, 2]`` points minimised in both coordinates: the indices of
    each front, best first (only the first when ``first_only``). pymoo's implementation."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    if first_only:
        return [np.asarray(NonDominatedSorting().do(pts, only_non_dominated_front=True))]
    return [np.asarray(f) for f in NonDominatedSorting().do(pts)]


def hv_gain(front: np.ndarray, candidates: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The area each candidate alone would add to the region ``front`` dominates below ``ref``
    (both coordinates minimised).

    ``front`` need not be non-dominated. Vectorised over candidates: O(len(candidates) x len(front)).
    """
    cand = np.asarray(candidates, dtype=float).reshape(-1, 2)
    pts = np.asarray(front, dtype=float).reshape(-1, 2)
    pts = pts[(pts[:, 0] < ref[0]) & (pts[:, 1] < ref[1])]
    order = np.argsort(pts[:, 0], kind="stable")
    xs, level = pts[order, 0], np.minimum.accumulate(pts[order, 1]) if len(pts) else pts[:, 1]
    # the front's staircase: below x = xs[0] nothing is dominated (level ref[1]), then level[k]
    starts = np.r_[-np.inf, xs]
    ends = np.r_[xs, ref[0]]
    heights = np.r_[ref[1], level]
    width = np.clip(ends[None, :] - np.maximum(starts[None, :], cand[:, :1]), 0.0, None)
    height = np.clip(heights[None, :] - cand[:, 1:], 0.0, None)
    return np.asarray((width * height).sum(axis=1))


def greedy_hv(front: np.ndarray, candidates: np.ndarray, ref: np.ndarray, k: int) -> list[int]:
    """Up to ``k`` candidate indices, each the largest gain over the front plus those before it.

    Stops early when no remaining candidate adds any area; ties go to the lower index.

    Example:
        >>> front = np.array([[0.0, 1.0], [1.0, 0.0]])
        >>> cand = np.array([[0.5, 0.5], [0.2, 0.9], [3.0, 3.0]])
        >>> greedy_hv(front, cand, np.array([2.0, 2.0]), 3)
        [0, 1]
    """
    cand = np.asarray(candidates, dtype=float).reshape(-1, 2)
    current = np.asarray(front, dtype=float).reshape(-1, 2)
    chosen: list[int] = []
    for _ in range(min(k, len(cand))):
        gain = hv_gain(current, cand, ref)
        gain[chosen] = -1.0
        best = int(np.argmax(gain))
        if gain[best] <= 0.0:
            break
        chosen.append(best)
        current = np.vstack([current, cand[best]])
    return chosen
