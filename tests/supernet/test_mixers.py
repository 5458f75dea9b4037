"""Token mixers (issue 39): reference parity per mixer, one supernet for all, extraction, genes."""

from __future__ import annotations

import random
from typing import Any

import pytest
import torch

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import ConfigError
from evosnn.core.genome import GenomeCodec
from evosnn.core.mixers import MIXERS as MIXER_COUNTS
from evosnn.core.sizes import count_params, layer_ops
from evosnn.core.space import SearchSpace
from evosnn.evaluate.models import build_supernet
from supernet import SpikeStats, extract
from supernet.mixers import MIXERS
from supernet.standalone import Spikformer
from tests.conftest import tiny_dict
from tests.supernet.test_model import lively

ALL = ["ssa", "sdsa", "mlp"]


@pytest.fixture
def mixed_space() -> SearchSpace:
    data = tiny_dict()
    data["choices"]["mixer"] = ALL
    return SearchSpace.from_dict(data, source="tiny-mixers")


def one_block(mixer: str, heads: int = 2) -> SubnetConfig:
    return SubnetConfig(
        depth=1,
        embed_dim=16,
        mlp_ratio=(1.0,),
        num_heads=(heads,),
        threshold=(0.8,),
        tau=(2.0,),
        time_steps=3,
        mixer=(mixer,),
    )


def reference_lif(x: torch.Tensor, threshold: float, tau: float) -> torch.Tensor:
    """spikingjelly's MultiStepLIFNode (decay_input, v_reset 0, hard reset), written out."""
    v = torch.zeros_like(x[0])
    out = []
    for xt in x:
        h = v + (xt - v) / tau
        s = (h >= threshold).float()
        v = h * (1 - s)
        out.append(s)
    return torch.stack(out)


def test_the_two_registries_name_the_same_mixers_and_layer_names_never_clash() -> None:
    assert list(MIXERS) == list(MIXER_COUNTS) == ALL
    names = [n for m in MIXERS.values() for n in (*m.neurons, *m.token_linears)]
    assert len(names) == len(set(names))
    assert not {"q", "k", "v", "proj", "fc1", "fc2"} & set(names)
    for name, mixer in MIXERS.items():
        assert mixer.name == name
        assert MIXER_COUNTS[name].uses_heads == (name == "ssa")


def standalone(mixer: str, heads: int = 2) -> tuple[Spikformer, Any]:
    data = tiny_dict()
    data["choices"]["mixer"] = ALL
    space = SearchSpace.from_dict(data)
    torch.manual_seed(0)  # the same weights whatever ran before
    model = lively(Spikformer(one_block(mixer, heads), space.geometry), seed=1)
    return model, model.blocks[0]


