"""The event geometry against Spikformer's reference event model (issue 41, item 1).

``ReferenceEventSpikformer`` is written from the layer definitions of ZK-Zhou/spikformer
``cifar10dvs/model.py`` (SPS with a max-pool after each of its four stages, Conv1d q/k/v without
bias, scale 0.25, Conv1d projection and MLP with bias, the head on the token- and time-mean); its
neurons are evosnn's LIF, which equals spikingjelly's ``MultiStepLIFNode`` bit for bit
(``supernet.lif``), so what is compared is the architecture. Its weights are mapped onto the
stand-alone model of the event geometry, and logits and every neuron's firing rate must agree.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from evosnn.core.config import SubnetConfig
from evosnn.core.geometry import Geometry
from evosnn.core.sizes import count_params
from evosnn.core.space import load_space
from evosnn.evaluate.models import build_supernet
from supernet import Spikformer, extract
from supernet.lif import LIF
from tests.supernet.test_model import ModuleT, lively


def members(modules: nn.ModuleList, kind: type[ModuleT]) -> list[ModuleT]:
    """The modules of ``modules``, each checked to be a ``kind``."""
    typed = [m for m in modules if isinstance(m, kind)]
    assert len(typed) == len(modules), f"not all {kind.__name__}"
    return typed


def lif_of(module: nn.Module, name: str = "lif") -> LIF:
    """The LIF neuron ``module`` holds under ``name``."""
    neuron = module.get_submodule(name)
    assert isinstance(neuron, LIF)
    return neuron


class _ConvBNLIF(nn.Module):
    def __init__(
        self,
        conv: nn.Conv1d | nn.Conv2d,
        bn: nn.BatchNorm1d | nn.BatchNorm2d,
        threshold: float = 1.0,
    ) -> None:
        super().__init__()
        self.conv, self.bn, self.lif = conv, bn, LIF(tau=2.0, threshold=threshold)


class _ReferenceBlock(nn.Module):
    """One encoder block of the reference: q, k, v, the attention's LIF, projection and MLP."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        # q_conv = nn.Conv1d(dim, dim, kernel_size=1, stride=1, bias=False), and k, v alike
        self.q, self.k, self.v = (
            _ConvBNLIF(nn.Conv1d(dim, dim, 1, 1, bias=False), nn.BatchNorm1d(dim)) for _ in "qkv"
        )
        self.attn_lif = LIF(tau=2.0, threshold=0.5)
        self.proj = _ConvBNLIF(nn.Conv1d(dim, dim, 1, 1), nn.BatchNorm1d(dim))
        self.fc1 = _ConvBNLIF(nn.Conv1d(dim, hidden, 1, 1), nn.BatchNorm1d(hidden))
        self.fc2 = _ConvBNLIF(nn.Conv1d(hidden, dim, 1, 1), nn.BatchNorm1d(dim))

    def layers(self) -> tuple[_ConvBNLIF, ...]:
        """Its conv-BN-LIF layers: q, k, v, proj, fc1, fc2."""
        return self.q, self.k, self.v, self.proj, self.fc1, self.fc2


