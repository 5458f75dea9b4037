"""``evosnn train``: retrain exported architectures stand-alone, one by one or on Ray Tune."""

from __future__ import annotations

import argparse
import logging
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evosnn.cli._args import (
    add_data,
    add_ray_address,
    add_recipe,
    add_resume,
    add_seed,
    cpus,
    given_settings,
    given_values,
    non_negative_int,
    positive_float,
    positive_int,
    resources,
)
from evosnn.cli._command import Command
from evosnn.core.errors import EvosnnError
from evosnn.core.outputs import check_out_dir
from evosnn.core.run_lock import run_lock
from evosnn.core.validation import INIT

if TYPE_CHECKING:
    from evosnn.reporting.export import Exported
    from evosnn.training.retrain import RetrainResult
    from supernet.recipe import TrainSettings

__all__ = ["Train", "record"]

log = logging.getLogger(__name__)


class Train(Command):
    name = "train"
    help = "retrain exported architectures stand-alone"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "architectures", type=Path, nargs="+", help="exported trial-NNNNN.yaml files"
        )
        parser.add_argument("--init", choices=INIT.choices, default=INIT.choices[0])
        add_recipe(parser)
        add_seed(parser)
        parser.add_argument(
            "--out", type=Path, default=None, help="checkpoint folder (default: beside each file)"
        )
        add_data(parser)
        parser.add_argument(
            "--storage", default=None, help="study URL to record results in (default: the file's)"
        )
        add_resume(parser, what="the checkpoint", flags="--epochs, --batch-size, --lr or --seed")
        self._add_tune(parser)

    @staticmethod
    def _add_tune(parser: argparse.ArgumentParser) -> None:
        """Retraining as Ray Tune trials."""
        tune = parser.add_argument_group(
            "Ray Tune", "train every file (and learning rate) as a Ray Tune trial"
        )
        tune.add_argument("--tune", action="store_true", help="run the trials on Ray Tune")
        tune.add_argument(
            "--lr-sweep",
            type=positive_float,
            nargs="+",
            default=None,
            metavar="LR",
            help="learning rates to try per architecture (default: --lr only)",
        )
        tune.add_argument("--asha", action="store_true", help="ASHA early stopping")
        # None: TuneSettings' own default (read when the command runs: it needs torch)
        tune.add_argument(
            "--grace-epochs", type=positive_int, default=None, help="ASHA's first rung (epochs)"
        )
        tune.add_argument(
            "--max-failures", type=non_negative_int, default=None, help="retries of a failed trial"
        )
        tune.add_argument("--cpus-per-trial", type=cpus, default=None)
        tune.add_argument("--gpus-per-trial", type=resources, default=None)
        add_ray_address(tune)

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.reporting.export import load_export
        from supernet.recipe import TrainSettings

        given = given_settings(args, ("epochs", "batch_size", "lr", "seed"))
        recipe = given_values(args, ("epochs", "batch_size", "lr"))
        settings = TrainSettings(seed=args.seed, device=args.device, **recipe)
        if not args.tune and (args.lr_sweep or args.asha):
            raise EvosnnError(f"--{'lr-sweep' if args.lr_sweep else 'asha'} needs --tune")
        if args.out is not None:
            check_out_dir(args.out)
        exports = [load_export(path) for path in args.architectures]  # all valid before training
        with ExitStack() as held:  # every folder written is this process's before any work
            for folder, name in _written(args, exports):
                held.enter_context(run_lock(folder, flag=None, name=name))
            refused = {e.path: check(args.storage, e) for e in exports}  # storage before work
            for reason in filter(None, refused.values()):
                log.warning("%s", reason)  # said before training, and again after it
            if args.tune:
                return self._tune(args, exports, settings, refused)
            return self._train(args, exports, settings, refused, given)

    def _train(
        self,
        args: argparse.Namespace,
        exports: list[Exported],
        settings: TrainSettings,
        refused: dict[Path, str | None],
        given: dict[str, Any],
    ) -> int:
        """Retrain the files one by one, in this process."""
        from evosnn.training.retrain import retrain_exported
        from supernet.recipe import Resume

        for exported in exports:
            result = retrain_exported(
                exported,
                args.out or exported.path.parent,
                settings,
                init=args.init,
                data_root=args.data,
                resume=Resume(given) if args.resume else None,
            )
            print(
                f"{exported.path}: val {100 * result.val_accuracy:.2f}%, "
                f"test {100 * result.test_accuracy:.2f}%, {result.energy_mj:.4g} mJ/image; "
                f"checkpoint {result.checkpoint}"
            )
            record(args.storage, exported, result, refused[exported.path])
        return 0

    def _tune(
        self,
        args: argparse.Namespace,
        exports: list[Exported],
        settings: TrainSettings,
        refused: dict[Path, str | None],
    ) -> int:
        from evosnn.training.tune import TuneSettings, tune_retrain

        if args.resume:
            raise EvosnnError("--resume is for single runs; with --tune, re-run the same command")
        tune_settings = TuneSettings(
            lrs=tuple(args.lr_sweep or [settings.lr]),
            asha=args.asha,
            **given_values(
                args, ("grace_epochs", "max_failures", "cpus_per_trial", "gpus_per_trial")
            ),
        )
        try:
            tuned = tune_retrain(
                exports,
                args.out or exports[0].path.parent,
                settings,
                tune_settings,
                init=args.init,
                data_root=args.data,
                ray_address=args.ray_address,
            )
        finally:
            if not args.ray_address:
                from workers.cluster import disconnect

                disconnect()
        status = 0
        for item in tuned:
            if item.best is None:
                print(f"{item.exported.path}: no trial of {item.trials} finished")
                status = 1
                continue
            best = item.best
            print(
                f"{item.exported.path}: best lr {best.lr:g} of {item.trials} trial(s): "
                f"val {100 * best.val_accuracy:.2f}%, test {100 * best.test_accuracy:.2f}%, "
                f"{best.energy_mj:.4g} mJ/image; checkpoint {best.checkpoint}"
            )
            record(args.storage, item.exported, best, refused[item.exported.path])
        return status


