"""Token mixers: what each searched block operator costs, counted from its sizes alone (no torch).

A block is ``x + proj(mix(x))`` then the spiking MLP; the per-block ``mixer`` gene picks ``mix``:

* ``ssa``: Spikformer's spiking self-attention, ``LIF_0.5(q kᵀ v * scale)`` per head (q, k, v:
  Linear+BN+LIF of x). Its two spike matrix products cost ``N·N·D`` each: quadratic in tokens.
* ``sdsa``: the Spike-driven Transformer's spike-driven self-attention (Yao et al., NeurIPS 2023;
  BICLab/Spike-Driven-Transformer ``module/ms_conv.py``): ``kv = LIF_0.5(Σ_tokens k ⊙ v)`` per
  channel, then ``q ⊙ kv``: masks and additions, ``N·D`` each, linear in tokens. The head split is
  a reshape of per-channel operations, so the heads gene is inert.
* ``mlp``: a spiking token-mixing MLP (after Li et al., arXiv 2306.12465): Linear over the token
  axis (``N -> N``, per channel) + BatchNorm + LIF. Its input is x (spikes or small residual
  integers), so it multiplies no real values at inference: ``D·N·N`` accumulates. No heads.

Each mixer states here what the parameter count and the energy model need: its parameters, its
synaptic layers (:class:`evosnn.core.sizes.LayerOps`, up to the projection, which every mixer
shares), the rate entries it records, and whether heads matter. Its computation lives in
:mod:`supernet.mixers`; a test keeps the two registries equal. Adding a mixer is one entry here and
one module there.

Example:
    >>> [m.name for m in MIXERS.values()], MIXERS["sdsa"].uses_heads
    (['ssa', 'sdsa', 'mlp'], False)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evosnn.core.layer_ops import LayerOps

__all__ = ["DEFAULT_MIXER", "MIXERS", "MixerSpec"]

#: The mixer of every block of a space, config or export that does not name one.
DEFAULT_MIXER = "ssa"


def _linear_bn(d_in: int, d_out: int, bias: bool = True) -> int:
    """Linear (with or without bias) + BatchNorm (weight and bias per output)."""
    return d_in * d_out + bias * d_out + 2 * d_out


@dataclass(frozen=True)
class MixerSpec:
    """What the counts need to know of one token mixer.

    Attributes:
        name: the gene value (``mixer`` choice).
        uses_heads: whether the ``num_heads`` gene changes the computation.
        params: parameters of the mixer's own layers (q, k, v or the token linear), given
            ``(embed_dim, tokens, qkv_bias)``; the shared projection is counted by the block.
        ops: the mixer's synaptic layers of block ``b`` (``(b, embed_dim, heads, tokens,
            in_bits)``), in order; ``in_bits`` is the bit width of x, a residual sum.
        input: the rate entry (suffix) of the mixer's input x, a residual sum of spikes.
        spike_entries: the rate entries (suffixes) of the mixer's own spike tensors, other than
            its input (each a plain spike rate; the uniform-rate baseline sets them all).
        operands: entries whose silence on every image makes the heads gene inert.
        block_neurons: whether the mixer has neurons that take the block's ``threshold`` and
            ``tau`` genes (q, k, v or a token linear): then those genes stay live whatever the
            block's neuron model.
    """

    name: str
    uses_heads: bool
    params: Callable[[int, int, bool], int]
    ops: Callable[[str, int, int, int, int], list[LayerOps]]
    input: str
    spike_entries: tuple[str, ...]
    operands: tuple[str, ...] = ()
    block_neurons: bool = True


def _ssa_ops(b: str, d: int, heads: int, n: int, in_bits: int) -> list[LayerOps]:
    map_bits = (d // heads).bit_length()  # q·kᵀ entries lie in 0..d/heads
    qkv_out = tuple((f"{b}.{x}", 1 / 3) for x in ("attn_qk", "attn_k", "attn_v"))
    return [
        LayerOps(f"{b}.qkv", 3 * n * d * d, "sop", f"{b}.qkv", binary=False, inputs=n * d,
                 weights=3 * d * d, neurons=3 * n * d, outputs=3 * n * d, in_bits=in_bits,
                 out_rate=qkv_out),
        LayerOps(f"{b}.attn_qk", n * n * d, "sop", f"{b}.attn_qk", inputs=n * d, weights=n * d,
                 outputs=heads * n * n, operand_bits=1, out_bits=map_bits),
        LayerOps(f"{b}.attn_v", n * n * d, "sop", f"{b}.attn_v", inputs=n * d,
                 weights=heads * n * n, neurons=n * d, outputs=n * d, operand_bits=map_bits,
                 out_rate=((f"{b}.proj", 1.0),)),
    ]  # fmt: skip


def _sdsa_ops(b: str, d: int, heads: int, n: int, in_bits: int) -> list[LayerOps]:
    """q, k, v as SSA's; ``Σ_tokens k ⊙ v`` driven by v's spikes reading k's (one potential per
    channel, the kv LIF); ``q ⊙ kv`` driven by q's spikes reading kv's (no neuron: binary out)."""
    qkv_out = tuple((f"{b}.{x}", 1 / 3) for x in ("attn_q", "attn_k", "attn_v"))
    return [
        LayerOps(f"{b}.qkv", 3 * n * d * d, "sop", f"{b}.qkv", binary=False, inputs=n * d,
                 weights=3 * d * d, neurons=3 * n * d, outputs=3 * n * d, in_bits=in_bits,
                 out_rate=qkv_out),
        LayerOps(f"{b}.attn_kv", n * d, "sop", f"{b}.attn_v", inputs=n * d, weights=n * d,
                 neurons=d, outputs=d, operand_bits=1, out_rate=((f"{b}.attn_kv", 1.0),)),
        LayerOps(f"{b}.attn_mask", n * d, "sop", f"{b}.attn_q", inputs=n * d, weights=d,
                 outputs=n * d, operand_bits=1, out_rate=((f"{b}.proj", 1.0),),
                 accumulates=False),
    ]  # fmt: skip


def _mlp_ops(b: str, d: int, heads: int, n: int, in_bits: int) -> list[LayerOps]:
    """One token linear per channel (``N x N`` weights shared across channels) + BN + LIF."""
    return [
        LayerOps(f"{b}.tok", d * n * n, "sop", f"{b}.tok", binary=False, inputs=n * d,
                 weights=n * n, neurons=n * d, outputs=n * d, in_bits=in_bits,
                 out_rate=((f"{b}.proj", 1.0),)),
    ]  # fmt: skip


#: The registered token mixers, in the order spaces list them.
MIXERS: dict[str, MixerSpec] = {
    "ssa": MixerSpec(
        "ssa",
        uses_heads=True,
        params=lambda d, n, bias: 3 * _linear_bn(d, d, bias),
        ops=_ssa_ops,
        input="qkv",
        spike_entries=("attn_qk", "attn_k", "attn_v"),
        operands=("attn_qk", "attn_k", "attn_v"),
    ),
    "sdsa": MixerSpec(
        "sdsa",
        uses_heads=False,
        params=lambda d, n, bias: 3 * _linear_bn(d, d, bias),
        ops=_sdsa_ops,
        input="qkv",
        spike_entries=("attn_q", "attn_k", "attn_v", "attn_kv"),
    ),
    "mlp": MixerSpec(
        "mlp",
        uses_heads=False,
        params=lambda d, n, bias: _linear_bn(n, n),
        ops=_mlp_ops,
        input="tok",
        spike_entries=(),
    ),
}
