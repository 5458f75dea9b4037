"""The token-mixer interface: what one searched block operator computes, given bound layers.

A block is ``x + proj(mix(x))`` then the spiking MLP; ``mix`` is the block's token mixer. A mixer
declares the layers it needs and computes with them as plain callables, so the supernet (weight-
entangled layers, neuron settings per call) and the stand-alone network (layers built to one
subnet) run the same :meth:`Mixer.mix`:

* ``uses_qkv``: the block's q, k and v (Linear+BN+LIF of x, shared by every mixer that uses them);
* ``neurons``: its own LIFs at the attention threshold (0.5) and the block's tau;
* ``token_linears``: its own Linear+BN+LIF over the token axis (``N -> N``), the block's neuron
  settings.

Its counts (parameters, synaptic operations) are stated in :mod:`evosnn.core.mixers`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import torch

from supernet.spike_stats import SpikeStats

__all__ = ["Layer", "Mixer", "Parts", "qkv_spikes"]

Layer = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Parts:
    """The bound layers a mixer computes with in one block.

    ``q``, ``k``, ``v`` map ``[T, B, N, D]`` to spikes (None where the mixer uses none); ``own``
    holds the mixer's neurons (``[T, ...] -> spikes``) and token linears (``[T, B, N, D] ->
    [T, B, N, D]``, mixing along N) by name; ``heads`` and ``scale`` are the block's head count and
    the geometry's attention scale.
    """

    q: Layer | None
    k: Layer | None
    v: Layer | None
    own: Mapping[str, Layer]
    heads: int
    scale: float


def qkv_spikes(
    x: torch.Tensor, parts: Parts, stats: SpikeStats | None, name: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The spikes of the block's q, k and v for ``x`` (recorded as ``name.qkv``, their input)."""
    assert parts.q is not None and parts.k is not None and parts.v is not None
    if stats is not None:
        stats.record(f"{name}.qkv", x)
    return parts.q(x), parts.k(x), parts.v(x)


class Mixer(ABC):
    """One token mixer. Subclasses set the class attributes and implement :meth:`mix`."""

    name: ClassVar[str]
    uses_qkv: ClassVar[bool] = False
    neurons: ClassVar[tuple[str, ...]] = ()
    token_linears: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def mix(
        self, x: torch.Tensor, parts: Parts, stats: SpikeStats | None, name: str
    ) -> torch.Tensor:
        """Spikes ``[T, B, N, D]`` for the block input ``x`` (the projection's input).

        ``stats`` receives the input of each of the mixer's synaptic layers under the entries
        :mod:`evosnn.core.mixers` names (prefixed by ``name``, e.g. ``blocks.0``).
        """
