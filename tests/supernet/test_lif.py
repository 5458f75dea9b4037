from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from supernet.lif import LIF, ATan, Sigmoid, Surrogate


def test_hand_computed_trace_tau2() -> None:
    # H0 = 1.5/2 = 0.75; H1 = 0.75 + (1.5 - 0.75)/2 = 1.125 -> spike, reset; H2 = 0.75
    lif = LIF(tau=2.0, threshold=1.0)
    out = lif(torch.full((3, 1), 1.5))
    assert out.flatten().tolist() == [0.0, 1.0, 0.0]
    assert lif.spike_count is not None  # set by the forward
    assert float(lif.spike_count) == 1.0 and lif.neuron_count == 3
    assert lif.firing_rate == pytest.approx(1 / 3)


def test_hand_computed_trace_runtime_settings() -> None:
    # tau 4, threshold 0.5: H = 0.25, 0.4375, 0.578125 (spike, reset), 0.25
    lif = LIF()
    out = lif(torch.ones(4, 1), threshold=0.5, tau=4.0)
    assert out.flatten().tolist() == [0.0, 0.0, 1.0, 0.0]
    assert lif.threshold == 1.0 and lif.tau == 2.0  # per-call values do not stick


def _sigmoid_grad(x: float, alpha: float = 4.0) -> float:
    s = 1 / (1 + math.exp(-alpha * x))
    return alpha * s * (1 - s)


@pytest.mark.parametrize("detach", [True, False])
def test_hand_computed_gradient(detach: bool) -> None:
    # x = [2, 0], tau 2, threshold 1: H0 = 1 (spike), V0 = 0, H1 = 0 (no spike); loss = S0 + S1.
    x = torch.tensor([[2.0], [0.0]], requires_grad=True)
    LIF(tau=2.0, threshold=1.0, detach_reset=detach)(x).sum().backward()
    g_h1 = _sigmoid_grad(0.0 - 1.0)
    g_v0 = g_h1 * (1 - 1 / 2)
    dv_dh0 = 0.0 if detach else 0.0 - 1.0 * _sigmoid_grad(0.0)
    g_h0 = _sigmoid_grad(0.0) + g_v0 * dv_dh0
    assert x.grad is not None
    assert x.grad.flatten().tolist() == pytest.approx([g_h0 / 2, g_h1 / 2], rel=1e-5)


def test_atan_surrogate_formula() -> None:
    x = torch.tensor([-1.0, 0.0, 0.5])
    expected = [2.0 / 2 / (1 + (math.pi / 2 * 2.0 * v) ** 2) for v in x.tolist()]
    assert ATan(2.0).grad(x).tolist() == pytest.approx(expected, rel=1e-6)
    assert x.tolist() == [-1.0, 0.0, 0.5]  # grad() leaves its input alone
    assert Sigmoid(4.0).grad(torch.tensor([0.0])).item() == pytest.approx(1.0)


class _Step(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        return grad * ctx.surrogate.grad(x), None


def naive_lif(
    x: torch.Tensor, threshold: float, tau: float, surrogate: Surrogate, detach: bool
) -> torch.Tensor:
    v = torch.zeros_like(x[0])
    out = []
    for t in range(x.shape[0]):
        h = v + (x[t] - v) / tau
        s = _Step.apply(h - threshold, surrogate)
        out.append(s)
        v = h * (1 - (s.detach() if detach else s))
    return torch.stack(out)


@pytest.mark.parametrize("surrogate", [Sigmoid(), ATan(3.0)], ids=repr)
@pytest.mark.parametrize("detach", [True, False])
def test_matches_autograd_of_a_naive_loop(surrogate: Surrogate, detach: bool) -> None:
    torch.manual_seed(0)
    x = (torch.randn(6, 5, 9) * 1.5 + 0.8).requires_grad_()
    y = x.detach().clone().requires_grad_()
    g = torch.randn(6, 5, 9)
    ours = LIF(tau=3.0, threshold=0.9, surrogate=surrogate, detach_reset=detach)(x)
    (ours * g).sum().backward()
    ref = naive_lif(y, 0.9, 3.0, surrogate, detach)
    (ref * g).sum().backward()
    assert torch.equal(ours, ref)
    assert x.grad is not None and y.grad is not None
    assert torch.allclose(x.grad, y.grad, atol=1e-6)


def test_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="threshold"):
        LIF(threshold=0.0)
    with pytest.raises(ValueError, match="tau"):
        LIF(tau=0.5)
