"""``evosnn supernet train``: train the weight-entangled supernet of a space."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from evosnn.cli._args import add_data, add_recipe, add_seed, non_negative_int
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
            "--workers",
            type=non_negative_int,
            default=0,
            help="CPU threads for torch (0: torch's default)",
        )
        parser.add_argument("--resume", action="store_true", help="continue OUT/supernet.pt")

    def run(self, args: argparse.Namespace) -> int:
        import torch

        from evosnn.data import load_splits
        from evosnn.space import load_space
        from evosnn.training import train_supernet_for
        from supernet.recipe import TrainSettings
        from supernet.train import CHECKPOINT_NAME

        space = load_space(args.space)
        if args.workers:
            torch.set_num_threads(args.workers)
        settings = TrainSettings(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            sampling=args.sampling,
            seed=args.seed,
            device=args.device,
            amp=args.amp,
        )
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