def test_sdsa_is_the_reference_equations() -> None:
    """BICLab ms_conv.py: kv = Σ_tokens k ⊙ v per head, LIF(threshold 0.5) on kv, then q ⊙ kv."""
    _, block = standalone("sdsa")
    x = (torch.rand(3, 2, 4, 16, generator=torch.Generator().manual_seed(0)) < 0.6).float() * 2
    parts = block.parts()
    with torch.no_grad():
        got = block.mixer.mix(x, parts, None, "b")
        q, k, v = block.q(x), block.k(x), block.v(x)
        # the reference's head split: [T, B, heads, N, D/heads], sum over N per head and channel
        t, b, n, d = q.shape
        split = [y.reshape(t, b, n, 2, d // 2).permute(0, 1, 3, 2, 4) for y in (q, k, v)]
        kv = (split[1] * split[2]).sum(dim=-2, keepdim=True)
        kv = reference_lif(kv, threshold=0.5, tau=2.0)
        expected = (split[0] * kv).permute(0, 1, 3, 2, 4).reshape(t, b, n, d)
    assert torch.equal(got, expected)
    assert 0 < float(expected.mean()) < 1  # neither silent nor saturated: the test can fail


def test_sdsa_heads_are_inert_and_ssa_heads_are_not() -> None:
    x = (torch.rand(3, 2, 4, 16, generator=torch.Generator().manual_seed(2)) < 0.5).float()
    outs = {}
    for mixer in ("sdsa", "ssa"):
        _, block = standalone(mixer)
        for heads in (2, 4):
            block.heads = heads  # the same weights, another head split
            with torch.no_grad():
                outs[mixer, heads] = block.mixer.mix(x, block.parts(), None, "b")
    assert torch.equal(outs["sdsa", 2], outs["sdsa", 4])
    assert float(outs["sdsa", 2].mean()) > 0 and float(outs["ssa", 2].mean()) > 0
    assert not torch.equal(outs["ssa", 2], outs["ssa", 4])


def test_token_mlp_is_the_reference_equations() -> None:
    """LIF(BN(W x_c + b)) along the token axis for every channel c, the block's neuron settings."""
    _, block = standalone("mlp")
    x = (torch.rand(3, 2, 4, 16, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    with torch.no_grad():
        block.tok.linear.weight.mul_(4.0)  # strong token mixing, so that one token moves others
        got = block.mixer.mix(x, block.parts(), None, "b")
        linear, bn = block.tok.linear, block.tok.bn
        y = x.transpose(2, 3) @ linear.weight.T + linear.bias  # [T, B, D, N]
        y = (y - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
        expected = reference_lif(y, threshold=0.8, tau=2.0).transpose(2, 3)
    assert torch.allclose(got, expected)
    assert 0 < float(expected.mean()) < 1
    mixed = x.clone()
    mixed[:, :, 0] = 1 - mixed[:, :, 0]  # change one token: every token's output may change
    with torch.no_grad():
        other = block.mixer.mix(mixed, block.parts(), None, "b")
    assert not torch.equal(other[:, :, 1:], got[:, :, 1:])


def test_one_supernet_computes_every_mixed_subnet_as_its_extraction(
    mixed_space: SearchSpace,
) -> None:
    codec = GenomeCodec(mixed_space)
    net = lively(build_supernet(mixed_space))
    x = torch.randn(3, 1, 8, 8)
    rng = random.Random(0)
    seen: set[tuple[str, ...]] = set()
    for _ in range(30):
        config = codec.sample_config(rng)
        seen.add(config.mixer)
        model = extract(net, config).eval()
        with torch.no_grad():
            expected, got = net(x, config), model(x)
        assert torch.equal(expected, got), config
        assert count_params(config, mixed_space.geometry) == sum(
            p.numel() for p in model.parameters()
        )
    assert len({m for mixers in seen for m in mixers}) == 3
    assert any(len(set(mixers)) > 1 for mixers in seen)  # blocks of one subnet mix mixers


def test_the_mixer_gene_changes_the_network_and_stats_name_each_mixers_layers(
    mixed_space: SearchSpace,
) -> None:
    net = lively(build_supernet(mixed_space))
    x = torch.randn(4, 1, 8, 8)
    outs = {}
    for mixer in ALL:
        config = SubnetConfig.largest(mixed_space)
        config = SubnetConfig(**{**config.__dict__, "mixer": (mixer, mixer)})
        stats = SpikeStats()
        with torch.no_grad():
            outs[mixer] = net(x, config, stats)
        rated = {op.rate for op in layer_ops(config, mixed_space.geometry) if op.rate}
        assert rated <= set(stats.rates()), mixer  # every counted layer has a measured rate
    assert len({tuple(o.flatten().tolist()) for o in outs.values()}) == 3


def test_spaces_without_the_gene_keep_their_genome_and_old_configs_read_as_ssa(
    tiny_space: SearchSpace, mixed_space: SearchSpace
) -> None:
    plain, mixed = GenomeCodec(tiny_space), GenomeCodec(mixed_space)
    assert "mixer_0" not in plain.names and len(plain) == 3 + 4 * 2
    assert plain.names == mixed.names[: len(plain)] or len(mixed) == 3 + 5 * 2
    assert mixed.names[3:8] == ("mlp_ratio_0", "num_heads_0", "threshold_0", "tau_0", "mixer_0")
    config = one_block("ssa")
    data = config.to_dict()
    assert "mixer" not in data  # written as before the gene existed
    assert SubnetConfig.from_dict(data) == config
    assert SubnetConfig.from_dict(one_block("mlp").to_dict()).mixer == ("mlp",)
    with pytest.raises(ConfigError, match="mixer"):
        SubnetConfig.from_dict({**data, "mixer": ["softmax"]})
    assert "mixer" not in tiny_space.to_dict()["choices"]
    with pytest.raises(Exception, match="mixer"):
        SearchSpace.from_dict(
            {**tiny_dict(), "choices": {**tiny_dict()["choices"], "mixer": ["x"]}}
        )


def test_heads_of_heads_free_mixers_are_canonical_and_counted_once(
    mixed_space: SearchSpace,
) -> None:
    codec = GenomeCodec(mixed_space)
    rng = random.Random(4)
    for _ in range(200):
        genome = codec.sample(rng)
        config = codec.decode(genome)
        assert codec.encode(config) == codec.canonical(genome)
        for b in range(config.depth):
            if config.mixer[b] != "ssa":
                assert genome_heads(codec, codec.canonical(genome), b) == 0
    # per block: ssa x 2 heads + sdsa + mlp, x 2 MLP widths, x 2 thresholds x 2 taus
    per_block = (2 + 1 + 1) * 2 * 2 * 2
    assert mixed_space.num_subnets() == 2 * 2 * (per_block + per_block**2)


def genome_heads(codec: GenomeCodec, genome: tuple[int, ...], block: int) -> int:
    return genome[codec.index(f"num_heads_{block}")]


def test_separate_mixer_weights_give_sdsa_its_own_q_k_v(mixed_space: SearchSpace) -> None:
    data = mixed_space.to_dict()
    data["supernet"]["mixer_weights"] = "separate"
    separate = SearchSpace.from_dict(data)
    assert separate.incompatibility(mixed_space) is not None  # other weight shapes
    net = lively(build_supernet(separate))
    shared = build_supernet(mixed_space)
    block = net.blocks[0]
    assert hasattr(block, "sdsa_q") and not hasattr(shared.blocks[0], "sdsa_q")
    extra = sum(p.numel() for p in net.parameters()) - sum(p.numel() for p in shared.parameters())
    assert extra == 2 * 3 * (32 * 32 + 32 + 2 * 32)  # two blocks, q, k, v of width 32
    x = torch.randn(2, 1, 8, 8)
    config = SubnetConfig.largest(separate)
    for mixer in ("ssa", "sdsa"):
        config = SubnetConfig(**{**config.__dict__, "mixer": (mixer, mixer)})
        model = extract(net, config).eval()
        with torch.no_grad():
            assert torch.equal(net(x, config), model(x))
        assert count_params(config, separate.geometry) == sum(p.numel() for p in model.parameters())
    with torch.no_grad():  # sdsa reads its own q: changing the shared one leaves it alone
        before = net(x, config)
        block.get_parameter("q.linear.weight").add_(1.0)
        assert torch.equal(before, net(x, config))
