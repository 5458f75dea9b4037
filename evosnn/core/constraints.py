"""Cheap constraints: checks on a subnet that need no network run (plain data; no torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evosnn.core.sizes import count_params

if TYPE_CHECKING:
    from evosnn.core.config import SubnetConfig
    from evosnn.core.space import SearchSpace

__all__ = ["param_violation"]


def param_violation(config: SubnetConfig, space: SearchSpace) -> tuple[float, str | None]:
    """How far (in millions) ``config``'s parameter count lies outside the space's limits, and why.

    ``(0.0, None)`` when within limits. Needs no network: the count is analytic.
    """
    obj = space.objectives
    params_m = count_params(config, space.geometry) / 1e6
    if obj.max_params_m is not None and params_m > obj.max_params_m:
        return (
            params_m - obj.max_params_m,
            f"{params_m:.3f} M params > max_params_m {obj.max_params_m}",
        )
    if obj.min_params_m is not None and params_m < obj.min_params_m:
        return (
            obj.min_params_m - params_m,
            f"{params_m:.3f} M params < min_params_m {obj.min_params_m}",
        )
    return 0.0, None
