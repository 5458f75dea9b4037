"""Candidate evaluation speed and how its time splits; what BN recalibration is worth.

For digits-tiny (a trained supernet: pass --supernet) and cifar10-spikformer (random weights on
synthetic CIFAR-shaped images: speed does not depend on the weights), on CPU:
  * evaluations per minute (one worker thread),
  * the split between BN recalibration, forward passes and bookkeeping,
  * the cost of spike counting: forward passes with and without SpikeStats, side by side,
  * (digits only) mean validation accuracy of random subnets with 0, 2, 4 and 8 recalibration
    batches.

Run: .venv/bin/python -m benchmarks.speed.bench_evaluate --supernet runs/demo/supernet.pt
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from pathlib import Path

import torch

from benchmarks.common import table, timeit
from evosnn.core.config import SubnetConfig
from evosnn.core.evaluation import EvalSettings
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace, load_space
from evosnn.data.loading import load_splits
from evosnn.evaluate.evaluator import Evaluator
from evosnn.evaluate.models import build_supernet
from supernet import SpikeStats
from supernet.checkpoint import FORMAT, save_atomic
from supernet.validate import count_correct

SPACES = Path(__file__).resolve().parents[2] / "search_spaces"


def random_checkpoint(space: SearchSpace, folder: Path) -> Path:
    net = build_supernet(space)
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


def counting_share(ev: Evaluator, config: SubnetConfig) -> tuple[float, float]:
    """Spike counting's cost: extra forward time with SpikeStats (relative), and its share of a
    whole evaluation of ``config`` (validation split at the evaluator's batch size)."""
    splits, size = ev.splits, ev.settings.batch_size

    def run(stats: bool) -> None:
        def forward(x: torch.Tensor) -> torch.Tensor:
            return ev.supernet(x, config, SpikeStats() if stats else None)

        count_correct(forward, splits.val, splits.mean, splits.std, batch_size=size)

    plain = timeit(lambda: run(False), repeat=5, warmup=1)
    counted = timeit(lambda: run(True), repeat=5, warmup=1)
    evaluation = ev.evaluate(config).wall_time_s
    return counted / plain - 1.0, (counted - plain) / evaluation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--supernet", type=Path, required=True, help="a trained digits-tiny supernet.pt"
    )
    parser.add_argument("--configs", type=int, default=20)
    parser.add_argument("--cifar-val-images", type=int, default=128)
    parser.add_argument("--digits-only", action="store_true", help="skip the (slow) CIFAR geometry")
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
                    splits=load_splits(cifar_spec),
                ),
                3,
            ),
        ]
        for name, ev, n in cases[:1] if args.digits_only else cases:
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
            relative, share = counting_share(ev, SubnetConfig.largest(ev.space))
            overhead_rows.append((name, f"{100 * relative:.1f}%", f"{100 * share:.2f}%"))
    print("Evaluation speed, 1 CPU thread (share of evaluation wall time)")
    print(
        table(
            rows,
            ("space", "val images", "s/eval", "evals/min", "BN recal", "forward", "bookkeeping"),
        )
    )
    print(
        "\nSpike counting (largest subnet, validation split): extra forward time, share of an evaluation"
    )
    print(table(overhead_rows, ("space", "vs plain forward", "of an evaluation")))

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
