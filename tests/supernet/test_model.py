from __future__ import annotations

import random
from dataclasses import replace
from typing import Any, TypeVar

import pytest
import torch

from evosnn.core.config import SubnetConfig
from evosnn.core.genome import GenomeCodec
from evosnn.core.geometry import Geometry
from evosnn.core.sizes import count_params, layer_ops
from evosnn.core.space import SearchSpace
from evosnn.evaluate.models import build_supernet
from supernet import SpikeStats, Spikformer, SpikformerSupernet, extract
from supernet.lif import LIF
from supernet.ops import spiking_attention

ModuleT = TypeVar("ModuleT", bound=torch.nn.Module)


def lively(net: ModuleT, seed: int = 0) -> ModuleT:
    """Random BN statistics and affine terms, so that inherited state matters and neurons fire."""
    gen = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            assert m.running_mean is not None and m.running_var is not None
            m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.1 + 0.02)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 1.0)
            m.bias.data.copy_(torch.rand(n, generator=gen) * 1.2 - 0.3)
    return net.eval()


def spikformer(depth: int, dim: int, heads: int = 12) -> SubnetConfig:
    return SubnetConfig(
        depth=depth,
        embed_dim=dim,
        mlp_ratio=(4.0,) * depth,
        num_heads=(heads,) * depth,
        threshold=(1.0,) * depth,
        tau=(2.0,) * depth,
        time_steps=4,
    )


@pytest.mark.parametrize(
    ("depth", "dim", "heads", "expected"),
    [(4, 384, 12, 9_324_730), (4, 256, 16, 4_155_178), (2, 384, 12, 5_765_050)],
    ids=["4-384", "4-256", "2-384"],
)
def test_published_spikformer_sizes(depth: int, dim: int, heads: int, expected: int) -> None:
    config = spikformer(depth, dim, heads)
    cifar10 = Geometry(image_size=32, in_channels=3, num_classes=10)
    assert count_params(config, cifar10) == expected
    direct = Spikformer(config, cifar10)
    assert sum(p.numel() for p in direct.parameters()) == expected
    for big_depth, big_dim in ((4, 384), (6, 512)):
        big = SpikformerSupernet(
            cifar10,
            depth=big_depth,
            embed_dim=big_dim,
            mlp_ratio=4.0,
            num_heads=16,
        )
        sliced = extract(big, config)
        assert sum(p.numel() for p in sliced.parameters()) == expected


def test_standalone_equals_configured_supernet_on_many_configs(tiny_space: SearchSpace) -> None:
    codec = GenomeCodec(tiny_space)
    net = lively(build_supernet(tiny_space))
    x = torch.randn(3, 1, 8, 8)
    rng = random.Random(0)
    fired = 0.0
    for _ in range(40):
        config = codec.sample_config(rng)
        model = extract(net, config).eval()
        with torch.no_grad():
            expected, got = net(x, config), model(x)
        assert torch.allclose(expected, got, atol=1e-5)
        assert count_params(config, tiny_space.geometry) == sum(
            p.numel() for p in model.parameters()
        )
        fired += sum(m.firing_rate for m in model.modules() if isinstance(m, LIF))
    assert fired > 0  # the comparison is not between silent networks


def test_cifar_geometry_extract_matches(cifar_space: SearchSpace) -> None:
    codec = GenomeCodec(cifar_space)
    net = lively(build_supernet(cifar_space))
    x = torch.randn(2, 3, 32, 32)
    for seed in range(3):
        config = codec.sample_config(random.Random(seed))
        with torch.no_grad():
            assert torch.allclose(net(x, config), extract(net, config).eval()(x), atol=1e-5)


def test_no_state_leaks_between_configs(tiny_space: SearchSpace) -> None:
    codec = GenomeCodec(tiny_space)
    net = lively(build_supernet(tiny_space))
    x = torch.randn(4, 1, 8, 8)
    rng = random.Random(3)
    a, b = codec.sample_config(rng), codec.sample_config(rng)
    with torch.no_grad():
        first = net(x, a)
        net(x, b)
        again = net(x, a)
    assert torch.equal(first, again)


def test_head_count_changes_the_attention() -> None:
    gen = torch.Generator().manual_seed(0)
    q, k, v = ((torch.rand(2, 3, 16, 8, generator=gen) < 0.5).float() for _ in range(3))
    one, four = spiking_attention(q, k, v, 1), spiking_attention(q, k, v, 4)
    assert not torch.equal(one, four)
    # by hand for one head: (q kᵀ v) * 0.125
    assert torch.equal(one, (q @ k.transpose(-2, -1) @ v) * 0.125)


def test_heads_threshold_and_tau_genes_change_the_network(tiny_space: SearchSpace) -> None:
    net = lively(build_supernet(tiny_space))
    base = SubnetConfig(
        depth=2,
        embed_dim=32,
        mlp_ratio=(2.0, 2.0),
        num_heads=(2, 2),
        threshold=(1.0, 1.0),
        tau=(2.0, 2.0),
        time_steps=2,
    )
    x = torch.randn(8, 1, 8, 8)
    with torch.no_grad():
        reference = net(x, base)
        assert not torch.equal(reference[0], reference[1])  # the network responds to its input
        for change in ({"num_heads": (4, 4)}, {"threshold": (0.5, 0.5)}, {"tau": (4.0, 4.0)}):
            other = SubnetConfig(**{**base.__dict__, **change})
            assert not torch.equal(net(x, other), reference), change


