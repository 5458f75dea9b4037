"""LayerOps: one synaptic operation of a network, per image, as the energy conventions count it.

Plain data (no torch): :func:`evosnn.core.sizes.layer_ops` lists a subnet's operations, each token
mixer (:mod:`evosnn.core.mixers`) states its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["LayerOps"]


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

    The memory-aware convention also needs the layer's sizes per time step: ``inputs`` (input
    elements), ``weights`` (operand values held in memory: weights, or for the attention products
    the spikes of k and the integer attention map), ``neurons`` (LIF neurons updated every step; 0
    where no LIF follows), ``outputs`` (output elements written; after a max-pool, which fuses into
    the write, the pooled ones). ``in_bits`` is the width of one input value (1 for spikes, the
    bit length of the largest residual sum, 8 for pixels; 0: the accumulator width),
    ``operand_bits`` the width of one operand (0: the model's weight bits), ``out_bits`` the width of
    one written output (0: the accumulator width). ``out_rate`` gives the output activity as a
    linear combination of measured entries (a residual add's output rate is the sum's rate minus
    the other summand's); empty where the output is written densely (attention map, logits).
    ``accumulates`` is False for a mask (SDSA's ``q ⊙ kv``): each input event reads one operand bit
    and may write one output spike, with no add and no potential (the memory-aware convention
    prices it so; the arithmetic conventions still count each event as one operation).
    ``neuron_steps`` is how often each neuron updates per time step: ``D`` for an integer neuron
    (``ilif``), whose spike of level ``s`` is ``s`` unit spikes on ``D`` virtual steps.
    """

    name: str
    flops: int
    kind: Literal["mac", "sop"]
    rate: str | None
    binary: bool = True
    per_step: bool = True
    inputs: int = 0
    weights: int = 0
    neurons: int = 0
    outputs: int = 0
    in_bits: int = 1
    operand_bits: int = 0
    out_bits: int = 1
    out_rate: tuple[tuple[str, float], ...] = ()
    accumulates: bool = True
    neuron_steps: int = 1
