"""Neuron models (issue 40): reference parity, one supernet, spike-driven inference, genes."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
import torch

from evosnn.core.config import SubnetConfig
from evosnn.core.genome import GenomeCodec
from evosnn.core.sizes import count_params
from evosnn.core.space import SearchSpace
from evosnn.evaluate.models import build_supernet
from supernet import SpikeStats, extract
from supernet.lif import LIF, Sigmoid
from supernet.neurons import integer_lif, parametric_lif, plif_weight
from tests.conftest import tiny_dict
from tests.supernet.test_model import lively

NEURONS = ["lif", "ilif", "plif"]


def neuron_dict() -> dict[str, Any]:
    data = tiny_dict()
    data["choices"] |= {"neuron": NEURONS, "level": [2, 4]}
    return data


@pytest.fixture
def neuron_space() -> SearchSpace:
    return SearchSpace.from_dict(neuron_dict(), source="tiny-neurons")


def spikeyolo_mem_update(x: torch.Tensor, level: int) -> torch.Tensor:
    """BICLab/SpikeYOLO's ``mem_update`` with ``MultiSpike`` (decay 0.25), written out."""
    spike = torch.zeros_like(x[0])
    out = torch.zeros_like(x)
    mem_old = torch.zeros_like(x[0])
    for i in range(x.shape[0]):
        mem = (mem_old - spike) * 0.25 + x[i] if i >= 1 else x[i]
        spike = torch.round(torch.clamp(mem, 0, level))
        mem_old = mem.clone()
        out[i] = spike
    return out


def test_integer_lif_is_spikeyolos_neuron() -> None:
    x = torch.randn(5, 3, 7, generator=torch.Generator().manual_seed(0)) * 3
    for level in (2, 4):
        got = integer_lif(x, level)
        assert torch.equal(got, spikeyolo_mem_update(x, level))
        assert got.max() == level and got.min() == 0  # integer levels are used, not only 0/1
    u = torch.tensor([[-1.0, 0.5, 3.0, 6.0]], requires_grad=True)
    integer_lif(u, 4).sum().backward()
    assert u.grad is not None and u.grad.tolist() == [[0.0, 1.0, 1.0, 0.0]]  # straight-through


def test_parametric_lif_is_spikingjellys_and_starts_as_the_lif() -> None:
    x = torch.randn(6, 4, 5, generator=torch.Generator().manual_seed(1)) * 2
    w = plif_weight(2.0)
    got = parametric_lif(x, w, 1.0, Sigmoid())
    assert torch.equal(got, LIF(tau=2.0, threshold=1.0)(x))  # sigmoid(w) = 1/2 at tau 2
    # spikingjelly ParametricLIFNode (decay_input, v_reset 0): H = V + (X - V) sigmoid(w)
    w3 = torch.nn.Parameter(torch.tensor(-math.log(3.0 - 1.0)))
    v, expected = torch.zeros(4, 5), []
    for t in range(6):
        h = v + (x[t] - v) * torch.sigmoid(w3)
        s = (h >= 1.0).float()
        v = h * (1 - s)
        expected.append(s)
    assert torch.equal(parametric_lif(x, w3, 1.0, Sigmoid()), torch.stack(expected))
    parametric_lif(x, w3, 1.0, Sigmoid()).sum().backward()
    assert w3.grad is not None and float(w3.grad) != 0.0  # the time constant learns


def test_one_supernet_computes_every_neuron_mix_as_its_extraction(
    neuron_space: SearchSpace,
) -> None:
    codec = GenomeCodec(neuron_space)
    net = lively(build_supernet(neuron_space))
    x = torch.randn(3, 1, 8, 8)
    rng = random.Random(0)
    seen: set[str] = set()
    for _ in range(30):
        config = codec.sample_config(rng)
        seen |= set(config.neuron)
        model = extract(net, config).eval()
        with torch.no_grad():
            assert torch.equal(net(x, config), model(x)), config
        assert count_params(config, neuron_space.geometry) == sum(
            p.numel() for p in model.parameters()
        )
    assert seen == set(NEURONS)


