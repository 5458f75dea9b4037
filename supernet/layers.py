"""Weight-entangled layers: the active weights are the leading rows/columns of the largest ones.

A subnet of width ``k`` uses ``weight[:k_out, :k_in]`` (AutoFormer's weight entanglement), so every
subnet inherits its weights from the supernet and training any subnet updates the shared prefix.
Active sizes are arguments of ``forward``: the layers keep no per-call state.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["EntangledBatchNorm", "EntangledConv2d", "EntangledLinear"]


class EntangledLinear(nn.Linear):
    """``nn.Linear`` of the largest size; ``forward(x, in_features, out_features)`` slices it."""

    def forward(self, x: torch.Tensor, in_features: int, out_features: int) -> torch.Tensor:  # type: ignore[override]
        bias = self.bias[:out_features] if self.bias is not None else None
        return F.linear(x, self.weight[:out_features, :in_features], bias)


class EntangledConv2d(nn.Conv2d):
    """``nn.Conv2d`` of the largest size; ``forward(x, in_channels, out_channels)`` slices it."""

    def forward(self, x: torch.Tensor, in_channels: int, out_channels: int) -> torch.Tensor:  # type: ignore[override]
        bias = self.bias[:out_channels] if self.bias is not None else None
        weight = self.weight[:out_channels, :in_channels]
        return F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)


class EntangledBatchNorm(nn.BatchNorm1d):
    """Batch norm over dim 1 of ``[N, C]`` or ``[N, C, ...]`` using the first ``features`` channels.

    The leading affine parameters *and* running statistics are used (and, in training mode, the
    leading running statistics are updated in place). ``momentum=None`` gives a cumulative average,
    which :func:`supernet.recalibrate_bn` uses to re-estimate a subnet's statistics.
    """

    def __init__(
        self, num_features: int, *, eps: float = 1e-5, momentum: float | None = 0.1
    ) -> None:
        super().__init__(num_features, eps=eps, momentum=momentum)

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input, got {input.dim()}D")

    def forward(self, x: torch.Tensor, features: int) -> torch.Tensor:  # type: ignore[override]
        assert self.running_mean is not None and self.running_var is not None
        factor = 0.0
        if self.training:
            assert self.num_batches_tracked is not None
            self.num_batches_tracked.add_(1)
            factor = (
                1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            )
        return F.batch_norm(
            x,
            self.running_mean[:features],
            self.running_var[:features],
            self.weight[:features],
            self.bias[:features],
            self.training,
            factor,
            self.eps,
        )
