"""A published figure set beside evosnn's energy model: the break-even spike rate of an SNN
against its equivalent QNN (Yan et al., "Reconsidering the energy efficiency of spiking neural
networks inference from analytical perspectives", arXiv 2409.08290).

The paper's headline: at T = 5 an SNN must fire below about 6 % on average to beat the
``ceil(log2(T+1))`` = 3-bit QNN on typical neuromorphic hardware (5.7 % in v4 of the paper,
6.4 % for T in [5, 10] in v2/v3). Its per-operation constants and equations could not be read
(the stored copies of arxiv.org/html/2409.08290v3 and v4 hold the abstract and the start of the
introduction only), so this is a plausibility check, not a reproduction: it uses the shipped
``cmos45-horowitz`` profile on a setting of our choosing, one fully connected layer of
``neurons x neurons`` 8-bit weights (16 KB at 128 neurons: a 32 KB SRAM bank, the size of a
neuromorphic core's local synapse memory), 16-bit membrane potentials, the event-driven dataflow.
A secondary summary (not the paper; ``Krebbet/wiki-kit``, ``wiki/snn/snn-energy-breakeven-
conditions.md`` at ``3b0b5bd``) gives the headline's own setting as 4-bit weights and a fan-in of
4096 with 22 nm constants; there the same model gives 18.8 %, three times the published figure.
See ``docs/concepts/hardware-energy.md`` for the side-by-side table and every term that differs.

Example:
    >>> round(yan2024_break_even(), 3)
    0.064
    >>> round(yan2024_break_even(neurons=4096, weight_bits=4), 3)  # the summary's setting
    0.188
"""

from __future__ import annotations

from evosnn.core.sizes import LayerOps
from evosnn.objectives.baseline import activation_bits, ann_layer_pj
from evosnn.objectives.hardware import load_profile
from evosnn.objectives.memory import layer_terms

__all__ = ["YAN2024_BREAK_EVEN", "fully_connected", "yan2024_break_even"]

#: The published break-even spike rates at T = 5 (arXiv 2409.08290 v4; v2/v3 for T in [5, 10]).
YAN2024_BREAK_EVEN = {"v4": 0.057, "v2": 0.064}


def fully_connected(neurons: int) -> LayerOps:
    """A ``neurons -> neurons`` spiking fully connected layer whose output feeds the next one at
    the same rate (entry ``"x"``)."""
    return LayerOps(
        "fc",
        neurons * neurons,
        "sop",
        "x",
        inputs=neurons,
        weights=neurons * neurons,
        neurons=neurons,
        outputs=neurons,
        out_rate=(("x", 1.0),),
    )


def yan2024_break_even(
    *,
    neurons: int = 128,
    time_steps: int = 5,
    profile: str = "cmos45-horowitz",
    weight_bits: int = 8,
    potential_bits: int = 16,
) -> float:
    """The spike rate at which the SNN layer's memory-aware energy equals its QNN's."""
    hw = load_profile(profile)
    op = fully_connected(neurons)

    def snn(rate: float) -> float:
        return layer_terms(
            op,
            rate=rate,
            rates={"x": rate},
            steps=time_steps,
            profile=hw,
            dataflow="event-driven",
            weight_bits=weight_bits,
            potential_bits=potential_bits,
        ).total

    qnn = ann_layer_pj(
        op,
        hw,
        act=activation_bits(time_steps),
        w=weight_bits,
        p=potential_bits,
        floating=False,
        event_driven=True,
    )
    return (qnn - snn(0.0)) / (snn(1.0) - snn(0.0))