def test_the_neuron_and_level_genes_change_the_network(neuron_space: SearchSpace) -> None:
    net = lively(build_supernet(neuron_space))
    x = torch.randn(4, 1, 8, 8)
    base = SubnetConfig.largest(neuron_space)
    base = SubnetConfig(**{**base.__dict__, "tau": (4.0, 4.0)})  # plif starts at tau 2
    outs = []
    for neuron, level in (("lif", 4), ("ilif", 2), ("ilif", 4), ("plif", 4)):
        config = SubnetConfig(**{**base.__dict__, "neuron": (neuron,) * 2, "level": (level,) * 2})
        with torch.no_grad():
            outs.append(tuple(net(x, config).flatten().tolist()))
    assert len(set(outs)) == 4


def test_genes_a_model_does_not_use_are_inert_and_canonical(neuron_space: SearchSpace) -> None:
    codec = GenomeCodec(neuron_space)
    assert {"neuron_0", "level_0"} <= set(codec.names)
    assert "neuron_0" not in GenomeCodec(SearchSpace.from_dict(tiny_dict())).names
    rng = random.Random(2)
    for _ in range(200):
        genome = codec.sample(rng)
        config = codec.decode(genome)
        key = codec.canonical(genome)
        assert codec.encode(config) == key
        for b in range(config.depth):
            position = {g: key[codec.index(f"{g}_{b}")] for g in ("threshold", "tau", "level")}
            if config.neuron[b] != "ilif":
                assert position["level"] == 0
            # threshold and tau stay live: the block's q, k, v LIFs take them whatever the model
            assert (position["threshold"], position["tau"]) == (
                genome[codec.index(f"threshold_{b}")],
                genome[codec.index(f"tau_{b}")],
            )
    # per block: 2 thresholds x 2 taus x (lif + ilif's 2 levels + plif), x heads x widths
    per_block = 2 * 2 * (1 + 2 + 1) * 2 * 2
    assert neuron_space.num_subnets() == 2 * 2 * (per_block + per_block**2)
    old = SubnetConfig.from_dict(SubnetConfig.largest(neuron_space).to_dict())
    assert old.neuron == ("lif", "lif") and "neuron" not in old.to_dict()


@pytest.fixture(scope="module")
def trained_neurons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A supernet of the tiny space with every neuron model, trained for two short epochs."""
    from evosnn.data.loading import load_splits
    from evosnn.training.supernet_training import train_supernet_for
    from supernet.recipe import TrainSettings

    space = SearchSpace.from_dict(neuron_dict())
    out = tmp_path_factory.mktemp("neurons")
    settings = TrainSettings(epochs=2, batch_size=32, warmup_epochs=0, recal_batches=1)
    train_supernet_for(space, load_splits(space.dataset), out, settings, progress=False)
    return out / "supernet.pt"


def test_spike_driven_inference_equals_integer_inference_on_a_trained_subnet(
    trained_neurons: Path,
) -> None:
    """Each integer level sent as that many unit spikes on D virtual steps, accumulated by the
    next layer before its neuron acts, gives the integer network's logits and rates."""
    from evosnn.core.evaluation import EvalSettings
    from evosnn.evaluate.evaluator import Evaluator
    from supernet.batches import normalize

    ev = Evaluator(trained_neurons, settings=EvalSettings(recal_batches=2, recal_batch_size=32))
    space = ev.space
    config = SubnetConfig(
        depth=2, embed_dim=32, mlp_ratio=(2.0, 2.0), num_heads=(4, 4), threshold=(1.0, 1.0),
        tau=(2.0, 2.0), time_steps=2, neuron=("ilif", "ilif"), level=(4, 2),
    )  # fmt: skip
    config.check_in(space)
    model = ev.standalone(config).eval()  # BN recalibrated as the search evaluates it
    splits = ev.splits
    x = normalize(splits.val.images[:32], splits.mean, splits.std)
    integer_stats, binary_stats = SpikeStats(), SpikeStats()
    with torch.no_grad():
        integer = model.set_inference("integer")(x, integer_stats)
        binary = model.set_inference("binary")(x, binary_stats)
        assert model.blocks[0].fc2.expand == 4 and model.blocks[1].fc2.expand == 2
    assert torch.allclose(integer, binary, atol=1e-5)
    assert integer_stats.rates() == pytest.approx(binary_stats.rates())
    assert integer_stats.rates()["blocks.0.fc2"] > 1 / 4  # integer spikes above level 1 occur
    with pytest.raises(ValueError, match="inference mode"):
        model.set_inference("analog")
