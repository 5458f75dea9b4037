"""Candidate evaluation speed and how its time splits; what BN recalibration is worth.

For digits-tiny (a trained supernet: pass --supernet) and cifar10-spikformer (random weights on
synthetic CIFAR-shaped images: speed does not depend on the weights), on CPU:
  * evaluations per minute (one worker thread),
  * the split between BN recalibration, forward passes and bookkeeping,
  * the cost of spike counting: forward passes with and without SpikeStats, side by side,
  * (digits only) mean validation accuracy of random subnets with 0, 2, 4 and 8 recalibration
    batches.

Run: .venv/bin/python -m benchmarks.bench_evaluate --supernet runs/demo/supernet.pt
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from pathlib import Path

import torch

from benchmarks.common import table, timeit
from evosnn.config import SubnetConfig
from evosnn.data import load_splits
from evosnn.evaluator import EvalSettings, Evaluator
from evosnn.genome import GenomeCodec
from evosnn.space import SearchSpace, load_space
from supernet import SpikeStats, SpikformerSupernet
from supernet.checkpoint import FORMAT, save_atomic

SPACES = Path(__file__).resolve().parent.parent / "search_spaces"


def random_checkpoint(space: SearchSpace, folder: Path) -> Path:
    net = SpikformerSupernet.from_space(space)
    path = folder / "supernet.pt"
    save_atomic(
        {
            "format": FORMAT,
            "space": space.to_dict(),
            "model": net.state_dict(),
            "step": 0,
            "epoch": 0,
        },
        path,
    )
    return path


def measure(ev: Evaluator, configs: list[SubnetConfig]) -> dict[str, float]:
    ev.energy_target_mj  # measured once, not part of the per-evaluation cost  # noqa: B018
    results = [ev.evaluate(c) for c in configs]
    wall = sum(r.wall_time_s for r in results)
    return {
        "evals_per_min": 60 * len(results) / wall,
        "recal": sum(r.recal_s for r in results) / wall,
        "forward": sum(r.forward_s for r in results) / wall,
        "bookkeeping": sum(r.bookkeeping_s for r in results) / wall,
        "mean_s": wall / len(results),
    }


def stats_overhead(ev: Evaluator, config: SubnetConfig) -> float:
    data = ev.space.dataset
    net, x = ev.supernet, torch.randn(32, data.channels, data.image_size, data.image_size)

    def plain() -> None:
        with torch.inference_mode():
            net(x, config)

    def counted() -> None:
        with torch.inference_mode():
            net(x, config, SpikeStats())

    return timeit(counted, repeat=5, warmup=1) / timeit(plain, repeat=5, warmup=1) - 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--supernet", type=Path, required=True, help="a trained digits-tiny supernet.pt"
    )
    parser.add_argument("--configs", type=int, default=20)
    parser.add_argument("--cifar-val-images", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows, overhead_rows = [], []
    digits = load_space(SPACES / "digits-tiny.yaml")
    cifar = load_space(SPACES / "cifar10-spikformer.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        cifar_spec = cifar.dataset.model_copy(
            update={"name": "synthetic", "synthetic_size": 2 * args.cifar_val_images * 5}
        )
        cases = [
            ("digits-tiny", Evaluator(args.supernet, digits), args.configs),
            (
                "cifar10-spikformer",
                Evaluator(
                    random_checkpoint(cifar, Path(tmp)),
                    cifar,
                    settings=EvalSettings(
                        recal_batches=2, recal_batch_size=64, max_val_images=args.cifar_val_images
                    ),
                    splits=load_splits(cifar_spec, seed=0),
                ),
                3,
            ),
        ]
        for name, ev, n in cases:
            codec = GenomeCodec(ev.space)
            rng = random.Random(0)
            configs = [codec.sample_config(rng) for _ in range(n)]
            m = measure(ev, configs)
            rows.append(
                (
                    name,
                    f"{len(ev.splits.val)}",
                    f"{m['mean_s']:.2f}",
                    f"{m['evals_per_min']:.1f}",
                    f"{100 * m['recal']:.1f}%",
                    f"{100 * m['forward']:.1f}%",
                    f"{100 * m['bookkeeping']:.2f}%",
                )
            )
            overhead_rows.append(
                (name, f"{100 * stats_overhead(ev, SubnetConfig.largest(ev.space)):.1f}%")
            )
    print("Evaluation speed, 1 CPU thread (share of evaluation wall time)")
    print(
        table(
            rows,
            ("space", "val images", "s/eval", "evals/min", "BN recal", "forward", "bookkeeping"),
        )
    )
    print(
        "\nSpike counting: extra forward time with SpikeStats vs without (largest subnet, batch 32)"
    )
    print(table(overhead_rows, ("space", "overhead")))

    codec = GenomeCodec(digits)
    rng = random.Random(1)
    configs = [codec.sample_config(rng) for _ in range(args.configs)]
    recal_rows = []
    for batches in (0, 2, 4, 8):
        ev = Evaluator(args.supernet, digits, settings=EvalSettings(recal_batches=batches))
        accs = [ev.evaluate(c).accuracy for c in configs]
        recal_rows.append(
            (str(batches), f"{100 * statistics.mean(accs):.2f}%", f"{100 * min(accs):.2f}%")
        )
    print(f"\nBN recalibration on digits-tiny ({args.configs} random subnets, validation accuracy)")
    print(table(recal_rows, ("recal batches", "mean", "worst")))


if __name__ == "__main__":
    main()
