"""Retrain several exported architectures as Ray Tune trials: ``evosnn train A.yaml B.yaml --tune``.

One Tune trial per (architecture, learning rate). Each trial runs the same stand-alone trainer as
``evosnn train`` (:func:`evosnn.retrain.retrain`) and reports every epoch to Tune with its
checkpoint, so:

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

import json
import logging
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evosnn.errors import EvosnnError
from evosnn.export import Exported
from evosnn.retrain import RetrainResult

__all__ = ["EXPERIMENT", "TuneSettings", "TunedArchitecture", "tune_retrain"]

log = logging.getLogger(__name__)

EXPERIMENT = "evosnn-train"


@dataclass(frozen=True)
class TuneSettings:
    """How the Tune run is organised (the training recipe itself is a ``TrainSettings``)."""

    lrs: tuple[float, ...] = (3e-3,)
    asha: bool = False
    grace_epochs: int = 2
    max_failures: int = 2
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0

    def __post_init__(self) -> None:
        if not self.lrs or any(not lr > 0 for lr in self.lrs):
            raise EvosnnError(f"learning rates must be positive, got {list(self.lrs)}")
        if self.grace_epochs < 1 or self.max_failures < 0 or self.cpus_per_trial <= 0:
            raise EvosnnError(
                "invalid Tune settings (grace epochs >= 1, max failures >= 0, CPUs > 0)"
            )


@dataclass(frozen=True)
class TunedArchitecture:
    """The best finished trial of one architecture, or None when all its trials were stopped."""

    exported: Exported
    best: RetrainResult | None
    trials: int


def _trainable(config: dict[str, Any]) -> None:
    """One Tune trial: retrain one architecture at one learning rate, reporting every epoch."""
    import torch
    from ray import tune

    from evosnn.export import load_export
    from evosnn.retrain import retrain
    from supernet.train import TrainSettings

    torch.set_num_threads(max(1, int(config["threads"])))
    exported = load_export(config["architecture"])
    settings = TrainSettings.from_dict({**config["train"], "lr": config["lr"]})
    work = Path(tune.get_context().get_trial_dir()) / "work"
    work.mkdir(parents=True, exist_ok=True)
    name = f"{exported.path.stem}.retrained.pt"
    resume = False
    restored = tune.get_checkpoint()
    if restored is not None:  # a retry or a restored experiment: continue from the last report
        with restored.as_directory() as folder:
            shutil.copyfile(Path(folder) / name, work / name)
        resume = True
    else:  # a crashed first attempt may have left a checkpoint it never reported
        (work / name).unlink(missing_ok=True)

    def report(entry: dict[str, Any], path: Path) -> None:
        metrics = {"epoch": entry["epoch"], "val_accuracy": entry["val_acc"]}
        if "test_acc" in entry:
            metrics |= {"test_accuracy": entry["test_acc"], "energy_mj": entry["energy_mj"]}
        with tempfile.TemporaryDirectory() as folder:
            shutil.copyfile(path, Path(folder) / name)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))

    retrain(
        exported,
        work,
        settings,
        init=config["init"],
        data_root=config["data_root"],
        resume=resume,
        progress=False,
        on_epoch=report,
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
) -> list[TunedArchitecture]:
    """Run (or resume) the Tune experiment in ``out_dir/tune``; the best result per architecture.

    ``train`` is a :class:`supernet.train.TrainSettings` (its ``lr`` is replaced by each of
    ``tune_settings.lrs``).
    """
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from workers.cluster import connect

    folder = (Path(out_dir) / "tune").resolve()
    experiment = folder / EXPERIMENT
    request = {
        "architectures": [str(e.path.resolve()) for e in exports],
        "train": {k: v for k, v in train.to_dict().items() if k not in ("lr", "device")},
        "tune": asdict(tune_settings),
        "init": init,
    }
    request_file = folder / "request.json"
    connect(ray_address, num_cpus=None)
    trainable = tune.with_resources(
        _trainable, {"cpu": tune_settings.cpus_per_trial, "gpu": tune_settings.gpus_per_trial}
    )
    if tune.Tuner.can_restore(str(experiment)):
        stored = json.loads(request_file.read_text()) if request_file.is_file() else None
        if stored != json.loads(json.dumps(request)):
            raise EvosnnError(
                f"{folder} holds a Tune run of other architectures or settings; "
                f"re-run the same command to resume it, or choose another --out"
            )
        log.info("resuming the Tune experiment in %s", experiment)
        tuner = tune.Tuner.restore(str(experiment), trainable, resume_errored=True)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        request_file.write_text(json.dumps(request, indent=2))
        epochs = int(train.epochs)
        scheduler = (
            ASHAScheduler(
                time_attr="epoch",
                max_t=epochs,
                grace_period=min(tune_settings.grace_epochs, epochs),
                reduction_factor=2,
            )
            if tune_settings.asha
            else None
        )
        tuner = tune.Tuner(
            trainable,
            param_space={
                "architecture": tune.grid_search(request["architectures"]),
                "lr": tune.grid_search(list(tune_settings.lrs)),
                "train": train.to_dict(),
                "init": init,
                "data_root": str(data_root) if data_root else None,
                "threads": tune_settings.cpus_per_trial,
            },
            tune_config=tune.TuneConfig(metric="val_accuracy", mode="max", scheduler=scheduler),
            run_config=tune.RunConfig(
                name=EXPERIMENT,
                storage_path=str(folder),
                failure_config=tune.FailureConfig(max_failures=tune_settings.max_failures),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
                verbose=1,
            ),
        )
    grid = tuner.fit()
    by_path: dict[str, list[Any]] = {}
    for result in (grid[i] for i in range(len(grid))):
        if result.config is not None:
            by_path.setdefault(str(result.config["architecture"]), []).append(result)
    tuned = []
    for exported in exports:
        results = by_path.get(str(exported.path.resolve()), [])
        finished = [r for r in results if r.metrics and "test_accuracy" in r.metrics]
        for r in results:
            if r.error is not None:
                log.warning("%s: a trial failed for good: %s", exported.path, r.error)
        best = max(finished, key=lambda r: float(r.metrics["val_accuracy"]), default=None)
        outcome = None
        if best is not None and best.checkpoint is not None and best.config is not None:
            with best.checkpoint.as_directory() as ckpt_dir:
                kept = folder / "best" / f"{exported.path.stem}.retrained.pt"
                kept.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(ckpt_dir) / kept.name, kept)
            outcome = RetrainResult(
                kept,
                float(best.metrics["val_accuracy"]),
                float(best.metrics["test_accuracy"]),
                float(best.metrics["energy_mj"]),
                int(best.metrics["epoch"]),
                float(best.config["lr"]),
            )
        tuned.append(TunedArchitecture(exported, outcome, len(results)))
    return tuned
