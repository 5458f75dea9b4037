"""The one training loop: seeded, exactly resumable, guarded against divergence and Ctrl-C.

Supernet training and retraining differ only in how a step computes its loss (one subnet or several,
with or without AMP), what an epoch's validation records and what a checkpoint holds; they pass those
in as callables and share everything else here:

* reproducibility: the epoch's batch order comes from ``(seed, epoch)`` and every other random draw of
  a step (augmentation; the caller's subnet sampling) from ``(seed, step)``, so a run resumed from a
  checkpoint takes exactly the steps an uninterrupted run would have taken, bit for bit;
* exact resume mid-epoch: the state is the optimizer step count plus one history record per finished
  epoch; a resumed run skips the batches of the current epoch that were already trained on;
* divergence: a NaN or infinite loss raises :class:`TrainingDiverged` before the optimizer steps and
  without writing, so the last good checkpoint is left untouched;
* Ctrl-C: the first SIGINT finishes the step, writes an ``"interrupted"`` checkpoint and raises
  :class:`TrainingInterrupted`; a second one interrupts at once;
* a progress bar (off when stderr is not a terminal) and one log line per epoch;
* data parallelism (:mod:`supernet.parallel`): with a :class:`DataParallel` layout each rank trains
  on its slice of the global batch and gradients are averaged, so N ranks train the same weights as
  one process; rank 0 alone validates, writes checkpoints and shows progress.

Example:
    >>> trainee = Trainee(model, *make_optimizer(model.parameters(), settings, per_epoch))  # doctest: +SKIP
    >>> hooks = FitHooks(step_loss=loss_of, end_epoch=validate, checkpoint=save)  # doctest: +SKIP
    >>> state = fit(trainee, splits, settings, hooks, checkpoint_path=path)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from evosnn.core.errors import CheckpointError, EvosnnError, Interrupted
from supernet.batches import Split, Splits, augment, iter_batches, normalize
from supernet.checkpoint import Status, TrainerState
from supernet.epoch_record import describe
from supernet.parallel import DataParallel
from supernet.recipe import TrainSettings

__all__ = [
    "EpochEnd",
    "FitHooks",
    "FitOptions",
    "FitState",
    "StepLoss",
    "Trainee",
    "TrainingDiverged",
    "TrainingInterrupted",
    "fit",
    "graceful_sigint",
    "step_seed",
    "steps_per_epoch",
]

log = logging.getLogger(__name__)

#: ``(normalised images, labels, step) -> loss``: computes the step's loss and backpropagates it
#: (the caller knows how: one forward or several, with or without a GradScaler); returns it detached.
StepLoss = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]


class TrainingDiverged(EvosnnError):
    """The loss became NaN or infinite; the last good checkpoint was left as it was."""


class TrainingInterrupted(Interrupted):
    """Ctrl-C: a resumable checkpoint was written."""


@dataclass
class FitState:
    """Where a training run stands: optimizer steps taken and one record per finished epoch.

    This is all a resume needs besides the model's, optimizer's and scheduler's own state.
    """

    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class EpochEnd:
    """What the loop knows when an epoch's steps are done (handed to ``end_epoch``).

    Attributes:
        epoch: number of the finished epoch, from 1.
        step: optimizer steps taken so far.
        loss: mean training loss of the steps this process took in the epoch (NaN if none: a run
            resumed after the epoch's last step).
        lr: the learning rate after the epoch's last step.
        started: ``time.perf_counter()`` when this process began the epoch.
        final: whether this is the last epoch.
    """

    epoch: int
    step: int
    loss: float
    lr: float
    started: float
    final: bool


def step_seed(seed: int, step: int) -> int:
    """The seed of every random draw of optimizer step ``step`` (augmentation, subnet sampling)."""
    return seed * 1_000_003 + step


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 7919 + epoch


def steps_per_epoch(train_size: int, batch_size: int) -> int:
    """Optimizer steps per epoch: full batches only (the last partial batch is dropped).

    Raises:
        EvosnnError: fewer training images than one batch (an epoch would have no step).
    """
    if train_size < batch_size:
        raise EvosnnError(
            f"batch size {batch_size} is larger than the {train_size} training images; "
            f"choose a smaller --batch-size"
        )
    return train_size // batch_size


@contextmanager
def graceful_sigint() -> Iterator[dict[str, bool]]:
    """First Ctrl-C sets a flag checked between steps; a second one interrupts at once."""
    state = {"stop": False}
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if state["stop"]:
            raise KeyboardInterrupt
        state["stop"] = True
        log.warning("interrupt received: finishing this step and writing a resumable checkpoint")

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield state
        return
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass(frozen=True)
class FitHooks:
    """What a caller plugs into the loop: how a step computes its loss, what an epoch records,
    how a checkpoint is written, and optional observers.

    Attributes:
        step_loss: computes and backpropagates one step's loss (see :data:`StepLoss`).
        end_epoch: the epoch's history record (e.g. validation accuracy), from its
            :class:`EpochEnd`.
        checkpoint: ``checkpoint(status, state)`` writes a checkpoint; status is
            ``"in-progress"`` or ``"complete"`` after an epoch and ``"interrupted"`` on Ctrl-C.
        on_step: ``on_step(step, loss)`` after every optimizer step.
        on_epoch: called with the epoch's record after its checkpoint is written.
    """

    step_loss: StepLoss
    end_epoch: Callable[[EpochEnd], dict[str, Any]]
    checkpoint: Callable[[Status, FitState], object]
    on_step: Callable[[int, float], None] | None = None
    on_epoch: Callable[[dict[str, Any]], None] | None = None


@dataclass
class Trainee:
    """The model and what steps it: the optimizer, its per-step scheduler and a GradScaler.

    It also knows the part of a checkpoint that is its own state (:meth:`state_dicts`) and
    restores it (:meth:`restore`): the one resume-restore of every training run.

    Attributes:
        scaler: the GradScaler the step losses are scaled with (None: plain steps); a disabled
            one is stepped through but not stored.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler | None = None

    def state_dicts(self) -> TrainerState:
        """``model``, ``optimizer``, ``scheduler`` and ``scaler`` (None unless scaling)."""
        scaling = self.scaler is not None and self.scaler.is_enabled()
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if scaling and self.scaler is not None else None,
        }

    def restore(self, stored: Mapping[str, Any], path: str | Path) -> FitState:
        """Load a checkpoint's state dicts (as :meth:`state_dicts` wrote them); where it stands.

        Raises:
            CheckpointError: the stored weights do not fit this model (another architecture).
        """
        try:
            self.model.load_state_dict(stored["model"])
        except (RuntimeError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"{path}: its weights do not fit this architecture (a checkpoint of another "
                f"network); choose another --out for a new run"
            ) from exc
        self.optimizer.load_state_dict(stored["optimizer"])
        self.scheduler.load_state_dict(stored["scheduler"])
        if self.scaler is not None and stored.get("scaler"):
            self.scaler.load_state_dict(stored["scaler"])
        return FitState(int(stored["step"]), list(stored["metrics"]))


