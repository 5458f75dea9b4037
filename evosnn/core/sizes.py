"""Sizes of a subnet computed from its configuration alone: parameters and per-layer FLOPs.

No model is built and no torch is imported, so constraints can be checked before any evaluation is
spent. ``count_params`` counts every parameter the forward pass uses (conv weights have no bias;
linear layers do; BN has a weight and a bias per channel; running statistics are buffers).
"""

from __future__ import annotations

from evosnn.core.config import SubnetConfig, sps_widths
from evosnn.core.geometry import Geometry
from evosnn.core.layer_ops import LayerOps
from evosnn.core.mixers import MIXERS

__all__ = ["INPUT_RATE", "PIXEL_BITS", "LayerOps", "count_params", "layer_ops", "residual_peak"]


def count_params(config: SubnetConfig, geometry: Geometry) -> int:
    """Number of parameters of the stand-alone Spikformer of ``config`` on ``geometry``.

    Example:
        >>> cfg = SubnetConfig(depth=4, embed_dim=384, mlp_ratio=(4.0,) * 4, num_heads=(12,) * 4,
        ...                    threshold=(1.0,) * 4, tau=(2.0,) * 4, time_steps=4)
        >>> cifar10 = Geometry(image_size=32, in_channels=3, num_classes=10)
        >>> count_params(cfg, cifar10)  # Spikformer-4-384 on CIFAR-10
        9324730
    """
    d = config.embed_dim
    total = 0
    c_in = geometry.in_channels
    for width in (*sps_widths(d), d):  # four stages, then the relative-position conv (d -> d)
        total += 9 * c_in * width + 2 * width
        c_in = width
    for i in range(config.depth):
        hidden = config.mlp_hidden(i)
        total += MIXERS[config.mixer[i]].params(d, geometry.tokens, geometry.qkv_bias)
        total += d * d + d + 2 * d  # projection: linear + BN
        total += d * hidden + hidden + 2 * hidden  # fc1 + BN
        total += hidden * d + d + 2 * d  # fc2 + BN
        if config.neuron[i] == "plif":
            total += 3  # the learned time constant of proj, fc1 and fc2
    return total + d * geometry.num_classes + geometry.num_classes


#: The :class:`supernet.SpikeStats` entry of the first layer's input on event data: the event
#: counts of the frames the subnet reads (its T of the frame bank), recorded by the model itself.
INPUT_RATE = "sps.conv0"
#: Bits of one pixel presented to the first layer.
PIXEL_BITS = 8


def _first_layer(
    h: int, h_out: int, in_channels: int, width: int, *, event_input: bool
) -> LayerOps:
    """The first conv (reads an ``h`` x ``h`` input, hands on ``h_out`` x ``h_out`` after its
    max-pool, if any): MACs on pixels, or accumulates driven by the measured input events."""
    flops = h * h * 9 * in_channels * width
    inputs, weights, neurons = h * h * in_channels, 9 * in_channels * width, h * h * width
    outputs = h_out * h_out * width
    out = (("sps.conv1", 1.0),)
    if event_input:
        return LayerOps(
            "sps.conv0", flops, "sop", INPUT_RATE, inputs=inputs, weights=weights,
            neurons=neurons, outputs=outputs, out_rate=out,
        )  # fmt: skip
    return LayerOps(
        "sps.conv0", flops, "mac", None, inputs=inputs, weights=weights, neurons=neurons,
        outputs=outputs, in_bits=PIXEL_BITS, out_rate=out,
    )  # fmt: skip


