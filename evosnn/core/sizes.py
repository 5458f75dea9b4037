"""Sizes of a subnet computed from its configuration alone: parameters and per-layer FLOPs.

No model is built and no torch is imported, so constraints can be checked before any evaluation is
spent. ``count_params`` counts every parameter the forward pass uses (conv weights have no bias;
linear layers do; BN has a weight and a bias per channel; running statistics are buffers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from evosnn.core.config import SubnetConfig, sps_sides, sps_widths

__all__ = ["LayerOps", "count_params", "layer_ops"]


def count_params(config: SubnetConfig, *, in_channels: int, num_classes: int) -> int:
    """Number of parameters of the stand-alone Spikformer of ``config``.

    Example:
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


@dataclass(frozen=True)
class LayerOps:
    """One synaptic operation of the network, per image.

    ``kind`` is "mac" for real-valued inputs (pixels, averaged features: multiply-accumulates) and
    "sop" for spike-driven inputs (an accumulate per input event: counted as rate x FLOPs). ``rate``
    names the :class:`supernet.SpikeStats` entry holding the measured activity of the input (None
    for MACs). ``binary`` says whether that input holds only 0/1 spikes: the residual sums that
    feed q, k, v and the MLP's first layer hold small integers, which the ``strict`` energy
    convention counts as multiplications. ``per_step`` is False for the classifier, which the
    reference model runs once per image on the time-averaged features.
    """

    name: str
    flops: int
    kind: Literal["mac", "sop"]
    rate: str | None
    binary: bool = True
    per_step: bool = True


def layer_ops(
    config: SubnetConfig,
    *,
    image_size: int,
    in_channels: int,
    num_classes: int,
    sps_pools: int = 2,
) -> list[LayerOps]:
    """Every synaptic layer of ``config`` with its FLOPs (multiply-accumulates) per step and image.

    The attention products are counted in Spikformer's order: ``q·kᵀ`` costs ``N·N·D`` and is driven
    by the spikes of q; ``(q·kᵀ)·v`` costs ``N·N·D`` and is driven by the spikes of v (the attention
    map is integer-valued, v is the spike operand). The classifier sees token- and time-averaged
    real values and counts as MACs, once per image. BatchNorm folds into the preceding layer and
    costs nothing.
    """
    d = config.embed_dim
    w = sps_widths(d)
    h = sps_sides(image_size, sps_pools)  # the side each stage reads, then the token grid's
    n = h[4] ** 2
    ops = [
        LayerOps("sps.conv0", h[0] ** 2 * 9 * in_channels * w[0], "mac", None),
        LayerOps("sps.conv1", h[1] ** 2 * 9 * w[0] * w[1], "sop", "sps.conv1"),
        LayerOps("sps.conv2", h[2] ** 2 * 9 * w[1] * w[2], "sop", "sps.conv2"),
        LayerOps("sps.conv3", h[3] ** 2 * 9 * w[2] * w[3], "sop", "sps.conv3"),
        LayerOps("sps.rpe", n * 9 * d * d, "sop", "sps.rpe"),
    ]
    for i in range(config.depth):
        b = f"blocks.{i}"
        hidden = config.mlp_hidden(i)
        ops += [
            LayerOps(f"{b}.qkv", 3 * n * d * d, "sop", f"{b}.qkv", binary=False),
            LayerOps(f"{b}.attn_qk", n * n * d, "sop", f"{b}.attn_qk"),
            LayerOps(f"{b}.attn_v", n * n * d, "sop", f"{b}.attn_v"),
            LayerOps(f"{b}.proj", n * d * d, "sop", f"{b}.proj"),
            LayerOps(f"{b}.fc1", n * d * hidden, "sop", f"{b}.fc1", binary=False),
            LayerOps(f"{b}.fc2", n * hidden * d, "sop", f"{b}.fc2"),
        ]
    ops.append(LayerOps("head", d * num_classes, "mac", None, per_step=False))
    return ops
