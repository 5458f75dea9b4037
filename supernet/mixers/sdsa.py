"""``sdsa``: the Spike-driven Transformer's spike-driven self-attention (Yao et al., NeurIPS 2023).

As its official code computes it (BICLab/Spike-Driven-Transformer, ``module/ms_conv.py``,
``MS_SSA_Conv.forward``): ``kv = Σ_tokens k ⊙ v`` per head and channel, a spiking neuron with
threshold 0.5 on ``kv`` (its ``talking_heads_lif``; the ``talking_heads`` convolution it defines is
never called), then ``q ⊙ kv``, which feeds the projection. No scale, no softmax. Every operation
is per channel, so splitting channels into heads changes nothing: the heads gene is inert.

Placed where SSA's ``q kᵀ v`` product and attention neuron are; q, k and v are the block's (shared
with ``ssa`` in the supernet). The reference's q/k/v are bias-free 1x1 convolutions after a
membrane-shortcut LIF; here they are the block's Linear+BN+LIF of the residual stream, as SSA's.
"""

from __future__ import annotations

import torch

from supernet.mixers.base import Mixer, Parts, qkv_spikes
from supernet.spike_stats import SpikeStats

__all__ = ["SDSA"]


class SDSA(Mixer):
    """Records ``name.qkv`` (x), ``name.attn_q``, ``name.attn_k``, ``name.attn_v`` (the spikes of
    q, k, v) and ``name.attn_kv`` (the kv neuron's spikes)."""

    name = "sdsa"
    uses_qkv = True
    neurons = ("kv_lif",)

    def mix(
        self, x: torch.Tensor, parts: Parts, stats: SpikeStats | None, name: str
    ) -> torch.Tensor:
        qs, ks, vs = qkv_spikes(x, parts, stats, name)
        kv = parts.own["kv_lif"]((ks * vs).sum(dim=2, keepdim=True))
        if stats is not None:
            stats.record(f"{name}.attn_q", qs)
            stats.record(f"{name}.attn_k", ks)
            stats.record(f"{name}.attn_v", vs)
            stats.record(f"{name}.attn_kv", kv)
        return qs * kv
