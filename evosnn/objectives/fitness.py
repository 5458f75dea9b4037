"""F_AEB, the accuracy-energy balanced fitness.

``F_AEB = accuracy * (energy / energy_target) ** w`` with ``w = alpha`` when the energy is within the
target and ``w = beta`` above it. Defaults ``alpha = beta = -0.07`` give a soft preference for low
energy; ``alpha = 0, beta = -1`` makes the target a hard budget (accuracy within it, accuracy scaled
down by ``target / energy`` above it). Auto-Spikformer does not publish its constants; this form and
these defaults are evosnn's, stated openly.

Example:
    >>> round(f_aeb(0.9, 0.5, 1.0), 4)  # half the target energy earns a small bonus
    0.9447
    >>> f_aeb(0.9, 2.0, 1.0, alpha=0.0, beta=-1.0)  # twice the budget halves the score
    0.45
"""

from __future__ import annotations

import math

__all__ = ["f_aeb"]


def f_aeb(
    accuracy: float,
    energy_mj: float,
    target_mj: float,
    *,
    alpha: float = -0.07,
    beta: float = -0.07,
) -> float:
    """The accuracy-energy balanced fitness (higher is better).

    Raises:
        ValueError: accuracy outside [0, 1], or a non-positive / non-finite energy or target.
    """
    if not (math.isfinite(accuracy) and 0.0 <= accuracy <= 1.0):
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy}")
    for name, value in (("energy_mj", energy_mj), ("target_mj", target_mj)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value}")
    w = alpha if energy_mj <= target_mj else beta
    return float(accuracy * (energy_mj / target_mj) ** w)
