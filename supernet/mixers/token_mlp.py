"""``mlp``: a spiking token-mixing MLP (after Li et al., arXiv 2306.12465, "Efficient Deep Spiking
Multi-Layer Perceptrons with Multiplication-Free Inference").

One Linear over the token axis (``N -> N``, the same weights for every channel), its BatchNorm
(over the N outputs) and a LIF with the block's neuron settings: ``LIF(BN(W x_c + b))`` for every
channel ``c``. Its input is the block's residual stream (spikes, or small integers where spike
tensors were summed), so inference needs no multiplication of real values. No heads.
"""

from __future__ import annotations

import torch

from supernet.mixers.base import Mixer, Parts
from supernet.spike_stats import SpikeStats

__all__ = ["TokenMLP"]


class TokenMLP(Mixer):
    """Records ``name.tok`` (x, the token linear's input)."""

    name = "mlp"
    token_linears = ("tok",)

    def mix(
        self, x: torch.Tensor, parts: Parts, stats: SpikeStats | None, name: str
    ) -> torch.Tensor:
        if stats is not None:
            stats.record(f"{name}.tok", x)
        return parts.own["tok"](x)
