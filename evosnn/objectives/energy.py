"""Energy of a spiking subnet per image, by the SNN field's 45 nm convention.

``E = E_MAC * MACs + E_AC * SOPs`` with:

* MACs: layers with real-valued input: the first patch-splitting conv (it sees pixels) at every
  time step, ``T x FLOPs``, and the classifier once per image on the time-averaged features
  (``FLOPs``), as the reference model runs it.
* SOPs: every other conv / linear layer and both attention products: ``rate x T x FLOPs``, where
  ``rate`` is the measured mean value of the layer's input (the firing rate for binary spikes). See
  :func:`evosnn.core.sizes.layer_ops` for the exact rule for ``q·kᵀ`` and ``(q·kᵀ)·v``.
* BatchNorm folds into the preceding layer and costs nothing.

Two conventions differ on the layers whose input is not binary (Spikformer's residual sums of spike
tensors feed q, k, v and the MLP's first layer):

* ``spikformer`` (Spikformer's counting, the default): a residual sum counts each unit as one
  accumulate, ``mean value x T x FLOPs`` SOPs;
* ``strict`` (the syops-counter tool, later spike-driven transformer papers): such a layer counts
  its FLOPs as MACs at every step, ``T x FLOPs``. The same Spikformer costs about 2.5x more.

Defaults: E_MAC = 4.6 pJ, E_AC = 0.9 pJ (Horowitz, 45 nm, 32-bit float).

A third convention, ``memory`` (:mod:`evosnn.objectives.memory`), adds what the arithmetic counts
leave out: reads and writes of weights, membrane potentials and spikes, and the neuron updates,
priced by a hardware profile (:mod:`evosnn.objectives.hardware`) under an explicit dataflow. On
event input (:attr:`Geometry.event_input`) the first conv sees event counts, not pixels, and its
operations are accumulates driven by the measured input rate under every convention.

Example:
    >>> from evosnn.core.config import SubnetConfig
    >>> from evosnn.core.sizes import layer_ops
    >>> config = SubnetConfig(depth=1, embed_dim=16, mlp_ratio=(1.0,), num_heads=(2,),
    ...                       threshold=(1.0,), tau=(2.0,), time_steps=2)
    >>> geometry = Geometry(image_size=8, in_channels=1, num_classes=4)
    >>> rates = {op.rate: 0.1 for op in layer_ops(config, geometry) if op.rate}
    >>> spikformer = EnergyModel().estimate(config, geometry, rates=rates)
    >>> strict = EnergyModel(convention="strict").estimate(config, geometry, rates=rates)
    >>> spikformer.macs, strict.macs  # first conv twice + head once; strict adds qkv and fc1
    (2368.0, 10560.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from evosnn.core.config import SubnetConfig
from evosnn.core.geometry import Geometry
from evosnn.core.sizes import LayerOps, layer_ops
from evosnn.objectives.hardware import load_profile
from evosnn.objectives.memory import TERMS, Dataflow, layer_terms

if TYPE_CHECKING:
    from evosnn.core.space import EnergySpec, SearchSpace

__all__ = ["CONVENTIONS", "Convention", "EnergyEstimate", "EnergyModel"]

Convention = Literal["spikformer", "strict", "memory"]
#: The counting conventions, in the order they are reported.
CONVENTIONS: tuple[Convention, ...] = ("spikformer", "strict", "memory")

PJ_PER_MJ = 1e9


@dataclass(frozen=True)
class EnergyEstimate:
    """Per-image operation counts and energy; ``per_layer_mj`` in network order; ``terms_mj`` the
    energy by term (memory-aware: arithmetic, weights, potentials, spikes in, neurons, spikes out;
    the arithmetic conventions: macs and sops)."""

    macs: float
    sops: float
    energy_mj: float
    per_layer_mj: dict[str, float] = field(default_factory=dict)
    terms_mj: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EnergyModel:
    """Energy per operation in picojoules, the convention that counts the operations, and (for the
    memory-aware convention) the hardware profile, dataflow and bit widths."""

    e_mac_pj: float = 4.6
    e_ac_pj: float = 0.9
    convention: Convention = "spikformer"
    profile: str = "cmos45-horowitz"
    dataflow: Dataflow = "event-driven"
    weight_bits: int = 8
    potential_bits: int = 16

    def __post_init__(self) -> None:
        for name in ("e_mac_pj", "e_ac_pj"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite non-negative number, got {value}")
        if self.convention not in CONVENTIONS:
            raise ValueError(f"convention must be one of {CONVENTIONS}, got {self.convention!r}")
        for name in ("weight_bits", "potential_bits"):
            if not 1 <= getattr(self, name) <= 32:
                raise ValueError(f"{name} must lie in 1..32, got {getattr(self, name)}")

    @classmethod
    def from_spec(cls, spec: EnergySpec) -> EnergyModel:
        """The energy model a search space's ``energy`` section declares.

        Raises:
            SpaceError: the profile is unknown or its file has a wrong field (named).
        """
        load_profile(spec.profile)  # fail now, naming the file and field, not mid-search
        return cls(
            e_mac_pj=spec.e_mac_pj,
            e_ac_pj=spec.e_ac_pj,
            convention=spec.convention,
            profile=spec.profile,
            dataflow=spec.dataflow,
            weight_bits=spec.weight_bits,
            potential_bits=spec.potential_bits,
        )

    @classmethod
    def for_space(cls, space: SearchSpace) -> EnergyModel:
        """The energy model of ``space`` (its ``energy`` section)."""
        return cls.from_spec(space.energy)

    def with_convention(self, convention: Convention) -> EnergyModel:
        """The same model under another convention."""
        return replace(self, convention=convention)

    def ops(self, config: SubnetConfig, geometry: Geometry) -> list[LayerOps]:
        """The synaptic layers this model counts (see :func:`evosnn.core.sizes.layer_ops`)."""
        return layer_ops(config, geometry)

    def estimate_all(
        self, config: SubnetConfig, geometry: Geometry, *, rates: Mapping[str, float]
    ) -> dict[str, float]:
        """Energy in mJ under every convention, from the same measured rates."""
        return {
            c: self.with_convention(c).estimate(config, geometry, rates=rates).energy_mj
            for c in CONVENTIONS
        }

    def estimate(
        self, config: SubnetConfig, geometry: Geometry, *, rates: Mapping[str, float]
    ) -> EnergyEstimate:
        """Energy of one image through ``config`` on ``geometry`` given the measured input
        ``rates`` per layer.

        Raises:
            ValueError: a spike-driven layer has no measured rate, or a rate is not finite.
        """
        steps = config.time_steps
        macs = sops = 0.0
        per_layer: dict[str, float] = {}
        terms = dict.fromkeys(TERMS, 0.0)
        for op in self.ops(config, geometry):
            if op.kind == "mac" or (self.convention == "strict" and not op.binary):
                count = float((steps if op.per_step else 1) * op.flops)
                macs += count
                energy = count * self.e_mac_pj / PJ_PER_MJ
                rate = 1.0
            else:
                rate = _rate(op, rates)
                count = rate * steps * op.flops
                sops += count
                energy = count * self.e_ac_pj / PJ_PER_MJ
            if self.convention == "memory":
                layer = layer_terms(
                    op,
                    rate=rate,
                    rates=rates,
                    steps=steps,
                    profile=load_profile(self.profile),
                    dataflow=self.dataflow,
                    weight_bits=self.weight_bits,
                    potential_bits=self.potential_bits,
                )
                for term in TERMS:
                    terms[term] += getattr(layer, term) / PJ_PER_MJ
                energy = layer.total / PJ_PER_MJ
            per_layer[op.name] = energy
        if self.convention != "memory":
            terms = {
                "macs": self.e_mac_pj * macs / PJ_PER_MJ,
                "sops": self.e_ac_pj * sops / PJ_PER_MJ,
            }
        return EnergyEstimate(
            macs=macs,
            sops=sops,
            energy_mj=sum(terms.values()),
            per_layer_mj=per_layer,
            terms_mj=terms,
        )


def _rate(op: LayerOps, rates: Mapping[str, float]) -> float:
    """The measured input rate of a spike-driven layer (checked)."""
    assert op.rate is not None
    if op.rate not in rates:
        raise ValueError(f"no measured input rate for layer {op.rate!r}")
    rate = float(rates[op.rate])
    if not (math.isfinite(rate) and rate >= 0):
        raise ValueError(f"input rate of {op.rate!r} is {rate}")
    return rate
