"""``evosnn supernet train``: train the weight-entangled supernet of a space."""

from __future__ import annotations

import argparse
from pathlib import Path

from evosnn.cli._args import (
    Explicit,
    add_data,
    add_device,
    add_gpus_per_worker,
    add_ray_address,
    add_recipe,
    add_resume,
    add_seed,
    add_storage,
    add_study,
    given_settings,
    non_negative_int,
    positive_int,
    setting_flag,
)
from evosnn.cli._command import Command
from evosnn.core.errors import EvosnnError
from evosnn.core.evaluation import EvalSettings
from evosnn.core.outputs import check_out_dir
from evosnn.core.rank_summary import RankCheckSummary
from evosnn.core.resources import RayResources
from evosnn.core.run_lock import run_lock

__all__ = ["SupernetRankCheck", "SupernetTrain", "describe_summary"]


class SupernetTrain(Command):
    name = "supernet train"
    help = "train a supernet and write OUT/supernet.pt"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--space", required=True, help="search-space YAML file or shipped name")
        parser.add_argument("--out", type=Path, required=True, help="run folder (gets supernet.pt)")
        add_data(parser)
        self._add_recipe(parser)
        parser.add_argument(
            "--threads",
            type=non_negative_int,
            default=RayResources().threads,
            help="CPU threads for torch, per worker with --workers (0: torch's default; with "
            "--workers, this machine's cores shared out)",
        )
        add_resume(
            parser,
            what="OUT/supernet.pt",
            flags="--seed, --sampling, --lr, --batch-size or --epochs",
        )
        self._add_parallel(parser)

    @staticmethod
    def _add_recipe(parser: argparse.ArgumentParser) -> None:
        """The training recipe (a resume compares the flags given with the stored ones)."""
        add_recipe(parser, epochs_from_space=True)
        parser.add_argument(
            "--sampling",
            choices=["uniform", "sandwich", "smallest", "distill"],
            default=None,
            help="subnets per step: one uniform random, the sandwich rule, the smallest "
            "architecture and one random subnet, or the sandwich with in-place distillation "
            "from the largest subnet (default: the space's training.sampling, else uniform)",
            action=Explicit,
        )
        add_seed(parser)
        parser.add_argument("--amp", action="store_true", help="mixed precision")

    @staticmethod
    def _add_parallel(parser: argparse.ArgumentParser) -> None:
        """Data-parallel training on Ray Train."""
        group = parser.add_argument_group(
            "data-parallel training on Ray Train",
            "the global batch (--batch-size) is split over the workers; rank 0 writes "
            "OUT/supernet.pt, which resumes with any number of workers",
        )
        group.add_argument(
            "--workers",
            type=non_negative_int,
            default=RayResources().workers,
            help="Ray Train worker processes (0: train in this process, without Ray)",
        )
        add_ray_address(group)
        add_gpus_per_worker(group, "GPUs per worker (NCCL when > 0)")
        group.add_argument(
            "--max-failures",
            type=non_negative_int,
            default=RayResources().max_failures,
            help="restarts of the worker group after a worker dies (default %(default)s)",
        )

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.api import train_supernet

        trained = train_supernet(
            args.space,
            args.out,
            epochs=args.epochs,
            sampling=args.sampling,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            device=args.device,
            amp=args.amp,
            resources=RayResources(
                workers=args.workers,
                threads=args.threads,
                gpus_per_worker=args.gpus_per_worker,
                max_failures=args.max_failures,
                ray_address=args.ray_address,
            ),
            data_root=args.data,
            resume=args.resume,
            given=given_settings(args),
        )
        print(
            f"supernet written to {trained.checkpoint} "
            f"(val acc largest {100 * trained.val_acc_largest:.2f}%, "
            f"smallest {100 * trained.val_acc_smallest:.2f}%)"
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
        self._add_check(parser)
        add_data(parser)
        parser.add_argument(
            "--workers",
            type=non_negative_int,
            default=2,
            help="Ray worker processes for the stand-alone runs (0: in this process)",
        )
        parser.add_argument("--threads", type=positive_int, default=1, help="threads per run")
        add_device(parser)
        add_ray_address(parser)
        add_storage(parser, required=False, help="store the result in this study database")
        add_study(parser, required=False)

    @staticmethod
    def _add_check(parser: argparse.ArgumentParser) -> None:
        """What the check trains and how it evaluates the proxy."""
        from evosnn.proxy.check import RankCheckSettings

        defaults = RankCheckSettings()  # every default below is the settings' own

        def check_flag(name: str, help: str | None = None) -> None:
            parser.add_argument(
                f"--{name.replace('_', '-')}",
                type=setting_flag(RankCheckSettings, name),
                default=getattr(defaults, name),
                help=help,
            )

        check_flag("subnets", "stand-alone subnets (at least 6: a correlation needs them)")
        check_flag("epochs", "stand-alone epochs per subnet")
        check_flag("seeds", "stand-alone seeds (at least 2: the reference's ceiling needs them)")
        check_flag("batch_size")
        check_flag("lr")
        parser.add_argument(
            "--recal-batches",
            type=setting_flag(EvalSettings, "recal_batches"),
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

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.core.space import load_space
        from evosnn.proxy.check import (
            RESULT_FILE,
            RankCheckSettings,
            StandaloneResources,
            rank_check,
        )

        if (args.storage is None) != (args.study is None):
            raise EvosnnError("give --storage and --study together")
        if args.storage:  # the study must exist before hours of stand-alone training
            from evosnn.storage.ledger import read_study_attrs

            read_study_attrs(args.storage, args.study)
        settings = RankCheckSettings(
            subnets=args.subnets,
            epochs=args.epochs,
            seeds=args.seeds,
            seed=args.seed,
            batch_size=args.batch_size,
            lr=args.lr,
            eval=EvalSettings(recal_batches=args.recal_batches, device=args.device),
        )
        resources = StandaloneResources(
            workers=args.workers,
            threads=args.threads,
            ray_address=args.ray_address,
            device=args.device,
        )
        out = check_out_dir(
            args.out if args.out is not None else args.supernet.parent / "rank-check"
        )
        with run_lock(out, flag="--out" if args.out is not None else None):
            summary = rank_check(
                args.supernet,
                out,
                settings,
                space=load_space(args.space) if args.space else None,
                data_root=args.data,
                resources=resources,
                reference=args.reference,
            )
            if args.storage:
                _store(args.storage, args.study, summary)
        print(f"{describe_summary(summary)}; written to {out / RESULT_FILE}")
        return 0


def _store(storage: str, study: str, summary: RankCheckSummary) -> None:
    """Record the summary in the study (``evosnn:rank_check``), where the report finds it."""
    from evosnn.core.genome import GenomeCodec
    from evosnn.core.space import SearchSpace
    from evosnn.storage.ledger import Ledger
    from evosnn.storage.study_schema import RANK_CHECK

    space = SearchSpace.from_dict(summary.space)
    ledger = Ledger.open(storage, study, GenomeCodec(space), create=False)
    ledger.set_attr(RANK_CHECK, summary.to_dict())


def describe_summary(summary: RankCheckSummary) -> str:
    """The check's conclusion in one line (accuracies in points)."""

    def points(values: list[float]) -> str:
        return ", ".join(f"{100 * v:+.1f}" for v in values)

    proxy, energy = summary.proxy, summary.energy_only
    trend = summary.bias_trend
    shown_trend = (
        ""
        if trend is None
        else f"; trend {100 * trend.slope:+.1f} per doubling of energy, tilt {points(trend.tilt)}"
    )
    partial = "-" if proxy.partial_rho is None else f"{proxy.partial_rho:.2f}"
    partial_p = "-" if proxy.partial_p is None else f"{proxy.partial_p:.2g}"
    return (
        f"{summary.subnets} subnets: inherited tau {proxy.kendall_tau:.2f} "
        f"(energy alone {energy.kendall_tau:.2f}), partial rho {partial} "
        f"(p {partial_p}) vs the stand-alone seeds' ceiling "
        f"{summary.ceiling_partial_rho:.2f}; bias per energy bin "
        f"{points([b.bias for b in summary.bias_by_energy])} points (offset "
        f"{100 * summary.bias_offset:+.1f}, tilt {points(summary.bias_tilt)}{shown_trend})"
    )
