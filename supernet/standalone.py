"""The stand-alone Spikformer of one SubnetConfig: ordinary layers, no supernet machinery.

It is what exports carry and what ``evosnn train`` retrains. Its parameter names equal the
supernet's, so :func:`extract` copies inherited weights by slicing each supernet tensor to the
stand-alone tensor's shape (the leading rows/columns/channels, as weight entanglement defines).

Example:
    >>> model = extract(supernet, config)  # doctest: +SKIP
    >>> torch.allclose(model.eval()(x), supernet.eval()(x, config), atol=1e-5)  # doctest: +SKIP
    True
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from evosnn.core.config import SubnetConfig, sps_pool_after, sps_widths
from evosnn.core.geometry import Geometry
from supernet.lif import LIF, Surrogate
from supernet.mixers import MIXERS, Layer, Parts
from supernet.model import SpikformerSupernet
from supernet.neurons import FIRE, plif_weight, spike_driven_linear
from supernet.ops import (
    ATTENTION_THRESHOLD,
    SPSLayers,
    along_tokens,
    block_forward,
    classify,
    sps_forward,
)
from supernet.spike_stats import SpikeStats

__all__ = ["Spikformer", "extract"]


class _LinearBN(nn.Module):
    def __init__(
        self,
        d_in: int,
        d_out: int,
        threshold: float,
        tau: float,
        surrogate: Surrogate | None,
        neuron: tuple[str, int] = ("lif", 1),
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.linear = nn.Linear(d_in, d_out, bias=bias)
        self.bn = nn.BatchNorm1d(d_out)
        self.lif = LIF(tau=tau, threshold=threshold, surrogate=surrogate)
        self.neuron, self.level = neuron
        if self.neuron == "plif":
            self.plif_w = plif_weight()
        #: Spike levels of this layer's input to send as unit spikes on virtual steps (0: send
        #: integer spikes as they are); see :meth:`Spikformer.set_inference`.
        self.expand = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, b, n, d_in = x.shape
        flat = x.reshape(-1, d_in)
        if self.expand:
            y = spike_driven_linear(flat, self.linear.weight, self.linear.bias, self.expand)
        else:
            y = self.linear(flat)
        y = self.bn(y).view(t, b, n, -1)
        return FIRE[self.neuron](self, y, self.lif.threshold, self.lif.tau, self.level)


class _ConvBN(nn.Module):
    def __init__(
        self, c_in: int, c_out: int, threshold: float, tau: float, surrogate: Surrogate | None
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.lif = LIF(tau=tau, threshold=threshold, surrogate=surrogate)

    def currents(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, b = x.shape[:2]
        y = self.currents(x.flatten(0, 1))
        return self.lif(y.view(t, b, *y.shape[1:]))


class _Block(nn.Module):
    """Block ``i`` of ``config``: its mixer's layers, the projection and the MLP (parameter names
    as in the supernet's block)."""

    def __init__(
        self, config: SubnetConfig, i: int, geometry: Geometry, surrogate: Surrogate | None
    ) -> None:
        super().__init__()
        d, th, tau = config.embed_dim, config.threshold[i], config.tau[i]
        self.mixer, self.heads = MIXERS[config.mixer[i]], config.num_heads[i]
        self.attention_scale = geometry.attention_scale
        self.qkv = geometry.qkv_names(self.mixer.name) if self.mixer.uses_qkv else ()
        for name in self.qkv:
            self.add_module(name, _LinearBN(d, d, th, tau, surrogate, bias=geometry.qkv_bias))
        for name in self.mixer.neurons:
            self.add_module(name, LIF(tau=tau, threshold=ATTENTION_THRESHOLD, surrogate=surrogate))
        fire = (config.neuron[i], config.level[i])
        self.proj = _LinearBN(d, d, th, tau, surrogate, fire)
        self.fc1 = _LinearBN(d, config.mlp_hidden(i), th, tau, surrogate, fire)
        self.fc2 = _LinearBN(config.mlp_hidden(i), d, th, tau, surrogate, fire)
        n = geometry.tokens
        for name in self.mixer.token_linears:
            self.add_module(name, _LinearBN(n, n, th, tau, surrogate))

    def parts(self) -> Parts:
        """This block's layers as its mixer computes with them."""
        m = self.mixer
        own: dict[str, Layer] = {n: getattr(self, n) for n in m.neurons}
        own |= {n: partial(along_tokens, getattr(self, n)) for n in m.token_linears}
        q, k, v = (getattr(self, n) for n in self.qkv) if self.qkv else (None, None, None)
        return Parts(q, k, v, own=own, heads=self.heads, scale=self.attention_scale)

    def forward(self, x: torch.Tensor, stats: SpikeStats | None, name: str) -> torch.Tensor:
        return block_forward(
            x,
            mix=partial(self.mixer.mix, parts=self.parts(), stats=stats, name=name),
            proj=self.proj,
            fc1=self.fc1,
            fc2=self.fc2,
            stats=stats,
            name=name,
        )