@dataclass(frozen=True)
class FitOptions:
    """How a :func:`fit` runs beside its recipe (none of it changes what is learned, except the
    augmentation, which the caller's data set decides).

    Attributes:
        augmentation: (shift, flip): pixels of random translation, random horizontal flips.
        device: where batches go.
        progress: show a progress bar.
        desc: the progress bar's and log lines' label.
        parallel: this process's part of a data-parallel run (None: one process, whole
            batches); see :func:`fit`.
    """

    augmentation: tuple[int, bool] = (0, False)
    device: torch.device | str = "cpu"
    progress: bool = True
    desc: str = "train"
    parallel: DataParallel | None = None


def fit(
    trainee: Trainee,
    data: Splits,
    settings: TrainSettings,
    hooks: FitHooks,
    *,
    checkpoint_path: str | Path,
    state: FitState | None = None,
    options: FitOptions = FitOptions(),
) -> FitState:
    """Train ``trainee`` on ``data.train`` until ``settings.epochs`` epochs are finished; return
    the state.

    Args:
        trainee: model, optimizer, scheduler (stepped once per optimizer step) and scaler,
            already built (and, on resume, restored).
        data: the splits; the loop trains on ``data.train`` (uint8 images), normalised with
            ``data.mean`` / ``data.std`` (validation is the hooks' business).
        settings: the recipe (epochs, batch_size, grad_clip and seed are used here).
        hooks: the step's loss, the epoch's record, the checkpoint writer, the observers.
        checkpoint_path: where ``hooks.checkpoint`` writes (named in error messages).
        state: where a resumed run stands (default: a fresh run).
        options: augmentation, device, progress bar and data parallelism (:class:`FitOptions`).
            With ``options.parallel``, ``settings.batch_size`` is the global batch;
            ``end_epoch``, ``checkpoint``, ``on_step`` and ``on_epoch`` run on rank 0 only, and
            rank 0's epoch record is shared with the other ranks.

    Raises:
        TrainingDiverged: NaN/inf loss (nothing written; the last good checkpoint is untouched).
        TrainingInterrupted: Ctrl-C (an ``"interrupted"`` checkpoint was written first; one
            process only: ranks of a data-parallel run are stopped by their launcher).
        EvosnnError: the batch does not split evenly over ``parallel``'s parts.
    """
    state = state if state is not None else FitState()
    parallel = options.parallel if options.parallel is not None else DataParallel()
    parallel.check_batch(settings.batch_size)
    per_epoch = steps_per_epoch(len(data.train), settings.batch_size)
    if not len(state.history) * per_epoch <= state.step <= (len(state.history) + 1) * per_epoch:
        raise EvosnnError(
            f"{checkpoint_path}: inconsistent training state (step {state.step} after "
            f"{len(state.history)} finished epochs of {per_epoch} steps)"
        )
    norm = (data.mean, data.std)
    loop = _Loop(trainee, data.train, settings, hooks, norm, options, parallel)
    loop.bar = tqdm(
        total=settings.epochs * per_epoch,
        initial=state.step,
        disable=None if options.progress and parallel.main else True,
        unit="step",
        desc=options.desc,
    )
    try:
        with graceful_sigint() as sigint, logging_redirect_tqdm():
            while len(state.history) < settings.epochs:
                loop.epoch(state, sigint, checkpoint_path)
    finally:
        loop.bar.close()
    return state


