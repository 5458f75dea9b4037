"""Energy counts checked against numbers computed by hand, not against the code."""

from __future__ import annotations

import pytest
import torch

from evosnn.core.config import SubnetConfig
from evosnn.core.geometry import Geometry
from evosnn.objectives.energy import EnergyModel
from supernet import SpikeStats, SpikformerSupernet

# image 8x8x1, D = 16 (stages 2, 4, 8, 16), one block, MLP ratio 1, 4 classes, T = 2; N = 2*2 = 4.
CONFIG = SubnetConfig(
    depth=1,
    embed_dim=16,
    mlp_ratio=(1.0,),
    num_heads=(2,),
    threshold=(1.0,),
    tau=(2.0,),
    time_steps=2,
)
GEOMETRY = Geometry(image_size=8, in_channels=1, num_classes=4)
# MACs per image: the first conv on pixels every step (2 x 1152) + the classifier once (16 x 4)
MACS = 2 * 8 * 8 * 9 * 1 * 2 + 16 * 4  # 2368
SOP_FLOPS = {
    "sps.conv1": 8 * 8 * 9 * 2 * 4,  # 4608
    "sps.conv2": 8 * 8 * 9 * 4 * 8,  # 18432
    "sps.conv3": 4 * 4 * 9 * 8 * 16,  # 18432 (after the first pool)
    "sps.rpe": 4 * 9 * 16 * 16,  # 9216
    "blocks.0.qkv": 3 * 4 * 16 * 16,  # 3072
    "blocks.0.attn_qk": 4 * 4 * 16,  # 256
    "blocks.0.attn_v": 4 * 4 * 16,  # 256
    "blocks.0.proj": 4 * 16 * 16,  # 1024
    "blocks.0.fc1": 4 * 16 * 16,  # 1024
    "blocks.0.fc2": 4 * 16 * 16,  # 1024
}


def test_counts_from_given_rates() -> None:
    model = EnergyModel()
    ones = model.estimate(CONFIG, GEOMETRY, rates=dict.fromkeys(SOP_FLOPS, 1.0))
    assert ones.macs == MACS
    assert ones.sops == 2 * 57344
    assert ones.energy_mj == pytest.approx((4.6 * MACS + 0.9 * 114688) / 1e9)
    zeros = model.estimate(CONFIG, GEOMETRY, rates=dict.fromkeys(SOP_FLOPS, 0.0))
    assert zeros.sops == 0 and zeros.energy_mj == pytest.approx(4.6 * MACS / 1e9)
    quarter = model.estimate(CONFIG, GEOMETRY, rates=dict.fromkeys(SOP_FLOPS, 0.25))
    assert quarter.sops == 0.25 * 2 * 57344
    custom = EnergyModel(e_mac_pj=1.0, e_ac_pj=0.0).estimate(
        CONFIG, GEOMETRY, rates=dict.fromkeys(SOP_FLOPS, 1.0)
    )
    assert custom.energy_mj == pytest.approx(MACS / 1e9)
    with pytest.raises(ValueError, match=r"blocks\.0\.fc2"):
        model.estimate(CONFIG, GEOMETRY, rates={k: 1.0 for k in SOP_FLOPS if k != "blocks.0.fc2"})


def forced_network(bias: float) -> SpikformerSupernet:
    """Every BN outputs ``bias`` whatever its input, so every LIF fires always (or never)."""
    net = SpikformerSupernet(
        GEOMETRY,
        depth=1,
        embed_dim=16,
        mlp_ratio=1.0,
        num_heads=2,
    )
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.zero_()
                m.bias.fill_(bias)
    return net.eval()


def measured(bias: float) -> dict[str, float]:
    stats = SpikeStats()
    with torch.no_grad():
        forced_network(bias)(torch.randn(3, 1, 8, 8), CONFIG, stats)
    return stats.rates()


def test_all_neurons_firing_gives_hand_computed_rates_and_energy() -> None:
    rates = measured(bias=100.0)
    # spikes everywhere: stage inputs 1; tokens = pooled spikes + rpe spikes = 2; q, v = 1;
    # attention LIF input (q kᵀ v)/8 = 4*8/8 = 4 >= 0.5 fires: proj input 1; fc1 input 2 + 1 = 3.
    expected = {
        "sps.conv1": 1.0,
        "sps.conv2": 1.0,
        "sps.conv3": 1.0,
        "sps.rpe": 1.0,
        "blocks.0.qkv": 2.0,
        "blocks.0.attn_qk": 1.0,
        "blocks.0.attn_k": 1.0,
        "blocks.0.attn_v": 1.0,
        "blocks.0.proj": 1.0,
        "blocks.0.fc1": 3.0,
        "blocks.0.fc2": 1.0,
        "blocks.0.out": 4.0,  # the block's output: fc1's input 3 + fc2's spikes 1
    }
    assert rates == expected
    sops = 2 * sum(SOP_FLOPS[k] * r for k, r in expected.items() if k in SOP_FLOPS)
    estimate = EnergyModel().estimate(CONFIG, GEOMETRY, rates=rates)
    assert estimate.sops == sops
    assert estimate.energy_mj == pytest.approx((4.6 * MACS + 0.9 * sops) / 1e9)


