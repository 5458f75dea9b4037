"""Multi-step leaky integrate-and-fire neurons over a leading time dimension ``[T, ...]``.

Semantics are Spikformer's (spikingjelly ``MultiStepLIFNode(tau=2., detach_reset=True)``)::

    charge  H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau
    fire    S[t] = H[t] >= threshold                  (surrogate gradient in backward)
    reset   V[t] = H[t] * (1 - S[t]) + V_reset * S[t]  (hard reset; S detached when detach_reset)

The charge is computed in exactly that arithmetic order so that spikes equal spikingjelly's bit for
bit. Forward and backward are one custom autograd function: the time loop runs with in-place ops
and stores only ``H`` for the backward pass, which is why it beats a naive per-step loop that lets
autograd record every step.

Example:
    >>> lif = LIF(tau=2.0, threshold=1.0)
    >>> lif(torch.full((3, 1), 1.5)).flatten().tolist()
    [0.0, 1.0, 0.0]
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

__all__ = ["LIF", "ATan", "Sigmoid", "Surrogate"]


class Surrogate:
    """A surrogate derivative of the Heaviside step, ``d spike / d (H - threshold)``."""

    name = "surrogate"

    def __init__(self, alpha: float) -> None:
        if not alpha > 0:
            raise ValueError(f"surrogate slope alpha must be positive, got {alpha}")
        self.alpha = float(alpha)

    def grad_(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """The derivative at ``x``, computed in place (``x`` is overwritten and returned)."""
        raise NotImplementedError

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """The derivative at ``x`` (``x`` is left alone)."""
        return self.grad_(x.clone())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alpha={self.alpha})"


class Sigmoid(Surrogate):
    """``sigmoid(alpha x)``'s derivative; spikingjelly's default (alpha = 4)."""

    name = "sigmoid"

    def __init__(self, alpha: float = 4.0) -> None:
        super().__init__(alpha)

    def grad_(self, x: torch.Tensor) -> torch.Tensor:
        sg = x.mul_(self.alpha).sigmoid_()
        return torch.addcmul(sg, sg, sg, value=-1.0, out=sg).mul_(self.alpha)  # a sg (1 - sg)


class ATan(Surrogate):
    """``arctan(pi/2 alpha x)/pi + 1/2``'s derivative: ``alpha/2 / (1 + (pi/2 alpha x)^2)``."""

    name = "atan"

    def __init__(self, alpha: float = 2.0) -> None:
        super().__init__(alpha)

    def grad_(self, x: torch.Tensor) -> torch.Tensor:
        scaled = x.mul_(math.pi / 2 * self.alpha)
        return scaled.square_().add_(1.0).reciprocal_().mul_(self.alpha / 2)


