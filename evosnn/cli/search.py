"""``evosnn search``: NSGA-II over a trained supernet, evaluated on Ray workers (or in-process)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from evosnn.cli._args import (
    add_data,
    add_ray_address,
    add_seed,
    add_storage,
    add_study,
    non_negative_int,
    positive_float,
    positive_int,
)
from evosnn.cli._command import Command

if TYPE_CHECKING:
    from evosnn.core.space import SearchSpace
    from evosnn.search import SearchSettings, SearchSummary

__all__ = ["Search", "print_summary"]


class Search(Command):
    name = "search"
    help = "NSGA-II search over a trained supernet, on Ray workers"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from evosnn.engines import ENGINES
        from evosnn.search.settings import SearchSettings

        parser.add_argument("--space", type=Path, required=True, help="search-space YAML file")
        parser.add_argument("--supernet", type=Path, required=True, help="runs/NAME/supernet.pt")
        add_storage(
            parser,
            required=False,
            help="SQLAlchemy URL of the study database (default: sqlite:///runs/NAME/evosnn.db)",
        )
        add_study(parser, required=False, help="study name (default: the run folder's name)")
        parser.add_argument(
            "--engine",
            choices=ENGINES,
            default=SearchSettings().engine,
            help="search engine (default: %(default)s, the best on the exact-front benchmark)",
        )
        parser.add_argument("--population", type=positive_int, default=16)
        parser.add_argument("--generations", type=positive_int, default=6)
        parser.add_argument(
            "--workers",
            type=non_negative_int,
            default=2,
            help="Ray evaluator actors (0: evaluate in this process, without Ray)",
        )
        add_ray_address(parser)
        add_seed(parser)
        parser.add_argument("--cpus-per-worker", type=positive_float, default=1.0)
        parser.add_argument("--gpus-per-worker", type=float, default=0.0)
        parser.add_argument(
            "--eval-timeout",
            type=positive_float,
            default=600.0,
            help="seconds before a hung evaluation's worker is replaced",
        )
        parser.add_argument(
            "--recal-batches",
            type=non_negative_int,
            default=4,
            help="BN recalibration batches per evaluation (0: off)",
        )
        parser.add_argument("--max-val-images", type=positive_int, default=None)
        add_data(parser)

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.core.evaluation import EvalSettings
        from evosnn.core.space import load_space
        from evosnn.search import SearchSettings

        space = load_space(args.space)
        run_dir = args.supernet.parent
        storage = args.storage or f"sqlite:///{run_dir / 'evosnn.db'}"
        study = args.study or run_dir.name or "evosnn"
        settings = SearchSettings(
            engine=args.engine,
            population=args.population,
            generations=args.generations,
            workers=args.workers,
            seed=args.seed,
            ray_address=args.ray_address,
            cpus_per_worker=args.cpus_per_worker,
            gpus_per_worker=args.gpus_per_worker,
            eval_timeout_s=args.eval_timeout,
            data_root=str(args.data) if args.data else None,
            eval=EvalSettings(
                recal_batches=args.recal_batches,
                max_val_images=args.max_val_images,
                device="cuda" if args.gpus_per_worker > 0 else "cpu",
            ),
        )
        print_summary(search(space, args.supernet, storage, study, settings))
        return 0


def search(
    space: SearchSpace, supernet: Path, storage: str, study: str, settings: SearchSettings
) -> SearchSummary:
    """Run the search; a local Ray instance it started is stopped afterwards."""
    from evosnn.search import run_search

    try:
        return run_search(space, supernet, storage, study, settings)
    finally:
        if settings.workers and not settings.ray_address:
            from workers.cluster import disconnect

            disconnect()


def print_summary(summary: SearchSummary) -> None:
    """The search's one-paragraph result and its Pareto front."""
    print(
        f"study {summary.study!r} in {summary.storage}: {summary.completed} completed evaluations "
        f"({summary.evaluated_now} this run, {summary.answered_from_ledger} answered from the ledger, "
        f"{summary.equivalent} equivalent trials not evaluated), hypervolume {summary.hypervolume:.6g}, {summary.elapsed_s:.0f}s"
    )
    print(f"Pareto front ({len(summary.pareto)} architectures):")
    print(
        f"  {'trial':>5}  {'val acc':>8}  {'test acc':>8}  {'energy mJ':>10}  {'F_AEB':>6}  "
        f"{'params':>8}  subnet"
    )
    for row in summary.pareto:
        test = "-" if row.test_accuracy is None else f"{100 * row.test_accuracy:.2f}%"
        print(
            f"  {row.trial:>5}  {100 * row.accuracy:>7.2f}%  {test:>8}  {row.energy_mj:>10.4g}  "
            f"{row.f_aeb:>6.4f}  {row.params:>8,}  {row.summary}"
        )
