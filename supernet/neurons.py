"""Neuron models beside the LIF: SpikeYOLO's integer LIF and the parametric LIF, and the registry.

A block's ``neuron`` gene (:mod:`evosnn.core.neurons`) picks the model of its projection and MLP
neurons. Each model fires a layer's currents ``[T, ...]`` given the layer (which holds its LIF
and, where the space offers ``plif``, its learned ``plif_w``) and the block's settings:

* ``lif``: :class:`supernet.lif.LIF` (threshold and tau per call).
* ``ilif``: :func:`integer_lif`, after BICLab/SpikeYOLO's ``mem_update`` with ``MultiSpike``:
  ``U[0] = X[0]``, ``U[t] = 0.25 (U[t-1] - S[t-1]) + X[t]`` (the spike detached),
  ``S[t] = round(clamp(U[t], 0, D))``, gradient passed straight through inside ``[0, D]``.
* ``plif``: :func:`parametric_lif`, spikingjelly's ``ParametricLIFNode`` (decay_input, hard reset
  to 0, detached reset): ``H = V + (X - V) sigmoid(w)``, ``S = H >= threshold``, with ``w`` learned
  per layer and initialised to ``-log(tau_0 - 1)`` (tau_0 = 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from supernet.lif import Surrogate

__all__ = [
    "FIRE",
    "ILIF_DECAY",
    "PLIF_INIT_TAU",
    "integer_lif",
    "parametric_lif",
    "plif_weight",
    "spike_driven_linear",
]

#: SpikeYOLO's membrane decay (its ``decay = 0.25``).
ILIF_DECAY = 0.25
#: spikingjelly's default initial time constant of the parametric LIF.
PLIF_INIT_TAU = 2.0


class _Quantize(torch.autograd.Function):
    """``round(clamp(u, 0, D))`` with the straight-through gradient inside ``[0, D]``."""

    @staticmethod
    def forward(ctx: Any, u: torch.Tensor, level: int) -> torch.Tensor:
        ctx.save_for_backward(u)
        ctx.level = level
        return torch.round(torch.clamp(u, 0, level))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (u,) = ctx.saved_tensors
        inside = (u >= 0) & (u <= ctx.level)
        return grad * inside.to(grad.dtype), None


def integer_lif(x: torch.Tensor, level: int, decay: float = ILIF_DECAY) -> torch.Tensor:
    """Integer spikes in ``0..level`` for currents ``x [T, ...]`` (soft reset by the spike)."""
    spikes: list[torch.Tensor] = []
    u = x[0]
    for t in range(x.shape[0]):
        if t:
            u = (u - spikes[-1].detach()) * decay + x[t]
        spikes.append(_Quantize.apply(u, level))
    return torch.stack(spikes)


class _Spike(torch.autograd.Function):
    """Heaviside of ``h - threshold`` with a surrogate derivative."""

    @staticmethod
    def forward(ctx: Any, shifted: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
        ctx.save_for_backward(shifted)
        ctx.surrogate = surrogate
        return (shifted >= 0).to(shifted.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (shifted,) = ctx.saved_tensors
        return grad * ctx.surrogate.grad(shifted), None


def parametric_lif(
    x: torch.Tensor, w: torch.Tensor, threshold: float, surrogate: Surrogate
) -> torch.Tensor:
    """Binary spikes of a LIF whose ``1 / tau = sigmoid(w)`` is learned (hard, detached reset)."""
    k = torch.sigmoid(w)
    v = torch.zeros_like(x[0])
    spikes = []
    for t in range(x.shape[0]):
        h = v + (x[t] - v) * k
        s = _Spike.apply(h - threshold, surrogate)
        v = h * (1.0 - s.detach())
        spikes.append(s)
    return torch.stack(spikes)


def plif_weight(tau: float = PLIF_INIT_TAU) -> nn.Parameter:
    """A parametric LIF's ``w`` at time constant ``tau`` (``sigmoid(w) = 1 / tau``)."""
    return nn.Parameter(torch.tensor(-math.log(tau - 1.0)))


def spike_driven_linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, levels: int
) -> torch.Tensor:
    """``x W^T + b`` computed as spike-driven inference does: integer inputs in ``0..levels``
    sent as that many unit spikes on ``levels`` virtual steps, accumulated before the next
    neuron acts (``sum_j (x > j) W^T``, the bias once)."""
    out = sum(torch.nn.functional.linear((x > j).to(x.dtype), weight) for j in range(levels))
    assert isinstance(out, torch.Tensor)
    return out if bias is None else out + bias


#: How each neuron model fires ``(layer, currents, threshold, tau, level) -> spikes``; ``layer``
#: holds its ``lif`` (:class:`supernet.lif.LIF`) and, where the space offers ``plif``, ``plif_w``.
FIRE: dict[str, Callable[[Any, torch.Tensor, float, float, int], torch.Tensor]] = {
    "lif": lambda layer, y, th, tau, level: layer.lif(y, threshold=th, tau=tau),
    "ilif": lambda layer, y, th, tau, level: integer_lif(y, level),
    "plif": lambda layer, y, th, tau, level: parametric_lif(
        y, layer.plif_w, th, layer.lif.surrogate
    ),
}
