"""LIF forward+backward and inference time, side by side; supernet forward throughput.

Compares, on the same [T=4, 32, 64, 384] float32 CPU input:
  * evosnn's LIF (custom autograd function, in-place time loop),
  * a naive per-time-step loop whose every step autograd records,
  * spikingjelly's MultiStepLIFNode(tau=2, detach_reset=True), if spikingjelly is installed
    (optional `bench` extra); its spikes must equal ours bit for bit.
Then the supernet's forward throughput (images/s, inference) of the largest and smallest subnets of
digits-tiny and cifar10-spikformer.

Run: .venv/bin/python -m benchmarks.speed.bench_lif
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import table, timeit
from evosnn.core.config import SubnetConfig
from evosnn.core.space import load_space
from evosnn.evaluate.models import build_supernet
from supernet import LIF, Sigmoid, SpikformerSupernet

SPACES = Path(__file__).resolve().parents[2] / "search_spaces"


class _Step(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * Sigmoid().grad(x)


def naive_lif(x: torch.Tensor, threshold: float = 1.0, tau: float = 2.0) -> torch.Tensor:
    """The textbook loop: one autograd-recorded step per time step."""
    v = torch.zeros_like(x[0])
    out = []
    for t in range(x.shape[0]):
        h = v + (x[t] - v) / tau
        s = _Step.apply(h - threshold)
        out.append(s)
        v = h * (1.0 - s.detach())
    return torch.stack(out)


def bench_lif(shape: tuple[int, ...]) -> list[tuple[str, ...]]:
    torch.manual_seed(0)
    x = torch.randn(*shape) * 1.5
    xg = x.clone().requires_grad_()
    ours = LIF()
    impls: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "evosnn LIF": ours,
        "naive loop": naive_lif,
    }
    try:  # optional cross-check
        from spikingjelly.activation_based import neuron

        impls["spikingjelly"] = neuron.LIFNode(tau=2.0, detach_reset=True, step_mode="m")
    except ImportError:
        pass
    results = {}
    with torch.no_grad():
        reference = ours(x)
    for name, fn in impls.items():

        def train_step(fn: Callable[[torch.Tensor], torch.Tensor] = fn) -> None:
            if hasattr(fn, "reset"):
                fn.reset()
            fn(xg).sum().backward()

        def infer(fn: Callable[[torch.Tensor], torch.Tensor] = fn) -> torch.Tensor:
            if hasattr(fn, "reset"):
                fn.reset()
            with torch.inference_mode():
                return fn(x)

        same = torch.equal(infer(), reference)
        results[name] = (timeit(train_step), timeit(infer), same)
    base_train, base_infer, _ = results["evosnn LIF"]
    rows: list[tuple[str, ...]] = []
    for name, (train, inference, same) in results.items():
        rows.append(
            (
                name,
                f"{train * 1e3:.2f}",
                f"{inference * 1e3:.2f}",
                f"{train / base_train:.2f}x",
                f"{inference / base_infer:.2f}x",
                "yes" if same else "NO",
            )
        )
    return rows


def bench_supernet(batch: int) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for name in ("digits-tiny", "cifar10-spikformer"):
        space = load_space(SPACES / f"{name}.yaml")
        net = build_supernet(space).eval()
        d = space.dataset
        x = torch.randn(batch, d.channels, d.image_size, d.image_size)
        for label, config in (
            ("largest", SubnetConfig.largest(space)),
            ("smallest", SubnetConfig.smallest(space)),
        ):

            def run(
                config: SubnetConfig = config, net: SpikformerSupernet = net, x: torch.Tensor = x
            ) -> None:
                with torch.inference_mode():
                    net(x, config)

            seconds = timeit(run, repeat=5, warmup=1)
            rows.append((name, label, f"T={config.time_steps}", f"{batch / seconds:,.0f}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads\n")
    print("LIF on [4, 32, 64, 384] float32 (ms; ratio = time / evosnn's time)")
    print(
        table(
            bench_lif((4, 32, 64, 384)),
            (
                "impl",
                "fwd+bwd ms",
                "inference ms",
                "fwd+bwd ratio",
                "inference ratio",
                "spikes equal",
            ),
        )
    )
    print(f"\nSupernet forward throughput (inference, batch {args.batch})")
    print(table(bench_supernet(args.batch), ("space", "subnet", "T", "images/s")))


if __name__ == "__main__":
    main()
