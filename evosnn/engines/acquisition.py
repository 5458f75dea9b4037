"""Which predicted candidates to evaluate: greedy hypervolume gain over the real front (2-D).

Points are minimised in both coordinates (the surrogate engine uses ``(-accuracy, log energy)``),
and the hypervolume is bounded by a reference point ``ref`` that every counted point lies below.

Example:
    >>> front = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> float(hv_gain(front, np.array([[0.5, 0.5]]), np.array([2.0, 2.0]))[0])
    0.25
    >>> greedy_hv(front, np.array([[0.5, 0.5], [0.2, 0.9], [3.0, 3.0]]), np.array([2.0, 2.0]), 3)
    [0, 1]
"""

from __future__ import annotations

import numpy as np

__all__ = ["greedy_hv", "hv_gain"]


def hv_gain(front: np.ndarray, candidates: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The area each candidate alone would add to the region ``front`` dominates below ``ref``.

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
    return (width * height).sum(axis=1)


def greedy_hv(front: np.ndarray, candidates: np.ndarray, ref: np.ndarray, k: int) -> list[int]:
    """Up to ``k`` candidate indices, each the largest gain over the front plus those before it.

    Stops early when no remaining candidate adds any area; ties go to the lower index.
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
