"""``evosnn supernet train``: train the weight-entangled supernet of a space."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from evosnn.cli._args import (
    add_data,
    add_ray_address,
    add_recipe,
    add_seed,
    non_negative_int,
)
from evosnn.cli._command import Command

__all__ = ["SupernetTrain"]

log = logging.getLogger(__name__)


class SupernetTrain(Command):
    name = "supernet train"
    help = "train a supernet and write OUT/supernet.pt"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--space", type=Path, required=True, help="search-space YAML file")
        parser.add_argument("--out", type=Path, required=True, help="run folder (gets supernet.pt)")
        add_data(parser)
        add_recipe(parser)
        parser.add_argument(
            "--sampling",
            choices=["uniform", "sandwich"],
            default="uniform",
            help="subnets per step: one uniform random (default) or the sandwich rule",
        )
        add_seed(parser)
        parser.add_argument("--amp", action="store_true", help="mixed precision")
        parser.add_argument(
            "--threads",
            type=non_negative_int,
            default=0,
            help="CPU threads for torch, per worker with --workers (0: torch's default; with "
            "--workers, this machine's cores shared out)",
        )
        parser.add_argument("--resume", action="store_true", help="continue OUT/supernet.pt")
        group = parser.add_argument_group(
            "data-parallel training on Ray Train",
            "the global batch (--batch-size) is split over the workers; rank 0 writes "
            "OUT/supernet.pt, which resumes with any number of workers",
        )
        group.add_argument(
            "--workers",
            type=non_negative_int,
            default=0,
            help="Ray Train worker processes (0: train in this process, without Ray)",
        )
        add_ray_address(group)
        group.add_argument(
            "--gpus-per-worker", type=float, default=0.0, help="GPUs per worker (NCCL when > 0)"
        )
        group.add_argument(
            "--max-failures",
            type=non_negative_int,
            default=2,
            help="restarts of the worker group after a worker dies (default 2)",
        )

    def run(self, args: argparse.Namespace) -> int:
        import torch

        from evosnn.data import load_splits
        from evosnn.space import load_space
        from evosnn.training import train_supernet_for, train_supernet_parallel
        from supernet.recipe import TrainSettings
        from supernet.train import CHECKPOINT_NAME

        space = load_space(args.space)
        settings = TrainSettings(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            sampling=args.sampling,
            seed=args.seed,
            device=args.device,
            amp=args.amp,
        )
        if args.workers:
            from workers.train import default_threads

            result = train_supernet_parallel(
                space,
                args.out,
                settings,
                workers=args.workers,
                threads=args.threads or default_threads(args.workers),
                data_root=args.data,
                gpus_per_worker=args.gpus_per_worker,
                resume=args.resume,
                max_failures=args.max_failures,
                ray_address=args.ray_address,
            )
        else:
            if args.threads:
                torch.set_num_threads(args.threads)
            splits = load_splits(space.dataset, root=args.data)  # fails before training
            log.info(
                "data %s: %d train / %d val / %d test images",
                space.dataset.name,
                len(splits.train),
                len(splits.val),
                len(splits.test),
            )
            result = train_supernet_for(space, splits, args.out, settings, resume=args.resume)
        last = result["metrics"][-1] if result["metrics"] else {}
        print(
            f"supernet written to {args.out / CHECKPOINT_NAME} "
            f"(val acc largest {100 * last.get('val_acc_largest', 0):.2f}%, "
            f"smallest {100 * last.get('val_acc_smallest', 0):.2f}%)"
        )
        return 0
