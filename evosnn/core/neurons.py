"""Neuron models: which genes each uses and how many levels its spikes take (no torch).

A block's ``neuron`` gene picks the model of the neurons after its channel-mixing layers (the
projection and both MLP layers). The token mixers' neurons (q, k, v, the token linear and the
attention neurons) stay binary LIFs, so attention stays spike-driven (SDSA's mask needs binary q).

* ``lif``: Spikformer's LIF (hard reset); the ``threshold`` and ``tau`` genes apply.
* ``ilif``: the integer LIF of SpikeYOLO (Luo et al., ECCV 2024; BICLab/SpikeYOLO
  ``mem_update`` / ``MultiSpike``): ``U[t] = 0.25 (U[t-1] - S[t-1]) + X[t]``,
  ``S[t] = round(clamp(U[t], 0, D))`` (soft reset, straight-through gradient inside ``[0, D]``).
  A spike of level ``s`` is ``s`` unit spikes on ``D`` virtual steps. The ``level`` gene is ``D``;
  the reference fixes its decay and firing step, so these neurons use no ``threshold`` or ``tau``.
* ``plif``: the parametric LIF of Fang et al. (ICCV 2021; spikingjelly ``ParametricLIFNode``): a
  LIF whose ``1 / tau = sigmoid(w)`` is learned per layer (initialised at tau 2); ``threshold``
  applies, its ``tau`` is learned. Chosen over ALIF because its definition is one equation in
  an official implementation, and it is the Spike-driven Transformer's ``spike_mode="plif"``.

The ``threshold`` and ``tau`` genes stay live in every block all the same: the block's mixer
neurons (q, k, v or the token linear, and the attention neuron's tau) take them whatever the
model (:func:`evosnn.core.config.inert_block_genes`); only ``level`` is inert for the binary
models.

Firing rates keep one meaning for every model: the mean output value per neuron and time step, so
an integer spike of level ``s`` counts ``s`` spikes (its ``D`` virtual steps carry ``rate / D`` per
virtual step).

Example:
    >>> NEURONS["ilif"].uses_tau, NEURONS["ilif"].uses_level, NEURONS["plif"].uses_threshold
    (False, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LEVEL", "DEFAULT_NEURON", "NEURONS", "NeuronSpec"]

#: The neuron model of every block that does not name one.
DEFAULT_NEURON = "lif"
#: SpikeYOLO's integer level D (its ``MultiSpike4``).
DEFAULT_LEVEL = 4


@dataclass(frozen=True)
class NeuronSpec:
    """What the genome and the counts need to know of one neuron model."""

    name: str
    uses_threshold: bool
    uses_tau: bool
    uses_level: bool = False

    def levels(self, level: int) -> int:
        """The largest spike value (``D`` for integer neurons, 1 for binary ones)."""
        return level if self.uses_level else 1


#: The registered neuron models, in the order spaces list them.
NEURONS: dict[str, NeuronSpec] = {
    "lif": NeuronSpec("lif", uses_threshold=True, uses_tau=True),
    "ilif": NeuronSpec("ilif", uses_threshold=False, uses_tau=False, uses_level=True),
    "plif": NeuronSpec("plif", uses_threshold=True, uses_tau=False),
}
