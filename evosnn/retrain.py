"""Retrain an exported architecture stand-alone: ``evosnn train ARCH.yaml``.

The stand-alone Spikformer of the exported config is trained on the space's data set (from scratch,
or starting from the inherited weights exported next to the file), with the supernet trainer's
recipe (AdamW, warm-up + cosine, label smoothing, clipping, data-set augmentation) and the same
exact-resume rule: every random draw derives from ``(seed, step)``. Checkpoints are written
atomically every epoch; Ctrl-C writes a resumable one. At the end it reports validation and **test**
accuracy and energy, and records them on the source trial as ``retrained_*`` user attrs.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from evosnn.data import Splits, augment, iter_batches, load_splits, normalize
from evosnn.energy import EnergyModel
from evosnn.errors import CheckpointError, EvosnnError
from evosnn.export import Exported
from supernet.checkpoint import save_atomic
from supernet.standalone import Spikformer
from supernet.stats import SpikeStats
from supernet.train import (
    TrainingDiverged,
    TrainingInterrupted,
    TrainSettings,
    augmentation_for,
    graceful_sigint,
    lr_schedule,
)
from supernet.validate import count_correct

__all__ = ["RETRAIN_FORMAT", "RetrainResult", "record_in_study", "retrain"]

log = logging.getLogger(__name__)

RETRAIN_FORMAT = "evosnn-retrain/1"


@dataclass(frozen=True)
class RetrainResult:
    checkpoint: Path
    val_accuracy: float
    test_accuracy: float
    energy_mj: float
    epochs: int
    lr: float


#: Called after every epoch's checkpoint is written: (that epoch's metrics, the checkpoint path).
#: The last epoch's metrics also hold ``test_acc`` and ``energy_mj``.
EpochCallback = Callable[[dict[str, Any], Path], None]


def _model(exported: Exported) -> Spikformer:
    data, defaults = exported.space.dataset, exported.space.neuron_defaults
    return Spikformer(
        exported.config,
        image_size=data.image_size,
        in_channels=data.channels,
        num_classes=data.num_classes,
        sps_threshold=defaults.threshold,
        sps_tau=defaults.tau,
    )


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
        EnergyModel()
        .estimate(
            exported.config,
            image_size=data.image_size,
            in_channels=data.channels,
            num_classes=data.num_classes,
            rates=stats.rates(),
        )
        .energy_mj
    )
    return val_correct / val_total, test_correct / test_total, energy


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
    """Train ``exported`` stand-alone; see the module docstring."""
    out = Path(out_dir)
    path = out / f"{exported.path.stem}.retrained.pt"
    device = torch.device(settings.device)
    splits = load_splits(exported.space.dataset, root=data_root, seed=settings.seed)
    model = _model(exported).to(device)
    state: dict[str, Any] | None = None
    if resume:
        if not path.is_file():
            raise CheckpointError(f"{path}: nothing to resume")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != RETRAIN_FORMAT:
            raise CheckpointError(f"{path}: not an evosnn retraining checkpoint")
        settings = TrainSettings.from_dict({**state["train_config"], "device": settings.device})
    elif path.exists():
        raise CheckpointError(
            f"{path} already exists; pass --resume to continue it, or choose another --out"
        )
    elif init == "inherited":
        weights = exported.weights_path
        if not weights.is_file():
            raise CheckpointError(f"{weights}: no inherited weights (export with --with-weights)")
        try:
            model.load_state_dict(torch.load(weights, map_location=device, weights_only=True))
        except Exception as exc:
            raise CheckpointError(
                f"{weights}: unreadable or not this architecture's weights ({type(exc).__name__})"
            ) from None
    elif init != "scratch":
        raise EvosnnError(f"unknown --init {init!r}; choose scratch or inherited")

    torch.manual_seed(settings.seed)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    steps_per_epoch = max(1, len(splits.train) // settings.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_schedule(settings, steps_per_epoch))
    step, history = 0, []
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, history = int(state["step"]), list(state["metrics"])
    total = settings.epochs * steps_per_epoch
    shift, flip = augmentation_for(exported.space)

    def checkpoint(status: str) -> None:
        save_atomic(
            {
                "format": RETRAIN_FORMAT,
                "status": status,
                "architecture": str(exported.path),
                "config": exported.config.to_dict(),
                "train_config": settings.to_dict(),
                "step": step,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "metrics": history,
            },
            path,
        )

    bar = tqdm(total=total, initial=step, disable=not progress, unit="step", desc="train")
    with graceful_sigint() as sigint, logging_redirect_tqdm():
        while step < total:
            epoch = step // steps_per_epoch
            model.train()
            order = torch.Generator().manual_seed(settings.seed * 7919 + epoch)
            started = time.perf_counter()
            for index, (images, labels) in enumerate(
                iter_batches(
                    splits.train, settings.batch_size, shuffle=True, generator=order, drop_last=True
                )
            ):
                if index < step - epoch * steps_per_epoch:
                    continue
                gen = torch.Generator().manual_seed(settings.seed * 1_000_003 + step)
                if shift or flip:
                    images = augment(images, shift=shift, flip=flip, generator=gen)
                x = normalize(images.to(device), splits.mean, splits.std)
                loss = F.cross_entropy(
                    model(x), labels.to(device), label_smoothing=settings.label_smoothing
                )
                value = float(loss.detach())
                if not math.isfinite(value):
                    bar.close()
                    raise TrainingDiverged(
                        f"loss became {value} at step {step}; {path} holds the last good state"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
                optimizer.step()
                scheduler.step()
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{value:.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
                if sigint["stop"]:
                    bar.close()
                    checkpoint("interrupted")
                    raise TrainingInterrupted(
                        f"interrupted at step {step}; resume with --resume ({path})"
                    )
            model.eval()
            correct, count, _ = count_correct(
                model, splits.val, splits.mean, splits.std, device=device
            )
            entry: dict[str, Any] = {
                "epoch": epoch + 1,
                "val_acc": correct / count,
                "seconds": time.perf_counter() - started,
            }
            if step >= total:  # the final figures travel with the complete checkpoint
                _, entry["test_acc"], entry["energy_mj"] = _accuracy_and_energy(
                    model, exported, splits, device
                )
            history.append(entry)
            log.info(
                "epoch %d/%d  val acc %.2f%%", epoch + 1, settings.epochs, 100 * correct / count
            )
            checkpoint("complete" if step >= total else "in-progress")
            if on_epoch is not None:
                on_epoch(entry, path)
    bar.close()
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
    from evosnn.genome import GenomeCodec
    from evosnn.ledger import Ledger

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
