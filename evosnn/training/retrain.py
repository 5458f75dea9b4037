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
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from evosnn.core.errors import CheckpointError, EvosnnError
from evosnn.core.run_lock import run_lock
from evosnn.core.validation import INIT
from evosnn.data.loading import Splits, load_splits
from evosnn.evaluate.models import build_standalone
from evosnn.objectives.energy import EnergyModel
from evosnn.reporting.export import Exported
from evosnn.storage.study_schema import TrialAttrs
from evosnn.training.supernet_training import augmentation_for
from supernet.checkpoint import (
    Status,
    TrainingCheckpoint,
    load_training_checkpoint,
    load_weights_only,
    save_atomic,
)
from supernet.fit import EpochEnd, FitHooks, FitOptions, FitState, Trainee, fit, steps_per_epoch
from supernet.recipe import Resume, TrainSettings, make_optimizer, open_run
from supernet.spike_stats import SpikeStats
from supernet.standalone import Spikformer
from supernet.validate import count_correct

__all__ = [
    "RETRAIN_FORMAT",
    "RetrainCheckpoint",
    "RetrainResult",
    "check_record",
    "checkpoint_name",
    "record_in_study",
    "retrain_exported",
    "retrained_attrs",
    "retrained_key",
]

log = logging.getLogger(__name__)

#: The retraining checkpoint's format and schema version (see :class:`RetrainCheckpoint`).
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
    space = exported.space
    energy = (
        EnergyModel.for_space(space)  # the space's convention
        .estimate(exported.config, space.geometry, rates=stats.rates())
        .energy_mj
    )
    return val_correct / val_total, test_correct / test_total, energy


def _load_inherited(model: Spikformer, weights: Path, device: torch.device) -> None:
    if not weights.is_file():
        raise CheckpointError(f"{weights}: no inherited weights (export with --with-weights)")
    try:
        model.load_state_dict(load_weights_only(weights, device))
    except Exception as exc:
        raise CheckpointError(
            f"{weights}: unreadable or not this architecture's weights ({type(exc).__name__})"
        ) from exc


class RetrainCheckpoint(TrainingCheckpoint):
    """The keys of a retraining checkpoint (format :data:`RETRAIN_FORMAT`), as stored."""

    architecture: str
    config: dict[str, Any]


def retrain_exported(
    exported: Exported,
    out_dir: str | Path,
    settings: TrainSettings,
    *,
    init: str = "scratch",
    data_root: str | Path | None = None,
    resume: Resume | bool | None = None,
    progress: bool = True,
    on_epoch: EpochCallback | None = None,
) -> RetrainResult:
    """Train ``exported`` stand-alone; see the module docstring.

    With ``resume``, continue the checkpoint in ``out_dir`` with its stored settings; a setting in
    ``resume.given`` (the ones the user asked for) that differs from the stored one is refused.

    Raises:
        TrainingDiverged: NaN/inf loss (the last good checkpoint is left untouched).
        TrainingInterrupted: Ctrl-C (a resumable checkpoint was written first).
        CheckpointError: nothing to resume, a truncated checkpoint or one of another
            architecture, an existing checkpoint without ``resume``, other settings than
            ``resume.given``, or unusable inherited weights.
        FolderInUse: another process is writing this checkpoint (a retraining holds its
            checkpoint in ``out_dir`` while it trains; other files there are free).
    """
    path = Path(out_dir) / checkpoint_name(exported)
    with run_lock(out_dir, name=path.name):
        stored, settings = open_run(
            path, settings, resume=resume, load=partial(_resumable, exported)
        )
        if stored is None and init not in INIT.choices:
            raise EvosnnError(f"unknown --init {init!r}; choose scratch or inherited")
        splits = load_splits(exported.space.dataset, root=data_root)
        run = _Retraining.start(
            exported, splits, path, settings, inherit=stored is None and init == "inherited"
        )
        state = run.trainee.restore(stored, path) if stored is not None else FitState()
        hooks = FitHooks(
            run.step_loss,
            run.end_epoch,
            run.checkpoint,
            on_epoch=None if on_epoch is None else lambda entry: on_epoch(entry, path),
        )
        history = fit(
            run.trainee,
            splits,
            settings,
            hooks,
            checkpoint_path=path,
            state=state,
            options=FitOptions(
                augmentation=augmentation_for(exported.space), device=run.device, progress=progress
            ),
        ).history
        return run.result(history)