def test_blocks_beyond_depth_are_skipped(tiny_space: SearchSpace) -> None:
    net = lively(build_supernet(tiny_space))
    config = SubnetConfig(
        depth=1,
        embed_dim=16,
        mlp_ratio=(1.0,),
        num_heads=(2,),
        threshold=(1.0,),
        tau=(2.0,),
        time_steps=2,
    )
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        before = net(x, config)
        for p in net.blocks[1].parameters():
            p.add_(1.0)
        assert torch.equal(before, net(x, config))


def test_stats_cover_every_synaptic_layer(tiny_space: SearchSpace) -> None:
    net = lively(build_supernet(tiny_space))
    config = SubnetConfig.largest(tiny_space)
    stats = SpikeStats()
    with torch.no_grad():
        net(torch.randn(2, 1, 8, 8), config, stats)
    names = list(stats.rates())
    assert names[:4] == ["sps.conv1", "sps.conv2", "sps.conv3", "sps.rpe"]
    per_block = ["qkv", "attn_qk", "attn_k", "attn_v", "proj", "fc1", "fc2", "out"]
    assert names[4:] == [f"blocks.{i}.{n}" for i in range(2) for n in per_block]


def test_training_updates_only_the_active_slice(tiny_space: SearchSpace) -> None:
    net = build_supernet(tiny_space).train()
    config = SubnetConfig.smallest(tiny_space)
    before = net.get_buffer("blocks.0.fc1.bn.running_mean").clone()
    loss = net(torch.randn(4, 1, 8, 8), config).square().mean()
    loss.backward()
    grad = net.get_parameter("blocks.0.q.linear.weight").grad
    assert grad is not None
    d = config.embed_dim
    assert grad[:d, :d].abs().sum() > 0 and grad[d:].abs().sum() == 0
    after = net.get_buffer("blocks.0.fc1.bn.running_mean")
    hidden = config.mlp_hidden(0)
    assert not torch.equal(after[:hidden], before[:hidden])
    assert torch.equal(after[hidden:], before[hidden:])
    assert net.get_parameter("blocks.1.q.linear.weight").grad is None


# ------------------------------------------------------------------ event geometry (issue 31)
def test_event_geometry_pools_after_every_stage_and_reads_the_subnets_frames() -> None:
    net = lively(
        SpikformerSupernet(
            Geometry(image_size=32, in_channels=2, num_classes=5, sps_pools=4, frame_bank=(2, 3)),
            depth=1,
            embed_dim=32,
            mlp_ratio=2.0,
            num_heads=2,
        )
    )
    bank = torch.randint(0, 3, (4, 5, 2, 32, 32)).float()
    rows: list[int] = []
    block: Any = net.blocks[0]
    hook = block.q.linear.register_forward_hook(lambda m, i, o: rows.append(i[0].shape[0]))
    outputs = {}
    for steps in (2, 3):
        config = SubnetConfig(
            depth=1,
            embed_dim=32,
            mlp_ratio=(2.0,),
            num_heads=(2,),
            threshold=(1.0,),
            tau=(2.0,),
            time_steps=steps,
        )
        outputs[steps] = net(bank, config)
        assert torch.allclose(extract(net, config).eval()(bank), outputs[steps], atol=1e-5)
        # changing a frame of the other binning leaves this subnet's output alone
        other = bank.clone()
        (other[:, 2:] if steps == 2 else other[:, :2]).add_(5)
        assert torch.equal(net(other, config), outputs[steps])
    hook.remove()
    # 32x32 pooled four times: 2x2 = 4 tokens, for T*B rows
    assert rows[0] == 2 * 4 * 4 and rows[2] == 3 * 4 * 4
    events = Geometry(image_size=128, in_channels=2, num_classes=10, sps_pools=4, frame_bank=(2,))
    ops = {op.name: op.flops for op in layer_ops(config, events)}
    assert ops["sps.conv1"] == 64 * 64 * 9 * 4 * 8 and ops["blocks.0.attn_qk"] == 64 * 64 * 32
    with pytest.raises(ValueError, match="were not binned"):
        net(bank, SubnetConfig(**{**config.__dict__, "time_steps": 4}))


def test_the_attention_scale_is_a_space_setting_kept_by_extraction() -> None:
    from evosnn.evaluate.models import build_standalone
    from tests.conftest import tiny_dict

    data = tiny_dict()
    default = SearchSpace.from_dict(data)
    data["supernet"]["attention_scale"] = 0.5
    scaled = SearchSpace.from_dict(data)
    assert "attention_scale" not in default.to_dict()["supernet"]  # Spikformer's: files unchanged
    assert scaled.to_dict()["supernet"]["attention_scale"] == 0.5
    assert scaled.incompatibility(default) is not None  # weights trained for another attention
    net = lively(build_supernet(scaled))
    assert net.geometry.attention_scale == 0.5
    assert build_supernet(default).geometry.attention_scale == 0.125
    config = SubnetConfig.largest(scaled)
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        got = extract(net, config).eval()(x)
        assert torch.allclose(net(x, config), got, atol=1e-5)
        net.geometry = replace(net.geometry, attention_scale=0.125)
        assert not torch.equal(net(x, config), got)  # the scale reaches the attention
    assert build_standalone(config, scaled).geometry.attention_scale == 0.5
