"""``evosnn search``: NSGA-II over a trained supernet, evaluated on Ray workers (or in-process)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from evosnn.cli._args import (
    add_data,
    add_device,
    add_gpus_per_worker,
    add_ray_address,
    add_seed,
    add_storage,
    add_study,
    setting_flag,
)
from evosnn.cli._command import Command
from evosnn.core.errors import EvosnnError

if TYPE_CHECKING:
    from evosnn.core.space import SearchSpace
    from evosnn.search import SearchSettings, SearchSummary

__all__ = ["Search", "print_summary"]


class Search(Command):
    name = "search"
    help = "NSGA-II search over a trained supernet, on Ray workers"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from evosnn.core.evaluation import EvalSettings
        from evosnn.engines import ENGINES
        from evosnn.search.settings import SearchSettings

        defaults = SearchSettings()  # every default below is the settings' own
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
            choices=list(ENGINES),
            default=defaults.engine,
            help="search engine (default: %(default)s, the best on the exact-front benchmark)",
        )
        parser.add_argument(
            "--population",
            type=setting_flag(SearchSettings, "population"),
            default=defaults.population,
        )
        parser.add_argument(
            "--generations",
            type=setting_flag(SearchSettings, "generations"),
            default=defaults.generations,
        )
        parser.add_argument(
            "--workers",
            type=setting_flag(SearchSettings, "workers"),
            default=defaults.workers,
            help="Ray evaluator actors (0: evaluate in this process, without Ray, on --device)",
        )
        add_ray_address(parser)
        add_seed(parser)
        parser.add_argument(
            "--cpus-per-worker",
            type=setting_flag(SearchSettings, "cpus_per_worker"),
            default=defaults.cpus_per_worker,
        )
        add_gpus_per_worker(
            parser, "GPUs Ray gives each evaluator actor (they then evaluate on cuda; default 0)"
        )
        add_device(parser)
        parser.add_argument(
            "--eval-timeout",
            type=setting_flag(SearchSettings, "eval_timeout_s"),
            default=defaults.eval_timeout_s,
            help="seconds before a hung evaluation's worker is replaced",
        )
        parser.add_argument(
            "--recal-batches",
            type=setting_flag(EvalSettings, "recal_batches"),
            default=EvalSettings().recal_batches,
            help="BN recalibration batches per evaluation (0: off)",
        )
        parser.add_argument(
            "--max-val-images",
            type=setting_flag(EvalSettings, "max_val_images"),
            default=EvalSettings().max_val_images,
        )
        parser.add_argument(
            "--stem-cache-mib",
            type=setting_flag(EvalSettings, "stem_cache_mib"),
            default=EvalSettings().stem_cache_mib,
            help="memory bound (MiB, per evaluator) of the cache of patch-splitter outputs that "
            "subnets of one width and T share; 0: off; results are the same either way "
            "(default: %(default)s)",
        )
        add_data(parser)

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.api import run_search
        from evosnn.core.evaluation import EvalSettings
        from evosnn.core.space import load_space
        from evosnn.search import SearchSettings

        device = _eval_device(args)
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
                device=device,
                stem_cache_mib=args.stem_cache_mib,
            ),
        )
        result = run_search(
            space, args.supernet, storage=args.storage, study=args.study, settings=settings
        )
        print_summary(result.summary)
        return 0


def _eval_device(args: argparse.Namespace) -> str:
    """Where evaluations run: ``--device`` in this process (``--workers 0``), else each Ray actor's
    GPU when ``--gpus-per-worker`` gives it one (one convention: Ray workers take GPUs by
    ``--gpus-per-worker``, this process by ``--device``)."""
    gpus = args.gpus_per_worker
    if args.workers == 0:
        if gpus > 0:
            raise EvosnnError(
                f"--gpus-per-worker {gpus:g} is for Ray workers; with --workers 0 the evaluation "
                "runs in this process: use --device cuda"
            )
        return str(args.device)
    if args.device != "cpu":
        raise EvosnnError(
            f"--device {args.device} is for --workers 0 (this process); Ray workers take GPUs "
            "by --gpus-per-worker"
        )
    return "cuda" if gpus > 0 else "cpu"


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