class Spikformer(nn.Module):
    """A Spikformer built exactly to ``config`` on ``geometry`` (see :mod:`supernet.model` for the
    neuron rule)."""

    def __init__(
        self,
        config: SubnetConfig,
        geometry: Geometry,
        *,
        sps: tuple[float, float] = (1.0, 2.0),
        surrogate: Surrogate | None = None,
    ) -> None:
        super().__init__()
        self.config, self.geometry = config, geometry
        sps_threshold, sps_tau = sps
        self.pool_after = sps_pool_after(geometry.sps_pools)
        widths = sps_widths(config.embed_dim)
        ins = (geometry.in_channels, *widths[:3])
        self.sps = nn.ModuleList(
            _ConvBN(i, o, sps_threshold, sps_tau, surrogate)
            for i, o in zip(ins, widths, strict=True)
        )
        d = config.embed_dim
        self.rpe = _ConvBN(d, d, sps_threshold, sps_tau, surrogate)
        self.blocks = nn.ModuleList(
            _Block(config, i, geometry, surrogate) for i in range(config.depth)
        )
        self.head = nn.Linear(d, geometry.num_classes)

    def set_inference(self, mode: str) -> Spikformer:
        """Run integer neurons' spikes as integers (``"integer"``, the training form) or as
        spike-driven hardware would (``"binary"``): a spike of level ``s`` from an ``ilif`` MLP
        neuron is sent to the next layer as ``s`` unit spikes on ``D`` virtual steps, which that
        layer accumulates before its neuron acts. Both give the same logits up to float rounding.
        The residual stream (sums of spike tensors) is the same in both modes.
        """
        if mode not in ("integer", "binary"):
            raise ValueError(f"inference mode must be integer or binary, not {mode!r}")
        for block in self.blocks:
            fc1, fc2 = block.fc1, block.fc2
            assert isinstance(fc1, _LinearBN) and isinstance(fc2, _LinearBN)
            fc2.expand = fc1.level if mode == "binary" and fc1.neuron == "ilif" else 0
        return self

    def forward(self, images: torch.Tensor, stats: SpikeStats | None = None) -> torch.Tensor:
        """Logits ``[B, num_classes]`` for normalised ``images [B, C, H, W]`` (or a frame bank)."""
        first: _ConvBN = self.sps[0]  # type: ignore[assignment]
        x = sps_forward(
            images,
            SPSLayers(first.currents, first.lif, [self.sps[1], self.sps[2], self.sps[3]], self.rpe),
            steps=self.config.time_steps,
            stats=stats,
            pool_after=self.pool_after,
            bank=self.geometry.frame_bank,
        )
        for i, block in enumerate(self.blocks):
            x = block(x, stats, f"blocks.{i}")
        return classify(x, self.head.weight, self.head.bias)


def extract(supernet: SpikformerSupernet, config: SubnetConfig) -> Spikformer:
    """A stand-alone Spikformer of ``config`` holding the weights it inherits from ``supernet``.

    BatchNorm running statistics are inherited too (their leading entries), so an evaluation-mode
    model reproduces the configured supernet's logits.
    """
    supernet.check(config)
    model = Spikformer(
        config,
        supernet.geometry,
        sps=(supernet.sps_threshold, supernet.sps_tau),
    ).to(next(supernet.parameters()).device)
    source = supernet.state_dict()
    target = model.state_dict()
    with torch.no_grad():
        for name, tensor in target.items():
            leading = tuple(slice(0, n) for n in tensor.shape)
            tensor.copy_(source[name][leading])
    model.train(supernet.training)
    return model