def _written(args: argparse.Namespace, exports: list[Exported]) -> list[tuple[Path, str | None]]:
    """What the retraining writes, as (folder, file or None: all of it): each file's checkpoint
    in ``--out`` or beside the file; with ``--tune``, the Tune experiment (``tune`` in ``--out``
    or beside the first file)."""
    from evosnn.training.retrain import checkpoint_name

    if args.tune:
        return [((args.out or exports[0].path.parent) / "tune", None)]
    return [(args.out or e.path.parent, checkpoint_name(e)) for e in exports]


def _storage_of(storage: str | None, exported: Exported) -> str | None:
    """The study URL to record in: ``--storage``, else the file's (None if hidden or absent)."""
    storage = storage or exported.provenance.get("storage")
    if storage and "***" in storage:
        log.warning(
            "%s: the file's storage URL has its password hidden; pass --storage to record results",
            exported.path,
        )
        return None
    return storage or None


def check(storage: str | None, exported: Exported) -> str | None:
    """Before training: the reason a retraining of ``exported`` will not be recorded, or None.

    Raises:
        StorageError: the study storage cannot be reached (nothing has been trained yet).
    """
    from evosnn.training.retrain import check_record

    url = _storage_of(storage, exported)
    return check_record(url, exported) if url else None


def record(
    storage: str | None,
    exported: Exported,
    result: RetrainResult,
    refused: str | None = "",
) -> None:
    """Write a retraining's figures onto the exported architecture's source trial.

    ``storage`` overrides the URL recorded in the file (which has its password hidden);
    ``refused`` is what :func:`check` said before training (checked now when not given: "").
    """
    from evosnn.training.retrain import record_in_study

    url = _storage_of(storage, exported)
    if url is None:
        return
    refused = check(storage, exported) if refused == "" else refused
    if refused is not None:
        print(f"  {refused}")
        return
    key = record_in_study(url, exported, result)
    if key is not None:
        print(
            f"  recorded on trial {exported.provenance.get('trial')} of study "
            f"{exported.provenance.get('study')!r} as {key} (retrained_* hold the latest run; "
            "each recipe keeps its own retrained[eE-lrLR])"
        )
