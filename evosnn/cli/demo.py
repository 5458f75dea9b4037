"""``evosnn demo``: the embedded default end to end, by calling the library functions directly.

Supernet training (on digits-tiny unless ``--space`` names another space, with the space's
``training`` defaults: 40 uniform epochs for digits-tiny, about two minutes on 2 CPU cores), an
NSGA-II search on local Ray workers recorded in SQLite, export of the Pareto front and the knee,
retraining of the knee, the report. A step that fails stops the demo with that step's error.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from evosnn.cli._args import (
    add_device,
    add_seed,
    given_settings,
    non_negative_int,
    positive_int,
)
from evosnn.cli._command import Command
from evosnn.core.errors import EvosnnError, SpaceError
from evosnn.core.outputs import check_out_dir
from evosnn.core.run_lock import run_lock

if TYPE_CHECKING:
    from evosnn.core.space import SearchSpace
    from evosnn.search import SearchSettings

__all__ = ["Demo"]

log = logging.getLogger(__name__)

SPACE = Path(__file__).resolve().parents[2] / "search_spaces" / "digits-tiny.yaml"
STEPS = 5


@contextmanager
def _step(number: int, what: str) -> Iterator[None]:
    """Log the step; re-raise its failure as one error that names the step (cause kept)."""
    log.info("step %d/%d: %s", number, STEPS, what)
    try:
        yield
    except EvosnnError as exc:
        raise EvosnnError(f"demo step {number}/{STEPS} ({what}) failed: {exc}") from exc


class Demo(Command):
    name = "demo"
    help = "the embedded default on digits-tiny: supernet, search, export, retrain, report"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="run folder")
        parser.add_argument(
            "--space",
            type=Path,
            default=SPACE,
            help="search-space YAML file (default: the shipped digits-tiny; "
            "search_spaces/digit-pairs-tiny.yaml is the other embedded task)",
        )
        parser.add_argument("--workers", type=non_negative_int, default=2)
        add_device(parser)
        add_seed(parser)
        parser.add_argument("--retrain-epochs", type=positive_int, default=15)

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.core.space import load_space

        if args.space == SPACE and not SPACE.is_file():
            raise SpaceError(
                f"{SPACE}: the shipped digits-tiny space is missing from this checkout"
            )
        space = load_space(args.space)
        out: Path = check_out_dir(args.out)
        with run_lock(out):  # the whole run folder, every step
            return self._steps(args, space, out)

    def _steps(self, args: argparse.Namespace, space: SearchSpace, out: Path) -> int:
        """The five steps, in the held run folder ``out``."""
        from evosnn.cli.search import print_summary, search
        from evosnn.cli.train import record
        from evosnn.data.loading import load_splits
        from evosnn.reporting.export import export_study, load_export
        from evosnn.reporting.report import write_report
        from evosnn.training.retrain import retrain_exported
        from evosnn.training.supernet_training import train_supernet_for
        from supernet.checkpoint import load_checkpoint
        from supernet.recipe import Resume, TrainSettings
        from supernet.train import CHECKPOINT_NAME

        checkpoint = out / CHECKPOINT_NAME
        storage = f"sqlite:///{out / 'evosnn.db'}"

        epochs, sampling = space.training.epochs, space.training.sampling
        with _step(1, f"training the {space.name} supernet for {epochs} epochs ({sampling})"):
            if checkpoint.is_file() and load_checkpoint(checkpoint).get("status") == "complete":
                log.info("%s is already trained; skipping supernet training", checkpoint)
            else:
                splits = load_splits(space.dataset)
                train_supernet_for(
                    space,
                    splits,
                    out,
                    TrainSettings(
                        epochs=epochs, sampling=sampling, seed=args.seed, device=args.device
                    ),
                    # a --seed of another run: refused
                    resume=Resume(given_settings(args, ("seed",)))
                    if checkpoint.is_file()
                    else None,
                )
        with _step(2, f"NSGA-II search on Ray workers, recorded in {out / 'evosnn.db'}"):
            settings = _search_settings(args)
            print_summary(search(space, checkpoint, storage, "demo", settings))
        with _step(3, "exporting the Pareto front and the knee with their inherited weights"):
            for pick in ("pareto", "knee"):
                export_study(
                    storage,
                    "demo",
                    out / "export" / pick,
                    pick=pick,
                    supernet=checkpoint,
                    device=args.device,
                )
        with _step(4, "retraining the knee architecture stand-alone (short run)"):
            for path in sorted((out / "export" / "knee").glob("trial-*.yaml")):
                exported = load_export(path)
                result = retrain_exported(
                    exported,
                    path.parent,
                    TrainSettings(epochs=args.retrain_epochs, seed=args.seed, device=args.device),
                    init="inherited",
                    resume=_resumable(path),
                )
                print(
                    f"{path}: val {100 * result.val_accuracy:.2f}%, "
                    f"test {100 * result.test_accuracy:.2f}%, {result.energy_mj:.4g} mJ/image"
                )
                record(storage, exported, result)
        with _step(5, "writing the report"):
            report = write_report(storage, "demo", out / "report")
        _where(out, checkpoint, report.index)
        return 0


def _search_settings(args: argparse.Namespace) -> SearchSettings:
    """The demo's search on ``--device``: in this process with ``--workers 0``, else one GPU per
    Ray worker when the device is CUDA (the one device convention of ``evosnn search``)."""
    from evosnn.core.evaluation import EvalSettings
    from evosnn.search import SearchSettings

    on_gpu = args.device.startswith("cuda")
    return SearchSettings(
        workers=args.workers,
        seed=args.seed,
        gpus_per_worker=1.0 if on_gpu and args.workers else 0.0,
        eval=EvalSettings(device=args.device if not args.workers else "cuda" if on_gpu else "cpu"),
    )


def _resumable(architecture: Path) -> bool:
    """A retraining checkpoint beside the file exists (a rerun of the demo continues it)."""
    return architecture.with_name(f"{architecture.stem}.retrained.pt").is_file()


def _where(out: Path, checkpoint: Path, report: Path) -> None:
    print()
    print(f"everything is in {out}/:")
    print(f"  supernet checkpoint  {checkpoint}")
    print(f"  search ledger        {out / 'evosnn.db'} (Optuna study 'demo')")
    print(f"  exported             {out / 'export'}/pareto, {out / 'export'}/knee (YAML + weights)")
    print(f"  retrained knee       {out / 'export' / 'knee'}/*.retrained.pt")
    print(f"  report               {report}")
    print("open the dashboard with:")
    print(f"  .venv/bin/evosnn dashboard --storage sqlite:///{out / 'evosnn.db'}")