def _charge_and_fire(
    x: torch.Tensor, threshold: float, tau: float, keep_h: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The time loop without autograd: spikes (x's dtype) and, if asked, the charged H."""
    # Float masks throughout: on CPU, boolean masks (masked_fill, where) cost 10-20x an add.
    spikes = torch.empty_like(x)
    h_seq = torch.empty_like(x) if keep_h else None
    v = torch.zeros_like(x[0])
    scratch = torch.empty_like(v)
    for t in range(x.shape[0]):
        h = h_seq[t] if h_seq is not None else scratch
        # H = V + (X - V) / tau, in spikingjelly's order (V_reset = 0 so V - V_reset is V).
        torch.sub(x[t], v, out=h)
        h.div_(tau).add_(v)
        torch.ge(h, threshold, out=spikes[t])
        torch.addcmul(
            h, h, spikes[t], value=-1.0, out=v
        )  # hard reset: H - H*S, exact for S in {0,1}
    return spikes, h_seq


class _LIFFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        threshold: float,
        tau: float,
        surrogate: Surrogate,
        detach_reset: bool,
    ) -> torch.Tensor:
        spikes, h_seq = _charge_and_fire(x, threshold, tau, keep_h=True)
        ctx.save_for_backward(h_seq, spikes)
        ctx.threshold, ctx.tau = threshold, tau
        ctx.surrogate, ctx.detach_reset = surrogate, detach_reset
        return spikes

    @staticmethod
    def backward(ctx: Any, grad_spikes: torch.Tensor) -> tuple[Any, ...]:
        h_seq, spikes = ctx.saved_tensors
        tau = ctx.tau
        sg = ctx.surrogate.grad_(h_seq.sub(ctx.threshold))  # dS/dH for every step at once
        # dV/dH: (1 - S) with a detached reset, (1 - S) - H * dS/dH otherwise.
        keep = torch.rsub(spikes, 1.0)
        if not ctx.detach_reset:
            keep.addcmul_(h_seq, sg, value=-1.0)
        # grad_h[t] = grad_s[t] * dS/dH[t] + grad_v[t] * dV/dH[t];  grad_v[t-1] = grad_h[t] (1 - 1/tau)
        grad_h = sg.mul_(grad_spikes)
        grad_v = torch.zeros_like(grad_h[0])
        decay = 1.0 - 1.0 / tau
        for t in range(grad_h.shape[0] - 1, -1, -1):
            grad_h[t].addcmul_(grad_v, keep[t])
            torch.mul(grad_h[t], decay, out=grad_v)
        return grad_h.div_(tau), None, None, None, None


class LIF(nn.Module):
    """Multi-step LIF neuron layer with a hard reset to 0.

    Args:
        tau: membrane time constant (>= 1).
        threshold: firing threshold (> 0).
        surrogate: surrogate gradient of the spike; default ``Sigmoid(alpha=4)``.
        detach_reset: detach the reset from the graph (Spikformer does).

    ``threshold`` and ``tau`` are the defaults; :meth:`forward` accepts per-call values, which is how
    the supernet applies a genome's per-block neuron genes without mutating the module.

    After every forward, :attr:`spike_count` (a 0-dim tensor, no device sync) and
    :attr:`neuron_count` hold the number of spikes and of neuron updates (``T x neurons``), so
    firing rates and energy can be computed without hooks.
    """

    def __init__(
        self,
        tau: float = 2.0,
        threshold: float = 1.0,
        *,
        surrogate: Surrogate | None = None,
        detach_reset: bool = True,
    ) -> None:
        super().__init__()
        _check(threshold, tau)
        self.tau = float(tau)
        self.threshold = float(threshold)
        self.surrogate = surrogate if surrogate is not None else Sigmoid()
        self.detach_reset = detach_reset
        self.spike_count: torch.Tensor | None = None
        self.neuron_count = 0

    def forward(
        self, x: torch.Tensor, *, threshold: float | None = None, tau: float | None = None
    ) -> torch.Tensor:
        """Spikes (0./1. in x's dtype) for input currents ``x`` of shape ``[T, ...]``."""
        threshold = self.threshold if threshold is None else float(threshold)
        tau = self.tau if tau is None else float(tau)
        if x.dim() < 1 or x.shape[0] < 1:
            raise ValueError(f"LIF expects [T, ...] with T >= 1, got shape {tuple(x.shape)}")
        if torch.is_grad_enabled() and x.requires_grad:
            spikes = _LIFFunction.apply(x, threshold, tau, self.surrogate, self.detach_reset)
        else:
            spikes, _ = _charge_and_fire(x, threshold, tau, keep_h=False)
        self.spike_count = spikes.detach().sum()
        self.neuron_count = spikes.numel()
        return spikes

    @property
    def firing_rate(self) -> float:
        """Spikes per neuron update in the last forward (syncs with the device)."""
        if self.spike_count is None or self.neuron_count == 0:
            return 0.0
        return float(self.spike_count) / self.neuron_count

    def extra_repr(self) -> str:
        return (
            f"tau={self.tau}, threshold={self.threshold}, surrogate={self.surrogate}, "
            f"detach_reset={self.detach_reset}"
        )


def _check(threshold: float, tau: float) -> None:
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"LIF threshold must be a positive finite number, got {threshold}")
    if not (math.isfinite(tau) and tau >= 1.0):
        raise ValueError(f"LIF tau must be a finite number >= 1, got {tau}")