@dataclass
class _Loop:
    """One :func:`fit` call's fixed parts, and its epochs and steps."""

    trainee: Trainee
    train: Split
    settings: TrainSettings
    hooks: FitHooks
    norm: tuple[tuple[float, ...], tuple[float, ...]]
    options: FitOptions
    parallel: DataParallel
    bar: Any = None

    def epoch(self, state: FitState, sigint: dict[str, bool], path: str | Path) -> None:
        """Train the rest of the current epoch (all of it unless resumed mid-epoch), end it."""
        settings, epoch = self.settings, len(state.history)
        per_epoch = steps_per_epoch(len(self.train), settings.batch_size)
        self.trainee.model.train()
        order = torch.Generator().manual_seed(_epoch_seed(settings.seed, epoch))
        batches = iter_batches(
            self.train, settings.batch_size, shuffle=True, generator=order, drop_last=True
        )
        done = state.step - epoch * per_epoch
        losses: list[float] = []
        started, seen = time.perf_counter(), 0
        for index, (images, labels) in enumerate(batches):
            if index < done:
                continue  # resumed mid-epoch: these batches were already trained on
            value = self.step(state.step, epoch, images, labels, path)
            state.step += 1
            losses.append(value)
            seen += len(labels)
            if self.hooks.on_step is not None and self.parallel.main:
                self.hooks.on_step(state.step, value)
            self.bar.update(1)
            self.bar.set_postfix(
                loss=f"{value:.3f}",
                lr=f"{self.trainee.scheduler.get_last_lr()[0]:.2e}",
                img_s=f"{seen / (time.perf_counter() - started):.0f}",
            )
            if sigint["stop"] and self.parallel.world == 1:
                self.bar.close()
                self.hooks.checkpoint("interrupted", state)
                raise TrainingInterrupted(
                    f"interrupted at step {state.step}; resumable checkpoint written to "
                    f"{path} (continue with --resume)"
                )
        self.end(state, epoch, losses, started)

    def step(
        self, step: int, epoch: int, images: torch.Tensor, labels: torch.Tensor, path: str | Path
    ) -> float:
        """One optimizer step on a global batch; its loss (the same on every rank)."""
        shift, flip = self.options.augmentation
        if shift or flip:
            gen = torch.Generator().manual_seed(step_seed(self.settings.seed, step))
            images = augment(images, shift=shift, flip=flip, generator=gen)
        model, optimizer, scaler = self.trainee.model, self.trainee.optimizer, self.trainee.scaler
        optimizer.zero_grad(set_to_none=True)

        def run(part: torch.Tensor, part_labels: torch.Tensor) -> Any:
            x = normalize(part.to(self.options.device), *self.norm)
            return self.hooks.step_loss(x, part_labels.to(self.options.device), step)

        value = self.parallel.average(model, self.parallel.backward(model, images, labels, run))
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"loss became {value} at step {step} (epoch {epoch + 1}); stopped without "
                f"writing a checkpoint, {path} holds the last good state. Try a lower --lr."
            )
        if scaler is not None:
            scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), self.settings.grad_clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        self.trainee.scheduler.step()
        return value

    def end(self, state: FitState, epoch: int, losses: list[float], started: float) -> None:
        """Record the finished epoch (rank 0's record, on every rank); checkpoint it on rank 0."""
        end = EpochEnd(
            epoch=epoch + 1,
            step=state.step,
            loss=sum(losses) / len(losses) if losses else math.nan,
            lr=float(self.trainee.scheduler.get_last_lr()[0]),
            started=started,
            final=epoch + 1 == self.settings.epochs,
        )
        main = self.parallel.main
        record = self.parallel.share(self.hooks.end_epoch(end) if main else None)
        state.history.append(record)
        if main:
            shown = describe({"loss": end.loss, **record}, skip=("lr", "seconds"))
            log.info(
                "%s epoch %d/%d  %s", self.options.desc, end.epoch, self.settings.epochs, shown
            )
            self.hooks.checkpoint("complete" if end.final else "in-progress", state)
            if self.hooks.on_epoch is not None:
                self.hooks.on_epoch(record)
