"""Energy of every token mixer under every convention, counted by hand on a one-block network
(issue 39): given, all-silent and all-firing rates, and how each mixer's cost grows with tokens."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from evosnn.core.config import SubnetConfig
from evosnn.core.geometry import Geometry
from evosnn.core.sizes import layer_ops
from evosnn.objectives.baseline import baseline, uniform_rates
from evosnn.objectives.energy import CONVENTIONS, EnergyModel
from supernet import SpikeStats, SpikformerSupernet
from tests.objectives.test_energy import CONFIG, GEOMETRY

MIXERS = ("ssa", "sdsa", "mlp")
T, N, D = 2, 4, 16  # CONFIG: one block, 16 channels, 2 steps; 8x8 pooled twice: 4 tokens


def config(mixer: str) -> SubnetConfig:
    return replace(CONFIG, mixer=(mixer,))


def mixer_flops(mixer: str, geometry: Geometry = GEOMETRY) -> dict[str, int]:
    """FLOPs of the block's layers other than the projection and the MLP."""
    shared = {"blocks.0.proj", "blocks.0.fc1", "blocks.0.fc2"}
    return {
        op.name: op.flops
        for op in layer_ops(config(mixer), geometry)
        if op.name.startswith("blocks.0.") and op.name not in shared
    }


def test_each_mixers_operations_by_hand() -> None:
    assert mixer_flops("ssa") == {
        "blocks.0.qkv": 3 * N * D * D,
        "blocks.0.attn_qk": N * N * D,
        "blocks.0.attn_v": N * N * D,
    }
    assert mixer_flops("sdsa") == {
        "blocks.0.qkv": 3 * N * D * D,
        "blocks.0.attn_kv": N * D,  # Σ_tokens k ⊙ v: one add per (token, channel)
        "blocks.0.attn_mask": N * D,  # q ⊙ kv: one mask per (token, channel)
    }
    assert mixer_flops("mlp") == {"blocks.0.tok": D * N * N}


def test_cost_growth_with_tokens_sdsa_linear_ssa_and_token_mlp_quadratic() -> None:
    big = Geometry(image_size=16, in_channels=1, num_classes=4)  # 16 tokens: 4x as many
    growth = {
        name: mixer_flops(m, big)[name] / flops
        for m in MIXERS
        for name, flops in mixer_flops(m).items()
    }
    assert growth["blocks.0.attn_kv"] == growth["blocks.0.attn_mask"] == 4
    assert growth["blocks.0.attn_qk"] == growth["blocks.0.attn_v"] == 16
    assert growth["blocks.0.tok"] == 16
    assert growth["blocks.0.qkv"] == 4


RATES = {"q": 0.25, "k": 0.5, "v": 0.125, "kv": 0.75, "x": 1.5, "proj": 0.375}


def given(mixer: str) -> dict[str, float]:
    rates = uniform_rates(config(mixer), 0.5)
    b = "blocks.0"
    rates |= {f"{b}.attn_q": RATES["q"], f"{b}.attn_k": RATES["k"], f"{b}.attn_v": RATES["v"]}
    rates |= {f"{b}.attn_kv": RATES["kv"], f"{b}.qkv": RATES["x"], f"{b}.tok": RATES["x"]}
    return rates | {f"{b}.proj": RATES["proj"]}


@pytest.mark.parametrize("mixer", ["sdsa", "mlp"])
def test_arithmetic_conventions_on_given_rates(mixer: str) -> None:
    rates = given(mixer)
    model = EnergyModel()
    per_layer = model.estimate(config(mixer), GEOMETRY, rates=rates).per_layer_mj
    pj = {name: e * 1e9 for name, e in per_layer.items()}
    strict = EnergyModel(convention="strict").estimate(config(mixer), GEOMETRY, rates=rates)
    strict_pj = {name: e * 1e9 for name, e in strict.per_layer_mj.items()}
    if mixer == "sdsa":
        assert pj["blocks.0.qkv"] == pytest.approx(0.9 * 1.5 * T * 3 * N * D * D)
        assert pj["blocks.0.attn_kv"] == pytest.approx(0.9 * RATES["v"] * T * N * D)
        assert pj["blocks.0.attn_mask"] == pytest.approx(0.9 * RATES["q"] * T * N * D)
        # strict: q, k, v read a residual sum (not binary): multiply-accumulates every step
        assert strict_pj["blocks.0.qkv"] == pytest.approx(4.6 * T * 3 * N * D * D)
        assert strict_pj["blocks.0.attn_mask"] == pj["blocks.0.attn_mask"]  # spikes: as before
    else:
        assert pj["blocks.0.tok"] == pytest.approx(0.9 * 1.5 * T * D * N * N)
        assert strict_pj["blocks.0.tok"] == pytest.approx(4.6 * T * D * N * N)


