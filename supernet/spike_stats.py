"""SpikeStats: the measured input activity of every synaptic layer, for the energy model.

The model calls :meth:`SpikeStats.record` with the tensor that *enters* each synaptic operation
(the spikes a linear or conv layer multiplies, the spike operands of the attention products). Sums
stay on the device until :meth:`rates` is read, so recording costs one reduction per layer and no
synchronisation.
"""

from __future__ import annotations

import torch

__all__ = ["SpikeStats"]


class SpikeStats:
    """Accumulates, per named layer, the sum of input values and the number of input elements.

    The *rate* of a layer is ``sum / elements``: for binary spikes the firing rate; for residual sums
    of spike tensors (values 0, 1, 2, ...) each unit counts as one accumulate.
    """

    def __init__(self) -> None:
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, int] = {}

    def record(self, name: str, x: torch.Tensor) -> None:
        """Add the activity of ``x`` (any shape, including the time dimension) under ``name``."""
        # float32 reduction (fast; integer counts below 2**24 per batch are exact), float64 running sum
        self.add(name, x.detach().sum().double(), x.numel())

    def add(self, name: str, total: torch.Tensor, elements: int) -> None:
        """Add an already reduced activity (``total``, a float64 0-dim tensor, over ``elements``)
        under ``name``: what :meth:`record` adds, so a cached record replays bit for bit."""
        if name in self._sums:
            self._sums[name] = self._sums[name] + total
            self._counts[name] += elements
        else:
            self._sums[name] = total
            self._counts[name] = elements

    def rates(self) -> dict[str, float]:
        """Mean input value per element, by layer name, in recording order."""
        return {name: float(s) / self._counts[name] for name, s in self._sums.items()}

    def __len__(self) -> int:
        return len(self._sums)
