"""Energy of every neuron model under every convention, counted by hand on a one-block network
(issue 40): an integer spike of level s is s accumulates, an integer neuron updates D times a step
(its virtual steps), and the equivalent QNN carries the bits of T x D levels."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from evosnn.core.config import SubnetConfig
from evosnn.objectives.baseline import activation_bits, ann_energy_mj, uniform_rates
from evosnn.objectives.energy import CONVENTIONS, Convention, EnergyModel
from supernet import SpikeStats, SpikformerSupernet
from tests.objectives.test_energy import CONFIG, GEOMETRY

T, N, D, LEVEL = 2, 4, 16, 4  # CONFIG: one block of 16 channels (MLP 16), 2 steps, 4 tokens
NEURON_PJ = 22  # the hand profile: read + write 16 bits (12), 2 adds (2), a 16x16 multiply (8)


def config(neuron: str) -> SubnetConfig:
    return replace(CONFIG, neuron=(neuron,), level=(LEVEL,))


def test_uniform_rates_fire_every_level_of_an_integer_neuron() -> None:
    lif, ilif = uniform_rates(config("lif"), 0.5), uniform_rates(config("ilif"), 0.5)
    assert lif["blocks.0.fc2"] == 0.5 and ilif["blocks.0.fc2"] == 0.5 * LEVEL
    # the residual stream: 2 (patch splitter) + the projection's and the MLP's spikes
    assert (lif["blocks.0.fc1"], ilif["blocks.0.fc1"]) == (0.5 * 3, 0.5 * (2 + LEVEL))
    assert (lif["blocks.0.out"], ilif["blocks.0.out"]) == (0.5 * 4, 0.5 * (2 + 2 * LEVEL))
    assert uniform_rates(config("plif"), 0.5) == lif


@pytest.mark.parametrize("convention", ["spikformer", "strict"])
def test_an_integer_spike_of_level_s_is_s_accumulates(convention: Convention) -> None:
    model = EnergyModel(convention=convention)
    for rate in (0.0, 0.25, 1.0):
        got = model.estimate(config("ilif"), GEOMETRY, rates=uniform_rates(config("ilif"), rate))
        fc2_pj = got.per_layer_mj["blocks.0.fc2"] * 1e9
        assert fc2_pj == pytest.approx(0.9 * rate * LEVEL * T * N * D * D)  # spikes, also strict


@pytest.mark.parametrize("level", ["silent", "firing"])
def test_integer_neurons_update_on_every_virtual_step(hand: EnergyModel, level: str) -> None:
    rate = 0.0 if level == "silent" else 1.0
    terms = {
        n: hand.estimate(config(n), GEOMETRY, rates=uniform_rates(config(n), rate)).terms_mj
        for n in ("lif", "ilif", "plif")
    }
    extra = (terms["ilif"]["neurons"] - terms["lif"]["neurons"]) * 1e9
    # proj, fc1 and fc2 each update N x 16 neurons D times a step instead of once
    assert extra == pytest.approx(T * (LEVEL - 1) * 3 * N * D * NEURON_PJ)
    assert terms["plif"] == pytest.approx(terms["lif"])  # a binary neuron: the LIF's cost


def test_the_equivalent_qnn_carries_the_bits_of_t_times_d_levels(hand: EnergyModel) -> None:
    assert activation_bits(T) == 2 and activation_bits(T * LEVEL) == 4
    lif = ann_energy_mj(hand, config("lif"), GEOMETRY, kind="qnn")
    ilif = ann_energy_mj(hand, config("ilif"), GEOMETRY, kind="qnn")
    assert ilif > lif  # wider activations
    fp32 = ann_energy_mj(hand, config("ilif"), GEOMETRY, kind="fp32")
    assert fp32 == ann_energy_mj(hand, config("lif"), GEOMETRY, kind="fp32")


def all_firing_supernet() -> SpikformerSupernet:
    """Every BN outputs 100: every LIF fires at every step, every integer neuron at level D."""
    net = SpikformerSupernet(replace(GEOMETRY, neurons=("lif", "ilif", "plif")), depth=1,
                             embed_dim=16, mlp_ratio=1.0, num_heads=2)  # fmt: skip
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.zero_()
                m.bias.fill_(100.0)
    return net.eval()


@pytest.mark.parametrize("neuron", ["lif", "ilif", "plif"])
def test_measured_all_firing_network_matches_the_uniform_rates(
    hand: EnergyModel, neuron: str
) -> None:
    stats = SpikeStats()
    with torch.no_grad():
        all_firing_supernet()(torch.randn(3, 1, 8, 8), config(neuron), stats)
    assert stats.rates()["blocks.0.fc2"] == (LEVEL if neuron == "ilif" else 1.0)
    for convention in CONVENTIONS:
        model = replace(hand, convention=convention)
        measured = model.estimate(config(neuron), GEOMETRY, rates=stats.rates())
        expected = model.estimate(config(neuron), GEOMETRY, rates=uniform_rates(config(neuron), 1))
        assert measured.per_layer_mj == pytest.approx(expected.per_layer_mj), convention
