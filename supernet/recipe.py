"""The training recipe shared by supernet training and retraining: settings, optimizer, schedule.

AdamW, a linear warm-up then cosine decay per optimizer step, label smoothing and gradient clipping.
The settings are stored in every checkpoint (``train_config``), so a resumed run continues with the
recipe it was started with.

Example:
    >>> settings = TrainSettings(epochs=2, warmup_epochs=1)
    >>> factor = lr_schedule(settings, steps_per_epoch=4)
    >>> [round(factor(step), 3) for step in range(8)]
    [0.25, 0.5, 0.75, 1.0, 1.0, 0.854, 0.5, 0.146]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import torch

from evosnn.core.errors import CheckpointError
from evosnn.core.outputs import refuse_existing
from evosnn.core.validation import (
    COUNT,
    DEFAULT_DEVICE,
    DEFAULT_SEED,
    LEARNING_RATE,
    NON_NEGATIVE,
    SEED,
    Choice,
    Device,
    Real,
    check_fields,
    setting,
)

__all__ = ["TrainSettings", "lr_schedule", "make_optimizer", "open_run", "resumed_settings"]


@dataclass(frozen=True)
class TrainSettings:
    """Training recipe: AdamW, linear warm-up then cosine decay, label smoothing, clipping.

    The defaults train the digits-tiny supernet in about two minutes on 2 CPU cores.
    """

    epochs: int = setting(40, COUNT)
    batch_size: int = setting(64, COUNT)
    lr: float = setting(3e-3, LEARNING_RATE)
    weight_decay: float = setting(0.01, Real(0.0, 1e9))
    warmup_epochs: int = setting(2, NON_NEGATIVE)
    label_smoothing: float = setting(0.1, Real(0.0, 0.999))
    grad_clip: float = setting(1.0, Real(0.0, 1e9, low_open=True))
    #: "uniform": one random subnet per step (DSPS); "sandwich": the largest and the smallest
    #: architectures (with random neuron genes) plus one random subnet per step; "smallest": the
    #: smallest architecture (random neuron genes) plus one random subnet per step; "distill": the
    #: sandwich with in-place distillation (OFA, BigNAS): the first subnet of the step learns from
    #: the labels, the others from its predictions.
    sampling: Literal["uniform", "sandwich", "smallest", "distill"] = setting(
        "uniform", Choice(("uniform", "sandwich", "smallest", "distill"))
    )
    seed: int = setting(DEFAULT_SEED, SEED)
    device: str = setting(DEFAULT_DEVICE, Device())
    #: Mixed precision (float16 with loss scaling on CUDA, bfloat16 on CPU).
    amp: bool = False
    #: BN recalibration batches before the per-epoch validation of the probe subnets.
    recal_batches: int = setting(4, NON_NEGATIVE)

    def __post_init__(self) -> None:
        check_fields(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as stored in checkpoints."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainSettings:
        """Build from a stored dict, ignoring keys this version does not know."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def resumed_settings(
    checkpoint: Mapping[str, Any],
    settings: TrainSettings,
    *,
    given: Mapping[str, Any] | None = None,
    path: str | Path = "the checkpoint",
) -> TrainSettings:
    """The recipe stored in ``checkpoint``, run on ``settings.device`` (the only thing a resume
    may change: the machine).

    ``given`` holds the settings the user asked for explicitly (e.g. ``{"seed": 1}`` for
    ``--seed 1``). A resume continues the run exactly as it was started, so a given setting that
    differs from the stored one is refused, naming both values, rather than silently ignored;
    a larger ``epochs`` for a finished run gets the way to train longer.

    Raises:
        CheckpointError: a given setting differs from the checkpoint's (the message names it).
    """
    stored = TrainSettings.from_dict({**checkpoint["train_config"], "device": settings.device})
    for name, value in (given or {}).items():
        was = getattr(stored, name)
        if value == was:
            continue
        flag = "--" + name.replace("_", "-")
        if name == "epochs" and checkpoint.get("status") == "complete":
            raise CheckpointError(
                f"{path} finished its {was} epochs; a resume cannot lengthen a finished run (its "
                f"learning rate has decayed to zero): to train for {value} epochs, start a new "
                f"run without --resume, with --epochs {value} and another --out"
            )
        raise CheckpointError(
            f"{path} was trained with {flag} {was}, not {value}; a resume continues the run as "
            f"it was started: drop {flag} to continue it, or start a new run with another --out"
        )
    return stored


@dataclass(frozen=True)
class Resume:
    """Continue a run from its checkpoint, with its stored settings.

    ``given`` are the settings the user chose explicitly (typed flags): each must equal the stored
    one, so a resume never silently ignores what was asked for (:func:`resumed_settings`).
    Trainers take ``resume=Resume(given)``, ``True`` (nothing given), or ``None``/``False`` (a
    fresh run).
    """

    given: Mapping[str, Any] = field(default_factory=dict)

    @staticmethod
    def of(resume: Resume | bool | None) -> Resume | None:
        """``resume`` as a :class:`Resume` (None: a fresh run)."""
        if isinstance(resume, Resume):
            return resume
        return Resume() if resume else None


def open_run(
    path: Path,
    settings: TrainSettings,
    *,
    resume: Resume | bool | None,
    load: Callable[[Path], Mapping[str, Any]],
) -> tuple[Mapping[str, Any] | None, TrainSettings]:
    """Start or continue the run whose checkpoint is ``path``: the one check every trainer makes.

    A fresh run (``resume`` None or false) never overwrites an existing checkpoint. A resumed one
    reads ``path`` with ``load`` (which checks it is the right kind of checkpoint, for this run)
    and trains with its stored settings (see :func:`resumed_settings`).

    Returns:
        The checkpoint to continue (None for a fresh run) and the settings to train with.

    Raises:
        CheckpointError: a fresh run over an existing checkpoint, a checkpoint ``load`` refuses,
            or a given setting that differs from the stored one.
    """
    request = Resume.of(resume)
    if request is None:
        refuse_existing(path)
        return None, settings
    stored = load(path)
    return stored, resumed_settings(stored, settings, given=request.given, path=path)


def lr_schedule(settings: TrainSettings, steps_per_epoch: int) -> Callable[[int], float]:
    """LR factor per optimizer step: linear warm-up over ``warmup_epochs``, then cosine to zero."""
    total = settings.epochs * steps_per_epoch
    warmup = settings.warmup_epochs * steps_per_epoch

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor


def make_optimizer(
    params: Iterable[torch.nn.Parameter], settings: TrainSettings, steps_per_epoch: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW and its per-step warm-up + cosine schedule."""
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_schedule(settings, steps_per_epoch))
    return optimizer, scheduler
