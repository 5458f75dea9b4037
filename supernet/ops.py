"""Computations shared by the supernet and the stand-alone Spikformer (one definition each)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F

from evosnn.core.geometry import SPIKFORMER_ATTENTION_SCALE
from supernet.spike_stats import SpikeStats

__all__ = [
    "ATTENTION_SCALE",
    "ATTENTION_THRESHOLD",
    "SPSLayers",
    "along_tokens",
    "block_forward",
    "classify",
    "max_pool",
    "select_frames",
    "spiking_attention",
    "sps_forward",
]

#: Spikformer's fixed attention scale (no softmax); a geometry may set another.
ATTENTION_SCALE = SPIKFORMER_ATTENTION_SCALE
#: Threshold of the LIF after the attention product; it does not follow the block's threshold gene.
ATTENTION_THRESHOLD = 0.5


def spiking_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, scale: float = ATTENTION_SCALE
) -> torch.Tensor:
    """Spiking self-attention ``(q kᵀ) v * scale`` per head, no softmax (Spikformer: 0.125).

    ``q, k, v`` are spike tensors ``[T, B, N, D]``; ``D`` is split into ``heads`` heads of ``D /
    heads`` channels, so the head count changes which products are summed. Without a softmax the
    product is associative and every intermediate is an exact small integer in float32, so the
    cheaper order (``q (kᵀ v)`` when ``N > D / heads``) gives bit-identical results.
    """
    t, b, n, d = q.shape
    hd = d // heads
    q, k, v = (x.reshape(t, b, n, heads, hd).transpose(2, 3) for x in (q, k, v))
    out = q @ (k.transpose(-2, -1) @ v) if n > hd else (q @ k.transpose(-2, -1)) @ v
    return (out * scale).transpose(2, 3).reshape(t, b, n, d)


def along_tokens(layer: Layer, x: torch.Tensor) -> torch.Tensor:
    """Apply a layer of the last dim along the token axis of ``[T, B, N, D]`` (token mixing)."""
    return layer(x.transpose(2, 3)).transpose(2, 3)


def max_pool(x: torch.Tensor) -> torch.Tensor:
    """Spikformer's 3x3 stride-2 max-pool over ``[T, B, C, H, W]``."""
    t, b = x.shape[:2]
    y = F.max_pool2d(x.flatten(0, 1), kernel_size=3, stride=2, padding=1)
    return y.view(t, b, *y.shape[1:])


def classify(tokens: torch.Tensor, head: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Mean over tokens, linear head per time step, mean over time: ``[T, B, N, D] -> [B, K]``."""
    return F.linear(tokens.mean(2), head, bias).mean(0)


Layer = Callable[[torch.Tensor], torch.Tensor]


def select_frames(frames: torch.Tensor, steps: int, bank: Sequence[int]) -> torch.Tensor:
    """The ``steps`` frames of a frame bank ``[B, S, C, H, W]``, time first: ``[T, B, C, H, W]``.

    Event data are binned once for every frame count of ``bank`` (ascending) and the bank holds
    them one after the other (``S = sum(bank)``), so a subnet with T time steps reads the
    recording binned into exactly T frames.
    """
    if steps not in bank:
        raise ValueError(f"time steps {steps} were not binned (frame counts {list(bank)})")
    if frames.shape[1] != sum(bank):
        raise ValueError(
            f"expected a bank of {sum(bank)} frames (counts {list(bank)}), got {frames.shape[1]}"
        )
    start = sum(n for n in bank if n < steps)
    return frames[:, start : start + steps].transpose(0, 1)


class SPSLayers(NamedTuple):
    """The layers of the spiking patch splitter, as :func:`sps_forward` calls them."""

    #: The first conv + BN on the input.
    first_currents: Layer
    #: Its neurons.
    first_lif: Layer
    #: The three spike-driven conv+BN+LIF stages.
    stages: Sequence[Layer]
    #: The relative-position conv+BN+LIF.
    rpe: Layer


def sps_forward(
    images: torch.Tensor,
    layers: SPSLayers,
    steps: int,
    stats: SpikeStats | None,
    pool_after: Sequence[bool] = (False, False, True, True),
    bank: Sequence[int] = (),
) -> torch.Tensor:
    """Spiking patch splitting ``[B, C, H, W]`` (or a frame bank ``[B, S, C, H, W]``) ``-> [T, B, N, D]``.

    ``layers`` are the first conv + BN, its neurons, the three spike-driven stages and the
    relative-position conv (:class:`SPSLayers`);
    ``pool_after[i]`` says whether stage ``i`` ends in a max-pool (:func:`evosnn.core.config.
    sps_pool_after`). A static image is the same at every time step, so the first conv runs once and
    its currents are presented T times (the energy model still counts its MACs at every step). Event
    frames differ per step: the T frames of ``bank`` are convolved one by one, and their event counts
    are recorded as the first layer's input activity (``sps.conv0``).
    """
    if images.dim() == 5:
        seq = select_frames(images, steps, bank)
        if stats is not None:
            stats.record("sps.conv0", seq)
        y = layers.first_currents(seq.flatten(0, 1))
        x = layers.first_lif(y.view(steps, -1, *y.shape[1:]))
    else:
        y = layers.first_currents(images)
        x = layers.first_lif(y.unsqueeze(0).expand(steps, *y.shape))
    if pool_after[0]:
        x = max_pool(x)
    for i, stage in enumerate(layers.stages, start=1):
        if stats is not None:
            stats.record(f"sps.conv{i}", x)
        x = stage(x)
        if pool_after[i]:
            x = max_pool(x)
    if stats is not None:
        stats.record("sps.rpe", x)
    x = x + layers.rpe(x)
    return x.flatten(-2).transpose(-1, -2)


def block_forward(
    x: torch.Tensor,
    *,
    mix: Layer,
    proj: Layer,
    fc1: Layer,
    fc2: Layer,
    stats: SpikeStats | None,
    name: str,
) -> torch.Tensor:
    """One block on tokens ``[T, B, N, D]``: ``x + proj(mix(x))``, then the spiking MLP.

    ``mix`` is the block's token mixer (:mod:`supernet.mixers`), which records its own inputs;
    the other layers map ``[T, B, N, C_in]`` to spikes ``[T, B, N, C_out]`` (Linear+BN+LIF).
    ``stats`` receives ``name.proj`` (the mixer's output spikes), ``name.fc1``, ``name.fc2`` and the
    block's output (``name.out``).
    """
    a = mix(x)
    if stats is not None:
        stats.record(f"{name}.proj", a)
    x = x + proj(a)
    if stats is not None:
        stats.record(f"{name}.fc1", x)
    h = fc1(x)
    if stats is not None:
        stats.record(f"{name}.fc2", h)
    out = x + fc2(h)
    if stats is not None:
        stats.record(f"{name}.out", out)
    return out
