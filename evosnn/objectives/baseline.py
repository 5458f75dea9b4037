"""The equivalent-ANN baseline and the break-even firing rate of a spiking subnet.

The same architecture run as a non-spiking network, once per image, priced by the same hardware
profile under the same dataflow as the memory-aware convention (:mod:`evosnn.objectives.memory`):

* ``qnn``: activations quantised to ``ceil(log2(T D + 1))`` bits (``D``: the largest spike level,
  1 for binary neurons), the precision a rate code of ``T`` steps of ``D`` levels carries (for
  binary neurons ``ceil(log2(T + 1))``, Yan et al., arXiv 2409.08290), integer weights of ``weight_bits``, accumulators
  of ``potential_bits``;
* ``fp32``: 32-bit float activations, weights and accumulators.

Per layer: ``F`` multiply-accumulates (dense activations, no zero skipping); weights read once per
MAC (event-driven: the SNN's weight traffic per operation, no reuse) or once per layer
(weight-stationary); the partial sums stay in registers (a dense network knows its operand
order, so no stored partial sum is read and written per MAC, unlike a membrane potential hit by
events in any order); inputs read (event-driven: with their addresses) and outputs written once
at their activation width; one add per output for the activation function. No membrane potentials persist between images. The
attention products multiply activations by activations (``q·kᵀ``) and the accumulator-wide map by
v. The first layer reads 8-bit pixels (on event input: quantised event counts).

The **break-even rate** is the uniform firing rate ``r`` at which the spiking network's
memory-aware energy equals the QNN's: every spike tensor fires at ``r`` (a residual sum of ``k``
spike tensors then has mean value ``k r``), the energy is affine in ``r``, so
``r* = (E_qnn - E_snn(0)) / (E_snn(1) - E_snn(0))``; 0 means the spiking network loses even when
silent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from evosnn.core.config import SubnetConfig
from evosnn.core.geometry import Geometry
from evosnn.core.mixers import MIXERS
from evosnn.core.sizes import INPUT_RATE, PIXEL_BITS, LayerOps, residual_peak
from evosnn.objectives.hardware import HardwareProfile, load_profile
from evosnn.objectives.memory import address_bits

if TYPE_CHECKING:
    from evosnn.objectives.energy import EnergyModel

__all__ = [
    "Baseline",
    "activation_bits",
    "ann_energy_mj",
    "ann_layer_pj",
    "baseline",
    "uniform_rates",
]

PJ_PER_MJ = 1e9
FLOAT_BITS = 32


def activation_bits(time_steps: int) -> int:
    """Bits of the QNN equivalent to a rate code of ``time_steps`` steps: ``ceil(log2(T + 1))``.

    Example:
        >>> [activation_bits(t) for t in (1, 3, 4, 5, 7, 8)]
        [1, 2, 3, 3, 3, 4]
    """
    return math.ceil(math.log2(time_steps + 1))


def ann_layer_pj(
    op: LayerOps,
    profile: HardwareProfile,
    *,
    act: int,
    w: int,
    p: int,
    floating: bool,
    event_driven: bool,
) -> float:
    """Energy in pJ of ``op`` run once as a dense ANN layer (see the module docstring)."""
    in_bits = PIXEL_BITS if op.kind == "mac" and op.in_bits == PIXEL_BITS else act
    if op.name == "head":
        in_bits = p
    operand = w if op.operand_bits == 0 else (act if op.operand_bits == 1 else p)
    out_bits = p if op.out_bits != 1 else act
    macs = op.flops
    pj = macs * (
        profile.mult_pj(in_bits, operand, floating=floating) + profile.add_pj(p, floating=floating)
    )
    w_size = op.weights * operand
    if event_driven:
        pj += macs * profile.read_pj(operand, size_bits=w_size)
        in_read = op.inputs * (in_bits + address_bits(op.inputs))
    else:
        pj += op.weights * profile.read_pj(operand, size_bits=w_size)
        in_read = op.inputs * in_bits
    pj += profile.read_pj(in_read, size_bits=op.inputs * in_bits)
    pj += max(op.neurons, op.outputs) * profile.add_pj(p, floating=floating)
    return pj + profile.write_pj(op.outputs * out_bits, size_bits=op.outputs * out_bits)


def ann_energy_mj(
    model: EnergyModel,
    config: SubnetConfig,
    geometry: Geometry,
    *,
    kind: Literal["qnn", "fp32"],
) -> float:
    """Energy per image of ``config`` run as a quantised (``qnn``) or float (``fp32``) ANN."""
    profile = load_profile(model.profile)
    floating = kind == "fp32"
    levels = max(config.levels(i) for i in range(config.depth))
    act = FLOAT_BITS if floating else activation_bits(config.time_steps * levels)
    w = FLOAT_BITS if floating else model.weight_bits
    p = FLOAT_BITS if floating else model.potential_bits
    ops = model.ops(config, geometry)
    total = sum(
        ann_layer_pj(
            op,
            profile,
            act=act,
            w=w,
            p=p,
            floating=floating,
            event_driven=model.dataflow == "event-driven",
        )
        for op in ops
    )
    return total / PJ_PER_MJ


def uniform_rates(config: SubnetConfig, rate: float) -> dict[str, float]:
    """Every spike tensor of ``config`` firing at ``rate`` (residual sums: ``k x rate``); an
    integer neuron's tensor (level ``D``) fires all its levels at that rate: mean value ``D x rate``."""
    rates = dict.fromkeys(("sps.conv1", "sps.conv2", "sps.conv3", "sps.rpe", INPUT_RATE), rate)
    for i in range(config.depth):
        b, mixer, level = f"blocks.{i}", MIXERS[config.mixer[i]], config.levels(i)
        rates |= dict.fromkeys((f"{b}.{x}" for x in (*mixer.spike_entries, "proj")), rate)
        peak = residual_peak(config, i)
        rates |= {f"{b}.{mixer.input}": peak * rate, f"{b}.fc1": (peak + level) * rate}
        rates[f"{b}.fc2"] = level * rate  # an integer neuron firing its D levels at rate r
        rates[f"{b}.out"] = (peak + 2 * level) * rate
    return rates


@dataclass(frozen=True)
class Baseline:
    """The equivalent ANNs' energies (mJ per image) and the break-even uniform firing rate."""

    qnn_mj: float
    fp32_mj: float
    break_even_rate: float


def baseline(model: EnergyModel, config: SubnetConfig, geometry: Geometry) -> Baseline:
    """The QNN and float ANN of ``config`` and the rate at which the SNN breaks even with the QNN.

    ``model`` gives the profile, dataflow and bit widths; its convention is ignored (the spiking
    side of the break-even is always memory-aware).
    """
    qnn = ann_energy_mj(model, config, geometry, kind="qnn")
    fp32 = ann_energy_mj(model, config, geometry, kind="fp32")
    memory = model.with_convention("memory")
    silent = memory.estimate(config, geometry, rates=uniform_rates(config, 0.0)).energy_mj
    firing = memory.estimate(config, geometry, rates=uniform_rates(config, 1.0)).energy_mj
    slope = firing - silent
    rate = max(0.0, (qnn - silent) / slope) if slope > 0 else math.inf
    return Baseline(qnn_mj=qnn, fp32_mj=fp32, break_even_rate=rate)