def checkpoint_name(exported: Exported) -> str:
    """The retraining checkpoint's file name: ``trial-NNNNN.retrained.pt``."""
    return f"{exported.path.stem}.retrained.pt"


def _resumable(exported: Exported, path: Path) -> dict[str, Any]:
    """The retraining checkpoint at ``path``, checked to be of ``exported``'s architecture."""
    if not path.is_file():
        raise CheckpointError(f"{path}: nothing to resume")
    stored = load_training_checkpoint(
        path,
        format=RETRAIN_FORMAT,
        kind="retraining checkpoint",
        required=("config", "train_config", "step", "model", "optimizer", "scheduler", "metrics"),
    )
    if stored["config"] != exported.config.to_dict():
        raise CheckpointError(
            f"{path}: a retraining of another architecture than {exported.path} (it trained "
            f"{stored.get('architecture', 'another file')}); choose another --out"
        )
    return stored


@dataclass
class _Retraining:
    """One retraining run: the stand-alone model, its trainee, and the hooks :func:`fit` calls."""

    exported: Exported
    splits: Splits
    path: Path
    settings: TrainSettings
    trainee: Trainee
    device: torch.device

    @classmethod
    def start(
        cls,
        exported: Exported,
        splits: Splits,
        path: Path,
        settings: TrainSettings,
        *,
        inherit: bool,
    ) -> _Retraining:
        """Build the model (initial weights from the seed, or inherited) and its optimizer."""
        device = torch.device(settings.device)
        per_epoch = steps_per_epoch(len(splits.train), settings.batch_size)
        torch.manual_seed(settings.seed)  # before building: a scratch run's weights follow it
        model = build_standalone(exported.config, exported.space).to(device)
        if inherit:
            _load_inherited(model, exported.weights_path, device)
        optimizer, scheduler = make_optimizer(model.parameters(), settings, per_epoch)
        return cls(exported, splits, path, settings, Trainee(model, optimizer, scheduler), device)

    def step_loss(self, x: torch.Tensor, y: torch.Tensor, step: int) -> torch.Tensor:
        """Cross-entropy (label-smoothed) of one forward pass, backpropagated."""
        logits = self.trainee.model(x)
        loss = F.cross_entropy(logits, y, label_smoothing=self.settings.label_smoothing)
        loss.backward()
        return loss.detach()

    def end_epoch(self, end: EpochEnd) -> dict[str, Any]:
        """Validation accuracy; after the last epoch also test accuracy and energy."""
        model, splits = self.trainee.model, self.splits
        model.eval()
        correct, count, _ = count_correct(
            model, splits.val, splits.mean, splits.std, device=self.device
        )
        entry: dict[str, Any] = {
            "epoch": end.epoch,
            "val_acc": correct / count,
            "seconds": time.perf_counter() - end.started,
        }
        if end.final:  # the final figures travel with the complete checkpoint
            _, entry["test_acc"], entry["energy_mj"] = self.figures()
        return entry

    def figures(self) -> tuple[float, float, float]:
        """(validation accuracy, test accuracy, energy in mJ) of the model as it is."""
        model = self.trainee.model
        assert isinstance(model, Spikformer)
        return _accuracy_and_energy(model, self.exported, self.splits, self.device)

    def checkpoint(self, status: Status, now: FitState) -> None:
        """Write the checkpoint atomically (see :class:`RetrainCheckpoint`)."""
        data: RetrainCheckpoint = {
            "format": RETRAIN_FORMAT,
            "status": status,
            "architecture": str(self.exported.path),
            "config": self.exported.config.to_dict(),
            "train_config": self.settings.to_dict(),
            "step": now.step,
            **self.trainee.state_dicts(),
            "metrics": now.history,
        }
        save_atomic(data, self.path)

    def result(self, history: list[dict[str, Any]]) -> RetrainResult:
        """The finished run's figures (measured now if its checkpoint predates stored ones)."""
        final = history[-1] if history else {}
        if "test_acc" not in final:  # a checkpoint written before final figures were stored
            final = dict(final)
            final["val_acc"], final["test_acc"], final["energy_mj"] = self.figures()
        return RetrainResult(
            self.path,
            float(final["val_acc"]),
            float(final["test_acc"]),
            float(final["energy_mj"]),
            self.settings.epochs,
            self.settings.lr,
        )