def _block_ops(config: SubnetConfig, i: int, n: int) -> list[LayerOps]:
    """The synaptic operations of block ``i`` on ``n`` tokens: its mixer's, then the shared
    projection and the MLP."""
    d = config.embed_dim
    b = f"blocks.{i}"
    hidden = config.mlp_hidden(i)
    last = i == config.depth - 1
    mixer = MIXERS[config.mixer[i]]
    fc2_out = (f"{b}.out", 1.0) if last else (f"blocks.{i + 1}.{_input(config, i + 1)}", 1.0)
    level = config.levels(i)  # integer neurons: D virtual updates per step, spikes up to D
    peak = residual_peak(config, i)  # the largest value of the block's input x
    return [
        *mixer.ops(b, d, config.num_heads[i], n, peak.bit_length()),
        LayerOps(f"{b}.proj", n * d * d, "sop", f"{b}.proj", inputs=n * d, weights=d * d,
                 neurons=n * d, outputs=n * d, neuron_steps=level,
                 out_rate=((f"{b}.fc1", 1.0), (f"{b}.{mixer.input}", -1.0))),
        LayerOps(f"{b}.fc1", n * d * hidden, "sop", f"{b}.fc1", binary=False, inputs=n * d,
                 weights=d * hidden, neurons=n * hidden, outputs=n * hidden, neuron_steps=level,
                 in_bits=(peak + level).bit_length(), out_rate=((f"{b}.fc2", 1.0),)),
        LayerOps(f"{b}.fc2", n * hidden * d, "sop", f"{b}.fc2", inputs=n * hidden,
                 weights=hidden * d, neurons=n * d, outputs=n * d, neuron_steps=level,
                 in_bits=level.bit_length(), out_rate=(fc2_out, (f"{b}.fc1", -1.0))),
    ]  # fmt: skip


def residual_peak(config: SubnetConfig, block: int) -> int:
    """The largest value of block ``block``'s input: the patch splitter's sum of two spike
    tensors, plus the projection's and the MLP's spikes (up to ``D`` each) of every earlier block.

    Example:
        >>> from evosnn.core.config import SubnetConfig
        >>> c = SubnetConfig(depth=2, embed_dim=8, mlp_ratio=(1.0,) * 2, num_heads=(1,) * 2,
        ...                  threshold=(1.0,) * 2, tau=(2.0,) * 2, time_steps=1,
        ...                  neuron=("ilif", "lif"), level=(4, 4))
        >>> [residual_peak(c, i) for i in range(3)]
        [2, 10, 12]
    """
    return 2 + sum(2 * config.levels(j) for j in range(block))


def _input(config: SubnetConfig, i: int) -> str:
    """The rate entry suffix of block ``i``'s input (its mixer's)."""
    return MIXERS[config.mixer[i]].input


def layer_ops(config: SubnetConfig, geometry: Geometry) -> list[LayerOps]:
    """Every synaptic layer of ``config`` with its FLOPs (multiply-accumulates) per step and image.

    The attention products are counted in Spikformer's order: ``q·kᵀ`` costs ``N·N·D`` and is driven
    by the spikes of q; ``(q·kᵀ)·v`` costs ``N·N·D`` and is driven by the spikes of v (the attention
    map is integer-valued, v is the spike operand). The classifier sees token- and time-averaged
    real values and counts as MACs, once per image. BatchNorm folds into the preceding layer and
    costs nothing. On event input (``geometry.event_input``) the first conv sees event counts, not
    pixels: its operations are accumulates driven by the measured input activity (entry
    :data:`INPUT_RATE`).
    """
    d = config.embed_dim
    w = sps_widths(d)
    h = geometry.sides  # the side each stage reads, then the token grid's
    n = geometry.tokens
    ops = [_first_layer(h[0], h[1], geometry.in_channels, w[0], event_input=geometry.event_input)]
    for i in (1, 2, 3):
        ops.append(
            LayerOps(f"sps.conv{i}", h[i] ** 2 * 9 * w[i - 1] * w[i], "sop", f"sps.conv{i}",
                     inputs=h[i] ** 2 * w[i - 1], weights=9 * w[i - 1] * w[i],
                     neurons=h[i] ** 2 * w[i], outputs=h[i + 1] ** 2 * w[i],
                     out_rate=((f"sps.conv{i + 1}" if i < 3 else "sps.rpe", 1.0),))
        )  # fmt: skip
    ops.append(
        LayerOps("sps.rpe", n * 9 * d * d, "sop", "sps.rpe", inputs=n * d, weights=9 * d * d,
                 neurons=n * d, outputs=n * d,
                 out_rate=((f"blocks.0.{_input(config, 0)}", 1.0), ("sps.rpe", -1.0)))
    )  # fmt: skip
    for i in range(config.depth):
        ops += _block_ops(config, i, n)
    ops.append(
        LayerOps("head", d * geometry.num_classes, "mac", None, per_step=False, inputs=d,
                 weights=d * geometry.num_classes, outputs=geometry.num_classes, in_bits=0,
                 out_bits=0)
    )  # fmt: skip
    return ops
