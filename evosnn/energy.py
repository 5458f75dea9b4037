"""Energy of a spiking subnet per image, by the SNN field's 45 nm convention.

``E = E_MAC * MACs + E_AC * SOPs`` with:

* MACs: layers with real-valued input, counted at every time step: the first patch-splitting conv
  (it sees pixels) and the classifier (it sees token-averaged values): ``T x FLOPs``.
* SOPs: every other conv / linear layer and both attention products: ``rate x T x FLOPs``, where
  ``rate`` is the measured mean value of the layer's input (the firing rate for binary spikes; a
  residual sum of spike tensors counts each unit as one accumulate). See
  :func:`evosnn.sizes.layer_ops` for the exact rule for ``q·kᵀ`` and ``(q·kᵀ)·v``.
* BatchNorm folds into the preceding layer and costs nothing.

Defaults: E_MAC = 4.6 pJ, E_AC = 0.9 pJ (Horowitz, 45 nm, 32-bit float).

Example:
    >>> model = EnergyModel()
    >>> est = model.estimate(config, image_size=32, in_channels=3, num_classes=10,
    ...                      rates=all_ones)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from evosnn.config import SubnetConfig
from evosnn.sizes import layer_ops

__all__ = ["EnergyEstimate", "EnergyModel"]

PJ_PER_MJ = 1e9


@dataclass(frozen=True)
class EnergyEstimate:
    """Per-image operation counts and energy; ``per_layer_mj`` in network order."""

    macs: float
    sops: float
    energy_mj: float
    per_layer_mj: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EnergyModel:
    """Energy per operation in picojoules."""

    e_mac_pj: float = 4.6
    e_ac_pj: float = 0.9

    def __post_init__(self) -> None:
        for name in ("e_mac_pj", "e_ac_pj"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite non-negative number, got {value}")

    def estimate(
        self,
        config: SubnetConfig,
        *,
        image_size: int,
        in_channels: int,
        num_classes: int,
        rates: Mapping[str, float],
    ) -> EnergyEstimate:
        """Energy of one image through ``config`` given the measured input ``rates`` per layer.

        Raises:
            ValueError: a spike-driven layer has no measured rate, or a rate is not finite.
        """
        steps = config.time_steps
        macs = sops = 0.0
        per_layer: dict[str, float] = {}
        for op in layer_ops(
            config, image_size=image_size, in_channels=in_channels, num_classes=num_classes
        ):
            if op.kind == "mac":
                count = float(steps * op.flops)
                macs += count
                per_layer[op.name] = count * self.e_mac_pj / PJ_PER_MJ
                continue
            assert op.rate is not None
            if op.rate not in rates:
                raise ValueError(f"no measured input rate for layer {op.rate!r}")
            rate = float(rates[op.rate])
            if not (math.isfinite(rate) and rate >= 0):
                raise ValueError(f"input rate of {op.rate!r} is {rate}")
            count = rate * steps * op.flops
            sops += count
            per_layer[op.name] = count * self.e_ac_pj / PJ_PER_MJ
        energy = (self.e_mac_pj * macs + self.e_ac_pj * sops) / PJ_PER_MJ
        return EnergyEstimate(macs=macs, sops=sops, energy_mj=energy, per_layer_mj=per_layer)
