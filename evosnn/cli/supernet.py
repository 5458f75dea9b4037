"""``evosnn supernet train``: train the weight-entangled supernet of a space."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from evosnn.cli._args import (
    add_data,
    add_gpus_per_worker,
    add_ray_address,
    add_recipe,
    add_seed,
    add_storage,
    add_study,
    non_negative_int,
    positive_float,
    positive_int,
)
from evosnn.cli._command import Command
from evosnn.core.errors import EvosnnError
from evosnn.core.evaluation import EvalSettings

__all__ = ["SupernetRankCheck", "SupernetTrain"]

log = logging.getLogger(__name__)


class SupernetTrain(Command):
    name = "supernet train"
    help = "train a supernet and write OUT/supernet.pt"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--space", type=Path, required=True, help="search-space YAML file")
        parser.add_argument("--out", type=Path, required=True, help="run folder (gets supernet.pt)")
        add_data(parser)
        add_recipe(parser, epochs_from_space=True)
        parser.add_argument(
            "--sampling",
            choices=["uniform", "sandwich", "smallest", "distill"],
            default=None,
            help="subnets per step: one uniform random, the sandwich rule, the smallest "
            "architecture and one random subnet, or the sandwich with in-place distillation "
            "from the largest subnet (default: the space's training.sampling, else uniform)",
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
        add_gpus_per_worker(group, "GPUs per worker (NCCL when > 0)")
        group.add_argument(
            "--max-failures",
            type=non_negative_int,
            default=2,
            help="restarts of the worker group after a worker dies (default 2)",
        )

    def run(self, args: argparse.Namespace) -> int:
        import torch

        from evosnn.core.space import load_space
        from evosnn.evaluate.data import load_splits
        from evosnn.training.supernet import train_supernet_for, train_supernet_parallel
        from supernet.recipe import TrainSettings
        from supernet.train import CHECKPOINT_NAME

        space = load_space(args.space)
        settings = TrainSettings(
            epochs=args.epochs or space.training.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            sampling=args.sampling or space.training.sampling,
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


class SupernetRankCheck(Command):
    name = "supernet rank-check"
    help = "measure how the supernet ranks subnets against stand-alone training"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--supernet", type=Path, required=True, help="supernet.pt")
        parser.add_argument(
            "--space", type=Path, default=None, help="must be the supernet's space (checked)"
        )
        parser.add_argument(
            "--out", type=Path, default=None, help="folder (default: beside the supernet)"
        )
        parser.add_argument("--subnets", type=positive_int, default=24)
        parser.add_argument(
            "--epochs", type=positive_int, default=40, help="stand-alone epochs per subnet"
        )
        parser.add_argument("--seeds", type=positive_int, default=3, help="stand-alone seeds")
        parser.add_argument("--batch-size", type=positive_int, default=64)
        parser.add_argument("--lr", type=positive_float, default=3e-3)
        parser.add_argument(
            "--recal-batches",
            type=non_negative_int,
            default=EvalSettings().recal_batches,
            help="BN recalibration batches per proxy evaluation (0: off; the search's default)",
        )
        parser.add_argument(
            "--reference",
            type=Path,
            default=None,
            help="a finished check of the same space: hold this supernet to its subnets and "
            "stand-alone runs, training nothing (its --subnets/--epochs/--seeds/--batch-size/--lr "
            "are used)",
        )
        add_seed(parser, help="seed of the subnet draw")
        add_data(parser)
        parser.add_argument(
            "--workers",
            type=non_negative_int,
            default=2,
            help="Ray worker processes for the stand-alone runs (0: in this process)",
        )
        parser.add_argument("--threads", type=positive_int, default=1, help="threads per run")
        add_ray_address(parser)
        add_storage(parser, required=False, help="store the result in this study database")
        add_study(parser, required=False)

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.core.space import load_space
        from evosnn.proxy.check import RESULT_FILE, RankCheckSettings, rank_check

        if (args.storage is None) != (args.study is None):
            raise EvosnnError("give --storage and --study together")
        settings = RankCheckSettings(
            subnets=args.subnets,
            epochs=args.epochs,
            seeds=args.seeds,
            seed=args.seed,
            batch_size=args.batch_size,
            lr=args.lr,
            eval=EvalSettings(recal_batches=args.recal_batches),
        )
        out = args.out if args.out is not None else args.supernet.parent / "rank-check"
        summary = rank_check(
            args.supernet,
            out,
            settings,
            space=load_space(args.space) if args.space else None,
            data_root=args.data,
            workers=args.workers,
            threads=args.threads,
            ray_address=args.ray_address,
            reference=args.reference,
        )
        if args.storage:
            from evosnn.core.genome import GenomeCodec
            from evosnn.core.space import SearchSpace
            from evosnn.storage.ledger import Ledger

            space = SearchSpace.from_dict(summary["space"])
            ledger = Ledger.open(args.storage, args.study, GenomeCodec(space), create=False)
            ledger.set_attr("evosnn:rank_check", summary)
        proxy, energy = summary["proxy"], summary["energy_only"]
        print(
            f"{summary['subnets']} subnets: inherited tau {proxy['kendall_tau']:.2f} "
            f"(energy alone {energy['kendall_tau']:.2f}), partial rho {proxy['partial_rho']:.2f} "
            f"(p {proxy['partial_p']:.2g}) vs the stand-alone seeds' ceiling "
            f"{summary['ceiling_partial_rho']:.2f}; bias per energy bin "
            + ", ".join(f"{100 * b['bias']:+.1f}" for b in summary["bias_by_energy"])
            + f" points (offset {100 * summary['bias_offset']:+.1f}, tilt "
            + ", ".join(f"{100 * t:+.1f}" for t in summary["bias_tilt"])
            + f"; trend {100 * summary['bias_trend']['slope']:+.1f} per doubling of energy, "
            + "tilt "
            + ", ".join(f"{100 * t:+.1f}" for t in summary["bias_trend"]["tilt"])
            + f"); written to {out / RESULT_FILE}"
        )
        return 0
