"""``evosnn supernet sensitivity``: does every searched gene change the network?"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evosnn.cli._args import add_data, add_seed, non_negative_int, out_file, positive_int
from evosnn.cli._command import Command
from evosnn.core.evaluation import EvalSettings

__all__ = ["SupernetSensitivity"]


class SupernetSensitivity(Command):
    name = "supernet sensitivity"
    help = "measure, on random subnets, how often changing one gene changes the logits"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--space", type=Path, required=True, help="search-space YAML file")
        parser.add_argument(
            "--supernet",
            type=Path,
            default=None,
            help="trained supernet.pt of the space (default: a freshly initialised supernet)",
        )
        parser.add_argument("--subnets", type=positive_int, default=40, help="random subnets")
        parser.add_argument(
            "--images", type=positive_int, default=256, help="validation images compared"
        )
        parser.add_argument(
            "--synthetic",
            action="store_true",
            help="synthetic images of the space's geometry (where its data set is not at hand)",
        )
        parser.add_argument(
            "--recal-batches",
            type=non_negative_int,
            default=EvalSettings().recal_batches,
            help="BN recalibration batches per subnet (the search's default)",
        )
        parser.add_argument(
            "--recal-batch-size",
            type=positive_int,
            default=EvalSettings().recal_batch_size,
            help="images per recalibration batch (the search's default)",
        )
        parser.add_argument(
            "--json", type=out_file, default=None, help="also write the counts to this file"
        )
        add_seed(parser, help="seed of the subnet draw (and of an untrained supernet)")
        add_data(parser)

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.core.space import load_space
        from evosnn.proxy.sensitivity import (
            SensitivitySettings,
            load_for_sensitivity,
            measure_sensitivity,
        )

        space = load_space(args.space)
        net, splits, what, data = load_for_sensitivity(
            space, args.supernet, synthetic=args.synthetic, data_root=args.data, seed=args.seed
        )
        settings = SensitivitySettings(
            subnets=args.subnets,
            images=args.images,
            seed=args.seed,
            eval=EvalSettings(
                recal_batches=args.recal_batches, recal_batch_size=args.recal_batch_size
            ),
        )
        result = measure_sensitivity(
            net, space, splits, settings, supernet=what, data=data, progress=True
        )
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        print(result.to_markdown())
        return 0