def test_silent_network_costs_only_its_macs() -> None:
    rates = measured(bias=-100.0)
    assert set(rates.values()) == {0.0}
    estimate = EnergyModel().estimate(CONFIG, GEOMETRY, rates=rates)
    assert estimate.sops == 0.0
    assert estimate.energy_mj == pytest.approx(4.6 * MACS / 1e9)


def test_spikformer_4_384_at_full_activity() -> None:
    config = SubnetConfig(
        depth=4,
        embed_dim=384,
        mlp_ratio=(4.0,) * 4,
        num_heads=(12,) * 4,
        threshold=(1.0,) * 4,
        tau=(2.0,) * 4,
        time_steps=4,
    )
    from evosnn.core.sizes import layer_ops

    cifar10 = Geometry(image_size=32, in_channels=3, num_classes=10)
    ops = layer_ops(config, cifar10)
    ones = {o.rate: 1.0 for o in ops if o.rate}
    estimate = EnergyModel().estimate(config, cifar10, rates=ones)
    # first conv 32*32*9*3*48 at each of four steps + head 384*10 once
    assert estimate.macs == 4 * 32 * 32 * 9 * 3 * 48 + 3840
    assert estimate.energy_mj == pytest.approx(3.3822, rel=1e-4)


def test_strict_convention_counts_non_binary_inputs_as_macs() -> None:
    """qkv and fc1 see residual sums of spikes: strict counts their FLOPs as MACs every step."""
    rates = dict.fromkeys(SOP_FLOPS, 0.25) | {"blocks.0.qkv": 1.5, "blocks.0.fc1": 2.0}
    spikformer = EnergyModel().estimate(CONFIG, GEOMETRY, rates=rates)
    strict = EnergyModel(convention="strict").estimate(CONFIG, GEOMETRY, rates=rates)
    binary = {k: v for k, v in SOP_FLOPS.items() if k not in ("blocks.0.qkv", "blocks.0.fc1")}
    assert spikformer.macs == MACS
    assert spikformer.sops == 2 * (sum(0.25 * f for f in binary.values()) + 1.5 * 3072 + 2.0 * 1024)
    assert strict.macs == MACS + 2 * 3072 + 2 * 1024  # T x FLOPs, whatever the values
    assert strict.sops == 2 * sum(0.25 * f for f in binary.values())
    assert strict.energy_mj == pytest.approx((4.6 * strict.macs + 0.9 * strict.sops) / 1e9)
    assert strict.per_layer_mj["blocks.0.qkv"] == pytest.approx(4.6 * 2 * 3072 / 1e9)
    assert EnergyModel().with_convention("strict") == EnergyModel(convention="strict")


def test_strict_on_the_forced_all_firing_network() -> None:
    rates = measured(bias=100.0)
    strict = EnergyModel(convention="strict").estimate(CONFIG, GEOMETRY, rates=rates)
    binary_sops = sum(f for k, f in SOP_FLOPS.items() if k not in ("blocks.0.qkv", "blocks.0.fc1"))
    assert strict.sops == 2 * binary_sops  # every binary input fires at rate 1
    assert strict.macs == MACS + 2 * (3072 + 1024)


def test_unknown_convention_is_refused() -> None:
    with pytest.raises(ValueError, match="convention"):
        EnergyModel(convention="syops")  # type: ignore[arg-type]


def test_strict_never_counts_less_below_the_mac_to_ac_ratio() -> None:
    """A non-binary input of mean value below E_MAC / E_AC (5.1) costs more as MACs."""
    for value in (0.0, 0.5, 2.0, 5.0):
        rates = dict.fromkeys(SOP_FLOPS, 0.3) | {"blocks.0.qkv": value, "blocks.0.fc1": value}
        spikformer = EnergyModel().estimate(CONFIG, GEOMETRY, rates=rates).energy_mj
        strict = EnergyModel(convention="strict").estimate(CONFIG, GEOMETRY, rates=rates)
        assert strict.energy_mj >= spikformer
