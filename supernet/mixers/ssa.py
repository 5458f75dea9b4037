"""``ssa``: Spikformer's spiking self-attention, ``LIF_0.5(q kᵀ v * scale)`` per head, no softmax."""

from __future__ import annotations

import torch

from supernet.mixers.base import Mixer, Parts, qkv_spikes
from supernet.ops import spiking_attention
from supernet.spike_stats import SpikeStats

__all__ = ["SSA"]


class SSA(Mixer):
    """Records ``name.qkv`` (x), ``name.attn_qk`` (q, the spike operand of q·kᵀ), ``name.attn_k``
    (k's spikes) and ``name.attn_v`` (v, the spike operand of (q·kᵀ)·v)."""

    name = "ssa"
    uses_qkv = True
    neurons = ("attn_lif",)

    def mix(
        self, x: torch.Tensor, parts: Parts, stats: SpikeStats | None, name: str
    ) -> torch.Tensor:
        qs, ks, vs = qkv_spikes(x, parts, stats, name)
        if stats is not None:
            stats.record(f"{name}.attn_qk", qs)
            stats.record(f"{name}.attn_k", ks)
            stats.record(f"{name}.attn_v", vs)
        return parts.own["attn_lif"](spiking_attention(qs, ks, vs, parts.heads, parts.scale))
