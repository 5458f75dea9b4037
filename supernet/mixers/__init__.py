"""Token mixers, one module each, registered by gene value (see :mod:`supernet.mixers.base`)."""

from __future__ import annotations

from supernet.mixers.base import Layer, Mixer, Parts
from supernet.mixers.sdsa import SDSA
from supernet.mixers.ssa import SSA
from supernet.mixers.token_mlp import TokenMLP

__all__ = ["MIXERS", "Layer", "Mixer", "Parts"]

#: The token mixers by gene value; :data:`evosnn.core.mixers.MIXERS` holds their counts.
MIXERS: dict[str, Mixer] = {m.name: m for m in (SSA(), SDSA(), TokenMLP())}
