"""Exact parameter counts of a subnet, computed from its configuration without building a model.

Counted: every parameter the forward pass uses (conv weights have no bias; linear layers do; BN has
a weight and a bias per channel; running statistics are buffers, not parameters).
"""

from __future__ import annotations

from evosnn.config import SubnetConfig
from supernet.model import sps_widths

__all__ = ["count_params"]


def count_params(config: SubnetConfig, *, in_channels: int, num_classes: int) -> int:
    """Number of parameters of the stand-alone Spikformer of ``config``.

    Example:
        >>> from evosnn.config import SubnetConfig
        >>> cfg = SubnetConfig(depth=4, embed_dim=384, mlp_ratio=(4.0,) * 4, num_heads=(12,) * 4,
        ...                    threshold=(1.0,) * 4, tau=(2.0,) * 4, time_steps=4)
        >>> count_params(cfg, in_channels=3, num_classes=10)  # Spikformer-4-384 on CIFAR-10
        9324730
    """
    d = config.embed_dim
    total = 0
    c_in = in_channels
    for width in (*sps_widths(d), d):  # four stages, then the relative-position conv (d -> d)
        total += 9 * c_in * width + 2 * width
        c_in = width
    for i in range(config.depth):
        hidden = config.mlp_hidden(i)
        total += 4 * (d * d + d + 2 * d)  # q, k, v, projection: linear + BN
        total += d * hidden + hidden + 2 * hidden  # fc1 + BN
        total += hidden * d + d + 2 * d  # fc2 + BN
    return total + d * num_classes + num_classes