def _trial_attrs(ledger: Any, number: int) -> TrialAttrs:
    """The user attrs of trial ``number`` of the ledger's study."""
    attrs: TrialAttrs = ledger.trial_attrs(number)
    return attrs


def _open_source(storage_url: str, exported: Exported) -> tuple[Any, int] | None:
    """The ledger of the file's source study and its trial number (None: the file names none)."""
    from evosnn.core.genome import GenomeCodec
    from evosnn.storage.ledger import Ledger

    study_name, number = exported.provenance.get("study"), exported.provenance.get("trial")
    if study_name is None or number is None:
        return None
    ledger = Ledger.open(storage_url, str(study_name), GenomeCodec(exported.space), create=False)
    return ledger, int(number)


def check_record(storage_url: str, exported: Exported) -> str | None:
    """Before training: can the retraining of ``exported`` be recorded on its source trial?

    Opens the study (so a storage that cannot be reached fails before any work) and compares the
    file's ``config`` with the architecture of the trial it names: an edited config is not that
    trial's architecture and is never recorded on it.

    Returns:
        None when it can be recorded, else the one-line reason it will not be.

    Raises:
        StorageError: the storage, the study or the trial cannot be reached.
    """
    source = _open_source(storage_url, exported)
    if source is None:
        return f"{exported.path}: names no study trial; not recorded"
    ledger, number = source
    genome = _trial_attrs(ledger, number).genome
    if genome is None or ledger.codec.decode(genome).to_dict() != exported.config.to_dict():
        return (
            f"{exported.path}: its config is not the architecture of trial {number} "
            "(edited?); not recorded on it"
        )
    return None


def retrained_key(epochs: Any, lr: Any) -> str:
    """The user attr that keeps one retraining recipe's figures: ``retrained[e15-lr0.003]``."""
    return f"retrained[e{epochs}-lr{float(lr):g}]"


def record_in_study(storage_url: str, exported: Exported, result: RetrainResult) -> str | None:
    """Write the retrained figures onto the source trial; returns the key written (None if the
    file names no trial).

    Every recipe keeps its own figures, keyed by epochs and learning rate
    (``retrained[e15-lr0.003]``, a mapping), so a short run never replaces a long one's; the
    flat ``retrained_val_accuracy``, ``retrained_test_accuracy``, ``retrained_energy_mj``,
    ``retrained_epochs``, ``retrained_lr`` and ``retrained_checkpoint`` hold the latest run, beside
    the search-time ``accuracy`` and ``energy_mj`` in the dashboard's trial table. A latest run
    recorded before the keys existed is kept under its own key first.
    """
    source = _open_source(storage_url, exported)
    if source is None:
        return None
    ledger, number = source
    stored = _trial_attrs(ledger, number)
    attrs = retrained_attrs(result)
    key = retrained_key(result.epochs, result.lr)
    annotations: dict[str, Any] = {**attrs, key: attrs}
    if stored.retrained_epochs is not None:
        earlier = retrained_key(stored.retrained_epochs, stored.retrained_lr)
        if earlier != key and earlier not in stored.raw:
            annotations[earlier] = {k: v for k, v in stored.raw.items() if k in attrs}
    ledger.annotate_trial(number, annotations)
    return key


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
