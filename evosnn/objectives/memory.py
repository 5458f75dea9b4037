"""The memory-aware energy convention: arithmetic + memory traffic + neuron updates, per layer.

Per synaptic layer of :func:`evosnn.core.sizes.layer_ops`, per time step, with ``r`` the measured
input rate (mean events per input element; a residual sum's value ``v`` counts as ``v`` events),
``r_out`` the output spike rate, ``F`` the layer's FLOPs, ``w``/``p`` the weight and potential
(accumulator) bit widths and ``read``/``write`` the per-bit energies of the memory level that holds
the tensor (weights, potentials, spikes: each sized by the layer, see
:meth:`~evosnn.objectives.hardware.HardwareProfile.level`):

======================  ===========================================  =============================
term                    ``event-driven`` (default)                   ``weight-stationary``
======================  ===========================================  =============================
arithmetic              ``r F`` adds of ``p`` bits                   the same
weights                 ``r F`` reads of ``w`` bits (one per event)  every weight once: ``W w``
potentials              ``r F`` reads + writes of ``p`` bits         none (a register accumulates)
input spikes            ``r n_in`` event addresses read              ``n_in`` bits (dense map) read
neuron updates          ``neurons x`` (read + write ``p`` bits,      the same
                        2 adds + 1 multiply of ``p`` bits)
output spikes           ``r_out n_out`` event addresses written      ``n_out`` bits written
======================  ===========================================  =============================

An integer neuron of level ``D`` (``ilif``) updates ``D`` times a step (its virtual steps), and
its spike of level ``s`` is ``s`` events for the next layer (``r`` is the mean value, so ``r F``
counts them). An event address has ``ceil(log2(n))`` bits for ``n`` elements. Layers on real values (the pixel
conv, the classifier) are dense: every input is an event (``r = 1``) and each operation is a
multiply-accumulate (pixels of 8 bits, the classifier's features of ``p`` bits); the classifier
runs once per image, and writes its logits (``p`` bits each). The attention products follow the
same rules with their own operands: ``q·kᵀ`` is driven by q's spikes and reads k's spikes (1 bit)
as its "weights", accumulating an integer map (``heads x N x N`` entries, written densely every
step, no neuron); ``(q·kᵀ)·v`` is driven by v's spikes, reads the map entries and feeds the
attention LIF. SDSA's ``Σ_tokens k ⊙ v`` is driven by v's spikes reading k's bits into one
potential per channel (its LIF), and its mask ``q ⊙ kv`` by q's spikes reading kv's bits: a mask
adds nothing and keeps no potential (weights, input and output spikes only). A max-pool fuses into
the write of the layer before it (only pooled spikes are
written). With a profile's lumped ``events`` (a neuromorphic core) and the event-driven dataflow,
a spike-driven layer costs ``synaptic_op_pj`` per synaptic event (weight fetch, accumulate,
potential update), ``neuron_update_pj`` per neuron and step and ``spike_pj`` per output spike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from evosnn.core.sizes import LayerOps
from evosnn.objectives.hardware import HardwareProfile

__all__ = ["DATAFLOWS", "TERMS", "Dataflow", "MemoryTerms", "address_bits", "layer_terms"]

Dataflow = Literal["event-driven", "weight-stationary"]
DATAFLOWS: tuple[Dataflow, ...] = ("event-driven", "weight-stationary")
#: The terms a memory-aware estimate is split into, in report order.
TERMS = ("arithmetic", "weights", "potentials", "spikes_in", "neurons", "spikes_out")


def address_bits(elements: int) -> int:
    """Bits of one event address among ``elements`` elements (at least 1)."""
    return max(1, math.ceil(math.log2(max(elements, 2))))


@dataclass(frozen=True)
class MemoryTerms:
    """Energy of one layer per image, in pJ, by term."""

    arithmetic: float = 0.0
    weights: float = 0.0
    potentials: float = 0.0
    spikes_in: float = 0.0
    neurons: float = 0.0
    spikes_out: float = 0.0

    @property
    def total(self) -> float:
        return float(sum(getattr(self, t) for t in TERMS))


def output_rate(op: LayerOps, rates: Mapping[str, float]) -> float:
    """The layer's output spike rate from the measured entries (0 where a difference dips below)."""
    missing = [name for name, _ in op.out_rate if name not in rates]
    if missing:
        raise ValueError(f"no measured rate {missing[0]!r} for the output of layer {op.name!r}")
    return max(0.0, sum(weight * float(rates[name]) for name, weight in op.out_rate))


