"""Retrain several exported architectures as Ray Tune trials: ``evosnn train A.yaml B.yaml --tune``.

One Tune trial per (architecture, learning rate). The Ray Tune machinery lives in
:mod:`workers.tune`; this module gives it the training (:func:`train_one`: the same stand-alone
trainer as ``evosnn train``, :func:`evosnn.training.retrain.retrain_exported`, reporting every epoch to Tune with its
checkpoint) and turns its plain results into :class:`~evosnn.training.retrain.RetrainResult`, so:

* **ASHA** (``--asha``) stops the learning rates that fall behind at the rungs (after
  ``grace_epochs``, then at doubling epochs);
* **failure retries**: a trial whose process dies is restarted from its last reported checkpoint,
  up to ``max_failures`` times (Tune's ``FailureConfig``);
* **resume**: the experiment lives in ``OUT/tune/evosnn-train``; re-running the same command after
  the driver was killed restores it (``Tuner.restore``) and continues every unfinished trial from
  its checkpoint. A different set of files or settings for the same folder is refused.

At the end the best learning rate of each architecture (highest final validation accuracy among
the trials that finished) is written back onto its source trial (``retrained_*`` user attrs).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypedDict

from evosnn.core.errors import EvosnnError, SettingError
from evosnn.core.run_lock import run_lock
from evosnn.core.validation import (
    COUNT,
    CPUS,
    DEFAULT_GPUS,
    GPUS,
    LEARNING_RATE,
    Whole,
    check_fields,
    check_value,
    setting,
)
from evosnn.data.loading import check_data_root
from evosnn.reporting.export import Exported
from evosnn.training.retrain import RetrainResult, checkpoint_name
from workers.tune import EXPERIMENT, Report, TrainOne, TuneExperiment, run_tune

__all__ = [
    "EXPERIMENT",
    "TuneSettings",
    "TuneTrial",
    "TunedArchitecture",
    "train_one",
    "tune_retrain",
]


@dataclass(frozen=True)
class TuneSettings:
    """How the Tune run is organised (the training recipe itself is a ``TrainSettings``)."""

    lrs: tuple[float, ...] = (3e-3,)
    asha: bool = False
    grace_epochs: int = setting(2, COUNT)
    max_failures: int = setting(2, Whole(0, 100))
    cpus_per_trial: float = setting(1.0, CPUS)
    gpus_per_trial: float = setting(DEFAULT_GPUS, GPUS)

    def __post_init__(self) -> None:
        check_fields(self)
        if not self.lrs:
            raise SettingError("lrs=(): give at least one learning rate")
        for lr in self.lrs:
            check_value("lrs", lr, LEARNING_RATE)


@dataclass(frozen=True)
class TunedArchitecture:
    """The best finished trial of one architecture, or None when all its trials were stopped."""

    exported: Exported
    best: RetrainResult | None
    trials: int


class TuneTrial(TypedDict):
    """The config of one Tune trial (Tune's parameter space, one grid point).

    Attributes:
        architecture: the exported YAML file retrained (absolute path).
        lr: this trial's learning rate.
        train: the rest of the recipe (``TrainSettings.to_dict()``; its ``lr`` is replaced).
        init: ``scratch`` or ``inherited``.
        data_root: the data folder, or None for the space's.
        threads: torch threads (the trial's CPUs).
    """

    architecture: str
    lr: float
    train: dict[str, Any]
    init: str
    data_root: str | None
    threads: float


def train_one(config: TuneTrial, work: Path, resume: bool, report: Report) -> None:
    """One Tune trial's training (run on a Ray worker): retrain ``config["architecture"]`` at
    ``config["lr"]`` with :func:`evosnn.training.retrain.retrain_exported` in ``work``, reporting every epoch."""
    import torch

    from evosnn.reporting.export import load_export
    from evosnn.training.retrain import retrain_exported
    from supernet.train import TrainSettings

    torch.set_num_threads(max(1, int(config["threads"])))
    exported = load_export(config["architecture"])
    settings = TrainSettings.from_dict({**config["train"], "lr": config["lr"]})

    def on_epoch(entry: dict[str, Any], path: Path) -> None:
        metrics = {"epoch": entry["epoch"], "val_accuracy": entry["val_acc"]}
        if "test_acc" in entry:
            metrics |= {"test_accuracy": entry["test_acc"], "energy_mj": entry["energy_mj"]}
        report(metrics, path)

    retrain_exported(
        exported,
        work,
        settings,
        init=config["init"],
        data_root=config["data_root"],
        resume=resume,
        progress=False,
        on_epoch=on_epoch,
    )


def tune_retrain(
    exports: list[Exported],
    out_dir: str | Path,
    train: Any,
    tune_settings: TuneSettings,
    *,
    init: str = "scratch",
    data_root: str | Path | None = None,
    ray_address: str | None = None,
    trainer: TrainOne | None = None,
) -> list[TunedArchitecture]:
    """Run (or resume) the Tune experiment in ``out_dir/tune``; the best result per architecture.

    ``train`` is a :class:`supernet.train.TrainSettings` (its ``lr`` is replaced by each of
    ``tune_settings.lrs``). ``trainer`` is the picklable training of one trial, :func:`train_one`
    unless given (a notebook or a test may wrap it, e.g. to watch or pace the epochs); it is not
    part of what a resumed run must match. ``out_dir/tune`` is held while the trials run.

    Raises:
        FolderInUse: another process holds ``out_dir/tune``.
    """
    for exported in exports:  # here, not in every trial
        check_data_root(exported.space.dataset, data_root, space=exported.space.name)
    folder = (Path(out_dir) / "tune").resolve()
    architectures = [str(e.path.resolve()) for e in exports]
    request = {
        "architectures": architectures,
        "train": {k: v for k, v in train.to_dict().items() if k not in ("lr", "device")},
        "tune": asdict(tune_settings),
        "init": init,
    }
    experiment = TuneExperiment(
        architectures=architectures,
        lrs=list(tune_settings.lrs),
        config={
            "train": train.to_dict(),
            "init": init,
            "data_root": str(data_root) if data_root else None,
            "threads": tune_settings.cpus_per_trial,
        },
        request=request,
        folder=folder,
        epochs=int(train.epochs),
        metric="val_accuracy",
        finished_key="test_accuracy",
    )
    with run_lock(folder, flag=None):  # the driver holds the experiment; the trials work in it
        results = run_tune(trainer or train_one, experiment, tune_settings, ray_address=ray_address)
    tuned = []
    for exported, result in zip(exports, results, strict=True):
        outcome = None
        if result.best is not None:
            metrics, kept = result.best.metrics, folder / "best" / checkpoint_name(exported)
            if kept not in result.best.files:
                raise EvosnnError(
                    f"the best trial of {exported.path} left no checkpoint {kept.name}"
                )
            outcome = RetrainResult(
                kept,
                float(metrics["val_accuracy"]),
                float(metrics["test_accuracy"]),
                float(metrics["energy_mj"]),
                int(metrics["epoch"]),
                float(result.best.config["lr"]),
            )
        tuned.append(TunedArchitecture(exported, outcome, result.trials))
    return tuned
