"""Retrain an exported architecture stand-alone: ``evosnn train ARCH.yaml``.

The stand-alone Spikformer of the exported config is trained on the space's data set (from scratch,
with initial weights drawn from ``seed``, or starting from the inherited weights exported next to
the file), with the supernet trainer's recipe (AdamW, warm-up + cosine, label smoothing, clipping,
data-set augmentation) and its loop, :func:`supernet.fit.fit`: every random draw derives from
``(seed, step)``, so a resumed run equals an uninterrupted one. Checkpoints are written atomically
every epoch; Ctrl-C writes a resumable one. At the end it reports validation and **test**
accuracy and energy, and records them on the source trial as ``retrained_*`` user attrs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from evosnn.core.errors import CheckpointError, EvosnnError
from evosnn.evaluate.data import Splits, load_splits
from evosnn.evaluate.models import build_standalone
from evosnn.objectives.energy import EnergyModel
from evosnn.reporting.export import Exported
from evosnn.training.supernet import augmentation_for
from supernet.checkpoint import save_atomic
from supernet.fit import EpochEnd, FitState, fit, steps_per_epoch
from supernet.recipe import TrainSettings, make_optimizer, resumed_settings
from supernet.standalone import Spikformer
from supernet.stats import SpikeStats
from supernet.validate import count_correct

__all__ = ["RETRAIN_FORMAT", "RetrainResult", "record_in_study", "retrain", "retrained_attrs"]

log = logging.getLogger(__name__)

RETRAIN_FORMAT = "evosnn-retrain/1"


@dataclass(frozen=True)
class RetrainResult:
    """The figures of a finished retraining and where its checkpoint is."""

    checkpoint: Path
    val_accuracy: float
    test_accuracy: float
    energy_mj: float
    epochs: int
    lr: float


#: Called after every epoch's checkpoint is written: (that epoch's metrics, the checkpoint path).
#: The last epoch's metrics also hold ``test_acc`` and ``energy_mj``.
EpochCallback = Callable[[dict[str, Any], Path], None]


def _accuracy_and_energy(
    model: Spikformer, exported: Exported, splits: Splits, device: torch.device
) -> tuple[float, float, float]:
    model.eval()
    stats = SpikeStats()
    val_correct, val_total, _ = count_correct(
        model, splits.val, splits.mean, splits.std, device=device
    )
    test_correct, test_total, _ = count_correct(
        lambda x: model(x, stats), splits.test, splits.mean, splits.std, device=device
    )
    data = exported.space.dataset
    energy = (
        EnergyModel.from_spec(exported.space.energy)  # the space's convention
        .estimate(
            exported.config,
            image_size=data.image_size,
            in_channels=data.channels,
            num_classes=data.num_classes,
            rates=stats.rates(),
            sps_pools=exported.space.supernet.sps_pools,
        )
        .energy_mj
    )
    return val_correct / val_total, test_correct / test_total, energy


def _load_inherited(model: Spikformer, weights: Path, device: torch.device) -> None:
    if not weights.is_file():
        raise CheckpointError(f"{weights}: no inherited weights (export with --with-weights)")
    try:
        model.load_state_dict(torch.load(weights, map_location=device, weights_only=True))
    except Exception as exc:
        raise CheckpointError(
            f"{weights}: unreadable or not this architecture's weights ({type(exc).__name__})"
        ) from exc


def retrain(
    exported: Exported,
    out_dir: str | Path,
    settings: TrainSettings,
    *,
    init: str = "scratch",
    data_root: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    on_epoch: EpochCallback | None = None,
) -> RetrainResult:
    """Train ``exported`` stand-alone; see the module docstring.

    Raises:
        TrainingDiverged: NaN/inf loss (the last good checkpoint is left untouched).
        TrainingInterrupted: Ctrl-C (a resumable checkpoint was written first).
        CheckpointError: nothing to resume, an existing checkpoint without ``resume``, or unusable
            inherited weights.
    """
    out = Path(out_dir)
    path = out / f"{exported.path.stem}.retrained.pt"
    stored: dict[str, Any] | None = None
    if resume:
        if not path.is_file():
            raise CheckpointError(f"{path}: nothing to resume")
        stored = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(stored, dict) or stored.get("format") != RETRAIN_FORMAT:
            raise CheckpointError(f"{path}: not an evosnn retraining checkpoint")
        settings = resumed_settings(stored, settings)
    elif path.exists():
        raise CheckpointError(
            f"{path} already exists; pass --resume to continue it, or choose another --out"
        )
    elif init not in ("scratch", "inherited"):
        raise EvosnnError(f"unknown --init {init!r}; choose scratch or inherited")
    device = torch.device(settings.device)
    splits = load_splits(exported.space.dataset, root=data_root)
    per_epoch = steps_per_epoch(len(splits.train), settings.batch_size)
    torch.manual_seed(settings.seed)  # before building: a scratch run's initial weights follow it
    model = build_standalone(exported.config, exported.space).to(device)
    if stored is None and init == "inherited":
        _load_inherited(model, exported.weights_path, device)
    optimizer, scheduler = make_optimizer(model.parameters(), settings, per_epoch)
    state = FitState()
    if stored is not None:
        model.load_state_dict(stored["model"])
        optimizer.load_state_dict(stored["optimizer"])
        scheduler.load_state_dict(stored["scheduler"])
        state = FitState(int(stored["step"]), list(stored["metrics"]))

    def step_loss(x: torch.Tensor, y: torch.Tensor, step: int) -> torch.Tensor:
        loss = F.cross_entropy(model(x), y, label_smoothing=settings.label_smoothing)
        loss.backward()
        return loss.detach()

    def end_epoch(end: EpochEnd) -> dict[str, Any]:
        model.eval()
        correct, count, _ = count_correct(model, splits.val, splits.mean, splits.std, device=device)
        entry: dict[str, Any] = {
            "epoch": end.epoch,
            "val_acc": correct / count,
            "seconds": time.perf_counter() - end.started,
        }
        if end.final:  # the final figures travel with the complete checkpoint
            _, entry["test_acc"], entry["energy_mj"] = _accuracy_and_energy(
                model, exported, splits, device
            )
        return entry

    def checkpoint(status: str, now: FitState) -> None:
        save_atomic(
            {
                "format": RETRAIN_FORMAT,
                "status": status,
                "architecture": str(exported.path),
                "config": exported.config.to_dict(),
                "train_config": settings.to_dict(),
                "step": now.step,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "metrics": now.history,
            },
            path,
        )

    shift, flip = augmentation_for(exported.space)
    history = fit(
        model,
        optimizer,
        scheduler,
        splits.train,
        settings,
        mean=splits.mean,
        std=splits.std,
        step_loss=step_loss,
        end_epoch=end_epoch,
        checkpoint=checkpoint,
        checkpoint_path=path,
        state=state,
        shift=shift,
        flip=flip,
        device=device,
        progress=progress,
        on_epoch=None if on_epoch is None else lambda entry: on_epoch(entry, path),
        desc="train",
    ).history
    final = history[-1] if history else {}
    if "test_acc" not in final:  # a checkpoint written before final figures were stored
        final = dict(final)
        final["val_acc"], final["test_acc"], final["energy_mj"] = _accuracy_and_energy(
            model, exported, splits, device
        )
    return RetrainResult(
        path,
        float(final["val_acc"]),
        float(final["test_acc"]),
        float(final["energy_mj"]),
        settings.epochs,
        settings.lr,
    )


def record_in_study(storage_url: str, exported: Exported, result: RetrainResult) -> bool:
    """Write the retrained figures onto the source trial; False if the file names no trial.

    They become the trial's user attrs ``retrained_val_accuracy``, ``retrained_test_accuracy``,
    ``retrained_energy_mj``, ``retrained_epochs`` and ``retrained_checkpoint``, beside the search-time
    ``accuracy`` and ``energy_mj`` in the dashboard's trial table (see ``Ledger.annotate_trial``).
    """
    from evosnn.core.genome import GenomeCodec
    from evosnn.storage.ledger import Ledger

    study_name, number = exported.provenance.get("study"), exported.provenance.get("trial")
    if study_name is None or number is None:
        return False
    ledger = Ledger.open(storage_url, str(study_name), GenomeCodec(exported.space), create=False)
    ledger.annotate_trial(int(number), retrained_attrs(result))
    return True


def retrained_attrs(result: RetrainResult) -> dict[str, Any]:
    """The trial user attrs that record a retraining."""
    return {
        "retrained_val_accuracy": result.val_accuracy,
        "retrained_test_accuracy": result.test_accuracy,
        "retrained_energy_mj": result.energy_mj,
        "retrained_epochs": result.epochs,
        "retrained_lr": result.lr,
        "retrained_checkpoint": str(result.checkpoint),
    }