def memory_pj(hand: EnergyModel, mixer: str, rates: dict[str, float]) -> dict[str, float]:
    est = hand.estimate(config(mixer), GEOMETRY, rates=rates)
    return {name: e * 1e9 for name, e in est.per_layer_mj.items()}


# the hand profile (tests/objectives/test_memory_energy.py): 16-bit add 1 pJ, read 0.5 pJ/bit,
# write 0.25 pJ/bit, a neuron update 22 pJ (read + write 16 bits, 2 adds, a 16x16 multiply)
NEURON = 22


def sdsa_kv_pj(r_v: float, r_kv: float) -> float:
    """Σ_tokens k ⊙ v per step: r_v N D events, each an add, a 1-bit read of k and a 16-bit
    read-modify-write of its channel's potential; v's event addresses (6 bits of 64); D neurons;
    kv's spikes written as 4-bit addresses of 16."""
    events = r_v * N * D
    return T * (
        events * (1 + 0.5 + 16 * 0.75) + r_v * N * D * 6 * 0.5 + D * NEURON + r_kv * D * 4 * 0.25
    )


def sdsa_mask_pj(r_q: float, r_out: float) -> float:
    """q ⊙ kv per step: r_q N D events reading one kv bit each, no add, no potential; q's event
    addresses read (6 bits); the output spikes written as addresses (6 bits of 64)."""
    return T * (r_q * N * D * 0.5 + r_q * N * D * 6 * 0.5 + r_out * N * D * 6 * 0.25)


def tok_pj(r_x: float, r_out: float) -> float:
    """Token linear per step: r_x D N N events (add, 8-bit weight read, potential rmw); x's
    addresses (6 bits); N D neurons; output addresses (6 bits of 64)."""
    events = r_x * D * N * N
    return T * (
        events * (1 + 8 * 0.5 + 16 * 0.75)
        + r_x * N * D * 6 * 0.5
        + N * D * NEURON
        + r_out * N * D * 6 * 0.25
    )


@pytest.mark.parametrize("level", ["silent", "firing", "given"])
def test_memory_convention_by_hand(hand: EnergyModel, level: str) -> None:
    for mixer in ("sdsa", "mlp"):
        if level == "given":
            rates = given(mixer)
            r = RATES
        else:
            value = 0.0 if level == "silent" else 1.0
            rates = uniform_rates(config(mixer), value)
            r = dict.fromkeys(RATES, value) | {"x": 2 * value}  # x: a sum of two spike tensors
        got = memory_pj(hand, mixer, rates)
        if mixer == "sdsa":
            assert got["blocks.0.attn_kv"] == pytest.approx(sdsa_kv_pj(r["v"], r["kv"]))
            assert got["blocks.0.attn_mask"] == pytest.approx(sdsa_mask_pj(r["q"], r["proj"]))
        else:
            assert got["blocks.0.tok"] == pytest.approx(tok_pj(r["x"], r["proj"]))


def all_firing_supernet() -> SpikformerSupernet:
    """Every BN outputs 100 whatever its input: every LIF fires at every step."""
    net = SpikformerSupernet(replace(GEOMETRY, mixers=MIXERS), depth=1, embed_dim=16,
                             mlp_ratio=1.0, num_heads=2)  # fmt: skip
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.zero_()
                m.bias.fill_(100.0)
    return net.eval()


@pytest.mark.parametrize("mixer", MIXERS)
def test_measured_all_firing_network_matches_the_uniform_rates(
    hand: EnergyModel, mixer: str
) -> None:
    """The rates the network records are the ones the hand counts assume, for every mixer and
    every convention."""
    stats = SpikeStats()
    with torch.no_grad():
        all_firing_supernet()(torch.randn(3, 1, 8, 8), config(mixer), stats)
    for convention in CONVENTIONS:
        model = replace(hand, convention=convention)
        measured = model.estimate(config(mixer), GEOMETRY, rates=stats.rates())
        expected = model.estimate(config(mixer), GEOMETRY, rates=uniform_rates(config(mixer), 1))
        assert measured.per_layer_mj == pytest.approx(expected.per_layer_mj), convention


@pytest.mark.parametrize("mixer", MIXERS)
def test_the_equivalent_ann_baseline_covers_every_mixer(hand: EnergyModel, mixer: str) -> None:
    result = baseline(hand, config(mixer), GEOMETRY)
    assert result.fp32_mj > result.qnn_mj > 0
    assert 0 <= result.break_even_rate < float("inf")
