"""NeuroBench (an independent implementation) counts the same effective ACs as evosnn's
``rate x T x FLOPs`` on the layers it hooks, for spike inputs (issue 41 item 3).

Skipped unless the optional ``evosnn[neurobench]`` extra is installed.
"""

from __future__ import annotations

import pytest
import torch  # a dependency of evosnn itself; only neurobench is optional

pytest.importorskip(
    "neurobench", reason="neurobench is not installed (pip install evosnn[neurobench])"
)

from neurobench.benchmarks import Benchmark
from neurobench.metrics.workload import SynapticOperations
from neurobench.models import TorchModel


def test_effective_acs_equal_rate_times_steps_times_flops() -> None:
    """A linear layer and a 1x1 conv (Spikformer's q/k/v, MLP and projections) fed binary spikes
    over T steps: NeuroBench's Effective_ACs per sample equal evosnn's SOPs, measured rate x T x
    FLOPs, exactly."""
    torch.manual_seed(0)
    steps, batch, dim, tokens = 4, 3, 16, 8
    linear = torch.nn.Linear(dim, 24, bias=False)
    conv = torch.nn.Conv1d(24, 12, 1, bias=False)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear, self.conv = linear, conv

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # x [B, T, N, D] spikes
            b, t, n, d = x.shape
            y = self.linear(x.reshape(b * t * n, d))
            s = (y > 0).float().reshape(b * t, n, -1).transpose(1, 2)  # spikes [BT, 24, N]
            return self.conv(s).reshape(b, -1)

    x = (torch.rand(batch, steps, tokens, dim) < 0.3).float()
    data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, torch.zeros(batch)), batch_size=batch
    )
    bench = Benchmark(TorchModel(Net()), data, [], [], [[], [SynapticOperations]])
    ours = bench.run(quiet=True)["SynapticOperations"]
    # evosnn's count: mean input value x T x FLOPs per image, FLOPs per step and token-summed
    with torch.no_grad():
        s = (linear(x.reshape(-1, dim)) > 0).float()
    flops_linear, flops_conv = tokens * dim * 24, tokens * 24 * 12
    evosnn = (
        x.double().mean().item() * steps * flops_linear
        + s.double().mean().item() * steps * flops_conv
    )
    assert ours["Effective_MACs"] == 0
    assert ours["Effective_ACs"] == pytest.approx(evosnn, rel=1e-9)
