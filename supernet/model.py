"""SpikformerSupernet: one weight-entangled Spikformer that computes any subnet of a search space.

``forward(images, config)`` runs the subnet ``config`` describes; nothing about the configuration is
stored on the model, so running A, then B, then A gives A's outputs bit for bit.

Neuron rule: a block's ``threshold`` and ``tau`` genes apply to all LIFs of that block (q, k, v,
a token linear, projection, both MLP layers); an attention neuron (SSA's after ``q kᵀ v``, SDSA's
on ``kv``) keeps the threshold 0.5 and takes the block's tau. The patch splitter's LIFs use the
space's default neuron settings.

Example:
    >>> geometry = Geometry(image_size=8, in_channels=1, num_classes=4)
    >>> net = SpikformerSupernet(geometry, depth=2, embed_dim=32, mlp_ratio=2.0, num_heads=4)
    >>> logits = net(images, config)  # doctest: +SKIP

Building the supernet of a search space is the application's business (``evosnn.evaluate.models``).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from evosnn.core.config import SubnetConfig, mlp_hidden, sps_pool_after, sps_widths
from evosnn.core.geometry import Geometry
from supernet.layers import EntangledBatchNorm, EntangledConv2d, EntangledLinear
from supernet.lif import LIF, Surrogate
from supernet.mixers import MIXERS, Layer, Parts
from supernet.neurons import FIRE, plif_weight
from supernet.ops import (
    ATTENTION_THRESHOLD,
    SPSLayers,
    along_tokens,
    block_forward,
    classify,
    sps_forward,
)
from supernet.spike_stats import SpikeStats

__all__ = ["SpikformerSupernet"]


class _LinearBN(nn.Module):
    """Linear + BatchNorm over the last dim of ``[T, B, N, C]``, then a LIF (entangled widths)."""

    def __init__(
        self,
        d_in: int,
        d_out: int,
        surrogate: Surrogate | None,
        *,
        plif: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.linear = EntangledLinear(d_in, d_out, bias=bias)
        self.bn = EntangledBatchNorm(d_out)
        self.lif = LIF(surrogate=surrogate)
        if plif:  # the parametric LIF's learned time constant (spaces offering plif)
            self.plif_w = plif_weight()

    def forward(
        self,
        x: torch.Tensor,
        d_in: int,
        d_out: int,
        threshold: float,
        tau: float,
        neuron: str = "lif",
        level: int = 1,
    ) -> torch.Tensor:
        t, b, n, _ = x.shape
        y = self.bn(self.linear(x.reshape(-1, d_in), d_in, d_out), d_out)
        return FIRE[neuron](self, y.view(t, b, n, d_out), threshold, tau, level)


class _ConvBN(nn.Module):
    """3x3 conv (no bias) + BatchNorm2d + LIF over ``[T, B, C, H, W]`` (entangled widths)."""

    def __init__(self, c_in: int, c_out: int, surrogate: Surrogate | None) -> None:
        super().__init__()
        self.conv = EntangledConv2d(c_in, c_out, kernel_size=3, padding=1, bias=False)
        self.bn = EntangledBatchNorm(c_out)
        self.lif = LIF(surrogate=surrogate)

    def currents(self, x: torch.Tensor, c_in: int, c_out: int) -> torch.Tensor:
        """conv + BN of ``[B', C, H, W]``."""
        return self.bn(self.conv(x, c_in, c_out), c_out)

    def forward(
        self, x: torch.Tensor, c_in: int, c_out: int, threshold: float, tau: float
    ) -> torch.Tensor:
        t, b = x.shape[:2]
        y = self.currents(x.flatten(0, 1), c_in, c_out)
        return self.lif(y.view(t, b, *y.shape[1:]), threshold=threshold, tau=tau)


class _Block(nn.Module):
    """One block's layers for every token mixer the space offers (entangled widths).

    q, k and v exist where an offered mixer uses them (shared by those mixers), then each mixer's
    own neurons, the shared projection and the MLP, then each mixer's token linears: for a space
    of ``ssa`` alone, exactly Spikformer's layers, created in the order they always were.
    """

    def __init__(
        self,
        dim: int,
        hidden: int,
        geometry: Geometry,
        surrogate: Surrogate | None,
    ) -> None:
        super().__init__()
        self.geometry, tokens = geometry, geometry.tokens
        offered = [MIXERS[m] for m in geometry.mixers]
        plif = "plif" in geometry.neurons
        for mixer in offered:
            for name in geometry.qkv_names(mixer.name) if mixer.uses_qkv else ():
                if not hasattr(self, name):  # shared q, k, v: built once
                    self.add_module(name, _LinearBN(dim, dim, surrogate, bias=geometry.qkv_bias))
        for mixer in offered:
            for name in mixer.neurons:
                self.add_module(name, LIF(threshold=ATTENTION_THRESHOLD, surrogate=surrogate))
        self.proj = _LinearBN(dim, dim, surrogate, plif=plif)
        self.fc1 = _LinearBN(dim, hidden, surrogate, plif=plif)
        self.fc2 = _LinearBN(hidden, dim, surrogate, plif=plif)
        for mixer in offered:
            for name in mixer.token_linears:
                self.add_module(name, _LinearBN(tokens, tokens, surrogate))

    def parts(self, config: SubnetConfig, i: int, scale: float) -> Parts:
        """The layers block ``i`` of ``config`` computes with, bound to its widths and neurons."""
        mixer = MIXERS[config.mixer[i]]
        d, th, tau = config.embed_dim, config.threshold[i], config.tau[i]
        q = k = v = None
        if mixer.uses_qkv:
            q, k, v = (
                partial(getattr(self, n), d_in=d, d_out=d, threshold=th, tau=tau)
                for n in self.geometry.qkv_names(mixer.name)
            )
        own: dict[str, Layer] = {n: partial(getattr(self, n), tau=tau) for n in mixer.neurons}
        for name in mixer.token_linears:
            n = self.geometry.tokens  # a token linear's size: N is not searched
            layer = partial(getattr(self, name), d_in=n, d_out=n, threshold=th, tau=tau)
            own[name] = partial(along_tokens, layer)
        return Parts(q, k, v, own=own, heads=config.num_heads[i], scale=scale)


class SpikformerSupernet(nn.Module):
    """The largest Spikformer of a space, with weight-entangled layers.

    Args:
        geometry: the data geometry and fixed constants (image size, channels, classes, the patch
            splitter's pools, the event frame bank, the attention scale).
        depth, embed_dim, mlp_ratio, num_heads: the supernet maxima.
        sps: threshold and tau of the patch splitter's LIFs.
        surrogate: surrogate gradient for every LIF (default sigmoid, alpha 4).
    """

    def __init__(
        self,
        geometry: Geometry,
        *,
        depth: int,
        embed_dim: int,
        mlp_ratio: float,
        num_heads: int,
        sps: tuple[float, float] = (1.0, 2.0),
        surrogate: Surrogate | None = None,
    ) -> None:
        super().__init__()
        if embed_dim % 8:
            raise ValueError(f"embed_dim must be divisible by 8, got {embed_dim}")
        self.geometry = geometry
        self.pool_after = sps_pool_after(geometry.sps_pools)
        self.max_depth, self.max_dim, self.max_heads = depth, embed_dim, num_heads
        self.max_hidden = mlp_hidden(embed_dim, mlp_ratio)
        self.sps_threshold, self.sps_tau = sps
        widths = sps_widths(embed_dim)
        ins = (geometry.in_channels, *widths[:3])
        self.sps = nn.ModuleList(_ConvBN(i, o, surrogate) for i, o in zip(ins, widths, strict=True))
        self.rpe = _ConvBN(embed_dim, embed_dim, surrogate)
        self.blocks = nn.ModuleList(
            _Block(embed_dim, self.max_hidden, geometry, surrogate) for _ in range(depth)
        )
        self.head = EntangledLinear(embed_dim, geometry.num_classes)

    def check(self, config: SubnetConfig) -> None:
        """Raise ValueError if ``config`` does not fit inside this supernet."""
        g = self.geometry
        if config.depth > self.max_depth or config.embed_dim > self.max_dim:
            raise ValueError(
                f"config depth {config.depth} / embed_dim {config.embed_dim} exceeds the supernet's "
                f"{self.max_depth} / {self.max_dim}"
            )
        for i in range(config.depth):
            for field, offered in (("mixer", g.mixers), ("neuron", g.neurons)):
                if getattr(config, field)[i] not in offered:
                    value = getattr(config, field)[i]
                    raise ValueError(f"block {i}: {field} {value!r} not among {offered}")
            if config.mlp_hidden(i) > self.max_hidden:
                raise ValueError(f"block {i}: MLP width {config.mlp_hidden(i)} > {self.max_hidden}")

    def forward(
        self, images: torch.Tensor, config: SubnetConfig, stats: SpikeStats | None = None
    ) -> torch.Tensor:
        """Logits ``[B, num_classes]`` of subnet ``config`` for normalised ``images [B, C, H, W]``
        (or, for event input, a frame bank ``[B, S, C, H, W]``).

        ``stats``, when given, receives the input activity of every synaptic layer (for energy).
        """
        self.check(config)
        tokens = self.stem(images, config.embed_dim, config.time_steps, stats)
        return self.trunk(tokens, config, stats)

    def stem_modules(self) -> list[nn.Module]:
        """The patch splitter's layers (four conv stages and the relative-position conv), in order."""
        return [*self.sps, self.rpe]

    def stem(
        self,
        images: torch.Tensor,
        embed_dim: int,
        time_steps: int,
        stats: SpikeStats | None = None,
    ) -> torch.Tensor:
        """Tokens ``[T, B, N, D]`` of the patch splitter (SPS) for ``images``, as :meth:`forward`.

        Of a config the stem reads only the embedding width and T: its neurons use the space's
        default settings (fixed at construction), never a block's genes. So every subnet of one
        width and T shares the stem's output and, after recalibration, its BN statistics, which is
        what the evaluator's stem cache relies on (:mod:`evosnn.evaluate.stem_cache`).
        """
        w = sps_widths(embed_dim)
        th, tau = self.sps_threshold, self.sps_tau
        first: _ConvBN = self.sps[0]  # type: ignore[assignment]
        layers = SPSLayers(
            first_currents=partial(first.currents, c_in=self.geometry.in_channels, c_out=w[0]),
            first_lif=partial(first.lif, threshold=th, tau=tau),
            stages=[
                partial(self.sps[i], c_in=w[i - 1], c_out=w[i], threshold=th, tau=tau)
                for i in (1, 2, 3)
            ],
            rpe=partial(self.rpe, c_in=embed_dim, c_out=embed_dim, threshold=th, tau=tau),
        )
        return sps_forward(
            images,
            layers,
            steps=time_steps,
            stats=stats,
            pool_after=self.pool_after,
            bank=self.geometry.frame_bank,
        )

    def trunk(
        self, tokens: torch.Tensor, config: SubnetConfig, stats: SpikeStats | None = None
    ) -> torch.Tensor:
        """Logits of ``config``'s blocks and head for the stem's ``tokens`` (``config`` must fit:
        :meth:`check`); ``forward`` is ``trunk(stem(...))``."""
        d, x = config.embed_dim, tokens
        for i in range(config.depth):
            block: _Block = self.blocks[i]  # type: ignore[assignment]
            hidden, th, tau = config.mlp_hidden(i), config.threshold[i], config.tau[i]
            fire = {
                "threshold": th,
                "tau": tau,
                "neuron": config.neuron[i],
                "level": config.level[i],
            }
            name = f"blocks.{i}"
            parts = block.parts(config, i, self.geometry.attention_scale)
            mixer = MIXERS[config.mixer[i]]
            x = block_forward(
                x,
                mix=partial(mixer.mix, parts=parts, stats=stats, name=name),
                proj=partial(block.proj, d_in=d, d_out=d, **fire),
                fc1=partial(block.fc1, d_in=d, d_out=hidden, **fire),
                fc2=partial(block.fc2, d_in=hidden, d_out=d, **fire),
                stats=stats,
                name=name,
            )
        return classify(x, self.head.weight[:, :d], self.head.bias)