def _neuron_pj(profile: HardwareProfile, op: LayerOps, p: int, *, lumped: bool) -> float:
    """One LIF update: potential read + write, charge and threshold adds, the leak multiply."""
    if lumped and profile.events is not None:
        return profile.events.neuron_update_pj
    size = op.neurons * p
    access = profile.read_pj(p, size_bits=size) + profile.write_pj(p, size_bits=size)
    return access + 2 * profile.add_pj(p) + profile.mult_pj(p, p)


def layer_terms(
    op: LayerOps,
    *,
    rate: float,
    rates: Mapping[str, float],
    steps: int,
    profile: HardwareProfile,
    dataflow: Dataflow,
    weight_bits: int,
    potential_bits: int,
) -> MemoryTerms:
    """Energy of ``op`` per image under the memory-aware rules (see the module docstring)."""
    p, steps_run = potential_bits, steps if op.per_step else 1
    dense = op.kind == "mac"
    r = 1.0 if dense else rate
    events = r * op.flops
    w_bits = op.operand_bits or weight_bits
    in_bits = op.in_bits or p
    out_bits = op.out_bits or p
    w_size, pot_size = op.weights * w_bits, max(op.neurons, op.outputs) * p
    lumped = profile.events if (dataflow == "event-driven" and not dense) else None
    if dense:
        arith = events * (profile.mult_pj(in_bits, w_bits) + profile.add_pj(p))
    else:
        arith = events * profile.add_pj(p) if op.accumulates else 0.0
    in_size = op.inputs * in_bits
    if dataflow == "event-driven":
        weights = events * profile.read_pj(w_bits, size_bits=w_size)
    else:
        weights = op.weights * profile.read_pj(w_bits, size_bits=w_size)
    if dataflow == "event-driven" and not dense:
        potentials = events * (
            profile.read_pj(p, size_bits=pot_size) + profile.write_pj(p, size_bits=pot_size)
        )
        potentials *= op.accumulates
        spikes_in = r * op.inputs * profile.read_pj(address_bits(op.inputs), size_bits=in_size)
    else:
        potentials = 0.0
        spikes_in = op.inputs * profile.read_pj(in_bits, size_bits=in_size)
    neuron_pj = _neuron_pj(profile, op, p, lumped=lumped is not None)
    neurons = op.neurons * op.neuron_steps * neuron_pj  # integer neurons: D virtual updates
    out_size = op.outputs * out_bits
    if op.out_rate and dataflow == "event-driven":
        r_out = output_rate(op, rates)
        if lumped is not None:
            spikes_out = r_out * op.outputs * lumped.spike_pj
        else:
            addr = address_bits(op.outputs)
            spikes_out = r_out * op.outputs * profile.write_pj(addr, size_bits=out_size)
    else:
        spikes_out = op.outputs * profile.write_pj(out_bits, size_bits=out_size)
    if lumped is not None:  # the core's synaptic op covers add, weight fetch, potential update
        arith, weights, potentials, spikes_in = events * lumped.synaptic_op_pj, 0.0, 0.0, 0.0
        arith *= op.accumulates
    return MemoryTerms(
        arithmetic=steps_run * arith,
        weights=steps_run * weights,
        potentials=steps_run * potentials,
        spikes_in=steps_run * spikes_in,
        neurons=steps_run * neurons,
        spikes_out=steps_run * spikes_out,
    )