class ReferenceEventSpikformer(nn.Module):
    """cifar10dvs/model.py's Spikformer, its layers as the reference defines them."""

    def __init__(self, dim: int, depth: int, heads: int, hidden: int, classes: int) -> None:
        super().__init__()
        widths = (2, dim // 8, dim // 4, dim // 2, dim)
        self.stages = nn.ModuleList(
            _ConvBNLIF(nn.Conv2d(a, b, 3, 1, 1, bias=False), nn.BatchNorm2d(b))
            for a, b in itertools.pairwise(widths)
        )  # proj_conv .. proj_conv3, each then proj_bn*, proj_lif*, maxpool*
        self.rpe = _ConvBNLIF(nn.Conv2d(dim, dim, 3, 1, 1, bias=False), nn.BatchNorm2d(dim))
        self.blocks = nn.ModuleList(_ReferenceBlock(dim, hidden) for _ in range(depth))
        self.heads, self.scale = heads, 0.25
        self.head = nn.Linear(dim, classes)

    @staticmethod
    def _seq(layer: _ConvBNLIF, x: torch.Tensor) -> torch.Tensor:
        t, b = x.shape[:2]
        y = layer.bn(layer.conv(x.flatten(0, 1)))
        return layer.lif(y.reshape(t, b, *y.shape[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(1, 0, 2, 3, 4)  # [T, B, 2, H, W]
        pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for stage in members(self.stages, _ConvBNLIF):
            s = self._seq(stage, x)
            y = pool(s.flatten(0, 1))
            x = y.reshape(*s.shape[:2], *y.shape[1:])
        x = x + self._seq(self.rpe, x)
        t, b, c = x.shape[:3]
        x = x.reshape(t, b, c, -1)  # [T, B, C, N]
        for blk in members(self.blocks, _ReferenceBlock):
            x = x + self._ssa(blk, x)
            x = x + self._seq(blk.fc2, self._seq(blk.fc1, x))
        return self.head(x.mean(3).mean(0))

    def _ssa(self, blk: _ReferenceBlock, x: torch.Tensor) -> torch.Tensor:
        t, b, c, n = x.shape
        q, k, v = (
            self._seq(layer, x)
            .transpose(-1, -2)
            .reshape(t, b, n, self.heads, c // self.heads)
            .permute(0, 1, 3, 2, 4)
            for layer in (blk.q, blk.k, blk.v)
        )
        y = (q @ k.transpose(-2, -1)) @ v * self.scale
        y = blk.attn_lif(y.transpose(3, 4).reshape(t, b, c, n))
        return self._seq(blk.proj, y)


def reference_event_params(dim: int, depth: int, hidden: int, classes: int) -> int:
    """Parameters of cifar10dvs/model.py's Spikformer that its forward pass uses, layer by layer.

    Listed from the reference: ``proj_conv``..``proj_conv3`` and ``rpe_conv`` are
    ``Conv2d(..., 3, bias=False)``, each with a ``BatchNorm2d``; per block ``q_conv``, ``k_conv``,
    ``v_conv`` are ``Conv1d(dim, dim, 1, bias=False)``, ``proj_conv``, ``fc1_conv``, ``fc2_conv``
    are ``Conv1d`` with bias, each with a ``BatchNorm1d``; ``head`` is ``Linear(dim, classes)``.
    Defined but never used by ``forward`` (not counted): ``pos_embed``, the blocks' ``norm1`` and
    ``norm2`` and the model's ``norm`` (LayerNorms), ``attn_drop``, ``res_lif``.
    """
    bn = lambda c: 2 * c  # noqa: E731  (weight and bias)
    widths = (2, dim // 8, dim // 4, dim // 2, dim, dim)  # four stages, then the rpe conv
    sps = sum(9 * a * b + bn(b) for a, b in itertools.pairwise(widths))
    qkv = 3 * (dim * dim + bn(dim))
    proj = dim * dim + dim + bn(dim)
    mlp = (dim * hidden + hidden + bn(hidden)) + (hidden * dim + dim + bn(dim))
    return sps + depth * (qkv + proj + mlp) + dim * classes + classes


@pytest.mark.parametrize(
    ("name", "classes", "expected"),
    [("cifar10-dvs-spikformer", 10, 2_566_666), ("dvs128-gesture", 11, 2_566_923)],
)
def test_event_spaces_largest_subnet_is_the_reference_model(
    name: str, classes: int, expected: int
) -> None:
    space = load_space(name)
    largest = SubnetConfig.largest(space)
    assert (largest.depth, largest.embed_dim, largest.num_heads, largest.time_steps) == (
        2, 256, (16, 16), 16,
    )  # fmt: skip
    assert reference_event_params(256, 2, 1024, classes) == expected  # 2.57 M, as published
    assert count_params(largest, space.geometry) == expected
    net = build_supernet(space)
    assert net.geometry.qkv_bias is False and net.geometry.attention_scale == 0.25
    assert sum(p.numel() for p in extract(net, largest).parameters()) == expected
    model = ReferenceEventSpikformer(256, 2, 16, 1024, classes)
    used = sum(p.numel() for p in model.parameters())
    assert used == expected


def test_logits_and_firing_rates_equal_the_reference_event_model() -> None:
    dim, depth, heads, hidden, classes, steps = 32, 2, 4, 64, 5, 3
    reference = lively(ReferenceEventSpikformer(dim, depth, heads, hidden, classes), seed=4)
    geometry = Geometry(
        image_size=128, in_channels=2, num_classes=classes, sps_pools=4, frame_bank=(steps,),
        attention_scale=0.25, qkv_bias=False,
    )  # fmt: skip
    config = SubnetConfig(
        depth=depth, embed_dim=dim, mlp_ratio=(hidden / dim,) * depth, num_heads=(heads,) * depth,
        threshold=(1.0,) * depth, tau=(2.0,) * depth, time_steps=steps,
    )  # fmt: skip
    model = Spikformer(config, geometry).eval()
    stages = members(reference.stages, _ConvBNLIF)
    blocks = members(reference.blocks, _ReferenceBlock)
    # evosnn's layers (a conv or a linear, with its bn and lif), against the reference's
    pairs: list[tuple[nn.Module, _ConvBNLIF]] = [(model.sps[i], stages[i]) for i in range(4)]
    pairs += [(model.rpe, reference.rpe)]
    for our_block, their_block in zip(model.blocks, blocks, strict=True):
        names = ("q", "k", "v", "proj", "fc1", "fc2")
        pairs += zip((our_block.get_submodule(n) for n in names), their_block.layers(), strict=True)
    with torch.no_grad():
        for ours, theirs in pairs:
            layer = ours.get_submodule("conv" if hasattr(ours, "conv") else "linear")
            own = dict(layer.named_parameters())  # its weight, and its bias where it has one
            own["weight"].copy_(theirs.conv.weight.reshape(own["weight"].shape))
            if "bias" in own:
                assert theirs.conv.bias is not None
                own["bias"].copy_(theirs.conv.bias)
            else:
                assert theirs.conv.bias is None
            ours.get_submodule("bn").load_state_dict(theirs.bn.state_dict())
        model.head.load_state_dict(reference.head.state_dict())
        # the reference's input: event frames [B, T, 2, 128, 128] (counts)
        frames = torch.rand(3, steps, 2, 128, 128, generator=torch.Generator().manual_seed(0))
        frames = (frames < 0.3).float() * 2
        expected, got = reference(frames), model(frames)
    assert torch.allclose(got, expected, atol=1e-5)
    rates = [(lif_of(o).firing_rate, t.lif.firing_rate) for o, t in pairs]
    rates += [(lif_of(o, "attn_lif").firing_rate, t.attn_lif.firing_rate)
              for o, t in zip(model.blocks, blocks, strict=True)]  # fmt: skip
    assert [o for o, _ in rates] == pytest.approx([t for _, t in rates])
    assert all(0 < t < 1 for _, t in rates[:5])  # the stages fire: the comparison is not vacuous
