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

        parser.add_argument("--space", required=True, help="search-space YAML file or shipped name")
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
        from evosnn.api import run_search
        from evosnn.core.evaluation import EvalSettings
        from evosnn.core.space import load_space
        from evosnn.search import SearchSettings

        space = load_space(args.space)
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
        result = run_search(
            space, args.supernet, storage=args.storage, study=args.study, settings=settings
        )
        print_summary(result.summary)
        return 0


def search(
    space: SearchSpace, supernet: Path, storage: str, study: str, settings: SearchSettings
) -> SearchSummary:
    """Run the search (:func:`evosnn.api.run_search`); a local Ray instance it started is stopped."""
    from evosnn.api import run_search

    return run_search(space, supernet, storage=storage, study=study, settings=settings).summary


def print_summary(summary: SearchSummary) -> None:
    """The search's one-paragraph result and its Pareto front (units on every figure)."""
    from evosnn.search.summary import format_summary

    print("\n".join(format_summary(summary)))
