"""Pareto fronts and hypervolume over (accuracy up, energy down) points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymoo.indicators.hv import HV

__all__ = ["hypervolume", "pareto_mask"]


def pareto_mask(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For each ``(accuracy, energy)``, whether no other point is at least as good in both and
    better in one. Exact duplicates are all kept."""
    pts = list(points)
    mask = []
    for i, (acc, energy) in enumerate(pts):
        dominated = any(
            a >= acc and e <= energy and (a > acc or e < energy)
            for j, (a, e) in enumerate(pts)
            if j != i
        )
        mask.append(not dominated)
    return mask


def hypervolume(points: Sequence[tuple[float, float]], ref_energy: float) -> float:
    """Area dominated by the points, bounded by accuracy 0 and energy ``ref_energy``.

    Points above the reference energy contribute nothing. Computed with pymoo's HV indicator on
    ``[-accuracy, energy]`` with reference point ``[0, ref_energy]``.
    """
    inside = [(-a, e) for a, e in points if e <= ref_energy and a > 0]
    if not inside:
        return 0.0
    return float(HV(ref_point=np.array([0.0, ref_energy])).do(np.array(inside)))
